// SPDX-License-Identifier: MIT
/*
 * channel_abi_test - the HDCH v1 wire layout against the upstream
 * constants (reference §9.2): sizes and offsets of the header, the lane
 * header and the descriptor, the layout formula for several geometries
 * and against a 128-bit reference for many more, overflow at every step
 * (output untouched), the region and control-block layout, and the
 * channel member of L3L2Q_GEOMETRY.
 *
 * The upstream numbers below are written out by hand from the upstream
 * header, not taken from uapi/l3l2q_channel.h, so a change to either side
 * fails here.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"

#include "l3l2q_core.h"
#include "l3l2q/l3l2q_channel.h"

#define U32(x)	((__u32)(x))
#define U64(x)	((__u64)(x))
#define SZ(x)	((size_t)(x))

/* ---- upstream HDCH v1, by hand ---- */

#define UP_MAGIC		0x48444348u
#define UP_VERSION		1u
#define UP_MAX_INLINE		256u
#define UP_HDR			128u
#define UP_LANE_HDR		64u
#define UP_DESC			320u

static void sentinel(struct l3l2q_chan_layout *l)
{
	memset(l, 0x5a, sizeof(*l));
}

static int is_sentinel(const struct l3l2q_chan_layout *l)
{
	struct l3l2q_chan_layout s;

	sentinel(&s);
	return !memcmp(&s, l, sizeof(s));
}

/*
 * The formula in 128-bit arithmetic: 1 and the layout if every step fits
 * 64 bits, else 0.
 */
static int reference(__u32 c2l, __u32 l2c, __u32 depth, __u32 max,
		     struct l3l2q_chan_layout *out)
{
	unsigned __int128 lane = UP_LANE_HDR + (unsigned __int128)depth * UP_DESC;
	unsigned __int128 raw = UP_HDR + lane * ((unsigned __int128)c2l + l2c);
	unsigned __int128 total = (raw + 63) / 64 * 64;

	if (total > UINT64_MAX)
		return 0;
	out->lanes_to_l2 = c2l;
	out->lanes_to_l3 = l2c;
	out->lane_depth = depth;
	out->max_message_bytes = max;
	out->lane_bytes = (__u64)lane;
	out->to_l2_offset = UP_HDR;
	out->to_l3_offset = (__u64)(UP_HDR + lane * c2l);
	out->total_bytes = (__u64)total;
	return 1;
}

TEST(upstream_constants_match)
{
	EXPECT_EQ(UP_MAGIC, U32(L3L2Q_CHAN_MAGIC));
	EXPECT_EQ(UP_VERSION, L3L2Q_CHAN_VERSION);
	EXPECT_EQ(UP_MAX_INLINE, L3L2Q_CHAN_INLINE_BYTES);
	EXPECT_EQ(0, L3L2Q_CHAN_UPSTREAM_OK + 0);
	EXPECT_EQ(-11, L3L2Q_CHAN_UPSTREAM_WOULD_BLOCK);
	EXPECT_EQ(-22, L3L2Q_CHAN_UPSTREAM_INVALID);
	EXPECT_EQ(-75, L3L2Q_CHAN_UPSTREAM_MSG_TOO_LARGE);
	EXPECT_EQ(-5, L3L2Q_CHAN_UPSTREAM_BACKEND);
	/* l3l2q's errnos: the would-block and invalid numbers coincide. */
	EXPECT_EQ(-EAGAIN, L3L2Q_CHAN_UPSTREAM_WOULD_BLOCK);
	EXPECT_EQ(-EINVAL, L3L2Q_CHAN_UPSTREAM_INVALID);
	EXPECT_EQ(U64(0x4844434800010000ull), L3L2Q_CHAN_MAGIC_VERSION);
}

TEST(header_lane_and_descriptor_layout_is_stable)
{
	/* HostDeviceChannelHeader, alignas(64) */
	EXPECT_EQ(SZ(UP_HDR), sizeof(struct l3l2q_chan_hdr));
	EXPECT_EQ(SZ(0), offsetof(struct l3l2q_chan_hdr, magic));
	EXPECT_EQ(SZ(4), offsetof(struct l3l2q_chan_hdr, version));
	EXPECT_EQ(SZ(8), offsetof(struct l3l2q_chan_hdr, flags));
	EXPECT_EQ(SZ(12), offsetof(struct l3l2q_chan_hdr, lanes_to_l2));
	EXPECT_EQ(SZ(16), offsetof(struct l3l2q_chan_hdr, lanes_to_l3));
	EXPECT_EQ(SZ(20), offsetof(struct l3l2q_chan_hdr, lane_depth));
	EXPECT_EQ(SZ(24), offsetof(struct l3l2q_chan_hdr, max_message_bytes));
	EXPECT_EQ(SZ(28), offsetof(struct l3l2q_chan_hdr, resv0));
	EXPECT_EQ(SZ(32), offsetof(struct l3l2q_chan_hdr, control_bytes));
	EXPECT_EQ(SZ(40), offsetof(struct l3l2q_chan_hdr, fatal_status));
	EXPECT_EQ(SZ(48), offsetof(struct l3l2q_chan_hdr, resv1));
	EXPECT_EQ(SZ(80), offsetof(struct l3l2q_chan_hdr, pad));
	/* HostDeviceLaneHeader */
	EXPECT_EQ(SZ(UP_LANE_HDR), sizeof(struct l3l2q_chan_lane));
	EXPECT_EQ(SZ(0), offsetof(struct l3l2q_chan_lane, head));
	EXPECT_EQ(SZ(4), offsetof(struct l3l2q_chan_lane, tail));
	EXPECT_EQ(SZ(8), offsetof(struct l3l2q_chan_lane, depth));
	EXPECT_EQ(SZ(12), offsetof(struct l3l2q_chan_lane, depth_mask));
	EXPECT_EQ(SZ(16), offsetof(struct l3l2q_chan_lane, dropped_count));
	EXPECT_EQ(SZ(24), offsetof(struct l3l2q_chan_lane, blocked_count));
	EXPECT_EQ(SZ(32), offsetof(struct l3l2q_chan_lane, resv));
	/* HostDeviceDesc */
	EXPECT_EQ(SZ(UP_DESC), sizeof(struct l3l2q_chan_desc));
	EXPECT_EQ(SZ(0), offsetof(struct l3l2q_chan_desc, flags));
	EXPECT_EQ(SZ(4), offsetof(struct l3l2q_chan_desc, payload_bytes));
	EXPECT_EQ(SZ(8), offsetof(struct l3l2q_chan_desc, seq));
	EXPECT_EQ(SZ(16), offsetof(struct l3l2q_chan_desc, correlation_id));
	EXPECT_EQ(SZ(24), offsetof(struct l3l2q_chan_desc, route));
	EXPECT_EQ(SZ(28), offsetof(struct l3l2q_chan_desc, resv0));
	EXPECT_EQ(SZ(32), offsetof(struct l3l2q_chan_desc, data));
	EXPECT_EQ(SZ(288), offsetof(struct l3l2q_chan_desc, pad));
}

/* The formula for geometries worked out by hand. */
TEST(layout_formula_for_several_configs)
{
	static const struct {
		__u32 c2l, l2c, depth, max;
		__u64 lane, to_l3, total;
	} cases[] = {
		/* lane = 64 + depth * 320; total = 128 + lanes * lane */
		{ 1, 1, 1, 1, 384, 512, 896 },
		{ 1, 1, 2, 16, 704, 832, 1536 },
		{ 2, 2, 4, 64, 1344, 2816, 5504 },	/* upstream's default cfg() */
		{ 1, 1, 4, 4, 1344, 1472, 2816 },
		{ 3, 5, 8, 100, 2624, 8000, 21120 },
		{ 8, 8, 64, 256, 20544, 164480, 328832 },
		{ 32, 32, 1024, 256, 327744, 10487936, 20975744 },
	};
	struct l3l2q_chan_layout l;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ((int)L3L2Q_CHAN_LAYOUT_OK, (int)
			  l3l2q_chan_layout(cases[i].c2l, cases[i].l2c,
					    cases[i].depth, cases[i].max, &l))
			TH_LOG("case %u", i);
		EXPECT_EQ(cases[i].lane, l.lane_bytes) TH_LOG("case %u", i);
		EXPECT_EQ(U64(UP_HDR), l.to_l2_offset);
		EXPECT_EQ(cases[i].to_l3, l.to_l3_offset) TH_LOG("case %u", i);
		EXPECT_EQ(cases[i].total, l.total_bytes) TH_LOG("case %u", i);
		EXPECT_EQ(U64(0), l.total_bytes % 64);
		EXPECT_EQ(cases[i].c2l, l.lanes_to_l2);
		EXPECT_EQ(cases[i].l2c, l.lanes_to_l3);
		EXPECT_EQ(cases[i].depth, l.lane_depth);
		EXPECT_EQ(cases[i].max, l.max_message_bytes);
	}
}

/* Many geometries, up to u32 limits, against 128-bit arithmetic. */
TEST(layout_matches_128_bit_reference)
{
	struct l3l2q_chan_layout got, want;
	__u64 x = 0x9e3779b97f4a7c15ull;
	unsigned int i, ok = 0, overflow = 0;

	for (i = 0; i < 200000; i++) {
		__u32 c2l, l2c, depth, max;
		int fits;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		c2l = (__u32)(x >> (x & 31)) | 1;
		l2c = (__u32)(x >> 17) | 1;
		depth = 1u << (x >> 59);	/* 2^0 .. 2^31 */
		max = (__u32)(x % 256) + 1;
		fits = reference(c2l, l2c, depth, max, &want);
		sentinel(&got);
		if (!fits) {
			ASSERT_EQ((int)L3L2Q_CHAN_LAYOUT_OVERFLOW, (int)
				  l3l2q_chan_wire_layout(c2l, l2c, depth, max, &got));
			ASSERT_TRUE(is_sentinel(&got));
			overflow++;
			continue;
		}
		ASSERT_EQ((int)L3L2Q_CHAN_LAYOUT_OK, (int)
			  l3l2q_chan_wire_layout(c2l, l2c, depth, max, &got));
		ASSERT_EQ(0, memcmp(&want, &got, sizeof(got)))
			TH_LOG("c2l %u l2c %u depth %u", c2l, l2c, depth);
		ok++;
	}
	/* Both outcomes were exercised. */
	EXPECT_LT(1000u, ok);
	EXPECT_LT(1000u, overflow);
}

/*
 * Overflow at each step, output untouched: depth * 320, lanes * lane
 * bytes, 128 + that, and the final align-up.
 */
TEST(layout_overflow_fails_closed_without_modifying_output)
{
	struct l3l2q_chan_layout l, big;
	struct l3l2q_region_offsets o;

	sentinel(&l);
	/* upstream RejectsOverflowingRequiredBytes's geometry */
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_OVERFLOW, (int)
		  l3l2q_chan_wire_layout(UINT32_MAX, UINT32_MAX, 1u << 31, 64, &l));
	EXPECT_TRUE(is_sentinel(&l));
	/* lane bytes fit (~2^39), times 2^32 lanes does not */
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_OVERFLOW, (int)
		  l3l2q_chan_wire_layout(UINT32_MAX, 1, 1u << 31, 1, &l));
	EXPECT_TRUE(is_sentinel(&l));
	/* the largest single lane fits */
	EXPECT_EQ((int)L3L2Q_CHAN_LAYOUT_OK, (int)
		  l3l2q_chan_wire_layout(1, 1, 1u << 31, 256, &l));
	EXPECT_EQ(U64(64) + (U64(1) << 31) * 320, l.lane_bytes);
	EXPECT_EQ(U64(128) + 2 * l.lane_bytes, l.total_bytes);
	/* the region around it still fits, the page round-up included */
	ASSERT_TRUE(l3l2q_chan_region_layout(&l, &o));
	EXPECT_EQ(U64(4096), o.payload_offset);
	EXPECT_EQ(U64(0), o.total_bytes % 4096);
	/* a region whose page round-up overflows */
	big = l;
	memset(&o, 0x5a, sizeof(o));
	big.total_bytes = UINT64_MAX - 100;
	EXPECT_FALSE(l3l2q_chan_region_layout(&big, &o));
	EXPECT_EQ(U64(0x5a5a5a5a5a5a5a5aull), o.total_bytes);
}

TEST(region_layout_puts_the_control_block_first)
{
	struct l3l2q_chan_layout l;
	struct l3l2q_region_offsets o;

	ASSERT_EQ((int)L3L2Q_CHAN_LAYOUT_OK, (int) l3l2q_chan_layout(2, 2, 4, 64, &l));
	ASSERT_TRUE(l3l2q_chan_region_layout(&l, &o));
	EXPECT_EQ(U64(0), o.ctrl_offset);
	EXPECT_EQ(U64(L3L2Q_CTRL_BYTES), o.ctrl_bytes);
	EXPECT_EQ(U64(0), o.counter_offset);
	EXPECT_EQ(U64(0), o.counter_bytes);
	EXPECT_EQ(U64(4096), o.payload_offset);
	EXPECT_EQ(l.total_bytes, o.payload_bytes);
	EXPECT_EQ(U64(4096 + 8192), o.total_bytes);	/* 5504 rounds to 8192 */
}

/*
 * The control block: the common words at the queue's offsets, line 0 the
 * queue's header shape, and each channel word in a line with one writer.
 */
TEST(control_block_lines_have_one_writer_each)
{
	/* line owner: 0 creator, 1 L3, 2 L2 */
	static const struct { __u32 off; int owner; } words[] = {
		{ L3L2Q_CTRL_L3_STATE, 1 }, { L3L2Q_CTRL_L2_STATE, 2 },
		{ L3L2Q_CTRL_L3_FEATURES, 1 }, { L3L2Q_CTRL_L2_FEATURES, 2 },
		{ L3L2Q_CHAN_CTRL_L3_TX + offsetof(struct l3l2q_chan_tx_line, ready), 1 },
		{ L3L2Q_CHAN_CTRL_L3_TX_BELL, 1 },
		{ L3L2Q_CHAN_CTRL_L3_TX + offsetof(struct l3l2q_chan_tx_line, close), 1 },
		{ L3L2Q_CHAN_CTRL_L3_RX + offsetof(struct l3l2q_chan_rx_line, taken), 1 },
		{ L3L2Q_CHAN_CTRL_L3_RX_BELL, 1 },
		{ L3L2Q_CHAN_CTRL_L3_RX + offsetof(struct l3l2q_chan_rx_line, ack), 1 },
		{ L3L2Q_CHAN_CTRL_L2_TX + offsetof(struct l3l2q_chan_tx_line, ready), 2 },
		{ L3L2Q_CHAN_CTRL_L2_TX_BELL, 2 },
		{ L3L2Q_CHAN_CTRL_L2_RX + offsetof(struct l3l2q_chan_rx_line, wake), 2 },
		{ L3L2Q_CHAN_CTRL_L2_RX_BELL, 2 },
		{ L3L2Q_CHAN_CTRL_L3_ABORT, 1 }, { L3L2Q_CHAN_CTRL_L2_ABORT, 2 },
	};
	int owner[L3L2Q_CTRL_BYTES / 64];
	unsigned int i;

	memset(owner, 0, sizeof(owner));
	owner[0] = 3;	/* line 0: the creator's header */
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		__u32 line = words[i].off / 64;

		ASSERT_LT(words[i].off, U32(L3L2Q_CTRL_BYTES));
		EXPECT_TRUE(!owner[line] || owner[line] == words[i].owner)
			TH_LOG("word at %u shares line %u", words[i].off, line);
		owner[line] = words[i].owner;
	}
	EXPECT_EQ(U32(0), L3L2Q_CHAN_CTRL_BASE % 64);
	EXPECT_LE(U32(L3L2Q_CHAN_CTRL_END), U32(L3L2Q_CTRL_BYTES));
	/* the bells a WAIT may name fit its 16-bit offset */
	EXPECT_GT(U32(0x10000), U32(L3L2Q_CHAN_CTRL_L2_RX_BELL));
	/* line 0 has the queue header's shape */
	EXPECT_EQ(SZ(64), sizeof(struct l3l2q_chan_ctrl_hdr));
	EXPECT_EQ(offsetof(struct l3l2q_ctrl_hdr, depth),
		  offsetof(struct l3l2q_chan_ctrl_hdr, lanes_to_l2));
	EXPECT_EQ(offsetof(struct l3l2q_ctrl_hdr, resv0),
		  offsetof(struct l3l2q_chan_ctrl_hdr, kind));
}

TEST(geometry_member_of_create_and_info)
{
	struct l3l2q_create_args c;

	memset(&c, 0, sizeof(c));
	c.lanes_to_l2 = 1;
	c.lanes_to_l3 = 2;
	c.lane_depth = 3;
	c.max_message_bytes = 4;
	c.channel_flags = 5;
	c.channel_resv = 6;
	EXPECT_EQ(SZ(0), offsetof(struct l3l2q_create_args, lanes_to_l2));
	EXPECT_EQ(SZ(20), offsetof(struct l3l2q_create_args, channel_resv));
	EXPECT_EQ(U64(2) << 32 | 1, c.geom[0]);
	EXPECT_EQ(U64(4) << 32 | 3, c.geom[1]);
	EXPECT_EQ(U64(6) << 32 | 5, c.geom[2]);
	EXPECT_EQ(SZ(168), sizeof(struct l3l2q_create_args));
	EXPECT_EQ(SZ(8), offsetof(struct l3l2q_info_args, lanes_to_l2));
	EXPECT_EQ(SZ(64), sizeof(struct l3l2q_dir_slot));
}

TEST(fatal_status_encoding)
{
	EXPECT_EQ(U64(1) << 32 | 3,
		  L3L2Q_CHAN_FATAL(L3L2Q_ROLE_L3, L3L2Q_ERR_INVALID_DESCRIPTOR));
	EXPECT_EQ(U64(2) << 32 | 5, L3L2Q_CHAN_FATAL(L3L2Q_ROLE_L2, L3L2Q_ERR_OWNERSHIP));
	/* after the queue's operations (enum l3l2q_error_op) */
	EXPECT_LT(L3L2Q_EOP_ATTACH, L3L2Q_EOP_CHAN_INIT);
}

TEST_HARNESS_MAIN
