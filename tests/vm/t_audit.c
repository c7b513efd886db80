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
 * refused, and no template or embedding byte in any record.
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

static rec_t recs[MAX_RECS];	/* recs[i] has seq base + i */
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

/* Store one delivered record: new ones must follow, old ones be equal. */
static void add_record(const rec_t *r)
{
	uint64_t seq = r_seq(r);

	if (le32toh(r->magic) != BIOREADER_AUDIT_MAGIC ||
	    le16toh(r->version) != BIOREADER_AUDIT_VERSION ||
	    le16toh(r->size) != BIOREADER_AUDIT_RECORD_SIZE)
		bad_header++;
	if (!nrecs && !base) {
		base = seq;
	} else if (seq < base || seq > base + nrecs) {
		ktap_diag("seq %llu after %llu", (unsigned long long)seq,
			  (unsigned long long)(base + nrecs - 1));
		gaps++;
		return;
	}
	if (seq < base + nrecs) {
		if (memcmp(&recs[seq - base], r, sizeof(*r))) {
			ktap_diag("record %llu delivered again differs",
				  (unsigned long long)seq);
			dup_mismatch++;
		}
		return;
	}
	if (nrecs >= MAX_RECS)
		return;
	recs[nrecs++] = *r;
}

/*
 * Read everything the consumer @afd has now (non-blocking); the first
 * record read goes to *@first if given.  Returns the records read.
 */
static int collect(int afd, rec_t *first)
{
	rec_t buf[16];
	int total = 0;

	for (;;) {
		ssize_t n = read(afd, buf, sizeof(buf));
		int i;

		if (n < 0)
			break;
		if (n % sizeof(rec_t)) {
			ktap_diag("read returned %zd bytes", n);
			bad_header++;
		}
		for (i = 0; i < n / (ssize_t)sizeof(rec_t); i++) {
			if (!total && first)
				*first = buf[i];
			add_record(&buf[i]);
			total++;
		}
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

/* Does any 8-byte run of @emb occur in the records? */
static int contains_embedding(const int8_t *emb, unsigned int dim)
{
	const uint8_t *hay = (const uint8_t *)recs;
	size_t len = nrecs * sizeof(rec_t), i;
	unsigned int j;

	for (j = 0; j + 8 <= dim; j++)
		for (i = 0; i + 8 <= len; i++)
			if (!memcmp(hay + i, emb + j, 8))
				return 1;
	return 0;
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

	ktap_plan(34);
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

	/* 4-7: attach */
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
	collect(afd, NULL);
	r = find(BIOREADER_AUDIT_CONSUMER, 0);
	ok = r && r == &recs[nrecs - 1] && actor_is_us(r, "CONSUMER") &&
	     le32toh(r->reader) == BIOREADER_AUDIT_NO_READER &&
	     le32toh(r->detail[1]) == (uint32_t)brvm_audit_attr("capacity");
	ktap_check(ok, "CONSUMER record: last, actor is this process, capacity");
	}

	/* 8: the reader was added while nobody listened: queued all the same */
	KTAP_CASE("the reader was added while nobody listened: queued all the same") {
	r = find(BIOREADER_AUDIT_READER_ADDED, 0);
	ok = r && le32toh(r->reader) == (uint32_t)s.index &&
	     (le32toh(r->detail[2]) & 0xffff) == BRVM_WIDTH;
	ktap_check(ok, "READER_ADDED record: reader index, geometry");
	}

	/* 9-11: acknowledgements */
	KTAP_CASE("acknowledgements") {
	acked = last_seq();
	ktap_check(ack(afd, acked) == 0, "ACK of the last delivered seq");
	ktap_expect_errno(ack(afd, acked + 1), EINVAL,
			  "ACK beyond what was delivered -> EINVAL");
	ktap_check(ack(afd, 0) == 0 && brvm_audit_attr("acked") == (long long)acked,
		   "an older ACK is a no-op");
	}

	/* 12: policy change, old and new values */
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

	/* 13-15: a genuine session */
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

	/* 16-17: an impostor with max_failures 1: NO_MATCH and a lockout */
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

	/* 18-19: a forged frame: INTEGRITY record with the frame error */
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

	/* 20: statistics reset */
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

	/* 21: abort */
	KTAP_CASE("abort") {
	brvm_sim_scene(&s, "empty");
	ok = start_op(fd, GENUINE, 20000, &sid) == 0 && brvm_abort(fd) == 0 &&
	     wait_acking(fd, 5000, &v) == 0 &&
	     v.outcome == BIOREADER_OUTCOME_ABORTED;
	collect(afd, NULL);
	ktap_check(ok && verdict_matches(&v, "abort"),
		   "abort: ABORTED, its VERDICT record");
	}

	/* 22-26: the consumer goes away mid-session */
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

	/* 27-30: the whole stream */
	KTAP_CASE("the whole stream") {
	ktap_check(!gaps && !bad_header && nrecs > 10,
		   "seq contiguous, every record 160 bytes, magic and version");
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

	/* 31-34: a small queue and a consumer that never acknowledges */
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
