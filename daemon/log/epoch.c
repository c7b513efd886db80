// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Epoch keys and epoch certificates.
 *
 * Checkpoints are signed by a short-lived Ed25519 epoch key that exists
 * only in the writer's memory.  Its public half is bound to the log's
 * origin, the epoch number, the tree size at which the epoch starts and
 * the value of the TPM's monotonic counter by a TPM2_NV_Certify of that
 * counter whose qualifying data is the SHA-256 of the certificate's
 * body, signed by the root key (restricted: it signs only what the TPM
 * generates).  So the counter value is the one the TPM held when it
 * certified, and no later signature can claim it again.
 *
 *   bioflow-epoch-cert v2                  \
 *   origin <origin>                        |
 *   epoch <N>                              |  the body:
 *   start-size <tree size>                 |  qualifying data =
 *   nv-counter <counter value>             |  SHA-256 of these lines
 *   issued <unix seconds>                  |
 *   key ed25519 <base64 public key>        /
 *   nv-public <base64 TPMS_NV_PUBLIC of the counter>
 *   nv-attest <base64 TPMS_ATTEST (TPM_ST_ATTEST_NV)>
 *   root-signature <key ID, 8 hex digits> <base64 signature over nv-attest>
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bflog.h"

#define CERT_LINES	7	/* in the body */
#define B64_CAP(n)	(4 * (((n) + 2) / 3) + 1)

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
		     BFL_CERT_MAGIC "\norigin %s\nepoch %llu\nstart-size %llu\n"
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

/* The old format (store v2 and before): the root key's signature over a
 * counter claim.  Named, so that nobody reads it as "garbage". */
static int old_format(const char *text, size_t len, struct bfl_err *e)
{
	if (len >= sizeof(BFL_CERT_MAGIC_OLD) &&
	    !memcmp(text, BFL_CERT_MAGIC_OLD "\n", sizeof(BFL_CERT_MAGIC_OLD)))
		return bfl_errf(e, -EPROTONOSUPPORT,
				"epoch certificate format \"" BFL_CERT_MAGIC_OLD
				"\" (a root-key signature over a claimed counter value) is no longer accepted; this version reads \""
				BFL_CERT_MAGIC "\" (a TPM2_NV_Certify of the counter) only: verify the old store with the bioflow-verify that wrote it (docs/log-format.md, \"Migration\")");
	return 0;
}

int bfl_cert_parse_body(const char *text, size_t len,
			struct bfl_epoch_cert *c, struct bfl_err *e)
{
	const char *p = text, *end = text + len, *v;
	size_t vl, got;
	u8 pub[36];
	int r;

	memset(c, 0, sizeof(*c));
	r = old_format(text, len, e);
	if (r)
		return r;
	if (len < sizeof(BFL_CERT_MAGIC) ||
	    memcmp(p, BFL_CERT_MAGIC "\n", sizeof(BFL_CERT_MAGIC)))
		return bfl_errf(e, -EBADMSG, "not a bioflow epoch certificate (first line)");
	p += sizeof(BFL_CERT_MAGIC);
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

/* Appends "<name> <base64>\n". */
static int add_b64(char *out, size_t cap, size_t *l, const char *name,
		   const u8 *b, size_t n)
{
	size_t nl = strlen(name);

	if (*l + nl + 2 + B64_CAP(n) > cap)
		return -ENOSPC;
	memcpy(out + *l, name, nl);
	*l += nl;
	out[(*l)++] = ' ';
	*l += bfl_b64_encode(b, n, out + *l);
	out[(*l)++] = '\n';
	out[*l] = 0;
	return 0;
}

/* Checks an attestation against a certificate body: it certifies a
 * counter, binds exactly this body, and attests its nv-counter. */
static int check_attestation(const char *body, size_t body_len,
			     const struct bfl_epoch_cert *c,
			     const struct bfl_attestation *a,
			     struct bfl_nv_attest *na, struct bfl_err *e)
{
	u8 h[BFL_HASH_SIZE];
	int r;

	r = bfl_nv_attest_parse(a, na, e);
	if (r)
		return r;
	bfl_sha256(body, body_len, NULL, 0, h);
	if (memcmp(h, na->extra, BFL_HASH_SIZE))
		return bfl_errf(e, -EBADMSG,
				"epoch certificate: the TPM attestation was made for another certificate body (qualifying data differs)");
	if (na->value != c->nv_counter)
		return bfl_errf(e, -ERANGE,
				"epoch certificate: claims nv-counter %llu but the TPM attested %llu",
				(unsigned long long)c->nv_counter,
				(unsigned long long)na->value);
	return 0;
}

int bfl_cert_issue(struct bfl_root_signer *rs,
		   const struct bfl_epoch_cert *c, char *out, size_t cap,
		   size_t *len, struct bfl_err *e)
{
	struct bfl_attestation *a = malloc(sizeof(*a));
	struct bfl_nv_attest na;
	size_t l;
	int r, k;

	if (!a)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = bfl_cert_format_body(c, out, cap, &l);
	if (r) {
		r = bfl_errf(e, r, "epoch certificate does not fit");
		goto out;
	}
	memset(a, 0, sizeof(*a));
	r = rs->ops->certify(rs, out, l, a, e);
	if (r)
		goto out;
	r = check_attestation(out, l, c, a, &na, e);
	if (r == -ERANGE)
		r = bfl_errf(e, -ESTALE,
			     "the counter moved: the certificate was to attest %llu, the TPM attested %llu",
			     (unsigned long long)c->nv_counter,
			     (unsigned long long)na.value);
	if (!r && bfl_verify_sig(rs->key.pk, a->attest, a->attest_len, a->sig,
				 a->sig_len))
		r = bfl_errf(e, -EIO,
			     "the root signer's attestation does not verify with the root key");
	if (r)
		goto out;
	r = add_b64(out, cap, &l, "nv-public", a->nvpub, a->nvpub_len);
	if (!r)
		r = add_b64(out, cap, &l, "nv-attest", a->attest, a->attest_len);
	if (!r) {
		k = snprintf(out + l, cap - l, "root-signature %08x ", rs->key.key_id);
		if (k < 0 || (size_t)k >= cap - l)
			r = -ENOSPC;
		else
			l += (size_t)k;
	}
	if (!r && l + B64_CAP(a->sig_len) + 1 > cap)
		r = -ENOSPC;
	if (!r) {
		l += bfl_b64_encode(a->sig, a->sig_len, out + l);
		out[l++] = '\n';
		out[l] = 0;
		*len = l;
	} else {
		r = bfl_errf(e, r, "epoch certificate does not fit");
	}
out:
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
	return r;
}

/* "<name> <base64>\n" at *p into b (cap bytes). */
static int b64_line(const char **p, const char *end, const char *name,
		    u8 *b, size_t cap, size_t *n)
{
	const char *v;
	size_t vl;

	if (field(p, end, name, &v, &vl) || vl > 4 * ((cap + 2) / 3) ||
	    bfl_b64_decode(v, vl, b, cap, n))
		return -EBADMSG;
	return 0;
}

size_t bfl_cert_body_len(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int i;

	for (i = 0; i < CERT_LINES && p; i++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p)
			p++;
	}
	return p ? (size_t)(p - buf) : 0;
}

int bfl_cert_open(const char *buf, size_t len, const struct bfl_key *root,
		  struct bfl_epoch_cert *c, struct bfl_err *e)
{
	struct bfl_attestation *a = malloc(sizeof(*a));
	struct bfl_nv_attest na;
	const char *p = buf, *end = buf + len, *v;
	size_t body_len, vl;
	unsigned long kid;
	char *kend;
	int r;

	memset(c, 0, sizeof(*c));
	if (!a)
		return bfl_errf(e, -ENOMEM, "out of memory");
	memset(a, 0, sizeof(*a));
	r = old_format(buf, len, e);
	if (r)
		goto out;
	body_len = bfl_cert_body_len(buf, len);
	if (!body_len) {
		r = bfl_errf(e, -EBADMSG, "not a bioflow epoch certificate (too short)");
		goto out;
	}
	p = buf + body_len;
	r = bfl_cert_parse_body(buf, body_len, c, e);
	if (r)
		goto out;
	if (b64_line(&p, end, "nv-public", a->nvpub, sizeof(a->nvpub), &a->nvpub_len) ||
	    b64_line(&p, end, "nv-attest", a->attest, sizeof(a->attest), &a->attest_len) ||
	    field(&p, end, "root-signature", &v, &vl) || vl < 10 || v[8] != ' ' ||
	    bfl_b64_decode(v + 9, vl - 9, a->sig, sizeof(a->sig), &a->sig_len) ||
	    a->sig_len == 0 || p != end) {
		r = bfl_errf(e, -EBADMSG,
			     "epoch certificate: the nv-public, nv-attest and root-signature lines after the key are missing or malformed");
		goto out;
	}
	kid = strtoul(v, &kend, 16);
	if (kend != v + 8) {
		r = bfl_errf(e, -EBADMSG, "epoch certificate: bad root key ID");
		goto out;
	}
	r = check_attestation(buf, body_len, c, a, &na, e);
	if (r) {
		r = -EBADMSG;
		goto out;
	}
	c->nv_index = na.nv_index;
	if (root && (u32)kid != root->key_id) {
		r = bfl_errf(e, -ENOKEY, "not signed by the root key (%s, key ID %08x)",
			     root->name, root->key_id);
	} else if (root && bfl_verify_sig(root->pk, a->attest, a->attest_len,
					  a->sig, a->sig_len)) {
		r = bfl_errf(e, -EKEYREJECTED,
			     "the root key's signature over the TPM attestation does not verify");
	}
out:
	free(a);
	if (r)
		memset(c, 0, sizeof(*c));
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
