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
 *   res 0 when the counter moves past what this endpoint last saw,
 *   -ETIMEDOUT at @deadline_ns, -ECONNRESET when the peer dies.
 * - memfd: a read of the role's eventfd into @scratch (res 8 once
 *   kicked); @deadline_ns is not applied (link a timeout if needed).
 * Returns 0, or -EINVAL for a bit this role may not wait on.
 */
int l3l2q_prep_wait(struct io_uring_sqe *sqe, struct l3l2q_queue *q,
		    __u32 bit, __u64 deadline_ns, __u64 *scratch);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_URING_H */
