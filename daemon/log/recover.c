// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Recovery of a store opened for writing (docs/log-format.md, "Recovery
 * rules").  A group commit writes records and then the checkpoint entry
 * that seals them, and acknowledges nothing until one fdatasync has made
 * both durable.  So after a crash the segments hold, in order:
 *
 *   sealed records and checkpoint entries ... the last checkpoint entry
 *   that made it to disk, then possibly an unsealed tail: whole records,
 *   a torn entry, zeros.
 *
 * Recovery replays the segments, recomputing every leaf and the tree,
 * and finds the last checkpoint entry that agrees with the records
 * before it (size and root).  Its signature is then checked with its
 * epoch's certificate and that certificate with our root key: a store
 * that is not ours is never continued.  Everything after it is cut.
 *
 * What it refuses (-EUCLEAN, for a human to look at), because cutting
 * would destroy sealed records rather than an interrupted commit:
 *  - a signed checkpoint entry anywhere after the first damaged byte
 *    (records it covers were acknowledged);
 *  - non-zero bytes after a damaged entry, unless it is a write cut
 *    short at the very end: a power cut leaves zeros or nothing there,
 *    so anything else may be an acknowledged commit whose checkpoint
 *    entry was damaged;
 *  - a checkpoint entry that agrees with the records but whose
 *    signature does not verify (forged, or a bug: never a torn write);
 *  - fewer sealed records than the checkpoint file, or the last epoch
 *    certificate's start, say exist (truncation), or a checkpoint file
 *    whose root the records do not reproduce.
 *
 * Signatures are verified only where a decision depends on them (the
 * last good entry, the file, entries after damage), so recovery costs
 * one Ed25519 verification, not one per commit ever made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct rkey {
	u64 epoch;
	u64 start;		/* the certificate's start-size */
	struct bfl_key key;
};

struct rctx {
	struct bfl_store *st;
	struct bfl_err *e;
	struct bfl_note note;		/* scratch */

	/* Epoch keys whose certificates were checked with the root key. */
	struct rkey *keys;
	unsigned int nkeys;

	/* The last checkpoint entry consistent with the records before it,
	 * and the state of the store right after it. */
	bool have_cp;
	unsigned int cp_seg;		/* index in the segment list */
	size_t cp_end;			/* offset after the entry */
	u64 cp_epoch;
	char cp_note[BFL_CP_CAP];
	size_t cp_note_len;
	struct bfl_tree cp_tree;
	bool cp_have_last;
	u8 cp_stream[BFL_STREAM_SIZE];
	u64 cp_seq;

	/* The replay. */
	u64 n;				/* records seen, sealed or not */
	bool have_last;
	u8 last_stream[BFL_STREAM_SIZE];
	u64 last_seq;
	/* The first damage: the tree stops there.  Bytes [dmg_off,
	 * dmg_end) of segment dmg_seg are the damaged entry (dmg_end ==
	 * dmg_off when it could not be parsed); dmg_torn: it runs past the
	 * end of its file, as a write cut short does. */
	bool damaged;
	unsigned int dmg_seg;
	size_t dmg_off, dmg_end;
	bool dmg_torn;
	char damage[800];

	/* The checkpoint file, when it verifies: a second witness. */
	bool have_file;
	struct bfl_checkpoint file;
	bool file_root_checked;
};

/*
 * The epoch's key, its certificate checked with our root key; NULL with
 * e set if there is none that verifies.  e->code tells a missing or bad
 * certificate (-EUCLEAN) from being unable to look (-EIO, -ENOMEM...).
 */
static const struct rkey *epoch_key(struct rctx *c, u64 epoch, struct bfl_err *e)
{
	struct bfl_store *st = c->st;
	struct bfl_epoch_cert cert;
	struct rkey *nk;
	char name[32], pre[64];
	u8 *buf;
	size_t len;
	unsigned int i;
	int r;

	for (i = 0; i < c->nkeys; i++)
		if (c->keys[i].epoch == epoch)
			return &c->keys[i];
	bfl_epoch_file(name, sizeof(name), epoch, "cert");
	snprintf(pre, sizeof(pre), "epochs/%s", name);
	r = bfl_read_file(st->epdirfd, name, BFL_NOTE_MAX, &buf, &len, e);
	if (r) {
		bfl_rewrap(e, r == -ENOENT || r == -EINVAL ? -EUCLEAN : r, pre);
		return NULL;
	}
	r = bfl_cert_open((const char *)buf, len, &st->rs->key, &cert, e);
	free(buf);
	if (!r && (cert.epoch != epoch || strcmp(cert.origin, st->origin)))
		r = bfl_errf(e, -EUCLEAN, "does not match its name or this store's origin");
	nk = r ? NULL : realloc(c->keys, (c->nkeys + 1) * sizeof(*c->keys));
	if (!r && !nk) {
		bfl_errf(e, -ENOMEM, "out of memory");
		return NULL;
	}
	if (!r) {
		c->keys = nk;
		r = bfl_cert_key(&cert, &c->keys[c->nkeys].key, e);
	}
	if (r) {
		bfl_rewrap(e, -EUCLEAN, pre);
		return NULL;
	}
	c->keys[c->nkeys].epoch = epoch;
	c->keys[c->nkeys].start = cert.start_size;
	return &c->keys[c->nkeys++];
}

/* Parses a checkpoint note of this store into cp and c->note. */
static int parse_cp(struct rctx *c, const char *text, size_t len,
		    struct bfl_checkpoint *cp, struct bfl_err *e)
{
	int r = bfl_checkpoint_open(text, len, cp, &c->note, e);

	if (!r && (strcmp(cp->origin, c->st->origin) || cp->epoch == 0))
		r = bfl_errf(e, -EBADMSG, "not this store's (origin or epoch line)");
	return r;
}

/*
 * Whether the note just parsed by parse_cp() (c->note is shared) is
 * signed by its epoch's certified key: 0 yes, 1 no (e says why), or a
 * negative error when that could not be found out (I/O, memory).
 */
static int signed_ok(struct rctx *c, const struct bfl_checkpoint *cp,
		     struct bfl_err *e)
{
	const struct rkey *k = epoch_key(c, cp->epoch, e);

	if (!k)
		return e->code == -EUCLEAN ? 1 : e->code;
	return bfl_note_verify(&c->note, &k->key, e) ? 1 : 0;
}

static void set_damage(struct rctx *c, unsigned int segi, const char *seg,
		       size_t off, size_t end, const char *why)
{
	if (c->damaged)
		return;
	c->damaged = true;
	c->dmg_seg = segi;
	c->dmg_off = off;
	c->dmg_end = end;
	snprintf(c->damage, sizeof(c->damage), "segments/%s offset %zu: %s", seg, off, why);
}

/* A record entry during the replay. */
static void replay_record(struct rctx *c, const struct bfl_item *it,
			  const char *seg, unsigned int segi)
{
	bfl_hash lh;

	c->n++;
	if (c->damaged)
		return;
	bfl_leaf_hash(it->data, it->data_len, lh);
	if (memcmp(lh, it->stored_leaf, BFL_HASH_SIZE)) {
		set_damage(c, segi, seg, it->off, it->off + it->len,
			   "a record does not match its stored leaf hash");
		return;
	}
	bfl_tree_append(&c->st->tree, lh);
	if (bfl_record_is_kernel(&it->rec)) {
		c->have_last = true;
		memcpy(c->last_stream, it->rec.stream, BFL_STREAM_SIZE);
		c->last_seq = it->rec.seq;
	}
	if (c->have_file && c->st->tree.size == c->file.size) {
		bfl_hash root;

		bfl_tree_root(&c->st->tree, root);
		if (memcmp(root, c->file.root, BFL_HASH_SIZE))
			set_damage(c, segi, seg, it->off, it->off + it->len,
				   "the records up to here do not hash to the checkpoint file's root");
		else
			c->file_root_checked = true;
	}
}

/* A checkpoint entry during the replay; an error ends recovery. */
static int replay_checkpoint(struct rctx *c, const struct bfl_item *it,
			     const char *seg, unsigned int segi)
{
	struct bfl_checkpoint cp;
	struct bfl_err pe = { 0 };
	bfl_hash root;
	int r;

	if (c->damaged)
		return 0;	/* check_damage() looks at every entry past it */
	r = parse_cp(c, it->note, it->note_len, &cp, &pe);
	if (r) {
		char why[600];

		snprintf(why, sizeof(why), "checkpoint entry: %s", pe.msg);
		set_damage(c, segi, seg, it->off, it->off + it->len, why);
		return 0;
	}
	bfl_tree_root(&c->st->tree, root);
	if (cp.size != c->st->tree.size || memcmp(root, cp.root, BFL_HASH_SIZE) ||
	    (c->have_cp && cp.epoch < c->cp_epoch)) {
		r = signed_ok(c, &cp, &pe);
		if (r < 0)
			return bfl_errf(c->e, r, "%s", pe.msg);
		if (r == 0)
			return bfl_errf(c->e, -EUCLEAN,
					"segments/%s offset %zu: a signed checkpoint (size %llu, epoch %llu) disagrees with the %llu records before it",
					seg, it->off, (unsigned long long)cp.size,
					(unsigned long long)cp.epoch,
					(unsigned long long)c->st->tree.size);
		set_damage(c, segi, seg, it->off, it->off + it->len,
			   "a checkpoint entry does not match the records before it");
		return 0;
	}
	c->have_cp = true;
	c->cp_seg = segi;
	c->cp_end = it->off + it->len;
	c->cp_epoch = cp.epoch;
	memcpy(c->cp_note, it->note, it->note_len);
	c->cp_note_len = it->note_len;
	c->cp_tree = c->st->tree;
	c->cp_have_last = c->have_last;
	memcpy(c->cp_stream, c->last_stream, BFL_STREAM_SIZE);
	c->cp_seq = c->last_seq;
	return 0;
}

/*
 * Past damage, the entries cannot be trusted to be walked; but a
 * checkpoint entry starts with its magic at an 8-byte boundary (every
 * entry is a multiple of 8 long), so look for one at every boundary from
 * `from` on.  A string that only looks like one (an operator id can hold
 * any printable text) is harmless: what counts is a note that verifies.
 */
static int refuse_if_signed(struct rctx *c, const struct bfl_item *it,
			    const char *seg)
{
	struct bfl_checkpoint cp;
	struct bfl_err pe = { 0 };
	int r;

	if (parse_cp(c, it->note, it->note_len, &cp, &pe))
		return 0;
	r = signed_ok(c, &cp, &pe);
	if (r < 0)
		return bfl_errf(c->e, r, "%s", pe.msg);
	if (r == 0)
		return bfl_errf(c->e, -EUCLEAN,
				"segments/%s offset %zu: a signed checkpoint (size %llu) follows damaged data (%s): sealed records are damaged",
				seg, it->off, (unsigned long long)cp.size, c->damage);
	return 0;
}

static int find_signed_entries(struct rctx *c, const u8 *buf, size_t len,
			       size_t from, const char *seg)
{
	size_t off;
	int r;

	for (off = from + ((8 - from % 8) % 8); off + BFL_CPE_HDR_SIZE <= len; off += 8) {
		struct bfl_item it;

		if (memcmp(buf + off, BFL_CPE_MAGIC, 8) ||
		    bfl_seg_next(buf, len, off, &it, NULL) <= 0 ||
		    it.type != BFL_ITEM_CHECKPOINT)
			continue;
		r = refuse_if_signed(c, &it, seg);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Whether what follows the last good checkpoint entry, from the first
 * damage on, is what an interrupted commit leaves: a write cut short at
 * the end of the last segment, or a damaged entry followed by nothing
 * but zeros (pages the file system had not written).  No checkpoint
 * entry that verifies may stand anywhere after the damage, not even
 * inside the damaged entry's bytes.  Anything else may be sealed
 * records that were acknowledged: recovery refuses to cut it.
 */
static int check_damage(struct rctx *c, const struct bfl_seg_list *l)
{
	unsigned int i;

	for (i = c->dmg_seg; i < l->n; i++) {
		size_t len, from = i == c->dmg_seg ? c->dmg_off + 8 : 0;
		size_t tail = i == c->dmg_seg ? c->dmg_end : 0;
		bool torn_end = i == c->dmg_seg && c->dmg_torn && i + 1 == l->n;
		u8 *buf;
		int r;

		r = bfl_read_file(c->st->segdirfd, l->v[i].name, BFL_SEG_FILE_MAX,
				  &buf, &len, c->e);
		if (r)
			return bfl_rewrap(c->e, r == -EINVAL ? -EUCLEAN : r, "segments");
		r = find_signed_entries(c, buf, len, from, l->v[i].name);
		if (!r && !torn_end && tail < len && !bfl_all_zero(buf + tail, len - tail))
			r = bfl_errf(c->e, -EUCLEAN,
				     "%s, and non-zero data follows it in segments/%s: not an interrupted commit; refusing to cut what may be sealed records",
				     c->damage, l->v[i].name);
		free(buf);
		if (r)
			return r;
	}
	return 0;
}

static int read_checkpoint_file(struct rctx *c, struct bfl_recovery *rep)
{
	struct bfl_err pe = { 0 };
	u8 *buf;
	size_t len;
	int r;

	r = bfl_read_file(c->st->dirfd, "checkpoint", BFL_NOTE_MAX, &buf, &len, c->e);
	if (r == -ENOENT)
		return 0;
	if (r)
		return bfl_rewrap(c->e, r == -EINVAL ? -EUCLEAN : r, "checkpoint");
	if (bfl_all_zero(buf, len)) {
		/* Empty or zeros: a copy replaced without a sync when the
		 * power went.  The entries are what is durable. */
		rep->lost_checkpoint_file = true;
		free(buf);
		return 0;
	}
	r = parse_cp(c, (const char *)buf, len, &c->file, &pe);
	if (!r)
		r = signed_ok(c, &c->file, &pe);
	free(buf);
	if (r < 0)
		return bfl_errf(c->e, r, "checkpoint: %s", pe.msg);
	if (r)
		return bfl_errf(c->e, -EUCLEAN, "checkpoint: %s", pe.msg);
	c->have_file = true;
	return 0;
}

/* Cuts everything after the last good checkpoint entry. */
static int cut_tail(struct rctx *c, const struct bfl_seg_list *l,
		    struct bfl_recovery *rep)
{
	struct bfl_store *st = c->st;
	unsigned int i, keep = c->have_cp ? c->cp_seg + 1 : 0;
	struct stat sb;

	rep->discarded_records = c->n - st->tree.size;
	/* From the last one down: a crash part-way leaves no hole. */
	for (i = l->n; i-- > keep;) {
		if (!fstatat(st->segdirfd, l->v[i].name, &sb, 0))
			rep->discarded_bytes += (u64)sb.st_size;
		if (unlinkat(st->segdirfd, l->v[i].name, 0))
			return bfl_errf(c->e, -errno, "segments/%s: %s", l->v[i].name,
					strerror(errno));
		rep->removed_segments++;
		st->segdir_dirty = true;
	}
	if (c->have_cp) {
		const char *name = l->v[c->cp_seg].name;

		st->segfd = openat(st->segdirfd, name,
				   O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (st->segfd < 0 || fstat(st->segfd, &sb))
			return bfl_errf(c->e, -errno, "segments/%s: %s", name,
					strerror(errno));
		if ((u64)sb.st_size > c->cp_end) {
			rep->discarded_bytes += (u64)sb.st_size - c->cp_end;
			if (ftruncate(st->segfd, (off_t)c->cp_end) ||
			    bfl_store_sync(st, st->segfd, false))
				return bfl_errf(c->e, -errno, "segments/%s: truncate: %s",
						name, strerror(errno));
		}
		st->seg_bytes = c->cp_end;
		st->seg_first = l->v[c->cp_seg].first;
	}
	if (st->segdir_dirty && bfl_store_sync(st, st->segdirfd, false))
		return bfl_errf(c->e, -errno, "segments: fsync: %s", strerror(errno));
	st->segdir_dirty = false;
	return 0;
}

/* Replays the segments up to the first bytes it cannot parse. */
static int replay(struct rctx *c, const struct bfl_seg_list *l)
{
	unsigned int i;
	int r = 0;

	for (i = 0; i < l->n; i++) {
		struct bfl_err se = { 0 };
		struct bfl_item it;
		const char *name = l->v[i].name;
		size_t len, off = BFL_SEG_HDR_SIZE;
		u64 first = 0;
		u8 *buf;
		int k;

		r = bfl_read_file(c->st->segdirfd, name, BFL_SEG_FILE_MAX, &buf, &len,
				  c->e);
		if (r)
			return bfl_rewrap(c->e, r == -EINVAL ? -EUCLEAN : r, "segments");
		if (bfl_seg_header_check(buf, len, &first, &se) ||
		    first != l->v[i].first || first != c->n) {
			set_damage(c, i, name, 0, 0,
				   se.code ? se.msg :
				   "its first index is not where the segments before it end");
			free(buf);
			return 0;
		}
		while ((k = bfl_seg_next(buf, len, off, &it, &se)) > 0) {
			if (it.type == BFL_ITEM_RECORD)
				replay_record(c, &it, name, i);
			else if ((r = replay_checkpoint(c, &it, name, i)))
				break;
			off += it.len;
		}
		free(buf);
		if (r)
			return r;
		if (k < 0) {
			if (!c->damaged)
				c->dmg_torn = k == -ENODATA;
			set_damage(c, i, name, off, off, se.msg);
			return 0;
		}
	}
	return 0;
}

/* What the witnesses say was sealed must still be there. */
static int check_witnesses(struct rctx *c, const u64 *eps, unsigned int nep)
{
	struct bfl_store *st = c->st;
	const char *sep = c->damaged ? "; " : "";
	const char *dmg = c->damaged ? c->damage : "";

	if (c->have_file && c->file.size > st->tree.size)
		return bfl_errf(c->e, -EUCLEAN,
				"the checkpoint file covers %llu records but the segments hold %llu sealed ones%s%s: sealed records are missing",
				(unsigned long long)c->file.size,
				(unsigned long long)st->tree.size, sep, dmg);
	if (c->have_file && !c->file_root_checked)
		return bfl_errf(c->e, -EUCLEAN,
				"the records do not hash to the checkpoint file's root (size %llu)%s%s",
				(unsigned long long)c->file.size, sep, dmg);
	if (nep) {
		const struct rkey *k = epoch_key(c, eps[nep - 1], c->e);

		if (!k)
			return c->e->code;
		if (k->start > st->tree.size)
			return bfl_errf(c->e, -EUCLEAN,
					"epoch %llu starts at tree size %llu but the segments hold %llu sealed records%s%s: sealed records are missing",
					(unsigned long long)k->epoch,
					(unsigned long long)k->start,
					(unsigned long long)st->tree.size, sep, dmg);
	}
	if (c->have_cp && (!nep || c->cp_epoch > eps[nep - 1]))
		return bfl_errf(c->e, -EUCLEAN,
				"the last checkpoint is signed by epoch %llu, which has no certificate",
				(unsigned long long)c->cp_epoch);
	return 0;
}

int bfl_store_recover(struct bfl_store *st, struct bfl_recovery *rep,
		      u64 *last_epoch, struct bfl_err *e)
{
	struct rctx *c = calloc(1, sizeof(*c));
	struct bfl_seg_list l = { 0 };
	struct bfl_checkpoint cp;
	struct bfl_err pe = { 0 }, own = { 0 };
	u64 *eps = NULL;
	unsigned int nep = 0, i;
	int r;

	if (!e)
		e = &own;	/* the code of an inner failure is needed */
	if (!c)
		return bfl_errf(e, -ENOMEM, "out of memory");
	c->st = st;
	c->e = e;
	r = bfl_list_epochs(st->epdirfd, &eps, &nep, e);
	if (r)
		goto out;
	*last_epoch = nep ? eps[nep - 1] : 0;
	r = read_checkpoint_file(c, rep);
	if (!r)
		r = bfl_list_segments(st->segdirfd, &l, e);
	if (r)
		goto out;
	if (c->have_file && c->file.size == 0) {
		bfl_hash root;

		bfl_tree_root(&st->tree, root);
		c->file_root_checked = !memcmp(root, c->file.root, BFL_HASH_SIZE);
	}
	r = replay(c, &l);
	if (!r && c->damaged)
		r = check_damage(c, &l);
	if (r)
		goto out;

	/* Back to the last good checkpoint entry, whose signature is then
	 * checked: it is the one the store continues from. */
	bfl_tree_init(&st->tree);
	if (c->have_cp) {
		st->tree = c->cp_tree;
		r = parse_cp(c, c->cp_note, c->cp_note_len, &cp, &pe);
		if (!r)
			r = signed_ok(c, &cp, &pe);
		if (r) {
			r = bfl_errf(e, r < 0 ? r : -EUCLEAN,
				     "the last checkpoint entry matches the records but does not verify: %s",
				     pe.msg);
			goto out;
		}
	}
	r = check_witnesses(c, eps, nep);
	if (r)
		goto out;
	r = cut_tail(c, &l, rep);
	if (r)
		goto out;
	st->sealed = st->tree.size;
	rep->sealed_size = st->tree.size;
	st->have_last = c->cp_have_last;
	memcpy(st->last_stream, c->cp_stream, BFL_STREAM_SIZE);
	st->last_seq = c->cp_seq;
	if (c->have_cp) {
		memcpy(st->cp_text, c->cp_note, c->cp_note_len);
		st->cp_len = c->cp_note_len;
		st->cp_epoch = c->cp_epoch;
	}
out:
	for (i = 0; i < c->nkeys; i++)
		bfl_key_free(&c->keys[i].key);
	free(c->keys);
	free(c);
	free(l.v);
	free(eps);
	return r;
}
