// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scene model of the simulated reader.
 *
 * The camera looks at a wall 1.8 m away.  A person stands about half a
 * metre from it; the face is an ellipsoid with a nose and two eye
 * sockets.  The two near-infrared planes are the scene's reflectance in
 * each band times the light that reaches it: a constant ambient level
 * plus the reader's own 850 nm and 940 nm floods, which fall off with
 * the square of the distance and with the angle of the surface.  Skin
 * reflects less at 940 nm than at 850 nm (water absorption).  Sensor
 * noise comes from the instance's PRNG, so a given seed renders the same
 * frames.  Integer arithmetic only.
 */
#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/math.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <asm/byteorder.h>

#include "sim_identity.h"
#include "sim_scene.h"

/* Light, in digital numbers (DN) for a white surface facing the sensor. */
#define SCENE_AMBIENT		20	/* no flood */
#define SCENE_FLOOD		190	/* flood of the band, at 500 mm */
#define SCENE_XTALK		10	/* other band's flood through the filter */
#define SCENE_REF_MM		500	/* distance the flood levels refer to */

#define SCENE_WALL_MM		1800
#define SCENE_WALL_TILT_MM	40	/* depth change across the frame */
#define SCENE_WALL_REFL		35	/* percent, both bands */

/* Face geometry at 100 % size, millimetres. */
#define FACE_HALF_WIDTH_MM	75
#define FACE_BULGE_MM		60	/* ellipsoid: rim to cheek front */
#define FACE_NOSE_MM		25
#define FACE_EYE_MM		8	/* eye socket depth */

/* Focal length in pixels per 1000 px of width: 60 degrees across. */
#define SCENE_FOCAL_PERMILLE	866

/* Embedding noise, percent of the signal: cosine ~0.9 to the clean one. */
#define SCENE_EMB_NOISE_PCT	45

#define SCENE_TRAIT_SALT	0x7363656e65747261ULL

/* Q16 "one" for squared normalised radii. */
#define Q16			65536U

int sim_scene_parse(struct sim_scene *s, const char *buf, size_t len)
{
	char text[SIM_SCENE_TEXT_MAX];
	const char *arg;
	u64 id;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len >= sizeof(text) || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(text, buf, len);
	text[len] = '\0';

	if (!strcmp(text, "empty")) {
		s->kind = SIM_SCENE_EMPTY;
		s->person = 0;
		return 0;
	}
	if (strncmp(text, "person", 6) || !isspace(text[6]))
		return -EINVAL;
	arg = skip_spaces(text + 6);
	if (kstrtou64(arg, 0, &id))
		return -EINVAL;
	s->kind = SIM_SCENE_PERSON;
	s->person = id;
	return 0;
}

int sim_scene_print(const struct sim_scene *s, char *buf, size_t size)
{
	switch (s->kind) {
	case SIM_SCENE_PERSON:
		return scnprintf(buf, size, "person %llu\n", s->person);
	case SIM_SCENE_EMPTY:
	default:
		return scnprintf(buf, size, "empty\n");
	}
}

/* A face as it appears in one frame. */
struct scene_face {
	s32 cx, cy;		/* centre, pixels */
	s32 a, b;		/* half-axes, pixels */
	u32 ka, kb;		/* 2^24 / a^2, 2^24 / b^2 */
	s32 nose_dy;		/* nose centre below the face centre */
	u32 kn_x, kn_y;		/* nose: 2^24 / radius^2 */
	s32 eye_dx, eye_dy;	/* eye sockets relative to the centre */
	u32 ke;			/* eye socket: 2^24 / radius^2 */
	s32 z;			/* cheek front, mm */
	s32 bulge, nose, eye;	/* mm */
	u32 refl_850, refl_940;	/* percent */
};

static u32 scene_k(s32 r)
{
	r = max(r, 1);
	return (1U << 24) / ((u32)r * (u32)r);
}

/* A bounded uniform from the PRNG: [0, n). */
static u32 scene_uniform(u64 *rng, u32 n)
{
	return (u32)(((sim_prng_next(rng) >> 32) * n) >> 32);
}

static void scene_face_place(struct scene_face *f, u64 person,
			     const struct sim_exposure *e)
{
	u64 traits = person ^ SCENE_TRAIT_SALT;
	u32 size_pct, dist, focal;
	s32 jit = max(1, e->width / 160);

	/* Stable traits of this person. */
	size_pct = 92 + sim_prng_next(&traits) % 17;
	dist = 470 + sim_prng_next(&traits) % 71;
	f->refl_850 = 52 + sim_prng_next(&traits) % 11;
	f->refl_940 = f->refl_850 - 5 - sim_prng_next(&traits) % 4;

	/* Per-frame: a live head never holds perfectly still. */
	dist += scene_uniform(e->rng, 9) - 4;
	f->cx = e->width / 2 + (s32)scene_uniform(e->rng, 2 * jit + 1) - jit;
	f->cy = e->height * 45 / 100 +
		(s32)scene_uniform(e->rng, 2 * jit + 1) - jit;

	focal = e->width * SCENE_FOCAL_PERMILLE / 1000;
	f->a = max_t(s32, 4, focal * FACE_HALF_WIDTH_MM * size_pct /
		     100 / dist);
	f->b = f->a * 13 / 10;
	f->ka = scene_k(f->a);
	f->kb = scene_k(f->b);
	f->nose_dy = f->b / 8;
	f->kn_x = scene_k(f->a / 5);
	f->kn_y = scene_k(f->b / 3);
	f->eye_dx = f->a * 2 / 5;
	f->eye_dy = -f->b / 5;
	f->ke = scene_k(f->a / 5);
	f->z = dist;
	f->bulge = FACE_BULGE_MM * size_pct / 100;
	f->nose = FACE_NOSE_MM * size_pct / 100;
	f->eye = FACE_EYE_MM;
}

/*
 * Depth (mm) and shading (Q8, 256 = facing the sensor) of the face at
 * (dx, dy) from its centre; false outside the face.
 */
static bool scene_face_at(const struct scene_face *f, s32 dx, s32 dy,
			  s32 *z, u32 *shade)
{
	u64 n2, e2;
	u32 r2;
	s32 ex;

	if (dx < -f->a || dx > f->a || dy < -f->b || dy > f->b)
		return false;
	r2 = ((u32)(dx * dx) * f->ka + (u32)(dy * dy) * f->kb) >> 8;
	if (r2 >= Q16)
		return false;

	*shade = int_sqrt(Q16 - r2);
	*z = f->z + f->bulge - f->bulge * (s32)*shade / 256;

	n2 = ((u64)(dx * dx) * f->kn_x +
	      (u64)((dy - f->nose_dy) * (dy - f->nose_dy)) * f->kn_y) >> 8;
	if (n2 < Q16)
		*z -= (s32)(((u64)f->nose * (Q16 - n2)) >> 16);

	ex = abs(dx) - f->eye_dx;
	e2 = ((u64)(ex * ex) + (u64)((dy - f->eye_dy) * (dy - f->eye_dy))) *
	     f->ke >> 8;
	if (e2 < Q16) {
		*z += (s32)(((u64)f->eye * (Q16 - e2)) >> 16);
		*shade = *shade * 7 / 8;
	}
	return true;
}

/* Small zero-mean noise from 8 random bits: sd ~6.5 (units). */
static s32 scene_noise8(u64 r)
{
	return (s32)(r & 15) + (s32)((r >> 4) & 15) - 15;
}

/*
 * Brightness of one pixel in one band: reflectance (percent) times
 * ambient plus flood (DN at SCENE_REF_MM, head-on) attenuated by the
 * shading (Q8) and the inverse square law (@inv2, Q8), plus noise.
 */
static u8 scene_nir(u32 refl, u32 flood, u32 shade, u32 inv2, s32 noise,
		    bool *saturated)
{
	s32 q8;

	q8 = (SCENE_AMBIENT * 256 + ((flood * shade * inv2) >> 8)) * refl / 100;
	q8 += noise * 64 + 128;
	if (q8 < 0)
		return 0;
	if (q8 >= 256 * 256) {
		*saturated = true;
		return 255;
	}
	return q8 >> 8;
}

void sim_scene_render(const struct sim_scene *s, const struct sim_exposure *e,
		      struct brhw_frame_hdr *hdr, u8 *payload)
{
	u32 npix = (u32)e->width * e->height;
	u8 *p850 = payload, *p940 = payload + npix;
	__le16 *depth = (__le16 *)(payload + 2 * npix);
	u32 flood_850 = 0, flood_940 = 0;
	struct scene_face face;
	bool has_face = s->kind == SIM_SCENE_PERSON;
	bool saturated = false;
	u32 flags = BRHW_FRAME_DEPTH_VALID;
	s32 x, y;

	if (e->illum_state & BRHW_ILLUM_850) {
		flood_850 += SCENE_FLOOD;
		flood_940 += SCENE_XTALK;
	}
	if (e->illum_state & BRHW_ILLUM_940) {
		flood_940 += SCENE_FLOOD;
		flood_850 += SCENE_XTALK;
	}
	if (has_face)
		scene_face_place(&face, s->person, e);

	for (y = 0; y < e->height; y++) {
		for (x = 0; x < e->width; x++) {
			u64 r = sim_prng_next(e->rng);
			u32 i = (u32)y * e->width + x;
			u32 shade, refl_850, refl_940, inv2;
			s32 z, dn;

			if (has_face &&
			    scene_face_at(&face, x - face.cx, y - face.cy,
					  &z, &shade)) {
				refl_850 = face.refl_850;
				refl_940 = face.refl_940;
				dn = scene_noise8(r >> 16) / 4;
			} else {
				z = SCENE_WALL_MM +
				    SCENE_WALL_TILT_MM * x / e->width;
				shade = 256;
				refl_850 = SCENE_WALL_REFL;
				refl_940 = SCENE_WALL_REFL;
				dn = scene_noise8(r >> 16);
			}
			inv2 = (SCENE_REF_MM * SCENE_REF_MM * 256U) /
			       ((u32)z * (u32)z);
			p850[i] = scene_nir(refl_850, flood_850, shade, inv2,
					    scene_noise8(r), &saturated);
			p940[i] = scene_nir(refl_940, flood_940, shade, inv2,
					    scene_noise8(r >> 8), &saturated);
			/* About one pixel in 1024 has no depth. */
			if (!((r >> 32) & 1023))
				z = 0;
			else
				z = clamp_t(s32, z + dn, 1, U16_MAX);
			depth[i] = cpu_to_le16((u16)z);
		}
	}

	memset(hdr->embedding, 0, sizeof(hdr->embedding));
	if (has_face) {
		s32 x0 = clamp_t(s32, face.cx - face.a, 0, e->width - 1);
		s32 y0 = clamp_t(s32, face.cy - face.b, 0, e->height - 1);
		s32 x1 = clamp_t(s32, face.cx + face.a, 0, e->width - 1);
		s32 y1 = clamp_t(s32, face.cy + face.b, 0, e->height - 1);

		flags |= BRHW_FRAME_FACE;
		hdr->face_x = cpu_to_le16(x0);
		hdr->face_y = cpu_to_le16(y0);
		hdr->face_w = cpu_to_le16(x1 - x0 + 1);
		hdr->face_h = cpu_to_le16(y1 - y0 + 1);
		sim_identity_sample(s->person, e->rng, SCENE_EMB_NOISE_PCT,
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
