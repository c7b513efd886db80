/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Liveness (presentation-attack detection) in fixed point, over the
 * frames of one session (docs/liveness.md).  Three cues, each with a
 * physical basis, measured over the inner part of the face box:
 *
 *   challenge  the face's brightness in each band must follow the
 *              session's random flood pattern, strongly: a screen shows
 *              what it was fed, not what the floods do now;
 *   relief     depth residual after fitting a separable surface plus a
 *              twist term (every plane, quadric and sheet bent along an
 *              image axis): a flat, bent or curved sheet or screen has
 *              none left, a face has a nose and eye sockets;
 *   ratio      the 940/850 nm reflectance ratio under the floods: skin
 *              absorbs at 940 nm (water), paper, resin and silicone
 *              much less.
 *
 * The state holds biometric-derived sums: wipe it (bio_live_wipe()).  No
 * cue value leaves this file other than as the decision and the coarse
 * attack class; bio_live_cues() exists for the native evaluation tool
 * only and is not called by the driver.
 */
#ifndef _BIO_LIVENESS_H
#define _BIO_LIVENESS_H

#include "bio_compat.h"
#include "bio_frame.h"
#include "bio_match.h"
#include "bio_quality.h"

#define BIO_LIVE_GRID		8
#define BIO_LIVE_CELLS		(BIO_LIVE_GRID * BIO_LIVE_GRID)
#define BIO_LIVE_MAX_FRAMES	BRHW_ILLUM_MAX_LEN	/* pattern length */
#define BIO_LIVE_MIN_BOX	8	/* inner face box, pixels */

enum bio_live_decision {
	BIO_LIVE_PENDING = 0,	/* more frames needed */
	BIO_LIVE_LIVE,
	BIO_LIVE_ATTACK,	/* with a BIOREADER_ATTACK_* class */
	BIO_LIVE_UNDECIDED,	/* pattern exhausted without a decision */
	BIO_LIVE_LAYER,		/* skin under a layer, or an artefact: the */
				/* ratio cannot tell (SKIN_UNCERTAIN) */
};

/* Operating point of one security level. */
struct bio_live_params {
	u32 frames;		/* face frames of the challenge */
	u32 min_state;		/* frames with each flood on and off, at least */
	s32 corr_min;		/* Q10 correlation with the pattern, each band */
	s32 relief_min;		/* depth residual, mm Q4 (median of frames) */
	s32 alpha_live;		/* implied ambient, per mille of the flood at */
	s32 alpha_attack;	/* 500 mm: below live, a reflector; above */
				/* attack, a screen; between undecided */
	s32 ratio_lo;		/* 940/850 response ratio of skin, per mille */
	s32 ratio_hi;
	s32 ratio_layer;	/* the highest a grey layer over skin gives */
};

/* The built-in operating point of a BIOREADER_SECLEVEL_*. */
void bio_live_params_get(u32 security_level, struct bio_live_params *p);

struct bio_live {
	struct bio_live_params p;
	u32 frames;			/* face frames used */
	u32 n_on[2], n_off[2];		/* per band: frames flood on / off */
	u32 n_clip[2];			/* per band: frames half clipped */
	bool window_ok[2];		/* band followed its flood over the */
					/* challenge's own frames */
	/*
	 * Per band: region mean (Q4) sums for the correlation: of m, m^2,
	 * m * own flood state, m * other flood state; of m850 * m940, and of
	 * s850 * s940 (the common-mode test, bl_common_mode()).
	 */
	s64 sy[2], syy[2], sxy[2], sxo[2];
	s64 sy01;
	s32 s01;
	/*
	 * Per cell, over frames, for the ratio (bl_ratio()): each cell's 16
	 * lattice points are split into two halves A and B by the parity
	 * of the pixel they fall on (a checkerboard of pixels: the halves
	 * never share a pixel, so their sensor noise is independent); x, y
	 * are the half's 850 and 940 nm means (Q4), d = s940 - s850 the
	 * flood states.  Sums of xA, xB, yA, yB; of xA * xB; of d times
	 * each half mean; the frames in which the cell had both halves,
	 * with their sums of d and d^2; and the largest mean seen
	 * (saturation).  Frame-level sums of d and d^2 are in sd, sdd.
	 */
	s64 hx[2][BIO_LIVE_CELLS], hy[2][BIO_LIVE_CELLS];
	s64 hxx[BIO_LIVE_CELLS];
	s64 hdx[2][BIO_LIVE_CELLS], hdy[2][BIO_LIVE_CELLS];
	/*
	 * The instrument of the ratio's regression: w, the mean 850 nm
	 * brightness of the other 63 cells (Q4); sums of w, of w times
	 * the cell's xA + xB and yA + yB, and of d * w.
	 */
	s64 cw[BIO_LIVE_CELLS], cwx[BIO_LIVE_CELLS], cwy[BIO_LIVE_CELLS];
	s64 cdw[BIO_LIVE_CELLS];
	u16 cmax[BIO_LIVE_CELLS];
	u8 cn[BIO_LIVE_CELLS];
	s8 csd[BIO_LIVE_CELLS];
	u8 csdd[BIO_LIVE_CELLS];
	s32 sd, sdd, sxd;	/* sums of d, d^2, s850 * d */
	u16 relief[BIO_LIVE_MAX_FRAMES];	/* per frame, mm Q4 */
	u32 n_relief;
	/*
	 * Depth noise, measured in the session: the sum of squared
	 * differences between the two halves' mean depths of a cell
	 * (mm Q4)^2, over cells and frames, and their count.
	 */
	u64 dn_sum;
	u32 dn_cnt;
	u64 zsum;		/* face distance, mm Q4, summed over frames */
	u32 zn;
	bool exhausted;			/* a frame past the pattern was seen */
	struct bio_quality q;		/* capture quality, bio_quality.h */
	/* Scratch of one frame. */
	u32 acc[6][BIO_LIVE_CELLS];	/* 850 A, B; 940 A, B; depth A, B */
	u16 cntd[2][BIO_LIVE_CELLS];	/* valid depth samples, A and B */
	u8 cnth[2][BIO_LIVE_CELLS];	/* lattice points in A and B */
};

/* Cue values of a session, for the native evaluation tool only. */
struct bio_live_cues {
	s32 corr[2];		/* Q10 */
	s32 resp[2];		/* per mille */
	s32 relief;		/* mm Q4 */
	s32 ratio;		/* per mille, -1: too few responding cells */
	s32 ratio_se;		/* its standard error, per mille */
	s32 ratio_up, ratio_low; /* upper, lower face (bl_regions()); -1 */
	s32 se_up, se_low;	/* their standard errors, per mille */
	s32 relief_raw;		/* relief before the noise correction, mm Q4 */
	s32 depth_noise;	/* sd of a cell's mean depth, mm Q4 */
	s32 dist;		/* mean face distance, mm */
	s32 alpha[2];		/* implied ambient, per mille of the flood */
	u32 frames;
};

void bio_live_init(struct bio_live *l, u32 security_level);
void bio_live_wipe(struct bio_live *l);

/* Illumination state the driver commanded for frame @seq. */
static inline u8 bio_live_pattern_state(const u32 *illum, u32 seq)
{
	seq %= BRHW_ILLUM_MAX_LEN;
	return (illum[seq / 16] >> (2 * (seq % 16))) & 3;
}

/*
 * Add one validated frame: @hdr and @lat are the caller's private copies
 * of the header and of the lattice samples (bio_frame_validate()), @seq
 * its sequence number and @illum the state the driver commanded for it.
 * Frames without a face, or whose face is too small, are ignored.
 */
void bio_live_add(struct bio_live *l, const struct brhw_frame_hdr *hdr,
		  const struct bio_lattice *lat, u32 seq, u8 illum);

/* The decision so far; @attack_class is set for BIO_LIVE_ATTACK. */
enum bio_live_decision bio_live_decide(const struct bio_live *l,
				       u32 *attack_class);

/* Evaluation tool only: the session's cue values. */
void bio_live_cues(const struct bio_live *l, struct bio_live_cues *c);

/* What a session's verdict is made of (uAPI values). */
struct bio_verdict_parts {
	u32 outcome;
	u32 reason;
	u32 attack_class;
	u32 flags;
};

/*
 * Fuse matching and liveness into the session's verdict, exactly as the
 * driver does.  Returns true when the session ends with @v.
 *   @quality_reason:	bio_quality_reason() of the session: the reason of
 *			an undecided liveness (NONE: LIVENESS_UNAVAILABLE);
 *			never used with any other decision
 *   @live_available:	the device has what liveness needs
 *   @allow_no_liveness: policy flag; only meaningful without liveness
 */
bool bio_session_decide(enum bio_match_decision md,
			enum bio_live_decision ld, u32 live_class,
			u32 quality_reason, bool live_available,
			bool allow_no_liveness, struct bio_verdict_parts *v);

#endif /* _BIO_LIVENESS_H */
