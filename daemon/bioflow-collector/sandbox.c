// SPDX-License-Identifier: GPL-2.0-only
/*
 * The collector's confinement (docs/forwarding.md, "Confinement"), in the
 * order main.c applies it:
 *
 * 1. col_drop_privileges(), before anything is opened: started as root,
 *    it becomes the --user (its group and the supplementary groups
 *    /etc/group gives it, e.g. the group that may read rsyslog's spool),
 *    real, effective and saved ids; it never runs as root.  Then
 *    no_new_privs and not dumpable (its memory holds the witness key).
 * 2. col_key_private(): the private keys it is given (the witness's and
 *    the TLS server's) must be its own and unreadable by anyone else, or
 *    it refuses to start: a key others can read is not a secret.
 * 3. col_seccomp_install(), once the keys, the TLS context, the listening
 *    socket and the connection threads exist: a libseccomp allowlist,
 *    default action SCMP_ACT_KILL_PROCESS, foreign architectures killed,
 *    applied to every thread at once (TSYNC).  What the loop needs:
 *    reading the spool and the enrollments, writing the copies and the
 *    witness state, accepting connections on the socket it has, poll,
 *    time, futexes, memory that never becomes executable; a datagram
 *    Unix socket for syslog(3) to reconnect.  No exec, no new thread or
 *    process (clone is not listed: the threads are made before), no
 *    ptrace, no connect to the network (no AF_INET socket), no ioctl.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox/sandbox.h"

#include "collector.h"

int col_drop_privileges(const char *user, char *err, size_t errcap)
{
	return sbx_drop_to_user(user, "the collector", err, errcap);
}

int col_key_private(const char *path, char *err, size_t errcap)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb)) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		snprintf(err, errcap,
			 "%s: a private key must be a file of the collector's user (uid %u) that nobody else may read (mode 0600 or 0400); it is uid %u, mode %04o",
			 path, (unsigned int)geteuid(), (unsigned int)sb.st_uid,
			 (unsigned int)(sb.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

#define ALLOW(call) SBX_ALLOW(call)

static const struct sbx_call allow[] = {
	/* the spool, the enrollments (read); the copies, the witness
	 * state, the status (written) */
	ALLOW(read), ALLOW(pread64), ALLOW(readv), ALLOW(write), ALLOW(pwrite64),
	ALLOW(writev), ALLOW(close), ALLOW(openat), ALLOW(lseek), ALLOW(fstat),
	ALLOW(newfstatat), ALLOW(statx), ALLOW(getdents64), ALLOW(fsync),
	ALLOW(fdatasync), ALLOW(ftruncate), ALLOW(rename), ALLOW(renameat),
	ALLOW(renameat2), ALLOW(unlink), ALLOW(unlinkat), ALLOW(mkdir),
	ALLOW(mkdirat), ALLOW(access), ALLOW(faccessat), ALLOW(faccessat2),
	ALLOW(fallocate), ALLOW(flock), ALLOW(dup),
	/* the witness's connections: accepted on the socket it has */
	ALLOW(accept4), ALLOW(sendto), ALLOW(recvfrom), ALLOW(sendmsg),
	ALLOW(recvmsg), ALLOW(setsockopt), ALLOW(getsockopt), ALLOW(getsockname),
	ALLOW(getpeername), ALLOW(shutdown), ALLOW(poll), ALLOW(ppoll),
	/* syslog(3) reconnecting to /dev/log (a datagram socket, below) */
	ALLOW(connect),
	/* memory, time, randomness, the threads' locks */
	ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(madvise), ALLOW(futex),
	ALLOW(getrandom), ALLOW(clock_gettime), ALLOW(gettimeofday), ALLOW(time),
	ALLOW(nanosleep), ALLOW(clock_nanosleep),
	/* process and threads (made before: no clone) */
	ALLOW(exit), ALLOW(exit_group), ALLOW(rt_sigreturn), ALLOW(rt_sigprocmask),
	ALLOW(restart_syscall), ALLOW(getpid), ALLOW(gettid), ALLOW(uname),
	ALLOW(getuid), ALLOW(geteuid), ALLOW(getgid), ALLOW(getegid),
	ALLOW(set_robust_list), ALLOW(rseq),
	/* OpenSSL's entropy pool looks at the system's uptime and load */
	ALLOW(sysinfo),
#if defined(__SANITIZE_ADDRESS__)
	/* ASan/UBSan runtime only (sanitizer builds): reports, stacks */
	ALLOW(sigaltstack), ALLOW(rt_sigaction), ALLOW(prctl), ALLOW(readlink),
	ALLOW(readlinkat), ALLOW(sched_getaffinity), ALLOW(prlimit64),
	ALLOW(getrlimit), ALLOW(setrlimit), ALLOW(tgkill), ALLOW(sched_yield),
	ALLOW(pipe2), ALLOW(open),
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

int col_seccomp_install(char *err, size_t errcap)
{
	scmp_filter_ctx ctx;
	int r;

	/* TSYNC: the connection threads exist before the filter. */
	r = sbx_filter_new(&ctx, true, err, errcap);
	if (r)
		return r;
	r = sbx_allow_calls(ctx, allow, sizeof(allow) / sizeof(allow[0]), err, errcap);
	/* syslog(3)'s socket only: Unix datagrams, no network client. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	/* fcntl: descriptor flags only. */
	if (!r)
		r = sbx_allow_fcntl_flags(ctx);
	if (!r)
		r = sbx_allow_noexec_memory(ctx);
	return sbx_filter_finish(ctx, r, err, errcap);
}
