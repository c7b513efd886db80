/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The algorithms in this directory build twice: into the kernel modules
 * and into a native userspace library (for unit tests, fuzzing, the
 * evaluation tool and benchmarks).  This header is the only place that
 * knows which build it is in.  No floating point anywhere.
 */
#ifndef _BIO_COMPAT_H
#define _BIO_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <asm/byteorder.h>
#include <linux/math64.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>
#include <endian.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#define le16_to_cpu(x) le16toh((__force __u16)(x))
#define le32_to_cpu(x) le32toh((__force __u32)(x))
#define le64_to_cpu(x) le64toh((__force __u64)(x))
#define cpu_to_le16(x) ((__force __le16)htole16(x))
#define cpu_to_le32(x) ((__force __le32)htole32(x))
#define cpu_to_le64(x) ((__force __le64)htole64(x))
#ifndef __force
#define __force
#endif
#endif /* __KERNEL__ */

/* 64-bit division that also links on 32-bit kernels. */
#ifdef __KERNEL__
#define bio_div_u64(a, b)	div64_u64((a), (b))
#else
#define bio_div_u64(a, b)	((u64)(a) / (u64)(b))
#endif

/* Wipe a buffer that held biometric data or a key; never optimised out. */
#ifdef __KERNEL__
#define bio_wipe(p, n)	memzero_explicit((p), (n))
#else
#define bio_wipe(p, n)	explicit_bzero((p), (n))
#endif

/*
 * Keyed BLAKE2s-256 (RFC 7693) over two consecutive parts, and a
 * constant-time compare.  Provided by the build: the kernel's lib/crypto
 * in the modules (bio_mac_kernel.c), OpenSSL in userspace (bio_mac_user.c).
 */
#define BIO_MAC_SIZE		32
#define BIO_MAC_KEY_SIZE	32
void bio_mac2(const u8 key[BIO_MAC_KEY_SIZE], const void *a, size_t alen,
	      const void *b, size_t blen, u8 out[BIO_MAC_SIZE]);
/* Non-zero when the two buffers differ; time independent of contents. */
int bio_ct_memneq(const void *a, const void *b, size_t len);

#endif /* _BIO_COMPAT_H */
