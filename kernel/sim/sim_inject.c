// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault and attack injection of the simulated reader: a test feature
 * that makes the device misbehave the way a faulty board, or an
 * attacker on the capture bus, would (docs/hardware.md, "Fault and
 * attack injection").  Userspace arms one injection at a time through
 * the live device's debugfs file, root only:
 *
 *   /sys/kernel/debug/bioreader-sim/<child device>/inject
 *     write "bad_mac", ..., "stall <ms>", "none": arm (or disarm)
 *     read:  what is armed and has not fired yet
 *
 * The frame engine fires it at the next occasion and disarms it.  It is
 * a test control, not a configuration: debugfs, not configfs.
 *
 * This file holds the parts that are not the frame engine's own: the
 * file and its syntax, the interrupt stall and the replay store (a frame
 * of an earlier session, as a recorder on the bus would have kept it).
 */
#include <linux/debugfs.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "../algo/bio_frame.h"
#include "sim.h"

static const char *const sim_inject_names[SIM_INJECT_COUNT] = {
	[SIM_INJECT_NONE] = "none",
	[SIM_INJECT_BAD_MAC] = "bad_mac",
	[SIM_INJECT_PIXEL_ON] = "pixel_on",
	[SIM_INJECT_PIXEL_OFF] = "pixel_off",
	[SIM_INJECT_SEQ_SKIP] = "seq_skip",
	[SIM_INJECT_SEQ_REPEAT] = "seq_repeat",
	[SIM_INJECT_TIME_BACK] = "time_back",
	[SIM_INJECT_REPLAY] = "replay",
	[SIM_INJECT_DMA_ERROR] = "dma_error",
	[SIM_INJECT_FAULT] = "fault",
	[SIM_INJECT_STALL] = "stall",
	[SIM_INJECT_ILLUM] = "illum",
};

/* Longest text accepted, newline included. */
#define SIM_INJECT_TEXT_MAX	32

const char *sim_inject_name(enum sim_inject_kind kind)
{
	if ((unsigned int)kind >= SIM_INJECT_COUNT)
		return "?";
	return sim_inject_names[kind];
}

/*
 * Parse "none", "bad_mac", ..., "fault" or "stall <ms>" (1..
 * SIM_STALL_MAX_MS); one trailing newline is allowed.  0, -EINVAL for
 * unknown text, -ERANGE for a stall out of range.
 */
int sim_inject_parse(struct sim_inject *inj, const char *buf, size_t len)
{
	char text[SIM_INJECT_TEXT_MAX];
	const char *arg = NULL;
	char *sep;
	int kind;
	u32 ms;

	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len >= sizeof(text) || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(text, buf, len);
	text[len] = '\0';

	sep = strchr(text, ' ');
	if (sep) {
		*sep = '\0';
		arg = skip_spaces(sep + 1);
	}
	kind = match_string(sim_inject_names, SIM_INJECT_COUNT, text);
	if (kind < 0)
		return -EINVAL;

	if (kind != SIM_INJECT_STALL) {
		if (arg)
			return -EINVAL;
		inj->kind = kind;
		inj->stall_ms = 0;
		return 0;
	}
	if (!arg || kstrtou32(arg, 10, &ms))
		return -EINVAL;
	if (!ms || ms > SIM_STALL_MAX_MS)
		return -ERANGE;
	inj->kind = SIM_INJECT_STALL;
	inj->stall_ms = ms;
	return 0;
}

/* Print @inj as sim_inject_parse() reads it, with a newline. */
int sim_inject_print(const struct sim_inject *inj, char *buf, size_t size)
{
	if (inj->kind == SIM_INJECT_STALL)
		return scnprintf(buf, size, "stall %u\n", inj->stall_ms);
	return scnprintf(buf, size, "%s\n", sim_inject_name(inj->kind));
}

/* ---- the debugfs file ---- */

static ssize_t sim_inject_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct sim_dev *sd = file->private_data;
	char text[SIM_INJECT_TEXT_MAX];
	struct sim_inject inj;
	unsigned long flags;
	int len;

	spin_lock_irqsave(&sd->lock, flags);
	inj = sd->inject;
	spin_unlock_irqrestore(&sd->lock, flags);
	len = sim_inject_print(&inj, text, sizeof(text));
	return simple_read_from_buffer(ubuf, count, ppos, text, len);
}

/* One write arms one injection, replacing what was armed. */
static ssize_t sim_inject_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct sim_dev *sd = file->private_data;
	char text[SIM_INJECT_TEXT_MAX];
	struct sim_inject inj;
	unsigned long flags;
	int ret;

	if (!count || count >= sizeof(text))
		return -EINVAL;
	if (copy_from_user(text, ubuf, count))
		return -EFAULT;
	ret = sim_inject_parse(&inj, text, count);
	if (ret)
		return ret;
	spin_lock_irqsave(&sd->lock, flags);
	sd->inject = inj;
	spin_unlock_irqrestore(&sd->lock, flags);
	return count;
}

static const struct file_operations sim_inject_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = sim_inject_read,
	.write = sim_inject_write,
	.llseek = default_llseek,
};

/* In the device's debugfs directory (sim_main.c). */
void sim_inject_add_files(struct sim_dev *sd)
{
	debugfs_create_file("inject", 0600, sd->dbg_dir, sd, &sim_inject_fops);
}

/* ---- interrupt stall ---- */

/*
 * The line is held off: causes still latch in INT_STATUS, but no
 * interrupt is delivered until the stall ends.  The driver hears of
 * nothing, reposts nothing, and the ring runs out (OVERFLOW).
 */
void sim_stall_start_locked(struct sim_dev *sd, u32 ms)
{
	sd->stalled = true;
	sim_irq_update_locked(sd);
	sd->stall_end = ktime_add_ms(ktime_get(), ms);
	hrtimer_start(&sd->stall_timer, sd->stall_end, HRTIMER_MODE_ABS);
}

/* End a stall (timer or reset): what latched meanwhile is delivered. */
void sim_stall_end_locked(struct sim_dev *sd)
{
	if (!sd->stalled)
		return;
	sd->stalled = false;
	sim_irq_update_locked(sd);
}

static enum hrtimer_restart sim_stall_timer(struct hrtimer *t)
{
	struct sim_dev *sd = container_of(t, struct sim_dev, stall_timer);
	unsigned long flags;

	spin_lock_irqsave(&sd->lock, flags);
	/* A stall started again meanwhile has re-armed the timer. */
	if (ktime_compare(ktime_get(), sd->stall_end) >= 0)
		sim_stall_end_locked(sd);
	spin_unlock_irqrestore(&sd->lock, flags);
	return HRTIMER_NORESTART;
}

/* ---- pixels changed after signing ---- */

/*
 * Change one pixel of the signed frame in the scratch buffer, in all
 * three planes: a lattice point (the MAC covers it: the frame must be
 * refused), or a pixel off the lattice (not covered and never read: the
 * frame must be accepted and nothing the driver decides may change).
 * The pixel off the lattice is taken next to the lattice, inside the
 * face box where there is room, so that it is one a careless reader
 * would look at.
 */
void sim_inject_pixel(struct sim_dev *sd, bool on_lattice)
{
	u32 w = sd->cfg.width, npix = w * sd->cfg.height, x = 0, y = 0, i;
	u8 *p = (u8 *)sd->scratch + BRHW_FRAME_HDR_SIZE;
	struct bio_lattice_pos pos;

	if (bio_lattice_pos(sd->scratch, w, sd->cfg.height, &pos)) {
		y = pos.y[BRHW_LAT_N / 2];
		x = pos.x[BRHW_LAT_N / 2];
		if (!on_lattice) {
			/* Left of the lattice, else right of it. */
			if (pos.x[0] > 0)
				x = pos.x[0] - 1;
			else
				x = pos.x[BRHW_LAT_N - 1] + 1;
		}
	} else if (on_lattice) {
		/* No face, no lattice: flip a MAC bit instead. */
		((struct brhw_frame_hdr *)sd->scratch)->mac[0] ^= 0x01;
		return;
	}
	i = y * w + x;
	p[i] ^= 0x80;
	p[npix + i] ^= 0x80;
	p[2 * npix + 2 * i + 1] ^= 0x10;
}

/* ---- replay store ---- */

/*
 * Keep the first delivered frame of key epoch @epoch, unless one is
 * kept already; the oldest epoch's frame makes room.
 */
void sim_rec_save(struct sim_dev *sd, u64 epoch, const void *frame)
{
	struct sim_rec *victim = NULL;
	int i;

	for (i = 0; i < SIM_REC_SLOTS; i++)
		if (sd->rec[i].valid && sd->rec[i].epoch == epoch)
			return;
	for (i = 0; i < SIM_REC_SLOTS; i++) {
		struct sim_rec *r = &sd->rec[i];

		if (!r->valid) {
			victim = r;
			break;
		}
		if (!victim || r->epoch < victim->epoch)
			victim = r;
	}
	memcpy(victim->buf, frame, sd->frame_size);
	victim->epoch = epoch;
	victim->valid = true;
}

/* The kept frame of the latest epoch before @epoch, or NULL. */
const void *sim_rec_find(struct sim_dev *sd, u64 epoch)
{
	struct sim_rec *best = NULL;
	int i;

	for (i = 0; i < SIM_REC_SLOTS; i++) {
		struct sim_rec *r = &sd->rec[i];

		if (r->valid && r->epoch < epoch &&
		    (!best || r->epoch > best->epoch))
			best = r;
	}
	return best ? best->buf : NULL;
}

int sim_inject_init(struct sim_dev *sd)
{
	int i;

	sd->inject.kind = SIM_INJECT_NONE;
	hrtimer_init(&sd->stall_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	sd->stall_timer.function = sim_stall_timer;
	for (i = 0; i < SIM_REC_SLOTS; i++) {
		sd->rec[i].buf = kvzalloc(sd->frame_size, GFP_KERNEL);
		if (!sd->rec[i].buf) {
			sim_inject_fini(sd);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * After the frame engine has stopped for good (sd->dead set, no work in
 * flight): no stall timer left, no recorded frame kept.
 */
void sim_inject_fini(struct sim_dev *sd)
{
	int i;

	hrtimer_cancel(&sd->stall_timer);
	for (i = 0; i < SIM_REC_SLOTS; i++) {
		kvfree_sensitive(sd->rec[i].buf, sd->frame_size);
		sd->rec[i].buf = NULL;
		sd->rec[i].valid = false;
	}
}
