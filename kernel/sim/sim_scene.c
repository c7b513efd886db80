// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Scene model of the simulated reader (docs/liveness.md).
 *
 * The camera looks at a wall 1.8 m away.  In front of it stands a live
 * person, or an artefact of a person: a printed photo, a screen, a mask.
 * Every pixel of the two near-infrared planes is
 *
 *   gain * (reflectance_b * (ambient_b + flood_b * shade / z^2)
 *           + emission_b + flood_b * specular / z^2) + noise
 *
 * where flood_b is the light of the reader's own 850/940 nm floods as the
 * driver commanded them for this frame (BRHW_ILLUM_*), so every surface
 * that reflects follows the commanded pattern with its own pair of band
 * reflectances (skin absorbs more at 940 nm than at 850 nm: water), and
 * a screen shows what it was fed, whatever the floods do.  The gain is
 * the sensor's exposure, locked for a scene.  Depth is the surface's
 * distance in millimetres with noise and holes.
 *
 * Stable traits (reflectance, size, distance, sheet or mask material)
 * come from the identity and the variant seed; everything that changes
 * from frame to frame (head motion, flicker, noise) comes from the
 * device's PRNG, which the device reseeds at each key load: a given
 * seed renders the same session again.  Integer arithmetic only; this
 * file builds into the simulator module and into the native library.
 */
#include "../algo/bio_compat.h"
#include "../algo/bio_match.h"	/* bio_isqrt64() */
#include "sim_identity.h"
#include "sim_scene.h"

/* Light, in digital numbers (DN) for a white surface, before the gain. */
#define SC_AMBIENT_INDOOR	20
#define SC_FLOOD		190	/* flood of the band, at 500 mm, head-on */
#define SC_XTALK		10	/* other band's flood through the filter */
#define SC_REF_MM		500	/* distance the flood levels refer to */
#define SC_AE_TARGET		190	/* DN of a 65 % surface, both floods */

#define SC_WALL_MM		1800
#define SC_WALL_TILT_MM		40	/* depth change across the frame */
#define SC_WALL_REFL		350	/* per mille, both bands */

/* Face geometry at 100 % size, millimetres. */
#define SC_FACE_HALF_MM		75
#define SC_FACE_BULGE_MM	60	/* ellipsoid: rim to cheek front */
#define SC_FACE_NOSE_MM		25
#define SC_FACE_EYE_MM		8	/* eye socket depth */

/* Focal length in pixels per 1000 px of width: 60 degrees across. */
#define SC_FOCAL_PERMILLE	866

#define SC_TRAIT_SALT		0x7363656e65747261ULL
#define SC_VAR_MUL		0x9e3779b97f4a7c15ULL

/* Q16 "one" for squared normalised radii. */
#define Q16			65536U

static const u16 sc_tan_q8[46] = {
	0, 4, 9, 13, 18, 22, 27, 31, 36, 41, 45, 50, 54, 59, 64, 69, 73, 78,
	83, 88, 93, 98, 103, 109, 114, 119, 125, 130, 136, 142, 148, 154, 160,
	166, 173, 179, 186, 193, 200, 207, 215, 223, 231, 239, 247, 256,
};

static const u16 sc_cos_q8[46] = {
	256, 256, 256, 256, 255, 255, 255, 254, 254, 253, 252, 251, 250, 249,
	248, 247, 246, 245, 243, 242, 241, 239, 237, 236, 234, 232, 230, 228,
	226, 224, 222, 219, 217, 215, 212, 210, 207, 204, 202, 199, 196, 193,
	190, 187, 184, 181,
};

static inline s32 sc_min(s32 a, s32 b)
{
	return a < b ? a : b;
}

static inline s32 sc_max(s32 a, s32 b)
{
	return a > b ? a : b;
}

static inline s32 sc_clamp(s32 v, s32 lo, s32 hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static inline s32 sc_abs(s32 v)
{
	return v < 0 ? -v : v;
}

/* tan and cos of |deg| (clamped to 45 degrees), Q8; tan keeps the sign. */
static s32 sc_tan(s32 deg)
{
	s32 t = sc_tan_q8[sc_min(sc_abs(deg), 45)];

	return deg < 0 ? -t : t;
}

static s32 sc_cos(s32 deg)
{
	return sc_cos_q8[sc_min(sc_abs(deg), 45)];
}

/* ---- scene text ---------------------------------------------------- */

static const char * const sc_kind_names[SIM_SCENE_KIND_COUNT] = {
	"empty", "person", "print", "replay", "mask",
};

static const char * const sc_light_names[SIM_LIGHT_COUNT] = {
	"indoor", "sun", "flicker", "nir", "mains100", "mains120", "halogen",
	"pwm",
};

static const char * const sc_shape_names[SIM_PRINT_SHAPE_COUNT] = {
	"flat", "bent", "curved",
};

static const char * const sc_display_names[SIM_DISPLAY_COUNT] = {
	"phone", "tablet", "monitor",
};

static const char * const sc_material_names[SIM_MASK_MATERIAL_COUNT] = {
	"resin", "silicone", "skinlike",
};

static const char * const sc_screen_names[SIM_SCREEN_COUNT] = {
	"natural", "dim", "bright",
};

/* Flags of a person or a mask: word, scene field. */
struct sc_flag {
	const char *word;
	enum sim_scene_kind kind;
	size_t off;
};

static const struct sc_flag sc_flags[] = {
	{ "glasses", SIM_SCENE_PERSON, offsetof(struct sim_scene, glasses) },
	{ "beard", SIM_SCENE_PERSON, offsetof(struct sim_scene, beard) },
	{ "cover", SIM_SCENE_PERSON, offsetof(struct sim_scene, cover) },
	{ "makeup", SIM_SCENE_PERSON, offsetof(struct sim_scene, makeup) },
	{ "child", SIM_SCENE_PERSON, offsetof(struct sim_scene, child) },
	{ "walk", SIM_SCENE_PERSON, offsetof(struct sim_scene, walk) },
	{ "partial", SIM_SCENE_MASK, offsetof(struct sim_scene, partial) },
	{ NULL, SIM_SCENE_EMPTY, 0 },	/* end */
};

static int sc_lookup(const char * const *names, int n, const char *w,
		     size_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && !memcmp(names[i], w, len))
			return i;
	return -1;
}

static int sc_parse_choice(const char * const *names, int n, const char *w,
			   size_t len, u8 *out)
{
	int i = sc_lookup(names, n, w, len);

	if (i < 0)
		return -EINVAL;
	*out = (u8)i;
	return 0;
}

/* u64, decimal or 0x-hex, the whole word; 0 or -EINVAL. */
static int sc_parse_u64(const char *w, size_t len, u64 *out)
{
	u32 base = 10;
	u64 v = 0;
	size_t i = 0;

	if (len > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		char c = w[i];
		u32 d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		if (v > (~0ULL - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* Signed decimal in [lo, hi]; 0 or -EINVAL. */
static int sc_parse_int(const char *w, size_t len, s32 lo, s32 hi, s32 *out)
{
	bool neg = false;
	u64 v;

	if (len && (w[0] == '-' || w[0] == '+')) {
		neg = w[0] == '-';
		w++;
		len--;
	}
	if (!len || len > 6 || (w[0] == '0' && len > 1))
		return -EINVAL;
	if (sc_parse_u64(w, len, &v) || v > 100000)
		return -EINVAL;
	*out = neg ? -(s32)v : (s32)v;
	if (*out < lo || *out > hi)
		return -EINVAL;
	return 0;
}

/* One "word" or "key=value" option of a scene of kind s->kind. */
static int sc_parse_opt(struct sim_scene *s, const char *w, size_t len)
{
	const char *eq = memchr(w, '=', len);
	enum sim_scene_kind k = s->kind;
	size_t klen, vlen;
	const char *v;
	s32 n;
	int i;

	if (!eq) {
		for (i = 0; sc_flags[i].word; i++) {
			if (sc_flags[i].kind == k && strlen(sc_flags[i].word) == len &&
			    !memcmp(sc_flags[i].word, w, len)) {
				*((u8 *)s + sc_flags[i].off) = 1;
				return 0;
			}
		}
		if (len == 5 && !memcmp(w, "matte", 5) && k == SIM_SCENE_PRINT)
			s->glossy = 0;
		else if (len == 6 && !memcmp(w, "glossy", 6) && k == SIM_SCENE_PRINT)
			s->glossy = 1;
		else if (len == 5 && !memcmp(w, "holes", 5) && k == SIM_SCENE_PRINT)
			s->holes = 1;
		else if (len == 7 && !memcmp(w, "session", 7) && k == SIM_SCENE_REPLAY)
			s->video = 0;
		else if (len == 5 && !memcmp(w, "video", 5) && k == SIM_SCENE_REPLAY)
			s->video = 1;
		else if (k == SIM_SCENE_PRINT)
			return sc_parse_choice(sc_shape_names, SIM_PRINT_SHAPE_COUNT,
					       w, len, &s->shape);
		else if (k == SIM_SCENE_REPLAY &&
			 sc_lookup(sc_screen_names, SIM_SCREEN_COUNT, w, len) > 0)
			return sc_parse_choice(sc_screen_names, SIM_SCREEN_COUNT,
					       w, len, &s->screen);
		else if (k == SIM_SCENE_REPLAY)
			return sc_parse_choice(sc_display_names, SIM_DISPLAY_COUNT,
					       w, len, &s->display);
		else if (k == SIM_SCENE_MASK)
			return sc_parse_choice(sc_material_names,
					       SIM_MASK_MATERIAL_COUNT, w, len,
					       &s->material);
		else
			return -EINVAL;
		return 0;
	}

	klen = eq - w;
	v = eq + 1;
	vlen = len - klen - 1;
	if (klen == 3 && !memcmp(w, "var", 3))
		return sc_parse_u64(v, vlen, &s->var);
	if (klen == 5 && !memcmp(w, "light", 5)) {
		i = sc_lookup(sc_light_names, SIM_LIGHT_COUNT, v, vlen);
		if (i < 0)
			return -EINVAL;
		s->light = i;
		return 0;
	}
	if (klen == 4 && !memcmp(w, "dist", 4)) {
		if (sc_parse_int(v, vlen, 20, 100, &n))
			return -EINVAL;
		s->dist_cm = n;
		return 0;
	}
	if (klen == 4 && !memcmp(w, "skin", 4) && k == SIM_SCENE_PERSON) {
		if (sc_parse_int(v, vlen, 1, 6, &n))
			return -EINVAL;
		s->skin = n;
		return 0;
	}
	if ((klen == 3 && !memcmp(w, "yaw", 3)) ||
	    (klen == 5 && !memcmp(w, "angle", 5) && k != SIM_SCENE_PERSON)) {
		if (sc_parse_int(v, vlen, -45, 45, &n))
			return -EINVAL;
		s->yaw = n;
		return 0;
	}
	if (klen == 5 && !memcmp(w, "pitch", 5)) {
		if (sc_parse_int(v, vlen, -30, 30, &n))
			return -EINVAL;
		s->pitch = n;
		return 0;
	}
	if (klen == 6 && !memcmp(w, "motion", 6)) {
		if (sc_parse_int(v, vlen, 0, 3, &n))
			return -EINVAL;
		s->motion = n;
		return 0;
	}
	return -EINVAL;
}

static bool sc_space(char c)
{
	return c == ' ' || c == '\t';
}

int sim_scene_parse(struct sim_scene *s, const char *buf, size_t len)
{
	struct sim_scene t;
	size_t i = 0, w0;
	int word = 0, k;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len >= SIM_SCENE_TEXT_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	t.motion = 1;

	for (;;) {
		while (i < len && sc_space(buf[i]))
			i++;
		if (i == len)
			break;
		w0 = i;
		while (i < len && !sc_space(buf[i]))
			i++;
		if (word == 0) {
			k = sc_lookup(sc_kind_names, SIM_SCENE_KIND_COUNT,
				      buf + w0, i - w0);
			if (k < 0)
				return -EINVAL;
			t.kind = k;
		} else if (word == 1 && t.kind != SIM_SCENE_EMPTY) {
			if (sc_parse_u64(buf + w0, i - w0, &t.person))
				return -EINVAL;
		} else if (t.kind == SIM_SCENE_EMPTY ||
			   sc_parse_opt(&t, buf + w0, i - w0)) {
			return -EINVAL;
		}
		word++;
	}
	if (!word || (t.kind != SIM_SCENE_EMPTY && word < 2))
		return -EINVAL;
	if (t.kind == SIM_SCENE_EMPTY)
		t.motion = 0;
	*s = t;
	return 0;
}

/* A tiny bounded string builder (no printf in the shared code). */
struct sc_out {
	char *buf;
	size_t size, len;
};

static void sc_puts(struct sc_out *o, const char *str)
{
	while (*str) {
		if (o->len + 1 < o->size)
			o->buf[o->len++] = *str;
		str++;
	}
	if (o->size)
		o->buf[o->len] = '\0';
}

static void sc_putu(struct sc_out *o, u64 v)
{
	char tmp[24];
	int i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	sc_puts(o, tmp + i);
}

static void sc_puti(struct sc_out *o, const char *key, s32 v)
{
	sc_puts(o, key);
	if (v < 0) {
		sc_puts(o, "-");
		v = -v;
	}
	sc_putu(o, (u64)v);
}

int sim_scene_print(const struct sim_scene *s, char *buf, size_t size)
{
	struct sc_out o = { .buf = buf, .size = size, .len = 0 };
	enum sim_scene_kind k = s->kind;
	size_t i;

	if (size)
		buf[0] = '\0';
	if ((unsigned int)k >= SIM_SCENE_KIND_COUNT || k == SIM_SCENE_EMPTY) {
		sc_puts(&o, "empty\n");
		return o.len;
	}
	sc_puts(&o, sc_kind_names[k]);
	sc_puts(&o, " ");
	sc_putu(&o, s->person);
	switch (k) {
	case SIM_SCENE_PERSON:
		if (s->skin)
			sc_puti(&o, " skin=", s->skin);
		break;
	case SIM_SCENE_PRINT:
		sc_puts(&o, " ");
		sc_puts(&o, sc_shape_names[s->shape % SIM_PRINT_SHAPE_COUNT]);
		sc_puts(&o, s->glossy ? " glossy" : " matte");
		if (s->holes)
			sc_puts(&o, " holes");
		break;
	case SIM_SCENE_REPLAY:
		sc_puts(&o, " ");
		sc_puts(&o, sc_display_names[s->display % SIM_DISPLAY_COUNT]);
		sc_puts(&o, s->video ? " video" : " session");
		if (s->screen && s->screen < SIM_SCREEN_COUNT) {
			sc_puts(&o, " ");
			sc_puts(&o, sc_screen_names[s->screen]);
		}
		break;
	default:
		sc_puts(&o, " ");
		sc_puts(&o, sc_material_names[s->material % SIM_MASK_MATERIAL_COUNT]);
		break;
	}
	for (i = 0; sc_flags[i].word; i++) {
		if (sc_flags[i].kind == k && *((const u8 *)s + sc_flags[i].off)) {
			sc_puts(&o, " ");
			sc_puts(&o, sc_flags[i].word);
		}
	}
	if (s->dist_cm)
		sc_puti(&o, " dist=", s->dist_cm);
	if (s->yaw)
		sc_puti(&o, k == SIM_SCENE_PERSON || k == SIM_SCENE_MASK ?
			" yaw=" : " angle=", s->yaw);
	if (s->pitch)
		sc_puti(&o, " pitch=", s->pitch);
	if (s->light && s->light < SIM_LIGHT_COUNT) {
		sc_puts(&o, " light=");
		sc_puts(&o, sc_light_names[s->light]);
	}
	if (s->motion != 1)
		sc_puti(&o, " motion=", s->motion);
	if (s->var) {
		sc_puts(&o, " var=");
		sc_putu(&o, s->var);
	}
	sc_puts(&o, "\n");
	return o.len;
}

/* ---- rendering ------------------------------------------------------ */

/* A bounded uniform from a PRNG: [0, n). */
static u32 sc_uniform(u64 *rng, u32 n)
{
	return (u32)(((sim_prng_next(rng) >> 32) * n) >> 32);
}

/* Uniform in [lo, hi]. */
static s32 sc_range(u64 *rng, s32 lo, s32 hi)
{
	return lo + (s32)sc_uniform(rng, (u32)(hi - lo + 1));
}

static u32 sc_k(s32 r)
{
	r = sc_max(r, 1);
	return (1U << 24) / ((u32)r * (u32)r);
}

/* Skin reflectance at 850 nm by tone (per mille) and 940/850 ratio. */
static const u16 sc_skin_850[6] = { 620, 560, 500, 430, 360, 290 };
static const u16 sc_skin_ratio_lo[6] = { 720, 725, 730, 740, 750, 760 };
static const u16 sc_skin_ratio_hi[6] = { 800, 805, 810, 825, 840, 850 };

/* What a surface is, resolved once per scene. */
enum sc_surface {
	SC_NONE = 0,
	SC_FACE,	/* live face or mask: ellipsoid with nose and eyes */
	SC_SHEET,	/* paper print */
	SC_SCREEN,	/* emissive display */
};

struct sc_ctx {
	const struct sim_scene *s;
	const struct sim_exposure *e;
	enum sc_surface surf;

	/* Face (or the face shown on an artefact), this frame. */
	s32 cx, cy;		/* centre, pixels */
	s32 a, b;		/* half-axes, pixels */
	u32 ka, kb;		/* 2^24 / a^2, 2^24 / b^2 */
	s32 nose_dx, nose_dy;	/* nose centre relative to the face centre */
	u32 kn_x, kn_y;
	s32 eye_dx, eye_dy;	/* eye sockets relative to the centre */
	u32 ke;			/* 2^24 / eye radius^2 */
	s32 bulge, nose, eye;	/* mm */

	/* Surface placement. */
	s32 z;			/* mm, front of the face / artefact centre */
	s32 slope_x, slope_y;	/* depth slope, mm per pixel, Q8 */
	s32 fold;		/* bent print: mm per pixel off the midline, Q8 */
	s32 curv_r;		/* curved print: cylinder radius, pixels */
	s32 mmpx;		/* mm per pixel at z, Q8 */
	s32 ox0, oy0, ox1, oy1;	/* extent of the artefact, pixels */

	/* Materials, per mille. */
	u32 r850, r940;		/* the face's skin, mask or paper */
	u32 skin850, skin940;	/* a wearer's / holder's skin (eye holes) */
	u32 beard_y;		/* beard below this dy (pixels), 0: none */
	u32 ink_lo;		/* print: darkest ink, per mille */
	u32 glass;		/* screen glass reflectance, per mille */
	u32 disp_gain;		/* screen brightness, Q8 */
	bool old_850, old_940;	/* replay: recorded flood states */
	bool spec;		/* glossy print or glasses: highlights */

	/* Light. */
	s32 amb;		/* ambient, DN for white */
	s32 flood850, flood940;	/* this frame, DN for white at 500 mm */
	u32 gain;		/* exposure, Q8 */
	u32 depth_sd;		/* depth noise, mm, Q4 */
	u32 hole_mask;		/* depth hole if (r & mask) == 0 */
	u32 emb_noise;		/* percent */
	s32 blur;		/* horizontal motion blur, pixels */

	/* Occluders and layers (extended corpus). */
	s32 cover_y;		/* cloth mask below this dy, pixels */
	u32 cloth850, cloth940;	/* its reflectance, per mille */
	u32 layer850, layer940;	/* makeup: the foundation's reflectance */
	u32 layer_o;		/* its opacity, per mille; 0: none */
	s32 partial_y;		/* partial mask: wearer's skin below this dy */
	bool partial;
};

/* Stable traits of this scene: one PRNG stream per person and variant. */
static u64 sc_traits(const struct sim_scene *s, u32 stream)
{
	return s->person ^ SC_TRAIT_SALT ^ (s->var * SC_VAR_MUL) ^
	       ((u64)stream << 56);
}

static s32 sc_dist_mm(const struct sim_scene *s, u64 *t, s32 lo, s32 hi)
{
	s32 d = sc_range(t, lo, hi);

	return s->dist_cm ? s->dist_cm * 10 : d;
}

static void sc_skin(const struct sim_scene *s, u32 *r850, u32 *r940)
{
	u64 t = sc_traits(s, 1);
	u32 tone = s->skin ? s->skin : 1 + sc_uniform(&t, 6);
	u32 ratio;

	tone -= 1;
	/* The variant only moves within the tone's band. */
	t ^= s->var;
	*r850 = sc_skin_850[tone] + sc_range(&t, -30, 30);
	ratio = sc_range(&t, sc_skin_ratio_lo[tone], sc_skin_ratio_hi[tone]);
	*r940 = *r850 * ratio / 1000;
}

/* Face geometry for a face of half-width @half_mm at @dist mm. */
static void sc_face_geometry(struct sc_ctx *c, s32 half_mm, s32 dist,
			     s32 size_pct)
{
	const struct sim_exposure *e = c->e;
	s32 focal = e->width * SC_FOCAL_PERMILLE / 1000;

	c->a = sc_max(4, focal * half_mm / sc_max(dist, 100));
	c->b = c->a * 13 / 10;
	c->ka = sc_k(c->a);
	c->kb = sc_k(c->b);
	c->nose_dy = c->b / 8;
	c->kn_x = sc_k(c->a / 5);
	c->kn_y = sc_k(c->b / 3);
	c->eye_dx = c->a * 2 / 5;
	c->eye_dy = -c->b / 5;
	c->ke = sc_k(c->a / 5);
	c->bulge = SC_FACE_BULGE_MM * size_pct / 100;
	c->nose = SC_FACE_NOSE_MM * size_pct / 100;
	c->eye = SC_FACE_EYE_MM;
	c->mmpx = dist * 256 / sc_max(focal, 1);
}

/*
 * A person's extended traits: a cloth mask, makeup, walking.  Walking:
 * 0.24-0.6 m/s towards the reader, arriving at @dist at frame 40; the
 * exposure follows the distance.
 */
static void sc_person_ext(struct sc_ctx *c, const struct sim_scene *s,
			  u64 *t, s32 *dist)
{
	if (s->cover) {
		/* Cotton or polypropylene: no water band, dyes pass NIR. */
		c->cloth850 = sc_range(t, 450, 750);
		c->cloth940 = c->cloth850 * sc_range(t, 950, 1020) / 1000;
	}
	if (s->makeup) {
		/* Foundation: TiO2 and iron oxides, grey in the NIR. */
		c->layer850 = sc_range(t, 550, 750);
		c->layer940 = c->layer850 * sc_range(t, 960, 1000) / 1000;
		c->layer_o = sc_range(t, 150, 400);
	}
	if (s->walk) {
		s32 v = sc_range(t, 8, 20);
		u32 left = c->e->seq < 40 ? 40 - c->e->seq : 0;

		*dist = sc_min(*dist + v * (s32)left, 1200);
	}
}

/* sin(2 pi k / 32), Q8. */
static const s16 sc_sin32_q8[32] = {
	0, 50, 98, 142, 181, 213, 237, 251, 256, 251, 237, 213, 181, 142, 98,
	50, 0, -50, -98, -142, -181, -213, -237, -251, -256, -251, -237, -213,
	-181, -142, -98, -50,
};

/*
 * Phase of a light of @hz at device time @ts_ns, in 1/1000 of a cycle.
 * The exposure is taken as a point sample: a short exposure sees the
 * light as it is at that instant (the worst case for flicker).
 */
static u32 sc_phase_1000(u32 hz, u64 ts_ns)
{
	u64 x = (u64)hz * ts_ns;
	u64 rem = x - bio_div_u64(x, 1000000000U) * 1000000000U;

	return (u32)rem / 1000000U;
}

/*
 * Ambient of the extended lights, this frame (DN for white); @base is
 * the mean level the exposure locks on.  Stable traits from @t, the
 * frame's instant from the exposure's timestamp.
 */
static s32 sc_ambient_ext(u8 light, u64 *t, const struct sim_exposure *e,
			  s32 *base)
{
	u32 hz, depth, ph, duty;

	switch (light) {
	case SIM_LIGHT_NIR:
		*base = sc_range(t, 320, 700);
		return *base;
	case SIM_LIGHT_MAINS100:
	case SIM_LIGHT_MAINS120:
		/* Fluorescent tubes and cheap LED drivers: 20-80 % ripple. */
		hz = light == SIM_LIGHT_MAINS100 ? 100 : 120;
		*base = sc_range(t, 15, 40);
		depth = sc_range(t, 200, 800);
		break;
	case SIM_LIGHT_HALOGEN:
		/* Hot filament: mostly NIR, its inertia keeps the ripple low. */
		hz = 100 + 20 * sc_uniform(t, 2);
		*base = sc_range(t, 60, 200);
		depth = sc_range(t, 50, 150);
		break;
	case SIM_LIGHT_PWM:
		/* Dimmed LED: on or off at the instant of the exposure. */
		hz = sc_range(t, 200, 2000);
		duty = sc_range(t, 200, 800);
		*base = sc_range(t, 15, 40);
		ph = (sc_phase_1000(hz, e->timestamp_ns) + sc_uniform(t, 1000)) % 1000;
		return ph < duty ? (s32)(*base * 1000 / duty) : 0;
	default:
		*base = SC_AMBIENT_INDOOR;
		return *base;
	}
	ph = (sc_phase_1000(hz, e->timestamp_ns) + sc_uniform(t, 1000)) % 1000;
	return *base + *base * (s32)depth / 1000 * sc_sin32_q8[ph * 32 / 1000] / 256;
}

/* Resolve the scene for this exposure. */
static void sc_setup(struct sc_ctx *c, const struct sim_scene *s,
		     const struct sim_exposure *e)
{
	u64 t = sc_traits(s, 0), *rng = e->rng;
	u64 t3 = sc_traits(s, 3);	/* traits of the extended corpus */
	s32 jit, dist, half, size_pct = 100, yaw = s->yaw;
	s32 inv2, lref, amb_ae = SC_AMBIENT_INDOOR;
	u32 old, depth_mul = 1;

	memset(c, 0, sizeof(*c));
	c->s = s;
	c->e = e;
	c->emb_noise = 45;
	c->hole_mask = 1023;

	/* Ambient light: stable level per scene, flicker per frame. */
	switch (s->light) {
	case SIM_LIGHT_SUN:
		c->amb = sc_range(&t, 120, 320);
		c->hole_mask = 63;
		break;
	case SIM_LIGHT_FLICKER:
		c->amb = SC_AMBIENT_INDOOR * (65 + (s32)sc_uniform(rng, 71)) / 100;
		break;
	case SIM_LIGHT_INDOOR:
		c->amb = SC_AMBIENT_INDOOR;
		break;
	default:
		c->amb = sc_ambient_ext(s->light, &t3, e, &amb_ae);
		if (s->light == SIM_LIGHT_NIR) {
			c->hole_mask = 31;
			depth_mul = 4;
		} else if (s->light == SIM_LIGHT_HALOGEN) {
			c->hole_mask = 255;
			depth_mul = 2;
		}
		break;
	}
	if (s->light == SIM_LIGHT_SUN) {
		amb_ae = c->amb;
		depth_mul = 3;
	}

	switch (s->kind) {
	case SIM_SCENE_PERSON:
		c->surf = SC_FACE;
		size_pct = sc_range(&t, 92, 108);
		dist = sc_dist_mm(s, &t, 300, 800);
		if (s->child)
			size_pct = sc_range(&t3, 70, 82);
		half = SC_FACE_HALF_MM * size_pct / 100;
		sc_skin(s, &c->r850, &c->r940);
		c->spec = s->glasses;
		sc_person_ext(c, s, &t3, &dist);
		break;
	case SIM_SCENE_MASK:
		c->surf = SC_FACE;
		size_pct = sc_range(&t, 98, 110);
		dist = sc_dist_mm(s, &t, 300, 700);
		half = SC_FACE_HALF_MM * size_pct / 100;
		if (s->material == SIM_MASK_SILICONE) {
			c->r850 = sc_range(&t, 350, 600);
			c->r940 = c->r850 * sc_range(&t, 880, 960) / 1000;
		} else if (s->material == SIM_MASK_SKINLIKE) {
			c->r850 = sc_range(&t, 300, 600);
			c->r940 = c->r850 * sc_range(&t, 740, 860) / 1000;
		} else {
			c->r850 = sc_range(&t, 450, 700);
			c->r940 = c->r850 * sc_range(&t, 970, 1060) / 1000;
		}
		sc_skin(s, &c->skin850, &c->skin940);
		c->emb_noise = 60;
		c->partial = s->partial;
		break;
	case SIM_SCENE_PRINT:
		c->surf = SC_SHEET;
		dist = sc_dist_mm(s, &t, 300, 700);
		half = SC_FACE_HALF_MM * sc_range(&t, 85, 110) / 100;
		c->r850 = sc_range(&t, 700, 880);
		c->r940 = c->r850 * sc_range(&t, 960, 1040) / 1000;
		c->ink_lo = sc_range(&t, 250, 400);
		sc_skin(s, &c->skin850, &c->skin940);
		c->spec = s->glossy;
		c->emb_noise = 55;
		break;
	case SIM_SCENE_REPLAY:
		c->surf = SC_SCREEN;
		switch (s->display) {
		case SIM_DISPLAY_PHONE:
			dist = sc_dist_mm(s, &t, 200, 300);
			half = sc_range(&t, 24, 32);
			break;
		case SIM_DISPLAY_TABLET:
			dist = sc_dist_mm(s, &t, 300, 450);
			half = sc_range(&t, 50, 65);
			break;
		default:
			dist = sc_dist_mm(s, &t, 500, 800);
			half = sc_range(&t, 85, 110);
			break;
		}
		sc_skin(s, &c->r850, &c->r940);
		c->glass = sc_range(&t, 15, 40);
		/* The attacker sets the brightness to look like a real face. */
		c->disp_gain = sc_range(&t, 200, 300) * SC_REF_MM * SC_REF_MM /
			       (dist * dist);
		if (s->screen == SIM_SCREEN_DIM)
			c->disp_gain = c->disp_gain * sc_range(&t3, 25, 60) / 100;
		else if (s->screen == SIM_SCREEN_BRIGHT)
			c->disp_gain = c->disp_gain * sc_range(&t3, 180, 300) / 100;
		c->hole_mask = 31;
		c->emb_noise = 55;
		break;
	default:
		c->surf = SC_NONE;
		dist = SC_WALL_MM;
		half = SC_FACE_HALF_MM;
		break;
	}

	/* The same frame-level motion model for everyone. */
	if (s->kind == SIM_SCENE_REPLAY && s->display == SIM_DISPLAY_MONITOR)
		jit = 0;
	else
		jit = sc_max(1, e->width / 320) * (s->motion + 1) / 2;
	if (c->surf == SC_FACE)
		dist += (s32)sc_uniform(rng, 9) - 4;
	c->z = dist;
	sc_face_geometry(c, half, dist, size_pct);
	if (c->surf == SC_SHEET || c->surf == SC_SCREEN)
		c->a = sc_max(4, c->a * sc_cos(yaw) / 256);
	c->cx = e->width / 2 + (s32)sc_uniform(rng, 2 * jit + 1) - jit;
	c->cy = e->height * 45 / 100 + (s32)sc_uniform(rng, 2 * jit + 1) - jit;
	c->blur = s->motion >= 2 ? s->motion : 0;

	/* Pose: features shift, and the surface tilts in depth. */
	c->slope_x = sc_tan(yaw) * c->mmpx / 256;
	c->slope_y = sc_tan(s->pitch) * c->mmpx / 256;
	if (c->surf == SC_FACE) {
		c->nose_dx = c->a * yaw / 90;
		c->nose_dy += c->b * s->pitch / 90;
	}

	/* Artefact extents. */
	switch (c->surf) {
	case SC_SHEET:
		c->ox0 = c->cx - c->a * 3 / 2;
		c->ox1 = c->cx + c->a * 3 / 2;
		c->oy0 = c->cy - c->b * 3 / 2;
		c->oy1 = c->cy + c->b * 3 / 2;
		if (s->shape == SIM_PRINT_BENT)
			c->fold = sc_tan(sc_range(&t, 10, 30)) * c->mmpx / 256;
		else if (s->shape == SIM_PRINT_CURVED)
			c->curv_r = sc_range(&t, 120, 350) * 256 /
				    sc_max(c->mmpx, 1);
		break;
	case SC_SCREEN:
		c->ox0 = c->cx - c->a * 8 / 5;
		c->ox1 = c->cx + c->a * 8 / 5;
		c->oy0 = c->cy - c->b * 9 / 5;
		c->oy1 = c->cy + c->b * 9 / 5;
		break;
	default:
		c->ox0 = c->cx - c->a;
		c->ox1 = c->cx + c->a;
		c->oy0 = c->cy - c->b;
		c->oy1 = c->cy + c->b;
		break;
	}
	if (s->kind == SIM_SCENE_PERSON && s->beard)
		c->beard_y = c->b * 7 / 20;
	if (c->cloth850)
		c->cover_y = c->eye_dy + c->a / 5;
	if (s->child)
		c->nose = c->nose * 3 / 4;
	if (c->partial)
		c->partial_y = c->b * sc_range(&t3, -10, 30) / 100;

	/* The floods as commanded for this frame. */
	if (e->illum_state & BRHW_ILLUM_850) {
		c->flood850 += SC_FLOOD;
		c->flood940 += SC_XTALK;
	}
	if (e->illum_state & BRHW_ILLUM_940) {
		c->flood940 += SC_FLOOD;
		c->flood850 += SC_XTALK;
	}

	/* Replay: the flood states of the recorded frame on screen. */
	if (s->video) {
		c->old_850 = true;
		c->old_940 = true;
	} else {
		u64 ot = sc_traits(s, 2);

		old = (u32)(sim_prng_next(&ot) >>
			    (2 * ((e->seq + (u32)s->var) & 31)));
		c->old_850 = old & 1;
		c->old_940 = old & 2;
	}

	/*
	 * Exposure, locked for the scene: a 65 % surface at the subject's
	 * distance, both floods on, reads SC_AE_TARGET.
	 */
	inv2 = SC_REF_MM * SC_REF_MM * 256 / (dist * dist);
	lref = amb_ae * 256 + (SC_FLOOD + SC_XTALK) * inv2;
	c->gain = sc_clamp(SC_AE_TARGET * 256 * 256 / sc_max(lref * 65 / 100, 1),
			   32, 2048);

	/* Depth noise grows with distance squared; sunlight washes it out. */
	c->depth_sd = (16 + (u32)(dist * dist) / 25000) * depth_mul;
}

/* One pixel's surface. */
struct sc_px {
	s32 z;			/* mm */
	u32 r850, r940;		/* reflectance, per mille */
	u32 shade;		/* Q8, 256 = facing the sensor */
	u32 e850, e940;		/* emitted light, DN for white units, Q8 */
	u32 spec;		/* specular flood gain, Q8 */
	u32 hole;		/* extra depth-hole mask: hole if (r & hole) == 0 */
};

/*
 * Ellipsoid face with nose and eye sockets at (dx, dy) from its centre:
 * depth offset from the face front (mm) and shading (Q8); false
 * outside.  @eye_out tells whether the point is in an eye socket.
 */
static bool sc_face_at(const struct sc_ctx *c, s32 dx, s32 dy, s32 *z,
		       u32 *shade, bool *eye_out)
{
	u64 n2, e2;
	u32 r2;
	s32 ex, nx, ny;

	*eye_out = false;
	if (dx < -c->a || dx > c->a || dy < -c->b || dy > c->b)
		return false;
	r2 = ((u32)(dx * dx) * c->ka + (u32)(dy * dy) * c->kb) >> 8;
	if (r2 >= Q16)
		return false;

	*shade = bio_isqrt64(Q16 - r2);
	*z = c->bulge - c->bulge * (s32)*shade / 256;

	nx = dx - c->nose_dx;
	ny = dy - c->nose_dy;
	n2 = ((u64)(nx * nx) * c->kn_x + (u64)(ny * ny) * c->kn_y) >> 8;
	if (n2 < Q16)
		*z -= (s32)(((u64)c->nose * (Q16 - n2)) >> 16);

	ex = sc_abs(dx - c->nose_dx) - c->eye_dx;
	e2 = ((u64)(ex * ex) + (u64)((dy - c->eye_dy) * (dy - c->eye_dy))) *
	     c->ke >> 8;
	if (e2 < Q16) {
		*z += (s32)(((u64)c->eye * (Q16 - e2)) >> 16);
		*shade = *shade * 7 / 8;
		*eye_out = e2 < Q16 / 2;
	}
	return true;
}

/* How far the nose stands out of the face at (dx, dy), mm. */
static s32 sc_nose_at(const struct sc_ctx *c, s32 dx, s32 dy)
{
	s32 nx = dx - c->nose_dx, ny = dy - c->nose_dy;
	u64 n2 = ((u64)(nx * nx) * c->kn_x + (u64)(ny * ny) * c->kn_y) >> 8;

	return n2 < Q16 ? (s32)(((u64)c->nose * (Q16 - n2)) >> 16) : 0;
}

static void sc_wall(const struct sc_ctx *c, s32 x, struct sc_px *p)
{
	p->z = SC_WALL_MM + SC_WALL_TILT_MM * x / sc_max(c->e->width, 1);
	p->r850 = SC_WALL_REFL;
	p->r940 = SC_WALL_REFL;
	p->shade = 256;
}

static void sc_pixel(const struct sc_ctx *c, s32 x, s32 y, struct sc_px *p)
{
	s32 dx = x - c->cx, dy = y - c->cy, fz;
	u32 fshade;
	bool in_face, eye;

	memset(p, 0, sizeof(*p));
	if (c->surf == SC_NONE || x < c->ox0 || x > c->ox1 ||
	    y < c->oy0 || y > c->oy1) {
		sc_wall(c, x, p);
		return;
	}
	in_face = sc_face_at(c, dx, dy, &fz, &fshade, &eye);

	switch (c->surf) {
	case SC_FACE:
		if (!in_face) {
			sc_wall(c, x, p);
			return;
		}
		p->z = c->z + fz + (dx * c->slope_x + dy * c->slope_y) / 256;
		p->shade = fshade;
		p->r850 = c->r850;
		p->r940 = c->r940;
		if (c->layer_o && !eye) {
			p->r850 = (p->r850 * (1000 - c->layer_o) +
				   c->layer850 * c->layer_o) / 1000;
			p->r940 = (p->r940 * (1000 - c->layer_o) +
				   c->layer940 * c->layer_o) / 1000;
		}
		if (c->partial && dy > c->partial_y) {
			/* Below a partial mask: the wearer's own face. */
			p->r850 = c->skin850;
			p->r940 = c->skin940;
			return;
		}
		if (c->cloth850 && dy > c->cover_y) {
			/*
			 * Taut from the nose's tip to the cheeks, it halves
			 * the nose's relief and stands 4 mm proud.
			 */
			p->r850 = c->cloth850;
			p->r940 = c->cloth940;
			p->z += sc_nose_at(c, dx, dy) / 2 - 4;
			return;
		}
		if (c->s->kind == SIM_SCENE_MASK && eye) {
			/* The wearer's eyes through the mask's openings. */
			p->r850 = c->skin850;
			p->r940 = c->skin940;
			p->z += 6;
		}
		if (c->beard_y && dy > (s32)c->beard_y) {
			p->r850 = c->r850 * 3 / 10;
			p->r940 = p->r850;
			p->hole = 15;
		}
		if (c->spec && eye) {
			/* Glasses: lenses pass most light, glare, no depth. */
			p->r850 = p->r850 * 9 / 10;
			p->r940 = p->r940 * 9 / 10;
			p->hole = 3;
			if (sc_abs(sc_abs(dx - c->nose_dx) - c->eye_dx) <= c->a / 12 + 1 &&
			    sc_abs(dy - c->eye_dy) <= c->a / 12 + 1)
				p->spec = 768;
		}
		return;
	case SC_SHEET: {
		s32 ink;

		p->z = c->z + (dx * c->slope_x + dy * c->slope_y) / 256;
		p->shade = 250;
		if (c->fold) {
			p->z += sc_abs(dx) * c->fold / 256;
			p->shade = 240;
		} else if (c->curv_r) {
			s32 r = c->curv_r, u = sc_min(sc_abs(dx), r - 1);
			/* u < r: the chord's half-height is positive. */
			u32 h = bio_isqrt64((u64)(r * r - u * u));

			p->z += (r - (s32)h) * c->mmpx / 256;
			p->shade = h * 256 / r;
		}
		if (in_face && eye && c->s->holes) {
			/* Eye holes: the holder's eyes, a little behind. */
			p->r850 = c->skin850;
			p->r940 = c->skin940;
			p->z += 20;
			return;
		}
		/* The printed photo: the face's shading baked into the ink. */
		ink = in_face ? c->ink_lo + (1000 - c->ink_lo) * (s32)fshade / 256 :
			c->ink_lo + 100;
		p->r850 = c->r850 * ink / 1000;
		p->r940 = c->r940 * ink / 1000;
		if (c->spec) {
			if (c->curv_r && sc_abs(dx) <= c->a / 8)
				p->spec = 384;
			else if (!c->fold && !c->curv_r && sc_abs(c->s->yaw) < 8 &&
				 dx * dx + dy * dy <= c->a * c->a / 9)
				p->spec = 384;
		}
		return;
	}
	case SC_SCREEN: {
		s32 lit850, lit940;

		p->z = c->z + (dx * c->slope_x + dy * c->slope_y) / 256;
		p->shade = 256;
		p->r850 = c->glass;
		p->r940 = c->glass;
		p->hole = 31;
		/* What the screen shows: a recorded face, or its backdrop. */
		if (!in_face) {
			p->e850 = c->disp_gain * SC_AMBIENT_INDOOR * 60 / 100;
			p->e940 = p->e850;
			return;
		}
		lit850 = SC_AMBIENT_INDOOR * 256 +
			 (c->old_850 ? SC_FLOOD : 0) * (s32)fshade +
			 (c->old_940 ? SC_XTALK : 0) * (s32)fshade;
		lit940 = SC_AMBIENT_INDOOR * 256 +
			 (c->old_940 ? SC_FLOOD : 0) * (s32)fshade +
			 (c->old_850 ? SC_XTALK : 0) * (s32)fshade;
		p->e850 = (u32)lit850 * c->r850 / 1000 * c->disp_gain / 256;
		p->e940 = (u32)lit940 * c->r940 / 1000 * c->disp_gain / 256;
		return;
	}
	default:
		sc_wall(c, x, p);
		return;
	}
}

/* Zero-mean triangular noise from 16 random bits: sd ~104.5. */
static s32 sc_noise16(u64 r)
{
	return (s32)(r & 255) + (s32)((r >> 8) & 255) - 255;
}

/* One band's pixel value. */
static u8 sc_band(const struct sc_ctx *c, u32 refl, u32 emit, u32 spec,
		  u32 flood, u32 shade, u32 inv2, s32 noise, bool *saturated)
{
	u32 l;
	s64 q8;

	/* Light on the surface, DN for white, Q8 (fits: see the ranges). */
	l = (u32)c->amb * 256 + ((flood * shade * inv2) >> 8);
	l = l / 8 * refl / 125 + emit + ((flood * spec * inv2) >> 8);
	q8 = (s64)(((u64)l * c->gain) >> 8);
	/* Read noise ~2 DN plus shot noise. */
	q8 += (s64)noise * (5 + (s32)(q8 >> 13)) + 128;
	if (q8 < 0)
		return 0;
	if (q8 >= 256 * 256) {
		*saturated = true;
		return 255;
	}
	return (u8)(q8 >> 8);
}

/* Depth noise of sd @sd_q4 / 16 mm from a triangular deviate (sd 104.5). */
static s32 sc_depth_noise(s32 n, u32 sd_q4)
{
	s32 q = n * (s32)sd_q4 / 16;

	return (q + (q >= 0 ? 52 : -52)) / 105;
}

/* Horizontal box blur of one row of a u8 plane, in place. */
static void sc_blur_row(u8 *row, s32 w, s32 len)
{
	u32 sum = 0;
	s32 x;
	u8 hist[4] = { 0 };

	for (x = 0; x < w; x++) {
		sum += row[x];
		if (x >= len)
			sum -= hist[x % len];
		hist[x % len] = row[x];
		row[x] = (u8)(sum / (u32)sc_min(x + 1, len));
	}
}

void sim_scene_render(const struct sim_scene *s, const struct sim_exposure *e,
		      struct brhw_frame_hdr *hdr, u8 *payload)
{
	u32 npix = (u32)e->width * e->height;
	u8 *p850 = payload, *p940 = payload + npix;
	u8 *depth = payload + 2 * npix;
	bool has_face = s->kind != SIM_SCENE_EMPTY &&
			(u32)s->kind < SIM_SCENE_KIND_COUNT;
	bool saturated = false;
	u32 flags = BRHW_FRAME_DEPTH_VALID;
	struct sc_ctx c;
	struct sc_px p;
	s32 x, y;

	sc_setup(&c, s, e);

	for (y = 0; y < e->height; y++) {
		for (x = 0; x < e->width; x++) {
			u64 r = sim_prng_next(e->rng);
			u32 i = (u32)y * e->width + x;
			s32 z, inv2;
			u16 dz;

			sc_pixel(&c, x, y, &p);
			z = sc_max(p.z, 100);
			inv2 = SC_REF_MM * SC_REF_MM * 256 / (z * z);
			p850[i] = sc_band(&c, p.r850, p.e850, p.spec, (u32)c.flood850,
					  p.shade, inv2, sc_noise16(r), &saturated);
			p940[i] = sc_band(&c, p.r940, p.e940, p.spec, (u32)c.flood940,
					  p.shade, inv2, sc_noise16(r >> 16),
					  &saturated);
			if (!((r >> 48) & c.hole_mask) ||
			    (p.hole && !((r >> 59) & p.hole)))
				dz = 0;
			else
				dz = (u16)sc_clamp(z + sc_depth_noise(sc_noise16(r >> 32),
									c.depth_sd),
						   1, 65535);
			depth[2 * i] = dz & 0xff;
			depth[2 * i + 1] = dz >> 8;
		}
		if (c.blur) {
			sc_blur_row(p850 + (u32)y * e->width, e->width, c.blur);
			sc_blur_row(p940 + (u32)y * e->width, e->width, c.blur);
		}
	}

	memset(hdr->embedding, 0, sizeof(hdr->embedding));
	if (has_face) {
		s32 x0 = sc_clamp(c.cx - c.a, 0, e->width - 1);
		s32 y0 = sc_clamp(c.cy - c.b, 0, e->height - 1);
		s32 x1 = sc_clamp(c.cx + c.a, 0, e->width - 1);
		s32 y1 = sc_clamp(c.cy + c.b, 0, e->height - 1);

		flags |= BRHW_FRAME_FACE;
		hdr->face_x = cpu_to_le16(x0);
		hdr->face_y = cpu_to_le16(y0);
		hdr->face_w = cpu_to_le16(x1 - x0 + 1);
		hdr->face_h = cpu_to_le16(y1 - y0 + 1);
		sim_identity_sample(s->person, e->rng, c.emb_noise,
				    e->emb_dim, hdr->embedding);
	} else {
		hdr->face_x = 0;
		hdr->face_y = 0;
		hdr->face_w = 0;
		hdr->face_h = 0;
	}
	if (saturated)
		flags |= BRHW_FRAME_SATURATED;
	hdr->flags = cpu_to_le32(flags);
}

void sim_frame_render(const struct sim_scene *s, const struct sim_exposure *e,
		      void *frame)
{
	struct brhw_frame_hdr *hdr = frame;

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(BRHW_FRAME_MAGIC);
	hdr->version = cpu_to_le16(BRHW_FRAME_VERSION);
	hdr->hdr_len = cpu_to_le16(BRHW_FRAME_HDR_SIZE);
	hdr->seq = cpu_to_le32(e->seq);
	hdr->timestamp_ns = cpu_to_le64(e->timestamp_ns);
	hdr->width = cpu_to_le16(e->width);
	hdr->height = cpu_to_le16(e->height);
	hdr->payload_len = cpu_to_le32(BRHW_PAYLOAD_LEN(e->width, e->height));
	hdr->illum_state = e->illum_state;
	/* Position in the pattern (docs/hardware.md, "Illumination"). */
	hdr->illum_index = (u8)(e->seq % (e->illum_len ? e->illum_len : 1));
	hdr->emb_format = BRHW_EMB_FMT_INT8_L2;
	hdr->emb_dim = cpu_to_le16(e->emb_dim);
	sim_scene_render(s, e, hdr, (u8 *)frame + BRHW_FRAME_HDR_SIZE);
}
