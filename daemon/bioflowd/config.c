// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflowd command line (docs/bioflowd.md lists every option).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bioflowd.h"

static const char usage[] =
"Usage: bioflowd {--tpm TCTI | --root-key PEM} [OPTION]...\n"
"Keep the tamper-evident audit log of the bioreader readers.\n"
"\n"
"  -s, --store DIR           the log store (default " BFD_DEFAULT_STORE ");\n"
"                            created when empty or missing\n"
"  -n, --audit-node PATH     the audit node (default: found with libudev,\n"
"                            else " BFD_DEFAULT_NODE ")\n"
"      --audit-socket PATH   read records from a Unix SOCK_SEQPACKET socket\n"
"                            instead of a node (development and tests)\n"
"  -u, --user NAME           user the worker runs as (default " BFD_DEFAULT_USER ")\n"
"      --tpm TCTI            TPM root signer (provisioned with\n"
"                            bioflow-provision), e.g. device:/dev/tpmrm0\n"
"      --tpm-auth FILE       its authorization file (default\n"
"                            " BFL_TPM_AUTH_DEFAULT ")\n"
"      --root-key PEM        software root signer: its private key\n"
"      --root-counter FILE   its monotonic counter (default PEM.counter)\n"
"      --origin NAME         log origin for a new store\n"
"                            (default bioflow/<hostname>)\n"
"      --epoch-records N     rotate the epoch key after N records (1000000;\n"
"                            0: never)\n"
"      --epoch-seconds S     rotate the epoch key after S seconds (3600;\n"
"                            0: never)\n"
"      --commit-records N    group commit at N pending records (1024)\n"
"      --commit-latency-ms MS  group commit at most MS ms after the first\n"
"                            pending record (5)\n"
"      --segment-bytes N     start a new segment past N bytes (64 MiB)\n"
"      --forward-status FILE the forwarder's status file (e.g.\n"
"                            /var/lib/bioflow-forward/status): its lag\n"
"                            becomes a record in the log past a bound\n"
"                            (default: not watched)\n"
"      --forward-lag-records N  bound on records not yet cosigned (100000)\n"
"      --forward-lag-seconds S  bound on seconds behind (300)\n"
"      --forward-silent-seconds S  no fresh status for S s: the forwarder\n"
"                            is silent (30)\n"
"      --forward-check-ms MS read the status every MS ms (1000)\n"
"  -v, --verbose             log every commit\n"
"  -h, --help                this text\n"
"      --version             print the version\n"
"\n"
"Exit status: 0 stopped by SIGTERM or SIGINT, 1 cannot start, 2 usage,\n"
"3 the worker sandbox could not be installed, 4 the store is damaged or\n"
"belongs to another root key.\n";

enum {
	OPT_SOCKET = 256, OPT_ROOT_KEY, OPT_ROOT_COUNTER, OPT_ORIGIN,
	OPT_EPOCH_RECORDS, OPT_EPOCH_SECONDS, OPT_COMMIT_RECORDS,
	OPT_COMMIT_LATENCY, OPT_SEGMENT, OPT_VERSION, OPT_WORKER, OPT_TPM,
	OPT_TPM_AUTH, OPT_FWD_STATUS, OPT_FWD_RECORDS, OPT_FWD_SECONDS,
	OPT_FWD_SILENT, OPT_FWD_CHECK,
};

static const struct option opts[] = {
	{ "store", required_argument, NULL, 's' },
	{ "audit-node", required_argument, NULL, 'n' },
	{ "audit-socket", required_argument, NULL, OPT_SOCKET },
	{ "user", required_argument, NULL, 'u' },
	{ "tpm", required_argument, NULL, OPT_TPM },
	{ "tpm-auth", required_argument, NULL, OPT_TPM_AUTH },
	{ "root-key", required_argument, NULL, OPT_ROOT_KEY },
	{ "root-counter", required_argument, NULL, OPT_ROOT_COUNTER },
	{ "origin", required_argument, NULL, OPT_ORIGIN },
	{ "epoch-records", required_argument, NULL, OPT_EPOCH_RECORDS },
	{ "epoch-seconds", required_argument, NULL, OPT_EPOCH_SECONDS },
	{ "commit-records", required_argument, NULL, OPT_COMMIT_RECORDS },
	{ "commit-latency-ms", required_argument, NULL, OPT_COMMIT_LATENCY },
	{ "segment-bytes", required_argument, NULL, OPT_SEGMENT },
	{ "forward-status", required_argument, NULL, OPT_FWD_STATUS },
	{ "forward-lag-records", required_argument, NULL, OPT_FWD_RECORDS },
	{ "forward-lag-seconds", required_argument, NULL, OPT_FWD_SECONDS },
	{ "forward-silent-seconds", required_argument, NULL, OPT_FWD_SILENT },
	{ "forward-check-ms", required_argument, NULL, OPT_FWD_CHECK },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "worker", no_argument, NULL, OPT_WORKER },
	{ NULL, 0, NULL, 0 },
};

static int num(const char *opt, const char *s, uint64_t min, uint64_t max,
	       uint64_t *out)
{
	u64 v;

	if (bfl_parse_u64(s, strlen(s), &v) || v < min || v > max) {
		fprintf(stderr, "bioflowd: %s wants a number from %llu to %llu\n",
			opt, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

#ifdef BIOFLOWD_TEST_HOOKS
/* BIOFLOWD_TEST_FAULT: "syscall:N", "uring-setup", "uring-register",
 * "uring-op", "proto-inc", "proto-certify-twice", "proto-unknown",
 * "proto-flood".  Only the first worker gets it. */
static int test_fault(struct bfd_config *c)
{
	const char *f = getenv("BIOFLOWD_TEST_FAULT");

	if (!f || !*f)
		return 0;
	if (!strncmp(f, "syscall:", 8)) {
		c->fault = BFD_FAULT_SYSCALL;
		return num("BIOFLOWD_TEST_FAULT", f + 8, 0, UINT64_MAX, &c->fault_after);
	}
	if (!strcmp(f, "uring-setup"))
		c->fault = BFD_FAULT_URING_SETUP;
	else if (!strcmp(f, "uring-register"))
		c->fault = BFD_FAULT_URING_REGISTER;
	else if (!strcmp(f, "uring-op"))
		c->fault = BFD_FAULT_URING_OP;
	else if (!strcmp(f, "proto-inc"))
		c->fault = BFD_FAULT_PROTO_INC;
	else if (!strcmp(f, "proto-certify-twice"))
		c->fault = BFD_FAULT_PROTO_CERTIFY2;
	else if (!strcmp(f, "proto-unknown"))
		c->fault = BFD_FAULT_PROTO_UNKNOWN;
	else if (!strcmp(f, "proto-flood"))
		c->fault = BFD_FAULT_PROTO_FLOOD;
	else
		return -1;
	return 0;
}
#endif

int bfd_parse_args(int argc, char **argv, struct bfd_config *c)
{
	struct bfl_err e;
	uint64_t ms;
	int o;

	memset(c, 0, sizeof(*c));
	c->store = BFD_DEFAULT_STORE;
	c->user = BFD_DEFAULT_USER;
	c->epoch_records = 1000000;
	c->epoch_seconds = 3600;
	c->commit_records = 1024;
	c->commit_latency_us = 5000;
	c->segment_bytes = 64ULL << 20;
	c->fwd_lag_records = 100000;
	c->fwd_lag_seconds = 300;
	c->fwd_silent_seconds = 30;
	c->fwd_check_ms = 1000;

	if (argc == 2 && !strcmp(argv[1], "--worker")) {
		c->worker = true;
		return -1;
	}
	while ((o = getopt_long(argc, argv, "s:n:u:vh", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			c->store = optarg;
			break;
		case 'n':
			c->node = optarg;
			break;
		case OPT_SOCKET:
			c->socket = optarg;
			break;
		case 'u':
			c->user = optarg;
			break;
		case OPT_TPM:
			if (!*optarg) {
				fprintf(stderr, "bioflowd: --tpm wants a TCTI, e.g. %s\n",
					BFL_TPM_TCTI_DEFAULT);
				return BFD_EXIT_USAGE;
			}
			c->tpm = optarg;
			break;
		case OPT_TPM_AUTH:
			c->tpm_auth = optarg;
			break;
		case OPT_ROOT_KEY:
			c->root_key = optarg;
			break;
		case OPT_ROOT_COUNTER:
			c->root_counter = optarg;
			break;
		case OPT_ORIGIN:
			if (bfl_check_origin(optarg, &e)) {
				fprintf(stderr, "bioflowd: --origin \"%s\": %s\n", optarg, e.msg);
				return BFD_EXIT_USAGE;
			}
			c->origin = optarg;
			break;
		case OPT_EPOCH_RECORDS:
			if (num("--epoch-records", optarg, 0, UINT64_MAX, &c->epoch_records))
				return BFD_EXIT_USAGE;
			break;
		case OPT_EPOCH_SECONDS:
			if (num("--epoch-seconds", optarg, 0, 100ULL * 365 * 86400,
				&c->epoch_seconds))
				return BFD_EXIT_USAGE;
			break;
		case OPT_COMMIT_RECORDS:
			if (num("--commit-records", optarg, 1, 1000000, &c->commit_records))
				return BFD_EXIT_USAGE;
			break;
		case OPT_COMMIT_LATENCY:
			if (num("--commit-latency-ms", optarg, 0, 10000, &ms))
				return BFD_EXIT_USAGE;
			c->commit_latency_us = ms * 1000;
			break;
		case OPT_SEGMENT:
			if (num("--segment-bytes", optarg, 4096, 1ULL << 40, &c->segment_bytes))
				return BFD_EXIT_USAGE;
			break;
		case OPT_FWD_STATUS:
			if (*optarg != '/') {
				fprintf(stderr, "bioflowd: --forward-status wants an absolute path\n");
				return BFD_EXIT_USAGE;
			}
			c->fwd_status = optarg;
			break;
		case OPT_FWD_RECORDS:
			if (num("--forward-lag-records", optarg, 1, UINT32_MAX,
				&c->fwd_lag_records))
				return BFD_EXIT_USAGE;
			break;
		case OPT_FWD_SECONDS:
			if (num("--forward-lag-seconds", optarg, 1, 30ULL * 86400,
				&c->fwd_lag_seconds))
				return BFD_EXIT_USAGE;
			break;
		case OPT_FWD_SILENT:
			if (num("--forward-silent-seconds", optarg, 1, 30ULL * 86400,
				&c->fwd_silent_seconds))
				return BFD_EXIT_USAGE;
			break;
		case OPT_FWD_CHECK:
			if (num("--forward-check-ms", optarg, 100, 60000, &c->fwd_check_ms))
				return BFD_EXIT_USAGE;
			break;
		case 'v':
			c->verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			return BFD_EXIT_OK;
		case OPT_VERSION:
			puts("bioflowd 1");
			return BFD_EXIT_OK;
		case OPT_WORKER:
			fprintf(stderr, "bioflowd: --worker is internal\n");
			return BFD_EXIT_USAGE;
		default:
			fputs("Try 'bioflowd --help'.\n", stderr);
			return BFD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bioflowd: unexpected argument '%s'\n", argv[optind]);
		return BFD_EXIT_USAGE;
	}
	if (c->node && c->socket) {
		fprintf(stderr, "bioflowd: --audit-node and --audit-socket exclude each other\n");
		return BFD_EXIT_USAGE;
	}
	if (!c->root_key == !c->tpm) {
		fprintf(stderr, "bioflowd: give exactly one root signer: --tpm TCTI or --root-key PEM\n");
		return BFD_EXIT_USAGE;
	}
	if (c->tpm_auth && !c->tpm) {
		fprintf(stderr, "bioflowd: --tpm-auth goes with --tpm\n");
		return BFD_EXIT_USAGE;
	}
	if (c->tpm && !c->tpm_auth)
		c->tpm_auth = BFL_TPM_AUTH_DEFAULT;
	if (c->root_counter && !c->root_key) {
		fprintf(stderr, "bioflowd: --root-counter goes with --root-key (the TPM keeps its own counter)\n");
		return BFD_EXIT_USAGE;
	}
#ifdef BIOFLOWD_TEST_HOOKS
	if (test_fault(c)) {
		fprintf(stderr, "bioflowd: BIOFLOWD_TEST_FAULT not understood\n");
		return BFD_EXIT_USAGE;
	}
#endif
	return -1;
}
