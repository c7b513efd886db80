// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-collector: the fleet collector's half of forwarding
 * (docs/forwarding.md, docs/man/bioflow-collector.8).  One process, one
 * thread: it reads the spool every --interval and serves the witness's
 * requests one at a time in between.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "collector.h"

static volatile sig_atomic_t stop;
static bool use_syslog = true;

static void vlog_line(int prio, const char *fmt, va_list ap)
{
	char buf[2048];
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	fprintf(stderr, "bioflow-collector: %s\n", buf);
	if (use_syslog)
		syslog(prio, "%s", buf);
}

void col_log(int prio, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog_line(prio, fmt, ap);
	va_end(ap);
	errno = saved;
}

void col_debug(const struct collector *c, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	vlog_line(LOG_DEBUG, fmt, ap);
	va_end(ap);
	errno = saved;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bioflow-collector --spool DIR --logs DIR --enroll DIR [options]\n"
		"       bioflow-collector --print-vkey --witness-key FILE --witness-name NAME\n"
		"\n"
		"Rebuilds every enrolled appliance's store from the spool rsyslog writes, and\n"
		"runs the witness that cosigns the appliances' checkpoints.\n"
		"\n"
		"  --spool DIR            rsyslog's spool: one DIR/<oid>.log per appliance\n"
		"  --logs DIR             the copies: DIR/<oid>/ per appliance, DIR/status\n"
		"  --enroll DIR           DIR/<oid>/origin and DIR/<oid>/root.pub.pem per\n"
		"                         appliance accepted; others are counted, not read\n"
		"  --witness-listen HOST:PORT  serve the witness (HTTPS) there\n"
		"  --witness-key FILE     the witness's Ed25519 private key (PEM)\n"
		"  --witness-name NAME    the witness's name (a signed-note key name)\n"
		"  --ca FILE              CA certificates that client certificates must chain to\n"
		"  --cert FILE            the server's certificate chain (PEM)\n"
		"  --key FILE             the server's private key (PEM)\n"
		"  --port-file FILE       write the port listened on (with port 0)\n"
		"  --segment-max-bytes N  segment size limit of the appliances' stores\n"
		"                         (default 67108864, as bioflowd's)\n"
		"  --interval MS          read the spool this often (default 1000)\n"
		"  --io-timeout MS        each read and write of a witness connection\n"
		"                         (default 5000; a connection gets three times that)\n"
		"  --once                 read the spool once and exit (status 1 if an\n"
		"                         appliance is frozen or its copy unusable)\n"
		"  --print-vkey           print the witness's verifier key and exit\n"
		"  --no-syslog            log to stderr only\n"
		"  -v, --verbose          log every witness request\n"
		"  -h, --help             this text\n");
}

static int load_witness(struct collector *c, const char *keyfile, const char *name)
{
	struct bfl_err e = { 0 };
	EVP_PKEY *pk = NULL;
	FILE *f = fopen(keyfile, "r");
	int r;

	if (f) {
		pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!pk) {
		col_log(LOG_ERR, "--witness-key %s: cannot read a PEM private key", keyfile);
		return -1;
	}
	r = bfl_cosigner_init(&c->wit, name, pk, &e);
	EVP_PKEY_free(pk);
	if (r) {
		col_log(LOG_ERR, "witness key: %s", e.msg);
		return -1;
	}
	c->witness = true;
	return 0;
}

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "logs", required_argument, NULL, 'l' },
		{ "enroll", required_argument, NULL, 'e' },
		{ "witness-listen", required_argument, NULL, 'W' },
		{ "witness-key", required_argument, NULL, 'K' },
		{ "witness-name", required_argument, NULL, 'N' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "segment-max-bytes", required_argument, NULL, 'S' },
		{ "interval", required_argument, NULL, 'i' },
		{ "io-timeout", required_argument, NULL, 't' },
		{ "once", no_argument, NULL, 'o' },
		{ "print-vkey", no_argument, NULL, 'p' },
		{ "no-syslog", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct collector c;
	const char *listen_addr = NULL, *wkey = NULL, *wname = NULL, *ca = NULL, *cert = NULL,
		   *key = NULL, *port_file = NULL;
	unsigned long long interval = 1000, seg = 0, iot = 5000;
	bool once = false, print_vkey = false;
	long long last = 0;
	struct app *a;
	int o, rc = 0;

	memset(&c, 0, sizeof(c));
	c.lfd = -1;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end = NULL;

		switch (o) {
		case 's': c.spool = optarg; break;
		case 'l': c.logs = optarg; break;
		case 'e': c.enroll = optarg; break;
		case 'W': listen_addr = optarg; break;
		case 'K': wkey = optarg; break;
		case 'N': wname = optarg; break;
		case 'A': ca = optarg; break;
		case 'C': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'P': port_file = optarg; break;
		case 'S':
		case 'i':
		case 't': {
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || !end || *end || optarg[0] == '-' || !v) {
				fprintf(stderr, "bioflow-collector: %s: a positive number\n", optarg);
				return 2;
			}
			if (o == 'S')
				seg = v;
			else if (o == 'i')
				interval = v;
			else
				iot = v;
			break;
		}
		case 'o': once = true; break;
		case 'p': print_vkey = true; break;
		case 'n': use_syslog = false; break;
		case 'v': c.verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (print_vkey) {
		char vkey[BFL_VKEY_MAX];

		use_syslog = false;
		if (!wkey || !wname) {
			fprintf(stderr, "bioflow-collector: --print-vkey needs --witness-key and --witness-name\n");
			return 2;
		}
		if (load_witness(&c, wkey, wname) || bfl_cosigner_vkey(&c.wit, vkey, sizeof(vkey)) < 0)
			return 1;
		printf("%s\n", vkey);
		bfl_cosigner_free(&c.wit);
		return 0;
	}
	if (!c.spool || !c.logs || !c.enroll) {
		fprintf(stderr, "bioflow-collector: --spool, --logs and --enroll are needed\n");
		usage(stderr);
		return 2;
	}
	if (listen_addr && (!wkey || !wname || !ca || !cert || !key)) {
		fprintf(stderr, "bioflow-collector: --witness-listen needs --witness-key, --witness-name, --ca, --cert and --key\n");
		return 2;
	}
	if (interval > 3600000 || iot > 600000) {
		fprintf(stderr, "bioflow-collector: --interval or --io-timeout too large\n");
		return 2;
	}
	if (use_syslog)
		openlog("bioflow-collector", LOG_PID, LOG_DAEMON);
	c.mopts.segment_max_bytes = seg;
	c.io_timeout_ms = (unsigned int)iot;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (wkey && wname && load_witness(&c, wkey, wname))
		return 1;
	if (c.witness) {
		char vkey[BFL_VKEY_MAX];

		if (bfl_cosigner_vkey(&c.wit, vkey, sizeof(vkey)) > 0)
			col_log(LOG_INFO, "witness %s", vkey);
	}
	if (listen_addr && col_https_setup(&c, listen_addr, ca, cert, key, port_file))
		return 1;
	col_ingest_all(&c);
	col_write_status(&c);
	last = mono_ms();
	while (!once && !stop) {
		struct pollfd p = { .fd = c.lfd, .events = POLLIN };
		long long left = (long long)interval - (mono_ms() - last);
		int k;

		if (left < 0)
			left = 0;
		k = poll(&p, c.lfd >= 0 ? 1 : 0, (int)left);
		if (k > 0 && (p.revents & POLLIN))
			col_https_serve(&c);
		if (mono_ms() - last >= (long long)interval) {
			col_ingest_all(&c);
			col_write_status(&c);
			last = mono_ms();
		}
	}
	for (a = c.apps; a; a = a->next)
		if (a->frozen || a->broken)
			rc = 1;
	col_write_status(&c);
	col_close_all(&c);
	if (c.ctx)
		SSL_CTX_free(c.ctx);
	if (c.lfd >= 0)
		close(c.lfd);
	if (c.witness)
		bfl_cosigner_free(&c.wit);
	return once ? rc : 0;
}
