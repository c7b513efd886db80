/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Synthetic sensor values for the liveness tests (test_live_estimators,
 * test_quality): sensor noise and the 8-bit pixel it ends up in.
 */
#ifndef _BIOREADER_TEST_SYNTH_PX_H
#define _BIOREADER_TEST_SYNTH_PX_H

#include <stdlib.h>

#include "algo/bio_compat.h"

/* Near-Gaussian deviate, sd 1: the sum of 12 uniforms (no libm here). */
static inline double gauss(void)
{
	double s = 0;
	int i;

	for (i = 0; i < 12; i++)
		s += (double)rand() / RAND_MAX;
	return s - 6;
}

/* A level in DN as the sensor's 8-bit pixel: rounded, clipped. */
static inline u8 px(double v)
{
	return v < 0 ? 0 : v > 254.5 ? 255 : (u8)(v + 0.5);
}

#endif /* _BIOREADER_TEST_SYNTH_PX_H */
