// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM test: the ID-card reader path over a real (emulated) USB device.
 *
 * Run by tests/vm/card-suite.sh: QEMU gives the guest usb-ccid with a
 * ccid-card-passthru card whose other end is tests/emu/vscard-card on the
 * host, serving the files of $BR_CARD_FILES with T=0 chains on and its
 * in-band test control on.  This program finds the reader over libusb,
 * powers the card, parses the ATR, selects the application and reads a
 * file of a few KB through T=0 (6Cxx, 61xx chains), compares it with the
 * file the emulator serves, and checks the faults: status words, a
 * truncated answer, a silent card, a card pulled mid-read (a distinct
 * error, no hang), the interrupt pipe's slot changes, and the reader
 * unplugged mid-command (QEMU's device_del, which the emulator asks for
 * over QEMU's monitor: ENODEV, no hang) and plugged in again.
 *
 * Without $BR_CARD_FILES (the ordinary VM suite, no reader) it skips.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "idcard/atr.h"
#include "idcard/ccid.h"
#include "idcard/t0.h"
#include "ktap.h"

#define NCHECKS		49
#define TIMEOUT_MS	1500

static const uint8_t SEL_AID[] = { 0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00,
				   0x00, 0x02, 0x47, 0x10, 0x01, 0x00 };

static struct ccid_reader *rd;
static struct t0_link lk;
static uint8_t file[40000];
static size_t file_len;
static uint16_t fid = 0x0102;
static uint8_t resp[70000];
static size_t rlen;

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int xmit(const uint8_t *c, size_t n)
{
	rlen = sizeof(resp);
	return t0_transmit(&lk, c, n, resp, &rlen);
}

static unsigned int sw(void)
{
	return rlen >= 2 ? (unsigned int)(resp[rlen - 2] << 8 | resp[rlen - 1]) : 0;
}

/* The emulator's in-band control (CLA 80 INS EC, the command as text). */
static int emu(const char *cmd)
{
	uint8_t c[5 + 255];
	size_t n = strlen(cmd);

	c[0] = 0x80;
	c[1] = 0xEC;
	c[2] = c[3] = 0;
	c[4] = (uint8_t)n;
	memcpy(c + 5, cmd, n);
	return xmit(c, 5 + n) == 0 && sw() == 0x9000 ? 0 : -1;
}

static int select_ef(uint16_t id)
{
	uint8_t c[7] = { 0x00, 0xA4, 0x02, 0x0C, 0x02, (uint8_t)(id >> 8), (uint8_t)id };
	int rc = xmit(c, sizeof(c));

	return rc ? rc : (int)sw();
}

/* The file in chunks of @chunk bytes (READ BINARY with offsets). */
static int read_chunks(uint8_t *out, size_t cap, size_t chunk, size_t *got)
{
	size_t off = 0;

	for (;;) {
		uint8_t c[5] = { 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off,
				 (uint8_t)chunk };
		int rc = xmit(c, 5);

		if (rc)
			return rc;
		if (sw() == 0x6B00 || sw() == 0x6282)
			break;		/* at the end */
		if (sw() != 0x9000)
			return -EIO;
		if (off + rlen - 2 > cap)
			return -EMSGSIZE;
		memcpy(out + off, resp, rlen - 2);
		off += rlen - 2;
		if (rlen - 2 < chunk || off >= file_len)
			break;
	}
	*got = off;
	return 0;
}

static int load_file(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%04X", dir, fid);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	file_len = fread(file, 1, sizeof(file), f);
	fclose(f);
	return file_len ? 0 : -1;
}

static int open_and_power(void)
{
	struct ccid_open_opts o = { .timeout_ms = TIMEOUT_MS, .max_ms = 4 * TIMEOUT_MS };
	uint8_t atr[64];
	size_t alen = sizeof(atr);
	int rc;

	if (rd)
		ccid_close(rd);
	rd = NULL;
	rc = ccid_open(&rd, &o);
	if (rc)
		return rc;
	lk.xfr = ccid_xfr_block;
	lk.ctx = rd;
	return ccid_power_on(rd, atr, &alen);
}

/* Waits for the slot to say @present (notifications may coalesce). */
static int wait_present(bool want, unsigned int ms)
{
	long long end = ms_now() + ms;
	bool p;

	while (ms_now() < end) {
		int rc = ccid_wait_slot_change(rd, (unsigned int)(end - ms_now()), &p);

		if (rc == -ETIMEDOUT)
			break;
		if (rc)
			return rc;
		if (p == want)
			return 0;
	}
	return -ETIMEDOUT;
}

int main(void)
{
	const char *dir = getenv("BR_CARD_FILES");
	const char *f = getenv("BR_CARD_FID");
	static uint8_t got[40000];

	if (!dir) {
		ktap_plan(1);
		ktap_skip("card over USB", "no card emulator ($BR_CARD_FILES unset: "
			  "tests/vm/card-suite.sh runs this test)");
		return ktap_finish();
	}
	if (f)
		fid = (uint16_t)strtoul(f, NULL, 16);
	ktap_plan(NCHECKS);
	ktap_case_timeout_s = 30;

	KTAP_CASE("a CCID reader over libusb") {
		struct ccid_reader_info in[4];
		int n;

		ktap_require(load_file(dir) == 0, "the emulator's file is readable here");
		ktap_require(ccid_wait_reader(15000) == 0, "a CCID reader appears");
		n = ccid_list(in, 4);
		ktap_require(n >= 1, "ccid_list finds it");
		ktap_diag("reader %04x:%04x \"%s\", features 0x%08x", in[0].vid, in[0].pid,
			  in[0].product, in[0].desc.features);
		ktap_check(in[0].vid == 0x08e6 && in[0].pid == 0x4433, "QEMU's usb-ccid (08e6:4433)");
		ktap_check((in[0].desc.features & CCID_FEAT_LEVEL_MASK) == CCID_FEAT_TPDU &&
			   (in[0].desc.protocols & 1), "TPDU level, T=0");
	}
	KTAP_CASE_AFTER("power on, ATR") {
		struct ccid_open_opts o = { .timeout_ms = TIMEOUT_MS, .max_ms = 4 * TIMEOUT_MS };
		uint8_t atr[64];
		size_t alen = sizeof(atr);
		struct atr a;
		int icc = -1;

		ktap_require(ccid_open(&rd, &o) == 0, "the reader opens (interface claimed)");
		ktap_check(ccid_slot_status(rd, &icc) == 0 && icc != CCID_ICC_ABSENT,
			   "slot status: a card is present");
		ktap_require(ccid_power_on(rd, atr, &alen) == 0, "the card powers on");
		ktap_check(atr_parse(atr, alen, &a) == 0 && a.protocols == 1 && !a.has_tck,
			   "the ATR parses: T=0 only");
		lk.xfr = ccid_xfr_block;
		lk.ctx = rd;
	}
	KTAP_CASE_AFTER("select the application, read a file") {
		long long t0;

		ktap_require(xmit(SEL_AID, sizeof(SEL_AID)) == 0 && sw() == 0x9000,
			     "SELECT by AID with FCI (case 4: 61xx, GET RESPONSE)");
		ktap_check(rlen > 9 && resp[0] == 0x6F && !memcmp(resp + 4, SEL_AID + 5, 7),
			   "the FCI names the application");
		ktap_check(lk.get_responses >= 1, "... through GET RESPONSE");
		ktap_require(select_ef(fid) == 0x9000, "SELECT the file by identifier");
		lk.resends = 0;
		t0 = ms_now();
		ktap_check(read_chunks(got, sizeof(got), 0xE0, &rlen) == 0 && rlen == file_len &&
			   !memcmp(got, file, file_len),
			   "READ BINARY in 224-byte chunks: the file, byte for byte");
		ktap_diag("%zu bytes in %lld ms, %lu TPDUs", file_len, ms_now() - t0, lk.tpdus);
		ktap_check(lk.resends >= 1, "the last chunk came through 6Cxx");
	}
	KTAP_CASE_AFTER("a response longer than 256 bytes through 61xx") {
		static const uint8_t rb[7] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00 };
		unsigned long gr = lk.get_responses;

		ktap_check(xmit(rb, sizeof(rb)) == 0 && sw() == 0x9000 &&
			   rlen == file_len + 2 && !memcmp(resp, file, file_len),
			   "READ BINARY with Ne = 65536: the whole file, byte for byte");
		ktap_check(lk.get_responses - gr >= file_len / 256 - 1,
			   "... in a GET RESPONSE chain");
	}
	KTAP_CASE_AFTER("status words and faults") {
		static const uint8_t rb[5] = { 0x00, 0xB0, 0x00, 0x00, 0x10 };
		long long t0;
		int rc;

		ktap_check(select_ef(0x0A0A) == 0x6A82, "SELECT of a missing file: 6A82");
		ktap_check(select_ef(fid) == 0x9000, "SELECT again");
		ktap_check(emu("sw 6982") == 0 && xmit(rb, 5) == 0 && sw() == 0x6982 &&
			   rlen == 2, "a forced 6982 reaches the caller");
		ktap_check(emu("truncate") == 0 && xmit(rb, 5) == -EPROTO,
			   "a truncated answer (1 byte): EPROTO");
		ktap_check(xmit(rb, 5) == 0 && sw() == 0x9000 && !memcmp(resp, file, 16),
			   "the next READ BINARY is fine");
		ktap_require(emu("silence 4000") == 0, "the card will be silent for 4 s");
		t0 = ms_now();
		rc = xmit(rb, 5);
		ktap_check(rc == -ETIMEDOUT && ms_now() - t0 < 3 * TIMEOUT_MS,
			   "a silent card: ETIMEDOUT after the timeout, no hang");
		/* QEMU >= 8 refuses it (slot busy); 7.2 passes it to the card,
		 * which answers it after the first */
		rc = xmit(rb, 5);
		ktap_diag("a second command meanwhile: %s", ccid_strerror(rc));
		ktap_check(rc == -EBUSY || rc == -ETIMEDOUT ||
			   (rc == 0 && sw() == 0x9000 && !memcmp(resp, file, 16)),
			   "meanwhile a second command: EBUSY, ETIMEDOUT or its own answer, no hang");
		usleep(3000 * 1000);
		ktap_check(xmit(rb, 5) == 0 && sw() == 0x9000 && !memcmp(resp, file, 16),
			   "once the late answer came, it is skipped (bSeq) and the next works");
	}
	KTAP_CASE_AFTER("the card pulled mid-read") {
		static const uint8_t rb[7] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00 };
		long long t0;
		int rc, icc = -1;

		/* 3 more answers, then the card goes (back after 1.5 s) */
		ktap_require(emu("remove-after 3 5000") == 0, "the card will be pulled mid-read");
		t0 = ms_now();
		rc = xmit(rb, sizeof(rb));
		ktap_check(rc == -ENOMEDIUM, "READ BINARY chain: ENOMEDIUM (card removed)");
		ktap_diag("rc %d (%s) after %lld ms", rc, ccid_strerror(rc), ms_now() - t0);
		/* QEMU's reader drops the pending command on removal: the
		 * client learns it at its timeout, from the slot status */
		ktap_check(ms_now() - t0 < 2 * TIMEOUT_MS, "... within the command's timeout");
		ktap_check(ccid_slot_status(rd, &icc) == 0 && icc == CCID_ICC_ABSENT,
			   "slot status: no card");
		ktap_check(xmit(SEL_AID, sizeof(SEL_AID)) == -ENOMEDIUM,
			   "an APDU without a card: ENOMEDIUM");
		ktap_check(wait_present(true, 8000) == 0,
			   "the interrupt pipe says the card is back");
		ktap_require(open_and_power() == 0, "power on again");
		ktap_check(xmit(SEL_AID, sizeof(SEL_AID)) == 0 && sw() == 0x9000 &&
			   select_ef(fid) == 0x9000 && xmit(rb, sizeof(rb)) == 0 &&
			   rlen == file_len + 2 && !memcmp(resp, file, file_len),
			   "the whole file again, byte for byte");
	}
	KTAP_CASE_AFTER("slot changes on the interrupt pipe") {
		uint8_t atr[64];
		size_t alen = sizeof(atr);

		ktap_require(emu("remove-after 0 4000") == 0, "the card will be pulled");
		ktap_check(select_ef(fid) == -ENOMEDIUM, "the next APDU: ENOMEDIUM");
		ktap_check(ccid_power_on(rd, atr, &alen) == -ENOMEDIUM,
			   "power on an empty slot: ENOMEDIUM");
		ktap_check(wait_present(true, 8000) == 0, "notification: card inserted");
		alen = sizeof(atr);
		ktap_check(ccid_power_on(rd, atr, &alen) == 0 && alen > 2, "power on: ATR");
		ktap_check(ccid_power_off(rd) == 0, "power off");
	}
	KTAP_CASE_AFTER("the reader unplugged mid-command") {
		static const uint8_t rb[7] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00 };
		long long t0;
		int rc, icc;

		ktap_require(open_and_power() == 0 && xmit(SEL_AID, sizeof(SEL_AID)) == 0 &&
			     select_ef(fid) == 0x9000, "the card is powered, the file selected");
		/* 3 more answers, then QEMU's device_del of the reader (back after 2 s) */
		ktap_require(emu("unplug-after 3 2000") == 0,
			     "the reader will be unplugged mid-read (QEMU's device_del)");
		t0 = ms_now();
		rc = xmit(rb, sizeof(rb));
		ktap_diag("rc %d (%s) after %lld ms", rc, ccid_strerror(rc), ms_now() - t0);
		ktap_check(rc == -ENODEV, "READ BINARY chain: ENODEV (the reader is gone)");
		ktap_check(ms_now() - t0 < 2 * TIMEOUT_MS, "... within the command's timeout, no hang");
		ktap_check(ccid_slot_status(rd, &icc) == -ENODEV && xmit(rb, 5) == -ENODEV,
			   "every later call on the handle: ENODEV at once");
		ccid_close(rd);
		rd = NULL;
		ktap_check(ccid_wait_reader(15000) == 0, "the reader is plugged in again (device_add)");
		ktap_require(open_and_power() == 0, "it opens, the card powers on");
		ktap_check(xmit(SEL_AID, sizeof(SEL_AID)) == 0 && sw() == 0x9000 &&
			   select_ef(fid) == 0x9000 && xmit(rb, sizeof(rb)) == 0 &&
			   rlen == file_len + 2 && !memcmp(resp, file, file_len),
			   "the whole file again, byte for byte");
	}
	KTAP_CASE_AFTER("close") {
		ccid_close(rd);
		rd = NULL;
		ktap_check(1, "the reader is released");
	}
	return ktap_finish();
}
