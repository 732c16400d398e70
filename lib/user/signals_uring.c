// SPDX-License-Identifier: MIT
/*
 * Waiting for a signals object's slots through io_uring, the same way on
 * both backings (libl3l2q_uring.h): arm and re-check here (W1-W3), sleep
 * in the ring (W4: the driver's SIG_WAIT command, or a poll of the memfd
 * wait set), re-check and disarm on the completion (W5).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "libl3l2q_uring.h"
#include "signals_user.h"

static int sig_try(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v, __u32 n,
		   __u32 flags)
{
	return flags & L3L2Q_SIG_WAIT_ALL ? l3l2q_sig_try_wait_all(s, v, n) :
					    l3l2q_sig_try_wait_any(s, v, n);
}

/* A result known without sleeping: READY, or the error; nothing armed. */
static int known(struct l3l2q_signals *sg, struct l3l2q_sig_waitv *v,
		 __u32 n, int ret)
{
	l3l2q_sig_disarm(&sg->sig, v, n);
	return ret < 0 ? ret : L3L2Q_SIG_PREP_READY;
}

int l3l2q_signals_prep_wait(struct io_uring_sqe *sqe,
			    struct l3l2q_signals *sg,
			    struct l3l2q_sig_waitv *v, __u32 n, __u32 flags,
			    __u64 deadline_ns,
			    struct l3l2q_sig_wait_args *args)
{
	__u32 i;
	int ret, fd;

	if (!sqe || !sg || !v || !args || !n || n > L3L2Q_SIG_WAITV_MAX ||
	    (flags & ~L3L2Q_SIG_WAIT_ALL))
		return -EINVAL;
	/* A fork child's copy: its fds' files are the parent's. */
	if (getpid() != sg->owner)
		return -EOWNERDEAD;
	memset(args, 0, sizeof(*args));
	args->waitv = (__u64)(uintptr_t)v;
	args->nr = n;
	args->flags = flags;
	args->deadline_ns = deadline_ns;
	for (i = 0; i < n; i++)
		v[i].arm = 0;
	/* The values the arming compares with (and the checks of @v). */
	ret = sig_try(&sg->sig, v, n, flags);
	if (ret != -EAGAIN)
		return known(sg, v, n, ret);
	ret = l3l2q_sig_arm(&sg->sig, v, n);		/* W1, W2 */
	if (ret)
		return ret;
	ret = sig_try(&sg->sig, v, n, flags);		/* W3 */
	if (ret != -EAGAIN)
		return known(sg, v, n, ret);
	if (sg->backend == L3L2Q_BACKEND_DEVICE) {
		/* W4 in the kernel, on the armed entries (K1-K3). */
		ret = l3l2q_sig_prep_wait(sqe, sg->fd, args);
		if (ret)
			l3l2q_sig_disarm(&sg->sig, v, n);
		return ret;
	}
	fd = l3l2q__sig_memfd_wait_set(sg, deadline_ns);
	if (fd < 0) {
		l3l2q_sig_disarm(&sg->sig, v, n);
		return fd;
	}
	io_uring_prep_poll_add(sqe, fd, POLLIN);	/* W4 */
	return 0;
}

int l3l2q_signals_wait_done(struct l3l2q_signals *sg,
			    const struct l3l2q_sig_wait_args *args, int res)
{
	struct l3l2q_sig_waitv *v;
	int ret;

	if (!sg || !args || !args->waitv || !args->nr ||
	    args->nr > L3L2Q_SIG_WAITV_MAX ||
	    (args->flags & ~L3L2Q_SIG_WAIT_ALL))
		return -EINVAL;
	v = (struct l3l2q_sig_waitv *)(uintptr_t)args->waitv;
	if (sg->backend == L3L2Q_BACKEND_MEMFD && getpid() == sg->owner)
		l3l2q__sig_memfd_wait_reap(sg);
	ret = sig_try(&sg->sig, v, args->nr, args->flags);	/* W5 */
	l3l2q_sig_disarm(&sg->sig, v, args->nr);
	if (ret != -EAGAIN)
		return ret;
	/* Not ready: why the ring woke us decides what comes next. */
	if (res == -ECONNRESET)
		return -ECONNRESET;
	if (res < 0 && res != -ETIMEDOUT && res != -EINTR)
		return res;
	if (l3l2q_now_ns() >= args->deadline_ns)
		return -ETIMEDOUT;
	return -EAGAIN;
}
