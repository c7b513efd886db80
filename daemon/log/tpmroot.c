// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The TPM root signer: the root of the log's key hierarchy in a TPM 2.0,
 * through tpm2-tss (ESYS API, TCTI chosen by a tctildr string such as
 * "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321").
 *
 *   key      a primary ECC P-256 key under the owner hierarchy, created
 *            from a fixed template (below) and persisted at a persistent
 *            handle (BFL_TPM_KEY_HANDLE).  Attributes fixedTPM,
 *            fixedParent, sensitiveDataOrigin, noDA, restricted, sign;
 *            not userWithAuth: usable only through its policy,
 *            PolicyAuthValue (the authorization value the monitor holds
 *            in a root-only file), optionally after PolicyPCR (the PCRs
 *            that measure the boot).  Restricted: it signs only
 *            structures the TPM generates itself, here TPM2_NV_Certify
 *            of the counter.  The private part never leaves the TPM.
 *   counter  an NV index of type counter (BFL_TPM_NV_INDEX), 8 bytes,
 *            written and read with its authValue (the same value), never
 *            orderly.  A counter can only go up.
 *
 * Every command that needs an authorization runs in an HMAC or policy
 * session (the authValue never crosses the bus in clear), flushed after
 * the command.  bfl_tpm_provision() creates key, counter and the
 * authorization file (bioflow-provision calls it); bfl_tpm_root_open()
 * only loads them and checks that they are what they must be.
 * docs/tpm.md tells the whole story.
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
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "bflog.h"

/* The key's template "unique" field: makes the primary key ours (a
 * primary key is derived from the hierarchy seed and its template).
 * v1 was the unrestricted key that signed any digest. */
#define TPM_KEY_LABEL		"bioflow-root-key v2"

/* noDA: the authValue is 32 random bytes, which no dictionary attack
 * guesses; with DA protection every non-orderly TPM startup (a power
 * cut) after the key was used would count as a failed authorization and
 * a few of them would stop the log (TPM_RC_LOCKOUT). */
#define OBJ_REQUIRED	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
			 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA | \
			 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)
#define OBJ_FORBIDDEN	(TPMA_OBJECT_DECRYPT | TPMA_OBJECT_USERWITHAUTH)
#define NV_ATTRS	(TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | \
			 TPMA_NV_OWNERREAD | TPMA_NV_NO_DA)

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	char tcti_conf[256];
	u32 key_handle;
	u32 nv_index;
	TPM2B_AUTH auth;	/* of the key and the counter; wiped */
	u32 pcrs;		/* SHA-256 PCRs in the key's policy */
};

struct tpm_root {
	struct tpm t;
	struct bfl_tpm_config cfg;	/* tcti and auth point below */
	char tcti[256];
	u8 auth[BFL_TPM_AUTH_MAX];
	ESYS_TR key;
	ESYS_TR nv;
	TPM2B_DIGEST policy;	/* the key's authPolicy */
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
	case TPM2_RC_POLICY_FAIL:
	case TPM2_RC_PCR_CHANGED:
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
		return " (wrong authorization value: not the one in the authorization file bioflow-provision wrote)";
	case TPM2_RC_POLICY_FAIL:
	case TPM2_RC_PCR_CHANGED:
		return " (the root key's policy is not satisfied: the PCR values differ from those at provisioning)";
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
	OPENSSL_cleanse(&t->auth, sizeof(t->auth));
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
	if (cfg && cfg->auth_len > sizeof(t->auth.buffer))
		return bfl_errf(e, -EINVAL, "authorization value longer than %zu bytes",
				sizeof(t->auth.buffer));
	if (cfg && cfg->auth_len) {
		memcpy(t->auth.buffer, cfg->auth, cfg->auth_len);
		t->auth.size = (UINT16)cfg->auth_len;
	}
	t->pcrs = cfg ? cfg->pcrs : 0;
	if (t->pcrs & ~BFL_TPM_PCR_MASK)
		return bfl_errf(e, -EINVAL, "PCR selection 0x%x: only PCRs 0-23",
				t->pcrs);
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

/* Closes an ESYS handle, overwriting the authValue ESYS keeps for it. */
static void tr_close(struct tpm *t, ESYS_TR *h)
{
	TPM2B_AUTH none;

	if (t->esys && *h != ESYS_TR_NONE) {
		memset(&none, 0, sizeof(none));
		(void)Esys_TR_SetAuth(t->esys, *h, &none);
		(void)Esys_TR_Close(t->esys, h);
	}
	*h = ESYS_TR_NONE;
}

/* ---------------------------------------------------------- the key -- */

static void key_template(TPM2B_PUBLIC *p, const TPM2B_DIGEST *policy)
{
	TPMT_PUBLIC *a = &p->publicArea;

	memset(p, 0, sizeof(*p));
	a->type = TPM2_ALG_ECC;
	a->nameAlg = TPM2_ALG_SHA256;
	a->objectAttributes = OBJ_REQUIRED;
	a->authPolicy = *policy;
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
	if (!(a->objectAttributes & TPMA_OBJECT_RESTRICTED) &&
	    (a->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: the key at 0x%08x is not restricted (attributes 0x%08x): a root key of the old kind, which signs any digest; run bioflow-provision --force to create the restricted one (and give auditors its new public key)",
				h, (unsigned int)a->objectAttributes);
	if ((a->objectAttributes & OBJ_REQUIRED) != OBJ_REQUIRED ||
	    (a->objectAttributes & OBJ_FORBIDDEN) ||
	    a->authPolicy.size != SHA256_DIGEST_LENGTH)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: the key at 0x%08x has attributes 0x%08x (policy of %u bytes); a bioflow root key needs fixedTPM|fixedParent|sensitiveDataOrigin|noDA|restricted|sign, a SHA-256 policy, and neither decrypt nor userWithAuth",
				h, (unsigned int)a->objectAttributes, a->authPolicy.size);
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
		    TPM2B_DIGEST *policy, struct bfl_err *e)
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
	if (!r && policy)
		*policy = pub->publicArea.authPolicy;
	if (!r && t->auth.size) {
		rc = Esys_TR_SetAuth(t->esys, *tr, &t->auth);
		if (rc)
			r = tpm_err(e, rc, "setting the root key's authorization");
	}
	Esys_Free(pub);
	if (r)
		tr_close(t, tr);
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
	if (n->attributes & TPMA_NV_ORDERLY)
		return bfl_errf(e, -EMEDIUMTYPE,
				"TPM: NV counter 0x%08x is orderly: it jumps ahead after a power cut, which leaves a gap in the attested values; run bioflow-provision --force to define it again (its value never goes back)",
				idx);
	return 0;
}

static int load_nv(struct tpm *t, ESYS_TR *tr, struct bfl_err *e)
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
	}
	if (!r && t->auth.size) {
		rc = Esys_TR_SetAuth(t->esys, *tr, &t->auth);
		if (rc)
			r = tpm_err(e, rc, "setting the counter's authorization");
	}
	Esys_Free(pub);
	if (r)
		tr_close(t, tr);
	return r;
}

/* --------------------------------------------------------- sessions -- */

static int sess_start(struct tpm *t, TPM2_SE type, ESYS_TR *s, struct bfl_err *e)
{
	TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL,
				   type, &sym, TPM2_ALG_SHA256, s);
	if (rc) {
		*s = ESYS_TR_NONE;
		return tpm_err(e, rc, type == TPM2_SE_HMAC ? "StartAuthSession (HMAC)" :
			       "StartAuthSession (policy)");
	}
	return 0;
}

/* Sessions keep continueSession and are flushed here, after success or
 * failure alike. */
static void sess_end(struct tpm *t, ESYS_TR *s)
{
	if (*s != ESYS_TR_NONE && t->esys)
		(void)Esys_FlushContext(t->esys, *s);
	*s = ESYS_TR_NONE;
}

static void pcr_selection(u32 pcrs, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = (u8)pcrs;
	sel->pcrSelections[0].pcrSelect[1] = (u8)(pcrs >> 8);
	sel->pcrSelections[0].pcrSelect[2] = (u8)(pcrs >> 16);
}

/* "sha256:7" or "sha256:0,7" (out at least 80 bytes). */
static void pcr_text(u32 pcrs, char *out, size_t cap)
{
	size_t l = 0;
	int i;

	l = (size_t)snprintf(out, cap, "sha256:");
	for (i = 0; i < 24 && l < cap; i++)
		if (pcrs & (1u << i))
			l += (size_t)snprintf(out + l, cap - l, "%s%d",
					      out[l - 1] == ':' ? "" : ",", i);
}

/* The key's policy: [PolicyPCR(pcrs, as they are now)] PolicyAuthValue. */
static int policy_apply(struct tpm *t, ESYS_TR s, struct bfl_err *e)
{
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST none = { .size = 0 };
	TSS2_RC rc;

	if (t->pcrs) {
		pcr_selection(t->pcrs, &sel);
		rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE,
				    ESYS_TR_NONE, &none, &sel);
		if (rc)
			return tpm_err(e, rc, "PolicyPCR");
	}
	rc = Esys_PolicyAuthValue(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE);
	if (rc)
		return tpm_err(e, rc, "PolicyAuthValue");
	return 0;
}

static int policy_get(struct tpm *t, ESYS_TR s, TPM2B_DIGEST *out,
		      struct bfl_err *e)
{
	TPM2B_DIGEST *d = NULL;
	TSS2_RC rc;

	rc = Esys_PolicyGetDigest(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, &d);
	if (rc)
		return tpm_err(e, rc, "PolicyGetDigest");
	*out = *d;
	Esys_Free(d);
	return 0;
}

/* The policy digest for the PCR values as they are now (trial session). */
static int policy_digest(struct tpm *t, TPM2B_DIGEST *out, struct bfl_err *e)
{
	ESYS_TR s = ESYS_TR_NONE;
	int r = sess_start(t, TPM2_SE_TRIAL, &s, e);

	if (!r)
		r = policy_apply(t, s, e);
	if (!r)
		r = policy_get(t, s, out, e);
	sess_end(t, &s);
	return r;
}

/* Refuses, with the reason, when the key's policy cannot be satisfied
 * now: the PCRs moved since provisioning (the appliance did not boot
 * what it booted then), or the authorization file names other PCRs. */
static int policy_check(struct tpm *t, const TPM2B_DIGEST *key_policy,
			struct bfl_err *e)
{
	TPM2B_DIGEST now;
	char pt[96];
	int r = policy_digest(t, &now, e);

	if (r)
		return r;
	if (now.size == key_policy->size &&
	    !memcmp(now.buffer, key_policy->buffer, now.size))
		return 0;
	if (!t->pcrs)
		return bfl_errf(e, -EACCES,
				"TPM: the root key's policy is not PolicyAuthValue alone: it was provisioned with PCRs, which the authorization file does not name");
	pcr_text(t->pcrs, pt, sizeof(pt));
	return bfl_errf(e, -EACCES,
			"TPM: the root key's policy is not satisfied: PCR %s differs from its value at provisioning (the appliance did not boot the expected software, or the PCR was extended since); the key certifies nothing",
			pt);
}

static int nv_read(struct tpm *t, ESYS_TR nv, u64 *value, struct bfl_err *e)
{
	ESYS_TR hs = ESYS_TR_NONE;
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
	i = sess_start(t, TPM2_SE_HMAC, &hs, e);
	if (i)
		return i;
	rc = Esys_NV_Read(t->esys, nv, nv, hs, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &d);
	sess_end(t, &hs);
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
	tr_close(&tr->t, &tr->key);
	tr_close(&tr->t, &tr->nv);
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
	r = load_key(&tr->t, &tr->key, &now, &tr->policy, e);
	if (!r)
		r = load_nv(&tr->t, &tr->nv, e);
	if (!r && !tr->cfg.auth_len)
		r = bfl_errf(e, -EINVAL,
			     "TPM: no authorization value for the root key (the file bioflow-provision wrote)");
	if (!r)
		r = policy_check(&tr->t, &tr->policy, e);
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

/* TPMS_NV_PUBLIC as the TPM marshals it (its SHA-256 is the index's
 * name, which the attestation carries). */
static size_t marshal_nv_public(const TPMS_NV_PUBLIC *n, u8 *out, size_t cap)
{
	size_t need = 4 + 2 + 4 + 2 + n->authPolicy.size + 2;
	u8 *p = out;

	if (need > cap || n->authPolicy.size > sizeof(n->authPolicy.buffer))
		return 0;
	*p++ = (u8)(n->nvIndex >> 24);
	*p++ = (u8)(n->nvIndex >> 16);
	*p++ = (u8)(n->nvIndex >> 8);
	*p++ = (u8)n->nvIndex;
	*p++ = (u8)(n->nameAlg >> 8);
	*p++ = (u8)n->nameAlg;
	*p++ = (u8)(n->attributes >> 24);
	*p++ = (u8)(n->attributes >> 16);
	*p++ = (u8)(n->attributes >> 8);
	*p++ = (u8)n->attributes;
	*p++ = (u8)(n->authPolicy.size >> 8);
	*p++ = (u8)n->authPolicy.size;
	memcpy(p, n->authPolicy.buffer, n->authPolicy.size);
	p += n->authPolicy.size;
	*p++ = (u8)(n->dataSize >> 8);
	*p++ = (u8)n->dataSize;
	return (size_t)(p - out);
}

/* The TPM's ECDSA signature as DER, checked against the key. */
static int sig_der(struct bfl_root_signer *rs, const TPMT_SIGNATURE *ts,
		   const u8 *msg, size_t len, u8 *sig, size_t *sig_len,
		   struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	u8 *der = NULL;
	int dlen, r;

	if (ts->sigAlg != TPM2_ALG_ECDSA ||
	    ts->signature.ecdsa.hash != TPM2_ALG_SHA256 ||
	    ts->signature.ecdsa.signatureR.size > 32 ||
	    ts->signature.ecdsa.signatureS.size > 32)
		return bfl_errf(e, -EIO, "TPM: NV_Certify returned an unexpected signature (alg 0x%x)",
				ts->sigAlg);
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
	return r;
}

/* TPM2_NV_Certify of the whole counter, qualifying data qual, signed by
 * the root key through its policy session; the NV authorization in an
 * HMAC session. */
static int tpm_certify(struct bfl_root_signer *rs, const char *body, size_t len,
		       struct bfl_attestation *a, struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	struct tpm *t = &tr->t;
	TPM2B_DATA q = { .size = BFL_HASH_SIZE };
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
	TPM2B_NV_PUBLIC *pub = NULL;
	TPM2B_ATTEST *info = NULL;
	TPMT_SIGNATURE *ts = NULL;
	TPM2B_DIGEST now;
	ESYS_TR ps = ESYS_TR_NONE, hs = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = tpm_ready(rs, "NV_Certify of the counter", e);
	if (r)
		return r;
	bfl_sha256(body, len, NULL, 0, q.buffer);
	memset(a, 0, sizeof(*a));
	rc = Esys_NV_ReadPublic(t->esys, tr->nv, ESYS_TR_NONE, ESYS_TR_NONE,
				ESYS_TR_NONE, &pub, NULL);
	tpm_note(tr, rc);
	if (rc)
		return tpm_err(e, rc, "NV_ReadPublic of the counter");
	if (!(pub->nvPublic.attributes & TPMA_NV_WRITTEN)) {
		Esys_Free(pub);
		return bfl_errf(e, -ENODATA,
				"TPM: the counter 0x%08x was never incremented, so it cannot be certified (run bioflow-provision, which increments it once)",
				t->nv_index);
	}
	a->nvpub_len = marshal_nv_public(&pub->nvPublic, a->nvpub, sizeof(a->nvpub));
	Esys_Free(pub);
	if (!a->nvpub_len)
		return bfl_errf(e, -EIO, "TPM: the counter's public area is too large");

	r = sess_start(t, TPM2_SE_POLICY, &ps, e);
	if (!r)
		r = policy_apply(t, ps, e);
	/* A clear reason rather than TPM_RC_POLICY_FAIL: the policy as
	 * it stands now against the key's. */
	if (!r)
		r = policy_get(t, ps, &now, e);
	if (!r && (now.size != tr->policy.size ||
		   memcmp(now.buffer, tr->policy.buffer, now.size)))
		r = policy_check(t, &tr->policy, e);
	if (!r)
		r = sess_start(t, TPM2_SE_HMAC, &hs, e);
	if (!r) {
		rc = Esys_NV_Certify(t->esys, tr->key, tr->nv, tr->nv, ps, hs,
				     ESYS_TR_NONE, &q, &scheme, 8, 0, &info, &ts);
		tpm_note(tr, rc);
		if (rc)
			r = tpm_err(e, rc, "NV_Certify of the counter with the root key");
	}
	sess_end(t, &ps);
	sess_end(t, &hs);
	if (r == -ENODEV)
		tr->broken = true;
	if (r)
		goto out;
	if (info->size > sizeof(a->attest)) {
		r = bfl_errf(e, -EIO, "TPM: an attestation of %u bytes", info->size);
		goto out;
	}
	memcpy(a->attest, info->attestationData, info->size);
	a->attest_len = info->size;
	a->sig_len = sizeof(a->sig);
	r = sig_der(rs, ts, a->attest, a->attest_len, a->sig, &a->sig_len, e);
out:
	Esys_Free(info);
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

static int nv_increment(struct tpm *t, ESYS_TR nv, struct bfl_err *e,
			TSS2_RC *rcp)
{
	ESYS_TR hs = ESYS_TR_NONE;
	TSS2_RC rc;
	int r = sess_start(t, TPM2_SE_HMAC, &hs, e);

	*rcp = 0;
	if (r)
		return r;
	rc = Esys_NV_Increment(t->esys, nv, nv, hs, ESYS_TR_NONE, ESYS_TR_NONE);
	sess_end(t, &hs);
	*rcp = rc;
	if (rc)
		return tpm_err(e, rc, "NV_Increment of the counter");
	return 0;
}

static int tpm_counter_increment(struct bfl_root_signer *rs, const char *cert,
				 size_t cert_len, u64 *value, struct bfl_err *e)
{
	struct tpm_root *tr = rs->priv;
	TSS2_RC rc;
	int r = tpm_ready(rs, "NV_Increment of the counter", e);

	(void)cert;
	(void)cert_len;
	if (r)
		return r;
	r = nv_increment(&tr->t, tr->nv, e, &rc);
	tpm_note(tr, rc);
	if (r == -ENODEV)
		tr->broken = true;
	if (r)
		return r;
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
		OPENSSL_cleanse(tr, sizeof(*tr));
		free(tr);
	}
	bfl_key_free(&rs->key);
	free(rs);
}

static const struct bfl_root_signer_ops tpm_ops = {
	.certify = tpm_certify,
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
	if (tr->cfg.auth_len > sizeof(tr->auth)) {
		bfl_errf(e, -EINVAL, "authorization value longer than %zu bytes",
			 sizeof(tr->auth));
		goto fail;
	}
	/* Kept (for reconnects) in our own memory, wiped at destroy. */
	if (tr->cfg.auth_len)
		memcpy(tr->auth, tr->cfg.auth, tr->cfg.auth_len);
	tr->cfg.auth = tr->auth;
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
	if (!load_key(&t, &key, &pk, NULL, e))
		tr_close(&t, &key);
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

static int create_key(struct tpm *t, const TPM2B_DIGEST *policy, EVP_PKEY **pk,
		      struct bfl_err *e)
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
	sens.sensitive.userAuth = t->auth;
	key_template(&tmpl, policy);
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
				&outside, &pcrs, &prim, &pub, NULL, NULL,
				NULL);
	OPENSSL_cleanse(&sens, sizeof(sens));
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
			tr_close(t, &pers);
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

static int define_nv(struct tpm *t, struct bfl_err *e)
{
	TPM2B_NV_PUBLIC pub;
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc;

	memset(&pub, 0, sizeof(pub));
	pub.nvPublic.nvIndex = t->nv_index;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = NV_ATTRS |
		((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) & TPMA_NV_TPM2_NT_MASK);
	pub.nvPublic.authPolicy.size = 0;
	pub.nvPublic.dataSize = 8;
	rc = Esys_NV_DefineSpace(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				 ESYS_TR_NONE, ESYS_TR_NONE, &t->auth, &pub, &nv);
	if (rc)
		return tpm_err(e, rc, "NV_DefineSpace (the counter)");
	tr_close(t, &nv);
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
		tr_close(t, &nv);
		return tpm_err(e, rc, "NV_UndefineSpace (the old NV index)");
	}
	return 0;
}

/* ---------------------------------------------- authorization file -- */

/*
 *   bioflow-tpm-auth v1
 *   auth <hex, 32 bytes>
 *   pcrs none | sha256:<n>[,<n>...]
 *
 * Root's only (owner root, mode 0600, checked when read): whoever reads
 * it can use the key and the counter as the monitor does.
 */
#define AUTH_MAGIC	"bioflow-tpm-auth v1\n"

static int auth_format(const struct bfl_tpm_auth *a, char *out, size_t cap)
{
	size_t l, i;
	char pt[96];

	l = (size_t)snprintf(out, cap, AUTH_MAGIC "auth ");
	for (i = 0; i < a->len && l + 3 < cap; i++)
		l += (size_t)snprintf(out + l, cap - l, "%02x", a->value[i]);
	if (a->pcrs)
		pcr_text(a->pcrs, pt, sizeof(pt));
	else
		snprintf(pt, sizeof(pt), "none");
	l += (size_t)snprintf(out + l, cap - l, "\npcrs %s\n", pt);
	return l < cap ? (int)l : -ENOSPC;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int auth_parse(const char *b, size_t len, struct bfl_tpm_auth *a)
{
	const char *p = b, *end = b + len, *nl;
	size_t ml = strlen(AUTH_MAGIC), n;

	memset(a, 0, sizeof(*a));
	if (len < ml || memcmp(p, AUTH_MAGIC, ml))
		return -EBADMSG;
	p += ml;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl || nl - p < 5 || memcmp(p, "auth ", 5))
		return -EBADMSG;
	p += 5;
	n = (size_t)(nl - p);
	if (n % 2 || n / 2 < 16 || n / 2 > sizeof(a->value))
		return -EBADMSG;
	for (a->len = 0; a->len < n / 2; a->len++) {
		int hi = hexval(p[2 * a->len]), lo = hexval(p[2 * a->len + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		a->value[a->len] = (u8)(hi << 4 | lo);
	}
	p = nl + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl || nl + 1 != end || nl - p < 9 || memcmp(p, "pcrs ", 5))
		return -EBADMSG;
	p += 5;
	if (nl - p == 4 && !memcmp(p, "none", 4))
		return 0;
	if (nl - p < 8 || memcmp(p, "sha256:", 7))
		return -EBADMSG;
	p += 7;
	while (p < nl) {
		unsigned int v = 0, digits = 0;

		while (p < nl && *p >= '0' && *p <= '9' && digits < 3) {
			v = v * 10 + (unsigned int)(*p++ - '0');
			digits++;
		}
		if (!digits || v > 23 || (p < nl && *p != ','))
			return -EBADMSG;
		a->pcrs |= 1u << v;
		if (p < nl)
			p++;
		if (p == nl && p[-1] == ',')
			return -EBADMSG;
	}
	return 0;
}

int bfl_tpm_auth_read(const char *path, struct bfl_tpm_auth *a, struct bfl_err *e)
{
	char buf[512];
	struct stat st;
	ssize_t n;
	int fd, r;

	memset(a, 0, sizeof(*a));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return bfl_errf(e, -errno,
				"TPM authorization file %s: %s (written by bioflow-provision)",
				path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return bfl_errf(e, -EINVAL, "TPM authorization file %s: not a regular file",
				path);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return bfl_errf(e, -EPERM,
				"TPM authorization file %s: owned by uid %u with mode %04o; it must be owned by %u and not accessible to group or others (0600): refusing a secret others could have read or replaced",
				path, (unsigned int)st.st_uid,
				(unsigned int)(st.st_mode & 07777),
				(unsigned int)geteuid());
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return bfl_errf(e, n < 0 ? -EIO : -EFBIG,
				"TPM authorization file %s: %s", path,
				n < 0 ? strerror(errno) : "too large");
	}
	r = auth_parse(buf, (size_t)n, a);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (r) {
		bfl_tpm_auth_cleanse(a);
		return bfl_errf(e, r, "TPM authorization file %s: malformed (not what bioflow-provision writes)",
				path);
	}
	return 0;
}

void bfl_tpm_auth_cleanse(struct bfl_tpm_auth *a)
{
	OPENSSL_cleanse(a, sizeof(*a));
}

/* The new file as PATH.tmp (0600, created exclusively, durable). */
static int auth_stage(const char *path, const struct bfl_tpm_auth *a,
		      char *tmp, size_t tcap, struct bfl_err *e)
{
	char buf[512];
	int fd, n, r = 0;

	if ((size_t)snprintf(tmp, tcap, "%s.tmp", path) >= tcap)
		return bfl_errf(e, -ENAMETOOLONG, "%s: name too long", path);
	n = auth_format(a, buf, sizeof(buf));
	if (n < 0)
		return bfl_errf(e, -ENOSPC, "authorization does not fit");
	(void)unlink(tmp);	/* a leftover of an interrupted run */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = bfl_errf(e, -errno, "%s: %s", tmp, strerror(errno));
	} else {
		if (fchmod(fd, 0600) || write(fd, buf, (size_t)n) != n || fsync(fd))
			r = bfl_errf(e, -errno, "%s: %s", tmp, strerror(errno));
		if (close(fd) && !r)
			r = bfl_errf(e, -errno, "%s: %s", tmp, strerror(errno));
		if (r)
			unlink(tmp);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int auth_commit(const char *tmp, const char *path, struct bfl_err *e)
{
	char *dup = strdup(path), *slash;
	int dfd;

	if (rename(tmp, path)) {
		int r = -errno;

		free(dup);
		return bfl_errf(e, r, "%s: %s", path, strerror(-r));
	}
	if (!dup)
		return bfl_errf(e, -ENOMEM, "out of memory");
	slash = strrchr(dup, '/');
	if (slash == dup)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	dfd = open(slash ? dup : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dup);
	return 0;
}

/* ----------------------------------------------------- provisioning -- */

int bfl_tpm_provision(const struct bfl_tpm_provision_opts *o,
		      struct bfl_tpm_provision_report *rep,
		      struct bfl_err *e)
{
	struct bfl_tpm_auth auth;
	struct bfl_err sub;
	struct tpm t;
	TPM2B_DIGEST policy;
	ESYS_TR nv = ESYS_TR_NONE;
	char tmp[4200] = "";
	bool have_key, have_nv;
	TSS2_RC rc;
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(&auth, 0, sizeof(auth));
	if (!o->auth_file)
		return bfl_errf(e, -EINVAL, "no path for the authorization file");
	if (o->pcrs & ~BFL_TPM_PCR_MASK)
		return bfl_errf(e, -EINVAL, "PCR selection 0x%x: only PCRs 0-23", o->pcrs);
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
		bool ours = !load_key(&t, &k, &pk, NULL, &sub);

		if (ours)
			tr_close(&t, &k);
		EVP_PKEY_free(pk);
		r = bfl_errf(e, -EEXIST,
			     "TPM: persistent handle 0x%08x already holds %s; not replacing it without --force (to export its public key again use --export-pubkey)",
			     t.key_handle,
			     ours ? "a bioflow root key" : "an object that is not a bioflow root key");
		goto out;
	}
	if (have_nv) {
		r = load_nv(&t, &nv, &sub);
		tr_close(&t, &nv);
		if (r == -EMEDIUMTYPE && !o->force &&
		    !strstr(sub.msg, "orderly") && !strstr(sub.msg, "authValue")) {
			r = bfl_errf(e, r, "%s; not replacing it without --force", sub.msg);
			goto out;
		}
		r = 0;
	}

	/* A new authorization value, staged on disk before the TPM holds
	 * it (a file that cannot be written changes nothing). */
	if (RAND_priv_bytes(auth.value, 32) != 1) {
		r = bfl_errf(e, -EIO, "no random bytes for the authorization value");
		goto out;
	}
	auth.len = 32;
	auth.pcrs = o->pcrs;
	memcpy(t.auth.buffer, auth.value, auth.len);
	t.auth.size = (UINT16)auth.len;
	t.pcrs = o->pcrs;
	r = auth_stage(o->auth_file, &auth, tmp, sizeof(tmp), e);
	if (r) {
		tmp[0] = 0;
		rep->auth_failed = true;
		goto out;
	}
	r = policy_digest(&t, &policy, e);
	if (r)
		goto out;
	if (have_key) {
		r = evict_existing(&t, e);
		if (r)
			goto out;
		rep->key_replaced = true;
	}
	r = create_key(&t, &policy, &rep->pub, e);
	if (r)
		goto out;
	/* The counter gets the new authorization: defined again if it
	 * exists (a counter defined again starts above every value any
	 * counter on this TPM had: it never goes back). */
	if (have_nv) {
		r = undefine_nv(&t, e);
		if (r)
			goto out;
		rep->nv_replaced = true;
	}
	r = define_nv(&t, e);
	if (!r)
		r = load_nv(&t, &nv, e);
	if (r)
		goto out;
	rep->nv_defined = true;
	/* Written once, so that NV_Certify can read it. */
	r = nv_increment(&t, nv, e, &rc);
	if (!r)
		r = nv_read(&t, nv, &rep->counter, e);
	if (r)
		goto out;
	r = auth_commit(tmp, o->auth_file, e);
	if (r)
		rep->auth_failed = true;
	else
		tmp[0] = 0;
	rep->pcrs = o->pcrs;
out:
	tr_close(&t, &nv);
	if (tmp[0])
		unlink(tmp);
	if (r) {
		EVP_PKEY_free(rep->pub);
		rep->pub = NULL;
	}
	bfl_tpm_auth_cleanse(&auth);
	tpm_close(&t);
	return r;
}
