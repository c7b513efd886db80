// SPDX-License-Identifier: GPL-2.0-only
/*
 * Verdicts from a simulated reader: genuine person (default policy and
 * with matching allowed without liveness), impostor, nobody, the
 * security levels, and the sysfs statistics that count them.
 */
#include <unistd.h>

#include "lib/brvm_test.h"

#define GENUINE		42
#define IMPOSTOR	7

static const char *const stat_names[] = {
	"sessions", "match", "no_match", "attack", "inconclusive", "timeout",
	"aborted", "frames_received", "frames_rejected", "frames_dropped",
	"overflows", "lockouts",
};
#define NSTATS	(int)(sizeof(stat_names) / sizeof(stat_names[0]))

struct stats {
	long long v[NSTATS];
};

static void snap(const struct brvm_sim *s, struct stats *st)
{
	int i;

	for (i = 0; i < NSTATS; i++)
		st->v[i] = brvm_stat(s, stat_names[i]);
}

static long long delta(const struct stats *a, const struct stats *b,
		       const char *name)
{
	int i;

	for (i = 0; i < NSTATS; i++)
		if (!strcmp(stat_names[i], name))
			return b->v[i] - a->v[i];
	return -1000;
}

/* sessions +1, @counter +1, no other verdict counter moved. */
static void check_counted(const struct stats *a, const struct stats *b,
			  const char *counter, const char *name)
{
	static const char *const verdicts[] = {
		"match", "no_match", "attack", "inconclusive", "timeout",
		"aborted",
	};
	int ok = delta(a, b, "sessions") == 1;
	unsigned int i;

	for (i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
		ok = ok && delta(a, b, verdicts[i]) ==
			   !strcmp(verdicts[i], counter);
	if (!ok)
		for (i = 0; i < NSTATS; i++)
			ktap_diag("stats/%s: %lld -> %lld", stat_names[i],
				  a->v[i], b->v[i]);
	ktap_check(ok, name);
}

int main(void)
{
	struct bioreader_policy p, def;
	struct bioreader_verdict v;
	struct stats a, b;
	struct brvm_sim s;
	uint64_t sid1, sid2;
	long long t0, el;
	int fd, i, ok;
	char buf[64];

	ktap_plan(29);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "verdicts", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0)
		return brvm_bail("open reader");

	/* 1-2: stats present, default policy as documented */
	KTAP_CASE("stats present, default policy as documented") {
		snap(&s, &a);
		ok = 1;
		for (i = 0; i < NSTATS; i++)
			if (a.v[i] < 0) {
				ktap_diag("%s/stats/%s unreadable", s.cls,
					  stat_names[i]);
				ok = 0;
			}
		ktap_check(ok, "sysfs stats/ has every counter");
		ok = brvm_get_policy(fd, &def) == 0;
		ok = ok && def.flags == 0 &&
		     def.security_level == BIOREADER_SECLEVEL_MEDIUM &&
		     def.frames_required == 5 && def.default_timeout_ms == 5000 &&
		     def.max_failures == 5 && def.lockout_s == 300 && !def.pad0 &&
		     !def.pad1;
		if (!ok)
			ktap_diag("policy: flags %#x level %u frames %u timeout %u max_failures %u lockout %u",
				  def.flags, def.security_level, def.frames_required,
				  def.default_timeout_ms, def.max_failures,
				  def.lockout_s);
		ktap_check(ok, "default policy: no match without liveness, MEDIUM, 5 frames, 5000 ms, 5 failures, 300 s");
	}

	/* 3-6: genuine, default policy -> MATCH, liveness evaluated */
	KTAP_CASE("genuine, default policy -> MATCH, liveness evaluated") {
		brvm_sim_person(&s, GENUINE);
		snap(&s, &a);
		ok = brvm_run_session(fd, GENUINE, 3000, &v) == 0;
		ktap_check(ok, "genuine session (default policy) completes");
		sid1 = v.session_id;
		brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "genuine + default policy -> MATCH, liveness evaluated");
		ktap_expect_errno(brvm_wait(fd, 0, &v), ENOENT,
				  "verdict is returned once: next WAIT -> ENOENT");
		snap(&s, &b);
		check_counted(&a, &b, "match", "stats: sessions +1, match +1");
	}

	/* 7: frames were received and validated */
	KTAP_CASE("frames were received and validated") {
		ok = delta(&a, &b, "frames_received") >= 5 &&
		     delta(&a, &b, "frames_rejected") == 0;
		if (!ok)
			ktap_diag("frames_received +%lld, frames_rejected +%lld",
				  delta(&a, &b, "frames_received"),
				  delta(&a, &b, "frames_rejected"));
		ktap_check(ok, "stats: >= 5 frames received, none rejected");
	}

	/* 8-11: administrator allows matching without liveness */
	KTAP_CASE("administrator allows matching without liveness") {
		ktap_check(brvm_allow_no_liveness(fd, 1) == 0,
			   "SET_POLICY ALLOW_NO_LIVENESS");
		ok = brvm_get_policy(fd, &p) == 0 &&
		     (p.flags & BIOREADER_POLICY_ALLOW_NO_LIVENESS);
		ktap_check(ok, "GET_POLICY shows ALLOW_NO_LIVENESS");
		snap(&s, &a);
		ok = brvm_run_session(fd, GENUINE, 3000, &v) == 0;
		sid2 = v.session_id;
		ktap_check(ok, "genuine session (no-liveness allowed) completes");
		brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "genuine -> MATCH, liveness not evaluated");
		ktap_check(sid1 != sid2 && sid1 && sid2, "session ids are distinct");
		snap(&s, &b);
		check_counted(&a, &b, "match", "stats: match +1");
	}

	/* 14-15: impostor */
	KTAP_CASE("impostor") {
		snap(&s, &a);
		brvm_run_session(fd, IMPOSTOR, 3000, &v);
		brvm_check_verdict(&v, BIOREADER_OUTCOME_NO_MATCH,
				   BIOREADER_REASON_NONE,
				   "impostor (card of 7, person 42) -> NO_MATCH");
		snap(&s, &b);
		check_counted(&a, &b, "no_match", "stats: no_match +1");
	}

	/* 16-17: security levels; genuine passes HIGH, impostor fails LOW */
	KTAP_CASE("security levels; genuine passes HIGH, impostor fails LOW") {
		{
			uint8_t tpl[BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM];
			size_t len = brvm_template(GENUINE, BRVM_EMB_DIM, tpl,
						   sizeof(tpl));

			ok = brvm_start(fd, tpl, len, "op-high", 3000,
					BIOREADER_SECLEVEL_HIGH, NULL) == 0 &&
			     brvm_wait(fd, 13000, &v) == 0;
			brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH,
					   BIOREADER_REASON_NONE,
					   "genuine at security level HIGH -> MATCH");
			len = brvm_template(IMPOSTOR + 1000, BRVM_EMB_DIM, tpl,
					    sizeof(tpl));
			ok = brvm_start(fd, tpl, len, "op-low", 3000,
					BIOREADER_SECLEVEL_LOW, NULL) == 0 &&
			     brvm_wait(fd, 13000, &v) == 0;
			brvm_check_verdict(&v, BIOREADER_OUTCOME_NO_MATCH,
					   BIOREADER_REASON_NONE,
					   "impostor at security level LOW -> NO_MATCH");
		}
	}

	/* 18-20: nobody in front of the reader */
	KTAP_CASE("nobody in front of the reader") {
		brvm_sim_scene(&s, "empty");
		snap(&s, &a);
		t0 = brvm_now_ms();
		ok = brvm_run_session(fd, GENUINE, 1500, &v) == 0;
		el = brvm_now_ms() - t0;
		ktap_check(ok, "empty scene session completes");
		brvm_check_verdict(&v, BIOREADER_OUTCOME_TIMEOUT,
				   BIOREADER_REASON_NO_FACE,
				   "nobody -> TIMEOUT/NO_FACE");
		if (el < 1400 || el > 6000)
			ktap_diag("1500 ms session ended after %lld ms", el);
		ktap_check(el >= 1400 && el <= 6000,
			   "timeout honoured (1500 ms session)");
		snap(&s, &b);
		check_counted(&a, &b, "timeout", "stats: timeout +1");
	}

	/* 22: a person arriving after an empty start is still matched */
	KTAP_CASE("a person arriving after an empty start is still matched") {
		ok = brvm_start_id(fd, GENUINE, 4000, &sid1) == 0;
		brvm_sleep_ms(300);
		brvm_sim_person(&s, GENUINE);
		ok = ok && brvm_wait(fd, 14000, &v) == 0;
		ktap_check(ok && v.outcome == BIOREADER_OUTCOME_MATCH,
			   "person appearing mid-session -> MATCH");
		if (!ok || v.outcome != BIOREADER_OUTCOME_MATCH)
			brvm_diag_verdict("late arrival", &v);
	}

	/* 23: state attribute */
	KTAP_CASE("state attribute") {
		buf[0] = 0;
		{
			char path[200];

			snprintf(path, sizeof(path), "%s/state", s.cls);
			ok = brvm_read_file(path, buf, sizeof(buf)) == 0 && buf[0];
		}
		ktap_diag("state: '%s'", buf);
		ktap_check(ok, "sysfs state attribute readable");
	}

	/* 24-25: RESET_STATS zeroes the counters */
	KTAP_CASE("RESET_STATS zeroes the counters") {
		ktap_check(ioctl(fd, BIOREADER_IOC_RESET_STATS) == 0,
			   "RESET_STATS as root");
		snap(&s, &b);
		ok = 1;
		for (i = 0; i < NSTATS; i++) {
			/* frames may arrive only during a session: none runs now */
			if (b.v[i] != 0) {
				ktap_diag("after reset: stats/%s = %lld",
					  stat_names[i], b.v[i]);
				ok = 0;
			}
		}
		ktap_check(ok, "stats are zero after RESET_STATS");
	}

	/* 26: a new session counts again from zero */
	KTAP_CASE("a new session counts again from zero") {
		ok = brvm_run_session(fd, GENUINE, 3000, &v) == 0;
		ktap_check(ok && brvm_stat(&s, "sessions") == 1 &&
			   brvm_stat(&s, "match") == 1,
			   "counting resumes after reset");
	}

	/* 27-28: policy restored; GET_INFO shows the reader idle again */
	KTAP_CASE("policy restored; GET_INFO shows the reader idle again") {
		ktap_check(brvm_set_policy(fd, &def) == 0 &&
			   brvm_get_policy(fd, &p) == 0 && !memcmp(&p, &def, sizeof(p)),
			   "policy restored to the default");
		{
			struct bioreader_info info;

			ok = brvm_info(fd, &info) == 0 &&
			     info.state == BIOREADER_STATE_IDLE &&
			     (info.features & BIOREADER_FEAT_LIVENESS);
			ktap_check(ok, "GET_INFO: idle, liveness feature claimed");
		}
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd);
	ktap_check(brvm_sim_destroy(&s) == 0, "instance removed");
	return ktap_finish();
}
