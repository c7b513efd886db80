// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session state machine, verdicts, timeout and rate limiting.
 *
 *          SESSION_START            verdict, abort, close, timeout,
 *   IDLE -----------------> RUNNING ----------------------------------+
 *    ^                                hardware fault, device removal  |
 *    |                                                                |
 *    +--------------------- br_session_end() <------------------------+
 *
 * br_session_end() is the only way out of RUNNING.  It stops the
 * hardware, wipes every frame buffer, the reference template, the
 * aggregate and the MAC key, updates the statistics and leaves the
 * verdict (outcome, reason, attack class, flags, session id: nothing
 * else) in the owner's file for SESSION_WAIT and poll().
 */
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "bioreader.h"

/* Session ids are unique per boot (per module load) across readers. */
static atomic64_t br_session_ids = ATOMIC64_INIT(0);

/*
 * Rate limiting.  References that failed recently are remembered by a
 * keyed hash of their template, never by the template; the key is
 * random per boot.  The table is shared by all readers, so a reference
 * cannot be retried round-robin over several readers.
 */
#define BR_RL_ENTRIES	128

struct br_rl_entry {
	u64 hash;
	u32 failures;		/* within the current window */
	time64_t window_start;	/* boot time, seconds, of the first failure */
	time64_t locked_until;	/* 0: not locked out */
	time64_t last;		/* last use, for replacement */
};

static siphash_key_t br_rl_key;
static DEFINE_MUTEX(br_rl_lock);	/* protects br_rl_table */
static struct br_rl_entry br_rl_table[BR_RL_ENTRIES];

int br_session_init(void)
{
	get_random_bytes(&br_rl_key, sizeof(br_rl_key));
	return 0;
}

static u64 br_rl_hash(const struct bio_template *t)
{
	return siphash(t->data, t->dim, &br_rl_key) ^ t->dim;
}

static struct br_rl_entry *br_rl_find(u64 hash)
{
	int i;

	lockdep_assert_held(&br_rl_lock);
	for (i = 0; i < BR_RL_ENTRIES; i++)
		if (br_rl_table[i].last && br_rl_table[i].hash == hash)
			return &br_rl_table[i];
	return NULL;
}

/* Non-zero (-EAGAIN) while @hash is locked out. */
static int br_rl_check(u64 hash)
{
	time64_t now = ktime_get_boottime_seconds();
	struct br_rl_entry *e;
	int ret = 0;

	mutex_lock(&br_rl_lock);
	e = br_rl_find(hash);
	if (e && e->locked_until) {
		if (now < e->locked_until)
			ret = -EAGAIN;
		else
			memset(e, 0, sizeof(*e));	/* lockout over */
	}
	mutex_unlock(&br_rl_lock);
	return ret;
}

/* Count a failure; true when the reference just became locked out. */
static bool br_rl_fail(u64 hash, u32 max_failures, u32 lockout_s)
{
	time64_t now = ktime_get_boottime_seconds();
	struct br_rl_entry *e;
	bool locked = false;
	int i;

	mutex_lock(&br_rl_lock);
	e = br_rl_find(hash);
	if (!e) {
		/* Free slot, or the least recently used unlocked one. */
		for (i = 0; i < BR_RL_ENTRIES; i++) {
			struct br_rl_entry *c = &br_rl_table[i];

			if (!c->last) {
				e = c;
				break;
			}
			if (c->locked_until > now)
				continue;
			if (!e || c->last < e->last)
				e = c;
		}
		if (!e)		/* every entry locked out: keep them */
			goto out;
		memset(e, 0, sizeof(*e));
		e->hash = hash;
	}
	if (!e->failures || now - e->window_start >= lockout_s) {
		e->failures = 0;
		e->window_start = now;
	}
	e->last = now ?: 1;
	if (++e->failures >= max_failures && !e->locked_until) {
		e->locked_until = now + lockout_s;
		locked = true;
	}
out:
	mutex_unlock(&br_rl_lock);
	return locked;
}

/* ---- policy ---- */

void br_session_policy_default(struct bioreader_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->flags = 0;
	p->security_level = BIOREADER_SECLEVEL_MEDIUM;
	p->frames_required = 5;
	p->default_timeout_ms = 5000;
	p->max_failures = 5;
	p->lockout_s = 300;
}

int br_session_policy_check(const struct bioreader_policy *p)
{
	if (p->flags & ~BIOREADER_POLICY_FLAGS_ALL)
		return -EINVAL;
	if (p->security_level < BIOREADER_SECLEVEL_LOW ||
	    p->security_level > BIOREADER_SECLEVEL_HIGH)
		return -EINVAL;
	if (p->frames_required < 1 || p->frames_required > 64)
		return -EINVAL;
	if (p->default_timeout_ms < 100 ||
	    p->default_timeout_ms > BIOREADER_TIMEOUT_MAX_MS)
		return -EINVAL;
	if (p->max_failures < 1 || p->max_failures > 100)
		return -EINVAL;
	if (p->lockout_s < 1 || p->lockout_s > 86400)
		return -EINVAL;
	if (p->pad0 || p->pad1)
		return -EINVAL;
	return 0;
}

/* ---- start ---- */

/* Template, aggregate, liveness sums, MAC key, pattern: all of it. */
static void br_session_wipe(struct br_session *s)
{
	bio_frame_check_wipe(&s->fc);
	bio_live_wipe(&s->live);
	memzero_explicit(s, sizeof(*s));
}

int br_session_start(struct br_file *f,
		     const struct bioreader_session_start *req,
		     const void *tpl, size_t tpl_len, u64 *session_id)
{
	struct bioreader *br = f->br;
	struct br_session *s = &br->sess;
	struct bio_template *t;
	u32 timeout_ms, level;
	u64 hash;
	int ret;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;

	mutex_lock(&br->lock);
	if (br->gone) {
		ret = -ENODEV;
		goto out;
	}
	ret = bio_template_parse(t, tpl, tpl_len, br->geom.emb_dim);
	if (ret)
		goto out;
	if (br->state != BR_STATE_IDLE) {
		ret = -EBUSY;
		goto out;
	}
	hash = br_rl_hash(t);
	ret = br_rl_check(hash);
	if (ret) {
		dev_dbg(&br->dev, "start refused: reference locked out\n");
		goto out;
	}
	/* Fail closed: no audit consumer or no room, no session. */
	ret = br_audit_session_admit(br);
	if (ret)
		goto out;

	memset(s, 0, sizeof(*s));
	s->owner = f;
	s->ref_hash = hash;
	s->tpl = *t;
	memcpy(s->operator_id, req->operator_id, sizeof(s->operator_id));
	/* Validated by the ioctl code: form only, see br_ref_check(). */
	s->ref.source = req->ref_source;
	s->ref.flags = req->ref_flags;
	memcpy(s->ref.issuer_sha256, req->ref_issuer_sha256,
	       sizeof(s->ref.issuer_sha256));
	memcpy(s->ref.signer_sha256, req->ref_signer_sha256,
	       sizeof(s->ref.signer_sha256));
	level = max(req->security_level, br->policy.security_level);
	s->security_level = level;
	s->threshold = bio_match_threshold(level);
	s->frames_required = br->policy.frames_required;
	s->max_failures = br->policy.max_failures;
	s->lockout_s = br->policy.lockout_s;
	s->allow_no_liveness = br->policy.flags &
			       BIOREADER_POLICY_ALLOW_NO_LIVENESS;
	s->live_available = br_liveness_available(br);
	bio_live_init(&s->live, level);
	get_random_bytes(s->key, sizeof(s->key));
	get_random_bytes(s->illum, sizeof(s->illum));

	ret = br_hw_start(br);
	if (ret) {
		dev_err(&br->dev, "cannot start capture: %d\n", ret);
		br_hw_stop(br);
		br_ring_wipe(br);
		br_audit_session_cancel(br);
		br_session_wipe(s);
		goto out;
	}

	s->id = atomic64_inc_return(&br_session_ids);
	timeout_ms = req->timeout_ms ?: br->policy.default_timeout_ms;
	s->deadline = jiffies + msecs_to_jiffies(timeout_ms);
	br->state = BR_STATE_RUNNING;
	br->stats.sessions++;
	f->has_session = true;
	WRITE_ONCE(f->verdict_ready, false);
	memset(&f->verdict, 0, sizeof(f->verdict));
	mod_delayed_work(system_wq, &br->timeout_work,
			 msecs_to_jiffies(timeout_ms));
	*session_id = s->id;
	br_audit_session_start(br, s, timeout_ms);
	dev_dbg(&br->dev,
		"session %llu started: operator %s level %u frames %u timeout %u ms reference source %u\n",
		s->id, s->operator_id, level, s->frames_required, timeout_ms,
		s->ref.source);
out:
	mutex_unlock(&br->lock);
	kfree_sensitive(t);
	return ret;
}

/* ---- end ---- */

static void br_stats_outcome(struct bioreader *br, u32 outcome)
{
	switch (outcome) {
	case BIOREADER_OUTCOME_MATCH:
		br->stats.match++;
		break;
	case BIOREADER_OUTCOME_NO_MATCH:
		br->stats.no_match++;
		break;
	case BIOREADER_OUTCOME_ATTACK:
		br->stats.attack++;
		break;
	case BIOREADER_OUTCOME_INCONCLUSIVE:
		br->stats.inconclusive++;
		break;
	case BIOREADER_OUTCOME_TIMEOUT:
		br->stats.timeout++;
		break;
	default:
		br->stats.aborted++;
		break;
	}
}

/*
 * End the running session, if any, with the given verdict.  Caller holds
 * br->lock.  Every exit path of a session goes through here.
 */
void br_session_end(struct bioreader *br, u32 outcome, u32 reason,
		    u32 attack_class)
{
	struct br_session *s = &br->sess;
	struct br_file *owner = s->owner;
	u64 id = s->id;
	u32 flags = s->verdict_flags;
	bool locked = false;
	u64 audit_seq;

	lockdep_assert_held(&br->lock);
	if (br->state != BR_STATE_RUNNING)
		return;

	/* Capture off and key cleared before the buffers are wiped. */
	br_hw_stop(br);
	br_ring_wipe(br);

	/*
	 * A presentation or injection attack is a failed attempt on this
	 * reference just as a wrong face is: otherwise an attacker could
	 * try artefacts against a stolen card without limit.  So is a
	 * surface the ratio cannot tell from a mask (SKIN_UNCERTAIN): a
	 * mask close to skin ends there, not in ATTACK.
	 */
	if (outcome == BIOREADER_OUTCOME_NO_MATCH ||
	    outcome == BIOREADER_OUTCOME_ATTACK ||
	    (outcome == BIOREADER_OUTCOME_INCONCLUSIVE &&
	     reason == BIOREADER_REASON_SKIN_UNCERTAIN))
		locked = br_rl_fail(s->ref_hash, s->max_failures,
				    s->lockout_s);
	if (locked)
		br->stats.lockouts++;
	br_stats_outcome(br, outcome);
	/* Into the slots the session reserved: always queued. */
	audit_seq = br_audit_session_end(br, s, outcome, reason, attack_class,
					 flags, locked);

	br_session_wipe(s);
	br->state = BR_STATE_IDLE;
	/* Not _sync: the work takes br->lock; it re-checks the deadline. */
	cancel_delayed_work(&br->timeout_work);

	owner->verdict.timeout_ms = 0;
	owner->verdict.outcome = outcome;
	owner->verdict.reason = reason;
	owner->verdict.attack_class = attack_class;
	owner->verdict.flags = flags;
	owner->verdict.pad0 = 0;
	owner->verdict.session_id = id;
	owner->verdict.audit_seq = audit_seq;
	/* Publishes verdict.audit_seq to the lockless br_verdict_released(). */
	smp_store_release(&owner->verdict_ready, true);
	wake_up_interruptible_all(&br->wq);

	dev_dbg(&br->dev, "session %llu ended: outcome %u reason %u class %u%s\n",
		id, outcome, reason, attack_class,
		locked ? ", reference locked out" : "");
}

/*
 * One completed, not yet validated frame of @len bytes from the ring.
 * Caller holds br->lock and a session is running.
 *
 * Validation copies the header and the lattice samples out of the DMA
 * buffer once, into s->hdr and s->lat, and authenticates those copies;
 * nothing after it reads the buffer (docs/threat-model.md, "Frame
 * buffers after validation").
 */
void br_session_frame(struct bioreader *br, void *buf, size_t len)
{
	struct br_session *s = &br->sess;
	const struct brhw_frame_hdr *h = &s->hdr;
	struct bio_verdict_parts v;
	enum bio_frame_result r;
	enum bio_match_decision md;
	enum bio_live_decision ld;
	u32 seq, cls = BIOREADER_ATTACK_NONE;
	u8 state;

	br->stats.frames_received++;
	r = bio_frame_validate(&br->geom, &s->fc, buf, len, &s->hdr, &s->lat);
	seq = le32_to_cpu(h->seq);
	state = bio_live_pattern_state(s->illum, seq);
	/* The device must have lit the frame as commanded. */
	if (r == BIO_FRAME_OK && s->live_available && h->illum_state != state)
		r = BIO_FRAME_ERR_ILLUM;
	if (r != BIO_FRAME_OK) {
		br->stats.frames_rejected++;
		dev_dbg(&br->dev, "session %llu: frame rejected: %s\n", s->id,
			bio_frame_result_name(r));
		br_audit_integrity(br, s, r);
		br_session_end(br, BIOREADER_OUTCOME_ATTACK,
			       BIOREADER_REASON_FRAME_INTEGRITY,
			       BIOREADER_ATTACK_INJECTION);
		return;
	}
	s->frames++;
	if (s->live_available)
		bio_live_add(&s->live, h, &s->lat, seq, state);
	if (le32_to_cpu(h->flags) & BRHW_FRAME_FACE) {
		s->face_frames++;
		bio_match_agg_add(&s->agg, bio_match_similarity(&s->tpl,
								h->embedding));
	}
	if (!s->face_frames)
		return;

	md = bio_match_decide(&s->agg, s->frames_required, s->threshold);
	ld = s->live_available ? bio_live_decide(&s->live, &cls) :
				 BIO_LIVE_PENDING;
	if (!bio_session_decide(md, ld, cls, bio_quality_reason(&s->live.q),
				s->live_available, s->allow_no_liveness, &v))
		return;
	s->verdict_flags = v.flags;
	br_session_end(br, v.outcome, v.reason, v.attack_class);
}

void br_session_timeout_work(struct work_struct *work)
{
	struct bioreader *br = container_of(to_delayed_work(work),
					    struct bioreader, timeout_work);

	mutex_lock(&br->lock);
	/* A stale run for a session that already ended is harmless. */
	if (!br->gone && br->state == BR_STATE_RUNNING &&
	    time_after_eq(jiffies, br->sess.deadline))
		br_session_end(br, BIOREADER_OUTCOME_TIMEOUT,
			       br->sess.face_frames ? BIOREADER_REASON_NONE :
						      BIOREADER_REASON_NO_FACE,
			       BIOREADER_ATTACK_NONE);
	mutex_unlock(&br->lock);
}
