// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflowd end to end, natively, against a fake audit source: a Unix
 * SOCK_SEQPACKET listener (bioflowd --audit-socket) that behaves like
 * /dev/bioreader-audit: it sends whole records, many per message, takes
 * acknowledgements, and after the consumer reconnects delivers again
 * everything not acknowledged (and, to exercise duplicate filtering, a
 * few acknowledged records too).
 *
 *   1. records in -> store written, every ack covered by a durable
 *      checkpoint when it arrives, the worker sandboxed (uid, seccomp
 *      filter mode, no_new_privs, no capabilities), epochs rotated,
 *      bioflow's verifier passes, every kernel seq stored exactly once
 *   2. restart on the same store, with redelivery of acked records
 *   3. a forbidden syscall in the worker: SIGSYS, restarted, incident in
 *      the log
 *   4. io_uring_setup / io_uring_register after the filter: SIGSYS
 *   5. opcodes and files outside the ring's restrictions: -EACCES
 *   6. 100 kill -9s, of the worker or of the whole daemon, at random
 *      points under load: nothing lost, nothing duplicated
 *   7. the store's file system full (a tmpfs), during a run and at start:
 *      fail closed, no restart loop, recovery when space returns
 *   8. the TPM root signer (swtpm) absent at start, and gone before an
 *      epoch rotation: fail closed, recovery when it is back
 *   9. the monitor's permits (BIOFLOWD_TEST_FAULT=proto-*): a COUNTER_INC
 *      outside an epoch start, a second CERTIFY before the increment, an
 *      unknown request, a flood of epoch starts: refused, the worker
 *      killed and restarted, the refusal a daemon record, nothing lost,
 *      the counter moved only with epochs in the store
 *  10. the root key bound to PCR 7: extended while running (the daemon
 *      stops with status 1 at the next epoch start) and at start (status
 *      1, no worker)
 *  11. the forwarder's lag (--forward-status, a status file written here
 *      as bioflow-forward writes it): past the bound one DAEMON record,
 *      hovering at the bound none more, back under half the bound one;
 *      garbage, an oversized file, a FIFO, a symbolic link, a missing
 *      file: no crash, no block, one "silent" record; a forwarder
 *      flapping on purpose: at most the bucket's records
 *
 * Needs root (the daemon starts as root and drops to "nobody"; 7 mounts
 * a tmpfs; 8-10 are skipped without swtpm).  BFD_TEST_ONLY=proto,pcr
 * (parts usage, flow, sandbox, kill9, full, tpm, foreign, proto, pcr,
 * forward)
 * runs only those; BFD_TEST_FAULTS=proto-inc,... only those of 9.  The
 * daemon binary is $BIOFLOWD, else build/tests/bioflowd-hooks: the daemon
 * built with its test fault hooks (the Makefile; build/bioflowd, the
 * release build, has none).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include <openssl/pem.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "bflog.h"
#include "ktap.h"
#include "lib/audit_rec.h"
#include "lib/swtpm.h"

#define ACK_MAGIC	0x214b4341u
#define EV_START	1
#define EV_WORKER_DIED	2
#define EV_REFUSED	3
#define EV_FWD_BEHIND	4
#define EV_FWD_WITHIN	5
#define EV_FWD_SILENT	6

static char tmp[200], store[300], sockpath[300], keypath[400], logpath[300];
static char tpm_auth[300];	/* the TPM authorization file (with --tpm) */
static char daemon_bin[4096];
static struct bfl_root_signer *rs;
static const char *tpm_tcti;		/* set: --tpm this instead of --root-key */
static struct bfl_key *verify_key;	/* set: verify with this root key */
static const struct bfl_verify_opts *verify_opts;	/* set: --nv-counter etc. */
static const u8 boot[16] = { 0xb1, 0x0f, 0x10, 0x3d, 0x01 };
static const u64 stream_id = 0x5eedfeedULL;

static u64 ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------- fake source -- */

struct fake {
	int lfd, cfd;
	u64 total;		/* records that exist: seq 1..total */
	u64 rate;		/* records per second made available; 0: all */
	u64 t0;
	u64 next;		/* next seq to send on this connection */
	u64 acked;
	u64 rewind;		/* on reconnect, resend this many acked ones */
	unsigned int conns, acks, bad_acks, batch;
	unsigned int ack_conn;	/* conns when the last ack came */
	bool check_durable;
};

/* The current record format, as the driver sends it: 160 or 232 bytes. */
static size_t mkrec(u8 *buf, u64 seq)
{
	return test_audit_rec_v2(buf, boot, stream_id, seq,
		       seq % 2 ? BIOREADER_AUDIT_SESSION_START :
				 BIOREADER_AUDIT_VERDICT);
}

static int fake_init(struct fake *f, u64 total)
{
	struct sockaddr_un a;

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->total = total;
	f->next = 1;
	f->batch = 200;
	f->t0 = ms_now();
	f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (f->lfd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(sockpath) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, sockpath, strlen(sockpath) + 1);
	unlink(sockpath);
	if (bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) || listen(f->lfd, 4))
		return -1;
	return 0;
}

static void fake_close(struct fake *f)
{
	if (f->cfd >= 0)
		close(f->cfd);
	if (f->lfd >= 0)
		close(f->lfd);
	unlink(sockpath);
}

/* Is kernel seq s in the leaves the store's checkpoint covers? */
/* Whether kernel seq s is sealed: under the store's latest checkpoint
 * entry (the checkpoint file is only a copy, refreshed lazily). */
static bool durable(u64 s)
{
	struct bfl_checkpoint cp;
	struct bfl_leaves lv;
	struct bfl_note *note = malloc(sizeof(*note));
	struct bfl_err e;
	bool ok = false;
	u64 i;

	if (!note || bfl_store_load_leaves(store, &lv, &e)) {
		free(note);
		return false;
	}
	if (!lv.last_cp ||
	    bfl_checkpoint_open(lv.last_cp, lv.last_cp_len, &cp, note, &e)) {
		free(note);
		bfl_leaves_free(&lv);
		return false;
	}
	free(note);
	for (i = 0; i < lv.n && i < cp.size; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, NULL) > 0 &&
		    bfl_record_is_kernel(&r) && r.seq == s) {
			ok = true;
			break;
		}
	}
	bfl_leaves_free(&lv);
	return ok;
}

static void fake_drop(struct fake *f)
{
	if (f->cfd >= 0)
		close(f->cfd);
	f->cfd = -1;
}

static void fake_step(struct fake *f, int timeout_ms)
{
	struct pollfd p[2];
	u64 avail = f->total;
	unsigned int n = 0;

	if (f->rate) {
		u64 made = (ms_now() - f->t0) * f->rate / 1000 + 1;

		if (made < avail)
			avail = made;
	}
	p[n].fd = f->lfd;
	p[n++].events = POLLIN;
	if (f->cfd >= 0) {
		p[n].fd = f->cfd;
		p[n++].events = POLLIN | (f->next <= avail ? POLLOUT : 0);
	}
	if (poll(p, n, timeout_ms) <= 0)
		return;
	if (p[0].revents & POLLIN) {
		int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (c >= 0) {
			/* a new consumer: the old one is gone */
			fake_drop(f);
			f->cfd = c;
			f->conns++;
			f->next = f->acked + 1 > f->rewind ? f->acked + 1 - f->rewind : 1;
		}
	}
	if (n < 2 || f->cfd < 0 || p[1].fd != f->cfd)
		return;
	if (p[1].revents & POLLIN) {
		for (;;) {
			u8 m[64];
			ssize_t k = recv(f->cfd, m, sizeof(m), MSG_DONTWAIT);
			u32 magic;
			u64 seq;

			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (k <= 0) {
				fake_drop(f);
				return;
			}
			memcpy(&magic, m, 4);
			memcpy(&seq, m + 8, 8);
			magic = le32toh(magic);
			seq = le64toh(seq);
			f->acks++;
			if (k == 16 && magic == ACK_MAGIC)
				f->ack_conn = f->conns;
			/* Below what is acknowledged already: a no-op (the
			 * worker acks the redelivered records it skipped). */
			if (k == 16 && magic == ACK_MAGIC && seq < f->acked)
				continue;
			if (k != 16 || magic != ACK_MAGIC || seq >= f->next) {
				ktap_diag("bad ack: %zd bytes, seq %llu (sent up to %llu, acked %llu)",
					  k, (unsigned long long)seq,
					  (unsigned long long)f->next - 1,
					  (unsigned long long)f->acked);
				f->bad_acks++;
				continue;
			}
			if (f->check_durable && !durable(seq)) {
				ktap_diag("ack of seq %llu before a checkpoint covers it",
					  (unsigned long long)seq);
				f->bad_acks++;
			}
			f->acked = seq;
		}
	} else if (p[1].revents & (POLLHUP | POLLERR)) {
		fake_drop(f);
		return;
	}
	if (p[1].revents & POLLOUT) {
		static u8 buf[BIOREADER_AUDIT_RECORD_MAX * 512];

		while (f->next <= avail) {
			u64 k = avail - f->next + 1, i;
			size_t len = 0;
			ssize_t s;

			if (k > f->batch)
				k = 1 + (u64)rand() % f->batch;
			for (i = 0; i < k; i++)
				len += mkrec(buf + len, f->next + i);
			s = send(f->cfd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (s < 0)
				break;
			f->next += k;
		}
	}
}

/* Pumps until cond(f) or the deadline; true if cond held. */
static bool fake_until(struct fake *f, bool (*cond)(struct fake *), u64 ms)
{
	u64 end = ms_now() + ms;

	while (ms_now() < end) {
		if (cond(f))
			return true;
		fake_step(f, 10);
	}
	return cond(f);
}

static bool all_acked(struct fake *f)
{
	return f->acked == f->total;
}

/* ------------------------------------------------------------ daemon -- */

static pid_t daemon_start(const char *fault, const char *const *extra)
{
	const char *argv[32];
	unsigned int n = 0;
	pid_t pid;

	argv[n++] = daemon_bin;
	argv[n++] = "--store";
	argv[n++] = store;
	argv[n++] = "--audit-socket";
	argv[n++] = sockpath;
	argv[n++] = tpm_tcti ? "--tpm" : "--root-key";
	argv[n++] = tpm_tcti ? tpm_tcti : keypath;
	if (tpm_tcti) {
		argv[n++] = "--tpm-auth";
		argv[n++] = tpm_auth;
	}
	argv[n++] = "--user";
	argv[n++] = "nobody";
	argv[n++] = "--origin";
	argv[n++] = "bioflow.example/test-kiosk";
	argv[n++] = "--commit-records";
	argv[n++] = "256";
	argv[n++] = "--commit-latency-ms";
	argv[n++] = "5";
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		if (fault)
			setenv("BIOFLOWD_TEST_FAULT", fault, 1);
		else
			unsetenv("BIOFLOWD_TEST_FAULT");
		execv(daemon_bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Has the monitor blocked SIGTERM (taken it into its signalfd)?  Before
 * that, between fork and its first instructions, a SIGTERM would end it
 * with the default action: a property of the process being not yet
 * started, not of the daemon. */
static bool takes_sigterm(pid_t pid)
{
	char p[64], buf[256];
	unsigned long long blk = 0;
	bool found = false;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "re");
	while (f && !found && fgets(buf, sizeof(buf), f))
		found = sscanf(buf, "SigBlk: %llx", &blk) == 1;
	if (f)
		fclose(f);
	return found && (blk & (1ULL << (SIGTERM - 1)));
}

/* SIGTERM, pumping the source meanwhile; the exit status or -1. */
static int daemon_stop(pid_t pid, struct fake *f)
{
	u64 end = ms_now() + 20000;
	bool sent = false;
	int st;

	while (ms_now() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (!sent && takes_sigterm(pid)) {
			kill(pid, SIGTERM);
			sent = true;
		}
		if (f)
			fake_step(f, sent ? 10 : 2);
		else
			usleep(sent ? 10000 : 2000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static pid_t worker_of(pid_t monitor)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	while (d && (e = readdir(d))) {
		char p[300], buf[512], *q;
		FILE *f;
		int ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", e->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (q = strrchr(buf, ')')) &&
		    sscanf(q + 2, "%*c %d", &ppid) == 1 && ppid == monitor)
			found = atoi(e->d_name);
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

static bool wait_worker(pid_t monitor, pid_t old, struct fake *f, pid_t *out)
{
	u64 end = ms_now() + 15000;

	while (ms_now() < end) {
		pid_t w = worker_of(monitor);

		if (w > 0 && w != old) {
			*out = w;
			return true;
		}
		fake_step(f, 5);
	}
	return false;
}

static bool status_has(pid_t pid, const char *line)
{
	char p[64], buf[256];
	bool ok = false;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "re");
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, line, strlen(line)))
			ok = true;
	if (f)
		fclose(f);
	return ok;
}

static unsigned int log_count(const char *needle)
{
	char line[2048];
	unsigned int n = 0;
	FILE *f = fopen(logpath, "re");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	if (f)
		fclose(f);
	return n;
}

/* ------------------------------------------------------------ checks -- */

struct tally {
	enum bfl_verdict verdict;
	u64 epochs;
	u64 missing, dups;	/* kernel seqs 1..total */
	unsigned int starts, deaths, sigsys_deaths;
	unsigned int refused;		/* EV_REFUSED records */
	u32 refused_type;		/* the request type of the last one */
	unsigned int daemon_dups;	/* daemon records stored twice */
	unsigned int fwd[3];		/* EV_FWD_BEHIND, _WITHIN, _SILENT */
	u32 fwd_detail[3][6];		/* the first of each */
};

/* A worker killed after sealing the monitor's records but before READY
 * makes the next one seal them again (docs/bioflowd.md): count each
 * distinct daemon record once (they differ in their timestamps). */
static bool daemon_record_seen(const struct bfl_leaves *lv, u64 i)
{
	u64 j;

	for (j = 0; j < i; j++)
		if (lv->rec_len[j] == lv->rec_len[i] &&
		    !memcmp(lv->rec[j], lv->rec[i], lv->rec_len[i]))
			return true;
	return false;
}

static void tally(u64 total, struct tally *t)
{
	struct bfl_verify_result res;
	const struct bfl_finding *fd;
	struct bfl_leaves lv;
	struct bfl_err e;
	u8 *seen = calloc(total + 1, 1);
	u64 i;

	memset(t, 0, sizeof(*t));
	bfl_verify_store(store, verify_key ? verify_key : &rs->key, verify_opts, &res);
	t->verdict = res.verdict;
	t->epochs = res.epochs;
	fd = bfl_first_error(&res);
	if (fd)
		ktap_diag("verifier: %s %s: %s", fd->kind, fd->where, fd->msg);
	bfl_verify_result_free(&res);
	if (!seen || bfl_store_load_leaves(store, &lv, &e)) {
		t->missing = total;
		free(seen);
		return;
	}
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, NULL) <= 0)
			continue;
		if (!bfl_record_is_kernel(&r)) {
			if (daemon_record_seen(&lv, i)) {
				t->daemon_dups++;
				continue;
			}
			if (r.detail[0] == EV_START)
				t->starts++;
			if (r.detail[0] == EV_REFUSED) {
				t->refused++;
				t->refused_type = r.detail[2];
			}
			if (r.detail[0] >= EV_FWD_BEHIND && r.detail[0] <= EV_FWD_SILENT &&
			    !t->fwd[r.detail[0] - EV_FWD_BEHIND]++)
				memcpy(t->fwd_detail[r.detail[0] - EV_FWD_BEHIND], r.detail,
				       sizeof(t->fwd_detail[0]));
			if (r.detail[0] == EV_WORKER_DIED) {
				t->deaths++;
				if (r.detail[2] == SIGSYS)
					t->sigsys_deaths++;
			}
			continue;
		}
		if (r.seq >= 1 && r.seq <= total && seen[r.seq]++)
			t->dups++;
	}
	for (i = 1; i <= total; i++)
		if (!seen[i])
			t->missing++;
	if (t->missing || t->dups)
		ktap_diag("kernel seqs 1..%llu: %llu missing, %llu duplicated",
			  (unsigned long long)total, (unsigned long long)t->missing,
			  (unsigned long long)t->dups);
	bfl_leaves_free(&lv);
	free(seen);
}

/* The daemon's log as diagnostics, after a failed check. */
static int failed_before;

static void dump_log_if_failed(void)
{
	char line[2048];
	FILE *f;

	if (ktap_failed == failed_before)
		return;
	failed_before = ktap_failed;
	f = fopen(logpath, "re");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		ktap_diag("log: %s", line);
	}
	if (f)
		fclose(f);
}

static void fresh_store(void)
{
	char cmd[400];


	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store);
	if (system(cmd))
		ktap_diag("cannot remove the old store");
	unlink(logpath);
}

static bool find_daemon(const char *argv0)
{
	const char *env = getenv("BIOFLOWD");
	char self[4096], *slash;
	/* build/tests/unit/ or build/san/tests/unit/ -> build/tests/ */
	const char *rel[] = { "/../bioflowd-hooks", "/../../../tests/bioflowd-hooks" };
	ssize_t n;
	unsigned int i;

	if (env) {
		snprintf(daemon_bin, sizeof(daemon_bin), "%s", env);
		return access(daemon_bin, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(self, sizeof(self), "%s", argv0);
		n = (ssize_t)strlen(self);
	}
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = 0;
	for (i = 0; i < 2; i++) {
		char p[4200];

		snprintf(p, sizeof(p), "%s%s", self, rel[i]);
		if (realpath(p, daemon_bin) && !access(daemon_bin, X_OK))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------- tests -- */

#define NTESTS 92

/* BFD_TEST_ONLY: a comma-separated list of parts (usage, flow, sandbox,
 * kill9, full, tpm, foreign, proto, pcr); unset: all. */
static const char *only;

static bool want(const char *part)
{
	size_t n = strlen(part);
	const char *p = only;

	if (!p)
		return true;
	while ((p = strstr(p, part))) {
		if ((p == only || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static void skip_all(const char *why)
{
	int i;

	for (i = 0; i < NTESTS; i++)
		ktap_skip("bioflowd", why);
}

static void test_flow(void)
{
	const char *extra[] = { "--epoch-records", "5000", NULL };
	struct fake f;
	struct tally t;
	pid_t d, w = 0;
	unsigned int i;
	bool ok;

	ktap_diag("1. records in, durable checkpoint before every ack, verifier");
	fresh_store();
	fake_init(&f, 20000);
	f.check_durable = true;
	f.rate = 40000;
	d = daemon_start(NULL, extra);
	ok = wait_worker(d, 0, &f, &w);
	/* until it has dropped privileges and installed the filter */
	for (i = 0; ok && i < 500 && !status_has(w, "Seccomp:\t2"); i++)
		fake_step(&f, 5);
	ktap_check(ok && status_has(w, "Seccomp:\t2") && status_has(w, "NoNewPrivs:\t1") &&
		   status_has(w, "Uid:\t65534\t65534\t65534\t65534") &&
		   status_has(w, "CapEff:\t0000000000000000"),
		   "worker runs as nobody, no_new_privs, no capabilities, seccomp filter");
	ok = fake_until(&f, all_acked, 60000);
	ktap_check(ok, "all 20000 records acknowledged");
	ktap_check(f.acks > 10 && f.bad_acks == 0,
		   "every ack covered by a durable checkpoint when it arrived");
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK, "bioflow verifier: store OK");
	ktap_check(!t.missing && !t.dups, "every kernel seq stored exactly once");
	ktap_check(t.epochs >= 4, "epochs rotated by record count");
	ktap_check(t.starts == 1 && t.deaths == 0, "daemon start recorded in the log");

	ktap_diag("2. restart on the same store, redelivery of acked records");
	f.total = 23000;
	f.rewind = 300;
	d = daemon_start(NULL, NULL);
	ok = fake_until(&f, all_acked, 60000);
	ktap_check(ok && f.conns == 2 && f.bad_acks == 0, "restart: all 23000 acknowledged");
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && t.starts == 2,
		   "verifier OK, 300 redelivered records not stored twice");
	fake_close(&f);
	dump_log_if_failed();
}

static void test_forbidden_syscall(void)
{
	struct fake f;
	struct tally t;
	pid_t d;
	bool ok;

	ktap_diag("3. forbidden syscall in the worker");
	fresh_store();
	fake_init(&f, 8000);
	f.rate = 20000;
	d = daemon_start("syscall:3000", NULL);
	ok = fake_until(&f, all_acked, 60000);
	ktap_check(ok && f.conns >= 2, "records flow again after the worker died");
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	ktap_check(log_count("calling socket(AF_INET)") == 1 &&
		   log_count("returned (sandbox missing)") == 0 &&
		   log_count("killed by signal 31") == 1,
		   "the worker was killed by SIGSYS, and restarted once");
	tally(f.total, &t);
	ktap_check(t.sigsys_deaths == 1, "the incident is a record in the log (SIGSYS)");
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups,
		   "verifier OK, nothing lost or duplicated");
	fake_close(&f);
	dump_log_if_failed();
}

static void test_uring_escape(const char *fault, const char *what)
{
	char name[160];
	struct fake f;
	struct tally t;
	pid_t d;
	bool ok;

	ktap_diag("4. %s after the filter", what);
	fresh_store();
	fake_init(&f, 1000);
	d = daemon_start(fault, NULL);
	ok = fake_until(&f, all_acked, 30000);
	ktap_check(daemon_stop(d, &f) == 0 && ok, "the restarted worker stores everything");
	snprintf(name, sizeof(name), "calling %s after the filter", what);
	snprintf(name, sizeof(name), "%s: worker killed by SIGSYS", what);
	ktap_check(log_count("after the filter") == 1 &&
		   log_count("returned (sandbox missing)") == 0 &&
		   log_count("killed by signal 31") == 1, name);
	tally(f.total, &t);
	snprintf(name, sizeof(name), "%s: incident recorded, verifier OK", what);
	ktap_check(t.sigsys_deaths == 1 && t.verdict == BFL_OK && !t.missing && !t.dups,
		   name);
	fake_close(&f);
	dump_log_if_failed();
}

static void test_uring_restrictions(void)
{
	struct fake f;
	struct tally t;
	pid_t d;
	bool ok;

	ktap_diag("5. work outside the ring's restrictions");
	fresh_store();
	fake_init(&f, 1000);
	d = daemon_start("uring-op", NULL);
	ok = fake_until(&f, all_acked, 30000);
	ktap_check(daemon_stop(d, &f) == 0 && ok && f.conns == 1,
		   "the worker goes on storing records");
	ktap_check(log_count("ring OPENAT: result -13") == 1,
		   "IORING_OP_OPENAT on the ring: -EACCES");
	ktap_check(log_count("ring READ of a plain fd: result -13") == 1,
		   "READ without a fixed file: -EACCES");
	ktap_check(log_count("ring READ of fixed file 1: result -9") == 1,
		   "READ of an unregistered fixed file: -EBADF");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && t.deaths == 0,
		   "verifier OK");
	fake_close(&f);
	dump_log_if_failed();
}

#define KILL_CYCLES	100

/* Waits until the daemon has acknowledged `more` records beyond `from`;
 * false after 30 s without that progress. */
static bool progress(struct fake *f, u64 from, u64 more)
{
	u64 end = ms_now() + 30000;

	while (f->acked < from + more && ms_now() < end)
		fake_step(f, 2);
	return f->acked >= from + more;
}

static void test_kill9(void)
{
	const char *extra[] = { "--epoch-records", "20000", NULL };
	unsigned int i, wk = 0, dk = 0, quick = 0, started = 0, died = 0;
	unsigned int conn0, wconn = 0;
	u64 t0 = ms_now(), made;
	struct fake f;
	struct tally t;
	pid_t d, w = 0;
	bool ok = true;

	ktap_diag("6. %u kill -9 of the worker or the whole daemon, at random points, under load",
		  KILL_CYCLES);
	fresh_store();
	fake_init(&f, 100000000);
	f.rate = 4000;
	f.rewind = 100;
	d = daemon_start(NULL, extra);
	conn0 = f.conns;
	for (i = 0; i < KILL_CYCLES && ok; i++) {
		/* Two quick worker deaths in a row are restarted after 0
		 * and 100 ms; a third would back off further (a crash
		 * loop), so then the whole daemon goes. */
		bool whole = quick >= 2 || rand() % 3 == 0;
		u64 until;

		/* A random point: at once (often while a worker or the
		 * daemon is still starting: recovery, a new epoch), or
		 * after a random amount of progress, plus jitter (inside
		 * an append, a commit, a checkpoint rename, an ack). */
		if (rand() % 4 && !progress(&f, f.acked, 1 + (u64)rand() % 600)) {
			ok = false;
			break;
		}
		until = ms_now() + (u64)rand() % 15;
		while (ms_now() < until)
			fake_step(&f, 1);
		if (whole) {
			int st;

			kill(d, SIGKILL);
			waitpid(d, &st, 0);
			/* it sealed its start record if one of its workers
			 * acknowledged anything */
			if (f.ack_conn > conn0)
				started++;
			if (wconn && f.ack_conn > wconn)
				died++;
			wconn = 0;
			dk++;
			quick = 0;
			d = daemon_start(NULL, extra);
			conn0 = f.conns;
			continue;
		}
		if (!wait_worker(d, 0, &f, &w)) {
			ok = false;
			break;
		}
		/* the previous death is in the log if a later worker of
		 * this daemon acknowledged something */
		if (wconn && f.ack_conn > wconn)
			died++;
		kill(w, SIGKILL);
		wk++;
		quick++;
		wconn = f.conns;
		ok = wait_worker(d, w, &f, &w);
	}
	ktap_diag("%u worker kills, %u daemon kills in %llu ms", wk, dk,
		  (unsigned long long)(ms_now() - t0));
	ktap_check(ok && wk + dk == KILL_CYCLES && wk >= KILL_CYCLES / 3 &&
		   dk >= KILL_CYCLES / 5, "100 kills, of workers and of the whole daemon");
	/* Every record made available so far exists; drain them all. */
	made = (ms_now() - f.t0) * f.rate / 1000 + 1;
	f.total = made < f.total ? made : f.total;
	f.rate = 0;
	ok = fake_until(&f, all_acked, 90000);
	ktap_check(ok && f.bad_acks == 0, "afterwards all records acknowledged");
	if (f.ack_conn > conn0)
		started++;
	if (wconn && f.ack_conn > wconn)
		died++;
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	tally(f.total, &t);
	ktap_diag("%llu kernel records, %u daemon starts and %u worker deaths in the log (at least %u and %u expected), %u daemon records sealed twice",
		  (unsigned long long)f.total, t.starts, t.deaths, started, died, t.daemon_dups);
	ktap_check(t.verdict == BFL_OK, "verifier OK after the kills");
	ktap_check(!t.missing && !t.dups, "every kernel seq present exactly once");
	ktap_check(t.starts >= started && t.starts <= dk + 1 &&
		   t.deaths >= died && t.deaths <= wk,
		   "daemon starts and worker deaths recorded");
	ktap_diag("kill test: %llu ms in all", (unsigned long long)(ms_now() - t0));
	fake_close(&f);
	dump_log_if_failed();
}

/* ------------------------------------------------------ disk full -- */

#define FULL_FS_MIB	24
#define FULL_FREE	(4608ULL << 10)	/* just above the worker's 4 MiB */

static char full_dir[256], filler[300];

/* Leaves `left` bytes free on the tmpfs (0: as good as none). */
static bool fill_to(u64 left)
{
	static char chunk[1 << 16];
	struct statvfs sv;
	u64 have, want;
	int fd;

	unlink(filler);
	if (statvfs(full_dir, &sv))
		return false;
	have = (u64)sv.f_bavail * sv.f_frsize;
	if (have <= left)
		return left > 0;
	want = have - left;
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	while (want) {
		size_t n = want < sizeof(chunk) ? (size_t)want : sizeof(chunk);
		ssize_t k = write(fd, chunk, n);

		if (k <= 0)
			break;	/* full: what "no space at all" means */
		want -= (u64)k;
	}
	close(fd);
	return true;
}

/* Pumps until the daemon's log has `n` lines with `needle`. */
static bool log_until(struct fake *f, const char *needle, unsigned int n, u64 ms)
{
	u64 end = ms_now() + ms;

	while (ms_now() < end && log_count(needle) < n)
		fake_step(f, 10);
	return log_count(needle) >= n;
}

static void pump(struct fake *f, u64 ms)
{
	u64 end = ms_now() + ms;

	while (ms_now() < end)
		fake_step(f, 10);
}

static unsigned int full_deaths(void)
{
	struct bfl_leaves lv;
	struct bfl_err e;
	unsigned int n = 0;
	u64 i;

	if (bfl_store_load_leaves(store, &lv, &e))
		return 0;
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, NULL) > 0 &&
		    !bfl_record_is_kernel(&r) && r.detail[0] == EV_WORKER_DIED &&
		    r.detail[3] == 12 && !daemon_record_seen(&lv, i))
			n++;
	}
	bfl_leaves_free(&lv);
	return n;
}

/*
 * The store on a small tmpfs that fills up while records flow: the
 * worker says so, stops acknowledging, does not restart in a loop, the
 * store stays verifiable; when space returns everything is sealed and
 * acknowledged exactly once.  Then a start on a disk that is already
 * full: the same, without beginning an epoch while it is full.
 */
static void test_disk_full(void)
{
	char save[300], opts[64];
	struct fake f;
	struct tally t;
	u64 a;
	pid_t d;
	bool ok;

	ktap_diag("7. the store's file system fills up");
	snprintf(full_dir, sizeof(full_dir), "%s/full", tmp);
	snprintf(filler, sizeof(filler), "%s/filler", full_dir);
	snprintf(opts, sizeof(opts), "size=%um,mode=0755", FULL_FS_MIB);
	if (mkdir(full_dir, 0755) || mount("bfd-full", full_dir, "tmpfs", 0, opts)) {
		ktap_diag("cannot mount a tmpfs: %s", strerror(errno));
		for (a = 0; a < 9; a++)
			ktap_skip("disk full", "no tmpfs mount");
		return;
	}
	snprintf(save, sizeof(save), "%s", store);
	snprintf(store, sizeof(store), "%s/store", full_dir);
	unlink(logpath);
	ok = fill_to(FULL_FREE);
	fake_init(&f, 60000);
	d = daemon_start(NULL, NULL);
	ok = ok && log_until(&f, "store full:", 1, 60000);
	pump(&f, 300);
	a = f.acked;
	pump(&f, 2500);
	ktap_check(ok && a > 0 && f.acked == a && a < f.total,
		   "store full: a clear error, nothing more acknowledged");
	ktap_check(log_count("started (generation") == 1,
		   "store full: the worker waits, no restart loop");
	tally(a, &t);
	ktap_check((t.verdict == BFL_OK || t.verdict == BFL_WARN) && !t.missing && !t.dups,
		   "store full: the store verifies, everything acknowledged is in it once");
	unlink(filler);
	ok = fake_until(&f, all_acked, 60000);
	ktap_check(ok && f.bad_acks == 0 && log_count("store has space again") == 1,
		   "space back: all records sealed and acknowledged");
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && full_deaths() == 1,
		   "verifier OK, every seq once, the full store a record in the log");

	/* a start on a full disk: no epoch until there is space */
	f.total = 70000;
	unlink(logpath);
	ok = fill_to(0);
	d = daemon_start(NULL, NULL);
	ok = ok && log_until(&f, "store full:", 1, 30000);
	pump(&f, 1500);
	ktap_check(ok && f.acked == 60000 && log_count("certified epoch") == 0 &&
		   log_count("started (generation") == 1,
		   "start on a full disk: waits, no epoch begun, nothing acknowledged");
	unlink(filler);
	ok = fake_until(&f, all_acked, 60000);
	ktap_check(ok && daemon_stop(d, &f) == 0, "space back: the rest sealed, stopped cleanly");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups,
		   "verifier OK, every seq once");
	fake_close(&f);
	dump_log_if_failed();
	snprintf(store, sizeof(store), "%s", save);
	if (umount2(full_dir, MNT_DETACH))
		ktap_diag("umount %s: %s", full_dir, strerror(errno));
	rmdir(full_dir);
}

/* ------------------------------------------------------------ TPM -- */

#define TPM_CHECKS	6

static bool waited_exit(pid_t d, struct fake *f, u64 ms, int *st)
{
	u64 end = ms_now() + ms;

	while (ms_now() < end) {
		if (waitpid(d, st, WNOHANG) == d)
			return true;
		fake_step(f, 10);
	}
	kill(d, SIGKILL);
	waitpid(d, st, 0);
	return false;
}

static bool acked_at_least(struct fake *f, u64 n, u64 ms)
{
	u64 end = ms_now() + ms;

	while (ms_now() < end && f->acked < n)
		fake_step(f, 5);
	return f->acked >= n;
}

/*
 * The TPM root signer (swtpm) absent at start, and gone in the middle of
 * a run just before an epoch rotation: the rotation fails closed (no new
 * epoch key is certified, so none signs a checkpoint; nothing more is
 * acknowledged; the reason is in the log); when the TPM is back the
 * daemon goes on by itself, and the store verifies against the TPM's
 * public key with every kernel seq once.
 */
static void test_tpm(void)
{
	char prov[4300], pem[300], dead[64], save[300], *slash;
	const char *miss = swtpm_missing();
	struct bfl_key root = { 0 };
	struct swtpm tpm = { 0 };
	struct bfl_err e;
	struct tally t;
	struct fake f;
	EVP_PKEY *pk = NULL;
	FILE *pf;
	u64 a;
	pid_t d;
	int st = 0, i;
	bool ok;

	ktap_diag("8. the TPM root signer absent, and failing before an epoch rotation");
	/* next to the daemon, or in build/ above build/tests/bioflowd-hooks */
	snprintf(prov, sizeof(prov), "%s", daemon_bin);
	slash = strrchr(prov, '/');
	if (slash)
		snprintf(slash, sizeof(prov) - (size_t)(slash - prov), "/bioflow-provision");
	if (slash && access(prov, X_OK))
		snprintf(slash, sizeof(prov) - (size_t)(slash - prov), "/../bioflow-provision");
	if (!miss && access(prov, X_OK))
		miss = "build/bioflow-provision not built";
	if (!miss && swtpm_start(&tpm))
		miss = "swtpm does not start";
	snprintf(pem, sizeof(pem), "%s/tpm-root.pem", tmp);
	if (!miss) {
		char cmd[6000];

		snprintf(tpm_auth, sizeof(tpm_auth), "%s/tpm-root.auth", tmp);
		snprintf(cmd, sizeof(cmd), "'%s' --tcti '%s' --out-pubkey '%s' --auth-file '%s' >/dev/null 2>&1",
			 prov, tpm.tcti, pem, tpm_auth);
		if (system(cmd))
			miss = "bioflow-provision failed on swtpm";
	}
	pf = miss ? NULL : fopen(pem, "re");
	pk = pf ? PEM_read_PUBKEY(pf, NULL, NULL, NULL) : NULL;
	if (pf)
		fclose(pf);
	if (!miss && (!pk || bfl_key_init(&root, BFL_ROOT_KEY_NAME, pk, &e)))
		miss = "cannot read the exported TPM public key";
	EVP_PKEY_free(pk);
	if (miss) {
		for (i = 0; i < TPM_CHECKS; i++)
			ktap_skip("TPM faults", miss);
		swtpm_destroy(&tpm);
		return;
	}
	snprintf(save, sizeof(save), "%s", store);
	snprintf(store, sizeof(store), "%s/tpm-store", tmp);
	verify_key = &root;
	unlink(logpath);

	/* absent at start */
	swtpm_dead_tcti(dead, sizeof(dead));
	tpm_tcti = dead;
	fake_init(&f, 30000);
	f.rate = 6000;
	d = daemon_start(NULL, NULL);
	ok = waited_exit(d, &f, 30000, &st);
	ktap_check(ok && WIFEXITED(st) && WEXITSTATUS(st) == 1 && f.acked == 0 &&
		   log_count("root signer: TPM") == 1 && log_count("not reachable") == 1 &&
		   access(store, F_OK),
		   "TPM absent at start: exit status 1, the reason logged, no store, nothing acknowledged");

	/* gone mid-run, the epoch (every 3000 records) rotating meanwhile */
	tpm_tcti = tpm.tcti;
	unlink(logpath);
	{
		const char *extra[] = { "--epoch-records", "3000", NULL };

		d = daemon_start(NULL, extra);
	}
	ok = acked_at_least(&f, 1500, 60000);
	ok = ok && !swtpm_stop(&tpm, SIGKILL);
	/* the next rotation is due within 3000 records */
	ok = ok && log_until(&f, "root signer: TPM", 1, 30000);
	pump(&f, 300);
	a = f.acked;
	pump(&f, 2000);
	ktap_check(ok && f.acked == a && a < 4500 && log_count("not reachable") >= 1,
		   "TPM gone before a rotation: the reason logged, nothing more acknowledged");
	tally(a, &t);
	ktap_check((t.verdict == BFL_OK || t.verdict == BFL_WARN) && !t.missing && !t.dups,
		   "TPM gone: the store verifies (no checkpoint by an uncertified key)");
	{
		int old_port = tpm.port;

		ok = !swtpm_start(&tpm);
		if (ok && tpm.port != old_port) {
			/* the port was taken meanwhile: a restart with the
			 * TPM's new address instead */
			ktap_diag("swtpm came back on another port: restarting the daemon");
			kill(d, SIGKILL);
			waitpid(d, &st, 0);
			tpm_tcti = tpm.tcti;
			{
				const char *extra[] = { "--epoch-records", "3000", NULL };

				d = daemon_start(NULL, extra);
			}
		}
	}
	f.rate = 0;
	ok = ok && fake_until(&f, all_acked, 90000);
	ktap_check(ok && f.bad_acks == 0, "TPM back: the daemon goes on, all records acknowledged");
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && t.epochs >= 8,
		   "verifier OK against the TPM key, every seq once, epochs rotated");
	fake_close(&f);
	dump_log_if_failed();
	verify_key = NULL;
	tpm_tcti = NULL;
	bfl_key_free(&root);
	swtpm_destroy(&tpm);
	snprintf(store, sizeof(store), "%s", save);
}

/* ------------------------------------------------ monitor protocol -- */

/*
 * A private swtpm, provisioned (bioflow-provision, with --pcrs if
 * pcrs), its public key in *root, the authorization file tpm_auth.
 * NULL, or why it cannot be had (a SKIP).
 */
static const char *tpm_setup(struct swtpm *tpm, const char *pcrs, struct bfl_key *root)
{
	char prov[4300], pem[300], cmd[6000], *slash;
	const char *miss = swtpm_missing();
	struct bfl_err e;
	EVP_PKEY *pk = NULL;
	FILE *pf;

	/* next to the daemon, or in build/ above build/tests/bioflowd-hooks */
	snprintf(prov, sizeof(prov), "%s", daemon_bin);
	slash = strrchr(prov, '/');
	if (slash)
		snprintf(slash, sizeof(prov) - (size_t)(slash - prov), "/bioflow-provision");
	if (slash && access(prov, X_OK))
		snprintf(slash, sizeof(prov) - (size_t)(slash - prov), "/../bioflow-provision");
	if (!miss && access(prov, X_OK))
		miss = "build/bioflow-provision not built";
	if (!miss && swtpm_start(tpm))
		miss = "swtpm does not start";
	if (miss)
		return miss;
	snprintf(pem, sizeof(pem), "%s/tpm-root.pem", tmp);
	snprintf(tpm_auth, sizeof(tpm_auth), "%s/tpm-root.auth", tmp);
	unlink(tpm_auth);
	snprintf(cmd, sizeof(cmd),
		 "'%s' --tcti '%s' --force --out-pubkey '%s' --auth-file '%s'%s%s >/dev/null 2>&1",
		 prov, tpm->tcti, pem, tpm_auth, pcrs ? " --pcrs " : "", pcrs ? pcrs : "");
	if (system(cmd))
		return "bioflow-provision failed on swtpm";
	pf = fopen(pem, "re");
	pk = pf ? PEM_read_PUBKEY(pf, NULL, NULL, NULL) : NULL;
	if (pf)
		fclose(pf);
	if (!pk || bfl_key_init(root, BFL_ROOT_KEY_NAME, pk, &e))
		miss = "cannot read the exported TPM public key";
	EVP_PKEY_free(pk);
	return miss;
}

/* The TPM's counter, read through the root signer with the daemon's
 * authorization (the daemon is stopped: swtpm serves one client). */
static int tpm_counter(const char *tcti, u64 *v)
{
	struct bfl_tpm_config c = { .tcti = tcti };
	struct bfl_root_signer *r;
	struct bfl_tpm_auth a;
	struct bfl_err e = { 0 };
	int rc;

	if (bfl_tpm_auth_read(tpm_auth, &a, &e)) {
		ktap_diag("auth file: %s", e.msg);
		return -1;
	}
	c.auth = a.value;
	c.auth_len = a.len;
	c.pcrs = a.pcrs;
	r = bfl_tpm_root_open(&c, &e);
	bfl_tpm_auth_cleanse(&a);
	if (!r) {
		ktap_diag("counter: %s", e.msg);
		return -1;
	}
	rc = r->ops->counter_read(r, v, &e);
	if (rc)
		ktap_diag("counter: %s", e.msg);
	bfl_root_signer_free(r);
	return rc;
}

/* TPM2_PCR_Extend(pcr) with an arbitrary digest: another boot. */
static int pcr_extend(const char *tcti, unsigned int pcr)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPML_DIGEST_VALUES d;
	TSS2_RC rc = 1;

	memset(&d, 0, sizeof(d));
	d.count = 1;
	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(d.digests[0].digest.sha256, 0x5a, 32);
	if (Tss2_TctiLdr_Initialize(tcti, &t))
		return -1;
	rc = Esys_Initialize(&ctx, t, NULL);
	if (!rc)
		rc = Esys_PCR_Extend(ctx, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				     ESYS_TR_NONE, &d);
	if (ctx)
		Esys_Finalize(&ctx);
	Tss2_TctiLdr_Finalize(&t);
	return rc ? -1 : 0;
}

#define PROTO_CHECKS	4

/*
 * A worker that asks the monitor for what no epoch start asks for
 * (BIOFLOWD_TEST_FAULT=proto-*, right after its own epoch start): the
 * monitor refuses, logs it and kills the worker, seals the incident as
 * a daemon record (event 3, the request type), restarts the worker with
 * back-off; nothing sealed is lost, the store verifies against the TPM
 * key, and the counter moved by exactly one per epoch in the store
 * (what legitimate epoch starts allow), the last epoch attesting the
 * counter - 1 (bioflow-verify --nv-counter).
 */
static void test_proto_one(struct swtpm *tpm, const char *fault, u32 type,
			   const char *name, const char *what)
{
	const char *extra[] = { "--epoch-records", "1000000", NULL };
	struct bfl_verify_opts vo = { .have_nv = true };
	char line[160], buf[200];
	struct tally t;
	struct fake f;
	u64 c0 = 0, c1 = 0, t0;
	pid_t d;
	bool ok;
	int i;

	ktap_diag("monitor protocol: %s", what);
	if (getenv("BFD_TEST_FAULTS") && !strstr(getenv("BFD_TEST_FAULTS"), fault)) {
		for (i = 0; i < PROTO_CHECKS; i++)
			ktap_skip(fault, "not in BFD_TEST_FAULTS");
		return;
	}
	fresh_store();
	ok = !tpm_counter(tpm->tcti, &c0);
	fake_init(&f, 6000);
	f.rate = 3000;
	f.check_durable = true;
	t0 = ms_now();
	d = daemon_start(fault, extra);
	snprintf(line, sizeof(line), "sent %s (type %u)", name, type);
	ok = ok && log_until(&f, "refused, killing it", 1, 60000);
	ok = ok && log_count(line) >= 1 && log_count("not refused") == 0 &&
	     log_count("started (generation 1,") == 1;
	snprintf(buf, sizeof(buf), "%s: refused, logged naming the request, the worker killed", fault);
	ktap_check(ok && log_until(&f, "killed by signal 9", 1, 10000), buf);
	ok = log_until(&f, "started (generation 2,", 1, 30000) &&
	     fake_until(&f, all_acked, 90000);
	snprintf(buf, sizeof(buf), "%s: a new worker after back-off; everything acknowledged, exit 0", fault);
	ktap_check(ok && log_count("restarting in ") >= 1 && f.bad_acks == 0 &&
		   daemon_stop(d, &f) == 0, buf);
	ktap_diag("%s: %llu ms", fault, (unsigned long long)(ms_now() - t0));
	ok = !tpm_counter(tpm->tcti, &c1);
	vo.nv_counter = c1;
	verify_opts = &vo;
	tally(f.total, &t);
	verify_opts = NULL;
	snprintf(buf, sizeof(buf), "%s: the store verifies, every seq once, the refusal a daemon record (event 3, type %u)",
		 fault, type);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && t.refused >= 1 &&
		   t.refused_type == type, buf);
	ktap_diag("%s: counter %llu -> %llu, %llu epochs, %u refusals recorded", fault,
		  (unsigned long long)c0, (unsigned long long)c1,
		  (unsigned long long)t.epochs, t.refused);
	snprintf(buf, sizeof(buf), "%s: the counter moved by one per epoch in the store, no more (--nv-counter %llu)",
		 fault, (unsigned long long)c1);
	ktap_check(ok && c1 >= c0 && c1 - c0 == t.epochs, buf);
	fake_close(&f);
	dump_log_if_failed();
}

/* A flood of epoch starts: 100 in a burst are what the monitor grants,
 * then it kills the worker (rate limit). */
static void test_proto_flood(struct swtpm *tpm)
{
	const char *extra[] = { "--epoch-records", "1000000", NULL };
	struct bfl_verify_opts vo = { .have_nv = true };
	struct tally t;
	struct fake f;
	u64 c0 = 0, c1 = 0, t0, secs;
	pid_t d;
	bool ok;
	int i;

	ktap_diag("monitor protocol: a flood of epoch starts (counter increments)");
	if (getenv("BFD_TEST_FAULTS") && !strstr(getenv("BFD_TEST_FAULTS"), "proto-flood")) {
		for (i = 0; i < PROTO_CHECKS; i++)
			ktap_skip("proto-flood", "not in BFD_TEST_FAULTS");
		return;
	}
	fresh_store();
	ok = !tpm_counter(tpm->tcti, &c0);
	fake_init(&f, 3000);
	f.rate = 1000;
	f.check_durable = true;
	t0 = ms_now();
	d = daemon_start("proto-flood", extra);
	ok = ok && log_until(&f, "refused, killing it", 1, 60000) &&
	     log_until(&f, "killed by signal 9", 1, 10000);
	ktap_check(ok && log_count("sent CERTIFY (type 4): over the rate limit") >= 1 &&
		   log_count("counter increments rate-limited") >= 1,
		   "proto-flood: refused at the rate limit, logged, the worker killed");
	/* the bucket refills one per 10 s: the next worker gets its epoch
	 * start within that (refused and restarted with back-off meanwhile) */
	ok = log_until(&f, "started (generation 2,", 1, 30000) &&
	     fake_until(&f, all_acked, 90000);
	ktap_check(ok && f.bad_acks == 0 && daemon_stop(d, &f) == 0,
		   "proto-flood: a new worker after back-off; everything acknowledged, exit 0");
	secs = (ms_now() - t0) / 1000;
	ok = !tpm_counter(tpm->tcti, &c1);
	vo.nv_counter = c1;
	verify_opts = &vo;
	tally(f.total, &t);
	verify_opts = NULL;
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && t.refused >= 1 &&
		   t.refused_type == 4,
		   "proto-flood: the store verifies, every seq once, the refusal a daemon record (event 3, type 4: CERTIFY)");
	ktap_diag("proto-flood: counter %llu -> %llu in %llu s, %llu epochs, %u refusals recorded",
		  (unsigned long long)c0, (unsigned long long)c1, (unsigned long long)secs,
		  (unsigned long long)t.epochs, t.refused);
	/* the burst, one per 10 s since, and nothing outside an epoch */
	ktap_check(ok && c1 >= c0 && c1 - c0 == t.epochs && c1 - c0 <= 100 + secs / 10 + 1,
		   "proto-flood: the counter moved by one per epoch, at most the burst of 100 plus the refill");
	fake_close(&f);
	dump_log_if_failed();
}

static void test_proto(void)
{
	struct bfl_key root = { 0 };
	struct swtpm tpm = { 0 };
	char save[300];
	const char *miss;
	int i;

	ktap_diag("9. the monitor's permits: requests out of order, unknown, a flood");
	miss = tpm_setup(&tpm, NULL, &root);
	if (miss) {
		for (i = 0; i < 4 * PROTO_CHECKS; i++)
			ktap_skip("monitor protocol", miss);
		bfl_key_free(&root);
		swtpm_destroy(&tpm);
		return;
	}
	snprintf(save, sizeof(save), "%s", store);
	snprintf(store, sizeof(store), "%s/proto-store", tmp);
	verify_key = &root;
	tpm_tcti = tpm.tcti;
	test_proto_one(&tpm, "proto-inc", 3, "COUNTER_INC",
		       "COUNTER_INC with the epoch's real certificate, outside an epoch start");
	test_proto_one(&tpm, "proto-certify-twice", 4, "CERTIFY",
		       "a second CERTIFY at one counter value, before the first's increment");
	test_proto_one(&tpm, "proto-unknown", 99, "an unknown request",
		       "a request type the dispatch table does not list");
	test_proto_flood(&tpm);
	verify_key = NULL;
	tpm_tcti = NULL;
	bfl_key_free(&root);
	swtpm_destroy(&tpm);
	snprintf(store, sizeof(store), "%s", save);
}

/* ----------------------------------------------------- PCR policy -- */

#define PCR_CHECKS	5
#define POLICY_PCR	7

/*
 * The root key bound to PCR 7 (bioflow-provision --pcrs 7): PCR 7
 * extended while the daemon runs (another boot's measurements), then an
 * epoch start (rotation by record count): the daemon fails closed: the
 * log names the PCR policy, nothing more is acknowledged, it exits with
 * status 1, the store verifies.  Started again with PCR 7 still
 * different: refused at once with status 1, nothing acknowledged, the
 * store untouched.
 */
static void test_pcr(void)
{
	const char *extra[] = { "--epoch-records", "2000", NULL };
	struct bfl_key root = { 0 };
	struct swtpm tpm = { 0 };
	struct tally t;
	struct fake f;
	char save[300], pcrs[8];
	const char *miss;
	u64 a, epochs;
	pid_t d;
	int st = 0, i;
	bool ok;

	ktap_diag("10. the root key bound to PCR %d: extended while running, and at start", POLICY_PCR);
	snprintf(pcrs, sizeof(pcrs), "%d", POLICY_PCR);
	miss = tpm_setup(&tpm, pcrs, &root);
	if (miss) {
		for (i = 0; i < PCR_CHECKS; i++)
			ktap_skip("PCR policy", miss);
		bfl_key_free(&root);
		swtpm_destroy(&tpm);
		return;
	}
	snprintf(save, sizeof(save), "%s", store);
	snprintf(store, sizeof(store), "%s/pcr-store", tmp);
	verify_key = &root;
	tpm_tcti = tpm.tcti;
	fresh_store();
	fake_init(&f, 20000);
	f.rate = 3000;
	f.check_durable = true;
	d = daemon_start(NULL, extra);
	ok = acked_at_least(&f, 1000, 60000);
	ok = ok && !pcr_extend(tpm.tcti, POLICY_PCR);
	ok = ok && waited_exit(d, &f, 60000, &st);
	a = f.acked;
	pump(&f, 1000);
	ktap_check(ok && WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
		   log_count("PCR sha256:7 differs") >= 1 &&
		   log_count("the TPM refuses the root key") == 1,
		   "PCR 7 extended, then an epoch start: the daemon stops with status 1, the log names the PCR policy");
	ktap_check(f.acked == a && a < f.total && f.bad_acks == 0,
		   "PCR 7 extended: nothing more acknowledged, every ack covered by a durable checkpoint");
	tally(a, &t);
	epochs = t.epochs;
	ktap_check((t.verdict == BFL_OK || t.verdict == BFL_WARN) && !t.missing && !t.dups,
		   "PCR 7 extended: the store verifies, every acknowledged seq in it");
	ktap_diag("stopped after %llu acknowledged records, %llu epochs", (unsigned long long)a,
		  (unsigned long long)epochs);

	unlink(logpath);
	d = daemon_start(NULL, extra);
	ok = waited_exit(d, &f, 30000, &st);
	ktap_check(ok && WIFEXITED(st) && WEXITSTATUS(st) == 1 && f.acked == a &&
		   log_count("root signer: TPM") == 1 && log_count("PCR sha256:7 differs") == 1 &&
		   log_count("started (generation") == 0,
		   "PCR 7 differs at start: refused with status 1 naming the PCR, no worker, nothing acknowledged");
	tally(a, &t);
	ktap_check((t.verdict == BFL_OK || t.verdict == BFL_WARN) && t.epochs == epochs,
		   "PCR 7 differs at start: the store is untouched (no epoch begun)");
	fake_close(&f);
	dump_log_if_failed();
	verify_key = NULL;
	tpm_tcti = NULL;
	bfl_key_free(&root);
	swtpm_destroy(&tpm);
	snprintf(store, sizeof(store), "%s", save);
}

/* --origin with a Unicode space (U+00A0, U+3000) or '+': refused at
 * the command line (exit 2) with a message naming the character, before
 * anything is started (signed-note key names have none). */
/* ------------------------------------------------ forwarder's lag -- */

static char fwd_status[300];

/* The status file as bioflow-forward replaces it (state.c). */
static void put_status(u64 lag_records, const char *lag_seconds)
{
	char tmpf[320], buf[512];
	int fd, n;

	n = snprintf(buf, sizeof(buf),
		     "sealed 100000\nsent 99000\nwitnessed 95000\nwitness-holds 95000\n"
		     "lag-records %llu\nlag-seconds %s\n"
		     "collector 127.0.0.1:2514 disconnected\n"
		     "last-error RELP: connection refused\nlast-error-age-seconds 3\n"
		     "store-note -\n", (unsigned long long)lag_records, lag_seconds);
	snprintf(tmpf, sizeof(tmpf), "%s.tmp", fwd_status);
	fd = open(tmpf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		ktap_diag("writing %s: %s", tmpf, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rename(tmpf, fwd_status))
		ktap_diag("rename %s: %s", tmpf, strerror(errno));
}

/* Replaces the status file with something hostile. */
static void put_hostile(const char *kind)
{
	char other[320];
	int fd;

	unlink(fwd_status);
	if (!strcmp(kind, "garbage")) {
		u8 junk[600];
		unsigned int i;

		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (u8)rand();
		fd = open(fwd_status, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0 && write(fd, junk, sizeof(junk)) < 0)
			ktap_diag("garbage: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(kind, "huge")) {
		/* a valid status, then 1 MiB more of it */
		static char big[1 << 20];
		size_t i;

		for (i = 0; i + 16 <= sizeof(big); i += 16)
			memcpy(big + i, "lag-records 1\n\n\n", 16);
		fd = open(fwd_status, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0 && write(fd, big, sizeof(big)) < 0)
			ktap_diag("huge: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(kind, "fifo")) {
		if (mkfifo(fwd_status, 0644))
			ktap_diag("mkfifo: %s", strerror(errno));
	} else if (!strcmp(kind, "symlink")) {
		/* a good status elsewhere, reached through a link */
		snprintf(other, sizeof(other), "%s/elsewhere", tmp);
		put_status(0, "0.0");
		rename(fwd_status, other);
		if (symlink(other, fwd_status))
			ktap_diag("symlink: %s", strerror(errno));
	}
}

static void test_forward(void)
{
	const char *extra[] = { "--forward-status", fwd_status,
				"--forward-lag-records", "1000",
				"--forward-lag-seconds", "60",
				"--forward-silent-seconds", "3",
				"--forward-check-ms", "100", NULL };
	static const char *const hostile[] = { "garbage", "huge", "fifo", "symlink" };
	static const u64 hover[] = { 900, 1100, 600, 1500, 1001, 999 };
	const char *behind = "forwarding behind:", *within = "within its bounds again";
	const char *silent = "forwarder silent:";
	struct fake f;
	struct tally t;
	pid_t d, w = 0, w2 = 0;
	unsigned int i;
	bool ok;

	ktap_diag("11. the forwarder's lag as records in the log");
	fresh_store();
	snprintf(fwd_status, sizeof(fwd_status), "%s/forward-status", tmp);
	put_status(10, "0.0");
	fake_init(&f, 20000);
	f.rate = 800;
	d = daemon_start(NULL, extra);
	ok = wait_worker(d, 0, &f, &w);
	pump(&f, 800);
	ktap_check(ok && log_count(behind) == 0 && log_count(silent) == 0,
		   "forwarder within its bounds: no record");

	put_status(5000, "12.5");
	ktap_check(log_until(&f, behind, 1, 5000), "lag past the bound: logged");
	for (i = 0; i < 24; i++) {
		put_status(hover[i % 6], "1.0");
		pump(&f, 120);
	}
	put_status(800, "40.0");	/* under the bound, over half of it */
	pump(&f, 400);
	ktap_check(log_count(behind) == 1 && log_count(within) == 0,
		   "lag hovering at the bound: no further record");
	put_status(100, "2.0");
	ktap_check(log_until(&f, within, 1, 5000) && log_count(behind) == 1,
		   "lag back under half the bound: one record");
	/* the forwarder stops replacing its status (hung, or dead) */
	pump(&f, 2000);
	ktap_check(log_count(silent) == 0, "status 2 s old: not silent yet");
	ktap_check(log_until(&f, silent, 1, 4000),
		   "status not replaced for --forward-silent-seconds: forwarder silent");
	put_status(0, "0.0");
	ktap_check(log_until(&f, within, 2, 5000), "replaced again: one record");

	for (i = 0; i < 4; i++) {
		put_hostile(hostile[i]);
		pump(&f, 300);
	}
	ktap_check(log_count(silent) == 1 && waitpid(d, NULL, WNOHANG) == 0 &&
		   worker_of(d) == w,
		   "garbage, 1 MiB, a FIFO, a symbolic link: no crash, no restart, not silent yet");
	unlink(fwd_status);
	ktap_check(log_until(&f, silent, 2, 5000),
		   "no usable status for --forward-silent-seconds: forwarder silent");
	pump(&f, 1000);
	ktap_check(log_count(silent) == 2, "still silent: no further record");
	put_status(0, "0.0");
	ktap_check(log_until(&f, within, 3, 5000), "status back, within bounds: one record");

	/* a forwarder flapping on purpose: 6 records used, 2 left in the bucket */
	for (i = 0; i < 24; i++) {
		put_status(i % 2 ? 0 : 50000, "0.0");
		pump(&f, 150);
	}
	ok = fake_until(&f, all_acked, 60000);
	w2 = worker_of(d);
	ktap_check(ok && w2 == w, "all records acknowledged, the same worker throughout");
	ktap_check(daemon_stop(d, &f) == 0, "SIGTERM: exit status 0");
	tally(f.total, &t);
	ktap_check(t.verdict == BFL_OK && !t.missing && !t.dups && t.deaths == 0,
		   "verifier OK, every kernel seq once");
	ktap_check(t.fwd[0] >= 1 && t.fwd_detail[0][1] == 5000 && t.fwd_detail[0][2] == 12 &&
		   t.fwd_detail[0][3] == 2 && t.fwd_detail[1][1] == 100 &&
		   t.fwd[2] == 2 && t.fwd_detail[2][2] == 1 && t.fwd_detail[2][1] >= 3,
		   "sealed: behind (5000 records, 12 s, disconnected, an error), within (100), silent (not replaced, >= 3 s)");
	ktap_check(t.fwd[0] + t.fwd[1] + t.fwd[2] == 8 && !t.daemon_dups,
		   "flapping: 8 forwarder records in all (the bucket), none twice");
	{
		/* what bioflow-verify and bioctl audit show print */
		struct bfl_record r = { .type = BIOREADER_AUDIT_DAEMON };
		char txt[160], txt2[160];

		memcpy(r.detail, t.fwd_detail[0], sizeof(r.detail));
		bfl_daemon_event_text(&r, txt, sizeof(txt));
		memcpy(r.detail, t.fwd_detail[2], sizeof(r.detail));
		r.detail[1] = 3;
		bfl_daemon_event_text(&r, txt2, sizeof(txt2));
		ktap_check(!strcmp(txt, "forwarding behind: 5000 records, 12 s behind, collector disconnected, forwarder error") &&
			   !strcmp(txt2, "forwarder silent for 3 s (status not replaced)"),
			   "the records in words");
		if (strcmp(txt, "forwarding behind: 5000 records, 12 s behind, collector disconnected, forwarder error"))
			ktap_diag("%s", txt);
		if (strcmp(txt2, "forwarder silent for 3 s (status not replaced)"))
			ktap_diag("%s", txt2);
	}
	{
		/* bioctl audit status --forward: the lag lines, even without
		 * the driver loaded (build/tests/bioflowd-hooks -> build/bioctl) */
		char cmd[4600], out[2048] = "", *slash;
		size_t n = 0;
		FILE *p;

		put_status(1234, "5.5");
		snprintf(cmd, sizeof(cmd), "%s", daemon_bin);
		slash = strrchr(cmd, '/');
		if (slash)
			*slash = 0;
		n = strlen(cmd);
		snprintf(cmd + n, sizeof(cmd) - n, "/../bioctl audit status --forward '%s' 2>/dev/null",
			 fwd_status);
		p = popen(cmd, "r");
		n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
		out[n] = 0;
		if (p)
			pclose(p);
		ktap_check(strstr(out, "forward-lag-records  1234\n") &&
			   strstr(out, "forward-lag-seconds  5.5\n") &&
			   strstr(out, "forward-collector    127.0.0.1:2514 disconnected\n"),
			   "bioctl audit status --forward prints the forwarder's lag");
	}
	{
		/* A stop right after a lag record is queued: the worker
		 * fetches once more before it ends (otherwise the record
		 * would wait for the next start: lost if there is none). */
		unsigned int before = log_count(behind), n0 = t.fwd[0];
		unsigned int runs = log_count("running:");

		put_status(10, "0.0");
		d = daemon_start(NULL, extra);
		ok = wait_worker(d, 0, &f, &w) && log_until(&f, "running:", runs + 1, 10000);
		pump(&f, 300);
		put_status(9000, "0.0");
		ok = ok && log_until(&f, behind, before + 1, 5000);
		ktap_check(ok && daemon_stop(d, &f) == 0, "lag record queued, then SIGTERM: exit status 0");
		tally(f.total, &t);
		ktap_check(t.verdict == BFL_OK && t.fwd[0] == n0 + 1,
			   "the record queued just before the stop is sealed");
	}
	fake_close(&f);
	dump_log_if_failed();
}

static void usage_origin(void)
{
	static const char *const bad[] = {
		"bioflow.example/kiosk\xc2\xa0" "7", "bioflow.example/kiosk\xe3\x80\x80" "7",
		"bioflow.example/kiosk+7",
	};
	static const char *const why[] = { "U+00A0", "U+3000", "'+'" };
	unsigned int i;
	bool ok = true;

	for (i = 0; i < 3; i++) {
		const char *argv[] = { daemon_bin, "--root-key", "/nonexistent.pem",
				       "--origin", bad[i], NULL };
		char out[512] = "";
		int p[2], st = 0;
		ssize_t n;
		pid_t pid;

		if (pipe(p))
			return (void)ktap_check(0, "--origin with a Unicode space or '+': exit status 2");
		pid = fork();
		if (pid == 0) {
			dup2(p[1], 2);
			close(p[0]);
			execv(daemon_bin, (char *const *)argv);
			_exit(127);
		}
		close(p[1]);
		n = read(p[0], out, sizeof(out) - 1);
		out[n > 0 ? n : 0] = 0;
		close(p[0]);
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 2 || !strstr(out, "--origin") ||
		    !strstr(out, why[i])) {
			ktap_diag("--origin %s: status %d, \"%s\"", why[i], st, out);
			ok = false;
		}
	}
	ktap_check(ok, "--origin with a Unicode space or '+': exit status 2, the character named");
}

static void test_usage(void)
{
	const char *argv[] = { daemon_bin, "--bogus", NULL };
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 2);
		execv(daemon_bin, (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	ktap_check(WIFEXITED(st) && WEXITSTATUS(st) == 2, "unknown option: exit status 2");
	usage_origin();
}

static void test_foreign_store(void)
{
	struct bfl_root_signer *other;
	struct bfl_err e;
	char okey[400];
	const char *extra[] = { NULL };
	struct fake f;
	pid_t d;
	int st;

	/* The store of test 6 exists; a daemon with another root key must
	 * refuse to continue it (exit 4), not restart the worker forever. */
	snprintf(okey, sizeof(okey), "%s/other.pem", tmp);
	other = bfl_soft_root_new(NULL, NULL, &e);
	if (!other || bfl_soft_root_save_key(other, okey, &e)) {
		ktap_check(0, "foreign root key: refused (exit 4)");
		return;
	}
	bfl_root_signer_free(other);
	fake_init(&f, 10);
	{
		char save[400];

		snprintf(save, sizeof(save), "%s", keypath);
		snprintf(keypath, sizeof(keypath), "%s", okey);
		d = daemon_start(NULL, extra);
		snprintf(keypath, sizeof(keypath), "%s", save);
	}
	{
		u64 end = ms_now() + 20000;
		pid_t r = 0;

		while (ms_now() < end && (r = waitpid(d, &st, WNOHANG)) == 0)
			fake_step(&f, 10);
		if (r != d) {
			kill(d, SIGKILL);
			waitpid(d, &st, 0);
			st = -1;
		}
	}
	ktap_check(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 4 && f.acked == 0,
		   "foreign root key: store refused (exit 4), nothing acknowledged");
	fake_close(&f);
	dump_log_if_failed();
}

int main(int argc, char **argv)
{
	struct bfl_err e;
	char cmd[300];

	(void)argc;
	srand((unsigned int)getpid());
	only = getenv("BFD_TEST_ONLY");
	if (!only)
		ktap_plan(NTESTS);
	if (geteuid() != 0) {
		skip_all("needs root");
		return ktap_finish();
	}
	if (!find_daemon(argv[0])) {
		skip_all("build/tests/bioflowd-hooks not built");
		return ktap_finish();
	}
	snprintf(tmp, sizeof(tmp), "%s/bfd-test-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(tmp))
		return 1;
	snprintf(store, sizeof(store), "%s/store", tmp);
	snprintf(sockpath, sizeof(sockpath), "%s/audit.sock", tmp);
	snprintf(keypath, sizeof(keypath), "%s/root.pem", tmp);
	snprintf(logpath, sizeof(logpath), "%s/bioflowd.log", tmp);
	rs = bfl_soft_root_new(NULL, NULL, &e);
	if (!rs || bfl_soft_root_save_key(rs, keypath, &e)) {
		ktap_diag("root key: %s", e.msg);
		return 1;
	}
	ktap_diag("daemon: %s", daemon_bin);

	if (only) {
		/* BFD_TEST_ONLY=proto,pcr,...: just those parts (plan at
		 * the end) */
		ktap_planned = 0;
		printf("KTAP version 1\n");
	}
	if (want("usage")) {
		KTAP_CASE("usage")
			test_usage();
	}
	if (want("flow")) {
		KTAP_CASE("flow")
			test_flow();
	}
	if (want("sandbox")) {
		KTAP_CASE("forbidden syscall")
			test_forbidden_syscall();
		KTAP_CASE("io_uring escape: uring-setup")
			test_uring_escape("uring-setup", "io_uring_setup");
		KTAP_CASE("io_uring escape: uring-register")
			test_uring_escape("uring-register", "io_uring_register");
		KTAP_CASE("uring restrictions")
			test_uring_restrictions();
	}
	if (want("kill9")) {
		KTAP_CASE("kill9")
			test_kill9();
	}
	if (want("full")) {
		KTAP_CASE("disk full")
			test_disk_full();
	}
	if (want("tpm")) {
		KTAP_CASE("tpm")
			test_tpm();
	}
	if (want("foreign")) {
		KTAP_CASE("foreign store")
			test_foreign_store();
	}
	if (want("proto")) {
		KTAP_CASE("monitor permits")
			test_proto();
	}
	if (want("pcr")) {
		KTAP_CASE("PCR policy")
			test_pcr();
	}
	if (want("forward")) {
		KTAP_CASE("forwarder's lag")
			test_forward();
	}
	if (only) {
		printf("1..%d\n", ktap_num);
		ktap_planned = ktap_num;
	}


	if (!ktap_failed) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd))
			ktap_diag("cannot remove %s", tmp);
	} else {
		ktap_diag("daemon log and store kept in %s", tmp);
	}
	bfl_root_signer_free(rs);
	return ktap_finish();
}
