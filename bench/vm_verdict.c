// SPDX-License-Identifier: GPL-2.0-only
/*
 * What "a verdict only after its record is durable" costs the kiosk:
 * the time from the end of a session (the VERDICT record's own
 * timestamp, taken by the driver as it ends the session) to the moment
 * SESSION_WAIT returns the verdict to the caller.
 *
 * Runs inside the VM (bench/vm-verdict.sh boots it): the real driver,
 * the simulated reader, genuine sessions one after another.  Two
 * consumers of /dev/bioreader-audit, alternated in rounds:
 *
 *   reference  a thread of this program that acknowledges every record
 *              as soon as it has read it (no storage at all): the floor,
 *              the cost of the hand-over itself;
 *   bioflowd   the audit daemon at its defaults (group commit at 1024
 *              records or 5 ms after the first pending one, a checkpoint
 *              signed by the TPM-certified epoch key, fdatasync), the
 *              production configuration.
 *
 * Prints the median, p90 and maximum of each, their ratio and the
 * difference (what durability adds).  The guest's writable paths are
 * tmpfs, where fdatasync costs nothing: the disk's share is measured on
 * the host by bench_log (a commit's fdatasync), see docs/benchmarks.md.
 *
 *   vm_verdict [SESSIONS_PER_ROUND [ROUNDS]]      (default 10 3)
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "bflog.h"
#include "../tests/vm/lib/brvm.h"
#include "../tests/vm/lib/brvm_flow.h"

#define GENUINE		42
#define DIR		"/tmp/vm_verdict"
#define PUBKEY		DIR "/root.pub.pem"
#define STORE		DIR "/store"
#define DAEMON_LOG	DIR "/bioflowd.log"
#define MAX_SAMPLES	1000
#define SEQ_SLOTS	8192

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* seq -> the record's mono_ns (CLOCK_BOOTTIME), as the reference saw it */
static uint64_t ref_seq[SEQ_SLOTS], ref_ns[SEQ_SLOTS];
static volatile int ref_stop;

static void *reference_consumer(void *arg)
{
	static uint8_t buf[64 * sizeof(struct bioreader_audit_record)];
	int afd = *(int *)arg;

	while (!ref_stop) {
		ssize_t n = read(afd, buf, sizeof(buf)), off;
		uint64_t last = 0;

		if (n <= 0) {
			usleep(200);	/* O_NONBLOCK: poll again soon */
			continue;
		}
		/* 160-byte records and 232-byte SESSION_START ones, packed */
		for (off = 0; off + (ssize_t)sizeof(struct bioreader_audit_record) <= n;) {
			struct bioreader_audit_record r;
			uint64_t seq;

			memcpy(&r, buf + off, sizeof(r));
			seq = le64toh(r.seq);
			ref_seq[seq % SEQ_SLOTS] = seq;
			ref_ns[seq % SEQ_SLOTS] = le64toh(r.mono_ns);
			last = seq;
			if (le16toh(r.size) < sizeof(r))
				break;
			off += le16toh(r.size);
		}
		ioctl(afd, BIOREADER_AUDIT_IOC_ACK, &last);
	}
	return NULL;
}

struct sample {
	uint64_t seq, released_ns;
};

/* Run @n genuine sessions; the verdicts' seqs and release times. */
static int sessions(int fd, int n, struct sample *out)
{
	struct bioreader_verdict v;
	int i;

	for (i = 0; i < n; i++) {
		if (brvm_start_id(fd, GENUINE, 5000, NULL) ||
		    brvm_wait(fd, 20000, &v)) {
			fprintf(stderr, "vm_verdict: session %d: %s\n", i, strerror(errno));
			return -1;
		}
		out[i].released_ns = boottime_ns();
		out[i].seq = v.audit_seq;
		if (v.outcome != BIOREADER_OUTCOME_MATCH)
			fprintf(stderr, "vm_verdict: session %d: outcome %s\n", i,
				brvm_outcome_name(v.outcome));
	}
	return 0;
}

static int round_reference(int fd, int n, double *lat, int *nlat)
{
	struct sample s[MAX_SAMPLES];
	pthread_t th;
	int afd, i, r;

	afd = open(BRVM_AUDIT_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (afd < 0) {
		perror("vm_verdict: open " BRVM_AUDIT_DEV);
		return -1;
	}
	ref_stop = 0;
	if (pthread_create(&th, NULL, reference_consumer, &afd)) {
		close(afd);
		return -1;
	}
	r = sessions(fd, n, s);
	ref_stop = 1;
	pthread_join(th, NULL);
	close(afd);
	for (i = 0; !r && i < n; i++) {
		if (ref_seq[s[i].seq % SEQ_SLOTS] != s[i].seq)
			return -1;
		lat[(*nlat)++] = (double)(s[i].released_ns - ref_ns[s[i].seq % SEQ_SLOTS]) / 1e6;
	}
	return r;
}

static int round_bioflowd(int fd, int n, double *lat, int *nlat)
{
	struct bfl_leaves lv = { 0 };
	struct bfl_err e = { 0 };
	struct brvm_flow f = { 0 };
	struct sample s[MAX_SAMPLES];
	uint64_t i;
	int k, found = 0, r;

	if (brvm_flow_start(&f, STORE, DAEMON_LOG, NULL)) {
		fprintf(stderr, "vm_verdict: bioflowd did not start (%s)\n", DAEMON_LOG);
		return -1;
	}
	r = sessions(fd, n, s);
	if (brvm_flow_stop(&f))
		r = -1;
	if (r || bfl_store_load_leaves(STORE, &lv, &e))
		return -1;
	for (k = 0; k < n; k++) {
		for (i = lv.n; i-- > 0;) {
			struct bfl_record rec;

			if (bfl_record_parse(lv.rec[i], lv.rec_len[i], &rec, &e) <= 0 ||
			    !bfl_record_is_kernel(&rec) || rec.seq != s[k].seq ||
			    rec.type != BIOREADER_AUDIT_VERDICT)
				continue;
			lat[(*nlat)++] = (double)(s[k].released_ns - rec.mono_ns) / 1e6;
			found++;
			break;
		}
	}
	bfl_leaves_free(&lv);
	return found == n ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i];
}

int main(int argc, char **argv)
{
	static double ref[MAX_SAMPLES], flow[MAX_SAMPLES];
	int per = argc > 1 ? atoi(argv[1]) : 10;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	int nref = 0, nflow = 0, fd, i;
	struct brvm_sim sim;

	if (per < 1 || rounds < 1 || per * rounds > MAX_SAMPLES) {
		fprintf(stderr, "usage: vm_verdict [SESSIONS_PER_ROUND [ROUNDS]]\n");
		return 2;
	}
	if (brvm_setup() || brvm_drain_stop())
		return 1;
	brvm_sh("rm -rf %s && mkdir -p %s", DIR, DIR);
	if (brvm_flow_provision(PUBKEY)) {
		fprintf(stderr, "vm_verdict: no TPM root (bioflow-provision)\n");
		return 1;
	}
	if (brvm_sim_create(&sim, "bench", 0, 0, 0) || (fd = brvm_open(&sim)) < 0)
		return 1;
	brvm_sim_person(&sim, GENUINE);
	/* Alternate, so that drift in the emulator hits both alike. */
	for (i = 0; i < rounds; i++) {
		if (round_reference(fd, per, ref, &nref) ||
		    round_bioflowd(fd, per, flow, &nflow)) {
			fprintf(stderr, "vm_verdict: round %d failed\n", i + 1);
			return 1;
		}
	}
	close(fd);
	brvm_sim_destroy(&sim);
	brvm_drain_start();

	qsort(ref, nref, sizeof(ref[0]), cmp);
	qsort(flow, nflow, sizeof(flow[0]), cmp);
	printf("verdict latency: session end (VERDICT record's time) -> SESSION_WAIT returns, %d sessions each, %d alternated rounds\n",
	       nref, rounds);
	printf("  reference (acknowledged on read, nothing stored): median %7.2f ms  p90 %7.2f ms  max %7.2f ms\n",
	       pct(ref, nref, 0.5), pct(ref, nref, 0.9), ref[nref - 1]);
	printf("  bioflowd at its defaults (sealed, then acked):    median %7.2f ms  p90 %7.2f ms  max %7.2f ms\n",
	       pct(flow, nflow, 0.5), pct(flow, nflow, 0.9), flow[nflow - 1]);
	printf("  bioflowd / reference: median %.2fx; added by durability: median %.2f ms, p90 %.2f ms\n",
	       pct(flow, nflow, 0.5) / pct(ref, nref, 0.5),
	       pct(flow, nflow, 0.5) - pct(ref, nref, 0.5),
	       pct(flow, nflow, 0.9) - pct(ref, nref, 0.9));
	return 0;
}
