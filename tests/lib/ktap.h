/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Minimal KTAP v1 producer for the unit and VM test programs.
 *
 *	ktap_plan(3);
 *	ktap_check(cond, "name");		// ok / not ok
 *	ktap_expect_errno(ret, EINVAL, "name");	// ret == -1 && errno == E
 *	return ktap_finish();			// exit status: 0 = all ok
 *
 * A test that finds a precondition missing says so with ktap_skip(); a
 * skip is neither a pass nor a failure.  Diagnostics go to stdout as "#"
 * lines so that they stay next to the result they explain.
 */
#ifndef _BIOREADER_KTAP_H
#define _BIOREADER_KTAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ktap_planned, ktap_num, ktap_failed, ktap_passed, ktap_skipped;

static inline void ktap_plan(int n)
{
	ktap_planned = n;
	printf("KTAP version 1\n1..%d\n", n);
	fflush(stdout);
}

static inline void ktap_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void ktap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline int ktap_check(int cond, const char *name)
{
	ktap_num++;
	if (cond)
		ktap_passed++;
	else
		ktap_failed++;
	printf("%sok %d %s\n", cond ? "" : "not ", ktap_num, name);
	fflush(stdout);
	return cond;
}

static inline void ktap_skip(const char *name, const char *why)
{
	ktap_num++;
	ktap_skipped++;
	printf("ok %d %s # SKIP %s\n", ktap_num, name, why);
	fflush(stdout);
}

/* A call that must fail with -1 and errno @err. */
static inline int ktap_expect_errno(long ret, int err, const char *name)
{
	int saved = errno;
	int ok = ret == -1 && saved == err;

	if (!ok)
		ktap_diag("%s: got ret=%ld errno=%d (%s), want errno=%d (%s)",
			  name, ret, ret == -1 ? saved : 0,
			  ret == -1 ? strerror(saved) : "none", err,
			  strerror(err));
	return ktap_check(ok, name);
}

static inline int ktap_finish(void)
{
	if (ktap_num != ktap_planned) {
		ktap_diag("planned %d tests but ran %d", ktap_planned,
			  ktap_num);
		ktap_failed++;
	}
	ktap_diag("totals: pass:%d fail:%d skip:%d", ktap_passed,
		  ktap_failed, ktap_skipped);
	return ktap_failed ? 1 : 0;
}

#endif /* _BIOREADER_KTAP_H */
