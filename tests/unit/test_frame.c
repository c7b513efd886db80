// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Unit tests of frame validation (kernel/algo/bio_frame.c), the same
 * source the driver runs.  Every rejection path is hit with a frame that
 * differs from a valid one in exactly that respect.
 */
#include <stdlib.h>

#include "algo/bio_frame.h"
#include "ktap.h"

#define W 32
#define H 24

static const struct bio_frame_geom geom = {
	.width = W, .height = H, .emb_dim = 128,
	.frame_size = BRHW_FRAME_SIZE(W, H),
};

static u8 key[BIO_MAC_KEY_SIZE];
static struct brhw_frame_hdr copy;
static struct bio_lattice lat, scratch;
static _Alignas(64) u8 frame[BRHW_FRAME_SIZE(W, H)];

static struct brhw_frame_hdr *hdr(void)
{
	return (struct brhw_frame_hdr *)frame;
}

/* A valid frame number @seq at time @ts, signed with @k. */
static void make_frame(const u8 *k, u32 seq, u64 ts, int face)
{
	struct brhw_frame_hdr *h = hdr();
	size_t i;

	memset(frame, 0, sizeof(frame));
	h->magic = cpu_to_le32(BRHW_FRAME_MAGIC);
	h->version = cpu_to_le16(BRHW_FRAME_VERSION);
	h->hdr_len = cpu_to_le16(BRHW_FRAME_HDR_SIZE);
	h->seq = cpu_to_le32(seq);
	h->timestamp_ns = cpu_to_le64(ts);
	h->width = cpu_to_le16(W);
	h->height = cpu_to_le16(H);
	h->payload_len = cpu_to_le32(BRHW_PAYLOAD_LEN(W, H));
	if (face) {
		h->flags = cpu_to_le32(BRHW_FRAME_FACE | BRHW_FRAME_DEPTH_VALID);
		h->emb_format = BRHW_EMB_FMT_INT8_L2;
		h->emb_dim = cpu_to_le16(128);
		h->face_x = cpu_to_le16(4);
		h->face_y = cpu_to_le16(2);
		h->face_w = cpu_to_le16(20);
		h->face_h = cpu_to_le16(20);
		for (i = 0; i < 128; i++)
			h->embedding[i] = (s8)(i * 7);
	}
	for (i = BRHW_FRAME_HDR_SIZE; i < sizeof(frame); i++)
		frame[i] = (u8)(i * 31 + seq);
	bio_frame_sign(k, frame, sizeof(frame), &scratch);
}

static void hex(const char *s, u8 *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int b;

		sscanf(s + 2 * i, "%2x", &b);
		out[i] = (u8)b;
	}
}

static void test_mac_vectors(void)
{
	u8 k[32], msg[264] = { 0 }, out[32], want[32];
	size_t i;

	for (i = 0; i < 32; i++)
		k[i] = (u8)i;
	/* Keyed BLAKE2s-256 known answers (RFC 7693 algorithm). */
	bio_mac2(k, msg, 0, NULL, 0, out);
	hex("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
	    want, 32);
	ktap_check(!memcmp(out, want, 32), "mac: empty message known answer");

	for (i = 0; i < 251; i++)
		msg[i] = (u8)i;
	bio_mac2(k, msg, 251, NULL, 0, out);
	hex("d12bf3732ef4af5c22fa90356af8fc50fcb40f8f2ea5c8594737a3b3d5abdbd7",
	    want, 32);
	ktap_check(!memcmp(out, want, 32), "mac: 251-byte known answer");

	for (i = 0; i < 64; i++)
		msg[i] = (u8)i;
	for (i = 0; i < 200; i++)
		msg[64 + i] = (u8)i;
	bio_mac2(k, msg, 64, msg + 64, 200, out);
	hex("a7422a8e916805870d73c926c21e0dc681626fa0d670665da98e841b8e1e1049",
	    want, 32);
	ktap_check(!memcmp(out, want, 32), "mac: two parts equal their concatenation");

	ktap_check(bio_ct_memneq(out, want, 32) == 0 &&
		   bio_ct_memneq(out, k, 32) != 0, "constant-time compare");
}

static enum bio_frame_result check_fresh(size_t len)
{
	struct bio_frame_check fc;
	enum bio_frame_result r;

	bio_frame_check_init(&fc, key, 1000);
	r = bio_frame_validate(&geom, &fc, frame, len, &copy, &lat);
	bio_frame_check_wipe(&fc);
	return r;
}

/* Corrupt one thing of a valid first frame, re-sign if asked, validate. */
#define MUTATE(name, resign, want, stmt)					\
	do {								\
		make_frame(key, 0, 5000, 1);				\
		stmt;							\
		if (resign)						\
			bio_frame_sign(key, frame, sizeof(frame), &scratch); \
		ktap_check(check_fresh(sizeof(frame)) == (want), name);	\
	} while (0)

static void test_structure(void)
{
	make_frame(key, 0, 5000, 1);
	ktap_check(check_fresh(sizeof(frame)) == BIO_FRAME_OK, "valid face frame accepted");
	make_frame(key, 0, 5000, 0);
	ktap_check(check_fresh(sizeof(frame)) == BIO_FRAME_OK, "valid empty frame accepted");

	make_frame(key, 0, 5000, 1);
	ktap_check(check_fresh(100) == BIO_FRAME_ERR_SHORT, "shorter than a header: short");
	ktap_check(check_fresh(sizeof(frame) - 1) == BIO_FRAME_ERR_SHORT,
		   "one byte short of a frame: short");

	MUTATE("bad magic", 1, BIO_FRAME_ERR_MAGIC, hdr()->magic = 0);
	MUTATE("format 1 (whole-frame MAC) refused", 1, BIO_FRAME_ERR_VERSION,
	       hdr()->version = cpu_to_le16(1));
	MUTATE("bad header length", 1, BIO_FRAME_ERR_GEOMETRY, hdr()->hdr_len = cpu_to_le16(128));
	MUTATE("wrong width", 1, BIO_FRAME_ERR_GEOMETRY, hdr()->width = cpu_to_le16(W + 1));
	MUTATE("wrong height", 1, BIO_FRAME_ERR_GEOMETRY, hdr()->height = cpu_to_le16(H - 1));
	MUTATE("payload length lies", 1, BIO_FRAME_ERR_GEOMETRY,
	       hdr()->payload_len = cpu_to_le32(16));
	MUTATE("face with wrong embedding dim", 1, BIO_FRAME_ERR_EMB,
	       hdr()->emb_dim = cpu_to_le16(64));
	MUTATE("face with unknown embedding format", 1, BIO_FRAME_ERR_EMB,
	       hdr()->emb_format = 9);
	MUTATE("face box outside the frame", 1, BIO_FRAME_ERR_EMB,
	       hdr()->face_x = cpu_to_le16(W - 2));
	MUTATE("empty face box", 1, BIO_FRAME_ERR_EMB, hdr()->face_w = 0);
}

/* Offset in the frame of plane @plane's pixel (x, y) (depth: high byte). */
static size_t px(int plane, u32 x, u32 y)
{
	size_t i = (size_t)y * W + x;

	return BRHW_FRAME_HDR_SIZE + (plane < 2 ? plane * W * H + i :
				      2 * W * H + 2 * i + 1);
}

static void test_lattice(void)
{
	struct bio_lattice_pos pos;
	int ok = 1, j, k;

	/* Face box (4, 2) 20 x 20: inner box x 8..19, y 6..17. */
	make_frame(key, 0, 5000, 1);
	ok = bio_lattice_pos(hdr(), W, H, &pos) && pos.x[0] == 8 &&
	     pos.x[31] == 19 && pos.y[0] == 6 && pos.y[31] == 17 &&
	     pos.x[16] == 8 + 12 * 16 / 32;
	ktap_check(ok, "lattice: points as the datasheet defines them");

	ok = check_fresh(sizeof(frame)) == BIO_FRAME_OK;
	for (j = 0; j < BRHW_LAT_N; j++)
		for (k = 0; k < BRHW_LAT_N; k++) {
			u32 n = j * BRHW_LAT_N + k;

			ok &= lat.nir_850[n] == frame[px(0, pos.x[k], pos.y[j])] &&
			      lat.nir_940[n] == frame[px(1, pos.x[k], pos.y[j])] &&
			      le16_to_cpu(lat.depth[n]) >> 8 ==
			      frame[px(2, pos.x[k], pos.y[j])];
		}
	ktap_check(ok, "validation hands out the lattice samples, in datasheet order");

	make_frame(key, 0, 5000, 1);
	hdr()->face_x = cpu_to_le16(W - 2);
	ktap_check(!bio_lattice_pos(hdr(), W, H, &pos) &&
		   bio_lattice_gather(hdr(), W, H, frame + BRHW_FRAME_HDR_SIZE,
				      &lat) == 0,
		   "lattice: none for a box outside the frame");
}

static void test_mac(void)
{
	u8 other[BIO_MAC_KEY_SIZE];
	struct bio_lattice before;

	/* The lattice point (16, 16) of the test face box is pixel (14, 12). */
	MUTATE("850 nm lattice sample changed: MAC", 0, BIO_FRAME_ERR_MAC,
	       frame[px(0, 14, 12)] ^= 1);
	MUTATE("940 nm lattice sample changed: MAC", 0, BIO_FRAME_ERR_MAC,
	       frame[px(1, 8, 6)] ^= 0x80);
	MUTATE("depth lattice sample changed: MAC", 0, BIO_FRAME_ERR_MAC,
	       frame[px(2, 19, 17)] ^= 0x01);
	MUTATE("embedding byte flipped: MAC", 0, BIO_FRAME_ERR_MAC,
	       hdr()->embedding[5] ^= 1);
	MUTATE("face box moved: MAC", 0, BIO_FRAME_ERR_MAC,
	       hdr()->face_x = cpu_to_le16(5));
	MUTATE("sequence rewritten: MAC", 0, BIO_FRAME_ERR_MAC,
	       hdr()->seq = cpu_to_le32(1));
	MUTATE("MAC byte flipped", 0, BIO_FRAME_ERR_MAC, hdr()->mac[31] ^= 1);

	/*
	 * Off the lattice nothing is authenticated and nothing is read:
	 * the frame passes and the samples handed out are the same.
	 */
	make_frame(key, 0, 5000, 1);
	check_fresh(sizeof(frame));
	before = lat;
	frame[px(0, 7, 12)] ^= 0x80;		/* in the face box, left of the lattice */
	frame[px(1, 3, 3)] ^= 0x80;		/* outside the face box */
	frame[sizeof(frame) - 1] ^= 0x80;	/* last depth byte */
	ktap_check(check_fresh(sizeof(frame)) == BIO_FRAME_OK &&
		   !memcmp(&before, &lat, sizeof(lat)),
		   "pixels off the lattice changed: accepted, same samples");
	make_frame(key, 0, 5000, 0);
	frame[px(0, 14, 12)] ^= 1;
	ktap_check(check_fresh(sizeof(frame)) == BIO_FRAME_OK,
		   "no face: the planes are not covered (header only)");

	memset(other, 0x5a, sizeof(other));
	make_frame(other, 0, 5000, 1);
	ktap_check(check_fresh(sizeof(frame)) == BIO_FRAME_ERR_MAC,
		   "frame signed with another session's key: MAC");
}

static void test_sequence_and_time(void)
{
	struct bio_frame_check fc;
	int ok = 1;
	u32 s;

	bio_frame_check_init(&fc, key, 1000);
	for (s = 0; s < 10; s++) {
		make_frame(key, s, 2000 + s * 100, s & 1);
		ok &= bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_OK;
	}
	ktap_check(ok && fc.next_seq == 10, "ten frames in order accepted");

	make_frame(key, 11, 4000, 1);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_ERR_SEQ,
		   "sequence gap rejected");
	make_frame(key, 9, 4000, 1);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_ERR_SEQ,
		   "repeated sequence rejected");
	make_frame(key, 10, 2900, 1);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_ERR_TIME,
		   "timestamp going back rejected");
	make_frame(key, 10, 2900 + 0, 1);
	hdr()->timestamp_ns = cpu_to_le64(2900);
	bio_frame_sign(key, frame, sizeof(frame), &scratch);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_ERR_TIME,
		   "equal timestamp rejected");
	ktap_check(fc.next_seq == 10, "rejected frames do not move the state");
	make_frame(key, 10, 3000, 1);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_OK,
		   "the right next frame still accepted after rejections");

	bio_frame_check_init(&fc, key, 1000);
	make_frame(key, 0, 999, 1);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_ERR_TIME,
		   "frame older than the key load rejected");
	make_frame(key, 1, 2000, 1);
	ktap_check(bio_frame_validate(&geom, &fc, frame, sizeof(frame), &copy, &lat) == BIO_FRAME_ERR_SEQ,
		   "first frame must have sequence 0");

	bio_frame_check_wipe(&fc);
	{
		static const u8 zero[sizeof(fc)];

		ktap_check(!memcmp(&fc, zero, sizeof(fc)), "wipe clears key and state");
	}
}

static void test_names(void)
{
	int ok = 1, r;

	for (r = 0; r < BIO_FRAME_ERR_COUNT; r++)
		ok &= strcmp(bio_frame_result_name(r), "unknown") != 0;
	ok &= !strcmp(bio_frame_result_name(BIO_FRAME_ERR_COUNT), "unknown");
	ktap_check(ok, "every result has a name");
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (u8)(0xa0 + i);
	ktap_plan(42);
	KTAP_CASE("mac vectors")
		test_mac_vectors();
	KTAP_CASE("structure")
		test_structure();
	KTAP_CASE("lattice")
		test_lattice();
	KTAP_CASE("mac")
		test_mac();
	KTAP_CASE("sequence and time")
		test_sequence_and_time();
	KTAP_CASE("names")
		test_names();
	return ktap_finish();
}
