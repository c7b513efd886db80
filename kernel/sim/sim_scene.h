/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The simulated reader's scene model: what stands in front of the
 * sensor and how it looks in the two near-infrared bands and in depth
 * under the illumination the driver commanded for each frame.
 *
 * Shared source: built into bioreader_sim.ko and into the native
 * library (the evaluation tool renders the same frames).  Integer
 * arithmetic only, deterministic for a given scene and PRNG seed.
 * docs/liveness.md documents the species and their parameter ranges.
 */
#ifndef _BIOREADER_SIM_SCENE_H
#define _BIOREADER_SIM_SCENE_H

#include "../algo/bio_compat.h"
#include "../bioreader_hw.h"

enum sim_scene_kind {
	SIM_SCENE_EMPTY = 0,	/* nobody: the background only */
	SIM_SCENE_PERSON,	/* bona fide: a live person */
	SIM_SCENE_PRINT,	/* a printed photo of the person */
	SIM_SCENE_REPLAY,	/* a screen showing the person */
	SIM_SCENE_MASK,		/* a 3D mask of the person, worn */
	SIM_SCENE_KIND_COUNT
};

/* Ambient light. */
enum sim_light {
	SIM_LIGHT_INDOOR = 0,	/* office/shop light: little NIR */
	SIM_LIGHT_SUN,		/* NIR-rich sunlight through a window */
	SIM_LIGHT_FLICKER,	/* mains flicker aliased with the frame rate */
	SIM_LIGHT_NIR,		/* bright NIR: sun on the face through glass */
	SIM_LIGHT_MAINS100,	/* lamps on 50 Hz mains: 100 Hz ripple */
	SIM_LIGHT_MAINS120,	/* lamps on 60 Hz mains: 120 Hz ripple */
	SIM_LIGHT_HALOGEN,	/* halogen on mains: NIR-rich, shallow ripple */
	SIM_LIGHT_PWM,		/* PWM-dimmed LED: square wave, full depth */
	SIM_LIGHT_COUNT
};

enum sim_print_shape {
	SIM_PRINT_FLAT = 0,
	SIM_PRINT_BENT,		/* folded along the vertical midline */
	SIM_PRINT_CURVED,	/* wrapped around a cylinder */
	SIM_PRINT_SHAPE_COUNT
};

enum sim_display {
	SIM_DISPLAY_PHONE = 0,
	SIM_DISPLAY_TABLET,
	SIM_DISPLAY_MONITOR,
	SIM_DISPLAY_COUNT
};

/* Replay screen brightness, as the attacker set it. */
enum sim_screen {
	SIM_SCREEN_NATURAL = 0,	/* set to look like a face */
	SIM_SCREEN_DIM,		/* dimmed */
	SIM_SCREEN_BRIGHT,	/* full brightness */
	SIM_SCREEN_COUNT
};

enum sim_mask_material {
	SIM_MASK_RESIN = 0,	/* rigid, painted resin */
	SIM_MASK_SILICONE,	/* flexible silicone */
	SIM_MASK_SKINLIKE,	/* silicone with a NIR absorber: skin's ratio */
	SIM_MASK_MATERIAL_COUNT
};

/*
 * A scene.  Zero in a numeric field means "derived from the identity
 * and @var" (a stable trait of that person or artefact).
 */
struct sim_scene {
	enum sim_scene_kind kind;
	u64 person;		/* identity shown (and its embedding) */
	u64 var;		/* variant seed: draws within the ranges */
	u8 skin;		/* 1..6, lightest to darkest; 0: from id */
	u8 light;		/* enum sim_light */
	u8 glasses;		/* bona fide: wears glasses */
	u8 beard;		/* bona fide: has a beard */
	u16 dist_cm;		/* 20..100; 0: from id/var */
	s8 yaw;			/* head or artefact yaw, degrees, -45..45 */
	s8 pitch;		/* degrees, -30..30 */
	u8 motion;		/* 0..3: still .. restless (blur from 2) */
	u8 shape;		/* print: enum sim_print_shape */
	u8 glossy;		/* print: glossy paper */
	u8 holes;		/* print: eye holes cut out */
	u8 display;		/* replay: enum sim_display */
	u8 video;		/* replay: constant video, not a session */
	u8 material;		/* mask: enum sim_mask_material */
	/* Added with the extended corpus; zero keeps the earlier scene. */
	u8 cover;		/* bona fide: cloth mask over nose and mouth */
	u8 makeup;		/* bona fide: heavy foundation */
	u8 child;		/* bona fide: a child's smaller, flatter face */
	u8 walk;		/* bona fide: walking up to the reader */
	u8 partial;		/* mask: covers the upper face only */
	u8 screen;		/* replay: enum sim_screen */
};

/* Longest scene text accepted, newline included. */
#define SIM_SCENE_TEXT_MAX	160

/*
 * Parse a scene text (one trailing newline allowed):
 *
 *   empty
 *   person ID  [skin=1..6] [dist=20..100] [yaw=-45..45] [pitch=-30..30]
 *              [glasses] [beard] [cover] [makeup] [child] [walk]
 *              [light=L] [motion=0..3] [var=N]
 *   print ID   [flat|bent|curved] [matte|glossy] [holes] [angle=..]
 *              [dist=..] [light=L] [var=N]
 *   replay ID  [phone|tablet|monitor] [session|video] [dim|bright]
 *              [angle=..] [dist=..] [light=L] [var=N]
 *   mask ID    [resin|silicone|skinlike] [partial] [dist=..] [yaw=..]
 *              [light=L] [var=N]
 *
 * L: indoor, sun, flicker, nir, mains100, mains120, halogen, pwm.
 *
 * ID and N are u64 (decimal or 0x-hex).  Returns 0 or -EINVAL.
 */
int sim_scene_parse(struct sim_scene *s, const char *buf, size_t len);

/* Print @s in the form sim_scene_parse() reads, with a newline. */
int sim_scene_print(const struct sim_scene *s, char *buf, size_t size);

/* One exposure: what the device knows when it takes a frame. */
struct sim_exposure {
	u16 width;
	u16 height;
	u16 emb_dim;
	u8 illum_state;		/* BRHW_ILLUM_* */
	u32 seq;		/* frame number since KEY_LOAD */
	u32 illum_len;		/* ILLUM_LEN register, 1..64 */
	u64 timestamp_ns;	/* device clock at exposure */
	u64 *rng;		/* sensor-noise PRNG state */
};

/*
 * Render the scene-dependent parts of a frame: in @hdr the flags
 * (FACE, DEPTH_VALID, SATURATED), the face box and the embedding; and
 * the three planes of @payload (BRHW_PAYLOAD_LEN bytes).  The device
 * fills in the rest of the header.
 */
void sim_scene_render(const struct sim_scene *s, const struct sim_exposure *e,
		      struct brhw_frame_hdr *hdr, u8 *payload);

/*
 * Render a whole frame (BRHW_FRAME_SIZE bytes at @frame) as the device
 * delivers it, every header field filled in (docs/hardware.md, "Header")
 * but the MAC: sign it with bio_frame_sign().  The one place that knows
 * how the device fills a header, for the simulated device and the
 * native tools alike.
 */
void sim_frame_render(const struct sim_scene *s, const struct sim_exposure *e,
		      void *frame);

#endif /* _BIOREADER_SIM_SCENE_H */
