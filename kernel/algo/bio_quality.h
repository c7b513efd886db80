/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Capture quality, in the manner of ISO/IEC 29794-5 (docs/liveness.md,
 * "Capture quality"): for every face frame, whether the evidence it
 * brings can suffice, and if not which shortfall held -- too far, too
 * close, too bright, face covered, turned away, moving.  Liveness still
 * decides on every frame exactly as before; the counts only say why a
 * session whose liveness stayed undecided ended INCONCLUSIVE, as a
 * BIOREADER_REASON_* a kiosk can show.  No measured value leaves this
 * file: only the reason, and only with an undecided liveness.
 */
#ifndef _BIO_QUALITY_H
#define _BIO_QUALITY_H

#include "bio_compat.h"
#include "../bioreader_hw.h"

/* The shortfalls, in the order a tie between them is broken. */
enum bio_quality_short {
	BIO_Q_TOO_CLOSE = 0,
	BIO_Q_TOO_FAR,
	BIO_Q_TOO_BRIGHT,
	BIO_Q_COVERED,
	BIO_Q_POSE,
	BIO_Q_MOTION,
	BIO_Q_COUNT
};

#define BIO_Q_BIT(k)	(1U << (k))

/*
 * Per session: per shortfall, the face frames in which it could be
 * measured and those in which it held; the previous face frame's
 * distance and face box centre, for the motion between frames.
 */
struct bio_quality {
	u16 seen[BIO_Q_COUNT];
	u16 held[BIO_Q_COUNT];
	u32 prev_z;		/* mm Q4; 0: no previous depth */
	s32 prev_cx, prev_cy;	/* pixels, doubled; valid with have_prev */
	bool have_prev;
};

/*
 * One face frame.  @zc: the frame's 8 x 8 cell depths over the inner
 * box (mm Q4, negative: no depth), or NULL when the frame gave none.
 * @sess_seen and @sess_held: the shortfalls measured on the session's
 * sums so far (too bright, covered), as BIO_Q_BIT()s.  @motion_pm: the
 * largest change of distance between frames, per mille, that the
 * challenge tolerates (bio_live_add() derives it).
 */
void bio_quality_add(struct bio_quality *q, const struct brhw_frame_hdr *hdr,
		     const s32 *zc, u32 sess_seen, u32 sess_held,
		     u32 motion_pm);

/*
 * The BIOREADER_REASON_* of the shortfall that held in the largest
 * share (more than half) of the frames in which it was measured, or
 * BIOREADER_REASON_NONE when none did.
 */
u32 bio_quality_reason(const struct bio_quality *q);

#endif /* _BIO_QUALITY_H */
