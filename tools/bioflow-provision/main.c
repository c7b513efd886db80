// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-provision: creates the audit log's root of trust in the TPM
 * (a non-exportable, restricted P-256 signing key at a persistent handle,
 * usable only with an authorization value and optionally only while the
 * PCRs hold the values they hold now, and an NV counter) and the
 * authorization file the daemon's monitor reads, and exports the root
 * public key as PEM for auditors.
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
"Usage: bioflow-provision [--tcti TCTI] --out-pubkey PEM [--force]\n"
"                         [--auth-file FILE] [--pcrs LIST]\n"
"                         [--owner-auth-file FILE] [--key-handle H]\n"
"                         [--nv-index I]\n"
"       bioflow-provision [--tcti TCTI] --export-pubkey PEM [--key-handle H]\n"
"\n"
"Provisions the TPM root of the bioflow audit log: creates a new random\n"
"authorization value (written to the authorization file, mode 0600, which\n"
"bioflowd's monitor reads), a non-exportable restricted ECC P-256\n"
"(ECDSA-SHA256) signing key from a fixed template under the owner hierarchy\n"
"that signs only TPM attestations and only through its policy (PolicyAuthValue,\n"
"after PolicyPCR with --pcrs), persists it, defines the NV counter that\n"
"numbers epochs with the same authorization (an existing counter is defined\n"
"again: its value never goes back) and increments it once, and writes the\n"
"root public key as PEM, the file auditors give to bioflow-verify --root-key.\n"
"\n"
"  --tcti TCTI          tpm2-tss TCTI (default %s;\n"
"                       e.g. swtpm:host=127.0.0.1,port=2321)\n"
"  --out-pubkey PEM     provision, then write the root public key here\n"
"  --export-pubkey PEM  change nothing: export the existing key's public\n"
"                       half again\n"
"  --force              replace an object already at the key handle (the\n"
"                       same template on the same TPM gives the same key)\n"
"  --auth-file FILE     where the authorization goes (default\n"
"                       %s)\n"
"  --pcrs LIST          bind the key to the current values of these SHA-256\n"
"                       PCRs, e.g. 7 (secure boot) or 0,7: it certifies\n"
"                       nothing once they differ\n"
"  --owner-auth-file F  the owner hierarchy's authorization value (first\n"
"                       line of F); default empty\n"
"  --key-handle H       persistent handle (default 0x%08X)\n"
"  --nv-index I         NV counter index (default 0x%08X)\n"
"\n"
"Exit status: 0 done, 1 TPM absent, failing or refusing, 2 bad command\n"
"line, 3 a file could not be read or written, 4 a key already exists at the\n"
"handle (use --export-pubkey, or --force to replace it).\n",
		BFL_TPM_TCTI_DEFAULT, BFL_TPM_AUTH_DEFAULT, BFL_TPM_KEY_HANDLE,
		BFL_TPM_NV_INDEX);
}

/* "7" or "0,7": a PCR bit mask (PCRs 0-23). */
static int parse_pcrs(const char *s, u32 *out)
{
	char *end;
	unsigned long v;

	*out = 0;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -1;
		v = strtoul(s, &end, 10);
		if (v > 23 || end == s || (*end && *end != ','))
			return -1;
		*out |= 1u << v;
		s = *end ? end + 1 : end;
		if (*end && !*s)
			return -1;
	}
	return *out ? 0 : -1;
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
		{ "auth-file", required_argument, NULL, 'A' },
		{ "pcrs", required_argument, NULL, 'P' },
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
			fprintf(stderr, "%s: --orderly is no longer offered: an orderly counter jumps ahead after a power cut, which leaves a gap in the counter values the epoch certificates attest, and verification treats any gap as an error\n",
				prog);
			return EXIT_USAGE;
		case 'A':
			o.auth_file = optarg;
			break;
		case 'P':
			if (parse_pcrs(optarg, &o.pcrs)) {
				fprintf(stderr, "%s: bad --pcrs %s (PCR numbers 0-23, comma-separated)\n",
					prog, optarg);
				return EXIT_USAGE;
			}
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
	    (exp && (o.force || o.pcrs || o.auth_file || authf || o.cfg.nv_index))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o.cfg.tcti)
		o.cfg.tcti = BFL_TPM_TCTI_DEFAULT;
	if (!o.auth_file)
		o.auth_file = BFL_TPM_AUTH_DEFAULT;

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
		return r == -EEXIST ? EXIT_EXISTS : rep.auth_failed ? EXIT_IO : EXIT_TPM;
	}
	printf("%s: provisioned the TPM (%s)\n", prog, o.cfg.tcti);
	printf("  root key:     %s restricted ECC P-256 ECDSA-SHA256 signing key\n"
	       "                (fixedTPM, fixedParent, sensitiveDataOrigin, noDA, restricted,\n"
	       "                sign; policy: %sPolicyAuthValue) from the fixed template,\n"
	       "                persisted at 0x%08x (owner hierarchy)\n",
	       rep.key_replaced ? "replaced the object at the handle with the" : "created the",
	       rep.pcrs ? "PolicyPCR, then " : "",
	       o.cfg.key_handle ? o.cfg.key_handle : BFL_TPM_KEY_HANDLE);
	if (rep.pcrs) {
		int i;

		printf("  PCRs:         sha256:");
		for (i = 0, c = 0; i < 24; i++)
			if (rep.pcrs & (1u << i))
				printf("%s%d", c++ ? "," : "", i);
		printf(" at their current values: the key certifies nothing once they differ\n");
	}
	printf("  NV counter:   %s at 0x%08x (not orderly), value %llu\n",
	       rep.nv_replaced ? "defined again (the value continues)" : "defined",
	       o.cfg.nv_index ? o.cfg.nv_index : BFL_TPM_NV_INDEX,
	       (unsigned long long)rep.counter);
	printf("  authorization: %s (mode 0600; bioflowd --tpm-auth; whoever reads it can use the key)\n",
	       o.auth_file);
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
