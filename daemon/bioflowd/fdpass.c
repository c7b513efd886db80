// SPDX-License-Identifier: GPL-2.0-only
/*
 * Monitor <-> worker messages over a SOCK_SEQPACKET socketpair: one
 * datagram per message (header + payload), file descriptors attached
 * with SCM_RIGHTS.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bioflowd.h"

#define FDS_MAX 4

int bfd_send(int sock, uint32_t type, const void *payload, size_t len,
	     const int *fds, unsigned int nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
	} cm;
	struct bfd_msg_hdr h = { .type = type, .len = (uint32_t)len };
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t k;

	if (len > BFD_MSG_MAX || nfds > FDS_MAX)
		return -EMSGSIZE;
	if (nfds) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		k = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if ((size_t)k != sizeof(h) + len)
		return -EMSGSIZE;
	return 0;
}

ssize_t bfd_recv(int sock, uint32_t *type, void *payload, size_t cap,
		 int *fds, unsigned int *nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
	} cm;
	struct bfd_msg_hdr h;
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = payload, .iov_len = cap },
	};
	struct msghdr m = {
		.msg_iov = iov, .msg_iovlen = 2,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
	};
	unsigned int want = nfds ? *nfds : 0, got = 0;
	struct cmsghdr *c;
	ssize_t k;

	*type = 0;
	if (nfds)
		*nfds = 0;
	do
		k = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return 0;
	/* Collect (or close) whatever descriptors came along. */
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		size_t n, i;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < want)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (nfds)
		*nfds = got;
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)k < sizeof(h) ||
	    h.len != (size_t)k - sizeof(h)) {
		while (got)
			close(fds[--got]);
		if (nfds)
			*nfds = 0;
		return -EMSGSIZE;
	}
	*type = h.type;
	return (ssize_t)h.len;
}
