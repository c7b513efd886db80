/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The mirror writer (docs/forwarding.md, "Ingest"): a store of the same
 * format as an appliance's (docs/log-format.md), built from the
 * appliance's own items -- its log-info, epoch certificates, records and
 * checkpoint notes -- appended verbatim as they arrive from the network,
 * each checked before it is kept:
 *
 *   record I      leaf index I == the records so far: appended (the
 *                 record's bytes and its leaf hash, as the store writes
 *                 them); I below: a duplicate if its leaf hash is the
 *                 stored one, else history rewritten; I above: ahead (a
 *                 gap before it: the caller keeps it and tries later)
 *   checkpoint S  a note of this origin, of tree size S, signed by the
 *                 key of the epoch it names, which an epoch certificate
 *                 signed by the enrolled root key certifies; S == the
 *                 records so far and the root their tree head: appended
 *                 as a checkpoint entry; the root another: history
 *                 rewritten; S below: a duplicate if the same note is
 *                 stored at S, history rewritten if the root is not the
 *                 tree head at S, else stale (valid, not appendable);
 *                 S above, or an epoch not certified yet: ahead
 *   cert N        root-signed, of this origin and epoch N: held until the
 *                 first checkpoint of epoch N (or a later one) arrives;
 *                 then the previous epoch's final checkpoint and the
 *                 certificates are written, durably, as a store writes
 *                 them at an epoch start, after checking the chain (NV
 *                 counter + 1 each epoch, start sizes, the previous
 *                 epoch's final checkpoint ending where N starts)
 *   info          the store's log-info: must be the one this version
 *                 writes for the enrolled origin (the mirror writes it
 *                 itself when the first item arrives)
 *
 * With the same segment size limit as the appliance's store, every file
 * is the appliance's byte for byte (log-info, epochs/N.cert,
 * epochs/N.final, the segments, the checkpoint copy once both are
 * closed) as long as no item was lost on the way; a checkpoint that was
 * lost is missing from the copy, which still verifies.
 *
 * Durability: entries are gathered in a buffer (256 KiB) and written to
 * the segment in one write at the next durability point: a checkpoint
 * entry (written with the records it seals), a segment switch,
 * bfl_mirror_sync(), a conflict, bfl_mirror_close().  bfl_mirror_sync()
 * makes them durable (fdatasync of the segment, fsync of segments/ after
 * a new one): nothing may be acknowledged before it returns.  Epoch
 * files are written durably (write, fsync, rename, fsync of the
 * directory) after the segment data they refer to is durable.
 * bfl_mirror_open() on an existing copy replays it (every leaf hash
 * recomputed, every checkpoint entry checked against the records) and
 * cuts what a crash left half-written at the end of the last segment:
 * anything after the last sync, which the forwarder sends again.
 *
 * Memory: the leaf hashes of every record (32 bytes each) and 80 bytes
 * per checkpoint entry are kept, to detect a rewritten record or
 * checkpoint at any index; the write buffer only from the first entry
 * after a sync to the next sync.
 */
#ifndef _BIOFLOW_MIRROR_H
#define _BIOFLOW_MIRROR_H

#include "bflog.h"
#include "fwdmsg.h"

struct bfl_mirror_opts {
	u64 segment_max_bytes;	/* 0: the store's default (64 MiB) */
	unsigned int max_held;	/* certificates held at once; 0: 16 */
	bool no_sync;		/* tests only */
};

/* What became of an item (>= 0); errors are negative errnos. */
enum bfl_mirror_res {
	BFL_MIRROR_APPLIED = 0,	/* appended / written */
	BFL_MIRROR_DUPLICATE,	/* already there, byte for byte */
	BFL_MIRROR_HELD,	/* a certificate kept until its first checkpoint */
	BFL_MIRROR_AHEAD,	/* not yet: something before it is missing */
	BFL_MIRROR_STALE,	/* a valid checkpoint of an earlier size that the
				 * copy does not hold (lost on the way): dropped */
};

/*
 * Errors of bfl_mirror_add():
 *   -EBADMSG  the item is invalid (malformed, a bad signature, not of
 *             this log, out of order): dropped, nothing changed
 *   -EUCLEAN  history rewritten: the item contradicts what the copy
 *             holds (a record or certificate of the same index with
 *             other bytes, a signed checkpoint whose root is not the
 *             tree head of the records, a certificate chain with a gap
 *             or going back).  The mirror is frozen: every later add
 *             fails with -EUCLEAN; bfl_mirror_frozen() says why.
 *   other     an I/O error: the mirror failed (reopen it)
 */
struct bfl_mirror;

/* Opens (or prepares, if @dir holds no store yet) the copy of the log
 * @origin whose root public key is @root (a reference is taken).  An
 * existing copy is replayed; *cut (if not NULL) gets the bytes cut at
 * its end.  -EUCLEAN: the copy is damaged before its end, or of another
 * origin or root key. */
int bfl_mirror_open(const char *dir, const char *origin,
		    const struct bfl_key *root,
		    const struct bfl_mirror_opts *opts,
		    struct bfl_mirror **out, u64 *cut, struct bfl_err *e);
/* Flushes the checkpoint copy (durably) and closes. */
void bfl_mirror_close(struct bfl_mirror *m);

int bfl_mirror_add(struct bfl_mirror *m, enum bfl_fwd_kind kind, u64 n,
		   const u8 *item, size_t len, struct bfl_err *e);
/* Makes everything added durable; refreshes the checkpoint copy. */
int bfl_mirror_sync(struct bfl_mirror *m, struct bfl_err *e);

/* Records held (the tree size), checkpoint entries' latest size. */
u64 bfl_mirror_size(const struct bfl_mirror *m);
u64 bfl_mirror_sealed(const struct bfl_mirror *m);
/* Epochs whose certificates are written (1..N). */
u64 bfl_mirror_epochs(const struct bfl_mirror *m);
/* Whether the certificate of @epoch is only held in memory. */
bool bfl_mirror_holds_cert(const struct bfl_mirror *m, u64 epoch);
/* The tree head of the first @size records; -ERANGE past the size. */
int bfl_mirror_root(const struct bfl_mirror *m, u64 size, bfl_hash out);
/*
 * Checks a checkpoint note as the mirror would before appending it: of
 * this origin, signed by the key its epoch's certificate (written or
 * held) certifies.  0 and *cp; -EBADMSG malformed or of another origin;
 * -ENOENT its epoch is not certified yet (unknown); -ENOKEY no
 * signature by the epoch's key; -EKEYREJECTED one that does not verify.
 */
int bfl_mirror_check_checkpoint(const struct bfl_mirror *m, const char *note,
				size_t len, struct bfl_checkpoint *cp,
				struct bfl_err *e);
/* NULL, or why the mirror is frozen (history rewritten). */
const char *bfl_mirror_frozen(const struct bfl_mirror *m);

#endif /* _BIOFLOW_MIRROR_H */
