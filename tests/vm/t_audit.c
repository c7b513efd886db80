// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit channel, /dev/bioreader-audit: records for every event type
 * with the right fields (actor uid, pid and start time, operator id,
 * session id, contiguous seq, constant non-zero stream id, audit_seq of
 * the verdict), fail closed (no consumer -> -ENOLINK; consumer gone
 * mid-session -> WAIT -ENOLINK, the verdict released after the consumer
 * reopens, gets the unacknowledged records again from the oldest and
 * acknowledges them; while it is the consumer this program acknowledges
 * what it read whenever WAIT says a verdict is held;
 * queue full -> -ENOLINK), one consumer only, short reads and bad ACKs
 * refused, and no template or embedding byte in any record.  Record
 * format version 2: a SESSION_START record is 232 bytes and carries the
 * origin of the reference its starter declared (an ICAO Passive
 * Authentication declaration with its CSCA and DS fingerprints, or, from
 * a version-0 caller with the 64-byte struct and the old ioctl number,
 * nothing: all zero); read() returns records of both sizes packed, takes
 * only whole ones, and refuses a buffer smaller than 232 bytes.
 *
 * This program is the consumer itself for most of the run: it stops the
 * suite's background drain first and starts it again at the end.  For
 * the queue-full case it reloads bioreader with audit_queue_len=32.
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bioreader_audit.h>

#include "lib/brvm_test.h"

#define GENUINE		42
#define IMPOSTOR	777
#define OPERATOR	"auditor-7"
#define MAX_RECS	4096
#define SMALL_QUEUE	32

typedef struct bioreader_audit_record rec_t;
typedef struct bioreader_audit_reference ref_t;

#define REC_SIZE	BIOREADER_AUDIT_RECORD_SIZE		/* 160 */
#define START_SIZE	BIOREADER_AUDIT_SESSION_START_SIZE	/* 232 */
/* SESSION_START with the size of the ioctl number of version 0. */
#define IOC_START_V0	0xc040ba01u	/* _IOWR(0xBA, 0x01, 64 bytes) */

static rec_t recs[MAX_RECS];	/* recs[i] has seq base + i */
static ref_t refs[MAX_RECS];	/* its reference block, zero if none */
static uint16_t sizes[MAX_RECS];	/* its size */
static uint64_t base, nrecs;
static int gaps, dup_mismatch, bad_header;
static uint8_t boot_id[16];

static uint64_t r_seq(const rec_t *r) { return le64toh(r->seq); }
static uint32_t r_type(const rec_t *r) { return le32toh(r->type); }
static uint64_t r_sid(const rec_t *r) { return le64toh(r->session_id); }

static int parse_boot_id(const char *s, uint8_t out[16])
{
	int i = 0;

	for (; *s && i < 16; s++) {
		unsigned int b;

		if (*s == '-')
			continue;
		if (sscanf(s, "%2x", &b) != 1)
			return -1;
		out[i++] = b;
		s++;
	}
	return i == 16 ? 0 : -1;
}

/* The size a record of @type has in format version 2. */
static size_t size_of_type(uint32_t type)
{
	return type == BIOREADER_AUDIT_SESSION_START ? START_SIZE : REC_SIZE;
}

/* The reference block of a record found in recs[]. */
static const ref_t *ref_of(const rec_t *r)
{
	return &refs[r - recs];
}

static size_t size_of(const rec_t *r)
{
	return sizes[r - recs];
}

/*
 * Store one delivered record of @sz bytes at @p: new ones must follow,
 * old ones be equal.
 */
static void add_record(const uint8_t *p, size_t sz)
{
	ref_t ref;
	rec_t rr, *r = &rr;
	uint64_t seq;

	memcpy(r, p, sizeof(*r));
	memset(&ref, 0, sizeof(ref));
	if (sz >= REC_SIZE + sizeof(ref))
		memcpy(&ref, p + REC_SIZE, sizeof(ref));
	seq = r_seq(r);
	if (le32toh(r->magic) != BIOREADER_AUDIT_MAGIC ||
	    le16toh(r->version) != BIOREADER_AUDIT_VERSION ||
	    le16toh(r->size) != sz || sz != size_of_type(r_type(r))) {
		ktap_diag("record %llu: type %u version %u size %zu",
			  (unsigned long long)seq, r_type(r),
			  le16toh(r->version), sz);
		bad_header++;
	}
	if (!nrecs && !base) {
		base = seq;
	} else if (seq < base || seq > base + nrecs) {
		ktap_diag("seq %llu after %llu", (unsigned long long)seq,
			  (unsigned long long)(base + nrecs - 1));
		gaps++;
		return;
	}
	if (seq < base + nrecs) {
		if (memcmp(&recs[seq - base], r, sizeof(*r)) ||
		    memcmp(&refs[seq - base], &ref, sizeof(ref)) ||
		    sizes[seq - base] != sz) {
			ktap_diag("record %llu delivered again differs",
				  (unsigned long long)seq);
			dup_mismatch++;
		}
		return;
	}
	if (nrecs >= MAX_RECS)
		return;
	refs[nrecs] = ref;
	sizes[nrecs] = sz;
	recs[nrecs++] = *r;
}

/*
 * The records of one read() (@n bytes at @buf), stepping by each one's
 * size; the first goes to *@first if given.  Returns how many; the bytes
 * must be whole records, back to back.
 */
static int take(const uint8_t *buf, ssize_t n, rec_t *first)
{
	ssize_t off = 0;
	int cnt = 0;

	while (off < n) {
		rec_t r;
		size_t sz;

		if (n - off < (ssize_t)sizeof(r)) {
			ktap_diag("read: %zd bytes left at %zd", n - off, off);
			bad_header++;
			break;
		}
		memcpy(&r, buf + off, sizeof(r));
		sz = le16toh(r.size);
		if (sz < sizeof(r) || (ssize_t)sz > n - off) {
			ktap_diag("read: a record of %zu bytes at %zd of %zd", sz,
				  off, n);
			bad_header++;
			break;
		}
		if (!cnt && first)
			*first = r;
		add_record(buf + off, sz);
		off += sz;
		cnt++;
	}
	return cnt;
}

/*
 * Read everything the consumer @afd has now (non-blocking); the first
 * record read goes to *@first if given.  Returns the records read.
 */
static int collect(int afd, rec_t *first)
{
	static uint8_t buf[16 * REC_SIZE];
	int total = 0;

	for (;;) {
		ssize_t n = read(afd, buf, sizeof(buf));

		if (n < 0)
			break;
		total += take(buf, n, total ? NULL : first);
	}
	return total;
}

static uint64_t last_seq(void)
{
	return nrecs ? base + nrecs - 1 : 0;
}

static int ack(int afd, uint64_t seq)
{
	return ioctl(afd, BIOREADER_AUDIT_IOC_ACK, &seq);
}

/* This program's consumer descriptor while it is the consumer, or -1. */
static int consumer_fd = -1;

/*
 * WAIT for the verdict as a kiosk would, with this program standing in
 * for the daemon: a verdict is released only once its record is
 * acknowledged, so whenever WAIT says the verdict is held (ENOLINK),
 * read what is there and acknowledge it, then wait again.
 */
static int wait_acking(int fd, uint32_t timeout_ms, struct bioreader_verdict *v)
{
	long long end = brvm_now_ms() + timeout_ms;

	while (brvm_now_ms() < end) {
		if (brvm_wait(fd, 100, v) == 0)
			return 0;
		if (errno == ENOLINK && consumer_fd >= 0) {
			collect(consumer_fd, NULL);
			ack(consumer_fd, last_seq());
		} else if (errno != ETIMEDOUT && errno != ENOLINK) {
			return -1;
		}
	}
	errno = ETIMEDOUT;
	return -1;
}

/* The last record of @type (and session @sid unless 0), or NULL. */
static const rec_t *find(uint32_t type, uint64_t sid)
{
	uint64_t i;

	for (i = nrecs; i-- > 0;)
		if (r_type(&recs[i]) == type && (!sid || r_sid(&recs[i]) == sid))
			return &recs[i];
	return NULL;
}

static long long self_start_ticks(void)
{
	char buf[1024], *p;
	long long v = -1;
	int i;

	if (brvm_read_file("/proc/self/stat", buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')');
	/* fields after "comm)": state is field 3, starttime field 22 */
	for (i = 3; p && i <= 22; i++) {
		p = strchr(p + 1, ' ');
		if (p && i == 22)
			v = strtoll(p + 1, NULL, 10);
	}
	return v;
}

/* uid 0, our tgid, our start time (as /proc/self/stat gives it). */
static int actor_is_us(const rec_t *r, const char *what)
{
	long long hz = sysconf(_SC_CLK_TCK);
	long long ticks = (long long)(le64toh(r->actor_start_ns) /
				      (1000000000ULL / hz));
	int ok = le32toh(r->uid) == 0 &&
		 le32toh(r->pid) == (uint32_t)getpid() &&
		 ticks == self_start_ticks();

	if (!ok)
		ktap_diag("%s: actor uid %u pid %u start %llu ticks, want 0 %d %lld",
			  what, le32toh(r->uid), le32toh(r->pid), ticks,
			  (int)getpid(), self_start_ticks());
	return ok;
}

static int session_fields(const rec_t *r, uint64_t sid, int reader,
			  const char *what)
{
	int ok = r && r_sid(r) == sid &&
		 le32toh(r->reader) == (uint32_t)reader &&
		 !strncmp(r->operator_id, OPERATOR, sizeof(r->operator_id)) &&
		 actor_is_us(r, what);

	if (!r)
		ktap_diag("%s: no record", what);
	else if (!ok)
		ktap_diag("%s: session %llu reader %u operator '%.32s'", what,
			  (unsigned long long)r_sid(r), le32toh(r->reader),
			  r->operator_id);
	return ok;
}

static int start_op(int fd, uint64_t identity, uint32_t timeout_ms,
		    uint64_t *sid)
{
	uint8_t tpl[BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM];
	size_t len = brvm_template(identity, BRVM_EMB_DIM, tpl, sizeof(tpl));

	return brvm_start(fd, tpl, len, OPERATOR, timeout_ms, 0, sid);
}

/* Start, wait; the verdict in @v.  0 or -1. */
static int session(int fd, uint64_t identity, uint64_t *sid,
		   struct bioreader_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (start_op(fd, identity, 5000, sid)) {
		ktap_diag("SESSION_START: %s", strerror(errno));
		return -1;
	}
	if (wait_acking(fd, 20000, v)) {
		ktap_diag("SESSION_WAIT: %s", strerror(errno));
		return -1;
	}
	brvm_diag_verdict("session", v);
	return 0;
}

/* The VERDICT record of @v: same session, seq = audit_seq, same fields. */
static int verdict_matches(const struct bioreader_verdict *v,
			   const char *what)
{
	const rec_t *r = find(BIOREADER_AUDIT_VERDICT, v->session_id);
	int ok = r && v->audit_seq && r_seq(r) == v->audit_seq &&
		 le32toh(r->outcome) == v->outcome &&
		 le32toh(r->reason) == v->reason &&
		 le32toh(r->attack_class) == v->attack_class &&
		 le32toh(r->flags) == v->flags;

	if (!ok)
		ktap_diag("%s: verdict audit_seq %llu, record %llu", what,
			  (unsigned long long)v->audit_seq,
			  r ? (unsigned long long)r_seq(r) : 0ULL);
	return ok;
}

static int unload_bioreader(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, "bioreader", O_NONBLOCK))
			return 0;
		brvm_sleep_ms(50);
	}
	ktap_diag("rmmod bioreader: %s", strerror(errno));
	return -1;
}

/* Does any 8-byte run of @emb occur in @len bytes at @hay? */
static int contains(const void *hay, size_t len, const int8_t *emb,
		    unsigned int dim)
{
	size_t i;
	unsigned int j;

	for (j = 0; j + 8 <= dim; j++)
		for (i = 0; i + 8 <= len; i++)
			if (!memcmp((const uint8_t *)hay + i, emb + j, 8))
				return 1;
	return 0;
}

/* ... in the records, their reference blocks included? */
static int contains_embedding(const int8_t *emb, unsigned int dim)
{
	return contains(recs, nrecs * sizeof(rec_t), emb, dim) ||
	       contains(refs, nrecs * sizeof(ref_t), emb, dim);
}

/* A made-up CSCA (@seed) or DS certificate fingerprint: 32 bytes. */
static void fingerprint(uint8_t seed, uint8_t out[32])
{
	int i;

	for (i = 0; i < 32; i++)
		out[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* SESSION_START (version 1 of the struct) declaring @source and @flags. */
static int start_ref(int fd, uint32_t source, uint32_t flags,
		     const uint8_t *issuer, const uint8_t *signer, uint64_t *sid)
{
	uint8_t tpl[BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM];
	size_t len = brvm_template(GENUINE, BRVM_EMB_DIM, tpl, sizeof(tpl));
	struct bioreader_session_start st;

	memset(&st, 0, sizeof(st));
	st.template_ptr = (uintptr_t)tpl;
	st.template_len = len;
	st.timeout_ms = 20000;
	strcpy(st.operator_id, OPERATOR);
	st.ref_source = source;
	st.ref_flags = flags;
	memcpy(st.ref_issuer_sha256, issuer, 32);
	memcpy(st.ref_signer_sha256, signer, 32);
	if (ioctl(fd, BIOREADER_IOC_SESSION_START, &st))
		return -1;
	*sid = st.session_id;
	return 0;
}

/* @r's block is @source, @flags, @issuer, @signer; little-endian. */
static int ref_is(const rec_t *r, uint32_t source, uint32_t flags,
		  const uint8_t *issuer, const uint8_t *signer)
{
	const ref_t *ref = ref_of(r);
	int ok = le32toh(ref->source) == source &&
		 le32toh(ref->flags) == flags &&
		 !memcmp(ref->issuer_sha256, issuer, 32) &&
		 !memcmp(ref->signer_sha256, signer, 32);

	if (!ok)
		ktap_diag("reference: source %u flags %#x issuer %02x.. signer %02x..",
			  le32toh(ref->source), le32toh(ref->flags),
			  ref->issuer_sha256[0], ref->signer_sha256[0]);
	return ok;
}

int main(void)
{
	struct bioreader_policy p0, p;
	struct bioreader_verdict v;
	struct pollfd pfd;
	char buf[256];
	int8_t emb[BRVM_EMB_DIM];
	rec_t first;
	const rec_t *r;
	struct brvm_sim s;
	uint64_t sid, sid2, acked, u;
	long long t0, ms;
	int fd, afd = -1, afd2, ok, i, n;

	ktap_plan(44);
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_drain_stop())
		return brvm_bail("cannot stop the suite's audit drain");
	if (brvm_read_file("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) ||
	    parse_boot_id(buf, boot_id))
		return brvm_bail("no boot id");
	/* The drain set the driver's boot id; make sure it is set. */
	brvm_write_file(BRVM_BOOT_ID_PARAM, buf);

	if (brvm_sim_create(&s, "audit", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	if (fd < 0 || brvm_get_policy(fd, &p0))
		return brvm_bail("open reader");
	brvm_sim_person(&s, GENUINE);

	/* 1-3: no consumer: fail closed */
	KTAP_CASE("no consumer: fail closed") {
	ktap_expect_errno(start_op(fd, GENUINE, 3000, NULL), ENOLINK,
			  "no consumer: SESSION_START -> ENOLINK");
	ktap_expect_errno(brvm_set_policy(fd, &p0), ENOLINK,
			  "no consumer: SET_POLICY -> ENOLINK");
	ktap_expect_errno(ioctl(fd, BIOREADER_IOC_RESET_STATS), ENOLINK,
			  "no consumer: RESET_STATS -> ENOLINK");
	}

	/* 4-8: attach */
	KTAP_CASE("attach") {
	afd = open(BRVM_AUDIT_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (!brvm_ok(afd < 0 ? -1 : 0, "consumer opens " BRVM_AUDIT_DEV))
		return brvm_bail("no audit node");
	consumer_fd = afd;
	afd2 = open(BRVM_AUDIT_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ktap_expect_errno(afd2, EBUSY, "second consumer -> EBUSY");
	if (afd2 >= 0)
		close(afd2);
	ktap_expect_errno(read(afd, buf, 100), EINVAL,
			  "read with a 100-byte buffer -> EINVAL");
	ktap_expect_errno(read(afd, buf, REC_SIZE), EINVAL,
			  "read with a 160-byte buffer (one small record) -> EINVAL: under the largest, 232");
	collect(afd, NULL);
	r = find(BIOREADER_AUDIT_CONSUMER, 0);
	ok = r && r == &recs[nrecs - 1] && actor_is_us(r, "CONSUMER") &&
	     le32toh(r->reader) == BIOREADER_AUDIT_NO_READER &&
	     le32toh(r->detail[1]) == (uint32_t)brvm_audit_attr("capacity");
	ktap_check(ok, "CONSUMER record: last, actor is this process, capacity");
	}

	/* 9: the reader was added while nobody listened: queued all the same */
	KTAP_CASE("the reader was added while nobody listened: queued all the same") {
	r = find(BIOREADER_AUDIT_READER_ADDED, 0);
	ok = r && le32toh(r->reader) == (uint32_t)s.index &&
	     (le32toh(r->detail[2]) & 0xffff) == BRVM_WIDTH;
	ktap_check(ok, "READER_ADDED record: reader index, geometry");
	}

	/* 10-12: acknowledgements */
	KTAP_CASE("acknowledgements") {
	acked = last_seq();
	ktap_check(ack(afd, acked) == 0, "ACK of the last delivered seq");
	ktap_expect_errno(ack(afd, acked + 1), EINVAL,
			  "ACK beyond what was delivered -> EINVAL");
	ktap_check(ack(afd, 0) == 0 && brvm_audit_attr("acked") == (long long)acked,
		   "an older ACK is a no-op");
	}

	/* 13: policy change, old and new values */
	KTAP_CASE("policy change, old and new values") {
	p = p0;
	p.max_failures = 1;
	p.lockout_s = 2;
	ok = brvm_set_policy(fd, &p) == 0;
	collect(afd, NULL);
	r = find(BIOREADER_AUDIT_POLICY_CHANGE, 0);
	ok = ok && r && actor_is_us(r, "POLICY_CHANGE") &&
	     le32toh(r->reader) == (uint32_t)s.index &&
	     le32toh(r->detail[2]) >> 16 == p0.max_failures &&
	     le32toh(r->detail[3]) == p0.lockout_s &&
	     (le32toh(r->detail[4]) >> 16 & 0xff) == 1 &&
	     le32toh(r->detail[5]) == 2 &&
	     (le32toh(r->detail[1]) & 0xffff) == p0.default_timeout_ms;
	ktap_check(ok, "POLICY_CHANGE record: actor, old and new values");
	}

	/* 14-16: a genuine session */
	KTAP_CASE("a genuine session") {
	ok = session(fd, GENUINE, &sid, &v) == 0;
	collect(afd, NULL);
	ktap_check(ok && v.session_id == sid && v.audit_seq,
		   "verdict carries a non-zero audit_seq");
	ktap_check(session_fields(find(BIOREADER_AUDIT_SESSION_START, sid), sid,
				  s.index, "SESSION_START"),
		   "SESSION_START record: session, reader, operator, actor");
	ok = verdict_matches(&v, "genuine") &&
	     session_fields(find(BIOREADER_AUDIT_VERDICT, sid), sid, s.index,
			    "VERDICT");
	ktap_check(ok, "VERDICT record: seq = audit_seq, outcome, reason, flags, actor");
	}

	/* 17-18: an impostor with max_failures 1: NO_MATCH and a lockout */
	KTAP_CASE("an impostor with max_failures 1: NO_MATCH and a lockout") {
	ok = session(fd, IMPOSTOR, &sid2, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_NO_MATCH;
	collect(afd, NULL);
	ktap_check(ok && verdict_matches(&v, "impostor"),
		   "impostor: NO_MATCH, its VERDICT record");
	r = find(BIOREADER_AUDIT_LOCKOUT, sid2);
	ok = session_fields(r, sid2, s.index, "LOCKOUT") &&
	     le32toh(r->detail[0]) == 1 && le32toh(r->detail[1]) == 2 &&
	     r_seq(r) + 1 == v.audit_seq;
	ktap_check(ok, "LOCKOUT record: session, max_failures, lockout_s, before the verdict");
	}

	/* 19-20: a forged frame: INTEGRITY record with the frame error */
	KTAP_CASE("a forged frame: INTEGRITY record with the frame error") {
	p = p0;
	p.frames_required = 64;		/* no decision before the forgery */
	brvm_set_policy(fd, &p);
	ok = brvm_sim_inject(&s, "bad_mac") == 0;
	ok = ok && session(fd, GENUINE, &sid, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_ATTACK &&
	     v.reason == BIOREADER_REASON_FRAME_INTEGRITY;
	collect(afd, NULL);
	ktap_check(ok && verdict_matches(&v, "forged"),
		   "forged frame: ATTACK/FRAME_INTEGRITY, its VERDICT record");
	r = find(BIOREADER_AUDIT_INTEGRITY, sid);
	ok = session_fields(r, sid, s.index, "INTEGRITY") &&
	     le32toh(r->outcome) == 6 /* BIO_FRAME_ERR_MAC */ &&
	     r_seq(r) + 1 == v.audit_seq;
	if (r && !ok)
		ktap_diag("INTEGRITY error %u", le32toh(r->outcome));
	ktap_check(ok, "INTEGRITY record: session, frame error MAC, before the verdict");
	brvm_set_policy(fd, &p0);
	}

	/* 21: statistics reset */
	KTAP_CASE("statistics reset") {
	ok = ioctl(fd, BIOREADER_IOC_RESET_STATS) == 0;
	collect(afd, NULL);
	r = find(BIOREADER_AUDIT_STATS_RESET, 0);
	ktap_check(ok && r && r == &recs[nrecs - 1] &&
		   actor_is_us(r, "STATS_RESET") &&
		   le32toh(r->reader) == (uint32_t)s.index &&
		   le32toh(r->detail[0]) >= 3,
		   "STATS_RESET record: actor, reader, the counters reset");
	}

	/* 22: abort */
	KTAP_CASE("abort") {
	brvm_sim_scene(&s, "empty");
	ok = start_op(fd, GENUINE, 20000, &sid) == 0 && brvm_abort(fd) == 0 &&
	     wait_acking(fd, 5000, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_ABORTED;
	collect(afd, NULL);
	ktap_check(ok && verdict_matches(&v, "abort"),
		   "abort: ABORTED, its VERDICT record");
	}

	/* 23-31: the declared origin of the reference (struct version 1) */
	KTAP_CASE("the declared origin of the reference") {
	static uint8_t rb[2 * START_SIZE];
	uint8_t issuer[32], signer[32], zero[32] = { 0 }, v0[128];
	const uint32_t flags = BIOREADER_REF_BAC | BIOREADER_REF_CRL_CHECKED;
	struct bioreader_session_start st;
	ssize_t n1, n2;

	fingerprint(1, issuer);
	fingerprint(2, signer);
	collect(afd, NULL);
	ack(afd, last_seq());
	/* an ICAO PA declaration; the scene is empty: abort it */
	ok = start_ref(fd, BIOREADER_REF_SOURCE_ICAO_PA, flags, issuer, signer,
		       &sid) == 0 && brvm_abort(fd) == 0;
	if (!ok)
		ktap_diag("start with an ICAO PA declaration: %s", strerror(errno));
	/* unread now: its SESSION_START (232 bytes), then its VERDICT (160) */
	ktap_expect_errno(read(afd, rb, START_SIZE - 1), EINVAL,
			  "read with a 231-byte buffer, a SESSION_START next -> EINVAL");
	n1 = read(afd, rb, START_SIZE + REC_SIZE - 1);
	ok = take(rb, n1, NULL) == 1 && ok && n1 == START_SIZE &&
	     r_type(&recs[nrecs - 1]) == BIOREADER_AUDIT_SESSION_START;
	n2 = read(afd, rb, sizeof(rb));
	ok = take(rb, n2, NULL) == 1 && ok && n2 == REC_SIZE &&
	     r_type(&recs[nrecs - 1]) == BIOREADER_AUDIT_VERDICT;
	if (!ok)
		ktap_diag("reads: %zd then %zd bytes", n1, n2);
	ktap_check(ok, "read of 391 bytes: the 232-byte SESSION_START alone (the VERDICT does not fit); the next read: the VERDICT");
	r = find(BIOREADER_AUDIT_SESSION_START, sid);
	ok = r && size_of(r) == START_SIZE &&
	     le16toh(r->version) == BIOREADER_AUDIT_VERSION &&
	     ref_is(r, BIOREADER_REF_SOURCE_ICAO_PA, flags, issuer, signer) &&
	     session_fields(r, sid, s.index, "SESSION_START (ICAO PA)");
	ktap_check(ok, "SESSION_START record of an ICAO PA declaration: 232 bytes, version 2, the block as declared, the actor");
	ack(afd, last_seq());
	ok = wait_acking(fd, 5000, &v) == 0 && v.session_id == sid &&
	     v.outcome == BIOREADER_OUTCOME_ABORTED && verdict_matches(&v, "ICAO PA");
	ktap_check(ok, "its verdict and VERDICT record (160 bytes) as for any session");

	/* a version-0 caller: 64-byte struct, the ioctl number it was built with */
	memset(&st, 0, sizeof(st));
	{
		uint8_t tpl[BIOREADER_TEMPLATE_HDR_SIZE + BRVM_EMB_DIM];

		st.template_len = brvm_template(GENUINE, BRVM_EMB_DIM, tpl,
						sizeof(tpl));
		st.template_ptr = (uintptr_t)tpl;
		st.timeout_ms = 20000;
		strcpy(st.operator_id, OPERATOR);
		memset(v0, 0xa5, sizeof(v0));
		memcpy(v0, &st, BIOREADER_SESSION_START_SIZE_VER0);
		ok = ioctl(fd, IOC_START_V0, v0) == 0;
	}
	if (!ok)
		ktap_diag("version-0 SESSION_START: %s", strerror(errno));
	memcpy(&sid2, v0 + offsetof(struct bioreader_session_start, session_id),
	       sizeof(sid2));
	for (i = BIOREADER_SESSION_START_SIZE_VER0; i < (int)sizeof(v0); i++)
		ok = ok && v0[i] == 0xa5;
	ok = ok && sid2 > sid && brvm_abort(fd) == 0;
	ktap_check(ok, "a version-0 caller (64 bytes, _IOWR(0xBA, 1, 64 bytes)) starts a session; session_id written, nothing past its 64 bytes");
	n1 = read(afd, rb, START_SIZE + REC_SIZE);
	ok = take(rb, n1, NULL) == 2 && n1 == START_SIZE + REC_SIZE;
	if (ok) {
		rec_t a, b;

		memcpy(&a, rb, sizeof(a));
		memcpy(&b, rb + START_SIZE, sizeof(b));
		ok = r_type(&a) == BIOREADER_AUDIT_SESSION_START &&
		     le16toh(a.size) == START_SIZE && r_sid(&a) == sid2 &&
		     r_type(&b) == BIOREADER_AUDIT_VERDICT &&
		     le16toh(b.size) == REC_SIZE && r_sid(&b) == sid2 &&
		     r_seq(&b) == r_seq(&a) + 1;
	}
	if (!ok)
		ktap_diag("read of 392 bytes: %zd", n1);
	ktap_check(ok, "read of 392 bytes: SESSION_START (232) and VERDICT (160) packed back to back");
	r = find(BIOREADER_AUDIT_SESSION_START, sid2);
	ok = r && size_of(r) == START_SIZE &&
	     ref_is(r, BIOREADER_REF_SOURCE_NONE, 0, zero, zero) &&
	     session_fields(r, sid2, s.index, "SESSION_START (version 0)");
	ktap_check(ok, "the version-0 caller's SESSION_START record: 232 bytes, source none, the block all zero");
	ack(afd, last_seq());
	ok = wait_acking(fd, 5000, &v) == 0 && v.session_id == sid2 &&
	     verdict_matches(&v, "version 0");
	ktap_check(ok, "the version-0 caller's verdict is released as any other");
	ktap_expect_errno(brvm_wait(fd, 0, &v), ENOENT,
			  "the version-0 session is over: nothing more to WAIT for");
	}

	/* 32-36: the consumer goes away mid-session */
	/*
	 * In this process: the case closes the consumer opened before it,
	 * and the consumer must really go (a forked case's parent would
	 * still hold it).
	 */
	if (ktap_case("the consumer goes away mid-session", KTAP_INLINE)) {
	ack(afd, last_seq());
	acked = last_seq();
	ok = start_op(fd, GENUINE, 1000, &sid) == 0;	/* times out: empty */
	collect(afd, NULL);		/* SESSION_START read, not acknowledged */
	close(afd);
	consumer_fd = -1;
	t0 = brvm_now_ms();
	ok = ok && brvm_wait(fd, 4000, &v) == -1 && errno == ENOLINK;
	ms = brvm_now_ms() - t0;
	if (!ok)
		ktap_diag("WAIT: %s after %lld ms", strerror(errno), ms);
	ktap_check(ok && ms >= 3500, "consumer gone: WAIT -> ENOLINK at its timeout");
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	ktap_check(poll(&pfd, 1, 0) == 0 && !(pfd.revents & POLLIN),
		   "consumer gone: poll() reports no verdict");
	ktap_expect_errno(brvm_wait(fd, 0, &v), ENOLINK,
			  "consumer gone: WAIT with timeout 0 -> ENOLINK");
	afd = open(BRVM_AUDIT_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	memset(&first, 0, sizeof(first));
	n = afd >= 0 ? collect(afd, &first) : 0;
	r = find(BIOREADER_AUDIT_CONSUMER, 0);
	ok = n >= 3 && r_seq(&first) == acked + 1 &&
	     r_type(&first) == BIOREADER_AUDIT_SESSION_START &&
	     r_sid(&first) == sid && r && le32toh(r->detail[0]) == 2 &&
	     find(BIOREADER_AUDIT_VERDICT, sid);
	if (!ok)
		ktap_diag("after reopen: %d records, first seq %llu type %u (acked %llu)",
			  n, (unsigned long long)r_seq(&first), r_type(&first),
			  (unsigned long long)acked);
	ktap_check(ok, "reopened: unacknowledged records again from the oldest, then CONSUMER");
	consumer_fd = afd;
	ok = wait_acking(fd, 3000, &v) == 0 && v.session_id == sid &&
	     v.outcome == BIOREADER_OUTCOME_TIMEOUT;
	ktap_check(ok && verdict_matches(&v, "held"),
		   "reopened: the held verdict is released, audit_seq matches");
	}

	/* 37-40: the whole stream */
	KTAP_CASE("the whole stream") {
	ktap_check(!gaps && !bad_header && nrecs > 10,
		   "seq contiguous, magic, version 2, 232 bytes for SESSION_START and 160 for the others, packed");
	ktap_check(!dup_mismatch, "records delivered again are identical");
	ok = 1;
	for (u = 0; u < nrecs; u++)
		ok = ok && recs[u].stream_id && recs[u].stream_id == recs[0].stream_id &&
		     !memcmp(recs[u].boot_id, boot_id, 16);
	ktap_check(ok, "stream id constant and non-zero, boot id is this boot's");
	brvm_embedding(GENUINE, BRVM_EMB_DIM, emb);
	ok = !contains_embedding(emb, BRVM_EMB_DIM);
	brvm_embedding(IMPOSTOR, BRVM_EMB_DIM, emb);
	ok = ok && !contains_embedding(emb, BRVM_EMB_DIM);
	ktap_check(ok, "no template or embedding bytes in any record");
	ack(afd, last_seq());
		/* in the case: its parent keeps no copy for the next one */
	close(afd);
	close(fd);
	}

	/* 41-44: a small queue and a consumer that never acknowledges */
	KTAP_CASE("a small queue and a consumer that never acknowledges") {
	ok = unload_bioreader() == 0 &&
	     brvm_load_bioreader("audit_queue_len=" "32") == 0 &&
	     brvm_audit_attr("capacity") == SMALL_QUEUE &&
	     brvm_sim_find_node(&s, 5000) == 0;
	fd = ok ? brvm_open(&s) : -1;
	ok = ok && fd >= 0 &&
	     brvm_drain_start_opts("/tmp/t_audit-noack.bin", "--no-ack") == 0;
	ktap_check(ok, "bioreader reloaded with audit_queue_len=32, --no-ack consumer");
	for (i = 0; ok && i < 2 * SMALL_QUEUE; i++)
		if (brvm_set_policy(fd, &p0))
			break;
	ok = ok && i > 0 && i < 2 * SMALL_QUEUE && errno == ENOLINK;
	if (!ok)
		ktap_diag("%d policy changes, then %s", i, strerror(errno));
	ktap_check(ok, "queue full: SET_POLICY -> ENOLINK");
	ktap_expect_errno(start_op(fd, GENUINE, 3000, NULL), ENOLINK,
			  "queue full: SESSION_START -> ENOLINK");
	/* A consumer that acknowledges gets it all again and frees the queue. */
	brvm_drain_stop();
	ok = brvm_drain_start() == 0;
	for (i = 0; ok && i < 100 && brvm_audit_attr("pending") > 2; i++)
		brvm_sleep_ms(50);
	ok = ok && start_op(fd, GENUINE, 3000, NULL) == 0 &&
	     brvm_abort(fd) == 0 && brvm_wait(fd, 5000, &v) == 0;
	ktap_check(ok, "after the acknowledgements: sessions start again");
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	/* back to the suite's state: default queue, the drain attached */
	close(fd);
	brvm_drain_stop();
	if (unload_bioreader() || brvm_load_bioreader(NULL) ||
	    brvm_sim_find_node(&s, 5000))
		ktap_diag("could not restore bioreader");
	brvm_drain_start();
	brvm_sim_destroy(&s);
	return ktap_finish();
}
