/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A test's temporary directory, removed with everything in it when the
 * test exits (also when a ktap_require() ends it early), so that keys
 * and documents made for the test do not stay behind.
 */
#ifndef _BIOREADER_TEST_TMPDIR_H
#define _BIOREADER_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The one directory this test removes at exit (set by tmpdir_make()). */
static const char *tmpdir_path;

static int tmpdir_rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void tmpdir_cleanup(void)
{
	if (tmpdir_path)
		nftw(tmpdir_path, tmpdir_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp(tmpl), removed at exit; tmpl, or NULL when it could not be
 * made.  Once per program. */
static inline char *tmpdir_make(char *tmpl)
{
	if (!mkdtemp(tmpl))
		return NULL;
	tmpdir_path = tmpl;
	atexit(tmpdir_cleanup);
	return tmpl;
}

#endif /* _BIOREADER_TEST_TMPDIR_H */
