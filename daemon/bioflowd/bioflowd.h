/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bioflowd: the audit-log daemon (docs/bioflowd.md).
 *
 *   main.c     entry: the monitor, or (hidden --worker) the worker
 *   config.c   command-line options
 *   monitor.c  the privileged process: udev discovery and hotplug,
 *              opens the audit source and the store directory, holds the
 *              root signer, starts and restarts the worker, writes the
 *              daemon's own records through it
 *   worker.c   the sandboxed process: io_uring reads, group commit,
 *              acknowledgement after the covering checkpoint is durable
 *   sandbox.c  privilege drop, io_uring restrictions, the seccomp filter
 *   fdpass.c   messages and SCM_RIGHTS over the monitor/worker socketpair
 *   fwdwatch.c the forwarder's status file: lag bounds, hysteresis
 */
#ifndef BIOFLOWD_H
#define BIOFLOWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"

#define BFD_DEFAULT_STORE	"/var/lib/bioflow"
#define BFD_DEFAULT_NODE	"/dev/bioreader-audit"
#define BFD_DEFAULT_USER	"bioflowd"
#define BFD_WORKER_FD		3	/* the socketpair end in the worker */

/* Exit statuses of bioflowd (the monitor); docs/bioflowd.md. */
enum {
	BFD_EXIT_OK = 0,	/* stopped by SIGTERM/SIGINT */
	BFD_EXIT_FAIL = 1,	/* cannot start: root key, store dir, user */
	BFD_EXIT_USAGE = 2,
	BFD_EXIT_SANDBOX = 3,	/* the sandbox could not be installed */
	BFD_EXIT_STORE = 4,	/* the store is damaged or not ours */
};

/* Exit statuses of the worker, read by the monitor. */
enum {
	BFD_WEXIT_OK = 0,	/* asked to stop; everything read is sealed */
	BFD_WEXIT_ERROR = 1,	/* I/O failure: restart with back-off */
	BFD_WEXIT_SANDBOX = 3,	/* fatal for the daemon */
	BFD_WEXIT_STORE = 4,	/* fatal for the daemon */
	BFD_WEXIT_SOURCE = 10,	/* the audit source went away */
	BFD_WEXIT_PROTO = 11,	/* bad message from the monitor */
	BFD_WEXIT_FULL = 12,	/* the store was full; space is back (or
				 * asked to stop while full): restart at once */
};

/* Where audit records come from. */
enum bfd_source_kind {
	BFD_SRC_DEVICE = 1,	/* /dev/bioreader-audit: read + ioctl ACK */
	BFD_SRC_SOCKET = 2,	/* a Unix SOCK_SEQPACKET peer (development,
				 * tests): messages of whole records in, ack
				 * messages out */
};

/* The acknowledgement message of a BFD_SRC_SOCKET source. */
#define BFD_SOCK_ACK_MAGIC	0x214b4341u	/* "ACK!" little-endian */
struct bfd_sock_ack {
	uint32_t magic;		/* little-endian BFD_SOCK_ACK_MAGIC */
	uint32_t zero;
	uint64_t seq;		/* little-endian: every seq <= this is durable */
};

/* Test-only faults (compiled in with BIOFLOWD_TEST_HOOKS). */
enum bfd_fault {
	BFD_FAULT_NONE = 0,
	BFD_FAULT_SYSCALL,	/* a forbidden syscall after N records */
	BFD_FAULT_URING_SETUP,	/* io_uring_setup() once sandboxed */
	BFD_FAULT_URING_REGISTER, /* io_uring_register() once sandboxed */
	BFD_FAULT_URING_OP,	/* opcodes/fds outside the ring's restrictions */
	BFD_FAULT_PROTO_INC,	/* COUNTER_INC without an epoch start */
	BFD_FAULT_PROTO_CERTIFY2, /* a second CERTIFY for the same epoch */
	BFD_FAULT_PROTO_UNKNOWN, /* a message type no table lists */
	BFD_FAULT_PROTO_FLOOD,	/* epoch starts as fast as possible */
};

struct bfd_config {
	const char *store;
	const char *node;	/* NULL: udev discovery, then BFD_DEFAULT_NODE */
	const char *socket;	/* BFD_SRC_SOCKET source instead of a node */
	const char *user;
	const char *root_key;	/* software root signer, or */
	const char *tpm;	/* the TPM root signer's TCTI */
	const char *tpm_auth;	/* its authorization file */
	const char *root_counter;
	const char *origin;	/* for a new store; NULL: bioflow/<hostname> */
	uint64_t epoch_records;
	uint64_t epoch_seconds;
	uint64_t commit_records;
	uint64_t commit_latency_us;
	uint64_t segment_bytes;
	/* the forwarder's lag (fwdwatch.c); fwd_status NULL: not watched */
	const char *fwd_status;
	uint64_t fwd_lag_records;
	uint64_t fwd_lag_seconds;
	uint64_t fwd_silent_seconds;
	uint64_t fwd_check_ms;
	int verbose;
	bool worker;		/* hidden: this process is the worker */
	/* test hooks */
	enum bfd_fault fault;
	uint64_t fault_after;
};

int bfd_parse_args(int argc, char **argv, struct bfd_config *c);

/* ------------------------------------------------------- messages -- */

#define BFD_PROTO_VERSION	3
#define BFD_MSG_MAX		8192
#define BFD_INIT_RECORDS	16	/* daemon records carried by INIT */

/* Root signer requests are answered in the order an epoch start makes
 * them, and only then (monitor.c, the dispatch table): COUNTER_READ,
 * CERTIFY (the new epoch's certificate body), then, once the worker
 * holds the certificate durably, COUNTER_INC with it.  COUNTER_INC
 * with an older certificate that attests the counter's current value
 * finishes a start that stopped before its increment (once per
 * worker).  Anything else kills the worker. */
enum bfd_msg_type {
	BFD_MSG_INIT = 1,	/* M->W, with the source and store fds */
	BFD_MSG_READY,		/* W->M: daemon records sealed, running */
	BFD_MSG_COUNTER_INC,	/* W->M: epoch certificate file text */
	BFD_MSG_CERTIFY,	/* W->M: epoch certificate body */
	BFD_MSG_REPLY,		/* M->W: answer to the three requests */
	BFD_MSG_COUNTER_READ,	/* W->M: no payload */
	BFD_MSG_FETCH,		/* W->M: struct bfd_fetch, once running */
	BFD_MSG_RECORDS,	/* M->W: struct bfd_records, the answer */
};

#define BFD_TEST_MSG_UNKNOWN	99	/* a type no table lists (tests) */

struct bfd_msg_hdr {
	uint32_t type;
	uint32_t len;		/* payload bytes after this header */
};

struct bfd_init {
	uint32_t version;
	uint32_t source_kind;
	uint32_t uid, gid;
	uint32_t create;	/* no store yet: create one named origin */
	uint32_t fault;
	uint64_t fault_after;
	uint64_t commit_records;
	uint64_t commit_latency_us;
	uint64_t epoch_records;
	uint64_t epoch_seconds;
	uint64_t segment_bytes;
	uint32_t monitor_pid;
	uint32_t generation;	/* 1 for the first worker, then +1 */
	uint32_t verbose;
	uint32_t fetch_ms;	/* FETCH this often once running; 0: never */
	uint32_t nrecords;	/* daemon records below */
	char origin[BFL_NAME_MAX + 1];
	uint32_t pub_len;	/* root public key, DER SubjectPublicKeyInfo */
	uint8_t pub[512];
	uint8_t records[BFD_INIT_RECORDS][BIOREADER_AUDIT_RECORD_SIZE];
};

struct bfd_ready {
	uint64_t size;		/* tree size, all sealed */
	uint64_t epoch;
	uint64_t recovered_discarded;
};

/* Daemon records queued while a worker runs (the forwarder's lag) reach
 * it through FETCH: the worker asks about once a second, seals what it
 * gets, and says so in its next FETCH; only then does the monitor drop
 * them.  A worker that dies first leaves them queued for the next one's
 * INIT. */
struct bfd_fetch {
	uint32_t sealed;	/* records of the last answer now durable */
	uint32_t pad;
};

struct bfd_records {
	uint32_t n;
	uint32_t pad;
	uint8_t records[BFD_INIT_RECORDS][BIOREADER_AUDIT_RECORD_SIZE];
};

struct bfd_reply {
	int32_t status;		/* 0 or a negative errno */
	uint32_t pad;
	uint64_t value;		/* COUNTER_READ, COUNTER_INC: the counter */
	struct bfl_attestation att;	/* CERTIFY */
	char msg[256];		/* why, when status != 0 */
};

/* fdpass.c: one message per SOCK_SEQPACKET datagram; fds ride along. */
int bfd_send(int sock, uint32_t type, const void *payload, size_t len,
	     const int *fds, unsigned int nfds);
/* Returns the payload length, 0 with *type = 0 at EOF, or -errno.
 * -EMSGSIZE for a truncated message or more fds than *nfds. */
ssize_t bfd_recv(int sock, uint32_t *type, void *payload, size_t cap,
		 int *fds, unsigned int *nfds);

/* ------------------------------------------------- daemon records -- */

/* detail[0] of a BIOREADER_AUDIT_DAEMON record */
enum bfd_event {
	BFD_EV_START = 1,	 /* the daemon started */
	BFD_EV_WORKER_DIED = 2,	 /* a worker died and is being restarted */
	BFD_EV_REFUSED = 3,	 /* the monitor refused a worker's request and
				  * killed it (detail[1] pid, [2] type) */
	BFD_EV_FWD_BEHIND = 4,	 /* forwarding fell behind its bound */
	BFD_EV_FWD_WITHIN = 5,	 /* forwarding is back within its bound */
	BFD_EV_FWD_SILENT = 6,	 /* no usable forwarder status */
};

/* ------------------------------------------------ forwarder's lag -- */

#define FWD_STATUS_MAX	4096	/* a larger status file is refused */

/* Why a status is not usable (detail[2] of BFD_EV_FWD_SILENT). */
enum {
	BFD_FWD_STALE = 1,	/* not replaced for --forward-silent-seconds */
	BFD_FWD_MISSING = 2,	/* cannot be opened */
	BFD_FWD_GARBAGE = 3,	/* not a regular file, too large, unparsable */
};

struct bfd_fwd_status {
	u64 lag_records;
	u64 lag_seconds;
	bool connected;		/* to the collector */
	bool error;		/* the forwarder reports a last error */
};

enum bfd_fwd_state { BFD_FWD_WITHIN, BFD_FWD_BEHIND, BFD_FWD_SILENT };

/* Owned by the monitor's loop; no locking (one thread). */
struct bfd_fwdwatch {
	const char *path;
	u64 lag_records, lag_seconds, silent_seconds;
	enum bfd_fwd_state state;
	u64 last_good;		/* ms: the last usable, fresh status */
	struct bfd_fwd_status last;
	double tokens;		/* records left in the bucket */
	u64 tokens_at;
	u32 unrecorded;		/* transitions over the bucket */
};

struct bfd_fwd_event {
	u32 event;		/* BFD_EV_FWD_* */
	u32 d[4];		/* detail[1..4] */
};

int bfd_fwd_parse(const char *buf, size_t len, struct bfd_fwd_status *st);
void bfd_fwd_watch_init(struct bfd_fwdwatch *w, const struct bfd_config *c, u64 now_ms);
/* Reads the status; 1 with *ev to record, 0 for nothing. */
int bfd_fwd_watch(struct bfd_fwdwatch *w, u64 now_ms, struct bfd_fwd_event *ev);

/* ---------------------------------------------------------- parts -- */

int bfd_monitor_main(const struct bfd_config *c);
int bfd_worker_main(void);

/* sandbox.c */
struct io_uring;
int bfd_ring_setup(struct io_uring *ring, unsigned int entries, int src_fd,
		   char *err, size_t errcap);
int bfd_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errcap);
int bfd_seccomp_install(int src_fd, unsigned int src_kind, int sock,
			char *err, size_t errcap);

/* Logging: "bioflowd[monitor]: ..." on stderr. */
void bfd_log_init(const char *role, int verbose);
void bfd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bfd_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* BIOFLOWD_H */
