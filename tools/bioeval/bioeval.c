// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioeval: ISO/IEC 30107-3 style evaluation of liveness and matching on
 * simulated corpora, through the native build of the driver's own code
 * (docs/evaluation.md).
 *
 *   bioeval [-s tune|test] [-n BONAFIDE] [-a ATTACKS] [-l low|medium|high]
 *           [-g WxH] [-j THREADS] [--cues] [--list]
 *   bioeval --replay CAPTURE --card ID [-l LEVEL] [--frames-required N]
 *           [--allow-no-liveness]
 *
 * --replay runs a session the simulated reader captured (debugfs, see
 * docs/hardware.md "Session capture") frame by frame through the same
 * code, under the policy given, and prints the verdict.
 *
 * A corpus is generated from a fixed seed: the tuning and the test set
 * use different seeds, disjoint identity ranges and independent parameter
 * draws.  Thresholds are chosen on the tuning set (--cues prints the cue
 * distributions and the suggested operating point); the test set is only
 * ever scored.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evsession.h"
#include "sim/sim_identity.h"

enum species {
	SP_BONAFIDE = 0,	/* genuine: the card holder in person */
	SP_IMPOSTOR,		/* a live person with someone else's card */
	SP_PRINT,
	SP_REPLAY,
	SP_MASK,
	SP_INJECTION,
	SP_COUNT
};

static const char * const sp_names[SP_COUNT] = {
	"bona fide", "impostor", "print", "replay", "mask", "injection",
};

struct item {
	enum species sp;
	struct ev_session_cfg cfg;
	struct ev_session_result res;
	int skin;
	int cond;		/* world corpus: index into conds[], else -1 */
};

struct corpus {
	struct item *items;
	size_t n;
	size_t next;
	pthread_mutex_t lock;
};

#define SEED_TUNE	0x74756e696e673031ULL
#define SEED_TEST	0x746573747365743aULL

static uint32_t rnd(u64 *r, uint32_t n)
{
	return (uint32_t)(((sim_prng_next(r) >> 32) * n) >> 32);
}

static int rrange(u64 *r, int lo, int hi)
{
	return lo + (int)rnd(r, (uint32_t)(hi - lo + 1));
}

static uint8_t draw_light(u64 *r)
{
	uint32_t v = rnd(r, 100);

	return v < 55 ? SIM_LIGHT_INDOOR : v < 80 ? SIM_LIGHT_SUN :
		SIM_LIGHT_FLICKER;
}

static void gen_item(struct item *it, enum species sp, uint64_t set_seed,
		     uint64_t idx, uint64_t id_top, const struct ev_session_cfg *base)
{
	u64 r = set_seed ^ ((uint64_t)sp << 48) ^ (idx * 0x9e3779b97f4a7c15ULL);
	struct sim_scene *s = &it->cfg.scene;

	sim_prng_next(&r);
	it->sp = sp;
	it->cond = -1;
	it->cfg = *base;
	it->cfg.session_seed = sim_prng_next(&r);
	memset(s, 0, sizeof(*s));
	s->person = (sim_prng_next(&r) >> 1) | id_top;
	s->var = sim_prng_next(&r);
	s->light = draw_light(&r);
	it->cfg.template_id = s->person;

	switch (sp) {
	case SP_BONAFIDE:
	case SP_IMPOSTOR:
	case SP_INJECTION:
		s->kind = SIM_SCENE_PERSON;
		s->skin = rrange(&r, 1, 6);
		s->dist_cm = rrange(&r, 30, 80);
		s->yaw = rrange(&r, -25, 25);
		s->pitch = rrange(&r, -15, 15);
		s->glasses = rnd(&r, 100) < 25;
		s->beard = rnd(&r, 100) < 20;
		s->motion = rrange(&r, 0, 3);
		it->skin = s->skin;
		if (sp == SP_IMPOSTOR)
			it->cfg.template_id = (sim_prng_next(&r) >> 1) | id_top;
		if (sp == SP_INJECTION) {
			it->cfg.inject = 1 + rnd(&r, EV_INJECT_COUNT - 1);
			it->cfg.inject_at = 1 + rnd(&r, 9);
		}
		break;
	case SP_PRINT:
		s->kind = SIM_SCENE_PRINT;
		s->shape = rnd(&r, SIM_PRINT_SHAPE_COUNT);
		s->glossy = rnd(&r, 2);
		s->holes = rnd(&r, 100) < 30;
		s->yaw = rrange(&r, -30, 30);
		s->dist_cm = rrange(&r, 30, 70);
		s->motion = rrange(&r, 0, 2);
		break;
	case SP_REPLAY:
		s->kind = SIM_SCENE_REPLAY;
		s->display = rnd(&r, SIM_DISPLAY_COUNT);
		s->video = rnd(&r, 100) < 40;
		s->yaw = rrange(&r, -20, 20);
		s->motion = rrange(&r, 0, 2);
		break;
	case SP_MASK:
		s->kind = SIM_SCENE_MASK;
		/* Resin or silicone: the earlier corpus, unchanged. */
		s->material = rnd(&r, SIM_MASK_SILICONE + 1);
		s->yaw = rrange(&r, -20, 20);
		s->dist_cm = rrange(&r, 30, 70);
		s->motion = rrange(&r, 0, 2);
		break;
	default:
		break;
	}
}

/* ---- the world corpus (--world): labelled conditions ---- */

/* A live person as in the earlier corpus' core: what conditions vary. */
static void w_person(struct sim_scene *s, u64 *r)
{
	s->kind = SIM_SCENE_PERSON;
	s->skin = rrange(r, 1, 6);
	s->dist_cm = rrange(r, 30, 80);
	s->yaw = rrange(r, -15, 15);
	s->pitch = rrange(r, -10, 10);
	s->glasses = rnd(r, 100) < 25;
	s->motion = rrange(r, 0, 2);
	s->light = SIM_LIGHT_INDOOR;
}

static int w_signed(u64 *r, int lo, int hi)
{
	int v = rrange(r, lo, hi);

	return rnd(r, 2) ? v : -v;
}

static uint8_t w_mixed_light(u64 *r)
{
	static const uint8_t l[] = {
		SIM_LIGHT_INDOOR, SIM_LIGHT_SUN, SIM_LIGHT_FLICKER,
		SIM_LIGHT_MAINS100, SIM_LIGHT_MAINS120, SIM_LIGHT_HALOGEN,
	};

	return l[rnd(r, sizeof(l))];
}

static void c_indoor(struct sim_scene *s, u64 *r) { w_person(s, r); }
static void c_near(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->dist_cm = rrange(r, 20, 29);
}
static void c_far(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->dist_cm = rrange(r, 81, 100);
	s->light = w_mixed_light(r);
}
static void c_yaw(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->yaw = w_signed(r, 26, 45);
}
static void c_pitch(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->pitch = w_signed(r, 16, 30);
}
static void c_sun(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_SUN;
}
static void c_sun_far(struct sim_scene *s, u64 *r)
{
	c_sun(s, r);
	s->dist_cm = rrange(r, 81, 100);
}
static void c_nir(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_NIR;
	s->dist_cm = rrange(r, 30, 100);
}
static void c_flicker(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_FLICKER;
}
static void c_mains100(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_MAINS100;
}
static void c_mains120(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_MAINS120;
}
static void c_halogen(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_HALOGEN;
}
static void c_pwm(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->light = SIM_LIGHT_PWM;
}
static void c_cover(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->cover = 1;
}
static void c_makeup(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->makeup = 1;
}
static void c_beard(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->beard = 1;
}
static void c_glasses(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->glasses = 1;
}
static void c_child(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->child = 1;
	s->dist_cm = rrange(r, 20, 80);
}
static void c_walk(struct sim_scene *s, u64 *r)
{
	w_person(s, r);
	s->walk = 1;
	s->motion = rrange(r, 1, 3);
}
static void c_print(struct sim_scene *s, u64 *r)
{
	s->kind = SIM_SCENE_PRINT;
	s->shape = rnd(r, SIM_PRINT_SHAPE_COUNT);
	s->glossy = rnd(r, 2);
	s->holes = rnd(r, 100) < 30;
	s->yaw = rrange(r, -30, 30);
	s->dist_cm = rrange(r, 30, 70);
	s->motion = rrange(r, 0, 2);
	s->light = draw_light(r);
}
static void c_print_far(struct sim_scene *s, u64 *r)
{
	c_print(s, r);
	s->dist_cm = rrange(r, 71, 100);
	s->light = rnd(r, 2) ? SIM_LIGHT_SUN : SIM_LIGHT_NIR;
}
static void c_replay(struct sim_scene *s, u64 *r)
{
	s->kind = SIM_SCENE_REPLAY;
	s->display = rnd(r, SIM_DISPLAY_COUNT);
	s->video = rnd(r, 100) < 40;
	s->yaw = rrange(r, -20, 20);
	s->motion = rrange(r, 0, 2);
	s->light = draw_light(r);
}
static void c_replay_dim(struct sim_scene *s, u64 *r)
{
	c_replay(s, r);
	s->display = 1 + rnd(r, 2);	/* tablet, monitor: held at distance */
	s->dist_cm = rrange(r, 60, 100);
	s->screen = SIM_SCREEN_DIM;
	s->light = rnd(r, 2) ? SIM_LIGHT_SUN : SIM_LIGHT_NIR;
}
static void c_replay_bright(struct sim_scene *s, u64 *r)
{
	c_replay(s, r);
	s->screen = SIM_SCREEN_BRIGHT;
	s->light = w_mixed_light(r);
}
static void c_mask(struct sim_scene *s, u64 *r, uint8_t material)
{
	s->kind = SIM_SCENE_MASK;
	s->material = material;
	s->yaw = rrange(r, -20, 20);
	s->dist_cm = rrange(r, 30, 70);
	s->motion = rrange(r, 0, 2);
	s->light = draw_light(r);
}
static void c_resin(struct sim_scene *s, u64 *r)
{
	c_mask(s, r, SIM_MASK_RESIN);
}
static void c_silicone(struct sim_scene *s, u64 *r)
{
	c_mask(s, r, SIM_MASK_SILICONE);
}
static void c_silicone_sun(struct sim_scene *s, u64 *r)
{
	c_mask(s, r, SIM_MASK_SILICONE);
	s->dist_cm = rrange(r, 60, 100);
	s->light = rnd(r, 2) ? SIM_LIGHT_SUN : SIM_LIGHT_NIR;
}
static void c_partial(struct sim_scene *s, u64 *r)
{
	c_mask(s, r, rnd(r, 2) ? SIM_MASK_SILICONE : SIM_MASK_RESIN);
	s->partial = 1;
}
static void c_skinlike(struct sim_scene *s, u64 *r)
{
	c_mask(s, r, SIM_MASK_SKINLIKE);
}

struct cond {
	const char *name;
	enum species sp;
	bool out_of_reach;	/* by design: docs/liveness.md */
	void (*gen)(struct sim_scene *s, u64 *r);
};

static const struct cond conds[] = {
	{ "live indoor 30-80 cm", SP_BONAFIDE, false, c_indoor },
	{ "live near 20-29 cm", SP_BONAFIDE, false, c_near },
	{ "live far 81-100 cm, mixed light", SP_BONAFIDE, false, c_far },
	{ "live yaw 26-45 deg", SP_BONAFIDE, false, c_yaw },
	{ "live pitch 16-30 deg", SP_BONAFIDE, false, c_pitch },
	{ "live sun 30-80 cm", SP_BONAFIDE, false, c_sun },
	{ "live sun 81-100 cm", SP_BONAFIDE, false, c_sun_far },
	{ "live bright NIR 30-100 cm", SP_BONAFIDE, false, c_nir },
	{ "live flicker (random)", SP_BONAFIDE, false, c_flicker },
	{ "live mains 100 Hz", SP_BONAFIDE, false, c_mains100 },
	{ "live mains 120 Hz", SP_BONAFIDE, false, c_mains120 },
	{ "live halogen", SP_BONAFIDE, false, c_halogen },
	{ "live PWM LED", SP_BONAFIDE, false, c_pwm },
	{ "live cloth mask", SP_BONAFIDE, false, c_cover },
	{ "live makeup", SP_BONAFIDE, false, c_makeup },
	{ "live beard", SP_BONAFIDE, false, c_beard },
	{ "live glasses", SP_BONAFIDE, false, c_glasses },
	{ "live child 20-80 cm", SP_BONAFIDE, false, c_child },
	{ "live walking up", SP_BONAFIDE, false, c_walk },
	{ "print", SP_PRINT, false, c_print },
	{ "print 71-100 cm, sun/NIR", SP_PRINT, false, c_print_far },
	{ "replay", SP_REPLAY, false, c_replay },
	{ "replay dimmed, 60-100 cm, sun/NIR", SP_REPLAY, false, c_replay_dim },
	{ "replay bright", SP_REPLAY, false, c_replay_bright },
	{ "mask resin", SP_MASK, false, c_resin },
	{ "mask silicone", SP_MASK, false, c_silicone },
	{ "mask silicone 60-100 cm, sun/NIR", SP_MASK, false, c_silicone_sun },
	{ "mask partial (upper face)", SP_MASK, false, c_partial },
	{ "mask skin-like (ratio of skin)", SP_MASK, true, c_skinlike },
};

#define NCONDS	(int)(sizeof(conds) / sizeof(conds[0]))

static void gen_world_item(struct item *it, int cond, uint64_t set_seed,
			   uint64_t idx, uint64_t id_top,
			   const struct ev_session_cfg *base)
{
	u64 r = set_seed ^ ((uint64_t)(cond + 16) << 40) ^
		(idx * 0x9e3779b97f4a7c15ULL);
	struct sim_scene *s = &it->cfg.scene;

	sim_prng_next(&r);
	it->sp = conds[cond].sp;
	it->cond = cond;
	it->cfg = *base;
	it->cfg.session_seed = sim_prng_next(&r);
	memset(s, 0, sizeof(*s));
	s->person = (sim_prng_next(&r) >> 1) | id_top;
	s->var = sim_prng_next(&r);
	it->cfg.template_id = s->person;
	conds[cond].gen(s, &r);
	it->skin = s->skin;
}

static void *worker(void *arg)
{
	struct corpus *c = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&c->lock);
		i = c->next++;
		pthread_mutex_unlock(&c->lock);
		if (i >= c->n)
			return NULL;
		if (ev_session_run(&c->items[i].cfg, &c->items[i].res)) {
			fprintf(stderr, "bioeval: out of memory\n");
			exit(2);
		}
	}
}

/* ---- statistics ---- */

/* log P(X = k), X ~ Bin(n, p) */
static double lbinom(int n, int k, double p)
{
	return lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) +
	       k * log(p) + (n - k) * log1p(-p);
}

static double binom_cdf(int n, int k, double p)
{
	double s = 0;
	int i;

	if (p <= 0)
		return 1;
	if (p >= 1)
		return k >= n ? 1 : 0;
	for (i = 0; i <= k; i++)
		s += exp(lbinom(n, i, p));
	return s;
}

/* Clopper-Pearson 95% interval of k successes out of n. */
static void clopper_pearson(int k, int n, double *lo, double *hi)
{
	double a, b, m;
	int it;

	*lo = 0;
	*hi = 1;
	if (!n)
		return;
	if (k > 0) {	/* P(X >= k; lo) = 0.025 */
		a = 0;
		b = 1;
		for (it = 0; it < 60; it++) {
			m = (a + b) / 2;
			if (1 - binom_cdf(n, k - 1, m) < 0.025)
				a = m;
			else
				b = m;
		}
		*lo = a;
	}
	if (k < n) {	/* P(X <= k; hi) = 0.025 */
		a = 0;
		b = 1;
		for (it = 0; it < 60; it++) {
			m = (a + b) / 2;
			if (binom_cdf(n, k, m) > 0.025)
				a = m;
			else
				b = m;
		}
		*hi = b;
	}
}

static void rate_row(const char *name, int k, int n)
{
	double lo, hi;

	clopper_pearson(k, n, &lo, &hi);
	printf("| %-28s | %5d | %4d | %6.2f %% | [%.2f %%, %.2f %%] |\n", name, n,
	       k, n ? 100.0 * k / n : 0.0, 100 * lo, 100 * hi);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int quantile(int *v, int n, double q)
{
	int i;

	if (!n)
		return 0;
	i = (int)(q * (n - 1) + 0.5);
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

enum cue {
	CUE_CORR, CUE_RESP, CUE_RELIEF, CUE_RATIO, CUE_ALPHA, CUE_RELIEF_RAW,
	CUE_NOISE, CUE_RATIO_SE, CUE_DIST, CUE_COUNT
};
static const char * const cue_names[CUE_COUNT] = {
	"corr (Q10, min band)", "resp (permille, min band)",
	"relief, noise removed (mm Q4)", "ratio 940/850 (permille)",
	"alpha: implied ambient (permille of flood at 500 mm, max band)",
	"relief as measured (mm Q4)", "depth noise of a cell mean (mm Q4)",
	"ratio standard error (permille)", "distance (mm)",
};

static int cue_value(const struct ev_session_result *r, enum cue c)
{
	switch (c) {
	case CUE_CORR:
		return r->cues.corr[0] < r->cues.corr[1] ? r->cues.corr[0] :
			r->cues.corr[1];
	case CUE_RESP:
		return r->cues.resp[0] < r->cues.resp[1] ? r->cues.resp[0] :
			r->cues.resp[1];
	case CUE_RELIEF:
		return r->cues.relief;
	case CUE_ALPHA:
		return r->cues.alpha[0] > r->cues.alpha[1] ? r->cues.alpha[0] :
			r->cues.alpha[1];
	case CUE_RELIEF_RAW:
		return r->cues.relief_raw;
	case CUE_NOISE:
		return r->cues.depth_noise;
	case CUE_RATIO_SE:
		return r->cues.ratio_se;
	case CUE_DIST:
		return r->cues.dist;
	default:
		return r->cues.ratio;
	}
}

static void print_cues(const struct corpus *c)
{
	static const double qs[] = { 0, 0.001, 0.005, 0.01, 0.05, 0.5, 0.95,
				     0.99, 0.995, 0.999, 1 };
	int *v = malloc(sizeof(int) * (c->n + 1));
	int sp, cue, k;
	size_t i;

	if (!v)
		return;
	printf("\nCue distributions over sessions that reached a liveness decision\n");
	printf("(quantiles 0 .1%% .5%% 1%% 5%% 50%% 95%% 99%% 99.5%% 99.9%% 100%%)\n");
	for (cue = 0; cue < CUE_COUNT; cue++) {
		printf("\n%s\n", cue_names[cue]);
		for (sp = 0; sp < SP_COUNT; sp++) {
			int n = 0;

			if (sp == SP_INJECTION)
				continue;
			for (i = 0; i < c->n; i++)
				if (c->items[i].sp == (enum species)sp &&
				    c->items[i].res.cues_valid &&
				    c->items[i].res.v.flags & BIOREADER_VERDICT_LIVENESS_EVALUATED)
					v[n++] = cue_value(&c->items[i].res, cue);
			qsort(v, n, sizeof(int), cmp_int);
			printf("  %-10s n=%5d:", sp_names[sp], n);
			for (k = 0; k < (int)(sizeof(qs) / sizeof(qs[0])); k++)
				printf(" %6d", quantile(v, n, qs[k]));
			printf("\n");
		}
	}
	free(v);
}

static const char *light_name(uint8_t l)
{
	return l == SIM_LIGHT_SUN ? "sun" : l == SIM_LIGHT_FLICKER ? "flicker" :
		"indoor";
}

static void report(const struct corpus *c, const char *set, uint32_t level,
		   int w, int h, int list)
{
	int n[SP_COUNT] = { 0 }, detected[SP_COUNT] = { 0 };
	int accepted[SP_COUNT] = { 0 };
	int classified[SP_COUNT] = { 0 };
	int bf_attack = 0, bf_inconcl = 0, bf_match = 0, bf_nomatch = 0;
	int band_n[3] = { 0 }, band_attack[3] = { 0 }, band_nonmatch[3] = { 0 };
	int light_n[3] = { 0 }, light_attack[3] = { 0 };
	int imp_match = 0, imp_live = 0;
	uint64_t frames_bf = 0, ns = 0, nframes = 0;
	uint32_t max_frames_bf = 0, within30 = 0;
	size_t i;
	static const uint32_t want_class[SP_COUNT] = {
		[SP_PRINT] = BIOREADER_ATTACK_PRINT,
		[SP_REPLAY] = BIOREADER_ATTACK_REPLAY,
		[SP_MASK] = BIOREADER_ATTACK_MASK,
		[SP_INJECTION] = BIOREADER_ATTACK_INJECTION,
	};

	for (i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];
		const struct bio_verdict_parts *v = &it->res.v;
		bool attack = v->outcome == BIOREADER_OUTCOME_ATTACK;

		n[it->sp]++;
		ns += it->res.ns_pipeline;
		nframes += it->res.frames;
		if (list)
			printf("%-9s %-60.*s -> %s/%s frames %u\n", sp_names[it->sp],
			       60, "", ev_outcome_name(v->outcome),
			       ev_class_name(v->attack_class), it->res.frames);
		switch (it->sp) {
		case SP_BONAFIDE: {
			int band = (it->skin - 1) / 2;

			band_n[band]++;
			light_n[it->cfg.scene.light]++;
			frames_bf += it->res.frames;
			if (it->res.frames > max_frames_bf)
				max_frames_bf = it->res.frames;
			within30 += it->res.frames <= 30;
			if (attack) {
				bf_attack++;
				band_attack[band]++;
				light_attack[it->cfg.scene.light]++;
			}
			if (v->outcome != BIOREADER_OUTCOME_MATCH)
				band_nonmatch[band]++;
			if (v->outcome == BIOREADER_OUTCOME_INCONCLUSIVE ||
			    v->outcome == BIOREADER_OUTCOME_TIMEOUT)
				bf_inconcl++;
			if (v->outcome == BIOREADER_OUTCOME_MATCH)
				bf_match++;
			if (v->outcome == BIOREADER_OUTCOME_NO_MATCH)
				bf_nomatch++;
			break;
		}
		case SP_IMPOSTOR:
			if (v->outcome == BIOREADER_OUTCOME_MATCH)
				imp_match++;
			if (v->outcome == BIOREADER_OUTCOME_MATCH ||
			    v->outcome == BIOREADER_OUTCOME_NO_MATCH)
				imp_live++;
			break;
		default:
			if (attack)
				detected[it->sp]++;
			if (v->outcome == BIOREADER_OUTCOME_MATCH ||
			    v->outcome == BIOREADER_OUTCOME_NO_MATCH)
				accepted[it->sp]++;
			if (attack && v->attack_class == want_class[it->sp])
				classified[it->sp]++;
			break;
		}
	}

	printf("\n## %s set: %zu sessions, level %s, %dx%d, 30 fps\n\n", set,
	       c->n, level == 1 ? "low" : level == 3 ? "high" : "medium", w, h);
	printf("Presentation-attack detection (APCER: attack presentations not ended as ATTACK)\n\n");
	printf("| %-28s | %5s | %4s | %8s | %-22s |\n", "species", "n", "errs",
	       "rate", "95% CI (Clopper-Pearson)");
	printf("|------------------------------|-------|------|----------|------------------------|\n");
	for (i = SP_PRINT; i < SP_COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "APCER %s", sp_names[i]);
		rate_row(name, n[i] - detected[i], n[i]);
	}
	/* The world corpus' error: an attack accepted as live. */
	for (i = SP_PRINT; i < SP_COUNT; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s accepted as live", sp_names[i]);
		rate_row(name, accepted[i], n[i]);
	}
	rate_row("BPCER (all bona fide)", bf_attack, n[SP_BONAFIDE]);
	rate_row("BPCER skin 1-2 (lightest)", band_attack[0], band_n[0]);
	rate_row("BPCER skin 3-4", band_attack[1], band_n[1]);
	rate_row("BPCER skin 5-6 (darkest)", band_attack[2], band_n[2]);
	for (i = 0; i < 3; i++) {
		char name[64];

		snprintf(name, sizeof(name), "BPCER light %s", light_name(i));
		rate_row(name, light_attack[i], light_n[i]);
	}
	rate_row("bona fide inconclusive", bf_inconcl, n[SP_BONAFIDE]);
	rate_row("FNMR (genuine, NO_MATCH)", bf_nomatch, n[SP_BONAFIDE]);
	rate_row("FMR (impostor, MATCH)", imp_match, n[SP_IMPOSTOR]);
	rate_row("genuine not MATCH (any)", n[SP_BONAFIDE] - bf_match,
		 n[SP_BONAFIDE]);
	rate_row("not MATCH skin 1-2", band_nonmatch[0], band_n[0]);
	rate_row("not MATCH skin 3-4", band_nonmatch[1], band_n[1]);
	rate_row("not MATCH skin 5-6", band_nonmatch[2], band_n[2]);

	printf("\nAttack class of detected attacks: ");
	for (i = SP_PRINT; i < SP_COUNT; i++)
		printf("%s %d/%d%s", sp_names[i], classified[i], detected[i],
		       i + 1 < SP_COUNT ? ", " : "\n");
	printf("Impostors judged live: %d/%d\n", imp_live, n[SP_IMPOSTOR]);
	printf("Bona fide frames to verdict: mean %.1f, max %u, within 30 frames %d/%d\n",
	       n[SP_BONAFIDE] ? (double)frames_bf / n[SP_BONAFIDE] : 0.0,
	       max_frames_bf, within30, n[SP_BONAFIDE]);
	printf("Pipeline (validation + liveness + matching): %.1f us per frame\n",
	       nframes ? ns / 1000.0 / nframes : 0.0);
}

static void ci_cell(char *buf, size_t size, int k, int n)
{
	double lo, hi;

	clopper_pearson(k, n, &lo, &hi);
	snprintf(buf, size, "%d (%.1f %%) [%.1f, %.1f]", k, n ? 100.0 * k / n : 0.0,
		 100 * lo, 100 * hi);
}

/*
 * Per condition, the INCONCLUSIVE verdicts by reason, each as a rate of
 * the condition's sessions: LIVENESS_UNAVAILABLE (undecided with no
 * capture shortfall in most frames), the capture-quality reasons, and
 * the TIMEOUTs.  Conditions without any are left out.
 */
static void report_world_reasons(const int *n,
				 int why[][BIOREADER_REASON_LAST + 2])
{
	static const struct {
		uint32_t reason;
		const char *name;
	} cols[] = {
		{ BIOREADER_REASON_LIVENESS_UNAVAILABLE, "undecided, no shortfall" },
		{ BIOREADER_REASON_TOO_FAR, "too far" },
		{ BIOREADER_REASON_TOO_CLOSE, "too close" },
		{ BIOREADER_REASON_TOO_BRIGHT, "too bright" },
		{ BIOREADER_REASON_FACE_COVERED, "face covered" },
		{ BIOREADER_REASON_POSE, "pose" },
		{ BIOREADER_REASON_HOLD_STILL, "hold still" },
		{ BIOREADER_REASON_SKIN_UNCERTAIN, "skin uncertain" },
		{ BIOREADER_REASON_LAST + 1, "TIMEOUT" },
	};
	const size_t nc = sizeof(cols) / sizeof(cols[0]);
	size_t k;
	int j;

	printf("\nInconclusive by reason, per condition (count, %% of the condition's sessions):\n\n");
	printf("| condition |");
	for (k = 0; k < nc; k++)
		printf(" %s |", cols[k].name);
	printf("\n|---|");
	for (k = 0; k < nc; k++)
		printf("---|");
	printf("\n");
	for (j = 0; j < NCONDS; j++) {
		int any = 0;

		for (k = 0; k < nc; k++)
			any += why[j][cols[k].reason];
		if (!n[j] || !any)
			continue;
		printf("| %s |", conds[j].name);
		for (k = 0; k < nc; k++) {
			int m = why[j][cols[k].reason];

			if (m)
				printf(" %d (%.1f %%) |", m, 100.0 * m / n[j]);
			else
				printf(" 0 |");
		}
		printf("\n");
	}
}

/*
 * Per condition: ATTACK, INCONCLUSIVE (or TIMEOUT) and accepted-as-live
 * (MATCH or NO_MATCH) counts with 95 % Clopper-Pearson intervals.  For
 * a live person the error is ATTACK (BPCER); for an attack, accepted as
 * live (APCER).
 */
static void report_world(const struct corpus *c, const char *set,
			 uint32_t level, int w, int h)
{
	int n[NCONDS] = { 0 }, att[NCONDS] = { 0 }, inc[NCONDS] = { 0 };
	int acc[NCONDS] = { 0 }, band_n[3] = { 0 }, band_att[3] = { 0 };
	int band_inc[3] = { 0 }, inj_n = 0, inj_err = 0, j;
	int why[NCONDS][BIOREADER_REASON_LAST + 2] = { { 0 } };
	uint64_t fr[NCONDS] = { 0 };
	char a[48], b[48], d[48];
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];
		uint32_t o = it->res.v.outcome;

		if (it->cond < 0) {
			inj_n += it->sp == SP_INJECTION;
			inj_err += it->sp == SP_INJECTION &&
				   o != BIOREADER_OUTCOME_ATTACK;
			continue;
		}
		j = it->cond;
		n[j]++;
		fr[j] += it->res.frames;
		att[j] += o == BIOREADER_OUTCOME_ATTACK;
		inc[j] += o == BIOREADER_OUTCOME_INCONCLUSIVE ||
			  o == BIOREADER_OUTCOME_TIMEOUT;
		acc[j] += o == BIOREADER_OUTCOME_MATCH ||
			  o == BIOREADER_OUTCOME_NO_MATCH;
		/* Inconclusive by reason; the last column counts timeouts. */
		if (o == BIOREADER_OUTCOME_INCONCLUSIVE &&
		    it->res.v.reason <= BIOREADER_REASON_LAST)
			why[j][it->res.v.reason]++;
		else if (o == BIOREADER_OUTCOME_TIMEOUT)
			why[j][BIOREADER_REASON_LAST + 1]++;
		if (it->sp == SP_BONAFIDE) {
			int band = (it->skin - 1) / 2;

			band_n[band]++;
			band_att[band] += o == BIOREADER_OUTCOME_ATTACK;
			band_inc[band] += o == BIOREADER_OUTCOME_INCONCLUSIVE ||
					  o == BIOREADER_OUTCOME_TIMEOUT;
		}
	}
	printf("\n## world corpus, %s set: %zu sessions, level %s, %dx%d, 30 fps\n\n",
	       set, c->n, level == 1 ? "low" : level == 3 ? "high" : "medium", w, h);
	printf("Error: live person ATTACK (BPCER); attack accepted as live, MATCH or NO_MATCH (APCER).\n");
	printf("Counts, rate and 95 %% Clopper-Pearson interval (%%).\n\n");
	printf("| condition | n | error | inconclusive | ATTACK verdicts | frames |\n");
	printf("|---|---|---|---|---|---|\n");
	for (j = 0; j < NCONDS; j++) {
		bool live = conds[j].sp == SP_BONAFIDE;

		if (!n[j])
			continue;
		ci_cell(a, sizeof(a), live ? att[j] : acc[j], n[j]);
		ci_cell(b, sizeof(b), inc[j], n[j]);
		snprintf(d, sizeof(d), "%d", att[j]);
		printf("| %s%s | %d | %s %s | %s | %s | %.1f |\n", conds[j].name,
		       conds[j].out_of_reach ? " (out of reach by design)" : "",
		       n[j], live ? "BPCER" : "APCER", a, b, d,
		       (double)fr[j] / n[j]);
	}
	if (inj_n) {
		ci_cell(a, sizeof(a), inj_err, inj_n);
		printf("| injection (not ATTACK) | %d | %s | | | |\n", inj_n, a);
	}
	report_world_reasons(n, why);
	printf("\nLive persons over all conditions, by skin tone:\n\n");
	printf("| skin tones | n | ATTACK (BPCER) | inconclusive |\n|---|---|---|---|\n");
	for (j = 0; j < 3; j++) {
		ci_cell(a, sizeof(a), band_att[j], band_n[j]);
		ci_cell(b, sizeof(b), band_inc[j], band_n[j]);
		printf("| %d-%d | %d | %s | %s |\n", 2 * j + 1, 2 * j + 2,
		       band_n[j], a, b);
	}
}

/* Per condition: cue quantiles 1 %, 50 %, 99 % and the extremes. */
static void print_world_cues(const struct corpus *c)
{
	int *v = malloc(sizeof(int) * (c->n + 1));
	int j, cue, k;
	size_t i;

	if (!v)
		return;
	printf("\nCues per condition (every session with cues): min 1%% 50%% 99%% max\n");
	for (cue = 0; cue < CUE_COUNT; cue++) {
		printf("\n%s\n", cue_names[cue]);
		for (j = 0; j < NCONDS; j++) {
			k = 0;
			for (i = 0; i < c->n; i++)
				if (c->items[i].cond == j && c->items[i].res.cues_valid)
					v[k++] = cue_value(&c->items[i].res, cue);
			qsort(v, k, sizeof(int), cmp_int);
			printf("  %-40s n=%4d: %6d %6d %6d %6d %6d\n", conds[j].name, k,
			       quantile(v, k, 0), quantile(v, k, 0.01),
			       quantile(v, k, 0.5), quantile(v, k, 0.99),
			       quantile(v, k, 1));
		}
	}
	free(v);
}

/* Every session, one line: condition, verdict, scene and cues (tuning). */
static void dump_sessions(const struct corpus *c)
{
	char text[SIM_SCENE_TEXT_MAX];
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];
		const struct bio_live_cues *q = &it->res.cues;

		sim_scene_print(&it->cfg.scene, text, sizeof(text));
		text[strcspn(text, "\n")] = '\0';
		printf("S|%s|%s/%s|%s|corr %d %d|alpha %d %d|relief %d raw %d noise %d|ratio %d se %d|dist %d\n",
		       it->cond >= 0 ? conds[it->cond].name : sp_names[it->sp],
		       ev_outcome_name(it->res.v.outcome),
		       ev_class_name(it->res.v.attack_class), text, q->corr[0],
		       q->corr[1], q->alpha[0], q->alpha[1], q->relief,
		       q->relief_raw, q->depth_noise, q->ratio, q->ratio_se,
		       q->dist);
	}
}

static void list_errors(const struct corpus *c)
{
	char text[SIM_SCENE_TEXT_MAX];
	size_t i;

	printf("\nErrors:\n");
	for (i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];
		const struct bio_verdict_parts *v = &it->res.v;
		bool bad;

		if (it->sp == SP_BONAFIDE)
			bad = v->outcome != BIOREADER_OUTCOME_MATCH;
		else if (it->sp == SP_IMPOSTOR)
			bad = v->outcome == BIOREADER_OUTCOME_MATCH ||
			      v->outcome == BIOREADER_OUTCOME_ATTACK;
		else
			bad = v->outcome != BIOREADER_OUTCOME_ATTACK;
		if (!bad)
			continue;
		sim_scene_print(&it->cfg.scene, text, sizeof(text));
		text[strcspn(text, "\n")] = '\0';
		printf("  %-9s seed %016llx %-55s -> %s/%s corr %d/%d resp %d/%d alpha %d/%d relief %d (raw %d noise %d) ratio %d se %d up %d se %d low %d se %d\n",
		       it->cond >= 0 ? conds[it->cond].name : sp_names[it->sp],
		       (unsigned long long)it->cfg.session_seed,
		       text, ev_outcome_name(v->outcome),
		       ev_class_name(v->attack_class), it->res.cues.corr[0],
		       it->res.cues.corr[1], it->res.cues.resp[0],
		       it->res.cues.resp[1], it->res.cues.alpha[0],
		       it->res.cues.alpha[1], it->res.cues.relief,
		       it->res.cues.relief_raw, it->res.cues.depth_noise,
		       it->res.cues.ratio, it->res.cues.ratio_se,
		       it->res.cues.ratio_up, it->res.cues.se_up,
		       it->res.cues.ratio_low, it->res.cues.se_low);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bioeval [-s tune|test] [-n BONAFIDE] [-a ATTACKS_PER_SPECIES]\n"
		"               [-l low|medium|high] [-g WxH] [-j THREADS] [--cues] [--errors]\n"
		"       bioeval --replay CAPTURE --card ID [-l low|medium|high]\n"
		"               [--frames-required N] [--allow-no-liveness]\n");
	exit(2);
}

/* Prints "OUTCOME class CLASS frames N"; 0, or 1 if unreadable. */
static int replay(const char *path, struct ev_replay_policy *pol)
{
	struct ev_session_result r;
	size_t cap = 1 << 20, len = 0, n;
	uint8_t *buf = malloc(cap), *nb;
	FILE *f = fopen(path, "rb");
	int ret = 1;

	if (!f || !buf) {
		perror(path);
		goto out;
	}
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto out;
			buf = nb;
			cap *= 2;
		}
	}
	if (ferror(f) || ev_replay_run(buf, len, pol, &r)) {
		fprintf(stderr, "bioeval: %s: not a readable capture\n", path);
		goto out;
	}
	printf("%s class %s frames %u\n", ev_outcome_name(r.v.outcome),
	       ev_class_name(r.v.attack_class), r.frames);
	ret = 0;
out:
	if (f)
		fclose(f);
	if (buf)
		bio_wipe(buf, cap);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "set", required_argument, NULL, 's' },
		{ "bonafide", required_argument, NULL, 'n' },
		{ "attacks", required_argument, NULL, 'a' },
		{ "level", required_argument, NULL, 'l' },
		{ "geometry", required_argument, NULL, 'g' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "cues", no_argument, NULL, 'c' },
		{ "errors", no_argument, NULL, 'e' },
		{ "replay", required_argument, NULL, 'r' },
		{ "card", required_argument, NULL, 'C' },
		{ "frames-required", required_argument, NULL, 'F' },
		{ "allow-no-liveness", no_argument, NULL, 'A' },
		{ "world", no_argument, NULL, 'W' },
		{ "dump", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct ev_replay_policy pol = {
		.emb_dim = 128,
		.security_level = BIOREADER_SECLEVEL_MEDIUM,
		.frames_required = 5,
	};
	const char *replay_path = NULL;
	int have_card = 0, world = 0, dump = 0;
	int nbf = 1200, natt = 600, jobs = 2, cues = 0, errors = 0, opt, w = 160, h = 120;
	const char *set = "test";
	uint32_t level = BIOREADER_SECLEVEL_MEDIUM;
	struct ev_session_cfg base;
	pthread_t th[64];
	struct corpus c;
	uint64_t seed, id_top;
	size_t k = 0;
	int sp, i;
	time_t t0 = time(NULL);

	while ((opt = getopt_long(argc, argv, "s:n:a:l:g:j:ce", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			set = optarg;
			break;
		case 'n':
			nbf = atoi(optarg);
			break;
		case 'a':
			natt = atoi(optarg);
			break;
		case 'l':
			level = !strcmp(optarg, "low") ? BIOREADER_SECLEVEL_LOW :
				!strcmp(optarg, "high") ? BIOREADER_SECLEVEL_HIGH :
				BIOREADER_SECLEVEL_MEDIUM;
			break;
		case 'g':
			if (sscanf(optarg, "%dx%d", &w, &h) != 2 || w < 32 ||
			    h < 32 || w > 640 || h > 480)
				usage();
			break;
		case 'j':
			jobs = atoi(optarg);
			break;
		case 'c':
			cues = 1;
			break;
		case 'e':
			errors = 1;
			break;
		case 'r':
			replay_path = optarg;
			break;
		case 'C':
			pol.template_id = strtoull(optarg, NULL, 0);
			have_card = 1;
			break;
		case 'F':
			pol.frames_required = (uint32_t)atoi(optarg);
			break;
		case 'A':
			pol.allow_no_liveness = true;
			break;
		case 'W':
			world = 1;
			break;
		case 'D':
			dump = 1;
			break;
		default:
			usage();
		}
	}
	if (replay_path) {
		if (!have_card)
			usage();
		pol.security_level = level;
		return replay(replay_path, &pol);
	}
	if (jobs < 1 || jobs > 64 || nbf < 0 || natt < 0)
		usage();
	if (!strcmp(set, "tune")) {
		seed = SEED_TUNE;
		id_top = 0;
	} else if (!strcmp(set, "test")) {
		seed = SEED_TEST;
		id_top = 1ULL << 63;
	} else {
		usage();
	}

	ev_session_cfg_default(&base);
	base.security_level = level;
	base.width = w;
	base.height = h;

	memset(&c, 0, sizeof(c));
	c.n = world ? (size_t)NCONDS * nbf + natt :
		2 * (size_t)nbf / 1 + 4 * (size_t)natt;
	c.items = calloc(c.n, sizeof(*c.items));
	if (!c.items)
		return 2;
	pthread_mutex_init(&c.lock, NULL);
	if (world) {
		/* -n sessions per condition; -a injections. */
		for (sp = 0; sp < NCONDS; sp++)
			for (i = 0; i < nbf; i++)
				gen_world_item(&c.items[k++], sp, seed, i, id_top,
					       &base);
		for (i = 0; i < natt; i++)
			gen_item(&c.items[k++], SP_INJECTION, seed, i, id_top, &base);
	} else {
		for (sp = 0; sp < SP_COUNT; sp++) {
			int cnt = sp == SP_BONAFIDE ? nbf : sp == SP_IMPOSTOR ?
				  nbf / 2 : natt;

			for (i = 0; i < cnt; i++)
				gen_item(&c.items[k++], sp, seed, i, id_top, &base);
		}
	}
	c.n = k;

	for (i = 0; i < jobs; i++)
		pthread_create(&th[i], NULL, worker, &c);
	for (i = 0; i < jobs; i++)
		pthread_join(th[i], NULL);

	printf("# bioeval -s %s -n %d -a %d -l %s -g %dx%d%s (%ld s)\n", set, nbf,
	       natt, level == 1 ? "low" : level == 3 ? "high" : "medium", w, h,
	       world ? " --world" : "", (long)(time(NULL) - t0));
	if (world) {
		report_world(&c, set, level, w, h);
		if (cues)
			print_world_cues(&c);
	} else {
		report(&c, set, level, w, h, 0);
	}
	if (cues)
		print_cues(&c);
	if (errors)
		list_errors(&c);
	if (dump)
		dump_sessions(&c);
	free(c.items);
	return 0;
}
