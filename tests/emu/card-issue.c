// SPDX-License-Identifier: GPL-2.0-only
/*
 * card-issue: a test PKI and ID-card documents, made now with OpenSSL
 * (tests/unit/lib/card_model.c), for the card emulator's chip mode
 * (vscard-card --chip, and its "load" command) and the tests that read
 * them.  Nothing it writes is meant to outlive the test run: every run
 * makes new keys.
 *
 * Usage: card-issue --out DIR [--identity A] [--second B] [--dim D]
 *
 * DIR (made if missing; what was there is replaced):
 *   csca/            the trust store's CSCA certificates, country UT
 *                    (csca.pem; csca-expired.pem, csca-revoked.pem: the
 *                    CSCAs of the expired and the revoked DS)
 *   crl/             their CRLs (csca.crl, ...): the revoked DS is listed
 *   unknown/csca/    country ZZ's CSCA and CRL, kept out of the trust store
 *   unknown/crl/
 *   docs/NAME/       one document: 011E (EF.COM), 011D (EF.SOD), 0101
 *                    (DG1), 0102 (DG2), and "info", shell assignments:
 *                    MRZ_INFO (the 24-character BAC key), DOC, IDENTITY,
 *                    DIM, DOC_NUMBER, BIRTH, EXPIRY, NAME, EXPECT (the
 *                    error name a verified read must end with, or "ok")
 *                    and EXPECT_CODE (its IDC_ERR_* value, 0 for ok)
 *   docs.list        one line per document: NAME IDENTITY EXPECT
 *   env              shell assignments: CARD_DIR, CARD_CSCA_DIR,
 *                    CARD_CRL_DIR, CARD_DOCS (the names, in order)
 *
 * The documents (all of person A but "second"; the DG2 template is the
 * simulator's for that identity, kernel/sim/sim_identity.c):
 *   genuine          A's card                              ok
 *   second           B's card                              ok
 *   dg2-altered      DG2 changed after signing             IDC_ERR_PA_HASH
 *   sod-forged       a bit of the SOD's signature flipped  IDC_ERR_PA_SIGNATURE
 *   ds-expired       its DS expired yesterday              IDC_ERR_PA_EXPIRED
 *   ds-revoked       its DS is on the CSCA's CRL           IDC_ERR_PA_REVOKED
 *   unknown-csca     its DS chains to country ZZ           IDC_ERR_PA_UNKNOWN_CSCA
 *   sha1             the Security Object hashes with SHA-1 IDC_ERR_PA_ALGORITHM
 *   sod-truncated    EF.SOD holds half of what its TLV says IDC_ERR_TRUNCATED
 *   sod-garbage      EF.SOD: tag 77 around random bytes    IDC_ERR_PA_MALFORMED
 *   dg1-other        DG1 (signed) of another document      IDC_ERR_MRZ_MISMATCH
 *   genuine-photo    A's card, DG2 also holding an 18 KB   ok
 *                    face image (a real DG2's size)
 * (the trust store with CRLs: csca/ and crl/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "idcard/idcard.h"
#include "../unit/lib/card_model.h"

enum { PKI_MAIN, PKI_EXPIRED, PKI_REVOKED, PKI_UNKNOWN, PKI_COUNT };

struct doc_spec {
	const char *name;
	int second;		/* person B */
	int pki;
	unsigned int flags;	/* CARD_DOC_* */
	int sod;		/* 1: cut in half, 2: garbage */
	int expect;
	const char *expect_name;
};

#define E(x) x, #x
static const struct doc_spec docs[] = {
	{ "genuine", 0, PKI_MAIN, 0, 0, 0, "ok" },
	{ "second", 1, PKI_MAIN, 0, 0, 0, "ok" },
	{ "dg2-altered", 0, PKI_MAIN, CARD_DOC_DG2_ALTERED, 0, E(IDC_ERR_PA_HASH) },
	{ "sod-forged", 0, PKI_MAIN, CARD_DOC_SOD_BADSIG, 0, E(IDC_ERR_PA_SIGNATURE) },
	{ "ds-expired", 0, PKI_EXPIRED, 0, 0, E(IDC_ERR_PA_EXPIRED) },
	{ "ds-revoked", 0, PKI_REVOKED, 0, 0, E(IDC_ERR_PA_REVOKED) },
	{ "unknown-csca", 0, PKI_UNKNOWN, 0, 0, E(IDC_ERR_PA_UNKNOWN_CSCA) },
	{ "sha1", 0, PKI_MAIN, CARD_DOC_SHA1, 0, E(IDC_ERR_PA_ALGORITHM) },
	{ "sod-truncated", 0, PKI_MAIN, 0, 1, E(IDC_ERR_TRUNCATED) },
	{ "sod-garbage", 0, PKI_MAIN, 0, 2, E(IDC_ERR_PA_MALFORMED) },
	{ "dg1-other", 0, PKI_MAIN, CARD_DOC_DG1_OTHER, 0, E(IDC_ERR_MRZ_MISMATCH) },
	{ "genuine-photo", 0, PKI_MAIN, CARD_DOC_PHOTO, 0, 0, "ok" },
};
#undef E

static const char *out;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "card-issue: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static const char *path(const char *fmt, const char *a)
{
	static char p[8][PATH_MAX + 256];
	static int i;
	char rel[256];

	i = (i + 1) % 8;
	snprintf(rel, sizeof(rel), fmt, a);
	snprintf(p[i], sizeof(p[i]), "%s/%s", out, rel);
	return p[i];
}

static void mkdir_p(const char *p)
{
	if (mkdir(p, 0755) && errno != EEXIST)
		die("cannot create %s", p);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void write_pem(const char *p, X509 *x, X509_CRL *c)
{
	FILE *f = fopen(p, "w");
	int ok = f && (x ? PEM_write_X509(f, x) : PEM_write_X509_CRL(f, c));

	if (!f || fclose(f) || !ok)
		die("cannot write %s", p);
}

/* The document's info lines after MRZ_INFO. */
static void info(char *buf, size_t cap, const struct doc_spec *s,
		 const struct card_person *w)
{
	snprintf(buf, cap,
		 "DOC='%s'\nIDENTITY=%llu\nDIM=%u\nDOC_NUMBER='%s'\nBIRTH='%s'\n"
		 "EXPIRY='%s'\nNAME='%s'\nEXPECT='%s'\nEXPECT_CODE=%d\n",
		 s->name, (unsigned long long)w->identity, w->dim, w->doc_number,
		 w->birth, w->expiry, w->name, s->expect_name, s->expect);
}

static unsigned long long number(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die("bad %s", what);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "identity", required_argument, NULL, 'a' },
		{ "second", required_argument, NULL, 'b' },
		{ "dim", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct card_person a = {
		.doc_number = "D23145890", .birth = "740812", .expiry = "310415",
		.name = "ERIKSSON<<ANNA<MARIA", .identity = 42, .dim = 128,
	};
	struct card_person b = {
		.doc_number = "X12AB34C", .birth = "851231", .expiry = "290101",
		.name = "DOE<<JOHN", .identity = 777, .dim = 128,
	};
	static const char *const cc[PKI_COUNT] = { "UT", "UT", "UT", "ZZ" };
	static const unsigned int pflags[PKI_COUNT] = {
		0, CARD_PKI_DS_EXPIRED, CARD_PKI_DS_REVOKED, 0,
	};
	static const char *const cert_file[PKI_COUNT] = {
		"csca/csca.pem", "csca/csca-expired.pem", "csca/csca-revoked.pem",
		"unknown/csca/csca.pem",
	};
	static const char *const crl_file[PKI_COUNT] = {
		"crl/csca.crl", "crl/csca-expired.crl", "crl/csca-revoked.crl",
		"unknown/crl/csca.crl",
	};
	struct card_pki pki[PKI_COUNT];
	char names[1024] = "", more[1024], abs[PATH_MAX];
	FILE *list, *env;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'a': a.identity = number(optarg, "identity"); break;
		case 'b': b.identity = number(optarg, "identity"); break;
		case 'd':
			a.dim = b.dim = (uint16_t)number(optarg, "dimension");
			break;
		case 'h':
			printf("usage: card-issue --out DIR [--identity A] [--second B] [--dim D]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!out || optind != argc) {
		fprintf(stderr, "usage: card-issue --out DIR [--identity A] [--second B] [--dim D]\n");
		return 2;
	}
	mkdir_p(out);
	if (!realpath(out, abs))
		die("cannot resolve %s", out);
	out = abs;
	/* a fresh issue: nothing of an older one stays */
	nftw(path("csca", NULL), rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(path("crl", NULL), rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(path("unknown", NULL), rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(path("docs", NULL), rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	mkdir_p(path("csca", NULL));
	mkdir_p(path("crl", NULL));
	mkdir_p(path("unknown", NULL));
	mkdir_p(path("unknown/csca", NULL));
	mkdir_p(path("unknown/crl", NULL));
	mkdir_p(path("docs", NULL));

	for (i = 0; i < PKI_COUNT; i++) {
		if (card_pki_make(&pki[i], cc[i], pflags[i]))
			die("cannot make the test PKI (%s)", cert_file[i]);
		write_pem(path("%s", cert_file[i]), pki[i].csca, NULL);
		write_pem(path("%s", crl_file[i]), NULL, pki[i].crl);
	}

	list = fopen(path("docs.list", NULL), "w");
	if (!list)
		die("cannot write %s", path("docs.list", NULL));
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		const struct doc_spec *s = &docs[i];
		const struct card_person *w = s->second ? &b : &a;
		struct card_doc d;

		if (card_doc_make(&d, w, &pki[s->pki], s->flags))
			die("cannot make document %s", s->name);
		if (s->sod == 1) {
			d.sod_len /= 2;		/* the TLV still says the whole */
		} else if (s->sod == 2) {
			size_t n = d.sod_len;

			if (n < 8 || RAND_bytes(d.sod + 4, (int)(n - 4)) != 1)
				die("cannot make document %s", s->name);
			d.sod[0] = 0x77;
			d.sod[1] = 0x82;
			d.sod[2] = (uint8_t)((n - 4) >> 8);
			d.sod[3] = (uint8_t)(n - 4);
		}
		mkdir_p(path("docs/%s", s->name));
		info(more, sizeof(more), s, w);
		if (card_doc_write(&d, path("docs/%s", s->name), more))
			die("cannot write document %s", s->name);
		fprintf(list, "%s %llu %s\n", s->name, (unsigned long long)w->identity,
			s->expect_name);
		if (*names)
			strncat(names, " ", sizeof(names) - strlen(names) - 1);
		strncat(names, s->name, sizeof(names) - strlen(names) - 1);
		card_doc_free(&d);
		OPENSSL_cleanse(more, sizeof(more));
	}
	if (fclose(list))
		die("cannot write %s", path("docs.list", NULL));
	env = fopen(path("env", NULL), "w");
	if (!env || fprintf(env, "CARD_DIR='%s'\nCARD_CSCA_DIR='%s/csca'\n"
			    "CARD_CRL_DIR='%s/crl'\nCARD_DOCS='%s'\n",
			    out, out, out, names) < 0 || fclose(env))
		die("cannot write %s", path("env", NULL));
	for (i = 0; i < PKI_COUNT; i++)
		card_pki_free(&pki[i]);
	printf("card-issue: %zu documents and the test PKI in %s\n",
	       sizeof(docs) / sizeof(docs[0]), out);
	return 0;
}
