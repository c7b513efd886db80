// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl audit: a minimal consumer of /dev/bioreader-audit and a
 * pretty-printer of record files.  bioflowd is the real consumer; drain
 * stands in for it where the daemon does not run (tests, bench-top
 * setups): it appends records to a file, makes them durable and only
 * then acknowledges them, as the daemon does with its log.
 *
 *   bioctl audit drain [--out FILE] [--no-ack] [--pidfile FILE] [--count N]
 *   bioctl audit show FILE
 *   bioctl audit status [--forward FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bioctl.h"
#include "bflog.h"

#define AUDIT_DEV	"/dev/bioreader-audit"
#define AUDIT_SYSFS	"/sys/class/misc/bioreader-audit"
#define BOOT_ID_PARAM	"/sys/module/bioreader/parameters/boot_id"
#define BOOT_ID_PROC	"/proc/sys/kernel/random/boot_id"
#define DRAIN_BATCH	64	/* records per read() */

static volatile sig_atomic_t drain_stop;

static int channel_status(void);

static void on_signal(int sig)
{
	(void)sig;
	drain_stop = 1;
}

static void audit_usage(FILE *f)
{
	fprintf(f,
"Usage: bioctl audit drain [--out FILE] [--no-ack] [--pidfile FILE] [--count N]\n"
"       bioctl audit show FILE\n"
"       bioctl audit status [--forward FILE]\n"
"\n"
"drain   be the audit consumer: read records from " AUDIT_DEV ",\n"
"        append them to FILE (made durable with fdatasync) or print one\n"
"        line per record, and acknowledge them (not with --no-ack).  Sets\n"
"        the driver's boot_id parameter from " BOOT_ID_PROC "\n"
"        first if it is empty.  --pidfile is written once the node is\n"
"        open; --count exits after N records.  Stops on SIGTERM/SIGINT.\n"
"show    print the records of a file written by drain, one per line\n"
"status  the channel's state from " AUDIT_SYSFS "/; with --forward,\n"
"        the forwarder's lag from its status FILE (bioflow-forward's\n"
"        STATE/status)\n");
}

/* The driver needs the boot id before a consumer can attach. */
static int ensure_boot_id(void)
{
	char cur[64], boot[64];

	if (read_text(BOOT_ID_PARAM, cur, sizeof(cur))) {
		err_errno("%s (is bioreader loaded?)", BOOT_ID_PARAM);
		return -1;
	}
	if (read_text(BOOT_ID_PROC, boot, sizeof(boot))) {
		err_errno("%s", BOOT_ID_PROC);
		return -1;
	}
	if (!cur[0]) {
		if (write_text(BOOT_ID_PARAM, boot) && errno != EBUSY) {
			err_errno("setting %s", BOOT_ID_PARAM);
			return -1;
		}
		if (read_text(BOOT_ID_PARAM, cur, sizeof(cur)))
			cur[0] = 0;
	}
	if (strcmp(cur, boot)) {
		err_msg("the driver's boot id '%s' is not this boot's '%s'",
			cur, boot);
		return -1;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char *verdict_outcome(uint32_t o)
{
	return outcome_words(o);
}

static void print_record(FILE *f, const struct bfl_record *r)
{
	char boot[33], ref[BFL_REF_TEXT_MAX];

	bfl_boot_id_hex(r->boot_id, boot);
	fprintf(f, "seq=%llu type=%s stream=%s/%016llx mono=%llu.%09llu real=%llu.%09llu",
		(unsigned long long)r->seq, bfl_record_type_name(r->type),
		boot, (unsigned long long)r->stream_id,
		(unsigned long long)(r->mono_ns / 1000000000ULL),
		(unsigned long long)(r->mono_ns % 1000000000ULL),
		(unsigned long long)(r->real_ns / 1000000000ULL),
		(unsigned long long)(r->real_ns % 1000000000ULL));
	if (r->reader == BIOREADER_AUDIT_NO_READER)
		fprintf(f, " reader=-");
	else
		fprintf(f, " reader=%u", r->reader);
	fprintf(f, " session=%llu uid=%u pid=%u start=%llu operator=\"%s\"",
		(unsigned long long)r->session_id, r->uid, r->pid,
		(unsigned long long)r->actor_start_ns, r->operator_id);
	if (r->type == BIOREADER_AUDIT_VERDICT)
		fprintf(f, " outcome=\"%s\" reason=%u class=%u flags=%#x",
			verdict_outcome(r->outcome), r->reason,
			r->attack_class, r->flags);
	else if (r->type == BIOREADER_AUDIT_INTEGRITY)
		fprintf(f, " error=%u", r->outcome);
	fprintf(f, " detail=%u,%u,%u,%u,%u,%u", r->detail[0], r->detail[1],
		r->detail[2], r->detail[3], r->detail[4], r->detail[5]);
	if (r->type == BIOREADER_AUDIT_DAEMON) {
		char ev[160];

		bfl_daemon_event_text(r, ev, sizeof(ev));
		fprintf(f, " event=\"%s\"", ev);
	}
	/* SESSION_START (version 2): the declared origin of the reference */
	bfl_record_ref_text(r, ref, sizeof(ref));
	if (ref[0])
		fprintf(f, " %s", ref);
	fputc('\n', f);
}

static int cmd_drain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "no-ack", no_argument, NULL, 'n' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *pidfile = NULL;
	unsigned char *buf = NULL;
	uint64_t count = 0, seen = 0;
	struct sigaction sa;
	int ack = 1, fd = -1, ofd = -1, opt, ret = BX_ERROR;

	while ((opt = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			ack = 0;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'c':
			if (parse_u64(optarg, 1, UINT64_MAX, &count)) {
				err_msg("bad --count '%s'", optarg);
				return BX_USAGE;
			}
			break;
		case 'h':
			audit_usage(stdout);
			return 0;
		default:
			audit_usage(stderr);
			return BX_USAGE;
		}
	}
	if (optind != argc) {
		audit_usage(stderr);
		return BX_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read() returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (ensure_boot_id())
		return BX_ERROR;
	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (ofd < 0) {
			err_errno("cannot open %s", out);
			return BX_ERROR;
		}
	}
	fd = open(AUDIT_DEV, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EBUSY)
			err_msg("%s: another consumer is attached", AUDIT_DEV);
		else
			err_errno("cannot open %s", AUDIT_DEV);
		goto out;
	}
	if (pidfile) {
		char tmp[4096], line[32];
		int pfd;

		snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
		snprintf(line, sizeof(line), "%d\n", (int)getpid());
		pfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (pfd < 0 || write_all(pfd, line, strlen(line)) ||
		    close(pfd) || rename(tmp, pidfile)) {
			err_errno("cannot write %s", pidfile);
			goto out;
		}
	}
	/* Records are 160 or 232 bytes; read() wants room for the largest. */
	buf = malloc(DRAIN_BATCH * BIOREADER_AUDIT_RECORD_SIZE);
	if (!buf) {
		err_errno("malloc");
		goto out;
	}

	while (!drain_stop && (!count || seen < count)) {
		uint64_t last = 0;
		size_t off = 0, want = DRAIN_BATCH, len;
		ssize_t n;

		if (count && count - seen < want)
			want = count - seen;
		/* At most @want records even if all are the smallest; one
		 * record of any size when @want is 1. */
		len = want * BIOREADER_AUDIT_RECORD_SIZE;
		if (len < BIOREADER_AUDIT_RECORD_MAX)
			len = BIOREADER_AUDIT_RECORD_MAX;
		n = read(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_errno("read %s", AUDIT_DEV);
			goto out;
		}
		if (n == 0)
			continue;
		while (off < (size_t)n) {
			struct bfl_record r;
			struct bfl_err e = { 0 };
			int sz = bfl_record_parse(buf + off, (size_t)n - off,
						  &r, &e);

			if (sz < 0) {
				err_msg("bad record from the kernel at byte %zu: %s",
					off, e.msg);
				goto out;
			}
			if (!out)
				print_record(stdout, &r);
			if (bfl_record_is_kernel(&r))
				last = r.seq;
			off += (size_t)sz;
			seen++;
		}
		if (ofd >= 0) {
			if (write_all(ofd, buf, (size_t)n) || fdatasync(ofd)) {
				err_errno("writing %s", out);
				goto out;
			}
		} else {
			fflush(stdout);
		}
		/* Durable first, acknowledged after. */
		if (ack && last && ioctl(fd, BIOREADER_AUDIT_IOC_ACK, &last)) {
			err_errno("acknowledging seq %llu",
				  (unsigned long long)last);
			goto out;
		}
	}
	ret = 0;
out:
	/* Detached before the pidfile goes: its absence means detached. */
	if (fd >= 0)
		close(fd);
	if (pidfile && fd >= 0)
		unlink(pidfile);
	if (ofd >= 0)
		close(ofd);
	free(buf);
	return ret;
}

static int cmd_show(int argc, char **argv)
{
	unsigned char *data = NULL;
	size_t len = 0, cap = 0, off = 0;
	FILE *f;
	int ret = 0;

	if (argc != 2) {
		audit_usage(stderr);
		return BX_USAGE;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		err_errno("cannot open %s", argv[1]);
		return BX_ERROR;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			unsigned char *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(data, cap);
			if (!p) {
				err_errno("realloc");
				fclose(f);
				free(data);
				return BX_ERROR;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		err_errno("reading %s", argv[1]);
		ret = BX_ERROR;
	}
	fclose(f);

	while (!ret && off < len) {
		struct bfl_record r;
		struct bfl_err e = { 0 };
		int sz = bfl_record_parse(data + off, len - off, &r, &e);

		if (sz < 0) {
			err_msg("%s: byte %zu: %s", argv[1], off, e.msg);
			ret = BX_ERROR;
			break;
		}
		print_record(stdout, &r);
		off += (size_t)sz;
	}
	free(data);
	return ret;
}

/* The forwarder's status file (bioflow-forward STATE/status): written
 * by another user, so read like bioflowd reads it (fwdwatch.c): no
 * symbolic link, no FIFO, at most 4 KiB; only the lag lines, with
 * anything unprintable shown as '?'. */
static int print_forward(const char *path)
{
	static const char *const keys[] = {
		"sealed", "witnessed", "lag-records", "lag-seconds", "collector",
		"last-error",
	};
	char buf[4097], *line, *save = NULL;
	struct stat sb;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err_errno("forwarder status %s", path);
		return BX_ERROR;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		err_msg("forwarder status %s: not a regular file", path);
		return BX_ERROR;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n == sizeof(buf) - 1) {
		err_msg("forwarder status %s: unreadable or over 4 KiB", path);
		return BX_ERROR;
	}
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' '), *c;
		unsigned int i;

		if (!sp)
			continue;
		*sp = 0;
		for (c = sp + 1; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(line, keys[i]))
				printf("forward-%-12s %s\n", line, sp + 1);
	}
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	const char *fwd = NULL;
	int r = 0;

	if (argc == 3 && !strcmp(argv[1], "--forward")) {
		fwd = argv[2];
	} else if (argc != 1) {
		audit_usage(stderr);
		return BX_USAGE;
	}
	r = channel_status();
	if (fwd && print_forward(fwd))
		r = BX_ERROR;
	return r;
}

static int channel_status(void)
{
	static const char *const attrs[] = {
		"consumer", "capacity", "pending", "next_seq", "acked", "lost",
		"stream_id",
	};
	char path[256], val[128];
	unsigned int i;

	if (read_text(BOOT_ID_PARAM, val, sizeof(val))) {
		err_errno("%s (is bioreader loaded?)", BOOT_ID_PARAM);
		return BX_ERROR;
	}
	printf("%-10s %s\n", "boot_id", val[0] ? val : "(not set)");
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), AUDIT_SYSFS "/%s", attrs[i]);
		if (read_text(path, val, sizeof(val))) {
			err_errno("%s", path);
			return BX_ERROR;
		}
		printf("%-10s %s\n", attrs[i], val);
	}
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		audit_usage(stderr);
		return BX_USAGE;
	}
	if (!strcmp(argv[1], "drain"))
		return cmd_drain(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		audit_usage(stdout);
		return 0;
	}
	err_msg("unknown audit command '%s'", argv[1]);
	audit_usage(stderr);
	return BX_USAGE;
}
