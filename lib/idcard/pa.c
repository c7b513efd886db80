// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Passive Authentication, ICAO Doc 9303 part 11 section 5.1 and part 10
 * (EF.SOD): the Security Object is a CMS SignedData whose content
 * (eContentType 2.23.136.1.1.1, id-icao-mrtd-security-ldsSecurityObject)
 * lists the hash of every data group; the Document Signer that signed it
 * must chain to a trusted CSCA.
 *
 * The order of the checks gives each failure its own error: the SOD's
 * structure (PA_MALFORMED), the DS certificate's path to a CSCA of the
 * trust store, with validity and CRLs (PA_UNKNOWN_CSCA, PA_EXPIRED,
 * PA_REVOKED, PA_CRL, PA_CHAIN), then CMS_verify against the same store,
 * the authority on the signature (PA_SIGNATURE), then the Security
 * Object and each data group's hash (PA_ALGORITHM, PA_HASH).  Only
 * certificate fingerprints come out, never data from the groups.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "idcard/idcard.h"

#define LDSSO_OID	"2.23.136.1.1.1"
#define TRUST_FILE_MAX	(1 << 20)

struct idc_trust {
	X509_STORE *store;
	unsigned int ncerts, ncrls;
};

void idc_trust_free(struct idc_trust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	OPENSSL_free(t);
}

void idc_trust_set_time(struct idc_trust *t, int64_t when)
{
	if (t)
		X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(t->store),
					   (time_t)when);
}

int idc_trust_checks_crls(const struct idc_trust *t)
{
	return t && t->ncrls > 0;
}

/* Certificates (@crl 0) or CRLs (@crl 1) of one PEM or DER file. */
static int load_file(struct idc_trust *t, const char *path, int crl)
{
	STACK_OF(X509_INFO) *infos = NULL;
	X509_INFO *xi;
	X509 *x = NULL;
	X509_CRL *c = NULL;
	BIO *b;
	unsigned int n = 0;
	int i, r = 0;

	b = BIO_new_file(path, "rb");
	if (!b)
		return IDC_ERR_ARG;
	infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	if (infos && sk_X509_INFO_num(infos) > 0) {
		for (i = 0; !r && i < sk_X509_INFO_num(infos); i++) {
			xi = sk_X509_INFO_value(infos, i);
			if (xi->x_pkey || (crl ? xi->x509 != NULL : xi->crl != NULL))
				r = IDC_ERR_ARG;	/* a key, or the other kind */
			else if (!crl && xi->x509 && X509_check_ca(xi->x509) < 1)
				r = IDC_ERR_ARG;	/* a CSCA is a CA */
			else if (!crl && xi->x509)
				r = X509_STORE_add_cert(t->store, xi->x509) ? 0 : IDC_ERR_CRYPTO;
			else if (crl && xi->crl)
				r = X509_STORE_add_crl(t->store, xi->crl) ? 0 : IDC_ERR_CRYPTO;
			n++;
		}
	} else {
		/* DER: one certificate or CRL. */
		(void)BIO_reset(b);
		if (crl)
			c = d2i_X509_CRL_bio(b, NULL);
		else
			x = d2i_X509_bio(b, NULL);
		if (x && X509_check_ca(x) >= 1 && X509_STORE_add_cert(t->store, x))
			n = 1;
		else if (c && X509_STORE_add_crl(t->store, c))
			n = 1;
		else
			r = IDC_ERR_ARG;
	}
	if (!r && !n)
		r = IDC_ERR_ARG;
	if (!r) {
		if (crl)
			t->ncrls += n;
		else
			t->ncerts += n;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	X509_free(x);
	X509_CRL_free(c);
	BIO_free(b);
	return r;
}

static int load_dir(struct idc_trust *t, const char *dir, int crl)
{
	char path[4096];
	struct dirent **ents;
	struct stat st;
	int i, n, r = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return IDC_ERR_ARG;
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;

		if (!r && name[0] != '.') {
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
			    stat(path, &st) || !S_ISREG(st.st_mode) || st.st_size > TRUST_FILE_MAX)
				r = IDC_ERR_ARG;
			else
				r = load_file(t, path, crl);
		}
		free(ents[i]);
	}
	free(ents);
	return r;
}

int idc_trust_load(struct idc_trust **out, const char *csca_dir,
		   const char *crl_dir)
{
	struct idc_trust *t;
	int r;

	if (!out || !csca_dir)
		return IDC_ERR_ARG;
	*out = NULL;
	t = OPENSSL_zalloc(sizeof(*t));
	if (!t)
		return IDC_ERR_NOMEM;
	t->store = X509_STORE_new();
	if (!t->store) {
		OPENSSL_free(t);
		return IDC_ERR_NOMEM;
	}
	r = load_dir(t, csca_dir, 0);
	if (!r && !t->ncerts)
		r = IDC_ERR_ARG;
	if (!r && crl_dir) {
		r = load_dir(t, crl_dir, 1);
		if (!r && !t->ncrls)
			r = IDC_ERR_ARG;
		/* The DS (the leaf) against its CSCA's CRL. */
		if (!r && !X509_STORE_set_flags(t->store, X509_V_FLAG_CRL_CHECK))
			r = IDC_ERR_CRYPTO;
	}
	if (r) {
		idc_trust_free(t);
		return r;
	}
	*out = t;
	return 0;
}

/* --- the LDS Security Object ------------------------------------------ */

static int der_small_int(const struct idc_tlv *t, int max, int *v)
{
	if (t->tag != 0x02 || t->len != 1 || t->val[0] > max)
		return IDC_ERR_PA_MALFORMED;
	*v = t->val[0];
	return 0;
}

/*
 * LDSSecurityObject ::= SEQUENCE { version INTEGER (0 | 1),
 *   hashAlgorithm AlgorithmIdentifier,
 *   dataGroupHashValues SEQUENCE SIZE (2..16) OF
 *     SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING },
 *   ldsVersionInfo LDSVersionInfo OPTIONAL }   -- version 1 only
 */
int idc_ldsso_parse(const uint8_t *der, size_t len, struct idc_ldsso *so)
{
	struct idc_tlv seq, ver, alg, oid, list, e, num, h, vi;
	const uint8_t *p;
	const unsigned char *q;
	ASN1_OBJECT *obj;
	size_t left, off;
	uint32_t seen = 0;
	int r, dg;

	if (!so || (!der && len))
		return IDC_ERR_ARG;
	memset(so, 0, sizeof(*so));
	so->hash_nid = NID_undef;
	if (len > IDC_SOD_MAX || idc_tlv_get(der, len, &seq) ||
	    seq.tag != 0x30 || seq.hdr + seq.len != len)
		return IDC_ERR_PA_MALFORMED;
	p = seq.val;
	left = seq.len;
#define NEXT(t) do { \
		if (idc_tlv_get(p, left, &(t))) \
			return IDC_ERR_PA_MALFORMED; \
		p += (t).hdr + (t).len; \
		left -= (t).hdr + (t).len; \
	} while (0)
	NEXT(ver);
	r = der_small_int(&ver, 1, &so->version);
	if (r)
		return r;
	NEXT(alg);
	NEXT(list);
	if (left) {
		NEXT(vi);
		if (so->version != 1 || vi.tag != 0x30 || left)
			return IDC_ERR_PA_MALFORMED;
	}
#undef NEXT
	/* hashAlgorithm: SEQUENCE { OID, NULL or nothing } */
	if (alg.tag != 0x30 || idc_tlv_get(alg.val, alg.len, &oid) || oid.tag != 0x06)
		return IDC_ERR_PA_MALFORMED;
	off = oid.hdr + oid.len;
	if (off != alg.len && !(alg.len - off == 2 && alg.val[off] == 0x05 &&
				alg.val[off + 1] == 0x00))
		return IDC_ERR_PA_MALFORMED;
	q = alg.val;
	obj = d2i_ASN1_OBJECT(NULL, &q, (long)off);
	if (!obj || q != alg.val + off) {
		ASN1_OBJECT_free(obj);
		return IDC_ERR_PA_MALFORMED;
	}
	so->hash_nid = OBJ_obj2nid(obj);
	ASN1_OBJECT_free(obj);
	/* dataGroupHashValues */
	if (list.tag != 0x30)
		return IDC_ERR_PA_MALFORMED;
	p = list.val;
	left = list.len;
	while (left) {
		if (idc_tlv_get(p, left, &e) || e.tag != 0x30 ||
		    so->count >= IDC_LDSSO_DG_MAX)
			return IDC_ERR_PA_MALFORMED;
		if (idc_tlv_get(e.val, e.len, &num) ||
		    idc_tlv_get(e.val + num.hdr + num.len, e.len - num.hdr - num.len, &h) ||
		    num.hdr + num.len + h.hdr + h.len != e.len)
			return IDC_ERR_PA_MALFORMED;
		r = der_small_int(&num, 16, &dg);
		if (r || !dg || h.tag != 0x04 || !h.len || h.len > EVP_MAX_MD_SIZE ||
		    (seen & 1u << dg))
			return IDC_ERR_PA_MALFORMED;
		seen |= 1u << dg;
		so->dg[so->count].dg = dg;
		so->dg[so->count].hash = h.val;
		so->dg[so->count].len = h.len;
		so->count++;
		p += e.hdr + e.len;
		left -= e.hdr + e.len;
	}
	return so->count ? 0 : IDC_ERR_PA_MALFORMED;
}

/* --- verification ------------------------------------------------------- */

static int map_x509_error(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		return IDC_ERR_PA_UNKNOWN_CSCA;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return IDC_ERR_PA_EXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return IDC_ERR_PA_REVOKED;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
		return IDC_ERR_PA_CRL;
	}
	return IDC_ERR_PA_CHAIN;
}

/* The DS certificate's path to a CSCA; the fingerprints of both. */
static int check_chain(const struct idc_trust *t, X509 *ds,
		       STACK_OF(X509) *untrusted, struct idc_pa_result *res)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain;
	unsigned int n;
	int r;

	if (!ctx)
		return IDC_ERR_NOMEM;
	if (!X509_STORE_CTX_init(ctx, t->store, ds, untrusted)) {
		X509_STORE_CTX_free(ctx);
		return IDC_ERR_CRYPTO;
	}
	if (X509_verify_cert(ctx) != 1) {
		r = map_x509_error(X509_STORE_CTX_get_error(ctx));
		goto out;
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	r = IDC_ERR_CRYPTO;
	if (chain && sk_X509_num(chain) >= 2 &&
	    X509_digest(sk_X509_value(chain, sk_X509_num(chain) - 1), EVP_sha256(),
			res->csca_sha256, &n) && n == 32 &&
	    X509_digest(ds, EVP_sha256(), res->ds_sha256, &n) && n == 32)
		r = 0;
out:
	X509_STORE_CTX_free(ctx);
	return r;
}

static int check_hashes(const struct idc_ldsso *so, const struct idc_doc *doc,
			struct idc_pa_result *res)
{
	static const int groups[] = { IDC_EF_DG1, IDC_EF_DG2 };
	const EVP_MD *md = EVP_get_digestbynid(so->hash_nid);
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned int hl, i, j;

	/* SHA-1 SODs exist on old documents; not accepted here (docs/idcard.md). */
	if (!md || (so->hash_nid != NID_sha224 && so->hash_nid != NID_sha256 &&
		    so->hash_nid != NID_sha384 && so->hash_nid != NID_sha512))
		return IDC_ERR_PA_ALGORITHM;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		const struct idc_file *f = &doc->ef[groups[i]];
		int dg = idc_ef_dg(groups[i]);

		if (!f->data)
			return IDC_ERR_ARG;
		for (j = 0; j < so->count; j++)
			if (so->dg[j].dg == dg)
				break;
		if (j == so->count)
			return IDC_ERR_PA_HASH;	/* a group the SOD does not cover */
		if (!EVP_Digest(f->data, f->len, h, &hl, md, NULL))
			return IDC_ERR_CRYPTO;
		j = hl != so->dg[j].len || CRYPTO_memcmp(h, so->dg[j].hash, hl);
		OPENSSL_cleanse(h, sizeof(h));
		if (j)
			return IDC_ERR_PA_HASH;
		res->dg_checked |= 1u << dg;
	}
	return 0;
}

int idc_pa_verify(const struct idc_trust *t, const struct idc_doc *doc,
		  struct idc_pa_result *res)
{
	const struct idc_file *sod;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(CMS_SignerInfo) *sis;
	STACK_OF(X509) *certs = NULL;
	ASN1_OBJECT *ldsso = NULL;
	ASN1_OCTET_STRING **content;
	X509 *signer = NULL;
	struct idc_ldsso so;
	struct idc_tlv w;
	const unsigned char *p;
	int r;

	if (!t || !doc || !res)
		return IDC_ERR_ARG;
	memset(res, 0, sizeof(*res));
	sod = &doc->ef[IDC_EF_SOD];
	if (!sod->data)
		return IDC_ERR_ARG;
	/* 77 { ContentInfo } and nothing else. */
	if (sod->len > IDC_SOD_MAX || idc_tlv_file(sod->data, sod->len, 0x77, &w))
		return IDC_ERR_PA_MALFORMED;
	p = w.val;
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)w.len);
	r = IDC_ERR_PA_MALFORMED;
	if (!cms || p != w.val + w.len ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		goto out;
	ldsso = OBJ_txt2obj(LDSSO_OID, 1);
	if (!ldsso) {
		r = IDC_ERR_NOMEM;
		goto out;
	}
	content = CMS_get0_content(cms);
	sis = CMS_get0_SignerInfos(cms);
	if (OBJ_cmp(CMS_get0_eContentType(cms), ldsso) || !content || !*content ||
	    !sis || sk_CMS_SignerInfo_num(sis) != 1)
		goto out;
	/* The DS certificate travels in the SOD (Doc 9303 part 10). */
	certs = CMS_get1_certs(cms);
	if (!certs || CMS_set1_signers_certs(cms, NULL, 0) < 1)
		goto out;
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(sis, 0), NULL, &signer,
				 NULL, NULL);
	if (!signer)
		goto out;
	r = check_chain(t, signer, certs, res);
	if (r)
		goto out;
	/* The authority: signature, signed attributes, the path again. */
	if (CMS_verify(cms, NULL, t->store, NULL, NULL, CMS_BINARY) != 1) {
		r = IDC_ERR_PA_SIGNATURE;
		goto out;
	}
	r = idc_ldsso_parse(ASN1_STRING_get0_data(*content),
			    (size_t)ASN1_STRING_length(*content), &so);
	if (r)
		goto out;
	res->hash_nid = so.hash_nid;
	r = check_hashes(&so, doc, res);
out:
	if (r)
		memset(res, 0, sizeof(*res));
	sk_X509_pop_free(certs, X509_free);
	ASN1_OBJECT_free(ldsso);
	CMS_ContentInfo_free(cms);
	return r;
}
