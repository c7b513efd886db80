// SPDX-License-Identifier: GPL-2.0-only
/*
 * Discovery and device information: configfs instance attributes, the
 * platform device and the class device in sysfs, /dev/bioreaderN, and
 * GET_INFO reporting the simulated hardware as configured.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/brvm_test.h"

static int attr(const struct brvm_sim *s, const char *name, char *buf,
		size_t cap)
{
	char path[256];

	snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/%s", s->name, name);
	return brvm_read_file(path, buf, cap);
}

int main(void)
{
	char buf[128], path[256], real[PATH_MAX], preal[PATH_MAX];
	struct bioreader_info info;
	struct brvm_sim s, t;
	unsigned int n;
	int fd, ok, ret;

	ktap_plan(19);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "info", 0, 0, 0))
		return brvm_bail("no simulated reader");
	ktap_diag("instance %s: %s -> %s", s.name, s.dev_name, s.node);

	/* 1-4: configfs */
	KTAP_CASE("configfs") {
		ok = attr(&s, "width", buf, sizeof(buf)) == 0 &&
		     atoi(buf) == BRVM_WIDTH;
		ok = ok && attr(&s, "height", buf, sizeof(buf)) == 0 &&
		     atoi(buf) == BRVM_HEIGHT;
		ok = ok && attr(&s, "fps", buf, sizeof(buf)) == 0 &&
		     atoi(buf) == BRVM_FPS;
		ok = ok && attr(&s, "emb_dim", buf, sizeof(buf)) == 0 &&
		     atoi(buf) == BRVM_EMB_DIM;
		ktap_check(ok, "configfs attributes read back");
		ok = attr(&s, "scene", buf, sizeof(buf)) == 0 && !strcmp(buf, "empty");
		ktap_check(ok, "default scene is 'empty'");
		ok = attr(&s, "live", buf, sizeof(buf)) == 0 && atoi(buf) == 1;
		ktap_check(ok, "live reads 1");
		ktap_check(sscanf(s.dev_name, "bioreader.%u", &n) == 1,
			   "dev_name is bioreader.N");
	}

	/* 5-6: geometry is fixed while live; scene is not */
	KTAP_CASE("geometry is fixed while live; scene is not") {
		snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s/width", s.name);
		ret = brvm_write_file(path, "64");
		ktap_check(ret == -1, "width not writable while live");
		ktap_check(brvm_sim_scene(&s, "person 42") == 0 &&
			   attr(&s, "scene", buf, sizeof(buf)) == 0 &&
			   !strcmp(buf, "person 42"),
			   "scene writable while live, reads back");
	}

	/* 7-9: sysfs */
	KTAP_CASE("sysfs") {
		snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/bioreader/bioreader%d",
			 s.dev_name, s.index);
		ktap_check(access(path, F_OK) == 0,
			   "platform device has bioreader/bioreaderN");
		snprintf(path, sizeof(path), "%s/device", s.cls);
		snprintf(buf, sizeof(buf), "/sys/bus/platform/devices/%s", s.dev_name);
		ok = realpath(path, real) && realpath(buf, preal) &&
		     !strcmp(real, preal);
		ktap_check(ok, "class device's parent is the platform device");
		snprintf(path, sizeof(path), "%s/device/driver", s.cls);
		ok = realpath(path, real) && strstr(real, "/drivers/bioreader");
		ktap_check(ok, "bound to the platform driver 'bioreader'");
	}

	/* 10-15: GET_INFO */
	KTAP_CASE("GET_INFO") {
		fd = brvm_open(&s);
		ktap_check(fd >= 0 && brvm_info(fd, &info) == 0, "GET_INFO");
		ktap_check(info.api_version == BIOREADER_API_VERSION &&
			   info.reader_index == (uint32_t)s.index &&
			   info.hw_version >> 16 == 2,
			   "api version, reader index, hardware major version");
		ktap_check(info.width == BRVM_WIDTH && info.height == BRVM_HEIGHT &&
			   info.fps == BRVM_FPS && info.emb_dim == BRVM_EMB_DIM,
			   "geometry, fps and embedding size as configured");
		ok = (info.caps & BIOREADER_CAP_EMBEDDING) &&
		     (info.caps & BIOREADER_CAP_FRAME_MAC) &&
		     (info.caps & BIOREADER_CAP_DUAL_NIR) &&
		     (info.caps & BIOREADER_CAP_DEPTH) &&
		     (info.caps & BIOREADER_CAP_ILLUMINATION);
		ktap_diag("caps %#x features %#x", info.caps, info.features);
		ktap_check(ok, "caps: dual NIR, depth, embedding, illumination, MAC");
		ktap_check(info.template_format == BIOREADER_TEMPLATE_FMT_INT8_L2 &&
			   info.template_max == BIOREADER_TEMPLATE_MAX &&
			   info.pad0 == 0,
			   "template format and size limit");
		ktap_check(info.state == BIOREADER_STATE_IDLE &&
			   (info.features & BIOREADER_FEAT_LIVENESS),
			   "idle; liveness feature claimed");
		if (fd >= 0)
			close(fd);
	}

	/* 16-18: another geometry */
	KTAP_CASE("another geometry") {
		ok = brvm_sim_create(&t, "info-small", 64, 48, 15) == 0;
		fd = ok ? brvm_open(&t) : -1;
		ok = fd >= 0 && brvm_info(fd, &info) == 0 && info.width == 64 &&
		     info.height == 48 && info.fps == 15;
		ktap_check(ok, "a 64x48 15 fps instance reports its geometry");
		ktap_check(t.index != s.index, "second reader, second index");
		if (fd >= 0) {
			struct bioreader_verdict v;

			brvm_sim_person(&t, 5);
			/* A face too small for liveness ends INCONCLUSIVE. */
			ok = brvm_run_session(fd, 5, 5000, &v) == 0 &&
			     (v.outcome == BIOREADER_OUTCOME_MATCH ||
			      v.outcome == BIOREADER_OUTCOME_INCONCLUSIVE);
			close(fd);
		}
		ktap_check(ok, "the small reader decides (MATCH or INCONCLUSIVE)");
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	/* 19 */
	ktap_check(brvm_sim_destroy(&t) == 0 && brvm_sim_destroy(&s) == 0,
		   "instances removed");
	return ktap_finish();
}
