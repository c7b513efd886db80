// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioreader_sim - a software model of the bioreader hardware
 * (docs/hardware.md), in the style of netdevsim and gpio-sim.
 *
 * Instances are created in configfs (sim_configfs.c).  When one goes
 * live, a "bioreader-sim" platform device is registered; this module's
 * platform driver binds it and builds the hardware: the register file
 * behind a regmap, a one-line interrupt controller and the frame
 * engine.  It then registers a child platform device "bioreader" with
 * one IRQ resource and no MEM resource; the core driver binds that
 * child and finds the regmap on the parent, as it would for a function
 * of a multi-function device.  The core driver never learns that the
 * hardware is simulated.
 *
 * Teardown runs in the reverse order: the child first (the core
 * driver's remove stops capture and frees its interrupt), then the
 * frame engine, then the interrupt controller; the regmap and the
 * device state are devm-managed on the parent.
 *
 * The test features of a live device are files in debugfs, not in
 * configfs (which configures instances): debugfs/bioreader-sim/<child>/
 * "inject" (sim_inject.c) and "capture" (sim_capture.c).  A kernel
 * without debugfs simply has neither.
 */
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/ioport.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/regmap.h>
#include <linux/slab.h>

#include "sim.h"

static struct dentry *sim_debugfs_root;

/* After the child device exists: its name names the directory. */
static void sim_debugfs_add(struct sim_dev *sd)
{
	sd->dbg_dir = debugfs_create_dir(dev_name(&sd->child->dev),
					 sim_debugfs_root);
	sim_inject_add_files(sd);
	sim_capture_add_files(sd);
}

/* Before the device goes: waits for the files' users to leave. */
static void sim_debugfs_remove(struct sim_dev *sd)
{
	debugfs_remove_recursive(sd->dbg_dir);
	sd->dbg_dir = NULL;
}

static int sim_add_child(struct sim_dev *sd)
{
	struct resource res = DEFINE_RES_IRQ_NAMED(sd->virq, "frame");
	struct platform_device_info info = {
		.parent = sd->dev,
		.name = SIM_CHILD_NAME,
		.id = PLATFORM_DEVID_AUTO,
		.res = &res,
		.num_res = 1,
		.dma_mask = DMA_BIT_MASK(64),
	};
	struct platform_device *child;

	child = platform_device_register_full(&info);
	if (IS_ERR(child))
		return PTR_ERR(child);
	sd->child = child;
	return 0;
}

static int sim_probe(struct platform_device *pdev)
{
	struct sim_pdata *pd = dev_get_platdata(&pdev->dev);
	struct device *dev = &pdev->dev;
	unsigned long flags;
	struct sim_dev *sd;
	int ret;

	if (!pd)
		return -EINVAL;

	sd = devm_kzalloc(dev, sizeof(*sd), GFP_KERNEL);
	if (!sd) {
		ret = -ENOMEM;
		goto err;
	}
	sd->dev = dev;
	sd->inst = pd->inst;
	sd->cfg = pd->cfg;
	sd->frame_size = BRHW_FRAME_SIZE(sd->cfg.width, sd->cfg.height);
	spin_lock_init(&sd->lock);
	sim_capture_init(sd);

	ret = sim_irq_init(sd);
	if (ret)
		goto err;
	ret = sim_engine_init(sd);
	if (ret)
		goto err_irq;

	spin_lock_irqsave(&sd->lock, flags);
	sim_reset_locked(sd);
	spin_unlock_irqrestore(&sd->lock, flags);

	sd->regmap = sim_regmap_init(sd);
	if (IS_ERR(sd->regmap)) {
		ret = PTR_ERR(sd->regmap);
		goto err_engine;
	}

	ret = sim_add_child(sd);
	if (ret)
		goto err_engine;

	platform_set_drvdata(pdev, sd);
	sim_debugfs_add(sd);
	dev_info(dev, "simulated reader %ux%u @ %u fps, embedding %u, child %s\n",
		 sd->cfg.width, sd->cfg.height, sd->cfg.fps, sd->cfg.emb_dim,
		 dev_name(&sd->child->dev));
	return 0;

err_engine:
	sim_engine_fini(sd);
err_irq:
	sim_irq_fini(sd);
err:
	pd->probe_err = ret;
	return ret;
}

static void sim_remove(struct platform_device *pdev)
{
	struct sim_dev *sd = platform_get_drvdata(pdev);

	sim_debugfs_remove(sd);
	/* The core driver's remove runs here and stops capture. */
	platform_device_unregister(sd->child);
	sd->child = NULL;
	sim_engine_fini(sd);
	sim_capture_fini(sd);
	sim_irq_fini(sd);
}

static struct platform_driver sim_driver = {
	.driver = {
		.name = SIM_DRV_NAME,
		/* Instances come and go through configfs only. */
		.suppress_bind_attrs = true,
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
	.probe = sim_probe,
	BR_PLATFORM_REMOVE(sim_remove),
};

struct platform_device *sim_device_create(struct sim_instance *inst,
					  const struct sim_config *cfg)
{
	struct sim_pdata pd = { .inst = inst, .cfg = *cfg };
	struct platform_device_info info = {
		.name = SIM_DRV_NAME,
		.id = PLATFORM_DEVID_AUTO,
		.data = &pd,
		.size_data = sizeof(pd),
	};
	struct platform_device *pdev;
	struct sim_pdata *bound;
	int ret;

	pdev = platform_device_register_full(&info);
	if (IS_ERR(pdev))
		return pdev;
	if (platform_get_drvdata(pdev))
		return pdev;

	/* The probe failed (or did not run): report why, undo. */
	bound = dev_get_platdata(&pdev->dev);
	ret = bound->probe_err ?: -ENODEV;
	platform_device_unregister(pdev);
	return ERR_PTR(ret);
}

void sim_device_destroy(struct platform_device *pdev)
{
	platform_device_unregister(pdev);
}

const char *sim_device_child_name(struct platform_device *pdev)
{
	struct sim_dev *sd = platform_get_drvdata(pdev);

	return sd && sd->child ? dev_name(&sd->child->dev) : "";
}

static int __init sim_init(void)
{
	int ret;

	/* Without debugfs the devices simply have no test files. */
	sim_debugfs_root = debugfs_create_dir(SIM_DRV_NAME, NULL);
	ret = platform_driver_register(&sim_driver);
	if (ret)
		goto err_debugfs;
	ret = sim_configfs_init();
	if (ret)
		goto err_driver;
	return 0;

err_driver:
	platform_driver_unregister(&sim_driver);
err_debugfs:
	debugfs_remove_recursive(sim_debugfs_root);
	return ret;
}

static void __exit sim_exit(void)
{
	/* configfs pins the module while instances exist: none are left. */
	sim_configfs_exit();
	platform_driver_unregister(&sim_driver);
	debugfs_remove_recursive(sim_debugfs_root);
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated bioreader biometric reader");
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The bioreader developers");
MODULE_VERSION("1.0");
