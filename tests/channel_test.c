// SPDX-License-Identifier: MIT
/*
 * channel_test - the HDCH channel core (lib/core/channel_*.c) in one
 * process: both endpoints on an in-memory region, threads where a test
 * needs two sides to run at once.
 *
 *  - The HDCH tests of the upstream suite (reference §12.3), named after
 *    it in snake_case.  One differs on purpose:
 *    clamps_corrupted_payload_bytes_before_copy tests the fixed behaviour
 *    (pitfall P6): upstream clamps a payload_bytes of 257 to 0, returns OK
 *    and consumes the message; l3l2q copies nothing, keeps the message,
 *    poisons the receiver and reports the size.
 *  - One test per pitfall of reference §13 that applies to the channel
 *    (p2, p4, p5, p6, p7, p11, p15, p16, p21; P1 and P12 are in
 *    channel_abi_test).
 *  - The rest of the API: zero copy, batching, leases, attention, the
 *    close handshake, the fatal status, calls, waking, and an upstream
 *    peer written from the upstream rules alone (channel_helpers.h) in
 *    both directions.
 *
 * Threads never use the harness's ASSERTs; they record what they saw and
 * the main thread checks it.  Every wait has a deadline.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"

#include "channel_helpers.h"

#define U32(x)	((__u32)(x))
#define U64(x)	((__u64)(x))
#define SEC	1000000000ull
#define WAIT	(20 * SEC)

FIXTURE(ch)
{
	struct tc_region r;
	struct tc_end l3, l2;
};

FIXTURE_SETUP(ch)
{
	memset(self, 0, sizeof(*self));
}

FIXTURE_TEARDOWN(ch)
{
	tc_region_free(&self->r);
}

/* Both ends of a channel of this geometry; L3 and L2 each lease a lane. */
static void open_pair(struct __test_metadata *_metadata,
		      FIXTURE_DATA(ch) *self, __u32 c2l, __u32 l2c,
		      __u32 depth, __u32 max)
{
	ASSERT_EQ(0, tc_region_alloc(&self->r, c2l, l2c, depth, max, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l2, &self->r, L3L2Q_ROLE_L2, 0, 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&self->l3.ctx, 0));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&self->l2.ctx, 0));
}

/* Only the L3 end: the L2 is an upstream peer (no proto word, no kicks). */
static void open_l3(struct __test_metadata *_metadata, FIXTURE_DATA(ch) *self,
		    __u32 c2l, __u32 l2c, __u32 depth, __u32 max)
{
	ASSERT_EQ(0, tc_region_alloc(&self->r, c2l, l2c, depth, max, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&self->l3.ctx, 0));
}

static int contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

/* ================================================================== */
/* Upstream HDCH tests (reference §12.3)                              */
/* ================================================================== */

TEST(rejects_invalid_config)
{
	struct l3l2q_chan_layout l, bad;
	struct tc_region r;
	struct tc_end e;

	memset(&l, 0x5a, sizeof(l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_DEPTH, (int)l3l2q_chan_layout(1, 1, 3, 64, &l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_MAX_MESSAGE,
		  (int)l3l2q_chan_layout(1, 1, 4, L3L2Q_CHAN_INLINE_BYTES + 1, &l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_MAX_MESSAGE, (int)l3l2q_chan_layout(1, 1, 4, 0, &l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L2, (int)l3l2q_chan_layout(0, 1, 4, 64, &l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L3, (int)l3l2q_chan_layout(1, 0, 4, 64, &l));
	/* l3l2q: one attention bit per lane; upstream allows more */
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L2, (int)l3l2q_chan_layout(33, 1, 4, 64, &l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L3, (int)l3l2q_chan_layout(1, 33, 4, 64, &l));
	EXPECT_EQ(U32(0x5a5a5a5a), l.lane_depth);
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_OK, (int)l3l2q_chan_wire_layout(33, 1, 4, 64, &l));

	/* A layout the endpoint did not compute itself is refused at bind. */
	ASSERT_EQ(0, tc_region_alloc(&r, 1, 1, 4, 64, 0, 0, 1));
	bad = r.layout;
	bad.lane_depth = 3;
	tc_env_init(&e.env, &r, L3L2Q_ROLE_L3, 1);
	EXPECT_EQ(-EINVAL, l3l2q_chan_init(&e.ch, L3L2Q_ROLE_L3, &r.mem, &bad, 0,
					   &e.env.env));
	EXPECT_TRUE(contains(l3l2q_chan_error(&e.ch)->message, "lane_depth"));
	EXPECT_EQ(U32(L3L2Q_EOP_CHAN_INIT), l3l2q_chan_error(&e.ch)->op);
	bad = r.layout;
	bad.total_bytes += 64;
	EXPECT_EQ(-EINVAL, l3l2q_chan_init(&e.ch, L3L2Q_ROLE_L3, &r.mem, &bad, 0,
					   &e.env.env));
	EXPECT_EQ((int)L3L2Q_STATE_RELEASED, (int)l3l2q_chan_state(&e.ch));
	l3l2q_chan_ctx_init(&e.ctx, &e.ch);
	EXPECT_EQ(-ESHUTDOWN, l3l2q_chan_try_lease(&e.ctx, 0));
	tc_region_free(&r);
}

TEST(rejects_overflowing_required_bytes)
{
	struct l3l2q_chan_layout l;

	memset(&l, 0x5a, sizeof(l));
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_OVERFLOW, (int)
		  l3l2q_chan_wire_layout(UINT32_MAX, UINT32_MAX, 1u << 31, 64, &l));
	EXPECT_EQ(U64(0x5a5a5a5a5a5a5a5aull), l.total_bytes);
}

TEST_F(ch, cpu_to_l2_send_recv_round_trip)
{
	const char hello[] = "hello-l2";
	unsigned char out[64] = { 0 };
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 2, 2, 4, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 7, 42, hello,
					 sizeof(hello) - 1));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, sizeof(out), &m));
	EXPECT_EQ(U32(sizeof(hello) - 1), m.nbytes);
	EXPECT_EQ(0, memcmp(out, hello, m.nbytes));
	EXPECT_EQ(U32(7), m.route);
	EXPECT_EQ(U64(42), m.correlation_id);
	EXPECT_EQ(U64(1), m.seq);	/* position 0 + 1 */
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&self->l2.ctx, out, sizeof(out), &m));
}

TEST_F(ch, l2_to_cpu_send_recv_round_trip)
{
	const char hello[] = "hello-cpu";
	unsigned char out[64] = { 0 };
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 2, 2, 4, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, 3, 99, hello,
					 sizeof(hello) - 1));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l3.ctx, out, sizeof(out), &m));
	EXPECT_EQ(U32(sizeof(hello) - 1), m.nbytes);
	EXPECT_EQ(0, memcmp(out, hello, m.nbytes));
	EXPECT_EQ(U32(3), m.route);
	EXPECT_EQ(U64(99), m.correlation_id);
}

TEST_F(ch, full_and_empty_return_would_block)
{
	unsigned char out[16];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 2, 16);
	EXPECT_EQ(-EINVAL, l3l2q_chan_try_recv(&self->l3.ctx, NULL, 0, NULL));
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&self->l2.ctx, out, sizeof(out), &m));
	EXPECT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "x", 1));
	EXPECT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 1, "x", 1));
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_send(&self->l3.ctx, 0, 2, "x", 1));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, sizeof(out), &m));
	EXPECT_EQ(U64(0), m.correlation_id);
	EXPECT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 3, "x", 1));
}

TEST_F(ch, message_too_large)
{
	open_pair(_metadata, self, 1, 1, 4, 4);
	EXPECT_EQ(-EMSGSIZE, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "12345", 5));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l3.ctx)->message,
			     "max_message_bytes 4"));
	EXPECT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "1234", 4));
}

/*
 * A header whose max_message_bytes exceeds the 256 inline bytes: refused
 * when an endpoint binds; after binding the header is never read again,
 * so corrupting it then changes nothing (pitfall P5).
 */
TEST_F(ch, rejects_corrupted_max_message_bytes_above_inline_capacity)
{
	unsigned char big[512] = { 0 }, out[512];
	struct l3l2q_chan_msg m;
	struct tc_end other;

	ASSERT_EQ(0, tc_region_alloc(&self->r, 1, 1, 4, 64, 0, 0, 1));
	tc_hdr(&self->r)->max_message_bytes = L3L2Q_CHAN_INLINE_BYTES + 1;
	EXPECT_EQ(-EINVAL, tc_end_open(&other, &self->r, L3L2Q_ROLE_L3, 0, 1));
	EXPECT_TRUE(contains(l3l2q_chan_error(&other.ch)->message,
			     "max_message_bytes 257"));
	tc_hdr(&self->r)->max_message_bytes = 64;
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l2, &self->r, L3L2Q_ROLE_L2, 0, 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&self->l3.ctx, 0));
	tc_hdr(&self->r)->max_message_bytes = 4096;
	EXPECT_EQ(-EMSGSIZE, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, big, 257));
	EXPECT_EQ(-EMSGSIZE, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, big, 65));
	EXPECT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, big, 64));
	EXPECT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, sizeof(out), &m));
	EXPECT_EQ(U32(64), m.nbytes);
}

/*
 * Upstream ClampsCorruptedPayloadBytesBeforeCopy expects a payload_bytes
 * of 257 to be clamped to 0, the call to return OK with the route and
 * correlation id, and the head to move to 1: a silently emptied message
 * (pitfall P6).  l3l2q's fixed behaviour under the same name: nothing is
 * copied, the message stays (head 0), the receiver is poisoned (-EPROTO,
 * its abort word and the header's fatal_status set) and the error names
 * the size.
 */
TEST_F(ch, clamps_corrupted_payload_bytes_before_copy)
{
	unsigned char out[512], before[512];
	struct l3l2q_chan_msg m;
	struct l3l2q_chan_lane *lane;

	ASSERT_EQ(0, tc_region_alloc(&self->r, 1, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	/* An upstream L2 publishes one message, then corrupts its size. */
	ASSERT_EQ(0, up_send(&self->r, 0, 0, 5, "abc", 3, 77));
	tc_desc(&self->r, 0, 0, 0)->payload_bytes = 257;
	memset(out, 0xee, sizeof(out));
	memcpy(before, out, sizeof(out));
	memset(&m, 0, sizeof(m));
	EXPECT_EQ(-EPROTO, l3l2q_chan_try_recv(&self->l3.ctx, out, sizeof(out), &m));
	EXPECT_EQ(0, memcmp(before, out, sizeof(out)));
	EXPECT_EQ(U32(0), m.nbytes);
	lane = tc_lane(&self->r, 0, 0);
	EXPECT_EQ(U32(0), lane->head);
	EXPECT_EQ(U32(1), lane->tail);
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l3.ctx)->message,
			     "payload_bytes 257"));
	EXPECT_EQ(U32(L3L2Q_ERR_INVALID_DESCRIPTOR),
		  l3l2q_chan_error(&self->l3.ch)->kind);
	EXPECT_EQ(L3L2Q_CHAN_FATAL(L3L2Q_ROLE_L3, L3L2Q_ERR_INVALID_DESCRIPTOR),
		  tc_hdr(&self->r)->fatal_status);
	EXPECT_EQ(U32(1), tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L3_ABORT)));
	EXPECT_EQ((int)L3L2Q_STATE_POISONED_LOCAL, (int)l3l2q_chan_state(&self->l3.ch));
	/* Terminal: every later call says so. */
	EXPECT_EQ(-EPROTO, l3l2q_chan_try_recv(&self->l3.ctx, out, sizeof(out), &m));
}

/* ================================================================== */
/* Pitfalls (reference §13)                                           */
/* ================================================================== */

/*
 * P5: the geometry comes from the private copy made at bind.  Header and
 * lane-header fields scribbled afterwards (lane counts, depth, mask, max)
 * change nothing: traffic goes on as before.
 */
TEST_F(ch, p5_header_and_lane_fields_are_read_once_at_bind)
{
	struct l3l2q_chan_hdr *h;
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	__u32 i, k;

	open_pair(_metadata, self, 2, 2, 4, 64);
	h = tc_hdr(&self->r);
	h->lanes_to_l2 = 1000;
	h->lanes_to_l3 = 0;
	h->lane_depth = 1u << 30;
	h->max_message_bytes = 1;
	h->control_bytes = 1;
	h->magic = 0;
	for (i = 0; i < 2; i++) {
		tc_lane(&self->r, 1, i)->depth = 3;
		tc_lane(&self->r, 1, i)->depth_mask = 0xffffffff;
		tc_lane(&self->r, 0, i)->depth_mask = 0;
	}
	for (k = 0; k < 20; k++) {
		ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, k, k, &k, 4));
		ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, k, k, &k, 4));
		ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
		EXPECT_EQ(U64(k), m.correlation_id);
		EXPECT_EQ(U64(k), m.pos);
		ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
		EXPECT_EQ(U64(k), m.correlation_id);
	}
	/* Position 19 of a depth-4 lane went to slot 3, whatever the mask says. */
	EXPECT_EQ(U64(20), tc_desc(&self->r, 1, 0, 19)->seq);
	EXPECT_EQ((void *)tc_desc(&self->r, 1, 0, 19),
		  (void *)((char *)tc_lane(&self->r, 1, 0) + 64 + 3 * 320));
}

/* P6: a short buffer gives -EMSGSIZE and the size; the message stays. */
TEST_F(ch, p6_short_buffer_keeps_message_queued)
{
	unsigned char out[64], msg[40];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 4, 64);
	memset(msg, 0x3c, sizeof(msg));
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 9, 1234, msg, sizeof(msg)));
	memset(&m, 0, sizeof(m));
	EXPECT_EQ(-EMSGSIZE, l3l2q_chan_try_recv(&self->l2.ctx, out, 10, &m));
	EXPECT_EQ(U32(40), m.nbytes);
	EXPECT_EQ(U32(9), m.route);
	EXPECT_EQ(U32(0), tc_lane(&self->r, 1, 0)->head);
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_chan_state(&self->l2.ch));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l2.ctx)->message,
			     "stays queued"));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, sizeof(out), &m));
	EXPECT_EQ(U32(40), m.nbytes);
	EXPECT_EQ(U64(1234), m.correlation_id);
	EXPECT_EQ(0, memcmp(out, msg, sizeof(msg)));
	EXPECT_EQ(U32(1), tc_lane(&self->r, 1, 0)->head);
}

/* P7: l3l2q writes seq = position + 1 and checks it on receipt. */
TEST_F(ch, p7_seq_is_position_plus_one_and_checked)
{
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 2, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "a", 1));
	EXPECT_EQ(U64(1), tc_desc(&self->r, 1, 0, 0)->seq);
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "b", 1));
	EXPECT_EQ(U64(2), tc_desc(&self->r, 1, 0, 1)->seq);
	/* The upstream rule (seq = position) from an l3l2q sender: poison. */
	tc_desc(&self->r, 1, 0, 1)->seq = 1;
	EXPECT_EQ(-EPROTO, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l2.ctx)->message,
			     "seq 1 breaks the sequence rule at lane position 1"));
	EXPECT_EQ(U32(1), tc_lane(&self->r, 1, 0)->head);
}

/*
 * P7 with an upstream sender (no protocol word): its seq is the position
 * (0-based, low 32 bits) and is checked against that, across the 2^32
 * wrap of the u32 tail.
 */
TEST(p7_upstream_sender_seq_is_checked_too)
{
	__u64 start = (1ull << 32) - 2;
	struct tc_region r;
	struct tc_end l3;
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	__u32 k;

	ASSERT_EQ(0, tc_region_alloc(&r, 1, 1, 4, 64, start, 0, 1));
	ASSERT_EQ(0, tc_end_open(&l3, &r, L3L2Q_ROLE_L3, start, 1));
	for (k = 0; k < 4; k++) {
		ASSERT_EQ(0, up_send(&r, 0, 0, 1, &k, 4, k));
		ASSERT_EQ(0, l3l2q_chan_try_recv(&l3.ctx, out, 64, &m));
		EXPECT_EQ(U64((__u32)(start + k)), m.seq);
		EXPECT_EQ(start + k, m.pos);
	}
	/* A replayed stale slot (seq of an earlier lap) poisons. */
	ASSERT_EQ(0, up_send(&r, 0, 0, 1, "z", 1, 9));
	tc_desc(&r, 0, 0, start + 4)->seq = (__u32)start;
	EXPECT_EQ(-EPROTO, l3l2q_chan_try_recv(&l3.ctx, out, 64, &m));
	tc_region_free(&r);
}

/*
 * P21: positions are u64, the lane words their low 32 bits.  Both ends
 * start just below 2^32 and go past it: the u32 head and tail wrap, seq
 * keeps counting (position + 1, above 2^32), nothing is refused.
 */
TEST(p21_lane_positions_cross_the_u32_wrap)
{
	__u64 start = (1ull << 32) - 5;
	struct tc_region r;
	struct tc_end *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	__u32 k;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, tc_region_alloc(&r, 1, 1, 4, 64, start, 0, 1));
	ASSERT_EQ(0, tc_end_open(a, &r, L3L2Q_ROLE_L3, start, 1));
	ASSERT_EQ(0, tc_end_open(b, &r, L3L2Q_ROLE_L2, start, 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&a->ctx, 0));
	EXPECT_EQ(U32(start), tc_lane(&r, 1, 0)->tail);
	for (k = 0; k < 20; k++) {
		ASSERT_EQ(0, l3l2q_chan_try_send(&a->ctx, 1, k, &k, 4));
		ASSERT_EQ(0, l3l2q_chan_try_recv(&b->ctx, out, 64, &m));
		EXPECT_EQ(start + k, m.pos);
		EXPECT_EQ(start + k + 1, m.seq);
		EXPECT_EQ(U64(k), m.correlation_id);
	}
	EXPECT_EQ(U32(start + 20), tc_lane(&r, 1, 0)->tail);
	EXPECT_EQ(U32(15), tc_lane(&r, 1, 0)->head);
	/* A lane filled across the wrap is full, not empty. */
	for (k = 0; k < 4; k++)
		ASSERT_EQ(0, l3l2q_chan_try_send(&a->ctx, 1, k, &k, 4));
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_send(&a->ctx, 1, 9, &k, 4));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_chan_state(&b->ch));
	tc_region_free(&r);
	free(a);
	free(b);
}

/* A clock that counts reads and relaxes; never sleeps. */
struct count_clock {
	__u64 now;
	unsigned long reads, relaxes;
};

static __u64 cc_now(void *ctx)
{
	struct count_clock *c = ctx;

	c->reads++;
	return c->now += 1000;
}

static void cc_relax(void *ctx)
{
	((struct count_clock *)ctx)->relaxes++;
}

/* P4: a blocking wait reads the clock once per 1024 failed attempts. */
TEST(p4_blocking_wait_reads_clock_once_per_1024_spins)
{
	struct count_clock c = { 0, 0, 0 };
	struct l3l2q_env env = { .now_ns = cc_now, .relax = cc_relax, .ctx = &c };
	struct l3l2q_chan ch;
	struct l3l2q_chan_ctx ctx;
	struct tc_region r;
	unsigned char out[8];
	struct l3l2q_chan_msg m;

	ASSERT_EQ(0, tc_region_alloc(&r, 1, 1, 2, 8, 0, 0, 1));
	ASSERT_EQ(0, l3l2q_chan_init(&ch, L3L2Q_ROLE_L2, &r.mem, &r.layout, 0, &env));
	l3l2q_chan_ctx_init(&ctx, &ch);
	/* 50 clock reads of 1 us each end the wait. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_recv(&ctx, out, 8, 50000, &m));
	EXPECT_LE(48ul, c.reads);
	EXPECT_GE(52ul, c.reads);
	EXPECT_LE(1024ul * (c.reads - 2), c.relaxes);
	EXPECT_EQ(U32(L3L2Q_ERR_TIMEOUT), l3l2q_chan_last_error(&ctx)->kind);
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_chan_state(&ch));
	tc_region_free(&r);
}

/* P2: handles are compared with the endpoint's own record. */
TEST_F(ch, p2_mutated_slot_or_message_poisons)
{
	struct l3l2q_chan_slot sl, bad;
	struct l3l2q_chan_msg m, mbad;

	open_pair(_metadata, self, 1, 1, 4, 64);
	/* L2: a zero-copy message released with one field changed. */
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 1, 5, "q", 1));
	ASSERT_EQ(0, l3l2q_chan_try_peek(&self->l2.ctx, &m));
	mbad = m;
	mbad.route = 2;
	EXPECT_EQ(-EPROTO, l3l2q_chan_release(&self->l2.ctx, &mbad));
	EXPECT_EQ(U32(L3L2Q_ERR_OWNERSHIP), l3l2q_chan_error(&self->l2.ch)->kind);
	/* L3: a reservation committed under another position. */
	ASSERT_EQ(0, l3l2q_chan_try_reserve(&self->l3.ctx, &sl));
	EXPECT_EQ(-EBUSY, l3l2q_chan_try_reserve(&self->l3.ctx, &bad));
	EXPECT_EQ(-EBUSY, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "x", 1));
	EXPECT_EQ(-EBUSY, l3l2q_chan_unlease(&self->l3.ctx));
	bad = sl;
	bad.pos++;
	EXPECT_EQ(-EPROTO, l3l2q_chan_commit(&self->l3.ctx, &bad, 0, 0, 1));
	EXPECT_EQ(U32(L3L2Q_ERR_OWNERSHIP), l3l2q_chan_error(&self->l3.ch)->kind);
}

/*
 * A reservation out when the endpoint goes terminal can never be
 * committed: the commit is refused with the terminal error and the
 * reservation stays, but giving the lane back drops it (it was -EBUSY for
 * ever, so the context could never unlease).
 */
TEST_F(ch, unlease_drops_a_reservation_the_terminal_endpoint_cannot_commit)
{
	struct l3l2q_chan_slot sl;
	struct l3l2q_chan_msg bad;

	open_pair(_metadata, self, 1, 1, 4, 64);
	ASSERT_EQ(0, l3l2q_chan_try_reserve(&self->l3.ctx, &sl));
	/* Live: the lane stays with its reservation. */
	EXPECT_EQ(-EBUSY, l3l2q_chan_unlease(&self->l3.ctx));
	EXPECT_EQ(U32(0), l3l2q_chan_leased_lane(&self->l3.ctx));
	/* The L3 poisons itself on its other direction. */
	memset(&bad, 0, sizeof(bad));
	EXPECT_EQ(-EPROTO, l3l2q_chan_release(&self->l3.ctx, &bad));
	EXPECT_EQ(-EPROTO, l3l2q_chan_commit(&self->l3.ctx, &sl, 0, 0, 1));
	EXPECT_EQ(0, l3l2q_chan_unlease(&self->l3.ctx));
	EXPECT_EQ(L3L2Q_CHAN_NO_LANE, l3l2q_chan_leased_lane(&self->l3.ctx));
	/* Nothing was published on the lane. */
	EXPECT_EQ(U32(0), tc_lane(&self->r, 1, 0)->tail);
}

/*
 * P11: poison raises the abort word and fatal_status through precomputed
 * addresses, also when the endpoint was already in error; the peer then
 * takes what was published, then gets -ECONNRESET.
 */
TEST_F(ch, p11_poison_raises_abort_word_and_fatal_status)
{
	unsigned char out[64];
	struct l3l2q_chan_msg m, bad;

	open_pair(_metadata, self, 1, 1, 4, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, 1, 1, "one", 3));
	memset(&bad, 0, sizeof(bad));
	EXPECT_EQ(-EPROTO, l3l2q_chan_release(&self->l2.ctx, &bad));
	EXPECT_EQ(U32(1), tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_ABORT)));
	EXPECT_EQ(L3L2Q_CHAN_FATAL(L3L2Q_ROLE_L2, L3L2Q_ERR_OWNERSHIP),
		  tc_hdr(&self->r)->fatal_status);
	/* Both of L2's bells rang so that any sleeper of L3 wakes. */
	EXPECT_LE(U32(1), tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_TX_BELL)));
	EXPECT_LE(U32(1), tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_RX_BELL)));
	/* The message published before the poison is still delivered. */
	ASSERT_EQ(0, l3l2q_chan_recv(&self->l3.ctx, out, 64, tc_deadline(WAIT), &m));
	EXPECT_EQ(0, memcmp(out, "one", 3));
	EXPECT_EQ(-ECONNRESET, l3l2q_chan_recv(&self->l3.ctx, out, 64,
					       tc_deadline(WAIT), &m));
	EXPECT_EQ(U32(L3L2Q_ERR_REMOTE_ABORTED), l3l2q_chan_error(&self->l3.ch)->kind);
	/* The survivor's own abort word stays 0. */
	EXPECT_EQ(U32(0), tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L3_ABORT)));
}

/* P15: a second endpoint of one role on a used region is refused. */
TEST_F(ch, p15_second_endpoint_of_a_role_is_refused)
{
	struct tc_end again;

	open_pair(_metadata, self, 1, 1, 4, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "x", 1));
	EXPECT_EQ(-EINVAL, tc_end_open(&again, &self->r, L3L2Q_ROLE_L3, 0, 1));
	EXPECT_TRUE(contains(l3l2q_chan_error(&again.ch)->message,
			     "was used before this endpoint bound"));
	/* A late L2 binds fine while L3 has sent already. */
	EXPECT_EQ(0, tc_end_open(&again, &self->r, L3L2Q_ROLE_L2, 0, 1));
}

struct later {
	struct tc_region *r;
	__u64 delay_ns;
	int what;		/* 0: send then abort, 1: kill the role */
};

static void *later_thread(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { 0, (long)l->delay_ns };

	nanosleep(&ts, NULL);
	if (l->what == 0) {
		up_send(l->r, 0, 0, 4, "last", 4, 4);
		tc_store(tc_word(l->r, L3L2Q_CHAN_CTRL_L2_ABORT), 1);
	} else {
		tc_store(tc_word(l->r, L3L2Q_CTRL_L2_STATE), L3L2Q_ROLE_DEAD);
	}
	/* What a kernel or a dying library does: ring both bells. */
	__atomic_fetch_add(tc_word(l->r, L3L2Q_CHAN_CTRL_L2_TX_BELL), 1,
			   __ATOMIC_SEQ_CST);
	__atomic_fetch_add(tc_word(l->r, L3L2Q_CHAN_CTRL_L2_RX_BELL), 1,
			   __ATOMIC_SEQ_CST);
	tc_futex(tc_word(l->r, L3L2Q_CHAN_CTRL_L2_TX_BELL), FUTEX_WAKE, INT_MAX, NULL);
	tc_futex(tc_word(l->r, L3L2Q_CHAN_CTRL_L2_RX_BELL), FUTEX_WAKE, INT_MAX, NULL);
	return NULL;
}

/*
 * P16: a peer that aborts or dies ends a blocking wait early (not at its
 * deadline), after what it published has been delivered.
 */
TEST_F(ch, p16_peer_abort_ends_a_blocking_wait_early_after_delivering)
{
	struct later l = { &self->r, 50 * 1000 * 1000, 0 };
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	pthread_t t;

	/*
	 * Deadlines of 600 s: the harness's 30 s timeout is the watchdog
	 * that fails a wait which only its deadline would end.
	 */
	open_l3(_metadata, self, 1, 1, 4, 64);
	ASSERT_EQ(0, pthread_create(&t, NULL, later_thread, &l));
	EXPECT_EQ(0, l3l2q_chan_recv(&self->l3.ctx, out, 64, tc_deadline(600 * SEC), &m));
	EXPECT_EQ(0, memcmp(out, "last", 4));
	EXPECT_EQ(-ECONNRESET, l3l2q_chan_recv(&self->l3.ctx, out, 64,
					       tc_deadline(600 * SEC), &m));
	pthread_join(t, NULL);

	/* A sender blocked on a full lane sees the death too. */
	tc_region_free(&self->r);
	open_l3(_metadata, self, 1, 1, 1, 64);
	l.what = 1;
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "a", 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, later_thread, &l));
	EXPECT_EQ(-ECONNRESET, l3l2q_chan_send(&self->l3.ctx, 0, 0, "b", 1,
					       tc_deadline(600 * SEC)));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l3.ctx)->message,
			     "role is dead"));
	pthread_join(t, NULL);
}

/* ================================================================== */
/* Zero copy and batching                                             */
/* ================================================================== */

TEST_F(ch, zero_copy_reserve_commit_and_peek_release)
{
	struct l3l2q_chan_slot s;
	struct l3l2q_chan_msg m, again;
	struct l3l2q_chan_ctx other;
	unsigned char out[64];

	open_pair(_metadata, self, 1, 1, 4, 64);
	l3l2q_chan_ctx_init(&other, &self->l2.ch);
	ASSERT_EQ(0, l3l2q_chan_try_reserve(&self->l3.ctx, &s));
	EXPECT_EQ(U32(64), s.cap);
	EXPECT_EQ((void *)tc_desc(&self->r, 1, 0, 0)->data, s.data);
	memcpy(s.data, "in place", 8);
	/* Too long: refused, the reservation stays. */
	EXPECT_EQ(-EMSGSIZE, l3l2q_chan_commit(&self->l3.ctx, &s, 1, 2, 65));
	ASSERT_EQ(0, l3l2q_chan_commit(&self->l3.ctx, &s, 11, 22, 8));
	ASSERT_EQ(0, l3l2q_chan_try_peek(&self->l2.ctx, &m));
	EXPECT_EQ((const void *)tc_desc(&self->r, 1, 0, 0)->data, m.data);
	EXPECT_EQ(0, memcmp(m.data, "in place", 8));
	EXPECT_EQ(U32(11), m.route);
	EXPECT_EQ(U64(22), m.correlation_id);
	EXPECT_EQ(-EBUSY, l3l2q_chan_try_peek(&self->l2.ctx, &again));
	/* Held: the head has not moved, and another context skips the lane. */
	EXPECT_EQ(U32(0), tc_lane(&self->r, 1, 0)->head);
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&other, out, 64, &again));
	ASSERT_EQ(0, l3l2q_chan_release(&self->l2.ctx, &m));
	EXPECT_EQ(U32(1), tc_lane(&self->r, 1, 0)->head);
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_peek(&self->l2.ctx, &m));
}

/* Deferred sends: invisible until flush, then one tail store for all. */
TEST_F(ch, batch_defer_flush_one_tail_store)
{
	struct l3l2q_chan_slot s;
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	__u32 k;

	open_pair(_metadata, self, 1, 1, 8, 64);
	for (k = 0; k < 4; k++)
		ASSERT_EQ(0, l3l2q_chan_try_send_defer(&self->l3.ctx, 1, k, &k, 4));
	ASSERT_EQ(0, l3l2q_chan_try_reserve(&self->l3.ctx, &s));
	memcpy(s.data, &k, 4);
	ASSERT_EQ(0, l3l2q_chan_commit_defer(&self->l3.ctx, &s, 1, k, 4));
	EXPECT_EQ(U32(0), tc_lane(&self->r, 1, 0)->tail);
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	EXPECT_EQ(U64(0), l3l2q_chan_stats(&self->l3.ctx)->sent);
	ASSERT_EQ(0, l3l2q_chan_flush(&self->l3.ctx));
	EXPECT_EQ(U32(5), tc_lane(&self->r, 1, 0)->tail);
	EXPECT_EQ(U64(5), l3l2q_chan_stats(&self->l3.ctx)->sent);
	EXPECT_EQ(0, l3l2q_chan_flush(&self->l3.ctx));	/* nothing deferred */
	for (k = 0; k < 5; k++) {
		ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
		EXPECT_EQ(U64(k), m.correlation_id);
	}
	/* Unlease makes a deferred message visible too. */
	ASSERT_EQ(0, l3l2q_chan_try_send_defer(&self->l3.ctx, 1, 9, "z", 1));
	ASSERT_EQ(0, l3l2q_chan_unlease(&self->l3.ctx));
	EXPECT_EQ(U32(6), tc_lane(&self->r, 1, 0)->tail);
}

/* A lane found full makes its own deferred messages visible. */
TEST_F(ch, full_lane_flushes_deferred_messages)
{
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 2, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send_defer(&self->l3.ctx, 0, 1, "a", 1));
	ASSERT_EQ(0, l3l2q_chan_try_send_defer(&self->l3.ctx, 0, 2, "b", 1));
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_send_defer(&self->l3.ctx, 0, 3, "c", 1));
	EXPECT_EQ(U32(2), tc_lane(&self->r, 1, 0)->tail);
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	EXPECT_EQ(U64(1), m.correlation_id);
}

/* ================================================================== */
/* Leases                                                             */
/* ================================================================== */

TEST_F(ch, lease_strict_policy)
{
	struct l3l2q_chan_ctx a, b, c;

	ASSERT_EQ(0, tc_region_alloc(&self->r, 2, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	l3l2q_chan_ctx_init(&a, &self->l3.ch);
	l3l2q_chan_ctx_init(&b, &self->l3.ch);
	l3l2q_chan_ctx_init(&c, &self->l3.ch);
	EXPECT_EQ(L3L2Q_CHAN_NO_LANE, l3l2q_chan_leased_lane(&a));
	EXPECT_EQ(-EINVAL, l3l2q_chan_try_send(&a, 0, 0, "x", 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&a, 1));	/* the hint picks lane 1 */
	EXPECT_EQ(U32(1), l3l2q_chan_leased_lane(&a));
	EXPECT_EQ(-EINVAL, l3l2q_chan_try_lease(&a, 0));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&b, 1));	/* taken: the next one */
	EXPECT_EQ(U32(0), l3l2q_chan_leased_lane(&b));
	EXPECT_EQ(-EBUSY, l3l2q_chan_try_lease(&c, 0));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&c)->message, "STRICT"));
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_lease(&c, 0, tc_deadline(SEC / 20)));
	ASSERT_EQ(0, l3l2q_chan_unlease(&a));
	EXPECT_EQ(-EINVAL, l3l2q_chan_unlease(&a));
	ASSERT_EQ(0, l3l2q_chan_lease(&c, 0, tc_deadline(WAIT)));
	EXPECT_EQ(U32(1), l3l2q_chan_leased_lane(&c));
	/* The lane keeps its position across owners. */
	ASSERT_EQ(0, l3l2q_chan_try_send(&b, 0, 0, "x", 1));
	ASSERT_EQ(0, l3l2q_chan_try_send(&c, 0, 0, "y", 1));
	EXPECT_EQ(U32(1), tc_lane(&self->r, 1, 1)->tail);
}

struct unlease_later {
	struct l3l2q_chan_ctx *ctx;
	struct tc_env *env;
	int ret;
};

static void *unlease_thread(void *arg)
{
	struct unlease_later *u = arg;
	struct timespec ts = { 0, 1000 * 1000 };

	/* Once the other thread is waiting (it naps in env.sleep). */
	while (!atomic_load(&u->env->sleeps))
		nanosleep(&ts, NULL);
	u->ret = l3l2q_chan_unlease(u->ctx);
	return NULL;
}

TEST_F(ch, lease_waits_for_a_lane_given_back)
{
	struct l3l2q_chan_ctx a, b;
	struct unlease_later u = { &a, &self->l3.env, -1 };
	pthread_t t;

	ASSERT_EQ(0, tc_region_alloc(&self->r, 1, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	l3l2q_chan_ctx_init(&a, &self->l3.ch);
	l3l2q_chan_ctx_init(&b, &self->l3.ch);
	ASSERT_EQ(0, l3l2q_chan_try_lease(&a, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, unlease_thread, &u));
	EXPECT_EQ(0, l3l2q_chan_lease(&b, 0, tc_deadline(WAIT)));
	pthread_join(t, NULL);
	EXPECT_EQ(0, u.ret);
	/* Waiting for a lane of our own side is bounded naps only. */
	EXPECT_LE(U64(1), l3l2q_chan_stats(&b)->naps);
	EXPECT_EQ(l3l2q_chan_stats(&b)->naps, l3l2q_chan_stats(&b)->sleeps);
}

/* ================================================================== */
/* Attention: finding lanes without scanning them                     */
/* ================================================================== */

/*
 * The receiver looks only at lanes with attention: a garbage tail on an
 * idle lane is never read by an endpoint whose peer follows the protocol,
 * while a receiver serving an upstream peer (which raises no attention)
 * scans and finds it.
 */
TEST_F(ch, receiver_looks_only_at_lanes_with_attention)
{
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	struct l3l2q_chan_ctx b;
	__u32 k, *ready, *taken;

	ASSERT_EQ(0, tc_region_alloc(&self->r, 8, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l2, &self->r, L3L2Q_ROLE_L2, 0, 1));
	l3l2q_chan_ctx_init(&b, &self->l3.ch);
	ASSERT_EQ(0, l3l2q_chan_try_lease(&self->l3.ctx, 5));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&b, 2));
	tc_lane(&self->r, 1, 3)->tail = 0xdead;	/* idle lane 3: garbage */
	ready = tc_word(&self->r, L3L2Q_CHAN_CTRL_L3_TX);
	taken = tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_RX);
	for (k = 0; k < 10; k++) {
		ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, k, &k, 4));
		EXPECT_EQ(U32(1u << 5), (tc_load(ready) ^ tc_load(taken)));
		ASSERT_EQ(0, l3l2q_chan_try_send(&b, 0, 100 + k, &k, 4));
		EXPECT_EQ(U32(1u << 5 | 1u << 2), (tc_load(ready) ^ tc_load(taken)));
		ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
		/* taken now equals ready: the peer has seen both lanes */
		EXPECT_EQ(U32(0), (tc_load(ready) ^ tc_load(taken)));
		ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
		EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	}
	EXPECT_EQ((int)L3L2Q_STATE_LIVE, (int)l3l2q_chan_state(&self->l2.ch));

	/* The same garbage in front of a receiver of an upstream peer. */
	tc_region_free(&self->r);
	ASSERT_EQ(0, tc_region_alloc(&self->r, 8, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l2, &self->r, L3L2Q_ROLE_L2, 0, 1));
	tc_lane(&self->r, 1, 3)->tail = 0xdead;
	EXPECT_EQ(-EPROTO, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l2.ctx)->message,
			     "lane 3"));
}

/* ================================================================== */
/* Close handshake and fatal status                                   */
/* ================================================================== */

struct drainer {
	struct tc_end *end;
	int got, last;
	__u64 cids;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	for (;;) {
		d->last = l3l2q_chan_recv(&d->end->ctx, out, 64,
					  tc_deadline(WAIT), &m);
		if (d->last)
			break;
		d->got++;
		d->cids += m.correlation_id;
	}
	return NULL;
}

TEST_F(ch, close_handshake_drains_then_acks)
{
	struct drainer d = { &self->l2, 0, 0, 0 };
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	pthread_t t;
	__u32 k;

	open_pair(_metadata, self, 1, 1, 4, 64);
	for (k = 1; k <= 3; k++)
		ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, k, "m", 1));
	/* Not while a lane is leased: nothing changes. */
	EXPECT_EQ(-EBUSY, l3l2q_chan_shutdown(&self->l3.ch));
	EXPECT_EQ(-EBUSY, l3l2q_chan_close(&self->l3.ctx, tc_deadline(WAIT)));
	EXPECT_EQ(U32(0), tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L3_TX +
				  offsetof(struct l3l2q_chan_tx_line, close))));
	ASSERT_EQ(0, l3l2q_chan_unlease(&self->l3.ctx));
	/* Nobody drains yet: the ack does not come. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_close(&self->l3.ctx, tc_deadline(SEC / 20)));
	EXPECT_EQ(-EPIPE, l3l2q_chan_try_lease(&self->l3.ctx, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, drain_thread, &d));
	EXPECT_EQ(0, l3l2q_chan_close(&self->l3.ctx, tc_deadline(WAIT)));
	pthread_join(t, NULL);
	EXPECT_EQ(3, d.got);
	EXPECT_EQ(U64(6), d.cids);
	EXPECT_EQ(-EPIPE, d.last);
	EXPECT_EQ(U32(L3L2Q_CHAN_ACKED),
		  tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_RX +
				  offsetof(struct l3l2q_chan_rx_line, ack))));
	EXPECT_EQ(-EPIPE, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	EXPECT_EQ(0, l3l2q_chan_shutdown(&self->l3.ch));	/* idempotent */
	/* Half close: the other direction still works, then closes too. */
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, 0, 7, "r", 1));
	ASSERT_EQ(0, l3l2q_chan_unlease(&self->l2.ctx));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
	ASSERT_EQ(0, l3l2q_chan_shutdown(&self->l2.ch));
	EXPECT_EQ(-EPIPE, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
	EXPECT_EQ(0, l3l2q_chan_close(&self->l2.ctx, tc_deadline(WAIT)));
}

TEST(close_needs_the_control_block_and_a_v1_peer)
{
	struct tc_region r;
	struct tc_end l3;

	/* An upstream-only region: no control block at all. */
	ASSERT_EQ(0, tc_region_alloc(&r, 1, 1, 4, 64, 0, 0, 0));
	ASSERT_EQ(0, tc_end_open(&l3, &r, L3L2Q_ROLE_L3, 0, 1));
	EXPECT_EQ(-EOPNOTSUPP, l3l2q_chan_shutdown(&l3.ch));
	EXPECT_EQ(-EOPNOTSUPP, l3l2q_chan_close(&l3.ctx, tc_deadline(SEC)));
	tc_region_free(&r);
	/* A control block, but the L2 is an upstream peer (proto 0). */
	ASSERT_EQ(0, tc_region_alloc(&r, 1, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&l3, &r, L3L2Q_ROLE_L3, 0, 1));
	EXPECT_EQ(-EOPNOTSUPP, l3l2q_chan_close(&l3.ctx, tc_deadline(SEC)));
	tc_region_free(&r);
}

/* A bad close or ack word is a protocol error, not a close. */
TEST_F(ch, garbage_close_and_ack_words_poison)
{
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 4, 64);
	tc_store(tc_word(&self->r, L3L2Q_CHAN_CTRL_L3_TX +
			 offsetof(struct l3l2q_chan_tx_line, close)), 7);
	EXPECT_EQ(-EPROTO, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l2.ctx)->message,
			     "close word 7"));
	ASSERT_EQ(0, l3l2q_chan_unlease(&self->l3.ctx));
	tc_store(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_RX +
			 offsetof(struct l3l2q_chan_rx_line, ack)), 9);
	EXPECT_EQ(-EPROTO, l3l2q_chan_close(&self->l3.ctx, tc_deadline(WAIT)));
}

TEST_F(ch, fatal_status_in_the_header_ends_the_channel)
{
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	open_l3(_metadata, self, 1, 1, 4, 64);
	ASSERT_EQ(0, up_send(&self->r, 0, 0, 1, "x", 1, 0));
	/* An upstream device reports a fatal error the upstream way. */
	tc_hdr(&self->r)->fatal_status = 0x1234;
	EXPECT_EQ(0, l3l2q_chan_recv(&self->l3.ctx, out, 64, tc_deadline(WAIT), &m));
	EXPECT_EQ(-ECONNRESET, l3l2q_chan_recv(&self->l3.ctx, out, 64,
					       tc_deadline(WAIT), &m));
	EXPECT_TRUE(contains(l3l2q_chan_last_error(&self->l3.ctx)->message,
			     "fatal_status"));
	EXPECT_EQ(-ECONNRESET, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "x", 1));
}

/* ================================================================== */
/* Calls                                                              */
/* ================================================================== */

#define CALLERS 4

struct caller {
	struct tc_end *end;
	struct l3l2q_chan_ctx ctx;
	__u32 id;
	int ret, wrong;
	struct l3l2q_chan_msg reply;
};

static void *caller_thread(void *arg)
{
	struct caller *c = arg;
	__u32 req = 1000 + c->id, rep[64];

	c->ret = l3l2q_chan_call(&c->ctx, 5, &req, 4, rep, sizeof(rep),
				 tc_deadline(WAIT), &c->reply);
	if (!c->ret && (c->reply.nbytes != 4 || rep[0] != req * 2 ||
			c->reply.route != L3L2Q_CHAN_ROUTE_REPLY))
		c->wrong = 1;
	return NULL;
}

/* Replies in reverse order are each matched to their caller. */
TEST_F(ch, call_matches_replies_out_of_order)
{
	struct caller c[CALLERS];
	pthread_t th[CALLERS];
	__u64 cids[CALLERS];
	__u32 req[CALLERS], k;
	struct l3l2q_chan_msg m;
	unsigned char out[64];

	ASSERT_EQ(0, tc_region_alloc(&self->r, CALLERS, 1, 4, 64, 0, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l3, &self->r, L3L2Q_ROLE_L3, 0, 1));
	ASSERT_EQ(0, tc_end_open(&self->l2, &self->r, L3L2Q_ROLE_L2, 0, 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&self->l2.ctx, 0));
	for (k = 0; k < CALLERS; k++) {
		c[k].end = &self->l3;
		c[k].id = k;
		c[k].ret = -1;
		c[k].wrong = 0;
		l3l2q_chan_ctx_init(&c[k].ctx, &self->l3.ch);
		ASSERT_EQ(0, l3l2q_chan_try_lease(&c[k].ctx, k));
		ASSERT_EQ(0, pthread_create(&th[k], NULL, caller_thread, &c[k]));
	}
	for (k = 0; k < CALLERS; k++) {
		ASSERT_EQ(0, l3l2q_chan_recv(&self->l2.ctx, out, 64,
					     tc_deadline(WAIT), &m));
		EXPECT_EQ(U32(5), m.route);
		memcpy(&req[k], out, 4);
		cids[k] = m.correlation_id;
	}
	for (k = CALLERS; k-- > 0;) {
		__u32 rep = req[k] * 2;

		ASSERT_EQ(0, l3l2q_chan_send(&self->l2.ctx, L3L2Q_CHAN_ROUTE_REPLY,
					     cids[k], &rep, 4, tc_deadline(WAIT)));
	}
	for (k = 0; k < CALLERS; k++) {
		pthread_join(th[k], NULL);
		EXPECT_EQ(0, c[k].ret) TH_LOG("caller %u", k);
		EXPECT_EQ(0, c[k].wrong) TH_LOG("caller %u", k);
	}
	/* Nothing left over on either side. */
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
}

/* A reply that comes after its caller gave up is delivered by recv. */
TEST_F(ch, call_timeout_leaves_late_reply_to_recv)
{
	unsigned char out[64], rep[64];
	struct l3l2q_chan_msg m, req;
	__u32 late = 77;

	open_pair(_metadata, self, 1, 1, 4, 64);
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_call(&self->l3.ctx, 1, "q", 1, rep, 64,
					      tc_deadline(SEC / 20), &m));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &req));
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, L3L2Q_CHAN_ROUTE_REPLY,
					 req.correlation_id, &late, 4));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
	EXPECT_EQ(U32(L3L2Q_CHAN_ROUTE_REPLY), m.route);
	EXPECT_EQ(req.correlation_id, m.correlation_id);
	EXPECT_EQ(0, memcmp(out, &late, 4));
	/* The next call gets a new id and its own reply only. */
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, L3L2Q_CHAN_ROUTE_REPLY,
					 req.correlation_id, &late, 4));
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_call(&self->l3.ctx, 1, "q", 1, rep, 64,
					      tc_deadline(SEC / 20), &m));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
	EXPECT_EQ(req.correlation_id, m.correlation_id);
}

/* A caller leaves other messages at the head of their lane for recv. */
TEST_F(ch, call_takes_replies_only)
{
	unsigned char out[64], rep[64];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 4, 64);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l2.ctx, 3, 0, "event", 5));
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_call(&self->l3.ctx, 1, "q", 1, rep, 64,
					      tc_deadline(SEC / 20), &m));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l3.ctx, out, 64, &m));
	EXPECT_EQ(U32(3), m.route);
	EXPECT_EQ(0, memcmp(out, "event", 5));
	EXPECT_EQ(-EINVAL, l3l2q_chan_call(&self->l3.ctx, 1, "q", 1, rep, 63,
					   tc_deadline(SEC), &m));
	EXPECT_EQ(-EINVAL, l3l2q_chan_call(&self->l3.ctx, L3L2Q_CHAN_ROUTE_REPLY,
					   "q", 1, rep, 64, tc_deadline(SEC), &m));
	EXPECT_EQ(-EMSGSIZE, l3l2q_chan_call(&self->l3.ctx, 1, rep, 65, rep, 64,
					     tc_deadline(SEC), &m));
}

/* ================================================================== */
/* An upstream peer, both directions                                  */
/* ================================================================== */

TEST(upstream_peer_interoperates_both_directions)
{
	struct tc_region r;
	struct tc_end l3;
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	__u32 k, route;
	__u64 cid, seq;

	/* An upstream region (no control block) and an upstream L2. */
	ASSERT_EQ(0, tc_region_alloc(&r, 2, 3, 4, 64, 0, 0, 0));
	ASSERT_EQ(0, tc_end_open(&l3, &r, L3L2Q_ROLE_L3, 0, 1));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&l3.ctx, 0));
	for (k = 0; k < 10; k++) {
		ASSERT_EQ(0, l3l2q_chan_try_send(&l3.ctx, k, 100 + k, &k, 4));
		ASSERT_EQ(4, up_recv(&r, 1, 0, out, 64, &route, &cid, &seq));
		EXPECT_EQ(k, route);
		EXPECT_EQ(U64(100 + k), cid);
		EXPECT_EQ(U64(k + 1), seq);	/* ours: position + 1 */
		/* the upstream L2 answers on the lane k % 3 */
		ASSERT_EQ(0, up_send(&r, 0, k % 3, 7, &k, 4, 200 + k));
		ASSERT_EQ(0, l3l2q_chan_try_recv(&l3.ctx, out, 64, &m));
		EXPECT_EQ(U64(200 + k), m.correlation_id);
		EXPECT_EQ(U32(k % 3), m.lane);
		EXPECT_EQ(0, memcmp(out, &k, 4));
	}
	/* Without a control block a blocking call cannot sleep: it spins
	 * until its deadline, and says the peer is alive. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_recv(&l3.ctx, out, 64,
					      tc_deadline(SEC / 50), &m));
	EXPECT_EQ(U64(0), l3l2q_chan_stats(&l3.ctx)->sleeps);
	tc_region_free(&r);
}

/* ================================================================== */
/* Waking                                                             */
/* ================================================================== */

struct sleeper {
	struct tc_end *end;
	int n, got, last;
};

static void *sleeper_thread(void *arg)
{
	struct sleeper *s = arg;
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	while (s->got < s->n) {
		s->last = l3l2q_chan_recv(&s->end->ctx, out, 64,
					  tc_deadline(WAIT), &m);
		if (s->last)
			break;
		s->got++;
	}
	return NULL;
}

/*
 * A receiver asleep in env.sleep is woken by the sender (never by its
 * deadline): ten times the receiver is seen entering a sleep, then 20
 * messages go out.  A lost kick would show as a sleep that timed out.
 */
TEST_F(ch, sleeping_receiver_is_kicked_once_per_arming)
{
	struct sleeper s = { &self->l2, 200, 0, 0 };
	struct timespec ts = { 0, 1000 * 1000 };
	unsigned long asleep = 0;
	pthread_t t;
	int k;

	open_pair(_metadata, self, 1, 1, 32, 64);
	ASSERT_EQ(0, pthread_create(&t, NULL, sleeper_thread, &s));
	for (k = 0; k < s.n; k++) {
		if (k % 20 == 0) {
			/* until it enters env.sleep once more */
			while (atomic_load(&self->l2.env.sleeps) == asleep)
				nanosleep(&ts, NULL);
			asleep = atomic_load(&self->l2.env.sleeps);
		}
		ASSERT_EQ(0, l3l2q_chan_send(&self->l3.ctx, 0, (__u64)k, &k, 4,
					     tc_deadline(WAIT)));
	}
	pthread_join(t, NULL);
	EXPECT_EQ(s.n, s.got);
	EXPECT_EQ(0, s.last);
	/* Every sleep was a full one (no nap), and none ran to its end. */
	EXPECT_LE(U64(10), l3l2q_chan_stats(&self->l2.ctx)->sleeps);
	EXPECT_EQ(U64(0), l3l2q_chan_stats(&self->l2.ctx)->naps);
	EXPECT_EQ(0ul, (unsigned long)atomic_load(&self->l2.env.timeouts));
	/* At least the first message of each batch found it armed. */
	EXPECT_LE(U64(10), l3l2q_chan_stats(&self->l3.ctx)->kicks);
}

struct second {
	struct l3l2q_chan_ctx ctx;
	int ret;
	__u64 cid;
};

static void *second_thread(void *arg)
{
	struct second *s = arg;
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	s->ret = l3l2q_chan_recv(&s->ctx, out, 64, tc_deadline(WAIT), &m);
	s->cid = m.correlation_id;
	return NULL;
}

/*
 * A thread that holds a lane (here a zero-copy message) may leave messages
 * behind when it lets go, and nothing from the peer announces those: a
 * receiver that finds nothing else meanwhile naps instead of sleeping to
 * its deadline, and takes them once the lane is free.
 */
TEST_F(ch, receiver_naps_while_another_thread_holds_a_lane)
{
	struct timespec ts = { 0, 1000 * 1000 };
	struct second s = { .ret = 1 };
	struct l3l2q_chan_msg m;
	pthread_t t;

	open_pair(_metadata, self, 1, 1, 4, 64);
	l3l2q_chan_ctx_init(&s.ctx, &self->l2.ch);
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 1, "one", 3));
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 2, "two", 3));
	ASSERT_EQ(0, l3l2q_chan_try_peek(&self->l2.ctx, &m));
	ASSERT_EQ(0, pthread_create(&t, NULL, second_thread, &s));
	/* Once it waits in env.sleep, having found the lane held. */
	while (!atomic_load(&self->l2.env.sleeps))
		nanosleep(&ts, NULL);
	ASSERT_EQ(0, l3l2q_chan_release(&self->l2.ctx, &m));
	pthread_join(t, NULL);
	EXPECT_EQ(0, s.ret);
	EXPECT_EQ(U64(2), s.cid);
	/* Its sleeps were naps: a sleep to the deadline would be a bug. */
	EXPECT_LE(U64(1), l3l2q_chan_stats(&s.ctx)->naps);
	EXPECT_EQ(l3l2q_chan_stats(&s.ctx)->naps, l3l2q_chan_stats(&s.ctx)->sleeps);
}

struct after_naps {
	struct tc_end *waiter;
	struct tc_region *r;
};

/* An upstream L2: sends once the L3 has napped three times. */
static void *after_naps_thread(void *arg)
{
	struct after_naps *a = arg;
	struct timespec ts = { 0, 1000 * 1000 };

	while (atomic_load(&a->waiter->env.sleeps) < 3)
		nanosleep(&ts, NULL);
	up_send(a->r, 0, 0, 1, "late", 4, 8);
	return NULL;
}

/*
 * A peer that announces neither L3L2Q_FEAT_KICKS nor L3L2Q_CHAN_PROTO_V1
 * (an upstream one) never kicks: whoever waits for it sleeps in naps of
 * L3L2Q_CHAN_NAP_NS, and finds its message after one, long before the
 * deadline (the harness timeout is the watchdog).
 */
TEST_F(ch, peer_without_kicks_gets_bounded_sleeps)
{
	struct after_naps a = { &self->l3, &self->r };
	unsigned char out[64];
	struct l3l2q_chan_msg m;
	pthread_t t;

	open_l3(_metadata, self, 1, 1, 4, 64);
	EXPECT_EQ(U32(0), tc_load(tc_word(&self->r, L3L2Q_CTRL_L2_FEATURES)));
	EXPECT_EQ(U32(L3L2Q_FEAT_KICKS), tc_load(tc_word(&self->r, L3L2Q_CTRL_L3_FEATURES)));
	ASSERT_EQ(0, pthread_create(&t, NULL, after_naps_thread, &a));
	EXPECT_EQ(0, l3l2q_chan_recv(&self->l3.ctx, out, 64,
				     tc_deadline(600 * SEC), &m));
	pthread_join(t, NULL);
	EXPECT_EQ(U64(8), m.correlation_id);
	EXPECT_LE(U64(3), l3l2q_chan_stats(&self->l3.ctx)->naps);
	EXPECT_EQ(l3l2q_chan_stats(&self->l3.ctx)->naps,
		  l3l2q_chan_stats(&self->l3.ctx)->sleeps);
}

/* Sleeping on your own: the word and value to wait on, and the kick. */
TEST_F(ch, want_wakeup_gives_the_bell_to_sleep_on)
{
	__u32 off, seen, *wake;
	unsigned char out[64];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 4, 64);
	EXPECT_EQ(-EINVAL, l3l2q_chan_want_wakeup(&self->l2.ctx, 3, &off, &seen));
	ASSERT_EQ(0, l3l2q_chan_want_wakeup(&self->l2.ctx, L3L2Q_CHAN_WANT_RECV,
					    &off, &seen));
	EXPECT_EQ(U32(L3L2Q_CHAN_CTRL_L3_TX_BELL), off);
	wake = tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_RX +
		       offsetof(struct l3l2q_chan_rx_line, wake));
	EXPECT_EQ(U32(1), tc_load(wake) & L3L2Q_CHAN_WAKE_SLEEPERS);
	EXPECT_EQ(-EAGAIN, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "x", 1));
	/* The bell moved past what the sleeper saw, and a kick went out. */
	EXPECT_NE(seen, tc_load(tc_word(&self->r, off)));
	EXPECT_EQ(1ul, (unsigned long)atomic_load(&self->l3.env.kicks));
	l3l2q_chan_clear_wakeup(&self->l2.ctx);
	EXPECT_EQ(U32(0), tc_load(wake) & L3L2Q_CHAN_WAKE_SLEEPERS);
	/* Nobody armed: the next send neither rings nor kicks. */
	seen = tc_load(tc_word(&self->r, off));
	ASSERT_EQ(0, l3l2q_chan_try_recv(&self->l2.ctx, out, 64, &m));
	ASSERT_EQ(0, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "y", 1));
	EXPECT_EQ(seen, tc_load(tc_word(&self->r, off)));
	EXPECT_EQ(1ul, (unsigned long)atomic_load(&self->l3.env.kicks));
	/* SPACE names the peer's RX bell. */
	ASSERT_EQ(0, l3l2q_chan_want_wakeup(&self->l3.ctx, L3L2Q_CHAN_WANT_SPACE,
					    &off, &seen));
	EXPECT_EQ(U32(L3L2Q_CHAN_CTRL_L2_RX_BELL), off);
	l3l2q_chan_clear_wakeup(&self->l3.ctx);
}

TEST_F(ch, error_records_name_the_operation)
{
	unsigned char out[8];
	struct l3l2q_chan_msg m;

	open_pair(_metadata, self, 1, 1, 4, 8);
	EXPECT_EQ(-EINVAL, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, NULL, 3));
	EXPECT_EQ(U32(L3L2Q_EOP_CHAN_SEND), l3l2q_chan_last_error(&self->l3.ctx)->op);
	EXPECT_STREQ("channel.send",
		     l3l2q_error_op_str(l3l2q_chan_last_error(&self->l3.ctx)->op));
	EXPECT_STREQ("channel.close", l3l2q_error_op_str(L3L2Q_EOP_CHAN_CLOSE));
	EXPECT_STREQ("unknown", l3l2q_error_op_str(L3L2Q_EOP_CHAN_CLOSE + 1));
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_ARGUMENT),
		  l3l2q_chan_last_error(&self->l3.ctx)->kind);
	EXPECT_EQ(U64(23), l3l2q_chan_last_error(&self->l3.ctx)->region_id);
	EXPECT_EQ(-ETIMEDOUT, l3l2q_chan_recv(&self->l3.ctx, out, 8,
					      tc_deadline(SEC / 100), &m));
	EXPECT_EQ(U32(L3L2Q_EOP_CHAN_RECV), l3l2q_chan_last_error(&self->l3.ctx)->op);
	/* The endpoint-wide record stays empty while healthy. */
	EXPECT_EQ(U32(L3L2Q_ERR_NONE), l3l2q_chan_error(&self->l3.ch)->kind);
	l3l2q_chan_exit(&self->l3.ch);
	EXPECT_EQ(-ESHUTDOWN, l3l2q_chan_try_send(&self->l3.ctx, 0, 0, "x", 1));
	EXPECT_EQ(U32(L3L2Q_ERR_RELEASED), l3l2q_chan_last_error(&self->l3.ctx)->kind);
}

TEST_HARNESS_MAIN
