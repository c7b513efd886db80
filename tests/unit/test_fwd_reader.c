// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the store reader (daemon/log/reader.c), on stores the
 * library writes: the stream from 0 is every sealed item once, in store
 * order, with each epoch's certificate before the first checkpoint its
 * epoch signs; nothing unsealed comes out; a seek starts after record
 * W-1; consistency proofs hold; a torn tail is waited on, a sealed
 * record that no longer matches its leaf hash is never passed on, and
 * a segment cut below what was read as sealed is an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bflog.h"
#include "internal.h"
#include "reader.h"
#include "ktap.h"
#include "lib/audit_rec.h"
#include "lib/store_files.h"

#define ORIGIN "test.example/reader"

static const u8 boot[16] = { 0x7e, 0x57 };
static u64 seq = 1;
static char dir[256], store[300];

struct it {
	enum bfl_fwd_kind kind;
	u64 n, epoch;
	size_t len;
};

static struct it items[4096];

static void add(struct bfl_store *st, unsigned int n)
{
	u8 buf[BFL_RECORD_MAX];
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t len = test_audit_rec_v2(buf, boot, 1, seq,
					       seq % 4 ? BIOREADER_AUDIT_VERDICT :
					       BIOREADER_AUDIT_SESSION_START);

		seq++;
		bfl_store_append(st, buf, len, NULL, NULL, NULL);
	}
}

/* Polls and reads the whole stream from @from into items[]; count or -1. */
static int stream(struct bfl_reader *r, u64 from)
{
	struct bfl_rd_item it;
	struct bfl_err e = { 0 };
	int n = 0, k;

	if (bfl_reader_poll(r, &e) || bfl_reader_seek(r, from, &e)) {
		ktap_diag("stream: %s", e.msg);
		return -1;
	}
	while ((k = bfl_reader_next(r, &it, &e)) == 1 && n < 4096) {
		items[n].kind = it.kind;
		items[n].n = it.n;
		items[n].epoch = it.epoch;
		items[n].len = it.len;
		n++;
	}
	if (k < 0) {
		ktap_diag("next: %s", e.msg);
		return -1;
	}
	return n;
}

/* The checkpoint sizes, in store order, walking the segments
 * independently of the reader. */
static int cp_sizes(u64 *sizes, int max)
{
	struct bfl_seg_list l;
	char path[400];
	unsigned int i;
	u64 recs = 0;
	int n = 0, fd;

	snprintf(path, sizeof(path), "%s/segments", store);
	fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || bfl_list_segments(fd, &l, NULL))
		return -1;
	for (i = 0; i < l.n; i++) {
		struct bfl_item it;
		size_t len, off = BFL_SEG_HDR_SIZE;
		u8 *buf;

		snprintf(path, sizeof(path), "%s/segments/%s", store, l.v[i].name);
		buf = slurp(path, &len);
		while (buf && bfl_seg_next(buf, len, off, &it, NULL) == 1) {
			if (it.type == BFL_ITEM_RECORD)
				recs++;
			else if (n < max)
				sizes[n++] = recs;
			off += it.len;
		}
		free(buf);
	}
	free(l.v);
	close(fd);
	return n;
}

/* The stream from 0 checked against the store: info first, records
 * 0..N-1 in order, each checkpoint after exactly its records, certs
 * 1..E each once and before their epoch's first checkpoint. */
static bool stream_ok(int n, u64 want_recs, const u64 *sizes, int nsizes)
{
	u64 recs = 0, next_cert = 1;
	int i, cps = 0;

	if (n < 1 || items[0].kind != BFL_FWD_INFO)
		return false;
	for (i = 1; i < n; i++) {
		switch (items[i].kind) {
		case BFL_FWD_REC:
			if (items[i].n != recs++)
				return false;
			break;
		case BFL_FWD_CP:
			if (items[i].n != recs || cps >= nsizes || sizes[cps++] != recs ||
			    items[i].epoch >= next_cert)
				return false;
			break;
		case BFL_FWD_CERT:
			if (items[i].n != next_cert++)
				return false;
			break;
		default:
			return false;
		}
	}
	return recs == want_recs && cps == nsizes;
}

int main(void)
{
	const struct bfl_store_opts o = { .segment_max_bytes = 2048, .no_sync = true,
					  .checkpoint_file_ms = -1 };
	struct bfl_root_signer *rs;
	struct bfl_store *st;
	struct bfl_reader *r, *r2;
	struct bfl_err e = { 0 };
	u64 sizes[512], sealed;
	int n, ns, i, ok;

	ktap_plan(13);
	snprintf(dir, sizeof(dir), "/tmp/test_fwd_reader.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(store, sizeof(store), "%s/store", dir);
	rs = bfl_soft_root_new(NULL, NULL, &e);
	if (!rs || bfl_store_create(store, ORIGIN, rs, &o, &st, &e) ||
	    bfl_reader_open(store, &r, &e)) {
		ktap_diag("setup: %s", e.msg);
		return 1;
	}

	n = stream(r, 0);
	ktap_check(n == 3 && items[0].kind == BFL_FWD_INFO && items[1].kind == BFL_FWD_CERT &&
		   items[1].n == 1 && items[2].kind == BFL_FWD_CP && items[2].n == 0,
		   "a new store: info, cert 1, the checkpoint of size 0");

	/* Several segments and epochs, group commits of various sizes. */
	for (i = 0; i < 30; i++) {
		add(st, 1 + (unsigned int)(i * 5) % 9);
		bfl_store_commit(st, &e);
		if (i % 11 == 10)
			bfl_store_rotate_epoch(st, &e);
	}
	sealed = bfl_store_sealed_size(st);
	n = stream(r, 0);
	ns = cp_sizes(sizes, 512);
	ktap_check(stream_ok(n, sealed, sizes, ns) && bfl_reader_sealed(r) == sealed,
		   "the stream from 0: every sealed item once, in store order, certificates first");

	/* Appended but not committed: not sealed, not in the stream. */
	add(st, 5);
	ok = stream(r, 0) == n && bfl_reader_sealed(r) == sealed;
	bfl_store_commit(st, &e);
	ok = ok && stream(r, 0) == n + 6 && bfl_reader_sealed(r) == sealed + 5;
	sealed += 5;
	ktap_check(ok, "records not yet sealed are not returned; their commit releases them");

	/* Seeks: after record W-1, the checkpoints of size W first. */
	ns = cp_sizes(sizes, 512);
	ok = 1;
	for (i = 0; i < ns && ok; i++) {
		int j = 1;

		n = stream(r, sizes[i]);
		ok = n > 1 && items[0].kind == BFL_FWD_INFO;
		while (ok && j < n && items[j].kind == BFL_FWD_CERT)
			j++;
		ok = ok && j < n && items[j].kind == BFL_FWD_CP && items[j].n == sizes[i];
		while (ok && j < n && items[j].kind != BFL_FWD_REC)
			j++;
		ok = ok && (j == n ? sizes[i] == sealed : items[j].n == sizes[i]);
		if (!ok)
			ktap_diag("seek %llu: %d items, item %d", (unsigned long long)sizes[i], n, j);
	}
	/* W not a checkpoint size: record W right after the info. */
	for (i = 0; i + 1 < ns && sizes[i] + 1 >= sizes[i + 1]; i++)
		;
	n = i + 1 < ns ? stream(r, sizes[i] + 1) : -1;
	ok = ok && n > 1 && items[1].kind == BFL_FWD_REC && items[1].n == sizes[i] + 1;
	ktap_check(ok, "a seek to W: info, the checkpoints of size W (certificate first), record W");
	ktap_check(bfl_reader_seek(r, sealed + 1, &e) == -ERANGE, "a seek beyond the sealed size -> ERANGE");

	/* Consistency proofs between every two checkpoint sizes. */
	ok = 1;
	for (i = 1; i < ns && ok; i++) {
		bfl_hash proof[BFL_PROOF_MAX], r1, r2h;
		unsigned int len;
		u64 m = sizes[i / 2], s = sizes[i];

		ok = !bfl_reader_consistency(r, m, s, proof, &len) &&
		     !bfl_reader_root(r, m, r1) && !bfl_reader_root(r, s, r2h) &&
		     (m == 0 || !bfl_verify_consistency(m, s, r1, r2h, proof, len));
	}
	ktap_check(ok && bfl_reader_consistency(r, 1, sealed + 1, NULL, NULL) == -ERANGE,
		   "consistency proofs from the reader's leaves hold; none past the sealed size");

	/* A torn tail after the last checkpoint: waited on, then gone. */
	{
		struct bfl_seg_list l;
		char path[400], last[400];
		struct stat sb;
		int fd;
		u8 zeros[100] = { 0 };

		snprintf(path, sizeof(path), "%s/segments", store);
		fd = open(path, O_RDONLY | O_DIRECTORY);
		bfl_list_segments(fd, &l, NULL);
		close(fd);
		snprintf(last, sizeof(last), "%s/segments/%s", store, l.v[l.n - 1].name);
		stat(last, &sb);
		fd = open(last, O_WRONLY | O_APPEND);
		ok = fd >= 0 && write(fd, zeros, sizeof(zeros)) == sizeof(zeros);
		close(fd);
		ok = ok && !bfl_reader_poll(r, &e) && bfl_reader_sealed(r) == sealed &&
		     bfl_reader_tail_note(r)[0];
		ktap_check(ok, "zeros after the last checkpoint: no error, nothing more sealed, a note");
		ok = !truncate(last, sb.st_size) && !bfl_reader_poll(r, &e) &&
		     !bfl_reader_tail_note(r)[0];
		ktap_check(ok, "the tail cut again: the note is gone");

		/* A sealed record altered, for a new reader: never passed on. */
		snprintf(path, sizeof(path), "%s/segments/%s", store, l.v[1].name);
		{
			size_t len;
			u8 *b = slurp(path, &len);

			struct bfl_item it;

			/* The stored leaf hash of the segment's first record. */
			ok = b && bfl_seg_next(b, len, BFL_SEG_HDR_SIZE, &it, NULL) == 1 &&
			     it.type == BFL_ITEM_RECORD;
			if (ok) {
				b[BFL_SEG_HDR_SIZE + it.data_len] ^= 1;
				ok = !spit(path, b, len);
			}
			free(b);
		}
		ok = ok && !bfl_reader_open(store, &r2, &e) && !bfl_reader_poll(r2, &e) &&
		     bfl_reader_sealed(r2) < l.v[1].first + 1 &&
		     strstr(bfl_reader_tail_note(r2), "does not match its stored leaf hash");
		n = ok ? stream(r2, 0) : -1;
		for (i = 0; i < n; i++)
			if (items[i].kind == BFL_FWD_REC && items[i].n >= l.v[1].first)
				ok = 0;
		bfl_reader_close(r2);
		ktap_check(ok, "a sealed record whose stored leaf hash does not match: the stream stops before it");

		/* A segment the reader had read as sealed, cut. */
		snprintf(path, sizeof(path), "%s/segments/%s", store, l.v[l.n - 1].name);
		ok = !truncate(path, BFL_SEG_HDR_SIZE + 8);
		ktap_check(ok && bfl_reader_poll(r, &e) == -EUCLEAN,
			   "a segment cut below what was read as sealed -> EUCLEAN");
		ktap_diag("%s", e.msg);
		free(l.v);
	}

	/* A store that is not one. */
	{
		char bad[400];

		snprintf(bad, sizeof(bad), "%s/nothing", dir);
		ktap_check(bfl_reader_open(bad, &r2, &e) == -ENOENT, "no store there -> ENOENT");
		snprintf(bad, sizeof(bad), "%s/log-info", store);
		spit(bad, "bioflow-store v1\norigin x\n", 26);
		ktap_check(bfl_reader_open(store, &r2, &e) < 0, "a log-info of another format is refused");
		ktap_check(!strcmp(bfl_reader_origin(r), ORIGIN), "the origin is the store's");
	}

	bfl_reader_close(r);
	bfl_store_close(st);
	bfl_root_signer_free(rs);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			ktap_diag("could not remove %s", dir);
	}
	return ktap_finish();
}
