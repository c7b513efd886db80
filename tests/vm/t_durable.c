// SPDX-License-Identifier: GPL-2.0-only
/*
 * A verdict is released only after its record is durable
 * (docs/audit-records.md, "Fail closed"; docs/threat-model.md).
 *
 * First with this program as the audit consumer, so that it decides
 * exactly when a record counts as durable: a consumer that has read the
 * VERDICT record but not acknowledged it gets no verdict to the caller
 * (WAIT -> ENOLINK, poll() silent), nor with an acknowledgement one
 * short of it; the acknowledgement of its seq wakes a blocked WAIT; a
 * verdict whose record was acknowledged is released even after the
 * consumer has gone (durability decides, not attachment).
 *
 * Then with bioflowd and the TPM, group commit stretched so that the
 * worker holds the record read but unsealed for seconds: the worker
 * stopped (SIGSTOP) there -> no verdict; killed (SIGKILL) there -> the
 * record is delivered again to the next worker, sealed, and only then
 * is the verdict released; the store verifies and holds that VERDICT
 * record exactly once, with the verdict's audit_seq.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "lib/brvm_test.h"
#include "lib/brvm_flow.h"

#define GENUINE		42
#define DIR		"/tmp/t_durable"
#define PUBKEY		DIR "/root.pub.pem"
#define STORE		DIR "/store"
#define DAEMON_LOG	DIR "/bioflowd.log"
/* Group commit at most this long after the first pending record. */
#define COMMIT_MS	8000
#define NCHECKS		15

typedef struct bioreader_audit_record rec_t;

/* ---- this program as the consumer ---- */

/* Read every unread record; the highest seq read (0: none), and the
 * seq of @sid's VERDICT record in *@vseq if it came by.  Records are 160
 * or 232 bytes (SESSION_START), packed: step by each one's size. */
static uint64_t consume(int afd, uint64_t sid, uint64_t *vseq)
{
	static uint8_t buf[64 * sizeof(rec_t)];
	uint64_t last = 0;
	ssize_t n, off;

	while ((n = read(afd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + (ssize_t)sizeof(rec_t) <= n;) {
			rec_t r;
			uint64_t seq;

			memcpy(&r, buf + off, sizeof(r));
			seq = le64toh(r.seq);
			last = seq;
			if (vseq && le32toh(r.type) == BIOREADER_AUDIT_VERDICT &&
			    le64toh(r.session_id) == sid)
				*vseq = seq;
			if (le16toh(r.size) < sizeof(r))
				break;
			off += le16toh(r.size);
		}
	}
	return last;
}

static int ack(int afd, uint64_t seq)
{
	return ioctl(afd, BIOREADER_AUDIT_IOC_ACK, &seq);
}

/*
 * Wait until the session's verdict is ready but held: WAIT with timeout
 * 0 says ENOLINK (EAGAIN while the session runs).  0, or -1 on another
 * answer or after @ms.
 */
static int wait_held(int fd, int ms)
{
	struct bioreader_verdict v;
	long long end = brvm_now_ms() + ms;

	while (brvm_now_ms() < end) {
		if (brvm_wait(fd, 0, &v) == 0) {
			brvm_diag_verdict("released early", &v);
			return -1;
		}
		if (errno == ENOLINK)
			return 0;
		if (errno != EAGAIN) {
			ktap_diag("WAIT(0): %s", strerror(errno));
			return -1;
		}
		brvm_sleep_ms(10);
	}
	ktap_diag("the session did not end within %d ms", ms);
	return -1;
}

static int poll_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

struct waiter {
	int fd;
	uint32_t timeout_ms;
	int ret, err;
	long long acked_at_return;	/* sysfs acked right after WAIT returned */
	struct bioreader_verdict v;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;

	w->ret = brvm_wait(w->fd, w->timeout_ms, &w->v);
	w->err = errno;
	w->acked_at_return = brvm_audit_attr("acked");
	return NULL;
}

static void consumer_part(struct brvm_sim *sim, int fd)
{
	struct bioreader_verdict v;
	struct waiter w = { .fd = fd, .timeout_ms = 20000 };
	pthread_t th;
	uint64_t sid = 0, vseq = 0, last;
	long long t0, ms;
	int afd, ok;

	afd = open(BRVM_AUDIT_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (afd < 0) {
		ktap_diag("open %s: %s", BRVM_AUDIT_DEV, strerror(errno));
		for (ok = 0; ok < 6; ok++)
			ktap_check(0, "this program as the audit consumer");
		return;
	}
	last = consume(afd, 0, NULL);
	if (last)
		ack(afd, last);

	/* 1: read, not acknowledged */
	brvm_sim_person(sim, GENUINE);
	ok = brvm_start_id(fd, GENUINE, 5000, &sid) == 0 &&
	     wait_held(fd, 20000) == 0;
	consume(afd, sid, &vseq);
	ok = ok && vseq && brvm_audit_attr("delivered") >= (long long)vseq &&
	     brvm_audit_attr("acked") < (long long)vseq;
	t0 = brvm_now_ms();
	ok = ok && brvm_wait(fd, 1000, &v) == -1 && errno == ENOLINK;
	ms = brvm_now_ms() - t0;
	ok = ok && ms >= 900 && !poll_in(fd);
	ktap_check(ok, "VERDICT record read, not acknowledged: WAIT -> ENOLINK at its timeout, poll() silent");

	/* 2: acknowledged up to the record before it */
	ok = vseq && ack(afd, vseq - 1) == 0 &&
	     brvm_wait(fd, 300, &v) == -1 && errno == ENOLINK && !poll_in(fd);
	ktap_check(ok, "acknowledged up to seq - 1: still held");

	/* 3: the acknowledgement of its seq wakes a blocked WAIT */
	ok = !pthread_create(&th, NULL, waiter_fn, &w);
	brvm_sleep_ms(300);
	ok = ok && ack(afd, vseq) == 0;
	if (ok)
		pthread_join(th, NULL);
	ok = ok && w.ret == 0 && w.v.session_id == sid &&
	     w.v.audit_seq == vseq && w.acked_at_return >= (long long)vseq;
	if (!ok)
		ktap_diag("WAIT: %s, audit_seq %llu (record %llu)",
			  w.ret ? strerror(w.err) : "verdict",
			  (unsigned long long)w.v.audit_seq,
			  (unsigned long long)vseq);
	ktap_check(ok, "ACK of its seq: the blocked WAIT gets the verdict, audit_seq = that seq");

	/* 4: poll() reports a verdict only once its record is durable */
	vseq = 0;
	ok = brvm_start_id(fd, GENUINE, 5000, &sid) == 0 &&
	     wait_held(fd, 20000) == 0;
	consume(afd, sid, &vseq);
	ok = ok && vseq && !poll_in(fd) && ack(afd, vseq) == 0 && poll_in(fd) &&
	     brvm_wait(fd, 0, &v) == 0 && v.audit_seq == vseq;
	ktap_check(ok, "poll(): no POLLIN while held, POLLIN after the ACK");

	/* 5: durability, not attachment, decides */
	vseq = 0;
	ok = brvm_start_id(fd, GENUINE, 5000, &sid) == 0 &&
	     wait_held(fd, 20000) == 0;
	consume(afd, sid, &vseq);
	ok = ok && vseq && ack(afd, vseq) == 0;
	close(afd);
	ok = ok && brvm_audit_attr("consumer") == 0 &&
	     brvm_wait(fd, 2000, &v) == 0 && v.audit_seq == vseq;
	ktap_check(ok, "acknowledged, then the consumer closed: the verdict is released");

	/* 6: read, consumer closed without acknowledging: held until the next one does */
	afd = open(BRVM_AUDIT_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	vseq = 0;
	ok = afd >= 0 && brvm_start_id(fd, GENUINE, 5000, &sid) == 0 &&
	     wait_held(fd, 20000) == 0;
	if (afd >= 0) {
		consume(afd, sid, &vseq);
		close(afd);
	}
	ok = ok && vseq && brvm_wait(fd, 500, &v) == -1 && errno == ENOLINK;
	ok = ok && brvm_drain_start() == 0 && brvm_wait(fd, 10000, &v) == 0 &&
	     v.session_id == sid && v.audit_seq == vseq &&
	     brvm_audit_attr("acked") >= (long long)vseq;
	ktap_check(ok, "read, consumer gone without ACK: held; the next consumer's ACK releases it");
	brvm_drain_stop();
}

/* ---- bioflowd ---- */

/* Wait until nothing read is unacknowledged: the worker is idle. */
static int flow_idle(int ms)
{
	long long end = brvm_now_ms() + ms;

	while (brvm_now_ms() < end) {
		if (brvm_audit_attr("acked") == brvm_audit_attr("next_seq") - 1)
			return 0;
		brvm_sleep_ms(20);
	}
	return -1;
}

/*
 * Run a session until its VERDICT record (seq in *@vseq) has been read
 * by bioflowd's worker and is not yet acknowledged, then stop the
 * worker there.  The worker's pid, or 0.
 */
static pid_t stop_worker_after_read(struct brvm_flow *f, int fd, uint64_t *vseq)
{
	long long end;
	uint64_t sid;
	pid_t w;

	if (flow_idle(2 * COMMIT_MS + 5000)) {
		ktap_diag("bioflowd did not become idle");
		return 0;
	}
	if (brvm_start_id(fd, GENUINE, 5000, &sid) || wait_held(fd, COMMIT_MS - 1000))
		return 0;
	/* The session's last record is its VERDICT (nothing else runs). */
	*vseq = (uint64_t)brvm_audit_attr("next_seq") - 1;
	end = brvm_now_ms() + COMMIT_MS;
	while (brvm_audit_attr("delivered") < (long long)*vseq && brvm_now_ms() < end)
		brvm_sleep_ms(5);
	w = brvm_flow_worker(f);
	if (!w || kill(w, SIGSTOP))
		return 0;
	if (brvm_audit_attr("delivered") < (long long)*vseq ||
	    brvm_audit_attr("acked") >= (long long)*vseq) {
		ktap_diag("worker stopped outside the window: delivered %lld acked %lld, record %llu",
			  brvm_audit_attr("delivered"), brvm_audit_attr("acked"),
			  (unsigned long long)*vseq);
		kill(w, SIGCONT);
		return 0;
	}
	return w;
}

static void daemon_part(int fd)
{
	struct brvm_flow f = { 0 };
	struct bioreader_verdict v;
	struct waiter wt = { .fd = fd, .timeout_ms = 4 * COMMIT_MS };
	char opts[64];
	pthread_t th;
	uint64_t vseq = 0;
	pid_t w = 0, w2;
	long long t0, ms;
	int r, ok, tries;

	brvm_sh("rm -rf %s && mkdir -p %s", DIR, DIR);
	snprintf(opts, sizeof(opts), "--commit-latency-ms %d", COMMIT_MS);
	r = brvm_flow_provision(PUBKEY) ? -1 : brvm_flow_start(&f, STORE, DAEMON_LOG, opts);
	if (!brvm_ok(r, "bioflowd --tpm attached, group commit stretched")) {
		for (r = 0; r < 6; r++)
			ktap_check(0, "bioflowd");
		return;
	}

	/* 8-9: stopped after reading, before acknowledging */
	for (tries = 0; !w && tries < 3; tries++)
		w = stop_worker_after_read(&f, fd, &vseq);
	ktap_check(w != 0, "worker stopped (SIGSTOP) with the VERDICT record read, not sealed");
	t0 = brvm_now_ms();
	ok = w && brvm_wait(fd, 2000, &v) == -1 && errno == ENOLINK;
	ms = brvm_now_ms() - t0;
	ok = ok && ms >= 1800 && !poll_in(fd) &&
	     brvm_audit_attr("acked") < (long long)vseq;
	ktap_check(ok, "daemon stopped before its commit: WAIT -> ENOLINK, no verdict");

	/* 10-13: killed there: delivered again, sealed, then released */
	ok = w && !pthread_create(&th, NULL, waiter_fn, &wt);
	brvm_sleep_ms(200);
	ok = ok && kill(w, SIGKILL) == 0;
	w2 = ok ? brvm_flow_wait_worker(&f, w, 10000) : 0;
	ktap_check(w2 != 0, "worker killed (SIGKILL): a new worker took over");
	if (ok)
		pthread_join(th, NULL);
	ok = ok && wt.ret == 0 && wt.v.audit_seq == vseq &&
	     wt.acked_at_return >= (long long)vseq;
	if (!ok)
		ktap_diag("WAIT: %s, audit_seq %llu (record %llu), acked %lld",
			  wt.ret ? strerror(wt.err) : "verdict",
			  (unsigned long long)wt.v.audit_seq, (unsigned long long)vseq,
			  wt.acked_at_return);
	ktap_check(ok, "the verdict is released only once the new worker acknowledged its record");
	r = brvm_flow_stop(&f);
	ktap_check(r == 0, "bioflowd stopped by SIGTERM with status 0");
	ktap_check(brvm_flow_verify(PUBKEY, STORE) == 0 &&
		   brvm_flow_verdict_in_store(STORE, wt.v.session_id, vseq),
		   "the store verifies and holds that VERDICT record once, seq = audit_seq");
	if (w && !w2)
		kill(w, SIGKILL);
}

int main(void)
{
	struct brvm_sim sim;
	int fd;

	ktap_plan(NCHECKS);
	if (geteuid() != 0)
		return brvm_bail("needs root");
	if (brvm_setup())
		return brvm_bail("modules");
	if (!brvm_ok(brvm_drain_stop(), "the suite's drain stopped"))
		return brvm_bail("drain");
	if (brvm_sim_create(&sim, "durable", 0, 0, 0) || (fd = brvm_open(&sim)) < 0) {
		brvm_drain_start();
		return brvm_bail("simulated reader");
	}
	/* Each part waits on group commits of up to COMMIT_MS. */
	ktap_case_timeout_s = 100;
	KTAP_CASE("this program as the consumer")
		consumer_part(&sim, fd);
	if (access(BRVM_TPM_DEV, F_OK)) {
		while (ktap_num < ktap_planned - 1)
			ktap_skip("bioflowd", "no TPM (" BRVM_TPM_DEV ")");
	} else {
		KTAP_CASE("bioflowd, stopped and killed between read and commit")
			daemon_part(fd);
	}
	close(fd);
	brvm_sim_destroy(&sim);
	brvm_ok(brvm_drain_start(), "the suite's drain restarted");
	return ktap_finish();
}
