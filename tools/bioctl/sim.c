// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioctl sim: simulated readers through configfs
 * (/sys/kernel/config/bioreader_sim/NAME).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bioctl.h"
#include "sim/sim_scene.h"

static int check_configfs(void)
{
	if (access(BIOCTL_CONFIGFS, F_OK) == 0)
		return 0;
	err_msg("%s is missing: load the simulator (modprobe bioreader_sim) and mount configfs on /sys/kernel/config",
		BIOCTL_CONFIGFS);
	return -1;
}

static int valid_name(const char *name)
{
	if (!*name || strlen(name) > 64 || name[0] == '.')
		return 0;
	for (; *name; name++)
		if (*name == '/' || *name <= ' ' || *name > '~')
			return 0;
	return 1;
}

static int attr_path(char *buf, size_t cap, const char *name,
		     const char *attr)
{
	return snprintf(buf, cap, BIOCTL_CONFIGFS "/%s/%s", name, attr);
}

static int set_attr(const char *name, const char *attr, const char *val)
{
	char path[512];

	attr_path(path, sizeof(path), name, attr);
	if (write_text(path, val)) {
		err_errno("%s: setting %s to '%s'", name, attr, val);
		return -1;
	}
	return 0;
}

static void get_attr(const char *name, const char *attr, char *val,
		     size_t cap)
{
	char path[512];

	attr_path(path, sizeof(path), name, attr);
	if (read_text(path, val, cap))
		snprintf(val, cap, "?");
}

/* /dev node of a live instance, waiting briefly for it; 0 or -1. */
static int find_node(const char *name, char *node, size_t cap,
		     char *dev_name, size_t dcap)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char path[600];
	struct dirent *de;
	int i, idx = -1;
	DIR *d;

	for (i = 0; i < 250 && idx < 0; i++) {
		get_attr(name, "dev_name", dev_name, dcap);
		if (dev_name[0] && strcmp(dev_name, "?")) {
			snprintf(path, sizeof(path),
				 "/sys/bus/platform/devices/%s/bioreader",
				 dev_name);
			d = opendir(path);
			if (d) {
				while ((de = readdir(d)))
					if (sscanf(de->d_name, "bioreader%d",
						   &idx) == 1)
						break;
				closedir(d);
			}
		}
		if (idx < 0)
			nanosleep(&ts, NULL);
	}
	if (idx < 0)
		return -1;
	snprintf(node, cap, "/dev/bioreader%d", idx);
	for (i = 0; i < 250 && access(node, F_OK); i++)
		nanosleep(&ts, NULL);
	return access(node, F_OK);
}

static int sim_new(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "width", required_argument, NULL, 'w' },
		{ "height", required_argument, NULL, 'h' },
		{ "fps", required_argument, NULL, 'f' },
		{ "emb-dim", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *attrs[4] = { NULL, NULL, NULL, NULL };
	static const char *const names[4] = {
		"width", "height", "fps", "emb_dim",
	};
	char path[512], node[64], dev_name[64];
	const char *name;
	uint64_t v;
	int c, i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w': i = 0; break;
		case 'h': i = 1; break;
		case 'f': i = 2; break;
		case 'e': i = 3; break;
		default: return BX_USAGE;
		}
		if (parse_u64(optarg, 1, 65535, &v)) {
			err_msg("sim new: bad %s '%s'", names[i], optarg);
			return BX_USAGE;
		}
		attrs[i] = optarg;
	}
	if (optind + 1 != argc) {
		err_msg("usage: bioctl sim new NAME [--width W] [--height H] [--fps F] [--emb-dim D]");
		return BX_USAGE;
	}
	name = argv[optind];
	if (!valid_name(name)) {
		err_msg("sim new: bad instance name '%s'", name);
		return BX_USAGE;
	}
	if (check_configfs())
		return BX_ERROR;
	snprintf(path, sizeof(path), BIOCTL_CONFIGFS "/%s", name);
	if (mkdir(path, 0755)) {
		err_errno("cannot create simulated reader %s", name);
		return BX_ERROR;
	}
	for (i = 0; i < 4; i++)
		if (attrs[i] && set_attr(name, names[i], attrs[i]))
			goto undo;
	if (set_attr(name, "live", "1"))
		goto undo;
	if (find_node(name, node, sizeof(node), dev_name, sizeof(dev_name))) {
		err_msg("simulated reader %s is live (%s) but no reader node appeared; is bioreader loaded?",
			name, dev_name);
		return BX_ERROR;
	}
	printf("simulated reader %s: device %s, node %s\n", name, dev_name,
	       node);
	return 0;
undo:
	rmdir(path);
	return BX_ERROR;
}

static int sim_del(int argc, char **argv)
{
	char path[512], live[16];

	if (argc != 2) {
		err_msg("usage: bioctl sim del NAME");
		return BX_USAGE;
	}
	if (!valid_name(argv[1])) {
		err_msg("sim del: bad instance name '%s'", argv[1]);
		return BX_USAGE;
	}
	if (check_configfs())
		return BX_ERROR;
	snprintf(path, sizeof(path), BIOCTL_CONFIGFS "/%s", argv[1]);
	if (access(path, F_OK)) {
		err_errno("simulated reader %s", argv[1]);
		return BX_ERROR;
	}
	get_attr(argv[1], "live", live, sizeof(live));
	if (!strcmp(live, "1") && set_attr(argv[1], "live", "0"))
		return BX_ERROR;
	if (rmdir(path)) {
		err_errno("cannot remove simulated reader %s", argv[1]);
		return BX_ERROR;
	}
	printf("simulated reader %s removed\n", argv[1]);
	return 0;
}

static int sim_scene(int argc, char **argv)
{
	if (argc != 3) {
		err_msg("usage: bioctl sim scene NAME \"empty\" | \"person|print|replay|mask ID [OPTIONS]\"");
		return BX_USAGE;
	}
	if (!valid_name(argv[1])) {
		err_msg("sim scene: bad instance name '%s'", argv[1]);
		return BX_USAGE;
	}
	if (check_configfs())
		return BX_ERROR;
	if (set_attr(argv[1], "scene", argv[2]))
		return BX_ERROR;
	printf("simulated reader %s: scene '%s'\n", argv[1], argv[2]);
	return 0;
}

static int sim_list(int argc, char **argv)
{
	char live[16], dev_name[64], w[16], h[16], fps[16];
	char scene[SIM_SCENE_TEXT_MAX + 1];
	char node[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	(void)argv;
	if (argc != 1) {
		err_msg("usage: bioctl sim list");
		return BX_USAGE;
	}
	if (check_configfs())
		return BX_ERROR;
	d = opendir(BIOCTL_CONFIGFS);
	if (!d) {
		err_errno("%s", BIOCTL_CONFIGFS);
		return BX_ERROR;
	}
	printf("%-16s %-4s %-18s %-16s %-14s %s\n", "NAME", "LIVE", "DEVICE",
	       "NODE", "GEOMETRY", "SCENE");
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		get_attr(de->d_name, "live", live, sizeof(live));
		get_attr(de->d_name, "dev_name", dev_name, sizeof(dev_name));
		get_attr(de->d_name, "width", w, sizeof(w));
		get_attr(de->d_name, "height", h, sizeof(h));
		get_attr(de->d_name, "fps", fps, sizeof(fps));
		get_attr(de->d_name, "scene", scene, sizeof(scene));
		node[0] = 0;
		if (!strcmp(live, "1") &&
		    find_node(de->d_name, node, sizeof(node), dev_name,
			      sizeof(dev_name)))
			snprintf(node, sizeof(node), "-");
		printf("%-16s %-4s %-18s %-16s %sx%s@%s %s\n", de->d_name,
		       strcmp(live, "1") ? "no" : "yes",
		       dev_name[0] ? dev_name : "-", node[0] ? node : "-", w,
		       h, fps, scene);
		n++;
	}
	closedir(d);
	if (!n)
		printf("(no simulated readers)\n");
	return 0;
}

int cmd_sim(int argc, char **argv)
{
	if (argc < 2) {
		err_msg("usage: bioctl sim new|del|scene|list ...");
		return BX_USAGE;
	}
	if (!strcmp(argv[1], "new"))
		return sim_new(argc - 1, argv + 1);
	if (!strcmp(argv[1], "del"))
		return sim_del(argc - 1, argv + 1);
	if (!strcmp(argv[1], "scene"))
		return sim_scene(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return sim_list(argc - 1, argv + 1);
	err_msg("sim: unknown subcommand '%s'", argv[1]);
	return BX_USAGE;
}
