// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the witnessing formats (daemon/log/witness.c): the
 * tlog-witness add-checkpoint body (round trip, and every malformed line
 * a network peer could send refused) and tlog-cosignature v1 cosignatures
 * and verifier keys, against known answers computed independently with
 * Go's crypto/ed25519 and crypto/sha256 from the C2SP texts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktap.h"
#include "witness.h"

/* The known answers: Ed25519 seed 0x01..0x20, name witness.example/w1,
 * time 1679315147, the checkpoint text of c2sp.org/tlog-cosignature's
 * example. */
#define W_NAME "witness.example/w1"
#define W_TIME 1679315147ull
#define CP_TEXT "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
#define KAT_VKEY "witness.example/w1+468d99bb+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk"
#define KAT_LINE "\xe2\x80\x94 witness.example/w1 Ro2ZuwAAAABkGFDLQB2dbiQ7rPMIDjq/twq5Ixt42T+" \
	"awjiYS4+fxrnLnI31x5abVjZlhDVvZAcRRLyAiG4oQlhTgi4DsxiPwiDaDg==\n"
/* A log signature line (any key: the cosignature checks ignore it). */
#define LOG_SIG "\xe2\x80\x94 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+" \
	"ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
#define CP_NOTE CP_TEXT "\n" LOG_SIG
/* 30 bytes of 0x11 in base64 */
#define R10 "ERERERERERERERERERERERERERERERERERERERER"

static EVP_PKEY *seed_key(u8 first)
{
	u8 seed[32];
	int i;

	for (i = 0; i < 32; i++)
		seed[i] = (u8)(first + i);
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

static int parse_refused(const char *body)
{
	static struct bfl_wit_request r;
	struct bfl_err e = { 0 };

	return bfl_wit_request_parse(body, strlen(body), &r, &e) == -EBADMSG;
}

static int verify_note(const char *buf, const struct bfl_cosigner *c, u64 *t)
{
	static struct bfl_note n;
	int r = bfl_note_parse(buf, strlen(buf), &n, NULL);

	return r ? r : bfl_cosig_verify(&n, c, t, NULL);
}

int main(void)
{
	static char note[BFL_NOTE_MAX], body[BFL_WIT_BODY_MAX + 64], big[BFL_WIT_NOTE_MAX + 64];
	static struct bfl_wit_request req;
	struct bfl_cosigner w, w2, v;
	struct bfl_err e = { 0 };
	char vkey[BFL_VKEY_MAX], line[BFL_COSIG_LINE_MAX], *att = NULL;
	bfl_hash proof[BFL_WIT_PROOF_MAX + 1];
	size_t len = 0, n, attlen;
	EVP_PKEY *k1 = seed_key(1), *k2 = seed_key(7);
	u64 t = 0;
	int i, ok;

	ktap_plan(27);
	ktap_require(k1 && k2 && !bfl_cosigner_init(&w, W_NAME, k1, &e) &&
		     !bfl_cosigner_init(&w2, "witness.example/w2", k2, &e),
		     "cosigners from Ed25519 keys");

	/* Known answers. */
	ok = bfl_cosigner_vkey(&w, vkey, sizeof(vkey)) > 0 && !strcmp(vkey, KAT_VKEY);
	if (!ok)
		ktap_diag("vkey %s", vkey);
	ktap_check(ok, "verifier key (name, key ID with type 0x04, base64(0x04 || key)) is the known answer");
	len = 0;
	ok = !bfl_cosign(&w, CP_TEXT, strlen(CP_TEXT), W_TIME, line, sizeof(line), &len, &e) &&
	     len == strlen(KAT_LINE) && !memcmp(line, KAT_LINE, len);
	if (!ok)
		ktap_diag("line %.*s", (int)len, line);
	ktap_check(ok, "cosignature line over cosignature/v1, time, checkpoint text is the known answer");

	/* Verifying. */
	snprintf(note, sizeof(note), "%s%s", CP_NOTE, KAT_LINE);
	ktap_check(verify_note(note, &w, &t) == 0 && t == W_TIME,
		   "the known cosignature verifies; its time is read back");
	ktap_check(verify_note(CP_NOTE, &w, NULL) == -ENOKEY,
		   "a checkpoint without the witness's line: ENOKEY");
	ktap_check(verify_note(note, &w2, NULL) == -ENOKEY,
		   "another witness's key finds no cosignature (the line is ignored)");
	snprintf(note, sizeof(note), "%s", CP_NOTE KAT_LINE);
	note[strlen(CP_TEXT) - 3] ^= 1;	/* the root hash */
	ktap_check(verify_note(note, &w, NULL) == -EKEYREJECTED,
		   "the checkpoint text altered: EKEYREJECTED");
	snprintf(note, sizeof(note), "%s%s", CP_NOTE, KAT_LINE);
	/* "AABkGFDL" holds the timestamp's last bytes (64 18 50 cb); "GFDK"
	 * makes it ...50 ca. */
	{
		char *p = strstr(note, "AABkGFDL");

		ok = p != NULL;
		if (p)
			p[7] = 'K';
	}
	ktap_check(ok && verify_note(note, &w, NULL) == -EKEYREJECTED,
		   "the timestamp altered: EKEYREJECTED (the time is signed)");

	/* A time past 2^63-1 refused, signed or not. */
	{
		u8 raw[72], *msg;
		size_t ml, sl = 64;
		u64 bad = (u64)INT64_MAX + 1;

		for (i = 0; i < 8; i++)
			raw[i] = (u8)(bad >> (56 - 8 * i));
		ok = !bfl_cosig_message(bad, CP_TEXT, strlen(CP_TEXT), &msg, &ml) &&
		     !bfl_sign(k1, msg, ml, raw + 8, &sl);
		free(msg);
		len = strlen(CP_NOTE);
		memcpy(note, CP_NOTE, len);
		ok = ok && !bfl_note_add_sig(note, sizeof(note), &len, W_NAME, w.key_id, raw, 72);
		note[len] = 0;
		ktap_check(ok && verify_note(note, &w, NULL) == -EKEYREJECTED &&
			   bfl_cosign(&w, CP_TEXT, strlen(CP_TEXT), bad, line, sizeof(line), &n,
				      NULL) == -EINVAL,
			   "a time past 2^63-1: refused by the verifier and the signer");
	}

	/* Verifier keys. */
	ktap_check(!bfl_cosigner_from_vkey(&v, KAT_VKEY, &e) && v.key_id == w.key_id &&
		   !memcmp(v.pub, w.pub, 32) && !strcmp(v.name, W_NAME),
		   "the verifier key parses back to the witness's name, key ID and key");
	snprintf(note, sizeof(note), "%s%s", CP_NOTE, KAT_LINE);
	ktap_check(verify_note(note, &v, &t) == 0 && t == W_TIME &&
		   bfl_cosign(&v, CP_TEXT, strlen(CP_TEXT), 1, line, sizeof(line), &n, NULL) == -EINVAL,
		   "a verifier from a verifier key checks the cosignature and cannot sign");
	bfl_cosigner_free(&v);
	ok = bfl_cosigner_from_vkey(&v, "witness.example/w1+468d99bc+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk", NULL) == -EINVAL &&
	     bfl_cosigner_from_vkey(&v, "witness.example/w1+468D99BB+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk", NULL) == 0;
	bfl_cosigner_free(&v);
	ktap_check(ok, "a verifier key whose key ID is not the key's refused (hex of any case accepted)");
	ktap_check(bfl_cosigner_from_vkey(&v, "witness.example/w1+4b9a0f9d+AXm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk", NULL) == -EINVAL,
		   "a verifier key of type 0x01 (a log's Ed25519 key) refused");
	ktap_check(bfl_cosigner_from_vkey(&v, "witness.example/w1+468d99bb+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJ", NULL) == -EINVAL &&
		   bfl_cosigner_from_vkey(&v, "witness.example/w1+468d99bb", NULL) == -EINVAL &&
		   bfl_cosigner_from_vkey(&v, "witness\xc2\xa0w1+468d99bb+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk", NULL) == -EINVAL,
		   "a verifier key cut short, without a key, or with a space in the name refused");

	/* The add-checkpoint body. */
	for (i = 0; i <= BFL_WIT_PROOF_MAX; i++)
		memset(proof[i], 0x11 * (i % 15 + 1), BFL_HASH_SIZE);
	snprintf(note, sizeof(note), "%s%s", CP_NOTE, KAT_LINE);
	ok = !bfl_wit_request_format(20852014, proof, 3, note, strlen(note), body, sizeof(body), &len) &&
	     !bfl_wit_request_parse(body, len, &req, &e) && req.old == 20852014 && req.nproof == 3 &&
	     !memcmp(req.proof, proof, 3 * BFL_HASH_SIZE) && req.note_len == strlen(note) &&
	     !memcmp(req.note, note, req.note_len) && !strncmp(body, "old 20852014\nERER", 17);
	ktap_check(ok, "request: old, three proof lines, the checkpoint round-trip");
	ok = !bfl_wit_request_format(0, NULL, 0, CP_NOTE, strlen(CP_NOTE), body, sizeof(body), &len) &&
	     !strncmp(body, "old 0\n\n" CP_TEXT, 7 + strlen(CP_TEXT)) &&
	     !bfl_wit_request_parse(body, len, &req, &e) && req.old == 0 && req.nproof == 0;
	ktap_check(ok, "request: old 0 and no proof: \"old 0\", the empty line, the checkpoint");
	ok = !bfl_wit_request_format(7, proof, BFL_WIT_PROOF_MAX, CP_NOTE, strlen(CP_NOTE), body,
				     sizeof(body), &len) &&
	     !bfl_wit_request_parse(body, len, &req, &e) && req.nproof == BFL_WIT_PROOF_MAX &&
	     bfl_wit_request_format(7, proof, BFL_WIT_PROOF_MAX + 1, CP_NOTE, strlen(CP_NOTE), body,
				    sizeof(body), &len) == -EINVAL;
	ktap_check(ok, "request: 63 proof lines accepted; 64 not formatted");
	/* 64 lines by hand. */
	n = (size_t)snprintf(body, sizeof(body), "old 7\n");
	for (i = 0; i < 64; i++) {
		n += bfl_b64_encode(proof[i], 32, body + n);
		body[n++] = '\n';
	}
	snprintf(body + n, sizeof(body) - n, "\n%s", CP_NOTE);
	ktap_check(parse_refused(body), "request: 64 proof lines refused");
	memset(big, 'a', sizeof(big));
	memcpy(big, CP_TEXT, strlen(CP_TEXT));
	n = BFL_WIT_NOTE_MAX + 1 - strlen(LOG_SIG) - 1;
	big[n - 1] = '\n';
	snprintf(big + n, sizeof(big) - n, "\n%s", LOG_SIG);
	snprintf(body, sizeof(body), "old 0\n\n%s", big);
	ok = strlen(big) == BFL_WIT_NOTE_MAX + 1 && parse_refused(body);
	big[n - 2] = '\n';	/* one byte less: fits */
	memmove(big + n - 1, big + n, strlen(big + n) + 1);
	snprintf(body, sizeof(body), "old 0\n\n%s", big);
	ok = ok && strlen(big) == BFL_WIT_NOTE_MAX && !parse_refused(body);
	ktap_check(ok, "request: a checkpoint of 16 KiB accepted, one byte more refused");
	ktap_check(parse_refused("old 01\n\n" CP_NOTE) && parse_refused("old -1\n\n" CP_NOTE) &&
		   parse_refused("old  1\n\n" CP_NOTE) && parse_refused("Old 1\n\n" CP_NOTE) &&
		   parse_refused("old\n\n" CP_NOTE) && parse_refused("old 1 \n\n" CP_NOTE) &&
		   parse_refused("old 18446744073709551616\n\n" CP_NOTE) &&
		   parse_refused("old 9223372036854775808\n\n" CP_NOTE),
		   "request: old line with a leading zero, a sign, two spaces, another word, no number, a trailing space, past 2^63-1: refused");
	ktap_check(parse_refused("old 1\r\n\r\n" CP_NOTE) && parse_refused("") &&
		   parse_refused("old 1") && parse_refused("old 1\n") &&
		   parse_refused("old 1\n\n"),
		   "request: CRLF, nothing, no newline, no empty line, no checkpoint: refused");
	ktap_check(!parse_refused("old 1\n" R10 "ERE=\n\n" CP_NOTE) &&
		   parse_refused("old 1\n" R10 "EQ==\n\n" CP_NOTE) &&
		   parse_refused("old 1\n" R10 "ERF=\n\n" CP_NOTE) &&
		   parse_refused("old 1\n" R10 "ERE\n\n" CP_NOTE) &&
		   parse_refused("old 1\n" R10 "ERERERER\n\n" CP_NOTE) &&
		   parse_refused("old 1\n" R10 "ERE= \n\n" CP_NOTE),
		   "request: a proof line of 32 bytes accepted; of 31 bytes, non-canonical, cut short, of 36 bytes, with a space: refused");
	ktap_check(parse_refused("old 1\n\n" CP_TEXT) &&
		   parse_refused("old 1\n\n" CP_TEXT "\n" "\xe2\x80\x94 x y\n") &&
		   parse_refused("old 1\n\n" CP_NOTE "junk") &&
		   parse_refused("old 1\n\n" CP_TEXT "\x01\n\n" LOG_SIG),
		   "request: a checkpoint without signatures, a bad signature line, text after it, a control character: refused");

	/* A witness's answer attached to the checkpoint. */
	len = 0;
	ok = !bfl_cosign(&w, CP_TEXT, strlen(CP_TEXT), W_TIME, line, sizeof(line), &len, &e);
	snprintf(body, sizeof(body), "%s%s", KAT_LINE, "\xe2\x80\x94 witness.example/w9 AAAAAAE=\n");
	ok = ok && !bfl_cosig_attach(CP_NOTE, strlen(CP_NOTE), body, strlen(body), &w, &t, &att,
				     &attlen, &e) &&
	     attlen == strlen(CP_NOTE KAT_LINE) && !strcmp(att, CP_NOTE KAT_LINE) && t == W_TIME;
	free(att);
	att = NULL;
	ktap_check(ok, "an answer attached: the checkpoint and the witness's line (an unknown line dropped)");
	ktap_check(bfl_cosig_attach(CP_NOTE, strlen(CP_NOTE), body, strlen(body), &w2, &t, &att,
				    &attlen, NULL) == -ENOKEY && !att,
		   "an answer without the expected witness's cosignature: ENOKEY");
	snprintf(body, sizeof(body), "\n%s", KAT_LINE);
	ok = bfl_cosig_attach(CP_NOTE, strlen(CP_NOTE), body, strlen(body), &w, &t, &att,
			      &attlen, NULL) == -EBADMSG;
	snprintf(body, sizeof(body), "%s", KAT_LINE);
	body[strlen(body) - 1] = 0;
	ok = ok && bfl_cosig_attach(CP_NOTE, strlen(CP_NOTE), body, strlen(body), &w, &t, &att,
				    &attlen, NULL) == -EBADMSG;
	ok = ok && bfl_cosig_attach(CP_NOTE, strlen(CP_NOTE), "", 0, &w, &t, &att, &attlen,
				    NULL) == -EBADMSG;
	ktap_check(ok && !att, "an answer with an empty line, without its final newline, or empty: refused");
	snprintf(note, sizeof(note), "%s", CP_NOTE);
	note[3] ^= 1;
	ktap_check(bfl_cosig_attach(note, strlen(note), KAT_LINE, strlen(KAT_LINE), &w, &t, &att,
				    &attlen, NULL) == -EKEYREJECTED && !att,
		   "an answer that cosigns another checkpoint: EKEYREJECTED");

	bfl_cosigner_free(&w);
	bfl_cosigner_free(&w2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	return ktap_finish();
}
