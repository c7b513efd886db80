/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Format of the simulated reader's test capture (docs/hardware.md,
 * "Session capture"): what debugfs .../capture reads back, and what the
 * native replay (tools/bioeval, --replay) reads in.  Fixed-width,
 * little-endian, no kernel-only types.
 *
 *   struct sim_capture_hdr, then @nframes frames of @frame_size bytes,
 *   each byte for byte as the device wrote it into the driver's buffer,
 *   in delivery order.
 */
#ifndef _BIOREADER_SIM_CAPTURE_H
#define _BIOREADER_SIM_CAPTURE_H

#include <linux/types.h>

#include "../bioreader_hw.h"

#define SIM_CAP_MAGIC		0x50414342	/* "BCAP" */
#define SIM_CAP_VERSION		1
#define SIM_CAP_MAX_FRAMES	256
#define SIM_CAP_MAX_BYTES	(64U << 20)

struct sim_capture_hdr {
	__le32 magic;		/*  0 SIM_CAP_MAGIC */
	__le16 version;		/*  4 SIM_CAP_VERSION */
	__le16 hdr_len;		/*  6 sizeof(struct sim_capture_hdr) */
	__le16 width;		/*  8 */
	__le16 height;		/* 10 */
	__le32 frame_size;	/* 12 BRHW_FRAME_SIZE(width, height) */
	__le32 nframes;		/* 16 frames that follow */
	__le32 lost;		/* 20 delivered but not kept (capacity) */
	__le64 key_time_ns;	/* 24 KEY_TIME of the session's key */
	__le32 illum[BRHW_ILLUM_WORDS]; /* 32 pattern, as programmed */
	__le32 illum_len;	/* 48 */
	__le32 reserved;	/* 52 */
	__u8 key[BRHW_MAC_KEY_SIZE];	/* 56 the session's MAC key */
};

#endif /* _BIOREADER_SIM_CAPTURE_H */
