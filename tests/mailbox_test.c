// SPDX-License-Identifier: MIT
/*
 * mailbox_test - the lock-free MPSC completion mailbox (reference §10,
 * pitfall P18) on its own.
 *
 * The upstream mailbox suite of reference §12.3 that tests the ring itself,
 * named after it in snake_case.  Not here: PushConditionThenDrainCreates
 * Entry, PushNormalDoneCreatesEntryReadyToComplete, NormalDoneAttachesTo
 * ExistingEntry, ConditionAttachesToExistingEntry and SdmaPostDoneRecord
 * UsesMonotonicPostId - they test the consumer's wait-entry bookkeeping,
 * which belongs to the device orchestrator that drains the mailbox, not to
 * the mailbox.
 *
 * Then: empty pop, a full round trip of every field, the gap of P18 (a
 * claimed, unpublished slot blocks the consumer), a stale seq left in a
 * reused slot, and a stress with producers that outrun the consumer.
 *
 * Each test runs in its own forked child, so one static mailbox serves all.
 * Threads never use the harness's ASSERTs; they record what they saw and
 * the main thread checks it.  Every wait is bounded by a deadline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "kselftest_harness.h"

/*
 * The harness's 30 s per test is a speed limit, not a watchdog, for these
 * spinning multi-thread and cross-process tests under qemu-user
 * (tests/aarch64_check.sh) on a loaded machine.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	600
#include "libl3l2q.h"

#include "l3l2q_mailbox.h"

#define CAP		L3L2Q_MAILBOX_CAPACITY
/* A watchdog for a hang (a lost message), never a limit on speed. */
#define WAIT_NS		(300ull * 1000 * 1000 * 1000)

static struct l3l2q_mailbox mb;


static struct l3l2q_mailbox_msg cond_msg(__u64 token, __u64 addr)
{
	struct l3l2q_mailbox_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = L3L2Q_MAILBOX_KIND_CONDITION;
	m.engine = L3L2Q_MAILBOX_ENGINE_SDMA;
	m.completion_type = L3L2Q_MAILBOX_COMPLETION_COUNTER;
	m.task_token = token;
	m.addr = addr;
	m.expected_value = (__u32)token;
	return m;
}

static struct l3l2q_mailbox_msg done_msg(__u64 token, __u64 slot_state)
{
	struct l3l2q_mailbox_msg m;

	memset(&m, 0, sizeof(m));
	m.kind = L3L2Q_MAILBOX_KIND_TASK_NORMAL_DONE;
	m.task_token = token;
	m.addr = slot_state;
	return m;
}

/* ---- a start line for threads ---- */

static pthread_barrier_t start;

/* ---- producers: id in task_token's top bits, sequence in addr ---- */

struct producer {
	pthread_t thread;
	unsigned int id;
	unsigned int count;
	__u64 full;		/* -EAGAIN results seen */
	int bad;		/* a result other than 0 / -EAGAIN */
	int timed_out;
};

#define TOKEN(id, i)	(((__u64)(id) << 32) | (__u64)(i))

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	__u64 deadline;
	unsigned int i;

	pthread_barrier_wait(&start);
	deadline = l3l2q_now_ns() + WAIT_NS;
	for (i = 0; i < p->count; i++) {
		struct l3l2q_mailbox_msg m = cond_msg(TOKEN(p->id, i), i);
		int ret;

		m.engine = p->id & 3;
		m.seq = 0xdeadbeefull;		/* ignored by push */
		while ((ret = l3l2q_mailbox_push(&mb, &m)) == -EAGAIN) {
			p->full++;
			if (l3l2q_now_ns() > deadline) {
				p->timed_out = 1;
				return NULL;
			}
		}
		if (ret != 0) {
			p->bad = 1;
			return NULL;
		}
	}
	return NULL;
}

/*
 * Drain until @total messages arrived (or the deadline): each message must
 * carry seq == its position + 1, belong to a known producer, and be that
 * producer's next one.
 */
struct drain_result {
	unsigned int got;
	unsigned int bad_seq;
	unsigned int bad_producer;
	unsigned int out_of_order;
	unsigned int bad_fields;
	int timed_out;
};

static void drain(unsigned int nproducers, unsigned int total,
		  unsigned int *next, struct drain_result *r)
{
	__u64 deadline = l3l2q_now_ns() + WAIT_NS;
	struct l3l2q_mailbox_msg m;

	memset(r, 0, sizeof(*r));
	while (r->got < total) {
		unsigned int id, i;

		if (l3l2q_mailbox_pop(&mb, &m) != 0) {
			if (l3l2q_now_ns() > deadline) {
				r->timed_out = 1;
				return;
			}
			continue;
		}
		if (m.seq != (__u64)r->got + 1)
			r->bad_seq++;
		r->got++;
		id = (unsigned int)(m.task_token >> 32);
		i = (unsigned int)m.task_token;
		if (id >= nproducers) {
			r->bad_producer++;
			continue;
		}
		if (i != next[id])
			r->out_of_order++;
		next[id] = i + 1;
		if (m.addr != i || m.expected_value != i ||
		    m.engine != (id & 3) ||
		    m.kind != L3L2Q_MAILBOX_KIND_CONDITION)
			r->bad_fields++;
	}
}

static void run_producers(struct __test_metadata *_metadata,
			  unsigned int nproducers, unsigned int count,
			  __u64 *full_total)
{
	struct producer p[16];
	unsigned int next[16] = { 0 };
	struct drain_result r;
	struct l3l2q_mailbox_msg extra;
	unsigned int k;

	ASSERT_LE(nproducers, 16u);
	l3l2q_mailbox_init(&mb);
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, nproducers + 1));
	memset(p, 0, sizeof(p));
	for (k = 0; k < nproducers; k++) {
		p[k].id = k;
		p[k].count = count;
		ASSERT_EQ(0, pthread_create(&p[k].thread, NULL, producer_main,
					    &p[k]));
	}
	pthread_barrier_wait(&start);
	drain(nproducers, nproducers * count, next, &r);
	*full_total = 0;
	for (k = 0; k < nproducers; k++) {
		pthread_join(p[k].thread, NULL);
		EXPECT_EQ(0, p[k].bad);
		EXPECT_EQ(0, p[k].timed_out);
		*full_total += p[k].full;
	}
	pthread_barrier_destroy(&start);

	EXPECT_EQ(0, r.timed_out);
	EXPECT_EQ(nproducers * count, r.got);
	EXPECT_EQ(0u, r.bad_seq);
	EXPECT_EQ(0u, r.bad_producer);
	EXPECT_EQ(0u, r.out_of_order);
	EXPECT_EQ(0u, r.bad_fields);
	for (k = 0; k < nproducers; k++)
		EXPECT_EQ(count, next[k]);
	/* Nothing more, nothing twice. */
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &extra));
	EXPECT_EQ(0, l3l2q_mailbox_has_pending(&mb));
	/* Every full push was counted, and only those. */
	EXPECT_EQ(*full_total, l3l2q_mailbox_skipped(&mb));
}

/* ---- upstream §12.3 ---- */

/* 4096 succeed; the 4097th CONDITION and a NORMAL_DONE fail and count. */
TEST(push_returns_false_when_full)
{
	struct l3l2q_mailbox_msg m, out;
	unsigned int i;

	l3l2q_mailbox_init(&mb);
	for (i = 0; i < CAP; i++) {
		m = (i & 1) ? done_msg(i, 0x1000 + i) : cond_msg(i, 0x1000 + i);
		ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	}
	EXPECT_EQ(0u, l3l2q_mailbox_skipped(&mb));

	m = cond_msg(CAP, 1);
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_push(&mb, &m));
	EXPECT_EQ(1u, l3l2q_mailbox_skipped(&mb));
	m = done_msg(CAP, 1);
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_push(&mb, &m));
	EXPECT_EQ(2u, l3l2q_mailbox_skipped(&mb));
	/* A failed push claims nothing. */
	EXPECT_EQ((__u64)CAP, mb.head);

	/* One pop frees exactly one slot. */
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(0u, out.task_token);
	m = cond_msg(CAP, 0x1000 + CAP);
	EXPECT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	m = cond_msg(CAP + 1, 1);
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_push(&mb, &m));
	EXPECT_EQ(3u, l3l2q_mailbox_skipped(&mb));

	/* The rest come out in order, the refill last. */
	for (i = 1; i <= CAP; i++) {
		ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
		ASSERT_EQ((__u64)i, out.task_token);
		ASSERT_EQ(0x1000u + i, out.addr);
		ASSERT_EQ((__u64)i + 1, out.seq);
		ASSERT_EQ((i & 1) && i != CAP ?
			  (__u32)L3L2Q_MAILBOX_KIND_TASK_NORMAL_DONE :
			  (__u32)L3L2Q_MAILBOX_KIND_CONDITION, out.kind);
	}
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
}

/* 8 producers x 256, drained concurrently: no loss, per-producer order. */
TEST(multi_producer_no_loss_and_per_producer_order)
{
	__u64 full;

	run_producers(_metadata, 8, 256, &full);
	/*
	 * 2048 < 4096: the ring can never have been full.  Under TSan's
	 * scheduling this caught a push that took a stale head (h < t) for
	 * a full ring; push now retries on that.
	 */
	EXPECT_EQ(0u, full);
}

/* One producer pushes 64 messages while one drainer pops them. */
TEST(producer_interleaved_with_drain)
{
	__u64 full;

	run_producers(_metadata, 1, 64, &full);
	EXPECT_EQ(0u, full);
}

/* 4096 + 17 push/pop pairs wrap the ring with no zeroing in between. */
TEST(monotonic_seq_survives_capacity_wrap_without_zeroing)
{
	struct l3l2q_mailbox_msg m, out;
	unsigned int i;

	l3l2q_mailbox_init(&mb);
	for (i = 0; i < CAP + 17; i++) {
		m = cond_msg(i, ~(__u64)i);
		ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
		ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
		ASSERT_EQ((__u64)i, out.task_token);
		ASSERT_EQ(~(__u64)i, out.addr);
		ASSERT_EQ((__u64)i + 1, out.seq);
		ASSERT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	}
	/*
	 * Slot 16 holds the last position's seq (second lap); slot 17, the
	 * next one, still holds seq 18 from the first lap: it must not pass.
	 */
	EXPECT_EQ((__u64)CAP + 17, mb.head);
	EXPECT_EQ((__u64)CAP + 17, mb.entries[16].seq);
	EXPECT_EQ(18u, mb.entries[17].seq);

	m = done_msg(0xf00d, 0xbeef);
	ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	EXPECT_EQ((__u64)CAP + 18, mb.entries[17].seq);
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(0xf00du, out.task_token);
	EXPECT_EQ(0xbeefu, out.addr);
	EXPECT_EQ((__u32)L3L2Q_MAILBOX_KIND_TASK_NORMAL_DONE, out.kind);
	EXPECT_EQ((__u64)CAP + 18, out.seq);
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
}

/* reset (tail := head) drops what was not drained, and the skip count. */
TEST(tail_equals_head_discards_undrained_leftovers)
{
	struct l3l2q_mailbox_msg m, out;
	unsigned int i;

	l3l2q_mailbox_init(&mb);
	for (i = 0; i < CAP; i++) {
		m = cond_msg(i, i);
		ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	}
	ASSERT_EQ(-EAGAIN, l3l2q_mailbox_push(&mb, &m));
	ASSERT_EQ(1u, l3l2q_mailbox_skipped(&mb));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	ASSERT_EQ(1, l3l2q_mailbox_has_pending(&mb));

	l3l2q_mailbox_reset(&mb);
	EXPECT_EQ(0, l3l2q_mailbox_has_pending(&mb));
	EXPECT_EQ(0u, l3l2q_mailbox_skipped(&mb));
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	/* Not zeroed: the leftovers' seq values are still there. */
	EXPECT_EQ(4u, mb.entries[3].seq);
	EXPECT_EQ(mb.head, mb.tail);

	/* The whole ring is free again, and only new messages come out. */
	for (i = 0; i < CAP; i++) {
		m = done_msg(0x10000 + i, i);
		ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	}
	EXPECT_EQ(0u, l3l2q_mailbox_skipped(&mb));
	for (i = 0; i < CAP; i++) {
		ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
		ASSERT_EQ(0x10000u + i, out.task_token);
		ASSERT_EQ((__u32)L3L2Q_MAILBOX_KIND_TASK_NORMAL_DONE, out.kind);
	}
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
}

/* ---- beyond upstream ---- */

TEST(pop_on_empty_returns_eagain_and_leaves_out_alone)
{
	struct l3l2q_mailbox_msg out;

	l3l2q_mailbox_init(&mb);
	memset(&out, 0xa5, sizeof(out));
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(0, l3l2q_mailbox_has_pending(&mb));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ull, out.seq);
	EXPECT_EQ(0xa5a5a5a5u, out.reserved);
	EXPECT_EQ(0u, mb.tail);
}

/* Every field survives, including negative and reserved ones. */
TEST(message_round_trip_keeps_every_field)
{
	struct l3l2q_mailbox_msg m, out;

	l3l2q_mailbox_init(&mb);
	m.seq = 777;			/* ignored */
	m.task_token = 0x0123456789abcdefull;
	m.addr = 0xfedcba9876543210ull;
	m.backend_cookie = 0x1122334455667788ull;
	m.expected_value = 0xffffffffu;
	m.engine = L3L2Q_MAILBOX_ENGINE_CCU;
	m.completion_type = -5;
	m.kind = L3L2Q_MAILBOX_KIND_CONDITION;
	m.pad[0] = 1;
	m.pad[1] = 2;
	m.pad[2] = 3;
	m.reserved = 4;
	ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	EXPECT_EQ(1, l3l2q_mailbox_has_pending(&mb));
	EXPECT_EQ(1u, mb.entries[0].seq);
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(1u, out.seq);
	out.seq = m.seq;
	EXPECT_EQ(0, memcmp(&m, &out, sizeof(m)));
	EXPECT_EQ(0, l3l2q_mailbox_has_pending(&mb));
}

/*
 * P18: a producer that claimed a position but has not published seq stops
 * the consumer there, even with later positions already published.
 */
TEST(claimed_unpublished_slot_blocks_consumer_at_gap)
{
	struct l3l2q_mailbox_msg m, out, *gap;

	l3l2q_mailbox_init(&mb);
	m = cond_msg(1, 1);
	ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));

	/* A producer claims position 1 (its CAS won) and stalls. */
	mb.head++;
	gap = &mb.entries[1];
	/* Another producer claims position 2 and publishes it. */
	m = cond_msg(3, 3);
	ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	EXPECT_EQ(3u, mb.entries[2].seq);

	memset(&out, 0, sizeof(out));
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(0u, out.task_token);
	EXPECT_EQ(1u, mb.tail);
	EXPECT_EQ(1, l3l2q_mailbox_has_pending(&mb));

	/* Fields without seq are still not a publication. */
	gap->task_token = 2;
	gap->addr = 2;
	gap->kind = L3L2Q_MAILBOX_KIND_CONDITION;
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	/* A wrong seq (not position + 1) is not one either. */
	__atomic_store_n(&gap->seq, 1, __ATOMIC_RELEASE);
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));

	/* The stalled producer publishes: both come out, in position order. */
	__atomic_store_n(&gap->seq, 2, __ATOMIC_RELEASE);
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(2u, out.task_token);
	EXPECT_EQ(2u, out.seq);
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(3u, out.task_token);
	EXPECT_EQ(3u, out.seq);
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
}

/*
 * After a reset, a slot claimed but not yet published still holds a seq
 * from an earlier run; being nonzero must not make it look published.
 */
TEST(stale_seq_after_reset_is_not_taken_for_published)
{
	struct l3l2q_mailbox_msg m, out;
	__u64 h;
	unsigned int i;

	l3l2q_mailbox_init(&mb);
	for (i = 0; i < CAP + 5; i++) {
		m = cond_msg(i, i);
		if (i >= CAP)
			ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
		ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
	}
	l3l2q_mailbox_reset(&mb);
	h = mb.head;
	/* The next slot carries the previous lap's seq, h + 1 - CAP. */
	EXPECT_EQ(h + 1 - CAP, mb.entries[h & L3L2Q_MAILBOX_MASK].seq);

	mb.head++;		/* claimed, not published */
	EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(h, mb.tail);
	__atomic_store_n(&mb.entries[h & L3L2Q_MAILBOX_MASK].seq, h + 1,
			 __ATOMIC_RELEASE);
	ASSERT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	EXPECT_EQ(h + 1, out.seq);
	/* The fields were not rewritten: position 5's stale token shows. */
	EXPECT_EQ(5u, out.task_token);
}

/*
 * 4 producers x 100000 against one consumer through a 4096 ring: the
 * producers run into a full ring, retry, and still nothing is lost or
 * reordered, and skipped counts exactly the full pushes.
 */
/*
 * A tail ahead of the head is corruption (a scribble, a bug): push says so
 * at once with -EPROTO instead of retrying for ever, as it did before (a
 * hang, which the harness's 30 s limit turns into a failure), and pop
 * sees nothing to take.  A tail behind the head only because the head was
 * read first stays an ordinary retry (the other tests).
 */
TEST(push_with_tail_ahead_of_head_fails_not_hangs)
{
	struct l3l2q_mailbox_msg m = cond_msg(1, 2), out;
	static const __u64 ahead[] = { 1, 5, CAP, 1ull << 40 };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		l3l2q_mailbox_init(&mb);
		ASSERT_EQ(0, l3l2q_mailbox_push(&mb, &m));
		mb.tail = mb.head + ahead[i];
		EXPECT_EQ(-EPROTO, l3l2q_mailbox_push(&mb, &m));
		EXPECT_EQ(1u, mb.head);		/* nothing claimed */
		EXPECT_EQ(0u, l3l2q_mailbox_skipped(&mb));	/* not "full" */
		EXPECT_EQ(-EAGAIN, l3l2q_mailbox_pop(&mb, &out));
		/* Reset repairs it: the tail follows the head again. */
		l3l2q_mailbox_reset(&mb);
		EXPECT_EQ(0, l3l2q_mailbox_push(&mb, &m));
		EXPECT_EQ(0, l3l2q_mailbox_pop(&mb, &out));
	}
}

TEST(stress_four_producers_through_full_ring)
{
	__u64 full;

	run_producers(_metadata, 4, 100000, &full);
	TH_LOG("pushes that found the ring full: %llu",
	       (unsigned long long)full);
}

TEST_HARNESS_MAIN
