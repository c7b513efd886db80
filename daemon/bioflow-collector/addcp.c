// SPDX-License-Identifier: GPL-2.0-only
/*
 * The witness (c2sp.org/tlog-witness, add-checkpoint; docs/forwarding.md,
 * "Witness"), in the order of the spec's checks:
 *
 *   body malformed                                   400
 *   origin not enrolled                              404
 *   epoch not certified in the copy yet              503 (Retry-After)
 *   no valid signature by the certified epoch key    403
 *   the log is frozen (history rewritten)            422
 *   old > the checkpoint's size                      400
 *   old != the size of the latest cosigned           409 "<size>\n",
 *                                                    text/x.tlog.size
 *   old 0 with a proof, a proof that does not hold   422
 *   old == size with another root                    409
 *   the copy lacks the records up to the size        503 (Retry-After),
 *                                                    after reading the
 *                                                    spool once more
 *   the copy's records have another root             422, and the log is
 *                                                    frozen
 *
 * then the copy is made durable, the checkpoint and its cosignature are
 * persisted (witness/cosigned/<size>-<epoch>.note, then witness/latest)
 * and the cosignature line is the 200 answer.  The caller holds the
 * collector's lock (https.c) from the parse to the answer, so for each
 * origin the check of the old size and the update are atomic: of two
 * racing requests with the same old size one wins, the other gets 409.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "collector.h"

#define RETRY_SECONDS 5

static int answer(struct http_answer *ans, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Always 0, so that "return answer(...)" ends a handler. */
static int answer(struct http_answer *ans, int status, const char *fmt, ...)
{
	va_list ap;
	int k;

	ans->status = status;
	ans->ctype = "text/plain; charset=utf-8";
	va_start(ap, fmt);
	k = vsnprintf(ans->body, sizeof(ans->body) - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	if ((size_t)k > sizeof(ans->body) - 2)
		k = (int)sizeof(ans->body) - 2;
	ans->body[k++] = '\n';
	ans->body[k] = 0;
	ans->body_len = (size_t)k;
	return 0;
}

static int conflict(struct http_answer *ans, u64 size)
{
	ans->status = 409;
	ans->ctype = "text/x.tlog.size";
	ans->body_len = (size_t)snprintf(ans->body, sizeof(ans->body), "%llu\n",
					 (unsigned long long)size);
	return 0;
}

void col_witness_load(struct collector *c, struct app *a)
{
	char p[PATH_MAX + 32];
	struct bfl_checkpoint cp;
	struct bfl_note *n = malloc(sizeof(*n));
	struct bfl_err e = { 0 };
	u8 *b = NULL;
	size_t len;
	u64 t = 0;
	int r;

	if (!n)
		return;
	snprintf(p, sizeof(p), "%s/witness/latest", a->dir);
	r = bfl_read_file(AT_FDCWD, p, BFL_NOTE_MAX, &b, &len, &e);
	if (r == -ENOENT)
		goto out;
	if (!r)
		r = bfl_checkpoint_open((char *)b, len, &cp, n, &e);
	if (!r && strcmp(cp.origin, a->origin))
		r = bfl_errf(&e, -EBADMSG, "a checkpoint of \"%s\"", cp.origin);
	if (!r && c->witness)
		r = bfl_cosig_verify(n, &c->wit, &t, &e);
	if (r) {
		col_log(LOG_CRIT,
			"%s: %s: %s: the witness's state is not trustworthy; this log is not witnessed until an operator has looked",
			a->origin, p, e.msg);
		a->broken = true;
		snprintf(a->why, sizeof(a->why), "%.200s: %.480s", p, e.msg);
		goto out;
	}
	a->have_w = true;
	a->w_size = cp.size;
	a->w_epoch = cp.epoch;
	a->w_time = t;
	memcpy(a->w_root, cp.root, BFL_HASH_SIZE);
out:
	free(b);
	free(n);
}

/* Writes the cosigned checkpoint durably: its own file, then latest. */
static int persist(struct app *a, const struct bfl_checkpoint *cp, const char *text,
		   size_t len, struct bfl_err *e)
{
	char p[PATH_MAX + 32], name[64];
	int fd, r;

	snprintf(p, sizeof(p), "%s/witness/cosigned", a->dir);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bfl_errf(e, -errno, "%s: %s", p, strerror(errno));
	snprintf(name, sizeof(name), "%020llu-%llu.note", (unsigned long long)cp->size,
		 (unsigned long long)cp->epoch);
	r = bfl_write_replace(fd, name, text, len, true, e);
	close(fd);
	if (r)
		return r;
	snprintf(p, sizeof(p), "%s/witness", a->dir);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bfl_errf(e, -errno, "%s: %s", p, strerror(errno));
	r = bfl_write_replace(fd, "latest", text, len, true, e);
	close(fd);
	return r;
}

static int add(struct collector *c, const struct bfl_wit_request *req,
		struct http_answer *ans)
{
	char origin[BFL_NAME_MAX + 1], why[600];
	/* one, under the collector's lock */
	static char out[BFL_WIT_NOTE_MAX + BFL_COSIG_LINE_MAX + 8];
	const char *nl = memchr(req->note, '\n', req->note_len);
	struct bfl_checkpoint cp;
	struct bfl_note *note;
	struct bfl_err e = { 0 };
	struct app *a;
	bfl_hash root;
	size_t ol, ll;
	u64 w, t;
	int r;

	if (!nl || (size_t)(nl - req->note) > BFL_NAME_MAX)
		return answer(ans, 400, "bad request: the checkpoint has no origin line");
	memcpy(origin, req->note, (size_t)(nl - req->note));
	origin[nl - req->note] = 0;
	a = col_find_origin(c, origin);
	if (!a) {
		c->unknown_origin_requests++;
		col_debug(c, "witness: a checkpoint of \"%s\", not enrolled: 404", origin);
		return answer(ans, 404, "unknown log");
	}
	if (a->broken || !a->m) {
		ans->retry_after = 60;
		return answer(ans, 503, "the collector's copy of this log is unavailable: %s",
			      a->why);
	}
	r = bfl_mirror_check_checkpoint(a->m, req->note, req->note_len, &cp, &e);
	if (r == -ENOENT) {
		col_ingest(c, a);
		if (a->m && !a->broken)
			r = bfl_mirror_check_checkpoint(a->m, req->note, req->note_len, &cp, &e);
	}
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		ans->retry_after = RETRY_SECONDS;
		return answer(ans, 503, "%s in the collector's copy; retry", e.msg);
	case -ENOKEY:
	case -EKEYREJECTED:
		a->refused++;
		col_log(LOG_WARNING, "witness: %s: checkpoint refused: %s", a->origin, e.msg);
		return answer(ans, 403, "%s", e.msg);
	case -EBADMSG:
		return answer(ans, 400, "bad request: %s", e.msg);
	default:
		return answer(ans, 500, "%s", e.msg);
	}
	if (a->frozen) {
		a->refused++;
		return answer(ans, 422, "this log is frozen, its history was rewritten: %s", a->why);
	}
	if (req->old > cp.size)
		return answer(ans, 400, "old size %llu is larger than the checkpoint's %llu",
			      (unsigned long long)req->old, (unsigned long long)cp.size);
	w = a->have_w ? a->w_size : 0;
	if (req->old != w) {
		col_debug(c, "witness: %s: old %llu, holds %llu: 409", a->origin,
			  (unsigned long long)req->old, (unsigned long long)w);
		return conflict(ans, w);
	}
	if (req->old == 0 && req->nproof) {
		a->refused++;
		return answer(ans, 422, "a consistency proof from size 0 must be empty");
	}
	if (req->old == cp.size) {
		if (a->have_w && memcmp(cp.root, a->w_root, BFL_HASH_SIZE)) {
			a->refused++;
			col_log(LOG_CRIT,
				"witness: %s: a checkpoint of size %llu (epoch %llu) with another root than the one cosigned: refused (a fork)",
				a->origin, (unsigned long long)cp.size, (unsigned long long)cp.epoch);
			return conflict(ans, w);
		}
		if (req->nproof) {
			a->refused++;
			return answer(ans, 422, "a consistency proof between equal sizes must be empty");
		}
	} else if (req->old > 0 &&
		   bfl_verify_consistency(w, cp.size, a->w_root, cp.root, req->proof,
					  req->nproof)) {
		a->refused++;
		col_log(LOG_CRIT,
			"witness: %s: the checkpoint of size %llu (epoch %llu) is not consistent with the one of size %llu cosigned: refused (the proof does not hold: a fork, or a bad proof)",
			a->origin, (unsigned long long)cp.size, (unsigned long long)cp.epoch,
			(unsigned long long)w);
		return answer(ans, 422, "the consistency proof from %llu to %llu does not verify",
			      (unsigned long long)w, (unsigned long long)cp.size);
	}
	/* The copy must hold what is cosigned. */
	if (bfl_mirror_size(a->m) < cp.size)
		col_ingest(c, a);
	if (a->frozen)
		return answer(ans, 422, "this log is frozen, its history was rewritten: %s", a->why);
	if (a->broken) {
		ans->retry_after = 60;
		return answer(ans, 503, "the collector's copy of this log is unavailable: %s",
			      a->why);
	}
	if (bfl_mirror_size(a->m) < cp.size) {
		ans->retry_after = RETRY_SECONDS;
		return answer(ans, 503, "the collector holds %llu of the %llu records; retry",
			      (unsigned long long)bfl_mirror_size(a->m),
			      (unsigned long long)cp.size);
	}
	bfl_mirror_root(a->m, cp.size, root);
	if (memcmp(root, cp.root, BFL_HASH_SIZE)) {
		snprintf(why, sizeof(why),
			 "the checkpoint of size %llu signed by epoch %llu has another root than the records the collector holds",
			 (unsigned long long)cp.size, (unsigned long long)cp.epoch);
		col_freeze(c, a, why);
		return answer(ans, 422, "this log is frozen, its history was rewritten: %s", why);
	}
	if (bfl_mirror_sync(a->m, &e)) {
		ans->retry_after = RETRY_SECONDS;
		return answer(ans, 503, "%s", e.msg);
	}
	note = malloc(sizeof(*note));
	if (!note || bfl_note_parse(req->note, req->note_len, note, &e)) {
		free(note);
		return answer(ans, 500, "out of memory");
	}
	/* Cosignature times never go back, whatever the clock does. */
	t = (u64)time(NULL);
	if (t < a->w_time)
		t = a->w_time;
	memcpy(out, req->note, req->note_len);
	ol = req->note_len;
	r = bfl_cosign(&c->wit, note->text, note->text_len, t, out, sizeof(out), &ol, &e);
	free(note);
	if (!r)
		r = persist(a, &cp, out, ol, &e);
	if (r) {
		col_log(LOG_ERR, "witness: %s: %s", a->origin, e.msg);
		ans->retry_after = RETRY_SECONDS;
		return answer(ans, 503, "the checkpoint could not be persisted");
	}
	a->have_w = true;
	a->w_size = cp.size;
	a->w_epoch = cp.epoch;
	a->w_time = t;
	memcpy(a->w_root, cp.root, BFL_HASH_SIZE);
	a->cosigned++;
	ll = ol - req->note_len;
	ans->status = 200;
	ans->ctype = "text/plain; charset=utf-8";
	memcpy(ans->body, out + req->note_len, ll);
	ans->body_len = ll;
	col_debug(c, "witness: %s: cosigned size %llu epoch %llu", a->origin,
		  (unsigned long long)cp.size, (unsigned long long)cp.epoch);
	return 0;
}

void col_add_checkpoint(struct collector *c, const char *body, size_t len,
			struct http_answer *ans)
{
	struct bfl_wit_request *req = malloc(sizeof(*req));
	struct bfl_err e = { 0 };

	memset(ans, 0, sizeof(*ans));
	if (!req) {
		answer(ans, 500, "out of memory");
		return;
	}
	if (bfl_wit_request_parse(body, len, req, &e))
		answer(ans, 400, "bad request: %s", e.msg);
	else
		add(c, req, ans);
	free(req);
}
