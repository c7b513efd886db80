/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bioflow-forward: the appliance's forwarder (docs/forwarding.md).
 *
 *   main.c     entry, logging, the loop: follow the store, send, witness
 *   config.c   command-line options
 *   relp.c     the RELP client (librelp, TLS through OpenSSL, the
 *              collector's name pinned), the RFC 5424 envelope
 *   https.c    a minimal HTTPS/1.1 client (OpenSSL): one POST per
 *              connection, strict limits on what comes back
 *   witness.c  C2SP tlog-witness add-checkpoint: the request body, the
 *              answer, tlog-cosignature lines (checked with the
 *              witness's key when one is given)
 *   state.c    STATE/position, STATE/cosigs/, STATE/status
 *   sandbox.c  the drop to the unprivileged user, the seccomp allowlist
 */
#ifndef BIOFLOW_FORWARD_H
#define BIOFLOW_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "bflog.h"
#include "fwdmsg.h"
#include "reader.h"

#define FWD_NAME		"bioflow-forward"
#define FWD_DEFAULT_STORE	"/var/lib/bioflow"
#define FWD_DEFAULT_STATE	"/var/lib/bioflow-forward"
#define FWD_DEFAULT_USER	"bioflow-forward"
/* Defaults: sealed -> cosigned within 250 ms (p99) at 1,000 records/s
 * (docs/benchmarks.md, "Fleet forwarding"). */
#define FWD_DEFAULT_POLL_MS	50
#define FWD_DEFAULT_WITNESS_MS	100
/* A batch: as many records as fit 60 KiB (BFL_FWD_BATCH_MSG_MAX). */
#define FWD_DEFAULT_BATCH_RECORDS	1024
#define FWD_DEFAULT_BATCH_BYTES		61440
/* 503 for this long with the witnessed position still: the collector
 * lost what RELP acknowledged, resend (docs/forwarding.md, "Resending
 * after a long 503"; the normal 503 period is measured there).  Each
 * resend without progress doubles the wait, up to FWD_RESEND_MAX_S. */
#define FWD_DEFAULT_RESEND_AFTER_MS	30000
#define FWD_RESEND_MAX_S		300.0
#define FWD_XSTR(x)	#x
#define FWD_STR(x)	FWD_XSTR(x)

enum {
	FWD_EXIT_OK = 0,	/* stopped by SIGTERM/SIGINT */
	FWD_EXIT_FAIL = 1,	/* cannot start */
	FWD_EXIT_USAGE = 2,
	FWD_EXIT_SANDBOX = 3,	/* the sandbox could not be installed */
};

/* A HOST:PORT resolved once at start, before the sandbox. */
struct fwd_peer {
	char host[256];		/* as given */
	char addr[64];		/* numeric address */
	char port[8];
	int family;		/* AF_INET, AF_INET6 */
	char name[256];		/* the name its certificate must carry */
};

struct fwd_config {
	const char *store;
	const char *state;
	const char *user;	/* NULL: stay who we are (not root) */
	const char *ca, *cert, *key;
	struct fwd_peer collector;
	bool have_witness;
	struct fwd_peer witness;
	const char *witness_key;	/* a vkey file, or NULL */
	unsigned int poll_ms;
	unsigned int witness_ms;	/* at most one add-checkpoint per */
	unsigned int resend_after_ms;	/* 503s this long: resend */
	unsigned int batch_records;	/* records a message at most; 1: none */
	unsigned int batch_bytes;	/* a batch message's MSG at most */
	int verbose;
	bool sandbox_test;
};

int fwd_parse_args(int argc, char **argv, struct fwd_config *c);
int fwd_resolve(struct fwd_peer *p, const char *hostport, char *err,
		size_t errcap);

/* main.c: "bioflow-forward: ..." on stderr, one write per line. */
void fwd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fwd_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int fwd_verbose;

/* ------------------------------------------------------------ relp.c */

struct fwd_relp;

/* The engine (OpenSSL), batches for @origin; NULL with err set. */
struct fwd_relp *fwd_relp_new(const struct fwd_config *c, const char *origin,
			      char *err, size_t errcap);
void fwd_relp_free(struct fwd_relp *r);
/* Connects (TLS, the collector's name); 0 or -1 with err set. */
int fwd_relp_connect(struct fwd_relp *r, char *err, size_t errcap);
bool fwd_relp_connected(const struct fwd_relp *r);
/* Closes the session (waits for the collector's answers, briefly). */
void fwd_relp_close(struct fwd_relp *r);
/* Sends one item: a record joins the batch being built (which goes out
 * when full, or when the next record does not follow it), anything else
 * goes out alone after the batch.  0 or -1 with err set (the session is
 * then closed, the batch dropped). */
int fwd_relp_send(struct fwd_relp *r, const char *origin,
		  const struct bfl_rd_item *it, char *err, size_t errcap);
/* Sends the batch being built, if any; 0 or -1 as fwd_relp_send. */
int fwd_relp_flush(struct fwd_relp *r, char *err, size_t errcap);
/* Messages and records sent since the start. */
void fwd_relp_counts(const struct fwd_relp *r, u64 *messages, u64 *records);
/* The RFC 5424 message for MSG (fwdmsg text): "<110>1 TS HOST
 * bioflow-forward PID - - MSG"; returns its length or -1. */
long fwd_syslog_frame(char *out, size_t cap, const char *host, int pid,
		      const char *msg, size_t len);

/* ----------------------------------------------------------- https.c */

#define FWD_HTTP_BODY_MAX	(64 * 1024)
#define FWD_HTTP_HEAD_MAX	8192

struct fwd_https;

struct fwd_https *fwd_https_new(const struct fwd_config *c,
				const struct fwd_peer *peer, char *err,
				size_t errcap);
void fwd_https_free(struct fwd_https *h);

struct fwd_http_resp {
	int status;
	char ctype[128];
	char body[FWD_HTTP_BODY_MAX + 1];	/* NUL after len bytes */
	size_t len;
};

/* One POST over a new connection; 0, or -1 with err set (no answer). */
int fwd_https_post(struct fwd_https *h, const char *path, const char *ctype,
		   const void *body, size_t len, struct fwd_http_resp *resp,
		   char *err, size_t errcap);
/* The same in two steps, the answer read without blocking: start sends
 * the request (0, or -1 with err set); poll reads what has come: 1 more
 * to come (wait for fwd_https_fd to be readable), 0 the answer is in
 * resp, -1 with err set (no answer within 10 s, or a bad one).  One
 * request in flight at a time; a new start or abort drops it. */
int fwd_https_start(struct fwd_https *h, const char *path, const char *ctype,
		    const void *body, size_t len, char *err, size_t errcap);
int fwd_https_poll(struct fwd_https *h, struct fwd_http_resp *resp, char *err,
		   size_t errcap);
int fwd_https_fd(const struct fwd_https *h);	/* -1: none in flight */
void fwd_https_abort(struct fwd_https *h);
/* Parses a response held in buf (status line, headers, body of exactly
 * Content-Length bytes); 0, 1 when more bytes are needed, -1 with err. */
int fwd_http_parse(const char *buf, size_t len, struct fwd_http_resp *resp,
		   char *err, size_t errcap);

/* --------------------------------------------------------- witness.c */

#define FWD_PROOF_LINES_MAX	63

/* The add-checkpoint body: "old N\n", proof lines, "\n", the note. */
char *fwd_witness_body(u64 old, const bfl_hash *proof, unsigned int n,
		       const char *note, size_t note_len, size_t *len);

enum fwd_witness_verdict {
	FWD_W_COSIGNED,		/* 200: cosignature lines */
	FWD_W_CONFLICT,		/* 409: the witness holds another size */
	FWD_W_NOT_YET,		/* 503: the collector has not ingested it */
	FWD_W_REFUSED,		/* other: logged, retried later */
};

struct fwd_witness_key;

/* A signed-note verifier key "name+hex key ID+base64(0x04 || key)". */
struct fwd_witness_key *fwd_witness_key_load(const char *path, char *err,
					     size_t errcap);
void fwd_witness_key_free(struct fwd_witness_key *k);

/* Reads a witness's answer to the checkpoint @note: the verdict, the
 * witness's size for a 409, the cosignature lines for a 200 (checked:
 * each a signed-note signature line; with @key, at least one a valid
 * Ed25519 tlog-cosignature by it, and lines by other keys dropped).
 * err says what was wrong for FWD_W_REFUSED. */
enum fwd_witness_verdict fwd_witness_answer(const struct fwd_http_resp *resp,
					    const char *note, size_t note_len,
					    const struct fwd_witness_key *key,
					    u64 *size, char *cosig,
					    size_t cosig_cap, size_t *cosig_len,
					    char *err, size_t errcap);

/* ----------------------------------------------------------- state.c */

struct fwd_state {
	int dirfd, cosigfd;
	u64 witnessed;		/* from position: the latest cosigned size */
};

int fwd_state_open(struct fwd_state *s, const char *dir, char *err,
		   size_t errcap);
/* STATE/cosigs/<size>-<epoch>.note and then STATE/position, durably. */
int fwd_state_cosigned(struct fwd_state *s, u64 size, u64 epoch,
		       const char *note, size_t note_len, const char *cosig,
		       size_t cosig_len, char *err, size_t errcap);

struct fwd_status {
	u64 sealed, sent, witnessed, witness_holds;
	u64 lag_records;
	double lag_seconds;
	bool connected;
	const char *collector;
	const char *last_error;
	double last_error_age;
	const char *store_note;	/* what stops the reader before the end */
	u64 messages, messages_records;	/* RELP messages sent, records in them */
	u64 resends;		/* rewinds after a long 503 */
	double notyet_longest;	/* the longest run of 503s that ended in a 200 */
};

void fwd_state_status(struct fwd_state *s, const struct fwd_status *st);

/* --------------------------------------------------------- sandbox.c */

/* Drops to the user (no groups but its own, all three uids and gids),
 * then no_new_privs, not dumpable. */
int fwd_drop_privileges(const char *user, char *err, size_t errcap);
int fwd_seccomp_install(char *err, size_t errcap);

#endif /* BIOFLOW_FORWARD_H */
