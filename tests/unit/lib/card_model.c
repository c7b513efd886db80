// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * An in-process ICAO chip for the tests (card_model.h): a test PKI,
 * documents signed by it, and the card side of BAC and Secure Messaging.
 * It builds its data with its own small TLV writer, so a mistake in
 * lib/idcard's parsers is not mirrored here.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <linux/bioreader.h>

#include "idcard/idcard.h"
#include "sim/sim_identity.h"
#include "card_model.h"

/* --- a growable buffer and a TLV writer ------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void put(struct buf *b, const void *v, size_t n)
{
	if (b->err || !n)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 64;
		uint8_t *q = OPENSSL_clear_realloc(b->p, b->cap, cap);

		if (!q) {
			b->err = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void put_tlv(struct buf *b, uint32_t tag, const void *v, size_t n)
{
	uint8_t h[8];
	size_t i = 0;

	if (tag > 0xff)
		h[i++] = (uint8_t)(tag >> 8);
	h[i++] = (uint8_t)tag;
	if (n < 0x80) {
		h[i++] = (uint8_t)n;
	} else if (n < 0x100) {
		h[i++] = 0x81;
		h[i++] = (uint8_t)n;
	} else {
		h[i++] = 0x82;
		h[i++] = (uint8_t)(n >> 8);
		h[i++] = (uint8_t)n;
	}
	put(b, h, i);
	put(b, v, n);
}

/* Wraps @inner (consumed) in @tag, appended to @b. */
static void put_wrap(struct buf *b, uint32_t tag, struct buf *inner)
{
	if (inner->err)
		b->err = 1;
	put_tlv(b, tag, inner->p, inner->len);
	OPENSSL_clear_free(inner->p, inner->cap);
	memset(inner, 0, sizeof(*inner));
}

static void buf_free(struct buf *b)
{
	OPENSSL_clear_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

/* --- the test PKI ----------------------------------------------------- */

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static X509_NAME *make_name(const char *cc, const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	if (n && X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)cc, -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Test Issuer", -1, -1, 0) &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0))
		return n;
	X509_NAME_free(n);
	return NULL;
}

/* A v3 certificate for @key, valid from @from to @to seconds from now. */
static X509 *make_cert(EVP_PKEY *key, X509_NAME *subj, X509 *issuer,
		       EVP_PKEY *issuer_key, long serial, long from, long to, int ca)
{
	X509 *x = X509_new();
	int ok;

	if (!x)
		return NULL;
	ok = X509_set_version(x, 2) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	     X509_set_subject_name(x, subj) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), from) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), to) &&
	     X509_set_pubkey(x, key) &&
	     add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (ok && ca)
		ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
		     add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (ok && !ca)
		ok = add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") &&
		     add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
	if (ok)
		ok = X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static X509_CRL *make_crl(const struct card_pki *p, int revoke_ds)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	X509_REVOKED *rv = NULL;
	int ok;

	ok = c && t && X509_CRL_set_version(c, 1) &&
	     X509_CRL_set_issuer_name(c, X509_get_subject_name(p->csca)) &&
	     X509_gmtime_adj(t, -3600) && X509_CRL_set1_lastUpdate(c, t) &&
	     X509_gmtime_adj(t, 30 * 86400L) && X509_CRL_set1_nextUpdate(c, t);
	if (ok && revoke_ds) {
		rv = X509_REVOKED_new();
		ok = rv && X509_REVOKED_set_serialNumber(rv, X509_get_serialNumber(p->ds)) &&
		     X509_gmtime_adj(t, -60) && X509_REVOKED_set_revocationDate(rv, t) &&
		     X509_CRL_add0_revoked(c, rv);
		if (!ok)
			X509_REVOKED_free(rv);
	}
	if (ok) {
		/* The CSCA's key identifier: several CSCAs may share a name. */
		X509V3_CTX ctx;
		X509_EXTENSION *e;

		X509V3_set_ctx(&ctx, p->csca, NULL, NULL, c, 0);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		ok = e && X509_CRL_add_ext(c, e, -1);
		X509_EXTENSION_free(e);
	}
	ok = ok && X509_CRL_sort(c) && X509_CRL_sign(c, p->csca_key, EVP_sha256()) > 0;
	ASN1_TIME_free(t);
	if (!ok) {
		X509_CRL_free(c);
		return NULL;
	}
	return c;
}

void card_pki_free(struct card_pki *p)
{
	EVP_PKEY_free(p->csca_key);
	X509_free(p->csca);
	EVP_PKEY_free(p->ds_key);
	X509_free(p->ds);
	X509_CRL_free(p->crl);
	memset(p, 0, sizeof(*p));
}

int card_pki_make(struct card_pki *p, const char *cc, unsigned int flags)
{
	X509_NAME *n1, *n2;
	long serial;

	memset(p, 0, sizeof(*p));
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		return -1;
	serial = (serial & 0xffffff) + 2;
	p->csca_key = EVP_EC_gen("P-256");
	p->ds_key = EVP_EC_gen("P-256");
	n1 = make_name(cc, "CSCA");
	n2 = make_name(cc, "Document Signer");
	if (p->csca_key && p->ds_key && n1 && n2) {
		p->csca = make_cert(p->csca_key, n1, NULL, NULL, 1, -86400L, 3650 * 86400L, 1);
		if (p->csca)
			p->ds = make_cert(p->ds_key, n2, p->csca, p->csca_key, serial,
					  flags & CARD_PKI_DS_EXPIRED ? -2 * 86400L : -86400L,
					  flags & CARD_PKI_DS_EXPIRED ? -86400L : 365 * 86400L, 0);
		if (p->ds)
			p->crl = make_crl(p, !!(flags & CARD_PKI_DS_REVOKED));
	}
	X509_NAME_free(n1);
	X509_NAME_free(n2);
	if (!p->crl) {
		card_pki_free(p);
		return -1;
	}
	return 0;
}

static int write_pem(const char *dir, const char *name, X509 *x, X509_CRL *c)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = x ? PEM_write_X509(f, x) : PEM_write_X509_CRL(f, c);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int card_pki_write(const struct card_pki *p, const char *csca_dir,
		   const char *crl_dir)
{
	if (csca_dir && write_pem(csca_dir, "csca.pem", p->csca, NULL))
		return -1;
	if (crl_dir && write_pem(crl_dir, "csca.crl", NULL, p->crl))
		return -1;
	return 0;
}

/* --- the document ----------------------------------------------------- */

/* @n characters of @s into @out, padded with '<'. */
static void field(char *out, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(out, '<', n);
	memcpy(out, s, l < n ? l : n);
}

static char cd(const char *s, size_t n)
{
	int d = idc_mrz_check_digit(s, n);

	return d < 0 ? '?' : (char)('0' + d);
}

/* A TD1 MRZ (3 x 30 characters), as on an ID card. */
static void make_td1(char m[90], const struct card_person *w)
{
	char comp[25 + 7 + 7 + 11];

	memset(m, '<', 90);
	memcpy(m, "I<UTO", 5);
	field(m + 5, w->doc_number, 9);
	m[14] = cd(m + 5, 9);
	memcpy(m + 30, w->birth, 6);
	m[36] = cd(m + 30, 6);
	m[37] = 'F';
	memcpy(m + 38, w->expiry, 6);
	m[44] = cd(m + 38, 6);
	memcpy(m + 45, "UTO", 3);
	memcpy(comp, m + 5, 25);
	memcpy(comp + 25, m + 30, 7);
	memcpy(comp + 32, m + 38, 7);
	memcpy(comp + 39, m + 48, 11);
	m[59] = cd(comp, sizeof(comp));
	field(m + 60, w->name, 30);
}

static int sign_sod(struct card_doc *d, const struct card_pki *pki,
		    const uint8_t *so, size_t so_len, unsigned int flags)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("2.23.136.1.1.1", 1);
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	BIO *in = BIO_new_mem_buf(so, (int)so_len);
	unsigned char *der = NULL;
	struct buf sod = { 0 };
	int n = -1, ok;

	ok = oid && in &&
	     (cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY)) &&
	     CMS_set1_eContentType(cms, oid) &&
	     (si = CMS_add1_signer(cms, pki->ds, pki->ds_key, EVP_sha256(),
				   CMS_BINARY | CMS_NOSMIMECAP)) &&
	     CMS_final(cms, in, NULL, CMS_BINARY);
	if (ok && (flags & CARD_DOC_SOD_BADSIG)) {
		ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);

		unsigned char tmp[256];
		int l = sig ? ASN1_STRING_length(sig) : 0;

		ok = l > 20 && l <= (int)sizeof(tmp);
		if (ok) {
			memcpy(tmp, ASN1_STRING_get0_data(sig), (size_t)l);
			tmp[l - 9] ^= 0x04;
			ok = ASN1_STRING_set(sig, tmp, l);
		}
	}
	if (ok)
		n = i2d_CMS_ContentInfo(cms, &der);
	if (n > 0) {
		put_tlv(&sod, 0x77, der, (size_t)n);
		d->sod = sod.p;
		d->sod_len = sod.len;
	}
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	ASN1_OBJECT_free(oid);
	return n > 0 && !sod.err ? 0 : -1;
}

int card_doc_make(struct card_doc *d, const struct card_person *w,
		  const struct card_pki *pki, unsigned int flags)
{
	static const uint8_t sha256_oid[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
	static const uint8_t sha1_oid[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
	static const uint8_t tags[] = { 0x61, 0x75 };
	struct buf com = { 0 }, in = { 0 }, dg1 = { 0 }, dg2 = { 0 };
	struct buf bit = { 0 }, bht = { 0 }, grp = { 0 }, so = { 0 }, alg = { 0 }, list = { 0 }, e = { 0 };
	uint8_t tpl[BIOREADER_TEMPLATE_MAX], h[32];
	const uint8_t one = 1, v0 = 0, hv[2] = { 0x01, 0x01 }, face = 0x02;
	const uint8_t owner[2] = { IDC_CBEFF_OWNER_BIOREADER >> 8, IDC_CBEFF_OWNER_BIOREADER & 0xff };
	const uint8_t type[2] = { IDC_CBEFF_TYPE_BIOREADER_TPL >> 8, IDC_CBEFF_TYPE_BIOREADER_TPL & 0xff };
	struct idc_mrz_key k = { w->doc_number, 0, w->birth, 0, w->expiry, 0 };
	const EVP_MD *md = flags & CARD_DOC_SHA1 ? EVP_sha1() : EVP_sha256();
	char mrz[90];
	size_t tl;
	unsigned int hl;
	int r = -1, i;

	memset(d, 0, sizeof(*d));
	if (idc_mrz_info(&k, d->mrz_info))
		return -1;
	/* EF.COM: LDS 1.7, Unicode 4.0.0, DG1 and DG2. */
	put_tlv(&in, 0x5f01, "0107", 4);
	put_tlv(&in, 0x5f36, "040000", 6);
	put_tlv(&in, 0x5c, tags, sizeof(tags));
	put_wrap(&com, 0x60, &in);
	/* DG1: the MRZ. */
	if (flags & CARD_DOC_DG1_OTHER) {
		/* Another, well-formed document number: the issuer signed it. */
		struct card_person other = *w;

		other.doc_number = strcmp(w->doc_number, "X0000000") ? "X0000000" : "X0000001";
		make_td1(mrz, &other);
	} else {
		make_td1(mrz, w);
	}
	put_tlv(&in, 0x5f1f, mrz, sizeof(mrz));
	put_wrap(&dg1, 0x61, &in);
	/* DG2: one biometric information template with the reader's template. */
	tl = sim_identity_template(w->identity, w->dim, tpl, sizeof(tpl));
	if (!tl)
		goto out;
	put_tlv(&bht, 0x80, hv, 2);		/* ICAO header version 1.1 */
	put_tlv(&bht, 0x81, &face, 1);		/* biometric type: face */
	put_tlv(&bht, 0x87, owner, 2);
	put_tlv(&bht, 0x88, type, 2);
	put_wrap(&bit, 0xa1, &bht);
	put_tlv(&bit, 0x5f2e, tpl, tl);
	if (flags & CARD_DOC_PHOTO) {
		/*
		 * A face image first, as a real DG2 holds one: an ISO/IEC
		 * 19794-5 block (owner 0x0101, type 0x0008) of the size of a
		 * passport photo, its bytes a deterministic filler between a
		 * JPEG's start and end markers.  The reader ignores it.
		 */
		static const uint8_t iso_owner[2] = { 0x01, 0x01 }, iso_type[2] = { 0x00, 0x08 };
		struct buf pbht = { 0 }, pbit = { 0 };
		uint8_t *img = OPENSSL_malloc(CARD_PHOTO_BYTES);
		uint32_t x = (uint32_t)w->identity * 2654435761u + 1;
		const uint8_t two = 2;
		size_t k;

		if (!img)
			goto out;
		memcpy(img, "FAC\0" "010\0", 8);
		for (k = 8; k < CARD_PHOTO_BYTES; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			img[k] = (uint8_t)x;
		}
		img[8] = 0xff;
		img[9] = 0xd8;
		img[CARD_PHOTO_BYTES - 2] = 0xff;
		img[CARD_PHOTO_BYTES - 1] = 0xd9;
		put_tlv(&pbht, 0x80, hv, 2);
		put_tlv(&pbht, 0x81, &face, 1);
		put_tlv(&pbht, 0x87, iso_owner, 2);
		put_tlv(&pbht, 0x88, iso_type, 2);
		put_wrap(&pbit, 0xa1, &pbht);
		put_tlv(&pbit, 0x5f2e, img, CARD_PHOTO_BYTES);
		OPENSSL_free(img);
		put_tlv(&grp, 0x02, &two, 1);
		put_wrap(&grp, 0x7f60, &pbit);
		if (pbit.err || pbht.err)
			grp.err = 1;
		buf_free(&pbit);
		buf_free(&pbht);
	} else {
		put_tlv(&grp, 0x02, &one, 1);
	}
	put_wrap(&grp, 0x7f60, &bit);
	put_wrap(&in, 0x7f61, &grp);
	put_wrap(&dg2, 0x75, &in);
	if (com.err || dg1.err || dg2.err)
		goto out;
	/* The LDS Security Object over DG1 and DG2. */
	put_tlv(&so, 0x02, &v0, 1);
	if (flags & CARD_DOC_SHA1)
		put_tlv(&alg, 0x06, sha1_oid, sizeof(sha1_oid));
	else
		put_tlv(&alg, 0x06, sha256_oid, sizeof(sha256_oid));
	put_tlv(&alg, 0x05, NULL, 0);
	put_wrap(&so, 0x30, &alg);
	for (i = 1; i <= 2; i++) {
		struct buf *g = i == 1 ? &dg1 : &dg2;
		uint8_t dg = (uint8_t)i;

		if (i == 2 && (flags & CARD_DOC_NO_DG2_HASH))
			continue;
		if (!EVP_Digest(g->p, g->len, h, &hl, md, NULL))
			goto out;
		put_tlv(&e, 0x02, &dg, 1);
		put_tlv(&e, 0x04, h, hl);
		put_wrap(&list, 0x30, &e);
	}
	put_wrap(&so, 0x30, &list);
	put_wrap(&in, 0x30, &so);
	if (in.err || sign_sod(d, pki, in.p, in.len, flags))
		goto out;
	if (flags & CARD_DOC_DG2_ALTERED)
		dg2.p[dg2.len - 1] ^= 0x01;	/* the last embedding value */
	d->com = com.p;
	d->com_len = com.len;
	d->dg1 = dg1.p;
	d->dg1_len = dg1.len;
	d->dg2 = dg2.p;
	d->dg2_len = dg2.len;
	memset(&com, 0, sizeof(com));
	memset(&dg1, 0, sizeof(dg1));
	memset(&dg2, 0, sizeof(dg2));
	r = 0;
out:
	buf_free(&com);
	buf_free(&dg1);
	buf_free(&dg2);
	buf_free(&in);
	buf_free(&so);
	buf_free(&alg);
	buf_free(&list);
	buf_free(&e);
	buf_free(&bit);
	buf_free(&bht);
	buf_free(&grp);
	OPENSSL_cleanse(tpl, sizeof(tpl));
	OPENSSL_cleanse(mrz, sizeof(mrz));
	if (r)
		card_doc_free(d);
	return r;
}

void card_doc_free(struct card_doc *d)
{
	OPENSSL_clear_free(d->com, d->com_len);
	OPENSSL_clear_free(d->sod, d->sod_len);
	OPENSSL_clear_free(d->dg1, d->dg1_len);
	OPENSSL_clear_free(d->dg2, d->dg2_len);
	memset(d, 0, sizeof(*d));
}

/* --- the document on disk -------------------------------------------- */

static const struct {
	const char *name;
	size_t off_p, off_len;
} doc_files[] = {
	{ "011E", offsetof(struct card_doc, com), offsetof(struct card_doc, com_len) },
	{ "011D", offsetof(struct card_doc, sod), offsetof(struct card_doc, sod_len) },
	{ "0101", offsetof(struct card_doc, dg1), offsetof(struct card_doc, dg1_len) },
	{ "0102", offsetof(struct card_doc, dg2), offsetof(struct card_doc, dg2_len) },
};

#define DOC_P(d, i)	((uint8_t **)((char *)(d) + doc_files[i].off_p))
#define DOC_LEN(d, i)	((size_t *)((char *)(d) + doc_files[i].off_len))

int card_doc_write(const struct card_doc *d, const char *dir, const char *more)
{
	char path[4096];
	FILE *f;
	size_t i;
	int ok = 1;

	for (i = 0; ok && i < sizeof(doc_files) / sizeof(doc_files[0]); i++) {
		size_t n = *DOC_LEN(d, i);

		snprintf(path, sizeof(path), "%s/%s", dir, doc_files[i].name);
		f = fopen(path, "wb");
		ok = f && fwrite(*DOC_P(d, i), 1, n, f) == n;
		if (f && fclose(f))
			ok = 0;
	}
	snprintf(path, sizeof(path), "%s/info", dir);
	f = ok ? fopen(path, "w") : NULL;
	if (!f)
		return -1;
	ok = fprintf(f, "MRZ_INFO='%.24s'\n%s", d->mrz_info, more ? more : "") > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int read_all(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;
	int ok;

	if (!f)
		return -1;
	ok = !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && n <= 65536 &&
	     !fseek(f, 0, SEEK_SET) && (p = OPENSSL_malloc(n ? (size_t)n : 1)) &&
	     fread(p, 1, (size_t)n, f) == (size_t)n;
	fclose(f);
	if (!ok) {
		OPENSSL_free(p);
		return -1;
	}
	*out = p;
	*len = (size_t)n;
	return 0;
}

int card_doc_read(struct card_doc *d, const char *dir)
{
	char path[4096], line[256];
	FILE *f;
	size_t i;
	int found = 0;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < sizeof(doc_files) / sizeof(doc_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, doc_files[i].name);
		if (read_all(path, DOC_P(d, i), DOC_LEN(d, i))) {
			card_doc_free(d);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/info", dir);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *v = line + 9;
		size_t n;

		if (strncmp(line, "MRZ_INFO=", 9))
			continue;
		v[strcspn(v, "\r\n")] = 0;
		n = strlen(v);
		if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
			v++;
			n -= 2;
		}
		if (n == sizeof(d->mrz_info)) {
			memcpy(d->mrz_info, v, n);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	OPENSSL_cleanse(line, sizeof(line));
	if (!found) {
		card_doc_free(d);
		return -1;
	}
	return 0;
}

/* --- the chip --------------------------------------------------------- */

#define NFILES 4

struct card_model {
	struct {
		uint16_t fid;
		uint8_t *data;
		size_t len;
	} f[NFILES];
	uint8_t k_enc[16], k_mac[16];
	uint8_t rnd_ic[8];
	int app, challenge, bac;
	struct idc_sm sm;
	int sel;			/* file index, -1: none */
	enum card_fault fault;
	uint16_t fault_fid;
	unsigned int max_read, apdus;
};

struct card_model *card_model_new(const struct card_doc *d)
{
	struct card_model *c = OPENSSL_zalloc(sizeof(*c));
	const uint8_t *src[NFILES] = { d->com, d->sod, d->dg1, d->dg2 };
	const size_t len[NFILES] = { d->com_len, d->sod_len, d->dg1_len, d->dg2_len };
	const uint16_t fid[NFILES] = { 0x011e, 0x011d, 0x0101, 0x0102 };
	struct idc_bac b;
	int i;

	if (!c)
		return NULL;
	c->sel = -1;
	for (i = 0; i < NFILES; i++) {
		c->f[i].fid = fid[i];
		c->f[i].data = OPENSSL_memdup(src[i], len[i]);
		c->f[i].len = len[i];
		if (!c->f[i].data) {
			card_model_free(c);
			return NULL;
		}
	}
	if (idc_bac_keys(&b, d->mrz_info)) {
		card_model_free(c);
		return NULL;
	}
	memcpy(c->k_enc, b.k_enc, 16);
	memcpy(c->k_mac, b.k_mac, 16);
	OPENSSL_cleanse(&b, sizeof(b));
	return c;
}

void card_model_free(struct card_model *c)
{
	int i;

	if (!c)
		return;
	for (i = 0; i < NFILES; i++)
		OPENSSL_clear_free(c->f[i].data, c->f[i].len);
	OPENSSL_clear_free(c, sizeof(*c));
}

void card_model_set_fault(struct card_model *c, enum card_fault f, uint16_t fid)
{
	int i;

	c->fault = f;
	c->fault_fid = fid;
	if (f == CARD_FAULT_FILE_SHORT)
		for (i = 0; i < NFILES; i++)
			if (c->f[i].fid == fid && c->f[i].len > 16)
				c->f[i].len -= 16;	/* the TLV length stays */
}

void card_model_set_max_read(struct card_model *c, unsigned int n)
{
	c->max_read = n;
}

unsigned int card_model_apdus(const struct card_model *c)
{
	return c->apdus;
}

static int fault_on(const struct card_model *c, enum card_fault f)
{
	return c->fault == f && c->sel >= 0 &&
	       (!c->fault_fid || c->fault_fid == c->f[c->sel].fid);
}

static int sw_only(uint16_t sw, uint8_t *r, size_t *rlen)
{
	r[0] = (uint8_t)(sw >> 8);
	r[1] = (uint8_t)sw;
	*rlen = 2;
	return 0;
}

/* Before BAC: SELECT by AID, GET CHALLENGE, EXTERNAL AUTHENTICATE. */
static int plain(struct card_model *c, const uint8_t *a, size_t len,
		 uint8_t *r, size_t *rlen)
{
	static const uint8_t aid[] = { 0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };
	uint8_t s[32], k_ic[16], pad[40], mac[8];
	int ok;

	if (a[1] == 0xa4 && a[2] == 0x04 && len >= 5 + 7 && a[4] == 7 &&
	    !memcmp(a + 5, aid, 7)) {
		c->app = 1;
		c->bac = c->challenge = 0;
		return sw_only(0x9000, r, rlen);
	}
	if (!c->app)
		return sw_only(0x6982, r, rlen);
	if (a[1] == 0x84 && len == 5 && a[4] == 8) {
		if (RAND_bytes(c->rnd_ic, 8) != 1)
			return -1;
		c->challenge = 1;
		memcpy(r, c->rnd_ic, 8);
		r[8] = 0x90;
		r[9] = 0x00;
		*rlen = 10;
		return 0;
	}
	if (a[1] == 0x82 && len == 5 + 40 + 1 && a[4] == 40 && c->challenge) {
		c->challenge = 0;
		/* M_IFD, then S = RND.IFD || RND.IC || K.IFD. */
		memcpy(pad, a + 5, 32);
		idc_pad(pad, 32, sizeof(pad));
		ok = !idc_retail_mac(c->k_mac, pad, 40, mac) &&
		     !CRYPTO_memcmp(mac, a + 5 + 32, 8) &&
		     !idc_3des_cbc(c->k_enc, NULL, a + 5, 32, s, 0) &&
		     !CRYPTO_memcmp(s + 8, c->rnd_ic, 8);
		if (!ok)
			return sw_only(0x6300, r, rlen);
		/* R = RND.IC || RND.IFD || K.IC, encrypted and MAC'd. */
		if (RAND_priv_bytes(k_ic, 16) != 1 ||
		    idc_bac_session(s + 16, k_ic, c->rnd_ic, s, &c->sm))
			return -1;
		memcpy(pad, c->rnd_ic, 8);
		memcpy(pad + 8, s, 8);
		if (c->fault == CARD_FAULT_BAD_CRYPTOGRAM)
			pad[8] ^= 0x01;
		memcpy(pad + 16, k_ic, 16);
		if (idc_3des_cbc(c->k_enc, NULL, pad, 32, r, 1))
			return -1;
		memcpy(pad, r, 32);
		idc_pad(pad, 32, sizeof(pad));
		if (idc_retail_mac(c->k_mac, pad, 40, r + 32))
			return -1;
		r[40] = 0x90;
		r[41] = 0x00;
		*rlen = 42;
		c->bac = 1;
		c->sel = -1;
		OPENSSL_cleanse(s, sizeof(s));
		OPENSSL_cleanse(k_ic, sizeof(k_ic));
		OPENSSL_cleanse(pad, sizeof(pad));
		return 0;
	}
	return sw_only(c->app ? 0x6982 : 0x6d00, r, rlen);
}

/* Protects a response: [DO'87'] DO'99' DO'8E' SW. */
static int sm_response(struct card_model *c, const uint8_t *data, size_t n,
		       uint16_t sw, uint8_t *r, size_t cap, size_t *rlen)
{
	uint8_t m[8 + 300], blk[264];
	size_t len = 0, pl, ml;
	int ret = -1;

	if (n > 256)
		return -1;
	idc_sm_ssc_inc(&c->sm);
	memcpy(m, c->sm.ssc, 8);
	if (n) {
		memcpy(blk, data, n);
		pl = idc_pad(blk, n, sizeof(blk));
		m[8 + len++] = 0x87;
		if (pl + 1 >= 0x80)
			m[8 + len++] = 0x81;
		m[8 + len++] = (uint8_t)(pl + 1);
		m[8 + len++] = 0x01;
		if (idc_3des_cbc(c->sm.ks_enc, NULL, blk, pl, m + 8 + len, 1))
			goto out;
		len += pl;
	}
	m[8 + len++] = 0x99;
	m[8 + len++] = 2;
	m[8 + len++] = (uint8_t)(sw >> 8);
	m[8 + len++] = (uint8_t)sw;
	if (len + 12 > cap)
		goto out;
	memcpy(r, m + 8, len);
	ml = idc_pad(m, 8 + len, sizeof(m));
	r[len] = 0x8e;
	r[len + 1] = 8;
	if (!ml || idc_retail_mac(c->sm.ks_mac, m, ml, r + len + 2))
		goto out;
	len += 10;
	r[len++] = (uint8_t)(sw >> 8);
	r[len++] = (uint8_t)sw;
	*rlen = len;
	ret = 0;
out:
	OPENSSL_cleanse(m, sizeof(m));
	OPENSSL_cleanse(blk, sizeof(blk));
	return ret;
}

/* SELECT EF / READ BINARY under Secure Messaging. */
static int secure(struct card_model *c, const uint8_t *a, size_t len,
		  uint8_t *r, size_t cap, size_t *rlen)
{
	uint8_t m[8 + 300], data[264], mac[8];
	const uint8_t *p, *do87 = NULL, *do8e = NULL;
	size_t lc, left, n87 = 0, dlen = 0, ml, off, avail, i;
	int le = -1, ret;
	uint16_t fid, sw;

	/* CLA' INS P1 P2 Lc DOs 00 */
	if (len < 6 || a[4] + 6u != len || a[len - 1] != 0)
		return sw_only(0x6988, r, rlen);
	lc = a[4];
	p = a + 5;
	left = lc;
	while (left >= 2) {
		size_t l = p[1], h = 2;

		if (l == 0x81 && left >= 3) {
			l = p[2];
			h = 3;
		}
		if (h + l > left)
			return sw_only(0x6988, r, rlen);
		if (p[0] == 0x87) {
			do87 = p + h;
			n87 = l;
		} else if (p[0] == 0x97 && l == 1) {
			le = p[2] ? p[2] : 256;
		} else if (p[0] == 0x8e && l == 8 && h + l == left) {
			do8e = p + h;
			break;
		} else {
			return sw_only(0x6988, r, rlen);
		}
		p += h + l;
		left -= h + l;
	}
	if (!do8e)
		return sw_only(0x6988, r, rlen);
	idc_sm_ssc_inc(&c->sm);
	memcpy(m, c->sm.ssc, 8);
	memcpy(m + 8, a, 4);
	m[8] = a[0];
	idc_pad(m + 8, 4, 8);
	memcpy(m + 16, a + 5, (size_t)(do8e - 2 - (a + 5)));
	ml = idc_pad(m, 16 + (size_t)(do8e - 2 - (a + 5)), sizeof(m));
	if (!ml || idc_retail_mac(c->sm.ks_mac, m, ml, mac) || CRYPTO_memcmp(mac, do8e, 8)) {
		c->bac = 0;	/* a chip ends the session on an SM error */
		return sw_only(0x6988, r, rlen);
	}
	if (do87) {
		if (n87 < 9 || do87[0] != 1 || (n87 - 1) % 8 || n87 - 1 > sizeof(data) ||
		    idc_3des_cbc(c->sm.ks_enc, NULL, do87 + 1, n87 - 1, data, 0) ||
		    idc_unpad(data, n87 - 1, &dlen)) {
			c->bac = 0;
			return sw_only(0x6988, r, rlen);
		}
	}
	if (a[1] == 0xa4 && a[2] == 0x02 && dlen == 2) {
		fid = (uint16_t)(data[0] << 8 | data[1]);
		c->sel = -1;
		for (i = 0; i < NFILES; i++)
			if (c->f[i].fid == fid)
				c->sel = (int)i;
		if (c->sel >= 0 && fault_on(c, CARD_FAULT_SW_6A82)) {
			c->sel = -1;
			return sw_only(0x6a82, r, rlen);
		}
		return sm_response(c, NULL, 0, c->sel < 0 ? 0x6a82 : 0x9000, r, cap, rlen);
	}
	if (a[1] == 0xb0 && !do87 && le > 0) {
		if (c->sel < 0 || (a[2] & 0x80))
			return sm_response(c, NULL, 0, 0x6986, r, cap, rlen);
		if (fault_on(c, CARD_FAULT_SW_6982))
			return sw_only(0x6982, r, rlen);
		if (fault_on(c, CARD_FAULT_SW_6988))
			return sw_only(0x6988, r, rlen);
		if (fault_on(c, CARD_FAULT_SILENT))
			return -1;
		off = (size_t)a[2] << 8 | a[3];
		if (off > c->f[c->sel].len)
			return sm_response(c, NULL, 0, 0x6b00, r, cap, rlen);
		avail = c->f[c->sel].len - off;
		dlen = (size_t)le < avail ? (size_t)le : avail;
		if (c->max_read && dlen > c->max_read)
			dlen = c->max_read;
		sw = dlen < (size_t)le && off + dlen == c->f[c->sel].len ? 0x6282 : 0x9000;
		ret = sm_response(c, c->f[c->sel].data + off, dlen, sw, r, cap, rlen);
		if (!ret && fault_on(c, CARD_FAULT_WRONG_MAC))
			r[*rlen - 3] ^= 0x01;	/* the MAC's last byte */
		if (!ret && fault_on(c, CARD_FAULT_TRUNCATE))
			*rlen /= 2;
		return ret;
	}
	return sm_response(c, NULL, 0, 0x6d00, r, cap, rlen);
}

int card_model_transmit(void *ctx, const uint8_t *a, size_t len,
			uint8_t *r, size_t *rlen)
{
	struct card_model *c = ctx;
	size_t cap;

	if (!c || !a || !r || !rlen || *rlen < IDC_RAPDU_MAX || len < 4 ||
	    len > IDC_APDU_MAX)
		return -1;
	cap = *rlen;
	c->apdus++;
	if ((a[0] & 0x0c) == 0x0c) {
		if (!c->bac)
			return sw_only(0x6988, r, rlen);
		return secure(c, a, len, r, cap, rlen);
	}
	if (c->bac && a[1] != 0xa4)
		c->bac = 0;	/* a plain command ends the SM session */
	return plain(c, a, len, r, rlen);
}
