/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Forwarding messages (docs/forwarding.md, "Messages"): one item of an
 * appliance's sealed store -- its log-info, an epoch certificate, a
 * record, a checkpoint note -- as the MSG part of one syslog message,
 * losslessly:
 *
 *   bioflow1 <oid> <kind> <n> <origin> <base64 of the exact bytes>
 *
 * oid     the first 16 hex digits of SHA-256(origin): a file name safe
 *         key for the collector's per-appliance files (an origin holds
 *         '/'); checked against the origin on decode
 * kind    info (n 0: the store's log-info file), cert (n: the epoch;
 *         epochs/N.cert), rec (n: the record's leaf index; the record's
 *         bytes), cp (n: the checkpoint's tree size; the signed note)
 * n       decimal, no sign, no leading zeros
 * origin  the log's origin, a signed-note key name (bfl_valid_key_name)
 *
 * Fields are separated by one space; nothing follows the base64.
 *
 * A batch: several consecutive records of one appliance in one message
 * (the per-message cost of the collector's rsyslog dominates forwarding,
 * not the bytes):
 *
 *   bioflow1 <oid> recs <first> <count> <bytes> <origin> <b64> <b64> ...
 *
 * first   the leaf index of the first record (decimal, as n above)
 * count   1..BFL_FWD_BATCH_MAX_RECS, decimal, no leading zeros: exactly
 *         that many base64 fields follow, the i-th (from 0) the exact
 *         bytes of the record of leaf index first + i
 * bytes   the records' bytes in all, decimal: a message cut short (as
 *         rsyslog truncates an oversized one) is refused even where the
 *         cut leaves valid base64
 *
 * Indexes are implied, so a batch cannot hold a gap or a record twice;
 * first + count - 1 must not pass 2^64 - 1.  The whole message (no
 * newline counted) is at most BFL_FWD_BATCH_MSG_MAX bytes: below what
 * the shipped rsyslog configuration accepts (collector/rsyslog-bioflow.conf,
 * maxMessageSize 64k, with room for the syslog header), which would
 * otherwise truncate it.  The single-item form stays valid.
 */
#ifndef _BIOFLOW_FWDMSG_H
#define _BIOFLOW_FWDMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bflog.h"

#define BFL_FWD_MAGIC		"bioflow1"
#define BFL_FWD_OID_LEN		16
/* The largest item: a checkpoint note of the store format (16 KiB), an
 * epoch certificate, a record (4 KiB). */
#define BFL_FWD_ITEM_MAX	16384
/* The largest message: the fields, the origin, the base64 of an item. */
#define BFL_FWD_MSG_MAX		(64 + 256 + 4 * ((BFL_FWD_ITEM_MAX + 2) / 3))

/* A batch: at most this many records, this many bytes of MSG.  64 KiB
 * is rsyslog's maxMessageSize in the configuration shipped (the whole
 * syslog message); 4 KiB of it is left for the RFC 5424 header (at most
 * 330 bytes here) and a margin. */
#define BFL_FWD_BATCH_MAX_RECS	1024
#define BFL_FWD_BATCH_MSG_MAX	(60 * 1024)

enum bfl_fwd_kind {
	BFL_FWD_INFO,
	BFL_FWD_CERT,
	BFL_FWD_REC,
	BFL_FWD_CP,
};

const char *bfl_fwd_kind_name(enum bfl_fwd_kind k);

/* The oid of @origin: 16 lower-case hex digits and a NUL. */
void bfl_fwd_oid(const char *origin, char oid[BFL_FWD_OID_LEN + 1]);

/*
 * Encodes one item into @out (capacity @cap, at least BFL_FWD_MSG_MAX is
 * always enough); returns the length (no NUL counted, one written) or a
 * negative errno (-EINVAL: bad origin or kind, -EMSGSIZE: item too big
 * or @cap too small).
 */
long bfl_fwd_encode(char *out, size_t cap, enum bfl_fwd_kind kind,
		    const char *origin, uint64_t n, const uint8_t *item,
		    size_t len);

/*
 * A batch being built (the forwarder's side).  Not thread-safe: one
 * owner.  pay holds " <b64>" for every record added, in order.
 */
struct bfl_fwd_batch {
	char origin[256];
	unsigned int max_recs;
	size_t max_len;		/* of the message, as bfl_fwd_decode bounds it */
	uint64_t first;
	unsigned int count;
	size_t bytes;		/* of the records added */
	char *pay;		/* malloc'ed, max_len bytes */
	size_t pay_len;
};

/* @max_recs 1..BFL_FWD_BATCH_MAX_RECS, @max_len up to
 * BFL_FWD_BATCH_MSG_MAX; 0, -EINVAL or -ENOMEM. */
int bfl_fwd_batch_init(struct bfl_fwd_batch *b, const char *origin,
		       unsigned int max_recs, size_t max_len);
void bfl_fwd_batch_free(struct bfl_fwd_batch *b);
/* Empties the batch (its records dropped, not sent). */
void bfl_fwd_batch_reset(struct bfl_fwd_batch *b);
/*
 * Adds the record of leaf index @n: 0; -EXDEV when @n does not follow the
 * batch's last record, -ENOSPC when the batch is full (for both: finish
 * it, then add again); -EMSGSIZE when the record (0 or more than
 * BFL_FWD_ITEM_MAX bytes, or too big for even an empty batch) can never
 * be added.
 */
int bfl_fwd_batch_add(struct bfl_fwd_batch *b, uint64_t n, const uint8_t *rec,
		      size_t len);
/* Writes the batch's message into @out (@cap > its length; max_len + 1
 * is always enough) and empties the batch: the length, or -ENODATA for
 * an empty batch, -EMSGSIZE for a buffer too small. */
long bfl_fwd_batch_finish(struct bfl_fwd_batch *b, char *out, size_t cap);

struct bfl_fwd_msg {
	enum bfl_fwd_kind kind;	/* a batch: BFL_FWD_REC */
	uint64_t n;		/* a batch: the first record's leaf index */
	bool batch;		/* the recs form */
	unsigned int count;	/* items: 1, or the batch's records */
	char oid[BFL_FWD_OID_LEN + 1];
	char origin[256];
	uint8_t *item;		/* malloc'ed, @len bytes; bfl_fwd_msg_free; a
				 * batch: its records one after the other */
	size_t len;
	size_t *ends;		/* a batch: where each record ends in item */
};

/* One item of a decoded message: a single item, or a batch's record. */
struct bfl_fwd_part {
	enum bfl_fwd_kind kind;
	uint64_t n;
	const uint8_t *data;
	size_t len;
};

/*
 * Decodes one message (@len bytes, not necessarily NUL-terminated; one
 * trailing newline is allowed) strictly: every field as above, the oid
 * equal to the origin's, canonical base64, items of 1..BFL_FWD_ITEM_MAX
 * bytes, a batch's count equal to its fields, at most
 * BFL_FWD_BATCH_MSG_MAX bytes.  0 or a negative errno with @e saying
 * why; nothing is kept from a message refused.
 */
int bfl_fwd_decode(const char *msg, size_t len, struct bfl_fwd_msg *m,
		   struct bfl_err *e);
/* Item @i (< m->count) of a decoded message. */
void bfl_fwd_msg_part(const struct bfl_fwd_msg *m, unsigned int i,
		      struct bfl_fwd_part *p);
void bfl_fwd_msg_free(struct bfl_fwd_msg *m);

#endif /* _BIOFLOW_FWDMSG_H */
