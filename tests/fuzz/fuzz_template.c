// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: template parsing and matching
 * (kernel/algo/bio_match.c) on arbitrary bytes, as a hostile kiosk
 * application would pass them to SESSION_START.
 */
#include <stdlib.h>

#include "algo/bio_match.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct bio_template t;
	s8 emb[BRHW_EMB_MAX] = { 0 };
	void *buf = malloc(size ? size : 1);
	int r;
	s32 s;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = bio_template_parse(&t, buf, size, 128);
	if (r != 0 && r != -EBADMSG && r != -EMSGSIZE)
		abort();
	if (r == 0) {
		memcpy(emb, t.data, t.dim);
		emb[0] ^= 0x55;
		s = bio_match_similarity(&t, emb);
		if (s > BIO_Q15_ONE || s < -BIO_Q15_ONE)
			abort();
	}
	free(buf);
	return 0;
}
