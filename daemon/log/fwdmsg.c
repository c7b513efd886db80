// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Forwarding messages: encode and strictly decode (fwdmsg.h).  The
 * decoder runs on what a collector received from the network through
 * rsyslog: every field is checked before anything is kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "fwdmsg.h"

static const char *const kind_names[] = {
	[BFL_FWD_INFO] = "info",
	[BFL_FWD_CERT] = "cert",
	[BFL_FWD_REC] = "rec",
	[BFL_FWD_CP] = "cp",
};

const char *bfl_fwd_kind_name(enum bfl_fwd_kind k)
{
	return (unsigned int)k < sizeof(kind_names) / sizeof(kind_names[0]) ?
	       kind_names[k] : "?";
}

void bfl_fwd_oid(const char *origin, char oid[BFL_FWD_OID_LEN + 1])
{
	u8 md[SHA256_DIGEST_LENGTH];

	SHA256((const u8 *)origin, strlen(origin), md);
	bfl_hex(md, BFL_FWD_OID_LEN / 2, oid);
	oid[BFL_FWD_OID_LEN] = 0;
}

long bfl_fwd_encode(char *out, size_t cap, enum bfl_fwd_kind kind,
		    const char *origin, uint64_t n, const uint8_t *item,
		    size_t len)
{
	char oid[BFL_FWD_OID_LEN + 1];
	size_t need;
	int h;

	if ((unsigned int)kind > BFL_FWD_CP || !origin ||
	    strlen(origin) >= sizeof(((struct bfl_fwd_msg *)0)->origin) ||
	    !bfl_valid_key_name(origin) || (kind == BFL_FWD_INFO && n))
		return -EINVAL;
	if (!item || !len || len > BFL_FWD_ITEM_MAX)
		return -EMSGSIZE;
	bfl_fwd_oid(origin, oid);
	h = snprintf(out, cap, "%s %s %s %llu %s ", BFL_FWD_MAGIC, oid,
		     bfl_fwd_kind_name(kind), (unsigned long long)n, origin);
	need = (size_t)h + 4 * ((len + 2) / 3) + 1;
	if (h < 0 || need > cap)
		return -EMSGSIZE;
	return (long)(h + bfl_b64_encode(item, len, out + h));
}

/* Digits of @v in decimal. */
static size_t digits(uint64_t v)
{
	size_t d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

int bfl_fwd_batch_init(struct bfl_fwd_batch *b, const char *origin,
		       unsigned int max_recs, size_t max_len)
{
	memset(b, 0, sizeof(*b));
	if (!origin || strlen(origin) >= sizeof(b->origin) || !bfl_valid_key_name(origin) ||
	    !max_recs || max_recs > BFL_FWD_BATCH_MAX_RECS || max_len > BFL_FWD_BATCH_MSG_MAX)
		return -EINVAL;
	b->pay = malloc(max_len + 1);
	if (!b->pay)
		return -ENOMEM;
	strcpy(b->origin, origin);
	b->max_recs = max_recs;
	b->max_len = max_len;
	return 0;
}

void bfl_fwd_batch_reset(struct bfl_fwd_batch *b)
{
	b->count = 0;
	b->bytes = 0;
	b->pay_len = 0;
}

void bfl_fwd_batch_free(struct bfl_fwd_batch *b)
{
	free(b->pay);
	b->pay = NULL;
	bfl_fwd_batch_reset(b);
}

/* "bioflow1 <oid> recs <first> <count> <bytes> <origin>": its length. */
static size_t batch_head_len(const struct bfl_fwd_batch *b, uint64_t first,
			     unsigned int count, size_t bytes)
{
	return strlen(BFL_FWD_MAGIC) + 1 + BFL_FWD_OID_LEN + 6 + digits(first) + 1 +
	       digits(count) + 1 + digits(bytes) + 1 + strlen(b->origin);
}

int bfl_fwd_batch_add(struct bfl_fwd_batch *b, uint64_t n, const uint8_t *rec,
		      size_t len)
{
	uint64_t first = b->count ? b->first : n;
	size_t b64 = 4 * ((len + 2) / 3);

	if (!rec || !len || len > BFL_FWD_ITEM_MAX ||
	    batch_head_len(b, n, 1, len) + 1 + b64 > b->max_len)
		return -EMSGSIZE;
	if (b->count && (n != b->first + b->count || n < b->first))
		return -EXDEV;
	if (b->count >= b->max_recs ||
	    batch_head_len(b, first, b->count + 1, b->bytes + len) + b->pay_len + 1 + b64 >
	    b->max_len)
		return -ENOSPC;
	b->first = first;
	b->pay[b->pay_len++] = ' ';
	b->pay_len += bfl_b64_encode(rec, len, b->pay + b->pay_len);
	b->count++;
	b->bytes += len;
	return 0;
}

long bfl_fwd_batch_finish(struct bfl_fwd_batch *b, char *out, size_t cap)
{
	char oid[BFL_FWD_OID_LEN + 1];
	int h;

	if (!b->count)
		return -ENODATA;
	if (batch_head_len(b, b->first, b->count, b->bytes) + b->pay_len >= cap)
		return -EMSGSIZE;
	bfl_fwd_oid(b->origin, oid);
	h = snprintf(out, cap, "%s %s recs %llu %u %zu %s", BFL_FWD_MAGIC, oid,
		     (unsigned long long)b->first, b->count, b->bytes, b->origin);
	if (h < 0 || (size_t)h + b->pay_len >= cap)
		return -EMSGSIZE;
	memcpy(out + h, b->pay, b->pay_len);
	out[h + b->pay_len] = 0;
	h += (int)b->pay_len;
	bfl_fwd_batch_reset(b);
	return h;
}

/* The next field of @p (up to a space or the end): its start and length. */
static int field(const char **p, const char *end, const char **f, size_t *n,
		 int last)
{
	const char *s = *p, *q = s;

	while (q < end && *q != ' ')
		q++;
	if (q == s || (!last && q == end) || (last && q != end))
		return -1;
	*f = s;
	*n = (size_t)(q - s);
	*p = q < end ? q + 1 : q;
	return 0;
}

/* A decimal field: no sign, no leading zeros, at most 2^64 - 1. */
static int number(const char *f, size_t n, uint64_t *v)
{
	return bfl_parse_u64(f, n, v) ? -1 : 0;
}

/* The payload fields from @p to @end: @count canonical base64 fields of
 * 1..BFL_FWD_ITEM_MAX bytes each, the last one ending at @end. */
static int payloads(const char *p, const char *end, unsigned int count,
		    struct bfl_fwd_msg *m, struct bfl_err *e)
{
	size_t cap = (size_t)(end - p) / 4 * 3 + 3, n, got;
	const char *f;
	unsigned int i;

	m->item = malloc(cap);
	if (m->batch)
		m->ends = malloc(count * sizeof(*m->ends));
	if (!m->item || (m->batch && !m->ends))
		return bfl_errf(e, -ENOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		bool last = i + 1 == count;
		const char *q = p;

		while (q < end && *q != ' ')
			q++;
		if (q == end && p == end)
			return bfl_errf(e, -EBADMSG, "truncated: %u of %u payloads", i, count);
		if (q == p)
			return bfl_errf(e, -EBADMSG, "empty payload field %u", i);
		if (!last && q == end)
			return bfl_errf(e, -EBADMSG, "truncated: %u of %u payloads", i + 1, count);
		if (last && q != end)
			return bfl_errf(e, -EBADMSG, "more fields than the count %u", count);
		f = p;
		n = (size_t)(q - p);
		p = q + (q < end);
		if (n % 4 || n / 4 * 3 > BFL_FWD_ITEM_MAX + 2)
			return bfl_errf(e, -EBADMSG, "payload %u too large or not base64", i);
		if (bfl_b64_decode(f, n, m->item + m->len, cap - m->len, &got) || !got ||
		    got > BFL_FWD_ITEM_MAX)
			return bfl_errf(e, -EBADMSG,
					"payload %u not canonical base64 of 1..%d bytes", i,
					BFL_FWD_ITEM_MAX);
		m->len += got;
		if (m->batch)
			m->ends[i] = m->len;
	}
	return 0;
}

static int decode(const char *msg, size_t len, struct bfl_fwd_msg *m,
		  struct bfl_err *e)
{
	const char *p = msg, *end = msg + len, *f;
	char oid[BFL_FWD_OID_LEN + 1];
	uint64_t count = 1, bytes = 0;
	size_t n, k;
	int r;

	if (len && msg[len - 1] == '\n')
		end--;
	if ((size_t)(end - msg) > BFL_FWD_BATCH_MSG_MAX)
		return bfl_errf(e, -EBADMSG, "longer than %d bytes", BFL_FWD_BATCH_MSG_MAX);
	if (field(&p, end, &f, &n, 0) || n != strlen(BFL_FWD_MAGIC) ||
	    memcmp(f, BFL_FWD_MAGIC, n))
		return bfl_errf(e, -EBADMSG, "not a bioflow1 message");
	if (field(&p, end, &f, &n, 0) || n != BFL_FWD_OID_LEN)
		return bfl_errf(e, -EBADMSG, "bad oid field");
	memcpy(m->oid, f, n);
	if (field(&p, end, &f, &n, 0))
		return bfl_errf(e, -EBADMSG, "no kind field");
	for (k = 0; k <= BFL_FWD_CP; k++)
		if (strlen(kind_names[k]) == n && !memcmp(kind_names[k], f, n))
			break;
	if (k > BFL_FWD_CP && n == 4 && !memcmp(f, "recs", 4)) {
		k = BFL_FWD_REC;
		m->batch = true;
	}
	if (k > BFL_FWD_CP)
		return bfl_errf(e, -EBADMSG, "unknown kind");
	m->kind = (enum bfl_fwd_kind)k;
	if (field(&p, end, &f, &n, 0) || number(f, n, &m->n))
		return bfl_errf(e, -EBADMSG, "bad number field");
	if (m->kind == BFL_FWD_INFO && m->n)
		return bfl_errf(e, -EBADMSG, "info with a number");
	if (m->batch) {
		if (field(&p, end, &f, &n, 0) || number(f, n, &count) || !count ||
		    count > BFL_FWD_BATCH_MAX_RECS)
			return bfl_errf(e, -EBADMSG, "bad count field (1..%d)",
					BFL_FWD_BATCH_MAX_RECS);
		if (count - 1 > UINT64_MAX - m->n)
			return bfl_errf(e, -EBADMSG, "record indexes past 2^64-1");
		if (field(&p, end, &f, &n, 0) || number(f, n, &bytes) || bytes < count ||
		    bytes > (uint64_t)BFL_FWD_BATCH_MSG_MAX)
			return bfl_errf(e, -EBADMSG, "bad byte count field");
	}
	m->count = (unsigned int)count;
	if (field(&p, end, &f, &n, 0) || n >= sizeof(m->origin))
		return bfl_errf(e, -EBADMSG, "bad origin field");
	memcpy(m->origin, f, n);
	m->origin[n] = 0;
	if (strlen(m->origin) != n || !bfl_valid_key_name(m->origin))
		return bfl_errf(e, -EBADMSG, "origin is not a valid key name");
	bfl_fwd_oid(m->origin, oid);
	if (memcmp(oid, m->oid, BFL_FWD_OID_LEN))
		return bfl_errf(e, -EBADMSG, "oid does not match the origin");
	r = payloads(p, end, m->count, m, e);
	if (r)
		return r;
	/* A message cut at a base64 quantum of its last record still has
	 * every field: the byte count tells. */
	if (m->batch && m->len != bytes)
		return bfl_errf(e, -EBADMSG, "records of %zu bytes, the message says %llu",
				m->len, (unsigned long long)bytes);
	return 0;
}

int bfl_fwd_decode(const char *msg, size_t len, struct bfl_fwd_msg *m,
		   struct bfl_err *e)
{
	int r;

	memset(m, 0, sizeof(*m));
	r = decode(msg, len, m, e);
	if (r)
		bfl_fwd_msg_free(m);
	return r;
}

void bfl_fwd_msg_part(const struct bfl_fwd_msg *m, unsigned int i,
		      struct bfl_fwd_part *p)
{
	size_t start = m->batch && i ? m->ends[i - 1] : 0;

	p->kind = m->kind;
	p->n = m->n + i;
	p->data = m->item + start;
	p->len = m->batch ? m->ends[i] - start : m->len;
}

void bfl_fwd_msg_free(struct bfl_fwd_msg *m)
{
	free(m->item);
	free(m->ends);
	m->item = NULL;
	m->ends = NULL;
	m->len = 0;
}
