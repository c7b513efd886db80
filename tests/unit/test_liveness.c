// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the scene model (kernel/sim/sim_scene.c), the liveness
 * cues and their fusion (kernel/algo/bio_liveness.c), natively: the
 * same source the modules run.
 */
#include <stdlib.h>

#include "algo/bio_liveness.h"
#include "sim/sim_identity.h"
#include "sim/sim_scene.h"
#include "../../tools/bioeval/evsession.h"
#include "ktap.h"

#define W	160
#define H	120

static u8 frame[BRHW_FRAME_SIZE(640, 480)];

static int parse_ok(const char *t)
{
	struct sim_scene s;

	return sim_scene_parse(&s, t, strlen(t)) == 0;
}

static int roundtrip(const char *t)
{
	struct sim_scene a, b;
	char buf[SIM_SCENE_TEXT_MAX];
	int n;

	if (sim_scene_parse(&a, t, strlen(t)))
		return 0;
	n = sim_scene_print(&a, buf, sizeof(buf));
	return n > 0 && buf[n - 1] == '\n' && !sim_scene_parse(&b, buf, n) &&
	       !memcmp(&a, &b, sizeof(a));
}

/* Render one frame of @text under @illum with noise seed @seed. */
static struct brhw_frame_hdr *render(const char *text, u8 illum, u64 seed,
				     u32 seq)
{
	struct brhw_frame_hdr *h = (void *)frame;
	struct sim_scene s;
	u64 rng = seed;
	struct sim_exposure e = {
		.width = W, .height = H, .emb_dim = 128,
		.illum_state = illum, .seq = seq, .rng = &rng,
	};

	memset(frame, 0, BRHW_FRAME_SIZE(W, H));
	if (sim_scene_parse(&s, text, strlen(text)))
		return NULL;
	sim_scene_render(&s, &e, h, frame + BRHW_FRAME_HDR_SIZE);
	return h;
}

/* As render(), at device time @ts_ns (lights that flicker). */
static struct brhw_frame_hdr *render_at(const char *text, u8 illum, u64 seed,
					u32 seq, u64 ts_ns)
{
	struct brhw_frame_hdr *h = (void *)frame;
	struct sim_scene s;
	u64 rng = seed;
	struct sim_exposure e = {
		.width = W, .height = H, .emb_dim = 128,
		.illum_state = illum, .seq = seq, .rng = &rng,
		.timestamp_ns = ts_ns,
	};

	memset(frame, 0, BRHW_FRAME_SIZE(W, H));
	if (sim_scene_parse(&s, text, strlen(text)))
		return NULL;
	sim_scene_render(&s, &e, h, frame + BRHW_FRAME_HDR_SIZE);
	return h;
}

/* Mean of a band (0: 850, 1: 940) over the inner face box, x 16. */
static u32 face_mean(const struct brhw_frame_hdr *h, int band)
{
	u32 x0 = le16_to_cpu(h->face_x) + le16_to_cpu(h->face_w) * 3 / 10;
	u32 y0 = le16_to_cpu(h->face_y) + le16_to_cpu(h->face_h) * 3 / 10;
	u32 x1 = x0 + le16_to_cpu(h->face_w) * 4 / 10;
	u32 y1 = y0 + le16_to_cpu(h->face_h) * 4 / 10;
	const u8 *p = frame + BRHW_FRAME_HDR_SIZE + band * W * H;
	u32 x, y, sum = 0, n = 0;

	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++, n++)
			sum += p[y * W + x];
	return n ? sum * 16 / n : 0;
}

/* Flood response of a scene in band @band: mean lit - mean dark, x 16. */
static s32 response(const char *text, int band)
{
	u8 on = band ? BRHW_ILLUM_940 : BRHW_ILLUM_850;
	u32 lit, dark;

	lit = face_mean(render(text, on, 7, 0), band);
	dark = face_mean(render(text, BRHW_ILLUM_OFF, 7, 0), band);
	return (s32)lit - (s32)dark;
}

static uint32_t last_reason;	/* the last verdict()'s reason */

static uint32_t verdict_seed(const char *text, u64 card, uint32_t level,
			     u64 seed, uint32_t *cls, uint32_t *frames)
{
	struct ev_session_cfg c;
	struct ev_session_result r;

	ev_session_cfg_default(&c);
	c.security_level = level;
	c.template_id = card;
	c.session_seed = seed;
	if (sim_scene_parse(&c.scene, text, strlen(text)) ||
	    ev_session_run(&c, &r))
		return 0;
	*cls = r.v.attack_class;
	last_reason = r.v.reason;
	if (frames)
		*frames = r.frames;
	return r.v.outcome;
}

static uint32_t verdict(const char *text, u64 card, uint32_t level,
			uint32_t *cls, uint32_t *frames)
{
	return verdict_seed(text, card, level, 99, cls, frames);
}

int main(void)
{
	static const char * const good[] = {
		"empty", "person 42", "person 0x2a skin=6 dist=45",
		"person 1 skin=1 glasses beard yaw=-20 pitch=10 light=sun motion=3 var=9",
		"print 42 glossy bent", "print 42 curved matte holes angle=-30",
		"replay 42 tablet", "replay 42 phone video light=flicker",
		"replay 42 monitor session dist=70", "mask 42 silicone",
		"mask 42 resin yaw=12 dist=50\n",
		"person 7 skin=2 cover makeup child walk dist=20 yaw=45 pitch=-30 light=nir",
		"person 7 beard light=mains100", "person 7 light=mains120 dist=100",
		"person 7 light=halogen", "person 7 glasses light=pwm",
		"replay 42 tablet video dim light=sun", "replay 42 phone bright",
		"mask 42 skinlike partial", "mask 42 silicone partial light=nir",
	};
	static const char * const bad[] = {
		"", "\n", "person", "person x", "person 42 skin=0",
		"person 42 skin=7", "person 42 dist=10", "person 42 glossy",
		"print 42 silicone", "mask 42 tablet", "replay 42 holes",
		"person 42 yaw=", "person 42 motion=4", "empty 42",
		"person 18446744073709551616", "person 42 foo=1",
		"person 42 yaw=-046", "person 42 angle=10",
		"person 42 dist=101", "person 42 dist=19", "person 42 yaw=46",
		"person 42 pitch=31", "person 42 partial", "mask 42 cover",
		"print 42 dim", "replay 42 natural", "person 42 light=mains50",
		"mask 42 walk", "replay 42 child",
	};
	struct brhw_frame_hdr hdr, *h;
	struct bio_frame_geom g = { W, H, 128, BRHW_FRAME_SIZE(W, H) };
	struct bio_live *l = calloc(1, sizeof(*l));
	struct bio_lattice *lat = calloc(1, sizeof(*lat));
	struct bio_verdict_parts v;
	struct bio_live_params p;
	u32 cls, frames, i, illum[4] = { 0x12345678, 0x9abcdef0, 0, 0xffffffff };
	u8 a[2 * 4 * W * H];
	int ok;

	ktap_plan(35);

	KTAP_CASE("scene text") {
		/* 1-3: scene text */
		ok = 1;
		for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
			if (!parse_ok(good[i]) || !roundtrip(good[i])) {
				ktap_diag("refused or not round-tripped: '%s'", good[i]);
				ok = 0;
			}
		ktap_check(ok, "scene texts of every species parse and round-trip");
		ok = 1;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (parse_ok(bad[i])) {
				ktap_diag("accepted: '%s'", bad[i]);
				ok = 0;
			}
		ktap_check(ok, "bad scene texts are refused");
		{
			char small[8];

			struct sim_scene s = { .kind = SIM_SCENE_PERSON, .person = 42 };
			int n = sim_scene_print(&s, small, sizeof(small));

			ktap_check(n == 7 && !strcmp(small, "person "),
				   "scene print truncates safely");
		}
	}

	KTAP_CASE("determinism") {
		/* 4-5: determinism */
		render("person 42 skin=3", BRHW_ILLUM_BOTH, 5, 3);
		memcpy(a, frame + BRHW_FRAME_HDR_SIZE, sizeof(a) / 2);
		memcpy(&hdr, frame, sizeof(hdr));
		render("person 42 skin=3", BRHW_ILLUM_BOTH, 5, 3);
		ktap_check(!memcmp(a, frame + BRHW_FRAME_HDR_SIZE, sizeof(a) / 2) &&
			   !memcmp(&hdr, frame, sizeof(hdr)),
			   "same scene and seed render the same frame");
		render("person 42 skin=3", BRHW_ILLUM_BOTH, 6, 3);
		ktap_check(memcmp(a, frame + BRHW_FRAME_HDR_SIZE, sizeof(a) / 2) != 0,
			   "another seed renders other noise");
	}

	KTAP_CASE("physics of the bands") {
		/* 6-11: physics of the bands */
		ktap_check(response("person 42 skin=1", 0) > 16 * 40 &&
			   response("person 42 skin=6", 0) > 16 * 25,
			   "skin follows the 850 nm flood, lightest and darkest");
		ktap_check(response("person 42 skin=3", 1) * 100 <
			   response("person 42 skin=3", 0) * 88,
			   "skin responds less at 940 nm than at 850 nm (water)");
		ktap_check(response("print 42 flat", 1) * 100 >
			   response("print 42 flat", 0) * 92,
			   "paper responds about equally in both bands");
		ktap_check(response("replay 42 tablet video", 0) * 5 <
			   response("person 42 skin=6", 0),
			   "a screen barely follows the flood (glass reflection only)");
		ktap_check(response("mask 42 resin", 1) * 100 >
			   response("mask 42 resin", 0) * 94,
			   "resin: flat dual-band reflectance");
		h = render("empty", BRHW_ILLUM_BOTH, 1, 0);
		ktap_check(h && !(le32_to_cpu(h->flags) & BRHW_FRAME_FACE) &&
			   !h->face_w, "empty scene: no face");
	}

	KTAP_CASE("extended corpus: occluders, light, walking") {
		/* 12-15: extended corpus */
		u32 w0, w1, lo = ~0U, hi = 0, m;

		/* A cloth mask is grey in the NIR: no water band below the eyes. */
		ktap_check(response("person 42 skin=3 cover dist=50", 1) * 100 >
			   response("person 42 skin=3 cover dist=50", 0) * 90 &&
			   response("person 42 skin=3 dist=50", 1) * 100 <
			   response("person 42 skin=3 dist=50", 0) * 88,
			   "cloth mask: 940/850 response near 1, skin's below 0.88");
		/* Walking up: the face grows from frame 0 to frame 40. */
		h = render("person 42 walk dist=40", BRHW_ILLUM_850, 7, 0);
		w0 = h ? le16_to_cpu(h->face_w) : 0;
		h = render("person 42 walk dist=40", BRHW_ILLUM_850, 7, 40);
		w1 = h ? le16_to_cpu(h->face_w) : 0;
		ktap_diag("walking: face width %u -> %u", w0, w1);
		ktap_check(w0 && w1 > w0 * 3 / 2, "walking: the face box grows");
		/* PWM LED: at some instants on, at others off. */
		for (i = 0; i < 16; i++) {
			h = render_at("person 42 light=pwm var=3", BRHW_ILLUM_OFF, 7,
				      i, 1000000000ULL + i * 33333333ULL);
			m = h ? face_mean(h, 0) : 0;
			lo = m < lo ? m : lo;
			hi = m > hi ? m : hi;
		}
		ktap_diag("PWM: floods off, face mean %u..%u (x16)", lo, hi);
		ktap_check(hi > 2 * lo + 16 * 4,
			   "PWM light: the ambient switches between frames");
		/* A child's face is smaller than an adult's at the same distance. */
		h = render("person 42 dist=50", BRHW_ILLUM_850, 7, 0);
		w0 = h ? le16_to_cpu(h->face_w) : 0;
		h = render("person 42 child dist=50", BRHW_ILLUM_850, 7, 0);
		w1 = h ? le16_to_cpu(h->face_w) : 0;
		ktap_check(w1 && w1 < w0 * 9 / 10, "child: a smaller face");
	}
	KTAP_CASE("attacks carry the person's embedding") {
		/* 16: attacks carry the person's embedding */
		h = render("print 42 flat", BRHW_ILLUM_OFF, 1, 0);
		{
			struct bio_template t;
			u8 raw[BIOREADER_TEMPLATE_HDR_SIZE + 128];
			struct bioreader_template_hdr *th = (void *)raw;

			memset(raw, 0, sizeof(raw));
			th->magic = cpu_to_le32(BIOREADER_TEMPLATE_MAGIC);
			th->version = cpu_to_le16(BIOREADER_TEMPLATE_VERSION);
			th->dim = cpu_to_le16(128);
			th->format = BIOREADER_TEMPLATE_FMT_INT8_L2;
			sim_identity_embedding(42, 128, (s8 *)raw + sizeof(*th));
			ok = !bio_template_parse(&t, raw, sizeof(raw), 128) &&
			     bio_match_similarity(&t, h->embedding) > 20000;
			ktap_check(ok, "a print of person 42 carries 42's embedding");
		}
	}

	KTAP_CASE("end to end, native") {
		/* 17-26: end to end, native */
		ktap_check(verdict("person 42", 42, 2, &cls, &frames) ==
			   BIOREADER_OUTCOME_MATCH && frames <= 30,
			   "bona fide -> MATCH within 30 frames");
		ktap_check(verdict("person 42 skin=6 light=sun dist=75", 42, 2, &cls, NULL) ==
			   BIOREADER_OUTCOME_MATCH, "darkest skin in sunlight, far -> MATCH");
		ktap_check(verdict("person 43", 42, 2, &cls, NULL) ==
			   BIOREADER_OUTCOME_NO_MATCH, "impostor -> NO_MATCH");
		ktap_check(verdict("print 42 flat", 42, 2, &cls, NULL) ==
			   BIOREADER_OUTCOME_ATTACK && cls == BIOREADER_ATTACK_PRINT,
			   "print -> ATTACK print");
		ktap_check(verdict("replay 42 tablet", 42, 2, &cls, NULL) ==
			   BIOREADER_OUTCOME_ATTACK && cls == BIOREADER_ATTACK_REPLAY,
			   "replay of an earlier session -> ATTACK replay");
		ktap_check(verdict("replay 42 phone video", 42, 3, &cls, NULL) ==
			   BIOREADER_OUTCOME_ATTACK && cls == BIOREADER_ATTACK_REPLAY,
			   "video replay -> ATTACK replay (HIGH)");
		ktap_check(verdict("mask 42 resin", 42, 1, &cls, NULL) ==
			   BIOREADER_OUTCOME_ATTACK && cls == BIOREADER_ATTACK_MASK,
			   "resin mask -> ATTACK mask (LOW)");
		/* Silicone reads within what makeup over skin gives. */
		ktap_check(verdict("mask 42 silicone", 42, 1, &cls, NULL) ==
			   BIOREADER_OUTCOME_INCONCLUSIVE &&
			   last_reason == BIOREADER_REASON_SKIN_UNCERTAIN &&
			   cls == BIOREADER_ATTACK_NONE,
			   "silicone mask -> INCONCLUSIVE skin uncertain (LOW)");
		ktap_check(verdict("person 42 skin=6 makeup", 42, 2, &cls, NULL) !=
			   BIOREADER_OUTCOME_ATTACK,
			   "darkest skin under makeup -> never ATTACK");
		/*
		 * Walking up in bright NIR light: the flood response grows as
		 * 1/z^2 over the wait and the correlation dips below the
		 * threshold after the challenge passed.  The earlier code
		 * called each of these sessions a replay.
		 */
		{
			static const struct { u64 id, seed; } walk[] = {
				{ 18, 101 }, { 25, 101 }, { 4, 103 }, { 29, 103 },
			};
			char text[64];

			ok = true;
			for (i = 0; i < 4; i++) {
				snprintf(text, sizeof(text),
					 "person %llu walk light=nir",
					 (unsigned long long)walk[i].id);
				ok = ok && verdict_seed(text, walk[i].id, 2,
							walk[i].seed, &cls, NULL) !=
					   BIOREADER_OUTCOME_ATTACK;
			}
			ktap_check(ok, "walking up in bright NIR light -> never ATTACK");
		}
	}

	KTAP_CASE("the pattern and the operating points") {
		/* 27-28: the pattern and the operating points */
		ktap_check(bio_live_pattern_state(illum, 0) == 0 &&
			   bio_live_pattern_state(illum, 1) == 2 &&
			   bio_live_pattern_state(illum, 16) == 0 &&
			   bio_live_pattern_state(illum, 63) == 3 &&
			   bio_live_pattern_state(illum, 64) == 0,
			   "pattern state: 2 bits per frame, 64 frames, wraps");
		{
			struct bio_live_params lo, me, hi;

			bio_live_params_get(BIOREADER_SECLEVEL_LOW, &lo);
			bio_live_params_get(BIOREADER_SECLEVEL_MEDIUM, &me);
			bio_live_params_get(BIOREADER_SECLEVEL_HIGH, &hi);
			ktap_check(lo.frames < me.frames && me.frames < hi.frames &&
				   lo.corr_min <= me.corr_min && me.corr_min <= hi.corr_min &&
				   2 * me.frames >= 24 && hi.frames <= 30,
				   "operating points: stricter with the level, >= 24 bits at MEDIUM, <= 30 frames");
		}
	}

	KTAP_CASE("hostile and degenerate input") {
		/* 29-32: hostile and degenerate input */
		bio_live_init(l, BIOREADER_SECLEVEL_MEDIUM);
		ktap_check(bio_live_decide(l, &cls) == BIO_LIVE_PENDING,
			   "no frame: pending");
		srand(1);
		ok = 1;
		for (i = 0; i < 2000; i++) {
			struct brhw_frame_hdr fh;
			u32 j;

			memset(&fh, 0, sizeof(fh));
			fh.flags = cpu_to_le32(BRHW_FRAME_FACE);
			fh.face_x = cpu_to_le16(rand() % (W + 4));
			fh.face_y = cpu_to_le16(rand() % (H + 4));
			fh.face_w = cpu_to_le16(rand() % (W + 4));
			fh.face_h = cpu_to_le16(rand() % (H + 4));
			for (j = 0; j < 64; j++)
				frame[BRHW_FRAME_HDR_SIZE + rand() % (4 * W * H)] = rand();
			/* Gathering stays inside the frame whatever the box says. */
			bio_lattice_gather(&fh, g.width, g.height,
					   frame + BRHW_FRAME_HDR_SIZE, lat);
			for (j = 0; j < 16; j++)
				((u8 *)lat)[rand() % sizeof(*lat)] = rand();
			bio_live_add(l, &fh, lat, i % 70, rand() & 3);
			switch (bio_live_decide(l, &cls)) {
			case BIO_LIVE_PENDING:
			case BIO_LIVE_LIVE:
			case BIO_LIVE_UNDECIDED:
				break;
			case BIO_LIVE_ATTACK:
				if (cls != BIOREADER_ATTACK_NONE &&
				    cls <= BIOREADER_ATTACK_INJECTION)
					break;
				/* fall through */
			default:
				ktap_diag("random input %u: decision out of range", i);
				ok = 0;
			}
		}
		ktap_check(ok, "random boxes and payloads: no fault");
		bio_live_init(l, BIOREADER_SECLEVEL_MEDIUM);
		memset(&hdr, 0, sizeof(hdr));
		bio_live_add(l, &hdr, lat, 64, 0);
		ktap_check(bio_live_decide(l, &cls) == BIO_LIVE_UNDECIDED,
			   "pattern exhausted without a decision: undecided");
		bio_live_wipe(l);
		ok = 1;
		for (i = 0; i < sizeof(*l); i++)
			ok = ok && !((u8 *)l)[i];
		ktap_check(ok, "wipe clears the whole state");
	}

	KTAP_CASE("fusion") {
		/* 33-35: fusion */
		ok = bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_LIVE, 0, 0, true, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_MATCH &&
		     v.flags == BIOREADER_VERDICT_LIVENESS_EVALUATED &&
		     !bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_PENDING, 0, 0, true, true, &v) &&
		     !bio_session_decide(BIO_MATCH_PENDING, BIO_LIVE_LIVE, 0, 0, true, false, &v);
		ktap_check(ok, "fusion: MATCH needs both; ALLOW_NO_LIVENESS cannot skip liveness");
		ok = bio_session_decide(BIO_MATCH_PENDING, BIO_LIVE_ATTACK,
					BIOREADER_ATTACK_MASK, 0, true, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_ATTACK &&
		     v.reason == BIOREADER_REASON_PRESENTATION_ATTACK &&
		     v.attack_class == BIOREADER_ATTACK_MASK &&
		     bio_session_decide(BIO_MATCH_REJECT, BIO_LIVE_UNDECIDED, 0, 0, true, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE && !v.flags;
		ktap_check(ok, "fusion: attack ends at once; undecided is inconclusive");
		ok = bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_PENDING, 0, 0, false, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
		     v.reason == BIOREADER_REASON_LIVENESS_UNAVAILABLE &&
		     bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_PENDING, 0, 0, false, true, &v) &&
		     v.outcome == BIOREADER_OUTCOME_MATCH && !v.flags;
		ktap_check(ok, "fusion without liveness: ALLOW_NO_LIVENESS decides");
	}

	bio_live_params_get(0, &p);
	free(l);
	free(lat);
	return ktap_finish();
}
