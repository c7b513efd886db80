/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the benchmarks measure the audit log against, in the same run:
 * the machine's SHA-256 on record-sized inputs and its raw Ed25519
 * signing rate (OpenSSL), plus the small helpers both need.  Used by
 * bench_log.c (the store library) and bench_daemon.c (bioflowd).
 */
#ifndef BENCH_REF_H
#define BENCH_REF_H

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bflog.h"

#define TMPFS_MAGIC_NR	0x01021994

static volatile u64 bench_sink;	/* keeps the measured work from being dropped */

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* rm -r path (a scratch directory of the benchmark's own). */
static inline void rm_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[1024];

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (!lstat(sub, &sb) && S_ISDIR(sb.st_mode))
			rm_dir(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

static inline int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* SHA-256 of inputs of @len (<= 256) bytes, one context reused: seconds
 * per hash, or -1 if OpenSSL fails. */
static inline double measure_sha(size_t len, double secs)
{
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	u8 in[256], out[32];
	unsigned int ol;
	double t0, t, r = -1;
	u64 n = 0;
	int i;

	if (!md || !c || len > sizeof(in))
		goto out;
	for (i = 0; i < (int)sizeof(in); i++)
		in[i] = (u8)i;
	t0 = now_s();
	do {
		for (i = 0; i < 1024; i++) {
			in[0] = (u8)i;
			if (!EVP_DigestInit_ex2(c, md, NULL) ||
			    !EVP_DigestUpdate(c, in, len) ||
			    !EVP_DigestFinal_ex(c, out, &ol))
				goto out;
			bench_sink += out[0];
		}
		n += 1024;
		t = now_s();
	} while (t - t0 < secs);
	r = (t - t0) / (double)n;
out:
	EVP_MD_CTX_free(c);
	EVP_MD_free(md);
	return r;
}

/* Raw Ed25519 signatures (EVP_DigestSign) of a checkpoint-sized message:
 * seconds each, or -1 if OpenSSL fails. */
static inline double measure_ed25519(double secs)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	u8 msg[140], sig[64];
	double t0, t, r = -1;
	u64 n = 0;
	int i;

	if (!kc || !c || EVP_PKEY_keygen_init(kc) != 1 || EVP_PKEY_keygen(kc, &pk) != 1)
		goto out;
	memset(msg, 'm', sizeof(msg));
	t0 = now_s();
	do {
		for (i = 0; i < 64; i++) {
			size_t sl = sizeof(sig);

			msg[0] = (u8)i;
			if (EVP_DigestSignInit(c, NULL, NULL, NULL, pk) != 1 ||
			    EVP_DigestSign(c, sig, &sl, msg, sizeof(msg)) != 1)
				goto out;
			bench_sink += sig[0];
		}
		n += 64;
		t = now_s();
	} while (t - t0 < secs);
	r = (t - t0) / (double)n;
out:
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(kc);
	return r;
}

/* What to append to a line naming dir: syncs on tmpfs cost nothing. */
static inline const char *bench_tmpfs_warning(const char *dir)
{
	struct statfs sfs;

	return !statfs(dir, &sfs) && sfs.f_type == TMPFS_MAGIC_NR ?
	       " (tmpfs: syncs are free, numbers meaningless)" : "";
}

/* The references' lines, the same in every benchmark of the log. */
static inline void bench_print_refs(double t_sha, double t_sig)
{
	printf("  SHA-256, 160-byte input (reference) %9.3f us  %9.0f hashes/s\n",
	       t_sha * 1e6, 1 / t_sha);
	printf("    -> records/s bound, 2 hashes/record            %9.0f records/s\n",
	       1 / (2 * t_sha));
	printf("  Ed25519 sign (reference)            %9.1f us  %9.0f signatures/s\n",
	       t_sig * 1e6, 1 / t_sig);
}

#endif /* BENCH_REF_H */
