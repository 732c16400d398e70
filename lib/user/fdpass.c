// SPDX-License-Identifier: MIT
/*
 * Handing file descriptors to another process over a unix socket
 * (SCM_RIGHTS): one queue fd, or a memfd queue's bundle of fds.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "queue.h"

#define MAX_FDS L3L2Q__MAX_FDS

union fd_cmsg {
	struct cmsghdr hdr;
	char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
};

int l3l2q__send_fds(int sock, const int *fds, unsigned int n)
{
	union fd_cmsg u;
	char byte = 'Q';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *c;

	if (!n || n > MAX_FDS)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	for (;;) {
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) == 1)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int l3l2q__recv_some_fds(int sock, int *fds, unsigned int n, int flags)
{
	union fd_cmsg u;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	unsigned int got, i;
	ssize_t r;

	if (n > MAX_FDS)
		return -EINVAL;
	do {
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ECONNRESET;
	c = CMSG_FIRSTHDR(&msg);
	if (!c)
		return 0;
	if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	got = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	if (got > MAX_FDS)
		got = MAX_FDS;
	if (got > n || (msg.msg_flags & MSG_CTRUNC)) {
		/* Never leak what did arrive. */
		int tmp[MAX_FDS];

		memcpy(tmp, CMSG_DATA(c), sizeof(int) * got);
		for (i = 0; i < got; i++)
			close(tmp[i]);
		return -EBADMSG;
	}
	memcpy(fds, CMSG_DATA(c), sizeof(int) * got);
	return (int)got;
}

int l3l2q__recv_fds(int sock, int *fds, unsigned int n, int flags)
{
	unsigned int i;
	int got;

	if (!n || n > MAX_FDS)
		return -EINVAL;
	got = l3l2q__recv_some_fds(sock, fds, n, flags);
	if (got < 0)
		return got;
	if ((unsigned int)got != n) {
		for (i = 0; i < (unsigned int)got; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	return 0;
}

int l3l2q_send_fd(int sock, int fd)
{
	return l3l2q__send_fds(sock, &fd, 1);
}

int l3l2q_recv_fd(int sock)
{
	int fd, ret = l3l2q__recv_fds(sock, &fd, 1, 0);

	return ret ? ret : fd;
}
