// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The store side of the forwarding tests (t_forward_rsyslog.sh):
 *
 *   fwd_store make DIR N
 *       a store of N records written by the library (DIR/store) with a
 *       software root key (DIR/root.key, DIR/root.pem, its counter
 *       DIR/root.counter): several epochs, small segments, group
 *       commits of a few records, records of both sizes
 *   fwd_store grow DIR COMMITS RECORDS MS
 *       reopens it (recovery, a new epoch) and adds COMMITS group
 *       commits of RECORDS records each, one every MS ms, rotating the
 *       epoch every 7 commits: a store that grows while it is followed
 *   fwd_store size STORE
 *       prints the number of records sealed
 *   fwd_store check STORE FILE [exact]
 *       reads FILE, what the collector's rsyslog wrote (%msg%, one per
 *       line), decodes every line with bfl_fwd_decode (a batch line:
 *       each of its records) and compares it
 *       with the store: every item's bytes exactly the store's, every
 *       item of the store there (none lost), every checkpoint after the
 *       records it seals and every certificate before the first
 *       checkpoint its epoch signs.  "exact": the lines are the stream
 *       from leaf 0 exactly, in order, once each (no resend happened).
 *       Prints "lines L items I duplicates D garbage G restarts R at
 *       X,Y,... batches B records-in-batches N largest M" (garbage: lines that do not decode, a torn write of a
 *       collector killed mid-line, allowed unless exact; a restart: a
 *       record whose index is not one more than the previous record's)
 *       and diagnostics; exit 0 if all holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bflog.h"
#include "fwdmsg.h"
#include "reader.h"
#include "../unit/lib/audit_rec.h"

#define ORIGIN "fwd.example/appliance-7"

static const u8 boot[16] = { 0xf0, 0x4d, 0x11, 0x7e };

static void die(const char *what, const struct bfl_err *e)
{
	fprintf(stderr, "fwd_store: %s: %s\n", what, e ? e->msg : strerror(errno));
	exit(1);
}

static void commit(struct bfl_store *st, unsigned int n, u64 *seq)
{
	u8 buf[BFL_RECORD_MAX];
	struct bfl_err e = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t len = test_audit_rec_v2(buf, boot, 0x5eedULL, *seq,
					       *seq % 3 ? BIOREADER_AUDIT_VERDICT :
					       BIOREADER_AUDIT_SESSION_START);

		(*seq)++;
		if (bfl_store_append(st, buf, len, NULL, NULL, &e))
			die("append", &e);
	}
	if (bfl_store_commit(st, &e))
		die("commit", &e);
}

static const struct bfl_store_opts opts = {
	.segment_max_bytes = 8192, .no_sync = true, .checkpoint_file_ms = -1,
};

static int make(const char *dir, u64 n)
{
	struct bfl_root_signer *rs;
	struct bfl_err e = { 0 };
	struct bfl_store *st;
	char path[4096], cpath[4096];
	u64 seq = 1, done = 0;
	unsigned int c = 0;

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
	if (bfl_store_create(path, ORIGIN, rs, &opts, &st, &e))
		die("create", &e);
	while (done < n) {
		unsigned int k = 1 + (c * 7) % 13;

		if (k > n - done)
			k = (unsigned int)(n - done);
		commit(st, k, &seq);
		done += k;
		if (++c % 9 == 0 && bfl_store_rotate_epoch(st, &e))
			die("rotate", &e);
	}
	bfl_store_close(st);
	bfl_root_signer_free(rs);
	return 0;
}

static int grow(const char *dir, unsigned int commits, unsigned int records,
		unsigned int ms)
{
	struct bfl_root_signer *rs;
	struct bfl_recovery rep;
	struct bfl_err e = { 0 };
	struct bfl_store *st;
	char path[4096], cpath[4096];
	u8 stream[BFL_STREAM_SIZE];
	u64 seq = 0;
	unsigned int i;

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
	for (i = 0; i < commits; i++) {
		struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

		commit(st, records, &seq);
		if ((i + 1) % 7 == 0 && bfl_store_rotate_epoch(st, &e))
			die("rotate", &e);
		nanosleep(&ts, NULL);
	}
	bfl_store_close(st);
	bfl_root_signer_free(rs);
	return 0;
}

/* ------------------------------------------------------------ check */

struct ref {
	enum bfl_fwd_kind kind;
	u64 n;
	u8 *data;
	size_t len;
	u64 epoch;
	unsigned int seen;
};

static struct ref *refs;
static size_t nrefs;

static void load_refs(const char *store)
{
	struct bfl_reader *r;
	struct bfl_rd_item it;
	struct bfl_err e = { 0 };
	size_t cap = 0;
	int k;

	if (bfl_reader_open(store, &r, &e) || bfl_reader_poll(r, &e) ||
	    bfl_reader_seek(r, 0, &e))
		die(store, &e);
	while ((k = bfl_reader_next(r, &it, &e)) == 1) {
		if (nrefs == cap) {
			cap = cap ? 2 * cap : 1024;
			refs = realloc(refs, cap * sizeof(*refs));
			if (!refs)
				die("out of memory", NULL);
		}
		refs[nrefs].kind = it.kind;
		refs[nrefs].n = it.n;
		refs[nrefs].epoch = it.epoch;
		refs[nrefs].len = it.len;
		refs[nrefs].data = malloc(it.len);
		refs[nrefs].seen = 0;
		if (!refs[nrefs].data)
			die("out of memory", NULL);
		memcpy(refs[nrefs].data, it.data, it.len);
		nrefs++;
	}
	if (k < 0)
		die(store, &e);
	bfl_reader_close(r);
}

/* The reference item equal to m, or -1. */
static long find_ref(const struct bfl_fwd_part *m)
{
	size_t i;

	for (i = 0; i < nrefs; i++)
		if (refs[i].kind == m->kind && refs[i].n == m->n &&
		    refs[i].len == m->len && !memcmp(refs[i].data, m->data, m->len))
			return (long)i;
	return -1;
}

/* What check() found so far. */
static char restarts_at[512];
static size_t dups, restarts, bad;
static u64 *rec_seen_at;	/* line number + 1 of the first rec I */
static u64 max_rec, prev_rec = UINT64_MAX;
static bool have_rec;

/* One item read (the @got-th), of line @lines. */
static void check_item(const struct bfl_fwd_part *it, size_t lines, size_t got, bool exact)
{
	long ri = find_ref(it);
	size_t i;

	if (ri < 0) {
		if (bad++ < 5)
			printf("# line %zu: %s %llu is not the store's (%zu bytes)\n", lines,
			       bfl_fwd_kind_name(it->kind), (unsigned long long)it->n, it->len);
		return;
	}
	if (exact && (got > nrefs || (size_t)ri != got - 1)) {
		if (bad++ < 5)
			printf("# line %zu: %s %llu, the stream has item %zu there\n", lines,
			       bfl_fwd_kind_name(it->kind), (unsigned long long)it->n, got - 1);
	}
	if (refs[ri].seen++)
		dups++;
	if (it->kind == BFL_FWD_REC) {
		if (!rec_seen_at[it->n])
			rec_seen_at[it->n] = lines;
		if (have_rec && it->n != prev_rec + 1) {
			restarts++;
			if (strlen(restarts_at) < sizeof(restarts_at) - 24)
				snprintf(restarts_at + strlen(restarts_at),
					 sizeof(restarts_at) - strlen(restarts_at), "%s%llu",
					 restarts > 1 ? "," : "", (unsigned long long)it->n);
		}
		have_rec = true;
		prev_rec = it->n;
	} else if (it->kind == BFL_FWD_CP && it->n &&
		   (it->n > max_rec || !rec_seen_at[it->n - 1])) {
		if (bad++ < 5)
			printf("# line %zu: checkpoint %llu before record %llu\n", lines,
			       (unsigned long long)it->n, (unsigned long long)(it->n - 1));
	}
	if (it->kind == BFL_FWD_CP) {
		for (i = 0; i < nrefs; i++)
			if (refs[i].kind == BFL_FWD_CERT && refs[i].n == refs[ri].epoch &&
			    !refs[i].seen) {
				if (bad++ < 5)
					printf("# line %zu: checkpoint of epoch %llu before its certificate\n",
					       lines, (unsigned long long)refs[ri].epoch);
			}
	}
}

static int check(const char *store, const char *file, bool exact)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, lines = 0, garbage = 0, i;
	size_t got = 0, batches = 0, in_batches = 0, largest = 0;	/* items read */
	ssize_t n;

	load_refs(store);
	if (!f) {
		printf("# %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (i = 0; i < nrefs; i++)
		if (refs[i].kind == BFL_FWD_REC && refs[i].n + 1 > max_rec)
			max_rec = refs[i].n + 1;
	rec_seen_at = calloc(max_rec + 1, sizeof(*rec_seen_at));
	if (!rec_seen_at)
		die("out of memory", NULL);
	while ((n = getline(&line, &cap, f)) > 0) {
		struct bfl_fwd_msg m;
		struct bfl_fwd_part it;
		struct bfl_err e = { 0 };
		unsigned int part;

		lines++;
		if (bfl_fwd_decode(line, (size_t)n, &m, &e)) {
			/* A collector killed mid-write may leave a torn line
			 * (the collector skips those); never in exact mode. */
			garbage++;
			if (exact && bad++ < 5)
				printf("# line %zu does not decode: %s\n", lines, e.msg);
			continue;
		}
		if (m.batch) {
			batches++;
			in_batches += m.count;
			if (m.count > largest)
				largest = m.count;
		}
		for (part = 0; part < m.count; part++) {
			bfl_fwd_msg_part(&m, part, &it);
			got++;
			check_item(&it, lines, got, exact);
		}
		bfl_fwd_msg_free(&m);
	}
	fclose(f);
	free(line);
	for (i = 0; i < nrefs; i++)
		if (!refs[i].seen) {
			if (bad++ < 10)
				printf("# missing: %s %llu\n", bfl_fwd_kind_name(refs[i].kind),
				       (unsigned long long)refs[i].n);
		}
	if (exact && got != nrefs && bad++ < 10)
		printf("# %zu items read, the stream has %zu\n", got, nrefs);
	printf("lines %zu items %zu duplicates %zu garbage %zu restarts %zu at %s batches %zu records-in-batches %zu largest %zu\n",
	       lines, nrefs, dups, garbage, restarts, restarts_at[0] ? restarts_at : "-", batches,
	       in_batches, largest);
	free(rec_seen_at);
	return bad ? 1 : 0;
}

/* The store's sealed size, as the reader finds it. */
static int size(const char *store)
{
	struct bfl_reader *r;
	struct bfl_err e = { 0 };

	if (bfl_reader_open(store, &r, &e) || bfl_reader_poll(r, &e))
		die(store, &e);
	printf("%llu\n", (unsigned long long)bfl_reader_sealed(r));
	bfl_reader_close(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "size"))
		return size(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "make"))
		return make(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 6 && !strcmp(argv[1], "grow"))
		return grow(argv[2], (unsigned int)atoi(argv[3]), (unsigned int)atoi(argv[4]),
			    (unsigned int)atoi(argv[5]));
	if ((argc == 4 || (argc == 5 && !strcmp(argv[4], "exact"))) &&
	    !strcmp(argv[1], "check"))
		return check(argv[2], argv[3], argc == 5);
	fprintf(stderr, "usage: fwd_store make DIR N\n"
		"       fwd_store grow DIR COMMITS RECORDS MS\n"
		"       fwd_store size STORE\n"
		"       fwd_store check STORE FILE [exact]\n");
	return 2;
}
