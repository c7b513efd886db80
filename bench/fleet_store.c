// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The appliances' stores of bench/fleet-forward.sh, written by the store
 * library with a software root key:
 *
 *   fleet_store make DIR ORIGIN N BATCH
 *       DIR/store: N records (the current record format, two in three
 *       verdicts, one in three session starts with a reference) of the
 *       log ORIGIN, a group commit (and so a checkpoint) every BATCH
 *       records, one epoch, bioflowd's segment size limit; the root key
 *       DIR/root.key, DIR/root.pem, its counter DIR/root.counter
 *   fleet_store grow DIR RATE SECONDS COMMIT_MS OUT
 *       reopens it (a new epoch) and appends RATE records a second for
 *       SECONDS, a group commit every COMMIT_MS ms; after each commit
 *       writes "SIZE NANOSECONDS" (the sealed size and CLOCK_REALTIME
 *       when the commit returned) to OUT, flushed
 *
 * No fsync (the store's no_sync test option): the benchmark measures the
 * forwarding chain, not this machine's disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bflog.h"
#include "../tests/unit/lib/audit_rec.h"

static const u8 boot[16] = { 0xb0, 0x07, 0xf1, 0xee };

static void die(const char *what, const struct bfl_err *e)
{
	fprintf(stderr, "fleet_store: %s: %s\n", what, e ? e->msg : strerror(errno));
	exit(1);
}

static void append(struct bfl_store *st, unsigned int n, u64 *seq)
{
	u8 buf[BFL_RECORD_MAX];
	struct bfl_err e = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t len = test_audit_rec_v2(buf, boot, 0xf1eeULL, *seq,
					       *seq % 3 ? BIOREADER_AUDIT_VERDICT :
					       BIOREADER_AUDIT_SESSION_START);

		(*seq)++;
		if (bfl_store_append(st, buf, len, NULL, NULL, &e))
			die("append", &e);
	}
}

static const struct bfl_store_opts opts = { .no_sync = true };

static int make(const char *dir, const char *origin, u64 n, unsigned int batch)
{
	struct bfl_root_signer *rs;
	struct bfl_err e = { 0 };
	struct bfl_store *st;
	char path[4096], cpath[4096];
	u64 seq = 1, done = 0;

	snprintf(cpath, sizeof(cpath), "%s/root.counter", dir);
	rs = bfl_soft_root_new(NULL, cpath, &e);
	if (!rs)
		die("root key", &e);
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	if (bfl_write_pubkey_pem(rs->key.pk, path, &e))
		die(path, &e);
	snprintf(path, sizeof(path), "%s/root.key", dir);
	if (bfl_soft_root_save_key(rs, path, &e))
		die(path, &e);
	snprintf(path, sizeof(path), "%s/store", dir);
	if (bfl_store_create(path, origin, rs, &opts, &st, &e))
		die("create", &e);
	while (done < n) {
		unsigned int k = n - done < batch ? (unsigned int)(n - done) : batch;

		append(st, k, &seq);
		if (bfl_store_commit(st, &e))
			die("commit", &e);
		done += k;
	}
	bfl_store_close(st);
	bfl_root_signer_free(rs);
	return 0;
}

static u64 now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static int grow(const char *dir, unsigned int rate, unsigned int secs, unsigned int ms,
		const char *out)
{
	struct bfl_root_signer *rs;
	struct bfl_recovery rep;
	struct bfl_err e = { 0 };
	struct bfl_store *st;
	char path[4096], cpath[4096];
	u8 stream[BFL_STREAM_SIZE];
	u64 seq = 0, start, due = 0, added = 0, total = (u64)rate * secs;
	FILE *f = fopen(out, "w");

	if (!f)
		die(out, NULL);
	snprintf(path, sizeof(path), "%s/root.key", dir);
	snprintf(cpath, sizeof(cpath), "%s/root.counter", dir);
	rs = bfl_soft_root_load(path, cpath, &e);
	if (!rs)
		die(path, &e);
	snprintf(path, sizeof(path), "%s/store", dir);
	if (bfl_store_open(path, rs, &opts, &st, &rep, &e))
		die("open", &e);
	if (!bfl_store_last_seq(st, stream, &seq))
		seq = 0;
	seq++;
	start = now_ns(CLOCK_MONOTONIC);
	for (u64 tick = 1; added < total; tick++) {
		u64 at = start + tick * ms * 1000000ULL, t = now_ns(CLOCK_MONOTONIC);
		struct timespec ts;

		if (at > t) {
			ts.tv_sec = (time_t)((at - t) / 1000000000ULL);
			ts.tv_nsec = (long)((at - t) % 1000000000ULL);
			nanosleep(&ts, NULL);
		}
		/* The records due by now at RATE a second. */
		due = (now_ns(CLOCK_MONOTONIC) - start) * rate / 1000000000ULL;
		if (due > total)
			due = total;
		if (due <= added)
			continue;
		append(st, (unsigned int)(due - added), &seq);
		if (bfl_store_commit(st, &e))
			die("commit", &e);
		added = due;
		fprintf(f, "%llu %llu\n", (unsigned long long)bfl_store_size(st),
			(unsigned long long)now_ns(CLOCK_REALTIME));
		fflush(f);
	}
	fclose(f);
	bfl_store_close(st);
	bfl_root_signer_free(rs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "make") && atoi(argv[5]) > 0)
		return make(argv[2], argv[3], strtoull(argv[4], NULL, 10),
			    (unsigned int)atoi(argv[5]));
	if (argc == 7 && !strcmp(argv[1], "grow") && atoi(argv[5]) > 0)
		return grow(argv[2], (unsigned int)atoi(argv[3]), (unsigned int)atoi(argv[4]),
			    (unsigned int)atoi(argv[5]), argv[6]);
	fprintf(stderr, "usage: fleet_store make DIR ORIGIN N BATCH\n"
		"       fleet_store grow DIR RATE SECONDS COMMIT_MS OUT\n");
	return 2;
}
