// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The software root signer: a private key in a PEM file (or generated)
 * and a monotonic counter in a file.  For tests and for development
 * machines without a TPM; it gives none of the TPM's guarantees (the key
 * is exportable and the counter can be rewritten by root).  The TPM
 * signer implements the same struct bfl_root_signer_ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "bflog.h"

struct soft_root {
	EVP_PKEY *key;
	char *counter_path;	/* NULL: in memory */
	u64 counter;
};

static int counter_load(struct soft_root *s, struct bfl_err *e)
{
	u8 *buf;
	size_t len;
	int r;

	if (!s->counter_path)
		return 0;
	r = bfl_read_file(AT_FDCWD, s->counter_path, 64, &buf, &len, e);
	if (r == -ENOENT) {
		s->counter = 0;
		return 0;
	}
	if (r)
		return r;
	while (len && buf[len - 1] == '\n')
		len--;
	r = bfl_parse_u64((const char *)buf, len, &s->counter);
	free(buf);
	if (r)
		return bfl_errf(e, -EBADMSG, "%s: not a counter value", s->counter_path);
	return 0;
}

static int counter_store(struct soft_root *s, u64 v, struct bfl_err *e)
{
	char *dup, *dir, *base, txt[32];
	int dfd, r, n;

	if (!s->counter_path) {
		s->counter = v;
		return 0;
	}
	dup = strdup(s->counter_path);
	char *dup2 = strdup(s->counter_path);

	if (!dup || !dup2) {
		free(dup);
		free(dup2);
		return bfl_errf(e, -ENOMEM, "out of memory");
	}
	dir = dirname(dup);
	base = basename(dup2);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
	} else {
		n = snprintf(txt, sizeof(txt), "%llu\n", (unsigned long long)v);
		r = bfl_write_atomic(dfd, base, txt, (size_t)n, e);
		close(dfd);
	}
	free(dup);
	free(dup2);
	if (!r)
		s->counter = v;
	return r;
}

/* An imitation of TPM2_NV_Certify: the same structures, signed with the
 * software key over the counter as it is now. */
static int soft_certify(struct bfl_root_signer *rs, const char *body, size_t len,
			struct bfl_attestation *a, struct bfl_err *e)
{
	struct soft_root *s = rs->priv;
	u8 qual[BFL_HASH_SIZE];
	int r = counter_load(s, e);

	if (r)
		return r;
	bfl_sha256(body, len, NULL, 0, qual);
	bfl_nv_attest_make(BFL_TPM_NV_INDEX, s->counter, qual, a);
	a->sig_len = sizeof(a->sig);
	if (bfl_sign(s->key, a->attest, a->attest_len, a->sig, &a->sig_len))
		return bfl_errf(e, -EIO, "root signing failed");
	return 0;
}

static int soft_increment(struct bfl_root_signer *rs, const char *cert,
			  size_t cert_len, u64 *value, struct bfl_err *e)
{
	struct soft_root *s = rs->priv;
	int r = counter_load(s, e);

	(void)cert;
	(void)cert_len;
	if (r)
		return r;
	if (s->counter == UINT64_MAX)
		return bfl_errf(e, -EOVERFLOW, "counter exhausted");
	r = counter_store(s, s->counter + 1, e);
	if (!r)
		*value = s->counter;
	return r;
}

static int soft_read(struct bfl_root_signer *rs, u64 *value,
		     struct bfl_err *e)
{
	struct soft_root *s = rs->priv;
	int r = counter_load(s, e);

	if (!r)
		*value = s->counter;
	return r;
}

static void soft_destroy(struct bfl_root_signer *rs)
{
	struct soft_root *s = rs->priv;

	if (s) {
		EVP_PKEY_free(s->key);
		free(s->counter_path);
		free(s);
	}
	bfl_key_free(&rs->key);
	free(rs);
}

static const struct bfl_root_signer_ops soft_ops = {
	.certify = soft_certify,
	.counter_increment = soft_increment,
	.counter_read = soft_read,
	.destroy = soft_destroy,
};

struct bfl_root_signer *bfl_soft_root_new(EVP_PKEY *key,
					  const char *counter_path,
					  struct bfl_err *e)
{
	struct bfl_root_signer *rs = calloc(1, sizeof(*rs));
	struct soft_root *s = calloc(1, sizeof(*s));

	if (!rs || !s) {
		free(rs);
		free(s);
		bfl_errf(e, -ENOMEM, "out of memory");
		return NULL;
	}
	rs->ops = &soft_ops;
	rs->kind = "software";
	rs->priv = s;
	if (key) {
		if (EVP_PKEY_up_ref(key) != 1)
			goto fail_mem;
		s->key = key;
	} else {
		s->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (!s->key)
			goto fail_mem;
	}
	if (counter_path) {
		s->counter_path = strdup(counter_path);
		if (!s->counter_path)
			goto fail_mem;
		if (counter_load(s, e))
			goto fail;
	}
	if (bfl_key_init(&rs->key, BFL_ROOT_KEY_NAME, s->key, e))
		goto fail;
	return rs;
fail_mem:
	bfl_errf(e, -ENOMEM, "out of memory");
fail:
	soft_destroy(rs);
	return NULL;
}

struct bfl_root_signer *bfl_soft_root_load(const char *key_pem,
					   const char *counter_path,
					   struct bfl_err *e)
{
	struct bfl_root_signer *rs;
	EVP_PKEY *pk = NULL;
	FILE *f = fopen(key_pem, "re");

	if (!f) {
		bfl_errf(e, -errno, "%s: %s", key_pem, strerror(errno));
		return NULL;
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk) {
		bfl_errf(e, -EBADMSG, "%s: not a PEM private key", key_pem);
		return NULL;
	}
	rs = bfl_soft_root_new(pk, counter_path, e);
	EVP_PKEY_free(pk);
	return rs;
}

int bfl_soft_root_save_key(struct bfl_root_signer *rs, const char *path,
			   struct bfl_err *e)
{
	struct soft_root *s = rs->priv;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;
	int ok;

	if (fd < 0)
		return bfl_errf(e, -errno, "%s: %s", path, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return bfl_errf(e, -errno, "%s: %s", path, strerror(errno));
	}
	ok = PEM_write_PrivateKey(f, s->key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) || ok != 1)
		return bfl_errf(e, -EIO, "%s: cannot write the key", path);
	return 0;
}

int bfl_soft_root_set_counter(struct bfl_root_signer *rs, u64 value)
{
	struct soft_root *s = rs->priv;

	if (rs->ops != &soft_ops)
		return -EINVAL;
	return counter_store(s, value, NULL);
}

int bfl_write_pubkey_pem(EVP_PKEY *pk, const char *path, struct bfl_err *e)
{
	FILE *f = fopen(path, "we");
	int ok;

	if (!f)
		return bfl_errf(e, -errno, "%s: %s", path, strerror(errno));
	ok = PEM_write_PUBKEY(f, pk);
	if (fclose(f) || ok != 1)
		return bfl_errf(e, -EIO, "%s: cannot write the public key", path);
	return 0;
}

EVP_PKEY *bfl_read_pubkey_pem(const char *path, struct bfl_err *e)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *pk;

	if (!f) {
		bfl_errf(e, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk)
		bfl_errf(e, -EBADMSG, "%s: not a PEM public key", path);
	return pk;
}
