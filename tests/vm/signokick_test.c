// SPDX-License-Identifier: MIT
/*
 * signokick_test - a signals region (HDMEM) whose notifier never kicks,
 * and the driver's poller that wakes the kernel's signal waiters instead
 * (kmod/l3l2q_poller.c, the signals kind's poll_ready()).
 *
 * The notifier is a process on /dev/l3l2q holding the L2 role, written
 * for the upstream HDMEM ABI only: its feature word lacks
 * L3L2Q_FEAT_KICKS, it stores a slot with a plain release store and never
 * calls SIG_KICK or KICK.  The host (L3) sleeps on it in each of the
 * kernel's ways:
 *
 *   - a blocking SIG_WAIT, any and all, without a deadline or far from
 *     it, returns 0 with the value; an ALL wait is not ended by one slot;
 *   - an eventfd SIG_WATCH fires, a poll watch makes poll() and epoll
 *     report EPOLLIN (and a watch that goes on holding does not make the
 *     poller wake the role again and again);
 *   - a wait whose target is never reached still ends with ETIMEDOUT at
 *     its deadline, and the poller never woke the role for it;
 *   - the peer's abort word (it lives on) and its death end the waits
 *     with ECONNRESET;
 *   - a peer that kicks (KICKS in its word) is never polled for: no tick.
 *
 * The child stores only once the host sleeps (/proc says so), so what
 * ends the wait is the poller, and debugfs' poller_wakes says it was.
 * Deadlines are far or absent: reaching one is the failure; how long a
 * wake-up took is logged, never asserted (TCG's clock proves nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "l3l2q_signals.h"
#include "l3l2q_signals_core.h"
#include "kselftest_harness.h"
#include "libl3l2q_uring.h"
#include "vm_helpers.h"
#include "sig_helpers.h"

#define DEV_PATH	"/dev/l3l2q"
#define COUNT		8u
#define DATA_BYTES	4096ull
#define FOREVER		(~0ull)
#define SEC		1000000000ull

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SEC + (__u64)ts.tv_nsec;
}

/* What an upstream-only notifier does: a release store, nothing more. */
static void set_slot(void *m, const struct l3l2q_sig_layout *l, __u32 id,
		     __u64 v)
{
	__atomic_store_n(slot_of(m, l, id), v, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------------- */
/* Fixture: a signals region; the host holds L3, a child will hold L2     */
/* ---------------------------------------------------------------------- */

/* What the L2 child does once the host sleeps in @blocked_in. */
struct plan {
	long blocked_in;		/* a system call; SYS_poll: any poll */
	int kicks;			/* KICKS in its word, KICK after a store */
	__u32 id[2];
	__u64 value[2];
	unsigned int nr;		/* stores: id[i] = value[i] */
	int partial;			/* after the first store, host still asleep */
	int abort;			/* raise its abort word, then live on */
	int die;			/* exit at once */
	int churn;			/* store 1..churn to id[0], never more */
	unsigned int churn_slots;	/* ...or to slots 0..churn_slots-1 */
};

FIXTURE(snk) {
	int dev, l3, l2;
	void *m3;
	struct l3l2q_sig_layout l;
	unsigned long long id;
	pid_t child;
	unsigned long cap;		/* uring_max_wait_ms to restore, or 0 */
};

FIXTURE_SETUP(snk)
{
	struct l3l2q_peer_args peer = { .fd = -1 };
	struct l3l2q_create_args a;

	self->child = -1;
	self->l2 = -1;
	self->m3 = MAP_FAILED;
	ASSERT_EQ(0, ensure_debugfs());
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev) TH_LOG("is l3l2q.ko loaded?");
	memset(&a, 0, sizeof(a));
	a.kind = L3L2Q_KIND_SIGNALS;
	a.data_bytes = DATA_BYTES;
	a.signal_count = COUNT;
	a.fd = -1;
	ASSERT_EQ(0, ioctl(self->dev, L3L2Q_IOC_CREATE, &a));
	self->l3 = a.fd;
	ASSERT_EQ((int)L3L2Q_SIG_LAYOUT_OK,
		  (int)l3l2q_sig_layout(DATA_BYTES, COUNT, 0, 0, &self->l));
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_PEER, &peer));
	self->l2 = peer.fd;
	ASSERT_LE(0, self->l2);
	self->m3 = mmap(NULL, self->l.total_bytes, PROT_READ | PROT_WRITE,
			MAP_SHARED, self->l3, 0);
	ASSERT_NE(MAP_FAILED, self->m3);
	self->id = fd_queue_id(self->l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
}

FIXTURE_TEARDOWN(snk)
{
	if (self->cap)
		write_param("uring_max_wait_ms", self->cap);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		reap(self->child);
	}
	if (self->m3 != MAP_FAILED)
		munmap(self->m3, self->l.total_bytes);
	if (self->l2 >= 0)
		close(self->l2);
	if (self->l3 >= 0)
		close(self->l3);
	close(self->dev);
}

/*
 * The L2 child: its own mapping of the L2 file (mappings are not
 * inherited), the host's files closed, so that its exit is L2's death.
 * Exit codes above 0 name the step that failed.
 */
static void snk_child(FIXTURE_DATA(snk) *self, const struct plan *p)
{
	pid_t host = getppid();
	unsigned int i;
	__u32 *word;
	void *m;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(self->l3);
	m = mmap(NULL, self->l.total_bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED, self->l2, 0);
	if (m == MAP_FAILED)
		_exit(2);
	word = (__u32 *)((char *)m + L3L2Q_CTRL_L2_FEATURES);
	/* Upstream-only: 0, as the region was made; or a peer that kicks. */
	__atomic_store_n(word, p->kicks ? L3L2Q_FEAT_KICKS : 0,
			 __ATOMIC_RELEASE);
	if (p->blocked_in == SYS_poll ? !wait_blocked_poll(host) :
	    !vm_wait_blocked(host, p->blocked_in))
		_exit(3);
	if (p->die)
		_exit(0);
	if (p->abort) {
		__atomic_store_n((__u32 *)((char *)m + L3L2Q_SIG_CTRL_L2_ABORT),
				 1, __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	for (i = 1; i <= (unsigned int)p->churn; i++) {
		unsigned int k;

		if (!p->churn_slots)
			set_slot(m, &self->l, p->id[0], i);
		for (k = 0; k < p->churn_slots; k++)
			set_slot(m, &self->l, k, i);
		sleep_ms(1);
	}
	for (i = 0; i < p->nr; i++) {
		set_slot(m, &self->l, p->id[i], p->value[i]);
		if (p->kicks && ioctl(self->l2, L3L2Q_IOC_KICK))
			_exit(4);
		if (i == 0 && p->partial) {
			/* Give the poller time to look (not a verdict)... */
			sleep_ms(100);
			/* ...and the host must still be asleep. */
			if (!vm_wait_blocked(host, SYS_ioctl))
				_exit(5);
		}
	}
	for (;;)
		pause();
}

/* Start the L2 child on @p; the host keeps L3 only. */
static int snk_start(FIXTURE_DATA(snk) *self, const struct plan *p)
{
	self->child = fork();
	if (self->child < 0)
		return -1;
	if (self->child == 0)
		snk_child(self, p);
	close(self->l2);
	self->l2 = -1;
	return 0;
}

/* The child is still alive and well (it only exits on a failure). */
static int snk_child_ok(FIXTURE_DATA(snk) *self)
{
	int st;

	return waitpid(self->child, &st, WNOHANG) == 0;
}

/* ---------------------------------------------------------------------- */
/* SIG_WAIT                                                               */
/* ---------------------------------------------------------------------- */

/* Any of two slots, no deadline: woken for the one the child stores. */
TEST_F(snk, wait_any_woken)
{
	struct plan p = { .blocked_in = SYS_ioctl, .nr = 1,
			  .id = { 2 }, .value = { 7 } };
	struct l3l2q_sig_waitv v[2] = {
		{ .id = 1, .cmp = L3L2Q_SIG_CMP_GE, .target = 5 },
		{ .id = 2, .cmp = L3L2Q_SIG_CMP_GE, .target = 7 },
	};
	char st[16];
	__u64 t0 = now_ns();
	int i;

	EXPECT_EQ(0u, load_u32(self->m3, L3L2Q_CTRL_L2_FEATURES));
	ASSERT_EQ(0, snk_start(self, &p));
	EXPECT_EQ(0, sig_wait(self->l3, v, 2, 0, FOREVER));
	TH_LOG("woken after %llu ms", (now_ns() - t0) / 1000000);
	EXPECT_EQ(0ull, v[0].value);
	EXPECT_EQ(0u, v[0].ready);
	EXPECT_EQ(7ull, v[1].value);
	EXPECT_EQ(1u, v[1].ready);
	EXPECT_LT(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_LT(0, dbg_num(self->id, "l3_waiter_wakes"));
	EXPECT_TRUE(snk_child_ok(self));
	/* Nobody waits any more: the poller stops. */
	for (i = 0; i < 10000; i += 10) {
		if (!dbg_str(self->id, "poller", st, sizeof(st)) &&
		    !strcmp(st, "idle"))
			break;
		sleep_ms(10);
	}
	EXPECT_LT(i, 10000);
}

/*
 * An io_uring SIG_WAIT (SQE128 ring), no deadline: completed by the
 * poller, with the value written back.  On 6.1 the module caps a queued
 * command at uring_max_wait_ms (10 s, then -ETIMEDOUT), which a slow VM
 * could reach; the cap is raised to 120 s here, a generous watchdog: a
 * command the poller never completes ends -ETIMEDOUT then, and fails the
 * test without leaving a task that cannot exit.  On 6.7+ there is no cap,
 * and the harness's timeout kills it (io_uring cancels the command).
 */
TEST_F_TIMEOUT(snk, uring_sig_wait_woken, 300)
{
	struct plan p = { .blocked_in = SYS_io_uring_enter, .nr = 1,
			  .id = { 5 }, .value = { 3 } };
	struct l3l2q_sig_waitv v = {
		.id = 5, .cmp = L3L2Q_SIG_CMP_GE, .target = 3,
	};
	struct l3l2q_sig_wait_args a = {
		.waitv = (uintptr_t)&v, .nr = 1, .deadline_ns = FOREVER,
	};
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	unsigned long cap;

	ASSERT_EQ(0, read_param("uring_max_wait_ms", &cap));
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 120000));
	self->cap = cap;
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, IORING_SETUP_SQE128));
	ASSERT_EQ(0, l3l2q_sig_prep_wait(io_uring_get_sqe(&ring), self->l3,
					 &a));
	ASSERT_EQ(1, io_uring_submit(&ring));
	EXPECT_EQ(1, dbg_num(self->id, "l3_kernel_waiters"));
	ASSERT_EQ(0, snk_start(self, &p));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(0, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(3ull, v.value);
	EXPECT_EQ(1u, v.ready);
	EXPECT_LT(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_EQ(0, dbg_num(self->id, "l3_kernel_waiters"));
	EXPECT_TRUE(snk_child_ok(self));
	io_uring_queue_exit(&ring);
}

/*
 * All of two slots, a far deadline: the first store alone does not end
 * it (the child checks that the host still sleeps), the second does.
 */
TEST_F(snk, wait_all_woken)
{
	struct plan p = { .blocked_in = SYS_ioctl, .nr = 2, .partial = 1,
			  .id = { 3, 4 }, .value = { 5, 9 } };
	struct l3l2q_sig_waitv v[2] = {
		{ .id = 3, .cmp = L3L2Q_SIG_CMP_GE, .target = 5 },
		{ .id = 4, .cmp = L3L2Q_SIG_CMP_EQ, .target = 9 },
	};
	__u64 deadline = now_ns() + 600 * SEC;

	ASSERT_EQ(0, snk_start(self, &p));
	EXPECT_EQ(0, sig_wait(self->l3, v, 2, L3L2Q_SIG_WAIT_ALL, deadline));
	EXPECT_GT(deadline, now_ns());
	EXPECT_EQ(5ull, v[0].value);
	EXPECT_EQ(9ull, v[1].value);
	EXPECT_EQ(1u, v[0].ready);
	EXPECT_EQ(1u, v[1].ready);
	EXPECT_LT(0, dbg_num(self->id, "poller_wakes"));
	/* The child saw the host asleep after the first store. */
	EXPECT_TRUE(snk_child_ok(self));
}

/*
 * A target never reached: the values below it keep changing, the wait
 * still ends only at its deadline, and the poller never woke the role.
 */
TEST_F_TIMEOUT(snk, wait_unreached_times_out, 300)
{
	struct plan p = { .blocked_in = SYS_ioctl, .churn = 50,
			  .id = { 5 } };
	struct l3l2q_sig_waitv v = { .id = 5, .cmp = L3L2Q_SIG_CMP_GE,
				     .target = 100 };
	__u64 deadline;

	ASSERT_EQ(0, snk_start(self, &p));
	/* Long enough for the child to see it asleep and store it all. */
	deadline = now_ns() + 3 * SEC;
	EXPECT_EQ(-ETIMEDOUT, sig_wait(self->l3, &v, 1, 0, deadline));
	EXPECT_LE(deadline, now_ns());
	EXPECT_GT(100ull, v.value);
	EXPECT_EQ(0u, v.ready);
	EXPECT_EQ(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_EQ(0, dbg_num(self->id, "l3_waiter_wakes"));
	EXPECT_TRUE(snk_child_ok(self));
	TH_LOG("child stored up to %llu; poller ticks %lld",
	       (unsigned long long)__atomic_load_n(slot_of(self->m3, &self->l,
							   5),
						   __ATOMIC_ACQUIRE),
	       dbg_num(self->id, "poller_ticks"));
}

/* Many sleepers of one role, each its own target on one of 4 slots. */
#define MANY		32u
#define MANY_STEPS	120

struct many {
	int fd;
	unsigned int i;
	int ret;
	struct l3l2q_sig_waitv v;
};

static void *many_fn(void *arg)
{
	struct many *w = arg;

	w->ret = sig_wait(w->fd, &w->v, 1, 0, FOREVER);
	return NULL;
}

/*
 * 32 threads and the host's main thread sleep on slots 0-3, each for its
 * own target; the child raises all four slots step by step to 120, never
 * kicking.  Every wait returns 0 with a value at or past its target: the
 * poller's walk over many waiters wakes each one whose compare holds, and
 * the sleepers it finds ready again before they ran do no harm.
 */
TEST_F(snk, many_sleepers_each_woken)
{
	struct plan p = { .blocked_in = SYS_ioctl, .churn = MANY_STEPS,
			  .churn_slots = 4 };
	static struct many w[MANY + 1];
	pthread_t th[MANY];
	unsigned int i;

	for (i = 0; i <= MANY; i++) {
		w[i].fd = self->l3;
		w[i].i = i;
		w[i].ret = 1;
		w[i].v = (struct l3l2q_sig_waitv){
			.id = i % 4, .cmp = L3L2Q_SIG_CMP_GE,
			.target = 1 + (i * (MANY_STEPS - 1)) / MANY,
		};
	}
	for (i = 0; i < MANY; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, many_fn, &w[i]));
	ASSERT_EQ(0, snk_start(self, &p));
	/* The last, on the main thread, is the one the child waits for. */
	many_fn(&w[MANY]);
	for (i = 0; i < MANY; i++)
		ASSERT_EQ(0, pthread_join(th[i], NULL));
	for (i = 0; i <= MANY; i++) {
		EXPECT_EQ(0, w[i].ret) TH_LOG("sleeper %u", i);
		EXPECT_LE(w[i].v.target, w[i].v.value) TH_LOG("sleeper %u", i);
		EXPECT_EQ(1u, w[i].v.ready) TH_LOG("sleeper %u", i);
	}
	EXPECT_LT(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_EQ(0, dbg_num(self->id, "l3_kernel_waiters"));
	EXPECT_TRUE(snk_child_ok(self));
	TH_LOG("poller: %lld wakes in %lld ticks; sleepers woken %lld times",
	       dbg_num(self->id, "poller_wakes"),
	       dbg_num(self->id, "poller_ticks"),
	       dbg_num(self->id, "l3_waiter_wakes"));
}

/* ---------------------------------------------------------------------- */
/* SIG_WATCH                                                              */
/* ---------------------------------------------------------------------- */

/* An eventfd watch fires once the slot reaches its target, and goes. */
TEST_F(snk, eventfd_watch_fires)
{
	struct plan p = { .blocked_in = SYS_poll, .nr = 1,
			  .id = { 6 }, .value = { 12 } };
	struct pollfd q = { .events = POLLIN };
	__u64 n = 0;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, sig_watch(self->l3, efd, 6, L3L2Q_SIG_CMP_GE, 12, 0));
	EXPECT_EQ(1, dbg_num(self->id, "l3_kernel_waiters"));
	ASSERT_EQ(0, snk_start(self, &p));
	q.fd = efd;
	ASSERT_EQ(1, poll(&q, 1, (int)VM_WATCHDOG_MS));
	EXPECT_EQ(8, read(efd, &n, 8));
	EXPECT_EQ(1ull, n);
	EXPECT_EQ(12ull, __atomic_load_n(slot_of(self->m3, &self->l, 6),
					 __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, dbg_num(self->id, "l3_kernel_waiters"));
	EXPECT_LT(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_TRUE(snk_child_ok(self));
	close(efd);
}

/*
 * A poll watch: poll() (@epoll 0) or epoll_wait() (@epoll 1) sleeping on
 * the role file reports EPOLLIN once the slot reaches the target.  Then
 * the watch goes on holding, and the poller does not wake the role for it
 * again while nobody sleeps.
 */
static void poll_watch_case(struct __test_metadata *_metadata,
			    FIXTURE_DATA(snk) *self, int epoll)
{
	struct plan p = { .blocked_in = SYS_poll, .nr = 1,
			  .id = { 7 }, .value = { 3 } };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pollfd q = { .fd = self->l3, .events = POLLIN };
	long long wakes;
	int ep = -1;

	ASSERT_EQ(0, sig_watch(self->l3, -1, 7, L3L2Q_SIG_CMP_GE, 3, 0));
	ASSERT_EQ(0, poll(&q, 1, 0));
	if (epoll) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, ep);
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->l3, &ev));
	}
	ASSERT_EQ(0, snk_start(self, &p));
	if (epoll) {
		ASSERT_EQ(1, epoll_wait(ep, &out, 1, (int)VM_WATCHDOG_MS));
		EXPECT_NE(0u, out.events & EPOLLIN);
	} else {
		ASSERT_EQ(1, poll(&q, 1, (int)VM_WATCHDOG_MS));
		EXPECT_TRUE(q.revents & POLLIN);
	}
	EXPECT_FALSE(q.revents & (POLLHUP | POLLERR));
	EXPECT_EQ(3ull, __atomic_load_n(slot_of(self->m3, &self->l, 7),
					__ATOMIC_ACQUIRE));
	wakes = dbg_num(self->id, "poller_wakes");
	EXPECT_LT(0, wakes);
	/* The watch holds on: one wake for its edge, not one per tick. */
	sleep_ms(200);
	EXPECT_GE(wakes + 1, dbg_num(self->id, "poller_wakes"));
	q.revents = 0;
	EXPECT_EQ(1, poll(&q, 1, 0));
	EXPECT_TRUE(q.revents & POLLIN);
	EXPECT_TRUE(snk_child_ok(self));
	if (ep >= 0)
		close(ep);
}

TEST_F(snk, poll_watch_poll)
{
	poll_watch_case(_metadata, self, 0);
}

TEST_F(snk, poll_watch_epoll)
{
	poll_watch_case(_metadata, self, 1);
}

/* ---------------------------------------------------------------------- */
/* The peer's end                                                         */
/* ---------------------------------------------------------------------- */

/*
 * The child raises its abort word and lives on, kicking nobody: the
 * poller ends the sleeping SIG_WAIT with ECONNRESET, and poll says
 * HUP|ERR.
 */
TEST_F(snk, peer_abort_ends_wait)
{
	struct plan p = { .blocked_in = SYS_ioctl, .abort = 1 };
	struct l3l2q_sig_waitv v = { .id = 0, .cmp = L3L2Q_SIG_CMP_GE,
				     .target = 1 };
	struct pollfd q = { .events = POLLIN };

	ASSERT_EQ(0, snk_start(self, &p));
	EXPECT_EQ(-ECONNRESET, sig_wait(self->l3, &v, 1, 0, FOREVER));
	EXPECT_EQ(0u, v.ready);
	EXPECT_EQ(1u, load_u32(self->m3, L3L2Q_SIG_CTRL_L2_ABORT));
	EXPECT_LT(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_TRUE(snk_child_ok(self));
	q.fd = self->l3;
	ASSERT_EQ(1, poll(&q, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, q.revents & (POLLHUP | POLLERR));
}

/*
 * The child dies while the host sleeps in SIG_WAIT with an eventfd watch
 * registered: the wait ends with ECONNRESET, the eventfd fires.
 */
TEST_F(snk, peer_death_ends_waits)
{
	struct plan p = { .blocked_in = SYS_ioctl, .die = 1 };
	struct l3l2q_sig_waitv v = { .id = 1, .cmp = L3L2Q_SIG_CMP_GE,
				     .target = 1 };
	__u64 n = 0;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, sig_watch(self->l3, efd, 2, L3L2Q_SIG_CMP_GE, 1, 0));
	ASSERT_EQ(0, snk_start(self, &p));
	EXPECT_EQ(-ECONNRESET, sig_wait(self->l3, &v, 1, 0, FOREVER));
	EXPECT_EQ(0u, v.ready);
	EXPECT_EQ(0, reap(self->child));
	self->child = -1;
	EXPECT_EQ(8, read(efd, &n, 8));
	EXPECT_EQ(1ull, n);
	EXPECT_EQ(0, dbg_num(self->id, "l3_kernel_waiters"));
	close(efd);
}

/* ---------------------------------------------------------------------- */
/* A peer that kicks                                                      */
/* ---------------------------------------------------------------------- */

/* KICKS in its word and a KICK after each store: never a poller tick. */
TEST_F(snk, kicking_peer_not_polled)
{
	struct plan p = { .blocked_in = SYS_ioctl, .kicks = 1, .nr = 2,
			  .partial = 1, .id = { 1, 2 }, .value = { 4, 8 } };
	struct l3l2q_sig_waitv v[2] = {
		{ .id = 1, .cmp = L3L2Q_SIG_CMP_GE, .target = 4 },
		{ .id = 2, .cmp = L3L2Q_SIG_CMP_GE, .target = 8 },
	};

	unsigned int i;

	ASSERT_EQ(0, snk_start(self, &p));
	/* It says it kicks before the host sleeps: never polled for. */
	for (i = 0; i < VM_WATCHDOG_MS; i++) {
		if (load_u32(self->m3, L3L2Q_CTRL_L2_FEATURES) ==
		    L3L2Q_FEAT_KICKS)
			break;
		sleep_ms(1);
	}
	ASSERT_GT(VM_WATCHDOG_MS, i);
	EXPECT_EQ(0, sig_wait(self->l3, v, 2, L3L2Q_SIG_WAIT_ALL, FOREVER));
	EXPECT_EQ(4ull, v[0].value);
	EXPECT_EQ(8ull, v[1].value);
	EXPECT_EQ(0, dbg_num(self->id, "poller_ticks"));
	EXPECT_EQ(0, dbg_num(self->id, "poller_wakes"));
	EXPECT_TRUE(snk_child_ok(self));
}

TEST_HARNESS_MAIN
