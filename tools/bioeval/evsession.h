/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Native replay of one session as the reader and the driver run it:
 * the simulated device renders and signs each frame (kernel/sim/
 * sim_scene.c, kernel/algo/bio_frame_sign.c) under the session's
 * illumination pattern, and the driver's code validates it, feeds
 * liveness and matching and fuses the verdict (kernel/algo/).  The only
 * difference from the module is where the randomness comes from: the
 * session key and the pattern are drawn from @session_seed here, from
 * the kernel CSPRNG there.
 */
#ifndef _EVSESSION_H
#define _EVSESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "algo/bio_liveness.h"
#include "sim/sim_scene.h"

/* Frame-integrity attacks (the "injection" species). */
enum ev_inject {
	EV_INJECT_NONE = 0,
	EV_INJECT_BAD_MAC,	/* a frame forged without the key */
	EV_INJECT_NO_MAC,	/* a frame with its MAC zeroed */
	EV_INJECT_SEQ_SKIP,	/* one frame suppressed on the bus */
	EV_INJECT_SEQ_REPEAT,	/* one frame delivered twice */
	EV_INJECT_TIME_BACK,	/* a timestamp out of order */
	EV_INJECT_REPLAY,	/* a frame of an earlier session */
	EV_INJECT_COUNT
};

struct ev_session_cfg {
	struct sim_scene scene;
	uint64_t template_id;	/* the ID card's identity */
	uint64_t session_seed;	/* key, pattern, device noise */
	uint32_t security_level;
	uint32_t frames_required;	/* matching, policy default 5 */
	uint16_t width, height, emb_dim;
	uint32_t fps;
	uint32_t timeout_ms;
	enum ev_inject inject;
	uint32_t inject_at;	/* frame number the injection hits */
};

struct ev_session_result {
	struct bio_verdict_parts v;	/* TIMEOUT when nothing ended it */
	uint32_t frames;		/* frames delivered until the verdict */
	struct bio_live_cues cues;	/* evaluation only */
	bool cues_valid;
	uint64_t ns_pipeline;		/* validation + liveness + matching */
};

void ev_session_cfg_default(struct ev_session_cfg *c);
/* 0, or -1 if out of memory. */
int ev_session_run(const struct ev_session_cfg *c, struct ev_session_result *r);

/* What the driver took from the policy and the request at session start. */
struct ev_replay_policy {
	uint64_t template_id;		/* the ID card's identity */
	uint16_t emb_dim;
	uint32_t security_level;	/* max(request, policy) */
	uint32_t frames_required;
	bool allow_no_liveness;
};

/*
 * Replay a session captured by the simulated reader (debugfs capture,
 * kernel/sim/sim_capture.h): its frames, byte for byte, through the same
 * per-frame code as ev_session_run(), under the captured key and
 * pattern.  r->frames counts the frames used up to the verdict; without
 * one the verdict is the driver's TIMEOUT.  0, or -1 for a malformed
 * capture or no memory.
 */
int ev_replay_run(const void *cap, size_t len, const struct ev_replay_policy *p,
		  struct ev_session_result *r);

const char *ev_outcome_name(uint32_t outcome);
const char *ev_class_name(uint32_t cls);
const char *ev_inject_name(enum ev_inject k);

#endif /* _EVSESSION_H */
