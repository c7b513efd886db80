// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: frame validation (kernel/algo/bio_frame.c) on
 * arbitrary bytes.  The first 8 input bytes choose the validation state
 * (expected sequence, last timestamp, whether to re-sign the frame so
 * the checks behind the MAC are reached); the rest is the "DMA buffer".
 * Every input must return a defined result without reading out of
 * bounds, and a rejected frame must not move the state.  Signing and
 * validation read the planes only at the lattice of the header's face
 * box (bio_lattice.c), so a hostile box is the interesting input.
 */
#include <stdlib.h>

#include "algo/bio_frame.h"

#define W 16
#define H 8

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const struct bio_frame_geom g = {
		.width = W, .height = H, .emb_dim = 128,
		.frame_size = BRHW_FRAME_SIZE(W, H),
	};
	static const u8 key[BIO_MAC_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct bio_frame_check fc, before;
	struct brhw_frame_hdr hdr;
	static struct bio_lattice lat;
	enum bio_frame_result r;
	void *buf;
	size_t len;

	if (size < 8)
		return 0;
	bio_frame_check_init(&fc, key, data[0]);
	fc.next_seq = data[1] & 3;
	fc.last_ts = data[2];
	before = fc;
	len = size - 8;
	/* An exact-size heap copy so ASan sees any overread; aligned like DMA. */
	buf = aligned_alloc(64, len ? (len + 63) & ~(size_t)63 : 64);
	if (!buf)
		return 0;
	memcpy(buf, data + 8, len);
	/* The signer gathers only what lies inside @len. */
	if ((data[3] & 1) && len >= BRHW_FRAME_HDR_SIZE)
		bio_frame_sign(key, buf, len, &lat);
	r = bio_frame_validate(&g, &fc, buf, len, &hdr, &lat);
	if ((unsigned int)r >= BIO_FRAME_ERR_COUNT)
		abort();
	if (r != BIO_FRAME_OK && memcmp(&fc, &before, sizeof(fc)))
		abort();
	if (r == BIO_FRAME_OK && fc.next_seq != before.next_seq + 1)
		abort();
	free(buf);
	return 0;
}
