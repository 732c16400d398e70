// SPDX-License-Identifier: MIT
/*
 * sigring_test - waiting for a signals object's slots through a real
 * io_uring on the memfd backing (l3l2q_signals_prep_wait() and
 * l3l2q_signals_wait_done(), libl3l2q_uring.h): bad arguments, ready
 * already (no SQE), woken by the peer's notify, the deadline, the peer
 * killed under the wait, a notify below the target, wait-all, and round
 * trips with both sides waiting in their own rings.  The driver's half
 * is tests/vm/siguring_test.c.  Fixed work; the harness's timeout is the
 * watchdog for a lost wake-up.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libl3l2q_signals.h"
#include "sig_attach.h"
#include "libl3l2q_uring.h"
#include "kselftest_harness.h"

#define COUNT		4u
#define DATA_BYTES	256ull
#define ROUNDS		1000u
#define EARLY_MAX	1000u	/* -EAGAIN wake-ups one wait may take */

static const struct l3l2q_sig_params good = {
	.data_bytes = DATA_BYTES, .signal_count = COUNT,
	.backend = L3L2Q_BACKEND_MEMFD,
};

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return 254;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static void entry(struct l3l2q_sig_waitv *e, __u32 id, __u64 target)
{
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->cmp = L3L2Q_SIG_CMP_GE;
	e->target = target;
}

/*
 * One prepared wait to its completion: the result of wait_done, and in
 * *@cqe_res the CQE's res (0 when nothing was submitted).  A READY prep
 * leaves the SQE it got unfilled: make it a NOP so the ring stays sane.
 */
static int ring_once(struct io_uring *ring, struct l3l2q_signals *sg,
		     struct l3l2q_sig_waitv *v, __u32 n, __u32 flags,
		     __u64 deadline_ns, int *cqe_res)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct l3l2q_sig_wait_args a;
	struct io_uring_cqe *cqe;
	int ret, res;

	if (!sqe)
		return -EBUSY;
	ret = l3l2q_signals_prep_wait(sqe, sg, v, n, flags, deadline_ns, &a);
	if (ret) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, 0);
		if (io_uring_submit_and_wait(ring, 1) != 1 ||
		    io_uring_wait_cqe(ring, &cqe))
			return -EIO;
		io_uring_cqe_seen(ring, cqe);
		*cqe_res = 0;
		return ret == L3L2Q_SIG_PREP_READY ?
		       l3l2q_signals_wait_done(sg, &a, 0) : ret;
	}
	io_uring_sqe_set_data64(sqe, 1);
	if (io_uring_submit_and_wait(ring, 1) != 1 ||
	    io_uring_wait_cqe(ring, &cqe))
		return -EIO;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	*cqe_res = res;
	return l3l2q_signals_wait_done(sg, &a, res);
}

/* Until it ends: again on -EAGAIN, at most EARLY_MAX times. */
static int ring_wait(struct io_uring *ring, struct l3l2q_signals *sg,
		     struct l3l2q_sig_waitv *v, __u32 n, __u32 flags,
		     __u64 deadline_ns)
{
	unsigned int i;
	int ret = -EAGAIN, res;

	for (i = 0; ret == -EAGAIN && i < EARLY_MAX; i++)
		ret = ring_once(ring, sg, v, n, flags, deadline_ns, &res);
	return ret;
}

TEST(bad_args)
{
	struct l3l2q_signals *sg;
	struct l3l2q_sig_waitv v[L3L2Q_SIG_WAITV_MAX + 1];
	struct l3l2q_sig_wait_args a;
	struct io_uring_sqe sqe, blank;
	__u64 dl = L3L2Q_DEADLINE_NONE;
	__u32 i;

	ASSERT_EQ(0, l3l2q_sig_create(&good, &sg, NULL));
	for (i = 0; i <= L3L2Q_SIG_WAITV_MAX; i++)
		entry(&v[i], i % COUNT, 1);
	memset(&sqe, 0xa5, sizeof(sqe));
	blank = sqe;
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(NULL, sg, v, 1, 0, dl, &a));
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, NULL, v, 1, 0, dl,
						   &a));
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, NULL, 1, 0, dl,
						   &a));
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v, 1, 0, dl,
						   NULL));
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v, 0, 0, dl, &a));
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v,
						   L3L2Q_SIG_WAITV_MAX + 1,
						   0, dl, &a));
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v, 1, 2, dl, &a));
	/* The same slot twice; a slot past signal_count; a bad compare. */
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v, COUNT + 1, 0,
						   dl, &a));
	v[0].id = COUNT;
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v, 1, 0, dl, &a));
	v[0].id = 0;
	v[0].cmp = 99;
	EXPECT_EQ(-EINVAL, l3l2q_signals_prep_wait(&sqe, sg, v, 1, 0, dl, &a));
	EXPECT_EQ(0, memcmp(&sqe, &blank, sizeof(sqe)));
	EXPECT_EQ(0u, v[0].arm);

	EXPECT_EQ(-EINVAL, l3l2q_signals_wait_done(NULL, &a, 0));
	EXPECT_EQ(-EINVAL, l3l2q_signals_wait_done(sg, NULL, 0));
	memset(&a, 0, sizeof(a));
	EXPECT_EQ(-EINVAL, l3l2q_signals_wait_done(sg, &a, 0));
	a.waitv = (__u64)(uintptr_t)v;
	a.nr = L3L2Q_SIG_WAITV_MAX + 1;
	EXPECT_EQ(-EINVAL, l3l2q_signals_wait_done(sg, &a, 0));
	a.nr = 1;
	a.flags = 2;
	EXPECT_EQ(-EINVAL, l3l2q_signals_wait_done(sg, &a, 0));
	l3l2q_sig_destroy(sg);
}

FIXTURE(ring) {
	struct l3l2q_signals *l3;
	struct l3l2q_sig *s;
	struct io_uring ring;
	int peer;
};

FIXTURE_SETUP(ring)
{
	ASSERT_EQ(0, l3l2q_sig_create(&good, &self->l3, NULL));
	self->s = l3l2q_signals_handle(self->l3);
	self->peer = l3l2q_sig_peer_fd(self->l3);
	ASSERT_LE(0, self->peer);
	/* 64-byte SQEs: the memfd backing needs no SQE128. */
	ASSERT_EQ(0, io_uring_queue_init(8, &self->ring, 0));
}

FIXTURE_TEARDOWN(ring)
{
	io_uring_queue_exit(&self->ring);
	l3l2q_sig_destroy(self->l3);
	close(self->peer);
}

/* Ready before the wait: no SQE, the same result from wait_done. */
TEST_F(ring, ready_already)
{
	struct l3l2q_sig_waitv v[2];
	struct l3l2q_sig_wait_args a;
	struct io_uring_sqe sqe, blank;

	ASSERT_EQ(0, l3l2q_sig_notify(self->s, 2, 5));
	entry(&v[0], 1, 1);
	entry(&v[1], 2, 5);
	memset(&sqe, 0x5a, sizeof(sqe));
	blank = sqe;
	EXPECT_EQ(L3L2Q_SIG_PREP_READY,
		  l3l2q_signals_prep_wait(&sqe, self->l3, v, 2, 0,
					  L3L2Q_DEADLINE_NONE, &a));
	EXPECT_EQ(0, memcmp(&sqe, &blank, sizeof(sqe)));
	EXPECT_EQ(0u, v[0].arm);
	EXPECT_EQ(0u, v[1].arm);
	EXPECT_EQ(1u, v[1].ready);
	EXPECT_EQ(5u, v[1].value);
	/* wait_any: the index of the ready entry. */
	EXPECT_EQ(1, l3l2q_signals_wait_done(self->l3, &a, 0));
	/* wait_all with one entry not ready: prepared. */
	EXPECT_EQ(0, l3l2q_signals_prep_wait(&sqe, self->l3, v, 2,
					     L3L2Q_SIG_WAIT_ALL, 0, &a));
	EXPECT_NE(0u, v[0].arm);
	EXPECT_EQ(-ETIMEDOUT, l3l2q_signals_wait_done(self->l3, &a, 0));
	EXPECT_EQ(0u, v[0].arm);
}

/* The L2 notifies after the L3's wait is in the ring: the CQE comes. */
TEST_F(ring, woken_by_peer)
{
	struct l3l2q_sig_waitv v;
	struct l3l2q_signals *sg;
	struct l3l2q_sig *s;
	int res = 0, sync[2];
	pid_t pid;

	pid = sa_fork_attached(self->peer, &sg, &s, sync);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The L3's go: its wait is prepared (armed) and submitted. */
		if (l3l2q_sig_wait(s, 1, L3L2Q_SIG_CMP_GE, 1,
				   L3L2Q_DEADLINE_NONE, NULL))
			_exit(10);
		if (l3l2q_sig_notify(s, 0, 7))
			_exit(11);
		/* It crossed an armed target: one kick. */
		_exit(l3l2q_sig_stats(s)->kicks == 1 ? 0 : 12);
	}
	entry(&v, 0, 7);
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);
		struct l3l2q_sig_wait_args a;
		struct io_uring_cqe *cqe;

		ASSERT_NE(NULL, sqe);
		ASSERT_EQ(0, l3l2q_signals_prep_wait(sqe, self->l3, &v, 1, 0,
						     L3L2Q_DEADLINE_NONE, &a));
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		ASSERT_EQ(0, l3l2q_sig_notify(self->s, 1, 1));
		ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
		res = cqe->res;
		io_uring_cqe_seen(&self->ring, cqe);
		EXPECT_NE(0, res & POLLIN);
		EXPECT_EQ(0, l3l2q_signals_wait_done(self->l3, &a, res));
	}
	EXPECT_EQ(7u, v.value);
	EXPECT_EQ(1u, v.ready);
	EXPECT_EQ(0u, v.arm);
	EXPECT_EQ(0, reap(pid));
	close(sync[0]);
	close(sync[1]);
}

/* Nobody notifies: -ETIMEDOUT, and not before the deadline. */
TEST_F(ring, deadline)
{
	struct l3l2q_sig_waitv v[2];
	__u64 dl = l3l2q_now_ns() + 50000000ull;
	int res;

	entry(&v[0], 0, 1);
	entry(&v[1], 3, 1);
	EXPECT_EQ(-ETIMEDOUT, ring_wait(&self->ring, self->l3, v, 2, 0, dl));
	EXPECT_LE(dl, l3l2q_now_ns());
	EXPECT_EQ(0u, v[0].arm);
	/* 0: one check, still through the ring. */
	EXPECT_EQ(-ETIMEDOUT, ring_once(&self->ring, self->l3, v, 1, 0, 0,
					&res));
	EXPECT_NE(0, res & POLLIN);
}

/* The L2 is killed while the L3 waits with no deadline: -ECONNRESET. */
TEST_F(ring, peer_killed)
{
	struct l3l2q_sig_waitv v;
	struct l3l2q_sig_wait_args a;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned int early;
	int res, ret;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_signals *sg;
		struct l3l2q_sig *s = sa_child_attach(self->peer, &sg);

		/* Attached, its pidfd sent: say so, then wait to die. */
		if (l3l2q_sig_notify(s, 1, 1))
			_exit(10);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, l3l2q_sig_wait(self->s, 1, L3L2Q_SIG_CMP_GE, 1,
				    L3L2Q_DEADLINE_NONE, NULL));
	entry(&v, 0, 1);
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, l3l2q_signals_prep_wait(sqe, self->l3, &v, 1, 0,
					     L3L2Q_DEADLINE_NONE, &a));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	kill(pid, SIGKILL);
	ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
	res = cqe->res;
	io_uring_cqe_seen(&self->ring, cqe);
	ret = l3l2q_signals_wait_done(self->l3, &a, res);
	/*
	 * Early: the kick of the blocking wait above can still be in the
	 * role's eventfd (it armed, then found slot 1 ready): again.
	 */
	for (early = 0; ret == -EAGAIN && early < EARLY_MAX; early++)
		ret = ring_once(&self->ring, self->l3, &v, 1, 0,
				L3L2Q_DEADLINE_NONE, &res);
	EXPECT_EQ(-ECONNRESET, ret);
	EXPECT_EQ(0u, v.arm);
	EXPECT_EQ(255, reap(pid));
	/* And the next wait ends at once, with nothing prepared. */
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	EXPECT_EQ(-ECONNRESET, l3l2q_signals_prep_wait(sqe, self->l3, &v, 1, 0,
						       L3L2Q_DEADLINE_NONE,
						       &a));
	EXPECT_EQ(0u, v.arm);
	io_uring_prep_nop(sqe);
}

/*
 * A notify below the target kicks nobody: no CQE, and the wait goes on
 * until the target is reached.  A CQE before that (a kick of another
 * arming of this role: the role's eventfd is shared) is -EAGAIN from
 * wait_done, never ready.
 */
TEST_F(ring, below_target)
{
	struct l3l2q_sig_waitv v;
	struct l3l2q_sig_wait_args a;
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 100000000 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned int early = 0;
	struct l3l2q_signals *sg;
	struct l3l2q_sig *s;
	int ret, res, done[2];
	pid_t pid;
	char c;

	pid = sa_fork_attached(self->peer, &sg, &s, done);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (l3l2q_sig_wait(s, 1, L3L2Q_SIG_CMP_GE, 1,
				   L3L2Q_DEADLINE_NONE, NULL))
			_exit(10);
		if (l3l2q_sig_notify(s, 0, 5) || l3l2q_sig_stats(s)->kicks)
			_exit(11);
		/* Not through a slot: that would kick the L3's eventfd. */
		if (write(done[1], "5", 1) != 1)
			_exit(12);
		if (l3l2q_sig_wait(s, 1, L3L2Q_SIG_CMP_GE, 2,
				   L3L2Q_DEADLINE_NONE, NULL))
			_exit(13);
		if (l3l2q_sig_notify(s, 0, 10))
			_exit(14);
		_exit(0);
	}
	entry(&v, 0, 10);
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, l3l2q_signals_prep_wait(sqe, self->l3, &v, 1, 0,
					     L3L2Q_DEADLINE_NONE, &a));
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, l3l2q_sig_notify(self->s, 1, 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	/* The notify of 5 is done and wrote no eventfd: no completion. */
	EXPECT_EQ(-ETIME, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts));
	ASSERT_EQ(0, l3l2q_sig_notify(self->s, 1, 2));
	for (;;) {
		ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
		res = cqe->res;
		io_uring_cqe_seen(&self->ring, cqe);
		ret = l3l2q_signals_wait_done(self->l3, &a, res);
		if (ret != -EAGAIN)
			break;
		ASSERT_GT(EARLY_MAX, ++early);
		ASSERT_GT(10u, v.value);	/* not ready yet */
		sqe = io_uring_get_sqe(&self->ring);
		ret = l3l2q_signals_prep_wait(sqe, self->l3, &v, 1, 0,
					      L3L2Q_DEADLINE_NONE, &a);
		if (ret == L3L2Q_SIG_PREP_READY) {
			io_uring_prep_nop(sqe);
			io_uring_submit(&self->ring);
			ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
			io_uring_cqe_seen(&self->ring, cqe);
			ret = l3l2q_signals_wait_done(self->l3, &a, 0);
			break;
		}
		ASSERT_EQ(0, ret);
		ASSERT_EQ(1, io_uring_submit(&self->ring));
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(10u, v.value);
	EXPECT_EQ(0, reap(pid));
	close(done[0]);
	close(done[1]);
}

/* Wait-all over two slots the peer sets one after the other. */
TEST_F(ring, wait_all)
{
	struct l3l2q_sig_waitv v[2];
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_signals *sg;
		struct l3l2q_sig *s = sa_child_attach(self->peer, &sg);

		if (l3l2q_sig_notify(s, 0, 3))
			_exit(10);
		if (l3l2q_sig_wait(s, 1, L3L2Q_SIG_CMP_GE, 1,
				   L3L2Q_DEADLINE_NONE, NULL))
			_exit(11);
		_exit(l3l2q_sig_notify(s, 2, 4) ? 12 : 0);
	}
	entry(&v[0], 0, 3);
	entry(&v[1], 2, 4);
	ASSERT_EQ(0, l3l2q_sig_wait(self->s, 0, L3L2Q_SIG_CMP_GE, 3,
				    L3L2Q_DEADLINE_NONE, NULL));
	/* Only slot 0 is ready: not done until slot 2 is too. */
	EXPECT_EQ(-ETIMEDOUT, ring_wait(&self->ring, self->l3, v, 2,
					L3L2Q_SIG_WAIT_ALL, 0));
	EXPECT_EQ(1u, v[0].ready);
	EXPECT_EQ(0u, v[1].ready);
	ASSERT_EQ(0, l3l2q_sig_notify(self->s, 1, 1));
	EXPECT_EQ(0, ring_wait(&self->ring, self->l3, v, 2, L3L2Q_SIG_WAIT_ALL,
			       L3L2Q_DEADLINE_NONE));
	EXPECT_EQ(3u, v[0].value);
	EXPECT_EQ(4u, v[1].value);
	EXPECT_EQ(0, reap(pid));
}

/*
 * Round trips with data, both sides waiting in their own rings with no
 * deadline; every value and every datum checked.
 */
TEST_F_TIMEOUT(ring, round_trips, 300)
{
	struct l3l2q_sig_waitv v[2];
	__u64 i, data;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_signals *sg;
		struct l3l2q_sig *s = sa_child_attach(self->peer, &sg);
		struct io_uring ring;
		struct l3l2q_sig_waitv w;

		if (io_uring_queue_init(4, &ring, 0))
			_exit(9);
		for (i = 1; i <= ROUNDS; i++) {
			entry(&w, 0, i);
			if (ring_wait(&ring, sg, &w, 1, 0,
				      L3L2Q_DEADLINE_NONE) || w.value != i)
				_exit(10);
			if (l3l2q_sig_read(s, 8, &data, sizeof(data)) ||
			    data != i * 7)
				_exit(11);
			if (l3l2q_sig_notify(s, 1, i))
				_exit(12);
		}
		io_uring_queue_exit(&ring);
		l3l2q_sig_destroy(sg);
		_exit(0);
	}
	for (i = 1; i <= ROUNDS; i++) {
		data = i * 7;
		ASSERT_EQ(0, l3l2q_sig_write(self->s, 8, &data, sizeof(data)));
		ASSERT_EQ(0, l3l2q_sig_notify(self->s, 0, i));
		/* Any of two: slot 1 answers, slot 3 never does. */
		entry(&v[0], 3, 1);
		entry(&v[1], 1, i);
		ASSERT_EQ(1, ring_wait(&self->ring, self->l3, v, 2, 0,
				       L3L2Q_DEADLINE_NONE));
		ASSERT_EQ(i, v[1].value);
		ASSERT_EQ(0u, v[0].ready);
	}
	EXPECT_EQ(0, reap(pid));
}

TEST_HARNESS_MAIN
