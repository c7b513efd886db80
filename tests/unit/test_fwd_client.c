// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the forwarder's witness client (daemon/bioflow-forward/
 * https.c and witness.c): the HTTP/1.1 response parser takes only a
 * status line, headers within bounds and a body of exactly
 * Content-Length bytes; the add-checkpoint body is C2SP tlog-witness's;
 * the answers (200 cosignatures checked with the witness's key, 409 with
 * a size of type text/x.tlog.size, 503, anything else) are read strictly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "../../daemon/bioflow-forward/fwd.h"
#include "ktap.h"

#define WNAME "witness.example/w1"

static struct fwd_http_resp resp;
static char err[512];

static int parse(const char *s)
{
	return fwd_http_parse(s, strlen(s), &resp, err, sizeof(err));
}

static EVP_PKEY *wkey;
static u8 wpub[32];
static char note[1024];
static size_t note_len;

/* SHA-256(name || "\n" || 0x04 || key)[:4], tlog-cosignature's key ID. */
static void key_id(const char *name, const u8 *pub, u8 out[4])
{
	u8 buf[300], md[32];
	size_t n = strlen(name);

	memcpy(buf, name, n);
	buf[n] = '\n';
	buf[n + 1] = 0x04;
	memcpy(buf + n + 2, pub, 32);
	SHA256(buf, n + 34, md);
	memcpy(out, md, 4);
}

/* A cosignature line by @k (or a line over other bytes if @bad). */
static void cosig_line(EVP_PKEY *k, const u8 *pub, const char *name, bool bad, char *out,
		       size_t cap)
{
	u8 raw[4 + 8 + 64];
	char msg[2048], b64[200];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t sl = 64, hl, text_len = strstr(note, "\n\n") + 1 - note;
	u64 ts = 1700000000;
	int i;

	key_id(name, pub, raw);
	for (i = 0; i < 8; i++)
		raw[4 + i] = (u8)(ts >> (56 - 8 * i));
	hl = (size_t)snprintf(msg, sizeof(msg), "cosignature/v1\ntime %llu\n",
			      (unsigned long long)ts);
	memcpy(msg + hl, note, text_len);
	if (bad)
		msg[hl + 1] ^= 1;
	EVP_DigestSignInit(c, NULL, NULL, NULL, k);
	EVP_DigestSign(c, raw + 12, &sl, (u8 *)msg, hl + text_len);
	EVP_MD_CTX_free(c);
	bfl_b64_encode(raw, sizeof(raw), b64);
	snprintf(out, cap, "\xe2\x80\x94 %s %s\n", name, b64);
}

static void set_resp(int status, const char *ctype, const char *body)
{
	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	snprintf(resp.ctype, sizeof(resp.ctype), "%s", ctype);
	resp.len = strlen(body);
	memcpy(resp.body, body, resp.len);
}

static enum fwd_witness_verdict answer(const struct fwd_witness_key *k, u64 *size,
				       char *cosig, size_t *clen)
{
	return fwd_witness_answer(&resp, note, note_len, k, size, cosig, 4096, clen, err,
				  sizeof(err));
}

int main(void)
{
	static const bfl_hash proof[2] = { { 1 }, { 2 } };
	char tmpl[] = "/tmp/test_fwd_client.XXXXXX", path[256], line[512], line2[512];
	char cosig[4096], b64[64], big[FWD_HTTP_HEAD_MAX + 64];
	struct fwd_witness_key *k;
	EVP_PKEY *other;
	u8 opub[32], sig[64] = { 9 }, vk[33];
	size_t pl = 32, clen, blen;
	u64 size = 0;
	char *body;
	FILE *f;
	int fd;

	ktap_plan(26);

	/* ---- the HTTP response parser */
	ktap_check(!parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc") &&
		   resp.status == 200 && resp.len == 3 && !strcmp(resp.body, "abc") &&
		   !strcmp(resp.ctype, "text/plain"), "a response: status, type, body");
	ktap_check(!parse("HTTP/1.0 409 Conflict\r\ncontent-length:  4 \r\ncontent-type:text/x.tlog.size\r\n\r\n720\n") &&
		   resp.status == 409 && !strcmp(resp.ctype, "text/x.tlog.size"),
		   "header names in any case, spaces around values");
	ktap_check(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") == 1 &&
		   parse("HTTP/1.1 200 OK\r\nContent-Len") == 1, "cut short: more is needed");
	ktap_check(parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc") == -1,
		   "no Content-Length: refused");
	ktap_check(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc") == -1,
		   "Transfer-Encoding: refused");
	ktap_check(parse("HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n") == -1 &&
		   parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == -1 &&
		   parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd") == -1,
		   "a body over 64 KiB, a signed length, two lengths: refused");
	ktap_check(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab") == -1,
		   "bytes after the body: refused");
	ktap_check(parse("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n") == -1 &&
		   parse("HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n") == -1 &&
		   parse("HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 0\r\n\r\n") == -1,
		   "a status line or a header that is not HTTP/1.x: refused");
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	ktap_check(fwd_http_parse(big, sizeof(big), &resp, err, sizeof(err)) == -1,
		   "headers over 8 KiB: refused");

	/* ---- the request body */
	{
		bfl_hash root;

		memset(root, 7, sizeof(root));
		bfl_b64_encode(root, 32, b64);
		note_len = (size_t)snprintf(note, sizeof(note), "log.example/a\n5\n%s\n\n", b64);
		bfl_note_add_sig(note, sizeof(note), &note_len, "log.example/a", 0x01020304, sig,
				 sizeof(sig));
	}
	body = fwd_witness_body(3, proof, 2, note, note_len, &blen);
	{
		char want[2048];
		size_t wl;
		char h1[64], h2[64];

		bfl_b64_encode(proof[0], 32, h1);
		bfl_b64_encode(proof[1], 32, h2);
		wl = (size_t)snprintf(want, sizeof(want), "old 3\n%s\n%s\n\n", h1, h2);
		memcpy(want + wl, note, note_len);
		ktap_check(body && blen == wl + note_len && !memcmp(body, want, blen),
			   "add-checkpoint body: old, one proof hash a line, an empty line, the note");
	}
	free(body);
	body = fwd_witness_body(0, proof, 0, note, note_len, &blen);
	ktap_check(body && !strncmp(body, "old 0\n\n", 7), "old 0 with an empty proof");
	free(body);
	ktap_check(!fwd_witness_body(0, proof, 64, note, note_len, &blen),
		   "more than 63 proof lines: not made");

	/* ---- the witness's key */
	wkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY_get_raw_public_key(wkey, wpub, &pl);
	EVP_PKEY_get_raw_public_key(other, opub, &pl);
	fd = mkstemp(tmpl);
	close(fd);
	snprintf(path, sizeof(path), "%s", tmpl);
	{
		u8 md[4];

		key_id(WNAME, wpub, md);
		vk[0] = 0x04;
		memcpy(vk + 1, wpub, 32);
		bfl_b64_encode(vk, 33, b64);
		f = fopen(path, "w");
		fprintf(f, "%s+%02x%02x%02x%02x+%s\n", WNAME, md[0], md[1], md[2], md[3], b64);
		fclose(f);
		k = fwd_witness_key_load(path, err, sizeof(err));
		ktap_check(k != NULL, "a verifier key name+keyid+base64(0x04 || key) loads");
		f = fopen(path, "w");
		fprintf(f, "%s+%02x%02x%02x%02x+%s\n", WNAME, md[0], md[1], md[2], md[3] ^ 1, b64);
		fclose(f);
		ktap_check(!fwd_witness_key_load(path, err, sizeof(err)) && strstr(err, "key ID"),
			   "a key ID that is not the key's: refused");
		vk[0] = 0x01;
		bfl_b64_encode(vk, 33, b64);
		f = fopen(path, "w");
		fprintf(f, "%s+%02x%02x%02x%02x+%s\n", WNAME, md[0], md[1], md[2], md[3], b64);
		fclose(f);
		ktap_check(!fwd_witness_key_load(path, err, sizeof(err)),
			   "a key of signed-note type 0x01 (not a cosignature key): refused");
	}
	unlink(path);

	/* ---- answers */
	set_resp(409, "text/x.tlog.size", "720\n");
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_CONFLICT && size == 720,
		   "409 text/x.tlog.size \"720\\n\": the witness holds 720");
	set_resp(409, "text/plain", "720\n");
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_REFUSED, "409 of another type: refused");
	set_resp(409, "text/x.tlog.size", "0720\n");
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_REFUSED &&
		   (set_resp(409, "text/x.tlog.size", "720"),
		    answer(k, &size, cosig, &clen) == FWD_W_REFUSED),
		   "409 with a leading zero or without the newline: refused");
	set_resp(503, "text/plain", "later\n");
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_NOT_YET, "503: not ingested yet");
	set_resp(422, "text/plain", "bad proof\n");
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_REFUSED && strstr(err, "422"),
		   "422: refused, the status said");

	cosig_line(wkey, wpub, WNAME, false, line, sizeof(line));
	set_resp(200, "text/plain", line);
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_COSIGNED && clen == strlen(line) &&
		   !memcmp(cosig, line, clen), "200 with the witness's cosignature: kept");
	cosig_line(other, opub, "other.example/w9", false, line2, sizeof(line2));
	{
		char both[1024];

		snprintf(both, sizeof(both), "%s%s", line2, line);
		set_resp(200, "text/plain", both);
		ktap_check(answer(k, &size, cosig, &clen) == FWD_W_COSIGNED &&
			   clen == strlen(line) && !memcmp(cosig, line, clen),
			   "another key's cosignature beside it: ignored, not kept");
	}
	set_resp(200, "text/plain", line2);
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_REFUSED &&
		   strstr(err, "no cosignature by"), "only other keys' cosignatures: refused");
	cosig_line(wkey, wpub, WNAME, true, line2, sizeof(line2));
	set_resp(200, "text/plain", line2);
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_REFUSED && strstr(err, "does not verify"),
		   "the witness's cosignature over other bytes: refused");
	set_resp(200, "text/plain", "\xe2\x80\x94 witness.example/w1 not+base64!\n");
	ktap_check(answer(k, &size, cosig, &clen) == FWD_W_REFUSED &&
		   (set_resp(200, "text/plain", "cosigned\n"),
		    answer(NULL, &size, cosig, &clen) == FWD_W_REFUSED),
		   "200 with lines that are no signature lines: refused, key or not");
	set_resp(200, "text/plain", line);
	ktap_check(answer(NULL, &size, cosig, &clen) == FWD_W_COSIGNED && clen == strlen(line),
		   "without a key, well-formed cosignature lines are kept");

	fwd_witness_key_free(k);
	EVP_PKEY_free(wkey);
	EVP_PKEY_free(other);
	return ktap_finish();
}
