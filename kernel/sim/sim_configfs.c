// SPDX-License-Identifier: GPL-2.0-only
/*
 * configfs interface of the simulated reader, like gpio-sim's:
 *
 *   mkdir /sys/kernel/config/bioreader_sim/NAME      new instance
 *   echo 640 > .../NAME/width                         while not live
 *   echo "person 42" > .../NAME/scene                 any time
 *   echo 1 > .../NAME/live                            create the devices
 *   cat .../NAME/dev_name                             "bioreader.N"
 *   echo 0 > .../NAME/live                            remove them
 *   rmdir .../NAME                                    (removes a live one)
 *
 * Attributes: width, height, fps, emb_dim, seed (fixed while live);
 * scene; live; dev_name (read-only).  configfs is the simulator's
 * configuration interface and holds nothing else: the test features
 * (fault injection, session capture) are in debugfs, per live device
 * (sim_main.c).
 */
#include <linux/configfs.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "sim.h"

#define SIM_DEFAULT_WIDTH	320
#define SIM_DEFAULT_HEIGHT	240
#define SIM_DEFAULT_FPS		30
#define SIM_DEFAULT_EMB_DIM	128

struct sim_instance {
	struct config_item item;

	/*
	 * @lock serialises the attributes' stores and live transitions:
	 * @cfg may change only while @pdev is NULL (not live).
	 */
	struct mutex lock;
	struct sim_config cfg;
	struct platform_device *pdev;	/* "bioreader-sim" while live */
	char dev_name[32];		/* the child's name while live */

	/* @scene_lock: the scene is read by the frame engine per frame. */
	spinlock_t scene_lock;
	struct sim_scene scene;
};

static struct sim_instance *to_sim_instance(struct config_item *item)
{
	return container_of(item, struct sim_instance, item);
}

void sim_instance_scene(struct sim_instance *inst, struct sim_scene *out)
{
	spin_lock(&inst->scene_lock);
	*out = inst->scene;
	spin_unlock(&inst->scene_lock);
}

/* Take the devices down; @inst->lock held. */
static void sim_instance_unlive(struct sim_instance *inst)
{
	if (!inst->pdev)
		return;
	sim_device_destroy(inst->pdev);
	inst->pdev = NULL;
	inst->dev_name[0] = '\0';
}

static ssize_t sim_u32_show(struct config_item *item, char *page,
			    size_t offset)
{
	struct sim_instance *inst = to_sim_instance(item);
	u32 val;

	mutex_lock(&inst->lock);
	val = *(u32 *)((char *)&inst->cfg + offset);
	mutex_unlock(&inst->lock);
	return sprintf(page, "%u\n", val);
}

static ssize_t sim_u32_store(struct config_item *item, const char *page,
			     size_t count, size_t offset, u32 min, u32 max)
{
	struct sim_instance *inst = to_sim_instance(item);
	ssize_t ret = count;
	u32 val;

	if (kstrtou32(page, 0, &val))
		return -EINVAL;
	if (val < min || val > max)
		return -ERANGE;
	mutex_lock(&inst->lock);
	if (inst->pdev)
		ret = -EBUSY;
	else
		*(u32 *)((char *)&inst->cfg + offset) = val;
	mutex_unlock(&inst->lock);
	return ret;
}

static ssize_t sim_width_show(struct config_item *item, char *page)
{
	return sim_u32_show(item, page, offsetof(struct sim_config, width));
}

static ssize_t sim_width_store(struct config_item *item, const char *page,
			       size_t count)
{
	return sim_u32_store(item, page, count,
			     offsetof(struct sim_config, width),
			     SIM_WIDTH_MIN, SIM_WIDTH_MAX);
}

CONFIGFS_ATTR(sim_, width);

static ssize_t sim_height_show(struct config_item *item, char *page)
{
	return sim_u32_show(item, page, offsetof(struct sim_config, height));
}

static ssize_t sim_height_store(struct config_item *item, const char *page,
				size_t count)
{
	return sim_u32_store(item, page, count,
			     offsetof(struct sim_config, height),
			     SIM_HEIGHT_MIN, SIM_HEIGHT_MAX);
}

CONFIGFS_ATTR(sim_, height);

static ssize_t sim_fps_show(struct config_item *item, char *page)
{
	return sim_u32_show(item, page, offsetof(struct sim_config, fps));
}

static ssize_t sim_fps_store(struct config_item *item, const char *page,
			     size_t count)
{
	return sim_u32_store(item, page, count,
			     offsetof(struct sim_config, fps),
			     BRHW_FPS_MIN, BRHW_FPS_MAX);
}

CONFIGFS_ATTR(sim_, fps);

static ssize_t sim_emb_dim_show(struct config_item *item, char *page)
{
	return sim_u32_show(item, page, offsetof(struct sim_config, emb_dim));
}

static ssize_t sim_emb_dim_store(struct config_item *item, const char *page,
				 size_t count)
{
	return sim_u32_store(item, page, count,
			     offsetof(struct sim_config, emb_dim),
			     1, BRHW_EMB_MAX);
}

CONFIGFS_ATTR(sim_, emb_dim);

static ssize_t sim_seed_show(struct config_item *item, char *page)
{
	struct sim_instance *inst = to_sim_instance(item);
	u64 seed;

	mutex_lock(&inst->lock);
	seed = inst->cfg.seed;
	mutex_unlock(&inst->lock);
	return sprintf(page, "%llu\n", seed);
}

static ssize_t sim_seed_store(struct config_item *item, const char *page,
			      size_t count)
{
	struct sim_instance *inst = to_sim_instance(item);
	ssize_t ret = count;
	u64 seed;

	if (kstrtou64(page, 0, &seed))
		return -EINVAL;
	mutex_lock(&inst->lock);
	if (inst->pdev)
		ret = -EBUSY;
	else
		inst->cfg.seed = seed;
	mutex_unlock(&inst->lock);
	return ret;
}

CONFIGFS_ATTR(sim_, seed);

static ssize_t sim_scene_show(struct config_item *item, char *page)
{
	struct sim_instance *inst = to_sim_instance(item);
	struct sim_scene scene;

	sim_instance_scene(inst, &scene);
	return sim_scene_print(&scene, page, PAGE_SIZE);
}

static ssize_t sim_scene_store(struct config_item *item, const char *page,
			       size_t count)
{
	struct sim_instance *inst = to_sim_instance(item);
	struct sim_scene scene;
	int ret;

	ret = sim_scene_parse(&scene, page, count);
	if (ret)
		return ret;
	spin_lock(&inst->scene_lock);
	inst->scene = scene;
	spin_unlock(&inst->scene_lock);
	return count;
}

CONFIGFS_ATTR(sim_, scene);

static ssize_t sim_live_show(struct config_item *item, char *page)
{
	struct sim_instance *inst = to_sim_instance(item);
	bool live;

	mutex_lock(&inst->lock);
	live = inst->pdev;
	mutex_unlock(&inst->lock);
	return sprintf(page, "%d\n", live);
}

static ssize_t sim_live_store(struct config_item *item, const char *page,
			      size_t count)
{
	struct sim_instance *inst = to_sim_instance(item);
	struct platform_device *pdev;
	ssize_t ret = count;
	bool live;

	if (kstrtobool(page, &live))
		return -EINVAL;

	mutex_lock(&inst->lock);
	if (live && !inst->pdev) {
		pdev = sim_device_create(inst, &inst->cfg);
		if (IS_ERR(pdev)) {
			ret = PTR_ERR(pdev);
		} else {
			inst->pdev = pdev;
			strscpy(inst->dev_name, sim_device_child_name(pdev),
				sizeof(inst->dev_name));
		}
	} else if (!live) {
		sim_instance_unlive(inst);
	}
	mutex_unlock(&inst->lock);
	return ret;
}

CONFIGFS_ATTR(sim_, live);

static ssize_t sim_dev_name_show(struct config_item *item, char *page)
{
	struct sim_instance *inst = to_sim_instance(item);
	ssize_t ret;

	mutex_lock(&inst->lock);
	ret = sprintf(page, "%s\n", inst->dev_name);
	mutex_unlock(&inst->lock);
	return ret;
}

CONFIGFS_ATTR_RO(sim_, dev_name);

static struct configfs_attribute *sim_instance_attrs[] = {
	&sim_attr_width,
	&sim_attr_height,
	&sim_attr_fps,
	&sim_attr_emb_dim,
	&sim_attr_seed,
	&sim_attr_scene,
	&sim_attr_live,
	&sim_attr_dev_name,
	NULL,
};

static void sim_instance_release(struct config_item *item)
{
	struct sim_instance *inst = to_sim_instance(item);

	mutex_destroy(&inst->lock);
	kfree(inst);
}

static struct configfs_item_operations sim_instance_item_ops = {
	.release = sim_instance_release,
};

static const struct config_item_type sim_instance_type = {
	.ct_item_ops = &sim_instance_item_ops,
	.ct_attrs = sim_instance_attrs,
	.ct_owner = THIS_MODULE,
};

/* FNV-1a of the instance name: distinct default noise per instance. */
static u64 sim_name_seed(const char *name)
{
	u64 h = 0xcbf29ce484222325ULL;

	while (*name) {
		h ^= (u8)*name++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct config_item *sim_make_item(struct config_group *group,
					 const char *name)
{
	struct sim_instance *inst;

	inst = kzalloc(sizeof(*inst), GFP_KERNEL);
	if (!inst)
		return ERR_PTR(-ENOMEM);
	mutex_init(&inst->lock);
	spin_lock_init(&inst->scene_lock);
	inst->cfg.width = SIM_DEFAULT_WIDTH;
	inst->cfg.height = SIM_DEFAULT_HEIGHT;
	inst->cfg.fps = SIM_DEFAULT_FPS;
	inst->cfg.emb_dim = SIM_DEFAULT_EMB_DIM;
	inst->cfg.seed = sim_name_seed(name);
	inst->scene.kind = SIM_SCENE_EMPTY;
	config_item_init_type_name(&inst->item, name, &sim_instance_type);
	return &inst->item;
}

/* rmdir: a live instance goes down first. */
static void sim_drop_item(struct config_group *group, struct config_item *item)
{
	struct sim_instance *inst = to_sim_instance(item);

	mutex_lock(&inst->lock);
	sim_instance_unlive(inst);
	mutex_unlock(&inst->lock);
	config_item_put(item);
}

static struct configfs_group_operations sim_group_ops = {
	.make_item = sim_make_item,
	.drop_item = sim_drop_item,
};

static const struct config_item_type sim_subsys_type = {
	.ct_group_ops = &sim_group_ops,
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem sim_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "bioreader_sim",
			.ci_type = &sim_subsys_type,
		},
	},
};

int sim_configfs_init(void)
{
	config_group_init(&sim_subsys.su_group);
	mutex_init(&sim_subsys.su_mutex);
	return configfs_register_subsystem(&sim_subsys);
}

void sim_configfs_exit(void)
{
	configfs_unregister_subsystem(&sim_subsys);
	mutex_destroy(&sim_subsys.su_mutex);
}
