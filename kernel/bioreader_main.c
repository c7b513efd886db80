// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioreader - identity-verification biometric reader driver.
 *
 * Module entry points: the "bioreader" class, the char device region
 * for /dev/bioreaderN, and the platform driver that binds readers.
 */
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/module.h>

#include "bioreader.h"

struct class *br_class;
dev_t br_devt;

static int __init br_init(void)
{
	int ret;

	ret = br_session_init();
	if (ret)
		return ret;

	ret = br_audit_init();
	if (ret)
		return ret;

	ret = alloc_chrdev_region(&br_devt, 0, BR_MAX_READERS, BR_DRV_NAME);
	if (ret)
		goto err_audit;

	br_class = br_class_create(BR_DRV_NAME);
	if (IS_ERR(br_class)) {
		ret = PTR_ERR(br_class);
		goto err_region;
	}

	ret = br_platform_register();
	if (ret)
		goto err_class;
	return 0;

err_class:
	class_destroy(br_class);
err_region:
	unregister_chrdev_region(br_devt, BR_MAX_READERS);
err_audit:
	br_audit_exit();
	return ret;
}

/*
 * Open files pin the module (fops.owner), so by the time we get here
 * every file is closed.  Unregistering the driver unbinds every reader:
 * remove() ends any session and wipes every buffer.
 */
static void __exit br_exit(void)
{
	br_platform_unregister();
	class_destroy(br_class);
	unregister_chrdev_region(br_devt, BR_MAX_READERS);
	br_audit_exit();
}

module_init(br_init);
module_exit(br_exit);

MODULE_DESCRIPTION("Identity-verification biometric reader (verdicts only)");
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The bioreader developers");
MODULE_VERSION("1.0");
