// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-reader object: probe and remove, reference-counted lifetime,
 * and the file operations of /dev/bioreaderN.
 */
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "bioreader.h"

static DEFINE_IDA(br_ida);

/*
 * Every reader object from probe until its last reference is gone,
 * including removed readers that open files still hold: a WAIT blocked
 * on a removed reader is still waiting for its DEVICE_REMOVED verdict to
 * be acknowledged.  br_readers_lock protects the list; it is taken
 * inside nothing but the wait queues' own locks (wake-ups under it).
 */
static LIST_HEAD(br_readers);
static DEFINE_SPINLOCK(br_readers_lock);

/*
 * The audit consumer acknowledged records: verdicts may be released.
 * Called from process context (the consumer's ioctl) with no lock held.
 */
void br_readers_wake_all(void)
{
	struct bioreader *br;

	spin_lock(&br_readers_lock);
	list_for_each_entry(br, &br_readers, node)
		wake_up_interruptible_all(&br->wq);
	spin_unlock(&br_readers_lock);
}

/* Last reference gone: no file, no cdev, no bound device. */
static void br_dev_release(struct device *dev)
{
	struct bioreader *br = to_bioreader(dev);

	spin_lock(&br_readers_lock);
	list_del(&br->node);
	spin_unlock(&br_readers_lock);
	/* Already wiped when the session ended; once more, cheaply. */
	memzero_explicit(&br->sess, sizeof(br->sess));
	mutex_destroy(&br->lock);
	ida_free(&br_ida, br->index);
	kfree(br);
}

static void br_put_action(void *data)
{
	struct bioreader *br = data;

	put_device(&br->dev);
}

/* ---- file operations ---- */

static int br_open(struct inode *inode, struct file *file)
{
	struct bioreader *br = container_of(inode->i_cdev, struct bioreader,
					    cdev);
	struct br_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;

	mutex_lock(&br->lock);
	if (br->gone) {
		mutex_unlock(&br->lock);
		kfree(f);
		return -ENODEV;
	}
	get_device(&br->dev);
	mutex_unlock(&br->lock);

	f->br = br;
	file->private_data = f;
	return stream_open(inode, file);
}

static int br_release(struct inode *inode, struct file *file)
{
	struct br_file *f = file->private_data;
	struct bioreader *br = f->br;

	mutex_lock(&br->lock);
	if (br->state == BR_STATE_RUNNING && br->sess.owner == f) {
		dev_dbg(&br->dev, "session %llu: owner closed\n", br->sess.id);
		br_session_end(br, BIOREADER_OUTCOME_ABORTED,
			       BIOREADER_REASON_USER_ABORT,
			       BIOREADER_ATTACK_NONE);
	}
	mutex_unlock(&br->lock);

	kfree_sensitive(f);
	put_device(&br->dev);
	return 0;
}

static __poll_t br_poll(struct file *file, poll_table *wait)
{
	struct br_file *f = file->private_data;
	struct bioreader *br = f->br;

	poll_wait(file, &br->wq, wait);
	if (READ_ONCE(br->gone))
		return EPOLLERR | EPOLLHUP;
	/* A verdict is held back until its audit record is durable. */
	if (br_verdict_released(f))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static const struct file_operations br_fops = {
	.owner = THIS_MODULE,
	.open = br_open,
	.release = br_release,
	.poll = br_poll,
	.unlocked_ioctl = br_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static int br_hw_identify(struct bioreader *br)
{
	struct device *dev = br->pdev;
	u32 id, geo, fsize, emb, ring_max;
	int ret;

	ret = regmap_read(br->map, BRHW_REG_ID, &id);
	if (ret)
		return ret;
	if (id != BRHW_ID_MAGIC) {
		dev_err(dev, "not a reader: ID %#x\n", id);
		return -ENODEV;
	}
	ret = regmap_read(br->map, BRHW_REG_VERSION, &br->hw_version);
	if (ret)
		return ret;
	if (br->hw_version >> 16 != BRHW_VERSION_2_0 >> 16) {
		dev_err(dev, "unsupported hardware version %#x\n",
			br->hw_version);
		return -ENODEV;
	}

	ret = br_hw_reset(br);
	if (ret)
		return ret;

	ret = regmap_read(br->map, BRHW_REG_CAPS, &br->caps) ?:
	      regmap_read(br->map, BRHW_REG_GEOMETRY, &geo) ?:
	      regmap_read(br->map, BRHW_REG_FRAME_SIZE, &fsize) ?:
	      regmap_read(br->map, BRHW_REG_EMB, &emb) ?:
	      regmap_read(br->map, BRHW_REG_RING_MAX, &ring_max);
	if (ret)
		return ret;

	br->geom.width = geo & 0xffff;
	br->geom.height = geo >> 16;
	br->geom.emb_dim = emb & 0xffff;
	br->geom.frame_size = fsize;
	if (!br->geom.width || !br->geom.height ||
	    fsize != BRHW_FRAME_SIZE(br->geom.width, br->geom.height)) {
		dev_err(dev, "bad geometry %ux%u, frame size %u\n",
			br->geom.width, br->geom.height, fsize);
		return -ENODEV;
	}
	if (!br->geom.emb_dim || br->geom.emb_dim > BRHW_EMB_MAX ||
	    (emb >> 16) != BRHW_EMB_FMT_INT8_L2) {
		dev_err(dev, "unsupported embedding %#x\n", emb);
		return -ENODEV;
	}
	if (ring_max < 2) {
		dev_err(dev, "ring too small: %u\n", ring_max);
		return -ENODEV;
	}
	br->ring_size = rounddown_pow_of_two(min_t(u32, ring_max,
						   BR_RING_DEFAULT));

	dev_dbg(dev, "hw %#x caps %#x %ux%u emb %u frame %u ring %u\n",
		br->hw_version, br->caps, br->geom.width, br->geom.height,
		br->geom.emb_dim, fsize, br->ring_size);
	return 0;
}

int br_reader_probe(struct platform_device *pdev, struct regmap *map)
{
	struct device *dev = &pdev->dev;
	struct bioreader *br;
	int index, ret;

	index = ida_alloc_max(&br_ida, BR_MAX_READERS - 1, GFP_KERNEL);
	if (index < 0)
		return index;

	br = kzalloc(sizeof(*br), GFP_KERNEL);
	if (!br) {
		ida_free(&br_ida, index);
		return -ENOMEM;
	}
	br->index = index;
	br->pdev = dev;
	br->map = map;
	mutex_init(&br->lock);
	init_waitqueue_head(&br->wq);
	INIT_DELAYED_WORK(&br->timeout_work, br_session_timeout_work);
	br_session_policy_default(&br->policy);
	spin_lock(&br_readers_lock);
	list_add_tail(&br->node, &br_readers);
	spin_unlock(&br_readers_lock);

	device_initialize(&br->dev);
	br->dev.class = br_class;
	br->dev.parent = dev;
	br->dev.devt = MKDEV(MAJOR(br_devt), index);
	br->dev.groups = br_groups;
	br->dev.release = br_dev_release;
	ret = dev_set_name(&br->dev, "bioreader%d", index);
	if (ret) {
		put_device(&br->dev);
		return ret;
	}
	/* Registered first, so it runs last: after the IRQ is freed. */
	ret = devm_add_action_or_reset(dev, br_put_action, br);
	if (ret)
		return ret;

	ret = br_hw_identify(br);
	if (ret)
		return ret;

	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return dev_err_probe(dev, ret, "no usable DMA\n");
	ret = br_ring_alloc(br);
	if (ret)
		return ret;

	br->irq = platform_get_irq(pdev, 0);
	if (br->irq < 0)
		return br->irq;
	ret = devm_request_threaded_irq(dev, br->irq, br_irq, br_irq_thread,
					0, dev_name(&br->dev), br);
	if (ret)
		return dev_err_probe(dev, ret, "cannot request IRQ %d\n",
				     br->irq);

	cdev_init(&br->cdev, &br_fops);
	ret = cdev_device_add(&br->cdev, &br->dev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot add %s\n",
				     dev_name(&br->dev));

	platform_set_drvdata(pdev, br);
	br_audit_reader_added(br);
	dev_info(dev, "%s: %ux%u, hardware %u.%u\n", dev_name(&br->dev),
		 br->geom.width, br->geom.height, br->hw_version >> 16,
		 br->hw_version & 0xffff);
	return 0;
}

/*
 * The device goes away (unbind, simulator instance removed, module
 * unload).  Open files keep the reader object but nothing else.
 */
void br_reader_remove(struct bioreader *br)
{
	/* No new opens, no sysfs access from here on. */
	cdev_device_del(&br->cdev, &br->dev);

	mutex_lock(&br->lock);
	br_session_end(br, BIOREADER_OUTCOME_ABORTED,
		       BIOREADER_REASON_DEVICE_REMOVED, BIOREADER_ATTACK_NONE);
	/* Interrupts off, capture off, key cleared; buffers wiped. */
	br_hw_stop(br);
	br_ring_wipe(br);
	WRITE_ONCE(br->gone, true);
	br_audit_reader_removed(br);
	mutex_unlock(&br->lock);

	wake_up_all(&br->wq);
	cancel_delayed_work_sync(&br->timeout_work);
	dev_info(br->pdev, "%s removed\n", dev_name(&br->dev));
	/* devres: IRQ, DMA memory, then our reference (br_put_action). */
}
