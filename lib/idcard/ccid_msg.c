// SPDX-License-Identifier: GPL-2.0-only
/*
 * CCID message codec: PC_to_RDR commands out, RDR_to_PC answers,
 * slot-change notifications and the class descriptor in.  No libusb here:
 * these functions see the device's bytes and are fuzzed on their own.
 */
#include <errno.h>
#include <string.h>

#include "idcard/ccid.h"

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

long ccid_build(uint8_t *buf, size_t cap, uint8_t type, uint8_t slot,
		uint8_t seq, const uint8_t p[3], const uint8_t *data, size_t len)
{
	if (len > CCID_MAX_MSG - CCID_HDR_LEN || cap < CCID_HDR_LEN ||
	    len > cap - CCID_HDR_LEN)
		return -EMSGSIZE;
	buf[0] = type;
	buf[1] = (uint8_t)len;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)(len >> 16);
	buf[4] = (uint8_t)(len >> 24);
	buf[5] = slot;
	buf[6] = seq;
	if (p)
		memcpy(buf + 7, p, 3);
	else
		memset(buf + 7, 0, 3);
	if (len)
		memcpy(buf + CCID_HDR_LEN, data, len);
	return (long)(CCID_HDR_LEN + len);
}

int ccid_parse(const uint8_t *buf, size_t len, struct ccid_msg *m)
{
	uint32_t dw;

	memset(m, 0, sizeof(*m));
	if (len < CCID_HDR_LEN)
		return -EAGAIN;
	switch (buf[0]) {
	case CCID_RDR_DATA_BLOCK:
	case CCID_RDR_SLOT_STATUS:
	case CCID_RDR_PARAMETERS:
	case CCID_RDR_ESCAPE:
	case CCID_RDR_DATA_RATE_CLOCK:
		break;
	default:
		return -EPROTO;
	}
	dw = get_le32(buf + 1);
	if (dw > CCID_MAX_MSG - CCID_HDR_LEN)
		return -EPROTO;
	if (len - CCID_HDR_LEN < dw)
		return -EAGAIN;
	if (len - CCID_HDR_LEN > dw)
		return -EPROTO;
	m->type = buf[0];
	m->len = dw;
	m->slot = buf[5];
	m->seq = buf[6];
	m->status = buf[7];
	m->error = buf[8];
	m->param = buf[9];
	m->icc = buf[7] & 0x03;
	m->cmd = (buf[7] >> 6) & 0x03;
	m->data = dw ? buf + CCID_HDR_LEN : NULL;
	/* bits 2-5 are RFU; 3 is not a bmICCStatus, nor a bmCommandStatus */
	if (m->icc == 3 || m->cmd == 3)
		return -EPROTO;
	/* a slot-status message carries no data */
	if (m->type == CCID_RDR_SLOT_STATUS && dw != 0)
		return -EPROTO;
	return 0;
}

int ccid_parse_notify(const uint8_t *buf, size_t len, unsigned int slot,
		      bool *present, bool *changed)
{
	size_t need;
	unsigned int bit;

	if (len < 1)
		return -EPROTO;
	if (buf[0] == CCID_RDR_HARDWARE_ERROR)
		return len == 4 ? -ENOENT : -EPROTO;
	if (buf[0] != CCID_RDR_NOTIFY_SLOT_CHANGE)
		return -EPROTO;
	/* two bits per slot, four slots per byte, after the type byte */
	if (slot > 255)
		return -EINVAL;
	need = 1 + slot / 4 + 1;
	if (len < need)
		return -ENOENT;
	bit = (slot % 4) * 2;
	*present = (buf[1 + slot / 4] >> bit) & 1;
	*changed = (buf[1 + slot / 4] >> (bit + 1)) & 1;
	return 0;
}

int ccid_parse_desc(const uint8_t *extra, size_t len, struct ccid_desc *d)
{
	size_t off = 0;

	memset(d, 0, sizeof(*d));
	while (off < len) {
		size_t blen = extra[off];
		const uint8_t *p = extra + off;

		if (blen < 2 || blen > len - off)
			return -EPROTO;
		if (p[1] == 0x21) {
			/* CCID 1.1 5.1: 0x36 bytes; older readers may stop
			 * early, but not before dwMaxCCIDMessageLength */
			if (blen < 48)
				return -EPROTO;
			d->bcd_ccid = (uint16_t)(p[2] | p[3] << 8);
			d->max_slot_index = p[4];
			d->protocols = get_le32(p + 6);
			d->features = get_le32(p + 40);
			d->max_msg_len = get_le32(p + 44);
			d->max_busy_slots = blen >= 0x36 ? p[0x35] : 1;
			return 0;
		}
		off += blen;
	}
	return -ENOENT;
}

const char *ccid_error_name(uint8_t e)
{
	switch (e) {
	case CCID_ERR_CMD_ABORTED: return "command aborted";
	case CCID_ERR_ICC_MUTE: return "ICC mute (no answer from the card)";
	case CCID_ERR_XFR_PARITY: return "parity error";
	case CCID_ERR_XFR_OVERRUN: return "overrun";
	case CCID_ERR_HW_ERROR: return "hardware error";
	case CCID_ERR_BAD_ATR_TS: return "bad ATR TS";
	case CCID_ERR_BAD_ATR_TCK: return "bad ATR TCK";
	case CCID_ERR_PROTOCOL_NOT_SUPP: return "ICC protocol not supported";
	case CCID_ERR_CLASS_NOT_SUPP: return "ICC class not supported";
	case CCID_ERR_PROCEDURE_BYTE: return "procedure byte conflict";
	case CCID_ERR_DEACTIVATED: return "deactivated protocol";
	case CCID_ERR_BUSY_AUTO_SEQ: return "busy with auto sequence";
	case CCID_ERR_SLOT_BUSY: return "slot busy";
	case CCID_ERR_CMD_NOT_SUPPORTED: return "command not supported";
	default: return "reader-specific error";
	}
}

const char *ccid_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case -ENODEV: return "reader gone (unplugged)";
	case -ENOMEDIUM: return "no card in the reader (removed?)";
	case -EHOSTDOWN: return "card not powered";
	case -ETIMEDOUT: return "no answer from the reader in time";
	case -EBUSY: return "reader slot busy";
	case -EIO: return "reader reported a failure";
	case -EPROTO: return "malformed answer from the reader";
	case -EMSGSIZE: return "message too long";
	case -ENOENT: return "no such reader";
	case -EACCES: return "permission denied on the reader";
	case -EINVAL: return "invalid argument";
	case -ENOMEM: return "out of memory";
	default: return strerror(err < 0 ? -err : err);
	}
}
