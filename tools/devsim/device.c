// SPDX-License-Identifier: MIT
/*
 * device.c - l3l2q-devsim's device modes (device.h): the set-up of each,
 * the main thread's event loop, the signals, and the clean exit.
 *
 *   --ivshmem-server  the server (its own thread) and the device, one
 *                     client of it (it connects first, so its ID is 0)
 *   --server-only     just the server, in the main thread
 *   --ivshmem-client  just the device, a client of a server elsewhere
 *   --plain FILE      the device on a shared file; no server, no vectors
 *
 * The event loop waits on: signals (signalfd), a scan tick, the reaper
 * eventfd of the region threads, the server connection and our vector
 * eventfds.  The tick re-reads the directory every SCAN_MS: the only way
 * to learn of new regions without interrupts, and a safety net with them
 * (a host rings vector 0 when the directory changes).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "device.h"

#define SCAN_MS			20

enum {
	EV_SIGNAL = 1,
	EV_TICK,
	EV_REAP,
	EV_SERVER,
	EV_VECTOR = 16,			/* + the vector */
};

static int watch(struct device *dev, int fd, __u64 tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* SIGTERM, SIGINT (and for a device SIGUSR1) through a signalfd. */
static int signals(int with_usr1)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (with_usr1)
		sigaddset(&set, SIGUSR1);
	else
		signal(SIGUSR1, SIG_IGN);
	/* Blocked in every thread created from here on. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int server_only(const struct opts *o)
{
	struct ivs_server s;
	int sigfd, ret;

	sigfd = signals(0);
	if (sigfd < 0) {
		devsim_err_msg("signalfd: %s", strerror(errno));
		return 1;
	}
	ret = ivs_server_open(&s, o->socket_path, o->shm_bytes, o->vectors) ?
	      1 : ivs_server_run(&s, sigfd);
	ivs_server_close(&s);
	close(sigfd);
	if (!ret)
		devsim_msg("ivshmem server: exiting");
	return ret;
}

static void *server_main(void *arg)
{
	struct device *dev = arg;

	dev->server_result = ivs_server_run(&dev->server, dev->server_stop);
	return NULL;
}

/*
 * --ivshmem-server: the server in a thread, bound to a name only we know;
 * we connect first (so we are ID 0 and QEMU finds us in its set-up), and
 * only then does the socket get its public name.
 */
static int start_server(struct device *dev)
{
	const struct opts *o = dev->o;

	snprintf(dev->tmp_path, sizeof(dev->tmp_path), "%s.%d", o->socket_path,
		 (int)getpid());
	if (ivs_server_open(&dev->server, dev->tmp_path, o->shm_bytes,
			    o->vectors))
		return 1;
	dev->server_stop = eventfd(0, EFD_CLOEXEC);
	if (dev->server_stop < 0 ||
	    pthread_create(&dev->server_thread, NULL, server_main, dev)) {
		devsim_err_msg("starting the server thread failed");
		return 1;
	}
	dev->server_started = 1;
	return dev_peers_connect(dev, dev->tmp_path, &dev->shm_fd) ? 1 : 0;
}

/* Our connection is in: the server may be found under its real name. */
static int publish_server(struct device *dev)
{
	if (rename(dev->tmp_path, dev->o->socket_path)) {
		devsim_err_msg("renaming %s to %s: %s", dev->tmp_path,
			       dev->o->socket_path, strerror(errno));
		return 1;
	}
	dev->server.path = dev->o->socket_path;
	return 0;
}

static void stop_server(struct device *dev)
{
	__u64 one = 1;

	if (dev->server_started) {
		if (write(dev->server_stop, &one, sizeof(one)) < 0)
			devsim_err_msg("stopping the server: %s", strerror(errno));
		pthread_join(dev->server_thread, NULL);
		dev->server_started = 0;
	}
	ivs_server_close(&dev->server);
	if (dev->server_stop >= 0)
		close(dev->server_stop);
	dev->server_stop = -1;
}

/* The shared memory: from the server, or the --plain file. */
static int map_memory(struct device *dev)
{
	const struct opts *o = dev->o;
	struct stat st;

	if (o->mode == MODE_PLAIN) {
		dev->shm_fd = open(o->plain_path, O_RDWR | O_CLOEXEC);
		if (dev->shm_fd < 0) {
			devsim_err_msg("--plain %s: %s", o->plain_path,
				       strerror(errno));
			return 1;
		}
	}
	if (fstat(dev->shm_fd, &st)) {
		devsim_err_msg("fstat of the shared memory: %s", strerror(errno));
		return 1;
	}
	/* The directory and at least one page for a region. */
	if (st.st_size < (off_t)(L3L2Q_DIR_BYTES + L3L2Q_REGION_ALIGN)) {
		devsim_err_msg("the shared memory has %lld bytes, less than the "
			       "directory and one page", (long long)st.st_size);
		return 1;
	}
	dev->mem_bytes = (__u64)st.st_size;
	dev->mem = mmap(NULL, dev->mem_bytes, PROT_READ | PROT_WRITE,
			MAP_SHARED, dev->shm_fd, 0);
	if (dev->mem == MAP_FAILED) {
		dev->mem = NULL;
		devsim_err_msg("mmap of %llu bytes: %s",
			       (unsigned long long)dev->mem_bytes, strerror(errno));
		return 1;
	}
	return 0;
}

/* SIGUSR1: a hostile device writes random bytes over everything. */
static void scribble(struct device *dev)
{
	__u64 x = 0, *p = (__u64 *)dev->mem, i;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (__u64)devsim_now_ns();
	x |= 1;
	for (i = 0; i < dev->mem_bytes / sizeof(*p); i++) {
		/* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Relaxed atomics: the other threads read these words too. */
		atomic_store_explicit((_Atomic __u64 *)&p[i], x,
				      memory_order_relaxed);
	}
	devsim_err_msg("SIGUSR1: wrote %llu random bytes over the shared memory",
		       (unsigned long long)dev->mem_bytes);
}

static int on_signal(struct device *dev)
{
	struct signalfd_siginfo si;

	while (read(dev->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			scribble(dev);
		else
			return 1;
	}
	return 0;
}

/* Our vector @v fired (the host rang our doorbell). */
static void on_vector(struct device *dev, unsigned int v)
{
	__u64 val;
	unsigned int i;

	if (read(dev->own_efd[v], &val, sizeof(val)) < 0 && errno != EAGAIN)
		devsim_err_msg("reading vector %u: %s", v, strerror(errno));
	if (v == 0)
		dev_dir_scan(dev);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		if (dev->regions[i].state == REG_SERVING &&
		    dev->regions[i].vector == v)
			region_wake(&dev->regions[i]);
}

static void on_reap(struct device *dev)
{
	unsigned int i;
	__u64 val;

	if (read(dev->reap_fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		devsim_err_msg("reading the reaper: %s", strerror(errno));
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		region_reap(&dev->regions[i]);
}

/* Until a signal ends it (0) or the server goes away (EXIT_SERVER_GONE). */
static int event_loop(struct device *dev)
{
	struct epoll_event ev[16];
	__u64 val;
	int i, n;

	while (!atomic_load(&dev->quit)) {
		n = epoll_wait(dev->epfd, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			devsim_err_msg("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			switch (ev[i].data.u64) {
			case EV_SIGNAL:
				if (on_signal(dev))
					return 0;
				break;
			case EV_TICK:
				if (read(dev->tick_fd, &val, sizeof(val)) < 0 &&
				    errno != EAGAIN)
					return 1;
				dev_dir_scan(dev);
				break;
			case EV_REAP:
				on_reap(dev);
				break;
			case EV_SERVER:
				if (dev_peers_handle(dev)) {
					devsim_err_msg("the ivshmem server went away");
					return EXIT_SERVER_GONE;
				}
				break;
			default:
				on_vector(dev, (unsigned int)(ev[i].data.u64 -
							      EV_VECTOR));
				break;
			}
		}
	}
	return 0;
}

static int setup(struct device *dev)
{
	const struct opts *o = dev->o;
	struct itimerspec it = {
		.it_interval = { .tv_nsec = SCAN_MS * 1000000l },
		.it_value = { .tv_nsec = SCAN_MS * 1000000l },
	};
	unsigned int i;

	dev->sigfd = signals(1);
	dev->epfd = epoll_create1(EPOLL_CLOEXEC);
	dev->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	dev->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->sigfd < 0 || dev->epfd < 0 || dev->tick_fd < 0 ||
	    dev->reap_fd < 0 || timerfd_settime(dev->tick_fd, 0, &it, NULL) ||
	    watch(dev, dev->sigfd, EV_SIGNAL) ||
	    watch(dev, dev->tick_fd, EV_TICK) ||
	    watch(dev, dev->reap_fd, EV_REAP)) {
		devsim_err_msg("setting up the event loop: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		dev->regions[i].dev = dev;
		dev->regions[i].index = i;
		dev->regions[i].wake_fd = -1;
	}
	dev->use_ctrl = !o->upstream_only;
	dev->can_kick = dev->use_ctrl && o->mode != MODE_PLAIN;
	dev->features = dev->can_kick ? L3L2Q_FEAT_KICKS : 0;
	atomic_store(&dev->heartbeat_ms, 100u);
	if (o->mode == MODE_SERVER) {
		if (start_server(dev) || publish_server(dev))
			return 1;
	} else if (o->mode == MODE_CLIENT &&
		   dev_peers_connect(dev, o->socket_path, &dev->shm_fd)) {
		return 1;
	}
	if (o->mode != MODE_PLAIN) {
		if (watch(dev, dev->ctl_sock, EV_SERVER)) {
			devsim_err_msg("epoll_ctl: %s", strerror(errno));
			return 1;
		}
	}
	if (map_memory(dev))
		return 1;
	/* The rest of the set-up messages (our vectors) may be queued. */
	if (dev->ctl_sock >= 0 && dev_peers_handle(dev)) {
		devsim_err_msg("the ivshmem server went away during set-up");
		return EXIT_SERVER_GONE;
	}
	if (dev_heartbeat_start(dev)) {
		devsim_err_msg("starting the heartbeat thread failed");
		return 1;
	}
	devsim_msg("device: %llu bytes of shared memory, %s%s",
		   (unsigned long long)dev->mem_bytes,
		   o->mode == MODE_PLAIN ? "no interrupts (polled)" :
		   "ivshmem peer", o->upstream_only ?
		   ", upstream-only (no control block, no kicks)" : "");
	return 0;
}

static void teardown(struct device *dev)
{
	if (dev->mem && dev->attached) {
		/* Every region let go, then the device itself DEAD. */
		dev_dir_detach(dev, STOP_LET_GO);
		dev_line_write(dev, L3L2Q_DEV_DEAD);
		dev_interrupt_host(dev, 0);
	} else if (dev->mem) {
		dev_dir_detach(dev, STOP_LET_GO);
	}
	dev_heartbeat_stop(dev);
	dev_peers_close(dev);
	stop_server(dev);
	if (dev->mem)
		munmap(dev->mem, dev->mem_bytes);
	if (dev->shm_fd >= 0)
		close(dev->shm_fd);
	if (dev->epfd >= 0)
		close(dev->epfd);
	if (dev->sigfd >= 0)
		close(dev->sigfd);
	if (dev->tick_fd >= 0)
		close(dev->tick_fd);
	if (dev->reap_fd >= 0)
		close(dev->reap_fd);
}

int devsim_device_main(const struct opts *o)
{
	struct device *dev;
	int ret;

	if (o->mode == MODE_SERVER_ONLY)
		return server_only(o);
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		devsim_err_msg("out of memory");
		return 1;
	}
	dev->o = o;
	dev->shm_fd = -1;
	dev->epfd = dev->sigfd = dev->tick_fd = dev->reap_fd = -1;
	dev->server_stop = -1;
	dev->server.listen_fd = dev->server.shm_fd = -1;
	dev_peers_init(dev);
	ret = setup(dev);
	if (!ret) {
		dev_dir_scan(dev);
		ret = event_loop(dev);
	}
	teardown(dev);
	if (!ret)
		devsim_msg("device: exiting");
	free(dev);
	return ret;
}
