// SPDX-License-Identifier: MIT
/*
 * abi_test - the L3Q2 wire ABI: identity constants, the payload layout
 * function, the counter block, the descriptor slot, counter reconstruction,
 * the twelve upstream L2 task scalars and the error strings.
 *
 * Tests named after the upstream C++ suite (reference §12.1, 1-8) and the
 * upstream Python layout tests (§12.2, 1-3), plus the layout overflow steps
 * of pitfall P1, the int32 conversion of pitfall P21 and the l3l2q control
 * block placement.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "l3l2q.h"
#include "l3l2q_core.h"

#define U64(x) ((__u64)(x))
#define U32(x) ((__u32)(x))

static const __u64 U64MAX = ~(__u64)0;

/* The status enums are unsigned; the harness compares with int constants. */
#define LAYOUT(...)	((int)l3l2q_layout(__VA_ARGS__))
#define WIRE_LAYOUT(...)	((int)l3l2q_wire_layout(__VA_ARGS__))

/* Fill a layout with a recognisable pattern, to prove it was not touched. */
static void sentinel_layout(struct l3l2q_layout *l)
{
	memset(l, 0x5c, sizeof(*l));
}

static int layout_is_sentinel(const struct l3l2q_layout *l)
{
	struct l3l2q_layout s;

	sentinel_layout(&s);
	return memcmp(&s, l, sizeof(s)) == 0;
}

/* Read a little-endian u64 out of a byte buffer. */
static __u64 le64_at(const unsigned char *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ------------------------------------------------------------------ */
/* Upstream §12.1 tests 1-8                                           */
/* ------------------------------------------------------------------ */

TEST(magic_version_constant_matches_compatibility_wrapper)
{
	__u64 mv = L3L2Q_QUEUE_MAGIC_VERSION;

	/* "L3Q2", ABI 1.1 */
	EXPECT_EQ(U64(0x4C33513200010001ull), mv);
	EXPECT_EQ(U64(L3L2Q_PACK_MAGIC_VERSION(0x4C335132u, 1, 1)), mv);
	EXPECT_EQ(U32(0x4C335132u), l3l2q_mv_magic(mv));
	EXPECT_EQ(U32(1), l3l2q_mv_major(mv));
	EXPECT_EQ(U32(1), l3l2q_mv_minor(mv));
	EXPECT_EQ(U32(0x4C335132u), U32(L3L2Q_QUEUE_MAGIC));
	EXPECT_EQ(U32(1), U32(L3L2Q_QUEUE_ABI_MAJOR));
	EXPECT_EQ(U32(1), U32(L3L2Q_QUEUE_ABI_MINOR));

	/* The region descriptor identity ("L3L2", major 3 at upstream HEAD). */
	EXPECT_EQ(U64(0x4C334C3200030000ull), U64(L3L2Q_REGION_MAGIC_VERSION));
	EXPECT_EQ(U32(0x4C334C32u), l3l2q_mv_magic(L3L2Q_REGION_MAGIC_VERSION));
	EXPECT_EQ(U32(3), l3l2q_mv_major(L3L2Q_REGION_MAGIC_VERSION));
	EXPECT_EQ(U32(0), l3l2q_mv_minor(L3L2Q_REGION_MAGIC_VERSION));

	/* The packer masks major/minor to 16 bits each. */
	EXPECT_EQ(U64(0x1234567800020003ull),
		  U64(L3L2Q_PACK_MAGIC_VERSION(0x12345678u, 0x10002u, 0x30003u)));
}

TEST(layout_assigns_payload_and_abort_counter_offsets)
{
	struct l3l2q_layout l;

	ASSERT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(4, 128, 192, &l));
	EXPECT_EQ(U64(4), l.depth);
	EXPECT_EQ(U64(128), l.input_arena_bytes);
	EXPECT_EQ(U64(192), l.output_arena_bytes);
	EXPECT_EQ(U64(0), l.input_desc_offset);
	EXPECT_EQ(U64(128), l.output_desc_offset);
	EXPECT_EQ(U64(0), l.input_arena_offset % 64);
	EXPECT_EQ(U64(0), l.output_arena_offset % 64);
	EXPECT_GE(l.input_arena_offset, l.output_desc_offset + 4 * 32);
	EXPECT_GE(l.output_arena_offset, l.input_arena_offset + 128);
	EXPECT_GE(l.payload_bytes, l.output_arena_offset + 192);
	EXPECT_EQ(U64(384), l.counter_bytes);

	EXPECT_EQ(0u, L3L2Q_CTR_INPUT_TAIL);
	EXPECT_EQ(64u, L3L2Q_CTR_INPUT_HEAD);
	EXPECT_EQ(128u, L3L2Q_CTR_OUTPUT_TAIL);
	EXPECT_EQ(192u, L3L2Q_CTR_OUTPUT_HEAD);
	EXPECT_EQ(256u, L3L2Q_CTR_L3_ABORT);
	EXPECT_EQ(320u, L3L2Q_CTR_L2_ABORT);
	EXPECT_EQ(384u, L3L2Q_COUNTER_BYTES);
	EXPECT_EQ(64u, L3L2Q_LINE_BYTES);
}

/*
 * The three "lockstep" rows both upstream suites share (reference §1.2):
 * depth 1, 4 and 8.  The wire layout reproduces all three; our own layout
 * refuses depth 1 (DESIGN §2, pitfall P12) and agrees on the others.
 */
static const struct {
	__u64 depth, in, out, out_desc, in_arena, out_arena, payload;
} lockstep[] = {
	{ 1, 64, 64, 32, 64, 128, 192 },
	{ 4, 128, 192, 128, 256, 384, 576 },
	{ 8, 192, 64, 256, 512, 704, 768 },
};

static void check_lockstep_rows(struct __test_metadata *_metadata)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lockstep); i++) {
		struct l3l2q_layout l, ours;

		ASSERT_EQ(L3L2Q_LAYOUT_OK,
			  WIRE_LAYOUT(lockstep[i].depth, lockstep[i].in,
				      lockstep[i].out, &l))
			TH_LOG("row %u", i);
		EXPECT_EQ(U64(0), l.input_desc_offset);
		EXPECT_EQ(lockstep[i].out_desc, l.output_desc_offset);
		EXPECT_EQ(lockstep[i].depth * 32, l.output_desc_offset);
		EXPECT_EQ(lockstep[i].in_arena, l.input_arena_offset);
		EXPECT_EQ(lockstep[i].out_arena, l.output_arena_offset);
		EXPECT_EQ(lockstep[i].payload, l.payload_bytes);
		EXPECT_EQ(U64(0), l.input_arena_offset % 64);
		EXPECT_EQ(U64(0), l.output_arena_offset % 64);
		EXPECT_EQ(U64(384), l.counter_bytes);

		sentinel_layout(&ours);
		if (lockstep[i].depth == 1) {
			EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH,
				  LAYOUT(1, lockstep[i].in, lockstep[i].out, &ours));
			EXPECT_TRUE(layout_is_sentinel(&ours));
		} else {
			ASSERT_EQ(L3L2Q_LAYOUT_OK,
				  LAYOUT(lockstep[i].depth, lockstep[i].in,
					 lockstep[i].out, &ours));
			EXPECT_EQ(0, memcmp(&l, &ours, sizeof(l)));
		}
	}
	EXPECT_EQ(0u, L3L2Q_CTR_INPUT_TAIL);
	EXPECT_EQ(64u, L3L2Q_CTR_INPUT_HEAD);
	EXPECT_EQ(128u, L3L2Q_CTR_OUTPUT_TAIL);
	EXPECT_EQ(192u, L3L2Q_CTR_OUTPUT_HEAD);
	EXPECT_EQ(256u, L3L2Q_CTR_L3_ABORT);
	EXPECT_EQ(320u, L3L2Q_CTR_L2_ABORT);
}

TEST(layout_lockstep_cases_match_python_mirror_expectations)
{
	check_lockstep_rows(_metadata);
}

TEST(layout_rejects_invalid_depth_arena_and_counter_bytes)
{
	struct l3l2q_layout l;
	static const __u64 ok_region[6] = {
		L3L2Q_REGION_MAGIC_VERSION, 19, 0x10000, 256, 0x20000, 384,
	};
	__u64 s[12];

	sentinel_layout(&l);
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, LAYOUT(3, 64, 64, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, LAYOUT((1ull << 30) + 1, 64, 64, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_INPUT_ARENA, LAYOUT(2, 0, 64, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_INPUT_ARENA, LAYOUT(2, 65, 64, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_OUTPUT_ARENA, LAYOUT(2, 64, 0, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_OUTPUT_ARENA, LAYOUT(2, 64, 65, &l));
	/* More out-of-range depths: 0, 2^31 (a power of two, too large). */
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, LAYOUT(0, 128, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, LAYOUT(1ull << 31, 128, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, LAYOUT(1ull << 63, 128, 128, &l));
	EXPECT_TRUE(layout_is_sentinel(&l));
	/* 2^30 is the largest legal depth. */
	EXPECT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(1ull << 30, 64, 64, &l));
	EXPECT_EQ(U64(1ull << 35), l.output_desc_offset);

	/* Counter/payload sizes must equal the layout exactly: (2, 64, 64). */
	memcpy(s, ok_region, sizeof(ok_region));
	s[6] = L3L2Q_QUEUE_MAGIC_VERSION;
	s[7] = 2;
	s[8] = 64;
	s[9] = 64;
	s[10] = 256;
	s[11] = 384;
	EXPECT_EQ(0, l3l2q_validate_scalars(s, 12, &l, NULL));

	s[3] = s[10] = 256;
	s[5] = s[11] = 320;
	EXPECT_EQ(-EINVAL, l3l2q_validate_scalars(s, 12, &l, NULL));
	s[3] = s[10] = 512;
	s[5] = s[11] = 384;
	EXPECT_EQ(-EINVAL, l3l2q_validate_scalars(s, 12, &l, NULL));
	s[3] = s[10] = 256;
	EXPECT_EQ(0, l3l2q_validate_scalars(s, 12, &l, NULL));
}

TEST(layout_overflow_fails_closed_without_modifying_output)
{
	struct l3l2q_layout l;

	sentinel_layout(&l);
	EXPECT_EQ(L3L2Q_LAYOUT_OVERFLOW,
		  LAYOUT(2, UINT64_MAX - 63, 64, &l));
	EXPECT_TRUE(layout_is_sentinel(&l));
	EXPECT_EQ(L3L2Q_LAYOUT_OVERFLOW,
		  WIRE_LAYOUT(2, UINT64_MAX - 63, 64, &l));
	EXPECT_TRUE(layout_is_sentinel(&l));
}

TEST(descriptor_slot_encoding_is_stable)
{
	struct l3l2q_desc d;
	struct l3l2q_error e;
	unsigned char bytes[32];

	EXPECT_EQ(sizeof(struct l3l2q_desc), (size_t)32);
	EXPECT_EQ((size_t)L3L2Q_DESC_BYTES, sizeof(struct l3l2q_desc));
	EXPECT_EQ(offsetof(struct l3l2q_desc, seq), (size_t)0);
	EXPECT_EQ(offsetof(struct l3l2q_desc, opcode), (size_t)8);
	EXPECT_EQ(offsetof(struct l3l2q_desc, payload_offset), (size_t)16);
	EXPECT_EQ(offsetof(struct l3l2q_desc, payload_nbytes), (size_t)24);
	EXPECT_EQ(sizeof(e.message), (size_t)256);
	EXPECT_EQ((size_t)L3L2Q_ERROR_MSG_BYTES, sizeof(e.message));

	EXPECT_EQ(0u, L3L2Q_OP_INVALID);
	EXPECT_EQ(1u, L3L2Q_OP_DATA);
	EXPECT_EQ(2u, L3L2Q_OP_STOP);
	EXPECT_EQ(3u, L3L2Q_OP_ERROR);

	/* (7, ERROR, 128, 16): four little-endian u64 in slot order. */
	memset(&d, 0, sizeof(d));
	d.seq = 7;
	d.opcode = L3L2Q_OP_ERROR;
	d.payload_offset = 128;
	d.payload_nbytes = 16;
	memcpy(bytes, &d, sizeof(bytes));
	EXPECT_EQ(U64(7), le64_at(bytes + 0));
	EXPECT_EQ(U64(3), le64_at(bytes + 8));
	EXPECT_EQ(U64(128), le64_at(bytes + 16));
	EXPECT_EQ(U64(16), le64_at(bytes + 24));
	EXPECT_EQ(3, bytes[8]);
	EXPECT_EQ(7, bytes[0]);
}

TEST(error_operation_strings_and_message_copy_are_stable)
{
	/* Upstream names (1..6) and the l3l2q additions (16..23). */
	static const struct {
		__u32 op;
		const char *name;
	} names[] = {
		{ L3L2Q_EOP_INIT, "init" },
		{ L3L2Q_EOP_TIMEOUT, "timeout" },
		{ L3L2Q_EOP_INPUT_TRY_PEEK, "input.try_peek" },
		{ L3L2Q_EOP_INPUT_RELEASE, "input.release" },
		{ L3L2Q_EOP_OUTPUT_TRY_RESERVE, "output.try_reserve" },
		{ L3L2Q_EOP_OUTPUT_PUBLISH, "output.publish" },
		{ L3L2Q_EOP_INPUT_TRY_RESERVE, "input.try_reserve" },
		{ L3L2Q_EOP_INPUT_PUBLISH, "input.publish" },
		{ L3L2Q_EOP_INPUT_ENQUEUE, "input.enqueue" },
		{ L3L2Q_EOP_REQUEST_STOP, "input.request_stop" },
		{ L3L2Q_EOP_OUTPUT_TRY_PEEK, "output.try_peek" },
		{ L3L2Q_EOP_OUTPUT_READ, "output.read" },
		{ L3L2Q_EOP_OUTPUT_RELEASE, "output.release" },
		{ L3L2Q_EOP_ATTACH, "attach" },
	};
	static const __u32 unknown[] = { 0, 7, 8, 15, 24, 99, 1000, UINT32_MAX };
	struct l3l2q_error e;
	char long_msg[301];
	unsigned int i, j;

	/* The upstream numbering itself is ABI. */
	EXPECT_EQ(1, L3L2Q_EOP_INIT);
	EXPECT_EQ(2, L3L2Q_EOP_TIMEOUT);
	EXPECT_EQ(3, L3L2Q_EOP_INPUT_TRY_PEEK);
	EXPECT_EQ(4, L3L2Q_EOP_INPUT_RELEASE);
	EXPECT_EQ(5, L3L2Q_EOP_OUTPUT_TRY_RESERVE);
	EXPECT_EQ(6, L3L2Q_EOP_OUTPUT_PUBLISH);
	EXPECT_EQ(16, L3L2Q_EOP_INPUT_TRY_RESERVE);
	EXPECT_EQ(23, L3L2Q_EOP_ATTACH);

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const char *s = l3l2q_error_op_str(names[i].op);

		ASSERT_NE(NULL, s);
		EXPECT_STREQ(names[i].name, s);
		/* Every name is distinct. */
		for (j = 0; j < i; j++)
			EXPECT_STRNE(names[j].name, s);
	}
	for (i = 0; i < ARRAY_SIZE(unknown); i++) {
		const char *s = l3l2q_error_op_str(unknown[i]);

		ASSERT_NE(NULL, s);
		EXPECT_STREQ("unknown", s) TH_LOG("op %u", unknown[i]);
	}

	/* Kind strings are never NULL either (pitfall P3). */
	for (i = 0; i < 12; i++)
		EXPECT_NE(NULL, l3l2q_error_kind_str(i));
	EXPECT_STREQ("unknown", l3l2q_error_kind_str(99));
	EXPECT_STREQ("unknown", l3l2q_error_kind_str(UINT32_MAX));

	/* NULL message gives "". */
	memset(&e, 'x', sizeof(e));
	l3l2q_error_set_message(&e, NULL);
	EXPECT_STREQ("", e.message);

	/* 300 characters are truncated to 255 plus the NUL. */
	for (i = 0; i < 300; i++)
		long_msg[i] = (char)('a' + i % 26);
	long_msg[300] = '\0';
	memset(&e, 'x', sizeof(e));
	l3l2q_error_set_message(&e, long_msg);
	EXPECT_EQ('\0', e.message[255]);
	EXPECT_EQ((size_t)255, strlen(e.message));
	EXPECT_EQ(0, memcmp(e.message, long_msg, 255));

	/* A short message is copied exactly, replacing the old one. */
	l3l2q_error_set_message(&e, "short");
	EXPECT_STREQ("short", e.message);

	/* Exactly 255 characters fit unchanged. */
	long_msg[255] = '\0';
	memset(&e, 'x', sizeof(e));
	l3l2q_error_set_message(&e, long_msg);
	EXPECT_STREQ(long_msg, e.message);
}

TEST(low32_reconstruction_accepts_wrap_and_rejects_impossible_deltas)
{
	__u64 out;

	/* Reference §3 vectors, depth 4. */
	out = 0;
	EXPECT_EQ(1, l3l2q_reconstruct(0xFFFFFFFFull, 0, 4, &out));
	EXPECT_EQ(U64(0x100000000ull), out);

	out = 0;
	EXPECT_EQ(1, l3l2q_reconstruct((1ull << 31) - 2,
				       (__s32)(__u32)0x80000001u, 4, &out));
	EXPECT_EQ(U64((1ull << 31) + 1), out);

	/* (100, 104): delta == depth is legal (empty to full). */
	out = 0;
	EXPECT_EQ(1, l3l2q_reconstruct(100, 104, 4, &out));
	EXPECT_EQ(U64(104), out);

	/* Rejects leave the output alone. */
	out = 0x5c5c5c5c5c5c5c5cull;
	EXPECT_EQ(0, l3l2q_reconstruct(100, 99, 4, &out));
	EXPECT_EQ(U64(0x5c5c5c5c5c5c5c5cull), out);
	EXPECT_EQ(0, l3l2q_reconstruct(100, 105, 4, &out));
	EXPECT_EQ(U64(0x5c5c5c5c5c5c5c5cull), out);
}

/* ------------------------------------------------------------------ */
/* Upstream §12.2 Python layout tests 1-3, mapped to our status codes  */
/* ------------------------------------------------------------------ */

TEST(test_layout_rejects_invalid_pr1_parameters)
{
	struct l3l2q_layout l;

	sentinel_layout(&l);
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, LAYOUT(3, 128, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH,
		  LAYOUT((1ull << 30) + 1, 128, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_INPUT_ARENA, LAYOUT(4, 0, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_INPUT_ARENA, LAYOUT(4, 127, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_OUTPUT_ARENA, LAYOUT(4, 128, 0, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_OUTPUT_ARENA, LAYOUT(4, 128, 127, &l));
	EXPECT_TRUE(layout_is_sentinel(&l));

	/* The wire layout names the same fields. */
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, WIRE_LAYOUT(3, 128, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_INPUT_ARENA, WIRE_LAYOUT(4, 127, 128, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_BAD_OUTPUT_ARENA, WIRE_LAYOUT(4, 128, 127, &l));
	EXPECT_TRUE(layout_is_sentinel(&l));

	/* Each status has a message naming its field. */
	EXPECT_NE(NULL, strstr(l3l2q_layout_strerror(L3L2Q_LAYOUT_BAD_DEPTH), "depth"));
	EXPECT_NE(NULL, strstr(l3l2q_layout_strerror(L3L2Q_LAYOUT_BAD_INPUT_ARENA),
			       "input_arena"));
	EXPECT_NE(NULL, strstr(l3l2q_layout_strerror(L3L2Q_LAYOUT_BAD_OUTPUT_ARENA),
			       "output_arena"));
	EXPECT_NE(NULL, strstr(l3l2q_layout_strerror(L3L2Q_LAYOUT_OVERFLOW), "overflow"));
}

TEST(test_layout_rejects_uint64_overflow_to_match_cpp_helper)
{
	struct l3l2q_layout l;

	/* Python: (2, 2^64 - 64, 64) raises "...overflowed uint64". */
	sentinel_layout(&l);
	EXPECT_EQ(L3L2Q_LAYOUT_OVERFLOW, LAYOUT(2, U64MAX - 63, 64, &l));
	EXPECT_EQ(L3L2Q_LAYOUT_OVERFLOW, LAYOUT(2, 64, U64MAX - 63, &l));
	EXPECT_TRUE(layout_is_sentinel(&l));
}

TEST(test_layout_lockstep_cases_match_cpp_helper_expectations)
{
	check_lockstep_rows(_metadata);
}

/* ------------------------------------------------------------------ */
/* The whole §1.2 table; our depth >= 2 deviation                     */
/* ------------------------------------------------------------------ */

static const struct {
	__u64 depth, in, out, out_desc, in_arena, out_arena, payload;
} table_1_2[] = {
	{ 1, 64, 64, 32, 64, 128, 192 },
	{ 4, 128, 192, 128, 256, 384, 576 },
	{ 8, 192, 64, 256, 512, 704, 768 },
	{ 2, 64, 64, 64, 128, 192, 256 },
};

TEST(wire_layout_reproduces_reference_table_including_depth_one)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(table_1_2); i++) {
		struct l3l2q_layout l;

		sentinel_layout(&l);
		ASSERT_EQ(L3L2Q_LAYOUT_OK,
			  WIRE_LAYOUT(table_1_2[i].depth, table_1_2[i].in,
					    table_1_2[i].out, &l))
			TH_LOG("row %u", i);
		EXPECT_EQ(table_1_2[i].depth, l.depth);
		EXPECT_EQ(table_1_2[i].in, l.input_arena_bytes);
		EXPECT_EQ(table_1_2[i].out, l.output_arena_bytes);
		EXPECT_EQ(U64(0), l.input_desc_offset);
		EXPECT_EQ(table_1_2[i].out_desc, l.output_desc_offset);
		EXPECT_EQ(table_1_2[i].in_arena, l.input_arena_offset);
		EXPECT_EQ(table_1_2[i].out_arena, l.output_arena_offset);
		EXPECT_EQ(table_1_2[i].payload, l.payload_bytes);
		EXPECT_EQ(U64(L3L2Q_COUNTER_BYTES), l.counter_bytes);
		/* The output ring starts where the input ring ends (8-aligned). */
		EXPECT_EQ(U64(0), l.output_desc_offset % 8);
	}
}

TEST(layout_refuses_depth_one_but_accepts_other_table_rows)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(table_1_2); i++) {
		struct l3l2q_layout ours, wire;
		int st;

		sentinel_layout(&ours);
		st = LAYOUT(table_1_2[i].depth, table_1_2[i].in,
				  table_1_2[i].out, &ours);
		if (table_1_2[i].depth == 1) {
			/* DESIGN §2: depth 1 shares a cache line (P12). */
			EXPECT_EQ(L3L2Q_LAYOUT_BAD_DEPTH, st);
			EXPECT_TRUE(layout_is_sentinel(&ours));
			continue;
		}
		ASSERT_EQ(L3L2Q_LAYOUT_OK, st) TH_LOG("row %u", i);
		ASSERT_EQ(L3L2Q_LAYOUT_OK,
			  WIRE_LAYOUT(table_1_2[i].depth, table_1_2[i].in,
					    table_1_2[i].out, &wire));
		/* Where both accept, they agree byte for byte. */
		EXPECT_EQ(0, memcmp(&ours, &wire, sizeof(ours)));
		EXPECT_EQ(table_1_2[i].payload, ours.payload_bytes);
		/* And the two rings never share a 64-byte line. */
		EXPECT_EQ(U64(0), ours.output_desc_offset % 64);
	}
}

/* ------------------------------------------------------------------ */
/* Pitfall P1: every intermediate step is checked                     */
/* ------------------------------------------------------------------ */

TEST(layout_overflow_each_intermediate_step_leaves_output_untouched)
{
	static const struct {
		__u64 depth, in, out;
		const char *step;
	} bad[] = {
		/* input_arena_offset (128) + in_arena wraps */
		{ 2, UINT64_MAX - 63, 64, "in_arena_offset + in_arena" },
		{ 2, UINT64_MAX - 127, 64, "in_arena_offset + in_arena == 2^64" },
		{ 1u << 30, UINT64_MAX - ((1ull << 36) - 1), 64,
		  "in_arena_offset (2^36) + in_arena == 2^64" },
		/* in_end fits; output_arena_offset + out_arena wraps */
		{ 2, UINT64_MAX - 191, 64, "out_arena_offset + out_arena == 2^64" },
		{ 2, 64, UINT64_MAX - 63, "out_arena near max" },
		{ 2, 64, UINT64_MAX - 191, "out_arena_offset (192) + out == 2^64" },
		{ 2, UINT64_MAX - 63, UINT64_MAX - 63, "both arenas near max" },
		{ 4, 1ull << 63, 1ull << 63, "two halves" },
		/* depth 1 at the wire level: in_off 64 */
		{ 1, UINT64_MAX - 63, 64, "depth 1 in_arena" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct l3l2q_layout l;

		sentinel_layout(&l);
		EXPECT_EQ(L3L2Q_LAYOUT_OVERFLOW,
			  WIRE_LAYOUT(bad[i].depth, bad[i].in, bad[i].out, &l))
			TH_LOG("%s", bad[i].step);
		EXPECT_TRUE(layout_is_sentinel(&l)) TH_LOG("%s", bad[i].step);
		if (bad[i].depth >= 2) {
			EXPECT_EQ(L3L2Q_LAYOUT_OVERFLOW,
				  LAYOUT(bad[i].depth, bad[i].in, bad[i].out, &l))
				TH_LOG("%s", bad[i].step);
			EXPECT_TRUE(layout_is_sentinel(&l)) TH_LOG("%s", bad[i].step);
		}
	}
}

TEST(layout_largest_sizes_that_fit_are_accepted)
{
	struct l3l2q_layout l;

	/* 128 + (2^64 - 256) = 2^64 - 128; + 64 = 2^64 - 64: fits. */
	ASSERT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(2, UINT64_MAX - 255, 64, &l));
	EXPECT_EQ(U64(128), l.input_arena_offset);
	EXPECT_EQ(UINT64_MAX - 127, l.output_arena_offset);
	EXPECT_EQ(UINT64_MAX - 63, l.payload_bytes);

	ASSERT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(2, 64, UINT64_MAX - 255, &l));
	EXPECT_EQ(U64(192), l.output_arena_offset);
	EXPECT_EQ(UINT64_MAX - 63, l.payload_bytes);
}

TEST(region_layout_overflow_leaves_output_untouched)
{
	struct l3l2q_layout l;
	struct l3l2q_region_offsets ro, sentinel;

	/* A wire-legal layout whose mapping cannot be addressed. */
	ASSERT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(2, UINT64_MAX - 255, 64, &l));
	memset(&ro, 0x5c, sizeof(ro));
	memset(&sentinel, 0x5c, sizeof(sentinel));
	EXPECT_EQ(0, l3l2q_region_layout(&l, &ro));
	EXPECT_EQ(0, memcmp(&ro, &sentinel, sizeof(ro)));

	/* Just past the last page that can be rounded up. */
	l.payload_bytes = UINT64_MAX - 8192 - 4094;
	EXPECT_EQ(0, l3l2q_region_layout(&l, &ro));
	EXPECT_EQ(0, memcmp(&ro, &sentinel, sizeof(ro)));
}

/* ------------------------------------------------------------------ */
/* Counter block and control block placement                          */
/* ------------------------------------------------------------------ */

TEST(counter_offsets_are_one_per_line_within_384_bytes)
{
	static const unsigned int ctr[] = {
		L3L2Q_CTR_INPUT_TAIL, L3L2Q_CTR_INPUT_HEAD,
		L3L2Q_CTR_OUTPUT_TAIL, L3L2Q_CTR_OUTPUT_HEAD,
		L3L2Q_CTR_L3_ABORT, L3L2Q_CTR_L2_ABORT,
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(ctr); i++) {
		EXPECT_EQ(i * 64, ctr[i]);
		EXPECT_EQ(0u, ctr[i] % L3L2Q_LINE_BYTES);
		EXPECT_LE(ctr[i] + 4, L3L2Q_COUNTER_BYTES);
		for (j = 0; j < i; j++)
			EXPECT_NE(ctr[j] / 64, ctr[i] / 64);
	}
	EXPECT_EQ(6u * 64u, L3L2Q_COUNTER_BYTES);
}

static const unsigned int ctrl_words[] = {
	L3L2Q_CTRL_HDR, L3L2Q_CTRL_L3_STATE, L3L2Q_CTRL_L2_STATE,
	L3L2Q_CTRL_L3_WAKE, L3L2Q_CTRL_L2_WAKE,
};

/* Kept out of line: the harness's setjmp would clobber its locals. */
static __attribute__((noinline)) void
check_region_sections(struct __test_metadata *_metadata, __u64 depth,
		      __u64 in, __u64 out)
{
	struct l3l2q_layout l;
	struct l3l2q_region_offsets r;
	unsigned int j;

	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(depth, in, out, &l));
	ASSERT_EQ(1, l3l2q_region_layout(&l, &r));
	EXPECT_EQ(U64(0), r.ctrl_offset % L3L2Q_REGION_ALIGN);
	EXPECT_EQ(U64(0), r.counter_offset % L3L2Q_REGION_ALIGN);
	EXPECT_EQ(U64(0), r.payload_offset % L3L2Q_REGION_ALIGN);
	EXPECT_EQ(U64(0), r.total_bytes % L3L2Q_REGION_ALIGN);
	EXPECT_EQ(U64(L3L2Q_CTRL_BYTES), r.ctrl_bytes);
	EXPECT_EQ(U64(L3L2Q_COUNTER_BYTES), r.counter_bytes);
	EXPECT_EQ(l.payload_bytes, r.payload_bytes);
	/* ctrl | counters | payload, in order, no overlap. */
	EXPECT_LE(r.ctrl_offset + r.ctrl_bytes, r.counter_offset);
	EXPECT_LE(r.counter_offset + r.counter_bytes, r.payload_offset);
	EXPECT_LE(r.payload_offset + r.payload_bytes, r.total_bytes);
	/* Every control word lies inside the control section. */
	for (j = 0; j < ARRAY_SIZE(ctrl_words); j++) {
		__u64 w = r.ctrl_offset + ctrl_words[j];

		EXPECT_LE(w + 4, r.ctrl_offset + r.ctrl_bytes);
		EXPECT_TRUE(w + 4 <= r.counter_offset ||
			    w >= r.counter_offset + r.counter_bytes);
		EXPECT_TRUE(w + 4 <= r.payload_offset ||
			    w >= r.payload_offset + r.payload_bytes);
	}
}

TEST(control_block_words_have_own_lines_outside_upstream_bytes)
{
	unsigned int i, j;

	/* Line 0 holds only the header. */
	EXPECT_LE(sizeof(struct l3l2q_ctrl_hdr), (size_t)L3L2Q_LINE_BYTES);
	for (i = 0; i < ARRAY_SIZE(ctrl_words); i++) {
		EXPECT_EQ(0u, ctrl_words[i] % L3L2Q_LINE_BYTES);
		EXPECT_LE(ctrl_words[i] + 64, L3L2Q_CTRL_BYTES);
		for (j = 0; j < i; j++)
			EXPECT_NE(ctrl_words[j] / 64, ctrl_words[i] / 64);
	}
	check_region_sections(_metadata, 2, 64, 64);
	check_region_sections(_metadata, 4, 128, 192);
	check_region_sections(_metadata, 8, 192, 64);
	check_region_sections(_metadata, 1024, 1 << 20, 1 << 20);
	check_region_sections(_metadata, 1ull << 20, 4096, 64);
}

/* ------------------------------------------------------------------ */
/* Reconstruction and the int32 wire (§3, P21)                        */
/* ------------------------------------------------------------------ */

TEST(reconstruction_accepts_delta_up_to_depth_and_rejects_beyond)
{
	__u64 out;

	out = 7;
	EXPECT_EQ(1, l3l2q_reconstruct(100, 100, 4, &out));	/* delta 0 */
	EXPECT_EQ(U64(100), out);
	EXPECT_EQ(1, l3l2q_reconstruct(100, 101, 4, &out));
	EXPECT_EQ(U64(101), out);

	/* The largest depth: the window reaches 2^30 and no further. */
	EXPECT_EQ(1, l3l2q_reconstruct(0, 1 << 30, 1ull << 30, &out));
	EXPECT_EQ(U64(1ull << 30), out);
	out = 7;
	EXPECT_EQ(0, l3l2q_reconstruct(0, (1 << 30) + 1, 1ull << 30, &out));
	EXPECT_EQ(0, l3l2q_reconstruct(0, INT32_MIN, 1ull << 30, &out));
	EXPECT_EQ(0, l3l2q_reconstruct(0, -1, 1ull << 30, &out));
	EXPECT_EQ(U64(7), out);

	/* delta == depth across the 2^32 wrap. */
	EXPECT_EQ(1, l3l2q_reconstruct(0x1FFFFFFFEull, 2, 4, &out));
	EXPECT_EQ(U64(0x200000002ull), out);
	out = 7;
	EXPECT_EQ(0, l3l2q_reconstruct(0x1FFFFFFFEull, 3, 4, &out));
	EXPECT_EQ(U64(7), out);
	/* delta -1 across the wrap: the counter went backwards. */
	EXPECT_EQ(0, l3l2q_reconstruct(0x100000000ull, -1, 4, &out));
	EXPECT_EQ(U64(7), out);
}

TEST(low32_is_twos_complement_around_2_31_and_2_32)
{
	EXPECT_EQ(0, l3l2q_low32(0));
	EXPECT_EQ(INT32_MAX, l3l2q_low32((1ull << 31) - 1));
	EXPECT_EQ(INT32_MIN, l3l2q_low32(1ull << 31));
	EXPECT_EQ(INT32_MIN + 1, l3l2q_low32((1ull << 31) + 1));
	EXPECT_EQ(-2, l3l2q_low32((1ull << 32) - 2));
	EXPECT_EQ(-1, l3l2q_low32((1ull << 32) - 1));
	EXPECT_EQ(0, l3l2q_low32(1ull << 32));
	EXPECT_EQ(1, l3l2q_low32((1ull << 32) + 1));
	EXPECT_EQ(INT32_MIN, l3l2q_low32((1ull << 32) + (1ull << 31)));
	EXPECT_EQ(5, l3l2q_low32((1ull << 63) + 5));
	EXPECT_EQ(-1, l3l2q_low32(UINT64_MAX));
}

TEST(low32_round_trips_through_reconstruction_across_boundaries)
{
	static const __u64 starts[] = {
		(1ull << 31) - 3, (1ull << 32) - 3, (3ull << 32) - 3,
		(1ull << 63) - 3, UINT64_MAX - 2,
	};
	unsigned int i, k;

	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		__u64 local = starts[i];

		/* One step at a time, then a jump by the whole depth. */
		for (k = 0; k < 6; k++) {
			__u64 next = local + 1, out = 0;

			ASSERT_EQ(1, l3l2q_reconstruct(local, l3l2q_low32(next), 4, &out))
				TH_LOG("start %#llx step %u",
				       (unsigned long long)starts[i], k);
			EXPECT_EQ(next, out);
			local = next;
		}
		{
			__u64 out = 0;

			EXPECT_EQ(1, l3l2q_reconstruct(starts[i], l3l2q_low32(starts[i] + 4),
						       4, &out));
			EXPECT_EQ(starts[i] + 4, out);
			EXPECT_EQ(0, l3l2q_reconstruct(starts[i], l3l2q_low32(starts[i] + 5),
						       4, &out));
			EXPECT_EQ(0, l3l2q_reconstruct(starts[i], l3l2q_low32(starts[i] - 1),
						       4, &out));
		}
	}
}

/* ------------------------------------------------------------------ */
/* The twelve upstream L2 task scalars                                */
/* ------------------------------------------------------------------ */

/* A valid set for (depth 2, 64, 64): payload 256, counters 384. */
static void good_scalars(__u64 s[12])
{
	s[0] = L3L2Q_REGION_MAGIC_VERSION;
	s[1] = 19;			/* region_id */
	s[2] = 0x10000;			/* payload_base */
	s[3] = 256;			/* payload_bytes */
	s[4] = 0x20000;			/* counter_base */
	s[5] = 384;			/* counter_bytes */
	s[6] = L3L2Q_QUEUE_MAGIC_VERSION;
	s[7] = 2;			/* depth */
	s[8] = 64;			/* input_arena_bytes */
	s[9] = 64;			/* output_arena_bytes */
	s[10] = 256;			/* payload_bytes */
	s[11] = 384;			/* counter_bytes */
}

/* Expect -EINVAL with a non-empty, NUL-terminated message. */
static void expect_scalars_rejected(struct __test_metadata *_metadata,
				    const __u64 s[12], unsigned int count,
				    const char *why)
{
	struct l3l2q_error err;
	struct l3l2q_layout l;

	memset(&err, 0, sizeof(err));
	sentinel_layout(&l);
	EXPECT_EQ(-EINVAL, l3l2q_validate_scalars(s, count, &l, &err))
		TH_LOG("%s", why);
	EXPECT_NE(0, err.message[0]) TH_LOG("%s: no message", why);
	EXPECT_NE(NULL, memchr(err.message, '\0', sizeof(err.message)));
	/* A NULL error record is allowed. */
	EXPECT_EQ(-EINVAL, l3l2q_validate_scalars(s, count, &l, NULL))
		TH_LOG("%s (err NULL)", why);
}

TEST(validate_scalars_accepts_exact_upstream_arguments)
{
	struct l3l2q_layout l, want;
	struct l3l2q_error err;
	__u64 s[12];

	good_scalars(s);
	memset(&err, 0, sizeof(err));
	ASSERT_EQ(L3L2Q_LAYOUT_OK, LAYOUT(2, 64, 64, &want));
	sentinel_layout(&l);
	ASSERT_EQ(0, l3l2q_validate_scalars(s, 12, &l, &err));
	EXPECT_EQ(0, memcmp(&want, &l, sizeof(l)));
	EXPECT_EQ(U64(256), l.payload_bytes);
	EXPECT_EQ(U64(384), l.counter_bytes);

	/* Only the region magic and major are checked; the minor is ignored. */
	s[0] = L3L2Q_PACK_MAGIC_VERSION(L3L2Q_REGION_MAGIC, 3, 7);
	EXPECT_EQ(0, l3l2q_validate_scalars(s, 12, &l, &err));

	/* Base address 0 is legal for both ranges. */
	good_scalars(s);
	s[2] = 0;
	s[4] = 0x1000;
	EXPECT_EQ(0, l3l2q_validate_scalars(s, 12, &l, &err));
	good_scalars(s);
	s[4] = 0;
	s[2] = 0x1000;
	EXPECT_EQ(0, l3l2q_validate_scalars(s, 12, &l, NULL));

	/* A larger geometry: (4, 128, 192) has payload 576. */
	good_scalars(s);
	s[7] = 4;
	s[8] = 128;
	s[9] = 192;
	s[3] = s[10] = 576;
	EXPECT_EQ(0, l3l2q_validate_scalars(s, 12, &l, NULL));
	EXPECT_EQ(U64(384), l.output_arena_offset);
}

TEST(validate_scalars_rejects_descriptor_sizes_that_differ_from_layout)
{
	__u64 s[12];

	good_scalars(s);
	s[3] = s[10] = 256;
	s[5] = s[11] = 320;
	expect_scalars_rejected(_metadata, s, 12, "(256, 320)");

	good_scalars(s);
	s[3] = s[10] = 512;
	s[5] = s[11] = 384;
	expect_scalars_rejected(_metadata, s, 12, "(512, 384)");

	/* The design doc's ">= 384" is not what upstream enforces: == 384. */
	good_scalars(s);
	s[5] = s[11] = 448;
	expect_scalars_rejected(_metadata, s, 12, "counter_bytes 448");

	/* desc and args must agree with each other as well. */
	good_scalars(s);
	s[3] = 512;
	expect_scalars_rejected(_metadata, s, 12, "desc payload 512, args 256");
	good_scalars(s);
	s[10] = 512;
	expect_scalars_rejected(_metadata, s, 12, "desc payload 256, args 512");
	good_scalars(s);
	s[5] = 320;
	expect_scalars_rejected(_metadata, s, 12, "desc counters 320, args 384");
	good_scalars(s);
	s[11] = 320;
	expect_scalars_rejected(_metadata, s, 12, "desc counters 384, args 320");
}

TEST(validate_scalars_rejects_bad_region_and_queue_identity)
{
	__u64 s[12];

	good_scalars(s);
	s[0] = L3L2Q_PACK_MAGIC_VERSION(0x4C334C33u, 3, 0);
	expect_scalars_rejected(_metadata, s, 12, "region magic");

	good_scalars(s);
	s[0] = L3L2Q_PACK_MAGIC_VERSION(L3L2Q_REGION_MAGIC, 2, 0);
	expect_scalars_rejected(_metadata, s, 12, "region major 2");

	good_scalars(s);
	s[1] = 0;
	expect_scalars_rejected(_metadata, s, 12, "region_id 0");

	good_scalars(s);
	s[6] = L3L2Q_PACK_MAGIC_VERSION(L3L2Q_QUEUE_MAGIC, 1, 0);
	expect_scalars_rejected(_metadata, s, 12, "queue minor 0");
	good_scalars(s);
	s[6] = L3L2Q_PACK_MAGIC_VERSION(L3L2Q_QUEUE_MAGIC, 1, 2);
	expect_scalars_rejected(_metadata, s, 12, "queue minor 2");
	good_scalars(s);
	s[6] = L3L2Q_PACK_MAGIC_VERSION(L3L2Q_QUEUE_MAGIC, 2, 1);
	expect_scalars_rejected(_metadata, s, 12, "queue major 2");
	good_scalars(s);
	s[6] = L3L2Q_PACK_MAGIC_VERSION(0x4C335133u, 1, 1);
	expect_scalars_rejected(_metadata, s, 12, "queue magic");
}

TEST(validate_scalars_rejects_short_lists_and_bad_ranges)
{
	struct l3l2q_layout l;
	__u64 s[12];
	unsigned int n;

	good_scalars(s);
	for (n = 0; n < 12; n++)
		expect_scalars_rejected(_metadata, s, n, "fewer than 12 scalars");
	sentinel_layout(&l);
	EXPECT_EQ(-EINVAL, l3l2q_validate_scalars(NULL, 0, &l, NULL));

	good_scalars(s);
	s[3] = s[10] = 0;
	expect_scalars_rejected(_metadata, s, 12, "payload_bytes 0");

	good_scalars(s);
	s[2] = UINT64_MAX - 100;
	expect_scalars_rejected(_metadata, s, 12, "payload range overflows");

	good_scalars(s);
	s[4] = 0x20004;
	expect_scalars_rejected(_metadata, s, 12, "counter base not 64-aligned");

	good_scalars(s);
	s[4] = s[2] + 64;
	expect_scalars_rejected(_metadata, s, 12, "counters overlap payload");

	good_scalars(s);
	s[4] = UINT64_MAX - 63;
	expect_scalars_rejected(_metadata, s, 12, "counter range overflows");

	good_scalars(s);
	s[7] = 3;
	expect_scalars_rejected(_metadata, s, 12, "depth 3");

	good_scalars(s);
	s[8] = 65;
	expect_scalars_rejected(_metadata, s, 12, "input arena 65");

	good_scalars(s);
	s[9] = 0;
	expect_scalars_rejected(_metadata, s, 12, "output arena 0");

	good_scalars(s);
	s[8] = UINT64_MAX - 63;
	expect_scalars_rejected(_metadata, s, 12, "layout overflows");
}

TEST_HARNESS_MAIN
