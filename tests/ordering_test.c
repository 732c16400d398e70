// SPDX-License-Identifier: MIT
/*
 * The user-space accessors of lib/core/atomic.h on memory shared between
 * processes, the way the queue uses them: a MAP_SHARED mapping, a state
 * word published with a release store and read with an acquire load, and
 * a payload written plainly before it.
 *
 * Mirrors upstream's mailbox-atomics tests (the fix "Python-side
 * acquire/release on mailbox state"): a consumer that sees the new state
 * must also see everything written before it.  On x86 the hardware keeps
 * that order anyway, so there these tests catch the compiler reordering or
 * tearing an access; on arm64 they exercise ldar/stlr as well.
 *
 * Every wait is bounded by a deadline, so a lost store fails the test
 * instead of hanging it.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "kselftest_harness.h"

/*
 * The harness's 30 s per test is a speed limit, not a watchdog, for these
 * spinning multi-thread and cross-process tests under qemu-user
 * (tests/aarch64_check.sh) on a loaded machine.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	600
#include "libl3l2q.h"

/* The mailbox layout the tests share. */
#define MB_BYTES	4096
#define MB_OFF_STATE	0	/* __s32, release/acquire */
#define MB_OFF_PAYLOAD	8	/* __u64, written plainly before the state */
#define MB_OFF_ACK	64	/* __s32, the other side's reply, own line */

/*
 * A watchdog for one handshake (and for reaping a child), not a limit on
 * the whole run: it catches a side that never answers, however slowly the
 * machine (or qemu-user in tests/aarch64_check.sh) runs the rest.
 */
#define WAIT_NS		(120ull * 1000 * 1000 * 1000)
#define ITERATIONS	1000
#define SENTINEL	0xdeadbeefcafe0000ull	/* + iteration: unique */

static void *mb_map(void)
{
	return mmap(NULL, MB_BYTES, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

static __s32 *mb_s32(void *mb, size_t off)
{
	return (__s32 *)((char *)mb + off);
}

static __u32 *mb_u32(void *mb, size_t off)
{
	return (__u32 *)((char *)mb + off);
}

static __u64 *mb_u64(void *mb, size_t off)
{
	return (__u64 *)((char *)mb + off);
}


/*
 * Acquire-load *p until it equals @want; 0, or -ETIMEDOUT when it did not
 * within WAIT_NS of this call (@unused: once a deadline for the whole
 * run).  Spins first so the two sides really race, then yields so a
 * single CPU still makes progress.
 */
static int wait_s32(const __s32 *p, __s32 want, __u64 unused)
{
	__u64 deadline = l3l2q_now_ns() + WAIT_NS;
	unsigned int spins = 0;

	(void)unused;
	while (l3l2q_load_acquire_s32(p) != want) {
		if (++spins < 1024)
			continue;
		spins = 0;
		if (l3l2q_now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

/* Reap @pid within the deadline (killing it past that); its exit status or -1. */
static int reap(pid_t pid, __u64 deadline)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0)
			return -1;
		if (l3l2q_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
}

/* Each accessor returns exactly what its store counterpart wrote. */
TEST(mailbox_atomics_round_trip)
{
	static const __s32 s32v[] = { 0, 1, 2, 3, 0x7fffffff, 0x12345678 };
	static const __u64 u64v[] = { 0, 1, 0xdeadbeefcafebabeull,
				      0x0123456789abcdefull };
	void *mb = mb_map();
	unsigned int i;

	ASSERT_NE(MAP_FAILED, mb);

	for (i = 0; i < sizeof(s32v) / sizeof(s32v[0]); i++) {
		l3l2q_store_release_s32(mb_s32(mb, MB_OFF_STATE), s32v[i]);
		EXPECT_EQ(s32v[i], l3l2q_load_acquire_s32(mb_s32(mb, MB_OFF_STATE)));
		EXPECT_EQ(s32v[i], l3l2q_load_once_s32(mb_s32(mb, MB_OFF_STATE)));
		/* And the relaxed store is seen by the acquire load. */
		l3l2q_store_once_s32(mb_s32(mb, MB_OFF_STATE), ~s32v[i]);
		EXPECT_EQ(~s32v[i], l3l2q_load_acquire_s32(mb_s32(mb, MB_OFF_STATE)));
	}
	for (i = 0; i < sizeof(u64v) / sizeof(u64v[0]); i++) {
		l3l2q_store_once_u64(mb_u64(mb, MB_OFF_PAYLOAD), u64v[i]);
		EXPECT_EQ(u64v[i], l3l2q_load_once_u64(mb_u64(mb, MB_OFF_PAYLOAD)));
	}
	l3l2q_store_release_u32(mb_u32(mb, MB_OFF_ACK), 0xfeedf00du);
	EXPECT_EQ(0xfeedf00du, l3l2q_load_acquire_u32(mb_u32(mb, MB_OFF_ACK)));

	/* The CAS used for role attachment: succeeds only on a match. */
	EXPECT_EQ(0, l3l2q_cas_u32(mb_u32(mb, MB_OFF_ACK), 1, 2));
	EXPECT_EQ(0xfeedf00du, l3l2q_load_acquire_u32(mb_u32(mb, MB_OFF_ACK)));
	EXPECT_NE(0, l3l2q_cas_u32(mb_u32(mb, MB_OFF_ACK), 0xfeedf00du, 2));
	EXPECT_EQ(2u, l3l2q_load_acquire_u32(mb_u32(mb, MB_OFF_ACK)));

	l3l2q_full_fence();
	ASSERT_EQ(0, munmap(mb, MB_BYTES));
}

/* Signed words keep their sign; u64 keeps its top bit (no truncation). */
TEST(mailbox_atomics_negative_values)
{
	static const __s32 s32v[] = { -1, -2, -12345, INT32_MIN, INT32_MIN + 1 };
	void *mb = mb_map();
	unsigned int i;

	ASSERT_NE(MAP_FAILED, mb);

	for (i = 0; i < sizeof(s32v) / sizeof(s32v[0]); i++) {
		l3l2q_store_release_s32(mb_s32(mb, MB_OFF_STATE), s32v[i]);
		EXPECT_EQ(s32v[i], l3l2q_load_acquire_s32(mb_s32(mb, MB_OFF_STATE)));
		l3l2q_store_once_s32(mb_s32(mb, MB_OFF_STATE), s32v[i]);
		EXPECT_EQ(s32v[i], l3l2q_load_once_s32(mb_s32(mb, MB_OFF_STATE)));
	}
	/* A negative s32 is the counter encoding past 2^31: bits unchanged. */
	l3l2q_store_release_s32(mb_s32(mb, MB_OFF_STATE), -1);
	EXPECT_EQ(0xffffffffu, *mb_u32(mb, MB_OFF_STATE));

	l3l2q_store_once_u64(mb_u64(mb, MB_OFF_PAYLOAD), ~0ull);
	EXPECT_EQ(~0ull, l3l2q_load_once_u64(mb_u64(mb, MB_OFF_PAYLOAD)));
	l3l2q_store_once_u64(mb_u64(mb, MB_OFF_PAYLOAD), 1ull << 63);
	EXPECT_EQ(1ull << 63, l3l2q_load_once_u64(mb_u64(mb, MB_OFF_PAYLOAD)));

	ASSERT_EQ(0, munmap(mb, MB_BYTES));
}

/*
 * A store touches its own bytes only: the word at +0 and the one at +8
 * are independent, and a 4-byte store does not spill into bytes 4..7.
 */
TEST(mailbox_atomics_offset_isolation)
{
	void *mb = mb_map();

	ASSERT_NE(MAP_FAILED, mb);

	l3l2q_store_once_u64(mb_u64(mb, 0), 0x1111111111111111ull);
	l3l2q_store_once_u64(mb_u64(mb, 8), 0x2222222222222222ull);

	l3l2q_store_release_s32(mb_s32(mb, 0), -7);
	EXPECT_EQ(-7, l3l2q_load_acquire_s32(mb_s32(mb, 0)));
	EXPECT_EQ(0x11111111, l3l2q_load_once_s32(mb_s32(mb, 4)));
	EXPECT_EQ(0x2222222222222222ull, l3l2q_load_once_u64(mb_u64(mb, 8)));

	l3l2q_store_once_u64(mb_u64(mb, 8), 0x3333333333333333ull);
	EXPECT_EQ(-7, l3l2q_load_acquire_s32(mb_s32(mb, 0)));
	EXPECT_EQ(0x11111111, l3l2q_load_once_s32(mb_s32(mb, 4)));

	l3l2q_store_once_u64(mb_u64(mb, 0), 0x4444444444444444ull);
	EXPECT_EQ(0x3333333333333333ull, l3l2q_load_once_u64(mb_u64(mb, 8)));
	EXPECT_EQ(0x4444444444444444ull, l3l2q_load_once_u64(mb_u64(mb, 0)));

	/* Stores at +8 leave the second half of the word at +0 alone too. */
	l3l2q_store_release_s32(mb_s32(mb, 8), 5);
	EXPECT_EQ(0x4444444444444444ull, l3l2q_load_once_u64(mb_u64(mb, 0)));
	EXPECT_EQ(0x33333333, l3l2q_load_once_s32(mb_s32(mb, 12)));

	ASSERT_EQ(0, munmap(mb, MB_BYTES));
}

/*
 * A forked child steps the state word 0 -> 1 -> 2 -> 3 -> 0, waiting for
 * the parent's ack of each value: every store crosses the process boundary,
 * and the parent ends on the final 0.
 */
TEST(mailbox_atomics_cross_process_cycle)
{
	static const __s32 steps[] = { 1, 2, 3, 0 };
	__u64 deadline = l3l2q_now_ns() + WAIT_NS;
	void *mb = mb_map();
	unsigned int i;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, mb);
	l3l2q_store_release_s32(mb_s32(mb, MB_OFF_ACK), -1);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 4; i++) {
			l3l2q_store_release_s32(mb_s32(mb, MB_OFF_STATE), steps[i]);
			if (wait_s32(mb_s32(mb, MB_OFF_ACK), steps[i], deadline))
				_exit(10 + i);
		}
		_exit(0);
	}

	for (i = 0; i < 4; i++) {
		if (wait_s32(mb_s32(mb, MB_OFF_STATE), steps[i], deadline)) {
			TH_LOG("state never became %d (step %u)", steps[i], i);
			break;
		}
		l3l2q_store_release_s32(mb_s32(mb, MB_OFF_ACK), steps[i]);
	}
	EXPECT_EQ(4u, i);
	EXPECT_EQ(0, reap(pid, l3l2q_now_ns() + WAIT_NS));
	EXPECT_EQ(0, l3l2q_load_acquire_s32(mb_s32(mb, MB_OFF_STATE)));

	ASSERT_EQ(0, munmap(mb, MB_BYTES));
}

/*
 * The invariant every publisher relies on: a payload written plainly
 * before a release store of the state is visible to whoever acquire-loads
 * that state.  In each of ITERATIONS rounds a child writes a sentinel
 * unique to the round, then release-stores state 1; the parent spins on an
 * acquire load of the state and must find the sentinel as soon as it sees
 * 1, never the previous round's value or the reset 0.  The parent resets
 * both words and starts the next round through the ack word, so the child
 * is racing the parent's spin in every round.
 */
TEST(mailbox_state_release_orders_payload)
{
	/* All rounds, and reaping the child, fit in the harness's 30 s alarm. */
	__u64 deadline = l3l2q_now_ns() + 4 * WAIT_NS;
	void *mb = mb_map();
	unsigned int bad = 0;
	int round;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, mb);
	l3l2q_store_once_u64(mb_u64(mb, MB_OFF_PAYLOAD), 0);
	l3l2q_store_release_s32(mb_s32(mb, MB_OFF_STATE), 0);
	l3l2q_store_release_s32(mb_s32(mb, MB_OFF_ACK), -1);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (round = 0; round < ITERATIONS; round++) {
			/* The parent has reset both words before this ack. */
			if (wait_s32(mb_s32(mb, MB_OFF_ACK), round, deadline))
				_exit(1);
			l3l2q_store_once_u64(mb_u64(mb, MB_OFF_PAYLOAD),
					     SENTINEL + round);
			l3l2q_store_release_s32(mb_s32(mb, MB_OFF_STATE), 1);
		}
		_exit(0);
	}

	for (round = 0; round < ITERATIONS; round++) {
		__u64 seen;

		l3l2q_store_once_u64(mb_u64(mb, MB_OFF_PAYLOAD), 0);
		l3l2q_store_once_s32(mb_s32(mb, MB_OFF_STATE), 0);
		/* Releases the reset along with the go-ahead. */
		l3l2q_store_release_s32(mb_s32(mb, MB_OFF_ACK), round);

		if (wait_s32(mb_s32(mb, MB_OFF_STATE), 1, deadline)) {
			TH_LOG("round %d: state 1 never arrived", round);
			break;
		}
		seen = l3l2q_load_once_u64(mb_u64(mb, MB_OFF_PAYLOAD));
		if (seen != SENTINEL + round && bad++ < 5)
			TH_LOG("round %d: state 1 with payload 0x%llx, want 0x%llx",
			       round, (unsigned long long)seen,
			       (unsigned long long)(SENTINEL + round));
	}
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(ITERATIONS, round);
	EXPECT_EQ(0, reap(pid, l3l2q_now_ns() + WAIT_NS));

	ASSERT_EQ(0, munmap(mb, MB_BYTES));
}

TEST_HARNESS_MAIN
