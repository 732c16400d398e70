// SPDX-License-Identifier: MIT
/*
 * ivshmem.c - the framing of the ivshmem client-server protocol
 * (ivshmem-spec.txt, "The ivshmem Client-Server Protocol"): the server
 * only ever sends, each message one signed 64-bit little-endian number,
 * accompanied by at most one file descriptor (SCM_RIGHTS).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"

int ivs_send(int sock, __s64 val, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	__u64 le = htole64((__u64)val);
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* 8 bytes on an empty-enough stream socket go in one piece. */
	return n == (ssize_t)sizeof(le) ? 0 : -EIO;
}

/* Take the fd (if any) out of @mh's control data; close any extra. */
static int take_fd(struct msghdr *mh)
{
	struct cmsghdr *c;
	int fd = -1, extra, i, n;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&extra, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (fd < 0)
				fd = extra;
			else
				close(extra);
		}
	}
	return fd;
}

int ivs_recv(int sock, __s64 *val, int *fd, int flags)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	unsigned char b[8];
	size_t got = 0;
	ssize_t n;
	__u64 le;
	int f;

	*fd = -1;
	while (got < sizeof(b)) {
		struct iovec iov = { .iov_base = b + got,
				     .iov_len = sizeof(b) - got };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf),
		};

		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (got ? 0 : flags));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (*fd >= 0)
				close(*fd);
			*fd = -1;
			return -errno;
		}
		if (n == 0) {
			if (*fd >= 0)
				close(*fd);
			*fd = -1;
			return -EPIPE;
		}
		f = take_fd(&mh);
		if (f >= 0 && *fd < 0)
			*fd = f;
		else if (f >= 0)
			close(f);
		got += (size_t)n;
	}
	memcpy(&le, b, sizeof(le));
	*val = (__s64)le64toh(le);
	return 0;
}
