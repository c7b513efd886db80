// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture quality end to end (docs/liveness.md, "Capture quality"): the
 * simulated reader shows a live person in conditions where liveness
 * stays undecided and one capture shortfall holds -- too far, too
 * close, too bright, the lower face covered, turned away, walking up --
 * and the driver must end the session INCONCLUSIVE with that reason,
 * through the real ioctl; the native build of the same code must give
 * the same reason.  A person in good conditions gets MATCH with no
 * reason, an artefact too far away is still an ATTACK, and bioctl
 * prints the reason's words.  Occluders per region: a person in a cloth
 * mask over nose and mouth is never an ATTACK but INCONCLUSIVE /
 * FACE_COVERED, and a resin mask over the upper face only is an ATTACK.
 * A layer over the face (docs/liveness.md, "A layer over the face"): a
 * person in heavy makeup, and a silicone mask, whole or over the upper
 * face, read alike and end INCONCLUSIVE / SKIN_UNCERTAIN, liveness
 * evaluated, never MATCH, and the native build agrees.
 */
#include <stdio.h>
#include <unistd.h>

#include "lib/brvm_test.h"
#include "../../tools/bioeval/evsession.h"

#define NATIVE_RUNS	4
#define SESSION_MS	5000
/*
 * These scenes keep liveness undecided in most sessions, not in every
 * one: a pattern can let it decide.  A live person turned away is
 * decided live in about 4 of 10 sessions (liveness reads a turned face
 * well; only in sunlight at 80-90 cm does it stay undecided, in about
 * 6 of 10), so a case may take up to this many sessions to get its
 * INCONCLUSIVE (0.4^8: about 1 run in 1,500 fails for the turned face);
 * a session that decides says nothing of the reason, but a reason that
 * is wrong or missing, or an ATTACK, still fails.
 */
#define TRIES		8

struct qcase {
	const char *scene;
	uint32_t reason;
	uint32_t flags;		/* the verdict's flags */
};

/*
 * Each scene (identity included: it fixes the person's traits) ended
 * with its reason in 40 of 40 native sessions of other patterns, but
 * the turned face (62 of 100, the others MATCH); sunlight keeps the
 * evidence weak where the shortfall alone would not.  (PWM light did
 * that before the differential challenge decided under it.)
 */
static const struct qcase cases[] = {
	{ "person 2 dist=100 light=sun", BIOREADER_REASON_TOO_FAR, 0 },
	{ "person 59 dist=20 motion=3 light=nir skin=6",
	  BIOREADER_REASON_TOO_CLOSE, 0 },
	{ "person 32 light=nir dist=55 skin=6", BIOREADER_REASON_TOO_BRIGHT, 0 },
	{ "person 18 cover dist=50", BIOREADER_REASON_FACE_COVERED, 0 },
	{ "person 3 yaw=45 pitch=30 light=sun dist=88",
	  BIOREADER_REASON_POSE, 0 },
	{ "person 67 walk skin=6 light=sun dist=45",
	  BIOREADER_REASON_HOLD_STILL, 0 },
	/*
	 * Not a shortfall: liveness decided that the skin is under a layer
	 * it cannot tell from a mask.  The darkest skin under heavy makeup;
	 * 100 of 100 native sessions.
	 */
	{ "person 660 skin=6 makeup", BIOREADER_REASON_SKIN_UNCERTAIN,
	  BIOREADER_VERDICT_LIVENESS_EVALUATED },
};

#define NCASES	(int)(sizeof(cases) / sizeof(cases[0]))

/*
 * Cloth masks over nose and mouth whose skin ratio's median over the
 * whole face is the cloth's: the code before the per-region decision
 * called each an ATTACK in 10 of 10 native sessions; now each ends
 * INCONCLUSIVE / FACE_COVERED in 40 of 40.
 */
static const char *const cloth[] = {
	"person 400 cover dist=50",
	"person 402 cover dist=50",
	"person 404 cover dist=50",
	"person 411 cover dist=50",
};

#define NCLOTH	(int)(sizeof(cloth) / sizeof(cloth[0]))
#define CLOTH_RUNS	2

/*
 * Resin masks over the upper face, the wearer's own skin below: the
 * whole-face median is skin's, the upper face's ratio resin's, above
 * anything skin under a layer gives; ATTACK in 100 of 100 native
 * sessions.
 */
static const char *const partial[] = {
	"mask 509 resin partial dist=50",
	"mask 516 resin partial dist=50",
	"mask 519 resin partial dist=50",
};

#define NPARTIAL	(int)(sizeof(partial) / sizeof(partial[0]))

/*
 * Silicone masks, whole or over the upper face only: silicone's ratio
 * lies within what makeup over skin gives, so each ends INCONCLUSIVE /
 * SKIN_UNCERTAIN (100 of 100 native sessions), and counts as a failed
 * attempt (t_ratelimit).  The partial ones were ATTACK before the
 * layer band.
 */
static const char *const silicone[] = {
	"mask 521 silicone dist=50",
	"mask 509 silicone partial dist=50",
	"mask 516 silicone partial dist=50",
	"mask 519 silicone partial dist=50",
};

#define NSILICONE	(int)(sizeof(silicone) / sizeof(silicone[0]))

static uint64_t scene_id(const char *scene)
{
	return strtoull(strchr(scene, ' ') + 1, NULL, 10);
}

/*
 * The reason the native build gives in every one of its runs, or ~0.
 * With @skip_match, a run that ends MATCH says nothing (as a module
 * session that decides, TRIES), but at least one must not.
 */
static uint32_t native_reason(const char *scene, uint32_t *outcome,
			      bool skip_match)
{
	struct ev_session_cfg cfg;
	struct ev_session_result r;
	uint32_t reason = ~0U;
	int i;

	ev_session_cfg_default(&cfg);
	cfg.width = BRVM_WIDTH;
	cfg.height = BRVM_HEIGHT;
	cfg.fps = BRVM_FPS;
	cfg.template_id = scene_id(scene);
	if (sim_scene_parse(&cfg.scene, scene, strlen(scene)))
		return ~0U;
	for (i = 0; i < NATIVE_RUNS; i++) {
		cfg.session_seed = 0x7175616c00ULL + i;
		if (ev_session_run(&cfg, &r))
			return ~0U;
		if (skip_match && r.v.outcome == BIOREADER_OUTCOME_MATCH)
			continue;
		if (reason != ~0U &&
		    (r.v.reason != reason || r.v.outcome != *outcome))
			return ~0U;
		reason = r.v.reason;
		*outcome = r.v.outcome;
	}
	return reason;
}

/*
 * One check: "bioctl verify" of @scene, up to TRIES sessions until one is
 * INCONCLUSIVE, prints "verdict: INCONCLUSIVE (@words)".
 */
static void verify_words(struct brvm_sim *s, const char *scene,
			 const char *words)
{
	char out[] = "/tmp/t_quality.XXXXXX", name[200];
	int tfd = mkstemp(out), ok;

	ok = tfd >= 0 && brvm_sim_scene(s, scene) == 0 &&
	     brvm_sh("for t in $(seq %d); do "
		     "bioctl verify -d %s --identity %llu -o kiosk-q "
		     "> %s 2>&1; grep -q '^verdict: INCONCLUSIVE' %s && break; "
		     "done", TRIES, s->node, (unsigned long long)scene_id(scene),
		     out, out) >= 0 &&
	     brvm_sh("grep -q '^verdict: INCONCLUSIVE (%s)$' %s", words, out) == 0;
	if (!ok)
		brvm_sh("sed 's/^/# /' %s", out);
	snprintf(name, sizeof(name), "bioctl verify: 'INCONCLUSIVE (%s)'", words);
	ktap_check(ok, name);
	if (tfd >= 0) {
		close(tfd);
		unlink(out);
	}
}

int main(void)
{
	struct bioreader_verdict v;
	struct bioreader_info info;
	struct brvm_sim s;
	char name[200];
	int fd, i, t, ok;

	ktap_plan(1 + 2 * NCASES + 4 + NCLOTH + 1 + NSILICONE + 1);
	if (brvm_setup() || brvm_sim_create(&s, "quality", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0)
		return brvm_bail("cannot open the reader");

	/* 1: good conditions: MATCH, no reason */
	KTAP_CASE("good conditions: no reason") {
		ok = brvm_info(fd, &info) == 0 &&
		     (info.features & BIOREADER_FEAT_LIVENESS) &&
		     brvm_sim_scene(&s, "person 310 dist=50") == 0 &&
		     brvm_run_session(fd, 310, SESSION_MS, &v) == 0;
		ok = ok && v.outcome == BIOREADER_OUTCOME_MATCH &&
		     v.reason == BIOREADER_REASON_NONE;
		brvm_diag_verdict("person at 50 cm indoors", &v);
		ktap_check(ok, "person at 50 cm indoors -> MATCH, reason NONE");
	}

	/* 2..15: each reason, through the driver and natively */
	KTAP_CASE("each shortfall is the reason of its INCONCLUSIVE") {
		for (i = 0; i < NCASES; i++) {
			const struct qcase *c = &cases[i];
			uint32_t nout = 0, nreason;

			snprintf(name, sizeof(name), "'%s' -> INCONCLUSIVE/%s",
				 c->scene, brvm_reason_name(c->reason));
			for (t = 0; t < TRIES; t++) {
				ok = brvm_sim_scene(&s, c->scene) == 0 &&
				     brvm_run_session(fd, scene_id(c->scene),
						      SESSION_MS, &v) == 0;
				brvm_diag_verdict(c->scene, &v);
				if (!ok || v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE)
					break;
			}
			ok = ok && v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
			     v.reason == c->reason && v.flags == c->flags &&
			     v.attack_class == BIOREADER_ATTACK_NONE;
			ktap_check(ok, name);

			nreason = native_reason(c->scene, &nout, true);
			snprintf(name, sizeof(name),
				 "'%s': native build gives the same reason",
				 c->scene);
			if (nreason != v.reason || nout != v.outcome)
				ktap_diag("native %s/%s, module %s/%s",
					  brvm_outcome_name(nout),
					  brvm_reason_name(nreason),
					  brvm_outcome_name(v.outcome),
					  brvm_reason_name(v.reason));
			ktap_check(nreason == v.reason && nout == v.outcome, name);
		}
	}

	/* 16: a shortfall never turns an attack into anything else */
	KTAP_CASE("an artefact too far away is still an attack") {
		ok = brvm_sim_scene(&s, "print 317 flat dist=100 light=halogen") == 0 &&
		     brvm_run_session(fd, 317, SESSION_MS, &v) == 0 &&
		     v.outcome == BIOREADER_OUTCOME_ATTACK &&
		     v.reason == BIOREADER_REASON_PRESENTATION_ATTACK &&
		     (v.attack_class == BIOREADER_ATTACK_PRINT ||
		      v.attack_class == BIOREADER_ATTACK_MASK);
		brvm_diag_verdict("print at 1 m under halogen light", &v);
		/*
		 * At 1 m the depth noise may leave the relief undecided:
		 * then the ratio (paper's, not skin's) stops it as a mask.
		 * (Under a PWM light bright enough to clip the paper, the
		 * ratio cannot be measured either, and the print ends
		 * INCONCLUSIVE: never live, but not this check's case.)
		 */
		ktap_check(ok, "print at 1 m under halogen light -> ATTACK/PRESENTATION_ATTACK");
	}

	/* 17-19: the kiosk's words */
	KTAP_CASE("bioctl verify prints the reason's words") {
		verify_words(&s, cases[0].scene, "too far: step closer");
		verify_words(&s, cases[4].scene, "turn towards the reader");
		verify_words(&s, cases[6].scene,
			     "skin uncertain (heavy makeup or a mask): refer to staff");
	}

	/* 20-23: a cloth mask over nose and mouth: ask to lower it */
	KTAP_CASE("a cloth mask over nose and mouth is never an attack") {
		for (i = 0; i < NCLOTH; i++) {
			int run;

			ok = 1;
			for (run = 0; run < CLOTH_RUNS && ok; run++) {
				ok = brvm_sim_scene(&s, cloth[i]) == 0 &&
				     brvm_run_session(fd, scene_id(cloth[i]),
						      SESSION_MS, &v) == 0;
				brvm_diag_verdict(cloth[i], &v);
				ok = ok &&
				     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
				     v.reason == BIOREADER_REASON_FACE_COVERED;
			}
			snprintf(name, sizeof(name),
				 "'%s' -> INCONCLUSIVE/FACE_COVERED in %d of %d sessions",
				 cloth[i], CLOTH_RUNS, CLOTH_RUNS);
			ktap_check(ok, name);
		}
	}

	/* 24: a resin mask over the upper face only is still caught */
	KTAP_CASE("a partial mask over the upper face is an attack") {
		ok = 1;
		for (i = 0; i < NPARTIAL && ok; i++) {
			ok = brvm_sim_scene(&s, partial[i]) == 0 &&
			     brvm_run_session(fd, scene_id(partial[i]),
					      SESSION_MS, &v) == 0;
			brvm_diag_verdict(partial[i], &v);
			ok = ok && v.outcome == BIOREADER_OUTCOME_ATTACK &&
			     v.attack_class == BIOREADER_ATTACK_MASK;
		}
		ktap_check(ok, "resin over the upper face, 3 masks -> ATTACK/mask");
	}

	/* 25-29: silicone, whole or partial: refer to staff, never MATCH */
	KTAP_CASE("a silicone mask ends SKIN_UNCERTAIN, never MATCH") {
		int agree = 1;

		for (i = 0; i < NSILICONE; i++) {
			uint32_t nout = 0, nreason;

			ok = brvm_sim_scene(&s, silicone[i]) == 0 &&
			     brvm_run_session(fd, scene_id(silicone[i]),
					      SESSION_MS, &v) == 0;
			brvm_diag_verdict(silicone[i], &v);
			ok = ok && v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
			     v.reason == BIOREADER_REASON_SKIN_UNCERTAIN &&
			     v.flags == BIOREADER_VERDICT_LIVENESS_EVALUATED &&
			     v.attack_class == BIOREADER_ATTACK_NONE;
			snprintf(name, sizeof(name),
				 "'%s' -> INCONCLUSIVE/SKIN_UNCERTAIN, liveness evaluated",
				 silicone[i]);
			ktap_check(ok, name);

			nreason = native_reason(silicone[i], &nout, false);
			if (nreason != v.reason || nout != v.outcome) {
				ktap_diag("'%s': native %s/%s, module %s/%s",
					  silicone[i], brvm_outcome_name(nout),
					  brvm_reason_name(nreason),
					  brvm_outcome_name(v.outcome),
					  brvm_reason_name(v.reason));
				agree = 0;
			}
		}
		ktap_check(agree, "silicone masks: native build gives the same verdicts");
	}

	ktap_case_end();
	close(fd);
	brvm_sim_destroy_all();
	return ktap_finish();
}
