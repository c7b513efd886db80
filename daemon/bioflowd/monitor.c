// SPDX-License-Identifier: GPL-2.0-only
/*
 * The monitor: the only part of bioflowd that keeps privileges.  It
 *
 *   - resolves the worker's user, loads the root signer (the TPM with
 *     --tpm, or the software key of --root-key) and never gives it away;
 *   - prepares the store directory (owned by the worker's user);
 *   - finds the audit node with libudev and follows hotplug of it and of
 *     the readers (or connects to an --audit-socket source);
 *   - starts the worker (re-exec, empty environment, socketpair at fd 3),
 *     hands it the audit source and the store directory with SCM_RIGHTS,
 *     then closes its own copy of the source, so that the source sees the
 *     consumer go away exactly when the worker does (the kernel then
 *     redelivers everything not acknowledged);
 *   - answers the worker's root-signer requests through a dispatch
 *     table with per-request permits (in the manner of OpenSSH's
 *     monitor): only in the order an epoch start makes them, at most as
 *     often as it makes them, the counter increments rate-limited;
 *     anything else kills the worker;
 *   - restarts a worker that dies and records that as a
 *     BIOREADER_AUDIT_DAEMON record, which the next worker seals first;
 *   - with --forward-status, reads the forwarder's status file and
 *     queues a record when its lag passes the bounds (fwdwatch.c); a
 *     running worker fetches such records (FETCH).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>
#include <openssl/x509.h>

#include "bioflowd.h"
#include "internal.h"

#define STOP_GRACE_MS	10000
#define RETRY_MS	1000
#define BUSY_RETRY_MS	50
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define STABLE_MS	1000
#define FETCH_MIN_MS	1000	/* the worker's FETCH interval, at least */
/* Counter increments (each epoch start costs one NV write): a bucket of
 * INC_BURST, refilled by one every INC_REFILL_MS. */
#define INC_BURST	100
#define INC_REFILL_MS	10000

struct monitor {
	const struct bfd_config *c;
	char exe[4096];
	uid_t uid;
	gid_t gid;
	struct bfl_root_signer *rs;
	u8 pub[512];
	size_t pub_len;
	char origin[BFL_NAME_MAX + 1];
	int store_fd;
	u8 boot_id[16];
	u64 start_ns;

	struct udev *udev;
	struct udev_monitor *umon;
	char node[256];		/* discovered audit node */
	unsigned int readers;

	pid_t worker;
	int sock;
	unsigned int generation;
	u64 worker_started;	/* ms */
	bool ready;		/* the worker sent READY */
	bool waiting_logged;	/* said that we wait for the source */
	/* The worker's root-signer conversation (reset at each spawn). */
	unsigned int permit;	/* bit per request type allowed now */
	unsigned int done;	/* bit per request type made (MON_ONCE) */
	bool certified;		/* a CERTIFY awaits its COUNTER_INC */
	u8 cert_hash[BFL_HASH_SIZE];	/* SHA-256 of that body */
	u64 cert_epoch;		/* the last epoch certified for it */
	u64 cert_value;
	double tokens;		/* counter increments left (bucket) */
	u64 tokens_at;		/* ms of the last refill */
	int fatal;		/* an exit status to stop with, or 0 */
	unsigned int failures;	/* consecutive worker deaths */
	u64 next_spawn;		/* ms; 0: now */
	bool stopping;
	u64 stop_deadline;

	/* Daemon records to seal, oldest first.  The first `handed` of
	 * them are with the worker (INIT or the last FETCH answer); they
	 * are dropped only when it says they are sealed (READY, the next
	 * FETCH), so a worker's death never loses one. */
	unsigned int nrec;
	unsigned int handed;
	u8 rec[BFD_INIT_RECORDS][BIOREADER_AUDIT_RECORD_SIZE];
	unsigned int suppressed;

	struct bfd_fwdwatch fw;	/* --forward-status */
	u64 next_watch;		/* ms */
};

static u64 ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

static u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* --------------------------------------------------- daemon records -- */

static void read_identity(struct monitor *m)
{
	char buf[64], *p;
	unsigned long long ticks = 0;
	unsigned int i = 0, hi;
	FILE *f;

	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			for (p = buf; *p && i < 16; p++) {
				if (*p == '-')
					continue;
				if (sscanf(p, "%2x", &hi) != 1)
					break;
				m->boot_id[i++] = (u8)hi;
				p++;
			}
		}
		fclose(f);
	}
	/* our start time (field 22 of /proc/self/stat), boottime ns */
	f = fopen("/proc/self/stat", "re");
	if (f) {
		char st[1024];

		if (fgets(st, sizeof(st), f)) {
			p = strrchr(st, ')');
			for (i = 0; p && i < 20; i++)
				p = strchr(p + 1, ' ');
			if (p)
				ticks = strtoull(p + 1, NULL, 10);
		}
		fclose(f);
	}
	m->start_ns = ticks * (1000000000ULL / (u64)sysconf(_SC_CLK_TCK));
}

#define OFF(f) offsetof(struct bioreader_audit_record, f)

/* Queues a daemon record for the next worker to seal. */
static void add_event(struct monitor *m, u32 event, u32 d1, u32 d2, u32 d3, u32 d4)
{
	u8 *r;

	if (m->nrec == BFD_INIT_RECORDS) {
		/* Keep the first ones; count the rest in the last record. */
		m->suppressed++;
		bfl_put_le32(m->rec[BFD_INIT_RECORDS - 1] + OFF(detail) + 20, m->suppressed);
		return;
	}
	r = m->rec[m->nrec++];
	/* The current format version; like every record but SESSION_START,
	 * a DAEMON record is the 160 bytes alone. */
	memset(r, 0, BIOREADER_AUDIT_RECORD_SIZE);
	bfl_put_le32(r + OFF(magic), BIOREADER_AUDIT_MAGIC);
	r[OFF(version)] = BIOREADER_AUDIT_VERSION;
	r[OFF(size)] = BIOREADER_AUDIT_RECORD_SIZE;
	memcpy(r + OFF(boot_id), m->boot_id, 16);
	bfl_put_le64(r + OFF(mono_ns), clock_ns(CLOCK_BOOTTIME));
	bfl_put_le64(r + OFF(real_ns), clock_ns(CLOCK_REALTIME));
	bfl_put_le32(r + OFF(type), BIOREADER_AUDIT_DAEMON);
	bfl_put_le32(r + OFF(reader), BIOREADER_AUDIT_NO_READER);
	bfl_put_le32(r + OFF(uid), (u32)getuid());
	bfl_put_le32(r + OFF(pid), (u32)getpid());
	bfl_put_le64(r + OFF(actor_start_ns), m->start_ns);
	memcpy(r + OFF(operator_id), "bioflowd", 8);
	bfl_put_le32(r + OFF(detail), event);
	bfl_put_le32(r + OFF(detail) + 4, d1);
	bfl_put_le32(r + OFF(detail) + 8, d2);
	bfl_put_le32(r + OFF(detail) + 12, d3);
	bfl_put_le32(r + OFF(detail) + 16, d4);
}

/* The worker sealed the first k records: forget them. */
static void drop_sealed(struct monitor *m, unsigned int k)
{
	if (k > m->nrec)
		k = m->nrec;
	memmove(m->rec[0], m->rec[k], (size_t)(m->nrec - k) * BIOREADER_AUDIT_RECORD_SIZE);
	m->nrec -= k;
	m->handed = 0;
	if (!m->nrec)
		m->suppressed = 0;
}

/* ------------------------------------------------------------ setup -- */

static int setup_user(struct monitor *m)
{
	struct passwd *pw = getpwnam(m->c->user);

	if (!pw) {
		bfd_log("user %s does not exist (create it, or pass --user)", m->c->user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		bfd_log("user %s is root: the worker must run unprivileged", m->c->user);
		return -EPERM;
	}
	m->uid = pw->pw_uid;
	m->gid = pw->pw_gid;
	return 0;
}

static int setup_root(struct monitor *m)
{
	char counter[4200];
	struct bfl_err e = { 0 };
	u8 *p = m->pub;
	int n;

	if (m->c->tpm) {
		struct bfl_tpm_config tc = { .tcti = m->c->tpm };
		struct bfl_tpm_auth auth;

		if (bfl_tpm_auth_read(m->c->tpm_auth, &auth, &e)) {
			bfd_log("root signer: %s", e.msg);
			return -1;
		}
		tc.auth = auth.value;
		tc.auth_len = auth.len;
		tc.pcrs = auth.pcrs;
		m->rs = bfl_tpm_root_open(&tc, &e);
		bfl_tpm_auth_cleanse(&auth);
		if (!m->rs) {
			bfd_log("root signer: TPM %s: %s (provisioned with bioflow-provision?)",
				m->c->tpm, e.msg);
			return -1;
		}
		goto loaded;
	}
	if (m->c->root_counter)
		snprintf(counter, sizeof(counter), "%s", m->c->root_counter);
	else
		snprintf(counter, sizeof(counter), "%s.counter", m->c->root_key);
	m->rs = bfl_soft_root_load(m->c->root_key, counter, &e);
	if (!m->rs) {
		bfd_log("root signer: %s", e.msg);
		return -1;
	}
loaded:
	n = i2d_PUBKEY(m->rs->key.pk, NULL);
	if (n <= 0 || (size_t)n > sizeof(m->pub) || i2d_PUBKEY(m->rs->key.pk, &p) != n) {
		bfd_log("root public key: cannot encode");
		return -1;
	}
	m->pub_len = (size_t)n;
	bfd_log("root signer: %s key %08x", m->rs->kind, m->rs->key.key_id);
	return 0;
}

/* Hands the tree to the worker's user: the directory, epochs/,
 * segments/ and what is in them (a store written by another user
 * before, or restored from a backup). */
static void chown_tree(int dfd, uid_t uid, gid_t gid, int depth)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	if (fchown(dfd, uid, gid))
		bfd_log("chown of the store: %s", strerror(errno));
	if (depth > 2)
		return;
	fd = dup(dfd);
	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		int sub;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		sub = openat(dfd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			chown_tree(sub, uid, gid, depth + 1);
			close(sub);
		} else if (fchownat(dfd, d->d_name, uid, gid, AT_SYMLINK_NOFOLLOW)) {
			bfd_log("chown %s: %s", d->d_name, strerror(errno));
		}
	}
	closedir(dir);
}

static void default_origin(char *out, size_t cap)
{
	char host[200] = "";
	size_t i;

	gethostname(host, sizeof(host) - 1);
	for (i = 0; host[i]; i++)
		if ((unsigned char)host[i] <= 0x20 || host[i] == '+' || host[i] >= 0x7f)
			host[i] = '-';
	snprintf(out, cap, "bioflow/%s", host[0] ? host : "localhost");
}

static int setup_store(struct monitor *m)
{
	struct bfl_err e = { 0 };
	int r;

	if (mkdir(m->c->store, 0750) && errno != EEXIST) {
		bfd_log("store %s: %s", m->c->store, strerror(errno));
		return -1;
	}
	m->store_fd = open(m->c->store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->store_fd < 0) {
		bfd_log("store %s: %s", m->c->store, strerror(errno));
		return -1;
	}
	fchmod(m->store_fd, 0750);
	chown_tree(m->store_fd, m->uid, m->gid, 0);
	if (!faccessat(m->store_fd, BFL_LOG_INFO, F_OK, 0)) {
		r = bfl_read_log_info(m->store_fd, m->origin, &e);
		if (r) {
			bfd_log("store %s: %s", m->c->store, e.msg);
			return -2;
		}
	} else if (m->c->origin) {
		snprintf(m->origin, sizeof(m->origin), "%s", m->c->origin);
	} else {
		default_origin(m->origin, sizeof(m->origin));
	}
	return 0;
}

/* ----------------------------------------------------- udev, source -- */

static bool is_audit_node(struct udev_device *d)
{
	const char *ss = udev_device_get_subsystem(d);
	const char *name = udev_device_get_sysname(d);

	return ss && name && (!strcmp(ss, "misc") || !strcmp(ss, "bioreader")) &&
	       !strcmp(name, "bioreader-audit");
}

static bool is_reader(struct udev_device *d)
{
	const char *ss = udev_device_get_subsystem(d);
	const char *name = udev_device_get_sysname(d);

	return ss && name && !strcmp(ss, "bioreader") && !strncmp(name, "bioreader", 9) &&
	       name[9] >= '0' && name[9] <= '9';
}

static void udev_setup(struct monitor *m)
{
	struct udev_enumerate *en;
	struct udev_list_entry *le;
	const char *src = access("/run/udev/control", F_OK) ? "kernel" : "udev";

	m->udev = udev_new();
	if (!m->udev) {
		bfd_log("libudev unavailable: no hotplug, polling for the audit source");
		return;
	}
	m->umon = udev_monitor_new_from_netlink(m->udev, src);
	if (m->umon &&
	    (udev_monitor_filter_add_match_subsystem_devtype(m->umon, "misc", NULL) < 0 ||
	     udev_monitor_filter_add_match_subsystem_devtype(m->umon, "bioreader", NULL) < 0 ||
	     udev_monitor_enable_receiving(m->umon) < 0)) {
		udev_monitor_unref(m->umon);
		m->umon = NULL;
	}
	if (!m->umon)
		bfd_log("udev monitor unavailable: no hotplug, polling for the audit source");
	en = udev_enumerate_new(m->udev);
	if (!en)
		return;
	udev_enumerate_add_match_subsystem(en, "misc");
	udev_enumerate_add_match_subsystem(en, "bioreader");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(le, udev_enumerate_get_list_entry(en)) {
		struct udev_device *d = udev_device_new_from_syspath(m->udev,
					udev_list_entry_get_name(le));
		const char *node;

		if (!d)
			continue;
		node = udev_device_get_devnode(d);
		if (is_audit_node(d) && node) {
			snprintf(m->node, sizeof(m->node), "%s", node);
			bfd_log("audit node %s", node);
		} else if (is_reader(d)) {
			m->readers++;
			bfd_log("reader %s", node ? node : udev_device_get_sysname(d));
		}
		udev_device_unref(d);
	}
	udev_enumerate_unref(en);
}

/* A hotplug event; true if the audit node appeared. */
static bool udev_event(struct monitor *m)
{
	struct udev_device *d = udev_monitor_receive_device(m->umon);
	const char *action, *node;
	bool appeared = false;

	if (!d)
		return false;
	action = udev_device_get_action(d);
	node = udev_device_get_devnode(d);
	if (action && is_audit_node(d)) {
		bfd_log("audit node %s: %s", node ? node : "?", action);
		if (!strcmp(action, "add") && node) {
			snprintf(m->node, sizeof(m->node), "%s", node);
			appeared = true;
		}
	} else if (action && is_reader(d)) {
		if (!strcmp(action, "add"))
			m->readers++;
		else if (!strcmp(action, "remove") && m->readers)
			m->readers--;
		bfd_log("reader %s: %s (%u present)",
			node ? node : udev_device_get_sysname(d), action, m->readers);
	}
	udev_device_unref(d);
	return appeared;
}

#define BOOT_ID_PARAM "/sys/module/bioreader/parameters/boot_id"

static int read_text(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

/* docs/audit-records.md "Boot id": the driver learns the boot id from
 * its parameter; set it when empty, and never trust a stream whose boot
 * id is not this boot's. */
static int check_boot_id(void)
{
	char want[64], have[64];
	int fd, r;

	r = read_text("/proc/sys/kernel/random/boot_id", want, sizeof(want));
	if (r)
		return r;
	r = read_text(BOOT_ID_PARAM, have, sizeof(have));
	if (r == -ENOENT)
		return 0;	/* a driver without the parameter */
	if (r)
		return r;
	if (!have[0] || !strcmp(have, "00000000-0000-0000-0000-000000000000")) {
		fd = open(BOOT_ID_PARAM, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, want, strlen(want)) < 0)
			bfd_log("setting %s: %s", BOOT_ID_PARAM, strerror(errno));
		if (fd >= 0)
			close(fd);
		r = read_text(BOOT_ID_PARAM, have, sizeof(have));
		if (r)
			return r;
	}
	if (strcmp(have, want)) {
		bfd_log("%s is %s, not this boot's %s: not reading the audit node",
			BOOT_ID_PARAM, have, want);
		return -EKEYREJECTED;
	}
	return 0;
}

/* Opens the audit source: an fd, or -errno (-EAGAIN: try again soon). */
static int open_source(struct monitor *m, unsigned int *kind)
{
	struct sockaddr_un a;
	struct stat sb;
	const char *path;
	int fd;

	if (m->c->socket) {
		*kind = BFD_SRC_SOCKET;
		memset(&a, 0, sizeof(a));
		a.sun_family = AF_UNIX;
		if (strlen(m->c->socket) >= sizeof(a.sun_path))
			return -ENAMETOOLONG;
		strcpy(a.sun_path, m->c->socket);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			int r = -errno;

			close(fd);
			return r;
		}
		return fd;
	}
	*kind = BFD_SRC_DEVICE;
	path = m->c->node ? m->c->node : m->node[0] ? m->node : BFD_DEFAULT_NODE;
	if (access(path, F_OK))
		return -errno;
	fd = check_boot_id();
	if (fd)
		return fd;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENXIO ? -EBUSY : -errno;
	if (fstat(fd, &sb) || !S_ISCHR(sb.st_mode)) {
		close(fd);
		bfd_log("%s is not a character device", path);
		return -ENOTTY;
	}
	return fd;
}

#define BIT(t)		(1u << (t))
#define MON_ONCE	1u
#define PERMIT_START	(BIT(BFD_MSG_COUNTER_READ) | BIT(BFD_MSG_CERTIFY) | \
			 BIT(BFD_MSG_COUNTER_INC) | BIT(BFD_MSG_READY) | \
			 BIT(BFD_MSG_FETCH))
#define PERMIT_IDLE	(BIT(BFD_MSG_COUNTER_READ) | BIT(BFD_MSG_CERTIFY) | \
			 BIT(BFD_MSG_READY) | BIT(BFD_MSG_FETCH))

/* ----------------------------------------------------------- worker -- */

static int spawn(struct monitor *m, int src, unsigned int kind)
{
	static struct bfd_init in;
	int sp[2], fds[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		bfd_log("socketpair: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sp[0]);
		close(sp[1]);
		return r;
	}
	if (pid == 0) {
		char *argv[] = { "bioflowd", "--worker", NULL };
		char *envp[] = { NULL };
		sigset_t stop;

		/* SIGTERM and SIGINT stay blocked across execve until the
		 * worker has its handler: a stop that arrives while it
		 * starts is then a request to stop, not a death by the
		 * default action.  Everything else is unblocked. */
		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigprocmask(SIG_SETMASK, &stop, NULL);
		if (sp[1] == BFD_WORKER_FD)
			fcntl(sp[1], F_SETFD, 0);
		else if (dup2(sp[1], BFD_WORKER_FD) < 0)
			_exit(127);
		close_range(BFD_WORKER_FD + 1, ~0U, 0);
		execve(m->exe, argv, envp);
		_exit(127);
	}
	close(sp[1]);
	m->generation++;
	memset(&in, 0, sizeof(in));
	in.version = BFD_PROTO_VERSION;
	in.source_kind = kind;
	in.uid = m->uid;
	in.gid = m->gid;
	in.create = faccessat(m->store_fd, BFL_LOG_INFO, F_OK, 0) != 0;
	if (m->generation == 1) {
		in.fault = m->c->fault;
		in.fault_after = m->c->fault_after;
	}
	in.commit_records = m->c->commit_records;
	in.commit_latency_us = m->c->commit_latency_us;
	in.epoch_records = m->c->epoch_records;
	in.epoch_seconds = m->c->epoch_seconds;
	in.segment_bytes = m->c->segment_bytes;
	in.monitor_pid = (u32)getpid();
	in.generation = m->generation;
	in.verbose = (u32)m->c->verbose;
	snprintf(in.origin, sizeof(in.origin), "%s", m->origin);
	in.pub_len = (u32)m->pub_len;
	memcpy(in.pub, m->pub, m->pub_len);
	/* A running worker asks for queued records at most once a second
	 * (the lag is not that urgent; each ask is a round trip), and
	 * once more before it ends. */
	in.fetch_ms = !m->c->fwd_status ? 0 :
		      m->c->fwd_check_ms > FETCH_MIN_MS ? (u32)m->c->fwd_check_ms : FETCH_MIN_MS;
	in.nrecords = m->nrec;
	memcpy(in.records, m->rec, sizeof(m->rec));
	m->handed = m->nrec;
	fds[0] = src;
	fds[1] = m->store_fd;
	r = bfd_send(sp[0], BFD_MSG_INIT, &in, sizeof(in), fds, 2);
	if (r) {
		bfd_log("starting the worker: %s", strerror(-r));
		kill(pid, SIGKILL);
	}
	m->worker = pid;
	m->sock = sp[0];
	m->permit = PERMIT_START;
	m->done = 0;
	m->certified = false;
	m->cert_epoch = 0;
	m->ready = false;
	m->worker_started = ms_now();
	bfd_log("worker %d started (generation %u, %s source)", (int)pid, m->generation,
		kind == BFD_SRC_DEVICE ? "device" : "socket");
	return 0;
}

static void reply(struct monitor *m, int status, u64 value,
		  const struct bfl_attestation *att, const char *msg)
{
	static struct bfd_reply rep;

	memset(&rep, 0, sizeof(rep));
	rep.status = status;
	rep.value = value;
	if (att)
		rep.att = *att;
	snprintf(rep.msg, sizeof(rep.msg), "%s", msg ? msg : "");
	if (bfd_send(m->sock, BFD_MSG_REPLY, &rep, sizeof(rep), NULL, 0))
		bfd_log("reply to the worker lost");
}

/* ------------------------------------------------ root signer requests -- */

/*
 * The dispatch table.  A request is answered only while its bit is in
 * m->permit; a MON_ONCE request at most once per worker.  A handler
 * returns 0 when it answered (with success or a refusal the protocol
 * allows, e.g. a TPM failure), -EPERM for a request that no honest
 * worker makes, or -EDQUOT for an epoch start (CERTIFY, or the
 * COUNTER_INC finishing an interrupted one) over the rate limit of
 * counter increments: the worker is then killed.  The permits follow the
 * epoch start of store.c:
 *
 *   start:        COUNTER_READ, CERTIFY, COUNTER_INC (finishing an
 *                 interrupted start, MON_ONCE), READY (MON_ONCE)
 *   after CERTIFY: COUNTER_INC (with that very certificate)
 *   after its INC: COUNTER_READ, CERTIFY, READY
 */
struct mon_dispatch {
	uint32_t type;
	const char *name;
	unsigned int flags;
	size_t min, max;	/* payload bytes */
	int (*handler)(struct monitor *m, const u8 *p, size_t len);
};

/* A token for a counter increment, or false (rate-limited). */
static bool take_token(struct monitor *m)
{
	u64 now = ms_now();

	if (!m->tokens_at) {
		m->tokens = INC_BURST;
	} else {
		m->tokens += (double)(now - m->tokens_at) / INC_REFILL_MS;
		if (m->tokens > INC_BURST)
			m->tokens = INC_BURST;
	}
	m->tokens_at = now;
	if (m->tokens < 1)
		return false;
	m->tokens -= 1;
	return true;
}

/* Each increment wears the TPM's NV memory.  An honest worker refused
 * here could not go on either (its epoch start fails); killing it makes
 * the flood a record. */
static int rate_limited(void)
{
	bfd_log("counter increments rate-limited (%u in a burst, then one per %u s)",
		INC_BURST, INC_REFILL_MS / 1000);
	return -EDQUOT;
}

/* The root signer failed a request: the worker gets the error.  A TPM
 * refusing its key (the PCR policy, the authorization): nothing can be
 * certified until the appliance boots what it was provisioned for; stop
 * rather than restart workers for ever. */
static void signer_failed(struct monitor *m, int r, const char *msg)
{
	bfd_log("root signer: %s", msg);
	if (r == -EACCES && m->c->tpm && !m->fatal) {
		bfd_log("the TPM refuses the root key: no epoch can start, nothing is sealed; stopping (exit status %d)",
			BFD_EXIT_FAIL);
		m->fatal = BFD_EXIT_FAIL;
		m->stopping = true;
		m->stop_deadline = ms_now() + STOP_GRACE_MS;
		if (m->worker)
			kill(m->worker, SIGTERM);
	}
	reply(m, r, 0, NULL, msg);
}

static int on_counter_read(struct monitor *m, const u8 *p, size_t len)
{
	struct bfl_err e = { 0 };
	u64 v = 0;
	int r;

	(void)p;
	(void)len;
	r = m->rs->ops->counter_read(m->rs, &v, &e);
	if (r)
		signer_failed(m, r, e.msg);
	else
		reply(m, 0, v, NULL, NULL);
	return 0;
}

/* CERTIFY: the body of this store's next epoch certificate, for the
 * counter's current value; each epoch once per worker. */
static int on_certify(struct monitor *m, const u8 *p, size_t len)
{
	static struct bfl_attestation att;
	struct bfl_epoch_cert c;
	struct bfl_err e = { 0 };
	u64 now = 0;
	int r;

	if (bfl_cert_parse_body((const char *)p, len, &c, &e)) {
		bfd_log("worker asked to certify something that is not an epoch certificate body (%s)",
			e.msg);
		return -EPERM;
	}
	if (strcmp(c.origin, m->origin)) {
		bfd_log("worker asked to certify an epoch of another log (origin \"%s\")",
			c.origin);
		return -EPERM;
	}
	if (c.epoch <= m->cert_epoch) {
		bfd_log("worker asked to certify epoch %llu again (it certified epoch %llu already)",
			(unsigned long long)c.epoch, (unsigned long long)m->cert_epoch);
		return -EPERM;
	}
	r = m->rs->ops->counter_read(m->rs, &now, &e);
	if (r) {
		signer_failed(m, r, e.msg);
		return 0;
	}
	if (c.nv_counter != now) {
		bfd_log("worker asked to certify counter value %llu, the counter reads %llu",
			(unsigned long long)c.nv_counter, (unsigned long long)now);
		return -EPERM;
	}
	/* The token for this start's increment is taken here, before
	 * anything is certified: a start refused by the rate limit leaves
	 * no certificate that the next worker's start would have to
	 * finish with an increment of its own (two tokens per start, which
	 * the refill would never catch up with). */
	if (!take_token(m))
		return rate_limited();
	memset(&att, 0, sizeof(att));
	r = m->rs->ops->certify(m->rs, (const char *)p, len, &att, &e);
	if (r) {
		signer_failed(m, r, e.msg);
		return 0;
	}
	m->cert_epoch = c.epoch;
	m->cert_value = c.nv_counter;
	bfl_sha256(p, len, NULL, 0, m->cert_hash);
	m->certified = true;
	m->permit = BIT(BFD_MSG_COUNTER_INC);
	bfd_log("certified epoch %llu (counter %llu, starts at %llu)",
		(unsigned long long)c.epoch, (unsigned long long)c.nv_counter,
		(unsigned long long)c.start_size);
	reply(m, 0, 0, &att, NULL);
	return 0;
}

/* COUNTER_INC: with a certificate of this store, root-attested, that
 * attests the counter's current value: the one just certified, or (once,
 * before any CERTIFY) the one of a start that stopped before its
 * increment. */
static int on_counter_inc(struct monitor *m, const u8 *p, size_t len)
{
	struct bfl_epoch_cert c;
	struct bfl_err e = { 0 };
	u8 h[BFL_HASH_SIZE];
	size_t body_len;
	u64 now = 0, v = 0;
	int r;

	r = bfl_cert_open((const char *)p, len, &m->rs->key, &c, &e);
	if (r || strcmp(c.origin, m->origin)) {
		bfd_log("worker asked for a counter increment without a valid certificate of this log%s%s",
			r ? ": " : "", r ? e.msg : "");
		return -EPERM;
	}
	body_len = bfl_cert_body_len((const char *)p, len);
	if (!body_len)
		return -EPERM;
	bfl_sha256(p, body_len, NULL, 0, h);
	if (m->certified && memcmp(h, m->cert_hash, sizeof(h))) {
		bfd_log("worker asked for a counter increment with another certificate than the one just certified");
		return -EPERM;
	}
	r = m->rs->ops->counter_read(m->rs, &now, &e);
	if (r) {
		signer_failed(m, r, e.msg);
		return 0;
	}
	if (c.nv_counter != now) {
		bfd_log("worker asked for a counter increment with a certificate of counter %llu; the counter reads %llu",
			(unsigned long long)c.nv_counter, (unsigned long long)now);
		return -EPERM;
	}
	/* The increment of a CERTIFY had its token taken there; finishing
	 * an interrupted start takes one now. */
	if (!m->certified && !take_token(m))
		return rate_limited();
	r = m->rs->ops->counter_increment(m->rs, (const char *)p, len, &v, &e);
	if (r) {
		signer_failed(m, r, e.msg);
		return 0;
	}
	if (!m->certified)
		bfd_log("finished epoch %llu's start (its increment was interrupted): counter %llu",
			(unsigned long long)c.epoch, (unsigned long long)v);
	m->certified = false;
	m->permit = PERMIT_IDLE;
	reply(m, 0, v, NULL, NULL);
	return 0;
}

static int on_ready(struct monitor *m, const u8 *p, size_t len)
{
	struct bfd_ready rd;

	(void)len;
	memcpy(&rd, p, sizeof(rd));
	bfd_log("worker %d running: %llu records sealed, epoch %llu",
		(int)m->worker, (unsigned long long)rd.size,
		(unsigned long long)rd.epoch);
	/* the daemon records it got are sealed now */
	m->ready = true;
	drop_sealed(m, m->handed);
	return 0;
}

/* FETCH: a running worker asks for the daemon records queued since;
 * it says how many of the last answer it has sealed, which must be all
 * of them (it asks again only after its next commit). */
static int on_fetch(struct monitor *m, const u8 *p, size_t len)
{
	static struct bfd_records out;
	struct bfd_fetch f;

	(void)len;
	memcpy(&f, p, sizeof(f));
	if (!m->ready || f.sealed != m->handed) {
		bfd_log("worker asked for records %s (it says %u sealed, it had %u)",
			m->ready ? "with a wrong count" : "before READY", f.sealed, m->handed);
		return -EPERM;
	}
	drop_sealed(m, m->handed);
	memset(&out, 0, sizeof(out));
	out.n = m->nrec;
	memcpy(out.records, m->rec, (size_t)m->nrec * BIOREADER_AUDIT_RECORD_SIZE);
	m->handed = m->nrec;
	if (bfd_send(m->sock, BFD_MSG_RECORDS, &out, sizeof(out), NULL, 0))
		bfd_log("records to the worker lost (they stay queued)");
	return 0;
}

static const struct mon_dispatch mon_table[] = {
	{ BFD_MSG_COUNTER_READ, "COUNTER_READ", 0, 0, 0, on_counter_read },
	{ BFD_MSG_CERTIFY, "CERTIFY", 0, 1, BFD_MSG_MAX, on_certify },
	{ BFD_MSG_COUNTER_INC, "COUNTER_INC", 0, 1, BFD_MSG_MAX, on_counter_inc },
	{ BFD_MSG_READY, "READY", MON_ONCE, sizeof(struct bfd_ready),
	  sizeof(struct bfd_ready), on_ready },
	{ BFD_MSG_FETCH, "FETCH", 0, sizeof(struct bfd_fetch),
	  sizeof(struct bfd_fetch), on_fetch },
};

static void refuse(struct monitor *m, uint32_t t, const char *name, const char *why)
{
	bfd_log("worker %d sent %s (type %u): %s; refused, killing it",
		(int)m->worker, name, t, why);
	add_event(m, BFD_EV_REFUSED, (u32)m->worker, t, 0, m->generation);
	kill(m->worker, SIGKILL);
	m->permit = 0;
	close(m->sock);
	m->sock = -1;
}

static void handle_worker_msg(struct monitor *m)
{
	static u8 buf[BFD_MSG_MAX];
	const struct mon_dispatch *d = NULL;
	uint32_t t;
	ssize_t k;
	size_t i;
	int r;

	k = bfd_recv(m->sock, &t, buf, sizeof(buf), NULL, NULL);
	if (k < 0 || t == 0) {
		/* the worker is gone (or sent more than a message holds);
		 * SIGCHLD tells how */
		if (k == -EMSGSIZE)
			refuse(m, t, "a message", "larger than a message may be");
		if (m->sock >= 0)
			close(m->sock);
		m->sock = -1;
		return;
	}
	for (i = 0; i < sizeof(mon_table) / sizeof(mon_table[0]); i++)
		if (mon_table[i].type == t)
			d = &mon_table[i];
	if (!d) {
		refuse(m, t, "an unknown request", "no such request");
		return;
	}
	if (t >= 32 || !(m->permit & BIT(t)) ||
	    ((d->flags & MON_ONCE) && (m->done & BIT(t)))) {
		refuse(m, t, d->name, "not permitted now (out of order, or repeated)");
		return;
	}
	if ((size_t)k < d->min || (size_t)k > d->max) {
		refuse(m, t, d->name, "payload size out of bounds");
		return;
	}
	m->done |= BIT(t);
	/* Finishing an interrupted start is allowed once, before the
	 * worker's own epoch start. */
	if (t == BFD_MSG_CERTIFY || t == BFD_MSG_COUNTER_INC)
		m->permit &= ~BIT(BFD_MSG_COUNTER_INC);
	r = d->handler(m, buf, (size_t)k);
	if (r == -EPERM)
		refuse(m, t, d->name, "not what an epoch start asks for");
	else if (r == -EDQUOT)
		refuse(m, t, d->name, "over the rate limit of counter increments");
}

static const char *status_text(int st, char *buf, size_t cap)
{
	if (WIFSIGNALED(st))
		snprintf(buf, cap, "killed by signal %d (%s)%s", WTERMSIG(st),
			 strsignal(WTERMSIG(st)),
			 WTERMSIG(st) == SIGSYS ? ": a syscall outside the seccomp allowlist" : "");
	else
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	return buf;
}

/* The worker ended; returns a daemon exit status, or -1 to go on. */
static int reap(struct monitor *m, int st)
{
	u64 lived = ms_now() - m->worker_started, delay;
	pid_t pid = m->worker;
	char why[160];

	m->worker = 0;
	m->handed = 0;		/* what it had but did not confirm: queued */
	if (m->sock >= 0) {
		close(m->sock);
		m->sock = -1;
	}
	status_text(st, why, sizeof(why));
	if (m->fatal) {
		bfd_log("worker %d ended: %s", (int)pid, why);
		return m->fatal;
	}
	if (m->stopping) {
		bfd_log("worker %d ended: %s", (int)pid, why);
		return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? BFD_EXIT_OK : BFD_EXIT_FAIL;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == BFD_WEXIT_SANDBOX) {
		bfd_log("worker %d could not be sandboxed: stopping", (int)pid);
		return BFD_EXIT_SANDBOX;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == BFD_WEXIT_STORE) {
		bfd_log("the store %s is damaged or not ours: stopping (run bioflow-verify)",
			m->c->store);
		return BFD_EXIT_STORE;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == BFD_WEXIT_FULL) {
		/* It waited for space and saw it come back: not a crash,
		 * no back-off; the incident goes into the log. */
		bfd_log("worker %d ended: the store was full and has space again; restarting",
			(int)pid);
		m->next_spawn = ms_now();
		add_event(m, BFD_EV_WORKER_DIED, (u32)pid, 0, BFD_WEXIT_FULL, m->generation);
		return -1;
	}
	/* A worker that got running and lasted a while was healthy: restart
	 * at once.  Quick ends in a row back off (every start begins an
	 * epoch and costs a counter increment, which wears a TPM's NV
	 * memory), for a flapping source as for a crashing worker. */
	if (m->ready && lived > STABLE_MS)
		m->failures = 0;
	m->failures++;
	delay = m->failures < 2 ? 0 : BACKOFF_MIN_MS << (m->failures < 8 ? m->failures - 2 : 6);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	m->next_spawn = ms_now() + delay;
	if (WIFEXITED(st) && (WEXITSTATUS(st) == BFD_WEXIT_SOURCE ||
			      WEXITSTATUS(st) == BFD_WEXIT_OK)) {
		bfd_log("worker %d ended: the audit source went away; waiting for it", (int)pid);
		m->waiting_logged = false;
		return -1;
	}
	bfd_log("worker %d %s; restarting in %llu ms (restart %u)", (int)pid, why,
		(unsigned long long)delay, m->generation);
	add_event(m, BFD_EV_WORKER_DIED, (u32)pid,
		  WIFSIGNALED(st) ? (u32)WTERMSIG(st) : 0,
		  WIFEXITED(st) ? (u32)WEXITSTATUS(st) : 0, m->generation);
	return -1;
}

static int setup_signals(void)
{
	sigset_t s;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	sigprocmask(SIG_BLOCK, &s, NULL);
	return signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* --forward-status: one look at the forwarder's status. */
static void watch_forwarder(struct monitor *m, u64 now)
{
	static const char *const why[] = {
		[BFD_FWD_STALE] = "not replaced", [BFD_FWD_MISSING] = "missing",
		[BFD_FWD_GARBAGE] = "not a status file",
	};
	struct bfd_fwd_event ev;

	if (!bfd_fwd_watch(&m->fw, now, &ev))
		return;
	if (ev.event == BFD_EV_FWD_SILENT)
		bfd_log("forwarder silent: no usable status in %s for %u s (%s)",
			m->c->fwd_status, ev.d[0], ev.d[1] < 4 && why[ev.d[1]] ?
			why[ev.d[1]] : "?");
	else
		bfd_log("forwarding %s: %u records, %u s behind (bounds %llu records, %llu s)",
			ev.event == BFD_EV_FWD_BEHIND ? "behind" : "within its bounds again",
			ev.d[0], ev.d[1], (unsigned long long)m->c->fwd_lag_records,
			(unsigned long long)m->c->fwd_lag_seconds);
	if (ev.d[3])
		bfd_log("forwarder: %u changes not recorded (at most a few records a minute)",
			ev.d[3]);
	add_event(m, ev.event, ev.d[0], ev.d[1], ev.d[2], ev.d[3]);
}

static int loop(struct monitor *m, int sfd)
{
	for (;;) {
		struct pollfd p[3];
		unsigned int n = 0, i;
		int timeout = -1, r;
		u64 now = ms_now();

		if (!m->worker && m->stopping)
			return BFD_EXIT_OK;
		if (!m->worker && now >= m->next_spawn) {
			unsigned int kind;
			int src = open_source(m, &kind);

			if (src >= 0) {
				m->waiting_logged = false;
				r = spawn(m, src, kind);
				close(src);	/* the worker's now, only */
				if (r)
					m->next_spawn = now + RETRY_MS;
			} else {
				if (src != -ENOENT && src != -ECONNREFUSED && src != -EBUSY)
					bfd_log("audit source: %s", strerror(-src));
				else if (!m->waiting_logged)
					bfd_log("waiting for the audit source %s",
						m->c->socket ? m->c->socket : m->c->node ?
						m->c->node : m->node[0] ? m->node :
						BFD_DEFAULT_NODE);
				m->waiting_logged = true;
				m->next_spawn = now + (src == -EBUSY ? BUSY_RETRY_MS : RETRY_MS);
			}
		}
		if (!m->worker)
			timeout = (int)(m->next_spawn > now ? m->next_spawn - now : 0);
		if (m->c->fwd_status && !m->stopping) {
			if (now >= m->next_watch) {
				watch_forwarder(m, now);
				m->next_watch = now + m->c->fwd_check_ms;
			}
			if (timeout < 0 || (u64)timeout > m->next_watch - now)
				timeout = (int)(m->next_watch - now);
		}
		if (m->worker && m->stopping) {
			if (now >= m->stop_deadline) {
				bfd_log("worker %d did not stop: killing it", (int)m->worker);
				kill(m->worker, SIGKILL);
				m->stop_deadline = now + STOP_GRACE_MS;
			}
			timeout = (int)(m->stop_deadline - now);
		}
		p[n].fd = sfd;
		p[n++].events = POLLIN;
		if (m->sock >= 0) {
			p[n].fd = m->sock;
			p[n++].events = POLLIN;
		}
		if (m->umon) {
			p[n].fd = udev_monitor_get_fd(m->umon);
			p[n++].events = POLLIN;
		}
		r = poll(p, n, timeout);
		if (r < 0 && errno != EINTR) {
			bfd_log("poll: %s", strerror(errno));
			return BFD_EXIT_FAIL;
		}
		for (i = 0; r > 0 && i < n; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
						if (!m->stopping)
							bfd_log("stopping (signal %u)", si.ssi_signo);
						m->stopping = true;
						m->stop_deadline = ms_now() + STOP_GRACE_MS;
						if (m->worker)
							kill(m->worker, SIGTERM);
					}
				}
				for (;;) {
					int st;
					pid_t pid = waitpid(-1, &st, WNOHANG);

					if (pid <= 0)
						break;
					if (pid == m->worker) {
						int x = reap(m, st);

						if (x >= 0)
							return x;
					}
				}
			} else if (m->sock >= 0 && p[i].fd == m->sock) {
				handle_worker_msg(m);
			} else if (m->umon && p[i].fd == udev_monitor_get_fd(m->umon)) {
				if (udev_event(m) && !m->worker && m->failures < 2)
					m->next_spawn = 0;
			}
		}
	}
}

int bfd_monitor_main(const struct bfd_config *c)
{
	static struct monitor m;
	ssize_t n;
	int sfd, r;

	bfd_log_init("monitor", c->verbose);
	/* Signals wait in the signalfd from the start: a SIGTERM during
	 * setup must not kill the monitor half-way. */
	sfd = setup_signals();
	if (sfd < 0) {
		bfd_log("signalfd: %s", strerror(errno));
		return BFD_EXIT_FAIL;
	}
	m.c = c;
	m.sock = -1;
	m.store_fd = -1;
	if (geteuid() != 0) {
		bfd_log("must be started as root (it drops to %s in the worker)", c->user);
		return BFD_EXIT_FAIL;
	}
	n = readlink("/proc/self/exe", m.exe, sizeof(m.exe) - 1);
	if (n <= 0) {
		bfd_log("cannot find my own executable: %s", strerror(errno));
		return BFD_EXIT_FAIL;
	}
	m.exe[n] = 0;
	read_identity(&m);
	if (setup_user(&m) || setup_root(&m))
		return BFD_EXIT_FAIL;
	r = setup_store(&m);
	if (r)
		return r == -2 ? BFD_EXIT_STORE : BFD_EXIT_FAIL;
	if (!c->socket)
		udev_setup(&m);
	bfd_log("store %s (%s), origin %s", c->store,
		faccessat(m.store_fd, BFL_LOG_INFO, F_OK, 0) ? "new" : "existing", m.origin);
	add_event(&m, BFD_EV_START, 0, 0, 0, 0);
	if (c->fwd_status) {
		bfd_fwd_watch_init(&m.fw, c, ms_now());
		bfd_log("watching the forwarder's status %s (bounds %llu records, %llu s; silent after %llu s)",
			c->fwd_status, (unsigned long long)c->fwd_lag_records,
			(unsigned long long)c->fwd_lag_seconds,
			(unsigned long long)c->fwd_silent_seconds);
	}
	r = loop(&m, sfd);
	if (m.umon)
		udev_monitor_unref(m.umon);
	if (m.udev)
		udev_unref(m.udev);
	bfl_root_signer_free(m.rs);
	close(m.store_fd);
	bfd_log("stopped (exit status %d)", r);
	return r;
}
