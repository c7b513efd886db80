/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Simulated people: the face embedding a simulated sensor reports for a
 * person of a given identity.  Built into the simulator and into the
 * userspace tools, which use it to write the "ID card" template of a
 * simulated person.  Deterministic: the same identity gives the same
 * embedding on every machine.
 */
#ifndef _SIM_IDENTITY_H
#define _SIM_IDENTITY_H

#include "../algo/bio_compat.h"

/* splitmix64: small, fast, good enough for a scene's noise. */
static inline u64 sim_prng_next(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * An approximately normal deviate with standard deviation 4096 (sum of
 * four uniforms, Irwin-Hall), in [-14563, 14563].
 */
s32 sim_prng_gauss(u64 *state);

/* The clean embedding of @identity: int8, L2-normalised, scale 127. */
void sim_identity_embedding(u64 identity, u16 dim, s8 *out);

/*
 * One frame's embedding of @identity: the clean direction plus
 * independent noise whose standard deviation is @noise_pct percent of
 * the signal's, then normalised.  noise_pct 45 gives cosines to the
 * clean embedding of about 0.9.
 */
void sim_identity_sample(u64 identity, u64 *rng, u32 noise_pct, u16 dim,
			 s8 *out);

/*
 * The "ID card" template of @identity in the uAPI template format
 * (uapi/linux/bioreader.h) into @buf of @cap bytes.  Returns its length,
 * or 0 when @dim is 0 or above BRHW_EMB_MAX or @cap is too small.
 */
size_t sim_identity_template(u64 identity, u16 dim, u8 *buf, size_t cap);

#endif /* _SIM_IDENTITY_H */
