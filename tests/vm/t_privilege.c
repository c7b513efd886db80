// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unprivileged callers: a process that opened the reader and then lost
 * CAP_SYS_ADMIN (capset, uid 0 kept) or became "nobody" is refused
 * SET_POLICY and RESET_STATS with EPERM, while GET_INFO, GET_POLICY and
 * sessions still work.  Simulator control (configfs) is root's.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/brvm_test.h"

enum {
	C_SET_POLICY,
	C_RESET_STATS,
	C_GET_INFO,
	C_GET_POLICY,
	C_SESSION,
	C_CONFIGFS,
	C_NBITS
};

static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int w = CAP_SYS_ADMIN / 32;
	unsigned int bit = 1U << (CAP_SYS_ADMIN % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[w].effective &= ~bit;
	data[w].permitted &= ~bit;
	data[w].inheritable &= ~bit;
	return syscall(SYS_capset, &hdr, data);
}

static int become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return -1;
	return 0;
}

/* In the child: the checks, one bit each in the exit status. */
static int child(const struct brvm_sim *s, int nobody)
{
	struct bioreader_policy p;
	struct bioreader_info info;
	struct bioreader_verdict v;
	char path[256];
	int fd, res = 0, ret;

	fd = brvm_open(s);
	if (fd < 0)
		return 0x80;
	if (nobody ? become_nobody() : drop_sys_admin()) {
		printf("# dropping privileges: %s\n", strerror(errno));
		return 0x80;
	}
	if (brvm_get_policy(fd, &p) == 0)
		res |= 1 << C_GET_POLICY;
	ret = brvm_set_policy(fd, &p);
	if (ret == -1 && errno == EPERM)
		res |= 1 << C_SET_POLICY;
	else
		printf("# SET_POLICY: ret %d (%s)\n", ret,
		       ret ? strerror(errno) : "accepted");
	ret = ioctl(fd, BIOREADER_IOC_RESET_STATS);
	if (ret == -1 && errno == EPERM)
		res |= 1 << C_RESET_STATS;
	else
		printf("# RESET_STATS: ret %d (%s)\n", ret,
		       ret ? strerror(errno) : "accepted");
	if (brvm_info(fd, &info) == 0 &&
	    info.api_version == BIOREADER_API_VERSION)
		res |= 1 << C_GET_INFO;
	if (brvm_start_id(fd, 42, 2000, NULL) == 0 && brvm_abort(fd) == 0 &&
	    brvm_wait(fd, 5000, &v) == 0 &&
	    v.outcome == BIOREADER_OUTCOME_ABORTED)
		res |= 1 << C_SESSION;
	else
		printf("# session: %s\n", strerror(errno));
	snprintf(path, sizeof(path), BRVM_CONFIGFS "/priv-%d", (int)getpid());
	ret = mkdir(path, 0755);
	if (ret == -1 && (errno == EACCES || errno == EPERM))
		res |= 1 << C_CONFIGFS;
	else if (!ret)
		rmdir(path);
	close(fd);
	fflush(stdout);
	return res;
}

static int run_child(const struct brvm_sim *s, int nobody)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child(s, nobody));
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 0;
	return WEXITSTATUS(st);
}

int main(void)
{
	struct bioreader_policy before, after;
	struct bioreader_verdict v;
	struct brvm_sim s;
	int fd, r;

	ktap_plan(16);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "priv", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0 || brvm_get_policy(fd, &before))
		return brvm_bail("open reader");
	brvm_sim_person(&s, 42);
	brvm_run_session(fd, 42, 3000, &v);

	/* 1-5: root without CAP_SYS_ADMIN */
	KTAP_CASE("root without CAP_SYS_ADMIN") {
		r = run_child(&s, 0);
		ktap_check(r & (1 << C_SET_POLICY),
			   "no CAP_SYS_ADMIN: SET_POLICY -> EPERM");
		ktap_check(r & (1 << C_RESET_STATS),
			   "no CAP_SYS_ADMIN: RESET_STATS -> EPERM");
		ktap_check(r & (1 << C_GET_INFO), "no CAP_SYS_ADMIN: GET_INFO works");
		ktap_check(r & (1 << C_GET_POLICY),
			   "no CAP_SYS_ADMIN: GET_POLICY works");
		ktap_check(r & (1 << C_SESSION),
			   "no CAP_SYS_ADMIN: a session starts and aborts");
	}

	/* 6-11: uid nobody, after opening */
	KTAP_CASE("uid nobody, after opening") {
		r = run_child(&s, 1);
		ktap_check(r & (1 << C_SET_POLICY), "nobody: SET_POLICY -> EPERM");
		ktap_check(r & (1 << C_RESET_STATS), "nobody: RESET_STATS -> EPERM");
		ktap_check(r & (1 << C_GET_INFO), "nobody: GET_INFO works");
		ktap_check(r & (1 << C_GET_POLICY), "nobody: GET_POLICY works");
		ktap_check(r & (1 << C_SESSION), "nobody: a session starts and aborts");
		ktap_check(r & (1 << C_CONFIGFS),
			   "nobody: cannot create a simulated reader (configfs)");
	}

	/* 12-14: nothing changed */
	KTAP_CASE("nothing changed") {
		ktap_check(brvm_get_policy(fd, &after) == 0 &&
			   !memcmp(&before, &after, sizeof(after)),
			   "policy unchanged");
		ktap_check(brvm_stat(&s, "sessions") == 3,
			   "stats not reset (3 sessions counted)");
		ktap_check(brvm_stat(&s, "aborted") == 2, "both aborts counted");
	}

	/* 15-16: root still may */
	KTAP_CASE("root still may") {
		ktap_check(brvm_set_policy(fd, &before) == 0, "root: SET_POLICY works");
		ktap_check(ioctl(fd, BIOREADER_IOC_RESET_STATS) == 0 &&
			   brvm_stat(&s, "sessions") == 0,
			   "root: RESET_STATS works");
	}
	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd);
	brvm_sim_destroy(&s);
	return ktap_finish();
}
