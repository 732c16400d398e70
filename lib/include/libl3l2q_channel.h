/* SPDX-License-Identifier: MIT */
/*
 * libl3l2q_channel.h - the user-space HDCH channel: creation, attachment,
 * the peer fd and destruction, on a memfd or on /dev/l3l2q.
 *
 * The L3 (host) process creates a channel and hands the L2 role to
 * another process as one fd (l3l2q_channel_peer_fd(), by fork or over a
 * unix socket), which attaches with l3l2q_channel_attach().  Each side
 * then drives its endpoint, l3l2q_channel_chan(), with the core's channel
 * API (l3l2q_channel_core.h) from any number of threads: its blocking
 * calls sleep, never spin for long.
 *
 *   /dev/l3l2q   the kernel's WAIT on the bell the core names, KICK to
 *                wake the peer; the kernel ends waits when a role dies;
 *   memfd        a futex on the bell word (the words live in the shared
 *                memfd), a futex wake of both of this side's bells and an
 *                eventfd signal to kick; a thread of the library watches
 *                a pidfd of the peer process and, when it exits, marks the
 *                peer dead and wakes every sleeper (-ECONNRESET after the
 *                messages it published).
 *
 * l3l2q_channel_wait_fd() is an fd to poll for wake-ups of this side, for
 * a thread that sleeps elsewhere (after l3l2q_chan_want_wakeup()).
 *
 * Functions return 0 or a negative errno and never set errno; those taking
 * a struct l3l2q_error * fill it (when not NULL) with a message naming the
 * field at fault.  A channel object is not inherited across fork(): use
 * the peer fd.  l3l2q_channel_destroy() only when no other call on the
 * channel runs.
 */
#ifndef LIBL3L2Q_CHANNEL_H
#define LIBL3L2Q_CHANNEL_H

#include "l3l2q_channel_core.h"
#include "libl3l2q.h"

#ifdef __cplusplus
extern "C" {
#endif

struct l3l2q_channel_params {
	__u32 lanes_to_l2;		/* 1 .. 32 */
	__u32 lanes_to_l3;		/* 1 .. 32 */
	__u32 lane_depth;		/* power of two */
	__u32 max_message_bytes;	/* 1 .. 256 */
	__u32 backend;			/* enum l3l2q_backend */
	__u32 resv0;			/* must be zero */
	__u64 resv[3];			/* must be zero */
};

struct l3l2q_channel;

/* Create a channel and become its L3 endpoint. */
int l3l2q_channel_create(const struct l3l2q_channel_params *p,
			 struct l3l2q_channel **cp, struct l3l2q_error *err);

/*
 * The fd that gives the L2 role, close-on-exec, owned by the caller; once
 * per channel (-EBUSY after), L3 only (-EINVAL).
 */
int l3l2q_channel_peer_fd(struct l3l2q_channel *c);

/* Take the L2 role from the fd l3l2q_channel_peer_fd() gave (not taken). */
int l3l2q_channel_attach(int fd, struct l3l2q_channel **cp,
			 struct l3l2q_error *err);

/* Give the role up (the peer sees it dead), unmap and free.  NULL: no-op. */
void l3l2q_channel_destroy(struct l3l2q_channel *c);

/* The endpoint to drive with l3l2q_chan_*(); NULL for a NULL channel. */
struct l3l2q_chan *l3l2q_channel_chan(struct l3l2q_channel *c);

/*
 * An fd that becomes readable when this side is kicked or the peer dies:
 * the role fd (/dev/l3l2q), or an eventfd (memfd) that the poller reads
 * to reset.  Owned by the channel.  -EINVAL for a NULL channel.
 */
int l3l2q_channel_wait_fd(const struct l3l2q_channel *c);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_CHANNEL_H */
