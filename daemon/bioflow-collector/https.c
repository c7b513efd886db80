// SPDX-License-Identifier: GPL-2.0-only
/*
 * The witness's HTTPS endpoint: TLS (OpenSSL, 1.2 at least) with client
 * certificates required and checked against the CA, and a minimal,
 * strict HTTP/1.1 server: one request per connection ("Connection:
 * close"), POST /add-checkpoint only, a Content-Length of at most the
 * largest request body (no chunked bodies), header lines ending in CRLF,
 * at most 8 KiB of headers.  Each connection runs in a thread of its own
 * (pool.c) and has three deadlines of --io-timeout each: the TLS
 * handshake, the whole request (head and body: a client that sends a
 * byte a second is cut off all the same), the answer.  Anything else
 * gets its 4xx and the connection is closed; nothing a peer sends can
 * stop the server or hold up another connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "collector.h"

#define HEAD_MAX 8192

static void tls_error(const char *what)
{
	unsigned long err = ERR_get_error();
	char buf[256] = "";

	if (err)
		ERR_error_string_n(err, buf, sizeof(buf));
	col_log(LOG_ERR, "%s: %s", what, err ? buf : strerror(errno));
	ERR_clear_error();
}

int col_https_setup(struct collector *c, const char *listen_addr,
		    const char *ca, const char *cert, const char *key,
		    const char *port_file)
{
	struct addrinfo hints, *res = NULL;
	char host[256], *port;
	const char *h;
	STACK_OF(X509_NAME) *names;
	int one = 1, r;

	if (strlen(listen_addr) >= sizeof(host)) {
		col_log(LOG_ERR, "--witness-listen: too long");
		return -1;
	}
	snprintf(host, sizeof(host), "%s", listen_addr);
	port = strrchr(host, ':');
	if (!port || !port[1]) {
		col_log(LOG_ERR, "--witness-listen %s: HOST:PORT", listen_addr);
		return -1;
	}
	*port++ = 0;
	h = host;
	if (h[0] == '[' && h[strlen(h) - 1] == ']') {
		host[strlen(host) - 1] = 0;
		h = host + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	r = getaddrinfo(*h ? h : NULL, port, &hints, &res);
	if (r) {
		col_log(LOG_ERR, "--witness-listen %s: %s", listen_addr, gai_strerror(r));
		return -1;
	}
	c->lfd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (c->lfd < 0 || setsockopt(c->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(c->lfd, res->ai_addr, res->ai_addrlen) || listen(c->lfd, 128)) {
		col_log(LOG_ERR, "--witness-listen %s: %s", listen_addr, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	if (port_file) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char sv[16];
		FILE *f;

		if (getsockname(c->lfd, (struct sockaddr *)&ss, &sl) ||
		    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, sv, sizeof(sv),
				NI_NUMERICSERV) ||
		    !(f = fopen(port_file, "w"))) {
			col_log(LOG_ERR, "--port-file %s: %s", port_file, strerror(errno));
			return -1;
		}
		fprintf(f, "%s\n", sv);
		if (fclose(f))
			return -1;
	}

	c->ctx = SSL_CTX_new(TLS_server_method());
	if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION)) {
		tls_error("TLS");
		return -1;
	}
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1) {
		tls_error(cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c->ctx) != 1) {
		tls_error(key);
		return -1;
	}
	names = SSL_load_client_CA_file(ca);
	if (!names || SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1) {
		tls_error(ca);
		return -1;
	}
	SSL_CTX_set_client_CA_list(c->ctx, names);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(c->ctx, 4);
	return 0;
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads what is there (at least one byte) before the deadline; <= 0 on
 * an error, the end or the time out. */
static int tls_read(SSL *ssl, int fd, char *buf, size_t cap, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd };
		long long left = deadline - now_ms();
		int k, err;

		if (left <= 0)
			return -1;
		k = SSL_read(ssl, buf, (int)cap);
		if (k > 0)
			return k;
		err = SSL_get_error(ssl, k);
		if (err == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (err == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else
			return -1;
		if (poll(&p, 1, (int)left) <= 0)
			return -1;
	}
}

static int tls_write(SSL *ssl, int fd, const char *buf, size_t len, long long deadline)
{
	size_t done = 0;

	while (done < len) {
		struct pollfd p = { .fd = fd };
		long long left = deadline - now_ms();
		int k, err;

		if (left <= 0)
			return -1;
		k = SSL_write(ssl, buf + done, (int)(len - done));
		if (k > 0) {
			done += (size_t)k;
			continue;
		}
		err = SSL_get_error(ssl, k);
		if (err == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (err == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else
			return -1;
		if (poll(&p, 1, (int)left) <= 0)
			return -1;
	}
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void respond(SSL *ssl, int fd, const struct http_answer *a, long long deadline)
{
	char head[512];
	size_t n;

	n = (size_t)snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
			     a->status, reason(a->status),
			     a->ctype ? a->ctype : "text/plain; charset=utf-8", a->body_len);
	if (a->retry_after)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "Retry-After: %d\r\n",
				      a->retry_after);
	if (a->status == 405)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "Allow: POST\r\n");
	n += (size_t)snprintf(head + n, sizeof(head) - n, "Connection: close\r\n\r\n");
	if (tls_write(ssl, fd, head, n, deadline) == 0 && a->body_len)
		tls_write(ssl, fd, a->body, a->body_len, deadline);
}

static void simple(struct http_answer *a, int status, const char *msg)
{
	memset(a, 0, sizeof(*a));
	a->status = status;
	a->body_len = (size_t)snprintf(a->body, sizeof(a->body), "%s\n", msg);
}

static bool tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/*
 * Parses the head (request line and header lines, CRLF each, up to the
 * empty line): 0 and the fields, or an HTTP status for the answer.
 */
static int parse_head(const char *h, size_t len, bool *post, bool *path_ok,
		      long long *clen, bool *cont)
{
	const char *p = h, *end = h + len, *eol, *sp1, *sp2;
	bool have_len = false;

	*clen = -1;
	*cont = false;
	eol = memchr(p, '\r', (size_t)(end - p));
	if (!eol || eol + 1 >= end || eol[1] != '\n')
		return 400;
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1)
		return 400;
	for (const char *q = p; q < sp1; q++)
		if (!tchar(*q))
			return 400;
	if ((size_t)(eol - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) && memcmp(sp2 + 1, "HTTP/1.0", 8)))
		return 400;
	*post = sp1 - p == 4 && !memcmp(p, "POST", 4);
	*path_ok = sp2 - sp1 - 1 == 15 && !memcmp(sp1 + 1, "/add-checkpoint", 15);
	for (const char *q = sp1 + 1; q < sp2; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return 400;
	p = eol + 2;
	while (p < end) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memchr(p, '\r', (size_t)(end - p));
		if (!eol || eol + 1 >= end || eol[1] != '\n')
			return 400;
		if (eol == p)
			return p + 2 == end ? 0 : 400;	/* the empty line */
		if (memchr(p, '\n', (size_t)(eol - p)))
			return 400;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return 400;
		for (const char *q = p; q < colon; q++)
			if (!tchar(*q))
				return 400;
		nl = (size_t)(colon - p);
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *q = v; q < ve; q++)
			if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
				return 400;
		if (nl == 14 && !strncasecmp(p, "Content-Length", 14)) {
			long long n = 0;

			if (have_len || v == ve || ve - v > 12)
				return 400;
			for (const char *q = v; q < ve; q++) {
				if (*q < '0' || *q > '9')
					return 400;
				n = n * 10 + (*q - '0');
			}
			*clen = n;
			have_len = true;
		} else if (nl == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
			return 501;
		} else if (nl == 6 && !strncasecmp(p, "Expect", 6)) {
			if (ve - v != 12 || strncasecmp(v, "100-continue", 12))
				return 417;
			*cont = true;
		}
		p = eol + 2;
	}
	return 400;
}

/* The counters are the collector's, under its lock. */
static void count(struct collector *c, u64 *n)
{
	pthread_mutex_lock(&c->lock);
	(*n)++;
	pthread_mutex_unlock(&c->lock);
}

void col_https_conn(struct collector *c, int fd)
{
	const size_t cap = HEAD_MAX + BFL_WIT_BODY_MAX + 16;
	char *buf = malloc(cap);
	struct http_answer ans;
	long long deadline, clen = -1;
	size_t got = 0, head_len = 0;
	bool post = false, path_ok = false, cont = false;
	char *sep = NULL;
	SSL *ssl = NULL;
	int r, st;

	/* The TLS handshake's deadline. */
	deadline = now_ms() + (long long)c->io_timeout_ms;
	if (!buf)
		goto out;
	ssl = SSL_new(c->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = fd };
		long long left = deadline - now_ms();
		int err;

		r = SSL_accept(ssl);
		if (r == 1)
			break;
		err = SSL_get_error(ssl, r);
		if (left > 0 && (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)) {
			p.events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			if (poll(&p, 1, (int)left) > 0)
				continue;
		}
		count(c, &c->tls_failures);
		{
			unsigned long e = ERR_peek_error();
			char eb[256] = "timed out or closed";

			if (e)
				ERR_error_string_n(e, eb, sizeof(eb));
			col_debug(c, "witness: TLS handshake refused: %s", eb);
		}
		ERR_clear_error();
		goto out;
	}
	/* The whole request's deadline, however slowly it trickles in. */
	deadline = now_ms() + (long long)c->io_timeout_ms;
	/* The head. */
	while (!sep) {
		int k = tls_read(ssl, fd, buf + got, HEAD_MAX - got, deadline);

		if (k <= 0) {
			count(c, &c->http_errors);
			if (got) {
				simple(&ans, 408, "request incomplete or timed out");
				respond(ssl, fd, &ans, now_ms() + c->io_timeout_ms);
			}
			goto out;
		}
		got += (size_t)k;
		buf[got] = 0;
		sep = memmem(buf, got, "\r\n\r\n", 4);
		if (!sep && got >= HEAD_MAX) {
			count(c, &c->http_errors);
			simple(&ans, 431, "request head too large");
			respond(ssl, fd, &ans, now_ms() + c->io_timeout_ms);
			goto out;
		}
	}
	head_len = (size_t)(sep - buf) + 4;
	st = parse_head(buf, head_len, &post, &path_ok, &clen, &cont);
	if (!st && !path_ok)
		st = 404;
	if (!st && !post)
		st = 405;
	if (!st && clen < 0)
		st = 411;
	if (!st && clen > BFL_WIT_BODY_MAX)
		st = 413;
	if (st) {
		count(c, &c->http_errors);
		simple(&ans, st, st == 404 ? "only /add-checkpoint is here" :
				 st == 405 ? "POST only" :
				 st == 413 ? "request body too large" :
				 st == 411 ? "Content-Length required" :
				 st == 501 ? "no Transfer-Encoding: send a Content-Length" :
				 st == 417 ? "only Expect: 100-continue" : "malformed request");
		respond(ssl, fd, &ans, now_ms() + c->io_timeout_ms);
		goto out;
	}
	if (cont && got == head_len) {
		static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";

		if (tls_write(ssl, fd, go, sizeof(go) - 1, deadline))
			goto out;
	}
	while (got < head_len + (size_t)clen) {
		int k = tls_read(ssl, fd, buf + got, head_len + (size_t)clen - got, deadline);

		if (k <= 0) {
			count(c, &c->http_errors);
			simple(&ans, 408, "request body incomplete or timed out");
			respond(ssl, fd, &ans, now_ms() + c->io_timeout_ms);
			goto out;
		}
		got += (size_t)k;
	}
	/* The witness's work, atomic per request: checking old and
	 * recording the new checkpoint happen under one hold of the lock,
	 * so of two racing requests with the same old one wins, the other
	 * gets 409 (docs/forwarding.md, "Witness"). */
	pthread_mutex_lock(&c->lock);
	c->requests++;
	col_add_checkpoint(c, buf + head_len, (size_t)clen, &ans);
	col_write_status(c);
	pthread_mutex_unlock(&c->lock);
	/* The answer's deadline. */
	respond(ssl, fd, &ans, now_ms() + c->io_timeout_ms);
out:
	if (ssl) {
		/* Sends close_notify; does not wait for the peer's. */
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	ERR_clear_error();
	free(buf);
	close(fd);
}
