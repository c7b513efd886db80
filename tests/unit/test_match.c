// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of template parsing, fixed-point matching and aggregation
 * (kernel/algo/bio_match.c), and of the simulated identities
 * (kernel/sim/sim_identity.c) the VM tests rely on.
 */
#include <stdlib.h>

#include "algo/bio_match.h"
#include "sim/sim_identity.h"
#include "ktap.h"

#define DIM 128

static u8 tbuf[BIOREADER_TEMPLATE_HDR_SIZE + DIM + 8];

static size_t make_template(u64 identity)
{
	struct bioreader_template_hdr *h = (void *)tbuf;

	memset(tbuf, 0, sizeof(tbuf));
	h->magic = cpu_to_le32(BIOREADER_TEMPLATE_MAGIC);
	h->version = cpu_to_le16(BIOREADER_TEMPLATE_VERSION);
	h->dim = cpu_to_le16(DIM);
	h->format = BIOREADER_TEMPLATE_FMT_INT8_L2;
	sim_identity_embedding(identity, DIM, (s8 *)tbuf + BIOREADER_TEMPLATE_HDR_SIZE);
	return BIOREADER_TEMPLATE_HDR_SIZE + DIM;
}

static int parse(size_t len)
{
	struct bio_template t;

	return bio_template_parse(&t, tbuf, len, DIM);
}

static void test_parse(void)
{
	struct bioreader_template_hdr *h = (void *)tbuf;
	static u8 big[BIOREADER_TEMPLATE_MAX + 1];
	struct bio_template t;
	size_t len;

	len = make_template(42);
	ktap_check(parse(len) == 0, "template: valid one parses");
	ktap_check(bio_template_parse(&t, big, sizeof(big), DIM) == -EMSGSIZE,
		   "template: larger than the maximum -> EMSGSIZE");
	ktap_check(parse(8) == -EBADMSG, "template: shorter than its header -> EBADMSG");
	ktap_check(parse(len - 1) == -EBADMSG, "template: truncated data -> EBADMSG");
	ktap_check(parse(len + 1) == -EBADMSG, "template: trailing byte -> EBADMSG");
	make_template(42);
	h->magic = 0;
	ktap_check(parse(len) == -EBADMSG, "template: bad magic -> EBADMSG");
	make_template(42);
	h->version = cpu_to_le16(9);
	ktap_check(parse(len) == -EBADMSG, "template: bad version -> EBADMSG");
	make_template(42);
	h->format = 2;
	ktap_check(parse(len) == -EBADMSG, "template: unknown format -> EBADMSG");
	make_template(42);
	h->reserved[3] = 1;
	ktap_check(parse(len) == -EBADMSG, "template: reserved byte set -> EBADMSG");
	make_template(42);
	h->dim = cpu_to_le16(64);
	ktap_check(bio_template_parse(&t, tbuf, BIOREADER_TEMPLATE_HDR_SIZE + 64, DIM) == -EBADMSG,
		   "template: dim differs from the device's -> EBADMSG");
	make_template(42);
	memset(tbuf + BIOREADER_TEMPLATE_HDR_SIZE, 0, DIM);
	ktap_check(parse(len) == -EBADMSG, "template: all-zero vector -> EBADMSG");
}

static void test_similarity(void)
{
	struct bio_template t;
	s8 e[DIM];
	s32 s;
	int i;

	make_template(42);
	bio_template_parse(&t, tbuf, BIOREADER_TEMPLATE_HDR_SIZE + DIM, DIM);
	memcpy(e, t.data, DIM);
	s = bio_match_similarity(&t, e);
	ktap_check(s > 32700, "similarity of a vector with itself is ~1");
	for (i = 0; i < DIM; i++)
		e[i] = (s8)-t.data[i];
	s = bio_match_similarity(&t, e);
	ktap_check(s < -32700, "similarity with its negation is ~-1");
	memset(e, 0, sizeof(e));
	ktap_check(bio_match_similarity(&t, e) == 0, "similarity with a zero vector is 0");

	ktap_check(bio_match_threshold(BIOREADER_SECLEVEL_LOW) <
		   bio_match_threshold(BIOREADER_SECLEVEL_MEDIUM) &&
		   bio_match_threshold(BIOREADER_SECLEVEL_MEDIUM) <
		   bio_match_threshold(BIOREADER_SECLEVEL_HIGH),
		   "thresholds rise with the security level");
	ktap_check(bio_match_threshold(BIOREADER_SECLEVEL_DEFAULT) ==
		   bio_match_threshold(BIOREADER_SECLEVEL_MEDIUM),
		   "default level is medium");
}

static void test_isqrt(void)
{
	u64 st = 7, x;
	int ok = 1, i;

	ok &= bio_isqrt64(0) == 0 && bio_isqrt64(1) == 1 && bio_isqrt64(3) == 1 &&
	      bio_isqrt64(4) == 2 && bio_isqrt64(~0ULL) == 0xffffffffU;
	for (i = 0; i < 100000; i++) {
		u64 r;

		x = sim_prng_next(&st) >> (sim_prng_next(&st) & 63);
		r = bio_isqrt64(x);
		ok &= r * r <= x && (r + 1) * (r + 1) > x;
	}
	ktap_check(ok, "integer square root is exact floor on 100000 values");
}

static void test_aggregation(void)
{
	struct bio_match_agg a = { 0 };
	s32 th = 18000;
	int i;

	for (i = 0; i < 4; i++)
		bio_match_agg_add(&a, 30000);
	ktap_check(bio_match_decide(&a, 5, th) == BIO_MATCH_PENDING,
		   "aggregate: pending before frames_required frames");
	bio_match_agg_add(&a, 30000);
	ktap_check(bio_match_decide(&a, 5, th) == BIO_MATCH_ACCEPT,
		   "aggregate: accept when the mean clears the threshold");
	memset(&a, 0, sizeof(a));
	for (i = 0; i < 5; i++)
		bio_match_agg_add(&a, i == 0 ? 32767 : 14000);
	ktap_check(bio_match_decide(&a, 5, th) == BIO_MATCH_REJECT,
		   "aggregate: one good frame does not carry a bad mean");
	memset(&a, 0, sizeof(a));
	for (i = 0; i < 5; i++)
		bio_match_agg_add(&a, th);
	ktap_check(bio_match_decide(&a, 5, th) == BIO_MATCH_ACCEPT,
		   "aggregate: mean exactly at the threshold accepts");
	ktap_check(bio_match_decide(&a, 0, th) == BIO_MATCH_PENDING,
		   "aggregate: frames_required 0 never decides");
}

/*
 * The simulated population must separate at the default threshold, or
 * the VM's genuine/impostor tests would be testing noise.
 */
static void test_population(void)
{
	s32 th = bio_match_threshold(BIOREADER_SECLEVEL_MEDIUM);
	u32 false_accept = 0, false_reject = 0, pairs = 0;
	struct bio_template t;
	u64 rng = 12345;
	u64 id;
	s8 e[DIM], e2[DIM];

	for (id = 1; id <= 300; id++) {
		struct bio_match_agg g = { 0 }, imp = { 0 };
		int k;

		make_template(id);
		bio_template_parse(&t, tbuf, BIOREADER_TEMPLATE_HDR_SIZE + DIM, DIM);
		for (k = 0; k < 5; k++) {
			sim_identity_sample(id, &rng, 45, DIM, e);
			bio_match_agg_add(&g, bio_match_similarity(&t, e));
			sim_identity_sample(id + 100000, &rng, 45, DIM, e);
			bio_match_agg_add(&imp, bio_match_similarity(&t, e));
		}
		false_reject += bio_match_decide(&g, 5, th) != BIO_MATCH_ACCEPT;
		false_accept += bio_match_decide(&imp, 5, th) != BIO_MATCH_REJECT;
		pairs++;
	}
	ktap_diag("simulated population: %u genuine, %u impostor pairs, FNMR %u, FMR %u",
		  pairs, pairs, false_reject, false_accept);
	ktap_check(false_reject == 0, "population: every genuine person matches");
	ktap_check(false_accept == 0, "population: no impostor matches");

	sim_identity_embedding(42, DIM, e);
	sim_identity_embedding(42, DIM, e2);
	ktap_check(!memcmp(e, e2, DIM), "identity embedding is deterministic");
	sim_identity_embedding(43, DIM, e2);
	ktap_check(memcmp(e, e2, DIM) != 0, "different identities differ");
	{
		u32 n2 = 0;
		int i;

		for (i = 0; i < DIM; i++)
			n2 += (u32)(e[i] * e[i]);
		/* 127^2 = 16129, within quantisation error */
		ktap_check(n2 > 15500 && n2 < 16800, "identity embedding is L2-normalised x127");
	}
}

int main(void)
{
	ktap_plan(27);
	KTAP_CASE("parse")
		test_parse();
	KTAP_CASE("similarity")
		test_similarity();
	KTAP_CASE("isqrt")
		test_isqrt();
	KTAP_CASE("aggregation")
		test_aggregation();
	KTAP_CASE("population")
		test_population();
	return ktap_finish();
}
