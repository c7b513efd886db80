// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: the liveness entry points (kernel/algo/bio_liveness.c)
 * on arbitrary frames.  After validation the driver hands liveness a
 * header and the lattice samples (private copies, gathered from the
 * planes by bio_lattice_gather()); a hostile device controls all of it
 * but the geometry and the bounds bio_frame_validate() enforces.
 *
 * Input: byte 0-1 width/height (8..71 / 8..55), 2-5 face box, 6 frame
 * count (1..70), 7 security level, then per frame one illumination byte
 * and one sequence step; the planes are filled cyclically from the rest.
 * Every call must stay in bounds (exact-size heap buffers for ASan) and
 * return a defined decision and class.
 */
#include <stdlib.h>

#include "algo/bio_liveness.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct bio_frame_geom g;
	struct brhw_frame_hdr hdr;
	struct bio_live *l;
	struct bio_lattice *lat;
	u32 nframes, f, i, plen, seq = 0, cls, r;
	size_t pos = 0, tail;
	u8 *payload;

	if (size < 8)
		return 0;
	g.width = 8 + data[0] % 64;
	g.height = 8 + data[1] % 48;
	g.emb_dim = 128;
	g.frame_size = BRHW_FRAME_SIZE(g.width, g.height);
	plen = BRHW_PAYLOAD_LEN(g.width, g.height);
	memset(&hdr, 0, sizeof(hdr));
	hdr.flags = cpu_to_le32(BRHW_FRAME_FACE);
	/* What bio_frame_validate() lets through: the box inside the frame. */
	hdr.face_x = cpu_to_le16(data[2] % g.width);
	hdr.face_y = cpu_to_le16(data[3] % g.height);
	hdr.face_w = cpu_to_le16(1 + data[4] % (g.width - data[2] % g.width));
	hdr.face_h = cpu_to_le16(1 + data[5] % (g.height - data[3] % g.height));
	nframes = 1 + data[6] % 70;
	l = malloc(sizeof(*l));
	payload = malloc(plen);
	lat = malloc(sizeof(*lat));
	if (!l || !payload || !lat)
		abort();
	bio_live_init(l, data[7] % 4);
	tail = size - 8;
	for (f = 0; f < nframes; f++) {
		u8 illum = tail ? data[8 + (2 * f) % tail] : 0;
		u8 step = tail ? data[8 + (2 * f + 1) % tail] : 1;
		enum bio_live_decision d;

		for (i = 0; i < plen; i++) {
			payload[i] = tail ? data[8 + pos % tail] : 0;
			pos++;
		}
		seq += step & 3;
		if (bio_lattice_gather(&hdr, g.width, g.height, payload, lat) !=
		    BRHW_LAT_SIZE)
			abort();	/* the box lies inside the frame */
		bio_live_add(l, &hdr, lat, seq, illum & 3);
		d = bio_live_decide(l, &cls);
		if ((unsigned int)d > BIO_LIVE_LAYER ||
		    cls > BIOREADER_ATTACK_MASK ||
		    (d == BIO_LIVE_ATTACK) != (cls != BIOREADER_ATTACK_NONE))
			abort();
		/* A quality reason is NONE or one of the appended values. */
		r = bio_quality_reason(&l->q);
		if (r != BIOREADER_REASON_NONE &&
		    (r < BIOREADER_REASON_TOO_FAR || r > BIOREADER_REASON_LAST))
			abort();
	}
	bio_live_wipe(l);
	free(l);
	free(payload);
	free(lat);
	return 0;
}
