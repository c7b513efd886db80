// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Userspace build of the frame MAC: keyed BLAKE2s-256 through OpenSSL's
 * EVP_MAC "BLAKE2SMAC", constant-time compare through CRYPTO_memcmp().
 * A failure of OpenSSL here is a broken installation, not bad input:
 * abort rather than return a MAC that would compare equal to garbage.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>

#include "bio_compat.h"

static EVP_MAC *bio_blake2s_mac(void)
{
	static EVP_MAC *mac;

	if (!mac) {
		mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
		if (!mac) {
			fprintf(stderr, "libbioalgo: OpenSSL has no BLAKE2SMAC\n");
			abort();
		}
	}
	return mac;
}

void bio_mac2(const u8 key[BIO_MAC_KEY_SIZE], const void *a, size_t alen,
	      const void *b, size_t blen, u8 out[BIO_MAC_SIZE])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(bio_blake2s_mac());
	size_t outl = 0, size = BIO_MAC_SIZE;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	if (!ctx || !EVP_MAC_init(ctx, key, BIO_MAC_KEY_SIZE, params) ||
	    !EVP_MAC_update(ctx, a, alen) ||
	    (blen && !EVP_MAC_update(ctx, b, blen)) ||
	    !EVP_MAC_final(ctx, out, &outl, BIO_MAC_SIZE) ||
	    outl != BIO_MAC_SIZE) {
		fprintf(stderr, "libbioalgo: BLAKE2SMAC failed\n");
		abort();
	}
	EVP_MAC_CTX_free(ctx);
}

int bio_ct_memneq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) != 0;
}
