// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl commands that talk to a reader: info, verify, policy, stats.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bioctl.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void print_info(const char *dev, const struct bioreader_info *i)
{
	printf("%s:\n", dev);
	printf("  reader index     %u\n", i->reader_index);
	printf("  api version      %u\n", i->api_version);
	printf("  hardware version %u.%u\n", i->hw_version >> 16,
	       i->hw_version & 0xffff);
	printf("  state            %s\n",
	       i->state == BIOREADER_STATE_BUSY ? "busy (session running)" :
	       i->state == BIOREADER_STATE_IDLE ? "idle" : "unknown");
	printf("  frames           %ux%u at %u fps\n", i->width, i->height,
	       i->fps);
	printf("  embedding        %u dimensions\n", i->emb_dim);
	printf("  template         format %u, at most %u bytes\n",
	       i->template_format, i->template_max);
	printf("  capabilities     %s%s%s%s%s\n",
	       i->caps & BIOREADER_CAP_DUAL_NIR ? "dual-nir " : "",
	       i->caps & BIOREADER_CAP_DEPTH ? "depth " : "",
	       i->caps & BIOREADER_CAP_EMBEDDING ? "embedding " : "",
	       i->caps & BIOREADER_CAP_ILLUMINATION ? "illumination " : "",
	       i->caps & BIOREADER_CAP_FRAME_MAC ? "frame-mac" : "");
	printf("  liveness (PAD)   %s\n",
	       i->features & BIOREADER_FEAT_LIVENESS ?
	       "evaluated in every session" :
	       "not available on this reader (needs dual-nir, depth, illumination)");
}

static int info_one(const char *dev)
{
	struct bioreader_info info;
	int fd = open_reader(dev);

	if (fd < 0)
		return BX_ERROR;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, BIOREADER_IOC_GET_INFO, &info)) {
		err_errno("%s: GET_INFO", dev);
		close(fd);
		return BX_ERROR;
	}
	close(fd);
	print_info(dev, &info);
	return 0;
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dev = NULL;
	struct dirent *de;
	int c, ret = 0, n = 0;
	char path[300];
	DIR *d;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd')
			return BX_USAGE;
		dev = optarg;
	}
	if (optind != argc) {
		err_msg("info: unexpected argument '%s'", argv[optind]);
		return BX_USAGE;
	}
	if (dev)
		return info_one(dev);
	d = opendir("/sys/class/bioreader");
	if (!d) {
		err_errno("no readers (is bioreader loaded?) /sys/class/bioreader");
		return BX_ERROR;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "bioreader", 9))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		if (info_one(path))
			ret = BX_ERROR;
		n++;
	}
	closedir(d);
	if (!n)
		printf("no readers\n");
	return ret;
}

static int load_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_errno("cannot open template %s", path);
		return -1;
	}
	n = read(fd, buf, cap);
	if (n < 0) {
		err_errno("cannot read template %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	*len = n;
	return 0;
}

static int verdict_exit(uint32_t outcome)
{
	switch (outcome) {
	case BIOREADER_OUTCOME_MATCH: return BX_MATCH;
	case BIOREADER_OUTCOME_NO_MATCH: return BX_NO_MATCH;
	case BIOREADER_OUTCOME_ATTACK: return BX_ATTACK;
	case BIOREADER_OUTCOME_INCONCLUSIVE: return BX_INCONCLUSIVE;
	case BIOREADER_OUTCOME_TIMEOUT: return BX_TIMEOUT;
	case BIOREADER_OUTCOME_ABORTED: return BX_ABORTED;
	}
	return BX_ERROR;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "template", required_argument, NULL, 't' },
		{ "identity", required_argument, NULL, 'i' },
		{ "operator", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "level", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	/* one byte more than the limit, to notice a too large file */
	static uint8_t tpl[BIOREADER_TEMPLATE_MAX + 1];
	const char *dev = NULL, *file = NULL, *op = NULL;
	struct bioreader_session_start st;
	struct bioreader_verdict v;
	struct bioreader_info info;
	uint64_t identity = 0, val, timeout = 0;
	uint32_t level = BIOREADER_SECLEVEL_DEFAULT;
	int c, fd, have_id = 0, ret;
	struct sigaction sa;
	size_t len = 0;

	while ((c = getopt_long(argc, argv, "d:t:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 't': file = optarg; break;
		case 'o': op = optarg; break;
		case 'i':
			if (parse_u64(optarg, 0, UINT64_MAX, &identity)) {
				err_msg("verify: bad identity '%s'", optarg);
				return BX_USAGE;
			}
			have_id = 1;
			break;
		case 'T':
			if (parse_u64(optarg, 100, BIOREADER_TIMEOUT_MAX_MS,
				      &val)) {
				err_msg("verify: timeout must be 100..%u ms",
					BIOREADER_TIMEOUT_MAX_MS);
				return BX_USAGE;
			}
			timeout = val;
			break;
		case 'l':
			if (parse_level(optarg, &level)) {
				err_msg("verify: level must be low, medium or high");
				return BX_USAGE;
			}
			break;
		default:
			return BX_USAGE;
		}
	}
	if (optind != argc || !dev || !op || (!file == !have_id)) {
		err_msg("usage: bioctl verify -d DEV (-t TEMPLATE_FILE | --identity N) -o OPERATOR [--timeout MS] [--level low|medium|high]");
		return BX_USAGE;
	}
	if (!*op || strlen(op) >= BIOREADER_OPERATOR_ID_LEN) {
		err_msg("verify: operator id must be 1..%d characters",
			BIOREADER_OPERATOR_ID_LEN - 1);
		return BX_USAGE;
	}
	fd = open_reader(dev);
	if (fd < 0)
		return BX_ERROR;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, BIOREADER_IOC_GET_INFO, &info)) {
		err_errno("%s: GET_INFO", dev);
		close(fd);
		return BX_ERROR;
	}
	if (file) {
		if (load_file(file, tpl, sizeof(tpl), &len)) {
			close(fd);
			return BX_ERROR;
		}
	} else {
		len = make_template(identity, info.emb_dim, tpl, sizeof(tpl));
		if (!len) {
			err_msg("verify: the reader's embedding size %u is not supported",
				info.emb_dim);
			close(fd);
			return BX_ERROR;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: WAIT returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	memset(&st, 0, sizeof(st));
	st.template_ptr = (uintptr_t)tpl;
	st.template_len = len;
	st.security_level = level;
	st.timeout_ms = timeout;
	memcpy(st.operator_id, op, strlen(op));
	if (ioctl(fd, BIOREADER_IOC_SESSION_START, &st)) {
		int e = errno;

		switch (e) {
		case EAGAIN:
			err_msg("%s: this reference is locked out after repeated failures; try again later",
				dev);
			ret = BX_LOCKED;
			break;
		case EBUSY:
			err_msg("%s: the reader is busy with another session",
				dev);
			ret = BX_BUSY;
			break;
		case EBADMSG:
			err_msg("%s: the template is not valid for this reader (format or dimension)",
				dev);
			ret = BX_ERROR;
			break;
		case EMSGSIZE:
			err_msg("%s: the template is too large (at most %u bytes)",
				dev, BIOREADER_TEMPLATE_MAX);
			ret = BX_ERROR;
			break;
		default:
			errno = e;
			err_errno("%s: SESSION_START", dev);
			ret = BX_ERROR;
		}
		explicit_bzero(tpl, sizeof(tpl));
		close(fd);
		return ret;
	}
	/* the reference never needs to stay in this process */
	explicit_bzero(tpl, sizeof(tpl));
	printf("session %llu started on %s (operator %s); look at the reader...\n",
	       (unsigned long long)st.session_id, dev, op);
	fflush(stdout);

	for (;;) {
		memset(&v, 0, sizeof(v));
		v.timeout_ms = BIOREADER_TIMEOUT_MAX_MS;
		if (ioctl(fd, BIOREADER_IOC_SESSION_WAIT, &v) == 0)
			break;
		if (errno == EINTR || interrupted) {
			if (interrupted) {
				fprintf(stderr, "%s: interrupted, aborting the session\n",
					bioctl_prog);
				interrupted = 0;
				if (ioctl(fd, BIOREADER_IOC_SESSION_ABORT) &&
				    errno != ENOENT)
					err_errno("%s: SESSION_ABORT", dev);
			}
			continue;
		}
		if (errno == ETIMEDOUT)
			continue;
		if (errno == ENODEV) {
			printf("verdict: ABORTED (the reader was removed)\n");
			close(fd);
			return BX_ABORTED;
		}
		err_errno("%s: SESSION_WAIT", dev);
		close(fd);
		return BX_ERROR;
	}
	close(fd);

	printf("verdict: %s", outcome_words(v.outcome));
	if (v.reason == BIOREADER_REASON_LIVENESS_UNAVAILABLE)
		printf(" (%s)", info.features & BIOREADER_FEAT_LIVENESS ?
		       "liveness could not decide within the illumination pattern" :
		       "liveness is not available on this reader and the policy requires it");
	else if (v.reason != BIOREADER_REASON_NONE)
		printf(" (%s)", reason_words(v.reason));
	printf("\n");
	if (v.outcome == BIOREADER_OUTCOME_ATTACK)
		printf("attack class: %s\n", attack_words(v.attack_class));
	printf("liveness: %s\n",
	       v.flags & BIOREADER_VERDICT_LIVENESS_EVALUATED ? "evaluated" :
	       "not evaluated");
	printf("session: %llu", (unsigned long long)v.session_id);
	if (v.audit_seq)
		printf(", audit record %llu", (unsigned long long)v.audit_seq);
	printf("\n");
	return verdict_exit(v.outcome);
}

static void print_policy(const char *dev, const struct bioreader_policy *p)
{
	printf("%s policy:\n", dev);
	printf("  allow match without liveness  %s\n",
	       p->flags & BIOREADER_POLICY_ALLOW_NO_LIVENESS ? "on" : "off");
	printf("  security level                %s\n",
	       level_name(p->security_level));
	printf("  face frames per decision      %u\n", p->frames_required);
	printf("  default session timeout       %u ms\n",
	       p->default_timeout_ms);
	printf("  failures before lockout       %u\n", p->max_failures);
	printf("  lockout                       %u s\n", p->lockout_s);
}

/* A numeric option of `policy --set`, range-checked. */
struct policy_num {
	int given;
	uint64_t val;
};

static int policy_num_parse(const char *arg, uint64_t lo, uint64_t hi,
			    const char *what, const char *unit,
			    struct policy_num *o)
{
	if (parse_u64(arg, lo, hi, &o->val)) {
		err_msg("policy: %s must be %llu..%llu%s", what,
			(unsigned long long)lo, (unsigned long long)hi, unit);
		return -1;
	}
	o->given = 1;
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "get", no_argument, NULL, 'g' },
		{ "set", no_argument, NULL, 's' },
		{ "allow-no-liveness", required_argument, NULL, 'a' },
		{ "level", required_argument, NULL, 'l' },
		{ "frames", required_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "max-failures", required_argument, NULL, 'm' },
		{ "lockout", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dev = BIOCTL_DEFAULT_DEV;
	struct bioreader_policy p, want;
	int c, fd, set = 0, get = 0, changes = 0, allow = -1;
	uint32_t level = 0;
	struct policy_num frames = { 0 }, tmo = { 0 }, maxf = { 0 },
			  lock = { 0 };

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 'g': get = 1; break;
		case 's': set = 1; break;
		case 'a':
			if (!strcmp(optarg, "on"))
				allow = 1;
			else if (!strcmp(optarg, "off"))
				allow = 0;
			else {
				err_msg("policy: --allow-no-liveness takes on or off");
				return BX_USAGE;
			}
			changes++;
			break;
		case 'l':
			if (parse_level(optarg, &level)) {
				err_msg("policy: level must be low, medium or high");
				return BX_USAGE;
			}
			changes++;
			break;
		case 'f':
			if (policy_num_parse(optarg, 1, 64, "frames", "", &frames))
				return BX_USAGE;
			changes++;
			break;
		case 'T':
			if (policy_num_parse(optarg, 100, BIOREADER_TIMEOUT_MAX_MS,
					     "timeout", " ms", &tmo))
				return BX_USAGE;
			changes++;
			break;
		case 'm':
			if (policy_num_parse(optarg, 1, 100, "max-failures", "",
					     &maxf))
				return BX_USAGE;
			changes++;
			break;
		case 'L':
			if (policy_num_parse(optarg, 1, 86400, "lockout", " s",
					     &lock))
				return BX_USAGE;
			changes++;
			break;
		default:
			return BX_USAGE;
		}
	}
	if (optind != argc || (set && get) || (changes && !set) ||
	    (set && !changes)) {
		err_msg("usage: bioctl policy [-d DEV] [--get] | --set [--allow-no-liveness on|off] [--level L] [--frames N] [--timeout MS] [--max-failures N] [--lockout S]");
		return BX_USAGE;
	}
	fd = open_reader(dev);
	if (fd < 0)
		return BX_ERROR;
	memset(&p, 0, sizeof(p));
	if (ioctl(fd, BIOREADER_IOC_GET_POLICY, &p)) {
		err_errno("%s: GET_POLICY", dev);
		close(fd);
		return BX_ERROR;
	}
	if (set) {
		want = p;
		if (allow == 1)
			want.flags |= BIOREADER_POLICY_ALLOW_NO_LIVENESS;
		else if (allow == 0)
			want.flags &= ~BIOREADER_POLICY_ALLOW_NO_LIVENESS;
		if (level)
			want.security_level = level;
		if (frames.given)
			want.frames_required = frames.val;
		if (tmo.given)
			want.default_timeout_ms = tmo.val;
		if (maxf.given)
			want.max_failures = maxf.val;
		if (lock.given)
			want.lockout_s = lock.val;
		if (ioctl(fd, BIOREADER_IOC_SET_POLICY, &want)) {
			if (errno == EPERM)
				err_msg("%s: changing the policy needs CAP_SYS_ADMIN",
					dev);
			else
				err_errno("%s: SET_POLICY", dev);
			close(fd);
			return BX_ERROR;
		}
		memset(&p, 0, sizeof(p));
		if (ioctl(fd, BIOREADER_IOC_GET_POLICY, &p)) {
			err_errno("%s: GET_POLICY", dev);
			close(fd);
			return BX_ERROR;
		}
	}
	close(fd);
	print_policy(dev, &p);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "reset", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[128], path[400], val[128], *names[64];
	const char *dev = NULL;
	int c, reset = 0, n = 0, i;
	struct dirent *de;
	DIR *d;

	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 'r': reset = 1; break;
		default: return BX_USAGE;
		}
	}
	if (optind != argc || !dev) {
		err_msg("usage: bioctl stats -d DEV [--reset]");
		return BX_USAGE;
	}
	if (reader_sysfs(dev, dir, sizeof(dir))) {
		err_errno("%s: not a reader node", dev);
		return BX_ERROR;
	}
	if (reset) {
		int fd = open_reader(dev);

		if (fd < 0)
			return BX_ERROR;
		if (ioctl(fd, BIOREADER_IOC_RESET_STATS)) {
			if (errno == EPERM)
				err_msg("%s: resetting statistics needs CAP_SYS_ADMIN",
					dev);
			else
				err_errno("%s: RESET_STATS", dev);
			close(fd);
			return BX_ERROR;
		}
		close(fd);
		printf("%s: statistics reset\n", dev);
	}
	snprintf(path, sizeof(path), "%s/stats", dir);
	d = opendir(path);
	if (!d) {
		err_errno("%s", path);
		return BX_ERROR;
	}
	while ((de = readdir(d)) && n < 64) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	printf("%s statistics:\n", dev);
	snprintf(path, sizeof(path), "%s/state", dir);
	if (!read_text(path, val, sizeof(val)))
		printf("  %-16s %s\n", "state", val);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/stats/%s", dir, names[i]);
		if (read_text(path, val, sizeof(val)))
			snprintf(val, sizeof(val), "(%s)", strerror(errno));
		printf("  %-16s %s\n", names[i], val);
		free(names[i]);
	}
	return 0;
}
