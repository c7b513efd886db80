// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-provision: creates the audit log's root of trust in the TPM
 * (a non-exportable P-256 signing key at a persistent handle and an NV
 * counter) and exports the root public key as PEM for auditors.
 * docs/tpm.md describes the key hierarchy and every step.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "bflog.h"

static const char *prog = "bioflow-provision";

enum {
	EXIT_OK = 0,
	EXIT_TPM = 1,		/* TPM absent, failing, or refused an operation */
	EXIT_USAGE = 2,
	EXIT_IO = 3,		/* the PEM or the auth file could not be written/read */
	EXIT_EXISTS = 4,	/* a key is already at the handle (no --force) */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bioflow-provision [--tcti TCTI] --out-pubkey PEM [--force] [--orderly]\n"
"                         [--owner-auth-file FILE] [--key-handle H]\n"
"                         [--nv-index I]\n"
"       bioflow-provision [--tcti TCTI] --export-pubkey PEM [--key-handle H]\n"
"\n"
"Provisions the TPM root of the bioflow audit log: creates a non-exportable\n"
"ECC P-256 (ECDSA-SHA256) signing key from a fixed template under the owner\n"
"hierarchy, persists it, defines the NV counter that numbers epochs (an\n"
"existing counter is kept: it never goes back), and writes the root public\n"
"key as PEM, the file auditors give to bioflow-verify --root-key.\n"
"\n"
"  --tcti TCTI          tpm2-tss TCTI (default %s;\n"
"                       e.g. swtpm:host=127.0.0.1,port=2321)\n"
"  --out-pubkey PEM     provision, then write the root public key here\n"
"  --export-pubkey PEM  change nothing: export the existing key's public\n"
"                       half again\n"
"  --force              replace an object already at the key handle (the\n"
"                       same template on the same TPM gives the same key)\n"
"  --orderly            define a new counter with TPMA_NV_ORDERLY (fewer NV\n"
"                       writes; after a power cut it jumps ahead)\n"
"  --owner-auth-file F  the owner hierarchy's authorization value (first\n"
"                       line of F); default empty\n"
"  --key-handle H       persistent handle (default 0x%08X)\n"
"  --nv-index I         NV counter index (default 0x%08X)\n"
"\n"
"Exit status: 0 done, 1 TPM absent, failing or refusing, 2 bad command\n"
"line, 3 a file could not be read or written, 4 a key already exists at the\n"
"handle (use --export-pubkey, or --force to replace it).\n",
		BFL_TPM_TCTI_DEFAULT, BFL_TPM_KEY_HANDLE, BFL_TPM_NV_INDEX);
}

static int parse_handle(const char *s, u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v == 0 || v > 0xffffffffUL)
		return -1;
	*out = (u32)v;
	return 0;
}

/* First line of FILE, at most 64 bytes: the owner authValue. */
static int read_auth(const char *path, u8 *buf, size_t *len)
{
	struct bfl_err e = { 0 };
	u8 *data;
	size_t n;
	int r;

	r = bfl_read_file(AT_FDCWD, path, 4096, &data, &n, &e);
	if (r) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return r;
	}
	for (*len = 0; *len < n && data[*len] != '\n'; (*len)++)
		;
	if (*len > 64) {
		fprintf(stderr, "%s: %s: the owner authorization is longer than 64 bytes\n",
			prog, path);
		r = -EINVAL;
	} else {
		memcpy(buf, data, *len);
	}
	OPENSSL_cleanse(data, n);
	free(data);
	return r;
}

static void key_summary(EVP_PKEY *pk, const char *pem)
{
	struct bfl_key k;
	u8 *der = NULL, h[BFL_HASH_SIZE];
	int n, i;

	if (bfl_key_init(&k, BFL_ROOT_KEY_NAME, pk, NULL) == 0) {
		printf("  key ID:       %08x (signature lines \"— %s\")\n",
		       k.key_id, BFL_ROOT_KEY_NAME);
		bfl_key_free(&k);
	}
	n = i2d_PUBKEY(pk, &der);
	if (n > 0) {
		bfl_sha256(der, (size_t)n, NULL, 0, h);
		printf("  SPKI SHA-256: ");
		for (i = 0; i < BFL_HASH_SIZE; i++)
			printf("%02x", h[i]);
		printf("\n");
		OPENSSL_free(der);
	}
	printf("  public key:   %s (give this file to auditors: bioflow-verify --root-key)\n",
	       pem);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcti", required_argument, NULL, 't' },
		{ "out-pubkey", required_argument, NULL, 'o' },
		{ "export-pubkey", required_argument, NULL, 'x' },
		{ "force", no_argument, NULL, 'f' },
		{ "orderly", no_argument, NULL, 'O' },
		{ "owner-auth-file", required_argument, NULL, 'a' },
		{ "key-handle", required_argument, NULL, 'k' },
		{ "nv-index", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bfl_tpm_provision_opts o;
	struct bfl_tpm_provision_report rep;
	struct bfl_err e = { 0 };
	const char *out = NULL, *exp = NULL, *authf = NULL;
	u8 auth[64];
	size_t auth_len = 0;
	EVP_PKEY *pk;
	int c, r;

	memset(&o, 0, sizeof(o));
	/* tpm2-tss logs every failure on stderr as well; ours say what
	 * happened.  TSS2_LOG=all+debug in the environment shows them. */
	if (setenv("TSS2_LOG", "all+none", 0)) {
		perror(prog);
		return EXIT_TPM;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.cfg.tcti = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'x':
			exp = optarg;
			break;
		case 'f':
			o.force = true;
			break;
		case 'O':
			o.orderly = true;
			break;
		case 'a':
			authf = optarg;
			break;
		case 'k':
			if (parse_handle(optarg, &o.cfg.key_handle)) {
				fprintf(stderr, "%s: bad --key-handle %s\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (parse_handle(optarg, &o.cfg.nv_index)) {
				fprintf(stderr, "%s: bad --nv-index %s\n", prog, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !!out == !!exp ||
	    (exp && (o.force || o.orderly || authf || o.cfg.nv_index))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o.cfg.tcti)
		o.cfg.tcti = BFL_TPM_TCTI_DEFAULT;

	if (exp) {
		pk = bfl_tpm_read_pubkey(&o.cfg, &e);
		if (!pk) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			return EXIT_TPM;
		}
		r = bfl_write_pubkey_pem(pk, exp, &e);
		if (r) {
			fprintf(stderr, "%s: %s\n", prog, e.msg);
			EVP_PKEY_free(pk);
			return EXIT_IO;
		}
		printf("%s: exported the root public key from TPM (%s), handle 0x%08x\n",
		       prog, o.cfg.tcti,
		       o.cfg.key_handle ? o.cfg.key_handle : BFL_TPM_KEY_HANDLE);
		key_summary(pk, exp);
		EVP_PKEY_free(pk);
		return EXIT_OK;
	}

	if (authf) {
		if (read_auth(authf, auth, &auth_len))
			return EXIT_IO;
		o.owner_auth = auth;
		o.owner_auth_len = auth_len;
	}
	r = bfl_tpm_provision(&o, &rep, &e);
	OPENSSL_cleanse(auth, sizeof(auth));
	if (r) {
		fprintf(stderr, "%s: %s\n", prog, e.msg);
		return r == -EEXIST ? EXIT_EXISTS : EXIT_TPM;
	}
	printf("%s: provisioned the TPM (%s)\n", prog, o.cfg.tcti);
	printf("  root key:     %s ECC P-256 ECDSA-SHA256 signing key (fixedTPM, fixedParent,\n"
	       "                sensitiveDataOrigin, userWithAuth, noDA, sign) from the fixed\n"
	       "                template, persisted at 0x%08x (owner hierarchy)\n",
	       rep.key_replaced ? "replaced the object at the handle with the" : "created the",
	       o.cfg.key_handle ? o.cfg.key_handle : BFL_TPM_KEY_HANDLE);
	printf("  NV counter:   %s at 0x%08x (%s), value %llu%s\n",
	       rep.nv_defined ? "defined" : "kept the existing counter",
	       o.cfg.nv_index ? o.cfg.nv_index : BFL_TPM_NV_INDEX,
	       rep.nv_orderly ? "orderly" : "not orderly",
	       (unsigned long long)rep.counter,
	       rep.counter ? "" : " (never incremented)");
	r = bfl_write_pubkey_pem(rep.pub, out, &e);
	if (r) {
		fprintf(stderr, "%s: %s (the key is provisioned: use --export-pubkey to write it)\n",
			prog, e.msg);
		EVP_PKEY_free(rep.pub);
		return EXIT_IO;
	}
	key_summary(rep.pub, out);
	EVP_PKEY_free(rep.pub);
	return EXIT_OK;
}
