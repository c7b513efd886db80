// SPDX-License-Identifier: GPL-2.0-only
/*
 * bioflow-collector: the fleet collector's half of forwarding
 * (docs/forwarding.md, docs/man/bioflow-collector.8).  The main thread
 * reads the spool every --interval; the witness's connections are
 * served by a pool of threads, many at once (pool.c; the locking rules
 * are in collector.h).  Started as root it becomes --user before it
 * opens anything, and it runs under a seccomp allowlist (sandbox.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "collector.h"

/* Exit status: 0 stopped (or --once and all well), 1 cannot start (or
 * --once and an appliance frozen or broken), 2 usage, 3 the sandbox
 * could not be installed. */
#define COL_EXIT_SANDBOX 3
#define COL_DEFAULT_USER "bioflow-collector"
#define COL_DEFAULT_CONNS 64

static volatile sig_atomic_t stop;
static bool use_syslog = true;

static void vlog_line(int prio, const char *fmt, va_list ap)
{
	char buf[2048];
	int n;

	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		return;
	fprintf(stderr, "bioflow-collector: %s\n", buf);
	if (use_syslog)
		syslog(prio, "%s", buf);
}

void col_log(int prio, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog_line(prio, fmt, ap);
	va_end(ap);
	errno = saved;
}

void col_debug(const struct collector *c, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!c->verbose)
		return;
	va_start(ap, fmt);
	vlog_line(LOG_DEBUG, fmt, ap);
	va_end(ap);
	errno = saved;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bioflow-collector --spool DIR --logs DIR --enroll DIR [options]\n"
		"       bioflow-collector --print-vkey --witness-key FILE --witness-name NAME\n"
		"\n"
		"Rebuilds every enrolled appliance's store from the spool rsyslog writes, and\n"
		"runs the witness that cosigns the appliances' checkpoints.\n"
		"\n"
		"  --spool DIR            rsyslog's spool: one DIR/<oid>.log per appliance\n"
		"  --logs DIR             the copies: DIR/<oid>/ per appliance, DIR/status\n"
		"  --enroll DIR           DIR/<oid>/origin and DIR/<oid>/root.pub.pem per\n"
		"                         appliance accepted; others are counted, not read\n"
		"  --witness-listen HOST:PORT  serve the witness (HTTPS) there\n"
		"  --witness-key FILE     the witness's Ed25519 private key (PEM)\n"
		"  --witness-name NAME    the witness's name (a signed-note key name)\n"
		"  --ca FILE              CA certificates that client certificates must chain to\n"
		"  --cert FILE            the server's certificate chain (PEM)\n"
		"  --key FILE             the server's private key (PEM)\n"
		"  --port-file FILE       write the port listened on (with port 0)\n"
		"  --segment-max-bytes N  segment size limit of the appliances' stores\n"
		"                         (default 67108864, as bioflowd's)\n"
		"  --interval MS          read the spool this often (default 1000)\n"
		"  --io-timeout MS        a witness connection's TLS handshake, its whole\n"
		"                         request and its answer, each (default 5000)\n"
		"  --max-connections N    witness connections served at once (default 64;\n"
		"                         more are closed at once)\n"
		"  -u, --user NAME        started as root: run as this user (default\n"
		"                         " COL_DEFAULT_USER "); started as another user: stay\n"
		"  --sandbox-test         install the sandbox, then make a forbidden system\n"
		"                         call from a second thread: the kernel kills the process\n"
		"  --once                 read the spool once and exit (status 1 if an\n"
		"                         appliance is frozen or its copy unusable)\n"
		"  --print-vkey           print the witness's verifier key and exit\n"
		"  --no-syslog            log to stderr only\n"
		"  -v, --verbose          log every witness request\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM or SIGINT, 1 cannot start (with --once:\n"
		"an appliance frozen or its copy unusable), 2 usage, 3 the sandbox could not\n"
		"be installed.\n");
}

static int load_witness(struct collector *c, const char *keyfile, const char *name,
			bool check_private)
{
	char err[600];
	struct bfl_err e = { 0 };
	EVP_PKEY *pk = NULL;
	FILE *f;
	int r;

	if (check_private && col_key_private(keyfile, err, sizeof(err))) {
		col_log(LOG_ERR, "--witness-key %s", err);
		return -1;
	}
	f = fopen(keyfile, "r");
	if (f) {
		pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!pk) {
		col_log(LOG_ERR, "--witness-key %s: cannot read a PEM private key", keyfile);
		return -1;
	}
	r = bfl_cosigner_init(&c->wit, name, pk, &e);
	EVP_PKEY_free(pk);
	if (r) {
		col_log(LOG_ERR, "witness key: %s", e.msg);
		return -1;
	}
	c->witness = true;
	return 0;
}

static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t test_cond = PTHREAD_COND_INITIALIZER;
static bool test_go;

static void *sandbox_test_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&test_lock);
	while (!test_go)
		pthread_cond_wait(&test_cond, &test_lock);
	pthread_mutex_unlock(&test_lock);
	/* Not on the allowlist: the kernel kills the whole process. */
	syscall(SYS_ptrace, 0, 0, 0, 0);
	return NULL;
}

/* --sandbox-test: a thread made before the sandbox, as the connection
 * threads are, makes a forbidden call after it. */
static int sandbox_test(void)
{
	char err[600];
	pthread_t t;

	if (pthread_create(&t, NULL, sandbox_test_thread, NULL)) {
		col_log(LOG_ERR, "sandbox test: no thread");
		return 1;
	}
	if (col_seccomp_install(err, sizeof(err))) {
		col_log(LOG_ERR, "sandbox: %s", err);
		return COL_EXIT_SANDBOX;
	}
	pthread_mutex_lock(&test_lock);
	test_go = true;
	pthread_cond_signal(&test_cond);
	pthread_mutex_unlock(&test_lock);
	pthread_join(t, NULL);
	col_log(LOG_ERR, "sandbox test: ptrace was not stopped");
	return COL_EXIT_SANDBOX;
}

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "spool", required_argument, NULL, 's' },
		{ "logs", required_argument, NULL, 'l' },
		{ "enroll", required_argument, NULL, 'e' },
		{ "witness-listen", required_argument, NULL, 'W' },
		{ "witness-key", required_argument, NULL, 'K' },
		{ "witness-name", required_argument, NULL, 'N' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "segment-max-bytes", required_argument, NULL, 'S' },
		{ "interval", required_argument, NULL, 'i' },
		{ "io-timeout", required_argument, NULL, 't' },
		{ "max-connections", required_argument, NULL, 'M' },
		{ "user", required_argument, NULL, 'u' },
		{ "sandbox-test", no_argument, NULL, 'T' },
		{ "once", no_argument, NULL, 'o' },
		{ "print-vkey", no_argument, NULL, 'p' },
		{ "no-syslog", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct collector c;
	const char *listen_addr = NULL, *wkey = NULL, *wname = NULL, *ca = NULL, *cert = NULL,
		   *key = NULL, *port_file = NULL, *user = COL_DEFAULT_USER;
	unsigned long long interval = 1000, seg = 0, iot = 5000, conns = COL_DEFAULT_CONNS;
	bool once = false, print_vkey = false, sbx_test = false;
	char err[600];
	long long last = 0;
	struct app *a;
	int o, rc = 0;

	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.lock, NULL);
	c.lfd = -1;
	while ((o = getopt_long(argc, argv, "u:vh", opts, NULL)) != -1) {
		char *end = NULL;

		switch (o) {
		case 's': c.spool = optarg; break;
		case 'l': c.logs = optarg; break;
		case 'e': c.enroll = optarg; break;
		case 'W': listen_addr = optarg; break;
		case 'K': wkey = optarg; break;
		case 'N': wname = optarg; break;
		case 'A': ca = optarg; break;
		case 'C': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'P': port_file = optarg; break;
		case 'u': user = optarg; break;
		case 'T': sbx_test = true; break;
		case 'S':
		case 'i':
		case 'M':
		case 't': {
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || !end || *end || optarg[0] == '-' || !v) {
				fprintf(stderr, "bioflow-collector: %s: a positive number\n", optarg);
				return 2;
			}
			if (o == 'S')
				seg = v;
			else if (o == 'i')
				interval = v;
			else if (o == 'M')
				conns = v;
			else
				iot = v;
			break;
		}
		case 'o': once = true; break;
		case 'p': print_vkey = true; break;
		case 'n': use_syslog = false; break;
		case 'v': c.verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sbx_test) {
		use_syslog = false;
		return sandbox_test();
	}
	if (print_vkey) {
		char vkey[BFL_VKEY_MAX];

		use_syslog = false;
		if (!wkey || !wname) {
			fprintf(stderr, "bioflow-collector: --print-vkey needs --witness-key and --witness-name\n");
			return 2;
		}
		if (load_witness(&c, wkey, wname, false) || bfl_cosigner_vkey(&c.wit, vkey, sizeof(vkey)) < 0)
			return 1;
		printf("%s\n", vkey);
		bfl_cosigner_free(&c.wit);
		return 0;
	}
	if (!c.spool || !c.logs || !c.enroll) {
		fprintf(stderr, "bioflow-collector: --spool, --logs and --enroll are needed\n");
		usage(stderr);
		return 2;
	}
	if (listen_addr && (!wkey || !wname || !ca || !cert || !key)) {
		fprintf(stderr, "bioflow-collector: --witness-listen needs --witness-key, --witness-name, --ca, --cert and --key\n");
		return 2;
	}
	if (interval > 3600000 || iot > 600000 || conns > 4096) {
		fprintf(stderr, "bioflow-collector: --interval, --io-timeout or --max-connections too large\n");
		return 2;
	}
	/* Connected now: the sandbox allows syslog(3) only to reconnect. */
	if (use_syslog)
		openlog("bioflow-collector", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	c.mopts.segment_max_bytes = seg;
	c.io_timeout_ms = (unsigned int)iot;
	c.max_conns = (unsigned int)conns;
	signal(SIGPIPE, SIG_IGN);
	{
		struct sigaction sa;

		/* No SA_RESTART: the main thread's sleep ends at a signal. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	/* Everything is opened as the user it runs as. */
	if (col_drop_privileges(user, err, sizeof(err))) {
		col_log(LOG_ERR, "%s", err);
		return 1;
	}
	if (key && col_key_private(key, err, sizeof(err))) {
		col_log(LOG_ERR, "--key %s", err);
		return 1;
	}
	if (wkey && wname && load_witness(&c, wkey, wname, true))
		return 1;
	if (c.witness) {
		char vkey[BFL_VKEY_MAX];

		if (bfl_cosigner_vkey(&c.wit, vkey, sizeof(vkey)) > 0)
			col_log(LOG_INFO, "witness %s", vkey);
	}
	if (listen_addr && col_https_setup(&c, listen_addr, ca, cert, key, port_file))
		return 1;
	/* OpenSSL reads its configuration once, here, not in a thread. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	/* No request is answered before the first reading of the spool and
	 * the enrollments: the lock is held until then. */
	pthread_mutex_lock(&c.lock);
	if (c.lfd >= 0 && col_pool_start(&c, err, sizeof(err))) {
		col_log(LOG_ERR, "%s", err);
		return 1;
	}
	if (col_seccomp_install(err, sizeof(err))) {
		col_log(LOG_ERR, "sandbox not installed, refusing to run: %s", err);
		return COL_EXIT_SANDBOX;
	}
	col_log(LOG_INFO, "sandboxed: uid %u, seccomp allowlist; %u witness connections at once",
		(unsigned int)geteuid(), c.lfd >= 0 ? c.max_conns : 0);
	col_ingest_all(&c);
	col_write_status(&c);
	pthread_mutex_unlock(&c.lock);
	last = mono_ms();
	while (!once && !stop) {
		long long left = (long long)interval - (mono_ms() - last);

		if (left > 0) {
			struct timespec ts = { left / 1000, (left % 1000) * 1000000 };

			nanosleep(&ts, NULL);	/* a signal ends it early */
			continue;
		}
		pthread_mutex_lock(&c.lock);
		col_ingest_all(&c);
		col_write_status(&c);
		pthread_mutex_unlock(&c.lock);
		last = mono_ms();
	}
	/* Each connection ends by its deadlines. */
	col_pool_stop(&c);
	for (a = c.apps; a; a = a->next)
		if (a->frozen || a->broken)
			rc = 1;
	col_write_status(&c);
	col_close_all(&c);
	if (c.ctx)
		SSL_CTX_free(c.ctx);
	if (c.lfd >= 0)
		close(c.lfd);
	if (c.witness)
		bfl_cosigner_free(&c.wit);
	return once ? rc : 0;
}
