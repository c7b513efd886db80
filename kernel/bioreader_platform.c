// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bus glue.  A reader is a platform device named "bioreader" (or a
 * device-tree node compatible with "bioreader,br1").  Its registers are
 * reached through a regmap:
 *
 *   - a board that maps the registers into memory gives the device a
 *     MEM resource: the driver maps it and uses regmap-mmio;
 *   - a device created by a parent that owns the register access (a
 *     multi-function parent, or the simulated reader) has no MEM
 *     resource; the parent registered a regmap on itself and the driver
 *     takes that one.
 *
 * Nothing past this file knows which of the two it is talking to.
 */
#include <linux/clk.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/regmap.h>
#include <linux/regulator/consumer.h>
#include <linux/reset.h>

#include "bioreader.h"

static const struct regmap_config br_mmio_regmap_config = {
	.name = "bioreader",
	.reg_bits = 32,
	.val_bits = 32,
	.reg_stride = 4,
	.max_register = BRHW_REG_LAST,
	.fast_io = true,
	.cache_type = REGCACHE_NONE,
};

static void br_platform_assert_reset(void *rst)
{
	reset_control_assert(rst);
}

/*
 * Power the reader up as the device tree binding describes it
 * (dts/bindings/bioreader,br1.yaml): the "core" and "pix" clocks, the
 * reset line and the illuminator's supply.  All are optional to the
 * driver, so a device without them (an ACPI or simulated one) probes the
 * same way; everything is released by devres in reverse order.
 */
static int br_platform_power_up(struct device *dev)
{
	struct reset_control *rst;
	struct clk *clk;
	int ret;

	clk = devm_clk_get_optional_enabled(dev, "core");
	if (IS_ERR(clk))
		return dev_err_probe(dev, PTR_ERR(clk), "core clock\n");
	clk = devm_clk_get_optional_enabled(dev, "pix");
	if (IS_ERR(clk))
		return dev_err_probe(dev, PTR_ERR(clk), "pixel clock\n");

	ret = devm_regulator_get_enable_optional(dev, "illuminator");
	if (ret && ret != -ENODEV)
		return dev_err_probe(dev, ret, "illuminator supply\n");

	rst = devm_reset_control_get_optional_exclusive(dev, NULL);
	if (IS_ERR(rst))
		return dev_err_probe(dev, PTR_ERR(rst), "reset line\n");
	if (rst) {
		ret = reset_control_deassert(rst);
		if (ret)
			return dev_err_probe(dev, ret, "cannot release reset\n");
		ret = devm_add_action_or_reset(dev, br_platform_assert_reset,
					       rst);
		if (ret)
			return ret;
	}
	return 0;
}

static int br_platform_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct regmap *map;
	void __iomem *base;
	int ret;

	ret = br_platform_power_up(dev);
	if (ret)
		return ret;

	if (platform_get_resource(pdev, IORESOURCE_MEM, 0)) {
		base = devm_platform_ioremap_resource(pdev, 0);
		if (IS_ERR(base))
			return PTR_ERR(base);
		map = devm_regmap_init_mmio(dev, base, &br_mmio_regmap_config);
		if (IS_ERR(map))
			return dev_err_probe(dev, PTR_ERR(map),
					     "cannot set up register access\n");
		dev_dbg(dev, "registers: memory mapped\n");
	} else {
		map = dev->parent ? dev_get_regmap(dev->parent, NULL) : NULL;
		if (!map) {
			dev_err(dev, "no registers: no MEM resource and no parent regmap\n");
			return -ENODEV;
		}
		dev_dbg(dev, "registers: regmap of %s\n", dev_name(dev->parent));
	}

	return br_reader_probe(pdev, map);
}

static void br_platform_remove(struct platform_device *pdev)
{
	br_reader_remove(platform_get_drvdata(pdev));
}

static const struct of_device_id br_of_match[] = {
	{ .compatible = "bioreader,br1" },
	{ }
};
MODULE_DEVICE_TABLE(of, br_of_match);

static const struct platform_device_id br_id_table[] = {
	{ .name = "bioreader" },
	{ }
};
MODULE_DEVICE_TABLE(platform, br_id_table);

static struct platform_driver br_platform_driver = {
	.driver = {
		.name = BR_DRV_NAME,
		.of_match_table = br_of_match,
	},
	.probe = br_platform_probe,
	BR_PLATFORM_REMOVE(br_platform_remove),
	.id_table = br_id_table,
};

int br_platform_register(void)
{
	return platform_driver_register(&br_platform_driver);
}

void br_platform_unregister(void)
{
	platform_driver_unregister(&br_platform_driver);
}
