// SPDX-License-Identifier: GPL-2.0-only
/*
 * Native replay of a session: the simulated device and the driver's
 * per-frame pipeline, frame by frame (evsession.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evsession.h"
#include "sim/sim_identity.h"

#define EV_DEV_SALT	0x6465766963652121ULL
#define EV_OLD_SALT	0x6f6c647365737321ULL
#define EV_KEY_TIME	1000000000ULL

void ev_session_cfg_default(struct ev_session_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->security_level = BIOREADER_SECLEVEL_MEDIUM;
	c->frames_required = 5;
	c->width = 160;
	c->height = 120;
	c->emb_dim = 128;
	c->fps = 30;
	c->timeout_ms = 5000;
}

static uint64_t ev_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void ev_key(u64 *rng, uint8_t *key)
{
	int i;

	for (i = 0; i < BIO_MAC_KEY_SIZE; i += 8) {
		uint64_t v = sim_prng_next(rng);

		memcpy(key + i, &v, 8);
	}
}

/* What the simulated device does for one exposure (sim_engine.c). */
static void ev_render(const struct ev_session_cfg *c, uint8_t *buf,
		      const uint8_t *key, uint32_t seq, uint64_t ts,
		      uint8_t illum, u64 *dev_rng)
{
	struct brhw_frame_hdr *hdr = (struct brhw_frame_hdr *)buf;
	struct sim_exposure e = {
		.width = c->width,
		.height = c->height,
		.emb_dim = c->emb_dim,
		.illum_state = illum,
		.seq = seq,
		.rng = dev_rng,
	};

	memset(hdr, 0, sizeof(*hdr));
	hdr->magic = cpu_to_le32(BRHW_FRAME_MAGIC);
	hdr->version = cpu_to_le16(BRHW_FRAME_VERSION);
	hdr->hdr_len = cpu_to_le16(BRHW_FRAME_HDR_SIZE);
	hdr->seq = cpu_to_le32(seq);
	hdr->timestamp_ns = cpu_to_le64(ts);
	hdr->width = cpu_to_le16(c->width);
	hdr->height = cpu_to_le16(c->height);
	hdr->payload_len = cpu_to_le32(BRHW_PAYLOAD_LEN(c->width, c->height));
	hdr->illum_state = illum;
	hdr->illum_index = seq % BRHW_ILLUM_MAX_LEN;
	hdr->emb_format = BRHW_EMB_FMT_INT8_L2;
	hdr->emb_dim = cpu_to_le16(c->emb_dim);
	sim_scene_render(&c->scene, &e, hdr, buf + BRHW_FRAME_HDR_SIZE);
	bio_frame_sign(key, buf);
}

static int ev_template(uint64_t id, uint16_t dim, struct bio_template *t)
{
	uint8_t raw[BIOREADER_TEMPLATE_HDR_SIZE + BRHW_EMB_MAX];
	size_t len = sim_identity_template(id, dim, raw, sizeof(raw));

	return len ? bio_template_parse(t, raw, len, dim) : -EBADMSG;
}

int ev_session_run(const struct ev_session_cfg *c, struct ev_session_result *r)
{
	struct bio_frame_geom g = {
		.width = c->width,
		.height = c->height,
		.emb_dim = c->emb_dim,
		.frame_size = BRHW_FRAME_SIZE(c->width, c->height),
	};
	u64 rng = c->session_seed, dev_rng, old_rng;
	uint64_t period;
	uint32_t illum[BRHW_ILLUM_WORDS], seq, max_frames, face_frames = 0;
	uint8_t key[BIO_MAC_KEY_SIZE], old_key[BIO_MAC_KEY_SIZE];
	struct brhw_frame_hdr hdr;
	struct bio_frame_check fc;
	struct bio_match_agg agg;
	struct bio_template tpl;
	struct bio_live *live;
	uint8_t *buf, *prev;
	uint64_t prev_ts = 0;
	s32 threshold;
	int i, ret = 0;

	memset(r, 0, sizeof(*r));
	buf = aligned_alloc(64, (g.frame_size + 63) & ~63U);
	prev = aligned_alloc(64, (g.frame_size + 63) & ~63U);
	live = malloc(sizeof(*live));
	if (!buf || !prev || !live) {
		ret = -1;
		goto out;
	}

	/* The driver's session start. */
	ev_key(&rng, key);
	for (i = 0; i < BRHW_ILLUM_WORDS; i++)
		illum[i] = (uint32_t)sim_prng_next(&rng);
	dev_rng = c->session_seed ^ EV_DEV_SALT;
	old_rng = c->session_seed ^ EV_OLD_SALT;
	ev_key(&old_rng, old_key);
	if (ev_template(c->template_id, c->emb_dim, &tpl)) {
		ret = -1;
		goto out;
	}
	bio_frame_check_init(&fc, key, EV_KEY_TIME);
	bio_live_init(live, c->security_level);
	memset(&agg, 0, sizeof(agg));
	threshold = bio_match_threshold(c->security_level);
	period = 1000000000ULL / (c->fps ? c->fps : 30);
	max_frames = (uint64_t)c->timeout_ms * c->fps / 1000;

	for (seq = 0; seq < max_frames; seq++) {
		uint8_t state = bio_live_pattern_state(illum, seq);
		uint64_t ts = EV_KEY_TIME + (seq + 1) * period, t0;
		enum bio_frame_result fr;
		enum bio_match_decision md;
		enum bio_live_decision ld;
		u32 cls;
		bool injected = c->inject && seq == c->inject_at;

		if (injected && c->inject == EV_INJECT_SEQ_REPEAT && seq) {
			memcpy(buf, prev, g.frame_size);
		} else {
			uint32_t fseq = seq;
			const uint8_t *k = key;

			if (injected && c->inject == EV_INJECT_SEQ_SKIP)
				fseq = seq + 1;
			if (injected && c->inject == EV_INJECT_TIME_BACK)
				ts = prev_ts ? prev_ts - 1 : EV_KEY_TIME - 1;
			if (injected && c->inject == EV_INJECT_REPLAY)
				k = old_key;
			ev_render(c, buf, k, fseq, ts,
				  bio_live_pattern_state(illum, fseq), &dev_rng);
			if (injected && c->inject == EV_INJECT_BAD_MAC)
				buf[BRHW_FRAME_HDR_SIZE + g.frame_size / 3 - 7] ^= 0x40;
			if (injected && c->inject == EV_INJECT_NO_MAC)
				memset(((struct brhw_frame_hdr *)buf)->mac, 0,
				       BRHW_MAC_SIZE);
		}
		r->frames++;

		t0 = ev_now_ns();
		fr = bio_frame_validate(&g, &fc, buf, g.frame_size, &hdr);
		if (fr == BIO_FRAME_OK && hdr.illum_state != state)
			fr = BIO_FRAME_ERR_ILLUM;	/* not what was commanded */
		if (fr != BIO_FRAME_OK) {
			r->v.outcome = BIOREADER_OUTCOME_ATTACK;
			r->v.reason = BIOREADER_REASON_FRAME_INTEGRITY;
			r->v.attack_class = BIOREADER_ATTACK_INJECTION;
			r->ns_pipeline += ev_now_ns() - t0;
			goto done;
		}
		/* As br_session_frame() does. */
		bio_live_add(live, &g, &hdr, buf + BRHW_FRAME_HDR_SIZE, seq,
			     state);
		if (le32_to_cpu(hdr.flags) & BRHW_FRAME_FACE) {
			face_frames++;
			bio_match_agg_add(&agg, bio_match_similarity(&tpl,
								hdr.embedding));
		}
		md = bio_match_decide(&agg, c->frames_required, threshold);
		ld = bio_live_decide(live, &cls);
		r->ns_pipeline += ev_now_ns() - t0;
		if (face_frames && bio_session_decide(md, ld, cls, true, false, &r->v))
			goto done;
		/* Only a repeated frame needs the previous one. */
		if (c->inject == EV_INJECT_SEQ_REPEAT)
			memcpy(prev, buf, g.frame_size);
		prev_ts = ts;
	}
	r->v.outcome = BIOREADER_OUTCOME_TIMEOUT;
	r->v.reason = face_frames ? BIOREADER_REASON_NONE :
				    BIOREADER_REASON_NO_FACE;
done:
	if (live->frames) {
		bio_live_cues(live, &r->cues);
		r->cues_valid = true;
	}
out:
	if (live)
		bio_live_wipe(live);
	free(live);
	free(buf);
	free(prev);
	bio_frame_check_wipe(&fc);
	bio_wipe(key, sizeof(key));
	return ret;
}

const char *ev_outcome_name(uint32_t o)
{
	static const char * const n[] = {
		"none", "MATCH", "NO_MATCH", "ATTACK", "INCONCLUSIVE",
		"TIMEOUT", "ABORTED",
	};

	return o < sizeof(n) / sizeof(n[0]) ? n[o] : "?";
}

const char *ev_class_name(uint32_t cls)
{
	static const char * const n[] = {
		"none", "print", "replay", "mask", "injection",
	};

	return cls < sizeof(n) / sizeof(n[0]) ? n[cls] : "?";
}

const char *ev_inject_name(enum ev_inject k)
{
	static const char * const n[EV_INJECT_COUNT] = {
		"none", "bad_mac", "no_mac", "seq_skip", "seq_repeat",
		"time_back", "replay",
	};

	return (unsigned int)k < EV_INJECT_COUNT ? n[k] : "?";
}
