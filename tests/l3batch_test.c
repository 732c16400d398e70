// SPDX-License-Identifier: MIT
/*
 * l3batch_test.c - the L3 output's batched peek and release
 * (l3l2q_l3_try_peek_batch, l3l2q_l3_release_batch): batches of 1 up to
 * the window, partial and single releases between them, the ring and the
 * arena wrapping under batches, releases out of order or twice (refused,
 * nothing changes), stale handles and a hostile L2's forged tail or slot
 * (poison, as for one message at a time).
 *
 * Both endpoints run over one in-process region (th_region_alloc); the
 * L2 writes results with its own calls, or forges them by hand.  The last
 * test drives both roles of a memfd queue (libl3l2q) in one process.
 */
#include <errno.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "helpers.h"
#include "l3l2q_core.h"
#include "libl3l2q.h"
#include "kselftest_harness.h"

#define DEPTH	8
#define ARENA	512

FIXTURE(l3batch) {
	struct th_pair p;
};

FIXTURE_SETUP(l3batch)
{
	ASSERT_EQ(0, th_pair_open(&self->p, DEPTH, ARENA, 1));
}

FIXTURE_TEARDOWN(l3batch)
{
	th_region_free(&self->p.r);
}

#define STATE(self)	((int)l3l2q_ep_state(&(self)->p.l3.ep))
#define ERRKIND(self)	(l3l2q_ep_error(&(self)->p.l3.ep)->kind)

/* The L2 publishes one result of @n bytes, each byte @tag. */
static int result(struct l3l2q_l2 *q, __u64 n, unsigned char tag)
{
	struct l3l2q_res res;
	int ret = l3l2q_l2_try_reserve(q, n, &res);

	if (ret)
		return ret;
	if (n)
		memset(res.data, tag, n);
	return l3l2q_l2_publish(q, &res, L3L2Q_OP_DATA);
}

/* @m carries @n bytes, each @tag, read through its view and l3_read. */
static int payload_is(struct l3l2q_l3 *q, const struct l3l2q_msg *m,
		      __u64 n, unsigned char tag)
{
	unsigned char buf[ARENA];
	__u64 i;

	if (m->nbytes != n || l3l2q_l3_read(q, m, buf, sizeof(buf)))
		return 0;
	for (i = 0; i < n; i++)
		if (buf[i] != tag || ((const unsigned char *)m->data)[i] != tag)
			return 0;
	return 1;
}

TEST_F(l3batch, batches_of_one_to_the_window_come_in_order)
{
	struct l3l2q_msg m[2 * DEPTH];
	__u64 seq = 0, c0;
	int k, i;

	for (k = 1; k <= DEPTH; k++) {
		for (i = 0; i < k; i++)
			ASSERT_EQ(0, result(&self->p.l2, 16, (unsigned char)(k + i)));
		/* Asked for more than there is: exactly what came. */
		ASSERT_EQ(k, l3l2q_l3_try_peek_batch(&self->p.l3, m, 2 * DEPTH));
		for (i = 0; i < k; i++) {
			EXPECT_EQ(seq + 1 + i, m[i].seq);
			EXPECT_EQ(L3L2Q_OP_DATA, m[i].opcode);
			EXPECT_TRUE(payload_is(&self->p.l3, &m[i], 16,
					       (unsigned char)(k + i)));
		}
		EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek_batch(&self->p.l3, m + k, 1));
		c0 = th_wake_checks(&self->p.l3.ep);
		/* Nothing freed before the release. */
		EXPECT_EQ((__s32)seq, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
		ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m, (__u32)k));
		seq += (__u64)k;
		/* One head store and one need-wakeup check per batch. */
		EXPECT_EQ((__s32)seq, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
		EXPECT_EQ(c0 + 1, th_wake_checks(&self->p.l3.ep));
	}
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
}

TEST_F(l3batch, window_bounds_the_batch_and_a_release_reopens_it)
{
	struct l3l2q_msg m[DEPTH], one;
	int i;

	/* depth 8 < L3L2Q_L3_WINDOW_MAX: the window is the ring. */
	for (i = 0; i < DEPTH; i++)
		ASSERT_EQ(0, result(&self->p.l2, 8, (unsigned char)i));
	ASSERT_EQ(3, l3l2q_l3_try_peek_batch(&self->p.l3, m, 3));
	ASSERT_EQ(5, l3l2q_l3_try_peek_batch(&self->p.l3, m + 3, DEPTH));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek_batch(&self->p.l3, &one, 1));
	/* The L2 is full too until the L3 releases. */
	EXPECT_EQ(-EAGAIN, result(&self->p.l2, 8, 0x77));
	/* One-at-a-time calls see the oldest held message. */
	ASSERT_EQ(0, l3l2q_l3_try_peek(&self->p.l3, &one));
	EXPECT_EQ(m[0].seq, one.seq);
	EXPECT_EQ(m[0].data, one.data);
	ASSERT_EQ(0, l3l2q_l3_release(&self->p.l3, &one));
	ASSERT_EQ(0, result(&self->p.l2, 8, 0x77));
	ASSERT_EQ(1, l3l2q_l3_try_peek_batch(&self->p.l3, &one, DEPTH));
	EXPECT_EQ((__u64)DEPTH + 1, one.seq);
	EXPECT_TRUE(payload_is(&self->p.l3, &one, 8, 0x77));
	ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m + 1, DEPTH - 1));
	ASSERT_EQ(0, l3l2q_l3_release(&self->p.l3, &one));
	EXPECT_EQ(DEPTH + 1, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
}

TEST_F(l3batch, partial_releases_mix_with_single_calls)
{
	struct l3l2q_msg m[5], one;
	unsigned char buf[32];
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, result(&self->p.l2, 32, (unsigned char)(0x10 + i)));
	ASSERT_EQ(5, l3l2q_l3_try_peek_batch(&self->p.l3, m, 5));
	ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m, 2));
	EXPECT_EQ(2, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
	/* dequeue takes the oldest held one (seq 3) and releases it. */
	ASSERT_EQ(0, l3l2q_l3_try_dequeue(&self->p.l3, buf, sizeof(buf), &one));
	EXPECT_EQ(3u, one.seq);
	EXPECT_EQ(0x12, buf[0]);
	EXPECT_EQ(0x12, buf[31]);
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l3_release(&self->p.l3, &m[3]));
	ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, &m[4], 1));
	EXPECT_EQ(5, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
	/* An empty batch is no call at all. */
	EXPECT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m, 0));
	EXPECT_EQ(0, l3l2q_l3_try_peek_batch(&self->p.l3, m, 0));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek_batch(&self->p.l3, m, 5));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
}

/*
 * Sizes that do not divide the arena and batches that do not divide the
 * ring: the arena wraps (padding) and the ring wraps many times inside
 * batches, and every payload still arrives intact.
 */
TEST_F(l3batch, ring_and_arena_wrap_inside_batches)
{
	struct l3l2q_msg m[DEPTH];
	__u64 sent = 0, got = 0;
	unsigned int round, k, i, pub;
	int n;

	for (round = 0; round < 200; round++) {
		pub = 1 + round % 5;
		for (k = 0; k < pub; k++) {
			__u64 sz = 1 + (sent * 37) % 150;

			if (result(&self->p.l2, sz, (unsigned char)sent))
				break;
			sent++;
		}
		n = l3l2q_l3_try_peek_batch(&self->p.l3, m, 1 + round % DEPTH);
		if (n == -EAGAIN)
			continue;
		ASSERT_LT(0, n);
		for (i = 0; i < (unsigned int)n; i++) {
			__u64 s = got + i;

			ASSERT_EQ(s + 1, m[i].seq);
			ASSERT_TRUE(payload_is(&self->p.l3, &m[i],
					       1 + (s * 37) % 150,
					       (unsigned char)s));
		}
		/* Release some now, the rest one by one. */
		ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m,
						    (unsigned int)n / 2));
		for (i = (unsigned int)n / 2; i < (unsigned int)n; i++)
			ASSERT_EQ(0, l3l2q_l3_release(&self->p.l3, &m[i]));
		got += (__u64)n;
	}
	EXPECT_LT((__u64)4 * DEPTH, got);
	EXPECT_LT((__u64)4 * ARENA / 150, got);
	EXPECT_GE(sent, got);
	EXPECT_EQ((__s32)got, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
}

TEST_F(l3batch, out_of_order_and_twice_are_refused_and_change_nothing)
{
	struct l3l2q_msg m[3], bad[3];
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, result(&self->p.l2, 4, (unsigned char)i));
	ASSERT_EQ(3, l3l2q_l3_try_peek_batch(&self->p.l3, m, 3));

	EXPECT_EQ(-EINVAL, l3l2q_l3_release(&self->p.l3, &m[1]));
	EXPECT_NE(NULL, strstr(l3l2q_ep_last_error(&self->p.l3.ep)->message,
			       "out of order"));
	bad[0] = m[1];
	bad[1] = m[0];
	EXPECT_EQ(-EINVAL, l3l2q_l3_release_batch(&self->p.l3, bad, 2));
	bad[0] = m[0];
	bad[1] = m[0];
	EXPECT_EQ(-EINVAL, l3l2q_l3_release_batch(&self->p.l3, bad, 2));
	EXPECT_NE(NULL, strstr(l3l2q_ep_last_error(&self->p.l3.ep)->message,
			       "second time"));
	bad[1] = m[1];
	bad[2] = m[1];
	EXPECT_EQ(-EINVAL, l3l2q_l3_release_batch(&self->p.l3, bad, 3));
	EXPECT_EQ(-EINVAL, l3l2q_l3_release_batch(&self->p.l3, NULL, 1));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_peek_batch(&self->p.l3, NULL, 1));
	/* Refused: nothing was released, nothing poisoned. */
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m, 3));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
}

TEST_F(l3batch, stale_or_modified_handle_in_a_batch_poisons)
{
	struct l3l2q_msg m[3], bad[2];
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, result(&self->p.l2, 4, (unsigned char)i));
	ASSERT_EQ(3, l3l2q_l3_try_peek_batch(&self->p.l3, m, 3));
	ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m, 1));
	/* m[0] was released: a second release is a stale handle. */
	bad[0] = m[0];
	bad[1] = m[1];
	EXPECT_EQ(-EPROTO, l3l2q_l3_release_batch(&self->p.l3, bad, 2));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, ERRKIND(self));
	EXPECT_EQ(1, th_ctr(&self->p.r, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(1, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek_batch(&self->p.l3, m, 3));
}

TEST_F(l3batch, modified_handle_poisons)
{
	struct l3l2q_msg m[2];

	ASSERT_EQ(0, result(&self->p.l2, 4, 1));
	ASSERT_EQ(0, result(&self->p.l2, 4, 2));
	ASSERT_EQ(2, l3l2q_l3_try_peek_batch(&self->p.l3, m, 2));
	m[1].nbytes = 400;	/* the caller scribbled on it (P2) */
	EXPECT_EQ(-EPROTO, l3l2q_l3_release_batch(&self->p.l3, m, 2));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, ERRKIND(self));
	/* All checked before any was marked: nothing released. */
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
}

/* A hostile L2 claims more results than the ring holds: poison. */
TEST_F(l3batch, forged_tail_poisons_the_batched_peek)
{
	struct l3l2q_msg m[DEPTH];

	th_set_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_TAIL, DEPTH + 1);
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek_batch(&self->p.l3, m, DEPTH));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
	EXPECT_EQ(1, th_ctr(&self->p.r, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
}

/*
 * A forged slot in the middle of a batch: the results before it were
 * valid, but the batch reports the poison, not a count, and the endpoint
 * is dead (nothing taken can be released).
 */
TEST_F(l3batch, forged_slot_inside_a_batch_poisons)
{
	struct l3l2q_msg m[4];
	static const char x[16] = "abcdefghijklmno";
	__u64 base = self->p.r.layout.output_arena_offset;

	peer_output(&self->p.r, 1, L3L2Q_OP_DATA, base, x, 16);
	peer_output(&self->p.r, 2, L3L2Q_OP_DATA, base + 16, x, 16);
	/* Seq 3 is neither at the cursor (base + 32) nor at the base. */
	peer_output(&self->p.r, 3, L3L2Q_OP_DATA, base + 64, x, 16);
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek_batch(&self->p.l3, m, 4));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
	EXPECT_NE(NULL, strstr(l3l2q_ep_error(&self->p.l3.ep)->message,
			       "seq 3"));
	EXPECT_EQ(-EPROTO, l3l2q_l3_release_batch(&self->p.l3, m, 2));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD));
}

/* An opcode the output may not carry (STOP), mid-batch: poison. */
TEST_F(l3batch, stop_on_the_output_poisons_the_batch)
{
	struct l3l2q_msg m[4];
	static const char x[8] = "1234567";
	__u64 base = self->p.r.layout.output_arena_offset;

	peer_output(&self->p.r, 1, L3L2Q_OP_DATA, base, x, 8);
	peer_output(&self->p.r, 2, L3L2Q_OP_STOP, 0, NULL, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek_batch(&self->p.l3, m, 4));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
}

/*
 * The user layer's memfd backend: a window of min(depth 128, 64), results
 * drained 64 at a time across many ring and arena wraps.
 */
TEST(memfd_queue_drains_in_batches_of_the_window)
{
	struct l3l2q_params p = {
		.depth = 128, .input_arena_bytes = 4096,
		.output_arena_bytes = 8192, .backend = L3L2Q_BACKEND_MEMFD,
	};
	static struct l3l2q_msg m[L3L2Q_L3_WINDOW_MAX + 8];
	struct l3l2q_queue *q3 = NULL, *q2 = NULL;
	struct l3l2q_error err;
	struct l3l2q_l3 *l3;
	struct l3l2q_l2 *l2;
	__u64 seq = 0;
	int fd, round, i, n;

	ASSERT_EQ(0, l3l2q_create(&p, &q3, &err)) TH_LOG("%s", err.message);
	fd = l3l2q_peer_fd(q3);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, l3l2q_attach(fd, NULL, &q2, &err)) TH_LOG("%s", err.message);
	close(fd);
	l3 = l3l2q_queue_l3(q3);
	l2 = l3l2q_queue_l2(q2);
	ASSERT_NE(NULL, l3);
	ASSERT_NE(NULL, l2);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < 100; i++)
			if (result(l2, 48, (unsigned char)(seq + i + 1)))
				break;
		/* 100 fit the ring and the arena, not the window: 64, then 36. */
		ASSERT_EQ(100, i);
		n = l3l2q_l3_try_peek_batch(l3, m, L3L2Q_L3_WINDOW_MAX + 8);
		ASSERT_EQ((int)L3L2Q_L3_WINDOW_MAX, n);
		ASSERT_EQ(-EAGAIN, l3l2q_l3_try_peek_batch(l3, m + n, 1));
		for (i = 0; i < n; i++) {
			ASSERT_EQ(seq + 1 + i, m[i].seq);
			ASSERT_TRUE(payload_is(l3, &m[i], 48,
					       (unsigned char)(seq + 1 + i)));
		}
		ASSERT_EQ(0, l3l2q_l3_release_batch(l3, m, (__u32)n));
		seq += (__u64)n;
		n = l3l2q_l3_try_peek_batch(l3, m, L3L2Q_L3_WINDOW_MAX + 8);
		ASSERT_EQ(100 - (int)L3L2Q_L3_WINDOW_MAX, n);
		for (i = 0; i < n; i++)
			ASSERT_TRUE(payload_is(l3, &m[i], 48,
					       (unsigned char)(seq + 1 + i)));
		ASSERT_EQ(0, l3l2q_l3_release_batch(l3, m, (__u32)n));
		seq += (__u64)n;
	}
	EXPECT_EQ(4000u, seq);
	EXPECT_EQ(L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&l3->ep));
	l3l2q_destroy(q2);
	l3l2q_destroy(q3);
}

TEST_HARNESS_MAIN
