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

#define NCHECKS		54
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

/* Forgets the slot changes the interrupt pipe still holds. */
static void drain_notifications(void)
{
	bool p;
	int i;

	for (i = 0; i < 8 && ccid_wait_slot_change(rd, 20, &p) == 0; i++)
		;
}

/*
 * Waits for the interrupt pipe to say a card is in (after the card went:
 * the emulator's load pulls the card 250 ms after answering and puts the
 * new one in 500 ms later; two notifications that came close together
 * may read as one, "present, changed"), and powers it.  Polling the slot
 * status instead would race with QEMU's usb-ccid, which throws away the
 * answers it has not handed over yet when the card goes.
 */
static int wait_card(unsigned int ms)
{
	long long end = ms_now() + ms;
	bool present = false;
	int rc;

	while (!present) {
		long long left = end - ms_now();

		if (left <= 0)
			return -ETIMEDOUT;
		rc = ccid_wait_slot_change(rd, (unsigned int)left, &present);
		if (rc) {
			ktap_diag("waiting for the card: %s", ccid_strerror(rc));
			return rc;
		}
	}
	rc = power();
	if (rc)
		ktap_diag("power on: %s", ccid_strerror(rc));
	return rc;
}

/* Switches the card to document @name. */
static int load(const char *name)
{
	drain_notifications();
	if (emu("load %s", name))
		return -1;
	return wait_card(8000);
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
	KTAP_CASE_AFTER("the fault documents") {
		static const char *const docs[] = {
			"dg2-altered", "sod-forged", "ds-expired", "ds-revoked",
			"unknown-csca", "sha1", "sod-truncated", "sod-garbage",
		};
		struct idc_result res;
		struct doc_info d;
		char msg[160];
		size_t i;
		int r;

		for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
			ktap_require(doc_info(docs[i], &d) == 0 && d.expect != 0,
				     "the document's info parses");
			snprintf(msg, sizeof(msg), "load %s", docs[i]);
			ktap_require(load(docs[i]) == 0, msg);
			r = read_doc(&d, &res);
			snprintf(msg, sizeof(msg), "%s -> %s, no template", docs[i],
				 idc_strerror(d.expect));
			if (r != d.expect)
				ktap_diag("got %d (%s) at %s", r, idc_strerror(r),
					  idc_step_name(res.read.step));
			ktap_check(r == d.expect && !res.tpl && !res.tpl_len, msg);
			idc_result_wipe(&res);
		}
	}
	KTAP_CASE_AFTER("a wrong MRZ") {
		struct idc_result res;
		struct doc_info d;
		int r;

		ktap_require(load("genuine") == 0 && doc_info("second", &d) == 0,
			     "the genuine card again; the other person's MRZ information");
		r = read_doc(&d, &res);
		ktap_check(r == IDC_ERR_BAC && res.read.step == IDC_STEP_EXT_AUTH && !res.tpl,
			   "another document's MRZ -> BAC failed at EXTERNAL AUTHENTICATE");
		idc_result_wipe(&res);
	}
	KTAP_CASE_AFTER("the chip's faults") {
		static const struct {
			const char *cmd;
			int want;
		} faults[] = {
			{ "fault bad-cryptogram", IDC_ERR_BAC },
			{ "fault wrong-mac 0102", IDC_ERR_SM_MAC },
			{ "fault wrong-mac 011E", IDC_ERR_SM_MAC },
			{ "fault truncate 0102", IDC_ERR_TRUNCATED },
			{ "fault 6982 0102", IDC_ERR_SECURITY },
			{ "fault 6a82 0102", IDC_ERR_NOT_FOUND },
			{ "fault 6988 011D", IDC_ERR_SM_CARD },
			{ "fault file-short 0102", IDC_ERR_TRUNCATED },
		};
		struct idc_result res;
		struct doc_info d;
		char msg[160];
		long long t0;
		size_t i;
		int r;

		ktap_require(doc_info("genuine", &d) == 0, "docs/genuine/info parses");
		for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
			r = emu("%s", faults[i].cmd);
			if (!r)
				r = read_doc(&d, &res);
			else
				memset(&res, 0, sizeof(res));
			snprintf(msg, sizeof(msg), "%s -> %s, no template", faults[i].cmd,
				 idc_strerror(faults[i].want));
			if (r != faults[i].want)
				ktap_diag("got %d (%s) at %s", r, idc_strerror(r),
					  idc_step_name(res.read.step));
			ktap_check(r == faults[i].want && !res.tpl, msg);
			idc_result_wipe(&res);
		}
		/* the chip gives no answer: the emulator holds one back 3 s */
		ktap_require(emu("fault silent 0101") == 0, "fault silent 0101");
		t0 = ms_now();
		r = read_doc(&d, &res);
		ktap_diag("silent chip: %s after %lld ms", idc_strerror(r), ms_now() - t0);
		ktap_check(r == IDC_ERR_TRANSPORT && res.read.step == IDC_STEP_READ_FILE &&
			   !res.tpl, "a chip that does not answer -> transport error");
		ktap_check(ms_now() - t0 < 2 * TIMEOUT_MS, "... within the timeout, no hang");
		idc_result_wipe(&res);
		usleep(3500 * 1000);	/* its late answer comes, and is skipped */
		ktap_check(emu("fault none") == 0 && emu("max-read 37") == 0 &&
			   read_doc(&d, &res) == 0 && res.tpl,
			   "fault none, max-read 37: the document verifies again (short reads)");
		idc_result_wipe(&res);
	}
	KTAP_CASE_AFTER("the card pulled mid-read") {
		struct idc_result res;
		struct doc_info d;
		long long t0;
		int r;

		ktap_require(doc_info("genuine", &d) == 0 && emu("max-read 0") == 0,
			     "the genuine card, whole reads");
		/* 8 TPDUs answered: SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE
		 * and SELECT EF.COM with their GET RESPONSE, the first READ
		 * BINARY with its; then the card goes, back after 1 s */
		drain_notifications();
		ktap_require(emu("remove-after 8 1000") == 0, "the card will be pulled mid-read");
		t0 = ms_now();
		r = read_doc(&d, &res);
		ktap_diag("card pulled: %s after %lld ms at %s", idc_strerror(r),
			  ms_now() - t0, idc_step_name(res.read.step));
		ktap_check(r == IDC_ERR_TRANSPORT && res.read.step == IDC_STEP_READ_FILE &&
			   !res.tpl, "the card pulled mid-read -> transport error, no template");
		ktap_check(ms_now() - t0 < 2 * TIMEOUT_MS, "... within the timeout, no hang");
		idc_result_wipe(&res);
		ktap_require(wait_card(8000) == 0, "the card is back and powers on");
		r = read_doc(&d, &res);
		ktap_check(r == 0 && res.tpl, "the document verifies again");
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
