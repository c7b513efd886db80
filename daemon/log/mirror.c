// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The mirror writer (mirror.h): an appliance's store rebuilt from its own
 * items, each checked before it is written, in the store's format and
 * with the store's layout rules (segment.c, store.c), so that the copy
 * is the original byte for byte and bioflow-verify checks it the same
 * way.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "mirror.h"

#define DEFAULT_SEG_MAX (64ULL << 20)
#define DEFAULT_HELD 16
/* Entries are gathered here and written to the segment in one write at
 * the next durability point: one system call for a whole batch of
 * records instead of one each, the cost that dominated the ingest. */
#define WBUF_SIZE (256u << 10)

struct mcert {
	u64 epoch;
	char *text;
	size_t len;
	struct bfl_epoch_cert c;
	struct bfl_key key;
};

struct mcp {
	u64 size, epoch;
	bfl_hash root;
	bfl_hash note;		/* SHA-256 of the note's bytes */
};

struct bfl_mirror {
	char *dir;
	int dirfd, segdirfd, epdirfd;
	char origin[BFL_NAME_MAX + 1];
	struct bfl_key root;
	struct bfl_mirror_opts opts;
	bool created;

	struct bfl_tree tree;
	bfl_hash *leaf;
	u64 leaf_cap;

	int segfd;
	u64 seg_first, seg_bytes;	/* seg_bytes: wbuf's included */
	bool seg_dirty, segdir_dirty;
	u8 *wbuf;		/* entries of segfd not written yet */
	size_t wlen;

	struct mcert *cert;	/* written: epoch k at cert[k - 1] */
	u64 ncert, cert_cap;
	struct mcert *held;
	unsigned int nheld;

	struct mcp *cp;
	size_t ncp, cp_cap;
	char last_cp[BFL_CPE_NOTE_MAX];
	size_t last_cp_len;
	bool cp_file_stale;
	u64 cp_file_epoch;

	bool failed;
	bool is_frozen;
	char frozen[512];
};

/* ------------------------------------------------------------ helpers */

static int flush(struct bfl_mirror *m, struct bfl_err *e);

static int frozen(struct bfl_mirror *m, struct bfl_err *e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int frozen(struct bfl_mirror *m, struct bfl_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->frozen, sizeof(m->frozen), fmt, ap);
	va_end(ap);
	m->is_frozen = true;
	/* What was taken before the conflict stays in the copy, as it
	 * would had it been written at once (an error here is the
	 * copy's failure, reported by the next sync). */
	flush(m, NULL);
	return bfl_errf(e, -EUCLEAN, "history rewritten: %s", m->frozen);
}

static int failed(struct bfl_mirror *m, struct bfl_err *e, int code,
		  const char *what)
{
	m->failed = true;
	m->wlen = 0;	/* never written: the copy is reopened and replayed */
	return bfl_errf(e, code, "%s: %s", what, strerror(-code));
}

static int sync_fd(const struct bfl_mirror *m, int fd, bool data)
{
	if (m->opts.no_sync)
		return 0;
	return (data ? fdatasync(fd) : fsync(fd)) ? -errno : 0;
}

static int add_leaf(struct bfl_mirror *m, const bfl_hash h)
{
	if (m->tree.size == m->leaf_cap) {
		u64 nc = m->leaf_cap ? 2 * m->leaf_cap : 1024;
		bfl_hash *nv = realloc(m->leaf, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->leaf = nv;
		m->leaf_cap = nc;
	}
	memcpy(m->leaf[m->tree.size], h, BFL_HASH_SIZE);
	bfl_tree_append(&m->tree, h);
	return 0;
}

static int add_cp(struct bfl_mirror *m, const struct bfl_checkpoint *c,
		  const char *note, size_t len)
{
	struct mcp *p;

	if (m->ncp == m->cp_cap) {
		size_t nc = m->cp_cap ? 2 * m->cp_cap : 256;
		struct mcp *nv = realloc(m->cp, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->cp = nv;
		m->cp_cap = nc;
	}
	p = &m->cp[m->ncp++];
	p->size = c->size;
	p->epoch = c->epoch;
	memcpy(p->root, c->root, BFL_HASH_SIZE);
	bfl_sha256(note, len, NULL, 0, p->note);
	memcpy(m->last_cp, note, len);
	m->last_cp_len = len;
	return 0;
}

static u64 last_cp_epoch(const struct bfl_mirror *m)
{
	return m->ncp ? m->cp[m->ncp - 1].epoch : 0;
}

static void mcert_free(struct mcert *c)
{
	free(c->text);
	bfl_key_free(&c->key);
	memset(c, 0, sizeof(*c));
}

static struct mcert *find_held(const struct bfl_mirror *m, u64 epoch)
{
	unsigned int i;

	for (i = 0; i < m->nheld; i++)
		if (m->held[i].epoch == epoch)
			return &m->held[i];
	return NULL;
}

static const struct mcert *find_cert(const struct bfl_mirror *m, u64 epoch)
{
	if (epoch >= 1 && epoch <= m->ncert)
		return &m->cert[epoch - 1];
	return find_held(m, epoch);
}

/* Parses and checks a certificate's text: root-signed, this origin. */
static int cert_load(struct bfl_mirror *m, const u8 *text, size_t len,
		     struct mcert *out, struct bfl_err *e)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (len >= BFL_CERT_CAP)
		return bfl_errf(e, -EBADMSG, "certificate of %zu bytes is too large", len);
	r = bfl_cert_open((const char *)text, len, &m->root, &out->c, e);
	if (r)
		return bfl_rewrap(e, -EBADMSG, "certificate");
	if (strcmp(out->c.origin, m->origin))
		return bfl_errf(e, -EBADMSG, "certificate of another log (\"%s\")",
				out->c.origin);
	r = bfl_cert_key(&out->c, &out->key, e);
	if (r)
		return bfl_rewrap(e, -EBADMSG, "certificate key");
	out->text = malloc(len + 1);
	if (!out->text) {
		bfl_key_free(&out->key);
		return bfl_errf(e, -ENOMEM, "out of memory");
	}
	memcpy(out->text, text, len);
	out->text[len] = 0;
	out->len = len;
	out->epoch = out->c.epoch;
	return 0;
}

/* The chain rule between consecutive certificates (verify.c, check 1). */
static int chain_check(const struct mcert *prev, const struct mcert *c,
		       char *why, size_t cap)
{
	if (!prev) {
		if (c->epoch != 1 || c->c.start_size != 0) {
			snprintf(why, cap, "epoch %llu is the first but does not start at 0",
				 (unsigned long long)c->epoch);
			return -1;
		}
		return 0;
	}
	if (c->epoch != prev->epoch + 1) {
		snprintf(why, cap, "epoch %llu follows epoch %llu",
			 (unsigned long long)c->epoch, (unsigned long long)prev->epoch);
		return -1;
	}
	if (c->c.nv_index != prev->c.nv_index ||
	    c->c.nv_counter != prev->c.nv_counter + 1) {
		snprintf(why, cap,
			 "epoch %llu attests NV counter %llu (index 0x%08x) after epoch %llu's %llu (0x%08x): not its successor",
			 (unsigned long long)c->epoch, (unsigned long long)c->c.nv_counter,
			 c->c.nv_index, (unsigned long long)prev->epoch,
			 (unsigned long long)prev->c.nv_counter, prev->c.nv_index);
		return -1;
	}
	if (c->c.start_size < prev->c.start_size) {
		snprintf(why, cap, "epoch %llu starts at %llu, before epoch %llu (%llu)",
			 (unsigned long long)c->epoch, (unsigned long long)c->c.start_size,
			 (unsigned long long)prev->epoch,
			 (unsigned long long)prev->c.start_size);
		return -1;
	}
	return 0;
}

static int push_cert(struct bfl_mirror *m, struct mcert *c)
{
	if (m->ncert == m->cert_cap) {
		u64 nc = m->cert_cap ? 2 * m->cert_cap : 16;
		struct mcert *nv = realloc(m->cert, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		m->cert = nv;
		m->cert_cap = nc;
	}
	m->cert[m->ncert++] = *c;
	memset(c, 0, sizeof(*c));
	return 0;
}

/* --------------------------------------------------------------- open */

static int open_dirs(struct bfl_mirror *m, struct bfl_err *e)
{
	m->segdirfd = openat(m->dirfd, "segments", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->segdirfd < 0)
		return bfl_errf(e, -errno, "%s/segments: %s", m->dir, strerror(errno));
	m->epdirfd = openat(m->dirfd, "epochs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->epdirfd < 0)
		return bfl_errf(e, -errno, "%s/epochs: %s", m->dir, strerror(errno));
	return 0;
}

static int load_certs(struct bfl_mirror *m, struct bfl_err *e)
{
	u64 *ep = NULL;
	unsigned int n = 0, i;
	char name[32], why[256];
	int r;

	r = bfl_list_epochs(m->epdirfd, &ep, &n, e);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		struct mcert c;
		u8 *buf;
		size_t len;

		if (ep[i] != i + 1) {
			r = bfl_errf(e, -EUCLEAN, "epochs: certificate %llu missing",
				     (unsigned long long)(i + 1));
			break;
		}
		bfl_epoch_file(name, sizeof(name), ep[i], "cert");
		r = bfl_read_file(m->epdirfd, name, BFL_CERT_CAP - 1, &buf, &len, e);
		if (r)
			break;
		r = cert_load(m, buf, len, &c, e);
		free(buf);
		if (!r && c.epoch != ep[i])
			r = bfl_errf(e, -EBADMSG, "epoch %llu under another number",
				     (unsigned long long)c.epoch);
		if (!r && chain_check(m->ncert ? &m->cert[m->ncert - 1] : NULL, &c,
				      why, sizeof(why)))
			r = bfl_errf(e, -EBADMSG, "%s", why);
		if (r) {
			if (c.text)
				mcert_free(&c);
			r = bfl_rewrap(e, -EUCLEAN, name);
			break;
		}
		r = push_cert(m, &c);
		if (r) {
			mcert_free(&c);
			r = bfl_errf(e, r, "out of memory");
			break;
		}
	}
	free(ep);
	return r;
}

/* One entry of the copy, replayed: 0, or -EBADMSG with e saying why. */
static int replay_entry(struct bfl_mirror *m, const struct bfl_item *it,
			struct bfl_err *e)
{
	struct bfl_checkpoint c;
	struct bfl_note *note;
	bfl_hash h, root;
	int r;

	if (it->type == BFL_ITEM_RECORD) {
		bfl_leaf_hash(it->data, it->data_len, h);
		if (memcmp(h, it->stored_leaf, BFL_HASH_SIZE))
			return bfl_errf(e, -EBADMSG, "record %llu does not match its leaf hash",
					(unsigned long long)m->tree.size);
		return add_leaf(m, h) ? bfl_errf(e, -ENOMEM, "out of memory") : 0;
	}
	note = malloc(sizeof(*note));
	if (!note)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = bfl_checkpoint_open(it->note, it->note_len, &c, note, e);
	free(note);
	if (r)
		return bfl_rewrap(e, -EBADMSG, "checkpoint entry");
	bfl_tree_root(&m->tree, root);
	if (strcmp(c.origin, m->origin) || c.size != m->tree.size ||
	    memcmp(c.root, root, BFL_HASH_SIZE) || c.epoch == 0 ||
	    c.epoch > m->ncert || c.epoch < last_cp_epoch(m))
		return bfl_errf(e, -EBADMSG,
				"checkpoint entry of size %llu does not seal the records before it",
				(unsigned long long)c.size);
	return add_cp(m, &c, it->note, it->note_len) ?
	       bfl_errf(e, -ENOMEM, "out of memory") : 0;
}

static int replay(struct bfl_mirror *m, u64 *cut, struct bfl_err *e)
{
	struct bfl_seg_list l;
	unsigned int i;
	int r = 0;

	r = bfl_list_segments(m->segdirfd, &l, e);
	if (r)
		return r;
	for (i = 0; i < l.n && !r; i++) {
		bool last = i + 1 == l.n;
		size_t len = 0, off = BFL_SEG_HDR_SIZE;
		struct bfl_item it;
		struct bfl_err ie = { 0 };
		u8 *buf = NULL;
		u64 first;
		int k = 0;

		r = bfl_read_file(m->segdirfd, l.v[i].name, BFL_SEG_FILE_MAX, &buf, &len, e);
		if (r)
			break;
		if (bfl_seg_header_check(buf, len, &first, &ie) || first != l.v[i].first ||
		    first != m->tree.size) {
			if (!last || first != m->tree.size || len >= BFL_SEG_HDR_SIZE) {
				r = bfl_errf(e, -EUCLEAN, "segments/%s: bad header or not where the records end",
					     l.v[i].name);
				free(buf);
				break;
			}
			off = 0;	/* a header cut short: the file goes */
		}
		while (off && (k = bfl_seg_next(buf, len, off, &it, &ie)) == 1) {
			if (replay_entry(m, &it, &ie)) {
				k = -EBADMSG;
				break;
			}
			off += it.len;
		}
		if (off && k == 0 && !(last && off == BFL_SEG_HDR_SIZE)) {
			free(buf);
			continue;
		}
		if (off && k == 0)
			off = 0;	/* a last segment with no entry: it goes */
		/* Damage: what a crash leaves (cut short, zeros, or a last
		 * entry that runs to the end) at the end of the last segment
		 * is cut; anything else is refused. */
		if (ie.code == -ENOMEM) {
			r = bfl_errf(e, -ENOMEM, "out of memory");
		} else if (!last ||
			   !(k == -ENODATA || bfl_all_zero(buf + off, len - off) ||
			     (it.len && off + it.len >= len) || off == 0)) {
			r = bfl_errf(e, -EUCLEAN, "segments/%s at byte %zu: %s", l.v[i].name,
				     off, ie.msg);
		} else if (off <= BFL_SEG_HDR_SIZE && m->tree.size == l.v[i].first) {
			if (unlinkat(m->segdirfd, l.v[i].name, 0) ||
			    sync_fd(m, m->segdirfd, false))
				r = bfl_errf(e, -errno, "segments/%s: %s", l.v[i].name,
					     strerror(errno));
			if (cut)
				*cut += len;
			l.n--;
		} else {
			int fd = openat(m->segdirfd, l.v[i].name, O_WRONLY | O_CLOEXEC);

			if (fd < 0 || ftruncate(fd, (off_t)off) || sync_fd(m, fd, false))
				r = bfl_errf(e, -errno, "segments/%s: cutting: %s",
					     l.v[i].name, strerror(errno));
			if (fd >= 0)
				close(fd);
			if (cut)
				*cut += len - off;
		}
		free(buf);
	}
	if (!r && l.n) {
		struct stat sb;

		m->segfd = openat(m->segdirfd, l.v[l.n - 1].name,
				  O_WRONLY | O_APPEND | O_CLOEXEC);
		if (m->segfd < 0 || fstat(m->segfd, &sb))
			r = bfl_errf(e, -errno, "segments/%s: %s", l.v[l.n - 1].name,
				     strerror(errno));
		else {
			m->seg_first = l.v[l.n - 1].first;
			m->seg_bytes = (u64)sb.st_size;
		}
	}
	free(l.v);
	return r;
}

int bfl_mirror_open(const char *dir, const char *origin,
		    const struct bfl_key *root,
		    const struct bfl_mirror_opts *opts,
		    struct bfl_mirror **out, u64 *cut, struct bfl_err *e)
{
	struct bfl_mirror *m;
	char o[BFL_NAME_MAX + 1];
	struct bfl_err oe;
	int r;

	*out = NULL;
	if (cut)
		*cut = 0;
	if (bfl_check_origin(origin, &oe))
		return bfl_errf(e, -EINVAL, "bad origin \"%s\": %s", origin, oe.msg);
	m = calloc(1, sizeof(*m));
	if (!m || !(m->dir = strdup(dir))) {
		free(m);
		return bfl_errf(e, -ENOMEM, "out of memory");
	}
	m->dirfd = m->segdirfd = m->epdirfd = m->segfd = -1;
	snprintf(m->origin, sizeof(m->origin), "%s", origin);
	if (opts)
		m->opts = *opts;
	if (!m->opts.segment_max_bytes)
		m->opts.segment_max_bytes = DEFAULT_SEG_MAX;
	if (!m->opts.max_held)
		m->opts.max_held = DEFAULT_HELD;
	bfl_tree_init(&m->tree);
	memcpy(m->root.name, root->name, sizeof(m->root.name));
	m->root.key_id = root->key_id;
	if (EVP_PKEY_up_ref(root->pk) != 1) {
		bfl_mirror_close(m);
		return bfl_errf(e, -ENOMEM, "cannot reference the root key");
	}
	m->root.pk = root->pk;
	m->held = calloc(m->opts.max_held, sizeof(*m->held));
	if (!m->held) {
		bfl_mirror_close(m);
		return bfl_errf(e, -ENOMEM, "out of memory");
	}
	m->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->dirfd < 0 && errno != ENOENT) {
		r = bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (m->dirfd < 0 || faccessat(m->dirfd, BFL_LOG_INFO, F_OK, AT_SYMLINK_NOFOLLOW)) {
		*out = m;	/* nothing yet: created by the first item */
		return 0;
	}
	m->created = true;
	r = bfl_read_log_info(m->dirfd, o, e);
	if (!r && strcmp(o, origin))
		r = bfl_errf(e, -EUCLEAN, "%s: the copy of \"%s\", not \"%s\"", dir, o, origin);
	if (!r)
		r = open_dirs(m, e);
	if (!r) {
		bfl_remove_tmp(m->dirfd, NULL);
		bfl_remove_tmp(m->epdirfd, NULL);
		r = load_certs(m, e);
	}
	if (!r)
		r = replay(m, cut, e);
	if (r)
		goto fail;
	/* An epoch start stopped between the final checkpoint and the
	 * certificates: the final of the last checkpoint's epoch. */
	if (m->ncp && m->ncert > last_cp_epoch(m)) {
		char name[32];

		bfl_epoch_file(name, sizeof(name), last_cp_epoch(m), "final");
		if (faccessat(m->epdirfd, name, F_OK, AT_SYMLINK_NOFOLLOW)) {
			r = bfl_write_replace(m->epdirfd, name, m->last_cp, m->last_cp_len,
					      !m->opts.no_sync, e);
			if (r)
				goto fail;
		}
	}
	m->cp_file_stale = m->ncp != 0;
	r = bfl_mirror_sync(m, e);
	if (r)
		goto fail;
	*out = m;
	return 0;
fail:
	m->failed = true;
	bfl_mirror_close(m);
	return r;
}

void bfl_mirror_close(struct bfl_mirror *m)
{
	unsigned int i;
	u64 k;

	if (!m)
		return;
	if (!m->failed && m->created && m->cp_file_stale) {
		m->cp_file_epoch = 0;	/* durably */
		bfl_mirror_sync(m, NULL);
	} else if (!m->failed) {
		flush(m, NULL);
	}
	free(m->wbuf);
	if (m->segfd >= 0)
		close(m->segfd);
	if (m->segdirfd >= 0)
		close(m->segdirfd);
	if (m->epdirfd >= 0)
		close(m->epdirfd);
	if (m->dirfd >= 0)
		close(m->dirfd);
	for (k = 0; k < m->ncert; k++)
		mcert_free(&m->cert[k]);
	for (i = 0; i < m->nheld; i++)
		mcert_free(&m->held[i]);
	free(m->cert);
	free(m->held);
	free(m->cp);
	free(m->leaf);
	bfl_key_free(&m->root);
	free(m->dir);
	free(m);
}

/* ------------------------------------------------------------ writing */

static int create(struct bfl_mirror *m, struct bfl_err *e)
{
	char info[BFL_NAME_MAX + 64];
	int n, r;

	if (m->created)
		return 0;
	if (m->dirfd < 0) {
		if (mkdir(m->dir, 0750) && errno != EEXIST)
			return failed(m, e, -errno, m->dir);
		m->dirfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (m->dirfd < 0)
			return failed(m, e, -errno, m->dir);
	}
	if ((mkdirat(m->dirfd, "segments", 0750) && errno != EEXIST) ||
	    (mkdirat(m->dirfd, "epochs", 0750) && errno != EEXIST))
		return failed(m, e, -errno, m->dir);
	r = open_dirs(m, e);
	if (r) {
		m->failed = true;
		return r;
	}
	n = snprintf(info, sizeof(info), BFL_LOG_INFO_MAGIC "origin %s\n", m->origin);
	r = bfl_write_replace(m->dirfd, BFL_LOG_INFO, info, (size_t)n, !m->opts.no_sync, e);
	if (r) {
		m->failed = true;
		return r;
	}
	m->created = true;
	return 0;
}

/* Writes what the buffer holds to the segment, in one write. */
static int flush(struct bfl_mirror *m, struct bfl_err *e)
{
	ssize_t k;

	if (!m->wlen)
		return 0;
	do
		k = write(m->segfd, m->wbuf, m->wlen);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return failed(m, e, -errno, "segment write");
	if ((size_t)k != m->wlen)
		return failed(m, e, -EIO, "segment write (short)");
	m->wlen = 0;
	return 0;
}

/* Appends an entry to the segment: to the buffer, written at the next
 * durability point (flush()'s callers); one larger than the buffer is
 * written at once, after what the buffer holds. */
static int write_all(struct bfl_mirror *m, const struct iovec *iov, int n,
		     size_t total, struct bfl_err *e)
{
	ssize_t k;
	int i, r;

	if (total > WBUF_SIZE - m->wlen) {
		r = flush(m, e);
		if (r)
			return r;
	}
	if (total <= WBUF_SIZE) {
		if (!m->wbuf) {
			m->wbuf = malloc(WBUF_SIZE);
			if (!m->wbuf)
				return failed(m, e, -ENOMEM, "segment write buffer");
		}
		for (i = 0; i < n; i++) {
			memcpy(m->wbuf + m->wlen, iov[i].iov_base, iov[i].iov_len);
			m->wlen += iov[i].iov_len;
		}
	} else {
		do
			k = writev(m->segfd, iov, n);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return failed(m, e, -errno, "segment write");
		if ((size_t)k != total)
			return failed(m, e, -EIO, "segment write (short)");
	}
	m->seg_bytes += total;
	m->seg_dirty = true;
	return 0;
}

static int new_segment(struct bfl_mirror *m, struct bfl_err *e)
{
	char name[BFL_SEG_NAME_LEN + 1];
	u8 hdr[BFL_SEG_HDR_SIZE];
	struct iovec v = { hdr, sizeof(hdr) };

	if (m->segfd >= 0) {
		/* The buffer holds the end of this segment, not the next's. */
		int r = flush(m, e);

		if (r)
			return r;
		if (m->seg_dirty && sync_fd(m, m->segfd, true))
			return failed(m, e, -errno, "segment fdatasync");
		close(m->segfd);
		m->segfd = -1;
		m->seg_dirty = false;
	}
	snprintf(name, sizeof(name), "%020llu.seg", (unsigned long long)m->tree.size);
	m->segfd = openat(m->segdirfd, name,
			  O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
	if (m->segfd < 0)
		return failed(m, e, -errno, name);
	m->seg_first = m->tree.size;
	m->seg_bytes = 0;
	m->segdir_dirty = true;
	bfl_seg_header_make(hdr, m->tree.size);
	return write_all(m, &v, 1, sizeof(hdr), e);
}

int bfl_mirror_sync(struct bfl_mirror *m, struct bfl_err *e)
{
	int r;

	if (m->failed)
		return bfl_errf(e, -EIO, "the copy failed earlier; reopen it");
	if (!m->created)
		return 0;
	r = flush(m, e);
	if (r)
		return r;
	/* Idle copies hold no buffer: a collector has many. */
	free(m->wbuf);
	m->wbuf = NULL;
	if (m->seg_dirty && m->segfd >= 0 && sync_fd(m, m->segfd, true))
		return failed(m, e, -errno, "segment fdatasync");
	m->seg_dirty = false;
	if (m->segdir_dirty && sync_fd(m, m->segdirfd, false))
		return failed(m, e, -errno, "segments: fsync");
	m->segdir_dirty = false;
	if (m->cp_file_stale && m->last_cp_len) {
		/* Durably when the epoch changed (verify.c's
		 * checkpoint-rollback: the copy must not name an earlier
		 * epoch than the last entry), as the store does. */
		bool durable = m->cp_file_epoch != last_cp_epoch(m) && !m->opts.no_sync;

		r = bfl_write_replace(m->dirfd, "checkpoint", m->last_cp, m->last_cp_len,
				      durable, e);
		if (r)
			return r;	/* the entries are durable; tried again */
		m->cp_file_stale = false;
		m->cp_file_epoch = last_cp_epoch(m);
	}
	return 0;
}

static int add_record(struct bfl_mirror *m, u64 n, const u8 *item, size_t len,
		      struct bfl_err *e)
{
	struct bfl_record rec;
	bfl_hash h;
	struct iovec v[2];
	size_t need = len + BFL_ENTRY_EXTRA;
	int k, r;

	k = bfl_record_parse(item, len, &rec, e);
	if (k < 0 || (size_t)k != len)
		return k < 0 ? bfl_rewrap(e, -EBADMSG, "record") :
		       bfl_errf(e, -EBADMSG, "record of %d bytes in an item of %zu", k, len);
	bfl_leaf_hash(item, len, h);
	if (n < m->tree.size) {
		if (!memcmp(m->leaf[n], h, BFL_HASH_SIZE))
			return BFL_MIRROR_DUPLICATE;
		return frozen(m, e, "record %llu differs from the one the copy holds",
			      (unsigned long long)n);
	}
	if (n > m->tree.size)
		return BFL_MIRROR_AHEAD;
	r = create(m, e);
	if (r)
		return r;
	/* The store's rule (store.c): a full segment is followed by one
	 * named by the next leaf index, unless it holds no record yet. */
	if (m->segfd < 0 ||
	    (m->seg_bytes + need > m->opts.segment_max_bytes &&
	     m->seg_first != m->tree.size)) {
		r = new_segment(m, e);
		if (r)
			return r;
	}
	v[0].iov_base = (void *)item;
	v[0].iov_len = len;
	v[1].iov_base = h;
	v[1].iov_len = BFL_HASH_SIZE;
	r = write_all(m, v, 2, need, e);
	if (r)
		return r;
	if (add_leaf(m, h))
		return failed(m, e, -ENOMEM, "leaf hashes");
	return BFL_MIRROR_APPLIED;
}

/* The first checkpoint entry of a size >= @size (their sizes never
 * decrease), or ncp. */
static size_t first_cp_at(const struct bfl_mirror *m, u64 size)
{
	size_t lo = 0, hi = m->ncp;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->cp[mid].size < size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bfl_mirror_root(const struct bfl_mirror *m, u64 size, bfl_hash out)
{
	size_t lo;

	if (size > m->tree.size)
		return -ERANGE;
	if (size == m->tree.size) {
		bfl_tree_root(&m->tree, out);
		return 0;
	}
	lo = first_cp_at(m, size);
	if (lo < m->ncp && m->cp[lo].size == size) {
		memcpy(out, m->cp[lo].root, BFL_HASH_SIZE);
		return 0;
	}
	bfl_mth((const bfl_hash *)m->leaf, size, out);
	return 0;
}

/* A checkpoint note parsed and of this log, its signature not checked
 * yet: 0, -EBADMSG, -ENOKEY (no epoch), -ENOMEM. */
static int cp_parse(const struct bfl_mirror *m, const char *note, size_t len,
		    struct bfl_checkpoint *cp, struct bfl_note *n, struct bfl_err *e)
{
	if (len > BFL_CPE_NOTE_MAX)
		return bfl_errf(e, -EBADMSG, "checkpoint of %zu bytes is too large", len);
	if (bfl_checkpoint_open(note, len, cp, n, e))
		return bfl_rewrap(e, -EBADMSG, "checkpoint");
	if (strcmp(cp->origin, m->origin))
		return bfl_errf(e, -EBADMSG, "checkpoint of another log");
	if (!cp->epoch)
		return bfl_errf(e, -ENOKEY, "checkpoint names no epoch (no bioflow-epoch line)");
	return 0;
}

/* The signature of a parsed checkpoint, by its epoch's certified key. */
static int cp_verify(const struct bfl_mirror *m, const struct bfl_checkpoint *cp,
		     const struct bfl_note *n, struct bfl_err *e)
{
	const struct mcert *c = find_cert(m, cp->epoch);

	if (!c)
		return bfl_errf(e, -ENOENT, "epoch %llu is not certified (yet)",
				(unsigned long long)cp->epoch);
	if (cp->size < c->c.start_size)
		return bfl_errf(e, -EBADMSG, "checkpoint of size %llu before epoch %llu's start (%llu)",
				(unsigned long long)cp->size, (unsigned long long)cp->epoch,
				(unsigned long long)c->c.start_size);
	return bfl_note_verify(n, &c->key, e);
}

int bfl_mirror_check_checkpoint(const struct bfl_mirror *m, const char *note,
				size_t len, struct bfl_checkpoint *cp,
				struct bfl_err *e)
{
	struct bfl_note *n = malloc(sizeof(*n));
	int r;

	if (!n)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = cp_parse(m, note, len, cp, n, e);
	if (!r)
		r = cp_verify(m, cp, n, e);
	free(n);
	return r;
}

/* Writes the held certificates up to @epoch, after the final checkpoint
 * of the epoch that ends (store.c, rotation steps 1 and 3). */
static int advance_epochs(struct bfl_mirror *m, u64 epoch, struct bfl_err *e)
{
	const struct mcert *prev = m->ncert ? &m->cert[m->ncert - 1] : NULL;
	char why[256], name[32];
	u64 k;
	int r;

	for (k = m->ncert + 1; k <= epoch; k++)
		if (!find_held(m, k))
			return BFL_MIRROR_AHEAD;
	for (k = m->ncert + 1; k <= epoch; k++) {
		const struct mcert *c = find_held(m, k);

		if (chain_check(prev, c, why, sizeof(why)))
			return frozen(m, e, "epoch certificates: %s", why);
		if (k == m->ncert + 1 && m->ncp && last_cp_epoch(m) == m->ncert &&
		    c->c.start_size != m->cp[m->ncp - 1].size)
			return frozen(m, e,
				      "epoch %llu starts at %llu, but epoch %llu's last checkpoint is of size %llu",
				      (unsigned long long)k, (unsigned long long)c->c.start_size,
				      (unsigned long long)m->ncert,
				      (unsigned long long)m->cp[m->ncp - 1].size);
		if (c->c.start_size > m->tree.size)
			return bfl_errf(e, -EBADMSG, "epoch %llu starts beyond the records",
					(unsigned long long)k);
		prev = c;
	}
	/* What the final checkpoint and the certificates refer to is
	 * durable before they are. */
	r = bfl_mirror_sync(m, e);
	if (r)
		return r;
	if (m->ncp && last_cp_epoch(m) == m->ncert && m->ncert) {
		bfl_epoch_file(name, sizeof(name), m->ncert, "final");
		r = bfl_write_replace(m->epdirfd, name, m->last_cp, m->last_cp_len,
				      !m->opts.no_sync, e);
		if (r) {
			m->failed = true;
			return r;
		}
	}
	for (k = m->ncert + 1; k <= epoch; k++) {
		struct mcert *c = find_held(m, k);
		unsigned int i = (unsigned int)(c - m->held);

		bfl_epoch_file(name, sizeof(name), k, "cert");
		r = bfl_write_replace(m->epdirfd, name, c->text, c->len, !m->opts.no_sync, e);
		if (r) {
			m->failed = true;
			return r;
		}
		if (push_cert(m, c))
			return failed(m, e, -ENOMEM, "certificates");
		m->held[i] = m->held[--m->nheld];
		memset(&m->held[m->nheld], 0, sizeof(m->held[0]));
	}
	return 0;
}

static int add_checkpoint(struct bfl_mirror *m, u64 n, const u8 *item,
			  size_t len, struct bfl_err *e)
{
	const char *note = (const char *)item;
	struct bfl_checkpoint cp;
	struct bfl_note *pn;
	bfl_hash nh, root;
	u8 *entry;
	size_t i;
	int r;

	pn = malloc(sizeof(*pn));
	if (!pn)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = cp_parse(m, note, len, &cp, pn, e);
	if (!r && cp.size != n)
		r = bfl_errf(e, -EBADMSG, "checkpoint of size %llu sent as %llu",
			     (unsigned long long)cp.size, (unsigned long long)n);
	if (r)
		goto out;
	/* The signature is checked once, when the checkpoint can be taken:
	 * one ahead waits for its records (and is fed again after each one
	 * the copy takes), a duplicate is the bytes of an entry the copy
	 * holds and adds nothing. */
	if (cp.size > m->tree.size) {
		r = BFL_MIRROR_AHEAD;
		goto out;
	}
	bfl_sha256(note, len, NULL, 0, nh);
	for (i = first_cp_at(m, cp.size); i < m->ncp && m->cp[i].size == cp.size; i++)
		if (!memcmp(m->cp[i].note, nh, BFL_HASH_SIZE)) {
			r = BFL_MIRROR_DUPLICATE;
			goto out;
		}
	r = cp_verify(m, &cp, pn, e);
	if (r == -ENOENT)
		r = BFL_MIRROR_AHEAD;
out:
	free(pn);
	if (r < 0)
		return r == -ENOMEM ? r : bfl_rewrap(e, -EBADMSG, "checkpoint");
	if (r != 0)
		return r;
	bfl_mirror_root(m, cp.size, root);
	if (memcmp(root, cp.root, BFL_HASH_SIZE))
		return frozen(m, e,
			      "checkpoint of size %llu signed by epoch %llu has another root than the copy's records",
			      (unsigned long long)cp.size, (unsigned long long)cp.epoch);
	if (cp.size < m->tree.size)
		return BFL_MIRROR_STALE;
	if (cp.epoch < last_cp_epoch(m) || cp.epoch < m->ncert)
		return bfl_errf(e, -EBADMSG,
				"checkpoint of epoch %llu after epoch %llu's (out of order)",
				(unsigned long long)cp.epoch,
				(unsigned long long)(m->ncert > last_cp_epoch(m) ?
						     m->ncert : last_cp_epoch(m)));
	r = create(m, e);
	if (r)
		return r;
	if (cp.epoch > m->ncert) {
		r = advance_epochs(m, cp.epoch, e);
		if (r)
			return r;
	}
	if (m->segfd < 0) {
		r = new_segment(m, e);
		if (r)
			return r;
	}
	entry = calloc(1, bfl_cpe_size(len));
	if (!entry)
		return failed(m, e, -ENOMEM, "checkpoint entry");
	{
		struct iovec v = { entry, bfl_cpe_make(entry, note, len) };

		r = write_all(m, &v, 1, v.iov_len, e);
	}
	free(entry);
	/* A checkpoint entry is in the file with every record it seals,
	 * in one write (the records since the last one, then it). */
	if (!r)
		r = flush(m, e);
	if (r)
		return r;
	if (add_cp(m, &cp, note, len))
		return failed(m, e, -ENOMEM, "checkpoints");
	m->cp_file_stale = true;
	return BFL_MIRROR_APPLIED;
}

static int add_cert(struct bfl_mirror *m, u64 n, const u8 *item, size_t len,
		    struct bfl_err *e)
{
	const struct mcert *have;
	struct mcert c;
	int r;

	r = cert_load(m, item, len, &c, e);
	if (r)
		return r;
	if (c.epoch != n || !n) {
		mcert_free(&c);
		return bfl_errf(e, -EBADMSG, "certificate of epoch %llu sent as %llu",
				(unsigned long long)c.epoch, (unsigned long long)n);
	}
	have = find_cert(m, n);
	if (have) {
		bool same = have->len == len && !memcmp(have->text, item, len);

		mcert_free(&c);
		if (same)
			return BFL_MIRROR_DUPLICATE;
		return frozen(m, e, "two certificates of epoch %llu, both signed by the root key",
			      (unsigned long long)n);
	}
	if (m->nheld == m->opts.max_held) {
		mcert_free(&c);
		return BFL_MIRROR_AHEAD;
	}
	m->held[m->nheld++] = c;
	return BFL_MIRROR_HELD;
}

int bfl_mirror_add(struct bfl_mirror *m, enum bfl_fwd_kind kind, u64 n,
		   const u8 *item, size_t len, struct bfl_err *e)
{
	char info[BFL_NAME_MAX + 64];
	int k;

	if (m->is_frozen)
		return bfl_errf(e, -EUCLEAN, "frozen: history rewritten: %s", m->frozen);
	if (m->failed)
		return bfl_errf(e, -EIO, "the copy failed earlier; reopen it");
	switch (kind) {
	case BFL_FWD_INFO:
		k = snprintf(info, sizeof(info), BFL_LOG_INFO_MAGIC "origin %s\n", m->origin);
		if ((size_t)k != len || memcmp(info, item, len))
			return bfl_errf(e, -EBADMSG, "log-info is not this version's for \"%s\"",
					m->origin);
		if (m->created)
			return BFL_MIRROR_DUPLICATE;
		k = create(m, e);
		return k ? k : BFL_MIRROR_APPLIED;
	case BFL_FWD_CERT:
		return add_cert(m, n, item, len, e);
	case BFL_FWD_REC:
		return add_record(m, n, item, len, e);
	case BFL_FWD_CP:
		return add_checkpoint(m, n, item, len, e);
	}
	return bfl_errf(e, -EBADMSG, "unknown item kind");
}

u64 bfl_mirror_size(const struct bfl_mirror *m)
{
	return m->tree.size;
}

u64 bfl_mirror_sealed(const struct bfl_mirror *m)
{
	return m->ncp ? m->cp[m->ncp - 1].size : 0;
}

u64 bfl_mirror_epochs(const struct bfl_mirror *m)
{
	return m->ncert;
}

bool bfl_mirror_holds_cert(const struct bfl_mirror *m, u64 epoch)
{
	return find_held(m, epoch) != NULL;
}

const char *bfl_mirror_frozen(const struct bfl_mirror *m)
{
	return m->is_frozen ? m->frozen : NULL;
}
