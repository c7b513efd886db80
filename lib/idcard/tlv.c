// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * BER-TLV as the LDS uses it (ISO/IEC 7816-4 interindustry tags, ICAO
 * Doc 9303 part 10): EF.COM, DG1's MRZ, DG2's biometric templates, and
 * the template of the reader inside DG2.
 *
 * Every length is checked against what remains of its parent before
 * anything is read; nesting is followed by fixed code (no recursion), at
 * most IDC_TLV_DEPTH_MAX deep.  Values point into the caller's buffer.
 */
#include <string.h>

#include <linux/bioreader.h>

#include "idcard/idcard.h"

int idc_tlv_get(const uint8_t *buf, size_t len, struct idc_tlv *t)
{
	size_t i = 0, n, k;
	uint32_t tag;

	if (!buf || !t)
		return IDC_ERR_ARG;
	if (len < 2)
		return IDC_ERR_TRUNCATED;
	tag = buf[i++];
	if (tag == 0x00 || tag == 0xff)
		return IDC_ERR_MALFORMED;	/* padding, not a tag */
	if ((tag & 0x1f) == 0x1f) {
		/* Subsequent tag bytes: bit 8 set = more follow; 3 bytes at most. */
		do {
			if (i >= len)
				return IDC_ERR_TRUNCATED;
			if (i >= 3)
				return IDC_ERR_MALFORMED;
			tag = (tag << 8) | buf[i];
		} while (buf[i++] & 0x80);
	}
	if (i >= len)
		return IDC_ERR_TRUNCATED;
	n = buf[i++];
	if (n == 0x80)
		return IDC_ERR_MALFORMED;	/* indefinite length: not in the LDS */
	if (n > 0x80) {
		k = n & 0x7f;
		if (k > 3)
			return IDC_ERR_MALFORMED;
		if (len - i < k)
			return IDC_ERR_TRUNCATED;
		for (n = 0; k; k--)
			n = (n << 8) | buf[i++];
	}
	if (n > len - i)
		return IDC_ERR_TRUNCATED;
	t->tag = tag;
	t->val = buf + i;
	t->len = n;
	t->hdr = i;
	return 0;
}

int idc_tlv_find(const uint8_t *buf, size_t len, uint32_t tag,
		 struct idc_tlv *t)
{
	struct idc_tlv cur;
	int found = 0, r;

	if (!buf && len)
		return IDC_ERR_ARG;
	while (len) {
		r = idc_tlv_get(buf, len, &cur);
		if (r)
			return r;
		if (cur.tag == tag && !found) {
			*t = cur;
			found = 1;
		}
		buf += cur.hdr + cur.len;
		len -= cur.hdr + cur.len;
	}
	return found ? 0 : IDC_ERR_NOT_FOUND;
}

int idc_tlv_file(const uint8_t *buf, size_t len, uint32_t tag,
		 struct idc_tlv *t)
{
	int r;

	if (len > IDC_FILE_MAX)
		return IDC_ERR_TOO_BIG;
	r = idc_tlv_get(buf, len, t);
	if (r)
		return r;
	if (t->tag != tag)
		return IDC_ERR_MALFORMED;
	if (t->hdr + t->len != len)
		return IDC_ERR_MALFORMED;	/* trailing bytes */
	return 0;
}

/* EF.COM: 60 { 5F01 LDS version "0107", 5F36 Unicode version, 5C tag list }. */
int idc_parse_com(const uint8_t *buf, size_t len, struct idc_com *com)
{
	static const uint8_t dg_tags[16] = {
		0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68,
		0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
	};
	struct idc_tlv f, v, l;
	size_t i, j;
	int r;

	if (!com)
		return IDC_ERR_ARG;
	memset(com, 0, sizeof(*com));
	r = idc_tlv_file(buf, len, 0x60, &f);
	if (r)
		return r;
	r = idc_tlv_find(f.val, f.len, 0x5f01, &v);
	if (r)
		return r == IDC_ERR_NOT_FOUND ? IDC_ERR_MALFORMED : r;
	if (v.len != 4)
		return IDC_ERR_MALFORMED;
	for (i = 0; i < 4; i++) {
		if (v.val[i] < '0' || v.val[i] > '9')
			return IDC_ERR_MALFORMED;
		com->lds_version[i] = (char)v.val[i];
	}
	r = idc_tlv_find(f.val, f.len, 0x5c, &l);
	if (r)
		return r == IDC_ERR_NOT_FOUND ? IDC_ERR_MALFORMED : r;
	for (i = 0; i < l.len; i++) {
		for (j = 0; j < 16; j++)
			if (l.val[i] == dg_tags[j])
				break;
		if (j == 16)
			continue;	/* tags of other applications: ignored */
		com->dg_mask |= 1u << (j + 1);
	}
	return 0;
}

int idc_parse_dg1(const uint8_t *buf, size_t len, const uint8_t **mrz,
		  size_t *mrz_len)
{
	struct idc_tlv f, m;
	size_t i;
	int r;

	if (!mrz || !mrz_len)
		return IDC_ERR_ARG;
	r = idc_tlv_file(buf, len, 0x61, &f);
	if (r)
		return r;
	r = idc_tlv_find(f.val, f.len, 0x5f1f, &m);
	if (r)
		return r == IDC_ERR_NOT_FOUND ? IDC_ERR_MALFORMED : r;
	if (m.len != 90 && m.len != 72 && m.len != 88)
		return IDC_ERR_MALFORMED;
	for (i = 0; i < m.len; i++) {
		uint8_t c = m.val[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '<'))
			return IDC_ERR_MALFORMED;
	}
	*mrz = m.val;
	*mrz_len = m.len;
	return 0;
}

/* A biometric header template's format owner (87) or type (88): 2 bytes. */
static int bht_u16(const struct idc_tlv *bht, uint32_t tag, uint16_t *out)
{
	struct idc_tlv v;
	int r = idc_tlv_find(bht->val, bht->len, tag, &v);

	if (r)
		return r == IDC_ERR_NOT_FOUND ? IDC_ERR_MALFORMED : r;
	if (v.len != 2)
		return IDC_ERR_MALFORMED;
	*out = (uint16_t)(v.val[0] << 8 | v.val[1]);
	return 0;
}

/*
 * DG2: 75 { 7F61 { 02 count, 7F60 { A1 { ... 87 owner, 88 type },
 * 5F2E or 7F2E data } ... } }.  Every template is checked, also those
 * after the one returned: the whole group must be well formed.
 */
int idc_parse_dg2(const uint8_t *buf, size_t len, uint16_t owner,
		  uint16_t type, const uint8_t **bdb, size_t *bdb_len)
{
	struct idc_tlv f, grp, cnt, bit, bht, data;
	const uint8_t *p;
	size_t left;
	unsigned int count, seen = 0;
	int r, found = 0;

	if (!bdb || !bdb_len)
		return IDC_ERR_ARG;
	r = idc_tlv_file(buf, len, 0x75, &f);
	if (r)
		return r;
	r = idc_tlv_get(f.val, f.len, &grp);
	if (r)
		return r;
	if (grp.tag != 0x7f61 || grp.hdr + grp.len != f.len)
		return IDC_ERR_MALFORMED;
	r = idc_tlv_get(grp.val, grp.len, &cnt);
	if (r)
		return r;
	if (cnt.tag != 0x02 || cnt.len != 1)
		return IDC_ERR_MALFORMED;
	count = cnt.val[0];
	if (count < 1 || count > IDC_DG2_BIT_MAX)
		return IDC_ERR_MALFORMED;
	p = grp.val + cnt.hdr + cnt.len;
	left = grp.len - cnt.hdr - cnt.len;
	while (left) {
		uint16_t o, t;

		r = idc_tlv_get(p, left, &bit);
		if (r)
			return r;
		if (bit.tag != 0x7f60 || ++seen > count)
			return IDC_ERR_MALFORMED;
		/* 7F60 { A1 header, then the data block }, nothing else. */
		r = idc_tlv_get(bit.val, bit.len, &bht);
		if (r)
			return r;
		if (bht.tag != 0xa1)
			return IDC_ERR_MALFORMED;
		if (bit.len == bht.hdr + bht.len)
			return IDC_ERR_MALFORMED;	/* no data block */
		r = idc_tlv_get(bit.val + bht.hdr + bht.len,
				bit.len - bht.hdr - bht.len, &data);
		if (r)
			return r;
		if ((data.tag != 0x5f2e && data.tag != 0x7f2e) ||
		    bht.hdr + bht.len + data.hdr + data.len != bit.len)
			return IDC_ERR_MALFORMED;
		r = bht_u16(&bht, 0x87, &o);
		if (!r)
			r = bht_u16(&bht, 0x88, &t);
		if (r)
			return r;
		if (!found && o == owner && t == type && data.tag == 0x5f2e) {
			*bdb = data.val;
			*bdb_len = data.len;
			found = 1;
		}
		p += bit.hdr + bit.len;
		left -= bit.hdr + bit.len;
	}
	if (seen != count)
		return IDC_ERR_MALFORMED;
	return found ? 0 : IDC_ERR_NO_TEMPLATE;
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int idc_dg2_template(const uint8_t *dg2, size_t len, const uint8_t **tpl,
		     size_t *tpl_len)
{
	const uint8_t *b;
	size_t n, i;
	uint32_t magic;
	int r;

	if (!tpl || !tpl_len)
		return IDC_ERR_ARG;
	r = idc_parse_dg2(dg2, len, IDC_CBEFF_OWNER_BIOREADER,
			  IDC_CBEFF_TYPE_BIOREADER_TPL, &b, &n);
	if (r)
		return r;
	/* The header of docs/uapi.md; the driver checks the rest. */
	if (n < BIOREADER_TEMPLATE_HDR_SIZE || n > BIOREADER_TEMPLATE_MAX)
		return IDC_ERR_NO_TEMPLATE;
	magic = (uint32_t)get_le16(b) | (uint32_t)get_le16(b + 2) << 16;
	if (magic != BIOREADER_TEMPLATE_MAGIC ||
	    get_le16(b + 4) != BIOREADER_TEMPLATE_VERSION ||
	    b[8] != BIOREADER_TEMPLATE_FMT_INT8_L2 ||
	    (size_t)get_le16(b + 6) + BIOREADER_TEMPLATE_HDR_SIZE != n)
		return IDC_ERR_NO_TEMPLATE;
	for (i = 9; i < BIOREADER_TEMPLATE_HDR_SIZE; i++)
		if (b[i])
			return IDC_ERR_NO_TEMPLATE;
	*tpl = b;
	*tpl_len = n;
	return 0;
}
