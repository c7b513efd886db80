/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bioreader core driver: internal interfaces between its files.
 *
 *   bioreader_main.c      module init/exit, class, chrdev region
 *   bioreader_platform.c  platform/OF driver, register access choice
 *   bioreader_dev.c       per-reader object, lifetime, file operations
 *   bioreader_ioctl.c     ioctl argument copying and validation
 *   bioreader_session.c   session state machine, verdicts, rate limit
 *   bioreader_ring.c      descriptor ring, DMA buffers, interrupts
 *   bioreader_sysfs.c     statistics and state in sysfs
 *
 * Lifetime.  A reader (struct bioreader) is reference counted through
 * its embedded class device @dev.  References are held by the bound
 * platform device (dropped by a devres action after every other devres
 * of the probe is released, so after the IRQ is freed), by every open
 * file, and by the embedded cdev while it is live.  After remove() the
 * reader is "gone": no register, DMA buffer or IRQ is touched again and
 * every file operation fails with -ENODEV; the memory goes away when
 * the last file is closed.
 */
#ifndef _BIOREADER_H
#define _BIOREADER_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/regmap.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "bioreader_compat.h"
#include "bioreader_hw.h"
#include "algo/bio_frame.h"
#include "algo/bio_match.h"	/* and the uAPI header */
#include "algo/bio_liveness.h"

#define BR_DRV_NAME		"bioreader"
#define BR_MAX_READERS		256
#define BR_RING_DEFAULT		8
#define BR_RESET_TIMEOUT_US	100000	/* READY after CTRL.RESET */
#define BR_STOP_TIMEOUT_US	100000	/* CAPTURING clear after stop */

/* Reader state, protected by bioreader.lock. */
enum br_state {
	BR_STATE_IDLE = 0,
	BR_STATE_RUNNING,	/* a session owns the reader */
};

/*
 * Statistics.  All counters are protected by bioreader.lock; they are
 * only updated from process context (ioctl, IRQ thread, timeout work).
 */
struct br_stats {
	u64 sessions;
	u64 match;
	u64 no_match;
	u64 attack;
	u64 inconclusive;
	u64 timeout;
	u64 aborted;
	u64 frames_received;
	u64 frames_rejected;
	u64 frames_dropped;	/* accumulated from the DROPPED register */
	u64 dma_errors;
	u64 overflows;
	u64 lockouts;
};

/*
 * One frame buffer per descriptor slot.  Holds biometric data while a
 * session runs; wiped with memzero_explicit() when it ends.
 */
struct br_buf {
	void *cpu;
	dma_addr_t dma;
};

/*
 * Where a session's reference template came from, as the process that
 * started it declared it (bioreader_session_start.ref_*): checked in form
 * only (the driver cannot check a card), copied into the SESSION_START
 * audit record.  Certificate fingerprints: neither biometric nor secret.
 */
struct br_session_ref {
	u32 source;		/* BIOREADER_REF_SOURCE_* */
	u32 flags;		/* BIOREADER_REF_* */
	u8 issuer_sha256[sizeof_field(struct bioreader_session_start,
				      ref_issuer_sha256)];
	u8 signer_sha256[sizeof_field(struct bioreader_session_start,
				      ref_signer_sha256)];
};

/*
 * Everything a running session keeps.  Biometric or secret: wiped as a
 * whole by br_session_wipe() on every path that ends a session.
 */
struct br_session {
	struct br_file *owner;	/* the file that started it */
	u64 id;
	u64 ref_hash;		/* keyed hash of the reference, rate limit */
	struct bio_template tpl;	/* reference template */
	struct bio_frame_check fc;	/* MAC key, seq and time state */
	struct bio_match_agg agg;
	struct bio_live live;		/* liveness sums: biometric */
	struct brhw_frame_hdr hdr;	/* private copy of the current frame's header */
	struct bio_lattice lat;		/* and of its lattice samples */
	u8 key[BRHW_MAC_KEY_SIZE];
	u32 illum[BRHW_ILLUM_WORDS];
	char operator_id[BIOREADER_OPERATOR_ID_LEN];
	struct br_session_ref ref;	/* declared origin of the reference */
	s32 threshold;		/* Q15 */
	u32 security_level;
	u32 frames_required;
	u32 max_failures;
	u32 lockout_s;
	bool allow_no_liveness;
	bool live_available;	/* the device has what liveness needs */
	u32 verdict_flags;	/* BIOREADER_VERDICT_* for br_session_end() */
	u32 frames;		/* valid frames */
	u32 face_frames;	/* valid frames with a face */
	unsigned long deadline;	/* jiffies */
};

/*
 * Per open file.  @has_session and @verdict* are protected by the
 * reader's lock.  @verdict_ready is also read locklessly by poll() and
 * by the WAIT sleeper's wake-up condition (br_verdict_released()): it is
 * set with smp_store_release() after @verdict is filled in and read with
 * smp_load_acquire(), so a lockless reader that sees it true also sees
 * @verdict.audit_seq.
 */
struct br_file {
	struct bioreader *br;
	bool has_session;	/* started a session whose verdict is unread */
	bool verdict_ready;
	struct bioreader_verdict verdict;
};

struct bioreader {
	struct device dev;	/* class device "bioreaderN"; refcount */
	struct cdev cdev;
	int index;		/* N of /dev/bioreaderN */
	struct device *pdev;	/* the bound platform device */

	/* Set at probe, constant afterwards (until gone). */
	struct regmap *map;
	int irq;
	u32 hw_version;
	u32 caps;
	u32 ring_size;		/* power of two */
	struct bio_frame_geom geom;

	/* Ring memory: allocated at probe, devres-managed. */
	struct brhw_desc *desc;
	dma_addr_t desc_dma;
	struct br_buf *bufs;	/* ring_size entries */

	/* Written by the hard IRQ handler, consumed by the IRQ thread. */
	atomic_t irq_pending;	/* BRHW_INT_* bits */

	/*
	 * @lock serialises everything below and all register access
	 * outside the hard IRQ handler (which touches only INT_STATUS):
	 * the ioctls, the IRQ thread, the timeout work, sysfs and
	 * remove().  Lock order: bioreader.lock, then br_rl_lock.
	 */
	struct mutex lock;
	bool gone;		/* removed; also read with READ_ONCE */
	enum br_state state;
	struct br_session sess;
	struct bioreader_policy policy;
	struct br_stats stats;
	u32 ring_clean;		/* next slot to reap */
	u32 ring_tail;		/* next slot to post (the one free slot) */
	u32 dropped_last;	/* DROPPED register at the last sync */

	/*
	 * Session end, removal and every audit acknowledgment (which may
	 * release a verdict) wake WAIT sleepers and poll() here.
	 */
	wait_queue_head_t wq;
	/* Session timeout; takes @lock. */
	struct delayed_work timeout_work;

	/* On br_readers from probe to release; under br_readers_lock. */
	struct list_head node;
};

/* Capabilities liveness needs: both bands, depth, the floods. */
#define BR_LIVENESS_CAPS	(BIOREADER_CAP_DUAL_NIR | BIOREADER_CAP_DEPTH | \
				 BIOREADER_CAP_ILLUMINATION)

static inline bool br_liveness_available(const struct bioreader *br)
{
	return (br->caps & BR_LIVENESS_CAPS) == BR_LIVENESS_CAPS;
}

static inline struct bioreader *to_bioreader(struct device *dev)
{
	return container_of(dev, struct bioreader, dev);
}

/* bioreader_main.c */
extern struct class *br_class;
extern dev_t br_devt;

/* bioreader_platform.c */
int br_platform_register(void);
void br_platform_unregister(void);

/* bioreader_dev.c */
int br_reader_probe(struct platform_device *pdev, struct regmap *map);
void br_reader_remove(struct bioreader *br);
/* Wake every reader's WAIT and poll(), removed ones with open files too. */
void br_readers_wake_all(void);

/* bioreader_ioctl.c */
long br_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* bioreader_session.c */
int br_session_init(void);
void br_session_policy_default(struct bioreader_policy *p);
int br_session_policy_check(const struct bioreader_policy *p);
int br_session_start(struct br_file *f,
		     const struct bioreader_session_start *req,
		     const void *tpl, size_t tpl_len, u64 *session_id);
void br_session_end(struct bioreader *br, u32 outcome, u32 reason,
		    u32 attack_class);
void br_session_frame(struct bioreader *br, void *buf, size_t len);
void br_session_timeout_work(struct work_struct *work);

/* bioreader_ring.c */
int br_ring_alloc(struct bioreader *br);
int br_hw_reset(struct bioreader *br);
int br_hw_start(struct bioreader *br);
void br_hw_stop(struct bioreader *br);
void br_hw_sync_dropped(struct bioreader *br);
void br_ring_wipe(struct bioreader *br);
irqreturn_t br_irq(int irq, void *data);
irqreturn_t br_irq_thread(int irq, void *data);

/* bioreader_sysfs.c */
extern const struct attribute_group *br_groups[];

/*
 * ---- bioreader_audit.c: the audit channel (/dev/bioreader-audit) ----
 *
 * Its queue has a lock of its own (a spinlock, taken inside
 * bioreader.lock, never the other way round).  The session hooks run
 * with bioreader.lock held.  Fail closed: br_audit_session_admit(),
 * br_audit_policy() and br_audit_stats_reset() return -ENOLINK when no
 * consumer is attached or the queue is full, and a verdict is handed
 * out only once br_audit_durable() says the consumer acknowledged its
 * VERDICT record (that is, the record is in durable storage).
 */
int br_audit_init(void);
void br_audit_exit(void);
bool br_audit_attached(void);
/* Has the consumer acknowledged (made durable) every record up to @seq? */
bool br_audit_durable(u64 seq);

/* SESSION_START: reserve the session's records before starting it. */
int br_audit_session_admit(struct bioreader *br);
/* The start failed after admission: give the reservation back. */
void br_audit_session_cancel(struct bioreader *br);
void br_audit_session_start(struct bioreader *br, const struct br_session *s,
			    u32 timeout_ms);
/* A frame failed validation; @error is the enum bio_frame_result. */
void br_audit_integrity(struct bioreader *br, const struct br_session *s,
			u32 error);
/* LOCKOUT (if @locked_out) and VERDICT records; returns the VERDICT seq. */
u64 br_audit_session_end(struct bioreader *br, const struct br_session *s,
			 u32 outcome, u32 reason, u32 attack_class, u32 flags,
			 bool locked_out);
int br_audit_policy(struct bioreader *br, const struct bioreader_policy *old,
		    const struct bioreader_policy *new);
/* Before the counters are zeroed (they go into the record). */
int br_audit_stats_reset(struct bioreader *br);
void br_audit_reader_added(struct bioreader *br);
void br_audit_reader_removed(struct bioreader *br);

/*
 * May @f's verdict be handed out?  Only once it is ready and the audit
 * consumer has acknowledged its VERDICT record: a verdict is never
 * released before the record of it is durable.  Lockless (the WAIT
 * sleeper's condition and poll()); see struct br_file for the ordering.
 */
static inline bool br_verdict_released(struct br_file *f)
{
	/* Pairs with smp_store_release() of @verdict_ready. */
	return smp_load_acquire(&f->verdict_ready) &&
	       br_audit_durable(READ_ONCE(f->verdict.audit_seq));
}

#endif /* _BIOREADER_H */
