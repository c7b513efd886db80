// SPDX-License-Identifier: GPL-2.0-only
/*
 * Frame clock and DMA engine of the simulated reader.
 *
 * While capturing, an hrtimer ticks at the FPS register's rate and
 * queues the engine's work.  Each run of the work is one exposure:
 *
 *   1. under the register lock: check CAPTURING and KEY_VALID, read the
 *      ring registers; HEAD == TAIL means no posted descriptor: the
 *      frame is dropped (DROPPED++, INT_OVERFLOW);
 *   2. map the ring, and under the lock read the descriptor at HEAD: not
 *      OWN is a drop too; a buffer shorter than FRAME_SIZE completes
 *      with ERR_LEN; otherwise take the seq, the key and the
 *      illumination state for this frame;
 *   3. without the lock: map the buffer (a failed translation completes
 *      with ERR_DMA), render the scene into a private scratch frame
 *      (sim_frame_render()) and sign it;
 *   4. under the lock, only if nothing happened in between (capture
 *      stop, reset, key change: all bump sd->gen), copy the frame into
 *      the buffer, complete the descriptor (DONE, OWN cleared last),
 *      advance HEAD and FRAME_SEQ and raise INT_FRAME_DONE.
 *
 * Step 4 is what keeps a stopped device from ever writing into buffers
 * the driver has wiped or freed: the driver's register write that stops
 * capture takes the same lock.  The scratch frame is wiped after use,
 * once the test capture (sim_capture.c) has kept a delivered frame.
 *
 * Injections (sim_inject.c) hook in here: a fault or a stall fires in
 * step 1, at the next exposure while capturing; a frame injection is
 * taken with the descriptor in step 2 and acts on that frame's seq or
 * timestamp (step 2), its contents (step 3) or its completion (step 4).
 * A frame that is not delivered after all hands its injection back.
 *
 * The simulated device reaches the driver's buffers by translating bus
 * addresses back to physical memory: on x86 without an IOMMU, dma-direct
 * hands out bus address == physical address.  Only ranges that lie
 * entirely in system RAM are accepted (memremap, MEMREMAP_WB).
 */
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../algo/bio_frame.h"
#include "sim.h"

/* Map @len bytes of RAM at bus address @addr for the CPU, or NULL. */
static void *sim_dma_map(u64 addr, size_t len)
{
	if (!len || addr + len < addr ||
	    addr + len - 1 > (u64)(phys_addr_t)-1)
		return NULL;
	if (region_intersects(addr, len, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_INTERSECTS)
		return NULL;
	return memremap(addr, len, MEMREMAP_WB);
}

static void sim_drop_locked(struct sim_dev *sd)
{
	sd->dropped++;
	sim_raise_locked(sd, BRHW_INT_OVERFLOW);
}

/* Hand descriptor @d back to the driver with @flags (OWN cleared). */
static void sim_complete_locked(struct sim_dev *sd, struct brhw_desc *d,
				u32 flags, u32 bytes, u32 seq)
{
	u32 irq = BRHW_INT_FRAME_DONE;

	WRITE_ONCE(d->bytes_written, cpu_to_le32(bytes));
	WRITE_ONCE(d->frame_seq, cpu_to_le32(seq));
	/* Contents before ownership: the driver reads ctrl first. */
	dma_wmb();
	WRITE_ONCE(d->ctrl, cpu_to_le32(flags));
	sd->ring_head = (sd->ring_head + 1) & (sd->ring_size - 1);
	if (flags & (BRHW_DESC_ERR_LEN | BRHW_DESC_ERR_DMA))
		irq |= BRHW_INT_DMA_ERROR;
	sim_raise_locked(sd, irq);
}

/* Illumination state of the frame at pattern position @idx. */
static u8 sim_illum_locked(struct sim_dev *sd, u32 idx)
{
	if (!(sd->ctrl & BRHW_CTRL_ILLUM))
		return BRHW_ILLUM_OFF;
	return (sd->illum[idx / 16] >> (2 * (idx % 16))) & 3;
}

/* What one exposure needs from the register state. */
struct sim_shot {
	u32 gen;
	u32 head;
	u32 seq;
	u64 ts;
	u64 epoch;			/* key epoch of the frame */
	enum sim_inject_kind inject;	/* frame injection it carries */
	bool replayed;			/* scratch holds an old frame */
	u8 illum_state;
	u32 illum_len;
	u8 key[BRHW_MAC_KEY_SIZE];
	/* For the capture (sim_capture.c): the session as programmed. */
	u64 key_time;
	u32 illum[BRHW_ILLUM_WORDS];
};

static void sim_render(struct sim_dev *sd, const struct sim_shot *shot)
{
	struct sim_exposure e = {
		.width = sd->cfg.width,
		.height = sd->cfg.height,
		.emb_dim = sd->cfg.emb_dim,
		.illum_state = shot->illum_state,
		.seq = shot->seq,
		.illum_len = shot->illum_len,
		.timestamp_ns = shot->ts,
		.rng = &sd->rng,
	};
	struct sim_scene scene;

	sim_instance_scene(sd->inst, &scene);
	sim_frame_render(&scene, &e, sd->scratch);
	bio_frame_sign(shot->key, sd->scratch, sd->frame_size, sd->lat);
}

/*
 * Take the armed injection if it acts on the frame about to be exposed
 * (sim_inject.c) and bend the frame's parameters for it.  The frame is
 * then signed with the session key as usual: only the MAC injection
 * breaks the MAC.
 */
static void sim_inject_frame_locked(struct sim_dev *sd, struct sim_shot *shot)
{
	enum sim_inject_kind kind = sd->inject.kind;
	u64 prev_ts;

	switch (kind) {
	case SIM_INJECT_SEQ_SKIP:
		shot->seq++;
		break;
	case SIM_INJECT_SEQ_REPEAT:
		/* Waits for a frame that has a predecessor. */
		if (!sd->frame_seq)
			return;
		shot->seq--;
		break;
	case SIM_INJECT_TIME_BACK:
		/* Before the previous frame; the first: before KEY_TIME. */
		prev_ts = sd->frame_seq ? sd->last_ts : sd->key_time;
		if (!prev_ts)
			return;
		shot->ts = prev_ts - 1;
		break;
	case SIM_INJECT_BAD_MAC:
	case SIM_INJECT_PIXEL_ON:
	case SIM_INJECT_PIXEL_OFF:
	case SIM_INJECT_REPLAY:
	case SIM_INJECT_DMA_ERROR:
	case SIM_INJECT_ILLUM:
		break;
	default:
		/* Nothing armed, or an injection of the exposure (step 1). */
		return;
	}
	shot->inject = kind;
	sd->inject.kind = SIM_INJECT_NONE;
}

/* A frame that carried an injection was not delivered: arm it again. */
static void sim_inject_rearm_locked(struct sim_dev *sd, struct sim_shot *shot)
{
	if (shot->inject && !sd->inject.kind)
		sd->inject.kind = shot->inject;
	shot->inject = SIM_INJECT_NONE;
}

/* Fill the scratch frame: rendered and signed, or an old one replayed. */
static void sim_expose(struct sim_dev *sd, struct sim_shot *shot)
{
	struct brhw_frame_hdr *hdr = sd->scratch;
	const void *old;

	if (shot->inject == SIM_INJECT_REPLAY) {
		old = sim_rec_find(sd, shot->epoch);
		if (old) {
			/* Byte for byte, MAC of its own session included. */
			memcpy(sd->scratch, old, sd->frame_size);
			shot->seq = le32_to_cpu(hdr->seq);
			shot->replayed = true;
			return;
		}
	}
	sim_render(sd, shot);
	if (shot->inject == SIM_INJECT_BAD_MAC)
		hdr->mac[0] ^= 0x01;
	else if (shot->inject == SIM_INJECT_PIXEL_ON)
		sim_inject_pixel(sd, true);
	else if (shot->inject == SIM_INJECT_PIXEL_OFF)
		sim_inject_pixel(sd, false);
}

static void sim_inject_report(struct sim_dev *sd, enum sim_inject_kind kind,
			      u32 stall_ms, bool replayed)
{
	if (kind == SIM_INJECT_STALL)
		dev_info(sd->dev, "inject: stall, interrupts held off for %u ms\n",
			 stall_ms);
	else if (kind == SIM_INJECT_REPLAY && !replayed)
		dev_info(sd->dev, "inject: replay: no frame of an earlier session kept, none replayed\n");
	else
		dev_info(sd->dev, "inject: %s\n", sim_inject_name(kind));
}

static void sim_engine_work(struct work_struct *work)
{
	struct sim_dev *sd = container_of(work, struct sim_dev, work);
	enum sim_inject_kind fired = SIM_INJECT_NONE;
	struct brhw_desc *ring = NULL, *d;
	struct sim_shot shot = {};
	bool record = false, delivered = false;
	unsigned long flags;
	u32 stall_ms = 0;
	void *buf = NULL;
	u64 ring_base, addr;
	u32 ring_size, ctrl, len, idx;

	/* 1. Is there a posted descriptor at all? */
	spin_lock_irqsave(&sd->lock, flags);
	if (sd->dead || !(sd->status & BRHW_STATUS_CAPTURING))
		goto out_unlock;
	if (!(sd->status & BRHW_STATUS_KEY_VALID)) {
		sim_fault_locked(sd);
		goto out_unlock;
	}
	/* Injections of the exposure itself, not of a frame. */
	if (sd->inject.kind == SIM_INJECT_FAULT) {
		sd->inject.kind = SIM_INJECT_NONE;
		fired = SIM_INJECT_FAULT;
		sim_fault_locked(sd);
		goto out_unlock;
	}
	if (sd->inject.kind == SIM_INJECT_STALL) {
		sd->inject.kind = SIM_INJECT_NONE;
		fired = SIM_INJECT_STALL;
		stall_ms = sd->inject.stall_ms;
		sim_stall_start_locked(sd, stall_ms);
	}
	if (sd->ring_head == sd->ring_tail) {
		sim_drop_locked(sd);
		goto out_unlock;
	}
	shot.gen = sd->gen;
	ring_base = sd->ring_base;
	ring_size = sd->ring_size;
	spin_unlock_irqrestore(&sd->lock, flags);

	ring = sim_dma_map(ring_base, ring_size * BRHW_DESC_SIZE);

	/* 2. Take the descriptor at HEAD and the frame's parameters. */
	spin_lock_irqsave(&sd->lock, flags);
	if (shot.gen != sd->gen)
		goto out_unlock;
	if (!ring) {
		/* The ring itself is unreachable: nothing can complete. */
		sim_fault_locked(sd);
		goto out_unlock;
	}
	if (sd->ring_head == sd->ring_tail) {
		sim_drop_locked(sd);
		goto out_unlock;
	}
	shot.head = sd->ring_head;
	d = &ring[shot.head];
	ctrl = le32_to_cpu(READ_ONCE(d->ctrl));
	if (!(ctrl & BRHW_DESC_OWN)) {
		sim_drop_locked(sd);
		goto out_unlock;
	}
	/* Ownership before contents. */
	dma_rmb();
	addr = le64_to_cpu(READ_ONCE(d->buf_addr));
	len = le32_to_cpu(READ_ONCE(d->buf_len));
	if (len < sd->frame_size) {
		sim_complete_locked(sd, d, BRHW_DESC_ERR_LEN, 0, 0);
		goto out_unlock;
	}
	if (sd->reseed) {
		sd->rng = sd->cfg.seed;
		sd->reseed = false;
	}
	shot.seq = sd->frame_seq;
	shot.ts = sim_clock_locked(sd);
	shot.epoch = sd->key_epoch;
	sim_inject_frame_locked(sd, &shot);
	idx = shot.seq % sd->illum_len;
	shot.illum_len = sd->illum_len;
	shot.illum_state = sim_illum_locked(sd, idx);
	/*
	 * A device that does not follow the challenge (or a replay of one
	 * that did, re-signed by a holder of the key): the frame is lit,
	 * rendered and reported with the other 850 nm flood state, and
	 * signed as usual.
	 */
	if (shot.inject == SIM_INJECT_ILLUM)
		shot.illum_state ^= 1;
	memcpy(shot.key, sd->key, sizeof(shot.key));
	shot.key_time = sd->key_time;
	memcpy(shot.illum, sd->illum, sizeof(shot.illum));
	spin_unlock_irqrestore(&sd->lock, flags);

	/* 3. Expose, render and sign, without the lock. */
	buf = sim_dma_map(addr, sd->frame_size);
	if (buf && shot.inject != SIM_INJECT_DMA_ERROR)
		sim_expose(sd, &shot);

	/* 4. Deliver, unless the driver changed its mind meanwhile. */
	spin_lock_irqsave(&sd->lock, flags);
	if (shot.gen != sd->gen || shot.head != sd->ring_head) {
		sim_inject_rearm_locked(sd, &shot);
		goto out_unlock;
	}
	if (!buf || shot.inject == SIM_INJECT_DMA_ERROR) {
		if (shot.inject != SIM_INJECT_DMA_ERROR)
			sim_inject_rearm_locked(sd, &shot);
		else
			fired = SIM_INJECT_DMA_ERROR;
		sim_complete_locked(sd, d, BRHW_DESC_ERR_DMA, 0, 0);
		goto out_unlock;
	}
	memcpy(buf, sd->scratch, sd->frame_size);
	delivered = true;
	if (!shot.replayed) {
		/* An injected seq moves FRAME_SEQ along with it. */
		sd->frame_seq = shot.seq + 1;
		sd->last_ts = shot.ts;
		record = !shot.inject;
	}
	if (shot.inject)
		fired = shot.inject;
	sim_complete_locked(sd, d, BRHW_DESC_DONE, sd->frame_size, shot.seq);
out_unlock:
	spin_unlock_irqrestore(&sd->lock, flags);
	if (buf) {
		memunmap(buf);
		/* A recorder on the bus keeps this session's first frame. */
		if (record)
			sim_rec_save(sd, shot.epoch, sd->scratch);
		/* The test capture keeps what was delivered, as delivered. */
		if (delivered)
			sim_capture_save(sd, shot.epoch, shot.key, shot.key_time,
					 shot.illum, shot.illum_len, sd->scratch);
		memzero_explicit(sd->scratch, sd->frame_size);
	}
	memzero_explicit(shot.key, sizeof(shot.key));
	if (ring)
		memunmap(ring);
	if (fired)
		sim_inject_report(sd, fired, stall_ms, shot.replayed);
}

static u64 sim_period_ns(struct sim_dev *sd)
{
	return NSEC_PER_SEC / READ_ONCE(sd->fps);
}

static enum hrtimer_restart sim_engine_tick(struct hrtimer *t)
{
	struct sim_dev *sd = container_of(t, struct sim_dev, timer);

	if (READ_ONCE(sd->dead) ||
	    !(READ_ONCE(sd->status) & BRHW_STATUS_CAPTURING))
		return HRTIMER_NORESTART;
	/*
	 * A tick that finds the previous exposure still being processed
	 * merges with it: the simulated frame rate is best effort.
	 */
	queue_work(sd->wq, &sd->work);
	hrtimer_forward_now(t, ns_to_ktime(sim_period_ns(sd)));
	return HRTIMER_RESTART;
}

/* CAPTURE was just set: first exposure one frame period from now. */
void sim_engine_start_locked(struct sim_dev *sd)
{
	hrtimer_start(&sd->timer, ns_to_ktime(sim_period_ns(sd)),
		      HRTIMER_MODE_REL);
}

int sim_engine_init(struct sim_dev *sd)
{
	int ret;

	sd->scratch = kvzalloc(sd->frame_size, GFP_KERNEL);
	if (!sd->scratch)
		return -ENOMEM;
	ret = -ENOMEM;
	sd->lat = kvzalloc(sizeof(*sd->lat), GFP_KERNEL);
	if (!sd->lat)
		goto err_scratch;
	sd->wq = alloc_ordered_workqueue("%s-dma", 0, dev_name(sd->dev));
	if (!sd->wq)
		goto err_scratch;
	ret = sim_inject_init(sd);
	if (ret)
		goto err_wq;
	INIT_WORK(&sd->work, sim_engine_work);
	hrtimer_init(&sd->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	sd->timer.function = sim_engine_tick;
	sd->rng = sd->cfg.seed;
	return 0;

err_wq:
	destroy_workqueue(sd->wq);
err_scratch:
	kvfree(sd->lat);
	sd->lat = NULL;
	kvfree(sd->scratch);
	sd->scratch = NULL;
	return ret;
}

/*
 * Stop for good: no more ticks, no exposure in flight, nothing kept.
 * Called after the child device is gone, before the interrupt
 * controller is torn down.
 */
void sim_engine_fini(struct sim_dev *sd)
{
	unsigned long flags;

	spin_lock_irqsave(&sd->lock, flags);
	WRITE_ONCE(sd->dead, true);
	sim_irq_update_locked(sd);
	sd->status &= ~BRHW_STATUS_CAPTURING;
	sd->gen++;
	memzero_explicit(sd->key, sizeof(sd->key));
	memzero_explicit(sd->key_stage, sizeof(sd->key_stage));
	spin_unlock_irqrestore(&sd->lock, flags);

	hrtimer_cancel(&sd->timer);
	cancel_work_sync(&sd->work);
	destroy_workqueue(sd->wq);
	sim_inject_fini(sd);
	kvfree_sensitive(sd->scratch, sd->frame_size);
	sd->scratch = NULL;
	kvfree_sensitive(sd->lat, sizeof(*sd->lat));
	sd->lat = NULL;
	sd->rng = 0;
}
