// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the store (daemon/log/store.c): group commit, reopen
 * with a new epoch, recovery from a crash at each point of a commit and
 * of an epoch start, redelivery filtering, segment and epoch rotation,
 * inclusion proof export, and refusal to continue a damaged or foreign
 * store.  Each state is checked with the verifier.  Store format v2
 * (checkpoint entries in the segments): a torn or zeroed last entry, a
 * crash inside a commit, a lost checkpoint file, the file ahead of the
 * entries, a signed entry after damage, a v1 store, the lagging file.
 * Record format versions: version-1 records (every one 160 bytes) and
 * version-2 records (a 232-byte SESSION_START with its reference block)
 * in one store, which verifies; a bad reference block is refused.
 */
#include <endian.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "internal.h"
#include "ktap.h"
#include "lib/audit_rec.h"
#include "lib/store_files.h"

static char tmp[200];
static char dir[256], counter[256];
static struct bfl_root_signer *rs;
static const u8 boot_a[16] = { 0xa1, 0xa2, 0xa3, 0xa4 };

static void mkrec(u8 *buf, const u8 boot[16], u64 seq, u32 type)
{
	test_audit_rec(buf, boot, 0x5eed0000ULL | boot[0], seq, type);
}

/* Appends seq first..first+n-1 of boot_a; returns the appended count. */
static unsigned int put(struct bfl_store *st, u64 first, unsigned int n)
{
	u8 *buf = malloc((size_t)n * BFL_RECORD_MIN);
	unsigned int i, app = 0;

	for (i = 0; i < n; i++)
		mkrec(buf + (size_t)i * BFL_RECORD_MIN, boot_a, first + i,
		      i % 2 ? BIOREADER_AUDIT_VERDICT : BIOREADER_AUDIT_SESSION_START);
	if (bfl_store_append(st, buf, (size_t)n * BFL_RECORD_MIN, &app, NULL, NULL))
		app = 0;
	free(buf);
	return app;
}

static enum bfl_verdict verify(const char **first_kind, u64 *records)
{
	struct bfl_verify_result res;
	const struct bfl_finding *f;
	enum bfl_verdict v;

	bfl_verify_store(dir, &rs->key, NULL, &res);
	f = bfl_first_error(&res);
	if (!f && res.nfind)
		f = &res.find[0];
	if (f)
		ktap_diag("verifier: %s %s: %s", f->kind, f->where, f->msg);
	if (first_kind)
		*first_kind = f ? f->kind : "";
	if (records)
		*records = res.records;
	v = res.verdict;
	bfl_verify_result_free(&res);
	return v;
}

static const struct bfl_store_opts fast = { .no_sync = false };

static int reopen(struct bfl_store **st, struct bfl_recovery *rep)
{
	struct bfl_err e = { 0 };
	int r = bfl_store_open(dir, rs, &fast, st, rep, &e);

	if (r)
		ktap_diag("open: %s", e.msg);
	return r;
}

static off_t seg_size(const char *name)
{
	char p[400];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/segments/%s", dir, name);
	return stat(p, &sb) ? -1 : sb.st_size;
}

/* ------------------------------------------- store format v2 helpers */

#define ENTRY (BFL_RECORD_MIN + BFL_ENTRY_EXTRA)

/* The checkpoint file is only a copy: keep it from being refreshed by a
 * commit during these tests, so that it is where a crash leaves it. */
static const struct bfl_store_opts lag = { .checkpoint_file_ms = 60000 };

/* A power cut: nothing more reaches the disk (bfl_store_close() would
 * refresh the checkpoint file, which a dead process does not do). */
static void crash(struct bfl_store *st)
{
	st->failed = true;
	bfl_store_close(st);
}

static int reopen_with(const struct bfl_store_opts *o, struct bfl_store **st,
		       struct bfl_recovery *rep)
{
	struct bfl_err e = { 0 };
	int r = bfl_store_open(dir, rs, o, st, rep, &e);

	if (r)
		ktap_diag("open: %s", e.msg);
	return r;
}

/* Whether the file at path holds exactly b[0..len). */
static bool same(const char *path, const u8 *b, size_t len)
{
	size_t l;
	u8 *x = slurp(path, &l);
	bool eq = x && b && l == len && !memcmp(x, b, len);

	free(x);
	return eq;
}

/* Path of the store's last segment (names sort as their indices). */
static int last_seg(char *path, size_t cap)
{
	char p[400], best[64] = "";
	struct dirent *d;
	DIR *dd;

	snprintf(p, sizeof(p), "%s/segments", dir);
	dd = opendir(p);
	if (!dd)
		return -1;
	while ((d = readdir(dd)))
		if (strlen(d->d_name) == 24 && !strcmp(d->d_name + 20, ".seg") &&
		    strcmp(d->d_name, best) > 0)
			snprintf(best, sizeof(best), "%.24s", d->d_name);
	closedir(dd);
	snprintf(path, cap, "%s/segments/%s", dir, best);
	return best[0] ? 0 : -1;
}

/* Entries of type t in the segment at path: the one skip places before
 * the last (0: the last), its offset and length. */
static int nth_last(const char *path, enum bfl_item_type t, unsigned int skip,
		    size_t *off, size_t *len)
{
	struct bfl_item it;
	size_t blen, o = BFL_SEG_HDR_SIZE, *offs = NULL, *lens = NULL;
	unsigned int n = 0, cap = 0;
	u8 *b = slurp(path, &blen);
	int r = -1;

	while (b && bfl_seg_next(b, blen, o, &it, NULL) > 0) {
		if (it.type == t) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				offs = realloc(offs, cap * sizeof(*offs));
				lens = realloc(lens, cap * sizeof(*lens));
				if (!offs || !lens)
					break;
			}
			offs[n] = o;
			lens[n++] = it.len;
		}
		o += it.len;
	}
	if (offs && lens && skip < n) {
		*off = offs[n - 1 - skip];
		*len = lens[n - 1 - skip];
		r = 0;
	}
	free(offs);
	free(lens);
	free(b);
	return r;
}

/* Files in a directory of the store. */
static int count_files(const char *sub)
{
	char p[400];
	struct dirent *d;
	DIR *dd;
	int n = 0;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	dd = opendir(p);
	if (!dd)
		return -1;
	while ((d = readdir(dd)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dd);
	return n;
}

/* Whether the checkpoint file is the store's last checkpoint entry; the
 * tree size it names in *size. */
static bool file_is_last_entry(u64 *size)
{
	struct bfl_leaves lv;
	struct bfl_checkpoint cp;
	struct bfl_note *note = malloc(sizeof(*note));
	char p[400];
	size_t len;
	u8 *b;
	bool eq = false;

	*size = (u64)-1;
	snprintf(p, sizeof(p), "%s/checkpoint", dir);
	b = slurp(p, &len);
	if (b && note && !bfl_checkpoint_open((char *)b, len, &cp, note, NULL))
		*size = cp.size;
	if (b && !bfl_store_load_leaves(dir, &lv, NULL)) {
		eq = lv.last_cp && lv.last_cp_len == len && !memcmp(lv.last_cp, b, len);
		bfl_leaves_free(&lv);
	}
	free(note);
	free(b);
	return eq;
}

/* A fresh store in dir with two commits, of 10 and of n2 records, then
 * a power cut.  0 on success. */
static int two_commits(const struct bfl_store_opts *o, unsigned int n2)
{
	struct bfl_store *st;
	struct bfl_err e = { 0 };
	char cmd[300];
	int ok;

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) || bfl_store_create(dir, "bioflow.example/cut", rs, o, &st, &e))
		return -1;
	ok = put(st, 1, 10) == 10 && !bfl_store_commit(st, &e) &&
	     put(st, 11, n2) == n2 && !bfl_store_commit(st, &e);
	crash(st);
	return ok ? 0 : -1;
}

/* Whether opening the store fails with -EUCLEAN and leaves the segment
 * at path as b[0..len). */
static bool refused(const char *path, const u8 *b, size_t len)
{
	struct bfl_recovery rep;
	struct bfl_store *st;
	int r = reopen_with(&lag, &st, &rep);

	if (!r)
		bfl_store_close(st);
	return r == -EUCLEAN && same(path, b, len);
}

/*
 * What recovery may cut and what it must not: damage that a power cut
 * cannot make, in the last (acknowledged) commit, is refused; what an
 * interrupted commit leaves is cut, and the verifier only warns on it.
 */
static void interrupted_commits(void)
{
	struct bfl_recovery rep;
	struct bfl_store *st = NULL;
	const char *kind;
	char p[400];
	size_t len, off, elen, rec;
	u8 *b = NULL;
	int r;
	bool ok;

	/* one bit of the last checkpoint entry's magic */
	ok = !two_commits(NULL, 5) && !last_seg(p, sizeof(p)) &&
	     !nth_last(p, BFL_ITEM_CHECKPOINT, 0, &off, &elen) && (b = slurp(p, &len));
	if (ok) {
		b[off + 7] ^= 0x01;
		ok = !spit(p, b, len);
	}
	ktap_check(ok && refused(p, b, len),
		   "a flipped bit in the last checkpoint entry's magic: open refuses, nothing cut");
	free(b);
	b = NULL;

	/* the last record's size made to cover the last checkpoint entry */
	ok = !two_commits(NULL, 5) && !last_seg(p, sizeof(p)) &&
	     !nth_last(p, BFL_ITEM_RECORD, 0, &rec, &elen) && (b = slurp(p, &len));
	if (ok) {
		size_t ns = len - rec - BFL_ENTRY_EXTRA;

		b[rec + 6] = (u8)ns;
		b[rec + 7] = (u8)(ns >> 8);
		ok = !spit(p, b, len);
	}
	ktap_check(ok && refused(p, b, len),
		   "a record's size stretched over the last checkpoint entry: open refuses");
	free(b);
	b = NULL;

	/* the second commit interrupted: zeros from a page boundary on */
	ok = !two_commits(NULL, 30) && !last_seg(p, sizeof(p)) &&
	     !nth_last(p, BFL_ITEM_CHECKPOINT, 1, &off, &elen) && (b = slurp(p, &len));
	if (ok) {
		size_t z = (off + elen + 4095) & ~(size_t)4095;

		ok = z < len;
		if (ok) {
			memset(b + z, 0, len - z);
			ok = !spit(p, b, len);
		}
	}
	ktap_check(ok && verify(&kind, NULL) == BFL_WARN && !strcmp(kind, "torn-tail"),
		   "a commit zero-filled from a page boundary: the verifier warns (torn-tail)");
	r = reopen_with(&lag, &st, &rep);
	ktap_check(ok && !r && rep.sealed_size == 10 && rep.discarded_records >= 1,
		   "and open cuts it back to the first commit");
	if (!r)
		bfl_store_close(st);
	free(b);
	b = NULL;

	/* a segment created at a rollover, empty when the power went */
	{
		struct bfl_store_opts so = { .segment_max_bytes = 2048,
					     .checkpoint_file_ms = 60000 };

		ok = !two_commits(&so, 5) && count_files("segments") > 1 &&
		     !last_seg(p, sizeof(p)) && !truncate(p, 0);
		ktap_check(ok && verify(&kind, NULL) == BFL_WARN,
			   "an empty last segment: the verifier warns");
		r = reopen_with(&so, &st, &rep);
		ktap_check(ok && !r && verify(NULL, NULL) == BFL_OK,
			   "and open recovers");
		if (!r)
			bfl_store_close(st);
	}

	/* two crashes at epoch starts: the file from epoch 1, epoch 2
	 * certified and empty, epoch 3's first entry durable, the file not
	 * yet replaced -- a state the verifier must not call a rollback */
	{
		char fp[400];
		size_t flen;
		u8 *f1 = NULL;

		snprintf(fp, sizeof(fp), "%s/checkpoint", dir);
		ok = !two_commits(NULL, 5);
		if (ok) {
			r = reopen_with(&lag, &st, &rep);	/* epoch 2 */
			ok = !r;
			if (!r)
				bfl_store_close(st);
			ok = ok && (f1 = slurp(fp, &flen));	/* the file: epoch 2 */
		}
		ok = ok && !reopen_with(&lag, &st, &rep);	/* epoch 3 */
		if (ok) {
			crash(st);
			ok = !last_seg(p, sizeof(p)) &&
			     !nth_last(p, BFL_ITEM_CHECKPOINT, 0, &off, &elen) &&
			     (b = slurp(p, &len)) && !spit(p, b, off) &&	/* no entry of 3 */
			     !spit(fp, f1, flen);
		}
		ok = ok && !reopen_with(&lag, &st, &rep);	/* epoch 4, one entry */
		if (ok) {
			crash(st);
			ok = !spit(fp, f1, flen);	/* the file still from epoch 2 */
		}
		ktap_check(ok && verify(&kind, NULL) == BFL_OK,
			   "crashes at two epoch starts in a row: no false rollback");
		free(f1);
		free(b);
		b = NULL;
	}
}

/* The records at index..index+n-1 of the leaves: what test_audit_rec*()
 * wrote for seq first.. (version 1 up to @v1_last, version 2 after). */
static int leaves_match(const struct bfl_leaves *lv, u64 first, u64 v1_last,
			u64 n)
{
	u8 want[BIOREADER_AUDIT_RECORD_MAX];
	u64 i;

	if (lv->n != n)
		return 0;
	for (i = 0; i < n; i++) {
		u64 seq = first + i;
		u32 type = seq % 2 ? BIOREADER_AUDIT_SESSION_START :
				     BIOREADER_AUDIT_VERDICT;
		struct bioreader_audit_reference ref;
		struct bfl_record r;
		size_t len = BFL_RECORD_MIN;
		int k;

		if (seq <= v1_last)
			test_audit_rec(want, boot_a, 0x5eed0000ULL | boot_a[0], seq, type);
		else
			len = test_audit_rec_v2(want, boot_a, 0x5eed0000ULL | boot_a[0],
						seq, type);
		k = bfl_record_parse(lv->rec[i], lv->rec_len[i], &r, NULL);
		if (k != (int)len || lv->rec_len[i] != len ||
		    memcmp(lv->rec[i], want, len)) {
			ktap_diag("leaf %llu: %zu bytes, want %zu", (unsigned long long)i,
				  lv->rec_len[i], len);
			return 0;
		}
		if (r.has_ref != (seq > v1_last && type == BIOREADER_AUDIT_SESSION_START))
			return 0;
		if (!r.has_ref)
			continue;
		test_audit_ref(r.session_id, &ref);
		if (r.ref_source != le32toh(ref.source) ||
		    r.ref_flags != le32toh(ref.flags) ||
		    memcmp(r.ref_issuer, ref.issuer_sha256, 32) ||
		    memcmp(r.ref_signer, ref.signer_sha256, 32))
			return 0;
	}
	return 1;
}

/* Version-1 records, then version-2 ones, in one store. */
static void mixed_versions(void)
{
	static u8 buf[40 * BIOREADER_AUDIT_RECORD_MAX];
	struct bfl_verify_result res;
	struct bfl_leaves lv = { 0 };
	struct bfl_store *st = NULL;
	struct bfl_err e = { 0 };
	char mdir[300];
	size_t len = 0, off;
	unsigned int app = 0, i;
	int r, ok;

	snprintf(mdir, sizeof(mdir), "%s/mixed", tmp);
	r = bfl_store_create(mdir, "bioflow.example/kiosk-2", rs, &fast, &st, &e);
	ok = !r;
	/* seq 1..20: version 1, as an older driver sent them */
	for (i = 0; ok && i < 20; i++) {
		test_audit_rec(buf + len, boot_a, 0x5eed0000ULL | boot_a[0], 1 + i,
			       (1 + i) % 2 ? BIOREADER_AUDIT_SESSION_START :
					     BIOREADER_AUDIT_VERDICT);
		len += BFL_RECORD_MIN;
	}
	ok = ok && !bfl_store_append(st, buf, len, &app, NULL, &e) && app == 20 &&
	     !bfl_store_commit(st, &e);
	/* seq 21..60: version 2, packed as read() returns them */
	for (len = 0, i = 0; i < 40; i++)
		len += test_audit_rec_v2(buf + len, boot_a, 0x5eed0000ULL | boot_a[0],
					 21 + i, (21 + i) % 2 ? BIOREADER_AUDIT_SESSION_START :
								BIOREADER_AUDIT_VERDICT);
	ok = ok && len == 20 * 160 + 20 * 232 &&
	     !bfl_store_append(st, buf, len, &app, NULL, &e) && app == 40 &&
	     !bfl_store_commit(st, &e);
	if (!ok)
		ktap_diag("mixed store: %s", e.msg);
	ktap_check(ok, "store: 20 version-1 records, then 40 version-2 ones (232-byte SESSION_START) appended and committed");

	/* a SESSION_START whose reference block breaks the driver's rules */
	off = test_audit_rec_v2(buf, boot_a, 0x5eed0000ULL | boot_a[0], 61,
				BIOREADER_AUDIT_VERDICT);
	len = off + test_audit_rec_v2(buf + off, boot_a, 0x5eed0000ULL | boot_a[0], 63,
				      BIOREADER_AUDIT_SESSION_START);
	/* session 32 declares ICAO PA: clear its signer fingerprint */
	memset(buf + off + BFL_RECORD_MIN + 40, 0, 32);
	r = st ? bfl_store_append(st, buf, len, &app, NULL, &e) : -1;
	ktap_check(r == -EINVAL && strstr(e.msg, "record at byte 160") &&
		   strstr(e.msg, "signer") && st && bfl_store_size(st) == 60,
		   "store: a batch with an ICAO PA reference without a signer fingerprint is refused whole");
	if (r != -EINVAL)
		ktap_diag("append: %d %s", r, e.msg);
	if (st)
		bfl_store_close(st);

	bfl_verify_store(mdir, &rs->key, NULL, &res);
	ok = res.verdict == BFL_OK && res.records == 60;
	if (!ok && bfl_first_error(&res))
		ktap_diag("verifier: %s", bfl_first_error(&res)->msg);
	bfl_verify_result_free(&res);
	ktap_check(ok, "verifier: the store of version-1 and version-2 records is OK");
	ok = !bfl_store_load_leaves(mdir, &lv, &e) && leaves_match(&lv, 1, 20, 60);
	bfl_leaves_free(&lv);
	ktap_check(ok, "reloaded: every record byte for byte, each reference block as declared");
}

int main(void)
{
	struct bfl_store *st = NULL;
	struct bfl_recovery rep;
	struct bfl_err e = { 0 };
	const char *kind;
	u64 n, seq;
	u8 stream[BFL_STREAM_SIZE];
	unsigned int i, app, skip;
	int r, ok;

	snprintf(tmp, sizeof(tmp), "%s/bfl-store-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(tmp))
		return 1;
	snprintf(dir, sizeof(dir), "%s/log", tmp);
	snprintf(counter, sizeof(counter), "%s/nv-counter", tmp);
	rs = bfl_soft_root_new(NULL, counter, &e);
	if (!rs)
		return 1;
	ktap_plan(55);

	KTAP_CASE("create, commit in groups, verify") {
	/* 1. create, commit in groups, verify */
	r = bfl_store_create(dir, "bioflow.example/kiosk-1", rs, &fast, &st, &e);
	ktap_check(!r && bfl_store_epoch(st) == 1 && bfl_store_sealed_size(st) == 0,
		   "create: epoch 1, empty tree sealed");
	ok = 1;
	for (i = 0; i < 10; i++)
		ok &= put(st, 1 + 10 * i, 10) == 10 && !bfl_store_commit(st, &e);
	ktap_check(ok && bfl_store_sealed_size(st) == 100, "ten group commits of ten records");
	ktap_check(verify(NULL, &n) == BFL_OK && n == 100, "verifier: 100 records OK");
	}

	KTAP_CASE_AFTER("redelivery after a restart is filtered") {
	/* 2. redelivery after a restart is filtered */
	app = skip = 0;
	{
		u8 buf[3 * BFL_RECORD_MIN];

		mkrec(buf, boot_a, 99, 2);
		mkrec(buf + BFL_RECORD_MIN, boot_a, 100, 2);
		mkrec(buf + 2 * BFL_RECORD_MIN, boot_a, 101, 2);
		r = bfl_store_append(st, buf, sizeof(buf), &app, &skip, &e);
	}
	ktap_check(!r && app == 1 && skip == 2, "redelivered seq 99, 100 skipped; 101 appended");
	ktap_check(bfl_store_last_seq(st, stream, &seq) && seq == 101 &&
		   !memcmp(stream, boot_a, 16), "last stored kernel seq is 101");
	ktap_check(!bfl_store_commit(st, &e), "commit");
	}

	KTAP_CASE_AFTER("invalid records are refused whole") {
	/* 3. invalid records are refused whole */
	{
		u8 buf[2 * BFL_RECORD_MIN];

		mkrec(buf, boot_a, 102, 2);
		mkrec(buf + BFL_RECORD_MIN, boot_a, 103, 2);
		buf[BFL_RECORD_MIN] ^= 0xff;	/* magic of the second */
		r = bfl_store_append(st, buf, sizeof(buf), &app, NULL, &e);
		ktap_check(r == -EINVAL && bfl_store_size(st) == 101,
			   "a batch with a malformed record is refused, nothing appended");
		r = bfl_store_append(st, buf, BFL_RECORD_MIN + 10, &app, NULL, &e);
		ktap_check(r == -EINVAL && bfl_store_size(st) == 101,
			   "a batch ending in a partial record is refused");
	}
	}

	KTAP_CASE_AFTER("close without commit: unsealed tail, then recovery") {
	/* 4. close without commit: unsealed tail, then recovery */
	ok = put(st, 102, 5) == 5;
	bfl_store_close(st);
	st = NULL;
	ktap_check(ok && verify(&kind, NULL) == BFL_WARN && !strcmp(kind, "unsealed-tail"),
		   "uncommitted records are reported as an unsealed tail");
	r = reopen(&st, &rep);
	ktap_check(!r && rep.discarded_records == 5 && rep.sealed_size == 101 &&
		   rep.new_epoch == 2 && rep.wrote_final,
		   "reopen: 5 unsealed records discarded, epoch 2 started");
	ktap_check(verify(NULL, &n) == BFL_OK && n == 101, "verifier: OK after recovery");

	/* the kernel redelivers them: accepted again (not duplicates) */
	ktap_check(put(st, 102, 5) == 5 && !bfl_store_commit(st, &e) &&
		   bfl_store_sealed_size(st) == 106, "redelivered unsealed records are stored");
	}

	KTAP_CASE_AFTER("torn write: a record cut in half at the end of the segment") {
	/* 5. torn write: a record cut in half at the end of the segment */
	ok = put(st, 107, 3) == 3;
	bfl_store_close(st);
	st = NULL;
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/segments/%020d.seg", dir, 0);
		ok &= truncate(p, seg_size("00000000000000000000.seg") - 100) == 0;
	}
	ktap_check(ok && verify(&kind, NULL) == BFL_WARN, "torn final record: warning only");
	r = reopen(&st, &rep);
	ktap_check(!r && rep.discarded_records == 2 && rep.discarded_bytes > 2 * 192 &&
		   rep.sealed_size == 106, "reopen: 2 whole records and the torn one cut");
	}

	KTAP_CASE_AFTER("crash during the checkpoint write: a stale temporary file") {
	/* 6. crash during the checkpoint write: a stale temporary file */
	{
		char p[400];
		FILE *f;

		snprintf(p, sizeof(p), "%s/checkpoint.tmp", dir);
		f = fopen(p, "w");
		if (f) {
			fputs("garbage\n", f);
			fclose(f);
		}
	}
	bfl_store_close(st);
	st = NULL;
	r = reopen(&st, &rep);
	ktap_check(!r && rep.removed_tmp == 1, "reopen removes a half-written checkpoint.tmp");
	}

	KTAP_CASE_AFTER("crash between an epoch certificate and its first checkpoint") {
	/* 7. crash between an epoch certificate and its first checkpoint */
	{
		struct bfl_epoch_key k;
		struct bfl_epoch_cert c;
		char text[4096], p[400];
		size_t len = 32;
		int fd;

		memset(&c, 0, sizeof(c));
		snprintf(c.origin, sizeof(c.origin), "bioflow.example/kiosk-1");
		c.epoch = bfl_store_epoch(st) + 1;
		c.start_size = bfl_store_sealed_size(st);
		rs->ops->counter_read(rs, &c.nv_counter, &e);
		bfl_epoch_key_generate(&k, c.origin, c.epoch, &e);
		EVP_PKEY_get_raw_public_key(k.priv, c.pub, &len);
		bfl_epoch_key_destroy(&k);	/* the crash loses the key */
		ok = !bfl_cert_issue(rs, &c, text, sizeof(text), &len, &e);
		/* the final of the current epoch is written first */
		bfl_store_close(st);
		st = NULL;
		snprintf(p, sizeof(p), "%s/epochs/%010llu.final", dir,
			 (unsigned long long)(c.epoch - 1));
		{
			char cp[400];
			u8 *b;
			size_t bl;

			snprintf(cp, sizeof(cp), "%s/checkpoint", dir);
			ok &= !bfl_read_file(AT_FDCWD, cp, 65536, &b, &bl, &e);
			fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			ok &= fd >= 0 && write(fd, b, bl) == (ssize_t)bl;
			close(fd);
			free(b);
		}
		snprintf(p, sizeof(p), "%s/epochs/%010llu.cert", dir,
			 (unsigned long long)c.epoch);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ok &= fd >= 0 && write(fd, text, len) == (ssize_t)len;
		close(fd);
		ktap_check(ok && verify(NULL, NULL) == BFL_OK,
			   "an epoch certified but never used verifies (empty epoch)");
		r = reopen(&st, &rep);
		ktap_check(!r && rep.new_epoch == c.epoch + 1 && !rep.wrote_final,
			   "reopen after it starts the next epoch at the same size");
		ktap_check(put(st, 107, 7) == 7 && !bfl_store_commit(st, &e) &&
			   verify(NULL, NULL) == BFL_OK, "and the log continues, verified");
	}
	}

	KTAP_CASE_AFTER("segment and epoch rotation") {
	/* 8. segment and epoch rotation */
	bfl_store_close(st);
	st = NULL;
	{
		struct bfl_store_opts o = { .segment_max_bytes = 4096,
					    .epoch_max_records = 64 };

		r = bfl_store_open(dir, rs, &o, &st, &rep, &e);
		ok = !r;
		for (i = 0; ok && i < 20; i++)
			ok &= put(st, 114 + 16 * i, 16) == 16 && !bfl_store_commit(st, &e);
		ktap_check(ok && seg_size("00000000000000000000.seg") > 0,
			   "small segments and 64-record epochs: 320 records committed");
		ktap_diag("epoch now %llu", (unsigned long long)bfl_store_epoch(st));
		ktap_check(bfl_store_epoch(st) >= rep.new_epoch + 4,
			   "epochs rotated on size");
		ktap_check(verify(NULL, &n) == BFL_OK && n == bfl_store_size(st),
			   "verifier: OK across segments and epochs");
	}
	}

	KTAP_CASE_AFTER("proofs") {
	/* 9. proofs */
	{
		char out[300], p[400];
		struct bfl_verify_result res;
		u8 *rec, *pf, *cp;
		size_t rl, pl, cl;

		snprintf(out, sizeof(out), "%s/proof", tmp);
		r = bfl_store_export_proof(dir, 77, out, &e);
		ok = !r;
		snprintf(p, sizeof(p), "%s/record", out);
		ok &= !bfl_read_file(AT_FDCWD, p, 4096, &rec, &rl, &e);
		snprintf(p, sizeof(p), "%s/proof", out);
		ok &= !bfl_read_file(AT_FDCWD, p, 65536, &pf, &pl, &e);
		snprintf(p, sizeof(p), "%s/checkpoint", out);
		ok &= !bfl_read_file(AT_FDCWD, p, 65536, &cp, &cl, &e);
		if (!ok)
			ktap_diag("%s", e.msg);
		bfl_verify_inclusion_files(rec, rl, (char *)pf, pl, (char *)cp, cl,
					   &rs->key, &res);
		ktap_check(ok && res.verdict == BFL_OK, "exported inclusion proof verifies");
		bfl_verify_result_free(&res);
		rec[150] ^= 1;
		bfl_verify_inclusion_files(rec, rl, (char *)pf, pl, (char *)cp, cl,
					   &rs->key, &res);
		ktap_check(res.verdict == BFL_FAIL && !strcmp(bfl_first_error(&res)->kind,
							      "inclusion"),
			   "an altered record fails its inclusion proof");
		bfl_verify_result_free(&res);
		rec[150] ^= 1;
		cp[cl / 2] ^= 1;
		bfl_verify_inclusion_files(rec, rl, (char *)pf, pl, (char *)cp, cl,
					   &rs->key, &res);
		ktap_check(res.verdict == BFL_FAIL, "an altered checkpoint fails");
		bfl_verify_result_free(&res);
		free(rec);
		free(pf);
		free(cp);
	}
	bfl_store_close(st);
	st = NULL;
	}

	KTAP_CASE_AFTER("refusing to continue a foreign or damaged store") {
	/* 10. refusing to continue a foreign or damaged store */
	{
		struct bfl_root_signer *other = bfl_soft_root_new(NULL, NULL, &e);

		r = bfl_store_open(dir, other, &fast, &st, &rep, &e);
		ktap_check(r == -EUCLEAN, "open with another root key is refused");
		if (r)
			ktap_diag("%s", e.msg);
		bfl_store_close(st);
		st = NULL;
		bfl_root_signer_free(other);
	}
	{
		char p[400];

		snprintf(p, sizeof(p), "%s/segments/%020d.seg", dir, 0);
		ok = truncate(p, seg_size("00000000000000000000.seg") - 192) == 0;
		r = bfl_store_open(dir, rs, &fast, &st, &rep, &e);
		ktap_check(ok && r == -EUCLEAN, "sealed records missing: open refuses");
		if (r)
			ktap_diag("%s", e.msg);
		bfl_store_close(st);
	}
	}

	KTAP_CASE("store format v2: checkpoint entries in the segment stream") {
	/* 11. store format v2: checkpoint entries in the segment stream.  A
	 * store of its own (the one above is damaged on purpose); kernel seq
	 * s is the next one the "kernel" delivers. */
	snprintf(dir, sizeof(dir), "%s/v2", tmp);
	{
		char p[400], cpf[400], cmd[900], v1[300];
		size_t off = 0, elen = 0, len = 0, len2 = 0, cpl = 0;
		u64 s = 1, sealed = 0, fsz;
		u8 *b = NULL, *b2 = NULL, *cpb = NULL;
		int nep, nseg;

		snprintf(cpf, sizeof(cpf), "%s/checkpoint", dir);
		r = bfl_store_create(dir, "bioflow.example/kiosk-2", rs, &lag, &st, &e);
		ok = !r;
		for (i = 0; ok && i < 3; i++, s += 10)
			ok &= put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
		if (!r)
			bfl_store_close(st);
		st = NULL;
		snprintf(p, sizeof(p), "%s/log-info", dir);
		b = slurp(p, &len);
		ok &= b && len > 17 && !memcmp(b, "bioflow-store v3\n", 17);
		free(b);
		b = NULL;
		ok &= !last_seg(p, sizeof(p)) &&
		      !nth_last(p, BFL_ITEM_CHECKPOINT, 0, &off, &elen) &&
		      (b = slurp(p, &len)) && !memcmp(b, "BFLSEG02", 8) &&
		      !memcmp(b + off, "BFLCKP02", 8) && off + elen == len;
		free(b);
		b = NULL;
		ktap_check(ok && verify(NULL, &n) == BFL_OK && n == 30,
			   "v3: log-info v3, BFLSEG02 segment ending in a BFLCKP02 entry, verifies");

		/* a torn checkpoint entry at the tail: its commit never returned */
		r = reopen_with(&lag, &st, &rep);
		ok = !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
		sealed = !r ? bfl_store_sealed_size(st) : 0;
		ok &= !r && put(st, s + 10, 5) == 5 && !bfl_store_commit(st, &e);
		if (!r)
			crash(st);
		st = NULL;
		ok &= !last_seg(p, sizeof(p)) &&
		      !nth_last(p, BFL_ITEM_CHECKPOINT, 0, &off, &elen) &&
		      !truncate(p, (off_t)(off + elen / 2));
		ktap_check(ok && verify(&kind, NULL) == BFL_WARN && !strcmp(kind, "torn-tail"),
			   "torn checkpoint entry at the tail: the verifier warns (torn-tail)");
		r = reopen_with(&lag, &st, &rep);
		ktap_diag("sealed %llu, discarded %llu records, %llu bytes",
			  (unsigned long long)rep.sealed_size,
			  (unsigned long long)rep.discarded_records,
			  (unsigned long long)rep.discarded_bytes);
		ktap_check(ok && !r && rep.sealed_size == sealed && rep.discarded_records == 5 &&
			   rep.discarded_bytes == 5 * ENTRY + elen / 2 && !rep.removed_segments,
			   "reopen: back to the previous entry, the 5 records after it discarded");
		ktap_check(!r && verify(NULL, &n) == BFL_OK && n == sealed,
			   "verifier: OK after the torn entry is cut");
		ktap_check(!r && put(st, s + 10, 5) == 5 && !bfl_store_commit(st, &e) &&
			   bfl_store_sealed_size(st) == sealed + 5 &&
			   verify(NULL, &n) == BFL_OK && n == sealed + 5,
			   "the store continues: the 5 redelivered records sealed and verified");
		s += 15;

		/* the same with the last entry's bytes zeroed, length kept */
		ok = !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
		sealed = !r ? bfl_store_sealed_size(st) : 0;
		ok &= !r && put(st, s + 10, 5) == 5 && !bfl_store_commit(st, &e);
		if (!r)
			crash(st);
		st = NULL;
		ok &= !last_seg(p, sizeof(p)) &&
		      !nth_last(p, BFL_ITEM_CHECKPOINT, 0, &off, &elen) &&
		      (b = slurp(p, &len)) && off + elen == len;
		if (ok) {
			memset(b + off, 0, elen);
			ok = !spit(p, b, len);
		}
		free(b);
		b = NULL;
		{
			enum bfl_verdict v = verify(&kind, NULL);

			ktap_diag("before recovery the verifier says %d (%s)", v, kind);
		}
		r = reopen_with(&lag, &st, &rep);
		ktap_check(ok && !r && rep.sealed_size == sealed && rep.discarded_records == 5 &&
			   rep.discarded_bytes == 5 * ENTRY + elen,
			   "last checkpoint entry zeroed (length kept): back to the previous entry");
		ktap_check(!r && verify(NULL, &n) == BFL_OK && n == sealed &&
			   put(st, s + 10, 5) == 5 && !bfl_store_commit(st, &e) &&
			   verify(NULL, &n) == BFL_OK && n == sealed + 5,
			   "verifier OK after it, and the store continues");
		s += 15;

		/* records written, their entry never (a crash inside a commit);
		 * with small segments they went to new segment files */
		if (!r)
			bfl_store_close(st);
		st = NULL;
		{
			struct bfl_store_opts so = lag;

			so.segment_max_bytes = 4096;
			r = reopen_with(&so, &st, &rep);
		}
		sealed = !r ? bfl_store_sealed_size(st) : 0;
		nseg = count_files("segments");
		ok = !r && put(st, s, 30) == 30 && count_files("segments") > nseg;
		if (!r)
			crash(st);
		st = NULL;
		r = reopen_with(&lag, &st, &rep);
		ktap_check(ok && !r && rep.sealed_size == sealed && rep.discarded_records == 30 &&
			   rep.removed_segments >= 1 && count_files("segments") == nseg,
			   "records without their checkpoint entry: discarded, new segments removed");
		ktap_check(!r && verify(NULL, &n) == BFL_OK && n == sealed &&
			   put(st, s, 30) == 30 && !bfl_store_commit(st, &e) &&
			   verify(NULL, &n) == BFL_OK && n == sealed + 30,
			   "verifier OK after it; the redelivered records are sealed");
		s += 30;

		/* an empty checkpoint file after a crash (replaced without sync) */
		ok = !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
		s += 10;
		if (!r)
			crash(st);
		st = NULL;
		ok &= !truncate(cpf, 0);
		{
			enum bfl_verdict v = verify(&kind, NULL);

			ktap_diag("with it the verifier says %d (%s)", v, kind);
		}
		r = reopen_with(&lag, &st, &rep);
		ktap_check(ok && !r && rep.lost_checkpoint_file && !rep.discarded_records &&
			   file_is_last_entry(&fsz) && fsz == bfl_store_sealed_size(st),
			   "empty checkpoint file: open succeeds, lost_checkpoint_file, file rewritten");

		/* the same with a file of zeros */
		ok = !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
		s += 10;
		if (!r)
			crash(st);
		st = NULL;
		ok &= (b = slurp(cpf, &len)) && len > 0;
		if (ok) {
			memset(b, 0, len);
			ok = !spit(cpf, b, len);
		}
		free(b);
		b = NULL;
		r = reopen_with(&lag, &st, &rep);
		ktap_check(ok && !r && rep.lost_checkpoint_file && !rep.discarded_records &&
			   file_is_last_entry(&fsz) && fsz == bfl_store_sealed_size(st),
			   "checkpoint file of zeros: accepted the same way, rewritten");

		/* the checkpoint file ahead of the entries: the last entry cut
		 * off the segment, the file (a copy of it) kept */
		ok = !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e) &&
		     put(st, s + 10, 5) == 5 && !bfl_store_commit(st, &e);
		s += 15;
		if (!r)
			bfl_store_close(st);
		st = NULL;
		ok &= file_is_last_entry(&fsz) && !last_seg(p, sizeof(p)) &&
		      (b2 = slurp(p, &len2)) &&
		      !nth_last(p, BFL_ITEM_CHECKPOINT, 0, &off, &elen) &&
		      !truncate(p, (off_t)off) &&
		      (b = slurp(p, &len)) && (cpb = slurp(cpf, &cpl));
		nep = count_files("epochs");
		nseg = count_files("segments");
		r = bfl_store_open(dir, rs, &lag, &st, &rep, &e);
		if (r)
			ktap_diag("open: %s", e.msg);
		ktap_check(ok && r == -EUCLEAN && same(p, b, len) && same(cpf, cpb, cpl) &&
			   count_files("epochs") == nep && count_files("segments") == nseg,
			   "checkpoint file ahead of the entries: open refuses, files untouched");
		st = NULL;
		ok = b2 && !spit(p, b2, len2);	/* put the entry back */
		free(b);
		free(b2);
		free(cpb);
		b = b2 = cpb = NULL;

		/* a record altered in the middle, signed entries after it */
		r = reopen_with(&lag, &st, &rep);
		ok &= !r;
		for (i = 0; ok && i < 3; i++, s += 10)
			ok &= put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
		/* a power cut: the checkpoint file lags, so only the signed
		 * entries after the damage can say the records were sealed */
		if (!r)
			crash(st);
		st = NULL;
		ok &= !last_seg(p, sizeof(p)) && !nth_last(p, BFL_ITEM_RECORD, 15, &off, &elen) &&
		      (b = slurp(p, &len)) && (cpb = slurp(cpf, &cpl));
		if (ok) {
			b[off + 140] ^= 0x20;
			ok = !spit(p, b, len);
		}
		nep = count_files("epochs");
		nseg = count_files("segments");
		r = bfl_store_open(dir, rs, &lag, &st, &rep, &e);
		if (r)
			ktap_diag("open: %s", e.msg);
		ktap_check(ok && r == -EUCLEAN && same(p, b, len) && same(cpf, cpb, cpl) &&
			   count_files("epochs") == nep && count_files("segments") == nseg,
			   "a signed entry after an altered record: open refuses, nothing truncated");
		st = NULL;
		if (b) {
			b[off + 140] ^= 0x20;
			spit(p, b, len);
		}
		free(b);
		free(cpb);
		b = cpb = NULL;

		/* a store of format v1 */
		snprintf(v1, sizeof(v1), "%s/v1", tmp);
		snprintf(cmd, sizeof(cmd), "cp -a %s %s", dir, v1);
		snprintf(p, sizeof(p), "%s/log-info", v1);
		ok = !system(cmd) && !spit(p, "bioflow-store v1\norigin X\n", 26);
		memset(&e, 0, sizeof(e));
		r = bfl_store_open(v1, rs, &lag, &st, &rep, &e);
		ktap_diag("open: %s", e.msg);
		ok = ok && r == -EPROTONOSUPPORT && strstr(e.msg, "v1") &&
		     strstr(e.msg, "v3");
		/* a store of format v2: its certificates are root-signed
		 * counter claims (bioflow-epoch-cert v1) */
		ok = ok && !spit(p, "bioflow-store v2\norigin X\n", 26);
		memset(&e, 0, sizeof(e));
		r = bfl_store_open(v1, rs, &lag, &st, &rep, &e);
		ktap_diag("open: %s", e.msg);
		ktap_check(ok && r == -EPROTONOSUPPORT && strstr(e.msg, "bioflow-store v2") &&
			   strstr(e.msg, "bioflow-store v3") &&
			   strstr(e.msg, "bioflow-epoch-cert v1") &&
			   strstr(e.msg, "bioflow-epoch-cert v2"),
			   "v1 and v2 stores: -EPROTONOSUPPORT, the message names the formats (store and certificate)");
		st = NULL;

		/* the checkpoint file is a lagging copy: one sync per commit */
		{
			struct bfl_store_opts o = { .checkpoint_file_ms = 1000 };

			r = reopen_with(&o, &st, &rep);
			ok = !r && file_is_last_entry(&fsz) && fsz == bfl_store_sealed_size(st);
			sealed = !r ? bfl_store_sealed_size(st) : 0;
			ok &= !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e) &&
			      bfl_store_sealed_size(st) == sealed + 10;
			s += 10;
			ktap_check(ok && !file_is_last_entry(&fsz) && fsz == sealed,
				   "checkpoint_file_ms 1000: after a commit the file still lags the entry");
			if (!r)
				bfl_store_close(st);
			st = NULL;
			ktap_check(!r && file_is_last_entry(&fsz) && fsz == sealed + 10,
				   "after close the checkpoint file is the last entry");
			o.checkpoint_file_ms = -1;
			r = reopen_with(&o, &st, &rep);
			ok = !r && put(st, s, 10) == 10 && !bfl_store_commit(st, &e);
			s += 10;
			ktap_check(ok && file_is_last_entry(&fsz) &&
				   fsz == bfl_store_sealed_size(st),
				   "checkpoint_file_ms < 0: the file follows every commit");
			if (!r)
				bfl_store_close(st);
			st = NULL;
		}
		ktap_check(verify(NULL, &n) == BFL_OK && n == s - 1,
			   "verifier: the v2 store is OK after all of it");
	}
	}

	KTAP_CASE("interrupted commits")
	interrupted_commits();

	KTAP_CASE("record format versions 1 and 2 in one store")
	mixed_versions();

	bfl_root_signer_free(rs);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		if (system(cmd))
			ktap_diag("cleanup failed");
	}
	return ktap_finish();
}
