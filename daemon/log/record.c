// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Audit records (uapi/linux/bioreader_audit.h): parse and validate one
 * record from untrusted bytes.  The log stores records exactly as the
 * kernel produced them; this is the only place that looks inside.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"

_Static_assert(sizeof(struct bioreader_audit_record) == BFL_RECORD_MIN,
	       "audit record size");

#define OFF(f) offsetof(struct bioreader_audit_record, f)

int bfl_record_parse(const u8 *buf, size_t avail, struct bfl_record *r,
		     struct bfl_err *e)
{
	u32 magic, size;
	size_t i;

	if (avail < 8)
		return bfl_errf(e, -ENODATA, "%zu bytes, too short for a record header",
				avail);
	magic = bfl_get_le32(buf + OFF(magic));
	if (magic != BIOREADER_AUDIT_MAGIC)
		return bfl_errf(e, -EBADMSG, "bad record magic 0x%08x", magic);
	memset(r, 0, sizeof(*r));
	r->version = buf[OFF(version)] | (u32)buf[OFF(version) + 1] << 8;
	size = buf[OFF(size)] | (u32)buf[OFF(size) + 1] << 8;
	r->size = size;
	if (r->version < BIOREADER_AUDIT_VERSION)
		return bfl_errf(e, -EBADMSG, "bad record version %u", r->version);
	if (size < BFL_RECORD_MIN || size > BFL_RECORD_MAX || size % 8)
		return bfl_errf(e, -EBADMSG, "bad record size %u", size);
	if (size > avail)
		return bfl_errf(e, -ENODATA, "record of %u bytes, only %zu present",
				size, avail);
	r->seq = bfl_get_le64(buf + OFF(seq));
	memcpy(r->boot_id, buf + OFF(boot_id), 16);
	r->mono_ns = bfl_get_le64(buf + OFF(mono_ns));
	r->real_ns = bfl_get_le64(buf + OFF(real_ns));
	r->type = bfl_get_le32(buf + OFF(type));
	r->reader = bfl_get_le32(buf + OFF(reader));
	r->session_id = bfl_get_le64(buf + OFF(session_id));
	r->uid = bfl_get_le32(buf + OFF(uid));
	r->pid = bfl_get_le32(buf + OFF(pid));
	r->actor_start_ns = bfl_get_le64(buf + OFF(actor_start_ns));
	memcpy(r->operator_id, buf + OFF(operator_id), 32);
	r->operator_id[32] = 0;
	r->outcome = bfl_get_le32(buf + OFF(outcome));
	r->reason = bfl_get_le32(buf + OFF(reason));
	r->attack_class = bfl_get_le32(buf + OFF(attack_class));
	r->flags = bfl_get_le32(buf + OFF(flags));
	r->stream_id = bfl_get_le64(buf + OFF(stream_id));
	for (i = 0; i < 6; i++)
		r->detail[i] = bfl_get_le32(buf + OFF(detail) + 4 * i);
	memcpy(r->stream, r->boot_id, 16);
	memcpy(r->stream + 16, buf + OFF(stream_id), 8);

	if (r->type < BIOREADER_AUDIT_SESSION_START ||
	    r->type > BIOREADER_AUDIT_DAEMON)
		return bfl_errf(e, -EBADMSG, "unknown record type %u", r->type);
	if (bfl_record_is_kernel(r) && r->seq == 0)
		return bfl_errf(e, -EBADMSG, "kernel record with seq 0");
	if (bfl_record_is_kernel(r) && r->stream_id == 0)
		return bfl_errf(e, -EBADMSG, "kernel record with stream id 0");
	/* operator_id: printable ASCII, then NUL padding only. */
	for (i = 0; i < 32 && r->operator_id[i]; i++)
		if (r->operator_id[i] < 0x20 || r->operator_id[i] > 0x7e)
			return bfl_errf(e, -EBADMSG, "operator id byte %zu not printable",
					i);
	for (; i < 32; i++)
		if (r->operator_id[i])
			return bfl_errf(e, -EBADMSG, "operator id not NUL-padded");
	return (int)size;
}

bool bfl_record_is_kernel(const struct bfl_record *r)
{
	return r->type != BIOREADER_AUDIT_DAEMON;
}

const char *bfl_record_type_name(u32 type)
{
	static const char *const names[] = {
		[BIOREADER_AUDIT_SESSION_START] = "SESSION_START",
		[BIOREADER_AUDIT_VERDICT] = "VERDICT",
		[BIOREADER_AUDIT_POLICY_CHANGE] = "POLICY_CHANGE",
		[BIOREADER_AUDIT_READER_ADDED] = "READER_ADDED",
		[BIOREADER_AUDIT_READER_REMOVED] = "READER_REMOVED",
		[BIOREADER_AUDIT_INTEGRITY] = "INTEGRITY",
		[BIOREADER_AUDIT_LOCKOUT] = "LOCKOUT",
		[BIOREADER_AUDIT_STATS_RESET] = "STATS_RESET",
		[BIOREADER_AUDIT_CONSUMER] = "CONSUMER",
		[BIOREADER_AUDIT_DAEMON] = "DAEMON",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "UNKNOWN";
}

void bfl_stream_hex(const u8 stream[BFL_STREAM_SIZE], char out[50])
{
	int i;

	bfl_boot_id_hex(stream, out);
	out[32] = '/';
	for (i = 0; i < 8; i++)
		snprintf(out + 33 + 2 * i, 3, "%02x", stream[16 + 7 - i]);
}

void bfl_boot_id_hex(const u8 boot_id[16], char out[33])
{
	int i;

	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", boot_id[i]);
}

void bfl_record_describe(const struct bfl_record *r, char *out, size_t cap)
{
	char boot[33];

	bfl_boot_id_hex(r->boot_id, boot);
	boot[8] = 0;
	if (bfl_record_is_kernel(r))
		snprintf(out, cap, "boot %s seq %llu %s", boot,
			 (unsigned long long)r->seq,
			 bfl_record_type_name(r->type));
	else
		snprintf(out, cap, "boot %s daemon record pid %u", boot, r->pid);
}
