// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * lib/idcard end to end against the in-process chip
 * (tests/unit/lib/card_model.c): BAC, Secure Messaging, the four files,
 * Passive Authentication against a test PKI made here, and the reader's
 * template out of DG2; then every fault of the chip, of the document and
 * of the trust store, each with its own error and no template.
 */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <sys/stat.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <linux/bioreader.h>

#include "idcard/idcard.h"
#include "sim/sim_identity.h"
#include "lib/card_model.h"
#include "lib/tmpdir.h"
#include "ktap.h"

#define DIM 128

static const struct card_person alice = {
	.doc_number = "D23145890", .birth = "740812", .expiry = "310415",
	.name = "ERIKSSON<<ANNA<MARIA", .identity = 7, .dim = DIM,
};
static const struct card_person bob = {
	.doc_number = "X12AB34C", .birth = "851231", .expiry = "290101",
	.name = "DOE<<JOHN", .identity = 8, .dim = DIM,
};

static struct card_pki pki, pki_other, pki_expired, pki_revoked;
static char dir[] = "/tmp/idcard-test-XXXXXX";
static char csca_dir[4200], crl_dir[4200], other_crl_dir[4200];
static struct idc_trust *trust, *trust_crl, *trust_other_crl;

/* A chip for @who's document made with @p and @doc_flags, and a fault. */
static struct card_model *chip(const struct card_person *who, const struct card_pki *p,
			       unsigned int doc_flags, struct card_doc *d)
{
	if (card_doc_make(d, who, p, doc_flags))
		return NULL;
	return card_model_new(d);
}

static int full_flow(struct card_model *c, const char *mrz, const struct idc_trust *t,
		     struct idc_result *res)
{
	return idc_read_verified(card_model_transmit, c, mrz, t, res);
}

/* One fault: the flow ends with @want and gives no template. */
static void fault_case(const char *name, const struct card_person *who,
		       const struct card_pki *p, unsigned int doc_flags,
		       enum card_fault f, uint16_t fid, const struct idc_trust *t,
		       int want)
{
	struct card_doc d;
	struct card_model *c = chip(who, p, doc_flags, &d);
	struct idc_result res;
	char msg[200];
	int r;

	ktap_require(c != NULL, "fault: chip made");
	card_model_set_fault(c, f, fid);
	r = full_flow(c, d.mrz_info, t, &res);
	snprintf(msg, sizeof(msg), "%s -> %s", name, idc_strerror(want));
	if (r != want)
		ktap_diag("got %d (%s) at %s", r, idc_strerror(r), idc_step_name(res.read.step));
	ktap_check(r == want && res.tpl == NULL && res.tpl_len == 0, msg);
	idc_result_wipe(&res);
	card_model_free(c);
	card_doc_free(&d);
}

static void case_setup(void)
{
	ktap_require(tmpdir_make(dir) != NULL, "setup: temporary directory");
	snprintf(csca_dir, sizeof(csca_dir), "%s/csca", dir);
	snprintf(crl_dir, sizeof(crl_dir), "%s/crl", dir);
	snprintf(other_crl_dir, sizeof(other_crl_dir), "%s/crl-other", dir);
	ktap_require(mkdir(csca_dir, 0700) == 0 && mkdir(crl_dir, 0700) == 0 &&
		     mkdir(other_crl_dir, 0700) == 0, "setup: trust directories");
	ktap_require(card_pki_make(&pki, "UT", 0) == 0 &&
		     card_pki_make(&pki_other, "ZZ", 0) == 0,
		     "setup: test PKIs (CSCA -> DS, CRL) of two countries");
	/* Same CSCA, other DS certificates: expired, and revoked. */
	ktap_require(card_pki_make(&pki_expired, "UT", CARD_PKI_DS_EXPIRED) == 0 &&
		     card_pki_make(&pki_revoked, "UT", CARD_PKI_DS_REVOKED) == 0,
		     "setup: an expired and a revoked DS");
	/* The trust store holds the CSCAs of pki, pki_expired, pki_revoked. */
	ktap_require(card_pki_write(&pki, csca_dir, crl_dir) == 0 &&
		     card_pki_write(&pki_other, NULL, other_crl_dir) == 0, "setup: PEM files");
	{
		char p[4300];
		FILE *f;

		snprintf(p, sizeof(p), "%s/csca-2.pem", csca_dir);
		f = fopen(p, "w");
		ktap_require(f && PEM_write_X509(f, pki_expired.csca) &&
			     PEM_write_X509(f, pki_revoked.csca) && !fclose(f),
			     "setup: two more CSCAs in one file");
		snprintf(p, sizeof(p), "%s/csca-2.crl", crl_dir);
		f = fopen(p, "w");
		ktap_require(f && PEM_write_X509_CRL(f, pki_expired.crl) &&
			     PEM_write_X509_CRL(f, pki_revoked.crl) && !fclose(f),
			     "setup: their CRLs");
	}
	ktap_check(idc_trust_load(&trust, csca_dir, NULL) == 0, "trust: CSCA directory loads");
	ktap_check(idc_trust_load(&trust_crl, csca_dir, crl_dir) == 0,
		   "trust: CSCA and CRL directories load");
	ktap_check(idc_trust_load(&trust_other_crl, csca_dir, other_crl_dir) == 0,
		   "trust: CSCAs with another country's CRL only");
}

static void case_read(void)
{
	uint8_t tpl[BIOREADER_TEMPLATE_MAX], fp[32];
	struct card_doc d;
	struct card_model *c = chip(&alice, &pki, 0, &d);
	struct idc_doc doc;
	struct idc_read_info info;
	struct idc_result res;
	unsigned int n;
	size_t tl;
	int r;

	ktap_require(c != NULL, "read: chip made");
	r = idc_read_document(card_model_transmit, c, d.mrz_info, &doc, &info);
	ktap_check(r == 0 && info.step == IDC_STEP_DONE, "read: BAC and the four files under SM");
	ktap_check(r == 0 && doc.ef[IDC_EF_COM].len == d.com_len &&
		   !memcmp(doc.ef[IDC_EF_COM].data, d.com, d.com_len) &&
		   doc.ef[IDC_EF_SOD].len == d.sod_len &&
		   !memcmp(doc.ef[IDC_EF_SOD].data, d.sod, d.sod_len) &&
		   doc.ef[IDC_EF_DG1].len == d.dg1_len &&
		   !memcmp(doc.ef[IDC_EF_DG1].data, d.dg1, d.dg1_len) &&
		   doc.ef[IDC_EF_DG2].len == d.dg2_len &&
		   !memcmp(doc.ef[IDC_EF_DG2].data, d.dg2, d.dg2_len),
		   "read: every file is the chip's, byte for byte");
	ktap_diag("read: %u APDUs, SOD %zu bytes, DG2 %zu bytes", info.apdus,
		  d.sod_len, d.dg2_len);
	if (!r) {
		struct idc_pa_result pa;

		ktap_check(idc_pa_verify(trust, &doc, &pa) == 0 && pa.dg_checked == 0x6 &&
			   pa.hash_nid == NID_sha256, "pa: DG1 and DG2 verified against the SOD");
		ktap_check(X509_digest(pki.csca, EVP_sha256(), fp, &n) &&
			   !memcmp(fp, pa.csca_sha256, 32), "pa: the CSCA's fingerprint");
		ktap_check(X509_digest(pki.ds, EVP_sha256(), fp, &n) &&
			   !memcmp(fp, pa.ds_sha256, 32), "pa: the DS's fingerprint");
		ktap_check(idc_pa_verify(trust_crl, &doc, &pa) == 0,
			   "pa: with CRLs, a DS not revoked passes");
	}
	idc_doc_wipe(&doc);
	ktap_check(!doc.ef[IDC_EF_DG2].data && !doc.ef[IDC_EF_DG2].len, "read: wipe empties the document");
	card_model_free(c);

	c = card_model_new(&d);
	ktap_require(c != NULL, "flow: chip made");
	r = full_flow(c, d.mrz_info, trust_crl, &res);
	tl = sim_identity_template(alice.identity, DIM, tpl, sizeof(tpl));
	ktap_check(r == 0 && res.tpl_len == tl && !memcmp(res.tpl, tpl, tl),
		   "flow: the template out of DG2 is the person's");
	idc_result_wipe(&res);
	ktap_check(!res.tpl && !res.tpl_len, "flow: wipe frees the template");
	card_model_free(c);
	card_doc_free(&d);

	/* A DG2 as real ones are: a face image of ~18 KB before our template. */
	c = chip(&alice, &pki, CARD_DOC_PHOTO, &d);
	ktap_require(c != NULL, "flow: chip with a photo made");
	r = full_flow(c, d.mrz_info, trust_crl, &res);
	ktap_check(r == 0 && d.dg2_len > CARD_PHOTO_BYTES && res.tpl_len == tl &&
		   !memcmp(res.tpl, tpl, tl),
		   "flow: DG2 with a face image first -> the image skipped, the template found");
	ktap_diag("flow: DG2 %zu bytes, %u APDUs", d.dg2_len, res.read.apdus);
	idc_result_wipe(&res);
	card_model_free(c);

	/* Short reads: the chip answers at most 37 bytes at a time. */
	c = card_model_new(&d);
	ktap_require(c != NULL, "short reads: chip made");
	card_model_set_max_read(c, 37);
	r = full_flow(c, d.mrz_info, trust, &res);
	ktap_check(r == 0 && res.tpl_len == tl && !memcmp(res.tpl, tpl, tl),
		   "short reads: the read carries on from where each answer ended");
	idc_result_wipe(&res);
	card_model_free(c);
	card_doc_free(&d);
}

static void case_chip_faults(void)
{
	struct card_doc d;
	struct card_model *c = chip(&alice, &pki, 0, &d);
	struct idc_result res;
	char other[IDC_MRZ_INFO_LEN];
	struct idc_mrz_key k = { bob.doc_number, 0, bob.birth, 0, bob.expiry, 0 };
	int r;

	ktap_require(c && idc_mrz_info(&k, other) == 0, "wrong MRZ: chip and key");
	r = full_flow(c, other, trust, &res);
	ktap_check(r == IDC_ERR_BAC && res.read.step == IDC_STEP_EXT_AUTH && !res.tpl,
		   "wrong MRZ keys -> basic access control failed, at EXTERNAL AUTHENTICATE");
	card_model_free(c);
	card_doc_free(&d);

	fault_case("chip's cryptogram for another RND.IFD", &alice, &pki, 0,
		   CARD_FAULT_BAD_CRYPTOGRAM, 0, trust, IDC_ERR_BAC);
	fault_case("wrong response MAC on DG2", &alice, &pki, 0,
		   CARD_FAULT_WRONG_MAC, 0x0102, trust, IDC_ERR_SM_MAC);
	fault_case("wrong response MAC on EF.COM", &alice, &pki, 0,
		   CARD_FAULT_WRONG_MAC, 0x011e, trust, IDC_ERR_SM_MAC);
	fault_case("truncated response on DG2", &alice, &pki, 0,
		   CARD_FAULT_TRUNCATE, 0x0102, trust, IDC_ERR_TRUNCATED);
	fault_case("6982 on reading DG2", &alice, &pki, 0,
		   CARD_FAULT_SW_6982, 0x0102, trust, IDC_ERR_SECURITY);
	fault_case("6A82 on selecting DG2", &alice, &pki, 0,
		   CARD_FAULT_SW_6A82, 0x0102, trust, IDC_ERR_NOT_FOUND);
	fault_case("6988 on reading EF.SOD", &alice, &pki, 0,
		   CARD_FAULT_SW_6988, 0x011d, trust, IDC_ERR_SM_CARD);
	fault_case("DG2 shorter than its length", &alice, &pki, 0,
		   CARD_FAULT_FILE_SHORT, 0x0102, trust, IDC_ERR_TRUNCATED);
	fault_case("transport fails reading DG1", &alice, &pki, 0,
		   CARD_FAULT_SILENT, 0x0101, trust, IDC_ERR_TRANSPORT);
}

static void case_pa_faults(void)
{
	fault_case("DG2 altered after signing", &alice, &pki, CARD_DOC_DG2_ALTERED,
		   CARD_FAULT_NONE, 0, trust, IDC_ERR_PA_HASH);
	fault_case("SOD without DG2's hash", &alice, &pki, CARD_DOC_NO_DG2_HASH,
		   CARD_FAULT_NONE, 0, trust, IDC_ERR_PA_HASH);
	fault_case("SOD signature forged", &alice, &pki, CARD_DOC_SOD_BADSIG,
		   CARD_FAULT_NONE, 0, trust, IDC_ERR_PA_SIGNATURE);
	fault_case("DS expired", &alice, &pki_expired, 0,
		   CARD_FAULT_NONE, 0, trust, IDC_ERR_PA_EXPIRED);
	fault_case("DS revoked (CRL loaded)", &alice, &pki_revoked, 0,
		   CARD_FAULT_NONE, 0, trust_crl, IDC_ERR_PA_REVOKED);
	fault_case("DS from an unknown CSCA", &alice, &pki_other, 0,
		   CARD_FAULT_NONE, 0, trust, IDC_ERR_PA_UNKNOWN_CSCA);
	fault_case("no CRL of the DS's CSCA", &alice, &pki, 0,
		   CARD_FAULT_NONE, 0, trust_other_crl, IDC_ERR_PA_CRL);
	fault_case("SOD hashed with SHA-1", &alice, &pki, CARD_DOC_SHA1,
		   CARD_FAULT_NONE, 0, trust, IDC_ERR_PA_ALGORITHM);
	fault_case("DG1 names another document than the MRZ that opened the chip",
		   &alice, &pki, CARD_DOC_DG1_OTHER, CARD_FAULT_NONE, 0, trust,
		   IDC_ERR_MRZ_MISMATCH);
}

/*
 * The BAC key out of a whole MRZ: the specimens of Doc 9303 (part 4
 * Appendix A, TD3; part 5 Appendix A, TD1; part 6, TD2): Anna Maria
 * Eriksson's documents L898902C3 and D23145890.
 */
static void case_mrz(void)
{
	static const char td3[] =
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10";
	static const char td1[] =
		"I<UTOD231458907<<<<<<<<<<<<<<<"
		"7408122F1204159UTO<<<<<<<<<<<6"
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
	static const char td2[] =
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<"
		"D231458907UTO7408122F1204159<<<<<<<6";
	char info[IDC_MRZ_INFO_LEN], bad[sizeof(td3)];

	ktap_check(idc_mrz_info_from_mrz(td3, 88, info) == 0 &&
		   !memcmp(info, "L898902C3" "6" "740812" "2" "120415" "9", 24),
		   "mrz: TD3 specimen -> L898902C3 6 740812 2 120415 9");
	ktap_check(idc_mrz_info_from_mrz(td1, 90, info) == 0 &&
		   !memcmp(info, "D23145890" "7" "740812" "2" "120415" "9", 24),
		   "mrz: TD1 specimen -> D23145890 7 740812 2 120415 9");
	ktap_check(idc_mrz_info_from_mrz(td2, 72, info) == 0 &&
		   !memcmp(info, "D23145890" "7" "740812" "2" "120415" "9", 24),
		   "mrz: TD2 specimen -> the same key as TD1");
	memcpy(bad, td3, sizeof(td3));
	bad[44 + 9] = '7';
	ktap_check(idc_mrz_info_from_mrz(bad, 88, info) == IDC_ERR_MRZ,
		   "mrz: a wrong document number check digit -> IDC_ERR_MRZ");
	memcpy(bad, td3, sizeof(td3));
	bad[44 + 13 + 6] = '0';
	ktap_check(idc_mrz_info_from_mrz(bad, 88, info) == IDC_ERR_MRZ,
		   "mrz: a wrong birth date check digit -> IDC_ERR_MRZ");
	memcpy(bad, td3, sizeof(td3));
	bad[44 + 21 + 6] = '0';
	ktap_check(idc_mrz_info_from_mrz(bad, 88, info) == IDC_ERR_MRZ,
		   "mrz: a wrong expiry date check digit -> IDC_ERR_MRZ");
	memcpy(bad, td3, sizeof(td3));
	bad[50] = 'a';
	ktap_check(idc_mrz_info_from_mrz(bad, 88, info) == IDC_ERR_MRZ,
		   "mrz: a lower-case character -> IDC_ERR_MRZ");
	ktap_check(idc_mrz_info_from_mrz(td3, 87, info) == IDC_ERR_MRZ &&
		   idc_mrz_info_from_mrz(td3, 44, info) == IDC_ERR_MRZ,
		   "mrz: a length of no format -> IDC_ERR_MRZ");
	ktap_check(idc_mrz_info_parse("L898902C<3 690806 1 940623 6\n", 29, info) == 0 &&
		   !memcmp(info, "L898902C<369080619406236", 24),
		   "mrz: text of the MRZ information (spaces, a line break)");
	ktap_check(idc_mrz_info_parse("L898902C<369080619406237", 24, info) == IDC_ERR_MRZ,
		   "mrz: MRZ information with a wrong check digit -> IDC_ERR_MRZ");
	ktap_check(idc_mrz_info_parse("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
				      "L898902C36UTO7408122F1204159ZE184226B<<<<<10\n", 90, info) == 0 &&
		   !memcmp(info, "L898902C3674081221204159", 24),
		   "mrz: text of a whole TD3 MRZ, two lines");
	ktap_check(idc_mrz_info_equal("L898902C<369080619406236", "L898902C<369080619406236") &&
		   !idc_mrz_info_equal("L898902C<369080619406236", "L898902C<369080619406237"),
		   "mrz: equal compares all 24 characters");
}

/* PA on a document whose SOD is replaced by @sod. */
static int pa_with_sod(const uint8_t *sod, size_t len)
{
	struct card_doc d;
	struct idc_doc doc;
	struct idc_pa_result pa;
	int r;

	if (card_doc_make(&d, &alice, &pki, 0))
		return 1;
	memset(&doc, 0, sizeof(doc));
	doc.ef[IDC_EF_SOD].data = (uint8_t *)sod;
	doc.ef[IDC_EF_SOD].len = len;
	doc.ef[IDC_EF_DG1].data = d.dg1;
	doc.ef[IDC_EF_DG1].len = d.dg1_len;
	doc.ef[IDC_EF_DG2].data = d.dg2;
	doc.ef[IDC_EF_DG2].len = d.dg2_len;
	r = idc_pa_verify(trust, &doc, &pa);
	card_doc_free(&d);
	return r;
}

static void case_sod_malformed(void)
{
	struct card_doc d;
	uint8_t junk[300];
	size_t i;

	ktap_require(card_doc_make(&d, &alice, &pki, 0) == 0, "sod: document made");
	ktap_check(pa_with_sod(d.sod, d.sod_len) == 0, "sod: the original passes");
	ktap_check(pa_with_sod(d.sod, d.sod_len - 1) == IDC_ERR_PA_MALFORMED,
		   "sod: truncated by a byte -> malformed");
	ktap_check(pa_with_sod(d.sod, d.sod_len / 2) == IDC_ERR_PA_MALFORMED,
		   "sod: truncated by half -> malformed");
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	junk[0] = 0x77;
	junk[1] = 0x82;
	junk[2] = 0x01;
	junk[3] = 0x28;
	ktap_check(pa_with_sod(junk, sizeof(junk)) == IDC_ERR_PA_MALFORMED,
		   "sod: garbage inside tag 77 -> malformed");
	d.sod[0] = 0x78;
	ktap_check(pa_with_sod(d.sod, d.sod_len) == IDC_ERR_PA_MALFORMED,
		   "sod: wrong outer tag -> malformed");
	card_doc_free(&d);
}

static void case_trust(void)
{
	struct idc_trust *t = NULL;
	char p[4400], empty[4300];
	FILE *f;

	snprintf(empty, sizeof(empty), "%s/empty", dir);
	ktap_check(mkdir(empty, 0700) == 0 && idc_trust_load(&t, empty, NULL) == IDC_ERR_ARG && !t,
		   "trust: an empty directory is refused");
	ktap_check(idc_trust_load(&t, "/nonexistent-dir", NULL) == IDC_ERR_ARG,
		   "trust: a missing directory is refused");
	ktap_check(idc_trust_load(&t, csca_dir, empty) == IDC_ERR_ARG,
		   "trust: an empty CRL directory is refused");
	ktap_check(idc_trust_load(&t, crl_dir, NULL) == IDC_ERR_ARG,
		   "trust: CRLs where certificates belong are refused");
	snprintf(p, sizeof(p), "%s/ds.pem", empty);
	f = fopen(p, "w");
	ktap_check(f && PEM_write_X509(f, pki.ds) && !fclose(f) &&
		   idc_trust_load(&t, empty, NULL) == IDC_ERR_ARG,
		   "trust: a certificate that is not a CA is refused");
	remove(p);
	snprintf(p, sizeof(p), "%s/README", empty);
	f = fopen(p, "w");
	ktap_check(f && fputs("not a certificate\n", f) >= 0 && !fclose(f) &&
		   idc_trust_load(&t, empty, NULL) == IDC_ERR_ARG,
		   "trust: a file that is no certificate is refused");
	remove(p);
}

static void case_parsers(void)
{
	static const uint8_t com[] = { 0x60, 0x14, 0x5f, 0x01, 0x04, '0', '1', '0', '6',
		0x5f, 0x36, 0x06, '0', '4', '0', '0', '0', '0', 0x5c, 0x02, 0x61, 0x75 };
	static const uint8_t deep[] = { 0x30, 0x84, 0x00, 0x00, 0x00, 0x01, 0x00 };
	static const uint8_t indef[] = { 0x30, 0x80, 0x00, 0x00 };
	static const uint8_t longtag[] = { 0x5f, 0x81, 0x82, 0x83, 0x01, 0x00 };
	static const uint8_t over[] = { 0x60, 0x82, 0xff, 0xff, 0x00 };
	struct idc_com c;
	struct idc_tlv t;
	struct card_doc d;
	const uint8_t *p;
	size_t n;

	ktap_check(idc_parse_com(com, sizeof(com), &c) == 0 && !strcmp(c.lds_version, "0106") &&
		   c.dg_mask == 0x6, "tlv: EF.COM of Appendix D (LDS 0106, DG1 and DG2)");
	ktap_check(idc_parse_com(com, sizeof(com) - 1, &c) == IDC_ERR_TRUNCATED,
		   "tlv: EF.COM cut short -> truncated");
	ktap_check(idc_tlv_get(deep, sizeof(deep), &t) == IDC_ERR_MALFORMED,
		   "tlv: 4 length bytes refused");
	ktap_check(idc_tlv_get(indef, sizeof(indef), &t) == IDC_ERR_MALFORMED,
		   "tlv: indefinite length refused");
	ktap_check(idc_tlv_get(longtag, sizeof(longtag), &t) == IDC_ERR_MALFORMED,
		   "tlv: tag of 4 bytes refused");
	ktap_check(idc_tlv_get(over, sizeof(over), &t) == IDC_ERR_TRUNCATED,
		   "tlv: length past the buffer -> truncated");
	ktap_require(card_doc_make(&d, &bob, &pki, 0) == 0, "tlv: document made");
	ktap_check(idc_parse_dg1(d.dg1, d.dg1_len, &p, &n) == 0 && n == 90 &&
		   !memcmp(p + 5, "X12AB34C<", 9), "tlv: DG1's TD1 MRZ");
	ktap_check(idc_parse_dg2(d.dg2, d.dg2_len, 0x0101, 0x0008, &p, &n) == IDC_ERR_NO_TEMPLATE,
		   "tlv: DG2 without an ISO 19794-5 face -> no template of that type");
	ktap_check(idc_dg2_template(d.dg2, d.dg2_len, &p, &n) == 0 && n == 16 + DIM,
		   "tlv: DG2's reader template");
	d.dg2[d.dg2_len - DIM - 16] ^= 0xff;	/* the template's magic */
	ktap_check(idc_dg2_template(d.dg2, d.dg2_len, &p, &n) == IDC_ERR_NO_TEMPLATE,
		   "tlv: a block of our type that is no template is refused");
	ktap_check(idc_dg2_template(d.dg2, d.dg2_len - 1, &p, &n) == IDC_ERR_TRUNCATED,
		   "tlv: DG2 cut short -> truncated");
	card_doc_free(&d);
}

int main(void)
{
	ktap_plan(99);
	KTAP_CASE("setup") case_setup();
	KTAP_CASE_AFTER("read") case_read();
	KTAP_CASE_AFTER("chip faults") case_chip_faults();
	KTAP_CASE_AFTER("pa faults") case_pa_faults();
	KTAP_CASE_AFTER("sod malformed") case_sod_malformed();
	KTAP_CASE_AFTER("trust") case_trust();
	KTAP_CASE_AFTER("parsers") case_parsers();
	KTAP_CASE_AFTER("mrz") case_mrz();
	idc_trust_free(trust);
	idc_trust_free(trust_crl);
	idc_trust_free(trust_other_crl);
	card_pki_free(&pki);
	card_pki_free(&pki_other);
	card_pki_free(&pki_expired);
	card_pki_free(&pki_revoked);
	return ktap_finish();
}
