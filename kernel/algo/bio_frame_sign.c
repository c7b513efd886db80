// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Frame signing, as the device does it: the MAC covers the header up to
 * the MAC field and the whole payload.  Kept apart from bio_frame.c so
 * the simulated device links only this.
 */
#include "bio_frame.h"

void bio_frame_sign(const u8 key[BIO_MAC_KEY_SIZE], void *buf)
{
	struct brhw_frame_hdr *h = buf;
	u32 plen = le32_to_cpu(h->payload_len);

	bio_mac2(key, buf, BRHW_FRAME_MAC_OFFSET,
		 (const u8 *)buf + BRHW_FRAME_HDR_SIZE, plen, h->mac);
}
