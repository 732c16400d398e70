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

static void count_kick(void *ctx)
{
	(*(int *)ctx)++;
}

FIXTURE(batch) {
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	int kicks;
};

FIXTURE_SETUP(batch)
{
	struct l3l2q_env env;

	memset(&env, 0, sizeof(env));
	env.kick = count_kick;
	env.ctx = &self->kicks;
	self->kicks = 0;
	ASSERT_EQ(0, th_region_alloc(&self->r, 8, 512, 512, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&self->l3, &self->r.mem, &self->r.layout,
				   0, &env));
	ASSERT_EQ(0, l3l2q_l2_init(&self->l2, &self->r.mem, &self->r.layout,
				   0, 8, &env));
}

FIXTURE_TEARDOWN(batch)
{
	th_region_free(&self->r);
}

static __u64 checks(struct l3l2q_ep *ep)
{
	struct l3l2q_stats st, *s = &st;

	l3l2q_ep_stats(ep, &st);

	return s->kicks + s->kicks_suppressed;
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
	__u64 c0 = checks(&self->l3.ep);
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, defer_one(&self->l3, 16, (unsigned char)i));
	/* Nothing stored, nothing checked: the consumer sees nothing. */
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(c0, checks(&self->l3.ep));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(&self->l2, &m));

	ASSERT_EQ(0, l3l2q_l3_flush(&self->l3));
	EXPECT_EQ(5, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(c0 + 1, checks(&self->l3.ep));	/* one fence, one check */
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m));
		EXPECT_EQ((__u64)i + 1, m.seq);
		EXPECT_EQ(16u, m.nbytes);
		EXPECT_EQ(i, ((const unsigned char *)m.data)[15]);
		ASSERT_EQ(0, l3l2q_l2_release(&self->l2, &m));
	}
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(&self->l2, &m));
}

TEST_F(batch, flush_with_nothing_deferred_does_nothing)
{
	__u64 c0 = checks(&self->l3.ep);

	EXPECT_EQ(0, l3l2q_l3_flush(&self->l3));
	EXPECT_EQ(c0, checks(&self->l3.ep));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_plain_publish_publishes_the_deferred_ones_too)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, defer_one(&self->l3, 8, 1));
	ASSERT_EQ(0, defer_one(&self->l3, 0, 0));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->l3, 8, &res));
	ASSERT_EQ(0, l3l2q_l3_publish(&self->l3, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(3, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	/* And flush has nothing left to do. */
	EXPECT_EQ(0, l3l2q_l3_flush(&self->l3));
	EXPECT_EQ(3, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_full_ring_flushes_before_saying_eagain)
{
	struct l3l2q_res res;
	int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, defer_one(&self->l3, 0, 0));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	/* No slot left: a waiter must never wait on its own deferred work. */
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve(&self->l3, 0, &res));
	EXPECT_EQ(8, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_full_arena_flushes_before_saying_eagain)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, defer_one(&self->l3, 256, 1));
	ASSERT_EQ(0, defer_one(&self->l3, 256, 2));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve(&self->l3, 64, &res));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, request_stop_publishes_the_deferred_ones_and_stop)
{
	struct l3l2q_msg m;

	ASSERT_EQ(0, defer_one(&self->l3, 8, 7));
	ASSERT_EQ(0, l3l2q_l3_try_request_stop(&self->l3));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m));
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, m.opcode);
	ASSERT_EQ(0, l3l2q_l2_release(&self->l2, &m));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m));
	EXPECT_EQ((__u64)L3L2Q_OP_STOP, m.opcode);
}

TEST_F(batch, a_deferred_stop_is_published_at_once)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, defer_one(&self->l3, 8, 7));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->l3, 0, &res));
	ASSERT_EQ(0, l3l2q_l3_publish_defer(&self->l3, &res, L3L2Q_OP_STOP));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(batch, a_mismatched_deferred_reservation_poisons)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->l3, 8, &res));
	res.nbytes = 16;
	EXPECT_EQ(-EPROTO, l3l2q_l3_publish_defer(&self->l3, &res,
						  L3L2Q_OP_DATA));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(-EPROTO, l3l2q_l3_flush(&self->l3));
}

TEST_F(batch, release_batch_stores_head_once_and_checks_once)
{
	struct l3l2q_msg m[6];
	__u64 c0;
	int i;

	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, defer_one(&self->l3, 32, (unsigned char)i));
	ASSERT_EQ(0, l3l2q_l3_flush(&self->l3));
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m[i]));
	c0 = checks(&self->l2.ep);
	/* Any order; the completed prefix goes with one store. */
	ASSERT_EQ(0, l3l2q_l2_release_batch(&self->l2, &m[3], 3));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(c0, checks(&self->l2.ep));
	ASSERT_EQ(0, l3l2q_l2_release_batch(&self->l2, m, 3));
	EXPECT_EQ(6, th_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(c0 + 1, checks(&self->l2.ep));
	/* The producer replays all six and reuses the arena. */
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, defer_one(&self->l3, 32, 9));
	ASSERT_EQ(0, l3l2q_l3_flush(&self->l3));
}

TEST_F(batch, release_batch_of_a_message_not_held_poisons)
{
	struct l3l2q_msg m[2];

	ASSERT_EQ(0, defer_one(&self->l3, 8, 1));
	ASSERT_EQ(0, l3l2q_l3_flush(&self->l3));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m[0]));
	m[1] = m[0];
	/* The same message twice: the second is already released. */
	EXPECT_EQ(-EPROTO, l3l2q_l2_release_batch(&self->l2, m, 2));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_L2_ABORT));
}

TEST_F(batch, release_batch_of_nothing_does_nothing)
{
	EXPECT_EQ(0, l3l2q_l2_release_batch(&self->l2, NULL, 0));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(batch, output_ring_defer_and_flush)
{
	struct l3l2q_res res;
	struct l3l2q_msg m;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(&self->l2, 8, &res));
		memset(res.data, 'a' + i, 8);
		ASSERT_EQ(0, l3l2q_l2_publish_defer(&self->l2, &res,
						    L3L2Q_OP_DATA));
	}
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek(&self->l3, &m));
	ASSERT_EQ(0, l3l2q_l2_flush(&self->l2));
	EXPECT_EQ(3, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_TAIL));
	for (i = 0; i < 3; i++) {
		char buf[8];

		ASSERT_EQ(0, l3l2q_l3_try_dequeue(&self->l3, buf, sizeof(buf),
						  &m));
		EXPECT_EQ('a' + i, buf[0]);
	}
}

TEST_HARNESS_MAIN
