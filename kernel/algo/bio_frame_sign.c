// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Frame signing, as the device does it: the MAC covers the header up to
 * the MAC field and the lattice samples of the face box (bio_lattice.c).
 * Kept apart from bio_frame.c so the simulated device links only this.
 */
#include "bio_frame.h"

void bio_frame_sign(const u8 key[BIO_MAC_KEY_SIZE], void *buf, size_t len,
		    struct bio_lattice *lat)
{
	struct brhw_frame_hdr *h = buf;
	u32 w = le16_to_cpu(h->width), ht = le16_to_cpu(h->height), n = 0;

	/* In 64 bits: a hostile header's geometry must not wrap around. */
	if (len >= BRHW_FRAME_HDR_SIZE + 4ULL * w * ht)
		n = bio_lattice_gather(h, w, ht,
				       (const u8 *)buf + BRHW_FRAME_HDR_SIZE, lat);
	bio_mac2(key, buf, BRHW_FRAME_MAC_OFFSET, lat, n, h->mac);
}
