// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-forward command line (docs/man/bioflow-forward.8 lists every
 * option).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "fwd.h"

static const char usage[] =
"Usage: bioflow-forward --collector HOST:PORT --collector-name NAME\n"
"         --ca FILE --cert FILE --key FILE [OPTION]...\n"
"Send every sealed item of the audit store to the fleet collector (RELP over\n"
"TLS) and have its checkpoints cosigned by the collector's witness.\n"
"\n"
"  -s, --store DIR           the audit store, read only (default\n"
"                            " FWD_DEFAULT_STORE ")\n"
"  -S, --state DIR           the forwarder's own state: position, cosigs/,\n"
"                            status (default " FWD_DEFAULT_STATE ")\n"
"  -u, --user NAME           run as this user (started as root: drop to it;\n"
"                            default " FWD_DEFAULT_USER "; started as another\n"
"                            user: stay)\n"
"      --collector HOST:PORT the collector's RELP listener\n"
"      --collector-name NAME the name the collector's certificate must carry\n"
"      --ca FILE             CA certificates (PEM) that issue the collector's\n"
"                            and the witness's certificates\n"
"      --cert FILE           this appliance's certificate (PEM)\n"
"      --key FILE            its private key (PEM)\n"
"      --witness HOST:PORT   the witness (HTTPS, C2SP tlog-witness); without\n"
"                            it, every reconnection resends the whole store\n"
"      --witness-name NAME   the name the witness's certificate must carry\n"
"      --witness-key FILE    the witness's cosigning key (signed-note\n"
"                            verifier key, Ed25519 cosignature type 0x04):\n"
"                            cosignatures are checked with it\n"
"      --poll-ms MS          look for new items every MS ms (" FWD_STR(FWD_DEFAULT_POLL_MS) ")\n"
"      --witness-ms MS       at most one add-checkpoint every MS ms ("
	FWD_STR(FWD_DEFAULT_WITNESS_MS) ")\n"
"      --resend-after-ms MS  the witness answering 503 (not ingested) for MS ms\n"
"                            while its position stays: resend from that\n"
"                            position, the wait doubling per resend up to\n"
"                            5 min (100..3600000, " FWD_STR(FWD_DEFAULT_RESEND_AFTER_MS) ")\n"
"      --batch-records N     at most N consecutive records a message (1..1024,\n"
"                            " FWD_STR(FWD_DEFAULT_BATCH_RECORDS)
	"); 1: one record a message, the form\n"
"                            collectors before batches read\n"
"      --batch-bytes N       at most N bytes a batch message (8192..61440,\n"
"                            " FWD_STR(FWD_DEFAULT_BATCH_BYTES) "); below the collector's rsyslog\n"
"                            maxMessageSize, with 4 KiB to spare\n"
"      --sandbox-test        install the sandbox, then make a forbidden\n"
"                            system call: the kernel kills the process\n"
"  -v, --verbose             log every connection and cosignature\n"
"  -h, --help                this text\n"
"      --version             print the version\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT, 1 cannot start, 2 usage,\n"
"3 the sandbox could not be installed.\n";

enum {
	OPT_COLLECTOR = 256, OPT_COLLECTOR_NAME, OPT_CA, OPT_CERT, OPT_KEY,
	OPT_WITNESS, OPT_WITNESS_NAME, OPT_WITNESS_KEY, OPT_POLL, OPT_WITNESS_MS,
	OPT_BATCH_RECORDS, OPT_BATCH_BYTES, OPT_RESEND_AFTER,
	OPT_SANDBOX_TEST, OPT_VERSION,
};

static const struct option opts[] = {
	{ "store", required_argument, NULL, 's' },
	{ "state", required_argument, NULL, 'S' },
	{ "user", required_argument, NULL, 'u' },
	{ "collector", required_argument, NULL, OPT_COLLECTOR },
	{ "collector-name", required_argument, NULL, OPT_COLLECTOR_NAME },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "witness", required_argument, NULL, OPT_WITNESS },
	{ "witness-name", required_argument, NULL, OPT_WITNESS_NAME },
	{ "witness-key", required_argument, NULL, OPT_WITNESS_KEY },
	{ "poll-ms", required_argument, NULL, OPT_POLL },
	{ "witness-ms", required_argument, NULL, OPT_WITNESS_MS },
	{ "resend-after-ms", required_argument, NULL, OPT_RESEND_AFTER },
	{ "batch-records", required_argument, NULL, OPT_BATCH_RECORDS },
	{ "batch-bytes", required_argument, NULL, OPT_BATCH_BYTES },
	{ "sandbox-test", no_argument, NULL, OPT_SANDBOX_TEST },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

_Static_assert(FWD_DEFAULT_BATCH_BYTES <= BFL_FWD_BATCH_MSG_MAX &&
	       FWD_DEFAULT_BATCH_RECORDS <= BFL_FWD_BATCH_MAX_RECS,
	       "the default batch is one the collector decodes");

static int num(const char *opt, const char *s, u64 min, u64 max,
	       unsigned int *out)
{
	u64 v;

	if (bfl_parse_u64(s, strlen(s), &v) || v < min || v > max) {
		fprintf(stderr, FWD_NAME ": %s wants a number from %llu to %llu\n",
			opt, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

/* A certificate name: a DNS name or an IP address, printable ASCII. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > 253)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

int fwd_resolve(struct fwd_peer *p, const char *hostport, char *err,
		size_t errcap)
{
	struct addrinfo hints, *ai = NULL;
	const char *colon = strrchr(hostport, ':');
	size_t hl;
	u64 port;
	int k;

	memset(p->host, 0, sizeof(p->host));
	if (!colon || colon == hostport || !colon[1] ||
	    bfl_parse_u64(colon + 1, strlen(colon + 1), &port) || !port || port > 65535) {
		snprintf(err, errcap, "\"%s\": not HOST:PORT", hostport);
		return -1;
	}
	hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl > 2 && hostport[hl - 1] == ']') {
		hostport++;	/* [v6 address]:port */
		hl -= 2;
	}
	if (hl >= sizeof(p->host)) {
		snprintf(err, errcap, "\"%s\": host name too long", hostport);
		return -1;
	}
	memcpy(p->host, hostport, hl);
	snprintf(p->port, sizeof(p->port), "%u", (unsigned int)port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	k = getaddrinfo(p->host, p->port, &hints, &ai);
	if (k || !ai) {
		snprintf(err, errcap, "%s: %s", p->host, gai_strerror(k));
		return -1;
	}
	p->family = ai->ai_family;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, p->addr, sizeof(p->addr), NULL, 0,
			NI_NUMERICHOST)) {
		freeaddrinfo(ai);
		snprintf(err, errcap, "%s: no numeric address", p->host);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

int fwd_parse_args(int argc, char **argv, struct fwd_config *c)
{
	const char *collector = NULL, *witness = NULL, *cname = NULL, *wname = NULL;
	char err[512];
	int o;

	memset(c, 0, sizeof(*c));
	c->store = FWD_DEFAULT_STORE;
	c->state = FWD_DEFAULT_STATE;
	c->user = FWD_DEFAULT_USER;
	c->poll_ms = FWD_DEFAULT_POLL_MS;
	c->witness_ms = FWD_DEFAULT_WITNESS_MS;
	c->batch_records = FWD_DEFAULT_BATCH_RECORDS;
	c->batch_bytes = FWD_DEFAULT_BATCH_BYTES;
	c->resend_after_ms = FWD_DEFAULT_RESEND_AFTER_MS;

	while ((o = getopt_long(argc, argv, "s:S:u:vh", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			c->store = optarg;
			break;
		case 'S':
			c->state = optarg;
			break;
		case 'u':
			c->user = optarg;
			break;
		case OPT_COLLECTOR:
			collector = optarg;
			break;
		case OPT_COLLECTOR_NAME:
			cname = optarg;
			break;
		case OPT_CA:
			c->ca = optarg;
			break;
		case OPT_CERT:
			c->cert = optarg;
			break;
		case OPT_KEY:
			c->key = optarg;
			break;
		case OPT_WITNESS:
			witness = optarg;
			break;
		case OPT_WITNESS_NAME:
			wname = optarg;
			break;
		case OPT_WITNESS_KEY:
			c->witness_key = optarg;
			break;
		case OPT_POLL:
			if (num("--poll-ms", optarg, 10, 60000, &c->poll_ms))
				return FWD_EXIT_USAGE;
			break;
		case OPT_WITNESS_MS:
			if (num("--witness-ms", optarg, 0, 3600000, &c->witness_ms))
				return FWD_EXIT_USAGE;
			break;
		case OPT_RESEND_AFTER:
			if (num("--resend-after-ms", optarg, 100, 3600000, &c->resend_after_ms))
				return FWD_EXIT_USAGE;
			break;
		case OPT_BATCH_RECORDS:
			if (num("--batch-records", optarg, 1, BFL_FWD_BATCH_MAX_RECS,
				&c->batch_records))
				return FWD_EXIT_USAGE;
			break;
		case OPT_BATCH_BYTES:
			/* The least: a record of BFL_RECORD_MAX bytes fits. */
			if (num("--batch-bytes", optarg, 8192, BFL_FWD_BATCH_MSG_MAX,
				&c->batch_bytes))
				return FWD_EXIT_USAGE;
			break;
		case OPT_SANDBOX_TEST:
			c->sandbox_test = true;
			break;
		case 'v':
			c->verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return FWD_EXIT_OK;
		case OPT_VERSION:
			puts(FWD_NAME " 1");
			return FWD_EXIT_OK;
		default:
			fputs("Try '" FWD_NAME " --help'.\n", stderr);
			return FWD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, FWD_NAME ": unexpected argument '%s'\n", argv[optind]);
		return FWD_EXIT_USAGE;
	}
	if (c->sandbox_test)
		return -1;
	if (!collector || !cname || !c->ca || !c->cert || !c->key) {
		fprintf(stderr, FWD_NAME ": --collector, --collector-name, --ca, --cert and --key are required\n");
		return FWD_EXIT_USAGE;
	}
	if (!valid_name(cname) || (wname && !valid_name(wname))) {
		fprintf(stderr, FWD_NAME ": a certificate name is printable ASCII without spaces\n");
		return FWD_EXIT_USAGE;
	}
	if (!witness != !wname) {
		fprintf(stderr, FWD_NAME ": --witness and --witness-name go together\n");
		return FWD_EXIT_USAGE;
	}
	if (c->witness_key && !witness) {
		fprintf(stderr, FWD_NAME ": --witness-key goes with --witness\n");
		return FWD_EXIT_USAGE;
	}
	if (fwd_resolve(&c->collector, collector, err, sizeof(err))) {
		fprintf(stderr, FWD_NAME ": --collector %s\n", err);
		return strstr(err, "not HOST:PORT") ? FWD_EXIT_USAGE : FWD_EXIT_FAIL;
	}
	snprintf(c->collector.name, sizeof(c->collector.name), "%s", cname);
	if (witness) {
		if (fwd_resolve(&c->witness, witness, err, sizeof(err))) {
			fprintf(stderr, FWD_NAME ": --witness %s\n", err);
			return strstr(err, "not HOST:PORT") ? FWD_EXIT_USAGE : FWD_EXIT_FAIL;
		}
		snprintf(c->witness.name, sizeof(c->witness.name), "%s", wname);
		c->have_witness = true;
	}
	return -1;
}
