// SPDX-License-Identifier: GPL-2.0-only
/*
 * An audit source for bioflowd --audit-socket in the fleet tests
 * (t_fleet_lag.sh) and the end-to-end latency benchmark
 * (bench/ack-to-cosigned.sh), with the driver's protocol: whole records,
 * many per message, 16-byte acknowledgements (LE32 magic 0x214b4341, 4
 * bytes of padding, LE64 seq), everything not acknowledged sent again to
 * a new connection, at most QUEUE (4096, the driver's audit_queue_len)
 * records unacknowledged.
 *
 *   audit_feed key DIR
 *       a software root key for bioflowd: DIR/root.key (private, for
 *       --root-key), DIR/root.pem (public, for bioflow-verify and the
 *       collector's enrollment), the counter DIR/root.key.counter
 *   audit_feed serve SOCKET RATE SECONDS [POSITION]
 *       listens on SOCKET, makes RATE records/s available for SECONDS
 *       (VERDICT records, seq 1..RATE*SECONDS, 160 bytes each) and exits
 *       0 once all are acknowledged (1 if not within 120 s after the
 *       last).  Prints the acknowledgement latency (made available ->
 *       acknowledged: the daemon's group commit, what a verdict waits).
 *       With AUDIT_FEED_HOLD=1 in the environment it then keeps the
 *       connection open until SIGTERM (exit 0): the daemon's worker goes
 *       on running, and seals what its monitor queues.
 *       With POSITION (the forwarder's STATE/position, "size N" and the
 *       cosigned checkpoint of size N) it also reads that file every
 *       millisecond and, once it covers every record (leaf seq: a fresh
 *       store holds the daemon's start record at leaf 0, then the
 *       records in order; `leafmap` checks it afterwards), prints the
 *       latency from each record's acknowledgement to the first
 *       position that covers it: durable at the collector and cosigned
 *       by its witness.  p50, p99, max, and the ratio of the p99s.
 *       Records start to flow only once the position covers the
 *       daemon's start record (the whole chain is connected): the
 *       forwarder's and the TLS connections' start-up are not measured.
 *   audit_feed events STORE
 *       one line per DAEMON record of the store (or of a collector's
 *       copy): "LEAF EVENT-IN-WORDS" (bfl_daemon_event_text)
 *   audit_feed leafmap STORE TOTAL
 *       exit 0 if leaf i is the record of seq i for 1 <= i <= TOTAL
 *
 * Loopback only (a Unix socket); timestamps are CLOCK_REALTIME, the
 * clock of the position file's reader and of the acknowledgement alike.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "../unit/lib/audit_rec.h"

#define ACK_MAGIC	0x214b4341u
#define QUEUE		4096
#define MSG_MAX		64
#define DRAIN_S		120

static const u8 boot[16] = { 0xfe, 0xed, 0x1a, 0x9 };
static const u64 stream_id = 0x1a9feedULL;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int die(const char *what, const struct bfl_err *e)
{
	fprintf(stderr, "audit_feed: %s: %s\n", what, e ? e->msg : strerror(errno));
	return 1;
}

static int cmd_key(const char *dir)
{
	struct bfl_root_signer *rs;
	struct bfl_err e = { 0 };
	char path[4096], cpath[4200];

	snprintf(path, sizeof(path), "%s/root.key", dir);
	snprintf(cpath, sizeof(cpath), "%s.counter", path);
	rs = bfl_soft_root_new(NULL, cpath, &e);
	if (!rs)
		return die("root key", &e);
	if (bfl_soft_root_save_key(rs, path, &e))
		return die(path, &e);
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	if (bfl_write_pubkey_pem(rs->key.pk, path, &e))
		return die(path, &e);
	bfl_root_signer_free(rs);
	return 0;
}

/* The tree size the position file names, or 0. */
static u64 position_size(const char *path)
{
	char buf[64];
	u64 v = 0;
	ssize_t n;
	char *nl;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 6)
		return 0;
	buf[n] = 0;
	nl = strchr(buf, '\n');
	if (strncmp(buf, "size ", 5) || !nl || bfl_parse_u64(buf + 5, (size_t)(nl - buf - 5), &v))
		return 0;
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p50, p99, max of v[0..n) in ms (sorts v). */
static void stats(double *v, u64 n, double out[3])
{
	qsort(v, n, sizeof(*v), cmp_double);
	out[0] = v[n / 2] * 1e3;
	out[1] = v[n * 99 / 100 < n ? n * 99 / 100 : n - 1] * 1e3;
	out[2] = v[n - 1] * 1e3;
}

struct feed {
	int lfd, cfd;
	u64 total, rate;
	double t0;		/* first connection */
	u64 next, acked;
	double *made, *ack, *cosigned;
	const char *position;
	u64 pos;		/* the position's size so far */
};

static u64 avail(const struct feed *f, double t)
{
	u64 n;

	if (!f->t0)
		return 0;
	n = (u64)((t - f->t0) * (double)f->rate);

	return n > f->total ? f->total : n;
}

/* One record of seq s becomes available at t0 + (s - 1) / rate. */
static double made_at(const struct feed *f, u64 s)
{
	return f->t0 + (double)(s - 1) / (double)f->rate;
}

static int take_acks(struct feed *f)
{
	for (;;) {
		u8 m[64];
		ssize_t k = recv(f->cfd, m, sizeof(m), MSG_DONTWAIT);
		double t = now_s();
		u32 magic;
		u64 seq;

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (k <= 0)
			return -1;	/* the consumer went away */
		memcpy(&magic, m, 4);
		memcpy(&seq, m + 8, 8);
		magic = le32toh(magic);
		seq = le64toh(seq);
		if (k != 16 || magic != ACK_MAGIC || seq >= f->next) {
			fprintf(stderr, "audit_feed: a bad acknowledgement (seq %llu)\n",
				(unsigned long long)seq);
			continue;
		}
		while (f->acked < seq)
			f->ack[++f->acked] = t;
	}
}

static int send_records(struct feed *f)
{
	static u8 buf[BIOREADER_AUDIT_RECORD_SIZE * MSG_MAX];
	u64 last = avail(f, now_s());

	if (last > f->acked + QUEUE)
		last = f->acked + QUEUE;
	while (f->next <= last) {
		size_t len = 0;
		unsigned int k;
		ssize_t r;

		for (k = 0; k < MSG_MAX && f->next + k <= last; k++)
			len += test_audit_rec_v2(buf + len, boot, stream_id, f->next + k,
						 BIOREADER_AUDIT_VERDICT);
		r = send(f->cfd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r < 0)
			return -1;
		f->next += k;
	}
	return 0;
}

static void watch_position(struct feed *f)
{
	u64 p = position_size(f->position);
	double t = now_s();

	/* leaf 0 is the daemon's start record: size p covers seqs < p */
	while (f->pos < p) {
		if (f->pos >= 1 && f->pos <= f->total)
			f->cosigned[f->pos] = t;
		f->pos++;
	}
}

static int cmd_serve(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct feed f = { .cfd = -1, .next = 1 };
	double end = 0, st[3], rt[3], *lat, warm = now_s() + 60;
	u64 i, n;

	f.rate = strtoull(argv[3], NULL, 10);
	f.total = f.rate * strtoull(argv[4], NULL, 10);
	f.position = argc > 5 ? argv[5] : NULL;
	if (!f.rate || !f.total || strlen(argv[2]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "audit_feed: serve SOCKET RATE SECONDS [POSITION]\n");
		return 2;
	}
	f.made = calloc(f.total + 1, sizeof(double));
	f.ack = calloc(f.total + 1, sizeof(double));
	f.cosigned = calloc(f.total + 2, sizeof(double));
	lat = calloc(f.total + 1, sizeof(double));
	if (!f.made || !f.ack || !f.cosigned || !lat)
		return die("memory", NULL);
	strcpy(a.sun_path, argv[2]);
	unlink(argv[2]);
	f.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (f.lfd < 0 || bind(f.lfd, (struct sockaddr *)&a, sizeof(a)) || listen(f.lfd, 4))
		return die(argv[2], NULL);
	for (;;) {
		struct pollfd p[2] = { { .fd = f.lfd, .events = POLLIN },
				       { .fd = f.cfd, .events = POLLIN } };
		double t = now_s();

		if (f.acked == f.total && (!f.position || f.pos > f.total))
			break;
		if (f.t0 && avail(&f, t) == f.total && !end)
			end = t + DRAIN_S;
		if (!f.t0 && t > warm) {
			fprintf(stderr, "audit_feed: no consumer%s within 60 s\n",
				f.position ? ", or no cosigned position" : "");
			return 1;
		}
		if (end && t > end) {
			fprintf(stderr, "audit_feed: %llu of %llu acknowledged, position %llu, %d s after the last\n",
				(unsigned long long)f.acked, (unsigned long long)f.total,
				(unsigned long long)f.pos, DRAIN_S);
			return 1;
		}
		poll(p, f.cfd >= 0 ? 2 : 1, 1);
		if (p[0].revents & POLLIN) {
			int c = accept4(f.lfd, NULL, NULL, SOCK_CLOEXEC);

			if (c >= 0) {
				if (f.cfd >= 0)
					close(f.cfd);
				f.cfd = c;
				f.next = f.acked + 1;	/* redeliver */
			}
		}
		/* the chain is connected: records start */
		if (!f.t0 && f.cfd >= 0 && (!f.position || position_size(f.position) >= 1))
			f.t0 = now_s();
		if (f.cfd >= 0 && (take_acks(&f) || send_records(&f))) {
			close(f.cfd);
			f.cfd = -1;
		}
		if (f.position)
			watch_position(&f);
	}
	for (i = 1; i <= f.total; i++)
		lat[i - 1] = f.ack[i] - made_at(&f, i);
	stats(lat, f.total, rt);
	printf("records %llu at %llu/s; acknowledged (made available -> acknowledgement): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       (unsigned long long)f.total, (unsigned long long)f.rate, rt[0], rt[1], rt[2]);
	fflush(stdout);
	if (getenv("AUDIT_FEED_HOLD") && !strcmp(getenv("AUDIT_FEED_HOLD"), "1")) {
		/* keep answering nothing, but stay connected */
		signal(SIGTERM, on_term);
		while (!stop)
			poll(NULL, 0, 50);
	}
	if (!f.position)
		return 0;
	for (i = 1, n = 0; i <= f.total; i++)
		lat[n++] = f.cosigned[i] - f.ack[i];
	stats(lat, n, st);
	printf("acknowledged -> durable at the collector and cosigned: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       st[0], st[1], st[2]);
	printf("ratio p99 (ack -> cosigned) / p99 (ack latency, same run): %.1f\n",
	       rt[1] > 0 ? st[1] / rt[1] : 0);
	return 0;
}

static int load(const char *store, struct bfl_leaves *lv)
{
	struct bfl_err e = { 0 };

	if (bfl_store_load_leaves(store, lv, &e))
		return die(store, &e);
	return 0;
}

static int cmd_events(const char *store)
{
	struct bfl_leaves lv;
	u64 i;

	if (load(store, &lv))
		return 1;
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;
		char txt[200];

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, NULL) <= 0 ||
		    r.type != BIOREADER_AUDIT_DAEMON)
			continue;
		bfl_daemon_event_text(&r, txt, sizeof(txt));
		printf("%llu %s\n", (unsigned long long)i, txt);
	}
	bfl_leaves_free(&lv);
	return 0;
}

static int cmd_leafmap(const char *store, u64 total)
{
	struct bfl_leaves lv;
	int bad = 0;
	u64 i;

	if (load(store, &lv))
		return 1;
	for (i = 1; i <= total && !bad; i++) {
		struct bfl_record r;

		if (i >= lv.n || bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, NULL) <= 0 ||
		    !bfl_record_is_kernel(&r) || r.seq != i) {
			fprintf(stderr, "audit_feed: leaf %llu is not seq %llu\n",
				(unsigned long long)i, (unsigned long long)i);
			bad = 1;
		}
	}
	bfl_leaves_free(&lv);
	return bad;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "key"))
		return cmd_key(argv[2]);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "serve"))
		return cmd_serve(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "events"))
		return cmd_events(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "leafmap"))
		return cmd_leafmap(argv[2], strtoull(argv[3], NULL, 10));
	fprintf(stderr, "usage: audit_feed key DIR | serve SOCKET RATE SECONDS [POSITION] |\n"
		"       events STORE | leafmap STORE TOTAL\n");
	return 2;
}
