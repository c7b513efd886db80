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

#define NTESTS		28
#define NV_ORDERLY_IDX	0x01B10002u

static struct swtpm tpm, tpm2;
static u64 orderly_last;	/* the orderly counter's last value */
static char work[PATH_MAX], pem[PATH_MAX + 16];
static const u8 boot_a[16] = { 0x7b, 0x70, 0x6d, 0x01 };

/* ------------------------------------------------------------ helpers -- */

static struct bfl_tpm_config cfg_of(const struct swtpm *s)
{
	struct bfl_tpm_config c = { .tcti = s->tcti };

	return c;
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

/* A TPM2_Shutdown(CLEAR): what an orderly power-down sends. */
static int tpm_shutdown(const char *tcti)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	TSS2_RC rc;

	rc = Tss2_TctiLdr_Initialize(tcti, &t);
	if (rc)
		return -1;
	rc = Esys_Initialize(&ctx, t, NULL);
	if (!rc) {
		rc = Esys_Shutdown(ctx, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, TPM2_SU_CLEAR);
		Esys_Finalize(&ctx);
	}
	Tss2_TctiLdr_Finalize(&t);
	return rc ? -1 : 0;
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
	struct bfl_tpm_provision_opts o = { .cfg = cfg_of(&tpm) };
	struct bfl_tpm_provision_report rep, rep2;
	struct bfl_err e = { 0 };
	EVP_PKEY *pub = NULL;
	int r;

	r = bfl_tpm_provision(&o, &rep, &e);
	if (r)
		diag_err("provision", r, &e);
	ktap_check(!r && rep.pub && rep.nv_defined && !rep.key_replaced &&
		   rep.counter == 0 && !rep.nv_orderly,
		   "provision creates the key and defines the counter (value 0)");
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
	ktap_check(!r && pub && rep2.key_replaced && !rep2.nv_defined &&
		   EVP_PKEY_eq(pub, rep2.pub) == 1,
		   "provision --force re-creates the same key (fixed template) and keeps the counter");
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
	static const char *const msgs[] = {
		"", "bioflow-epoch-cert v1\norigin bioflow.example/kiosk-1\n",
		"x", NULL,
	};
	EVP_PKEY *pk = read_pem(pem);
	struct bfl_key k = { 0 };
	struct bfl_err e = { 0 };
	u8 sig[BFL_SIG_MAX], big[100000];
	size_t sl;
	bool ok = pk && rs, bad = false;
	int i, r;

	ok = ok && !strcmp(rs->kind, "tpm2") &&
	     !bfl_key_init(&k, BFL_ROOT_KEY_NAME, pk, &e) &&
	     k.key_id == rs->key.key_id;
	ktap_check(ok, "TPM root signer opens; its key and key ID match the PEM");

	ok = pk && rs;
	memset(big, 0xa5, sizeof(big));
	for (i = 0; ok && i < 5; i++) {
		const void *m = i < 3 ? (const void *)msgs[i] : (const void *)big;
		size_t ml = i < 3 ? strlen(msgs[i]) : sizeof(big) - (size_t)i;

		sl = sizeof(sig);
		r = rs->ops->sign(rs, m, ml, sig, &sl, &e);
		if (r) {
			diag_err("sign", r, &e);
			ok = false;
			break;
		}
		ok = openssl_verifies(pk, m, ml, sig, sl);
		if (i == 4) {
			big[0] ^= 1;	/* another message, same signature */
			bad = openssl_verifies(pk, big, ml, sig, sl);
		}
	}
	ktap_check(ok, "TPM signatures (DER ECDSA-SHA256) verify with OpenSSL against the PEM");
	ktap_check(ok && !bad, "a TPM signature does not verify for another message");
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
	ktap_check(prev == 0, "counter reads 0 before its first increment");
	ok = prev == 0;
	for (i = 0; ok && i < 5; i++) {
		r = rs->ops->counter_increment(rs, &v, &e);
		if (r) {
			diag_err("increment", r, &e);
			ok = false;
			break;
		}
		if (i == 0)
			ktap_diag("first value %llu", (unsigned long long)v);
		ok = (i == 0 ? v >= 1 : v == prev + 1) && read_counter(rs) == v;
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
	u8 sig[BFL_SIG_MAX];
	size_t sl = sizeof(sig);
	u64 v = 0;
	bool ok;

	/* A clean stop (the TPM saves its state on every NV write). */
	ok = !swtpm_stop(&tpm, SIGTERM) && !swtpm_start(&tpm);
	rs = ok ? open_signer(&tpm, "after restart") : NULL;
	ok = rs && read_counter(rs) == last &&
	     !rs->ops->sign(rs, (const u8 *)"m", 1, sig, &sl, &e) &&
	     openssl_verifies(pk, "m", 1, sig, sl);
	ktap_check(ok, "key and counter survive a swtpm restart (state directory kept)");
	bfl_root_signer_free(rs);

	/* A power cut: a non-orderly counter loses nothing. */
	ok = !swtpm_stop(&tpm, SIGKILL) && !swtpm_start(&tpm);
	rs = ok ? open_signer(&tpm, "after power cut") : NULL;
	ok = rs && read_counter(rs) == last &&
	     !rs->ops->counter_increment(rs, &v, &e) && v == last + 1;
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
	u8 sig[BFL_SIG_MAX];
	size_t sl = sizeof(sig);
	u64 v = 0;
	int r1 = 0, r2 = 0, old_port;
	bool ok;

	ok = rs && !swtpm_stop(&tpm, SIGKILL);
	old_port = tpm.port;
	if (ok) {
		r1 = rs->ops->sign(rs, (const u8 *)"m", 1, sig, &sl, &e);
		r2 = rs->ops->counter_increment(rs, &v, &e2);
		ktap_diag("sign: %s", e.msg);
		ktap_diag("increment: %s", e2.msg);
	}
	ktap_check(ok && r1 < 0 && r2 < 0 && contains(e.msg, "TPM: Sign") &&
		   contains(e2.msg, "TPM: NV_Increment") &&
		   contains(e2.msg, "connection to the TPM was lost"),
		   "TPM gone mid-run: sign and increment fail closed with a clear error");
	ok = !swtpm_start(&tpm);
	sl = sizeof(sig);
	memset(&e, 0, sizeof(e));
	if (ok && rs) {
		ktap_diag("restarted on %s", tpm.tcti);
		r1 = rs->ops->sign(rs, (const u8 *)"m", 1, sig, &sl, &e);
		if (r1)
			diag_err("sign after the TPM came back", r1, &e);
	}
	if (ok && tpm.port != old_port)	/* the port was taken meanwhile */
		ktap_diag("swtpm came back on another port: reconnect not checked");
	ktap_check(ok && rs && (r1 == 0 || tpm.port != old_port),
		   "swtpm restarts with its state; the open signer reconnects and signs");
	bfl_root_signer_free(rs);
}

static void test_orderly(void)
{
	struct bfl_tpm_provision_opts o = {
		.cfg = cfg_of(&tpm), .force = true, .orderly = true,
	};
	struct bfl_tpm_provision_report rep = { 0 };
	struct bfl_root_signer *rs = NULL;
	struct bfl_err e = { 0 };
	u64 v = 0, prev = 0, after;
	bool ok;
	int i, r;

	o.cfg.nv_index = NV_ORDERLY_IDX;
	r = bfl_tpm_provision(&o, &rep, &e);
	if (r)
		diag_err("provision orderly", r, &e);
	EVP_PKEY_free(rep.pub);
	ok = !r && rep.nv_defined && rep.nv_orderly;
	if (ok) {
		struct bfl_tpm_config c = o.cfg;

		rs = bfl_tpm_root_open(&c, &e);
		for (i = 0; rs && i < 3; i++)
			if (rs->ops->counter_increment(rs, &prev, &e))
				break;
		ok = rs && i == 3;
	}
	bfl_root_signer_free(rs);
	rs = NULL;
	/* Power cut: the TPM may have kept the value in RAM only; it must
	 * never come back lower. */
	ok = ok && !swtpm_stop(&tpm, SIGKILL) && !swtpm_start(&tpm);
	if (ok) {
		struct bfl_tpm_config c = o.cfg;

		rs = bfl_tpm_root_open(&c, &e);
	}
	after = rs ? read_counter(rs) : 0;
	ok = ok && rs && after != UINT64_MAX && after >= prev &&
	     !rs->ops->counter_increment(rs, &v, &e) && v > prev && v > after;
	ktap_diag("orderly: %llu before the power cut, %llu after, next %llu",
		  (unsigned long long)prev, (unsigned long long)after,
		  (unsigned long long)v);
	ktap_check(ok, "orderly counter: never lower after a power cut, next increment above");

	/* An orderly shutdown (TPM2_Shutdown) keeps the exact value. */
	bfl_root_signer_free(rs);
	rs = NULL;
	ok = ok && !tpm_shutdown(tpm.tcti) && !swtpm_stop(&tpm, SIGTERM) &&
	     !swtpm_start(&tpm);
	if (ok) {
		struct bfl_tpm_config c = o.cfg;

		rs = bfl_tpm_root_open(&c, &e);
	}
	after = rs ? read_counter(rs) : 0;
	ktap_diag("orderly: %llu before shutdown, %llu after",
		  (unsigned long long)v, (unsigned long long)after);
	ktap_check(ok && rs && after == v,
		   "orderly counter: exact across an orderly shutdown");
	orderly_last = after;
	bfl_root_signer_free(rs);
}

/* The owner deletes the counter (TPM2_NV_UndefineSpace) and defines it
 * again: the TPM starts the new counter at the highest value a deleted
 * counter had, so the claim cannot be rewound that way. */
static void test_recreate(void)
{
	struct bfl_tpm_provision_opts o = {
		.cfg = cfg_of(&tpm), .force = true,
	};
	struct bfl_tpm_provision_report rep = { 0 };
	struct bfl_root_signer *rs = NULL;
	struct bfl_err e = { 0 };
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *ctx = NULL;
	ESYS_TR nv = ESYS_TR_NONE;
	TSS2_RC rc = 1;
	u64 v = 0;
	bool ok;

	if (!Tss2_TctiLdr_Initialize(tpm.tcti, &t)) {
		rc = Esys_Initialize(&ctx, t, NULL);
		if (!rc)
			rc = Esys_TR_FromTPMPublic(ctx, NV_ORDERLY_IDX, ESYS_TR_NONE,
						   ESYS_TR_NONE, ESYS_TR_NONE, &nv);
		if (!rc)
			rc = Esys_NV_UndefineSpace(ctx, ESYS_TR_RH_OWNER, nv,
						   ESYS_TR_PASSWORD, ESYS_TR_NONE,
						   ESYS_TR_NONE);
		if (ctx)
			Esys_Finalize(&ctx);
		Tss2_TctiLdr_Finalize(&t);
	}
	o.cfg.nv_index = NV_ORDERLY_IDX;
	ok = !rc && !bfl_tpm_provision(&o, &rep, &e) && rep.nv_defined &&
	     rep.counter == 0;
	EVP_PKEY_free(rep.pub);
	if (ok) {
		struct bfl_tpm_config c = o.cfg;

		rs = bfl_tpm_root_open(&c, &e);
		ok = rs && !rs->ops->counter_increment(rs, &v, &e);
	}
	ktap_diag("deleted at %llu, re-created counter starts at %llu",
		  (unsigned long long)orderly_last, (unsigned long long)v);
	ktap_check(ok && v > orderly_last,
		   "a deleted and re-defined counter does not start below the old one");
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
	u8 sig[BFL_SIG_MAX];
	size_t sl = sizeof(sig);
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
	ok = rs && !rs->ops->sign(rs, (const u8 *)"m", 1, sig, &sl, &e) &&
	     openssl_verifies(pk, "m", 1, sig, sl) &&
	     !rs->ops->counter_increment(rs, &v, &e) && v == before + 1;
	if (rs && !ok)
		diag_err("after power cuts", e.code, &e);
	ktap_check(ok, "repeated power cuts: no DA lockout (noDA key and counter); the key signs, the counter counts");
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
		     res.sealed == 107 && res.epochs >= 4 && res.last_nv == nv;
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
	char dead[64], *out = NULL;
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
				 out1, NULL };

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
				 NULL };

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
	EVP_PKEY *pub = NULL;
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

	KTAP_CASE("absent")
		test_absent();					/* 2 */
	KTAP_CASE("not provisioned")
		test_not_provisioned();				/* 3 */
	KTAP_CASE("provision")
		pub = test_provision();				/* 4-6 */
	KTAP_CASE_AFTER("export")
		test_export(pub);				/* 7 */
	EVP_PKEY_free(pub);
	rs = open_signer(&tpm, "open");
	KTAP_CASE("sign")
		test_sign(rs);					/* 8-10 */
	KTAP_CASE("counter")
		test_counter(rs, &last);			/* 11-12 */
	bfl_root_signer_free(rs);
	KTAP_CASE_AFTER("restart")
		test_restart(last);				/* 13-14 */
	KTAP_CASE("tpm gone")
		test_tpm_gone();				/* 15-16 */
	KTAP_CASE("orderly")
		test_orderly();					/* 17-18 */
	KTAP_CASE("recreate")
		test_recreate();				/* 19 */
	KTAP_CASE("power cuts")
		test_power_cuts();				/* 20 */
	KTAP_CASE("store")
		test_store(&nv);				/* 21-22 */
	KTAP_CASE_AFTER("verify cli")
		test_verify_cli(nv);				/* 23 */
	KTAP_CASE("provision cli")
		test_provision_cli();				/* 24-28 */

	swtpm_destroy(&tpm);
	{
		char cmd[PATH_MAX + 32];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (system(cmd))
			ktap_diag("could not remove %s", work);
	}
	return ktap_finish();
}
