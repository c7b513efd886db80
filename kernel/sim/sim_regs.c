// SPDX-License-Identifier: GPL-2.0-only
/*
 * Register file of the simulated reader (docs/hardware.md, "Register
 * map"), exposed as a regmap with reg_read/reg_write callbacks: the core
 * driver uses the same regmap calls it uses on a board's MMIO window.
 */
#include <linux/bits.h>
#include <linux/log2.h>
#include <linux/regmap.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include <linux/bioreader.h>

#include "sim.h"

#define SIM_CAPS	(BIOREADER_CAP_DUAL_NIR | BIOREADER_CAP_DEPTH | \
			 BIOREADER_CAP_EMBEDDING | BIOREADER_CAP_ILLUMINATION | \
			 BIOREADER_CAP_FRAME_MAC)

/* The ring's bus address is 64-byte aligned: the low bits read as 0. */
#define SIM_RING_ALIGN_MASK	0x3fULL

u64 sim_clock_locked(struct sim_dev *sd)
{
	return ktime_get_ns() - sd->time_base;
}

/* Level-triggered line: recomputed whenever INT_STATUS/ENABLE change. */
void sim_raise_locked(struct sim_dev *sd, u32 bits)
{
	sd->int_status |= bits & BRHW_INT_ALL;
	sim_irq_update_locked(sd);
}

static void sim_key_wipe_locked(struct sim_dev *sd)
{
	memzero_explicit(sd->key, sizeof(sd->key));
	memzero_explicit(sd->key_stage, sizeof(sd->key_stage));
	sd->status &= ~BRHW_STATUS_KEY_VALID;
}

static void sim_stop_locked(struct sim_dev *sd)
{
	sd->status &= ~BRHW_STATUS_CAPTURING;
	sd->ctrl &= ~BRHW_CTRL_CAPTURE;
	sd->gen++;
}

/* Capture refused or failed: stop, set STATUS.FAULT, raise INT_FAULT. */
void sim_fault_locked(struct sim_dev *sd)
{
	sim_stop_locked(sd);
	sd->status |= BRHW_STATUS_FAULT;
	sim_raise_locked(sd, BRHW_INT_FAULT);
}

void sim_reset_locked(struct sim_dev *sd)
{
	sim_stop_locked(sd);
	sim_key_wipe_locked(sd);
	sd->fps = sd->cfg.fps;
	sd->ctrl = 0;
	sd->status = BRHW_STATUS_READY;
	sd->int_status = 0;
	sd->int_enable = 0;
	sd->ring_base = 0;
	sd->ring_size = 0;
	sd->ring_head = 0;
	sd->ring_tail = 0;
	sd->dropped = 0;
	sd->frame_seq = 0;
	sd->last_ts = 0;
	sd->stalled = false;	/* an injected stall ends; injections stay armed */
	sd->time_base = ktime_get_ns();
	sd->time_hi_latch = 0;
	sd->key_time = 0;
	memset(sd->illum, 0, sizeof(sd->illum));
	sd->illum_len = 1;
	sd->reseed = true;
	sim_irq_update_locked(sd);
}

static void sim_ctrl_write_locked(struct sim_dev *sd, u32 val)
{
	bool capturing = sd->status & BRHW_STATUS_CAPTURING;

	if (val & BRHW_CTRL_RESET) {
		sim_reset_locked(sd);
		return;
	}
	sd->ctrl = val & (BRHW_CTRL_CAPTURE | BRHW_CTRL_ILLUM);

	if ((val & BRHW_CTRL_CAPTURE) && !capturing) {
		/* Needs a loaded key and a programmed ring. */
		if (sd->dead || !(sd->status & BRHW_STATUS_KEY_VALID) ||
		    !sd->ring_size) {
			sim_fault_locked(sd);
			return;
		}
		sd->status &= ~BRHW_STATUS_FAULT;
		sd->status |= BRHW_STATUS_CAPTURING;
		sim_engine_start_locked(sd);
	} else if (!(val & BRHW_CTRL_CAPTURE) && capturing) {
		sim_stop_locked(sd);
	}
}

static void sim_key_ctrl_write_locked(struct sim_dev *sd, u32 val)
{
	int i;

	if (val & BRHW_KEY_CLEAR) {
		sim_key_wipe_locked(sd);
		sd->gen++;
		return;
	}
	if (!(val & BRHW_KEY_LOAD))
		return;
	/* MAC_KEY(i) holds key bytes 4i..4i+3, least significant first. */
	for (i = 0; i < BRHW_MAC_KEY_WORDS; i++) {
		__le32 w = cpu_to_le32(sd->key_stage[i]);

		memcpy(&sd->key[4 * i], &w, sizeof(w));
	}
	memzero_explicit(sd->key_stage, sizeof(sd->key_stage));
	sd->status |= BRHW_STATUS_KEY_VALID;
	sd->frame_seq = 0;
	sd->last_ts = 0;
	sd->key_epoch++;	/* a new session, for the replay injection */
	sd->key_time = sim_clock_locked(sd);
	sd->gen++;
}

static int sim_reg_read(void *ctx, unsigned int reg, unsigned int *val)
{
	struct sim_dev *sd = ctx;
	unsigned long flags;
	u64 now;

	spin_lock_irqsave(&sd->lock, flags);
	switch (reg) {
	case BRHW_REG_ID:
		*val = BRHW_ID_MAGIC;
		break;
	case BRHW_REG_VERSION:
		*val = SIM_HW_VERSION;
		break;
	case BRHW_REG_CAPS:
		*val = SIM_CAPS;
		break;
	case BRHW_REG_GEOMETRY:
		*val = sd->cfg.width | sd->cfg.height << 16;
		break;
	case BRHW_REG_FRAME_SIZE:
		*val = sd->frame_size;
		break;
	case BRHW_REG_EMB:
		*val = sd->cfg.emb_dim | BRHW_EMB_FMT_INT8_L2 << 16;
		break;
	case BRHW_REG_FPS:
		*val = sd->fps;
		break;
	case BRHW_REG_RING_MAX:
		*val = SIM_RING_MAX;
		break;
	case BRHW_REG_CTRL:
		*val = sd->ctrl;
		break;
	case BRHW_REG_STATUS:
		*val = sd->status;
		break;
	case BRHW_REG_INT_STATUS:
		*val = sd->int_status;
		break;
	case BRHW_REG_INT_ENABLE:
		*val = sd->int_enable;
		break;
	case BRHW_REG_RING_BASE_LO:
		*val = lower_32_bits(sd->ring_base);
		break;
	case BRHW_REG_RING_BASE_HI:
		*val = upper_32_bits(sd->ring_base);
		break;
	case BRHW_REG_RING_SIZE:
		*val = sd->ring_size;
		break;
	case BRHW_REG_RING_HEAD:
		*val = sd->ring_head;
		break;
	case BRHW_REG_RING_TAIL:
		*val = sd->ring_tail;
		break;
	case BRHW_REG_DROPPED:
		*val = sd->dropped;
		break;
	case BRHW_REG_FRAME_SEQ:
		*val = sd->frame_seq;
		break;
	case BRHW_REG_TIME_LO:
		now = sim_clock_locked(sd);
		sd->time_hi_latch = upper_32_bits(now);
		*val = lower_32_bits(now);
		break;
	case BRHW_REG_TIME_HI:
		*val = sd->time_hi_latch;
		break;
	case BRHW_REG_KEY_TIME_LO:
		*val = lower_32_bits(sd->key_time);
		break;
	case BRHW_REG_KEY_TIME_HI:
		*val = upper_32_bits(sd->key_time);
		break;
	case BRHW_REG_ILLUM(0) ... BRHW_REG_ILLUM(BRHW_ILLUM_WORDS - 1):
		*val = sd->illum[(reg - BRHW_REG_ILLUM(0)) / 4];
		break;
	case BRHW_REG_ILLUM_LEN:
		*val = sd->illum_len;
		break;
	default:
		/* KEY_CTRL and MAC_KEY(i) are write-only and read as 0. */
		*val = 0;
		break;
	}
	spin_unlock_irqrestore(&sd->lock, flags);
	return 0;
}

static int sim_reg_write(void *ctx, unsigned int reg, unsigned int val)
{
	struct sim_dev *sd = ctx;
	unsigned long flags;
	bool capturing;

	spin_lock_irqsave(&sd->lock, flags);
	capturing = sd->status & BRHW_STATUS_CAPTURING;
	switch (reg) {
	case BRHW_REG_FPS:
		if (val >= BRHW_FPS_MIN && val <= BRHW_FPS_MAX)
			WRITE_ONCE(sd->fps, val);
		break;
	case BRHW_REG_CTRL:
		sim_ctrl_write_locked(sd, val);
		break;
	case BRHW_REG_INT_STATUS:
		sd->int_status &= ~val;
		sim_irq_update_locked(sd);
		break;
	case BRHW_REG_INT_ENABLE:
		sd->int_enable = val & BRHW_INT_ALL;
		sim_irq_update_locked(sd);
		break;
	case BRHW_REG_RING_BASE_LO:
		if (!capturing)
			sd->ring_base = (sd->ring_base & GENMASK_ULL(63, 32)) |
					(val & ~SIM_RING_ALIGN_MASK);
		break;
	case BRHW_REG_RING_BASE_HI:
		if (!capturing)
			sd->ring_base = (u64)val << 32 |
					lower_32_bits(sd->ring_base);
		break;
	case BRHW_REG_RING_SIZE:
		if (!capturing && val >= 2 && val <= SIM_RING_MAX &&
		    is_power_of_2(val)) {
			sd->ring_size = val;
			sd->ring_head = 0;
			sd->ring_tail = 0;
		}
		break;
	case BRHW_REG_RING_TAIL:
		if (sd->ring_size)
			sd->ring_tail = val & (sd->ring_size - 1);
		break;
	case BRHW_REG_KEY_CTRL:
		sim_key_ctrl_write_locked(sd, val);
		break;
	case BRHW_REG_MAC_KEY(0) ... BRHW_REG_MAC_KEY(BRHW_MAC_KEY_WORDS - 1):
		sd->key_stage[(reg - BRHW_REG_MAC_KEY(0)) / 4] = val;
		break;
	case BRHW_REG_ILLUM(0) ... BRHW_REG_ILLUM(BRHW_ILLUM_WORDS - 1):
		sd->illum[(reg - BRHW_REG_ILLUM(0)) / 4] = val;
		break;
	case BRHW_REG_ILLUM_LEN:
		if (val >= 1 && val <= BRHW_ILLUM_MAX_LEN)
			sd->illum_len = val;
		break;
	default:
		/* Read-only registers ignore writes. */
		break;
	}
	spin_unlock_irqrestore(&sd->lock, flags);
	return 0;
}

/* Reading TIME_LO latches TIME_HI: keep regmap's debugfs away from it. */
static bool sim_reg_precious(struct device *dev, unsigned int reg)
{
	return reg == BRHW_REG_TIME_LO;
}

static bool sim_reg_volatile(struct device *dev, unsigned int reg)
{
	return true;
}

static const struct regmap_config sim_regmap_config = {
	.name = "bioreader-sim",
	.reg_bits = 32,
	.val_bits = 32,
	.reg_stride = 4,
	.max_register = BRHW_REG_LAST,
	.fast_io = true,
	.cache_type = REGCACHE_NONE,
	.reg_read = sim_reg_read,
	.reg_write = sim_reg_write,
	.precious_reg = sim_reg_precious,
	.volatile_reg = sim_reg_volatile,
};

struct regmap *sim_regmap_init(struct sim_dev *sd)
{
	return devm_regmap_init(sd->dev, NULL, sd, &sim_regmap_config);
}
