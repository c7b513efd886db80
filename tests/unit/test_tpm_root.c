// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the TPM root signer (daemon/log/tpmroot.c) and of
 * bioflow-provision, against a private swtpm: provisioning and its
 * refusals, signatures checked by OpenSSL against the exported PEM, the
 * NV counter (monotonic, across restarts and power cuts, orderly or
 * not), failing closed when the TPM is absent, gone or not provisioned,
 * and the whole store flow (daemon/log/store.c) sealed by the TPM and
 * then checked by the verifier.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "ktap.h"
#include "lib/audit_rec.h"
#include "lib/swtpm.h"

#define NTESTS		37

static struct swtpm tpm, tpm2;
static char work[PATH_MAX], pem[PATH_MAX + 16], authf[PATH_MAX + 16];
static struct bfl_tpm_auth auth;	/* what the authorization file holds */
static const u8 boot_a[16] = { 0x7b, 0x70, 0x6d, 0x01 };

/* ------------------------------------------------------------ helpers -- */

static bool openssl_verifies(EVP_PKEY *pk, const void *msg, size_t len,
			     const u8 *sig, size_t sl);

static struct bfl_tpm_config cfg_of(const struct swtpm *s)
{
	struct bfl_tpm_config c = {
		.tcti = s->tcti, .auth = auth.value, .auth_len = auth.len,
		.pcrs = auth.pcrs,
	};

	return c;
}

static int load_auth(void)
{
	struct bfl_err e = { 0 };
	int r = bfl_tpm_auth_read(authf, &auth, &e);

	if (r)
		ktap_diag("auth file: %s", e.msg);
	return r;
}

/* A certificate-like body, certified; true if the attestation parses,
 * binds the body, and its signature verifies with pk. */
static bool certify_ok(struct bfl_root_signer *rs, EVP_PKEY *pk, const char *body,
		       u64 *value)
{
	struct bfl_attestation a;
	struct bfl_nv_attest na;
	struct bfl_err e = { 0 };
	u8 h[BFL_HASH_SIZE];
	int r = rs->ops->certify(rs, body, strlen(body), &a, &e);

	if (r) {
		ktap_diag("certify: %d: %s", r, e.msg);
		return false;
	}
	bfl_sha256(body, strlen(body), NULL, 0, h);
	if (bfl_nv_attest_parse(&a, &na, &e) || memcmp(na.extra, h, sizeof(h))) {
		ktap_diag("attestation: %s", e.msg);
		return false;
	}
	if (value)
		*value = na.value;
	return openssl_verifies(pk, a.attest, a.attest_len, a.sig, a.sig_len);
}

static void diag_err(const char *what, int r, const struct bfl_err *e)
{
	ktap_diag("%s: %d (%s): %s", what, r, r < 0 ? strerror(-r) : "-",
		  e->msg);
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle);
}

/* Verifies sig over msg with OpenSSL directly: the DER ECDSA signature
 * over SHA-256, as any auditor's tool would. */
static bool openssl_verifies(EVP_PKEY *pk, const void *msg, size_t len,
			     const u8 *sig, size_t sl)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const u8 *p = sig;
	ECDSA_SIG *es;
	bool ok;

	es = d2i_ECDSA_SIG(NULL, &p, (long)sl);
	if (!c || !es || p != sig + sl) {
		ECDSA_SIG_free(es);
		EVP_MD_CTX_free(c);
		return false;
	}
	ECDSA_SIG_free(es);
	ok = EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, pk) == 1 &&
	     EVP_DigestVerify(c, sig, sl, msg, len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

static EVP_PKEY *read_pem(const char *path)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *pk;

	if (!f)
		return NULL;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return pk;
}

static u64 read_counter(struct bfl_root_signer *rs)
{
	struct bfl_err e = { 0 };
	u64 v = UINT64_MAX;
	int r = rs->ops->counter_read(rs, &v, &e);

	if (r) {
		diag_err("counter_read", r, &e);
		return UINT64_MAX;
	}
	return v;
}

/* ---------------------------------------------------- running programs -- */

/* The directory holding build/bioflow-provision: the test's own is
 * build/tests/unit (native) or build/san/tests/unit (sanitizers). */
static bool find_tool(const char *name, char *out, size_t cap)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int up;

	if (n <= 0)
		return false;
	exe[n] = 0;
	for (up = 0; up < 5; up++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return false;
		*slash = 0;
		if ((size_t)snprintf(out, cap, "%s/%s", exe, name) < cap &&
		    access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* Runs argv with stdout+stderr into *output (malloc'ed); exit status. */
static int run(char *const argv[], char **output)
{
	char log[PATH_MAX + 16];
	struct bfl_err e = { 0 };
	size_t len;
	u8 *buf = NULL;
	pid_t pid;
	int st, fd;

	snprintf(log, sizeof(log), "%s/run.log", work);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	*output = NULL;
	if (!bfl_read_file(AT_FDCWD, log, 1 << 20, &buf, &len, &e)) {
		char *line, *save = NULL;

		*output = (char *)buf;
		buf = (u8 *)strdup(*output);
		for (line = buf ? strtok_r((char *)buf, "\n", &save) : NULL;
		     line; line = strtok_r(NULL, "\n", &save))
			ktap_diag("  | %s", line);
		free(buf);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ----------------------------------------------------------- records -- */

static void mkrec(u8 *buf, u64 seq, u32 type)
{
	test_audit_rec(buf, boot_a, 0x7e570001ULL, seq, type);
}

static int put(struct bfl_store *st, u64 first, unsigned int n,
	       struct bfl_err *e)
{
	u8 *buf = malloc((size_t)n * BFL_RECORD_MIN);
	unsigned int i, app = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		mkrec(buf + (size_t)i * BFL_RECORD_MIN, first + i,
		      i % 2 ? BIOREADER_AUDIT_VERDICT : BIOREADER_AUDIT_SESSION_START);
	r = bfl_store_append(st, buf, (size_t)n * BFL_RECORD_MIN, &app, NULL, e);
	free(buf);
	if (!r && app != n)
		r = -EPROTO;
	return r;
}

/* ------------------------------------------------------------- tests -- */

static void test_absent(void)
{
	struct bfl_tpm_config c = { 0 };
	struct bfl_err e = { 0 };
	struct bfl_root_signer *rs;
	char dead[64];
	EVP_PKEY *pk;
	bool ok;

	swtpm_dead_tcti(dead, sizeof(dead));
	c.tcti = dead;
	rs = bfl_tpm_root_open(&c, &e);
	ok = !rs && e.code == -ENODEV && contains(e.msg, "TPM") &&
	     contains(e.msg, dead);
	ktap_diag("absent: %s", e.msg);
	bfl_root_signer_free(rs);
	memset(&e, 0, sizeof(e));
	pk = bfl_tpm_read_pubkey(&c, &e);
	ok = ok && !pk && e.code == -ENODEV;
	EVP_PKEY_free(pk);
	ktap_check(ok, "TPM absent (nothing on the port): open and export fail closed with a clear error");
}

static void test_not_provisioned(void)
{
	struct bfl_tpm_config c = cfg_of(&tpm);
	struct bfl_err e = { 0 };
	struct bfl_root_signer *rs = bfl_tpm_root_open(&c, &e);

	ktap_diag("not provisioned: %s", e.msg);
	ktap_check(!rs && e.code == -ENOENT && contains(e.msg, "0x81000b10") &&
		   contains(e.msg, "bioflow-provision"),
		   "key missing at the handle: clear error naming the handle");
	bfl_root_signer_free(rs);
}

static EVP_PKEY *test_provision(void)
{
	struct bfl_tpm_provision_opts o = { .cfg = cfg_of(&tpm), .auth_file = authf };
	struct bfl_tpm_provision_report rep, rep2;
	struct bfl_err e = { 0 };
	EVP_PKEY *pub = NULL;
	struct stat sb;
	int r;

	r = bfl_tpm_provision(&o, &rep, &e);
	if (r)
		diag_err("provision", r, &e);
	ktap_check(!r && rep.pub && rep.nv_defined && !rep.key_replaced &&
		   rep.counter >= 1 && !stat(authf, &sb) && (sb.st_mode & 0777) == 0600 &&
		   !load_auth() && auth.len == 32 && !auth.pcrs,
		   "provision creates the key, the counter (incremented once) and a 0600 authorization file");
	if (!r)
		pub = rep.pub;

	memset(&e, 0, sizeof(e));
	r = bfl_tpm_provision(&o, &rep2, &e);
	ktap_diag("again: %s", e.msg);
	ktap_check(r == -EEXIST && !rep2.pub && contains(e.msg, "--force"),
		   "provision refuses an existing key without force");

	o.force = true;
	memset(&e, 0, sizeof(e));
	r = bfl_tpm_provision(&o, &rep2, &e);
	if (r)
		diag_err("provision --force", r, &e);
	ktap_check(!r && pub && rep2.key_replaced && rep2.nv_replaced &&
		   rep2.counter > rep.counter && EVP_PKEY_eq(pub, rep2.pub) == 1 &&
		   !load_auth(),
		   "provision --force re-creates the same key (fixed template), a new authorization, the counter never lower");
	if (!r)
		EVP_PKEY_free(rep2.pub);
	return pub;
}

static void test_export(EVP_PKEY *pub)
{
	struct bfl_tpm_config c = cfg_of(&tpm);
	struct bfl_err e = { 0 };
	EVP_PKEY *pk = bfl_tpm_read_pubkey(&c, &e), *back = NULL;
	bool ok = false;

	if (!pk)
		ktap_diag("export: %s", e.msg);
	snprintf(pem, sizeof(pem), "%s/root.pem", work);
	if (pk && pub && !bfl_write_pubkey_pem(pk, pem, &e)) {
		back = read_pem(pem);
		ok = back && EVP_PKEY_eq(back, pub) == 1 &&
		     EVP_PKEY_get_base_id(back) == EVP_PKEY_EC &&
		     EVP_PKEY_get_bits(back) == 256;
	}
	ktap_check(ok, "exported PEM is the provisioned P-256 key");
	EVP_PKEY_free(pk);
	EVP_PKEY_free(back);
}

static struct bfl_root_signer *open_signer(const struct swtpm *s,
					   const char *what)
{
	struct bfl_tpm_config c = cfg_of(s);
	struct bfl_err e = { 0 };
	struct bfl_root_signer *rs = bfl_tpm_root_open(&c, &e);

	if (!rs)
		diag_err(what, e.code, &e);
	return rs;
}

static void test_sign(struct bfl_root_signer *rs)
{
	EVP_PKEY *pk = read_pem(pem);
	struct bfl_key k = { 0 };
	struct bfl_err e = { 0 };
	struct bfl_tpm_config c = cfg_of(&tpm);
	struct bfl_root_signer *bad;
	u8 wrong[32];
	u64 v = 0, now = 0;
	bool ok = pk && rs;

	ok = ok && !strcmp(rs->kind, "tpm2") &&
	     !bfl_key_init(&k, BFL_ROOT_KEY_NAME, pk, &e) &&
	     k.key_id == rs->key.key_id;
	ktap_check(ok, "TPM root signer opens; its key and key ID match the PEM");

	ok = pk && rs && certify_ok(rs, pk, "bioflow-epoch-cert v2\norigin o\n", &v) &&
	     !rs->ops->counter_read(rs, &now, &e) && v == now;
	ktap_check(ok, "NV_Certify of the counter: binds the body, attests the current value, verifies with OpenSSL against the PEM");

	memcpy(wrong, auth.value, sizeof(wrong));
	wrong[0] ^= 1;
	c.auth = wrong;
	memset(&e, 0, sizeof(e));
	bad = bfl_tpm_root_open(&c, &e);
	if (bad) {
		struct bfl_attestation a;

		memset(&e, 0, sizeof(e));
		ok = bad->ops->certify(bad, "x", 1, &a, &e) == -EACCES;
		bfl_root_signer_free(bad);
	} else {
		ok = e.code == -EACCES;
	}
	ktap_diag("wrong authorization: %s", e.msg);
	ktap_check(ok, "a wrong authorization value certifies nothing (-EACCES)");
	bfl_key_free(&k);
	EVP_PKEY_free(pk);
}

static void test_counter(struct bfl_root_signer *rs, u64 *last)
{
	struct bfl_err e = { 0 };
	u64 v, prev;
	bool ok;
	int i, r;

	prev = read_counter(rs);
	ktap_check(prev >= 1 && prev != UINT64_MAX, "counter reads the provisioned value (incremented once)");
	ok = prev != UINT64_MAX;
	for (i = 0; ok && i < 5; i++) {
		r = rs->ops->counter_increment(rs, NULL, 0, &v, &e);
		if (r) {
			diag_err("increment", r, &e);
			ok = false;
			break;
		}
		if (i == 0)
			ktap_diag("first value %llu", (unsigned long long)v);
		ok = v == prev + 1 && read_counter(rs) == v;
		prev = v;
	}
	ktap_check(ok, "counter increments by one each time and reads back");
	*last = prev;
}

static void test_restart(u64 last)
{
	struct bfl_root_signer *rs;
	EVP_PKEY *pk = read_pem(pem);
	struct bfl_err e = { 0 };
	u64 v = 0;
	bool ok;

	/* A clean stop (the TPM saves its state on every NV write). */
	ok = !swtpm_stop(&tpm, SIGTERM) && !swtpm_start(&tpm);
	rs = ok ? open_signer(&tpm, "after restart") : NULL;
	ok = rs && read_counter(rs) == last && certify_ok(rs, pk, "m", NULL);
	ktap_check(ok, "key and counter survive a swtpm restart (state directory kept)");
	bfl_root_signer_free(rs);

	/* A power cut: a non-orderly counter loses nothing. */
	ok = !swtpm_stop(&tpm, SIGKILL) && !swtpm_start(&tpm);
	rs = ok ? open_signer(&tpm, "after power cut") : NULL;
	ok = rs && read_counter(rs) == last &&
	     !rs->ops->counter_increment(rs, NULL, 0, &v, &e) && v == last + 1;
	if (rs && v != last + 1)
		diag_err("increment after power cut", e.code, &e);
	ktap_check(ok, "non-orderly counter: exact after a power cut (kill -9), then increments");
	bfl_root_signer_free(rs);
	EVP_PKEY_free(pk);
}

static void test_tpm_gone(void)
{
	struct bfl_root_signer *rs = open_signer(&tpm, "open");
	struct bfl_err e = { 0 }, e2 = { 0 };
	struct bfl_attestation a;
	u64 v = 0;
	int r1 = 0, r2 = 0, old_port;
	bool ok;

	ok = rs && !swtpm_stop(&tpm, SIGKILL);
	old_port = tpm.port;
	if (ok) {
		r1 = rs->ops->certify(rs, "m", 1, &a, &e);
		r2 = rs->ops->counter_increment(rs, NULL, 0, &v, &e2);
		ktap_diag("certify: %s", e.msg);
		ktap_diag("increment: %s", e2.msg);
	}
	ktap_check(ok && r1 < 0 && r2 < 0 && contains(e.msg, "TPM: NV_") &&
		   contains(e2.msg, "TPM: NV_Increment") &&
		   contains(e2.msg, "connection to the TPM was lost"),
		   "TPM gone mid-run: certify and increment fail closed with a clear error");
	ok = !swtpm_start(&tpm);
	memset(&e, 0, sizeof(e));
	if (ok && rs) {
		ktap_diag("restarted on %s", tpm.tcti);
		r1 = rs->ops->certify(rs, "m", 1, &a, &e);
		if (r1)
			diag_err("sign after the TPM came back", r1, &e);
	}
	if (ok && tpm.port != old_port)	/* the port was taken meanwhile */
		ktap_diag("swtpm came back on another port: reconnect not checked");
	ktap_check(ok && rs && (r1 == 0 || tpm.port != old_port),
		   "swtpm restarts with its state; the open signer reconnects and signs");
	bfl_root_signer_free(rs);
}

/* Provisioning again defines the counter again (a new authorization):
 * the TPM starts the new counter at the highest value a deleted counter
 * had, so it cannot be rewound that way. */
static void test_recreate(void)
{
	struct bfl_tpm_provision_opts o = {
		.cfg = cfg_of(&tpm), .force = true, .auth_file = authf,
	};
	struct bfl_tpm_provision_report rep = { 0 };
	struct bfl_root_signer *rs = open_signer(&tpm, "before re-creating");
	struct bfl_err e = { 0 };
	u64 before = rs ? read_counter(rs) : 0, v = 0;
	bool ok;

	bfl_root_signer_free(rs);
	rs = NULL;
	ok = before != UINT64_MAX && !bfl_tpm_provision(&o, &rep, &e) &&
	     rep.nv_replaced && !load_auth();
	EVP_PKEY_free(rep.pub);
	rs = ok ? open_signer(&tpm, "after re-creating") : NULL;
	ok = rs && !rs->ops->counter_increment(rs, NULL, 0, &v, &e);
	ktap_diag("deleted at %llu, re-created counter at %llu, next %llu",
		  (unsigned long long)before, (unsigned long long)rep.counter,
		  (unsigned long long)v);
	ktap_check(ok && rep.counter > before && v > before,
		   "a deleted and re-defined counter does not start below the old one");
	bfl_root_signer_free(rs);
}

/* An orderly counter jumps after a power cut: a gap.  Refused. */
static void test_orderly(void)
{
	struct bfl_root_signer *rs;
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	ESYS_TR nv = ESYS_TR_NONE;
	TPM2B_AUTH a = { .size = 0 };
	TPM2B_NV_PUBLIC pub;
	struct bfl_tpm_config c = cfg_of(&tpm);
	struct bfl_err e = { 0 };
	TSS2_RC rc = 1;

	memset(&pub, 0, sizeof(pub));
	pub.nvPublic.nvIndex = 0x01B10002u;
	pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
	pub.nvPublic.attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD |
		TPMA_NV_NO_DA | TPMA_NV_ORDERLY |
		(TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT);
	pub.nvPublic.dataSize = 8;
	if (!Tss2_TctiLdr_Initialize(tpm.tcti, &t)) {
		rc = Esys_Initialize(&ctx, t, NULL);
		if (!rc)
			rc = Esys_NV_DefineSpace(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
						 ESYS_TR_NONE, ESYS_TR_NONE, &a, &pub, &nv);
		if (ctx)
			Esys_Finalize(&ctx);
		Tss2_TctiLdr_Finalize(&t);
	}
	c.nv_index = 0x01B10002u;
	rs = rc ? NULL : bfl_tpm_root_open(&c, &e);
	ktap_diag("orderly counter: %s", e.msg);
	ktap_check(!rc && !rs && e.code == -EMEDIUMTYPE && contains(e.msg, "orderly"),
		   "an orderly counter is refused (it would jump ahead after a power cut: a gap)");
	bfl_root_signer_free(rs);
}

/* TPM2_PT_LOCKOUT_COUNTER and TPM2_PT_MAX_AUTH_FAIL, or -1. */
static int lockout_state(const char *tcti, u32 *count, u32 *max)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	u32 i;

	*count = *max = 0;
	if (Tss2_TctiLdr_Initialize(tcti, &t))
		return -1;
	rc = Esys_Initialize(&ctx, t, NULL);
	if (!rc)
		rc = Esys_GetCapability(ctx, ESYS_TR_NONE, ESYS_TR_NONE,
					ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
					TPM2_PT_LOCKOUT_COUNTER, 2, &more, &cap);
	for (i = 0; !rc && i < cap->data.tpmProperties.count; i++) {
		const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];

		if (p->property == TPM2_PT_LOCKOUT_COUNTER)
			*count = p->value;
		if (p->property == TPM2_PT_MAX_AUTH_FAIL)
			*max = p->value;
	}
	Esys_Free(cap);
	if (ctx)
		Esys_Finalize(&ctx);
	Tss2_TctiLdr_Finalize(&t);
	return rc ? -1 : 0;
}

/* A non-orderly startup counts as a failed authorization when a
 * DA-protected object was used since the last orderly shutdown: with a
 * DA-protected root key, three power cuts put swtpm (max 3 tries) in
 * lockout and signing stops.  The root key and the counter are noDA. */
static void test_power_cuts(void)
{
	struct bfl_root_signer *rs = NULL;
	struct bfl_err e = { 0 };
	EVP_PKEY *pk = read_pem(pem);
	u32 count = 0, max = 0;
	u64 before = 0, v = 0;
	bool ok = true;
	int i;

	rs = open_signer(&tpm, "before power cuts");
	ok = rs && !rs->ops->counter_read(rs, &before, &e);
	bfl_root_signer_free(rs);
	for (i = 0; ok && i < 4; i++)
		ok = !swtpm_stop(&tpm, SIGKILL) && !swtpm_start(&tpm);
	if (ok && !lockout_state(tpm.tcti, &count, &max))
		ktap_diag("after 4 power cuts: lockout counter %u of %u", count, max);
	ok = ok && count < max;
	rs = ok ? open_signer(&tpm, "after power cuts") : NULL;
	ok = rs && certify_ok(rs, pk, "m", NULL) &&
	     !rs->ops->counter_increment(rs, NULL, 0, &v, &e) && v == before + 1;
	if (rs && !ok)
		diag_err("after power cuts", e.code, &e);
	ktap_check(ok, "repeated power cuts: no DA lockout (noDA key and counter); the key certifies, the counter counts");
	bfl_root_signer_free(rs);
	EVP_PKEY_free(pk);
}

/* ------------------------------------------- attacks and crashes -- */

/* A root signer in front of the TPM one that fails at a chosen step, as
 * a crash there would leave things, or lies about the counter as an
 * insider re-making epochs "with the original counter values" would. */
enum wfail { WF_NONE, WF_CERTIFY, WF_INC_BEFORE, WF_INC_AFTER, WF_CLAIM };

struct wrap {
	struct bfl_root_signer *real;
	enum wfail fail;
	u64 claim;		/* WF_CLAIM: what counter_read says */
};

static int w_certify(struct bfl_root_signer *rs, const char *b, size_t l,
		     struct bfl_attestation *a, struct bfl_err *e)
{
	struct wrap *w = rs->priv;

	if (w->fail == WF_CERTIFY)
		return bfl_errf(e, -EIO, "test: crash before NV_Certify");
	return w->real->ops->certify(w->real, b, l, a, e);
}

static int w_inc(struct bfl_root_signer *rs, const char *c, size_t cl, u64 *v,
		 struct bfl_err *e)
{
	struct wrap *w = rs->priv;
	int r;

	if (w->fail == WF_INC_BEFORE)
		return bfl_errf(e, -EIO, "test: crash before the increment");
	r = w->real->ops->counter_increment(w->real, c, cl, v, e);
	if (!r && w->fail == WF_INC_AFTER)
		return bfl_errf(e, -EIO, "test: crash after the increment");
	if (!r && w->fail == WF_CLAIM)
		*v = ++w->claim;
	return r;
}

static int w_read(struct bfl_root_signer *rs, u64 *v, struct bfl_err *e)
{
	struct wrap *w = rs->priv;

	if (w->fail == WF_CLAIM) {
		*v = w->claim;
		return 0;
	}
	return w->real->ops->counter_read(w->real, v, e);
}

static void w_destroy(struct bfl_root_signer *rs)
{
	(void)rs;
}

static const struct bfl_root_signer_ops wrap_ops = {
	.certify = w_certify, .counter_increment = w_inc,
	.counter_read = w_read, .destroy = w_destroy,
};

static struct bfl_root_signer wrapped(struct bfl_root_signer *real, struct wrap *w,
				      enum wfail f)
{
	struct bfl_root_signer rs = { .ops = &wrap_ops, .kind = "test", .priv = w };

	w->real = real;
	w->fail = f;
	rs.key = real->key;	/* shared, not freed here */
	return rs;
}

/* Verifies dir against the PEM; nv: the counter now (UINT64_MAX: none).
 * Returns the verdict; kind and where get the first error. */
static int verify_dir(const char *dir, u64 nv, char *kind, char *where)
{
	struct bfl_verify_opts vo = { .have_nv = nv != UINT64_MAX, .nv_counter = nv };
	struct bfl_verify_result res;
	struct bfl_key root = { 0 };
	const struct bfl_finding *f;
	EVP_PKEY *pk = read_pem(pem);
	int v;

	kind[0] = where[0] = 0;
	if (!pk || bfl_key_init(&root, BFL_ROOT_KEY_NAME, pk, NULL)) {
		EVP_PKEY_free(pk);
		return -1;
	}
	EVP_PKEY_free(pk);
	bfl_verify_store(dir, &root, &vo, &res);
	f = bfl_first_error(&res);
	if (f) {
		snprintf(kind, 40, "%s", f->kind);
		snprintf(where, 160, "%s", f->where);
		ktap_diag("  verify %s: %s %s: %s", dir, f->kind, f->where, f->msg);
	}
	v = (int)res.verdict;
	bfl_verify_result_free(&res);
	bfl_key_free(&root);
	return v;
}

static u8 *slurp_file(const char *path, size_t *len)
{
	u8 *b = NULL;

	return bfl_read_file(AT_FDCWD, path, 1 << 20, &b, len, NULL) ? NULL : b;
}

static int spit_file(const char *path, const void *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, b, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -EIO;
}

static int sh2(const char *fmt, const char *a, const char *b)
{
	char cmd[4 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

/* One writer session on dir: open (or create), n records, commit,
 * rotations more epochs, close. */
static int session(const char *dir, struct bfl_root_signer *rs, bool create,
		   u64 *seq, int rotations, struct bfl_err *e)
{
	struct bfl_store_opts so = { .no_sync = true };
	struct bfl_store *st = NULL;
	int r, i;

	r = create ? bfl_store_create(dir, "bioflow.example/attack", rs, &so, &st, e) :
		     bfl_store_open(dir, rs, &so, &st, NULL, e);
	for (i = 0; !r && i <= rotations; i++) {
		r = put(st, *seq, 5, e);
		*seq += 5;
		if (!r)
			r = bfl_store_commit(st, e);
		if (!r && i < rotations)
			r = bfl_store_rotate_epoch(st, e);
	}
	if (st)
		bfl_store_close(st);
	return r;
}

/*
 * The three ways issue 10 found to rewrite history with root and the
 * TPM (and its authorization file) but no secret outside it, each tried
 * against a real store sealed by the TPM:
 *  1. roll the store back to the end of an ended epoch and restart;
 *  2. re-issue an ended epoch's certificate for the counter's current
 *     value (one certification by the root key);
 *  3. re-make every later epoch with new keys keeping the original
 *     counter values.
 */
static void test_attacks(void)
{
	char dir[PATH_MAX + 16], old[PATH_MAX + 16], r1[PATH_MAX + 16];
	char kind[40], where[160];
	struct bfl_root_signer *rs = open_signer(&tpm, "attacks");
	struct bfl_err e = { 0 };
	struct wrap w;
	u64 seq = 1, now = 0, v2 = 0;
	int r, vd;

	snprintf(dir, sizeof(dir), "%s/attack", work);
	snprintf(old, sizeof(old), "%s/attack-old", work);
	snprintf(r1, sizeof(r1), "%s/attack-r", work);
	/* epochs 1-2, a copy (epoch 2 ended later), then epochs 3-5 */
	r = rs ? session(dir, rs, true, &seq, 1, &e) : -1;
	if (!r)
		r = sh2("cp -a '%s' '%s'", dir, old);
	if (!r)
		r = session(dir, rs, false, &seq, 1, &e);
	if (!r)
		r = session(dir, rs, false, &seq, 0, &e);
	if (!r)
		r = rs->ops->counter_read(rs, &now, &e);
	if (r)
		diag_err("building the store", r, &e);
	vd = r ? -1 : verify_dir(dir, now, kind, where);
	ktap_check(!r && vd == BFL_OK,
		   "a TPM-sealed store of five epochs verifies strictly with --nv-counter (each epoch attests its predecessor's value + 1, the last the counter's - 1)");

	/* 1. rollback to the copy, then the daemon restarts on it */
	{
		char cmd[4 * PATH_MAX];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", r1, old, r1);
		r = system(cmd);
	}
	memset(&e, 0, sizeof(e));
	{
		u64 s2 = seq;
		int o = r ? 0 : session(r1, rs, false, &s2, 0, &e);

		ktap_diag("restart on the rolled-back copy: %d: %s", o, e.msg);
		vd = verify_dir(r1, now, kind, where);
		ktap_check(!r && o == -EUCLEAN && strstr(e.msg, "rolled back") &&
			   vd == BFL_FAIL && !strcmp(kind, "nv-behind") &&
			   strstr(where, "0000000002.cert"),
			   "attack 1, rollback to an ended epoch and restart: the daemon refuses to continue (gap) and --nv-counter names the last epoch (nv-behind)");
	}

	/* 2. re-issue ended epoch 2's certificate for the current value */
	{
		char cmd[4 * PATH_MAX], p[PATH_MAX + 64], text[4096];
		struct bfl_epoch_cert c;
		size_t len;
		u8 *b;

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", r1, old, r1);
		snprintf(p, sizeof(p), "%s/epochs/0000000002.cert", r1);
		r = system(cmd);
		b = r ? NULL : slurp_file(p, &len);
		r = !b || bfl_cert_open((char *)b, len, NULL, &c, &e);
		v2 = c.nv_counter;
		free(b);
		if (!r)
			r = rs->ops->counter_read(rs, &c.nv_counter, &e);
		if (!r)
			r = bfl_cert_issue(rs, &c, text, sizeof(text), &len, &e);
		if (!r)
			r = spit_file(p, text, len);
		if (r)
			diag_err("re-issue", r, &e);
		vd = verify_dir(r1, c.nv_counter + 1, kind, where);
		ktap_diag("epoch 2 attested %llu, re-issued for %llu",
			  (unsigned long long)v2, (unsigned long long)c.nv_counter);
		ktap_check(!r && vd == BFL_FAIL && !strcmp(kind, "nv-gap") &&
			   strstr(where, "0000000002.cert"),
			   "attack 2, an ended epoch's certificate re-issued for the current counter value: the gap after epoch 1 is an error naming epoch 2");
	}

	/* 3. re-make epochs 3.. with new keys, keeping the original
	 * counter values (the TPM only attests what it holds now) */
	{
		char cmd[4 * PATH_MAX];
		struct bfl_root_signer liar = wrapped(rs, &w, WF_CLAIM);
		u64 s3 = seq;

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", r1, old, r1);
		r = system(cmd);
		w.claim = v2 + 1;
		memset(&e, 0, sizeof(e));
		r = r ? -1 : session(r1, &liar, false, &s3, 1, &e);
		ktap_diag("re-keying with the original values: %d: %s", r, e.msg);
		vd = verify_dir(r1, now, kind, where);
		ktap_check(r == -ESTALE && vd == BFL_FAIL,
			   "attack 3, later epochs re-made with new keys and the original counter values: no certificate can be made, and the store fails --nv-counter");
	}
	bfl_root_signer_free(rs);
}

/* A crash between each step of an epoch start (store.c: certify, the
 * durable certificate, the increment, the first checkpoint): recovery
 * leaves no gap, and until then the verifier says at most "pending". */
static void test_crash_steps(void)
{
	static const struct { enum wfail f; const char *name; } pts[] = {
		{ WF_CERTIFY, "crash before NV_Certify: the next start certifies the same value, no gap" },
		{ WF_INC_BEFORE, "crash with the certificate durable, before the increment: nv-pending until the next start finishes it, then no gap" },
		{ WF_INC_AFTER, "crash after the increment, before the first checkpoint: an empty epoch, no gap" },
	};
	char dir[PATH_MAX + 16], kind[40], where[160];
	struct bfl_root_signer *rs = open_signer(&tpm, "crash steps");
	struct bfl_err e = { 0 };
	unsigned int i;
	u64 seq = 1000, now = 0;
	int r, vd, mid;

	snprintf(dir, sizeof(dir), "%s/crash", work);
	r = rs ? session(dir, rs, true, &seq, 0, &e) : -1;
	for (i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		struct wrap w;
		struct bfl_root_signer c = wrapped(rs, &w, pts[i].f);
		u64 s = seq;
		int o = r ? 0 : session(dir, &c, false, &s, 0, &e);

		now = 0;
		if (rs)
			rs->ops->counter_read(rs, &now, &e);
		mid = verify_dir(dir, now, kind, where);
		ktap_diag("crash %u: open %d, verdict %d", i, o, mid);
		o = o == 0 || r ? -1 : session(dir, rs, false, &seq, 0, &e);
		if (rs)
			rs->ops->counter_read(rs, &now, &e);
		vd = verify_dir(dir, now, kind, where);
		ktap_check(!r && !o && (mid == BFL_OK || mid == BFL_WARN) &&
			   (pts[i].f != WF_INC_BEFORE || mid == BFL_WARN) && vd == BFL_OK,
			   pts[i].name);
	}
	bfl_root_signer_free(rs);
}

/* The key bound to PCR 7: a PCR extended afterwards (another boot
 * chain) and the key certifies nothing, with a clear reason. */
static void test_pcr_policy(void)
{
	struct bfl_tpm_provision_opts o = {
		.cfg = cfg_of(&tpm), .force = true, .auth_file = authf, .pcrs = 1u << 7,
	};
	struct bfl_tpm_provision_report rep = { 0 };
	struct bfl_root_signer *rs = NULL, *after;
	struct bfl_attestation a;
	struct bfl_err e = { 0 };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TPML_DIGEST_VALUES d;
	EVP_PKEY *pk = NULL;
	TSS2_RC rc = 1;
	bool ok;
	int r;

	r = bfl_tpm_provision(&o, &rep, &e);
	if (r)
		diag_err("provision with PCR 7", r, &e);
	ok = !r && !load_auth() && auth.pcrs == (1u << 7);
	pk = rep.pub;
	rs = ok ? open_signer(&tpm, "PCR-bound key") : NULL;
	ok = rs && certify_ok(rs, pk, "pcr", NULL);
	ktap_check(ok, "a key bound to PCR 7 certifies while PCR 7 holds its provisioning value");

	memset(&d, 0, sizeof(d));
	d.count = 1;
	d.digests[0].hashAlg = TPM2_ALG_SHA256;
	memset(d.digests[0].digest.sha256, 0x5a, 32);
	if (!Tss2_TctiLdr_Initialize(tpm.tcti, &t)) {
		rc = Esys_Initialize(&ctx, t, NULL);
		if (!rc)
			rc = Esys_PCR_Extend(ctx, 7, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					     ESYS_TR_NONE, &d);
		if (ctx)
			Esys_Finalize(&ctx);
		Tss2_TctiLdr_Finalize(&t);
	}
	memset(&e, 0, sizeof(e));
	r = rs ? rs->ops->certify(rs, "pcr", 3, &a, &e) : 0;
	ktap_diag("after extending PCR 7: %s", e.msg);
	ktap_check(!rc && r == -EACCES && contains(e.msg, "PCR sha256:7"),
		   "PCR 7 extended: certification refused (-EACCES) with a clear error naming the PCR");
	memset(&e, 0, sizeof(e));
	after = bfl_tpm_root_open(&o.cfg, &e);
	{
		struct bfl_tpm_config c = cfg_of(&tpm);

		bfl_root_signer_free(after);
		after = bfl_tpm_root_open(&c, &e);
	}
	ktap_diag("open: %s", e.msg);
	ktap_check(!after && e.code == -EACCES && contains(e.msg, "PCR sha256:7"),
		   "PCR 7 extended: opening the signer (daemon start) fails closed with that error");
	bfl_root_signer_free(after);
	bfl_root_signer_free(rs);
	EVP_PKEY_free(pk);
}

static void test_store(u64 *nv_out)
{
	struct bfl_store_opts so = { .epoch_max_records = 40 };
	struct bfl_verify_opts vo = { 0 };
	struct bfl_verify_result res;
	struct bfl_root_signer *rs;
	struct bfl_store *st = NULL;
	struct bfl_recovery rec;
	const struct bfl_finding *f;
	struct bfl_key root = { 0 };
	struct bfl_err e = { 0 };
	char dir[PATH_MAX + 16];
	EVP_PKEY *pk;
	u64 nv = 0;
	int r, i;
	bool ok;

	snprintf(dir, sizeof(dir), "%s/store", work);
	rs = open_signer(&tpm, "open for store");
	r = rs ? bfl_store_create(dir, "bioflow.example/tpm-test", rs, &so, &st, &e) : -1;
	for (i = 0; !r && i < 5; i++) {
		r = put(st, 1 + (u64)i * 20, 20, &e);	/* rotates every 40 */
		if (!r)
			r = bfl_store_commit(st, &e);
	}
	if (!r)
		r = bfl_store_rotate_epoch(st, &e);
	if (!r)
		r = bfl_store_commit(st, &e);
	if (st)
		bfl_store_close(st);
	st = NULL;
	bfl_root_signer_free(rs);
	/* The daemon restarts: a new signer, a new epoch. */
	rs = r ? NULL : open_signer(&tpm, "reopen for store");
	if (rs) {
		r = bfl_store_open(dir, rs, &so, &st, &rec, &e);
		if (!r)
			r = put(st, 101, 7, &e);
		if (!r)
			r = bfl_store_commit(st, &e);
		if (st)
			bfl_store_close(st);
		if (!r)
			nv = read_counter(rs);
	} else if (!r) {
		r = -ENODEV;
	}
	bfl_root_signer_free(rs);
	if (r)
		diag_err("store flow", r, &e);
	ktap_check(!r && nv != UINT64_MAX && nv > 0,
		   "store flow with the TPM root signer: create, commit, rotate, reopen");

	pk = read_pem(pem);
	ok = pk && !bfl_key_init(&root, BFL_ROOT_KEY_NAME, pk, &e);
	EVP_PKEY_free(pk);
	vo.have_nv = true;
	vo.nv_counter = nv;
	memset(&res, 0, sizeof(res));
	if (ok) {
		bfl_verify_store(dir, &root, &vo, &res);
		f = bfl_first_error(&res);
		if (f)
			ktap_diag("verifier: %s %s: %s", f->kind, f->where, f->msg);
		ktap_diag("verified: %llu records, %llu epochs, last nv %llu",
			  (unsigned long long)res.records,
			  (unsigned long long)res.epochs,
			  (unsigned long long)res.last_nv);
		ok = res.verdict == BFL_OK && res.records == 107 &&
		     res.sealed == 107 && res.epochs >= 4 && res.last_nv + 1 == nv;
	}
	ktap_check(ok, "the library verifier passes the TPM-sealed store with the PEM and the TPM counter");
	bfl_verify_result_free(&res);
	bfl_key_free(&root);
	*nv_out = nv;
}

static void test_verify_cli(u64 nv)
{
	char tool[PATH_MAX], nvs[32], dir[PATH_MAX + 16], *out = NULL;
	int rc;

	if (!find_tool("bioflow-verify", tool, sizeof(tool))) {
		ktap_skip("bioflow-verify passes the TPM-sealed store", "build/bioflow-verify not built");
		return;
	}
	snprintf(nvs, sizeof(nvs), "%llu", (unsigned long long)nv);
	snprintf(dir, sizeof(dir), "%s/store", work);
	{
		char *argv[] = { tool, "-q", "--nv-counter", nvs, "--root-key",
				 pem, dir, NULL };

		rc = run(argv, &out);
	}
	ktap_check(rc == 0, "bioflow-verify passes the TPM-sealed store (root key from the PEM, --nv-counter)");
	free(out);
}

static void test_provision_cli(void)
{
	static const char *const names[] = {
		"bioflow-provision --export-pubkey on an unprovisioned TPM: exit 1, clear error",
		"bioflow-provision provisions a fresh TPM and writes the PEM",
		"bioflow-provision refuses an existing key without --force (exit 4)",
		"bioflow-provision --export-pubkey writes the same key again",
		"bioflow-provision with the TPM absent: exit 1, clear error",
	};
	char tool[PATH_MAX], out1[PATH_MAX + 16], out2[PATH_MAX + 16];
	char dead[64], *out = NULL, cliauth[PATH_MAX + 16];
	EVP_PKEY *a = NULL, *b = NULL;
	int rc, i;

	if (!find_tool("bioflow-provision", tool, sizeof(tool))) {
		for (i = 0; i < 5; i++)
			ktap_skip(names[i], "build/bioflow-provision not built");
		return;
	}
	if (swtpm_start(&tpm2)) {
		for (i = 0; i < 5; i++)
			ktap_check(0, names[i]);
		return;
	}
	snprintf(out1, sizeof(out1), "%s/cli-root.pem", work);
	snprintf(cliauth, sizeof(cliauth), "%s/cli.auth", work);
	snprintf(out2, sizeof(out2), "%s/cli-again.pem", work);
	{
		char *argv[] = { tool, "--tcti", tpm2.tcti, "--export-pubkey",
				 out2, NULL };

		rc = run(argv, &out);
		ktap_check(rc == 1 && contains(out, "no root key at persistent handle 0x81000b10") &&
			   access(out2, F_OK) != 0, names[0]);
		free(out);
	}
	{
		char *argv[] = { tool, "--tcti", tpm2.tcti, "--out-pubkey",
				 out1, "--auth-file", cliauth, NULL };

		rc = run(argv, &out);
		a = read_pem(out1);
		ktap_check(rc == 0 && a && contains(out, "created") &&
			   contains(out, "0x81000b10") && contains(out, "0x01b10001"),
			   names[1]);
		free(out);
		rc = run(argv, &out);
		ktap_check(rc == 4 && contains(out, "--force"), names[2]);
		free(out);
	}
	{
		char *argv[] = { tool, "--tcti", tpm2.tcti, "--export-pubkey",
				 out2, NULL };

		rc = run(argv, &out);
		b = read_pem(out2);
		ktap_check(rc == 0 && a && b && EVP_PKEY_eq(a, b) == 1, names[3]);
		free(out);
	}
	swtpm_dead_tcti(dead, sizeof(dead));
	{
		char *argv[] = { tool, "--tcti", dead, "--out-pubkey", out2,
				 "--auth-file", cliauth, NULL };

		rc = run(argv, &out);
		ktap_check(rc == 1 && contains(out, "TPM not reachable"), names[4]);
		free(out);
	}
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	swtpm_destroy(&tpm2);
}

int main(void)
{
	const char *why = swtpm_missing();
	const char *tmp = getenv("TMPDIR");
	EVP_PKEY *pub;
	u64 last = 0, nv = 0;
	struct bfl_root_signer *rs;
	int r;

	if (why) {
		ktap_plan(1);
		ktap_skip("TPM root signer against swtpm", why);
		return ktap_finish();
	}
	/* tpm2-tss logs expected failures (absent TPM) on stderr; our
	 * own messages say what matters.  TSS2_LOG=all+debug to see them. */
	setenv("TSS2_LOG", "all+none", 0);
	ktap_plan(NTESTS);
	snprintf(work, sizeof(work), "%s/bioflow-tpmtest.XXXXXX",
		 tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(work)) {
		ktap_diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	r = swtpm_start(&tpm);
	if (r)
		ktap_diag("swtpm: %s (log %s)", strerror(-r), tpm.log);
	if (!ktap_check(!r, "private swtpm starts"))
		return 1;
	ktap_diag("swtpm state in %s, TCTI %s", tpm.state, tpm.tcti);
	snprintf(authf, sizeof(authf), "%s/tpm-root.auth", work);

	test_absent();					/* 2 */
	test_not_provisioned();				/* 3 */
	pub = test_provision();				/* 4-6 */
	test_export(pub);				/* 7 */
	EVP_PKEY_free(pub);
	rs = open_signer(&tpm, "open");
	test_sign(rs);					/* 8-10 */
	test_counter(rs, &last);			/* 11-12 */
	bfl_root_signer_free(rs);
	test_restart(last);				/* 13-14 */
	test_tpm_gone();				/* 15-16 */
	test_orderly();					/* 17 */
	test_recreate();				/* 18 */
	test_power_cuts();				/* 20 */
	test_store(&nv);				/* 21-22 */
	test_verify_cli(nv);				/* 23 */
	test_provision_cli();				/* 24-28 */
	test_attacks();					/* 29-32 */
	test_crash_steps();				/* 33-35 */
	test_pcr_policy();				/* 36-38 */

	swtpm_destroy(&tpm);
	{
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (system(cmd))
			ktap_diag("could not remove %s", work);
	}
	return ktap_finish();
}
