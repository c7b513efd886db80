// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Simulated identities.  Each identity is a random direction in
 * embedding space; two identities are nearly orthogonal (cosine about
 * 0 +- 1/sqrt(dim)), as embeddings of different people are for a
 * well-trained face model.  Fixed point only: this runs in the kernel.
 */
#include "sim_identity.h"
#include "../algo/bio_match.h"

#define SIM_IDENTITY_SALT	0x62696f7265616465ULL /* "bioreade" */

s32 sim_prng_gauss(u64 *state)
{
	u64 r = sim_prng_next(state);
	s32 sum = 0;
	int i;

	/* Four 16-bit uniforms: variance 4 * 2^32 / 12, sd ~ 37837; scale. */
	for (i = 0; i < 4; i++, r >>= 16)
		sum += (s32)(r & 0xffff) - 32768;
	/* 37837 / 4096 ~ 9.24: divide by 9 and trim, close enough. */
	return sum / 9;
}

static void sim_identity_vector(u64 identity, u16 dim, s32 *v)
{
	u64 st = identity ^ SIM_IDENTITY_SALT;
	u16 i;

	for (i = 0; i < dim; i++)
		v[i] = sim_prng_gauss(&st);
}

static void sim_quantise(const s32 *v, u16 dim, s8 *out)
{
	u64 n2 = 0;
	u32 norm;
	u16 i;

	for (i = 0; i < dim; i++)
		n2 += (u64)((s64)v[i] * v[i]);
	norm = bio_isqrt64(n2);
	for (i = 0; i < dim; i++) {
		s64 q;

		if (!norm) {
			out[i] = 0;
			continue;
		}
		/* round(127 * v / norm), symmetric */
		q = (s64)v[i] * 127 * 2;
		if (q >= 0)
			q = (s64)bio_div_u64((u64)q + norm, 2ULL * norm);
		else
			q = -(s64)bio_div_u64((u64)(-q) + norm, 2ULL * norm);
		out[i] = (s8)(q > 127 ? 127 : q < -127 ? -127 : q);
	}
}

void sim_identity_embedding(u64 identity, u16 dim, s8 *out)
{
	s32 v[BRHW_EMB_MAX];

	if (dim > BRHW_EMB_MAX)
		dim = BRHW_EMB_MAX;
	sim_identity_vector(identity, dim, v);
	sim_quantise(v, dim, out);
	bio_wipe(v, sizeof(v));
}

void sim_identity_sample(u64 identity, u64 *rng, u32 noise_pct, u16 dim,
			 s8 *out)
{
	s32 v[BRHW_EMB_MAX];
	u16 i;

	if (dim > BRHW_EMB_MAX)
		dim = BRHW_EMB_MAX;
	sim_identity_vector(identity, dim, v);
	for (i = 0; i < dim; i++)
		v[i] += sim_prng_gauss(rng) * (s32)noise_pct / 100;
	sim_quantise(v, dim, out);
	bio_wipe(v, sizeof(v));
}

size_t sim_identity_template(u64 identity, u16 dim, u8 *buf, size_t cap)
{
	struct bioreader_template_hdr hdr;
	size_t len = BIOREADER_TEMPLATE_HDR_SIZE + (size_t)dim;

	if (!dim || dim > BRHW_EMB_MAX || cap < len)
		return 0;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = cpu_to_le32(BIOREADER_TEMPLATE_MAGIC);
	hdr.version = cpu_to_le16(BIOREADER_TEMPLATE_VERSION);
	hdr.dim = cpu_to_le16(dim);
	hdr.format = BIOREADER_TEMPLATE_FMT_INT8_L2;
	memcpy(buf, &hdr, sizeof(hdr));
	sim_identity_embedding(identity, dim, (s8 *)(buf + sizeof(hdr)));
	return len;
}
