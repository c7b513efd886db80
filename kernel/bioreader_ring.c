// SPDX-License-Identifier: GPL-2.0-only
/*
 * Descriptor ring, frame buffers and interrupts (docs/hardware.md).
 *
 * Ring protocol.  RING_SIZE slots, one frame buffer per slot, all from
 * dma_alloc_coherent().  The device fills the slot at HEAD when it owns
 * it (OWN set) and HEAD != TAIL; the driver posts by setting OWN on the
 * slot at TAIL and writing TAIL.  At most RING_SIZE - 1 slots are posted,
 * so there is always exactly one free slot: ring_tail.
 *
 *   ring_clean  next slot the driver reaps (oldest posted)
 *   ring_tail   the free slot; posted next
 *
 * After a slot is reaped, the free slot is posted and the reaped one
 * becomes the free slot.  Both indices are protected by bioreader.lock.
 *
 * Interrupts.  The hard handler only reads INT_STATUS, acknowledges the
 * bits it saw (write 1 to clear) and hands them to the thread through
 * bioreader.irq_pending.  The thread, under bioreader.lock, reaps
 * completed descriptors, validates and matches frames (through
 * bioreader_session.c), reposts buffers and ends the session when a
 * decision is reached.
 */
#include <linux/bits.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/minmax.h>
#include <linux/string.h>

#include "bioreader.h"

int br_ring_alloc(struct bioreader *br)
{
	struct device *dev = br->pdev;
	u32 i;

	br->desc = dmam_alloc_coherent(dev, br->ring_size * BRHW_DESC_SIZE,
				       &br->desc_dma, GFP_KERNEL);
	if (!br->desc)
		return -ENOMEM;
	if (br->desc_dma & 63) {	/* the device needs 64-byte alignment */
		dev_err(dev, "descriptor ring misaligned\n");
		return -ENOMEM;
	}
	br->bufs = devm_kcalloc(dev, br->ring_size, sizeof(*br->bufs),
				GFP_KERNEL);
	if (!br->bufs)
		return -ENOMEM;
	for (i = 0; i < br->ring_size; i++) {
		br->bufs[i].cpu = dmam_alloc_coherent(dev, br->geom.frame_size,
						      &br->bufs[i].dma,
						      GFP_KERNEL);
		if (!br->bufs[i].cpu)
			return -ENOMEM;
	}
	return 0;
}

/* Wipe every frame buffer and descriptor.  Capture must be stopped. */
void br_ring_wipe(struct bioreader *br)
{
	u32 i;

	for (i = 0; i < br->ring_size; i++)
		memzero_explicit(br->bufs[i].cpu, br->geom.frame_size);
	memzero_explicit(br->desc, br->ring_size * BRHW_DESC_SIZE);
}

/* Fold the device's DROPPED counter into the statistics.  Under lock. */
void br_hw_sync_dropped(struct bioreader *br)
{
	u32 cur;

	if (br->gone || regmap_read(br->map, BRHW_REG_DROPPED, &cur))
		return;
	br->stats.frames_dropped += (u32)(cur - br->dropped_last);
	br->dropped_last = cur;
}

/*
 * Full device reset; fails with -EIO when the device does not come back
 * READY in time.  Under lock (or during probe).
 */
int br_hw_reset(struct bioreader *br)
{
	u32 val;
	int ret;

	br_hw_sync_dropped(br);
	ret = regmap_write(br->map, BRHW_REG_CTRL, BRHW_CTRL_RESET);
	if (ret)
		return ret;
	ret = regmap_read_poll_timeout(br->map, BRHW_REG_CTRL, val,
				       !(val & BRHW_CTRL_RESET), 100,
				       BR_RESET_TIMEOUT_US);
	if (!ret)
		ret = regmap_read_poll_timeout(br->map, BRHW_REG_STATUS, val,
					       val & BRHW_STATUS_READY, 100,
					       BR_RESET_TIMEOUT_US);
	if (ret == -ETIMEDOUT) {
		dev_err(br->pdev, "device not ready after reset\n");
		return -EIO;
	}
	if (ret)
		return ret;
	return regmap_read(br->map, BRHW_REG_DROPPED, &br->dropped_last);
}

static void br_ring_post(struct bioreader *br, u32 slot)
{
	struct brhw_desc *d = &br->desc[slot];

	d->buf_addr = cpu_to_le64(br->bufs[slot].dma);
	d->buf_len = cpu_to_le32(br->geom.frame_size);
	d->bytes_written = 0;
	d->frame_seq = 0;
	d->reserved = 0;
	/* Contents visible before the device sees OWN. */
	dma_wmb();
	WRITE_ONCE(d->ctrl, cpu_to_le32(BRHW_DESC_OWN));
}

/*
 * Reset the device and start capture for the running session's key and
 * illumination pattern (br->sess).  Under lock.
 */
int br_hw_start(struct bioreader *br)
{
	struct br_session *s = &br->sess;
	struct regmap *map = br->map;
	u32 i, lo, hi, status;
	int ret;

	ret = br_hw_reset(br);
	if (ret)
		return ret;

	/* Ring geometry; nothing posted yet. */
	memset(br->desc, 0, br->ring_size * BRHW_DESC_SIZE);
	ret = regmap_write(map, BRHW_REG_RING_BASE_LO, lower_32_bits(br->desc_dma)) ?:
	      regmap_write(map, BRHW_REG_RING_BASE_HI, upper_32_bits(br->desc_dma)) ?:
	      regmap_write(map, BRHW_REG_RING_SIZE, br->ring_size);
	if (ret)
		return ret;

	/* Per-session MAC key: the device numbers frames from 0 again. */
	for (i = 0; i < BRHW_MAC_KEY_WORDS && !ret; i++)
		ret = regmap_write(map, BRHW_REG_MAC_KEY(i),
				   get_unaligned_le32(s->key + 4 * i));
	if (!ret)
		ret = regmap_write(map, BRHW_REG_KEY_CTRL, BRHW_KEY_LOAD);
	if (!ret)
		ret = regmap_read(map, BRHW_REG_KEY_TIME_LO, &lo) ?:
		      regmap_read(map, BRHW_REG_KEY_TIME_HI, &hi) ?:
		      regmap_read(map, BRHW_REG_STATUS, &status);
	if (!ret && !(status & BRHW_STATUS_KEY_VALID))
		ret = -EIO;
	if (!ret)
		bio_frame_check_init(&s->fc, s->key, (u64)hi << 32 | lo);
	/* The validator holds its own copy now. */
	memzero_explicit(s->key, sizeof(s->key));
	if (ret)
		return ret;

	/* Illumination challenge: 2 bits per frame, 64 frames. */
	for (i = 0; i < BRHW_ILLUM_WORDS && !ret; i++)
		ret = regmap_write(map, BRHW_REG_ILLUM(i), s->illum[i]);
	if (!ret)
		ret = regmap_write(map, BRHW_REG_ILLUM_LEN, BRHW_ILLUM_MAX_LEN);
	if (ret)
		return ret;

	/* Post every slot but one. */
	for (i = 0; i < br->ring_size - 1; i++)
		br_ring_post(br, i);
	br->ring_clean = 0;
	br->ring_tail = br->ring_size - 1;
	atomic_set(&br->irq_pending, 0);

	return regmap_write(map, BRHW_REG_INT_STATUS, BRHW_INT_ALL) ?:
	       regmap_write(map, BRHW_REG_INT_ENABLE, BRHW_INT_ALL) ?:
	       regmap_write(map, BRHW_REG_RING_TAIL, br->ring_tail) ?:
	       regmap_write(map, BRHW_REG_CTRL,
			    BRHW_CTRL_CAPTURE | BRHW_CTRL_ILLUM);
}

/*
 * Stop capture, clear the key, mask interrupts and reset, so that the
 * device neither writes a buffer nor holds a key afterwards.  Under
 * lock; best effort (a vanished device cannot be stopped any more).
 */
void br_hw_stop(struct bioreader *br)
{
	struct regmap *map = br->map;
	u32 val;

	if (br->gone)
		return;
	regmap_write(map, BRHW_REG_CTRL, 0);
	if (regmap_read_poll_timeout(map, BRHW_REG_STATUS, val,
				     !(val & BRHW_STATUS_CAPTURING), 100,
				     BR_STOP_TIMEOUT_US))
		dev_warn(br->pdev, "capture did not stop\n");
	regmap_write(map, BRHW_REG_KEY_CTRL, BRHW_KEY_CLEAR);
	regmap_write(map, BRHW_REG_INT_ENABLE, 0);
	br_hw_reset(br);
}

irqreturn_t br_irq(int irq, void *data)
{
	struct bioreader *br = data;
	u32 st;

	if (regmap_read(br->map, BRHW_REG_INT_STATUS, &st) || !st)
		return IRQ_NONE;
	regmap_write(br->map, BRHW_REG_INT_STATUS, st);
	atomic_or(st, &br->irq_pending);
	return IRQ_WAKE_THREAD;
}

/* Reap completed descriptors and repost them.  Under lock, running. */
static void br_ring_reap(struct bioreader *br)
{
	u32 mask = br->ring_size - 1;
	u32 n, posted = 0;

	for (n = 0; n < br->ring_size && br->state == BR_STATE_RUNNING; n++) {
		u32 slot = br->ring_clean;
		struct brhw_desc *d = &br->desc[slot];
		u32 ctrl, len;

		if (slot == br->ring_tail)
			break;
		ctrl = le32_to_cpu(READ_ONCE(d->ctrl));
		if (ctrl & BRHW_DESC_OWN)
			break;
		/* Read the descriptor and buffer only after OWN was seen clear. */
		dma_rmb();

		if ((ctrl & (BRHW_DESC_ERR_LEN | BRHW_DESC_ERR_DMA)) ||
		    !(ctrl & BRHW_DESC_DONE)) {
			br->stats.dma_errors++;
			dev_dbg(&br->dev, "slot %u: error %#x\n", slot, ctrl);
		} else {
			len = min(le32_to_cpu(d->bytes_written),
				  br->geom.frame_size);
			br_session_frame(br, br->bufs[slot].cpu, len);
		}
		br->ring_clean = (slot + 1) & mask;
		/* A decision stopped and reset the device: post nothing. */
		if (br->state != BR_STATE_RUNNING)
			return;
		br_ring_post(br, br->ring_tail);
		br->ring_tail = (br->ring_tail + 1) & mask;
		posted++;
	}
	if (posted)
		regmap_write(br->map, BRHW_REG_RING_TAIL, br->ring_tail);
}

irqreturn_t br_irq_thread(int irq, void *data)
{
	struct bioreader *br = data;
	u32 pending = atomic_xchg(&br->irq_pending, 0);
	u32 status;

	mutex_lock(&br->lock);
	if (br->gone)
		goto out;
	if (pending & BRHW_INT_OVERFLOW) {
		br->stats.overflows++;
		dev_dbg(&br->dev, "ring overflow\n");
	}
	if (br->state != BR_STATE_RUNNING)
		goto out;
	/* Bits can be stale from a session that ended: check STATUS. */
	if ((pending & BRHW_INT_FAULT) &&
	    !regmap_read(br->map, BRHW_REG_STATUS, &status) &&
	    (status & BRHW_STATUS_FAULT)) {
		dev_warn(br->pdev, "device fault, status %#x\n", status);
		br_session_end(br, BIOREADER_OUTCOME_INCONCLUSIVE,
			       BIOREADER_REASON_HW_ERROR,
			       BIOREADER_ATTACK_NONE);
		goto out;
	}
	if (pending & (BRHW_INT_FRAME_DONE | BRHW_INT_DMA_ERROR))
		br_ring_reap(br);
out:
	mutex_unlock(&br->lock);
	return IRQ_HANDLED;
}
