// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Known answers of lib/idcard's BAC and Secure Messaging: the worked
 * example of ICAO Doc 9303 part 11, Appendix D (D.1 to D.4), bit for bit:
 * MRZ information and check digits, K_seed, K_Enc and K_MAC with parity,
 * EXTERNAL AUTHENTICATE's data, the chip's answer, the session keys and
 * SSC, then the protected SELECT EF.COM and READ BINARY commands and
 * their responses, down to EF.COM's first 22 bytes.
 */
#include <stdlib.h>

#include "idcard/idcard.h"
#include "ktap.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned int b;

	while (h[0] && h[1] && n < cap) {
		if (sscanf(h, "%2x", &b) != 1)
			abort();
		out[n++] = (uint8_t)b;
		h += 2;
	}
	return n;
}

static int eq_hex(const uint8_t *p, size_t n, const char *h)
{
	uint8_t want[512];
	size_t wn = unhex(h, want, sizeof(want));

	if (wn != n || memcmp(p, want, n)) {
		size_t i;

		printf("# got  ");
		for (i = 0; i < n; i++)
			printf("%02X", p[i]);
		printf("\n# want %s\n", h);
		return 0;
	}
	return 1;
}

/* D.2: the document of the worked example. */
static const struct idc_mrz_key key = {
	.doc_number = "L898902C", .doc_cd = '3',
	.birth = "690806", .birth_cd = '1',
	.expiry = "940623", .expiry_cd = '6',
};

static struct idc_sm sm;

static void case_mrz(void)
{
	struct idc_mrz_key k = key;
	char info[IDC_MRZ_INFO_LEN];

	ktap_check(idc_mrz_check_digit("L898902C<", 9) == 3 &&
		   idc_mrz_check_digit("690806", 6) == 1 &&
		   idc_mrz_check_digit("940623", 6) == 6,
		   "mrz: check digits of D.2 (3, 1, 6)");
	ktap_check(idc_mrz_check_digit("L8989x", 6) == IDC_ERR_MRZ,
		   "mrz: lower-case character refused");
	ktap_check(idc_mrz_info(&key, info) == 0 &&
		   !memcmp(info, "L898902C<369080619406236", 24),
		   "mrz: information L898902C<369080619406236");
	k.doc_cd = k.birth_cd = k.expiry_cd = 0;
	ktap_check(idc_mrz_info(&k, info) == 0 &&
		   !memcmp(info, "L898902C<369080619406236", 24),
		   "mrz: check digits computed when not given");
	k = key;
	k.doc_cd = '4';
	ktap_check(idc_mrz_info(&k, info) == IDC_ERR_MRZ,
		   "mrz: wrong document-number check digit refused");
	k = key;
	k.expiry_cd = '5';
	ktap_check(idc_mrz_info(&k, info) == IDC_ERR_MRZ,
		   "mrz: wrong expiry check digit refused");
	k = key;
	k.birth = "691306";
	k.birth_cd = 0;
	ktap_check(idc_mrz_info(&k, info) == IDC_ERR_MRZ, "mrz: month 13 refused");
	k = key;
	k.doc_number = "L898902C12";
	ktap_check(idc_mrz_info(&k, info) == IDC_ERR_MRZ,
		   "mrz: document number of 10 characters refused");
}

static void case_keys(void)
{
	uint8_t seed[16], k[16], x[16];
	struct idc_bac b;
	char info[IDC_MRZ_INFO_LEN];

	ktap_require(idc_mrz_info(&key, info) == 0, "keys: MRZ information");
	ktap_check(idc_bac_kseed(info, sizeof(info), seed) == 0 &&
		   eq_hex(seed, 16, "239AB9CB282DAF66231DC5A4DF6BFBAE"),
		   "keys: K_seed 239AB9CB282DAF66231DC5A4DF6BFBAE");
	ktap_check(idc_kdf_3des(seed, IDC_KDF_ENC, k) == 0 &&
		   eq_hex(k, 16, "AB94FDECF2674FDFB9B391F85D7F76F2"),
		   "keys: K_Enc AB94FDECF2674FDFB9B391F85D7F76F2 (parity adjusted)");
	ktap_check(idc_kdf_3des(seed, IDC_KDF_MAC, k) == 0 &&
		   eq_hex(k, 16, "7962D9ECE03D1ACD4C76089DCE131543"),
		   "keys: K_MAC 7962D9ECE03D1ACD4C76089DCE131543 (parity adjusted)");
	unhex("AB94FCEDF2664EDFB9B291F85D7F77F2", x, 16);
	idc_des_parity(x, 16);
	ktap_check(eq_hex(x, 16, "AB94FDECF2674FDFB9B391F85D7F76F2"),
		   "keys: parity adjustment of D.2's raw SHA-1 bytes");
	ktap_check(idc_bac_keys(&b, info) == 0 &&
		   eq_hex(b.k_enc, 16, "AB94FDECF2674FDFB9B391F85D7F76F2") &&
		   eq_hex(b.k_mac, 16, "7962D9ECE03D1ACD4C76089DCE131543"),
		   "keys: idc_bac_keys gives both");
}

static void case_auth(void)
{
	uint8_t out[IDC_BAC_AUTH_LEN], resp[IDC_BAC_AUTH_LEN], s[32], e[32], pad[40], mac[8];
	struct idc_bac b;
	char info[IDC_MRZ_INFO_LEN];

	ktap_require(idc_mrz_info(&key, info) == 0 && idc_bac_keys(&b, info) == 0,
		     "auth: keys");
	unhex("4608F91988702212", b.rnd_ic, 8);
	unhex("781723860C06C226", b.rnd_ifd, 8);
	unhex("0B795240CB7049B01C19B33E32804F0B", b.k_ifd, 16);
	/* D.3 2.b: E_IFD alone, 3DES-CBC with a zero IV. */
	unhex("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B", s, 32);
	ktap_check(idc_3des_cbc(b.k_enc, NULL, s, 32, e, 1) == 0 &&
		   eq_hex(e, 32, "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"),
		   "auth: E_IFD of D.3");
	/* D.3 2.c: M_IFD, the retail MAC over E_IFD padded (method 2). */
	memcpy(pad, e, 32);
	ktap_check(idc_pad(pad, 32, sizeof(pad)) == 40 && pad[32] == 0x80 &&
		   idc_retail_mac(b.k_mac, pad, 40, mac) == 0 &&
		   eq_hex(mac, 8, "5F1448EEA8AD90A7"),
		   "auth: M_IFD 5F1448EEA8AD90A7 (retail MAC)");
	ktap_check(idc_bac_auth_data(&b, out) == 0 &&
		   eq_hex(out, 40, "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
				   "5F1448EEA8AD90A7"),
		   "auth: EXTERNAL AUTHENTICATE data E_IFD || M_IFD");
	/* D.3 3: the chip's answer E_IC || M_IC. */
	unhex("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F"
	      "2F2D235D074D7449", resp, 40);
	ktap_check(idc_bac_finish(&b, resp, 40, &sm) == 0, "auth: the chip's answer verifies");
	ktap_check(eq_hex(sm.ks_enc, 16, "979EC13B1CBFE9DCD01AB0FED307EAE5"),
		   "auth: KS_Enc 979EC13B1CBFE9DCD01AB0FED307EAE5");
	ktap_check(eq_hex(sm.ks_mac, 16, "F1CB1F1FB5ADF208806B89DC579DC1F8"),
		   "auth: KS_MAC F1CB1F1FB5ADF208806B89DC579DC1F8");
	ktap_check(eq_hex(sm.ssc, 8, "887022120C06C226"), "auth: SSC 887022120C06C226");
	{
		struct idc_sm x;

		resp[39] ^= 1;
		ktap_check(idc_bac_finish(&b, resp, 40, &x) == IDC_ERR_BAC,
			   "auth: a wrong M_IC is refused");
		resp[39] ^= 1;
		b.rnd_ifd[0] ^= 1;
		ktap_check(idc_bac_finish(&b, resp, 40, &x) == IDC_ERR_BAC,
			   "auth: an answer to another RND.IFD is refused");
		b.rnd_ifd[0] ^= 1;
		ktap_check(idc_bac_finish(&b, resp, 39, &x) == IDC_ERR_BAC,
			   "auth: a short answer is refused");
	}
}

static void case_sm(void)
{
	uint8_t cmd[64], p[IDC_APDU_MAX], r[64], data[64];
	size_t n, dn;
	uint16_t sw;
	struct idc_sm keep;

	/* D.4 1: SELECT EF.COM. */
	n = unhex("00A4020C02011E", cmd, sizeof(cmd));
	ktap_check(idc_sm_wrap(&sm, cmd, n, p, sizeof(p), &n) == 0 &&
		   eq_hex(p, n, "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"),
		   "sm: protected SELECT EF.COM of D.4");
	ktap_check(eq_hex(sm.ssc, 8, "887022120C06C227"), "sm: SSC 887022120C06C227 after it");
	n = unhex("990290008E08FA855A5D4C50A8ED9000", r, sizeof(r));
	ktap_check(idc_sm_unwrap(&sm, r, n, data, sizeof(data), &dn, &sw) == 0 &&
		   sw == 0x9000 && dn == 0, "sm: its response verifies (DO'99', DO'8E')");
	/* D.4 2: READ BINARY of 4 bytes. */
	n = unhex("00B0000004", cmd, sizeof(cmd));
	ktap_check(idc_sm_wrap(&sm, cmd, n, p, sizeof(p), &n) == 0 &&
		   eq_hex(p, n, "0CB000000D9701048E08ED6705417E96BA5500"),
		   "sm: protected READ BINARY (4 bytes at 0)");
	n = unhex("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", r, sizeof(r));
	keep = sm;
	ktap_check(idc_sm_unwrap(&sm, r, n, data, sizeof(data), &dn, &sw) == 0 &&
		   sw == 0x9000 && eq_hex(data, dn, "60145F01"),
		   "sm: its response decrypts to 60145F01");
	/* The same response with one MAC bit changed. */
	r[n - 3] ^= 0x01;
	ktap_check(idc_sm_unwrap(&keep, r, n, data, sizeof(data), &dn, &sw) == IDC_ERR_SM_MAC,
		   "sm: a response with a wrong MAC is refused");
	r[n - 3] ^= 0x01;
	/* D.4 3: READ BINARY of the remaining 18 bytes. */
	n = unhex("00B0000412", cmd, sizeof(cmd));
	ktap_check(idc_sm_wrap(&sm, cmd, n, p, sizeof(p), &n) == 0 &&
		   eq_hex(p, n, "0CB000040D9701128E082EA28A70F3C7B53500"),
		   "sm: protected READ BINARY (18 bytes at 4)");
	n = unhex("871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
		  r, sizeof(r));
	keep = sm;
	ktap_check(idc_sm_unwrap(&sm, r, n, data, sizeof(data), &dn, &sw) == 0 &&
		   eq_hex(data, dn, "04303130365F36063034303030305C026175"),
		   "sm: its response decrypts to the rest of EF.COM");
	ktap_check(eq_hex(sm.ssc, 8, "887022120C06C22C"), "sm: SSC 887022120C06C22C at the end");
	/* Replayed to a session one step ahead: the SSC differs, the MAC fails. */
	ktap_check(idc_sm_unwrap(&sm, r, n, data, sizeof(data), &dn, &sw) == IDC_ERR_SM_MAC,
		   "sm: a replayed response is refused (SSC)");
	ktap_check(idc_sm_unwrap(&keep, r, n - 5, data, sizeof(data), &dn, &sw) == IDC_ERR_TRUNCATED,
		   "sm: a truncated response is refused");
	keep = sm;
	ktap_check(idc_sm_unwrap(&keep, r, n, data, 4, &dn, &sw) != 0,
		   "sm: a response larger than the buffer is refused");
	n = unhex("6A82", r, sizeof(r));
	ktap_check(idc_sm_unwrap(&sm, r, n, data, sizeof(data), &dn, &sw) == 0 &&
		   sw == 0x6a82 && dn == 0, "sm: an unprotected error status is passed on");
	n = unhex("9000", r, sizeof(r));
	ktap_check(idc_sm_unwrap(&sm, r, n, data, sizeof(data), &dn, &sw) == IDC_ERR_SM,
		   "sm: an unprotected success is refused");
}

static void case_pad(void)
{
	uint8_t b[16] = { 1, 2, 3, 0x80, 0, 0, 0, 0 };
	size_t n;

	ktap_check(idc_unpad(b, 8, &n) == 0 && n == 3, "pad: method 2 removed");
	b[7] = 1;
	ktap_check(idc_unpad(b, 8, &n) == IDC_ERR_SM, "pad: no 0x80 marker refused");
	memset(b, 0, sizeof(b));
	b[0] = 0x80;
	ktap_check(idc_unpad(b, 16, &n) == IDC_ERR_SM, "pad: more than a block of padding refused");
	ktap_check(idc_pad(b, 8, 15) == 0, "pad: no room -> 0");
}

int main(void)
{
	ktap_plan(43);
	KTAP_CASE("mrz") case_mrz();
	KTAP_CASE("keys") case_keys();
	KTAP_CASE("auth") case_auth();
	KTAP_CASE_AFTER("sm") case_sm();
	KTAP_CASE("pad") case_pad();
	return ktap_finish();
}
