/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bioflow-collector (docs/forwarding.md, "The collector"): on the fleet
 * collector host, beside a stock rsyslog that writes what appliances
 * forward to SPOOL/<oid>.log, it rebuilds one store per enrolled
 * appliance in LOGS/<oid>/ (ingest.c) and runs the witness that cosigns
 * the appliances' checkpoints (addcp.c) over HTTPS (https.c).
 *
 * LOGS/<oid>/            the appliance's store, rebuilt (mirror.c)
 *   FROZEN               present when its history was rewritten: why
 *   collector/offset     the spool position ingested: "<dev> <ino> <off>"
 *   witness/latest       the latest checkpoint cosigned, with the line
 *   witness/cosigned/<size>-<epoch>.note   every checkpoint cosigned
 * LOGS/status            plain-text state of every appliance
 *
 * Threads (pool.c): the main thread reads the spool every interval; one
 * thread accepts the witness's connections; --max-connections threads
 * serve one connection each, from the TLS handshake to the answer.
 * Locking: struct collector's lock guards every struct app (the list,
 * the mirrors, the witness state, the counters), the witness's key, the
 * status file and the counters below it; it is held only for work on
 * the disk and in memory, never while a connection is read or written,
 * so a slow client delays nobody.  The pool has its own lock (pool.c).
 */
#ifndef _BIOFLOW_COLLECTOR_H
#define _BIOFLOW_COLLECTOR_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "bflog.h"
#include "fwdmsg.h"
#include "mirror.h"
#include "witness.h"

/* An item kept because something before it is missing. */
struct pend {
	u64 off;		/* of its line in the spool */
	enum bfl_fwd_kind kind;
	u64 n;
	u8 *item;
	size_t len;
};

/* A certificate the mirror holds until its first checkpoint. */
struct held_line {
	u64 off;
	u64 epoch;
};

#define PEND_MAX_ITEMS	4096
#define PEND_MAX_BYTES	(32u << 20)

struct app {
	char oid[BFL_FWD_OID_LEN + 1];
	char origin[BFL_NAME_MAX + 1];
	struct bfl_key root;
	struct bfl_mirror *m;
	char dir[PATH_MAX];	/* LOGS/<oid> */
	char spool[PATH_MAX];	/* SPOOL/<oid>.log */

	/* the spool file: identity, the next byte to read, the position
	 * saved durably (nothing before it is needed again) */
	u64 dev, ino, off, saved;
	bool saved_known;
	struct pend *pend;
	unsigned int npend, pend_cap;
	size_t pend_bytes;
	struct held_line held[64];
	unsigned int nheld;

	u64 lines, batches, applied, dup, stale, garbage, invalid, dropped;
	time_t garbage_logged, invalid_logged;
	u64 garbage_quiet, invalid_quiet;

	bool frozen;		/* history rewritten (FROZEN) */
	bool broken;		/* the copy could not be opened or written */
	char why[700];

	/* the witness's latest cosigned checkpoint */
	bool have_w;
	u64 w_size, w_epoch, w_time;
	bfl_hash w_root;
	u64 cosigned, refused;

	struct app *next;
};

struct col_pool;

struct collector {
	/* Guards everything below but the fields marked otherwise. */
	pthread_mutex_t lock;

	const char *spool, *logs, *enroll;
	struct bfl_mirror_opts mopts;
	struct app *apps;
	int verbose;

	/* spool files of appliances not enrolled: counted, reported */
	unsigned int unknown_files;
	u64 unknown_bytes;
	time_t unknown_logged;
	u64 unknown_origin_requests;

	/* the witness */
	bool witness;
	struct bfl_cosigner wit;
	u64 requests, tls_failures, http_errors;

	/* Set before the threads start, read only after. */
	SSL_CTX *ctx;
	int lfd;
	unsigned int io_timeout_ms;
	unsigned int max_conns;
	struct col_pool *pool;
};

/* main.c: a line to stderr and to syslog. */
void col_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void col_debug(const struct collector *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ingest.c */
/* Enrolls what ENROLL/ holds (again: new appliances are added). */
void col_enroll_scan(struct collector *c);
/* Reads every enrolled appliance's spool from its position. */
void col_ingest_all(struct collector *c);
/* One appliance's. */
void col_ingest(struct collector *c, struct app *a);
struct app *col_find_origin(struct collector *c, const char *origin);
/* History rewritten: loud, FROZEN written, no more items. */
void col_freeze(struct collector *c, struct app *a, const char *why);
void col_write_status(struct collector *c);
void col_close_all(struct collector *c);

/* addcp.c: the witness's add-checkpoint.  Returns the HTTP status and
 * fills the answer. */
struct http_answer {
	int status;
	const char *ctype;
	char body[1024];
	size_t body_len;
	int retry_after;	/* seconds; 0: none */
};

void col_add_checkpoint(struct collector *c, const char *body, size_t len,
			struct http_answer *ans);
/* Loads LOGS/<oid>/witness/latest into a. */
void col_witness_load(struct collector *c, struct app *a);

/* https.c */
int col_https_setup(struct collector *c, const char *listen_addr,
		    const char *ca, const char *cert, const char *key,
		    const char *port_file);
/* Serves one accepted connection, from the TLS handshake to the answer
 * (each with its own deadline), and closes it.  Any thread; takes the
 * collector's lock only around the witness's work. */
void col_https_conn(struct collector *c, int fd);

/* pool.c: the acceptor and the connection threads. */
int col_pool_start(struct collector *c, char *err, size_t errcap);
/* Stops accepting, lets every connection end (its deadlines bound it),
 * joins the threads. */
void col_pool_stop(struct collector *c);

/* sandbox.c */
int col_drop_privileges(const char *user, char *err, size_t errcap);
int col_key_private(const char *path, char *err, size_t errcap);
int col_seccomp_install(char *err, size_t errcap);

#endif /* _BIOFLOW_COLLECTOR_H */
