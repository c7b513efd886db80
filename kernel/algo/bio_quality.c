// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Capture quality per face frame (bio_quality.h, docs/liveness.md,
 * "Capture quality").  The thresholds come from what the sensor and the
 * cues can resolve, not from the corpus:
 *
 *   too far    a cell of liveness' 8 x 8 grid covers fewer than 2 x 2
 *              pixels: the two halves of a cell, whose independent
 *              noise the ratio and the depth noise rest on, then share
 *              too few pixels to be told apart;
 *   too close  the face box reaches the frame's edge while the face
 *              fills half the frame's height: the face is cut off, and
 *              the lattice no longer covers the inner part of the face;
 *   pose       the depth plane across the inner box is turned by more
 *              than 30 degrees: the nose (about 25 mm proud on a base
 *              about 30 mm wide, flanks at about 60 degrees) then hides
 *              its far flank and the cheek behind it from the sensor;
 *   motion     between two face frames the distance changes by more
 *              than the challenge tolerates (@motion_pm, the flood's
 *              1/z^2 turns it into a brightness drift), or the face
 *              moves by a whole cell of the grid.
 *
 * Too bright and face covered are measured on the session's sums by
 * bio_liveness.c and handed in as bits.
 */
#include <linux/bioreader.h>

#include "bio_quality.h"

#define BQ_GRID		8
#define BQ_CELLS	(BQ_GRID * BQ_GRID)
#define BQ_CELL_MIN_PX	4	/* pixels a cell must cover, at least */
/*
 * The ruler for the pose: an adult face, about 150 mm wide and 1.3
 * times as tall, fills the face box; the inner 60 % cut in 8 makes a
 * cell 11.25 mm wide (Q4: 180) and 14.6 mm tall (Q4: 234).
 */
#define BQ_CELL_W_Q4	180
#define BQ_CELL_H_Q4	234
/* Sum over the grid of u^2, u in {-7, -5, ..., 7}: a cell steps u by 2. */
#define BQ_SUU		1344
#define BQ_DEV_CLIP_Q4	(500 * 16)	/* a cell's depth off the mean */

static s32 bq_abs(s32 v)
{
	return v < 0 ? -v : v;
}

static bool bq_too_close(const struct brhw_frame_hdr *h)
{
	u32 x = le16_to_cpu(h->face_x), y = le16_to_cpu(h->face_y);
	u32 w = le16_to_cpu(h->face_w), fh = le16_to_cpu(h->face_h);
	u32 fw = le16_to_cpu(h->width), ht = le16_to_cpu(h->height);
	bool edge = !x || !y || x + w >= fw || y + fh >= ht;

	return edge && 2 * fh >= ht;
}

static bool bq_too_far(const struct brhw_frame_hdr *h)
{
	u32 iw = le16_to_cpu(h->face_w) * 6 / 10;
	u32 ih = le16_to_cpu(h->face_h) * 6 / 10;

	return iw * ih < BQ_CELL_MIN_PX * BQ_CELLS;
}

/*
 * Mean depth (mm Q4) and the least-squares depth plane of the cells,
 * as sums of u (v) times the depth off the mean; false when fewer than
 * 3/4 of the cells have depth.
 */
static bool bq_plane(const s32 *zc, u32 *mean, s64 *sx, s64 *sy)
{
	u64 sum = 0;
	u32 i, n = 0;
	s32 m;

	for (i = 0; i < BQ_CELLS; i++) {
		if (zc[i] >= 0) {
			sum += (u32)zc[i];
			n++;
		}
	}
	if (n < BQ_CELLS * 3 / 4)
		return false;
	m = (s32)bio_div_u64(sum, n);
	*sx = 0;
	*sy = 0;
	for (i = 0; i < BQ_CELLS; i++) {
		s32 u = 2 * (s32)(i % BQ_GRID) - 7, v = 2 * (s32)(i / BQ_GRID) - 7;
		s32 d;

		if (zc[i] < 0)
			continue;
		d = zc[i] - m;
		if (d > BQ_DEV_CLIP_Q4)
			d = BQ_DEV_CLIP_Q4;
		if (d < -BQ_DEV_CLIP_Q4)
			d = -BQ_DEV_CLIP_Q4;
		*sx += (s64)u * d;
		*sy += (s64)v * d;
	}
	*mean = (u32)m;
	return true;
}

/* tan of the plane's slope along an axis, Q10: 2 S / BQ_SUU per cell. */
static s32 bq_tan_q10(s64 s, u32 cell_q4)
{
	u64 m = (u64)(s < 0 ? -s : s) * 1024 * 2;
	s32 t = (s32)bio_div_u64(m, (u64)BQ_SUU * cell_q4);

	return s < 0 ? -t : t;
}

/* Turned by more than 30 degrees: tan^2 30 = 1/3. */
static bool bq_turned(s64 sx, s64 sy)
{
	/* |sx|, |sy| <= 256 * 8000: the tangents stay below 2^15. */
	s64 tx = bq_tan_q10(sx, BQ_CELL_W_Q4);
	s64 ty = bq_tan_q10(sy, BQ_CELL_H_Q4);

	return 3 * (tx * tx + ty * ty) > 1024 * 1024;
}

void bio_quality_add(struct bio_quality *q, const struct brhw_frame_hdr *hdr,
		     const s32 *zc, u32 sess_seen, u32 sess_held,
		     u32 motion_pm)
{
	u32 iw = le16_to_cpu(hdr->face_w) * 6 / 10;
	u32 ih = le16_to_cpu(hdr->face_h) * 6 / 10;
	s32 cx = 2 * le16_to_cpu(hdr->face_x) + le16_to_cpu(hdr->face_w);
	s32 cy = 2 * le16_to_cpu(hdr->face_y) + le16_to_cpu(hdr->face_h);
	u32 held = sess_held & sess_seen, seen = sess_seen, z = 0, k;
	s64 sx, sy;

	seen |= BIO_Q_BIT(BIO_Q_TOO_CLOSE) | BIO_Q_BIT(BIO_Q_TOO_FAR);
	if (bq_too_close(hdr))
		held |= BIO_Q_BIT(BIO_Q_TOO_CLOSE);
	if (bq_too_far(hdr))
		held |= BIO_Q_BIT(BIO_Q_TOO_FAR);
	if (zc && bq_plane(zc, &z, &sx, &sy)) {
		seen |= BIO_Q_BIT(BIO_Q_POSE);
		if (bq_turned(sx, sy))
			held |= BIO_Q_BIT(BIO_Q_POSE);
	}
	if (q->have_prev) {
		/* A move by a whole cell: iw / 8 pixels, centres doubled. */
		bool moved = (u32)bq_abs(cx - q->prev_cx) * 4 >= iw ||
			     (u32)bq_abs(cy - q->prev_cy) * 4 >= ih;

		if (z && q->prev_z) {
			u32 dz = z > q->prev_z ? z - q->prev_z : q->prev_z - z;

			moved = moved ||
				(u64)dz * 1000 > (u64)motion_pm * q->prev_z;
		}
		seen |= BIO_Q_BIT(BIO_Q_MOTION);
		if (moved)
			held |= BIO_Q_BIT(BIO_Q_MOTION);
	}
	q->have_prev = true;
	q->prev_cx = cx;
	q->prev_cy = cy;
	q->prev_z = z;

	for (k = 0; k < BIO_Q_COUNT; k++) {
		if (!(seen & BIO_Q_BIT(k)) || q->seen[k] == 0xffff)
			continue;
		q->seen[k]++;
		if (held & BIO_Q_BIT(k))
			q->held[k]++;
	}
}

u32 bio_quality_reason(const struct bio_quality *q)
{
	static const u32 reason[BIO_Q_COUNT] = {
		[BIO_Q_TOO_CLOSE] = BIOREADER_REASON_TOO_CLOSE,
		[BIO_Q_TOO_FAR] = BIOREADER_REASON_TOO_FAR,
		[BIO_Q_TOO_BRIGHT] = BIOREADER_REASON_TOO_BRIGHT,
		[BIO_Q_COVERED] = BIOREADER_REASON_FACE_COVERED,
		[BIO_Q_POSE] = BIOREADER_REASON_POSE,
		[BIO_Q_MOTION] = BIOREADER_REASON_HOLD_STILL,
	};
	u32 k, best = BIO_Q_COUNT;

	for (k = 0; k < BIO_Q_COUNT; k++) {
		if (2 * (u32)q->held[k] <= q->seen[k])
			continue;
		/* The larger share; on a tie the earlier shortfall. */
		if (best == BIO_Q_COUNT ||
		    (u32)q->held[k] * q->seen[best] >
		    (u32)q->held[best] * q->seen[k])
			best = k;
	}
	return best == BIO_Q_COUNT ? BIOREADER_REASON_NONE : reason[best];
}
