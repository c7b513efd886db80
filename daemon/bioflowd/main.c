// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflowd entry point.  The program started by root (or systemd) is the
 * monitor; it re-executes this binary with the hidden "--worker" option,
 * an empty environment and only the socketpair end at fd 3, so the
 * worker shares no memory with the monitor (in particular not the root
 * signing key) and gets everything else over the socket.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bioflowd.h"

static const char *log_role = "monitor";
static int log_verbose;

void bfd_log_init(const char *role, int verbose)
{
	log_role = role;
	log_verbose = verbose;
}

/* One write(2) per line: no stdio buffering, nothing the sandbox would
 * have to allow beyond write. */
static void vlog(const char *fmt, va_list ap)
{
	char buf[1024];
	int n, k;

	n = snprintf(buf, sizeof(buf), "bioflowd[%s %d]: ", log_role, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	k = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (k < 0)
		return;
	n += k;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

void bfd_log(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	errno = saved;
}

void bfd_debug(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
	errno = saved;
}

int main(int argc, char **argv)
{
	struct bfd_config c;
	int r;

	r = bfd_parse_args(argc, argv, &c);
	if (r >= 0)
		return r;	/* --help, --version or a usage error */
	if (c.worker)
		return bfd_worker_main();
	return bfd_monitor_main(&c);
}
