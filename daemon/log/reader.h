/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * A read-only follower of a store (docs/forwarding.md, "Order"): the
 * store's items in forwarding order, as bioflowd seals them.
 *
 * The reader never writes to the store and never returns what is not
 * sealed: records come out only once the checkpoint entry that seals
 * them has been read, and everything before it has been checked the way
 * recovery checks it (segment.c's parser, every record's leaf hash
 * recomputed and compared with the stored one, every checkpoint entry's
 * origin, size and root against the records before it).  What follows
 * the last sealed checkpoint (a commit being written, or the torn tail a
 * crash left, which bioflowd's recovery will cut) is read again at the
 * next poll, from the sealed point.
 *
 *	bfl_reader_open(dir, &r, &e);
 *	bfl_reader_seek(r, 0, &e);		// the stream from leaf 0
 *	for (;;) {
 *		bfl_reader_poll(r, &e);		// what the store gained
 *		while (bfl_reader_next(r, &it, &e) == 1)
 *			send(it.kind, it.n, it.data, it.len);
 *		sleep a little;
 *	}
 *
 * The stream after a seek to leaf W: the store's log-info (kind info),
 * then the segment entries after record W-1 (records as kind rec with
 * their leaf index, checkpoints as kind cp with their tree size), with
 * every epoch certificate (kind cert) just before the first checkpoint
 * of this stream that its epoch signs, together with those of any
 * epochs between the previous one and it (an epoch certified but
 * interrupted before it signed anything).  A stream from 0 starts its
 * certificates at epoch 1; one from W at the epoch of its first
 * checkpoint (the collector that holds W has the certificates before).
 *
 * The leaf hashes of every sealed record stay in memory (32 bytes a
 * record) for consistency proofs.
 */
#ifndef _BIOFLOW_READER_H
#define _BIOFLOW_READER_H

#include "bflog.h"
#include "fwdmsg.h"

struct bfl_reader;

struct bfl_rd_item {
	enum bfl_fwd_kind kind;
	u64 n;			/* 0, the epoch, the leaf index, the tree size */
	const u8 *data;		/* the exact bytes; valid until the next call */
	size_t len;
	/* BFL_FWD_CP */
	u64 epoch;		/* the epoch whose key signed it */
	bfl_hash root;
};

/* Opens the store at @dir read-only and reads its log-info. */
int bfl_reader_open(const char *dir, struct bfl_reader **out,
		    struct bfl_err *e);
void bfl_reader_close(struct bfl_reader *r);
const char *bfl_reader_origin(const struct bfl_reader *r);

/*
 * Reads what the store gained since the last call, up to its last
 * checkpoint entry.  0, or a negative errno with @e saying where:
 * -EUCLEAN when sealed data is damaged or disagrees with itself (a
 * record that does not match its leaf hash, a checkpoint that does not
 * match the records before it, a segment that shrank below what was
 * read as sealed).  An unreadable tail after the last checkpoint is not
 * an error: bfl_reader_tail_note() says what was found there.
 */
int bfl_reader_poll(struct bfl_reader *r, struct bfl_err *e);
/* Why the last poll stopped before the end of the files ("" if it did
 * not, or stopped at a commit still being written). */
const char *bfl_reader_tail_note(const struct bfl_reader *r);

/* Records sealed so far (the latest checkpoint's size), and that
 * checkpoint (NULL before the first poll that found one). */
u64 bfl_reader_sealed(const struct bfl_reader *r);
const char *bfl_reader_latest_cp(const struct bfl_reader *r, size_t *len,
				 u64 *epoch);

/* Starts the stream over at leaf index @from (at most the sealed size):
 * -ERANGE beyond it. */
int bfl_reader_seek(struct bfl_reader *r, u64 from, struct bfl_err *e);
/* The next item of the stream: 1 and *it; 0 when every sealed item was
 * returned (poll, then call again); a negative errno. */
int bfl_reader_next(struct bfl_reader *r, struct bfl_rd_item *it,
		    struct bfl_err *e);

/* The leaf hashes of the sealed records. */
const bfl_hash *bfl_reader_leaves(const struct bfl_reader *r, u64 *n);
/* RFC 9162 2.1.4.1 consistency proof from size @m to size @n (at most
 * the sealed size); -ERANGE, -EINVAL. */
int bfl_reader_consistency(const struct bfl_reader *r, u64 m, u64 n,
			   bfl_hash *proof, unsigned int *len);
/* The root of the tree of the first @n sealed records. */
int bfl_reader_root(const struct bfl_reader *r, u64 n, bfl_hash out);

#endif /* _BIOFLOW_READER_H */
