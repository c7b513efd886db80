// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl card verify: the kiosk transaction from the command line (the
 * library call kiosk_verify_card, lib/kiosk/): the ID card in the USB
 * smart-card reader is read and proven genuine, its template goes to the
 * biometric reader, the verdict comes back.
 *
 * The MRZ (the card's BAC key) is personal data: it is read from a file
 * or standard input, never from the command line, where every local user
 * could see it in /proc.  Nothing personal is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bioctl.h"
#include "kiosk/kiosk.h"

static volatile sig_atomic_t card_cancel;

static void on_cancel(int sig)
{
	(void)sig;
	card_cancel = 1;
}

static void verify_usage(FILE *f)
{
	fprintf(f,
"Usage: bioctl card verify -o OPERATOR --csca DIR [--crl DIR] --mrz FILE\n"
"                          [-d DEV] [-r N] [--reader-wait MS] [--card-wait MS]\n"
"                          [--timeout MS] [--level low|medium|high]\n"
"  reads the ID card in card reader N (default 0): BAC with the MRZ in FILE\n"
"  ('-': standard input; the 24 characters of the MRZ information or the\n"
"  whole MRZ), Passive Authentication against the CSCA certificates in DIR\n"
"  (and the CRLs in --crl DIR), then verifies the person at the biometric\n"
"  reader DEV (default %s) against the card's template.\n"
"  Exit: as bioctl verify (0 match, 3 no match, 4 attack, ...), 10 the card\n"
"  was refused (not genuine, altered, wrong MRZ), 11 no card reader, no card\n"
"  or the card could not be read; no session starts in either case.\n",
		BIOCTL_DEFAULT_DEV);
}

/* The MRZ text from @path ('-': stdin) into the BAC key. */
static int load_mrz(const char *path, char info[IDC_MRZ_INFO_LEN])
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	int r;

	if (!f) {
		err_errno("%s", path);
		return -1;
	}
	r = idc_mrz_info_read(f, info);
	if (f != stdin)
		fclose(f);
	if (r) {
		/* Never the text itself: it is personal data. */
		err_msg("%s: not an MRZ (24 characters of MRZ information, or a TD1, TD2 or TD3 zone) with valid check digits",
			path);
		return -1;
	}
	return 0;
}

static void print_fp(const char *label, const uint8_t fp[32])
{
	int i;

	printf("%s", label);
	for (i = 0; i < 32; i++)
		printf("%02x", fp[i]);
	printf("\n");
}

static int session_error(const char *dev, int err)
{
	switch (-err) {
	case EAGAIN:
		err_msg("%s: this card's reference is locked out after repeated failures; try again later",
			dev);
		return BX_LOCKED;
	case EBUSY:
		err_msg("%s: the reader is busy with another session", dev);
		return BX_BUSY;
	case EBADMSG:
		err_msg("%s: the card's template does not suit this reader (format or dimension)",
			dev);
		return BX_ERROR;
	case ENOLINK:
		err_msg("%s: no audit daemon is recording: no session can start", dev);
		return BX_ERROR;
	default:
		errno = -err;
		err_errno("%s: SESSION_START", dev);
		return BX_ERROR;
	}
}

static int report(const struct kiosk_config *c, const struct kiosk_result *res)
{
	const struct bioreader_verdict *v = &res->verdict;

	switch (res->stage) {
	case KIOSK_STAGE_BIO_READER:
		errno = -res->err;
		err_errno("%s", c->bio_dev);
		return BX_ERROR;
	case KIOSK_STAGE_READER:
		err_msg("card reader: %s", ccid_strerror(res->err));
		return res->err == -ENOENT || res->err == -EACCES ||
		       res->err == -EPERM ? BX_ERROR : BX_CARD_IO;
	case KIOSK_STAGE_CARD:
		err_msg("card: %s; no session started", res->err == -ENOMEDIUM ?
			"no card in the reader" : ccid_strerror(res->err));
		return BX_CARD_IO;
	case KIOSK_STAGE_DOCUMENT:
		if (res->err == IDC_ERR_TRANSPORT) {
			err_msg("card: %s while reading (%s, %u commands); no session started",
				ccid_strerror(res->transport_err),
				idc_step_name(res->read.step), res->read.apdus);
			return BX_CARD_IO;
		}
		err_msg("card refused: %s (at %s); no session started",
			idc_strerror(res->err), idc_step_name(res->read.step));
		return BX_CARD;
	case KIOSK_STAGE_SESSION:
		return session_error(c->bio_dev, res->err);
	case KIOSK_STAGE_VERDICT:
		errno = -res->err;
		err_errno("%s: session %llu: SESSION_WAIT", c->bio_dev,
			  (unsigned long long)res->session_id);
		return BX_ERROR;
	case KIOSK_STAGE_DONE:
		break;
	}
	printf("verdict: %s", outcome_words(v->outcome));
	if (v->reason != BIOREADER_REASON_NONE)
		printf(" (%s)", reason_words(v->reason));
	printf("\n");
	if (v->outcome == BIOREADER_OUTCOME_ATTACK)
		printf("attack class: %s\n", attack_words(v->attack_class));
	printf("liveness: %s\n",
	       v->flags & BIOREADER_VERDICT_LIVENESS_EVALUATED ? "evaluated" :
	       "not evaluated");
	printf("session: %llu", (unsigned long long)v->session_id);
	if (v->audit_seq)
		printf(", audit record %llu", (unsigned long long)v->audit_seq);
	printf("\n");
	printf("timings: card answered %.1f ms, template ready %.1f ms, session started %.1f ms, verdict %.1f ms\n",
	       res->t_card_ns / 1e6, res->t_template_ns / 1e6,
	       res->t_started_ns / 1e6, res->t_verdict_ns / 1e6);
	switch (v->outcome) {
	case BIOREADER_OUTCOME_MATCH: return BX_MATCH;
	case BIOREADER_OUTCOME_NO_MATCH: return BX_NO_MATCH;
	case BIOREADER_OUTCOME_ATTACK: return BX_ATTACK;
	case BIOREADER_OUTCOME_INCONCLUSIVE: return BX_INCONCLUSIVE;
	case BIOREADER_OUTCOME_TIMEOUT: return BX_TIMEOUT;
	case BIOREADER_OUTCOME_ABORTED: return BX_ABORTED;
	}
	return BX_ERROR;
}

int card_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "operator", required_argument, NULL, 'o' },
		{ "reader", required_argument, NULL, 'r' },
		{ "csca", required_argument, NULL, 'C' },
		{ "crl", required_argument, NULL, 'R' },
		{ "mrz", required_argument, NULL, 'm' },
		{ "reader-wait", required_argument, NULL, 'W' },
		{ "card-wait", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kiosk_config c = {
		.bio_dev = BIOCTL_DEFAULT_DEV,
		.card_wait_ms = 30000,
		.cancel = &card_cancel,
	};
	const char *csca = NULL, *crl = NULL, *mrz = NULL;
	char info[IDC_MRZ_INFO_LEN];
	struct kiosk_result res;
	struct idc_trust *trust = NULL;
	struct sigaction sa;
	uint64_t val;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:o:r:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			verify_usage(stdout);
			return 0;
		case 'd': c.bio_dev = optarg; break;
		case 'o': c.operator_id = optarg; break;
		case 'C': csca = optarg; break;
		case 'R': crl = optarg; break;
		case 'm': mrz = optarg; break;
		case 'r':
			if (parse_u64(optarg, 0, 15, &val)) {
				err_msg("-r: a card reader index, 0..15");
				return BX_USAGE;
			}
			c.card_reader.index = (unsigned int)val;
			break;
		case 'W':
		case 'w':
			if (parse_u64(optarg, 0, 3600000, &val)) {
				err_msg("--%s: milliseconds, at most an hour",
					ch == 'W' ? "reader-wait" : "card-wait");
				return BX_USAGE;
			}
			if (ch == 'W')
				c.reader_wait_ms = (unsigned int)val;
			else
				c.card_wait_ms = (unsigned int)val;
			break;
		case 'T':
			if (parse_u64(optarg, 100, BIOREADER_TIMEOUT_MAX_MS, &val)) {
				err_msg("--timeout must be 100..%u ms",
					BIOREADER_TIMEOUT_MAX_MS);
				return BX_USAGE;
			}
			c.session_timeout_ms = (uint32_t)val;
			break;
		case 'l':
			if (parse_level(optarg, &c.security_level)) {
				err_msg("--level must be low, medium or high");
				return BX_USAGE;
			}
			break;
		default:
			verify_usage(stderr);
			return BX_USAGE;
		}
	}
	if (optind != argc || !c.operator_id || !csca || !mrz) {
		verify_usage(stderr);
		return BX_USAGE;
	}
	if (!*c.operator_id ||
	    strlen(c.operator_id) >= BIOREADER_OPERATOR_ID_LEN) {
		err_msg("operator id must be 1..%d characters",
			BIOREADER_OPERATOR_ID_LEN - 1);
		return BX_USAGE;
	}
	rc = idc_trust_load(&trust, csca, crl);
	if (rc) {
		err_msg("trust store %s%s%s: %s", csca, crl ? " with CRLs " : "",
			crl ? crl : "", idc_strerror(rc));
		return BX_ERROR;
	}
	if (load_mrz(mrz, info)) {
		idc_trust_free(trust);
		return BX_USAGE;
	}
	c.trust = trust;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cancel;	/* no SA_RESTART: waits return EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("insert the ID card...\n");
	fflush(stdout);
	rc = kiosk_verify_card(&c, info, &res);
	OPENSSL_cleanse(info, sizeof(info));
	idc_trust_free(trust);
	if (res.stage > KIOSK_STAGE_DOCUMENT) {
		printf("card: genuine (Passive Authentication, %u commands), template handed to the reader\n",
		       res.read.apdus);
		print_fp("card: issuer (CSCA) certificate sha256 ", res.pa.csca_sha256);
		print_fp("card: signer (DS) certificate sha256   ", res.pa.ds_sha256);
	}
	if (res.session_id)
		printf("session %llu started on %s (operator %s)\n",
		       (unsigned long long)res.session_id, c.bio_dev, c.operator_id);
	(void)rc;
	return report(&c, &res);
}
