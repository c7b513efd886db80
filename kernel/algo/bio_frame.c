// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Frame validation (docs/hardware.md, "Frame format" and "Frame
 * integrity").  Nothing in a frame is trusted before this returns
 * BIO_FRAME_OK: a device on the capture bus, or anyone who can write to
 * the DMA buffers, may have forged, replayed or reordered it.
 *
 * Order of checks: structure first (so the frame's extent is known), then
 * the MAC over the header and the lattice samples (bio_lattice.c), then
 * the stateful sequence and time checks, so a forged frame can never
 * move the state.  The state advances only on success.
 */
#include "bio_frame.h"

void bio_frame_check_init(struct bio_frame_check *fc, const u8 *key,
			  u64 key_time_ns)
{
	memcpy(fc->key, key, BIO_MAC_KEY_SIZE);
	fc->next_seq = 0;
	fc->last_ts = 0;
	fc->min_ts = key_time_ns;
}

void bio_frame_check_wipe(struct bio_frame_check *fc)
{
	bio_wipe(fc, sizeof(*fc));
}

static enum bio_frame_result bio_frame_check_structure(const struct bio_frame_geom *g,
						       const struct brhw_frame_hdr *h,
						       size_t len)
{
	if (len < BRHW_FRAME_HDR_SIZE)
		return BIO_FRAME_ERR_SHORT;
	if (le32_to_cpu(h->magic) != BRHW_FRAME_MAGIC)
		return BIO_FRAME_ERR_MAGIC;
	if (le16_to_cpu(h->version) != BRHW_FRAME_VERSION)
		return BIO_FRAME_ERR_VERSION;
	if (le16_to_cpu(h->hdr_len) != BRHW_FRAME_HDR_SIZE ||
	    le16_to_cpu(h->width) != g->width ||
	    le16_to_cpu(h->height) != g->height ||
	    le32_to_cpu(h->payload_len) != BRHW_PAYLOAD_LEN(g->width, g->height))
		return BIO_FRAME_ERR_GEOMETRY;
	if (len < (size_t)BRHW_FRAME_SIZE(g->width, g->height))
		return BIO_FRAME_ERR_SHORT;
	return BIO_FRAME_OK;
}

static enum bio_frame_result bio_frame_check_face(const struct bio_frame_geom *g,
						  const struct brhw_frame_hdr *h)
{
	u32 x, y, w, ht;

	if (!(le32_to_cpu(h->flags) & BRHW_FRAME_FACE))
		return BIO_FRAME_OK;
	if (h->emb_format != BRHW_EMB_FMT_INT8_L2 ||
	    le16_to_cpu(h->emb_dim) != g->emb_dim ||
	    g->emb_dim > BRHW_EMB_MAX)
		return BIO_FRAME_ERR_EMB;
	x = le16_to_cpu(h->face_x);
	y = le16_to_cpu(h->face_y);
	w = le16_to_cpu(h->face_w);
	ht = le16_to_cpu(h->face_h);
	if (!w || !ht || x + w > g->width || y + ht > g->height)
		return BIO_FRAME_ERR_EMB;
	return BIO_FRAME_OK;
}

enum bio_frame_result bio_frame_validate(const struct bio_frame_geom *g,
					 struct bio_frame_check *fc,
					 const void *buf, size_t len,
					 struct brhw_frame_hdr *h,
					 struct bio_lattice *lat)
{
	enum bio_frame_result r;
	u8 mac[BIO_MAC_SIZE];
	u32 lat_len;
	u64 ts;
	int bad;

	if (len < BRHW_FRAME_HDR_SIZE)
		return BIO_FRAME_ERR_SHORT;
	memcpy(h, buf, BRHW_FRAME_HDR_SIZE);
	r = bio_frame_check_structure(g, h, len);
	if (r != BIO_FRAME_OK)
		return r;

	/*
	 * The lattice follows from the face box of the private header copy
	 * (bounds-checked there; a box outside the frame gives no lattice,
	 * exactly as when the device signed, and is refused below).  The
	 * MAC is computed over the copies, which are all that is used later.
	 */
	lat_len = bio_lattice_gather(h, g->width, g->height,
				     (const u8 *)buf + BRHW_FRAME_HDR_SIZE, lat);
	bio_mac2(fc->key, h, BRHW_FRAME_MAC_OFFSET, lat, lat_len, mac);
	bad = bio_ct_memneq(mac, h->mac, BIO_MAC_SIZE);
	bio_wipe(mac, sizeof(mac));
	if (bad)
		return BIO_FRAME_ERR_MAC;

	r = bio_frame_check_face(g, h);
	if (r != BIO_FRAME_OK)
		return r;

	if (le32_to_cpu(h->seq) != fc->next_seq)
		return BIO_FRAME_ERR_SEQ;
	ts = le64_to_cpu(h->timestamp_ns);
	if (ts < fc->min_ts || (fc->next_seq && ts <= fc->last_ts))
		return BIO_FRAME_ERR_TIME;

	fc->next_seq++;
	fc->last_ts = ts;
	return BIO_FRAME_OK;
}

const char *bio_frame_result_name(enum bio_frame_result r)
{
	static const char * const names[BIO_FRAME_ERR_COUNT] = {
		[BIO_FRAME_OK] = "ok",
		[BIO_FRAME_ERR_SHORT] = "short",
		[BIO_FRAME_ERR_MAGIC] = "bad magic",
		[BIO_FRAME_ERR_VERSION] = "bad version",
		[BIO_FRAME_ERR_GEOMETRY] = "bad geometry",
		[BIO_FRAME_ERR_EMB] = "bad face data",
		[BIO_FRAME_ERR_MAC] = "bad MAC",
		[BIO_FRAME_ERR_SEQ] = "sequence",
		[BIO_FRAME_ERR_TIME] = "timestamp",
		[BIO_FRAME_ERR_ILLUM] = "illumination",
	};

	if ((unsigned int)r >= BIO_FRAME_ERR_COUNT)
		return "unknown";
	return names[r];
}
