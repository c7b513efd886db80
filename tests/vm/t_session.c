// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session ownership and lifetime: -EBUSY for a second session, -ENOENT
 * for another fd, non-blocking and timed WAIT, EINTR, poll() readiness,
 * abort, close of the owner mid-session, a verdict kept until read.
 */
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/brvm_test.h"

#define PERSON	42

static void on_alarm(int sig)
{
	(void)sig;
}

static short poll_events(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) < 0)
		return -1;
	return pfd.revents;
}

int main(void)
{
	struct bioreader_info info;
	struct bioreader_verdict v;
	struct sigaction sa;
	struct itimerval it;
	struct brvm_sim s;
	long long t0, el, aborted0;
	uint64_t sid, sid2;
	int fd1, fd2, fd3, ret, ok, i;
	short ev;

	ktap_plan(30);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "session", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd1 = brvm_open(&s);
	fd2 = brvm_open(&s);
	if (fd1 < 0 || fd2 < 0)
		return brvm_bail("open reader");
	if (brvm_allow_no_liveness(fd1, 1))
		return brvm_bail("SET_POLICY");
	brvm_sim_scene(&s, "empty");
	aborted0 = brvm_stat(&s, "aborted");

	/* 1-4: one session per reader */
	KTAP_CASE("one session per reader") {
		brvm_ok(brvm_start_id(fd1, PERSON, 10000, &sid), "SESSION_START on fd1");
		ktap_check(brvm_info(fd2, &info) == 0 &&
			   info.state == BIOREADER_STATE_BUSY,
			   "GET_INFO from another fd: state BUSY");
		ktap_expect_errno(brvm_start_id(fd2, PERSON, 10000, NULL), EBUSY,
				  "second session from another fd -> EBUSY");
		ktap_expect_errno(brvm_start_id(fd1, PERSON, 10000, NULL), EBUSY,
				  "second session on the owner fd -> EBUSY");
	}

	/* 5-6: non-owner */
	KTAP_CASE("non-owner") {
		ktap_expect_errno(brvm_wait(fd2, 0, &v), ENOENT,
				  "WAIT from a non-owner fd -> ENOENT");
		ktap_expect_errno(brvm_abort(fd2), ENOENT,
				  "ABORT from a non-owner fd -> ENOENT");
	}

	/* 7-9: not ready yet */
	KTAP_CASE("not ready yet") {
		ktap_expect_errno(brvm_wait(fd1, 0, &v), EAGAIN,
				  "WAIT timeout 0 while running -> EAGAIN");
		t0 = brvm_now_ms();
		ret = brvm_wait(fd1, 300, &v);
		el = brvm_now_ms() - t0;
		ktap_expect_errno(ret, ETIMEDOUT, "WAIT 300 ms while running -> ETIMEDOUT");
		if (el < 250 || el > 3000)
			ktap_diag("WAIT 300 ms returned after %lld ms", el);
		ktap_check(el >= 250 && el <= 3000, "WAIT blocked about 300 ms");
		ev = poll_events(fd1, 0);
		ktap_check(ev == 0, "poll: nothing ready while running");
		if (ev)
			ktap_diag("revents %#x", ev);
	}

	/* 11: a signal interrupts WAIT */
	KTAP_CASE("a signal interrupts WAIT") {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;	/* no SA_RESTART */
		sigaction(SIGALRM, &sa, NULL);
		memset(&it, 0, sizeof(it));
		it.it_value.tv_usec = 300000;
		setitimer(ITIMER_REAL, &it, NULL);
		t0 = brvm_now_ms();
		ret = brvm_wait(fd1, 5000, &v);
		el = brvm_now_ms() - t0;
		ktap_expect_errno(ret, EINTR, "WAIT interrupted by a signal -> EINTR");
		if (el > 3000)
			ktap_diag("interrupted WAIT returned after %lld ms", el);
	}

	/* 12-14: abort */
	KTAP_CASE("abort") {
		ktap_check(brvm_abort(fd1) == 0, "ABORT by the owner");
		ret = brvm_wait(fd1, 5000, &v);
		ktap_check(ret == 0 && v.session_id == sid,
			   "WAIT after ABORT returns the session's verdict");
		brvm_check_verdict(&v, BIOREADER_OUTCOME_ABORTED,
				   BIOREADER_REASON_USER_ABORT,
				   "abort -> ABORTED/USER_ABORT");
		ktap_expect_errno(brvm_abort(fd1), ENOENT,
				  "ABORT with no session -> ENOENT");
	}

	/* 16-17: reader free again, from the other fd */
	KTAP_CASE("reader free again, from the other fd") {
		ok = brvm_info(fd2, &info) == 0 && info.state == BIOREADER_STATE_IDLE;
		ktap_check(ok, "reader idle after abort");
		ok = brvm_start_id(fd2, PERSON, 10000, &sid2) == 0;
		if (!ok)
			ktap_diag("start after abort: %s", strerror(errno));
		ok = ok && brvm_abort(fd2) == 0 && brvm_wait(fd2, 5000, &v) == 0 &&
		     v.outcome == BIOREADER_OUTCOME_ABORTED && sid2 != sid;
		ktap_check(ok, "a new session starts after abort (other fd)");
	}

	/* 18-19: close of the owner mid-session frees the reader */
	KTAP_CASE("close of the owner mid-session frees the reader") {
		fd3 = brvm_open(&s);
		ok = fd3 >= 0 && brvm_start_id(fd3, PERSON, 10000, NULL) == 0;
		ktap_check(ok, "session started on a third fd");
		close(fd3);
		t0 = brvm_now_ms();
		for (i = 0; i < 50; i++) {
			ret = brvm_start_id(fd1, PERSON, 10000, &sid);
			if (ret == 0 || errno != EBUSY)
				break;
			brvm_sleep_ms(20);
		}
		if (i)
			ktap_diag("reader busy for %lld ms after close",
				  brvm_now_ms() - t0);
		ktap_check(ret == 0 && i == 0,
			   "close mid-session: new session starts at once");
		brvm_abort(fd1);
		brvm_wait(fd1, 5000, &v);
	}

	/* 20-21: close while frames flow and matching runs */
	KTAP_CASE("close while frames flow and matching runs") {
		brvm_sim_person(&s, PERSON);
		fd3 = brvm_open(&s);
		ok = fd3 >= 0 && brvm_start_id(fd3, PERSON, 10000, NULL) == 0;
		brvm_sleep_ms(50);
		close(fd3);
		ktap_check(ok, "close right after a start with a person present");
		ok = brvm_run_session(fd1, PERSON, 3000, &v) == 0;
		brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "reader works after close mid-session: MATCH");
	}

	/* 22-25: poll readiness */
	KTAP_CASE("poll readiness") {
		ok = brvm_start_id(fd1, PERSON, 5000, &sid) == 0;
		t0 = brvm_now_ms();
		ev = poll_events(fd1, 15000);
		el = brvm_now_ms() - t0;
		ktap_check(ok && ev > 0 && (ev & POLLIN) && !(ev & (POLLERR | POLLHUP)),
			   "poll: POLLIN when the verdict is ready");
		ktap_diag("verdict ready after %lld ms (revents %#x)", el, ev);
		ktap_check(poll_events(fd2, 0) == 0,
			   "poll on a non-owner fd: nothing ready");
		ok = brvm_wait(fd1, 0, &v) == 0 && v.session_id == sid;
		brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "WAIT timeout 0 after POLLIN returns the verdict");
		ktap_check(poll_events(fd1, 0) == 0,
			   "poll after the verdict was read: nothing ready");
	}

	/* 26-29: a verdict nobody waited for is kept for its owner */
	KTAP_CASE("a verdict nobody waited for is kept for its owner") {
		brvm_sim_scene(&s, "empty");
		ok = brvm_start_id(fd1, PERSON, 500, &sid) == 0;
		brvm_sleep_ms(1500);
		ok = ok && (poll_events(fd1, 0) & POLLIN);
		ktap_check(ok, "session timed out unobserved: poll shows POLLIN");
		ret = brvm_start_id(fd2, PERSON, 10000, &sid2);
		if (ret)
			ktap_diag("start on fd2: %s", strerror(errno));
		ktap_check(ret == 0,
			   "reader free for another fd while a verdict waits to be read");
		if (!ret) {
			brvm_abort(fd2);
			brvm_wait(fd2, 5000, &v);
		}
		ok = brvm_wait(fd1, 0, &v) == 0 && v.session_id == sid;
		brvm_check_verdict(&v, BIOREADER_OUTCOME_TIMEOUT,
				   BIOREADER_REASON_NO_FACE,
				   "kept verdict: TIMEOUT/NO_FACE for the owner");
		{
			long long ab = brvm_stat(&s, "aborted");

			if (ab - aborted0 < 3)
				ktap_diag("stats/aborted %lld -> %lld", aborted0, ab);
			ktap_check(ab - aborted0 >= 3,
				   "stats: aborts (incl. close) counted");
		}
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd1);
	close(fd2);
	ktap_check(brvm_sim_destroy(&s) == 0, "instance removed");
	return ktap_finish();
}
