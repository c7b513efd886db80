// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * A TCP relay that a test controls, for network faults
 * (tests/interop/t_fleet_faults.sh):
 *
 *   tcp_relay LISTEN_PORT TARGET_PORT
 *
 * listens on 127.0.0.1:LISTEN_PORT and, for every connection accepted,
 * connects to 127.0.0.1:TARGET_PORT and forwards the bytes both ways
 * (one poll() loop, one thread).  Signals control it:
 *
 *   SIGUSR1  stall: forward nothing and accept nothing (the connections
 *            stay open, new ones wait in the listen queue): a network
 *            that silently drops everything
 *   SIGUSR2  resume
 *   SIGHUP   reset: every connection closed with an RST (SO_LINGER 0),
 *            both sides
 *
 * Every event goes to stderr, one line each ("accepted", "closed",
 * "stall", "resume", "reset N"), for the test to check that the fault
 * it asked for did happen.  SIGTERM ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAXCONN 64
#define BUFSZ 65536

struct half {
	char buf[BUFSZ];
	size_t len, off;	/* bytes read from one side, not yet written to the other */
	int eof;
};

struct conn {
	int fd[2];		/* 0: the client accepted, 1: the target */
	struct half h[2];	/* h[i]: read from fd[i], written to fd[!i] */
};

static struct conn *conns[MAXCONN];
static volatile sig_atomic_t want_stall, want_resume, want_reset, want_exit;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stall = 1;
	else if (sig == SIGUSR2)
		want_resume = 1;
	else if (sig == SIGHUP)
		want_reset = 1;
	else
		want_exit = 1;
}

static void conn_close(int i, int rst)
{
	struct linger lg = { 1, 0 };
	int k;

	for (k = 0; k < 2; k++) {
		if (rst)
			setsockopt(conns[i]->fd[k], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(conns[i]->fd[k]);
	}
	free(conns[i]);
	conns[i] = NULL;
}

static int target_connect(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Moves what it can of half k of connection i; 1 when the connection is done. */
static int pump(int i, int k, short rev_in, short rev_out)
{
	struct conn *c = conns[i];
	struct half *h = &c->h[k];
	ssize_t n;

	if ((rev_in & (POLLIN | POLLHUP | POLLERR)) && h->len == 0 && !h->eof) {
		n = read(c->fd[k], h->buf, sizeof(h->buf));
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return 1;
		if (n == 0)
			h->eof = 1;
		if (n > 0) {
			h->len = (size_t)n;
			h->off = 0;
		}
	}
	if (h->len > h->off && (rev_out & POLLOUT)) {
		n = write(c->fd[!k], h->buf + h->off, h->len - h->off);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return 1;
		if (n > 0)
			h->off += (size_t)n;
		if (h->off == h->len)
			h->len = h->off = 0;
	}
	/* One side gone and everything it sent delivered: close the pair. */
	return h->eof && h->len == 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct pollfd pfd[1 + 2 * MAXCONN];
	struct sigaction sa;
	sigset_t block, none;
	unsigned short tport;
	int lfd, one = 1, stalled = 0, i, k;

	if (argc != 3) {
		fprintf(stderr, "usage: tcp_relay LISTEN_PORT TARGET_PORT\n");
		return 2;
	}
	tport = (unsigned short)atoi(argv[2]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Signals are taken only inside ppoll(): none is lost between a check and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &none);
	sigdelset(&none, SIGUSR1);
	sigdelset(&none, SIGUSR2);
	sigdelset(&none, SIGHUP);
	sigdelset(&none, SIGTERM);
	sigdelset(&none, SIGINT);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16)) {
		perror("tcp_relay: listen");
		return 1;
	}
	fprintf(stderr, "listening %s -> %u\n", argv[1], tport);

	while (!want_exit) {
		int idx[MAXCONN], n = 0;

		if (want_stall) {
			want_stall = 0;
			stalled = 1;
			fprintf(stderr, "stall\n");
		}
		if (want_resume) {
			want_resume = 0;
			stalled = 0;
			fprintf(stderr, "resume\n");
		}
		if (want_reset) {
			int cnt = 0;

			want_reset = 0;
			for (i = 0; i < MAXCONN; i++)
				if (conns[i]) {
					conn_close(i, 1);
					cnt++;
				}
			fprintf(stderr, "reset %d\n", cnt);
		}
		pfd[n].fd = lfd;
		pfd[n].events = stalled ? 0 : POLLIN;
		n++;
		for (i = 0; i < MAXCONN; i++) {
			if (!conns[i])
				continue;
			idx[i] = n;
			for (k = 0; k < 2; k++) {
				struct half *in = &conns[i]->h[k], *out = &conns[i]->h[!k];

				pfd[n].fd = conns[i]->fd[k];
				pfd[n].events = 0;
				if (!stalled && in->len == 0 && !in->eof)
					pfd[n].events |= POLLIN;
				if (!stalled && out->len > out->off)
					pfd[n].events |= POLLOUT;
				n++;
			}
		}
		if (ppoll(pfd, (nfds_t)n, NULL, &none) < 0) {
			if (errno == EINTR)
				continue;
			perror("tcp_relay: poll");
			return 1;
		}
		if (stalled)
			continue;
		for (i = 0; i < MAXCONN; i++) {
			short r0, r1;

			if (!conns[i])
				continue;
			r0 = pfd[idx[i]].revents;
			r1 = pfd[idx[i] + 1].revents;
			if (pump(i, 0, r0, r1) || pump(i, 1, r1, r0)) {
				conn_close(i, 0);
				fprintf(stderr, "closed\n");
			}
		}
		if (pfd[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), tfd;

			if (cfd < 0)
				continue;
			tfd = target_connect(tport);
			for (i = 0; i < MAXCONN && conns[i]; i++)
				;
			if (tfd < 0 || i == MAXCONN || !(conns[i] = calloc(1, sizeof(*conns[i])))) {
				fprintf(stderr, "refused (target down or too many)\n");
				close(cfd);
				if (tfd >= 0)
					close(tfd);
				continue;
			}
			conns[i]->fd[0] = cfd;
			conns[i]->fd[1] = tfd;
			fprintf(stderr, "accepted\n");
		}
	}
	for (i = 0; i < MAXCONN; i++)
		if (conns[i])
			conn_close(i, 0);
	return 0;
}
