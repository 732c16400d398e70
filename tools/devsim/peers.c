// SPDX-License-Identifier: MIT
/*
 * peers.c - the device as one client of the ivshmem server: it learns its
 * ID and the memory at connect, then, in any order the server chooses,
 * its own vector eventfds (a guest's doorbell write for our ID and vector
 * v makes QEMU write our eventfd v) and the other peers' eventfds (writing
 * the host's eventfd v makes QEMU raise the guest's MSI-X vector v).
 *
 * The peer table is read by the region threads when they kick the host,
 * so it sits under peers_lock; the rest is the main thread's.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"

/* The set-up messages arrive at once; this only ends a wrong peer. */
#define HANDSHAKE_MS		10000

void dev_peers_init(struct device *dev)
{
	unsigned int i, v;

	dev->ctl_sock = -1;
	dev->own_id = 0;
	dev->nvec = 0;
	for (v = 0; v < DEV_MAX_VECTORS; v++)
		dev->own_efd[v] = -1;
	for (i = 0; i < DEV_MAX_PEERS; i++) {
		dev->peers[i].id = -1;
		dev->peers[i].n = 0;
	}
	atomic_store(&dev->host_id, -1);
	pthread_mutex_init(&dev->peers_lock, NULL);
}

/* One set-up message, waiting at most HANDSHAKE_MS for it. */
static int recv_setup(struct device *dev, __s64 *val, int *fd)
{
	struct pollfd p = { .fd = dev->ctl_sock, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, HANDSHAKE_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return ivs_recv(dev->ctl_sock, val, fd, 0);
}

int dev_peers_connect(struct device *dev, const char *path, int *shm_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	__s64 version, id, minus1;
	int fd, ret;

	*shm_fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		devsim_err_msg("%s: path longer than %zu bytes", path,
			       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	dev->ctl_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dev->ctl_sock < 0)
		return -errno;
	if (connect(dev->ctl_sock, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		devsim_err_msg("ivshmem server %s: connect: %s", path,
			       strerror(-ret));
		return ret;
	}
	/* Steps 1-3: version, our ID, -1 with the memory. */
	ret = recv_setup(dev, &version, &fd);
	if (!ret && fd >= 0) {
		close(fd);
		ret = -EPROTO;
	}
	if (!ret && version != IVS_VERSION) {
		devsim_err_msg("ivshmem server %s: protocol version %lld, "
			       "only %d is known", path, (long long)version,
			       IVS_VERSION);
		return -EPROTO;
	}
	if (!ret)
		ret = recv_setup(dev, &id, &fd);
	if (!ret && (fd >= 0 || id < 0 || id > IVS_MAX_ID)) {
		if (fd >= 0)
			close(fd);
		devsim_err_msg("ivshmem server %s: bad ID message %lld", path,
			       (long long)id);
		return -EPROTO;
	}
	if (!ret)
		ret = recv_setup(dev, &minus1, shm_fd);
	if (!ret && (minus1 != -1 || *shm_fd < 0)) {
		devsim_err_msg("ivshmem server %s: expected -1 with the shared "
			       "memory, got %lld%s", path, (long long)minus1,
			       *shm_fd < 0 ? " without an fd" : "");
		ret = -EPROTO;
	}
	if (ret) {
		if (ret != -EPROTO)
			devsim_err_msg("ivshmem server %s: set-up: %s", path,
				       strerror(-ret));
		return ret;
	}
	dev->own_id = (int)id;
	devsim_msg("ivshmem peer ID %d", dev->own_id);
	return 0;
}

static struct dev_peer *find_peer(struct device *dev, int id, int add)
{
	struct dev_peer *free_p = NULL;
	unsigned int i;

	for (i = 0; i < DEV_MAX_PEERS; i++) {
		if (dev->peers[i].id == id)
			return &dev->peers[i];
		if (dev->peers[i].id < 0 && !free_p)
			free_p = &dev->peers[i];
	}
	if (!add || !free_p)
		return NULL;
	free_p->id = id;
	free_p->n = 0;
	return free_p;
}

/* Our vector @fd: into the event loop, tagged with its number. */
static void add_own_vector(struct device *dev, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (dev->nvec == DEV_MAX_VECTORS) {
		close(fd);	/* configured for fewer: close the extras */
		return;
	}
	ev.data.u64 = 16 + dev->nvec;
	if (epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		devsim_err_msg("epoll_ctl (vector %u): %s", dev->nvec,
			       strerror(errno));
		close(fd);
		return;
	}
	dev->own_efd[dev->nvec++] = fd;
}

static void one_message(struct device *dev, __s64 val, int fd)
{
	struct dev_peer *p;
	unsigned int v;
	int host;

	if (val < 0 || val > IVS_MAX_ID) {
		devsim_err_msg("ivshmem server: bad message %lld, ignored",
			       (long long)val);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (val == dev->own_id) {
		if (fd >= 0)
			add_own_vector(dev, fd);
		return;
	}
	pthread_mutex_lock(&dev->peers_lock);
	if (fd >= 0) {
		/* A connect notification: the peer's next vector. */
		p = find_peer(dev, (int)val, 1);
		v = DEV_MAX_VECTORS;
		if (p && p->n < DEV_MAX_VECTORS) {
			v = p->n;
			p->efd[p->n++] = fd;
		} else {
			close(fd);
		}
		pthread_mutex_unlock(&dev->peers_lock);
		/*
		 * The host's vector v just became reachable: a kick sent
		 * before was lost, so send one now (a spare one is harmless).
		 */
		host = atomic_load(&dev->host_id);
		if (host == (int)val && v < DEV_MAX_VECTORS)
			dev_interrupt_host(dev, v);
		return;
	}
	p = find_peer(dev, (int)val, 0);
	if (p) {
		for (v = 0; v < p->n; v++)
			close(p->efd[v]);
		p->n = 0;
		p->id = -1;
	}
	pthread_mutex_unlock(&dev->peers_lock);
	devsim_msg("ivshmem peer %lld left", (long long)val);
}

int dev_peers_handle(struct device *dev)
{
	__s64 val;
	int fd, ret;

	for (;;) {
		ret = ivs_recv(dev->ctl_sock, &val, &fd, MSG_DONTWAIT);
		if (ret == -EAGAIN)
			return 0;
		if (ret)
			return -EPIPE;
		one_message(dev, val, fd);
	}
}

void dev_interrupt_host(struct device *dev, unsigned int vector)
{
	int host = atomic_load_explicit(&dev->host_id, memory_order_relaxed);
	__u64 one = 1;
	struct dev_peer *p;
	int done = 0;

	if (dev->ctl_sock < 0 || host < 0)
		return;
	pthread_mutex_lock(&dev->peers_lock);
	p = find_peer(dev, host, 0);
	/* EAGAIN: the counter is saturated, the host will run anyway. */
	if (p && vector < p->n)
		done = write(p->efd[vector], &one, sizeof(one)) == sizeof(one) ||
		       errno == EAGAIN;
	pthread_mutex_unlock(&dev->peers_lock);
	if (!done)
		atomic_fetch_add_explicit(&dev->kicks_lost, 1,
					  memory_order_relaxed);
}

void dev_peers_close(struct device *dev)
{
	unsigned int i, v;

	for (i = 0; i < DEV_MAX_PEERS; i++) {
		for (v = 0; v < dev->peers[i].n; v++)
			close(dev->peers[i].efd[v]);
		dev->peers[i].n = 0;
		dev->peers[i].id = -1;
	}
	for (v = 0; v < dev->nvec; v++)
		close(dev->own_efd[v]);
	dev->nvec = 0;
	if (dev->ctl_sock >= 0)
		close(dev->ctl_sock);
	dev->ctl_sock = -1;
	pthread_mutex_destroy(&dev->peers_lock);
}
