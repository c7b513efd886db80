// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The MRZ (ICAO Doc 9303 parts 4-6) as printed on the document and held
 * in DG1: the BAC key (the MRZ information) out of the whole zone, for a
 * kiosk that OCRs the card, and to check that the chip's DG1 is the
 * document whose printed MRZ opened it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "idcard/idcard.h"

/*
 * Where the three key fields sit in each format (0-based offsets in the
 * lines concatenated without line breaks): document number (9) and its
 * check digit, birth date (6) and check digit, expiry date (6) and check
 * digit.  TD1 (ID-1 cards, 3 x 30): number in line 1, dates in line 2.
 * TD2 (2 x 36) and TD3 (passports, 2 x 44): all three in line 2.
 */
struct mrz_layout {
	size_t len;
	size_t doc, birth, expiry;
};

static const struct mrz_layout mrz_layouts[] = {
	{ 90, 5, 30, 38 },		/* TD1 */
	{ 72, 36, 49, 57 },		/* TD2 */
	{ 88, 44, 57, 65 },		/* TD3 */
};

static int mrz_char_ok(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '<';
}

int idc_mrz_info_from_mrz(const char *mrz, size_t len,
			  char out[IDC_MRZ_INFO_LEN])
{
	const struct mrz_layout *l = NULL;
	char doc[10];
	struct idc_mrz_key k;
	char birth[7], expiry[7];
	size_t i, n;
	int r;

	if (!mrz || !out)
		return IDC_ERR_ARG;
	for (i = 0; i < sizeof(mrz_layouts) / sizeof(mrz_layouts[0]); i++)
		if (mrz_layouts[i].len == len)
			l = &mrz_layouts[i];
	if (!l)
		return IDC_ERR_MRZ;
	for (i = 0; i < len; i++)
		if (!mrz_char_ok(mrz[i]))
			return IDC_ERR_MRZ;
	/*
	 * A number of more than 9 characters has '<' as its check digit and
	 * continues in the optional data: not supported (idc_mrz_info).
	 */
	if (mrz[l->doc + 9] == '<')
		return IDC_ERR_MRZ;
	memcpy(doc, mrz + l->doc, 9);
	for (n = 9; n > 0 && doc[n - 1] == '<'; n--)
		;
	doc[n] = 0;
	memcpy(birth, mrz + l->birth, 6);
	birth[6] = 0;
	memcpy(expiry, mrz + l->expiry, 6);
	expiry[6] = 0;
	k.doc_number = doc;
	k.doc_cd = mrz[l->doc + 9];
	k.birth = birth;
	k.birth_cd = mrz[l->birth + 6];
	k.expiry = expiry;
	k.expiry_cd = mrz[l->expiry + 6];
	/* idc_mrz_info checks the characters, the dates and every check digit. */
	r = idc_mrz_info(&k, out);
	OPENSSL_cleanse(doc, sizeof(doc));
	OPENSSL_cleanse(birth, sizeof(birth));
	OPENSSL_cleanse(expiry, sizeof(expiry));
	return r;
}

int idc_mrz_info_equal(const char a[IDC_MRZ_INFO_LEN],
		       const char b[IDC_MRZ_INFO_LEN])
{
	return CRYPTO_memcmp(a, b, IDC_MRZ_INFO_LEN) == 0;
}

int idc_mrz_info_parse(const char *text, size_t len,
		       char out[IDC_MRZ_INFO_LEN])
{
	char z[91], doc[10], birth[7], expiry[7];
	struct idc_mrz_key k;
	size_t i, n = 0;
	int r;

	if (!text || !out)
		return IDC_ERR_ARG;
	for (i = 0; i < len; i++) {
		if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' ||
		    text[i] == '\r')
			continue;
		if (n == sizeof(z) - 1) {
			OPENSSL_cleanse(z, sizeof(z));
			return IDC_ERR_MRZ;
		}
		z[n++] = text[i];
	}
	if (n != IDC_MRZ_INFO_LEN) {
		r = idc_mrz_info_from_mrz(z, n, out);
		OPENSSL_cleanse(z, sizeof(z));
		return r;
	}
	/* Number (9, '<'-padded) + check digit, birth + cd, expiry + cd. */
	for (i = 0; i < n; i++)
		if (!mrz_char_ok(z[i]))
			break;
	r = IDC_ERR_MRZ;
	if (i == n && z[9] != '<') {
		memcpy(doc, z, 9);
		for (i = 9; i > 0 && doc[i - 1] == '<'; i--)
			;
		doc[i] = 0;
		memcpy(birth, z + 10, 6);
		birth[6] = 0;
		memcpy(expiry, z + 17, 6);
		expiry[6] = 0;
		k.doc_number = doc;
		k.doc_cd = z[9];
		k.birth = birth;
		k.birth_cd = z[16];
		k.expiry = expiry;
		k.expiry_cd = z[23];
		r = idc_mrz_info(&k, out);
	}
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(doc, sizeof(doc));
	OPENSSL_cleanse(birth, sizeof(birth));
	OPENSSL_cleanse(expiry, sizeof(expiry));
	return r;
}

int idc_mrz_info_read(FILE *f, char out[IDC_MRZ_INFO_LEN])
{
	char buf[256];
	size_t n;
	int r;

	if (!f || !out)
		return IDC_ERR_ARG;
	n = fread(buf, 1, sizeof(buf), f);
	/* A whole MRZ with line breaks is under 100 bytes: more is not one. */
	r = n < sizeof(buf) ? idc_mrz_info_parse(buf, n, out) : IDC_ERR_MRZ;
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}
