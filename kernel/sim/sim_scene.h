/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated reader's scene model: what stands in front of the
 * sensor and how it looks in the two near-infrared bands and in depth
 * under a given illumination.  Kept apart from the device model so that
 * it can grow (presentation attacks, liveness cues) on its own.
 */
#ifndef _BIOREADER_SIM_SCENE_H
#define _BIOREADER_SIM_SCENE_H

#include <linux/types.h>

#include "../bioreader_hw.h"

enum sim_scene_kind {
	SIM_SCENE_EMPTY = 0,	/* nobody: the background only */
	SIM_SCENE_PERSON,	/* a live person of identity @person */
};

struct sim_scene {
	enum sim_scene_kind kind;
	u64 person;
};

/* Longest scene text accepted, newline included. */
#define SIM_SCENE_TEXT_MAX	64

/*
 * Parse "empty" or "person <id>" (id a u64, decimal or 0x-hex); one
 * trailing newline is allowed.  Returns 0 or -EINVAL.
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

#endif /* _BIOREADER_SIM_SCENE_H */
