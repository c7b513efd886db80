/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A USB smart-card reader (CCID, USB class 0x0B) client over libusb-1.0.
 *
 * Two layers:
 *   - the message codec (ccid_msg.c, no libusb): builds PC_to_RDR
 *     commands and checks RDR_to_PC answers, slot-change notifications and
 *     the class descriptor, with every length taken from the device
 *     checked; fuzzed by tests/fuzz/fuzz_ccid.c;
 *   - the reader (ccid.c): finds readers by interface class (any vendor),
 *     claims the interface, runs one command at a time on the bulk pipes
 *     (bSeq matching, time extensions, a timeout on every wait), reads the
 *     interrupt pipe's slot changes and follows hotplug.
 *
 * Errors are negative errno values, the same in every function:
 *   -ENODEV     the reader is gone (unplugged); every later call on it
 *               fails the same way at once
 *   -ENOMEDIUM  no card in the slot (also: the card was pulled during the
 *               command)
 *   -EHOSTDOWN  a card is present but not powered (power it on first)
 *   -ETIMEDOUT  the reader did not answer in time (the card is silent)
 *   -EBUSY      the reader's slot is busy (an earlier command that timed
 *               out is still pending in the reader)
 *   -EIO        the reader reported a failure (ICC mute, parity, hardware
 *               error...): ccid_last_error() gives bError
 *   -EPROTO     the reader broke the protocol (malformed answer, wrong
 *               message type, endless time extensions)
 *   -EMSGSIZE   an answer does not fit the caller's buffer, or a command
 *               is longer than the reader accepts
 *   -ENOENT     no such reader
 *   -EACCES     no permission to open the reader's device node
 *   -EINVAL, -ENOMEM  the usual
 * ccid_strerror() names them.
 */
#ifndef _BIOREADER_IDCARD_CCID_H
#define _BIOREADER_IDCARD_CCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- codec */

#define CCID_HDR_LEN			10
/* The largest message this client builds or accepts: a short APDU's
 * worth and more (extended APDUs are not sent over T=0). */
#define CCID_MAX_MSG			(CCID_HDR_LEN + 65538)

/* bMessageType, PC_to_RDR (bulk-out) */
#define CCID_PC_ICC_POWER_ON		0x62
#define CCID_PC_ICC_POWER_OFF		0x63
#define CCID_PC_GET_SLOT_STATUS		0x65
#define CCID_PC_XFR_BLOCK		0x6F
/* RDR_to_PC (bulk-in) */
#define CCID_RDR_DATA_BLOCK		0x80
#define CCID_RDR_SLOT_STATUS		0x81
#define CCID_RDR_PARAMETERS		0x82
#define CCID_RDR_ESCAPE			0x83
#define CCID_RDR_DATA_RATE_CLOCK	0x84
/* interrupt-in */
#define CCID_RDR_NOTIFY_SLOT_CHANGE	0x50
#define CCID_RDR_HARDWARE_ERROR		0x51

/* bStatus: bmICCStatus (bits 0-1) and bmCommandStatus (bits 6-7) */
#define CCID_ICC_ACTIVE			0
#define CCID_ICC_INACTIVE		1
#define CCID_ICC_ABSENT			2
#define CCID_CMD_OK			0
#define CCID_CMD_FAILED			1
#define CCID_CMD_TIME_EXTENSION		2

/* bError values worth naming (CCID 1.1, 6.2.6) */
#define CCID_ERR_CMD_ABORTED		0xFF
#define CCID_ERR_ICC_MUTE		0xFE
#define CCID_ERR_XFR_PARITY		0xFD
#define CCID_ERR_XFR_OVERRUN		0xFC
#define CCID_ERR_HW_ERROR		0xFB
#define CCID_ERR_BAD_ATR_TS		0xF8
#define CCID_ERR_BAD_ATR_TCK		0xF7
#define CCID_ERR_PROTOCOL_NOT_SUPP	0xF6
#define CCID_ERR_CLASS_NOT_SUPP		0xF5
#define CCID_ERR_PROCEDURE_BYTE		0xF4
#define CCID_ERR_DEACTIVATED		0xF3
#define CCID_ERR_BUSY_AUTO_SEQ		0xF2
#define CCID_ERR_SLOT_BUSY		0xE0
#define CCID_ERR_CMD_NOT_SUPPORTED	0x00

/* dwFeatures: exchange level */
#define CCID_FEAT_LEVEL_MASK		0x00070000u
#define CCID_FEAT_TPDU			0x00010000u
#define CCID_FEAT_SHORT_APDU		0x00020000u
#define CCID_FEAT_EXT_APDU		0x00040000u

/* A RDR_to_PC bulk-in message, checked (points into the caller's bytes). */
struct ccid_msg {
	uint8_t type;
	uint8_t slot;
	uint8_t seq;
	uint8_t status;		/* bStatus as sent */
	uint8_t error;		/* bError */
	uint8_t param;		/* the tenth byte: bChainParameter, bClockStatus... */
	uint8_t icc;		/* CCID_ICC_* */
	uint8_t cmd;		/* CCID_CMD_* */
	uint32_t len;		/* dwLength: bytes at data */
	const uint8_t *data;
};

/* The smart-card class descriptor (bDescriptorType 0x21), the fields used. */
struct ccid_desc {
	uint16_t bcd_ccid;
	uint8_t max_slot_index;
	uint32_t protocols;		/* bit 0: T=0, bit 1: T=1 */
	uint32_t features;
	uint32_t max_msg_len;		/* dwMaxCCIDMessageLength */
	uint8_t max_busy_slots;
};

/*
 * Writes a PC_to_RDR message into @buf (@cap bytes): header with dwLength
 * = @len, bSlot, bSeq, the three message-specific bytes @p (NULL: zeros),
 * then @data.  Returns the message length, or -EMSGSIZE.
 */
long ccid_build(uint8_t *buf, size_t cap, uint8_t type, uint8_t slot,
		uint8_t seq, const uint8_t p[3], const uint8_t *data, size_t len);

/*
 * Checks one bulk-in message of @len bytes: a known RDR_to_PC type, a
 * header, dwLength equal to the bytes that follow it (fewer: -EAGAIN, more
 * may follow on the pipe; more: -EPROTO), a valid bmICCStatus.  0 or
 * -EAGAIN / -EPROTO.
 */
int ccid_parse(const uint8_t *buf, size_t len, struct ccid_msg *m);

/*
 * RDR_to_PC_NotifySlotChange for slot @slot: 0 and *present / *changed,
 * -ENOENT if the message does not cover that slot or is another message
 * (HardwareError), -EPROTO if malformed.
 */
int ccid_parse_notify(const uint8_t *buf, size_t len, unsigned int slot,
		      bool *present, bool *changed);

/*
 * Finds the class descriptor among an interface's extra descriptors
 * (libusb's "extra" bytes) and reads it.  0, -ENOENT (none), -EPROTO
 * (malformed: a descriptor runs past the end, or bLength too small).
 */
int ccid_parse_desc(const uint8_t *extra, size_t len, struct ccid_desc *d);

/* "ICC mute" etc., for bError. */
const char *ccid_error_name(uint8_t berror);
/* For the negative errno values above, with the CCID meaning. */
const char *ccid_strerror(int err);

/* ------------------------------------------------------------ readers */

struct ccid_reader;

/* One reader found on the bus. */
struct ccid_reader_info {
	uint8_t bus, addr;
	uint16_t vid, pid;
	uint8_t iface;			/* interface number of class 0x0B */
	struct ccid_desc desc;
	char manufacturer[64];		/* may be empty (string unreadable) */
	char product[64];
	char serial[64];
};

/*
 * The readers on the bus, up to @max in @out: the number found (which may
 * exceed @max), or a negative error.  Readers whose device cannot be
 * opened to read strings are listed with empty strings.
 */
int ccid_list(struct ccid_reader_info *out, size_t max);

struct ccid_open_opts {
	/* Which reader: bus and address (both nonzero), else the @index-th
	 * in ccid_list() order. */
	uint8_t bus, addr;
	unsigned int index;
	unsigned int slot;		/* default 0 */
	/* Per-command timeout in ms (0: 5000); the reader may extend a
	 * command's time (time extension) up to @max_ms in all (0: 30000). */
	unsigned int timeout_ms;
	unsigned int max_ms;
};

/* Opens and claims a reader (detaching a kernel driver, if any). */
int ccid_open(struct ccid_reader **out, const struct ccid_open_opts *o);
/* Releases the interface and closes; powers nothing off (ccid_power_off). */
void ccid_close(struct ccid_reader *r);
const struct ccid_reader_info *ccid_info(const struct ccid_reader *r);

/*
 * PC_to_RDR_IccPowerOn (automatic voltage): the ATR into @atr, *@atr_len
 * its capacity on entry and the ATR's length on return.
 */
int ccid_power_on(struct ccid_reader *r, uint8_t *atr, size_t *atr_len);
int ccid_power_off(struct ccid_reader *r);
/* PC_to_RDR_GetSlotStatus: *icc = CCID_ICC_* (0 returned even when the
 * slot is empty: the status is the answer). */
int ccid_slot_status(struct ccid_reader *r, int *icc);

/*
 * PC_to_RDR_XfrBlock: sends @len bytes (a TPDU at TPDU level), the
 * answer's bytes into @resp, *@rlen capacity in, length out.  The shape of
 * the transmit function (@r as void *), so the T=0 layer can run over it.
 */
int ccid_xfr_block(void *r, const uint8_t *cmd, size_t len, uint8_t *resp,
		   size_t *rlen);

/*
 * Waits up to @timeout_ms for a slot-change notification on the interrupt
 * pipe: 0 and *present (card inserted / removed), -ETIMEDOUT, -ENODEV.
 * A reader without an interrupt pipe: the slot is polled with
 * GetSlotStatus every 100 ms, and a change counts as a notification.
 */
int ccid_wait_slot_change(struct ccid_reader *r, unsigned int timeout_ms,
			  bool *present);

/* bError of the last failed command (0 if none). */
uint8_t ccid_last_error(const struct ccid_reader *r);
/* The reader has gone (unplugged). */
bool ccid_gone(const struct ccid_reader *r);

/*
 * Waits up to @timeout_ms for a CCID reader to be present: 0 at once when
 * one is, else follows libusb hotplug arrivals (or, where libusb has no
 * hotplug support, polls the bus every 200 ms).  -ETIMEDOUT if none came.
 */
int ccid_wait_reader(unsigned int timeout_ms);

#endif /* _BIOREADER_IDCARD_CCID_H */
