// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit daemon on the real audit node, with the TPM root signer:
 * bioflowd (docs/bioflowd.md) replaces the suite's drain, seals a
 * genuine, an impostor and an attack session, and its store verifies
 * against the root public key exported at provisioning; a session whose
 * starter declared an ICAO Passive Authentication reference has its
 * 232-byte SESSION_START record sealed with the declaration intact, and
 * bioflow-verify proves that record's inclusion and shows the CSCA and
 * DS fingerprints (text and JSON); every kernel seq
 * of the stream since the drain let go is in the store exactly once, and
 * each verdict's audit_seq is the seq of its VERDICT record.  Then the
 * worker is killed with SIGKILL several times under a load of audit
 * records: nothing is lost or duplicated and the store still verifies.
 * Then a store on a small tmpfs that is filled up under load: the
 * daemon says so and stops acknowledging, the kernel's queue fills and
 * it refuses new sessions (ENOLINK, fail closed), the same worker waits;
 * when space returns everything is sealed and acknowledged, exactly once.
 * The suite's drain is restarted at the end.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "lib/brvm_test.h"
#include "lib/brvm_flow.h"

#define DIR		"/tmp/t_bioflowd"
#define PUBKEY		DIR "/root.pub.pem"
#define STORE		DIR "/store"
#define DAEMON_LOG	DIR "/bioflowd.log"
#define GENUINE		42
#define IMPOSTOR	7
#define KILLS		3
#define MAX_SEQ		100000
#define FULL_DIR	DIR "/full"
#define FULL_STORE	FULL_DIR "/store"
#define FULL_LOG	DIR "/bioflowd-full.log"
#define NCHECKS		30
#define PROOF_DIR	DIR "/proof"
/* The declaration of the "ICAO PA declared" session: made-up CSCA and
 * DS certificate fingerprints. */
#define REF_FLAGS	(BIOREADER_REF_PACE | BIOREADER_REF_CRL_CHECKED)

struct sess {
	const char *name;
	const char *scene;
	uint32_t outcome;
	int declared;		/* declares an ICAO PA reference */
	struct bioreader_verdict v;
	int ran;
};

static struct sess sessions[] = {
	{ .name = "genuine", .scene = "person 42", .outcome = BIOREADER_OUTCOME_MATCH },
	{ .name = "impostor", .scene = "person 7", .outcome = BIOREADER_OUTCOME_NO_MATCH },
	{ .name = "print attack", .scene = "print 42 flat matte",
	  .outcome = BIOREADER_OUTCOME_ATTACK },
	{ .name = "genuine, ICAO PA declared", .scene = "person 42",
	  .outcome = BIOREADER_OUTCOME_MATCH, .declared = 1 },
};

static uint8_t ref_issuer[32], ref_signer[32];

static void hex(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

/* Start with the ICAO PA declaration and wait for the verdict. */
static int run_declared(int fd, struct bioreader_verdict *v)
{
	uint64_t sid;

	if (brvm_start_declared(fd, GENUINE, 3000, BIOREADER_REF_SOURCE_ICAO_PA,
				REF_FLAGS, ref_issuer, ref_signer, &sid)) {
		ktap_diag("SESSION_START with an ICAO PA declaration: %s",
			  strerror(errno));
		return -1;
	}
	if (brvm_wait(fd, 13000, v)) {
		ktap_diag("SESSION_WAIT: %s", strerror(errno));
		return -1;
	}
	return v->session_id == sid ? 0 : -1;
}

/*
 * The declared session's SESSION_START record is in the store as given,
 * and bioflow-verify proves its inclusion and prints the declaration.
 */
static void check_declared(const struct sess *s)
{
	struct bioreader_audit_reference want;
	char ih[65], sh[65];
	uint64_t idx = 0;
	int ok;

	memset(&want, 0, sizeof(want));
	want.source = htole32(BIOREADER_REF_SOURCE_ICAO_PA);
	want.flags = htole32(REF_FLAGS);
	memcpy(want.issuer_sha256, ref_issuer, 32);
	memcpy(want.signer_sha256, ref_signer, 32);
	ok = s->ran && brvm_flow_start_in_store(STORE, s->v.session_id, &want, &idx);
	ktap_check(ok, "the ICAO PA session's SESSION_START record is sealed: version 2, 232 bytes, the declaration intact");
	hex(ref_issuer, 32, ih);
	hex(ref_signer, 32, sh);
	ok = ok &&
	     brvm_sh("bioflow-verify --export-proof %llu --out %s %s >/dev/null",
		     (unsigned long long)idx, PROOF_DIR, STORE) == 0 &&
	     brvm_sh("bioflow-verify --root-key %s --inclusion %s/record %s/proof %s/checkpoint >%s/incl.txt",
		     PUBKEY, PROOF_DIR, PROOF_DIR, PROOF_DIR, DIR) == 0;
	brvm_sh("sed 's/^/# /' %s/incl.txt", DIR);
	ok = ok &&
	     brvm_sh("grep -q 'included: .* SESSION_START ref_source=icao-pa ref_flags=0x6 ref_issuer_sha256=%s ref_signer_sha256=%s$' %s/incl.txt",
		     ih, sh, DIR) == 0;
	ktap_check(ok, "bioflow-verify --inclusion of that record: verified, shows source, flags, CSCA and DS fingerprints");
	ok = ok &&
	     brvm_sh("bioflow-verify --json --root-key %s --inclusion %s/record %s/proof %s/checkpoint >%s/incl.json",
		     PUBKEY, PROOF_DIR, PROOF_DIR, PROOF_DIR, DIR) == 0 &&
	     brvm_sh("grep -q '\"reference\":{\"source\":\"icao-pa\",\"flags\":6,\"issuer_sha256\":\"%s\",\"signer_sha256\":\"%s\"}' %s/incl.json",
		     ih, sh, DIR) == 0;
	if (!ok)
		brvm_sh("sed 's/^/# /' %s/incl.json", DIR);
	ktap_check(ok, "bioflow-verify --json --inclusion: the record's reference as JSON");
}
#define NSESS (sizeof(sessions) / sizeof(sessions[0]))

static uint8_t seen[MAX_SEQ + 1];
static const char *store_dir = STORE;	/* the store scan_store() reads */

/* What the store holds, as far as this test cares. */
struct scan {
	uint64_t kernel, daemon;	/* record counts */
	uint64_t first, last;		/* kernel seqs */
	uint64_t dups, gaps, streams;
	uint64_t worker_died;		/* daemon records, event 2 */
	uint8_t stream[BFL_STREAM_SIZE];
};

static int scan_store(struct scan *s)
{
	struct bfl_leaves lv = { 0 };
	struct bfl_err e = { 0 };
	uint64_t i, q;

	memset(s, 0, sizeof(*s));
	memset(seen, 0, sizeof(seen));
	if (bfl_store_load_leaves(store_dir, &lv, &e)) {
		ktap_diag("reading the store: %s", e.msg);
		return -1;
	}
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, &e) <= 0) {
			ktap_diag("record %llu: %s", (unsigned long long)i, e.msg);
			bfl_leaves_free(&lv);
			return -1;
		}
		if (!bfl_record_is_kernel(&r)) {
			s->daemon++;
			if (r.detail[0] == 2)
				s->worker_died++;
			continue;
		}
		if (!s->kernel) {
			memcpy(s->stream, r.stream, sizeof(s->stream));
			s->streams = 1;
			s->first = r.seq;
		} else if (memcmp(s->stream, r.stream, sizeof(s->stream))) {
			s->streams++;
		}
		s->kernel++;
		if (r.seq > s->last)
			s->last = r.seq;
		if (r.seq > MAX_SEQ)
			continue;
		if (seen[r.seq]++)
			s->dups++;
		if (r.seq < s->first)
			s->first = r.seq;
	}
	for (q = s->first; s->kernel && q <= s->last && q <= MAX_SEQ; q++)
		if (!seen[q])
			s->gaps++;
	bfl_leaves_free(&lv);
	ktap_diag("store: %llu kernel records (seq %llu..%llu), %llu daemon records, "
		  "%llu duplicates, %llu missing",
		  (unsigned long long)s->kernel, (unsigned long long)s->first,
		  (unsigned long long)s->last, (unsigned long long)s->daemon,
		  (unsigned long long)s->dups, (unsigned long long)s->gaps);
	return 0;
}

/* Every seq from @from to the kernel's last one, exactly once. */
static int check_stream(const struct scan *s, uint64_t from, const char *name)
{
	long long next = brvm_audit_attr("next_seq");
	long long acked = brvm_audit_attr("acked");
	int ok = s->streams == 1 && !s->dups && !s->gaps && s->first <= from &&
		 next > 0 && s->last == (uint64_t)next - 1 && acked == next - 1;

	if (!ok)
		ktap_diag("%s: streams %llu, first %llu (want <= %llu), last %llu, "
			  "kernel next_seq %lld acked %lld", name,
			  (unsigned long long)s->streams, (unsigned long long)s->first,
			  (unsigned long long)from, (unsigned long long)s->last,
			  next, acked);
	return ktap_check(ok, name);
}

/* The load: policy changes as fast as the reader takes them. */
static volatile int load_stop;
static unsigned long load_ok, load_err;

static void *load_fn(void *arg)
{
	int fd = *(int *)arg;
	struct bioreader_policy p;
	unsigned int i = 0;

	if (brvm_get_policy(fd, &p))
		return NULL;
	while (!load_stop) {
		p.lockout_s = 300 + (i++ & 1);
		if (brvm_set_policy(fd, &p)) {
			load_err++;	/* no consumer while a worker restarts */
			usleep(1000);
		} else if (++load_ok % 32 == 0) {
			usleep(1000);
		}
	}
	p.lockout_s = 300;
	brvm_set_policy(fd, &p);
	return NULL;
}

static void show_log(void)
{
	brvm_sh("tail -n 40 %s | sed 's/^/# /'", DAEMON_LOG);
}

/* Waits up to @ms for cond; 1 if it held. */
#define WAIT_FOR(cond, ms) ({						\
	long long _end = brvm_now_ms() + (ms);				\
	while (!(cond) && brvm_now_ms() < _end)				\
		brvm_sleep_ms(20);					\
	!!(cond);							\
})

/* 5: the store's file system fills up under load, then has space again */
static void disk_full(int fd)
{
	struct brvm_flow f = { 0 };
	struct scan sc;
	pthread_t th;
	long long acked, a;
	unsigned long err0;
	uint64_t from, sid;
	pid_t w;
	int r, ok, refused = 0;

	brvm_sh("mkdir -p %s && mount -t tmpfs -o size=16m bfd-full %s", FULL_DIR, FULL_DIR);
	acked = brvm_audit_attr("acked");
	from = acked >= 0 ? (uint64_t)acked + 1 : 1;
	r = brvm_flow_start(&f, FULL_STORE, FULL_LOG, "--commit-latency-ms 2");
	if (r)
		brvm_sh("tail -n 20 %s | sed 's/^/# /'", FULL_LOG);
	ktap_check(r == 0, "bioflowd on a store in a 16 MiB tmpfs");
	load_stop = 0;
	ok = r == 0 && !pthread_create(&th, NULL, load_fn, &fd);
	if (!ok) {
		ktap_check(0, "disk full: the daemon says so and acknowledges nothing more");
		ktap_check(0, "disk full: the kernel refuses new sessions (ENOLINK)");
		ktap_check(0, "space back: all acknowledged, the same daemon");
		ktap_check(0, "disk full: every kernel seq stored exactly once");
		ktap_check(0, "disk full: stopped with status 0, store verified");
		goto out;
	}
	a = brvm_audit_attr("acked");
	WAIT_FOR(brvm_audit_attr("acked") >= a + 300, 20000);
	w = brvm_flow_worker(&f);
	/* fill it: everything the daemon writes next fails with ENOSPC */
	brvm_sh("cat /dev/zero > %s/filler 2>/dev/null", FULL_DIR);
	ok = WAIT_FOR(brvm_sh("grep -q 'store full:' %s", FULL_LOG) == 0, 30000);
	/* the queue fills: policy changes are refused */
	err0 = load_err;
	ok = ok && WAIT_FOR(load_err > err0 + 10, 60000);
	a = brvm_audit_attr("acked");
	brvm_sleep_ms(1000);
	ktap_diag("disk full: acked %lld, next_seq %lld, pending %lld, %lu refused", a,
		  brvm_audit_attr("next_seq"), brvm_audit_attr("pending"), load_err - err0);
	ktap_check(ok && brvm_audit_attr("acked") == a && brvm_audit_attr("consumer") == 1 &&
		   brvm_flow_worker(&f) == w,
		   "disk full: the daemon says so and acknowledges nothing more, the same worker waits");
	if (brvm_start_id(fd, GENUINE, 3000, &sid)) {
		refused = errno == ENOLINK;
	} else {
		struct bioreader_verdict v;

		brvm_wait(fd, 13000, &v);	/* started after all: end it */
	}
	ktap_check(refused, "disk full: the kernel refuses new sessions (ENOLINK)");
	brvm_sh("rm -f %s/filler", FULL_DIR);
	ok = WAIT_FOR(brvm_audit_attr("acked") > a + 300, 30000);
	load_stop = 1;
	pthread_join(th, NULL);
	ok = ok && WAIT_FOR(brvm_audit_attr("acked") == brvm_audit_attr("next_seq") - 1, 30000);
	ktap_check(ok && brvm_sh("grep -q 'store has space again' %s", FULL_LOG) == 0,
		   "space back: all acknowledged, the same daemon");
	r = brvm_flow_stop(&f);
	if (r)
		brvm_sh("tail -n 30 %s | sed 's/^/# /'", FULL_LOG);
	store_dir = FULL_STORE;
	ok = scan_store(&sc) == 0;
	if (ok)
		check_stream(&sc, from, "disk full: every kernel seq stored exactly once");
	else
		ktap_check(0, "disk full: every kernel seq stored exactly once");
	store_dir = STORE;
	ktap_check(r == 0 && brvm_flow_verify(PUBKEY, FULL_STORE) == 0,
		   "disk full: stopped with status 0, store verified");
out:
	brvm_sh("umount %s", FULL_DIR);
}

int main(void)
{
	struct brvm_flow f = { 0 };
	struct brvm_sim sim;
	struct scan sc;
	pthread_t th;
	uint64_t from = 1;
	long long acked;
	unsigned int i, k;
	int fd, r, ok;

	ktap_plan(NCHECKS);
	if (geteuid() != 0)
		return brvm_bail("needs root");
	if (access(BRVM_TPM_DEV, F_OK)) {
		for (i = 0; i < NCHECKS; i++)
			ktap_skip("bioflowd", "no TPM (" BRVM_TPM_DEV ")");
		return ktap_finish();
	}
	if (brvm_setup())
		return brvm_bail("modules");
	brvm_sh("rm -rf %s && mkdir -p %s", DIR, DIR);

	/* 1: the daemon is the consumer */
	KTAP_CASE("the daemon is the consumer, seals the sessions, stops; the store verifies") {
		if (!brvm_ok(brvm_drain_stop(), "the suite's drain stopped"))
			return brvm_bail("drain");
		acked = brvm_audit_attr("acked");
		from = acked >= 0 ? (uint64_t)acked + 1 : 1;
		if (!brvm_ok(brvm_flow_provision(PUBKEY), "TPM root provisioned, public key exported"))
			return brvm_bail("provisioning");
		r = brvm_flow_start(&f, STORE, DAEMON_LOG, "--commit-latency-ms 2");
		if (r)
			show_log();
		if (!brvm_ok(r, "bioflowd --tpm attached to " BRVM_AUDIT_DEV)) {
			brvm_drain_start();
			return brvm_bail("bioflowd");
		}

		/* 2: sessions */
		if (brvm_sim_create(&sim, "flow", 0, 0, 0) || (fd = brvm_open(&sim)) < 0) {
			brvm_flow_stop(&f);
			brvm_drain_start();
			return brvm_bail("simulated reader");
		}
		for (i = 0; i < 32; i++) {
			ref_issuer[i] = (uint8_t)(0xc0 + i);
			ref_signer[i] = (uint8_t)(0x5a ^ (i * 13));
		}
		for (i = 0; i < NSESS; i++) {
			struct sess *s = &sessions[i];

			ok = !brvm_sim_scene(&sim, s->scene) &&
			     !(s->declared ? run_declared(fd, &s->v) :
					     brvm_run_session(fd, GENUINE, 3000, &s->v));
			s->ran = ok;
			if (ok)
				brvm_diag_verdict(s->name, &s->v);
			ktap_check(ok && s->v.outcome == s->outcome && s->v.audit_seq,
				   s->name);
		}

		/* 3: stop, verify, look inside */
		r = brvm_flow_stop(&f);
		if (r)
			show_log();
		ktap_check(r == 0, "bioflowd stopped by SIGTERM with status 0");
		ktap_check(brvm_flow_verify(PUBKEY, STORE) == 0,
			   "bioflow-verify --root-key (TPM public key): store verified");
		r = scan_store(&sc);
		ktap_check(r == 0 && sc.daemon >= 1, "the daemon's start is a record in the log");
		check_stream(&sc, from, "every kernel seq since the drain stopped is stored exactly once");
		ok = 1;
		for (i = 0; i < NSESS; i++)
			ok &= sessions[i].ran &&
			      brvm_flow_verdict_in_store(store_dir, sessions[i].v.session_id,
							 sessions[i].v.audit_seq);
		ktap_check(ok, "the VERDICT records' seqs are the verdicts' audit_seq");
		check_declared(&sessions[NSESS - 1]);
	}

	/* 4: kill -9 of the worker under load, same store */
	KTAP_CASE("kill -9 of the worker under load, same store") {
		r = brvm_flow_start(&f, STORE, DAEMON_LOG, "--commit-latency-ms 2");
		if (r)
			show_log();
		ktap_check(r == 0, "bioflowd restarted on the same store");
		load_stop = 0;
		ok = r == 0 && !pthread_create(&th, NULL, load_fn, &fd);
		for (k = 0; ok && k < KILLS; k++) {
			pid_t w;
			long long before = brvm_audit_attr("acked");
			long long end = brvm_now_ms() + 10000;

			/* wait until this worker has sealed and acknowledged records */
			while (brvm_audit_attr("acked") < before + 300 && brvm_now_ms() < end)
				brvm_sleep_ms(5);
			w = brvm_flow_worker(&f);
			if (!w || kill(w, SIGKILL)) {
				ok = 0;
				break;
			}
			ktap_diag("killed worker %d after %lu policy changes", (int)w, load_ok);
			if (!brvm_flow_wait_worker(&f, w, 10000)) {
				ktap_diag("no new worker took over from %d", (int)w);
				ok = 0;
			}
		}
		if (r == 0) {
			unsigned long before = load_ok;
			long long end = brvm_now_ms() + 5000;

			while (ok && load_ok < before + 200 && brvm_now_ms() < end)
				brvm_sleep_ms(5);
			load_stop = 1;
			pthread_join(th, NULL);
		}
		/* SIGTERM seals what was read; wait until everything was read */
		{
			long long end = brvm_now_ms() + 10000;

			while (brvm_audit_attr("acked") != brvm_audit_attr("next_seq") - 1 &&
			       brvm_now_ms() < end)
				brvm_sleep_ms(20);
		}
		ktap_diag("load: %lu policy changes, %lu refused while no consumer", load_ok, load_err);
		ktap_check(ok, "worker killed with SIGKILL 3 times under load, restarted each time");
		ktap_check(ok && load_ok >= 600, "records kept flowing between the kills");
		r = brvm_flow_stop(&f);
		if (r)
			show_log();
		ktap_check(r == 0, "bioflowd stopped by SIGTERM with status 0");
		ktap_check(brvm_flow_verify(PUBKEY, STORE) == 0,
			   "bioflow-verify after the kills: store verified");
		r = scan_store(&sc);
		ktap_check(r == 0, "store readable");
		if (!check_stream(&sc, from, "after the kills: every kernel seq stored exactly once"))
			show_log();
		ktap_check(sc.worker_died >= KILLS, "each worker death is a daemon record in the log");
	}

	/* 5: the store's file system full */
	KTAP_CASE("the store's file system full") {
		disk_full(fd);
	}
	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd);
	brvm_sim_destroy(&sim);
	/* 6: back to the suite's drain */
	brvm_ok(brvm_drain_start(), "the suite's drain restarted");
	return ktap_finish();
}
