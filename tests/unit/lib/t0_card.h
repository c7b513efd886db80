/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The card's side of T=0 (ISO/IEC 7816-3:2006, 12.2) over a card that
 * answers whole command APDUs (an APDU function of lib/idcard's transmit
 * shape, such as card_model_transmit): a TPDU comes in, the APDU goes to
 * the card, and its answer goes back as a T=0 card gives it --
 *
 *   TPDU with data (case 3 or 4)  the APDU is the TPDU with Le 00 added
 *                                 (T=0 does not say whether Le was there;
 *                                 the chip's commands with data all take
 *                                 one: EXTERNAL AUTHENTICATE, everything
 *                                 under Secure Messaging); response data
 *                                 are announced with 61xx and fetched by
 *                                 GET RESPONSE, the last piece ending in
 *                                 the APDU's own status word; a status
 *                                 word alone comes back at once
 *   TPDU without data (case 1, 2) the APDU is the TPDU, P3 its Le; data
 *                                 of another length than P3 asked for:
 *                                 6Cxx (xx the right length), the command
 *                                 to be sent again; more than 256: 256
 *                                 bytes, then 61xx for the rest
 *   GET RESPONSE (INS C0)         the next P3 bytes of what is pending
 *                                 (6Cxx when P3 is more than is left,
 *                                 6985 when nothing is pending); any
 *                                 other command drops what was pending
 *
 * No test-harness calls: the VSCard emulator (tests/emu/vscard-card.c)
 * links it, and a unit test puts it between lib/idcard's t0_transmit and
 * the in-process chip.
 */
#ifndef _BIOREADER_T0_CARD_H
#define _BIOREADER_T0_CARD_H

#include <stddef.h>
#include <stdint.h>

/* The APDU-level card: 0 and the response (data, SW1 SW2), or non-zero
 * when the card gives no answer at all. */
typedef int (*t0_card_apdu_fn)(void *ctx, const uint8_t *capdu, size_t len,
			       uint8_t *rapdu, size_t *rlen);

struct t0_card {
	t0_card_apdu_fn apdu;
	void *ctx;
	/* response data waiting for GET RESPONSE, and the status word
	 * that ends them */
	uint8_t pend[65536 + 2];
	size_t pend_len, pend_off;
	uint16_t pend_sw;
	unsigned long tpdus, apdus;	/* counters */
};

void t0_card_init(struct t0_card *t, t0_card_apdu_fn apdu, void *ctx);

/* Drops what is pending (a reset, a new card). */
void t0_card_reset(struct t0_card *t);

/*
 * One TPDU (CLA INS P1 P2 [P3 [data]]) in; its answer (at most 256 data
 * bytes, then SW1 SW2) into @r, whose capacity *@rlen must be at least
 * 258.  Returns 0, or -1 when the card gave no answer (nothing to send).
 */
int t0_card_tpdu(struct t0_card *t, const uint8_t *tpdu, size_t len,
		 uint8_t *r, size_t *rlen);

/* t0_card_tpdu with @ctx a struct t0_card: the TPDU exchange of a
 * struct t0_link (lib/idcard/t0.h), for tests. */
int t0_card_xfr(void *ctx, const uint8_t *tpdu, size_t len, uint8_t *r,
		size_t *rlen);

#endif /* _BIOREADER_T0_CARD_H */
