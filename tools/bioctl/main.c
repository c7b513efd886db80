// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl: command dispatch, usage, and shared utility functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bioctl.h"

const char *bioctl_prog = "bioctl";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bioctl COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  info [-d DEV]                 reader information (all readers without -d)\n"
"  verify -d DEV (-t FILE | --identity N) -o OPERATOR\n"
"         [--timeout MS] [--level low|medium|high]\n"
"                                verify the person in front of the reader\n"
"                                against a reference template; prints the\n"
"                                verdict (never a score)\n"
"  policy [-d DEV] [--get]       show the reader's policy\n"
"  policy [-d DEV] --set [--allow-no-liveness on|off] [--level L]\n"
"         [--frames N] [--timeout MS] [--max-failures N] [--lockout S]\n"
"                                change it (needs CAP_SYS_ADMIN)\n"
"  stats -d DEV [--reset]        statistics from sysfs; --reset zeroes\n"
"                                them (needs CAP_SYS_ADMIN)\n"
"  sim new NAME [--width W] [--height H] [--fps F] [--emb-dim D]\n"
"                                create a simulated reader and make it live\n"
"  sim del NAME                  remove a simulated reader\n"
"  sim scene NAME SCENE          set what its camera sees: \"empty\", or\n"
"                                \"person|print|replay|mask ID [OPTIONS]\"\n"
"                                (a live person, or a print, screen replay\n"
"                                or mask of that person)\n"
"  sim list                      list simulated readers\n"
"  template --identity N -o FILE [--dim D]\n"
"                                write the ID-card template of simulated\n"
"                                person N (uAPI template format)\n"
"  audit drain [--out FILE] [--no-ack]\n"
"                                be the audit consumer (stands in for\n"
"                                bioflowd); see 'bioctl audit help'\n"
"  audit show FILE               print a file of audit records\n"
"  audit status [--forward FILE] state of the audit channel, and the\n"
"                                forwarder's lag from its status FILE\n"
"  card info [--no-power] [--wait MS]\n"
"                                USB smart-card (CCID) readers: identity,\n"
"                                slot status, the card's ATR\n"
"  card apdu [-r N] HEX...       send APDUs to the card over T=0\n"
"  card verify -o OPERATOR --csca DIR [--crl DIR] --mrz FILE [-d DEV]\n"
"         [-r N] [--reader-wait MS] [--card-wait MS] [--timeout MS]\n"
"         [--level low|medium|high]\n"
"                                the kiosk transaction: read the ID card,\n"
"                                prove it genuine, verify its holder\n"
"  help                          this text\n"
"\n"
"DEV defaults to " BIOCTL_DEFAULT_DEV " where optional.\n"
"\n"
"Exit status:\n"
"  0  success; for verify: MATCH\n"
"  1  error (device, system call, file)\n"
"  2  bad command line\n"
"  3  verify: NO_MATCH\n"
"  4  verify: ATTACK suspected (print, replay, mask, or frame injection)\n"
"  5  verify: INCONCLUSIVE (e.g. liveness unavailable or undecided)\n"
"  6  verify: TIMEOUT (e.g. nobody in front of the reader)\n"
"  7  verify: ABORTED (interrupted, or the device was removed)\n"
"  8  verify: reference locked out after repeated failures (EAGAIN)\n"
"  9  verify: reader busy with another session (EBUSY)\n"
"  10 card verify: the ID card was refused (not genuine, altered, wrong\n"
"     MRZ); no session started\n"
"  11 card verify: no card reader, no card, or the card was not read;\n"
"     no session started\n");
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bioctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void err_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "%s: ", bioctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(e));
	errno = e;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_level(const char *s, uint32_t *level)
{
	if (!strcmp(s, "low"))
		*level = BIOREADER_SECLEVEL_LOW;
	else if (!strcmp(s, "medium"))
		*level = BIOREADER_SECLEVEL_MEDIUM;
	else if (!strcmp(s, "high"))
		*level = BIOREADER_SECLEVEL_HIGH;
	else
		return -1;
	return 0;
}

const char *level_name(uint32_t level)
{
	switch (level) {
	case BIOREADER_SECLEVEL_DEFAULT: return "default";
	case BIOREADER_SECLEVEL_LOW: return "low";
	case BIOREADER_SECLEVEL_MEDIUM: return "medium";
	case BIOREADER_SECLEVEL_HIGH: return "high";
	}
	return "unknown";
}

int open_reader(const char *dev)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		err_errno("cannot open %s", dev);
	return fd;
}

int read_text(const char *path, char *buf, size_t cap)
{
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int write_text(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, e;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, val, len);
	e = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

int reader_sysfs(const char *dev, char *out, size_t cap)
{
	struct stat st;

	if (stat(dev, &st))
		return -1;
	if (!S_ISCHR(st.st_mode)) {
		errno = ENOTTY;
		return -1;
	}
	snprintf(out, cap, "/sys/dev/char/%u:%u", major(st.st_rdev),
		 minor(st.st_rdev));
	/* a reader's class device has a stats/ group */
	{
		char probe[160];

		snprintf(probe, sizeof(probe), "%s/stats", out);
		if (access(probe, F_OK)) {
			errno = ENOTTY;
			return -1;
		}
	}
	return 0;
}

const char *outcome_words(uint32_t outcome)
{
	switch (outcome) {
	case BIOREADER_OUTCOME_MATCH: return "MATCH";
	case BIOREADER_OUTCOME_NO_MATCH: return "NO MATCH";
	case BIOREADER_OUTCOME_ATTACK: return "ATTACK SUSPECTED";
	case BIOREADER_OUTCOME_INCONCLUSIVE: return "INCONCLUSIVE";
	case BIOREADER_OUTCOME_TIMEOUT: return "TIMEOUT";
	case BIOREADER_OUTCOME_ABORTED: return "ABORTED";
	}
	return "UNKNOWN OUTCOME";
}

const char *reason_words(uint32_t reason)
{
	switch (reason) {
	case BIOREADER_REASON_NONE: return "";
	case BIOREADER_REASON_NO_FACE: return "nobody was seen";
	case BIOREADER_REASON_LIVENESS_UNAVAILABLE:
		return "liveness unavailable on this reader, or undecided";
	case BIOREADER_REASON_FRAME_INTEGRITY:
		return "frame integrity check failed";
	case BIOREADER_REASON_USER_ABORT: return "aborted by the user";
	case BIOREADER_REASON_DEVICE_REMOVED: return "the reader was removed";
	case BIOREADER_REASON_HW_ERROR: return "hardware error";
	case BIOREADER_REASON_PRESENTATION_ATTACK:
		return "presentation attack detected";
	/* Capture quality: what the kiosk asks the person to do. */
	case BIOREADER_REASON_TOO_FAR: return "too far: step closer";
	case BIOREADER_REASON_TOO_CLOSE: return "too close: step back";
	case BIOREADER_REASON_TOO_BRIGHT:
		return "too bright: shade the reader from the light";
	case BIOREADER_REASON_FACE_COVERED:
		return "face covered: uncover nose and mouth";
	case BIOREADER_REASON_POSE: return "turn towards the reader";
	case BIOREADER_REASON_HOLD_STILL: return "hold still";
	/* Not verified, and a failed attempt: a kiosk refers to staff. */
	case BIOREADER_REASON_SKIN_UNCERTAIN:
		return "skin uncertain (heavy makeup or a mask): refer to staff";
	}
	return "unknown reason";
}

const char *attack_words(uint32_t cls)
{
	switch (cls) {
	case BIOREADER_ATTACK_NONE: return "none";
	case BIOREADER_ATTACK_PRINT: return "printed photo";
	case BIOREADER_ATTACK_REPLAY: return "screen replay";
	case BIOREADER_ATTACK_MASK: return "mask";
	case BIOREADER_ATTACK_INJECTION: return "frame injection";
	}
	return "unknown";
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "info", cmd_info },
		{ "verify", cmd_verify },
		{ "policy", cmd_policy },
		{ "stats", cmd_stats },
		{ "sim", cmd_sim },
		{ "template", cmd_template },
		{ "audit", cmd_audit },
		{ "card", cmd_card },
	};
	unsigned int i;

	if (argc < 2) {
		usage(stderr);
		return BX_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	err_msg("unknown command '%s' (try 'bioctl help')", argv[1]);
	return BX_USAGE;
}
