/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Minimal KTAP v1 producer for the unit and VM test programs.
 *
 *	ktap_plan(3);
 *	ktap_check(cond, "name");		// ok / not ok
 *	ktap_expect_errno(ret, EINVAL, "name");	// ret == -1 && errno == E
 *	return ktap_finish();			// exit status: 0 = all ok
 *
 * A test that finds a precondition missing says so with ktap_skip(); a
 * skip is neither a pass nor a failure.  Diagnostics go to stdout as "#"
 * lines so that they stay next to the result they explain.
 *
 * Cases.  A crash or a hang in one check must not hide the rest of its
 * program, so the checks are grouped in cases, each run in a forked child
 * under a timeout, as the kernel's kselftest harness does:
 *
 *	KTAP_CASE("abort") {
 *		ktap_require(start() == 0, "a session starts");
 *		ktap_check(...);
 *	}
 *	KTAP_CASE_AFTER("abort again") { ... }	// skipped if "abort" broke
 *
 * A case that dies on a signal gives "not ok N NAME # crashed: signal S",
 * one that outlives its timeout (ktap_case_timeout_s, 60 s by default,
 * times $KTAP_TIMEOUT_FACTOR for slow machines or kernels) is killed
 * and gives "not ok N NAME # timeout after Ts", one that exits on its own
 * "not ok N NAME # exited with status C"; the next case still runs.
 * ktap_require() is a check that, when it fails, ends its case at once
 * (its later checks depend on it); a case that ended in any of these
 * ways is "broken", and the KTAP_CASE_AFTER cases that follow it give
 * "ok N NAME # SKIP ..." instead of cascading failures.
 *
 * The numbering stays flat (one "ok" line per check, the plan counts
 * checks): a case adds no line of its own unless it broke.
 *
 * State.  Unlike kselftest, a case that completes hands its process over
 * to the rest of the program: the child carries on as the program's main
 * line, and the process that forked it only waits, holding nothing (it
 * closes every file descriptor but stdin, stdout and stderr first, and
 * the child waits until it has).  So whatever a case built (variables,
 * heap, open files, a session on a device) is there for the next one, as
 * in straight-line code, and a file descriptor a case closes is really
 * released.  A case that breaks leaves nothing behind in this process:
 * its parent, which forked it from the state before the case, carries
 * on.  Two consequences: while a case runs, its parent holds copies of
 * the descriptors opened before the case (a case that must close the
 * last reference to one of those runs with KTAP_INLINE, in the main line,
 * without isolation); and a child process started in one case is not
 * the child of the process running a later case (waitpid() gives ECHILD
 * there, and such a process is reaped by the one that started it; start
 * and stop such processes in one case, or wait for them to vanish, as
 * tests/unit/lib/swtpm.c does).
 */
#ifndef _BIOREADER_KTAP_H
#define _BIOREADER_KTAP_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* The counters, shared by every process of the program once a case ran. */
struct ktap_counts {
	int planned, num, failed, passed, skipped;
	int broken;		/* the last case did not complete */
};

static struct ktap_counts ktap_counts_local;
static struct ktap_counts *ktap_c = &ktap_counts_local;

#define ktap_planned	(ktap_c->planned)
#define ktap_num	(ktap_c->num)
#define ktap_failed	(ktap_c->failed)
#define ktap_passed	(ktap_c->passed)
#define ktap_skipped	(ktap_c->skipped)

/* Case flags. */
#define KTAP_AFTER	1u	/* skip when the case before broke */
#define KTAP_INLINE	2u	/* run in the main line: no fork, no timeout */

/* Exit status of a case child ended by ktap_require(). */
#define KTAP_EXIT_REQUIRE 86

static unsigned int ktap_case_timeout_s = 60;
static int ktap_case_sock = -1;		/* child: to the parent */

/* Moves the counters to memory every later process shares. */
static inline void ktap_share(void)
{
	struct ktap_counts *c;

	if (ktap_c != &ktap_counts_local)
		return;
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return;		/* cases then run inline */
	*c = ktap_counts_local;
	ktap_c = c;
}

static inline void ktap_plan(int n)
{
	/*
	 * Early, before the test maps and unmaps memory of its own: a test
	 * may count on an address it unmapped staying unmapped.
	 */
	ktap_share();
	ktap_planned = n;
	printf("KTAP version 1\n1..%d\n", n);
	fflush(stdout);
}

static inline void ktap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline int ktap_check(int cond, const char *name)
{
	ktap_num++;
	if (cond)
		ktap_passed++;
	else
		ktap_failed++;
	printf("%sok %d %s\n", cond ? "" : "not ", ktap_num, name);
	fflush(stdout);
	return cond;
}

static inline void ktap_skip(const char *name, const char *why)
{
	ktap_num++;
	ktap_skipped++;
	printf("ok %d %s # SKIP %s\n", ktap_num, name, why);
	fflush(stdout);
}

/* A call that must fail with -1 and errno @err. */
static inline int ktap_expect_errno(long ret, int err, const char *name)
{
	int saved = errno;
	int ok = ret == -1 && saved == err;

	if (!ok)
		ktap_diag("%s: got ret=%ld errno=%d (%s), want errno=%d (%s)",
			  name, ret, ret == -1 ? saved : 0,
			  ret == -1 ? strerror(saved) : "none", err,
			  strerror(err));
	return ktap_check(ok, name);
}

/* ---------------------------------------------------------------- cases */

static inline long long ktap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline unsigned int ktap_timeout_s(void)
{
	const char *f = getenv("KTAP_TIMEOUT_FACTOR");
	unsigned int t = ktap_case_timeout_s;

	if (f && atoi(f) > 0)
		t *= (unsigned int)atoi(f);
	return t;
}

/* Closes every descriptor from 3 on. */
static inline void ktap_close_from_3(void)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	{
		long fd, max = sysconf(_SC_OPEN_MAX);

		for (fd = 3; fd < (max > 0 ? max : 1024); fd++)
			close((int)fd);
	}
}

/*
 * The child running the case took over the program: hold nothing, wait
 * for it (reaping any other child of ours on the way) and end as it ends.
 */
static inline void __attribute__((noreturn)) ktap_case_retire(pid_t pid)
{
	int st = 0;
	pid_t r;

	ktap_close_from_3();	/* also the socket: the child's go-ahead */
	for (;;) {
		r = waitpid(-1, &st, 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			st = 0;
			break;
		}
	}
	if (WIFSIGNALED(st))
		_exit(128 + WTERMSIG(st));
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

/*
 * In a case's child: the case is over, this process carries on as the
 * program.  Returns once the parent holds nothing any more.
 */
static inline void ktap_case_end(void)
{
	char c = 'd';

	if (ktap_case_sock < 0)
		return;
	fflush(NULL);
	if (write(ktap_case_sock, &c, 1) == 1) {
		ssize_t n;

		/* until EOF: the parent closed everything */
		do
			n = read(ktap_case_sock, &c, 1);
		while (n > 0 || (n < 0 && errno == EINTR));
	}
	close(ktap_case_sock);
	ktap_case_sock = -1;
}

/* A case that broke: one failed result that says how. */
static inline void ktap_case_broke(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void ktap_case_broke(const char *name, const char *fmt, ...)
{
	va_list ap;

	ktap_num++;
	ktap_failed++;
	printf("not ok %d %s # ", ktap_num, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* The parent's side of a case: returns (false) only if it broke. */
static inline bool ktap_case_watch(pid_t pid, int sock, const char *name)
{
	unsigned int limit = ktap_timeout_s();
	long long deadline = ktap_now_ms() + 1000LL * limit;
	int st = 0;
	pid_t r;
	char c;

	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };

		if (poll(&pfd, 1, 100) > 0 && recv(sock, &c, 1, MSG_DONTWAIT) == 1)
			ktap_case_retire(pid);	/* completed: hand over */
		/*
		 * Reap whatever of ours ended, not only the case: a process
		 * this one started before the case may have been stopped in
		 * it (and waited for in vain there: it is not the case's).
		 */
		while ((r = waitpid(-1, &st, WNOHANG)) > 0 && r != pid)
			;
		if (r == pid) {
			/* handed over, then ended (the program's end)? */
			if (recv(sock, &c, 1, MSG_DONTWAIT) == 1)
				ktap_case_retire(pid);
			break;
		}
		if (r < 0 && errno != EINTR) {
			st = 0;
			break;
		}
		if (ktap_now_ms() > deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			close(sock);
			ktap_c->broken = 1;
			ktap_case_broke(name, "timeout after %us", limit);
			return false;
		}
	}
	close(sock);
	ktap_c->broken = 1;
	if (r != pid)
		ktap_case_broke(name, "lost: %s", strerror(errno));
	else if (WIFSIGNALED(st))
		ktap_case_broke(name, "crashed: signal %d", WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == KTAP_EXIT_REQUIRE)
		ktap_diag("%s: stopped at a failed precondition", name);
	else
		ktap_case_broke(name, "exited with status %d",
				WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return false;
}

/*
 * Starts a case: true in the process that is to run its block (a forked
 * child, or this process for KTAP_INLINE), false when it is skipped or
 * broke (the caller skips the block).
 */
static inline bool ktap_case(const char *name, unsigned int flags)
{
	int sv[2];
	pid_t pid;

	ktap_case_end();
	if ((flags & KTAP_AFTER) && ktap_c->broken) {
		ktap_skip(name, "the case before it broke");
		return false;
	}
	ktap_c->broken = 0;
	if (flags & KTAP_INLINE)
		return true;
	ktap_share();
	fflush(NULL);
	if (ktap_c == &ktap_counts_local ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return true;	/* no isolation, but the checks run */
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return true;
	}
	if (pid == 0) {
		close(sv[0]);
		ktap_case_sock = sv[1];
		return true;
	}
	close(sv[1]);
	return ktap_case_watch(pid, sv[0], name);
}

#define KTAP_CASE(name)		if (ktap_case((name), 0))
#define KTAP_CASE_AFTER(name)	if (ktap_case((name), KTAP_AFTER))

/*
 * A check the rest of its case depends on: when it fails, the case ends
 * here (outside a case, it only marks the program's state as broken for
 * the KTAP_CASE_AFTER cases).
 */
static inline int ktap_require(int cond, const char *name)
{
	if (ktap_check(cond, name))
		return 1;
	ktap_c->broken = 1;
	if (ktap_case_sock >= 0) {
		fflush(NULL);
		_exit(KTAP_EXIT_REQUIRE);
	}
	return 0;
}

static inline int ktap_finish(void)
{
	ktap_case_end();
	if (ktap_num != ktap_planned) {
		ktap_diag("planned %d tests but ran %d", ktap_planned,
			  ktap_num);
		ktap_failed++;
	}
	ktap_diag("totals: pass:%d fail:%d skip:%d", ktap_passed,
		  ktap_failed, ktap_skipped);
	return ktap_failed ? 1 : 0;
}

#endif /* _BIOREADER_KTAP_H */
