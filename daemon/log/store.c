// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The append-only store (docs/log-format.md), the writing half:
 *
 *   log-info, checkpoint (a copy), epochs/NNNNNNNNNN.{cert,final},
 *   segments/<first leaf index, 20 digits>.seg
 *
 * Segments (segment.c) hold record entries and, after each group
 * commit's records, the checkpoint entry that seals them.
 *
 * Group commit: records are written as they are appended; the commit
 * signs a checkpoint for the tree, writes it as a checkpoint entry and
 * makes both durable with one fdatasync (and an fsync of segments/ when
 * a segment was created).  Only then is anything acknowledged.  A crash
 * at any point leaves the last complete checkpoint entry and, after it,
 * an unsealed tail that recovery (recover.c) cuts.
 *
 * Epochs: the private key of an epoch lives only in this process.  Every
 * open starts a new epoch; rotation also happens on size and time.  The
 * order of a rotation makes every crash point recoverable and leaves no
 * gap in the counter values the certificates attest:
 *   1. epochs/E.final = the latest checkpoint (signed by E), durably
 *   2. read the counter -> V; it must be E's attested value + 1 (if it
 *      equals E's value, E's start was interrupted before its increment:
 *      increment now, V = that + 1); anything else is refused
 *   3. epochs/E+1.cert: body (origin, E+1, start = sealed size, V) and
 *      the TPM's NV_Certify of the counter (= V) bound to the body,
 *      durably
 *   4. increment the counter -> V + 1 (so the next epoch attests V + 1)
 *   5. checkpoint entry at the same size signed by E+1; the checkpoint
 *      file replaced durably
 *   6. E's private key freed and wiped
 * A crash before 3 leaves the counter at V (the next start certifies V
 * again); between 3 and 4 the counter still reads V, which 2 completes;
 * after 4, the next start finds V + 1.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "internal.h"

/* ------------------------------------------------------ shared helpers */

void bfl_epoch_file(char *out, size_t cap, u64 epoch, const char *ext)
{
	snprintf(out, cap, "%010llu.%s", (unsigned long long)epoch, ext);
}

static int u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

int bfl_list_epochs(int epdirfd, u64 **epochs, unsigned int *n,
		    struct bfl_err *e)
{
	int fd = dup(epdirfd);
	unsigned int cap = 0, k = 0;
	struct dirent *d;
	u64 *v = NULL;
	DIR *dir;

	if (fd < 0)
		return bfl_errf(e, -errno, "epochs: %s", strerror(errno));
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return bfl_errf(e, -errno, "epochs: %s", strerror(errno));
	}
	rewinddir(dir);
	while ((d = readdir(dir))) {
		unsigned long long ep;

		if (strlen(d->d_name) != 15 || strcmp(d->d_name + 10, ".cert") ||
		    strspn(d->d_name, "0123456789") != 10 ||
		    sscanf(d->d_name, "%10llu", &ep) != 1)
			continue;
		if (k == cap) {
			u64 *nv;

			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(dir);
				return bfl_errf(e, -ENOMEM, "out of memory");
			}
			v = nv;
		}
		v[k++] = ep;
	}
	closedir(dir);
	if (k)
		qsort(v, k, sizeof(*v), u64_cmp);
	*epochs = v;
	*n = k;
	return 0;
}

int bfl_read_log_info(int dirfd, char *origin, struct bfl_err *e)
{
	size_t len, ml = strlen(BFL_LOG_INFO_MAGIC), ol;
	struct bfl_err oe;
	u8 *buf;
	int r;

	r = bfl_read_file(dirfd, BFL_LOG_INFO, 4096, &buf, &len, e);
	if (r)
		return r;
	r = -EBADMSG;
	if (len > ml + 7 && !memcmp(buf, BFL_LOG_INFO_MAGIC, ml) &&
	    !memcmp(buf + ml, "origin ", 7) && buf[len - 1] == '\n') {
		ol = len - ml - 7 - 1;
		if (ol <= BFL_NAME_MAX) {
			memcpy(origin, buf + ml + 7, ol);
			origin[ol] = 0;
			if (strlen(origin) == ol && !bfl_check_key_name(origin, &oe)) {
				r = 0;
			} else if (strlen(origin) == ol) {
				/* An origin no signed-note key name can carry (an
				 * earlier version let Unicode spaces through). */
				free(buf);
				return bfl_errf(e, -EBADMSG, "%s: origin \"%s\": %s",
						BFL_LOG_INFO, origin, oe.msg);
			}
		}
	}
	if (r && len > strlen(BFL_LOG_INFO_PREFIX) &&
	    !memcmp(buf, BFL_LOG_INFO_PREFIX, strlen(BFL_LOG_INFO_PREFIX)) &&
	    memcmp(buf, BFL_LOG_INFO_MAGIC, ml)) {
		/* Another format version: say which, not just "bad". */
		const u8 *nl = memchr(buf, '\n', len);
		int n = (int)((nl ? (size_t)(nl - buf) : len) < 40 ?
			      (nl ? (size_t)(nl - buf) : len) : 40);

		bool v2 = len >= 16 && !memcmp(buf, "bioflow-store v2", 16) &&
			  (len == 16 || buf[16] == '\n');

		r = bfl_errf(e, -EPROTONOSUPPORT,
			     "%s: store format \"%.*s\"; this version reads \"%.*s\" only%s",
			     BFL_LOG_INFO, n, (const char *)buf, (int)(ml - 1),
			     BFL_LOG_INFO_MAGIC,
			     v2 ? " (v2 stores carry epoch certificates \"" BFL_CERT_MAGIC_OLD
			     "\", signed by the root key over a claimed counter value; v3 carries \""
			     BFL_CERT_MAGIC "\", a TPM2_NV_Certify of the counter: keep the old store with the bioflow-verify and root key that wrote it, and start a new store; docs/log-format.md, \"Migration\")" : "");
		free(buf);
		return r;
	}
	free(buf);
	if (r)
		return bfl_errf(e, r, "%s: not a bioflow store description",
				BFL_LOG_INFO);
	return 0;
}

void bfl_remove_tmp(int dirfd, unsigned int *count)
{
	int fd = dup(dirfd);
	struct dirent *d;
	DIR *dir;

	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	rewinddir(dir);
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name);

		if (n > 4 && !strcmp(d->d_name + n - 4, ".tmp") &&
		    !unlinkat(dirfd, d->d_name, 0) && count)
			(*count)++;
	}
	closedir(dir);
}

/* ------------------------------------------------------------- writer */

#define DEFAULT_SEG_MAX (64ULL << 20)
#define DEFAULT_CP_FILE_MS 1000

static void opts_default(struct bfl_store_opts *o, const struct bfl_store_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->segment_max_bytes)
		o->segment_max_bytes = DEFAULT_SEG_MAX;
	if (!o->checkpoint_file_ms)
		o->checkpoint_file_ms = DEFAULT_CP_FILE_MS;
}

static struct bfl_store *store_alloc(struct bfl_root_signer *rs,
				     const struct bfl_store_opts *opts)
{
	struct bfl_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->wbuf = malloc(BFL_WBUF_SIZE);
	if (!st->wbuf) {
		free(st);
		return NULL;
	}
	st->dirfd = st->segdirfd = st->epdirfd = st->segfd = -1;
	st->rs = rs;
	opts_default(&st->opts, opts);
	bfl_tree_init(&st->tree);
	return st;
}

void bfl_store_close(struct bfl_store *st)
{
	if (!st)
		return;
	/* Leave the checkpoint file equal to the last sealed checkpoint,
	 * for whoever looks at the store next; the entry in the segment
	 * already is durable, so a failure here loses nothing. */
	if (!st->failed && st->cp_file_stale && st->cp_len && st->dirfd >= 0)
		bfl_write_replace(st->dirfd, "checkpoint", st->cp_text, st->cp_len,
				  !st->opts.no_sync, NULL);
	if (st->segfd >= 0)
		close(st->segfd);
	if (st->segdirfd >= 0)
		close(st->segdirfd);
	if (st->epdirfd >= 0)
		close(st->epdirfd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	if (st->key.priv)
		bfl_epoch_key_destroy(&st->key);
	free(st->wbuf);
	free(st);
}

static int open_dirs(struct bfl_store *st, const char *dir, struct bfl_err *e)
{
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
	st->segdirfd = openat(st->dirfd, "segments", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->segdirfd < 0)
		return bfl_errf(e, -errno, "%s/segments: %s", dir, strerror(errno));
	st->epdirfd = openat(st->dirfd, "epochs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->epdirfd < 0)
		return bfl_errf(e, -errno, "%s/epochs: %s", dir, strerror(errno));
	return 0;
}

int bfl_store_sync(const struct bfl_store *st, int fd, bool data)
{
	if (st->opts.no_sync)
		return 0;
	if (data ? fdatasync(fd) : fsync(fd))
		return -errno;
	return 0;
}

/* ----------------------------------------------------------- appending */

static int flush(struct bfl_store *st, struct bfl_err *e)
{
	size_t done = 0;

	while (done < st->wlen) {
		ssize_t k = write(st->segfd, st->wbuf + done, st->wlen - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			st->failed = true;
			return bfl_errf(e, -errno, "segment write: %s", strerror(errno));
		}
		done += (size_t)k;
	}
	st->seg_bytes += st->wlen;
	st->wlen = 0;
	return 0;
}

static int new_segment(struct bfl_store *st, struct bfl_err *e)
{
	u8 hdr[BFL_SEG_HDR_SIZE];
	char name[BFL_SEG_NAME_LEN + 1];
	int fd, r;

	if (st->segfd >= 0) {
		r = flush(st, e);
		if (r)
			return r;
		if (bfl_store_sync(st, st->segfd, true)) {
			st->failed = true;
			return bfl_errf(e, -errno, "segment fdatasync: %s", strerror(errno));
		}
		close(st->segfd);
		st->segfd = -1;
	}
	snprintf(name, sizeof(name), "%020llu.seg", (unsigned long long)st->tree.size);
	fd = openat(st->segdirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		    0640);
	if (fd < 0) {
		st->failed = true;
		return bfl_errf(e, -errno, "segments/%s: %s", name, strerror(errno));
	}
	st->segfd = fd;
	st->seg_first = st->tree.size;
	st->seg_bytes = 0;
	st->segdir_dirty = true;
	bfl_seg_header_make(hdr, st->tree.size);
	memcpy(st->wbuf, hdr, sizeof(hdr));
	st->wlen = sizeof(hdr);
	return 0;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * The checkpoint file is a copy of the latest checkpoint entry: the
 * entries are what is durable.  Replacing it at every commit would cost
 * a file sync, a rename and a directory sync per commit, so it is
 * replaced at most every checkpoint_file_ms without syncing (a crash may
 * leave the previous copy, or an empty file, which recovery accepts),
 * and with syncing where it matters: epoch starts and close.
 */
static int refresh_checkpoint_file(struct bfl_store *st, bool durable,
				   struct bfl_err *e)
{
	int r;

	if (!st->cp_file_stale)
		return 0;
	if (!durable && st->opts.checkpoint_file_ms > 0 &&
	    ms_since(&st->cp_file_time) < st->opts.checkpoint_file_ms)
		return 0;
	r = bfl_write_replace(st->dirfd, "checkpoint", st->cp_text, st->cp_len,
			      durable && !st->opts.no_sync, e);
	if (r)
		return r;
	st->cp_file_stale = false;
	clock_gettime(CLOCK_MONOTONIC, &st->cp_file_time);
	return 0;
}

/*
 * Seals the tree as it is: signs a checkpoint for it and appends that as
 * a checkpoint entry after the records it covers, so that one fdatasync
 * makes records and checkpoint durable together.  Only after this
 * returns 0 may anything it covers be acknowledged.
 */
static int seal(struct bfl_store *st, bool durable_file, struct bfl_err *e)
{
	struct bfl_checkpoint cp;
	size_t need;
	int r;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", st->origin);
	cp.size = st->tree.size;
	cp.epoch = st->key.epoch;
	bfl_tree_root(&st->tree, cp.root);
	r = bfl_checkpoint_sign(&cp, &st->key, st->cp_text, sizeof(st->cp_text),
				&st->cp_len, e);
	if (r)
		goto fail;
	if (st->segfd < 0) {
		r = new_segment(st, e);
		if (r)
			goto fail;
	}
	need = bfl_cpe_size(st->cp_len);
	if (st->wlen + need > BFL_WBUF_SIZE) {
		r = flush(st, e);
		if (r)
			goto fail;
	}
	st->wlen += bfl_cpe_make(st->wbuf + st->wlen, st->cp_text, st->cp_len);
	r = flush(st, e);
	if (r)
		goto fail;
	if (bfl_store_sync(st, st->segfd, true) ||
	    (st->segdir_dirty && bfl_store_sync(st, st->segdirfd, false))) {
		r = bfl_errf(e, -errno, "fdatasync: %s", strerror(errno));
		goto fail;
	}
	st->segdir_dirty = false;
	st->sealed = cp.size;
	st->cp_epoch = cp.epoch;
	st->cp_file_stale = true;
	/* The copy: at an epoch start it must be there (a failure fails
	 * the store); at a commit, a failure only leaves it stale, to be
	 * tried again, since what is sealed is durable already. */
	r = refresh_checkpoint_file(st, durable_file, e);
	if (r && durable_file)
		goto fail;
	return 0;
fail:
	st->failed = true;
	return r;
}

/* Keeps the certificate of the last certified epoch. */
static int keep_cert(struct bfl_store *st, const char *text, size_t len,
		     u64 epoch, u64 nv, struct bfl_err *e)
{
	if (len >= sizeof(st->cert))
		return bfl_errf(e, -EFBIG, "epoch %llu's certificate is too large",
				(unsigned long long)epoch);
	memcpy(st->cert, text, len);
	st->cert[len] = 0;
	st->cert_len = len;
	st->cert_nv = nv;
	st->cert_epoch = epoch;
	st->have_cert = true;
	return 0;
}

/* Step 2: the counter value the new epoch attests (see the top). */
static int next_counter(struct bfl_store *st, u64 *out, struct bfl_err *e)
{
	u64 c = 0, v = 0;
	int r;

	r = st->rs->ops->counter_read(st->rs, &c, e);
	if (r || !st->have_cert) {
		*out = c;
		return r;
	}
	if (c == st->cert_nv) {
		/* The last start made its certificate durable and stopped
		 * before the increment: finish it. */
		r = st->rs->ops->counter_increment(st->rs, st->cert, st->cert_len,
						   &v, e);
		if (r)
			return r;
		if (v != c + 1)
			return bfl_errf(e, -EIO,
					"the counter went from %llu to %llu in one increment",
					(unsigned long long)c, (unsigned long long)v);
		*out = v;
		return 0;
	}
	if (c < st->cert_nv)
		return bfl_errf(e, -EUCLEAN,
				"the root signer's counter reads %llu, below the %llu that epoch %llu's certificate attests: this store was not sealed with this counter",
				(unsigned long long)c, (unsigned long long)st->cert_nv,
				(unsigned long long)st->cert_epoch);
	if (c != st->cert_nv + 1)
		return bfl_errf(e, -EUCLEAN,
				"the root signer's counter reads %llu but the store's last certificate (epoch %llu) attests %llu: %llu increment(s) were made outside this store (its later epochs were removed, i.e. it was rolled back to an older copy, or another program incremented the counter); a new epoch here would leave a gap, which verification reports as an error: refusing (move the store aside and start a new one; docs/tpm.md)",
				(unsigned long long)c,
				(unsigned long long)st->cert_epoch,
				(unsigned long long)st->cert_nv,
				(unsigned long long)(c - st->cert_nv - 1));
	*out = c;
	return 0;
}

/* Steps 2-6 of a rotation: a new epoch starting at the sealed size. */
static int start_epoch(struct bfl_store *st, u64 epoch, struct bfl_err *e)
{
	struct bfl_epoch_key nk;
	struct bfl_epoch_cert c;
	char text[BFL_CERT_CAP], name[32];
	size_t len;
	u64 v = 0, after = 0;
	int r;

	r = next_counter(st, &v, e);
	if (r)
		return r;
	r = bfl_epoch_key_generate(&nk, st->origin, epoch, e);
	if (r)
		return r;
	memset(&c, 0, sizeof(c));
	snprintf(c.origin, sizeof(c.origin), "%s", st->origin);
	c.epoch = epoch;
	c.start_size = st->tree.size;
	c.nv_counter = v;
	c.issued = (u64)time(NULL);
	len = 32;
	if (EVP_PKEY_get_raw_public_key(nk.priv, c.pub, &len) != 1 || len != 32) {
		bfl_epoch_key_destroy(&nk);
		return bfl_errf(e, -EIO, "cannot read the epoch public key");
	}
	r = bfl_cert_issue(st->rs, &c, text, sizeof(text), &len, e);
	if (!r) {
		bfl_epoch_file(name, sizeof(name), epoch, "cert");
		r = bfl_write_atomic(st->epdirfd, name, text, len, e);
	}
	if (!r)
		r = keep_cert(st, text, len, epoch, v, e);
	/* Durable: now the counter may pass the value it attests. */
	if (!r)
		r = st->rs->ops->counter_increment(st->rs, text, len, &after, e);
	if (!r && after != v + 1)
		r = bfl_errf(e, -EIO,
			     "the counter went from %llu to %llu in one increment",
			     (unsigned long long)v, (unsigned long long)after);
	if (r) {
		bfl_epoch_key_destroy(&nk);
		return r;
	}
	if (st->key.priv)
		bfl_epoch_key_destroy(&st->key);
	st->key = nk;
	st->epoch_start = st->tree.size;
	st->epoch_time = time(NULL);
	return seal(st, true, e);
}

/* The certificate of the store's last epoch (checked by recovery). */
static int load_last_cert(struct bfl_store *st, u64 epoch, struct bfl_err *e)
{
	struct bfl_epoch_cert c;
	char name[32];
	u8 *buf;
	size_t len;
	int r;

	bfl_epoch_file(name, sizeof(name), epoch, "cert");
	r = bfl_read_file(st->epdirfd, name, BFL_CERT_CAP - 1, &buf, &len, e);
	if (r)
		return bfl_rewrap(e, r == -ENOENT || r == -EINVAL || r == -EFBIG ?
				  -EUCLEAN : r, "epochs");
	r = bfl_cert_open((const char *)buf, len, &st->rs->key, &c, e);
	if (!r)
		r = keep_cert(st, (const char *)buf, len, epoch, c.nv_counter, e);
	else if (r != -EPROTONOSUPPORT)
		r = bfl_rewrap(e, -EUCLEAN, name);
	free(buf);
	return r;
}

int bfl_store_rotate_epoch(struct bfl_store *st, struct bfl_err *e)
{
	char name[32];
	int r;

	if (st->failed)
		return bfl_errf(e, -EIO, "store failed earlier; reopen it");
	if (st->tree.size != st->sealed)
		return bfl_errf(e, -EBUSY, "commit before rotating the epoch");
	bfl_epoch_file(name, sizeof(name), st->key.epoch, "final");
	r = bfl_write_atomic(st->epdirfd, name, st->cp_text, st->cp_len, e);
	if (!r)
		r = start_epoch(st, st->key.epoch + 1, e);
	if (r)
		st->failed = true;
	return r;
}

static int write_info(int dirfd, const char *origin, struct bfl_err *e)
{
	char buf[BFL_NAME_MAX + 64];
	int n = snprintf(buf, sizeof(buf), BFL_LOG_INFO_MAGIC "origin %s\n", origin);

	return bfl_write_atomic(dirfd, BFL_LOG_INFO, buf, (size_t)n, e);
}

int bfl_store_create(const char *dir, const char *origin,
		     struct bfl_root_signer *rs,
		     const struct bfl_store_opts *opts, struct bfl_store **out,
		     struct bfl_err *e)
{
	struct bfl_err oe;
	struct bfl_store *st;
	int r;

	if (bfl_check_origin(origin, &oe))
		return bfl_errf(e, -EINVAL, "bad origin \"%s\": %s", origin, oe.msg);
	if (mkdir(dir, 0750) && errno != EEXIST)
		return bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
	st = store_alloc(rs, opts);
	if (!st)
		return bfl_errf(e, -ENOMEM, "out of memory");
	snprintf(st->origin, sizeof(st->origin), "%s", origin);
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		r = bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (!faccessat(st->dirfd, BFL_LOG_INFO, F_OK, 0)) {
		r = bfl_errf(e, -EEXIST, "%s: a store exists there already", dir);
		goto fail;
	}
	if ((mkdirat(st->dirfd, "segments", 0750) && errno != EEXIST) ||
	    (mkdirat(st->dirfd, "epochs", 0750) && errno != EEXIST)) {
		r = bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	close(st->dirfd);
	st->dirfd = -1;
	r = open_dirs(st, dir, e);
	if (!r)
		r = write_info(st->dirfd, origin, e);
	if (!r)
		r = start_epoch(st, 1, e);
	if (r)
		goto fail;
	*out = st;
	return 0;
fail:
	bfl_store_close(st);
	return r;
}

int bfl_store_open(const char *dir, struct bfl_root_signer *rs,
		   const struct bfl_store_opts *opts, struct bfl_store **out,
		   struct bfl_recovery *rep, struct bfl_err *e)
{
	struct bfl_recovery dummy;
	struct bfl_store *st;
	u64 last_ep = 0;
	char name[32];
	int r;

	if (!rep)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	st = store_alloc(rs, opts);
	if (!st)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = open_dirs(st, dir, e);
	if (!r)
		r = bfl_read_log_info(st->dirfd, st->origin, e);
	if (r)
		goto fail;
	bfl_remove_tmp(st->dirfd, &rep->removed_tmp);
	bfl_remove_tmp(st->epdirfd, &rep->removed_tmp);
	bfl_remove_tmp(st->segdirfd, &rep->removed_tmp);

	r = bfl_store_recover(st, rep, &last_ep, e);
	if (r)
		goto fail;
	/* Seal the previous epoch: the latest checkpoint is its final one
	 * (when a later epoch exists, it is empty and its final exists). */
	if (st->cp_len && st->cp_epoch == last_ep) {
		bfl_epoch_file(name, sizeof(name), last_ep, "final");
		r = bfl_write_atomic(st->epdirfd, name, st->cp_text, st->cp_len, e);
		if (r)
			goto fail;
		rep->wrote_final = true;
	}
	if (last_ep) {
		r = load_last_cert(st, last_ep, e);
		if (r)
			goto fail;
	}
	r = start_epoch(st, last_ep + 1, e);
	if (r)
		goto fail;
	rep->new_epoch = last_ep + 1;
	*out = st;
	return 0;
fail:
	st->failed = true;	/* close must not touch the checkpoint file */
	bfl_store_close(st);
	return r;
}

int bfl_store_append(struct bfl_store *st, const void *data, size_t len,
		     unsigned int *appended, unsigned int *skipped,
		     struct bfl_err *e)
{
	const u8 *p = data;
	unsigned int na = 0, ns = 0;
	size_t off = 0;
	int r;

	if (appended)
		*appended = 0;
	if (skipped)
		*skipped = 0;
	if (st->failed)
		return bfl_errf(e, -EIO, "store failed earlier; reopen it");
	/* Validate everything first: a batch goes in whole or not at all. */
	while (off < len) {
		struct bfl_record rec;
		int k = bfl_record_parse(p + off, len - off, &rec, e);

		if (k < 0) {
			char pre[48];

			snprintf(pre, sizeof(pre), "record at byte %zu", off);
			return bfl_rewrap(e, -EINVAL, pre);
		}
		off += (size_t)k;
	}
	off = 0;
	while (off < len) {
		struct bfl_record rec;
		int k = bfl_record_parse(p + off, len - off, &rec, NULL);
		size_t need = (size_t)k + BFL_ENTRY_EXTRA;

		if (bfl_record_is_kernel(&rec) && st->have_last &&
		    !st->opts.keep_duplicates &&
		    !memcmp(rec.stream, st->last_stream, BFL_STREAM_SIZE) &&
		    rec.seq <= st->last_seq) {
			ns++;	/* redelivered: already stored */
			off += (size_t)k;
			continue;
		}
		/* A full segment is followed by a new one named by the next
		 * leaf index, unless it holds no record yet (only checkpoint
		 * entries: the name would be its own). */
		if (st->segfd < 0 ||
		    (st->seg_bytes + st->wlen + need > st->opts.segment_max_bytes &&
		     st->seg_first != st->tree.size)) {
			r = new_segment(st, e);
			if (r)
				return r;
		}
		if (st->wlen + need > BFL_WBUF_SIZE) {
			r = flush(st, e);
			if (r)
				return r;
		}
		memcpy(st->wbuf + st->wlen, p + off, (size_t)k);
		bfl_leaf_hash(p + off, (size_t)k, st->wbuf + st->wlen + k);
		bfl_tree_append(&st->tree, st->wbuf + st->wlen + k);
		st->wlen += need;
		if (bfl_record_is_kernel(&rec)) {
			st->have_last = true;
			memcpy(st->last_stream, rec.stream, BFL_STREAM_SIZE);
			st->last_seq = rec.seq;
		}
		na++;
		off += (size_t)k;
	}
	r = st->wlen ? flush(st, e) : 0;
	if (appended)
		*appended = na;
	if (skipped)
		*skipped = ns;
	return r;
}

int bfl_store_commit(struct bfl_store *st, struct bfl_err *e)
{
	bool due;
	int r;

	if (st->failed)
		return bfl_errf(e, -EIO, "store failed earlier; reopen it");
	if (st->tree.size != st->sealed) {
		r = seal(st, false, e);
		if (r)
			return r;
	}
	due = (st->opts.epoch_max_records &&
	       st->tree.size - st->epoch_start >= st->opts.epoch_max_records) ||
	      (st->opts.epoch_max_seconds &&
	       (u64)(time(NULL) - st->epoch_time) >= st->opts.epoch_max_seconds);
	if (due)
		return bfl_store_rotate_epoch(st, e);
	/* A commit with nothing new may still owe the file its copy. */
	refresh_checkpoint_file(st, false, NULL);
	return 0;
}

u64 bfl_store_size(const struct bfl_store *st)
{
	return st->tree.size;
}

u64 bfl_store_sealed_size(const struct bfl_store *st)
{
	return st->sealed;
}

u64 bfl_store_epoch(const struct bfl_store *st)
{
	return st->key.epoch;
}

bool bfl_store_last_seq(const struct bfl_store *st, u8 stream[BFL_STREAM_SIZE], u64 *seq)
{
	if (!st->have_last)
		return false;
	memcpy(stream, st->last_stream, BFL_STREAM_SIZE);
	*seq = st->last_seq;
	return true;
}

/* -------------------------------------------------------------- proofs */

void bfl_leaves_free(struct bfl_leaves *lv)
{
	u64 i;

	for (i = 0; i < lv->n && lv->rec; i++)
		free(lv->rec[i]);
	free(lv->rec);
	free(lv->rec_len);
	free(lv->leaf);
	free(lv->last_cp);
	memset(lv, 0, sizeof(*lv));
}

static int leaves_add(struct bfl_leaves *lv, u64 *cap, const struct bfl_item *it)
{
	if (lv->n == *cap) {
		u64 nc = *cap ? 2 * *cap : 1024;
		bfl_hash *nl = realloc(lv->leaf, nc * sizeof(*nl));
		u8 **nr;
		size_t *nlen;

		if (nl)
			lv->leaf = nl;
		nr = nl ? realloc(lv->rec, nc * sizeof(*nr)) : NULL;
		if (nr)
			lv->rec = nr;
		nlen = nr ? realloc(lv->rec_len, nc * sizeof(*nlen)) : NULL;
		if (!nlen)
			return -ENOMEM;
		lv->rec_len = nlen;
		*cap = nc;
	}
	lv->rec[lv->n] = malloc(it->data_len);
	if (!lv->rec[lv->n])
		return -ENOMEM;
	memcpy(lv->rec[lv->n], it->data, it->data_len);
	lv->rec_len[lv->n] = it->data_len;
	bfl_leaf_hash(it->data, it->data_len, lv->leaf[lv->n]);
	lv->n++;
	return 0;
}

int bfl_store_load_leaves(const char *dir, struct bfl_leaves *lv,
			  struct bfl_err *e)
{
	struct bfl_seg_list l = { 0 };
	u64 cap = 0;
	unsigned int i;
	int dfd, sfd, r;

	memset(lv, 0, sizeof(*lv));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
	sfd = openat(dfd, "segments", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (sfd < 0)
		return bfl_errf(e, -errno, "%s/segments: %s", dir, strerror(errno));
	r = bfl_list_segments(sfd, &l, e);
	for (i = 0; !r && i < l.n; i++) {
		struct bfl_item it;
		const char *cp_note;
		u8 *buf;
		size_t len, off = BFL_SEG_HDR_SIZE, cp_len = 0;
		u64 first;

		r = bfl_read_file(sfd, l.v[i].name, BFL_SEG_FILE_MAX, &buf, &len, e);
		if (r)
			break;
		if (bfl_seg_header_check(buf, len, &first, e) || first != lv->n) {
			free(buf);
			r = bfl_errf(e, -EUCLEAN, "segments/%s: bad header or index",
				     l.v[i].name);
			break;
		}
		/* Up to the first unreadable entry: a torn tail is not
		 * sealed, and what is sealed the proof's checkpoint says. */
		cp_note = NULL;
		while (!r && bfl_seg_next(buf, len, off, &it, NULL) > 0) {
			if (it.type == BFL_ITEM_RECORD) {
				r = leaves_add(lv, &cap, &it);
			} else {
				cp_note = it.note;
				cp_len = it.note_len;
			}
			off += it.len;
		}
		if (!r && cp_note) {	/* the segment's last checkpoint */
			char *n = realloc(lv->last_cp, cp_len);

			if (n) {
				memcpy(n, cp_note, cp_len);
				lv->last_cp = n;
				lv->last_cp_len = cp_len;
			}
			r = n ? 0 : -ENOMEM;
		}
		free(buf);
		if (r)
			r = bfl_errf(e, r, "out of memory");
	}
	free(l.v);
	close(sfd);
	if (r)
		bfl_leaves_free(lv);
	return r;
}

#define PROOF_MAGIC "bioflow-inclusion-proof v1\n"

int bfl_proof_format(const struct bfl_proof *p, char **out, size_t *len)
{
	size_t cap = 256 + p->n * 56 + (p->cert_len + 2) / 3 * 4 + 16, l;
	char *b = malloc(cap);
	unsigned int i;

	if (!b)
		return -ENOMEM;
	l = (size_t)snprintf(b, cap, PROOF_MAGIC "index %llu\ntree-size %llu\n",
			     (unsigned long long)p->index, (unsigned long long)p->size);
	for (i = 0; i < p->n; i++) {
		memcpy(b + l, "hash ", 5);
		l += 5;
		l += bfl_b64_encode(p->h[i], BFL_HASH_SIZE, b + l);
		b[l++] = '\n';
	}
	memcpy(b + l, "cert ", 5);
	l += 5;
	l += bfl_b64_encode((const u8 *)p->cert, p->cert_len, b + l);
	b[l++] = '\n';
	b[l] = 0;
	*out = b;
	*len = l;
	return 0;
}

void bfl_proof_free(struct bfl_proof *p)
{
	free(p->cert);
	memset(p, 0, sizeof(*p));
}

int bfl_proof_parse(const char *buf, size_t len, struct bfl_proof *p,
		    struct bfl_err *e)
{
	const char *q = buf, *end = buf + len;
	size_t ml = strlen(PROOF_MAGIC);
	unsigned int line = 1;
	bool have_index = false, have_size = false;

	memset(p, 0, sizeof(*p));
	if (len < ml || memcmp(buf, PROOF_MAGIC, ml))
		return bfl_errf(e, -EBADMSG, "not a bioflow inclusion proof");
	q += ml;
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t ll, got;

		line++;
		if (!nl)
			goto bad;
		ll = (size_t)(nl - q);
		if (ll > 6 && !memcmp(q, "index ", 6) && !have_index) {
			if (bfl_parse_u64(q + 6, ll - 6, &p->index))
				goto bad;
			have_index = true;
		} else if (ll > 10 && !memcmp(q, "tree-size ", 10) && !have_size) {
			if (bfl_parse_u64(q + 10, ll - 10, &p->size))
				goto bad;
			have_size = true;
		} else if (ll == 5 + 44 && !memcmp(q, "hash ", 5)) {
			u8 h[BFL_HASH_SIZE + 3];

			if (p->n == BFL_PROOF_MAX ||
			    bfl_b64_decode(q + 5, 44, h, sizeof(h), &got) ||
			    got != BFL_HASH_SIZE)
				goto bad;
			memcpy(p->h[p->n++], h, BFL_HASH_SIZE);
		} else if (ll > 5 && !memcmp(q, "cert ", 5) && !p->cert &&
			   ll - 5 <= (BFL_NOTE_MAX + 2) / 3 * 4) {
			p->cert = malloc(ll);
			if (!p->cert) {
				bfl_proof_free(p);
				return bfl_errf(e, -ENOMEM, "out of memory");
			}
			if (bfl_b64_decode(q + 5, ll - 5, (u8 *)p->cert, ll - 1,
					   &p->cert_len))
				goto bad;
			p->cert[p->cert_len] = 0;
		} else {
			goto bad;
		}
		q = nl + 1;
	}
	if (!have_index || !have_size || !p->cert) {
		bfl_proof_free(p);
		return bfl_errf(e, -EBADMSG, "proof lacks index, tree-size or cert");
	}
	return 0;
bad:
	bfl_proof_free(p);
	return bfl_errf(e, -EBADMSG, "proof line %u is malformed", line);
}

static int write_plain(const char *dir, const char *name, const void *buf,
		       size_t len, struct bfl_err *e)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return bfl_errf(e, -errno, "%s: %s", dir, strerror(errno));
	r = bfl_write_atomic(dfd, name, buf, len, e);
	close(dfd);
	return r;
}

int bfl_store_export_proof(const char *store, u64 index, const char *outdir,
			   struct bfl_err *e)
{
	struct bfl_leaves lv;
	struct bfl_checkpoint cp;
	struct bfl_note *note = malloc(sizeof(*note));
	struct bfl_proof pf;
	u8 *cpbuf = NULL, *cert = NULL;
	size_t cplen, certlen, plen;
	char name[48], *ptxt = NULL;
	int dfd = -1, r;

	memset(&pf, 0, sizeof(pf));
	if (!note)
		return bfl_errf(e, -ENOMEM, "out of memory");
	r = bfl_store_load_leaves(store, &lv, e);
	if (r) {
		free(note);
		return r;
	}
	dfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = bfl_errf(e, -errno, "%s: %s", store, strerror(errno));
		goto out;
	}
	/* The latest checkpoint entry: the checkpoint file may lag it. */
	if (!lv.last_cp) {
		r = bfl_errf(e, -ENOENT, "%s: no checkpoint in the segments", store);
		goto out;
	}
	cplen = lv.last_cp_len;
	cpbuf = malloc(cplen);
	if (!cpbuf) {
		r = bfl_errf(e, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(cpbuf, lv.last_cp, cplen);
	r = bfl_checkpoint_open((const char *)cpbuf, cplen, &cp, note, e);
	if (r)
		goto out;
	if (index >= cp.size || cp.size > lv.n) {
		r = bfl_errf(e, -ERANGE, "record %llu is not under the checkpoint (size %llu)",
			     (unsigned long long)index, (unsigned long long)cp.size);
		goto out;
	}
	snprintf(name, sizeof(name), "epochs/%010llu.cert", (unsigned long long)cp.epoch);
	r = bfl_read_file(dfd, name, BFL_NOTE_MAX, &cert, &certlen, e);
	if (r)
		goto out;
	pf.index = index;
	pf.size = cp.size;
	pf.cert = (char *)cert;
	pf.cert_len = certlen;
	r = bfl_inclusion_proof(lv.leaf, cp.size, index, pf.h, &pf.n);
	if (r) {
		bfl_errf(e, r, "cannot build the proof");
		goto out;
	}
	r = bfl_proof_format(&pf, &ptxt, &plen);
	if (r) {
		bfl_errf(e, r, "out of memory");
		goto out;
	}
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		r = bfl_errf(e, -errno, "%s: %s", outdir, strerror(errno));
		goto out;
	}
	r = write_plain(outdir, "record", lv.rec[index], lv.rec_len[index], e);
	if (!r)
		r = write_plain(outdir, "proof", ptxt, plen, e);
	if (!r)
		r = write_plain(outdir, "checkpoint", cpbuf, cplen, e);
out:
	if (dfd >= 0)
		close(dfd);
	free(ptxt);
	free(cpbuf);
	free(cert);
	free(note);
	bfl_leaves_free(&lv);
	return r;
}
