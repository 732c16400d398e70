// SPDX-License-Identifier: MIT
/*
 * The memfd backing: the region is a sealed memfd shared by fork or
 * SCM_RIGHTS.  Seals stop either side from shrinking the file under the
 * other's mapping (which would turn accesses into SIGBUS).  With no kernel
 * in the middle, the library itself initialises the region, claims the L2
 * role and marks a role dead when it is destroyed.
 *
 * Wake-ups: one eventfd per wait bit (kfd[]).  The role that waits on a bit
 * sleeps on its eventfd, the peer writes it to kick, so a sleeper of one
 * direction can never take the kick meant for the other.  Nobody reads an
 * eventfd: each is watched edge-triggered in this process's epoll sets, so
 * every kick is one new event, and arming a bit (env.arm) takes the events
 * left over from its earlier armings out of its sets.
 *
 * Liveness: the roles exchange pidfds of their processes over the attach
 * socket (SCM_RIGHTS), never pid numbers, which mean nothing in another
 * pid namespace.  The L2 role is handed over as one fd, a unix socket with
 * {memfd, the four eventfds, a pidfd of the L3 process} queued on it; the
 * L2 that claims the role sends a pidfd of its own process back over it.
 * A peer killed without a chance to say so is noticed through that pidfd,
 * polled next to the eventfd; the survivor then marks that role dead
 * itself.  For callers that wait on their own, each wait bit has an epoll
 * set (l3l2q_queue_wait_fd()) of its eventfd, the peer's pidfd and a timer
 * for the deadline of l3l2q_prep_wait(), and the role one of both bits
 * (l3l2q_queue_poll_fd()): each reports a kick, the peer's death, or the
 * deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
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
#include "atomic.h"

#define REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/*
 * The attach bundle: the memfd, kfd[0..3], and a pidfd of the L3 process
 * when the kernel gives one (it may not: then the L2 cannot tell the L3's
 * death from a kill, only from its destroy).
 */
#define BUNDLE_FDS	6

static __u32 *ctrl_word(struct l3l2q_queue *q, unsigned int off)
{
	return (__u32 *)((char *)q->map + q->off.ctrl_offset + off);
}

/* This role's (@peer 0) or the other role's (@peer 1) state word. */
static __u32 *state_word(struct l3l2q_queue *q, int peer)
{
	int l3 = (q->role == L3L2Q_ROLE_L3) != peer;

	return ctrl_word(q, l3 ? L3L2Q_CTRL_L3_STATE : L3L2Q_CTRL_L2_STATE);
}

static int load_fd(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_fd(int *p, int fd)
{
	__atomic_store_n(p, fd, __ATOMIC_RELEASE);
}

static void close_fd(int *p)
{
	if (*p >= 0)
		close(*p);
	*p = -1;
}

static int pidfd_self(void)
{
	return (int)syscall(SYS_pidfd_open, getpid(), 0);
}

/* The peer is gone without saying so: say it for it (a one-way word). */
static void mark_peer_dead(struct l3l2q_queue *q)
{
	l3l2q_store_release_u32(state_word(q, 1), L3L2Q_ROLE_DEAD);
}

/*
 * A fork child does not get the mapping, as the driver's VM_DONTCOPY
 * does it: whatever it does with stale pointers cannot touch the queue
 * (its endpoint copy is marked too, see queue.c).
 */
static void no_fork(struct l3l2q_queue *q)
{
	madvise(q->map, q->map_bytes, MADV_DONTFORK);
}

static void close_fds(struct l3l2q_queue *q)
{
	int i;

	for (i = 0; i < 4; i++) {
		close_fd(&q->kfd[i]);
		close_fd(&q->wset[i]);
		close_fd(&q->tfd[i]);
	}
	close_fd(&q->role_set);
	close_fd(&q->peer_pidfd);
	close_fd(&q->back_sock);
}

/* Level-triggered: the peer's fds and the timer stay ready once they are. */
static int set_add(int set, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Edge-triggered: a kick is one event, taken by one epoll_wait() of the set. */
static int set_add_kick(int set, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fd };

	return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* Every set of this role that watches the peer. */
static void sets_watch_peer(struct l3l2q_queue *q, int old, int fd)
{
	__u32 b, bits = l3l2q__role_bits(q->role);
	int i;

	for (b = bits; b; b &= b - 1) {
		i = (int)l3l2q__bit_index(b & -b);
		if (old >= 0)
			epoll_ctl(q->wset[i], EPOLL_CTL_DEL, old, NULL);
		if (fd >= 0)
			set_add(q->wset[i], fd);
	}
	if (old >= 0)
		epoll_ctl(q->role_set, EPOLL_CTL_DEL, old, NULL);
	if (fd >= 0)
		set_add(q->role_set, fd);
}

/*
 * The eventfds of this role's bits in their sets, a deadline timer for
 * each, and the role's set; the peer's fd is added when it is known.
 */
static int make_sets(struct l3l2q_queue *q)
{
	__u32 b, bits = l3l2q__role_bits(q->role);
	int i, ret;

	q->role_set = epoll_create1(EPOLL_CLOEXEC);
	if (q->role_set < 0)
		return -errno;
	for (b = bits; b; b &= b - 1) {
		i = (int)l3l2q__bit_index(b & -b);
		q->wset[i] = epoll_create1(EPOLL_CLOEXEC);
		q->tfd[i] = timerfd_create(CLOCK_MONOTONIC,
					   TFD_CLOEXEC | TFD_NONBLOCK);
		if (q->wset[i] < 0 || q->tfd[i] < 0)
			return -errno;
		ret = set_add_kick(q->wset[i], q->kfd[i]);
		if (!ret)
			ret = set_add(q->wset[i], q->tfd[i]);
		if (!ret)
			ret = set_add_kick(q->role_set, q->kfd[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int memfd_create_region(struct l3l2q_queue *q,
			       const struct l3l2q_params *p,
			       struct l3l2q_error *err)
{
	struct l3l2q_mem mem;
	int ret, i;

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
		l3l2q__unmap(q, 0);
		return ret;
	}
	ret = l3l2q__map(q, q->off.total_bytes, err);
	if (ret)
		return ret;
	no_fork(q);
	mem.ctrl = (char *)q->map + q->off.ctrl_offset;
	mem.counters = (char *)q->map + q->off.counter_offset;
	mem.payload = (char *)q->map + q->off.payload_offset;
	mem.region_id = 0;
	l3l2q_region_init(&mem, &q->layout, p->start_pos, p->flags);
	for (i = 0; i < 4; i++) {
		q->kfd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kfd[i] < 0)
			break;
	}
	ret = i < 4 ? -errno : make_sets(q);
	if (ret) {
		ret = l3l2q__user_error(err, -ret, L3L2Q_ERR_ENDPOINT_ERROR,
					L3L2Q_EOP_INIT,
					"eventfd, epoll or timerfd failed");
		close_fds(q);
		l3l2q__unmap(q, 0);
		return ret;
	}
	/* Release: the initialised region is visible before the role is. */
	l3l2q_store_release_u32(ctrl_word(q, L3L2Q_CTRL_L3_STATE),
				L3L2Q_ROLE_LIVE);
	return 0;
}

/*
 * A socket with the bundle queued on it.  This side keeps the other end
 * (back_sock): the L2 that attaches sends a pidfd of its process back.
 */
static int memfd_peer_fd(struct l3l2q_queue *q)
{
	int fds[BUNDLE_FDS] = { q->fd, q->kfd[0], q->kfd[1], q->kfd[2],
				q->kfd[3], -1 };
	int sv[2], ret;

	fds[5] = pidfd_self();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		close_fd(&fds[5]);
		return ret;
	}
	ret = l3l2q__send_fds(sv[0], fds, fds[5] >= 0 ? BUNDLE_FDS :
						      BUNDLE_FDS - 1);
	close_fd(&fds[5]);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	pthread_mutex_lock(&q->peer_lock);
	sets_watch_peer(q, -1, sv[0]);
	store_fd(&q->back_sock, sv[0]);
	pthread_mutex_unlock(&q->peer_lock);
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
	if (h.start_pos > L3L2Q_START_POS_MAX)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "control block start_pos is above L3L2Q_START_POS_MAX");
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
	int ret, i, fds[BUNDLE_FDS];
	struct stat st;

	if (!fstat(fd, &st) && S_ISSOCK(st.st_mode)) {
		/*
		 * Peek: the bundle stays queued for good, so an attach
		 * refused for its arguments can be retried, and a second L2
		 * finds the role taken (in the control block) rather than an
		 * empty socket.
		 */
		fds[5] = -1;
		ret = l3l2q__recv_some_fds(fd, fds, BUNDLE_FDS,
					   MSG_PEEK | MSG_DONTWAIT);
		if (ret >= 0 && ret < BUNDLE_FDS - 1) {
			while (ret > 0)
				close(fds[--ret]);
			ret = -EBADMSG;
		} else if (ret > 0) {
			ret = 0;
		}
		/*
		 * The bundle is never taken off the socket, so an empty one
		 * never had a queue on it (a second L2 finds the bundle and
		 * then the role taken: -EBUSY at claim).
		 */
		if (ret == -EAGAIN || ret == -ECONNRESET)
			return l3l2q__user_error(err, ENOMSG,
						 L3L2Q_ERR_BAD_ARGUMENT,
						 L3L2Q_EOP_ATTACH,
						 "nothing is queued on this socket: it is not the one l3l2q_peer_fd() of a memfd queue gave");
		if (ret)
			return l3l2q__user_error(err, -ret,
						 L3L2Q_ERR_BAD_DESCRIPTOR,
						 L3L2Q_EOP_ATTACH,
						 "the socket carries no l3l2q queue");
		q->bundle_sock = fd;
		for (i = 0; i < 4; i++)
			q->kfd[i] = fds[1 + i];
		q->peer_pidfd = fds[5];
		ret = attach_memfd(q, fds[0], err);
		close(fds[0]);
		if (!ret)
			ret = make_sets(q);
		if (!ret) {
			sets_watch_peer(q, -1, q->peer_pidfd);
			return 0;
		}
		if (ret != -EINVAL && ret != -ENOTTY && err && !err->message[0])
			l3l2q__user_error(err, -ret, L3L2Q_ERR_ENDPOINT_ERROR,
					  L3L2Q_EOP_ATTACH,
					  "epoll or timerfd failed");
		close_fds(q);
		l3l2q__unmap(q, 0);
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
	if (!ret) {
		no_fork(q);
		ret = read_header(q, err);
	}
	if (ret)
		l3l2q__unmap(q, 0);
	return ret;
}

static int memfd_claim(struct l3l2q_queue *q, struct l3l2q_error *err)
{
	int pidfd, ret;

	/* One L2 per queue, ever (pitfall P15): claim the role atomically. */
	if (!l3l2q_cas_u32(ctrl_word(q, L3L2Q_CTRL_L2_STATE),
			   L3L2Q_ROLE_ABSENT, L3L2Q_ROLE_LIVE))
		return l3l2q__user_error(err, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "the L2 role of this queue is already taken");
	/*
	 * Claimed: tell the L3 which process we are, over the socket (a
	 * message without a pidfd if we have none: the L3 then only knows
	 * that we came).  The L3 wakes on it and watches us from then on.
	 */
	if (q->bundle_sock >= 0) {
		pidfd = pidfd_self();
		if (pidfd >= 0) {
			ret = l3l2q__send_fds(q->bundle_sock, &pidfd, 1);
			close(pidfd);
		} else {
			ret = send(q->bundle_sock, "N", 1, MSG_NOSIGNAL) == 1 ?
			      0 : -errno;
		}
		(void)ret;	/* an L3 already gone: nothing to tell */
		q->bundle_sock = -1;
	}
	return 0;
}

static int peer_role(const struct l3l2q_queue *q)
{
	return q->role == L3L2Q_ROLE_L3 ? L3L2Q_ROLE_L2 : L3L2Q_ROLE_L3;
}

static void memfd_kick(struct l3l2q_queue *q, __u32 bit)
{
	int fd = q->kfd[l3l2q__bit_index(bit)];
	__u64 one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the peer is awake anyway. */
	}
}

static void memfd_destroy(struct l3l2q_queue *q, int gone, int inherited)
{
	__u32 b;

	/*
	 * Release: everything this role published is visible before the
	 * peer learns that the role is gone; then every sleeper of the
	 * peer must learn it now.
	 */
	if (gone && q->map) {
		l3l2q_store_release_u32(state_word(q, 0), L3L2Q_ROLE_DEAD);
		for (b = l3l2q__role_bits(peer_role(q)); b; b &= b - 1)
			memfd_kick(q, b & -b);
	}
	close_fds(q);
	l3l2q__unmap(q, inherited);
}

/*
 * The L3's end of the attach socket became readable: the L2's pidfd (or
 * word that it has none) arrived, or every L2 end closed without one (no
 * L2 attached, or it died while attaching: the role can never be taken
 * now).  Under peer_lock.
 */
static void take_peer(struct l3l2q_queue *q)
{
	int sock = q->back_sock, fd = -1, n;

	if (sock < 0 || load_fd(&q->back_done))
		return;
	n = l3l2q__recv_some_fds(sock, &fd, 1, MSG_DONTWAIT);
	/*
	 * The L2's end was closed with the bundle still queued on it, which
	 * unix sockets report as a reset before the messages queued for us
	 * (and clear); read again for those.
	 */
	if (n == -ECONNRESET)
		n = l3l2q__recv_some_fds(sock, &fd, 1, MSG_DONTWAIT);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n == 1) {
		sets_watch_peer(q, sock, fd);
		store_fd(&q->peer_pidfd, fd);
	} else {
		sets_watch_peer(q, sock, -1);
		if (n != 0) {
			/* End of file without a word: nobody holds the role. */
			__u32 st = L3L2Q_ROLE_ABSENT;

			if (!l3l2q_try_cas_u32(state_word(q, 1), &st,
					       L3L2Q_ROLE_DEAD) &&
			    st == L3L2Q_ROLE_LIVE)
				mark_peer_dead(q);
		}
	}
	/*
	 * Done with it, but it stays open until destroy: another thread may
	 * be polling this fd number right now, which must not be reused.
	 */
	store_fd(&q->back_done, 1);
}

/*
 * What a set's events say about the peer: 1 if its process is gone
 * (marked dead here), 2 if the attach socket has news, else 0.
 */
static int peer_events(struct l3l2q_queue *q, const struct epoll_event *ev,
		       int n)
{
	int i, sock = load_fd(&q->back_sock), ret = 0;

	for (i = 0; i < n; i++) {
		if (ev[i].data.fd == load_fd(&q->peer_pidfd)) {
			mark_peer_dead(q);
			return 1;
		}
		if (sock >= 0 && ev[i].data.fd == sock)
			ret = 2;
	}
	return ret;
}

/* Take what is pending in @set; see peer_events(). */
static int drain_set(struct l3l2q_queue *q, int set)
{
	struct epoll_event ev[4];
	int n = epoll_wait(set, ev, 4, 0);

	return n > 0 ? peer_events(q, ev, n) : 0;
}

/*
 * env.arm, before W1: take the kicks of earlier armings of @bits out of
 * their sets (a caller that waits on its own reads nothing: arming does
 * it), stop a deadline timer of l3l2q_prep_wait(), and check the peer.
 * One epoll_wait() per bit, one more for the role's set once a caller has
 * asked for it (the role's one waiting thread re-checks every bit it
 * sleeps for after its last arming, so what it takes there is stale).
 */
static int memfd_arm(struct l3l2q_queue *q, __u32 bits)
{
	struct itimerspec off = { { 0, 0 }, { 0, 0 } };
	int news = 0, r;
	unsigned int i;
	__u32 b;

	if (l3l2q_load_acquire_u32(state_word(q, 1)) == L3L2Q_ROLE_DEAD)
		return -ECONNRESET;
	for (b = bits; b; b &= b - 1) {
		i = l3l2q__bit_index(b & -b);
		if (q->tfd_armed[i]) {
			timerfd_settime(q->tfd[i], 0, &off, NULL);
			q->tfd_armed[i] = 0;
		}
		r = drain_set(q, q->wset[i]);
		if (r == 1)
			return -ECONNRESET;
		news |= r;
	}
	if (__atomic_load_n(&q->role_set_used, __ATOMIC_RELAXED)) {
		r = drain_set(q, q->role_set);
		if (r == 1)
			return -ECONNRESET;
		news |= r;
	}
	if (!news)
		return 0;
	pthread_mutex_lock(&q->peer_lock);
	take_peer(q);
	pthread_mutex_unlock(&q->peer_lock);
	return l3l2q_load_acquire_u32(state_word(q, 1)) == L3L2Q_ROLE_DEAD ?
	       -ECONNRESET : 0;
}

/* The wait bit a role waits on with @counter (uapi: the table of waits). */
static __u32 counter_bit(__u32 counter)
{
	switch (counter) {
	case L3L2Q_CTR_INPUT_TAIL:
		return L3L2Q_WAKE_INPUT_AVAIL;
	case L3L2Q_CTR_INPUT_HEAD:
		return L3L2Q_WAKE_INPUT_SPACE;
	case L3L2Q_CTR_OUTPUT_TAIL:
		return L3L2Q_WAKE_OUTPUT_AVAIL;
	default:
		return L3L2Q_WAKE_OUTPUT_SPACE;
	}
}

/*
 * W4 in the bit's set: its eventfd keeps a kick that came before we got
 * here (an edge not taken yet); the peer's pidfd (or, before the L2 came,
 * the attach socket) is in the set too.
 */
static int memfd_sleep(struct l3l2q_queue *q, __u32 counter, __s32 seen,
		       __u64 deadline_ns)
{
	__u32 bit = counter_bit(counter);
	int set = q->wset[l3l2q__bit_index(bit)];
	struct timespec ts, *tsp;
	struct epoll_event ev[4];
	__u64 ms;
	int n;

	(void)seen;
	if (!(bit & l3l2q__role_bits(q->role)))
		return -EINVAL;
	/* A dead peer will never kick (its last kick may be taken already). */
	if (l3l2q_load_acquire_u32(state_word(q, 1)) == L3L2Q_ROLE_DEAD)
		return -ECONNRESET;
	if (l3l2q__timeout(deadline_ns, &ts, &tsp))
		return -ETIMEDOUT;
	n = epoll_pwait2(set, ev, 4, tsp, NULL);
	if (n < 0 && errno == ENOSYS) {
		/* Before Linux 5.11 (and qemu-user): whole ms, rounded up. */
		ms = !tsp ? 0 : (__u64)ts.tv_sec * 1000ull +
				((__u64)ts.tv_nsec + 999999ull) / 1000000ull;
		n = epoll_wait(set, ev, 4, !tsp ? -1 :
			       ms > INT_MAX ? INT_MAX : (int)ms);
	}
	if (n < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (n == 0)
		return -ETIMEDOUT;
	/* The L2 came (or went): the next arming looks (env.arm). */
	return peer_events(q, ev, n) == 1 ? -ECONNRESET : 0;
}

static int memfd_wait_fd(const struct l3l2q_queue *q, __u32 bit)
{
	if (bit & (bit - 1) || !(bit & l3l2q__role_bits(q->role)))
		return -EINVAL;
	return q->wset[l3l2q__bit_index(bit)];
}

static int memfd_poll_fd(const struct l3l2q_queue *q)
{
	return q->role_set;
}

/* Someone polls the role's set: arming takes its stale events too. */
void l3l2q__memfd_role_set_used(struct l3l2q_queue *q)
{
	__atomic_store_n(&q->role_set_used, 1, __ATOMIC_RELAXED);
}

/*
 * For l3l2q_prep_wait(): the bit's set, with its timer armed for
 * @deadline_ns (none for L3L2Q_DEADLINE_NONE); the next arming of the
 * bit stops the timer again.
 */
int l3l2q__memfd_wait_set(struct l3l2q_queue *q, __u32 bit, __u64 deadline_ns)
{
	struct itimerspec it = { { 0, 0 }, { 0, 0 } };
	unsigned int i = l3l2q__bit_index(bit);

	if (q->wset[i] < 0)
		return -EOPNOTSUPP;
	if (deadline_ns != L3L2Q_DEADLINE_NONE) {
		/* 0 (do not sleep) must still fire: 1 ns is long past. */
		if (!deadline_ns)
			deadline_ns = 1;
		it.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		it.it_value.tv_nsec = (long)(deadline_ns % 1000000000ull);
		if (timerfd_settime(q->tfd[i], TFD_TIMER_ABSTIME, &it, NULL))
			return -errno;
		q->tfd_armed[i] = 1;
	}
	return q->wset[i];
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
	.arm = memfd_arm,
	.wait_fd = memfd_wait_fd,
	.poll_fd = memfd_poll_fd,
};
