/* SPDX-License-Identifier: MIT */
/*
 * A mock of QEMU's ivshmem-doorbell as a client of an ivshmem server
 * (ivshmem-spec.txt, "The ivshmem Client-Server Protocol"): it connects to
 * the server's unix socket, reads the 8-byte little-endian messages and
 * the fds that come with them, and checks their order.  What QEMU does
 * with them is played here too: writing a peer's eventfd v is a doorbell
 * write (peer << 16 | v), and our own eventfd v firing is MSI-X vector v.
 */
#ifndef L3L2Q_TEST_MOCK_QEMU_H
#define L3L2Q_TEST_MOCK_QEMU_H

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "l3l2q.h"

#define MQ_MAX_VECTORS		64
#define MQ_MAX_PEERS		8

struct mq_peer {
	int id;				/* -1: free */
	unsigned int n;
	int efd[MQ_MAX_VECTORS];
};

struct mock_qemu {
	int sock;
	int id;
	int shm_fd;
	__u64 shm_bytes;
	void *mem;
	unsigned int nvec;
	int own[MQ_MAX_VECTORS];	/* our MSI-X vectors */
	struct mq_peer peers[MQ_MAX_PEERS];
	char why[256];			/* what was wrong, when not 0 */
};

static inline void mq_init(struct mock_qemu *m)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->sock = -1;
	m->id = -1;
	m->shm_fd = -1;
	for (i = 0; i < MQ_MAX_PEERS; i++)
		m->peers[i].id = -1;
}

static inline void mq_close(struct mock_qemu *m)
{
	unsigned int i, v;

	if (m->mem)
		munmap(m->mem, m->shm_bytes);
	if (m->shm_fd >= 0)
		close(m->shm_fd);
	if (m->sock >= 0)
		close(m->sock);
	for (v = 0; v < m->nvec; v++)
		close(m->own[v]);
	for (i = 0; i < MQ_MAX_PEERS; i++)
		for (v = 0; v < m->peers[i].n; v++)
			close(m->peers[i].efd[v]);
	mq_init(m);
}

/* Connect to @path, retrying while the server is not there yet. */
static inline int mq_connect(struct mock_qemu *m, const char *path,
			     unsigned int ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int i;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	for (i = 0; i <= ms; i += 10) {
		m->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (m->sock < 0)
			return -errno;
		if (!connect(m->sock, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(m->sock);
		m->sock = -1;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/*
 * One message within @ms: 0 with *fd (or -1); -EPIPE at end of stream,
 * -ETIMEDOUT, -EPROTO for a message that is not 8 bytes with at most one
 * fd.
 */
static inline int mq_recv(struct mock_qemu *m, __s64 *val, int *fd,
			  unsigned int ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cm;
	struct pollfd p = { .fd = m->sock, .events = POLLIN };
	__u64 le;
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	ssize_t n;
	int nfds;

	*fd = -1;
	n = poll(&p, 1, (int)ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	n = recvmsg(m->sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fd, CMSG_DATA(c), sizeof(int));
		if (nfds != 1)
			return -EPROTO;
	}
	if (n != (ssize_t)sizeof(le))
		return -EPROTO;
	*val = (__s64)le64toh(le);
	return 0;
}

/* Is @fd an eventfd? */
static inline int mq_is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = 0;
	return !strcmp(link, "anon_inode:[eventfd]");
}

static inline struct mq_peer *mq_peer(struct mock_qemu *m, int id, int add)
{
	unsigned int i;

	for (i = 0; i < MQ_MAX_PEERS; i++)
		if (m->peers[i].id == id)
			return &m->peers[i];
	for (i = 0; add && i < MQ_MAX_PEERS; i++)
		if (m->peers[i].id < 0) {
			m->peers[i].id = id;
			m->peers[i].n = 0;
			return &m->peers[i];
		}
	return NULL;
}

#define MQ_FAIL(m, ...)	(snprintf((m)->why, sizeof((m)->why), __VA_ARGS__), -EPROTO)

/*
 * The set-up as QEMU receives it with vectors=@vectors: version 0, our ID,
 * -1 with the memory (mapped here), connect notifications for each other
 * peer (its ID @vectors times, one eventfd each), then the interrupt
 * set-up (our ID @vectors times, one eventfd each).  Every step is
 * checked; m->why says what was wrong.
 */
static inline int mq_setup(struct mock_qemu *m, unsigned int vectors,
			   unsigned int ms)
{
	struct mq_peer *p;
	struct stat st;
	__s64 val = 0;
	int fd, ret;

	ret = mq_recv(m, &val, &fd, ms);
	if (ret)
		return MQ_FAIL(m, "version: %s", strerror(-ret));
	if (val != 0 || fd >= 0)
		return MQ_FAIL(m, "version: %lld%s, expected 0 without an fd",
			       (long long)val, fd >= 0 ? " with an fd" : "");
	ret = mq_recv(m, &val, &fd, ms);
	if (ret)
		return MQ_FAIL(m, "ID: %s", strerror(-ret));
	if (val < 0 || val > 65535 || fd >= 0)
		return MQ_FAIL(m, "ID: %lld, expected 0..65535 without an fd",
			       (long long)val);
	m->id = (int)val;
	ret = mq_recv(m, &val, &m->shm_fd, ms);
	if (ret)
		return MQ_FAIL(m, "shared memory: %s", strerror(-ret));
	if (val != -1 || m->shm_fd < 0 || fstat(m->shm_fd, &st))
		return MQ_FAIL(m, "shared memory: %lld, expected -1 with an fd",
			       (long long)val);
	m->shm_bytes = (__u64)st.st_size;
	m->mem = mmap(NULL, m->shm_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		      m->shm_fd, 0);
	if (m->mem == MAP_FAILED) {
		m->mem = NULL;
		return MQ_FAIL(m, "mmap of %llu bytes: %s",
			       (unsigned long long)m->shm_bytes, strerror(errno));
	}
	while (m->nvec < vectors) {
		ret = mq_recv(m, &val, &fd, ms);
		if (ret)
			return MQ_FAIL(m, "after %u own vectors: %s", m->nvec,
				       strerror(-ret));
		if (fd < 0 || !mq_is_eventfd(fd))
			return MQ_FAIL(m, "message %lld: %s", (long long)val,
				       fd < 0 ? "no fd during set-up" :
				       "the fd is not an eventfd");
		if (val == m->id) {
			m->own[m->nvec++] = fd;
			continue;
		}
		if (m->nvec)
			return MQ_FAIL(m, "a connect notification for %lld "
				       "inside the interrupt set-up",
				       (long long)val);
		if (val < 0 || val > 65535)
			return MQ_FAIL(m, "peer ID %lld", (long long)val);
		p = mq_peer(m, (int)val, 1);
		if (!p || p->n == vectors)
			return MQ_FAIL(m, "peer %lld: more than %u fds",
				       (long long)val, vectors);
		p->efd[p->n++] = fd;
	}
	for (p = m->peers; p < m->peers + MQ_MAX_PEERS; p++)
		if (p->id >= 0 && p->n != vectors)
			return MQ_FAIL(m, "peer %d: %u fds, expected %u", p->id,
				       p->n, vectors);
	return 0;
}

/*
 * The next notification within @ms: *id and whether it connected (1, with
 * all @vectors fds taken) or disconnected (0).  -ETIMEDOUT, -EPIPE, or
 * -EPROTO with m->why.
 */
static inline int mq_next_notification(struct mock_qemu *m,
				       unsigned int vectors, int *id,
				       int *connected, unsigned int ms)
{
	struct mq_peer *p;
	unsigned int v;
	__s64 val = 0;
	int fd, ret;

	ret = mq_recv(m, &val, &fd, ms);
	if (ret)
		return ret;
	if (val < 0 || val > 65535 || val == m->id)
		return MQ_FAIL(m, "notification for ID %lld", (long long)val);
	*id = (int)val;
	if (fd < 0) {
		*connected = 0;
		p = mq_peer(m, *id, 0);
		if (!p)
			return MQ_FAIL(m, "disconnect of unknown peer %d", *id);
		for (v = 0; v < p->n; v++)
			close(p->efd[v]);
		p->n = 0;
		p->id = -1;
		return 0;
	}
	*connected = 1;
	p = mq_peer(m, *id, 1);
	if (!p || p->n)
		return MQ_FAIL(m, "connect of peer %d that is known", *id);
	p->efd[p->n++] = fd;
	while (p->n < vectors) {
		ret = mq_recv(m, &val, &fd, ms);
		if (ret)
			return MQ_FAIL(m, "peer %d: %s after %u fds", *id,
				       strerror(-ret), p->n);
		if (val != *id || fd < 0)
			return MQ_FAIL(m, "peer %d: got %lld%s after %u fds", *id,
				       (long long)val, fd < 0 ? " without fd" : "",
				       p->n);
		p->efd[p->n++] = fd;
	}
	return 0;
}

/* The one other peer (the device), or NULL if there is not exactly one. */
static inline struct mq_peer *mq_only_peer(struct mock_qemu *m)
{
	struct mq_peer *found = NULL;
	unsigned int i;

	for (i = 0; i < MQ_MAX_PEERS; i++) {
		if (m->peers[i].id < 0)
			continue;
		if (found)
			return NULL;
		found = &m->peers[i];
	}
	return found;
}

/* A doorbell write for (@peer << 16 | @vector), as QEMU performs it. */
static inline void mq_doorbell(struct mock_qemu *m, int peer,
			       unsigned int vector)
{
	struct mq_peer *p = mq_peer(m, peer, 0);
	__u64 one = 1;

	/* Ignored if the peer or vector is not connected, as QEMU does. */
	if (p && vector < p->n && write(p->efd[vector], &one, sizeof(one)) < 0) {
		/* EAGAIN: saturated, the peer will run anyway. */
	}
}

/* Wait for MSI-X @vector within @ms and take it: 1 fired, 0 not. */
static inline int mq_wait_vector(struct mock_qemu *m, unsigned int vector,
				 int ms)
{
	struct pollfd p = { .fd = m->own[vector], .events = POLLIN };
	__u64 val;

	if (vector >= m->nvec || poll(&p, 1, ms) != 1)
		return 0;
	return read(m->own[vector], &val, sizeof(val)) == sizeof(val);
}

#endif /* L3L2Q_TEST_MOCK_QEMU_H */
