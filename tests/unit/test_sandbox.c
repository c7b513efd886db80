// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemons' shared confinement (lib/sandbox/): the refusals of the
 * drop to a user, what a completed drop leaves (ids, no_new_privs, not
 * dumpable), and what a filter built with it kills: a call not on the
 * list, executable memory, fcntl beyond descriptor flags, a forbidden
 * call from a thread made before a TSYNC filter; a filter whose building
 * failed is not loaded.  Each confinement happens in a child process.
 * The drop checks need root (SKIP otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "ktap.h"

/* What the children need to run and end, and no more. */
static const struct sbx_call base[] = {
	SBX_ALLOW(read), SBX_ALLOW(write), SBX_ALLOW(close), SBX_ALLOW(exit),
	SBX_ALLOW(exit_group), SBX_ALLOW(futex), SBX_ALLOW(brk), SBX_ALLOW(munmap),
	SBX_ALLOW(madvise), SBX_ALLOW(rt_sigprocmask), SBX_ALLOW(getpid),
#if defined(__SANITIZE_ADDRESS__)
	/* ASan/UBSan runtime only (sanitizer builds), as in the daemons */
	SBX_ALLOW(sigaltstack), SBX_ALLOW(rt_sigaction), SBX_ALLOW(prctl),
	SBX_ALLOW(readlink), SBX_ALLOW(readlinkat), SBX_ALLOW(sched_getaffinity),
	SBX_ALLOW(prlimit64), SBX_ALLOW(getrlimit), SBX_ALLOW(setrlimit), SBX_ALLOW(tgkill),
	SBX_ALLOW(sched_yield), SBX_ALLOW(pipe2), SBX_ALLOW(open),
#endif
};

/* Runs fn in a child; its wait status. */
static int in_child(int (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static bool exited(int st, int code)
{
	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == code;
}

static bool killed_sigsys(int st)
{
	return st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

/* A filter of base[] plus the shared rules, loaded; 0 on success. */
static int load(bool tsync)
{
	char err[300];
	scmp_filter_ctx ctx;
	int r;

	r = sbx_filter_new(&ctx, tsync, err, sizeof(err));
	if (r)
		return r;
	r = sbx_allow_calls(ctx, base, sizeof(base) / sizeof(base[0]), err, sizeof(err));
	if (!r)
		r = sbx_allow_fcntl_flags(ctx);
	if (!r)
		r = sbx_allow_noexec_memory(ctx);
	return sbx_filter_finish(ctx, r, err, sizeof(err));
}

static int child_allowed(void)
{
	void *p;

	if (load(false))
		return 10;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ))
		return 11;
	if (fcntl(0, F_GETFD) < 0 && errno != EBADF)
		return 12;
	return syscall(SYS_getpid) > 0 ? 0 : 13;
}

static int child_forbidden(void)
{
	if (load(false))
		return 10;
	syscall(SYS_getppid);
	return 0;
}

static int child_exec_mmap(void)
{
	if (load(false))
		return 10;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

static int child_exec_mprotect(void)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || load(false))
		return 10;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 0;
}

static int child_fcntl_lock(void)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };

	if (load(false))
		return 10;
	fcntl(0, F_SETLK, &fl);
	return 0;
}

static int go[2];

static void *forbidden_thread(void *arg)
{
	char c;

	(void)arg;
	if (read(go[0], &c, 1) == 1)
		syscall(SYS_getppid);
	return NULL;
}

/* A thread made before the filter (as the collector's are). */
static int child_tsync(void)
{
	pthread_t t;

	if (pipe(go) || pthread_create(&t, NULL, forbidden_thread, NULL))
		return 9;
	if (load(true))
		return 10;
	if (write(go[1], "x", 1) != 1)
		return 11;
	pthread_join(t, NULL);
	return 0;
}

/* A filter whose building failed (a rule could not be added): nothing
 * is loaded, and the error says so. */
static int child_broken_filter(void)
{
	char err[300];
	scmp_filter_ctx ctx;

	if (sbx_confine_self(err, sizeof(err)) || sbx_filter_new(&ctx, false, err, sizeof(err)))
		return 10;
	if (sbx_filter_finish(ctx, -EINVAL, err, sizeof(err)) != -EINVAL ||
	    strcmp(err, "seccomp: building the filter: Invalid argument"))
		return 11;
	syscall(SYS_getppid);	/* still allowed: no filter */
	return 0;
}

static int child_drop(void)
{
	char err[300];
	struct passwd *pw = getpwnam("nobody");
	uid_t r, e, s;

	if (!pw || sbx_drop_to_user("nobody", "the test", err, sizeof(err)))
		return 10;
	if (getresuid(&r, &e, &s) || r != pw->pw_uid || e != pw->pw_uid || s != pw->pw_uid)
		return 11;
	if (getgid() != pw->pw_gid || setuid(0) == 0)
		return 12;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 13;
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 14;
}

/* Without a change of uid (which would clear the flag itself). */
static int child_confine(void)
{
	char err[300];

	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1 || sbx_confine_self(err, sizeof(err)))
		return 10;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 11;
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 12;
}

static int child_drop_root(void)
{
	char err[300];
	int r = sbx_drop_to_user("root", "the test", err, sizeof(err));

	if (r != -EPERM || !strstr(err, "--user root: the test does not run as root"))
		return 11;
	return geteuid() == 0 ? 0 : 12;
}

static int child_drop_unknown(void)
{
	char err[300];
	int r = sbx_drop_to_user("no-such-user.bioreader", "the test", err, sizeof(err));

	if (r != -ENOENT || !strstr(err, "no such user"))
		return 11;
	return geteuid() == 0 ? 0 : 12;
}

static int child_check_dropped(void)
{
	char err[300];

	/* Still root: uid 65534 is not what getresuid says. */
	return sbx_check_dropped(65534, 65534, err, sizeof(err)) == -EPERM &&
	       !strcmp(err, "privileges not dropped") ? 0 : 11;
}

int main(void)
{
	bool root = geteuid() == 0;

	ktap_plan(12);

	ktap_check(exited(in_child(child_allowed), 0),
		   "filter: listed calls, non-executable mmap/mprotect and fcntl F_GETFD are allowed");
	ktap_check(killed_sigsys(in_child(child_forbidden)),
		   "filter: a call not on the list kills the process (SIGSYS)");
	ktap_check(killed_sigsys(in_child(child_exec_mmap)),
		   "filter: mmap with PROT_EXEC kills the process");
	ktap_check(killed_sigsys(in_child(child_exec_mprotect)),
		   "filter: mprotect to PROT_EXEC kills the process");
	ktap_check(killed_sigsys(in_child(child_fcntl_lock)),
		   "filter: fcntl F_SETLK (not a descriptor flag) kills the process");
	ktap_check(killed_sigsys(in_child(child_tsync)),
		   "filter: with TSYNC, a forbidden call from a thread made before kills the process");
	ktap_check(exited(in_child(child_confine), 0),
		   "confine: no_new_privs, and no longer dumpable");
	ktap_check(exited(in_child(child_broken_filter), 0),
		   "filter: a filter whose building failed is not loaded, and says so");
	if (!root) {
		ktap_skip("drop: to nobody", "not root");
		ktap_skip("drop: refuses a uid 0 user", "not root");
		ktap_skip("drop: refuses an unknown user", "not root");
		ktap_skip("drop: a drop that did not happen is seen", "not root");
	} else {
		ktap_check(exited(in_child(child_drop), 0),
			   "drop: to nobody: all three uids, its gid, setuid(0) fails, no_new_privs, not dumpable");
		ktap_check(exited(in_child(child_drop_root), 0),
			   "drop: a uid 0 user is refused (-EPERM, named), still root");
		ktap_check(exited(in_child(child_drop_unknown), 0),
			   "drop: an unknown user is refused (-ENOENT)");
		ktap_check(exited(in_child(child_check_dropped), 0),
			   "drop: ids that are not the user's are \"privileges not dropped\"");
	}
	return ktap_finish();
}
