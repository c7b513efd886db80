// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Secure Messaging after BAC, ICAO Doc 9303 part 11 section 9.8: 3DES
 * encryption of command and response data (zero IV), a retail MAC over
 * SSC || the padded header || the data objects, the SSC incremented
 * before each command and each response.  Short APDUs only (the LDS files
 * are read in chunks well below 256 bytes).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "idcard/idcard.h"

void idc_sm_ssc_inc(struct idc_sm *sm)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (++sm->ssc[i])
			break;
}

/* SSC || @m (@mlen bytes), padded, MAC'd with KS_MAC. */
static int sm_mac(const struct idc_sm *sm, const uint8_t *m, size_t mlen,
		  uint8_t mac[8])
{
	uint8_t n[8 + 300];
	size_t len;
	int r;

	if (mlen > sizeof(n) - 16)
		return IDC_ERR_TOO_BIG;
	memcpy(n, sm->ssc, 8);
	memcpy(n + 8, m, mlen);
	len = idc_pad(n, 8 + mlen, sizeof(n));
	r = len ? idc_retail_mac(sm->ks_mac, n, len, mac) : IDC_ERR_TOO_BIG;
	OPENSSL_cleanse(n, sizeof(n));
	return r;
}

/* A tag and a short-form or 0x81 length at @p; returns the bytes written. */
static size_t put_hdr(uint8_t *p, uint8_t tag, size_t len)
{
	p[0] = tag;
	if (len < 0x80) {
		p[1] = (uint8_t)len;
		return 2;
	}
	p[1] = 0x81;
	p[2] = (uint8_t)len;
	return 3;
}

int idc_sm_wrap(struct idc_sm *sm, const uint8_t *capdu, size_t len,
		uint8_t *out, size_t cap, size_t *out_len)
{
	/* header block (8), DO'87' (3 + 1 + 256), DO'97' (3), DO'8E' (10) */
	uint8_t m[8 + 260 + 3 + 10], data[256 + 8];
	size_t lc = 0, mlen, dlen, n;
	int has_le = 0, r = 0;
	uint8_t le = 0;

	if (!sm || !capdu || !out || !out_len)
		return IDC_ERR_ARG;
	if (len < 4 || (capdu[0] & 0x0c))
		return IDC_ERR_ARG;	/* short APDU, CLA without SM bits */
	if (len == 5) {
		has_le = 1;
		le = capdu[4];
	} else if (len > 5) {
		lc = capdu[4];
		if (!lc || (len != 5 + lc && len != 6 + lc))
			return IDC_ERR_ARG;
		if (len == 6 + lc) {
			has_le = 1;
			le = capdu[len - 1];
		}
	}
	if (capdu[1] & 1)
		return IDC_ERR_ARG;	/* odd INS would need DO'85': never sent */
	m[0] = capdu[0] | 0x0c;
	memcpy(m + 1, capdu + 1, 3);
	idc_pad(m, 4, 8);
	mlen = 8;
	if (lc) {
		memcpy(data, capdu + 5, lc);
		dlen = idc_pad(data, lc, sizeof(data));
		n = put_hdr(m + mlen, 0x87, dlen + 1);
		m[mlen + n] = 0x01;
		r = idc_3des_cbc(sm->ks_enc, NULL, data, dlen, m + mlen + n + 1, 1);
		if (r)
			goto out;
		mlen += n + 1 + dlen;
	}
	if (has_le) {
		m[mlen++] = 0x97;
		m[mlen++] = 1;
		m[mlen++] = le;
	}
	idc_sm_ssc_inc(sm);
	r = sm_mac(sm, m, mlen, m + mlen + 2);
	if (r)
		goto out;
	m[mlen] = 0x8e;
	m[mlen + 1] = 8;
	mlen += 10;
	/* CLA' INS P1 P2 Lc' DOs 00 */
	n = mlen - 8;
	if (n > 255 || cap < 4 + 1 + n + 1) {
		r = IDC_ERR_TOO_BIG;
		goto out;
	}
	memcpy(out, m, 4);
	out[4] = (uint8_t)n;
	memcpy(out + 5, m + 8, n);
	out[5 + n] = 0;
	*out_len = 6 + n;
out:
	OPENSSL_cleanse(m, sizeof(m));
	OPENSSL_cleanse(data, sizeof(data));
	return r;
}

int idc_sm_unwrap(struct idc_sm *sm, const uint8_t *rapdu, size_t len,
		  uint8_t *out, size_t cap, size_t *out_len, uint16_t *sw)
{
	struct idc_tlv do87 = { 0 }, do99, do8e, t;
	uint8_t mac[8], plain[IDC_RAPDU_MAX];
	size_t body, off = 0, plen;
	int r;

	if (!sm || !rapdu || !out_len || !sw || (!out && cap))
		return IDC_ERR_ARG;
	*out_len = 0;
	if (len < 2)
		return IDC_ERR_TRUNCATED;
	if (len > IDC_RAPDU_MAX)
		return IDC_ERR_TOO_BIG;
	body = len - 2;
	*sw = (uint16_t)(rapdu[body] << 8 | rapdu[body + 1]);
	if (!body) {
		/* An unprotected status: only an error may come so. */
		return *sw == 0x9000 ? IDC_ERR_SM : 0;
	}
	idc_sm_ssc_inc(sm);
	r = idc_tlv_get(rapdu, body, &t);
	if (r)
		return r;
	if (t.tag == 0x87) {
		do87 = t;
		off = t.hdr + t.len;
		r = idc_tlv_get(rapdu + off, body - off, &t);
		if (r)
			return r;
	}
	if (t.tag != 0x99 || t.len != 2)
		return IDC_ERR_SM;
	do99 = t;
	off += t.hdr + t.len;
	r = idc_tlv_get(rapdu + off, body - off, &do8e);
	if (r)
		return r;
	if (do8e.tag != 0x8e || do8e.len != 8 || off + do8e.hdr + 8 != body)
		return IDC_ERR_SM;
	r = sm_mac(sm, rapdu, off, mac);
	if (r)
		return r;
	r = CRYPTO_memcmp(mac, do8e.val, 8) ? IDC_ERR_SM_MAC : 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	if (r)
		return r;
	if ((uint16_t)(do99.val[0] << 8 | do99.val[1]) != *sw)
		return IDC_ERR_SM;
	if (!do87.val)
		return 0;
	/* DO'87': padding indicator 01, then whole 3DES blocks. */
	if (do87.len < 9 || do87.val[0] != 0x01 || (do87.len - 1) % 8)
		return IDC_ERR_SM;
	r = idc_3des_cbc(sm->ks_enc, NULL, do87.val + 1, do87.len - 1, plain, 0);
	if (!r)
		r = idc_unpad(plain, do87.len - 1, &plen);
	if (!r && plen > cap)
		r = IDC_ERR_TOO_BIG;
	if (!r) {
		memcpy(out, plain, plen);
		*out_len = plen;
	}
	OPENSSL_cleanse(plain, sizeof(plain));
	return r;
}
