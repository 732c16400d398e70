// SPDX-License-Identifier: MIT
/*
 * The memfd backing: the region is a sealed memfd shared by fork or
 * SCM_RIGHTS.  Seals stop either side from shrinking the file under the
 * other's mapping (which would turn accesses into SIGBUS).  With no kernel
 * in the middle, the library itself initialises the region, claims the L2
 * role and marks a role dead when it is destroyed.
 *
 * Wake-ups: one eventfd per role (the one it sleeps on; the peer writes it
 * to kick).  The L2 role is handed over as one fd, a unix socket with the
 * memfd and both eventfds queued on it.  A peer killed without a chance to
 * say so is noticed through a pidfd of its process, polled with the
 * eventfd; the survivor then marks that role dead itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "atomic.h"

#define REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static __u32 *ctrl_word(struct l3l2q_queue *q, unsigned int off)
{
	return (__u32 *)((char *)q->map + q->off.ctrl_offset + off);
}

static void memfd_kick(struct l3l2q_queue *q);

/* This role's (@peer 0) or the other role's (@peer 1) state and pid words. */
static __u32 *state_word(struct l3l2q_queue *q, int peer)
{
	int l3 = (q->role == L3L2Q_ROLE_L3) != peer;

	return ctrl_word(q, l3 ? L3L2Q_CTRL_L3_STATE : L3L2Q_CTRL_L2_STATE);
}

static __u32 *pid_word(struct l3l2q_queue *q, int peer)
{
	int l3 = (q->role == L3L2Q_ROLE_L3) != peer;

	return ctrl_word(q, l3 ? L3L2Q_CTRL_L3_PID : L3L2Q_CTRL_L2_PID);
}

static void close_efds(struct l3l2q_queue *q)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (q->efd[i] >= 0)
			close(q->efd[i]);
		q->efd[i] = -1;
	}
	if (q->peer_pidfd >= 0)
		close(q->peer_pidfd);
	q->peer_pidfd = -1;
}

static int memfd_create_region(struct l3l2q_queue *q,
			       const struct l3l2q_params *p,
			       struct l3l2q_error *err)
{
	struct l3l2q_mem mem;
	int ret;

	if (p->flags & (L3L2Q_CREATE_LOOPBACK | L3L2Q_CREATE_LOOPBACK_XOR))
		return l3l2q__user_error(err, EOPNOTSUPP, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "flags: L3L2Q_CREATE_LOOPBACK needs /dev/l3l2q; a memfd queue has no in-kernel peer");
	if (!l3l2q_region_layout(&q->layout, &q->off))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "region size overflows 64 bits");
	q->fd = memfd_create("l3l2q", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (q->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT, "memfd_create failed");
	if (ftruncate(q->fd, (off_t)q->off.total_bytes) ||
	    fcntl(q->fd, F_ADD_SEALS, REQUIRED_SEALS)) {
		ret = l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					L3L2Q_EOP_INIT,
					"sizing or sealing the memfd failed");
		l3l2q__unmap(q);
		return ret;
	}
	ret = l3l2q__map(q, q->off.total_bytes, err);
	if (ret)
		return ret;
	mem.ctrl = (char *)q->map + q->off.ctrl_offset;
	mem.counters = (char *)q->map + q->off.counter_offset;
	mem.payload = (char *)q->map + q->off.payload_offset;
	mem.region_id = 0;
	l3l2q_region_init(&mem, &q->layout, p->start_pos, p->flags);
	q->efd[L3L2Q_ROLE_L3] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->efd[L3L2Q_ROLE_L2] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd[L3L2Q_ROLE_L3] < 0 || q->efd[L3L2Q_ROLE_L2] < 0) {
		ret = l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					L3L2Q_EOP_INIT, "eventfd failed");
		close_efds(q);
		l3l2q__unmap(q);
		return ret;
	}
	*ctrl_word(q, L3L2Q_CTRL_L3_PID) = (__u32)getpid();
	/* Release: the initialised region is visible before the role is. */
	l3l2q_store_release_u32(ctrl_word(q, L3L2Q_CTRL_L3_STATE),
				L3L2Q_ROLE_LIVE);
	return 0;
}

/* A socket with {memfd, L3 eventfd, L2 eventfd} queued on it. */
static int memfd_peer_fd(struct l3l2q_queue *q)
{
	int fds[3] = { q->fd, q->efd[L3L2Q_ROLE_L3], q->efd[L3L2Q_ROLE_L2] };
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	ret = l3l2q__send_fds(sv[0], fds, 3);
	close(sv[0]);	/* what is queued stays readable */
	if (ret) {
		close(sv[1]);
		return ret;
	}
	return sv[1];
}

/* Read the creator's header once, validate the copy, use only the copy. */
static int read_header(struct l3l2q_queue *q, struct l3l2q_error *err)
{
	struct l3l2q_ctrl_hdr h;
	struct l3l2q_region_offsets off;
	enum l3l2q_layout_status st;

	memcpy(&h, q->map, sizeof(h));
	if (h.magic != L3L2Q_CTRL_MAGIC || h.version != L3L2Q_CTRL_VERSION)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "control block magic or version mismatch");
	if (h.queue_magic_version != L3L2Q_QUEUE_MAGIC_VERSION)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "queue_magic_version mismatch");
	if (h.flags & ~L3L2Q_CREATE_ALL || h.resv0 || h.resv1)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "control block has unknown flags or non-zero resv");
	st = l3l2q_layout(h.depth, h.input_arena_bytes, h.output_arena_bytes,
			  &q->layout);
	if (st != L3L2Q_LAYOUT_OK)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 l3l2q_layout_strerror(st));
	if (!l3l2q_region_layout(&q->layout, &off) ||
	    off.total_bytes != q->map_bytes)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "region size does not match its geometry");
	q->off = off;
	q->start_pos = h.start_pos;
	return 0;
}

static int attach_memfd(struct l3l2q_queue *q, int fd, struct l3l2q_error *err);

static int memfd_attach(struct l3l2q_queue *q, int fd, struct l3l2q_error *err)
{
	struct stat st;
	int ret, fds[3];

	if (!fstat(fd, &st) && S_ISSOCK(st.st_mode)) {
		/*
		 * Peek: the bundle stays queued until the role is claimed, so
		 * an attach refused for its arguments can be retried.
		 */
		ret = l3l2q__recv_fds(fd, fds, 3, MSG_PEEK | MSG_DONTWAIT);
		/* Empty (EOF once the sender closed): another L2 took it. */
		if (ret == -EAGAIN || ret == -ECONNRESET)
			return l3l2q__user_error(err, EBUSY,
						 L3L2Q_ERR_BAD_ARGUMENT,
						 L3L2Q_EOP_ATTACH,
						 "the L2 role of this queue is already taken");
		if (ret)
			return l3l2q__user_error(err, -ret,
						 L3L2Q_ERR_BAD_DESCRIPTOR,
						 L3L2Q_EOP_ATTACH,
						 "the socket carries no l3l2q queue");
		q->bundle_sock = fd;
		q->efd[L3L2Q_ROLE_L3] = fds[1];
		q->efd[L3L2Q_ROLE_L2] = fds[2];
		ret = attach_memfd(q, fds[0], err);
		close(fds[0]);
		if (ret)
			close_efds(q);
		return ret;
	}
	return attach_memfd(q, fd, err);
}

static int attach_memfd(struct l3l2q_queue *q, int fd, struct l3l2q_error *err)
{
	struct stat st;
	int seals, ret;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS)
		return l3l2q__user_error(err, ENOTTY, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "fd is neither an l3l2q queue fd nor a sealed l3l2q memfd");
	if (fstat(fd, &st))
		return l3l2q__user_error(err, errno, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH, "fstat failed");
	if (st.st_size < (off_t)(L3L2Q_CTRL_BYTES + L3L2Q_REGION_ALIGN))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "memfd is too small for a queue region");
	q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (q->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "dup of fd failed");
	ret = l3l2q__map(q, (size_t)st.st_size, err);
	if (!ret)
		ret = read_header(q, err);
	if (ret)
		l3l2q__unmap(q);
	return ret;
}

static int memfd_claim(struct l3l2q_queue *q, struct l3l2q_error *err)
{
	/* One L2 per queue, ever (pitfall P15): claim the role atomically. */
	if (!l3l2q_cas_u32(ctrl_word(q, L3L2Q_CTRL_L2_STATE),
			   L3L2Q_ROLE_ABSENT, L3L2Q_ROLE_LIVE))
		return l3l2q__user_error(err, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "the L2 role of this queue is already taken");
	*ctrl_word(q, L3L2Q_CTRL_L2_PID) = (__u32)getpid();
	/* Claimed: take the bundle off the socket so no one else gets it. */
	if (q->bundle_sock >= 0) {
		int fds[3], i;

		if (!l3l2q__recv_fds(q->bundle_sock, fds, 3, MSG_DONTWAIT))
			for (i = 0; i < 3; i++)
				close(fds[i]);
		q->bundle_sock = -1;
	}
	memfd_kick(q);	/* an L3 asleep already: watch this pid from now on */
	return 0;
}

static void memfd_destroy(struct l3l2q_queue *q, int gone)
{
	/*
	 * Release: everything this role published is visible before the
	 * peer learns that the role is gone.
	 */
	if (gone && q->map) {
		l3l2q_store_release_u32(state_word(q, 0),
					L3L2Q_ROLE_DEAD);
		memfd_kick(q);	/* a sleeping peer must learn it now */
	}
	close_efds(q);
	l3l2q__unmap(q);
}

static int peer_role(const struct l3l2q_queue *q)
{
	return q->role == L3L2Q_ROLE_L3 ? L3L2Q_ROLE_L2 : L3L2Q_ROLE_L3;
}

static void memfd_kick(struct l3l2q_queue *q)
{
	__u64 one = 1;

	if (q->efd[peer_role(q)] >= 0 &&
	    write(q->efd[peer_role(q)], &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the peer is awake anyway. */
	}
}

/*
 * The peer's process, once it has a live role: a pidfd to poll.  Returns 1
 * when that process is already gone (ESRCH): a peer killed before this
 * side ever slept would otherwise never be noticed.
 */
static int watch_peer(struct l3l2q_queue *q)
{
	__u32 state, pid;

	if (q->peer_pidfd >= 0)
		return 0;
	state = l3l2q_load_acquire_u32(state_word(q, 1));
	pid = l3l2q_load_once_u32(pid_word(q, 1));
	if (state == L3L2Q_ROLE_LIVE && pid && (pid_t)pid != getpid()) {
		q->peer_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (q->peer_pidfd < 0 && errno == ESRCH)
			return 1;
	}
	return 0;
}

/* W4 on an eventfd: it keeps a kick that came before we got here. */
static int memfd_sleep(struct l3l2q_queue *q, __u32 counter, __s32 seen,
		       __u64 deadline_ns)
{
	struct pollfd pfd[2] = {
		{ .fd = q->efd[q->role], .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	struct timespec ts, *tsp = NULL;
	__u64 now, left, val;
	int n;

	(void)counter;
	(void)seen;
	/* A dead peer will never kick (its last kick may be taken already). */
	if (l3l2q_load_acquire_u32(state_word(q, 1)) == L3L2Q_ROLE_DEAD)
		return -ECONNRESET;
	if (watch_peer(q)) {
		/* Gone without saying so, before we ever watched it. */
		l3l2q_store_release_u32(state_word(q, 1), L3L2Q_ROLE_DEAD);
		return -ECONNRESET;
	}
	pfd[1].fd = q->peer_pidfd;
	if (deadline_ns != L3L2Q_DEADLINE_NONE) {
		now = l3l2q_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		left = deadline_ns - now;
		ts.tv_sec = (time_t)(left / 1000000000ull);
		ts.tv_nsec = (long)(left % 1000000000ull);
		tsp = &ts;
	}
	n = ppoll(pfd, 2, tsp, NULL);
	if (n < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (pfd[1].revents) {
		/* The peer's process is gone without saying so: say it. */
		l3l2q_store_release_u32(state_word(q, 1),
					L3L2Q_ROLE_DEAD);
		return -ECONNRESET;
	}
	if (read(pfd[0].fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int memfd_poll_fd(const struct l3l2q_queue *q)
{
	return q->efd[q->role];
}

const struct l3l2q_backing l3l2q_memfd_backing = {
	.name = "memfd",
	.id = L3L2Q_BACKEND_MEMFD,
	.create = memfd_create_region,
	.peer_fd = memfd_peer_fd,
	.attach = memfd_attach,
	.claim = memfd_claim,
	.destroy = memfd_destroy,
	.sleep = memfd_sleep,
	.kick = memfd_kick,
	.poll_fd = memfd_poll_fd,
};
