// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * 1:1 matching in fixed point.  The kernel has no FPU for us, and a
 * similarity computed here must never leave the kernel: callers only
 * ever see the decision.
 */
#include "bio_match.h"

int bio_template_parse(struct bio_template *t, const void *buf, size_t len,
		       u16 expect_dim)
{
	const u8 *p = buf;
	const struct bioreader_template_hdr *h = buf;
	u64 norm2 = 0;
	u16 dim;
	u32 i;

	if (len > BIOREADER_TEMPLATE_MAX)
		return -EMSGSIZE;
	if (len < BIOREADER_TEMPLATE_HDR_SIZE)
		return -EBADMSG;
	if (le32_to_cpu(h->magic) != BIOREADER_TEMPLATE_MAGIC ||
	    le16_to_cpu(h->version) != BIOREADER_TEMPLATE_VERSION ||
	    h->format != BIOREADER_TEMPLATE_FMT_INT8_L2)
		return -EBADMSG;
	for (i = 0; i < sizeof(h->reserved); i++)
		if (h->reserved[i])
			return -EBADMSG;
	dim = le16_to_cpu(h->dim);
	if (!dim || dim != expect_dim || dim > BRHW_EMB_MAX ||
	    len != (size_t)BIOREADER_TEMPLATE_HDR_SIZE + dim)
		return -EBADMSG;

	t->dim = dim;
	for (i = 0; i < dim; i++) {
		s8 v = (s8)p[BIOREADER_TEMPLATE_HDR_SIZE + i];

		t->data[i] = v;
		norm2 += (u64)((s32)v * v);
	}
	if (!norm2) {
		bio_wipe(t, sizeof(*t));
		return -EBADMSG;
	}
	t->norm2 = norm2;
	return 0;
}

s32 bio_match_similarity(const struct bio_template *t, const s8 *emb)
{
	s64 dot = 0, sim;
	u64 ne = 0, den;
	u32 i;

	for (i = 0; i < t->dim; i++) {
		dot += (s32)t->data[i] * emb[i];
		ne += (u64)((s32)emb[i] * emb[i]);
	}
	if (!ne || !t->norm2)
		return 0;
	/* Both norms are below 128 * 127^2, so the product fits in u64. */
	den = bio_isqrt64(t->norm2 * ne);
	if (!den)
		return 0;
	sim = dot * BIO_Q15_ONE;
	/* Round towards zero; both signs handled without 64-bit division helpers. */
	if (sim >= 0)
		sim = (s64)bio_div_u64((u64)sim, den);
	else
		sim = -(s64)bio_div_u64((u64)(-sim), den);
	if (sim > BIO_Q15_ONE)
		sim = BIO_Q15_ONE;
	if (sim < -BIO_Q15_ONE)
		sim = -BIO_Q15_ONE;
	return (s32)sim;
}

s32 bio_match_threshold(u32 security_level)
{
	switch (security_level) {
	case BIOREADER_SECLEVEL_LOW:
		return 14746;	/* 0.45 */
	case BIOREADER_SECLEVEL_HIGH:
		return 21299;	/* 0.65 */
	case BIOREADER_SECLEVEL_MEDIUM:
	default:
		return 18022;	/* 0.55 */
	}
}

void bio_match_agg_add(struct bio_match_agg *a, s32 similarity)
{
	a->frames++;
	a->sum += similarity;
}

enum bio_match_decision bio_match_decide(const struct bio_match_agg *a,
					 u32 frames_required,
					 s32 threshold)
{
	if (!frames_required || a->frames < frames_required)
		return BIO_MATCH_PENDING;
	/* mean >= threshold, without a division */
	if (a->sum >= (s64)threshold * a->frames)
		return BIO_MATCH_ACCEPT;
	return BIO_MATCH_REJECT;
}
