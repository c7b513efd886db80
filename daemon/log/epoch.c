// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Epoch keys and epoch certificates.
 *
 * Checkpoints are signed by a short-lived Ed25519 epoch key that exists
 * only in the writer's memory.  Its public half is bound, by the root
 * signer (TPM key in production), to the log's origin, the epoch number,
 * the tree size at which the epoch starts and the value of a monotonic
 * counter incremented for this epoch.  The certificate is a signed note:
 *
 *   bioflow-epoch-cert v1
 *   origin <origin>
 *   epoch <N>
 *   start-size <tree size>
 *   nv-counter <counter value>
 *   issued <unix seconds>
 *   key ed25519 <base64 public key>
 *
 *   — bioflow-root <base64(key ID || signature)>
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bflog.h"

#define CERT_MAGIC "bioflow-epoch-cert v1"

void bfl_root_signer_free(struct bfl_root_signer *rs)
{
	if (rs && rs->ops && rs->ops->destroy)
		rs->ops->destroy(rs);
}

int bfl_cert_format_body(const struct bfl_epoch_cert *c, char *out,
			 size_t cap, size_t *len)
{
	char b64[48];
	int k;

	bfl_b64_encode(c->pub, 32, b64);
	k = snprintf(out, cap,
		     CERT_MAGIC "\norigin %s\nepoch %llu\nstart-size %llu\n"
		     "nv-counter %llu\nissued %llu\nkey ed25519 %s\n",
		     c->origin, (unsigned long long)c->epoch,
		     (unsigned long long)c->start_size,
		     (unsigned long long)c->nv_counter,
		     (unsigned long long)c->issued, b64);
	if (k < 0 || (size_t)k >= cap)
		return -ENOSPC;
	*len = (size_t)k;
	return 0;
}

/* Line "<key> <value>" at *p; value returned in *v / *vl. */
static int field(const char **p, const char *end, const char *key,
		 const char **v, size_t *vl)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t kl = strlen(key);

	if (!nl || (size_t)(nl - *p) <= kl + 1 || memcmp(*p, key, kl) ||
	    (*p)[kl] != ' ')
		return -EBADMSG;
	*v = *p + kl + 1;
	*vl = (size_t)(nl - *v);
	*p = nl + 1;
	return 0;
}

int bfl_cert_parse_body(const char *text, size_t len,
			struct bfl_epoch_cert *c, struct bfl_err *e)
{
	const char *p = text, *end = text + len, *v;
	size_t vl, got;
	u8 pub[36];

	memset(c, 0, sizeof(*c));
	if (len < sizeof(CERT_MAGIC) || memcmp(p, CERT_MAGIC "\n", sizeof(CERT_MAGIC)))
		return bfl_errf(e, -EBADMSG, "not a bioflow epoch certificate (first line)");
	p += sizeof(CERT_MAGIC);
	if (field(&p, end, "origin", &v, &vl) || vl > BFL_NAME_MAX)
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad origin line");
	memcpy(c->origin, v, vl);
	c->origin[vl] = 0;
	if (!bfl_valid_key_name(c->origin))
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad origin");
	if (field(&p, end, "epoch", &v, &vl) || bfl_parse_u64(v, vl, &c->epoch) ||
	    c->epoch == 0 || c->epoch > 0xffffffffULL)
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad epoch line");
	if (field(&p, end, "start-size", &v, &vl) ||
	    bfl_parse_u64(v, vl, &c->start_size) || c->start_size > INT64_MAX)
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad start-size line");
	if (field(&p, end, "nv-counter", &v, &vl) ||
	    bfl_parse_u64(v, vl, &c->nv_counter))
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad nv-counter line");
	if (field(&p, end, "issued", &v, &vl) || bfl_parse_u64(v, vl, &c->issued))
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad issued line");
	if (field(&p, end, "key", &v, &vl) || vl != 8 + 44 ||
	    memcmp(v, "ed25519 ", 8) ||
	    bfl_b64_decode(v + 8, 44, pub, sizeof(pub), &got) || got != 32)
		return bfl_errf(e, -EBADMSG, "epoch certificate: bad key line");
	memcpy(c->pub, pub, 32);
	if (p != end)
		return bfl_errf(e, -EBADMSG, "epoch certificate: unexpected lines after the key");
	return 0;
}

int bfl_cert_issue(struct bfl_root_signer *rs,
		   const struct bfl_epoch_cert *c, char *out, size_t cap,
		   size_t *len, struct bfl_err *e)
{
	u8 sig[BFL_SIG_MAX];
	size_t sl = sizeof(sig), l;
	int r;

	r = bfl_cert_format_body(c, out, cap, &l);
	if (r)
		return bfl_errf(e, r, "epoch certificate does not fit");
	r = rs->ops->sign(rs, (const u8 *)out, l, sig, &sl, e);
	if (r)
		return r;
	if (l + 1 >= cap)
		return bfl_errf(e, -ENOSPC, "epoch certificate does not fit");
	out[l++] = '\n';
	r = bfl_note_add_sig(out, cap, &l, rs->key.name, rs->key.key_id, sig, sl);
	if (r)
		return bfl_errf(e, r, "epoch certificate does not fit");
	*len = l;
	return 0;
}

int bfl_cert_open(const char *buf, size_t len, const struct bfl_key *root,
		  struct bfl_epoch_cert *c, struct bfl_err *e)
{
	struct bfl_note *n = malloc(sizeof(*n));
	int r;

	if (!n)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = bfl_note_parse(buf, len, n, e);
	if (!r)
		r = bfl_cert_parse_body(n->text, n->text_len, c, e);
	if (!r && root) {
		r = bfl_note_verify(n, root, e);
		if (r == -ENOKEY)
			bfl_errf(e, r, "not signed by the root key (%s, key ID %08x)",
				 root->name, root->key_id);
		else if (r)
			bfl_errf(e, r, "root signature does not verify");
	}
	free(n);
	return r;
}

void bfl_epoch_key_name(const char *origin, u64 epoch, char *out, size_t cap)
{
	snprintf(out, cap, "%s/epoch/%llu", origin, (unsigned long long)epoch);
}

int bfl_cert_key(const struct bfl_epoch_cert *c, struct bfl_key *k,
		 struct bfl_err *e)
{
	char name[BFL_NAME_MAX + 32];
	EVP_PKEY *pk;
	int r;

	bfl_epoch_key_name(c->origin, c->epoch, name, sizeof(name));
	if (strlen(name) > BFL_NAME_MAX)
		return bfl_errf(e, -EINVAL, "epoch key name too long");
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, c->pub, 32);
	if (!pk)
		return bfl_errf(e, -EINVAL, "epoch %llu: not an Ed25519 public key",
				(unsigned long long)c->epoch);
	r = bfl_key_init(k, name, pk, e);
	EVP_PKEY_free(pk);
	return r;
}

int bfl_epoch_key_generate(struct bfl_epoch_key *k, const char *origin,
			   u64 epoch, struct bfl_err *e)
{
	char name[BFL_NAME_MAX + 32];
	int r;

	memset(k, 0, sizeof(*k));
	bfl_epoch_key_name(origin, epoch, name, sizeof(name));
	if (strlen(name) > BFL_NAME_MAX)
		return bfl_errf(e, -EINVAL, "epoch key name too long");
	k->priv = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k->priv)
		return bfl_errf(e, -ENOMEM, "Ed25519 key generation failed");
	k->epoch = epoch;
	r = bfl_key_init(&k->pub, name, k->priv, e);
	if (r) {
		EVP_PKEY_free(k->priv);
		k->priv = NULL;
	}
	return r;
}

void bfl_epoch_key_destroy(struct bfl_epoch_key *k)
{
	/* OpenSSL keeps Ed25519 private keys in secure memory and clears
	 * them when the last reference goes (the bfl_key holds one too). */
	bfl_key_free(&k->pub);
	EVP_PKEY_free(k->priv);
	OPENSSL_cleanse(k, sizeof(*k));
}

int bfl_checkpoint_sign(const struct bfl_checkpoint *cp,
			const struct bfl_epoch_key *k, char *out, size_t cap,
			size_t *len, struct bfl_err *e)
{
	u8 sig[128];
	size_t sl = sizeof(sig), l;
	int r;

	r = bfl_checkpoint_format_body(cp, out, cap, &l);
	if (r)
		return bfl_errf(e, r, "checkpoint does not fit");
	if (bfl_sign(k->priv, out, l, sig, &sl))
		return bfl_errf(e, -EIO, "Ed25519 signing failed");
	if (l + 1 >= cap)
		return bfl_errf(e, -ENOSPC, "checkpoint does not fit");
	out[l++] = '\n';
	r = bfl_note_add_sig(out, cap, &l, k->pub.name, k->pub.key_id, sig, sl);
	if (r)
		return bfl_errf(e, r, "checkpoint does not fit");
	*len = l;
	return 0;
}
