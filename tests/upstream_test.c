// SPDX-License-Identifier: MIT
/*
 * libl3l2q's L3 against an L2 that knows only the upstream ABI
 * (tools/l3l2q_upstream_l2.h: written from the upstream rules alone, no
 * lib/core, never touching the control block, never kicking), given its
 * twelve task scalars by l3l2q_queue_scalars().
 *
 * The peer runs in a forked process on the inherited mapping of a memfd
 * queue.  It answers every input in order with the same opcode and the
 * bytes XORed with PEER_XOR, and exits 0 once STOP is released.
 *
 * blocking_l3_streams_1e5_messages uses the library's default blocking
 * calls with L3L2Q_DEADLINE_NONE: each wait that outlasts the spin budget
 * sleeps for a kick such a peer never sends, unless the library polls for
 * a peer that does not announce L3L2Q_FEAT_KICKS, which it does in
 * bounded steps (lib/core: the no-kick poll).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "helpers.h"
#include "libl3l2q.h"
#include "../tools/l3l2q_upstream_l2.h"

#define PEER_XOR	0x5au
#define MAX_MSG		1024u
#define SEC		1000000000ull

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SEC + (__u64)ts.tv_nsec;
}

/* Message @id: its size, and its bytes (the id first, then a pattern). */
static __u64 msg_size(__u64 id)
{
	__u64 x = id * 0x9e3779b97f4a7c15ull;

	return id % 97 == 0 ? 0 : 8 + (x >> 40) % (MAX_MSG - 8 + 1);
}

static void msg_fill(__u64 id, unsigned char *p, __u64 n)
{
	__u64 i;

	if (n >= 8)
		memcpy(p, &id, 8);
	for (i = n >= 8 ? 8 : 0; i < n; i++)
		p[i] = (unsigned char)(id * 131u + i * 7u + 3u);
}

/* Is @p[0..n) the peer's answer to message @id? */
static int msg_check(__u64 id, const unsigned char *p, __u64 n)
{
	unsigned char want[MAX_MSG];
	__u64 i;

	if (n != msg_size(id))
		return 0;
	msg_fill(id, want, n);
	for (i = 0; i < n; i++)
		if (p[i] != (want[i] ^ PEER_XOR))
			return 0;
	return 1;
}

/* ---- the peer ---- */

static void peer_pause(unsigned int *idle)
{
	struct timespec ts = { 0, 0 };

	if (++*idle < 64)
		return;
	/* Polling, as device code for the upstream ABI does: back off. */
	ts.tv_nsec = *idle < 1000 ? 1000 : 50000;
	nanosleep(&ts, NULL);
}

/*
 * Serve until STOP is released: 0; 1 poisoned, 3 remote abort, 4 stuck
 * for @stall_s seconds (the parent died).
 */
static int peer_run(void *base, const __u64 *sc, unsigned int inflight,
		    unsigned int stall_s)
{
	struct ul2_msg held[UL2_MAX_INFLIGHT + 1];
	unsigned int nheld = 0, idle = 0, i;
	__u64 last = now_ns();
	struct ul2_res r;
	struct ul2 *q;
	int progress;

	q = calloc(1, sizeof(*q));
	if (!q || ul2_init(q, base, (const uint64_t *)sc, 12, inflight)) {
		fprintf(stderr, "peer: %s\n", q ? q->msg : "no memory");
		return 1;
	}
	while (!ul2_drained(q)) {
		progress = 0;
		while (nheld <= inflight && ul2_try_peek(q, &held[nheld])) {
			nheld++;
			progress = 1;
		}
		/* Answer in order; STOP is released once all before it are. */
		while (nheld) {
			if (held[0].opcode == UL2_OP_STOP) {
				if (!ul2_release(q, &held[0]))
					break;
			} else {
				if (!ul2_try_reserve(q, held[0].nbytes, &r))
					break;
				for (i = 0; i < held[0].nbytes; i++)
					r.data[i] = held[0].data[i] ^ PEER_XOR;
				if (!ul2_publish(q, &r, held[0].opcode) ||
				    !ul2_release(q, &held[0]))
					break;
			}
			memmove(held, held + 1, --nheld * sizeof(held[0]));
			progress = 1;
		}
		if (!ul2_live(q)) {
			fprintf(stderr, "peer: %s\n", q->msg);
			return q->kind == UL2_REMOTE_ABORTED ? 3 : 1;
		}
		if (progress) {
			idle = 0;
			last = now_ns();
			continue;
		}
		peer_pause(&idle);
		if (idle % 4096 == 0 && now_ns() - last > stall_s * SEC) {
			if (ul2_check_abort(q))
				return 3;
			fprintf(stderr, "peer: nothing moved for %u s\n", stall_s);
			return 4;
		}
	}
	free(q);
	return 0;
}

/* ---- the fixture: a memfd queue and its scalars ---- */

FIXTURE(up) {
	struct l3l2q_queue *q;
	struct l3l2q_l3 *l3;
	void *base;
	__u64 sc[12];
	pid_t peer;
	__u64 *waits;
};

FIXTURE_SETUP(up)
{
	self->peer = -1;
}

FIXTURE_TEARDOWN(up)
{
	if (self->peer > 0) {
		kill(self->peer, SIGKILL);
		waitpid(self->peer, NULL, 0);
	}
	l3l2q_destroy(self->q);
	free(self->waits);
}

static int make(FIXTURE_DATA(up) *self, __u64 depth, __u64 in, __u64 out)
{
	struct l3l2q_params p = { .depth = depth, .input_arena_bytes = in,
				  .output_arena_bytes = out,
				  .backend = L3L2Q_BACKEND_MEMFD };
	struct l3l2q_error err;
	int ret = l3l2q_create(&p, &self->q, &err);

	if (ret)
		return ret;
	self->l3 = l3l2q_queue_l3(self->q);
	/* The mapping starts with the control block. */
	self->base = l3l2q_queue_mem(self->q)->ctrl;
	return l3l2q_queue_scalars(self->q, 0, 42, self->sc);
}

/*
 * A fork child gets no mapping of the parent's queue (MADV_DONTFORK), so
 * the peer attaches through l3l2q_peer_fd() for its own mapping, says in
 * the feature word that it never kicks, and from then on uses the
 * upstream scalars on that mapping only, as firmware would.
 */
static pid_t fork_peer(FIXTURE_DATA(up) *self, unsigned int inflight)
{
	struct l3l2q_queue *q2;
	int fd = l3l2q_peer_fd(self->q), said[2];
	pid_t pid;
	char c;

	if (fd < 0)
		return fd;
	if (pipe(said)) {
		close(fd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		char *base;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(said[0]);
		if (l3l2q_attach(fd, NULL, &q2, NULL))
			_exit(10);
		base = l3l2q_queue_mem(q2)->ctrl;
		__atomic_store_n((__u32 *)(base + L3L2Q_CTRL_L2_FEATURES), 0,
				 __ATOMIC_RELEASE);
		if (write(said[1], "0", 1) != 1)
			_exit(13);
		close(said[1]);
		_exit(peer_run(base, self->sc, inflight, 120));
	}
	close(fd);
	close(said[1]);
	/*
	 * The attach announced L3L2Q_FEAT_KICKS for a moment: an L3 that
	 * went to sleep then would count on kicks this peer never sends.
	 * Firmware never announces it; wait until the word says so here too.
	 */
	if (pid > 0 && read(said[0], &c, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(said[0]);
	return pid;
}

/* ---- the scalars ---- */

TEST_F(up, scalars_pass_the_upstream_check)
{
	struct l3l2q_layout l;
	struct l3l2q_error err;
	const struct l3l2q_layout *ql;
	const struct l3l2q_mem *mem;
	__u64 sc[12];

	ASSERT_EQ(0, make(self, 64, 4096, 8192));
	ql = l3l2q_queue_layout(self->q);
	mem = l3l2q_queue_mem(self->q);
	ASSERT_EQ(0, l3l2q_validate_scalars(self->sc, 12, &l, &err))
		TH_LOG("%s", err.message);
	EXPECT_EQ(0, memcmp(&l, ql, sizeof(l)));
	EXPECT_EQ(L3L2Q_REGION_MAGIC_VERSION, self->sc[0]);
	EXPECT_EQ(42ull, self->sc[1]);
	/* base 0: offsets from the start of the mapping. */
	EXPECT_EQ((__u64)((char *)mem->payload - (char *)self->base), self->sc[2]);
	EXPECT_EQ((__u64)((char *)mem->counters - (char *)self->base), self->sc[4]);
	EXPECT_EQ(ql->payload_bytes, self->sc[3]);
	EXPECT_EQ(384ull, self->sc[5]);
	EXPECT_EQ(L3L2Q_QUEUE_MAGIC_VERSION, self->sc[6]);
	EXPECT_EQ(64ull, self->sc[7]);
	EXPECT_EQ(4096ull, self->sc[8]);
	EXPECT_EQ(8192ull, self->sc[9]);
	EXPECT_EQ(ql->payload_bytes, self->sc[10]);
	EXPECT_EQ(384ull, self->sc[11]);
	/* base = the mapping's address: the bases are pointers here. */
	ASSERT_EQ(0, l3l2q_queue_scalars(self->q, (__u64)(uintptr_t)self->base,
					 7, sc));
	EXPECT_EQ((__u64)(uintptr_t)mem->payload, sc[2]);
	EXPECT_EQ((__u64)(uintptr_t)mem->counters, sc[4]);
	EXPECT_EQ(0, l3l2q_validate_scalars(sc, 12, NULL, NULL));
	/* Refused: NULLs, region 0, a counter base off its line, overflow. */
	EXPECT_EQ(-EINVAL, l3l2q_queue_scalars(NULL, 0, 1, sc));
	EXPECT_EQ(-EINVAL, l3l2q_queue_scalars(self->q, 0, 1, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_queue_scalars(self->q, 0, 0, sc));
	EXPECT_EQ(-EINVAL, l3l2q_queue_scalars(self->q, 8, 1, sc));
	EXPECT_EQ(-EOVERFLOW, l3l2q_queue_scalars(self->q, ~0ull - 4095, 1, sc));
}

/* The independent peer refuses what the upstream rules refuse. */
TEST_F(up, peer_refuses_what_upstream_refuses)
{
	static const struct { unsigned int i; __u64 v; } bad[] = {
		{ 0, 0x4C334C3200020000ull },	/* region major 2 */
		{ 1, 0 },			/* region_id 0 */
		{ 3, 0 },			/* no payload */
		{ 4, 65 },			/* counters off their line */
		{ 5, 320 },			/* counter_bytes != 384 */
		{ 6, 0x4C33513200010000ull },	/* queue ABI 1.0 */
		{ 7, 48 },			/* depth not a power of two */
		{ 8, 100 },			/* arena not a multiple of 64 */
		{ 10, 4096 },			/* payload_bytes off the layout */
	};
	struct ul2 q;
	__u64 sc[12];
	unsigned int i;

	ASSERT_EQ(0, make(self, 64, 4096, 8192));
	ASSERT_EQ(0, ul2_init(&q, self->base, (const uint64_t *)self->sc, 12, 8)) TH_LOG("%s", q.msg);
	EXPECT_NE(0, ul2_init(&q, self->base, (const uint64_t *)self->sc, 11, 8));
	EXPECT_EQ(UL2_BAD_ARGUMENT, ul2_init(&q, self->base, (const uint64_t *)self->sc, 12, 65));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(sc, self->sc, sizeof(sc));
		sc[bad[i].i] = bad[i].v;
		EXPECT_EQ(UL2_BAD_DESCRIPTOR, ul2_init(&q, self->base, (const uint64_t *)sc, 12, 8))
			TH_LOG("scalar %u", bad[i].i);
	}
}

/*
 * The scalars drive the peer: 20000 messages through try_ calls (the L3
 * polls, so this works whatever the library's blocking calls do), with a
 * 4 KiB output arena so the peer's reservations often fail and commit
 * wrap padding the upstream way (P9), which the L3 must accept.
 */
TEST_F_TIMEOUT(up, scalars_drive_the_upstream_peer, 300)
{
	unsigned char buf[MAX_MSG], out[MAX_MSG];
	__u64 sent = 0, got = 0, n = 20000, idle = 0;
	struct l3l2q_msg m;
	int ret, stop = 0;

	ASSERT_EQ(0, make(self, 16, 16384, 4096));
	self->peer = fork_peer(self, 4);
	ASSERT_LT(0, self->peer);
	while (got < n) {
		if (sent < n) {
			msg_fill(sent, buf, msg_size(sent));
			ret = l3l2q_l3_try_enqueue(self->l3, L3L2Q_OP_DATA, buf,
						   msg_size(sent));
			if (!ret)
				sent++;
			else
				ASSERT_EQ(-EAGAIN, ret);
		} else if (!stop) {
			ret = l3l2q_l3_try_request_stop(self->l3);
			if (!ret)
				stop = 1;
			else
				ASSERT_EQ(-EAGAIN, ret);
		}
		ret = l3l2q_l3_try_dequeue(self->l3, out, sizeof(out), &m);
		if (ret == -EAGAIN) {
			if (++idle % 64 == 0)
				usleep(20);
			ASSERT_GT(200000000ull, idle) TH_LOG("stuck at %llu",
							    (unsigned long long)got);
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("%s", l3l2q_ep_last_error(&self->l3->ep)->message);
		ASSERT_EQ(L3L2Q_OP_DATA, m.opcode);
		ASSERT_TRUE(msg_check(got, out, m.nbytes)) TH_LOG("message %llu",
								   (unsigned long long)got);
		got++;
	}
	while (!stop) {
		ret = l3l2q_l3_try_request_stop(self->l3);
		stop = !ret;
		if (ret)
			usleep(100);
	}
	EXPECT_EQ(0, th_wait_child(self->peer));
	self->peer = -1;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * 10^5 messages with the library's default blocking calls and no
 * deadline, pipelined (up to WINDOW in flight), every byte checked.  The
 * time each blocking dequeue waited is recorded; its p99 goes to the log
 * (not checked against any bound: timings are the machine's).
 */
#define WINDOW		32u
#define COUNT		100000u

TEST_F_TIMEOUT(up, blocking_l3_streams_1e5_messages, 300)
{
	unsigned char buf[MAX_MSG], out[MAX_MSG];
	__u64 sent = 0, got = 0, t0, start;
	struct l3l2q_stats st;
	struct l3l2q_msg m;

	ASSERT_EQ(0, make(self, 64, 1u << 16, 1u << 16));
	self->waits = calloc(COUNT, sizeof(*self->waits));
	ASSERT_NE(NULL, self->waits);
	self->peer = fork_peer(self, 8);
	ASSERT_LT(0, self->peer);
	start = now_ns();
	while (got < COUNT) {
		while (sent < COUNT && sent - got < WINDOW) {
			msg_fill(sent, buf, msg_size(sent));
			ASSERT_EQ(0, l3l2q_l3_enqueue(self->l3, L3L2Q_OP_DATA, buf,
						      msg_size(sent),
						      L3L2Q_DEADLINE_NONE));
			sent++;
			if (sent == COUNT)
				ASSERT_EQ(0, l3l2q_l3_request_stop(self->l3,
								   L3L2Q_DEADLINE_NONE));
		}
		t0 = now_ns();
		ASSERT_EQ(0, l3l2q_l3_dequeue(self->l3, out, sizeof(out),
					      L3L2Q_DEADLINE_NONE, &m))
			TH_LOG("%s", l3l2q_ep_last_error(&self->l3->ep)->message);
		self->waits[got] = now_ns() - t0;
		ASSERT_TRUE(msg_check(got, out, m.nbytes)) TH_LOG("message %llu",
								   (unsigned long long)got);
		got++;
	}
	qsort(self->waits, COUNT, sizeof(*self->waits), cmp_u64);
	ASSERT_EQ(0, l3l2q_ep_stats(&self->l3->ep, &st));
	TH_LOG("%u messages in %.2f s; blocking dequeue wait p50 %.1f us, "
	       "p99 %.1f us, max %.1f us; sleeps %llu", COUNT,
	       (now_ns() - start) / 1e9, self->waits[COUNT / 2] / 1e3,
	       self->waits[COUNT * 99 / 100] / 1e3, self->waits[COUNT - 1] / 1e3,
	       (unsigned long long)st.sleeps);
	EXPECT_EQ(0, th_wait_child(self->peer));
	self->peer = -1;
}

TEST_HARNESS_MAIN
