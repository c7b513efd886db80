/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libsandbox: the pieces of a daemon's confinement that are the same in
 * bioflowd's worker, bioflow-forward and bioflow-collector.  What each
 * may do stays with each (its own allowlist, its own argument rules, in
 * its sandbox.c); what is here is only how a drop and a filter are made,
 * so that a fix to one is a fix to all three.
 *
 * Every function fills err (errcap bytes) when it fails and returns a
 * negative errno; none of them leaves a half-built filter behind.
 */
#ifndef _BIOREADER_SANDBOX_H
#define _BIOREADER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <seccomp.h>

/* One system call a daemon's allowlist permits, with its name for the
 * error message (SCMP_SYS() is negative for a call the architecture
 * does not have; sbx_allow_calls() skips those). */
struct sbx_call {
	int nr;
	const char *name;
};
#define SBX_ALLOW(call) { SCMP_SYS(call), #call }

/*
 * Started as root, become USER: its group and the supplementary groups
 * /etc/group gives it, real, effective and saved ids, checked after the
 * fact; then sbx_confine_self().  A uid 0 or gid 0 user is refused ("WHO
 * does not run as root", WHO naming the program), so is a set-user-ID
 * root start; a start that is already unprivileged stays who it is and
 * is only confined.
 */
int sbx_drop_to_user(const char *user, const char *who, char *err, size_t errcap);

/* After setresuid/setresgid: all three uids are uid, all three gids are
 * gid, and setuid(0) fails; -EPERM "privileges not dropped" otherwise. */
int sbx_check_dropped(uid_t uid, gid_t gid, char *err, size_t errcap);

/* no_new_privs (nothing exec'd can gain privileges, and seccomp may be
 * loaded unprivileged), then not dumpable: no core file, and no ptrace
 * or /proc/PID/mem by another process of the same uid, since each
 * daemon's memory holds a key. */
int sbx_confine_self(char *err, size_t errcap);

/*
 * A new filter: default action SCMP_ACT_KILL_PROCESS, and a syscall made
 * through a foreign ABI (i386 int 0x80, x32) killed too, since the rules
 * only know the native numbers.  tsync: the load applies to every thread
 * of the process or fails (for a daemon whose threads exist before).
 * Refuses architectures other than x86-64 and arm64, for which the
 * allowlists were not written.  Clears err.
 */
int sbx_filter_new(scmp_filter_ctx *ctx, bool tsync, char *err, size_t errcap);

/* Allows each call of calls[0..n) with any arguments. */
int sbx_allow_calls(scmp_filter_ctx ctx, const struct sbx_call *calls, size_t n,
		    char *err, size_t errcap);

/* fcntl with F_GETFL, F_SETFL, F_GETFD or F_SETFD only: descriptor flags,
 * no locks, no owners, no leases. */
int sbx_allow_fcntl_flags(scmp_filter_ctx ctx);

/* mmap and mprotect, but never with PROT_EXEC: memory may never become
 * executable, so nothing injected can be run. */
int sbx_allow_noexec_memory(scmp_filter_ctx ctx);

/*
 * Ends what sbx_filter_new() began: r is the result of adding the rules
 * (0, or the first error); with 0 the filter is loaded, else nothing is.
 * The filter is released either way.  Returns 0 once loaded.
 */
int sbx_filter_finish(scmp_filter_ctx ctx, int r, char *err, size_t errcap);

#endif /* _BIOREADER_SANDBOX_H */
