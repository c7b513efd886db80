// SPDX-License-Identifier: GPL-2.0-only
/*
 * The card emulator's chip mode, natively (no VM):
 *
 *  - the card's side of T=0 (tests/unit/lib/t0_card.c) against a scripted
 *    APDU-level card: what the card sees, 61xx and GET RESPONSE, 6Cxx,
 *    chains past 256 bytes, a case-4 status word kept to the end;
 *  - a document on disk and back (card_doc_write, card_doc_read);
 *  - lib/idcard's read over both T=0 layers, the host's (t0_transmit)
 *    and the card's, into the in-process chip: the genuine document and
 *    the chip's faults, with the same errors as without T=0;
 *  - the emulator itself (build/tests/emu/vscard-card --chip), with
 *    documents from build/tests/emu/card-issue, driven over its socket as
 *    QEMU's ccid-card-passthru drives it (VSCard): the genuine read, every
 *    fault document through "load", the chip's faults through "fault", a
 *    card pulled mid-read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bioreader.h>

#include "idcard/idcard.h"
#include "idcard/t0.h"
#include "sim/sim_identity.h"
#include "lib/card_model.h"
#include "lib/tmpdir.h"
#include "lib/t0_card.h"
#include "ktap.h"

#define DIM 128

static const struct card_person alice = {
	.doc_number = "D23145890", .birth = "740812", .expiry = "310415",
	.name = "ERIKSSON<<ANNA<MARIA", .identity = 42, .dim = DIM,
};
static const struct card_person bob = {
	.doc_number = "X12AB34C", .birth = "851231", .expiry = "290101",
	.name = "DOE<<JOHN", .identity = 777, .dim = DIM,
};

static char dir[] = "/tmp/card-chip-test-XXXXXX";

/* ------------------------------------------------- a scripted APDU card */

static struct {
	uint8_t seen[300];	/* the last APDU */
	size_t seen_len;
	size_t data;		/* answer with this many bytes (i & 0xff) */
	uint16_t sw;
	int silent;
} fk;

static int fake_apdu(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t *rlen)
{
	size_t i;

	(void)ctx;
	memcpy(fk.seen, a, len);
	fk.seen_len = len;
	if (fk.silent)
		return -1;
	for (i = 0; i < fk.data; i++)
		r[i] = (uint8_t)i;
	r[fk.data] = (uint8_t)(fk.sw >> 8);
	r[fk.data + 1] = (uint8_t)fk.sw;
	*rlen = fk.data + 2;
	return 0;
}

static struct t0_card tc;

/* One TPDU (hex) to the card side; its answer's length and SW. */
static int tp(const uint8_t *t, size_t n, uint8_t *r, size_t *rl)
{
	*rl = 300;
	return t0_card_tpdu(&tc, t, n, r, rl);
}

static unsigned int sw_of(const uint8_t *r, size_t rl)
{
	return rl >= 2 ? (unsigned int)(r[rl - 2] << 8 | r[rl - 1]) : 0;
}

static int counting(const uint8_t *r, size_t n, size_t from)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i] != (uint8_t)(from + i))
			return 0;
	return 1;
}

static void case_t0_card(void)
{
	static const uint8_t gc[5] = { 0x00, 0x84, 0x00, 0x00, 0x08 };
	static const uint8_t gc0[5] = { 0x00, 0x84, 0x00, 0x00, 0x00 };
	static const uint8_t c4[8] = { 0x0C, 0xB0, 0x00, 0x00, 0x03, 0x97, 0x01, 0xDF };
	uint8_t r[300], gr[5] = { 0x00, 0xC0, 0x00, 0x00, 0x00 };
	size_t rl;

	t0_card_init(&tc, fake_apdu, NULL);
	fk.data = 8;
	fk.sw = 0x9000;
	ktap_check(tp(gc, 5, r, &rl) == 0 && rl == 10 && sw_of(r, rl) == 0x9000 &&
		   counting(r, 8, 0) && fk.seen_len == 5,
		   "t0 card: case 2 with the right P3: the data and the status at once");
	ktap_check(tp(gc0, 5, r, &rl) == 0 && rl == 2 && sw_of(r, rl) == 0x6C08,
		   "t0 card: case 2 with another P3: 6C08");
	fk.data = 300;
	ktap_check(tp(gc0, 5, r, &rl) == 0 && rl == 258 && sw_of(r, rl) == 0x612C &&
		   counting(r, 256, 0), "t0 card: case 2, 300 bytes for P3 00: 256 and 612C");
	gr[4] = 0x2C;
	ktap_check(tp(gr, 5, r, &rl) == 0 && rl == 46 && sw_of(r, rl) == 0x9000 &&
		   counting(r, 44, 256), "t0 card: ... GET RESPONSE 2C: the rest and 9000");
	ktap_check(tp(gr, 5, r, &rl) == 0 && rl == 2 && sw_of(r, rl) == 0x6985,
		   "t0 card: GET RESPONSE with nothing pending: 6985");
	fk.data = 0xF2;
	fk.sw = 0x6282;
	ktap_check(tp(c4, 8, r, &rl) == 0 && rl == 2 && sw_of(r, rl) == 0x61F2 &&
		   fk.seen_len == 9 && fk.seen[8] == 0x00 && !memcmp(fk.seen, c4, 8),
		   "t0 card: case 4: the card sees the TPDU and Le 00; 61F2");
	gr[4] = 0xF3;
	ktap_check(tp(gr, 5, r, &rl) == 0 && rl == 2 && sw_of(r, rl) == 0x6CF2,
		   "t0 card: GET RESPONSE asking for more than is left: 6CF2");
	gr[4] = 0x80;
	ktap_check(tp(gr, 5, r, &rl) == 0 && rl == 0x82 && sw_of(r, rl) == 0x6172 &&
		   counting(r, 0x80, 0), "t0 card: GET RESPONSE in two pieces: 80 bytes, 6172");
	gr[4] = 0x72;
	ktap_check(tp(gr, 5, r, &rl) == 0 && rl == 0x74 && sw_of(r, rl) == 0x6282 &&
		   counting(r, 0x72, 0x80),
		   "t0 card: ... the last piece ends with the command's own status (6282)");
	fk.data = 0;
	fk.sw = 0x6A82;
	ktap_check(tp(c4, 8, r, &rl) == 0 && rl == 2 && sw_of(r, rl) == 0x6A82,
		   "t0 card: a status word alone comes back at once");
	fk.silent = 1;
	ktap_check(tp(c4, 8, r, &rl) == -1, "t0 card: a card that gives no answer: none");
	fk.silent = 0;
	ktap_check(tp(c4, 4, r, &rl) == 0 && sw_of(r, rl) == 0x6A82 && fk.seen_len == 5 &&
		   fk.seen[4] == 0, "t0 card: a TPDU without P3 is taken as P3 00");
	ktap_check(tp(c4, 7, r, &rl) == 0 && sw_of(r, rl) == 0x6700,
		   "t0 card: P3 and the data disagree: 6700");
}

/* ------------------------------------------- the chip under both T=0s */

static struct card_pki pki;
static struct idc_trust *trust;

/* The host's T=0 over the card's T=0 over @c. */
static int read_t0(struct card_model *c, const char *mrz, struct idc_result *res,
		   struct t0_link *lk)
{
	memset(lk, 0, sizeof(*lk));
	t0_card_init(&tc, card_model_transmit, c);
	lk->xfr = t0_card_xfr;
	lk->ctx = &tc;
	return idc_read_verified(t0_transmit, lk, mrz, trust, res);
}

static int same_doc(const struct card_doc *a, const struct card_doc *b)
{
	return a->com_len == b->com_len && !memcmp(a->com, b->com, a->com_len) &&
	       a->sod_len == b->sod_len && !memcmp(a->sod, b->sod, a->sod_len) &&
	       a->dg1_len == b->dg1_len && !memcmp(a->dg1, b->dg1, a->dg1_len) &&
	       a->dg2_len == b->dg2_len && !memcmp(a->dg2, b->dg2, a->dg2_len) &&
	       !memcmp(a->mrz_info, b->mrz_info, sizeof(a->mrz_info));
}

static void case_setup(void)
{
	char p[4200], q[4200];

	ktap_require(tmpdir_make(dir) != NULL, "setup: temporary directory");
	snprintf(p, sizeof(p), "%s/csca", dir);
	snprintf(q, sizeof(q), "%s/crl", dir);
	ktap_require(mkdir(p, 0700) == 0 && mkdir(q, 0700) == 0 &&
		     card_pki_make(&pki, "UT", 0) == 0 && card_pki_write(&pki, p, q) == 0 &&
		     idc_trust_load(&trust, p, q) == 0, "setup: a test PKI and its trust store");
}

static void case_doc_files(void)
{
	struct card_doc d, e;
	char p[4200];

	snprintf(p, sizeof(p), "%s/doc", dir);
	ktap_require(mkdir(p, 0700) == 0 && card_doc_make(&d, &alice, &pki, 0) == 0,
		     "doc: made");
	ktap_check(card_doc_write(&d, p, "IDENTITY=42\n") == 0, "doc: written");
	ktap_check(card_doc_read(&e, p) == 0 && same_doc(&d, &e),
		   "doc: read back, the same files and MRZ information");
	card_doc_free(&e);
	snprintf(p, sizeof(p), "%s/doc/info", dir);
	ktap_check(truncate(p, 20) == 0 && card_doc_read(&e, p) == -1 && !e.sod,
		   "doc: an info file without the whole MRZ_INFO is refused");
	card_doc_free(&d);
}

static void chip_fault(const char *name, enum card_fault f, uint16_t fid, int want)
{
	struct card_doc d;
	struct card_model *c = NULL;
	struct idc_result res;
	struct t0_link lk;
	char msg[160];
	int r;

	ktap_require(card_doc_make(&d, &alice, &pki, 0) == 0 && (c = card_model_new(&d)),
		     "over T=0: chip made");
	card_model_set_fault(c, f, fid);
	r = read_t0(c, d.mrz_info, &res, &lk);
	snprintf(msg, sizeof(msg), "over T=0: %s -> %s", name, idc_strerror(want));
	if (r != want)
		ktap_diag("got %d (%s) at %s", r, idc_strerror(r), idc_step_name(res.read.step));
	ktap_check(r == want && !res.tpl, msg);
	idc_result_wipe(&res);
	card_model_free(c);
	card_doc_free(&d);
}

static void case_chip_t0(void)
{
	uint8_t tpl[BIOREADER_TEMPLATE_MAX];
	struct card_doc d;
	struct card_model *c = NULL;
	struct idc_result res;
	struct t0_link lk;
	char other[IDC_MRZ_INFO_LEN];
	struct idc_mrz_key k = { bob.doc_number, 0, bob.birth, 0, bob.expiry, 0 };
	size_t tl = sim_identity_template(alice.identity, DIM, tpl, sizeof(tpl));
	int r;

	ktap_require(card_doc_make(&d, &alice, &pki, 0) == 0 && (c = card_model_new(&d)),
		     "over T=0: chip made");
	r = read_t0(c, d.mrz_info, &res, &lk);
	ktap_check(r == 0 && res.tpl_len == tl && !memcmp(res.tpl, tpl, tl),
		   "over T=0: the genuine document verifies, the template is the person's");
	ktap_check(lk.get_responses >= res.read.apdus - 3,
		   "over T=0: every answer with data came through GET RESPONSE");
	ktap_diag("%u APDUs, %lu TPDUs, %lu GET RESPONSE", res.read.apdus, lk.tpdus,
		  lk.get_responses);
	idc_result_wipe(&res);
	card_model_set_max_read(c, 37);
	ktap_check(read_t0(c, d.mrz_info, &res, &lk) == 0 && res.tpl_len == tl,
		   "over T=0: short reads (37 bytes at a time)");
	idc_result_wipe(&res);
	card_model_set_max_read(c, 0);
	ktap_check(idc_mrz_info(&k, other) == 0 &&
		   read_t0(c, other, &res, &lk) == IDC_ERR_BAC && !res.tpl,
		   "over T=0: a wrong MRZ -> BAC failed");
	card_model_free(c);
	card_doc_free(&d);

	chip_fault("bad cryptogram", CARD_FAULT_BAD_CRYPTOGRAM, 0, IDC_ERR_BAC);
	chip_fault("wrong MAC on DG2", CARD_FAULT_WRONG_MAC, 0x0102, IDC_ERR_SM_MAC);
	chip_fault("truncated answer on DG2", CARD_FAULT_TRUNCATE, 0x0102, IDC_ERR_TRUNCATED);
	chip_fault("6982 on DG2", CARD_FAULT_SW_6982, 0x0102, IDC_ERR_SECURITY);
	chip_fault("6A82 on DG2", CARD_FAULT_SW_6A82, 0x0102, IDC_ERR_NOT_FOUND);
	chip_fault("6988 on EF.SOD", CARD_FAULT_SW_6988, 0x011d, IDC_ERR_SM_CARD);
	chip_fault("DG2 shorter than it says", CARD_FAULT_FILE_SHORT, 0x0102, IDC_ERR_TRUNCATED);
	chip_fault("no answer on DG1", CARD_FAULT_SILENT, 0x0101, IDC_ERR_TRANSPORT);
}

/* ------------------------------------------------ the emulator process */

enum { VSC_INIT = 1, VSC_ERROR, VSC_READER_ADD, VSC_READER_REMOVE, VSC_ATR,
       VSC_CARD_REMOVE, VSC_APDU };

static struct {
	pid_t pid;
	int fd;
	char exe_dir[PATH_MAX];
	char issued[4200];
	struct idc_trust *trust;
	int removed;		/* a CardRemove came instead of an answer */
	int qmp;		/* listening: QEMU's QMP socket, played here */
} em = { .pid = -1, .fd = -1, .qmp = -1 };

/* One VSCard message within @ms: its type, payload into @p (cap @cap). */
static int vsc_recv(uint8_t *p, size_t cap, size_t *len, int ms)
{
	uint8_t h[12];
	size_t got = 0, n;

	while (got < 12 + *len || got < 12) {
		struct pollfd pf = { .fd = em.fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, ms) <= 0)
			return -ETIMEDOUT;
		if (got < 12) {
			r = read(em.fd, h + got, 12 - got);
		} else {
			n = (size_t)(h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11]);
			if (n > cap)
				return -EMSGSIZE;
			r = read(em.fd, p + (got - 12), n - (got - 12));
		}
		if (r <= 0)
			return -EPIPE;
		got += (size_t)r;
		if (got == 12) {
			*len = (size_t)(h[8] << 24 | h[9] << 16 | h[10] << 8 | h[11]);
			if (*len == 0)
				break;
		}
	}
	return h[3];
}

static int vsc_send(uint32_t type, const uint8_t *p, size_t len)
{
	uint8_t m[12 + 300];
	uint32_t v[3] = { type, 0, (uint32_t)len };
	int i;

	for (i = 0; i < 3; i++) {
		m[i * 4] = (uint8_t)(v[i] >> 24);
		m[i * 4 + 1] = (uint8_t)(v[i] >> 16);
		m[i * 4 + 2] = (uint8_t)(v[i] >> 8);
		m[i * 4 + 3] = (uint8_t)v[i];
	}
	memcpy(m + 12, p, len);
	return write(em.fd, m, 12 + len) == (ssize_t)(12 + len) ? 0 : -1;
}

/* Waits for a message of @type (others skipped). */
static int vsc_wait(int type, int ms)
{
	uint8_t p[300];
	size_t len = 0;
	int t;

	do {
		t = vsc_recv(p, sizeof(p), &len, ms);
	} while (t > 0 && t != type);
	return t == type ? 0 : -1;
}

/* The TPDU exchange, as QEMU's reader gives it to the guest. */
static int vsc_xfr(void *ctx, const uint8_t *c, size_t len, uint8_t *r, size_t *rlen)
{
	uint8_t p[300];
	size_t n = 0;
	int t;

	(void)ctx;
	if (vsc_send(VSC_APDU, c, len))
		return -EPIPE;
	for (;;) {
		t = vsc_recv(p, sizeof(p), &n, 1500);
		if (t < 0)
			return t;
		if (t == VSC_CARD_REMOVE) {
			em.removed = 1;
			return -ENOMEDIUM;
		}
		if (t == VSC_APDU)
			break;
	}
	if (n > *rlen)
		return -EMSGSIZE;
	memcpy(r, p, n);
	*rlen = n;
	return 0;
}

static struct t0_link elk = { .xfr = vsc_xfr };

static int emu(const char *cmd)
{
	uint8_t c[5 + 255], r[258];
	size_t n = strlen(cmd), rl = sizeof(r);

	c[0] = 0x80;
	c[1] = 0xEC;
	c[2] = c[3] = 0;
	c[4] = (uint8_t)n;
	memcpy(c + 5, cmd, n);
	return t0_transmit(&elk, c, 5 + n, r, &rl) == 0 && rl == 2 && r[0] == 0x90 ? 0 : -1;
}

/* "load NAME 0": the answer, then CardRemove and a new ATR. */
static int emu_load(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "load %s 0", name);
	return emu(cmd) == 0 && vsc_wait(VSC_CARD_REMOVE, 3000) == 0 &&
	       vsc_wait(VSC_ATR, 3000) == 0 ? 0 : -1;
}

struct info {
	char mrz[IDC_MRZ_INFO_LEN + 1];
	unsigned long long identity;
	int expect;
};

static int doc_info(const char *name, struct info *d)
{
	char p[4400], line[256];
	FILE *f;
	int have = 0;

	snprintf(p, sizeof(p), "%s/docs/%s/info", em.issued, name);
	f = fopen(p, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MRZ_INFO='%24[0-9A-Z<]'", d->mrz) == 1)
			have |= 1;
		else if (sscanf(line, "IDENTITY=%llu", &d->identity) == 1)
			have |= 2;
		else if (sscanf(line, "EXPECT_CODE=%d", &d->expect) == 1)
			have |= 4;
	}
	if (f)
		fclose(f);
	return have == 7 ? 0 : -1;
}

static int emu_read(const struct info *d, struct idc_result *res)
{
	return idc_read_verified(t0_transmit, &elk, d->mrz, em.trust, res);
}

static void stop_emulator(void)
{
	if (em.pid > 0) {
		kill(em.pid, SIGTERM);
		waitpid(em.pid, NULL, 0);
		em.pid = -1;
	}
}

static void case_emulator(void)
{
	static const char *const docs[] = {
		"dg2-altered", "sod-forged", "ds-expired", "ds-revoked", "unknown-csca",
		"sha1", "sod-truncated", "sod-garbage",
	};
	char exe[PATH_MAX + 32], cmd[3 * PATH_MAX], sock[4300], p[4400], q[4400];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t tpl[BIOREADER_TEMPLATE_MAX];
	struct idc_result res;
	struct info d;
	size_t i, tl;
	int r;

	snprintf(em.issued, sizeof(em.issued), "%s/issued", dir);
	snprintf(cmd, sizeof(cmd), "%s/../emu/card-issue --out %s >/dev/null", em.exe_dir,
		 em.issued);
	ktap_require(system(cmd) == 0, "emulator: card-issue writes the PKI and documents");
	snprintf(p, sizeof(p), "%s/csca", em.issued);
	snprintf(q, sizeof(q), "%s/crl", em.issued);
	ktap_require(idc_trust_load(&em.trust, p, q) == 0, "emulator: its trust store loads");
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	strcpy(sa.sun_path, sock);
	em.qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ktap_require(em.qmp >= 0 && !bind(em.qmp, (struct sockaddr *)&sa, sizeof(sa)) &&
		     !listen(em.qmp, 2), "emulator: a QMP socket to play QEMU's monitor");
	snprintf(sock, sizeof(sock), "%s/card.sock", dir);
	snprintf(exe, sizeof(exe), "%s/../emu/vscard-card", em.exe_dir);
	snprintf(p, sizeof(p), "%s/docs/genuine", em.issued);
	snprintf(q, sizeof(q), "%s/docs", em.issued);
	em.pid = fork();
	if (em.pid == 0) {
		char log[4400];
		char qmp[4400];

		snprintf(log, sizeof(log), "%s/emulator.log", dir);
		snprintf(qmp, sizeof(qmp), "%s/qmp.sock", dir);
		execl(exe, exe, "--socket", sock, "--chip", p, "--docs", q, "--test-control",
		      "--qemu-monitor", qmp, "--log", log, (char *)NULL);
		_exit(127);
	}
	atexit(stop_emulator);
	strcpy(sa.sun_path, sock);
	for (i = 0; i < 100; i++) {
		em.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (em.fd >= 0 && !connect(em.fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		close(em.fd);
		em.fd = -1;
		usleep(50 * 1000);
	}
	ktap_require(em.fd >= 0, "emulator: it listens; connected as QEMU would");
	ktap_require(vsc_wait(VSC_READER_ADD, 3000) == 0 && vsc_wait(VSC_ATR, 3000) == 0,
		     "emulator: Init, ReaderAdd, the card's ATR");

	ktap_require(doc_info("genuine", &d) == 0, "emulator: docs/genuine/info");
	tl = sim_identity_template(d.identity, DIM, tpl, sizeof(tpl));
	r = emu_read(&d, &res);
	ktap_check(r == 0 && res.tpl_len == tl && !memcmp(res.tpl, tpl, tl),
		   "emulator: the genuine document over VSCard and T=0: the person's template");
	idc_result_wipe(&res);

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char msg[160];

		ktap_require(doc_info(docs[i], &d) == 0 && d.expect != 0, "emulator: info");
		r = emu_load(docs[i]) ? 1 : emu_read(&d, &res);
		snprintf(msg, sizeof(msg), "emulator: load %s -> %s", docs[i],
			 idc_strerror(d.expect));
		if (r != d.expect)
			ktap_diag("got %d (%s)", r, idc_strerror(r));
		ktap_check(r == d.expect && !res.tpl, msg);
		idc_result_wipe(&res);
	}

	ktap_require(emu_load("genuine") == 0 && doc_info("second", &d) == 0,
		     "emulator: the genuine card again");
	ktap_check(emu_read(&d, &res) == IDC_ERR_BAC && !res.tpl,
		   "emulator: another document's MRZ -> BAC failed");
	ktap_require(doc_info("genuine", &d) == 0, "emulator: docs/genuine/info");
	ktap_check(emu("fault wrong-mac 0102") == 0 &&
		   emu_read(&d, &res) == IDC_ERR_SM_MAC && !res.tpl,
		   "emulator: fault wrong-mac 0102 -> SM MAC");
	ktap_check(emu("fault 6a82 0101") == 0 &&
		   emu_read(&d, &res) == IDC_ERR_NOT_FOUND && !res.tpl,
		   "emulator: fault 6a82 0101 -> not found");
	ktap_check(emu("fault file-short 011D") == 0 &&
		   emu_read(&d, &res) == IDC_ERR_TRUNCATED && !res.tpl,
		   "emulator: fault file-short 011D -> truncated");
	ktap_check(emu("fault none") == 0 && emu("max-read 50") == 0 &&
		   emu_read(&d, &res) == 0 && res.tpl_len == tl,
		   "emulator: fault none, max-read 50: the template again");
	idc_result_wipe(&res);
	ktap_check(emu("fault bogus") == -1 && emu("fault wrong-mac 12") == -1,
		   "emulator: a fault it does not know is refused (6A80)");
	em.removed = 0;
	ktap_check(emu("remove-after 6 300") == 0 &&
		   emu_read(&d, &res) == IDC_ERR_TRANSPORT && em.removed &&
		   res.read.step == IDC_STEP_READ_FILE,
		   "emulator: the card pulled mid-read -> transport error");
	ktap_check(vsc_wait(VSC_ATR, 3000) == 0, "emulator: ... and put back 300 ms later");
}

/* One line from a QMP client within 3 s. */
static int qmp_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, 3000) <= 0 || read(fd, buf + n, 1) != 1)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 0;
}

/*
 * Plays QEMU's monitor for one connection of the emulator: the greeting,
 * qmp_capabilities, then one command, which must contain @a and @b.
 */
static int qmp_serve(const char *a, const char *b)
{
	static const char greet[] = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
	static const char ret[] = "{\"return\": {}}\r\n";
	struct pollfd pf = { .fd = em.qmp, .events = POLLIN };
	char line[512];
	int fd, ok;

	if (poll(&pf, 1, 3000) <= 0)
		return -1;
	fd = accept(em.qmp, NULL, NULL);
	if (fd < 0)
		return -1;
	ok = write(fd, greet, sizeof(greet) - 1) > 0 && !qmp_line(fd, line, sizeof(line)) &&
	     strstr(line, "qmp_capabilities") && write(fd, ret, sizeof(ret) - 1) > 0 &&
	     !qmp_line(fd, line, sizeof(line)) && strstr(line, a) && strstr(line, b) &&
	     write(fd, ret, sizeof(ret) - 1) > 0;
	if (!ok)
		ktap_diag("QMP: \"%s\"", line);
	close(fd);
	return ok ? 0 : -1;
}

static void case_unplug(void)
{
	static const uint8_t sel[12] = { 0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00,
					 0x02, 0x47, 0x10, 0x01 };
	static const uint8_t ack[4] = { 0, 0, 0, 0 };
	struct pollfd pf = { .fd = em.qmp, .events = POLLIN };
	uint8_t p[300];
	size_t n = 0;
	struct idc_result res;
	struct info d;
	int t;

	ktap_require(emu("fault none") == 0 && emu("unplug-after 1 300") == 0,
		     "unplug: unplug-after 1 300");
	n = sizeof(p);
	ktap_check(t0_transmit(&elk, sel, sizeof(sel), p, &n) == 0 && n == 2 && p[0] == 0x90,
		   "unplug: one more answer");
	ktap_require(vsc_send(VSC_APDU, sel, sizeof(sel)) == 0, "unplug: the next TPDU");
	do {
		t = vsc_recv(p, sizeof(p), &n, 3000);
	} while (t == VSC_ERROR);
	ktap_check(t == VSC_READER_REMOVE,
		   "unplug: instead of its answer, ReaderRemove (QEMU drops the pending command)");
	ktap_check(poll(&pf, 1, 300) == 0,
		   "unplug: no device_del before QEMU acknowledged it");
	ktap_require(vsc_send(VSC_ERROR, ack, 4) == 0, "unplug: acknowledged (Error, success)");
	ktap_check(qmp_serve("device_del", "\"ccid\"") == 0,
		   "unplug: then device_del of the reader over QMP");
	ktap_check(qmp_serve("device_add", "\"usb-ccid\"") == 0,
		   "replug: 300 ms later device_add of usb-ccid");
	ktap_check(qmp_serve("ccid-card-passthru", "\"chardev\":\"ccidcard\"") == 0,
		   "replug: and of its card, on the same chardev");
	ktap_check(vsc_wait(VSC_READER_ADD, 3000) == 0 && vsc_wait(VSC_ATR, 3000) == 0,
		   "replug: ReaderAdd and the card's ATR");
	ktap_require(doc_info("genuine", &d) == 0, "replug: docs/genuine/info");
	ktap_check(emu_read(&d, &res) == 0 && res.tpl, "replug: the document verifies");
	idc_result_wipe(&res);
}

int main(int argc, char **argv)
{
	char *slash;

	(void)argc;
	if (!realpath("/proc/self/exe", em.exe_dir))
		snprintf(em.exe_dir, sizeof(em.exe_dir), "%s", argv[0]);
	slash = strrchr(em.exe_dir, '/');
	if (slash)
		*slash = 0;
	ktap_plan(85);
	KTAP_CASE("t0 card") case_t0_card();
	KTAP_CASE("setup") case_setup();
	KTAP_CASE_AFTER("document files") case_doc_files();
	KTAP_CASE_AFTER("chip over T=0") case_chip_t0();
	KTAP_CASE_AFTER("emulator") case_emulator();
	KTAP_CASE_AFTER("emulator: unplug") case_unplug();
	idc_trust_free(trust);
	card_pki_free(&pki);
	return ktap_finish();
}
