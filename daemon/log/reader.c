// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The read-only store follower (reader.h): two cursors over the
 * segments.  The scan cursor runs ahead, checks every entry and moves
 * the sealed point (segment, offset, record count, tree) at each
 * checkpoint entry that agrees with the records before it; what it read
 * after that point is forgotten and read again at the next poll (a
 * commit being written, a torn tail that recovery will cut).  The emit
 * cursor gives the stream, from a seek point up to the sealed point,
 * reading the entries again (the leaf hashes the scan recorded are
 * compared, so a file changed in between is an error, not a resend of
 * other bytes).  Entries are parsed by segment.c, the store's one
 * parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "internal.h"
#include "reader.h"

#define RD_BUF		(256 * 1024)	/* at least the largest entry twice */

struct cursor {
	int fd;			/* the segment open, -1 none */
	unsigned int seg;	/* its index in the reader's list */
	u64 foff;		/* file offset of buf[0] */
	u8 *buf;
	size_t blen, bpos;	/* bytes held; the next entry's start */
	u64 leaf;		/* records before the next entry */
	bool eof;		/* the last read found the end of the file */
};

struct sealed_pos {
	unsigned int seg;
	u64 off;		/* file offset after the last checkpoint entry */
	u64 leaf;
};

struct bfl_reader {
	int dirfd, segdirfd, epdirfd;
	char origin[BFL_NAME_MAX + 1];
	u8 *info;
	size_t info_len;

	struct bfl_seg_list segs;

	/* scan */
	struct cursor scan;
	bfl_hash *leaf;		/* leaf hashes, nleaf read, cap allocated */
	u64 nleaf, cap;
	struct bfl_tree tree;
	struct sealed_pos sealed;	/* seg == UINT_MAX: nothing sealed */
	struct bfl_tree sealed_tree;
	char *cp;		/* the latest sealed checkpoint note */
	size_t cp_len;
	u64 cp_epoch;
	char tail[512];

	/* emit */
	struct cursor emit;
	bool seeked, want_info;
	u64 from;
	u64 cert_next;		/* 0: from the first checkpoint's epoch */
	/* a checkpoint held back while its certificates go first */
	bool held;
	struct bfl_item held_it;
	struct bfl_checkpoint held_cp;
	u8 *certbuf;
	size_t cert_len;
	u8 *heldbuf;
};

static void cur_init(struct cursor *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void cur_close(struct cursor *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->blen = c->bpos = 0;
	c->eof = false;
}

/* The file offset of the next entry. */
static u64 cur_off(const struct cursor *c)
{
	return c->foff + c->bpos;
}

static int relist(struct bfl_reader *r, struct bfl_err *e)
{
	struct bfl_seg_list l;
	unsigned int i;
	int k;

	k = bfl_list_segments(r->segdirfd, &l, e);
	if (k)
		return k;
	/* Segments already read must still be there, under the same names. */
	for (i = 0; i < r->segs.n && i < l.n; i++)
		if (l.v[i].first != r->segs.v[i].first)
			break;
	if (i < r->segs.n && r->sealed.seg != UINT32_MAX && i <= r->sealed.seg) {
		free(l.v);
		return bfl_errf(e, -EUCLEAN, "segments/%s: gone or renamed after it was read",
				r->segs.v[i].name);
	}
	free(r->segs.v);
	r->segs = l;
	return 0;
}

/* Opens segment @seg at file offset @off (past the header) for @leaf
 * records before it. */
static int cur_open(struct bfl_reader *r, struct cursor *c, unsigned int seg,
		    u64 off, u64 leaf, struct bfl_err *e)
{
	u8 hdr[BFL_SEG_HDR_SIZE];
	const char *name = r->segs.v[seg].name;
	u64 first;
	ssize_t k;

	cur_close(c);
	c->fd = openat(r->segdirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (c->fd < 0)
		return bfl_errf(e, -errno, "segments/%s: %s", name, strerror(errno));
	k = pread(c->fd, hdr, sizeof(hdr), 0);
	if (k < 0) {
		k = -errno;
		cur_close(c);
		return bfl_errf(e, (int)k, "segments/%s: %s", name, strerror((int)-k));
	}
	if (bfl_seg_header_check(hdr, (size_t)k, &first, e)) {
		cur_close(c);
		return bfl_rewrap(e, k < (ssize_t)sizeof(hdr) ? -ENODATA : -EUCLEAN, name);
	}
	if (first != r->segs.v[seg].first) {
		cur_close(c);
		return bfl_errf(e, -EUCLEAN, "segments/%s: header says first index %llu",
				name, (unsigned long long)first);
	}
	c->seg = seg;
	c->foff = off ? off : BFL_SEG_HDR_SIZE;
	c->leaf = leaf;
	if (off ? leaf < first : leaf != first) {
		cur_close(c);
		return bfl_errf(e, -EUCLEAN, "segments/%s: starts at %llu, %llu records before it",
				name, (unsigned long long)first, (unsigned long long)leaf);
	}
	return 0;
}

/*
 * The next entry at the cursor: 1 and *it (its bytes in c->buf until the
 * next call), 0 at the end of what the files hold (a partial entry
 * included), -EBADMSG for bytes that are no entry (e says where).
 */
static int cur_next(struct bfl_reader *r, struct cursor *c, struct bfl_item *it,
		    struct bfl_err *e)
{
	for (;;) {
		struct bfl_err pe;
		int k;

		if (c->fd < 0) {
			/* Past the end of a segment: the next one, if it
			 * starts where this one ended. */
			unsigned int next = c->seg + 1;

			if (next >= r->segs.n) {
				k = relist(r, e);
				if (k)
					return k;
				if (next >= r->segs.n)
					return 0;
			}
			if (r->segs.v[next].first != c->leaf)
				return bfl_errf(e, -EBADMSG,
						"segments/%s: starts at %llu, %llu records before it",
						r->segs.v[next].name,
						(unsigned long long)r->segs.v[next].first,
						(unsigned long long)c->leaf);
			k = cur_open(r, c, next, 0, c->leaf, e);
			if (k)
				return k == -ENODATA ? 0 : k;
		}
		k = bfl_seg_next(c->buf, c->blen, c->bpos, it, &pe);
		if (k == 1) {
			c->bpos += it->len;
			if (it->type == BFL_ITEM_RECORD)
				c->leaf++;
			return 1;
		}
		if (k < 0 && k != -ENODATA)
			return bfl_errf(e, -EBADMSG, "segments/%s offset %llu: %s",
					r->segs.v[c->seg].name,
					(unsigned long long)cur_off(c), pe.msg);
		/* Need more bytes: keep the partial entry, read on. */
		if (c->bpos) {
			memmove(c->buf, c->buf + c->bpos, c->blen - c->bpos);
			c->foff += c->bpos;
			c->blen -= c->bpos;
			c->bpos = 0;
		}
		if (c->blen < RD_BUF) {
			ssize_t n = pread(c->fd, c->buf + c->blen, RD_BUF - c->blen,
					  (off_t)(c->foff + c->blen));

			if (n < 0)
				return bfl_errf(e, -errno, "segments/%s: %s",
						r->segs.v[c->seg].name, strerror(errno));
			if (n > 0) {
				c->blen += (size_t)n;
				c->eof = false;
				continue;
			}
		}
		c->eof = true;
		if (c->blen)
			return 0;	/* an entry being written, or torn */
		/* The whole segment was read.  A later segment means this
		 * one is complete (the writer closes a segment before it
		 * starts the next). */
		if (c->seg + 1 >= r->segs.n) {
			k = relist(r, e);
			if (k)
				return k;
		}
		if (c->seg + 1 >= r->segs.n)
			return 0;
		/* Bytes written just before the next segment was made? */
		{
			ssize_t n = pread(c->fd, c->buf, 1, (off_t)c->foff);

			if (n > 0)
				continue;
		}
		close(c->fd);
		c->fd = -1;
	}
}

int bfl_reader_open(const char *dir, struct bfl_reader **out,
		    struct bfl_err *e)
{
	struct bfl_reader *r = calloc(1, sizeof(*r));
	int k;

	*out = NULL;
	if (!r)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r->segdirfd = r->epdirfd = -1;
	cur_init(&r->scan);
	cur_init(&r->emit);
	r->sealed.seg = UINT32_MAX;
	bfl_tree_init(&r->tree);
	bfl_tree_init(&r->sealed_tree);
	r->scan.buf = malloc(RD_BUF);
	r->emit.buf = malloc(RD_BUF);
	r->certbuf = malloc(BFL_FWD_ITEM_MAX);
	r->heldbuf = malloc(BFL_FWD_ITEM_MAX);
	if (!r->scan.buf || !r->emit.buf || !r->certbuf || !r->heldbuf) {
		bfl_reader_close(r);
		return bfl_errf(e, -ENOMEM, "out of memory");
	}
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		k = bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	r->segdirfd = openat(r->dirfd, "segments", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->segdirfd < 0) {
		k = bfl_errf(e, -errno, "%s/segments: %s", dir, strerror(errno));
		goto fail;
	}
	r->epdirfd = openat(r->dirfd, "epochs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->epdirfd < 0) {
		k = bfl_errf(e, -errno, "%s/epochs: %s", dir, strerror(errno));
		goto fail;
	}
	k = bfl_read_log_info(r->dirfd, r->origin, e);
	if (!k)
		k = bfl_read_file(r->dirfd, BFL_LOG_INFO, 4096, &r->info, &r->info_len, e);
	if (k)
		goto fail;
	/* The scan starts before the first segment. */
	r->scan.seg = UINT32_MAX;
	*out = r;
	return 0;
fail:
	bfl_reader_close(r);
	return k;
}

void bfl_reader_close(struct bfl_reader *r)
{
	if (!r)
		return;
	cur_close(&r->scan);
	cur_close(&r->emit);
	free(r->scan.buf);
	free(r->emit.buf);
	free(r->certbuf);
	free(r->heldbuf);
	free(r->leaf);
	free(r->cp);
	free(r->info);
	free(r->segs.v);
	if (r->dirfd >= 0)
		close(r->dirfd);
	if (r->segdirfd >= 0)
		close(r->segdirfd);
	if (r->epdirfd >= 0)
		close(r->epdirfd);
	free(r);
}

const char *bfl_reader_origin(const struct bfl_reader *r)
{
	return r->origin;
}

const char *bfl_reader_tail_note(const struct bfl_reader *r)
{
	return r->tail;
}

u64 bfl_reader_sealed(const struct bfl_reader *r)
{
	return r->sealed.seg == UINT32_MAX ? 0 : r->sealed.leaf;
}

const char *bfl_reader_latest_cp(const struct bfl_reader *r, size_t *len,
				 u64 *epoch)
{
	if (len)
		*len = r->cp_len;
	if (epoch)
		*epoch = r->cp_epoch;
	return r->cp;
}

const bfl_hash *bfl_reader_leaves(const struct bfl_reader *r, u64 *n)
{
	*n = bfl_reader_sealed(r);
	return r->leaf;
}

int bfl_reader_consistency(const struct bfl_reader *r, u64 m, u64 n,
			   bfl_hash *proof, unsigned int *len)
{
	if (n > bfl_reader_sealed(r))
		return -ERANGE;
	return bfl_consistency_proof(r->leaf, m, n, proof, len);
}

int bfl_reader_root(const struct bfl_reader *r, u64 n, bfl_hash out)
{
	if (n > bfl_reader_sealed(r))
		return -ERANGE;
	bfl_mth(r->leaf, n, out);
	return 0;
}

/* A checkpoint entry: parsed, of this log, sealing exactly the records
 * before it. */
static int check_cp(const struct bfl_reader *r, const struct bfl_item *it,
		    u64 leaf, const struct bfl_tree *t, struct bfl_checkpoint *cp,
		    const char *where, struct bfl_err *e)
{
	struct bfl_note *note = malloc(sizeof(*note));
	bfl_hash root;
	int k;

	if (!note)
		return bfl_errf(e, -ENOMEM, "out of memory");
	k = bfl_checkpoint_open(it->note, it->note_len, cp, note, e);
	free(note);
	if (k)
		return bfl_rewrap(e, -EUCLEAN, where);
	if (strcmp(cp->origin, r->origin))
		return bfl_errf(e, -EUCLEAN, "%s: checkpoint of origin \"%s\", not \"%s\"",
				where, cp->origin, r->origin);
	if (cp->size != leaf)
		return bfl_errf(e, -EUCLEAN, "%s: checkpoint of size %llu after %llu records",
				where, (unsigned long long)cp->size, (unsigned long long)leaf);
	if (!cp->epoch)
		return bfl_errf(e, -EUCLEAN, "%s: checkpoint without a bioflow-epoch line",
				where);
	if (t) {
		bfl_tree_root(t, root);
		if (memcmp(root, cp->root, BFL_HASH_SIZE))
			return bfl_errf(e, -EUCLEAN, "%s: checkpoint of size %llu does not match the records before it",
					where, (unsigned long long)cp->size);
	}
	return 0;
}

/* Forgets what the scan read after the sealed point. */
static void scan_rewind(struct bfl_reader *r)
{
	cur_close(&r->scan);
	if (r->sealed.seg == UINT32_MAX) {
		r->scan.seg = UINT32_MAX;
		r->scan.leaf = 0;
		r->nleaf = 0;
		bfl_tree_init(&r->tree);
		return;
	}
	r->nleaf = r->sealed.leaf;
	r->tree = r->sealed_tree;
}

int bfl_reader_poll(struct bfl_reader *r, struct bfl_err *e)
{
	struct bfl_item it;
	char where[96];
	int k;

	r->tail[0] = 0;
	/* Start again at the sealed point: what followed it may have been
	 * cut and rewritten since. */
	scan_rewind(r);
	if (r->sealed.seg == UINT32_MAX) {
		k = relist(r, e);
		if (k)
			return k;
		if (!r->segs.n)
			return 0;
		if (r->segs.v[0].first)
			return bfl_errf(e, -EUCLEAN, "segments/%s: the first segment does not start at 0",
					r->segs.v[0].name);
		k = cur_open(r, &r->scan, 0, 0, 0, e);
	} else {
		struct stat st;

		if (r->sealed.seg >= r->segs.n)
			return bfl_errf(e, -EUCLEAN, "segments: the segment sealed last is gone");
		k = cur_open(r, &r->scan, r->sealed.seg, r->sealed.off, r->sealed.leaf, e);
		if (!k && fstat(r->scan.fd, &st) == 0 && (u64)st.st_size < r->sealed.off)
			k = bfl_errf(e, -EUCLEAN, "segments/%s: %llu bytes, shorter than the %llu read as sealed",
				     r->segs.v[r->sealed.seg].name,
				     (unsigned long long)st.st_size,
				     (unsigned long long)r->sealed.off);
	}
	if (k == -ENODATA)
		return 0;	/* a segment whose header is being written */
	if (k)
		return k == -EUCLEAN ? k : bfl_rewrap(e, k, "store");
	for (;;) {
		struct bfl_err pe;

		k = cur_next(r, &r->scan, &it, &pe);
		if (k < 0) {
			/* Past the sealed point: a tail to be read again. */
			if (k == -EBADMSG) {
				snprintf(r->tail, sizeof(r->tail), "%s", pe.msg);
				return 0;
			}
			*e = pe;
			return k;
		}
		if (k == 0)
			return 0;
		snprintf(where, sizeof(where), "segments/%s offset %llu",
			 r->segs.v[r->scan.seg].name,
			 (unsigned long long)(cur_off(&r->scan) - it.len));
		if (it.type == BFL_ITEM_RECORD) {
			bfl_hash h;

			bfl_leaf_hash(it.data, it.data_len, h);
			if (memcmp(h, it.stored_leaf, BFL_HASH_SIZE)) {
				/* Sealed if a checkpoint follows; the scan cannot
				 * tell yet, and stops here.  A sealed record that
				 * does not match is found again at every poll. */
				snprintf(r->tail, sizeof(r->tail),
					 "%s: record %llu does not match its stored leaf hash",
					 where, (unsigned long long)r->nleaf);
				return 0;
			}
			if (r->nleaf == r->cap) {
				u64 nc = r->cap ? 2 * r->cap : 4096;
				bfl_hash *nl = realloc(r->leaf, nc * sizeof(*nl));

				if (!nl)
					return bfl_errf(e, -ENOMEM, "out of memory");
				r->leaf = nl;
				r->cap = nc;
			}
			memcpy(r->leaf[r->nleaf++], h, BFL_HASH_SIZE);
			bfl_tree_append(&r->tree, h);
		} else {
			struct bfl_checkpoint cp;
			char *n;

			k = check_cp(r, &it, r->nleaf, &r->tree, &cp, where, e);
			if (k)
				return k;
			n = realloc(r->cp, it.note_len);
			if (!n)
				return bfl_errf(e, -ENOMEM, "out of memory");
			memcpy(n, it.note, it.note_len);
			r->cp = n;
			r->cp_len = it.note_len;
			r->cp_epoch = cp.epoch;
			r->sealed.seg = r->scan.seg;
			r->sealed.off = cur_off(&r->scan);
			r->sealed.leaf = r->nleaf;
			r->sealed_tree = r->tree;
		}
	}
}

int bfl_reader_seek(struct bfl_reader *r, u64 from, struct bfl_err *e)
{
	unsigned int seg = 0, i;
	struct bfl_item it;
	int k;

	if (from > bfl_reader_sealed(r))
		return bfl_errf(e, -ERANGE, "leaf %llu is beyond the %llu records sealed",
				(unsigned long long)from,
				(unsigned long long)bfl_reader_sealed(r));
	r->seeked = false;
	r->held = false;
	cur_close(&r->emit);
	r->from = from;
	r->cert_next = from ? 0 : 1;
	r->want_info = true;
	if (r->sealed.seg == UINT32_MAX) {
		/* Nothing sealed yet: the stream starts at the first
		 * segment when there is one. */
		r->emit.seg = UINT32_MAX;
		r->emit.leaf = 0;
		r->seeked = true;
		return 0;
	}
	/* The segment holding record from-1 (the checkpoints of size from
	 * follow it there), or the first one. */
	for (i = 0; i < r->segs.n && i <= r->sealed.seg; i++)
		if (r->segs.v[i].first < from)
			seg = i;
	k = cur_open(r, &r->emit, seg, 0, r->segs.v[seg].first, e);
	if (k)
		return k;
	while (r->emit.leaf < from) {
		k = cur_next(r, &r->emit, &it, e);
		if (k <= 0)
			return k ? k : bfl_errf(e, -EUCLEAN, "segments: record %llu not found again",
						(unsigned long long)(from - 1));
	}
	r->seeked = true;
	return 0;
}

/* Whether the emit cursor is before the sealed point. */
static bool emit_before_sealed(const struct bfl_reader *r)
{
	const struct cursor *c = &r->emit;

	if (r->sealed.seg == UINT32_MAX)
		return false;
	if (c->seg == UINT32_MAX)
		return true;
	if (c->seg != r->sealed.seg)
		return c->seg < r->sealed.seg;
	return cur_off(c) < r->sealed.off;
}

static int read_cert(struct bfl_reader *r, u64 epoch, struct bfl_err *e)
{
	struct bfl_epoch_cert c;
	char name[64];
	size_t blen;
	u8 *buf;
	int k;

	bfl_epoch_file(name, sizeof(name), epoch, "cert");
	k = bfl_read_file(r->epdirfd, name, BFL_FWD_ITEM_MAX, &buf, &r->cert_len, e);
	if (k)
		return bfl_rewrap(e, k == -ENOENT ? -EUCLEAN : k, "epochs");
	if (!r->cert_len) {
		free(buf);
		return bfl_errf(e, -EUCLEAN, "epochs/%s: empty", name);
	}
	blen = bfl_cert_body_len((const char *)buf, r->cert_len);
	k = blen ? bfl_cert_parse_body((const char *)buf, blen, &c, e) :
		   bfl_errf(e, -EBADMSG, "not a certificate");
	if (!k && (c.epoch != epoch || strcmp(c.origin, r->origin)))
		k = bfl_errf(e, -EBADMSG, "certifies epoch %llu of \"%s\"",
			     (unsigned long long)c.epoch, c.origin);
	if (k) {
		char where[80];

		free(buf);
		snprintf(where, sizeof(where), "epochs/%s", name);
		return bfl_rewrap(e, -EUCLEAN, where);
	}
	memcpy(r->certbuf, buf, r->cert_len);
	free(buf);
	return 0;
}

int bfl_reader_next(struct bfl_reader *r, struct bfl_rd_item *out,
		    struct bfl_err *e)
{
	struct bfl_item it;
	int k;

	memset(out, 0, sizeof(*out));
	if (!r->seeked)
		return bfl_errf(e, -EINVAL, "no stream: seek first");
	if (r->want_info) {
		r->want_info = false;
		out->kind = BFL_FWD_INFO;
		out->data = r->info;
		out->len = r->info_len;
		return 1;
	}
	if (r->held) {
		if (r->cert_next <= r->held_cp.epoch) {
			k = read_cert(r, r->cert_next, e);
			if (k)
				return k;
			out->kind = BFL_FWD_CERT;
			out->n = r->cert_next++;
			out->data = r->certbuf;
			out->len = r->cert_len;
			return 1;
		}
		r->held = false;
		out->kind = BFL_FWD_CP;
		out->n = r->held_cp.size;
		out->epoch = r->held_cp.epoch;
		memcpy(out->root, r->held_cp.root, BFL_HASH_SIZE);
		out->data = r->heldbuf;
		out->len = r->held_it.note_len;
		return 1;
	}
	if (!emit_before_sealed(r))
		return 0;
	if (r->emit.fd < 0 && r->emit.seg == UINT32_MAX) {
		/* The stream started before anything was sealed. */
		k = cur_open(r, &r->emit, 0, 0, 0, e);
		if (k)
			return k;
	}
	k = cur_next(r, &r->emit, &it, e);
	if (k <= 0)
		return k ? bfl_rewrap(e, -EUCLEAN, "store changed under the reader") :
			   bfl_errf(e, -EUCLEAN, "store changed under the reader: sealed entries gone");
	if (it.type == BFL_ITEM_RECORD) {
		u64 idx = r->emit.leaf - 1;

		if (idx >= r->sealed.leaf ||
		    memcmp(it.stored_leaf, r->leaf[idx], BFL_HASH_SIZE))
			return bfl_errf(e, -EUCLEAN, "record %llu changed since it was read",
					(unsigned long long)idx);
		out->kind = BFL_FWD_REC;
		out->n = idx;
		out->data = it.data;
		out->len = it.data_len;
		return 1;
	}
	k = check_cp(r, &it, r->emit.leaf, NULL, &r->held_cp, "checkpoint", e);
	if (k)
		return k;
	if (r->cert_next == 0)
		r->cert_next = r->held_cp.epoch;
	memcpy(r->heldbuf, it.note, it.note_len);
	r->held_it = it;
	r->held = true;
	return bfl_reader_next(r, out, e);
}
