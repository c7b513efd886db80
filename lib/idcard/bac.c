// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Basic Access Control, ICAO Doc 9303 part 11 section 4.3 (and its
 * worked example, Appendix D): the MRZ information and its check digits,
 * K_seed, the 3DES key derivation, 3DES-CBC and the retail MAC, and the
 * terminal's side of the mutual authentication.
 *
 * The retail MAC (ISO/IEC 9797-1 MAC algorithm 3) is single DES in CBC
 * mode under Ka with a final D_Kb, E_Ka on the last block.  OpenSSL 3
 * keeps single DES in its legacy provider only; rather than load that
 * provider (process-wide state, and a module that may be absent on an
 * appliance), single DES is computed as two-key 3DES with both keys Ka
 * (E_Ka D_Ka E_Ka = E_Ka), and the final block as two-key 3DES (Ka, Kb)
 * chained on the previous block: E_Ka(D_Kb(E_Ka(x ^ h))).  Only the
 * default provider's DES-EDE-CBC is used.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "idcard/idcard.h"

static int mrz_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c == '<')
		return 0;
	return -1;
}

int idc_mrz_check_digit(const char *s, size_t n)
{
	static const int w[3] = { 7, 3, 1 };
	int sum = 0, v;
	size_t i;

	if (!s)
		return IDC_ERR_ARG;
	for (i = 0; i < n; i++) {
		v = mrz_value(s[i]);
		if (v < 0)
			return IDC_ERR_MRZ;
		sum += v * w[i % 3];
	}
	return sum % 10;
}

/* @n characters of @s then their check digit (given, or computed) at @out. */
static int mrz_field(const char *s, size_t n, char cd, char *out)
{
	int d = idc_mrz_check_digit(s, n);

	if (d < 0)
		return d;
	if (cd && cd != '0' + d)
		return IDC_ERR_MRZ;
	memcpy(out, s, n);
	out[n] = (char)('0' + d);
	return 0;
}

static int is_date(const char *s)
{
	int i;

	if (!s || strnlen(s, 7) != 6)
		return 0;
	for (i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	/* YYMMDD: month 01..12, day 01..31. */
	return (s[2] - '0') * 10 + (s[3] - '0') >= 1 &&
	       (s[2] - '0') * 10 + (s[3] - '0') <= 12 &&
	       (s[4] - '0') * 10 + (s[5] - '0') >= 1 &&
	       (s[4] - '0') * 10 + (s[5] - '0') <= 31;
}

int idc_mrz_info(const struct idc_mrz_key *k, char out[IDC_MRZ_INFO_LEN])
{
	char doc[9];
	size_t n;
	int r;

	if (!k || !out || !k->doc_number)
		return IDC_ERR_ARG;
	/* Numbers of more than 9 characters continue in the optional data: not supported. */
	n = strnlen(k->doc_number, 10);
	if (n < 1 || n > 9 || !is_date(k->birth) || !is_date(k->expiry))
		return IDC_ERR_MRZ;
	memset(doc, '<', sizeof(doc));
	memcpy(doc, k->doc_number, n);
	r = mrz_field(doc, 9, k->doc_cd, out);
	if (!r)
		r = mrz_field(k->birth, 6, k->birth_cd, out + 10);
	if (!r)
		r = mrz_field(k->expiry, 6, k->expiry_cd, out + 17);
	OPENSSL_cleanse(doc, sizeof(doc));
	if (r)
		OPENSSL_cleanse(out, IDC_MRZ_INFO_LEN);
	return r;
}

static int sha1(const void *a, size_t alen, const void *b, size_t blen,
		uint8_t md[20])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	if (!c)
		return IDC_ERR_NOMEM;
	ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) &&
	     EVP_DigestUpdate(c, a, alen) &&
	     (!blen || EVP_DigestUpdate(c, b, blen)) &&
	     EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	return ok ? 0 : IDC_ERR_CRYPTO;
}

int idc_bac_kseed(const char *mrz_info, size_t len, uint8_t kseed[16])
{
	uint8_t md[20];
	int r;

	if (!mrz_info || !kseed)
		return IDC_ERR_ARG;
	r = sha1(mrz_info, len, NULL, 0, md);
	if (!r)
		memcpy(kseed, md, 16);
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

void idc_des_parity(uint8_t *key, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t b = key[i] & 0xfe;

		/* Odd parity: bit 0 set when bits 1..7 hold an even number of ones. */
		key[i] = b | !(__builtin_popcount(b) & 1);
	}
}

int idc_kdf_3des(const uint8_t seed[16], uint32_t counter, uint8_t key[16])
{
	uint8_t c[4] = { counter >> 24, counter >> 16, counter >> 8, counter };
	uint8_t md[20];
	int r;

	if (!seed || !key)
		return IDC_ERR_ARG;
	r = sha1(seed, 16, c, sizeof(c), md);
	if (!r) {
		memcpy(key, md, 16);
		idc_des_parity(key, 16);
	}
	OPENSSL_cleanse(md, sizeof(md));
	return r;
}

int idc_3des_cbc(const uint8_t key[16], const uint8_t *iv, const uint8_t *in,
		 size_t len, uint8_t *out, int enc)
{
	static const uint8_t zero[8];
	EVP_CIPHER_CTX *c;
	int ok, n1 = 0, n2 = 0;

	if (!key || (!in && len) || (!out && len) || len % 8 || len > INT32_MAX)
		return IDC_ERR_ARG;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return IDC_ERR_NOMEM;
	ok = EVP_CipherInit_ex(c, EVP_des_ede_cbc(), NULL, key, iv ? iv : zero, !!enc) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) &&
	     EVP_CipherUpdate(c, out, &n1, in, (int)len) &&
	     EVP_CipherFinal_ex(c, out + n1, &n2) &&
	     (size_t)(n1 + n2) == len;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : IDC_ERR_CRYPTO;
}

size_t idc_pad(uint8_t *buf, size_t len, size_t cap)
{
	size_t n = (len / 8 + 1) * 8;

	if (!buf || n > cap || n < len)
		return 0;
	buf[len] = 0x80;
	memset(buf + len + 1, 0, n - len - 1);
	return n;
}

int idc_unpad(const uint8_t *buf, size_t len, size_t *out_len)
{
	size_t i;

	if (!buf || !out_len || !len || len % 8)
		return IDC_ERR_SM;
	/* At most 8 bytes of padding: 0x80 then zeros. */
	for (i = len; i > 0 && len - i < 8; i--) {
		if (buf[i - 1] == 0x80) {
			*out_len = i - 1;
			return 0;
		}
		if (buf[i - 1] != 0)
			return IDC_ERR_SM;
	}
	return IDC_ERR_SM;
}

int idc_retail_mac(const uint8_t key[16], const uint8_t *msg, size_t len,
		   uint8_t mac[8])
{
	uint8_t kaka[16], h[8] = { 0 }, *tmp = NULL;
	int r = 0;

	if (!key || !msg || !mac || !len || len % 8)
		return IDC_ERR_ARG;
	if (len > 8) {
		/* Single DES-CBC under Ka over all blocks but the last. */
		tmp = OPENSSL_malloc(len - 8);
		if (!tmp)
			return IDC_ERR_NOMEM;
		memcpy(kaka, key, 8);
		memcpy(kaka + 8, key, 8);
		r = idc_3des_cbc(kaka, NULL, msg, len - 8, tmp, 1);
		if (!r)
			memcpy(h, tmp + len - 16, 8);
		OPENSSL_clear_free(tmp, len - 8);
		OPENSSL_cleanse(kaka, sizeof(kaka));
	}
	/* The last block: E_Ka(D_Kb(E_Ka(x ^ h))), two-key 3DES chained on h. */
	if (!r)
		r = idc_3des_cbc(key, h, msg + len - 8, 8, mac, 1);
	OPENSSL_cleanse(h, sizeof(h));
	return r;
}

int idc_bac_keys(struct idc_bac *b, const char mrz_info[IDC_MRZ_INFO_LEN])
{
	uint8_t seed[16];
	int r;

	if (!b || !mrz_info)
		return IDC_ERR_ARG;
	r = idc_bac_kseed(mrz_info, IDC_MRZ_INFO_LEN, seed);
	if (!r)
		r = idc_kdf_3des(seed, IDC_KDF_ENC, b->k_enc);
	if (!r)
		r = idc_kdf_3des(seed, IDC_KDF_MAC, b->k_mac);
	OPENSSL_cleanse(seed, sizeof(seed));
	return r;
}

/* E || MAC(K_MAC, pad(E)) for a 32-byte E. */
static int enc_mac(const uint8_t kenc[16], const uint8_t kmac[16],
		   const uint8_t s[32], uint8_t out[40])
{
	uint8_t padded[40];
	int r = idc_3des_cbc(kenc, NULL, s, 32, out, 1);

	if (r)
		return r;
	memcpy(padded, out, 32);
	idc_pad(padded, 32, sizeof(padded));
	r = idc_retail_mac(kmac, padded, sizeof(padded), out + 32);
	OPENSSL_cleanse(padded, sizeof(padded));
	return r;
}

int idc_bac_auth_data(const struct idc_bac *b, uint8_t out[IDC_BAC_AUTH_LEN])
{
	uint8_t s[32];
	int r;

	if (!b || !out)
		return IDC_ERR_ARG;
	memcpy(s, b->rnd_ifd, 8);
	memcpy(s + 8, b->rnd_ic, 8);
	memcpy(s + 16, b->k_ifd, 16);
	r = enc_mac(b->k_enc, b->k_mac, s, out);
	OPENSSL_cleanse(s, sizeof(s));
	return r;
}

int idc_bac_session(const uint8_t k_ifd[16], const uint8_t k_ic[16],
		    const uint8_t rnd_ic[8], const uint8_t rnd_ifd[8],
		    struct idc_sm *sm)
{
	uint8_t seed[16];
	int i, r;

	if (!k_ifd || !k_ic || !rnd_ic || !rnd_ifd || !sm)
		return IDC_ERR_ARG;
	for (i = 0; i < 16; i++)
		seed[i] = k_ifd[i] ^ k_ic[i];
	r = idc_kdf_3des(seed, IDC_KDF_ENC, sm->ks_enc);
	if (!r)
		r = idc_kdf_3des(seed, IDC_KDF_MAC, sm->ks_mac);
	memcpy(sm->ssc, rnd_ic + 4, 4);
	memcpy(sm->ssc + 4, rnd_ifd + 4, 4);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (r)
		OPENSSL_cleanse(sm, sizeof(*sm));
	return r;
}

int idc_bac_finish(const struct idc_bac *b, const uint8_t *resp, size_t len,
		   struct idc_sm *sm)
{
	uint8_t padded[40], mac[8], r_ic[32];
	int r;

	if (!b || !sm || (!resp && len))
		return IDC_ERR_ARG;
	if (len != IDC_BAC_AUTH_LEN)
		return IDC_ERR_BAC;
	memcpy(padded, resp, 32);
	idc_pad(padded, 32, sizeof(padded));
	r = idc_retail_mac(b->k_mac, padded, sizeof(padded), mac);
	if (r)
		goto out;
	if (CRYPTO_memcmp(mac, resp + 32, 8)) {
		r = IDC_ERR_BAC;
		goto out;
	}
	r = idc_3des_cbc(b->k_enc, NULL, resp, 32, r_ic, 0);
	if (r)
		goto out;
	/* R = RND.IC || RND.IFD || K.IC: the chip answered our challenge. */
	if (CRYPTO_memcmp(r_ic, b->rnd_ic, 8) ||
	    CRYPTO_memcmp(r_ic + 8, b->rnd_ifd, 8)) {
		r = IDC_ERR_BAC;
		goto out;
	}
	r = idc_bac_session(b->k_ifd, r_ic + 16, b->rnd_ic, b->rnd_ifd, sm);
out:
	OPENSSL_cleanse(padded, sizeof(padded));
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(r_ic, sizeof(r_ic));
	return r;
}
