// SPDX-License-Identifier: MIT
/*
 * l2_test - the L2 (device) endpoint against an upstream L3 peer played
 * byte by byte: input consumption and the input window, the output
 * producer, STOP, abort flags, timeouts and ownership.
 *
 * Tests 9-38 of the upstream C++ suite (reference §12.1), named after it in
 * snake_case, then the pitfalls P9, P10, P17 and P21, the reference §7
 * window examples, and further poison cases.
 *
 * The endpoint runs with env NULL: a blocking call makes one attempt and
 * then its deadline check, so a deadline of 0 is an immediate probe that
 * still samples the peer's abort flag.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "helpers.h"
#include "l3l2q_core.h"

#define U64(x) ((__u64)(x))
#define U32(x) ((__u32)(x))
#define PTR(x) ((uintptr_t)(x))

FIXTURE(l2)
{
	struct th_region r;
	struct l3l2q_l2 q;
	int have_region;
	int have_q;
};

static void close_l2(FIXTURE_DATA(l2) *self)
{
	if (self->have_q)
		l3l2q_l2_close(&self->q);
	if (self->have_region)
		th_region_free(&self->r);
	self->have_q = 0;
	self->have_region = 0;
}

/* (Re)build the fixture with a fresh region and an L2 endpoint on it. */
static void open_l2(struct __test_metadata *_metadata, FIXTURE_DATA(l2) *self,
		    __u64 depth, __u64 in_arena, __u64 out_arena,
		    __u32 max_inflight, __u64 start_pos)
{
	close_l2(self);
	ASSERT_EQ(0, th_region_alloc(&self->r, depth, in_arena, out_arena,
				     start_pos));
	self->have_region = 1;
	ASSERT_EQ(0, l3l2q_l2_init(&self->q, &self->r.mem, &self->r.layout,
				   start_pos, max_inflight, NULL));
	self->have_q = 1;
}

/*
 * Default geometry: depth 4, 128-byte arenas, window 1.  Tests ported from
 * upstream reopen with the geometry and window the upstream test used.
 */
FIXTURE_SETUP(l2)
{
	self->have_q = 0;
	self->have_region = 0;
	open_l2(_metadata, self, 4, 128, 128, 1, 0);
}

FIXTURE_TEARDOWN(l2)
{
	close_l2(self);
}

#define R	(&self->r)
#define Q	(&self->q)
#define IA	(self->r.layout.input_arena_offset)
#define OA	(self->r.layout.output_arena_offset)
#define ODO	(self->r.layout.output_desc_offset)

static const struct l3l2q_error *ep_err(FIXTURE_DATA(l2) *self)
{
	return l3l2q_ep_error(&self->q.ep);
}

/* L3 writes @n bytes of a pattern at @off and publishes input @seq. */
static void l3_put(FIXTURE_DATA(l2) *self, __u64 seq, __u64 opcode,
		   __u64 off, __u64 n)
{
	__u64 i;

	for (i = 0; i < n; i++)
		th_payload(&self->r, off)[i] = (unsigned char)(seq * 31 + i);
	th_publish_input(&self->r, seq, opcode, off, n);
}

static int pattern_ok(const void *data, __u64 seq, __u64 n)
{
	const unsigned char *p = data;
	__u64 i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seq * 31 + i))
			return 0;
	return 1;
}

/* The endpoint is healthy: no terminal error, LIVE, own flag still 0. */
#define EXPECT_HEALTHY() do {						\
	EXPECT_EQ(U32(L3L2Q_ERR_NONE), ep_err(self)->kind);		\
	EXPECT_EQ(L3L2Q_STATE_LIVE, (int)l3l2q_ep_state(&self->q.ep));	\
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));			\
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L3_ABORT));			\
} while (0)

/* Local poison: first error is (kind, op), state POISONED_LOCAL, flag 1. */
#define EXPECT_POISONED(k, o) do {					\
	EXPECT_EQ(U32(k), ep_err(self)->kind);				\
	EXPECT_EQ(U32(o), ep_err(self)->op);				\
	EXPECT_NE(0, ep_err(self)->message[0]);				\
	EXPECT_EQ(U64(19), ep_err(self)->region_id);			\
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL,				\
		  (int)l3l2q_ep_state(&self->q.ep));			\
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_L2_ABORT));			\
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L3_ABORT));			\
} while (0)

/* After poison every data operation is refused with -EPROTO. */
#define EXPECT_STAYS_POISONED() do {					\
	struct l3l2q_msg __m;						\
	struct l3l2q_res __r;						\
	__u32 __kind = ep_err(self)->kind;				\
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &__m));			\
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(Q, 0, &__r));		\
	EXPECT_EQ(-EPROTO, l3l2q_l2_peek(Q, 0, &__m));			\
	EXPECT_EQ(__kind, ep_err(self)->kind); /* first error wins */	\
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_L2_ABORT));			\
} while (0)

/* ================================================================== */
/* Upstream 9-13: L2 input                                            */
/* ================================================================== */

TEST_F(l2, l2_input_peek_handles_zero_byte_descriptor_before_arena_validation)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	/* Offset 0 is outside the input arena: a zero-byte message must
	 * skip the arena check entirely. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(1), m.seq);
	EXPECT_EQ(U64(L3L2Q_OP_DATA), m.opcode);
	EXPECT_EQ(U64(0), m.offset);
	EXPECT_EQ(U64(0), m.nbytes);
	EXPECT_EQ(PTR(NULL), PTR(m.data));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();

	/* Zero-byte moves no payload cursor: the next payload is at base. */
	l3_put(self, 2, L3L2Q_OP_DATA, IA, 16);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(PTR(th_payload(R, IA)), PTR(m.data));
	EXPECT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, l2_input_peek_poisons_zero_byte_descriptor_with_nonzero_offset)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 8, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_STAYS_POISONED();
}

TEST_F(l2, l2_input_peek_exposes_nonzero_payload_bytes)
{
	static const unsigned char bytes[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	memcpy(th_payload(R, IA), bytes, sizeof(bytes));
	th_publish_input(R, 1, L3L2Q_OP_DATA, IA, 4);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(1), m.seq);
	EXPECT_EQ(U64(IA), m.offset);
	EXPECT_EQ(U64(4), m.nbytes);
	ASSERT_EQ(PTR(th_payload(R, IA)), PTR(m.data));
	EXPECT_EQ(0, memcmp(m.data, bytes, 4));
	EXPECT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, l2_input_peek_allows_arena_wrap_at_expected_payload_head)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 128, 64, 1, 0);
	/* Arena 128: 80 bytes at base, then 64 bytes (80 + 64 > 128) wrap. */
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 80);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_TRUE(pattern_ok(m.data, 1, 80));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));

	l3_put(self, 2, L3L2Q_OP_DATA, IA, 64);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(2), m.seq);
	EXPECT_EQ(PTR(th_payload(R, IA)), PTR(m.data));
	EXPECT_TRUE(pattern_ok(m.data, 2, 64));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));

	/* After the wrap the cursor is base + 64. */
	l3_put(self, 3, L3L2Q_OP_DATA, IA + 64, 64);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(PTR(th_payload(R, IA + 64)), PTR(m.data));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, l2_input_peek_rejects_payload_offset_mismatch_before_release)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 128, 64, 1, 0);
	/* The first message must be at the arena base, not base + 64. */
	l3_put(self, 1, L3L2Q_OP_DATA, IA + 64, 16);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_STAYS_POISONED();
}

/* ================================================================== */
/* Upstream 14-15: L2 output                                          */
/* ================================================================== */

TEST_F(l2, l2_output_reserve_publish_writes_descriptor_and_tail)
{
	struct l3l2q_res res;
	struct l3l2q_desc *d;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 16, &res));
	EXPECT_EQ(U64(1), res.seq);
	EXPECT_EQ(U64(OA), res.offset);
	EXPECT_EQ(U64(16), res.nbytes);
	ASSERT_EQ(PTR(th_payload(R, OA)), PTR(res.data));
	memset(res.data, 0x42, 16);
	/* Nothing is visible before publish. */
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));

	d = th_slot(R, ODO, 1);
	EXPECT_EQ(U64(1), d->seq);
	EXPECT_EQ(U64(L3L2Q_OP_DATA), d->opcode);
	EXPECT_EQ(U64(OA), d->payload_offset);
	EXPECT_EQ(U64(16), d->payload_nbytes);
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(0x42, th_payload(R, OA)[15]);
	EXPECT_HEALTHY();
}

TEST_F(l2, l2_output_reserve_replays_released_descriptors_before_reusing_arena)
{
	struct l3l2q_res res;

	open_l2(_metadata, self, 4, 64, 128, 1, 0);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 80, &res));
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));

	/* Not yet released: 80 more bytes cannot fit (no-progress). */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 80, &res));
	EXPECT_HEALTHY();
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));

	/* L3 releases seq 1; the producer replays it and reuses the base. */
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 80, &res));
	EXPECT_EQ(U64(2), res.seq);
	EXPECT_EQ(U64(OA), res.offset);
	EXPECT_EQ(PTR(th_payload(R, OA)), PTR(res.data));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(U64(OA), th_slot(R, ODO, 2)->payload_offset);
	EXPECT_HEALTHY();
}

/* ================================================================== */
/* Upstream 16-22: abort, timeout and capacity                        */
/* ================================================================== */

TEST_F(l2, remote_abort_observation_does_not_set_own_abort_flag)
{
	struct l3l2q_msg m;
	struct l3l2q_res res;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	th_set_ctr(R, L3L2Q_CTR_L3_ABORT, 1);
	/* A try call does not sample the flag (only after a timeout). */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U32(L3L2Q_ERR_NONE), ep_err(self)->kind);

	EXPECT_EQ(-ECONNRESET, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_EQ(U32(L3L2Q_ERR_REMOTE_ABORTED), ep_err(self)->kind);
	EXPECT_EQ(U32(L3L2Q_EOP_TIMEOUT), ep_err(self)->op);
	EXPECT_EQ(L3L2Q_STATE_POISONED_REMOTE, (int)l3l2q_ep_state(&self->q.ep));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));

	/* Terminal: later operations report the remote abort too. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, remote_abort_is_also_observed_by_a_timed_out_reserve)
{
	struct l3l2q_res res;

	/* Fill the output ring (depth 4, zero-byte). */
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
		ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	}
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l2_reserve(Q, 0, 0, &res));
	EXPECT_HEALTHY();
	th_set_ctr(R, L3L2Q_CTR_L3_ABORT, 1);
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_reserve(Q, 0, 0, &res));
	EXPECT_EQ(U32(L3L2Q_ERR_REMOTE_ABORTED), ep_err(self)->kind);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(4, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_F(l2, ordinary_timeout_does_not_set_own_abort_flag)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_HEALTHY();
	/* Recorded as the last error (ours: kind TIMEOUT), never terminal. */
	EXPECT_EQ(U32(L3L2Q_ERR_TIMEOUT), l3l2q_ep_last_error(&self->q.ep)->kind);

	/* The queue stays live. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_EQ(U64(1), m.seq);
	EXPECT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, output_capacity_equals_depth_and_full_is_no_progress_without_abort)
{
	struct l3l2q_res res;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	for (int i = 1; i <= 2; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
		EXPECT_EQ(U64(i), res.seq);
		EXPECT_EQ(U64(0), res.offset);
		EXPECT_EQ(U64(0), res.nbytes);
		EXPECT_EQ(PTR(NULL), PTR(res.data));
		ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	}
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_HEALTHY();
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(U64(0), th_slot(R, ODO, 1)->payload_offset);
	EXPECT_EQ(U64(0), th_slot(R, ODO, 2)->payload_nbytes);
}

TEST_F(l2, full_and_empty_use_monotonic_counters_not_masked_indices)
{
	struct l3l2q_res res;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
		ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	}
	/* tail 2, head 0: full, although masked indices are equal. */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 0, &res));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_EQ(U64(3), res.seq);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	/* seq 3 reused slot 0. */
	EXPECT_EQ(U64(3), th_slot(R, ODO, 3)->seq);
	EXPECT_EQ(U64(3), th_slot(R, ODO, 1)->seq);
	EXPECT_EQ(U64(2), th_slot(R, ODO, 2)->seq);
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_HEALTHY();
}

TEST_F(l2, output_reserve_too_large_is_pre_mutation_no_progress_without_abort)
{
	struct l3l2q_res res;

	open_l2(_metadata, self, 4, 128, 64, 1, 0);
	EXPECT_EQ(-EMSGSIZE, l3l2q_l2_try_reserve(Q, 65, &res));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l2_try_reserve(Q, UINT64_MAX, &res));
	/* The blocking form does not wait for what can never fit. */
	EXPECT_EQ(-EMSGSIZE, l3l2q_l2_reserve(Q, 65, L3L2Q_DEADLINE_NONE, &res));
	EXPECT_HEALTHY();
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	/* Nothing moved: the whole arena is still available at its base. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 64, &res));
	EXPECT_EQ(U64(1), res.seq);
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_F(l2, output_publish_application_error_does_not_set_abort_flag)
{
	struct l3l2q_res res;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 8, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_ERROR));
	EXPECT_EQ(U64(L3L2Q_OP_ERROR), th_slot(R, ODO, 1)->opcode);
	EXPECT_EQ(U64(3), th_slot(R, ODO, 1)->opcode);
	EXPECT_EQ(U64(8), th_slot(R, ODO, 1)->payload_nbytes);
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
	/* And a zero-byte ERROR too. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_ERROR));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
}

TEST_F(l2, output_publish_stale_reservation_poisons_and_sets_own_abort_flag)
{
	struct l3l2q_res res;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 8, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(-EPROTO, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_OUTPUT_PUBLISH);
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_STAYS_POISONED();
}

/* ================================================================== */
/* Upstream 23-28: input ownership and STOP                           */
/* ================================================================== */

TEST_F(l2, input_application_error_is_normal_message_and_does_not_set_abort_flag)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	l3_put(self, 1, L3L2Q_OP_ERROR, IA, 24);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(L3L2Q_OP_ERROR), m.opcode);
	EXPECT_EQ(U64(24), m.nbytes);
	EXPECT_TRUE(pattern_ok(m.data, 1, 24));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	/* A zero-byte ERROR as well. */
	th_publish_input(R, 2, L3L2Q_OP_ERROR, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(L3L2Q_OP_ERROR), m.opcode);
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
}

TEST_F(l2, input_release_rejects_caller_mutated_handle_metadata)
{
	struct l3l2q_msg m, bad;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 16);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	bad = m;
	bad.nbytes = 0;
	EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &bad));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_RELEASE);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	/* The genuine handle cannot be released after poison either. */
	EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_STAYS_POISONED();
}

TEST_F(l2, input_stop_release_rejects_later_published_input_as_invalid_state)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	th_publish_input(R, 1, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(L3L2Q_OP_STOP), m.opcode);
	EXPECT_EQ(U64(1), m.seq);
	EXPECT_EQ(PTR(NULL), PTR(m.data));
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_NE(0, l3l2q_l2_drained(Q));
	EXPECT_HEALTHY();

	th_publish_input(R, 2, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, input_stop_with_payload_metadata_poisons_and_sets_own_abort_flag)
{
	struct l3l2q_msg m;

	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	th_publish_input(R, 1, L3L2Q_OP_STOP, IA, 8);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
	EXPECT_STAYS_POISONED();
}

TEST_F(l2, input_stop_with_nonzero_offset_only_poisons)
{
	struct l3l2q_msg m;

	/* STOP must have both nbytes 0 and offset 0. */
	th_publish_input(R, 1, L3L2Q_OP_STOP, IA, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, input_second_peek_before_release_poisons_ownership_and_sets_own_abort_flag)
{
	struct l3l2q_msg m, m2;

	/* Upstream checks the active entry before refreshing the tail, so
	 * this poisons although nothing more was published. */
	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m2));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_STREQ("input.try_peek", l3l2q_error_op_str(ep_err(self)->op));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, input_second_peek_in_single_mode_poisons_with_more_input_published)
{
	struct l3l2q_msg m, m2;

	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m2));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, input_second_peek_in_single_mode_poisons_for_stop_behind_data)
{
	struct l3l2q_msg m, m2;

	/* Reference §5.2 step 1: including STOP behind an active DATA. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m2));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, max_inflight_greater_than_depth_sets_bad_argument_without_abort_flag)
{
	struct l3l2q_l2 *q2 = malloc(sizeof(*q2));
	const struct l3l2q_error *e;
	struct l3l2q_msg m;

	ASSERT_NE(NULL, q2);
	open_l2(_metadata, self, 2, 64, 64, 1, 0);
	memset(q2, 0, sizeof(*q2));
	EXPECT_EQ(-EINVAL, l3l2q_l2_init(q2, &self->r.mem, &self->r.layout, 0, 3, NULL));
	e = l3l2q_ep_last_error(&q2->ep);
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_ARGUMENT), e->kind);
	EXPECT_EQ(U32(L3L2Q_EOP_INIT), e->op);
	EXPECT_NE(0, e->message[0]);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L3_ABORT));

	/* 0 is not a window either; the window is also capped. */
	memset(q2, 0, sizeof(*q2));
	EXPECT_EQ(-EINVAL, l3l2q_l2_init(q2, &self->r.mem, &self->r.layout, 0, 0, NULL));
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_ARGUMENT), l3l2q_ep_last_error(&q2->ep)->kind);
	EXPECT_EQ(U32(L3L2Q_EOP_INIT), l3l2q_ep_last_error(&q2->ep)->op);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
	free(q2);

	/* The existing endpoint on the region is unaffected. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_HEALTHY();
}

TEST_F(l2, max_inflight_equal_to_depth_and_window_cap)
{
	struct l3l2q_l2 *q2 = malloc(sizeof(*q2));
	struct l3l2q_msg a, b;

	ASSERT_NE(NULL, q2);
	close_l2(self);
	ASSERT_EQ(0, th_region_alloc(&self->r, 512, 64, 64, 0));
	self->have_region = 1;
	/* N == depth is legal; N above the compiled window maximum is not. */
	memset(q2, 0, sizeof(*q2));
	EXPECT_EQ(-EINVAL, l3l2q_l2_init(q2, &self->r.mem, &self->r.layout, 0,
					 L3L2Q_WINDOW_MAX + 1, NULL));
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_ARGUMENT), l3l2q_ep_last_error(&q2->ep)->kind);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
	memset(q2, 0, sizeof(*q2));
	ASSERT_EQ(0, l3l2q_l2_init(q2, &self->r.mem, &self->r.layout, 0,
				   L3L2Q_WINDOW_MAX, NULL));
	l3l2q_l2_close(q2);
	free(q2);

	open_l2(_metadata, self, 2, 64, 64, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	EXPECT_EQ(U64(2), b.seq);
	EXPECT_HEALTHY();
}

TEST_F(l2, init_rejects_a_layout_it_did_not_compute)
{
	struct l3l2q_l2 *q2 = malloc(sizeof(*q2));
	struct l3l2q_layout bad;
	struct l3l2q_mem mem;
	struct l3l2q_msg m;

	ASSERT_NE(NULL, q2);
	/* A tampered layout (arena moved into the rings): BAD_DESCRIPTOR. */
	bad = self->r.layout;
	bad.input_arena_offset = 0;
	EXPECT_EQ(-EINVAL, l3l2q_l2_init(q2, &self->r.mem, &bad, 0, 1, NULL));
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_DESCRIPTOR), l3l2q_ep_last_error(&q2->ep)->kind);
	EXPECT_EQ(U32(L3L2Q_EOP_INIT), l3l2q_ep_last_error(&q2->ep)->op);
	/* An endpoint whose init failed refuses to run. */
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l2_try_peek(q2, &m));

	/* Depth 1 is wire-legal but refused by l3l2q (DESIGN §2). */
	ASSERT_EQ(L3L2Q_LAYOUT_OK, (int)l3l2q_wire_layout(1, 64, 64, &bad));
	EXPECT_EQ(-EINVAL, l3l2q_l2_init(q2, &self->r.mem, &bad, 0, 1, NULL));
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_DESCRIPTOR), l3l2q_ep_last_error(&q2->ep)->kind);

	/* Counters must be 64-aligned. */
	mem = self->r.mem;
	mem.counters = (char *)mem.counters + 4;
	EXPECT_EQ(-EINVAL, l3l2q_l2_init(q2, &mem, &self->r.layout, 0, 1, NULL));
	EXPECT_EQ(U32(L3L2Q_ERR_BAD_ARGUMENT), l3l2q_ep_last_error(&q2->ep)->kind);
	EXPECT_EQ(U32(L3L2Q_EOP_INIT), l3l2q_ep_last_error(&q2->ep)->op);
	free(q2);

	/* None of that raised a flag or disturbed the region. */
	EXPECT_HEALTHY();
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(0, l3l2q_l2_try_peek(Q, &m));
}

TEST_F(l2, closed_endpoint_refuses_every_operation)
{
	struct l3l2q_msg m;
	struct l3l2q_res res;

	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	l3l2q_l2_close(Q);
	l3l2q_l2_close(Q);	/* idempotent */
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
}

TEST_F(l2, blocking_calls_without_deadline_end_on_peer_abort)
{
	struct l3l2q_msg m;
	struct l3l2q_res res;

	/* DEADLINE_NONE never times out, but a peer abort still ends it. */
	th_set_ctr(R, L3L2Q_CTR_L3_ABORT, 1);
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_peek(Q, L3L2Q_DEADLINE_NONE, &m));
	EXPECT_EQ(U32(L3L2Q_ERR_REMOTE_ABORTED), ep_err(self)->kind);
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_reserve(Q, 0, L3L2Q_DEADLINE_NONE, &res));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
}

TEST_F(l2, blocking_peek_delivers_published_input_before_peer_abort)
{
	struct l3l2q_msg m;

	/* A message published before the peer aborted is still delivered. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_set_ctr(R, L3L2Q_CTR_L3_ABORT, 1);
	ASSERT_EQ(0, l3l2q_l2_peek(Q, L3L2Q_DEADLINE_NONE, &m));
	EXPECT_EQ(U64(1), m.seq);
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
}

TEST_F(l2, dead_peer_role_is_reported_as_remote_abort)
{
	struct l3l2q_msg m;
	__u32 *l3_state = (__u32 *)((char *)self->r.mem.ctrl + L3L2Q_CTRL_L3_STATE);

	/* l3l2q control block: the L3 role died without raising its flag. */
	__atomic_store_n(l3_state, L3L2Q_ROLE_DEAD, __ATOMIC_RELEASE);
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(-ECONNRESET, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_EQ(U32(L3L2Q_ERR_REMOTE_ABORTED), ep_err(self)->kind);
	EXPECT_EQ(L3L2Q_STATE_POISONED_REMOTE, (int)l3l2q_ep_state(&self->q.ep));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
}

/* A fake clock: every read advances time by one; relax counts calls and
 * may play L3 by publishing input after a number of spins. */
struct fake_env {
	__u64 now, clock_reads, relax_calls, publish_after;
	struct th_region *r;
};

static __u64 fake_now(void *ctx)
{
	struct fake_env *f = ctx;

	f->clock_reads++;
	return ++f->now;
}

static void fake_relax(void *ctx)
{
	struct fake_env *f = ctx;

	if (++f->relax_calls == f->publish_after)
		th_publish_input(f->r, 1, L3L2Q_OP_DATA, 0, 0);
}

static void open_l2_env(struct __test_metadata *_metadata,
			FIXTURE_DATA(l2) *self, struct fake_env *f,
			struct l3l2q_env *env)
{
	memset(f, 0, sizeof(*f));
	f->r = &self->r;
	env->now_ns = fake_now;
	env->relax = fake_relax;
	env->ctx = f;
	l3l2q_l2_close(&self->q);
	ASSERT_EQ(0, l3l2q_l2_init(&self->q, &self->r.mem, &self->r.layout, 0,
				   1, env));
}

TEST_F(l2, blocking_peek_reads_the_clock_once_per_spin_batch)
{
	struct fake_env f;
	struct l3l2q_env env = { 0 };
	struct l3l2q_msg m;

	open_l2_env(_metadata, self, &f, &env);
	/* Time 0 -> deadline 3: three clock reads, ~1024 attempts each. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l2_peek(Q, 3, &m));
	EXPECT_EQ(U64(3), f.clock_reads);
	EXPECT_GE(f.relax_calls, U64(2 * (L3L2Q_SPINS_PER_CLOCK - 1)));
	EXPECT_HEALTHY();
}

TEST_F(l2, blocking_peek_with_zero_deadline_is_one_probe)
{
	struct fake_env f;
	struct l3l2q_env env = { 0 };
	struct l3l2q_msg m;

	open_l2_env(_metadata, self, &f, &env);
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l2_peek(Q, 0, &m));
	EXPECT_LE(f.clock_reads, U64(1));
	EXPECT_EQ(U64(0), f.relax_calls);
	EXPECT_HEALTHY();
}

TEST_F(l2, blocking_peek_returns_input_published_while_waiting)
{
	struct fake_env f;
	struct l3l2q_env env = { 0 };
	struct l3l2q_msg m;

	open_l2_env(_metadata, self, &f, &env);
	f.publish_after = 5000;		/* L3 publishes mid-wait */
	ASSERT_EQ(0, l3l2q_l2_peek(Q, L3L2Q_DEADLINE_NONE, &m));
	EXPECT_EQ(U64(1), m.seq);
	EXPECT_EQ(U64(5000), f.relax_calls);
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_HEALTHY();
}

TEST_F(l2, null_out_arguments_are_rejected_without_poison)
{
	struct l3l2q_msg m;

	/* Bad arguments are caught before any shared state is touched. */
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-EINVAL, l3l2q_l2_try_peek(Q, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_l2_try_reserve(Q, 0, NULL));
	EXPECT_HEALTHY();
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(1), m.seq);
}

/* ================================================================== */
/* Upstream 29-38: the input window                                   */
/* ================================================================== */

TEST_F(l2, multi_inflight_acquire_allows_several_data_inputs)
{
	struct l3l2q_msg m[3], extra;

	open_l2(_metadata, self, 4, 128, 128, 3, 0);
	for (int i = 1; i <= 3; i++)
		th_publish_input(R, i, L3L2Q_OP_DATA, 0, 0);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[i]));
		EXPECT_EQ(U64(i + 1), m[i].seq);
	}
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	/* Nothing more published: empty, not poison. */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &extra));
	EXPECT_HEALTHY();
}

TEST_F(l2, multi_inflight_acquire_allows_non_zero_payload_offsets_before_release)
{
	struct l3l2q_msg a, b;

	open_l2(_metadata, self, 4, 128, 128, 3, 0);
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 16);
	l3_put(self, 2, L3L2Q_OP_DATA, IA + 16, 16);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	EXPECT_EQ(PTR(th_payload(R, IA)), PTR(a.data));
	EXPECT_EQ(PTR(th_payload(R, IA + 16)), PTR(b.data));
	EXPECT_TRUE(pattern_ok(a.data, 1, 16));
	EXPECT_TRUE(pattern_ok(b.data, 2, 16));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, error_counts_against_input_window_and_full_does_not_poison)
{
	struct l3l2q_msg a, b, c;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_ERROR, 0, 0);
	th_publish_input(R, 3, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	EXPECT_EQ(U64(L3L2Q_OP_ERROR), b.opcode);
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &c));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &c));
	EXPECT_HEALTHY();
	/* Freeing the oldest entry opens the window again. */
	ASSERT_EQ(0, l3l2q_l2_release(Q, &a));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &c));
	EXPECT_EQ(U64(3), c.seq);
	EXPECT_HEALTHY();
}

TEST_F(l2, out_of_order_input_release_only_advances_completed_fifo_prefix)
{
	struct l3l2q_msg m[3];

	/* Reference §7: acquire 1, 2, 3; release 2 => 0; 1 => 2; 3 => 3. */
	open_l2(_metadata, self, 4, 128, 128, 3, 0);
	for (int i = 1; i <= 3; i++)
		th_publish_input(R, i, L3L2Q_OP_DATA, 0, 0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[i]));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m[1]));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m[0]));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m[2]));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, ring_wrap_release_keeps_logical_fifo_order)
{
	struct l3l2q_msg m[3];

	/* Reference §7: depth 4; after 1..3, the wrapped round 4, 5, 6
	 * released as 5, 4, 6 gives heads 3, 5, 6.  16-byte payloads make
	 * the release replay walk the arena in FIFO order too. */
	open_l2(_metadata, self, 4, 128, 128, 3, 0);
	for (int i = 1; i <= 3; i++)
		l3_put(self, i, L3L2Q_OP_DATA, IA + (i - 1) * 16, 16);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[i]));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, l3l2q_l2_release(Q, &m[i]));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));

	for (int i = 4; i <= 6; i++)
		l3_put(self, i, L3L2Q_OP_DATA, IA + (i - 1) * 16, 16);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[i]));
		EXPECT_EQ(U64(i + 4), m[i].seq);
		EXPECT_TRUE(pattern_ok(m[i].data, i + 4, 16));
	}
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m[1]));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m[0]));
	EXPECT_EQ(5, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m[2]));
	EXPECT_EQ(6, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();

	/* The payload cursor is at 96: 32 bytes still fit before the end. */
	l3_put(self, 7, L3L2Q_OP_DATA, IA + 96, 32);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[0]));
	EXPECT_EQ(PTR(th_payload(R, IA + 96)), PTR(m[0].data));
	EXPECT_HEALTHY();
}

TEST_F(l2, stop_does_not_count_against_window_and_drains_after_earlier_inputs)
{
	struct l3l2q_msg d1, d2, stop;

	/* Reference §7: N = 2, DATA 1, DATA 2, STOP 3 all acquired; release
	 * STOP => head 0, not drained; 1 => 1; 2 => 3, drained. */
	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 3, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &d1));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &d2));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &stop));
	EXPECT_EQ(U64(L3L2Q_OP_STOP), stop.opcode);
	EXPECT_EQ(U64(3), stop.seq);

	ASSERT_EQ(0, l3l2q_l2_release(Q, &stop));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &d1));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &d2));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_NE(0, l3l2q_l2_drained(Q));
	EXPECT_HEALTHY();
}

TEST_F(l2, try_peek_after_stop_acquire_is_no_progress_without_poison)
{
	struct l3l2q_msg first, stop, later;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &first));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &stop));
	EXPECT_EQ(U64(L3L2Q_OP_STOP), stop.opcode);
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &later));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &later));
	EXPECT_HEALTHY();
	/* Still nothing after the whole drain. */
	ASSERT_EQ(0, l3l2q_l2_release(Q, &stop));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &first));
	EXPECT_NE(0, l3l2q_l2_drained(Q));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &later));
	EXPECT_HEALTHY();
}

TEST_F(l2, single_mode_try_peek_after_stop_release_is_no_progress)
{
	struct l3l2q_msg stop, later;

	th_publish_input(R, 1, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &stop));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &stop));
	EXPECT_NE(0, l3l2q_l2_drained(Q));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &later));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &later));
	EXPECT_HEALTHY();
}

TEST_F(l2, single_mode_second_peek_while_stop_is_held_poisons)
{
	struct l3l2q_msg stop, later;

	/* P13: upstream's doc says single mode may hold STOP in the extra
	 * entry, but its code poisons any second peek with an entry active
	 * in N = 1 mode; we follow the code. */
	th_publish_input(R, 1, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &stop));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &later));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, stop_acquire_poisons_if_later_input_already_observed)
{
	struct l3l2q_msg d1, m;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_STOP, 0, 0);
	th_publish_input(R, 3, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &d1));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, input_release_rejects_stale_and_double_release)
{
	struct l3l2q_msg a, b;

	/* Stale: released physically, then released again. */
	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &b));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &a));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_RELEASE);
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));

	/* Double: completed but not yet physically released (behind 1). */
	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &b));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &b));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_RELEASE);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, output_reserve_publish_works_during_stop_drain)
{
	struct l3l2q_msg input, stop;
	struct l3l2q_res res;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	th_publish_input(R, 2, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &input));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &stop));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &stop));
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 16, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
	/* Releasing the earlier input completes the drain. */
	ASSERT_EQ(0, l3l2q_l2_release(Q, &input));
	EXPECT_NE(0, l3l2q_l2_drained(Q));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	/* And output still works after the drain. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_ERROR));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
}

/* ================================================================== */
/* P9: wrap padding (DESIGN §2: committed only on success; consumers  */
/* accept offset == arena base as a wrap)                             */
/* ================================================================== */

TEST_F(l2, p9_output_wrap_fail_smaller_reserve_release_never_poisons)
{
	struct l3l2q_res res;

	/* Arena 128.  80 bytes at base, published, not released. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 80, &res));
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));

	/* 64 bytes would wrap (80 + 64 > 128) and then not fit. */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 64, &res));
	EXPECT_HEALTHY();

	/* Our producer did not keep the padding: 32 bytes still fit after
	 * the first message (upstream C++ would have gone to the base). */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 32, &res));
	EXPECT_EQ(U64(2), res.seq);
	EXPECT_EQ(U64(OA + 80), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));

	/* L3 releases both; the producer replays them (strict positions). */
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 2);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 64, &res));
	/* Cursor 112: 64 bytes wrap to the base. */
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 3);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 64, &res));
	EXPECT_EQ(U64(OA + 64), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(4, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
}

TEST_F(l2, p9_output_wrap_fail_release_then_smaller_reserve_never_poisons)
{
	struct l3l2q_res res;

	/* The upstream self-poison sequence: wrap, fail, release, smaller
	 * reserve, release, replay. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 80, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 64, &res));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 32, &res));
	EXPECT_EQ(U64(OA + 80), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 2);
	/* Cursor 112, everything released: 112 bytes wrap to the base. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 112, &res));
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
}

TEST_F(l2, p9_input_padding_committed_on_failure_is_accepted_as_wrap)
{
	struct l3l2q_msg m;

	/* An upstream-C++-like L3 producer kept wrap padding after a failed
	 * reservation, so its next (small) payload sits at the arena base
	 * although base + 80 was expected.  Our consumer accepts this as a
	 * wrap (DESIGN §2, loose rule); upstream C++ would poison. */
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 80);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));

	l3_put(self, 2, L3L2Q_OP_DATA, IA, 32);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(PTR(th_payload(R, IA)), PTR(m.data));
	EXPECT_TRUE(pattern_ok(m.data, 2, 32));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();

	/* The cursor followed the wrap: the next payload is at base + 32. */
	l3_put(self, 3, L3L2Q_OP_DATA, IA + 32, 16);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(PTR(th_payload(R, IA + 32)), PTR(m.data));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, p9_input_padding_accepted_with_window_and_out_of_order_release)
{
	struct l3l2q_msg a, b, c;

	/* Same, but the wrap is decided at acquire time and replayed at
	 * physical release time, out of order. */
	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 80);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &a));
	l3_put(self, 2, L3L2Q_OP_DATA, IA, 16);		/* padded wrap */
	l3_put(self, 3, L3L2Q_OP_DATA, IA + 16, 16);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &c));
	EXPECT_EQ(PTR(th_payload(R, IA + 16)), PTR(c.data));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &c));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &b));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, p9_loose_rule_still_rejects_other_mid_arena_offsets)
{
	struct l3l2q_msg m;

	/* Only the arena base is an accepted alternative. */
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 80);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	l3_put(self, 2, L3L2Q_OP_DATA, IA + 16, 16);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(1, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, output_reserve_fits_whole_arena_once_everything_is_released)
{
	struct l3l2q_res res;

	/*
	 * Arena 128.  After 112 bytes, published and released, the arena is
	 * empty with the cursor at 112.  A 128-byte payload must wrap to the
	 * base; it overlaps nothing live, and every consumer (strict or
	 * loose) expects exactly the base there.  Refusing it is not
	 * back-pressure: nothing will ever be released again, so a blocking
	 * reserve would time out forever on an empty queue.
	 */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 112, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 128, &res));
	EXPECT_EQ(U64(2), res.seq);
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
}

TEST_F(l2, output_reserve_larger_than_cursor_fits_in_empty_arena)
{
	struct l3l2q_res res;

	/* Same with 80 then 100 (100 > 128 - 80 and 100 > 80). */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 80, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	EXPECT_EQ(0, l3l2q_l2_reserve(Q, 100, 0, &res));
	EXPECT_EQ(U64(OA), res.offset);
	EXPECT_HEALTHY();
}

TEST_F(l2, output_reserve_wrap_never_overwrites_unreleased_payload)
{
	struct l3l2q_res res;

	/* 16 bytes then 64 bytes (cursor 80); L3 releases only the first. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 16, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 64, &res));
	EXPECT_EQ(U64(OA + 16), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	/* 64 more must wrap to the base, where [16, 80) is still live. */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 64, &res));
	/* The failed attempt left no padding: 48 bytes still fit at 80. */
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 48, &res));
	EXPECT_EQ(U64(OA + 80), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	/* Cursor 128 with [16, 128) live: nothing fits until a release. */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_reserve(Q, 32, &res));
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 16, &res));
	EXPECT_EQ(U64(OA), res.offset);
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(4, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_HEALTHY();
}

/* ================================================================== */
/* P10: only opcodes 1-3; STOP only on input                          */
/* ================================================================== */

TEST_F(l2, p10_input_opcode_zero_poisons)
{
	struct l3l2q_msg m;

	th_publish_input(R, 1, L3L2Q_OP_INVALID, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, p10_input_opcode_four_poisons)
{
	struct l3l2q_msg m;

	th_publish_input(R, 1, 4, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, p10_input_opcode_with_high_bits_poisons)
{
	struct l3l2q_msg m;

	/* The opcode is a full u64: DATA plus a high bit is not DATA. */
	th_publish_input(R, 1, (1ull << 32) | L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, output_publish_stop_poisons)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_EQ(-EPROTO, l3l2q_l2_publish(Q, &res, L3L2Q_OP_STOP));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_OUTPUT_PUBLISH);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_F(l2, output_publish_invalid_opcode_poisons)
{
	struct l3l2q_res res;

	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 8, &res));
	EXPECT_EQ(-EPROTO, l3l2q_l2_publish(Q, &res, L3L2Q_OP_INVALID));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_OUTPUT_PUBLISH);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

/* ================================================================== */
/* P17: a second reserve before publish is poison, not no-progress    */
/* ================================================================== */

TEST_F(l2, p17_second_output_reserve_before_publish_poisons_ownership)
{
	struct l3l2q_res a, b;

	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 8, &a));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(Q, 8, &b));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_OUTPUT_TRY_RESERVE);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	/* The first reservation cannot be published after poison. */
	EXPECT_EQ(-EPROTO, l3l2q_l2_publish(Q, &a, L3L2Q_OP_DATA));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_F(l2, p17_second_zero_byte_reserve_before_publish_poisons_ownership)
{
	struct l3l2q_res a, b;

	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &a));
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(Q, 0, &b));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_OUTPUT_TRY_RESERVE);
}

/* ================================================================== */
/* Ownership: mutated, unknown and cross-queue handles                */
/* ================================================================== */

TEST_F(l2, input_release_rejects_every_mutated_field)
{
	enum { F_SEQ, F_OPCODE, F_OFFSET, F_NBYTES, F_DATA, F_N };

	for (int f = 0; f < F_N; f++) {
		struct l3l2q_msg m, bad;

		open_l2(_metadata, self, 4, 128, 128, 1, 0);
		l3_put(self, 1, L3L2Q_OP_DATA, IA, 16);
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
		bad = m;
		switch (f) {
		case F_SEQ:	bad.seq = 2; break;
		/* P2: a mutated opcode must not synthesise a STOP. */
		case F_OPCODE:	bad.opcode = L3L2Q_OP_STOP; break;
		case F_OFFSET:	bad.offset += 16; break;
		case F_NBYTES:	bad.nbytes = 8; break;
		case F_DATA:	bad.data = th_payload(R, IA + 1); break;
		}
		EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &bad)) TH_LOG("field %d", f);
		EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_RELEASE);
		EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
		EXPECT_EQ(0, l3l2q_l2_drained(Q));
	}
}

TEST_F(l2, input_release_of_unknown_handle_poisons_ownership)
{
	struct l3l2q_msg m, forged;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	/* A handle for a seq that was never acquired. */
	forged = m;
	forged.seq = 99;
	EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &forged));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_RELEASE);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, input_release_with_nothing_acquired_poisons_ownership)
{
	struct l3l2q_msg forged;

	memset(&forged, 0, sizeof(forged));
	forged.seq = 1;
	forged.opcode = L3L2Q_OP_DATA;
	th_publish_input(R, 1, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_release(Q, &forged));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_INPUT_RELEASE);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, output_publish_rejects_mutated_and_forged_reservations)
{
	enum { F_SEQ, F_OFFSET, F_NBYTES, F_NONE_ACTIVE, F_N };

	for (int f = 0; f < F_N; f++) {
		struct l3l2q_res res, bad;

		open_l2(_metadata, self, 4, 128, 128, 1, 0);
		if (f == F_NONE_ACTIVE) {
			memset(&bad, 0, sizeof(bad));
			bad.seq = 1;
		} else {
			ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 16, &res));
			bad = res;
		}
		switch (f) {
		case F_SEQ:	bad.seq = 2; break;
		case F_OFFSET:	bad.offset += 64; break;
		case F_NBYTES:	bad.nbytes = 128; break;
		}
		EXPECT_EQ(-EPROTO, l3l2q_l2_publish(Q, &bad, L3L2Q_OP_DATA))
			TH_LOG("case %d", f);
		EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_OUTPUT_PUBLISH);
		EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	}
}

TEST_F(l2, output_publish_rejects_reservation_of_another_queue)
{
	struct th_region r2;
	struct l3l2q_l2 *q2 = malloc(sizeof(*q2));
	struct l3l2q_res mine, theirs;

	ASSERT_NE(NULL, q2);
	open_l2(_metadata, self, 4, 128, 128, 1, 0);
	ASSERT_EQ(0, th_region_alloc(&r2, 4, 128, 128, 0));
	ASSERT_EQ(0, l3l2q_l2_init(q2, &r2.mem, &r2.layout, 0, 1, NULL));
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 16, &mine));
	ASSERT_EQ(0, l3l2q_l2_try_reserve(q2, 16, &theirs));
	/* Same seq, offset and size, but a view into the other region. */
	EXPECT_EQ(-EPROTO, l3l2q_l2_publish(Q, &theirs, L3L2Q_OP_DATA));
	EXPECT_POISONED(L3L2Q_ERR_OWNERSHIP, L3L2Q_EOP_OUTPUT_PUBLISH);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
	/* The other queue is unaffected. */
	EXPECT_EQ(0, l3l2q_l2_publish(q2, &theirs, L3L2Q_OP_DATA));
	EXPECT_EQ(1, th_ctr(&r2, L3L2Q_CTR_OUTPUT_TAIL));
	l3l2q_l2_close(q2);
	th_region_free(&r2);
	free(q2);
}

/* ================================================================== */
/* Window: completed entries still hold the window until released     */
/* ================================================================== */

TEST_F(l2, completed_entry_counts_against_window_until_prefix_released)
{
	struct l3l2q_msg a, b, c;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	for (int i = 1; i <= 3; i++)
		th_publish_input(R, i, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &b));
	/* b is completed but not physically released: still full. */
	EXPECT_EQ(-EAGAIN, l3l2q_l2_try_peek(Q, &c));
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &a));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &c));
	EXPECT_EQ(U64(3), c.seq);
	EXPECT_HEALTHY();
}

TEST_F(l2, out_of_order_release_replays_payload_cursor_in_fifo_order)
{
	struct l3l2q_msg a, b, c;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 80);
	l3_put(self, 2, L3L2Q_OP_DATA, IA + 80, 32);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &a));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &b));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &b));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &a));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	/* Cursor 112: 64 bytes wrap to the base. */
	l3_put(self, 3, L3L2Q_OP_DATA, IA, 64);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &c));
	EXPECT_EQ(PTR(th_payload(R, IA)), PTR(c.data));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &c));
	EXPECT_EQ(3, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, stop_with_window_one_and_zero_byte_after_data)
{
	struct l3l2q_msg m;

	/* The ordinary single-mode shutdown: DATA, release, STOP, release. */
	l3_put(self, 1, L3L2Q_OP_DATA, IA, 8);
	th_publish_input(R, 2, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(L3L2Q_OP_DATA), m.opcode);
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m));
	EXPECT_EQ(U64(L3L2Q_OP_STOP), m.opcode);
	EXPECT_EQ(0, l3l2q_l2_drained(Q));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
	EXPECT_NE(0, l3l2q_l2_drained(Q));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_F(l2, second_stop_poisons)
{
	struct l3l2q_msg stop, m;

	open_l2(_metadata, self, 4, 128, 128, 2, 0);
	th_publish_input(R, 1, L3L2Q_OP_STOP, 0, 0);
	ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &stop));
	ASSERT_EQ(0, l3l2q_l2_release(Q, &stop));
	th_publish_input(R, 2, L3L2Q_OP_STOP, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
}

/* ================================================================== */
/* Shared state the peer got wrong: counters, slots, payload bounds   */
/* ================================================================== */

TEST_F(l2, input_tail_beyond_depth_poisons)
{
	struct l3l2q_msg m;

	for (int i = 1; i <= 4; i++)
		th_publish_input(R, i, L3L2Q_OP_DATA, 0, 0);
	th_set_ctr(R, L3L2Q_CTR_INPUT_TAIL, 5);	/* 5 > depth 4 */
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, input_tail_beyond_released_head_poisons)
{
	struct l3l2q_msg m[4];

	/* L2 holds all four slots; L3 publishes a fifth over slot 0. */
	open_l2(_metadata, self, 4, 128, 128, 4, 0);
	for (int i = 1; i <= 4; i++)
		th_publish_input(R, i, L3L2Q_OP_DATA, 0, 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[i]));
	th_publish_input(R, 5, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m[0]));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(0, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
}

TEST_F(l2, input_tail_going_backwards_poisons)
{
	struct l3l2q_msg m;

	th_set_ctr(R, L3L2Q_CTR_INPUT_TAIL, -1);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, input_stale_slot_contents_are_rejected)
{
	struct l3l2q_msg m;

	/* Tail says 1 but slot 0 still holds the 0xa5 garbage. */
	th_set_ctr(R, L3L2Q_CTR_INPUT_TAIL, 1);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, input_slot_from_a_later_cycle_is_rejected)
{
	struct l3l2q_msg m;

	/* seq 5 lands in slot 0 too, but seq 1 was expected. */
	th_publish_input(R, 5, L3L2Q_OP_DATA, 0, 0);
	th_set_ctr(R, L3L2Q_CTR_INPUT_TAIL, 1);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
}

TEST_F(l2, input_payload_outside_input_arena_poisons)
{
	struct l3l2q_msg m;
	static const struct {
		const char *why;
		int base;		/* 0: input arena, 1: output arena, 2: abs */
		__u64 off, n;
	} bad[] = {
		{ "in the output arena", 1, 0, 16 },
		{ "in the descriptor rings", 2, 32, 16 },
		{ "past the end of the input arena", 0, 64, 128 },
		{ "larger than the arena", 0, 0, 129 },
		{ "offset + n overflows", 2, UINT64_MAX - 15, 32 },
		{ "offset beyond the region", 2, 1ull << 40, 16 },
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		__u64 off;

		open_l2(_metadata, self, 4, 128, 128, 1, 0);
		off = bad[i].base == 0 ? IA + bad[i].off :
		      bad[i].base == 1 ? OA + bad[i].off : bad[i].off;
		th_publish_input(R, 1, L3L2Q_OP_DATA, off, bad[i].n);
		EXPECT_EQ(-EPROTO, l3l2q_l2_try_peek(Q, &m)) TH_LOG("%s", bad[i].why);
		EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_INPUT_TRY_PEEK);
	}
}

/*
 * The producer reads the consumer's head only when its cached view has no
 * room (fastpath.h), so a forged head is met by the reservation that needs
 * it: fill the output ring with @n zero-byte messages first.  Each must go
 * to a slot the true head freed.
 */
static void fill_output(struct __test_metadata *_metadata,
			FIXTURE_DATA(l2) *self, unsigned int n)
{
	struct l3l2q_res res;
	unsigned int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
		ASSERT_EQ(i + 1, res.seq);
		ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	}
}

TEST_F(l2, output_head_beyond_tail_poisons)
{
	struct l3l2q_res res;

	/* A forged head while the cached view has room is not read. */
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	fill_output(_metadata, self, 4);
	/* L3 claims to have released a message that was never published. */
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 5);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(Q, 8, &res));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_OUTPUT_TRY_RESERVE);
	EXPECT_EQ(4, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_F(l2, output_head_beyond_tail_poisons_even_with_a_forged_slot)
{
	struct l3l2q_res res;

	fill_output(_metadata, self, 4);
	/* L3 scribbles a plausible seq 5 into the output ring, then claims
	 * to have released it: the replay alone cannot tell. */
	th_slot(R, ODO, 5)->opcode = L3L2Q_OP_DATA;
	th_slot(R, ODO, 5)->payload_offset = 0;
	th_slot(R, ODO, 5)->payload_nbytes = 0;
	th_slot(R, ODO, 5)->seq = 5;
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 5);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_OUTPUT_TRY_RESERVE);
	EXPECT_EQ(4, th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
}

TEST_F(l2, output_head_going_backwards_poisons)
{
	struct l3l2q_res res;

	fill_output(_metadata, self, 4);
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, 1);
	ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 0, &res));
	ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
	/* Full by the head it read (1 of 5); the next reservation reads. */
	th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, -1);
	EXPECT_EQ(-EPROTO, l3l2q_l2_try_reserve(Q, 0, &res));
	EXPECT_POISONED(L3L2Q_ERR_INVALID_DESCRIPTOR, L3L2Q_EOP_OUTPUT_TRY_RESERVE);
}

/* ================================================================== */
/* P21: counters across 2^31 and 2^32, on both rings                  */
/* ================================================================== */

static void run_counter_wrap(struct __test_metadata *_metadata,
			     FIXTURE_DATA(l2) *self, __u64 start)
{
	open_l2(_metadata, self, 4, 128, 128, 1, start);
	EXPECT_EQ(l3l2q_low32(start), th_ctr(R, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(l3l2q_low32(start), th_ctr(R, L3L2Q_CTR_OUTPUT_HEAD));

	for (__u64 k = 1; k <= 9; k++) {
		__u64 seq = start + k;
		struct l3l2q_msg m;
		struct l3l2q_res res;

		/* Input: 32-byte payloads walk the arena from its base. */
		l3_put(self, seq, L3L2Q_OP_DATA, IA + ((k - 1) * 32) % 128, 32);
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m))
			TH_LOG("start %#llx k %llu", (unsigned long long)start,
			       (unsigned long long)k);
		EXPECT_EQ(seq, m.seq);
		EXPECT_TRUE(pattern_ok(m.data, seq, 32));
		ASSERT_EQ(0, l3l2q_l2_release(Q, &m));
		EXPECT_EQ(l3l2q_low32(seq), th_ctr(R, L3L2Q_CTR_INPUT_HEAD));

		/* Output: the full u64 seq in the slot, low 32 on the wire. */
		ASSERT_EQ(0, l3l2q_l2_try_reserve(Q, 32, &res));
		EXPECT_EQ(seq, res.seq);
		EXPECT_EQ(OA + ((k - 1) * 32) % 128, res.offset);
		ASSERT_EQ(0, l3l2q_l2_publish(Q, &res, L3L2Q_OP_DATA));
		EXPECT_EQ(seq, th_slot(R, ODO, seq)->seq);
		EXPECT_EQ(l3l2q_low32(seq), th_ctr(R, L3L2Q_CTR_OUTPUT_TAIL));
		/* L3 consumes it. */
		th_set_ctr(R, L3L2Q_CTR_OUTPUT_HEAD, l3l2q_low32(seq));
	}
	EXPECT_HEALTHY();
}

TEST_F(l2, p21_counters_cross_2_31)
{
	run_counter_wrap(_metadata, self, (1ull << 31) - 4);
}

TEST_F(l2, p21_counters_cross_2_32)
{
	run_counter_wrap(_metadata, self, (1ull << 32) - 4);
}

TEST_F(l2, p21_full_ring_across_2_32_accepts_delta_equal_to_depth)
{
	struct l3l2q_msg m[4];
	__u64 start = (1ull << 32) - 2;

	/* L3 publishes four at once (empty to full) across the wrap. */
	open_l2(_metadata, self, 4, 128, 128, 4, start);
	for (__u64 k = 1; k <= 4; k++)
		th_publish_input(R, start + k, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_TAIL));
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, l3l2q_l2_try_peek(Q, &m[i]));
		EXPECT_EQ(start + 1 + i, m[i].seq);
	}
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, l3l2q_l2_release(Q, &m[i]));
	EXPECT_EQ(2, th_ctr(R, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_HEALTHY();
}

TEST_HARNESS_MAIN
