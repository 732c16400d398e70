// SPDX-License-Identifier: GPL-2.0
/*
 * wake_test - waking instead of spinning on /dev/l3l2q: the WAIT, KICK and
 * SET_EVENTFD ioctls, poll/epoll, io_uring (IORING_OP_URING_CMD WAIT and
 * IORING_OP_POLL_ADD), peer death and the need-wakeup protocol under
 * stress.  Runs inside the test VM as root with l3l2q.ko loaded.
 *
 * Errnos and results the driver documents (kmod/l3l2q_wait.c, _uring.c):
 *   WAIT         0 counter != seen; ETIMEDOUT deadline passed (0 = check
 *                only); EINTR signal (never restarted); ECONNRESET peer
 *                dead; EINVAL counter the role may not wait on, flags != 0
 *   KICK         always 0
 *   SET_EVENTFD  EINVAL flags/resv != 0 or not an eventfd; EBADF bad fd
 *   uring WAIT   the same results as the CQE's res, plus ECANCELED when
 *                io_uring cancels it (6.7+) and ENOTTY for another cmd_op;
 *                without cancellation (6.1) a queued command's deadline is
 *                capped at uring_max_wait_ms (module parameter)
 *   poll         EPOLLIN something to consume, EPOLLOUT a free slot in the
 *                ring this role produces into, EPOLLHUP|EPOLLERR peer dead
 *
 * The stresses run the uapi need-wakeup protocol as a ping-pong between an
 * L3 parent and an L2 child, each side sleeping per the protocol (set bit,
 * full fence, re-check, sleep) with a varying spin first: 100000 round
 * trips through the WAIT ioctl, and shorter time-boxed runs through
 * io_uring WAIT commands and through poll() on registered eventfds.  Every
 * wait has a 2 s deadline; reaching it while the counter already differs
 * from what was seen is a lost wakeup, and fails the test at once.
 *
 * The kernel version (uname) only decides whether io_uring is expected to
 * cancel a queued command when its task exits (6.7+).
 *
 * liburing 2.3 (bookworm) has no io_uring_prep_uring_cmd(): the SQE is
 * built by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "wait_cmd.h"
#include "libl3l2q.h"

#define DEV_PATH	"/dev/l3l2q"

#define DEPTH		8ull
#define ARENA		4096ull

#define MS		1000000ull	/* ns */
#define SEC		1000000000ull	/* ns */
#define FOREVER		(~0ull)
/*
 * How long to wait for something that must happen (a completion already
 * triggered, a thread reaching its wait): a watchdog for a hang, never a
 * verdict on speed; TCG on a loaded host is slow.  A wait for something
 * that must NOT happen stays short: a slow machine can only make it pass.
 */
#define WATCHDOG_MS	VM_WATCHDOG_MS

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Children die with the test process, whatever happens to it. */
static void child_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int do_kick(int fd)
{
	return ioctl(fd, L3L2Q_IOC_KICK) ? -errno : 0;
}

static int set_eventfd(int fd, int efd)
{
	struct l3l2q_eventfd_args a;

	memset(&a, 0, sizeof(a));
	a.fd = efd;
	return ioctl(fd, L3L2Q_IOC_SET_EVENTFD, &a) ? -errno : 0;
}

static __s32 *ctr_ptr(void *ctr, unsigned int off)
{
	return (__s32 *)((char *)ctr + off);
}

static void store_ctr(void *ctr, unsigned int off, __s32 v)
{
	__atomic_store_n(ctr_ptr(ctr, off), v, __ATOMIC_RELEASE);
}

static __s32 load_ctr(void *ctr, unsigned int off)
{
	return __atomic_load_n(ctr_ptr(ctr, off), __ATOMIC_ACQUIRE);
}

static __u32 *wake_word(void *map, unsigned int off)
{
	return (__u32 *)((char *)map + off);
}

/* Wait up to @ms for a debugfs value to become @want. */
static int dbg_wait_value(unsigned long long id, const char *key,
			  long long want, unsigned int ms)
{
	unsigned int i;

	for (i = 0; i <= ms; i += 5) {
		if (dbg_num(id, key) == want)
			return 1;
		sleep_ms(5);
	}
	return 0;
}

/* Does the running kernel cancel uring_cmds on task exit (6.7+)? */
static int kernel_cancels_uring_cmd(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return 0;
	return maj > 6 || (maj == 6 && min >= 7);
}

/* An IORING_OP_URING_CMD WAIT, built by hand (liburing 2.3). */
static void prep_wait(struct io_uring_sqe *sqe, int fd, __u32 cmd_op,
		      __u16 counter, __u16 flags, __s32 seen, __u64 deadline,
		      __u64 user_data)
{
	struct l3l2q_wait_args a;

	memset(&a, 0, sizeof(a));
	a.counter = counter;
	a.flags = flags;
	a.seen = seen;
	a.deadline_ns = deadline;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = cmd_op;
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &a,
	       sizeof(a));
	sqe->user_data = user_data;
}

static int submit_wait(struct io_uring *ring, int fd, __u16 counter,
		       __s32 seen, __u64 deadline, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	prep_wait(sqe, fd, L3L2Q_IOC_WAIT, counter, 0, seen, deadline,
		  user_data);
	return io_uring_submit(ring);
}

/* A one-command submit-and-complete for results known at issue. */
static int uring_wait_sync(int fd, __u32 cmd_op, __u16 counter, __u16 flags,
			   __s32 seen, __u64 deadline, int *res)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret)
		return ret;
	sqe = io_uring_get_sqe(&ring);
	prep_wait(sqe, fd, cmd_op, counter, flags, seen, deadline, 1);
	ret = io_uring_submit(&ring);
	if (ret == 1)
		ret = vm_get_cqe(&ring, WATCHDOG_MS, res, NULL);
	else if (ret >= 0)
		ret = -EIO;
	io_uring_queue_exit(&ring);
	return ret;
}

static __u32 poll_mask(int fd)
{
	struct pollfd p = {
		.fd = fd,
		.events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM,
	};

	if (poll(&p, 1, 0) < 0)
		return ~0u;
	return (__u32)p.revents;
}

/* ---------------------------------------------------------------------- */
/* A queue with both role fds and the L3 mapping                          */
/* ---------------------------------------------------------------------- */

FIXTURE(wq) {
	struct vm_roles r;
	struct l3l2q_create_args args;
	void *ctr;		/* its counter block */
	unsigned long long id;	/* debugfs name */
	unsigned long cap;	/* uring_max_wait_ms before the test */
};

FIXTURE_SETUP(wq)
{
	vm_roles_init(&self->r);
	self->r.dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (self->r.dev < 0)
		SKIP(return, DEV_PATH " missing: is l3l2q.ko loaded?");
	ASSERT_EQ(0, ensure_debugfs());
	memset(&self->args, 0, sizeof(self->args));
	self->args.depth = DEPTH;
	self->args.input_arena_bytes = ARENA;
	self->args.output_arena_bytes = ARENA;
	self->args.fd = -1;
	ASSERT_EQ(0, ioctl(self->r.dev, L3L2Q_IOC_CREATE, &self->args));
	self->r.l3 = self->args.fd;
	ASSERT_GE(self->r.l3, 0);
	self->id = fd_queue_id(self->r.l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
	ASSERT_EQ(0, vm_roles_peer_map(&self->r, self->args.off.total_bytes));
	self->ctr = (char *)self->r.map + self->args.off.counter_offset;
	/*
	 * Both roles here kick as the protocol asks: say so, or the driver
	 * polls for their sleepers and a change without a kick wakes them
	 * too (uapi, feature words; nokick_test covers that side).
	 */
	__atomic_store_n(wake_word((char *)self->r.map + self->args.off.ctrl_offset,
				   L3L2Q_CTRL_L3_FEATURES), L3L2Q_FEAT_KICKS,
			 __ATOMIC_RELEASE);
	__atomic_store_n(wake_word((char *)self->r.map + self->args.off.ctrl_offset,
				   L3L2Q_CTRL_L2_FEATURES), L3L2Q_FEAT_KICKS,
			 __ATOMIC_RELEASE);
	/*
	 * Where io_uring does not cancel commands (6.1) the module caps
	 * every queued WAIT (10 s): on a slow VM that cap, not the test's
	 * kick, could end a WAIT.  Only uring_wait_cap_policy tests it.
	 */
	ASSERT_EQ(0, read_param("uring_max_wait_ms", &self->cap));
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 3600000));
}

FIXTURE_TEARDOWN(wq)
{
	if (self->cap)
		write_param("uring_max_wait_ms", self->cap);
	vm_roles_close(&self->r);
}

/* ---------------------------------------------------------------------- */
/* WAIT                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * No deadline: a WAIT that slept although its counter differed would
 * sleep for ever, which the harness's watchdog reports; a WAIT that
 * returns 0 checked first.
 */
TEST_F(wq, wait_returns_at_once_when_counter_differs)
{
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 5);
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, -1);
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_HEAD, 7);
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_HEAD, 0x7fffffff);

	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0, FOREVER));
	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_INPUT_HEAD, 6, FOREVER));
	EXPECT_EQ(0, vm_wait(self->r.l2, L3L2Q_CTR_INPUT_TAIL, 0, FOREVER));
	EXPECT_EQ(0, vm_wait(self->r.l2, L3L2Q_CTR_OUTPUT_HEAD, -1, FOREVER));

	/* Deadline 0 only checks. */
	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 4, 0));
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 5, 0));
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->r.l2, L3L2Q_CTR_INPUT_TAIL, -1, 0));
}

TEST_F(wq, wait_deadline_times_out)
{
	__u64 t0, dt;

	t0 = l3l2q_now_ns();
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				      t0 + 200 * MS));
	dt = l3l2q_now_ns() - t0;
	EXPECT_GE(dt, 200 * MS);	/* not before its deadline */

	t0 = l3l2q_now_ns();
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->r.l2, L3L2Q_CTR_OUTPUT_HEAD, 0,
				      t0 + 100 * MS));
	dt = l3l2q_now_ns() - t0;
	EXPECT_GE(dt, 100 * MS);

	/* A deadline already past times out (the watchdog catches a hang). */
	t0 = l3l2q_now_ns();
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->r.l3, L3L2Q_CTR_INPUT_HEAD, 0, 1));
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->r.l3, L3L2Q_CTR_INPUT_HEAD, 0,
				      t0 - 1));
}

TEST_F(wq, wait_bad_counter_or_flags_einval)
{
	static const __u16 l3_bad[] = {
		L3L2Q_CTR_INPUT_TAIL, L3L2Q_CTR_OUTPUT_HEAD,
		L3L2Q_CTR_L3_ABORT, L3L2Q_CTR_L2_ABORT, 1, 4, 60, 384, 4096,
		0xffff,
	};
	static const __u16 l2_bad[] = {
		L3L2Q_CTR_OUTPUT_TAIL, L3L2Q_CTR_INPUT_HEAD,
		L3L2Q_CTR_L3_ABORT, L3L2Q_CTR_L2_ABORT, 1, 4, 60, 384, 4096,
		0xffff,
	};
	struct l3l2q_wait_args a;
	unsigned int i;

	for (i = 0; i < sizeof(l3_bad) / sizeof(l3_bad[0]); i++)
		EXPECT_EQ(-EINVAL, vm_wait(self->r.l3, l3_bad[i], 0, 0));
	for (i = 0; i < sizeof(l2_bad) / sizeof(l2_bad[0]); i++)
		EXPECT_EQ(-EINVAL, vm_wait(self->r.l2, l2_bad[i], 0, 0));

	/* Flags must be zero, on either role. */
	memset(&a, 0, sizeof(a));
	a.counter = L3L2Q_CTR_OUTPUT_TAIL;
	a.seen = 1;
	a.flags = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.l3, L3L2Q_IOC_WAIT, &a));
	EXPECT_EQ(EINVAL, errno);
	a.counter = L3L2Q_CTR_INPUT_TAIL;
	a.flags = 0x8000;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.l2, L3L2Q_IOC_WAIT, &a));
	EXPECT_EQ(EINVAL, errno);

	/* A bad pointer, and the device fd, which holds no queue. */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.l3, L3L2Q_IOC_WAIT, (void *)8));
	EXPECT_EQ(EFAULT, errno);
	a.flags = 0;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.dev, L3L2Q_IOC_WAIT, &a));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.dev, L3L2Q_IOC_KICK));
	EXPECT_EQ(EPERM, errno);
}

/*
 * A child holding the L2 role publishes output (in its own mapping) and
 * kicks; the parent's WAIT on the output tail, already asleep, returns 0.
 */
TEST_F(wq, wait_woken_by_kick_after_change)
{
	pid_t parent = gettid_(), pid;
	int status;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		void *m, *ctr;

		child_setup();
		m = mmap(NULL, self->r.len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->r.l2, 0);
		if (m == MAP_FAILED)
			_exit(1);
		ctr = (char *)m + self->args.off.counter_offset;
		if (!vm_wait_blocked(parent, SYS_ioctl))
			_exit(2);
		store_ctr(ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		_exit(do_kick(self->r.l2) ? 3 : 0);
	}
	/* No deadline: a lost kick would leave it asleep (watchdog). */
	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0, FOREVER));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, load_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_GE(dbg_num(self->id, "kicks"), 1);
}

struct kicker {
	int fd;
	pid_t target;		/* kick only while this thread sleeps in @nr */
	long nr;		/* default ioctl */
	unsigned int count;
	void *ctr;		/* if set, bump @off before the last kick */
	unsigned int off;
	int last_fd;		/* if not 0, the fd of the last kick */
	int stop;
	int kicks;
	int changed;		/* set just before the bump */
};

static void *kicker_thread(void *arg)
{
	struct kicker *k = arg;
	unsigned int i;

	for (i = 0; i < k->count && !__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE);
	     i++) {
		/* Each kick lands on a sleeping target: no guessed pace. */
		if (k->target &&
		    !vm_wait_blocked(k->target, k->nr ? k->nr : SYS_ioctl))
			return NULL;
		if (k->ctr && i + 1 == k->count) {
			__atomic_store_n(&k->changed, 1, __ATOMIC_RELEASE);
			store_ctr(k->ctr, k->off, load_ctr(k->ctr, k->off) + 1);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		}
		if (do_kick(k->last_fd && i + 1 == k->count ? k->last_fd :
			    k->fd) == 0)
			__atomic_fetch_add(&k->kicks, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * KICKs without a counter change: WAIT re-checks and sleeps on.  Eleven
 * kicks, each while the WAIT sleeps, then a change and a twelfth: the
 * WAIT (no deadline) ends only after the change.  A WAIT that a bare kick
 * ended would return before it, with the change flag still clear.
 */
TEST_F(wq, kick_without_change_keeps_waiting)
{
	struct kicker k = {
		.fd = self->r.l2, .target = gettid_(), .count = 12,
		.ctr = self->ctr, .off = L3L2Q_CTR_OUTPUT_TAIL,
	};
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, kicker_thread, &k));
	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0, FOREVER));
	EXPECT_EQ(1, __atomic_load_n(&k.changed, __ATOMIC_ACQUIRE));
	pthread_join(th, NULL);
	EXPECT_EQ(12, k.kicks);

	/* L3's own kicks (for L2) leave L3's WAIT asleep as well; then the
	 * change and L2's kick end it. */
	k.kicks = 0;
	k.changed = 0;
	k.fd = self->r.l3;
	k.last_fd = self->r.l2;
	k.count = 7;
	ASSERT_EQ(0, pthread_create(&th, NULL, kicker_thread, &k));
	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 1, FOREVER));
	EXPECT_EQ(1, __atomic_load_n(&k.changed, __ATOMIC_ACQUIRE));
	pthread_join(th, NULL);
	EXPECT_EQ(7, k.kicks);
}

static void on_sigusr1(int sig)
{
}

struct signaller {
	pthread_t target;
	pid_t tid;
	volatile int stop;
};

static void *signaller_thread(void *arg)
{
	struct signaller *s = arg;

	vm_wait_blocked(s->tid, SYS_ioctl);
	while (!s->stop) {
		pthread_kill(s->target, SIGUSR1);
		sleep_ms(100);
	}
	return NULL;
}

TEST_F(wq, wait_interrupted_by_signal)
{
	struct sigaction sa;
	struct signaller s;
	pthread_t th;
	int pass;

	/* Without and with SA_RESTART: WAIT is never restarted. */
	for (pass = 0; pass < 2; pass++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigusr1;
		sa.sa_flags = pass ? SA_RESTART : 0;
		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
		s.target = pthread_self();
		s.tid = gettid_();
		s.stop = 0;
		ASSERT_EQ(0, pthread_create(&th, NULL, signaller_thread, &s));
		/* No deadline: only the signal can end it (-EINTR). */
		EXPECT_EQ(-EINTR, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
					  FOREVER));
		s.stop = 1;
		pthread_join(th, NULL);
	}
	signal(SIGUSR1, SIG_DFL);
}

/* ---------------------------------------------------------------------- */
/* poll and epoll                                                         */
/* ---------------------------------------------------------------------- */

#define IN_BITS		(POLLIN | POLLRDNORM)
#define OUT_BITS	(POLLOUT | POLLWRNORM)

TEST_F(wq, poll_in_and_out_for_both_roles)
{
	/* Empty rings: nothing to consume, room to produce. */
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l3));
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l2));

	/* L3 fills the input ring: L2 may consume, L3 may not produce. */
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 7);
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l3));
	EXPECT_EQ((__u32)(IN_BITS | OUT_BITS), poll_mask(self->r.l2));
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 8);
	EXPECT_EQ(0u, poll_mask(self->r.l3));
	EXPECT_EQ((__u32)(IN_BITS | OUT_BITS), poll_mask(self->r.l2));

	/* L2 releases it all. */
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_HEAD, 8);
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l3));
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l2));

	/* L2 publishes output: L3 may consume; then fills the ring. */
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 3);
	EXPECT_EQ((__u32)(IN_BITS | OUT_BITS), poll_mask(self->r.l3));
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l2));
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 8);
	EXPECT_EQ((__u32)(IN_BITS | OUT_BITS), poll_mask(self->r.l3));
	EXPECT_EQ(0u, poll_mask(self->r.l2));
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_HEAD, 8);
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l3));
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l2));

	/* The low 32 bits wrap: 0xfffffffe .. 5 is 7 in flight, 6 is 8. */
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_HEAD, -2);
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 5);
	EXPECT_EQ((__u32)OUT_BITS, poll_mask(self->r.l3));
	EXPECT_EQ((__u32)(IN_BITS | OUT_BITS), poll_mask(self->r.l2));
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 6);
	EXPECT_EQ(0u, poll_mask(self->r.l3));

	/* Garbage counters (more in flight than the depth): no free slot. */
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 1000);
	EXPECT_EQ(0u, poll_mask(self->r.l3));
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, -3);
	EXPECT_EQ(0u, poll_mask(self->r.l3));
}

TEST_F(wq, epoll_woken_by_kick)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct kicker k = {
		.fd = self->r.l2, .count = 1, .ctr = self->ctr,
		.off = L3L2Q_CTR_OUTPUT_TAIL, .target = gettid_(),
		.nr = SYS_epoll_wait,
	};
	pthread_t th;
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->r.l3, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	/* Asleep in epoll_wait; a thread publishes output and kicks. */
	ASSERT_EQ(0, pthread_create(&th, NULL, kicker_thread, &k));
	memset(&out, 0, sizeof(out));
	/* The kicker bumps the tail right before its one kick. */
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, -1));
	EXPECT_NE(0u, out.events & EPOLLIN);
	pthread_join(th, NULL);

	EXPECT_EQ(1, k.kicks);

	/* Level-triggered: still readable until the output is consumed. */
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 0));
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_HEAD, 1);
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	/*
	 * A change without a kick wakes nobody; the kick does.  (epoll only
	 * looks again at a file its wait queue woke.)
	 */
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 2);
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 100));
	ASSERT_EQ(0, do_kick(self->r.l2));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, WATCHDOG_MS));
	EXPECT_NE(0u, out.events & EPOLLIN);
	close(ep);
}

/* ---------------------------------------------------------------------- */
/* eventfd                                                                */
/* ---------------------------------------------------------------------- */

static long long efd_read(int efd)
{
	__u64 v;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return errno == EAGAIN ? 0 : -1;
	return (long long)v;
}

TEST_F(wq, eventfd_signalled_by_kick)
{
	struct l3l2q_eventfd_args a;
	int efd, efd2, p[2];

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, set_eventfd(self->r.l3, efd));
	EXPECT_EQ(0, efd_read(efd));

	/* L2's kick signals L3's eventfd; L3's own kick does not. */
	ASSERT_EQ(0, do_kick(self->r.l2));
	EXPECT_EQ(1, efd_read(efd));
	ASSERT_EQ(0, do_kick(self->r.l3));
	EXPECT_EQ(0, efd_read(efd));
	ASSERT_EQ(0, do_kick(self->r.l2));
	ASSERT_EQ(0, do_kick(self->r.l2));
	EXPECT_EQ(2, efd_read(efd));

	/* The driver holds its own reference: closing ours is fine. */
	close(efd);
	ASSERT_EQ(0, do_kick(self->r.l2));

	/* A second registration replaces the first. */
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	ASSERT_GE(efd2, 0);
	ASSERT_EQ(0, set_eventfd(self->r.l3, efd));
	ASSERT_EQ(0, set_eventfd(self->r.l3, efd2));
	ASSERT_EQ(0, do_kick(self->r.l2));
	EXPECT_EQ(0, efd_read(efd));
	EXPECT_EQ(1, efd_read(efd2));

	/* Unregistered: nothing is signalled. */
	ASSERT_EQ(0, set_eventfd(self->r.l3, -1));
	ASSERT_EQ(0, set_eventfd(self->r.l3, -1));
	ASSERT_EQ(0, do_kick(self->r.l2));
	EXPECT_EQ(0, efd_read(efd2));

	/* L2 has its own. */
	ASSERT_EQ(0, set_eventfd(self->r.l2, efd));
	ASSERT_EQ(0, do_kick(self->r.l3));
	EXPECT_EQ(1, efd_read(efd));
	EXPECT_EQ(0, efd_read(efd2));

	/* Bad arguments. */
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, set_eventfd(self->r.l3, p[0]));
	EXPECT_EQ(-EBADF, set_eventfd(self->r.l3, 9999));
	EXPECT_EQ(-EBADF, set_eventfd(self->r.l3, -2));
	memset(&a, 0, sizeof(a));
	a.fd = efd;
	a.flags = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.l3, L3L2Q_IOC_SET_EVENTFD, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.resv = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.l3, L3L2Q_IOC_SET_EVENTFD, &a));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.dev, L3L2Q_IOC_SET_EVENTFD, &a));
	EXPECT_EQ(EPERM, errno);
	close(p[0]);
	close(p[1]);
	close(efd);
	close(efd2);
}

/* Replacing and unregistering while another thread kicks in a loop. */
TEST_F(wq, eventfd_replace_while_kicking)
{
	struct kicker k = { .fd = self->r.l2, .count = ~0u };
	pthread_t th;
	int i, efd;

	ASSERT_EQ(0, pthread_create(&th, NULL, kicker_thread, &k));
	/* 3000 rounds, and on until the kicker has run: it may start late. */
	for (i = 0; i < 3000 ||
		    !__atomic_load_n(&k.kicks, __ATOMIC_ACQUIRE); i++) {
		if (i % 3 == 2) {
			ASSERT_EQ(0, set_eventfd(self->r.l3, -1));
			continue;
		}
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_GE(efd, 0);
		ASSERT_EQ(0, set_eventfd(self->r.l3, efd));
		close(efd);
	}
	__atomic_store_n(&k.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	EXPECT_GT(k.kicks, 0);

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, set_eventfd(self->r.l3, efd));
	ASSERT_EQ(0, do_kick(self->r.l2));
	EXPECT_EQ(1, efd_read(efd));
	close(efd);
}

/* ---------------------------------------------------------------------- */
/* io_uring                                                               */
/* ---------------------------------------------------------------------- */

TEST_F(wq, uring_wait_completes_on_kick)
{
	struct io_uring ring;
	__u64 ud = 0;
	int res = 1;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));

	/* L3 waits for output. */
	ASSERT_EQ(1, submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				 FOREVER, 42));
	EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 100, &res, &ud));
	EXPECT_EQ(1, dbg_num(self->id, "uring_pending"));
	/* A kick with nothing new leaves it queued; so does L3's own. */
	ASSERT_EQ(0, do_kick(self->r.l2));
	ASSERT_EQ(0, do_kick(self->r.l3));
	EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 100, &res, &ud));
	/* The change, then the kick. */
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
	ASSERT_EQ(0, do_kick(self->r.l2));
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
	EXPECT_EQ(0, res);
	EXPECT_EQ(42ull, ud);
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));

	/* L2 waits for input, woken by L3; two at once, one completes. */
	ASSERT_EQ(1, submit_wait(&ring, self->r.l2, L3L2Q_CTR_INPUT_TAIL, 0,
				 FOREVER, 7));
	ASSERT_EQ(1, submit_wait(&ring, self->r.l2, L3L2Q_CTR_OUTPUT_HEAD, 0,
				 FOREVER, 8));
	EXPECT_EQ(2, dbg_num(self->id, "uring_pending"));
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 1);
	ASSERT_EQ(0, do_kick(self->r.l3));
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
	EXPECT_EQ(0, res);
	EXPECT_EQ(7ull, ud);
	EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 100, &res, &ud));
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_HEAD, 1);
	ASSERT_EQ(0, do_kick(self->r.l3));
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
	EXPECT_EQ(0, res);
	EXPECT_EQ(8ull, ud);
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	EXPECT_EQ(3, dbg_num(self->id, "uring_waits"));
	io_uring_queue_exit(&ring);
}

TEST_F(wq, uring_wait_deadline)
{
	struct io_uring ring;
	__u64 t0, dt, ud = 0;
	int res = 1, i;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	t0 = l3l2q_now_ns();
	ASSERT_EQ(1, submit_wait(&ring, self->r.l3, L3L2Q_CTR_INPUT_HEAD, 0,
				 t0 + 300 * MS, 1));
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
	dt = l3l2q_now_ns() - t0;
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_GE(dt, 300 * MS);

	/* Several deadlines on one role's timer, out of order. */
	t0 = l3l2q_now_ns();
	for (i = 0; i < 4; i++)
		ASSERT_EQ(1, submit_wait(&ring, self->r.l3,
					 L3L2Q_CTR_OUTPUT_TAIL, 0,
					 t0 + (__u64)(400 - 100 * i) * MS,
					 (__u64)(10 + i)));
	for (i = 3; i >= 0; i--) {
		ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
		EXPECT_EQ(-ETIMEDOUT, res);
		EXPECT_EQ((__u64)(10 + i), ud);
		EXPECT_GE(l3l2q_now_ns() - t0, (__u64)(400 - 100 * i) * MS);
	}
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	io_uring_queue_exit(&ring);
}

TEST_F(wq, uring_wait_immediate_results)
{
	int res = 1;

	/* Already differs, whatever the deadline. */
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 3);
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 0, FOREVER,
				     &res));
	EXPECT_EQ(0, res);
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 2, 0, &res));
	EXPECT_EQ(0, res);
	/* Deadline 0 or past. */
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 3, 0, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	ASSERT_EQ(0, uring_wait_sync(self->r.l2, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_INPUT_TAIL, 0, 0,
				     l3l2q_now_ns() - 1, &res));
	EXPECT_EQ(-ETIMEDOUT, res);
	/* Bad counter for the role, flags, another command. */
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_INPUT_TAIL, 0, 0, FOREVER,
				     &res));
	EXPECT_EQ(-EINVAL, res);
	ASSERT_EQ(0, uring_wait_sync(self->r.l2, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 0, FOREVER,
				     &res));
	EXPECT_EQ(-EINVAL, res);
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_L2_ABORT, 0, 0, FOREVER, &res));
	EXPECT_EQ(-EINVAL, res);
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 1, 3, FOREVER,
				     &res));
	EXPECT_EQ(-EINVAL, res);
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_KICK,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 3, FOREVER,
				     &res));
	EXPECT_EQ(-ENOTTY, res);
	/* No uring_cmd on the device fd. */
	ASSERT_EQ(0, uring_wait_sync(self->r.dev, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 3, FOREVER,
				     &res));
	EXPECT_LT(res, 0);
	/* Peer dead, counter unchanged: at once. */
	close(self->r.l2);
	self->r.l2 = -1;
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 3, FOREVER,
				     &res));
	EXPECT_EQ(-ECONNRESET, res);
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	EXPECT_EQ(0, dbg_num(self->id, "uring_waits"));
}

/*
 * The payload is read once at issue, from wherever io_uring keeps it: the
 * SQ ring (also with 128-byte SQEs) or its own copy for a command issued
 * from io-wq (IOSQE_ASYNC).  The SQE is scribbled over after the submit.
 */
TEST_F(wq, uring_wait_sqe128_and_async)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int pass, res = 1;
	__u64 ud = 0;

	for (pass = 0; pass < 3; pass++) {
		ASSERT_EQ(0, io_uring_queue_init(4, &ring,
						 pass == 1 ? IORING_SETUP_SQE128 :
						 0));
		sqe = io_uring_get_sqe(&ring);
		ASSERT_NE(NULL, sqe);
		prep_wait(sqe, self->r.l3, L3L2Q_IOC_WAIT, L3L2Q_CTR_OUTPUT_TAIL,
			  0, pass, FOREVER, 100 + pass);
		if (pass == 2)
			sqe->flags |= IOSQE_ASYNC;
		ASSERT_EQ(1, io_uring_submit(&ring));
		memset((char *)sqe + offsetof(struct io_uring_sqe, cmd), 0xff,
		       sizeof(struct l3l2q_wait_args));
		EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 100, &res, &ud));
		EXPECT_EQ(1, dbg_num(self->id, "uring_pending"));
		store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, pass + 1);
		ASSERT_EQ(0, do_kick(self->r.l2));
		ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
		EXPECT_EQ(0, res);
		EXPECT_EQ((__u64)(100 + pass), ud);
		io_uring_queue_exit(&ring);
	}
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
}

TEST_F(wq, uring_poll_add_completes_on_kick)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	__u64 ud = 0;
	int res = 0;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, self->r.l3, POLLIN);
	sqe->user_data = 5;
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 100, &res, &ud));
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
	ASSERT_EQ(0, do_kick(self->r.l2));
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
	EXPECT_EQ(5ull, ud);
	EXPECT_NE(0, res & POLLIN);

	/* And L2 polling for input. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, self->r.l2, POLLIN);
	sqe->user_data = 6;
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 100, &res, &ud));
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 1);
	ASSERT_EQ(0, do_kick(self->r.l3));
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
	EXPECT_EQ(6ull, ud);
	EXPECT_NE(0, res & POLLIN);
	io_uring_queue_exit(&ring);
}

/*
 * A child submits a WAIT on the L3 fd and exits.  Where io_uring cancels
 * commands (6.7+) the exit cancels it at once; on 6.1 the command stays
 * queued.  Either way the exit does not wait for it: its deadline is far
 * beyond the watchdog of this wait.  On 6.1 a change and a kick then
 * complete it, so nothing is left queued for rmmod.  Then the same with
 * the ring closed.
 */
static int reaped_within(pid_t pid, int *status, unsigned int ms)
{
	unsigned int i;

	for (i = 0; i < ms; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		sleep_ms(1);
	}
	return 0;
}

TEST_F_TIMEOUT(wq, uring_wait_of_exiting_task, 600)
{
	int cancels = kernel_cancels_uring_cmd();
	const __u64 never = 3600 * SEC;	/* beyond every watchdog here */
	struct io_uring ring;
	int p[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		child_setup();
		if (io_uring_queue_init(4, &ring, 0))
			_exit(1);
		if (submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				l3l2q_now_ns() + never, 1) != 1)
			_exit(2);
		if (write(p[1], "q", 1) != 1)
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	ASSERT_TRUE(reaped_within(pid, &status, WATCHDOG_MS));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(p[0]);
	if (!cancels) {
		store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
		EXPECT_EQ(0, do_kick(self->r.l2));
	}
	EXPECT_TRUE(dbg_wait_value(self->id, "uring_pending", 0, WATCHDOG_MS));
	EXPECT_EQ(1, dbg_num(self->id, "uring_waits"));

	/* A ring closed with a command queued: the close does not wait. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(1, submit_wait(&ring, self->r.l2, L3L2Q_CTR_INPUT_TAIL, 0,
				 l3l2q_now_ns() + never, 1));
	EXPECT_EQ(1, dbg_num(self->id, "uring_pending"));
	io_uring_queue_exit(&ring);
	if (!cancels) {
		store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 1);
		EXPECT_EQ(0, do_kick(self->r.l3));
	}
	EXPECT_TRUE(dbg_wait_value(self->id, "uring_pending", 0, WATCHDOG_MS));
}

/*
 * Without cancellation (6.1) a queued WAIT never outlives
 * uring_max_wait_ms; with it (6.7+) the parameter does not apply and a
 * WAIT without a deadline stays queued until it is woken.  On 6.1 the
 * caller's own deadline still counts when it is nearer: with the cap far
 * away, a near deadline completes the WAIT (the watchdog catches one that
 * would wait for the cap).
 */
TEST_F_TIMEOUT(wq, uring_wait_cap_policy, 600)
{
	int cancels = kernel_cancels_uring_cmd();
	unsigned long old;
	struct io_uring ring;
	__u64 t0, dt, ud = 0;
	int res = 1;

	ASSERT_EQ(0, read_param("uring_max_wait_ms", &old));
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 500));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	t0 = l3l2q_now_ns();
	ASSERT_EQ(1, submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				 FOREVER, 1));
	if (cancels) {
		/* Past the cap and still queued (a slow machine only makes
		 * this easier to pass, never fail). */
		EXPECT_EQ(-ETIME, vm_get_cqe(&ring, 1200, &res, &ud));
		store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
		EXPECT_EQ(0, do_kick(self->r.l2));
		ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
		EXPECT_EQ(0, res);
	} else {
		ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
		dt = l3l2q_now_ns() - t0;
		EXPECT_EQ(-ETIMEDOUT, res);
		EXPECT_GE(dt, 500 * MS);
		/* A nearer deadline of the caller still wins. */
		ASSERT_EQ(0, write_param("uring_max_wait_ms", 3600000));
		t0 = l3l2q_now_ns();
		ASSERT_EQ(1, submit_wait(&ring, self->r.l3,
					 L3L2Q_CTR_OUTPUT_TAIL, 0,
					 t0 + 100 * MS, 2));
		ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, &ud));
		EXPECT_EQ(-ETIMEDOUT, res);
		EXPECT_GE(l3l2q_now_ns() - t0, 100 * MS);
	}
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, write_param("uring_max_wait_ms", old));
}

/* ---------------------------------------------------------------------- */
/* Peer death                                                             */
/* ---------------------------------------------------------------------- */

struct killer {
	pid_t waiter;		/* act once this thread sleeps in ioctl */
	pid_t child;
	int go_fd;		/* write a byte here, or -1: SIGKILL child */
	int done;		/* it acted */
};

static void *killer_thread(void *arg)
{
	struct killer *k = arg;

	if (!vm_wait_blocked(k->waiter, SYS_ioctl))
		return NULL;
	if (k->go_fd >= 0) {
		if (write(k->go_fd, "g", 1) == 1)
			k->done = 1;
	} else {
		k->done = !kill(k->child, SIGKILL);
	}
	return NULL;
}

/*
 * L2 lives in a child; the parent (L3) has every kind of wait pending -
 * a blocked WAIT, an io_uring WAIT, an eventfd, epoll - when the child
 * closes its L2 fd or is killed.  Each ends because of the death: none
 * has a deadline (or one beyond the watchdog), so only the death (or a
 * hang the harness reports) can end it.
 */
static void peer_death(struct __test_metadata *_metadata,
		       FIXTURE_DATA(wq) *self, int kill9)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct killer k = { .waiter = gettid_(), .go_fd = -1 };
	struct pollfd pfd;
	struct io_uring ring;
	int go[2], efd, ep, res = 1, status;
	pthread_t th;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char c;

		child_setup();
		close(self->r.l3);
		close(go[1]);
		if (read(go[0], &c, 1) == 1)
			close(self->r.l2);
		for (;;)
			pause();
	}
	close(go[0]);
	close(self->r.l2);	/* the child holds the L2 role now */
	self->r.l2 = -1;
	k.child = pid;
	k.go_fd = kill9 ? -1 : go[1];

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, set_eventfd(self->r.l3, efd));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(1, submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				 FOREVER, 1));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->r.l3, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ(0u, poll_mask(self->r.l3) & (POLLHUP | POLLERR));
	EXPECT_EQ(0, efd_read(efd));

	ASSERT_EQ(0, pthread_create(&th, NULL, killer_thread, &k));
	EXPECT_EQ(-ECONNRESET, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				       FOREVER));
	pthread_join(th, NULL);
	ASSERT_EQ(1, k.done);

	/* The io_uring WAIT. */
	ASSERT_EQ(0, vm_get_cqe(&ring, WATCHDOG_MS, &res, NULL));
	EXPECT_EQ(-ECONNRESET, res);
	/* The eventfd. */
	pfd.fd = efd;
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, WATCHDOG_MS));
	EXPECT_GE(efd_read(efd), 1);
	/* poll and epoll. */
	EXPECT_EQ((__u32)(POLLHUP | POLLERR),
		  poll_mask(self->r.l3) & (POLLHUP | POLLERR));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, WATCHDOG_MS));
	EXPECT_EQ((__u32)(EPOLLHUP | EPOLLERR),
		  out.events & (EPOLLHUP | EPOLLERR));

	/* Later waits end at once; published data still comes first. */
	EXPECT_EQ(-ECONNRESET, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				       FOREVER));
	EXPECT_EQ(-ECONNRESET, vm_wait(self->r.l3, L3L2Q_CTR_INPUT_HEAD, 0, 0));
	ASSERT_EQ(0, uring_wait_sync(self->r.l3, L3L2Q_IOC_WAIT,
				     L3L2Q_CTR_OUTPUT_TAIL, 0, 0, FOREVER,
				     &res));
	EXPECT_EQ(-ECONNRESET, res);
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
	EXPECT_EQ(0, vm_wait(self->r.l3, L3L2Q_CTR_OUTPUT_TAIL, 0, FOREVER));
	EXPECT_EQ(0, do_kick(self->r.l3));
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));

	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	io_uring_queue_exit(&ring);
	close(ep);
	close(efd);
	close(go[1]);
}

TEST_F(wq, peer_close_ends_every_wait)
{
	peer_death(_metadata, self, 0);
}

TEST_F(wq, peer_kill9_ends_every_wait)
{
	peer_death(_metadata, self, 1);
}

struct l2_waiter {
	int fd;
	pid_t tid;
	volatile int ready;
	int ret;
};

static void *l2_wait_thread(void *arg)
{
	struct l2_waiter *w = arg;

	w->tid = gettid_();
	__atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
	w->ret = vm_wait(w->fd, L3L2Q_CTR_INPUT_TAIL, 0, FOREVER);
	return NULL;
}

/* The other direction: L3 goes, a WAIT on the L2 fd ends. */
TEST_F(wq, l3_death_ends_l2_wait)
{
	struct l2_waiter w = { .fd = self->r.l2, .ret = 1 };
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, l2_wait_thread, &w));
	while (!__atomic_load_n(&w.ready, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	ASSERT_TRUE(vm_wait_blocked(w.tid, SYS_ioctl));
	munmap(self->r.map, self->r.len);
	self->r.map = MAP_FAILED;
	close(self->r.l3);
	self->r.l3 = -1;
	pthread_join(th, NULL);	/* no deadline: only the death ends it */
	EXPECT_EQ(-ECONNRESET, w.ret);
	EXPECT_EQ((__u32)(POLLHUP | POLLERR),
		  poll_mask(self->r.l2) & (POLLHUP | POLLERR));
}

/* ---------------------------------------------------------------------- */
/* The need-wakeup protocol under stress                                  */
/* ---------------------------------------------------------------------- */

/*
 * Fixed work: round trips of ping-pong, each with a sleep or a race on one
 * side or the other.  Under TCG a round trip with a sleep costs ~1 ms on a
 * quiet host and several on a loaded one; the harness timeouts below are
 * watchdogs many times that, and no time budget cuts a run short.
 */
#define STRESS_ITERS		20000
#define STRESS_OTHER_ITERS	5000
#define STRESS_TIMEOUT		900
/*
 * One wait's deadline: a watchdog far beyond any stall of a busy VM.  A
 * WAIT re-checks its counter, so a lost kick shows as a wait that returns
 * 0 only at its deadline, or (eventfd) times out with the counter moved.
 */
#define STRESS_WAIT_NS		(60 * SEC)

struct side {
	int fd;
	void *ctrl;		/* the region's control block */
	void *ctr;		/* its counter block */
	unsigned int my_wake;	/* my need-wakeup word */
	unsigned int peer_wake;	/* the peer's */
	__u32 my_bit;		/* set while I wait */
	__u32 peer_bit;		/* kick if the peer has it set */
	unsigned int wait_ctr;	/* the counter I wait on */
	unsigned int pub_ctr;	/* the counter I publish */
	struct io_uring *ring;	/* WAIT through io_uring, not the ioctl */
	int efd;		/* or poll() this registered eventfd */
	long sleeps, kicks, timeouts, lost;
};

/* Sleep in poll() on the eventfd, then take its count: like WAIT's res. */
static int efd_wait_one(int efd, __u64 deadline)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	__u64 now = l3l2q_now_ns(), v;
	int n;

	n = poll(&p, 1, deadline > now ? (int)((deadline - now) / MS) + 1 : 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (read(efd, &v, sizeof(v)) != sizeof(v) && errno != EAGAIN)
		return -errno;
	return 0;
}

/* One io_uring WAIT, submitted and reaped: its res. */
static int uring_wait_one(struct io_uring *ring, int fd, __u16 counter,
			  __s32 seen, __u64 deadline)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = submit_wait(ring, fd, counter, seen, deadline, 1);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* Publish, full fence, kick only if the peer asked (uapi P1..P4). */
static void side_publish(struct side *s, __s32 v)
{
	store_ctr(s->ctr, s->pub_ctr, v);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(wake_word(s->ctrl, s->peer_wake),
			    __ATOMIC_RELAXED) & s->peer_bit) {
		do_kick(s->fd);
		s->kicks++;
	}
}

/*
 * Wait until the counter differs from @seen (uapi W1..W5): spin a little,
 * set the bit, fence, re-check, WAIT; re-check on every wake-up.  A
 * -ETIMEDOUT while the counter differs is a lost wakeup: counted, and the
 * run stops there.  Returns 0, or -1 when the run must stop (a lost
 * wakeup, the peer gone, an unexpected error).
 */
static int side_wait(struct side *s, __s32 seen, unsigned int spin)
{
	__u32 *word = wake_word(s->ctrl, s->my_wake);
	__u64 dl;
	unsigned int i;
	int ret = 0, r;

	for (i = 0; i < spin; i++)
		if (load_ctr(s->ctr, s->wait_ctr) != seen)
			return 0;
	__atomic_fetch_or(word, s->my_bit, __ATOMIC_RELAXED);
	for (;;) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (load_ctr(s->ctr, s->wait_ctr) != seen)
			break;
		s->sleeps++;
		dl = l3l2q_now_ns() + STRESS_WAIT_NS;
		if (s->efd >= 0)
			r = efd_wait_one(s->efd, dl);
		else if (s->ring)
			r = uring_wait_one(s->ring, s->fd, (__u16)s->wait_ctr,
					   seen, dl);
		else
			r = vm_wait(s->fd, (__u16)s->wait_ctr, seen, dl);
		if (!r && l3l2q_now_ns() >= dl) {
			/* Slept to the deadline though the counter moved. */
			s->lost++;
			ret = -1;
			break;
		}
		if (r == -ETIMEDOUT) {
			s->timeouts++;
			if (load_ctr(s->ctr, s->wait_ctr) != seen) {
				s->lost++;
				ret = -1;
				break;
			}
		} else if (r && r != -EINTR) {
			ret = -1;
			break;
		}
	}
	__atomic_fetch_and(word, ~s->my_bit, __ATOMIC_RELAXED);
	return ret;
}

/*
 * How long a side spins before it sleeps in round @i: a pseudo-random mix
 * of no spin at all and spins long enough for the peer to answer first,
 * so the bit, the counter and the kick race in every order.
 */
static unsigned int stress_spin(__s32 i, unsigned int salt)
{
	unsigned int x = (unsigned int)i * 2654435761u + salt;

	x ^= x >> 15;
	return (x & 3) == 0 ? 0 : x % 384;
}

/*
 * Ping-pong: the child (L2) publishes output i and waits for the parent
 * (L3) to release it; the parent waits for output i, then releases it.
 * Both sleep in WAIT per the protocol, with a varying spin first so the
 * races between the bit, the counter and the kick get hit from all sides.
 */
enum { VIA_IOCTL, VIA_URING, VIA_EVENTFD };
static const char *const via_name[] = { "ioctl", "io_uring", "eventfd" };

static void stress(struct __test_metadata *_metadata,
		   FIXTURE_DATA(wq) *self, __s32 iters, int via)
{
	int use_uring = via == VIA_URING;
	struct io_uring ring;
	struct side me = {
		.fd = self->r.l3, .ctrl = self->r.map, .ctr = self->ctr,
		.my_wake = L3L2Q_CTRL_L3_WAKE, .peer_wake = L3L2Q_CTRL_L2_WAKE,
		.my_bit = L3L2Q_WAKE_OUTPUT_AVAIL,
		.peer_bit = L3L2Q_WAKE_OUTPUT_SPACE,
		.wait_ctr = L3L2Q_CTR_OUTPUT_TAIL,
		.pub_ctr = L3L2Q_CTR_OUTPUT_HEAD,
		.ring = use_uring ? &ring : NULL,
		.efd = -1,
	};
	int status, report[2];
	long child[4] = { 0 };
	__u64 t0;
	pid_t pid;
	__s32 i;

	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct side s = {
			.fd = self->r.l2,
			.my_wake = L3L2Q_CTRL_L2_WAKE,
			.peer_wake = L3L2Q_CTRL_L3_WAKE,
			.my_bit = L3L2Q_WAKE_OUTPUT_SPACE,
			.peer_bit = L3L2Q_WAKE_OUTPUT_AVAIL,
			.wait_ctr = L3L2Q_CTR_OUTPUT_HEAD,
			.pub_ctr = L3L2Q_CTR_OUTPUT_TAIL,
			.efd = -1,
		};
		long out[4];
		void *m;

		child_setup();
		close(self->r.l3);
		close(report[0]);
		m = mmap(NULL, self->r.len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->r.l2, 0);
		if (m == MAP_FAILED)
			_exit(1);
		s.ctrl = m;
		s.ctr = (char *)m + self->args.off.counter_offset;
		if (use_uring) {
			if (io_uring_queue_init(4, &ring, 0))
				_exit(4);
			s.ring = &ring;
		}
		if (via == VIA_EVENTFD) {
			s.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (s.efd < 0 || set_eventfd(s.fd, s.efd))
				_exit(5);
		}
		for (i = 1; i <= iters; i++) {
			side_publish(&s, i);
			if (side_wait(&s, i - 1, stress_spin(i, 7)))
				break;
		}
		out[0] = s.sleeps;
		out[1] = s.kicks;
		out[2] = s.timeouts;
		out[3] = s.lost;
		if (write(report[1], out, sizeof(out)) != sizeof(out))
			_exit(3);
		_exit(i > iters ? 0 : 2);
	}
	close(report[1]);
	close(self->r.l2);	/* the child's death must end our waits */
	self->r.l2 = -1;

	if (use_uring)
		ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	if (via == VIA_EVENTFD) {
		me.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_GE(me.efd, 0);
		ASSERT_EQ(0, set_eventfd(me.fd, me.efd));
	}
	t0 = l3l2q_now_ns();
	for (i = 1; i <= iters; i++) {
		if (side_wait(&me, i - 1, stress_spin(i, 13)))
			break;
		if (load_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL) != i)
			break;
		side_publish(&me, i);
	}
	EXPECT_EQ(iters + 1, i);
	if (i <= iters)
		kill(pid, SIGKILL);	/* stuck waiting for us: stop it */
	if (read(report[0], child, sizeof(child)) != sizeof(child))
		child[0] = child[1] = child[2] = child[3] = -1;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (i > iters) {
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	TH_LOG("%d of %d round trips (%s) in %llu ms; L3 slept %ld, kicked %ld, timed out %ld, lost %ld; L2 slept %ld, kicked %ld, timed out %ld, lost %ld",
	       i - 1, iters, via_name[via],
	       (unsigned long long)((l3l2q_now_ns() - t0) / MS),
	       me.sleeps, me.kicks, me.timeouts, me.lost,
	       child[0], child[1], child[2], child[3]);
	EXPECT_EQ(0, me.lost);
	EXPECT_EQ(0, child[3]);
	/* The protocol made both sides sleep, and kicks woke them. */
	EXPECT_GT(me.sleeps + child[0], 0);
	close(report[0]);
	if (use_uring)
		io_uring_queue_exit(&ring);
	if (me.efd >= 0)
		close(me.efd);
}

TEST_F_TIMEOUT(wq, stress_need_wakeup_no_lost_wakeup, STRESS_TIMEOUT)
{
	stress(_metadata, self, STRESS_ITERS, VIA_IOCTL);
}

/* The same with both sides waiting through io_uring WAIT commands... */
TEST_F_TIMEOUT(wq, stress_need_wakeup_uring, STRESS_TIMEOUT)
{
	stress(_metadata, self, STRESS_OTHER_ITERS, VIA_URING);
}

/* ...and in poll() on their registered eventfds. */
TEST_F_TIMEOUT(wq, stress_need_wakeup_eventfd, STRESS_TIMEOUT)
{
	stress(_metadata, self, STRESS_OTHER_ITERS, VIA_EVENTFD);
}

TEST_HARNESS_MAIN
