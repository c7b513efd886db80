// SPDX-License-Identifier: GPL-2.0-only
/*
 * Capture quality on synthetic frames of known truth
 * (kernel/algo/bio_quality.c, docs/liveness.md "Capture quality"): a
 * face of known size, placement, distance, pose, motion, ambient and
 * regional reflectance goes through bio_live_add() as the driver feeds
 * it, and the session's quality reason must name the one shortfall the
 * scene was given -- or none for good frames.  Each threshold is also
 * probed from the good side, and the fusion must never let a reason
 * change a decided verdict.
 */
#include <stdlib.h>

#include "algo/bio_liveness.h"
#include "ktap.h"
#include "lib/synth_px.h"

#define FRAMES		28	/* twice the MEDIUM challenge */
#define INNER_W_MM	90.0	/* inner box of a 150 mm wide face */
#define INNER_H_MM	117.0	/* and 195 mm tall */
/* Half the test face's nose: relief below relief_min, above half of it. */
#define FLAT_NOSE_MM	10

/* A face in front of the reader, as the frames will show it. */
struct face {
	u16 fw, fh;		/* frame size */
	u16 x, y, w, h;		/* face box */
	double z_mm;		/* distance of the face's front */
	double dz_pct;		/* change of distance per frame, % */
	s32 dx_px;		/* box moves by this, alternately +/- */
	double tan_yaw;		/* depth slope across the face */
	double amb, flood;	/* DN for white: ambient, the band's flood */
	double r850, up_ratio, low_ratio; /* 940/850: upper, lower face */
	u32 split;		/* first lattice row of the lower face */
	bool flat;		/* no nose: a sheet */
	double nose_mm;		/* how far the nose stands out */
	double frac;		/* frames with the condition, the rest good */
};

static void good_face(struct face *f)
{
	memset(f, 0, sizeof(*f));
	f->fw = 160;
	f->fh = 120;
	f->w = 40;
	f->h = 52;
	f->x = 60;
	f->y = 28;
	f->z_mm = 500;
	f->amb = 20;
	f->flood = 150;
	f->r850 = 0.55;
	f->up_ratio = 0.78;
	f->low_ratio = 0.78;
	f->split = 16;		/* grid rows 4-7 */
	f->nose_mm = 20;
	f->frac = 1;
}

static void face_frame(const struct face *f, u32 seq, u8 illum,
		       struct brhw_frame_hdr *h, struct bio_lattice *lat)
{
	double z0 = f->z_mm, f850 = 0, f940 = 0;
	s32 shift = seq & 1 ? f->dx_px : 0;
	u32 i, k;

	for (k = 0; k < seq; k++)
		z0 *= 1 + f->dz_pct / 100;
	if (illum & BRHW_ILLUM_850)
		f850 = f->flood;
	if (illum & BRHW_ILLUM_940)
		f940 = f->flood;
	memset(h, 0, sizeof(*h));
	h->flags = cpu_to_le32(BRHW_FRAME_FACE);
	h->width = cpu_to_le16(f->fw);
	h->height = cpu_to_le16(f->fh);
	h->face_x = cpu_to_le16(f->x + shift);
	h->face_y = cpu_to_le16(f->y);
	h->face_w = cpu_to_le16(f->w);
	h->face_h = cpu_to_le16(f->h);
	for (i = 0; i < BRHW_LAT_POINTS; i++) {
		double u = ((double)(i % BRHW_LAT_N) - 15.5) / 32 * INNER_W_MM;
		double v = ((double)(i / BRHW_LAT_N) - 15.5) / 32 * INNER_H_MM;
		double r2 = (u * u + v * v) / (15.0 * 15.0);
		double ratio = i / BRHW_LAT_N >= f->split ? f->low_ratio :
			       f->up_ratio;
		/* A nose proud in the middle, the rest a plane. */
		double nose = r2 < 1 && !f->flat ? f->nose_mm * (1 - r2) : 0;
		double z = z0 + f->tan_yaw * u - nose + gauss();

		lat->nir_850[i] = px(f->r850 * (f->amb + f850) + gauss());
		lat->nir_940[i] = px(f->r850 * ratio * (f->amb + f940) + gauss());
		lat->depth[i] = cpu_to_le16((u16)(z < 1 ? 1 : z));
	}
}

static struct bio_live live;

/*
 * @f for the first @f->frac of the frames, @good after; the session's
 * quality reason.
 */
static u32 run(const struct face *f, const struct face *good)
{
	struct bio_lattice lat;
	struct brhw_frame_hdr h;
	u32 seq, cond = (u32)(f->frac * FRAMES + 0.5);

	srand(1);
	bio_live_init(&live, BIOREADER_SECLEVEL_MEDIUM);
	for (seq = 0; seq < FRAMES; seq++) {
		u8 illum = (u8)((seq * 7 + seq / 3) & 3);

		face_frame(seq < cond ? f : good, seq, illum, &h, &lat);
		bio_live_add(&live, &h, &lat, seq, illum);
	}
	return bio_quality_reason(&live.q);
}

/*
 * The session as the driver runs it: liveness decides after every frame
 * and the first decision ends it.  Returns the decision, @cls its class.
 */
static enum bio_live_decision run_decide(const struct face *f, u32 *cls)
{
	struct bio_lattice lat;
	struct brhw_frame_hdr h;
	enum bio_live_decision d = BIO_LIVE_PENDING;
	u32 seq;

	srand(1);
	bio_live_init(&live, BIOREADER_SECLEVEL_MEDIUM);
	for (seq = 0; seq < BIO_LIVE_MAX_FRAMES && d == BIO_LIVE_PENDING;
	     seq++) {
		u8 illum = (u8)((seq * 7 + seq / 3) & 3);

		face_frame(f, seq, illum, &h, &lat);
		bio_live_add(&live, &h, &lat, seq, illum);
		d = bio_live_decide(&live, cls);
	}
	return d;
}

static int expect(const struct face *f, const struct face *good, u32 want,
		  const char *name)
{
	u32 got = run(f, good);

	if (got != want)
		ktap_diag("reason %u, expected %u", got, want);
	return ktap_check(got == want, name);
}

int main(void)
{
	struct bio_verdict_parts v;
	struct face g, f;
	u32 cls;
	int ok;

	ktap_plan(21);
	good_face(&g);

	KTAP_CASE("good frames: no reason") {
		/* 1 */
		expect(&g, &g, BIOREADER_REASON_NONE,
		       "a face at 50 cm, frontal, still, indoors: no reason");
		ok = bio_live_decide(&live, &cls) == BIO_LIVE_LIVE;
		ktap_check(ok, "and liveness finds it live");	/* 2 */
	}

	KTAP_CASE("distance: face size") {
		/* 3: inner box 13 x 16 px, cells under 2 x 2 pixels */
		f = g;
		f.w = 22;
		f.h = 28;
		f.x = 69;
		expect(&f, &g, BIOREADER_REASON_TOO_FAR,
		       "a 22 x 28 px face: too far");
		/* 4: the box reaches the top and fills the frame's height */
		f = g;
		f.y = 0;
		f.h = 110;
		f.w = 84;
		f.x = 38;
		expect(&f, &g, BIOREADER_REASON_TOO_CLOSE,
		       "a face cut off by the frame's edge, 110 px tall: too close");
		/* 5: the same face size at 2 x 2 pixels a cell, and a
		 * large face wholly inside the frame, are not shortfalls */
		f = g;
		f.w = 27;
		f.h = 27;
		f.x = 66;
		ok = run(&f, &g) == BIOREADER_REASON_NONE;
		f = g;
		f.y = 2;
		f.h = 110;
		f.w = 84;
		f.x = 38;
		ok = ok && run(&f, &g) == BIOREADER_REASON_NONE;
		f = g;
		f.x = 0;
		ok = ok && run(&f, &g) == BIOREADER_REASON_NONE;
		ktap_check(ok, "2 x 2 pixels a cell, a large face inside the frame, a small one at its edge: no reason");
	}

	KTAP_CASE("ambient near-infrared against the floods") {
		/* 6: ambient 4.0 times the flood at 50 cm, above 3.7 */
		f = g;
		f.amb = 400;
		f.flood = 100;
		f.r850 = 0.4;
		expect(&f, &g, BIOREADER_REASON_TOO_BRIGHT,
		       "ambient 4 times the flood at 50 cm: too bright");
		/* 7: 3 times: within what the reader works in */
		f.amb = 300;
		expect(&f, &f, BIOREADER_REASON_NONE,
		       "ambient 3 times the flood: no reason");
	}

	KTAP_CASE("occlusion of the lower face") {
		/* 8: nose and mouth behind cloth (ratio 1.0), eyes skin */
		f = g;
		f.low_ratio = 1.0;
		expect(&f, &g, BIOREADER_REASON_FACE_COVERED,
		       "lower face with no water band, upper face skin: face covered");
		/* 9: the whole face non-skin is no covered face (a mask) */
		f.up_ratio = 1.0;
		ok = run(&f, &f) == BIOREADER_REASON_NONE &&
		     bio_live_decide(&live, &cls) == BIO_LIVE_ATTACK &&
		     cls == BIOREADER_ATTACK_MASK;
		ktap_check(ok, "the whole face non-skin: no reason, and still a mask");
	}

	KTAP_CASE("pose") {
		/* 10 */
		f = g;
		f.tan_yaw = 0.70;	/* 35 degrees */
		expect(&f, &g, BIOREADER_REASON_POSE, "turned by 35 degrees: pose");
		/* 11 */
		f.tan_yaw = -0.47;	/* 25 degrees */
		expect(&f, &f, BIOREADER_REASON_NONE, "turned by 25 degrees: no reason");
	}

	KTAP_CASE("motion between frames") {
		/* 12: walking up: 2 % nearer every frame; or side to side
		 * by a whole cell */
		f = g;
		f.dz_pct = -2;
		ok = run(&f, &g) == BIOREADER_REASON_HOLD_STILL;
		f = g;
		f.dx_px = 4;
		ok = ok && run(&f, &g) == BIOREADER_REASON_HOLD_STILL;
		ktap_check(ok, "2 % nearer a frame, or a cell sideways: hold still");
		/* 13: 0.4 % a frame, 1 px sideways: tolerated; and a
		 * shortfall in fewer than half the frames is no reason */
		f.dx_px = 1;
		f.dz_pct = -0.4;
		ok = run(&f, &f) == BIOREADER_REASON_NONE;
		f = g;
		f.w = 22;
		f.h = 28;
		f.frac = 0.4;
		ok = ok && run(&f, &g) == BIOREADER_REASON_NONE;
		ktap_check(ok, "slow drift, or too far in 40 % of the frames: no reason");
	}

	KTAP_CASE("a reason only explains an undecided liveness") {
		/* 14 */
		ok = bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_UNDECIDED, 0,
					BIOREADER_REASON_TOO_FAR, true, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
		     v.reason == BIOREADER_REASON_TOO_FAR && !v.flags;
		ok = ok && bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_UNDECIDED, 0,
					      BIOREADER_REASON_NONE, true, false, &v) &&
		     v.reason == BIOREADER_REASON_LIVENESS_UNAVAILABLE;
		ok = ok && bio_session_decide(BIO_MATCH_PENDING, BIO_LIVE_ATTACK,
					      BIOREADER_ATTACK_PRINT,
					      BIOREADER_REASON_TOO_FAR, true, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_ATTACK &&
		     v.reason == BIOREADER_REASON_PRESENTATION_ATTACK &&
		     v.attack_class == BIOREADER_ATTACK_PRINT;
		ok = ok && bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_LIVE, 0,
					      BIOREADER_REASON_POSE, true, false, &v) &&
		     v.outcome == BIOREADER_OUTCOME_MATCH &&
		     v.reason == BIOREADER_REASON_NONE;
		ok = ok && bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_PENDING, 0,
					      BIOREADER_REASON_HOLD_STILL, false, false,
					      &v) &&
		     v.reason == BIOREADER_REASON_LIVENESS_UNAVAILABLE;
		ktap_check(ok, "INCONCLUSIVE takes the reason; ATTACK, MATCH and no liveness do not");
	}

	KTAP_CASE("occluders per region") {
		/*
		 * 15: a neutral occluder (ratio 1.0, no water band) from
		 * the middle of grid row 3 down: 36 of 64 cells, so the
		 * median is the occluder's.  Never an attack: undecided,
		 * INCONCLUSIVE / FACE_COVERED.
		 */
		f = g;
		f.low_ratio = 1.0;
		f.split = 14;
		ok = run_decide(&f, &cls) == BIO_LIVE_UNDECIDED &&
		     bio_session_decide(BIO_MATCH_ACCEPT, BIO_LIVE_UNDECIDED, 0,
					bio_quality_reason(&live.q), true, false,
					&v) &&
		     v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
		     v.reason == BIOREADER_REASON_FACE_COVERED;
		if (!ok)
			ktap_diag("decision %u class %u reason %u",
				  run_decide(&f, &cls), cls,
				  bio_quality_reason(&live.q));
		ktap_check(ok, "nose and mouth covered, eyes skin: INCONCLUSIVE / FACE_COVERED, never ATTACK");
		/*
		 * 16: the same occluder over grid rows 0-2 only (forehead,
		 * eyes): 24 of 64 cells, the median is skin's; still a mask.
		 */
		f = g;
		f.up_ratio = 1.0;
		f.split = 12;
		ok = run_decide(&f, &cls) == BIO_LIVE_ATTACK &&
		     cls == BIOREADER_ATTACK_MASK;
		ktap_check(ok, "upper face covered, the median skin: a partial mask, ATTACK");
		/* 17: the whole face non-skin: ATTACK */
		f = g;
		f.up_ratio = 1.0;
		f.low_ratio = 1.0;
		ok = run_decide(&f, &cls) == BIO_LIVE_ATTACK &&
		     cls == BIOREADER_ATTACK_MASK;
		ktap_check(ok, "a whole-face artefact: ATTACK");
		/* 18: the lower-face pattern on a flat sheet: relief decides */
		f = g;
		f.low_ratio = 1.0;
		f.split = 14;
		f.flat = true;
		ok = run_decide(&f, &cls) == BIO_LIVE_ATTACK &&
		     cls == BIOREADER_ATTACK_PRINT;
		ktap_check(ok, "the lower face covered on a flat sheet: still ATTACK (print)");
		/*
		 * 19: a non-skin layer over mouth and chin only (grid rows
		 * 5-7: 24 of 64 cells, the median skin's): a mask of someone
		 * else's lower face is as possible as a live face's; never
		 * live, INCONCLUSIVE / FACE_COVERED.
		 */
		f = g;
		f.low_ratio = 1.0;
		f.split = 20;
		ok = run_decide(&f, &cls) == BIO_LIVE_UNDECIDED &&
		     bio_quality_reason(&live.q) == BIOREADER_REASON_FACE_COVERED;
		ktap_check(ok, "mouth and chin covered, the median skin: never live, FACE_COVERED");
		/*
		 * 20: cloth taut over nose and mouth halves the nose's
		 * relief: below the relief threshold, above half of it.
		 * Undecided, FACE_COVERED, never a print -- while the same
		 * relief on a surface of no skin's ratio still is one.
		 */
		f = g;
		f.low_ratio = 1.0;
		f.split = 14;
		f.nose_mm = FLAT_NOSE_MM;
		ok = run_decide(&f, &cls) == BIO_LIVE_UNDECIDED &&
		     bio_quality_reason(&live.q) == BIOREADER_REASON_FACE_COVERED;
		if (!ok)
			ktap_diag("covered: decision %u class %u", run_decide(&f, &cls), cls);
		f.up_ratio = 1.0;
		ok = ok && run_decide(&f, &cls) == BIO_LIVE_ATTACK &&
		     cls == BIOREADER_ATTACK_PRINT;
		ktap_check(ok, "a nose's relief halved under cloth: FACE_COVERED; on paper a print");
		/*
		 * 21: a child's face: the same low relief, skin's ratio all
		 * over.  Never live with relief below the threshold, but no
		 * print either: undecided.
		 */
		f = g;
		f.nose_mm = FLAT_NOSE_MM;
		ok = run_decide(&f, &cls) == BIO_LIVE_UNDECIDED;
		if (!ok)
			ktap_diag("child: decision %u class %u", run_decide(&f, &cls), cls);
		ktap_check(ok, "low relief with skin's ratio (a child): undecided, not a print");
	}
	return ktap_finish();
}
