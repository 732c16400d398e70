// SPDX-License-Identifier: MIT
/*
 * mp_test.c - many threads on one L3 endpoint (l3l2q_mp.h).
 *
 * "mpu": one thread drives an MP/MC L3 and an ordinary L2 over an
 * in-process region, step by step, so every rule is checked at a known
 * interleaving: claims in order, the tail only over the completed prefix,
 * the producer's checks (wrap padding, replay of released slots, the head
 * counter), the reservation checks, STOP, MC release order and its checks.
 * "mp": real threads over a memfd queue against an L2 process
 * (tests/mp_stream.h): every message exactly once, each producer's order.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "l3l2q_mp.h"
#include "kselftest_harness.h"
#include "mp_stream.h"

#define DEPTH	4
#define ARENA	256

FIXTURE(mpu) {
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	struct l3l2q_mp mp;
	struct l3l2q_mp_slot slots[DEPTH];
	struct l3l2q_mc_slot held[DEPTH];
	struct l3l2q_entry win[DEPTH + 1];
};

FIXTURE_SETUP(mpu)
{
	struct l3l2q_mp_params p = {
		.flags = L3L2Q_MP_ALL, .slots = self->slots,
		.held = self->held, .win = self->win,
	};

	ASSERT_EQ(0, th_region_alloc(&self->r, DEPTH, ARENA, ARENA, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&self->l3, &self->r.mem, &self->r.layout,
				   0, NULL));
	ASSERT_EQ(0, l3l2q_l2_init(&self->l2, &self->r.mem, &self->r.layout,
				   0, DEPTH, NULL));
	ASSERT_EQ(0, l3l2q_l3_mp_init(&self->l3, &self->mp, &p));
}

FIXTURE_TEARDOWN(mpu)
{
	th_region_free(&self->r);
}

static int claim(struct l3l2q_l3 *q, __u64 n, unsigned char tag,
		 struct l3l2q_res *res)
{
	int ret = l3l2q_l3_mp_try_reserve(q, n, res);

	if (!ret && n)
		memset(res->data, tag, n);
	return ret;
}

static const char *last_msg(struct l3l2q_l3 *q)
{
	return l3l2q_ep_last_error(&q->ep)->message;
}

/* L2 side: take one input, check its size and fill byte, release it. */
static int take(struct l3l2q_l2 *l2, __u64 n, unsigned char tag)
{
	struct l3l2q_msg m;
	__u64 i;
	int ret = l3l2q_l2_try_peek(l2, &m);

	if (ret)
		return ret;
	if (m.nbytes != n)
		return -1000;
	for (i = 0; i < n; i++)
		if (((const unsigned char *)m.data)[i] != tag)
			return -1001;
	return l3l2q_l2_release(l2, &m);
}

TEST_F(mpu, claims_take_slots_and_spans_in_claim_order)
{
	struct l3l2q_res a, b, c;

	ASSERT_EQ(0, claim(&self->l3, 10, 1, &a));
	ASSERT_EQ(0, claim(&self->l3, 0, 2, &b));
	ASSERT_EQ(0, claim(&self->l3, 20, 3, &c));
	EXPECT_EQ(1u, a.seq);
	EXPECT_EQ(2u, b.seq);
	EXPECT_EQ(3u, c.seq);
	EXPECT_EQ(self->r.layout.input_arena_offset, a.offset);
	EXPECT_EQ(0u, b.offset);		/* zero-byte: the sentinel */
	EXPECT_EQ(NULL, b.data);
	EXPECT_EQ(a.offset + 10, c.offset);	/* spans back to back */
}

TEST_F(mpu, tail_moves_only_over_the_completed_prefix)
{
	struct l3l2q_res a, b, c;

	ASSERT_EQ(0, claim(&self->l3, 10, 1, &a));
	ASSERT_EQ(0, claim(&self->l3, 20, 2, &b));
	ASSERT_EQ(0, claim(&self->l3, 30, 3, &c));
	/* The later ones first: written, but the L2 sees nothing. */
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &c, L3L2Q_OP_DATA));
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &b, L3L2Q_OP_DATA));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(-EAGAIN, take(&self->l2, 10, 1));
	/* The first one completes the prefix: all three at once, in order. */
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &a, L3L2Q_OP_DATA));
	EXPECT_EQ(3, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, take(&self->l2, 10, 1));
	EXPECT_EQ(0, take(&self->l2, 20, 2));
	EXPECT_EQ(0, take(&self->l2, 30, 3));
}

/*
 * A claimer that stalls between claim and publish only delays the others:
 * they keep claiming until the ring is full (-EAGAIN, no hang), and their
 * messages appear the moment it publishes.
 */
TEST_F(mpu, stalled_claim_delays_the_others_without_blocking_them)
{
	struct l3l2q_res stalled, r[DEPTH];
	int i;

	ASSERT_EQ(0, claim(&self->l3, 8, 9, &stalled));
	for (i = 0; i < DEPTH - 1; i++) {
		ASSERT_EQ(0, claim(&self->l3, 8, (unsigned char)i, &r[i]));
		ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &r[i],
						 L3L2Q_OP_DATA));
	}
	EXPECT_EQ(-EAGAIN, claim(&self->l3, 8, 0, &r[0]));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &stalled, L3L2Q_OP_DATA));
	EXPECT_EQ(DEPTH, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, take(&self->l2, 8, 9));
	for (i = 0; i < DEPTH - 1; i++)
		EXPECT_EQ(0, take(&self->l2, 8, (unsigned char)i));
}

/*
 * The arena rules are producer.c's: the same sizes give the same offsets
 * as a single producer, wrap padding included, and the L2 accepts them.
 */
TEST_F(mpu, arena_spans_and_wrap_padding_match_the_single_producer)
{
	static const __u64 sizes[] = { 200, 100, 56, 0, 256, 17, 239, 64, 64,
				       128, 1, 255, 30, 226 };
	struct th_region r2;
	struct l3l2q_l3 sp;
	struct l3l2q_res a, b;
	unsigned int i;

	ASSERT_EQ(0, th_region_alloc(&r2, DEPTH, ARENA, ARENA, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&sp, &r2.mem, &r2.layout, 0, NULL));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ASSERT_EQ(0, claim(&self->l3, sizes[i], (unsigned char)i, &a));
		ASSERT_EQ(0, l3l2q_l3_try_reserve(&sp, sizes[i], &b));
		EXPECT_EQ(b.offset, a.offset) TH_LOG("message %u (%llu bytes)",
			i, (unsigned long long)sizes[i]);
		ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &a, L3L2Q_OP_DATA));
		ASSERT_EQ(0, l3l2q_l3_publish(&sp, &b, L3L2Q_OP_DATA));
		ASSERT_EQ(0, take(&self->l2, sizes[i], (unsigned char)i));
		/* the single producer's consumer: release by hand */
		th_set_ctr(&r2, L3L2Q_CTR_INPUT_HEAD, (__s32)(i + 1));
	}
	th_region_free(&r2);
}

TEST_F(mpu, full_ring_and_full_arena_are_eagain_until_released)
{
	struct l3l2q_res r[DEPTH + 1];
	int i;

	for (i = 0; i < DEPTH; i++) {
		ASSERT_EQ(0, claim(&self->l3, 1, (unsigned char)i, &r[i]));
		ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &r[i],
						 L3L2Q_OP_DATA));
	}
	EXPECT_EQ(-EAGAIN, claim(&self->l3, 0, 0, &r[DEPTH]));
	ASSERT_EQ(0, take(&self->l2, 1, 0));
	EXPECT_EQ(0, claim(&self->l3, 0, 0, &r[DEPTH]));
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &r[DEPTH], L3L2Q_OP_DATA));
	for (i = 1; i < DEPTH; i++)
		ASSERT_EQ(0, take(&self->l2, 1, (unsigned char)i));
	ASSERT_EQ(0, take(&self->l2, 0, 0));
	/* The arena: 200 live bytes leave no room for 100 more. */
	ASSERT_EQ(0, claim(&self->l3, 200, 7, &r[0]));
	EXPECT_EQ(-EAGAIN, claim(&self->l3, 100, 8, &r[1]));
	EXPECT_EQ(-EMSGSIZE, claim(&self->l3, ARENA + 1, 8, &r[1]));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->l3.ep));
}

/* Fill the ring, let the L2 take and release all of it. */
static void cycle(struct __test_metadata *_metadata, FIXTURE_DATA(mpu) *self)
{
	struct l3l2q_res r;
	int i;

	for (i = 0; i < DEPTH; i++) {
		ASSERT_EQ(0, claim(&self->l3, 16, (unsigned char)i, &r));
		ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &r, L3L2Q_OP_DATA));
	}
	for (i = 0; i < DEPTH; i++)
		ASSERT_EQ(0, take(&self->l2, 16, (unsigned char)i));
}

TEST_F(mpu, released_slot_rewritten_by_the_l2_poisons_on_replay)
{
	struct l3l2q_res r;

	cycle(_metadata, self);
	/* A hostile L2 moves a released slot's payload. */
	in_slot(&self->r, 2)->payload_offset += 16;
	EXPECT_EQ(-EPROTO, claim(&self->l3, 16, 0, &r));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "payload replay offset mismatch at seq 2"))
		TH_LOG("%s", last_msg(&self->l3));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_L3_ABORT));
	/* Poison is terminal, for every call of every thread. */
	EXPECT_EQ(-EPROTO, claim(&self->l3, 0, 0, &r));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mp_try_request_stop(&self->l3));
}

TEST_F(mpu, released_slot_seq_rewritten_poisons_on_replay)
{
	struct l3l2q_res r;

	cycle(_metadata, self);
	in_slot(&self->r, 3)->seq = 99;
	EXPECT_EQ(-EPROTO, claim(&self->l3, 16, 0, &r));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "release replay seq mismatch"))
		TH_LOG("%s", last_msg(&self->l3));
}

TEST_F(mpu, head_counter_beyond_the_published_tail_poisons)
{
	struct l3l2q_res r;
	int i;

	for (i = 0; i < DEPTH; i++) {
		ASSERT_EQ(0, claim(&self->l3, 1, 0, &r));
		if (i < 2)	/* two published, two only claimed */
			ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &r,
							 L3L2Q_OP_DATA));
	}
	th_set_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD, 3);
	EXPECT_EQ(-EPROTO, claim(&self->l3, 1, 0, &r));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "counter reconstruction failed"))
		TH_LOG("%s", last_msg(&self->l3));
}

TEST_F(mpu, second_publish_of_a_reservation_poisons)
{
	struct l3l2q_res r;

	ASSERT_EQ(0, claim(&self->l3, 4, 1, &r));
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &r, L3L2Q_OP_DATA));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mp_publish(&self->l3, &r, L3L2Q_OP_DATA));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, l3l2q_ep_error(&self->l3.ep)->kind);
	EXPECT_EQ((int)L3L2Q_STATE_POISONED_LOCAL, (int)l3l2q_ep_state(&self->l3.ep));
}

TEST_F(mpu, modified_or_unknown_reservation_poisons)
{
	struct l3l2q_res r, bad;

	ASSERT_EQ(0, claim(&self->l3, 4, 1, &r));
	bad = r;
	bad.seq += 1;			/* not claimed */
	EXPECT_EQ(-EPROTO, l3l2q_l3_mp_publish(&self->l3, &bad, L3L2Q_OP_DATA));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "unknown reservation"));
}

TEST_F(mpu, modified_reservation_size_poisons)
{
	struct l3l2q_res r;

	ASSERT_EQ(0, claim(&self->l3, 4, 1, &r));
	r.nbytes = 8;
	EXPECT_EQ(-EPROTO, l3l2q_l3_mp_publish(&self->l3, &r, L3L2Q_OP_DATA));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "fields were modified"));
}

TEST_F(mpu, stop_on_a_data_reservation_poisons)
{
	struct l3l2q_res r;

	ASSERT_EQ(0, claim(&self->l3, 0, 1, &r));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mp_publish(&self->l3, &r, L3L2Q_OP_STOP));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR,
		  l3l2q_ep_error(&self->l3.ep)->kind);
}

TEST_F(mpu, stop_comes_after_earlier_claims_and_ends_claiming)
{
	struct l3l2q_res a;
	struct l3l2q_msg m;

	struct l3l2q_res b;

	ASSERT_EQ(0, claim(&self->l3, 5, 4, &a));
	ASSERT_EQ(0, l3l2q_l3_mp_try_request_stop(&self->l3));
	/* Nothing after STOP: every later claim and enqueue is -EPIPE. */
	EXPECT_EQ(-EPIPE, claim(&self->l3, 1, 0, &b));
	EXPECT_EQ(-EPIPE, l3l2q_l3_mp_try_enqueue(&self->l3, L3L2Q_OP_DATA,
						  "x", 1));
	EXPECT_EQ(-EPIPE, l3l2q_l3_mp_try_request_stop(&self->l3));
	/* STOP waits behind the claim made before it. */
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&self->l3, &a, L3L2Q_OP_DATA));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, take(&self->l2, 5, 4));
	ASSERT_EQ(0, l3l2q_l2_try_peek(&self->l2, &m));
	EXPECT_EQ(L3L2Q_OP_STOP, m.opcode);
	EXPECT_EQ(0, l3l2q_l2_release(&self->l2, &m));
	EXPECT_EQ(1, l3l2q_l2_drained(&self->l2));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->l3.ep));
}

TEST_F(mpu, arguments_are_refused_without_poison)
{
	struct l3l2q_res r;

	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_try_reserve(&self->l3, 1, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_publish(&self->l3, NULL, L3L2Q_OP_DATA));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_try_enqueue(&self->l3, L3L2Q_OP_STOP,
						   NULL, 0));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "opcode must be DATA or ERROR"));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_try_enqueue(&self->l3, L3L2Q_OP_DATA,
						   NULL, 3));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_mp_try_enqueue(&self->l3, L3L2Q_OP_DATA,
						     "x", ARENA + 1));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mc_try_peek(&self->l3, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mc_release(&self->l3, NULL));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->l3.ep));
	EXPECT_EQ(0, claim(&self->l3, 1, 1, &r));
}

TEST_F(mpu, single_thread_calls_refused_in_multi_thread_mode)
{
	struct l3l2q_res r;
	struct l3l2q_msg m;

	EXPECT_EQ(-EINVAL, l3l2q_l3_try_enqueue(&self->l3, L3L2Q_OP_DATA, "x", 1));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "multi-producer mode"));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_reserve(&self->l3, 1, &r));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_request_stop(&self->l3));
	EXPECT_EQ(-EINVAL, l3l2q_l3_flush(&self->l3));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_peek(&self->l3, &m));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "multi-consumer mode"));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_dequeue(&self->l3, NULL, 0, &m));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->l3.ep));
}

TEST(mp_init_refuses_bad_parameters)
{
	struct l3l2q_mp_slot slots[8];
	struct l3l2q_mc_slot held[8];
	struct l3l2q_entry win[9];
	struct l3l2q_mp_params p = { .flags = L3L2Q_MP_ALL, .slots = slots,
				     .held = held, .win = win };
	struct l3l2q_layout big;
	struct l3l2q_mem mem;
	struct th_region r;
	struct l3l2q_l3 q;
	struct l3l2q_mp mp;
	struct l3l2q_res res;

	ASSERT_EQ(0, th_region_alloc(&r, 8, 512, 512, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&q, &r.mem, &r.layout, 0, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_init(&q, &mp, NULL));
	p.flags = 4;
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_init(&q, &mp, &p));
	p.flags = L3L2Q_MP_PRODUCERS;
	p.slots = NULL;
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_init(&q, &mp, &p));
	EXPECT_NE(NULL, strstr(last_msg(&q), "slots"));
	p.slots = slots;
	/* A reservation is active. */
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&q, 1, &res));
	EXPECT_EQ(-EBUSY, l3l2q_l3_mp_init(&q, &mp, &p));
	/* Published, not released by the L2. */
	ASSERT_EQ(0, l3l2q_l3_publish(&q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(-EBUSY, l3l2q_l3_mp_init(&q, &mp, &p));
	EXPECT_NE(NULL, strstr(last_msg(&q), "in flight"));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&q.ep));
	/* Released: now it may. */
	th_set_ctr(&r, L3L2Q_CTR_INPUT_HEAD, 1);
	EXPECT_EQ(0, l3l2q_l3_mp_init(&q, &mp, &p));
	EXPECT_EQ(-EBUSY, l3l2q_l3_mp_init(&q, &mp, &p));
	th_region_free(&r);

	/* An input arena the claim word cannot hold (no memory touched). */
	ASSERT_EQ((int)L3L2Q_LAYOUT_OK,
		  (int)l3l2q_layout(8, (1ull << 30) + 64, 64, &big));
	memset(&mem, 0, sizeof(mem));
	mem.payload = slots;
	mem.counters = aligned_alloc(64, 384);
	ASSERT_NE(NULL, mem.counters);
	ASSERT_EQ(0, l3l2q_l3_init(&q, &mem, &big, 0, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_l3_mp_init(&q, &mp, &p));
	EXPECT_NE(NULL, strstr(last_msg(&q), "at most 2^30"));
	free(mem.counters);
}

/* After single-producer traffic, claims go on where it stood. */
TEST(mp_init_takes_over_a_quiet_single_producer)
{
	struct l3l2q_mp_slot slots[4];
	struct l3l2q_mp_params p = { .flags = L3L2Q_MP_PRODUCERS,
				     .slots = slots };
	unsigned char buf[40];
	struct th_region r;
	struct l3l2q_l3 q;
	struct l3l2q_l2 l2;
	struct l3l2q_mp mp;
	struct l3l2q_res a, b;
	int i;

	memset(buf, 'a', sizeof(buf));
	ASSERT_EQ(0, th_region_alloc(&r, 4, 256, 128, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&q, &r.mem, &r.layout, 0, NULL));
	ASSERT_EQ(0, l3l2q_l2_init(&l2, &r.mem, &r.layout, 0, 1, NULL));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l3_try_enqueue(&q, L3L2Q_OP_DATA, buf, 40));
		ASSERT_EQ(0, take(&l2, 40, 'a'));
	}
	ASSERT_EQ(0, l3l2q_l3_mp_init(&q, &mp, &p));
	ASSERT_EQ(0, claim(&q, 100, 'b', &a));
	EXPECT_EQ(4u, a.seq);
	EXPECT_EQ(r.layout.input_arena_offset + 120, a.offset);
	ASSERT_EQ(0, claim(&q, 50, 'c', &b));	/* 220 + 50 > 256: wraps */
	EXPECT_EQ(r.layout.input_arena_offset, b.offset);
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&q, &b, L3L2Q_OP_DATA));
	ASSERT_EQ(0, l3l2q_l3_mp_publish(&q, &a, L3L2Q_OP_DATA));
	EXPECT_EQ(0, take(&l2, 100, 'b'));
	EXPECT_EQ(0, take(&l2, 50, 'c'));
	th_region_free(&r);
}

/* ---- MC ---- */

/* The L2 publishes @n outputs of 8 bytes each, byte i + 1. */
static void outputs(struct __test_metadata *_metadata,
		    FIXTURE_DATA(mpu) *self, int n)
{
	struct l3l2q_res r;
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(&self->l2, 8, &r));
		memset(r.data, i + 1, 8);
		ASSERT_EQ(0, l3l2q_l2_publish(&self->l2, &r, L3L2Q_OP_DATA));
	}
}

TEST_F(mpu, mc_each_peek_takes_the_next_message)
{
	struct l3l2q_msg a, b, c;
	unsigned char buf[8];

	outputs(_metadata, self, 3);
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &a));
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &b));
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &c));
	EXPECT_EQ(1u, a.seq);
	EXPECT_EQ(2u, b.seq);
	EXPECT_EQ(3u, c.seq);
	EXPECT_EQ(-EAGAIN, l3l2q_l3_mc_try_peek(&self->l3, &c));
	ASSERT_EQ(0, l3l2q_l3_mc_read(&self->l3, &b, buf, sizeof(buf)));
	EXPECT_EQ(2, buf[7]);
}

TEST_F(mpu, mc_head_moves_only_over_the_released_prefix)
{
	struct l3l2q_msg a, b, c;

	outputs(_metadata, self, 3);
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &a));
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &b));
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &c));
	ASSERT_EQ(0, l3l2q_l3_mc_release(&self->l3, &c));
	ASSERT_EQ(0, l3l2q_l3_mc_release(&self->l3, &b));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l3_mc_release(&self->l3, &a));
	EXPECT_EQ(3, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	/* The L2 can use the whole ring again. */
	outputs(_metadata, self, DEPTH);
}

TEST_F(mpu, mc_second_release_poisons)
{
	struct l3l2q_msg a, b;

	outputs(_metadata, self, 2);
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &a));
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &b));
	ASSERT_EQ(0, l3l2q_l3_mc_release(&self->l3, &b));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mc_release(&self->l3, &b));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "already released"))
		TH_LOG("%s", last_msg(&self->l3));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mc_release(&self->l3, &a));
}

TEST_F(mpu, mc_modified_handle_poisons_wrong_read_does_not)
{
	struct l3l2q_msg a, bad;
	unsigned char buf[8];

	outputs(_metadata, self, 1);
	ASSERT_EQ(0, l3l2q_l3_mc_try_peek(&self->l3, &a));
	bad = a;
	bad.nbytes = 4;
	EXPECT_EQ(-EINVAL, l3l2q_l3_mc_read(&self->l3, &bad, buf, 8));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_mc_read(&self->l3, &a, buf, 7));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->l3.ep));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mc_release(&self->l3, &bad));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, l3l2q_ep_error(&self->l3.ep)->kind);
}

TEST_F(mpu, mc_peek_validates_like_the_single_consumer)
{
	struct l3l2q_msg m;

	/* An upstream-style L2 that puts the payload outside its arena. */
	th_publish_output(&self->r, 1, L3L2Q_OP_DATA,
			  self->r.layout.input_arena_offset, 8);
	EXPECT_EQ(-EPROTO, l3l2q_l3_mc_try_peek(&self->l3, &m));
	EXPECT_NE(NULL, strstr(last_msg(&self->l3), "payload outside its arena"))
		TH_LOG("%s", last_msg(&self->l3));
	EXPECT_EQ(-EPROTO, l3l2q_l3_mc_try_peek(&self->l3, &m));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_L3_ABORT));
}

TEST_F(mpu, mc_dequeue_keeps_a_message_too_big_for_the_buffer)
{
	struct l3l2q_msg m;
	unsigned char buf[8];

	outputs(_metadata, self, 1);
	EXPECT_EQ(-EINVAL, l3l2q_l3_mc_try_dequeue(&self->l3, buf, 8, NULL));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_mc_try_dequeue(&self->l3, buf, 4, &m));
	ASSERT_EQ(0, l3l2q_l3_mc_read(&self->l3, &m, buf, 8));
	EXPECT_EQ(1, buf[0]);
	ASSERT_EQ(0, l3l2q_l3_mc_release(&self->l3, &m));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
}

/* ---- real threads, a real L2 process ---- */

FIXTURE(mp) {
	char why[160];
};

FIXTURE_SETUP(mp)
{
	self->why[0] = 0;
}

FIXTURE_TEARDOWN(mp)
{
}

/*
 * 8 threads x 10^5 messages of random size into a depth-64 ring (so the
 * producers keep finding it full and sleep), every message checked by the
 * L2 process: exactly once, each producer's order kept.
 */
TEST_F_TIMEOUT(mp, memfd_8_producers_1e5_each, 1800)
{
	struct mps_cfg c = {
		.backend = L3L2Q_BACKEND_MEMFD, .producers = 8,
		.per_producer = th_work(100000), .depth = 64, .in_arena = 16384,
		.out_arena = 4096, .max_size = 512, .watchdog_s = 600,
	};

	EXPECT_EQ(0, mps_run(&c, self->why)) TH_LOG("%s", self->why);
}

/* Producers and consumers at once: the L2 echoes, 4 consumer threads. */
TEST_F_TIMEOUT(mp, memfd_4_producers_4_consumers_echo, 1800)
{
	struct mps_cfg c = {
		.backend = L3L2Q_BACKEND_MEMFD, .producers = 4,
		.per_producer = th_work(50000), .consumers = 4, .depth = 32,
		.in_arena = 8192, .out_arena = 8192, .max_size = 400,
		.watchdog_s = 600, .retry_ms = 100,
	};

	EXPECT_EQ(0, mps_run(&c, self->why)) TH_LOG("%s", self->why);
}

/* A ring of 2 and an arena that takes one message at a time. */
TEST_F_TIMEOUT(mp, memfd_8_producers_tiny_ring, 1800)
{
	struct mps_cfg c = {
		.backend = L3L2Q_BACKEND_MEMFD, .producers = 8,
		.per_producer = th_work(5000), .consumers = 2, .depth = 2,
		.in_arena = 512, .out_arena = 512, .max_size = 300,
		.watchdog_s = 600, .retry_ms = 100,
	};

	EXPECT_EQ(0, mps_run(&c, self->why)) TH_LOG("%s", self->why);
}

TEST_HARNESS_MAIN
