/* SPDX-License-Identifier: MIT */
/*
 * libl3l2q_uring.h - waiting for queues through io_uring, so that one
 * thread serves many queues from one ring.  Needs liburing's header only
 * (its prep helpers are inline); liburing 2.3 has no prep helper for
 * IORING_OP_URING_CMD, so the SQE is built here by hand.
 *
 * Use, per queue and per wait (bit is one of the role's L3L2Q_WAKE_*):
 *
 *   l3l2q_ep_want_wakeup(ep, bit);          W1, W2
 *   if (try_... == -EAGAIN) {               W3
 *           sqe = io_uring_get_sqe(ring);
 *           l3l2q_prep_wait(sqe, q, bit, deadline, &scratch);
 *           io_uring_sqe_set_data(sqe, q);
 *   }                                       W4: io_uring_submit_and_wait
 *   ...on its CQE: try again; clear the bit once progress resumes.
 */
#ifndef LIBL3L2Q_URING_H
#define LIBL3L2Q_URING_H

#include <liburing.h>

#include "libl3l2q.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Prepare @sqe to wait for @bit on @q.
 * - Driver: an IORING_OP_URING_CMD WAIT on the role fd that completes with
 *   res 0 when the counter moves past what this endpoint saw when it armed
 *   @bit (its private copy) or, unarmed, last saw; -ETIMEDOUT at
 *   @deadline_ns, -ECONNRESET when the peer dies.
 * - memfd: an IORING_OP_POLL_ADD of l3l2q_queue_wait_fd(q, bit), whose
 *   timer is set to @deadline_ns (none for L3L2Q_DEADLINE_NONE): it
 *   completes with res POLLIN when kicked, when the peer is gone, or at
 *   the deadline.  Then re-check: the try_ call, the clock, and the next
 *   l3l2q_ep_want_wakeup(), which says -ECONNRESET if the peer is gone.
 * One wait per bit in flight; with one thread per direction, each
 * prepares only its own bit.  @scratch is unused (may be NULL).
 * Returns 0, or -EINVAL for a NULL @sqe or @q or a bit this role may not
 * wait on.
 */
int l3l2q_prep_wait(struct io_uring_sqe *sqe, struct l3l2q_queue *q,
		    __u32 bit, __u64 deadline_ns, __u64 *scratch);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_URING_H */
