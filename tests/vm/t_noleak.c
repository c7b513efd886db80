// SPDX-License-Identifier: GPL-2.0-only
/*
 * No biometric data leaves the kernel.  While frames of a known person
 * flow, every path a process has to the reader is tried: read, write,
 * mmap, every ioctl number of the magic in every direction with zeroed
 * buffers of several sizes, and the reader's sysfs/configfs files.
 * Outputs are scanned for the person's embedding (exact 16-byte windows
 * and any window correlated with it), the template, and frame headers.
 * Successful ioctls may only be the documented ones, writing only their
 * own structure; failing ones write nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/brvm_test.h"

#define PERSON		42
#define BUFSZ		(_IOC_SIZEMASK + 1 + 64)	/* 16 KiB + slack */
#define WIN		8	/* bytes of the embedding that count as a leak */

static int8_t emb[BRVM_EMB_DIM];
/* GET_INFO and GET_POLICY: any opener may read them, in any state. */
#define READS_ANYONE	(1u << 0x00 | 1u << 0x04)

static struct bioreader_info ref_info;		/* as GET_INFO gave it */
static struct bioreader_policy ref_policy;	/* as set by this test */
static int64_t emb_norm2;
static uint8_t *buf;

struct sweep {
	int calls;
	int undocumented;	/* an undocumented (nr, dir) succeeded */
	int wrote_on_error;	/* a failing call changed the buffer */
	int wrote_beyond;	/* a successful call wrote past its struct */
	int leaks;		/* embedding / frame bytes found */
	int bad_pad;		/* non-zero pad in a returned struct */
	int succeeded;
	unsigned int out_ok;	/* bit nr: a documented read of nr succeeded */
};

/* Documented (nr, dir) and the size of their output (0: none). */
static int documented(unsigned int nr, unsigned int dir, size_t *out)
{
	static const struct {
		unsigned int nr, dir;
		size_t out;
	} doc[] = {
		{ 0x00, _IOC_READ, sizeof(struct bioreader_info) },
		{ 0x01, _IOC_READ | _IOC_WRITE,
		  sizeof(struct bioreader_session_start) },
		{ 0x02, _IOC_READ | _IOC_WRITE,
		  sizeof(struct bioreader_verdict) },
		{ 0x03, _IOC_NONE, 0 },
		{ 0x04, _IOC_READ, sizeof(struct bioreader_policy) },
		{ 0x05, _IOC_WRITE, 0 },
		{ 0x06, _IOC_NONE, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(doc) / sizeof(doc[0]); i++)
		if (doc[i].nr == nr && doc[i].dir == dir) {
			*out = doc[i].out;
			return 1;
		}
	return 0;
}

/* Leak scan of @len bytes: 1 if anything biometric is found. */
static int leaky(const uint8_t *p, size_t len, const char *where)
{
	static const uint8_t frame_magic[4] = { 'B', 'F', 'R', 'M' };
	size_t first = len, last = 0, o;
	unsigned int i, w;

	for (o = 0; o < len; o++)
		if (p[o]) {
			if (first == len)
				first = o;
			last = o;
		}
	if (first == len)
		return 0;
	for (o = first; o + sizeof(frame_magic) <= len && o <= last; o++)
		if (!memcmp(p + o, frame_magic, sizeof(frame_magic))) {
			ktap_diag("%s: frame magic at offset %zu", where, o);
			return 1;
		}
	/* exact windows of the embedding */
	for (w = 0; w + WIN <= BRVM_EMB_DIM; w++)
		if (memmem(p + first, last - first + 1, emb + w, WIN)) {
			ktap_diag("%s: embedding bytes %u..%u found", where, w,
				  w + WIN - 1);
			return 1;
		}
	/* any window strongly correlated with the embedding */
	for (o = first > BRVM_EMB_DIM ? first - BRVM_EMB_DIM : 0;
	     o <= last && o + BRVM_EMB_DIM <= len; o++) {
		int64_t dot = 0, n2 = 0;

		for (i = 0; i < BRVM_EMB_DIM; i++) {
			int64_t x = (int8_t)p[o + i];

			dot += x * emb[i];
			n2 += x * x;
		}
		/* cosine > 0.5  <=>  4 dot^2 > n2 * |emb|^2, dot > 0 */
		if (n2 >= 8 * 64 && dot > 0 &&
		    4 * (double)dot * dot > (double)n2 * emb_norm2) {
			ktap_diag("%s: window at %zu correlates with the embedding",
				  where, o);
			return 1;
		}
	}
	return 0;
}

/*
 * A documented output must hold exactly the documented values: the
 * reader's info and policy as known, a verdict with in-range fields.
 * Nothing else can hide in them.
 */
static int output_ok(unsigned int nr)
{
	if (nr == 0x00) {
		struct bioreader_info i = *(struct bioreader_info *)buf;

		i.state = ref_info.state;	/* may change */
		return !memcmp(&i, &ref_info, sizeof(i));
	}
	if (nr == 0x02) {
		const struct bioreader_verdict *v = (void *)buf;

		/* audit_seq: the seq of the verdict's audit record, never 0 */
		return v->timeout_ms == 0 && v->outcome >= 1 &&
		       v->outcome <= BIOREADER_OUTCOME_ABORTED &&
		       v->reason <= BIOREADER_REASON_LAST &&
		       v->attack_class <= BIOREADER_ATTACK_INJECTION &&
		       !(v->flags & ~BIOREADER_VERDICT_LIVENESS_EVALUATED) &&
		       v->pad0 == 0 && v->session_id != 0 && v->audit_seq != 0;
	}
	if (nr == 0x04)
		return !memcmp(buf, &ref_policy, sizeof(ref_policy));
	return 1;
}

static void one(int fd, unsigned int nr, unsigned int dir, size_t size,
		struct sweep *sw)
{
	size_t out = 0, o, span;
	char where[64];
	int ret, doc;

	memset(buf, 0, BUFSZ);
	ret = ioctl(fd, _IOC(dir, BIOREADER_IOC_MAGIC, nr, size), buf);
	sw->calls++;
	snprintf(where, sizeof(where), "ioctl nr %#x dir %u size %zu", nr, dir,
		 size);
	doc = documented(nr, dir, &out);
	if (ret == 0) {
		sw->succeeded++;
		if (!doc) {
			ktap_diag("%s: undocumented command succeeded", where);
			sw->undocumented++;
		}
		if (doc && !output_ok(nr)) {
			ktap_diag("%s: unexpected content in the output", where);
			sw->bad_pad++;
		}
		if (doc && out && nr < 32)
			sw->out_ok |= 1u << nr;
	}
	span = ret == 0 && doc ? out : 0;
	for (o = span; o < BUFSZ; o++)
		if (buf[o]) {
			ktap_diag("%s (ret %d): byte %zu written", where, ret, o);
			if (ret)
				sw->wrote_on_error++;
			else
				sw->wrote_beyond++;
			break;
		}
	if (leaky(buf, BUFSZ, where))
		sw->leaks++;
}

static void sweep(int fd, struct sweep *sw)
{
	/* The exact sizes too, so that the documented reads do succeed. */
	static const size_t sizes[] = {
		0, 8, 64, 4096, _IOC_SIZEMASK,
		sizeof(struct bioreader_info),
		sizeof(struct bioreader_session_start),
		sizeof(struct bioreader_verdict),
		sizeof(struct bioreader_policy),
	};
	static const unsigned int dirs[] = {
		_IOC_WRITE, _IOC_READ, _IOC_READ | _IOC_WRITE,
	};
	unsigned int nr, d, z;

	memset(sw, 0, sizeof(*sw));
	for (nr = 0; nr < 256; nr++) {
		one(fd, nr, _IOC_NONE, 0, sw);
		for (d = 0; d < 3; d++)
			for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
				one(fd, nr, dirs[d], sizes[z], sw);
	}
}

/*
 * @want: the documented reads (bit nr) that must have succeeded, so that
 * "write only their struct" was checked on real outputs, not vacuously.
 */
static void report(const struct sweep *sw, const char *who, unsigned int want)
{
	char name[160];

	ktap_diag("%s: %d calls, %d succeeded, reads %#x (want %#x)", who,
		  sw->calls, sw->succeeded, sw->out_ok, want);
	snprintf(name, sizeof(name), "%s: only documented ioctls succeed", who);
	ktap_check(!sw->undocumented, name);
	snprintf(name, sizeof(name), "%s: failing ioctls write nothing", who);
	ktap_check(!sw->wrote_on_error, name);
	snprintf(name, sizeof(name),
		 "%s: successful ioctls write only their struct, with known values",
		 who);
	ktap_check(!sw->wrote_beyond && !sw->bad_pad &&
		   (sw->out_ok & want) == want, name);
	snprintf(name, sizeof(name),
		 "%s: no embedding, template or frame bytes in any output", who);
	ktap_check(!sw->leaks, name);
}

/* Read every regular file of a sysfs/configfs directory and scan it. */
static int scan_dir(const char *dir, int depth, int *files)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	int bad = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode) && depth > 0) {
			bad |= scan_dir(path, depth - 1, files);
		} else if (S_ISREG(st.st_mode) && (st.st_mode & 0444)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
			ssize_t n;

			if (fd < 0)
				continue;
			memset(buf, 0, BUFSZ);
			n = read(fd, buf, BUFSZ - 64);
			close(fd);
			if (n <= 0)
				continue;
			(*files)++;
			if (leaky(buf, n, path))
				bad = 1;
		}
	}
	closedir(d);
	return bad;
}

struct bg {
	int fd;
	volatile int stop;
	int sessions;
	int decided;	/* verdicts after frames_required face frames */
};

/* Keep sessions running on the owner fd so frames of the person flow. */
static void *background(void *arg)
{
	struct bg *b = arg;
	struct bioreader_verdict v;

	while (!b->stop) {
		if (brvm_start_id(b->fd, PERSON, 60000, NULL)) {
			brvm_sleep_ms(10);
			continue;
		}
		b->sessions++;
		if (brvm_wait(b->fd, 30000, &v) == 0 &&
		    v.outcome == BIOREADER_OUTCOME_MATCH)
			b->decided++;
	}
	return NULL;
}

int main(void)
{
	struct bioreader_policy def, p;
	struct pollfd pfd;
	struct sweep sw;
	struct brvm_sim s;
	struct bg bg;
	pthread_t th;
	char path[256];
	int fd, fd2, ok, files = 0;
	long long t0;
	unsigned int i;
	void *map;
	ssize_t n;

	ktap_plan(19);
	buf = malloc(BUFSZ);
	if (!buf)
		return brvm_bail("out of memory");
	brvm_embedding(PERSON, BRVM_EMB_DIM, emb);
	for (i = 0; i < BRVM_EMB_DIM; i++)
		emb_norm2 += emb[i] * emb[i];
	if (brvm_setup())
		return brvm_bail("modules not loaded");
	if (brvm_sim_create(&s, "noleak", 0, 0, 0))
		return brvm_bail("no simulated reader");
	fd = brvm_open(&s);
	fd2 = brvm_open(&s);
	if (fd < 0 || fd2 < 0 || brvm_get_policy(fd, &def))
		return brvm_bail("open reader");
	brvm_sim_person(&s, PERSON);
	/* long sessions: many frames of the person per session */
	p = def;
	p.frames_required = 64;
	if (brvm_set_policy(fd, &p) || brvm_get_policy(fd, &ref_policy) ||
	    brvm_info(fd, &ref_info))
		return brvm_bail("SET_POLICY");

	/* 1-3: no read, write, mmap */
	KTAP_CASE("no read, write, mmap") {
		n = read(fd, buf, 4096);
		ktap_expect_errno(n, EINVAL, "read() -> EINVAL");
		n = write(fd, buf, 64);
		ktap_expect_errno(n, EINVAL, "write() -> EINVAL");
		map = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fd, 0);
		ktap_expect_errno(map == MAP_FAILED ? -1 : 0, ENODEV, "mmap() -> ENODEV");
		if (map != MAP_FAILED)
			munmap(map, 65536);
	}

	/* 4-8: every ioctl from a non-owner fd while frames flow */
	KTAP_CASE("every ioctl from a non-owner fd while frames flow") {
		memset(&bg, 0, sizeof(bg));
		bg.fd = fd;
		pthread_create(&th, NULL, background, &bg);
		brvm_sleep_ms(300);
		t0 = brvm_now_ms();
		sweep(fd2, &sw);
		bg.stop = 1;
		pthread_join(th, NULL);
		ktap_diag("sweep took %lld ms; %d sessions, %d decided on 64 face frames",
			  brvm_now_ms() - t0, bg.sessions, bg.decided);
		report(&sw, "non-owner fd, frames flowing", READS_ANYONE);
		ktap_check(bg.decided > 0,
			   "frames of the person were processed around the sweep");
	}

	/* 9-12: every ioctl from the owner fd (its ABORT ends the session) */
	KTAP_CASE("every ioctl from the owner fd (its ABORT ends the session)") {
		ok = brvm_start_id(fd, PERSON, 60000, NULL) == 0;
		sweep(fd, &sw);
		report(&sw, "owner fd, session running", READS_ANYONE);
	}

	/* 13-16: verdict ready and unread on the owner fd */
	KTAP_CASE("verdict ready and unread on the owner fd") {
		ok = brvm_start_id(fd, PERSON, 20000, NULL) == 0;
		pfd.fd = fd;
		pfd.events = POLLIN;
		ok = ok && poll(&pfd, 1, 30000) == 1;
		if (!ok)
			ktap_diag("no verdict became ready");
		sweep(fd, &sw);
		report(&sw, "owner fd, verdict ready",
		       READS_ANYONE | 1u << 0x02);
	}

	/* 17: sysfs and configfs files */
	KTAP_CASE("sysfs and configfs files") {
		ok = !scan_dir(s.cls, 1, &files);
		snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s",
			 s.dev_name);
		ok = !scan_dir(path, 0, &files) && ok;
		snprintf(path, sizeof(path), BRVM_CONFIGFS "/%s", s.name);
		ok = !scan_dir(path, 0, &files) && ok;
		ktap_diag("%d sysfs/configfs files read", files);
		ktap_check(ok && files > 5,
			   "sysfs/configfs files hold no biometric data");
	}

	/* the cases are over: this process alone holds the files */
	ktap_case_end();
	/* 18-19 */
	ktap_check(brvm_set_policy(fd, &def) == 0, "policy restored");
	close(fd);
	close(fd2);
	ktap_check(brvm_sim_destroy(&s) == 0, "instance removed");
	free(buf);
	return ktap_finish();
}
