// SPDX-License-Identifier: MIT
/*
 * Preparing io_uring waits for a queue or signals (libl3l2q_uring.h).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "atomic.h"
#include "internal.h"
#include "libl3l2q_uring.h"
#include "queue.h"

int l3l2q__memfd_wait_set(struct l3l2q_queue *q, __u32 bit, __u64 deadline_ns);

/* The counter a wait for @bit watches, and this endpoint's last sample. */
static int wait_target(struct l3l2q_queue *q, __u32 bit, __u32 *counter,
		       const __u64 **local)
{
	if (q->role == L3L2Q_ROLE_L3 && bit == L3L2Q_WAKE_OUTPUT_AVAIL) {
		*counter = L3L2Q_CTR_OUTPUT_TAIL;
		*local = &q->ep.l3.out.tail;
	} else if (q->role == L3L2Q_ROLE_L3 && bit == L3L2Q_WAKE_INPUT_SPACE) {
		*counter = L3L2Q_CTR_INPUT_HEAD;
		*local = &q->ep.l3.in.head;
	} else if (q->role == L3L2Q_ROLE_L2 && bit == L3L2Q_WAKE_INPUT_AVAIL) {
		*counter = L3L2Q_CTR_INPUT_TAIL;
		*local = &q->ep.l2.in.tail;
	} else if (q->role == L3L2Q_ROLE_L2 && bit == L3L2Q_WAKE_OUTPUT_SPACE) {
		*counter = L3L2Q_CTR_OUTPUT_HEAD;
		*local = &q->ep.l2.out.head;
	} else {
		return -EINVAL;
	}
	return 0;
}

int l3l2q_prep_wait(struct io_uring_sqe *sqe, struct l3l2q_queue *q,
		    __u32 bit, __u64 deadline_ns, __u64 *scratch)
{
	struct l3l2q_wait_args w;
	const struct l3l2q_ep *ep;
	const __u64 *local;
	__u32 counter, seen;
	int ret, armed, fd;

	(void)scratch;
	if (!sqe || !q)
		return -EINVAL;
	/* A fork child's copy: its fds' files are the parent's. */
	if (q->inherited)
		return -EOWNERDEAD;
	ret = wait_target(q, bit, &counter, &local);
	if (ret)
		return ret;
	if (q->backing->id == L3L2Q_BACKEND_MEMFD) {
		/* The bit's set: a kick, the peer's death or the deadline. */
		if (q->backing->poll_fd(q) < 0)
			return -EOPNOTSUPP;
		fd = l3l2q__memfd_wait_set(q, bit, deadline_ns);
		if (fd < 0)
			return fd;
		io_uring_prep_poll_add(sqe, fd, POLLIN);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.counter = (__u16)counter;
	/*
	 * W4 on what W1 saw when the bit is armed (uapi), else our sample:
	 * from the endpoint's own copy, never from the shared seen word the
	 * peer could rewrite in between.
	 */
	ep = &q->ep.l3.ep;	/* the same place in either role */
	seen = l3l2q__armed_seen(ep, bit, &armed);
	w.seen = armed ? (__s32)seen : l3l2q_low32(*local);
	w.deadline_ns = deadline_ns;
	/* W4 through io_uring: the 16-byte WAIT args are the payload. */
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, q->fd, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_WAIT;
	memcpy(sqe->cmd, &w, sizeof(w));
	return 0;
}

int l3l2q_sig_prep_wait(struct io_uring_sqe *sqe, int fd,
			const struct l3l2q_sig_wait_args *args)
{
	if (!sqe || !args || fd < 0)
		return -EINVAL;
	/*
	 * The 32-byte args are the payload: in an SQE128 ring the command
	 * area runs 80 bytes past the SQE's first 48.
	 */
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_SIG_WAIT;
	memcpy(sqe->cmd, args, sizeof(*args));
	return 0;
}
