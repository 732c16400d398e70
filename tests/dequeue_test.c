// SPDX-License-Identifier: MIT
/*
 * l3l2q_l2_try_dequeue(): peek, copy out and release in one.  Its fast
 * path (nothing held) keeps every check of l3l2q_l2_try_peek() on the
 * slot words it reads once; whatever is unusual (a held window, STOP, a
 * wrapped payload, a buffer too small) takes the complete calls.  The L3
 * side is played by hand (th_publish_input), so forged slots and
 * counters can be tested.
 */
#include <errno.h>
#include <string.h>

#include "kselftest_harness.h"

#include "helpers.h"
#include "l3l2q_core.h"

#define U32(x) ((__u32)(x))

FIXTURE(dq)
{
	struct th_region r;
	struct l3l2q_l2 q;
};

FIXTURE_SETUP(dq)
{
	ASSERT_EQ(0, th_region_alloc(&self->r, 4, 256, 256, 0));
	ASSERT_EQ(0, l3l2q_l2_init(&self->q, &self->r.mem, &self->r.layout,
				   0, 1, NULL));
}

FIXTURE_TEARDOWN(dq)
{
	l3l2q_l2_close(&self->q);
	th_region_free(&self->r);
}

#define R	(&self->r)
#define Q	(&self->q)
#define IA	(self->r.layout.input_arena_offset)

/* @n bytes of @seq's pattern at @off. */
static void fill(struct th_region *r, __u64 seq, __u64 off, __u64 n)
{
	__u64 i;

	for (i = 0; i < n; i++)
		th_payload(r, off)[i] = (unsigned char)(seq * 7 + i);
}

/* L3 writes @n bytes of a pattern at @off and publishes input @seq. */
static void put(struct th_region *r, __u64 seq, __u64 opcode, __u64 off,
		__u64 n)
{
	fill(r, seq, off, n);
	th_publish_input(r, seq, opcode, off, n);
}

static int pattern_ok(const unsigned char *p, __u64 seq, __u64 n)
{
	__u64 i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seq * 7 + i))
			return 0;
	return 1;
}

static int live(struct l3l2q_l2 *q)
{
	return l3l2q_ep_state(&q->ep) == L3L2Q_STATE_LIVE;
}

/* In order, copied, released at once: the head counter follows. */
TEST_F(dq, copies_and_releases)
{
	unsigned char buf[64];
	struct l3l2q_msg m;

	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	put(R, 1, L3L2Q_OP_DATA, IA, 40);
	th_publish_input(R, 2, L3L2Q_OP_ERROR, 0, 0);
	put(R, 3, L3L2Q_OP_DATA, IA + 40, 64);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	EXPECT_EQ(1u, m.seq);
	EXPECT_EQ(40u, m.nbytes);
	EXPECT_EQ(IA, m.offset);
	EXPECT_TRUE(pattern_ok(buf, 1, 40));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	/* Zero bytes: buf may be NULL; msg may be NULL. */
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, NULL, 0, &m));
	EXPECT_EQ(2u, m.seq);
	EXPECT_EQ(U32(L3L2Q_OP_ERROR), U32(m.opcode));
	EXPECT_EQ(0u, m.nbytes);
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), NULL));
	EXPECT_TRUE(pattern_ok(buf, 3, 64));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	EXPECT_TRUE(live(Q));
}

/* Too small, or no buffer: nothing taken, the message stays next (P6). */
TEST_F(dq, too_small_stays_next)
{
	unsigned char buf[64];
	struct l3l2q_msg m;

	put(R, 1, L3L2Q_OP_DATA, IA, 48);
	m.seq = 77;
	EXPECT_EQ(-EMSGSIZE, l3l2q_l2_try_dequeue(Q, buf, 47, &m));
	EXPECT_EQ(77u, m.seq);		/* not written */
	EXPECT_EQ(-EINVAL, l3l2q_l2_try_dequeue(Q, NULL, 64, &m));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_TRUE(live(Q));
	/* Single mode: a second peek would poison, but nothing is held. */
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, 48, &m));
	EXPECT_EQ(1u, m.seq);
	EXPECT_TRUE(pattern_ok(buf, 1, 48));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

/* A payload at the arena's base after padding: the complete path. */
TEST_F(dq, wrapped_payload)
{
	unsigned char buf[256];
	struct l3l2q_msg m;

	put(R, 1, L3L2Q_OP_DATA, IA, 200);
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	put(R, 2, L3L2Q_OP_DATA, IA, 100);	/* 56 bytes of padding */
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	EXPECT_EQ(2u, m.seq);
	EXPECT_TRUE(pattern_ok(buf, 2, 100));
	put(R, 3, L3L2Q_OP_DATA, IA + 100, 10);
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	EXPECT_TRUE(pattern_ok(buf, 3, 10));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_TRUE(live(Q));
}

/* STOP is returned and released: drained. */
TEST_F(dq, stop_drains)
{
	struct l3l2q_msg m;

	th_publish_input(R, 1, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, NULL, 0, &m));
	EXPECT_EQ(U32(L3L2Q_OP_STOP), U32(m.opcode));
	EXPECT_EQ(1, l3l2q_l2_drained(Q));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_dequeue(Q, NULL, 0, &m));
}

/* Every slot check of try_peek poisons here too, before any copy. */
TEST_F(dq, forged_slots_poison)
{
	static const struct {
		__u64 seq, opcode, off, n;	/* off relative to IA; ~0: 0 */
	} bad[] = {
		{ 2, L3L2Q_OP_DATA, 0, 8 },		/* seq */
		{ 1, 0, 0, 8 },				/* INVALID */
		{ 1, 9, 0, 8 },				/* unknown opcode */
		{ 1, L3L2Q_OP_DATA, 64, 8 },		/* not at the cursor */
		{ 1, L3L2Q_OP_DATA, 0, 257 },		/* beyond the arena */
		{ 1, L3L2Q_OP_DATA, ~0ull, 0 },		/* 0 bytes, offset */
		{ 1, L3L2Q_OP_STOP, 0, 8 },		/* STOP with bytes */
	};
	unsigned char buf[512];
	struct l3l2q_msg m;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct l3l2q_desc *d;

		l3l2q_l2_close(Q);
		th_region_free(R);
		ASSERT_EQ(0, th_region_alloc(R, 4, 256, 256, 0));
		ASSERT_EQ(0, l3l2q_l2_init(Q, &self->r.mem, &self->r.layout,
					   0, 1, NULL));
		th_publish_input(R, 1, bad[i].opcode,
				 bad[i].off == ~0ull ? IA : IA + bad[i].off,
				 bad[i].n);
		d = th_slot(R, self->r.layout.input_desc_offset, 1);
		d->seq = bad[i].seq;
		memset(buf, 0x5a, sizeof(buf));
		EXPECT_EQ(-EPROTO, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf),
							&m)) {
			TH_LOG("case %u", i);
		}
		EXPECT_EQ(U32(L3L2Q_ERR_INVALID_DESCRIPTOR),
			  l3l2q_ep_error(&Q->ep)->kind);
		EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_L2_ABORT));
		EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
		EXPECT_EQ(0x5a, buf[0]);	/* nothing copied */
	}
}

/* A forged tail counter poisons at the very call that reads it. */
TEST_F(dq, forged_tail_poisons)
{
	unsigned char buf[64];

	th_set_ctr(R, L3L2Q_CTR_INPUT_TAIL, 5);	/* depth 4, head 0 */
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), NULL));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_L2_ABORT));
}

/* Holding a peeked message in single mode: poisons like a second peek. */
TEST_F(dq, single_mode_while_held_poisons)
{
	unsigned char buf[64];
	struct l3l2q_msg m;

	put(R, 1, L3L2Q_OP_DATA, IA, 8);
	put(R, 2, L3L2Q_OP_DATA, IA + 8, 8);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), NULL));
	EXPECT_EQ(U32(L3L2Q_ERR_OWNERSHIP), l3l2q_ep_error(&Q->ep)->kind);
}

/*
 * A window: dequeue takes the next one after the held ones and completes
 * it; the head moves only when the held ones before it are released.  A
 * too-small buffer there gives the message back, too.
 */
TEST_F(dq, window_completes_out_of_order)
{
	unsigned char buf[64];
	struct l3l2q_msg held, m;

	l3l2q_l2_close(Q);
	ASSERT_EQ(0, l3l2q_l2_init(Q, &self->r.mem, &self->r.layout, 0, 3,
				   NULL));
	put(R, 1, L3L2Q_OP_DATA, IA, 8);
	put(R, 2, L3L2Q_OP_DATA, IA + 8, 16);
	put(R, 3, L3L2Q_OP_DATA, IA + 24, 8);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &held));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l2_try_dequeue(Q, buf, 15, &m));
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	EXPECT_EQ(2u, m.seq);
	EXPECT_TRUE(pattern_ok(buf, 2, 16));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));	/* 1 still held */
	ASSERT_EQ(0, l3l2q_l2_release(Q, &held));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_try_dequeue(Q, buf, sizeof(buf), &m));
	EXPECT_EQ(3u, m.seq);
	EXPECT_TRUE(pattern_ok(buf, 3, 8));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_TRUE(live(Q));
}

/*
 * 5000 messages of 0..96 bytes from a real L3 producer through an input
 * arena of @arena bytes, each stamped with its number (first byte high,
 * last byte low) and checked in order: nothing lost or duplicated, both
 * endpoints still live.
 */
static void stream_5000(struct __test_metadata *_metadata, __u64 arena)
{
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	unsigned char src[96], dst[96];
	struct l3l2q_msg m;
	__u64 sent = 0, got = 0, n;
	int ret;

	ASSERT_EQ(0, th_region_alloc(&r, 8, arena, 256, 0));
	ASSERT_EQ(arena, r.layout.input_arena_bytes);
	ASSERT_EQ(0, l3l2q_l3_init(&l3, &r.mem, &r.layout, 0, NULL));
	ASSERT_EQ(0, l3l2q_l2_init(&l2, &r.mem, &r.layout, 0, 1, NULL));
	while (got < 5000) {
		while (sent < 5000) {
			n = sent % 97;
			memset(src, (int)(sent & 0xff), sizeof(src));
			src[0] = (unsigned char)(sent >> 8);
			ret = l3l2q_l3_try_enqueue(&l3, L3L2Q_OP_DATA, src, n);
			if (ret == -EAGAIN)
				break;
			ASSERT_EQ(0, ret);
			sent++;
		}
		while ((ret = l3l2q_l2_try_dequeue(&l2, dst, sizeof(dst),
						   &m)) == 0) {
			ASSERT_EQ(got % 97, m.nbytes);
			ASSERT_EQ(got + 1, m.seq);
			if (m.nbytes)
				ASSERT_EQ((unsigned char)(got >> 8), dst[0]);
			if (m.nbytes > 1)
				ASSERT_EQ((unsigned char)(got & 0xff),
					  dst[m.nbytes - 1]);
			got++;
		}
		ASSERT_EQ(-EAGAIN, ret);
	}
	EXPECT_EQ(L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&l2.ep));
	EXPECT_EQ(L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&l3.ep));
	l3l2q_l3_close(&l3);
	l3l2q_l2_close(&l2);
	th_region_free(&r);
}

/* Through a real L3 producer, many wraps: nothing lost or duplicated. */
TEST(stream_through_l3)
{
	stream_5000(_metadata, 512);
}

/*
 * An arena whose size is not a power of two (448 = 7 * 64 bytes): both
 * fast paths leave its payloads to the complete calls (their position
 * needs a division), zero-byte messages stay fast; payloads over 64
 * bytes finish out of line.  The stream is the same, in order and intact.
 */
TEST(stream_odd_arena)
{
	stream_5000(_metadata, 448);
}

/*
 * The L3's try_dequeue takes the same in-line path on the output: a
 * result is copied and released at once; STOP (never valid on the
 * output), a forged slot or a forged tail poisons with nothing copied;
 * a result too large stays active at the head (its page says so).
 */
TEST(l3_output)
{
	struct th_region r;
	struct l3l2q_l3 l3;
	unsigned char buf[64];
	struct l3l2q_msg m;
	__u64 oa;
	int i;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, th_region_alloc(&r, 4, 256, 256, 0));
		ASSERT_EQ(0, l3l2q_l3_init(&l3, &r.mem, &r.layout, 0, NULL));
		oa = r.layout.output_arena_offset;
		fill(&r, 1, oa, 24);
		th_publish_output(&r, 1, L3L2Q_OP_DATA, oa, 24);
		memset(buf, 0x5a, sizeof(buf));
		switch (i) {
		case 0:
			ASSERT_EQ(0, l3l2q_l3_try_dequeue(&l3, buf, 24, &m));
			EXPECT_EQ(1u, m.seq);
			EXPECT_TRUE(pattern_ok(buf, 1, 24));
			EXPECT_EQ(1, th_ctr(&r, L3L2Q_CTR_OUTPUT_HEAD));
			break;
		case 1:
			th_publish_output(&r, 1, L3L2Q_OP_STOP, 0, 0);
			EXPECT_EQ(-EPROTO, l3l2q_l3_try_dequeue(&l3, buf, 64,
								&m));
			break;
		case 2:
			th_set_ctr(&r, L3L2Q_CTR_OUTPUT_TAIL, 9);
			EXPECT_EQ(-EPROTO, l3l2q_l3_try_dequeue(&l3, buf, 64,
								&m));
			break;
		case 3:
			EXPECT_EQ(-EMSGSIZE, l3l2q_l3_try_dequeue(&l3, buf, 23,
								  &m));
			ASSERT_EQ(0, l3l2q_l3_try_peek(&l3, &m));
			EXPECT_EQ(1u, m.seq);	/* still the active one */
			ASSERT_EQ(0, l3l2q_l3_release(&l3, &m));
			break;
		}
		if (i == 1 || i == 2) {
			EXPECT_EQ(1, th_ctr(&r, L3L2Q_CTR_L3_ABORT));
			EXPECT_EQ(0, th_ctr(&r, L3L2Q_CTR_OUTPUT_HEAD));
			EXPECT_EQ(0x5a, buf[0]);
		}
		l3l2q_l3_close(&l3);
		th_region_free(&r);
	}
}

TEST_HARNESS_MAIN
