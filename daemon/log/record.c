// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Audit records (uapi/linux/bioreader_audit.h): parse and validate one
 * record from untrusted bytes.  The log stores records exactly as the
 * kernel produced them; this is the only place that looks inside.
 *
 * Format versions (docs/audit-records.md):
 *   1  every record 160 bytes (stores written before version 2 hold
 *      them, and must still verify);
 *   2  a SESSION_START record is 232 bytes, the 160 followed by struct
 *      bioreader_audit_reference; every other record 160 bytes.
 * A later version may only append fields: it is accepted by the rules
 * the two share, with its SESSION_START at least 232 bytes.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/bioreader.h>
#include <linux/bioreader_audit.h>

#include "bflog.h"

_Static_assert(sizeof(struct bioreader_audit_record) == BFL_RECORD_MIN,
	       "audit record size");
_Static_assert(BIOREADER_AUDIT_SESSION_START_SIZE == BFL_RECORD_REF_SIZE &&
	       BFL_RECORD_MIN + sizeof(struct bioreader_audit_reference) ==
	       BFL_RECORD_REF_SIZE, "SESSION_START record size");

#define OFF(f) offsetof(struct bioreader_audit_record, f)
#define ROFF(f) (BFL_RECORD_MIN + offsetof(struct bioreader_audit_reference, f))

static bool all_zero(const u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* The size a record of this version and type must have (0: any, by the
 * shared rules). */
static u32 size_wanted(u32 version, u32 type)
{
	if (version == 1)
		return BFL_RECORD_MIN;
	if (version == 2)
		return type == BIOREADER_AUDIT_SESSION_START ? BFL_RECORD_REF_SIZE :
							       BFL_RECORD_MIN;
	return 0;
}

/* The reference block: the rules the driver applies at SESSION_START. */
static int parse_ref(const u8 *buf, struct bfl_record *r, struct bfl_err *e)
{
	bool issuer, signer;

	r->has_ref = true;
	r->ref_source = bfl_get_le32(buf + ROFF(source));
	r->ref_flags = bfl_get_le32(buf + ROFF(flags));
	memcpy(r->ref_issuer, buf + ROFF(issuer_sha256), BFL_HASH_SIZE);
	memcpy(r->ref_signer, buf + ROFF(signer_sha256), BFL_HASH_SIZE);
	issuer = !all_zero(r->ref_issuer, BFL_HASH_SIZE);
	signer = !all_zero(r->ref_signer, BFL_HASH_SIZE);
	switch (r->ref_source) {
	case BIOREADER_REF_SOURCE_NONE:
		if (r->ref_flags || issuer || signer)
			return bfl_errf(e, -EBADMSG,
					"reference source none with %s",
					r->ref_flags ? "flags" : "a fingerprint");
		return 0;
	case BIOREADER_REF_SOURCE_ICAO_PA:
		if (r->ref_flags & ~(u32)BIOREADER_REF_FLAGS_ALL)
			return bfl_errf(e, -EBADMSG, "unknown reference flags 0x%x",
					r->ref_flags & ~(u32)BIOREADER_REF_FLAGS_ALL);
		if (!issuer || !signer)
			return bfl_errf(e, -EBADMSG,
					"reference source icao-pa without the %s fingerprint",
					!issuer ? "issuer (CSCA)" : "signer (DS)");
		return 0;
	default:
		return bfl_errf(e, -EBADMSG, "unknown reference source %u",
				r->ref_source);
	}
}

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
	if (r->version < 1)
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
	if (size_wanted(r->version, r->type) &&
	    size != size_wanted(r->version, r->type))
		return bfl_errf(e, -EBADMSG, "version-%u %s record of %u bytes, not %u",
				r->version, bfl_record_type_name(r->type), size,
				size_wanted(r->version, r->type));
	if (r->version >= 2 && r->type == BIOREADER_AUDIT_SESSION_START) {
		if (size < BFL_RECORD_REF_SIZE)
			return bfl_errf(e, -EBADMSG,
					"version-%u SESSION_START record of %u bytes, under %u",
					r->version, size, BFL_RECORD_REF_SIZE);
		if (parse_ref(buf, r, e))
			return -EBADMSG;
	}
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

const char *bfl_ref_source_name(u32 source)
{
	switch (source) {
	case BIOREADER_REF_SOURCE_NONE:
		return "none";
	case BIOREADER_REF_SOURCE_ICAO_PA:
		return "icao-pa";
	default:
		return "unknown";
	}
}

void bfl_hex(const u8 *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

void bfl_record_ref_text(const struct bfl_record *r, char *out, size_t cap)
{
	char issuer[2 * BFL_HASH_SIZE + 1], signer[2 * BFL_HASH_SIZE + 1];

	if (!cap)
		return;
	out[0] = 0;
	if (!r->has_ref)
		return;
	bfl_hex(r->ref_issuer, BFL_HASH_SIZE, issuer);
	bfl_hex(r->ref_signer, BFL_HASH_SIZE, signer);
	snprintf(out, cap, "ref_source=%s ref_flags=%#x ref_issuer_sha256=%s ref_signer_sha256=%s",
		 bfl_ref_source_name(r->ref_source), r->ref_flags, issuer, signer);
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
	else {
		char ev[160];

		bfl_daemon_event_text(r, ev, sizeof(ev));
		snprintf(out, cap, "boot %s daemon record pid %u: %s", boot, r->pid, ev);
	}
}

/* detail[] of a DAEMON record, as bioflowd writes it (docs/bioflowd.md,
 * "Daemon records"). */
void bfl_daemon_event_text(const struct bfl_record *r, char *out, size_t cap)
{
	static const char *const why[] = {
		"?", "status not replaced", "status missing", "not a status file",
	};
	const u32 *d = r->detail;
	size_t n;

	switch (d[0]) {
	case 1:
		snprintf(out, cap, "daemon started");
		break;
	case 2:
		snprintf(out, cap, "worker %u died (signal %u, exit status %u, generation %u)",
			 d[1], d[2], d[3], d[4]);
		break;
	case 3:
		snprintf(out, cap, "refused request type %u of worker %u (generation %u)",
			 d[2], d[1], d[4]);
		break;
	case 4:
	case 5:
		snprintf(out, cap, "forwarding %s: %u records, %u s behind, collector %s%s",
			 d[0] == 4 ? "behind" : "within bounds", d[1], d[2],
			 d[3] & 1 ? "connected" : "disconnected",
			 d[3] & 2 ? ", forwarder error" : "");
		break;
	case 6:
		snprintf(out, cap, "forwarder silent for %u s (%s)", d[1],
			 why[d[2] < 4 ? d[2] : 0]);
		break;
	default:
		snprintf(out, cap, "event %u", d[0]);
		return;
	}
	n = strlen(out);
	if (d[0] >= 4 && d[4] && n < cap)
		snprintf(out + n, cap - n, "; %u changes not recorded", d[4]);
	n = strlen(out);
	if (d[5] && n < cap)
		snprintf(out + n, cap - n, "; %u more daemon records not kept", d[5]);
}
