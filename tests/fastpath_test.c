// SPDX-License-Identifier: MIT
/*
 * fastpath_test.c - the producer's payload head after a release, from its
 * private history (the last L3L2Q_PROD_HIST publishes) or, further back,
 * from a replay of the released slots (lib/core/producer.c), and the
 * consumer's zero-byte fast path (lib/core/fastpath.h).
 *
 * Both endpoints run over one in-process region with a ring deeper than
 * the history.  After the L2 releases part of what the L3 published, the
 * largest reservation that fits must be exactly what a model of the arena
 * rules (DESIGN.md §2: no split at the wrap, padding only on success)
 * allows, and one byte more must not fit: a wrong payload head shows as
 * either too much or too little space.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "l3l2q_core.h"
#include "kselftest_harness.h"

#define DEPTH	1024u
#define ARENA	8192u
#define ENDS	8192u

FIXTURE(fp) {
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	__u64 ptail;		/* the model's payload cursors */
	__u64 phead;
	__u64 ends[ENDS];	/* model cursor after seq s, at s % ENDS */
};

FIXTURE_SETUP(fp)
{
	ASSERT_EQ(0, th_region_alloc(&self->r, DEPTH, ARENA, 64, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&self->l3, &self->r.mem, &self->r.layout,
				   0, NULL));
	ASSERT_EQ(0, l3l2q_l2_init(&self->l2, &self->r.mem, &self->r.layout,
				   0, 1, NULL));
	self->ptail = self->phead = 0;
}

FIXTURE_TEARDOWN(fp)
{
	th_region_free(&self->r);
}

/* The model: does a reservation of @n fit, and where would it go? */
static int model_fits(__u64 ptail, __u64 phead, __u64 n, __u64 *pos_out)
{
	__u64 pos = ptail % ARENA, pad = n > ARENA - pos ? ARENA - pos : 0;

	if (n > ARENA || (ptail != phead && ptail + pad + n - phead > ARENA))
		return 0;
	*pos_out = pad ? 0 : pos;
	return 1;
}

/* Publish @count messages of sizes 1..16, tracking the model. */
static void publish_some(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fp) *self, unsigned int count)
{
	struct l3l2q_res res;
	__u64 pos, n;
	unsigned int i;

	for (i = 0; i < count; i++) {
		n = 1 + i % 16;
		ASSERT_TRUE(model_fits(self->ptail, self->phead, n, &pos));
		ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->l3, n, &res));
		ASSERT_EQ(self->r.layout.input_arena_offset + pos, res.offset);
		memset(res.data, (int)res.seq, n);
		ASSERT_EQ(0, l3l2q_l3_publish(&self->l3, &res, L3L2Q_OP_DATA));
		self->ptail += (pos == self->ptail % ARENA ? 0 :
				ARENA - self->ptail % ARENA) + n;
		self->ends[res.seq % ENDS] = self->ptail;
	}
}

/* The L2 takes and releases @count messages, checking their bytes. */
static void release_some(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fp) *self, unsigned int count)
{
	struct l3l2q_msg m;
	unsigned int i;
	__u64 b;

	for (i = 0; i < count; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m));
		for (b = 0; b < m.nbytes; b++)
			ASSERT_EQ((unsigned char)m.seq,
				  ((const unsigned char *)m.data)[b]);
		ASSERT_EQ(0, l3l2q_l2_release(&self->l2, &m));
		self->phead = self->ends[m.seq % ENDS];
	}
}

/* The largest reservation the model allows fits; one byte more does not. */
static void check_space(struct __test_metadata *_metadata,
			FIXTURE_DATA(fp) *self)
{
	struct l3l2q_res res;
	__u64 n = ARENA, pos;

	while (n && !model_fits(self->ptail, self->phead, n, &pos))
		n--;
	ASSERT_NE(0u, n);
	if (n < ARENA)
		EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve(&self->l3, n + 1, &res));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->l3, n, &res));
	EXPECT_EQ(self->r.layout.input_arena_offset + pos, res.offset);
	memset(res.data, (int)res.seq, n);
	ASSERT_EQ(0, l3l2q_l3_publish(&self->l3, &res, L3L2Q_OP_DATA));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->l3.ep));
	self->ptail += (pos == self->ptail % ARENA ? 0 :
			ARENA - self->ptail % ARENA) + n;
	self->ends[res.seq % ENDS] = self->ptail;
}

TEST_F(fp, release_within_the_history_frees_exactly_what_was_released)
{
	publish_some(_metadata, self, 600);
	/* 100 stay published: the new head is within the last 256. */
	release_some(_metadata, self, 500);
	check_space(_metadata, self);
}

TEST_F(fp, release_beyond_the_history_is_replayed_and_frees_the_same)
{
	publish_some(_metadata, self, 600);
	/* 500 stay published: the new head is 500 publishes back. */
	release_some(_metadata, self, 100);
	check_space(_metadata, self);
}

TEST_F(fp, many_laps_keep_the_payload_head_exact)
{
	unsigned int lap, n, first;

	/*
	 * The arena wraps many times, and the producer sees the head move
	 * both ways: a few releases (the head far back, replayed) and many
	 * (within the history); each time the free space must be exact.
	 */
	for (lap = 0; lap < 20; lap++) {
		n = 300 + lap;
		first = lap & 1 ? 290 : 20;
		publish_some(_metadata, self, n);
		release_some(_metadata, self, first);
		check_space(_metadata, self);
		/* The rest, and check_space's own message. */
		release_some(_metadata, self, n - first + 1);
	}
	check_space(_metadata, self);
}

TEST_F(fp, a_released_slot_within_the_history_is_not_read_back)
{
	publish_some(_metadata, self, 10);
	release_some(_metadata, self, 10);
	/* The L2 scribbles over a released slot: the producer uses only
	 * what it recorded when it published, so nothing it does depends
	 * on these bytes. */
	in_slot(&self->r, 5)->payload_offset = 12345;
	in_slot(&self->r, 5)->seq = 99;
	check_space(_metadata, self);
}

TEST_F(fp, a_released_slot_beyond_the_history_rewritten_poisons)
{
	struct l3l2q_res res;

	publish_some(_metadata, self, 400);
	release_some(_metadata, self, 100);
	/*
	 * Replayed from the ring: a moved payload is caught when the head
	 * is read -- by a reservation the cached head has no room for.
	 */
	in_slot(&self->r, 50)->payload_offset += 1;
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve(&self->l3,
						ARENA - (self->ptail -
							 self->phead) + 1,
						&res));
	EXPECT_EQ((int)L3L2Q_STATE_POISONED_LOCAL, (int)l3l2q_ep_state(&self->l3.ep));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_L3_ABORT));
}

TEST_F(fp, zero_byte_messages_take_no_payload)
{
	struct l3l2q_msg m;
	int i;

	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->l3, L3L2Q_OP_DATA,
						  NULL, 0));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m));
		EXPECT_EQ(0u, m.nbytes);
		EXPECT_EQ(0u, m.offset);
		EXPECT_EQ(NULL, m.data);
		ASSERT_EQ(0, l3l2q_l2_release(&self->l2, &m));
	}
	check_space(_metadata, self);
}

TEST_F(fp, zero_byte_message_with_an_offset_poisons)
{
	struct l3l2q_msg m;

	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->l3, L3L2Q_OP_DATA, NULL, 0));
	in_slot(&self->r, 1)->payload_offset =
		self->r.layout.input_arena_offset;
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(&self->l2, &m));
	EXPECT_EQ((int)L3L2Q_STATE_POISONED_LOCAL, (int)l3l2q_ep_state(&self->l2.ep));
}

TEST_HARNESS_MAIN
