// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RELP client: librelp with TLS through OpenSSL, mutual
 * certificates, the collector's name pinned (auth mode "name", the name
 * the only permitted peer).  One syslog message (RFC 5424, facility 13
 * log audit, severity 6 informational, no structured data; MSG the
 * fwdmsg.h text) carries one item, or a batch of consecutive records:
 * the collector's rsyslog costs about the same per message whatever its
 * size, so records are packed up to --batch-records / --batch-bytes.
 * Any error closes the session and drops the batch being built: the
 * caller starts again from the witnessed position.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include <librelp.h>

#include "fwd.h"

#define FWD_PRI		(13 * 8 + 6)	/* log audit, informational */
#define MSG_MAX		(BFL_FWD_BATCH_MSG_MAX > BFL_FWD_MSG_MAX ? BFL_FWD_BATCH_MSG_MAX : \
			 BFL_FWD_MSG_MAX)
/* The RFC 5424 header: at most 330 bytes (a host name of 255). */
#define FRAME_MAX	(MSG_MAX + 512)
#define RELP_TIMEOUT_S	10	/* TCP connect, each wait for an answer, the handshake */

struct fwd_relp {
	const struct fwd_config *c;
	relpEngine_t *eng;
	relpClt_t *clt;
	bool connected;
	char host[256];		/* our HOSTNAME field */
	int pid;		/* PROCID */
	char lasterr[512];	/* what librelp said last */
	bool lasterr_auth;	/* lasterr is why the collector was not authenticated */
	char *msg, *frame;
	/* Records waiting to go out in one message; empty between calls of
	 * the main loop (fwd_relp_flush), and after any error. */
	bool batching;		/* --batch-records > 1 */
	struct bfl_fwd_batch batch;
	u64 messages, records;	/* sent, for the status */
};

/* librelp's error callbacks: keep the message for the caller's error. */
static struct fwd_relp *cb_owner;

static void keep_err(const char *what, const char *info, const char *msg,
		     relpRetVal code, bool auth)
{
	char *p;

	if (!cb_owner)
		return;
	/* librelp follows the reason a certificate was refused ("certificate
	 * has expired") with "error opening connection to remote peer": keep
	 * the reason, which is what the operator needs (it was lost, and an
	 * expired certificate read as one that does not verify with --ca). */
	if (!auth && cb_owner->lasterr_auth)
		return;
	snprintf(cb_owner->lasterr, sizeof(cb_owner->lasterr), "%s%s%s%s (librelp %d)",
		 what, info && *info ? info : "", info && *info ? ": " : "",
		 msg ? msg : "", (int)code);
	cb_owner->lasterr_auth = auth;
	/* One line: it goes to the status file and the log (librelp's
	 * OpenSSL messages hold newlines and tabs). */
	for (p = cb_owner->lasterr; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	fwd_debug("librelp: %s", cb_owner->lasterr);
}

static void on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	(void)usr;
	keep_err("", objinfo, errmsg, code, false);
}

static void on_auth_err(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
	(void)usr;
	keep_err("the collector was not authenticated: ", authinfo, errmsg, code, true);
}

static void on_generic_err(char *objinfo, char *errmsg, relpRetVal code)
{
	keep_err("", objinfo, errmsg, code, false);
}

/* librelp calls its debug printer unconditionally: a silent one. */
static void dbg_none(char *fmt, ...)
{
	(void)fmt;
}

static bool host_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 255)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/*
 * librelp makes the TLS handshake on a blocking socket with no timeout of
 * its own (its connection timeout bounds the TCP connect only): a peer
 * that accepts the connection and never answers -- a stalled middlebox,
 * a collector's listen queue that is not being served -- would hold the
 * forwarder in recv() for ever, its status no longer written, SIGTERM
 * not acted on.  A one-shot SIGALRM, whose handler does not restart the
 * call, interrupts that read; librelp then goes on without blocking and
 * gives up within its own session timeout.
 */
static volatile sig_atomic_t handshake_timed_out;

static void on_handshake_alarm(int sig)
{
	(void)sig;
	handshake_timed_out = 1;
}

struct fwd_relp *fwd_relp_new(const struct fwd_config *c, const char *origin,
			      char *err, size_t errcap)
{
	struct fwd_relp *r = calloc(1, sizeof(*r));
	struct sigaction sa;
	relpRetVal k;

	if (!r || !(r->msg = malloc(MSG_MAX + 1)) || !(r->frame = malloc(FRAME_MAX))) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	r->batching = c->batch_records > 1;
	if (r->batching &&
	    bfl_fwd_batch_init(&r->batch, origin, c->batch_records, c->batch_bytes)) {
		snprintf(err, errcap, "cannot batch %u records, %u bytes a message",
			 c->batch_records, c->batch_bytes);
		goto fail;
	}
	r->c = c;
	r->pid = (int)getpid();
	/* Before the sandbox, which has no rt_sigaction. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_handshake_alarm;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	if (gethostname(r->host, sizeof(r->host) - 1) || !host_ok(r->host))
		snprintf(r->host, sizeof(r->host), "-");
	k = relpEngineConstruct(&r->eng);
	if (k == RELP_RET_OK)
		k = relpEngineSetDbgprint(r->eng, dbg_none);
	if (k == RELP_RET_OK)
		k = relpEngineSetDnsLookupMode(r->eng, 0);
	if (k == RELP_RET_OK)
		k = relpEngineSetEnableCmd(r->eng, (unsigned char *)"syslog",
					   eRelpCmdState_Required);
	if (k == RELP_RET_OK)
		k = relpEngineSetOnErr(r->eng, on_err);
	if (k == RELP_RET_OK)
		k = relpEngineSetOnAuthErr(r->eng, on_auth_err);
	if (k == RELP_RET_OK)
		k = relpEngineSetOnGenericErr(r->eng, on_generic_err);
	if (k != RELP_RET_OK) {
		snprintf(err, errcap, "librelp: engine setup failed (%d)", (int)k);
		goto fail;
	}
	k = relpEngineSetTLSLibByName(r->eng, "openssl");
	if (k != RELP_RET_OK) {
		snprintf(err, errcap, "librelp: no OpenSSL TLS driver (%d)", (int)k);
		goto fail;
	}
	cb_owner = r;
	return r;
fail:
	fwd_relp_free(r);
	return NULL;
}

void fwd_relp_close(struct fwd_relp *r)
{
	/* What was not sent is sent again from the witnessed position. */
	bfl_fwd_batch_reset(&r->batch);
	if (r->clt)
		relpEngineCltDestruct(r->eng, &r->clt);
	r->clt = NULL;
	r->connected = false;
}

void fwd_relp_free(struct fwd_relp *r)
{
	if (!r)
		return;
	fwd_relp_close(r);
	if (r->eng)
		relpEngineDestruct(&r->eng);
	if (cb_owner == r)
		cb_owner = NULL;
	bfl_fwd_batch_free(&r->batch);
	free(r->msg);
	free(r->frame);
	free(r);
}

void fwd_relp_counts(const struct fwd_relp *r, u64 *messages, u64 *records)
{
	*messages = r->messages;
	*records = r->records;
}

bool fwd_relp_connected(const struct fwd_relp *r)
{
	return r->connected;
}

/* What a librelp status means for the operator. */
static const char *explain(relpRetVal k, bool connecting)
{
	if (connecting && (k == RELP_RET_SESSION_CLOSED || k == RELP_RET_SESSION_BROKEN))
		return "the collector ended the session it had just accepted "
		       "(does it permit this appliance's certificate?)";
	/* librelp says the same when nothing listens and when the
	 * collector drops the connection in the TLS handshake. */
	if (connecting && k == RELP_RET_IO_ERR)
		return "no session: the collector is down or unreachable, or it ended the TLS "
		       "handshake (does it permit this appliance's certificate?)";
	switch (k) {
	case RELP_RET_AUTH_ERR_NAME:
		return "the collector's certificate does not carry the name given with --collector-name";
	case RELP_RET_AUTH_CERT_INVL:
		return "the collector's certificate does not verify with the --ca certificates";
	case RELP_RET_AUTH_NO_CERT:
		return "the collector presented no certificate";
	case RELP_RET_ERR_TLS_HANDS:
	case RELP_RET_ERR_TLS:
		return "the TLS handshake failed (does the collector permit this appliance's certificate?)";
	case RELP_RET_ERR_TLS_SETUP:
		return "TLS setup failed (--ca, --cert and --key readable, the key the certificate's?)";
	case RELP_RET_SESSION_CLOSED:
		return "the collector closed the session";
	case RELP_RET_SESSION_BROKEN:
	case RELP_RET_IO_ERR:
		return "the connection broke";
	case RELP_RET_TIMED_OUT:
		return "the collector did not answer in time";
	case RELP_RET_RSP_STATE_ERR:
		return "the collector refused the message";
	default:
		return NULL;
	}
}

static void set_err(struct fwd_relp *r, char *err, size_t errcap, const char *what,
		    relpRetVal k)
{
	const char *why = explain(k, !r->connected);

	if (why && r->lasterr[0])
		snprintf(err, errcap, "%s: %s; %s", what, why, r->lasterr);
	else if (why)
		snprintf(err, errcap, "%s: %s (librelp %d)", what, why, (int)k);
	else if (r->lasterr[0])
		snprintf(err, errcap, "%s: %s", what, r->lasterr);
	else
		snprintf(err, errcap, "%s: librelp error %d", what, (int)k);
}

static relpRetVal connect_bounded(struct fwd_relp *r)
{
	const struct fwd_config *c = r->c;
	struct itimerval arm = { .it_value = { .tv_sec = RELP_TIMEOUT_S } };
	struct itimerval disarm;
	relpRetVal k;

	memset(&disarm, 0, sizeof(disarm));
	handshake_timed_out = 0;
	setitimer(ITIMER_REAL, &arm, NULL);
	k = relpCltConnect(r->clt, c->collector.family, (unsigned char *)c->collector.port,
			   (unsigned char *)c->collector.addr);
	setitimer(ITIMER_REAL, &disarm, NULL);
	return k;
}

int fwd_relp_connect(struct fwd_relp *r, char *err, size_t errcap)
{
	const struct fwd_config *c = r->c;
	relpRetVal k;

	fwd_relp_close(r);
	r->lasterr[0] = 0;
	r->lasterr_auth = false;
	k = relpEngineCltConstruct(r->eng, &r->clt);
	if (k == RELP_RET_OK)
		k = relpCltSetTimeout(r->clt, RELP_TIMEOUT_S);
	if (k == RELP_RET_OK)
		k = relpCltSetConnTimeout(r->clt, RELP_TIMEOUT_S);
	if (k == RELP_RET_OK)
		k = relpCltEnableTLS(r->clt);
	if (k == RELP_RET_OK)
		k = relpCltSetAuthMode(r->clt, (char *)"name");
	if (k == RELP_RET_OK)
		k = relpCltAddPermittedPeer(r->clt, (char *)c->collector.name);
	if (k == RELP_RET_OK)
		k = relpCltSetCACert(r->clt, (char *)c->ca);
	if (k == RELP_RET_OK)
		k = relpCltSetOwnCert(r->clt, (char *)c->cert);
	if (k == RELP_RET_OK)
		k = relpCltSetPrivKey(r->clt, (char *)c->key);
	if (k != RELP_RET_OK) {
		set_err(r, err, errcap, "RELP client setup", k);
		fwd_relp_close(r);
		return -1;
	}
	k = connect_bounded(r);
	if (k != RELP_RET_OK) {
		char what[800];

		snprintf(what, sizeof(what), "connecting to the collector %s:%s (%s)",
			 c->collector.host, c->collector.port, c->collector.name);
		if (handshake_timed_out)
			snprintf(err, errcap, "%s: no TLS handshake within %d s (the peer accepted "
				 "the connection and did not answer)", what, RELP_TIMEOUT_S);
		else
			set_err(r, err, errcap, what, k);
		fwd_relp_close(r);
		return -1;
	}
	r->connected = true;
	return 0;
}

long fwd_syslog_frame(char *out, size_t cap, const char *host, int pid,
		      const char *msg, size_t len)
{
	struct timespec ts;
	struct tm tm;
	int h;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	h = snprintf(out, cap, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s " FWD_NAME " %d - - ",
		     FWD_PRI, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, host, pid);
	if (h < 0 || (size_t)h + len > cap)
		return -1;
	memcpy(out + h, msg, len);
	return h + (long)len;
}

/* One message (@m bytes in r->msg) in its envelope, to the collector. */
static int send_msg(struct fwd_relp *r, size_t m, unsigned int records, char *err,
		    size_t errcap)
{
	relpRetVal k;
	long f;

	f = fwd_syslog_frame(r->frame, FRAME_MAX, r->host, r->pid, r->msg, m);
	if (f < 0) {
		snprintf(err, errcap, "message too long");
		fwd_relp_close(r);
		return -1;
	}
	r->lasterr[0] = 0;
	r->lasterr_auth = false;
	k = relpCltSendSyslog(r->clt, (unsigned char *)r->frame, (size_t)f);
	if (k != RELP_RET_OK) {
		set_err(r, err, errcap, "sending to the collector", k);
		fwd_relp_close(r);
		return -1;
	}
	r->messages++;
	r->records += records;
	return 0;
}

int fwd_relp_flush(struct fwd_relp *r, char *err, size_t errcap)
{
	unsigned int n = r->batch.count;
	long m;

	if (!n)
		return 0;
	if (!r->connected) {
		fwd_relp_close(r);
		snprintf(err, errcap, "not connected");
		return -1;
	}
	m = bfl_fwd_batch_finish(&r->batch, r->msg, MSG_MAX + 1);
	if (m < 0) {
		snprintf(err, errcap, "a batch of %u records: cannot encode (%s)", n,
			 strerror((int)-m));
		fwd_relp_close(r);
		return -1;
	}
	return send_msg(r, (size_t)m, n, err, errcap);
}

int fwd_relp_send(struct fwd_relp *r, const char *origin,
		  const struct bfl_rd_item *it, char *err, size_t errcap)
{
	long m;
	int k;

	if (!r->connected) {
		snprintf(err, errcap, "not connected");
		return -1;
	}
	if (r->batching && it->kind == BFL_FWD_REC) {
		k = bfl_fwd_batch_add(&r->batch, it->n, it->data, it->len);
		if (k == -EXDEV || k == -ENOSPC) {
			if (fwd_relp_flush(r, err, errcap))
				return -1;
			k = bfl_fwd_batch_add(&r->batch, it->n, it->data, it->len);
		}
		if (!k)
			return 0;
		/* Too big for any batch of --batch-bytes: alone, below. */
	}
	/* Everything in store order: the records before this item first. */
	if (fwd_relp_flush(r, err, errcap))
		return -1;
	m = bfl_fwd_encode(r->msg, MSG_MAX + 1, it->kind, origin, it->n, it->data, it->len);
	if (m < 0) {
		snprintf(err, errcap, "%s %llu: cannot encode (%s)", bfl_fwd_kind_name(it->kind),
			 (unsigned long long)it->n, strerror((int)-m));
		return -1;
	}
	return send_msg(r, (size_t)m, it->kind == BFL_FWD_REC, err, errcap);
}
