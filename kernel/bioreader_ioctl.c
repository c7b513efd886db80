// SPDX-License-Identifier: GPL-2.0-only
/*
 * ioctl entry: dispatch on type/number/direction, copy size-versioned
 * arguments with the copy_struct_from_user() rules, validate every
 * field, and hand clean values to the session code.
 *
 *   usize < version-0 size           -EINVAL
 *   usize < ksize                    missing tail reads as zero
 *   usize > ksize, non-zero tail     -E2BIG
 *   output                           min(usize, ksize) bytes
 *   pad fields non-zero              -EINVAL
 *   anything unknown                 -ENOTTY
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "bioreader.h"

static int br_copy_in(void *kdst, size_t ksize, size_t ver0,
		      const void __user *usrc, size_t usize)
{
	if (usize < ver0)
		return -EINVAL;
	return copy_struct_from_user(kdst, ksize, usrc, usize);
}

static int br_copy_out(void __user *udst, size_t usize, const void *ksrc,
		       size_t ksize)
{
	if (copy_to_user(udst, ksrc, min(usize, ksize)))
		return -EFAULT;
	return 0;
}

static int br_ioc_get_info(struct br_file *f, void __user *uarg,
			   size_t usize)
{
	struct bioreader *br = f->br;
	struct bioreader_info info = { };
	u32 fps = 0;
	int ret;

	if (usize < BIOREADER_INFO_SIZE_VER0)
		return -EINVAL;

	mutex_lock(&br->lock);
	if (br->gone) {
		mutex_unlock(&br->lock);
		return -ENODEV;
	}
	ret = regmap_read(br->map, BRHW_REG_FPS, &fps);
	info.api_version = BIOREADER_API_VERSION;
	info.reader_index = br->index;
	info.hw_version = br->hw_version;
	info.caps = br->caps;
	info.features = br_liveness_available(br) ? BIOREADER_FEAT_LIVENESS : 0;
	info.state = br->state == BR_STATE_RUNNING ? BIOREADER_STATE_BUSY :
						     BIOREADER_STATE_IDLE;
	info.width = br->geom.width;
	info.height = br->geom.height;
	info.fps = fps;
	info.emb_dim = br->geom.emb_dim;
	info.template_format = BIOREADER_TEMPLATE_FMT_INT8_L2;
	info.template_max = BIOREADER_TEMPLATE_MAX;
	mutex_unlock(&br->lock);
	if (ret)
		return ret;

	return br_copy_out(uarg, usize, &info, sizeof(info));
}

/* Printable ASCII, at least one character, NUL-terminated and padded. */
static bool br_operator_id_valid(const char *id)
{
	size_t i, len = strnlen(id, BIOREADER_OPERATOR_ID_LEN);

	if (!len || len == BIOREADER_OPERATOR_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (id[i] < 0x20 || id[i] > 0x7e)
			return false;
	for (; i < BIOREADER_OPERATOR_ID_LEN; i++)
		if (id[i])
			return false;
	return true;
}

/*
 * The declared origin of the reference (version 1 of the struct; a
 * version-0 caller's missing tail reads as zero, that is NONE).  Only
 * its form can be checked: the driver has no card to verify.
 */
static int br_ref_check(const struct bioreader_session_start *req)
{
	bool issuer = memchr_inv(req->ref_issuer_sha256, 0,
				 sizeof(req->ref_issuer_sha256));
	bool signer = memchr_inv(req->ref_signer_sha256, 0,
				 sizeof(req->ref_signer_sha256));

	switch (req->ref_source) {
	case BIOREADER_REF_SOURCE_NONE:
		/* Nothing declared: nothing else may be either. */
		if (req->ref_flags || issuer || signer)
			return -EINVAL;
		return 0;
	case BIOREADER_REF_SOURCE_ICAO_PA:
		if (req->ref_flags & ~BIOREADER_REF_FLAGS_ALL)
			return -EINVAL;
		/* A CSCA and a Document Signer vouched for it: name both. */
		if (!issuer || !signer)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

static int br_ioc_session_start(struct br_file *f, void __user *uarg,
				size_t usize)
{
	struct bioreader *br = f->br;
	struct bioreader_session_start req;
	void *tpl;
	u64 id;
	int ret;

	ret = br_copy_in(&req, sizeof(req), BIOREADER_SESSION_START_SIZE_VER0,
			 uarg, usize);
	if (ret)
		return ret;

	if (req.flags || req.security_level > BIOREADER_SECLEVEL_HIGH)
		return -EINVAL;
	if (req.timeout_ms && (req.timeout_ms < 100 ||
			       req.timeout_ms > BIOREADER_TIMEOUT_MAX_MS))
		return -EINVAL;
	if (!br_operator_id_valid(req.operator_id))
		return -EINVAL;
	ret = br_ref_check(&req);
	if (ret)
		return ret;
	if (!req.template_len)
		return -EINVAL;
	if (req.template_len > BIOREADER_TEMPLATE_MAX)
		return -EMSGSIZE;

	/* The reference is biometric data: freed with kfree_sensitive(). */
	tpl = memdup_user(u64_to_user_ptr(req.template_ptr), req.template_len);
	if (IS_ERR(tpl))
		return PTR_ERR(tpl);

	ret = br_session_start(f, &req, tpl, req.template_len, &id);
	kfree_sensitive(tpl);
	if (ret)
		return ret;

	req.session_id = id;
	ret = br_copy_out(uarg, usize, &req, sizeof(req));
	if (ret) {
		/* The caller cannot know its session: do not leave it running. */
		mutex_lock(&br->lock);
		if (br->state == BR_STATE_RUNNING && br->sess.owner == f &&
		    br->sess.id == id) {
			br_session_end(br, BIOREADER_OUTCOME_ABORTED,
				       BIOREADER_REASON_USER_ABORT,
				       BIOREADER_ATTACK_NONE);
			f->has_session = false;
			WRITE_ONCE(f->verdict_ready, false);
		}
		mutex_unlock(&br->lock);
	}
	return ret;
}

/* Take the verdict out of @f, once.  Caller holds the reader's lock. */
static void br_take_verdict(struct br_file *f, struct bioreader_verdict *v)
{
	v->outcome = f->verdict.outcome;
	v->reason = f->verdict.reason;
	v->attack_class = f->verdict.attack_class;
	v->flags = f->verdict.flags;
	v->session_id = f->verdict.session_id;
	v->audit_seq = f->verdict.audit_seq;
	f->has_session = false;
	WRITE_ONCE(f->verdict_ready, false);
}

/*
 * Wake-up condition of WAIT; read without the lock.  A removed reader
 * ends the wait only when no verdict is pending: the DEVICE_REMOVED
 * verdict of a session the removal ended is still released (once its
 * record is durable) to the WAIT that was blocked on it.
 */
static bool br_wait_done(struct br_file *f)
{
	return br_verdict_released(f) ||
	       (READ_ONCE(f->br->gone) && !READ_ONCE(f->verdict_ready));
}

static int br_ioc_session_wait(struct br_file *f, void __user *uarg,
			       size_t usize)
{
	struct bioreader *br = f->br;
	struct bioreader_verdict v;
	long left;
	int ret;

	ret = br_copy_in(&v, sizeof(v), BIOREADER_VERDICT_SIZE_VER0, uarg,
			 usize);
	if (ret)
		return ret;
	if (v.pad0)
		return -EINVAL;

	mutex_lock(&br->lock);
	if (br_verdict_released(f)) {
		/* Even on a removed reader: its DEVICE_REMOVED verdict. */
		br_take_verdict(f, &v);
	} else if (br->gone && !f->verdict_ready) {
		ret = -ENODEV;
	} else if (!f->has_session) {
		ret = -ENOENT;
	} else if (!v.timeout_ms) {
		/* Held back until its audit record is durable. */
		ret = f->verdict_ready ? -ENOLINK : -EAGAIN;
	} else {
		mutex_unlock(&br->lock);
		left = wait_event_interruptible_timeout(br->wq,
							br_wait_done(f),
							msecs_to_jiffies(v.timeout_ms));
		mutex_lock(&br->lock);
		/* A verdict released while we slept is delivered. */
		if (br_verdict_released(f))
			br_take_verdict(f, &v);
		else if (br->gone && !f->verdict_ready)
			ret = -ENODEV;
		else if (!f->has_session)
			ret = -ENOENT;	/* taken by a concurrent WAIT */
		else if (left < 0)
			ret = -EINTR;
		else if (f->verdict_ready)
			ret = -ENOLINK;	/* held: its record is not durable */
		else
			ret = -ETIMEDOUT;
	}
	mutex_unlock(&br->lock);
	if (ret)
		return ret;

	ret = br_copy_out(uarg, usize, &v, sizeof(v));
	if (ret) {
		/* Not delivered: keep it for the next WAIT. */
		mutex_lock(&br->lock);
		if (!f->has_session && !f->verdict_ready) {
			f->has_session = true;
			/* Pairs with br_verdict_released()'s acquire. */
			smp_store_release(&f->verdict_ready, true);
		}
		mutex_unlock(&br->lock);
	}
	return ret;
}

static int br_ioc_session_abort(struct br_file *f)
{
	struct bioreader *br = f->br;
	int ret = 0;

	mutex_lock(&br->lock);
	if (br->gone)
		ret = -ENODEV;
	else if (br->state != BR_STATE_RUNNING || br->sess.owner != f)
		ret = -ENOENT;
	else
		br_session_end(br, BIOREADER_OUTCOME_ABORTED,
			       BIOREADER_REASON_USER_ABORT,
			       BIOREADER_ATTACK_NONE);
	mutex_unlock(&br->lock);
	return ret;
}

static int br_ioc_get_policy(struct br_file *f, void __user *uarg,
			     size_t usize)
{
	struct bioreader *br = f->br;
	struct bioreader_policy p;

	if (usize < BIOREADER_POLICY_SIZE_VER0)
		return -EINVAL;
	mutex_lock(&br->lock);
	if (br->gone) {
		mutex_unlock(&br->lock);
		return -ENODEV;
	}
	p = br->policy;
	mutex_unlock(&br->lock);
	return br_copy_out(uarg, usize, &p, sizeof(p));
}

static int br_ioc_set_policy(struct br_file *f, void __user *uarg,
			     size_t usize)
{
	struct bioreader *br = f->br;
	struct bioreader_policy p;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = br_copy_in(&p, sizeof(p), BIOREADER_POLICY_SIZE_VER0, uarg,
			 usize);
	if (ret)
		return ret;
	ret = br_session_policy_check(&p);
	if (ret)
		return ret;

	mutex_lock(&br->lock);
	if (br->gone)
		ret = -ENODEV;
	else	/* fail closed: an unaudited change gets -ENOLINK */
		ret = br_audit_policy(br, &br->policy, &p);
	if (!ret) {
		br->policy = p;
		dev_dbg(&br->dev,
			"policy: flags %#x level %u frames %u timeout %u ms, %u failures / %u s\n",
			p.flags, p.security_level, p.frames_required,
			p.default_timeout_ms, p.max_failures, p.lockout_s);
	}
	mutex_unlock(&br->lock);
	return ret;
}

static int br_ioc_reset_stats(struct br_file *f)
{
	struct bioreader *br = f->br;
	int ret = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	mutex_lock(&br->lock);
	if (br->gone) {
		ret = -ENODEV;
	} else {
		/* Moves the DROPPED baseline to the current count. */
		br_hw_sync_dropped(br);
		/* Fail closed: an unaudited reset gets -ENOLINK. */
		ret = br_audit_stats_reset(br);
		if (!ret)
			memset(&br->stats, 0, sizeof(br->stats));
	}
	mutex_unlock(&br->lock);
	return ret;
}

long br_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct br_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);
	unsigned int dir = _IOC_DIR(cmd);

	/*
	 * A removed reader answers -ENODEV, except to WAIT for the verdict
	 * of the session the removal ended (br_ioc_session_wait() decides).
	 */
	if (READ_ONCE(f->br->gone) && cmd != BIOREADER_IOC_SESSION_WAIT)
		return -ENODEV;
	if (_IOC_TYPE(cmd) != BIOREADER_IOC_MAGIC)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(BIOREADER_IOC_GET_INFO):
		if (dir != _IOC_READ)
			return -ENOTTY;
		return br_ioc_get_info(f, uarg, usize);
	case _IOC_NR(BIOREADER_IOC_SESSION_START):
		if (dir != (_IOC_READ | _IOC_WRITE))
			return -ENOTTY;
		return br_ioc_session_start(f, uarg, usize);
	case _IOC_NR(BIOREADER_IOC_SESSION_WAIT):
		if (dir != (_IOC_READ | _IOC_WRITE))
			return -ENOTTY;
		return br_ioc_session_wait(f, uarg, usize);
	case _IOC_NR(BIOREADER_IOC_SESSION_ABORT):
		if (cmd != BIOREADER_IOC_SESSION_ABORT)
			return -ENOTTY;
		return br_ioc_session_abort(f);
	case _IOC_NR(BIOREADER_IOC_GET_POLICY):
		if (dir != _IOC_READ)
			return -ENOTTY;
		return br_ioc_get_policy(f, uarg, usize);
	case _IOC_NR(BIOREADER_IOC_SET_POLICY):
		if (dir != _IOC_WRITE)
			return -ENOTTY;
		return br_ioc_set_policy(f, uarg, usize);
	case _IOC_NR(BIOREADER_IOC_RESET_STATS):
		if (cmd != BIOREADER_IOC_RESET_STATS)
			return -ENOTTY;
		return br_ioc_reset_stats(f);
	default:
		return -ENOTTY;
	}
}
