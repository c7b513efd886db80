// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit channel: /dev/bioreader-audit, one consumer (bioflowd).
 *
 * Every record (uapi/linux/bioreader_audit.h, docs/audit-records.md) is
 * built here from data the kernel holds itself, numbered 1, 2, 3, ... in
 * a stream that is (boot id, stream id), and kept in a bounded queue
 * until the consumer acknowledges it.  Records are read many per read();
 * unacknowledged ones are delivered again, from the oldest, after the
 * consumer reopens the node.
 *
 * Fail closed.  An operation that can be refused (SESSION_START,
 * SET_POLICY, RESET_STATS) is refused with -ENOLINK unless a consumer is
 * attached and the queue has room for its records.  A session reserves
 * queue slots for every record it may still produce (its start, an
 * integrity failure, a lockout, its verdict), so those records are
 * always queued; its verdict is released to the caller only once the
 * consumer has acknowledged the VERDICT record, that is, once the record
 * is durable (br_audit_durable()); until then SESSION_WAIT holds it back
 * and fails with -ENOLINK at its timeout.  Every acknowledgment that
 * moves @acked forward wakes the readers' WAIT sleepers and poll().
 *
 * Records have two sizes (format version 2): a SESSION_START record is
 * the common 160 bytes followed by struct bioreader_audit_reference, the
 * declared origin of the session's reference; every other record is the
 * 160 bytes alone.  Each queue slot holds the larger; read() copies each
 * record with its own size, packed, and wants a buffer that holds the
 * largest, so that the next record always fits into an empty one.
 *
 * Records nobody can refuse (reader added/removed, consumer attached)
 * use a headroom that admission leaves free; should even that run out
 * (many hotplug events while no consumer acknowledges), they are counted
 * as lost, never numbered, and the count is reported in the next
 * CONSUMER record: the sequence never has a gap.
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <linux/wait.h>

#include <linux/bioreader_audit.h>

#include "bioreader.h"

#define BR_AUDIT_RECSZ		sizeof(struct bioreader_audit_record)
#define BR_AUDIT_QLEN_DEFAULT	4096
#define BR_AUDIT_QLEN_MIN	32
#define BR_AUDIT_QLEN_MAX	65536
/* Slots admission leaves free for records nobody can refuse. */
#define BR_AUDIT_HEADROOM	16
/* Records copied to userspace per copy_to_user() in read(), at most. */
#define BR_AUDIT_CHUNK		32

/*
 * One queue slot: a record and, for SESSION_START only (rec.size says
 * so), its reference block right after it.  No padding between them, so
 * a record of either size is the first rec.size bytes of its slot.
 */
struct br_audit_slot {
	struct bioreader_audit_record rec;
	struct bioreader_audit_reference ref;
};

static_assert(sizeof(struct bioreader_audit_record) ==
	      BIOREADER_AUDIT_RECORD_SIZE);
static_assert(offsetof(struct br_audit_slot, ref) ==
	      BIOREADER_AUDIT_RECORD_SIZE);
static_assert(sizeof(struct br_audit_slot) ==
	      BIOREADER_AUDIT_SESSION_START_SIZE);
static_assert(sizeof(struct br_audit_slot) == BIOREADER_AUDIT_RECORD_MAX);

static unsigned int audit_queue_len = BR_AUDIT_QLEN_DEFAULT;
module_param(audit_queue_len, uint, 0444);
MODULE_PARM_DESC(audit_queue_len,
		 "audit records kept until acknowledged (32..65536, default 4096)");

/*
 * The queue.  Records acked+1 .. next_seq-1 are unacknowledged and live
 * in ring[seq % cap], one slot each whatever their size; acked+1 ..
 * delivered have been read by the current consumer.
 * acked <= delivered < next_seq always, and
 *
 *	(next_seq - 1 - acked) + reserved <= cap
 *
 * Everything in here is protected by br_audit_lock, a spinlock: the
 * emitters run with a reader's mutex held and nothing sleeps under it.
 * @attached, @next_seq and @delivered are also read locklessly
 * (READ_ONCE) by wake-up conditions, poll() and the verdict release
 * check; they are written with WRITE_ONCE.
 */
static DEFINE_SPINLOCK(br_audit_lock);
static struct {
	struct br_audit_slot *ring;
	u32 cap;
	u32 reserved;		/* slots promised to running sessions */
	u64 next_seq;
	u64 acked;
	u64 delivered;
	u64 lost;		/* unrefusable records that found no room */
	u64 lost_reported;	/* @lost at the last CONSUMER record */
	u64 stream_id;		/* random, non-zero, per module load */
	bool attached;		/* the node is open */
	bool boot_id_set;
	uuid_t boot_id;
} br_audit;

/* Serialises read() of the consumer (it sleeps: not the spinlock). */
static DEFINE_MUTEX(br_audit_read_lock);
/* read() and poll() of the consumer wait here for unread records. */
static DECLARE_WAIT_QUEUE_HEAD(br_audit_wq);

/*
 * Per running session: the slots it still has reserved and the actor
 * who started it (the actor of all its records).  Indexed by the
 * reader's index; protected by that reader's lock, which every session
 * hook runs under.
 */
struct br_audit_actor {
	u32 uid;
	u32 pid;
	u64 start_ns;
};

struct br_audit_sess {
	u32 resv;
	struct br_audit_actor actor;
};

/* start, integrity failure, lockout, verdict */
#define BR_AUDIT_SESSION_SLOTS	4

static struct br_audit_sess br_audit_sess[BR_MAX_READERS];

/* ---- boot id: module parameter, set once ---- */

/*
 * The kernel keeps its boot id (/proc/sys/kernel/random/boot_id) in a
 * static variable of drivers/char/random.c and exports no getter, and a
 * module must not read /proc.  So it is given to us: at load
 * (modprobe bioreader boot_id=$(cat /proc/sys/kernel/random/boot_id)) or
 * later by the daemon's privileged monitor, through the parameter.  It
 * can be set once; writing the same value again is accepted, a
 * different one is refused (-EBUSY).  The consumer cannot open the node
 * before it is set, and records carry it from the moment they are read,
 * so every record of a stream has the same boot id.  The daemon checks
 * it against /proc/sys/kernel/random/boot_id before it trusts the
 * stream (docs/audit-records.md).
 */
static int br_audit_boot_id_store(const char *val,
				  const struct kernel_param *kp)
{
	char buf[UUID_STRING_LEN + 1];
	size_t len = strcspn(val, "\n");
	uuid_t id;
	int ret = 0;

	if (len != UUID_STRING_LEN || (val[len] && val[len + 1]))
		return -EINVAL;
	memcpy(buf, val, len);
	buf[len] = 0;
	if (uuid_parse(buf, &id) || uuid_is_null(&id))
		return -EINVAL;

	spin_lock(&br_audit_lock);
	if (!br_audit.boot_id_set) {
		uuid_copy(&br_audit.boot_id, &id);
		br_audit.boot_id_set = true;
	} else if (!uuid_equal(&br_audit.boot_id, &id)) {
		ret = -EBUSY;
	}
	spin_unlock(&br_audit_lock);
	return ret;
}

static int br_audit_boot_id_show(char *buf, const struct kernel_param *kp)
{
	uuid_t id;
	bool set;

	spin_lock(&br_audit_lock);
	set = br_audit.boot_id_set;
	uuid_copy(&id, &br_audit.boot_id);
	spin_unlock(&br_audit_lock);
	if (!set)
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "%pUb\n", &id);
}

static const struct kernel_param_ops br_audit_boot_id_ops = {
	.set = br_audit_boot_id_store,
	.get = br_audit_boot_id_show,
};
module_param_cb(boot_id, &br_audit_boot_id_ops, NULL, 0644);
MODULE_PARM_DESC(boot_id,
		 "the kernel's boot id (/proc/sys/kernel/random/boot_id); settable once");

/* ---- building and queueing records ---- */

static void br_audit_actor_current(struct br_audit_actor *a)
{
	memset(a, 0, sizeof(*a));
	if (current->flags & PF_KTHREAD)
		return;		/* the kernel itself: all zero */
	a->uid = from_kuid(&init_user_ns, current_euid());
	a->pid = task_tgid_nr(current);
	a->start_ns = current->group_leader->start_boottime;
}

static void br_audit_rec_init(struct bioreader_audit_record *r, u32 type,
			      u32 reader, const struct br_audit_actor *a)
{
	memset(r, 0, sizeof(*r));
	r->magic = cpu_to_le32(BIOREADER_AUDIT_MAGIC);
	r->version = cpu_to_le16(BIOREADER_AUDIT_VERSION);
	r->size = cpu_to_le16(BR_AUDIT_RECSZ);
	r->type = cpu_to_le32(type);
	r->reader = cpu_to_le32(reader);
	r->uid = cpu_to_le32(a->uid);
	r->pid = cpu_to_le32(a->pid);
	r->actor_start_ns = cpu_to_le64(a->start_ns);
}

static void br_audit_rec_session(struct bioreader_audit_record *r,
				 const struct br_session *s)
{
	r->session_id = cpu_to_le64(s->id);
	BUILD_BUG_ON(sizeof(r->operator_id) != sizeof(s->operator_id));
	/* Validated at SESSION_START: printable, NUL-padded. */
	memcpy(r->operator_id, s->operator_id, sizeof(r->operator_id));
}

static u32 br_audit_count_locked(void)
{
	lockdep_assert_held(&br_audit_lock);
	return br_audit.next_seq - 1 - br_audit.acked;
}

/* Room for @n more records on top of the reservations and @keep free. */
static bool br_audit_room_locked(u32 n, u32 keep)
{
	return br_audit_count_locked() + br_audit.reserved + n + keep <=
	       br_audit.cap;
}

/*
 * Number, timestamp and store @r, with its reference block @ref if it
 * has one (then r->size says so; else @ref is NULL and the slot's block
 * is left zero).  Caller holds the lock and made sure there is room (or
 * used a reservation).  Timestamps are taken here so that they never go
 * backwards along the sequence.
 */
static u64 br_audit_put_locked(struct bioreader_audit_record *r,
			       const struct bioreader_audit_reference *ref)
{
	struct br_audit_slot *slot;
	u64 seq = br_audit.next_seq;

	lockdep_assert_held(&br_audit_lock);
	r->seq = cpu_to_le64(seq);
	r->mono_ns = cpu_to_le64(ktime_get_boottime_ns());
	r->real_ns = cpu_to_le64(ktime_get_real_ns());
	r->stream_id = cpu_to_le64(br_audit.stream_id);
	slot = &br_audit.ring[seq % br_audit.cap];
	slot->rec = *r;
	if (ref)
		slot->ref = *ref;
	else
		memset(&slot->ref, 0, sizeof(slot->ref));
	WRITE_ONCE(br_audit.next_seq, seq + 1);
	return seq;
}

/* A record nobody can refuse: queued if there is room, else counted lost. */
static u64 br_audit_emit(struct bioreader_audit_record *r)
{
	u64 seq = 0;

	spin_lock(&br_audit_lock);
	if (br_audit_room_locked(1, 0))
		seq = br_audit_put_locked(r, NULL);
	else
		br_audit.lost++;
	spin_unlock(&br_audit_lock);
	if (seq)
		wake_up_interruptible(&br_audit_wq);
	else
		pr_warn_ratelimited("audit queue full: record of type %u lost\n",
				    le32_to_cpu(r->type));
	return seq;
}

/* A record of a refusable operation: -ENOLINK unless attached with room. */
static int br_audit_emit_admit(struct bioreader_audit_record *r)
{
	int ret = -ENOLINK;

	spin_lock(&br_audit_lock);
	if (br_audit.attached && br_audit_room_locked(1, BR_AUDIT_HEADROOM)) {
		br_audit_put_locked(r, NULL);
		ret = 0;
	}
	spin_unlock(&br_audit_lock);
	if (!ret)
		wake_up_interruptible(&br_audit_wq);
	return ret;
}

/* A session's record, in one of the slots it reserved. */
static u64 br_audit_emit_session(struct br_audit_sess *as,
				 struct bioreader_audit_record *r,
				 const struct bioreader_audit_reference *ref)
{
	u64 seq;

	if (WARN_ON_ONCE(!as->resv))
		return br_audit_emit(r);
	spin_lock(&br_audit_lock);
	as->resv--;
	br_audit.reserved--;
	seq = br_audit_put_locked(r, ref);
	spin_unlock(&br_audit_lock);
	wake_up_interruptible(&br_audit_wq);
	return seq;
}

static void br_audit_unreserve(struct br_audit_sess *as)
{
	spin_lock(&br_audit_lock);
	br_audit.reserved -= as->resv;
	as->resv = 0;
	spin_unlock(&br_audit_lock);
}

/* ---- hooks of the driver ---- */

bool br_audit_attached(void)
{
	return READ_ONCE(br_audit.attached);
}

bool br_audit_durable(u64 seq)
{
	bool durable;

	/* Locked: a u64 is not read in one access on every architecture. */
	spin_lock(&br_audit_lock);
	durable = seq && seq <= br_audit.acked;
	spin_unlock(&br_audit_lock);
	return durable;
}

int br_audit_session_admit(struct bioreader *br)
{
	struct br_audit_sess *as = &br_audit_sess[br->index];
	int ret = -ENOLINK;

	lockdep_assert_held(&br->lock);
	spin_lock(&br_audit_lock);
	if (br_audit.attached &&
	    br_audit_room_locked(BR_AUDIT_SESSION_SLOTS, BR_AUDIT_HEADROOM)) {
		br_audit.reserved += BR_AUDIT_SESSION_SLOTS;
		as->resv = BR_AUDIT_SESSION_SLOTS;
		ret = 0;
	}
	spin_unlock(&br_audit_lock);
	if (ret) {
		dev_dbg(&br->dev, "start refused: no audit consumer or queue full\n");
		return ret;
	}
	br_audit_actor_current(&as->actor);
	return 0;
}

void br_audit_session_cancel(struct bioreader *br)
{
	lockdep_assert_held(&br->lock);
	br_audit_unreserve(&br_audit_sess[br->index]);
}

void br_audit_session_start(struct bioreader *br, const struct br_session *s,
			    u32 timeout_ms)
{
	struct br_audit_sess *as = &br_audit_sess[br->index];
	struct bioreader_audit_reference ref;
	struct bioreader_audit_record r;

	lockdep_assert_held(&br->lock);
	br_audit_rec_init(&r, BIOREADER_AUDIT_SESSION_START, br->index,
			  &as->actor);
	br_audit_rec_session(&r, s);
	r.size = cpu_to_le16(sizeof(struct br_audit_slot));
	r.detail[0] = cpu_to_le32(s->security_level);
	r.detail[1] = cpu_to_le32(s->frames_required);
	r.detail[2] = cpu_to_le32(timeout_ms);
	r.detail[3] = cpu_to_le32(br->policy.flags);
	/* As declared and validated at SESSION_START; zero if undeclared. */
	BUILD_BUG_ON(sizeof(ref.issuer_sha256) !=
		     sizeof(s->ref.issuer_sha256));
	BUILD_BUG_ON(sizeof(ref.signer_sha256) !=
		     sizeof(s->ref.signer_sha256));
	ref.source = cpu_to_le32(s->ref.source);
	ref.flags = cpu_to_le32(s->ref.flags);
	memcpy(ref.issuer_sha256, s->ref.issuer_sha256,
	       sizeof(ref.issuer_sha256));
	memcpy(ref.signer_sha256, s->ref.signer_sha256,
	       sizeof(ref.signer_sha256));
	br_audit_emit_session(as, &r, &ref);
}

void br_audit_integrity(struct bioreader *br, const struct br_session *s,
			u32 error)
{
	struct br_audit_sess *as = &br_audit_sess[br->index];
	struct bioreader_audit_record r;

	lockdep_assert_held(&br->lock);
	br_audit_rec_init(&r, BIOREADER_AUDIT_INTEGRITY, br->index,
			  &as->actor);
	br_audit_rec_session(&r, s);
	r.outcome = cpu_to_le32(error);
	r.detail[0] = cpu_to_le32(s->frames);
	br_audit_emit_session(as, &r, NULL);
}

u64 br_audit_session_end(struct bioreader *br, const struct br_session *s,
			 u32 outcome, u32 reason, u32 attack_class, u32 flags,
			 bool locked_out)
{
	struct br_audit_sess *as = &br_audit_sess[br->index];
	struct bioreader_audit_record r;
	u64 seq;

	lockdep_assert_held(&br->lock);
	if (locked_out) {
		br_audit_rec_init(&r, BIOREADER_AUDIT_LOCKOUT, br->index,
				  &as->actor);
		br_audit_rec_session(&r, s);
		r.detail[0] = cpu_to_le32(s->max_failures);
		r.detail[1] = cpu_to_le32(s->lockout_s);
		br_audit_emit_session(as, &r, NULL);
	}

	br_audit_rec_init(&r, BIOREADER_AUDIT_VERDICT, br->index, &as->actor);
	br_audit_rec_session(&r, s);
	r.outcome = cpu_to_le32(outcome);
	r.reason = cpu_to_le32(reason);
	r.attack_class = cpu_to_le32(attack_class);
	r.flags = cpu_to_le32(flags);
	r.detail[0] = cpu_to_le32(s->frames);
	r.detail[1] = cpu_to_le32(s->face_frames);
	seq = br_audit_emit_session(as, &r, NULL);

	br_audit_unreserve(as);
	memset(&as->actor, 0, sizeof(as->actor));
	return seq;
}

/* Policy values, packed losslessly within their validated ranges. */
static void br_audit_pack_policy(__le32 *d, const struct bioreader_policy *p)
{
	d[0] = cpu_to_le32(p->security_level | p->frames_required << 8 |
			   p->max_failures << 16);
	d[1] = cpu_to_le32(p->lockout_s);
}

int br_audit_policy(struct bioreader *br, const struct bioreader_policy *old,
		    const struct bioreader_policy *new)
{
	struct bioreader_audit_record r;
	struct br_audit_actor a;

	lockdep_assert_held(&br->lock);
	br_audit_actor_current(&a);
	br_audit_rec_init(&r, BIOREADER_AUDIT_POLICY_CHANGE, br->index, &a);
	r.detail[0] = cpu_to_le32((old->flags & 0xffff) | new->flags << 16);
	r.detail[1] = cpu_to_le32((old->default_timeout_ms & 0xffff) |
				  new->default_timeout_ms << 16);
	br_audit_pack_policy(&r.detail[2], old);
	br_audit_pack_policy(&r.detail[4], new);
	return br_audit_emit_admit(&r);
}

static __le32 br_audit_u32(u64 v)
{
	return cpu_to_le32(min_t(u64, v, U32_MAX));
}

int br_audit_stats_reset(struct bioreader *br)
{
	struct bioreader_audit_record r;
	struct br_audit_actor a;

	lockdep_assert_held(&br->lock);
	br_audit_actor_current(&a);
	br_audit_rec_init(&r, BIOREADER_AUDIT_STATS_RESET, br->index, &a);
	/* The counters that are lost, saturated at 2^32 - 1. */
	r.detail[0] = br_audit_u32(br->stats.sessions);
	r.detail[1] = br_audit_u32(br->stats.match);
	r.detail[2] = br_audit_u32(br->stats.no_match);
	r.detail[3] = br_audit_u32(br->stats.attack);
	r.detail[4] = br_audit_u32(br->stats.frames_rejected);
	r.detail[5] = br_audit_u32(br->stats.lockouts);
	return br_audit_emit_admit(&r);
}

void br_audit_reader_added(struct bioreader *br)
{
	struct bioreader_audit_record r;
	struct br_audit_actor a;

	br_audit_actor_current(&a);
	br_audit_rec_init(&r, BIOREADER_AUDIT_READER_ADDED, br->index, &a);
	r.detail[0] = cpu_to_le32(br->hw_version);
	r.detail[1] = cpu_to_le32(br->caps);
	r.detail[2] = cpu_to_le32(br->geom.width | br->geom.height << 16);
	r.detail[3] = cpu_to_le32(br->geom.emb_dim);
	r.detail[4] = cpu_to_le32(br->ring_size);
	br_audit_emit(&r);
}

void br_audit_reader_removed(struct bioreader *br)
{
	struct bioreader_audit_record r;
	struct br_audit_actor a;

	br_audit_actor_current(&a);
	br_audit_rec_init(&r, BIOREADER_AUDIT_READER_REMOVED, br->index, &a);
	br_audit_emit(&r);
}

/* ---- the consumer's node ---- */

static bool br_audit_unread(void)
{
	return READ_ONCE(br_audit.next_seq) - 1 > READ_ONCE(br_audit.delivered);
}

static int br_audit_open(struct inode *inode, struct file *file)
{
	struct bioreader_audit_record r;
	struct br_audit_actor a;
	u64 lost;
	int ret = 0;

	br_audit_actor_current(&a);
	br_audit_rec_init(&r, BIOREADER_AUDIT_CONSUMER,
			  BIOREADER_AUDIT_NO_READER, &a);

	spin_lock(&br_audit_lock);
	if (!br_audit.boot_id_set) {
		ret = -ENXIO;
	} else if (br_audit.attached) {
		ret = -EBUSY;
	} else {
		/* Everything not acknowledged is delivered again. */
		WRITE_ONCE(br_audit.delivered, br_audit.acked);
		lost = br_audit.lost - br_audit.lost_reported;
		r.detail[0] = cpu_to_le32(br_audit_count_locked());
		r.detail[1] = cpu_to_le32(br_audit.cap);
		r.detail[2] = br_audit_u32(lost);
		if (br_audit_room_locked(1, 0)) {
			br_audit.lost_reported = br_audit.lost;
			br_audit_put_locked(&r, NULL);
		} else {
			br_audit.lost++;
		}
		WRITE_ONCE(br_audit.attached, true);
	}
	spin_unlock(&br_audit_lock);
	if (ret)
		return ret;

	wake_up_interruptible(&br_audit_wq);
	return stream_open(inode, file);
}

static int br_audit_release(struct inode *inode, struct file *file)
{
	spin_lock(&br_audit_lock);
	WRITE_ONCE(br_audit.attached, false);
	spin_unlock(&br_audit_lock);
	return 0;
}

/*
 * Size of the record in @slot: 160, or 232 for SESSION_START, as
 * br_audit_rec_init() and br_audit_session_start() set it.
 */
static size_t br_audit_slot_size(const struct br_audit_slot *slot)
{
	return le16_to_cpu(slot->rec.size);
}

/*
 * As many whole records as fit in @count bytes, oldest first, packed:
 * each takes its own size.  @count must hold the largest record
 * (BIOREADER_AUDIT_RECORD_MAX), else -EINVAL whatever is queued: so the
 * rule does not depend on what comes next, and a read into an empty
 * buffer always takes at least the next record (no consumer can be
 * stuck behind a record its buffer cannot hold).
 */
static ssize_t br_audit_read(struct file *file, char __user *buf,
			     size_t count, loff_t *ppos)
{
	u8 *bounce;
	size_t done = 0;
	ssize_t ret = 0;

	if (count < BIOREADER_AUDIT_RECORD_MAX)
		return -EINVAL;
	bounce = kmalloc_array(BR_AUDIT_CHUNK, sizeof(struct br_audit_slot),
			       GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	if (mutex_lock_interruptible(&br_audit_read_lock)) {
		kfree(bounce);
		return -EINTR;
	}

	for (;;) {
		size_t len = 0, sz;
		u64 from;
		u32 n = 0;

		/* Copied out under the lock: acks may free the slots. */
		spin_lock(&br_audit_lock);
		from = br_audit.delivered + 1;
		while (n < BR_AUDIT_CHUNK && from + n < br_audit.next_seq) {
			const struct br_audit_slot *slot =
				&br_audit.ring[(from + n) % br_audit.cap];
			struct bioreader_audit_record *r;

			sz = br_audit_slot_size(slot);
			if (sz > count - done - len)
				break;	/* the next one does not fit */
			memcpy(bounce + len, slot, sz);
			r = (struct bioreader_audit_record *)(bounce + len);
			memcpy(r->boot_id, br_audit.boot_id.b,
			       sizeof(r->boot_id));
			len += sz;
			n++;
		}
		spin_unlock(&br_audit_lock);

		if (!n) {
			/* Unread records that do not fit: for the next read. */
			if (done)
				break;
			/* An empty buffer holds any record: nothing unread. */
			if (file->f_flags & O_NONBLOCK) {
				ret = -EAGAIN;
				break;
			}
			if (wait_event_interruptible(br_audit_wq,
						     br_audit_unread())) {
				ret = -EINTR;
				break;
			}
			continue;
		}
		if (copy_to_user(buf + done, bounce, len)) {
			ret = -EFAULT;
			break;
		}
		/* Reads are serialised and acks stop at @delivered. */
		spin_lock(&br_audit_lock);
		WRITE_ONCE(br_audit.delivered, from + n - 1);
		spin_unlock(&br_audit_lock);
		done += len;
	}

	mutex_unlock(&br_audit_read_lock);
	kfree(bounce);
	return done ? done : ret;
}

static __poll_t br_audit_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &br_audit_wq, wait);
	return br_audit_unread() ? EPOLLIN | EPOLLRDNORM : 0;
}

static long br_audit_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	bool advanced = false;
	u64 seq;
	int ret = 0;

	if (cmd != BIOREADER_AUDIT_IOC_ACK)
		return -ENOTTY;
	if (copy_from_user(&seq, (void __user *)arg, sizeof(seq)))
		return -EFAULT;

	spin_lock(&br_audit_lock);
	if (seq > br_audit.delivered) {
		ret = -EINVAL;		/* not delivered (since the open) */
	} else if (seq > br_audit.acked) {
		br_audit.acked = seq;	/* older acks are no-ops */
		advanced = true;
	}
	spin_unlock(&br_audit_lock);
	/* Durable now: verdicts whose records these are may be released. */
	if (advanced)
		br_readers_wake_all();
	return ret;
}

static const struct file_operations br_audit_fops = {
	.owner = THIS_MODULE,
	.open = br_audit_open,
	.release = br_audit_release,
	.read = br_audit_read,
	.poll = br_audit_poll,
	.unlocked_ioctl = br_audit_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- state in sysfs: /sys/class/misc/bioreader-audit/ ---- */

static u64 br_audit_get(const u64 *field)
{
	u64 v;

	spin_lock(&br_audit_lock);
	v = *field;
	spin_unlock(&br_audit_lock);
	return v;
}

static ssize_t consumer_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", br_audit_attached());
}
static DEVICE_ATTR_RO(consumer);

static ssize_t capacity_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", br_audit.cap);
}
static DEVICE_ATTR_RO(capacity);

static ssize_t pending_show(struct device *dev,
			    struct device_attribute *attr, char *buf)
{
	u32 n, resv;

	spin_lock(&br_audit_lock);
	n = br_audit_count_locked();
	resv = br_audit.reserved;
	spin_unlock(&br_audit_lock);
	return sysfs_emit(buf, "%u %u\n", n, resv);
}
static DEVICE_ATTR_RO(pending);

static ssize_t next_seq_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", br_audit_get(&br_audit.next_seq));
}
static DEVICE_ATTR_RO(next_seq);

static ssize_t acked_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%llu\n", br_audit_get(&br_audit.acked));
}
static DEVICE_ATTR_RO(acked);

/* Read by the current consumer; between @acked and this: not yet durable. */
static ssize_t delivered_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", br_audit_get(&br_audit.delivered));
}
static DEVICE_ATTR_RO(delivered);

static ssize_t lost_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n", br_audit_get(&br_audit.lost));
}
static DEVICE_ATTR_RO(lost);

static ssize_t stream_id_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%016llx\n", br_audit.stream_id);
}
static DEVICE_ATTR_RO(stream_id);

static struct attribute *br_audit_attrs[] = {
	&dev_attr_consumer.attr,
	&dev_attr_capacity.attr,
	&dev_attr_pending.attr,
	&dev_attr_next_seq.attr,
	&dev_attr_acked.attr,
	&dev_attr_delivered.attr,
	&dev_attr_lost.attr,
	&dev_attr_stream_id.attr,
	NULL
};
ATTRIBUTE_GROUPS(br_audit);

static struct miscdevice br_audit_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "bioreader-audit",
	.fops = &br_audit_fops,
	.mode = 0600,
	.groups = br_audit_groups,
};

int br_audit_init(void)
{
	u32 cap = clamp_t(u32, audit_queue_len, BR_AUDIT_QLEN_MIN,
			  BR_AUDIT_QLEN_MAX);
	int ret;

	if (cap != audit_queue_len)
		pr_warn("audit_queue_len %u out of range, using %u\n",
			audit_queue_len, cap);
	audit_queue_len = cap;
	br_audit.ring = kvcalloc(cap, sizeof(*br_audit.ring), GFP_KERNEL);
	if (!br_audit.ring)
		return -ENOMEM;
	br_audit.cap = cap;
	br_audit.next_seq = 1;
	do {
		get_random_bytes(&br_audit.stream_id,
				 sizeof(br_audit.stream_id));
	} while (!br_audit.stream_id);

	ret = misc_register(&br_audit_misc);
	if (ret) {
		kvfree(br_audit.ring);
		br_audit.ring = NULL;
	}
	return ret;
}

/* No consumer can be open (it pins the module); readers are gone. */
void br_audit_exit(void)
{
	misc_deregister(&br_audit_misc);
	kvfree(br_audit.ring);
	br_audit.ring = NULL;
}
