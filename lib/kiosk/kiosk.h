/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The kiosk transaction as one call: the customer's ID card in a USB
 * smart-card reader -> BAC -> read -> Passive Authentication -> the
 * reference template -> SESSION_START on the biometric reader, with the
 * card's issuer and signer declared for the audit record -> the verdict.
 * Every buffer that held card data is wiped on every path; the card is
 * powered off as soon as it has been read.
 *
 * Built into build/libkiosk.a; needs build/libidcard.a, libusb and
 * libcrypto.  docs/idcard.md, "The kiosk flow".
 */
#ifndef _BIOREADER_KIOSK_H
#define _BIOREADER_KIOSK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/bioreader.h>

#include "idcard/ccid.h"
#include "idcard/idcard.h"

/* Where a transaction ended. */
enum kiosk_stage {
	KIOSK_STAGE_BIO_READER,	/* opening the biometric reader */
	KIOSK_STAGE_READER,	/* finding and opening the card reader */
	KIOSK_STAGE_CARD,	/* waiting for the card, powering it, its ATR */
	KIOSK_STAGE_DOCUMENT,	/* BAC, reading, PA, DG1 check, template */
	KIOSK_STAGE_SESSION,	/* SESSION_START on the biometric reader */
	KIOSK_STAGE_VERDICT,	/* waiting for the verdict */
	KIOSK_STAGE_DONE,	/* a verdict */
};

const char *kiosk_stage_name(enum kiosk_stage s);

struct kiosk_config {
	const char *bio_dev;		/* the biometric reader, /dev/bioreaderN */
	const char *operator_id;	/* 1..31 printable characters */
	uint32_t security_level;	/* BIOREADER_SECLEVEL_* */
	uint32_t session_timeout_ms;	/* 0: the reader's policy */
	const struct idc_trust *trust;	/* CSCAs (and CRLs) */
	struct ccid_open_opts card_reader; /* which card reader, its timeouts */
	unsigned int reader_wait_ms;	/* wait for a card reader to appear */
	unsigned int card_wait_ms;	/* wait for a card to be inserted */
	/*
	 * Set (from a signal handler) to give up: before the session, the
	 * transaction ends where it is; during it, the session is aborted
	 * and its ABORTED verdict awaited.
	 */
	volatile sig_atomic_t *cancel;
};

struct kiosk_result {
	enum kiosk_stage stage;		/* where it ended; DONE: @verdict */
	/*
	 * Why it ended before DONE: an IDC_ERR_* at KIOSK_STAGE_DOCUMENT,
	 * else a negative errno (ccid.h's meanings at READER and CARD, the
	 * ioctl's at SESSION and VERDICT; -ECANCELED when cancelled).
	 */
	int err;
	/* Behind an IDC_ERR_TRANSPORT: the reader's error (ccid.h), e.g.
	 * -ENOMEDIUM card pulled, -ENODEV reader gone, -ETIMEDOUT silence. */
	int transport_err;
	struct idc_read_info read;	/* where the card read ended */
	struct idc_pa_result pa;	/* the fingerprints, once PA passed */
	uint32_t ref_flags;		/* what was declared: BIOREADER_REF_* */
	uint64_t session_id;		/* once started */
	struct bioreader_verdict verdict; /* at DONE */
	/* CLOCK_MONOTONIC ns after the call began; 0 when not reached */
	uint64_t t_card_ns;		/* the card answered its reset (ATR) */
	uint64_t t_template_ns;		/* template ready: read, PA, DG1 */
	uint64_t t_started_ns;		/* SESSION_START returned */
	uint64_t t_verdict_ns;		/* the verdict released */
};

/*
 * The whole transaction with the card reader's card and @mrz_info (the
 * BAC key: idc_mrz_info_parse() of what the kiosk OCR'd or the operator
 * typed).  Returns 0 when a verdict came (@res->verdict; any outcome),
 * else @res->err; @res->stage says where either way.  No session starts
 * unless the card passed every check.
 */
int kiosk_verify_card(const struct kiosk_config *c,
		      const char mrz_info[IDC_MRZ_INFO_LEN],
		      struct kiosk_result *res);

/*
 * The card half on an open reader: wait up to @card_wait_ms for a card,
 * power it, check its ATR, read and prove the document, power it off.
 * On success @out holds the template and fingerprints (idc_result_wipe).
 * Fills @res's stage, err, read, pa, t_card_ns and t_template_ns
 * (relative to @t0_ns, a CLOCK_MONOTONIC time).
 */
int kiosk_read_card(struct ccid_reader *r, unsigned int card_wait_ms,
		    const char mrz_info[IDC_MRZ_INFO_LEN],
		    const struct idc_trust *trust, uint64_t t0_ns,
		    volatile sig_atomic_t *cancel, struct idc_result *out,
		    struct kiosk_result *res);

/* CLOCK_MONOTONIC in ns. */
uint64_t kiosk_now_ns(void);

#endif /* _BIOREADER_KIOSK_H */
