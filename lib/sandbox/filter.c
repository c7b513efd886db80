// SPDX-License-Identifier: GPL-2.0-only
/*
 * Building and loading a daemon's seccomp allowlist with libseccomp
 * (sandbox.h).  The callers add their own rules between sbx_filter_new()
 * and sbx_filter_finish(), stopping at the first error; finish loads only
 * a filter that was built whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "sandbox/sandbox.h"

int sbx_filter_new(scmp_filter_ctx *ctx, bool tsync, char *err, size_t errcap)
{
	int r;

	*ctx = NULL;
	err[0] = 0;
	if (seccomp_arch_native() != SCMP_ARCH_X86_64 &&
	    seccomp_arch_native() != SCMP_ARCH_AARCH64) {
		snprintf(err, errcap, "seccomp: filter written for x86-64 and arm64 only");
		return -EOPNOTSUPP;
	}
	*ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!*ctx) {
		snprintf(err, errcap, "seccomp_init failed");
		return -ENOMEM;
	}
	r = seccomp_attr_set(*ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Every thread, or the load fails: none may stay unconfined. */
	if (!r && tsync)
		r = seccomp_attr_set(*ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r) {
		snprintf(err, errcap, "seccomp: building the filter: %s", strerror(-r));
		seccomp_release(*ctx);
		*ctx = NULL;
		return r < 0 ? r : -EINVAL;
	}
	return 0;
}

int sbx_allow_calls(scmp_filter_ctx ctx, const struct sbx_call *calls, size_t n,
		    char *err, size_t errcap)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (calls[i].nr < 0)
			continue;	/* not a syscall on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i].nr, 0);
		if (r) {
			snprintf(err, errcap, "seccomp: allow %s: %s", calls[i].name,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

static int fcntl_rule(scmp_filter_ctx ctx, int cmd)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)cmd));
}

int sbx_allow_fcntl_flags(scmp_filter_ctx ctx)
{
	int r = fcntl_rule(ctx, F_GETFL);

	if (!r)
		r = fcntl_rule(ctx, F_SETFL);
	if (!r)
		r = fcntl_rule(ctx, F_GETFD);
	if (!r)
		r = fcntl_rule(ctx, F_SETFD);
	return r;
}

int sbx_allow_noexec_memory(scmp_filter_ctx ctx)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));

	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	return r;
}

int sbx_filter_finish(scmp_filter_ctx ctx, int r, char *err, size_t errcap)
{
	if (!r) {
		r = seccomp_load(ctx);
		if (r)
			snprintf(err, errcap, "seccomp_load: %s", strerror(-r));
	} else if (!err[0]) {
		snprintf(err, errcap, "seccomp: building the filter: %s", strerror(-r));
	}
	seccomp_release(ctx);
	return r ? (r < 0 ? r : -EINVAL) : 0;
}
