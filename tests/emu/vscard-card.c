// SPDX-License-Identifier: GPL-2.0-only
/*
 * vscard-card: an ID-card emulator for the tests, on the host side of
 * QEMU's ccid-card-passthru.
 *
 * QEMU's usb-ccid gives the guest a USB smart-card reader; its
 * ccid-card-passthru card forwards the card's side over a chardev in the
 * VSCard protocol: messages of a 12-byte header (type, reader_id, length,
 * each a big-endian 32-bit word) and a payload.  This program is the
 * other end: it listens on a Unix socket (QEMU connects to it as a
 * client: -chardev socket,path=SOCKET), says Init (magic "VSCD", version
 * 0.0.2), adds its reader (ReaderAdd), inserts the card (ATR), and answers
 * every APDU the guest sends (APDU) as a T=0 card would answer a TPDU.
 * Flush is answered with FlushComplete; Init and Error from QEMU are
 * logged.  (What QEMU calls an APDU is, with its TPDU-level usb-ccid, a
 * T=0 TPDU.)
 *
 * The card is one of two kinds, and "load" switches between them:
 *
 * File-system mode (--files DIR): a small ISO/IEC 7816-4 file system --
 *   SELECT by DF name (the eMRTD application, A0 00 00 02 47 10 01) and by
 *     file identifier (P1 00 or 02; 3F00 is the MF), with FCI/FCP through
 *     61xx unless P2 says "no response data";
 *   READ BINARY with a 15-bit offset or a short EF identifier; a P3 larger
 *     than what is left gives 6Cxx; with --t0-chain, P3 = 00 on more than
 *     256 bytes left gives 256 bytes and 61xx, and GET RESPONSE the rest
 *     (a response longer than T=0's 256 bytes, as ISO/IEC 7816-3 12.2.3
 *     allows for an extended Le);
 *   GET RESPONSE, GET CHALLENGE; 6D00, 6E00, 6700, 6A82, 6986, 6B00.
 * The files are read from a directory: a file named by four hex digits
 * (optionally with ".bin") is the EF of that identifier, reachable in the
 * application and the MF; its short EF identifier is the low five bits of
 * the identifier (eMRTD convention).
 *
 * Chip mode (--chip DOCDIR): an ICAO Doc 9303 chip, the in-process chip
 * of the unit tests (tests/unit/lib/card_model.c: BAC, Secure Messaging,
 * SELECT and READ BINARY of EF.COM, EF.SOD, DG1, DG2), serving a document
 * that tests/emu/card-issue wrote: DOCDIR holds 011E, 011D, 0101, 0102 and
 * "info" (MRZ_INFO='...', the BAC key).  The chip answers APDUs; this
 * program stays the T=0 layer around it (tests/unit/lib/t0_card.c): a
 * TPDU with data goes to the chip with Le 00 added, response data come
 * back through 61xx and GET RESPONSE, the last piece ending in the chip's
 * status word; a case-2 TPDU with the wrong P3 gets 6Cxx.  A chip that
 * gives no answer (fault silent) holds back 6F00 for 3 s, busy meanwhile.
 *
 * Control, from a FIFO (--control PATH, one command a line) and, with
 * --test-control, in-band from the guest (CLA 80 INS EC, the command text
 * as data; answered 9000, 6A80 when not understood):
 *   insert | remove             the card in / out (CardRemove, ATR)
 *   remove-after N [MS]         answer N more APDUs, then pull the card
 *                               instead of answering the next one; put it
 *                               back after MS ms (0 or none: stays out)
 *   silence [MS]                answer the next APDU only after MS ms
 *                               (0 or none: never; a removal drops it)
 *   truncate                    cut the next response to its first byte
 *   sw XXXX                     answer the next APDU with SW XXXX alone
 *   chain on|off                --t0-chain at run time
 *   load PATH [MS]              another card: 250 ms after the answer to
 *                               this command the card is pulled, and MS
 *                               ms later (default 500) PATH's card goes
 *                               in -- a document directory (chip mode)
 *                               or a directory of files; PATH is taken
 *                               under --docs DIR unless it starts with /
 *   fault NAME [FID]            chip mode: a fresh chip of the document
 *                               with a fault on the file FID (four hex
 *                               digits; none: the first it applies to),
 *                               card_model_set_fault: wrong-mac, truncate
 *                               (READ BINARY's protected answer cut in
 *                               half), 6982, 6988 (READ BINARY), 6a82
 *                               (SELECT), file-short (the file 16 bytes
 *                               shorter than its TLV says),
 *                               bad-cryptogram (BAC), silent (no answer
 *                               to READ BINARY), none
 *   max-read N                  chip mode: at most N bytes per READ
 *                               BINARY answer (0: no limit)
 *   unplug-after N [MS]         answer N more APDUs, then, instead of
 *                               answering the next one, unplug the reader:
 *                               ReaderRemove, then device_del of QEMU's
 *                               usb-ccid (id "ccid") over QEMU's QMP
 *                               socket (--qemu-monitor), so the guest's
 *                               pending command sees the device go (see
 *                               unplug()); plug it in again after MS ms
 *                               (0 or none: stays out)
 *   replug                      device_add of the reader ("ccid" on bus
 *                               "xhci.0") and its card ("ccid-card",
 *                               chardev "ccidcard", bus "ccid.0"), then
 *                               ReaderAdd and the ATR (from the FIFO: the
 *                               guest has no reader to send it over)
 *   quit
 * Every line of what happens goes to stderr (or --log FILE).
 *
 * Usage: vscard-card --socket PATH (--files DIR | --chip DOCDIR)
 *                    [--docs DIR] [--control FIFO] [--qemu-monitor SOCKET]
 *                    [--no-card] [--t0-chain] [--test-control] [--log FILE]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <limits.h>

#include "../unit/lib/card_model.h"
#include "../unit/lib/t0_card.h"

/* VSCard message types and error codes (the protocol, as QEMU speaks it). */
enum {
	VSC_INIT = 1, VSC_ERROR, VSC_READER_ADD, VSC_READER_REMOVE, VSC_ATR,
	VSC_CARD_REMOVE, VSC_APDU, VSC_FLUSH, VSC_FLUSH_COMPLETE,
};
#define VSC_HDR		12
#define VSC_VERSION	2u		/* 0.0.2: major 11 bits, middle 11, minor 10 */
#define VSC_MAX_PAYLOAD	65536
#define READER_ID	0
#define READER_NAME	"bioreader VSCard card"

#define MAX_FILES	64
#define MAX_FILE_SIZE	32767		/* offsets are 15 bits */
/* A chip that gives no answer (fault silent): the answer 6F00 is held
 * back this long, as with "silence MS", so the card is busy meanwhile */
#define CHIP_SILENT_MS	3000
/* load: the card is pulled this long after the answer to the command (QEMU
 * drops an answer the guest has not fetched yet when the card goes), and
 * stays out this long (default) before the new one goes in */
#define LOAD_DELAY_MS	250
#define LOAD_GAP_MS	500
/* QEMU's ids of the reader, its card, the card's chardev and the USB bus
 * (tests/vm/qemu/run.sh --ccid) */
#define QEMU_READER_ID	"ccid"
#define QEMU_CARD_ID	"ccid-card"
#define QEMU_CHARDEV	"ccidcard"
#define QEMU_USB_BUS	"xhci.0"

static const uint8_t AID_EMRTD[] = { 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };
/* T=0 only (no TD1, so no TCK), TA1 = 11 (Fi 372, Di 1); historical bytes:
 * category 80 and "bioreader". */
static const uint8_t ATR[] = {
	0x3B, 0x1A, 0x11, 0x80, 'b', 'i', 'o', 'r', 'e', 'a', 'd', 'e', 'r',
};

struct ef {
	uint16_t fid;
	uint8_t *data;
	size_t len;
};

static struct {
	struct ef files[MAX_FILES];
	unsigned int nfiles;
	FILE *log;
	int lfd, cfd, ctl;		/* listening, connection, control FIFO */
	uint8_t in[VSC_HDR + VSC_MAX_PAYLOAD];
	size_t inlen;
	bool card_in, want_card, chain, test_control;
	/* card state */
	bool app_selected;
	int cur;			/* file index, -1: none */
	uint8_t pending[65536 + 256];	/* GET RESPONSE data */
	size_t pend_len, pend_off;
	/* faults */
	long remove_after;		/* -1: off */
	long reinsert_ms;
	long long reinsert_at;		/* 0: none */
	bool silence_next;
	long silence_ms;
	uint8_t late[300];		/* an answer held back */
	size_t late_len;
	long long late_at;		/* 0: none; LLONG_MAX: never */
	bool late_held;
	/* APDUs that came while an answer was held back: a card answers
	 * one command at a time, so these wait their turn */
	uint8_t queue[8][5 + 255];
	size_t queue_len[8];
	unsigned int nqueue;
	bool truncate_next;
	int sw_next;			/* -1: none */
	unsigned long apdus;
	bool quit;
	/* chip mode: a document served by the in-process chip */
	bool chip;
	struct card_doc doc;
	struct card_model *model;
	struct t0_card t0;
	char docs[PATH_MAX];		/* where "load NAME" looks */
	char load_path[2 * PATH_MAX];	/* a load waiting for its answer to go */
	long load_gap_ms;
	long long load_at;		/* 0: none */
	/* the reader unplugged over QEMU's monitor */
	const char *qmp;
	long unplug_after;		/* -1: off */
	long replug_ms;
	long long replug_at;		/* 0: none */
	long long unplug_at;		/* ReaderRemove sent; device_del due */
	bool unplugged;
} E = { .lfd = -1, .cfd = -1, .ctl = -1, .cur = -1, .remove_after = -1,
	.sw_next = -1, .want_card = true, .unplug_after = -1 };

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(E.log, "vscard-card: [%ld.%03ld] ", (long)ts.tv_sec,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(E.log, fmt, ap);
	va_end(ap);
	fputc('\n', E.log);
	fflush(E.log);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hexdump(char *out, size_t cap, const uint8_t *p, size_t n)
{
	size_t i, o = 0;

	out[0] = 0;
	for (i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02X", p[i]);
	if (i < n && o + 4 < cap)
		snprintf(out + o, cap - o, "...");
}

/* ---------------------------------------------------------------- files */

static void free_files(void)
{
	unsigned int i;

	for (i = 0; i < E.nfiles; i++)
		free(E.files[i].data);
	memset(E.files, 0, sizeof(E.files));
	E.nfiles = 0;
	E.cur = -1;
}

/* The files of @dir, in place of those served so far. */
static int load_files(const char *dir)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp) {
		say("cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	free_files();
	while ((d = readdir(dp))) {
		char path[4096], *end;
		unsigned long fid;
		struct stat st;
		struct ef *f;
		FILE *fp;
		size_t n = strlen(d->d_name);

		if (!(n == 4 || (n == 8 && !strcmp(d->d_name + 4, ".bin"))))
			continue;
		fid = strtoul(d->d_name, &end, 16);
		if (end != d->d_name + 4 || fid == 0x3F00)
			continue;
		if (E.nfiles == MAX_FILES) {
			say("more than %d files; the rest ignored", MAX_FILES);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (st.st_size > MAX_FILE_SIZE) {
			say("%s: larger than %d bytes, skipped", path, MAX_FILE_SIZE);
			continue;
		}
		f = &E.files[E.nfiles];
		f->fid = (uint16_t)fid;
		f->len = (size_t)st.st_size;
		f->data = malloc(f->len ? f->len : 1);
		fp = fopen(path, "rb");
		if (!f->data || !fp || fread(f->data, 1, f->len, fp) != f->len) {
			say("cannot read %s", path);
			if (fp)
				fclose(fp);
			closedir(dp);
			return -1;
		}
		fclose(fp);
		say("file %04X: %zu bytes", f->fid, f->len);
		E.nfiles++;
	}
	closedir(dp);
	return 0;
}

static int find_fid(uint16_t fid)
{
	unsigned int i;

	for (i = 0; i < E.nfiles; i++)
		if (E.files[i].fid == fid)
			return (int)i;
	return -1;
}

static int find_sfi(unsigned int sfi)
{
	unsigned int i;

	for (i = 0; i < E.nfiles; i++)
		if ((E.files[i].fid & 0x1F) == sfi)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------- protocol */

static int send_msg(uint32_t type, const uint8_t *p, size_t len)
{
	uint8_t h[VSC_HDR];
	size_t off = 0;
	uint32_t v[3] = { type, READER_ID, (uint32_t)len };
	int i;

	if (E.cfd < 0)
		return -1;
	for (i = 0; i < 3; i++) {
		h[i * 4] = (uint8_t)(v[i] >> 24);
		h[i * 4 + 1] = (uint8_t)(v[i] >> 16);
		h[i * 4 + 2] = (uint8_t)(v[i] >> 8);
		h[i * 4 + 3] = (uint8_t)v[i];
	}
	while (off < VSC_HDR + len) {
		const uint8_t *src = off < VSC_HDR ? h + off : p + (off - VSC_HDR);
		size_t n = off < VSC_HDR ? VSC_HDR - off : len - (off - VSC_HDR);
		ssize_t w = send(E.cfd, src, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			say("send: %s", strerror(errno));
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

static void card_insert(void)
{
	E.card_in = true;
	E.app_selected = false;
	E.cur = -1;
	E.pend_len = E.pend_off = 0;
	t0_card_reset(&E.t0);
	say("card inserted (ATR, %zu bytes)", sizeof(ATR));
	send_msg(VSC_ATR, ATR, sizeof(ATR));
}

static void card_remove(void)
{
	E.card_in = false;
	E.late_at = 0;
	E.late_held = false;
	E.nqueue = 0;
	t0_card_reset(&E.t0);
	say("card removed");
	send_msg(VSC_CARD_REMOVE, NULL, 0);
}

/* ----------------------------------------------------------------- chip */

/* A directory holding a document (card-issue's docs/NAME/) rather than
 * plain files: it has an "info" file. */
static bool is_doc(const char *dir)
{
	char p[2 * PATH_MAX + 8];

	snprintf(p, sizeof(p), "%s/info", dir);
	return access(p, R_OK) == 0;
}

/* A new chip for E.doc (no faults, no session), behind the T=0 layer. */
static int chip_fresh(void)
{
	struct card_model *m = card_model_new(&E.doc);

	if (!m) {
		say("cannot make a chip of the document");
		return -1;
	}
	card_model_free(E.model);
	E.model = m;
	t0_card_init(&E.t0, card_model_transmit, m);
	return 0;
}

/* Serves the document of @dir from now on (chip mode). */
static int chip_load(const char *dir)
{
	struct card_doc d;

	if (card_doc_read(&d, dir)) {
		say("%s: not a document (011E 011D 0101 0102 info)", dir);
		return -1;
	}
	card_doc_free(&E.doc);
	E.doc = d;
	if (chip_fresh())
		return -1;
	E.chip = true;
	say("chip: document %s (EF.COM %zu, EF.SOD %zu, DG1 %zu, DG2 %zu bytes)", dir,
	    d.com_len, d.sod_len, d.dg1_len, d.dg2_len);
	return 0;
}

/* A document (chip mode) or a directory of files (file-system mode). */
static int load_any(const char *dir)
{
	if (is_doc(dir))
		return chip_load(dir);
	if (load_files(dir))
		return -1;
	E.chip = false;
	say("file system: %u files from %s", E.nfiles, dir);
	return 0;
}

/* "load" arguments: absolute, or under --docs. */
static void resolve(const char *arg, char *out, size_t cap)
{
	if (arg[0] == '/' || !E.docs[0])
		snprintf(out, cap, "%s", arg);
	else
		snprintf(out, cap, "%s/%s", E.docs, arg);
}

static const struct {
	const char *name;
	enum card_fault f;
} chip_faults[] = {
	{ "none", CARD_FAULT_NONE },
	{ "wrong-mac", CARD_FAULT_WRONG_MAC },
	{ "truncate", CARD_FAULT_TRUNCATE },
	{ "6982", CARD_FAULT_SW_6982 },
	{ "6a82", CARD_FAULT_SW_6A82 },
	{ "6988", CARD_FAULT_SW_6988 },
	{ "file-short", CARD_FAULT_FILE_SHORT },
	{ "bad-cryptogram", CARD_FAULT_BAD_CRYPTOGRAM },
	{ "silent", CARD_FAULT_SILENT },
};

/* fault NAME [FID]: a fresh chip of the same document with that fault. */
static int chip_fault(const char *name, const char *fid)
{
	unsigned int i, id = 0;
	char *end;

	if (!E.chip)
		return -1;
	if (fid && *fid) {
		id = (unsigned int)strtoul(fid, &end, 16);
		if (*end || strlen(fid) != 4)
			return -1;
	}
	for (i = 0; i < sizeof(chip_faults) / sizeof(chip_faults[0]); i++) {
		if (strcasecmp(name, chip_faults[i].name))
			continue;
		if (chip_fresh())
			return -1;
		card_model_set_fault(E.model, chip_faults[i].f, (uint16_t)id);
		return 0;
	}
	return -1;
}

/* ----------------------------------------------------- QEMU's monitor */

/* One line from QMP within @ms; 0, or -1 (closed, timeout). */
static int qmp_line(int fd, char *buf, size_t cap, int ms)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, ms) <= 0)
			return -1;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	if (n && buf[n - 1] == '\r')
		buf[n - 1] = 0;
	return 0;
}

/* Sends one QMP command and waits for its answer (events skipped). */
static int qmp_send(int fd, const char *cmd)
{
	char line[1024];
	size_t len = strlen(cmd);

	if (write(fd, cmd, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		return -1;
	for (;;) {
		if (qmp_line(fd, line, sizeof(line), 5000))
			return -1;
		if (strstr(line, "\"return\""))
			return 0;
		if (strstr(line, "\"error\"")) {
			say("QEMU monitor: %s", line);
			return -1;
		}
	}
}

/* Commands over QEMU's QMP socket (--qemu-monitor), one connection. */
static int qmp(const char *const *cmds, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[1024];
	size_t i;
	int fd, rc = -1;

	if (!E.qmp || strlen(E.qmp) >= sizeof(sa.sun_path)) {
		say("no QEMU monitor (--qemu-monitor)");
		return -1;
	}
	strcpy(sa.sun_path, E.qmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		say("QEMU monitor %s: %s", E.qmp, strerror(errno));
		goto out;
	}
	/* the greeting, then capabilities negotiation */
	if (qmp_line(fd, line, sizeof(line), 5000) || !strstr(line, "QMP") ||
	    qmp_send(fd, "{\"execute\":\"qmp_capabilities\"}")) {
		say("QEMU monitor: no QMP greeting");
		goto out;
	}
	for (i = 0; i < n; i++) {
		say("QEMU monitor: %s", cmds[i]);
		if (qmp_send(fd, cmds[i]))
			goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Unplugging the reader, in two steps.  QEMU's usb-ccid takes its card
 * away first when it is deleted, and answers a pending command "no card"
 * then, before the USB device goes: the guest would never see a reader
 * vanish under a command.  So the reader is first removed on the VSCard
 * side (ReaderRemove: usb-ccid marks the slot empty and drops the pending
 * command without answering it), and once QEMU has acknowledged that,
 * device_del takes the USB device away under the guest's waiting transfer.
 */
static void unplug(void)
{
	E.card_in = false;
	E.late_at = 0;
	E.late_held = false;
	E.nqueue = 0;
	t0_card_reset(&E.t0);
	E.unplug_at = now_ms() + 1000;	/* device_del even without the ack */
	say("reader removed (VSCard), device_del once QEMU acknowledges");
	send_msg(VSC_READER_REMOVE, NULL, 0);
}

static void unplug_del(void)
{
	static const char *const del[] = {
		"{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" QEMU_READER_ID "\"}}",
	};

	E.unplug_at = 0;
	if (qmp(del, 1)) {
		/* the reader stays: on the VSCard side too */
		say("unplug failed: the reader and its card back");
		send_msg(VSC_READER_ADD, (const uint8_t *)READER_NAME, sizeof(READER_NAME) - 1);
		if (E.want_card)
			card_insert();
		return;
	}
	/* the reader and its card are gone: nothing to tell QEMU now */
	E.unplugged = true;
	if (E.replug_ms > 0)
		E.replug_at = now_ms() + E.replug_ms;
	say("reader unplugged");
}

static int replug(void)
{
	static const char *const add[] = {
		"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"usb-ccid\","
		"\"id\":\"" QEMU_READER_ID "\",\"bus\":\"" QEMU_USB_BUS "\"}}",
		"{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"ccid-card-passthru\","
		"\"id\":\"" QEMU_CARD_ID "\",\"chardev\":\"" QEMU_CHARDEV "\","
		"\"bus\":\"" QEMU_READER_ID ".0\"}}",
	};
	int i;

	/* the old devices may take a moment to go (their chardev with them) */
	for (i = 0; i < 20; i++) {
		if (!qmp(add, 1))
			break;
		usleep(100 * 1000);
	}
	if (i == 20)
		return -1;
	for (i = 0; i < 20; i++) {
		if (!qmp(add + 1, 1))
			break;
		usleep(100 * 1000);
	}
	if (i == 20)
		return -1;
	E.unplugged = false;
	say("reader plugged in again");
	send_msg(VSC_READER_ADD, (const uint8_t *)READER_NAME, sizeof(READER_NAME) - 1);
	if (E.want_card)
		card_insert();
	return 0;
}

/* ----------------------------------------------------------------- card */

static size_t sw(uint8_t *r, size_t n, unsigned int s)
{
	r[n] = (uint8_t)(s >> 8);
	r[n + 1] = (uint8_t)s;
	return n + 2;
}

/* Data for GET RESPONSE: 61xx announcing it. */
static size_t offer(uint8_t *r, const uint8_t *d, size_t n)
{
	if (n > sizeof(E.pending))
		n = sizeof(E.pending);
	memcpy(E.pending, d, n);
	E.pend_len = n;
	E.pend_off = 0;
	return sw(r, 0, 0x6100 | (n >= 256 ? 0 : (unsigned int)n));
}

/* Serves P3 bytes (0: 256) of @d (@avail bytes there) as a case-2 answer. */
static size_t serve(uint8_t *r, const uint8_t *d, size_t avail, unsigned int p3,
		    bool from_pending)
{
	size_t want = p3 ? p3 : 256;

	if (avail == 0)
		return sw(r, 0, 0x6282);
	if (want > avail)
		return sw(r, 0, 0x6C00 | (unsigned int)avail);	/* avail < 256 here */
	memcpy(r, d, want);
	if (from_pending) {
		E.pend_off += want;
		if (E.pend_off < E.pend_len) {
			size_t left = E.pend_len - E.pend_off;

			return sw(r, want, 0x6100 | (left >= 256 ? 0 : (unsigned int)left));
		}
		E.pend_len = E.pend_off = 0;
	}
	return sw(r, want, 0x9000);
}

static size_t select_file(const uint8_t *a, size_t dl, uint8_t *r)
{
	uint8_t p1 = a[2], p2 = a[3];
	bool want_data = (p2 & 0x0C) != 0x0C;
	uint8_t fci[64];
	size_t n = 0;

	if (p1 == 0x04) {
		if (dl != sizeof(AID_EMRTD) || memcmp(a + 5, AID_EMRTD, dl))
			return sw(r, 0, 0x6A82);
		E.app_selected = true;
		E.cur = -1;
		if (!want_data)
			return sw(r, 0, 0x9000);
		fci[n++] = 0x6F;
		fci[n++] = 2 + sizeof(AID_EMRTD);
		fci[n++] = 0x84;
		fci[n++] = sizeof(AID_EMRTD);
		memcpy(fci + n, AID_EMRTD, sizeof(AID_EMRTD));
		n += sizeof(AID_EMRTD);
		return offer(r, fci, n);
	}
	if (p1 == 0x00 || p1 == 0x02) {
		uint16_t fid;
		int i;

		if (p1 == 0x00 && dl == 0) {
			E.app_selected = false;	/* the MF */
			E.cur = -1;
			return sw(r, 0, 0x9000);
		}
		if (dl != 2)
			return sw(r, 0, 0x6700);
		fid = (uint16_t)(a[5] << 8 | a[6]);
		if (fid == 0x3F00 && p1 == 0x00) {
			E.app_selected = false;
			E.cur = -1;
			return sw(r, 0, 0x9000);
		}
		i = find_fid(fid);
		if (i < 0)
			return sw(r, 0, 0x6A82);
		E.cur = i;
		if (!want_data)
			return sw(r, 0, 0x9000);
		/* FCP: size, descriptor (transparent EF), identifier */
		fci[n++] = 0x62;
		fci[n++] = 11;
		fci[n++] = 0x80;
		fci[n++] = 2;
		fci[n++] = (uint8_t)(E.files[i].len >> 8);
		fci[n++] = (uint8_t)E.files[i].len;
		fci[n++] = 0x82;
		fci[n++] = 1;
		fci[n++] = 0x01;
		fci[n++] = 0x83;
		fci[n++] = 2;
		fci[n++] = (uint8_t)(fid >> 8);
		fci[n++] = (uint8_t)fid;
		return offer(r, fci, n);
	}
	return sw(r, 0, 0x6A86);
}

static size_t read_binary(const uint8_t *a, uint8_t *r)
{
	size_t off, avail;
	struct ef *f;
	int i = E.cur;

	if (a[2] & 0x80) {
		i = find_sfi(a[2] & 0x1F);
		if ((a[2] & 0x60) || i < 0)
			return sw(r, 0, 0x6A82);
		E.cur = i;
		off = a[3];
	} else {
		off = (size_t)(a[2] << 8 | a[3]);
	}
	if (i < 0)
		return sw(r, 0, 0x6986);
	f = &E.files[i];
	if (off > f->len)
		return sw(r, 0, 0x6B00);
	avail = f->len - off;
	if (E.chain && a[4] == 0 && avail > 256) {
		/* 256 now, the rest by GET RESPONSE */
		memcpy(r, f->data + off, 256);
		memcpy(E.pending, f->data + off + 256, avail - 256);
		E.pend_len = avail - 256;
		E.pend_off = 0;
		return sw(r, 256, 0x6100 | (E.pend_len >= 256 ? 0 : (unsigned int)E.pend_len));
	}
	return serve(r, f->data + off, avail, a[4], false);
}

static int control(const char *line);

/*
 * One TPDU in, the answer out (at least SW1 SW2, at most 258 bytes: what
 * QEMU's reader passes on); 0 when the chip gives no answer.
 */
static size_t card_apdu(const uint8_t *a, size_t len, uint8_t *r)
{
	size_t dl;
	uint8_t ins;

	if (len < 4)
		return sw(r, 0, 0x6700);
	if (len == 4) {
		/* a reader may drop P3 of a case-1 TPDU */
		static uint8_t t[5];

		memcpy(t, a, 4);
		t[4] = 0;
		a = t;
		len = 5;
	}
	ins = a[1];
	/* case-3/4 TPDUs carry P3 data bytes; case-2 TPDUs carry none */
	dl = len - 5;
	if (dl && dl != a[4])
		return sw(r, 0, 0x6700);
	if (a[0] == 0x80 && ins == 0xEC && E.test_control) {
		char cmd[256];

		if (dl >= sizeof(cmd))
			return sw(r, 0, 0x6A80);
		memcpy(cmd, a + 5, dl);
		cmd[dl] = 0;
		return sw(r, 0, control(cmd) ? 0x6A80 : 0x9000);
	}
	if (E.chip) {
		size_t n = 258;

		/* the chip's answer over T=0; 0: no answer at all */
		return t0_card_tpdu(&E.t0, a, len, r, &n) ? 0 : n;
	}
	if (a[0] == 0xFF || (a[0] & 0x80))
		return sw(r, 0, 0x6E00);
	if (ins != 0xC0)
		E.pend_len = E.pend_off = 0;
	switch (ins) {
	case 0xA4:
		return select_file(a, dl, r);
	case 0xB0:
		if (dl)
			return sw(r, 0, 0x6700);
		return read_binary(a, r);
	case 0xC0:
		if (dl)
			return sw(r, 0, 0x6700);
		if (E.pend_off >= E.pend_len)
			return sw(r, 0, 0x6985);
		return serve(r, E.pending + E.pend_off, E.pend_len - E.pend_off,
			     a[4], true);
	case 0x84: {
		size_t n = a[4], i;

		if (dl)
			return sw(r, 0, 0x6700);
		if (n == 0)
			return sw(r, 0, 0x6C08);
		for (i = 0; i < n; i++)
			r[i] = (uint8_t)rand();
		return sw(r, n, 0x9000);
	}
	default:
		return sw(r, 0, 0x6D00);
	}
}

static void on_apdu(const uint8_t *a, size_t len)
{
	uint8_t r[300];
	char hx[80], hr[80];
	size_t n;

	hexdump(hx, sizeof(hx), a, len);
	if (E.late_held) {
		if (E.nqueue == 8 || len > sizeof(E.queue[0])) {
			say("APDU %s while busy: queue full, dropped", hx);
			return;
		}
		memcpy(E.queue[E.nqueue], a, len);
		E.queue_len[E.nqueue++] = len;
		say("APDU %s while the card is busy: queued", hx);
		return;
	}
	E.apdus++;
	if (!E.card_in) {
		say("APDU %s with no card: ignored", hx);
		return;
	}
	if (E.test_control && len >= 5 && a[0] == 0x80 && a[1] == 0xEC) {
		/* the test's own control: no fault applies to its answer */
		n = card_apdu(a, len, r);
		hexdump(hr, sizeof(hr), r, n);
		say("APDU %s -> %s", hx, hr);
		send_msg(VSC_APDU, r, n);
		return;
	}
	if (E.unplug_after == 0) {
		E.unplug_after = -1;
		say("APDU %s: unplugging the reader instead of answering", hx);
		unplug();
		return;
	}
	if (E.unplug_after > 0)
		E.unplug_after--;
	if (E.remove_after == 0) {
		E.remove_after = -1;
		say("APDU %s: pulling the card instead of answering", hx);
		card_remove();
		if (E.reinsert_ms > 0)
			E.reinsert_at = now_ms() + E.reinsert_ms;
		return;
	}
	if (E.remove_after > 0)
		E.remove_after--;
	if (E.sw_next >= 0) {
		n = sw(r, 0, (unsigned int)E.sw_next);
		E.sw_next = -1;
	} else {
		n = card_apdu(a, len, r);
	}
	if (!n) {
		/* the chip gave no answer: it stays busy for a while */
		n = sw(r, 0, 0x6F00);
		E.silence_next = true;
		E.silence_ms = CHIP_SILENT_MS;
		say("APDU %s: the chip gives no answer", hx);
	}
	if (E.truncate_next) {
		E.truncate_next = false;
		n = 1;
	}
	hexdump(hr, sizeof(hr), r, n);
	if (E.silence_next) {
		E.silence_next = false;
		memcpy(E.late, r, n);
		E.late_len = n;
		E.late_held = true;
		E.late_at = E.silence_ms > 0 ? now_ms() + E.silence_ms : 0;
		say("APDU %s -> %s held back (%ld ms)", hx, hr, E.silence_ms);
		return;
	}
	say("APDU %s -> %s", hx, hr);
	send_msg(VSC_APDU, r, n);
}

/* -------------------------------------------------------------- control */

static int control(const char *line)
{
	char w[32] = "", x[32] = "";
	long a = 0, b = 0;
	int n = sscanf(line, "%31s %31s", w, x);

	if (n < 1)
		return -1;
	say("control: %s", line);
	if (!strcmp(w, "insert")) {
		E.want_card = true;
		if (!E.card_in)
			card_insert();
	} else if (!strcmp(w, "remove")) {
		E.want_card = false;
		if (E.card_in)
			card_remove();
	} else if (!strcmp(w, "remove-after")) {
		if (sscanf(line, "%*s %ld %ld", &a, &b) < 1 || a < 0)
			return -1;
		E.remove_after = a;
		E.reinsert_ms = b;
	} else if (!strcmp(w, "silence")) {
		if (sscanf(line, "%*s %ld", &a) < 1)
			a = 0;
		E.silence_next = true;
		E.silence_ms = a;
	} else if (!strcmp(w, "truncate")) {
		E.truncate_next = true;
	} else if (!strcmp(w, "sw")) {
		unsigned int s;

		if (n < 2 || sscanf(x, "%4x", &s) != 1 || strlen(x) != 4)
			return -1;
		E.sw_next = (int)s;
	} else if (!strcmp(w, "chain")) {
		if (!strcmp(x, "on"))
			E.chain = true;
		else if (!strcmp(x, "off"))
			E.chain = false;
		else
			return -1;
	} else if (!strcmp(w, "fault")) {
		char f[8] = "";

		if (n < 2)
			return -1;
		sscanf(line, "%*s %*s %7s", f);
		if (chip_fault(x, f))
			return -1;
	} else if (!strcmp(w, "max-read")) {
		if (!E.chip || sscanf(line, "%*s %ld", &a) != 1 || a < 0 || a > 256)
			return -1;
		card_model_set_max_read(E.model, (unsigned int)a);
	} else if (!strcmp(w, "load")) {
		char arg[PATH_MAX], path[sizeof(E.load_path)];
		struct card_doc d;
		int k = sscanf(line, "%*s %4095s %ld", arg, &b);

		if (k < 1 || (k == 2 && b < 0))
			return -1;
		resolve(arg, path, sizeof(path));
		if (is_doc(path)) {
			if (card_doc_read(&d, path))
				return -1;
			card_doc_free(&d);
		} else if (access(path, R_OK | X_OK)) {
			return -1;
		}
		/* after the answer to this command has gone */
		snprintf(E.load_path, sizeof(E.load_path), "%s", path);
		E.load_gap_ms = k == 2 ? b : LOAD_GAP_MS;
		E.load_at = now_ms() + LOAD_DELAY_MS;
	} else if (!strcmp(w, "unplug-after")) {
		if (!E.qmp || sscanf(line, "%*s %ld %ld", &a, &b) < 1 || a < 0)
			return -1;
		E.unplug_after = a;
		E.replug_ms = b;
	} else if (!strcmp(w, "replug")) {
		if (!E.unplugged || replug())
			return -1;
	} else if (!strcmp(w, "quit")) {
		E.quit = true;
	} else {
		say("control: unknown command");
		return -1;
	}
	return 0;
}

/* load: the card out, the new one in after the gap. */
static void do_load(void)
{
	E.load_at = 0;
	if (E.card_in)
		card_remove();
	if (load_any(E.load_path))
		say("load %s failed: the card stays out", E.load_path);
	else
		E.reinsert_at = now_ms() + (E.load_gap_ms > 0 ? E.load_gap_ms : 0);
}

static void read_control(void)
{
	static char buf[1024];
	static size_t have;
	ssize_t n = read(E.ctl, buf + have, sizeof(buf) - 1 - have);
	char *nl;

	if (n <= 0)
		return;
	have += (size_t)n;
	buf[have] = 0;
	while ((nl = strchr(buf, '\n'))) {
		*nl = 0;
		if (*buf)
			control(buf);
		have -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, have + 1);
	}
	if (have == sizeof(buf) - 1)
		have = 0;	/* an endless line: dropped */
}

/* ---------------------------------------------------------- connection */

static void on_connect(void)
{
	uint8_t init[12] = { 'V', 'S', 'C', 'D', 0, 0, 0, VSC_VERSION, 0, 0, 0, 0 };

	E.inlen = 0;
	say("QEMU connected");
	send_msg(VSC_INIT, init, sizeof(init));
	send_msg(VSC_READER_ADD, (const uint8_t *)READER_NAME, sizeof(READER_NAME) - 1);
	E.card_in = false;
	if (E.want_card)
		card_insert();
}

static void drop_connection(const char *why)
{
	say("connection closed (%s)", why);
	close(E.cfd);
	E.cfd = -1;
	E.card_in = false;
	E.late_at = 0;
	E.late_held = false;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void on_message(uint32_t type, const uint8_t *p, uint32_t len)
{
	switch (type) {
	case VSC_APDU:
		on_apdu(p, len);
		break;
	case VSC_INIT:
		if (len < 8 || memcmp(p, "VSCD", 4))
			say("Init from QEMU with a wrong magic");
		else
			say("Init from QEMU, version %u", be32(p + 4));
		break;
	case VSC_ERROR:
		say("Error message from QEMU: code %u", len >= 4 ? be32(p) : 0);
		if (E.unplug_at)
			unplug_del();	/* ReaderRemove acknowledged */
		break;
	case VSC_FLUSH:
		send_msg(VSC_FLUSH_COMPLETE, NULL, 0);
		break;
	default:
		say("unexpected message type %u (%u bytes)", type, len);
		break;
	}
}

static void read_connection(void)
{
	ssize_t n = recv(E.cfd, E.in + E.inlen, sizeof(E.in) - E.inlen, 0);
	size_t off = 0;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		drop_connection(n ? strerror(errno) : "EOF");
		return;
	}
	E.inlen += (size_t)n;
	while (E.inlen - off >= VSC_HDR) {
		uint32_t type = be32(E.in + off), len = be32(E.in + off + 8);

		if (len > VSC_MAX_PAYLOAD) {
			drop_connection("message too long");
			return;
		}
		if (E.inlen - off - VSC_HDR < len)
			break;
		on_message(type, E.in + off + VSC_HDR, len);
		if (E.cfd < 0)
			return;
		off += VSC_HDR + len;
	}
	memmove(E.in, E.in + off, E.inlen - off);
	E.inlen -= off;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vscard-card --socket PATH (--files DIR | --chip DOCDIR) [--docs DIR]\n"
		   "                   [--control FIFO] [--qemu-monitor SOCKET] [--no-card]\n"
		   "                   [--t0-chain] [--test-control] [--log FILE]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "files", required_argument, NULL, 'f' },
		{ "control", required_argument, NULL, 'c' },
		{ "no-card", no_argument, NULL, 'n' },
		{ "t0-chain", no_argument, NULL, 'C' },
		{ "test-control", no_argument, NULL, 'T' },
		{ "log", required_argument, NULL, 'l' },
		{ "chip", required_argument, NULL, 'D' },
		{ "docs", required_argument, NULL, 'd' },
		{ "qemu-monitor", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *files = NULL, *ctl = NULL, *chip = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int c;

	E.log = stderr;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'f': files = optarg; break;
		case 'c': ctl = optarg; break;
		case 'n': E.want_card = false; break;
		case 'C': E.chain = true; break;
		case 'T': E.test_control = true; break;
		case 'D': chip = optarg; break;
		case 'd': snprintf(E.docs, sizeof(E.docs), "%s", optarg); break;
		case 'q': E.qmp = optarg; break;
		case 'l':
			E.log = fopen(optarg, "a");
			if (!E.log) {
				perror(optarg);
				return 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!sock || !files == !chip || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	if (files ? load_files(files) : chip_load(chip))
		return 1;
	if (ctl) {
		if (mkfifo(ctl, 0600) && errno != EEXIST) {
			perror(ctl);
			return 1;
		}
		/* read-write: no EOF when a writer goes away */
		E.ctl = open(ctl, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (E.ctl < 0) {
			perror(ctl);
			return 1;
		}
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vscard-card: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, sock);
	unlink(sock);
	E.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (E.lfd < 0 || bind(E.lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(E.lfd, 1)) {
		perror(sock);
		return 1;
	}
	say("listening on %s (%s, card %s, T=0 chains %s)", sock,
	    E.chip ? "chip" : "file system", E.want_card ? "in" : "out",
	    E.chain ? "on" : "off");
	while (!E.quit) {
		struct pollfd p[3];
		int np = 0, timeout = -1, i;
		long long now = now_ms();

		if (E.late_held && E.late_at) {
			timeout = E.late_at > now ? (int)(E.late_at - now) : 0;
		}
		if (E.reinsert_at) {
			int t = E.reinsert_at > now ? (int)(E.reinsert_at - now) : 0;

			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (E.replug_at) {
			int t = E.replug_at > now ? (int)(E.replug_at - now) : 0;

			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (E.unplug_at) {
			int t = E.unplug_at > now ? (int)(E.unplug_at - now) : 0;

			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		if (E.load_at) {
			int t = E.load_at > now ? (int)(E.load_at - now) : 0;

			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		p[np++] = (struct pollfd){ .fd = E.cfd >= 0 ? E.cfd : E.lfd, .events = POLLIN };
		if (E.ctl >= 0)
			p[np++] = (struct pollfd){ .fd = E.ctl, .events = POLLIN };
		if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR) {
			perror("poll");
			return 1;
		}
		now = now_ms();
		if (E.late_held && E.late_at && now >= E.late_at) {
			E.late_held = false;
			E.late_at = 0;
			say("sending the held-back answer");
			if (E.card_in)
				send_msg(VSC_APDU, E.late, E.late_len);
			/* then what waited, in order (until one is held again) */
			while (E.nqueue && !E.late_held) {
				uint8_t q[5 + 255];
				size_t ql = E.queue_len[0];

				memcpy(q, E.queue[0], ql);
				E.nqueue--;
				memmove(E.queue[0], E.queue[1], E.nqueue * sizeof(E.queue[0]));
				memmove(E.queue_len, E.queue_len + 1, E.nqueue * sizeof(E.queue_len[0]));
				on_apdu(q, ql);
			}
		}
		if (E.reinsert_at && now >= E.reinsert_at) {
			E.reinsert_at = 0;
			E.want_card = true;
			if (!E.card_in && E.cfd >= 0 && !E.unplugged)
				card_insert();
		}
		if (E.unplug_at && now >= E.unplug_at)
			unplug_del();
		if (E.replug_at && now >= E.replug_at) {
			E.replug_at = 0;
			if (E.unplugged && replug())
				say("replug failed");
		}
		for (i = 0; i < np; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (p[i].fd == E.ctl) {
				read_control();
			} else if (p[i].fd == E.lfd && E.cfd < 0) {
				E.cfd = accept4(E.lfd, NULL, NULL, SOCK_CLOEXEC);
				if (E.cfd >= 0)
					on_connect();
			} else if (p[i].fd == E.cfd) {
				read_connection();
			}
		}
		if (E.load_at && now_ms() >= E.load_at)
			do_load();
	}
	say("quit after %lu APDUs", E.apdus);
	if (E.cfd >= 0)
		close(E.cfd);
	close(E.lfd);
	unlink(sock);
	return 0;
}
