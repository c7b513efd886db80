// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: the simulator's scene text (kernel/sim/sim_scene.c),
 * which root writes through configfs.  Any input is accepted or refused
 * without reading outside it; an accepted scene prints to a text that
 * parses back to the same scene.
 */
#include <stdlib.h>

#include "sim/sim_scene.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sim_scene a, b;
	char out[SIM_SCENE_TEXT_MAX], small[12];
	char *buf = malloc(size ? size : 1);
	int n;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (!sim_scene_parse(&a, buf, size)) {
		n = sim_scene_print(&a, out, sizeof(out));
		if (n <= 0 || n >= (int)sizeof(out) || out[n - 1] != '\n' ||
		    sim_scene_parse(&b, out, n) || memcmp(&a, &b, sizeof(a)))
			abort();
		n = sim_scene_print(&a, small, sizeof(small));
		if (n >= (int)sizeof(small) || small[n] != '\0')
			abort();
	}
	free(buf);
	return 0;
}
