/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Frame validation: every frame the device delivers is checked here
 * before any of its contents is used (docs/hardware.md, "Frame format").
 */
#ifndef _BIO_FRAME_H
#define _BIO_FRAME_H

#include "bio_compat.h"
#include "../bioreader_hw.h"

/* What the driver learned from the device's registers at probe. */
struct bio_frame_geom {
	u16 width;
	u16 height;
	u16 emb_dim;
	u32 frame_size;		/* BRHW_FRAME_SIZE(width, height) */
};

/*
 * Per-session validation state.  Reset with bio_frame_check_init() each
 * time a new MAC key is loaded.
 */
struct bio_frame_check {
	u8 key[BIO_MAC_KEY_SIZE]; /* session MAC key: secret, wipe it */
	u32 next_seq;		/* seq the next frame must carry */
	u64 last_ts;		/* timestamp of the last accepted frame */
	u64 min_ts;		/* device clock at KEY_LOAD */
};

enum bio_frame_result {
	BIO_FRAME_OK = 0,
	BIO_FRAME_ERR_SHORT,	/* buffer/bytes_written shorter than a frame */
	BIO_FRAME_ERR_MAGIC,
	BIO_FRAME_ERR_VERSION,
	BIO_FRAME_ERR_GEOMETRY,	/* width/height/payload_len/hdr_len mismatch */
	BIO_FRAME_ERR_EMB,	/* face flagged but embedding format/dim bad */
	BIO_FRAME_ERR_MAC,
	BIO_FRAME_ERR_SEQ,	/* gap, repeat or reorder */
	BIO_FRAME_ERR_TIME,	/* timestamp not after the previous frame */
	BIO_FRAME_ERR_ILLUM,	/* not lit as commanded (checked by the caller) */
	BIO_FRAME_ERR_COUNT
};

void bio_frame_check_init(struct bio_frame_check *fc, const u8 *key,
			  u64 key_time_ns);
/* Wipes the key and the state. */
void bio_frame_check_wipe(struct bio_frame_check *fc);

/*
 * Validate one delivered frame of @len bytes at @buf (8-byte aligned).
 *
 * The header is first copied to @hdr, caller-private memory, and every
 * check and the MAC are computed on that copy: a bus master that rewrites
 * the DMA buffer after the check cannot change the header fields or the
 * embedding the caller goes on to use.  Use only @hdr afterwards (and
 * wipe it: it holds the embedding).  The MAC is checked before sequence
 * and time, so a forged frame cannot move the state; the state advances
 * only on BIO_FRAME_OK.
 */
enum bio_frame_result bio_frame_validate(const struct bio_frame_geom *g,
					 struct bio_frame_check *fc,
					 const void *buf, size_t len,
					 struct brhw_frame_hdr *hdr);

/* Fill in hdr->mac for a frame (used by the simulated device). */
void bio_frame_sign(const u8 key[BIO_MAC_KEY_SIZE], void *buf);

const char *bio_frame_result_name(enum bio_frame_result r);

#endif /* _BIO_FRAME_H */
