// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The appliance's side of the rsyslog test (t_rsyslog.sh): forwarding
 * messages of a store, and librelp's client to send them.
 *
 *   relp_send lines STORE
 *       prints the MSG of every item of STORE (docs/forwarding.md,
 *       "Messages"), one a line, in the order a forwarder sends them
 *   relp_send big ORIGIN
 *       prints one message carrying the largest item (16 KiB)
 *   relp_send send HOST PORT CA CERT KEY PEER
 *       sends every stdin line as the MSG of one RFC 5424 message
 *       (facility 13, severity 6, APP-NAME bioflow-forward, no structured
 *       data) over RELP with TLS (OpenSSL), authenticating the server by
 *       name (PEER); exit 0 once every message is acknowledged
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <librelp.h>

#include "fwdmsg.h"
#include "../unit/lib/store_stream.h"

static char msg[BFL_FWD_MSG_MAX + 2];

static int print_item(void *arg, enum bfl_fwd_kind kind, u64 n, const u8 *b, size_t len)
{
	const char *origin = arg;
	long k = bfl_fwd_encode(msg, sizeof(msg), kind, origin, n, b, len);

	if (k < 0)
		return 1;
	printf("%s\n", msg);
	return 0;
}

static int lines(const char *store)
{
	char p[1024], origin[BFL_NAME_MAX + 1];
	FILE *f;

	snprintf(p, sizeof(p), "%s/log-info", store);
	f = fopen(p, "r");
	if (!f || !fgets(p, sizeof(p), f) || fscanf(f, "origin %255s", origin) != 1) {
		fprintf(stderr, "relp_send: %s: no log-info\n", store);
		return 1;
	}
	fclose(f);
	return store_stream(store, print_item, origin) ? 1 : 0;
}

static int big(const char *origin)
{
	static u8 item[BFL_FWD_ITEM_MAX];
	size_t i;

	for (i = 0; i < sizeof(item); i++)
		item[i] = (u8)(i * 7 + 3);
	return print_item((void *)origin, BFL_FWD_CP, 999999, item, sizeof(item));
}

static void dbg(char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* librelp's debug output, off. */
static void dbg(char *fmt, ...)
{
	(void)fmt;
}

static int send_all(char **a)
{
	static char line[BFL_FWD_MSG_MAX + 64], out[BFL_FWD_MSG_MAX + 256];
	relpEngine_t *eng = NULL;
	relpClt_t *clt = NULL;
	unsigned int sent = 0;
	int rc = 1;

	if (relpEngineConstruct(&eng) != RELP_RET_OK ||
	    relpEngineSetDbgprint(eng, dbg) != RELP_RET_OK ||
	    relpEngineSetEnableCmd(eng, (unsigned char *)"syslog", eRelpCmdState_Required) != RELP_RET_OK ||
	    relpEngineSetTLSLibByName(eng, "openssl") != RELP_RET_OK ||
	    relpEngineCltConstruct(eng, &clt) != RELP_RET_OK ||
	    relpCltSetTimeout(clt, 10) != RELP_RET_OK ||
	    relpCltEnableTLS(clt) != RELP_RET_OK ||
	    relpCltSetCACert(clt, a[2]) != RELP_RET_OK ||
	    relpCltSetOwnCert(clt, a[3]) != RELP_RET_OK ||
	    relpCltSetPrivKey(clt, a[4]) != RELP_RET_OK ||
	    relpCltSetAuthMode(clt, (char *)"name") != RELP_RET_OK ||
	    relpCltAddPermittedPeer(clt, a[5]) != RELP_RET_OK) {
		fprintf(stderr, "relp_send: librelp setup failed\n");
		goto out;
	}
	if (relpCltConnect(clt, AF_INET, (unsigned char *)a[1], (unsigned char *)a[0]) !=
	    RELP_RET_OK) {
		fprintf(stderr, "relp_send: cannot connect to %s:%s\n", a[0], a[1]);
		goto out;
	}
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strcspn(line, "\n");
		int k;

		line[n] = 0;
		k = snprintf(out, sizeof(out),
			     "<110>1 2026-01-01T00:00:00.000000Z appliance bioflow-forward - - - %s",
			     line);
		if (relpCltSendSyslog(clt, (unsigned char *)out, (size_t)k) != RELP_RET_OK) {
			fprintf(stderr, "relp_send: message %u not sent\n", sent + 1);
			goto out;
		}
		sent++;
	}
	rc = 0;
out:
	/* Closing the session waits for the acknowledgements. */
	if (clt)
		relpEngineCltDestruct(eng, &clt);
	if (eng)
		relpEngineDestruct(&eng);
	if (!rc)
		fprintf(stderr, "relp_send: %u messages sent\n", sent);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "lines"))
		return lines(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "big"))
		return big(argv[2]);
	if (argc == 8 && !strcmp(argv[1], "send"))
		return send_all(argv + 2);
	fprintf(stderr,
		"usage: relp_send lines STORE | big ORIGIN | send HOST PORT CA CERT KEY PEER\n");
	return 2;
}
