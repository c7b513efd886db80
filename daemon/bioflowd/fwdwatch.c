// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's lag, watched by the monitor (docs/bioflowd.md,
 * "Forwarding lag").  bioflow-forward replaces its status file every
 * second; the monitor reads it every --forward-check-ms and decides
 * whether the log gets a DAEMON record:
 *
 *   within -> behind   lag-records > bound or lag-seconds > bound
 *   behind -> within   lag-records <= bound/2 and lag-seconds <= bound/2
 *   any    -> silent   no usable status for --forward-silent-seconds
 *   silent -> within or behind, by the lag of the first usable status
 *
 * The half-bound re-arm is the hysteresis: a lag hovering at the bound
 * makes one record, not one per check.  A bucket of FWD_BURST records,
 * refilled by one every FWD_REFILL_MS, bounds what a forwarder flapping
 * on purpose can put into the log; transitions over it are counted in
 * the next record that gets through.
 *
 * The file is written by another (unprivileged) user and read here as
 * root, so it is handled as hostile: opened without following a
 * symbolic link and without blocking (a FIFO), only a regular file, at
 * most FWD_STATUS_MAX bytes, parsed without allocation, numbers only.
 * Nothing of its text goes into the log: the records carry numbers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bioflowd.h"

#define FWD_BURST	8
#define FWD_REFILL_MS	60000

/* "12" or "12.5" (any number of fraction digits): whole units, rounded
 * down. */
static int parse_decimal(const char *s, size_t n, u64 *out)
{
	const char *dot = memchr(s, '.', n);
	size_t i;

	if (!dot)
		return bfl_parse_u64(s, n, out);
	if (dot + 1 == s + n)
		return -EINVAL;
	for (i = (size_t)(dot - s) + 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	return bfl_parse_u64(s, (size_t)(dot - s), out);
}

static bool key_is(const char *k, size_t kn, const char *want)
{
	return kn == strlen(want) && !memcmp(k, want, kn);
}

int bfd_fwd_parse(const char *buf, size_t len, struct bfd_fwd_status *st)
{
	unsigned int have = 0;
	size_t off = 0;

	memset(st, 0, sizeof(*st));
	if (!len || buf[len - 1] != '\n' || memchr(buf, 0, len))
		return -EINVAL;
	while (off < len) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = (size_t)(nl - line), kn;
		const char *sp = memchr(line, ' ', n);
		const char *v;
		size_t vn;

		off += n + 1;
		if (!sp || sp == line)
			return -EINVAL;
		kn = (size_t)(sp - line);
		v = sp + 1;
		vn = n - kn - 1;
		if (key_is(line, kn, "lag-records")) {
			if ((have & 1) || bfl_parse_u64(v, vn, &st->lag_records))
				return -EINVAL;
			have |= 1;
		} else if (key_is(line, kn, "lag-seconds")) {
			if ((have & 2) || parse_decimal(v, vn, &st->lag_seconds))
				return -EINVAL;
			have |= 2;
		} else if (key_is(line, kn, "collector")) {
			/* "HOST connected" or "HOST disconnected" */
			const char *s2 = memrchr(v, ' ', vn);
			size_t tn = s2 ? vn - (size_t)(s2 - v) - 1 : 0;

			if ((have & 4) || !s2)
				return -EINVAL;
			if (key_is(s2 + 1, tn, "connected"))
				st->connected = true;
			else if (!key_is(s2 + 1, tn, "disconnected"))
				return -EINVAL;
			have |= 4;
		} else if (key_is(line, kn, "last-error")) {
			if (have & 8)
				return -EINVAL;
			st->error = !(vn == 1 && v[0] == '-');
			have |= 8;
		}
		/* other keys: the forwarder's, not needed here */
	}
	return (have & 7) == 7 ? 0 : -EINVAL;
}

/* Reads the status file; 0, or the reason it is not usable.  *age_ms:
 * how long ago it was replaced (when it parses). */
static int read_status(const char *path, u64 silent_s, struct bfd_fwd_status *st,
		       u64 *age_ms)
{
	char buf[FWD_STATUS_MAX + 1];
	struct timespec now;
	struct stat sb;
	ssize_t n;
	size_t len = 0;
	int fd;

	*age_ms = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? BFD_FWD_GARBAGE : BFD_FWD_MISSING;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return BFD_FWD_GARBAGE;
	}
	/* One more byte than allowed tells an oversized file. */
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > FWD_STATUS_MAX || bfd_fwd_parse(buf, len, st))
		return BFD_FWD_GARBAGE;
	clock_gettime(CLOCK_REALTIME, &now);
	{
		int64_t d = ((int64_t)now.tv_sec - (int64_t)sb.st_mtim.tv_sec) * 1000 +
			((int64_t)now.tv_nsec - (int64_t)sb.st_mtim.tv_nsec) / 1000000;

		/* a file from the future (a clock step): as if just written */
		*age_ms = d > 0 ? (u64)d : 0;
	}
	return *age_ms > silent_s * 1000 ? BFD_FWD_STALE : 0;
}

static bool take(struct bfd_fwdwatch *w, u64 now_ms)
{
	if (!w->tokens_at) {
		w->tokens = FWD_BURST;
	} else {
		w->tokens += (double)(now_ms - w->tokens_at) / FWD_REFILL_MS;
		if (w->tokens > FWD_BURST)
			w->tokens = FWD_BURST;
	}
	w->tokens_at = now_ms;
	if (w->tokens < 1)
		return false;
	w->tokens -= 1;
	return true;
}

static u32 sat32(u64 v)
{
	return v > UINT32_MAX ? UINT32_MAX : (u32)v;
}

void bfd_fwd_watch_init(struct bfd_fwdwatch *w, const struct bfd_config *c, u64 now_ms)
{
	memset(w, 0, sizeof(*w));
	w->path = c->fwd_status;
	w->lag_records = c->fwd_lag_records;
	w->lag_seconds = c->fwd_lag_seconds;
	w->silent_seconds = c->fwd_silent_seconds;
	w->state = BFD_FWD_WITHIN;
	w->last_good = now_ms;
}

int bfd_fwd_watch(struct bfd_fwdwatch *w, u64 now_ms, struct bfd_fwd_event *ev)
{
	struct bfd_fwd_status st;
	enum bfd_fwd_state next = w->state;
	u64 age = 0;
	int why = read_status(w->path, w->silent_seconds, &st, &age);

	memset(ev, 0, sizeof(*ev));
	/* Silence counts from the status's last replacement. */
	if ((!why || why == BFD_FWD_STALE) && age < now_ms && now_ms - age > w->last_good)
		w->last_good = now_ms - age;
	if (!why) {
		bool over = st.lag_records > w->lag_records ||
			    st.lag_seconds > w->lag_seconds;
		bool under = st.lag_records <= w->lag_records / 2 &&
			     st.lag_seconds <= w->lag_seconds / 2;

		w->last = st;
		if (over && w->state != BFD_FWD_BEHIND)
			next = BFD_FWD_BEHIND;
		else if (w->state == BFD_FWD_SILENT && !over)
			next = BFD_FWD_WITHIN;
		else if (w->state == BFD_FWD_BEHIND && under)
			next = BFD_FWD_WITHIN;
	} else if (now_ms - w->last_good > (u64)w->silent_seconds * 1000) {
		next = BFD_FWD_SILENT;
	}
	if (next == w->state)
		return 0;
	w->state = next;
	if (!take(w, now_ms)) {
		w->unrecorded++;
		return 0;
	}
	if (next == BFD_FWD_SILENT) {
		ev->event = BFD_EV_FWD_SILENT;
		ev->d[0] = sat32((now_ms - w->last_good) / 1000);
		ev->d[1] = (u32)why;
	} else {
		ev->event = next == BFD_FWD_BEHIND ? BFD_EV_FWD_BEHIND : BFD_EV_FWD_WITHIN;
		ev->d[0] = sat32(st.lag_records);
		ev->d[1] = sat32(st.lag_seconds);
		ev->d[2] = (st.connected ? 1u : 0u) | (st.error ? 2u : 0u);
	}
	ev->d[3] = w->unrecorded;
	w->unrecorded = 0;
	return 1;
}
