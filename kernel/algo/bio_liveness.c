// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Liveness in fixed point (bio_liveness.h, docs/liveness.md).
 *
 * Per frame, the inner 60 % of the face box (inside the face's outline
 * for any face the detector boxes) is cut into an 8 x 8 grid of cells.
 * Liveness reads only the frame's lattice samples (32 x 32 points over
 * that inner box, bio_lattice.c), which the validator copied out of the
 * DMA buffer and authenticated: per cell the 4 x 4 points give the mean
 * of each NIR band and the mean of the valid depth samples.  From these:
 *
 *   - the region's mean brightness per band goes into the correlation
 *     with the commanded flood state (Pearson, integer sums);
 *   - the cell means go into per-cell regression sums from which each
 *     cell's 940/850 reflectance ratio follows at the end (bl_ratio());
 *     the session's ratio is the median over the cells;
 *   - the cell depths are fitted with a separable surface plus a twist
 *     (every plane, quadric, and sheet bent along an image axis) and
 *     the RMS of the residual is the frame's relief (bl_relief()).
 *
 * Everything is bounded: the loops have fixed bounds and the samples
 * are private memory; nothing here touches the frame buffer.
 */
#include "bio_liveness.h"

/* u, v in {-7, -5, ..., 7}: squared norm of u * v over the 64 cells. */
#define BL_N5		28224
#define BL_CLIP_Q4	(40 * 16)	/* residual clip: 40 mm */
#define BL_MIN_CELL_RESP (3 * 16)	/* Q4: a cell responds by 3 DN at least */
#define BL_MIN_RATIO_CELLS 16
#define BL_SAT_Q4	(250 * 16)
#define BL_PTS		(BRHW_LAT_N / BIO_LIVE_GRID)	/* lattice points per cell side */
#define BL_CELL_PTS	(BL_PTS * BL_PTS)

/*
 * Operating points, chosen on the tuning corpus only (docs/evaluation.md,
 * "Choosing the thresholds"): each cue's threshold sits below the bona
 * fide tail of the tuning set with a margin, except the ratio's upper
 * end, where skin of the darkest tones and silicone overlap and the
 * value balances the two error rates.  The challenge length sets the
 * pattern's entropy: 2 bits per frame (docs/liveness.md).
 */
void bio_live_params_get(u32 security_level, struct bio_live_params *p)
{
	p->min_state = 3;
	p->ratio_lo = 660;
	p->ratio_hi = 865;
	p->relief_min = 30;		/* 1.9 mm */
	switch (security_level) {
	case BIOREADER_SECLEVEL_LOW:
		p->frames = 10;		/* 20 bits */
		p->corr_min = 850;
		p->resp_min = 140;
		break;
	case BIOREADER_SECLEVEL_HIGH:
		p->frames = 20;		/* 40 bits */
		p->corr_min = 930;
		p->resp_min = 165;
		break;
	case BIOREADER_SECLEVEL_MEDIUM:
	default:
		p->frames = 14;		/* 28 bits */
		p->corr_min = 900;
		p->resp_min = 155;
		break;
	}
}

void bio_live_init(struct bio_live *l, u32 security_level)
{
	memset(l, 0, sizeof(*l));
	bio_live_params_get(security_level, &l->p);
}

void bio_live_wipe(struct bio_live *l)
{
	bio_wipe(l, sizeof(*l));
}

static s64 bl_div_s64(s64 a, u32 b)
{
	if (!b)
		return 0;
	if (a >= 0)
		return (s64)bio_div_u64((u64)a, b);
	return -(s64)bio_div_u64((u64)-a, b);
}

/*
 * Relief of one frame from the cell depths (Q4 mm); false: unusable.
 *
 * The depth grid z(u, v) is fitted with a separable surface f(u) + g(v)
 * plus a twist term c * u * v; the RMS of what is left is the relief.
 * The fitted family holds every plane, every quadric, and every sheet
 * bent or curved along either image axis (a bent or wrapped print, a
 * tilted screen), so none of those leaves a residual beyond the noise;
 * a nose and two eye sockets do.  On a regular grid the fit is exact
 * arithmetic: row and column means, and one projection on u * v, which
 * is orthogonal to every separable function.
 */
static bool bl_relief(struct bio_live *l, u32 *relief)
{
	s32 z[BIO_LIVE_CELLS], row[BIO_LIVE_GRID], col[BIO_LIVE_GRID];
	u32 valid = 0, i, j;
	s64 e = 0, duv = 0;
	u64 zsum = 0;
	s32 fill, all;

	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		if (l->cntd[i]) {
			z[i] = (s32)(l->acc[2][i] * 16 / l->cntd[i]);
			zsum += (u32)z[i];
			valid++;
		} else {
			z[i] = -1;
		}
	}
	if (valid < BIO_LIVE_CELLS * 3 / 4)
		return false;
	fill = (s32)bio_div_u64(zsum, valid);
	for (i = 0; i < BIO_LIVE_CELLS; i++)
		if (z[i] < 0)
			z[i] = fill;

	all = 0;
	for (j = 0; j < BIO_LIVE_GRID; j++) {
		s32 rs = 0, cs = 0;

		for (i = 0; i < BIO_LIVE_GRID; i++) {
			rs += z[j * BIO_LIVE_GRID + i];
			cs += z[i * BIO_LIVE_GRID + j];
		}
		row[j] = rs / BIO_LIVE_GRID;
		col[j] = cs / BIO_LIVE_GRID;
		all += rs;
	}
	all /= BIO_LIVE_CELLS;
	for (j = 0; j < BIO_LIVE_GRID; j++) {
		for (i = 0; i < BIO_LIVE_GRID; i++) {
			s32 u = 2 * (s32)i - 7, v = 2 * (s32)j - 7;
			s64 r = (s64)z[j * BIO_LIVE_GRID + i] - row[j] - col[i] + all;

			if (r > BL_CLIP_Q4)
				r = BL_CLIP_Q4;
			if (r < -BL_CLIP_Q4)
				r = -BL_CLIP_Q4;
			e += r * r;
			duv += r * u * v;
		}
	}
	/* Remove the twist: its projection is duv^2 / |uv|^2. */
	e -= bl_div_s64(duv * duv, BL_N5);
	if (e < 0)
		e = 0;
	*relief = bio_isqrt64((u64)e / BIO_LIVE_CELLS);
	return true;
}

void bio_live_add(struct bio_live *l, const struct brhw_frame_hdr *hdr,
		  const struct bio_lattice *lat, u32 seq, u8 illum)
{
	u32 i, j, u, b;
	u32 region[2] = { 0, 0 }, relief;
	s32 d;

	if (seq >= BIO_LIVE_MAX_FRAMES) {
		l->exhausted = true;
		return;
	}
	if (!(le32_to_cpu(hdr->flags) & BRHW_FRAME_FACE) ||
	    l->frames >= BIO_LIVE_MAX_FRAMES)
		return;
	/* An inner box this small samples the same few pixels over and over. */
	if (le16_to_cpu(hdr->face_w) * 6 / 10 < BIO_LIVE_MIN_BOX ||
	    le16_to_cpu(hdr->face_h) * 6 / 10 < BIO_LIVE_MIN_BOX)
		return;

	/* Cell (i, j) holds lattice points 4i..4i+3 of rows 4j..4j+3. */
	memset(l->acc, 0, sizeof(l->acc));
	memset(l->cntd, 0, sizeof(l->cntd));
	for (j = 0; j < BRHW_LAT_N; j++) {
		for (u = 0; u < BRHW_LAT_N; u++) {
			u32 c = j / BL_PTS * BIO_LIVE_GRID + u / BL_PTS;
			u32 k = j * BRHW_LAT_N + u;
			u32 dz = le16_to_cpu(lat->depth[k]);

			l->acc[0][c] += lat->nir_850[k];
			l->acc[1][c] += lat->nir_940[k];
			if (dz) {
				l->acc[2][c] += dz;
				l->cntd[c]++;
			}
		}
	}
	d = (s32)!!(illum & BRHW_ILLUM_940) - (s32)!!(illum & BRHW_ILLUM_850);
	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		s64 mx = l->acc[0][i] * 16 / BL_CELL_PTS;
		s64 my = l->acc[1][i] * 16 / BL_CELL_PTS;

		region[0] += (u32)mx;
		region[1] += (u32)my;
		l->cx[i] += mx;
		l->cy[i] += my;
		l->cxx[i] += mx * mx;
		l->cxy[i] += mx * my;
		l->cdx[i] += d * mx;
		l->cdy[i] += d * my;
		if (mx > l->cmax[i] || my > l->cmax[i])
			l->cmax[i] = (u16)(mx > my ? mx : my);
	}
	l->sd += d;
	l->sdd += d * d;
	if (illum & BRHW_ILLUM_850)
		l->sxd += d;
	for (b = 0; b < 2; b++) {
		bool on = illum & (b ? BRHW_ILLUM_940 : BRHW_ILLUM_850);

		region[b] /= BIO_LIVE_CELLS;
		if (on) {
			l->n_on[b]++;
			l->sxy[b] += region[b];
		} else {
			l->n_off[b]++;
		}
		l->sy[b] += region[b];
		l->syy[b] += (s64)region[b] * region[b];
	}
	if (bl_relief(l, &relief) && l->n_relief < BIO_LIVE_MAX_FRAMES)
		l->relief[l->n_relief++] = (u16)(relief > 0xffff ? 0xffff : relief);
	l->frames++;
}

/* Pearson correlation (Q10) of the band's flood state and brightness. */
static s32 bl_corr(const struct bio_live *l, u32 b)
{
	s64 n = l->frames, sx = l->n_on[b];
	s64 cov = n * l->sxy[b] - sx * l->sy[b];
	s64 vx = n * sx - sx * sx;
	s64 vy = n * l->syy[b] - l->sy[b] * l->sy[b];
	u64 den;

	if (vx <= 0 || vy <= 0)
		return 0;
	/* vx <= 64^2 / 4, vy < 64^2 * 4080^2: the product fits. */
	den = bio_isqrt64((u64)vx * (u64)vy);
	if (!den)
		return 0;
	return (s32)bl_div_s64(cov * 1024, (u32)(den > 0xffffffffULL ?
						 0xffffffffULL : den));
}

/* Flood response relative to the mean brightness, per mille. */
static s32 bl_resp(const struct bio_live *l, u32 b)
{
	s64 on, off, mean;

	if (!l->n_on[b] || !l->n_off[b] || !l->frames)
		return 0;
	on = bio_div_u64((u64)l->sxy[b], l->n_on[b]);
	off = bio_div_u64((u64)(l->sy[b] - l->sxy[b]), l->n_off[b]);
	mean = bio_div_u64((u64)l->sy[b], l->frames);
	if (mean <= 0)
		return 0;
	return (s32)bl_div_s64((on - off) * 1000, (u32)mean);
}

static void bl_sort_s32(s32 *v, u32 n)
{
	u32 i, j;

	for (i = 1; i < n; i++) {
		s32 t = v[i];

		for (j = i; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/*
 * Median 940/850 reflectance ratio over the cells that follow the floods.
 *
 * With both bands lit by the same ambient light A(t) and by floods of
 * equal power F (crosstalk X), a cell of reflectances r850, r940 reads
 *
 *   x(t) = r850 * (A(t) + F * s850(t) + X * s940(t))
 *   y(t) = r940 * (A(t) + F * s940(t) + X * s850(t))
 *
 * so y(t) - rho * x(t) = r940 * (F - X) * d(t) with rho = r940 / r850 and
 * d = s940 - s850: the regression y = c + rho * x + k * d gives rho free
 * of whatever the ambient light does from frame to frame (flicker), and
 * a constant ambient of another spectrum goes into c.  Per cell, with
 * centred sums, rho = (Sdd Sxy - Sdx Sdy) / (Sxx Sdd - Sdx^2).
 */
static s32 bl_ratio(const struct bio_live *l)
{
	s64 n = l->frames, sdd = n * l->sdd - (s64)l->sd * l->sd;
	s32 r[BIO_LIVE_CELLS];
	u32 i, k = 0;

	if (n < 4 || sdd <= 0)
		return -1;
	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		s64 sxx = n * l->cxx[i] - l->cx[i] * l->cx[i];
		s64 sxy = n * l->cxy[i] - l->cx[i] * l->cy[i];
		s64 sdx = n * l->cdx[i] - (s64)l->sd * l->cx[i];
		s64 sdy = n * l->cdy[i] - (s64)l->sd * l->cy[i];
		s64 num, den, rho;

		/* The cell must follow the floods, unclipped. */
		if (l->cmax[i] >= BL_SAT_Q4 ||
		    sxx < (s64)BL_MIN_CELL_RESP * BL_MIN_CELL_RESP / 4 * n * n)
			continue;
		/* |sdd| <= 64^2, |sxx|, |sxy| < 2^37, |sdx|, |sdy| < 2^25. */
		num = sdd * sxy - sdx * sdy;
		den = sxx * sdd - sdx * sdx;
		if (den <= 0)
			continue;
		/* Scale the denominator down rather than num up: no overflow. */
		den = bl_div_s64(den, 1000);
		if (den <= 0)
			continue;
		if (den > 0xffffffffLL) {
			num >>= 16;
			den >>= 16;
		}
		rho = bl_div_s64(num, (u32)den);
		if (rho < 0)
			rho = 0;
		r[k++] = (s32)(rho > 100000 ? 100000 : rho);
	}
	if (k < BL_MIN_RATIO_CELLS)
		return -1;
	bl_sort_s32(r, k);
	return r[k / 2];
}

static s32 bl_relief_median(const struct bio_live *l)
{
	s32 r[BIO_LIVE_MAX_FRAMES];
	u32 i;

	if (!l->n_relief)
		return -1;
	for (i = 0; i < l->n_relief; i++)
		r[i] = l->relief[i];
	bl_sort_s32(r, l->n_relief);
	return r[l->n_relief / 2];
}

/*
 * The ratio regression needs the 850 nm flood state and d = s940 - s850
 * not to be nearly collinear over the frames so far (a pattern made only
 * of "850 alone" and "940 alone" frames would be): squared correlation
 * at most 3/4.
 */
static bool bl_pattern_usable(const struct bio_live *l)
{
	s64 n = l->frames, on = l->n_on[0];
	s64 vs = n * on - on * on;
	s64 vd = n * l->sdd - (s64)l->sd * l->sd;
	s64 cov = n * l->sxd - on * l->sd;

	return vs > 0 && vd > 0 && 4 * cov * cov <= 3 * vs * vd;
}

enum bio_live_decision bio_live_decide(const struct bio_live *l,
				       u32 *attack_class)
{
	const struct bio_live_params *p = &l->p;
	bool ready = l->frames >= p->frames;
	u32 b;

	*attack_class = BIOREADER_ATTACK_NONE;
	for (b = 0; b < 2; b++)
		if (l->n_on[b] < p->min_state || l->n_off[b] < p->min_state)
			ready = false;
	if (!bl_pattern_usable(l))
		ready = false;
	if (!ready)
		return l->exhausted || l->frames >= BIO_LIVE_MAX_FRAMES ?
		       BIO_LIVE_UNDECIDED : BIO_LIVE_PENDING;

	/* A surface that does not follow the floods: a screen. */
	for (b = 0; b < 2; b++) {
		if (bl_corr(l, b) < p->corr_min || bl_resp(l, b) < p->resp_min) {
			*attack_class = BIOREADER_ATTACK_REPLAY;
			return BIO_LIVE_ATTACK;
		}
	}
	/* Too few frames with depth counts as flat: fail closed. */
	if (l->n_relief < l->frames / 2 ||
	    bl_relief_median(l) < p->relief_min) {
		*attack_class = BIOREADER_ATTACK_PRINT;
		return BIO_LIVE_ATTACK;
	}
	{
		s32 ratio = bl_ratio(l);

		if (ratio < p->ratio_lo || ratio > p->ratio_hi) {
			*attack_class = BIOREADER_ATTACK_MASK;
			return BIO_LIVE_ATTACK;
		}
	}
	return BIO_LIVE_LIVE;
}

#ifndef __KERNEL__
void bio_live_cues(const struct bio_live *l, struct bio_live_cues *c)
{
	u32 b;

	for (b = 0; b < 2; b++) {
		c->corr[b] = bl_corr(l, b);
		c->resp[b] = bl_resp(l, b);
	}
	c->relief = bl_relief_median(l);
	c->ratio = bl_ratio(l);
	c->frames = l->frames;
}
#endif

bool bio_session_decide(enum bio_match_decision md,
			enum bio_live_decision ld, u32 live_class,
			bool live_available, bool allow_no_liveness,
			struct bio_verdict_parts *v)
{
	memset(v, 0, sizeof(*v));
	if (!live_available) {
		if (md == BIO_MATCH_PENDING)
			return false;
		if (md == BIO_MATCH_REJECT) {
			v->outcome = BIOREADER_OUTCOME_NO_MATCH;
		} else if (allow_no_liveness) {
			v->outcome = BIOREADER_OUTCOME_MATCH;
		} else {
			v->outcome = BIOREADER_OUTCOME_INCONCLUSIVE;
			v->reason = BIOREADER_REASON_LIVENESS_UNAVAILABLE;
		}
		return true;
	}
	switch (ld) {
	case BIO_LIVE_ATTACK:
		v->outcome = BIOREADER_OUTCOME_ATTACK;
		v->reason = BIOREADER_REASON_PRESENTATION_ATTACK;
		v->attack_class = live_class;
		v->flags = BIOREADER_VERDICT_LIVENESS_EVALUATED;
		return true;
	case BIO_LIVE_UNDECIDED:
		v->outcome = BIOREADER_OUTCOME_INCONCLUSIVE;
		v->reason = BIOREADER_REASON_LIVENESS_UNAVAILABLE;
		return true;
	case BIO_LIVE_LIVE:
		if (md == BIO_MATCH_PENDING)
			return false;
		v->outcome = md == BIO_MATCH_ACCEPT ? BIOREADER_OUTCOME_MATCH :
			     BIOREADER_OUTCOME_NO_MATCH;
		v->flags = BIOREADER_VERDICT_LIVENESS_EVALUATED;
		return true;
	default:
		return false;
	}
}
