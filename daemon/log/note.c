// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * C2SP signed notes (c2sp.org/signed-note): a text ending in a newline,
 * a blank line, then signature lines "— <key name> <base64(key ID ||
 * signature)>".  Checkpoints and epoch certificates are both notes.
 *
 * Key IDs: SHA-256(name || 0x0A || 0x01 || 32-byte key)[:4] for Ed25519;
 * SHA-256(DER SubjectPublicKeyInfo)[:4] for ECDSA (type 0x02, as the
 * spec assigns); SHA-256(name || 0x0A || 0xff || "bioflow-spki" || DER)[:4]
 * for any other key type.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "bflog.h"

#define EMDASH "\xe2\x80\x94"

/* UTF-8 without overlongs, surrogates or values past U+10FFFF; no ASCII
 * control characters but the newline. */
static bool valid_text(const char *s, size_t n)
{
	const u8 *p = (const u8 *)s;
	size_t i = 0;

	while (i < n) {
		u8 c = p[i];
		unsigned int need, cp, k;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + need >= n)
			return false;
		for (k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

bool bfl_valid_key_name(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > BFL_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((u8)name[i] <= 0x20 || name[i] == '+' || name[i] == 0x7f)
			return false;
	return valid_text(name, n);
}

int bfl_note_parse(const char *buf, size_t len, struct bfl_note *n,
		   struct bfl_err *e)
{
	size_t i, sep = 0, pos;
	bool found = false;

	memset(n, 0, sizeof(*n));
	if (len == 0)
		return bfl_errf(e, -EBADMSG, "empty note");
	if (len > BFL_NOTE_MAX)
		return bfl_errf(e, -EBADMSG, "note of %zu bytes is too large", len);
	if (memchr(buf, 0, len) || !valid_text(buf, len))
		return bfl_errf(e, -EBADMSG,
				"note is not UTF-8 text without control characters");
	if (buf[len - 1] != '\n')
		return bfl_errf(e, -EBADMSG, "note does not end with a newline");
	/* The text ends at the last blank line. */
	for (i = len - 1; i > 0; i--) {
		if (buf[i] == '\n' && buf[i - 1] == '\n') {
			sep = i;
			found = true;
			break;
		}
	}
	if (!found || sep < 1)
		return bfl_errf(e, -EBADMSG, "note has no signature block");
	n->text = buf;
	n->text_len = sep;	/* includes the text's final newline */
	if (n->text_len < 2)
		return bfl_errf(e, -EBADMSG, "note text is empty");
	pos = sep + 1;
	while (pos < len) {
		const char *line = buf + pos, *nl, *sp;
		size_t ll, nlen, blen;
		struct bfl_note_sig *s;
		u8 raw[4 + BFL_SIG_MAX];
		size_t rawlen;

		nl = memchr(line, '\n', len - pos);
		ll = (size_t)(nl - line);
		if (ll < 4 || memcmp(line, EMDASH " ", 4))
			return bfl_errf(e, -EBADMSG,
					"signature line %u does not start with an em dash",
					n->nsig + 1);
		if (n->nsig == BFL_NOTE_SIGS_MAX)
			return bfl_errf(e, -EBADMSG, "more than %d signatures",
					BFL_NOTE_SIGS_MAX);
		s = &n->sig[n->nsig];
		sp = memchr(line + 4, ' ', ll - 4);
		if (!sp)
			return bfl_errf(e, -EBADMSG, "signature line %u has no signature",
					n->nsig + 1);
		nlen = (size_t)(sp - (line + 4));
		if (nlen == 0 || nlen > BFL_NAME_MAX)
			return bfl_errf(e, -EBADMSG, "signature line %u: bad key name",
					n->nsig + 1);
		memcpy(s->name, line + 4, nlen);
		s->name[nlen] = 0;
		if (!bfl_valid_key_name(s->name))
			return bfl_errf(e, -EBADMSG, "signature line %u: bad key name",
					n->nsig + 1);
		blen = ll - 4 - nlen - 1;
		if (bfl_b64_decode(sp + 1, blen, raw, sizeof(raw), &rawlen) ||
		    rawlen < 5)
			return bfl_errf(e, -EBADMSG, "signature line %u: bad base64",
					n->nsig + 1);
		s->key_id = (u32)raw[0] << 24 | (u32)raw[1] << 16 |
			    (u32)raw[2] << 8 | raw[3];
		s->sig_len = rawlen - 4;
		memcpy(s->sig, raw + 4, s->sig_len);
		n->nsig++;
		pos += ll + 1;
	}
	if (n->nsig == 0)
		return bfl_errf(e, -EBADMSG, "note has no signatures");
	return 0;
}

static bool is_eddsa(EVP_PKEY *pk)
{
	return EVP_PKEY_is_a(pk, "ED25519") || EVP_PKEY_is_a(pk, "ED448");
}

int bfl_key_init(struct bfl_key *k, const char *name, EVP_PKEY *pk,
		 struct bfl_err *e)
{
	u8 hash[BFL_HASH_SIZE];
	u8 *der = NULL, *buf;
	size_t nlen = strlen(name), rawlen = 32;
	int derlen;

	memset(k, 0, sizeof(*k));
	if (!bfl_valid_key_name(name))
		return bfl_errf(e, -EINVAL, "bad key name \"%s\"", name);
	snprintf(k->name, sizeof(k->name), "%s", name);
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		buf = malloc(nlen + 2 + 32);
		if (!buf)
			return bfl_errf(e, -ENOMEM, "out of memory");
		memcpy(buf, name, nlen);
		buf[nlen] = '\n';
		buf[nlen + 1] = 0x01;
		if (EVP_PKEY_get_raw_public_key(pk, buf + nlen + 2, &rawlen) != 1 ||
		    rawlen != 32) {
			free(buf);
			return bfl_errf(e, -EINVAL, "cannot read the Ed25519 public key");
		}
		bfl_sha256(buf, nlen + 2 + 32, NULL, 0, hash);
		free(buf);
	} else {
		derlen = i2d_PUBKEY(pk, &der);
		if (derlen <= 0)
			return bfl_errf(e, -EINVAL, "cannot encode the public key");
		if (EVP_PKEY_is_a(pk, "EC")) {
			bfl_sha256(der, (size_t)derlen, NULL, 0, hash);
		} else {
			static const char tag[] = "bioflow-spki";
			size_t tl = sizeof(tag) - 1, tot = nlen + 2 + tl + (size_t)derlen;

			buf = malloc(tot);
			if (!buf) {
				OPENSSL_free(der);
				return bfl_errf(e, -ENOMEM, "out of memory");
			}
			memcpy(buf, name, nlen);
			buf[nlen] = '\n';
			buf[nlen + 1] = 0xff;
			memcpy(buf + nlen + 2, tag, tl);
			memcpy(buf + nlen + 2 + tl, der, (size_t)derlen);
			bfl_sha256(buf, tot, NULL, 0, hash);
			free(buf);
		}
		OPENSSL_free(der);
	}
	k->key_id = (u32)hash[0] << 24 | (u32)hash[1] << 16 |
		    (u32)hash[2] << 8 | hash[3];
	if (EVP_PKEY_up_ref(pk) != 1)
		return bfl_errf(e, -ENOMEM, "cannot reference the key");
	k->pk = pk;
	return 0;
}

void bfl_key_free(struct bfl_key *k)
{
	EVP_PKEY_free(k->pk);
	memset(k, 0, sizeof(*k));
}

int bfl_sign(EVP_PKEY *pk, const void *msg, size_t len, u8 *sig,
	     size_t *sig_len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t need = 0;
	int r = -EINVAL;

	if (!c)
		return -ENOMEM;
	if (EVP_DigestSignInit_ex(c, NULL, is_eddsa(pk) ? NULL : "SHA256",
				  NULL, NULL, pk, NULL) != 1)
		goto out;
	if (EVP_DigestSign(c, NULL, &need, msg, len) != 1 || need > *sig_len)
		goto out;
	if (EVP_DigestSign(c, sig, sig_len, msg, len) != 1)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(c);
	return r;
}

int bfl_verify_sig(EVP_PKEY *pk, const void *msg, size_t len,
		   const u8 *sig, size_t sig_len)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int r = -EKEYREJECTED;

	if (!c)
		return -ENOMEM;
	if (EVP_DigestVerifyInit_ex(c, NULL, is_eddsa(pk) ? NULL : "SHA256",
				    NULL, NULL, pk, NULL) == 1 &&
	    EVP_DigestVerify(c, sig, sig_len, msg, len) == 1)
		r = 0;
	EVP_MD_CTX_free(c);
	return r;
}

int bfl_note_verify(const struct bfl_note *n, const struct bfl_key *k,
		    struct bfl_err *e)
{
	unsigned int i;
	bool seen = false;

	for (i = 0; i < n->nsig; i++) {
		const struct bfl_note_sig *s = &n->sig[i];

		if (s->key_id != k->key_id || strcmp(s->name, k->name))
			continue;
		seen = true;
		if (bfl_verify_sig(k->pk, n->text, n->text_len, s->sig,
				   s->sig_len))
			return bfl_errf(e, -EKEYREJECTED,
					"signature by %s does not verify", k->name);
	}
	if (!seen)
		return bfl_errf(e, -ENOKEY, "no signature by %s (key ID %08x)",
				k->name, k->key_id);
	return 0;
}

int bfl_note_add_sig(char *out, size_t cap, size_t *len, const char *name,
		     u32 key_id, const u8 *sig, size_t sig_len)
{
	u8 raw[4 + BFL_SIG_MAX];
	char b64[(4 + BFL_SIG_MAX + 2) / 3 * 4 + 1];
	int k;

	if (sig_len > BFL_SIG_MAX || !bfl_valid_key_name(name))
		return -EINVAL;
	raw[0] = (u8)(key_id >> 24);
	raw[1] = (u8)(key_id >> 16);
	raw[2] = (u8)(key_id >> 8);
	raw[3] = (u8)key_id;
	memcpy(raw + 4, sig, sig_len);
	bfl_b64_encode(raw, 4 + sig_len, b64);
	if (*len >= cap)
		return -ENOSPC;
	k = snprintf(out + *len, cap - *len, EMDASH " %s %s\n", name, b64);
	if (k < 0 || (size_t)k >= cap - *len)
		return -ENOSPC;
	*len += (size_t)k;
	return 0;
}
