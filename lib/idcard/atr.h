/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Answer-to-Reset (ISO/IEC 7816-3, 8.2): TS, T0, the interface bytes
 * TAi/TBi/TCi/TDi, the historical bytes and TCK, and what they say: the
 * protocols offered, Fi/Di, extra guard time, the T=0 waiting integer.
 */
#ifndef _BIOREADER_IDCARD_ATR_H
#define _BIOREADER_IDCARD_ATR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATR_MAX_LEN	33	/* TS + 32 */
#define ATR_MAX_LEVELS	8	/* interface-byte groups kept (i = 1..8) */

struct atr {
	uint8_t raw[ATR_MAX_LEN];
	size_t len;
	uint8_t ts;			/* 0x3B direct, 0x3F inverse convention */
	uint8_t t0;
	/* interface bytes of group i (index i-1); present[i-1] bit 0: TA,
	 * 1: TB, 2: TC, 3: TD */
	uint8_t ta[ATR_MAX_LEVELS], tb[ATR_MAX_LEVELS];
	uint8_t tc[ATR_MAX_LEVELS], td[ATR_MAX_LEVELS];
	uint8_t present[ATR_MAX_LEVELS];
	unsigned int levels;		/* groups present */
	const uint8_t *hist;		/* into raw */
	size_t nhist;
	bool has_tck;
	uint8_t tck;
	uint16_t protocols;		/* bit T for each T=T offered (T=0 if none) */
	unsigned int first_protocol;	/* the first offered: the default */
	bool specific_mode;		/* TA2 present */
	unsigned int fi, di;		/* clock rate conversion, rate adjustment */
	unsigned int extra_guard;	/* N from TC1 */
	unsigned int t0_wi;		/* waiting integer from TC2 (default 10) */
	const char *why;		/* what was wrong, when parsing failed */
};

/*
 * Parses @len bytes of ATR.  0, or -EBADMSG with a->why set: bad TS,
 * truncated or too long, more bytes than the structure says, TCK missing
 * or wrong, an interface byte with a reserved value (Fi/Di RFU, WI 0).
 */
int atr_parse(const uint8_t *buf, size_t len, struct atr *a);

/* Fi and Di from TA1's high and low nibbles; 0 for an RFU value. */
unsigned int atr_fi(uint8_t ta1);
unsigned int atr_di(uint8_t ta1);

/* A one-line description: "T=0, Fi=372 Di=1, 4 historical bytes". */
int atr_describe(const struct atr *a, char *buf, size_t cap);

#endif /* _BIOREADER_IDCARD_ATR_H */
