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
#define BL_MIN_REGION_CELLS 8	/* a region's ratio (bl_regions()) */
#define BL_SAT_Q4	(250 * 16)
#define BL_PTS		(BRHW_LAT_N / BIO_LIVE_GRID)	/* lattice points per cell side */
#define BL_CELL_PTS	(BL_PTS * BL_PTS)
/*
 * Implied ambient (bl_alpha()), per mille of the flood at 500 mm: up to
 * the brightest ambient the reader is specified for (700 DN, sun on the
 * face through glass) a reflector is plausible; above 6000 no reflector
 * in working light answers so weakly: a screen.  Between: undecided.
 */
#define BL_ALPHA_MAX	1000000
#define BL_ALPHA_LIVE	3700
#define BL_ALPHA_ATTACK	6000
#define BL_RATIO_SE_K	3	/* ratio: undecided within K se of an edge */

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
	/*
	 * A grey layer (940/850 at most 1.0) hiding up to 40 % of the skin
	 * under it, over the darkest skin (R850 0.26, ratio 0.85), reads
	 * 0.949: up to there skin under makeup and a mask of a material
	 * close to skin look alike (docs/liveness.md, "A layer over the
	 * face").
	 */
	p->ratio_layer = 950;
	p->relief_min = 19;		/* 1.2 mm, noise removed */
	p->alpha_live = BL_ALPHA_LIVE;
	p->alpha_attack = BL_ALPHA_ATTACK;
	switch (security_level) {
	case BIOREADER_SECLEVEL_LOW:
		p->frames = 10;		/* 20 bits */
		p->corr_min = 850;
		break;
	case BIOREADER_SECLEVEL_HIGH:
		p->frames = 20;		/* 40 bits */
		p->corr_min = 930;
		break;
	case BIOREADER_SECLEVEL_MEDIUM:
	default:
		p->frames = 14;		/* 28 bits */
		p->corr_min = 900;
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
static bool bl_relief(struct bio_live *l, const s32 *zc, u32 *relief)
{
	s32 z[BIO_LIVE_CELLS], row[BIO_LIVE_GRID], col[BIO_LIVE_GRID];
	u32 valid = 0, i, j;
	s64 e = 0, duv = 0;
	u64 zsum = 0;
	s32 fill, all;

	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		z[i] = zc[i];
		if (z[i] >= 0) {
			zsum += (u32)z[i];
			valid++;
		}
	}
	if (valid < BIO_LIVE_CELLS * 3 / 4)
		return false;
	fill = (s32)bio_div_u64(zsum, valid);
	l->zsum += (u32)fill;
	l->zn++;
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

/*
 * The depth noise, measured in the session, from the cells themselves:
 * the two interleaved halves of a cell's 4 x 4 points have the same
 * centroid, so a plane, tilted or not, gives both the same mean depth;
 * their difference is noise (plus the surface's curvature within a
 * cell, small).  Var(zA - zB) = var(zA) + var(zB) = 4 var(cell mean)
 * for halves of equal size.  Differences are clipped like residuals.
 */
static void bl_depth_noise(struct bio_live *l)
{
	u64 sq = 0;
	u32 i, n = 0;

	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		s32 za, zb, dz;

		if (!l->cntd[0][i] || !l->cntd[1][i])
			continue;
		za = (s32)(l->acc[4][i] * 16 / l->cntd[0][i]);
		zb = (s32)(l->acc[5][i] * 16 / l->cntd[1][i]);
		dz = za - zb;
		if (dz > BL_CLIP_Q4)
			dz = BL_CLIP_Q4;
		if (dz < -BL_CLIP_Q4)
			dz = -BL_CLIP_Q4;
		sq += (u64)((s64)dz * dz);
		n++;
	}
	l->dn_sum += sq;
	l->dn_cnt += n;
}

static u32 bl_quality_session(const struct bio_live *l, u32 *seen);
static s32 bl_corr(const struct bio_live *l, u32 b);

/*
 * The largest change of the face's distance between frames, per mille,
 * that the challenge tolerates: the flood falls with z^2, so a change
 * dz / z moves the face's brightness by 2 dz / z, and over the challenge
 * such a drift must stay below the weakest flood response a reflector
 * is accepted with, 1 / (alpha_live + 1/2) (bl_alpha(), p = 1/2).
 */
static u32 bl_motion_pm(const struct bio_live_params *p)
{
	u32 resp_min = 1000000 / ((u32)p->alpha_live + 500);

	return resp_min / (2 * p->frames);
}

void bio_live_add(struct bio_live *l, const struct brhw_frame_hdr *hdr,
		  const struct bio_lattice *lat, u32 seq, u8 illum)
{
	u32 i, j, u, b, iw, ih, par_x = 0, par_y = 0;
	u32 region[2] = { 0, 0 }, clipped[2] = { 0, 0 }, relief, seen, held;
	s32 d, z[BIO_LIVE_CELLS];

	if (seq >= BIO_LIVE_MAX_FRAMES) {
		l->exhausted = true;
		return;
	}
	if (!(le32_to_cpu(hdr->flags) & BRHW_FRAME_FACE) ||
	    l->frames >= BIO_LIVE_MAX_FRAMES)
		return;
	/* An inner box this small samples the same few pixels over and over. */
	if (le16_to_cpu(hdr->face_w) * 6 / 10 < BIO_LIVE_MIN_BOX ||
	    le16_to_cpu(hdr->face_h) * 6 / 10 < BIO_LIVE_MIN_BOX) {
		bio_quality_add(&l->q, hdr, NULL, 0, 0, bl_motion_pm(&l->p));
		return;
	}

	/*
	 * The halves of a cell must never share a pixel.  Along an axis
	 * where the lattice steps a pixel or more, every point has its own
	 * pixel column (row): alternate by index.  Where it steps less,
	 * points share pixels: alternate by the pixel's parity.  A point's
	 * half is the XOR of both: two points on one pixel agree on both.
	 */
	iw = le16_to_cpu(hdr->face_w) * 6 / 10;
	ih = le16_to_cpu(hdr->face_h) * 6 / 10;
	for (u = 0; u < BRHW_LAT_N; u++) {
		par_x |= ((iw >= BRHW_LAT_N ? u : iw * u / BRHW_LAT_N) & 1) << u;
		par_y |= ((ih >= BRHW_LAT_N ? u : ih * u / BRHW_LAT_N) & 1) << u;
	}

	/* Cell (i, j) holds lattice points 4i..4i+3 of rows 4j..4j+3. */
	memset(l->acc, 0, sizeof(l->acc));
	memset(l->cntd, 0, sizeof(l->cntd));
	memset(l->cnth, 0, sizeof(l->cnth));
	for (j = 0; j < BRHW_LAT_N; j++) {
		for (u = 0; u < BRHW_LAT_N; u++) {
			u32 c = j / BL_PTS * BIO_LIVE_GRID + u / BL_PTS;
			u32 k = j * BRHW_LAT_N + u;
			u32 h = ((par_x >> u) ^ (par_y >> j)) & 1;
			u32 dz = le16_to_cpu(lat->depth[k]);

			l->cnth[h][c]++;
			l->acc[h][c] += lat->nir_850[k];
			l->acc[2 + h][c] += lat->nir_940[k];
			if (dz) {
				l->acc[4 + h][c] += dz;
				l->cntd[h][c]++;
			}
		}
	}
	d = (s32)!!(illum & BRHW_ILLUM_940) - (s32)!!(illum & BRHW_ILLUM_850);
	/* The face's 850 nm sum first: each cell's instrument leaves it out. */
	for (i = 0; i < BIO_LIVE_CELLS; i++)
		region[0] += (u32)((l->acc[0][i] + l->acc[1][i]) * 16 / BL_CELL_PTS);
	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		u32 na = l->cnth[0][i], nb = l->cnth[1][i];
		s64 mx = (s64)(l->acc[0][i] + l->acc[1][i]) * 16 / BL_CELL_PTS;
		s64 my = (s64)(l->acc[2][i] + l->acc[3][i]) * 16 / BL_CELL_PTS;
		s32 w = ((s32)region[0] - (s32)mx) / (BIO_LIVE_CELLS - 1);
		s64 xa, xb, ya, yb;

		region[1] += (u32)my;
		clipped[0] += mx >= BL_SAT_Q4;
		clipped[1] += my >= BL_SAT_Q4;
		if (mx > l->cmax[i] || my > l->cmax[i])
			l->cmax[i] = (u16)(mx > my ? mx : my);
		/* A cell on one pixel has no second half this frame. */
		if (!na || !nb)
			continue;
		xa = l->acc[0][i] * 16 / na;
		xb = l->acc[1][i] * 16 / nb;
		ya = l->acc[2][i] * 16 / na;
		yb = l->acc[3][i] * 16 / nb;
		l->cn[i]++;
		l->csd[i] += d;
		l->csdd[i] += d * d;
		l->hx[0][i] += xa;
		l->hx[1][i] += xb;
		l->hy[0][i] += ya;
		l->hy[1][i] += yb;
		l->hxx[i] += xa * xb;
		l->hdx[0][i] += d * xa;
		l->hdx[1][i] += d * xb;
		l->hdy[0][i] += d * ya;
		l->hdy[1][i] += d * yb;
		l->cw[i] += w;
		l->cwx[i] += w * (xa + xb);
		l->cwy[i] += w * (ya + yb);
		l->cdw[i] += d * w;
	}
	l->sd += d;
	l->sdd += d * d;
	if (illum & BRHW_ILLUM_850)
		l->sxd += d;
	for (b = 0; b < 2; b++) {
		region[b] /= BIO_LIVE_CELLS;
		l->n_clip[b] += 2 * clipped[b] >= BIO_LIVE_CELLS;
	}
	l->sy01 += (s64)region[0] * region[1];
	l->s01 += (illum & BRHW_ILLUM_850) && (illum & BRHW_ILLUM_940);
	for (b = 0; b < 2; b++) {
		bool on = illum & (b ? BRHW_ILLUM_940 : BRHW_ILLUM_850);
		bool other = illum & (b ? BRHW_ILLUM_850 : BRHW_ILLUM_940);

		if (on) {
			l->n_on[b]++;
			l->sxy[b] += region[b];
		} else {
			l->n_off[b]++;
		}
		if (other)
			l->sxo[b] += region[b];
		l->sy[b] += region[b];
		l->syy[b] += (s64)region[b] * region[b];
	}
	for (i = 0; i < BIO_LIVE_CELLS; i++) {
		u32 nd = l->cntd[0][i] + l->cntd[1][i];

		z[i] = nd ? (s32)((l->acc[4][i] + l->acc[5][i]) * 16 / nd) : -1;
	}
	bl_depth_noise(l);
	if (bl_relief(l, z, &relief) && l->n_relief < BIO_LIVE_MAX_FRAMES)
		l->relief[l->n_relief++] = (u16)(relief > 0xffff ? 0xffff : relief);
	l->frames++;
	/*
	 * The challenge's verdict over its own frames, kept: a band that
	 * followed its flood then and dips later (a face walking up, whose
	 * flood response grows as 1/z^2 over the wait) is not a screen --
	 * a screen cannot follow 2 bits a frame by chance for that long.
	 */
	if (l->frames == l->p.frames)
		for (b = 0; b < 2; b++)
			l->window_ok[b] = bl_corr(l, b) >= l->p.corr_min;
	held = bl_quality_session(l, &seen);
	bio_quality_add(&l->q, hdr, z, seen, held, bl_motion_pm(&l->p));
}

/*
 * The band's face brightness says nothing of the floods: the same in
 * every frame so far (clipped or dark throughout), or half its cells
 * clipped in a quarter of the frames or more (a bright ambient switching
 * on), which flattens the band's answer to its flood there.
 */
static bool bl_band_clipped(const struct bio_live *l, u32 b)
{
	return (s64)l->frames * l->syy[b] - l->sy[b] * l->sy[b] <= 0 ||
	       4 * l->n_clip[b] >= l->frames;
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

/*
 * Is what the floods do not explain common to both bands?  The residuals
 * of both bands' brightness after regressing on the two flood states
 * correlate with r >= 0.8: an ambient that changes from frame to frame
 * (a PWM-dimmed LED, mains ripple) moves both bands together, in the
 * ratio of the surface's reflectances.  A screen replaying an earlier
 * session shows that session's two flood bits, independent of each
 * other: its residuals do not correlate.  Then a weak correlation with
 * the pattern is the ambient's doing, not proof of a screen, and the
 * challenge cannot decide (never live: undecided).
 */
static bool bl_common_mode(const struct bio_live *l)
{
	s64 n = l->frames, u = l->n_on[0], v = l->n_on[1];
	s64 suu = n * u - u * u, svv = n * v - v * v;
	s64 suv = n * l->s01 - u * v, det = suu * svv - suv * suv;
	s64 su[2], sv[2], r[3];
	u32 b, k;

	if (n < 4 || det <= 0)
		return false;
	su[0] = n * l->sxy[0] - u * l->sy[0];
	sv[0] = n * l->sxo[0] - v * l->sy[0];
	su[1] = n * l->sxo[1] - u * l->sy[1];
	sv[1] = n * l->sxy[1] - v * l->sy[1];
	/* r[0], r[1]: residual variances; r[2]: covariance (n^2 scale). */
	for (k = 0; k < 3; k++) {
		u32 i = k == 1 ? 1 : 0, j = k == 0 ? 0 : 1;
		s64 smm = k == 2 ? n * l->sy01 - l->sy[0] * l->sy[1] :
			  n * l->syy[i] - l->sy[i] * l->sy[i];
		/*
		 * |su|, |sv| < 2^25, |suu|, |svv|, |suv| <= 2^10, det <= 2^20:
		 * each product below < 2^55; the fitted part never exceeds
		 * what it is fitted to (< 2^37), so r[] < 2^21 and its
		 * squares below fit.
		 */
		s64 fit = svv * su[i] / 64 * su[j] - suv * (su[i] / 64 * sv[j] +
			  sv[i] / 64 * su[j]) + suu * sv[i] / 64 * sv[j];

		r[k] = (smm - bl_div_s64(fit, (u32)det) * 64) >> 16;
	}
	for (b = 0; b < 2; b++)
		if (r[b] <= 0)
			return false;
	return r[2] > 0 && 25 * r[2] * r[2] >= 16 * r[0] * r[1];
}

/* Shift that brings |v| below 2^bits. */
static u32 bl_shift_for(u64 v, u32 bits)
{
	u32 sh = 0;

	while ((v >> sh) >= (1ULL << bits))
		sh++;
	return sh;
}

/*
 * The differential challenge (docs/liveness.md, "An ambient that switches
 * between frames"), for band @b against the other band o: the fit
 *
 *   m_b = c + beta * m_o + k * d,   d = s940 - s850.
 *
 * With an ambient A(t) common to both bands, m940 - rho * m850 =
 * r940 * (F - X) * d(t) + noise (and m850 - m940 / rho = -r850 * (F - X)
 * * d(t) + noise), whatever A(t) does: holding the other band fixed
 * takes the ambient out, and what is left must follow d if the surface
 * follows the floods.  @corr: the partial correlation of m_b with d
 * (Q10, sign-corrected so that a reflector reads positive); @resp: |k|,
 * the band's flood response with the ambient taken out, per mille of
 * the band's mean brightness (as bl_resp()).  d carries 1.5 bits per
 * frame (0 when both floods are alike): bio_live_decide() asks for a
 * third more frames on this path.  False when the sums do not allow
 * the fit.
 */
static bool bl_diff_fit(const struct bio_live *l, u32 b, s32 *corr,
			s32 *resp)
{
	u32 o = !b, sh, shd;
	s64 n = l->frames, sd = l->sd;
	s64 sxx = n * l->syy[o] - l->sy[o] * l->sy[o];
	s64 syy = n * l->syy[b] - l->sy[b] * l->sy[b];
	s64 sxy = n * l->sy01 - l->sy[0] * l->sy[1];
	s64 sdd = n * l->sdd - sd * sd;
	/* sum of m * d: m * s940 - m * s850 */
	s64 sdx = n * (b ? l->sxo[0] - l->sxy[0] : l->sxy[1] - l->sxo[1]) -
		  sd * l->sy[o];
	s64 sdy = n * (b ? l->sxy[1] - l->sxo[1] : l->sxo[0] - l->sxy[0]) -
		  sd * l->sy[b];
	s64 num, vy, vd, k;
	u64 m, den;

	if (n < 4 || sxx <= 0 || syy <= 0 || sdd <= 0 || l->sy[b] <= 0)
		return false;
	/*
	 * n <= 64, brightness (Q4) <= 4080: the brightness sums < 2^37,
	 * those with d < 2^25, sdd <= 2^12.  Scale the first below 2^23 and
	 * the second by the square root of that, so that every product
	 * below stays under 2^50 and each pair of terms keeps one scale.
	 */
	m = (u64)(sxx > syy ? sxx : syy);
	sh = bl_shift_for(m, 22) & ~1U;
	shd = sh / 2;
	sxx >>= sh;
	syy >>= sh;
	sxy = sxy < 0 ? -(-sxy >> sh) : sxy >> sh;
	sdx = sdx < 0 ? -(-sdx >> shd) : sdx >> shd;
	sdy = sdy < 0 ? -(-sdy >> shd) : sdy >> shd;
	if (sxx <= 0)
		return false;
	num = sdy * sxx - sdx * sxy;
	vy = syy * sxx - sxy * sxy;
	vd = sdd * sxx - sdx * sdx;
	if (vy <= 0 || vd <= 0)
		return false;
	if (!b)
		num = -num;	/* 850 nm answers -d */
	/*
	 * k = num / vd * 2^shd (Q4 brightness per unit of d); the mean is
	 * sy[b] / n.  |num| < 2^48 and k < 2^16: each step fits.
	 */
	k = (s64)bio_div_u64((u64)(num < 0 ? -num : num) << 10, (u64)vd);
	*resp = (s32)bio_div_u64(((u64)k << shd) * 1000 * (u64)n,
				 (u64)l->sy[b] << 10);
	den = (u64)bio_isqrt64((u64)vy) * bio_isqrt64((u64)vd);
	if (!den)
		return false;
	while (den > 0xffffffffULL) {
		den >>= 1;
		num /= 2;
	}
	*corr = (s32)bl_div_s64(num * 1024, (u32)den);
	return true;
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

/* Median of @v (sorted in place) and its standard error from the MAD. */
static s32 bl_median_se(s32 *v, u32 k, s32 *se)
{
	s32 dev[BIO_LIVE_CELLS], med;
	u32 i;

	bl_sort_s32(v, k);
	med = v[k / 2];
	for (i = 0; i < k; i++)
		dev[i] = v[i] >= med ? v[i] - med : med - v[i];
	bl_sort_s32(dev, k);
	/* sd = 1.4826 MAD; the median's se is 1.2533 sd / sqrt(k). */
	*se = (s32)bl_div_s64((s64)dev[k / 2] * 1858,
			      bio_isqrt64((u64)k * 1000000));
	return med;
}

/*
 * Median 940/850 reflectance ratio over the cells that follow the floods,
 * and its standard error.
 *
 * With both bands lit by the same ambient light A(t) and by floods of
 * equal power F (crosstalk X), a cell of reflectances r850, r940 reads
 *
 *   x(t) = r850 * (A(t) + F * s850(t) + X * s940(t)) + ex(t)
 *   y(t) = r940 * (A(t) + F * s940(t) + X * s850(t)) + ey(t)
 *
 * so y(t) - rho * x(t) = r940 * (F - X) * d(t) + ey - rho * ex with
 * rho = r940 / r850 and d = s940 - s850: the regression y = c + rho * x +
 * k * d gives rho free of whatever the ambient light does from frame to
 * frame (flicker).  But x carries sensor noise ex: least squares divides
 * by the variance of x *including* the noise, so at low signal the slope
 * is attenuated towards 0 by var(signal) / (var(signal) + var(ex))
 * (errors in variables; docs/liveness.md).
 *
 * An instrument fixes that: a variable that follows the cell's signal
 * but not its noise.  Each cell's points are split into two interleaved
 * halves A, B with independent noise (their product, S[xA xB], is the
 * cell's signal variance without the noise: the gate below).  The
 * instrument is w, the mean 850 nm brightness of the other 63 cells,
 * which carries the floods and whatever the ambient does to the whole
 * face (flicker), and none of this cell's noise:
 *
 *   rho = (Sdd S[w y] - S[d w] S[d y]) / (Sdd S[w x] - S[d w] S[d x])
 *
 * with centred sums S and x = xA + xB, y = yA + yB.  Consistent at any
 * signal-to-noise ratio, and a flicker common to the face still helps.
 * (Where the face is so small that neighbouring cells share a pixel,
 * that pixel's noise enters w with 1/63 of its weight: a negligible
 * pull towards least squares.)
 *
 * Not the other half of the cell: what changes a cell's make-up from
 * frame to frame (the face moves by a pixel and an edge between two
 * surfaces -- a mask and the wearer's eyes behind its openings -- moves
 * through the cell) changes both halves alike, by (r - r') times the
 * whole light, ambient included.  In an ambient several times the flood
 * that change outweighs the floods' and the slope is the edge's, not
 * the surface's ratio (a silicone mask read as skin under NIR light).
 * The other cells' mean does not follow one cell's edge.
 */
static s32 bl_ratio_rows(const struct bio_live *l, u32 row0, u32 row1,
			 u32 min_cells, s32 *se)
{
	s32 r[BIO_LIVE_CELLS];
	u32 i, k = 0;

	*se = -1;
	for (i = row0 * BIO_LIVE_GRID; i < row1 * BIO_LIVE_GRID; i++) {
		s64 n = l->cn[i], sd = l->csd[i];
		s64 sdd = n * l->csdd[i] - sd * sd;
		s64 sxx = n * l->hxx[i] - l->hx[0][i] * l->hx[1][i];
		s64 sdxa = n * l->hdx[0][i] - sd * l->hx[0][i];
		s64 sdxb = n * l->hdx[1][i] - sd * l->hx[1][i];
		s64 sdya = n * l->hdy[0][i] - sd * l->hy[0][i];
		s64 sdyb = n * l->hdy[1][i] - sd * l->hy[1][i];
		s64 sx = l->hx[0][i] + l->hx[1][i], sy = l->hy[0][i] + l->hy[1][i];
		s64 swx = n * l->cwx[i] - l->cw[i] * sx;
		s64 swy = n * l->cwy[i] - l->cw[i] * sy;
		s64 sdw = n * l->cdw[i] - sd * l->cw[i];
		s64 sdx = sdxa + sdxb, sdy = sdya + sdyb;
		s64 num, den, rho;

		if (n < 4 || sdd <= 0)
			continue;
		/*
		 * The cell must follow the floods, unclipped: S[xA xB] is
		 * the variance of its signal without the noise.
		 */
		if (l->cmax[i] >= BL_SAT_Q4 ||
		    sxx < (s64)BL_MIN_CELL_RESP * BL_MIN_CELL_RESP / 4 * n * n)
			continue;
		/* |sdd| <= 64^2, |swx|, |swy| < 2^38, |sdw|, |sdx|, |sdy| < 2^26. */
		num = sdd * swy - sdw * sdy;
		den = sdd * swx - sdw * sdx;
		if (den <= 0)
			continue;
		/* Scale the denominator down rather than num up: no overflow. */
		den = bl_div_s64(den, 1000);
		if (den <= 0)
			continue;
		while (den > 0xffffffffLL) {	/* at most 3 rounds */
			num >>= 8;
			den >>= 8;
		}
		rho = bl_div_s64(num, (u32)den);
		if (rho < 0)
			rho = 0;
		r[k++] = (s32)(rho > 100000 ? 100000 : rho);
	}
	if (k < min_cells)
		return -1;
	return bl_median_se(r, k, se);
}

/* Cells whose brightness reached saturation in some frame. */
static u32 bl_clipped_cells(const struct bio_live *l)
{
	u32 i, n = 0;

	for (i = 0; i < BIO_LIVE_CELLS; i++)
		n += l->cmax[i] >= BL_SAT_Q4;
	return n;
}

static s32 bl_ratio(const struct bio_live *l, s32 *se)
{
	return bl_ratio_rows(l, 0, BIO_LIVE_GRID, BL_MIN_RATIO_CELLS, se);
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
 * Variance of a cell's mean depth from the sensor's noise, as measured
 * in this session (bl_depth_noise()), (mm Q4)^2.
 */
static s64 bl_noise_var(const struct bio_live *l)
{
	if (!l->dn_cnt)
		return 0;
	return (s64)bio_div_u64(l->dn_sum, 4 * (u64)l->dn_cnt);
}

/*
 * The squared relief with the noise taken out, (mm Q4)^2.  A frame's
 * residual RMS^2 is the surface's own relief^2 plus the noise that the
 * fit leaves: 64 cells, 16 fitted parameters (8 rows, 8 columns, less
 * the shared mean, and the twist), so 48/64 of the noise variance.
 * @noise2 gets that noise part.
 */
static s64 bl_relief2(const struct bio_live *l, s64 *noise2)
{
	s64 med = bl_relief_median(l);

	*noise2 = bl_noise_var(l) * 3 / 4;
	return med * med - *noise2;
}

/*
 * The ambient a reflector would have to stand in to answer the floods
 * as weakly as this surface does, in per mille of the flood's light at
 * 500 mm (the challenge response normalised by the ambient).
 *
 * A reflector r at distance z, under ambient A and a flood that gives F
 * at 500 mm (F_z = F (500 / z)^2 at z), on in a fraction p of the frames,
 * reads r (A + F_z p) on average and r F_z more when its flood is on:
 * resp = F_z / (A + F_z p), whatever r.  So
 *
 *   A / F = (1 / resp - p) (500 / z)^2,
 *
 * z from the depth plane, p from the pattern.  For a reflector this is
 * the ambient really there; a screen, whose glass returns 1.5-4 % of the
 * flood beside what it emits, implies an ambient far brighter than any
 * the reader works in, unless it is dimmed and far away, where the two
 * overlap (docs/liveness.md, "Challenge response and the ambient").
 */
static s32 bl_alpha_resp(const struct bio_live *l, u32 b, s64 resp)
{
	s64 t;
	u64 z;

	if (resp <= 0 || !l->frames)
		return BL_ALPHA_MAX;
	t = bl_div_s64(1000000, (u32)resp) -
	    bl_div_s64(1000 * (s64)l->n_on[b], l->frames);
	z = l->zn ? bio_div_u64(l->zsum, (u64)l->zn * 16) : 500;
	if (z < 100)
		z = 100;
	t = bl_div_s64(t * 250000, (u32)(z * z));
	return (s32)(t > BL_ALPHA_MAX ? BL_ALPHA_MAX : t);
}

static s32 bl_alpha(const struct bio_live *l, u32 b)
{
	return bl_alpha_resp(l, b, bl_resp(l, b));
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

/*
 * The face's regions for the ratio, in rows of the 8 x 8 grid.  The grid
 * covers the inner 60 % of the face box the frame header gives, so row
 * j spans 0.20 + 0.075 j to 0.275 + 0.075 j of the box's height.  The
 * eyes sit at about 0.40 of a face's height and the nose's tip at about
 * 0.56, the mouth at about 0.70.  Upper face: rows 0-2 (to 0.425:
 * forehead and eyes, which a mask over nose and mouth never covers).
 * Lower face: rows 4-7 (from 0.50: nose and mouth).  Row 3 (0.425-0.50,
 * the bridge of the nose) is in neither: the upper edge of a mask worn
 * over the nose falls within it, so its cells are a mixture.
 */
#define BL_UPPER_ROWS	3	/* rows 0 .. BL_UPPER_ROWS - 1 */
#define BL_LOWER_ROW	4	/* rows BL_LOWER_ROW .. 7 */

/* The ratio over the upper and the lower face, each with K standard errors. */
struct bl_region_ratios {
	s32 up, se_up;
	s32 low, se_low;
};

/* False when a region has fewer than BL_MIN_REGION_CELLS responding cells. */
static bool bl_regions(const struct bio_live *l, struct bl_region_ratios *r)
{
	r->up = bl_ratio_rows(l, 0, BL_UPPER_ROWS, BL_MIN_REGION_CELLS, &r->se_up);
	r->low = bl_ratio_rows(l, BL_LOWER_ROW, BIO_LIVE_GRID,
			       BL_MIN_REGION_CELLS, &r->se_low);
	if (r->up < 0 || r->low < 0)
		return false;
	r->se_up *= BL_RATIO_SE_K;
	r->se_low *= BL_RATIO_SE_K;
	return true;
}

/*
 * A live face with its lower half covered: the lower face reflects like
 * no skin -- its ratio above the skin band by more than K standard
 * errors, the water band missing (cloth, paper, plastics) -- while the
 * upper face is not above the skin band by more than K (bl_upper_artefact()
 * has already ruled out an upper face below the band).  The darkest
 * skin reads up to 0.85, within K standard errors of the band's edge
 * where the upper face has few cells: such an upper face still counts.
 */
static bool bl_covered(const struct bio_live_params *p,
		       const struct bl_region_ratios *r)
{
	return r->low - r->se_low > p->ratio_hi &&
	       r->up - r->se_up <= p->ratio_hi;
}

/*
 * The upper face (forehead, eyes) reflects like no skin, not even skin
 * under a layer, by more than K standard errors: an artefact over it,
 * whatever the rest of the face shows.  Nothing a live person wears
 * there moves the ratio so far: glasses dim both bands alike, and their
 * glints saturate and drop out; makeup stays below ratio_layer.
 */
static bool bl_upper_artefact(const struct bio_live_params *p,
			      const struct bl_region_ratios *r)
{
	return r->up + r->se_up < p->ratio_lo ||
	       r->up - r->se_up > p->ratio_layer;
}

/*
 * The upper face above the skin band by more than K standard errors but
 * not above what a layer over skin gives: makeup, or a mask of a
 * material close to skin (bl_upper_artefact() decides first).
 */
static bool bl_upper_layer(const struct bio_live_params *p,
			   const struct bl_region_ratios *r)
{
	return r->up - r->se_up > p->ratio_hi;
}

/*
 * The shortfalls measured on the session's sums so far (bio_quality.h),
 * once each flood has been on and off often enough to measure them;
 * @seen gets those measured.
 *
 * Too bright: in either band the implied ambient is above the brightest
 * the reader is specified for (alpha_live: 700 DN, sun on the face
 * through glass): the floods are too weak against it to decide.
 *
 * Face covered: bl_covered().
 */
static u32 bl_quality_session(const struct bio_live *l, u32 *seen)
{
	const struct bio_live_params *p = &l->p;
	struct bl_region_ratios r;
	u32 b, held = 0;

	*seen = 0;
	for (b = 0; b < 2; b++)
		if (l->n_on[b] < p->min_state || l->n_off[b] < p->min_state)
			return 0;
	*seen = BIO_Q_BIT(BIO_Q_TOO_BRIGHT);
	for (b = 0; b < 2; b++)
		if (bl_alpha(l, b) > p->alpha_live)
			held |= BIO_Q_BIT(BIO_Q_TOO_BRIGHT);
	if (!bl_regions(l, &r))
		return held;
	*seen |= BIO_Q_BIT(BIO_Q_COVERED);
	if (bl_covered(p, &r))
		held |= BIO_Q_BIT(BIO_Q_COVERED);
	return held;
}

enum bio_live_decision bio_live_decide(const struct bio_live *l,
				       u32 *attack_class)
{
	const struct bio_live_params *p = &l->p;
	bool ready = l->frames >= p->frames, weak = false, layer = false;
	s64 rel2, noise2, min2 = (s64)p->relief_min * p->relief_min;
	s64 flat2 = min2;
	struct bl_region_ratios reg;
	bool regions, covered;
	s32 ratio, se;
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

	/*
	 * A surface that does not follow the floods, or answers them as
	 * weakly as glass: a screen.  Between glass and any reflector the
	 * evidence does not decide (weak).  A band whose correlation an
	 * ambient common to both bands swamps is judged on the difference
	 * of the bands instead (bl_diff_fit()): its correlation with d over
	 * a third more frames for the challenge, its response with the
	 * ambient taken out for the implied ambient -- the band's own
	 * on/off response is the ambient's noise there.  Failing the
	 * difference leaves the challenge undecided, never an attack: at
	 * low signal it is noisy for a live face too.
	 */
	for (b = 0; b < 2; b++) {
		s32 alpha, dcorr, dresp;

		if (bl_band_clipped(l, b)) {
			/*
			 * Clipping, not a screen, kept the band from
			 * following its flood: undecided, never live.
			 */
			weak = true;
			continue;
		}
		if (bl_corr(l, b) >= p->corr_min) {
			alpha = bl_alpha(l, b);
		} else if (!bl_common_mode(l)) {
			if (!l->window_ok[b]) {
				*attack_class = BIOREADER_ATTACK_REPLAY;
				return BIO_LIVE_ATTACK;
			}
			/* Followed it over the challenge: motion, not a screen. */
			alpha = bl_alpha(l, b);
			weak = true;
		} else if (bl_diff_fit(l, b, &dcorr, &dresp)) {
			alpha = bl_alpha_resp(l, b, dresp);
			if (3 * l->frames < 4 * p->frames ||
			    dcorr < p->corr_min)
				weak = true;
		} else {
			alpha = bl_alpha(l, b);
			weak = true;
		}
		if (alpha > p->alpha_attack) {
			*attack_class = BIOREADER_ATTACK_REPLAY;
			return BIO_LIVE_ATTACK;
		}
		if (alpha > p->alpha_live)
			weak = true;
	}
	/*
	 * Relief against the depth noise measured in this session: flat
	 * when below the threshold by more than the noise's own scatter
	 * (and the noise alone is below the threshold, so the test can
	 * tell), a face when above by as much, undecided otherwise.  Too
	 * few frames with depth counts as flat: fail closed.
	 *
	 * A face whose lower part is covered (bl_covered()) is never live,
	 * and the cloth over it, taut from the nose's tip to the cheeks,
	 * takes up to half the nose's relief: such a face is flat only
	 * below half the threshold.  So is a surface whose ratio is skin's
	 * by more than K se: a child's face, 70-82 % of an adult's with a
	 * smaller nose, has about 60 % of the relief; below the threshold
	 * it is never live either.  A sheet is flat whatever covers it
	 * and still reads as a print; one with relief between the two
	 * and a ratio of skin (over the upper face, or the whole face) is
	 * the skin-like material, and gets INCONCLUSIVE, not live.
	 */
	ratio = bl_ratio(l, &se);
	se *= BL_RATIO_SE_K;
	regions = bl_regions(l, &reg);
	covered = regions && bl_covered(p, &reg);
	if (covered || (ratio >= 0 && ratio - se >= p->ratio_lo &&
			ratio + se <= p->ratio_hi))
		flat2 = min2 / 4;
	rel2 = bl_relief2(l, &noise2);
	if (l->n_relief < l->frames / 2 ||
	    (rel2 < flat2 - noise2 / 4 && noise2 < flat2)) {
		*attack_class = BIOREADER_ATTACK_PRINT;
		return BIO_LIVE_ATTACK;
	}
	if (rel2 < min2 + noise2 / 4)
		weak = true;
	/*
	 * The ratio against the skin band, with its standard error: out by
	 * more than K se is a mask, in by more than K se skin, within K se
	 * of an edge undecided.
	 *
	 * Per region (docs/liveness.md, "Occluders per region"): an
	 * artefact over the upper face is a mask whatever the median says
	 * (a partial mask).  A face whose upper part is skin and whose lower
	 * part has no water band is a live face behind a mask over nose and
	 * mouth as much as a mask of someone's lower face over another's:
	 * the matcher sees the whole face, so the reader can only ask to
	 * lower the mask -- never live, even where the median is skin's;
	 * undecided, and INCONCLUSIVE / FACE_COVERED when it stays so.
	 */
	if (regions && bl_upper_artefact(p, &reg)) {
		*attack_class = BIOREADER_ATTACK_MASK;
		return BIO_LIVE_ATTACK;
	}
	if (covered) {
		weak = true;
	} else if (ratio < 0 && bl_clipped_cells(l) >= BL_MIN_RATIO_CELLS) {
		/*
		 * Too few cells answer the floods unclipped to measure it,
		 * and enough are clipped that they might have (a bright
		 * ambient switching on and off): no evidence either way --
		 * undecided, never live, and no accusation.  Cells that
		 * simply do not answer (a screen) still fail below.
		 */
		weak = true;
	} else if (ratio + se < p->ratio_lo || ratio - se > p->ratio_layer) {
		*attack_class = BIOREADER_ATTACK_MASK;
		return BIO_LIVE_ATTACK;
	} else if (ratio - se > p->ratio_hi ||
		   (regions && bl_upper_layer(p, &reg))) {
		/*
		 * Above the skin band by more than K se, within what a grey
		 * layer over skin gives (docs/liveness.md, "A layer over the
		 * face"): heavy makeup and a mask close to skin look alike.
		 * Never live, never an attack, and a failed attempt all the
		 * same -- once the other cues are decided, so that a print
		 * whose relief is still undecided can yet show it is flat.
		 */
		layer = true;
	} else if (ratio - se < p->ratio_lo || ratio + se > p->ratio_hi) {
		weak = true;
	}
	if (!weak)
		return layer ? BIO_LIVE_LAYER : BIO_LIVE_LIVE;
	/*
	 * Never live on evidence that does not decide: wait for more frames
	 * (twice the challenge, within the pattern), then inconclusive.
	 */
	if (l->frames < 2 * p->frames && !l->exhausted &&
	    l->frames < BIO_LIVE_MAX_FRAMES)
		return BIO_LIVE_PENDING;
	return layer ? BIO_LIVE_LAYER : BIO_LIVE_UNDECIDED;
}

#ifndef __KERNEL__
void bio_live_cues(const struct bio_live *l, struct bio_live_cues *c)
{
	s64 noise2, rel2 = bl_relief2(l, &noise2);
	u32 b;

	for (b = 0; b < 2; b++) {
		c->corr[b] = bl_corr(l, b);
		c->resp[b] = bl_resp(l, b);
		c->alpha[b] = bl_alpha(l, b);
	}
	c->relief_raw = bl_relief_median(l);
	c->relief = rel2 > 0 ? (s32)bio_isqrt64((u64)rel2) : 0;
	c->depth_noise = (s32)bio_isqrt64((u64)bl_noise_var(l));
	c->dist = l->zn ? (s32)bio_div_u64(l->zsum, (u64)l->zn * 16) : -1;
	c->ratio = bl_ratio(l, &c->ratio_se);
	c->ratio_up = bl_ratio_rows(l, 0, BL_UPPER_ROWS, BL_MIN_REGION_CELLS,
				    &c->se_up);
	c->ratio_low = bl_ratio_rows(l, BL_LOWER_ROW, BIO_LIVE_GRID,
				     BL_MIN_REGION_CELLS, &c->se_low);
	c->frames = l->frames;
}
#endif

bool bio_session_decide(enum bio_match_decision md,
			enum bio_live_decision ld, u32 live_class,
			u32 quality_reason, bool live_available,
			bool allow_no_liveness, struct bio_verdict_parts *v)
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
	case BIO_LIVE_LAYER:
		v->outcome = BIOREADER_OUTCOME_INCONCLUSIVE;
		v->reason = BIOREADER_REASON_SKIN_UNCERTAIN;
		v->flags = BIOREADER_VERDICT_LIVENESS_EVALUATED;
		return true;
	case BIO_LIVE_UNDECIDED:
		/* Why the evidence did not decide, if the frames said so. */
		v->outcome = BIOREADER_OUTCOME_INCONCLUSIVE;
		v->reason = quality_reason ?: BIOREADER_REASON_LIVENESS_UNAVAILABLE;
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
