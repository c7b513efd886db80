// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * C2SP signed notes (c2sp.org/signed-note): a text ending in a newline,
 * a blank line, then signature lines "— <key name> <base64(key ID ||
 * signature)>".  Checkpoints are notes.  Signatures by keys the verifier
 * does not know (witnesses' cosignatures, of any size) are skipped; the
 * note needs a valid one by the key it is checked against.
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

/*
 * Size limits.  c2sp.org/signed-note, section "Format": verifiers SHOULD
 * limit the number of signatures in a note (or its size) but MUST accept
 * at least 16, and post-quantum signatures reach nearly 5 kB.  A
 * signature line of an ML-DSA-87-sized signature (4 + 4627 bytes, 6176
 * base64 characters) with a 255-byte name is 6437 bytes; 16 of them and
 * 24 KiB of text fit in BFL_NOTE_MAX (128 KiB).  BFL_NOTE_SIGS_MAX (100)
 * is the limit of golang.org/x/mod/sumdb/note.  Checkpoint entries in
 * the segments keep their own limit (BFL_CPE_NOTE_MAX): the notes this
 * store signs are a few hundred bytes.
 */

/* The code point of the UTF-8 sequence at s[*i] (n bytes in all), *i
 * moved past it; -1 for an invalid sequence (cut short, overlong, a
 * surrogate, or past U+10FFFF). */
static long utf8_next(const u8 *s, size_t n, size_t *i)
{
	u8 c = s[*i];
	unsigned int need, k;
	long cp;

	if (c < 0x80) {
		(*i)++;
		return c;
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
		return -1;
	}
	if (*i + need >= n)
		return -1;
	for (k = 1; k <= need; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[*i + k] & 0x3f);
	}
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += need + 1;
	return cp;
}

/* c2sp.org/signed-note, "Format": a note is UTF-8 without ASCII control
 * characters (those below U+0020) other than the newline. */
static bool valid_text(const char *s, size_t n)
{
	size_t i = 0;
	long cp;

	while (i < n) {
		cp = utf8_next((const u8 *)s, n, &i);
		if (cp < 0 || (cp < 0x20 && cp != '\n'))
			return false;
	}
	return true;
}

/* Unicode's White_Space property (PropList.txt), the set Go's
 * unicode.IsSpace reports: what the signed-note spec calls spaces. */
static bool unicode_space(long cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	       cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	       cp == 0x3000;
}

/*
 * A key name (c2sp.org/signed-note, "Format"): non-empty, no Unicode
 * spaces, no '+'.  strict adds what we refuse in the names we make and
 * accept from configuration: control characters (C0, DEL, C1) and
 * U+180E, a space before Unicode 6.3.  Returns 0 or a reason; *bad is
 * the offending code point.
 */
enum name_fault { NAME_OK, NAME_EMPTY, NAME_UTF8, NAME_CONTROL, NAME_SPACE, NAME_PLUS };

static enum name_fault name_check(const char *s, size_t n, bool strict, long *bad)
{
	size_t i = 0;
	long cp;

	if (n == 0)
		return NAME_EMPTY;
	while (i < n) {
		cp = utf8_next((const u8 *)s, n, &i);
		*bad = cp;
		if (cp < 0)
			return NAME_UTF8;
		if (unicode_space(cp) || (strict && cp == 0x180e))
			return NAME_SPACE;
		if (cp < 0x20 || (strict && cp >= 0x7f && cp <= 0x9f))
			return NAME_CONTROL;
		if (cp == '+')
			return NAME_PLUS;
	}
	return NAME_OK;
}

int bfl_check_key_name(const char *name, struct bfl_err *e)
{
	size_t n = strlen(name);
	long cp = 0;

	if (n > BFL_NAME_MAX)
		return bfl_errf(e, -EINVAL, "longer than %d bytes", BFL_NAME_MAX);
	switch (name_check(name, n, true, &cp)) {
	case NAME_OK:
		return 0;
	case NAME_EMPTY:
		return bfl_errf(e, -EINVAL, "empty");
	case NAME_UTF8:
		return bfl_errf(e, -EINVAL, "not UTF-8");
	case NAME_CONTROL:
		return bfl_errf(e, -EINVAL, "contains the control character U+%04lX", cp);
	case NAME_SPACE:
		return bfl_errf(e, -EINVAL,
				"contains U+%04lX, a space (signed-note key names have no Unicode spaces)",
				cp);
	case NAME_PLUS:
	default:
		return bfl_errf(e, -EINVAL, "contains '+' (signed-note key names have none)");
	}
}

bool bfl_valid_key_name(const char *name)
{
	return bfl_check_key_name(name, NULL) == 0;
}

int bfl_check_origin(const char *origin, struct bfl_err *e)
{
	int r = bfl_check_key_name(origin, e);

	if (!r && strlen(origin) > BFL_ORIGIN_MAX)
		r = bfl_errf(e, -EINVAL, "longer than %d bytes", BFL_ORIGIN_MAX);
	return r;
}

/*
 * c2sp.org/signed-note: the text, a blank line, then one or more lines
 * "— <key name> <base64(key ID || signature)>".  Every line must match
 * that grammar, whoever's key made it; which keys are known is
 * bfl_note_verify()'s business ("Signatures": signatures from unknown
 * keys are ignored), so a signature is only checked to be canonical
 * base64 of at least 5 bytes here, of any length.
 */
int bfl_note_parse(const char *buf, size_t len, struct bfl_note *n,
		   struct bfl_err *e)
{
	size_t i, sep = 0, pos;
	bool found = false;

	memset(n, 0, sizeof(*n));
	if (len == 0)
		return bfl_errf(e, -EBADMSG, "empty note");
	if (len > BFL_NOTE_MAX)
		return bfl_errf(e, -EBADMSG, "note of %zu bytes is too large (at most %d)",
				len, BFL_NOTE_MAX);
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
		struct bfl_note_sig *s;
		size_t ll, nlen, total, hl;
		u8 head[6];
		long cp;

		nl = memchr(line, '\n', len - pos);
		ll = (size_t)(nl - line);
		if (ll < 4 || memcmp(line, EMDASH " ", 4))
			return bfl_errf(e, -EBADMSG,
					"signature line %u does not start with an em dash and a space",
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
		if (name_check(line + 4, nlen, false, &cp) != NAME_OK)
			return bfl_errf(e, -EBADMSG,
					"signature line %u: bad key name (empty, or with a Unicode space or '+')",
					n->nsig + 1);
		s->name = line + 4;
		s->name_len = nlen;
		s->b64 = sp + 1;
		s->b64_len = ll - 4 - nlen - 1;
		/* Canonical base64 of a key ID and at least one byte; the
		 * first 8 characters hold the key ID. */
		if (bfl_b64_decode(s->b64, s->b64_len, NULL, 0, &total) ||
		    total < 5 || bfl_b64_decode(s->b64, 8, head, sizeof(head), &hl))
			return bfl_errf(e, -EBADMSG,
					"signature line %u: not base64 of a key ID and a signature",
					n->nsig + 1);
		s->key_id = (u32)head[0] << 24 | (u32)head[1] << 16 |
			    (u32)head[2] << 8 | head[3];
		s->sig_len = total - 4;
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
	struct bfl_err ne;
	u8 *der = NULL, *buf;
	size_t nlen = strlen(name), rawlen = 32;
	int derlen;

	memset(k, 0, sizeof(*k));
	if (bfl_check_key_name(name, &ne))
		return bfl_errf(e, -EINVAL, "bad key name \"%s\": %s", name, ne.msg);
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
	size_t klen = strlen(k->name), rawlen;
	u8 raw[4 + BFL_SIG_MAX];
	unsigned int i;
	bool seen = false;

	/* c2sp.org/signed-note, "Signatures": a signature counts as the
	 * key's only if both its name and its key ID are the key's; any
	 * other is ignored, whatever its size.  One by the key that does
	 * not verify rejects the note. */
	for (i = 0; i < n->nsig; i++) {
		const struct bfl_note_sig *s = &n->sig[i];

		if (s->key_id != k->key_id || s->name_len != klen ||
		    memcmp(s->name, k->name, klen))
			continue;
		seen = true;
		if (s->sig_len > BFL_SIG_MAX ||
		    bfl_b64_decode(s->b64, s->b64_len, raw, sizeof(raw), &rawlen) ||
		    bfl_verify_sig(k->pk, n->text, n->text_len, raw + 4, rawlen - 4))
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
