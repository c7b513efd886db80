// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dropping to an unprivileged user and confining the process
 * (sandbox.h).  The order matters: groups first (setresgid needs the
 * privileges that setresuid gives up), then the uids, then a check that
 * none of it can be undone; no_new_privs and not dumpable last, since
 * changing uid resets the dumpable flag.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

int sbx_check_dropped(uid_t uid, gid_t gid, char *err, size_t errcap)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid ||
	    setuid(0) == 0) {
		snprintf(err, errcap, "privileges not dropped");
		return -EPERM;
	}
	return 0;
}

int sbx_confine_self(char *err, size_t errcap)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		snprintf(err, errcap, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		snprintf(err, errcap, "PR_SET_DUMPABLE: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int sbx_drop_to_user(const char *user, const char *who, char *err, size_t errcap)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	int r;

	if (geteuid() != 0) {
		if (getuid() == 0) {
			snprintf(err, errcap, "a set-user-ID root start is not supported");
			return -EPERM;
		}
		/* already unprivileged: stay who we are */
		return sbx_confine_self(err, errcap);
	}
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errcap, "--user %s: no such user", user);
		return -ENOENT;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0) {
		snprintf(err, errcap, "--user %s: %s does not run as root", user, who);
		return -EPERM;
	}
	if (initgroups(user, gid) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		snprintf(err, errcap, "dropping to %s (uid %u gid %u): %s", user,
			 (unsigned int)uid, (unsigned int)gid, strerror(errno));
		return -errno;
	}
	r = sbx_check_dropped(uid, gid, err, errcap);
	return r ? r : sbx_confine_self(err, errcap);
}
