// SPDX-License-Identifier: GPL-2.0-only
/*
 * The worker: gets the audit source and the store directory from the
 * monitor, confines itself (sandbox.c), then loops:
 *
 *   read records with io_uring (one READ always in flight, two buffers,
 *   many records per read) -> bfl_store_append -> group commit when
 *   commit_records are pending or commit_latency has passed since the
 *   first of them -> acknowledge to the source up to the last kernel
 *   sequence number the durable checkpoint covers.
 *
 * The epoch key lives here; the root signer does not: certifying an
 * epoch key and incrementing the counter are requests to the monitor
 * (proxy_ops below), which holds the TPM (or the software root key).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "bioflowd.h"

#define READ_BUF	(BIOREADER_AUDIT_RECORD_SIZE * 1024)
#define IDLE_TICK_MS	1000
#define FULL_CHECK_MS	1000		/* how often a full store is looked at */
#define FULL_MIN_FREE	(4ULL << 20)	/* free bytes that count as space back */

static volatile sig_atomic_t stop_requested;
static int msock = BFD_WORKER_FD;
static int lock_fd = -1;	/* the store directory, flock'ed */

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ------------------------------------------------ root signer proxy -- */

static int rpc(uint32_t type, const void *req, size_t len, struct bfd_reply *rep,
	       struct bfl_err *e)
{
	uint32_t t;
	ssize_t k;
	int r;

	r = bfd_send(msock, type, req, len, NULL, 0);
	if (r)
		return bfl_errf(e, -EIO, "request to the monitor: %s", strerror(-r));
	k = bfd_recv(msock, &t, rep, sizeof(*rep), NULL, NULL);
	if (k < 0)
		return bfl_errf(e, -EIO, "reply from the monitor: %s", strerror((int)-k));
	if (t != BFD_MSG_REPLY || (size_t)k != sizeof(*rep))
		return bfl_errf(e, -EPROTO, "reply from the monitor: %s",
				t ? "unexpected message" : "connection closed");
	rep->msg[sizeof(rep->msg) - 1] = 0;
	if (rep->status)
		return bfl_errf(e, rep->status < 0 ? rep->status : -EIO,
				"root signer (monitor): %s", rep->msg);
	return 0;
}

static int proxy_certify(struct bfl_root_signer *rs, const char *body, size_t len,
			 struct bfl_attestation *a, struct bfl_err *e)
{
	static struct bfd_reply rep;
	int r;

	(void)rs;
	if (len > BFD_MSG_MAX)
		return bfl_errf(e, -EMSGSIZE, "certificate too large to send");
	r = rpc(BFD_MSG_CERTIFY, body, len, &rep, e);
	if (r)
		return r;
	if (rep.att.nvpub_len > sizeof(a->nvpub) ||
	    rep.att.attest_len > sizeof(a->attest) ||
	    rep.att.sig_len > sizeof(a->sig))
		return bfl_errf(e, -EPROTO, "malformed attestation from the monitor");
	*a = rep.att;
	return 0;
}

static int proxy_counter_increment(struct bfl_root_signer *rs, const char *cert,
				   size_t cert_len, u64 *value, struct bfl_err *e)
{
	static struct bfd_reply rep;
	int r;

	(void)rs;
	if (cert_len > BFD_MSG_MAX)
		return bfl_errf(e, -EMSGSIZE, "certificate too large to send");
	r = rpc(BFD_MSG_COUNTER_INC, cert, cert_len, &rep, e);
	if (!r)
		*value = rep.value;
	return r;
}

static int proxy_counter_read(struct bfl_root_signer *rs, u64 *value,
			      struct bfl_err *e)
{
	static struct bfd_reply rep;
	int r;

	(void)rs;
	r = rpc(BFD_MSG_COUNTER_READ, NULL, 0, &rep, e);
	if (!r)
		*value = rep.value;
	return r;
}

static void proxy_destroy(struct bfl_root_signer *rs)
{
	bfl_key_free(&rs->key);
	free(rs);
}

static const struct bfl_root_signer_ops proxy_ops = {
	.certify = proxy_certify,
	.counter_increment = proxy_counter_increment,
	.counter_read = proxy_counter_read,
	.destroy = proxy_destroy,
};

/* --------------------------------------------------------- the loop -- */

struct worker {
	struct bfd_init init;
	int src;
	struct io_uring ring;
	struct bfl_store *st;
	u8 *buf[2];
	u64 pending;		/* appended, not yet committed */
	struct timespec first_pending;
	u64 ack_target;		/* highest kernel seq appended or skipped */
	u64 acked;
	bool ack_dirty;
	u64 total;		/* records appended by this worker */
	u64 commits;
	/* Daemon records fetched from the monitor while running: the
	 * last answer's count until a commit covers it, then the count
	 * the next FETCH reports as sealed. */
	u32 fetched;
	u32 fetch_sealed;
	u64 next_fetch;		/* us */
};

static u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000 + (u64)ts.tv_nsec / 1000;
}

/* Tells the source that every record up to w->ack_target is durable. */
static int source_ack(struct worker *w)
{
	u64 seq = w->ack_target;

	if (w->init.source_kind == BFD_SRC_DEVICE) {
		if (ioctl(w->src, BIOREADER_AUDIT_IOC_ACK, &seq))
			return -errno;
	} else {
		struct bfd_sock_ack a = {
			.magic = htole32(BFD_SOCK_ACK_MAGIC),
			.seq = htole64(seq),
		};
		ssize_t k = send(w->src, &a, sizeof(a), MSG_NOSIGNAL);

		if (k < 0)
			return -errno;
		if (k != sizeof(a))
			return -EIO;
	}
	w->acked = seq;
	return 0;
}

static bool store_full(int r)
{
	return r == -ENOSPC;
}

/* Bytes this user may still write on the store's file system. */
static u64 store_free(void)
{
	struct statvfs sv;

	if (fstatvfs(lock_fd, &sv))
		return 0;
	return (u64)sv.f_bavail * sv.f_frsize;
}

/*
 * The store's file system is full.  Nothing more can be
 * sealed, so nothing more is acknowledged: the kernel's queue fills and
 * verdicts stop, which is the fail-closed behaviour the driver promises.
 * The worker stops reading and does not exit (a restart per attempt
 * would start an epoch each time, and wear the TPM's counter): it looks
 * at the free space once a second.  When FULL_MIN_FREE bytes are free it
 * exits with BFD_WEXIT_FULL; the monitor starts the next worker at once,
 * whose recovery discards the unsealed tail, and the source redelivers
 * everything not acknowledged.  The failed writes and syncs are never
 * retried on the same file state (after a failed fsync the kernel may
 * have dropped the dirty pages): recovery re-reads what is on disk.
 */
static int wait_for_space(struct worker *w, const char *what)
{
	struct __kernel_timespec ts = { .tv_sec = FULL_CHECK_MS / 1000 };
	struct io_uring_cqe *cqe;
	u64 t0 = now_us(), free_b;

	if (store_free() >= FULL_MIN_FREE) {
		/* ENOSPC from elsewhere (the software root signer's counter
		 * file, say): an error like any other, restarted with
		 * back-off, never at once in a loop. */
		bfd_log("%s (the store's file system has space)", what);
		return BFD_WEXIT_ERROR;
	}
	bfd_log("store full: %s; nothing more is sealed or acknowledged (verdicts stop once the kernel's queue is full); waiting for %llu MiB free",
		what, FULL_MIN_FREE >> 20);
	while ((free_b = store_free()) < FULL_MIN_FREE) {
		if (stop_requested) {
			bfd_log("stopping with the store full: records read since the last commit are not acknowledged and come again");
			return BFD_WEXIT_FULL;
		}
		/* The ring's timeout is the sleep (no other is allowed); a
		 * read still in flight may complete meanwhile: dropped, as
		 * it was never acknowledged. */
		if (!io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts))
			io_uring_cqe_seen(&w->ring, cqe);
	}
	bfd_log("store has space again (%llu MiB free) after %llu s: restarting to recover",
		(unsigned long long)(free_b >> 20),
		(unsigned long long)((now_us() - t0) / 1000000));
	return BFD_WEXIT_FULL;
}

/* Group commit, then the acknowledgement it makes safe.  Returns a
 * worker exit status, or -1 to go on. */
static int commit_and_ack(struct worker *w)
{
	struct bfl_err e = { 0 };
	int r;

	r = bfl_store_commit(w->st, &e);
	if (store_full(r))
		return wait_for_space(w, e.msg);
	if (r) {
		bfd_log("commit failed, nothing more is acknowledged: %s", e.msg);
		return BFD_WEXIT_ERROR;
	}
	w->commits++;
	w->fetch_sealed += w->fetched;
	w->fetched = 0;
	if (w->pending)
		bfd_debug("commit %llu: %llu records, tree size %llu, epoch %llu",
			  (unsigned long long)w->commits, (unsigned long long)w->pending,
			  (unsigned long long)bfl_store_sealed_size(w->st),
			  (unsigned long long)bfl_store_epoch(w->st));
	w->pending = 0;
	if (w->ack_dirty && w->ack_target > w->acked) {
		r = source_ack(w);
		if (r == -ENODEV || r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN) {
			bfd_log("audit source gone while acknowledging");
			return BFD_WEXIT_SOURCE;
		}
		if (r) {
			bfd_log("acknowledging seq %llu: %s",
				(unsigned long long)w->ack_target, strerror(-r));
			return BFD_WEXIT_ERROR;
		}
	}
	w->ack_dirty = false;
	return -1;
}

static int submit_read(struct worker *w, unsigned int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	int r;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, 0, w->buf[i], READ_BUF, (u64)-1);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, i);
	do
		r = io_uring_submit(&w->ring);
	while (r == -EINTR);
	return r < 0 ? r : 0;
}

#ifdef BIOFLOWD_TEST_HOOKS
static void fault_forbidden_syscall(void)
{
	bfd_log("test fault: calling socket(AF_INET), which the filter forbids");
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	bfd_log("test fault: the forbidden syscall returned (sandbox missing)");
	_exit(BFD_WEXIT_ERROR);
}

/* What the ring does with work outside its restrictions. */
static void fault_uring_ops(struct worker *w)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int i, res;
	char b[8];

	for (i = 0; i < 3; i++) {
		sqe = io_uring_get_sqe(&w->ring);
		if (!sqe)
			return;
		if (i == 0) {
			io_uring_prep_openat(sqe, AT_FDCWD, "/", O_RDONLY, 0);
		} else if (i == 1) {
			io_uring_prep_read(sqe, msock, b, sizeof(b), (u64)-1);
		} else {
			io_uring_prep_read(sqe, 1, b, sizeof(b), (u64)-1);
			sqe->flags |= IOSQE_FIXED_FILE;
		}
		io_uring_submit(&w->ring);
		if (io_uring_wait_cqe(&w->ring, &cqe))
			return;
		res = cqe->res;
		io_uring_cqe_seen(&w->ring, cqe);
		bfd_log("test fault: ring %s: result %d (%s)",
			i == 0 ? "OPENAT" : i == 1 ? "READ of a plain fd" :
			"READ of fixed file 1", res, res < 0 ? strerror(-res) : "allowed");
	}
}
#endif

static void apply_early_fault(struct worker *w)
{
#ifdef BIOFLOWD_TEST_HOOKS
	if (w->init.fault == BFD_FAULT_URING_SETUP) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		bfd_log("test fault: calling io_uring_setup after the filter");
		syscall(__NR_io_uring_setup, 4, &p);
		bfd_log("test fault: io_uring_setup returned (sandbox missing)");
		_exit(BFD_WEXIT_ERROR);
	}
	if (w->init.fault == BFD_FAULT_URING_REGISTER) {
		int fd = w->src;

		bfd_log("test fault: calling io_uring_register after the filter");
		syscall(__NR_io_uring_register, w->ring.ring_fd,
			IORING_REGISTER_FILES_UPDATE, &fd, 1);
		bfd_log("test fault: io_uring_register returned (sandbox missing)");
		_exit(BFD_WEXIT_ERROR);
	}
	if (w->init.fault == BFD_FAULT_URING_OP)
		fault_uring_ops(w);
#else
	(void)w;
#endif
}

/* Requests the monitor must refuse (and kill us for), or must rate-
 * limit; sent once the worker has started its epoch (its CERTIFY and
 * COUNTER_INC made, the counter one above the certificate's value).
 *
 *   proto-inc            COUNTER_INC again, with the real certificate of
 *                        the epoch just started (no epoch start asked
 *                        for it)
 *   proto-certify-twice  CERTIFY of the next epoch at the counter's
 *                        value (what an epoch start does), then instead
 *                        of its COUNTER_INC a second CERTIFY at that
 *                        same value (two epochs attesting one value)
 *   proto-unknown        a request type no table lists
 *   proto-flood          epoch starts as fast as they are granted
 */
static void apply_proto_fault(struct worker *w)
{
#ifdef BIOFLOWD_TEST_HOOKS
	static struct bfd_reply rep;
	struct bfl_err e = { 0 };
	struct bfl_epoch_cert c;
	char body[1024], name[64];
	u8 *cert = NULL;
	size_t len = 0;
	unsigned int n = 0, i;
	int r = 0;

	switch (w->init.fault) {
	case BFD_FAULT_PROTO_INC:
		snprintf(name, sizeof(name), "/epochs/%010llu.cert",
			 (unsigned long long)bfl_store_epoch(w->st));
		r = bfl_read_file(AT_FDCWD, name, BFD_MSG_MAX, &cert, &len, &e);
		if (r) {
			bfd_log("test fault: %s", e.msg);
			_exit(BFD_WEXIT_ERROR);
		}
		bfd_log("test fault: COUNTER_INC with epoch %llu's certificate, no epoch start",
			(unsigned long long)bfl_store_epoch(w->st));
		r = rpc(BFD_MSG_COUNTER_INC, cert, len, &rep, &e);
		free(cert);
		break;
	case BFD_FAULT_PROTO_CERTIFY2:
		r = rpc(BFD_MSG_COUNTER_READ, NULL, 0, &rep, &e);
		if (r)
			break;
		memset(&c, 0, sizeof(c));
		snprintf(c.origin, sizeof(c.origin), "%s", w->init.origin);
		c.start_size = bfl_store_size(w->st);
		c.nv_counter = rep.value;
		c.issued = (u64)time(NULL);
		for (i = 1; i <= 2 && !r; i++) {
			c.epoch = bfl_store_epoch(w->st) + i;
			memset(c.pub, (int)i, sizeof(c.pub));
			r = bfl_cert_format_body(&c, body, sizeof(body), &len);
			if (r)
				break;
			bfd_log("test fault: CERTIFY of epoch %llu at counter %llu%s",
				(unsigned long long)c.epoch, (unsigned long long)c.nv_counter,
				i == 2 ? ", a second one before the increment" : "");
			r = rpc(BFD_MSG_CERTIFY, body, len, &rep, &e);
		}
		break;
	case BFD_FAULT_PROTO_UNKNOWN:
		bfd_log("test fault: message type %d", BFD_TEST_MSG_UNKNOWN);
		r = rpc(BFD_TEST_MSG_UNKNOWN, NULL, 0, &rep, &e);
		break;
	case BFD_FAULT_PROTO_FLOOD:
		bfd_log("test fault: epoch starts as fast as they are granted");
		while (!(r = bfl_store_rotate_epoch(w->st, &e)))
			n++;
		bfd_log("test fault: %u epoch starts granted, then: %s", n, e.msg);
		_exit(BFD_WEXIT_ERROR);
	default:
		return;
	}
	if (r)
		bfd_log("test fault: the request failed: %s", e.msg);
	else
		bfd_log("test fault: the monitor granted it: not refused");
	_exit(BFD_WEXIT_ERROR);
#else
	(void)w;
#endif
}

/* One completed read: append, note the ack target, commit when due. */
static int process(struct worker *w, const u8 *p, size_t len)
{
	struct bfl_err e = { 0 };
	unsigned int app = 0, skip = 0;
	size_t off = 0;
	int r;

	r = bfl_store_append(w->st, p, len, &app, &skip, &e);
	if (store_full(r))
		return wait_for_space(w, e.msg);
	if (r) {
		bfd_log("records from the audit source not stored: %s", e.msg);
		return BFD_WEXIT_ERROR;
	}
	while (off < len) {
		struct bfl_record rec;
		int k = bfl_record_parse(p + off, len - off, &rec, NULL);

		if (k <= 0)
			break;
		if (rec.type == BIOREADER_AUDIT_CONSUMER && rec.detail[2])
			bfd_log("the kernel could not queue %u records while its queue was full (seq %llu)",
				rec.detail[2], (unsigned long long)rec.seq);
		if (bfl_record_is_kernel(&rec) && rec.seq > w->ack_target) {
			w->ack_target = rec.seq;
			w->ack_dirty = true;
		}
		off += (size_t)k;
	}
	if (app && !w->pending)
		clock_gettime(CLOCK_MONOTONIC, &w->first_pending);
	w->pending += app;
	w->total += app;
	if (skip)
		bfd_debug("%u redelivered records already in the store", skip);
#ifdef BIOFLOWD_TEST_HOOKS
	if (w->init.fault == BFD_FAULT_SYSCALL && w->total >= w->init.fault_after)
		fault_forbidden_syscall();
#endif
	if (w->pending >= w->init.commit_records || (w->ack_dirty && !w->pending))
		return commit_and_ack(w);
	return -1;
}

/* FETCH: the daemon records the monitor queued since (the forwarder's
 * lag), appended like any record and sealed by the next group commit.
 * Asked only when the previous answer is committed, so the count it
 * reports lets the monitor drop exactly those.  Returns a worker exit
 * status, or -1 to go on. */
static int fetch_records(struct worker *w)
{
	static struct bfd_records in;
	struct bfd_fetch f = { .sealed = w->fetch_sealed };
	struct bfl_err e = { 0 };
	unsigned int app = 0;
	uint32_t t;
	ssize_t k;
	int r;

	if (bfd_send(msock, BFD_MSG_FETCH, &f, sizeof(f), NULL, 0)) {
		bfd_log("the monitor is gone");
		return BFD_WEXIT_ERROR;
	}
	k = bfd_recv(msock, &t, &in, sizeof(in), NULL, NULL);
	if (k < 0 || t != BFD_MSG_RECORDS || (size_t)k != sizeof(in) ||
	    in.n > BFD_INIT_RECORDS) {
		bfd_log("no valid answer to FETCH from the monitor");
		return BFD_WEXIT_PROTO;
	}
	w->fetch_sealed = 0;
	if (!in.n)
		return -1;
	r = bfl_store_append(w->st, in.records, (size_t)in.n * BIOREADER_AUDIT_RECORD_SIZE,
			     &app, NULL, &e);
	if (store_full(r))
		return wait_for_space(w, e.msg);
	if (r) {
		bfd_log("daemon records not stored: %s", e.msg);
		return BFD_WEXIT_ERROR;
	}
	if (app && !w->pending)
		clock_gettime(CLOCK_MONOTONIC, &w->first_pending);
	w->pending += app;
	w->fetched = in.n;
	return -1;
}

/* The last commit before the worker ends: what it read, then what the
 * monitor still queues (a lag record from just before a stop would
 * otherwise wait for the next start).  A worker exit status, or -1. */
static int final_commit(struct worker *w)
{
	int r = commit_and_ack(w);

	if (r < 0 && w->init.fetch_ms) {
		r = fetch_records(w);
		if (r < 0)
			r = commit_and_ack(w);
	}
	return r;
}

static int run(struct worker *w)
{
	struct io_uring_cqe *cqe;
	unsigned int idx;
	int r, res;

	r = submit_read(w, 0);
	if (r) {
		bfd_log("io_uring submit: %s", strerror(-r));
		return BFD_WEXIT_ERROR;
	}
	while (!stop_requested) {
		struct __kernel_timespec ts;
		u64 wait_us;

		if (w->init.fetch_ms && !w->fetched && now_us() >= w->next_fetch) {
			r = fetch_records(w);
			if (r >= 0)
				return r;
			w->next_fetch = now_us() + w->init.fetch_ms * 1000ULL;
		}
		if (w->pending) {
			u64 start = (u64)w->first_pending.tv_sec * 1000000 +
				    (u64)w->first_pending.tv_nsec / 1000;
			u64 now = now_us(), due = start + w->init.commit_latency_us;

			wait_us = due > now ? due - now : 0;
		} else {
			wait_us = IDLE_TICK_MS * 1000ULL;
		}
		if (w->init.fetch_ms && !w->fetched) {
			u64 now = now_us();
			u64 left = w->next_fetch > now ? w->next_fetch - now : 0;

			if (left < wait_us)
				wait_us = left ? left : 1;
		}
		ts.tv_sec = (long long)(wait_us / 1000000);
		ts.tv_nsec = (long long)(wait_us % 1000000) * 1000;
		r = wait_us ? io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts) : -ETIME;
		if (r == -ETIME || r == -EINTR) {
			if (r == -ETIME && (w->pending || w->init.epoch_seconds)) {
				r = commit_and_ack(w);
				if (r >= 0)
					return r;
			}
			continue;
		}
		if (r < 0) {
			bfd_log("io_uring wait: %s", strerror(-r));
			return BFD_WEXIT_ERROR;
		}
		res = cqe->res;
		idx = (unsigned int)io_uring_cqe_get_data64(cqe) & 1;
		io_uring_cqe_seen(&w->ring, cqe);
		if (res == -EINTR || res == -EAGAIN) {
			r = submit_read(w, idx);
		} else if (res > 0) {
			/* Keep a read in flight while this buffer is stored. */
			r = submit_read(w, idx ^ 1);
			if (!r) {
				r = process(w, w->buf[idx], (size_t)res);
				if (r >= 0)
					return r;
				r = 0;
			}
		} else {
			if (res == 0 || res == -ENODEV || res == -EPIPE ||
			    res == -ECONNRESET || res == -ENOTCONN) {
				bfd_log("audit source closed (%s)",
					res ? strerror(-res) : "end of file");
				r = final_commit(w);
				return r >= 0 ? r : BFD_WEXIT_SOURCE;
			}
			bfd_log("reading the audit source: %s", strerror(-res));
			return BFD_WEXIT_ERROR;
		}
		if (r) {
			bfd_log("io_uring submit: %s", strerror(-r));
			return BFD_WEXIT_ERROR;
		}
	}
	r = final_commit(w);
	return r >= 0 ? r : BFD_WEXIT_OK;
}

/* Everything OpenSSL will need, fetched before the sandbox and the
 * chroot: configuration, providers, Ed25519, the root key's algorithm. */
static void openssl_warm_up(EVP_PKEY *root)
{
	struct bfl_epoch_key k;
	struct bfl_err e;
	u8 sig[BFL_SIG_MAX], h[BFL_HASH_SIZE];
	size_t sl = sizeof(sig);

	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (!bfl_epoch_key_generate(&k, "warm-up", 1, &e)) {
		if (!bfl_sign(k.priv, "x", 1, sig, &sl))
			bfl_verify_sig(k.priv, "x", 1, sig, sl);
		bfl_epoch_key_destroy(&k);
	}
	bfl_verify_sig(root, "x", 1, sig, 8);
	bfl_sha256("x", 1, NULL, 0, h);
}

/*
 * Holds an exclusive flock on the store directory for the rest of this
 * process's life.  After a kill -9 of the daemon the previous worker can
 * still be finishing a system call (an fdatasync, a rename of the
 * checkpoint) while the new one recovers the store; the kernel releases
 * the lock only once that process has closed its files, i.e. is gone.
 * Also refuses a second daemon on the same store.  Taken before the
 * filter, which does not allow flock.  Returns a worker exit status, or
 * -1 to go on.
 */
static int lock_store(int fd)
{
	bool said = false;

	for (;;) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return -1;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			bfd_log("locking the store: %s", strerror(errno));
			return BFD_WEXIT_ERROR;
		}
		if (stop_requested)
			return BFD_WEXIT_OK;
		if (!said)
			bfd_log("the store is locked by another writer: waiting for it to end");
		said = true;
		usleep(10000);
	}
}

static int receive_init(struct worker *w, int *store_fd)
{
	unsigned int nfds = 2;
	int fds[2];
	uint32_t t;
	ssize_t k;

	k = bfd_recv(msock, &t, &w->init, sizeof(w->init), fds, &nfds);
	if (k < 0 || t != BFD_MSG_INIT || (size_t)k != sizeof(w->init) || nfds != 2 ||
	    w->init.version != BFD_PROTO_VERSION || w->init.pub_len > sizeof(w->init.pub) ||
	    w->init.nrecords > BFD_INIT_RECORDS ||
	    memchr(w->init.origin, 0, sizeof(w->init.origin)) == NULL) {
		while (nfds)
			close(fds[--nfds]);
		return -EPROTO;
	}
	w->src = fds[0];
	*store_fd = fds[1];
	return 0;
}

static struct bfl_root_signer *proxy_new(const struct bfd_init *in, struct bfl_err *e)
{
	const unsigned char *p = in->pub;
	struct bfl_root_signer *rs = calloc(1, sizeof(*rs));
	EVP_PKEY *pk;

	if (!rs) {
		bfl_errf(e, -ENOMEM, "out of memory");
		return NULL;
	}
	pk = d2i_PUBKEY(NULL, &p, in->pub_len);
	if (!pk || bfl_key_init(&rs->key, BFL_ROOT_KEY_NAME, pk, e)) {
		if (!pk)
			bfl_errf(e, -EPROTO, "bad root public key from the monitor");
		free(rs);
		return NULL;
	}
	rs->ops = &proxy_ops;
	rs->kind = "monitor";
	return rs;
}

static int open_store(struct worker *w, struct bfl_root_signer *rs)
{
	struct bfl_store_opts o = {
		.segment_max_bytes = w->init.segment_bytes,
		.epoch_max_records = w->init.epoch_records,
		.epoch_max_seconds = w->init.epoch_seconds,
	};
	struct bfl_recovery rep;
	struct bfl_err e = { 0 };
	int r;

	if (w->init.create) {
		r = bfl_store_create(".", w->init.origin, rs, &o, &w->st, &e);
		if (!r)
			bfd_log("created store %s, epoch 1", w->init.origin);
	} else {
		r = bfl_store_open(".", rs, &o, &w->st, &rep, &e);
		if (!r)
			bfd_log("store opened: %llu records sealed, %llu unsealed discarded, epoch %llu",
				(unsigned long long)rep.sealed_size,
				(unsigned long long)rep.discarded_records,
				(unsigned long long)rep.new_epoch);
		if (!r && rep.lost_checkpoint_file)
			bfd_log("store: the checkpoint copy was empty (a crash while it was replaced); the new epoch's first checkpoint replaces it");
	}
	if (store_full(r))
		return wait_for_space(w, e.msg);
	if (r) {
		bfd_log("store: %s", e.msg);
		return r == -EUCLEAN || r == -EBADMSG || r == -EEXIST ||
		       r == -EPROTONOSUPPORT ? BFD_WEXIT_STORE :
		       BFD_WEXIT_ERROR;
	}
	return -1;
}

int bfd_worker_main(void)
{
	static struct worker w;
	struct bfl_root_signer *rs;
	struct bfl_err e = { 0 };
	struct sigaction sa;
	struct bfd_ready ready;
	char err[256] = "";
	int store_fd, r;
	sigset_t stop;

	bfd_log_init("worker", 0);
	if (receive_init(&w, &store_fd)) {
		bfd_log("no valid start message from the monitor");
		return BFD_WEXIT_PROTO;
	}
	bfd_log_init("worker", (int)w.init.verbose);
	rs = proxy_new(&w.init, &e);
	if (!rs) {
		bfd_log("%s", e.msg);
		return BFD_WEXIT_PROTO;
	}
	openssl_warm_up(rs->key.pk);
	w.buf[0] = aligned_alloc(4096, READ_BUF);
	w.buf[1] = aligned_alloc(4096, READ_BUF);
	if (!w.buf[0] || !w.buf[1]) {
		bfd_log("out of memory");
		return BFD_WEXIT_ERROR;
	}

	/* 1. the ring, restricted, before anything else can go wrong */
	r = bfd_ring_setup(&w.ring, 8, w.src, err, sizeof(err));
	if (r) {
		bfd_log("%s", err);
		return BFD_WEXIT_SANDBOX;
	}
	/* A description of the store directory of our own for the store
	 * lock: the one from the monitor is shared with every worker. */
	lock_fd = openat(store_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0) {
		bfd_log("store directory: %s", strerror(errno));
		return BFD_WEXIT_ERROR;
	}
	/* 2. the store directory is the whole file system from now on */
	if (fchdir(store_fd) || chroot(".") || chdir("/")) {
		bfd_log("chroot into the store: %s", strerror(errno));
		return BFD_WEXIT_SANDBOX;
	}
	close(store_fd);
	/* 3. the worker's user, no_new_privs */
	r = bfd_drop_privileges(w.init.uid, w.init.gid, err, sizeof(err));
	if (r) {
		bfd_log("%s", err);
		return BFD_WEXIT_SANDBOX;
	}
	/* Die with the monitor (set after the uid change, which clears it). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) ||
	    getppid() != (pid_t)w.init.monitor_pid) {
		bfd_log("the monitor is gone");
		return BFD_WEXIT_ERROR;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* The monitor started us with both blocked; one that came
	 * meanwhile is delivered now and only sets stop_requested. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	/* one writer per store, until this process is gone */
	r = lock_store(lock_fd);
	if (r >= 0)
		return r;
	/* 4. the allowlist; no way on without it */
	r = bfd_seccomp_install(w.src, w.init.source_kind, msock, err, sizeof(err));
	if (r) {
		bfd_log("sandbox not installed, refusing to run: %s", err);
		return BFD_WEXIT_SANDBOX;
	}
	bfd_debug("sandboxed: uid %u, seccomp allowlist, restricted ring",
		  w.init.uid);
	apply_early_fault(&w);

	/* Opening starts an epoch (a counter increment): not on a full
	 * disk, where it would fail and the next attempt burn another. */
	if (store_free() < FULL_MIN_FREE)
		return wait_for_space(&w, "no space left on the store's file system");
	r = open_store(&w, rs);
	if (r >= 0)
		return r;
	apply_proto_fault(&w);
	if (w.init.nrecords) {
		unsigned int app = 0;

		r = bfl_store_append(w.st, w.init.records, (size_t)w.init.nrecords *
				     BIOREADER_AUDIT_RECORD_SIZE, &app, NULL, &e);
		if (store_full(r))
			return wait_for_space(&w, e.msg);
		if (r) {
			bfd_log("daemon records not stored: %s", e.msg);
			return BFD_WEXIT_ERROR;
		}
		w.pending = app;
	}
	r = commit_and_ack(&w);
	if (r >= 0)
		return r;
	memset(&ready, 0, sizeof(ready));
	ready.size = bfl_store_sealed_size(w.st);
	ready.epoch = bfl_store_epoch(w.st);
	if (bfd_send(msock, BFD_MSG_READY, &ready, sizeof(ready), NULL, 0)) {
		bfd_log("the monitor is gone");
		return BFD_WEXIT_ERROR;
	}

	r = run(&w);
	bfl_store_close(w.st);
	io_uring_queue_exit(&w.ring);
	bfl_root_signer_free(rs);
	bfd_debug("exiting with status %d after %llu records", r,
		  (unsigned long long)w.total);
	return r;
}
