// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The test harness itself (tests/lib/ktap.h): this program runs itself
 * with --demo, a program whose cases pass, crash (SIGSEGV, abort), hang,
 * exit, fail a check, fail a precondition and depend on a broken case,
 * and checks that the demo printed exactly the KTAP below: each breakage
 * reported as the failure of its case, and every later case run.  A
 * harness that ran the cases in one process, had no timeout or let a
 * broken precondition cascade would print something else.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"

static int demo(void)
{
	static int carried;
	int fd = -1;

	ktap_plan(15);
	KTAP_CASE("passes") {
		ktap_check(1, "a passing check");
		carried = 42;
	}
	KTAP_CASE("crashes") {
		ktap_check(1, "a check before a SIGSEGV");
		carried = 0;
		raise(SIGSEGV);
		ktap_check(0, "never reached");
	}
	KTAP_CASE("after the crash") {
		ktap_check(carried == 42,
			   "a completed case's state carries on, a crashed one's does not");
		fd = open("/dev/null", O_RDONLY);
	}
	KTAP_CASE("aborts") {
		abort();
	}
	ktap_case_timeout_s = 1;
	KTAP_CASE("hangs") {
		for (;;)
			pause();
	}
	ktap_case_timeout_s = 60;
	KTAP_CASE("after the hang") {
		ktap_check(fd >= 0 && fcntl(fd, F_GETFD) >= 0,
			   "a descriptor opened in an earlier case is still open");
		close(fd);
	}
	KTAP_CASE("exits") {
		exit(3);
	}
	KTAP_CASE("fails a check") {
		ktap_check(0, "a failing check");
		ktap_check(1, "the check after it still runs");
	}
	KTAP_CASE("fixture") {
		ktap_require(1, "a precondition that holds");
		ktap_require(0, "a precondition that fails");
		ktap_check(1, "never reached");
	}
	KTAP_CASE_AFTER("needs the fixture") {
		ktap_check(1, "never reached");
	}
	KTAP_CASE_AFTER("needs that one too") {
		ktap_check(1, "never reached");
	}
	KTAP_CASE("independent of the fixture") {
		ktap_check(1, "runs");
	}
	return ktap_finish();
}

static const char expected[] =
	"KTAP version 1\n"
	"1..15\n"
	"ok 1 a passing check\n"
	"ok 2 a check before a SIGSEGV\n"
	"not ok 3 crashes # crashed: signal 11\n"
	"ok 4 a completed case's state carries on, a crashed one's does not\n"
	"not ok 5 aborts # crashed: signal 6\n"
	"not ok 6 hangs # timeout after 1s\n"
	"ok 7 a descriptor opened in an earlier case is still open\n"
	"not ok 8 exits # exited with status 3\n"
	"not ok 9 a failing check\n"
	"ok 10 the check after it still runs\n"
	"ok 11 a precondition that holds\n"
	"not ok 12 a precondition that fails\n"
	"# fixture: stopped at a failed precondition\n"
	"ok 13 needs the fixture # SKIP the case before it broke\n"
	"ok 14 needs that one too # SKIP the case before it broke\n"
	"ok 15 runs\n"
	"# totals: pass:7 fail:6 skip:2\n";

/* Runs this program with --demo; its stdout into @out. */
static int run_demo(char *out, size_t cap, int *status)
{
	int p[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2);	/* the sanitizers' reports */
		close(p[0]);
		close(p[1]);
		/* the demo's signals must kill it, not be reported by ASan */
		setenv("ASAN_OPTIONS", "handle_segv=0:handle_abort=0:detect_leaks=0", 1);
		unsetenv("KTAP_TIMEOUT_FACTOR");
		execl("/proc/self/exe", "test_ktap_harness", "--demo", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (len + 1 < cap && (n = read(p[0], out + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	out[len] = 0;
	close(p[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	static char out[8192];
	long long t0;
	int st = -1, ok;

	if (argc > 1 && !strcmp(argv[1], "--demo"))
		return demo();

	ktap_plan(5);
	t0 = ktap_now_ms();
	ok = run_demo(out, sizeof(out), &st) == 0;
	ktap_diag("the demo took %lld ms", ktap_now_ms() - t0);
	ktap_check(ok && WIFEXITED(st) && WEXITSTATUS(st) == 1,
		   "the demo ends with status 1 (failures), not by a signal");
	ktap_check(strstr(out, "not ok 3 crashes # crashed: signal 11\n") &&
		   strstr(out, "\nok 4 "),
		   "a SIGSEGV is reported as its case's failure and the next case runs");
	ktap_check(strstr(out, "not ok 6 hangs # timeout after 1s\n") &&
		   strstr(out, "\nok 7 "),
		   "a hanging case is killed at its timeout and the next case runs");
	ktap_check(strstr(out, "# SKIP the case before it broke\n") &&
		   !strstr(out, "never reached"),
		   "a failed precondition stops its case and skips the dependent ones");
	if (!ktap_check(!strcmp(out, expected), "the demo's KTAP is exactly the expected one")) {
		char *line = out, *nl;

		ktap_diag("got (between the lines):");
		ktap_diag("----");
		for (; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl)
				nl = line + strlen(line) - 1;
			ktap_diag("%.*s", (int)(nl - line), line);
		}
		ktap_diag("----");
	}
	return ktap_finish();
}
