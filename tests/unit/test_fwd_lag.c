// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's lag in seconds (daemon/bioflow-forward/lag.c): the age
 * of the oldest record the witness does not hold, not the time since the
 * lag was last zero.  Times are given, not measured.
 */
#include <math.h>
#include <string.h>

#include "../../daemon/bioflow-forward/lag.h"
#include "ktap.h"

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

int main(void)
{
	struct fwd_lag l;
	double t, worst = 0;
	unsigned int i;
	uint64_t sealed = 0;

	ktap_plan(7);

	memset(&l, 0, sizeof(l));
	ktap_check(near(fwd_lag_seconds(&l, 0, 5), 0), "nothing seen: no lag");

	/* A steady stream: 100 records a second sealed, each witnessed 0.8 s
	 * after it was first seen; the lag is never zero when looked at. */
	for (t = 0; t < 600; t += 0.05) {
		sealed += 5;
		fwd_lag_seen(&l, sealed, t);
		if (t >= 1) {
			double s = fwd_lag_seconds(&l, sealed - 80, t);

			if (s > worst)
				worst = s;
		}
	}
	ktap_check(worst > 0.75 && worst < 0.85,
		   "a steady stream witnessed 0.8 s behind: at most 0.8 s, after 600 s of it");
	if (!(worst > 0.75 && worst < 0.85))
		ktap_diag("worst %.3f s", worst);

	/* The witness stops at what was sealed at t = 600 (sealed S0). */
	memset(&l, 0, sizeof(l));
	fwd_lag_seen(&l, 1000, 100);
	fwd_lag_seen(&l, 1500, 110);
	ktap_check(near(fwd_lag_seconds(&l, 900, 130), 30),
		   "witness at 900 of 1000 seen at 100 s: 30 s behind at 130 s");
	ktap_check(near(fwd_lag_seconds(&l, 1000, 130), 20),
		   "witness at 1000: the next records were seen at 110 s: 20 s");
	ktap_check(near(fwd_lag_seconds(&l, 1500, 130), 0), "witness holds all: 0");

	/* More notes than the ring holds: the lag may only look older. */
	memset(&l, 0, sizeof(l));
	for (i = 1; i <= 3 * FWD_LAG_MARKS; i++)
		fwd_lag_seen(&l, i * 10, i);
	t = fwd_lag_seconds(&l, 10ull * (FWD_LAG_MARKS + 10), 1000);
	ktap_check(t >= 1000 - (FWD_LAG_MARKS + 11) - 1e-9 && t <= 1000 - 1,
		   "a full ring: never younger than the oldest waiting record's first sight");
	if (!(t >= 1000 - (FWD_LAG_MARKS + 11) - 1e-9))
		ktap_diag("lag %.1f", t);

	/* A store seen smaller (a copy put back) leaves the notes alone. */
	memset(&l, 0, sizeof(l));
	fwd_lag_seen(&l, 50, 1);
	fwd_lag_seen(&l, 20, 2);
	ktap_check(near(fwd_lag_seconds(&l, 10, 4), 3) && l.count == 1,
		   "a smaller sealed size is not a new note");
	return ktap_finish();
}
