// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * A private swtpm for unit tests (see swtpm.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "swtpm.h"

#define MAX_INSTANCES	8

static struct swtpm *instances[MAX_INSTANCES];
static int atexit_done;

static int find_in_path(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char *dup, *p, *save = NULL;
	int found = 0;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	dup = strdup(path);
	if (!dup)
		return 0;
	for (p = strtok_r(dup, ":", &save); p && !found;
	     p = strtok_r(NULL, ":", &save)) {
		int n = snprintf(out, cap, "%s/%s", *p ? p : ".", name);

		if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
			found = 1;
	}
	free(dup);
	return found;
}

const char *swtpm_missing(void)
{
	char p[PATH_MAX];

	if (!find_in_path("swtpm", p, sizeof(p)))
		return "swtpm is not installed (Debian package swtpm; tools/install-deps.sh installs it)";
	return NULL;
}

/* A TCP socket and the address of @port on the loopback interface. */
static int loopback_socket(int port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int port_free(int port)
{
	struct sockaddr_in a;
	int fd = loopback_socket(port, &a);
	int ok;

	if (fd < 0)
		return 0;
	/* As a listener would: TIME_WAIT leftovers do not count. */
	ok = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &ok, sizeof(ok)))
		ok = 0;
	ok = ok && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int can_connect(int port)
{
	struct sockaddr_in a;
	int fd = loopback_socket(port, &a);
	int ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* A random even port P in [20000, 60000) with P and P + 1 free now. */
static int pick_ports(void)
{
	unsigned int r;
	int i, p;

	for (i = 0; i < 200; i++) {
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (unsigned int)getpid() * 2654435761u + (unsigned int)i;
		p = 20000 + (int)(r % 20000) * 2;
		if (port_free(p) && port_free(p + 1))
			return p;
	}
	return -1;
}

static void kill_all(void)
{
	int i;

	for (i = 0; i < MAX_INSTANCES; i++)
		if (instances[i])
			swtpm_destroy(instances[i]);
}

static void track(struct swtpm *s, int add)
{
	int i;

	for (i = 0; i < MAX_INSTANCES; i++) {
		if (add && !instances[i]) {
			instances[i] = s;
			break;
		}
		if (!add && instances[i] == s)
			instances[i] = NULL;
	}
	if (add && !atexit_done && atexit(kill_all) == 0)
		atexit_done = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int spawn(struct swtpm *s, int port)
{
	char state[300], server[96], ctrl[96];
	pid_t parent = getpid(), pid;
	int fd;

	snprintf(state, sizeof(state), "dir=%s", s->state);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *argv[] = {
			"swtpm", "socket", "--tpm2",
			"--tpmstate", state,
			"--server", server,
			"--ctrl", ctrl,
			"--flags", "not-need-init,startup-clear",
			NULL,
		};

		/* Dies with the test, however the test ends. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(126);
		fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(126);
		}
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && dup2(fd, 0) < 0)
			_exit(126);
		execvp("swtpm", argv);
		_exit(127);
	}
	s->pid = pid;
	s->port = port;
	snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d", port);
	return 0;
}

int swtpm_start(struct swtpm *s)
{
	const char *tmp = getenv("TMPDIR");
	int attempt, i, port, r, st;

	if (s->pid)
		return -EBUSY;
	if (!s->base[0]) {
		if (!tmp || tmp[0] != '/')
			tmp = "/tmp";
		if ((size_t)snprintf(s->base, sizeof(s->base), "%s/bioflow-swtpm.XXXXXX", tmp) >= sizeof(s->base) ||
		    !mkdtemp(s->base)) {
			s->base[0] = 0;
			return -errno ? -errno : -ENAMETOOLONG;
		}
		snprintf(s->state, sizeof(s->state), "%s/state", s->base);
		snprintf(s->log, sizeof(s->log), "%s/swtpm.log", s->base);
		if (mkdir(s->state, 0700))
			return -errno;
		track(s, 1);
	}
	for (attempt = 0; attempt < 8; attempt++) {
		/* A restart keeps its port when it can (clients reconnect). */
		if (attempt == 0 && s->port && port_free(s->port) &&
		    port_free(s->port + 1))
			port = s->port;
		else
			port = pick_ports();
		if (port < 0)
			return -EADDRINUSE;
		r = spawn(s, port);
		if (r)
			return r;
		for (i = 0; i < 200; i++) {	/* up to 10 s */
			if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
				s->pid = 0;	/* lost a port race? try again */
				break;
			}
			if (can_connect(port + 1) && can_connect(port))
				return 0;
			sleep_ms(50);
		}
		if (s->pid) {
			swtpm_stop(s, SIGKILL);
			return -ETIMEDOUT;
		}
	}
	return -EIO;
}

int swtpm_stop(struct swtpm *s, int sig)
{
	int st;

	if (!s->pid)
		return 0;
	if (kill(s->pid, sig) && errno != ESRCH)
		return -errno;
	while (waitpid(s->pid, &st, 0) < 0) {
		int i;

		if (errno == EINTR)
			continue;
		/*
		 * Not our child (started before the test case that runs
		 * this, tests/lib/ktap.h): the process that started it reaps
		 * it; wait until it is gone, ports released.
		 */
		for (i = 0; i < 200 && kill(s->pid, 0) == 0; i++)
			sleep_ms(25);
		break;
	}
	s->pid = 0;
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);	/* best effort */
	return 0;
}

void swtpm_destroy(struct swtpm *s)
{
	swtpm_stop(s, SIGKILL);
	if (s->base[0]) {
		(void)nftw(s->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		s->base[0] = 0;
	}
	track(s, 0);
}

void swtpm_dead_tcti(char *out, size_t cap)
{
	int port = pick_ports();

	snprintf(out, cap, "swtpm:host=127.0.0.1,port=%d", port < 0 ? 9 : port);
}
