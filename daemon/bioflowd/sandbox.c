// SPDX-License-Identifier: GPL-2.0-only
/*
 * The worker's confinement, in the order the worker applies it:
 *
 * 1. bfd_ring_setup(): the io_uring instance, created disabled; the
 *    audit source registered as fixed file 0; restrictions registered:
 *    the only opcode is IORING_OP_READ and every SQE must use a fixed
 *    file (so only fixed file 0 can be reached), no register opcode is
 *    allowed; then the ring is enabled.  Restrictions can be registered
 *    only while the ring is disabled and only once, so they cannot be
 *    widened later.
 * 2. bfd_drop_privileges(): no supplementary groups, the worker's uid
 *    and gid (real, effective, saved), no_new_privs, not dumpable.
 * 3. bfd_seccomp_install(): a libseccomp allowlist, default action
 *    SCMP_ACT_KILL_PROCESS, foreign architectures killed as well.
 *    io_uring_setup and io_uring_register are not on the list: the
 *    worker cannot make a new, unrestricted ring, nor change the one it
 *    has, and io_uring_enter only runs what step 1 allows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>
#include <seccomp.h>

#include "sandbox/sandbox.h"

#include "bioflowd.h"

int bfd_ring_setup(struct io_uring *ring, unsigned int entries, int src_fd,
		   char *err, size_t errcap)
{
	struct io_uring_restriction res[3];
	struct io_uring_params p;
	int r;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_R_DISABLED;
	r = io_uring_queue_init_params(entries, ring, &p);
	if (r < 0) {
		snprintf(err, errcap, "io_uring_setup: %s", strerror(-r));
		return r;
	}
	if (!(p.features & IORING_FEAT_EXT_ARG)) {
		snprintf(err, errcap, "io_uring: the kernel lacks IORING_FEAT_EXT_ARG (5.11+)");
		io_uring_queue_exit(ring);
		return -EOPNOTSUPP;
	}
	r = io_uring_register_files(ring, &src_fd, 1);
	if (r < 0) {
		snprintf(err, errcap, "io_uring: register the audit source: %s", strerror(-r));
		io_uring_queue_exit(ring);
		return r;
	}
	memset(res, 0, sizeof(res));
	res[0].opcode = IORING_RESTRICTION_SQE_OP;
	res[0].sqe_op = IORING_OP_READ;
	res[1].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[1].sqe_flags = IOSQE_FIXED_FILE;
	res[2].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[2].sqe_flags = IOSQE_FIXED_FILE;
	/* io_uring_register() directly: Debian's liburing 2.3 shared
	 * library does not export io_uring_register_restrictions() and
	 * io_uring_enable_rings(). */
	r = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, 3);
	if (r < 0) {
		snprintf(err, errcap, "io_uring: register restrictions: %s", strerror(-r));
		io_uring_queue_exit(ring);
		return r;
	}
	r = io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (r < 0) {
		snprintf(err, errcap, "io_uring: enable the ring: %s", strerror(-r));
		io_uring_queue_exit(ring);
		return r;
	}
	return 0;
}

int bfd_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errcap)
{
	int r;

	if (uid == 0 || gid == 0) {
		snprintf(err, errcap, "the worker must not run as root (uid %u gid %u)",
			 (unsigned int)uid, (unsigned int)gid);
		return -EPERM;
	}
	/* No supplementary groups at all: the monitor's are not the worker's. */
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		snprintf(err, errcap, "dropping to uid %u gid %u: %s", (unsigned int)uid,
			 (unsigned int)gid, strerror(errno));
		return -errno;
	}
	r = sbx_check_dropped(uid, gid, err, errcap);
	/* Another process of the same (shared, e.g. nobody) uid must not
	 * ptrace the worker or read its memory: it holds the epoch key. */
	return r ? r : sbx_confine_self(err, errcap);
}

#define ALLOW(call) SBX_ALLOW(call)

static const struct sbx_call allow[] = {
	/* records in, store out */
	ALLOW(read), ALLOW(write), ALLOW(close), ALLOW(openat), ALLOW(dup),
	ALLOW(lseek), ALLOW(fstat), ALLOW(newfstatat), ALLOW(statx),
	ALLOW(fsync), ALLOW(fdatasync), ALLOW(ftruncate),
	ALLOW(rename), ALLOW(renameat), ALLOW(renameat2),
	ALLOW(unlink), ALLOW(unlinkat), ALLOW(mkdir), ALLOW(mkdirat),
	ALLOW(getdents64), ALLOW(fcntl), ALLOW(access), ALLOW(faccessat),
	ALLOW(faccessat2),
	/* free space on the store's file system, while it is full */
	ALLOW(fstatfs),
	/* the ring, already restricted */
	ALLOW(io_uring_enter),
	/* the monitor socket */
	ALLOW(sendmsg), ALLOW(recvmsg), ALLOW(sendto), ALLOW(recvfrom),
	/* memory, time, randomness (epoch keys), OpenSSL's locks */
	ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(madvise),
	ALLOW(futex), ALLOW(getrandom), ALLOW(clock_gettime),
	ALLOW(gettimeofday), ALLOW(time),
	/* process */
	ALLOW(exit), ALLOW(exit_group), ALLOW(rt_sigreturn),
	ALLOW(rt_sigprocmask), ALLOW(restart_syscall), ALLOW(getpid),
	ALLOW(gettid), ALLOW(getppid),
#if defined(__SANITIZE_ADDRESS__)
	/* ASan/UBSan runtime only (sanitizer builds): reports, stacks */
	ALLOW(sigaltstack), ALLOW(rt_sigaction), ALLOW(prctl),
	ALLOW(readlink), ALLOW(readlinkat), ALLOW(sched_getaffinity),
	ALLOW(prlimit64), ALLOW(getrlimit), ALLOW(setrlimit), ALLOW(tgkill),
	ALLOW(sched_yield), ALLOW(pipe2), ALLOW(clock_nanosleep),
	ALLOW(nanosleep), ALLOW(open),
#endif
};

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer stops the world with ptrace at exit: not in a sandbox. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int bfd_seccomp_install(int src_fd, unsigned int src_kind, int sock,
			char *err, size_t errcap)
{
	scmp_filter_ctx ctx;
	int r;

	(void)sock;
	r = sbx_filter_new(&ctx, false, err, errcap);
	if (r)
		return r;
	r = sbx_allow_calls(ctx, allow, sizeof(allow) / sizeof(allow[0]), err, errcap);
	if (!r)
		r = sbx_allow_noexec_memory(ctx);
	/* The one ioctl: acknowledging records, on the audit node only. */
	if (!r && src_kind == BFD_SRC_DEVICE)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)src_fd),
				     SCMP_A1(SCMP_CMP_EQ,
					     (scmp_datum_t)BIOREADER_AUDIT_IOC_ACK));
	return sbx_filter_finish(ctx, r, err, errcap);
}
