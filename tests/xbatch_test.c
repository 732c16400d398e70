// SPDX-License-Identifier: MIT
/*
 * xbatch_test.c - the batch APIs in the xsk_ring shape: the producers'
 * l3l2q_{l3,l2}_try_reserve_batch / _submit_batch and the L2 input's
 * l3l2q_l2_try_peek_batch / l3l2q_l2_release_oldest.
 *
 * What a reservation of n gives when fewer fit (the ring, the arena, the
 * arena's end), -EAGAIN when none does, submitting fewer than reserved or
 * none (the rest given back, padding included), every mix with the single
 * calls (refused with a poison, as a second reservation is), a hostile
 * peer's forged head, tail, slot or STOP (detected exactly as with the
 * single calls), wrap-around of ring and arena under batches, one counter
 * store and one need-wakeup check per batch.
 *
 * Both endpoints run over one in-process region (th_region_alloc); a
 * hostile peer is played by writing the shared words by hand.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "l3l2q_core.h"
#include "kselftest_harness.h"

#define DEPTH	8
#define ARENA	512

FIXTURE(xb) {
	struct th_pair p;
};

FIXTURE_SETUP(xb)
{
	ASSERT_EQ(0, th_pair_open(&self->p, DEPTH, ARENA, DEPTH));
}

FIXTURE_TEARDOWN(xb)
{
	th_region_free(&self->p.r);
}

/* A fresh region and both endpoints, the L2 with a window of @window. */
static int reopen(FIXTURE_DATA(xb) *self, __u32 window)
{
	struct th_pair *p = &self->p;

	th_region_free(&p->r);
	if (th_region_alloc(&p->r, DEPTH, ARENA, ARENA, 0) ||
	    l3l2q_l3_init(&p->l3, &p->r.mem, &p->r.layout, 0, NULL))
		return -1;
	return l3l2q_l2_init(&p->l2, &p->r.mem, &p->r.layout, 0, window, NULL);
}

#define L3STATE(self)	((int)l3l2q_ep_state(&(self)->p.l3.ep))
#define L2STATE(self)	((int)l3l2q_ep_state(&(self)->p.l2.ep))
#define L3ERR(self)	(l3l2q_ep_error(&(self)->p.l3.ep))
#define L2ERR(self)	(l3l2q_ep_error(&(self)->p.l2.ep))
#define IN_BASE(self)	((self)->p.r.layout.input_arena_offset)

/* Fill message i of @b with bytes tag + i. */
static void fill(const struct l3l2q_batch *b, __u32 n, unsigned char tag)
{
	__u32 i;

	for (i = 0; i < n; i++)
		memset((unsigned char *)b->data + (size_t)i * b->nbytes,
		       tag + i, b->nbytes);
}

/* @m carries @n bytes, each @tag. */
static int carries(const struct l3l2q_msg *m, __u64 n, unsigned char tag)
{
	__u64 i;

	if (m->nbytes != n || (n && !m->data) || (!n && m->data))
		return 0;
	for (i = 0; i < n; i++)
		if (((const unsigned char *)m->data)[i] != tag)
			return 0;
	return 1;
}

TEST_F(xb, more_than_the_ring_holds_gives_what_fits_then_eagain)
{
	struct l3l2q_msg m[2 * DEPTH];
	struct l3l2q_batch b;
	__u64 c0 = th_wake_checks(&self->p.l3.ep);
	int i;

	ASSERT_EQ(DEPTH, l3l2q_l3_try_reserve_batch(&self->p.l3, 16, 2 * DEPTH,
						    &b));
	EXPECT_EQ(1u, b.seq);
	EXPECT_EQ((__u32)DEPTH, b.n);
	EXPECT_EQ(16u, b.nbytes);
	EXPECT_EQ(th_payload(&self->p.r, IN_BASE(self)), b.data);
	fill(&b, DEPTH, 0x10);
	/* Nothing visible before the submit. */
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, DEPTH,
					   L3L2Q_OP_DATA));
	/* One tail store and one need-wakeup check for the batch. */
	EXPECT_EQ(DEPTH, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(c0 + 1, th_wake_checks(&self->p.l3.ep));
	/* Full: not even one fits. */
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve_batch(&self->p.l3, 16, 1, &b));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L3STATE(self));

	ASSERT_EQ(DEPTH, l3l2q_l2_try_peek_batch(&self->p.l2, m, 2 * DEPTH));
	for (i = 0; i < DEPTH; i++) {
		EXPECT_EQ((__u64)i + 1, m[i].seq);
		EXPECT_EQ(L3L2Q_OP_DATA, m[i].opcode);
		EXPECT_EQ(IN_BASE(self) + 16 * (__u64)i, m[i].offset);
		EXPECT_TRUE(carries(&m[i], 16, (unsigned char)(0x10 + i)));
	}
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek_batch(&self->p.l2, m, 1));
	c0 = th_wake_checks(&self->p.l2.ep);
	ASSERT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, DEPTH));
	EXPECT_EQ(DEPTH, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(c0 + 1, th_wake_checks(&self->p.l2.ep));
	/* Space again. */
	EXPECT_EQ(DEPTH, l3l2q_l3_try_reserve_batch(&self->p.l3, 16, DEPTH, &b));
	EXPECT_EQ((__u64)DEPTH + 1, b.seq);
}

TEST_F(xb, the_arena_bounds_the_batch)
{
	struct l3l2q_batch b;

	/* 512 bytes of arena hold four 128-byte payloads. */
	ASSERT_EQ(4, l3l2q_l3_try_reserve_batch(&self->p.l3, 128, DEPTH, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 4, L3L2Q_OP_DATA));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve_batch(&self->p.l3, 64, 1, &b));
	/* Zero bytes need only slots. */
	ASSERT_EQ(DEPTH - 4, l3l2q_l3_try_reserve_batch(&self->p.l3, 0, DEPTH,
							 &b));
	EXPECT_EQ(NULL, b.data);
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, b.n,
					   L3L2Q_OP_ERROR));
	EXPECT_EQ(DEPTH, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	/* Too big for the arena at all. */
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_try_reserve_batch(&self->p.l3, ARENA + 1,
							1, &b));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L3STATE(self));
}

TEST_F(xb, bad_arguments_are_refused_and_change_nothing)
{
	struct l3l2q_batch b;

	EXPECT_EQ(-EINVAL, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 0, &b));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 1, NULL));
	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	EXPECT_EQ(-EINVAL, l3l2q_l3_submit_batch(&self->p.l3, NULL, 1,
						 L3L2Q_OP_DATA));
	/* More than reserved: refused, the batch stays reserved. */
	EXPECT_EQ(-EINVAL, l3l2q_l3_submit_batch(&self->p.l3, &b, 3,
						 L3L2Q_OP_DATA));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L3STATE(self));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 2, L3L2Q_OP_DATA));
	EXPECT_EQ(2, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(-EINVAL, l3l2q_l2_try_peek_batch(&self->p.l2, NULL, 1));
	EXPECT_EQ(0, l3l2q_l2_try_peek_batch(&self->p.l2, NULL, 0));
	EXPECT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, 0));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L2STATE(self));
}

TEST_F(xb, submitting_fewer_gives_the_rest_back)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;

	ASSERT_EQ(6, l3l2q_l3_try_reserve_batch(&self->p.l3, 64, 6, &b));
	fill(&b, 2, 0x40);
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 2, L3L2Q_OP_DATA));
	EXPECT_EQ(2, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	/* The next run starts right after the two submitted. */
	ASSERT_EQ(4, l3l2q_l3_try_reserve_batch(&self->p.l3, 64, 4, &b));
	EXPECT_EQ(3u, b.seq);
	EXPECT_EQ(th_payload(&self->p.r, IN_BASE(self) + 128), b.data);
	fill(&b, 4, 0x50);
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 4, L3L2Q_OP_DATA));
	ASSERT_EQ(6, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_TRUE(carries(&m[1], 64, 0x41));
	EXPECT_TRUE(carries(&m[2], 64, 0x50));
	EXPECT_EQ(IN_BASE(self) + 128, m[2].offset);
	EXPECT_TRUE(carries(&m[5], 64, 0x53));
	EXPECT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, 6));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L2STATE(self));
}

/*
 * Submitting none cancels: nothing published, and padding a run skipped
 * to the arena's base goes back too (committed only with a success, P9).
 */
TEST_F(xb, submitting_none_cancels_padding_included)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;
	struct l3l2q_res res;

	/* Cursor to 448 of 512: seven 64-byte messages, released. */
	ASSERT_EQ(7, l3l2q_l3_try_reserve_batch(&self->p.l3, 64, 7, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 7, L3L2Q_OP_DATA));
	ASSERT_EQ(7, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	ASSERT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, 7));
	/*
	 * 128 bytes do not fit before the end: the run starts at the base,
	 * and the empty arena takes four.
	 */
	ASSERT_EQ(4, l3l2q_l3_try_reserve_batch(&self->p.l3, 128, 8, &b));
	EXPECT_EQ(th_payload(&self->p.r, IN_BASE(self)), b.data);
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 0, L3L2Q_OP_DATA));
	EXPECT_EQ(7, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	/* The cursor is back at 448: a 64-byte message goes there. */
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 64, &res));
	EXPECT_EQ(8u, res.seq);
	EXPECT_EQ(IN_BASE(self) + 448, res.offset);
	memset(res.data, 0x77, 64);
	ASSERT_EQ(0, l3l2q_l3_publish(&self->p.l3, &res, L3L2Q_OP_DATA));
	ASSERT_EQ(1, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_TRUE(carries(&m[0], 64, 0x77));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L2STATE(self));
}

/* A reservation that finds no space makes deferred messages visible. */
TEST_F(xb, no_space_flushes_what_was_deferred)
{
	struct l3l2q_batch b;
	struct l3l2q_res res;

	ASSERT_EQ(DEPTH - 1, l3l2q_l3_try_reserve_batch(&self->p.l3, 8,
							 DEPTH - 1, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, b.n,
					   L3L2Q_OP_DATA));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	ASSERT_EQ(0, l3l2q_l3_publish_defer(&self->p.l3, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(DEPTH - 1, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 1, &b));
	EXPECT_EQ(DEPTH, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

/* A submit also publishes what publish_defer left behind. */
TEST_F(xb, submit_publishes_the_deferred_ones_with_it)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;
	struct l3l2q_res res;

	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	memset(res.data, 0x11, 8);
	ASSERT_EQ(0, l3l2q_l3_publish_defer(&self->p.l3, &res, L3L2Q_OP_DATA));
	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	fill(&b, 2, 0x21);
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 2, L3L2Q_OP_DATA));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(3, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_TRUE(carries(&m[0], 8, 0x11));
	EXPECT_TRUE(carries(&m[2], 8, 0x22));
	/* A cancel with deferred ones still publishes them. */
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	ASSERT_EQ(0, l3l2q_l3_publish_defer(&self->p.l3, &res, L3L2Q_OP_DATA));
	ASSERT_EQ(1, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 1, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 0, L3L2Q_OP_DATA));
	EXPECT_EQ(4, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(xb, single_reserve_during_a_batch_poisons)
{
	struct l3l2q_batch b;
	struct l3l2q_res res;

	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L3ERR(self)->kind);
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, L3STATE(self));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(xb, batch_during_a_single_reservation_poisons)
{
	struct l3l2q_batch b;
	struct l3l2q_res res;

	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 8, &res));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L3ERR(self)->kind);
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, L3STATE(self));
}

TEST_F(xb, second_batch_poisons)
{
	struct l3l2q_batch b, b2;

	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b2));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L3ERR(self)->kind);
}

/* A single publish that names the batch's first message is not a batch. */
TEST_F(xb, single_publish_of_a_batch_slot_poisons)
{
	struct l3l2q_batch b;
	struct l3l2q_res res;

	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	res.seq = b.seq;
	res.offset = IN_BASE(self);
	res.nbytes = 8;
	res.data = b.data;
	EXPECT_EQ(-EPROTO, l3l2q_l3_publish(&self->p.l3, &res, L3L2Q_OP_DATA));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L3ERR(self)->kind);
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(xb, submit_without_a_batch_poisons)
{
	struct l3l2q_batch b;
	struct l3l2q_res res;

	memset(&b, 0, sizeof(b));
	b.seq = 1;
	b.n = 1;
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->p.l3, 0, &res));
	EXPECT_EQ(-EPROTO, l3l2q_l3_submit_batch(&self->p.l3, &b, 1,
						 L3L2Q_OP_DATA));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L3ERR(self)->kind);
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

/* Each field of the batch compared with what was handed out. */
TEST_F(xb, modified_or_stale_batch_poisons)
{
	struct l3l2q_batch b, x;
	int field;

	for (field = 0; field < 5; field++) {
		ASSERT_EQ(0, reopen(self, DEPTH));
		ASSERT_EQ(3, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 3, &b));
		x = b;
		switch (field) {
		case 0: x.seq++; break;
		case 1: x.nbytes = 4; break;
		case 2: x.data = (unsigned char *)x.data + 8; break;
		case 3: x.n = 2; break;
		case 4:	/* stale: submitted before */
			ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 1,
							   L3L2Q_OP_DATA));
			break;
		}
		EXPECT_EQ(-EPROTO, l3l2q_l3_submit_batch(&self->p.l3, &x, 1,
							 L3L2Q_OP_DATA));
		EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L3ERR(self)->kind);
		EXPECT_EQ(field == 4 ? 1 : 0,
			  th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
	}
}

/* STOP cannot be batched (request_stop publishes it): poison, as publish. */
TEST_F(xb, stop_or_invalid_opcode_in_a_submit_poisons)
{
	struct l3l2q_batch b;

	ASSERT_EQ(1, l3l2q_l3_try_reserve_batch(&self->p.l3, 0, 1, &b));
	EXPECT_EQ(-EPROTO, l3l2q_l3_submit_batch(&self->p.l3, &b, 1,
						 L3L2Q_OP_STOP));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, L3ERR(self)->kind);
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(xb, stopped_input_refuses_a_batch_without_poison)
{
	struct l3l2q_batch b;

	ASSERT_EQ(0, l3l2q_l3_try_request_stop(&self->p.l3));
	EXPECT_EQ(-EPIPE, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 1, &b));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L3STATE(self));
}

/* ---- a hostile L2 forging the input head ---- */

TEST_F(xb, forged_head_beyond_the_tail_poisons_the_batch)
{
	struct l3l2q_batch b;

	th_set_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD, 1);
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 4, &b));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, L3ERR(self)->kind);
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, L3STATE(self));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(xb, forged_head_going_backwards_poisons_the_batch)
{
	struct l3l2q_batch b;

	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 2, L3L2Q_OP_DATA));
	th_set_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD, -1);
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, L3ERR(self)->kind);
}

/* ---- a hostile L3 forging the input tail and slots ---- */

TEST_F(xb, forged_tail_poisons_the_batched_peek)
{
	struct l3l2q_msg m[DEPTH];

	th_set_ctr(&self->p.r, L3L2Q_CTR_INPUT_TAIL, DEPTH + 1);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, L2ERR(self)->kind);
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, L2STATE(self));
	EXPECT_EQ(1, th_ctr(&self->p.r, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
}

/*
 * Each kind of forged slot in the middle of a batch: the messages before
 * it are valid, but the call reports the poison, and nothing is released.
 */
TEST_F(xb, forged_slot_inside_a_batch_poisons)
{
	static const struct { __u64 seq, op, off, n; const char *what; } bad[] = {
		{ 9, L3L2Q_OP_DATA, 32, 16, "seq" },	/* wrong seq */
		{ 3, 0, 32, 16, "opcode" },		/* INVALID */
		{ 3, 7, 32, 16, "opcode" },		/* unknown */
		{ 3, L3L2Q_OP_DATA, 64, 16, "offset" },	/* off the cursor */
		{ 3, L3L2Q_OP_DATA, 32, ARENA, "offset" },	/* past the end */
		{ 3, L3L2Q_OP_DATA, 8, 0, "zero-byte" },	/* 0 B, offset */
	};
	struct l3l2q_msg m[4];
	unsigned int k;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		__u64 base;

		ASSERT_EQ(0, reopen(self, DEPTH));
		base = IN_BASE(self);
		th_publish_input(&self->p.r, 1, L3L2Q_OP_DATA, base, 16);
		th_publish_input(&self->p.r, 2, L3L2Q_OP_DATA, base + 16, 16);
		th_publish_input(&self->p.r, 3, bad[k].op,
				 bad[k].n ? base + bad[k].off : bad[k].off,
				 bad[k].n);
		if (bad[k].seq != 3)
			th_slot(&self->p.r, self->p.r.layout.input_desc_offset,
				3)->seq = bad[k].seq;
		EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek_batch(&self->p.l2, m, 4));
		EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR,
			  L2ERR(self)->kind);
		EXPECT_NE(NULL, strstr(L2ERR(self)->message, bad[k].what));
		EXPECT_EQ(-EPROTO, l3l2q_l2_release_oldest(&self->p.l2, 2));
		EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	}
}

/* A payload the L3 wrapped to the arena's base is taken (complete path). */
TEST_F(xb, a_wrapped_payload_inside_a_batch_is_taken)
{
	struct l3l2q_msg m[4];
	__u64 base = IN_BASE(self);

	th_publish_input(&self->p.r, 1, L3L2Q_OP_DATA, base, 400);
	th_publish_input(&self->p.r, 2, L3L2Q_OP_DATA, base + 400, 0 + 100);
	ASSERT_EQ(2, l3l2q_l2_try_peek_batch(&self->p.l2, m, 4));
	ASSERT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, 2));
	/* Cursor at 500: 64 bytes go to the base, then 8 after them. */
	th_publish_input(&self->p.r, 3, L3L2Q_OP_DATA, base, 64);
	th_publish_input(&self->p.r, 4, L3L2Q_OP_DATA, base + 64, 8);
	ASSERT_EQ(2, l3l2q_l2_try_peek_batch(&self->p.l2, m, 4));
	EXPECT_EQ(base, m[0].offset);
	EXPECT_EQ(base + 64, m[1].offset);
	EXPECT_EQ(L3L2Q_STATE_LIVE, L2STATE(self));
}

/* The L2 input may carry STOP: always the last of a batch. */
TEST_F(xb, stop_ends_the_batched_peek_and_drains)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;

	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 2, L3L2Q_OP_DATA));
	ASSERT_EQ(0, l3l2q_l3_try_request_stop(&self->p.l3));
	ASSERT_EQ(3, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_EQ(L3L2Q_OP_STOP, m[2].opcode);
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_EQ(0, l3l2q_l2_drained(&self->p.l2));
	ASSERT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, 3));
	EXPECT_EQ(1, l3l2q_l2_drained(&self->p.l2));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
}

/* Input published after STOP is corruption, batched or not. */
TEST_F(xb, input_after_stop_poisons_the_batched_peek)
{
	struct l3l2q_msg m[DEPTH];

	th_publish_input(&self->p.r, 1, L3L2Q_OP_STOP, 0, 0);
	th_publish_input(&self->p.r, 2, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, L2ERR(self)->kind);
}

/* ---- release by count ---- */

TEST_F(xb, release_oldest_of_more_than_held_poisons)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;

	ASSERT_EQ(2, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 2, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 2, L3L2Q_OP_DATA));
	ASSERT_EQ(2, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_EQ(-EPROTO, l3l2q_l2_release_oldest(&self->p.l2, 3));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L2ERR(self)->kind);
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(xb, release_oldest_of_one_already_released_poisons)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;

	ASSERT_EQ(3, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 3, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 3, L3L2Q_OP_DATA));
	ASSERT_EQ(3, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	/* The second completed out of order: held until the first goes. */
	ASSERT_EQ(0, l3l2q_l2_release(&self->p.l2, &m[1]));
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(-EPROTO, l3l2q_l2_release_oldest(&self->p.l2, 2));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L2ERR(self)->kind);
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(xb, release_oldest_frees_completed_ones_behind_it)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;

	ASSERT_EQ(4, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 4, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 4, L3L2Q_OP_DATA));
	ASSERT_EQ(4, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	ASSERT_EQ(0, l3l2q_l2_release(&self->p.l2, &m[1]));
	ASSERT_EQ(0, l3l2q_l2_release(&self->p.l2, &m[2]));
	ASSERT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, 1));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	/* Only the fourth is held now; its handle still works. */
	ASSERT_EQ(0, l3l2q_l2_release(&self->p.l2, &m[3]));
	EXPECT_EQ(4, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L2STATE(self));
}

/* With max_inflight 1 a second peek is a broken caller, batched or not. */
TEST_F(xb, batched_peek_in_single_mode_takes_one_then_poisons)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;

	ASSERT_EQ(0, reopen(self, 1));
	ASSERT_EQ(3, l3l2q_l3_try_reserve_batch(&self->p.l3, 8, 3, &b));
	ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b, 3, L3L2Q_OP_DATA));
	ASSERT_EQ(1, l3l2q_l2_try_peek_batch(&self->p.l2, m, DEPTH));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek_batch(&self->p.l2, m + 1, DEPTH));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L2ERR(self)->kind);
}

/* ---- wrap-around ---- */

/*
 * Many batches of sizes that do not divide the arena: every run lies
 * inside the arena and never across its end, the ring and the arena wrap
 * many times, and every message arrives once, in order, intact.
 */
TEST_F(xb, ring_and_arena_wrap_under_batches)
{
	static const __u64 sizes[] = { 48, 0, 100, 8, 200, 64, 1, 512 };
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;
	__u64 sent = 0, got = 0, end, i;
	unsigned char *lo = th_payload(&self->p.r, IN_BASE(self));
	unsigned int round;
	int k, j;

	for (round = 0; round < 400; round++) {
		__u64 nb = sizes[round % 8];
		__u32 want = 1 + round % DEPTH;

		k = l3l2q_l3_try_reserve_batch(&self->p.l3, nb, want, &b);
		if (k == -EAGAIN) {
			ASSERT_NE(got, sent);	/* only when something is held */
		} else {
			ASSERT_LT(0, k);
			ASSERT_GE(want, (__u32)k);
			EXPECT_EQ(sent + 1, b.seq);
			if (nb) {
				end = (__u64)((unsigned char *)b.data - lo) +
				      (__u64)k * nb;
				EXPECT_GE((unsigned char *)b.data, lo);
				EXPECT_LE(end, (__u64)ARENA);
			}
			for (j = 0; j < k; j++)
				if (nb)
					memset((unsigned char *)b.data +
					       (size_t)j * nb,
					       (unsigned char)(sent + 1 + j), nb);
			/* Now and then submit fewer than reserved. */
			if (k > 1 && round % 5 == 0)
				k--;
			ASSERT_EQ(0, l3l2q_l3_submit_batch(&self->p.l3, &b,
							   (__u32)k,
							   L3L2Q_OP_DATA));
			sent += (__u64)k;
		}
		/* Drain some, sometimes all. */
		k = l3l2q_l2_try_peek_batch(&self->p.l2, m, round % 3 ? 2 : DEPTH);
		if (k == -EAGAIN) {
			ASSERT_EQ(got, sent);
			continue;
		}
		ASSERT_LT(0, k);
		for (j = 0; j < k; j++) {
			got++;
			ASSERT_EQ(got, m[j].seq);
			for (i = 0; i < m[j].nbytes; i++)
				ASSERT_EQ((unsigned char)got,
					  ((const unsigned char *)m[j].data)[i]);
		}
		ASSERT_EQ(0, l3l2q_l2_release_oldest(&self->p.l2, (__u32)k));
		EXPECT_EQ((__s32)got, th_ctr(&self->p.r, L3L2Q_CTR_INPUT_HEAD));
	}
	EXPECT_LT((__u64)(10 * DEPTH), sent);	/* the ring wrapped many times */
	EXPECT_EQ(L3L2Q_STATE_LIVE, L3STATE(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, L2STATE(self));
}

/* ---- the L2 output mirrors the L3 input ---- */

TEST_F(xb, l2_output_batches_reach_the_l3)
{
	struct l3l2q_msg m[DEPTH];
	struct l3l2q_batch b;
	struct l3l2q_res res;
	int i;

	ASSERT_EQ(5, l3l2q_l2_try_reserve_batch(&self->p.l2, 100, DEPTH, &b));
	fill(&b, 5, 0x60);
	ASSERT_EQ(0, l3l2q_l2_submit_batch(&self->p.l2, &b, 3, L3L2Q_OP_ERROR));
	EXPECT_EQ(3, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_TAIL));
	ASSERT_EQ(3, l3l2q_l3_try_peek_batch(&self->p.l3, m, DEPTH));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(L3L2Q_OP_ERROR, m[i].opcode);
		EXPECT_TRUE(carries(&m[i], 100, (unsigned char)(0x60 + i)));
	}
	ASSERT_EQ(0, l3l2q_l3_release_batch(&self->p.l3, m, 3));
	/* Cursor at 300: one 200-byte payload fits before the end. */
	ASSERT_EQ(1, l3l2q_l2_try_reserve_batch(&self->p.l2, 200, DEPTH, &b));
	EXPECT_EQ(th_payload(&self->p.r, self->p.r.layout.output_arena_offset +
			     300), b.data);
	/* A reservation while the batch is held poisons. */
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(&self->p.l2, 8, &res));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, L2ERR(self)->kind);
}

TEST_F(xb, forged_output_head_poisons_the_l2_batch)
{
	struct l3l2q_batch b;

	th_set_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_HEAD, 1);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve_batch(&self->p.l2, 8, 2, &b));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, L2ERR(self)->kind);
	EXPECT_EQ(0, th_ctr(&self->p.r, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_HARNESS_MAIN
