// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The appliance's side of the rsyslog test (t_rsyslog.sh): forwarding
 * messages of a store, and librelp's client to send them.
 *
 *   relp_send lines STORE [BATCH]
 *       prints the MSG of every item of STORE (docs/forwarding.md,
 *       "Messages"), one a line, in the order a forwarder sends them;
 *       with BATCH > 1, consecutive records in batches of up to BATCH
 *       (and BFL_FWD_BATCH_MSG_MAX bytes), as bioflow-forward packs them
 *   relp_send big ORIGIN
 *       prints one message carrying the largest item (16 KiB)
 *   relp_send bigbatch ORIGIN
 *       prints one batch of records of exactly BFL_FWD_BATCH_MSG_MAX
 *       bytes, the largest message a collector decodes
 *   relp_send send HOST PORT CA CERT KEY PEER
 *       sends every stdin line as the MSG of one RFC 5424 message
 *       (facility 13, severity 6, APP-NAME bioflow-forward, no structured
 *       data) over RELP with TLS (OpenSSL), authenticating the server by
 *       name (PEER); exit 0 once every message is acknowledged
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <librelp.h>

#include "fwdmsg.h"
#include "../unit/lib/store_stream.h"

static char msg[BFL_FWD_BATCH_MSG_MAX + 2];
static struct bfl_fwd_batch batch;
static bool batching;

static int flush_batch(void)
{
	long k;

	if (!batch.count)
		return 0;
	k = bfl_fwd_batch_finish(&batch, msg, sizeof(msg));
	if (k < 0)
		return 1;
	printf("%s\n", msg);
	return 0;
}

static int print_item(void *arg, enum bfl_fwd_kind kind, u64 n, const u8 *b, size_t len)
{
	const char *origin = arg;
	long k;

	if (batching && kind == BFL_FWD_REC) {
		k = bfl_fwd_batch_add(&batch, n, b, len);
		if (k == -EXDEV || k == -ENOSPC)
			k = flush_batch() ? -1 : bfl_fwd_batch_add(&batch, n, b, len);
		return k ? 1 : 0;
	}
	if (flush_batch())
		return 1;
	k = bfl_fwd_encode(msg, sizeof(msg), kind, origin, n, b, len);
	if (k < 0)
		return 1;
	printf("%s\n", msg);
	return 0;
}

static int lines(const char *store, unsigned int per)
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
	batching = per > 1;
	if (batching && bfl_fwd_batch_init(&batch, origin, per, BFL_FWD_BATCH_MSG_MAX)) {
		fprintf(stderr, "relp_send: a batch of %u records?\n", per);
		return 1;
	}
	return store_stream(store, print_item, origin) || flush_batch() ? 1 : 0;
}

/* Records of 3000 bytes, the last as big as fits; the first index's
 * digits move the header until the message is the limit to the byte. */
static int bigbatch(const char *origin)
{
	static u8 rec[3000];
	u64 first;
	size_t i, l;
	long k = -1;

	for (i = 0; i < sizeof(rec); i++)
		rec[i] = (u8)(i * 11 + 5);
	for (first = 1; first <= 1000 && k != BFL_FWD_BATCH_MSG_MAX; first *= 10) {
		if (bfl_fwd_batch_init(&batch, origin, BFL_FWD_BATCH_MAX_RECS,
				       BFL_FWD_BATCH_MSG_MAX))
			return 1;
		for (i = 0; !bfl_fwd_batch_add(&batch, first + i, rec, sizeof(rec)); i++)
			;
		for (l = sizeof(rec) - 1; l && bfl_fwd_batch_add(&batch, first + i, rec, l); l--)
			;
		k = bfl_fwd_batch_finish(&batch, msg, sizeof(msg));
		bfl_fwd_batch_free(&batch);
	}
	if (k != BFL_FWD_BATCH_MSG_MAX)
		return 1;
	printf("%s\n", msg);
	return 0;
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
	static char line[BFL_FWD_BATCH_MSG_MAX + 64], out[BFL_FWD_BATCH_MSG_MAX + 256];
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
		return lines(argv[2], 1);
	if (argc == 4 && !strcmp(argv[1], "lines"))
		return lines(argv[2], (unsigned int)strtoul(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "big"))
		return big(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "bigbatch"))
		return bigbatch(argv[2]);
	if (argc == 8 && !strcmp(argv[1], "send"))
		return send_all(argv + 2);
	fprintf(stderr,
		"usage: relp_send lines STORE [BATCH] | big ORIGIN | bigbatch ORIGIN | send HOST PORT CA CERT KEY PEER\n");
	return 2;
}
