// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Merkle tree hashing of RFC 9162 section 2.1:
 *   leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right),
 *   MTH of n > 1 leaves splits at k, the largest power of two below n.
 * Inclusion (2.1.3) and consistency (2.1.4) proofs: generation from the
 * leaf hashes, and the verification algorithms of the RFC, step by step.
 */
#include <errno.h>
#include <string.h>

#include "bflog.h"

void bfl_leaf_hash(const void *data, size_t len, bfl_hash out)
{
	static const u8 zero;

	bfl_sha256(&zero, 1, data, len, out);
}

void bfl_node_hash(const bfl_hash l, const bfl_hash r, bfl_hash out)
{
	u8 buf[1 + 2 * BFL_HASH_SIZE];

	buf[0] = 1;
	memcpy(buf + 1, l, BFL_HASH_SIZE);
	memcpy(buf + 1 + BFL_HASH_SIZE, r, BFL_HASH_SIZE);
	bfl_sha256(buf, sizeof(buf), NULL, 0, out);
}

/* Largest power of two strictly below n (n >= 2). */
static u64 split(u64 n)
{
	u64 k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

void bfl_mth(const bfl_hash *leaves, u64 n, bfl_hash out)
{
	bfl_hash l, r;
	u64 k;

	if (n == 0) {
		bfl_sha256(NULL, 0, NULL, 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], BFL_HASH_SIZE);
		return;
	}
	k = split(n);
	bfl_mth(leaves, k, l);
	bfl_mth(leaves + k, n - k, r);
	bfl_node_hash(l, r, out);
}

void bfl_tree_init(struct bfl_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void bfl_tree_append(struct bfl_tree *t, const bfl_hash leaf)
{
	bfl_hash h;
	u64 k = t->size;

	memcpy(h, leaf, BFL_HASH_SIZE);
	/* Each trailing one bit of the old size is a perfect subtree of the
	 * same height as the one being carried: merge them. */
	while (k & 1) {
		t->n--;
		bfl_node_hash(t->h[t->n], h, h);
		k >>= 1;
	}
	memcpy(t->h[t->n++], h, BFL_HASH_SIZE);
	t->size++;
}

void bfl_tree_root(const struct bfl_tree *t, bfl_hash out)
{
	bfl_hash r;
	unsigned int i;

	if (t->n == 0) {
		bfl_sha256(NULL, 0, NULL, 0, out);
		return;
	}
	memcpy(r, t->h[t->n - 1], BFL_HASH_SIZE);
	for (i = t->n - 1; i-- > 0;)
		bfl_node_hash(t->h[i], r, r);
	memcpy(out, r, BFL_HASH_SIZE);
}

/* PATH(m, D[n]) of 2.1.3.1, appending to proof. */
static int path(const bfl_hash *d, u64 m, u64 n, bfl_hash *proof,
		unsigned int *len)
{
	u64 k;
	int r;

	if (n <= 1)
		return 0;
	if (*len >= BFL_PROOF_MAX)
		return -E2BIG;
	k = split(n);
	if (m < k) {
		r = path(d, m, k, proof, len);
		if (r)
			return r;
		bfl_mth(d + k, n - k, proof[(*len)++]);
	} else {
		r = path(d + k, m - k, n - k, proof, len);
		if (r)
			return r;
		bfl_mth(d, k, proof[(*len)++]);
	}
	return 0;
}

int bfl_inclusion_proof(const bfl_hash *leaves, u64 n, u64 index,
			bfl_hash *proof, unsigned int *len)
{
	*len = 0;
	if (index >= n)
		return -EINVAL;
	return path(leaves, index, n, proof, len);
}

/* SUBPROOF(m, D[n], b) of 2.1.4.1. */
static int subproof(const bfl_hash *d, u64 m, u64 n, bool b,
		    bfl_hash *proof, unsigned int *len)
{
	u64 k;
	int r;

	if (*len >= BFL_PROOF_MAX)
		return -E2BIG;
	if (m == n) {
		if (!b)
			bfl_mth(d, n, proof[(*len)++]);
		return 0;
	}
	k = split(n);
	if (m <= k) {
		r = subproof(d, m, k, b, proof, len);
		if (r)
			return r;
		if (*len >= BFL_PROOF_MAX)
			return -E2BIG;
		bfl_mth(d + k, n - k, proof[(*len)++]);
	} else {
		r = subproof(d + k, m - k, n - k, false, proof, len);
		if (r)
			return r;
		if (*len >= BFL_PROOF_MAX)
			return -E2BIG;
		bfl_mth(d, k, proof[(*len)++]);
	}
	return 0;
}

int bfl_consistency_proof(const bfl_hash *leaves, u64 m, u64 n,
			  bfl_hash *proof, unsigned int *len)
{
	*len = 0;
	if (m > n)
		return -EINVAL;
	if (m == 0 || m == n)
		return 0;
	return subproof(leaves, m, n, true, proof, len);
}

int bfl_verify_inclusion(u64 index, u64 size, const bfl_hash leaf,
			 const bfl_hash *proof, unsigned int len,
			 const bfl_hash root)
{
	u64 fn, sn;
	bfl_hash r;
	unsigned int i;

	if (index >= size)
		return -EBADMSG;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, BFL_HASH_SIZE);
	for (i = 0; i < len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			bfl_node_hash(proof[i], r, r);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			bfl_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, root, BFL_HASH_SIZE))
		return -EBADMSG;
	return 0;
}

int bfl_verify_consistency(u64 size1, u64 size2, const bfl_hash root1,
			   const bfl_hash root2, const bfl_hash *proof,
			   unsigned int len)
{
	bfl_hash fr, sr;
	u64 fn, sn;
	unsigned int i = 0;
	bool pow2;

	if (size1 > size2)
		return -EBADMSG;
	if (size1 == size2)
		return len == 0 && !memcmp(root1, root2, BFL_HASH_SIZE) ?
		       0 : -EBADMSG;
	if (size1 == 0)		/* the empty tree is a prefix of any tree */
		return len == 0 ? 0 : -EBADMSG;
	if (len == 0)
		return -EBADMSG;
	/* An exact power of two: the old root is the first proof node. */
	pow2 = !(size1 & (size1 - 1));
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	if (pow2) {
		memcpy(fr, root1, BFL_HASH_SIZE);
	} else {
		memcpy(fr, proof[0], BFL_HASH_SIZE);
		i = 1;
	}
	memcpy(sr, fr, BFL_HASH_SIZE);
	for (; i < len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			bfl_node_hash(proof[i], fr, fr);
			bfl_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			bfl_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, root1, BFL_HASH_SIZE) ||
	    memcmp(sr, root2, BFL_HASH_SIZE))
		return -EBADMSG;
	return 0;
}
