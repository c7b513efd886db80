// SPDX-License-Identifier: GPL-2.0-only
/*
 * CCID readers over libusb-1.0: discovery by interface class 0x0B, one
 * command at a time on the bulk pipes, slot changes on the interrupt pipe,
 * hotplug.  The message bytes are built and checked by ccid_msg.c.
 *
 * Bulk-in reads go one wMaxPacketSize packet first (the header tells the
 * message's length), then exactly the rest rounded up to whole packets, so
 * a message whose length is a multiple of the packet size needs no
 * zero-length packet after it; a zero-length packet where a message should
 * start is skipped.  Every transfer has a timeout, bounded by the command's
 * deadline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libusb-1.0/libusb.h>

#include "idcard/ccid.h"

#define CCID_CLASS		0x0B
#define DEFAULT_TIMEOUT_MS	5000
#define DEFAULT_MAX_MS		30000
/* Answers to earlier commands (that timed out) skipped before giving up. */
#define MAX_STALE		8
#define MAX_ZLP			4

struct ccid_reader {
	libusb_context *ctx;
	libusb_device *dev;
	libusb_device_handle *h;
	struct ccid_reader_info info;
	uint8_t ep_in, ep_out, ep_intr;
	uint16_t in_pkt, intr_pkt;
	unsigned int slot, timeout_ms, max_ms;
	uint8_t seq;
	uint8_t last_error;
	bool gone, claimed;
	int polled_icc;			/* no interrupt pipe: last status seen */
	bool hp_on;
	libusb_hotplug_callback_handle hp;
	uint8_t *obuf, *ibuf;
	size_t ocap, icap;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usb_errno(int e)
{
	switch (e) {
	case LIBUSB_SUCCESS: return 0;
	case LIBUSB_ERROR_NO_DEVICE: return -ENODEV;
	case LIBUSB_ERROR_TIMEOUT: return -ETIMEDOUT;
	case LIBUSB_ERROR_ACCESS: return -EACCES;
	case LIBUSB_ERROR_NOT_FOUND: return -ENOENT;
	case LIBUSB_ERROR_NO_MEM: return -ENOMEM;
	case LIBUSB_ERROR_BUSY: return -EBUSY;
	case LIBUSB_ERROR_OVERFLOW: return -EPROTO;
	case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
	default: return -EIO;
	}
}

/* A failed transfer: is the device gone?  (An unplug may first show as
 * an I/O error or a stall.) */
static int xfer_err(struct ccid_reader *r, int e)
{
	int c;

	if (e == LIBUSB_ERROR_NO_DEVICE ||
	    ((e == LIBUSB_ERROR_IO || e == LIBUSB_ERROR_PIPE) &&
	     libusb_get_configuration(r->h, &c) == LIBUSB_ERROR_NO_DEVICE)) {
		r->gone = true;
		return -ENODEV;
	}
	if (e == LIBUSB_ERROR_PIPE) {
		libusb_clear_halt(r->h, r->ep_in);
		libusb_clear_halt(r->h, r->ep_out);
	}
	return usb_errno(e);
}

/* ------------------------------------------------------------ discovery */

struct found {
	uint8_t iface, ep_in, ep_out, ep_intr;
	uint16_t in_pkt, intr_pkt;
	struct ccid_desc desc;
};

/* The first interface of class 0x0B with a bulk pair: 0, or -ENOENT. */
static int find_ccid_iface(libusb_device *dev, struct found *f)
{
	struct libusb_config_descriptor *cfg = NULL;
	int i, e, rc = -ENOENT;

	if (libusb_get_active_config_descriptor(dev, &cfg) != 0 &&
	    libusb_get_config_descriptor(dev, 0, &cfg) != 0)
		return -ENOENT;
	for (i = 0; i < cfg->bNumInterfaces && rc; i++) {
		const struct libusb_interface_descriptor *id;

		if (cfg->interface[i].num_altsetting < 1)
			continue;
		id = &cfg->interface[i].altsetting[0];
		if (id->bInterfaceClass != CCID_CLASS)
			continue;
		memset(f, 0, sizeof(*f));
		f->iface = id->bInterfaceNumber;
		for (e = 0; e < id->bNumEndpoints; e++) {
			const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];
			int type = ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK;
			bool in = ep->bEndpointAddress & LIBUSB_ENDPOINT_IN;

			if (type == LIBUSB_TRANSFER_TYPE_BULK && in && !f->ep_in) {
				f->ep_in = ep->bEndpointAddress;
				f->in_pkt = ep->wMaxPacketSize & 0x7FF;
			} else if (type == LIBUSB_TRANSFER_TYPE_BULK && !in && !f->ep_out) {
				f->ep_out = ep->bEndpointAddress;
			} else if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT && in &&
				   !f->ep_intr) {
				f->ep_intr = ep->bEndpointAddress;
				f->intr_pkt = ep->wMaxPacketSize & 0x7FF;
			}
		}
		if (!f->ep_in || !f->ep_out || f->in_pkt < 8)
			continue;
		/* without a class descriptor: assume a one-slot T=0 reader */
		if (ccid_parse_desc(id->extra, id->extra_length > 0 ?
				    (size_t)id->extra_length : 0, &f->desc)) {
			memset(&f->desc, 0, sizeof(f->desc));
			f->desc.protocols = 1;
			f->desc.max_msg_len = 271;
		}
		rc = 0;
	}
	libusb_free_config_descriptor(cfg);
	return rc;
}

static void fill_info(libusb_device *dev, const struct found *f,
		      libusb_device_handle *h, struct ccid_reader_info *in)
{
	struct libusb_device_descriptor dd;
	libusb_device_handle *own = NULL;

	memset(in, 0, sizeof(*in));
	in->bus = libusb_get_bus_number(dev);
	in->addr = libusb_get_device_address(dev);
	in->iface = f->iface;
	in->desc = f->desc;
	if (libusb_get_device_descriptor(dev, &dd))
		return;
	in->vid = dd.idVendor;
	in->pid = dd.idProduct;
	if (!h && libusb_open(dev, &own) == 0)
		h = own;
	if (h) {
		if (dd.iManufacturer &&
		    libusb_get_string_descriptor_ascii(h, dd.iManufacturer,
			(unsigned char *)in->manufacturer, sizeof(in->manufacturer)) < 0)
			in->manufacturer[0] = 0;
		if (dd.iProduct &&
		    libusb_get_string_descriptor_ascii(h, dd.iProduct,
			(unsigned char *)in->product, sizeof(in->product)) < 0)
			in->product[0] = 0;
		if (dd.iSerialNumber &&
		    libusb_get_string_descriptor_ascii(h, dd.iSerialNumber,
			(unsigned char *)in->serial, sizeof(in->serial)) < 0)
			in->serial[0] = 0;
	}
	if (own)
		libusb_close(own);
}

/* Readers of @ctx in bus order; the index-th or bus:addr into *@dev (a
 * reference the caller drops) when @want is given. */
static int scan(libusb_context *ctx, struct ccid_reader_info *out, size_t max,
		const struct ccid_open_opts *want, libusb_device **dev,
		struct found *ff)
{
	libusb_device **list;
	ssize_t n, i;
	int count = 0;

	n = libusb_get_device_list(ctx, &list);
	if (n < 0)
		return usb_errno((int)n);
	for (i = 0; i < n; i++) {
		struct found f;

		if (find_ccid_iface(list[i], &f))
			continue;
		if (want) {
			bool hit = want->bus && want->addr ?
				libusb_get_bus_number(list[i]) == want->bus &&
				libusb_get_device_address(list[i]) == want->addr :
				(unsigned int)count == want->index;

			if (hit) {
				*dev = libusb_ref_device(list[i]);
				*ff = f;
				count++;
				break;
			}
		} else if ((size_t)count < max) {
			fill_info(list[i], &f, NULL, &out[count]);
		}
		count++;
	}
	libusb_free_device_list(list, 1);
	return count;
}

int ccid_list(struct ccid_reader_info *out, size_t max)
{
	libusb_context *ctx;
	int rc;

	if (max && !out)
		return -EINVAL;
	rc = libusb_init(&ctx);
	if (rc)
		return usb_errno(rc);
	rc = scan(ctx, out, max, NULL, NULL, NULL);
	libusb_exit(ctx);
	return rc;
}

static int count_readers(libusb_context *ctx)
{
	return scan(ctx, NULL, 0, NULL, NULL, NULL);
}

static int LIBUSB_CALL hp_left(libusb_context *ctx, libusb_device *dev,
			       libusb_hotplug_event ev, void *arg)
{
	struct ccid_reader *r = arg;

	(void)ctx;
	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && dev == r->dev)
		r->gone = true;
	return 0;
}

int ccid_open(struct ccid_reader **out, const struct ccid_open_opts *o)
{
	static const struct ccid_open_opts none;
	struct ccid_reader *r;
	struct found f;
	int rc;

	*out = NULL;
	if (!o)
		o = &none;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->slot = o->slot;
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	r->max_ms = o->max_ms ? o->max_ms : DEFAULT_MAX_MS;
	if (r->max_ms < r->timeout_ms)
		r->max_ms = r->timeout_ms;
	r->polled_icc = -1;
	rc = libusb_init(&r->ctx);
	if (rc) {
		free(r);
		return usb_errno(rc);
	}
	rc = scan(r->ctx, NULL, 0, o, &r->dev, &f);
	if (rc < 0)
		goto fail;
	if (!r->dev) {
		rc = -ENOENT;
		goto fail;
	}
	if (r->slot > f.desc.max_slot_index) {
		rc = -EINVAL;
		goto fail;
	}
	rc = usb_errno(libusb_open(r->dev, &r->h));
	if (rc)
		goto fail;
	/* a kernel driver (none in mainline for CCID, but usbfs users may
	 * hold it) is detached on claim and reattached on release */
	libusb_set_auto_detach_kernel_driver(r->h, 1);
	rc = usb_errno(libusb_claim_interface(r->h, f.iface));
	if (rc)
		goto fail;
	r->claimed = true;
	fill_info(r->dev, &f, r->h, &r->info);
	r->ep_in = f.ep_in;
	r->ep_out = f.ep_out;
	r->ep_intr = f.ep_intr;
	r->in_pkt = f.in_pkt;
	r->intr_pkt = f.intr_pkt ? f.intr_pkt : 8;
	/* the reader's own limit, when it says one, within ours */
	r->icap = CCID_MAX_MSG + r->in_pkt;
	r->ocap = CCID_MAX_MSG;
	r->ibuf = malloc(r->icap);
	r->obuf = malloc(r->ocap);
	if (!r->ibuf || !r->obuf) {
		rc = -ENOMEM;
		goto fail;
	}
	if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) &&
	    libusb_hotplug_register_callback(r->ctx,
			LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
			LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
			LIBUSB_HOTPLUG_MATCH_ANY, hp_left, r, &r->hp) == 0)
		r->hp_on = true;
	*out = r;
	return 0;
fail:
	ccid_close(r);
	return rc;
}

void ccid_close(struct ccid_reader *r)
{
	if (!r)
		return;
	if (r->hp_on)
		libusb_hotplug_deregister_callback(r->ctx, r->hp);
	if (r->claimed && !r->gone)
		libusb_release_interface(r->h, r->info.iface);
	if (r->h)
		libusb_close(r->h);
	if (r->dev)
		libusb_unref_device(r->dev);
	if (r->ctx)
		libusb_exit(r->ctx);
	free(r->ibuf);
	free(r->obuf);
	free(r);
}

const struct ccid_reader_info *ccid_info(const struct ccid_reader *r)
{
	return &r->info;
}

uint8_t ccid_last_error(const struct ccid_reader *r)
{
	return r->last_error;
}

bool ccid_gone(const struct ccid_reader *r)
{
	return r->gone;
}

/* -------------------------------------------------------------- commands */

static int remaining_ms(long long deadline)
{
	long long left = deadline - now_ms();

	if (left <= 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* One bulk-in message into r->ibuf: its length, or a negative error. */
static long recv_msg(struct ccid_reader *r, long long deadline)
{
	size_t have = 0, need = CCID_HDR_LEN;
	int zlp = 0;

	for (;;) {
		size_t want;
		int got = 0, ms, rc;

		if (have == 0)
			want = r->in_pkt;
		else
			want = (need - have + r->in_pkt - 1) / r->in_pkt * r->in_pkt;
		if (want > r->icap - have)
			return -EPROTO;
		ms = remaining_ms(deadline);
		if (!ms)
			return -ETIMEDOUT;
		rc = libusb_bulk_transfer(r->h, r->ep_in, r->ibuf + have,
					  (int)want, &got, (unsigned int)ms);
		if (rc == LIBUSB_ERROR_TIMEOUT && got <= 0)
			return -ETIMEDOUT;
		if (rc && rc != LIBUSB_ERROR_TIMEOUT)
			return xfer_err(r, rc);
		if (got < 0 || (size_t)got > want)
			return -EPROTO;
		if (got == 0) {
			/* the zero-length packet ending an earlier message */
			if (have == 0 && ++zlp <= MAX_ZLP)
				continue;
			return -EPROTO;
		}
		have += (size_t)got;
		if (have >= CCID_HDR_LEN && need == CCID_HDR_LEN) {
			uint32_t dw = (uint32_t)r->ibuf[1] | (uint32_t)r->ibuf[2] << 8 |
				      (uint32_t)r->ibuf[3] << 16 |
				      (uint32_t)r->ibuf[4] << 24;

			if (dw > CCID_MAX_MSG - CCID_HDR_LEN)
				return -EPROTO;
			need = CCID_HDR_LEN + dw;
		}
		if (have >= need)
			return (long)have;
		/* a short packet ends a transfer: the message was cut */
		if ((size_t)got < want || rc == LIBUSB_ERROR_TIMEOUT)
			return rc == LIBUSB_ERROR_TIMEOUT ? -ETIMEDOUT : -EPROTO;
	}
}

/*
 * Sends one command and waits for its answer (of type @want), skipping
 * answers to earlier commands and following time extensions.  0 and *@m
 * (pointing into r->ibuf) or a negative error; the answer's status is not
 * judged here.
 */
static int command(struct ccid_reader *r, uint8_t type, const uint8_t p[3],
		   const uint8_t *data, size_t len, uint8_t want,
		   struct ccid_msg *m)
{
	long long start = now_ms(), deadline, end;
	uint8_t seq;
	long n;
	int rc, got = 0, stale = 0;

	if (r->gone)
		return -ENODEV;
	if (r->info.desc.max_msg_len >= CCID_HDR_LEN &&
	    len > r->info.desc.max_msg_len - CCID_HDR_LEN)
		return -EMSGSIZE;
	seq = r->seq++;
	n = ccid_build(r->obuf, r->ocap, type, (uint8_t)r->slot, seq, p, data, len);
	if (n < 0)
		return (int)n;
	rc = libusb_bulk_transfer(r->h, r->ep_out, r->obuf, (int)n, &got,
				  r->timeout_ms);
	if (rc)
		return xfer_err(r, rc);
	if (got != n)
		return -EIO;
	end = start + r->max_ms;
	deadline = start + r->timeout_ms;
	for (;;) {
		n = recv_msg(r, deadline < end ? deadline : end);
		if (n < 0)
			return (int)n;
		rc = ccid_parse(r->ibuf, (size_t)n, m);
		if (rc)
			return -EPROTO;
		if (m->seq != seq || m->slot != r->slot) {
			if (++stale > MAX_STALE)
				return -EPROTO;
			continue;
		}
		if (m->type != want)
			return -EPROTO;
		if (m->cmd == CCID_CMD_TIME_EXTENSION) {
			if (now_ms() >= end)
				return -ETIMEDOUT;
			deadline = now_ms() + r->timeout_ms;
			continue;
		}
		return 0;
	}
}

/* The answer's status as an error. */
static int judge(struct ccid_reader *r, const struct ccid_msg *m)
{
	if (m->cmd == CCID_CMD_FAILED) {
		r->last_error = m->error;
		if (m->icc == CCID_ICC_ABSENT)
			return -ENOMEDIUM;
		if (m->error == CCID_ERR_SLOT_BUSY)
			return -EBUSY;
		if (m->icc == CCID_ICC_INACTIVE)
			return -EHOSTDOWN;
		return -EIO;
	}
	r->last_error = 0;
	if (m->icc == CCID_ICC_ABSENT)
		return -ENOMEDIUM;
	return 0;
}

static int copy_out(const struct ccid_msg *m, uint8_t *buf, size_t *len)
{
	if (m->len > *len)
		return -EMSGSIZE;
	if (m->len)
		memcpy(buf, m->data, m->len);
	*len = m->len;
	return 0;
}

int ccid_power_on(struct ccid_reader *r, uint8_t *atr, size_t *atr_len)
{
	/* bPowerSelect: automatic when the reader selects the voltage */
	uint8_t p[3] = { r->info.desc.features & 0x08 ? 0x00 : 0x01, 0, 0 };
	struct ccid_msg m;
	int rc;

	rc = command(r, CCID_PC_ICC_POWER_ON, p, NULL, 0, CCID_RDR_DATA_BLOCK, &m);
	if (!rc)
		rc = judge(r, &m);
	if (!rc && m.icc != CCID_ICC_ACTIVE)
		rc = -EIO;
	if (!rc && m.len == 0)
		rc = -EIO;	/* no ATR: the card did not answer */
	if (!rc)
		rc = copy_out(&m, atr, atr_len);
	return rc;
}

int ccid_power_off(struct ccid_reader *r)
{
	struct ccid_msg m;
	int rc;

	rc = command(r, CCID_PC_ICC_POWER_OFF, NULL, NULL, 0,
		     CCID_RDR_SLOT_STATUS, &m);
	if (rc)
		return rc;
	rc = judge(r, &m);
	/* powering off an empty slot is not an error */
	return rc == -ENOMEDIUM ? 0 : rc;
}

int ccid_slot_status(struct ccid_reader *r, int *icc)
{
	struct ccid_msg m;
	int rc;

	rc = command(r, CCID_PC_GET_SLOT_STATUS, NULL, NULL, 0,
		     CCID_RDR_SLOT_STATUS, &m);
	if (rc)
		return rc;
	*icc = m.icc;
	r->last_error = m.cmd == CCID_CMD_FAILED ? m.error : 0;
	return 0;
}

int ccid_xfr_block(void *rv, const uint8_t *cmd, size_t len, uint8_t *resp,
		   size_t *rlen)
{
	struct ccid_reader *r = rv;
	struct ccid_msg m;
	int rc;

	if (!len || !cmd || !resp || !rlen)
		return -EINVAL;
	rc = command(r, CCID_PC_XFR_BLOCK, NULL, cmd, len, CCID_RDR_DATA_BLOCK, &m);
	if (rc == -ETIMEDOUT) {
		/*
		 * No answer: a silent card, or a card pulled while the reader
		 * waited for it (some readers, QEMU's among them, then drop
		 * the command instead of failing it).  The slot tells which.
		 */
		int icc;

		if (ccid_slot_status(r, &icc) == 0 && icc == CCID_ICC_ABSENT)
			return -ENOMEDIUM;
		return r->gone ? -ENODEV : -ETIMEDOUT;
	}
	if (!rc)
		rc = judge(r, &m);
	/* a chained answer (bChainParameter) is for APDU-level readers with
	 * extended APDUs, which this client does not ask for */
	if (!rc && m.param != 0)
		rc = -EPROTO;
	if (!rc)
		rc = copy_out(&m, resp, rlen);
	return rc;
}

int ccid_wait_slot_change(struct ccid_reader *r, unsigned int timeout_ms,
			  bool *present)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t buf[64];

	if (r->gone)
		return -ENODEV;
	if (!r->ep_intr) {
		/* no interrupt pipe: poll the slot */
		for (;;) {
			int icc, rc = ccid_slot_status(r, &icc);

			if (rc)
				return rc;
			if (r->polled_icc >= 0 &&
			    (icc == CCID_ICC_ABSENT) != (r->polled_icc == CCID_ICC_ABSENT)) {
				r->polled_icc = icc;
				*present = icc != CCID_ICC_ABSENT;
				return 0;
			}
			r->polled_icc = icc;
			if (!remaining_ms(deadline))
				return -ETIMEDOUT;
			usleep(100 * 1000);
		}
	}
	for (;;) {
		int got = 0, rc, ms = remaining_ms(deadline);
		size_t want = r->intr_pkt < sizeof(buf) ? r->intr_pkt : sizeof(buf);
		bool changed;

		if (!ms)
			return -ETIMEDOUT;
		rc = libusb_interrupt_transfer(r->h, r->ep_intr, buf, (int)want,
					       &got, (unsigned int)ms);
		if (rc == LIBUSB_ERROR_TIMEOUT)
			return -ETIMEDOUT;
		if (rc)
			return xfer_err(r, rc);
		if (got <= 0)
			continue;
		rc = ccid_parse_notify(buf, (size_t)got, r->slot, present, &changed);
		if (rc == 0)
			return 0;
		if (rc == -EPROTO)
			return -EPROTO;
		/* a hardware-error message or another slot's change */
	}
}

/* --------------------------------------------------------------- hotplug */

static int LIBUSB_CALL hp_arrived(libusb_context *ctx, libusb_device *dev,
				  libusb_hotplug_event ev, void *arg)
{
	bool *flag = arg;

	(void)ctx;
	(void)dev;
	if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
		*flag = true;
	return 0;
}

int ccid_wait_reader(unsigned int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	/*
	 * A libusb context with hotplug support keeps its device list up to
	 * date from hotplug events only; where no udev daemon runs (the test
	 * VM) its udev backend gets none, and a reader that arrives later
	 * never shows in that context.  So each round takes a fresh context
	 * (a fresh scan), waits up to 200 ms for a hotplug event in it, and
	 * lets it go.
	 */
	for (;;) {
		libusb_hotplug_callback_handle hp;
		libusb_context *ctx;
		bool hp_on = false, arrived = false;
		int rc, ms;

		rc = libusb_init(&ctx);
		if (rc)
			return usb_errno(rc);
		if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) &&
		    libusb_hotplug_register_callback(ctx,
				LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED, 0,
				LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
				LIBUSB_HOTPLUG_MATCH_ANY, hp_arrived, &arrived, &hp) == 0)
			hp_on = true;
		rc = count_readers(ctx);
		ms = remaining_ms(deadline);
		if (rc == 0 && ms) {
			if (ms > 200)
				ms = 200;
			if (hp_on) {
				struct timeval tv = { 0, ms * 1000 };

				libusb_handle_events_timeout_completed(ctx, &tv, NULL);
				if (arrived)
					rc = count_readers(ctx);
			} else {
				usleep((useconds_t)ms * 1000);
			}
		}
		if (hp_on)
			libusb_hotplug_deregister_callback(ctx, hp);
		libusb_exit(ctx);
		if (rc != 0)
			return rc > 0 ? 0 : rc;
		if (!remaining_ms(deadline))
			return -ETIMEDOUT;
	}
}
