// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-frame cost of the driver's pipeline, natively, against the cost of
 * copying the same frame once with memcpy(), measured in the same run.
 *
 *   pipeline = validation (structure, keyed BLAKE2s MAC over header and
 *              all planes, sequence, time) + liveness + matching
 *
 * The MAC is the reader's answer to frame injection and must cover
 * every byte liveness reads, so it is reported both inside the pipeline
 * and on its own; the native MAC is OpenSSL's portable BLAKE2s, the
 * module uses the kernel's (SSSE3/AVX-512 where the CPU has them).
 *
 * Also: the latency from the last frame a decision needs to the verdict
 * (the fusion of liveness and matching once the last frame is in).
 *
 * Usage: bench_frame [WIDTH HEIGHT [SECONDS_PER_MEASUREMENT]]
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

static void render(void)
{
	struct sim_scene sc;
	u64 rng = 1;
	u32 i;
	static const char text[] = "person 42";

	if (sim_scene_parse(&sc, text, sizeof(text) - 1)) {
		fprintf(stderr, "scene text rejected\n");
		exit(1);
	}
	for (i = 0; i < NFRAMES; i++) {
		struct brhw_frame_hdr *h;
		struct sim_exposure e = {
			.width = geom.width, .height = geom.height,
			.emb_dim = geom.emb_dim, .seq = i, .rng = &rng,
		};

		frames[i] = aligned_alloc(64, (fsize + 63) & ~(size_t)63);
		if (!frames[i])
			exit(1);
		memset(frames[i], 0, fsize);
		illum[i] = (u8)((i * 7 + 1) & 3);
		e.illum_state = illum[i];
		h = (struct brhw_frame_hdr *)frames[i];
		sim_scene_render(&sc, &e, h, frames[i] + BRHW_FRAME_HDR_SIZE);
		h->magic = cpu_to_le32(BRHW_FRAME_MAGIC);
		h->version = cpu_to_le16(BRHW_FRAME_VERSION);
		h->hdr_len = cpu_to_le16(BRHW_FRAME_HDR_SIZE);
		h->seq = cpu_to_le32(i);
		h->timestamp_ns = cpu_to_le64(1000000ULL + i * 16666666ULL);
		h->width = cpu_to_le16(geom.width);
		h->height = cpu_to_le16(geom.height);
		h->payload_len = cpu_to_le32(BRHW_PAYLOAD_LEN(geom.width, geom.height));
		h->illum_state = illum[i];
		h->illum_index = (u8)i;
		h->emb_format = BRHW_EMB_FMT_INT8_L2;
		h->emb_dim = cpu_to_le16(geom.emb_dim);
		bio_frame_sign(key, frames[i]);
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

static int do_pipeline(u32 i)
{
	if (i == 0) {
		bio_frame_check_init(&fc, key, 0);
		bio_live_init(&live, BIOREADER_SECLEVEL_MEDIUM);
		memset(&agg, 0, sizeof(agg));
	}
	if (bio_frame_validate(&geom, &fc, frames[i], fsize, &hdr) != BIO_FRAME_OK)
		return 1;
	bio_live_add(&live, &geom, &hdr, frames[i] + BRHW_FRAME_HDR_SIZE, i,
		     illum[i]);
	if (le32_to_cpu(hdr.flags) & BRHW_FRAME_FACE)
		bio_match_agg_add(&agg, bio_match_similarity(&tpl, hdr.embedding));
	return 0;
}

static int do_mac(u32 i)
{
	u8 mac[BIO_MAC_SIZE];

	bio_mac2(key, frames[i], BRHW_FRAME_MAC_OFFSET,
		 frames[i] + BRHW_FRAME_HDR_SIZE, fsize - BRHW_FRAME_HDR_SIZE, mac);
	sink += mac[0];
	return 0;
}

static int do_liveness_matching(u32 i)
{
	const struct brhw_frame_hdr *h = (const void *)frames[i];

	if (i == 0) {
		bio_live_init(&live, BIOREADER_SECLEVEL_MEDIUM);
		memset(&agg, 0, sizeof(agg));
	}
	bio_live_add(&live, &geom, h, frames[i] + BRHW_FRAME_HDR_SIZE, i, illum[i]);
	bio_match_agg_add(&agg, bio_match_similarity(&tpl, h->embedding));
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 3 ? atof(argv[3]) : 1.0;
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

	render();
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

	/* Latency: everything after the last needed frame is in. */
	{
		double t0 = now_s();

		for (k = 0; k < reps; k++) {
			enum bio_live_decision ld = bio_live_decide(&live, &cls);
			enum bio_match_decision md = bio_match_decide(&agg, 5, 18022);

			sink += bio_session_decide(md, ld, cls, true, false, &v);
		}
		t_dec = (now_s() - t0) / reps;
	}

	printf("bench_frame: %ux%u frame, %zu bytes (header + 2 NIR planes + depth)\n",
	       geom.width, geom.height, fsize);
	printf("  memcpy of one frame (reference)   %9.1f us   %8.0f frames/s\n",
	       t_copy * 1e6, 1 / t_copy);
	printf("  pipeline: validate+liveness+match %9.1f us   %8.0f frames/s per core   ratio %.2f\n",
	       t_pipe * 1e6, 1 / t_pipe, t_pipe / t_copy);
	printf("    of which the frame MAC          %9.1f us                         ratio %.2f\n",
	       t_mac * 1e6, t_mac / t_copy);
	printf("    liveness + matching alone       %9.1f us   %8.0f frames/s per core   ratio %.2f\n",
	       t_lm * 1e6, 1 / t_lm, t_lm / t_copy);
	printf("  last frame -> verdict (fusion)    %9.3f us\n", t_dec * 1e6);
	return sink == 0xdeadbeef;
}
