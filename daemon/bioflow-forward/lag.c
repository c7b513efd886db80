// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's lag in seconds: the age of the oldest record not yet
 * held by the witness (lag.h says why not "since the lag was last zero").
 */
#include <string.h>

#include "lag.h"

static unsigned int slot(const struct fwd_lag *l, unsigned int i)
{
	return (l->head + i) % FWD_LAG_MARKS;
}

void fwd_lag_seen(struct fwd_lag *l, uint64_t sealed, double now)
{
	unsigned int last;

	if (l->count) {
		last = slot(l, l->count - 1);
		if (sealed <= l->mark[last].size)
			return;		/* nothing new (or a store gone back) */
		if (l->count == FWD_LAG_MARKS) {
			/* Full: the newest note covers more, with its
			 * older time. */
			l->mark[last].size = sealed;
			return;
		}
	}
	last = slot(l, l->count);
	l->mark[last].size = sealed;
	l->mark[last].t = now;
	l->count++;
}

double fwd_lag_seconds(struct fwd_lag *l, uint64_t held, double now)
{
	/* Notes whose records are all held are done with. */
	while (l->count && l->mark[l->head].size <= held) {
		l->head = slot(l, 1);
		l->count--;
	}
	if (!l->count)
		return 0;
	return now > l->mark[l->head].t ? now - l->mark[l->head].t : 0;
}
