// SPDX-License-Identifier: GPL-2.0-only
/*
 * Card insert -> template ready: what the kiosk waits for between the
 * customer putting the ID card in the reader and the reference template
 * being ready for SESSION_START.  Runs inside the VM (bench/vm-card.sh
 * boots it with QEMU's USB CCID reader and the card emulator on the
 * host), over the real path: libusb, CCID, T=0, BAC, Secure Messaging.
 *
 * Per round, timed separately:
 *   power    PC_to_RDR_IccPowerOn until the ATR (the card "arrives")
 *   read     SELECT, GET CHALLENGE, EXTERNAL AUTHENTICATE, then EF.COM,
 *            EF.SOD, DG1 and DG2 under Secure Messaging
 *   pa       Passive Authentication (CMS signature, the certificate path,
 *            the data-group hashes) and the template out of DG2
 * and, in the same run, the reference: the raw round trip of one short
 * APDU (SELECT of the application in the clear: a case-3 command, one
 * TPDU each way), so the read can be expressed as "so many round trips".
 *
 * Every TPDU exchange of the read is timed on its own (CCID XfrBlock
 * over libusb, through QEMU's reader to the emulator and back), so the
 * read splits into the reader's time and this process's (BAC, Secure
 * Messaging, T=0, parsing).  Prints medians, the exchanges and bytes a
 * read takes, the time per exchange against the reference, and what
 * dominates.
 *
 *   vm_card --csca DIR --mrz FILE [--crl DIR] [--rounds N] [--rtt N]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "idcard/atr.h"
#include "idcard/ccid.h"
#include "idcard/idcard.h"
#include "idcard/t0.h"

#define MAX_ROUNDS	200

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Every TPDU exchange of the read, timed: the transport's share. */
static struct {
	unsigned int n;
	double ms;
	size_t out, in;
} xs;

static int timed_xfr(void *r, const uint8_t *cmd, size_t len, uint8_t *resp,
		     size_t *rlen)
{
	double a = now_ms();
	int rc = ccid_xfr_block(r, cmd, len, resp, rlen);

	xs.ms += now_ms() - a;
	xs.n++;
	xs.out += len;
	xs.in += rc ? 0 : *rlen;
	return rc;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dcmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int load_mrz(const char *path, char info[IDC_MRZ_INFO_LEN])
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return -1;
	r = idc_mrz_info_read(f, info);
	fclose(f);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "csca", required_argument, NULL, 'c' },
		{ "crl", required_argument, NULL, 'l' },
		{ "mrz", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "rtt", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const uint8_t select_app[] = {
		0x00, 0xa4, 0x04, 0x0c, 0x07, 0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01
	};
	static double t_power[MAX_ROUNDS], t_read[MAX_ROUNDS], t_pa[MAX_ROUNDS];
	static double t_total[MAX_ROUNDS], t_rtt[1000], t_xfr[MAX_ROUNDS];
	static unsigned int n_xfr;
	static size_t b_out, b_in;
	const char *csca = NULL, *crl = NULL, *mrz = NULL;
	struct ccid_open_opts o = { 0 };
	struct ccid_reader *r = NULL;
	struct t0_link link = { 0 };
	struct idc_trust *trust = NULL;
	char info[IDC_MRZ_INFO_LEN];
	int rounds = 10, nrtt = 50, c, i, rc;
	unsigned int apdus = 0;
	size_t dg2_len = 0, total_len = 0;
	double rtt, read, pa, power, total, xfr;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': csca = optarg; break;
		case 'l': crl = optarg; break;
		case 'm': mrz = optarg; break;
		case 'n': rounds = atoi(optarg); break;
		case 'r': nrtt = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!csca || !mrz || rounds < 1 || rounds > MAX_ROUNDS || nrtt < 1 ||
	    nrtt > 1000) {
		fprintf(stderr, "usage: vm_card --csca DIR --mrz FILE [--crl DIR] [--rounds 1..%d] [--rtt 1..1000]\n",
			MAX_ROUNDS);
		return 2;
	}
	if (idc_trust_load(&trust, csca, crl) || load_mrz(mrz, info)) {
		fprintf(stderr, "vm_card: trust store or MRZ unusable\n");
		return 1;
	}
	rc = ccid_wait_reader(20000);
	if (!rc)
		rc = ccid_open(&r, &o);
	if (rc) {
		fprintf(stderr, "vm_card: card reader: %s\n", ccid_strerror(rc));
		return 1;
	}
	link.xfr = timed_xfr;
	link.ctx = r;

	for (i = 0; i < rounds; i++) {
		uint8_t atr[ATR_MAX_LEN];
		size_t alen = sizeof(atr);
		struct idc_read_info ri;
		struct idc_pa_result par;
		struct idc_doc doc;
		const uint8_t *tpl;
		size_t tl;
		double t0, t1, t2, t3;
		int e;

		t0 = now_ms();
		rc = ccid_power_on(r, atr, &alen);
		t1 = now_ms();
		if (rc) {
			fprintf(stderr, "vm_card: power on: %s\n", ccid_strerror(rc));
			return 1;
		}
		memset(&xs, 0, sizeof(xs));
		rc = idc_read_document(t0_transmit, &link, info, &doc, &ri);
		t2 = now_ms();
		t_xfr[i] = xs.ms;
		n_xfr = xs.n;
		b_out = xs.out;
		b_in = xs.in;
		if (rc) {
			fprintf(stderr, "vm_card: read: %s at %s\n", idc_strerror(rc),
				idc_step_name(ri.step));
			return 1;
		}
		rc = idc_pa_verify(trust, &doc, &par);
		if (!rc)
			rc = idc_dg2_template(doc.ef[IDC_EF_DG2].data,
					      doc.ef[IDC_EF_DG2].len, &tpl, &tl);
		t3 = now_ms();
		if (rc) {
			fprintf(stderr, "vm_card: PA: %s\n", idc_strerror(rc));
			return 1;
		}
		apdus = ri.apdus;
		dg2_len = doc.ef[IDC_EF_DG2].len;
		total_len = 0;
		for (e = 0; e < IDC_EF_COUNT; e++)
			total_len += doc.ef[e].len;
		idc_doc_wipe(&doc);
		t_power[i] = t1 - t0;
		t_read[i] = t2 - t1;
		t_pa[i] = t3 - t2;
		t_total[i] = t3 - t0;

		/* The reference, interleaved: the card is still powered. */
		if (i == 0 || i == rounds - 1) {
			int k, base = i ? nrtt / 2 : 0, cnt = i ? nrtt - nrtt / 2 : nrtt / 2;

			if (rounds == 1) {
				base = 0;
				cnt = nrtt;
			}
			for (k = 0; k < cnt; k++) {
				uint8_t resp[258];
				size_t rl = sizeof(resp);
				double a = now_ms();

				rc = t0_transmit(&link, select_app, sizeof(select_app),
						 resp, &rl);
				t_rtt[base + k] = now_ms() - a;
				if (rc || rl != 2 || resp[0] != 0x90) {
					fprintf(stderr, "vm_card: reference APDU failed\n");
					return 1;
				}
			}
		}
		ccid_power_off(r);
	}
	ccid_close(r);
	idc_trust_free(trust);
	OPENSSL_cleanse(info, sizeof(info));

	rtt = median(t_rtt, nrtt);
	power = median(t_power, rounds);
	read = median(t_read, rounds);
	pa = median(t_pa, rounds);
	total = median(t_total, rounds);
	xfr = median(t_xfr, rounds);
	printf("# vm_card: %d rounds, %d reference round trips\n", rounds, nrtt);
	printf("document: %zu bytes in 4 files (DG2 %zu bytes), %u APDUs per read\n",
	       total_len, dg2_len, apdus);
	printf("reference: one short APDU round trip (SELECT in the clear): median %.2f ms\n",
	       rtt);
	printf("card insert -> template: median %.1f ms = power on/ATR %.1f + BAC and read %.1f + PA and template %.1f\n",
	       total, power, read, pa);
	printf("the read: %u APDUs in %u TPDU exchanges (T=0: a command with data and Le takes two), %zu bytes out, %zu in\n",
	       apdus, n_xfr, b_out, b_in);
	printf("  in the reader (CCID XfrBlock, timed one by one): median %.1f ms = %.1f ms per exchange = %.1f x the reference\n",
	       xfr, xfr / n_xfr, xfr / n_xfr / rtt);
	printf("  in this process (BAC, Secure Messaging, T=0, parsing): %.1f ms\n",
	       read - xfr);
	printf("card insert -> template / reference round trip: %.0f\n", total / rtt);
	printf("what dominates: the reader's exchanges, %.0f%% of card insert -> template; PA %.0f%%; the host's BAC/SM/T=0 work %.0f%%\n",
	       100.0 * xfr / total, 100.0 * pa / total, 100.0 * (read - xfr) / total);
	return 0;
}
