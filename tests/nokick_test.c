// SPDX-License-Identifier: MIT
/*
 * Peers that never kick (issue 10, item 3, the library's part): an L2 that
 * does not take part in the need-wakeup protocol -- lib/core run with
 * env.kick == NULL, or with no control block at all (mem.ctrl == NULL, as
 * device code written for the upstream ABI) -- leaves its feature word
 * without L3L2Q_FEAT_KICKS.  A memfd L3 in the default blocking calls with
 * L3L2Q_DEADLINE_NONE must then poll in bounded steps (L3L2Q_POLL_MIN_NS
 * doubling to L3L2Q_POLL_MAX_NS) instead of sleeping for ever while the
 * answer is in the ring; and it must notice such a peer dying or aborting
 * while it sleeps within one step, not at its (absent) deadline.
 *
 * Each stream is 10^5 round trips, one message in flight, so that every
 * answer is waited for; the log records the p50/p99/max of those waits.
 * No verdict depends on them: only that everything arrives, intact.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "helpers.h"
#include "libl3l2q.h"
#include "streamer.h"

#define SEC		1000000000ull
#define NK_MSGS		100000ull
#define NK_MAX		64ull

/* The L2: lib/core on the queue's mapping, never kicking, never sleeping. */
struct nk_l2 {
	struct l3l2q_l2 l2;
	struct l3l2q_mem mem;
	struct l3l2q_layout layout;
	__u64 total;
	_Atomic int stop;
	int ret;
	__u64 answered;
	int poison_after;		/* 0: never; else poison after that many */
	int pause_every;		/* answer late, one message in this many */
	int silent_after;		/* 0: never; else say nothing more */
};

static __u64 nk_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

static void nk_relax(void *ctx)
{
	(void)ctx;
	sched_yield();
}

/* Echo: each input back as an output of the same bytes. */
static int nk_serve(struct nk_l2 *x)
{
	struct l3l2q_msg m;
	struct l3l2q_res r;
	int ret;

	while (!atomic_load(&x->stop)) {
		ret = l3l2q_l2_try_peek(&x->l2, &m);
		if (ret == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (ret)
			return ret;
		if (m.opcode == L3L2Q_OP_STOP)
			return l3l2q_l2_release(&x->l2, &m);
		/* Now and then late, so that the L3 gives up spinning. */
		if (x->pause_every && !(mix(x->answered) % x->pause_every))
			usleep((useconds_t)(mix(~x->answered) % 200 + 1));
		if (x->silent_after && x->answered == (__u64)x->silent_after)
			return -ETIME;
		if (x->poison_after && x->answered == (__u64)x->poison_after) {
			/* A wrong handle: poison, the abort flag raised. */
			m.seq += 1000;
			return l3l2q_l2_release(&x->l2, &m);
		}
		do {
			ret = l3l2q_l2_try_reserve(&x->l2, m.nbytes, &r);
		} while (ret == -EAGAIN && !atomic_load(&x->stop));
		if (ret)
			return ret;
		if (m.nbytes)
			memcpy(r.data, m.data, m.nbytes);
		ret = l3l2q_l2_publish(&x->l2, &r, L3L2Q_OP_DATA);
		if (!ret)
			ret = l3l2q_l2_release(&x->l2, &m);
		if (ret)
			return ret;
		x->answered++;
	}
	return -EINTR;
}

static void *nk_thread(void *arg)
{
	struct nk_l2 *x = arg;

	x->ret = nk_serve(x);
	return NULL;
}

/* Bind the never-kicking L2 on @q's region; @no_ctrl: as upstream code. */
static int nk_bind(struct nk_l2 *x, struct l3l2q_queue *q, int no_ctrl)
{
	struct l3l2q_env env = { .now_ns = nk_now, .relax = nk_relax };

	x->mem = *l3l2q_queue_mem(q);
	x->layout = *l3l2q_queue_layout(q);
	if (no_ctrl)
		x->mem.ctrl = NULL;
	return l3l2q_l2_init(&x->l2, &x->mem, &x->layout, 0, 1, &env);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * 10^5 round trips with the default blocking calls and no deadline: all
 * answers intact; the waits' distribution is logged.
 */
static void nk_stream(struct __test_metadata *_metadata, int no_ctrl)
{
	struct l3l2q_queue *q = stream_create(L3L2Q_BACKEND_MEMFD, 16, 4096,
					      4096, 0);
	unsigned char out[NK_MAX], in[NK_MAX];
	struct nk_l2 *x = calloc(1, sizeof(*x));
	struct l3l2q_stats st;
	struct l3l2q_msg m;
	struct l3l2q_l3 *l3;
	pthread_t tid;
	__u64 i, n, t0, *wait = malloc(NK_MSGS * sizeof(*wait));

	ASSERT_NE(NULL, q);
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, wait);
	ASSERT_EQ(0, nk_bind(x, q, no_ctrl));
	x->pause_every = 8;
	l3 = l3l2q_queue_l3(q);
	/* It says nothing about kicking: L3 must not count on kicks. */
	EXPECT_EQ(0u, *(__u32 *)((char *)l3l2q_queue_mem(q)->ctrl +
				 L3L2Q_CTRL_L2_FEATURES));
	ASSERT_EQ(0, pthread_create(&tid, NULL, nk_thread, x));
	for (i = 0; i < NK_MSGS; i++) {
		n = msg_size(DIR_IN, i, NK_MAX);
		msg_fill(DIR_IN, i, out, n);
		ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, out, n,
					      L3L2Q_DEADLINE_NONE));
		t0 = l3l2q_now_ns();
		ASSERT_EQ(0, l3l2q_l3_dequeue(l3, in, sizeof(in),
					      L3L2Q_DEADLINE_NONE, &m))
			TH_LOG("message %llu", (unsigned long long)i);
		wait[i] = l3l2q_now_ns() - t0;
		ASSERT_EQ(n, m.nbytes);
		ASSERT_EQ(0, msg_check(DIR_IN, i, in, n))
			TH_LOG("message %llu", (unsigned long long)i);
	}
	ASSERT_EQ(0, l3l2q_l3_request_stop(l3, L3L2Q_DEADLINE_NONE));
	pthread_join(tid, NULL);
	EXPECT_EQ(0, x->ret);
	EXPECT_EQ(NK_MSGS, x->answered);
	ASSERT_EQ(0, l3l2q_ep_stats(&l3->ep, &st));
	qsort(wait, NK_MSGS, sizeof(*wait), cmp_u64);
	TH_LOG("%llu round trips, no kick from the L2 (%s): wait p50 %llu us, "
	       "p99 %llu us, max %llu us; %llu sleeps in the library",
	       (unsigned long long)NK_MSGS,
	       no_ctrl ? "no control block" : "env.kick NULL",
	       (unsigned long long)wait[NK_MSGS / 2] / 1000,
	       (unsigned long long)wait[NK_MSGS * 99 / 100] / 1000,
	       (unsigned long long)wait[NK_MSGS - 1] / 1000,
	       (unsigned long long)st.sleeps);
	/* It did sleep (the point), and was woken by nobody but itself. */
	EXPECT_LT(0ull, st.sleeps);
	free(wait);
	free(x);
	l3l2q_destroy(q);
}

FIXTURE(nk) {
	int unused;
};

FIXTURE_SETUP(nk)
{
}

FIXTURE_TEARDOWN(nk)
{
}

TEST_F_TIMEOUT(nk, l2_with_env_kick_null_streams_1e5_with_deadline_none, 1800)
{
	nk_stream(_metadata, 0);
}

TEST_F_TIMEOUT(nk, l2_without_control_block_streams_1e5_with_deadline_none, 1800)
{
	nk_stream(_metadata, 1);
}

/*
 * An L2 process that attached through the library (so the L3 holds its
 * pidfd) but then serves with lib/core alone and says it does not kick:
 * it answers 100 messages, then is killed (@how SIGKILL) or poisons its
 * endpoint (@how 0) while the L3 sleeps in a dequeue with no deadline.
 * The L3 hears of it: -ECONNRESET instead of sleeping for ever (the time
 * it took is logged; the harness's generous limit is the watchdog).
 */
static void nk_gone(struct __test_metadata *_metadata, int how)
{
	struct l3l2q_queue *q = stream_create(L3L2Q_BACKEND_MEMFD, 16, 4096,
					      4096, 0), *q2;
	unsigned char buf[NK_MAX];
	struct l3l2q_msg m;
	struct l3l2q_l3 *l3;
	__u64 i, t0, ns;
	int fd, ret, said[2];
	pid_t pid;
	char c;

	ASSERT_NE(NULL, q);
	l3 = l3l2q_queue_l3(q);
	fd = l3l2q_peer_fd(q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(said));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct nk_l2 *x = calloc(1, sizeof(*x));

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(said[0]);
		if (!x || l3l2q_attach(fd, NULL, &q2, NULL))
			_exit(10);
		/* Firmware that does not kick: its feature word says so. */
		__atomic_store_n((__u32 *)((char *)l3l2q_queue_mem(q2)->ctrl +
					   L3L2Q_CTRL_L2_FEATURES), 0,
				 __ATOMIC_RELEASE);
		if (write(said[1], "0", 1) != 1)
			_exit(13);
		close(said[1]);
		if (nk_bind(x, q2, 0))
			_exit(11);
		/* Poison at the 101st input, or stop answering there. */
		if (how)
			x->silent_after = 100;
		else
			x->poison_after = 100;
		x->ret = nk_serve(x);
		if (x->ret == (how ? -ETIME : -EPROTO))
			pause();	/* alive, saying nothing more */
		_exit(12);
	}
	close(fd);
	close(said[1]);
	/*
	 * The attach announced L3L2Q_FEAT_KICKS for a moment: an L3 asleep
	 * then would count on kicks this peer never sends (firmware never
	 * announces it).  Start once the word says so.
	 */
	ASSERT_EQ(1, read(said[0], &c, 1));
	close(said[0]);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, 8,
					      L3L2Q_DEADLINE_NONE));
		ASSERT_EQ(0, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
					      L3L2Q_DEADLINE_NONE, &m));
	}
	/* The 101st input: nothing comes back. */
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, 8,
				      L3L2Q_DEADLINE_NONE));
	if (how && fork() == 0) {
		/* Killed once the L3 sleeps; it wakes on the L2's pidfd. */
		usleep(200000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	t0 = l3l2q_now_ns();
	ret = l3l2q_l3_dequeue(l3, buf, sizeof(buf), L3L2Q_DEADLINE_NONE, &m);
	ns = l3l2q_now_ns() - t0;
	TH_LOG("%s: the L3 heard %d after %llu us",
	       how ? "SIGKILL" : "poison", ret, (unsigned long long)ns / 1000);
	/*
	 * No deadline: not hearing of it would hang until the harness's
	 * watchdog; how soon it heard is logged above, not judged.
	 */
	EXPECT_EQ(-ECONNRESET, ret);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	l3l2q_destroy(q);
}

TEST_F_TIMEOUT(nk, sigkill_of_a_non_kicking_l2_ends_a_wait_without_deadline, 600)
{
	nk_gone(_metadata, SIGKILL);
}

TEST_F_TIMEOUT(nk, poison_of_a_non_kicking_l2_ends_a_wait_without_deadline, 600)
{
	nk_gone(_metadata, 0);
}

TEST_HARNESS_MAIN
