/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * bioreader audit channel: the records the driver emits for every
 * session start, verdict, abort, timeout, policy change, reader
 * added/removed and integrity failure, read by one consumer (bioflowd)
 * from /dev/bioreader-audit.  docs/audit-records.md describes them.
 *
 * read() returns as many whole records as fit in the buffer, packed,
 * each of its own size (at least one record; a buffer smaller than
 * BIOREADER_AUDIT_RECORD_MAX, the largest record, gets -EINVAL whatever
 * comes next), blocking unless O_NONBLOCK.  poll() gives EPOLLIN while unread records exist.  The
 * consumer acknowledges with BIOREADER_AUDIT_IOC_ACK once records are
 * durable; unacknowledged records are delivered again after it reopens.
 * One consumer at a time (a second open gets -EBUSY).
 *
 * Fail closed: while no consumer has the node open, or while the queue
 * of unacknowledged records is full, the driver releases no verdict;
 * SESSION_START and SESSION_WAIT fail with -ENOLINK.
 */
#ifndef _UAPI_LINUX_BIOREADER_AUDIT_H
#define _UAPI_LINUX_BIOREADER_AUDIT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define BIOREADER_AUDIT_MAGIC		0x43524142 /* "BARC" */
#define BIOREADER_AUDIT_VERSION		2
#define BIOREADER_AUDIT_RECORD_SIZE	160 /* every record starts so */
/* Version 2: a SESSION_START record carries bioreader_audit_reference. */
#define BIOREADER_AUDIT_SESSION_START_SIZE	232
/* The largest record of this version: the smallest buffer read() takes. */
#define BIOREADER_AUDIT_RECORD_MAX	BIOREADER_AUDIT_SESSION_START_SIZE

/* bioreader_audit_record.type */
#define BIOREADER_AUDIT_SESSION_START	1
#define BIOREADER_AUDIT_VERDICT		2 /* any session end, outcome says how */
#define BIOREADER_AUDIT_POLICY_CHANGE	3
#define BIOREADER_AUDIT_READER_ADDED	4
#define BIOREADER_AUDIT_READER_REMOVED	5
#define BIOREADER_AUDIT_INTEGRITY	6 /* a frame failed validation */
#define BIOREADER_AUDIT_LOCKOUT		7 /* a reference was locked out */
#define BIOREADER_AUDIT_STATS_RESET	8
#define BIOREADER_AUDIT_CONSUMER	9 /* the audit consumer attached */
#define BIOREADER_AUDIT_DAEMON		10 /* written by the daemon itself */

#define BIOREADER_AUDIT_NO_READER	0xffffffffU

/**
 * struct bioreader_audit_record - one audit record, little-endian
 * @magic:	BIOREADER_AUDIT_MAGIC
 * @version:	BIOREADER_AUDIT_VERSION
 * @size:	size of this record in bytes; a reader steps by it, so later
 *		versions may append fields
 * @seq:	kernel sequence number: 1, 2, 3, ... per stream, no gaps
 * @boot_id:	the kernel's boot id (/proc/sys/kernel/random/boot_id, 16
 *		raw bytes)
 * @mono_ns:	CLOCK_BOOTTIME at the event, ns
 * @real_ns:	CLOCK_REALTIME at the event, ns since the epoch
 * @type:	BIOREADER_AUDIT_*
 * @reader:	N of /dev/bioreaderN, or BIOREADER_AUDIT_NO_READER
 * @session_id:	the session concerned, or 0
 * @uid:	actor: effective uid of the calling process (init ns)
 * @pid:	actor: its tgid (init pid ns), 0 for the kernel itself
 * @actor_start_ns: actor: the process's start time (boottime ns), so
 *		that (boot_id, pid, start) names one process for ever
 * @operator_id: the operator id given at session start, NUL-padded
 * @outcome:	VERDICT: BIOREADER_OUTCOME_*; INTEGRITY: the frame error
 * @reason:	VERDICT: BIOREADER_REASON_*
 * @attack_class: VERDICT: BIOREADER_ATTACK_*
 * @flags:	VERDICT: BIOREADER_VERDICT_*
 * @stream_id:	random, non-zero, drawn when bioreader.ko is loaded.  A
 *		stream is (boot_id, stream_id): seq starts at 1 in every
 *		stream, so a module reload within one boot starts a new
 *		stream rather than repeating sequence numbers
 * @detail:	type-specific (docs/audit-records.md); zero when unused
 */
struct bioreader_audit_record {
	__le32 magic;
	__le16 version;
	__le16 size;
	__le64 seq;
	__u8 boot_id[16];
	__le64 mono_ns;
	__le64 real_ns;
	__le32 type;
	__le32 reader;
	__le64 session_id;
	__le32 uid;
	__le32 pid;
	__le64 actor_start_ns;
	char operator_id[32];
	__le32 outcome;
	__le32 reason;
	__le32 attack_class;
	__le32 flags;
	__le64 stream_id;
	__le32 detail[6];
};

/**
 * struct bioreader_audit_reference - appended to a SESSION_START record
 * (version 2, record size BIOREADER_AUDIT_SESSION_START_SIZE): where the
 * session's reference template came from, as the process that started
 * the session declared it (bioreader_session_start.ref_*).  All zero
 * when it declared nothing.
 * @source:		BIOREADER_REF_SOURCE_* (linux/bioreader.h)
 * @flags:		BIOREADER_REF_*
 * @issuer_sha256:	SHA-256 of the issuing authority's certificate
 * @signer_sha256:	SHA-256 of the signer's certificate
 */
struct bioreader_audit_reference {
	__le32 source;
	__le32 flags;
	__u8 issuer_sha256[32];
	__u8 signer_sha256[32];
};

#define BIOREADER_AUDIT_IOC_MAGIC	0xBA
/* Acknowledge every record with seq <= the given value as durable. */
#define BIOREADER_AUDIT_IOC_ACK		_IOW(BIOREADER_AUDIT_IOC_MAGIC, 0x40, __u64)

#endif /* _UAPI_LINUX_BIOREADER_AUDIT_H */
