// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the VM test programs; see brvm.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "brvm.h"
#include "bioreader_hw.h"
#include "sim/sim_identity.h"

#define BRVM_MAX_SIMS	8

static struct brvm_sim *brvm_sims[BRVM_MAX_SIMS];
static int brvm_atexit_done;

long long brvm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void brvm_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int brvm_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int brvm_write_file(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, len);
	err = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? err : EIO;
		return -1;
	}
	return 0;
}

int brvm_read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	err = errno;
	close(fd);
	if (n < 0) {
		errno = err;
		return -1;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int brvm_wait_path(const char *path, int want, int ms)
{
	long long end = brvm_now_ms() + ms;

	for (;;) {
		int exists = access(path, F_OK) == 0;

		if (exists == !!want)
			return 0;
		if (brvm_now_ms() >= end)
			return -1;
		brvm_sleep_ms(20);
	}
}

int brvm_setup(void)
{
	if (access(BRVM_CONFIGFS, F_OK) == 0 &&
	    access("/sys/class/bioreader", F_OK) == 0)
		return 0;
	brvm_sh("modprobe configfs 2>/dev/null");
	/* fails harmlessly (EBUSY) when configfs is mounted already */
	mount("configfs", "/sys/kernel/config", "configfs", 0, NULL);
	if (brvm_sh("modprobe bioreader_sim") != 0)
		return -1;
	if (brvm_sh("modprobe bioreader") != 0)
		return -1;
	if (brvm_wait_path(BRVM_CONFIGFS, 1, 2000))
		return -1;
	return 0;
}

static void brvm_atexit(void)
{
	brvm_sim_destroy_all();
}

static void brvm_track(struct brvm_sim *s, int add)
{
	int i;

	if (!brvm_atexit_done) {
		atexit(brvm_atexit);
		brvm_atexit_done = 1;
	}
	for (i = 0; i < BRVM_MAX_SIMS; i++) {
		if (add && !brvm_sims[i]) {
			brvm_sims[i] = s;
			return;
		}
		if (!add && brvm_sims[i] == s) {
			brvm_sims[i] = NULL;
			return;
		}
	}
}

static int brvm_attr_write(const struct brvm_sim *s, const char *attr,
			   const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/%s", s->name, attr);
	return brvm_write_file(path, val);
}

static int brvm_attr_u(const struct brvm_sim *s, const char *attr,
		       unsigned int v)
{
	char val[32];

	snprintf(val, sizeof(val), "%u", v);
	return brvm_attr_write(s, attr, val);
}

/* Find N in /sys/bus/platform/devices/<dev_name>/bioreader/bioreaderN. */
static int brvm_find_index(const char *dev_name)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int idx = -1;

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/bioreader",
		 dev_name);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "bioreader%d", &idx) == 1)
			break;
		idx = -1;
	}
	closedir(d);
	return idx;
}

int brvm_sim_create(struct brvm_sim *s, const char *name, unsigned int w,
		    unsigned int h, unsigned int fps)
{
	char path[256];

	memset(s, 0, sizeof(*s));
	s->index = -1;
	snprintf(s->name, sizeof(s->name), "%s-%d", name, (int)getpid());
	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s", s->name);
	if (mkdir(path, 0755)) {
		printf("# mkdir %s: %s\n", path, strerror(errno));
		return -1;
	}
	brvm_track(s, 1);
	if (brvm_attr_u(s, "width", w ? w : BRVM_WIDTH) ||
	    brvm_attr_u(s, "height", h ? h : BRVM_HEIGHT) ||
	    brvm_attr_u(s, "fps", fps ? fps : BRVM_FPS)) {
		printf("# %s: geometry: %s\n", s->name, strerror(errno));
		return -1;
	}
	return brvm_sim_golive(s);
}

int brvm_sim_golive(struct brvm_sim *s)
{
	s->dev_name[0] = 0;
	s->node[0] = 0;
	s->index = -1;
	if (brvm_attr_write(s, "live", "1")) {
		printf("# %s: live=1: %s\n", s->name, strerror(errno));
		return -1;
	}
	s->live = 1;
	return brvm_sim_find_node(s, 5000);
}

int brvm_sim_find_node(struct brvm_sim *s, int ms)
{
	char path[256];
	long long end = brvm_now_ms() + ms;

	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/dev_name", s->name);
	for (;;) {
		if (!brvm_read_file(path, s->dev_name, sizeof(s->dev_name)) &&
		    s->dev_name[0]) {
			s->index = brvm_find_index(s->dev_name);
			if (s->index >= 0)
				break;
		}
		if (brvm_now_ms() > end) {
			printf("# %s: no reader bound (dev_name '%s')\n",
			       s->name, s->dev_name);
			return -1;
		}
		brvm_sleep_ms(20);
	}
	snprintf(s->node, sizeof(s->node), "/dev/bioreader%d", s->index);
	snprintf(s->cls, sizeof(s->cls), "/sys/class/bioreader/bioreader%d",
		 s->index);
	if (brvm_wait_path(s->node, 1, ms)) {
		printf("# %s: %s did not appear\n", s->name, s->node);
		return -1;
	}
	return 0;
}

int brvm_sim_scene(struct brvm_sim *s, const char *scene)
{
	if (brvm_attr_write(s, "scene", scene)) {
		printf("# %s: scene '%s': %s\n", s->name, scene,
		       strerror(errno));
		return -1;
	}
	return 0;
}

int brvm_sim_person(struct brvm_sim *s, uint64_t identity)
{
	char scene[64];

	snprintf(scene, sizeof(scene), "person %llu",
		 (unsigned long long)identity);
	return brvm_sim_scene(s, scene);
}

int brvm_sim_debugfs(const struct brvm_sim *s, const char *file, char *path,
		     size_t cap)
{
	if (!s->dev_name[0]) {
		errno = ENODEV;
		return -1;
	}
	if (access(BRVM_DEBUGFS, F_OK) &&
	    mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) &&
	    errno != EBUSY)
		printf("# mount debugfs: %s\n", strerror(errno));
	if (snprintf(path, cap, BRVM_DEBUGFS "/%s/%s", s->dev_name, file) >=
	    (int)cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int brvm_sim_inject(const struct brvm_sim *s, const char *what)
{
	char path[256];

	if (brvm_sim_debugfs(s, "inject", path, sizeof(path)))
		return -1;
	return brvm_write_file(path, what);
}

int brvm_sim_unlive(struct brvm_sim *s)
{
	if (brvm_attr_write(s, "live", "0"))
		return -1;
	s->live = 0;
	return 0;
}

int brvm_sim_destroy(struct brvm_sim *s)
{
	char path[256];
	int ret = 0;

	if (!s->name[0])
		return 0;
	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s", s->name);
	if (access(path, F_OK) == 0) {
		if (s->live && brvm_sim_unlive(s))
			ret = -1;
		if (rmdir(path))
			ret = -1;
	}
	brvm_track(s, 0);
	s->name[0] = 0;
	return ret;
}

void brvm_sim_destroy_all(void)
{
	int i;

	for (i = 0; i < BRVM_MAX_SIMS; i++)
		if (brvm_sims[i])
			brvm_sim_destroy(brvm_sims[i]);
}

int brvm_open(const struct brvm_sim *s)
{
	return open(s->node, O_RDWR | O_CLOEXEC);
}

void brvm_embedding(uint64_t identity, unsigned int dim, int8_t *out)
{
	sim_identity_embedding(identity, dim, out);
}

size_t brvm_template(uint64_t identity, unsigned int dim, void *buf,
		     size_t cap)
{
	struct bioreader_template_hdr hdr;
	size_t len = BIOREADER_TEMPLATE_HDR_SIZE + dim;
	uint8_t *p = buf;

	if (cap < len || dim > BRHW_EMB_MAX)
		return 0;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = htole32(BIOREADER_TEMPLATE_MAGIC);
	hdr.version = htole16(BIOREADER_TEMPLATE_VERSION);
	hdr.dim = htole16(dim);
	hdr.format = BIOREADER_TEMPLATE_FMT_INT8_L2;
	memcpy(p, &hdr, sizeof(hdr));
	brvm_embedding(identity, dim, (int8_t *)(p + sizeof(hdr)));
	return len;
}

int brvm_start(int fd, const void *tpl, size_t len, const char *op,
	       uint32_t timeout_ms, uint32_t level, uint64_t *sid)
{
	struct bioreader_session_start st;

	memset(&st, 0, sizeof(st));
	st.template_ptr = (uintptr_t)tpl;
	st.template_len = len;
	st.security_level = level;
	st.timeout_ms = timeout_ms;
	strncpy(st.operator_id, op, sizeof(st.operator_id) - 1);
	if (ioctl(fd, BIOREADER_IOC_SESSION_START, &st))
		return -1;
	if (sid)
		*sid = st.session_id;
	return 0;
}

int brvm_start_id(int fd, uint64_t identity, uint32_t timeout_ms,
		  uint64_t *sid)
{
	uint8_t tpl[BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM];
	size_t len = brvm_template(identity, BRVM_EMB_DIM, tpl, sizeof(tpl));

	return brvm_start(fd, tpl, len, "op-test", timeout_ms, 0, sid);
}

int brvm_start_declared(int fd, uint64_t identity, uint32_t timeout_ms,
			uint32_t source, uint32_t flags, const uint8_t *issuer,
			const uint8_t *signer, uint64_t *sid)
{
	uint8_t tpl[BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM];
	struct bioreader_session_start st;

	memset(&st, 0, sizeof(st));
	st.template_len = brvm_template(identity, BRVM_EMB_DIM, tpl, sizeof(tpl));
	st.template_ptr = (uintptr_t)tpl;
	st.timeout_ms = timeout_ms;
	strcpy(st.operator_id, "op-test");
	st.ref_source = source;
	st.ref_flags = flags;
	if (issuer)
		memcpy(st.ref_issuer_sha256, issuer, sizeof(st.ref_issuer_sha256));
	if (signer)
		memcpy(st.ref_signer_sha256, signer, sizeof(st.ref_signer_sha256));
	if (ioctl(fd, BIOREADER_IOC_SESSION_START, &st))
		return -1;
	if (sid)
		*sid = st.session_id;
	return 0;
}

int brvm_wait(int fd, uint32_t timeout_ms, struct bioreader_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->timeout_ms = timeout_ms;
	return ioctl(fd, BIOREADER_IOC_SESSION_WAIT, v);
}

int brvm_abort(int fd)
{
	return ioctl(fd, BIOREADER_IOC_SESSION_ABORT);
}

int brvm_info(int fd, struct bioreader_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, BIOREADER_IOC_GET_INFO, info);
}

int brvm_get_policy(int fd, struct bioreader_policy *p)
{
	memset(p, 0, sizeof(*p));
	return ioctl(fd, BIOREADER_IOC_GET_POLICY, p);
}

int brvm_set_policy(int fd, const struct bioreader_policy *p)
{
	return ioctl(fd, BIOREADER_IOC_SET_POLICY, p);
}

int brvm_allow_no_liveness(int fd, int on)
{
	struct bioreader_policy p;

	if (brvm_get_policy(fd, &p))
		return -1;
	if (on)
		p.flags |= BIOREADER_POLICY_ALLOW_NO_LIVENESS;
	else
		p.flags &= ~BIOREADER_POLICY_ALLOW_NO_LIVENESS;
	return brvm_set_policy(fd, &p);
}

long long brvm_stat(const struct brvm_sim *s, const char *name)
{
	char path[256], buf[64];
	char *end;
	long long v;

	snprintf(path, sizeof(path), "%s/stats/%s", s->cls, name);
	if (brvm_read_file(path, buf, sizeof(buf)))
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 0);
	if (errno || end == buf)
		return -1;
	return v;
}

const char *brvm_outcome_name(uint32_t outcome)
{
	static const char *const names[] = {
		"NONE", "MATCH", "NO_MATCH", "ATTACK", "INCONCLUSIVE",
		"TIMEOUT", "ABORTED",
	};

	return outcome < sizeof(names) / sizeof(names[0]) ? names[outcome] :
							     "UNKNOWN";
}

const char *brvm_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		"NONE", "NO_FACE", "LIVENESS_UNAVAILABLE", "FRAME_INTEGRITY",
		"USER_ABORT", "DEVICE_REMOVED", "HW_ERROR",
		"PRESENTATION_ATTACK", "TOO_FAR", "TOO_CLOSE", "TOO_BRIGHT",
		"FACE_COVERED", "POSE", "HOLD_STILL", "SKIN_UNCERTAIN",
	};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] :
							   "UNKNOWN";
}

void brvm_diag_verdict(const char *what, const struct bioreader_verdict *v)
{
	printf("# %s: verdict %s/%s class=%u flags=%#x session=%llu\n", what,
	       brvm_outcome_name(v->outcome), brvm_reason_name(v->reason),
	       v->attack_class, v->flags, (unsigned long long)v->session_id);
	fflush(stdout);
}

/* ---- audit channel: the background drain ---- */

int brvm_drain_pid(void)
{
	char buf[32];
	int pid;

	if (brvm_read_file(BRVM_DRAIN_PIDFILE, buf, sizeof(buf)))
		return 0;
	pid = atoi(buf);
	if (pid <= 0 || kill(pid, 0))
		return 0;
	return pid;
}

long long brvm_audit_attr(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), BRVM_AUDIT_SYSFS "/%s", name);
	if (brvm_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

int brvm_drain_start_opts(const char *out, const char *opts)
{
	long long end;

	if (brvm_drain_pid())
		return 0;
	unlink(BRVM_DRAIN_PIDFILE);
	/* Own session: not killed with the test program's process group. */
	if (brvm_sh("setsid bioctl audit drain --out %s --pidfile %s %s "
		    "</dev/null >/dev/null 2>>/tmp/bioreader-audit-drain.err &",
		    out ? out : BRVM_DRAIN_OUT, BRVM_DRAIN_PIDFILE,
		    opts ? opts : "")) {
		printf("# cannot start the audit drain\n");
		return -1;
	}
	end = brvm_now_ms() + 10000;
	while (brvm_now_ms() < end) {
		if (brvm_drain_pid() && brvm_audit_attr("consumer") == 1)
			return 0;
		brvm_sleep_ms(20);
	}
	printf("# the audit drain did not attach (see /tmp/bioreader-audit-drain.err)\n");
	return -1;
}

int brvm_drain_start(void)
{
	return brvm_drain_start_opts(NULL, NULL);
}

int brvm_drain_stop(void)
{
	int pid = brvm_drain_pid();
	long long end = brvm_now_ms() + 10000;

	if (pid)
		kill(pid, SIGTERM);
	while (brvm_now_ms() < end) {
		/* gone, or at least detached (a zombie waits for init) */
		if (brvm_audit_attr("consumer") != 1 &&
		    (!pid || kill(pid, 0) || access(BRVM_DRAIN_PIDFILE, F_OK)))
			return 0;
		brvm_sleep_ms(20);
	}
	printf("# the audit drain (pid %d) did not stop\n", pid);
	return -1;
}

int brvm_load_bioreader(const char *params)
{
	return brvm_sh("modprobe bioreader boot_id=$(cat /proc/sys/kernel/random/boot_id) %s",
		       params ? params : "") ? -1 : 0;
}

void *brvm_waiter_run(void *arg)
{
	struct brvm_waiter *w = arg;

	w->ret = brvm_wait(w->fd, w->timeout_ms ? w->timeout_ms : 20000, &w->v);
	w->err = errno;
	return NULL;
}
