// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rate limit: after max_failures failed sessions against one reference
 * template the next SESSION_START fails with EAGAIN until the lockout
 * ends; other references are not affected.  Attack verdicts count as
 * failures just as NO_MATCH does, and so do INCONCLUSIVE verdicts for
 * SKIN_UNCERTAIN (a silicone mask ends there, not in ATTACK), while
 * other INCONCLUSIVE ones (a covered face) do not.
 */
#include <unistd.h>

#include "lib/brvm_test.h"

#define CARD	90101	/* the ID card presented */
#define FACE	90202	/* the person in front of the reader */
#define CARD2	90303	/* a card whose owner is shown as a print */
/*
 * A card whose owner is shown as a silicone mask, and one whose owner
 * covers nose and mouth: INCONCLUSIVE / SKIN_UNCERTAIN, respectively
 * FACE_COVERED, in 100 of 100 native sessions each.
 */
#define CARD3	90405
#define CARD4	90506
#define LOCKOUT	4
#define INCONCL_FAILS	3	/* max_failures of the INCONCLUSIVE case */

/*
 * One check: a session with @card on @fd must be refused with EAGAIN (the
 * reference locked out); one that starts anyway is ended, not left open.
 */
static void expect_locked(int fd, uint64_t card, const char *name)
{
	struct bioreader_verdict v;
	int ret = brvm_start_id(fd, card, 3000, NULL);

	ktap_expect_errno(ret, EAGAIN, name);
	if (!ret) {
		brvm_abort(fd);
		brvm_wait(fd, 5000, &v);
	}
}

int main(void)
{
	struct bioreader_policy def, p;
	struct bioreader_verdict v;
	struct brvm_sim s;
	long long locks0 = 0, t_fail = 0;
	int fd, fd2, ret, ok, i;

	ktap_plan(20);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "ratelimit", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	fd2 = brvm_open(&s);
	if (fd < 0 || fd2 < 0 || brvm_get_policy(fd, &def))
		return brvm_bail("open reader");
	brvm_sim_person(&s, FACE);
	locks0 = brvm_stat(&s, "lockouts");

	/* 1: small limit */
	KTAP_CASE("small limit") {
		p = def;
		p.max_failures = 2;
		p.lockout_s = LOCKOUT;
		ktap_check(brvm_set_policy(fd, &p) == 0,
			   "SET_POLICY max_failures 2, lockout 4 s");
	}

	/* 2-3: two failures are allowed */
	KTAP_CASE("two failures are allowed") {
		brvm_run_session(fd, CARD, 3000, &v);
		brvm_check_verdict(&v, BIOREADER_OUTCOME_NO_MATCH, BIOREADER_REASON_NONE,
				   "first impostor session -> NO_MATCH");
		brvm_run_session(fd, CARD, 3000, &v);
		brvm_check_verdict(&v, BIOREADER_OUTCOME_NO_MATCH, BIOREADER_REASON_NONE,
				   "second impostor session -> NO_MATCH");
		t_fail = brvm_now_ms();
	}

	/* 4-6: then the reference is locked, from any fd */
	KTAP_CASE("then the reference is locked, from any fd") {
		expect_locked(fd, CARD,
			      "third start with the card -> EAGAIN");
		expect_locked(fd2, CARD,
			      "locked from another fd too -> EAGAIN");
		ok = brvm_stat(&s, "lockouts") > locks0;
		ktap_check(ok, "stats: lockouts counted");
	}

	/* 7-8: another reference is not locked */
	KTAP_CASE("another reference is not locked") {
		ok = brvm_run_session(fd, FACE, 3000, &v) == 0;
		ktap_check(ok, "another card starts a session");
		brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "its verdict is the normal one (default policy)");
	}

	/* 9: a successful session of another card does not unlock it */
	KTAP_CASE("a successful session of another card does not unlock it") {
		ktap_expect_errno(brvm_start_id(fd, CARD, 3000, NULL), EAGAIN,
				  "still locked a moment later -> EAGAIN");
	}

	/* 10-11: the lockout ends */
	KTAP_CASE("the lockout ends") {
		while (brvm_now_ms() < t_fail + LOCKOUT * 1000 + 700)
			brvm_sleep_ms(100);
		ret = brvm_start_id(fd, CARD, 3000, NULL);
		if (ret)
			ktap_diag("after the lockout: %s", strerror(errno));
		ktap_check(ret == 0, "after the lockout the card may try again");
		ok = ret == 0 && brvm_wait(fd, 13000, &v) == 0 &&
		     v.outcome == BIOREADER_OUTCOME_NO_MATCH;
		ktap_check(ok, "... and fails honestly (NO_MATCH)");

		/*
		 * 12-14: attacks count.  A fresh card and a long window, so that
		 * slow sessions under emulation cannot let the window lapse.
		 */
		p.lockout_s = 120;
		ok = brvm_set_policy(fd, &p) == 0 &&
		     brvm_run_session(fd, CARD2, 5000, &v) == 0 &&
		     v.outcome == BIOREADER_OUTCOME_NO_MATCH;
		ok = ok && brvm_sim_scene(&s, "print 90303 flat") == 0 &&
		     brvm_run_session(fd, CARD2, 5000, &v) == 0;
		ktap_check(ok && v.outcome == BIOREADER_OUTCOME_ATTACK &&
			   v.attack_class == BIOREADER_ATTACK_PRINT,
			   "NO_MATCH, then a print of the card's owner -> ATTACK (print)");
		expect_locked(fd, CARD2,
			      "NO_MATCH + ATTACK = 2 failures: locked -> EAGAIN");
		ok = brvm_sim_person(&s, FACE) == 0 &&
		     brvm_run_session(fd, FACE, 3000, &v) == 0 &&
		     v.outcome == BIOREADER_OUTCOME_MATCH;
		ktap_check(ok, "the live person's own card still matches");
	}

	/*
	 * 15-18: SKIN_UNCERTAIN is a failed attempt, FACE_COVERED is not:
	 * as many of each as max_failures, on two fresh cards.
	 */
	KTAP_CASE("SKIN_UNCERTAIN counts towards the lockout, FACE_COVERED does not") {
		p.max_failures = INCONCL_FAILS;
		p.lockout_s = 120;
		ok = brvm_set_policy(fd, &p) == 0 &&
		     brvm_sim_scene(&s, "mask 90405 silicone") == 0;
		for (i = 0; i < INCONCL_FAILS && ok; i++) {
			ok = brvm_run_session(fd, CARD3, 5000, &v) == 0 &&
			     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
			     v.reason == BIOREADER_REASON_SKIN_UNCERTAIN;
			brvm_diag_verdict("silicone mask of the card's owner", &v);
		}
		ktap_check(ok, "3 silicone masks of the owner -> INCONCLUSIVE/SKIN_UNCERTAIN");
		expect_locked(fd, CARD3,
			      "3 SKIN_UNCERTAIN = 3 failures: locked -> EAGAIN");

		ok = brvm_sim_scene(&s, "person 90506 cover dist=50") == 0;
		for (i = 0; i < INCONCL_FAILS && ok; i++) {
			ok = brvm_run_session(fd, CARD4, 5000, &v) == 0 &&
			     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
			     v.reason == BIOREADER_REASON_FACE_COVERED;
			brvm_diag_verdict("the owner, nose and mouth covered", &v);
		}
		ktap_check(ok,
			   "the owner, nose and mouth covered, 3 times -> INCONCLUSIVE/FACE_COVERED");
		ok = brvm_sim_scene(&s, "person 90506 dist=50") == 0;
		ret = ok ? brvm_start_id(fd, CARD4, 3000, NULL) : -1;
		if (ret)
			ktap_diag("after 3 FACE_COVERED: %s", strerror(errno));
		ok = ret == 0 && brvm_wait(fd, 13000, &v) == 0;
		if (ok)
			brvm_diag_verdict("the owner, uncovered", &v);
		ok = ok && v.outcome == BIOREADER_OUTCOME_MATCH;
		ktap_check(ok, "3 FACE_COVERED: not locked, the owner uncovered -> MATCH");
	}

	/* 19-20: restore */
	KTAP_CASE("restore") {
		ktap_check(brvm_set_policy(fd, &def) == 0 &&
			   brvm_get_policy(fd, &p) == 0 && !memcmp(&p, &def, sizeof(p)),
			   "policy restored");
	}
	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd);
	close(fd2);
	ktap_check(brvm_sim_destroy(&s) == 0, "instance removed");
	return ktap_finish();
}
