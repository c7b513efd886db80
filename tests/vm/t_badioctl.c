// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bad ioctl input gets a precise errno and changes nothing: unknown
 * commands, short and oversized (size-versioned) structs, padding,
 * bad pointers, bad templates, operator ids, timeouts and policies, and
 * declarations of the reference's origin (SESSION_START version 1) that
 * break its rules: refused, no session, no audit record.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "lib/brvm_test.h"

#define TPL_LEN	(BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM)

static uint8_t tpl[TPL_LEN];
static int fd;

static void base(struct bioreader_session_start *st)
{
	memset(st, 0, sizeof(*st));
	st->template_ptr = (uintptr_t)tpl;
	st->template_len = TPL_LEN;
	st->timeout_ms = 2000;
	strcpy(st->operator_id, "op-badioctl");
}

static long start(struct bioreader_session_start *st)
{
	return ioctl(fd, BIOREADER_IOC_SESSION_START, st);
}

/* SESSION_START with template @t of @len bytes; expect @err. */
static void start_tpl(const void *t, uint32_t len, int err, const char *name)
{
	struct bioreader_session_start st;

	base(&st);
	st.template_ptr = (uintptr_t)t;
	st.template_len = len;
	ktap_expect_errno(start(&st), err, name);
}

/* End a session that was (wrongly or rightly) started. */
static void end_session(void)
{
	struct bioreader_verdict v;

	if (brvm_abort(fd) == 0)
		brvm_wait(fd, 5000, &v);
}

/* A valid start declaring @source and @flags; fingerprints of non-zero
 * bytes @issuer / @signer (0: all zero). */
static void ref_fill(struct bioreader_session_start *st, uint32_t source,
		     uint32_t flags, uint8_t issuer, uint8_t signer)
{
	base(st);
	st->ref_source = source;
	st->ref_flags = flags;
	memset(st->ref_issuer_sha256, issuer, sizeof(st->ref_issuer_sha256));
	memset(st->ref_signer_sha256, signer, sizeof(st->ref_signer_sha256));
}

static void ref_err(uint32_t source, uint32_t flags, uint8_t issuer,
		    uint8_t signer, int err, const char *name)
{
	struct bioreader_session_start st;

	ref_fill(&st, source, flags, issuer, signer);
	ktap_expect_errno(start(&st), err, name);
}

static void policy_err(const struct bioreader_policy *good, int field,
		       uint32_t val, const char *name)
{
	struct bioreader_policy p = *good;
	uint32_t *f = (uint32_t *)&p;

	f[field] = val;
	ktap_expect_errno(brvm_set_policy(fd, &p), EINVAL, name);
}

int main(void)
{
	uint8_t big[BIOREADER_TEMPLATE_MAX + 64];
	uint8_t bad[TPL_LEN + 1];
	struct bioreader_session_start st;
	struct bioreader_policy pol, now;
	struct bioreader_verdict v;
	struct brvm_sim s;
	uint8_t buf[256];
	void *unmapped;
	int ret, ok;

	ktap_plan(75);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "badioctl", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0)
		return brvm_bail("open reader");
	brvm_template(42, BRVM_EMB_DIM, tpl, sizeof(tpl));
	brvm_sim_scene(&s, "empty");
	if (brvm_get_policy(fd, &pol))
		return brvm_bail("GET_POLICY");
	/* an address that is certainly not mapped */
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	munmap(unmapped, 4096);

	/* 1-4: unknown commands */
	KTAP_CASE("unknown commands") {
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_NONE, 0x7f, 0)), ENOTTY,
				  "unknown nr -> ENOTTY");
		ktap_expect_errno(ioctl(fd, _IOC(_IOC_READ, 'x', 0, 48), buf), ENOTTY,
				  "foreign magic -> ENOTTY");
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_WRITE, 0x00, 48), buf),
				  ENOTTY, "GET_INFO with the wrong direction -> ENOTTY");
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ, 0x03, 8), buf),
				  ENOTTY, "ABORT with a size/direction -> ENOTTY");
	}

	/* 5-9: short structs */
	KTAP_CASE("short structs") {
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ, 0x00, 40), buf),
				  EINVAL, "GET_INFO size 40 < VER0 -> EINVAL");
		base(&st);
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x01, 56),
					&st),
				  EINVAL, "SESSION_START size 56 < VER0 -> EINVAL");
		end_session();
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x02, 16),
					buf),
				  EINVAL, "SESSION_WAIT size 16 < VER0 -> EINVAL");
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ, 0x04, 16), buf),
				  EINVAL, "GET_POLICY size 16 < VER0 -> EINVAL");
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_WRITE, 0x05, 24), &pol),
				  EINVAL, "SET_POLICY size 24 < VER0 -> EINVAL");
	}

	/* 10-15: oversized structs */
	KTAP_CASE("oversized structs") {
		/* 32 bytes more than this header's struct (version 1: 136) */
		const size_t big_st = sizeof(st) + 32;

		memset(buf, 0, sizeof(buf));
		base(&st);
		memcpy(buf, &st, sizeof(st));
		buf[sizeof(st) + 5] = 1;
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x01, big_st),
					buf),
				  E2BIG, "SESSION_START 168 bytes, non-zero tail -> E2BIG");
		end_session();
		buf[sizeof(st) + 5] = 0;
		ret = ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x01, big_st), buf);
		memcpy(&st, buf, sizeof(st));
		ok = ret == 0 && st.session_id != 0;
		for (size_t i = sizeof(st); i < big_st; i++)
			ok = ok && buf[i] == 0;
		if (ret)
			ktap_diag("zero tail: %s", strerror(errno));
		ktap_check(ok, "SESSION_START 168 bytes, zero tail -> session starts");
		end_session();

		memset(buf, 0, sizeof(buf));
		memcpy(buf, &pol, sizeof(pol));
		buf[sizeof(pol)] = 0x80;
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_WRITE, 0x05, 64), buf),
				  E2BIG, "SET_POLICY 64 bytes, non-zero tail -> E2BIG");
		buf[sizeof(pol)] = 0;
		ktap_check(ioctl(fd, BRVM_IOC(_IOC_WRITE, 0x05, 64), buf) == 0,
			   "SET_POLICY 64 bytes, zero tail -> ok");

		memset(buf, 0xa5, sizeof(buf));
		ret = ioctl(fd, BRVM_IOC(_IOC_READ, 0x00, 128), buf);
		ok = ret == 0 && ((struct bioreader_info *)buf)->api_version ==
				 BIOREADER_API_VERSION;
		for (size_t i = BIOREADER_INFO_SIZE_VER0; i < 128; i++)
			ok = ok && buf[i] == 0xa5;
		ktap_check(ok, "GET_INFO 128 bytes: 48 written, rest untouched");

		memset(buf, 0, sizeof(buf));
		buf[BIOREADER_VERDICT_SIZE_VER0 + 1] = 1;
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x02, 64),
					buf),
				  E2BIG, "SESSION_WAIT 64 bytes, non-zero tail -> E2BIG");
	}

	/* 16-19: padding and reserved fields */
	KTAP_CASE("padding and reserved fields") {
		now = pol;
		now.pad0 = 1;
		ktap_expect_errno(brvm_set_policy(fd, &now), EINVAL,
				  "SET_POLICY pad0 != 0 -> EINVAL");
		now = pol;
		now.pad1 = 0x100;
		ktap_expect_errno(brvm_set_policy(fd, &now), EINVAL,
				  "SET_POLICY pad1 != 0 -> EINVAL");
		memset(&v, 0, sizeof(v));
		v.pad0 = 1;
		ktap_expect_errno(ioctl(fd, BIOREADER_IOC_SESSION_WAIT, &v), EINVAL,
				  "SESSION_WAIT pad0 != 0 -> EINVAL");
		base(&st);
		st.flags = 1;
		ktap_expect_errno(start(&st), EINVAL,
				  "SESSION_START unknown flags -> EINVAL");
		end_session();
	}

	/* 20-25: bad pointers */
	KTAP_CASE("bad pointers") {
		ktap_expect_errno(ioctl(fd, BIOREADER_IOC_GET_INFO, unmapped), EFAULT,
				  "GET_INFO to an unmapped address -> EFAULT");
		ktap_expect_errno(ioctl(fd, BIOREADER_IOC_SESSION_START, NULL), EFAULT,
				  "SESSION_START NULL struct -> EFAULT");
		ktap_expect_errno(ioctl(fd, BIOREADER_IOC_SET_POLICY, unmapped),
				  EFAULT, "SET_POLICY unmapped struct -> EFAULT");
		ktap_expect_errno(ioctl(fd, BIOREADER_IOC_SESSION_WAIT, unmapped),
				  EFAULT, "SESSION_WAIT unmapped struct -> EFAULT");
		start_tpl(unmapped, TPL_LEN, EFAULT, "template_ptr unmapped -> EFAULT");
		start_tpl(NULL, TPL_LEN, EFAULT, "template_ptr NULL -> EFAULT");
		end_session();
	}

	/* 26-28: template length */
	KTAP_CASE("template length") {
		start_tpl(tpl, 0, EINVAL, "template_len 0 -> EINVAL");
		memset(big, 0, sizeof(big));
		memcpy(big, tpl, sizeof(tpl));
		start_tpl(big, BIOREADER_TEMPLATE_MAX + 1, EMSGSIZE,
			  "template_len TEMPLATE_MAX + 1 -> EMSGSIZE");
		start_tpl(big, 0x7fffffff, EMSGSIZE, "template_len 2^31 - 1 -> EMSGSIZE");
		end_session();
	}

	/* 29-36: template content */
	KTAP_CASE("template content") {
		memcpy(bad, tpl, TPL_LEN);
		bad[0] ^= 0xff;
		start_tpl(bad, TPL_LEN, EBADMSG, "template bad magic -> EBADMSG");
		memcpy(bad, tpl, TPL_LEN);
		bad[4] = 2;
		start_tpl(bad, TPL_LEN, EBADMSG, "template bad version -> EBADMSG");
		{
			uint8_t small[BIOREADER_TEMPLATE_HDR_SIZE + 64];

			brvm_template(42, 64, small, sizeof(small));
			start_tpl(small, sizeof(small), EBADMSG,
				  "template dim 64 != emb_dim -> EBADMSG");
		}
		memcpy(bad, tpl, TPL_LEN);
		bad[8] = 9;
		start_tpl(bad, TPL_LEN, EBADMSG, "template bad format -> EBADMSG");
		memcpy(bad, tpl, TPL_LEN);
		bad[12] = 1;
		start_tpl(bad, TPL_LEN, EBADMSG, "template reserved != 0 -> EBADMSG");
		memcpy(bad, tpl, TPL_LEN);
		bad[TPL_LEN] = 0;
		start_tpl(bad, TPL_LEN + 1, EBADMSG,
			  "template longer than header + dim -> EBADMSG");
		start_tpl(tpl, TPL_LEN - 1, EBADMSG,
			  "template shorter than header + dim -> EBADMSG");
		memcpy(bad, tpl, TPL_LEN);
		memset(bad + BIOREADER_TEMPLATE_HDR_SIZE, 0, BRVM_EMB_DIM);
		start_tpl(bad, TPL_LEN, EBADMSG, "all-zero template -> EBADMSG");
		end_session();
	}

	/* 37-41: operator id */
	KTAP_CASE("operator id") {
		base(&st);
		memset(st.operator_id, 0, sizeof(st.operator_id));
		ktap_expect_errno(start(&st), EINVAL, "empty operator id -> EINVAL");
		base(&st);
		memset(st.operator_id, 'A', sizeof(st.operator_id));
		ktap_expect_errno(start(&st), EINVAL,
				  "operator id without NUL in 32 bytes -> EINVAL");
		base(&st);
		st.operator_id[2] = 0x01;
		ktap_expect_errno(start(&st), EINVAL,
				  "operator id with a control char -> EINVAL");
		base(&st);
		st.operator_id[1] = (char)0xc3;
		ktap_expect_errno(start(&st), EINVAL,
				  "operator id with a non-ASCII byte -> EINVAL");
		base(&st);
		st.operator_id[2] = 0;
		st.operator_id[3] = 'x';
		ktap_expect_errno(start(&st), EINVAL,
				  "operator id not NUL-padded after its end -> EINVAL");
		end_session();
	}

	/* 42-44: the session id cannot be written back: no session left */
	KTAP_CASE("the session id cannot be written back: no session left") {
		{
			struct bioreader_session_start *ro;
			struct bioreader_info info;

			ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			base(ro);
			mprotect(ro, 4096, PROT_READ);
			ktap_expect_errno(ioctl(fd, BIOREADER_IOC_SESSION_START, ro),
					  EFAULT,
					  "SESSION_START struct read-only -> EFAULT");
			ktap_check(brvm_info(fd, &info) == 0 &&
				   info.state == BIOREADER_STATE_IDLE,
				   "... and no session keeps running");
			ktap_expect_errno(brvm_wait(fd, 0, &v), ENOENT,
					  "... and no verdict is pending");
			munmap(ro, 4096);
			end_session();
		}
	}

	/* 45-48: timeout and security level */
	KTAP_CASE("timeout and security level") {
		base(&st);
		st.timeout_ms = 99;
		ktap_expect_errno(start(&st), EINVAL, "timeout 99 ms -> EINVAL");
		base(&st);
		st.timeout_ms = BIOREADER_TIMEOUT_MAX_MS + 1;
		ktap_expect_errno(start(&st), EINVAL, "timeout 60001 ms -> EINVAL");
		base(&st);
		st.security_level = BIOREADER_SECLEVEL_HIGH + 1;
		ktap_expect_errno(start(&st), EINVAL, "security level 4 -> EINVAL");
		end_session();
		base(&st);
		st.timeout_ms = 0;
		ok = start(&st) == 0;
		ktap_check(ok, "timeout 0 (policy default) accepted");
		end_session();
	}

	/* 49-56: SET_POLICY ranges (fields in struct order) */
	KTAP_CASE("SET_POLICY ranges (fields in struct order)") {
		policy_err(&pol, 0, 1U << 7, "policy unknown flag -> EINVAL");
		policy_err(&pol, 1, 0, "policy security level 0 -> EINVAL");
		policy_err(&pol, 1, 4, "policy security level 4 -> EINVAL");
		policy_err(&pol, 2, 0, "policy frames_required 0 -> EINVAL");
		policy_err(&pol, 2, 65, "policy frames_required 65 -> EINVAL");
		policy_err(&pol, 3, 99, "policy timeout 99 ms -> EINVAL");
		policy_err(&pol, 4, 101, "policy max_failures 101 -> EINVAL");
		policy_err(&pol, 5, 86401, "policy lockout 86401 s -> EINVAL");
	}

	/* 57-71: the declared origin of the reference */
	KTAP_CASE("the declared origin of the reference") {
		long long seq0 = brvm_audit_attr("next_seq"), seq1;
		struct bioreader_info info;

		ref_err(2, 0, 1, 1, EINVAL, "reference source 2 (unknown) -> EINVAL");
		ref_err(~0u, 0, 1, 1, EINVAL, "reference source 0xffffffff -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_ICAO_PA, 1u << 4, 1, 1, EINVAL,
			"ICAO PA with an unknown flag (bit 4) -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_ICAO_PA,
			BIOREADER_REF_BAC | 0x80000000u, 1, 1, EINVAL,
			"ICAO PA with an unknown flag (bit 31) -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_NONE, BIOREADER_REF_BAC, 0, 0, EINVAL,
			"source none with a flag -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_NONE, 0, 1, 0, EINVAL,
			"source none with an issuer fingerprint -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_NONE, 0, 0, 1, EINVAL,
			"source none with a signer fingerprint -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_ICAO_PA, 0, 0, 1, EINVAL,
			"ICAO PA without the issuer (CSCA) fingerprint -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_ICAO_PA, 0, 1, 0, EINVAL,
			"ICAO PA without the signer (DS) fingerprint -> EINVAL");
		ref_err(BIOREADER_REF_SOURCE_ICAO_PA, BIOREADER_REF_BAC, 0, 0,
			EINVAL, "ICAO PA without either fingerprint -> EINVAL");
		/* a valid declaration, and a non-zero byte past the driver's struct */
		memset(buf, 0, sizeof(buf));
		ref_fill(&st, BIOREADER_REF_SOURCE_ICAO_PA, 0, 1, 1);
		memcpy(buf, &st, sizeof(st));
		buf[sizeof(st) + 7] = 1;
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x01,
						     sizeof(st) + 8), buf),
				  E2BIG, "ICAO PA declared, 144 bytes with a non-zero tail -> E2BIG");
		/* a caller between versions 0 and 1 (96 bytes): the signer's
		 * fingerprint is past its end, so it reads as zero */
		memset(buf, 0, sizeof(buf));
		ref_fill(&st, BIOREADER_REF_SOURCE_ICAO_PA, 0, 1, 1);
		memcpy(buf, &st, 96);
		ktap_expect_errno(ioctl(fd, BRVM_IOC(_IOC_READ | _IOC_WRITE, 0x01, 96),
					buf), EINVAL,
				  "ICAO PA from a 96-byte struct: the signer fingerprint reads as zero -> EINVAL");
		end_session();
		seq1 = brvm_audit_attr("next_seq");
		ok = seq0 > 0 && seq1 == seq0 && brvm_info(fd, &info) == 0 &&
		     info.state == BIOREADER_STATE_IDLE;
		if (!ok)
			ktap_diag("next_seq %lld -> %lld, state %u", seq0, seq1, info.state);
		ktap_check(ok, "refused declarations: no session started, no audit record queued");
		ktap_expect_errno(brvm_wait(fd, 0, &v), ENOENT,
				  "... and no verdict pending");
		ref_fill(&st, BIOREADER_REF_SOURCE_ICAO_PA, BIOREADER_REF_FLAGS_ALL,
			 1, 1);
		ret = start(&st);
		if (ret)
			ktap_diag("ICAO PA: %s", strerror(errno));
		ktap_check(ret == 0 && st.session_id &&
			   brvm_audit_attr("next_seq") == seq0 + 1,
			   "ICAO PA with every flag and both fingerprints: the session starts, its SESSION_START record is queued");
		end_session();
	}

	/* 72-75: nothing changed, nothing left running */
	KTAP_CASE("nothing changed, nothing left running") {
		ktap_check(brvm_get_policy(fd, &now) == 0 &&
			   !memcmp(&now, &pol, sizeof(now)),
			   "policy unchanged by the rejected calls");
		{
			struct bioreader_info info;

			ktap_check(brvm_info(fd, &info) == 0 &&
				   info.state == BIOREADER_STATE_IDLE,
				   "reader idle after all rejected starts");
		}
		ktap_expect_errno(brvm_wait(fd, 0, &v), ENOENT,
				  "no verdict pending on the fd");
		ok = brvm_start(fd, tpl, TPL_LEN, "op-final", 2000, 0, NULL) == 0;
		ktap_check(ok, "a valid start still works");
		end_session();
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	close(fd);
	brvm_sim_destroy(&s);
	return ktap_finish();
}
