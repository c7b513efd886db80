// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The card's side of T=0 over an APDU-level card (t0_card.h).
 */
#include <string.h>

#include "t0_card.h"

void t0_card_init(struct t0_card *t, t0_card_apdu_fn apdu, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->apdu = apdu;
	t->ctx = ctx;
}

void t0_card_reset(struct t0_card *t)
{
	memset(t->pend, 0, t->pend_len);
	t->pend_len = t->pend_off = 0;
	t->pend_sw = 0;
}

static int sw(uint8_t *r, size_t n, unsigned int s, size_t *rlen)
{
	r[n] = (uint8_t)(s >> 8);
	r[n + 1] = (uint8_t)s;
	*rlen = n + 2;
	return 0;
}

/* 61xx: xx more bytes waiting (00: 256 or more). */
static unsigned int more(size_t left)
{
	return 0x6100 | (left >= 256 ? 0 : (unsigned int)left);
}

/* Holds @n bytes of data, to end in @s; announces them. */
static int hold(struct t0_card *t, const uint8_t *d, size_t n, uint16_t s,
		uint8_t *r, size_t *rlen)
{
	if (n > sizeof(t->pend))
		n = sizeof(t->pend);
	memcpy(t->pend, d, n);
	t->pend_len = n;
	t->pend_off = 0;
	t->pend_sw = s;
	return sw(r, 0, more(n), rlen);
}

static int get_response(struct t0_card *t, unsigned int p3, uint8_t *r,
			size_t *rlen)
{
	size_t want = p3 ? p3 : 256, left = t->pend_len - t->pend_off;

	if (!left)
		return sw(r, 0, 0x6985, rlen);
	if (want > left)
		return sw(r, 0, 0x6C00 | (unsigned int)left, rlen);	/* left < 256 */
	memcpy(r, t->pend + t->pend_off, want);
	t->pend_off += want;
	left -= want;
	if (left)
		return sw(r, want, more(left), rlen);
	sw(r, want, t->pend_sw, rlen);
	t0_card_reset(t);
	return 0;
}

int t0_card_tpdu(struct t0_card *t, const uint8_t *a, size_t len, uint8_t *r,
		 size_t *rlen)
{
	uint8_t apdu[5 + 255 + 1], resp[65536 + 2];
	size_t dl, n = sizeof(resp), want;
	uint16_t s;

	if (!t || !a || !r || !rlen || *rlen < 258)
		return -1;
	t->tpdus++;
	if (len < 4)
		return sw(r, 0, 0x6700, rlen);
	memcpy(apdu, a, len < 5 ? 4 : 5);
	if (len == 4)
		apdu[4] = 0;	/* a reader may drop P3 of a case-1 TPDU */
	dl = len > 5 ? len - 5 : 0;
	if (dl && dl != apdu[4])
		return sw(r, 0, 0x6700, rlen);
	if (dl > 255)
		return sw(r, 0, 0x6700, rlen);
	if (apdu[1] == 0xC0) {
		if (dl)
			return sw(r, 0, 0x6700, rlen);
		return get_response(t, apdu[4], r, rlen);
	}
	t0_card_reset(t);
	/* case 3/4: the TPDU and Le 00; case 1/2: the TPDU as it is */
	if (dl) {
		memcpy(apdu + 5, a + 5, dl);
		apdu[5 + dl] = 0x00;
	}
	t->apdus++;
	if (t->apdu(t->ctx, apdu, dl ? 5 + dl + 1 : 5, resp, &n) || n < 2 ||
	    n > sizeof(resp))
		return -1;
	s = (uint16_t)(resp[n - 2] << 8 | resp[n - 1]);
	n -= 2;
	if (!n)
		return sw(r, 0, s, rlen);
	if (dl)
		return hold(t, resp, n, s, r, rlen);
	want = apdu[4] ? apdu[4] : 256;
	if (n == want)
		goto whole;
	if (n > want && want == 256) {
		/* 256 now, the rest by GET RESPONSE */
		hold(t, resp + 256, n - 256, s, r, rlen);
		memcpy(r, resp, 256);
		return sw(r, 256, more(n - 256), rlen);
	}
	/* wrong length: the right one (00: 256 and more) */
	return sw(r, 0, 0x6C00 | (n >= 256 ? 0 : (unsigned int)n), rlen);
whole:
	memcpy(r, resp, n);
	return sw(r, n, s, rlen);
}

int t0_card_xfr(void *ctx, const uint8_t *tpdu, size_t len, uint8_t *r,
		size_t *rlen)
{
	return t0_card_tpdu(ctx, tpdu, len, r, rlen);
}
