/* SPDX-License-Identifier: MIT */
/*
 * wait_cmd.h - the driver's WAIT for the in-VM suites that drive the uAPI
 * by hand: as an ioctl, and as an io_uring command (liburing 2.3 has no
 * io_uring_prep_uring_cmd, so the SQE is filled here).
 */
#ifndef L3L2Q_VM_WAIT_CMD_H
#define L3L2Q_VM_WAIT_CMD_H

#include <errno.h>
#include <liburing.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>

#include "l3l2q.h"

/* CLOCK_MONOTONIC in ns, the clock of every WAIT deadline. */
static inline __u64 vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* L3L2Q_IOC_WAIT until @counter moves past @seen or @deadline: 0 or -errno. */
static inline int vm_wait(int fd, __u16 counter, __s32 seen, __u64 deadline)
{
	struct l3l2q_wait_args a;

	memset(&a, 0, sizeof(a));
	a.counter = counter;
	a.seen = seen;
	a.deadline_ns = deadline;
	return ioctl(fd, L3L2Q_IOC_WAIT, &a) ? -errno : 0;
}

/* The same WAIT as an IORING_OP_URING_CMD, submitted: as io_uring_submit(). */
static inline int vm_submit_wait(struct io_uring *ring, int fd, __u16 counter,
				 __s32 seen, __u64 deadline, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct l3l2q_wait_args a;

	if (!sqe)
		return -EBUSY;
	memset(&a, 0, sizeof(a));
	a.counter = counter;
	a.seen = seen;
	a.deadline_ns = deadline;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_WAIT;
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &a,
	       sizeof(a));
	sqe->user_data = user_data;
	return io_uring_submit(ring);
}

/* The next CQE within @ms: 0 with its res (and user_data), or -ETIME. */
static inline int vm_get_cqe(struct io_uring *ring, unsigned int ms,
			     int *res, __u64 *ud)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long long)(ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	*res = cqe->res;
	if (ud)
		*ud = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* A CQE already posted, without entering the kernel: 1 and its fields, or 0. */
static inline int vm_peek_cqe(struct io_uring *ring, int *res, __u64 *ud)
{
	struct io_uring_cqe *cqe;

	if (io_uring_peek_cqe(ring, &cqe))
		return 0;
	*res = cqe->res;
	if (ud)
		*ud = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return 1;
}

#endif /* L3L2Q_VM_WAIT_CMD_H */
