// SPDX-License-Identifier: GPL-2.0-only
/*
 * The forwarder's confinement, applied before it opens anything:
 *
 * 1. fwd_drop_privileges(): started as root, it becomes the --user (its
 *    own group and the supplementary groups /etc/group gives it, e.g.
 *    the group that may read the store), real, effective and saved ids;
 *    it never runs as root.  Then no_new_privs and not dumpable.
 * 2. fwd_seccomp_install(), once the store, the state directory, the
 *    certificates and librelp's engine are set up: a libseccomp
 *    allowlist, default action SCMP_ACT_KILL_PROCESS, foreign
 *    architectures killed as well.  What the loop needs: reading the
 *    store and the certificate files (librelp loads them at every
 *    connection), writing its state, TCP sockets (AF_INET, AF_INET6
 *    only), poll, time, memory that never becomes executable.  No exec,
 *    no ptrace, no mount, no new namespaces, no ioctl, no Unix or
 *    netlink sockets.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <seccomp.h>

#include "sandbox/sandbox.h"

#include "fwd.h"

/* Its memory holds the TLS key: no ptrace or core by its own uid
 * (sbx_confine_self()). */
int fwd_drop_privileges(const char *user, char *err, size_t errcap)
{
	return sbx_drop_to_user(user, "the forwarder", err, errcap);
}

#define ALLOW(call) SBX_ALLOW(call)

static const struct sbx_call allow[] = {
	/* the store, the certificates (read); the state (written) */
	ALLOW(read), ALLOW(pread64), ALLOW(readv), ALLOW(write), ALLOW(writev),
	ALLOW(close), ALLOW(openat), ALLOW(lseek), ALLOW(fstat), ALLOW(newfstatat),
	ALLOW(statx), ALLOW(getdents64), ALLOW(fsync), ALLOW(fdatasync),
	ALLOW(rename), ALLOW(renameat), ALLOW(renameat2), ALLOW(unlink),
	ALLOW(unlinkat), ALLOW(dup), ALLOW(access), ALLOW(faccessat),
	ALLOW(faccessat2),
	/* sockets: connect, TLS, RELP */
	ALLOW(connect), ALLOW(sendto), ALLOW(recvfrom), ALLOW(sendmsg),
	ALLOW(recvmsg), ALLOW(setsockopt), ALLOW(getsockopt),
	ALLOW(getsockname), ALLOW(getpeername), ALLOW(shutdown), ALLOW(poll),
	ALLOW(ppoll), ALLOW(select), ALLOW(pselect6),
	/* memory, time, randomness, OpenSSL's locks */
	ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(madvise),
	ALLOW(futex), ALLOW(getrandom), ALLOW(clock_gettime),
	ALLOW(gettimeofday), ALLOW(time), ALLOW(nanosleep),
	ALLOW(clock_nanosleep), ALLOW(setitimer),
	/* process */
	ALLOW(exit), ALLOW(exit_group), ALLOW(rt_sigreturn),
	ALLOW(rt_sigprocmask), ALLOW(restart_syscall), ALLOW(getpid),
	ALLOW(gettid), ALLOW(uname),
	/* OpenSSL's entropy pool looks at the system's uptime and load */
	ALLOW(sysinfo),
#if defined(__SANITIZE_ADDRESS__)
	/* ASan/UBSan runtime only (sanitizer builds): reports, stacks */
	ALLOW(sigaltstack), ALLOW(rt_sigaction), ALLOW(prctl),
	ALLOW(readlink), ALLOW(readlinkat), ALLOW(sched_getaffinity),
	ALLOW(prlimit64), ALLOW(getrlimit), ALLOW(setrlimit), ALLOW(tgkill),
	ALLOW(sched_yield), ALLOW(pipe2), ALLOW(open),
#endif
};

int fwd_seccomp_install(char *err, size_t errcap)
{
	scmp_filter_ctx ctx;
	int r;

	r = sbx_filter_new(&ctx, false, err, errcap);
	if (r)
		return r;
	r = sbx_allow_calls(ctx, allow, sizeof(allow) / sizeof(allow[0]), err, errcap);
	/* TCP over IPv4 or IPv6 only. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	/* fcntl: flags on its own descriptors; keep to what is used. */
	if (!r)
		r = sbx_allow_fcntl_flags(ctx);
	if (!r)
		r = sbx_allow_noexec_memory(ctx);
	return sbx_filter_finish(ctx, r, err, errcap);
}
