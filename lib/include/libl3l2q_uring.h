/* SPDX-License-Identifier: MIT */
/*
 * libl3l2q_uring.h - waiting for queues and signals through io_uring, so
 * that one thread serves many regions from one ring.  Needs liburing's
 * header only (its prep helpers are inline); liburing 2.3 has no prep
 * helper for IORING_OP_URING_CMD, so the SQE is built here by hand.
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
#include "l3l2q/l3l2q_signals.h"

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

/*
 * Prepare @sqe as the driver's SIG_WAIT on the signals role fd @fd: an
 * IORING_OP_URING_CMD with cmd_op L3L2Q_IOC_SIG_WAIT whose payload is a
 * copy of *@args (32 bytes), so the ring must be set up with
 * IORING_SETUP_SQE128, and @sqe must come from such a ring: in a 64-byte
 * SQE the copy would run into the next SQE (a command built by hand with
 * 16 bytes there completes -EINVAL).  The
 * CQE's res is SIG_WAIT's result (uapi/l3l2q_signals.h); on 0, -ETIMEDOUT
 * and -ECONNRESET each entry's value and ready are written back to
 * args->waitv before the CQE is posted, so that array (not *@args) must
 * stay valid until then.  Returns 0, or -EINVAL for a NULL @sqe or @args
 * or a negative @fd.
 */
int l3l2q_sig_prep_wait(struct io_uring_sqe *sqe, int fd,
			const struct l3l2q_sig_wait_args *args);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_URING_H */
