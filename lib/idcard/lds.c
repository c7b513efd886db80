// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Reading an eMRTD-style document (ICAO Doc 9303 parts 10 and 11) over
 * an abstract transport: a state machine
 *
 *	SELECT_APP -> GET_CHALLENGE -> EXT_AUTH
 *	  -> (SELECT_FILE -> READ_FILE) for EF.COM, EF.SOD, DG1, DG2 -> DONE
 *
 * The files are read under Secure Messaging, first their TLV header (4
 * bytes), then the rest in chunks; a chip may answer a chunk with fewer
 * bytes than asked, and the read carries on from there.  Every status
 * word, length and data object from the chip is checked before use; any
 * failure ends the read, wipes everything read so far and returns a
 * distinct error.  The transport (CCID, or a card model in tests) only
 * moves APDUs.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "idcard/idcard.h"

#define READ_CHUNK	0xdf	/* data bytes per READ BINARY */
#define READ_MAX	0x7fff	/* P1 P2 offsets: 15 bits */
#define HEAD_LEN	4	/* tag + 0x82 LL LL */

static const struct {
	uint16_t fid;
	uint8_t tag;
	int dg;
} efs[IDC_EF_COUNT] = {
	[IDC_EF_COM] = { 0x011e, 0x60, 0 },
	[IDC_EF_SOD] = { 0x011d, 0x77, 0 },
	[IDC_EF_DG1] = { 0x0101, 0x61, 1 },
	[IDC_EF_DG2] = { 0x0102, 0x75, 2 },
};

uint16_t idc_ef_fid(int ef)
{
	return ef >= 0 && ef < IDC_EF_COUNT ? efs[ef].fid : 0;
}

int idc_ef_dg(int ef)
{
	return ef >= 0 && ef < IDC_EF_COUNT ? efs[ef].dg : -1;
}

const char *idc_step_name(enum idc_step s)
{
	switch (s) {
	case IDC_STEP_SELECT_APP:	return "select application";
	case IDC_STEP_GET_CHALLENGE:	return "get challenge";
	case IDC_STEP_EXT_AUTH:		return "external authenticate";
	case IDC_STEP_SELECT_FILE:	return "select file";
	case IDC_STEP_READ_FILE:	return "read file";
	case IDC_STEP_DONE:		return "done";
	}
	return "?";
}

struct reader {
	idc_transmit_fn tx;
	void *ctx;
	struct idc_sm sm;
	struct idc_read_info *info;
	uint8_t rapdu[IDC_RAPDU_MAX];
	size_t rlen;
};

static int sw_error(uint16_t sw)
{
	switch (sw) {
	case 0x9000:
		return 0;
	case 0x6982:
		return IDC_ERR_SECURITY;
	case 0x6a82:
		return IDC_ERR_NOT_FOUND;
	case 0x6987:
	case 0x6988:
		return IDC_ERR_SM_CARD;
	}
	return IDC_ERR_STATUS;
}

/* One exchange; the response is in rd->rapdu/rlen, at least SW1 SW2. */
static int xmit(struct reader *rd, const uint8_t *c, size_t clen)
{
	size_t n = sizeof(rd->rapdu);
	int r;

	rd->info->apdus++;
	r = rd->tx(rd->ctx, c, clen, rd->rapdu, &n);
	if (r || n > sizeof(rd->rapdu))
		return IDC_ERR_TRANSPORT;
	if (n < 2)
		return IDC_ERR_TRUNCATED;
	rd->rlen = n;
	rd->info->sw = (uint16_t)(rd->rapdu[n - 2] << 8 | rd->rapdu[n - 1]);
	return 0;
}

/* A command in the clear (before BAC); its data into @out. */
static int plain_cmd(struct reader *rd, const uint8_t *c, size_t clen,
		     uint8_t *out, size_t cap, size_t *out_len)
{
	int r = xmit(rd, c, clen);

	if (r)
		return r;
	r = sw_error(rd->info->sw);
	if (r)
		return r;
	if (rd->rlen - 2 > cap)
		return IDC_ERR_MALFORMED;
	if (rd->rlen > 2)
		memcpy(out, rd->rapdu, rd->rlen - 2);
	*out_len = rd->rlen - 2;
	return 0;
}

/* A command under Secure Messaging; its plain response data into @out. */
static int sm_cmd(struct reader *rd, const uint8_t *c, size_t clen,
		  uint8_t *out, size_t cap, size_t *out_len, uint16_t *sw)
{
	uint8_t p[IDC_APDU_MAX];
	size_t plen;
	int r;

	r = idc_sm_wrap(&rd->sm, c, clen, p, sizeof(p), &plen);
	if (!r)
		r = xmit(rd, p, plen);
	OPENSSL_cleanse(p, sizeof(p));
	if (r)
		return r;
	r = idc_sm_unwrap(&rd->sm, rd->rapdu, rd->rlen, out, cap, out_len, sw);
	OPENSSL_cleanse(rd->rapdu, sizeof(rd->rapdu));
	return r;
}

static int do_bac(struct reader *rd, const char mrz_info[IDC_MRZ_INFO_LEN])
{
	static const uint8_t get_challenge[] = { 0x00, 0x84, 0x00, 0x00, 0x08 };
	uint8_t c[5 + IDC_BAC_AUTH_LEN + 1], resp[IDC_BAC_AUTH_LEN];
	struct idc_bac b;
	size_t n;
	int r;

	memset(&b, 0, sizeof(b));
	rd->info->step = IDC_STEP_GET_CHALLENGE;
	r = plain_cmd(rd, get_challenge, sizeof(get_challenge), b.rnd_ic,
		      sizeof(b.rnd_ic), &n);
	if (!r && n != 8)
		r = IDC_ERR_MALFORMED;
	if (r)
		goto out;
	rd->info->step = IDC_STEP_EXT_AUTH;
	r = idc_bac_keys(&b, mrz_info);
	if (r)
		goto out;
	if (RAND_bytes(b.rnd_ifd, 8) != 1 || RAND_priv_bytes(b.k_ifd, 16) != 1) {
		r = IDC_ERR_CRYPTO;
		goto out;
	}
	c[0] = 0x00;
	c[1] = 0x82;
	c[2] = 0x00;
	c[3] = 0x00;
	c[4] = IDC_BAC_AUTH_LEN;
	r = idc_bac_auth_data(&b, c + 5);
	if (r)
		goto out;
	c[5 + IDC_BAC_AUTH_LEN] = IDC_BAC_AUTH_LEN;
	r = plain_cmd(rd, c, sizeof(c), resp, sizeof(resp), &n);
	if (r == IDC_ERR_STATUS || r == IDC_ERR_SECURITY)
		r = IDC_ERR_BAC;	/* 6300 / 6982: the chip refused our keys */
	if (!r)
		r = idc_bac_finish(&b, resp, n, &rd->sm);
out:
	OPENSSL_cleanse(&b, sizeof(b));
	OPENSSL_cleanse(c, sizeof(c));
	OPENSSL_cleanse(resp, sizeof(resp));
	OPENSSL_cleanse(rd->rapdu, sizeof(rd->rapdu));
	return r;
}

/* The total length of a file from its first bytes: tag @tag, then a BER length. */
static int file_length(const uint8_t *h, size_t n, uint8_t tag, size_t *total)
{
	size_t len, k, i;

	if (n < 2)
		return IDC_ERR_TRUNCATED;
	if (h[0] != tag)
		return IDC_ERR_MALFORMED;
	len = h[1];
	i = 2;
	if (len == 0x80 || len > 0x82)
		return IDC_ERR_MALFORMED;	/* indefinite, or > 64 KiB */
	if (len > 0x80) {
		k = len & 0x7f;
		if (n < 2 + k)
			return IDC_ERR_TRUNCATED;
		for (len = 0; k; k--)
			len = len << 8 | h[i++];
	}
	*total = i + len;
	return 0;
}

/* READ BINARY of up to @want bytes at @off into @out; *got > 0 on success. */
static int read_chunk(struct reader *rd, size_t off, size_t want, uint8_t *out,
		      size_t *got)
{
	uint8_t c[5] = { 0x00, 0xb0, (uint8_t)(off >> 8), (uint8_t)off,
			 (uint8_t)want };
	uint16_t sw = 0;
	int r;

	r = sm_cmd(rd, c, sizeof(c), out, want, got, &sw);
	if (r == IDC_ERR_TOO_BIG)
		return IDC_ERR_MALFORMED;	/* more than asked for */
	if (r)
		return r;
	/* 6282: end of file before Le bytes; 6B00: offset past the end. */
	if (sw == 0x6282 && *got)
		return 0;
	if (sw == 0x6b00 || (sw == 0x6282 && !*got))
		return IDC_ERR_TRUNCATED;
	r = sw_error(sw);
	if (!r && !*got)
		r = IDC_ERR_TRUNCATED;
	return r;
}

static int read_file(struct reader *rd, int ef, struct idc_file *f)
{
	uint8_t c[7] = { 0x00, 0xa4, 0x02, 0x0c, 0x02,
			 (uint8_t)(efs[ef].fid >> 8), (uint8_t)efs[ef].fid };
	uint8_t head[HEAD_LEN];
	size_t total, n = 0, got;
	uint16_t sw = 0;
	struct idc_tlv t;
	int r;

	rd->info->ef = ef;
	rd->info->step = IDC_STEP_SELECT_FILE;
	r = sm_cmd(rd, c, sizeof(c), NULL, 0, &got, &sw);
	if (r == IDC_ERR_TOO_BIG)
		r = IDC_ERR_MALFORMED;	/* data in a SELECT without Le */
	if (!r)
		r = sw_error(sw);
	if (r)
		return r;
	rd->info->step = IDC_STEP_READ_FILE;
	/* The header: up to 4 bytes, fewer for a tiny file. */
	while (n < HEAD_LEN) {
		r = read_chunk(rd, n, HEAD_LEN - n, head + n, &got);
		if (r == IDC_ERR_TRUNCATED && n >= 2)
			break;	/* a file shorter than 4 bytes */
		if (r)
			goto out;
		n += got;
	}
	r = file_length(head, n, efs[ef].tag, &total);
	if (r)
		goto out;
	if (total > READ_MAX || (ef == IDC_EF_SOD && total > IDC_SOD_MAX)) {
		r = IDC_ERR_TOO_BIG;
		goto out;
	}
	if (total < n) {
		r = IDC_ERR_MALFORMED;
		goto out;
	}
	f->data = OPENSSL_malloc(total);
	if (!f->data) {
		r = IDC_ERR_NOMEM;
		goto out;
	}
	f->len = total;
	memcpy(f->data, head, n);
	while (n < total) {
		size_t want = total - n < READ_CHUNK ? total - n : READ_CHUNK;

		r = read_chunk(rd, n, want, f->data + n, &got);
		if (r)
			goto out;
		n += got;
	}
	r = idc_tlv_file(f->data, f->len, efs[ef].tag, &t);
out:
	OPENSSL_cleanse(head, sizeof(head));
	return r;
}

void idc_doc_wipe(struct idc_doc *doc)
{
	int i;

	if (!doc)
		return;
	for (i = 0; i < IDC_EF_COUNT; i++) {
		if (doc->ef[i].data)
			OPENSSL_clear_free(doc->ef[i].data, doc->ef[i].len);
		doc->ef[i].data = NULL;
		doc->ef[i].len = 0;
	}
}

int idc_read_document(idc_transmit_fn tx, void *ctx,
		      const char mrz_info[IDC_MRZ_INFO_LEN],
		      struct idc_doc *doc, struct idc_read_info *info)
{
	static const uint8_t select_app[] = {
		0x00, 0xa4, 0x04, 0x0c, 0x07,
		0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01,
	};
	struct idc_read_info dummy;
	struct reader rd;
	struct idc_com com;
	size_t n;
	int r, ef;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	info->ef = -1;
	if (!tx || !mrz_info || !doc)
		return IDC_ERR_ARG;
	memset(doc, 0, sizeof(*doc));
	memset(&rd, 0, sizeof(rd));
	rd.tx = tx;
	rd.ctx = ctx;
	rd.info = info;

	info->step = IDC_STEP_SELECT_APP;
	r = plain_cmd(&rd, select_app, sizeof(select_app), NULL, 0, &n);
	if (r == IDC_ERR_MALFORMED)
		r = IDC_ERR_STATUS;
	if (!r)
		r = do_bac(&rd, mrz_info);
	for (ef = 0; !r && ef < IDC_EF_COUNT; ef++) {
		r = read_file(&rd, ef, &doc->ef[ef]);
		if (!r && ef == IDC_EF_COM) {
			/* The chip must list the groups read (and PA covers). */
			r = idc_parse_com(doc->ef[ef].data, doc->ef[ef].len, &com);
			if (!r && (com.dg_mask & 0x6) != 0x6)
				r = IDC_ERR_NOT_FOUND;
		}
	}
	if (!r) {
		info->step = IDC_STEP_DONE;
		info->ef = -1;
	} else {
		idc_doc_wipe(doc);
	}
	OPENSSL_cleanse(&rd, sizeof(rd));
	return r;
}
