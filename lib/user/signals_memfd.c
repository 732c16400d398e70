// SPDX-License-Identifier: MIT
/*
 * Signals on a memfd: the region in a sealed memfd, one eventfd per role
 * (a kick writes the waiting role's; it stays readable, so a kick before
 * the sleep is not lost: K2), and the peer's pidfd for its death.  The L2
 * gets the bundle {memfd, L3 eventfd, L2 eventfd, L3 pidfd} over a unix
 * socket (l3l2q_sig_peer_fd) and sends its own pidfd back on it.
 *
 * With no kernel to watch the roles, the survivor's sleep sees the
 * peer's pidfd readable and stores the peer's state word DEAD for it,
 * so the core ends the wait with -ECONNRESET.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "signals_user.h"
#include "atomic.h"

#define SIG_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define SIG_BUNDLE	4

static __u32 *sig_state(struct l3l2q_signals *sg, __u32 role)
{
	return (__u32 *)((char *)sg->map + (role == L3L2Q_ROLE_L3 ?
					    L3L2Q_CTRL_L3_STATE :
					    L3L2Q_CTRL_L2_STATE));
}

static int self_pidfd(void)
{
	return (int)syscall(SYS_pidfd_open, getpid(), 0);
}

/* N4: the waiting role's eventfd; a full counter is readable anyway. */
static void memfd_kick(void *ctx, __u32 role, __u32 id)
{
	struct l3l2q_signals *sg = ctx;
	__u64 one = 1;

	(void)id;
	if (write(sg->efd[role & 1], &one, sizeof(one)) < 0)
		return;
}

/* The L2's pidfd, when it sends it; its socket end closing ends that. */
static void take_back_pidfd(struct l3l2q_signals *sg)
{
	int pidfd = -1, ret;

	ret = l3l2q__recv_some_fds(sg->back_sock, &pidfd, 1, MSG_DONTWAIT);
	if (ret == -EAGAIN)
		return;
	if (ret == 1)
		sg->peer_pidfd = pidfd;
	/* A fork child may hold the socket too: leave the set explicitly. */
	if (sg->wset >= 0)
		epoll_ctl(sg->wset, EPOLL_CTL_DEL, sg->back_sock, NULL);
	l3l2q__sig_close_fd(&sg->back_sock);
}

/* W4 (K1-K3): this role's eventfd, the peer's pidfd, the deadline. */
static int memfd_sleep(void *ctx, const struct l3l2q_sig_waitv *v, __u32 n,
		       __u64 deadline_ns)
{
	struct l3l2q_signals *sg = ctx;
	struct pollfd p[3] = {
		{ .fd = sg->efd[sg->role], .events = POLLIN },
		{ .fd = sg->peer_pidfd, .events = POLLIN },
		{ .fd = sg->back_sock, .events = POLLIN },
	};
	struct timespec ts, *tsp;
	__u64 cnt;

	(void)v;
	(void)n;
	if (l3l2q__timeout(deadline_ns, &ts, &tsp))
		return -ETIMEDOUT;
	if (ppoll(p, 3, tsp, NULL) < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (p[2].revents)
		take_back_pidfd(sg);
	if (p[1].revents & POLLIN) {
		/* Gone without saying so: say it for it (a one-way word). */
		l3l2q_store_release_u32(sig_state(sg, !sg->role),
					L3L2Q_ROLE_DEAD);
		return -ECONNRESET;
	}
	if (p[0].revents & POLLIN) {
		if (read(sg->efd[sg->role], &cnt, sizeof(cnt)) < 0 &&
		    errno != EAGAIN)
			return -errno;
		return 0;
	}
	return p[2].revents ? 0 : -ETIMEDOUT;
}

int l3l2q__sig_memfd_create(struct l3l2q_signals *sg,
			    struct l3l2q_error *err)
{
	struct l3l2q_sig_mem mem;
	int ret, i;

	sg->map_bytes = (size_t)sg->layout.total_bytes;
	sg->fd = memfd_create("l3l2q-signals", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (sg->fd < 0 || ftruncate(sg->fd, (off_t)sg->map_bytes) ||
	    fcntl(sg->fd, F_ADD_SEALS, SIG_SEALS))
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT,
					 "memfd_create, sizing or sealing failed");
	ret = l3l2q__sig_map(sg, err);
	if (ret)
		return ret;
	mem.ctrl = sg->map;
	mem.hdmem = (char *)sg->map + sg->layout.hdmem_offset;
	mem.region_id = 0;
	ret = l3l2q_sig_region_init(&mem, &sg->layout, 0);
	for (i = 0; !ret && i < 2; i++) {
		sg->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (sg->efd[i] < 0)
			ret = -errno;
	}
	if (ret)
		return l3l2q__user_error(err, -ret, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT,
					 "formatting or eventfd failed");
	ret = l3l2q__sig_bind(sg, memfd_sleep, memfd_kick, err);
	if (ret)
		return ret;
	/* Release: the formatted region is visible before the role is. */
	l3l2q_store_release_u32(sig_state(sg, L3L2Q_ROLE_L3), L3L2Q_ROLE_LIVE);
	return 0;
}

/* A socket with the bundle queued on it; this side keeps the other end. */
int l3l2q__sig_memfd_peer_fd(struct l3l2q_signals *sg)
{
	int fds[SIG_BUNDLE] = { sg->fd, sg->efd[0], sg->efd[1], -1 };
	int sv[2], ret;

	if (sg->back_sock >= 0 || sg->peer_pidfd >= 0)
		return -EBUSY;
	/* Without pidfds (qemu-user, old kernels) death is seen on destroy. */
	fds[3] = self_pidfd();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		l3l2q__sig_close_fd(&fds[3]);
		return ret;
	}
	ret = l3l2q__send_fds(sv[0], fds, fds[3] >= 0 ? SIG_BUNDLE :
							 SIG_BUNDLE - 1);
	l3l2q__sig_close_fd(&fds[3]);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	sg->back_sock = sv[0];
	return sv[1];
}

/* Read the creator's header once, validate the copy, use only the copy. */
static int read_ctrl(struct l3l2q_signals *sg, struct l3l2q_error *err)
{
	struct l3l2q_sig_ctrl_hdr h;
	enum l3l2q_sig_layout_status st;

	if (sg->map_bytes < sizeof(h))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "memfd is smaller than a control block");
	memcpy(&h, sg->map, sizeof(h));
	if (h.magic != L3L2Q_CTRL_MAGIC || h.kind != L3L2Q_KIND_SIGNALS ||
	    h.kind_magic_version != L3L2Q_SIG_MAGIC_VERSION)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "control block: not a signals region");
	st = l3l2q_sig_layout(h.data_bytes, h.signal_count, h.hdmem_flags,
			      h.sig_flags, &sg->layout);
	if (st != L3L2Q_SIG_LAYOUT_OK)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 l3l2q_sig_layout_strerror(st));
	if (sg->layout.total_bytes != sg->map_bytes)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "memfd size does not match its geometry");
	return 0;
}

int l3l2q__sig_memfd_attach(struct l3l2q_signals *sg, int sock,
			    struct l3l2q_error *err)
{
	int fds[SIG_BUNDLE] = { -1, -1, -1, -1 }, ret, pidfd;
	struct stat st;

	ret = l3l2q__recv_some_fds(sock, fds, SIG_BUNDLE, 0);
	sg->fd = fds[0];
	sg->efd[0] = fds[1];
	sg->efd[1] = fds[2];
	sg->peer_pidfd = fds[3];
	if (ret < SIG_BUNDLE - 1)
		return l3l2q__user_error(err, ret < 0 ? -ret : EINVAL,
					 L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "fd: no signals bundle on this socket");
	if (fstat(sg->fd, &st) || st.st_size <= 0)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "bundle: the memfd has no size");
	sg->map_bytes = (size_t)st.st_size;
	ret = l3l2q__sig_map(sg, err);
	if (!ret)
		ret = read_ctrl(sg, err);
	if (!ret)
		ret = l3l2q__sig_bind(sg, memfd_sleep, memfd_kick, err);
	if (ret)
		return ret;
	/* One L2 per region, ever: claim the role atomically. */
	if (!l3l2q_cas_u32(sig_state(sg, L3L2Q_ROLE_L2), L3L2Q_ROLE_ABSENT,
			   L3L2Q_ROLE_LIVE))
		return l3l2q__user_error(err, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT,
					 "the L2 role of this region is taken");
	pidfd = self_pidfd();
	if (pidfd >= 0) {
		(void)l3l2q__send_fds(sock, &pidfd, 1);	/* L3 gone: nobody to tell */
		close(pidfd);
	}
	return 0;
}

static int set_add(int set, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int wait_set_create(struct l3l2q_signals *sg)
{
	int ret = 0;

	sg->wset = epoll_create1(EPOLL_CLOEXEC);
	sg->wset_tfd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_CLOEXEC | TFD_NONBLOCK);
	if (sg->wset < 0 || sg->wset_tfd < 0)
		ret = -errno;
	if (!ret)
		ret = set_add(sg->wset, sg->efd[sg->role]);
	if (!ret)
		ret = set_add(sg->wset, sg->wset_tfd);
	/* Until the L2's pidfd comes, its socket says when it does. */
	if (!ret && sg->back_sock >= 0)
		ret = set_add(sg->wset, sg->back_sock);
	if (ret) {
		l3l2q__sig_close_fd(&sg->wset);
		l3l2q__sig_close_fd(&sg->wset_tfd);
	}
	return ret;
}

/*
 * The io_uring wait set (l3l2q_signals_prep_wait): an epoll fd, made at
 * first use, of this role's eventfd (K2: it stays readable, so a kick
 * before the submit is not lost), the peer's pidfd (or the socket it
 * comes on) and a timer armed at @deadline_ns.  Level-triggered:
 * l3l2q__sig_memfd_wait_reap() consumes what fired.
 */
int l3l2q__sig_memfd_wait_set(struct l3l2q_signals *sg, __u64 deadline_ns)
{
	struct itimerspec it = { { 0, 0 }, { 0, 0 } };
	int ret;

	if (sg->wset < 0) {
		ret = wait_set_create(sg);
		if (ret)
			return ret;
	}
	if (sg->back_sock >= 0)
		take_back_pidfd(sg);
	if (sg->peer_pidfd >= 0 && !sg->wset_pidfd) {
		ret = set_add(sg->wset, sg->peer_pidfd);
		if (ret)
			return ret;
		sg->wset_pidfd = 1;
	}
	/* Above 2^63 - 1 is no deadline, as for the driver; 0 still fires. */
	if (deadline_ns <= (__u64)INT64_MAX) {
		if (!deadline_ns)
			deadline_ns = 1;
		it.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		it.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
	}
	/* Zero disarms a previous wait's timer. */
	if (timerfd_settime(sg->wset_tfd, TFD_TIMER_ABSTIME, &it, NULL))
		return -errno;
	return sg->wset;
}

/*
 * After the wait set's completion: consume the kick and the timer so the
 * next wait does not fire at once, and say a dead peer is dead, as
 * memfd_sleep() does, so the re-check ends with -ECONNRESET.
 */
void l3l2q__sig_memfd_wait_reap(struct l3l2q_signals *sg)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	struct pollfd p = { .fd = -1, .events = POLLIN };
	__u64 cnt;

	if (sg->back_sock >= 0)
		take_back_pidfd(sg);
	if (read(sg->efd[sg->role], &cnt, sizeof(cnt)) < 0)
		cnt = 0;	/* EAGAIN: no kick came */
	if (sg->wset_tfd >= 0) {
		timerfd_settime(sg->wset_tfd, 0, &off, NULL);
		if (read(sg->wset_tfd, &cnt, sizeof(cnt)) < 0)
			cnt = 0;
	}
	p.fd = sg->peer_pidfd;
	if (p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
		l3l2q_store_release_u32(sig_state(sg, !sg->role),
					L3L2Q_ROLE_DEAD);
}

/* This role is gone: say so, and wake the peer's sleeper to see it. */
void l3l2q__sig_memfd_destroy(struct l3l2q_signals *sg)
{
	if (!sg->map)
		return;
	l3l2q_store_release_u32(sig_state(sg, sg->role), L3L2Q_ROLE_DEAD);
	memfd_kick(sg, !sg->role, 0);
}
