/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * bioreader hardware interface: register map, descriptor ring and frame
 * format.  docs/hardware.md is the datasheet this header encodes; the
 * two change together.
 *
 * Shared by the core driver, the simulated reader and the native
 * (userspace) build of the frame-validation code, so it uses only
 * fixed-width types and no kernel-only headers.
 */
#ifndef _BIOREADER_HW_H
#define _BIOREADER_HW_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/bits.h>
#elif !defined(BIT)
#define BIT(nr)		(1UL << (nr))
#endif

/* ---- Registers: 32 bits wide, little-endian, 4-byte stride ---- */
#define BRHW_REG_ID		0x000 /* RO  BRHW_ID_MAGIC */
#define BRHW_REG_VERSION	0x004 /* RO  major << 16 | minor */
#define BRHW_REG_CAPS		0x008 /* RO  BIOREADER_CAP_* (uapi) */
#define BRHW_REG_GEOMETRY	0x00c /* RO  width | height << 16 */
#define BRHW_REG_FRAME_SIZE	0x010 /* RO  bytes a frame buffer needs */
#define BRHW_REG_EMB		0x014 /* RO  emb dim | format << 16 */
#define BRHW_REG_FPS		0x018 /* RW  frames per second, 1..120 */
#define BRHW_REG_RING_MAX	0x01c /* RO  largest RING_SIZE */
#define BRHW_REG_CTRL		0x020 /* RW  BRHW_CTRL_* */
#define BRHW_REG_STATUS		0x024 /* RO  BRHW_STATUS_* */
#define BRHW_REG_INT_STATUS	0x028 /* RW1C BRHW_INT_* */
#define BRHW_REG_INT_ENABLE	0x02c /* RW  BRHW_INT_* */
#define BRHW_REG_RING_BASE_LO	0x030 /* RW  ring bus address, 64-byte aligned */
#define BRHW_REG_RING_BASE_HI	0x034 /* RW */
#define BRHW_REG_RING_SIZE	0x038 /* RW  descriptors, power of 2, 2..RING_MAX */
#define BRHW_REG_RING_HEAD	0x03c /* RO  next descriptor the device fills */
#define BRHW_REG_RING_TAIL	0x040 /* RW  doorbell: next slot the driver posts */
#define BRHW_REG_DROPPED	0x044 /* RO  frames dropped: no descriptor owned */
#define BRHW_REG_FRAME_SEQ	0x048 /* RO  seq of the next delivered frame */
#define BRHW_REG_KEY_CTRL	0x04c /* WO  BRHW_KEY_* */
#define BRHW_REG_TIME_LO	0x050 /* RO  device clock, ns; reading LO latches HI */
#define BRHW_REG_TIME_HI	0x054 /* RO */
#define BRHW_REG_KEY_TIME_LO	0x058 /* RO  device clock at the last KEY_LOAD */
#define BRHW_REG_KEY_TIME_HI	0x05c /* RO */
#define BRHW_REG_MAC_KEY(i)	(0x060 + 4 * (i)) /* WO, i = 0..7; read as 0 */
#define BRHW_REG_ILLUM(i)	(0x080 + 4 * (i)) /* RW  pattern, i = 0..3 */
#define BRHW_REG_ILLUM_LEN	0x090 /* RW  pattern length in frames, 1..64 */
#define BRHW_REG_LAST		BRHW_REG_ILLUM_LEN

#define BRHW_ID_MAGIC		0x42494f52 /* "BIOR" */
#define BRHW_VERSION_2_0	0x00020000 /* frame format 2: lattice MAC */
#define BRHW_MAC_KEY_WORDS	8
#define BRHW_ILLUM_WORDS	4
#define BRHW_ILLUM_MAX_LEN	64
#define BRHW_FPS_MIN		1
#define BRHW_FPS_MAX		120

#define BRHW_CTRL_CAPTURE	BIT(0) /* deliver frames into the ring */
#define BRHW_CTRL_RESET		BIT(1) /* self-clearing full reset */
#define BRHW_CTRL_ILLUM		BIT(2) /* follow the illumination pattern */

#define BRHW_STATUS_CAPTURING	BIT(0)
#define BRHW_STATUS_READY	BIT(1) /* out of reset */
#define BRHW_STATUS_KEY_VALID	BIT(2)
#define BRHW_STATUS_FAULT	BIT(3) /* capture refused or failed */

#define BRHW_INT_FRAME_DONE	BIT(0) /* a descriptor was completed */
#define BRHW_INT_OVERFLOW	BIT(1) /* a frame was dropped */
#define BRHW_INT_DMA_ERROR	BIT(2) /* a descriptor completed in error */
#define BRHW_INT_FAULT		BIT(3) /* STATUS.FAULT was set */
#define BRHW_INT_ALL		0xf

#define BRHW_KEY_LOAD		BIT(0) /* commit MAC_KEY, FRAME_SEQ = 0 */
#define BRHW_KEY_CLEAR		BIT(1) /* wipe the key, KEY_VALID = 0 */

/* Illumination states, 2 bits per frame in the ILLUM pattern. */
#define BRHW_ILLUM_OFF		0 /* ambient light only */
#define BRHW_ILLUM_850		1 /* 850 nm flood */
#define BRHW_ILLUM_940		2 /* 940 nm flood */
#define BRHW_ILLUM_BOTH		3

/* ---- Descriptor ring: RING_SIZE entries of 32 bytes ---- */
struct brhw_desc {
	__le64 buf_addr;	/* driver: bus address of the frame buffer */
	__le32 buf_len;		/* driver: its length, >= FRAME_SIZE */
	__le32 ctrl;		/* BRHW_DESC_* ; OWN hands it over */
	__le32 bytes_written;	/* device: bytes of frame written */
	__le32 frame_seq;	/* device: seq of the frame written */
	__le64 reserved;	/* zero */
};

#define BRHW_DESC_SIZE		32
#define BRHW_DESC_OWN		BIT(31) /* 1: owned by the device */
#define BRHW_DESC_DONE		BIT(0)  /* device wrote a frame */
#define BRHW_DESC_ERR_LEN	BIT(1)  /* buffer too small, nothing written */
#define BRHW_DESC_ERR_DMA	BIT(2)  /* bus error, contents undefined */

/* ---- Frame: 256-byte header, then the planes ---- */
#define BRHW_FRAME_MAGIC	0x4d524642 /* "BFRM" */
#define BRHW_FRAME_VERSION	2
#define BRHW_FRAME_HDR_SIZE	256
#define BRHW_FRAME_MAC_OFFSET	224 /* MAC covers [0, 224) and the lattice */
#define BRHW_MAC_SIZE		32  /* keyed BLAKE2s-256 */
#define BRHW_MAC_KEY_SIZE	32
#define BRHW_EMB_MAX		128
#define BRHW_EMB_FMT_INT8_L2	1

#define BRHW_FRAME_FACE		BIT(0) /* face box and embedding valid */
#define BRHW_FRAME_DEPTH_VALID	BIT(1)
#define BRHW_FRAME_SATURATED	BIT(2) /* some pixels clipped */

struct brhw_frame_hdr {
	__le32 magic;		/*   0 */
	__le16 version;		/*   4 */
	__le16 hdr_len;		/*   6 BRHW_FRAME_HDR_SIZE */
	__le32 seq;		/*   8 0 for the first frame after KEY_LOAD */
	__le32 flags;		/*  12 BRHW_FRAME_* */
	__le64 timestamp_ns;	/*  16 device clock at exposure */
	__le16 width;		/*  24 */
	__le16 height;		/*  26 */
	__le32 payload_len;	/*  28 4 * width * height */
	__u8 illum_state;	/*  32 BRHW_ILLUM_* applied to this frame */
	__u8 illum_index;	/*  33 position in the pattern */
	__u8 emb_format;	/*  34 BRHW_EMB_FMT_* */
	__u8 reserved0;		/*  35 */
	__le16 face_x;		/*  36 face box, pixels */
	__le16 face_y;		/*  38 */
	__le16 face_w;		/*  40 */
	__le16 face_h;		/*  42 */
	__le16 emb_dim;		/*  44 */
	__le16 reserved1;	/*  46 */
	__le64 reserved2[2];	/*  48 */
	__s8 embedding[BRHW_EMB_MAX]; /* 64 */
	__u8 reserved3[32];	/* 192 */
	__u8 mac[BRHW_MAC_SIZE]; /* 224 */
};

/*
 * Payload, right after the header:
 *   nir_850[width * height]  __u8, 850 nm band reflectance
 *   nir_940[width * height]  __u8, 940 nm band reflectance
 *   depth[width * height]    __le16, millimetres, 0 = no depth (hole)
 */
#define BRHW_PAYLOAD_LEN(w, h)	(4U * (__u32)(w) * (__u32)(h))
#define BRHW_FRAME_SIZE(w, h)	(BRHW_FRAME_HDR_SIZE + BRHW_PAYLOAD_LEN(w, h))

/*
 * The sampling lattice (docs/hardware.md, "MAC"): with FACE set, the
 * inner box of the face box,
 *   x0 = face_x + face_w * 2 / 10, iw = face_w * 6 / 10 (y0, ih alike),
 * is sampled at the LAT_N x LAT_N points
 *   (x0 + iw * k / LAT_N, y0 + ih * j / LAT_N), j, k = 0 .. LAT_N - 1
 * (integer division).  The points, row j by row j, k fastest, of
 * nir_850, then of nir_940, then of depth (2 bytes, little-endian) make
 * the BRHW_LAT_SIZE bytes the MAC covers after the header.  Without FACE
 * the MAC covers the header alone.
 */
#define BRHW_LAT_N		32
#define BRHW_LAT_POINTS		(BRHW_LAT_N * BRHW_LAT_N)
#define BRHW_LAT_SIZE		(4 * BRHW_LAT_POINTS)

#endif /* _BIOREADER_HW_H */
