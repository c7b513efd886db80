// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit daemon in the VM tests (brvm_flow.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "brvm.h"
#include "brvm_flow.h"

/* The TPM root key's authorization file (the guest's /tmp is writable). */
#define BRVM_TPM_AUTH	"/tmp/bioflow-vm-tpm-root.auth"

int brvm_flow_provision(const char *pubkey)
{
	int r;

	r = brvm_sh("bioflow-provision --tcti %s --out-pubkey %s --auth-file %s >/dev/null",
		    BRVM_TPM_TCTI, pubkey, BRVM_TPM_AUTH);
	/* provisioned before in this boot: again, for a new authorization
	 * file (the same key comes back from the fixed template) */
	if (r == 4)
		r = brvm_sh("bioflow-provision --tcti %s --out-pubkey %s --auth-file %s --force >/dev/null",
			    BRVM_TPM_TCTI, pubkey, BRVM_TPM_AUTH);
	return r == 0 ? 0 : -1;
}

int brvm_flow_start(struct brvm_flow *f, const char *store, const char *log,
		    const char *extra)
{
	char cmd[1024];
	long long end;
	pid_t pid;

	snprintf(f->store, sizeof(f->store), "%s", store);
	snprintf(f->log, sizeof(f->log), "%s", log);
	snprintf(cmd, sizeof(cmd),
		 "exec bioflowd --tpm %s --tpm-auth %s --user nobody --store %s %s 2>>%s </dev/null >&2",
		 BRVM_TPM_TCTI, BRVM_TPM_AUTH, store, extra ? extra : "", log);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	f->pid = pid;
	end = brvm_now_ms() + 15000;
	while (brvm_now_ms() < end) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			printf("# bioflowd exited early (status %d)\n",
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			f->pid = 0;
			return -1;
		}
		if (brvm_audit_attr("consumer") == 1 && brvm_flow_worker(f))
			return 0;
		brvm_sleep_ms(20);
	}
	printf("# bioflowd did not attach to the audit node\n");
	brvm_flow_stop(f);
	return -1;
}

int brvm_flow_stop(struct brvm_flow *f)
{
	long long end = brvm_now_ms() + 20000;
	int st;

	if (!f->pid)
		return -1;
	/*
	 * A stop seals only what the worker has read: wait until every
	 * record the kernel has numbered is acknowledged, so that what the
	 * caller checks afterwards does not depend on when the last read
	 * happened to run.
	 */
	while (brvm_audit_attr("acked") != brvm_audit_attr("next_seq") - 1 &&
	       brvm_now_ms() < end)
		brvm_sleep_ms(20);
	kill(f->pid, SIGTERM);
	while (brvm_now_ms() < end) {
		pid_t r = waitpid(f->pid, &st, WNOHANG);

		if (r == f->pid) {
			f->pid = 0;
			if (!WIFEXITED(st))
				return -1;
			/* the node is released when the worker's ring is gone */
			end = brvm_now_ms() + 5000;
			while (brvm_audit_attr("consumer") == 1 && brvm_now_ms() < end)
				brvm_sleep_ms(20);
			return WEXITSTATUS(st);
		}
		if (r < 0)
			break;
		brvm_sleep_ms(20);
	}
	printf("# bioflowd did not stop: killing it\n");
	kill(f->pid, SIGKILL);
	waitpid(f->pid, &st, 0);
	f->pid = 0;
	return -1;
}

pid_t brvm_flow_worker(const struct brvm_flow *f)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	pid_t found = 0;
	DIR *dir;

	if (!f->pid)
		return 0;
	dir = opendir("/proc");
	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		int fd, ppid;
		ssize_t n;
		char st;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %c %d", &st, &ppid) == 2 &&
		    ppid == f->pid && st != 'Z')
			found = atoi(d->d_name);
	}
	closedir(dir);
	return found;
}

pid_t brvm_flow_wait_worker(const struct brvm_flow *f, pid_t old, int ms)
{
	long long end = brvm_now_ms() + ms;
	pid_t w;

	while (brvm_now_ms() < end) {
		w = brvm_flow_worker(f);
		if (w && w != old && brvm_audit_attr("consumer") == 1)
			return w;
		brvm_sleep_ms(10);
	}
	return 0;
}

int brvm_flow_verify(const char *pubkey, const char *store)
{
	char out[300], line[512];
	FILE *fp;
	int r;

	snprintf(out, sizeof(out), "%s.verify", store);
	r = brvm_sh("bioflow-verify -q --root-key %s %s >%s 2>&1", pubkey, store, out);
	fp = fopen(out, "re");
	if (fp) {
		while (fgets(line, sizeof(line), fp))
			printf("# %s", line);
		fclose(fp);
	}
	return r;
}

int brvm_flow_verdict_in_store(const char *store, uint64_t sid, uint64_t seq)
{
	struct bfl_leaves lv = { 0 };
	struct bfl_err e = { 0 };
	uint64_t i;
	int found = 0;

	if (bfl_store_load_leaves(store, &lv, &e)) {
		printf("# reading the store %s: %s\n", store, e.msg);
		return 0;
	}
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, &e) <= 0 ||
		    !bfl_record_is_kernel(&r) || r.type != BIOREADER_AUDIT_VERDICT ||
		    r.session_id != sid)
			continue;
		found++;
		if (r.seq != seq) {
			printf("# session %llu: VERDICT record seq %llu, audit_seq %llu\n",
			       (unsigned long long)sid, (unsigned long long)r.seq,
			       (unsigned long long)seq);
			found = 100;
		}
	}
	bfl_leaves_free(&lv);
	if (found != 1)
		printf("# session %llu: %d matching VERDICT records\n",
		       (unsigned long long)sid, found);
	return found == 1;
}

int brvm_flow_start_in_store(const char *store, uint64_t sid,
			     const struct bioreader_audit_reference *want,
			     uint64_t *index)
{
	struct bfl_leaves lv = { 0 };
	struct bfl_err e = { 0 };
	uint64_t i;
	int found = 0, ok = 0;

	if (bfl_store_load_leaves(store, &lv, &e)) {
		printf("# reading the store %s: %s\n", store, e.msg);
		return 0;
	}
	for (i = 0; i < lv.n; i++) {
		struct bfl_record r;

		if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &r, &e) <= 0 ||
		    r.type != BIOREADER_AUDIT_SESSION_START || r.session_id != sid)
			continue;
		found++;
		*index = i;
		ok = r.version == BIOREADER_AUDIT_VERSION &&
		     lv.rec_len[i] == BIOREADER_AUDIT_SESSION_START_SIZE &&
		     r.has_ref &&
		     !memcmp(lv.rec[i] + BIOREADER_AUDIT_RECORD_SIZE, want,
			     sizeof(*want));
		if (!ok)
			printf("# session %llu: SESSION_START version %u, %zu bytes, reference source %u\n",
			       (unsigned long long)sid, r.version, lv.rec_len[i],
			       r.ref_source);
	}
	bfl_leaves_free(&lv);
	if (found != 1)
		printf("# session %llu: %d SESSION_START records\n",
		       (unsigned long long)sid, found);
	return found == 1 && ok;
}
