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

int bfl_fwd_decode(const char *msg, size_t len, struct bfl_fwd_msg *m,
		   struct bfl_err *e)
{
	const char *p = msg, *end = msg + len, *f;
	char oid[BFL_FWD_OID_LEN + 1];
	size_t n, k, cap;
	int r;

	memset(m, 0, sizeof(*m));
	if (len && msg[len - 1] == '\n')
		end--;
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
	if (k > BFL_FWD_CP)
		return bfl_errf(e, -EBADMSG, "unknown kind");
	m->kind = (enum bfl_fwd_kind)k;
	if (field(&p, end, &f, &n, 0) || n > 20 || (n > 1 && f[0] == '0'))
		return bfl_errf(e, -EBADMSG, "bad number field");
	for (k = 0; k < n; k++) {
		if (f[k] < '0' || f[k] > '9' ||
		    m->n > (UINT64_MAX - (uint64_t)(f[k] - '0')) / 10)
			return bfl_errf(e, -EBADMSG, "bad number field");
		m->n = m->n * 10 + (uint64_t)(f[k] - '0');
	}
	if (m->kind == BFL_FWD_INFO && m->n)
		return bfl_errf(e, -EBADMSG, "info with a number");
	if (field(&p, end, &f, &n, 0) || n >= sizeof(m->origin))
		return bfl_errf(e, -EBADMSG, "bad origin field");
	memcpy(m->origin, f, n);
	m->origin[n] = 0;
	if (strlen(m->origin) != n || !bfl_valid_key_name(m->origin))
		return bfl_errf(e, -EBADMSG, "origin is not a valid key name");
	bfl_fwd_oid(m->origin, oid);
	if (memcmp(oid, m->oid, BFL_FWD_OID_LEN))
		return bfl_errf(e, -EBADMSG, "oid does not match the origin");
	if (field(&p, end, &f, &n, 1))
		return bfl_errf(e, -EBADMSG, "bad payload field");
	cap = n / 4 * 3;
	if (n % 4 || cap > BFL_FWD_ITEM_MAX + 2)
		return bfl_errf(e, -EBADMSG, "payload too large or not base64");
	m->item = malloc(cap ? cap : 1);
	if (!m->item)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = bfl_b64_decode(f, n, m->item, cap, &m->len);
	if (r || !m->len || m->len > BFL_FWD_ITEM_MAX) {
		bfl_fwd_msg_free(m);
		return bfl_errf(e, -EBADMSG, "payload not canonical base64 of 1..%d bytes",
				BFL_FWD_ITEM_MAX);
	}
	return 0;
}

void bfl_fwd_msg_free(struct bfl_fwd_msg *m)
{
	free(m->item);
	m->item = NULL;
	m->len = 0;
}
