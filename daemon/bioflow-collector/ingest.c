// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ingest: enrolled appliances, their spool files read incrementally from
 * a durable position, every line decoded and appended to the
 * appliance's copy through the mirror writer.
 *
 * The position saved (LOGS/<oid>/collector/offset) is the start of the
 * first line whose item is not durable in the copy yet: an item waiting
 * for a gap to be filled, a certificate the mirror holds until its first
 * checkpoint.  After a restart the spool is read again from there; what
 * follows is dropped as duplicates.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "collector.h"
#include "internal.h"

#define CHUNK (1u << 20)
#define QUIET_SECONDS 60

static bool is_oid(const char *s)
{
	size_t i;

	if (strlen(s) != BFL_FWD_OID_LEN)
		return false;
	for (i = 0; i < BFL_FWD_OID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static struct app *find_oid(struct collector *c, const char *oid)
{
	struct app *a;

	for (a = c->apps; a; a = a->next)
		if (!strcmp(a->oid, oid))
			return a;
	return NULL;
}

struct app *col_find_origin(struct collector *c, const char *origin)
{
	char oid[BFL_FWD_OID_LEN + 1];
	struct app *a;

	bfl_fwd_oid(origin, oid);
	a = find_oid(c, oid);
	return a && !strcmp(a->origin, origin) ? a : NULL;
}

static int mkdirs(struct app *a)
{
	const char *sub[] = { "", "/collector", "/witness", "/witness/cosigned" };
	char p[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", a->dir, sub[i]);
		if (mkdir(p, 0750) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static void load_offset(struct app *a)
{
	char p[PATH_MAX + 32];
	unsigned long long dev, ino, off;
	u8 *b;
	size_t len;

	snprintf(p, sizeof(p), "%s/collector/offset", a->dir);
	if (bfl_read_file(AT_FDCWD, p, 256, &b, &len, NULL))
		return;
	if (sscanf((char *)b, "%llu %llu %llu", &dev, &ino, &off) == 3) {
		a->dev = dev;
		a->ino = ino;
		a->off = a->saved = off;
		a->saved_known = true;
	}
	free(b);
}

static int save_offset(struct collector *c, struct app *a, u64 off)
{
	char p[PATH_MAX + 32], buf[96];
	struct bfl_err e = { 0 };
	int n, fd, r;

	(void)c;
	r = bfl_mirror_sync(a->m, &e);
	if (r) {
		col_log(LOG_ERR, "%s: %s", a->origin, e.msg);
		return r;
	}
	snprintf(p, sizeof(p), "%s/collector", a->dir);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%llu %llu %llu\n", (unsigned long long)a->dev,
		     (unsigned long long)a->ino, (unsigned long long)off);
	r = bfl_write_replace(fd, "offset", buf, (size_t)n, !c->mopts.no_sync, &e);
	close(fd);
	if (r) {
		col_log(LOG_ERR, "%s: spool position: %s", a->origin, e.msg);
		return r;
	}
	a->saved = off;
	a->saved_known = true;
	return 0;
}

static void drop_waiting(struct app *a)
{
	unsigned int i;

	for (i = 0; i < a->npend; i++)
		free(a->pend[i].item);
	a->npend = 0;
	a->pend_bytes = 0;
	a->nheld = 0;
}

void col_freeze(struct collector *c, struct app *a, const char *why)
{
	char p[PATH_MAX + 32], buf[1024];
	struct bfl_err e = { 0 };
	int n, fd;

	(void)c;
	if (a->frozen)
		return;
	a->frozen = true;
	snprintf(a->why, sizeof(a->why), "%s", why);
	col_log(LOG_CRIT,
		"HISTORY REWRITTEN: appliance %s (%s): %s; its copy is frozen and takes nothing more until an operator has looked (%s/FROZEN)",
		a->origin, a->oid, why, a->dir);
	n = snprintf(buf, sizeof(buf),
		     "history rewritten: %s\n"
		     "frozen at %lld (unix time) by bioflow-collector; the copy takes no more items and the witness cosigns nothing for this log while this file exists\n",
		     why, (long long)time(NULL));
	snprintf(p, sizeof(p), "%s", a->dir);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || bfl_write_replace(fd, "FROZEN", buf, (size_t)n, true, &e))
		col_log(LOG_CRIT, "%s: cannot write FROZEN: %s", a->origin,
			fd < 0 ? strerror(errno) : e.msg);
	if (fd >= 0)
		close(fd);
}

static void broken(struct app *a, const char *what)
{
	a->broken = true;
	snprintf(a->why, sizeof(a->why), "%s", what);
	col_log(LOG_ERR, "appliance %s (%s): %s; its copy is not written until a restart",
		a->origin, a->oid, what);
}

static void enroll_one(struct collector *c, const char *oid)
{
	char p[PATH_MAX + 64], why[600];
	struct bfl_err e = { 0 };
	struct app *a;
	EVP_PKEY *pk;
	u8 *b = NULL;
	size_t len;
	u64 cut = 0;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return;
	snprintf(a->oid, sizeof(a->oid), "%s", oid);
	snprintf(p, sizeof(p), "%s/%s/origin", c->enroll, oid);
	r = bfl_read_file(AT_FDCWD, p, 1024, &b, &len, &e);
	if (!r) {
		if (len && b[len - 1] == '\n')
			b[--len] = 0;
		if (len > BFL_ORIGIN_MAX || strlen((char *)b) != len ||
		    bfl_check_origin((char *)b, &e))
			r = -EINVAL;
		else
			snprintf(a->origin, sizeof(a->origin), "%s", (char *)b);
	}
	free(b);
	if (!r) {
		char want[BFL_FWD_OID_LEN + 1];

		bfl_fwd_oid(a->origin, want);
		if (strcmp(want, oid)) {
			e.code = -EINVAL;
			snprintf(e.msg, sizeof(e.msg), "origin \"%s\" has oid %s, not %s",
				 a->origin, want, oid);
			r = -EINVAL;
		}
	}
	if (r) {
		col_log(LOG_ERR, "enrollment %s/%s: origin: %s; not enrolled", c->enroll, oid, e.msg);
		free(a);
		return;
	}
	snprintf(p, sizeof(p), "%s/%s/root.pub.pem", c->enroll, oid);
	pk = bfl_read_pubkey_pem(p, &e);
	if (!pk || bfl_key_init(&a->root, BFL_ROOT_KEY_NAME, pk, &e)) {
		col_log(LOG_ERR, "enrollment %s/%s: root key: %s; not enrolled", c->enroll, oid,
			e.msg);
		EVP_PKEY_free(pk);
		free(a);
		return;
	}
	EVP_PKEY_free(pk);
	snprintf(a->dir, sizeof(a->dir), "%s/%s", c->logs, oid);
	snprintf(a->spool, sizeof(a->spool), "%s/%s.log", c->spool, oid);
	a->next = c->apps;
	c->apps = a;
	r = mkdirs(a);
	if (r) {
		snprintf(why, sizeof(why), "%.400s: %.150s", a->dir, strerror(-r));
		broken(a, why);
		return;
	}
	snprintf(p, sizeof(p), "%s/FROZEN", a->dir);
	if (!bfl_read_file(AT_FDCWD, p, 4096, &b, &len, NULL)) {
		char *nl = strchr((char *)b, '\n');

		if (nl)
			*nl = 0;
		a->frozen = true;
		snprintf(a->why, sizeof(a->why), "%s", (char *)b);
		free(b);
		col_log(LOG_CRIT, "appliance %s (%s) is frozen (%s/FROZEN): %s", a->origin,
			a->oid, a->dir, a->why);
	}
	r = bfl_mirror_open(a->dir, a->origin, &a->root, &c->mopts, &a->m, &cut, &e);
	if (r) {
		snprintf(why, sizeof(why), "the copy cannot be opened: %.500s", e.msg);
		broken(a, why);
		return;
	}
	if (cut)
		col_log(LOG_WARNING, "%s: %llu bytes an interrupted write left at the end of the copy were cut",
			a->origin, (unsigned long long)cut);
	load_offset(a);
	col_witness_load(c, a);
	if (a->have_w && bfl_mirror_size(a->m) < a->w_size)
		col_log(LOG_CRIT,
			"%s: the copy holds %llu records but the witness cosigned %llu: records the witness saw are missing from the copy",
			a->origin, (unsigned long long)bfl_mirror_size(a->m),
			(unsigned long long)a->w_size);
	col_log(LOG_INFO, "enrolled %s (%s): %llu records, %llu epochs, witnessed %llu",
		a->origin, oid, (unsigned long long)bfl_mirror_size(a->m),
		(unsigned long long)bfl_mirror_epochs(a->m), (unsigned long long)a->w_size);
}

void col_enroll_scan(struct collector *c)
{
	struct dirent *d;
	DIR *dir = opendir(c->enroll);

	if (!dir) {
		col_log(LOG_ERR, "%s: %s", c->enroll, strerror(errno));
		return;
	}
	while ((d = readdir(dir)))
		if (is_oid(d->d_name) && !find_oid(c, d->d_name))
			enroll_one(c, d->d_name);
	closedir(dir);
}

/* Rate-limited: the first one, then a summary at most once a minute. */
static void complain(struct app *a, time_t *last, u64 *quiet, const char *what,
		     u64 off, const char *why)
{
	time_t now = time(NULL);

	if (*last && now - *last < QUIET_SECONDS) {
		(*quiet)++;
		return;
	}
	col_log(LOG_WARNING, "%s: spool %s byte %llu: %s: %s%s", a->origin, a->spool,
		(unsigned long long)off, what, why,
		*quiet ? " (and others since the last report)" : "");
	*last = now;
	*quiet = 0;
}

/* One item to the mirror; the result, with the bookkeeping done (but an
 * item ahead is the caller's). */
static int feed(struct collector *c, struct app *a, u64 off, enum bfl_fwd_kind kind,
		u64 n, const u8 *item, size_t len)
{
	struct bfl_err e = { 0 };
	char why[700];
	int r;

	r = bfl_mirror_add(a->m, kind, n, item, len, &e);
	switch (r) {
	case BFL_MIRROR_APPLIED:
		a->applied++;
		break;
	case BFL_MIRROR_DUPLICATE:
		a->dup++;
		break;
	case BFL_MIRROR_STALE:
		a->stale++;
		break;
	case BFL_MIRROR_HELD:
		if (a->nheld < sizeof(a->held) / sizeof(a->held[0])) {
			a->held[a->nheld].off = off;
			a->held[a->nheld].epoch = n;
			a->nheld++;
		}
		break;
	case BFL_MIRROR_AHEAD:
		break;
	case -EBADMSG:
		a->invalid++;
		snprintf(why, sizeof(why), "%s %llu: %s", bfl_fwd_kind_name(kind),
			 (unsigned long long)n, e.msg);
		complain(a, &a->invalid_logged, &a->invalid_quiet, "item refused", off, why);
		break;
	case -EUCLEAN:
		snprintf(why, sizeof(why), "%s (%s %llu, spool byte %llu)", e.msg,
			 bfl_fwd_kind_name(kind), (unsigned long long)n,
			 (unsigned long long)off);
		col_freeze(c, a, why);
		break;
	default:
		snprintf(why, sizeof(why), "writing the copy: %s", e.msg);
		broken(a, why);
		break;
	}
	return r;
}

static void drain(struct collector *c, struct app *a)
{
	bool progress;
	unsigned int i;

	do {
		progress = false;
		for (i = 0; i < a->npend && !a->frozen && !a->broken;) {
			struct pend *p = &a->pend[i];
			int r = feed(c, a, p->off, p->kind, p->n, p->item, p->len);

			if (r == BFL_MIRROR_AHEAD) {
				i++;
				continue;
			}
			a->pend_bytes -= p->len;
			free(p->item);
			memmove(p, p + 1, (a->npend - i - 1) * sizeof(*p));
			a->npend--;
			progress = true;
		}
	} while (progress && !a->frozen && !a->broken);
}

/* Keeps a copy of an item that waits for the gap before it. */
static void wait_for_gap(struct app *a, u64 off, const struct bfl_fwd_part *it)
{
	u8 *copy;

	if (a->npend >= PEND_MAX_ITEMS || a->pend_bytes + it->len > PEND_MAX_BYTES) {
		/* The forwarder sends again from the witnessed position. */
		a->dropped++;
		return;
	}
	if (a->npend == a->pend_cap) {
		unsigned int nc = a->pend_cap ? 2 * a->pend_cap : 64;
		struct pend *nv = realloc(a->pend, nc * sizeof(*nv));

		if (!nv) {
			a->dropped++;
			return;
		}
		a->pend = nv;
		a->pend_cap = nc;
	}
	copy = malloc(it->len);
	if (!copy) {
		a->dropped++;
		return;
	}
	memcpy(copy, it->data, it->len);
	a->pend[a->npend].off = off;
	a->pend[a->npend].kind = it->kind;
	a->pend[a->npend].n = it->n;
	a->pend[a->npend].item = copy;
	a->pend[a->npend].len = it->len;
	a->pend_bytes += it->len;
	a->npend++;
}

/*
 * One spool line: a single item, or a batch of records, each record fed
 * on its own so that dedupe by (origin, leaf index) holds record by
 * record (the part of a batch the copy holds is counted as duplicates,
 * the rest appended; a record that disagrees with the copy freezes it and
 * nothing after it in the batch is taken).  A line that does not decode
 * whole is skipped whole: nothing of a damaged batch reaches the copy.
 */
static void line(struct collector *c, struct app *a, u64 off, const char *p, size_t len)
{
	struct bfl_fwd_msg msg;
	struct bfl_fwd_part it;
	struct bfl_err e = { 0 };
	unsigned int i;
	int r;

	a->lines++;
	r = bfl_fwd_decode(p, len, &msg, &e);
	if (!r && strcmp(msg.origin, a->origin)) {
		snprintf(e.msg, sizeof(e.msg), "a message of \"%s\" in this appliance's spool",
			 msg.origin);
		r = -EBADMSG;
		bfl_fwd_msg_free(&msg);
	}
	if (r) {
		a->garbage++;
		complain(a, &a->garbage_logged, &a->garbage_quiet, "line skipped", off, e.msg);
		return;
	}
	if (msg.batch)
		a->batches++;
	for (i = 0; i < msg.count && !a->frozen && !a->broken; i++) {
		bfl_fwd_msg_part(&msg, i, &it);
		r = feed(c, a, off, it.kind, it.n, it.data, it.len);
		if (r == BFL_MIRROR_AHEAD)
			wait_for_gap(a, off, &it);
		else if (r == BFL_MIRROR_APPLIED)
			drain(c, a);
	}
	bfl_fwd_msg_free(&msg);
}

/* The position nothing before which is needed again. */
static u64 safe_offset(struct app *a)
{
	u64 s = a->off;
	unsigned int i, k = 0;

	for (i = 0; i < a->nheld; i++) {
		if (!bfl_mirror_holds_cert(a->m, a->held[i].epoch) &&
		    bfl_mirror_epochs(a->m) >= a->held[i].epoch)
			continue;	/* written */
		a->held[k++] = a->held[i];
		if (a->held[i].off < s)
			s = a->held[i].off;
	}
	a->nheld = k;
	for (i = 0; i < a->npend; i++)
		if (a->pend[i].off < s)
			s = a->pend[i].off;
	return s;
}

void col_ingest(struct collector *c, struct app *a)
{
	struct stat sb;
	char *buf;
	bool skipping = false;
	int fd;

	if (a->frozen || a->broken || !a->m)
		return;
	fd = open(a->spool, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			col_log(LOG_ERR, "%s: %s", a->spool, strerror(errno));
		return;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		col_log(LOG_ERR, "%s: not a regular file", a->spool);
		close(fd);
		return;
	}
	if (!a->saved_known || a->dev != (u64)sb.st_dev || a->ino != (u64)sb.st_ino) {
		if (a->saved_known)
			col_log(LOG_NOTICE, "%s: a new spool file: read from its start", a->spool);
		drop_waiting(a);
		a->dev = (u64)sb.st_dev;
		a->ino = (u64)sb.st_ino;
		a->off = 0;
		a->saved = 0;
		a->saved_known = false;
	}
	if ((u64)sb.st_size < a->off) {
		col_log(LOG_WARNING, "%s: shorter than the position read (%llu): read from its start",
			a->spool, (unsigned long long)a->off);
		drop_waiting(a);
		a->off = 0;
	}
	buf = malloc(CHUNK);
	while (buf && !a->frozen && !a->broken) {
		ssize_t k = pread(fd, buf, CHUNK, (off_t)a->off);
		size_t pos = 0, end;
		char *nl;

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		end = (size_t)k;
		while (pos < end && !a->frozen && !a->broken) {
			nl = memchr(buf + pos, '\n', end - pos);
			if (!nl)
				break;
			if (skipping)
				skipping = false;	/* the end of an overlong line */
			else
				line(c, a, a->off + pos, buf + pos, (size_t)(nl - buf - pos) + 1);
			pos = (size_t)(nl - buf) + 1;
		}
		if (pos == 0 && end == CHUNK) {
			/* A line longer than any message: skipped whole. */
			if (!skipping) {
				a->garbage++;
				complain(a, &a->garbage_logged, &a->garbage_quiet, "line skipped",
					 a->off, "longer than any message");
			}
			skipping = true;
			pos = end;
		}
		a->off += pos;
		if ((size_t)k < CHUNK)
			break;	/* the end; a partial last line waits for its end */
	}
	free(buf);
	close(fd);
	if (!a->frozen && !a->broken) {
		u64 s = safe_offset(a);

		if (s != a->saved || !a->saved_known)
			save_offset(c, a, s);
		else
			bfl_mirror_sync(a->m, NULL);
	}
}

static void scan_unknown(struct collector *c)
{
	struct dirent *d;
	DIR *dir = opendir(c->spool);
	unsigned int n = 0;
	u64 bytes = 0;
	time_t now = time(NULL);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		char oid[BFL_FWD_OID_LEN + 1], p[PATH_MAX + 300];
		size_t l = strlen(d->d_name);
		struct stat sb;

		if (l != BFL_FWD_OID_LEN + 4 || strcmp(d->d_name + BFL_FWD_OID_LEN, ".log"))
			continue;
		memcpy(oid, d->d_name, BFL_FWD_OID_LEN);
		oid[BFL_FWD_OID_LEN] = 0;
		if (!is_oid(oid) || find_oid(c, oid))
			continue;
		snprintf(p, sizeof(p), "%s/%s", c->spool, d->d_name);
		if (!stat(p, &sb))
			bytes += (u64)sb.st_size;
		n++;
	}
	closedir(dir);
	if (n && (n != c->unknown_files || now - c->unknown_logged >= 600)) {
		col_log(LOG_WARNING,
			"%u spool file(s) of appliances not enrolled (%llu bytes): ignored (LOGS/status lists them; enroll in ENROLL/<oid>/ to accept them)",
			n, (unsigned long long)bytes);
		c->unknown_logged = now;
	}
	c->unknown_files = n;
	c->unknown_bytes = bytes;
}

void col_ingest_all(struct collector *c)
{
	struct app *a;

	col_enroll_scan(c);
	for (a = c->apps; a; a = a->next)
		col_ingest(c, a);
	scan_unknown(c);
}

void col_write_status(struct collector *c)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	struct app *a;
	int fd;

#define ADD(...)                                                            \
	do {                                                                 \
		int k_ = snprintf(s + len, cap - len, __VA_ARGS__);          \
		if (k_ > 0 && (size_t)k_ >= cap - len) {                     \
			char *ns_ = realloc(s, cap * 2 + (size_t)k_);        \
			if (!ns_)                                            \
				goto out;                                    \
			s = ns_;                                             \
			cap = cap * 2 + (size_t)k_;                          \
			k_ = snprintf(s + len, cap - len, __VA_ARGS__);      \
		}                                                            \
		if (k_ > 0)                                                  \
			len += (size_t)k_;                                   \
	} while (0)

	if (!s)
		return;
	for (a = c->apps; a; a = a->next) {
		ADD("appliance %s %s\n", a->oid, a->origin);
		ADD("  state %s%s%s\n", a->frozen ? "frozen" : a->broken ? "broken" : "ok",
		    a->frozen || a->broken ? ": " : "", a->frozen || a->broken ? a->why : "");
		if (a->m)
			ADD("  records %llu sealed %llu epochs %llu\n",
			    (unsigned long long)bfl_mirror_size(a->m),
			    (unsigned long long)bfl_mirror_sealed(a->m),
			    (unsigned long long)bfl_mirror_epochs(a->m));
		ADD("  witnessed %llu epoch %llu time %llu cosigned %llu refused %llu\n",
		    (unsigned long long)a->w_size, (unsigned long long)a->w_epoch,
		    (unsigned long long)a->w_time, (unsigned long long)a->cosigned,
		    (unsigned long long)a->refused);
		ADD("  spool offset %llu saved %llu lines %llu batches %llu applied %llu duplicate %llu stale %llu garbage %llu invalid %llu waiting %u dropped %llu\n",
		    (unsigned long long)a->off, (unsigned long long)a->saved,
		    (unsigned long long)a->lines, (unsigned long long)a->batches,
		    (unsigned long long)a->applied,
		    (unsigned long long)a->dup, (unsigned long long)a->stale,
		    (unsigned long long)a->garbage, (unsigned long long)a->invalid, a->npend,
		    (unsigned long long)a->dropped);
	}
	ADD("unknown-spool-files %u bytes %llu\n", c->unknown_files,
	    (unsigned long long)c->unknown_bytes);
	if (c->witness)
		ADD("witness requests %llu unknown-origin %llu tls-failures %llu http-errors %llu\n",
		    (unsigned long long)c->requests,
		    (unsigned long long)c->unknown_origin_requests,
		    (unsigned long long)c->tls_failures, (unsigned long long)c->http_errors);
#undef ADD
	fd = open(c->logs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		bfl_write_replace(fd, "status", s, len, false, NULL);
		close(fd);
	}
out:
	free(s);
}

void col_close_all(struct collector *c)
{
	struct app *a, *n;

	for (a = c->apps; a; a = n) {
		n = a->next;
		if (a->m && !a->frozen && !a->broken) {
			u64 s = safe_offset(a);

			if (s != a->saved)
				save_offset(c, a, s);
		}
		bfl_mirror_close(a->m);
		drop_waiting(a);
		free(a->pend);
		bfl_key_free(&a->root);
		free(a);
	}
	c->apps = NULL;
}
