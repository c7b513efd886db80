// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Errors, base64 (RFC 4648 section 4, strict), decimal parsing, SHA-256
 * and the durable file helpers the store and the verifier share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int bfl_errf(struct bfl_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t bfl_b64_encode(const u8 *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		u32 v = (u32)in[i] << 16 | (u32)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (i < n) {
		u32 v = (u32)in[i] << 16 | (i + 1 < n ? (u32)in[i + 1] << 8 : 0);

		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int bfl_b64_decode(const char *in, size_t n, u8 *out, size_t cap,
		   size_t *outlen)
{
	size_t i, o = 0;

	if (n % 4)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		int v[4], k, pad = 0;
		u32 w;

		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)	/* data after '=' */
				return -EINVAL;
			v[k] = b64val(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		if (pad == 1 && in[i + 3] != '=')
			return -EINVAL;
		w = (u32)v[0] << 18 | (u32)v[1] << 12 | (u32)v[2] << 6 | (u32)v[3];
		/* Canonical: the bits padding drops must be zero. */
		if ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff)))
			return -EINVAL;
		if (!out) {	/* only checking */
			o += 3 - (size_t)pad;
			continue;
		}
		if (o + 3 - pad > cap)
			return -EOVERFLOW;
		out[o++] = (u8)(w >> 16);
		if (pad < 2)
			out[o++] = (u8)(w >> 8);
		if (pad < 1)
			out[o++] = (u8)w;
	}
	*outlen = o;
	return 0;
}

int bfl_parse_u64(const char *s, size_t n, u64 *out)
{
	u64 v = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * One fetched SHA-256 and one digest context per thread, made on the
 * first hash and reused: a context allocated and the algorithm fetched
 * for every hash cost 2.5-3 times the hashing of a record itself
 * (docs/benchmarks.md).  They last as long as the thread (a few hundred
 * bytes); the daemon's worker makes them before its sandbox, in its
 * OpenSSL warm-up.
 */
static __thread EVP_MD_CTX *sha_ctx;
static __thread EVP_MD *sha_md;

void bfl_sha256(const void *a, size_t alen, const void *b, size_t blen,
		u8 out[BFL_HASH_SIZE])
{
	unsigned int olen = 0;

	if (!sha_md)
		sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha_ctx)
		sha_ctx = EVP_MD_CTX_new();
	/* Failure here is an allocation failure in OpenSSL: nothing sane
	 * can continue from a wrong hash. */
	if (!sha_md || !sha_ctx || !EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) ||
	    (alen && !EVP_DigestUpdate(sha_ctx, a, alen)) ||
	    (blen && !EVP_DigestUpdate(sha_ctx, b, blen)) ||
	    !EVP_DigestFinal_ex(sha_ctx, out, &olen) || olen != BFL_HASH_SIZE) {
		fprintf(stderr, "bioflow: SHA-256 failed\n");
		abort();
	}
}

const char *bfl_file_type(unsigned int mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFLNK:
		return "symbolic link";
	default:
		return "special file";
	}
}

int bfl_read_file(int dirfd, const char *path, size_t max, u8 **buf,
		  size_t *len, struct bfl_err *e)
{
	struct stat st;
	size_t got = 0;
	u8 *b;
	int fd, r;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is
	 * refused below); O_NOFOLLOW: a symbolic link is refused too. */
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY);
	if (fd < 0 && errno == ELOOP)
		return bfl_errf(e, -EINVAL,
				"%s: a symbolic link, not a regular file (refused)",
				path);
	if (fd < 0)
		return bfl_errf(e, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		r = -errno;
		close(fd);
		return bfl_errf(e, r, "%s: %s", path, strerror(-r));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bfl_errf(e, -EINVAL, "%s: a %s, not a regular file (refused)",
				path, bfl_file_type(st.st_mode));
	}
	if ((u64)st.st_size > max) {
		close(fd);
		return bfl_errf(e, -EFBIG, "%s: %lld bytes, more than the %zu allowed",
				path, (long long)st.st_size, max);
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return bfl_errf(e, -ENOMEM, "%s: out of memory", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, b + got, (size_t)st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			free(b);
			close(fd);
			return bfl_errf(e, r, "%s: read failed: %s", path,
					k < 0 ? strerror(-r) : "file shrank");
		}
		got += (size_t)k;
	}
	close(fd);
	b[got] = 0;
	*buf = b;
	*len = got;
	return 0;
}

int bfl_write_replace(int dirfd, const char *name, const void *buf,
		      size_t len, bool durable, struct bfl_err *e)
{
	char tmp[300];
	const u8 *p = buf;
	size_t done = 0;
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
		return bfl_errf(e, -ENAMETOOLONG, "%s: name too long", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bfl_errf(e, -errno, "%s: %s", tmp, strerror(errno));
	while (done < len) {
		ssize_t k = write(fd, p + done, len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto fail;
		}
		done += (size_t)k;
	}
	if (durable && fsync(fd)) {
		r = -errno;
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name)) {
		r = -errno;
		goto fail;
	}
	if (durable && fsync(dirfd))
		return bfl_errf(e, -errno, "%s: fsync of directory: %s", name,
				strerror(errno));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return bfl_errf(e, r, "%s: %s", name, strerror(-r));
}

int bfl_write_atomic(int dirfd, const char *name, const void *buf,
		     size_t len, struct bfl_err *e)
{
	return bfl_write_replace(dirfd, name, buf, len, true, e);
}

int bfl_rewrap(struct bfl_err *e, int code, const char *prefix)
{
	char old[sizeof(e->msg)];

	if (!e)
		return code;
	memcpy(old, e->msg, sizeof(old));
	return bfl_errf(e, code, "%s: %s", prefix, old);
}

bool bfl_all_zero(const u8 *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}
