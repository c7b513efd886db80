// SPDX-License-Identifier: GPL-2.0-only
/*
 * Native replay of a session: the simulated device and the driver's
 * per-frame pipeline, frame by frame (evsession.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evsession.h"
#include "sim/sim_capture.h"
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
		      size_t len, const uint8_t *key, uint32_t seq,
		      uint64_t ts, uint8_t illum, u64 *dev_rng,
		      struct bio_lattice *lat)
{
	struct sim_exposure e = {
		.width = c->width,
		.height = c->height,
		.emb_dim = c->emb_dim,
		.illum_state = illum,
		.seq = seq,
		/* The driver programs the whole pattern (bioreader_ring.c). */
		.illum_len = BRHW_ILLUM_MAX_LEN,
		.timestamp_ns = ts,
		.rng = dev_rng,
	};

	sim_frame_render(&c->scene, &e, buf);
	bio_frame_sign(key, buf, len, lat);
}

/*
 * A frame forged on the bus: one lattice sample (covered by the MAC)
 * changed after signing; without a face, a MAC bit.
 */
static void ev_forge(uint8_t *buf, uint16_t w, uint16_t h)
{
	struct brhw_frame_hdr *hdr = (struct brhw_frame_hdr *)buf;
	struct bio_lattice_pos pos;

	if (!bio_lattice_pos(hdr, w, h, &pos)) {
		hdr->mac[0] ^= 0x01;
		return;
	}
	buf[BRHW_FRAME_HDR_SIZE + pos.y[BRHW_LAT_N / 2] * w +
	    pos.x[BRHW_LAT_N / 2]] ^= 0x40;
}

static int ev_template(uint64_t id, uint16_t dim, struct bio_template *t)
{
	uint8_t raw[BIOREADER_TEMPLATE_HDR_SIZE + BRHW_EMB_MAX];
	size_t len = sim_identity_template(id, dim, raw, sizeof(raw));

	return len ? bio_template_parse(t, raw, len, dim) : -EBADMSG;
}

/* The driver's per-session state, as in struct br_session. */
struct ev_pipe {
	struct bio_frame_geom g;
	struct bio_frame_check fc;
	struct bio_live live;
	struct bio_match_agg agg;
	struct bio_template tpl;
	struct brhw_frame_hdr hdr;
	struct bio_lattice lat;
	uint32_t illum[BRHW_ILLUM_WORDS];
	s32 threshold;
	uint32_t frames_required;
	bool allow_no_liveness;
	uint32_t face_frames;
};

static struct ev_pipe *ev_pipe_new(uint16_t w, uint16_t h, uint16_t dim,
				   const uint8_t *key, uint64_t key_time,
				   const uint32_t *illum, uint64_t template_id,
				   uint32_t level, uint32_t frames_required,
				   bool allow_no_liveness)
{
	struct ev_pipe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->g.width = w;
	p->g.height = h;
	p->g.emb_dim = dim;
	p->g.frame_size = BRHW_FRAME_SIZE(w, h);
	if (ev_template(template_id, dim, &p->tpl)) {
		free(p);
		return NULL;
	}
	bio_frame_check_init(&p->fc, key, key_time);
	bio_live_init(&p->live, level);
	memcpy(p->illum, illum, sizeof(p->illum));
	p->threshold = bio_match_threshold(level);
	p->frames_required = frames_required;
	p->allow_no_liveness = allow_no_liveness;
	return p;
}

static void ev_pipe_free(struct ev_pipe *p)
{
	if (!p)
		return;
	bio_live_wipe(&p->live);
	bio_frame_check_wipe(&p->fc);
	bio_wipe(p, sizeof(*p));
	free(p);
}

/*
 * One delivered frame, exactly as br_session_frame() handles it (on a
 * reader with liveness).  True when the session ends with @v.
 */
static bool ev_pipe_frame(struct ev_pipe *p, const uint8_t *buf, size_t len,
			  struct bio_verdict_parts *v)
{
	const struct brhw_frame_hdr *h = &p->hdr;
	enum bio_frame_result fr;
	enum bio_match_decision md;
	enum bio_live_decision ld;
	u32 seq, cls = BIOREADER_ATTACK_NONE;
	u8 state;

	fr = bio_frame_validate(&p->g, &p->fc, buf, len, &p->hdr, &p->lat);
	seq = le32_to_cpu(h->seq);
	state = bio_live_pattern_state(p->illum, seq);
	if (fr == BIO_FRAME_OK && h->illum_state != state)
		fr = BIO_FRAME_ERR_ILLUM;	/* not what was commanded */
	if (fr != BIO_FRAME_OK) {
		memset(v, 0, sizeof(*v));
		v->outcome = BIOREADER_OUTCOME_ATTACK;
		v->reason = BIOREADER_REASON_FRAME_INTEGRITY;
		v->attack_class = BIOREADER_ATTACK_INJECTION;
		return true;
	}
	bio_live_add(&p->live, h, &p->lat, seq, state);
	if (le32_to_cpu(h->flags) & BRHW_FRAME_FACE) {
		p->face_frames++;
		bio_match_agg_add(&p->agg, bio_match_similarity(&p->tpl,
								h->embedding));
	}
	if (!p->face_frames)
		return false;
	md = bio_match_decide(&p->agg, p->frames_required, p->threshold);
	ld = bio_live_decide(&p->live, &cls);
	return bio_session_decide(md, ld, cls, bio_quality_reason(&p->live.q),
				  true, p->allow_no_liveness, v);
}

/* No verdict from the frames: what the driver's timeout says. */
static void ev_pipe_timeout(const struct ev_pipe *p, struct bio_verdict_parts *v)
{
	memset(v, 0, sizeof(*v));
	v->outcome = BIOREADER_OUTCOME_TIMEOUT;
	v->reason = p->face_frames ? BIOREADER_REASON_NONE :
				     BIOREADER_REASON_NO_FACE;
}

static void ev_pipe_cues(const struct ev_pipe *p, struct ev_session_result *r)
{
	if (p->live.frames) {
		bio_live_cues(&p->live, &r->cues);
		r->cues_valid = true;
	}
}

int ev_session_run(const struct ev_session_cfg *c, struct ev_session_result *r)
{
	size_t fsize = BRHW_FRAME_SIZE(c->width, c->height);
	u64 rng = c->session_seed, dev_rng, old_rng;
	uint64_t period;
	uint32_t illum[BRHW_ILLUM_WORDS], seq, max_frames;
	uint8_t key[BIO_MAC_KEY_SIZE], old_key[BIO_MAC_KEY_SIZE];
	struct bio_lattice *lat;
	struct ev_pipe *p = NULL;
	uint8_t *buf, *prev;
	uint64_t prev_ts = 0;
	int i, ret = 0;

	memset(r, 0, sizeof(*r));
	buf = aligned_alloc(64, (fsize + 63) & ~(size_t)63);
	prev = aligned_alloc(64, (fsize + 63) & ~(size_t)63);
	lat = malloc(sizeof(*lat));
	if (!buf || !prev || !lat) {
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
	p = ev_pipe_new(c->width, c->height, c->emb_dim, key, EV_KEY_TIME,
			illum, c->template_id, c->security_level,
			c->frames_required, false);
	if (!p) {
		ret = -1;
		goto out;
	}
	period = 1000000000ULL / (c->fps ? c->fps : 30);
	max_frames = (uint64_t)c->timeout_ms * c->fps / 1000;

	for (seq = 0; seq < max_frames; seq++) {
		uint64_t ts = EV_KEY_TIME + (seq + 1) * period, t0;
		bool injected = c->inject && seq == c->inject_at, done;

		if (injected && c->inject == EV_INJECT_SEQ_REPEAT && seq) {
			memcpy(buf, prev, fsize);
		} else {
			uint32_t fseq = seq;
			const uint8_t *k = key;

			if (injected && c->inject == EV_INJECT_SEQ_SKIP)
				fseq = seq + 1;
			if (injected && c->inject == EV_INJECT_TIME_BACK)
				ts = prev_ts ? prev_ts - 1 : EV_KEY_TIME - 1;
			if (injected && c->inject == EV_INJECT_REPLAY)
				k = old_key;
			ev_render(c, buf, fsize, k, fseq, ts,
				  bio_live_pattern_state(illum, fseq), &dev_rng,
				  lat);
			if (injected && c->inject == EV_INJECT_BAD_MAC)
				ev_forge(buf, c->width, c->height);
			if (injected && c->inject == EV_INJECT_NO_MAC)
				memset(((struct brhw_frame_hdr *)buf)->mac, 0,
				       BRHW_MAC_SIZE);
		}
		r->frames++;

		t0 = ev_now_ns();
		done = ev_pipe_frame(p, buf, fsize, &r->v);
		r->ns_pipeline += ev_now_ns() - t0;
		if (done)
			goto done;
		/* Only a repeated frame needs the previous one. */
		if (c->inject == EV_INJECT_SEQ_REPEAT)
			memcpy(prev, buf, fsize);
		prev_ts = ts;
	}
	ev_pipe_timeout(p, &r->v);
done:
	ev_pipe_cues(p, r);
out:
	ev_pipe_free(p);
	free(lat);
	free(buf);
	free(prev);
	bio_wipe(key, sizeof(key));
	bio_wipe(old_key, sizeof(old_key));
	return ret;
}

int ev_replay_run(const void *cap, size_t len, const struct ev_replay_policy *pol,
		  struct ev_session_result *r)
{
	const struct sim_capture_hdr *h = cap;
	const uint8_t *frames = (const uint8_t *)cap + sizeof(*h);
	uint32_t illum[BRHW_ILLUM_WORDS], n, fsize, i;
	struct ev_pipe *p;
	uint8_t *buf;
	uint16_t w, ht;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(*h) || le32_to_cpu(h->magic) != SIM_CAP_MAGIC ||
	    le16_to_cpu(h->version) != SIM_CAP_VERSION ||
	    le16_to_cpu(h->hdr_len) != sizeof(*h))
		return -1;
	w = le16_to_cpu(h->width);
	ht = le16_to_cpu(h->height);
	fsize = le32_to_cpu(h->frame_size);
	n = le32_to_cpu(h->nframes);
	if (!w || !ht || fsize != BRHW_FRAME_SIZE(w, ht) ||
	    (len - sizeof(*h)) / fsize < n)
		return -1;
	for (i = 0; i < BRHW_ILLUM_WORDS; i++)
		illum[i] = le32_to_cpu(h->illum[i]);
	p = ev_pipe_new(w, ht, pol->emb_dim, h->key,
			le64_to_cpu(h->key_time_ns), illum, pol->template_id,
			pol->security_level, pol->frames_required,
			pol->allow_no_liveness);
	/* Each frame into an aligned buffer, as the driver's DMA buffers are. */
	buf = aligned_alloc(64, ((size_t)fsize + 63) & ~(size_t)63);
	if (!p || !buf) {
		ev_pipe_free(p);
		free(buf);
		return -1;
	}
	for (i = 0; i < n; i++) {
		r->frames++;
		memcpy(buf, frames + (size_t)i * fsize, fsize);
		if (ev_pipe_frame(p, buf, fsize, &r->v))
			goto done;
	}
	ev_pipe_timeout(p, &r->v);
done:
	ev_pipe_cues(p, r);
	ev_pipe_free(p);
	bio_wipe(buf, fsize);
	free(buf);
	return 0;
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
