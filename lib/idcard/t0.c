// SPDX-License-Identifier: GPL-2.0-only
/*
 * T=0 transport of APDUs over TPDUs (ISO/IEC 7816-3:2006, 12.2.2 - 12.2.5).
 *
 * Case 1:  CLA INS P1 P2 00; the answer is SW1 SW2.
 * Case 2:  CLA INS P1 P2 P3=Ne (00 for 256 and more).  6Cxx: send again with
 *          P3 = xx.  61xx: GET RESPONSE with P3 = min(xx, what is still
 *          expected), repeated while the card says 61xx and less than Ne
 *          came (this is how a response longer than 256 bytes comes).
 * Case 3:  CLA INS P1 P2 P3=Nc data; the answer is SW1 SW2, passed on.
 * Case 4:  as case 3 (Le left off), then, on 61xx, GET RESPONSE as in
 *          case 2 with Ne from the APDU; any other status word is passed on.
 *
 * The reader exchanges whole TPDUs (it handles the procedure bytes); this
 * layer sees data and SW1 SW2 back and checks that no more data came than
 * P3 asked for.
 */
#include <errno.h>
#include <string.h>

#include "idcard/t0.h"

/* A TPDU answer: up to 256 data bytes and SW1 SW2, and room to see more. */
#define TPDU_RESP_CAP	(256 + 2 + 16)
/* GET RESPONSE commands in one chain at most: 64 KiB in 1-byte steps
 * would be absurd; a chain must progress anyway (see below). */
#define MAX_CHAIN	(65536 / 256 + 8)

int t0_apdu_parse(const uint8_t *c, size_t len, struct t0_apdu *a)
{
	size_t n;

	memset(a, 0, sizeof(*a));
	if (!c || len < 4)
		return -EINVAL;
	memcpy(a->hdr, c, 4);
	if (len == 4) {
		a->apdu_case = 1;
		return 0;
	}
	if (len == 5) {
		a->apdu_case = 2;
		a->ne = c[4] ? c[4] : 256;
		return 0;
	}
	if (c[4] != 0) {
		/* short Lc */
		n = c[4];
		a->nc = n;
		a->data = c + 5;
		if (len == 5 + n) {
			a->apdu_case = 3;
			return 0;
		}
		if (len == 6 + n) {
			a->apdu_case = 4;
			a->ne = c[5 + n] ? c[5 + n] : 256;
			return 0;
		}
		return -EINVAL;
	}
	/* extended: 00 then two bytes */
	if (len < 7)
		return -EINVAL;
	a->extended = 1;
	n = (size_t)c[5] << 8 | c[6];
	if (len == 7) {
		a->apdu_case = 2;
		a->ne = n ? n : 65536;
		return 0;
	}
	if (n == 0)
		return -EINVAL;
	a->nc = n;
	a->data = c + 7;
	if (len == 7 + n) {
		a->apdu_case = 3;
		return 0;
	}
	if (len == 9 + n) {
		a->apdu_case = 4;
		n = (size_t)c[7 + a->nc] << 8 | c[8 + a->nc];
		a->ne = n ? n : 65536;
		return 0;
	}
	return -EINVAL;
}

/* The class byte for GET RESPONSE: the logical channel kept, secure
 * messaging and command chaining cleared; 00 for a proprietary class. */
static uint8_t get_response_cla(uint8_t cla)
{
	if (cla & 0x80)
		return 0x00;
	if (cla & 0x40)
		return cla & 0x4F;	/* further interindustry: channels 4-19 */
	return cla & 0x03;		/* first interindustry: channels 0-3 */
}

/*
 * One TPDU: header, P3, @nd data bytes.  The answer into @resp (at least
 * SW1 SW2, at most @max_data data bytes before them), its length in *@rl.
 */
static int tpdu(struct t0_link *l, const uint8_t hdr[4], uint8_t p3,
		const uint8_t *data, size_t nd, size_t max_data,
		uint8_t *resp, size_t *rl)
{
	uint8_t cmd[5 + 255];
	int rc;

	memcpy(cmd, hdr, 4);
	cmd[4] = p3;
	if (nd)
		memcpy(cmd + 5, data, nd);
	*rl = TPDU_RESP_CAP;
	l->tpdus++;
	rc = l->xfr(l->ctx, cmd, 5 + nd, resp, rl);
	if (rc)
		return rc == -EMSGSIZE ? -EPROTO : rc;
	if (*rl < 2 || *rl - 2 > max_data)
		return -EPROTO;
	return 0;
}

/* Appends @n bytes to the response being built. */
static int put(uint8_t *out, size_t cap, size_t *have, const uint8_t *p,
	       size_t n)
{
	/* room for SW1 SW2 after it, always */
	if (cap < 2 || n > cap - 2 || *have > cap - 2 - n)
		return -EMSGSIZE;
	memcpy(out + *have, p, n);
	*have += n;
	return 0;
}

/*
 * Data-bearing exchange with 6Cxx handling: @p3n bytes asked (1..256).
 * Appends the data; SW1 SW2 in @sw.
 */
static int ask(struct t0_link *l, const uint8_t hdr[4], size_t p3n,
	       uint8_t *out, size_t cap, size_t *have, uint8_t sw[2])
{
	uint8_t resp[TPDU_RESP_CAP];
	size_t rl;
	int rc, again;

	for (again = 0; ; again++) {
		rc = tpdu(l, hdr, (uint8_t)(p3n == 256 ? 0 : p3n), NULL, 0, p3n,
			  resp, &rl);
		if (rc)
			return rc;
		if (rl == 2 && resp[0] == 0x6C && !again) {
			/* wrong length: xx is the right one */
			p3n = resp[1] ? resp[1] : 256;
			l->resends++;
			continue;
		}
		break;
	}
	rc = put(out, cap, have, resp, rl - 2);
	if (rc)
		return rc;
	sw[0] = resp[rl - 2];
	sw[1] = resp[rl - 1];
	return 0;
}

/* GET RESPONSE while the card has more (61xx) and fewer than @ne came. */
static int chain(struct t0_link *l, uint8_t cla, size_t ne, uint8_t *out,
		 size_t cap, size_t *have, size_t base, uint8_t sw[2])
{
	int i, rc;

	for (i = 0; sw[0] == 0x61 && *have - base < ne; i++) {
		uint8_t gr[4] = { get_response_cla(cla), 0xC0, 0x00, 0x00 };
		size_t avail = sw[1] ? sw[1] : 256, want = ne - (*have - base);
		size_t before = *have;

		if (i >= MAX_CHAIN)
			return -EPROTO;
		if (want > avail)
			want = avail;
		l->get_responses++;
		rc = ask(l, gr, want, out, cap, have, sw);
		if (rc)
			return rc;
		/* 61xx with no data: the chain would never end */
		if (*have == before && sw[0] == 0x61)
			return -EPROTO;
	}
	return 0;
}

int t0_transmit(void *link, const uint8_t *capdu, size_t len, uint8_t *rapdu,
		size_t *rlen)
{
	struct t0_link *l = link;
	struct t0_apdu a;
	uint8_t resp[TPDU_RESP_CAP], sw[2];
	size_t cap, have = 0, rl;
	int rc;

	if (!l || !l->xfr || !rapdu || !rlen)
		return -EINVAL;
	cap = *rlen;
	rc = t0_apdu_parse(capdu, len, &a);
	if (rc)
		return rc;
	if (a.nc > 255)
		return -EMSGSIZE;
	if (cap < 2)
		return -EMSGSIZE;

	switch (a.apdu_case) {
	case 1:
	case 3:
	case 4:
		rc = tpdu(l, a.hdr, (uint8_t)a.nc, a.data, a.nc, 0, resp, &rl);
		if (rc)
			return rc;
		sw[0] = resp[0];
		sw[1] = resp[1];
		if (a.apdu_case == 4 && sw[0] == 0x61)
			rc = chain(l, a.hdr[0], a.ne, rapdu, cap, &have, 0, sw);
		break;
	case 2: {
		size_t first = a.ne > 256 ? 256 : a.ne;

		rc = ask(l, a.hdr, first, rapdu, cap, &have, sw);
		if (!rc)
			rc = chain(l, a.hdr[0], a.ne, rapdu, cap, &have, 0, sw);
		break;
	}
	default:
		return -EINVAL;
	}
	if (rc)
		return rc;
	if (have > cap - 2)
		return -EMSGSIZE;
	rapdu[have++] = sw[0];
	rapdu[have++] = sw[1];
	*rlen = have;
	return 0;
}
