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
 *
 * Signals objects (libl3l2q_signals.h), the same on both backings:
 *
 *   r = l3l2q_signals_prep_wait(sqe, sg, v, n, flags, deadline, &args);
 *   r == 0: submit; on its CQE r = l3l2q_signals_wait_done(sg, &args,
 *           cqe->res);  -EAGAIN: prepare again
 *   r == L3L2Q_SIG_PREP_READY: nothing to submit;
 *           r = l3l2q_signals_wait_done(sg, &args, 0)
 */
#ifndef LIBL3L2Q_URING_H
#define LIBL3L2Q_URING_H

#include <liburing.h>

#include "libl3l2q.h"
#include "libl3l2q_signals.h"
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

/* l3l2q_signals_prep_wait(): ready already, no SQE prepared. */
#define L3L2Q_SIG_PREP_READY	1

/*
 * Prepare @sqe to wait for the @n entries of @v (1..L3L2Q_SIG_WAITV_MAX:
 * id, cmp, target) on the signals object @sg: for any entry, or for all
 * with @flags L3L2Q_SIG_WAIT_ALL, until @deadline_ns (CLOCK_MONOTONIC,
 * absolute; L3L2Q_DEADLINE_NONE or any value above 2^63 - 1: none).  It
 * checks, arms the entries (W1, W2) and checks again (W3), so a notify
 * that crosses a target after this call kicks the ring's wait:
 * - Driver: the SIG_WAIT command (l3l2q_sig_prep_wait()) on the armed
 *   entries: the ring must be set up with IORING_SETUP_SQE128.
 * - memfd: an IORING_OP_POLL_ADD of this role's wait set (an epoll fd of
 *   its eventfd, the peer's pidfd and a timer at @deadline_ns, made at
 *   first use, closed by l3l2q_sig_destroy()); any ring will do.  The
 *   peer must kick (the library's objects do).
 * *@args (caller storage) is filled on 0 and L3L2Q_SIG_PREP_READY; it,
 * and @v, which the driver writes back to, must stay valid until the CQE.
 * On the CQE pass its res to l3l2q_signals_wait_done().  One such wait
 * per object in flight (the memfd set has one timer).
 * Returns 0 (submit @sqe), L3L2Q_SIG_PREP_READY (ready now: nothing
 * prepared or armed; l3l2q_signals_wait_done(@sg, @args, 0) gives the
 * result), or a negative errno with nothing prepared or armed: -EINVAL
 * for a NULL argument, @n out of range, an unknown flag or a bad entry
 * (as l3l2q_sig_try_wait_any()), -ECONNRESET when the peer is gone and
 * nothing is ready, -EOWNERDEAD in a fork child, or what making the wait
 * set failed with.
 */
int l3l2q_signals_prep_wait(struct io_uring_sqe *sqe,
			    struct l3l2q_signals *sg,
			    struct l3l2q_sig_waitv *v, __u32 n, __u32 flags,
			    __u64 deadline_ns,
			    struct l3l2q_sig_wait_args *args);

/*
 * After the CQE of l3l2q_signals_prep_wait()'s SQE (@res its res; 0 when
 * nothing was submitted): re-check the entries of @args (W5: each entry's
 * value and ready are set), disarm them, and say how the wait ended:
 * what l3l2q_sig_try_wait_any() (the index of a ready entry) or
 * l3l2q_sig_try_wait_all() (0) returns when ready; else -ECONNRESET when
 * the peer is gone, @res when it is an error other than -ETIMEDOUT and
 * -EINTR (-ECANCELED, -ENODEV, -EBUSY ...), -ETIMEDOUT once the deadline
 * has passed, or -EAGAIN: woken early (a kick of another arming, or the
 * driver's cap on a wait on 6.1): prepare and submit again.
 * -EINVAL for a NULL @sg or @args or an @args no prep filled.
 */
int l3l2q_signals_wait_done(struct l3l2q_signals *sg,
			    const struct l3l2q_sig_wait_args *args, int res);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_URING_H */
