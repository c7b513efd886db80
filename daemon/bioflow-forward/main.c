// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-forward: follows the sealed store, sends every item in store
 * order to the collector over RELP/TLS, and has the checkpoints it sent
 * cosigned by the witness, whose latest checkpoint is the durable
 * position (docs/forwarding.md).
 *
 * One thread, one loop:
 *   - every --poll-ms, the reader reads what bioflowd sealed since;
 *   - while connected, the stream's next items go out;
 *   - at most every --witness-ms (every FWD_BACKLOG_WITNESS_S while
 *     passes of the loop keep finding more to send), the latest
 *     checkpoint sent beyond the witnessed size goes to the witness; its
 *     answer comes after the collector's ingest and fsync, tens of ms,
 *     and is read when it is there (witness_answer, the loop polling
 *     its socket), the sending going on meanwhile: 200 stores the cosignature
 *     and moves the durable position, 409 restarts the stream at the
 *     witness's size, 503 (the collector has not ingested it yet) and
 *     anything else are retried with back-off; 503s for longer than
 *     --resend-after-ms while the witnessed position stays mean the
 *     collector lost records RELP acknowledged: the stream restarts at
 *     the witnessed position (resend_check);
 *   - every second, STATE/status.
 * At start, and after every connection or store error, the stream
 * starts again at the witnessed position, and the witness is asked for
 * its size (an add-checkpoint of the latest sealed checkpoint with the
 * forwarder's own "old": a 409 tells the witness's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <openssl/ssl.h>

#include "fwd.h"
#include "lag.h"

int fwd_verbose;

/* While a backlog is sent, at most one witness request per this. */
#define FWD_BACKLOG_WITNESS_S	1.0

static void vlog(const char *fmt, va_list ap)
{
	char buf[1024];
	int n, k;

	n = snprintf(buf, sizeof(buf), FWD_NAME "[%d]: ", (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	k = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (k < 0)
		return;
	n += k;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

void fwd_log(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	errno = saved;
}

void fwd_debug(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!fwd_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	errno = saved;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct fwd {
	const struct fwd_config *c;
	struct bfl_reader *rd;
	struct fwd_relp *relp;
	struct fwd_https *https;
	struct fwd_witness_key *wkey;
	struct fwd_state st;
	const char *origin;

	bool streaming;		/* the stream is positioned (seeked) */
	u64 sent;		/* records sent in this stream */
	u64 old;		/* the size the witness holds, as far as known */
	bool probe;		/* ask the witness for its size */
	/* the latest checkpoint sent */
	char *cp;
	size_t cp_len;
	u64 cp_size, cp_epoch;
	bool have_cp;

	double next_poll, next_connect, next_witness, next_status;
	double last_witness;	/* when the last add-checkpoint was made */
	double connect_backoff, witness_backoff, notyet_backoff;
	struct fwd_lag lag;	/* when each sealed size was first seen */
	/* The first 503 since the witnessed position last moved (0: none),
	 * the wait before a resend (doubled by each), resends made, the
	 * longest run of 503s that a 200 ended (the normal ingest delay). */
	double notyet_since, resend_wait, notyet_longest;
	bool notyet_resent;	/* this run of 503s made a resend */
	u64 resends;

	/* The add-checkpoint in flight (its answer read from the loop,
	 * not waited for): a copy of its checkpoint, which send_some may
	 * replace meanwhile. */
	bool w_pending, w_probe;
	char *w_note;
	size_t w_note_len;
	u64 w_size, w_epoch;

	char err[512];		/* the last error, for status */
	double err_time;
	char cosig[FWD_HTTP_BODY_MAX + 1];
	struct fwd_http_resp resp;
};

static void set_error(struct fwd *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_error(struct fwd *f, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	for (p = f->err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	f->err_time = now_s();
	fwd_log("%s", f->err);
}

/*
 * The first wait after a 503 (the collector has not ingested the
 * checkpoint's records yet): --witness-ms, from 50 to 250 ms.  It is
 * usually a matter of rsyslog's next write; a longer first wait is what
 * the sealed -> cosigned latency's tail would be made of.
 */
static double notyet_first(const struct fwd_config *c)
{
	unsigned int ms = c->witness_ms < 50 ? 50 : c->witness_ms > 250 ? 250 : c->witness_ms;

	return ms / 1000.0;
}

/* Starts the stream again at the witnessed position. */
static int restart_stream(struct fwd *f, u64 from)
{
	struct bfl_err e;

	f->streaming = false;
	if (from > bfl_reader_sealed(f->rd)) {
		set_error(f, "the witness holds %llu records, the store only %llu sealed: "
			  "the store was rolled back or another appliance uses its origin; "
			  "nothing is sent until it has them",
			  (unsigned long long)from, (unsigned long long)bfl_reader_sealed(f->rd));
		return -1;
	}
	if (bfl_reader_seek(f->rd, from, &e)) {
		set_error(f, "store: %s", e.msg);
		return -1;
	}
	fwd_debug("stream from leaf %llu", (unsigned long long)from);
	f->streaming = true;
	f->sent = from;
	if (f->have_cp && f->cp_size < from)
		f->have_cp = false;
	return 0;
}

/* The witness's answer moved or confirmed its position: no resend due. */
static void notyet_over(struct fwd *f, double now, bool cosigned)
{
	if (cosigned && f->notyet_since && !f->notyet_resent &&
	    now - f->notyet_since > f->notyet_longest)
		f->notyet_longest = now - f->notyet_since;
	f->notyet_since = 0;
	f->notyet_resent = false;
	f->resend_wait = f->c->resend_after_ms / 1000.0;
}

/*
 * A 503: the collector does not hold the checkpoint's records yet.  Its
 * ingest follows rsyslog's writes within a fraction of a second; 503s
 * for longer than the wait with the witnessed position still mean that
 * records RELP acknowledged never reached the copy (rsyslog's queue lost
 * in a crash, a back-end consumer that died between its offset commit
 * and the spool), and nothing but a resend brings them: the stream
 * starts again at the witnessed position, the collector drops what it
 * holds twice by (origin, leaf index).  The wait doubles with each
 * resend until a cosignature, so that a collector that never ingests is
 * not sent the same records in a loop.
 */
static void resend_check(struct fwd *f, double now)
{
	double next = f->resend_wait * 2 > FWD_RESEND_MAX_S ? FWD_RESEND_MAX_S :
		      f->resend_wait * 2;

	if (!f->notyet_since) {
		f->notyet_since = now;
		return;
	}
	if (now - f->notyet_since < f->resend_wait)
		return;
	f->resends++;
	set_error(f, "the witness has answered 503 (not ingested) for %.1f s at %llu records: "
		  "the collector lost records; resending from %llu (resend %llu, the next "
		  "after %.0f s)", now - f->notyet_since, (unsigned long long)f->old,
		  (unsigned long long)f->old, (unsigned long long)f->resends, next);
	f->resend_wait = next;
	f->notyet_since = now;
	f->notyet_resent = true;
	f->notyet_backoff = notyet_first(f->c);
	if (!fwd_relp_connected(f->relp) || restart_stream(f, f->old))
		f->streaming = false;
}

/* Sends the records batched so far: after every pass of send_some, so
 * that nothing sealed waits for more records to fill a batch. */
static void flush(struct fwd *f)
{
	char err[600];

	if (fwd_relp_connected(f->relp) && fwd_relp_flush(f->relp, err, sizeof(err))) {
		set_error(f, "%s", err);
		f->streaming = false;
		f->next_connect = now_s() + f->connect_backoff;
	}
}

static void send_some(struct fwd *f)
{
	struct bfl_rd_item it;
	struct bfl_err e;
	char err[600];
	unsigned int i;

	if (!f->streaming && restart_stream(f, f->old)) {
		fwd_relp_close(f->relp);
		f->next_connect = now_s() + 30;
		return;
	}
	for (i = 0; i < 4096 && !stop; i++) {
		int k = bfl_reader_next(f->rd, &it, &e);

		if (k == 0)
			break;
		if (k < 0) {
			/* The records before the damage are good: sent. */
			flush(f);
			set_error(f, "store: %s", e.msg);
			f->streaming = false;
			f->next_poll = now_s() + 5;
			return;
		}
		if (fwd_relp_send(f->relp, f->origin, &it, err, sizeof(err))) {
			set_error(f, "%s", err);
			f->streaming = false;
			f->next_connect = now_s() + f->connect_backoff;
			return;
		}
		if (it.kind == BFL_FWD_REC) {
			f->sent = it.n + 1;
		} else if (it.kind == BFL_FWD_CP) {
			char *n = realloc(f->cp, it.len);

			if (!n)
				continue;
			memcpy(n, it.data, it.len);
			f->cp = n;
			f->cp_len = it.len;
			f->cp_size = it.n;
			f->cp_epoch = it.epoch;
			f->have_cp = true;
		}
	}
	flush(f);
}

/* No answer from the witness: retried with back-off. */
static void witness_failed(struct fwd *f, double now, const char *err)
{
	set_error(f, "witness %s:%s: %s", f->c->witness.host, f->c->witness.port, err);
	f->next_witness = now + f->witness_backoff;
	f->witness_backoff = f->witness_backoff * 2 > 60 ? 60 : f->witness_backoff * 2;
}

/* Starts one add-checkpoint: the latest sealed checkpoint when probing,
 * else the latest sent beyond what the witness holds. */
static void witness_step(struct fwd *f, double now)
{
	bfl_hash proof[BFL_PROOF_MAX];
	const char *note;
	size_t note_len, body_len;
	u64 size, epoch;
	unsigned int n;
	char err[600], *body, *copy;
	bool probe = f->probe;
	struct bfl_checkpoint cp;
	struct bfl_note *parsed;
	struct bfl_err e;

	/* Nothing to ask (or no request made): look again after the next
	 * poll, not at once, which would spin the main loop while idle. */
	f->next_witness = now + (f->c->poll_ms < f->c->witness_ms ? f->c->poll_ms :
				 f->c->witness_ms) / 1000.0;
	if (probe) {
		note = bfl_reader_latest_cp(f->rd, &note_len, &epoch);
		size = bfl_reader_sealed(f->rd);
		if (!note)
			return;
	} else {
		/* A checkpoint beyond what the witness holds, or the one it
		 * holds when its cosignature is not ours yet (a 409 told us
		 * its size, or its answer was lost or refused): old equal to
		 * the size asks it to cosign the same tree again. */
		if (!f->have_cp || f->cp_size < f->old ||
		    (f->cp_size == f->old && f->st.witnessed >= f->old))
			return;
		note = f->cp;
		note_len = f->cp_len;
		size = f->cp_size;
		epoch = f->cp_epoch;
	}
	if (f->old > size) {
		/* The witness is ahead of this checkpoint: a later one. */
		if (probe)
			f->probe = false;
		return;
	}
	parsed = malloc(sizeof(*parsed));
	if (!parsed || bfl_checkpoint_open(note, note_len, &cp, parsed, &e)) {
		free(parsed);
		return;
	}
	free(parsed);
	if (bfl_reader_consistency(f->rd, f->old, size, proof, &n) || n > FWD_PROOF_LINES_MAX) {
		set_error(f, "no consistency proof from %llu to %llu",
			  (unsigned long long)f->old, (unsigned long long)size);
		f->next_witness = now + 5;
		return;
	}
	body = fwd_witness_body(f->old, proof, n, note, note_len, &body_len);
	if (!body)
		return;
	f->next_witness = now + f->c->witness_ms / 1000.0;
	f->last_witness = now;
	copy = malloc(note_len);
	if (!copy || fwd_https_start(f->https, "/add-checkpoint", "text/plain; charset=utf-8",
				     body, body_len, err, sizeof(err))) {
		free(body);
		free(copy);
		if (copy)
			witness_failed(f, now, err);
		return;
	}
	free(body);
	memcpy(copy, note, note_len);
	free(f->w_note);
	f->w_note = copy;
	f->w_note_len = note_len;
	f->w_size = size;
	f->w_epoch = epoch;
	f->w_probe = probe;
	f->w_pending = true;
}

/* The answer to the add-checkpoint in flight, if it has come. */
static void witness_answer(struct fwd *f, double now)
{
	const char *note = f->w_note;
	size_t note_len = f->w_note_len, cosig_len = 0;
	u64 size = f->w_size, epoch = f->w_epoch, wsize = 0;
	bool probe = f->w_probe;
	enum fwd_witness_verdict v;
	char err[600];
	int k;

	k = fwd_https_poll(f->https, &f->resp, err, sizeof(err));
	if (k > 0)
		return;
	f->w_pending = false;
	if (k < 0) {
		witness_failed(f, now, err);
		return;
	}
	v = fwd_witness_answer(&f->resp, note, note_len, f->wkey, &wsize, f->cosig,
			       sizeof(f->cosig), &cosig_len, err, sizeof(err));
	switch (v) {
	case FWD_W_COSIGNED:
		if (fwd_state_cosigned(&f->st, size, epoch, note, note_len, f->cosig, cosig_len,
				       err, sizeof(err))) {
			set_error(f, "%s", err);
			f->next_witness = now + 5;
			return;
		}
		fwd_debug("witness cosigned the checkpoint of size %llu (epoch %llu)",
			  (unsigned long long)size, (unsigned long long)epoch);
		f->old = size;
		f->probe = false;
		notyet_over(f, now, true);
		f->witness_backoff = 1;
		f->notyet_backoff = notyet_first(f->c);
		/* Probing: the collector holds everything up to size. */
		if (probe && f->sent < size && fwd_relp_connected(f->relp))
			restart_stream(f, size);
		break;
	case FWD_W_CONFLICT:
		f->probe = false;
		if (wsize > bfl_reader_sealed(f->rd)) {
			set_error(f, "the witness holds %llu records, more than the %llu sealed here: "
				  "the store was rolled back or another appliance uses its origin",
				  (unsigned long long)wsize,
				  (unsigned long long)bfl_reader_sealed(f->rd));
			f->next_witness = now + 30;
			return;
		}
		fwd_log("the witness holds %llu records (this side thought %llu): resending from %llu",
			(unsigned long long)wsize, (unsigned long long)f->old,
			(unsigned long long)wsize);
		f->old = wsize;
		notyet_over(f, now, false);
		if (fwd_relp_connected(f->relp))
			restart_stream(f, wsize);
		else
			f->streaming = false;
		f->next_witness = now;
		f->witness_backoff = 1;
		f->notyet_backoff = notyet_first(f->c);
		break;
	case FWD_W_NOT_YET:
		/* "old" is right; the collector has not ingested size yet. */
		f->probe = false;
		fwd_debug("witness: the collector has not ingested %llu records yet",
			  (unsigned long long)size);
		f->next_witness = now + f->notyet_backoff;
		f->notyet_backoff = f->notyet_backoff * 2 > 5 ? 5 : f->notyet_backoff * 2;
		resend_check(f, now);
		break;
	case FWD_W_REFUSED:
		set_error(f, "witness %s:%s refused the checkpoint of size %llu: %s",
			  f->c->witness.host, f->c->witness.port, (unsigned long long)size, err);
		f->next_witness = now + f->witness_backoff;
		f->witness_backoff = f->witness_backoff * 2 > 60 ? 60 : f->witness_backoff * 2;
		break;
	}
}

static void write_status(struct fwd *f, double now)
{
	struct fwd_status s = { 0 };
	u64 base = f->c->have_witness ? f->old : f->sent;

	s.sealed = bfl_reader_sealed(f->rd);
	s.sent = f->sent;
	s.witnessed = f->st.witnessed;
	s.witness_holds = f->old;
	s.lag_records = s.sealed > base ? s.sealed - base : 0;
	fwd_lag_seen(&f->lag, s.sealed, now);
	s.lag_seconds = fwd_lag_seconds(&f->lag, base, now);
	s.connected = fwd_relp_connected(f->relp);
	s.collector = f->c->collector.host;
	s.last_error = f->err;
	s.last_error_age = f->err[0] ? now - f->err_time : 0;
	s.store_note = bfl_reader_tail_note(f->rd);
	fwd_relp_counts(f->relp, &s.messages, &s.messages_records);
	s.resends = f->resends;
	s.notyet_longest = f->notyet_longest;
	fwd_state_status(&f->st, &s);
}

static int run(struct fwd *f)
{
	const struct fwd_config *c = f->c;
	char err[600];
	struct bfl_err e;

	f->connect_backoff = 0.5;
	f->witness_backoff = 1;
	f->notyet_backoff = notyet_first(f->c);
	f->resend_wait = c->resend_after_ms / 1000.0;
	f->old = f->st.witnessed;
	f->probe = c->have_witness;
	while (!stop) {
		double now = now_s(), wake;
		u64 before = f->sent;
		bool busy = false;

		if (now >= f->next_poll) {
			if (bfl_reader_poll(f->rd, &e)) {
				set_error(f, "store: %s", e.msg);
				f->next_poll = now + 5;
			} else {
				f->next_poll = now + c->poll_ms / 1000.0;
				fwd_lag_seen(&f->lag, bfl_reader_sealed(f->rd), now);
			}
		}
		if (!fwd_relp_connected(f->relp) && now >= f->next_connect) {
			if (fwd_relp_connect(f->relp, err, sizeof(err))) {
				set_error(f, "%s", err);
				f->next_connect = now + f->connect_backoff;
				f->connect_backoff = f->connect_backoff * 2 > 5 ? 5 :
						     f->connect_backoff * 2;
			} else {
				fwd_log("connected to the collector %s:%s (%s); sending from %llu",
					c->collector.host, c->collector.port, c->collector.name,
					(unsigned long long)f->old);
				f->connect_backoff = 0.5;
				f->streaming = false;
				f->probe = c->have_witness;
				/* A new stream resends from there anyway. */
				f->notyet_since = 0;
				f->notyet_resent = false;
			}
		}
		if (fwd_relp_connected(f->relp)) {
			send_some(f);
			busy = f->sent != before;
		}
		now = now_s();
		/* A backlog (the pass sent something, more may follow): the
		 * witness less often, each request makes the collector ingest
		 * and fsync.  Its answer is read here, when it has come. */
		if (f->w_pending)
			witness_answer(f, now);
		else if (c->have_witness && now >= f->next_witness &&
			 (!busy || f->probe || now - f->last_witness >= FWD_BACKLOG_WITNESS_S))
			witness_step(f, now);
		now = now_s();
		if (now >= f->next_status) {
			write_status(f, now);
			f->next_status = now + 1;
		}
		if (busy)
			continue;
		wake = f->next_poll;
		if (!fwd_relp_connected(f->relp) && f->next_connect < wake)
			wake = f->next_connect;
		if (c->have_witness && !f->w_pending && f->next_witness < wake)
			wake = f->next_witness;
		if (f->next_status < wake)
			wake = f->next_status;
		wake -= now_s();
		if (f->w_pending) {
			/* Until the witness's answer, or the next thing to do. */
			struct pollfd pfd = { .fd = fwd_https_fd(f->https), .events = POLLIN };

			poll(&pfd, 1, wake > 0 ? (int)(wake * 1000) + 1 : 0);
		} else if (wake > 0) {
			struct timespec ts = { (time_t)wake,
					       (long)((wake - (time_t)wake) * 1e9) };

			nanosleep(&ts, NULL);
		}
	}
	write_status(f, now_s());
	return FWD_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct fwd_config c;
	struct fwd f;
	struct sigaction sa;
	struct bfl_err e;
	char err[600];
	int r;

	r = fwd_parse_args(argc, argv, &c);
	if (r >= 0)
		return r;
	fwd_verbose = c.verbose;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	if (c.sandbox_test) {
		if (fwd_seccomp_install(err, sizeof(err))) {
			fwd_log("sandbox: %s", err);
			return FWD_EXIT_SANDBOX;
		}
		/* Not on the allowlist: the kernel kills the process. */
		syscall(SYS_ptrace, 0, 0, 0, 0);
		fwd_log("sandbox test: ptrace was not stopped");
		return FWD_EXIT_SANDBOX;
	}

	memset(&f, 0, sizeof(f));
	f.c = &c;
	f.st.dirfd = f.st.cosigfd = -1;
	/* Everything is opened as the user it runs as. */
	if (fwd_drop_privileges(c.user, err, sizeof(err))) {
		fwd_log("%s", err);
		return FWD_EXIT_FAIL;
	}
	if (bfl_reader_open(c.store, &f.rd, &e)) {
		fwd_log("store: %s", e.msg);
		return FWD_EXIT_FAIL;
	}
	f.origin = bfl_reader_origin(f.rd);
	if (fwd_state_open(&f.st, c.state, err, sizeof(err))) {
		fwd_log("state: %s", err);
		return FWD_EXIT_FAIL;
	}
	f.relp = fwd_relp_new(&c, f.origin, err, sizeof(err));
	if (!f.relp) {
		fwd_log("%s", err);
		return FWD_EXIT_FAIL;
	}
	if (c.have_witness) {
		f.https = fwd_https_new(&c, &c.witness, err, sizeof(err));
		if (!f.https) {
			fwd_log("witness: %s", err);
			return FWD_EXIT_FAIL;
		}
		if (c.witness_key && !(f.wkey = fwd_witness_key_load(c.witness_key, err,
								      sizeof(err)))) {
			fwd_log("--witness-key %s: %s", c.witness_key, err);
			return FWD_EXIT_FAIL;
		}
	}
	/* OpenSSL reads its configuration once, here, not in the loop. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (fwd_seccomp_install(err, sizeof(err))) {
		fwd_log("sandbox: %s", err);
		return FWD_EXIT_SANDBOX;
	}
	fwd_log("forwarding %s (origin %s) to %s:%s, from the witnessed position %llu%s",
		c.store, f.origin, c.collector.host, c.collector.port,
		(unsigned long long)f.st.witnessed,
		c.have_witness ? "" : " (no witness: every connection resends from there)");
	r = run(&f);
	fwd_relp_free(f.relp);
	fwd_https_free(f.https);
	fwd_witness_key_free(f.wkey);
	bfl_reader_close(f.rd);
	free(f.cp);
	free(f.w_note);
	return r;
}
