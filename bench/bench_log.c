// SPDX-License-Identifier: GPL-2.0-only
/*
 * Throughput and latency of the audit log's store (daemon/log/), against
 * what the machine's primitives allow, measured in the same run:
 *
 *   (a) records/s made durable and sealed: bfl_store_append() of a batch
 *       of 160-byte records shaped like the kernel's, then
 *       bfl_store_commit() (a signed checkpoint appended after the
 *       records, one fdatasync for both), on a real directory, one
 *       thread;
 *   (b) SHA-256 on 160-byte inputs (OpenSSL EVP, one context reused):
 *       the records/s that hashing alone would allow at two hashes per
 *       leaf (the leaf, and on average one interior node);
 *   (c) raw Ed25519 signing (EVP_DigestSign) of a checkpoint-sized
 *       message: signatures/s, against checkpoints/s of (a);
 *   (d) latency from a record's arrival to the durable checkpoint
 *       covering it, for a producer paced at RATE records/s, with group
 *       commit when BATCH records are pending or the oldest has waited
 *       MAX_WAIT ms, whichever comes first.  Arrivals are scheduled in
 *       advance (t_i = t_0 + i / RATE), so a commit that runs late
 *       delays the records that arrive meanwhile, as it would on one
 *       core.
 *
 * Plus the cost of each phase of a group commit, to say where the time
 * goes: appending (parse, leaf hash, tree, write), the checkpoint (tree
 * root, Ed25519 signature) and the segment's fdatasync; and, as a
 * reference, what a durable small-file replace (temp file, fsync,
 * rename, directory fsync) costs, which store format v1 paid on every
 * commit and v2 pays only at epoch starts.
 *
 * Usage: bench_log [-d DIR] [-b BATCH] [-s SECONDS] [-r RATE] [-w MAX_WAIT_MS]
 *   DIR      where the scratch store is made (default /var/tmp; it is
 *            removed afterwards; must not be tmpfs for the numbers to mean
 *            anything)
 *   BATCH    records per group commit (default 1024)
 *   SECONDS  per measurement (default 2)
 *   RATE     producer rate for (d) (default 50000)
 *   MAX_WAIT commit deadline for (d) (default 5)
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>
#include <openssl/evp.h>

#include "bflog.h"
#include "bench_ref.h"

#define REC_SIZE BIOREADER_AUDIT_RECORD_SIZE

static void die(const char *what, const struct bfl_err *e)
{
	fprintf(stderr, "bench_log: %s: %s\n", what, e ? e->msg : "failed");
	exit(1);
}

/* ------------------------------------------------------------ records */

static u8 boot_id[16];
static u64 next_seq = 1;
static volatile u64 sink;

#define OFF(f) offsetof(struct bioreader_audit_record, f)

/* n VERDICT records, as the driver writes them, with consecutive seq. */
static void make_records(u8 *buf, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		u8 *p = buf + (size_t)i * REC_SIZE;
		u64 seq = next_seq++;

		memset(p, 0, REC_SIZE);
		bfl_put_le32(p + OFF(magic), BIOREADER_AUDIT_MAGIC);
		p[OFF(version)] = BIOREADER_AUDIT_VERSION;
		p[OFF(size)] = REC_SIZE;
		bfl_put_le64(p + OFF(seq), seq);
		memcpy(p + OFF(boot_id), boot_id, 16);
		bfl_put_le64(p + OFF(mono_ns), 1000000000ULL + seq * 20000);
		bfl_put_le64(p + OFF(real_ns), 1795000000000000000ULL + seq * 20000);
		bfl_put_le32(p + OFF(type), BIOREADER_AUDIT_VERDICT);
		bfl_put_le32(p + OFF(reader), 0);
		bfl_put_le64(p + OFF(session_id), seq / 2 + 1);
		bfl_put_le32(p + OFF(uid), 1000);
		bfl_put_le32(p + OFF(pid), 4242);
		bfl_put_le64(p + OFF(actor_start_ns), 123456789);
		memcpy(p + OFF(operator_id), "kiosk-operator-17", 17);
		bfl_put_le32(p + OFF(outcome), 1);
		bfl_put_le32(p + OFF(reason), 0);
		bfl_put_le64(p + OFF(stream_id), 0x5eedf00dcafe0001ULL);
		bfl_put_le32(p + OFF(detail), (u32)seq);
	}
}

/* -------------------------------------------------------------- store */

static char base_dir[512];
static struct bfl_root_signer *rs;
static struct bfl_store_opts sopts;	/* fdatasync on, no epoch rotation */

static struct bfl_store *new_store(const char *name, char *path, size_t cap)
{
	struct bfl_store *st;
	struct bfl_err e = { 0 };

	snprintf(path, cap, "%s/%s", base_dir, name);
	rm_dir(path);
	if (bfl_store_create(path, "bench.example/log", rs, &sopts, &st, &e))
		die("store create", &e);
	return st;
}

/* (a): records/s, and time per phase of a commit. */
struct tput {
	double rate;		/* records/s durable and sealed */
	double commits;		/* checkpoints/s */
	double t_append;	/* seconds per batch in bfl_store_append */
	double t_commit;	/* seconds per batch in bfl_store_commit */
	double t_gen;		/* making the records (not the store's cost) */
};

static struct tput measure_store(unsigned int batch, double secs)
{
	char path[1024];
	struct bfl_store *st = new_store("tput", path, sizeof(path));
	u8 *buf = malloc((size_t)batch * REC_SIZE);
	double t0, t1, t, ta = 0, tc = 0, tg = 0;
	struct bfl_err e = { 0 };
	struct tput r;
	u64 n = 0, nb = 0;

	if (!buf)
		exit(1);
	t0 = now_s();
	do {
		unsigned int app = 0;

		t1 = now_s();
		make_records(buf, batch);
		t = now_s();
		tg += t - t1;
		if (bfl_store_append(st, buf, (size_t)batch * REC_SIZE, &app, NULL, &e) ||
		    app != batch)
			die("append", &e);
		t1 = now_s();
		ta += t1 - t;
		if (bfl_store_commit(st, &e))
			die("commit", &e);
		t = now_s();
		tc += t - t1;
		n += batch;
		nb++;
	} while (t - t0 < secs);
	r.rate = (double)n / (t - t0);
	r.commits = (double)nb / (t - t0);
	r.t_append = ta / (double)nb;
	r.t_commit = tc / (double)nb;
	r.t_gen = tg / (double)nb;
	if (bfl_store_sealed_size(st) != n)
		die("sealed size after the run is wrong", NULL);
	bfl_store_close(st);
	rm_dir(path);
	free(buf);
	return r;
}

/* The durable-write primitives a commit is made of, on the same
 * filesystem: fdatasync after appending one batch's bytes to a file, and
 * a durable small-file replace (the checkpoint's way of being written). */
static void measure_io(unsigned int batch, double secs, double *t_sync,
		       double *t_atomic)
{
	char path[1024], name[1100];
	size_t len = (size_t)batch * (REC_SIZE + BFL_HASH_SIZE);
	u8 *buf = calloc(1, len);
	char cp[400];
	double t0, t;
	u64 n = 0;
	int fd, dfd;

	snprintf(path, sizeof(path), "%s/io", base_dir);
	rm_dir(path);
	if (!buf || mkdir(path, 0750)) {
		perror("bench_log: io dir");
		exit(1);
	}
	snprintf(name, sizeof(name), "%s/seg", path);
	fd = open(name, O_WRONLY | O_CREAT | O_APPEND, 0640);
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || dfd < 0) {
		perror("bench_log: io file");
		exit(1);
	}
	t0 = now_s();
	do {
		if (write(fd, buf, len) != (ssize_t)len || fdatasync(fd)) {
			perror("bench_log: write+fdatasync");
			exit(1);
		}
		n++;
		t = now_s();
	} while (t - t0 < secs / 2);
	*t_sync = (t - t0) / (double)n;

	memset(cp, 'c', sizeof(cp));
	n = 0;
	t0 = now_s();
	do {
		struct bfl_err e = { 0 };

		if (bfl_write_atomic(dfd, "checkpoint", cp, sizeof(cp), &e))
			die("write_atomic", &e);
		n++;
		t = now_s();
	} while (t - t0 < secs / 2);
	*t_atomic = (t - t0) / (double)n;
	close(fd);
	close(dfd);
	rm_dir(path);
	free(buf);
}

/* ------------------------------------------------------------ crypto */

/* The library's leaf hash (bfl_leaf_hash) of a 160-byte record. */
static double measure_leaf_hash(double secs)
{
	u8 rec[REC_SIZE];
	bfl_hash out;
	double t0, t;
	u64 n = 0;
	int i;

	memset(rec, 7, sizeof(rec));
	t0 = now_s();
	do {
		for (i = 0; i < 1024; i++) {
			rec[0] = (u8)i;
			bfl_leaf_hash(rec, sizeof(rec), out);
			sink += out[0];
		}
		n += 1024;
		t = now_s();
	} while (t - t0 < secs);
	return (t - t0) / (double)n;
}

/* The library's interior node hash (bfl_node_hash). */
static double measure_node_hash(double secs)
{
	bfl_hash l, r, out;
	double t0, t;
	u64 n = 0;
	int i;

	memset(l, 1, sizeof(l));
	memset(r, 2, sizeof(r));
	t0 = now_s();
	do {
		for (i = 0; i < 1024; i++) {
			l[0] = (u8)i;
			bfl_node_hash(l, r, out);
			sink += out[0];
		}
		n += 1024;
		t = now_s();
	} while (t - t0 < secs);
	return (t - t0) / (double)n;
}

/* ----------------------------------------------------------- latency */

static void sleep_until(double t)
{
	struct timespec ts;
	double d = t - now_s();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

struct lat {
	double p50, p99, max;
	double rate;		/* records sealed per second of the run */
	u64 commits;
};

/*
 * (d): a producer at @rate records/s; the consumer appends what has
 * arrived, commits when @batch are pending or the oldest pending one has
 * waited @max_wait seconds (a backlog after a slow commit is sealed by
 * one commit, whatever its size).  Latency of a record: the end of the commit
 * that sealed it minus its scheduled arrival.
 */
static struct lat measure_latency(unsigned int batch, double rate,
				  double max_wait, double secs)
{
	char path[1024];
	struct bfl_store *st = new_store("lat", path, sizeof(path));
	u64 total = (u64)(rate * secs), arrived = 0, appended = 0, sealed = 0;
	double *lat = malloc(total * sizeof(*lat)), t0, t = 0;
	u8 *buf = malloc((size_t)batch * REC_SIZE);
	struct bfl_err e = { 0 };
	struct lat r = { 0 };

	if (!lat || !buf || !total)
		exit(1);
	t0 = now_s() + 0.01;
	while (sealed < total) {
		double first_pending, deadline, fill;
		u64 k;

		t = now_s();
		/* Everything scheduled by now has arrived. */
		k = t < t0 ? 0 : (u64)((t - t0) * rate) + 1;
		arrived = k < total ? k : total;
		/* Append everything that has arrived (the daemon reads all
		 * it can), a buffer of BATCH records at a time. */
		while (appended < arrived) {
			u64 m = arrived - appended;

			if (m > batch)
				m = batch;
			make_records(buf, (unsigned int)m);
			if (bfl_store_append(st, buf, (size_t)m * REC_SIZE, NULL, NULL, &e))
				die("append", &e);
			appended += m;
		}
		if (appended == sealed) {
			sleep_until(t0 + (double)sealed / rate);
			continue;
		}
		first_pending = t0 + (double)sealed / rate;
		deadline = first_pending + max_wait;
		if (appended - sealed >= batch || now_s() >= deadline ||
		    appended == total) {
			u64 i;

			if (bfl_store_commit(st, &e))
				die("commit", &e);
			t = now_s();
			for (i = sealed; i < appended; i++)
				lat[i] = t - (t0 + (double)i / rate);
			sealed = appended;
			r.commits++;
			continue;
		}
		/* Wake when the batch would be full or at the deadline. */
		fill = t0 + (double)(sealed + batch - 1) / rate;
		sleep_until(fill < deadline ? fill : deadline);
	}
	r.rate = (double)total / (t - t0);
	qsort(lat, total, sizeof(*lat), dbl_cmp);
	r.p50 = lat[total / 2];
	r.p99 = lat[(u64)((double)total * 0.99)];
	r.max = lat[total - 1];
	bfl_store_close(st);
	rm_dir(path);
	free(buf);
	free(lat);
	return r;
}

/* -------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_log [-d DIR] [-b BATCH] [-s SECONDS] [-r RATE] [-w MAX_WAIT_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = "/var/tmp";
	unsigned int batch = 1024;
	double secs = 2, rate = 50000, max_wait_ms = 5;
	double t_sha, t_sha65, t_leaf, t_node, t_sig, t_sync, t_atomic, sha_bound;
	struct bfl_err e = { 0 };
	struct tput tp;
	double rate1, rate2;
	struct lat lt;
	int o, i;

	while ((o = getopt(argc, argv, "d:b:s:r:w:h")) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 'b': batch = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': secs = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'w': max_wait_ms = atof(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || !batch || batch > 1 << 20 || secs <= 0 ||
	    rate <= 0 || max_wait_ms <= 0)
		usage();
	for (i = 0; i < 16; i++)
		boot_id[i] = (u8)(0xb0 + i);

	snprintf(base_dir, sizeof(base_dir), "%s/bench_log.XXXXXX", dir);
	if (!mkdtemp(base_dir)) {
		perror("bench_log: mkdtemp");
		return 1;
	}
	rs = bfl_soft_root_new(NULL, NULL, &e);
	if (!rs)
		die("root signer", &e);

	/* Warm up, then measure; the store before and after the primitives
	 * so that both see the same machine. */
	measure_sha(REC_SIZE, secs / 4);
	tp = measure_store(batch, secs);
	t_sha = measure_sha(REC_SIZE, secs);
	t_sha65 = measure_sha(65, secs / 2);
	if (t_sha < 0 || t_sha65 < 0)
		die("SHA-256", NULL);
	t_leaf = measure_leaf_hash(secs / 2);
	t_node = measure_node_hash(secs / 2);
	t_sig = measure_ed25519(secs);
	if (t_sig < 0)
		die("Ed25519", NULL);
	measure_io(batch, secs, &t_sync, &t_atomic);
	{
		struct tput tp2 = measure_store(batch, secs);

		rate1 = tp.rate;
		rate2 = tp2.rate;
		tp.rate = (tp.rate + tp2.rate) / 2;
		tp.commits = (tp.commits + tp2.commits) / 2;
		tp.t_append = (tp.t_append + tp2.t_append) / 2;
		tp.t_commit = (tp.t_commit + tp2.t_commit) / 2;
		tp.t_gen = (tp.t_gen + tp2.t_gen) / 2;
	}
	lt = measure_latency(batch, rate, max_wait_ms / 1000, secs * 2);

	sha_bound = 1 / (2 * t_sha);
	printf("bench_log: %u-byte records, group commit of %u, fdatasync on, in %s%s\n",
	       REC_SIZE, batch, dir,
	       bench_tmpfs_warning(base_dir));
	bench_print_refs(t_sha, t_sig);
	printf("  store: append + commit              %9.0f records/s   ratio to SHA-256 bound %.3f"
	       "  (runs: %.0f, %.0f)\n",
	       tp.rate, tp.rate / sha_bound, rate1, rate2);
	printf("         checkpoints                  %9.1f /s          ratio to Ed25519 rate  %.4f\n",
	       tp.commits, tp.commits * t_sig);
	printf("  where a group commit's time goes (per batch of %u):\n", batch);
	printf("    bfl_store_append                  %9.3f ms  (%.2f us/record)\n",
	       tp.t_append * 1e3, tp.t_append * 1e6 / batch);
	printf("      of which leaf hashing (library)  ~%8.3f ms  (bfl_leaf_hash %.3f us, raw SHA-256 %.3f us)\n",
	       t_leaf * batch * 1e3, t_leaf * 1e6, t_sha * 1e6);
	printf("      and tree nodes (~1 per record)   ~%8.3f ms  (bfl_node_hash %.3f us, raw SHA-256 of 65 bytes %.3f us)\n",
	       t_node * batch * 1e3, t_node * 1e6, t_sha65 * 1e6);
	printf("    bfl_store_commit                  %9.3f ms  ratio to a plain write + fdatasync %.2f\n",
	       tp.t_commit * 1e3, tp.t_commit / t_sync);
	printf("      write + fdatasync of the batch  ~%8.3f ms  (reference, measured on a plain file)\n",
	       t_sync * 1e3);
	printf("      checkpoint: Ed25519 signature    ~%8.3f ms\n", t_sig * 1e3);
	printf("    (not per commit) durable replace  ~%8.3f ms  (temp, fsync, rename, dir fsync: epoch starts only)\n",
	       t_atomic * 1e3);
	printf("    (making the records, not counted)  %8.3f ms\n", tp.t_gen * 1e3);
	printf("  paced producer %.0f records/s, commit at %u records or %.1f ms:\n",
	       rate, batch, max_wait_ms);
	printf("    record -> durable checkpoint      p50 %.2f ms  p99 %.2f ms  max %.2f ms"
	       "  (%llu commits, %.0f records/s sealed)\n",
	       lt.p50 * 1e3, lt.p99 * 1e3, lt.max * 1e3,
	       (unsigned long long)lt.commits, lt.rate);
	printf("  target >= 50000 records/s durable and sealed: %s; p99 < 20 ms: %s\n",
	       rate1 >= 50000 && rate2 >= 50000 ? "met" : "NOT met",
	       lt.p99 < 0.020 ? "met" : "NOT met");

	bfl_root_signer_free(rs);
	rm_dir(base_dir);
	return sink == 0xdeadbeef;
}
