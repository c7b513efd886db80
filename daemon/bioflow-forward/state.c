// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's own directory (docs/forwarding.md, "State"):
 *
 *   position             "size N\n" and the checkpoint of size N with the
 *                        witness's cosignature lines: the latest
 *                        cosigned checkpoint, the durable position
 *   cosigs/S-E.note      each checkpoint the witness cosigned (size S,
 *                        epoch E), its cosignature lines appended
 *   status               plain text for people and monitoring, replaced
 *                        every second (not durably): sealed, sent,
 *                        witnessed (durable), witness-holds, lag-records,
 *                        lag-seconds, collector, last-error,
 *                        last-error-age-seconds, store-note (what stops
 *                        the reader before the end of the files)
 *
 * position and the cosigs are replaced durably: write NAME.tmp, fsync,
 * rename, fsync the directory; a cosig is durable before the position
 * that names it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fwd.h"

#define POSITION_MAX	(BFL_NOTE_MAX + 64)

static int parse_position(const char *buf, size_t len, u64 *size)
{
	const char *nl = memchr(buf, '\n', len);

	if (len < 7 || memcmp(buf, "size ", 5) || !nl)
		return -1;
	return bfl_parse_u64(buf + 5, (size_t)(nl - buf - 5), size);
}

int fwd_state_open(struct fwd_state *s, const char *dir, char *err,
		   size_t errcap)
{
	struct bfl_err e;
	size_t len;
	u8 *buf;
	int k;

	memset(s, 0, sizeof(*s));
	s->cosigfd = -1;
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		snprintf(err, errcap, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (mkdirat(s->dirfd, "cosigs", 0750) && errno != EEXIST) {
		snprintf(err, errcap, "%s/cosigs: %s", dir, strerror(errno));
		return -1;
	}
	s->cosigfd = openat(s->dirfd, "cosigs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->cosigfd < 0) {
		snprintf(err, errcap, "%s/cosigs: %s", dir, strerror(errno));
		return -1;
	}
	/* A write that did not finish. */
	unlinkat(s->dirfd, "position.tmp", 0);
	k = bfl_read_file(s->dirfd, "position", POSITION_MAX, &buf, &len, &e);
	if (k == -ENOENT)
		return 0;
	if (k) {
		snprintf(err, errcap, "%s/position: %s", dir, e.msg);
		return -1;
	}
	k = parse_position((const char *)buf, len, &s->witnessed);
	free(buf);
	if (k) {
		snprintf(err, errcap, "%s/position: not \"size N\" and a checkpoint", dir);
		return -1;
	}
	return 0;
}

int fwd_state_cosigned(struct fwd_state *s, u64 size, u64 epoch,
		       const char *note, size_t note_len, const char *cosig,
		       size_t cosig_len, char *err, size_t errcap)
{
	size_t cap = 64 + note_len + cosig_len, h;
	char name[64], *buf = malloc(cap);
	struct bfl_err e;

	if (!buf) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	h = (size_t)snprintf(buf, cap, "size %llu\n", (unsigned long long)size);
	memcpy(buf + h, note, note_len);
	memcpy(buf + h + note_len, cosig, cosig_len);
	snprintf(name, sizeof(name), "%llu-%llu.note", (unsigned long long)size,
		 (unsigned long long)epoch);
	if (bfl_write_atomic(s->cosigfd, name, buf + h, note_len + cosig_len, &e) ||
	    bfl_write_atomic(s->dirfd, "position", buf, h + note_len + cosig_len, &e)) {
		snprintf(err, errcap, "state: %s", e.msg);
		free(buf);
		return -1;
	}
	free(buf);
	s->witnessed = size;
	return 0;
}

void fwd_state_status(struct fwd_state *s, const struct fwd_status *st)
{
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "sealed %llu\n"
		     "sent %llu\n"
		     "witnessed %llu\n"
		     "witness-holds %llu\n"
		     "lag-records %llu\n"
		     "lag-seconds %.1f\n"
		     "collector %s %s\n"
		     "last-error %s\n"
		     "last-error-age-seconds %.0f\n"
		     "store-note %s\n"
		     "relp-messages %llu\n"
		     "relp-records %llu\n"
		     "resends %llu\n"
		     "witness-not-yet-longest-seconds %.1f\n",
		     (unsigned long long)st->sealed, (unsigned long long)st->sent,
		     (unsigned long long)st->witnessed,
		     (unsigned long long)st->witness_holds,
		     (unsigned long long)st->lag_records, st->lag_seconds,
		     st->collector, st->connected ? "connected" : "disconnected",
		     st->last_error && *st->last_error ? st->last_error : "-",
		     st->last_error && *st->last_error ? st->last_error_age : 0.0,
		     st->store_note && *st->store_note ? st->store_note : "-",
		     (unsigned long long)st->messages, (unsigned long long)st->messages_records,
		     (unsigned long long)st->resends, st->notyet_longest);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	bfl_write_replace(s->dirfd, "status", buf, (size_t)n, false, NULL);
}
