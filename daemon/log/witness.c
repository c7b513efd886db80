// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Witnessing formats (witness.h): the tlog-witness add-checkpoint request
 * body and tlog-cosignature v1 (Ed25519) cosignatures.  The parser runs
 * on what a network peer sent: every line is checked before anything is
 * kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "witness.h"

#define EMDASH "\xe2\x80\x94"
#define COSIG_HEADER "cosignature/v1\n"

/* ------------------------------------------------ add-checkpoint body -- */

int bfl_wit_request_format(u64 old, const bfl_hash *proof, unsigned int n,
			   const char *note, size_t note_len, char *out,
			   size_t cap, size_t *len)
{
	size_t o;
	unsigned int i;
	int k;

	if (n > BFL_WIT_PROOF_MAX || !note || !note_len ||
	    note_len > BFL_WIT_NOTE_MAX)
		return -EINVAL;
	k = snprintf(out, cap, "old %llu\n", (unsigned long long)old);
	if (k < 0 || (size_t)k >= cap)
		return -ENOSPC;
	o = (size_t)k;
	for (i = 0; i < n; i++) {
		if (o + 46 > cap)
			return -ENOSPC;
		o += bfl_b64_encode(proof[i], BFL_HASH_SIZE, out + o);
		out[o++] = '\n';
	}
	if (o + 1 + note_len > cap)
		return -ENOSPC;
	out[o++] = '\n';
	memcpy(out + o, note, note_len);
	o += note_len;
	if (o < cap)
		out[o] = 0;
	*len = o;
	return 0;
}

int bfl_wit_request_parse(const char *body, size_t len,
			  struct bfl_wit_request *r, struct bfl_err *e)
{
	const char *p = body, *end = body + len, *nl;
	struct bfl_note *note;
	size_t ll, got;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > BFL_WIT_BODY_MAX)
		return bfl_errf(e, -EBADMSG, "request body of %zu bytes is too large (at most %d)",
				len, BFL_WIT_BODY_MAX);
	nl = memchr(p, '\n', len);
	if (!nl)
		return bfl_errf(e, -EBADMSG, "no old size line");
	ll = (size_t)(nl - p);
	if (ll < 5 || memcmp(p, "old ", 4) || bfl_parse_u64(p + 4, ll - 4, &r->old) ||
	    r->old > INT64_MAX)
		return bfl_errf(e, -EBADMSG,
				"the first line is not \"old <decimal size>\"");
	p = nl + 1;
	for (;;) {
		u8 h[BFL_HASH_SIZE + 3];

		nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		if (!nl)
			return bfl_errf(e, -EBADMSG,
					"no empty line before the checkpoint");
		ll = (size_t)(nl - p);
		if (ll == 0)
			break;
		if (r->nproof == BFL_WIT_PROOF_MAX)
			return bfl_errf(e, -EBADMSG, "more than %d consistency proof lines",
					BFL_WIT_PROOF_MAX);
		if (ll != 44 || bfl_b64_decode(p, ll, h, sizeof(h), &got) ||
		    got != BFL_HASH_SIZE)
			return bfl_errf(e, -EBADMSG,
					"consistency proof line %u is not the base64 of a 32-byte hash",
					r->nproof + 1);
		memcpy(r->proof[r->nproof++], h, BFL_HASH_SIZE);
		p = nl + 1;
	}
	p = nl + 1;
	r->note = p;
	r->note_len = (size_t)(end - p);
	if (r->note_len == 0)
		return bfl_errf(e, -EBADMSG, "no checkpoint after the empty line");
	if (r->note_len > BFL_WIT_NOTE_MAX)
		return bfl_errf(e, -EBADMSG, "checkpoint of %zu bytes is too large (at most %d)",
				r->note_len, BFL_WIT_NOTE_MAX);
	note = malloc(sizeof(*note));
	if (!note)
		return bfl_errf(e, -ENOMEM, "out of memory");
	rc = bfl_note_parse(r->note, r->note_len, note, e);
	free(note);
	if (rc)
		return bfl_rewrap(e, -EBADMSG, "checkpoint");
	return 0;
}

/* -------------------------------------------------- cosignatures -- */

static u32 cosig_key_id(const char *name, const u8 pub[32])
{
	size_t n = strlen(name);
	u8 head[BFL_NAME_MAX + 2], h[BFL_HASH_SIZE], tail[33];

	memcpy(head, name, n);
	head[n] = '\n';
	tail[0] = BFL_COSIG_TYPE;
	memcpy(tail + 1, pub, 32);
	bfl_sha256(head, n + 1, tail, sizeof(tail), h);
	return (u32)h[0] << 24 | (u32)h[1] << 16 | (u32)h[2] << 8 | h[3];
}

int bfl_cosigner_init(struct bfl_cosigner *c, const char *name,
		      EVP_PKEY *pk, struct bfl_err *e)
{
	struct bfl_err ne;
	size_t rawlen = sizeof(c->pub);

	memset(c, 0, sizeof(*c));
	if (bfl_check_key_name(name, &ne))
		return bfl_errf(e, -EINVAL, "bad witness name \"%s\": %s", name, ne.msg);
	if (!pk || !EVP_PKEY_is_a(pk, "ED25519") ||
	    EVP_PKEY_get_raw_public_key(pk, c->pub, &rawlen) != 1 || rawlen != 32)
		return bfl_errf(e, -EINVAL, "the witness key is not an Ed25519 key");
	if (EVP_PKEY_up_ref(pk) != 1)
		return bfl_errf(e, -ENOMEM, "cannot reference the key");
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->pk = pk;
	c->key_id = cosig_key_id(c->name, c->pub);
	return 0;
}

void bfl_cosigner_free(struct bfl_cosigner *c)
{
	EVP_PKEY_free(c->pk);
	memset(c, 0, sizeof(*c));
}

int bfl_cosigner_vkey(const struct bfl_cosigner *c, char *out, size_t cap)
{
	u8 raw[33];
	char b64[48];
	int k;

	raw[0] = BFL_COSIG_TYPE;
	memcpy(raw + 1, c->pub, 32);
	bfl_b64_encode(raw, sizeof(raw), b64);
	k = snprintf(out, cap, "%s+%08x+%s", c->name, c->key_id, b64);
	if (k < 0 || (size_t)k >= cap)
		return -ENOSPC;
	return k;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int bfl_cosigner_from_vkey(struct bfl_cosigner *c, const char *vkey,
			   struct bfl_err *e)
{
	const char *p1, *p2;
	char name[BFL_NAME_MAX + 1];
	u8 raw[36];
	size_t nlen, got, i;
	u32 id = 0;
	EVP_PKEY *pk;
	int r;

	memset(c, 0, sizeof(*c));
	p1 = strchr(vkey, '+');
	p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	/* The name has no '+'; the base64 key may. */
	if (!p1 || !p2)
		return bfl_errf(e, -EINVAL,
				"a verifier key is <name>+<key ID>+<base64 key>");
	nlen = (size_t)(p1 - vkey);
	if (nlen == 0 || nlen > BFL_NAME_MAX)
		return bfl_errf(e, -EINVAL, "verifier key: bad name length");
	memcpy(name, vkey, nlen);
	name[nlen] = 0;
	if (p2 - p1 - 1 != 8)
		return bfl_errf(e, -EINVAL, "verifier key: the key ID is not 8 hex digits");
	for (i = 0; i < 8; i++) {
		int v = hexval(p1[1 + i]);

		if (v < 0)
			return bfl_errf(e, -EINVAL,
					"verifier key: the key ID is not 8 hex digits");
		id = id << 4 | (u32)v;
	}
	if (bfl_b64_decode(p2 + 1, strlen(p2 + 1), raw, sizeof(raw), &got) ||
	    got != 33)
		return bfl_errf(e, -EINVAL,
				"verifier key: the key is not base64 of a type byte and 32 bytes");
	if (raw[0] != BFL_COSIG_TYPE)
		return bfl_errf(e, -EINVAL,
				"verifier key of type 0x%02x, not 0x04 (an Ed25519 cosignature key)",
				raw[0]);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	if (!pk)
		return bfl_errf(e, -EINVAL, "verifier key: not an Ed25519 public key");
	r = bfl_cosigner_init(c, name, pk, e);
	EVP_PKEY_free(pk);
	if (r)
		return r;
	if (c->key_id != id) {
		bfl_cosigner_free(c);
		return bfl_errf(e, -EINVAL,
				"verifier key: key ID %08x is not the key's (%08x)", id,
				cosig_key_id(name, raw + 1));
	}
	return 0;
}

int bfl_cosig_message(u64 t, const char *text, size_t text_len, u8 **msg,
		      size_t *len)
{
	char head[64];
	int k = snprintf(head, sizeof(head), COSIG_HEADER "time %llu\n",
			 (unsigned long long)t);
	u8 *m = malloc((size_t)k + text_len + 1);

	if (!m)
		return -ENOMEM;
	memcpy(m, head, (size_t)k);
	memcpy(m + k, text, text_len);
	*msg = m;
	*len = (size_t)k + text_len;
	return 0;
}

int bfl_cosign(const struct bfl_cosigner *c, const char *text,
	       size_t text_len, u64 t, char *out, size_t cap, size_t *len,
	       struct bfl_err *e)
{
	u8 sig[BFL_COSIG_SIG_LEN], raw[32], *msg;
	size_t ml, sl = 64, rl = sizeof(raw);
	int r, i;

	if (!c->pk || EVP_PKEY_get_raw_private_key(c->pk, raw, &rl) != 1)
		return bfl_errf(e, -EINVAL, "no private key for witness %s", c->name);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (t > BFL_COSIG_TIME_MAX)
		return bfl_errf(e, -EINVAL, "cosignature time past 2^63-1");
	if (bfl_cosig_message(t, text, text_len, &msg, &ml))
		return bfl_errf(e, -ENOMEM, "out of memory");
	for (i = 0; i < 8; i++)
		sig[i] = (u8)(t >> (56 - 8 * i));
	r = bfl_sign(c->pk, msg, ml, sig + 8, &sl);
	free(msg);
	if (r || sl != 64)
		return bfl_errf(e, -EIO, "Ed25519 signing failed");
	r = bfl_note_add_sig(out, cap, len, c->name, c->key_id, sig, sizeof(sig));
	if (r)
		return bfl_errf(e, r, "the cosignature line does not fit");
	return 0;
}

int bfl_cosig_verify(const struct bfl_note *n, const struct bfl_cosigner *c,
		     u64 *t, struct bfl_err *e)
{
	size_t klen = strlen(c->name), rawlen, ml;
	u8 raw[4 + BFL_COSIG_SIG_LEN + 3], *msg;
	unsigned int i;
	bool seen = false;
	u64 ts, latest = 0;
	int k, r;

	for (i = 0; i < n->nsig; i++) {
		const struct bfl_note_sig *s = &n->sig[i];

		if (s->key_id != c->key_id || s->name_len != klen ||
		    memcmp(s->name, c->name, klen))
			continue;
		seen = true;
		if (s->sig_len != BFL_COSIG_SIG_LEN ||
		    bfl_b64_decode(s->b64, s->b64_len, raw, sizeof(raw), &rawlen) ||
		    rawlen != 4 + BFL_COSIG_SIG_LEN)
			return bfl_errf(e, -EKEYREJECTED,
					"cosignature by %s is not a timestamp and an Ed25519 signature",
					c->name);
		for (ts = 0, k = 0; k < 8; k++)
			ts = ts << 8 | raw[4 + k];
		if (ts > BFL_COSIG_TIME_MAX)
			return bfl_errf(e, -EKEYREJECTED,
					"cosignature by %s has a time past 2^63-1", c->name);
		if (bfl_cosig_message(ts, n->text, n->text_len, &msg, &ml))
			return bfl_errf(e, -ENOMEM, "out of memory");
		r = bfl_verify_sig(c->pk, msg, ml, raw + 12, 64);
		free(msg);
		if (r)
			return bfl_errf(e, -EKEYREJECTED,
					"cosignature by %s does not verify", c->name);
		if (ts > latest)
			latest = ts;
	}
	if (!seen)
		return bfl_errf(e, -ENOKEY, "no cosignature by %s (key ID %08x)",
				c->name, c->key_id);
	if (t)
		*t = latest;
	return 0;
}

int bfl_cosig_attach(const char *note, size_t note_len, const char *resp,
		     size_t resp_len, const struct bfl_cosigner *c, u64 *t,
		     char **out, size_t *out_len, struct bfl_err *e)
{
	struct bfl_note *n = NULL;
	char *all = NULL, *res = NULL;
	size_t klen = strlen(c->name), o, i;
	int r;

	*out = NULL;
	if (!resp_len || resp[resp_len - 1] != '\n' || memchr(resp, 0, resp_len) ||
	    resp_len > BFL_NOTE_MAX || note_len > BFL_NOTE_MAX)
		return bfl_errf(e, -EBADMSG,
				"the answer is not signature lines ending in a newline");
	all = malloc(note_len + resp_len + 1);
	res = malloc(note_len + resp_len + 1);
	n = malloc(sizeof(*n));
	if (!all || !res || !n) {
		r = bfl_errf(e, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(all, note, note_len);
	memcpy(all + note_len, resp, resp_len);
	all[note_len + resp_len] = 0;
	r = bfl_note_parse(all, note_len + resp_len, n, e);
	if (r) {
		r = bfl_rewrap(e, -EBADMSG, "checkpoint with the answer");
		goto out;
	}
	if ((size_t)(n->sig[0].name - 4 - all) > note_len) {
		r = bfl_errf(e, -EBADMSG, "the checkpoint has no signature");
		goto out;
	}
	r = bfl_cosig_verify(n, c, t, e);
	if (r)
		goto out;
	/* The checkpoint, then the answer's lines that are the witness's. */
	memcpy(res, note, note_len);
	o = note_len;
	for (i = 0; i < n->nsig; i++) {
		const struct bfl_note_sig *s = &n->sig[i];
		const char *line = s->name - 4;
		size_t ll = 4 + s->name_len + 1 + s->b64_len + 1;

		if ((size_t)(line - all) < note_len || s->key_id != c->key_id ||
		    s->name_len != klen || memcmp(s->name, c->name, klen))
			continue;
		memcpy(res + o, line, ll);
		o += ll;
	}
	res[o] = 0;
	*out = res;
	*out_len = o;
	res = NULL;
	r = 0;
out:
	free(all);
	free(res);
	free(n);
	return r;
}
