// SPDX-License-Identifier: GPL-2.0-only
/*
 * The path an appliance takes, once, end to end: what tests/run.sh runs
 * on every supported kernel besides the one the whole suite runs on
 * (Debian's 6.12 and its PREEMPT_RT flavour; docs/install.md).  It is in
 * the whole suite too.
 *
 *   1-2   both modules unloaded, then loaded again with modprobe
 *   3     a simulated reader appears
 *   4     bioflowd with the TPM root signer is the audit consumer
 *   5-6   a genuine person -> MATCH with its audit seq, through the
 *         reader's interrupt: its count in /proc/interrupts grew (the
 *         simulator's interrupt path works on this kernel)
 *   7     a printed photo -> ATTACK, class print
 *   8     the reader unplugged mid-session -> ABORTED / DEVICE_REMOVED
 *         (or ENODEV)
 *   9-10  bioflowd stops with status 0; its store verifies against the
 *         TPM root key
 *   11    both modules unload
 *
 * The bench fails the run on any BUG or WARNING in the kernel log.
 * Without a TPM (the bench's --no-tpm) every check is skipped.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/brvm_test.h"
#include "lib/brvm_flow.h"

#define DIR		"/tmp/t_smoke"
#define PUBKEY		DIR "/root.pub.pem"
#define STORE		DIR "/store"
#define DAEMON_LOG	DIR "/bioflowd.log"
#define GENUINE		42
#define NCHECKS		11

/*
 * Interrupts of action @action ("bioreader0") so far, all CPUs; -1 if
 * /proc/interrupts has no such line.
 */
static long long irq_count(const char *action)
{
	char line[1024], *p, *end;
	long long sum = -1;
	size_t alen = strlen(action);
	FILE *f = fopen("/proc/interrupts", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");

		line[n] = 0;
		if (n < alen + 1 || strcmp(line + n - alen, action) ||
		    line[n - alen - 1] != ' ')
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		sum = 0;
		for (p++;; p = end) {
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
		}
		break;
	}
	fclose(f);
	return sum;
}

static int unload_all(void)
{
	return brvm_sh("modprobe -r bioreader bioreader_sim 2>&1 | sed 's/^/# /'; "
		       "! grep -qE '^bioreader(_sim)? ' /proc/modules");
}

int main(void)
{
	struct brvm_flow f = { 0 };
	struct bioreader_verdict v;
	struct brvm_waiter w = { .fd = -1 };
	struct brvm_sim sim;
	char action[32];
	long long irq0, irq1;
	pthread_t th;
	int fd, ok, i;

	ktap_plan(NCHECKS);
	if (geteuid() != 0)
		return brvm_bail("needs root");
	if (access(BRVM_TPM_DEV, F_OK)) {
		for (i = 0; i < NCHECKS; i++)
			ktap_skip("smoke", "no TPM (" BRVM_TPM_DEV ")");
		return ktap_finish();
	}
	brvm_sh("echo \"# kernel $(uname -r), PREEMPT_RT $(cat /sys/kernel/realtime 2>/dev/null || echo 0)\"");

	/* 1-2: the modules, as an appliance loads them */
	brvm_drain_stop();	/* the audit node pins bioreader */
	ktap_check(unload_all() == 0, "modprobe -r bioreader bioreader_sim");
	ok = brvm_sh("modprobe bioreader_sim && "
		     "modprobe bioreader boot_id=$(cat /proc/sys/kernel/random/boot_id)") == 0 &&
	     brvm_setup() == 0;
	if (!ktap_check(ok, "modprobe bioreader_sim, modprobe bioreader"))
		return brvm_bail("modules");

	/* 3-4 */
	if (!brvm_ok(brvm_sim_create(&sim, "smoke", 0, 0, 0),
		     "simulated reader created, its node appeared"))
		return brvm_bail("simulated reader");
	brvm_sh("rm -rf %s && mkdir -p %s", DIR, DIR);
	ok = brvm_flow_provision(PUBKEY) == 0 &&
	     brvm_flow_start(&f, STORE, DAEMON_LOG, "--commit-latency-ms 2") == 0;
	if (!ok)
		brvm_sh("tail -n 20 %s | sed 's/^/# /'", DAEMON_LOG);
	if (!ktap_check(ok, "bioflowd --tpm is the audit consumer"))
		return brvm_bail("bioflowd");

	fd = brvm_open(&sim);
	if (fd < 0) {
		brvm_flow_stop(&f);
		return brvm_bail("open the reader");
	}

	/* 5-6: genuine, through the interrupt */
	snprintf(action, sizeof(action), "bioreader%d", sim.index);
	irq0 = irq_count(action);
	ok = brvm_sim_person(&sim, GENUINE) == 0 &&
	     brvm_run_session(fd, GENUINE, 5000, &v) == 0;
	irq1 = irq_count(action);
	if (ok)
		brvm_diag_verdict("genuine", &v);
	ktap_check(ok && v.outcome == BIOREADER_OUTCOME_MATCH && v.audit_seq,
		   "genuine person -> MATCH, with its audit seq");
	ktap_diag("interrupts of %s: %lld -> %lld", action, irq0, irq1);
	ktap_check(irq0 >= 0 && irq1 > irq0,
		   "the reader's interrupt fired (/proc/interrupts)");

	/* 7: an attack */
	ok = brvm_sim_scene(&sim, "print 42 flat matte") == 0 &&
	     brvm_run_session(fd, GENUINE, 5000, &v) == 0;
	if (ok)
		brvm_diag_verdict("print", &v);
	ktap_check(ok && v.outcome == BIOREADER_OUTCOME_ATTACK &&
		   v.attack_class == BIOREADER_ATTACK_PRINT,
		   "printed photo -> ATTACK, class print");

	/* 8: unplugged mid-session */
	ok = brvm_sim_person(&sim, GENUINE) == 0 &&
	     brvm_start_id(fd, GENUINE, 15000, NULL) == 0;
	w.fd = fd;
	ok = ok && pthread_create(&th, NULL, brvm_waiter_run, &w) == 0;
	if (ok) {
		brvm_sleep_ms(300);
		ok = brvm_sim_unlive(&sim) == 0;
		pthread_join(th, NULL);
		if (w.ret == 0) {
			brvm_diag_verdict("unplugged", &w.v);
			ok = ok && w.v.outcome == BIOREADER_OUTCOME_ABORTED &&
			     w.v.reason == BIOREADER_REASON_DEVICE_REMOVED;
		} else {
			ktap_diag("WAIT after removal: %s", strerror(w.err));
			ok = ok && w.err == ENODEV;
		}
	}
	ktap_check(ok, "reader unplugged mid-session -> ABORTED/DEVICE_REMOVED or ENODEV");
	close(fd);
	brvm_sim_destroy(&sim);

	/* 9-10 */
	ok = brvm_flow_stop(&f) == 0;
	if (!ok)
		brvm_sh("tail -n 20 %s | sed 's/^/# /'", DAEMON_LOG);
	ktap_check(ok, "bioflowd stopped by SIGTERM with status 0");
	ktap_check(brvm_flow_verify(PUBKEY, STORE) == 0,
		   "bioflow-verify: the store verifies against the TPM root key");

	/* 11 */
	ktap_check(unload_all() == 0, "both modules unloaded");

	/* Leave the suite what it had: the modules and its drain. */
	brvm_sh("modprobe bioreader_sim && "
		"modprobe bioreader boot_id=$(cat /proc/sys/kernel/random/boot_id)");
	brvm_drain_start();
	return ktap_finish();
}
