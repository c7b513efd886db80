// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of the RFC 9162 tree (daemon/log/merkle.c): known answers
 * for the RFC 6962 test leaves, the incremental tree against the
 * recursive definition, and inclusion and consistency proofs for every
 * tree size 1..64 and every index / earlier size, including tampered
 * proofs that must fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bflog.h"
#include "ktap.h"

#define N 64

static const char *const kat_root[] = {
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static const char *const kat_path_5_8[] = {
	"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
};

static const char *const kat_cons_3_7[] = {
	"0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
	"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e",
};

static void unhex(const char *s, u8 *out)
{
	int i;

	for (i = 0; i < BFL_HASH_SIZE; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			b = 0;
		out[i] = (u8)b;
	}
}

static bfl_hash leaves[N + 1];

static void test_kat(void)
{
	static const u8 d6[] = { 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 };
	static const u8 d7[] = { 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67,
				 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f };
	static const struct { const u8 *p; size_t n; } d[8] = {
		{ (const u8 *)"", 0 }, { (const u8 *)"\x00", 1 },
		{ (const u8 *)"\x10", 1 }, { (const u8 *)"\x20\x21", 2 },
		{ (const u8 *)"\x30\x31", 2 }, { (const u8 *)"\x40\x41\x42\x43", 4 },
		{ d6, 8 }, { d7, 16 },
	};
	bfl_hash kl[8], want, got, proof[BFL_PROOF_MAX];
	struct bfl_tree t;
	unsigned int i, len;
	int ok_mth = 1, ok_tree = 1, ok;

	bfl_tree_init(&t);
	bfl_tree_root(&t, got);
	unhex(kat_root[0], want);
	ok = !memcmp(got, want, BFL_HASH_SIZE);
	bfl_mth(kl, 0, got);
	ktap_check(ok && !memcmp(got, want, BFL_HASH_SIZE),
		   "KAT: empty tree hashes to SHA-256(\"\")");
	for (i = 0; i < 8; i++) {
		bfl_leaf_hash(d[i].p, d[i].n, kl[i]);
		bfl_tree_append(&t, kl[i]);
		unhex(kat_root[i + 1], want);
		bfl_mth(kl, i + 1, got);
		ok_mth &= !memcmp(got, want, BFL_HASH_SIZE);
		bfl_tree_root(&t, got);
		ok_tree &= !memcmp(got, want, BFL_HASH_SIZE);
	}
	ktap_check(ok_mth, "KAT: MTH of the RFC 6962 test leaves, sizes 1..8");
	ktap_check(ok_tree, "KAT: incremental tree gives the same roots");

	ok = !bfl_inclusion_proof(kl, 8, 5, proof, &len) && len == 3;
	for (i = 0; ok && i < 3; i++) {
		unhex(kat_path_5_8[i], want);
		ok = !memcmp(proof[i], want, BFL_HASH_SIZE);
	}
	ktap_check(ok, "KAT: inclusion path of leaf 5 in a tree of 8");
	ok = !bfl_consistency_proof(kl, 3, 7, proof, &len) && len == 4;
	for (i = 0; ok && i < 4; i++) {
		unhex(kat_cons_3_7[i], want);
		ok = !memcmp(proof[i], want, BFL_HASH_SIZE);
	}
	ktap_check(ok, "KAT: consistency proof from 3 to 7");
}

static void test_tree_vs_mth(void)
{
	struct bfl_tree t;
	bfl_hash a, b;
	int ok = 1;
	u64 n;

	bfl_tree_init(&t);
	for (n = 0; n < N; n++) {
		bfl_tree_append(&t, leaves[n]);
		bfl_tree_root(&t, a);
		bfl_mth(leaves, n + 1, b);
		ok &= !memcmp(a, b, BFL_HASH_SIZE) && t.size == n + 1;
	}
	ktap_check(ok, "incremental tree root equals MTH for sizes 1..64");
}

static void test_inclusion_all(void)
{
	bfl_hash proof[BFL_PROOF_MAX], root, bad;
	unsigned int len, i;
	int good = 1, neg = 1, cnt = 0;
	u64 n, m;

	for (n = 1; n <= N; n++) {
		bfl_mth(leaves, n, root);
		for (m = 0; m < n; m++) {
			if (bfl_inclusion_proof(leaves, n, m, proof, &len)) {
				good = 0;
				continue;
			}
			cnt++;
			good &= !bfl_verify_inclusion(m, n, leaves[m], proof, len, root);
			/* wrong leaf, wrong index, wrong size, flipped node,
			 * truncated and extended proofs must all fail */
			neg &= bfl_verify_inclusion(m, n, leaves[(m + 1) % N], proof, len,
						    root) != 0;
			if (n > 1)
				neg &= bfl_verify_inclusion((m + 1) % n, n, leaves[m], proof,
							    len, root) != 0;
			/* the proof for size n does not prove size n + 1 */
			bfl_mth(leaves, n + 1, bad);
			neg &= bfl_verify_inclusion(m, n + 1, leaves[m], proof, len, bad) != 0;
			for (i = 0; i < len; i++) {
				memcpy(bad, proof[i], BFL_HASH_SIZE);
				proof[i][i % BFL_HASH_SIZE] ^= 1;
				neg &= bfl_verify_inclusion(m, n, leaves[m], proof, len,
							    root) != 0;
				memcpy(proof[i], bad, BFL_HASH_SIZE);
			}
			if (len)
				neg &= bfl_verify_inclusion(m, n, leaves[m], proof, len - 1,
							    root) != 0;
			memcpy(proof[len], root, BFL_HASH_SIZE);
			neg &= bfl_verify_inclusion(m, n, leaves[m], proof, len + 1, root) != 0;
		}
	}
	ktap_diag("%d inclusion proofs", cnt);
	ktap_check(good && cnt == N * (N + 1) / 2,
		   "inclusion proofs verify for every size 1..64 and every index");
	ktap_check(neg, "altered inclusion proofs (leaf, index, size, node, length) fail");
	ktap_check(bfl_inclusion_proof(leaves, 4, 4, proof, &len) != 0 &&
		   bfl_verify_inclusion(4, 4, leaves[0], proof, 0, root) != 0,
		   "index beyond the tree is rejected");
}

static void test_consistency_all(void)
{
	bfl_hash proof[BFL_PROOF_MAX], r1, r2, bad;
	unsigned int len, i;
	int good = 1, neg = 1, cnt = 0;
	u64 n, m;

	for (n = 1; n <= N; n++) {
		bfl_mth(leaves, n, r2);
		for (m = 0; m <= n; m++) {
			bfl_mth(leaves, m, r1);
			if (bfl_consistency_proof(leaves, m, n, proof, &len)) {
				good = 0;
				continue;
			}
			cnt++;
			good &= !bfl_verify_consistency(m, n, r1, r2, proof, len);
			if (m == 0 || m == n)
				continue;
			/* a different old root, new root, or any node */
			memcpy(bad, r1, BFL_HASH_SIZE);
			bad[0] ^= 1;
			neg &= bfl_verify_consistency(m, n, bad, r2, proof, len) != 0;
			neg &= bfl_verify_consistency(m, n, r1, bad, proof, len) != 0;
			for (i = 0; i < len; i++) {
				memcpy(bad, proof[i], BFL_HASH_SIZE);
				proof[i][5] ^= 0x80;
				neg &= bfl_verify_consistency(m, n, r1, r2, proof, len) != 0;
				memcpy(proof[i], bad, BFL_HASH_SIZE);
			}
			neg &= bfl_verify_consistency(m, n, r1, r2, proof, len - 1) != 0;
			neg &= bfl_verify_consistency(m, n, r1, r2, proof, 0) != 0;
			/* the proof of one pair does not serve another */
			if (m + 1 < n)
				neg &= bfl_verify_consistency(m + 1, n, r1, r2, proof, len) != 0;
		}
	}
	ktap_diag("%d consistency proofs", cnt);
	ktap_check(good, "consistency proofs verify for every 0 <= m <= n <= 64");
	ktap_check(neg, "altered consistency proofs (roots, nodes, length, sizes) fail");
	bfl_mth(leaves, 5, r1);
	bfl_mth(leaves, 4, r2);
	ktap_check(bfl_verify_consistency(5, 4, r1, r2, proof, 0) != 0 &&
		   bfl_consistency_proof(leaves, 5, 4, proof, &len) != 0,
		   "a larger first tree is rejected");
}

int main(void)
{
	u8 data[8];
	u64 i;

	for (i = 0; i <= N; i++) {
		memcpy(data, &i, 8);
		bfl_leaf_hash(data, sizeof(data), leaves[i]);
	}
	ktap_plan(12);
	KTAP_CASE("kat")
		test_kat();
	KTAP_CASE("tree vs mth")
		test_tree_vs_mth();
	KTAP_CASE("inclusion all")
		test_inclusion_all();
	KTAP_CASE("consistency all")
		test_consistency_all();
	return ktap_finish();
}
