// SPDX-License-Identifier: MIT
/*
 * wait.c - the orchestrator's sleep while tasks are in flight: one
 * io_uring wait for a core's doorbell and for new input at once.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "devsim.h"

/* What an io_uring wait of the orchestrator is for (its user_data). */
#define WAIT_DOORBELL	1u
#define WAIT_INPUT	2u

/*
 * A wait for input in the kernel.  Not poll(): the driver's EPOLLIN means
 * "tail != head", which stays true while the window holds entries, so it
 * cannot say "new input".  Over the driver it is a WAIT command that ends
 * when the input tail moves past what this endpoint saw; over a memfd (or
 * a device region) a POLL_ADD on the fd the kicks arrive on: the input
 * bit's wait fd of a memfd queue (a kick or the L3's death; the next
 * arming drops the kick, nothing is read), or the device region's own
 * eventfd, drained after.
 */
static int arm_input(struct devsim *d)
{
	struct io_uring_sqe *sqe;
	int ret = 0;

	if (d->pending & WAIT_INPUT)
		return 0;
	sqe = io_uring_get_sqe(&d->ring);
	if (!sqe)
		return -EBUSY;
	if (d->input_wake == INPUT_WAKE_EVENTFD)
		io_uring_prep_poll_add(sqe, d->wake_fd, POLLIN);
	else
		ret = l3l2q_prep_wait(sqe, d->q, L3L2Q_WAKE_INPUT_AVAIL,
				      devsim_deadline(d->slice_ns), NULL);
	io_uring_sqe_set_data64(sqe, WAIT_INPUT);
	d->pending |= WAIT_INPUT;
	return ret;
}

static int arm_doorbell(struct devsim *d)
{
	struct io_uring_sqe *sqe;

	if (d->pending & WAIT_DOORBELL)
		return 0;
	sqe = io_uring_get_sqe(&d->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, d->doorbell, &d->bell, sizeof(d->bell), 0);
	io_uring_sqe_set_data64(sqe, WAIT_DOORBELL);
	d->pending |= WAIT_DOORBELL;
	return 0;
}

/* Take every completion; -ECONNRESET when the driver says L3 is gone. */
static int reap(struct devsim *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	int ret = 0;
	__u64 val;

	io_uring_for_each_cqe(&d->ring, head, cqe) {
		d->pending &= ~(__u32)io_uring_cqe_get_data64(cqe);
		if (cqe->res == -ECONNRESET)
			ret = -ECONNRESET;
		else if (cqe->res < 0 && cqe->res != -ETIMEDOUT &&
			 cqe->res != -ECANCELED && cqe->res != -EINTR && !ret)
			ret = cqe->res;
		n++;
	}
	io_uring_cq_advance(&d->ring, n);
	/* The device region's own kick eventfd (non-blocking): drain it. */
	if (d->input_wake == INPUT_WAKE_EVENTFD && d->drain_wake &&
	    read(d->wake_fd, &val, sizeof(val)) < 0 && errno != EAGAIN && !ret)
		ret = -errno;
	return ret;
}

/*
 * Nothing to do right now, tasks in flight: sleep in io_uring until a core
 * completes one (its doorbell) or, when the window has room, an input
 * arrives.  The cores ring the doorbell only while orch_waiting is set.
 * When nothing can wake us for input (INPUT_WAKE_POLL: the L3 side never
 * hears of our wait), the wait lasts poll_ns and the caller re-checks.
 */
int devsim_wait_for_work(struct devsim *d, int want_input, int *got,
			 struct l3l2q_msg *in)
{
	enum input_wake how = d->input_wake;
	__u64 wait_ns = d->slice_ns;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	int ret;

	*got = 0;
	/* Read once per decision; it only steers how we wait. */
	if (d->peer_features &&
	    !(atomic_load_explicit((const _Atomic __u32 *)d->peer_features,
				   memory_order_relaxed) & L3L2Q_FEAT_KICKS))
		how = INPUT_WAKE_POLL;
	if (want_input && how == INPUT_WAKE_POLL) {
		ret = l3l2q_l2_try_peek(d->l2, in);
		if (ret != -EAGAIN) {
			if (ret)
				return devsim_queue_failure(d, "input peek",
							    ret);
			*got = 1;
			return 0;
		}
		want_input = 0;
		if (d->poll_ns < wait_ns)
			wait_ns = d->poll_ns;
	}
	ts.tv_sec = (long long)(wait_ns / 1000000000ull);
	ts.tv_nsec = (long long)(wait_ns % 1000000000ull);
	if (want_input) {
		/* W1, W2: ask L3 for a kick, then re-check (W3). */
		ret = l3l2q_ep_want_wakeup(&d->l2->ep, L3L2Q_WAKE_INPUT_AVAIL);
		if (ret == -ECONNRESET)		/* a memfd L3 is gone */
			return devsim_queue_failure(d, "waiting for input",
						    ret);
		if (ret)
			want_input = 0;	/* no control block: the timeout re-checks */
		ret = l3l2q_l2_try_peek(d->l2, in);
		if (ret != -EAGAIN) {
			l3l2q_ep_clear_wakeup(&d->l2->ep, L3L2Q_WAKE_INPUT_AVAIL);
			if (ret)
				return devsim_queue_failure(d, "input peek",
							    ret);
			*got = 1;
			return 0;
		}
	}
	atomic_store_explicit(&d->orch_waiting, 1, memory_order_relaxed);
	/* Pairs with the fence in ring_doorbell() (cores.c). */
	atomic_thread_fence(memory_order_seq_cst);
	if (!l3l2q_mailbox_has_pending(d->mb)) {
		ret = arm_doorbell(d);
		if (!ret && want_input)
			ret = arm_input(d);
		if (ret) {
			devsim_err_msg("preparing a wait: %s", strerror(-ret));
			return 1;
		}
		d->st.idle_waits++;
		/* The timeout is a safety net only (slice_ns), or the poll. */
		ret = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts,
						       NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR) {
			devsim_err_msg("io_uring_submit_and_wait_timeout: %s",
				       strerror(-ret));
			return 1;
		}
	}
	atomic_store_explicit(&d->orch_waiting, 0, memory_order_relaxed);
	if (want_input)
		l3l2q_ep_clear_wakeup(&d->l2->ep, L3L2Q_WAKE_INPUT_AVAIL);
	ret = reap(d);
	if (ret)
		return devsim_queue_failure(d, "waiting for input", ret);
	return 0;
}
