/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A kernel audit record as the driver lays it out, for the native tests
 * of the log and the daemon: seq, boot and stream id and type as given,
 * the rest derived from seq (two records per session, three operators).
 *
 * test_audit_rec() writes format version 1, where every record is 160
 * bytes: what stores written before version 2 hold, and what must still
 * verify.  test_audit_rec_v2() writes the current format: a SESSION_START
 * record is 232 bytes with its reference block (every other session an
 * ICAO Passive Authentication declaration, the rest undeclared).
 */
#ifndef _BIOREADER_TEST_AUDIT_REC_H
#define _BIOREADER_TEST_AUDIT_REC_H

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/bioreader.h>
#include <linux/bioreader_audit.h>

static inline void test_audit_rec_common(struct bioreader_audit_record *r,
					 const uint8_t boot[16],
					 uint64_t stream_id, uint64_t seq,
					 uint32_t type)
{
	memset(r, 0, sizeof(*r));
	r->magic = htole32(BIOREADER_AUDIT_MAGIC);
	r->size = htole16(sizeof(*r));
	r->seq = htole64(seq);
	memcpy(r->boot_id, boot, 16);
	r->stream_id = htole64(stream_id);
	r->mono_ns = htole64(seq * 1000);
	r->real_ns = htole64(1700000000000000000ULL + seq);
	r->type = htole32(type);
	r->session_id = htole64(seq / 2 + 1);
	r->uid = htole32(1000);
	r->pid = htole32(4242);
	snprintf(r->operator_id, sizeof(r->operator_id), "desk-%llu",
		 (unsigned long long)(seq % 3));
}

/* Version 1: 160 bytes at buf. */
static inline void test_audit_rec(uint8_t *buf, const uint8_t boot[16],
				  uint64_t stream_id, uint64_t seq,
				  uint32_t type)
{
	struct bioreader_audit_record r;

	test_audit_rec_common(&r, boot, stream_id, seq, type);
	r.version = htole16(1);
	memcpy(buf, &r, sizeof(r));
}

/* The reference the v2 builder declares for session @sid (NONE: zero). */
static inline void test_audit_ref(uint64_t sid,
				  struct bioreader_audit_reference *ref)
{
	memset(ref, 0, sizeof(*ref));
	if (sid % 2)
		return;
	ref->source = htole32(BIOREADER_REF_SOURCE_ICAO_PA);
	ref->flags = htole32(BIOREADER_REF_BAC | BIOREADER_REF_CRL_CHECKED);
	memset(ref->issuer_sha256, 0xc5, sizeof(ref->issuer_sha256));
	memcpy(ref->signer_sha256, &sid, sizeof(sid));
	ref->signer_sha256[31] = 0xd5;
}

/* The current version at buf (room for BIOREADER_AUDIT_RECORD_MAX);
 * returns the record's size, 160 or 232. */
static inline size_t test_audit_rec_v2(uint8_t *buf, const uint8_t boot[16],
				       uint64_t stream_id, uint64_t seq,
				       uint32_t type)
{
	struct bioreader_audit_record r;
	struct bioreader_audit_reference ref;

	test_audit_rec_common(&r, boot, stream_id, seq, type);
	r.version = htole16(BIOREADER_AUDIT_VERSION);
	if (type != BIOREADER_AUDIT_SESSION_START) {
		memcpy(buf, &r, sizeof(r));
		return sizeof(r);
	}
	r.size = htole16(BIOREADER_AUDIT_SESSION_START_SIZE);
	test_audit_ref(seq / 2 + 1, &ref);
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), &ref, sizeof(ref));
	return BIOREADER_AUDIT_SESSION_START_SIZE;
}

#endif
