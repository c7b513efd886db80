// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the ID-card transport (lib/idcard/): ATR parsing, T=0 at
 * TPDU level against a scripted card (every TPDU the layer sends is
 * compared with the script, every answer comes from it), and the CCID
 * message codec.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcard/atr.h"
#include "idcard/ccid.h"
#include "idcard/t0.h"
#include "ktap.h"

/* ------------------------------------------------------------- helpers */

/* Hex with optional spaces; "*N:XX" repeats byte XX N times. */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		unsigned int v, rep;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == '*') {
			char *end;

			rep = (unsigned int)strtoul(s + 1, &end, 10);
			if (*end != ':' || sscanf(end + 1, "%2x", &v) != 1)
				abort();
			while (rep-- && n < cap)
				out[n++] = (uint8_t)v;
			s = end + 3;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1 || n >= cap)
			abort();
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

/* A scripted card: each step is the TPDU expected and the answer given
 * (or an error returned instead). */
struct step {
	const char *cmd;
	const char *resp;
	int rc;
};

struct fake {
	const struct step *steps;
	size_t n, i;
	int bad;			/* a TPDU differed from the script */
};

static int fake_xfr(void *ctx, const uint8_t *c, size_t len, uint8_t *r,
		    size_t *rl)
{
	struct fake *f = ctx;
	uint8_t want[300];
	size_t wl, n;

	if (f->i >= f->n) {
		f->bad = 1;
		ktap_diag("unexpected TPDU after the script's end");
		return -EIO;
	}
	wl = hex(f->steps[f->i].cmd, want, sizeof(want));
	if (wl != len || memcmp(want, c, len)) {
		f->bad = 1;
		ktap_diag("step %zu: TPDU differs from the script (%s)", f->i,
			  f->steps[f->i].cmd);
	}
	if (f->steps[f->i].rc) {
		f->i++;
		return f->steps[f->i - 1].rc;
	}
	n = hex(f->steps[f->i].resp, want, sizeof(want));
	f->i++;
	if (n > *rl)
		return -EMSGSIZE;
	memcpy(r, want, n);
	*rl = n;
	return 0;
}

static struct fake fk;
static struct t0_link link0;
static uint8_t out[70000];
static size_t outlen;

#define RUN(script, apdu_hex, cap) run((script), sizeof(script) / sizeof((script)[0]), (apdu_hex), (cap))

static int run(const struct step *s, size_t n, const char *apdu_hex, size_t cap)
{
	static uint8_t apdu[70000];
	size_t al = hex(apdu_hex, apdu, sizeof(apdu));

	memset(&fk, 0, sizeof(fk));
	fk.steps = s;
	fk.n = n;
	memset(&link0, 0, sizeof(link0));
	link0.xfr = fake_xfr;
	link0.ctx = &fk;
	outlen = cap;
	return t0_transmit(&link0, apdu, al, out, &outlen);
}

/* The script ran to its end, each TPDU as written. */
static int script_done(void)
{
	return !fk.bad && fk.i == fk.n;
}

static int out_is(const char *h)
{
	static uint8_t want[70000];
	size_t n = hex(h, want, sizeof(want));

	return outlen == n && !memcmp(out, want, n);
}

/* ----------------------------------------------------------------- ATR */

static int parse_hex(const char *h, struct atr *a)
{
	uint8_t b[64];
	size_t n = hex(h, b, sizeof(b));

	return atr_parse(b, n, a);
}

static void test_atr(void)
{
	struct atr a;
	char d[160];

	KTAP_CASE("atr: QEMU's default ATR (T=0, T=1, T=15 and TCK)") {
		/* TA1 TC1 TD1 | TD2 | TA3 TD3 | TA4 | 5 historical | TCK */
		ktap_require(parse_hex("3B D5 18 FF 80 91 FE 1F C3 80 73 C8 21 13 08", &a) == 0,
			     "atr: QEMU's default ATR parses");
		ktap_check(a.protocols == (1u << 0 | 1u << 1), "atr: offers T=0 and T=1 (T=15 is not a protocol)");
		ktap_check(a.first_protocol == 0, "atr: T=0 first");
		ktap_check(a.levels == 4 && a.ta[0] == 0x18 && a.tc[0] == 0xFF &&
			   a.ta[2] == 0xFE && a.ta[3] == 0xC3, "atr: interface bytes in their groups");
		ktap_check(a.fi == 372 && a.di == 12, "atr: Fi/Di from TA1 (0x18: 372, 12)");
		ktap_check(a.extra_guard == 255, "atr: N from TC1");
		ktap_check(a.nhist == 5 && a.hist[0] == 0x80 && a.hist[4] == 0x13,
			   "atr: five historical bytes");
		ktap_check(a.has_tck && a.tck == 0x08, "atr: TCK present and right");
		ktap_check(atr_describe(&a, d, sizeof(d)) == 0 && strstr(d, "T=0 T=1"),
			   "atr: description names the protocols");
	}
	KTAP_CASE("atr: a T=0-only ATR has no TCK") {
		ktap_check(parse_hex("3B 1A 11 80 62 69 6F 72 65 61 64 65 72", &a) == 0 &&
			   a.protocols == 1 && !a.has_tck && a.nhist == 10 && a.di == 1,
			   "atr: the emulator's ATR: T=0, no TCK, 10 historical bytes");
		ktap_check(parse_hex("3B 00", &a) == 0 && a.protocols == 1 && a.fi == 372,
			   "atr: minimal ATR: defaults");
		ktap_check(parse_hex("3F 00", &a) == 0 && a.ts == 0x3F, "atr: inverse convention TS");
		ktap_check(parse_hex("3B 80 00", &a) == 0 && a.levels == 1 && a.protocols == 1,
			   "atr: TD1 saying T=0: still no TCK");
		ktap_check(parse_hex("3B 80 00 80", &a) == -EBADMSG && a.why &&
			   strstr(a.why, "after"), "atr: a TCK after a T=0-only ATR is refused, saying why");
		ktap_check(parse_hex("3B 20 96", &a) == 0 && a.extra_guard == 0 &&
			   a.tb[0] == 0x96, "atr: TB1 alone (deprecated) kept");
		ktap_check(parse_hex("3B 80 40 0B", &a) == 0 && a.levels == 2 &&
			   a.tc[1] == 0x0B && a.t0_wi == 11, "atr: TD1 -> TC2, the T=0 waiting integer");
		ktap_check(parse_hex("3B 00 00", &a) == -EBADMSG,
			   "atr: bytes after a complete ATR refused");
		ktap_check(parse_hex("3B 00", &a) == 0 && a.t0_wi == 10,
			   "atr: default WI 10");
		ktap_check(parse_hex("3B 80 40 0B", &a) == 0 && !a.specific_mode,
			   "atr: no TA2: negotiable mode");
	}
	KTAP_CASE("atr: T=1 ATR with TCK") {
		/* 3B 80 01 TCK: T0 ^ TD1 = 0x80 ^ 0x01 = 0x81 */
		ktap_check(parse_hex("3B 80 01 81", &a) == 0 && a.protocols == 2 &&
			   a.first_protocol == 1 && a.tck == 0x81, "atr: T=1, TCK checked");
		ktap_check(parse_hex("3B 80 01 80", &a) == -EBADMSG && strstr(a.why, "TCK"),
			   "atr: wrong TCK refused");
		ktap_check(parse_hex("3B 80 01", &a) == -EBADMSG && strstr(a.why, "TCK"),
			   "atr: missing TCK refused");
		ktap_check(parse_hex("3B 90 11 01 80", &a) == 0 && a.fi == 372 && a.di == 1,
			   "atr: TA1 and TD1 (T=1)");
		ktap_check(parse_hex("3B 80 50 00 12", &a) == 0 && a.specific_mode &&
			   a.t0_wi == 0x12 && !a.has_tck, "atr: TA2 specific mode, TC2 WI");
	}
	KTAP_CASE("atr: malformed ATRs are refused") {
		uint8_t big[40];

		memset(big, 0, sizeof(big));
		big[0] = 0x3B;
		ktap_check(parse_hex("3B", &a) == -EBADMSG, "atr: one byte");
		ktap_check(atr_parse(NULL, 0, &a) == -EBADMSG, "atr: empty");
		ktap_check(parse_hex("3C 00", &a) == -EBADMSG && strstr(a.why, "TS"), "atr: bad TS");
		ktap_check(parse_hex("3B 0A 01 02", &a) == -EBADMSG && strstr(a.why, "historical"),
			   "atr: truncated historical bytes");
		ktap_check(parse_hex("3B F0 11 22", &a) == -EBADMSG && strstr(a.why, "interface"),
			   "atr: truncated interface bytes");
		ktap_check(atr_parse(big, 34, &a) == -EBADMSG, "atr: longer than 33 bytes");
		ktap_check(parse_hex("3B 10 70", &a) == -EBADMSG && strstr(a.why, "Fi"),
			   "atr: TA1 with an RFU Fi");
		ktap_check(parse_hex("3B 10 1A", &a) == -EBADMSG, "atr: TA1 with an RFU Di");
		ktap_check(parse_hex("3B 80 40 00", &a) == -EBADMSG, "atr: TC2 = 0 (WI) refused");
		/* TDi chains without end: 3B 80 80 80 ... */
		memset(big, 0x80, sizeof(big));
		big[0] = 0x3B;
		ktap_check(atr_parse(big, 12, &a) == -EBADMSG, "atr: endless TDi chain stops");
	}
}

/* ----------------------------------------------------------------- T=0 */

static void test_t0_cases(void)
{
	KTAP_CASE("t0: case 1") {
		static const struct step s[] = { { "00 44 00 00 00", "90 00", 0 } };

		ktap_check(RUN(s, "00 44 00 00", 64) == 0 && out_is("9000") && script_done(),
			   "t0: case 1 -> P3 = 00, SW back");
	}
	KTAP_CASE("t0: case 2") {
		static const struct step s1[] = {
			{ "00 B0 00 00 04", "01 02 03 04 90 00", 0 } };
		static const struct step s2[] = {
			{ "00 B0 00 10 00", "6C 05", 0 },
			{ "00 B0 00 10 05", "AA BB CC DD EE 90 00", 0 } };
		static const struct step s3[] = {
			{ "00 84 00 00 08", "62 83", 0 } };
		static const struct step s4[] = {
			{ "00 B0 00 10 00", "6C 05", 0 },
			{ "00 B0 00 10 05", "6C 04", 0 } };

		ktap_check(RUN(s1, "00 B0 00 00 04", 64) == 0 && out_is("01020304 9000") &&
			   script_done(), "t0: case 2, the data and SW");
		ktap_check(RUN(s2, "00 B0 00 10 00", 300) == 0 &&
			   out_is("AABBCCDDEE 9000") && script_done() && link0.resends == 1,
			   "t0: case 2, 6Cxx -> sent again with P3 = xx");
		ktap_check(RUN(s3, "00 84 00 00 08", 64) == 0 && out_is("6283") && script_done(),
			   "t0: case 2, an error SW alone is passed on");
		ktap_check(RUN(s4, "00 B0 00 10 00", 300) == 0 && out_is("6C04") && script_done(),
			   "t0: case 2, a second 6Cxx is passed on (no loop)");
	}
	KTAP_CASE("t0: case 2 with 61xx chains (longer than 256 bytes)") {
		static const struct step s[] = {
			{ "00 B0 00 00 00", "*256:11 61 00", 0 },
			{ "00 C0 00 00 00", "*256:22 61 00", 0 },
			{ "00 C0 00 00 00", "*256:33 61 20", 0 },
			{ "00 C0 00 00 20", "*32:44 90 00", 0 } };
		static const struct step s2[] = {
			{ "00 B0 00 00 00", "*256:11 61 00", 0 },
			{ "00 C0 00 00 00", "*256:22 61 10", 0 } };
		static const struct step s3[] = {
			{ "00 B0 00 00 00", "*256:11 61 80", 0 },
			{ "00 C0 00 00 44", "*68:22 90 00", 0 } };

		ktap_check(RUN(s, "00 B0 00 00 00 00 00", sizeof(out)) == 0 &&
			   out_is("*256:11 *256:22 *256:33 *32:44 9000") && script_done() &&
			   link0.get_responses == 3,
			   "t0: case 2E, Ne = 65536: GET RESPONSE until 9000 (800 bytes)");
		ktap_check(RUN(s2, "00 B0 00 00 00 02 00", sizeof(out)) == 0 &&
			   out_is("*256:11 *256:22 6110") && script_done(),
			   "t0: case 2E, Ne = 512 reached: stops, 61xx passed on");
		ktap_check(RUN(s3, "00 B0 00 00 00 01 44", sizeof(out)) == 0 &&
			   out_is("*256:11 *68:22 9000") && script_done(),
			   "t0: GET RESPONSE asks min(xx, what is still expected)");
	}
	KTAP_CASE("t0: cases 3 and 4") {
		static const struct step s3[] = {
			{ "00 A4 02 0C 02 01 1E", "90 00", 0 } };
		static const struct step s4[] = {
			{ "00 A4 04 00 07 A0 00 00 02 47 10 01", "61 04", 0 },
			{ "00 C0 00 00 04", "6F 02 84 00 90 00", 0 } };
		static const struct step s4e[] = {
			{ "00 A4 02 04 02 01 1E", "6A 82", 0 } };
		static const struct step s4ok[] = {
			{ "00 A4 02 04 02 01 1E", "90 00", 0 } };
		static const struct step s4le[] = {
			{ "00 A4 04 00 07 A0 00 00 02 47 10 01", "61 20", 0 },
			{ "00 C0 00 00 08", "*8:5A 61 18", 0 } };
		static const struct step sm[] = {
			{ "0C A4 04 00 03 01 02 03", "61 02", 0 },
			{ "00 C0 00 00 02", "AB CD 90 00", 0 } };
		static const struct step ch[] = {
			{ "01 A4 04 00 01 01", "61 01", 0 },
			{ "01 C0 00 00 01", "AB 90 00", 0 } };
		static const struct step ext[] = {
			{ "00 2A 00 00 02 01 02", "61 00", 0 },
			{ "00 C0 00 00 00", "*256:77 61 00", 0 },
			{ "00 C0 00 00 00", "*256:78 90 00", 0 } };

		ktap_check(RUN(s3, "00 A4 02 0C 02 01 1E", 64) == 0 && out_is("9000") &&
			   script_done(), "t0: case 3, SW back");
		ktap_check(RUN(s4, "00 A4 04 00 07 A0 00 00 02 47 10 01 00", 300) == 0 &&
			   out_is("6F028400 9000") && script_done() && link0.get_responses == 1,
			   "t0: case 4 as case 3, then GET RESPONSE on 61xx");
		ktap_check(RUN(s4e, "00 A4 02 04 02 01 1E 00", 300) == 0 && out_is("6A82") &&
			   script_done(), "t0: case 4, an error SW is passed on (no GET RESPONSE)");
		ktap_check(RUN(s4ok, "00 A4 02 04 02 01 1E 00", 300) == 0 && out_is("9000") &&
			   script_done(), "t0: case 4, 9000 without data is passed on");
		ktap_check(RUN(s4le, "00 A4 04 00 07 A0 00 00 02 47 10 01 08", 300) == 0 &&
			   out_is("*8:5A 6118") && script_done(),
			   "t0: case 4, GET RESPONSE asks no more than Le");
		ktap_check(RUN(sm, "0C A4 04 00 03 01 02 03 00", 300) == 0 && out_is("ABCD 9000") &&
			   script_done(), "t0: GET RESPONSE after secure messaging uses CLA 00");
		ktap_check(RUN(ch, "01 A4 04 00 01 01 00", 300) == 0 && out_is("AB 9000") &&
			   script_done(), "t0: GET RESPONSE keeps the logical channel");
		ktap_check(RUN(ext, "00 2A 00 00 00 00 02 01 02 00 00", sizeof(out)) == 0 &&
			   out_is("*256:77 *256:78 9000") && script_done(),
			   "t0: case 4E with Nc <= 255 and Ne = 65536");
	}
}

static void test_t0_errors(void)
{
	KTAP_CASE("t0: a card that breaks T=0") {
		static const struct step more[] = {
			{ "00 B0 00 00 04", "01 02 03 04 05 90 00", 0 } };
		static const struct step one[] = {
			{ "00 B0 00 00 04", "90", 0 } };
		static const struct step c3data[] = {
			{ "00 A4 02 0C 02 01 1E", "01 90 00", 0 } };
		static const struct step stuck[] = {
			{ "00 B0 00 00 00", "*256:11 61 05", 0 },
			{ "00 C0 00 00 05", "61 05", 0 } };

		ktap_check(RUN(more, "00 B0 00 00 04", 300) == -EPROTO && script_done(),
			   "t0: more data than P3 asked -> EPROTO");
		ktap_check(RUN(one, "00 B0 00 00 04", 300) == -EPROTO,
			   "t0: an answer without SW1 SW2 -> EPROTO");
		ktap_check(RUN(c3data, "00 A4 02 0C 02 01 1E", 300) == -EPROTO,
			   "t0: data to a case-3 TPDU -> EPROTO");
		ktap_check(RUN(stuck, "00 B0 00 00 00 00 00", sizeof(out)) == -EPROTO &&
			   script_done(), "t0: a 61xx chain without progress -> EPROTO (no loop)");
	}
	KTAP_CASE("t0: lower-layer errors pass through") {
		static const struct step gone[] = {
			{ "00 B0 00 00 00", "*256:11 61 00", 0 },
			{ "00 C0 00 00 00", NULL, -ENOMEDIUM } };
		static const struct step dev[] = { { "00 44 00 00 00", NULL, -ENODEV } };
		static const struct step slow[] = { { "00 44 00 00 00", NULL, -ETIMEDOUT } };

		ktap_check(RUN(gone, "00 B0 00 00 00 00 00", sizeof(out)) == -ENOMEDIUM &&
			   script_done(), "t0: card removed mid-chain -> ENOMEDIUM");
		ktap_check(RUN(dev, "00 44 00 00", 64) == -ENODEV, "t0: reader gone -> ENODEV");
		ktap_check(RUN(slow, "00 44 00 00", 64) == -ETIMEDOUT, "t0: silence -> ETIMEDOUT");
	}
	KTAP_CASE("t0: bad APDUs and small buffers") {
		static const struct step big[] = {
			{ "00 B0 00 00 00", "*256:11 61 00", 0 },
			{ "00 C0 00 00 00", "*256:22 90 00", 0 } };
		static const struct step none[] = { { "", "", 0 } };
		static uint8_t c[300];
		size_t l = 64;

		ktap_check(RUN(big, "00 B0 00 00 00 00 00", 300) == -EMSGSIZE,
			   "t0: a response larger than the buffer -> EMSGSIZE");
		ktap_check(RUN(none, "00 B0 00", 64) == -EINVAL && fk.i == 0,
			   "t0: 3-byte APDU -> EINVAL, nothing sent");
		ktap_check(RUN(none, "00 B0 00 00 03 01 02", 64) == -EINVAL && fk.i == 0,
			   "t0: Lc longer than the data -> EINVAL");
		ktap_check(RUN(none, "00 B0 00 00 00 01", 64) == -EINVAL && fk.i == 0,
			   "t0: 6-byte APDU with 00 -> EINVAL");
		ktap_check(RUN(none, "00 44 00 00", 1) == -EMSGSIZE && fk.i == 0,
			   "t0: no room for SW1 SW2 -> EMSGSIZE");
		memset(c, 0, sizeof(c));
		c[1] = 0xD6;
		c[5] = 0x01;	/* extended Lc = 256 */
		memset(&link0, 0, sizeof(link0));
		link0.xfr = fake_xfr;
		link0.ctx = &fk;
		ktap_check(t0_transmit(&link0, c, 7 + 256, out, &l) == -EMSGSIZE,
			   "t0: Nc = 256 cannot go over T=0 -> EMSGSIZE");
	}
	KTAP_CASE("t0: APDU cases") {
		struct t0_apdu a;
		uint8_t b[16];

		ktap_check(t0_apdu_parse(b, hex("00A40400", b, 16), &a) == 0 &&
			   a.apdu_case == 1, "apdu: 4 bytes: case 1");
		ktap_check(t0_apdu_parse(b, hex("00B0000000", b, 16), &a) == 0 &&
			   a.apdu_case == 2 && a.ne == 256, "apdu: Le 00 is 256");
		ktap_check(t0_apdu_parse(b, hex("00B00000000000", b, 16), &a) == 0 &&
			   a.apdu_case == 2 && a.extended && a.ne == 65536,
			   "apdu: extended Le 0000 is 65536");
		ktap_check(t0_apdu_parse(b, hex("00A4020C020101", b, 16), &a) == 0 &&
			   a.apdu_case == 3 && a.nc == 2, "apdu: case 3");
		ktap_check(t0_apdu_parse(b, hex("00A4020C02010100", b, 16), &a) == 0 &&
			   a.apdu_case == 4 && a.ne == 256, "apdu: case 4");
		ktap_check(t0_apdu_parse(b, hex("00A4020C0000020101", b, 16), &a) == 0 &&
			   a.apdu_case == 3 && a.extended, "apdu: case 3E");
		ktap_check(t0_apdu_parse(b, hex("00A4020C00000201010010", b, 16), &a) == 0 &&
			   a.apdu_case == 4 && a.ne == 16, "apdu: case 4E");
		ktap_check(t0_apdu_parse(b, hex("00A4020C000000", b, 16), &a) == 0 &&
			   a.apdu_case == 2, "apdu: 7 bytes with 00: case 2E");
		ktap_check(t0_apdu_parse(b, hex("00A4020C00000001", b, 16), &a) == -EINVAL,
			   "apdu: extended Lc 0000 -> EINVAL");
	}
}

/* ---------------------------------------------------------------- CCID */

/* QEMU's usb-ccid class descriptor (0x36 bytes): one slot, T=0, TPDU. */
static const char qemu_desc[] =
	"36 21 10 01 00 07 01 00 00 00 A0 0F 00 00 00 00 01 00 00 80 25 00 00"
	" 00 C2 01 00 00 FE 00 00 00 00 00 00 00 00 00 00 00 FE 04 01 00 12 00"
	" 01 00 FF FF 00 00 01 01";

static void test_ccid(void)
{
	KTAP_CASE("ccid: building commands") {
		uint8_t b[64], want[64];
		uint8_t apdu[5] = { 0x00, 0xB0, 0x00, 0x00, 0x10 };
		size_t wl = hex("6F 05 00 00 00 00 07 00 00 00 00 B0 00 00 10", want, 64);

		ktap_check(ccid_build(b, sizeof(b), CCID_PC_XFR_BLOCK, 0, 7, NULL, apdu, 5) ==
			   (long)wl && !memcmp(b, want, wl), "ccid: XfrBlock bytes");
		ktap_check(ccid_build(b, 14, CCID_PC_XFR_BLOCK, 0, 7, NULL, apdu, 5) == -EMSGSIZE,
			   "ccid: no room -> EMSGSIZE");
		ktap_check(ccid_build(b, sizeof(b), CCID_PC_ICC_POWER_ON, 1, 255,
				      (const uint8_t[3]){ 1, 0, 0 }, NULL, 0) == 10 &&
			   b[0] == 0x62 && b[5] == 1 && b[6] == 255 && b[7] == 1,
			   "ccid: IccPowerOn with bPowerSelect");
	}
	KTAP_CASE("ccid: parsing answers") {
		struct ccid_msg m;
		uint8_t b[64];
		size_t n;

		n = hex("80 04 00 00 00 00 07 00 00 00 01 02 90 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == 0 && m.type == 0x80 && m.seq == 7 &&
			   m.len == 4 && m.data[3] == 0x00 && m.icc == CCID_ICC_ACTIVE &&
			   m.cmd == CCID_CMD_OK, "ccid: DataBlock");
		ktap_check(ccid_parse(b, n - 1, &m) == -EAGAIN, "ccid: short of dwLength -> EAGAIN");
		ktap_check(ccid_parse(b, 5, &m) == -EAGAIN, "ccid: short of a header -> EAGAIN");
		b[n] = 0;
		ktap_check(ccid_parse(b, n + 1, &m) == -EPROTO, "ccid: more than dwLength -> EPROTO");
		n = hex("81 00 00 00 00 00 03 42 FE 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == 0 && m.icc == CCID_ICC_ABSENT &&
			   m.cmd == CCID_CMD_FAILED && m.error == CCID_ERR_ICC_MUTE,
			   "ccid: SlotStatus: failed, ICC absent, ICC mute");
		n = hex("81 01 00 00 00 00 03 00 00 00 AA", b, 64);
		ktap_check(ccid_parse(b, n, &m) == -EPROTO, "ccid: SlotStatus with data -> EPROTO");
		n = hex("80 00 00 00 00 00 03 03 00 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == -EPROTO, "ccid: bmICCStatus 3 -> EPROTO");
		n = hex("80 00 00 00 00 00 03 C0 00 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == -EPROTO, "ccid: bmCommandStatus 3 -> EPROTO");
		n = hex("80 00 00 00 00 00 03 80 01 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == 0 && m.cmd == CCID_CMD_TIME_EXTENSION,
			   "ccid: time extension");
		n = hex("62 00 00 00 00 00 03 00 00 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == -EPROTO, "ccid: a PC_to_RDR type -> EPROTO");
		n = hex("80 FF FF FF FF 00 03 00 00 00", b, 64);
		ktap_check(ccid_parse(b, n, &m) == -EPROTO, "ccid: absurd dwLength -> EPROTO");
	}
	KTAP_CASE("ccid: slot changes and the class descriptor") {
		struct ccid_desc d;
		uint8_t b[128];
		bool p, c;
		size_t n;

		ktap_check(ccid_parse_notify((const uint8_t[]){ 0x50, 0x03 }, 2, 0, &p, &c) == 0 &&
			   p && c, "notify: inserted");
		ktap_check(ccid_parse_notify((const uint8_t[]){ 0x50, 0x02 }, 2, 0, &p, &c) == 0 &&
			   !p && c, "notify: removed");
		ktap_check(ccid_parse_notify((const uint8_t[]){ 0x50, 0x0C }, 2, 1, &p, &c) == 0 &&
			   p && c, "notify: slot 1 of one byte");
		ktap_check(ccid_parse_notify((const uint8_t[]){ 0x50, 0x03 }, 2, 4, &p, &c) == -ENOENT,
			   "notify: a slot the message does not cover -> ENOENT");
		ktap_check(ccid_parse_notify((const uint8_t[]){ 0x51, 0, 1, 2 }, 4, 0, &p, &c) == -ENOENT,
			   "notify: HardwareError is not a slot change");
		ktap_check(ccid_parse_notify((const uint8_t[]){ 0x99 }, 1, 0, &p, &c) == -EPROTO,
			   "notify: unknown type -> EPROTO");
		n = hex(qemu_desc, b, sizeof(b));
		ktap_check(ccid_parse_desc(b, n, &d) == 0 && d.features == 0x000104FE &&
			   (d.features & CCID_FEAT_LEVEL_MASK) == CCID_FEAT_TPDU &&
			   d.protocols == 1 && d.max_slot_index == 0 && d.max_msg_len == 0x010012,
			   "desc: QEMU's: TPDU level, T=0, one slot");
		memmove(b + 5, b, n);
		memcpy(b, (const uint8_t[]){ 5, 0x24, 1, 2, 3 }, 5);
		ktap_check(ccid_parse_desc(b, n + 5, &d) == 0 && d.bcd_ccid == 0x0110,
			   "desc: found after another descriptor");
		ktap_check(ccid_parse_desc(b, n + 4, &d) == -EPROTO,
			   "desc: running past the end -> EPROTO");
		ktap_check(ccid_parse_desc(b, 5, &d) == -ENOENT, "desc: none -> ENOENT");
		b[0] = 0;
		ktap_check(ccid_parse_desc(b, n + 5, &d) == -EPROTO, "desc: bLength 0 -> EPROTO");
	}
}

int main(void)
{
	ktap_plan(97);
	test_atr();
	test_t0_cases();
	test_t0_errors();
	test_ccid();
	return ktap_finish();
}
