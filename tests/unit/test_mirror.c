// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the mirror writer (daemon/log/mirror.c): a real
 * multi-epoch, multi-segment store written by the store library is
 * mirrored item by item in the order a forwarder sends it; the copy
 * verifies like the original and is the original byte for byte.
 * Duplicates are dropped, a gap waits, garbage is refused with the copy
 * intact, a rewritten record, checkpoint or certificate freezes the
 * copy, and a copy cut by a crash is recovered and completed.  Entries
 * reach the file at the durability points, not before.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ktap.h"
#include "mirror.h"
#include "lib/audit_rec.h"
#include "lib/store_files.h"
#include "lib/store_stream.h"
#include "lib/stream_items.h"

#define ORIGIN "bioflow.example/kiosk-9"
#define SEG_MAX 6000

static char tmp[256], src[300], dst[300];
static struct bfl_root_signer *rs;
static const u8 boot[16] = { 0xb0, 0x07, 0x1d };
static u64 next_seq = 1;

/* The item stream of the source store, in memory (stream_items.h). */
static struct item items[4096];
static struct items ia = ITEMS_OF(items);

static int put(struct bfl_store *st, unsigned int n)
{
	u8 buf[BFL_RECORD_MAX];
	unsigned int i;
	struct bfl_err e = { 0 };

	for (i = 0; i < n; i++, next_seq++) {
		size_t len = test_audit_rec_v2(buf, boot, 77, next_seq,
					       next_seq % 2 ? BIOREADER_AUDIT_SESSION_START :
					       BIOREADER_AUDIT_VERDICT);

		if (bfl_store_append(st, buf, len, NULL, NULL, &e))
			return -1;
	}
	return 0;
}

/* The appliance's store: 3 epochs (one by rotation, one by a restart),
 * several segments, checkpoints at many sizes. */
static int make_source(void)
{
	struct bfl_store_opts o = { .segment_max_bytes = SEG_MAX, .no_sync = true,
				    .checkpoint_file_ms = -1 };
	struct bfl_store *st = NULL;
	struct bfl_err e = { 0 };
	int i;

	if (bfl_store_create(src, ORIGIN, rs, &o, &st, &e))
		goto fail;
	for (i = 0; i < 5; i++)
		if (put(st, 7) || bfl_store_commit(st, &e))
			goto fail;
	if (bfl_store_rotate_epoch(st, &e))
		goto fail;
	for (i = 0; i < 4; i++)
		if (put(st, 5 + i) || bfl_store_commit(st, &e))
			goto fail;
	bfl_store_close(st);
	if (bfl_store_open(src, rs, &o, &st, NULL, &e))
		goto fail;
	for (i = 0; i < 3; i++)
		if (put(st, 9) || bfl_store_commit(st, &e))
			goto fail;
	bfl_store_close(st);
	return 0;
fail:
	ktap_diag("source store: %s", e.msg);
	return -1;
}

static struct bfl_mirror *mopen(u64 *cut)
{
	struct bfl_mirror_opts o = { .segment_max_bytes = SEG_MAX };
	struct bfl_mirror *m = NULL;
	struct bfl_err e = { 0 };

	if (bfl_mirror_open(dst, ORIGIN, &rs->key, &o, &m, cut, &e))
		ktap_diag("mirror open: %s", e.msg);
	return m;
}

/* Feeds items [from, to); counts of each result; -1 on an error. */
static int feed(struct bfl_mirror *m, unsigned int from, unsigned int to, unsigned int cnt[5])
{
	struct bfl_err e = { 0 };
	unsigned int i;

	memset(cnt, 0, 5 * sizeof(cnt[0]));
	for (i = from; i < to; i++) {
		int r = bfl_mirror_add(m, items[i].kind, items[i].n, items[i].b, items[i].len, &e);

		if (r < 0) {
			ktap_diag("item %u (%s %llu): %s", i, bfl_fwd_kind_name(items[i].kind),
				  (unsigned long long)items[i].n, e.msg);
			return -1;
		}
		cnt[r]++;
	}
	return 0;
}

static enum bfl_verdict verify(const char *dir, u64 *records)
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
	if (records)
		*records = res.records;
	v = res.verdict;
	bfl_verify_result_free(&res);
	return v;
}

/* Every file of the source's SUB is in the copy with the same bytes, and
 * the copy has no other; *n counts them. */
static int same_dir(const char *sub, unsigned int *n)
{
	char a[700], b[700];
	struct dirent *d;
	DIR *dir;
	int ok = 1, count = 0;

	snprintf(a, sizeof(a), "%s/%s", src, sub);
	dir = opendir(a);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		size_t la, lb;
		u8 *x, *y;

		if (d->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s/%s", src, sub, d->d_name);
		snprintf(b, sizeof(b), "%s/%s/%s", dst, sub, d->d_name);
		x = slurp(a, &la);
		y = slurp(b, &lb);
		if (!x || !y || la != lb || memcmp(x, y, la)) {
			ktap_diag("differs: %s/%s", sub, d->d_name);
			ok = 0;
		}
		free(x);
		free(y);
		count++;
	}
	closedir(dir);
	snprintf(b, sizeof(b), "%s/%s", dst, sub);
	dir = opendir(b);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			count--;
	closedir(dir);
	if (count) {
		ktap_diag("%s: the copy has %d files more", sub, -count);
		ok = 0;
	}
	if (n)
		*n = (unsigned int)count;
	return ok;
}

static int same_file(const char *name)
{
	char a[700], b[700];
	size_t la, lb;
	u8 *x, *y;
	int ok;

	snprintf(a, sizeof(a), "%s/%s", src, name);
	snprintf(b, sizeof(b), "%s/%s", dst, name);
	x = slurp(a, &la);
	y = slurp(b, &lb);
	ok = x && y && la == lb && !memcmp(x, y, la);
	free(x);
	free(y);
	return ok;
}


/* The copy's or the source's segments, one after the other in name
 * order (malloc'ed), as they are on disk; NULL on an error. */
static u8 *segs(const char *dir, size_t *len)
{
	struct dirent **de = NULL;
	char path[700];
	u8 *all = NULL, *b, *nv;
	size_t n, blen;
	int k, i;

	*len = 0;
	snprintf(path, sizeof(path), "%s/segments", dir);
	k = scandir(path, &de, NULL, alphasort);
	if (k < 0)
		return NULL;
	all = malloc(1);
	for (i = 0; i < k; i++) {
		if (de[i]->d_name[0] != '.' && all) {
			snprintf(path, sizeof(path), "%s/segments/%s", dir, de[i]->d_name);
			b = slurp(path, &blen);
			n = *len + blen;
			nv = b ? realloc(all, n + 1) : NULL;
			if (nv) {
				memcpy(nv + *len, b, blen);
				*len = n;
			} else {
				free(all);
			}
			all = nv;
			free(b);
		}
		free(de[i]);
	}
	free(de);
	return all;
}

/* Whether the copy's segments on disk are the source's up to the end of
 * the entry @it (a record, with its leaf hash, or a checkpoint entry) and
 * nothing more; *len gets their size. */
static int on_disk_to(const struct item *it, size_t *len)
{
	size_t sl, dl, el = it->kind == BFL_FWD_CP ? bfl_cpe_size(it->len) : it->len;
	u8 *s = segs(src, &sl), *d = segs(dst, &dl), *ent = NULL;
	int ok = s && d && dl <= sl && !memcmp(s, d, dl) && dl >= el;

	if (ok && it->kind == BFL_FWD_CP) {
		ent = calloc(1, el);
		ok = ent && bfl_cpe_make(ent, (const char *)it->b, it->len) == el &&
		     !memcmp(d + dl - el, ent, el);
	} else if (ok) {
		ok = dl >= el + BFL_ENTRY_EXTRA &&
		     !memcmp(d + dl - BFL_ENTRY_EXTRA - el, it->b, el);
	}
	*len = dl;
	free(ent);
	free(s);
	free(d);
	return ok;
}

int main(void)
{
	struct bfl_mirror *m = NULL;
	struct bfl_err e = { 0 };
	unsigned int cnt[5], i, nseg = 0, ncp = 0, ncert = 0;
	char path[700], cmd[800];
	u64 n = 0, cut = 0;
	int r;

	snprintf(tmp, sizeof(tmp), "%s/bfl-mirror-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(tmp))
		return 1;
	snprintf(src, sizeof(src), "%s/appliance", tmp);
	snprintf(dst, sizeof(dst), "%s/copy", tmp);
	rs = bfl_soft_root_new(NULL, NULL, &e);
	ktap_plan(32);
	ktap_require(rs && !make_source() && !store_stream(src, items_collect, &ia),
		     "a source store (3 epochs) and its item stream");
	for (i = 0; i < ia.n; i++) {
		nseg += 0;
		ncp += items[i].kind == BFL_FWD_CP;
		ncert += items[i].kind == BFL_FWD_CERT;
	}
	snprintf(path, sizeof(path), "%s/segments", src);
	{
		DIR *d = opendir(path);
		struct dirent *de;

		while (d && (de = readdir(d)))
			nseg += de->d_name[0] != '.';
		if (d)
			closedir(d);
	}
	ktap_diag("source: %u items, %u checkpoints, %u certificates, %u segments", ia.n, ncp,
		  ncert, nseg);
	ktap_check(verify(src, &n) == BFL_OK && ncert == 3 && nseg >= 3 && ncp >= 14,
		   "the source verifies: 3 epochs, several segments and checkpoints");

	/* 1. The whole stream, item by item. */
	m = mopen(NULL);
	ktap_require(m != NULL, "mirror opened on an empty directory");
	r = feed(m, 0, ia.n, cnt);
	ktap_check(!r && cnt[BFL_MIRROR_HELD] == 3 && cnt[BFL_MIRROR_AHEAD] == 0 &&
		   cnt[BFL_MIRROR_APPLIED] == ia.n - 3 && bfl_mirror_size(m) == n &&
		   bfl_mirror_epochs(m) == 3,
		   "every item applied in order (certificates held until their first checkpoint)");
	bfl_mirror_close(m);
	m = NULL;
	ktap_check(verify(dst, NULL) == BFL_OK, "the copy verifies with the root key");
	ktap_check(same_file("log-info") && same_file("checkpoint") && same_dir("epochs", NULL) &&
		   same_dir("segments", NULL),
		   "the copy is the source byte for byte: log-info, checkpoint, epochs/*, segments/*");

	/* 2. Everything again: duplicates only, nothing changes. */
	m = mopen(&cut);
	ktap_require(m != NULL && cut == 0, "the copy reopens (replayed, nothing cut)");
	r = feed(m, 0, ia.n, cnt);
	ktap_check(!r && cnt[BFL_MIRROR_DUPLICATE] == ia.n,
		   "the whole stream again: every item a duplicate");
	bfl_mirror_close(m);
	m = NULL;
	ktap_check(same_dir("segments", NULL) && same_dir("epochs", NULL) && verify(dst, NULL) == BFL_OK,
		   "after the duplicates the copy is unchanged and verifies");

	/* 3. Garbage is refused and changes nothing. */
	m = mopen(NULL);
	ktap_require(m != NULL, "reopened");
	{
		unsigned int ri = items_find(&ia, BFL_FWD_REC, 3, 0), ci = items_find(&ia, BFL_FWD_CP, 7, 0);
		u8 bad[BFL_RECORD_MAX], note[BFL_CPE_NOTE_MAX];

		memcpy(bad, items[ri].b, items[ri].len);
		bad[0] ^= 0xff;
		ktap_check(bfl_mirror_add(m, BFL_FWD_REC, n, bad, items[ri].len, &e) == -EBADMSG &&
			   bfl_mirror_add(m, BFL_FWD_REC, n, items[ri].b, items[ri].len - 8, &e) == -EBADMSG &&
			   bfl_mirror_size(m) == n,
			   "a record that is not one (bad magic, cut short) is refused; nothing appended");
		memcpy(note, items[ci].b, items[ci].len);
		note[items[ci].len - 10] ^= 1;	/* in the signature */
		r = bfl_mirror_add(m, BFL_FWD_CP, 7, note, items[ci].len, &e);
		ktap_check(r == -EBADMSG && !bfl_mirror_frozen(m),
			   "a checkpoint whose signature does not verify is refused, not a conflict");
		ktap_check(bfl_mirror_add(m, BFL_FWD_CP, 8, items[ci].b, items[ci].len, &e) == -EBADMSG,
			   "a checkpoint sent under another size is refused");
		memcpy(bad, items[0].b, items[0].len);
		bad[items[0].len - 2] ^= 1;
		ktap_check(bfl_mirror_add(m, BFL_FWD_INFO, 0, bad, items[0].len, &e) == -EBADMSG &&
			   bfl_mirror_add(m, BFL_FWD_CERT, 2, items[items_find(&ia, BFL_FWD_CERT, 1, 0)].b,
					  items[items_find(&ia, BFL_FWD_CERT, 1, 0)].len, &e) == -EBADMSG,
			   "another log-info, a certificate under another epoch number: refused");
	}
	bfl_mirror_close(m);
	m = NULL;
	ktap_check(same_dir("segments", NULL) && verify(dst, NULL) == BFL_OK,
		   "after the garbage the copy is unchanged and verifies");

	/* 4. A copy cut by a crash: half, then torn bytes; the rest later. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
	ktap_require(!system(cmd), "copy removed");
	m = mopen(NULL);
	r = m ? feed(m, 0, ia.n / 2, cnt) : -1;
	if (m)
		bfl_mirror_sync(m, &e);
	bfl_mirror_close(m);
	m = NULL;
	{
		DIR *d;
		struct dirent *de;
		char last[64] = "";
		int fd;

		snprintf(path, sizeof(path), "%s/segments", dst);
		d = opendir(path);
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' && strcmp(de->d_name, last) > 0)
				snprintf(last, sizeof(last), "%.60s", de->d_name);
		if (d)
			closedir(d);
		snprintf(path, sizeof(path), "%s/segments/%s", dst, last);
		fd = open(path, O_WRONLY | O_APPEND);
		/* Part of an entry: what a crash mid-write leaves. */
		r = r || fd < 0 || write(fd, items[ia.n / 2].b, 40) != 40;
		if (fd >= 0)
			close(fd);
	}
	m = mopen(&cut);
	ktap_check(!r && m && cut == 40, "a torn entry at the end of the copy is cut when it reopens");
	r = m ? feed(m, 0, ia.n, cnt) : -1;
	bfl_mirror_close(m);
	m = NULL;
	ktap_check(!r && cnt[BFL_MIRROR_APPLIED] + cnt[BFL_MIRROR_HELD] >= ia.n - ia.n / 2 &&
		   same_dir("segments", NULL) && same_dir("epochs", NULL) && same_file("checkpoint") &&
		   verify(dst, NULL) == BFL_OK,
		   "the whole stream after the crash: the copy is complete, the source byte for byte");

	/* 5. A gap waits; filled, it goes on. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
	ktap_require(!system(cmd), "copy removed");
	m = mopen(NULL);
	{
		unsigned int r5 = items_find(&ia, BFL_FWD_REC, 5, 0), r6 = items_find(&ia, BFL_FWD_REC, 6, 0);

		r = m ? feed(m, 0, r5, cnt) : -1;
		ktap_check(!r && bfl_mirror_add(m, BFL_FWD_REC, 6, items[r6].b, items[r6].len, &e) ==
			   BFL_MIRROR_AHEAD && bfl_mirror_size(m) == 5,
			   "record 6 before record 5: ahead, not appended");
		{
			unsigned int c7 = items_find(&ia, BFL_FWD_CP, 7, 0);
			u8 note[BFL_CPE_NOTE_MAX];
			int k;

			/* Its signature is checked once, when it can be
			 * taken, not each time it is fed again while ahead. */
			memcpy(note, items[c7].b, items[c7].len);
			/* Another base64 character inside the signature (a
			 * flipped bit could make one that is no base64 at
			 * all: refused for another reason). */
			note[items[c7].len - 10] = note[items[c7].len - 10] == 'A' ? 'B' : 'A';
			k = bfl_mirror_add(m, BFL_FWD_CP, 7, note, items[c7].len, &e);
			r = feed(m, r5, ia.n, cnt);
			ktap_check(!r && bfl_mirror_size(m) == n, "the gap filled: the rest applies");
			ktap_check(k == BFL_MIRROR_AHEAD &&
				   bfl_mirror_add(m, BFL_FWD_CP, 7, note, items[c7].len, &e) == -EBADMSG,
				   "a checkpoint ahead waits unchecked; once its records are in, a bad signature is refused");
		}
	}

	/* 6. History rewritten: a record, a certificate, a checkpoint. */
	{
		unsigned int ri = items_find(&ia, BFL_FWD_REC, 11, 0);
		u8 bad[BFL_RECORD_MAX];

		memcpy(bad, items[ri].b, items[ri].len);
		bad[40] ^= 1;	/* in the record's body: still a record */
		r = bfl_mirror_add(m, BFL_FWD_REC, 11, bad, items[ri].len, &e);
		ktap_check(r == -EUCLEAN && bfl_mirror_frozen(m) &&
			   strstr(bfl_mirror_frozen(m), "record 11"),
			   "record 11 with other bytes: history rewritten, the copy frozen");
		ktap_diag("frozen: %s", bfl_mirror_frozen(m));
		ktap_check(bfl_mirror_add(m, BFL_FWD_REC, n, items[ri].b, items[ri].len, &e) == -EUCLEAN &&
			   bfl_mirror_add(m, items[0].kind, 0, items[0].b, items[0].len, &e) == -EUCLEAN,
			   "a frozen copy refuses every further item");
	}
	bfl_mirror_close(m);
	m = NULL;
	ktap_check(verify(dst, NULL) == BFL_OK, "the frozen copy still verifies (nothing was written)");

	/* 7. A second appliance store under the same root and origin, with
	 * its own epoch keys and other records: its certificate of epoch 1
	 * conflicts; a checkpoint over records that are not the copy's
	 * conflicts. */
	{
		char other[400];
		struct bfl_store_opts o = { .segment_max_bytes = SEG_MAX, .no_sync = true };
		struct bfl_store *st = NULL;
		unsigned int saved = ia.n, c1, cp0, cp7;

		snprintf(other, sizeof(other), "%s/other", tmp);
		next_seq = 1000;
		r = bfl_store_create(other, ORIGIN, rs, &o, &st, &e) || put(st, 3) ||
		    bfl_store_commit(st, &e);
		bfl_store_close(st);
		r = r || store_stream(other, items_collect, &ia);
		m = mopen(NULL);
		c1 = items_find(&ia, BFL_FWD_CERT, 1, saved);
		ktap_check(!r && m && c1 < ia.n &&
			   bfl_mirror_add(m, BFL_FWD_CERT, 1, items[c1].b, items[c1].len, &e) == -EUCLEAN,
			   "another certificate of epoch 1, root-signed: history rewritten");
		bfl_mirror_close(m);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
		r = system(cmd);
		m = mopen(NULL);
		cp0 = items_find(&ia, BFL_FWD_CP, 0, 0);
		cp7 = items_find(&ia, BFL_FWD_CP, 7, 0);
		/* info, cert 1, checkpoint 0 of the first store; records 0-2
		 * of the other, 3-6 of the first; the first's checkpoint 7. */
		r = r || !m || feed(m, 0, cp0 + 1, cnt) ||
		    feed(m, items_find(&ia, BFL_FWD_REC, 0, saved), items_find(&ia, BFL_FWD_REC, 2, saved) + 1, cnt) ||
		    feed(m, items_find(&ia, BFL_FWD_REC, 3, 0), cp7, cnt);
		ktap_check(!r && bfl_mirror_size(m) == 7 &&
			   bfl_mirror_add(m, BFL_FWD_CP, 7, items[cp7].b, items[cp7].len, &e) == -EUCLEAN &&
			   strstr(e.msg, "another root"),
			   "a signed checkpoint whose root is not the copy's records': history rewritten");
		ktap_diag("%s", e.msg);
		bfl_mirror_close(m);
		m = NULL;
	}


	/* 8. Entries are gathered and written at the durability points: a
	 * checkpoint entry (with the records it seals), a sync, a close. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
	ktap_require(!system(cmd), "copy removed");
	m = mopen(NULL);
	{
		unsigned int c = items_find(&ia, BFL_FWD_CP, 14, 0), k;
		size_t len0 = 0, len1 = 0;

		r = !m || c + 6 >= ia.n || feed(m, 0, c + 1, cnt);
		for (k = c + 1; k <= c + 5; k++)
			r = r || items[k].kind != BFL_FWD_REC;
		ktap_check(!r && on_disk_to(&items[c], &len0),
			   "a checkpoint entry taken: it and every record it seals are in the file");
		r = r || feed(m, c + 1, c + 4, cnt);
		ktap_check(!r && on_disk_to(&items[c], &len1) && len1 == len0,
			   "records after it are not in the file before a durability point");
		r = r || bfl_mirror_sync(m, &e);
		ktap_check(!r && on_disk_to(&items[c + 3], &len1) && len1 > len0,
			   "bfl_mirror_sync(): the records it makes durable are in the file");
		r = r || feed(m, c + 4, c + 6, cnt);
		bfl_mirror_close(m);
		m = NULL;
		ktap_check(!r && on_disk_to(&items[c + 5], &len1),
			   "bfl_mirror_close(): the records taken since the sync are in the file");
	}

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		ktap_diag("could not remove %s", tmp);
	bfl_root_signer_free(rs);
	return ktap_finish();
}
