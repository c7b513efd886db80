// SPDX-License-Identifier: GPL-2.0-only
/*
 * ATR parsing (ISO/IEC 7816-3:2006, 8.2).
 *
 * Structure: TS, T0 (Y1 in the high nibble: which of TA1..TD1 follow; K in
 * the low nibble: the number of historical bytes), then for each i the
 * bytes TAi, TBi, TCi, TDi that Yi announces, where TDi's high nibble is
 * Y(i+1) and its low nibble a protocol T; then the K historical bytes; then
 * TCK, present unless T=0 is the only protocol indicated, such that the
 * exclusive-or of T0..TCK is zero.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "idcard/atr.h"

static const unsigned short fi_table[16] = {
	372, 372, 558, 744, 1116, 1488, 1860, 0,
	0, 512, 768, 1024, 1536, 2048, 0, 0,
};
static const unsigned char di_table[16] = {
	0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0,
};

unsigned int atr_fi(uint8_t ta1)
{
	return fi_table[ta1 >> 4];
}

unsigned int atr_di(uint8_t ta1)
{
	return di_table[ta1 & 0x0F];
}

static int bad(struct atr *a, const char *why)
{
	a->why = why;
	return -EBADMSG;
}

int atr_parse(const uint8_t *buf, size_t len, struct atr *a)
{
	size_t pos, i;
	unsigned int y, level = 0;
	bool t_other = false;

	memset(a, 0, sizeof(*a));
	a->fi = 372;
	a->di = 1;
	a->t0_wi = 10;
	if (len < 2)
		return bad(a, "shorter than TS and T0");
	if (len > ATR_MAX_LEN)
		return bad(a, "longer than 33 bytes");
	memcpy(a->raw, buf, len);
	a->len = len;
	a->ts = buf[0];
	if (a->ts != 0x3B && a->ts != 0x3F)
		return bad(a, "TS is neither 3B nor 3F");
	a->t0 = buf[1];
	a->nhist = buf[1] & 0x0F;
	y = buf[1] >> 4;
	pos = 2;
	while (y) {
		uint8_t *slots[4];
		unsigned int k;

		if (level >= ATR_MAX_LEVELS)
			return bad(a, "too many interface-byte groups");
		slots[0] = &a->ta[level];
		slots[1] = &a->tb[level];
		slots[2] = &a->tc[level];
		slots[3] = &a->td[level];
		for (k = 0; k < 4; k++) {
			if (!(y & (1u << k)))
				continue;
			if (pos >= len)
				return bad(a, "truncated in the interface bytes");
			*slots[k] = buf[pos++];
			a->present[level] |= 1u << k;
		}
		level++;
		if (!(y & 0x8))
			break;
		/* TDi: the next group and a protocol */
		y = a->td[level - 1] >> 4;
		{
			unsigned int t = a->td[level - 1] & 0x0F;

			/* TD1's T is the first offered protocol; T=15 is
			 * not a transmission protocol (global bytes) */
			if (t != 15) {
				if (!a->protocols)
					a->first_protocol = t;
				a->protocols |= (uint16_t)(1u << t);
			}
			if (t != 0)
				t_other = true;
		}
	}
	a->levels = level;
	if (!a->protocols) {
		a->protocols = 1;	/* no TD1: T=0 only */
		a->first_protocol = 0;
	}
	if (pos + a->nhist > len)
		return bad(a, "truncated in the historical bytes");
	a->hist = a->nhist ? a->raw + pos : NULL;
	pos += a->nhist;
	/* TCK: absent iff only T=0 is indicated */
	if (t_other) {
		uint8_t x = 0;

		if (pos >= len)
			return bad(a, "TCK missing");
		a->has_tck = true;
		a->tck = buf[pos++];
		for (i = 1; i < pos; i++)
			x ^= buf[i];
		if (x)
			return bad(a, "TCK wrong");
	}
	if (pos != len)
		return bad(a, "bytes after the end of the ATR");
	/* global interface bytes */
	if (a->present[0] & 1) {
		a->fi = atr_fi(a->ta[0]);
		a->di = atr_di(a->ta[0]);
		if (!a->fi || !a->di)
			return bad(a, "TA1 has a reserved Fi or Di");
	}
	if (a->present[0] & 4)
		a->extra_guard = a->tc[0];
	if (a->levels >= 2) {
		a->specific_mode = a->present[1] & 1;
		if (a->present[1] & 4) {
			a->t0_wi = a->tc[1];
			if (!a->t0_wi)
				return bad(a, "TC2 (WI) is zero");
		}
	}
	return 0;
}

int atr_describe(const struct atr *a, char *buf, size_t cap)
{
	size_t off = 0;
	unsigned int t;
	int n;

	if (cap)
		buf[0] = 0;
	for (t = 0; t < 16; t++) {
		if (!(a->protocols & (1u << t)))
			continue;
		n = snprintf(buf + off, cap > off ? cap - off : 0, "%sT=%u",
			     off ? " " : "", t);
		if (n < 0)
			return -EINVAL;
		off += (size_t)n;
	}
	n = snprintf(buf + (off < cap ? off : cap), cap > off ? cap - off : 0,
		     "%s, Fi=%u Di=%u, %s convention, %zu historical byte%s%s",
		     a->specific_mode ? " (specific mode)" : "", a->fi, a->di,
		     a->ts == 0x3F ? "inverse" : "direct", a->nhist,
		     a->nhist == 1 ? "" : "s", a->has_tck ? ", TCK ok" : "");
	if (n < 0)
		return -EINVAL;
	off += (size_t)n;
	return off < cap ? 0 : -EMSGSIZE;
}
