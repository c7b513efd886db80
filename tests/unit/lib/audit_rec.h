/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A kernel audit record as the driver lays it out, for the native tests
 * of the log and the daemon: seq, boot and stream id and type as given,
 * the rest derived from seq (two records per session, three operators).
 */
#ifndef _BIOREADER_TEST_AUDIT_REC_H
#define _BIOREADER_TEST_AUDIT_REC_H

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/bioreader_audit.h>

static inline void test_audit_rec(uint8_t *buf, const uint8_t boot[16],
				  uint64_t stream_id, uint64_t seq,
				  uint32_t type)
{
	struct bioreader_audit_record r;

	memset(&r, 0, sizeof(r));
	r.magic = htole32(BIOREADER_AUDIT_MAGIC);
	r.version = htole16(BIOREADER_AUDIT_VERSION);
	r.size = htole16(sizeof(r));
	r.seq = htole64(seq);
	memcpy(r.boot_id, boot, 16);
	r.stream_id = htole64(stream_id);
	r.mono_ns = htole64(seq * 1000);
	r.real_ns = htole64(1700000000000000000ULL + seq);
	r.type = htole32(type);
	r.session_id = htole64(seq / 2 + 1);
	r.uid = htole32(1000);
	r.pid = htole32(4242);
	snprintf(r.operator_id, sizeof(r.operator_id), "desk-%llu",
		 (unsigned long long)(seq % 3));
	memcpy(buf, &r, sizeof(r));
}

#endif
