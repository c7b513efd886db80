// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module unloading: bioreader cannot be unloaded while a reader file is
 * open (module in use) and can after close; bioreader_sim unloaded
 * while a session runs ends that session cleanly; both load again and
 * work.  Runs last: it unloads the modules.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/brvm_test.h"

static int unload(const char *mod)
{
	return syscall(SYS_delete_module, mod, O_NONBLOCK);
}

static int loaded(const char *mod)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", mod);
	return access(path, F_OK) == 0;
}

/* Unload, retrying briefly (a closing file releases its reference). */
static int unload_retry(const char *mod)
{
	int i, ret = -1;

	for (i = 0; i < 50; i++) {
		ret = unload(mod);
		if (ret == 0 || (errno != EAGAIN && errno != EBUSY))
			break;
		brvm_sleep_ms(40);
	}
	if (ret)
		ktap_diag("unloading %s: %s", mod, strerror(errno));
	return ret;
}

int main(void)
{
	struct bioreader_info info;
	struct bioreader_verdict v;
	char path[256], node[64];
	struct brvm_sim s, s2;
	struct brvm_waiter w;
	pthread_t th;
	int fd, ret, ok;

	ktap_plan(20);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "rmmod", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0)
		return brvm_bail("open reader");
	snprintf(node, sizeof(node), "%s", s.node);

	/* 1-3: bioreader in use while a file is open */
	KTAP_CASE("bioreader in use while a file is open") {
	ret = unload("bioreader");
	if (ret == 0 || (errno != EAGAIN && errno != EBUSY))
		ktap_diag("delete_module(bioreader): %s",
			  ret ? strerror(errno) : "succeeded");
	ktap_check(ret == -1 && (errno == EAGAIN || errno == EBUSY),
		   "rmmod bioreader with a file open -> refused (in use)");
	ktap_check(loaded("bioreader") && brvm_info(fd, &info) == 0,
		   "module still loaded, the open file works");
	brvm_sim_person(&s, 42);
	ok = brvm_start_id(fd, 42, 20000, NULL) == 0;
	ret = unload("bioreader");
	ktap_check(ok && ret == -1 && brvm_abort(fd) == 0 &&
		   brvm_wait(fd, 5000, &v) == 0 &&
		   v.outcome == BIOREADER_OUTCOME_ABORTED,
		   "refused during a session too; the session is unaffected");
		close(fd);	/* in the case: its parent keeps no copy for the next */
	}

	/* 4-6: after close it unloads */
	KTAP_CASE("after close it unloads") {
	brvm_drain_stop();	/* the open audit node pins bioreader too */
	ktap_check(unload_retry("bioreader") == 0 && !loaded("bioreader"),
		   "rmmod bioreader after close");
	ktap_check(brvm_wait_path(node, 0, 3000) == 0 &&
		   access("/sys/class/bioreader", F_OK) != 0,
		   "device node and class gone");
	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/driver",
		 s.dev_name);
	ktap_check(access(path, F_OK) != 0 && s.dev_name[0],
		   "simulated device stays, unbound");
	}

	/* 7-8: load again: it binds the existing device */
	KTAP_CASE("load again: it binds the existing device") {
	ret = brvm_sh("modprobe bioreader");
	brvm_drain_start();	/* sessions need an audit consumer */
	ktap_check(ret == 0 && brvm_sim_find_node(&s, 5000) == 0,
		   "modprobe bioreader binds the reader");
	fd = brvm_open(&s);
	ok = fd >= 0 && brvm_run_session(fd, 42, 3000, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_MATCH;
	ktap_check(ok, "reader works after reload");
	}

	/* 9-14: bioreader_sim unloaded while a session runs */
	KTAP_CASE("bioreader_sim unloaded while a session runs") {
	brvm_sim_scene(&s, "empty");
	ok = brvm_start_id(fd, 42, 20000, NULL) == 0;
	memset(&w, 0, sizeof(w));
	w.fd = fd;
	pthread_create(&th, NULL, brvm_waiter_run, &w);
	brvm_sleep_ms(200);
	ret = unload("bioreader_sim");
	if (ret) {
		/* configfs pins the module while an instance directory exists */
		ktap_diag("rmmod bioreader_sim with an instance: %s; removing the instance first",
			  strerror(errno));
		snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s", s.name);
		rmdir(path);
		ret = unload_retry("bioreader_sim");
	}
	ktap_check(ok && ret == 0 && !loaded("bioreader_sim"),
		   "rmmod bioreader_sim while a session runs");
	brvm_sim_destroy(&s);
	pthread_join(th, NULL);
	if (w.ret == 0)
		brvm_diag_verdict("session", &w.v);
	if (w.ret)
		ktap_diag("WAIT: %s", strerror(w.err));
	ktap_check(w.ret == 0 && w.v.outcome == BIOREADER_OUTCOME_ABORTED &&
		   w.v.reason == BIOREADER_REASON_DEVICE_REMOVED,
		   "the blocked WAIT gets ABORTED/DEVICE_REMOVED");
	ktap_expect_errno(brvm_info(fd, &info), ENODEV,
			  "later calls -> ENODEV");
	ktap_check(close(fd) == 0, "close after the simulator is gone");
	ktap_check(access(BRVM_CONFIGFS, F_OK) != 0, "configfs subsystem gone");
	ktap_check(brvm_wait_path(s.node, 0, 3000) == 0, "device node gone");
	}

	/* 15-17: load again and work */
	KTAP_CASE("load again and work") {
	ktap_check(brvm_sh("modprobe bioreader_sim") == 0 &&
		   brvm_wait_path(BRVM_CONFIGFS, 1, 3000) == 0,
		   "modprobe bioreader_sim");
	ok = brvm_sim_create(&s2, "rmmod2", 0, 0, 0) == 0;
	fd = ok ? brvm_open(&s2) : -1;
	brvm_sim_person(&s2, 42);
	ok = fd >= 0 && brvm_run_session(fd, 42, 3000, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_MATCH;
	ktap_check(ok, "new simulated reader works");
	if (fd >= 0)
		close(fd);
	ktap_check(brvm_sim_destroy(&s2) == 0, "instance removed");
	}

	/* 18-20: plain unload of both with nothing open, then reload */
	KTAP_CASE("plain unload of both with nothing open, then reload") {
	brvm_drain_stop();
	ktap_check(unload_retry("bioreader") == 0, "rmmod bioreader (idle)");
	ktap_check(unload_retry("bioreader_sim") == 0,
		   "rmmod bioreader_sim (idle)");
	ktap_check(brvm_sh("modprobe bioreader_sim && modprobe bioreader") == 0,
		   "both load again");
	brvm_drain_start();
	}
	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	return ktap_finish();
}
