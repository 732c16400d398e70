// SPDX-License-Identifier: MIT
/*
 * batch_test.c - batched publishing and releasing (l3l2q_core.h):
 * l3l2q_l3_publish_defer / l3l2q_l3_flush (and the L2 output's pair) and
 * l3l2q_l2_release_batch.
 *
 * Both endpoints run over one in-process region (th_region_alloc); a kick
 * callback counts the need-wakeup checks that found the peer waiting, and
 * the stats count those that did not, so "one check per batch" is visible.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "l3l2q_core.h"
#include "kselftest_harness.h"

FIXTURE(batch) {
	struct th_pair p;
};

FIXTURE_SETUP(batch)
{
	ASSERT_EQ(0, th_pair_open(&self->p, 8, 512, 8));
}

FIXTURE_TEARDOWN(batch)
{
	th_region_free(&self->p.r);
}

/* Reserve n bytes, fill them with @tag, publish deferred. */
static int defer_one(struct l3l2q_l3 *q, __u64 n, unsigned char tag)
{
	struct l3l2q_res res;
	int ret = l3l2q_l3_try_reserve(q, n, &res);

	if (ret)
		return ret;
	if (n)
		memset(res.data, tag, n);
	return l3l2q_l3_publish_defer(q, &res, L3L2Q_OP_DATA);
}

TEST_F(batch, deferred_messages_are_invisible_until_flush)
{
	struct l3l2q_msg m;
	__u64 c0 = th_wake_checks(&self->p.l3.ep);
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, defer_one(&self->p.l3, 16, (unsigned char)i));
	/* Nothing stored, nothing checked: the consumer sees nothing. */
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(c0, th_wake_checks(&self->p.l3.ep));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(&self->p.l2, &m));

	ASSERT_EQ(0, l3l2q_l3_flush(&self->p.l3));
	EXPECT_EQ(5, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	/* One fence, one check. */
	EXPECT_EQ(c0 + 1, th_wake_checks(&self->p.l3.ep));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(&self->p.l2, &m));
		EXPECT_EQ((__u64)i + 1, m.seq);
		EXPECT_EQ(16u, m.nbytes);
		EXPECT_EQ(i, ((const unsigned char *)m.data)[15]);
		ASSERT_EQ(0, l3l2q_l2_release(&self->p.l2, &m));
	}
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(&self->p.l2, &m));
}

TEST_F(batch, flush_with_nothing_deferred_does_nothing)
{
	__u64 c0 = th_wake_checks(&self->p.l3.ep);

	EXPECT_EQ(0, l3l2q_l3_flush(&self->p.l3));
	EXPECT_EQ(c0, th_wake_checks(&self->p.l3.ep));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_plain_publish_publishes_the_deferred_ones_too)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, defer_one(&self->p.l3, 8, 1));
	ASSERT_EQ(0, defer_one(&self->p.l3, 0, 0));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	ASSERT_EQ(0, l3l2q_l3_publish(&self->p.l3, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	/* And flush has nothing left to do. */
	EXPECT_EQ(0, l3l2q_l3_flush(&self->p.l3));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_full_ring_flushes_before_saying_eagain)
{
	struct l3l2q_res res;
	int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, defer_one(&self->p.l3, 0, 0));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	/* No slot left: a waiter must never wait on its own deferred work. */
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve(&self->p.l3, 0, &res));
	EXPECT_EQ(8, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_full_arena_flushes_before_saying_eagain)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, defer_one(&self->p.l3, 256, 1));
	ASSERT_EQ(0, defer_one(&self->p.l3, 256, 2));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve(&self->p.l3, 64, &res));
	EXPECT_EQ(2, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, request_stop_publishes_the_deferred_ones_and_stop)
{
	struct l3l2q_msg m;

	ASSERT_EQ(0, defer_one(&self->p.l3, 8, 7));
	ASSERT_EQ(0, l3l2q_l3_try_request_stop(&self->p.l3));
	EXPECT_EQ(2, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->p.l2, &m));
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, m.opcode);
	ASSERT_EQ(0, l3l2q_l2_release(&self->p.l2, &m));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->p.l2, &m));
	EXPECT_EQ((__u64)L3L2Q_OP_STOP, m.opcode);
}

TEST_F(batch, a_deferred_stop_is_published_at_once)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, defer_one(&self->p.l3, 8, 7));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 0, &res));
	ASSERT_EQ(0, l3l2q_l3_publish_defer(&self->p.l3, &res, L3L2Q_OP_STOP));
	EXPECT_EQ(2, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_mismatched_deferred_reservation_poisons)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	res.nbytes = 16;
	EXPECT_EQ(-EPROTO, l3l2q_l3_publish_defer(&self->p.l3, &res,
						  L3L2Q_OP_DATA));
	EXPECT_EQ(1, th_ctr(&self->p.r, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(-EPROTO, l3l2q_l3_flush(&self->p.l3));
}

TEST_F(batch, release_batch_stores_head_once_and_checks_once)
{
	struct l3l2q_msg m[6];
	__u64 c0;
	int i;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, defer_one(&self->p.l3, 32, (unsigned char)i));
	ASSERT_EQ(0, l3l2q_l3_flush(&self->p.l3));
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, l3l2q_l2_try_peek(&self->p.l2, &m[i]));
	c0 = th_wake_checks(&self->p.l2.ep);
	/* Any order; the completed prefix goes with one store. */
	ASSERT_EQ(0, l3l2q_l2_release_batch(&self->p.l2, &m[3], 3));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(c0, th_wake_checks(&self->p.l2.ep));
	ASSERT_EQ(0, l3l2q_l2_release_batch(&self->p.l2, m, 3));
	EXPECT_EQ(6, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(c0 + 1, th_wake_checks(&self->p.l2.ep));
	/* The producer replays all six and reuses the arena. */
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, defer_one(&self->p.l3, 32, 9));
	ASSERT_EQ(0, l3l2q_l3_flush(&self->p.l3));
}

TEST_F(batch, release_batch_of_a_message_not_held_poisons)
{
	struct l3l2q_msg m[2];

	ASSERT_EQ(0, defer_one(&self->p.l3, 8, 1));
	ASSERT_EQ(0, l3l2q_l3_flush(&self->p.l3));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->p.l2, &m[0]));
	m[1] = m[0];
	/* The same message twice: the second is already released. */
	EXPECT_EQ(-EPROTO, l3l2q_l2_release_batch(&self->p.l2, m, 2));
	EXPECT_EQ(1, th_ctr(&self->p.r, L3L2Q_CTR_L2_ABORT));
}

TEST_F(batch, release_batch_of_nothing_does_nothing)
{
	EXPECT_EQ(0, l3l2q_l2_release_batch(&self->p.l2, NULL, 0));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(batch, output_ring_defer_and_flush)
{
	struct l3l2q_res res;
	struct l3l2q_msg m;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(&self->p.l2, 8, &res));
		memset(res.data, 'a' + i, 8);
		ASSERT_EQ(0, l3l2q_l2_publish_defer(&self->p.l2, &res,
						    L3L2Q_OP_DATA));
	}
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek(&self->p.l3, &m));
	ASSERT_EQ(0, l3l2q_l2_flush(&self->p.l2));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_TAIL));
	for (i = 0; i < 3; i++) {
		char buf[8];

		ASSERT_EQ(0, l3l2q_l3_try_dequeue(&self->p.l3, buf, sizeof(buf),
						  &m));
		EXPECT_EQ('a' + i, buf[0]);
	}
}

TEST_HARNESS_MAIN
