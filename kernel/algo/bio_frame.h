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

/*
 * The lattice samples of one frame (bioreader_hw.h, BRHW_LAT_*), in the
 * order the MAC covers them: private memory the validator fills from
 * the DMA buffer once, MACs, and hands to liveness.  Biometric: wipe it.
 */
struct bio_lattice {
	u8 nir_850[BRHW_LAT_POINTS];
	u8 nir_940[BRHW_LAT_POINTS];
	__le16 depth[BRHW_LAT_POINTS];
};

/* Coordinates of the lattice of a face box (pixels). */
struct bio_lattice_pos {
	u16 x[BRHW_LAT_N];
	u16 y[BRHW_LAT_N];
};

/*
 * The lattice of @h's face box in a @width x @height frame.  False when
 * @h has no face or its box does not lie inside the frame.
 */
bool bio_lattice_pos(const struct brhw_frame_hdr *h, u32 width, u32 height,
		     struct bio_lattice_pos *pos);

/*
 * Gather the lattice of @h from @payload (the planes of a @width x
 * @height frame) into @lat.  Returns the number of bytes of @lat the MAC
 * covers: BRHW_LAT_SIZE, or 0 when bio_lattice_pos() is false.
 */
u32 bio_lattice_gather(const struct brhw_frame_hdr *h, u32 width, u32 height,
		       const u8 *payload, struct bio_lattice *lat);

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
 * The header is first copied to @hdr and the lattice samples to @lat,
 * caller-private memory, each byte read from @buf once; every check and
 * the MAC are computed on those copies.  A bus master that rewrites the
 * DMA buffer meanwhile or afterwards cannot change what the caller goes
 * on to use: only @hdr and @lat, never @buf (wipe both: they hold the
 * embedding and biometric samples).  Pixels off the lattice are not
 * authenticated and nothing reads them.  The MAC is checked before
 * sequence and time, so a forged frame cannot move the state; the state
 * advances only on BIO_FRAME_OK.
 */
enum bio_frame_result bio_frame_validate(const struct bio_frame_geom *g,
					 struct bio_frame_check *fc,
					 const void *buf, size_t len,
					 struct brhw_frame_hdr *hdr,
					 struct bio_lattice *lat);

/*
 * Fill in hdr->mac of the frame of @len bytes at @buf, as the device
 * does (the simulated device, the evaluation tool); @lat is scratch.
 * A header whose geometry does not fit in @len is signed over the
 * header alone.
 */
void bio_frame_sign(const u8 key[BIO_MAC_KEY_SIZE], void *buf, size_t len,
		    struct bio_lattice *lat);

const char *bio_frame_result_name(enum bio_frame_result r);

#endif /* _BIO_FRAME_H */
