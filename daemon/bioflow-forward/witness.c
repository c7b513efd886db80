// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client's half of C2SP tlog-witness add-checkpoint, and C2SP
 * tlog-cosignature (Ed25519, signature type 0x04) checking.
 *
 * Request body: "old <size>\n" (decimal, no leading zeros), one line per
 * consistency proof hash (base64, at most 63), an empty line, the
 * checkpoint note.
 *
 * Answers: 200 with one or more note signature lines ("— <name>
 * <base64>\n") that are cosignatures of the checkpoint; 409 with the
 * witness's size ("<size>\n", Content-Type text/x.tlog.size); 503 (this
 * project's collector: the records are not ingested yet); anything else
 * is a refusal.
 *
 * A cosignature by key K named N: base64(key ID || timestamp (u64 BE) ||
 * Ed25519 signature) where key ID = SHA-256(N || "\n" || 0x04 || K)[:4],
 * over "cosignature/v1\ntime <timestamp>\n" and the checkpoint's body
 * (its text up to the blank line, final newline included).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fwd.h"

#define COSIG_TYPE_ED25519	0x04
#define COSIG_SIG_LEN		(8 + 64)

struct fwd_witness_key {
	char name[BFL_NAME_MAX + 1];
	u32 key_id;
	EVP_PKEY *pk;
};

char *fwd_witness_body(u64 old, const bfl_hash *proof, unsigned int n,
		       const char *note, size_t note_len, size_t *len)
{
	size_t cap = 32 + (size_t)n * 46 + note_len, l;
	char *b = malloc(cap);
	unsigned int i;

	if (!b || n > FWD_PROOF_LINES_MAX)
		return free(b), NULL;
	l = (size_t)snprintf(b, cap, "old %llu\n", (unsigned long long)old);
	for (i = 0; i < n; i++) {
		l += bfl_b64_encode(proof[i], BFL_HASH_SIZE, b + l);
		b[l++] = '\n';
	}
	b[l++] = '\n';
	memcpy(b + l, note, note_len);
	*len = l + note_len;
	return b;
}

static u32 cosig_key_id(const char *name, const u8 pub[32])
{
	u8 md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	const u8 t[2] = { '\n', COSIG_TYPE_ED25519 };

	memset(md, 0, sizeof(md));
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(c, name, strlen(name)) && EVP_DigestUpdate(c, t, 2) &&
	    EVP_DigestUpdate(c, pub, 32))
		EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	return (u32)md[0] << 24 | (u32)md[1] << 16 | (u32)md[2] << 8 | md[3];
}

struct fwd_witness_key *fwd_witness_key_load(const char *path, char *err,
					     size_t errcap)
{
	struct fwd_witness_key *k = calloc(1, sizeof(*k));
	char *s = NULL, *p1, *p2, *end;
	struct bfl_err e;
	size_t len, rawlen;
	u8 *buf = NULL, raw[33];
	unsigned long id;

	if (!k) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	if (bfl_read_file(AT_FDCWD, path, 4096, &buf, &len, &e)) {
		snprintf(err, errcap, "%s", e.msg);
		goto fail;
	}
	s = (char *)buf;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = 0;
	if (strlen(s) != len || memchr(s, '\n', len))
		goto bad;
	/* name+hex8+base64: a key name has no '+', base64 may. */
	p1 = strchr(s, '+');
	if (!p1 || p1 == s)
		goto bad;
	*p1++ = 0;
	p2 = strchr(p1, '+');
	if (!p2)
		goto bad;
	*p2++ = 0;
	if (strlen(p1) != 8 || strspn(p1, "0123456789abcdef") != 8)
		goto bad;
	id = strtoul(p1, &end, 16);
	if (*end || strlen(s) > BFL_NAME_MAX || !bfl_valid_key_name(s))
		goto bad;
	if (bfl_b64_decode(p2, strlen(p2), raw, sizeof(raw), &rawlen) || rawlen != 33 ||
	    raw[0] != COSIG_TYPE_ED25519) {
		snprintf(err, errcap, "not an Ed25519 cosignature key (signed-note type 0x04)");
		goto fail;
	}
	snprintf(k->name, sizeof(k->name), "%s", s);
	k->key_id = cosig_key_id(k->name, raw + 1);
	if (k->key_id != (u32)id) {
		snprintf(err, errcap, "key ID %s is not the key's (%08x)", p1, k->key_id);
		goto fail;
	}
	k->pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
	if (!k->pk) {
		snprintf(err, errcap, "not an Ed25519 public key");
		goto fail;
	}
	free(buf);
	return k;
bad:
	snprintf(err, errcap, "not a verifier key \"name+keyid+base64\"");
fail:
	free(buf);
	fwd_witness_key_free(k);
	return NULL;
}

void fwd_witness_key_free(struct fwd_witness_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

/* A printable excerpt of a body for the log. */
static void excerpt(const char *b, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 2 < cap && i < 200; i++)
		out[o++] = b[i] >= ' ' && b[i] <= '~' ? b[i] : (b[i] == '\n' ? '|' : '?');
	out[o] = 0;
}

static int verify_line(const struct fwd_witness_key *k, const struct bfl_note *note,
		       const struct bfl_note_sig *s)
{
	u8 raw[4 + COSIG_SIG_LEN + 1];
	char head[64], *msg;
	size_t rl, hl;
	u64 ts;
	int ok;

	if (bfl_b64_decode(s->b64, s->b64_len, raw, sizeof(raw), &rl) ||
	    rl != 4 + COSIG_SIG_LEN)
		return -1;
	ts = 0;
	for (hl = 4; hl < 12; hl++)
		ts = ts << 8 | raw[hl];
	if (ts > INT64_MAX)
		return -1;
	hl = (size_t)snprintf(head, sizeof(head), "cosignature/v1\ntime %llu\n",
			      (unsigned long long)ts);
	msg = malloc(hl + note->text_len);
	if (!msg)
		return -1;
	memcpy(msg, head, hl);
	memcpy(msg + hl, note->text, note->text_len);
	ok = bfl_verify_sig(k->pk, msg, hl + note->text_len, raw + 12, 64);
	free(msg);
	return ok;
}

enum fwd_witness_verdict fwd_witness_answer(const struct fwd_http_resp *resp,
					    const char *note, size_t note_len,
					    const struct fwd_witness_key *key,
					    u64 *size, char *cosig,
					    size_t cosig_cap, size_t *cosig_len,
					    char *err, size_t errcap)
{
	char ex[256];
	struct bfl_note *n = NULL, *orig = NULL;
	struct bfl_err e;
	char *all = NULL;
	unsigned int i, good = 0;
	size_t out = 0;
	enum fwd_witness_verdict v = FWD_W_REFUSED;

	excerpt(resp->body, resp->len, ex, sizeof(ex));
	*cosig_len = 0;
	if (resp->status == 503)
		return FWD_W_NOT_YET;
	if (resp->status == 409) {
		const char *nl = memchr(resp->body, '\n', resp->len);

		if (strncmp(resp->ctype, "text/x.tlog.size", 16) ||
		    (resp->ctype[16] && resp->ctype[16] != ';' && resp->ctype[16] != ' ')) {
			snprintf(err, errcap, "409 of type \"%s\", not text/x.tlog.size: %s",
				 resp->ctype, ex);
			return FWD_W_REFUSED;
		}
		if (!nl || (size_t)(nl - resp->body) + 1 != resp->len ||
		    bfl_parse_u64(resp->body, (size_t)(nl - resp->body), size)) {
			snprintf(err, errcap, "409 without a size line: %s", ex);
			return FWD_W_REFUSED;
		}
		return FWD_W_CONFLICT;
	}
	if (resp->status != 200) {
		snprintf(err, errcap, "HTTP status %d: %s", resp->status, ex);
		return FWD_W_REFUSED;
	}
	/* The lines appended to the note must parse as its signatures. */
	if (!resp->len || resp->body[resp->len - 1] != '\n' ||
	    strncmp(resp->body, "\xe2\x80\x94 ", 4) || memchr(resp->body, 0, resp->len)) {
		snprintf(err, errcap, "200 without cosignature lines: %s", ex);
		return FWD_W_REFUSED;
	}
	all = malloc(note_len + resp->len);
	n = malloc(sizeof(*n));
	orig = malloc(sizeof(*orig));
	if (!all || !n || !orig) {
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	memcpy(all, note, note_len);
	memcpy(all + note_len, resp->body, resp->len);
	if (bfl_note_parse(note, note_len, orig, &e) ||
	    bfl_note_parse(all, note_len + resp->len, n, &e)) {
		snprintf(err, errcap, "cosignature lines: %s", e.msg);
		goto out;
	}
	for (i = orig->nsig; i < n->nsig; i++) {
		const struct bfl_note_sig *s = &n->sig[i];
		const char *line = s->name - 4;	/* "— " */
		size_t ll = (size_t)(s->b64 + s->b64_len + 1 - line);

		if (key) {
			if (s->name_len != strlen(key->name) ||
			    memcmp(s->name, key->name, s->name_len) || s->key_id != key->key_id)
				continue;	/* another key's: ignored */
			if (verify_line(key, n, s)) {
				snprintf(err, errcap, "a cosignature by %s does not verify", key->name);
				goto out;
			}
		}
		if (out + ll > cosig_cap) {
			snprintf(err, errcap, "cosignatures too long");
			goto out;
		}
		memcpy(cosig + out, line, ll);
		out += ll;
		good++;
	}
	if (!good) {
		snprintf(err, errcap, key ? "no cosignature by %s" : "no cosignature%s",
			 key ? key->name : "");
		goto out;
	}
	*cosig_len = out;
	v = FWD_W_COSIGNED;
out:
	free(all);
	free(n);
	free(orig);
	return v;
}
