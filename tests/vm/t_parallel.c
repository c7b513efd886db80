// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two simulated readers at once: sessions run concurrently (one thread
 * blocking in WAIT per reader) and each reader gives its own verdict.
 */
#include <pthread.h>
#include <unistd.h>

#include "lib/brvm_test.h"

struct job {
	int fd;
	uint64_t card;		/* identity on the ID card */
	uint32_t timeout_ms;
	int ret, err;
	uint64_t sid;
	long long start_ms, end_ms;
	struct bioreader_verdict v;
};

static pthread_barrier_t barrier;

static void *run(void *arg)
{
	struct job *j = arg;

	pthread_barrier_wait(&barrier);
	j->start_ms = brvm_now_ms();
	j->ret = brvm_start_id(j->fd, j->card, j->timeout_ms, &j->sid);
	if (!j->ret)
		j->ret = brvm_wait(j->fd, j->timeout_ms + 15000, &j->v);
	j->err = errno;
	j->end_ms = brvm_now_ms();
	return NULL;
}

static void round_of(struct job *a, struct job *b)
{
	pthread_t ta, tb;

	pthread_barrier_init(&barrier, NULL, 2);
	pthread_create(&ta, NULL, run, a);
	pthread_create(&tb, NULL, run, b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&barrier);
	if (a->ret)
		ktap_diag("reader A: %s", strerror(a->err));
	if (b->ret)
		ktap_diag("reader B: %s", strerror(b->err));
}

static int overlapped(const struct job *a, const struct job *b)
{
	return a->start_ms < b->end_ms && b->start_ms < a->end_ms;
}

int main(void)
{
	struct bioreader_info ia, ib;
	struct brvm_sim sa, sb;
	struct job a, b;
	int fa, fb;

	ktap_plan(14);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&sa, "par-a", 0, 0, 0) ||
	    brvm_sim_create(&sb, "par-b", 0, 0, 0))
		return brvm_bail("no simulated readers");
	fa = brvm_open(&sa);
	fb = brvm_open(&sb);
	if (fa < 0 || fb < 0)
		return brvm_bail("open readers");
	ktap_diag("reader A %s (%s), reader B %s (%s)", sa.node, sa.dev_name,
		  sb.node, sb.dev_name);

	/* 1-2: two distinct readers */
	KTAP_CASE("two distinct readers") {
		ktap_check(brvm_info(fa, &ia) == 0 && brvm_info(fb, &ib) == 0 &&
			   ia.reader_index == (uint32_t)sa.index &&
			   ib.reader_index == (uint32_t)sb.index,
			   "GET_INFO reader_index matches /dev/bioreaderN");
		ktap_check(sa.index != sb.index && strcmp(sa.dev_name, sb.dev_name),
			   "two readers, two nodes");
		ktap_check(brvm_allow_no_liveness(fa, 1) == 0 &&
			   brvm_allow_no_liveness(fb, 1) == 0,
			   "policy set on both readers");
		brvm_sim_person(&sa, 42);
		brvm_sim_person(&sb, 7);
	}

	/* 4-6: both genuine, concurrently */
	KTAP_CASE("both genuine, concurrently") {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.fd = fa; a.card = 42; a.timeout_ms = 4000;
		b.fd = fb; b.card = 7; b.timeout_ms = 4000;
		round_of(&a, &b);
		ktap_check(a.ret == 0 && b.ret == 0 && overlapped(&a, &b),
			   "concurrent sessions on two readers complete");
		brvm_check_verdict(&a.v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "reader A (person 42, card 42) -> MATCH");
		brvm_check_verdict(&b.v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "reader B (person 7, card 7) -> MATCH");
	}

	/* 7-9: same card on both: genuine on B, impostor on A */
	KTAP_CASE("same card on both: genuine on B, impostor on A") {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.fd = fa; a.card = 7; a.timeout_ms = 4000;
		b.fd = fb; b.card = 7; b.timeout_ms = 4000;
		round_of(&a, &b);
		ktap_check(a.ret == 0 && b.ret == 0 && a.sid != b.sid,
			   "same card on two readers: two sessions, distinct ids");
		brvm_check_verdict(&a.v, BIOREADER_OUTCOME_NO_MATCH,
				   BIOREADER_REASON_NONE,
				   "reader A (person 42, card 7) -> NO_MATCH");
		brvm_check_verdict(&b.v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "reader B (person 7, card 7) -> MATCH");
	}

	/* 10-12: nobody at A while B matches */
	KTAP_CASE("nobody at A while B matches") {
		brvm_sim_scene(&sa, "empty");
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.fd = fa; a.card = 42; a.timeout_ms = 1500;
		b.fd = fb; b.card = 7; b.timeout_ms = 4000;
		round_of(&a, &b);
		ktap_check(a.ret == 0 && b.ret == 0, "third round completes");
		brvm_check_verdict(&a.v, BIOREADER_OUTCOME_TIMEOUT,
				   BIOREADER_REASON_NO_FACE, "reader A (nobody) -> TIMEOUT");
		brvm_check_verdict(&b.v, BIOREADER_OUTCOME_MATCH, BIOREADER_REASON_NONE,
				   "reader B (person 7) -> MATCH");
	}

	/* 13-14: the readers count separately */
	KTAP_CASE("the readers count separately") {
		ktap_check(brvm_stat(&sa, "sessions") == 3 &&
			   brvm_stat(&sb, "sessions") == 3 &&
			   brvm_stat(&sa, "match") == 1 && brvm_stat(&sb, "match") == 3,
			   "per-reader statistics");
	}
	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fa);
	close(fb);
	ktap_check(brvm_sim_destroy(&sa) == 0 && brvm_sim_destroy(&sb) == 0,
		   "instances removed");
	return ktap_finish();
}
