// SPDX-License-Identifier: GPL-2.0-only
/*
 * Session capture of the simulated reader: a test feature that keeps,
 * for the latest key epoch (session) of a device, the session key, the
 * illumination pattern as programmed and every frame exactly as it was
 * written into the driver's buffer, so that a native replay can run the
 * very same bytes through the native build of the driver's code and
 * compare verdicts (docs/hardware.md, "Session capture").
 *
 * The simulated device legitimately knows the key and the pattern: the
 * driver programs them into it.  A board has no such feature.  The file
 * is in debugfs, root only:
 *
 *   /sys/kernel/debug/bioreader-sim/<child device>/capture
 *     write "N": keep up to N frames per session (0: off, frees)
 *     read:      struct sim_capture_hdr, then the frames (sim_capture.h)
 *
 * Off by default; it costs the device one copy of each delivered frame.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "sim.h"
#include "sim_capture.h"

static size_t sim_cap_bytes(const struct sim_dev *sd, u32 frames)
{
	return sizeof(struct sim_capture_hdr) + (size_t)frames * sd->frame_size;
}

void sim_capture_save(struct sim_dev *sd, u64 epoch, const u8 *key,
		      u64 key_time, const u32 *illum, u32 illum_len,
		      const void *frame)
{
	struct sim_capture_hdr *h;
	u32 n, i;

	mutex_lock(&sd->cap_lock);
	h = sd->cap;
	if (!h)
		goto out;
	/* A new key: a new session, the previous one is forgotten. */
	if (!h->magic || sd->cap_epoch != epoch) {
		memzero_explicit(h, sim_cap_bytes(sd, le32_to_cpu(h->nframes)));
		h->magic = cpu_to_le32(SIM_CAP_MAGIC);
		h->version = cpu_to_le16(SIM_CAP_VERSION);
		h->hdr_len = cpu_to_le16(sizeof(*h));
		h->width = cpu_to_le16(sd->cfg.width);
		h->height = cpu_to_le16(sd->cfg.height);
		h->frame_size = cpu_to_le32(sd->frame_size);
		h->key_time_ns = cpu_to_le64(key_time);
		for (i = 0; i < BRHW_ILLUM_WORDS; i++)
			h->illum[i] = cpu_to_le32(illum[i]);
		h->illum_len = cpu_to_le32(illum_len);
		memcpy(h->key, key, sizeof(h->key));
		sd->cap_epoch = epoch;
	}
	n = le32_to_cpu(h->nframes);
	if (n < sd->cap_max) {
		memcpy((u8 *)sd->cap + sim_cap_bytes(sd, n), frame,
		       sd->frame_size);
		h->nframes = cpu_to_le32(n + 1);
	} else {
		le32_add_cpu(&h->lost, 1);
	}
out:
	mutex_unlock(&sd->cap_lock);
}

static ssize_t sim_cap_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct sim_dev *sd = file->private_data;
	const struct sim_capture_hdr *h;
	ssize_t ret = 0;

	/*
	 * The engine keeps a frame just after handing it to the driver: a
	 * verdict on that frame can reach userspace first.  Let the exposure
	 * in flight finish, so the capture holds every frame delivered so far.
	 */
	flush_work(&sd->work);
	mutex_lock(&sd->cap_lock);
	h = sd->cap;
	if (h && h->magic)
		ret = simple_read_from_buffer(ubuf, count, ppos, sd->cap,
					      sim_cap_bytes(sd, le32_to_cpu(h->nframes)));
	mutex_unlock(&sd->cap_lock);
	return ret;
}

static ssize_t sim_cap_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct sim_dev *sd = file->private_data;
	void *buf = NULL, *old;
	size_t old_len;
	u32 n;
	int ret;

	ret = kstrtou32_from_user(ubuf, count, 10, &n);
	if (ret)
		return ret;
	if (n > SIM_CAP_MAX_FRAMES ||
	    sim_cap_bytes(sd, n) > SIM_CAP_MAX_BYTES)
		return -ERANGE;
	if (n) {
		buf = kvzalloc(sim_cap_bytes(sd, n), GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	mutex_lock(&sd->cap_lock);
	old = sd->cap;
	old_len = sim_cap_bytes(sd, sd->cap_max);
	sd->cap = buf;
	sd->cap_max = n;
	mutex_unlock(&sd->cap_lock);
	/* It held a session key and biometric frames. */
	kvfree_sensitive(old, old_len);
	return count;
}

static const struct file_operations sim_cap_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = sim_cap_read,
	.write = sim_cap_write,
	.llseek = default_llseek,
};

/* Before the frame engine can run: the capture is off. */
void sim_capture_init(struct sim_dev *sd)
{
	mutex_init(&sd->cap_lock);
	sd->cap = NULL;
	sd->cap_max = 0;
}

/* In the device's debugfs directory (sim_main.c). */
void sim_capture_add_files(struct sim_dev *sd)
{
	debugfs_create_file("capture", 0600, sd->dbg_dir, sd, &sim_cap_fops);
}

/* After the frame engine has stopped for good. */
void sim_capture_fini(struct sim_dev *sd)
{
	kvfree_sensitive(sd->cap, sim_cap_bytes(sd, sd->cap_max));
	sd->cap = NULL;
	sd->cap_max = 0;
	mutex_destroy(&sd->cap_lock);
}
