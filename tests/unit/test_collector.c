// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * bioflow-collector end to end (docs/forwarding.md, "The collector"):
 * the program itself, on spool files as rsyslog writes them, with its
 * witness over HTTPS and certificates made here with openssl(1).
 *
 * Ingest: a real multi-epoch store is rebuilt from its spool, a line at a
 * time (a partial last line waits, garbage is skipped and counted), and
 * bioflow-verify passes on the copy, which is the store byte for byte;
 * everything again is dropped as duplicates; an appliance not enrolled
 * is counted, not read.  Batches (several records a line): a store sent
 * in batches is rebuilt byte for byte; a batch overlapping what the copy
 * holds has the held part dropped as duplicates and the rest appended; a
 * garbage, miscounted or truncated batch is skipped whole with the copy
 * intact; a record rewritten inside a batch freezes the log.
 *
 * Witness (c2sp.org/tlog-witness): 200 with a cosignature that verifies,
 * 409 on a stale old size (text/x.tlog.size), 422 on a bad proof, 403
 * on a bad signature, 404 for an unknown log, 400 on a malformed body
 * and on a rollback with its own old size; a fork refused (409 at the
 * same size, 422 by its proof); 503 while the copy lacks the records,
 * 200 once they are in the spool; a record rewritten in the spool
 * freezes the log, loudly, and the witness then refuses it.  TLS: no
 * answer without a client certificate or with one of another CA;
 * malformed HTTP gets its 4xx and the server lives on.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <pthread.h>
#include <pwd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "ktap.h"
#include "mirror.h"
#include "witness.h"
#include "lib/audit_rec.h"
#include "lib/store_files.h"
#include "lib/store_stream.h"
#include "lib/stream_items.h"

#define ORIGIN_A "bioflow.example/kiosk-1"
#define ORIGIN_F "bioflow.example/kiosk-f"
#define ORIGIN_B "bioflow.example/kiosk-batch"
#define ORIGIN_X "bioflow.example/stranger"
#define WNAME "collector.example/witness"

static char T[256], bin[600], verify_bin[600];
static char spool[300], logs[300], enroll[300], pki[300], src[300], src_b[300];
static char oid_a[17], oid_f[17], oid_x[17], oid_b[17];
static struct bfl_root_signer *rs, *rs2, *rs3;
static const u8 boot[16] = { 0xc0, 0x11 };
static u64 next_seq = 1;
static int port;
static pid_t server = -1;
static struct bfl_cosigner wit;
static char wvkey[512];
/* Run as root, the collector drops to this user (it never runs as root):
 * the test's files are made readable to it. */
#define TEST_USER "nobody"
static bool as_root;
static uid_t user_uid;

/* ------------------------------------------------------------ items */

/* Appliance A's stream, and B's, sent in batches (stream_items.h). */
static struct item items[4096], bitems[4096];
static struct items ia = ITEMS_OF(items), ib = ITEMS_OF(bitems);

/* Appends the message lines of items to a spool file. */
static int spool_add(const char *oid, const char *origin, enum bfl_fwd_kind kind, u64 n,
		     const u8 *b, size_t len)
{
	static char msg[BFL_FWD_MSG_MAX + 2];
	char p[400];
	long k = bfl_fwd_encode(msg, sizeof(msg), kind, origin, n, b, len);
	FILE *f;
	int ok;

	if (k < 0)
		return -1;
	msg[k++] = '\n';
	snprintf(p, sizeof(p), "%s/%s.log", spool, oid);
	f = fopen(p, "a");
	if (!f)
		return -1;
	ok = fwrite(msg, 1, (size_t)k, f) == (size_t)k;
	return fclose(f) || !ok ? -1 : 0;
}

static int spool_raw(const char *oid, const char *text, size_t len)
{
	char p[400];
	FILE *f;
	int ok;

	snprintf(p, sizeof(p), "%s/%s.log", spool, oid);
	f = fopen(p, "a");
	if (!f)
		return -1;
	ok = fwrite(text, 1, len, f) == len;
	return fclose(f) || !ok ? -1 : 0;
}

/*
 * One batch line of B's records @its[0..count): with the record at
 * @alter (if < count) altered in its last byte, and @cut bytes cut from
 * the end of the message (a truncation).
 */
static int spool_batch(const struct item *its, unsigned int count, unsigned int alter,
		       size_t cut)
{
	static char msg[BFL_FWD_BATCH_MSG_MAX + 2];
	struct bfl_fwd_batch b;
	unsigned int i;
	long k;
	int r;

	if (bfl_fwd_batch_init(&b, ORIGIN_B, BFL_FWD_BATCH_MAX_RECS, BFL_FWD_BATCH_MSG_MAX))
		return -1;
	for (i = 0, r = 0; !r && i < count; i++) {
		u8 rec[BFL_RECORD_MAX];

		memcpy(rec, its[i].b, its[i].len);
		if (i == alter)
			rec[its[i].len - 1] ^= 0x5a;
		r = its[i].kind != BFL_FWD_REC ||
		    bfl_fwd_batch_add(&b, its[i].n, rec, its[i].len);
	}
	k = r ? -1 : bfl_fwd_batch_finish(&b, msg, sizeof(msg));
	bfl_fwd_batch_free(&b);
	if (k < 0 || (size_t)k <= cut)
		return -1;
	k -= (long)cut;
	msg[k++] = '\n';
	return spool_raw(oid_b, msg, (size_t)k);
}

/* B's items [from, to) as the forwarder sends them: runs of records in
 * batches of up to @per, everything else alone. */
static int spool_b(unsigned int from, unsigned int to, unsigned int per)
{
	unsigned int i = from, k;

	while (i < to) {
		if (bitems[i].kind != BFL_FWD_REC) {
			if (spool_add(oid_b, ORIGIN_B, bitems[i].kind, bitems[i].n, bitems[i].b,
				      bitems[i].len))
				return -1;
			i++;
			continue;
		}
		for (k = 1; k < per && i + k < to && bitems[i + k].kind == BFL_FWD_REC; k++)
			;
		if (spool_batch(bitems + i, k, k, 0))
			return -1;
		i += k;
	}
	return 0;
}

static int spool_items(unsigned int from, unsigned int to)
{
	unsigned int i;

	for (i = from; i < to; i++)
		if (spool_add(oid_a, ORIGIN_A, items[i].kind, items[i].n, items[i].b, items[i].len))
			return -1;
	return 0;
}

/* ------------------------------------------------------ the stores */

static int put(struct bfl_store *st, unsigned int n)
{
	u8 buf[BFL_RECORD_MAX];
	unsigned int i;

	for (i = 0; i < n; i++, next_seq++) {
		size_t len = test_audit_rec_v2(buf, boot, 3, next_seq,
					       next_seq % 2 ? BIOREADER_AUDIT_SESSION_START :
					       BIOREADER_AUDIT_VERDICT);

		if (bfl_store_append(st, buf, len, NULL, NULL, NULL))
			return -1;
	}
	return 0;
}

static int make_store(const char *dir, const char *origin, struct bfl_root_signer *root)
{
	struct bfl_store_opts o = { .segment_max_bytes = 5000, .no_sync = true,
				    .checkpoint_file_ms = -1 };
	struct bfl_store *st = NULL;
	struct bfl_err e = { 0 };
	int i;

	if (bfl_store_create(dir, origin, root, &o, &st, &e))
		goto fail;
	for (i = 0; i < 5; i++)
		if (put(st, 7) || bfl_store_commit(st, &e))
			goto fail;
	if (bfl_store_rotate_epoch(st, &e))
		goto fail;
	for (i = 0; i < 4; i++)
		if (put(st, 6) || bfl_store_commit(st, &e))
			goto fail;
	bfl_store_close(st);
	if (bfl_store_open(dir, root, &o, &st, NULL, &e))
		goto fail;
	for (i = 0; i < 2; i++)
		if (put(st, 9) || bfl_store_commit(st, &e))
			goto fail;
	bfl_store_close(st);
	return 0;
fail:
	ktap_diag("store: %s", e.msg);
	return -1;
}

/* Appliance F, made by hand with one epoch key: records 0..19 and, from
 * index 8 on, another history under the same key (a fork). */
#define NF 20
static u8 frec[NF][BFL_RECORD_MAX], falt[NF][BFL_RECORD_MAX];
static size_t frec_len[NF], falt_len[NF];
static bfl_hash fleaf[NF], faltleaf[NF];
static char fcert[4096];
static size_t fcert_len;
static struct bfl_epoch_key fkey;

static int make_f(void)
{
	struct bfl_epoch_cert c;
	struct bfl_err e = { 0 };
	size_t len = 32;
	u64 v = 0;
	int i;

	if (rs2->ops->counter_read(rs2, &v, &e) ||
	    bfl_epoch_key_generate(&fkey, ORIGIN_F, 1, &e))
		return -1;
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", ORIGIN_F);
	c.epoch = 1;
	c.nv_counter = v;
	c.issued = 1767225600;
	if (EVP_PKEY_get_raw_public_key(fkey.priv, c.pub, &len) != 1 ||
	    bfl_cert_issue(rs2, &c, fcert, sizeof(fcert), &fcert_len, &e))
		return -1;
	for (i = 0; i < NF; i++) {
		frec_len[i] = test_audit_rec_v2(frec[i], boot, 9, (u64)i + 1, BIOREADER_AUDIT_VERDICT);
		bfl_leaf_hash(frec[i], frec_len[i], fleaf[i]);
		if (i < 8) {
			memcpy(falt[i], frec[i], frec_len[i]);
			falt_len[i] = frec_len[i];
		} else {
			falt_len[i] = test_audit_rec_v2(falt[i], boot, 9, (u64)i + 1,
							BIOREADER_AUDIT_SESSION_START);
		}
		bfl_leaf_hash(falt[i], falt_len[i], faltleaf[i]);
	}
	return 0;
}

/* A checkpoint of F of @size over @leaves, signed by F's epoch key. */
static size_t f_cp(const bfl_hash *leaves, u64 size, char *out, size_t cap)
{
	struct bfl_checkpoint cp;
	size_t len = 0;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", ORIGIN_F);
	cp.size = size;
	cp.epoch = 1;
	bfl_mth(leaves, size, cp.root);
	if (bfl_checkpoint_sign(&cp, &fkey, out, cap, &len, NULL))
		return 0;
	return len;
}

static int spool_f_cp(u64 size)
{
	char note[1024];
	size_t len = f_cp(fleaf, size, note, sizeof(note));

	return len ? spool_add(oid_f, ORIGIN_F, BFL_FWD_CP, size, (u8 *)note, len) : -1;
}

/* ------------------------------------------------------ the program */

static int run(const char *cmd)
{
	int r = system(cmd);

	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int collector_once(const char *errlog)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
		 "'%s' --once --no-syslog --user " TEST_USER " --segment-max-bytes 5000 --spool '%s' --logs '%s' --enroll '%s' 2>>'%s'",
		 bin, spool, logs, enroll, errlog);
	return run(cmd);
}

/* The server with --io-timeout @iot and, if @conns, --max-connections. */
static int start_server_opts(const char *iot, const char *conns)
{
	char portf[400], errf[400], wkey[400], ca[400], cert[400], key[400];
	int i;

	snprintf(portf, sizeof(portf), "%s/run/port", T);
	snprintf(errf, sizeof(errf), "%s/server.err", T);
	snprintf(wkey, sizeof(wkey), "%s/witness.key", pki);
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	snprintf(cert, sizeof(cert), "%s/srv.pem", pki);
	snprintf(key, sizeof(key), "%s/srv.key", pki);
	unlink(portf);
	server = fork();
	if (server == 0) {
		int fd = open(errf, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* Gone with the test, whatever becomes of it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);

		if (fd >= 0)
			dup2(fd, 2);
		execl(bin, bin, "--no-syslog", "-v", "--user", TEST_USER, "--segment-max-bytes",
		      "5000", "--interval", "100", "--io-timeout", iot, "--spool", spool, "--logs",
		      logs, "--enroll", enroll, "--witness-listen", "127.0.0.1:0", "--port-file",
		      portf, "--witness-key", wkey, "--witness-name", WNAME, "--ca", ca, "--cert",
		      cert, "--key", key, conns ? "--max-connections" : (char *)NULL, conns,
		      (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		FILE *f = fopen(portf, "r");

		if (f) {
			int ok = fscanf(f, "%d", &port) == 1;

			fclose(f);
			if (ok && port > 0)
				return 0;
		}
		usleep(50000);
	}
	return -1;
}

static int start_server(void)
{
	return start_server_opts("2000", NULL);
}

/* The collector's user may read and write what it must, and its keys are
 * its own, mode 0600. */
static int share_with_user(void)
{
	char cmd[4000];
	struct passwd *pw;

	snprintf(cmd, sizeof(cmd), "%s/run", T);
	if (mkdir(cmd, 0755))
		return -1;
	as_root = geteuid() == 0;
	if (!as_root) {
		user_uid = geteuid();
		snprintf(cmd, sizeof(cmd), "chmod 600 '%s/srv.key' '%s/witness.key'", pki, pki);
		return run(cmd) ? -1 : 0;
	}
	pw = getpwnam(TEST_USER);
	if (!pw)
		return -1;
	user_uid = pw->pw_uid;
	snprintf(cmd, sizeof(cmd),
		 "set -e; chmod 711 '%s'; chmod 755 '%s' '%s' '%s'; chmod -R a+rX '%s' '%s';"
		 "chown -R %s '%s' '%s/run'; chown %s '%s/srv.key' '%s/witness.key';"
		 "chmod 600 '%s/srv.key' '%s/witness.key'",
		 T, spool, enroll, pki, enroll, pki, TEST_USER, logs, T, TEST_USER, pki, pki, pki,
		 pki);
	return run(cmd) ? -1 : 0;
}

/* ------------------------------------------------ the HTTPS client */

/*
 * Sends @req over TLS with the client certificate @who ("cli", "rogue"
 * or NULL for none) and reads the answer into @resp (NUL-terminated);
 * its length, or -1 if there was no answer (the TLS handshake refused).
 * @plain: no TLS at all.
 */
static int exchange(const char *who, const char *req, size_t len, char *resp, size_t cap,
		    int plain)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 10 };
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	char p[400], q[400];
	size_t got = 0;
	int fd, k, ret = -1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons((u16)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	if (plain) {
		if (write(fd, req, len) != (ssize_t)len)
			goto out;
		while (got + 1 < cap && (k = (int)read(fd, resp + got, cap - got - 1)) > 0)
			got += (size_t)k;
		resp[got] = 0;
		ret = got ? (int)got : -1;
		goto out;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	snprintf(p, sizeof(p), "%s/ca.pem", pki);
	if (!ctx || SSL_CTX_load_verify_locations(ctx, p, NULL) != 1)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (who) {
		snprintf(p, sizeof(p), "%s/%s.pem", pki, who);
		snprintf(q, sizeof(q), "%s/%s.key", pki, who);
		if (SSL_CTX_use_certificate_file(ctx, p, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, q, SSL_FILETYPE_PEM) != 1)
			goto out;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "collector.test");
	SSL_set1_host(ssl, "collector.test");
	if (SSL_connect(ssl) != 1 || SSL_write(ssl, req, (int)len) != (int)len)
		goto out;
	while (got + 1 < cap && (k = SSL_read(ssl, resp + got, (int)(cap - got - 1))) > 0)
		got += (size_t)k;
	resp[got] = 0;
	ret = got ? (int)got : -1;
out:
	if (ssl)
		SSL_free(ssl);
	if (ctx)
		SSL_CTX_free(ctx);
	ERR_clear_error();
	if (fd >= 0)
		close(fd);
	return ret;
}

struct answer {
	int status;
	char ctype[128];
	int retry_after;
	char body[4096];
	size_t body_len;
	char raw[8192];
};

static int parse_answer(struct answer *a, int n)
{
	char *hdr_end, *p;

	a->status = -1;
	a->ctype[0] = 0;
	a->retry_after = 0;
	a->body_len = 0;
	if (n <= 0 || sscanf(a->raw, "HTTP/1.1 %d", &a->status) != 1)
		return a->status;
	hdr_end = strstr(a->raw, "\r\n\r\n");
	if (!hdr_end)
		return a->status = -1;
	p = strstr(a->raw, "\r\nContent-Type: ");
	if (p && p < hdr_end)
		sscanf(p + 16, "%127[^\r]", a->ctype);
	p = strstr(a->raw, "\r\nRetry-After: ");
	if (p && p < hdr_end)
		a->retry_after = atoi(p + 15);
	a->body_len = (size_t)(a->raw + n - hdr_end - 4);
	if (a->body_len >= sizeof(a->body))
		a->body_len = sizeof(a->body) - 1;
	memcpy(a->body, hdr_end + 4, a->body_len);
	a->body[a->body_len] = 0;
	return a->status;
}

static int post_raw(struct answer *a, const char *who, const char *req, size_t len)
{
	return parse_answer(a, exchange(who, req, len, a->raw, sizeof(a->raw), 0));
}

/* POST /add-checkpoint with old, a proof and a note. */
static int add_cp(struct answer *a, u64 old, const bfl_hash *proof, unsigned int np,
		  const char *note, size_t note_len)
{
	static char body[BFL_WIT_BODY_MAX + 1], req[BFL_WIT_BODY_MAX + 512];
	size_t bl = 0;
	int hl;

	if (bfl_wit_request_format(old, proof, np, note, note_len, body, sizeof(body), &bl))
		return -1;
	hl = snprintf(req, sizeof(req),
		      "POST /add-checkpoint HTTP/1.1\r\nHost: collector.test\r\n"
		      "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", bl);
	memcpy(req + hl, body, bl);
	return post_raw(a, "cli", req, (size_t)hl + bl);
}

/* The cosignature in a 200 answer verifies under the witness's key. */
static int cosig_ok(const struct answer *a, const char *note, size_t len)
{
	char *out = NULL;
	size_t ol;
	u64 t = 0;
	int r = bfl_cosig_attach(note, len, a->body, a->body_len, &wit, &t, &out, &ol, NULL);

	free(out);
	return r == 0 && t > 1700000000;
}


/* --------------------------------------------------------- helpers */

static int file_has(const char *path, const char *needle)
{
	size_t len;
	u8 *b = slurp(path, &len);
	int ok = b && strstr((char *)b, needle);

	free(b);
	return ok;
}

static int same_tree(const char *a, const char *b, const char *sub)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "diff -r '%s/%s' '%s/%s' >/dev/null 2>&1", a, sub, b, sub);
	return run(cmd) == 0;
}

static int status_has(const char *needle)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/status", logs);
	return file_has(p, needle);
}

/* @needle in the status of the appliance @oid (its lines only). */
static int app_status_has(const char *oid, const char *needle)
{
	char p[400], *at, *next, *hit;
	size_t len;
	u8 *b;
	int ok = 0;

	snprintf(p, sizeof(p), "%s/status", logs);
	b = slurp(p, &len);
	if (!b)
		return 0;
	snprintf(p, sizeof(p), "appliance %s ", oid);
	at = strstr((char *)b, p);
	if (at) {
		next = strstr(at + 1, "\nappliance ");
		hit = strstr(at, needle);
		ok = hit && (!next || hit < next);
	}
	free(b);
	return ok;
}

static int wait_status(const char *needle)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (status_has(needle))
			return 1;
		usleep(50000);
	}
	return 0;
}

/* The records of a copy that verifies (BFL_OK), else -1. */
static long long verify_dir(const char *dir, struct bfl_root_signer *r)
{
	struct bfl_verify_result vr;
	const struct bfl_finding *f;
	long long n;

	bfl_verify_store(dir, &r->key, NULL, &vr);
	f = bfl_first_error(&vr);
	if (f || vr.verdict != BFL_OK)
		ktap_diag("verify %s: %s %s", dir, f ? f->kind : "", f ? f->msg : "");
	n = vr.verdict == BFL_OK ? (long long)vr.records : -1;
	bfl_verify_result_free(&vr);
	return n;
}

static int enroll_one(const char *origin, char oid[17], struct bfl_root_signer *r)
{
	char p[400];
	FILE *f;

	bfl_fwd_oid(origin, oid);
	snprintf(p, sizeof(p), "%s/%s", enroll, oid);
	if (mkdir(p, 0750))
		return -1;
	snprintf(p, sizeof(p), "%s/%s/origin", enroll, oid);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", origin);
	fclose(f);
	snprintf(p, sizeof(p), "%s/%s/root.pub.pem", enroll, oid);
	return bfl_write_pubkey_pem(r->key.pk, p, NULL);
}

static int make_pki(void)
{
	char cmd[3000];

	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; exec 2>pki.log\n"
		 "ec() { k=$1; cn=$2; shift 2; openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $k.key -subj /CN=$cn \"$@\"; }\n"
		 "ec ca test-ca -x509 -days 2 -out ca.pem\n"
		 "ec rca rogue-ca -x509 -days 2 -out rca.pem\n"
		 "printf 'subjectAltName=DNS:collector.test,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' >srv.ext\n"
		 "printf 'extendedKeyUsage=clientAuth\\n' >cli.ext\n"
		 "ec srv collector.test -out srv.csr\n"
		 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem\n"
		 "ec cli appliance-1 -out cli.csr\n"
		 "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile cli.ext -out cli.pem\n"
		 "ec rogue appliance-1 -out rogue.csr\n"
		 "openssl x509 -req -in rogue.csr -CA rca.pem -CAkey rca.key -CAcreateserial -days 2 -extfile cli.ext -out rogue.pem\n"
		 "openssl genpkey -algorithm ed25519 -out witness.key\n",
		 pki);
	return run(cmd) ? -1 : 0;
}

static int load_witness_vkey(void)
{
	char cmd[1200], vkey[512] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' --print-vkey --witness-key '%s/witness.key' --witness-name %s",
		 bin, pki, WNAME);
	f = popen(cmd, "r");
	if (!f || !fgets(vkey, sizeof(vkey), f)) {
		if (f)
			pclose(f);
		return -1;
	}
	if (pclose(f))
		return -1;
	vkey[strcspn(vkey, "\n")] = 0;
	ktap_diag("witness %s", vkey);
	snprintf(wvkey, sizeof(wvkey), "%s", vkey);
	return bfl_cosigner_from_vkey(&wit, vkey, NULL);
}

/* Appliance B, sent in batches (ingest.c, line()). */
static void batch_tests(void)
{
	unsigned int c14 = items_find(&ib, BFL_FWD_CP, 14, 0), c21 = items_find(&ib, BFL_FWD_CP, 21, 0);
	unsigned int r10 = items_find(&ib, BFL_FWD_REC, 10, 0), r14 = items_find(&ib, BFL_FWD_REC, 14, 0);
	unsigned int r30 = items_find(&ib, BFL_FWD_REC, 30, 0), last = items_find(&ib, BFL_FWD_REC, 60, 0);
	char p[1400], q[400];
	long long before;
	int r, ok;

	ktap_require(c14 < ib.n && c21 < ib.n && r10 < c14 && r14 == c14 + 1 &&
		     r30 < ib.n && last < ib.n, "B: records 10..60, checkpoints 14 and 21");
	snprintf(p, sizeof(p), "%s/b.err", T);
	snprintf(q, sizeof(q), "%s/%s", logs, oid_b);
	/* The stream to checkpoint 14, records 5 a line. */
	r = spool_b(0, c14 + 1, 5) || collector_once(p) != 0;
	ok = !r && verify_dir(q, rs3) == 14 && app_status_has(oid_b, "batches ") &&
	     !app_status_has(oid_b, "batches 0 ");
	ktap_check(ok, "batches: the stream to checkpoint 14 in batches of 5 makes a copy of 14 records that verifies");

	/* Damaged batches of records 14..20: a count that is not the
	 * fields', a line cut at a base64 quantum of its last record (valid
	 * base64, every field there), a record's base64 garbled. */
	before = verify_dir(q, rs3);
	{
		static char msg[BFL_FWD_BATCH_MSG_MAX + 2];
		struct bfl_fwd_batch b;
		unsigned int i;
		long k = -1;
		char *sp;

		r = bfl_fwd_batch_init(&b, ORIGIN_B, 64, BFL_FWD_BATCH_MSG_MAX);
		for (i = r14; !r && i < c21; i++)
			r = bfl_fwd_batch_add(&b, bitems[i].n, bitems[i].b, bitems[i].len);
		if (!r)
			k = bfl_fwd_batch_finish(&b, msg, sizeof(msg));
		bfl_fwd_batch_free(&b);
		/* "recs 14 7 <bytes>": the count 7 made 8. */
		sp = k > 0 ? strstr(msg, " recs 14 7 ") : NULL;
		if (sp) {
			sp[9] = '8';
			r = spool_raw(oid_b, msg, (size_t)k) || spool_raw(oid_b, "\n", 1);
			sp[9] = '7';
		} else {
			r = -1;
		}
		r = r || spool_batch(bitems + r14, c21 - r14, c21, 8);
		if (!r && k > 40) {
			msg[k - 3] = '!';
			msg[k] = '\n';
			r = spool_raw(oid_b, msg, (size_t)k + 1);
		}
	}
	r = r || collector_once(p) != 0;
	ktap_check(!r && before == 14 && app_status_has(oid_b, "garbage 3 ") &&
		   app_status_has(oid_b, "records 14 sealed 14 ") && verify_dir(q, rs3) == 14,
		   "batches: a miscounted, a truncated and a garbled batch skipped whole; the copy still 14 records, verifies");

	/* Records 10..20 in one batch: 10..13 held, 14..20 appended. */
	{
		struct item run[11];
		unsigned int i, k = 0;

		for (i = r10; i < c21 && k < 11; i++)
			if (bitems[i].kind == BFL_FWD_REC)
				run[k++] = bitems[i];
		/* the four held and the seven new in one line */
		r = k != 11 || spool_batch(run, 11, 11, 0);
	}
	r = r || collector_once(p) != 0;
	ok = !r && app_status_has(oid_b, "duplicate 4 ") && app_status_has(oid_b, "records 21 ");
	ktap_check(ok, "batches: a batch of 10..20 over a copy of 14: 10..13 dropped as duplicates, 14..20 appended");
	r = spool_b(c21, ib.n, 7) || collector_once(p) != 0;
	ktap_check(!r && same_tree(src_b, q, "segments") && same_tree(src_b, q, "epochs") &&
		   app_status_has(oid_b, "state ok"),
		   "batches: the rest in batches of 7: the copy is the store byte for byte");

	/* Records 30..34 again, 32 with another last byte. */
	before = verify_dir(q, rs3);
	r = spool_batch(bitems + r30, 5, 2, 0) || collector_once(p) != 1;
	snprintf(p, sizeof(p), "%s/FROZEN", q);
	ktap_check(!r && access(p, F_OK) == 0 && app_status_has(oid_b, "state frozen"),
		   "batches: record 32 rewritten inside a batch: the log frozen, FROZEN written");
	snprintf(p, sizeof(p), "%s/b.err", T);
	ktap_check(file_has(p, "HISTORY REWRITTEN") && file_has(p, "rec 32"),
		   "batches: the rewrite is logged loudly, naming the record");
	ktap_check(before > 0 && verify_dir(q, rs3) == before && same_tree(src_b, q, "segments"),
		   "batches: the frozen copy is intact (the store's, verifies)");
	/* B is done: out of the way of the witness's tests. */
	snprintf(p, sizeof(p), "rm -rf '%s/%s' '%s' '%s/%s.log'", enroll, oid_b, q, spool, oid_b);
	if (run(p))
		ktap_diag("could not remove B");
}

/* ------------------------------------- many appliances, hand-made */

#define NG 8		/* appliances */
#define GR 24		/* records each */

struct happ {
	char origin[64], oid[17];
	struct bfl_epoch_key key;
	bfl_hash leaf[GR];
};

static struct happ g[NG];

static size_t g_cp(const struct happ *h, u64 size, char *out, size_t cap)
{
	struct bfl_checkpoint cp;
	size_t len = 0;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%.63s", h->origin);
	cp.size = size;
	cp.epoch = 1;
	bfl_mth(h->leaf, size, cp.root);
	if (bfl_checkpoint_sign(&cp, &h->key, out, cap, &len, NULL))
		return 0;
	return len;
}

/* NG appliances of root rs2, enrolled, GR records each in their spool. */
static int make_g(void)
{
	static const char info_fmt[] = "bioflow-store v3\norigin %s\n";
	char cert[4096], note[2048], info[200], cmd[700];
	struct bfl_epoch_cert c;
	struct bfl_err e = { 0 };
	u8 rec[BFL_RECORD_MAX];
	size_t len, cl;
	u64 v = 0;
	int i, j, n;

	if (rs2->ops->counter_read(rs2, &v, &e))
		return -1;
	for (i = 0; i < NG; i++) {
		struct happ *h = &g[i];

		snprintf(h->origin, sizeof(h->origin), "bioflow.example/fleet-%d", i);
		if (bfl_epoch_key_generate(&h->key, h->origin, 1, &e))
			return -1;
		memset(&c, 0, sizeof(c));
		snprintf(c.origin, sizeof(c.origin), "%.63s", h->origin);
		c.epoch = 1;
		c.nv_counter = v;
		c.issued = 1767225600;
		len = 32;
		if (EVP_PKEY_get_raw_public_key(h->key.priv, c.pub, &len) != 1 ||
		    bfl_cert_issue(rs2, &c, cert, sizeof(cert), &cl, &e) ||
		    enroll_one(h->origin, h->oid, rs2))
			return -1;
		n = snprintf(info, sizeof(info), info_fmt, h->origin);
		if (spool_add(h->oid, h->origin, BFL_FWD_INFO, 0, (u8 *)info, (size_t)n) ||
		    spool_add(h->oid, h->origin, BFL_FWD_CERT, 1, (u8 *)cert, cl))
			return -1;
		len = g_cp(h, 0, note, sizeof(note));
		if (!len || spool_add(h->oid, h->origin, BFL_FWD_CP, 0, (u8 *)note, len))
			return -1;
		for (j = 0; j < GR; j++) {
			size_t rl = test_audit_rec_v2(rec, boot, 9, (u64)j + 1,
						      j % 2 ? BIOREADER_AUDIT_VERDICT :
						      BIOREADER_AUDIT_SESSION_START);

			bfl_leaf_hash(rec, rl, h->leaf[j]);
			if (spool_add(h->oid, h->origin, BFL_FWD_REC, (u64)j, rec, rl))
				return -1;
		}
		len = g_cp(h, GR, note, sizeof(note));
		if (!len || spool_add(h->oid, h->origin, BFL_FWD_CP, GR, (u8 *)note, len))
			return -1;
	}
	snprintf(cmd, sizeof(cmd), "chmod -R a+rX '%s' '%s'", enroll, spool);
	return run(cmd) ? -1 : 0;
}

/* An add-checkpoint request, whole: its length or -1. */
static int make_req(u64 old, const bfl_hash *proof, unsigned int np, const char *note,
		    size_t note_len, char *req, size_t cap)
{
	static char body[BFL_WIT_BODY_MAX + 1];
	size_t bl = 0;
	int hl;

	if (bfl_wit_request_format(old, proof, np, note, note_len, body, sizeof(body), &bl))
		return -1;
	hl = snprintf(req, cap,
		      "POST /add-checkpoint HTTP/1.1\r\nHost: collector.test\r\n"
		      "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", bl);
	if (hl < 0 || (size_t)hl + bl > cap)
		return -1;
	memcpy(req + hl, body, bl);
	return hl + (int)bl;
}

/* A TCP connection to the server that sends nothing: -1 or the socket. */
static int raw_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 15 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_port = htons((u16)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Open: the server has neither closed it nor said anything on it. */
static bool still_open(int fd)
{
	char ch;
	ssize_t k = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);

	return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* The server closed it (or reset it) without a byte. */
static bool closed_by_server(int fd)
{
	char ch;
	ssize_t k = recv(fd, &ch, 1, 0);	/* SO_RCVTIMEO: fails the test */

	return k == 0 || (k < 0 && errno == ECONNRESET);
}

/* A TLS client connection with the certificate "cli". */
struct tconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static void tconn_close(struct tconn *t)
{
	if (t->ssl)
		SSL_free(t->ssl);
	if (t->ctx)
		SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	t->ssl = NULL;
	t->ctx = NULL;
	t->fd = -1;
	ERR_clear_error();
}

static int tconn_open(struct tconn *t)
{
	char p[400], q[400];

	t->ctx = NULL;
	t->ssl = NULL;
	t->fd = raw_connect();
	if (t->fd < 0)
		return -1;
	t->ctx = SSL_CTX_new(TLS_client_method());
	snprintf(p, sizeof(p), "%s/ca.pem", pki);
	if (!t->ctx || SSL_CTX_load_verify_locations(t->ctx, p, NULL) != 1)
		goto fail;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	snprintf(p, sizeof(p), "%s/cli.pem", pki);
	snprintf(q, sizeof(q), "%s/cli.key", pki);
	if (SSL_CTX_use_certificate_file(t->ctx, p, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(t->ctx, q, SSL_FILETYPE_PEM) != 1)
		goto fail;
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl)
		goto fail;
	SSL_set_fd(t->ssl, t->fd);
	SSL_set1_host(t->ssl, "collector.test");
	if (SSL_connect(t->ssl) != 1)
		goto fail;
	return 0;
fail:
	tconn_close(t);
	return -1;
}

static int tconn_send(struct tconn *t, const char *b, size_t len)
{
	return len && SSL_write(t->ssl, b, (int)len) != (int)len ? -1 : 0;
}

/* The whole answer, parsed: its status, or -1. */
static int tconn_answer(struct tconn *t, struct answer *a)
{
	size_t got = 0;
	int k;

	while (got + 1 < sizeof(a->raw) &&
	       (k = SSL_read(t->ssl, a->raw + got, (int)(sizeof(a->raw) - got - 1))) > 0)
		got += (size_t)k;
	a->raw[got] = 0;
	return parse_answer(a, got ? (int)got : -1);
}

/* One appliance's request, sent at the barrier. */
struct job {
	pthread_barrier_t *bar;
	char req[BFL_WIT_BODY_MAX + 512];
	int len;
	bool hold_last;		/* all but the last byte before the barrier */
	const char *note;
	size_t note_len;
	struct answer a;
	int status;
	bool cosig;
};

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct tconn t;
	size_t first = j->hold_last ? (size_t)j->len - 1 : 0;
	int ok = !tconn_open(&t);

	j->status = -1;
	ok = ok && !tconn_send(&t, j->req, first);
	pthread_barrier_wait(j->bar);
	ok = ok && !tconn_send(&t, j->req + first, (size_t)j->len - first);
	if (ok)
		j->status = tconn_answer(&t, &j->a);
	j->cosig = j->status == 200 && cosig_ok(&j->a, j->note, j->note_len);
	if (ok)
		tconn_close(&t);
	return NULL;
}

/* A client that sends its request head one byte a second. */
struct slow {
	volatile bool ready, done;
	int status;
	size_t sent;
};

static void *slow_run(void *arg)
{
	static const char head[] = "POST /add-checkpoint HTTP/1.1\r\nX-Slow: "
				   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	struct slow *sl = arg;
	struct answer a;
	struct tconn t;

	sl->status = -1;
	if (tconn_open(&t)) {
		sl->ready = sl->done = true;
		return NULL;
	}
	sl->ready = true;
	for (sl->sent = 0; sl->sent < sizeof(head) - 1; sl->sent++) {
		struct pollfd p = { .fd = t.fd, .events = POLLIN };

		if (tconn_send(&t, head + sl->sent, 1) || poll(&p, 1, 1000))
			break;
	}
	sl->status = tconn_answer(&t, &a);
	tconn_close(&t);
	sl->done = true;
	return NULL;
}

static void stop_server(void)
{
	int st;

	kill(server, SIGTERM);
	waitpid(server, &st, 0);
	server = -1;
}

static bool proc_uids_are(pid_t pid, uid_t uid)
{
	char p[64], line[256];
	unsigned int r = 1, e = 1, s = 1, f = 1;
	bool found = false;
	FILE *fp;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	fp = fopen(p, "r");
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &f) == 4)
			found = true;
	fclose(fp);
	return found && r == uid && e == uid && s == uid && f == uid;
}

int main(int argc, char **argv)
{
	struct bfl_leaves lv = { 0 };
	struct bfl_err e = { 0 };
	struct answer a;
	bfl_hash proof[BFL_PROOF_MAX];
	unsigned int np = 0, split, i, c14, c28, c35a, c35b, c68;
	char p[600], cmd[1600], note[2048], alt[2048], exe[PATH_MAX], vcmd[4096];
	size_t nl, al;
	int r, ok;
	char *slash;

	(void)argc;
	snprintf(T, sizeof(T), "%s/bfl-collector-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : P_tmpdir);
	if (!mkdtemp(T))
		return 1;
	/* The programs beside this one: build/tests/unit/ -> build/. */
	if (!realpath("/proc/self/exe", exe))
		snprintf(exe, sizeof(exe), "%s", argv[0]);
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(verify_bin, sizeof(verify_bin), "%.500s/../../bioflow-verify", exe);
	snprintf(bin, sizeof(bin), "%.500s/../../bioflow-collector", exe);
	snprintf(spool, sizeof(spool), "%s/spool", T);
	snprintf(logs, sizeof(logs), "%s/logs", T);
	snprintf(enroll, sizeof(enroll), "%s/enroll", T);
	snprintf(pki, sizeof(pki), "%s/pki", T);
	snprintf(src, sizeof(src), "%s/appliance", T);
	snprintf(src_b, sizeof(src_b), "%s/appliance-b", T);
	mkdir(spool, 0750);
	mkdir(logs, 0750);
	mkdir(enroll, 0750);
	mkdir(pki, 0750);
	signal(SIGPIPE, SIG_IGN);

	ktap_plan(59 + 8);
	rs = bfl_soft_root_new(NULL, NULL, &e);
	rs2 = bfl_soft_root_new(NULL, NULL, &e);
	rs3 = bfl_soft_root_new(NULL, NULL, &e);
	ktap_require(rs && rs2 && rs3 && access(bin, X_OK) == 0 && access(verify_bin, X_OK) == 0 &&
		     !make_store(src, ORIGIN_A, rs) && !store_stream(src, items_collect, &ia) &&
		     !make_store(src_b, ORIGIN_B, rs3) && !store_stream(src_b, items_collect, &ib) &&
		     !make_f() && !enroll_one(ORIGIN_B, oid_b, rs3) &&
		     !enroll_one(ORIGIN_A, oid_a, rs) && !enroll_one(ORIGIN_F, oid_f, rs2) &&
		     !make_pki() && !load_witness_vkey() && !share_with_user() &&
		     !bfl_store_load_leaves(src, &lv, &e),
		     "an appliance store, a hand-made log, enrollments, certificates, the witness key");
	bfl_fwd_oid(ORIGIN_X, oid_x);

	/* ------------------------------------------------------ ingest */
	c14 = items_find(&ia, BFL_FWD_CP, 14, 0);
	split = c14 + 1;
	r = spool_items(0, split) ||
	    spool_raw(oid_a, "hello, not a message\n", 21) ||
	    spool_raw(oid_a, "bioflow1 0123456789abcdef rec 1 x QkFSQw==\n", 43);
	{
		static char msg[BFL_FWD_MSG_MAX + 2];
		long k = bfl_fwd_encode(msg, sizeof(msg), items[split].kind, ORIGIN_A,
					items[split].n, items[split].b, items[split].len);

		/* The next line, cut short: rsyslog has not written it all. */
		r = r || k < 60 || spool_raw(oid_a, msg, 50);
		snprintf(p, sizeof(p), "%s/a.err", T);
		r = r || collector_once(p) != 0;
		snprintf(p, sizeof(p), "%s/%s", logs, oid_a);
		ktap_check(!r && verify_dir(p, rs) == 14,
			   "ingest: the first part of the spool makes a copy of 14 records that verifies");
		snprintf(p, sizeof(p), "%s/%s/collector/offset", logs, oid_a);
		{
			struct stat sb;
			char sp[400];
			size_t len;
			u8 *b = slurp(p, &len);
			unsigned long long d, in, off = 0;

			snprintf(sp, sizeof(sp), "%s/%s.log", spool, oid_a);
			ok = b && !stat(sp, &sb) && sscanf((char *)b, "%llu %llu %llu", &d, &in, &off) == 3 &&
			     off == (unsigned long long)sb.st_size - 50;
			free(b);
		}
		ktap_check(ok, "ingest: the position saved is the start of the partial last line");
		ktap_check(status_has("garbage 2 "), "ingest: two garbage lines skipped and counted");
		snprintf(p, sizeof(p), "%s/a.err", T);
		ktap_check(file_has(p, "line skipped"), "ingest: garbage is logged");
		r = spool_raw(oid_a, msg + 50, (size_t)k - 50) || spool_raw(oid_a, "\n", 1) ||
		    spool_items(split + 1, ia.n);
	}
	snprintf(p, sizeof(p), "%s/a.err", T);
	r = r || collector_once(p) != 0;
	snprintf(p, sizeof(p), "%s/%s", logs, oid_a);
	ktap_check(!r && same_tree(src, p, "segments") && same_tree(src, p, "epochs"),
		   "ingest: the partial line completed and the rest: the copy is the store byte for byte");
	snprintf(cmd, sizeof(cmd), "%s/%s/root.pub.pem", enroll, oid_a);
	snprintf(vcmd, sizeof(vcmd), "'%s' --root-key '%s' '%s/%s' >'%s/verify.out' 2>&1", verify_bin,
		 cmd, logs, oid_a, T);
	r = run(vcmd);
	if (r)
		ktap_diag("bioflow-verify exit %d", r);
	ktap_check(r == 0, "ingest: bioflow-verify --root-key passes on the copy");
	r = spool_items(0, ia.n);
	snprintf(p, sizeof(p), "%s/a.err", T);
	r = r || collector_once(p) != 0;
	snprintf(p, sizeof(p), "%s/%s", logs, oid_a);
	snprintf(note, sizeof(note), "duplicate %u ", ia.n);
	ktap_check(!r && status_has(note) && same_tree(src, p, "segments"),
		   "ingest: the whole stream again is dropped as duplicates; the copy is unchanged");
	{
		static const u8 info[] = "bioflow-store v3\norigin " ORIGIN_X "\n";

		r = spool_add(oid_x, ORIGIN_X, BFL_FWD_INFO, 0, info, sizeof(info) - 1);
		snprintf(p, sizeof(p), "%s/a.err", T);
		r = r || collector_once(p) != 0;
		snprintf(p, sizeof(p), "%s/%s", logs, oid_x);
		ktap_check(!r && status_has("unknown-spool-files 1 ") && access(p, F_OK) != 0,
			   "ingest: an appliance not enrolled is counted, not read");
	}

	batch_tests();

	/* ----------------------------------------------------- witness */
	/* F's spool: records 0..7 and the checkpoint of 8. */
	{
		static const u8 info[] = "bioflow-store v3\norigin " ORIGIN_F "\n";

		r = spool_add(oid_f, ORIGIN_F, BFL_FWD_INFO, 0, info, sizeof(info) - 1) ||
		    spool_add(oid_f, ORIGIN_F, BFL_FWD_CERT, 1, (u8 *)fcert, fcert_len) ||
		    spool_f_cp(0);
		for (i = 0; i < 8; i++)
			r = r || spool_add(oid_f, ORIGIN_F, BFL_FWD_REC, i, frec[i], frec_len[i]);
		r = r || spool_f_cp(8);
	}
	ktap_require(!r && !start_server(), "the collector serves the witness over HTTPS");
	ktap_diag("port %d", port);

	c28 = items_find(&ia, BFL_FWD_CP, 28, 0);
	c35a = items_find(&ia, BFL_FWD_CP, 35, 0);
	c35b = c35a + 2;	/* the certificate of epoch 2, then its checkpoint */
	c68 = items_find(&ia, BFL_FWD_CP, 68, 0);
	ktap_require(c28 < ia.n && c35b < ia.n && items[c35b].kind == BFL_FWD_CP &&
		     items[c35b].n == 35 && c68 < ia.n, "checkpoints at 14, 28, 35 (epochs 1 and 2), 68 (epoch 3)");

	/* 404, 403, 400 */
	snprintf(note, sizeof(note), ORIGIN_X "\n5\n%s\n\n\xe2\x80\x94 " ORIGIN_X " AAAAAAE=\n",
		 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	add_cp(&a, 0, NULL, 0, note, strlen(note));
	ktap_check(a.status == 404, "witness: a checkpoint of a log not enrolled: 404");
	memcpy(note, items[c14].b, items[c14].len);
	nl = items[c14].len;
	/* another base64 character in the signature: well-formed, wrong */
	note[nl - 6] = note[nl - 6] == 'A' ? 'B' : 'A';
	add_cp(&a, 0, NULL, 0, note, nl);
	ktap_check(a.status == 403, "witness: a checkpoint whose signature does not verify: 403");
	{
		const char *bad = "POST /add-checkpoint HTTP/1.1\r\nContent-Length: 9\r\n\r\nold 01\n\nx";

		post_raw(&a, "cli", bad, strlen(bad));
		ktap_check(a.status == 400, "witness: a malformed body: 400");
	}

	/* 200, then 409 on a stale old size */
	add_cp(&a, 0, NULL, 0, (char *)items[c14].b, items[c14].len);
	ok = a.status == 200 && cosig_ok(&a, (char *)items[c14].b, items[c14].len);
	snprintf(p, sizeof(p), "%s/%s/witness/latest", logs, oid_a);
	ktap_check(ok && file_has(p, WNAME), "witness: old 0, checkpoint 14: 200, a cosignature that verifies, persisted");
	if (a.status != 200)
		ktap_diag("%d %s", a.status, a.body);
	add_cp(&a, 0, NULL, 0, (char *)items[c28].b, items[c28].len);
	ktap_check(a.status == 409 && !strcmp(a.body, "14\n") &&
		   !strcmp(a.ctype, "text/x.tlog.size"),
		   "witness: old 0 again: 409, body \"14\\n\", text/x.tlog.size");

	/* 422 on a bad proof, then the right one */
	r = bfl_consistency_proof(lv.leaf, 14, 28, proof, &np);
	proof[0][5] ^= 1;
	add_cp(&a, 14, proof, np, (char *)items[c28].b, items[c28].len);
	ktap_check(!r && np && a.status == 422, "witness: 14 -> 28 with a proof altered: 422");
	proof[0][5] ^= 1;
	add_cp(&a, 14, proof, np, (char *)items[c28].b, items[c28].len);
	ktap_check(a.status == 200 && cosig_ok(&a, (char *)items[c28].b, items[c28].len),
		   "witness: 14 -> 28 with the proof: 200, cosigned");
	add_cp(&a, 14, NULL, 0, (char *)items[c28].b, items[c28].len);
	ktap_check(a.status == 409 && !strcmp(a.body, "28\n"),
		   "witness: the same request again (old 14): 409 with 28");

	/* Rollback: a smaller checkpoint. */
	add_cp(&a, 28, NULL, 0, (char *)items[c14].b, items[c14].len);
	ok = a.status == 400;
	add_cp(&a, 14, NULL, 0, (char *)items[c14].b, items[c14].len);
	ktap_check(ok && a.status == 409 && !strcmp(a.body, "28\n"),
		   "witness: a rollback to 14 refused: 400 with old 28 (old > size), 409 with old 14");
	/* An epoch start re-signs the same tree; the same checkpoint again. */
	r = bfl_consistency_proof(lv.leaf, 28, 35, proof, &np);
	add_cp(&a, 28, proof, np, (char *)items[c35a].b, items[c35a].len);
	ok = !r && a.status == 200;
	add_cp(&a, 35, NULL, 0, (char *)items[c35b].b, items[c35b].len);
	ok = ok && a.status == 200 && cosig_ok(&a, (char *)items[c35b].b, items[c35b].len);
	add_cp(&a, 35, NULL, 0, (char *)items[c35b].b, items[c35b].len);
	ktap_check(ok && a.status == 200,
		   "witness: 28 -> 35 (epoch 1), 35 by epoch 2 (same tree), the same again: 200");
	r = bfl_consistency_proof(lv.leaf, 35, 68, proof, &np);
	add_cp(&a, 35, proof, np, (char *)items[c68].b, items[c68].len);
	ktap_check(!r && a.status == 200, "witness: 35 (epoch 2) -> 68 (epoch 3): 200");
	ktap_check(wait_status("witnessed 68 epoch 3 "), "witness: the status says 68, epoch 3");

	/* The auditor's side: bioflow-verify --witness. */
	{
		char latest[400], pem[400], bad[400], old[400];
		struct bfl_mirror *m = NULL;
		size_t len;
		u8 *b;

		snprintf(latest, sizeof(latest), "%s/%s/witness/latest", logs, oid_a);
		snprintf(pem, sizeof(pem), "%s/%s/root.pub.pem", enroll, oid_a);
		snprintf(vcmd, sizeof(vcmd),
			 "'%s' -q --root-key '%s' --witness '%s' --cosigned '%s' '%s/%s' >>'%s/verify.out' 2>&1",
			 verify_bin, pem, wvkey, latest, logs, oid_a, T);
		ktap_check(run(vcmd) == 0,
			   "verify --witness --cosigned witness/latest: the collector's copy passes (exit 0)");
		/* The cosignature altered; another witness's key. */
		b = slurp(latest, &len);
		snprintf(bad, sizeof(bad), "%s/latest-altered", T);
		ok = b && len > 20;
		if (ok) {
			/* another base64 character: still well-formed, not the same bits */
			b[len - 10] = b[len - 10] == 'A' ? 'B' : 'A';
			ok = !spit(bad, b, len);
		}
		free(b);
		snprintf(vcmd, sizeof(vcmd),
			 "'%s' -q --root-key '%s' --witness '%s' --cosigned '%s' '%s/%s' >'%s/w.out' 2>&1",
			 verify_bin, pem, wvkey, bad, logs, oid_a, T);
		r = run(vcmd);
		snprintf(p, sizeof(p), "%s/w.out", T);
		ktap_check(ok && r == 1 && file_has(p, "witness-cosignature"),
			   "verify --witness: an altered cosignature fails (exit 1, witness-cosignature)");
		snprintf(vcmd, sizeof(vcmd),
			 "'%s' -q --root-key '%s' --witness other.example/w+00000000+%s --cosigned '%s' '%s/%s' >'%s/w.out' 2>&1",
			 verify_bin, pem, "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", latest, logs, oid_a, T);
		r = run(vcmd);
		ktap_check(r == 2, "verify --witness: a verifier key whose key ID is not its own: usage error");
		/* An older copy of the appliance's store (14 records): alone
		 * it verifies; against the witness's checkpoint it fails. */
		snprintf(old, sizeof(old), "%s/older-copy", T);
		r = bfl_mirror_open(old, ORIGIN_A, &rs->key, &(struct bfl_mirror_opts){
				    .segment_max_bytes = 5000, .no_sync = true }, &m, NULL, &e);
		for (i = 0; !r && i <= c14; i++)
			r = bfl_mirror_add(m, items[i].kind, items[i].n, items[i].b, items[i].len,
					   &e) < 0;
		bfl_mirror_close(m);
		snprintf(vcmd, sizeof(vcmd), "'%s' -q --root-key '%s' '%s' >'%s/w.out' 2>&1",
			 verify_bin, pem, old, T);
		ok = !r && run(vcmd) == 0;
		snprintf(vcmd, sizeof(vcmd),
			 "'%s' -q --root-key '%s' --witness '%s' --cosigned '%s' '%s' >'%s/w.out' 2>&1",
			 verify_bin, pem, wvkey, latest, old, T);
		ktap_check(ok && run(vcmd) == 1 && file_has(p, "truncated"),
			   "rollback to an older copy: verifies alone, fails (truncated) against the witness's cosigned checkpoint");
	}

	/* F: 503 until the records are in the spool, then 200. */
	nl = f_cp(fleaf, 13, note, sizeof(note));
	add_cp(&a, 0, NULL, 0, note, nl);
	ok = a.status == 503 && a.retry_after > 0;
	if (!ok)
		ktap_diag("%d %s", a.status, a.body);
	ktap_check(ok, "witness: F's checkpoint 13 while the copy holds 8 records: 503 with Retry-After");
	r = 0;
	for (i = 8; i < 13; i++)
		r = r || spool_add(oid_f, ORIGIN_F, BFL_FWD_REC, i, frec[i], frec_len[i]);
	r = r || spool_f_cp(13);
	add_cp(&a, 0, NULL, 0, note, nl);
	ktap_check(!r && a.status == 200 && cosig_ok(&a, note, nl),
		   "witness: the records in the spool, the same request: ingested first, 200");

	/* A fork: the same key signs another history. */
	al = f_cp(faltleaf, 13, alt, sizeof(alt));
	add_cp(&a, 13, NULL, 0, alt, al);
	ktap_check(a.status == 409 && !strcmp(a.body, "13\n"),
		   "witness: another checkpoint of size 13 (another root): 409");
	al = f_cp(faltleaf, 20, alt, sizeof(alt));
	r = bfl_consistency_proof(faltleaf, 13, 20, proof, &np);
	add_cp(&a, 13, proof, np, alt, al);
	ktap_check(!r && a.status == 422,
		   "witness: a fork's checkpoint 20, with its own proof from its 13: 422");
	snprintf(p, sizeof(p), "%s/server.err", T);
	ktap_check(file_has(p, "a fork") && file_has(p, "not consistent"),
		   "witness: both fork attempts are logged");

	/* History rewritten in the spool: F's record 8 with other bytes. */
	r = spool_add(oid_f, ORIGIN_F, BFL_FWD_REC, 8, falt[8], falt_len[8]);
	snprintf(p, sizeof(p), "%s/%s/FROZEN", logs, oid_f);
	ok = !r && wait_status("state frozen");
	ktap_check(ok && access(p, F_OK) == 0, "ingest: record 8 rewritten: F frozen, FROZEN written");
	snprintf(p, sizeof(p), "%s/server.err", T);
	ktap_check(file_has(p, "HISTORY REWRITTEN") && file_has(p, "record 8"),
		   "ingest: the rewrite is logged loudly, naming the record");
	for (i = 13; i < NF; i++)
		spool_add(oid_f, ORIGIN_F, BFL_FWD_REC, i, frec[i], frec_len[i]);
	nl = f_cp(fleaf, 20, note, sizeof(note));
	r = bfl_consistency_proof(fleaf, 13, 20, proof, &np);
	add_cp(&a, 13, proof, np, note, nl);
	ktap_check(!r && a.status == 422 && strstr(a.body, "frozen"),
		   "witness: a frozen log's next checkpoint: 422 (frozen)");
	snprintf(p, sizeof(p), "%s/%s", logs, oid_f);
	ktap_check(verify_dir(p, rs2) == 13, "ingest: the frozen copy is intact (13 records, verifies)");

	/* TLS and HTTP. */
	{
		const char *req = "POST /add-checkpoint HTTP/1.1\r\nContent-Length: 3\r\n\r\nold";

		ktap_check(post_raw(&a, NULL, req, strlen(req)) == -1,
			   "TLS: a client without a certificate gets no answer");
		ktap_check(post_raw(&a, "rogue", req, strlen(req)) == -1,
			   "TLS: a client certificate of another CA gets no answer");
		ktap_check(post_raw(&a, "cli", "GARBAGE\r\n\r\n", 11) == 400,
			   "HTTP: garbage: 400");
		req = "GET /add-checkpoint HTTP/1.1\r\n\r\n";
		ok = post_raw(&a, "cli", req, strlen(req)) == 405;
		req = "POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx";
		ok = ok && post_raw(&a, "cli", req, strlen(req)) == 404;
		req = "POST /add-checkpoint HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n";
		ok = ok && post_raw(&a, "cli", req, strlen(req)) == 413;
		req = "POST /add-checkpoint HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
		ok = ok && post_raw(&a, "cli", req, strlen(req)) == 501;
		req = "POST /add-checkpoint HTTP/1.1\r\n\r\n";
		ok = ok && post_raw(&a, "cli", req, strlen(req)) == 411;
		ktap_check(ok, "HTTP: GET 405, another path 404, a huge length 413, chunked 501, no length 411");
		req = "POST /add-checkpoint HTTP/1.1\r\nContent-Length: 50\r\n\r\nold 0\n";
		{
			long long t0 = ktap_now_ms();

			r = post_raw(&a, "cli", req, strlen(req));
			ktap_check(r == 408 && ktap_now_ms() - t0 < 9000,
				   "HTTP: a body that never comes: 408 within the connection's time limit");
		}
		exchange(NULL, "\x16\x03\x01garbage that is no TLS\r\n\r\n", 30, a.raw, sizeof(a.raw), 1);
		add_cp(&a, 68, NULL, 0, (char *)items[c68].b, items[c68].len);
		ktap_check(a.status == 200, "after all that the server still cosigns");
	}

	/* ------------------------------------------ least privilege */
	snprintf(p, sizeof(p), "%s/server.err", T);
	snprintf(note, sizeof(note), "sandboxed: uid %u,", (unsigned int)user_uid);
	ok = file_has(p, note);
	snprintf(p, sizeof(p), "%s/a.err", T);
	ktap_check(ok && file_has(p, note),
		   "sandbox: the server and every --once run above ran under the allowlist, as the collector's user");
	if (as_root)
		ktap_check(proc_uids_are(server, user_uid),
			   "privileges: started as root, the server runs as --user (real, effective, saved, fs uid)");
	else
		ktap_skip("privileges: started as root, the server runs as --user", "not root");
	{
		pid_t pid = fork();

		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 2);
			execl(bin, bin, "--sandbox-test", (char *)NULL);
			_exit(127);
		}
		ok = pid > 0 && waitpid(pid, &r, 0) == pid;
		ktap_check(ok && WIFSIGNALED(r) && WTERMSIG(r) == SIGSYS,
			   "sandbox: --sandbox-test, a forbidden call (ptrace) from a second thread: the process is killed by SIGSYS");
	}
	{
		char wk[400];

		/* The witness key, readable by others: not started. */
		snprintf(wk, sizeof(wk), "%s/run/wk-open.pem", T);
		snprintf(cmd, sizeof(cmd), "cp -p '%s/witness.key' '%s' && chmod 644 '%s'", pki, wk,
			 wk);
		r = run(cmd);
		snprintf(vcmd, sizeof(vcmd),
			 "'%s' --once --no-syslog --user " TEST_USER " --spool '%s' --logs '%s' --enroll '%s' --witness-key '%s' --witness-name %s 2>'%s/wk.err'",
			 bin, spool, logs, enroll, wk, WNAME, T);
		ok = !r && run(vcmd) == 1;
		snprintf(p, sizeof(p), "%s/wk.err", T);
		ok = ok && file_has(p, "nobody else may read");
		snprintf(cmd, sizeof(cmd), "chmod 600 '%s'", wk);
		r = run(cmd) || run(vcmd) < 0;
		/* (exit 1 all the same: appliance F is frozen) */
		ktap_check(ok && !r && !file_has(p, "nobody else may read") &&
			   file_has(p, "witness " WNAME "+"),
			   "privileges: a witness key others may read is refused (exit 1); mode 0600: it is used");
	}
	if (as_root) {
		snprintf(vcmd, sizeof(vcmd),
			 "'%s' --once --no-syslog --user root --spool '%s' --logs '%s' --enroll '%s' 2>'%s/root.err'",
			 bin, spool, logs, enroll, T);
		ok = run(vcmd) == 1;
		snprintf(p, sizeof(p), "%s/root.err", T);
		ktap_check(ok && file_has(p, "does not run as root"), "privileges: --user root is refused");
	} else {
		ktap_skip("privileges: --user root is refused", "not root");
	}

	/* ------------------------------------------ many at once */
	/* A server with room for the connections below. */
	stop_server();
	ktap_require(!make_g() && !start_server_opts("6000", "16"),
		     "8 more appliances enrolled; the server again, 16 connections at once");
	{
		static struct job jobs[NG];
		static char nr_req[] = "POST /add-checkpoint HTTP/1.1\r\nContent-Length: 3\r\n\r\nold";
		pthread_t th[NG], slt;
		pthread_barrier_t bar;
		struct slow sl = { 0 };
		struct tconn nr;
		int stalled, good = 0, cos = 0;
		long long t0;

		/* a client that connects and sends nothing; one that sends a
		 * byte a second; one that sends a request and never reads */
		stalled = raw_connect();
		pthread_create(&slt, NULL, slow_run, &sl);
		t0 = ktap_now_ms();
		while (!sl.ready && ktap_now_ms() - t0 < 20000)
			usleep(10000);
		ok = stalled >= 0 && !tconn_open(&nr) && !tconn_send(&nr, nr_req, strlen(nr_req));
		pthread_barrier_init(&bar, NULL, NG);
		for (i = 0; i < NG; i++) {
			char *n = malloc(2048);

			jobs[i].bar = &bar;
			nl = n ? g_cp(&g[i], 4, n, 2048) : 0;
			jobs[i].note = n;
			jobs[i].note_len = nl;
			jobs[i].len = make_req(0, NULL, 0, jobs[i].note, nl, jobs[i].req,
					       sizeof(jobs[i].req));
			jobs[i].hold_last = false;
			pthread_create(&th[i], NULL, job_run, &jobs[i]);
		}
		for (i = 0; i < NG; i++) {
			pthread_join(th[i], NULL);
			good += jobs[i].status == 200;
			cos += jobs[i].cosig;
			if (jobs[i].status != 200)
				ktap_diag("appliance %u: %d %s", i, jobs[i].status, jobs[i].a.body);
			free((char *)jobs[i].note);
		}
		pthread_barrier_destroy(&bar);
		ktap_check(ok && good == NG && cos == NG,
			   "8 appliances at once, beside a stalled, a slow and a never-reading client: all 200, every cosignature verifies");
		ok = still_open(stalled) && sl.ready && !sl.done;
		ktap_check(ok,
			   "the stalled and the byte-a-second clients were still connected when all 8 had their answers (nobody waited for them)");
		pthread_join(slt, NULL);
		if (sl.status != 408)
			ktap_diag("the slow client: %d after %zu bytes", sl.status, sl.sent);
		ktap_check(sl.status == 408 && sl.sent < 80,
			   "a byte a second: cut off with 408 at the request's deadline, however the bytes keep coming");
		ktap_check(closed_by_server(stalled),
			   "a client that sends nothing: closed at the handshake's deadline");
		close(stalled);
		tconn_close(&nr);
	}
	/* Two requests for one origin, racing: one wins. */
	{
		static struct job jobs[2];
		unsigned int round, wins = 0, lost = 0, rounds = 0;
		u64 prev = 4, size;
		pthread_t th[2];
		pthread_barrier_t bar;
		char *cp;

		pthread_barrier_init(&bar, NULL, 2);
		for (round = 0, size = 8; size <= GR; round++, size += 4) {
			cp = malloc(2048);
			nl = g_cp(&g[0], size, cp, 2048);
			r = bfl_consistency_proof(g[0].leaf, prev, size, proof, &np);
			for (i = 0; i < 2; i++) {
				jobs[i].bar = &bar;
				jobs[i].note = cp;
				jobs[i].note_len = nl;
				jobs[i].hold_last = true;
				jobs[i].len = make_req(prev, proof, np, cp, nl, jobs[i].req,
						       sizeof(jobs[i].req));
				pthread_create(&th[i], NULL, job_run, &jobs[i]);
			}
			for (i = 0; i < 2; i++)
				pthread_join(th[i], NULL);
			snprintf(note, sizeof(note), "%llu\n", (unsigned long long)size);
			for (i = 0; i < 2; i++) {
				struct job *w = &jobs[i], *l = &jobs[1 - i];

				if (w->status == 200 && w->cosig && l->status == 409 &&
				    !strcmp(l->a.body, note)) {
					wins++;
					break;
				}
			}
			if (jobs[0].status == 200 && jobs[1].status == 200)
				lost++;
			if (r || wins != round + 1)
				ktap_diag("round %u: %d and %d", round, jobs[0].status, jobs[1].status);
			rounds++;
			free(cp);
			prev = size;
		}
		pthread_barrier_destroy(&bar);
		ktap_check(wins == rounds && !lost,
			   "two identical requests for one origin, racing, 5 times: each time one 200 (cosigned), the other 409 with the new size");
		snprintf(p, sizeof(p), "%s/%s/witness/cosigned", logs, g[0].oid);
		{
			DIR *d = opendir(p);
			struct dirent *de;
			unsigned int files = 0;

			while (d && (de = readdir(d)))
				files += de->d_name[0] != '.';
			if (d)
				closedir(d);
			snprintf(p, sizeof(p), "%s/%s/witness/latest", logs, g[0].oid);
			snprintf(note, sizeof(note), "\n%u\n", GR);
			ok = files == 1 + rounds && file_has(p, note);
		}
		add_cp(&a, GR, NULL, 0, alt, g_cp(&g[0], GR, alt, sizeof(alt)));
		ktap_check(ok && a.status == 200 && wait_status("witnessed 24 epoch 1 "),
			   "after the races the witness's state is consistent: 6 checkpoints cosigned, latest 24, which it cosigns again");
	}
	/* Oversize bodies. */
	{
		static char big[BFL_WIT_BODY_MAX + 200];
		int hl;

		hl = snprintf(big, sizeof(big),
			      "POST /add-checkpoint HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
			      BFL_WIT_BODY_MAX + 1);
		ok = post_raw(&a, "cli", big, (size_t)hl) == 413;
		hl = snprintf(big, sizeof(big),
			      "POST /add-checkpoint HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
			      BFL_WIT_BODY_MAX);
		memset(big + hl, 'x', BFL_WIT_BODY_MAX);
		ktap_check(ok && post_raw(&a, "cli", big, (size_t)hl + BFL_WIT_BODY_MAX) == 400,
			   "a body one byte over the bound: 413 before it is read; one at the bound: read, 400 (malformed)");
	}
	/* A flood of connections beyond the bound. */
	stop_server();
	ktap_require(!start_server_opts("6000", "4"), "the server again, 4 connections at once");
	{
		int held[4], extra[100], refused = 0, open_ = 0;

		for (i = 0; i < 4; i++)
			held[i] = raw_connect();
		for (i = 0; i < 100; i++)
			extra[i] = raw_connect();
		for (i = 0; i < 100; i++) {
			refused += extra[i] >= 0 && closed_by_server(extra[i]);
			if (extra[i] >= 0)
				close(extra[i]);
		}
		for (i = 0; i < 4; i++)
			open_ += held[i] >= 0 && still_open(held[i]);
		r = post_raw(&a, "cli", "x", 1);
		snprintf(p, sizeof(p), "%s/server.err", T);
		ktap_check(refused == 100 && open_ == 4 && r == -1 && file_has(p, "connections busy"),
			   "4 connections held: 100 more, and a real request, are closed at once without an answer, and it is logged");
		for (i = 0; i < 4; i++)
			if (held[i] >= 0)
				close(held[i]);
		/* The threads see the closes and are free again. */
		for (i = 0; i < 100; i++) {
			add_cp(&a, GR, NULL, 0, alt, g_cp(&g[0], GR, alt, sizeof(alt)));
			if (a.status == 200)
				break;
			usleep(50000);
		}
		ktap_check(a.status == 200 && kill(server, 0) == 0,
			   "the flood gone, the server lives and cosigns");
	}

	kill(server, SIGTERM);
	ok = waitpid(server, &r, 0) == server && WIFEXITED(r) && WEXITSTATUS(r) == 0;
	ktap_check(ok, "the collector stops on SIGTERM with status 0");

	bfl_leaves_free(&lv);
	bfl_cosigner_free(&wit);
	bfl_epoch_key_destroy(&fkey);
	bfl_root_signer_free(rs);
	bfl_root_signer_free(rs2);
	bfl_root_signer_free(rs3);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	if (!getenv("KEEP_TMP") && system(cmd))
		ktap_diag("could not remove %s", T);
	return ktap_finish();
}
