/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * An in-process ICAO Doc 9303 chip for the tests: the card side of
 * SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE (BAC), and SELECT / READ
 * BINARY under Secure Messaging, over lib/idcard's transport signature
 * (card_model_transmit), with faults on command.  Its documents are
 * made at run time: a test PKI (CSCA -> Document Signer, a CRL) made
 * with OpenSSL, and EF.COM, DG1, DG2 (the reader's template of a
 * simulated person, kernel/sim/sim_identity.c) and EF.SOD signed by the
 * DS.  No test-harness calls: a card emulator can link it as it is.
 */
#ifndef _BIOREADER_CARD_MODEL_H
#define _BIOREADER_CARD_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* --- the test PKI ----------------------------------------------------- */

struct card_pki {
	EVP_PKEY *csca_key;
	X509 *csca;
	EVP_PKEY *ds_key;
	X509 *ds;
	X509_CRL *crl;		/* by the CSCA; lists the DS when revoked */
};

#define CARD_PKI_DS_EXPIRED	0x1u	/* DS valid until yesterday */
#define CARD_PKI_DS_REVOKED	0x2u	/* DS serial in the CRL */

/* A CSCA (country @cc, two letters), a DS it issued, and a CRL. */
int card_pki_make(struct card_pki *p, const char *cc, unsigned int flags);
void card_pki_free(struct card_pki *p);

/* The CSCA certificate into @csca_dir, the CRL into @crl_dir (PEM). */
int card_pki_write(const struct card_pki *p, const char *csca_dir,
		   const char *crl_dir);

/* --- the document ----------------------------------------------------- */

struct card_person {
	const char *doc_number;	/* up to 9 characters [0-9A-Z] */
	const char *birth;	/* YYMMDD */
	const char *expiry;	/* YYMMDD */
	const char *name;	/* SURNAME<<GIVEN, [A-Z<] */
	uint64_t identity;	/* the simulator's identity (template) */
	uint16_t dim;		/* template dimension */
};

/* How the document is made (faults of its content). */
#define CARD_DOC_DG2_ALTERED	0x1u	/* a template byte changed after signing */
#define CARD_DOC_SOD_BADSIG	0x2u	/* a bit of the SOD's signature flipped */
#define CARD_DOC_SHA1		0x4u	/* the Security Object hashes with SHA-1 */
#define CARD_DOC_NO_DG2_HASH	0x8u	/* the Security Object omits DG2 */
#define CARD_DOC_DG1_OTHER	0x10u	/* DG1 (signed) names another document number */
#define CARD_DOC_PHOTO		0x20u	/* DG2 also holds a face image, as real ones do */
#define CARD_PHOTO_BYTES	18000	/* its size: a passport photo's order */

struct card_doc {
	uint8_t *com, *sod, *dg1, *dg2;
	size_t com_len, sod_len, dg1_len, dg2_len;
	char mrz_info[24];	/* BAC key: what the kiosk reads off the card */
};

int card_doc_make(struct card_doc *d, const struct card_person *who,
		  const struct card_pki *pki, unsigned int flags);
void card_doc_free(struct card_doc *d);

/*
 * A document on disk, as the card emulator serves it: the files named by
 * their identifiers (011E EF.COM, 011D EF.SOD, 0101 DG1, 0102 DG2) and
 * "info", shell variable assignments that a shell can source, starting
 * with MRZ_INFO='...' (the BAC key), then the lines of @more (may be
 * NULL).  @dir must exist.
 */
int card_doc_write(const struct card_doc *d, const char *dir, const char *more);
/* The four files and MRZ_INFO of "info" from @dir into @d. */
int card_doc_read(struct card_doc *d, const char *dir);

/* --- the chip --------------------------------------------------------- */

enum card_fault {
	CARD_FAULT_NONE,
	CARD_FAULT_WRONG_MAC,	/* READ BINARY of fid: response MAC wrong */
	CARD_FAULT_TRUNCATE,	/* READ BINARY of fid: response cut in half */
	CARD_FAULT_SW_6982,	/* READ BINARY of fid: 6982 */
	CARD_FAULT_SW_6A82,	/* SELECT of fid: 6A82 */
	CARD_FAULT_SW_6988,	/* READ BINARY of fid: 6988 */
	CARD_FAULT_FILE_SHORT,	/* fid holds 16 bytes less than its TLV says */
	CARD_FAULT_BAD_CRYPTOGRAM, /* EXTERNAL AUTHENTICATE: E_IC for another RND.IFD */
	CARD_FAULT_SILENT,	/* READ BINARY of fid: the transport fails */
};

struct card_model;

/* A chip holding a copy of @d's files; BAC keys from d->mrz_info. */
struct card_model *card_model_new(const struct card_doc *d);
void card_model_free(struct card_model *c);

/* A fault on the file @fid (0: the first file it applies to). */
void card_model_set_fault(struct card_model *c, enum card_fault f, uint16_t fid);

/* At most @n data bytes per READ BINARY answer (short reads); 0: no limit. */
void card_model_set_max_read(struct card_model *c, unsigned int n);

/* Commands the chip answered. */
unsigned int card_model_apdus(const struct card_model *c);

/* lib/idcard's idc_transmit_fn. */
int card_model_transmit(void *ctx, const uint8_t *capdu, size_t len,
			uint8_t *rapdu, size_t *rlen);

#endif /* _BIOREADER_CARD_MODEL_H */
