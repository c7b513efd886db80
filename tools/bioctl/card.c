// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl card: the ID-card reader path at transport level.
 *
 *   card info [--no-power] [--wait MS]
 *       every CCID reader (USB interface class 0x0B) on the bus: its
 *       identity, class descriptor, slot status, and (powering the card
 *       on, then off again) the ATR and what it says
 *   card apdu [-r N] HEX...
 *       powers the card of reader N (default 0) on, sends each command
 *       APDU over T=0 and prints the response APDU in hex, then powers
 *       the card off
 *   card verify ...
 *       the kiosk transaction: card_verify.c
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bioctl.h"
#include "idcard/atr.h"
#include "idcard/ccid.h"
#include "idcard/t0.h"

#define MAX_READERS 16

static void card_usage(FILE *f)
{
	fprintf(f,
"Usage: bioctl card info [--no-power] [--wait MS]\n"
"       bioctl card apdu [-r N] HEX...\n"
"       bioctl card verify -o OPERATOR --csca DIR [--crl DIR] --mrz FILE ...\n"
"  info   list the USB smart-card (CCID) readers, their slot status and,\n"
"         powering the card on and off, its ATR (--no-power: not);\n"
"         --wait MS: wait that long for a reader to appear first\n"
"  apdu   send command APDUs (hex) to the card of reader N over T=0 and\n"
"         print the responses\n"
"  verify read and prove the ID card, then verify its holder at the\n"
"         biometric reader (bioctl card verify --help)\n");
}

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
	size_t i;

	printf("%s", label);
	for (i = 0; i < n; i++)
		printf("%s%02X", i ? " " : "", p[i]);
	printf("\n");
}

static const char *level_words(uint32_t features)
{
	switch (features & CCID_FEAT_LEVEL_MASK) {
	case CCID_FEAT_TPDU: return "TPDU";
	case CCID_FEAT_SHORT_APDU: return "short APDU";
	case CCID_FEAT_EXT_APDU: return "extended APDU";
	default: return "character";
	}
}

static const char *icc_words(int icc)
{
	switch (icc) {
	case CCID_ICC_ACTIVE: return "card present, powered";
	case CCID_ICC_INACTIVE: return "card present, not powered";
	default: return "no card";
	}
}

static int show_reader(unsigned int idx, const struct ccid_reader_info *in,
		       bool power)
{
	struct ccid_open_opts o = { .bus = in->bus, .addr = in->addr };
	struct ccid_reader *r;
	uint8_t atr[64];
	size_t alen = sizeof(atr);
	int icc, rc;

	printf("reader %u: bus %03u device %03u, %04x:%04x \"%s%s%s\"%s%s\n", idx,
	       in->bus, in->addr, in->vid, in->pid, in->manufacturer,
	       in->manufacturer[0] ? " " : "", in->product,
	       in->serial[0] ? " serial " : "", in->serial);
	printf("  CCID %x.%02x, %u slot%s, protocols%s%s, %s level, "
	       "max message %u bytes, features 0x%08x\n",
	       in->desc.bcd_ccid >> 8, in->desc.bcd_ccid & 0xFF,
	       in->desc.max_slot_index + 1u, in->desc.max_slot_index ? "s" : "",
	       in->desc.protocols & 1 ? " T=0" : "",
	       in->desc.protocols & 2 ? " T=1" : "", level_words(in->desc.features),
	       in->desc.max_msg_len, in->desc.features);
	rc = ccid_open(&r, &o);
	if (rc) {
		printf("  cannot open: %s\n", ccid_strerror(rc));
		return rc;
	}
	rc = ccid_slot_status(r, &icc);
	if (rc) {
		printf("  slot 0: %s\n", ccid_strerror(rc));
		ccid_close(r);
		return rc;
	}
	printf("  slot 0: %s\n", icc_words(icc));
	if (power && icc != CCID_ICC_ABSENT) {
		rc = ccid_power_on(r, atr, &alen);
		if (rc) {
			printf("  power on: %s\n", ccid_strerror(rc));
		} else {
			struct atr a;
			char d[200];

			print_hex("  ATR: ", atr, alen);
			if (atr_parse(atr, alen, &a) == 0 &&
			    atr_describe(&a, d, sizeof(d)) == 0)
				printf("  ATR says: %s\n", d);
			else
				printf("  ATR malformed: %s\n", a.why ? a.why : "?");
			ccid_power_off(r);
		}
	}
	ccid_close(r);
	return rc;
}

static int card_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-power", no_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ 0 },
	};
	struct ccid_reader_info in[MAX_READERS];
	bool power = true;
	uint64_t wait = 0;
	int c, n, i, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': power = false; break;
		case 'w':
			if (parse_u64(optarg, 0, 3600000, &wait)) {
				err_msg("--wait: milliseconds");
				return BX_USAGE;
			}
			break;
		default: card_usage(stderr); return BX_USAGE;
		}
	}
	if (wait) {
		n = ccid_wait_reader((unsigned int)wait);
		if (n && n != -ETIMEDOUT) {
			err_msg("waiting for a reader: %s", ccid_strerror(n));
			return BX_ERROR;
		}
	}
	n = ccid_list(in, MAX_READERS);
	if (n < 0) {
		err_msg("listing USB devices: %s", ccid_strerror(n));
		return BX_ERROR;
	}
	if (n == 0) {
		printf("no CCID reader found\n");
		return BX_ERROR;
	}
	for (i = 0; i < n && i < MAX_READERS; i++)
		if (show_reader((unsigned int)i, &in[i], power))
			bad = 1;
	return bad ? BX_ERROR : 0;
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	while (*s) {
		unsigned int v;

		if (*s == ' ' || *s == ':') {
			s++;
			continue;
		}
		if (n >= cap || sscanf(s, "%2x", &v) != 1 || !s[1])
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*len = n;
	return 0;
}

static int card_apdu(int argc, char **argv)
{
	struct ccid_open_opts o = { 0 };
	static uint8_t cmd[300], resp[65538];
	struct ccid_reader *r;
	struct t0_link link = { 0 };
	uint8_t atr[64];
	size_t alen = sizeof(atr);
	uint64_t idx = 0;
	int c, rc, i;

	optind = 1;
	while ((c = getopt(argc, argv, "+r:")) != -1) {
		switch (c) {
		case 'r':
			if (parse_u64(optarg, 0, MAX_READERS - 1, &idx)) {
				err_msg("-r: a reader index");
				return BX_USAGE;
			}
			break;
		default: card_usage(stderr); return BX_USAGE;
		}
	}
	if (optind >= argc) {
		card_usage(stderr);
		return BX_USAGE;
	}
	o.index = (unsigned int)idx;
	rc = ccid_open(&r, &o);
	if (rc) {
		err_msg("reader %u: %s", o.index, ccid_strerror(rc));
		return BX_ERROR;
	}
	if ((ccid_info(r)->desc.features & CCID_FEAT_LEVEL_MASK) != CCID_FEAT_TPDU)
		fprintf(stderr, "%s: note: the reader is not TPDU level; T=0 anyway\n",
			bioctl_prog);
	rc = ccid_power_on(r, atr, &alen);
	if (rc) {
		err_msg("power on: %s", ccid_strerror(rc));
		ccid_close(r);
		return BX_ERROR;
	}
	link.xfr = ccid_xfr_block;
	link.ctx = r;
	for (i = optind; i < argc && !rc; i++) {
		size_t len, rlen = sizeof(resp);

		if (unhex(argv[i], cmd, sizeof(cmd), &len)) {
			err_msg("not an APDU in hex: %s", argv[i]);
			rc = -EINVAL;
			break;
		}
		rc = t0_transmit(&link, cmd, len, resp, &rlen);
		if (rc)
			err_msg("%s: %s", argv[i], ccid_strerror(rc));
		else
			print_hex("", resp, rlen);
	}
	if (rc != -ENODEV)
		ccid_power_off(r);
	ccid_close(r);
	return rc ? BX_ERROR : 0;
}

int cmd_card(int argc, char **argv)
{
	if (argc < 2) {
		card_usage(stderr);
		return BX_USAGE;
	}
	if (!strcmp(argv[1], "info"))
		return card_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "apdu"))
		return card_apdu(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return card_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		card_usage(stdout);
		return 0;
	}
	err_msg("unknown card command '%s'", argv[1]);
	card_usage(stderr);
	return BX_USAGE;
}
