// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * A witness stub for the forwarding tests (t_forward_rsyslog.sh): C2SP
 * tlog-witness add-checkpoint over HTTPS with client certificates, one
 * request per connection, answers scripted by the options:
 *
 *   fwd_witness --port-file F --cert PEM --key PEM --ca PEM --log F
 *               --vkey-out F [--name NAME] [--claim W] [--busy N]
 *               [--refuse N] [--bad-sig N] [--slow-ms MS]
 *
 *   --claim W   it starts out holding size W (root unknown): a request
 *               whose old is not W gets 409 with W; the first with old W
 *               is taken without checking its proof
 *   --busy N    the first N requests that pass the old check get 503
 *   --refuse N  the first N requests get 403
 *   --bad-sig N the first N cosignatures are made over other bytes
 *   --slow-ms MS every answer waits MS ms after the request was read
 *               (a collector that ingests and fsyncs before answering)
 *   --spool DIR 503 until a file in DIR (what the collector's rsyslog
 *               wrote) has the whole line of a checkpoint of that size:
 *               the collector's "ingested" in miniature
 *
 * Otherwise it does what a witness does: old must be the size it holds
 * (409 with it, text/x.tlog.size), the consistency proof from its
 * checkpoint must hold (422), an equal size must have an equal root
 * (409); then it holds the new checkpoint and answers 200 with a
 * tlog-cosignature line by its Ed25519 key (signed-note type 0x04),
 * whose verifier key it wrote to --vkey-out.  Each request is logged as
 * "old O size S proof P status C".  Checkpoint signatures are not
 * checked (the collector's witness does that).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "bflog.h"

static const char *name = "witness.test/w1";
static u64 held_size;
static bfl_hash held_root;
static bool root_known;
static unsigned long busy, refuse, bad_sig, slow_ms;
static EVP_PKEY *key;
static u8 pub[32];
static u32 key_id;
static FILE *logf;
static const char *spool;

/* Whether a file in the spool holds a whole "bioflow1 OID cp SIZE" line. */
static bool ingested(u64 size)
{
	char want[64], *line = NULL, path[4096];
	struct dirent *d;
	size_t cap = 0;
	bool found = false;
	DIR *dir;

	if (!spool)
		return true;
	dir = opendir(spool);
	if (!dir)
		return false;
	snprintf(want, sizeof(want), " cp %llu ", (unsigned long long)size);
	while (!found && (d = readdir(dir))) {
		FILE *f;
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", spool, d->d_name);
		f = fopen(path, "r");
		while (f && (n = getline(&line, &cap, f)) > 0)
			if (line[n - 1] == '\n' && !strncmp(line, "bioflow1 ", 9) &&
			    strstr(line, want) == line + 9 + 16) {
				found = true;
				break;
			}
		if (f)
			fclose(f);
	}
	closedir(dir);
	free(line);
	return found;
}

static void die(const char *what)
{
	fprintf(stderr, "fwd_witness: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static void respond(SSL *ssl, int status, const char *ctype, const char *body)
{
	char head[512];
	const char *reason = status == 200 ? "OK" : status == 409 ? "Conflict" :
			     status == 503 ? "Service Unavailable" :
			     status == 422 ? "Unprocessable Entity" :
			     status == 403 ? "Forbidden" : status == 404 ? "Not Found" :
			     "Bad Request";
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, reason, ctype, strlen(body));
	struct timespec ts = { (time_t)(slow_ms / 1000), (long)(slow_ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	SSL_write(ssl, head, n);
	if (*body)
		SSL_write(ssl, body, (int)strlen(body));
}

static void cosign(const struct bfl_note *note, char *out, size_t cap, bool bad)
{
	u8 raw[4 + 8 + 64];
	char msg[BFL_NOTE_MAX + 64], b64[200];
	u64 ts = (u64)time(NULL);
	size_t hl, sl = 64;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int i;

	hl = (size_t)snprintf(msg, sizeof(msg), "cosignature/v1\ntime %llu\n",
			      (unsigned long long)ts);
	memcpy(msg + hl, note->text, note->text_len);
	if (bad)
		msg[hl]++;
	if (!c || EVP_DigestSignInit(c, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(c, raw + 12, &sl, (u8 *)msg, hl + note->text_len) != 1)
		die("sign");
	EVP_MD_CTX_free(c);
	raw[0] = key_id >> 24;
	raw[1] = key_id >> 16;
	raw[2] = key_id >> 8;
	raw[3] = key_id;
	for (i = 0; i < 8; i++)
		raw[4 + i] = (u8)(ts >> (56 - 8 * i));
	bfl_b64_encode(raw, sizeof(raw), b64);
	snprintf(out, cap, "\xe2\x80\x94 %s %s\n", name, b64);
}

static void handle(SSL *ssl)
{
	static char buf[256 * 1024];
	static struct bfl_note note;
	bfl_hash proof[64];
	struct bfl_checkpoint cp;
	struct bfl_err e;
	size_t got = 0, hlen = 0, clen = 0;
	char *p, *end, out[512];
	unsigned int n = 0;
	u64 old;
	int k, status;

	for (;;) {
		char *hdr_end;

		k = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got));
		if (k <= 0)
			return;
		got += (size_t)k;
		buf[got] = 0;
		hdr_end = strstr(buf, "\r\n\r\n");
		if (!hdr_end)
			continue;
		hlen = (size_t)(hdr_end - buf) + 4;
		p = strcasestr(buf, "\r\nContent-Length:");
		if (!p || p > hdr_end)
			return respond(ssl, 400, "text/plain", "no length\n");
		clen = strtoul(p + 17, NULL, 10);
		if (got >= hlen + clen)
			break;
	}
	if (strncmp(buf, "POST /add-checkpoint HTTP/1.1\r\n", 31))
		return respond(ssl, 404, "text/plain", "not found\n");
	p = buf + hlen;
	end = p + clen;
	if (refuse) {
		refuse--;
		fprintf(logf, "refused status 403\n");
		return respond(ssl, 403, "text/plain", "refused by the test\n");
	}
	if (strncmp(p, "old ", 4) || !(p = memchr(p, '\n', (size_t)(end - p))) ||
	    bfl_parse_u64(buf + hlen + 4, (size_t)(p - buf - hlen - 4), &old))
		return respond(ssl, 400, "text/plain", "bad old line\n");
	p++;
	while (p < end && *p != '\n') {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ol;

		if (!nl || n == 63 ||
		    bfl_b64_decode(p, (size_t)(nl - p), proof[n], 32, &ol) || ol != 32)
			return respond(ssl, 400, "text/plain", "bad proof line\n");
		n++;
		p = nl + 1;
	}
	if (p >= end)
		return respond(ssl, 400, "text/plain", "no empty line\n");
	p++;
	if (bfl_checkpoint_open(p, (size_t)(end - p), &cp, &note, &e))
		return respond(ssl, 400, "text/plain", "bad checkpoint\n");
	status = 200;
	if (old != held_size || old > cp.size) {
		status = old > cp.size ? 400 : 409;
	} else if (root_known && old == cp.size && memcmp(held_root, cp.root, 32)) {
		status = 409;
	} else if (root_known && old && old < cp.size &&
		   bfl_verify_consistency(old, cp.size, held_root, cp.root, proof, n)) {
		status = 422;
	} else if (busy) {
		busy--;
		status = 503;
	} else if (!ingested(cp.size)) {
		status = 503;
	}
	fprintf(logf, "old %llu size %llu proof %u status %d\n", (unsigned long long)old,
		(unsigned long long)cp.size, n, status);
	if (status == 409) {
		snprintf(out, sizeof(out), "%llu\n", (unsigned long long)held_size);
		return respond(ssl, 409, "text/x.tlog.size", out);
	}
	if (status != 200)
		return respond(ssl, status, "text/plain", "no\n");
	held_size = cp.size;
	memcpy(held_root, cp.root, 32);
	root_known = true;
	cosign(&note, out, sizeof(out), bad_sig > 0);
	if (bad_sig)
		bad_sig--;
	respond(ssl, 200, "text/plain; charset=utf-8", out);
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *cert = NULL, *kf = NULL, *ca = NULL, *log = NULL,
		   *vkey = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	SSL_CTX *ctx;
	FILE *f;
	u8 md[32], vk[33];
	char b64[64];
	size_t pl = 32;
	int i, s, one = 1;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port-file"))
			port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			kf = argv[i + 1];
		else if (!strcmp(argv[i], "--ca"))
			ca = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			log = argv[i + 1];
		else if (!strcmp(argv[i], "--vkey-out"))
			vkey = argv[i + 1];
		else if (!strcmp(argv[i], "--name"))
			name = argv[i + 1];
		else if (!strcmp(argv[i], "--claim"))
			held_size = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--busy"))
			busy = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--refuse"))
			refuse = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--spool"))
			spool = argv[i + 1];
		else if (!strcmp(argv[i], "--slow-ms"))
			slow_ms = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--bad-sig"))
			bad_sig = strtoul(argv[i + 1], NULL, 10);
		else
			die("unknown option");
	}
	if (i != argc || !port_file || !cert || !kf || !ca || !log || !vkey)
		die("usage: see the source");
	signal(SIGPIPE, SIG_IGN);
	logf = fopen(log, "a");
	if (!logf)
		die("log");
	setvbuf(logf, NULL, _IOLBF, 0);

	/* The cosigning key and its verifier key, name+keyid+base64(0x04||pub). */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key || EVP_PKEY_get_raw_public_key(key, pub, &pl) != 1)
		die("keygen");
	{
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		const u8 t[2] = { '\n', 0x04 };

		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, name, strlen(name));
		EVP_DigestUpdate(c, t, 2);
		EVP_DigestUpdate(c, pub, 32);
		EVP_DigestFinal_ex(c, md, NULL);
		EVP_MD_CTX_free(c);
	}
	key_id = (u32)md[0] << 24 | (u32)md[1] << 16 | (u32)md[2] << 8 | md[3];
	vk[0] = 0x04;
	memcpy(vk + 1, pub, 32);
	bfl_b64_encode(vk, sizeof(vk), b64);
	f = fopen(vkey, "w");
	if (!f || fprintf(f, "%s+%08x+%s\n", name, key_id, b64) < 0 || fclose(f))
		die("vkey");

	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, kf, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("TLS setup");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16) ||
	    getsockname(s, (struct sockaddr *)&a, &al))
		die("listen");
	f = fopen(port_file, "w");
	if (!f || fprintf(f, "%u\n", ntohs(a.sin_port)) < 0 || fclose(f))
		die("port file");
	for (;;) {
		int c = accept(s, NULL, NULL);
		struct timeval tv = { 5, 0 };
		SSL *ssl;

		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1) {
			handle(ssl);
			SSL_shutdown(ssl);
		} else {
			fprintf(logf, "handshake failed\n");
			ERR_clear_error();
		}
		SSL_free(ssl);
		close(c);
	}
}
