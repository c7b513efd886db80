/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * libidcard: the document application of an ICAO Doc 9303 (LDS1) chip,
 * independent of the transport that carries its APDUs.
 *
 *	tlv.c	BER-TLV: EF.COM, DG1's MRZ, DG2's biometric templates
 *	bac.c	Basic Access Control: MRZ key, key derivation, 3DES,
 *		retail MAC, the mutual authentication, session keys
 *	sm.c	Secure Messaging (3DES + retail MAC) of command and
 *		response APDUs
 *	lds.c	reading a document over an abstract transport: SELECT,
 *		BAC, then EF.COM, EF.SOD, DG1, DG2 under SM
 *	pa.c	Passive Authentication: EF.SOD's CMS signature, the
 *		Document Signer's chain to a trusted CSCA, the DG hashes
 *	flow.c	read, PA, then the reader's template out of DG2
 *	err.c	error names
 *
 * Every function returns 0 or a negative IDC_ERR_* code; idc_strerror()
 * names it.  Card data is personal data: the library never logs, and it
 * wipes every buffer that held card data before freeing it
 * (docs/idcard.md).
 */
#ifndef _BIOREADER_IDCARD_H
#define _BIOREADER_IDCARD_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* --- errors ------------------------------------------------------------ */

enum {
	IDC_OK			= 0,
	IDC_ERR_ARG		= -1,	/* bad argument from the caller */
	IDC_ERR_NOMEM		= -2,
	IDC_ERR_CRYPTO		= -3,	/* a crypto primitive failed */
	IDC_ERR_TRANSPORT	= -4,	/* the transport failed */
	IDC_ERR_MALFORMED	= -5,	/* card data badly encoded */
	IDC_ERR_TOO_BIG		= -6,	/* beyond a size limit of this library */
	IDC_ERR_TRUNCATED	= -7,	/* a response or file shorter than it says */
	IDC_ERR_MRZ		= -8,	/* MRZ field: bad character or check digit */
	IDC_ERR_STATUS		= -9,	/* an unexpected status word */
	IDC_ERR_SECURITY	= -10,	/* 6982: security status not satisfied */
	IDC_ERR_NOT_FOUND	= -11,	/* 6A82: file or application not found */
	IDC_ERR_SM_CARD		= -12,	/* 6987/6988: the chip refused our SM */
	IDC_ERR_SM_MAC		= -13,	/* a response's MAC did not verify */
	IDC_ERR_SM		= -14,	/* a response's SM objects are wrong */
	IDC_ERR_BAC		= -15,	/* mutual authentication failed */
	IDC_ERR_NO_TEMPLATE	= -16,	/* DG2 holds no reader template */
	IDC_ERR_MRZ_MISMATCH	= -17,	/* DG1's MRZ is not the one that opened the chip */
	IDC_ERR_PA_MALFORMED	= -20,	/* EF.SOD not a valid Security Object */
	IDC_ERR_PA_SIGNATURE	= -21,	/* the SOD's signature is wrong */
	IDC_ERR_PA_UNKNOWN_CSCA	= -22,	/* DS not issued by a trusted CSCA */
	IDC_ERR_PA_EXPIRED	= -23,	/* DS or CSCA outside its validity */
	IDC_ERR_PA_REVOKED	= -24,	/* DS revoked by its CSCA's CRL */
	IDC_ERR_PA_CRL		= -25,	/* CRL check asked but no usable CRL */
	IDC_ERR_PA_CHAIN	= -26,	/* any other certificate-path failure */
	IDC_ERR_PA_HASH		= -27,	/* a data group's hash differs */
	IDC_ERR_PA_ALGORITHM	= -28,	/* hash algorithm not accepted */
};

/* A fixed English name for @err ("DG hash mismatch"); never card data. */
const char *idc_strerror(int err);

/* --- limits ------------------------------------------------------------ */

#define IDC_FILE_MAX		65536	/* largest EF read (DG2 included) */
#define IDC_SOD_MAX		32768	/* largest EF.SOD */
#define IDC_TLV_DEPTH_MAX	8	/* nesting the parsers follow */
#define IDC_DG2_BIT_MAX		8	/* biometric templates in DG2 */
#define IDC_APDU_MAX		261	/* short APDUs: 5 + 255 + 1 */
#define IDC_RAPDU_MAX		258	/* 256 data bytes + SW1 SW2 */

/* --- BER-TLV (tlv.c) --------------------------------------------------- */

struct idc_tlv {
	uint32_t tag;		/* 1 to 3 tag bytes, big-endian */
	const uint8_t *val;
	size_t len;		/* of val */
	size_t hdr;		/* tag + length bytes */
};

/*
 * One TLV at the start of @buf (@len bytes): tags of up to 3 bytes,
 * definite lengths of up to 3 length bytes, the value within @len.
 * Returns 0 or IDC_ERR_TRUNCATED (runs past @len) / IDC_ERR_MALFORMED.
 */
int idc_tlv_get(const uint8_t *buf, size_t len, struct idc_tlv *t);

/*
 * The first TLV tagged @tag among the siblings that exactly fill
 * @buf/@len (no trailing bytes).  IDC_ERR_NOT_FOUND when absent.
 */
int idc_tlv_find(const uint8_t *buf, size_t len, uint32_t tag,
		 struct idc_tlv *t);

/* The whole file @buf/@len is one TLV tagged @tag, nothing after it. */
int idc_tlv_file(const uint8_t *buf, size_t len, uint32_t tag,
		 struct idc_tlv *t);

/* EF.COM (tag 60): LDS version, and which data groups the chip has. */
struct idc_com {
	char lds_version[5];	/* "0107" */
	uint32_t dg_mask;	/* bit n: DGn listed (1..16) */
};
int idc_parse_com(const uint8_t *buf, size_t len, struct idc_com *com);

/* DG1 (tag 61): the MRZ (5F1F), 90 (TD1), 72 (TD2) or 88 (TD3) chars. */
int idc_parse_dg1(const uint8_t *buf, size_t len, const uint8_t **mrz,
		  size_t *mrz_len);

/*
 * DG2 (tag 75): the biometric data block (5F2E or 7F2E) of the first
 * biometric information template (7F61 / 7F60 / A1) whose header says
 * format owner @owner and format type @type.  IDC_ERR_NO_TEMPLATE when
 * DG2 is well formed but has none.
 */
int idc_parse_dg2(const uint8_t *buf, size_t len, uint16_t owner,
		  uint16_t type, const uint8_t **bdb, size_t *bdb_len);

/*
 * The CBEFF format owner and type of the reader's template in DG2
 * (docs/idcard.md): a private, unregistered pair.  A real document's
 * face is ISO/IEC 19794-5 (owner 0x0101, type 0x0008): a JPEG or JPEG
 * 2000 photo, which only the reader vendor's face model turns into a
 * template.
 */
#define IDC_CBEFF_OWNER_BIOREADER	0xBA01
#define IDC_CBEFF_TYPE_BIOREADER_TPL	0x0001

/*
 * The reader's template out of DG2: the block above, whose header
 * (docs/uapi.md) is consistent (magic, version, format, length).
 */
int idc_dg2_template(const uint8_t *dg2, size_t len, const uint8_t **tpl,
		     size_t *tpl_len);

/* --- Basic Access Control (bac.c) ------------------------------------- */

/*
 * The ICAO 7-3-1 check digit of @n characters of [0-9A-Z<]: 0..9, or
 * IDC_ERR_MRZ for any other character.
 */
int idc_mrz_check_digit(const char *s, size_t n);

/*
 * MRZ information for BAC: document number (1..9 characters, padded
 * with '<' to 9), its check digit, birth date YYMMDD and its check
 * digit, expiry date YYMMDD and its check digit: 24 characters into
 * @out (not NUL-terminated).  Check digits given as '0'..'9' are
 * verified (IDC_ERR_MRZ when wrong); a NUL check digit is computed.
 */
#define IDC_MRZ_INFO_LEN 24
struct idc_mrz_key {
	const char *doc_number;
	char doc_cd;
	const char *birth;
	char birth_cd;
	const char *expiry;
	char expiry_cd;
};
int idc_mrz_info(const struct idc_mrz_key *k, char out[IDC_MRZ_INFO_LEN]);

/*
 * The MRZ information out of a whole MRZ (mrz.c): @mrz is the zone's
 * lines concatenated without line breaks, TD1 (90 characters), TD2 (72)
 * or TD3 (88), as DG1 holds it or an OCR reads it off the document.
 * Every character and check digit is checked (IDC_ERR_MRZ).
 */
int idc_mrz_info_from_mrz(const char *mrz, size_t len,
			  char out[IDC_MRZ_INFO_LEN]);
/*
 * The MRZ information from text a kiosk was given: either the 24
 * characters of the MRZ information themselves, or a whole MRZ (above).
 * Spaces, tabs and line breaks are ignored; every check digit is checked.
 */
int idc_mrz_info_parse(const char *text, size_t len,
		       char out[IDC_MRZ_INFO_LEN]);
/*
 * idc_mrz_info_parse() of what @f holds (a file or standard input: the
 * MRZ is personal data, so a kiosk does not pass it on a command line);
 * the text read is wiped.
 */
int idc_mrz_info_read(FILE *f, char out[IDC_MRZ_INFO_LEN]);
/* Constant-time comparison of two MRZ informations: 1 when equal. */
int idc_mrz_info_equal(const char a[IDC_MRZ_INFO_LEN],
		       const char b[IDC_MRZ_INFO_LEN]);

/* K_seed: the first 16 bytes of SHA-1 over the MRZ information. */
int idc_bac_kseed(const char *mrz_info, size_t len, uint8_t kseed[16]);

/* Sets the odd parity bit of each DES key byte. */
void idc_des_parity(uint8_t *key, size_t len);

/*
 * A two-key 3DES key from @seed (16 bytes) and @counter (1: K_Enc,
 * 2: K_MAC): SHA-1(seed || counter), 16 bytes, parity adjusted.
 */
#define IDC_KDF_ENC 1
#define IDC_KDF_MAC 2
int idc_kdf_3des(const uint8_t seed[16], uint32_t counter, uint8_t key[16]);

/* Two-key 3DES-CBC of @len bytes (a multiple of 8), @iv NULL = zero. */
int idc_3des_cbc(const uint8_t key[16], const uint8_t *iv, const uint8_t *in,
		 size_t len, uint8_t *out, int enc);

/*
 * ISO/IEC 9797-1 padding method 2 of @len bytes in @buf (capacity @cap):
 * 0x80 then zeros to a multiple of 8.  Returns the padded length, or 0
 * when @cap is too small.
 */
size_t idc_pad(uint8_t *buf, size_t len, size_t cap);

/* The length before padding method 2, or IDC_ERR_SM when badly padded. */
int idc_unpad(const uint8_t *buf, size_t len, size_t *out_len);

/*
 * ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC", DES, two keys), of @len
 * bytes already padded (a multiple of 8).
 */
int idc_retail_mac(const uint8_t key[16], const uint8_t *msg, size_t len,
		   uint8_t mac[8]);

/* The Secure Messaging state of a session. */
struct idc_sm {
	uint8_t ks_enc[16];
	uint8_t ks_mac[16];
	uint8_t ssc[8];
};

/* The terminal's side of BAC. */
struct idc_bac {
	uint8_t k_enc[16], k_mac[16];	/* from the MRZ */
	uint8_t rnd_ic[8];		/* GET CHALLENGE's answer */
	uint8_t rnd_ifd[8], k_ifd[16];	/* the terminal's randoms */
};

/* K_Enc and K_MAC of @b from the 24-character MRZ information. */
int idc_bac_keys(struct idc_bac *b, const char mrz_info[IDC_MRZ_INFO_LEN]);

/*
 * EXTERNAL AUTHENTICATE's data: E_IFD = 3DES(K_Enc, RND.IFD || RND.IC ||
 * K.IFD), M_IFD = MAC(K_MAC, E_IFD), 40 bytes.
 */
#define IDC_BAC_AUTH_LEN 40
int idc_bac_auth_data(const struct idc_bac *b, uint8_t out[IDC_BAC_AUTH_LEN]);

/*
 * Checks the chip's answer E_IC || M_IC (MAC, then RND.IC and RND.IFD
 * inside) and derives the session keys and SSC into @sm.  IDC_ERR_BAC
 * when anything differs.
 */
int idc_bac_finish(const struct idc_bac *b, const uint8_t *resp, size_t len,
		   struct idc_sm *sm);

/*
 * Session keys and SSC from both key halves and challenges (used by both
 * sides): K_seed = K.IFD xor K.IC, SSC = RND.IC[4..8] || RND.IFD[4..8].
 */
int idc_bac_session(const uint8_t k_ifd[16], const uint8_t k_ic[16],
		    const uint8_t rnd_ic[8], const uint8_t rnd_ifd[8],
		    struct idc_sm *sm);

/* --- Secure Messaging (sm.c) ------------------------------------------ */

/* SSC + 1 (big-endian, wraps). */
void idc_sm_ssc_inc(struct idc_sm *sm);

/*
 * Protects the short command APDU @capdu (CLA INS P1 P2 [Lc data] [Le]):
 * DO'87' (padding indicator 01, the data encrypted), DO'97' (Le),
 * DO'8E' (MAC over SSC || padded header || DOs, after SSC + 1).
 */
int idc_sm_wrap(struct idc_sm *sm, const uint8_t *capdu, size_t len,
		uint8_t *out, size_t cap, size_t *out_len);

/*
 * Unprotects a response (SM data objects then SW1 SW2): SSC + 1, DO'8E'
 * verified over DO'87' and DO'99', DO'99' equal to the trailer, DO'87'
 * decrypted and unpadded into @out.  A response of SW1 SW2 alone (a
 * chip's error, unprotected) gives 0 with *out_len 0 and its *sw: the
 * caller treats any status but 9000 as an error.
 */
int idc_sm_unwrap(struct idc_sm *sm, const uint8_t *rapdu, size_t len,
		  uint8_t *out, size_t cap, size_t *out_len, uint16_t *sw);

/* --- reading a document (lds.c) ---------------------------------------- */

/*
 * The transport: sends a command APDU, receives the response (data and
 * SW1 SW2) into @rapdu, whose capacity is *@rlen on entry and whose
 * length is *@rlen on return.  Returns 0, or a negative error (the read
 * ends with IDC_ERR_TRANSPORT).
 */
typedef int (*idc_transmit_fn)(void *ctx, const uint8_t *capdu, size_t len,
			       uint8_t *rapdu, size_t *rlen);

/* The files read, owned by the document (idc_doc_wipe frees them). */
enum { IDC_EF_COM, IDC_EF_SOD, IDC_EF_DG1, IDC_EF_DG2, IDC_EF_COUNT };

struct idc_file {
	uint8_t *data;
	size_t len;
};

struct idc_doc {
	struct idc_file ef[IDC_EF_COUNT];
};

/* The file identifier and DG number of each file above (DG 0: none). */
uint16_t idc_ef_fid(int ef);
int idc_ef_dg(int ef);

/* The step a read reached (for diagnostics: never data). */
enum idc_step {
	IDC_STEP_SELECT_APP,
	IDC_STEP_GET_CHALLENGE,
	IDC_STEP_EXT_AUTH,
	IDC_STEP_SELECT_FILE,
	IDC_STEP_READ_FILE,
	IDC_STEP_DONE,
};
const char *idc_step_name(enum idc_step s);

struct idc_read_info {
	enum idc_step step;	/* where it ended */
	int ef;			/* file being read, IDC_EF_* or -1 */
	uint16_t sw;		/* last status word */
	unsigned int apdus;	/* command APDUs sent */
};

/*
 * Reads a document: SELECT the eMRTD application (AID A0000002471001),
 * BAC with the MRZ information, then EF.COM, EF.SOD, DG1 and DG2 under
 * Secure Messaging.  On failure, @doc is wiped and empty.  @info (may be
 * NULL) says where the read ended.
 */
int idc_read_document(idc_transmit_fn tx, void *ctx,
		      const char mrz_info[IDC_MRZ_INFO_LEN],
		      struct idc_doc *doc, struct idc_read_info *info);

/* Wipes and frees every file of @doc. */
void idc_doc_wipe(struct idc_doc *doc);

/* --- Passive Authentication (pa.c) ------------------------------------ */

struct idc_trust;

/*
 * A trust store from a directory of CSCA certificates (PEM or DER, one
 * or more per file) and, when @crl_dir is not NULL, CRLs (PEM or DER);
 * with CRLs every Document Signer must be covered by a current CRL of its
 * CSCA.  Files that are neither are refused (IDC_ERR_ARG): a trust store
 * must not hold surprises.  An empty directory is refused too.
 */
int idc_trust_load(struct idc_trust **out, const char *csca_dir,
		   const char *crl_dir);
void idc_trust_free(struct idc_trust *t);

/* 1 when the store holds CRLs: every Document Signer is checked against one. */
int idc_trust_checks_crls(const struct idc_trust *t);

/* Verification time (seconds since the epoch) instead of now; for tests. */
void idc_trust_set_time(struct idc_trust *t, int64_t when);

struct idc_pa_result {
	uint8_t csca_sha256[32];	/* DER certificate fingerprints */
	uint8_t ds_sha256[32];
	int hash_nid;			/* of the Security Object */
	uint32_t dg_checked;		/* bit n: DGn's hash matched */
};

/*
 * Passive Authentication of @doc: EF.SOD (tag 77) is a CMS SignedData
 * with eContentType id-icao-mrtd-security-ldsSecurityObject, its Document
 * Signer chains to a CSCA of @t (validity, CRLs when loaded) and signed
 * it, and the hash of every data group read (DG1, DG2) is in the Security
 * Object and matches.  On success @res holds the fingerprints.
 */
int idc_pa_verify(const struct idc_trust *t, const struct idc_doc *doc,
		  struct idc_pa_result *res);

/*
 * The LDS Security Object (the SOD's signed content), DER, parsed: its
 * hash algorithm's NID and the DG number -> hash list.
 */
#define IDC_LDSSO_DG_MAX 16
struct idc_ldsso {
	int version;
	int hash_nid;
	unsigned int count;
	struct {
		int dg;
		const uint8_t *hash;
		size_t len;
	} dg[IDC_LDSSO_DG_MAX];
};
int idc_ldsso_parse(const uint8_t *der, size_t len, struct idc_ldsso *so);

/* --- the document layer of the kiosk flow (flow.c) --------------------- */

struct idc_result {
	uint8_t *tpl;			/* the reader's template (docs/uapi.md) */
	size_t tpl_len;
	struct idc_pa_result pa;	/* fingerprints for the audit record */
	struct idc_read_info read;	/* where the read ended */
};

/*
 * idc_read_document, idc_pa_verify, then the template out of DG2: on
 * success @res holds a copy of the template (idc_result_wipe frees it);
 * on any failure no template, and the files read are wiped either way.
 */
int idc_read_verified(idc_transmit_fn tx, void *ctx,
		      const char mrz_info[IDC_MRZ_INFO_LEN],
		      const struct idc_trust *trust, struct idc_result *res);
void idc_result_wipe(struct idc_result *res);

#endif /* _BIOREADER_IDCARD_H */
