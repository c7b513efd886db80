/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * T=0 at TPDU level (ISO/IEC 7816-3:2006, 12.2): carries command APDUs
 * of cases 1 to 4 (short, and extended where T=0 can: Nc <= 255) over a
 * reader that exchanges TPDUs (a CCID reader with dwFeatures' TPDU level,
 * through ccid_xfr_block), with 61xx answered by GET RESPONSE and 6Cxx by
 * sending the command again with P3 = xx.
 *
 * The transmit function, the shape the document layer calls:
 *
 *	int t0_transmit(void *link, const uint8_t *capdu, size_t len,
 *			uint8_t *rapdu, size_t *rlen);
 *
 * @capdu is a whole command APDU; the response APDU (data and SW1 SW2)
 * goes into @rapdu, *@rlen its capacity on entry and its length on
 * return.  0, or a negative errno: the lower layer's (ccid.h: -ENODEV
 * reader gone, -ENOMEDIUM card removed, -ETIMEDOUT card silent, ...), or
 *   -EINVAL    not a well-formed command APDU
 *   -EMSGSIZE  Nc > 255 (T=0 would need ENVELOPE), or the response does
 *              not fit @rapdu (nothing partial is returned)
 *   -EPROTO    the card broke T=0: a TPDU answer without SW1 SW2, more
 *              data than P3 asked for, data to a case-3 TPDU, a GET
 *              RESPONSE chain that does not progress
 */
#ifndef _BIOREADER_IDCARD_T0_H
#define _BIOREADER_IDCARD_T0_H

#include <stddef.h>
#include <stdint.h>

/* The transmit shape, for the lower layer (TPDUs) and the upper (APDUs). */
typedef int (*idcard_transmit_fn)(void *ctx, const uint8_t *capdu, size_t len,
				  uint8_t *rapdu, size_t *rlen);

struct t0_link {
	idcard_transmit_fn xfr;		/* TPDU exchange, e.g. ccid_xfr_block */
	void *ctx;			/* its first argument */
	/* counters, for tests and benchmarks */
	unsigned long tpdus, get_responses, resends;
};

/* A command APDU taken apart (ISO/IEC 7816-4:2013, 5.1). */
struct t0_apdu {
	unsigned int apdu_case;		/* 1 to 4 */
	int extended;			/* Lc/Le in the extended form */
	uint8_t hdr[4];			/* CLA INS P1 P2 */
	const uint8_t *data;
	size_t nc;			/* bytes of data */
	size_t ne;			/* bytes expected, 1..65536; 0 for cases 1, 3 */
};

/* 0, or -EINVAL when the bytes are not one command APDU. */
int t0_apdu_parse(const uint8_t *capdu, size_t len, struct t0_apdu *a);

int t0_transmit(void *link, const uint8_t *capdu, size_t len,
		uint8_t *rapdu, size_t *rlen);

#endif /* _BIOREADER_IDCARD_T0_H */
