// SPDX-License-Identifier: GPL-2.0-only
/*
 * Liveness end to end: a simulated reader shows bona fide people across
 * the skin-reflectance range and one artefact of every attack species;
 * the driver must answer MATCH for the people and ATTACK with the right
 * class for the artefacts -- except a silicone mask, whose 940/850 ratio
 * lies within what heavy makeup over skin gives: it must end
 * INCONCLUSIVE / SKIN_UNCERTAIN, never MATCH (docs/liveness.md, "A layer
 * over the face"), while a resin mask is still an ATTACK (mask).  Every
 * scene is also replayed natively
 * through the same algorithms (tools/bioeval/evsession.c, with patterns
 * of its own), and the module's verdict must equal the native one.
 */
#include <unistd.h>

#include "lib/brvm_test.h"
#include "../../tools/bioeval/evsession.h"

#define NATIVE_RUNS	4

struct lcase {
	const char *scene;
	uint64_t card;		/* identity on the ID card */
	uint32_t outcome;
	uint32_t cls;
};

static const struct lcase cases[] = {
	{ "person 101 skin=1", 101, BIOREADER_OUTCOME_MATCH, 0 },
	{ "person 102 skin=2 glasses dist=45", 102, BIOREADER_OUTCOME_MATCH, 0 },
	{ "person 103 skin=3 light=sun", 103, BIOREADER_OUTCOME_MATCH, 0 },
	{ "person 104 skin=4 beard yaw=15", 104, BIOREADER_OUTCOME_MATCH, 0 },
	{ "person 105 skin=5 dist=40 light=flicker", 105,
	  BIOREADER_OUTCOME_MATCH, 0 },
	{ "person 106 skin=6", 106, BIOREADER_OUTCOME_MATCH, 0 },
	{ "person 107 skin=6 dist=35 motion=3", 107, BIOREADER_OUTCOME_MATCH, 0 },
	{ "print 201 flat matte", 201, BIOREADER_OUTCOME_ATTACK,
	  BIOREADER_ATTACK_PRINT },
	{ "print 202 curved glossy angle=10", 202, BIOREADER_OUTCOME_ATTACK,
	  BIOREADER_ATTACK_PRINT },
	{ "replay 203 tablet session", 203, BIOREADER_OUTCOME_ATTACK,
	  BIOREADER_ATTACK_REPLAY },
	{ "replay 204 phone video", 204, BIOREADER_OUTCOME_ATTACK,
	  BIOREADER_ATTACK_REPLAY },
	/* INCONCLUSIVE / SKIN_UNCERTAIN in 40 of 40 native sessions. */
	{ "mask 205 silicone", 205, BIOREADER_OUTCOME_INCONCLUSIVE, 0 },
	{ "mask 206 resin yaw=10", 206, BIOREADER_OUTCOME_ATTACK,
	  BIOREADER_ATTACK_MASK },
};

#define NCASES	(int)(sizeof(cases) / sizeof(cases[0]))

/* The verdict the native build gives on @c, or 0 if its runs disagree. */
static uint32_t native_verdict(const struct lcase *c, uint32_t *cls)
{
	struct ev_session_cfg cfg;
	struct ev_session_result r;
	uint32_t out = 0;
	int i;

	ev_session_cfg_default(&cfg);
	cfg.width = BRVM_WIDTH;
	cfg.height = BRVM_HEIGHT;
	cfg.fps = BRVM_FPS;
	cfg.template_id = c->card;
	if (sim_scene_parse(&cfg.scene, c->scene, strlen(c->scene)))
		return 0;
	for (i = 0; i < NATIVE_RUNS; i++) {
		cfg.session_seed = 0x6c69766500ULL + i;
		if (ev_session_run(&cfg, &r))
			return 0;
		if (i && (r.v.outcome != out || r.v.attack_class != *cls))
			return 0;
		out = r.v.outcome;
		*cls = r.v.attack_class;
	}
	return out;
}

static int scene_roundtrip(const char *text)
{
	struct sim_scene a, b;
	char buf[SIM_SCENE_TEXT_MAX];
	int n;

	if (sim_scene_parse(&a, text, strlen(text)))
		return 0;
	n = sim_scene_print(&a, buf, sizeof(buf));
	if (n <= 0 || sim_scene_parse(&b, buf, n))
		return 0;
	return !memcmp(&a, &b, sizeof(a));
}

int main(void)
{
	struct bioreader_verdict v;
	struct bioreader_info info;
	struct brvm_sim s;
	char path[256], back[SIM_SCENE_TEXT_MAX];
	int fd, i, ok;

	ktap_plan(4 + 3 * NCASES + 1);
	if (brvm_setup() || brvm_sim_create(&s, "live", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0)
		return brvm_bail("cannot open the reader");

	/* 1: the driver claims liveness */
	KTAP_CASE("the driver claims liveness") {
		ok = brvm_info(fd, &info) == 0 &&
		     (info.features & BIOREADER_FEAT_LIVENESS);
		ktap_check(ok, "GET_INFO: liveness feature claimed");
	}

	/* 2: the simulator accepts the extended scene texts */
	KTAP_CASE("the simulator accepts the extended scene texts") {
		ok = brvm_sim_scene(&s, "print 5 bent glossy holes angle=-20 dist=40") == 0;
		snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/scene", s.name);
		ok = ok && brvm_read_file(path, back, sizeof(back)) == 0 &&
		     !strcmp(back, "print 5 bent glossy holes dist=40 angle=-20");
		if (!ok)
			ktap_diag("scene reads back as '%s'", back);
		ktap_check(ok, "configfs scene: an attack scene is accepted and reads back");
	}

	/* 3: bad scene texts are refused */
	KTAP_CASE("bad scene texts are refused") {
		ok = brvm_sim_scene(&s, "person 5 skin=9") != 0 &&
		     brvm_sim_scene(&s, "mask 5 glossy") != 0 &&
		     brvm_sim_scene(&s, "replay") != 0;
		ktap_check(ok, "configfs scene: bad texts refused");
	}

	/* 4: the scene grammar round-trips through the native library */
	KTAP_CASE("the scene grammar round-trips through the native library") {
		ok = 1;
		for (i = 0; i < NCASES; i++)
			ok = ok && scene_roundtrip(cases[i].scene);
		ktap_check(ok, "scene texts round-trip (native parser and printer)");

		for (i = 0; i < NCASES; i++) {
			const struct lcase *c = &cases[i];
			uint32_t ncls = 0, nout;
			char name[160];

			snprintf(name, sizeof(name), "'%s' vs card %llu", c->scene,
				 (unsigned long long)c->card);
			ok = brvm_sim_scene(&s, c->scene) == 0 &&
			     brvm_run_session(fd, c->card, 3000, &v) == 0;
			ktap_check(ok, name);
			brvm_diag_verdict(name, &v);
			ok = ok && v.outcome == c->outcome && v.attack_class == c->cls &&
			     (v.flags & BIOREADER_VERDICT_LIVENESS_EVALUATED) &&
			     (c->outcome == BIOREADER_OUTCOME_MATCH ?
			      v.reason == BIOREADER_REASON_NONE :
			      c->outcome == BIOREADER_OUTCOME_INCONCLUSIVE ?
			      v.reason == BIOREADER_REASON_SKIN_UNCERTAIN :
			      v.reason == BIOREADER_REASON_PRESENTATION_ATTACK);
			snprintf(name, sizeof(name), "'%s' -> %s%s%s%s", c->scene,
				 brvm_outcome_name(c->outcome), c->cls ? " class " : "",
				 c->cls ? ev_class_name(c->cls) : "",
				 c->outcome == BIOREADER_OUTCOME_INCONCLUSIVE ?
				 "/SKIN_UNCERTAIN" : "");
			ktap_check(ok, name);
			nout = native_verdict(c, &ncls);
			snprintf(name, sizeof(name), "'%s': native build gives the module's verdict",
				 c->scene);
			if (nout != v.outcome || ncls != v.attack_class)
				ktap_diag("native %s class %s, module %s class %s",
					  ev_outcome_name(nout), ev_class_name(ncls),
					  ev_outcome_name(v.outcome),
					  ev_class_name(v.attack_class));
			ktap_check(nout == v.outcome && ncls == v.attack_class, name);
		}

		/* last: a forged frame in the capture path */
		ok = brvm_sim_scene(&s, "person 101") == 0 &&
	     brvm_sim_inject(&s, "bad_mac") == 0 &&
		     brvm_run_session(fd, 101, 3000, &v) == 0 &&
		     v.outcome == BIOREADER_OUTCOME_ATTACK &&
		     v.reason == BIOREADER_REASON_FRAME_INTEGRITY &&
		     v.attack_class == BIOREADER_ATTACK_INJECTION;
		brvm_diag_verdict("injection", &v);
		ktap_check(ok, "forged frame -> ATTACK/FRAME_INTEGRITY class injection");
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd);
	brvm_sim_destroy_all();
	return ktap_finish();
}
