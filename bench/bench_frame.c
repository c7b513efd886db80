// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-frame cost of the driver's pipeline, natively, against the cost of
 * copying the same frame once with memcpy(), measured in the same run.
 *
 *   pipeline = validation (structure; the 32 x 32 lattice of the face box
 *              gathered from the buffer into private memory; keyed
 *              BLAKE2s MAC over header and lattice; sequence, time)
 *              + liveness (from the lattice) + matching
 *              + the decisions the driver takes after every frame
 *              (liveness, matching, fusion)
 *
 * The MAC is the reader's answer to frame injection and covers every
 * byte any decision reads (frame format 2, docs/hardware.md); gathering
 * and MAC are also reported on their own.  The native MAC is OpenSSL's
 * portable BLAKE2s, the module uses the kernel's.  The lattice has a
 * fixed size, so the cost does not depend on the face box: the scene
 * argument lets the worst case (the closest face, the largest box) be
 * measured too.
 *
 * Also: the latency from the last frame a decision needs to the verdict
 * (the fusion of liveness and matching once the last frame is in).
 *
 * Usage: bench_frame [WIDTH HEIGHT [SECONDS_PER_MEASUREMENT [SCENE]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "algo/bio_liveness.h"
#include "sim/sim_identity.h"
#include "sim/sim_scene.h"

#define NFRAMES 32

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static u8 *frames[NFRAMES];
static u8 illum[NFRAMES];
static size_t fsize;
static struct bio_frame_geom geom;
static u8 key[BIO_MAC_KEY_SIZE];
static struct bio_template tpl;
static volatile u64 sink;

static struct bio_lattice lat;

static void render(const char *text)
{
	struct sim_scene sc;
	u64 rng = 1;
	u32 i;

	if (sim_scene_parse(&sc, text, strlen(text))) {
		fprintf(stderr, "scene text rejected\n");
		exit(1);
	}
	for (i = 0; i < NFRAMES; i++) {
		struct sim_exposure e = {
			.width = geom.width, .height = geom.height,
			.emb_dim = geom.emb_dim, .seq = i,
			.illum_len = BRHW_ILLUM_MAX_LEN,
			.timestamp_ns = 1000000ULL + i * 16666666ULL,
			.rng = &rng,
		};

		frames[i] = aligned_alloc(64, (fsize + 63) & ~(size_t)63);
		if (!frames[i])
			exit(1);
		illum[i] = (u8)((i * 7 + 1) & 3);
		e.illum_state = illum[i];
		sim_frame_render(&sc, &e, frames[i]);
		bio_frame_sign(key, frames[i], fsize, &lat);
	}
}

/* Runs @fn over the frames for about @secs; returns seconds per frame. */
static double measure(double secs, int (*fn)(u32 i))
{
	double t0 = now_s(), t;
	u64 n = 0;

	do {
		u32 i;

		for (i = 0; i < NFRAMES; i++)
			if (fn(i)) {
				fprintf(stderr, "frame %u failed\n", i);
				exit(1);
			}
		n += NFRAMES;
		t = now_s();
	} while (t - t0 < secs);
	return (t - t0) / (double)n;
}

static u8 *copy_dst;

static int do_memcpy(u32 i)
{
	memcpy(copy_dst, frames[i], fsize);
	sink += copy_dst[fsize / 2];
	return 0;
}

static struct bio_frame_check fc;
static struct bio_live live;
static struct bio_match_agg agg;
static struct brhw_frame_hdr hdr;
static enum bio_live_decision last_ld;

/* What the driver does after every frame: decide, and fuse. */
static void decide(void)
{
	struct bio_verdict_parts v;
	u32 cls;

	last_ld = bio_live_decide(&live, &cls);
	sink += bio_session_decide(bio_match_decide(&agg, 5, 18022), last_ld,
				   cls, bio_quality_reason(&live.q), true, false,
				   &v);
}

static int do_pipeline(u32 i)
{
	if (i == 0) {
		bio_frame_check_init(&fc, key, 0);
		bio_live_init(&live, BIOREADER_SECLEVEL_MEDIUM);
		memset(&agg, 0, sizeof(agg));
	}
	if (bio_frame_validate(&geom, &fc, frames[i], fsize, &hdr, &lat) !=
	    BIO_FRAME_OK)
		return 1;
	bio_live_add(&live, &hdr, &lat, i, illum[i]);
	if (le32_to_cpu(hdr.flags) & BRHW_FRAME_FACE)
		bio_match_agg_add(&agg, bio_match_similarity(&tpl, hdr.embedding));
	decide();
	return 0;
}

/* What validation adds to the structure checks: gather, then MAC. */
static int do_mac(u32 i)
{
	u8 mac[BIO_MAC_SIZE];
	u32 n;

	n = bio_lattice_gather((const void *)frames[i], geom.width, geom.height,
			       frames[i] + BRHW_FRAME_HDR_SIZE, &lat);
	bio_mac2(key, frames[i], BRHW_FRAME_MAC_OFFSET, &lat, n, mac);
	sink += mac[0];
	return 0;
}

static int do_liveness_matching(u32 i)
{
	const struct brhw_frame_hdr *h = (const void *)frames[i];

	if (i == 0) {
		bio_live_init(&live, BIOREADER_SECLEVEL_MEDIUM);
		memset(&agg, 0, sizeof(agg));
		/* Liveness alone: the lattice as validation left it. */
		bio_lattice_gather(h, geom.width, geom.height,
				   frames[i] + BRHW_FRAME_HDR_SIZE, &lat);
	}
	bio_live_add(&live, h, &lat, i, illum[i]);
	bio_match_agg_add(&agg, bio_match_similarity(&tpl, h->embedding));
	decide();
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 3 ? atof(argv[3]) : 1.0;
	const char *scene = argc > 4 ? argv[4] : "person 42";
	const struct brhw_frame_hdr *h0;
	double t_copy, t_pipe, t_mac, t_lm, t_dec;
	u8 tbuf[BIOREADER_TEMPLATE_HDR_SIZE + BRHW_EMB_MAX];
	size_t tlen;
	struct bio_verdict_parts v;
	u32 cls = 0, k, reps = 200000;
	size_t i;

	geom.width = argc > 2 ? (u16)atoi(argv[1]) : 640;
	geom.height = argc > 2 ? (u16)atoi(argv[2]) : 480;
	geom.emb_dim = 128;
	geom.frame_size = BRHW_FRAME_SIZE(geom.width, geom.height);
	fsize = geom.frame_size;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (u8)(i * 13 + 1);

	tlen = sim_identity_template(42, 128, tbuf, sizeof(tbuf));
	if (!tlen || bio_template_parse(&tpl, tbuf, tlen, 128))
		return 1;

	render(scene);
	h0 = (const void *)frames[0];
	copy_dst = aligned_alloc(64, (fsize + 63) & ~(size_t)63);
	if (!copy_dst)
		return 1;
	memset(copy_dst, 1, fsize);

	/* Warm up, then measure, interleaving so both see the same machine. */
	measure(secs / 4, do_memcpy);
	measure(secs / 4, do_pipeline);
	t_copy = measure(secs, do_memcpy);
	t_pipe = measure(secs, do_pipeline);
	t_mac = measure(secs, do_mac);
	t_lm = measure(secs, do_liveness_matching);
	t_copy = (t_copy + measure(secs, do_memcpy)) / 2;

	/*
	 * Latency: everything after the last needed frame is in, on the
	 * state the real frames leave (the liveness-alone loop above feeds
	 * one lattice over and over).
	 */
	for (k = 0; k < NFRAMES; k++)
		if (do_pipeline(k))
			return 1;
	{
		double t0 = now_s();

		for (k = 0; k < reps; k++) {
			enum bio_live_decision ld = last_ld = bio_live_decide(&live, &cls);
			enum bio_match_decision md = bio_match_decide(&agg, 5, 18022);

			sink += bio_session_decide(md, ld, cls,
						   bio_quality_reason(&live.q),
						   true, false, &v);
		}
		t_dec = (now_s() - t0) / reps;
	}

	printf("bench_frame: %ux%u frame, %zu bytes (header + 2 NIR planes + depth), '%s', face box %ux%u\n",
	       geom.width, geom.height, fsize, scene, le16_to_cpu(h0->face_w),
	       le16_to_cpu(h0->face_h));
	printf("  memcpy of one frame (reference)   %9.1f us   %8.0f frames/s\n",
	       t_copy * 1e6, 1 / t_copy);
	printf("  pipeline: validate+liveness+match %9.1f us   %8.0f frames/s per core   ratio %.2f\n",
	       t_pipe * 1e6, 1 / t_pipe, t_pipe / t_copy);
	printf("    of which gather + MAC (4 KB)    %9.1f us                         ratio %.2f\n",
	       t_mac * 1e6, t_mac / t_copy);
	printf("    liveness + matching alone       %9.1f us   %8.0f frames/s per core   ratio %.2f\n",
	       t_lm * 1e6, 1 / t_lm, t_lm / t_copy);
	printf("  last frame -> verdict (fusion)    %9.3f us   (liveness decision %d class %u)\n",
	       t_dec * 1e6, (int)last_ld, cls);
	return sink == 0xdeadbeef;
}
