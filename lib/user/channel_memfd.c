// SPDX-License-Identifier: MIT
/*
 * Channels on a sealed memfd, with no kernel driver in the middle.
 *
 * Sleeping: the words a channel sleeper waits on are the peer's bells
 * ("bell != seen", uapi/l3l2q_channel.h), which live in the shared memfd,
 * so a sleeper waits on the bell itself with a futex, and a kick is a
 * futex wake of both of the kicker's bells (it bumped the one that
 * matters just before).  The futex compares and sleeps atomically, so any
 * number of threads of a side may sleep at once and none can take
 * another's wake-up.  Each kick also signals an eventfd of the peer, its
 * wait fd (l3l2q_channel_wait_fd()), for a thread that polls instead.
 *
 * Death: each side holds a pidfd of the peer's process (the L2 gets the
 * L3's in the bundle, the L3 gets the L2's back over the bundle's socket
 * when it attaches) and a thread watches it.  When the process exits the
 * watcher marks the peer dead in its state word, bumps the peer's bells
 * (nobody else writes them any more) and wakes their sleepers, who then
 * see the death after taking what the peer published.  A side that
 * destroys its channel does the same for itself.
 *
 * The L2 role is handed over as one fd: a unix socket with the bundle
 * {memfd, eventfd waking L3, eventfd waking L2, pidfd of the L3 process}
 * queued on it.  Attaching takes the bundle off the socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "channel_internal.h"
#include "queue.h"

#define SEALS		(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define BUNDLE		4

static enum l3l2q_role other(enum l3l2q_role role)
{
	return role == L3L2Q_ROLE_L3 ? L3L2Q_ROLE_L2 : L3L2Q_ROLE_L3;
}

static __u32 state_off(enum l3l2q_role role)
{
	return role == L3L2Q_ROLE_L3 ? L3L2Q_CTRL_L3_STATE : L3L2Q_CTRL_L2_STATE;
}

/* A role's two bells, the words its peer's sleepers wait on. */
static void bells(enum l3l2q_role role, __u32 off[2])
{
	off[0] = role == L3L2Q_ROLE_L3 ? L3L2Q_CHAN_CTRL_L3_TX_BELL :
					 L3L2Q_CHAN_CTRL_L2_TX_BELL;
	off[1] = role == L3L2Q_ROLE_L3 ? L3L2Q_CHAN_CTRL_L3_RX_BELL :
					 L3L2Q_CHAN_CTRL_L2_RX_BELL;
}

static void close_fd(int *p)
{
	if (*p >= 0)
		close(*p);
	*p = -1;
}

static void signal_fd(int fd)
{
	__u64 one = 1;

	/* Saturated (EAGAIN) is as good as signalled. */
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

/*
 * Wake the sleepers of @role's bells; with @bump, first move the bells,
 * so that a sleeper about to sleep on the old value does not.
 */
static void ring(struct l3l2q_channel *c, enum l3l2q_role role, int bump)
{
	__u32 off[2];
	int i;

	bells(role, off);
	for (i = 0; i < 2; i++) {
		__u32 *w = l3l2q__chan_word(c, off[i]);

		if (bump)
			l3l2q__fetch_add32(w, 1);
		syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

/* @role is gone: its state word says so, then its peer's sleepers wake. */
static void role_gone(struct l3l2q_channel *c, enum l3l2q_role role)
{
	/* Release: a sleeper that sees a bell move sees the state too. */
	l3l2q_store_release_u32(l3l2q__chan_word(c, state_off(role)),
				L3L2Q_ROLE_DEAD);
	ring(c, role, 1);
	signal_fd(c->kick_fd[other(role)]);
}

/*
 * The watcher: on the L3 the bundle's socket until the L2's pidfd comes
 * back, then that pidfd; on the L2 the L3's pidfd.  Ends on stop_fd.
 */
static void *watch(void *arg)
{
	struct l3l2q_channel *c = arg;
	struct pollfd p[2];
	int fd;

	for (;;) {
		p[0].fd = c->stop_fd;
		p[0].events = POLLIN;
		p[1].fd = c->peer_pidfd >= 0 ? c->peer_pidfd : c->back_sock;
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if (poll(p, 2, -1) < 0)
			continue;	/* EINTR */
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		if (c->peer_pidfd >= 0) {
			/* The peer's process exited. */
			role_gone(c, other(c->role));
			close_fd(&c->peer_pidfd);
			close_fd(&c->back_sock);
			continue;
		}
		fd = -1;
		if (l3l2q__recv_some_fds(c->back_sock, &fd, 1,
					 MSG_DONTWAIT) == 1 && fd >= 0)
			c->peer_pidfd = fd;
		else
			/* The L2 end closed, or came without a pidfd. */
			close_fd(&c->back_sock);
	}
	return NULL;
}

/* The watcher takes no signal: they stay the application's threads'. */
static int start_watcher(struct l3l2q_channel *c)
{
	sigset_t all, old;
	int ret;

	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return -errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&c->watcher, NULL, watch, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		close_fd(&c->stop_fd);
		return -ret;
	}
	c->watching = 1;
	return 0;
}

static void unmapped_fds(struct l3l2q_channel *c)
{
	close_fd(&c->kick_fd[0]);
	close_fd(&c->kick_fd[1]);
	close_fd(&c->peer_pidfd);
	close_fd(&c->back_sock);
	close_fd(&c->stop_fd);
	l3l2q__chan_unmap(c);
}

static int fail(struct l3l2q_channel *c, struct l3l2q_error *err, int errnum,
		__u32 kind, const char *msg)
{
	unmapped_fds(c);
	return l3l2q__user_error(err, errnum, kind, L3L2Q_EOP_CHAN_INIT, msg);
}

static int pidfd_self(void)
{
	return (int)syscall(SYS_pidfd_open, getpid(), 0);
}

static int mfd_create(struct l3l2q_channel *c, struct l3l2q_error *err)
{
	struct l3l2q_chan_mem mem;
	int i;

	if (!l3l2q_chan_region_layout(&c->layout, &c->off))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_CHAN_INIT,
					 "channel region size overflows 64 bits");
	c->fd = memfd_create("l3l2q-channel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->fd < 0 || ftruncate(c->fd, (off_t)c->off.total_bytes) ||
	    fcntl(c->fd, F_ADD_SEALS, SEALS) ||
	    l3l2q__chan_map(c, c->off.total_bytes))
		return fail(c, err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
			    "memfd_create, sizing, sealing or mapping failed");
	for (i = 0; i < 2; i++) {
		c->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->kick_fd[i] < 0)
			return fail(c, err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
				    "eventfd failed");
	}
	/* Stale pointers in a fork child cannot touch the channel. */
	madvise(c->map, c->map_bytes, MADV_DONTFORK);
	mem.ctrl = (char *)c->map + c->off.ctrl_offset;
	mem.hdch = (char *)c->map + c->off.payload_offset;
	mem.region_id = 0;
	l3l2q_chan_region_init(&mem, &c->layout, 0, 0);
	/* Release: the formatted region is visible before the role is. */
	l3l2q_store_release_u32(l3l2q__chan_word(c, L3L2Q_CTRL_L3_STATE),
				L3L2Q_ROLE_LIVE);
	c->claimed = 1;
	return 0;
}

/* A socket with the bundle queued; this side keeps the other end. */
static int mfd_peer_fd(struct l3l2q_channel *c)
{
	int fds[BUNDLE] = { c->fd, c->kick_fd[0], c->kick_fd[1], pidfd_self() };
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		close_fd(&fds[3]);
		return ret;
	}
	ret = l3l2q__send_fds(sv[0], fds, fds[3] >= 0 ? BUNDLE : BUNDLE - 1);
	close_fd(&fds[3]);
	if (!ret) {
		c->back_sock = sv[0];
		ret = start_watcher(c);
		if (ret)
			c->back_sock = -1;
	}
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	return sv[1];
}

static int bad_region(struct l3l2q_channel *c, struct l3l2q_error *err,
		      const char *msg)
{
	unmapped_fds(c);
	return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
				 L3L2Q_EOP_ATTACH, msg);
}

/* The creator's control header, read once; the geometry from the copy. */
static int read_geometry(struct l3l2q_channel *c, struct l3l2q_error *err)
{
	struct l3l2q_chan_ctrl_hdr h;
	struct stat st;

	if (pread(c->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    fstat(c->fd, &st))
		return bad_region(c, err, "cannot read the channel's control block");
	if (h.magic != L3L2Q_CTRL_MAGIC || h.version != L3L2Q_CTRL_VERSION ||
	    h.region_magic_version != L3L2Q_CHAN_MAGIC_VERSION ||
	    h.kind != L3L2Q_KIND_CHANNEL)
		return bad_region(c, err, "the memfd does not hold an l3l2q channel");
	if (h.channel_flags || h.channel_resv || h.flags || h.resv1)
		return bad_region(c, err,
				  "control block flags or reserved words are not zero");
	if (l3l2q_chan_layout(h.lanes_to_l2, h.lanes_to_l3, h.lane_depth,
			      h.max_message_bytes, &c->layout) !=
	    L3L2Q_CHAN_LAYOUT_OK ||
	    !l3l2q_chan_region_layout(&c->layout, &c->off) ||
	    (__u64)st.st_size != c->off.total_bytes)
		return bad_region(c, err,
				  "the channel geometry is invalid or does not match the memfd size");
	c->start_pos = h.start_pos;
	return 0;
}

static int mfd_attach(struct l3l2q_channel *c, int fd, struct l3l2q_error *err)
{
	int fds[BUNDLE] = { -1, -1, -1, -1 };
	struct stat st;
	int n, seals, ret;

	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return l3l2q__user_error(err, ENOTTY, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "fd is neither a channel fd of /dev/l3l2q nor the socket l3l2q_channel_peer_fd() gave");
	n = l3l2q__recv_some_fds(fd, fds, BUNDLE, MSG_DONTWAIT);
	if (n < BUNDLE - 1) {
		while (n > 0)
			close(fds[--n]);
		return l3l2q__user_error(err, ENOMSG, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "no channel bundle is queued on this socket (taken already, or not l3l2q_channel_peer_fd()'s)");
	}
	c->fd = fds[0];
	c->kick_fd[0] = fds[1];
	c->kick_fd[1] = fds[2];
	c->peer_pidfd = fds[3];
	seals = fcntl(c->fd, F_GET_SEALS);
	if (seals < 0 || (seals & SEALS) != SEALS)
		return bad_region(c, err, "the bundle's memfd is not sealed");
	ret = read_geometry(c, err);
	if (ret)
		return ret;
	if (l3l2q__chan_map(c, c->off.total_bytes))
		return fail(c, err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
			    "mmap of the channel region failed");
	madvise(c->map, c->map_bytes, MADV_DONTFORK);
	/* One L2 per channel, ever: claim the role atomically. */
	if (!l3l2q_cas_u32(l3l2q__chan_word(c, L3L2Q_CTRL_L2_STATE),
			   L3L2Q_ROLE_ABSENT, L3L2Q_ROLE_LIVE))
		return fail(c, err, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
			    "the L2 role of this channel is already taken");
	c->claimed = 1;
	/* Tell the L3 which process we are; it watches us from then on. */
	n = pidfd_self();
	if (n >= 0) {
		l3l2q__send_fds(fd, &n, 1);
		close(n);
	}
	ret = start_watcher(c);
	if (ret) {
		role_gone(c, c->role);
		return fail(c, err, -ret, L3L2Q_ERR_ENDPOINT_ERROR,
			    "cannot start the thread that watches the L3");
	}
	return 0;
}

static void mfd_destroy(struct l3l2q_channel *c)
{
	if (c->watching) {
		signal_fd(c->stop_fd);
		pthread_join(c->watcher, NULL);
		c->watching = 0;
	}
	if (c->claimed && c->map)
		role_gone(c, c->role);
	unmapped_fds(c);
}

/* W4 on a futex: sleeps only while the bell still holds @seen. */
static int mfd_sleep(struct l3l2q_channel *c, __u32 offset, __s32 seen,
		     __u64 deadline_ns)
{
	__u32 off[2], *w, *peer_state;
	struct timespec ts, *tsp = NULL;

	bells(other(c->role), off);
	if (offset != off[0] && offset != off[1])
		return -EINVAL;
	w = l3l2q__chan_word(c, offset);
	peer_state = l3l2q__chan_word(c, state_off(other(c->role)));
	if (deadline_ns != L3L2Q_DEADLINE_NONE) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
		tsp = &ts;
	}
	for (;;) {
		if ((__s32)l3l2q_load_acquire_u32(w) != seen)
			return 0;
		if (l3l2q_load_acquire_u32(peer_state) == L3L2Q_ROLE_DEAD)
			return -ECONNRESET;
		/* Absolute, CLOCK_MONOTONIC; EAGAIN when the bell moved. */
		if (syscall(SYS_futex, w, FUTEX_WAIT_BITSET, (__u32)seen, tsp,
			    NULL, FUTEX_BITSET_MATCH_ANY) && errno == ETIMEDOUT)
			return -ETIMEDOUT;
	}
}

static void mfd_kick(struct l3l2q_channel *c)
{
	ring(c, c->role, 0);
	signal_fd(c->kick_fd[other(c->role)]);
}

static int mfd_wait_fd(const struct l3l2q_channel *c)
{
	return c->kick_fd[c->role];
}

const struct l3l2q_chan_backing l3l2q__chan_memfd = {
	.create = mfd_create,
	.peer_fd = mfd_peer_fd,
	.attach = mfd_attach,
	.destroy = mfd_destroy,
	.sleep = mfd_sleep,
	.kick = mfd_kick,
	.wait_fd = mfd_wait_fd,
};
