/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bioreader_sim: a software model of the reader hardware described in
 * docs/hardware.md.  Internal interfaces between the simulator's parts:
 *
 *   sim_configfs.c  instances and their attributes (userspace control)
 *   sim_main.c      the "bioreader-sim" platform device and driver, the
 *                   "bioreader" child device the core driver binds, and
 *                   the device's debugfs directory (test features)
 *   sim_regs.c      the register file behind a regmap
 *   sim_irq.c       a one-line interrupt controller
 *   sim_engine.c    the frame clock and the DMA engine
 *   sim_scene.c     what the sensor sees (sim_scene.h)
 *   sim_inject.c    fault and attack injection (a test feature, in
 *                   debugfs)
 *   sim_capture.c   capture of a session's frames in debugfs (a test
 *                   feature)
 */
#ifndef _BIOREADER_SIM_H
#define _BIOREADER_SIM_H

#include <linux/dcache.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "../bioreader_compat.h"
#include "../bioreader_hw.h"
#include "sim_scene.h"

#define SIM_DRV_NAME		"bioreader-sim"
#define SIM_CHILD_NAME		"bioreader"

/* Model parameters of the simulated reader. */
#define SIM_HW_VERSION		BRHW_VERSION_2_0
#define SIM_RING_MAX		64
#define SIM_WIDTH_MIN		32
#define SIM_WIDTH_MAX		640
#define SIM_HEIGHT_MIN		32
#define SIM_HEIGHT_MAX		480

/* Instance configuration, fixed while the instance is live. */
struct sim_config {
	u32 width;
	u32 height;
	u32 fps;		/* FPS register after reset */
	u32 emb_dim;
	u64 seed;		/* sensor-noise PRNG seed */
};

struct sim_instance;
struct bio_lattice;

/*
 * Fault and attack injection (docs/hardware.md, "Fault and attack
 * injection").  One injection is armed at a time; it fires once, at the
 * next occasion, and the armed state returns to NONE.
 */
enum sim_inject_kind {
	SIM_INJECT_NONE = 0,
	SIM_INJECT_BAD_MAC,	/* next frame: MAC does not match */
	SIM_INJECT_PIXEL_ON,	/* next frame: a lattice sample changed */
	SIM_INJECT_PIXEL_OFF,	/* next frame: a pixel off the lattice changed */
	SIM_INJECT_SEQ_SKIP,	/* next frame: seq one too far, signed */
	SIM_INJECT_SEQ_REPEAT,	/* next frame: previous seq again, signed */
	SIM_INJECT_TIME_BACK,	/* next frame: timestamp goes back, signed */
	SIM_INJECT_REPLAY,	/* next frame: one of an earlier session */
	SIM_INJECT_DMA_ERROR,	/* next descriptor: ERR_DMA */
	SIM_INJECT_FAULT,	/* next exposure: STATUS.FAULT, capture stops */
	SIM_INJECT_STALL,	/* next exposure: line held off for stall_ms */
	SIM_INJECT_ILLUM,	/* next frame: lit otherwise than commanded, signed */
	SIM_INJECT_COUNT
};

#define SIM_STALL_MAX_MS	60000

struct sim_inject {
	enum sim_inject_kind kind;
	u32 stall_ms;		/* SIM_INJECT_STALL only */
};

/*
 * Replay store: a signed frame of a past key epoch (session), as a
 * recorder on the bus would have kept it.  Engine work only.
 */
#define SIM_REC_SLOTS		2

struct sim_rec {
	void *buf;		/* frame_size bytes; wiped at the end */
	u64 epoch;		/* key epoch it was delivered in */
	bool valid;
};

/* Platform data of a "bioreader-sim" device (copied by the core). */
struct sim_pdata {
	struct sim_instance *inst;
	struct sim_config cfg;
	int probe_err;		/* written by probe for the creator */
};

/*
 * One live simulated reader.  Allocated by the "bioreader-sim" probe
 * (devm) and gone after its remove.
 */
struct sim_dev {
	struct device *dev;		/* the "bioreader-sim" device */
	struct sim_instance *inst;	/* outlives this device */
	struct sim_config cfg;
	u32 frame_size;
	struct regmap *regmap;
	struct platform_device *child;	/* "bioreader.N" */

	/*
	 * @lock protects the register state below, and the injection and
	 * stall state after it.  It is taken, always with spin_lock_irqsave(),
	 * from:
	 *   - the regmap callbacks, with regmap's own spinlock_t held: in
	 *     process context, and from the core driver's primary interrupt
	 *     handler (hard irq; on PREEMPT_RT that handler is force-threaded);
	 *   - the stall hrtimer (hard irq; on PREEMPT_RT a soft hrtimer, run
	 *     in softirq context);
	 *   - the DMA engine's work and probe/remove (process context).
	 * Never from the interrupt's irq_work, which runs in hard-irq context
	 * even on PREEMPT_RT, where a spinlock_t sleeps: that work reads only
	 * @line, @irq_masked and @dead (sim_irq.c).  A raw_spinlock_t is not
	 * an option: the frame engine copies a whole frame under @lock.
	 *
	 * The frame engine copies a finished frame into the driver's buffer
	 * under @lock, after checking @gen, so that no byte reaches a buffer
	 * once the driver has stopped capture, reset the device or changed
	 * the key.
	 */
	spinlock_t lock;
	u32 fps;
	u32 ctrl;
	u32 status;
	u32 int_status;
	u32 int_enable;
	u64 ring_base;
	u32 ring_size;
	u32 ring_head;
	u32 ring_tail;
	u32 dropped;
	u32 frame_seq;
	u64 last_ts;			/* timestamp of the last delivered frame */
	u64 key_epoch;			/* KEY_LOADs since probe */
	u64 time_base;			/* ktime_get_ns() at reset */
	u32 time_hi_latch;
	u64 key_time;
	u32 key_stage[BRHW_MAC_KEY_WORDS]; /* secret: written, not loaded */
	u8 key[BRHW_MAC_KEY_SIZE];	/* secret: the loaded key */
	u32 illum[BRHW_ILLUM_WORDS];
	u32 illum_len;
	u32 gen;			/* bumped when in-flight work must die */
	bool reseed;			/* engine reseeds its PRNG */
	bool dead;			/* being removed: no timer, no irq;
					 * WRITE_ONCE, also read without @lock
					 */

	/*
	 * Injection (sim_inject.c), under @lock.  @inject is a test
	 * control, not device state: a device reset does not disarm it.
	 * @stalled holds the interrupt line off until @stall_timer ends
	 * it (or a reset does).
	 */
	struct sim_inject inject;
	bool stalled;
	ktime_t stall_end;
	struct hrtimer stall_timer;

	/*
	 * Interrupt controller (sim_irq.c).  @line is the level of the
	 * interrupt line, written under @lock (sim_irq_update_locked()) and
	 * read without it by the hard-irq work; @irq_masked is written by
	 * the irq_chip callbacks under the irq descriptor's raw lock; both
	 * with WRITE_ONCE/READ_ONCE.
	 */
	struct fwnode_handle *fwnode;
	struct irq_domain *domain;
	unsigned int virq;
	struct irq_work irq_work;
	bool line;
	bool irq_masked;

	/* Frame engine (sim_engine.c). */
	struct hrtimer timer;
	struct workqueue_struct *wq;
	struct work_struct work;
	void *scratch;			/* frame being rendered; wiped */
	struct bio_lattice *lat;	/* signing scratch; wiped */
	u64 rng;			/* sensor noise; engine work only */
	struct sim_rec rec[SIM_REC_SLOTS];

	/*
	 * Test capture (sim_capture.c), under @cap_lock: the latest key
	 * epoch's frames as delivered.  @cap is NULL while it is off.
	 */
	struct mutex cap_lock;
	void *cap;
	u32 cap_max;			/* frames @cap holds */
	u64 cap_epoch;

	/*
	 * debugfs directory of the test features ("inject", "capture"),
	 * bioreader-sim/<child device>/; removed first at remove(), which
	 * waits for the files' readers and writers to leave.
	 */
	struct dentry *dbg_dir;
};

/* sim_configfs.c */
int sim_configfs_init(void);
void sim_configfs_exit(void);
void sim_instance_scene(struct sim_instance *inst, struct sim_scene *out);

/* sim_main.c */
struct platform_device *sim_device_create(struct sim_instance *inst,
					  const struct sim_config *cfg);
void sim_device_destroy(struct platform_device *pdev);
const char *sim_device_child_name(struct platform_device *pdev);

/* sim_regs.c */
struct regmap *sim_regmap_init(struct sim_dev *sd);
void sim_reset_locked(struct sim_dev *sd);
u64 sim_clock_locked(struct sim_dev *sd);
void sim_raise_locked(struct sim_dev *sd, u32 bits);
void sim_fault_locked(struct sim_dev *sd);

/* sim_irq.c */
int sim_irq_init(struct sim_dev *sd);
void sim_irq_fini(struct sim_dev *sd);
void sim_irq_update_locked(struct sim_dev *sd);

/* sim_inject.c */
int sim_inject_parse(struct sim_inject *inj, const char *buf, size_t len);
int sim_inject_print(const struct sim_inject *inj, char *buf, size_t size);
const char *sim_inject_name(enum sim_inject_kind kind);
int sim_inject_init(struct sim_dev *sd);
void sim_inject_add_files(struct sim_dev *sd);
void sim_inject_fini(struct sim_dev *sd);
void sim_stall_start_locked(struct sim_dev *sd, u32 ms);
void sim_stall_end_locked(struct sim_dev *sd);
void sim_rec_save(struct sim_dev *sd, u64 epoch, const void *frame);
const void *sim_rec_find(struct sim_dev *sd, u64 epoch);
void sim_inject_pixel(struct sim_dev *sd, bool on_lattice);

/* sim_capture.c */
void sim_capture_init(struct sim_dev *sd);
void sim_capture_add_files(struct sim_dev *sd);
void sim_capture_fini(struct sim_dev *sd);
void sim_capture_save(struct sim_dev *sd, u64 epoch, const u8 *key,
		      u64 key_time, const u32 *illum, u32 illum_len,
		      const void *frame);

/* sim_engine.c */
int sim_engine_init(struct sim_dev *sd);
void sim_engine_fini(struct sim_dev *sd);
void sim_engine_start_locked(struct sim_dev *sd);

#endif /* _BIOREADER_SIM_H */
