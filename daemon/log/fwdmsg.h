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
 */
#ifndef _BIOFLOW_FWDMSG_H
#define _BIOFLOW_FWDMSG_H

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

struct bfl_fwd_msg {
	enum bfl_fwd_kind kind;
	uint64_t n;
	char oid[BFL_FWD_OID_LEN + 1];
	char origin[256];
	uint8_t *item;		/* malloc'ed, @len bytes; bfl_fwd_msg_free */
	size_t len;
};

/*
 * Decodes one message (@len bytes, not necessarily NUL-terminated; one
 * trailing newline is allowed) strictly: every field as above, the oid
 * equal to the origin's, canonical base64, an item of 1..BFL_FWD_ITEM_MAX
 * bytes.  0 or a negative errno with @e saying why.
 */
int bfl_fwd_decode(const char *msg, size_t len, struct bfl_fwd_msg *m,
		   struct bfl_err *e);
void bfl_fwd_msg_free(struct bfl_fwd_msg *m);

#endif /* _BIOFLOW_FWDMSG_H */
