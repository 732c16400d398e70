// SPDX-License-Identifier: MIT
/*
 * The signals region between two processes (a forked child plays the
 * other role) with real sleeps: one eventfd per role, as a memfd backing
 * would wake (signals_helpers.h).
 *  - ordering: data written before a notify is seen after a matched wait,
 *    10^6 values through a flow-controlled ring of data blocks;
 *  - no lost wakeup: a ping-pong in which both sides sleep on each other
 *    at random moments, every wait with a generous deadline that only a
 *    lost wake-up could reach; the same with a peer that does not kick;
 *  - a sleeping waiter uses no CPU, and wakes on the kick;
 *  - peer death (killed, or giving up) ends a wait that has no deadline;
 *  - a hostile peer scribbling over the whole region never makes a call
 *    crash, hang or return anything outside its documented results.
 * Fixed work everywhere: no verdict depends on the machine's speed.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "signals_helpers.h"

#define WAIT_NS		(20 * TS_SEC)	/* a watchdog, never a verdict */

/* Slots of the tests. */
#define S_DATA		0	/* the child's data counter */
#define S_ACK		1	/* the parent's consumed counter */
#define S_NEVER		2	/* never notified */
#define S_STATE		3	/* a state word */

FIXTURE(xp)
{
	struct ts_region r;
	struct ts_efd e;
};

FIXTURE_SETUP(xp)
{
	ASSERT_EQ(0, ts_region_make(&self->r, 64 * 16, 4, 0, 0));
	ASSERT_EQ(0, ts_efd_open(&self->e));
	self->e.r = &self->r;
}

FIXTURE_TEARDOWN(xp)
{
	ts_efd_close(&self->e);
	ts_region_free(&self->r);
}

/* A forked child: dies with the test. */
static pid_t child(void)
{
	pid_t pid = fork();

	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	return pid;
}

/* The child's exit status, or 128 + signal; kills it past @deadline. */
static int reap(pid_t pid, __u64 deadline)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		if (r < 0)
			return -1;
		if (ts_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

/* ---- ordering ----------------------------------------------------------- */

#define ORDER_N		1000000ull
#define RING		64		/* data blocks of 16 bytes */

struct block {
	__u64 seq, inv;
};

/*
 * The child (L2) writes block i % RING = {i, ~i} with plain stores, then
 * sets S_DATA to i; before overwriting a block it waits until the parent
 * (L3) has acknowledged it through S_ACK.  The parent waits for S_DATA >=
 * next and checks every block up to what it observed: a block older than
 * its notify would show the previous round's numbers.
 */
TEST_F_TIMEOUT(xp, ordering_data_before_notify_1e6, 600)
{
	struct l3l2q_sig_env env;
	struct l3l2q_sig s;
	struct block b;
	__u64 next = 1, seen, j, bad = 0, deadline = ts_now() + 25 * WAIT_NS;
	pid_t pid;
	int ret = 0;

	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 i;

		env = ts_efd_env(&self->e, L3L2Q_ROLE_L2);
		if (l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &self->r.mem, &self->r.l,
				   &env))
			_exit(10);
		for (i = 1; i <= ORDER_N; i++) {
			if (i > RING &&
			    l3l2q_sig_wait(&s, S_ACK, L3L2Q_SIG_CMP_GE, i - RING,
					   ts_now() + WAIT_NS, NULL))
				_exit(11);
			b.seq = i;
			b.inv = ~i;
			if (l3l2q_sig_write(&s, (i % RING) * sizeof(b), &b,
					    sizeof(b)) ||
			    l3l2q_sig_notify(&s, S_DATA, i))
				_exit(12);
		}
		_exit(0);
	}
	env = ts_efd_env(&self->e, L3L2Q_ROLE_L3);
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &env));
	while (next <= ORDER_N) {
		ret = l3l2q_sig_wait(&s, S_DATA, L3L2Q_SIG_CMP_GE, next,
				     ts_now() + WAIT_NS, &seen);
		if (ret)
			break;
		for (j = next; j <= seen; j++) {
			l3l2q_sig_read(&s, (j % RING) * sizeof(b), &b, sizeof(b));
			if ((b.seq != j || b.inv != ~j) && bad++ < 5)
				TH_LOG("value %llu: block holds %llu/%llx",
				       (unsigned long long)j,
				       (unsigned long long)b.seq,
				       (unsigned long long)b.inv);
		}
		next = seen + 1;
		ASSERT_EQ(0, l3l2q_sig_notify(&s, S_ACK, seen));
	}
	EXPECT_EQ(0, ret);
	EXPECT_EQ(ORDER_N + 1, next);
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(0, reap(pid, deadline));
	TH_LOG("parent: %llu sleeps, %llu kicks sent",
	       (unsigned long long)l3l2q_sig_stats(&s)->sleeps,
	       (unsigned long long)l3l2q_sig_stats(&s)->kicks);
}

/* ---- no lost wakeup ----------------------------------------------------- */

#define PP_ROUNDS	3000

/* A random pause: none, a yield, a short spin or a short sleep. */
static void pause_random(__u64 *rng)
{
	__u64 r = ts_rand(rng);
	volatile unsigned int k;

	switch (r % 4) {
	case 0:
		break;
	case 1:
		sched_yield();
		break;
	case 2:
		for (k = 0; k < (r >> 8) % 20000; k++)
			;
		break;
	default:
		usleep((unsigned int)((r >> 8) % 200));
	}
}

/*
 * One side of the ping-pong: round i, the L2 sets S_STATE = i & 1 (now
 * and then with a blip), then S_DATA = i, and waits for S_ACK >= i; the L3 waits for S_DATA >= i
 * (alone, with wait_any next to a slot that never moves, or after
 * waiting for the state word to flip) and sets S_ACK = i.  Each side spins only 1 to 8 checks, so it sleeps in
 * most rounds; a wake-up lost on either side ends a wait at its deadline.
 */
static int pingpong(struct ts_region *r, struct ts_efd *e, __u32 role,
		    int kicks, __u64 seed, unsigned int rounds)
{
	struct l3l2q_sig_env env = ts_efd_env(e, role);
	struct l3l2q_sig s;
	__u64 rng = seed, i;
	int ret;

	if (!kicks)
		env.kick = NULL;	/* the feature word stays 0 */
	ret = l3l2q_sig_init(&s, role, &r->mem, &r->l, &env);
	if (ret)
		return 100;
	for (i = 1; i <= rounds; i++) {
		s.env.spin_attempts = 1 + (__u32)(ts_rand(&rng) % 8);
		pause_random(&rng);
		if (role == L3L2Q_ROLE_L2) {
			/*
			 * The state word first: it flips once per round, now
			 * and then with a blip through 2 (a waiter woken for
			 * i & 1 may find 2 and must arm anew to be kicked
			 * for the i & 1 that stays).
			 */
			ret = l3l2q_sig_notify(&s, S_STATE, i & 1);
			if (!ret && ts_rand(&rng) % 4 == 0) {
				pause_random(&rng);
				ret = l3l2q_sig_notify(&s, S_STATE, 2);
				pause_random(&rng);
				if (!ret)
					ret = l3l2q_sig_notify(&s, S_STATE,
							       i & 1);
			}
			if (!ret)
				ret = l3l2q_sig_notify(&s, S_DATA, i);
			if (!ret)
				ret = l3l2q_sig_wait(&s, S_ACK, L3L2Q_SIG_CMP_GE,
						     i, ts_now() + WAIT_NS, NULL);
		} else {
			struct l3l2q_sig_waitv v[2] = {
				{ .id = S_NEVER, .cmp = L3L2Q_SIG_CMP_GE,
				  .target = 1 },
				{ .id = S_DATA, .cmp = L3L2Q_SIG_CMP_GE,
				  .target = i },
			};

			switch (i % 3) {
			case 0:
				ret = l3l2q_sig_wait(&s, S_DATA,
						     L3L2Q_SIG_CMP_GE, i,
						     ts_now() + WAIT_NS, NULL);
				break;
			case 1:
				ret = l3l2q_sig_wait_any(&s, v, 2,
							 ts_now() + WAIT_NS);
				ret = ret == 1 ? 0 : ret ? ret : -EPROTO;
				break;
			default:
				/*
				 * The state word of round i (the L2 is at
				 * round i - 1 or i), then the data.
				 */
				ret = l3l2q_sig_wait(&s, S_STATE,
						     L3L2Q_SIG_CMP_EQ, i & 1,
						     ts_now() + WAIT_NS, NULL);
				if (!ret)
					ret = l3l2q_sig_wait(&s, S_DATA,
							     L3L2Q_SIG_CMP_GE,
							     i, ts_now() + WAIT_NS,
							     NULL);
			}
			if (!ret)
				ret = l3l2q_sig_notify(&s, S_ACK, i);
		}
		if (ret) {
			fprintf(stderr, "# %s round %llu: %d (%s)\n",
				role == L3L2Q_ROLE_L2 ? "L2" : "L3",
				(unsigned long long)i, ret,
				l3l2q_sig_last_error(&s)->message);
			return 1 + (int)(i % 50);	/* the failing round, roughly */
		}
	}
	return 0;
}

static void run_pingpong(struct __test_metadata *_metadata,
			 struct ts_region *r, struct ts_efd *e, int kicks,
			 unsigned int rounds)
{
	__u64 deadline = ts_now() + 10 * WAIT_NS;
	pid_t pid;
	int ret;

	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pingpong(r, e, L3L2Q_ROLE_L2, kicks, 0x9e3779b97f4a7c15ull,
			       rounds));
	ret = pingpong(r, e, L3L2Q_ROLE_L3, kicks, 0xd1b54a32d192ed03ull, rounds);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(0, reap(pid, deadline));
	EXPECT_EQ(rounds, atomic_load(ts_slot(r, S_ACK)));
	EXPECT_EQ(rounds, atomic_load(ts_slot(r, S_DATA)));
	TH_LOG("%u rounds; L3 eventfd woken %lu times", rounds, e->wakes);
}

TEST_F_TIMEOUT(xp, no_lost_wakeup_under_random_pauses, 600)
{
	run_pingpong(_metadata, &self->r, &self->e, 1, PP_ROUNDS);
}

/* A peer without L3L2Q_FEAT_KICKS: sleeps are bounded, nothing is lost. */
TEST_F_TIMEOUT(xp, no_lost_wakeup_with_a_peer_that_never_kicks, 600)
{
	run_pingpong(_metadata, &self->r, &self->e, 0, PP_ROUNDS / 10);
}

/* ---- a sleeper uses no CPU ---------------------------------------------- */

static __u64 thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (__u64)ts.tv_sec * TS_SEC + (__u64)ts.tv_nsec;
}

/*
 * The child attaches (its role kicks) and notifies once after 300 ms; the
 * parent waits for that, then for a value that never comes until its 1 s
 * deadline.  Both waits sleep: under 100 ms of CPU for 1.3 s of waiting,
 * where a spinning waiter would use all of it.
 */
TEST_F_TIMEOUT(xp, sleeping_waiter_uses_no_cpu, 120)
{
	struct l3l2q_sig_env env;
	struct l3l2q_sig s;
	__u64 t0, c0, c1, wall, seen = 0, deadline = ts_now() + WAIT_NS;
	pid_t pid;
	int ret;

	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		env = ts_efd_env(&self->e, L3L2Q_ROLE_L2);
		if (l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &self->r.mem, &self->r.l,
				   &env))
			_exit(10);
		usleep(300000);
		if (l3l2q_sig_notify(&s, S_DATA, 1))
			_exit(11);
		/* Stay alive until the parent has timed out. */
		if (l3l2q_sig_wait(&s, S_ACK, L3L2Q_SIG_CMP_GE, 1,
				   ts_now() + WAIT_NS, NULL))
			_exit(12);
		_exit(0);
	}
	env = ts_efd_env(&self->e, L3L2Q_ROLE_L3);
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &env));
	/* Wait for the child's attach: its feature word promises kicks. */
	while (!(atomic_load(ts_ctrl32(&self->r, L3L2Q_CTRL_L2_FEATURES)) &
		 L3L2Q_FEAT_KICKS) && ts_now() < deadline)
		usleep(1000);
	t0 = ts_now();
	c0 = thread_cpu_ns();
	ret = l3l2q_sig_wait(&s, S_DATA, L3L2Q_SIG_CMP_GE, 1, deadline, &seen);
	EXPECT_EQ(0, ret);
	EXPECT_EQ(1u, seen);
	EXPECT_LE(1u, l3l2q_sig_stats(&s)->sleeps);	/* it slept, was kicked */
	ret = l3l2q_sig_wait(&s, S_DATA, L3L2Q_SIG_CMP_GE, 2,
			     ts_now() + TS_SEC, &seen);
	c1 = thread_cpu_ns();
	wall = ts_now() - t0;
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_EQ(1u, seen);
	EXPECT_LE(TS_SEC, wall);
	EXPECT_GT(100 * TS_MS, c1 - c0);
	TH_LOG("%llu ms waiting on %llu us of CPU, %llu sleeps",
	       (unsigned long long)(wall / TS_MS),
	       (unsigned long long)((c1 - c0) / 1000),
	       (unsigned long long)l3l2q_sig_stats(&s)->sleeps);
	ASSERT_EQ(0, l3l2q_sig_notify(&s, S_ACK, 1));
	EXPECT_EQ(0, reap(pid, deadline + WAIT_NS));
}

/* ---- death ----------------------------------------------------------------- */

/*
 * A peer killed while the parent sleeps with no deadline: the sleep sees
 * the death (pidfd), marks the role dead, and the wait ends with
 * -ECONNRESET; a value published before the death is still seen.
 */
TEST_F_TIMEOUT(xp, killed_peer_ends_a_wait_without_deadline, 120)
{
	struct l3l2q_sig_env env;
	struct l3l2q_sig s;
	struct l3l2q_sig_waitv v[2] = {
		{ .id = S_NEVER, .cmp = L3L2Q_SIG_CMP_GE, .target = 1 },
		{ .id = S_STATE, .cmp = L3L2Q_SIG_CMP_EQ, .target = 9 },
	};
	pid_t pid;

	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		env = ts_efd_env(&self->e, L3L2Q_ROLE_L2);
		if (l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &self->r.mem, &self->r.l,
				   &env))
			_exit(10);
		l3l2q_sig_notify(&s, S_DATA, 42);
		usleep(200000);
		raise(SIGKILL);
		_exit(11);
	}
	self->e.pidfd = ts_pidfd_open(pid);
	ASSERT_LE(0, self->e.pidfd);
	env = ts_efd_env(&self->e, L3L2Q_ROLE_L3);
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &env));
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait_any(&s, v, 2, L3L2Q_DEADLINE_NONE));
	EXPECT_EQ((__u32)L3L2Q_ERR_REMOTE_ABORTED, l3l2q_sig_last_error(&s)->kind);
	EXPECT_EQ(128 + SIGKILL, reap(pid, ts_now() + WAIT_NS));
	EXPECT_EQ(L3L2Q_ROLE_DEAD, atomic_load(ts_ctrl32(&self->r,
							 L3L2Q_CTRL_L2_STATE)));
	EXPECT_EQ(0, l3l2q_sig_wait(&s, S_DATA, L3L2Q_SIG_CMP_GE, 42,
				    L3L2Q_DEADLINE_NONE, NULL));
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(&s, S_DATA, L3L2Q_SIG_CMP_GE, 43,
					      L3L2Q_DEADLINE_NONE, NULL));
}

/* A peer that gives up raises its abort word and kicks on its way out. */
TEST_F_TIMEOUT(xp, peer_that_gives_up_ends_a_wait, 120)
{
	struct l3l2q_sig_env env;
	struct l3l2q_sig s;
	pid_t pid;

	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		env = ts_efd_env(&self->e, L3L2Q_ROLE_L2);
		if (l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &self->r.mem, &self->r.l,
				   &env))
			_exit(10);
		usleep(200000);
		l3l2q_sig_abort(&s);
		ts_efd_kick(&self->e, L3L2Q_ROLE_L3, S_DATA);
		_exit(0);
	}
	env = ts_efd_env(&self->e, L3L2Q_ROLE_L3);
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &env));
	/* Its feature word first, so that the sleep is not a bounded one. */
	while (!atomic_load(ts_ctrl32(&self->r, L3L2Q_CTRL_L2_FEATURES)))
		usleep(1000);
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(&s, S_DATA, L3L2Q_SIG_CMP_GE, 1,
					      L3L2Q_DEADLINE_NONE, NULL));
	EXPECT_STREQ("the peer raised its abort word",
		     l3l2q_sig_last_error(&s)->message);
	EXPECT_LE(1u, l3l2q_sig_stats(&s)->sleeps);
	EXPECT_EQ(0, reap(pid, ts_now() + WAIT_NS));
}

/* ---- a hostile peer ------------------------------------------------------- */

#define HOSTILE_CALLS	20000
#define HOSTILE_WRITES	400000

/* Random 8-byte stores anywhere in the region, a fixed number of them. */
static void scribble(struct ts_region *r, __u64 seed, unsigned long n)
{
	__u64 rng = seed, words = r->l.total_bytes / 8;
	unsigned long i;

	for (i = 0; i < n; i++) {
		__u64 x = ts_rand(&rng), at = ts_rand(&rng) % words;

		/* Half the time a small value: plausible ids, states, arms. */
		if (x & 1)
			x = (x >> 1) % 8;
		atomic_store_explicit((_Atomic __u64 *)r->base + at, x,
				      memory_order_relaxed);
	}
}

static int allowed(int ret)
{
	return ret >= 0 || ret == -EAGAIN || ret == -EINVAL ||
	       ret == -ETIMEDOUT || ret == -ECONNRESET;
}

/* One random call; 0 if its result is one it may return. */
static int hostile_call(struct l3l2q_sig *s, __u64 *rng)
{
	struct l3l2q_sig_waitv v[4];
	unsigned char buf[96];
	__u64 x = ts_rand(rng), y = ts_rand(rng), out;
	__u32 id = (__u32)(x % 6), n = 1 + (__u32)(y % 4), i;
	__u64 soon = ts_now() + 50000;
	int ret;

	for (i = 0; i < 4; i++) {
		v[i].id = (__u32)((x >> (8 * i)) % 6);
		v[i].cmp = (__u32)((y >> (4 * i)) % 5);
		v[i].target = ts_rand(rng) % 16;
	}
	switch ((x >> 40) % 10) {
	case 0:
		ret = l3l2q_sig_notify(s, id, y % 16);
		break;
	case 1:
		ret = l3l2q_sig_notify_add(s, id, y % 3, &out);
		break;
	case 2:
		ret = l3l2q_sig_notify_monotonic(s, id, y);
		break;
	case 3:
		ret = l3l2q_sig_try_wait(s, id, (__u32)(y % 5), x % 16, &out);
		break;
	case 4:
		ret = l3l2q_sig_wait(s, id, (__u32)(y % 5), x % 16, soon, &out);
		break;
	case 5:
		ret = l3l2q_sig_wait_any(s, v, n, soon);
		break;
	case 6:
		ret = l3l2q_sig_wait_all(s, v, n, soon);
		break;
	case 7:
		ret = l3l2q_sig_write(s, y % 1100, buf, x % 97);
		break;
	case 8:
		ret = l3l2q_sig_read(s, y % 1100, buf, x % 97);
		break;
	default:
		ret = l3l2q_sig_arm(s, v, n);
		if (!ret)
			l3l2q_sig_disarm(s, v, n);
	}
	return allowed(ret) ? 0 : ret;
}

/*
 * A child scribbles over the whole region - control block, both waiter
 * tables, the HDMEM header, slots and data - while the parent makes a
 * fixed number of random calls with short deadlines.  No call may crash
 * (ASan watches the suite's second build), hang, or return anything else
 * than its documented results.
 */
TEST_F_TIMEOUT(xp, hostile_peer_garbage_everywhere, 600)
{
	struct l3l2q_sig_env env;
	struct l3l2q_sig s;
	__u64 rng = 12345;
	unsigned int i, bad = 0;
	pid_t pid;

	env = ts_efd_env(&self->e, L3L2Q_ROLE_L3);
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &env));
	s.env.spin_attempts = 4;
	pid = child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		scribble(&self->r, 777, HOSTILE_WRITES);
		_exit(0);
	}
	for (i = 0; i < HOSTILE_CALLS; i++) {
		int ret = hostile_call(&s, &rng);

		if (ret && bad++ < 5)
			TH_LOG("call %u returned %d", i, ret);
	}
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(0, reap(pid, ts_now() + 10 * WAIT_NS));
	/* And once more on what it left, alone. */
	for (i = 0; i < HOSTILE_CALLS / 10; i++)
		EXPECT_EQ(0, hostile_call(&s, &rng));
}

/* Garbage before attaching: init refuses it or binds; either way calls are safe. */
TEST_F_TIMEOUT(xp, hostile_region_before_attach, 300)
{
	struct l3l2q_sig_env env = ts_efd_env(&self->e, L3L2Q_ROLE_L2);
	struct l3l2q_sig s;
	__u64 rng = 99;
	unsigned int round, i, bound = 0;

	for (round = 0; round < 200; round++) {
		/* Keep the headers intact now and then, so init can bind. */
		scribble(&self->r, round, 64);
		if (round % 2)
			ASSERT_EQ(0, l3l2q_sig_region_init(&self->r.mem,
							   &self->r.l, 0));
		if (round % 4 == 1)
			scribble(&self->r, round + 1000, 32);
		if (l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &self->r.mem, &self->r.l,
				   &env)) {
			EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_notify(&s, 0, 1));
			continue;
		}
		bound++;
		s.env.spin_attempts = 2;
		for (i = 0; i < 20; i++)
			EXPECT_EQ(0, hostile_call(&s, &rng));
	}
	EXPECT_LT(0u, bound);
}

TEST_HARNESS_MAIN
