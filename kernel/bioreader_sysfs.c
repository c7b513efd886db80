// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysfs of a reader, on its class device:
 *
 *   /sys/class/bioreader/bioreaderN/state         idle | busy
 *   /sys/class/bioreader/bioreaderN/stats/<name>  counters since probe
 *                                                 or RESET_STATS
 *
 * Counts only: nothing here says anything about a person.
 */
#include <linux/device.h>
#include <linux/stddef.h>
#include <linux/stringify.h>
#include <linux/sysfs.h>

#include "bioreader.h"

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct bioreader *br = to_bioreader(dev);
	bool busy;

	mutex_lock(&br->lock);
	busy = br->state == BR_STATE_RUNNING;
	mutex_unlock(&br->lock);
	return sysfs_emit(buf, "%s\n", busy ? "busy" : "idle");
}
static DEVICE_ATTR_RO(state);

static struct attribute *br_attrs[] = {
	&dev_attr_state.attr,
	NULL
};

static const struct attribute_group br_group = {
	.attrs = br_attrs,
};

struct br_stat_attr {
	struct device_attribute attr;
	size_t offset;
};

static ssize_t br_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct br_stat_attr *sa = container_of(attr, struct br_stat_attr, attr);
	struct bioreader *br = to_bioreader(dev);
	u64 val;

	mutex_lock(&br->lock);
	if (sa->offset == offsetof(struct br_stats, frames_dropped))
		br_hw_sync_dropped(br);
	val = *(u64 *)((u8 *)&br->stats + sa->offset);
	mutex_unlock(&br->lock);
	return sysfs_emit(buf, "%llu\n", val);
}

#define BR_STAT(_name)							\
	static struct br_stat_attr br_stat_##_name = {			\
		.attr = {						\
			.attr = { .name = __stringify(_name), .mode = 0444 }, \
			.show = br_stat_show,				\
		},							\
		.offset = offsetof(struct br_stats, _name),		\
	}

BR_STAT(sessions);
BR_STAT(match);
BR_STAT(no_match);
BR_STAT(attack);
BR_STAT(inconclusive);
BR_STAT(timeout);
BR_STAT(aborted);
BR_STAT(frames_received);
BR_STAT(frames_rejected);
BR_STAT(frames_dropped);
BR_STAT(dma_errors);
BR_STAT(overflows);
BR_STAT(lockouts);

static struct attribute *br_stats_attrs[] = {
	&br_stat_sessions.attr.attr,
	&br_stat_match.attr.attr,
	&br_stat_no_match.attr.attr,
	&br_stat_attack.attr.attr,
	&br_stat_inconclusive.attr.attr,
	&br_stat_timeout.attr.attr,
	&br_stat_aborted.attr.attr,
	&br_stat_frames_received.attr.attr,
	&br_stat_frames_rejected.attr.attr,
	&br_stat_frames_dropped.attr.attr,
	&br_stat_dma_errors.attr.attr,
	&br_stat_overflows.attr.attr,
	&br_stat_lockouts.attr.attr,
	NULL
};

static const struct attribute_group br_stats_group = {
	.name = "stats",
	.attrs = br_stats_attrs,
};

const struct attribute_group *br_groups[] = {
	&br_group,
	&br_stats_group,
	NULL
};
