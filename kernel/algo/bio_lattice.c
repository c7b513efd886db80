// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The sampling lattice of a frame (bioreader_hw.h, docs/hardware.md
 * "MAC"): the only pixels the frame MAC covers and the only pixels the
 * driver ever reads.  One definition for the device (signing), the
 * driver (verifying), liveness and the native tools, so that they
 * cannot disagree on a single point.
 */
#include "bio_frame.h"

bool bio_lattice_pos(const struct brhw_frame_hdr *h, u32 width, u32 height,
		     struct bio_lattice_pos *pos)
{
	u32 fx, fy, fw, fh, x0, y0, iw, ih, k;

	if (!(le32_to_cpu(h->flags) & BRHW_FRAME_FACE))
		return false;
	fx = le16_to_cpu(h->face_x);
	fy = le16_to_cpu(h->face_y);
	fw = le16_to_cpu(h->face_w);
	fh = le16_to_cpu(h->face_h);
	if (!fw || !fh || fx + fw > width || fy + fh > height)
		return false;
	x0 = fx + fw * 2 / 10;
	y0 = fy + fh * 2 / 10;
	iw = fw * 6 / 10;
	ih = fh * 6 / 10;
	/*
	 * x0 + iw * k / N <= x0 + iw - 1 < fx + fw for iw >= 1, and
	 * x0 < fx + fw for iw = 0: every point lies inside the box.
	 */
	for (k = 0; k < BRHW_LAT_N; k++) {
		pos->x[k] = (u16)(x0 + iw * k / BRHW_LAT_N);
		pos->y[k] = (u16)(y0 + ih * k / BRHW_LAT_N);
	}
	return true;
}

u32 bio_lattice_gather(const struct brhw_frame_hdr *h, u32 width, u32 height,
		       const u8 *payload, struct bio_lattice *lat)
{
	const u8 *p940 = payload + width * height;
	const u8 *pd = payload + 2 * width * height;
	struct bio_lattice_pos pos;
	u32 j, k, n = 0;

	if (!bio_lattice_pos(h, width, height, &pos)) {
		memset(lat, 0, sizeof(*lat));
		return 0;
	}
	for (j = 0; j < BRHW_LAT_N; j++) {
		u32 row = pos.y[j] * width;

		for (k = 0; k < BRHW_LAT_N; k++, n++) {
			u32 i = row + pos.x[k];

			lat->nir_850[n] = payload[i];
			lat->nir_940[n] = p940[i];
			/* The two bytes as the device wrote them (LE). */
			memcpy(&lat->depth[n], pd + 2 * i, 2);
		}
	}
	return BRHW_LAT_SIZE;
}
