/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * 1:1 matching of the sensor's face embedding against the reference
 * template from the ID card, in fixed point.  Similarities are cosines
 * in Q15 (32767 ~ 1.0).  Nothing computed here leaves the kernel.
 */
#ifndef _BIO_MATCH_H
#define _BIO_MATCH_H

#include "bio_compat.h"
#include "../bioreader_hw.h"
#include <linux/bioreader.h>

#define BIO_Q15_ONE	32767

struct bio_template {
	u16 dim;
	u64 norm2;		/* sum of squares of data[] */
	s8 data[BRHW_EMB_MAX];	/* biometric: wipe */
};

/*
 * Parse a template in the uAPI format (uapi/linux/bioreader.h).
 * Returns 0, -EMSGSIZE (len > BIOREADER_TEMPLATE_MAX), or -EBADMSG
 * (bad magic, version, format, reserved bytes, dim != @expect_dim,
 * length not header + dim, or an all-zero vector).
 */
int bio_template_parse(struct bio_template *t, const void *buf, size_t len,
		       u16 expect_dim);

/* Cosine similarity of @emb (int8, @t->dim long) and @t, Q15. */
s32 bio_match_similarity(const struct bio_template *t, const s8 *emb);

/* Threshold (Q15) of a security level (BIOREADER_SECLEVEL_LOW..HIGH). */
s32 bio_match_threshold(u32 security_level);

/* Aggregation of per-frame similarities into one decision. */
struct bio_match_agg {
	u32 frames;
	s64 sum;		/* of Q15 similarities: biometric, wipe */
};

enum bio_match_decision {
	BIO_MATCH_PENDING = 0,	/* fewer than frames_required frames */
	BIO_MATCH_ACCEPT,
	BIO_MATCH_REJECT,
};

void bio_match_agg_add(struct bio_match_agg *a, s32 similarity);
enum bio_match_decision bio_match_decide(const struct bio_match_agg *a,
					 u32 frames_required,
					 s32 threshold);

/*
 * Integer square root of a 64-bit value (floor).  Inline: the simulator
 * uses it too, and an object can belong to one module only.
 */
static inline u32 bio_isqrt64(u64 x)
{
	u64 res = 0, bit = 1ULL << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= res + bit) {
			x -= res + bit;
			res = (res >> 1) + bit;
		} else {
			res >>= 1;
		}
		bit >>= 2;
	}
	return (u32)res;
}

#endif /* _BIO_MATCH_H */
