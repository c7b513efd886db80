// SPDX-License-Identifier: GPL-2.0-only
/*
 * The simulated device signs its frames with the same code the driver
 * verifies them with.  Kbuild links an object into one module only, so
 * the simulator compiles its own copy of those files here.
 */
#include "../algo/bio_mac_kernel.c"
#include "../algo/bio_lattice.c"
#include "../algo/bio_frame_sign.c"
