// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The kiosk transaction (kiosk.h): card -> template -> session ->
 * verdict.  The order is the security argument: nothing reaches the
 * biometric reader unless the card passed BAC, Secure Messaging, Passive
 * Authentication and the DG1 check, and the template is wiped from this
 * process as soon as the driver has its own copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "idcard/atr.h"
#include "idcard/t0.h"
#include "kiosk/kiosk.h"

/* How long one wait for a card or a verdict blocks before re-checking. */
#define KIOSK_POLL_MS		250
/* A verdict comes within the session's timeout; this much more for its
 * record to become durable before the kiosk stops waiting. */
#define KIOSK_VERDICT_SLACK_MS	30000

uint64_t kiosk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *kiosk_stage_name(enum kiosk_stage s)
{
	switch (s) {
	case KIOSK_STAGE_BIO_READER:	return "biometric reader";
	case KIOSK_STAGE_READER:	return "reader";
	case KIOSK_STAGE_CARD:		return "card";
	case KIOSK_STAGE_DOCUMENT:	return "document";
	case KIOSK_STAGE_SESSION:	return "session";
	case KIOSK_STAGE_VERDICT:	return "verdict";
	case KIOSK_STAGE_DONE:		return "done";
	}
	return "unknown";
}

static bool cancelled(volatile sig_atomic_t *cancel)
{
	return cancel && *cancel;
}

/*
 * The document layer sees IDC_ERR_TRANSPORT for every failure below it;
 * this wrapper keeps the reader's own error (card pulled, reader gone,
 * timeout) for the caller.
 */
struct kiosk_link {
	idc_transmit_fn tx;
	void *ctx;
	int err;
};

static int kiosk_transmit(void *ctx, const uint8_t *capdu, size_t len,
			  uint8_t *rapdu, size_t *rlen)
{
	struct kiosk_link *l = ctx;
	int r = l->tx(l->ctx, capdu, len, rapdu, rlen);

	if (r)
		l->err = r;
	return r;
}

/* Power the card, waiting for one to be inserted; its ATR into @atr. */
static int power_card(struct ccid_reader *r, unsigned int wait_ms,
		      volatile sig_atomic_t *cancel, uint8_t *atr,
		      size_t *atr_len)
{
	uint64_t deadline = kiosk_now_ns() + (uint64_t)wait_ms * 1000000ull;
	size_t cap = *atr_len;
	bool present;
	int rc;

	for (;;) {
		*atr_len = cap;
		rc = ccid_power_on(r, atr, atr_len);
		if (rc != -ENOMEDIUM)
			return rc;
		if (cancelled(cancel))
			return -ECANCELED;
		if (kiosk_now_ns() >= deadline)
			return -ENOMEDIUM;
		rc = ccid_wait_slot_change(r, KIOSK_POLL_MS, &present);
		if (rc && rc != -ETIMEDOUT)
			return rc;
	}
}

int kiosk_read_card(struct ccid_reader *r, unsigned int card_wait_ms,
		    const char mrz_info[IDC_MRZ_INFO_LEN],
		    const struct idc_trust *trust, uint64_t t0_ns,
		    volatile sig_atomic_t *cancel, struct idc_result *out,
		    struct kiosk_result *res)
{
	struct t0_link t0 = { .xfr = ccid_xfr_block, .ctx = r };
	struct kiosk_link link = { 0 };
	uint8_t atr_raw[ATR_MAX_LEN];
	size_t atr_len = sizeof(atr_raw);
	struct atr atr;
	int rc;

	res->stage = KIOSK_STAGE_CARD;
	rc = power_card(r, card_wait_ms, cancel, atr_raw, &atr_len);
	if (rc) {
		res->err = rc;
		return rc;
	}
	res->t_card_ns = kiosk_now_ns() - t0_ns;
	if (atr_parse(atr_raw, atr_len, &atr)) {
		rc = -EPROTO;
		goto off;
	}
	/*
	 * A TPDU-level reader leaves T=0 to us; an APDU-level one takes
	 * the APDU as it is.  This library speaks T=0 only.
	 */
	if ((ccid_info(r)->desc.features & CCID_FEAT_LEVEL_MASK) ==
	    CCID_FEAT_TPDU) {
		if (!(atr.protocols & 1u)) {
			rc = -EPROTONOSUPPORT;
			goto off;
		}
		link.tx = t0_transmit;
		link.ctx = &t0;
	} else {
		link.tx = ccid_xfr_block;
		link.ctx = r;
	}

	res->stage = KIOSK_STAGE_DOCUMENT;
	rc = idc_read_verified(kiosk_transmit, &link, mrz_info, trust, out);
	res->read = out->read;
	if (!rc) {
		res->pa = out->pa;
		res->t_template_ns = kiosk_now_ns() - t0_ns;
	} else {
		res->transport_err = link.err;
	}
off:
	if (rc)
		res->err = rc;
	/* The card is not needed any more: its chip's session ends here. */
	if (!ccid_gone(r))
		ccid_power_off(r);
	return rc;
}

/* SESSION_START with the card's template, declaring where it came from. */
static int start_session(int fd, const struct kiosk_config *c,
			 struct idc_result *card, struct kiosk_result *res)
{
	struct bioreader_session_start st;
	size_t n = strnlen(c->operator_id, BIOREADER_OPERATOR_ID_LEN);
	int rc = 0;

	memset(&st, 0, sizeof(st));
	st.template_ptr = (uintptr_t)card->tpl;
	st.template_len = (uint32_t)card->tpl_len;
	st.security_level = c->security_level;
	st.timeout_ms = c->session_timeout_ms;
	memcpy(st.operator_id, c->operator_id,
	       n < BIOREADER_OPERATOR_ID_LEN ? n : BIOREADER_OPERATOR_ID_LEN - 1);
	st.ref_source = BIOREADER_REF_SOURCE_ICAO_PA;
	st.ref_flags = BIOREADER_REF_BAC;
	if (idc_trust_checks_crls(c->trust))
		st.ref_flags |= BIOREADER_REF_CRL_CHECKED;
	memcpy(st.ref_issuer_sha256, card->pa.csca_sha256, 32);
	memcpy(st.ref_signer_sha256, card->pa.ds_sha256, 32);
	if (ioctl(fd, BIOREADER_IOC_SESSION_START, &st))
		rc = -errno;
	else
		res->session_id = st.session_id;
	res->ref_flags = st.ref_flags;
	/* The driver holds its own copy now (or refused it). */
	explicit_bzero(&st, sizeof(st));
	return rc;
}

static int wait_verdict(int fd, const struct kiosk_config *c,
			struct kiosk_result *res)
{
	uint32_t limit = c->session_timeout_ms ? c->session_timeout_ms :
			 BIOREADER_TIMEOUT_MAX_MS;
	uint64_t deadline = kiosk_now_ns() +
			    (uint64_t)(limit + KIOSK_VERDICT_SLACK_MS) * 1000000ull;
	bool aborted = false;
	struct bioreader_verdict v;
	int e;

	for (;;) {
		if (cancelled(c->cancel) && !aborted) {
			/* The ABORTED verdict still comes, and is recorded. */
			if (ioctl(fd, BIOREADER_IOC_SESSION_ABORT) && errno != ENOENT)
				return -errno;
			aborted = true;
		}
		memset(&v, 0, sizeof(v));
		v.timeout_ms = KIOSK_POLL_MS;
		if (ioctl(fd, BIOREADER_IOC_SESSION_WAIT, &v) == 0) {
			res->verdict = v;
			return 0;
		}
		/*
		 * ETIMEDOUT: no verdict yet; ENOLINK: the verdict is there but
		 * its audit record is not durable yet; EINTR: a signal.
		 */
		e = errno;
		if (e != ETIMEDOUT && e != ENOLINK && e != EINTR)
			return -e;
		if (kiosk_now_ns() >= deadline)
			return e == EINTR ? -ETIMEDOUT : -e;
	}
}

int kiosk_verify_card(const struct kiosk_config *c,
		      const char mrz_info[IDC_MRZ_INFO_LEN],
		      struct kiosk_result *res)
{
	struct idc_result card;
	struct ccid_reader *r = NULL;
	uint64_t t0 = kiosk_now_ns();
	int fd = -1, rc;

	if (!res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	memset(&card, 0, sizeof(card));
	res->stage = KIOSK_STAGE_BIO_READER;
	if (!c || !c->bio_dev || !c->operator_id || !c->trust || !mrz_info) {
		res->err = -EINVAL;
		return res->err;
	}
	/* The biometric reader first: no card is read for nothing. */
	fd = open(c->bio_dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		res->err = -errno;
		return res->err;
	}
	res->stage = KIOSK_STAGE_READER;
	rc = c->reader_wait_ms ? ccid_wait_reader(c->reader_wait_ms) : 0;
	if (!rc)
		rc = ccid_open(&r, &c->card_reader);
	if (rc) {
		res->err = rc;
		goto out;
	}

	rc = kiosk_read_card(r, c->card_wait_ms, mrz_info, c->trust, t0,
			     c->cancel, &card, res);
	ccid_close(r);
	if (rc)
		goto out;
	if (cancelled(c->cancel)) {
		res->err = rc = -ECANCELED;
		goto out;
	}

	res->stage = KIOSK_STAGE_SESSION;
	rc = start_session(fd, c, &card, res);
	idc_result_wipe(&card);
	if (rc) {
		res->err = rc;
		goto out;
	}
	res->t_started_ns = kiosk_now_ns() - t0;

	res->stage = KIOSK_STAGE_VERDICT;
	rc = wait_verdict(fd, c, res);
	if (rc) {
		res->err = rc;
		goto out;
	}
	res->t_verdict_ns = kiosk_now_ns() - t0;
	res->stage = KIOSK_STAGE_DONE;
out:
	idc_result_wipe(&card);
	close(fd);
	return rc;
}
