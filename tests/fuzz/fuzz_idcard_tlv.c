// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: what a chip sends before anything is verified,
 * through lib/idcard's parsers: a BER-TLV walk, EF.COM, DG1's MRZ, DG2's
 * biometric templates and the reader's template in them, and a Secure
 * Messaging response (data objects, padding, lengths) under fixed
 * session keys.  Every value returned must lie inside the input.
 */
#include <stdlib.h>
#include <string.h>

#include "idcard/idcard.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t size)
{
	return p >= buf && n <= size && p + n <= buf + size;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* The session of Doc 9303 part 11 Appendix D.3. */
	static const struct idc_sm sm0 = {
		.ks_enc = { 0x97, 0x9e, 0xc1, 0x3b, 0x1c, 0xbf, 0xe9, 0xdc,
			    0xd0, 0x1a, 0xb0, 0xfe, 0xd3, 0x07, 0xea, 0xe5 },
		.ks_mac = { 0xf1, 0xcb, 0x1f, 0x1f, 0xb5, 0xad, 0xf2, 0x08,
			    0x80, 0x6b, 0x89, 0xdc, 0x57, 0x9d, 0xc1, 0xf8 },
		.ssc = { 0x88, 0x70, 0x22, 0x12, 0x0c, 0x06, 0xc2, 0x27 },
	};
	uint8_t *buf = malloc(size ? size : 1), out[IDC_RAPDU_MAX];
	struct idc_sm sm = sm0;
	struct idc_tlv t;
	struct idc_com com;
	const uint8_t *p;
	size_t n, left;
	uint16_t sw;
	int r, k;

	if (!buf)
		abort();
	memcpy(buf, data, size);

	/* A TLV walk, at most IDC_TLV_DEPTH_MAX levels into the first child. */
	p = buf;
	left = size;
	for (k = 0; k < IDC_TLV_DEPTH_MAX && idc_tlv_get(p, left, &t) == 0; k++) {
		if (!inside(t.val, t.len, buf, size) || t.hdr + t.len > left)
			abort();
		p = t.val;
		left = t.len;
	}
	r = idc_tlv_find(buf, size, 0x5f1f, &t);
	if (r == 0 && !inside(t.val, t.len, buf, size))
		abort();

	if (idc_parse_com(buf, size, &com) == 0 &&
	    (com.lds_version[4] || (com.dg_mask & ~0x1fffeu)))
		abort();
	if (idc_parse_dg1(buf, size, &p, &n) == 0 &&
	    (!inside(p, n, buf, size) || (n != 90 && n != 88 && n != 72)))
		abort();
	if (idc_parse_dg2(buf, size, 0x0101, 0x0008, &p, &n) == 0 && !inside(p, n, buf, size))
		abort();
	if (idc_dg2_template(buf, size, &p, &n) == 0 &&
	    (!inside(p, n, buf, size) || n < 16 || n > 4096))
		abort();

	/* A protected response; a valid MAC is out of the fuzzer's reach. */
	r = idc_sm_unwrap(&sm, buf, size, out, sizeof(out), &n, &sw);
	if (r == 0 && n > sizeof(out))
		abort();
	free(buf);
	return 0;
}
