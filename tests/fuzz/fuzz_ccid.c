// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * libFuzzer target: what a USB smart-card reader sends (lib/idcard/):
 * bulk-in messages (ccid_parse), interrupt-pipe notifications
 * (ccid_parse_notify), the class descriptor (ccid_parse_desc), and TPDU
 * answers fed to the T=0 layer (t0_transmit), which must end every
 * exchange in a bounded number of steps without reading or writing past
 * a buffer.
 *
 * Input: byte 0 selects the parser (mod 4); the rest is the device's
 * bytes.  For T=0, the rest is a command APDU (1-byte length, bytes), then
 * TPDU answers, each a 2-byte big-endian length and the bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idcard/ccid.h"
#include "idcard/t0.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

struct feed {
	const unsigned char *p;
	size_t left;
	unsigned int calls;
};

static int feed_xfr(void *ctx, const uint8_t *c, size_t len, uint8_t *r, size_t *rl)
{
	struct feed *f = ctx;
	size_t n;

	if (!c || len < 5 || len > 5 + 255)
		abort();	/* the layer never sends that */
	if (++f->calls > 1000)
		abort();	/* an exchange without end */
	if (f->left < 2)
		return -ETIMEDOUT;
	n = (size_t)f->p[0] << 8 | f->p[1];
	f->p += 2;
	f->left -= 2;
	if (n > f->left)
		n = f->left;
	if (n > *rl)
		return -EMSGSIZE;
	memcpy(r, f->p, n);
	f->p += n;
	f->left -= n;
	*rl = n;
	return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static uint8_t out[70000];
	unsigned char *buf;
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	/* a copy of exactly the bytes, so ASan sees any overread */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	switch (data[0] & 3) {
	case 0: {
		struct ccid_msg m;
		int rc = ccid_parse(buf, len, &m);

		if (rc != 0 && rc != -EAGAIN && rc != -EPROTO)
			abort();
		if (rc == 0 && (m.len != len - CCID_HDR_LEN ||
				(m.len && m.data != buf + CCID_HDR_LEN)))
			abort();
		break;
	}
	case 1: {
		bool p, c;
		unsigned int slot;

		for (slot = 0; slot < 10; slot++)
			(void)ccid_parse_notify(buf, len, slot, &p, &c);
		break;
	}
	case 2: {
		struct ccid_desc d;

		(void)ccid_parse_desc(buf, len, &d);
		break;
	}
	case 3: {
		struct t0_link l = { 0 };
		struct feed f;
		size_t al, rl;
		int rc;

		if (len < 1 || (size_t)buf[0] + 1 > len)
			break;
		al = buf[0];
		f.p = buf + 1 + al;
		f.left = len - 1 - al;
		f.calls = 0;
		l.xfr = feed_xfr;
		l.ctx = &f;
		/* both a roomy and a tight response buffer */
		rl = sizeof(out);
		rc = t0_transmit(&l, buf + 1, al, out, &rl);
		if (rc == 0 && (rl < 2 || rl > sizeof(out)))
			abort();
		f.p = buf + 1 + al;
		f.left = len - 1 - al;
		f.calls = 0;
		rl = 40;
		rc = t0_transmit(&l, buf + 1, al, out, &rl);
		if (rc == 0 && (rl < 2 || rl > 40))
			abort();
		break;
	}
	}
	free(buf);
	return 0;
}
