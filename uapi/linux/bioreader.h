/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * bioreader - user API of the identity-verification biometric reader.
 *
 * The driver releases verdicts only.  No call of this interface returns
 * pixels, depth, face embeddings, templates or similarity scores; the
 * reference template goes in, a verdict comes out.
 *
 * Extensible structures: every structure below may grow at its end in a
 * later version.  The size the caller was compiled with travels in the
 * size field of the ioctl number (_IOC_SIZE), and the driver applies the
 * rules of copy_struct_from_user():
 *   - caller's struct smaller than version 0 of the struct: -EINVAL;
 *   - caller's struct smaller than the driver's: the missing tail reads
 *     as zero (the defaults of the newer fields);
 *   - caller's struct larger than the driver's: the extra tail must be
 *     zero, otherwise -E2BIG;
 *   - on output, the driver writes min(caller size, driver size) bytes.
 * Fields named pad* or reserved* must be zero on input (-EINVAL).
 * User pointers travel as __u64.
 *
 * See docs/uapi.md for the full description and error codes.
 */
#ifndef _UAPI_LINUX_BIOREADER_H
#define _UAPI_LINUX_BIOREADER_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define BIOREADER_API_VERSION		1

/* Device capabilities reported in bioreader_info.caps. */
#define BIOREADER_CAP_DUAL_NIR		_BITUL(0)
#define BIOREADER_CAP_DEPTH		_BITUL(1)
#define BIOREADER_CAP_EMBEDDING		_BITUL(2)
#define BIOREADER_CAP_ILLUMINATION	_BITUL(3)
#define BIOREADER_CAP_FRAME_MAC		_BITUL(4)
/* Driver features reported in bioreader_info.features. */
#define BIOREADER_FEAT_LIVENESS		_BITUL(0) /* PAD implemented */

/* bioreader_info.state */
#define BIOREADER_STATE_IDLE		0
#define BIOREADER_STATE_BUSY		1 /* a session is running */

/**
 * struct bioreader_info - BIOREADER_IOC_GET_INFO output
 * @api_version:	BIOREADER_API_VERSION of the driver
 * @reader_index:	N of /dev/bioreaderN
 * @hw_version:		device VERSION register (major << 16 | minor)
 * @caps:		BIOREADER_CAP_* of the device
 * @features:		BIOREADER_FEAT_* of the driver
 * @state:		BIOREADER_STATE_*
 * @width:		frame width in pixels
 * @height:		frame height in pixels
 * @fps:		configured frame rate (frames per second)
 * @emb_dim:		dimension of the face embedding and of templates
 * @template_format:	accepted BIOREADER_TEMPLATE_FMT_*
 * @template_max:	largest accepted template, bytes
 * @pad0:		zero
 */
struct bioreader_info {
	__u32 api_version;
	__u32 reader_index;
	__u32 hw_version;
	__u32 caps;
	__u32 features;
	__u32 state;
	__u16 width;
	__u16 height;
	__u32 fps;
	__u32 emb_dim;
	__u32 template_format;
	__u32 template_max;
	__u32 pad0;
};

#define BIOREADER_INFO_SIZE_VER0	48

/*
 * Reference template, as read from the ID card (after the card's issuer
 * signature was checked in userspace).  Little-endian, packed layout:
 *
 *   offset 0  __le32 magic    BIOREADER_TEMPLATE_MAGIC
 *   offset 4  __le16 version  BIOREADER_TEMPLATE_VERSION
 *   offset 6  __le16 dim      must equal bioreader_info.emb_dim
 *   offset 8  __u8   format   BIOREADER_TEMPLATE_FMT_*
 *   offset 9  __u8   reserved[7], zero
 *   offset 16 __s8   data[dim]
 *
 * FMT_INT8_L2: an L2-normalised embedding quantised to int8 with scale
 * 127 (each component round(127 * x), |x| <= 1).
 */
#define BIOREADER_TEMPLATE_MAGIC	0x4c505442 /* "BTPL" */
#define BIOREADER_TEMPLATE_VERSION	1
#define BIOREADER_TEMPLATE_FMT_INT8_L2	1
#define BIOREADER_TEMPLATE_HDR_SIZE	16
#define BIOREADER_TEMPLATE_MAX		4096

struct bioreader_template_hdr {
	__le32 magic;
	__le16 version;
	__le16 dim;
	__u8 format;
	__u8 reserved[7];
};

/* Security levels: which operating point of matching (and liveness). */
#define BIOREADER_SECLEVEL_DEFAULT	0 /* the device's policy */
#define BIOREADER_SECLEVEL_LOW		1
#define BIOREADER_SECLEVEL_MEDIUM	2
#define BIOREADER_SECLEVEL_HIGH		3

/* bioreader_policy.flags */
/*
 * Release "match" even though liveness was not evaluated.  Off by
 * default: without it a would-be match ends INCONCLUSIVE with reason
 * LIVENESS_UNAVAILABLE.  Settable only through BIOREADER_IOC_SET_POLICY.
 */
#define BIOREADER_POLICY_ALLOW_NO_LIVENESS	_BITUL(0)
#define BIOREADER_POLICY_FLAGS_ALL	BIOREADER_POLICY_ALLOW_NO_LIVENESS

/**
 * struct bioreader_policy - device policy (GET_POLICY / SET_POLICY)
 * @flags:		BIOREADER_POLICY_*
 * @security_level:	BIOREADER_SECLEVEL_LOW..HIGH (0 invalid here)
 * @frames_required:	face frames aggregated into one decision, 1..64
 * @default_timeout_ms:	session timeout when the session gives 0,
 *			100..BIOREADER_TIMEOUT_MAX_MS
 * @max_failures:	failed sessions against one reference before it is
 *			locked out, 1..100
 * @lockout_s:		how long the lockout lasts, 1..86400 seconds
 * @pad0:		zero
 */
struct bioreader_policy {
	__u32 flags;
	__u32 security_level;
	__u32 frames_required;
	__u32 default_timeout_ms;
	__u32 max_failures;
	__u32 lockout_s;
	__u32 pad0;
	__u32 pad1;
};

#define BIOREADER_POLICY_SIZE_VER0	32

#define BIOREADER_OPERATOR_ID_LEN	32
#define BIOREADER_TIMEOUT_MAX_MS	60000

/**
 * struct bioreader_session_start - BIOREADER_IOC_SESSION_START
 * @template_ptr:	in: user pointer to the reference template
 * @template_len:	in: its length, 1..BIOREADER_TEMPLATE_MAX
 * @security_level:	in: BIOREADER_SECLEVEL_*; may only raise the
 *			device's level (a lower one is raised)
 * @timeout_ms:		in: 0 = policy default, else 100..TIMEOUT_MAX_MS
 * @flags:		in: zero (no flag defined yet)
 * @operator_id:	in: the operator's identity (staff badge number),
 *			printable ASCII, NUL-padded, at least one character
 * @session_id:		out: id of the new session, unique per boot
 * @ref_source:		in (version 1): where the caller got the reference
 *			template, BIOREADER_REF_SOURCE_*; 0 = not declared
 * @ref_flags:		in (version 1): BIOREADER_REF_*; zero when
 *			@ref_source is 0
 * @ref_issuer_sha256:	in (version 1): SHA-256 of the certificate of the
 *			authority that vouched for the reference (for
 *			ICAO_PA: the CSCA, DER); zero when @ref_source is 0
 * @ref_signer_sha256:	in (version 1): SHA-256 of the certificate that
 *			signed it (for ICAO_PA: the Document Signer, DER);
 *			zero when @ref_source is 0
 *
 * The ref_* fields are the caller's declaration: the driver cannot check
 * a card's signature.  It validates their form and copies them into the
 * session's SESSION_START audit record (docs/audit-records.md), so that
 * the log says which issuer and signer vouched for the reference of
 * every session, next to who declared it.  Never personal data.
 */
struct bioreader_session_start {
	__u64 template_ptr;
	__u32 template_len;
	__u32 security_level;
	__u32 timeout_ms;
	__u32 flags;
	char operator_id[BIOREADER_OPERATOR_ID_LEN];
	__u64 session_id;
	/* version 1 */
	__u32 ref_source;
	__u32 ref_flags;
	__u8 ref_issuer_sha256[32];
	__u8 ref_signer_sha256[32];
};

#define BIOREADER_SESSION_START_SIZE_VER0	64
#define BIOREADER_SESSION_START_SIZE_VER1	136

/* bioreader_session_start.ref_source */
#define BIOREADER_REF_SOURCE_NONE	0 /* not declared (version-0 callers) */
/*
 * Read from an ICAO Doc 9303 chip (eMRTD / eID card) whose data groups
 * passed Passive Authentication: the Document Signer's signature over
 * the Security Object, the DS certificate chained to a trusted CSCA, the
 * data-group hashes.  The template came out of DG2.
 */
#define BIOREADER_REF_SOURCE_ICAO_PA	1

/* bioreader_session_start.ref_flags (with BIOREADER_REF_SOURCE_ICAO_PA) */
#define BIOREADER_REF_BAC		_BITUL(0) /* chip accessed with BAC */
#define BIOREADER_REF_PACE		_BITUL(1) /* chip accessed with PACE */
#define BIOREADER_REF_CRL_CHECKED	_BITUL(2) /* DS checked against a current CRL */
#define BIOREADER_REF_CHIP_AUTH		_BITUL(3) /* chip proved its key (AA/CA) */
#define BIOREADER_REF_FLAGS_ALL		(BIOREADER_REF_BAC | BIOREADER_REF_PACE | \
					 BIOREADER_REF_CRL_CHECKED | \
					 BIOREADER_REF_CHIP_AUTH)

/* bioreader_verdict.outcome */
#define BIOREADER_OUTCOME_MATCH		1
#define BIOREADER_OUTCOME_NO_MATCH	2
#define BIOREADER_OUTCOME_ATTACK	3 /* presentation attack suspected */
#define BIOREADER_OUTCOME_INCONCLUSIVE	4
#define BIOREADER_OUTCOME_TIMEOUT	5
#define BIOREADER_OUTCOME_ABORTED	6

/* bioreader_verdict.reason: coarse, never a score */
#define BIOREADER_REASON_NONE			0
#define BIOREADER_REASON_NO_FACE		1 /* nobody seen before timeout */
#define BIOREADER_REASON_LIVENESS_UNAVAILABLE	2 /* policy needs liveness */
#define BIOREADER_REASON_FRAME_INTEGRITY	3 /* MAC/sequence/time failure */
#define BIOREADER_REASON_USER_ABORT		4 /* BIOREADER_IOC_SESSION_ABORT */
#define BIOREADER_REASON_DEVICE_REMOVED		5
#define BIOREADER_REASON_HW_ERROR		6
#define BIOREADER_REASON_PRESENTATION_ATTACK	7 /* liveness said so */
/*
 * Capture quality (API version 1, appended): why an INCONCLUSIVE
 * verdict's frames did not suffice, in words a kiosk can show.  Only
 * ever with BIOREADER_OUTCOME_INCONCLUSIVE; chosen from what the frames
 * measured (the shortfall that held in most of them).  A caller built
 * against an older header reads an unknown value: it must treat any
 * reason above the last one it knows as "inconclusive, no reason".
 */
#define BIOREADER_REASON_TOO_FAR		8 /* step closer */
#define BIOREADER_REASON_TOO_CLOSE		9 /* step back */
#define BIOREADER_REASON_TOO_BRIGHT		10 /* ambient light too bright */
#define BIOREADER_REASON_FACE_COVERED		11 /* uncover nose and mouth */
#define BIOREADER_REASON_POSE			12 /* turn towards the reader */
#define BIOREADER_REASON_HOLD_STILL		13 /* motion between frames */
/*
 * The face's surface reads between skin and an artefact: a layer over
 * the skin (heavy makeup, face paint) or a mask of a material close to
 * skin, which the dual-band ratio cannot tell apart.  Never verified;
 * counts towards the reference's lockout as NO_MATCH and ATTACK do
 * (docs/liveness.md, "A layer over the face").
 */
#define BIOREADER_REASON_SKIN_UNCERTAIN		14
#define BIOREADER_REASON_LAST			BIOREADER_REASON_SKIN_UNCERTAIN

/* bioreader_verdict.attack_class when outcome == ATTACK */
#define BIOREADER_ATTACK_NONE		0
#define BIOREADER_ATTACK_PRINT		1
#define BIOREADER_ATTACK_REPLAY		2
#define BIOREADER_ATTACK_MASK		3
#define BIOREADER_ATTACK_INJECTION	4

/* bioreader_verdict.flags */
#define BIOREADER_VERDICT_LIVENESS_EVALUATED	_BITUL(0)

/**
 * struct bioreader_verdict - BIOREADER_IOC_SESSION_WAIT
 * @timeout_ms:		in: how long to wait; 0 = do not block
 * @outcome:		out: BIOREADER_OUTCOME_*
 * @reason:		out: BIOREADER_REASON_*
 * @attack_class:	out: BIOREADER_ATTACK_*
 * @flags:		out: BIOREADER_VERDICT_*
 * @pad0:		zero
 * @session_id:		out: the session this verdict ends
 * @audit_seq:		out: sequence number of the verdict's audit record
 *			(0 while no audit channel is attached)
 */
struct bioreader_verdict {
	__u32 timeout_ms;
	__u32 outcome;
	__u32 reason;
	__u32 attack_class;
	__u32 flags;
	__u32 pad0;
	__u64 session_id;
	__u64 audit_seq;
};

#define BIOREADER_VERDICT_SIZE_VER0	40

#define BIOREADER_IOC_MAGIC	0xBA

/* Anyone who may open the node. */
#define BIOREADER_IOC_GET_INFO		_IOR(BIOREADER_IOC_MAGIC, 0x00, struct bioreader_info)
#define BIOREADER_IOC_SESSION_START	\
	_IOWR(BIOREADER_IOC_MAGIC, 0x01, struct bioreader_session_start)
#define BIOREADER_IOC_SESSION_WAIT	_IOWR(BIOREADER_IOC_MAGIC, 0x02, struct bioreader_verdict)
#define BIOREADER_IOC_SESSION_ABORT	_IO(BIOREADER_IOC_MAGIC, 0x03)
#define BIOREADER_IOC_GET_POLICY	_IOR(BIOREADER_IOC_MAGIC, 0x04, struct bioreader_policy)
/* CAP_SYS_ADMIN only. */
#define BIOREADER_IOC_SET_POLICY	_IOW(BIOREADER_IOC_MAGIC, 0x05, struct bioreader_policy)
#define BIOREADER_IOC_RESET_STATS	_IO(BIOREADER_IOC_MAGIC, 0x06)

#endif /* _UAPI_LINUX_BIOREADER_H */
