// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal HTTPS client for the witness: OpenSSL, TLS 1.2 or later,
 * the forwarder's certificate and key, the peer verified against the CA
 * file and its name (SNI and the certificate's DNS or IP names); one
 * request per connection ("Connection: close"), a body with
 * Content-Length.  The answer: a status line, at most 8 KiB of headers,
 * a Content-Length (no chunked transfer coding), at most 64 KiB of body;
 * anything else is an error, never guessed at.  Every socket operation
 * has a 10 s timeout.
 *
 * The answer is waited for without blocking (fwd_https_start, then
 * fwd_https_poll from the main loop): the witness answers after the
 * collector's ingest and fsync, tens of ms in which records can be sent.
 * The connection, the handshake and the request still block (bounded by
 * the timeout): the witness accepts at once, the wait is for the answer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fwd.h"

#define IO_TIMEOUT_S	10

struct fwd_https {
	const struct fwd_peer *peer;
	SSL_CTX *ctx;
	/* The request in flight, if any (ssl non-NULL): its descriptor,
	 * the bytes of the answer so far, when it must have come. */
	SSL *ssl;
	int fd;
	size_t got;
	double deadline;
	char buf[FWD_HTTP_HEAD_MAX + FWD_HTTP_BODY_MAX + 1];
};

static void ssl_err(char *err, size_t errcap, const char *what)
{
	unsigned long code = ERR_get_error();
	char s[256];

	if (code) {
		ERR_error_string_n(code, s, sizeof(s));
		snprintf(err, errcap, "%s: %s", what, s);
	} else {
		snprintf(err, errcap, "%s", what);
	}
	ERR_clear_error();
}

struct fwd_https *fwd_https_new(const struct fwd_config *c,
				const struct fwd_peer *peer, char *err,
				size_t errcap)
{
	struct fwd_https *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	h->peer = peer;
	h->fd = -1;
	h->ctx = SSL_CTX_new(TLS_client_method());
	if (!h->ctx) {
		ssl_err(err, errcap, "SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(h->ctx, c->ca, NULL) != 1) {
		ssl_err(err, errcap, c->ca);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(h->ctx, c->cert) != 1) {
		ssl_err(err, errcap, c->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(h->ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(h->ctx) != 1) {
		ssl_err(err, errcap, c->key);
		goto fail;
	}
	return h;
fail:
	fwd_https_free(h);
	return NULL;
}

void fwd_https_free(struct fwd_https *h)
{
	if (!h)
		return;
	fwd_https_abort(h);
	SSL_CTX_free(h->ctx);
	free(h);
}

static int tcp_connect(const struct fwd_peer *p, char *err, size_t errcap)
{
	struct sockaddr_storage ss;
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (p->family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(p->port));
		if (inet_pton(AF_INET6, p->addr, &a->sin6_addr) != 1)
			goto bad;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)atoi(p->port));
		if (inet_pton(AF_INET, p->addr, &a->sin_addr) != 1)
			goto bad;
		sl = sizeof(*a);
	}
	fd = socket(p->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl)) {
		snprintf(err, errcap, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
bad:
	snprintf(err, errcap, "bad address %s", p->addr);
	return -1;
}

/* Digits only, no sign, at most 9 of them. */
static int parse_len(const char *s, size_t n, size_t *out)
{
	size_t v = 0, i;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int fwd_http_parse(const char *buf, size_t len, struct fwd_http_resp *resp,
		   char *err, size_t errcap)
{
	const char *end = NULL, *p, *line;
	size_t i, clen = 0, hlen;
	bool have_len = false;

	for (i = 0; i + 3 < len && i < FWD_HTTP_HEAD_MAX; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i;
			break;
		}
	if (!end) {
		if (len >= FWD_HTTP_HEAD_MAX) {
			snprintf(err, errcap, "response headers longer than %d bytes",
				 FWD_HTTP_HEAD_MAX);
			return -1;
		}
		return 1;
	}
	hlen = (size_t)(end - buf) + 4;
	/* "HTTP/1.x DDD reason" */
	if (end - buf < 12 || memcmp(buf, "HTTP/1.", 7) || (buf[7] != '0' && buf[7] != '1') ||
	    buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' || (end - buf > 12 && buf[12] != ' ' && buf[12] != '\r')) {
		snprintf(err, errcap, "not an HTTP/1.x status line");
		return -1;
	}
	memset(resp, 0, offsetof(struct fwd_http_resp, body));
	resp->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	p = memchr(buf, '\n', hlen);
	while (p && p + 1 < end) {
		const char *eol, *colon;
		size_t nl;

		line = p + 1;
		eol = memchr(line, '\r', (size_t)(end + 2 - line));
		if (!eol || eol[1] != '\n') {
			snprintf(err, errcap, "malformed response header");
			return -1;
		}
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon || colon == line) {
			snprintf(err, errcap, "malformed response header");
			return -1;
		}
		nl = (size_t)(colon - line);
		if (nl == 14 && !strncasecmp(line, "Content-Length", 14)) {
			size_t v;

			if (parse_len(colon + 1, (size_t)(eol - colon - 1), &v) ||
			    (have_len && v != clen)) {
				snprintf(err, errcap, "bad Content-Length");
				return -1;
			}
			clen = v;
			have_len = true;
		} else if (nl == 17 && !strncasecmp(line, "Transfer-Encoding", 17)) {
			snprintf(err, errcap, "Transfer-Encoding in the response (unsupported)");
			return -1;
		} else if (nl == 12 && !strncasecmp(line, "Content-Type", 12)) {
			const char *v = colon + 1;
			size_t vl;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			vl = (size_t)(eol - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= sizeof(resp->ctype))
				vl = sizeof(resp->ctype) - 1;
			memcpy(resp->ctype, v, vl);
			resp->ctype[vl] = 0;
		}
		p = eol + 1;
	}
	if (!have_len) {
		snprintf(err, errcap, "no Content-Length in the response");
		return -1;
	}
	if (clen > FWD_HTTP_BODY_MAX) {
		snprintf(err, errcap, "response body of %zu bytes, more than %d", clen,
			 FWD_HTTP_BODY_MAX);
		return -1;
	}
	if (len < hlen + clen)
		return 1;
	if (len > hlen + clen) {
		snprintf(err, errcap, "%zu bytes after the response body", len - hlen - clen);
		return -1;
	}
	memcpy(resp->body, buf + hlen, clen);
	resp->body[clen] = 0;
	resp->len = clen;
	return 0;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void fwd_https_abort(struct fwd_https *h)
{
	if (h->ssl)
		SSL_free(h->ssl);
	if (h->fd >= 0)
		close(h->fd);
	h->ssl = NULL;
	h->fd = -1;
	h->got = 0;
}

int fwd_https_fd(const struct fwd_https *h)
{
	return h->ssl ? h->fd : -1;
}

int fwd_https_start(struct fwd_https *h, const char *path, const char *ctype,
		    const void *body, size_t len, char *err, size_t errcap)
{
	const struct fwd_peer *p = h->peer;
	char head[1024];
	SSL *ssl = NULL;
	int fd, hl, k, fl;

	fwd_https_abort(h);
	fd = tcp_connect(p, err, errcap);
	if (fd < 0)
		return -1;
	ssl = SSL_new(h->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, p->name) != 1) {
		ssl_err(err, errcap, "TLS setup");
		goto fail;
	}
	/* The name the certificate must carry: an IP address or a DNS name. */
	{
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		unsigned char ipbuf[16];

		if (inet_pton(AF_INET, p->name, ipbuf) == 1 ||
		    inet_pton(AF_INET6, p->name, ipbuf) == 1)
			k = X509_VERIFY_PARAM_set1_ip_asc(vp, p->name);
		else
			k = SSL_set1_host(ssl, p->name);
		if (k != 1) {
			ssl_err(err, errcap, "TLS name setup");
			goto fail;
		}
	}
	if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);

		if (v != X509_V_OK)
			snprintf(err, errcap, "TLS handshake: the witness's certificate is not accepted "
				 "for the name %s: %s", p->name, X509_verify_cert_error_string(v));
		else
			ssl_err(err, errcap, "TLS handshake");
		goto fail;
	}
	hl = snprintf(head, sizeof(head),
		      "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " FWD_NAME "/1\r\n"
		      "Content-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      path, p->name, ctype, len);
	if (hl < 0 || (size_t)hl >= sizeof(head) || SSL_write(ssl, head, hl) != hl ||
	    (len && SSL_write(ssl, body, (int)len) != (int)len)) {
		ssl_err(err, errcap, "sending the request");
		goto fail;
	}
	/* From here on the answer is read without blocking. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errcap, "fcntl: %s", strerror(errno));
		goto fail;
	}
	h->ssl = ssl;
	h->fd = fd;
	h->got = 0;
	h->deadline = mono_s() + IO_TIMEOUT_S;
	return 0;
fail:
	SSL_free(ssl);
	close(fd);
	return -1;
}

int fwd_https_poll(struct fwd_https *h, struct fwd_http_resp *resp, char *err,
		   size_t errcap)
{
	int k;

	if (!h->ssl) {
		snprintf(err, errcap, "no request in flight");
		return -1;
	}
	for (;;) {
		k = SSL_read(h->ssl, h->buf + h->got, (int)(sizeof(h->buf) - 1 - h->got));
		if (k > 0) {
			h->got += (size_t)k;
			k = fwd_http_parse(h->buf, h->got, resp, err, errcap);
			if (k == 0) {
				SSL_shutdown(h->ssl);
				fwd_https_abort(h);
				return 0;
			}
			if (k < 0)
				goto fail;
			if (h->got >= sizeof(h->buf) - 1) {
				snprintf(err, errcap, "response too long");
				goto fail;
			}
			continue;
		}
		k = SSL_get_error(h->ssl, k);
		if (k == SSL_ERROR_WANT_READ || k == SSL_ERROR_WANT_WRITE) {
			if (mono_s() < h->deadline)
				return 1;
			snprintf(err, errcap, "no answer within %d s", IO_TIMEOUT_S);
			goto fail;
		}
		if (k == SSL_ERROR_ZERO_RETURN || h->got)
			snprintf(err, errcap, "the connection closed before the whole response");
		else
			ssl_err(err, errcap, "reading the response");
		goto fail;
	}
fail:
	fwd_https_abort(h);
	return -1;
}

int fwd_https_post(struct fwd_https *h, const char *path, const char *ctype,
		   const void *body, size_t len, struct fwd_http_resp *resp,
		   char *err, size_t errcap)
{
	int k;

	if (fwd_https_start(h, path, ctype, body, len, err, errcap))
		return -1;
	while ((k = fwd_https_poll(h, resp, err, errcap)) == 1) {
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };

		poll(&pfd, 1, 100);
	}
	return k;
}
