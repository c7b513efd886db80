// SPDX-License-Identifier: GPL-2.0-only
/*
 * The witness's connections, served at once: one thread accepts, a fixed
 * pool of --max-connections threads serves one connection each
 * (https.c, which bounds the TLS handshake, the request and the answer
 * by deadlines of their own).  A connection beyond the bound is closed
 * at once, never queued behind the others: a flood of idle connections
 * costs the collector nothing but a close each.
 *
 * All threads are made at start, before the sandbox (sandbox.c has no
 * clone on its list), and ended only at exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"

struct col_pool {
	struct collector *c;
	pthread_t acceptor;
	pthread_t *workers;
	unsigned int nworkers, started;
	bool acceptor_started;

	/*
	 * lock guards the fields below; never held with the collector's
	 * lock, never held across I/O.  Invariant: nbusy + nqueued <=
	 * nworkers, so an accepted connection is either handed to a free
	 * thread at once or refused.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int *queue;		/* nworkers slots, a ring */
	unsigned int head, nqueued, nbusy;
	bool stop;
	u64 refused;		/* connections closed for want of a thread */
	time_t refused_logged;
};

static void *worker(void *arg)
{
	struct col_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		int fd;

		while (!p->nqueued && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->nqueued)
			break;	/* stopping, nothing left */
		fd = p->queue[p->head];
		p->head = (p->head + 1) % p->nworkers;
		p->nqueued--;
		p->nbusy++;
		pthread_mutex_unlock(&p->lock);
		col_https_conn(p->c, fd);
		pthread_mutex_lock(&p->lock);
		p->nbusy--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Never the collector's lock here: accepting must not wait for an
 * ingest pass. */
static void refused(struct col_pool *p, unsigned int busy)
{
	time_t now = time(NULL);
	bool say = false;
	u64 n;

	pthread_mutex_lock(&p->lock);
	n = ++p->refused;
	if (now - p->refused_logged >= 60) {
		p->refused_logged = now;
		say = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (say)
		col_log(LOG_WARNING,
			"witness: %u connections busy (--max-connections): new ones refused (%llu so far)",
			busy, (unsigned long long)n);
}

static void *acceptor(void *arg)
{
	struct col_pool *p = arg;
	struct collector *c = p->c;

	for (;;) {
		/* Wakes up now and then to see whether to stop. */
		struct pollfd pf = { .fd = c->lfd, .events = POLLIN };
		unsigned int busy = 0;
		bool stop, take = false;
		int fd;

		pthread_mutex_lock(&p->lock);
		stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
		if (poll(&pf, 1, 200) <= 0)
			continue;
		fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			/* Out of descriptors, say: do not spin on it. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
			continue;
		}
		pthread_mutex_lock(&p->lock);
		if (p->nbusy + p->nqueued < p->nworkers) {
			p->queue[(p->head + p->nqueued) % p->nworkers] = fd;
			p->nqueued++;
			take = true;
			pthread_cond_signal(&p->cond);
		}
		busy = p->nbusy + p->nqueued;
		pthread_mutex_unlock(&p->lock);
		if (!take) {
			close(fd);
			refused(p, busy);
		}
	}
	return NULL;
}

int col_pool_start(struct collector *c, char *err, size_t errcap)
{
	struct col_pool *p = calloc(1, sizeof(*p));
	sigset_t all, old;
	pthread_attr_t attr;
	unsigned int i;
	int r;

	if (!p) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	p->c = c;
	p->nworkers = c->max_conns;
	p->workers = calloc(p->nworkers, sizeof(*p->workers));
	p->queue = calloc(p->nworkers, sizeof(*p->queue));
	c->pool = p;
	if (!p->workers || !p->queue) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1u << 20);
	/* Signals go to the main thread: the threads start with them all
	 * blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&p->acceptor, &attr, acceptor, p);
	p->acceptor_started = !r;
	for (i = 0; !r && i < p->nworkers; i++) {
		r = pthread_create(&p->workers[i], &attr, worker, p);
		if (!r)
			p->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r) {
		snprintf(err, errcap, "starting the connection threads: %s", strerror(r));
		return -r;
	}
	return 0;
}

void col_pool_stop(struct collector *c)
{
	struct col_pool *p = c->pool;
	unsigned int i;

	if (!p)
		return;
	if (p->workers && p->queue) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		if (p->acceptor_started)
			pthread_join(p->acceptor, NULL);
		for (i = 0; i < p->started; i++)
			pthread_join(p->workers[i], NULL);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->cond);
	}
	free(p->workers);
	free(p->queue);
	free(p);
	c->pool = NULL;
}
