// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the log's formats: base64 (RFC 4648 vectors and strict
 * decoding), decimal parsing, audit records, signed notes (parsing, key
 * IDs, signing and verification, unknown keys), checkpoints and epoch
 * certificates, inclusion proof files.  "unknown signatures": others'
 * signature lines of any size (post-quantum cosignatures) are ignored,
 * the note still needs a valid one by the known key, malformed lines are
 * errors (c2sp.org/signed-note).  "key names": origins and key names
 * with Unicode spaces or '+' are refused wherever they are accepted.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/bioreader.h>
#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "internal.h"
#include "ktap.h"

static void test_b64(void)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
					   "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const bad[] = { "Zg=", "Zg===", "Z===", "Zh==", "Zm9=", "Zm9v!",
					   "=Zm9", "Zg==Zg==", "Zm 9" };
	char enc[32];
	u8 dec[32];
	size_t n, i;
	int ok = 1;

	for (i = 0; i < 7; i++) {
		bfl_b64_encode((const u8 *)in[i], strlen(in[i]), enc);
		ok &= !strcmp(enc, out[i]);
		ok &= !bfl_b64_decode(out[i], strlen(out[i]), dec, sizeof(dec), &n) &&
		      n == strlen(in[i]) && !memcmp(dec, in[i], n);
	}
	ktap_check(ok, "base64: RFC 4648 test vectors both ways");
	ok = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok &= bfl_b64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec), &n) != 0;
	ktap_check(ok, "base64: non-canonical or malformed input rejected");
	ktap_check(bfl_b64_decode("Zm9vYmFy", 8, dec, 5, &n) == -EOVERFLOW,
		   "base64: output bound respected");
}

static void test_u64(void)
{
	u64 v;

	ktap_check(!bfl_parse_u64("0", 1, &v) && v == 0 &&
		   !bfl_parse_u64("18446744073709551615", 20, &v) && v == UINT64_MAX,
		   "decimal: 0 and 2^64-1");
	ktap_check(bfl_parse_u64("18446744073709551616", 20, &v) &&
		   bfl_parse_u64("01", 2, &v) && bfl_parse_u64("-1", 2, &v) &&
		   bfl_parse_u64("+1", 2, &v) && bfl_parse_u64("", 0, &v) &&
		   bfl_parse_u64("1 ", 2, &v),
		   "decimal: overflow, leading zero, signs, empty, trailing space rejected");
}

static void mkrec(u8 *buf)
{
	struct bioreader_audit_record r;

	memset(&r, 0, sizeof(r));
	r.magic = htole32(BIOREADER_AUDIT_MAGIC);
	r.version = htole16(1);
	r.size = htole16(sizeof(r));
	r.seq = htole64(42);
	r.type = htole32(BIOREADER_AUDIT_VERDICT);
	r.session_id = htole64(7);
	r.stream_id = htole64(0x1234);
	strcpy(r.operator_id, "desk-3");
	memcpy(buf, &r, sizeof(r));
}

static void test_record(void)
{
	u8 b[BFL_RECORD_MIN + 8];
	struct bfl_record r;
	int ok;

	mkrec(b);
	ktap_check(bfl_record_parse(b, BFL_RECORD_MIN, &r, NULL) == BFL_RECORD_MIN &&
		   r.seq == 42 && r.session_id == 7 && !strcmp(r.operator_id, "desk-3") &&
		   bfl_record_is_kernel(&r), "record: a valid VERDICT parses");
	ok = bfl_record_parse(b, BFL_RECORD_MIN - 1, &r, NULL) == -ENODATA &&
	     bfl_record_parse(b, 4, &r, NULL) == -ENODATA;
	b[6] = 204;	/* size 204: not a multiple of 8 */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	b[6] = 0x60;
	b[7] = 0x40;	/* size 16480 > max */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	mkrec(b);
	b[4] = 0;	/* version 0 */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	mkrec(b);
	b[48] = 99;	/* type */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	mkrec(b);
	memset(b + 8, 0, 8);	/* kernel seq 0 */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	mkrec(b);
	memset(b + 128, 0, 8);	/* kernel stream id 0 */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	mkrec(b);
	b[80 + 2] = 7;	/* control byte in operator id */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	mkrec(b);
	b[80 + 20] = 'x';	/* text after the NUL */
	ok &= bfl_record_parse(b, sizeof(b), &r, NULL) == -EBADMSG;
	ktap_check(ok, "record: short, bad size, version, type, seq 0, stream 0, operator id rejected");
}

/*
 * A SESSION_START record of @version and @size (room for 256 bytes at
 * buf), with a reference block from @source, @flags and fingerprints
 * filled with @issuer / @signer when the size leaves room for it.
 */
static void mkstart(u8 *buf, u16 version, u16 size, u32 source, u32 flags,
		    u8 issuer, u8 signer)
{
	struct bioreader_audit_reference ref;

	memset(buf, 0, 256);
	mkrec(buf);
	bfl_put_le32(buf + 48, BIOREADER_AUDIT_SESSION_START);
	buf[4] = (u8)version;
	buf[5] = 0;
	buf[6] = (u8)size;
	buf[7] = (u8)(size >> 8);
	memset(&ref, 0, sizeof(ref));
	ref.source = htole32(source);
	ref.flags = htole32(flags);
	memset(ref.issuer_sha256, issuer, sizeof(ref.issuer_sha256));
	memset(ref.signer_sha256, signer, sizeof(ref.signer_sha256));
	if (size >= 232)
		memcpy(buf + 160, &ref, sizeof(ref));
}

/* -EBADMSG, and the error names @what. */
static int refused(const u8 *b, size_t len, const char *what)
{
	struct bfl_err e = { 0 };
	struct bfl_record r;
	int k = bfl_record_parse(b, len, &r, &e);

	if (k != -EBADMSG || !strstr(e.msg, what)) {
		ktap_diag("want a refusal naming '%s': %d %s", what, k, e.msg);
		return 0;
	}
	return 1;
}

static void test_record_versions(void)
{
	u8 b[256];
	char txt[BFL_REF_TEXT_MAX], hex[65];
	struct bfl_record r;
	int ok;

	/* version 1: every record 160 bytes, no reference block */
	mkstart(b, 1, 160, 0, 0, 0, 0);
	ok = bfl_record_parse(b, 160, &r, NULL) == 160 && r.version == 1 &&
	     r.type == BIOREADER_AUDIT_SESSION_START && !r.has_ref;
	bfl_record_ref_text(&r, txt, sizeof(txt));
	ktap_check(ok && !txt[0], "record: a version-1 SESSION_START of 160 bytes parses, without a reference");

	/* version 2: SESSION_START 232 bytes with its block */
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_ICAO_PA,
		BIOREADER_REF_PACE | BIOREADER_REF_CHIP_AUTH, 0xab, 0x01);
	ok = bfl_record_parse(b, sizeof(b), &r, NULL) == 232 && r.version == 2 &&
	     r.has_ref && r.ref_source == BIOREADER_REF_SOURCE_ICAO_PA &&
	     r.ref_flags == (BIOREADER_REF_PACE | BIOREADER_REF_CHIP_AUTH) &&
	     r.ref_issuer[0] == 0xab && r.ref_issuer[31] == 0xab &&
	     r.ref_signer[0] == 0x01 && r.ref_signer[31] == 0x01 &&
	     r.seq == 42 && !strcmp(r.operator_id, "desk-3");
	bfl_record_ref_text(&r, txt, sizeof(txt));
	memset(hex, 'a', 64);
	for (int i = 0; i < 64; i += 2)
		hex[i + 1] = 'b';
	hex[64] = 0;
	ok = ok && strstr(txt, "ref_source=icao-pa ref_flags=0xa ") &&
	     strstr(txt, hex) &&
	     strstr(txt, "ref_signer_sha256=0101010101010101010101010101010101010101010101010101010101010101");
	if (!ok)
		ktap_diag("reference text: %s", txt);
	ktap_check(ok, "record: a version-2 SESSION_START of 232 bytes parses with its ICAO PA reference; printed as hex");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_NONE, 0, 0, 0);
	ok = bfl_record_parse(b, 232, &r, NULL) == 232 && r.has_ref &&
	     r.ref_source == BIOREADER_REF_SOURCE_NONE && !r.ref_flags;
	bfl_record_ref_text(&r, txt, sizeof(txt));
	ktap_check(ok && strstr(txt, "ref_source=none ref_flags=0 "),
		   "record: a version-2 SESSION_START with nothing declared parses (source none, all zero)");
	ktap_check(bfl_record_parse(b, 231, &r, NULL) == -ENODATA &&
		   bfl_record_parse(b, 160, &r, NULL) == -ENODATA,
		   "record: a 232-byte record cut short is -ENODATA (a torn write)");

	/* version 2: every other record 160 bytes */
	mkrec(b);
	b[4] = 2;
	ok = bfl_record_parse(b, 160, &r, NULL) == 160 && !r.has_ref;
	b[6] = 232;
	ok = ok && refused(b, sizeof(b), "version-2 VERDICT record of 232 bytes");
	ktap_check(ok, "record: a version-2 VERDICT is 160 bytes (232 refused)");

	/* sizes that do not go with the version */
	ok = 1;
	mkstart(b, 2, 160, 0, 0, 0, 0);
	ok &= refused(b, sizeof(b), "version-2 SESSION_START record of 160 bytes");
	mkstart(b, 1, 232, BIOREADER_REF_SOURCE_ICAO_PA, 0, 1, 1);
	ok &= refused(b, sizeof(b), "version-1 SESSION_START record of 232 bytes");
	mkstart(b, 2, 240, BIOREADER_REF_SOURCE_ICAO_PA, 0, 1, 1);
	ok &= refused(b, sizeof(b), "of 240 bytes, not 232");
	mkrec(b);
	b[6] = 168;	/* a version-1 VERDICT of 168 */
	ok &= refused(b, sizeof(b), "version-1 VERDICT record of 168 bytes");
	ktap_check(ok, "record: SESSION_START of 160 in version 2, of 232 in version 1, other sizes refused");

	/* the reference block, by the driver's rules */
	ok = 1;
	mkstart(b, 2, 232, 2, 0, 1, 1);
	ok &= refused(b, sizeof(b), "unknown reference source 2");
	mkstart(b, 2, 232, 0x80000001u, 0, 1, 1);
	ok &= refused(b, sizeof(b), "unknown reference source 2147483649");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_ICAO_PA, 1u << 4, 1, 1);
	ok &= refused(b, sizeof(b), "unknown reference flags 0x10");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_ICAO_PA, 0x80000000u | BIOREADER_REF_BAC, 1, 1);
	ok &= refused(b, sizeof(b), "unknown reference flags 0x80000000");
	ktap_check(ok, "record: unknown reference source or flag refused");
	ok = 1;
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_NONE, BIOREADER_REF_BAC, 0, 0);
	ok &= refused(b, sizeof(b), "source none with flags");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_NONE, 0, 0x10, 0);
	ok &= refused(b, sizeof(b), "source none with a fingerprint");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_NONE, 0, 0, 0);
	b[232 - 1] = 1;	/* the last byte of the signer's fingerprint */
	ok &= refused(b, sizeof(b), "source none with a fingerprint");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_ICAO_PA, 0, 0, 7);
	ok &= refused(b, sizeof(b), "without the issuer (CSCA) fingerprint");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_ICAO_PA, 0, 7, 0);
	ok &= refused(b, sizeof(b), "without the signer (DS) fingerprint");
	mkstart(b, 2, 232, BIOREADER_REF_SOURCE_ICAO_PA, 0, 0, 0);
	b[168] = 1;	/* one non-zero byte of the issuer's: still no signer */
	ok &= refused(b, sizeof(b), "without the signer (DS) fingerprint");
	ktap_check(ok, "record: fingerprints refused where the source says none, required for ICAO PA");

	/* a later version may only append fields */
	mkstart(b, 3, 240, BIOREADER_REF_SOURCE_ICAO_PA, BIOREADER_REF_BAC, 2, 3);
	ok = bfl_record_parse(b, sizeof(b), &r, NULL) == 240 && r.has_ref &&
	     r.ref_signer[0] == 3;
	mkstart(b, 3, 160, 0, 0, 0, 0);
	ok = ok && refused(b, sizeof(b), "version-3 SESSION_START record of 160 bytes, under 232");
	mkstart(b, 3, 240, 5, 0, 2, 3);
	ok = ok && refused(b, sizeof(b), "unknown reference source 5");
	ktap_check(ok, "record: a version-3 SESSION_START of 240 bytes parses its reference; under 232 refused");
}

static void test_notes(void)
{
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_epoch_key k, k2;
	struct bfl_checkpoint cp, got;
	struct bfl_err e = { 0 };
	char text[4096], t2[4096];
	size_t len;
	int ok;

	memset(&cp, 0, sizeof(cp));
	strcpy(cp.origin, "bioflow.example/k1");
	cp.size = 12345;
	cp.epoch = 3;
	memset(cp.root, 0xab, sizeof(cp.root));
	ok = n && !bfl_epoch_key_generate(&k, cp.origin, 3, &e) &&
	     !bfl_epoch_key_generate(&k2, cp.origin, 3, &e) &&
	     !bfl_checkpoint_sign(&cp, &k, text, sizeof(text), &len, &e);
	ktap_check(ok && !bfl_checkpoint_open(text, len, &got, n, &e) &&
		   got.size == 12345 && got.epoch == 3 &&
		   !memcmp(got.root, cp.root, BFL_HASH_SIZE) &&
		   !bfl_note_verify(n, &k.pub, &e), "checkpoint: sign, parse, verify");
	ktap_check(!strncmp(text, "bioflow.example/k1\n12345\nq6ur", 29) &&
		   strstr(text, "\nbioflow-epoch 3\n\n\xe2\x80\x94 bioflow.example/k1/epoch/3 "),
		   "checkpoint: C2SP text layout");
	ktap_check(bfl_note_verify(n, &k2.pub, &e) == -ENOKEY,
		   "note: another key of the same name is unknown (key ID differs)");
	/* a second, unknown signature is ignored */
	memcpy(t2, text, len);
	{
		size_t l2 = len;
		u8 sig[64];

		memset(sig, 1, sizeof(sig));
		bfl_note_add_sig(t2, sizeof(t2), &l2, "witness.example/w", 0x01020304,
				 sig, sizeof(sig));
		ktap_check(!bfl_checkpoint_open(t2, l2, &got, n, &e) && n->nsig == 2 &&
			   !bfl_note_verify(n, &k.pub, &e),
			   "note: an extra signature by an unknown key is ignored");
	}
	/* tampering with the text */
	memcpy(t2, text, len);
	t2[20] = '4';
	ktap_check(!bfl_checkpoint_open(t2, len, &got, n, &e) &&
		   bfl_note_verify(n, &k.pub, &e) == -EKEYREJECTED,
		   "note: altered text fails the known key's signature");
	ok = bfl_note_parse("a\n", 2, n, NULL) && bfl_note_parse("a\n\n", 3, n, NULL) &&
	     bfl_note_parse("a\n\nx b\n", 7, n, NULL) &&
	     bfl_note_parse("a\n\n\xe2\x80\x94 k AAAA\n", 13, n, NULL) &&
	     bfl_note_parse("a\x01\n\n\xe2\x80\x94 k AAAAAA==\n", 18, n, NULL) &&
	     bfl_note_parse("a\xff\n\n\xe2\x80\x94 k AAAAAA==\n", 18, n, NULL) &&
	     bfl_note_parse("", 0, n, NULL);
	ktap_check(ok, "note: no signatures, bad lines, short sig, control and invalid UTF-8 rejected");
	ok = bfl_checkpoint_parse_body("o\n1\n", 4, &got, NULL) &&
	     bfl_checkpoint_parse_body("o\n01\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
				       50, &got, NULL) &&
	     bfl_checkpoint_parse_body("o\n1\nq6ur\n", 9, &got, NULL) &&
	     bfl_checkpoint_parse_body("o\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n",
				       50, &got, NULL);
	ktap_check(ok, "checkpoint: missing lines, leading zeros, short hash, empty extension rejected");
	bfl_epoch_key_destroy(&k);
	bfl_epoch_key_destroy(&k2);
	free(n);
}

/* Appends "— name base64(key_id || nbytes of filler)\n": a signature
 * line of any size, as another signer (a witness's ML-DSA cosignature,
 * say) would add. */
static int add_sig_line(char *out, size_t cap, size_t *len, const char *name,
			u32 key_id, size_t nbytes)
{
	u8 *raw = malloc(4 + nbytes);
	char *b64 = malloc((4 + nbytes + 2) / 3 * 4 + 1);
	size_t i;
	int k = -1;

	if (raw && b64) {
		raw[0] = (u8)(key_id >> 24);
		raw[1] = (u8)(key_id >> 16);
		raw[2] = (u8)(key_id >> 8);
		raw[3] = (u8)key_id;
		for (i = 0; i < nbytes; i++)
			raw[4 + i] = (u8)(i * 131 + 7);
		bfl_b64_encode(raw, 4 + nbytes, b64);
		k = snprintf(out + *len, cap - *len, "\xe2\x80\x94 %s %s\n", name, b64);
		if (k > 0 && (size_t)k < cap - *len)
			*len += (size_t)k;
		else
			k = -1;
	}
	free(raw);
	free(b64);
	return k < 0 ? -1 : 0;
}

/* ML-DSA signature sizes (FIPS 204): -44 and -87; a tlog-cosignature
 * adds an 8-byte timestamp in front. */
#define MLDSA44_SIG	2420
#define MLDSA87_SIG	4627

static void test_unknown_sigs(void)
{
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_epoch_key k;
	struct bfl_checkpoint cp, got;
	struct bfl_err e = { 0 };
	size_t cap = BFL_NOTE_MAX + 4096, len, l2, base;
	char *text = malloc(cap), *t2 = malloc(cap);
	unsigned int i;
	int ok;

	memset(&cp, 0, sizeof(cp));
	strcpy(cp.origin, "bioflow.example/k1");
	cp.size = 77;
	cp.epoch = 2;
	memset(cp.root, 0x3c, sizeof(cp.root));
	if (!ktap_require(n && text && t2 && !bfl_epoch_key_generate(&k, cp.origin, 2, &e) &&
			  !bfl_checkpoint_sign(&cp, &k, text, cap, &len, &e),
			  "unknown signatures: a signed checkpoint to add them to"))
		return;

	/* One ML-DSA-44-sized cosignature by an unknown witness. */
	memcpy(t2, text, len);
	l2 = len;
	ok = !add_sig_line(t2, cap, &l2, "witness.example/pq", 0x0a0b0c0d, 8 + MLDSA44_SIG);
	memset(&e, 0, sizeof(e));
	ok = ok && !bfl_checkpoint_open(t2, l2, &got, n, &e) && n->nsig == 2 &&
	     n->sig[1].sig_len == 8 + MLDSA44_SIG && n->sig[1].key_id == 0x0a0b0c0d &&
	     !bfl_note_verify(n, &k.pub, &e);
	if (!ok)
		ktap_diag("%s", e.msg);
	ktap_check(ok, "note: an unknown key's ML-DSA-44-sized cosignature is ignored");

	/* The spec's minimum: 16 signatures, of post-quantum size. */
	memcpy(t2, text, len);
	l2 = len;
	ok = 1;
	for (i = 0; i < 15; i++) {
		char nm[64];

		snprintf(nm, sizeof(nm), "witness-%u.example/w", i);
		ok &= !add_sig_line(t2, cap, &l2, nm, 0x100 + i, MLDSA87_SIG);
	}
	memset(&e, 0, sizeof(e));
	ok = ok && l2 > BFL_CPE_NOTE_MAX && !bfl_checkpoint_open(t2, l2, &got, n, &e) &&
	     n->nsig == 16 && !bfl_note_verify(n, &k.pub, &e);
	if (!ok)
		ktap_diag("%s", e.msg);
	ktap_check(ok, "note: 16 signatures, 15 of them ML-DSA-87-sized by unknown keys, accepted");

	/* Unknown because the name or the key ID differs (not both). */
	memcpy(t2, text, len);
	l2 = len;
	ok = !add_sig_line(t2, cap, &l2, k.pub.name, k.pub.key_id ^ 1, MLDSA44_SIG) &&
	     !add_sig_line(t2, cap, &l2, "bioflow.example/k1/epoch/3", k.pub.key_id, 64);
	ok = ok && !bfl_note_parse(t2, l2, n, &e) && !bfl_note_verify(n, &k.pub, &e);
	ktap_check(ok, "note: same name other key ID, same key ID other name: both ignored");

	/* No signature by the known key: rejected, however many others. */
	base = (size_t)(strstr(text, "\n\n") - text) + 2;
	memcpy(t2, text, base);
	l2 = base;
	ok = !add_sig_line(t2, cap, &l2, "witness.example/pq", 0x0a0b0c0d, MLDSA44_SIG) &&
	     !add_sig_line(t2, cap, &l2, "witness.example/ed", 0x01020304, 72);
	ok = ok && !bfl_note_parse(t2, l2, n, &e) && bfl_note_verify(n, &k.pub, &e) == -ENOKEY;
	ktap_check(ok, "note: only unknown keys' signatures: rejected (no signature by the known key)");

	/* The known key's name and ID on a signature of another size. */
	memcpy(t2, text, len);
	l2 = len;
	ok = !add_sig_line(t2, cap, &l2, k.pub.name, k.pub.key_id, MLDSA44_SIG) &&
	     !bfl_note_parse(t2, l2, n, &e) && bfl_note_verify(n, &k.pub, &e) == -EKEYREJECTED;
	ktap_check(ok, "note: a large signature under the known key's name and ID fails to verify");

	/* 100 signature lines are accepted, 101 are not. */
	memcpy(t2, text, len);
	l2 = len;
	ok = 1;
	for (i = 0; i < 99; i++)
		ok &= !add_sig_line(t2, cap, &l2, "witness.example/many", 0x200 + i, 64);
	ok = ok && !bfl_note_parse(t2, l2, n, &e) && n->nsig == 100 &&
	     !bfl_note_verify(n, &k.pub, &e);
	ok = ok && !add_sig_line(t2, cap, &l2, "witness.example/many", 0x300, 64) &&
	     bfl_note_parse(t2, l2, n, &e) == -EBADMSG;
	ktap_check(ok, "note: 100 signatures accepted, 101 rejected");

	/* Lines that are no signature line at all are still errors, even
	 * after a good one. */
	{
		static const char *const bad[] = {
			"\xe2\x80\x94 witness.example/w !!!!!!!!\n",	/* not base64 */
			"\xe2\x80\x94 witness.example/w AQIDBA==\n",	/* 4 bytes: no signature */
			"\xe2\x80\x94 witness.example/w AQIDBAU\n",	/* unpadded */
			"\xe2\x80\x94 witness.example/w\n",		/* no signature */
			"\xe2\x80\x94  AQIDBAUG\n",			/* empty name */
			"\xe2\x80\x94 wit+ness AQIDBAUG\n",		/* '+' */
			"\xe2\x80\x94 wit\xc2\xa0ness AQIDBAUG\n",	/* U+00A0 */
			"\xe2\x80\x94 wit\xe3\x80\x80ness AQIDBAUG\n",	/* U+3000 */
			"- witness.example/w AQIDBAUG\n",		/* not an em dash */
			"\xe2\x80\x94witness.example/w AQIDBAUG\n",	/* no space */
			"\xe2\x80\x94 witness.example/w AQIDBAUG AQID\n",	/* two fields */
		};
		size_t j;

		ok = 1;
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			memcpy(t2, text, len);
			l2 = len + strlen(bad[j]);
			memcpy(t2 + len, bad[j], strlen(bad[j]));
			if (bfl_note_parse(t2, l2, n, NULL) != -EBADMSG) {
				ktap_diag("accepted: %s", bad[j]);
				ok = 0;
			}
		}
		ktap_check(ok, "note: malformed signature lines rejected (base64, size, name, dash, fields)");
	}

	/* The spec forbids only control characters below U+0020: DEL in an
	 * extension line is text like any other. */
	{
		struct bfl_checkpoint c2 = cp;
		char body[512];
		size_t bl;
		u8 sig[64];
		size_t sl = sizeof(sig);

		ok = !bfl_checkpoint_format_body(&c2, body, sizeof(body), &bl);
		bl += (size_t)snprintf(body + bl, sizeof(body) - bl, "x-ext a\x7f" "b\n");
		ok = ok && !bfl_sign(k.priv, body, bl, sig, &sl);
		body[bl++] = '\n';
		ok = ok && !bfl_note_add_sig(body, sizeof(body), &bl, k.pub.name, k.pub.key_id,
					     sig, sl) &&
		     !bfl_checkpoint_open(body, bl, &got, n, &e) && !bfl_note_verify(n, &k.pub, &e);
		ktap_check(ok, "note: U+007F in the text is accepted (only C0 controls are forbidden)");
	}
	bfl_epoch_key_destroy(&k);
	free(text);
	free(t2);
	free(n);
}

/* Names with a Unicode space (as UTF-8), each refused. */
static const char *const spaced[] = {
	"kiosk\xc2\xa0" "7",		/* U+00A0 no-break space */
	"kiosk\xc2\x85" "7",		/* U+0085 next line */
	"kiosk\xe1\x9a\x80" "7",	/* U+1680 ogham space mark */
	"kiosk\xe2\x80\x80" "7",	/* U+2000 en quad */
	"kiosk\xe2\x80\x83" "7",	/* U+2003 em space */
	"kiosk\xe2\x80\x8a" "7",	/* U+200A hair space */
	"kiosk\xe2\x80\xa8" "7",	/* U+2028 line separator */
	"kiosk\xe2\x80\xa9" "7",	/* U+2029 paragraph separator */
	"kiosk\xe2\x80\xaf" "7",	/* U+202F narrow no-break space */
	"kiosk\xe2\x81\x9f" "7",	/* U+205F medium mathematical space */
	"kiosk\xe3\x80\x80" "7",	/* U+3000 ideographic space */
	"kiosk 7", "kiosk\t7",
};

static void test_names(void)
{
	struct bfl_root_signer *rs = bfl_soft_root_new(NULL, NULL, NULL);
	struct bfl_epoch_cert c, got;
	struct bfl_store *st = NULL;
	struct bfl_err e = { 0 };
	struct bfl_key key;
	char tmp[] = "/tmp/bfl-names-XXXXXX", path[256], origin[BFL_NAME_MAX + 1];
	char text[1024], name[300];
	size_t i, len;
	int ok, fd, dfd;

	ok = 1;
	for (i = 0; i < sizeof(spaced) / sizeof(spaced[0]); i++) {
		snprintf(name, sizeof(name), "bioflow.example/%s", spaced[i]);
		if (bfl_valid_key_name(name) || !bfl_check_key_name(name, &e) ||
		    !bfl_check_origin(name, &e)) {
			ktap_diag("accepted: %s", name);
			ok = 0;
		}
	}
	memset(&e, 0, sizeof(e));
	ok &= bfl_check_origin("bioflow.example/kiosk\xe2\x80\x83" "7", &e) == -EINVAL &&
	      strstr(e.msg, "U+2003") != NULL;
	ktap_diag("U+2003: %s", e.msg);
	ktap_check(ok, "key names: every Unicode space refused, the error names the code point");

	ok = !bfl_valid_key_name("bioflow.example/kiosk+7") && !bfl_valid_key_name("") &&
	     !bfl_valid_key_name("kiosk\x7f" "7") && !bfl_valid_key_name("kiosk\xc2\x80" "7") &&
	     !bfl_valid_key_name("kiosk\xe1\xa0\x8e" "7") &&	/* U+180E */
	     !bfl_valid_key_name("kiosk\xff");
	memset(name, 'a', sizeof(name));
	name[BFL_NAME_MAX + 1] = 0;
	ok &= !bfl_valid_key_name(name);
	name[BFL_ORIGIN_MAX + 1] = 0;
	ok &= bfl_valid_key_name(name) && bfl_check_origin(name, NULL) == -EINVAL;
	ktap_check(ok, "key names: '+', empty, DEL, C1, U+180E, not UTF-8, too long refused");
	ok = bfl_valid_key_name("bioflow.example/kiosk-7") &&
	     bfl_valid_key_name("bioflow.example/k\xc3\xbc" "che") &&	/* ü */
	     !bfl_check_origin("bioflow.example/\xe6\x9d\xb1\xe4\xba\xac/7", NULL);
	ktap_check(ok, "key names: ASCII and non-space Unicode accepted");

	/* Every place that takes an origin or a key name. */
	ok = rs != NULL;
	memset(&e, 0, sizeof(e));
	ok = ok && bfl_key_init(&key, "bioflow\xc2\xa0root", rs->key.pk, &e) == -EINVAL &&
	     strstr(e.msg, "U+00A0");
	ktap_diag("key: %s", e.msg);
	ktap_check(ok, "key names: a key under a name with U+00A0 refused");

	ok = mkdtemp(tmp) != NULL;
	snprintf(path, sizeof(path), "%s/store", tmp);
	memset(&e, 0, sizeof(e));
	ok = ok && bfl_store_create(path, "bioflow.example/kiosk\xe3\x80\x80" "7", rs, NULL,
				    &st, &e) == -EINVAL &&
	     strstr(e.msg, "U+3000") && access(path, F_OK) != 0;
	ktap_diag("store: %s", e.msg);
	ktap_check(ok, "origin: a new store with U+3000 in its origin refused, nothing created");

	/* A store made by an earlier version with such an origin. */
	dfd = open(tmp, O_RDONLY | O_DIRECTORY);
	fd = openat(dfd, "log-info", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	len = (size_t)snprintf(text, sizeof(text), "bioflow-store v3\norigin bioflow.example/k\xc2\xa0" "7\n");
	ok = dfd >= 0 && fd >= 0 && write(fd, text, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	memset(&e, 0, sizeof(e));
	ok = ok && bfl_read_log_info(dfd, origin, &e) == -EBADMSG && strstr(e.msg, "U+00A0");
	ktap_diag("log-info: %s", e.msg);
	ktap_check(ok, "origin: a store's log-info with U+00A0 in its origin refused, saying why");
	if (dfd >= 0) {
		unlinkat(dfd, "log-info", 0);
		close(dfd);
	}
	rmdir(tmp);

	memset(&c, 0, sizeof(c));
	strcpy(c.origin, "bioflow.example/k\xe2\x80\xaf" "7");
	c.epoch = 1;
	ok = !bfl_cert_format_body(&c, text, sizeof(text), &len) &&
	     bfl_cert_parse_body(text, len, &got, NULL) == -EBADMSG;
	ktap_check(ok, "origin: an epoch certificate whose origin has U+202F refused");
	bfl_root_signer_free(rs);
}

static void test_cert(void)
{
	struct bfl_root_signer *rs, *other;
	struct bfl_epoch_cert c, got;
	struct bfl_err e = { 0 };
	struct bfl_proof p, q;
	char text[4096], *pt;
	size_t len, pl;
	u64 v = 0;
	int ok;

	rs = bfl_soft_root_new(NULL, NULL, &e);
	other = bfl_soft_root_new(NULL, NULL, &e);
	memset(&c, 0, sizeof(c));
	strcpy(c.origin, "bioflow.example/k1");
	c.epoch = 9;
	c.start_size = 1000;
	c.issued = 1700000000;
	memset(c.pub, 0x11, 32);
	ok = rs && other && !rs->ops->counter_increment(rs, NULL, 0, &v, &e) && v == 1 &&
	     !rs->ops->counter_increment(rs, NULL, 0, &v, &e) && v == 2;
	c.nv_counter = v;
	c.nv_index = BFL_TPM_NV_INDEX;
	ok = ok && !bfl_cert_issue(rs, &c, text, sizeof(text), &len, &e);
	ktap_check(ok && !bfl_cert_open(text, len, &rs->key, &got, &e) &&
		   !memcmp(&got, &c, sizeof(c)), "epoch certificate: issue, parse, root-verify");
	ktap_check(bfl_cert_open(text, len, &other->key, &got, &e) == -ENOKEY,
		   "epoch certificate: not accepted under another root key");
	text[40] ^= 1;
	ktap_check(bfl_cert_open(text, len, &rs->key, &got, &e) != 0,
		   "epoch certificate: altered body rejected");
	ok = bfl_cert_parse_body("bioflow-epoch-cert v2\norigin o\nepoch 0\n", 38, &got, NULL) &&
	     bfl_cert_parse_body("bioflow-epoch-cert v3\n", 22, &got, NULL);
	ktap_check(ok, "epoch certificate: epoch 0, wrong version rejected");
	memset(&e, 0, sizeof(e));
	ok = bfl_cert_open("bioflow-epoch-cert v1\norigin o\n", 31, &rs->key, &got, &e) ==
	     -EPROTONOSUPPORT && strstr(e.msg, "bioflow-epoch-cert v1") &&
	     strstr(e.msg, "bioflow-epoch-cert v2");
	ktap_diag("old format: %s", e.msg);
	ktap_check(ok, "epoch certificate: the old format (v1) refused with a message naming both formats");
	/* a claim the attestation does not make */
	c.nv_counter = 7;
	memset(&e, 0, sizeof(e));
	ok = bfl_cert_issue(rs, &c, text, sizeof(text), &len, &e) == -ESTALE;
	ktap_check(ok, "epoch certificate: no certificate for a counter value the counter does not hold");

	memset(&p, 0, sizeof(p));
	p.index = 5;
	p.size = 8;
	p.n = 3;
	memset(p.h, 0x5a, sizeof(p.h[0]) * 3);
	p.cert = "cert text\n";
	p.cert_len = 10;
	ok = !bfl_proof_format(&p, &pt, &pl) && !bfl_proof_parse(pt, pl, &q, &e) &&
	     q.index == 5 && q.size == 8 && q.n == 3 && q.cert_len == 10 &&
	     !memcmp(q.cert, "cert text\n", 10);
	bfl_proof_free(&q);
	ktap_check(ok, "proof file: format and parse back");
	ok = bfl_proof_parse(pt, pl - 1, &q, NULL) != 0;	/* no final newline */
	free(pt);
	ok &= bfl_proof_parse("bioflow-inclusion-proof v1\nindex 1\n", 35, &q, NULL) != 0;
	ktap_check(ok, "proof file: truncated or incomplete rejected");
	bfl_root_signer_free(rs);
	bfl_root_signer_free(other);
}

int main(void)
{
	ktap_plan(47);
	KTAP_CASE("b64")
		test_b64();
	KTAP_CASE("u64")
		test_u64();
	KTAP_CASE("record")
		test_record();
	KTAP_CASE("record versions and the reference block")
		test_record_versions();
	KTAP_CASE("notes")
		test_notes();
	KTAP_CASE("unknown signatures")
		test_unknown_sigs();
	KTAP_CASE("key names")
		test_names();
	KTAP_CASE("cert")
		test_cert();
	return ktap_finish();
}
