/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one place where the modules adapt to the kernel they are built
 * against.  Supported: Debian 12's 6.1 and Debian's 6.12 (also its
 * PREEMPT_RT flavour); docs/install.md.
 *
 * Rules: every shim is keyed on the kernel version only (BR_KERNEL_GE,
 * that is LINUX_VERSION_CODE: never on a config option or on whether a
 * symbol happens to be defined) and names the release and the upstream
 * commit (by subject) that made it necessary; the code elsewhere uses
 * the shim and never tests a version itself.  When the oldest supported
 * kernel has the new interface, the shim goes and its users call the
 * kernel directly.  This is the one file checkpatch runs on without its
 * LINUX_VERSION_CODE warning, which is meant for code merged upstream
 * (Makefile, checkpatch).
 *
 * No shim is needed for:
 *   - .llseek = no_llseek: 6.0 ("fs: remove no_llseek") made a NULL
 *     ->llseek mean "not seekable" (-ESPIPE) and no_llseek a NULL alias;
 *     6.12 ("[tree-wide] finally take no_llseek out") removed the alias.
 *     File operations simply leave ->llseek NULL.
 */
#ifndef _BIOREADER_COMPAT_H
#define _BIOREADER_COMPAT_H

#include <linux/device.h>
#include <linux/platform_device.h>
#include <linux/version.h>

/* The headers built against are of release @major.@minor or later. */
#define BR_KERNEL_GE(major, minor) \
	(KERNEL_VERSION(major, minor, 0) <= LINUX_VERSION_CODE)

/*
 * 6.4, "driver core: class: remove module * from class_create()": the
 * owner argument is gone.
 */
#if BR_KERNEL_GE(6, 4)
#define br_class_create(name)	class_create(name)
#else
#define br_class_create(name)	class_create(THIS_MODULE, name)
#endif

/*
 * 6.11, "platform: Make platform_driver::remove() return void": .remove
 * takes the void callback.  Before, a void callback goes to .remove_new
 * ("platform: Provide a remove callback that returns no value", in
 * Debian's 6.1 through the 6.1 stable series).  Usage, in a struct
 * platform_driver initialiser: BR_PLATFORM_REMOVE(fn), with
 * void fn(struct platform_device *).
 */
#if BR_KERNEL_GE(6, 11)
#define BR_PLATFORM_REMOVE(fn)	.remove = (fn)
#else
#define BR_PLATFORM_REMOVE(fn)	.remove_new = (fn)
#endif

/*
 * 6.12, "move asm/unaligned.h to linux/unaligned.h": include this header
 * instead of either for get_unaligned_le32() and friends.
 */
#if BR_KERNEL_GE(6, 12)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#endif /* _BIOREADER_COMPAT_H */
