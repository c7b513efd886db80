// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel build of the frame MAC: keyed BLAKE2s-256 from lib/crypto,
 * constant-time compare from crypto_memneq().
 */
#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <linux/string.h>

#include "bio_compat.h"

void bio_mac2(const u8 key[BIO_MAC_KEY_SIZE], const void *a, size_t alen,
	      const void *b, size_t blen, u8 out[BIO_MAC_SIZE])
{
	struct blake2s_state st;

	blake2s_init_key(&st, BLAKE2S_HASH_SIZE, key, BLAKE2S_KEY_SIZE);
	blake2s_update(&st, a, alen);
	if (blen)
		blake2s_update(&st, b, blen);
	/* blake2s_final() wipes the state, key block included. */
	blake2s_final(&st, out);
}

int bio_ct_memneq(const void *a, const void *b, size_t len)
{
	return crypto_memneq(a, b, len);
}
