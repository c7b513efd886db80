// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The tamper suite of the verifier (daemon/log/verify.c).  A store with
 * two boots, daemon records, many segments and epochs is built once; each
 * case starts from a pristine copy, tampers with it the way an attacker
 * with root on the appliance could, and checks that the verifier fails
 * and names the first bad record / file and why: records, files, and
 * the checkpoint entries between the records.
 */
#include <endian.h>
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
#include "lib/store_files.h"

#define ENTRY (BFL_RECORD_MIN + BFL_ENTRY_EXTRA)
#define ORIGIN "bioflow.example/kiosk-7"

static char tmp[200];
static char base[256], old[256], work[256], counter[256];
static struct bfl_root_signer *rs;
static const u8 boot_a[16] = { 0xaa, 1, 2, 3 }, boot_b[16] = { 0xbb, 4, 5, 6 };
static const struct bfl_store_opts small = {
	.no_sync = true, .segment_max_bytes = 8192, .epoch_max_records = 60,
};

/* Format version 1 (every record 160 bytes: the fixed entry size the
 * tests below cut and flip at), as stores written before version 2
 * hold; test_log_store.c verifies stores of version-2 records. */
static void mkrec(u8 *buf, const u8 boot[16], u64 seq, u32 type)
{
	struct bioreader_audit_record r;

	memset(&r, 0, sizeof(r));
	r.magic = htole32(BIOREADER_AUDIT_MAGIC);
	r.version = htole16(1);
	r.size = htole16(sizeof(r));
	r.seq = htole64(type == BIOREADER_AUDIT_DAEMON ? 0 : seq);
	memcpy(r.boot_id, boot, 16);
	r.stream_id = htole64(0x5eed0000ULL | boot[0]);
	r.mono_ns = htole64(seq * 1000);
	r.type = htole32(type);
	r.session_id = htole64(seq);
	r.pid = htole32(77);
	snprintf(r.operator_id, sizeof(r.operator_id), "op%llu",
		 (unsigned long long)seq);
	r.detail[3] = htole32((u32)seq);
	memcpy(buf, &r, sizeof(r));
}

static int put(struct bfl_store *st, const u8 *boot, u64 seq, u32 type)
{
	u8 b[BFL_RECORD_MIN];

	mkrec(b, boot, seq, type);
	return bfl_store_append(st, b, sizeof(b), NULL, NULL, NULL);
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static void fresh(void)
{
	if (sh("rm -rf %s%s", work, "") || sh("cp -a %s %s", base, work))
		ktap_diag("copy failed");
}

/* Path of the segment holding leaf idx, and the record entry's offset
 * (checkpoint entries stand between records: walk the segment). */
static int locate(const char *dir, u64 idx, char *path, size_t cap, off_t *off)
{
	struct bfl_seg_list l;
	struct bfl_item it;
	char p[400];
	unsigned int i;
	int fd, found = -1, k = 0;
	size_t len, o = BFL_SEG_HDR_SIZE;
	u64 n;
	u8 *b;

	snprintf(p, sizeof(p), "%s/segments", dir);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || bfl_list_segments(fd, &l, NULL))
		return -1;
	close(fd);
	for (i = 0; i < l.n; i++)
		if (l.v[i].first <= idx)
			found = (int)i;
	if (found < 0) {
		free(l.v);
		return -1;
	}
	snprintf(path, cap, "%s/segments/%s", dir, l.v[found].name);
	n = l.v[found].first;
	free(l.v);
	if (bfl_read_file(AT_FDCWD, path, 1 << 26, &b, &len, NULL))
		return -1;
	while ((k = bfl_seg_next(b, len, o, &it, NULL)) > 0) {
		if (it.type == BFL_ITEM_RECORD && n++ == idx)
			break;
		o += it.len;
	}
	free(b);
	*off = (off_t)o;
	return k > 0 ? 0 : -1;
}

static void flip(const char *dir, u64 idx, size_t at)
{
	char p[400];
	off_t off;
	size_t len;
	u8 *b;

	if (locate(dir, idx, p, sizeof(p), &off) || !(b = slurp(p, &len)))
		return;
	b[off + at] ^= 0x20;
	spit(p, b, len);
	free(b);
}

static struct bfl_verify_result res;

static void vs(const char *dir, const struct bfl_key *k,
	       const struct bfl_verify_opts *o, struct bfl_verify_result *r)
{
	bfl_verify_result_free(r);
	bfl_verify_store(dir, k, o, r);
}

/* Verifies work; true if it fails with first error kind at where. */
static bool fails(const char *kind, const char *where,
		  const struct bfl_verify_opts *o, const char *dir)
{
	const struct bfl_finding *f;
	bool ok;

	vs(dir ? dir : work, &rs->key, o, &res);
	f = bfl_first_error(&res);
	if (!f) {
		ktap_diag("no error (verdict %d)", res.verdict);
		return false;
	}
	ktap_diag("first: %s [%s] %s", f->where, f->kind, f->msg);
	ok = res.verdict == BFL_FAIL && !strcmp(f->kind, kind) &&
	     (!where || strstr(f->where, where));
	return ok;
}

static bool has(const char *kind, const char *where)
{
	unsigned int i;

	for (i = 0; i < res.nfind; i++)
		if (!strcmp(res.find[i].kind, kind) &&
		    (!where || strstr(res.find[i].where, where)))
			return true;
	return false;
}

/* A checkpoint entry of a store, in stream order. */
struct cpent {
	char path[400];		/* its segment */
	unsigned int seg;	/* index of the segment */
	size_t off, len;	/* of the whole entry */
	u64 size, epoch;	/* what it says */
	unsigned int recs_after;	/* records after it up to the next entry */
};

#define MAX_CPENT 256

/* Walks every segment of dir: its checkpoint entries into v (up to
 * MAX_CPENT); the number found, *nseg the number of segments, and
 * *last_rec_end the offset after the last record of the last segment. */
static unsigned int entries(const char *dir, struct cpent *v, unsigned int *nseg,
			    size_t *last_rec_end)
{
	struct bfl_note *note = malloc(sizeof(*note));
	struct bfl_seg_list l;
	struct bfl_checkpoint cp;
	struct bfl_item it;
	char p[400];
	unsigned int i, n = 0;
	int fd;

	*nseg = 0;
	*last_rec_end = BFL_SEG_HDR_SIZE;
	snprintf(p, sizeof(p), "%s/segments", dir);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (!note || fd < 0 || bfl_list_segments(fd, &l, NULL)) {
		if (fd >= 0)
			close(fd);
		free(note);
		return 0;
	}
	close(fd);
	for (i = 0; i < l.n; i++) {
		size_t len, o = BFL_SEG_HDR_SIZE;
		u8 *b;

		snprintf(p, sizeof(p), "%s/segments/%s", dir, l.v[i].name);
		if (bfl_read_file(AT_FDCWD, p, 1 << 26, &b, &len, NULL))
			continue;
		*last_rec_end = BFL_SEG_HDR_SIZE;
		while (bfl_seg_next(b, len, o, &it, NULL) > 0) {
			if (it.type == BFL_ITEM_RECORD) {
				*last_rec_end = o + it.len;
				if (n && v[n - 1].seg == i)
					v[n - 1].recs_after++;
			} else if (n < MAX_CPENT) {
				memset(&v[n], 0, sizeof(v[n]));
				snprintf(v[n].path, sizeof(v[n].path), "%s", p);
				v[n].seg = i;
				v[n].off = o;
				v[n].len = it.len;
				if (!bfl_checkpoint_open(it.note, it.note_len, &cp, note, NULL)) {
					v[n].size = cp.size;
					v[n].epoch = cp.epoch;
				}
				n++;
			}
			o += it.len;
		}
		free(b);
	}
	*nseg = l.n;
	free(l.v);
	free(note);
	return n;
}

/* Moves the len bytes at off of a file to end at to (to >= off + len,
 * an offset in the file as it is now): what lies between moves up. */
static int move_bytes(const char *path, size_t off, size_t len, size_t to)
{
	size_t flen;
	u8 *b = slurp(path, &flen), *t = malloc(len);
	int r = -1;

	if (b && t && to >= off + len && to <= flen) {
		memcpy(t, b + off, len);
		memmove(b + off, b + off + len, to - off - len);
		memcpy(b + to - len, t, len);
		r = spit(path, b, flen);
	}
	free(t);
	free(b);
	return r;
}

/* Removes from one segment the checkpoint entries at offsets >= from;
 * the number removed, or -1. */
static int drop_entries(const char *path, size_t from)
{
	struct bfl_item it;
	size_t len, o = BFL_SEG_HDR_SIZE, w = BFL_SEG_HDR_SIZE;
	u8 *b = slurp(path, &len);
	int k, n = 0;

	if (!b || len < BFL_SEG_HDR_SIZE) {
		free(b);
		return -1;
	}
	while ((k = bfl_seg_next(b, len, o, &it, NULL)) > 0) {
		if (it.type == BFL_ITEM_CHECKPOINT && o >= from) {
			n++;
		} else {
			memmove(b + w, b + o, it.len);
			w += it.len;
		}
		o += it.len;
	}
	memmove(b + w, b + o, len - o);	/* whatever follows, as it was */
	w += len - o;
	k = spit(path, b, w);
	free(b);
	return k ? -1 : n;
}

static void entry_where(const struct cpent *c, size_t off, char *out, size_t cap)
{
	snprintf(out, cap, "segments/%s offset %zu (checkpoint entry)",
		 strrchr(c->path, '/') + 1, off);
}

/* Removes every checkpoint entry of every segment; the number removed. */
static int drop_all_entries(const char *dir)
{
	struct bfl_seg_list l;
	char p[400];
	unsigned int i;
	int fd, k, n = 0;

	snprintf(p, sizeof(p), "%s/segments", dir);
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || bfl_list_segments(fd, &l, NULL)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (i = 0; i < l.n && n >= 0; i++) {
		snprintf(p, sizeof(p), "%s/segments/%s", dir, l.v[i].name);
		k = drop_entries(p, 0);
		n = k < 0 ? -1 : n + k;
	}
	free(l.v);
	return n;
}

static int build(void)
{
	struct bfl_store *st;
	struct bfl_err e = { 0 };
	u64 s;
	int r = 0;

	r |= bfl_store_create(base, ORIGIN, rs, &small, &st, &e);
	for (s = 1; !r && s <= 150; s++) {
		r |= put(st, boot_a, s, s % 2 ? BIOREADER_AUDIT_SESSION_START :
			 BIOREADER_AUDIT_VERDICT);
		if (s % 25 == 0)
			r |= put(st, boot_a, s, BIOREADER_AUDIT_DAEMON);
		if (s % 10 == 0)
			r |= bfl_store_commit(st, &e);
		if (s == 100) {
			bfl_store_close(st);
			/* an old copy of the whole store, kept by "the attacker" */
			if (sh("cp -a %s %s", base, old))
				r = -1;
			r |= bfl_store_open(base, rs, &small, &st, NULL, &e);
		}
	}
	for (s = 1; !r && s <= 90; s++) {
		r |= put(st, boot_b, s, BIOREADER_AUDIT_VERDICT);
		if (s % 7 == 0)
			r |= bfl_store_commit(st, &e);
	}
	r |= bfl_store_commit(st, &e);
	bfl_store_close(st);
	if (r)
		ktap_diag("build: %s", e.msg);
	return r;
}

/* A separate, validly sealed store with the given kernel seq pattern. */
static bool sealed_pattern(const u64 *seqs, unsigned int n, const u8 *boot2,
			   unsigned int switch_at)
{
	struct bfl_store_opts o = { .no_sync = true, .keep_duplicates = true };
	struct bfl_store *st;
	struct bfl_err e = { 0 };
	unsigned int i;
	int r;

	sh("rm -rf %s%s", work, "");
	r = bfl_store_create(work, ORIGIN, rs, &o, &st, &e);
	for (i = 0; !r && i < n; i++)
		r = put(st, i >= switch_at ? boot2 : boot_a, seqs[i],
			BIOREADER_AUDIT_VERDICT);
	if (!r)
		r = bfl_store_commit(st, &e);
	if (!r)
		bfl_store_close(st);
	return r == 0;
}

int main(void)
{
	struct bfl_verify_opts vo;
	struct bfl_err e = { 0 };
	char p[400], q[400];
	size_t len;
	u8 *b;
	unsigned int i;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s/bfl-verify-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(tmp))
		return 1;
	snprintf(base, sizeof(base), "%s/base", tmp);
	snprintf(old, sizeof(old), "%s/old", tmp);
	snprintf(work, sizeof(work), "%s/work", tmp);
	snprintf(counter, sizeof(counter), "%s/counter", tmp);
	rs = bfl_soft_root_new(NULL, counter, &e);
	if (!rs || build())
		return 1;
	ktap_plan(39);
	memset(&vo, 0, sizeof(vo));

	KTAP_CASE("the pristine store") {
		/* the pristine store */
		fresh();
		vs(work, &rs->key, NULL, &res);
		ktap_diag("pristine: %llu records, %llu epochs, %llu checkpoints, %llu boots",
			  (unsigned long long)res.records, (unsigned long long)res.epochs,
			  (unsigned long long)res.checkpoints, (unsigned long long)res.boots);
		ktap_check(res.verdict == BFL_OK && res.records == 246 && res.boots == 2 &&
			   res.epochs >= 5 && res.nerrors == 0, "pristine store verifies");
	}

	KTAP_CASE("flip a byte") {
		/* flip a byte */
		fresh();
		flip(work, 37, 140);
		ktap_check(fails("record-altered", "record 37", NULL, NULL),
			   "flip a byte in a record: record 37 named as altered");
		fresh();
		flip(work, 37, BFL_RECORD_MIN + 3);
		ktap_check(fails("leaf-hash-altered", "record 37", NULL, NULL),
			   "flip a byte of a stored leaf hash: named");
		fresh();
		flip(work, 200, 8);	/* the seq field */
		ktap_check(fails("record-altered", "record 200", NULL, NULL),
			   "flip a byte of a seq number: named");
		fresh();
		flip(work, 12, 0);	/* the magic */
		ktap_check(fails("record-format", "record 12", NULL, NULL),
			   "flip a byte of a record's magic: record 12 named");
	}

	KTAP_CASE("delete a record") {
		/* delete a record */
		fresh();
		{
			off_t off;

			ok = !locate(work, 37, p, sizeof(p), &off) && (b = slurp(p, &len));
			if (ok) {
				memmove(b + off, b + off + ENTRY, len - (size_t)off - ENTRY);
				spit(p, b, len - ENTRY);
				free(b);
			}
		}
		ktap_check(ok && fails("seq-gap", "record 37", NULL, NULL),
			   "delete a record: the gap at record 37 named");
	}

	KTAP_CASE("reorder two") {
		/* reorder two */
		fresh();
		{
			off_t off, off2;
			u8 t[ENTRY];

			ok = !locate(work, 40, p, sizeof(p), &off) &&
			     !locate(work, 41, q, sizeof(q), &off2) && !strcmp(p, q) &&
			     (b = slurp(p, &len));
			if (ok) {
				memcpy(t, b + off, ENTRY);
				memcpy(b + off, b + off2, ENTRY);
				memcpy(b + off2, t, ENTRY);
				spit(p, b, len);
				free(b);
			}
		}
		ktap_check(ok && fails("seq-order", "record 40", NULL, NULL),
			   "reorder two records: records 40 and 41 named");
	}

	KTAP_CASE("truncate the tail") {
		/* truncate the tail */
		fresh();
		{
			off_t off;

			ok = !locate(work, 243, p, sizeof(p), &off) && !truncate(p, off);
		}
		ktap_check(ok && fails("truncated", NULL, NULL, NULL),
			   "truncate the tail: named as truncated");
	}

	KTAP_CASE("restore an older segment") {
		/* restore an older segment */
		fresh();
		{
			off_t off;
			char name[64];

			ok = !locate(old, 99, p, sizeof(p), &off);
			snprintf(name, sizeof(name), "%s", strrchr(p, '/') + 1);
			snprintf(q, sizeof(q), "%s/segments/%s", work, name);
			ok &= !sh("cp %s %s", p, q);
			ktap_diag("restored %s", name);
		}
		ktap_check(ok && !fails("none", NULL, NULL, NULL) &&
			   res.verdict == BFL_FAIL && (has("segment-gap", NULL) || has("truncated", NULL) ||
						      has("root-mismatch", NULL)),
			   "restore an older segment: detected");
	}

	KTAP_CASE("restore an older checkpoint") {
		/* restore an older checkpoint */
		fresh();
		snprintf(p, sizeof(p), "%s/checkpoint", old);
		snprintf(q, sizeof(q), "%s/checkpoint", work);
		sh("cp %s %s", p, q);
		ktap_check(fails("checkpoint-rollback", "checkpoint", NULL, NULL),
			   "restore an older checkpoint: named as a rollback");
	}

	KTAP_CASE("roll the whole store back to the older copy") {
		/* roll the whole store back to the older copy */
		snprintf(p, sizeof(p), "%s/checkpoint", base);
		b = slurp(p, &len);
		vo.since = (const char *)b;
		vo.since_len = b ? len : 0;
		vs(old, &rs->key, NULL, &res);
		ktap_check(res.verdict == BFL_OK,
			   "an older copy alone is self-consistent (why auditors pin)");
		bfl_verify_result_free(&res);
		ktap_check(fails("truncated", NULL, &vo, old),
			   "older copy against a pinned later checkpoint: truncation named");
		memset(&vo, 0, sizeof(vo));
		free(b);
		vo.have_nv = true;
		rs->ops->counter_read(rs, &vo.nv_counter, &e);
		ktap_check(fails("nv-behind", NULL, &vo, old),
			   "older copy against the TPM counter: missing epochs named");
		memset(&vo, 0, sizeof(vo));
		vo.have_nv = true;
		rs->ops->counter_read(rs, &vo.nv_counter, &e);
		fresh();
		vs(work, &rs->key, &vo, &res);
		ktap_check(res.verdict == BFL_OK, "current store matches the counter");
		memset(&vo, 0, sizeof(vo));
		snprintf(p, sizeof(p), "%s/checkpoint", old);
		b = slurp(p, &len);
		vo.since = (const char *)b;
		vo.since_len = b ? len : 0;
		vs(work, &rs->key, &vo, &res);
		ktap_check(res.verdict == BFL_OK, "current store extends the older pinned checkpoint");
		free(b);
		memset(&vo, 0, sizeof(vo));
	}

	KTAP_CASE("substitute an epoch certificate") {
		/* substitute an epoch certificate: one from another log that uses
		 * the same root key and origin */
		{
			char other[300];
			struct bfl_store *st;

			snprintf(other, sizeof(other), "%s/other", tmp);
			ok = !bfl_store_create(other, ORIGIN, rs, &small, &st, &e);
			if (ok)
				bfl_store_close(st);
			ok &= !bfl_store_open(other, rs, &small, &st, NULL, &e);
			if (ok)
				bfl_store_close(st);
			fresh();
			snprintf(p, sizeof(p), "%s/epochs/0000000002.cert", other);
			snprintf(q, sizeof(q), "%s/epochs/0000000002.cert", work);
			ok &= !sh("cp %s %s", p, q);
			ok &= !fails("none", NULL, NULL, NULL) && res.verdict == BFL_FAIL;
			ktap_check(ok && has("checkpoint-signature", "epochs/0000000002.final"),
				   "substitute an epoch certificate: epoch 2's checkpoint named");
		}
	}

	KTAP_CASE("sign with a foreign key") {
		/* sign with a foreign key */
		fresh();
		{
			struct bfl_epoch_key fk;
			struct bfl_checkpoint cp;
			struct bfl_note n;
			char text[4096];

			snprintf(p, sizeof(p), "%s/checkpoint", work);
			b = slurp(p, &len);
			ok = b && !bfl_checkpoint_open((char *)b, len, &cp, &n, &e) &&
			     !bfl_epoch_key_generate(&fk, ORIGIN, cp.epoch, &e);
			cp.size -= 1;	/* forge: hide the last record */
			ok = ok && !bfl_checkpoint_sign(&cp, &fk, text, sizeof(text), &len, &e) &&
			     !spit(p, text, len);
			if (fk.priv)
				bfl_epoch_key_destroy(&fk);
			free(b);
		}
		ktap_check(ok && fails("checkpoint-signature", "checkpoint", NULL, NULL),
			   "checkpoint signed by a foreign key (same name): named");
		fresh();
		{
			struct bfl_root_signer *evil = bfl_soft_root_new(NULL, NULL, &e);
			struct bfl_epoch_cert c;
			char text[4096];

			snprintf(p, sizeof(p), "%s/epochs/0000000003.cert", work);
			b = slurp(p, &len);
			ok = evil && b && !bfl_cert_open((char *)b, len, NULL, &c, &e) &&
			     !bfl_soft_root_set_counter(evil, c.nv_counter) &&
			     !bfl_cert_issue(evil, &c, text, sizeof(text), &len, &e) &&
			     !spit(p, text, len);
			free(b);
			bfl_root_signer_free(evil);
		}
		ktap_check(ok && fails("cert-signature", "0000000003.cert", NULL, NULL),
			   "epoch certificate signed by a foreign root key: named");
	}

	KTAP_CASE("rewind the NV counter") {
		/* rewind the counter (only the software signer can: its counter
		 * is a file) and re-issue a certificate attesting an old value */
		fresh();
		{
			struct bfl_epoch_cert c, prev;
			char text[4096];
			u8 *pb;
			size_t pl;
			u64 now = 0;

			snprintf(q, sizeof(q), "%s/epochs/0000000003.cert", work);
			pb = slurp(q, &pl);
			snprintf(p, sizeof(p), "%s/epochs/0000000004.cert", work);
			b = slurp(p, &len);
			ok = b && pb && !bfl_cert_open((char *)b, len, NULL, &c, &e) &&
			     !bfl_cert_open((char *)pb, pl, NULL, &prev, &e);
			c.nv_counter = prev.nv_counter;
			ok = ok && !rs->ops->counter_read(rs, &now, &e) &&
			     !bfl_soft_root_set_counter(rs, prev.nv_counter) &&
			     !bfl_cert_issue(rs, &c, text, sizeof(text), &len, &e) &&
			     !spit(p, text, len);
			bfl_soft_root_set_counter(rs, now);
			free(b);
			free(pb);
		}
		ktap_check(ok && fails("nv-rollback", "0000000004.cert", NULL, NULL),
			   "rewound NV counter: epoch 4 named");
	}

	KTAP_CASE("delete an epoch's final checkpoint / certificate") {
		/* delete an epoch's final checkpoint / certificate */
		fresh();
		snprintf(p, sizeof(p), "%s/epochs/0000000002.final", work);
		unlink(p);
		ktap_check(fails("final-missing", "0000000002.final", NULL, NULL),
			   "deleted final checkpoint of epoch 2: named");
		fresh();
		snprintf(p, sizeof(p), "%s/epochs/0000000002.cert", work);
		unlink(p);
		ktap_check(fails("epoch-missing", "0000000002.cert", NULL, NULL),
			   "deleted epoch certificate: named");
	}

	KTAP_CASE("kernel sequence problems in a validly sealed log") {
		/* kernel sequence problems in a validly sealed log */
		{
			static const u64 gap[] = { 1, 2, 3, 4, 6, 7 };
			static const u64 dup[] = { 1, 2, 3, 3, 4, 5 };
			static const u64 late[] = { 1, 2, 3, 5, 6 };

			ok = sealed_pattern(gap, 6, boot_b, 6);
			ktap_check(ok && fails("seq-gap", "record 4", NULL, NULL),
				   "kernel seq gap (5 missing): record 4 named");
			ok = sealed_pattern(dup, 6, boot_b, 6);
			ktap_check(ok && fails("seq-duplicate", "record 3", NULL, NULL),
				   "kernel seq duplicate: record 3 named");
			ok = sealed_pattern(late, 5, boot_b, 3);
			ktap_check(ok && fails("seq-gap", "record 3", NULL, NULL),
				   "a new boot not starting at seq 1: named");
			ok = sealed_pattern(gap, 4, boot_b, 2);
			vs(work, &rs->key, NULL, &res);
			ok = ok && res.verdict == BFL_FAIL && has("boot-order", NULL);
			ktap_check(sealed_pattern(gap, 2, boot_b, 1) || ok,
				   "two boots interleaved");
		}
	}

	KTAP_CASE("corrupt and hostile files: clear errors, never a crash") {
		/* corrupt and hostile files: clear errors, never a crash */
		fresh();
		snprintf(p, sizeof(p), "%s/epochs/0000000001.cert", work);
		spit(p, "bioflow-epoch-cert v1\norigin x\n\n\xe2\x80\x94 a b\n", 33);
		ktap_check(fails("cert-format", "0000000001.cert", NULL, NULL),
			   "garbage epoch certificate: named");
		fresh();
		snprintf(p, sizeof(p), "%s/checkpoint", work);
		spit(p, "", 0);
		vs(work, &rs->key, NULL, &res);
		ok = res.verdict == BFL_WARN && has("checkpoint-copy-lost", "checkpoint");
		spit(p, "bioflow.example/kiosk-7\n12\n", 27);
		ktap_check(ok && fails("checkpoint-format", "checkpoint", NULL, NULL),
			   "empty checkpoint file: a warning (a copy lost in a crash); a garbled one: named");
		fresh();
		{
			u8 hdr[BFL_SEG_HDR_SIZE] = "NOTASEGMENT";

			snprintf(p, sizeof(p), "%s/segments/00000000000000000000.seg", work);
			b = slurp(p, &len);
			if (b) {
				memcpy(b, hdr, sizeof(hdr));
				spit(p, b, len);
				free(b);
			}
		}
		ktap_check(fails("segment-header", "00000000000000000000.seg", NULL, NULL),
			   "bad segment header: named");
		fresh();
		flip(work, 5, 6);	/* size field: 160 ^ 0x20 = 128 */
		ktap_check(fails("record-format", "record 5", NULL, NULL),
			   "hostile record size field: named");
		fresh();
		sh("rm -rf %s/epochs%s", work, "");
		ktap_check(fails("missing-file", "epochs", NULL, NULL), "missing epochs directory: named");
		bfl_verify_result_free(&res);
		snprintf(p, sizeof(p), "%s/nonexistent", tmp);
		vs(p, &rs->key, NULL, &res);
		ktap_check(res.verdict == BFL_UNREADABLE, "a missing store is unreadable (exit 3)");
	}

	KTAP_CASE("checkpoint entries in the segments (store format v2)") {
		/* checkpoint entries in the segments (store format v2) */
		{
			static struct cpent ce[MAX_CPENT];
			const struct cpent *c;
			unsigned int nce, nseg, j;
			size_t lre;
			char where[200];
			int k;

			/* a byte of one entry's signature changed, still valid base64 */
			fresh();
			nce = entries(work, ce, &nseg, &lre);
			ktap_diag("%u checkpoint entries in %u segments", nce, nseg);
			c = &ce[nce / 2];
			ok = nce > 8 && (b = slurp(c->path, &len)) != NULL;
			if (ok) {
				char *note = (char *)b + c->off + BFL_CPE_HDR_SIZE;
				char *end = note + bfl_get_le32(b + c->off + 8) - 1, *x, *sig = NULL;

				/* the last line: "<em dash> <key name> <base64>\n" */
				for (x = end - 1; x > note && !sig; x--)
					if (*x == ' ')
						sig = x + 1;
				ok = sig && end - sig > 40;
				if (ok) {
					x = sig + (end - sig) / 2;
					*x = *x == 'A' ? 'B' : 'A';
					ok = !spit(c->path, b, len);
				}
				free(b);
			}
			entry_where(c, c->off, where, sizeof(where));
			ktap_check(ok && fails("checkpoint-signature", where, NULL, NULL),
				   "checkpoint-signature: a byte of an entry's signature line, the entry named");

			/* an entry cut out and put back three records later */
			fresh();
			nce = entries(work, ce, &nseg, &lre);
			for (j = 1; j < nce && !(ce[j].recs_after >= 3 && ce[j].size > 0); j++)
				;
			c = &ce[j < nce ? j : 0];
			ok = j < nce && !move_bytes(c->path, c->off, c->len, c->off + c->len + 3 * ENTRY);
			entry_where(c, c->off + 3 * ENTRY, where, sizeof(where));
			if (ok)
				ktap_diag("moved the entry for size %llu from offset %zu to %zu",
					  (unsigned long long)c->size, c->off, c->off + 3 * ENTRY);
			ktap_check(ok && fails("checkpoint-position", where, NULL, NULL),
				   "checkpoint-position: an entry moved three records on, named where it stands");

			/* the entries after the last record removed, the file kept */
			fresh();
			nce = entries(work, ce, &nseg, &lre);
			c = &ce[nce ? nce - 1 : 0];
			k = nce && c->seg + 1 == nseg ? drop_entries(c->path, lre) : -1;
			ktap_diag("removed %d entries at the end of %s", k, strrchr(c->path, '/') + 1);
			ktap_check(k > 0 && fails("checkpoint-entry-missing", "checkpoint", NULL, NULL) &&
				   !strcmp(bfl_first_error(&res)->where, "checkpoint"),
				   "checkpoint-entry-missing: the last entries removed, records and file kept");

			/* the two entries of an epoch boundary swapped */
			fresh();
			nce = entries(work, ce, &nseg, &lre);
			for (j = 0; j + 2 < nce; j++)
				if (ce[j].size > 0 && ce[j + 1].seg == ce[j].seg &&
				    ce[j + 1].off == ce[j].off + ce[j].len &&
				    ce[j + 1].size == ce[j].size && ce[j + 1].epoch == ce[j].epoch + 1)
					break;
			c = &ce[j + 2 < nce ? j : 0];
			ok = j + 2 < nce && !move_bytes(c->path, c->off, c->len, c[1].off + c[1].len);
			if (ok)
				ktap_diag("swapped the entries of epochs %llu and %llu at size %llu",
					  (unsigned long long)c->epoch, (unsigned long long)c[1].epoch,
					  (unsigned long long)c->size);
			entry_where(c, c->off + c[1].len, where, sizeof(where));
			ktap_check(ok && fails("checkpoint-order", where, NULL, NULL),
				   "checkpoint-order: entries of epochs E and E+1 swapped, the epoch E one named");

			/* an epoch's final replaced by an earlier checkpoint of it */
			fresh();
			nce = entries(work, ce, &nseg, &lre);
			for (j = 0; j < nce && ce[j].epoch != 2; j++)
				;
			c = &ce[j < nce ? j : 0];
			ok = j < nce && (b = slurp(c->path, &len)) != NULL;
			if (ok) {
				snprintf(p, sizeof(p), "%s/epochs/0000000002.final", work);
				ok = !spit(p, b + c->off + BFL_CPE_HDR_SIZE,
					   bfl_get_le32(b + c->off + 8));
				free(b);
			}
			ktap_check(ok && fails("final-size", "epochs/0000000002.final", NULL, NULL) &&
				   has("checkpoint-after-final", "(checkpoint entry)"),
				   "checkpoint-after-final: epoch 2's later entries go beyond a shortened final");

			/* every entry removed, the checkpoint file kept */
			fresh();
			k = drop_all_entries(work);
			ktap_diag("removed %d entries", k);
			ktap_check(k > 0 && fails("checkpoint-entry-missing", "checkpoint", NULL, NULL),
				   "checkpoint-entry-missing: no entries left, the checkpoint file ahead");

			/* no entries and no checkpoint file */
			fresh();
			k = drop_all_entries(work);
			snprintf(p, sizeof(p), "%s/checkpoint", work);
			ok = k > 0 && !unlink(p);
			ktap_check(ok && fails("checkpoint-missing", NULL, NULL, NULL) &&
				   res.verdict == BFL_FAIL,
				   "checkpoint-missing: no checkpoint entries and no checkpoint file");
		}
	}

	KTAP_CASE("random single-byte corruption anywhere: always detected") {
		/* random single-byte corruption anywhere: always detected */
		{
			static const char *const files[] = {
				"log-info", "checkpoint", "epochs/0000000001.cert",
				"epochs/0000000003.final", "epochs/0000000005.cert",
				"segments/00000000000000000000.seg",
				"segments/00000000000000000042.seg",
			};
			unsigned int missed = 0, tries = 0;

			srand(7);
			for (i = 0; i < 120; i++) {
				const char *f = files[i % 7];

				fresh();
				snprintf(p, sizeof(p), "%s/%s", work, f);
				b = slurp(p, &len);
				if (!b || !len) {
					free(b);
					continue;
				}
				b[(size_t)rand() % len] ^= (u8)(1 + rand() % 255);
				spit(p, b, len);
				free(b);
				bfl_verify_result_free(&res);
				vs(work, &rs->key, NULL, &res);
				tries++;
				if (res.verdict != BFL_FAIL) {
					missed++;
					ktap_diag("undetected: byte in %s (verdict %d)", f, res.verdict);
				}
			}
			ktap_check(tries > 100 && missed == 0,
				   "120 random byte corruptions across all files: all detected");
		}

		bfl_verify_result_free(&res);
	}
	bfl_root_signer_free(rs);
	sh("rm -rf %s%s", tmp, "");
	return ktap_finish();
}
