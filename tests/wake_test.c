// SPDX-License-Identifier: MIT
/*
 * Waking instead of spinning over a memfd queue (issue 4, item 5): no lost
 * wake-up under a stress with random pauses, (almost) no system calls in
 * steady streaming, a peer's death waking a sleeper, a sleeper costing no
 * CPU -- once per way of sleeping (tests/wake_common.h, shared with the
 * driver's tests/vm/wakelib_test.c) -- and the need-wakeup bits a role may
 * ask for.
 */
#include "kselftest_harness.h"

#define WK_BACKEND		L3L2Q_BACKEND_MEMFD
#define WK_STEADY_MSGS		1000000ull
/* 10^6 each way: ~5 s a stream here, plain or ASan+UBSan alike (the
 * pauses dominate), up to ~15 s when another process competes for the
 * two CPUs; the watchdog allows forty times that. */
#define WK_STRESS_MSGS		1000000ull
#define WK_STREAM_TIMEOUT	600

#include "wake_common.h"
#include "helpers.h"

/* A small queue and its L2, both in this process. */
static int wk_pair(struct l3l2q_queue **q3, struct l3l2q_queue **q2)
{
	int fd, ret;

	*q3 = wk_create(WK_BACKEND, 4, 256);
	if (!*q3)
		return -ENODEV;
	fd = l3l2q_peer_fd(*q3);
	if (fd < 0)
		return fd;
	ret = l3l2q_attach(fd, NULL, q2, NULL);
	close(fd);
	return ret;
}

static __u32 *wake_ptr(struct l3l2q_queue *q, unsigned int off)
{
	return (__u32 *)((char *)l3l2q_queue_mem(q)->ctrl + off);
}

static __u32 wake_word(struct l3l2q_queue *q, unsigned int off)
{
	return __atomic_load_n(wake_ptr(q, off), __ATOMIC_ACQUIRE);
}

/* L2 publishes @n bytes of @buf (zero copy), without blocking. */
static int l2_send(struct l3l2q_l2 *l2, const void *buf, __u64 n)
{
	struct l3l2q_res res;
	int ret;

	ret = l3l2q_l2_try_reserve(l2, n, &res);
	if (ret)
		return ret;
	memcpy(res.data, buf, n);
	return l3l2q_l2_publish(l2, &res, L3L2Q_OP_DATA);
}

/* Arming number n in a wake word. */
#define ARM(n)	((__u32)(n) << L3L2Q_WAKE_ARM_SHIFT)

/*
 * Each role may only ask to be woken for what its peer moves (uapi: the
 * table of the four waits); anything else is -EINVAL and leaves the word
 * alone.  l3l2q_prep_wait() checks the same.
 */
TEST(want_wakeup_rejects_bits_the_role_may_not_wait_on)
{
	const __u32 l3_ok = L3L2Q_WAKE_INPUT_SPACE | L3L2Q_WAKE_OUTPUT_AVAIL;
	const __u32 l2_ok = L3L2Q_WAKE_INPUT_AVAIL | L3L2Q_WAKE_OUTPUT_SPACE;
	struct l3l2q_queue *q3 = NULL, *q2 = NULL;
	struct l3l2q_ep *e3, *e2;
	struct io_uring_sqe sqe;
	__u64 scratch;

	ASSERT_EQ(0, wk_pair(&q3, &q2));
	e3 = &l3l2q_queue_l3(q3)->ep;
	e2 = &l3l2q_queue_l2(q2)->ep;

	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e3, L3L2Q_WAKE_INPUT_AVAIL));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e3, L3L2Q_WAKE_OUTPUT_SPACE));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e3, l3_ok | L3L2Q_WAKE_INPUT_AVAIL));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e3, 1u << 4));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e3, 0));
	EXPECT_EQ(0u, wake_word(q3, L3L2Q_CTRL_L3_WAKE));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e2, L3L2Q_WAKE_INPUT_SPACE));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e2, L3L2Q_WAKE_OUTPUT_AVAIL));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(e2, 1u << 31));
	EXPECT_EQ(0u, wake_word(q3, L3L2Q_CTRL_L2_WAKE));

	EXPECT_EQ(-EINVAL, l3l2q_prep_wait(&sqe, q3, L3L2Q_WAKE_INPUT_AVAIL,
					   0, &scratch));
	EXPECT_EQ(-EINVAL, l3l2q_prep_wait(&sqe, q2, L3L2Q_WAKE_OUTPUT_AVAIL,
					   0, &scratch));
	EXPECT_EQ(-EINVAL, l3l2q_prep_wait(&sqe, q3, l3_ok, 0, &scratch));
	EXPECT_EQ(0, l3l2q_prep_wait(&sqe, q3, L3L2Q_WAKE_OUTPUT_AVAIL, 0,
				     &scratch));

	/* What is allowed lands in the role's own word, and only there;
	 * each call is arming number 1, 2, ... above the bits. */
	EXPECT_EQ(0, l3l2q_ep_want_wakeup(e3, l3_ok));
	EXPECT_EQ(l3_ok | ARM(1), wake_word(q3, L3L2Q_CTRL_L3_WAKE));
	EXPECT_EQ(0, l3l2q_ep_want_wakeup(e2, l2_ok));
	EXPECT_EQ(l2_ok | ARM(1), wake_word(q3, L3L2Q_CTRL_L2_WAKE));
	l3l2q_ep_clear_wakeup(e3, L3L2Q_WAKE_INPUT_SPACE);
	EXPECT_EQ(L3L2Q_WAKE_OUTPUT_AVAIL | ARM(1),
		  wake_word(q3, L3L2Q_CTRL_L3_WAKE));
	l3l2q_ep_clear_wakeup(e3, l3_ok);
	l3l2q_ep_clear_wakeup(e2, l2_ok);
	EXPECT_EQ(ARM(1), wake_word(q3, L3L2Q_CTRL_L3_WAKE));
	EXPECT_EQ(ARM(1), wake_word(q3, L3L2Q_CTRL_L2_WAKE));
	EXPECT_EQ(0, l3l2q_ep_want_wakeup(e3, L3L2Q_WAKE_INPUT_SPACE));
	EXPECT_EQ(L3L2Q_WAKE_INPUT_SPACE | ARM(2),
		  wake_word(q3, L3L2Q_CTRL_L3_WAKE));

	l3l2q_destroy(q2);
	l3l2q_destroy(q3);
}

/*
 * One kick per arming (uapi): however many messages L2 publishes while L3
 * sleeps on one arming, L3 is kicked once; a new arming is kicked again,
 * and a peer that is not waiting is never kicked.
 */
TEST(one_kick_per_arming)
{
	struct l3l2q_queue *q3, *q2;
	struct l3l2q_l2 *l2;
	struct l3l2q_l3 *l3;
	char b = 'x';
	int i;

	ASSERT_EQ(0, wk_pair(&q3, &q2));
	l3 = l3l2q_queue_l3(q3);
	l2 = l3l2q_queue_l2(q2);

	ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, l2_send(l2, &b, 1));
	EXPECT_EQ(1ull, th_stats(&l2->ep).kicks);
	EXPECT_EQ(2ull, th_stats(&l2->ep).kicks_suppressed);

	/* L3 woke, took one message and sleeps again: a new arming. */
	ASSERT_EQ(0, l3l2q_l3_try_dequeue(l3, &b, 1, NULL));
	ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	ASSERT_EQ(0, l2_send(l2, &b, 1));
	EXPECT_EQ(2ull, th_stats(&l2->ep).kicks);

	/* Not waiting: no kick, whatever the arming. */
	l3l2q_ep_clear_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL);
	ASSERT_EQ(0, l3l2q_l3_try_dequeue(l3, &b, 1, NULL));
	ASSERT_EQ(0, l2_send(l2, &b, 1));
	EXPECT_EQ(2ull, th_stats(&l2->ep).kicks);
	EXPECT_EQ(3ull, th_stats(&l2->ep).kicks_suppressed);

	l3l2q_destroy(q2);
	l3l2q_destroy(q3);
}

/*
 * The seen word: arming stores the counter the waiter had seen (a publish
 * it has already seen must not spend its arming: tests/wakeup.pml shows
 * the lost wake-up), and a publish it has not seen is kicked.
 */
TEST(arming_records_the_counter_seen)
{
	struct l3l2q_queue *q3, *q2;
	struct l3l2q_msg m;
	struct l3l2q_l2 *l2;
	struct l3l2q_l3 *l3;
	char b = 'x';
	__u32 tail;

	ASSERT_EQ(0, wk_pair(&q3, &q2));
	l3 = l3l2q_queue_l3(q3);
	l2 = l3l2q_queue_l2(q2);

	/* L3 sees message 1 (peek), then arms: seen = its tail. */
	ASSERT_EQ(0, l2_send(l2, &b, 1));
	ASSERT_EQ(0, l3l2q_l3_try_peek(l3, &m));
	ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	tail = (__u32)__atomic_load_n((__s32 *)((char *)
		l3l2q_queue_mem(q3)->counters + L3L2Q_CTR_OUTPUT_TAIL),
		__ATOMIC_ACQUIRE);
	EXPECT_EQ(tail, *wake_ptr(q3, L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L3_WAKE,
				  2)));
	/* A new message: the waiter has not seen it, so it is kicked. */
	ASSERT_EQ(0, l2_send(l2, &b, 1));
	EXPECT_EQ(1ull, th_stats(&l2->ep).kicks);

	l3l2q_destroy(q2);
	l3l2q_destroy(q3);
}

/* The arming count wraps past its 28 bits to 1, never to 0 ("none"). */
TEST(arming_count_wraps_to_one)
{
	struct l3l2q_queue *q3, *q2;
	struct l3l2q_l3 *l3;

	ASSERT_EQ(0, wk_pair(&q3, &q2));
	l3 = l3l2q_queue_l3(q3);
	__atomic_store_n(wake_ptr(q3, L3L2Q_CTRL_L3_WAKE),
			 ~0u << L3L2Q_WAKE_ARM_SHIFT, __ATOMIC_RELAXED);
	ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	EXPECT_EQ(L3L2Q_WAKE_OUTPUT_AVAIL | ARM(1),
		  wake_word(q3, L3L2Q_CTRL_L3_WAKE));
	l3l2q_destroy(q2);
	l3l2q_destroy(q3);
}

/* An upstream peer has no control block: no bits, nobody would kick. */
TEST(want_wakeup_without_control_block_is_einval)
{
	struct th_region r;
	struct l3l2q_mem mem;
	struct l3l2q_l3 l3;

	ASSERT_EQ(0, th_region_alloc(&r, 4, 256, 256, 0));
	mem = r.mem;
	mem.ctrl = NULL;
	ASSERT_EQ(0, l3l2q_l3_init(&l3, &mem, &r.layout, 0, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_ep_want_wakeup(&l3.ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	th_region_free(&r);
}

/*
 * The peer is gone (l3l2q_destroy() marked it DEAD and kicked once) and
 * the kick was already taken, as anyone who epolls the eventfd and drains
 * it does.  A blocking call made after that must still end at once with
 * -ECONNRESET (the driver's WAIT does: it checks the peer before it
 * sleeps), not sleep until its deadline -- or for ever with
 * L3L2Q_DEADLINE_NONE, which is what it gets here: a call that does not
 * end is caught by the harness's watchdog, whatever the machine's speed.
 */
FIXTURE(peer) {
	int unused;
};

FIXTURE_SETUP(peer)
{
}

FIXTURE_TEARDOWN(peer)
{
}

TEST_F_TIMEOUT(peer, blocking_call_after_destroy_and_kick_taken_ends,
	       WK_DEATH_TIMEOUT)
{
	struct l3l2q_queue *q3 = NULL, *q2 = NULL;
	unsigned char buf[64];
	struct l3l2q_msg m;

	ASSERT_EQ(0, wk_pair(&q3, &q2));
	l3l2q_destroy(q2);
	/* The kick is there; take it, as an epoll loop does by arming anew
	 * (which also says that the peer is gone). */
	EXPECT_EQ(-ECONNRESET, l3l2q_ep_want_wakeup(&l3l2q_queue_l3(q3)->ep,
						    L3L2Q_WAKE_OUTPUT_AVAIL));
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_dequeue(l3l2q_queue_l3(q3), buf,
						sizeof(buf),
						L3L2Q_DEADLINE_NONE, &m));
	l3l2q_destroy(q3);
}

/*
 * L3 is already asleep in a blocking call when L2 attaches; L2 is then
 * killed with SIGKILL.  The sleeper must notice (the pidfd path), although
 * it went to sleep before there was a peer to watch.  The child looks at
 * L3's arming and process state instead of sleeping for a guessed time:
 * it attaches once L3 sleeps, and dies once L3 sleeps again (re-armed
 * after the kick the attach sends).  No deadline: a sleeper that never
 * notices is caught by the harness's watchdog.
 */
TEST_F_TIMEOUT(peer, l3_asleep_before_attach_notices_sigkill_of_l2,
	       WK_DEATH_TIMEOUT)
{
	struct l3l2q_queue *q = wk_create(WK_BACKEND, 4, 256), *l2q;
	unsigned char buf[64];
	struct l3l2q_msg m;
	__u64 end;
	int fd, ret;
	pid_t pid;

	ASSERT_NE(NULL, q);
	fd = l3l2q_peer_fd(q);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/*
		 * Before the attach there is no mapping to look at: L3's only
		 * system call that sleeps from here on is its wait.
		 */
		end = l3l2q_now_ns() + WK_WAIT_NS;
		while (wk_proc_state(getppid()) != 'S') {
			if (l3l2q_now_ns() > end)
				_exit(3);
			usleep(1000);
		}
		l2q = wk_child_attach(fd);
		if (!l2q)
			_exit(1);
		/* It armed once before; again after the attach's kick. */
		if (wk_await_asleep(l2q, getppid(), L3L2Q_WAKE_OUTPUT_AVAIL, 1))
			_exit(4);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	close(fd);
	ret = l3l2q_l3_dequeue(l3l2q_queue_l3(q), buf, sizeof(buf),
			       L3L2Q_DEADLINE_NONE, &m);
	EXPECT_EQ(128 + SIGKILL, th_wait_child(pid));
	EXPECT_EQ(-ECONNRESET, ret);
	EXPECT_LE(1ull, th_stats(&l3l2q_queue_l3(q)->ep).sleeps);
	l3l2q_destroy(q);
}

/*
 * The value W4 sleeps on is the endpoint's own record of what it saw at
 * W1, never the shared seen word read back (a fuzz finding: the peer can
 * rewrite that word between arming and sleeping).  The clock callback,
 * which runs between the arming and the sleep, plays the hostile peer and
 * scribbles every seen word of L3; the sleep must still get the real
 * counter.  Before the fix it got the scribble.
 */
struct seen_cap {
	struct th_region *r;
	unsigned int sleeps;
	__s32 seen;
	__u32 counter;
};

static __u64 scribbling_now(void *ctx)
{
	struct seen_cap *c = ctx;
	unsigned int i;

	for (i = 0; i < 4; i++)
		__atomic_store_n((__u32 *)((char *)c->r->mem.ctrl +
			L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L3_WAKE, i)),
			0xdead0000u + i, __ATOMIC_RELAXED);
	return l3l2q_now_ns();
}

static int capturing_sleep(void *ctx, __u32 counter, __s32 seen,
			   __u64 deadline_ns)
{
	struct seen_cap *c = ctx;

	(void)deadline_ns;
	c->sleeps++;
	c->seen = seen;
	c->counter = counter;
	return -ETIMEDOUT;
}

static void nothing_kick(void *ctx)
{
	(void)ctx;
}

TEST(sleep_gets_the_armed_seen_from_the_endpoint_not_the_shared_word)
{
	const __u64 start = 0x12345678ull;
	struct seen_cap c = { 0 };
	struct l3l2q_env env = {
		.now_ns = scribbling_now, .sleep = capturing_sleep,
		.kick = nothing_kick, .spin_attempts = 1,
	};
	unsigned char buf[8];
	struct th_region r;
	struct l3l2q_msg m;
	struct l3l2q_l3 l3;

	ASSERT_EQ(0, th_region_alloc(&r, 4, 256, 256, start));
	c.r = &r;
	env.ctx = &c;
	ASSERT_EQ(0, l3l2q_l3_init(&l3, &r.mem, &r.layout, start, &env));
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l3_dequeue(&l3, buf, sizeof(buf),
					       l3l2q_deadline_in(20 * WK_MS),
					       &m));
	ASSERT_LE(1u, c.sleeps);
	EXPECT_EQ((__u32)L3L2Q_CTR_OUTPUT_TAIL, c.counter);
	/* What the endpoint saw: the output tail it started at. */
	EXPECT_EQ(l3l2q_low32(start), c.seen);
	th_region_free(&r);
}

TEST_HARNESS_MAIN
