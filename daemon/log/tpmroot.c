// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The TPM root signer: the root of the log's key hierarchy in a TPM 2.0,
 * through tpm2-tss (ESYS API, TCTI chosen by a tctildr string such as
 * "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321").
 *
 *   key      a primary ECC P-256 key under the owner hierarchy, created
 *            from a fixed template (below) and persisted at a persistent
 *            handle (BFL_TPM_KEY_HANDLE).  Attributes fixedTPM,
 *            fixedParent, sensitiveDataOrigin, userWithAuth, noDA, sign; not
 *            restricted (so TPM2_Sign signs any digest with a NULL
 *            ticket), not decrypt; scheme ECDSA with SHA-256.  The
 *            private part never leaves the TPM.
 *   counter  an NV index of type counter (BFL_TPM_NV_INDEX), 8 bytes,
 *            written and read with its own (empty) authValue; optionally
 *            orderly.  A counter can only go up.
 *
 * bfl_tpm_provision() creates both (bioflow-provision calls it);
 * bfl_tpm_root_open() only loads them and checks that they are what they
 * must be.  docs/tpm.md tells the whole story.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "bflog.h"

/* The key's template "unique" field: makes the primary key ours (a
 * primary key is derived from the hierarchy seed and its template). */
#define TPM_KEY_LABEL		"bioflow-root-key v1"

/* noDA: the key's authValue is empty, so dictionary-attack protection
 * guards nothing; without it a TPM that saw a few power cuts (each
 * non-orderly startup counts as a failed try) refuses to sign until its
 * lockout heals, and the log stops. */
#define OBJ_REQUIRED	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
			 TPMA_OBJECT_SENSITIVEDATAORIGIN | \
			 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | \
			 TPMA_OBJECT_SIGN_ENCRYPT)
#define OBJ_FORBIDDEN	(TPMA_OBJECT_DECRYPT | TPMA_OBJECT_RESTRICTED)
#define NV_ATTRS	(TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | \
			 TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char tcti_conf[256];
	u32 key_handle;
	u32 nv_index;
};

struct tpm_root {
	struct tpm t;
	struct bfl_tpm_config cfg;	/* tcti points to tcti below */
	char tcti[256];
	ESYS_TR key;
	ESYS_TR nv;
	bool broken;	/* the TCTI failed: reconnect before the next command */
};

/* ------------------------------------------------------------ errors -- */

/* The TPM's response code without the handle/session/parameter number,
 * for comparisons; other layers' codes unchanged. */
static TSS2_RC rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc & 0xfff;
}

static bool rc_is_tcti(TSS2_RC rc)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER;
}

static int rc_errno(TSS2_RC rc)
{
	if (rc_is_tcti(rc))
		return -ENODEV;
	switch (rc_base(rc)) {
	case TPM2_RC_HANDLE:
		return -ENOENT;
	case TPM2_RC_AUTH_FAIL:
	case TPM2_RC_BAD_AUTH:
	case TPM2_RC_LOCKOUT:
	case TPM2_RC_NV_AUTHORIZATION:
	case TPM2_RC_HIERARCHY:
		return -EACCES;
	case TPM2_RC_NV_SPACE:
	case TPM2_RC_OBJECT_MEMORY:
	case TPM2_RC_NV_DEFINED:
		return -ENOSPC;
	case TPM2_RC_NV_UNAVAILABLE:
	case TPM2_RC_NV_RATE:
	case TPM2_RC_RETRY:
	case TPM2_RC_TESTING:
	case TPM2_RC_YIELDED:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static const char *rc_hint(TSS2_RC rc)
{
	if (rc_is_tcti(rc))
		return " (the TPM is absent, not answering or not accessible)";
	switch (rc_base(rc)) {
	case TPM2_RC_LOCKOUT:
		return " (the TPM is in dictionary-attack lockout)";
	case TPM2_RC_AUTH_FAIL:
	case TPM2_RC_BAD_AUTH:
		return " (wrong authorization value)";
	case TPM2_RC_NV_RATE:
		return " (NV writes are rate-limited: try again later)";
	case TPM2_RC_FAILURE:
		return " (the TPM is in failure mode)";
	case TPM2_RC_INITIALIZE:
		return " (the TPM was not started: TPM2_Startup missing)";
	default:
		return "";
	}
}

static int tpm_err(struct bfl_err *e, TSS2_RC rc, const char *what)
{
	return bfl_errf(e, rc_errno(rc), "TPM: %s failed: %s (0x%x)%s", what,
			Tss2_RC_Decode(rc), (unsigned int)rc, rc_hint(rc));
}

/* -------------------------------------------------------- connection -- */

static void tpm_close(struct tpm *t)
{
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	t->esys = NULL;
	t->tcti = NULL;
}

static int tpm_connect(struct tpm *t, const struct bfl_tpm_config *cfg,
		       struct bfl_err *e)
{
	const char *conf = cfg && cfg->tcti ? cfg->tcti : BFL_TPM_TCTI_DEFAULT;
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	int n;

	memset(t, 0, sizeof(*t));
	t->key_handle = cfg && cfg->key_handle ? cfg->key_handle : BFL_TPM_KEY_HANDLE;
	t->nv_index = cfg && cfg->nv_index ? cfg->nv_index : BFL_TPM_NV_INDEX;
	if (t->key_handle < 0x81000000u || t->key_handle > 0x817fffffu)
		return bfl_errf(e, -EINVAL,
				"key handle 0x%08x is not a persistent handle of the owner hierarchy (0x81000000-0x817fffff)",
				t->key_handle);
	if ((t->nv_index >> 24) != TPM2_HT_NV_INDEX)
		return bfl_errf(e, -EINVAL,
				"NV index 0x%08x is not an NV index handle (0x01xxxxxx)",
				t->nv_index);
	n = snprintf(t->tcti_conf, sizeof(t->tcti_conf), "%s", conf);
	if (n < 0 || (size_t)n >= sizeof(t->tcti_conf) || !*conf)
		return bfl_errf(e, -EINVAL, "bad TCTI string");
	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	if (rc) {
		t->tcti = NULL;
		return bfl_errf(e, -ENODEV,
				"TPM not reachable through TCTI \"%s\": %s (0x%x); is the TPM present and its device node accessible?",
				t->tcti_conf, Tss2_RC_Decode(rc), (unsigned int)rc);
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc) {
		t->esys = NULL;
		tpm_close(t);
		return bfl_errf(e, -ENODEV, "TPM: ESYS initialization on \"%s\" failed: %s (0x%x)",
				conf, Tss2_RC_Decode(rc), (unsigned int)rc);
	}
	/* One harmless command: a TPM that does not answer (or answers in
	 * failure mode) is found here, not in the middle of an epoch. */
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
				TPM2_PT_MANUFACTURER, 1, &more, &cap);
	Esys_Free(cap);
	if (rc) {
		n = tpm_err(e, rc, "first command (GetCapability)");
		tpm_close(t);
		if (n == -ENOENT)
			n = -EIO;
		return n;
	}
	return 0;
}

/* Is there an entity at handle h (persistent object or NV index)? */
static int tpm_exists(struct tpm *t, u32 h, bool *yes, struct bfl_err *e)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;

	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, TPM2_CAP_HANDLES, h, 1, &more,
				&cap);
	if (rc)
		return tpm_err(e, rc, "GetCapability(handles)");
	*yes = cap->data.handles.count >= 1 &&
	       cap->data.handles.handle[0] == h;
	Esys_Free(cap);
	return 0;
}

/* ---------------------------------------------------------- the key -- */

static void key_template(TPM2B_PUBLIC *p)
{
	TPMT_PUBLIC *a = &p->publicArea;

	memset(p, 0, sizeof(*p));
	a->type = TPM2_ALG_ECC;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = OBJ_REQUIRED;
	a->authPolicy.size = 0;
	a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	a->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	a->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	/* unique.x = SHA-256(label): 32 bytes, y empty. */
	SHA256((const u8 *)TPM_KEY_LABEL, strlen(TPM_KEY_LABEL),
	       a->unique.ecc.x.buffer);
	a->unique.ecc.x.size = 32;
	a->unique.ecc.y.size = 0;
}

/* A P-256 public key from the TPM's point. */
static EVP_PKEY *ec_pub_from_point(const TPMS_ECC_POINT *pt)
{
	u8 oct[65];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pk = NULL;

	if (pt->x.size == 0 || pt->x.size > 32 || pt->y.size == 0 ||
	    pt->y.size > 32)
		return NULL;
	memset(oct, 0, sizeof(oct));
	oct[0] = 0x04;
	memcpy(oct + 1 + 32 - pt->x.size, pt->x.buffer, pt->x.size);
	memcpy(oct + 33 + 32 - pt->y.size, pt->y.buffer, pt->y.size);
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
					     oct, sizeof(oct)) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		pk = NULL;
		goto out;
	}
	chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (!chk || EVP_PKEY_public_check(chk) != 1) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

/* Checks that the object's public area is a bioflow root key; *pk gets
 * its public key. */
static int check_key_public(const TPM2B_PUBLIC *p, u32 h, EVP_PKEY **pk,
			    struct bfl_err *e)
{
	const TPMT_PUBLIC *a = &p->publicArea;
	const TPMS_ECC_PARMS *ecc = &a->parameters.eccDetail;

	if (a->type != TPM2_ALG_ECC || a->nameAlg != TPM2_ALG_SHA256)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: the object at 0x%08x is not an ECC key with SHA-256 name (type 0x%x): not a bioflow root key",
				h, a->type);
	if ((a->objectAttributes & OBJ_REQUIRED) != OBJ_REQUIRED ||
	    (a->objectAttributes & OBJ_FORBIDDEN))
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: the key at 0x%08x has attributes 0x%08x; a bioflow root key needs fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|sign and neither decrypt nor restricted",
				h, (unsigned int)a->objectAttributes);
	if (ecc->curveID != TPM2_ECC_NIST_P256 ||
	    ecc->scheme.scheme != TPM2_ALG_ECDSA ||
	    ecc->scheme.details.ecdsa.hashAlg != TPM2_ALG_SHA256)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: the key at 0x%08x is not a P-256 ECDSA-SHA256 key",
				h);
	*pk = ec_pub_from_point(&a->unique.ecc);
	if (!*pk)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: the key at 0x%08x has no valid P-256 public point",
				h);
	return 0;
}

/* Loads the persistent key: *tr its ESYS handle, *pk its public key. */
static int load_key(struct tpm *t, ESYS_TR *tr, EVP_PKEY **pk,
		    struct bfl_err *e)
{
	TPM2B_PUBLIC *pub = NULL;
	bool present;
	TSS2_RC rc;
	int r;

	*tr = ESYS_TR_NONE;
	*pk = NULL;
	r = tpm_exists(t, t->key_handle, &present, e);
	if (r)
		return r;
	if (!present)
		return bfl_errf(e, -ENOENT,
				"TPM: no root key at persistent handle 0x%08x (run bioflow-provision first)",
				t->key_handle);
	rc = Esys_TR_FromTPMPublic(t->esys, t->key_handle, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, tr);
	if (rc) {
		*tr = ESYS_TR_NONE;
		return tpm_err(e, rc, "loading the root key handle");
	}
	rc = Esys_ReadPublic(t->esys, *tr, ESYS_TR_NONE, ESYS_TR_NONE,
			     ESYS_TR_NONE, &pub, NULL, NULL);
	if (rc)
		r = tpm_err(e, rc, "ReadPublic of the root key");
	else
		r = check_key_public(pub, t->key_handle, pk, e);
	Esys_Free(pub);
	if (r) {
		(void)Esys_TR_Close(t->esys, tr);
		*tr = ESYS_TR_NONE;
	}
	return r;
}

/* ------------------------------------------------------ the counter -- */

static int check_nv_public(const TPM2B_NV_PUBLIC *p, u32 idx,
			   struct bfl_err *e)
{
	const TPMS_NV_PUBLIC *n = &p->nvPublic;
	u32 type = (n->attributes & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT;

	if (type != TPM2_NT_COUNTER || n->dataSize != 8)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: NV index 0x%08x is not a counter (type %u, %u bytes)",
				idx, type, n->dataSize);
	if ((n->attributes & (TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD)) !=
	    (TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD) || n->authPolicy.size)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: NV counter 0x%08x is not writable and readable with its authValue (attributes 0x%08x)",
				idx, (unsigned int)n->attributes);
	return 0;
}

static int load_nv(struct tpm *t, ESYS_TR *tr, bool *orderly,
		   struct bfl_err *e)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	bool present;
	TSS2_RC rc;
	int r;

	*tr = ESYS_TR_NONE;
	r = tpm_exists(t, t->nv_index, &present, e);
	if (r)
		return r;
	if (!present)
		return bfl_errf(e, -ENOENT,
				"TPM: no NV counter at index 0x%08x (run bioflow-provision first)",
				t->nv_index);
	rc = Esys_TR_FromTPMPublic(t->esys, t->nv_index, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, tr);
	if (rc) {
		*tr = ESYS_TR_NONE;
		return tpm_err(e, rc, "loading the NV counter handle");
	}
	rc = Esys_NV_ReadPublic(t->esys, *tr, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, &pub, NULL);
	if (rc) {
		r = tpm_err(e, rc, "NV_ReadPublic of the counter");
	} else {
		r = check_nv_public(pub, t->nv_index, e);
		if (orderly)
			*orderly = pub->nvPublic.attributes & TPMA_NV_ORDERLY;
	}
	Esys_Free(pub);
	if (r) {
		(void)Esys_TR_Close(t->esys, tr);
		*tr = ESYS_TR_NONE;
	}
	return r;
}

static int nv_read(struct tpm *t, ESYS_TR nv, u64 *value, struct bfl_err *e)
{
	TPM2B_MAX_NV_BUFFER *d = NULL;
	TPM2B_NV_PUBLIC *pub = NULL;
	bool written;
	TSS2_RC rc;
	u64 v = 0;
	int i;

	/* A counter defined but never incremented cannot be read
	 * (TPM_RC_NV_UNINITIALIZED): it is 0 for us. */
	rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, &pub, NULL);
	if (rc)
		return tpm_err(e, rc, "NV_ReadPublic of the counter");
	written = pub->nvPublic.attributes & TPMA_NV_WRITTEN;
	Esys_Free(pub);
	if (!written) {
		*value = 0;
		return 0;
	}
	rc = Esys_NV_Read(t->esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
			  ESYS_TR_NONE, 8, 0, &d);
	if (rc)
		return tpm_err(e, rc, "NV_Read of the counter");
	if (d->size != 8) {
		Esys_Free(d);
		return bfl_errf(e, -EIO, "TPM: NV_Read of the counter returned %u bytes",
				d->size);
	}
	for (i = 0; i < 8; i++)
		v = v << 8 | d->buffer[i];	/* big-endian */
	Esys_Free(d);
	*value = v;
	return 0;
}

/* ------------------------------------------------------- the signer -- */

static void close_handles(struct tpm_root *tr)
{
	if (tr->t.esys && tr->key != ESYS_TR_NONE)
		(void)Esys_TR_Close(tr->t.esys, &tr->key);
	if (tr->t.esys && tr->nv != ESYS_TR_NONE)
		(void)Esys_TR_Close(tr->t.esys, &tr->nv);
	tr->key = ESYS_TR_NONE;
	tr->nv = ESYS_TR_NONE;
}

/* Connects and loads the key and the counter; the key must be the one
 * the signer was opened with (pk NULL: first open, *got gets it). */
static int tpm_attach(struct tpm_root *tr, EVP_PKEY *pk, EVP_PKEY **got,
		      struct bfl_err *e)
{
	EVP_PKEY *now = NULL;
	int r;

	r = tpm_connect(&tr->t, &tr->cfg, e);
	if (r)
		return r;
	r = load_key(&tr->t, &tr->key, &now, e);
	if (!r)
		r = load_nv(&tr->t, &tr->nv, NULL, e);
	if (!r && pk && EVP_PKEY_eq(pk, now) != 1)
		r = bfl_errf(e, -EKEYREJECTED,
			     "TPM: the key at 0x%08x is not the root key this signer was opened with",
			     tr->t.key_handle);
	if (r) {
		EVP_PKEY_free(now);
		close_handles(tr);
		tpm_close(&tr->t);
		return r;
	}
	if (got)
		*got = now;
	else
		EVP_PKEY_free(now);
	return 0;
}

/* Before a command: after a TCTI failure (TPM gone, resource manager
 * restarted) the ESYS context is unusable; connect again once.  The
 * command that saw the failure has already failed: nothing is retried
 * behind the caller's back. */
static int tpm_ready(struct bfl_root_signer *rs, const char *what,
		     struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	struct bfl_err sub = { 0 };
	int r;

	if (!tr->broken)
		return 0;
	close_handles(tr);
	tpm_close(&tr->t);
	r = tpm_attach(tr, rs->key.pk, NULL, &sub);
	if (r)
		return bfl_errf(e, r, "TPM: %s impossible: the connection to the TPM was lost and reconnecting failed: %s",
				what, sub.msg);
	tr->broken = false;
	return 0;
}

/* After a command: remember a TCTI failure. */
static void tpm_note(struct tpm_root *tr, TSS2_RC rc)
{
	if (rc && (rc_is_tcti(rc) ||
		   (rc & TSS2_RC_LAYER_MASK) == TSS2_ESAPI_RC_LAYER))
		tr->broken = true;
}

static int tpm_sign(struct bfl_root_signer *rs, const u8 *msg, size_t len,
		    u8 *sig, size_t *sig_len, struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA };
	TPMT_TK_HASHCHECK ticket = {
		.tag = TPM2_ST_HASHCHECK,
		.hierarchy = TPM2_RH_NULL,
		.digest = { .size = 0 },
	};
	TPM2B_DIGEST dig = { .size = SHA256_DIGEST_LENGTH };
	TPMT_SIGNATURE *ts = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	u8 *der = NULL;
	int dlen, r;
	TSS2_RC rc;

	scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	r = tpm_ready(rs, "Sign with the root key", e);
	if (r)
		return r;
	if (!SHA256(msg, len, dig.buffer))
		return bfl_errf(e, -EIO, "SHA-256 failed");
	rc = Esys_Sign(tr->t.esys, tr->key, ESYS_TR_PASSWORD, ESYS_TR_NONE,
		       ESYS_TR_NONE, &dig, &scheme, &ticket, &ts);
	tpm_note(tr, rc);
	if (rc)
		return tpm_err(e, rc, "Sign with the root key");
	if (ts->sigAlg != TPM2_ALG_ECDSA ||
	    ts->signature.ecdsa.hash != TPM2_ALG_SHA256 ||
	    ts->signature.ecdsa.signatureR.size > 32 ||
	    ts->signature.ecdsa.signatureS.size > 32) {
		r = bfl_errf(e, -EIO, "TPM: Sign returned an unexpected signature (alg 0x%x)",
			     ts->sigAlg);
		goto out;
	}
	br = BN_bin2bn(ts->signature.ecdsa.signatureR.buffer,
		       ts->signature.ecdsa.signatureR.size, NULL);
	bs = BN_bin2bn(ts->signature.ecdsa.signatureS.buffer,
		       ts->signature.ecdsa.signatureS.size, NULL);
	es = ECDSA_SIG_new();
	if (!br || !bs || !es || ECDSA_SIG_set0(es, br, bs) != 1) {
		r = bfl_errf(e, -ENOMEM, "out of memory");
		goto out;
	}
	br = bs = NULL;		/* owned by es */
	dlen = i2d_ECDSA_SIG(es, &der);
	if (dlen <= 0) {
		r = bfl_errf(e, -EIO, "cannot DER-encode the TPM signature");
		goto out;
	}
	if ((size_t)dlen > *sig_len) {
		r = bfl_errf(e, -ENOSPC, "root signature buffer too small");
		goto out;
	}
	/* Never hand out a signature that does not verify (a TPM fault, or
	 * a different key behind the handle since open). */
	if (bfl_verify_sig(rs->key.pk, msg, len, der, (size_t)dlen)) {
		r = bfl_errf(e, -EIO,
			     "TPM: the signature made by the key at 0x%08x does not verify with its public key",
			     tr->t.key_handle);
		goto out;
	}
	memcpy(sig, der, (size_t)dlen);
	*sig_len = (size_t)dlen;
	r = 0;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(br);
	BN_free(bs);
	Esys_Free(ts);
	return r;
}

static int tpm_counter_read(struct bfl_root_signer *rs, u64 *value,
			    struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	int r = tpm_ready(rs, "reading the counter", e);

	if (r)
		return r;
	r = nv_read(&tr->t, tr->nv, value, e);
	if (r == -ENODEV)
		tr->broken = true;
	return r;
}

static int tpm_counter_increment(struct bfl_root_signer *rs, u64 *value,
				 struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	TSS2_RC rc;
	int r = tpm_ready(rs, "NV_Increment of the counter", e);

	if (r)
		return r;
	rc = Esys_NV_Increment(tr->t.esys, tr->nv, tr->nv, ESYS_TR_PASSWORD,
			       ESYS_TR_NONE, ESYS_TR_NONE);
	tpm_note(tr, rc);
	if (rc)
		return tpm_err(e, rc, "NV_Increment of the counter");
	r = nv_read(&tr->t, tr->nv, value, e);
	if (r == -ENODEV)
		tr->broken = true;
	return r;
}

static void tpm_destroy(struct bfl_root_signer *rs)
{
	struct tpm_root *tr = rs->priv;

	if (tr) {
		/* Persistent objects stay; only the ESYS handles go. */
		close_handles(tr);
		tpm_close(&tr->t);
		free(tr);
	}
	bfl_key_free(&rs->key);
	free(rs);
}

static const struct bfl_root_signer_ops tpm_ops = {
	.sign = tpm_sign,
	.counter_increment = tpm_counter_increment,
	.counter_read = tpm_counter_read,
	.destroy = tpm_destroy,
};

struct bfl_root_signer *bfl_tpm_root_open(const struct bfl_tpm_config *cfg,
					  struct bfl_err *e)
{
	struct bfl_root_signer *rs = calloc(1, sizeof(*rs));
	struct tpm_root *tr = calloc(1, sizeof(*tr));
	EVP_PKEY *pk = NULL;

	if (!rs || !tr) {
		free(rs);
		free(tr);
		bfl_errf(e, -ENOMEM, "out of memory");
		return NULL;
	}
	tr->key = ESYS_TR_NONE;
	tr->nv = ESYS_TR_NONE;
	rs->ops = &tpm_ops;
	rs->kind = "tpm2";
	rs->priv = tr;
	if (cfg)
		tr->cfg = *cfg;
	if (tpm_attach(tr, NULL, &pk, e))
		goto fail;
	/* Reconnects use the same settings (the caller's string may go). */
	memcpy(tr->tcti, tr->t.tcti_conf, sizeof(tr->tcti));
	tr->cfg.tcti = tr->tcti;
	tr->cfg.key_handle = tr->t.key_handle;
	tr->cfg.nv_index = tr->t.nv_index;
	if (bfl_key_init(&rs->key, BFL_ROOT_KEY_NAME, pk, e))
		goto fail;
	EVP_PKEY_free(pk);
	return rs;
fail:
	EVP_PKEY_free(pk);
	tpm_destroy(rs);
	return NULL;
}

EVP_PKEY *bfl_tpm_read_pubkey(const struct bfl_tpm_config *cfg,
			      struct bfl_err *e)
{
	struct tpm t;
	ESYS_TR key = ESYS_TR_NONE;
	EVP_PKEY *pk = NULL;

	if (tpm_connect(&t, cfg, e))
		return NULL;
	if (!load_key(&t, &key, &pk, e))
		(void)Esys_TR_Close(t.esys, &key);
	tpm_close(&t);
	return pk;
}

/* ----------------------------------------------------- provisioning -- */

static int set_owner_auth(struct tpm *t, const struct bfl_tpm_provision_opts *o,
			  struct bfl_err *e)
{
	TPM2B_AUTH a;
	TSS2_RC rc;

	memset(&a, 0, sizeof(a));
	if (o->owner_auth_len > sizeof(a.buffer))
		return bfl_errf(e, -EINVAL, "owner authorization value longer than %zu bytes",
				sizeof(a.buffer));
	if (o->owner_auth_len) {
		memcpy(a.buffer, o->owner_auth, o->owner_auth_len);
		a.size = (UINT16)o->owner_auth_len;
	}
	rc = Esys_TR_SetAuth(t->esys, ESYS_TR_RH_OWNER, &a);
	OPENSSL_cleanse(&a, sizeof(a));
	if (rc)
		return tpm_err(e, rc, "setting the owner authorization");
	return 0;
}

static int evict_existing(struct tpm *t, struct bfl_err *e)
{
	ESYS_TR old = ESYS_TR_NONE, out = ESYS_TR_NONE;
	TSS2_RC rc;

	rc = Esys_TR_FromTPMPublic(t->esys, t->key_handle, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, &old);
	if (rc)
		return tpm_err(e, rc, "loading the object at the key handle");
	rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, old,
			       ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       t->key_handle, &out);
	if (rc) {
		(void)Esys_TR_Close(t->esys, &old);
		return tpm_err(e, rc, "EvictControl (removing the old key)");
	}
	/* On eviction ESYS invalidates the handle itself. */
	return 0;
}

static int create_key(struct tpm *t, EVP_PKEY **pk, struct bfl_err *e)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION pcrs = { .count = 0 };
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR prim = ESYS_TR_NONE, pers = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	memset(&sens, 0, sizeof(sens));
	key_template(&tmpl);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
				&outside, &pcrs, &prim, &pub, NULL, NULL,
				NULL);
	if (rc)
		return tpm_err(e, rc, "CreatePrimary (root key, owner hierarchy)");
	r = check_key_public(pub, t->key_handle, pk, e);
	Esys_Free(pub);
	if (!r) {
		rc = Esys_EvictControl(t->esys, ESYS_TR_RH_OWNER, prim,
				       ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE, t->key_handle, &pers);
		if (rc)
			r = tpm_err(e, rc, "EvictControl (persisting the root key)");
		else
			(void)Esys_TR_Close(t->esys, &pers);
	}
	rc = Esys_FlushContext(t->esys, prim);
	if (rc && !r)
		r = tpm_err(e, rc, "FlushContext of the transient key");
	if (r) {
		EVP_PKEY_free(*pk);
		*pk = NULL;
	}
	return r;
}

static int define_nv(struct tpm *t, bool orderly, struct bfl_err *e)
{
	TPM2B_AUTH auth = { .size = 0 };
	TPM2B_NV_PUBLIC pub;
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;

	memset(&pub, 0, sizeof(pub));
	pub.nvPublic.nvIndex = t->nv_index;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = NV_ATTRS |
		((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) & TPMA_NV_TPM2_NT_MASK) |
		(orderly ? TPMA_NV_ORDERLY : 0);
	pub.nvPublic.authPolicy.size = 0;
	pub.nvPublic.dataSize = 8;
	rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &auth, &pub, &nv);
	if (rc)
		return tpm_err(e, rc, "NV_DefineSpace (the counter)");
	(void)Esys_TR_Close(t->esys, &nv);
	return 0;
}

static int undefine_nv(struct tpm *t, struct bfl_err *e)
{
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;

	rc = Esys_TR_FromTPMPublic(t->esys, t->nv_index, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, &nv);
	if (rc)
		return tpm_err(e, rc, "loading the NV index");
	rc = Esys_NV_UndefineSpace(t->esys, ESYS_TR_RH_OWNER, nv,
				   ESYS_TR_PASSWORD, ESYS_TR_NONE,
				   ESYS_TR_NONE);
	if (rc) {
		(void)Esys_TR_Close(t->esys, &nv);
		return tpm_err(e, rc, "NV_UndefineSpace (the old NV index)");
	}
	return 0;
}

int bfl_tpm_provision(const struct bfl_tpm_provision_opts *o,
		      struct bfl_tpm_provision_report *rep,
		      struct bfl_err *e)
{
	struct bfl_err sub;
	struct tpm t;
	ESYS_TR nv = ESYS_TR_NONE;
	bool have_key, have_nv, orderly = false;
	int r;

	memset(rep, 0, sizeof(*rep));
	r = tpm_connect(&t, &o->cfg, e);
	if (r)
		return r;
	r = set_owner_auth(&t, o, e);
	if (r)
		goto out;
	r = tpm_exists(&t, t.key_handle, &have_key, e);
	if (!r)
		r = tpm_exists(&t, t.nv_index, &have_nv, e);
	if (r)
		goto out;

	/* Everything that could make us refuse, before changing anything. */
	if (have_key && !o->force) {
		ESYS_TR k;
		EVP_PKEY *pk = NULL;
		bool ours = !load_key(&t, &k, &pk, &sub);

		if (ours)
			(void)Esys_TR_Close(t.esys, &k);
		EVP_PKEY_free(pk);
		r = bfl_errf(e, -EEXIST,
			     "TPM: persistent handle 0x%08x already holds %s; not replacing it without --force (to export its public key again use --export-pubkey)",
			     t.key_handle,
			     ours ? "a bioflow root key" : "an object that is not a bioflow root key");
		goto out;
	}
	if (have_nv) {
		r = load_nv(&t, &nv, &orderly, e);
		if (r == -EMEDIUMTYPE && o->force) {
			r = undefine_nv(&t, e);
			have_nv = false;
		} else if (r == -EMEDIUMTYPE && e) {
			memcpy(sub.msg, e->msg, sizeof(sub.msg));
			bfl_errf(e, r, "%s; not replacing it without --force",
				 sub.msg);
		}
		if (r)
			goto out;
	}

	if (have_key) {
		r = evict_existing(&t, e);
		if (r)
			goto out;
		rep->key_replaced = true;
	}
	r = create_key(&t, &rep->pub, e);
	if (r)
		goto out;
	if (!have_nv) {
		r = define_nv(&t, o->orderly, e);
		if (!r)
			r = load_nv(&t, &nv, &orderly, e);
		if (r)
			goto out;
		rep->nv_defined = true;
	}
	rep->nv_orderly = orderly;
	r = nv_read(&t, nv, &rep->counter, e);
out:
	if (nv != ESYS_TR_NONE)
		(void)Esys_TR_Close(t.esys, &nv);
	if (r) {
		EVP_PKEY_free(rep->pub);
		rep->pub = NULL;
	}
	tpm_close(&t);
	return r;
}
