/* SPDX-License-Identifier: MIT */
/*
 * libl3l2q.h - the user-space queue: creation, attachment and fd passing.
 *
 * A queue is created by the L3 (host) process and handed to the L2 (device)
 * process as a file descriptor, by fork or over a unix socket.  The data path
 * is the freestanding core (l3l2q_core.h): l3l2q_queue_l3() and
 * l3l2q_queue_l2() return the endpoint to drive.
 *
 * The backing is chosen at creation: /dev/l3l2q when the driver is
 * present, else a memfd; callers do not change.  Functions return 0 or a
 * negative errno and never set errno; functions that take a struct
 * l3l2q_error * fill it (when not NULL) with a message naming the field at
 * fault.  A NULL queue gives -EINVAL (NULL for the functions returning a
 * pointer).
 *
 * Threads: a queue's endpoint follows l3l2q_core.h (one thread per
 * direction, each with any way of waiting: blocking calls, its own
 * l3l2q_queue_wait_fd(), io_uring with l3l2q_prep_wait()).  The accessors
 * below may be called from any thread; l3l2q_destroy() only when no other
 * call on the queue runs.  A process may hold any number of queues.
 *
 * fork(): a child's copy of a queue (and its endpoint) belongs to the
 * parent.  The mapping is not inherited, and every call on the copied
 * endpoint returns -EOWNERDEAD (a pthread_atfork() child handler marks
 * it: no cost per call); l3l2q_destroy() in the child only frees the
 * copy, and the parent's queue is unharmed.  To give a child the L2 role,
 * pass it l3l2q_peer_fd() and l3l2q_attach() there.
 */
#ifndef LIBL3L2Q_H
#define LIBL3L2Q_H

#include "l3l2q_core.h"
#include "l3l2q_mp.h"
#include "l3l2q_version.h"

#ifdef __cplusplus
extern "C" {
#endif

enum l3l2q_backend {
	L3L2Q_BACKEND_AUTO = 0,		/* the driver if present, else memfd */
	L3L2Q_BACKEND_MEMFD = 1,
	L3L2Q_BACKEND_DEVICE = 2,	/* /dev/l3l2q */
};

struct l3l2q_params {
	__u64 depth;			/* power of two, 2 .. 2^30 */
	__u64 input_arena_bytes;	/* non-zero multiple of 64 */
	__u64 output_arena_bytes;	/* non-zero multiple of 64 */
	__u32 flags;			/* L3L2Q_CREATE_*; must be within _ALL */
	__u32 backend;			/* enum l3l2q_backend */
	__u64 start_pos;		/* tests only: first position, normally 0 */
	/*
	 * L3L2Q_MP_PRODUCERS: any number of threads enqueue, through
	 * l3l2q_l3_mp_*; L3L2Q_MP_CONSUMERS: any number dequeue, through
	 * l3l2q_l3_mc_* (l3l2q_mp.h).  0: one thread per direction.
	 */
	__u32 threads;
	__u32 resv0;			/* must be zero */
	__u64 resv[3];			/* must be zero */
};

struct l3l2q_attach_params {
	__u32 max_inflight;		/* L2 input window; 0 means 1 */
	__u32 resv0;			/* must be zero */
	__u64 resv[3];			/* must be zero */
};

struct l3l2q_queue;

/* Create a queue and become its L3 endpoint. */
int l3l2q_create(const struct l3l2q_params *p, struct l3l2q_queue **qp,
		 struct l3l2q_error *err);

/*
 * The fd that gives the L2 role, close-on-exec, owned by the caller (pass it
 * by fork or l3l2q_send_fd(), then close it).  Only one L2 may attach.  On
 * the driver it is the queue's L2 fd; on a memfd it is a unix socket that
 * carries the memfd and both roles' eventfds to l3l2q_attach().
 */
int l3l2q_peer_fd(struct l3l2q_queue *q);

/*
 * Become the L2 endpoint of the queue behind @fd (the fd is not consumed).
 * -EBADF for an fd that is not open, -ENOMSG for a unix socket with no
 * queue on it, -EBUSY when another L2 holds the role.
 */
int l3l2q_attach(int fd, const struct l3l2q_attach_params *p,
		 struct l3l2q_queue **qp, struct l3l2q_error *err);

/*
 * Mark this role dead for the peer, unmap, close and free.  In a process
 * that only inherited @q across fork it just closes and frees.  NULL is a
 * no-op.
 */
void l3l2q_destroy(struct l3l2q_queue *q);

/* The endpoint for this queue's role, or NULL for the other role. */
struct l3l2q_l3 *l3l2q_queue_l3(struct l3l2q_queue *q);
struct l3l2q_l2 *l3l2q_queue_l2(struct l3l2q_queue *q);

const struct l3l2q_layout *l3l2q_queue_layout(const struct l3l2q_queue *q);
/* An enum l3l2q_backend, or -EINVAL. */
int l3l2q_queue_backend(const struct l3l2q_queue *q);
/* The mapping: control block, counters and payload (read-only use). */
const struct l3l2q_mem *l3l2q_queue_mem(const struct l3l2q_queue *q);

/*
 * The fd to poll (epoll, poll, io_uring POLL_ADD) for this role's
 * wake-ups: readable when the peer kicked this role or is gone.  Ask for
 * the kick first: l3l2q_ep_want_wakeup(), then a try_ call, then poll;
 * clear the bits once progress resumes.  Nothing needs reading from it:
 * the next arming drops a kick already taken.
 *  - l3l2q_queue_wait_fd(): for one wait bit of this role, so that each
 *    direction's thread has its own (with one thread per direction, each
 *    polls this one).
 *  - l3l2q_queue_poll_fd(): for both bits of the role, for one thread
 *    that waits for everything.
 * The driver's role fd serves both: EPOLLIN (something to consume),
 * EPOLLOUT (a free slot) and EPOLLHUP|EPOLLERR (the peer is dead), from
 * the counters and the peer state.  On a memfd they are epoll sets of the
 * bits' eventfds and the peer's pidfd (the wait fd also of the deadline
 * of l3l2q_prep_wait()); after a wake-up by the peer's death the next
 * l3l2q_ep_want_wakeup() returns -ECONNRESET.  The fds stay owned by the
 * queue.  -EINVAL for a NULL queue or a bit the role does not wait on,
 * -EOPNOTSUPP for a memfd attached without eventfds.
 */
int l3l2q_queue_poll_fd(const struct l3l2q_queue *q);
int l3l2q_queue_wait_fd(const struct l3l2q_queue *q, __u32 bit);

/*
 * The twelve upstream L2 task scalars of @q (reference §1.1 and §1.5):
 * the region descriptor {magic_version, @region_id, payload base, payload
 * bytes, counter base, 384} and the queue arguments {queue magic_version,
 * depth, input arena, output arena, payload bytes, 384}.  Each base is
 * @base plus the section's offset in the queue's mapping: @base is where
 * the L2 sees the start of the mapping (l3l2q_queue_mem()->ctrl here; 0
 * gives offsets).  Returns 0, -EINVAL (NULL, @region_id 0, a counter base
 * off a 64-byte line) or -EOVERFLOW.
 */
int l3l2q_queue_scalars(const struct l3l2q_queue *q, __u64 base,
			__u64 region_id, __u64 out[12]);

/* CLOCK_MONOTONIC in nanoseconds, and a deadline @ns from now. */
__u64 l3l2q_now_ns(void);
__u64 l3l2q_deadline_in(__u64 ns);

/* Pass a file descriptor over a unix socket (SCM_RIGHTS). */
int l3l2q_send_fd(int sock, int fd);
int l3l2q_recv_fd(int sock);	/* the fd, close-on-exec, or -errno */

/*
 * The version of the library that is running (the headers' is
 * L3L2Q_VERSION_MAJOR/MINOR).  l3l2q_check_version() returns 0 when this
 * library runs a program built for @major.@minor (same major, minor at
 * least @minor), -ENOTSUP when it does not, -EINVAL for a negative number.
 */
int l3l2q_major_version(void);
int l3l2q_minor_version(void);
int l3l2q_check_version(int major, int minor);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_H */
