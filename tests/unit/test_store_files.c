// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Store files that are not regular files, and store directories that
 * cannot be read (docs/log-format.md, "Verifier checks"; bioflow-verify(1),
 * exit codes).  A FIFO in place of a store file must neither hang the
 * verifier nor the daemon's recovery: both open store files with
 * O_NONBLOCK | O_NOFOLLOW and refuse anything but a regular file (a
 * FIFO, a symbolic link, a directory) with a finding naming the file.
 * An epochs/ or segments/ directory that cannot be read is exit 3
 * ("could not be read"), not 1 ("not what was sealed").
 *
 * Every verification runs in a child with a 10 s alarm: a hang is a
 * failure of its own, not a stuck test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "ktap.h"
#include "lib/audit_rec.h"

#define NTESTS	13
#define ORIGIN	"bioflow.example/files"
#define NOBODY	65534

static char work[PATH_MAX], base[PATH_MAX + 16], dir[PATH_MAX + 16];
static struct bfl_root_signer *rs;
static const u8 boot_a[16] = { 0xf1, 0xf0 };

struct outcome {
	int status;		/* verdict, or 100 + signal, or -1 */
	char kind[40];		/* first error's kind */
	char where[160];
	char msg[512];
};

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2 * PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static void fresh(void)
{
	if (sh("rm -rf '%s'%s", dir, "") || sh("cp -a '%s' '%s'", base, dir))
		ktap_diag("copy of the pristine store failed");
}

static int build_store(void)
{
	struct bfl_store_opts o = { .no_sync = true, .epoch_max_records = 8 };
	struct bfl_store *st = NULL;
	struct bfl_err e = { 0 };
	u8 rec[BFL_RECORD_MIN];
	int r, i;

	rs = bfl_soft_root_new(NULL, NULL, &e);
	if (!rs)
		return -ENOMEM;
	r = bfl_store_create(base, ORIGIN, rs, &o, &st, &e);
	for (i = 1; !r && i <= 20; i++) {
		test_audit_rec(rec, boot_a, 7, (u64)i, BIOREADER_AUDIT_VERDICT);
		r = bfl_store_append(st, rec, sizeof(rec), NULL, NULL, &e);
		if (!r && i % 4 == 0)
			r = bfl_store_commit(st, &e);
	}
	if (st)
		bfl_store_close(st);
	if (r)
		ktap_diag("building the store: %s", e.msg);
	return r;
}

/* Verifies dir in a child (as nobody if asked) with a 10 s alarm. */
static void verify(bool as_nobody, struct outcome *o)
{
	int p[2], st;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	if (pipe(p))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct bfl_verify_result res;
		const struct bfl_finding *f;
		struct outcome out;

		close(p[0]);
		memset(&out, 0, sizeof(out));
		if (as_nobody && (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
				  setresuid(NOBODY, NOBODY, NOBODY)))
			_exit(90);
		alarm(10);
		bfl_verify_store(dir, &rs->key, NULL, &res);
		out.status = (int)res.verdict;
		f = bfl_first_error(&res);
		if (f) {
			snprintf(out.kind, sizeof(out.kind), "%s", f->kind);
			snprintf(out.where, sizeof(out.where), "%s", f->where);
			snprintf(out.msg, sizeof(out.msg), "%s", f->msg);
		}
		bfl_verify_result_free(&res);
		if (write(p[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
			_exit(91);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0 && waitpid(pid, &st, 0) == pid) {
		if (WIFSIGNALED(st)) {
			o->status = 100 + WTERMSIG(st);
			ktap_diag("verifier killed by signal %d%s", WTERMSIG(st),
				  WTERMSIG(st) == SIGALRM ? " (it hung)" : "");
		} else if (read(p[0], o, sizeof(*o)) != (ssize_t)sizeof(*o)) {
			o->status = -1;
		}
	}
	close(p[0]);
	ktap_diag("verdict %d, first error %s at %s: %s", o->status, o->kind,
		  o->where, o->msg);
}

static void check_special(const char *rel, const char *kind_of, bool dir_node,
			  const char *name)
{
	char path[PATH_MAX + 64];
	struct outcome o;

	fresh();
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (unlink(path) || (dir_node ? mkdir(path, 0755) : mkfifo(path, 0644))) {
		ktap_diag("%s: %s", path, strerror(errno));
		ktap_check(0, name);
		return;
	}
	verify(false, &o);
	ktap_check(o.status == BFL_FAIL && !strcmp(o.kind, "not-regular-file") &&
		   strstr(o.where, rel) && strstr(o.msg, kind_of), name);
}

static void test_symlink(void)
{
	char path[PATH_MAX + 64], copy[PATH_MAX + 64];
	struct outcome o;

	/* A symbolic link to an intact copy: still refused, since a store
	 * file that points elsewhere is not part of the store. */
	fresh();
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	snprintf(copy, sizeof(copy), "%s/checkpoint.copy", work);
	if (rename(path, copy) || symlink(copy, path)) {
		ktap_check(0, "a symbolic link in place of the checkpoint file: refused (not followed)");
		return;
	}
	verify(false, &o);
	ktap_check(o.status == BFL_FAIL && !strcmp(o.kind, "not-regular-file") &&
		   strstr(o.msg, "symbolic link"),
		   "a symbolic link in place of the checkpoint file: refused (not followed)");
}

/* The daemon's recovery: bfl_store_open on a store with a FIFO. */
static void test_recovery_fifo(void)
{
	char path[PATH_MAX + 64];
	int st = -1, p[2];
	pid_t pid;
	struct { int r; char msg[512]; } out = { 0 };

	fresh();
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	if (unlink(path) || mkfifo(path, 0644) || pipe(p)) {
		ktap_check(0, "recovery (bfl_store_open) with a FIFO checkpoint file: refused at once, -EUCLEAN");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct bfl_store *s = NULL;
		struct bfl_err e = { 0 };

		close(p[0]);
		alarm(10);
		out.r = bfl_store_open(dir, rs, NULL, &s, NULL, &e);
		snprintf(out.msg, sizeof(out.msg), "%s", e.msg);
		if (s)
			bfl_store_close(s);
		if (write(p[1], &out, sizeof(out)) != (ssize_t)sizeof(out))
			_exit(91);
		_exit(0);
	}
	close(p[1]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	if (read(p[0], &out, sizeof(out)) != (ssize_t)sizeof(out))
		out.r = 1;
	close(p[0]);
	ktap_diag("open: %d: %s%s", out.r, out.msg,
		  WIFSIGNALED(st) ? " (killed: it hung)" : "");
	ktap_check(WIFEXITED(st) && out.r == -EUCLEAN && strstr(out.msg, "FIFO"),
		   "recovery (bfl_store_open) with a FIFO checkpoint file: refused at once, -EUCLEAN");
}

static void test_unreadable(const char *sub, const char *name)
{
	char path[PATH_MAX + 64];
	struct outcome o;
	bool nobody = geteuid() == 0;

	fresh();
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	/* root reads anything: the check runs as nobody then */
	if ((nobody && sh("chmod -R a+rX '%s' '%s'", work, dir)) || chmod(path, 0)) {
		ktap_check(0, name);
		return;
	}
	verify(nobody, &o);
	chmod(path, 0750);
	ktap_check(o.status == BFL_UNREADABLE && strstr(o.where, sub), name);
}

/* bioflow-verify's exit status for the same, as its man page says
 * ($BIOFLOW_VERIFY, else build/bioflow-verify). */
static void test_cli_exit(const char *sub)
{
	char tool[PATH_MAX + 32], exe[PATH_MAX], key[PATH_MAX + 16], path[PATH_MAX + 64];
	char name[80];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *env = getenv("BIOFLOW_VERIFY");
	char *slash;
	int st = -1, up;
	bool found = false;
	pid_t pid;

	snprintf(name, sizeof(name), "bioflow-verify: unreadable %s/ exits 3", sub);
	exe[n > 0 ? n : 0] = 0;
	if (env) {
		snprintf(tool, sizeof(tool), "%s", env);
		found = access(tool, X_OK) == 0;
	}
	for (up = 0; !env && up < 5 && !found; up++) {
		slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = 0;
		snprintf(tool, sizeof(tool), "%s/bioflow-verify", exe);
		found = access(tool, X_OK) == 0;
	}
	if (!found) {
		ktap_skip(name, "build/bioflow-verify not built");
		return;
	}
	snprintf(key, sizeof(key), "%s/root.pem", work);
	fresh();
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (bfl_write_pubkey_pem(rs->key.pk, key, NULL) ||
	    (geteuid() == 0 && sh("chmod -R a+rX '%s' '%s'", work, dir)) || chmod(path, 0)) {
		ktap_check(0, name);
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { tool, "-q", "--root-key", key, dir, NULL };
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		/* root reads anything: run it as nobody */
		if (geteuid() == 0 && (setgroups(0, NULL) ||
				       setresgid(NOBODY, NOBODY, NOBODY) ||
				       setresuid(NOBODY, NOBODY, NOBODY)))
			_exit(90);
		alarm(10);
		execv(tool, argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	chmod(path, 0750);
	ktap_diag("bioflow-verify with %s/ unreadable: status %d", sub,
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ktap_check(WIFEXITED(st) && WEXITSTATUS(st) == 3, name);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct outcome o;

	ktap_plan(NTESTS);
	snprintf(work, sizeof(work), "%s/bioflow-files.XXXXXX",
		 tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(work)) {
		ktap_diag("mkdtemp: %s", strerror(errno));
		return 1;
	}
	snprintf(base, sizeof(base), "%s/base", work);
	snprintf(dir, sizeof(dir), "%s/s", work);
	if (!ktap_check(!build_store(), "a store with three epochs is built"))
		return ktap_finish();
	fresh();
	verify(false, &o);
	ktap_check(o.status == BFL_OK, "the pristine store verifies");

	check_special("checkpoint", "FIFO", false,
		      "a FIFO in place of the checkpoint file: no hang, not-regular-file naming it");
	check_special("segments/00000000000000000000.seg", "FIFO", false,
		      "a FIFO in place of a segment: no hang, not-regular-file naming it");
	check_special("epochs/0000000002.cert", "FIFO", false,
		      "a FIFO in place of an epoch certificate: no hang, not-regular-file naming it");
	check_special("epochs/0000000001.final", "directory", true,
		      "a directory in place of a final checkpoint: not-regular-file naming it");
	check_special("segments/00000000000000000000.seg", "directory", true,
		      "a directory in place of a segment: not-regular-file naming it");
	test_symlink();
	test_recovery_fifo();
	test_unreadable("epochs", "epochs/ unreadable: verdict 3 (could not be read), naming it");
	test_unreadable("segments", "segments/ unreadable: verdict 3 (could not be read), naming it");
	test_cli_exit("segments");
	test_cli_exit("epochs");

	bfl_root_signer_free(rs);
	sh("chmod -R u+rwX '%s'; rm -rf '%s'", work, work);
	return ktap_finish();
}
