// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault and attack injection through the simulated reader's debugfs
 * file "inject" (a test control, not configuration: configfs has no
 * such attribute), and the driver's reaction to each:
 *
 *   bad_mac, pixel_on, seq_skip, seq_repeat, time_back, replay, illum
 *       -> ATTACK / FRAME_INTEGRITY / INJECTION, stats/frames_rejected +1
 *   pixel_off (a pixel the MAC does not cover, which nothing reads)
 *       -> accepted, the session's verdict as without it
 *   dma_error -> the session goes on to its verdict, stats/dma_errors +1
 *   fault     -> INCONCLUSIVE / HW_ERROR, the reader works afterwards
 *   stall     -> stats/overflows and frames_dropped grow; a verdict once
 *                the stall ends, or TIMEOUT when it outlasts the session
 *
 * A genuine person stands in front of the reader throughout, so without
 * the injection every session would end in MATCH (the policy allows
 * matching without liveness here; the default is restored at the end).
 * For the frame-integrity injections the policy asks for 64 face frames,
 * so no decision can come before the injected frame, and the driver's
 * debug message (dynamic debug) tells which check caught the frame: a
 * correctly signed frame with a bad seq must fail the sequence check,
 * not the MAC.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/brvm_test.h"

/*
 * The card and person of this program only: every injection is a failed
 * attempt on the card (the lockout counts attacks), and the other
 * programs must not inherit those failures.
 */
#define GENUINE		4201
#define MANY_FRAMES	64	/* no decision before the injection */
#define FEW_FRAMES	5
#define SESSION_MS	20000	/* integrity sessions end long before */

static const char *const stat_names[] = {
	"sessions", "match", "attack", "inconclusive", "timeout",
	"frames_received", "frames_rejected", "frames_dropped",
	"dma_errors", "overflows",
};
#define NSTATS	(int)(sizeof(stat_names) / sizeof(stat_names[0]))

struct stats {
	long long v[NSTATS];
};

static struct brvm_sim sim;
static struct bioreader_policy def_policy;
static int fd = -1;
static int dyndbg;		/* the driver's rejection messages are on */

/* Turn on the driver's "frame rejected: <check>" debug message. */
static int dyndbg_enable(void)
{
	static const char *const ctl[] = {
		"/proc/dynamic_debug/control",
		"/sys/kernel/debug/dynamic_debug/control",
	};
	unsigned int i;

	brvm_sh("grep -qw debugfs /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null");
	for (i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++)
		if (!brvm_write_file(ctl[i],
				     "module bioreader format \"frame rejected\" +p"))
			return 1;
	ktap_diag("dynamic debug unavailable: which check caught a frame is not verified");
	return 0;
}

static void dyndbg_disable(void)
{
	if (dyndbg &&
	    brvm_write_file("/proc/dynamic_debug/control",
			    "module bioreader format \"frame rejected\" -p"))
		brvm_write_file("/sys/kernel/debug/dynamic_debug/control",
				"module bioreader format \"frame rejected\" -p");
}

static void snap(const struct brvm_sim *s, struct stats *st)
{
	int i;

	for (i = 0; i < NSTATS; i++)
		st->v[i] = brvm_stat(s, stat_names[i]);
}

static long long delta(const struct stats *a, const struct stats *b,
		       const char *name)
{
	int i;

	for (i = 0; i < NSTATS; i++)
		if (!strcmp(stat_names[i], name))
			return b->v[i] - a->v[i];
	return -1000;
}

static void diag_stats(const struct stats *a, const struct stats *b)
{
	int i;

	for (i = 0; i < NSTATS; i++)
		ktap_diag("stats/%s: %lld -> %lld", stat_names[i], a->v[i],
			  b->v[i]);
}

static int inject_path(const struct brvm_sim *s, char *path, size_t cap)
{
	return brvm_sim_debugfs(s, "inject", path, cap);
}

/* Write the inject file; 0 or -1 with errno. */
static int inject(const struct brvm_sim *s, const char *what)
{
	char path[256];

	if (inject_path(s, path, sizeof(path)))
		return -1;
	if (brvm_write_file(path, what)) {
		ktap_diag("inject '%s': %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* The armed injection must read back as @want. */
static int inject_reads(const struct brvm_sim *s, const char *want)
{
	char path[256], buf[64] = "";

	if (inject_path(s, path, sizeof(path)) ||
	    brvm_read_file(path, buf, sizeof(buf))) {
		ktap_diag("read inject: %s", strerror(errno));
		return 0;
	}
	if (strcmp(buf, want)) {
		ktap_diag("inject reads '%s', want '%s'", buf, want);
		return 0;
	}
	return 1;
}

/*
 * Default policy, matching allowed without liveness, @frames required,
 * and room for this program's many attack verdicts on one card before
 * it is locked out.
 */
static int set_frames(uint32_t frames)
{
	struct bioreader_policy p = def_policy;

	p.flags |= BIOREADER_POLICY_ALLOW_NO_LIVENESS;
	p.frames_required = frames;
	p.max_failures = 100;
	if (brvm_set_policy(fd, &p)) {
		ktap_diag("SET_POLICY frames_required %u: %s", frames,
			  strerror(errno));
		return -1;
	}
	return 0;
}

struct run {
	struct bioreader_verdict v;
	struct stats a, b;
	long long ms;		/* SESSION_START to verdict */
	int ok;			/* started, armed, verdict of this session */
};

/*
 * One session of the genuine person on @s (file @f) with injection @what
 * armed before SESSION_START (@delay_ms < 0) or @delay_ms after it.
 */
static void run_injected(const struct brvm_sim *s, int f, const char *what,
			 int delay_ms, uint32_t timeout_ms, struct run *r)
{
	uint64_t sid = 0;
	long long t0;

	memset(r, 0, sizeof(*r));
	snap(s, &r->a);
	if (what && delay_ms < 0 && inject(s, what))
		goto out;
	t0 = brvm_now_ms();
	if (brvm_start_id(f, GENUINE, timeout_ms, &sid)) {
		ktap_diag("SESSION_START: %s", strerror(errno));
		goto out;
	}
	if (what && delay_ms >= 0) {
		brvm_sleep_ms(delay_ms);
		if (inject(s, what)) {
			brvm_abort(f);
			brvm_wait(f, 10000, &r->v);
			goto out;
		}
	}
	if (brvm_wait(f, timeout_ms + 10000, &r->v)) {
		ktap_diag("SESSION_WAIT: %s", strerror(errno));
		goto out;
	}
	r->ms = brvm_now_ms() - t0;
	if (r->v.session_id != sid) {
		ktap_diag("verdict of session %llu, started %llu",
			  (unsigned long long)r->v.session_id,
			  (unsigned long long)sid);
		goto out;
	}
	r->ok = 1;
out:
	snap(s, &r->b);
}

/*
 * A frame-integrity injection: the session ends as a suspected
 * injection attack, the frame is counted as rejected, the injection
 * fired once, and the validation step named @check (as the driver's
 * debug message names it) caught it.  Four tests.
 */
static void check_integrity(const char *what, int delay_ms, const char *when,
			    const char *check)
{
	char name[160];
	struct run r;
	int ok;

	run_injected(&sim, fd, what, delay_ms, SESSION_MS, &r);
	snprintf(name, sizeof(name),
		 "%s %s -> ATTACK/FRAME_INTEGRITY class INJECTION", what,
		 when);
	ok = r.ok && r.v.attack_class == BIOREADER_ATTACK_INJECTION;
	if (r.ok && !ok)
		ktap_diag("%s: attack class %u", what, r.v.attack_class);
	brvm_diag_verdict(what, &r.v);
	ktap_check(ok && r.v.outcome == BIOREADER_OUTCOME_ATTACK &&
		   r.v.reason == BIOREADER_REASON_FRAME_INTEGRITY &&
		   !(r.v.flags & BIOREADER_VERDICT_LIVENESS_EVALUATED), name);
	ktap_diag("%s: verdict after %lld ms, %lld frames accepted first",
		  what, r.ms, delta(&r.a, &r.b, "frames_received") - 1);

	ok = delta(&r.a, &r.b, "frames_rejected") == 1 &&
	     delta(&r.a, &r.b, "attack") == 1 &&
	     delta(&r.a, &r.b, "match") == 0;
	if (!ok)
		diag_stats(&r.a, &r.b);
	snprintf(name, sizeof(name), "%s: stats frames_rejected +1, attack +1",
		 what);
	ktap_check(ok, name);

	snprintf(name, sizeof(name), "%s fired once: inject reads none", what);
	ktap_check(inject_reads(&sim, "none"), name);

	snprintf(name, sizeof(name), "%s caught by the %s check", what, check);
	if (!dyndbg) {
		ktap_skip(name, "no dynamic debug");
		return;
	}
	ok = r.ok && brvm_sh("dmesg | grep -qF 'session %llu: frame rejected: %s'",
			     (unsigned long long)r.v.session_id, check) == 0;
	if (!ok)
		brvm_sh("dmesg | grep -F 'frame rejected' | tail -n 3 | sed 's/^/# /'");
	ktap_check(ok, name);
}

/* A clean session of the genuine person ends in MATCH.  One test. */
static void check_usable(const char *name)
{
	struct run r;

	run_injected(&sim, fd, NULL, -1, 8000, &r);
	brvm_diag_verdict(name, &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_MATCH, name);
}

/* The file's syntax and mode, and that it lives with the device. */
static void check_file(void)
{
	struct brvm_sim s2;
	char path[256];
	struct stat st;
	int ok;

	ktap_check(inject_reads(&sim, "none"),
		   "debugfs inject file present, reads none");

	inject_path(&sim, path, sizeof(path));
	ktap_expect_errno(brvm_write_file(path, "bogus"), EINVAL,
			  "unknown injection -> EINVAL");
	ktap_expect_errno(brvm_write_file(path, "stall"), EINVAL,
			  "stall without a duration -> EINVAL");
	ktap_expect_errno(brvm_write_file(path, "stall 0"), ERANGE,
			  "stall 0 -> ERANGE");
	ktap_expect_errno(brvm_write_file(path, "bad_mac 3"), EINVAL,
			  "argument to a one-shot frame injection -> EINVAL");

	ok = inject(&sim, "stall 250") == 0 &&
	     inject_reads(&sim, "stall 250") &&
	     inject(&sim, "seq_skip\n") == 0 &&
	     inject_reads(&sim, "seq_skip") &&
	     inject(&sim, "none") == 0 && inject_reads(&sim, "none");
	ktap_check(ok, "armed injection reads back; a new one replaces it; none disarms");

	/* Root only; and configfs, the configuration ABI, has no such knob. */
	ok = !inject_path(&sim, path, sizeof(path)) && !stat(path, &st) &&
	     (st.st_mode & 0777) == 0600;
	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/inject", sim.name);
	errno = 0;
	ok = ok && access(path, F_OK) == -1 && errno == ENOENT;
	ktap_check(ok, "inject is mode 0600 in debugfs; configfs has no inject attribute");

	/* The file comes and goes with the device. */
	if (brvm_sim_create(&s2, "inject-off", 0, 0, 0) ||
	    inject_path(&s2, path, sizeof(path))) {
		ktap_check(0, "not live: the device's inject file is gone");
		brvm_sim_destroy(&s2);
		return;
	}
	ok = access(path, F_OK) == 0 && brvm_sim_unlive(&s2) == 0;
	errno = 0;
	ok = ok && access(path, F_OK) == -1 && errno == ENOENT;
	if (!ok)
		ktap_diag("%s after live=0: %s", path, strerror(errno));
	brvm_sim_destroy(&s2);
	ktap_check(ok, "not live: the device's inject file is gone");
}

/* replay on a reader that never ran a session: nothing to replay. */
static void check_replay_nothing_kept(void)
{
	struct brvm_sim s2;
	struct run r;
	int f;

	if (brvm_sim_create(&s2, "inject-fresh", 0, 0, 0) ||
	    brvm_sim_person(&s2, GENUINE) || (f = brvm_open(&s2)) < 0) {
		ktap_check(0, "replay with no earlier session: session unaffected");
		ktap_check(0, "replay with no earlier session: disarmed");
		brvm_sim_destroy(&s2);
		return;
	}
	/* Default policy on this reader: a genuine person -> MATCH (liveness). */
	run_injected(&s2, f, "replay", -1, 8000, &r);
	brvm_diag_verdict("replay, nothing kept", &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_MATCH &&
		   r.v.reason == BIOREADER_REASON_NONE &&
		   delta(&r.a, &r.b, "frames_rejected") == 0,
		   "replay with no earlier session: session unaffected");
	ktap_check(inject_reads(&s2, "none"),
		   "replay with no earlier session: disarmed");
	close(f);
	brvm_sim_destroy(&s2);
}

/*
 * A pixel off the sampling lattice changed after signing: the frame is
 * not covered there and the driver never reads it, so it is accepted
 * and the session ends as it would have (MATCH).  Three tests.
 */
static void check_pixel_off(void)
{
	struct run r;
	int ok;

	set_frames(FEW_FRAMES);
	run_injected(&sim, fd, "pixel_off", -1, 8000, &r);
	brvm_diag_verdict("pixel_off", &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_MATCH &&
		   r.v.reason == BIOREADER_REASON_NONE,
		   "pixel_off at the first frame -> MATCH, as without it");
	ok = delta(&r.a, &r.b, "frames_rejected") == 0 &&
	     delta(&r.a, &r.b, "match") == 1;
	if (!ok)
		diag_stats(&r.a, &r.b);
	ktap_check(ok, "pixel_off: no frame rejected");
	ktap_check(inject_reads(&sim, "none"), "pixel_off fired once: inject reads none");
}

static void check_dma_error(void)
{
	struct run r;
	int ok;

	set_frames(FEW_FRAMES);
	run_injected(&sim, fd, "dma_error", -1, 8000, &r);
	brvm_diag_verdict("dma_error", &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_MATCH,
		   "dma_error: the session goes on and reaches MATCH");
	ok = delta(&r.a, &r.b, "dma_errors") == 1 &&
	     delta(&r.a, &r.b, "frames_rejected") == 0;
	if (!ok)
		diag_stats(&r.a, &r.b);
	ktap_check(ok, "dma_error: stats dma_errors +1, no frame rejected");
	ktap_check(inject_reads(&sim, "none"),
		   "dma_error fired once: inject reads none");
}

static void check_fault(void)
{
	struct run r;
	int ok;

	set_frames(MANY_FRAMES);
	run_injected(&sim, fd, "fault", 200, SESSION_MS, &r);
	brvm_diag_verdict("fault", &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
		   r.v.reason == BIOREADER_REASON_HW_ERROR &&
		   r.v.attack_class == BIOREADER_ATTACK_NONE,
		   "fault mid-capture -> INCONCLUSIVE/HW_ERROR");
	ok = delta(&r.a, &r.b, "inconclusive") == 1 &&
	     delta(&r.a, &r.b, "attack") == 0;
	if (!ok)
		diag_stats(&r.a, &r.b);
	ktap_check(ok, "fault: stats inconclusive +1");
	ktap_check(inject_reads(&sim, "none"),
		   "fault fired once: inject reads none");
	set_frames(FEW_FRAMES);
	check_usable("after a fault the next session works -> MATCH");
}

static void check_stall(void)
{
	struct run r;
	int ok;

	/*
	 * 1500 ms without interrupts at 30 fps: the 7 posted buffers fill
	 * in about 250 ms, the rest is dropped.  The verdict needs the
	 * driver to hear of its frames, so it comes after the stall.
	 */
	set_frames(FEW_FRAMES);
	run_injected(&sim, fd, "stall 1500", -1, 8000, &r);
	brvm_diag_verdict("stall 1500", &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_MATCH,
		   "stall 1500 ms in an 8 s session -> MATCH after the stall");
	if (r.ms < 1450)
		ktap_diag("verdict after %lld ms, before the stall ended",
			  r.ms);
	ktap_check(r.ok && r.ms >= 1450,
		   "stall: no verdict while the driver heard nothing");
	ok = delta(&r.a, &r.b, "overflows") >= 1 &&
	     delta(&r.a, &r.b, "frames_dropped") >= 1 &&
	     delta(&r.a, &r.b, "frames_rejected") == 0;
	diag_stats(&r.a, &r.b);
	ktap_check(ok, "stall: stats overflows and frames_dropped grow, nothing rejected");
	ktap_check(inject_reads(&sim, "none"),
		   "stall fired once: inject reads none");

	/* A stall longer than the session: it times out, frames dropped. */
	run_injected(&sim, fd, "stall 4000", -1, 1500, &r);
	brvm_diag_verdict("stall 4000", &r.v);
	ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_TIMEOUT &&
		   r.ms < 3900,
		   "stall 4000 ms in a 1.5 s session -> TIMEOUT at 1.5 s");
	ok = delta(&r.a, &r.b, "frames_dropped") >= 1 &&
	     delta(&r.a, &r.b, "match") == 0;
	if (!ok)
		diag_stats(&r.a, &r.b);
	ktap_check(ok, "stall outlasting the session: frames_dropped grows");
	/* The driver's reset at the session's end ended the stall. */
	check_usable("after the stall the next session works -> MATCH");
}

int main(void)
{
	struct run r;
	int ok;

	ktap_plan(64);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&sim, "inject", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&sim);
	if (fd < 0)
		return brvm_bail("open reader");
	if (brvm_get_policy(fd, &def_policy))
		return brvm_bail("GET_POLICY");
	if (brvm_sim_person(&sim, GENUINE))
		return brvm_bail("scene");

	/* 1-8: the debugfs file */
	KTAP_CASE("debugfs file")
		check_file();

	/* 9-10: without an injection the genuine person matches */
	KTAP_CASE("no injection") {
		set_frames(FEW_FRAMES);
		run_injected(&sim, fd, NULL, -1, 8000, &r);
		brvm_diag_verdict("baseline", &r.v);
		ktap_check(r.ok && r.v.outcome == BIOREADER_OUTCOME_MATCH,
			   "no injection: genuine person -> MATCH");
		ok = delta(&r.a, &r.b, "frames_rejected") == 0 &&
		     delta(&r.a, &r.b, "dma_errors") == 0 &&
		     delta(&r.a, &r.b, "frames_received") >= FEW_FRAMES;
		if (!ok)
			diag_stats(&r.a, &r.b);
		ktap_check(ok, "no injection: no frame rejected, no DMA error");
	}

	/* 11-38: frame integrity, after some good frames or at the first */
	dyndbg = dyndbg_enable();
	if (set_frames(MANY_FRAMES))
		return brvm_bail("SET_POLICY");
	KTAP_CASE("integrity: bad_mac mid-session")
		check_integrity("bad_mac", 200, "mid-session", "bad MAC");
	KTAP_CASE("integrity: seq_skip mid-session")
		check_integrity("seq_skip", 200, "mid-session", "sequence");
	KTAP_CASE("integrity: seq_repeat mid-session")
		check_integrity("seq_repeat", 200, "mid-session", "sequence");
	KTAP_CASE("integrity: time_back mid-session")
		check_integrity("time_back", 200, "mid-session", "timestamp");
	KTAP_CASE("integrity: time_back at the first frame (before KEY_TIME)")
		check_integrity("time_back", -1, "at the first frame (before KEY_TIME)",
			"timestamp");
	/* A lattice sample (covered by the MAC) changed after signing. */
	KTAP_CASE("integrity: pixel_on mid-session")
		check_integrity("pixel_on", 200, "mid-session", "bad MAC");
	/* Correctly signed, but not lit as the driver commanded. */
	KTAP_CASE("integrity: illum mid-session")
		check_integrity("illum", 200, "mid-session", "illumination");

	/*
	 * 39-43: replay the first frame of the session just before: its
	 * seq (0) and timestamp may well pass, its MAC (old key) cannot.
	 */
	set_frames(FEW_FRAMES);
	KTAP_CASE("a clean session after the attacks")
		check_usable("after the attacks a clean session works -> MATCH");
	set_frames(MANY_FRAMES);
	KTAP_CASE("integrity: replay of the previous session's frame 0")
		check_integrity("replay", -1, "of the previous session's frame 0",
			"bad MAC");

	/* 44-46 */
	KTAP_CASE("pixel off")
		check_pixel_off();
	set_frames(MANY_FRAMES);

	/* 47-48 */
	KTAP_CASE("replay nothing kept")
		check_replay_nothing_kept();

	/* 49-51 */
	KTAP_CASE("dma error")
		check_dma_error();
	/* 52-55 */
	KTAP_CASE("fault")
		check_fault();
	/* 56-62 */
	KTAP_CASE("stall")
		check_stall();

	/* 63: leave the policy as it was */
	KTAP_CASE("policy restored") {
		ktap_check(brvm_set_policy(fd, &def_policy) == 0,
			   "policy restored to the default");
	}
	/*
	 * 64: the instance goes away while a stall holds the line off and
	 * an injection is armed: the session ends cleanly, nothing leaks
	 * (the bench checks the kernel log).
	 */
	KTAP_CASE("instance removed during a stall") {
		ok = inject(&sim, "stall 5000") == 0 &&
		     brvm_start_id(fd, GENUINE, 8000, NULL) == 0;
		brvm_sleep_ms(300);
		ok = ok && inject(&sim, "bad_mac") == 0 && brvm_sim_unlive(&sim) == 0;
		/* The verdict, or ENODEV: the reader is gone (like t_remove). */
		if (ok && brvm_wait(fd, 5000, &r.v) == 0) {
			brvm_diag_verdict("removed while stalled", &r.v);
			ok = r.v.outcome == BIOREADER_OUTCOME_ABORTED &&
			     r.v.reason == BIOREADER_REASON_DEVICE_REMOVED;
		} else if (ok) {
			ktap_diag("WAIT after removal: %s", strerror(errno));
			ok = errno == ENODEV;
		}
		ktap_check(ok, "instance removed during a stall -> ABORTED/DEVICE_REMOVED or ENODEV");
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	dyndbg_disable();
	close(fd);
	brvm_sim_destroy(&sim);
	return ktap_finish();
}
