// SPDX-License-Identifier: GPL-2.0-only
/*
 * Device removal under a session: a simulated reader taken down (live=0,
 * rmdir) while a session runs ends the session cleanly (ABORTED /
 * DEVICE_REMOVED or ENODEV), every later call fails with ENODEV, poll
 * reports POLLERR|POLLHUP, close works, the nodes disappear, and the
 * instance can come back.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "lib/brvm_test.h"

struct waiter {
	int fd;
	int ret, err;
	long long ms;
	struct bioreader_verdict v;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	long long t0 = brvm_now_ms();

	w->ret = brvm_wait(w->fd, 20000, &w->v);
	w->err = errno;
	w->ms = brvm_now_ms() - t0;
	return NULL;
}

/*
 * The session's end as seen by WAIT, blocked at the removal or called
 * after it: the DEVICE_REMOVED verdict, released once the suite's drain
 * has acknowledged its record (docs/uapi.md, "Lifetime").
 */
static int removed_ok(int ret, int err, const struct bioreader_verdict *v)
{
	if (ret == 0) {
		brvm_diag_verdict("after removal", v);
		return v->outcome == BIOREADER_OUTCOME_ABORTED &&
		       v->reason == BIOREADER_REASON_DEVICE_REMOVED;
	}
	ktap_diag("WAIT after removal: %s", strerror(err));
	return 0;
}

/* 6 checks: every call on a removed reader's fd. */
static void check_gone_calls(int fd, const char *what)
{
	struct bioreader_policy p;
	struct bioreader_info info;
	struct bioreader_verdict v;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char name[128];
	int n;

	snprintf(name, sizeof(name), "%s: GET_INFO -> ENODEV", what);
	ktap_expect_errno(brvm_info(fd, &info), ENODEV, name);
	snprintf(name, sizeof(name), "%s: SESSION_START -> ENODEV", what);
	ktap_expect_errno(brvm_start_id(fd, 42, 2000, NULL), ENODEV, name);
	snprintf(name, sizeof(name), "%s: SESSION_WAIT -> ENODEV", what);
	ktap_expect_errno(brvm_wait(fd, 0, &v), ENODEV, name);
	snprintf(name, sizeof(name), "%s: ABORT -> ENODEV", what);
	ktap_expect_errno(brvm_abort(fd), ENODEV, name);
	snprintf(name, sizeof(name), "%s: GET_POLICY -> ENODEV", what);
	ktap_expect_errno(brvm_get_policy(fd, &p), ENODEV, name);
	n = poll(&pfd, 1, 1000);
	if (n != 1 || (pfd.revents & (POLLERR | POLLHUP)) !=
		      (POLLERR | POLLHUP))
		ktap_diag("poll: %d, revents %#x", n, pfd.revents);
	snprintf(name, sizeof(name), "%s: poll -> POLLERR|POLLHUP", what);
	ktap_check(n == 1 && (pfd.revents & (POLLERR | POLLHUP)) ==
			     (POLLERR | POLLHUP), name);
}

int main(void)
{
	char node[64], cls[128], plat[128], path[256], dn[64];
	struct bioreader_verdict v;
	struct waiter w;
	struct brvm_sim s;
	pthread_t th;
	int fd, ret, ok, i, good, started;

	ktap_plan(33);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "remove", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0)
		return brvm_bail("open reader");

	/* 1-4: live=0 while a WAIT blocks */
	KTAP_CASE("live=0 while a WAIT blocks") {
	brvm_sim_scene(&s, "empty");
	ok = brvm_start_id(fd, 42, 20000, NULL) == 0;
	ktap_check(ok, "session started (nobody present, 20 s timeout)");
	memset(&w, 0, sizeof(w));
	w.fd = fd;
	pthread_create(&th, NULL, wait_thread, &w);
	brvm_sleep_ms(300);
	snprintf(node, sizeof(node), "%s", s.node);
	snprintf(cls, sizeof(cls), "%s", s.cls);
	snprintf(plat, sizeof(plat), "/sys/bus/platform/devices/%s", s.dev_name);
	ret = brvm_sim_unlive(&s);
	if (ret)
		ktap_diag("live=0: %s", strerror(errno));
	ktap_check(ret == 0, "live=0 while the session runs");
	pthread_join(th, NULL);
	ktap_check(removed_ok(w.ret, w.err, &w.v),
		   "blocked WAIT ends: ABORTED/DEVICE_REMOVED");
	ktap_check(w.ms < 5000, "... promptly");
	ktap_diag("WAIT returned after %lld ms", w.ms);
	}

	/* 5-10: later calls */
	KTAP_CASE("later calls") {
	check_gone_calls(fd, "after live=0");
	}

	/* 11-15: nodes gone, close fine */
	KTAP_CASE("nodes gone, close fine") {
	ktap_check(brvm_wait_path(node, 0, 3000) == 0, "/dev node removed");
	ktap_check(brvm_wait_path(cls, 0, 3000) == 0,
		   "/sys/class/bioreader entry removed");
	ktap_check(brvm_wait_path(plat, 0, 3000) == 0,
		   "platform device removed");
	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/dev_name", s.name);
	ok = brvm_read_file(path, dn, sizeof(dn)) == 0 && dn[0] == 0;
	ktap_check(ok, "configfs dev_name empty when not live");
	ktap_check(close(fd) == 0, "close after removal");
	}

	/* 16-18: the instance comes back */
	KTAP_CASE("the instance comes back") {
	ok = brvm_sim_golive(&s) == 0;
	ktap_check(ok, "instance live again");
	fd = brvm_open(&s);
	brvm_sim_person(&s, 42);
	ok = fd >= 0 && brvm_run_session(fd, 42, 3000, &v) == 0;
	brvm_check_verdict(&v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
			   "new reader works (genuine, default policy)");
	ktap_check(brvm_stat(&s, "sessions") == 1,
		   "new reader starts with fresh statistics");
	}

	/* 19-21: rmdir of a live instance while frames flow */
	KTAP_CASE("rmdir of a live instance while frames flow") {
	ok = brvm_start_id(fd, 42, 20000, NULL) == 0;
	snprintf(node, sizeof(node), "%s", s.node);
	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s", s.name);
	brvm_sleep_ms(50);
	ret = rmdir(path);
	if (ret)
		ktap_diag("rmdir: %s", strerror(errno));
	ktap_check(ok && ret == 0, "rmdir of a live instance mid-session");
	ret = brvm_wait(fd, 5000, &v);
	ktap_check(removed_ok(ret, errno, &v),
		   "WAIT after the removal: ABORTED/DEVICE_REMOVED");
	brvm_sim_destroy(&s);	/* forget it */
	check_gone_calls(fd, "after rmdir");
	ktap_check(close(fd) == 0 && brvm_wait_path(node, 0, 3000) == 0,
		   "close; node gone");
	}

	/* 28-29: removal with an fd open but no session */
	KTAP_CASE("removal with an fd open but no session") {
	if (brvm_sim_create(&s, "remove2", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	snprintf(node, sizeof(node), "%s", s.node);
	brvm_sim_unlive(&s);
	brvm_wait_path(node, 0, 3000);
	ktap_expect_errno(brvm_info(fd, &(struct bioreader_info){ 0 }), ENODEV,
			  "idle fd after removal: GET_INFO -> ENODEV");
	close(fd);
	ktap_expect_errno(open(node, O_RDWR), ENOENT,
			  "old node path cannot be opened");
	}

	/* 30-33: removal races: many quick cycles */
	KTAP_CASE("removal races: many quick cycles") {
	good = 0;
	for (i = 0; i < 6; i++) {
		if (brvm_sim_golive(&s))
			break;
		brvm_sim_person(&s, 42);
		fd = brvm_open(&s);
		if (fd < 0)
			break;
		started = brvm_start_id(fd, 42, 20000, NULL) == 0;
		brvm_sleep_ms(i * 40);
		if (brvm_sim_unlive(&s))
			break;
		ret = brvm_wait(fd, 5000, &v);
		if (started && (removed_ok(ret, errno, &v) ||
				(ret == 0 && v.outcome == BIOREADER_OUTCOME_MATCH)))
			good++;
		close(fd);
	}
	ktap_check(good == 6, "6 live/remove cycles with a session each");
	ok = brvm_sim_golive(&s) == 0;
	fd = ok ? brvm_open(&s) : -1;
	ok = fd >= 0 && brvm_run_session(fd, 42, 3000, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_MATCH;
	ktap_check(ok, "reader works after the cycles");
	if (fd >= 0)
		close(fd);
	ktap_check(brvm_sim_destroy(&s) == 0, "instance removed");
	ktap_check(access(BRVM_CONFIGFS, F_OK) == 0, "simulator still loaded");
	}
	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	return ktap_finish();
}
