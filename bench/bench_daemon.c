// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflowd end to end: records per second made durable and sealed by the
 * daemon itself (monitor, sandboxed worker reading with io_uring, group
 * commit, acknowledgement), and the latency from a record leaving its
 * source to the acknowledgement that says it is durable, against what the
 * machine's primitives allow, measured in the same run:
 *
 *   (a) throughput: RECORDS records made available at once; the time
 *       from the first send to the acknowledgement of the last gives
 *       records/s durable and sealed by the daemon.  Two runs;
 *   (b) SHA-256 on 160-byte inputs (OpenSSL EVP, one context reused):
 *       the records/s that hashing alone would allow at two hashes per
 *       record (the leaf, and on average one interior node);
 *   (c) raw Ed25519 signing (EVP_DigestSign) of a checkpoint-sized
 *       message: signatures/s;
 *   (d) the store library alone, as bench_log measures it: RECORDS
 *       records appended COMMIT at a time, each batch committed, one
 *       thread, same directory, the time to make the records not
 *       counted; before the daemon starts and after it stops.  The
 *       daemon's rate divided by it says what reading from the source,
 *       the process split and acknowledging cost on top of the store;
 *   (e) latency: a source paced at RATE records/s for SECONDS; record
 *       i's time is when the source put it in a message, and when an
 *       acknowledgement of seq s arrives, every record <= s not yet
 *       acknowledged gets latency = now - its send time.  p50, p99, max.
 *
 * Then SIGTERM, and the store is verified (bfl_verify_store against the
 * root public key; every kernel seq present exactly once).  A store that
 * does not verify fails the benchmark (exit status 1).
 *
 * The source is a Unix SOCK_SEQPACKET listener, which bioflowd reads with
 * --audit-socket PATH instead of /dev/bioreader-audit, with the same
 * protocol: whole 160-byte records, many per message, and 16-byte
 * acknowledgements (LE32 magic 0x214b4341, 4 bytes of padding, LE64 seq:
 * every record up to seq is durable).  Like the driver it keeps at most
 * QUEUE records unacknowledged (the driver's audit_queue_len, default
 * 4096): a record that would exceed that waits in the source (in the
 * kernel, the session that would produce it is refused until there is
 * room).  A message carries at most 1024 records, what one read of the
 * worker takes (the driver's read() likewise returns up to what fits).
 * The kernel's own copy of records to userspace is not in the numbers.
 * This source is not the one of tests/unit/test_bioflowd_daemon.c: that
 * one redelivers on reconnect, checks durability on every ack and sends
 * random message sizes; this one times every record, paces, bounds the
 * queue and sends the largest messages it can.  The records themselves
 * come from the same builder (tests/unit/lib/audit_rec.h).
 *
 * Needs root: bioflowd starts as root and drops to "nobody" (without
 * root the program says so and exits 0, skipped).  The daemon binary is
 * $BIOFLOWD, else bioflowd in the build directory above this program's.
 *
 * Usage: bench_daemon [-d DIR] [-s SECONDS] [-r RATE] [-n RECORDS]
 *                     [-b COMMIT_RECORDS] [-w COMMIT_MS] [-q QUEUE]
 *   DIR      where the scratch store is made (default /var/tmp; removed
 *            afterwards unless the run fails; must not be tmpfs for the
 *            numbers to mean anything)
 *   SECONDS  of the paced run (e) (default 5)
 *   RATE     records/s of the paced run (default 50000)
 *   RECORDS  records per throughput run (a) (default 200000)
 *   COMMIT_RECORDS, COMMIT_MS  the daemon's --commit-records and
 *            --commit-latency-ms (defaults 1024 and 5, the daemon's own)
 *   QUEUE    records sent and not yet acknowledged, at most (default
 *            4096; 0: no bound)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>
#include <openssl/evp.h>

#include "bflog.h"
#include "bench_ref.h"
#include "../tests/unit/lib/audit_rec.h"

#define REC_SIZE	BIOREADER_AUDIT_RECORD_SIZE
#define MSG_MAX		1024		/* records per message: one worker read */
#define ACK_MAGIC	0x214b4341u
#define TICK		0.0005		/* paced source: sends at most this often */
#define LATE		0.002		/* a record sent this long after it was due */
#define PHASE_MAX	120.0		/* seconds any phase may take */

static char base_dir[512], store[600], sockpath[600], keypath[600], logpath[600];
static char daemon_bin[4096];
static pid_t daemon_pid;
static const u8 boot[16] = { 0xbe, 0x4c, 0x4d, 0xae, 0x30, 0x01 };
static const u64 stream_id = 0xbe4c4daeULL;

/* The end of the daemon's log, the daemon killed, the scratch directory
 * kept; exit status 1. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	FILE *f;

	fprintf(stderr, "bench_daemon: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
	f = logpath[0] ? fopen(logpath, "re") : NULL;
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "  bioflowd: %s", line);
	if (f)
		fclose(f);
	if (base_dir[0])
		fprintf(stderr, "bench_daemon: store and log kept in %s\n", base_dir);
	exit(1);
}

static void die(const char *what, const struct bfl_err *e)
{
	fail("%s: %s", what, e ? e->msg : "failed");
}

static void mkrec(u8 *buf, u64 seq)
{
	test_audit_rec(buf, boot, stream_id, seq,
		       seq % 2 ? BIOREADER_AUDIT_SESSION_START :
				 BIOREADER_AUDIT_VERDICT);
}

/* ------------------------------------------------------------ source */

struct source {
	int lfd, cfd;
	u64 next;		/* next seq to send */
	u64 acked;		/* every seq <= this is acknowledged */
	u64 end;		/* the records of this phase: seq <= end */
	u64 queue;		/* sent and unacknowledged, at most (0: any) */
	u64 acks, bad_acks;
	/* paced phases: record base + k (k >= 1) is due at t0 + (k-1)/rate */
	bool paced;
	double t0, rate;
	u64 base;
	double *sent, *ack;	/* per seq: send and acknowledgement times */
	u64 cap;		/* seqs the arrays hold */
};

static double due(const struct source *s, u64 seq)
{
	return s->t0 + (double)(seq - s->base - 1) / s->rate;
}

/* The last seq that exists at time t. */
static u64 avail(const struct source *s, double t)
{
	u64 k;

	if (!s->paced)
		return s->end;
	if (t < s->t0)
		return s->base;
	k = (u64)((t - s->t0) * s->rate) + 1;
	return s->base + k < s->end ? s->base + k : s->end;
}

static void source_listen(struct source *s, u64 cap)
{
	struct sockaddr_un a;

	memset(s, 0, sizeof(*s));
	s->cfd = -1;
	s->next = 1;
	s->cap = cap;
	s->sent = calloc(cap + 1, sizeof(double));
	s->ack = calloc(cap + 1, sizeof(double));
	if (!s->sent || !s->ack)
		fail("out of memory");
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	if (strlen(sockpath) >= sizeof(a.sun_path))
		fail("socket path too long: %s", sockpath);
	memcpy(a.sun_path, sockpath, strlen(sockpath) + 1);
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->lfd, 4))
		fail("audit socket %s: %s", sockpath, strerror(errno));
}

static void daemon_check(void)
{
	int st;

	if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
		daemon_pid = 0;
		fail("bioflowd exited early (%s %d)",
		     WIFEXITED(st) ? "status" : "signal",
		     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
}

static void take_acks(struct source *s)
{
	for (;;) {
		u8 m[64];
		ssize_t k = recv(s->cfd, m, sizeof(m), MSG_DONTWAIT);
		double t = now_s();
		u32 magic;
		u64 seq;

		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (k <= 0)
			fail("the daemon closed the audit socket (%s)",
			     k ? strerror(errno) : "end of file");
		memcpy(&magic, m, 4);
		memcpy(&seq, m + 8, 8);
		magic = le32toh(magic);
		seq = le64toh(seq);
		s->acks++;
		if (k != 16 || magic != ACK_MAGIC || seq >= s->next) {
			s->bad_acks++;
			continue;
		}
		while (s->acked < seq)
			s->ack[++s->acked] = t;
	}
}

/* Sends what exists and the queue allows, MSG_MAX records a message. */
static void send_records(struct source *s)
{
	static u8 buf[REC_SIZE * MSG_MAX];
	double t = now_s();
	u64 last = avail(s, t);

	while (s->next <= last) {
		u64 k = last - s->next + 1, i;
		ssize_t r;

		if (k > MSG_MAX)
			k = MSG_MAX;
		if (s->queue) {
			u64 room = s->queue - (s->next - 1 - s->acked);

			if (s->next - 1 - s->acked >= s->queue)
				return;
			if (k > room)
				k = room;
		}
		for (i = 0; i < k; i++)
			mkrec(buf + i * REC_SIZE, s->next + i);
		t = now_s();
		r = send(s->cfd, buf, k * REC_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			fail("send to the daemon: %s", strerror(errno));
		}
		for (i = 0; i < k; i++)
			s->sent[s->next + i] = t;
		s->next += k;
	}
}

/* Runs the source until every record of the phase is acknowledged. */
static void source_run(struct source *s)
{
	double start = now_s(), checked = start;

	if (s->end > s->cap)
		fail("internal: %llu records, room for %llu",
		     (unsigned long long)s->end, (unsigned long long)s->cap);
	while (s->acked < s->end) {
		double t = now_s(), wait = 0.01;
		struct pollfd p;
		struct timespec ts;
		u64 last = avail(s, t);
		bool room = !s->queue || s->next - 1 - s->acked < s->queue;

		if (t - start > PHASE_MAX)
			fail("no progress: %llu of %llu records acknowledged after %.0f s",
			     (unsigned long long)s->acked, (unsigned long long)s->end,
			     PHASE_MAX);
		if (t - checked > 0.1) {
			daemon_check();
			checked = t;
		}
		p.fd = s->cfd;
		p.events = POLLIN;
		if (s->next <= last && room)
			p.events |= POLLOUT;
		else if (s->next <= s->end && room && s->paced)
			wait = due(s, s->next) - t > TICK ? due(s, s->next) - t : TICK;
		if (wait > 0.01)
			wait = 0.01;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(wait * 1e9);
		if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (p.revents & POLLIN)
			take_acks(s);
		else if (p.revents & (POLLHUP | POLLERR))
			fail("the daemon closed the audit socket");
		if (p.events & POLLOUT || (s->paced && avail(s, now_s()) >= s->next))
			send_records(s);
	}
}

/* Waits for bioflowd to connect, then for the acknowledgement of a first
 * few records (the worker sandboxed, the first epoch certified). */
static void source_connect(struct source *s, u64 warm)
{
	double start = now_s();

	while (s->cfd < 0) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };

		if (now_s() - start > 30)
			fail("bioflowd did not connect to %s in 30 s", sockpath);
		daemon_check();
		if (poll(&p, 1, 100) > 0)
			s->cfd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	}
	/* Room for the whole queue in the socket, as in the driver's: the
	 * bound on what is in flight is QUEUE, not the socket's buffer. */
	{
		int sz = 16 << 20;

		if (setsockopt(s->cfd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			setsockopt(s->cfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	s->paced = false;
	s->end = warm;
	source_run(s);
}

/* (a): RECORDS at once; records/s from the first send to the last ack. */
static double measure_daemon(struct source *s, u64 n)
{
	u64 first = s->next;

	s->paced = false;
	s->end = first - 1 + n;
	source_run(s);
	return (double)n / (s->ack[s->end] - s->sent[first]);
}

struct lat {
	double p50, p99, max;
	double due_p99;		/* p99 counted from when records were due */
	double rate;		/* records acknowledged per second of the run */
	u64 n, late;		/* records; sent > LATE after they were due */
};

/* (e): paced at @rate records/s for @secs. */
static struct lat measure_latency(struct source *s, double rate, double secs)
{
	u64 n = (u64)(rate * secs), i;
	double *l = malloc(n * sizeof(*l)), *d = malloc(n * sizeof(*d));
	struct lat r = { 0 };

	if (!l || !d || !n)
		fail("out of memory");
	s->paced = true;
	s->rate = rate;
	s->base = s->next - 1;
	s->end = s->base + n;
	s->t0 = now_s() + 0.01;
	source_run(s);
	for (i = 0; i < n; i++) {
		u64 q = s->base + 1 + i;

		l[i] = s->ack[q] - s->sent[q];
		d[i] = s->ack[q] - due(s, q);
		if (s->sent[q] - due(s, q) > LATE)
			r.late++;
	}
	qsort(l, n, sizeof(*l), dbl_cmp);
	qsort(d, n, sizeof(*d), dbl_cmp);
	r.n = n;
	r.p50 = l[n / 2];
	r.p99 = l[(u64)((double)n * 0.99)];
	r.max = l[n - 1];
	r.due_p99 = d[(u64)((double)n * 0.99)];
	r.rate = (double)n / (s->ack[s->end] - s->t0);
	free(l);
	free(d);
	return r;
}

/* ------------------------------------------------------------ daemon */

static bool find_daemon(void)
{
	const char *env = getenv("BIOFLOWD");
	char self[4096], p[4200], *slash;
	ssize_t n;

	if (env) {
		snprintf(daemon_bin, sizeof(daemon_bin), "%s", env);
		return access(daemon_bin, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = 0;
	snprintf(p, sizeof(p), "%s/../bioflowd", self);
	return realpath(p, daemon_bin) && !access(daemon_bin, X_OK);
}

static pid_t daemon_start(unsigned int commit_records, unsigned int commit_ms)
{
	char cr[32], cl[32];
	const char *argv[] = {
		daemon_bin, "--store", store, "--audit-socket", sockpath,
		"--root-key", keypath, "--user", "nobody",
		"--origin", "bench.example/daemon",
		"--commit-records", cr, "--commit-latency-ms", cl, NULL,
	};
	pid_t pid;

	snprintf(cr, sizeof(cr), "%u", commit_records);
	snprintf(cl, sizeof(cl), "%u", commit_ms);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0)
			dup2(fd, 2);
		unsetenv("BIOFLOWD_TEST_FAULT");
		execv(daemon_bin, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	return pid;
}

/* SIGTERM; the exit status. */
static int daemon_stop(void)
{
	double end = now_s() + 30;
	int st;

	kill(daemon_pid, SIGTERM);
	while (now_s() < end) {
		if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
			daemon_pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(10000);
	}
	fail("bioflowd did not stop within 30 s of SIGTERM");
}

/* ------------------------------------------------------------ crypto */

/* (d): the store library alone, bench_log's way: @n records appended
 * @batch at a time, each batch committed, on a fresh store in the same
 * directory (removed afterwards); records/s. */
static double measure_store(struct bfl_root_signer *rs, unsigned int batch,
			    u64 n)
{
	struct bfl_store_opts sopts = { 0 };	/* fdatasync on, no rotation */
	u8 *buf = malloc((size_t)batch * REC_SIZE);
	struct bfl_err e = { 0 };
	struct bfl_store *st;
	char path[700];
	double spent = 0, t;
	u64 done = 0, seq = 1;
	unsigned int i;

	snprintf(path, sizeof(path), "%s/store-alone", base_dir);
	rm_dir(path);
	if (!buf || bfl_store_create(path, "bench.example/log", rs, &sopts, &st, &e))
		die("store create", &e);
	while (done < n) {
		unsigned int app = 0, k = n - done < batch ? (unsigned int)(n - done) : batch;

		/* Making the records is the source's work, not counted (in
		 * the daemon's runs another process does it). */
		for (i = 0; i < k; i++)
			mkrec(buf + (size_t)i * REC_SIZE, seq++);
		t = now_s();
		if (bfl_store_append(st, buf, (size_t)k * REC_SIZE, &app, NULL, &e) ||
		    app != k)
			die("append", &e);
		if (bfl_store_commit(st, &e))
			die("commit", &e);
		spent += now_s() - t;
		done += k;
	}
	bfl_store_close(st);
	rm_dir(path);
	free(buf);
	return (double)n / spent;
}

/* ------------------------------------------------------------ verify */

struct check {
	enum bfl_verdict verdict;
	const char *verdict_name;
	char first_error[800];
	u64 checkpoints, epochs, records;
	u64 missing, dups;	/* kernel seqs 1..total */
};

static void check_store(const struct bfl_key *root, u64 total, struct check *c)
{
	static const char *const names[] = {
		"OK", "FAIL", "USAGE", "UNREADABLE", "WARN",
	};
	struct bfl_verify_result res;
	const struct bfl_finding *fd;
	struct bfl_leaves lv;
	struct bfl_err e = { 0 };
	u8 *seen = calloc(total + 1, 1);
	u64 i;

	memset(c, 0, sizeof(*c));
	bfl_verify_store(store, root, NULL, &res);
	c->verdict = res.verdict;
	c->verdict_name = (unsigned int)res.verdict < 5 ? names[res.verdict] : "?";
	c->checkpoints = res.checkpoints;
	c->epochs = res.epochs;
	c->records = res.records;
	fd = bfl_first_error(&res);
	if (fd)
		snprintf(c->first_error, sizeof(c->first_error), "%s %s: %s",
			 fd->kind, fd->where, fd->msg);
	bfl_verify_result_free(&res);
	if (!seen || bfl_store_load_leaves(store, &lv, &e)) {
		c->missing = total;
		free(seen);
		return;
	}
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, NULL) > 0 &&
		    bfl_record_is_kernel(&r) && r.seq >= 1 && r.seq <= total &&
		    seen[r.seq]++)
			c->dups++;
	}
	for (i = 1; i <= total; i++)
		if (!seen[i])
			c->missing++;
	bfl_leaves_free(&lv);
	free(seen);
}

/* -------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_daemon [-d DIR] [-s SECONDS] [-r RATE] [-n RECORDS]\n"
		"                    [-b COMMIT_RECORDS] [-w COMMIT_MS] [-q QUEUE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp";
	double secs = 5, rate = 50000;
	unsigned long long nrec = 200000, queue = 4096;
	unsigned int commit_records = 1024, commit_ms = 5;
	double t_sha, t_sig, sha_bound, rate1, rate2, drate;
	double store1, store2, store_rate;
	const u64 warm = 2048;
	struct bfl_root_signer *rs;
	struct bfl_err e = { 0 };
	struct source src;
	struct check ck;
	struct lat lt;
	int o, st;
	u64 total;

	while ((o = getopt(argc, argv, "d:s:r:n:b:w:q:h")) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 's': secs = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'n': nrec = strtoull(optarg, NULL, 0); break;
		case 'b': commit_records = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': commit_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'q': queue = strtoull(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind != argc || secs <= 0 || rate <= 0 || rate * secs < 100 ||
	    rate * secs > 2e7 || nrec < 1000 || nrec > 20000000 ||
	    !commit_records || commit_records > 1 << 20 || !commit_ms ||
	    commit_ms > 60000)
		usage();
	if (geteuid() != 0) {
		printf("bench_daemon: skipped: needs root (bioflowd starts as root and drops to \"nobody\")\n");
		return 0;
	}
	if (!find_daemon()) {
		fprintf(stderr, "bench_daemon: bioflowd not found (build it, or set BIOFLOWD)\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	snprintf(base_dir, sizeof(base_dir), "%s/bench_daemon.XXXXXX", dir);
	if (!mkdtemp(base_dir)) {
		perror("bench_daemon: mkdtemp");
		return 1;
	}
	snprintf(store, sizeof(store), "%s/store", base_dir);
	snprintf(sockpath, sizeof(sockpath), "%s/audit.sock", base_dir);
	snprintf(keypath, sizeof(keypath), "%s/root.pem", base_dir);
	snprintf(logpath, sizeof(logpath), "%s/bioflowd.log", base_dir);
	/* A software root key (ECDSA P-256), as the daemon's tests use. */
	rs = bfl_soft_root_new(NULL, NULL, &e);
	if (!rs || bfl_soft_root_save_key(rs, keypath, &e))
		die("root key", &e);

	total = warm + 2 * (u64)nrec + (u64)(rate * secs);
	source_listen(&src, total);
	src.queue = queue;
	measure_sha(REC_SIZE, 0.25);		/* warm up */

	/* The store alone before the daemon starts and again after it has
	 * stopped, so that both see the same machine; the CPU references
	 * in between give the disk time to write back and the daemon's
	 * runs do not see the other store's removal. */
	store1 = measure_store(rs, commit_records, nrec);
	t_sha = measure_sha(REC_SIZE, 1);
	t_sig = measure_ed25519(1);
	if (t_sha < 0 || t_sig < 0)
		die("OpenSSL (SHA-256 or Ed25519)", NULL);
	daemon_pid = daemon_start(commit_records, commit_ms);
	source_connect(&src, warm);
	rate1 = measure_daemon(&src, nrec);
	rate2 = measure_daemon(&src, nrec);
	lt = measure_latency(&src, rate, secs);

	st = daemon_stop();
	if (st != 0)
		fail("bioflowd: exit status %d after SIGTERM", st);
	if (src.bad_acks)
		fail("%llu acknowledgements malformed or beyond what was sent",
		     (unsigned long long)src.bad_acks);
	check_store(&rs->key, total, &ck);
	store2 = measure_store(rs, commit_records, nrec);
	store_rate = (store1 + store2) / 2;

	drate = (rate1 + rate2) / 2;
	sha_bound = 1 / (2 * t_sha);
	printf("bench_daemon: bioflowd end to end (%s), %u-byte records, commit at %u records or %u ms,\n"
	       "  source queue %llu records, messages of up to %u records, store in %s%s\n",
	       daemon_bin, REC_SIZE, commit_records, commit_ms, queue, MSG_MAX, dir,
	       bench_tmpfs_warning(base_dir));
	bench_print_refs(t_sha, t_sig);
	printf("  store library alone (reference)               %9.0f records/s   (append + commit of %u, one thread;"
	       " runs: %.0f, %.0f)\n",
	       store_rate, commit_records, store1, store2);
	printf("  daemon: %llu records at once, first send -> last ack\n",
	       nrec);
	printf("                                                %9.0f records/s   ratio to SHA-256 bound %.3f,"
	       " to the store alone %.2f  (runs: %.0f, %.0f)\n",
	       drate, drate / sha_bound, drate / store_rate, rate1, rate2);
	printf("  daemon: source paced at %.0f records/s for %.1f s (%llu records):\n",
	       rate, secs, (unsigned long long)lt.n);
	printf("    record sent -> durable ack        p50 %.2f ms  p99 %.2f ms  max %.2f ms"
	       "  (%.0f records/s acknowledged)\n",
	       lt.p50 * 1e3, lt.p99 * 1e3, lt.max * 1e3, lt.rate);
	printf("    records sent > %.0f ms after due    %llu  (the queue full, or the source late);"
	       " p99 from due %.2f ms\n",
	       LATE * 1e3, (unsigned long long)lt.late, lt.due_p99 * 1e3);
	printf("  after SIGTERM (exit 0): verifier %s, %llu records, %llu checkpoints, %llu epoch(s);"
	       " kernel seqs 1..%llu: %llu missing, %llu twice\n",
	       ck.verdict_name, (unsigned long long)ck.records,
	       (unsigned long long)ck.checkpoints, (unsigned long long)ck.epochs,
	       (unsigned long long)total, (unsigned long long)ck.missing,
	       (unsigned long long)ck.dups);
	if (ck.first_error[0])
		printf("    first finding: %s\n", ck.first_error);
	if (ck.verdict != BFL_OK || ck.missing || ck.dups)
		fail("the store does not verify: this run measured nothing");
	printf("  target >= 50000 records/s durable and sealed: %s; p99 < 20 ms: %s\n",
	       rate1 >= 50000 && rate2 >= 50000 ? "met" : "NOT met",
	       lt.p99 < 0.020 ? "met" : "NOT met");

	close(src.cfd);
	close(src.lfd);
	free(src.sent);
	free(src.ack);
	bfl_root_signer_free(rs);
	rm_dir(base_dir);
	return bench_sink == 0xdeadbeef;
}
