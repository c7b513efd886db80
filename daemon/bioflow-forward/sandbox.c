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
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <fcntl.h>

#include <seccomp.h>

#include "fwd.h"

int fwd_drop_privileges(const char *user, char *err, size_t errcap)
{
	struct passwd *pw;
	uid_t uid, ru, eu, su;
	gid_t gid, rg, eg, sg;

	if (geteuid() != 0) {
		if (getuid() == 0) {
			snprintf(err, errcap, "a set-user-ID root start is not supported");
			return -EPERM;
		}
		goto confine;	/* already unprivileged: stay who we are */
	}
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errcap, "--user %s: no such user", user);
		return -ENOENT;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0) {
		snprintf(err, errcap, "--user %s: the forwarder does not run as root", user);
		return -EPERM;
	}
	if (initgroups(user, gid) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		snprintf(err, errcap, "dropping to %s (uid %u gid %u): %s", user,
			 (unsigned int)uid, (unsigned int)gid, strerror(errno));
		return -errno;
	}
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    setuid(0) == 0) {
		snprintf(err, errcap, "privileges not dropped");
		return -EPERM;
	}
confine:
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errcap, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	/* Its memory holds the TLS key: no ptrace or core by its own uid. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		snprintf(err, errcap, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

#define ALLOW(call) { SCMP_SYS(call), #call }

static const struct {
	int nr;
	const char *name;
} allow[] = {
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
	ALLOW(clock_nanosleep),
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
	size_t i;
	int r;

	err[0] = 0;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64 &&
	    seccomp_arch_native() != SCMP_ARCH_AARCH64) {
		snprintf(err, errcap, "seccomp: filter written for x86-64 and arm64 only");
		return -EOPNOTSUPP;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(err, errcap, "seccomp_init failed");
		return -ENOMEM;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (i = 0; !r && i < sizeof(allow) / sizeof(allow[0]); i++) {
		if (allow[i].nr < 0)
			continue;	/* not a syscall on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i].nr, 0);
		if (r)
			snprintf(err, errcap, "seccomp: allow %s: %s", allow[i].name,
				 strerror(-r));
	}
	/* TCP over IPv4 or IPv6 only. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	/* fcntl: flags and locks on its own descriptors; no F_SETOWN etc.
	 * matters to the sandbox, but keep to what is used. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_SETFL));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_GETFD));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_SETFD));
	/* Memory may never become executable. */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r) {
		r = seccomp_load(ctx);
		if (r)
			snprintf(err, errcap, "seccomp_load: %s", strerror(-r));
	} else if (!err[0]) {
		snprintf(err, errcap, "seccomp: building the filter: %s", strerror(-r));
	}
	seccomp_release(ctx);
	return r ? (r < 0 ? r : -EINVAL) : 0;
}
