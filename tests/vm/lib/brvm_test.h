/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KTAP conveniences for the VM test programs (one translation unit each:
 * ktap.h keeps its counters in static variables).
 */
#ifndef _BRVM_TEST_H
#define _BRVM_TEST_H

#include "ktap.h"
#include "brvm.h"

/* Fail every test not yet run, then finish. */
static inline int brvm_bail(const char *why)
{
	ktap_diag("cannot continue: %s", why);
	while (ktap_num < ktap_planned)
		ktap_check(0, why);
	brvm_sim_destroy_all();
	return ktap_finish();
}

/* A call that must succeed (return 0). */
static inline int brvm_ok(int ret, const char *name)
{
	if (ret)
		ktap_diag("%s: %s", name, strerror(errno));
	return ktap_check(ret == 0, name);
}

/*
 * Whether a verdict says liveness was evaluated: the simulated reader
 * has everything liveness needs, so every MATCH or NO_MATCH comes after
 * a liveness decision, and so does a presentation attack.
 */
static inline int brvm_live_flag_expected(uint32_t outcome, uint32_t reason)
{
	return outcome == BIOREADER_OUTCOME_MATCH ||
	       outcome == BIOREADER_OUTCOME_NO_MATCH ||
	       reason == BIOREADER_REASON_PRESENTATION_ATTACK;
}

/* The verdict must be @outcome/@reason, with the liveness flag as expected. */
static inline int brvm_check_verdict(const struct bioreader_verdict *v,
				     uint32_t outcome, uint32_t reason,
				     const char *name)
{
	int want_flag = brvm_live_flag_expected(outcome, reason);
	int ok = v->outcome == outcome && v->reason == reason &&
		 !!(v->flags & BIOREADER_VERDICT_LIVENESS_EVALUATED) == want_flag;

	if (outcome != BIOREADER_OUTCOME_ATTACK)
		ok = ok && v->attack_class == BIOREADER_ATTACK_NONE;
	if (!ok)
		ktap_diag("%s: want %s/%s, liveness flag %s", name,
			  brvm_outcome_name(outcome), brvm_reason_name(reason),
			  want_flag ? "set" : "clear");
	brvm_diag_verdict(name, v);
	return ktap_check(ok, name);
}

/* Start a session with @identity's template and wait for its verdict. */
static inline int brvm_run_session(int fd, uint64_t identity,
				   uint32_t timeout_ms,
				   struct bioreader_verdict *v)
{
	uint64_t sid;

	memset(v, 0, sizeof(*v));
	if (brvm_start_id(fd, identity, timeout_ms, &sid)) {
		ktap_diag("SESSION_START: %s", strerror(errno));
		return -1;
	}
	if (brvm_wait(fd, timeout_ms + 10000, v)) {
		ktap_diag("SESSION_WAIT: %s", strerror(errno));
		return -1;
	}
	if (v->session_id != sid) {
		ktap_diag("verdict for session %llu, started %llu",
			  (unsigned long long)v->session_id,
			  (unsigned long long)sid);
		return -1;
	}
	return 0;
}

#endif /* _BRVM_TEST_H */
