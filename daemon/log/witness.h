/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Witnessing (docs/forwarding.md, "Witness"): the two formats a log and a
 * witness exchange, shared by the forwarder (client) and the collector
 * (witness).
 *
 * c2sp.org/tlog-witness, add-checkpoint: the request body is
 *
 *   old <size>\n                 decimal, no leading zeros ("0" for none)
 *   <base64 of a 32-byte hash>\n one per consistency proof hash, 0..63
 *   \n                           an empty line
 *   <the checkpoint note>        a signed note, here at most 16 KiB
 *
 * and a 200 answer is one or more signature lines, the witness's
 * cosignatures of the checkpoint.
 *
 * c2sp.org/tlog-cosignature, Ed25519 (cosignature/v1): a signed-note
 * signature line by the witness,
 *
 *   — <witness name> base64(key ID (4) || timestamp (8, big-endian) ||
 *                           Ed25519 signature (64))
 *
 * over the message "cosignature/v1\ntime <timestamp>\n" followed by the
 * checkpoint's note text (all of it up to the blank line, final newline
 * included; no signature lines).  Key ID: SHA-256(name || 0x0A || 0x04
 * || 32-byte public key)[:4].  A witness's public key travels as a
 * signed-note verifier key: "<name>+<8 hex digits of the key ID>+
 * base64(0x04 || public key)".
 */
#ifndef _BIOFLOW_WITNESS_H
#define _BIOFLOW_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "bflog.h"

#define BFL_WIT_PROOF_MAX	63	/* tlog-witness: at most 63 lines */
#define BFL_WIT_NOTE_MAX	BFL_CPE_NOTE_MAX	/* the checkpoint in a request */
/* The largest request body: "old " + 20 digits + newline, the proof
 * lines (44 + 1 each), the empty line, the note. */
#define BFL_WIT_BODY_MAX	(26 + BFL_WIT_PROOF_MAX * 45 + 1 + BFL_WIT_NOTE_MAX)
#define BFL_COSIG_TYPE		0x04	/* signed-note type: Ed25519 cosignature/v1 */
#define BFL_COSIG_SIG_LEN	(8 + 64)	/* timestamp || signature */
/* One cosignature line: em dash, space, name, space, base64 of 76 bytes,
 * newline. */
#define BFL_COSIG_LINE_MAX	(4 + BFL_NAME_MAX + 1 + 104 + 2)
#define BFL_VKEY_MAX		(BFL_NAME_MAX + 1 + 8 + 1 + 44 + 1)
#define BFL_COSIG_TIME_MAX	INT64_MAX	/* timestamps never exceed 2^63-1 */

/* ------------------------------------------------ add-checkpoint body -- */

struct bfl_wit_request {
	u64 old;			/* the old size line */
	unsigned int nproof;
	bfl_hash proof[BFL_WIT_PROOF_MAX];
	const char *note;		/* the checkpoint note, into the body */
	size_t note_len;
};

/*
 * Writes a request body into @out (capacity @cap); *len its length (no
 * NUL counted; one is written if it fits).  -EINVAL: more than 63 proof
 * hashes, an empty note or one larger than BFL_WIT_NOTE_MAX; -ENOSPC:
 * @cap too small (BFL_WIT_BODY_MAX + 1 is always enough).
 */
int bfl_wit_request_format(u64 old, const bfl_hash *proof, unsigned int n,
			   const char *note, size_t note_len, char *out,
			   size_t cap, size_t *len);
/*
 * Parses a request body strictly: the old line ("old", one space, a
 * decimal without sign or leading zeros), each proof line exactly the
 * canonical base64 of 32 bytes, at most 63 of them, the empty line, then
 * a note of 1..BFL_WIT_NOTE_MAX bytes that parses as a signed note
 * (bfl_note_parse(): grammar only, no signature checked).  @r points
 * into @body.  0 or -EBADMSG with @e saying why.  What the witness then
 * checks (old <= size, an empty proof for old 0, the proof itself) is
 * not the codec's business.
 */
int bfl_wit_request_parse(const char *body, size_t len,
			  struct bfl_wit_request *r, struct bfl_err *e);

/* -------------------------------------------------- cosignatures -- */

/* A witness's Ed25519 key under its name: a signer when @pk holds the
 * private key, else a verifier only. */
struct bfl_cosigner {
	char name[BFL_NAME_MAX + 1];
	u32 key_id;		/* SHA-256(name || 0x0A || 0x04 || pub)[:4] */
	u8 pub[32];
	EVP_PKEY *pk;		/* owned */
};

/* @pk must be Ed25519 (a reference is taken); the name a key name. */
int bfl_cosigner_init(struct bfl_cosigner *c, const char *name,
		      EVP_PKEY *pk, struct bfl_err *e);
void bfl_cosigner_free(struct bfl_cosigner *c);
/* The signed-note verifier key "<name>+<keyid hex>+base64(0x04 || pub)";
 * returns its length or -ENOSPC (BFL_VKEY_MAX is enough). */
int bfl_cosigner_vkey(const struct bfl_cosigner *c, char *out, size_t cap);
/* Parses a verifier key of type 0x04 (an Ed25519 cosignature key): the
 * name a key name, the key ID 8 lower- or upper-case hex digits equal to
 * the one recomputed from the name and key, the key canonical base64 of
 * 33 bytes.  -EINVAL with @e saying why. */
int bfl_cosigner_from_vkey(struct bfl_cosigner *c, const char *vkey,
			   struct bfl_err *e);

/* The signed message: "cosignature/v1\ntime <t>\n" || text.  malloc'ed;
 * -ENOMEM. */
int bfl_cosig_message(u64 t, const char *text, size_t text_len, u8 **msg,
		      size_t *len);
/*
 * Cosigns the checkpoint whose note text (the signed part, as
 * bfl_note_parse() gives it) is @text at time @t: appends the signature
 * line, newline included, to @out at *len (capacity @cap).  -EINVAL: no
 * private key or @t past 2^63-1; -ENOSPC; -EIO signing failed.
 */
int bfl_cosign(const struct bfl_cosigner *c, const char *text,
	       size_t text_len, u64 t, char *out, size_t cap, size_t *len,
	       struct bfl_err *e);
/*
 * Checks the cosignatures by @c on @n (lines whose name and key ID are
 * @c's; every other line is ignored, whatever its size): 0 if there is
 * one and every one verifies (each exactly 76 bytes after decoding, a
 * timestamp not past 2^63-1; *t gets the latest timestamp, if @t),
 * -ENOKEY if there is none, -EKEYREJECTED if one does not verify.
 */
int bfl_cosig_verify(const struct bfl_note *n, const struct bfl_cosigner *c,
		     u64 *t, struct bfl_err *e);
/*
 * A witness's 200 answer, checked the way c2sp.org/tlog-witness tells
 * a client to: @resp (the body: one or more signature lines, each
 * ending in a newline) is appended to the checkpoint @note, the result
 * parsed as a note and its cosignature by @c verified.  On success
 * *out (malloc'ed, *out_len bytes, NUL after them) is the checkpoint
 * with the witness's cosignature lines appended (only those: other
 * lines of the answer are dropped); *t the cosignature's time.
 */
int bfl_cosig_attach(const char *note, size_t note_len, const char *resp,
		     size_t resp_len, const struct bfl_cosigner *c, u64 *t,
		     char **out, size_t *out_len, struct bfl_err *e);

#endif /* _BIOFLOW_WITNESS_H */
