/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How long the forwarder has been behind: the age of the oldest sealed
 * record the witness does not hold yet, as seen by this process.
 *
 * "Since the lag was last zero" is not that: under a steady stream the
 * lag is never zero at the moment it is looked at, although every record
 * is cosigned within a second, and that figure grows without bound on a
 * busy appliance (bioflowd's --forward-lag-seconds then fires for
 * nothing).  Instead the tracker notes when each sealed size was first
 * seen, and the lag is the age of the first note whose size the witness
 * does not hold.  Records sealed before the forwarder started count from
 * its start (it cannot know better).  At most FWD_LAG_MARKS notes are
 * kept; when they are all in use the newest one's size is raised instead
 * of a note added, which can only make the lag look older, never younger.
 *
 * Not thread-safe: the forwarder's single loop owns it.
 */
#ifndef _BIOFLOW_FWD_LAG_H
#define _BIOFLOW_FWD_LAG_H

#include <stdint.h>

#define FWD_LAG_MARKS	64

struct fwd_lag {
	struct {
		uint64_t size;	/* sealed size first seen ... */
		double t;	/* ... at this time (CLOCK_MONOTONIC, s) */
	} mark[FWD_LAG_MARKS];
	unsigned int head, count;	/* a ring, oldest at head */
};

/* The store was seen sealed up to SEALED at NOW. */
void fwd_lag_seen(struct fwd_lag *l, uint64_t sealed, double now);

/* The witness holds HELD records: the seconds the oldest record beyond
 * them has waited (0 when none waits). */
double fwd_lag_seconds(struct fwd_lag *l, uint64_t held, double now);

#endif /* _BIOFLOW_FWD_LAG_H */
