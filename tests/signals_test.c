// SPDX-License-Identifier: MIT
/*
 * The signals region (HDMEM, uapi/l3l2q_signals.h) in one process:
 *  - every upstream HDMEM and mapped-region (HDMR) behaviour of reference
 *    §9.3-9.4 and §12.3, under its upstream name (CamelCase);
 *  - the ABI layout table against the upstream constants;
 *  - the target-crossing rule: who is kicked, when, and only once per
 *    arming; what a sleeper records and sleeps on;
 *  - wait_any / wait_all, deadlines, death, and bad arguments.
 * Sleeping and kicking go through a recording env (signals_helpers.h), so
 * every verdict here is exact; signals_xproc_test.c runs the same code
 * across processes with real sleeps.
 */
#include <pthread.h>
#include <stddef.h>

#include "kselftest_harness.h"
#include "signals_helpers.h"

#define U64_MAX		(~0ull)
/* The layout status as an int, for the harness's comparisons. */
#define WIRE(...)	((int)l3l2q_hdmem_wire_layout(__VA_ARGS__))
#define LAYOUT(...)	((int)l3l2q_sig_layout(__VA_ARGS__))

FIXTURE(sig)
{
	struct ts_region r;
	struct ts_rec rec3, rec2;
	struct l3l2q_sig l3, l2;
};

/* 256 data bytes and 4 signals; L3 and L2 bound, both with a kick hook. */
FIXTURE_SETUP(sig)
{
	struct l3l2q_sig_env e3, e2;

	ASSERT_EQ(0, ts_region_make(&self->r, 256, 4, 0, 0));
	memset(&self->rec3, 0, sizeof(self->rec3));
	memset(&self->rec2, 0, sizeof(self->rec2));
	self->rec3.r = self->rec2.r = &self->r;
	self->rec3.role = L3L2Q_ROLE_L3;
	self->rec2.role = L3L2Q_ROLE_L2;
	self->rec3.step = self->rec2.step = 1000;
	self->rec3.sleep_ret = self->rec2.sleep_ret = -ETIMEDOUT;
	e3 = ts_rec_env(&self->rec3);
	e2 = ts_rec_env(&self->rec2);
	ASSERT_EQ(0, l3l2q_sig_init(&self->l3, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &e3));
	ASSERT_EQ(0, l3l2q_sig_init(&self->l2, L3L2Q_ROLE_L2, &self->r.mem,
				    &self->r.l, &e2));
}

FIXTURE_TEARDOWN(sig)
{
	ts_region_free(&self->r);
}

/* ---- the layout ---------------------------------------------------------- */

/* HDMEM v1, byte for byte (reference §9.3). */
TEST(hdmem_abi_layout_table)
{
	static const struct {
		__u64 data_bytes;
		__u32 count;
		__u64 data_offset, total;
	} t[] = {
		{ 256, 3, 320, 576 },		/* InfoReturnsPointersAndShape */
		{ 16, 2, 256, 320 },		/* BoundsReject, NotifyWait */
		{ 1, 1, 192, 256 },
		{ 64, 1, 192, 256 },
		{ 65, 1, 192, 320 },
		{ 100, 5, 448, 576 },
		{ 4096, 64, 4224, 8320 },
		{ 1, 0xffffffffu, 274877907008ull, 274877907072ull },
	};
	struct l3l2q_hdmem_layout l;
	unsigned int i;

	EXPECT_EQ(0x48444D45u, L3L2Q_HDMEM_MAGIC);
	EXPECT_EQ(1u, L3L2Q_HDMEM_VERSION);
	EXPECT_EQ(128u, sizeof(struct l3l2q_hdmem_hdr));
	EXPECT_EQ(0u, offsetof(struct l3l2q_hdmem_hdr, magic));
	EXPECT_EQ(4u, offsetof(struct l3l2q_hdmem_hdr, version));
	EXPECT_EQ(8u, offsetof(struct l3l2q_hdmem_hdr, flags));
	EXPECT_EQ(12u, offsetof(struct l3l2q_hdmem_hdr, signal_count));
	EXPECT_EQ(16u, offsetof(struct l3l2q_hdmem_hdr, data_offset));
	EXPECT_EQ(24u, offsetof(struct l3l2q_hdmem_hdr, data_bytes));
	EXPECT_EQ(32u, offsetof(struct l3l2q_hdmem_hdr, total_bytes));
	EXPECT_EQ(40u, offsetof(struct l3l2q_hdmem_hdr, fatal_status));
	EXPECT_EQ(48u, offsetof(struct l3l2q_hdmem_hdr, reserved));
	EXPECT_EQ(72u, offsetof(struct l3l2q_hdmem_hdr, pad));
	EXPECT_EQ(64u, sizeof(struct l3l2q_hdmem_slot));
	EXPECT_EQ(0u, offsetof(struct l3l2q_hdmem_slot, value));
	/* The upstream codes are these errnos. */
	EXPECT_EQ(-11, -EAGAIN);
	EXPECT_EQ(-22, -EINVAL);
	EXPECT_EQ(-5, -EIO);

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ASSERT_EQ(L3L2Q_SIG_LAYOUT_OK,
			  WIRE(t[i].data_bytes, t[i].count,
						  9, &l)) TH_LOG("row %u", i);
		EXPECT_EQ(128u, l.signal_offset);
		EXPECT_EQ(t[i].data_offset, l.data_offset) TH_LOG("row %u", i);
		EXPECT_EQ(t[i].total, l.total_bytes) TH_LOG("row %u", i);
		EXPECT_EQ(t[i].data_bytes, l.data_bytes);
		EXPECT_EQ(t[i].count, l.signal_count);
		EXPECT_EQ(9u, l.flags);
	}
}

/*
 * InternalLayoutIsStable (HDMR's name): our own bytes - the control
 * header, the waiter entry, the control area per count, the region
 * offsets and the geometry member of CREATE.
 */
TEST(InternalLayoutIsStable)
{
	static const struct {
		__u32 count;
		__u64 table_bytes;
	} t[] = {
		{ 1, 4096 }, { 128, 4096 }, { 129, 8192 }, { 65536, 2097152 },
	};
	struct l3l2q_sig_layout l;
	unsigned int i;

	EXPECT_EQ(64u, sizeof(struct l3l2q_sig_ctrl_hdr));
	EXPECT_EQ(8u, offsetof(struct l3l2q_sig_ctrl_hdr, kind_magic_version));
	EXPECT_EQ(16u, offsetof(struct l3l2q_sig_ctrl_hdr, data_bytes));
	EXPECT_EQ(24u, offsetof(struct l3l2q_sig_ctrl_hdr, signal_count));
	EXPECT_EQ(28u, offsetof(struct l3l2q_sig_ctrl_hdr, hdmem_flags));
	EXPECT_EQ(32u, offsetof(struct l3l2q_sig_ctrl_hdr, sig_flags));
	EXPECT_EQ(48u, offsetof(struct l3l2q_sig_ctrl_hdr, flags));
	EXPECT_EQ(52u, offsetof(struct l3l2q_sig_ctrl_hdr, kind));
	EXPECT_EQ(0x48444D4500010000ull, L3L2Q_SIG_MAGIC_VERSION);
	EXPECT_EQ(32u, sizeof(struct l3l2q_sig_waiter));
	EXPECT_EQ(0u, offsetof(struct l3l2q_sig_waiter, target));
	EXPECT_EQ(8u, offsetof(struct l3l2q_sig_waiter, seen));
	EXPECT_EQ(16u, offsetof(struct l3l2q_sig_waiter, arm));
	EXPECT_EQ(24u, offsetof(struct l3l2q_sig_waiter, kicked));
	/* The control block's words: the queue's, and the abort words. */
	EXPECT_EQ(64u, L3L2Q_CTRL_L3_STATE);
	EXPECT_EQ(128u, L3L2Q_CTRL_L2_STATE);
	EXPECT_EQ(448u, L3L2Q_CTRL_L3_FEATURES);
	EXPECT_EQ(512u, L3L2Q_CTRL_L2_FEATURES);
	EXPECT_EQ(576u, L3L2Q_SIG_CTRL_L3_ABORT);
	EXPECT_EQ(640u, L3L2Q_SIG_CTRL_L2_ABORT);
	/* The geometry member of the CREATE/INFO union. */
	EXPECT_EQ(0u, offsetof(struct l3l2q_create_args, data_bytes));
	EXPECT_EQ(8u, offsetof(struct l3l2q_create_args, signal_count));
	EXPECT_EQ(12u, offsetof(struct l3l2q_create_args, hdmem_flags));
	EXPECT_EQ(16u, offsetof(struct l3l2q_create_args, sig_flags));
	EXPECT_EQ(20u, offsetof(struct l3l2q_create_args, sig_resv));
	EXPECT_EQ(2u, L3L2Q_KIND_SIGNALS);

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ASSERT_EQ(L3L2Q_SIG_LAYOUT_OK,
			  LAYOUT(100, t[i].count, 0,
					   L3L2Q_SIG_F_MONOTONIC, &l));
		EXPECT_EQ(t[i].table_bytes, l.table_bytes) TH_LOG("row %u", i);
		EXPECT_EQ(4096u, l.table_offset[0]);
		EXPECT_EQ(4096u + t[i].table_bytes, l.table_offset[1]);
		EXPECT_EQ(4096u + 2 * t[i].table_bytes, l.ctrl_bytes);
		EXPECT_EQ(l.ctrl_bytes, l.hdmem_offset);
		EXPECT_EQ(0u, l.total_bytes % 4096);
		EXPECT_EQ(l.hdmem_offset + 4096 *
			  ((l.hdmem.total_bytes + 4095) / 4096), l.total_bytes);
		/* Region offsets: ctrl area, HDMEM header + slots, data. */
		EXPECT_EQ(0u, l.off.ctrl_offset);
		EXPECT_EQ(l.ctrl_bytes, l.off.ctrl_bytes);
		EXPECT_EQ(l.hdmem_offset, l.off.counter_offset);
		EXPECT_EQ(l.hdmem.data_offset, l.off.counter_bytes);
		EXPECT_EQ(l.hdmem_offset + l.hdmem.data_offset,
			  l.off.payload_offset);
		EXPECT_EQ(100u, l.off.payload_bytes);
		EXPECT_EQ(l.total_bytes, l.off.total_bytes);
		EXPECT_EQ(L3L2Q_SIG_F_MONOTONIC, l.sig_flags);
	}
}

/* PublicAbiLayoutIsStable (HDMR's name): the structs a caller passes. */
TEST(PublicAbiLayoutIsStable)
{
	EXPECT_EQ(32u, sizeof(struct l3l2q_sig_waitv));
	EXPECT_EQ(0u, offsetof(struct l3l2q_sig_waitv, id));
	EXPECT_EQ(4u, offsetof(struct l3l2q_sig_waitv, cmp));
	EXPECT_EQ(8u, offsetof(struct l3l2q_sig_waitv, target));
	EXPECT_EQ(16u, offsetof(struct l3l2q_sig_waitv, value));
	EXPECT_EQ(24u, offsetof(struct l3l2q_sig_waitv, arm));
	EXPECT_EQ(28u, offsetof(struct l3l2q_sig_waitv, ready));
	EXPECT_EQ(32u, sizeof(struct l3l2q_sig_wait_args));
	EXPECT_EQ(8u, offsetof(struct l3l2q_sig_wait_args, nr));
	EXPECT_EQ(16u, offsetof(struct l3l2q_sig_wait_args, deadline_ns));
	EXPECT_EQ(16u, sizeof(struct l3l2q_sig_kick_args));
	EXPECT_EQ(1u, L3L2Q_SIG_CMP_GE);
	EXPECT_EQ(2u, L3L2Q_SIG_CMP_EQ);
	EXPECT_EQ(3u, L3L2Q_SIG_CMP_NE);
	EXPECT_EQ(64u, L3L2Q_SIG_WAITV_MAX);
}

/* data_bytes 0 and signal_count 0 (upstream), and l3l2q's own limits. */
TEST(RejectsInvalidConfig)
{
	struct l3l2q_hdmem_layout w, w0;
	struct l3l2q_sig_layout l, l0;

	memset(&w, 0xab, sizeof(w));
	w0 = w;
	memset(&l, 0xcd, sizeof(l));
	l0 = l;
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_DATA_BYTES,
		  WIRE(0, 3, 0, &w));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_COUNT,
		  WIRE(256, 0, 0, &w));
	EXPECT_EQ(0, memcmp(&w, &w0, sizeof(w)));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_DATA_BYTES,
		  LAYOUT(0, 3, 0, 0, &l));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_COUNT, LAYOUT(256, 0, 0, 0, &l));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_COUNT,
		  LAYOUT(256, L3L2Q_SIG_COUNT_MAX + 1, 0, 0, &l));
	/* HDMR: flags must be 0 - ours are sig_flags; unknown bits refused. */
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_FLAGS, LAYOUT(256, 3, 0, 2, &l));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_BAD_FLAGS,
		  LAYOUT(256, 3, 0, 0x80000000u, &l));
	EXPECT_EQ(0, memcmp(&l, &l0, sizeof(l)));
	/* HDMEM's own flags word is only stored: any value. */
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OK, LAYOUT(256, 3, ~0u, 0, &l));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OK,
		  LAYOUT(256, L3L2Q_SIG_COUNT_MAX, 0, 0, &l));
	/* The messages name the field. */
	EXPECT_NE(NULL, strstr(l3l2q_sig_layout_strerror(
		L3L2Q_SIG_LAYOUT_BAD_DATA_BYTES), "data_bytes"));
	EXPECT_NE(NULL, strstr(l3l2q_sig_layout_strerror(
		L3L2Q_SIG_LAYOUT_BAD_COUNT), "signal_count"));
	EXPECT_NE(NULL, strstr(l3l2q_sig_layout_strerror(
		L3L2Q_SIG_LAYOUT_BAD_FLAGS), "sig_flags"));
	EXPECT_STREQ("unknown", l3l2q_sig_layout_strerror(
		(enum l3l2q_sig_layout_status)99));
}

/* Every step overflow-checked; the output untouched on failure (P1). */
TEST(RejectsOverflowingRequiredBytes)
{
	struct l3l2q_hdmem_layout w, w0;
	struct l3l2q_sig_layout l, l0;

	memset(&w, 0x11, sizeof(w));
	w0 = w;
	memset(&l, 0x22, sizeof(l));
	l0 = l;
	/* data_offset + data_bytes overflows. */
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OVERFLOW,
		  WIRE(U64_MAX, 1, 0, &w));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OVERFLOW,
		  WIRE(U64_MAX - 320 + 1, 3, 0, &w));
	/* The sum fits, its 64-alignment does not. */
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OVERFLOW,
		  WIRE(U64_MAX - 320 - 10, 3, 0, &w));
	/* The most slots and the most data together. */
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OVERFLOW,
		  WIRE(U64_MAX - 4096, 0xffffffffu, 0, &w));
	EXPECT_EQ(0, memcmp(&w, &w0, sizeof(w)));
	/* The largest that fits: total = 2^64 - 64. */
	ASSERT_EQ(L3L2Q_SIG_LAYOUT_OK,
		  WIRE(U64_MAX - 63 - 320, 3, 0, &w));
	EXPECT_EQ(U64_MAX - 63, w.total_bytes);
	/* HDMEM fits, the control area in front of it does not. */
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OVERFLOW,
		  LAYOUT(U64_MAX - 63 - 320, 3, 0, 0, &l));
	EXPECT_EQ(L3L2Q_SIG_LAYOUT_OVERFLOW,
		  LAYOUT(U64_MAX - 12671, 3, 0, 0, &l));
	EXPECT_EQ(0, memcmp(&l, &l0, sizeof(l)));
	/* The largest l3l2q region of 3 signals: ends at 2^64 - 4096. */
	ASSERT_EQ(L3L2Q_SIG_LAYOUT_OK,
		  LAYOUT(U64_MAX - 4095 - 12288 - 320, 3, 0, 0, &l));
	EXPECT_EQ(U64_MAX - 4095, l.total_bytes);
}

/* ---- init, info, data --------------------------------------------------- */

/* 256 bytes, 3 signals, flags 7; one mapping: host == device pointers. */
TEST(InfoReturnsPointersAndShape)
{
	struct ts_region r;
	struct l3l2q_sig l3, l2;
	struct l3l2q_sig_info i3, i2;

	ASSERT_EQ(0, ts_region_make(&r, 256, 3, 7, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&l3, L3L2Q_ROLE_L3, &r.mem, &r.l, NULL));
	ASSERT_EQ(0, l3l2q_sig_init(&l2, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	ASSERT_EQ(0, l3l2q_sig_info(&l3, &i3));
	ASSERT_EQ(0, l3l2q_sig_info(&l2, &i2));
	EXPECT_EQ((char *)r.mem.hdmem + 320, (char *)i3.data);
	EXPECT_EQ((char *)r.mem.hdmem + 128, (char *)i3.signals);
	EXPECT_EQ(256u, i3.data_bytes);
	EXPECT_EQ(3u, i3.signal_count);
	EXPECT_EQ(7u, i3.flags);
	EXPECT_EQ(576u, i3.total_bytes);
	EXPECT_EQ(0u, i3.sig_flags);
	EXPECT_EQ((__u32)L3L2Q_ROLE_L3, i3.role);
	EXPECT_EQ((__u32)L3L2Q_ROLE_L2, i2.role);
	EXPECT_EQ(i3.data, i2.data);
	EXPECT_EQ(i3.signals, i2.signals);
	/* The header upstream code reads. */
	EXPECT_EQ(L3L2Q_HDMEM_MAGIC, *(__u32 *)r.mem.hdmem);
	EXPECT_EQ(7u, ((struct l3l2q_hdmem_hdr *)r.mem.hdmem)->flags);
	ts_region_free(&r);
}

/* HDMR "zero-initialised info": what is not reported is 0. */
TEST_F(sig, zero_initialised_info)
{
	struct l3l2q_sig_info info;
	static const struct l3l2q_sig_info zero;

	memset(&info, 0xee, sizeof(info));
	l3l2q_sig_close(&self->l3);
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_info(&self->l3, &info));
	EXPECT_EQ(0, memcmp(&info, &zero, sizeof(info)));
	EXPECT_EQ(-EINVAL, l3l2q_sig_info(&self->l2, NULL));
}

TEST_F(sig, CpuWriteReadRoundTrip)
{
	const char msg[] = "hdmem round trip";
	char back[sizeof(msg)] = { 0 };

	ASSERT_EQ(0, l3l2q_sig_write(&self->l3, 8, msg, sizeof(msg)));
	ASSERT_EQ(0, l3l2q_sig_read(&self->l3, 8, back, sizeof(back)));
	EXPECT_STREQ(msg, back);
	/* Exactly those bytes, at data_offset + 8 of HDMEM. */
	EXPECT_EQ(0, memcmp(ts_data(&self->r) + 8, msg, sizeof(msg)));
	EXPECT_EQ(0, ts_data(&self->r)[7]);
}

TEST_F(sig, L2WriteCpuReadAndCpuWriteL2Read)
{
	__u64 a = 0x1122334455667788ull, b = 0, c = 0xa5a5f00dull, d = 0;

	ASSERT_EQ(0, l3l2q_sig_write(&self->l2, 0, &a, sizeof(a)));
	ASSERT_EQ(0, l3l2q_sig_read(&self->l3, 0, &b, sizeof(b)));
	EXPECT_EQ(a, b);
	ASSERT_EQ(0, l3l2q_sig_write(&self->l3, 248, &c, sizeof(c)));
	ASSERT_EQ(0, l3l2q_sig_read(&self->l2, 248, &d, sizeof(d)));
	EXPECT_EQ(c, d);
}

/* data 16: offset 13 + 4 bytes is invalid; offset 16 + 0 bytes is OK. */
TEST(BoundsReject)
{
	struct ts_region r;
	struct l3l2q_sig s;
	char buf[32] = { 0 };

	ASSERT_EQ(0, ts_region_make(&r, 16, 2, 0, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &r.mem, &r.l, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_sig_write(&s, 13, buf, 4));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&s)->message, "past data_bytes"));
	EXPECT_EQ((__u32)L3L2Q_ERR_BAD_ARGUMENT, l3l2q_sig_last_error(&s)->kind);
	EXPECT_EQ((__u32)L3L2Q_EOP_SIG_WRITE, l3l2q_sig_last_error(&s)->op);
	EXPECT_EQ(7u, l3l2q_sig_last_error(&s)->region_id);
	EXPECT_EQ(-EINVAL, l3l2q_sig_read(&s, 13, buf, 4));
	EXPECT_EQ((__u32)L3L2Q_EOP_SIG_READ, l3l2q_sig_last_error(&s)->op);
	EXPECT_EQ(0, l3l2q_sig_write(&s, 16, buf, 0));
	EXPECT_EQ(0, l3l2q_sig_read(&s, 16, buf, 0));
	EXPECT_EQ(0, l3l2q_sig_write(&s, 12, buf, 4));
	EXPECT_EQ(0, l3l2q_sig_read(&s, 0, buf, 16));
	EXPECT_EQ(-EINVAL, l3l2q_sig_write(&s, 17, buf, 0));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&s)->message,
			       "offset 17 is beyond data_bytes 16"));
	EXPECT_EQ(-EINVAL, l3l2q_sig_read(&s, 0, buf, 17));
	EXPECT_EQ(-EINVAL, l3l2q_sig_write(&s, U64_MAX, buf, 1));
	EXPECT_EQ(-EINVAL, l3l2q_sig_write(&s, 1, buf, U64_MAX));
	/* NULL only for an empty range. */
	EXPECT_EQ(-EINVAL, l3l2q_sig_write(&s, 0, NULL, 1));
	EXPECT_EQ(-EINVAL, l3l2q_sig_read(&s, 0, NULL, 1));
	EXPECT_EQ(0, l3l2q_sig_read(&s, 0, NULL, 0));
	/* Nothing outside the data area was touched. */
	EXPECT_EQ(0x5a, ts_data(&r)[r.l.hdmem.total_bytes -
				    r.l.hdmem.data_offset]);
	ts_region_free(&r);
}

/* target 1 on 0 misses; notify 5, wait 5 matches; id 2 of 2 is invalid. */
TEST(NotifyWait)
{
	struct ts_region r;
	struct l3l2q_sig l3, l2;
	__u64 seen = 99;

	ASSERT_EQ(0, ts_region_make(&r, 16, 2, 0, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&l3, L3L2Q_ROLE_L3, &r.mem, &r.l, NULL));
	ASSERT_EQ(0, l3l2q_sig_init(&l2, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait(&l3, 0, L3L2Q_SIG_CMP_GE, 1, &seen));
	EXPECT_EQ(0u, seen);
	EXPECT_EQ(0, l3l2q_sig_notify(&l2, 0, 5));
	EXPECT_EQ(0, l3l2q_sig_wait(&l3, 0, L3L2Q_SIG_CMP_GE, 5,
				    L3L2Q_DEADLINE_NONE, &seen));
	EXPECT_EQ(5u, seen);
	EXPECT_EQ(5u, atomic_load(ts_slot(&r, 0)));
	EXPECT_EQ(-EINVAL, l3l2q_sig_notify(&l2, 2, 1));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&l2)->message,
			       "signal id 2 is not below signal_count 2"));
	EXPECT_EQ(-EINVAL, l3l2q_sig_wait(&l3, 2, L3L2Q_SIG_CMP_GE, 0, 0, &seen));
	EXPECT_EQ(-EINVAL, l3l2q_sig_try_wait(&l3, 2, L3L2Q_SIG_CMP_GE, 0, &seen));
	EXPECT_EQ(-EINVAL, l3l2q_sig_notify_add(&l2, 2, 1, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_sig_notify_monotonic(&l2, 2, 1));
	/* Slot 1 and the other slot bytes untouched. */
	EXPECT_EQ(0u, atomic_load(ts_slot(&r, 1)));
	EXPECT_EQ(0u, ((__u64 *)ts_slot(&r, 0))[1]);
	ts_region_free(&r);
}

/* HDMR: a notify below the current value is -EINVAL and changes nothing. */
TEST(NotifyWaitUsesMonotonicSignals)
{
	struct ts_region r;
	struct l3l2q_sig l3, l2;
	__u64 seen;

	ASSERT_EQ(0, ts_region_make(&r, 64, 2, 0, L3L2Q_SIG_F_MONOTONIC));
	ASSERT_EQ(0, l3l2q_sig_init(&l3, L3L2Q_ROLE_L3, &r.mem, &r.l, NULL));
	ASSERT_EQ(0, l3l2q_sig_init(&l2, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	EXPECT_EQ(0, l3l2q_sig_notify(&l2, 0, 3));
	EXPECT_EQ(-EINVAL, l3l2q_sig_notify(&l2, 0, 2));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&l2)->message,
			       "value 2 is below the current 3"));
	EXPECT_EQ(3u, atomic_load(ts_slot(&r, 0)));
	EXPECT_EQ(0, l3l2q_sig_notify(&l2, 0, 3));	/* equal: nothing */
	EXPECT_EQ(0, l3l2q_sig_notify(&l2, 0, 4));
	EXPECT_EQ(0, l3l2q_sig_wait(&l3, 0, L3L2Q_SIG_CMP_GE, 4, 0, &seen));
	EXPECT_EQ(4u, seen);
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait(&l3, 0, L3L2Q_SIG_CMP_GE, 5, &seen));
	/* A plain region: set may go back, the monotonic call may not. */
	ts_region_free(&r);
	ASSERT_EQ(0, ts_region_make(&r, 64, 2, 0, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&l2, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	EXPECT_EQ(0, l3l2q_sig_notify(&l2, 1, 9));
	EXPECT_EQ(0, l3l2q_sig_notify(&l2, 1, 8));
	EXPECT_EQ(8u, atomic_load(ts_slot(&r, 1)));
	EXPECT_EQ(-EINVAL, l3l2q_sig_notify_monotonic(&l2, 1, 7));
	EXPECT_EQ(8u, atomic_load(ts_slot(&r, 1)));
	EXPECT_EQ(0, l3l2q_sig_notify_monotonic(&l2, 1, U64_MAX));
	EXPECT_EQ(U64_MAX, atomic_load(ts_slot(&r, 1)));
	ts_region_free(&r);
}

/* HDMR "RejectsStaleAndCrossContextHandles", the core's part: a closed
 * handle refuses everything (handles of fds and contexts are phase 2). */
TEST_F(sig, RejectsStaleHandles)
{
	struct l3l2q_sig_waitv v = { .id = 0, .cmp = L3L2Q_SIG_CMP_GE };
	char b[4] = { 0 };
	__u64 x;

	l3l2q_sig_close(&self->l3);
	l3l2q_sig_close(&self->l3);		/* idempotent */
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_notify(&self->l3, 0, 1));
	EXPECT_EQ((__u32)L3L2Q_ERR_RELEASED, l3l2q_sig_last_error(&self->l3)->kind);
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_notify_add(&self->l3, 0, 1, &x));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_notify_monotonic(&self->l3, 0, 1));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_write(&self->l3, 0, b, 4));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_read(&self->l3, 0, b, 4));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_try_wait(&self->l3, 0, 1, 0, &x));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_wait(&self->l3, 0, 1, 0, 0, &x));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_wait_all(&self->l3, &v, 1, 0));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_arm(&self->l3, &v, 1));
	EXPECT_EQ(0u, atomic_load(ts_slot(&self->r, 0)));
	/* The other handle is unaffected. */
	EXPECT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 1));
}

/* Each header field is checked once at init, against the geometry. */
TEST(init_checks_headers_once)
{
	static const struct {
		unsigned int off;
		const char *what;
	} hd[] = {
		{ 0, "magic" }, { 4, "version" }, { 8, "flags" },
		{ 12, "signal_count" }, { 16, "data_offset" },
		{ 24, "data_bytes" }, { 32, "total_bytes" },
	};
	struct ts_region r;
	struct l3l2q_sig s;
	struct l3l2q_sig_layout bad;
	struct l3l2q_sig_mem m;
	unsigned int i;

	ASSERT_EQ(0, ts_region_make(&r, 256, 4, 0, 0));
	for (i = 0; i < sizeof(hd) / sizeof(hd[0]); i++) {
		unsigned char *p = (unsigned char *)r.mem.hdmem + hd[i].off;

		p[1] ^= 0x40;
		EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem,
						  &r.l, NULL)) TH_LOG("%s", hd[i].what);
		EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&s)->message,
				       hd[i].what)) TH_LOG("%s", hd[i].what);
		EXPECT_EQ((__u32)L3L2Q_ERR_BAD_DESCRIPTOR,
			  l3l2q_sig_last_error(&s)->kind);
		EXPECT_EQ((__u32)L3L2Q_EOP_SIG_INIT, l3l2q_sig_last_error(&s)->op);
		EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_notify(&s, 0, 1));
		p[1] ^= 0x40;
	}
	/* The control header: kind, geometry, resv. */
	((struct l3l2q_sig_ctrl_hdr *)r.base)->kind = L3L2Q_KIND_QUEUE;
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&s)->message, "not a signals"));
	((struct l3l2q_sig_ctrl_hdr *)r.base)->kind = L3L2Q_KIND_SIGNALS;
	((struct l3l2q_sig_ctrl_hdr *)r.base)->signal_count = 5;
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	((struct l3l2q_sig_ctrl_hdr *)r.base)->signal_count = 4;
	((struct l3l2q_sig_ctrl_hdr *)r.base)->resv1 = 1;
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	((struct l3l2q_sig_ctrl_hdr *)r.base)->resv1 = 0;
	/* A layout that is not l3l2q_sig_layout()'s own. */
	bad = r.l;
	bad.hdmem.data_offset += 64;
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &bad, NULL));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&s)->message, "does not match"));
	EXPECT_EQ(-EINVAL, l3l2q_sig_region_init(&r.mem, &bad, 0));
	bad = r.l;
	bad.hdmem.signal_count = 0;
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &bad, NULL));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&s)->message, "signal_count"));
	/* Arguments. */
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, 2, &r.mem, &r.l, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, 0, NULL, &r.l, NULL));
	m = r.mem;
	m.hdmem = (char *)m.hdmem + 8;
	EXPECT_EQ(-EINVAL, l3l2q_sig_init(&s, 0, &m, &r.l, NULL));
	/* All good again. */
	EXPECT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	ts_region_free(&r);
}

/* P5: after init no header is read again; bounds use the private copy. */
TEST_F(sig, header_never_reread)
{
	struct l3l2q_hdmem_hdr *h = self->r.mem.hdmem;
	char buf[8] = { 0 };

	h->data_bytes = U64_MAX;
	h->signal_count = 0xffffffffu;
	h->data_offset = 0;
	h->total_bytes = U64_MAX;
	h->magic = 0;
	EXPECT_EQ(0, l3l2q_sig_write(&self->l3, 250, buf, 6));
	EXPECT_EQ(-EINVAL, l3l2q_sig_write(&self->l3, 250, buf, 7));
	EXPECT_EQ(-EINVAL, l3l2q_sig_notify(&self->l2, 4, 1));
	EXPECT_EQ(0, l3l2q_sig_notify(&self->l2, 3, 1));
	EXPECT_EQ(1u, atomic_load(ts_slot(&self->r, 3)));
	EXPECT_EQ(0, l3l2q_sig_try_wait(&self->l3, 3, L3L2Q_SIG_CMP_EQ, 1, NULL));
	EXPECT_EQ(0u, h->magic);		/* nor written */
}

/* A re-init of the region by its creator clears tables and HDMEM. */
TEST_F(sig, region_init_clears_everything)
{
	struct l3l2q_sig_waitv v = { .id = 1, .cmp = L3L2Q_SIG_CMP_GE,
				     .target = 9 };

	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 1, 4));
	ASSERT_EQ(0, l3l2q_sig_write(&self->l2, 0, "xy", 2));
	ASSERT_EQ(0, l3l2q_sig_arm(&self->l3, &v, 1));
	atomic_store(ts_ctrl32(&self->r, L3L2Q_SIG_CTRL_L2_ABORT), 1);
	ASSERT_EQ(0, l3l2q_sig_region_init(&self->r.mem, &self->r.l, 0));
	EXPECT_EQ(0u, atomic_load(ts_slot(&self->r, 1)));
	EXPECT_EQ(0, ts_data(&self->r)[0]);
	EXPECT_EQ(0u, ts_waiter(&self->r, L3L2Q_ROLE_L3, 1)->arm);
	EXPECT_EQ(0u, ts_waiter(&self->r, L3L2Q_ROLE_L3, 1)->target);
	EXPECT_EQ(0u, atomic_load(ts_ctrl32(&self->r, L3L2Q_SIG_CTRL_L2_ABORT)));
	EXPECT_EQ((__u32)L3L2Q_KIND_SIGNALS,
		  ((struct l3l2q_sig_ctrl_hdr *)self->r.base)->kind);
	EXPECT_EQ(L3L2Q_SIG_MAGIC_VERSION,
		  ((struct l3l2q_sig_ctrl_hdr *)self->r.base)->kind_magic_version);
}

/* ---- notify and compare ------------------------------------------------- */

TEST_F(sig, compares)
{
	__u64 seen;

	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, U64_MAX));
	/* GE is unsigned. */
	EXPECT_EQ(0, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE,
					1ull << 63, &seen));
	EXPECT_EQ(U64_MAX, seen);
	EXPECT_EQ(0, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_EQ, U64_MAX, NULL));
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_NE, U64_MAX, NULL));
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 2));
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 3, &seen));
	EXPECT_EQ(2u, seen);
	EXPECT_EQ(0, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 2, NULL));
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_EQ, 3, NULL));
	EXPECT_EQ(0, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_NE, 3, NULL));
	/* A mismatch records nothing; an unknown compare is -EINVAL. */
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, l3l2q_sig_last_error(&self->l3)->kind);
	EXPECT_EQ(-EINVAL, l3l2q_sig_try_wait(&self->l3, 0, 0, 3, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_sig_try_wait(&self->l3, 0, 4, 3, NULL));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&self->l3)->message, "cmp"));
	EXPECT_EQ(-EINVAL, l3l2q_sig_wait(&self->l3, 0, 7, 3, 0, NULL));
	/* The shared rule itself. */
	EXPECT_EQ(1, l3l2q_sig_ready(5, L3L2Q_SIG_CMP_GE, 5));
	EXPECT_EQ(0, l3l2q_sig_ready(4, L3L2Q_SIG_CMP_GE, 5));
	EXPECT_EQ(0, l3l2q_sig_ready(5, 0, 5));
	EXPECT_EQ(0, l3l2q_sig_ready(5, 9, 4));
}

TEST_F(sig, notify_add_is_atomic_and_returns_the_sum)
{
	__u64 sum = 0;

	EXPECT_EQ(0, l3l2q_sig_notify_add(&self->l2, 2, 5, &sum));
	EXPECT_EQ(5u, sum);
	EXPECT_EQ(0, l3l2q_sig_notify_add(&self->l2, 2, 0, &sum));
	EXPECT_EQ(5u, sum);
	EXPECT_EQ(0, l3l2q_sig_notify_add(&self->l3, 2, U64_MAX, &sum));
	EXPECT_EQ(4u, sum);				/* modulo 2^64 */
	EXPECT_EQ(0, l3l2q_sig_notify_add(&self->l3, 2, 1, NULL));
	EXPECT_EQ(5u, atomic_load(ts_slot(&self->r, 2)));
}

struct adder {
	struct ts_region *r;
	unsigned int n;
	int ret;
};

static void *add_loop(void *arg)
{
	struct adder *a = arg;
	struct l3l2q_sig s;
	unsigned int i;

	a->ret = l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &a->r->mem, &a->r->l, NULL);
	for (i = 0; i < a->n && !a->ret; i++)
		a->ret = l3l2q_sig_notify_add(&s, 1, 1, NULL);
	return NULL;
}

/* Any number of adders on one slot: no add is lost. */
TEST_F(sig, concurrent_adders_lose_nothing)
{
	struct adder a[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		a[i].r = &self->r;
		a[i].n = 100000;
		a[i].ret = -1;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, add_loop, &a[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, a[i].ret);
	}
	EXPECT_EQ(400000u, atomic_load(ts_slot(&self->r, 1)));
}

/* ---- the target-crossing rule ------------------------------------------- */

static struct l3l2q_sig_waitv wv(__u32 id, __u32 cmp, __u64 target)
{
	struct l3l2q_sig_waitv v = { .id = id, .cmp = cmp, .target = target };

	return v;
}

/* Arm as a waiter that checked first (what wait() does before it sleeps). */
static int arm1(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v)
{
	int ret = l3l2q_sig_try_wait_any(s, v, 1);

	return ret == -EAGAIN ? l3l2q_sig_arm(s, v, 1) : -1000 + ret;
}

/* Nobody waits: no kick, however many notifies. */
TEST_F(sig, no_kick_without_a_waiter)
{
	__u64 i;

	for (i = 1; i <= 1000; i++)
		ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, i % 4, i));
	for (i = 0; i < 1000; i++)
		ASSERT_EQ(0, l3l2q_sig_notify_add(&self->l3, i % 4, 1, NULL));
	EXPECT_EQ(0u, self->rec2.kicks);
	EXPECT_EQ(0u, self->rec3.kicks);
	EXPECT_EQ(0u, l3l2q_sig_stats(&self->l2)->kicks);
	EXPECT_EQ(1000u, l3l2q_sig_stats(&self->l2)->kicks_suppressed);
	EXPECT_EQ(1000u, l3l2q_sig_stats(&self->l3)->kicks_suppressed);
}

/* A kick only when the value crosses the target, once per arming. */
TEST_F(sig, kick_only_when_the_target_is_crossed)
{
	struct l3l2q_sig_waitv v = wv(2, L3L2Q_SIG_CMP_GE, 5);
	struct l3l2q_sig_waiter *w = ts_waiter(&self->r, L3L2Q_ROLE_L3, 2);
	__u64 i;
	__u32 first;

	ASSERT_EQ(0, arm1(&self->l3, &v));
	EXPECT_EQ(5u, w->target);
	EXPECT_EQ(0u, w->seen);
	EXPECT_EQ(v.arm, w->arm);
	EXPECT_EQ(L3L2Q_SIG_CMP_GE, w->arm & L3L2Q_SIG_CMP_MASK);
	EXPECT_EQ(1u, w->arm >> L3L2Q_SIG_ARM_SHIFT);
	for (i = 1; i <= 4; i++)
		ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, i));
	EXPECT_EQ(0u, self->rec2.kicks);	/* target not reached */
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, 5));
	ASSERT_EQ(1u, self->rec2.kicks);
	EXPECT_EQ((__u32)L3L2Q_ROLE_L3, self->rec2.kick_role[0]);
	EXPECT_EQ(2u, self->rec2.kick_id[0]);
	/* The kicked word, in the notifier's table, names the arming. */
	EXPECT_EQ(v.arm, ts_waiter(&self->r, L3L2Q_ROLE_L2, 2)->kicked[L3L2Q_ROLE_L3]);
	for (i = 6; i <= 20; i++)
		ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, i));
	EXPECT_EQ(1u, self->rec2.kicks);	/* once per arming */
	EXPECT_EQ(1u, l3l2q_sig_stats(&self->l2)->kicks);
	/* Other slots' notifies never kick it. */
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 1, 100));
	EXPECT_EQ(1u, self->rec2.kicks);
	/* A new arming (target 30, seen 20) is kicked anew. */
	first = v.arm;
	v = wv(2, L3L2Q_SIG_CMP_GE, 30);
	ASSERT_EQ(0, arm1(&self->l3, &v));
	EXPECT_EQ(first + (1u << L3L2Q_SIG_ARM_SHIFT), v.arm);
	EXPECT_EQ(20u, w->seen);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, 29));
	EXPECT_EQ(1u, self->rec2.kicks);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, 31));
	EXPECT_EQ(2u, self->rec2.kicks);
	/* Disarmed: no kick, and the count stays for the next arming. */
	l3l2q_sig_disarm(&self->l3, &v, 1);
	EXPECT_EQ(0u, v.arm);
	EXPECT_EQ(0u, w->arm & L3L2Q_SIG_CMP_MASK);
	EXPECT_EQ(2u, w->arm >> L3L2Q_SIG_ARM_SHIFT);
	v = wv(2, L3L2Q_SIG_CMP_GE, 40);
	ASSERT_EQ(0, arm1(&self->l3, &v));
	l3l2q_sig_disarm(&self->l3, &v, 1);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, 50));
	EXPECT_EQ(2u, self->rec2.kicks);
	EXPECT_EQ(0u, self->rec3.kicks);	/* the waiter never kicks */
}

TEST_F(sig, kick_rule_for_eq_ne_and_add)
{
	struct l3l2q_sig_waitv eq = wv(0, L3L2Q_SIG_CMP_EQ, 3);
	struct l3l2q_sig_waitv ne = wv(1, L3L2Q_SIG_CMP_NE, 0);
	struct l3l2q_sig_waitv ge = wv(3, L3L2Q_SIG_CMP_GE, 10);
	int i;

	ASSERT_EQ(0, arm1(&self->l3, &eq));
	ASSERT_EQ(0, arm1(&self->l3, &ne));
	ASSERT_EQ(0, arm1(&self->l3, &ge));
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 2));
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 4));
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 1, 0));
	EXPECT_EQ(0u, self->rec2.kicks);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 3));
	EXPECT_EQ(1u, self->rec2.kicks);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 1, 7));
	EXPECT_EQ(2u, self->rec2.kicks);
	EXPECT_EQ(1u, self->rec2.kick_id[1]);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, l3l2q_sig_notify_add(&self->l2, 3, 3, NULL));
	EXPECT_EQ(2u, self->rec2.kicks);	/* 9 < 10 */
	ASSERT_EQ(0, l3l2q_sig_notify_add(&self->l2, 3, 3, NULL));
	EXPECT_EQ(3u, self->rec2.kicks);	/* 12 crossed 10 */
	EXPECT_EQ(3u, self->rec2.kick_id[2]);
}

/* A waiter of the notifier's own role (another thread) is kicked too. */
TEST_F(sig, own_role_waiter_is_kicked)
{
	struct l3l2q_sig other;
	struct ts_rec rec = { 0 };
	struct l3l2q_sig_env e = ts_rec_env(&rec);
	struct l3l2q_sig_waitv v = wv(1, L3L2Q_SIG_CMP_GE, 1);

	ASSERT_EQ(0, l3l2q_sig_init(&other, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &e));
	ASSERT_EQ(0, arm1(&self->l3, &v));
	ASSERT_EQ(0, l3l2q_sig_notify(&other, 1, 1));
	ASSERT_EQ(1u, rec.kicks);
	EXPECT_EQ((__u32)L3L2Q_ROLE_L3, rec.kick_role[0]);
	EXPECT_EQ(v.arm, ts_waiter(&self->r, L3L2Q_ROLE_L3, 1)->kicked[L3L2Q_ROLE_L3]);
	EXPECT_EQ(0u, self->rec2.kicks);
}

/* Garbage in a waiter entry: an unknown compare is never kicked. */
TEST_F(sig, unknown_compare_in_a_table_is_not_kicked)
{
	struct l3l2q_sig_waiter *w = ts_waiter(&self->r, L3L2Q_ROLE_L3, 0);

	w->target = 0;
	w->seen = 0;
	w->arm = 1u << L3L2Q_SIG_ARM_SHIFT | 0xf;
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 5));
	/* "seen" already ready: the waiter is not sleeping on it. */
	w->arm = 1u << L3L2Q_SIG_ARM_SHIFT | L3L2Q_SIG_CMP_GE;
	w->target = 3;
	w->seen = 4;
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 6));
	EXPECT_EQ(0u, self->rec2.kicks);
	w->seen = 2;
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 7));
	EXPECT_EQ(1u, self->rec2.kicks);
}

/* A role says it kicks only if its handle can. */
TEST(feature_word_follows_the_kick_hook)
{
	struct ts_region r;
	struct l3l2q_sig s;
	struct ts_rec rec = { 0 };
	struct l3l2q_sig_env e = ts_rec_env(&rec);

	ASSERT_EQ(0, ts_region_make(&r, 64, 1, 0, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &r.l, NULL));
	EXPECT_EQ(0u, atomic_load(ts_ctrl32(&r, L3L2Q_CTRL_L2_FEATURES)));
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L2, &r.mem, &r.l, &e));
	EXPECT_EQ(L3L2Q_FEAT_KICKS, atomic_load(ts_ctrl32(&r, L3L2Q_CTRL_L2_FEATURES)));
	EXPECT_EQ(0u, atomic_load(ts_ctrl32(&r, L3L2Q_CTRL_L3_FEATURES)));
	ts_region_free(&r);
}

/* ---- sleeping ------------------------------------------------------------ */

/* Plays the L2 notifier during the L3's sleep. */
static void notify_in_sleep(struct ts_rec *rec)
{
	struct l3l2q_sig *l2 = rec->arg;
	__u64 v = 5 * rec->sleeps;

	l3l2q_sig_notify(l2, 1, v);
}

/* W1-W4: what the sleeper recorded is what it sleeps on; W5 re-arms. */
TEST_F(sig, wait_arms_then_sleeps_on_what_it_recorded)
{
	__u64 seen = 0;

	self->rec3.on_sleep = notify_in_sleep;
	self->rec3.arg = &self->l2;
	self->rec3.sleep_ret = 0;
	self->l3.env.spin_attempts = 1;
	ASSERT_EQ(0, l3l2q_sig_wait(&self->l3, 1, L3L2Q_SIG_CMP_GE, 10,
				    L3L2Q_DEADLINE_NONE, &seen));
	EXPECT_EQ(10u, seen);
	/* Two sleeps: 5 did not reach 10 (no kick), 10 did (one kick). */
	EXPECT_EQ(2u, self->rec3.sleeps);
	EXPECT_EQ(2u, l3l2q_sig_stats(&self->l3)->sleeps);
	EXPECT_EQ(1u, self->rec2.kicks);
	EXPECT_EQ(1u, self->rec3.sleep_n);
	EXPECT_EQ(1u, self->rec3.sleep_v[0].id);
	EXPECT_EQ(L3L2Q_SIG_CMP_GE, self->rec3.sleep_v[0].cmp);
	EXPECT_EQ(10u, self->rec3.sleep_v[0].target);
	/* The second sleep: seen 5, a second arming, all in the table. */
	EXPECT_EQ(5u, self->rec3.sleep_v[0].value);
	EXPECT_EQ(2u << L3L2Q_SIG_ARM_SHIFT | L3L2Q_SIG_CMP_GE,
		  self->rec3.sleep_v[0].arm);
	EXPECT_EQ(self->rec3.sleep_v[0].arm, self->rec3.sleep_entry[0].arm);
	EXPECT_EQ(10u, self->rec3.sleep_entry[0].target);
	EXPECT_EQ(5u, self->rec3.sleep_entry[0].seen);
	/* Returned disarmed. */
	EXPECT_EQ(0u, ts_waiter(&self->r, L3L2Q_ROLE_L3, 1)->arm &
		  L3L2Q_SIG_CMP_MASK);
	EXPECT_EQ(L3L2Q_DEADLINE_NONE, self->rec3.sleep_deadline);
}

/* A peer that does not say it kicks: every sleep is at most a poll period. */
TEST_F(sig, bounded_sleeps_when_the_peer_does_not_kick)
{
	__u64 seen;

	self->l3.env.spin_attempts = 1;
	self->l3.env.poll_ns = 2 * TS_MS;
	self->rec3.step = 0;
	atomic_store(ts_ctrl32(&self->r, L3L2Q_CTRL_L2_FEATURES), 0);
	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					     self->rec3.now + 9 * TS_MS, &seen));
	EXPECT_EQ(5u, self->rec3.sleeps);	/* 2+2+2+2+1 ms */
	EXPECT_EQ(TS_MS, self->rec3.sleep_deadline - self->rec3.sleep_now);
	EXPECT_EQ((__u32)L3L2Q_ERR_TIMEOUT, l3l2q_sig_last_error(&self->l3)->kind);
	EXPECT_EQ(0u, seen);
	/* With the word set, one sleep to the deadline. */
	atomic_store(ts_ctrl32(&self->r, L3L2Q_CTRL_L2_FEATURES), L3L2Q_FEAT_KICKS);
	self->rec3.sleeps = 0;
	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					     self->rec3.now + 9 * TS_MS, NULL));
	EXPECT_EQ(1u, self->rec3.sleeps);
	EXPECT_EQ(9 * TS_MS, self->rec3.sleep_deadline - self->rec3.sleep_now);
}

TEST_F(sig, sleep_errors)
{
	self->l3.env.spin_attempts = 1;
	self->rec3.sleep_ret = -EIO;
	EXPECT_EQ(-EIO, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
				       L3L2Q_DEADLINE_NONE, NULL));
	EXPECT_EQ((__u32)L3L2Q_ERR_ENDPOINT_ERROR,
		  l3l2q_sig_last_error(&self->l3)->kind);
	EXPECT_EQ(0u, ts_waiter(&self->r, L3L2Q_ROLE_L3, 0)->arm &
		  L3L2Q_SIG_CMP_MASK);
	/* A backend that cannot sleep: spin to the deadline instead. */
	self->rec3.sleeps = 0;
	self->rec3.sleep_ret = -ENOTTY;
	self->rec3.instant = 1;
	self->rec3.step = 10 * TS_MS;
	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					     self->rec3.now + TS_SEC, NULL));
	EXPECT_EQ(1u, self->rec3.sleeps);
	/* -EINTR: re-check, a new arming, and sleep again. */
	self->rec3.sleeps = 0;
	self->rec3.sleep_ret = -EINTR;
	self->rec3.step = 100 * TS_MS;
	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					     self->rec3.now + TS_SEC, NULL));
	EXPECT_LE(2u, self->rec3.sleeps);
	/* Armings 1 and 2 were the two waits above. */
	EXPECT_EQ((2u + self->rec3.sleeps) << L3L2Q_SIG_ARM_SHIFT |
		  L3L2Q_SIG_CMP_GE, self->rec3.sleep_v[0].arm);
}

/* Deadlines: 0 checks once; without a clock a finite deadline checks once. */
TEST_F(sig, deadlines)
{
	struct l3l2q_sig s;
	__u64 seen = 9;

	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					     0, &seen));
	EXPECT_EQ(0u, seen);
	EXPECT_EQ(0u, self->rec3.sleeps);
	EXPECT_STREQ("timed out; the peer is alive",
		     l3l2q_sig_last_error(&self->l3)->message);
	EXPECT_EQ((__u32)L3L2Q_EOP_SIG_WAIT, l3l2q_sig_last_error(&self->l3)->op);
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, NULL));
	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&s, 0, L3L2Q_SIG_CMP_GE, 1,
					     12345, NULL));
	/* Ready at once: 0 whatever the deadline. */
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 1));
	EXPECT_EQ(0, l3l2q_sig_wait(&s, 0, L3L2Q_SIG_CMP_GE, 1, 0, NULL));
}

/* ---- many slots ---------------------------------------------------------- */

TEST_F(sig, try_wait_any_and_all)
{
	struct l3l2q_sig_waitv v[3] = {
		wv(0, L3L2Q_SIG_CMP_GE, 2), wv(2, L3L2Q_SIG_CMP_EQ, 7),
		wv(3, L3L2Q_SIG_CMP_NE, 0),
	};

	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 1));
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait_any(&self->l3, v, 3));
	EXPECT_EQ(1u, v[0].value);
	EXPECT_EQ(0u, v[0].ready + v[1].ready + v[2].ready);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 3, 4));
	EXPECT_EQ(2, l3l2q_sig_try_wait_any(&self->l3, v, 3));
	EXPECT_EQ(4u, v[2].value);
	EXPECT_EQ(1u, v[2].ready);
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 2, 7));
	EXPECT_EQ(1, l3l2q_sig_try_wait_any(&self->l3, v, 3));
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait_all(&self->l3, v, 3));
	ASSERT_EQ(0, l3l2q_sig_notify(&self->l2, 0, 2));
	EXPECT_EQ(0, l3l2q_sig_try_wait_all(&self->l3, v, 3));
	EXPECT_EQ(3u, v[0].ready + v[1].ready + v[2].ready);
	EXPECT_EQ(0, l3l2q_sig_try_wait_any(&self->l3, v, 3));
}

static void one_per_sleep(struct ts_rec *rec)
{
	struct l3l2q_sig *l2 = rec->arg;

	l3l2q_sig_notify(l2, rec->sleeps - 1, 1);	/* slots 0, 1, 2 */
}

/* wait_all sleeps until all are ready, arming only those that are not. */
TEST_F(sig, wait_all_arms_what_is_not_ready)
{
	struct l3l2q_sig_waitv v[3] = {
		wv(0, L3L2Q_SIG_CMP_GE, 1), wv(1, L3L2Q_SIG_CMP_GE, 1),
		wv(2, L3L2Q_SIG_CMP_GE, 1),
	};

	self->rec3.on_sleep = one_per_sleep;
	self->rec3.arg = &self->l2;
	self->rec3.sleep_ret = 0;
	self->l3.env.spin_attempts = 1;
	ASSERT_EQ(0, l3l2q_sig_wait_all(&self->l3, v, 3, L3L2Q_DEADLINE_NONE));
	EXPECT_EQ(3u, self->rec3.sleeps);
	EXPECT_EQ(3u, self->rec2.kicks);
	/* The last sleep: slots 0 and 1 ready and not armed, slot 2 armed. */
	EXPECT_EQ(0u, self->rec3.sleep_v[0].arm);
	EXPECT_EQ(0u, self->rec3.sleep_v[1].arm);
	EXPECT_NE(0u, self->rec3.sleep_v[2].arm);
	EXPECT_EQ(0u, self->rec3.sleep_entry[0].arm & L3L2Q_SIG_CMP_MASK);
	EXPECT_EQ(L3L2Q_SIG_CMP_GE, self->rec3.sleep_entry[2].arm &
		  L3L2Q_SIG_CMP_MASK);
	EXPECT_EQ(3u, v[0].ready + v[1].ready + v[2].ready);
	EXPECT_EQ(0u, v[2].arm);
}

static void third_in_sleep(struct ts_rec *rec)
{
	struct l3l2q_sig *l2 = rec->arg;

	l3l2q_sig_notify(l2, 3, 8);
}

TEST_F(sig, wait_any_returns_the_ready_index)
{
	struct l3l2q_sig_waitv v[3] = {
		wv(0, L3L2Q_SIG_CMP_GE, 1), wv(1, L3L2Q_SIG_CMP_GE, 1),
		wv(3, L3L2Q_SIG_CMP_EQ, 8),
	};

	self->rec3.on_sleep = third_in_sleep;
	self->rec3.arg = &self->l2;
	self->rec3.sleep_ret = 0;
	self->l3.env.spin_attempts = 1;
	EXPECT_EQ(2, l3l2q_sig_wait_any(&self->l3, v, 3, L3L2Q_DEADLINE_NONE));
	EXPECT_EQ(8u, v[2].value);
	EXPECT_EQ(1u, self->rec3.sleeps);
	EXPECT_EQ(3u, self->rec3.sleep_n);
	EXPECT_NE(0u, self->rec3.sleep_v[0].arm);	/* all were armed */
	EXPECT_NE(0u, self->rec3.sleep_v[1].arm);
	EXPECT_NE(0u, self->rec3.sleep_v[2].arm);
	EXPECT_EQ(1u, self->rec2.kicks);
	EXPECT_EQ(3u, self->rec2.kick_id[0]);
	EXPECT_EQ(0u, ts_waiter(&self->r, L3L2Q_ROLE_L3, 0)->arm &
		  L3L2Q_SIG_CMP_MASK);
}

/* Bad waitv: nothing is armed, the message names the entry. */
TEST_F(sig, waitv_rejects)
{
	struct l3l2q_sig_waitv v[L3L2Q_SIG_WAITV_MAX + 1];
	struct ts_region r;
	struct l3l2q_sig s;
	__u32 i;

	for (i = 0; i <= L3L2Q_SIG_WAITV_MAX; i++)
		v[i] = wv(i % 4, L3L2Q_SIG_CMP_GE, 1);
	EXPECT_EQ(-EINVAL, l3l2q_sig_try_wait_any(&self->l3, v, 0));
	EXPECT_EQ(-EINVAL, l3l2q_sig_try_wait_any(&self->l3, NULL, 1));
	EXPECT_EQ(-EINVAL, l3l2q_sig_wait_any(&self->l3, v,
					      L3L2Q_SIG_WAITV_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, l3l2q_sig_wait_all(&self->l3, v, 5, 0));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&self->l3)->message,
			       "waitv[4].id repeats waitv[0].id"));
	EXPECT_EQ(-EINVAL, l3l2q_sig_arm(&self->l3, v, 5));
	v[1].cmp = 0;
	EXPECT_EQ(-EINVAL, l3l2q_sig_arm(&self->l3, v, 2));
	EXPECT_NE(NULL, strstr(l3l2q_sig_last_error(&self->l3)->message,
			       "waitv[1].cmp"));
	v[1] = wv(4, L3L2Q_SIG_CMP_GE, 1);
	EXPECT_EQ(-EINVAL, l3l2q_sig_arm(&self->l3, v, 2));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0u, ts_waiter(&self->r, L3L2Q_ROLE_L3, i)->arm);
	/* 64 distinct slots are fine. */
	ASSERT_EQ(0, ts_region_make(&r, 64, 64, 0, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &r.mem, &r.l, NULL));
	for (i = 0; i < L3L2Q_SIG_WAITV_MAX; i++)
		v[i] = wv(i, L3L2Q_SIG_CMP_GE, 1);
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait_any(&s, v, 64));
	EXPECT_EQ(0, l3l2q_sig_arm(&s, v, 64));
	EXPECT_NE(0u, ts_waiter(&r, L3L2Q_ROLE_L3, 63)->arm);
	l3l2q_sig_disarm(&s, v, 64);
	EXPECT_EQ(0u, ts_waiter(&r, L3L2Q_ROLE_L3, 63)->arm & L3L2Q_SIG_CMP_MASK);
	ts_region_free(&r);
}

/* ---- death ---------------------------------------------------------------- */

TEST_F(sig, peer_death_ends_every_wait)
{
	struct l3l2q_sig_waitv v[2] = { wv(0, L3L2Q_SIG_CMP_GE, 1),
					wv(1, L3L2Q_SIG_CMP_GE, 1) };
	__u64 seen = 9;

	ts_mark_dead(&self->r, L3L2Q_ROLE_L2);
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					      L3L2Q_DEADLINE_NONE, &seen));
	EXPECT_EQ(0u, seen);
	EXPECT_EQ((__u32)L3L2Q_ERR_REMOTE_ABORTED,
		  l3l2q_sig_last_error(&self->l3)->kind);
	EXPECT_STREQ("the peer role is dead", l3l2q_sig_last_error(&self->l3)->message);
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_try_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1, NULL));
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait_any(&self->l3, v, 2, self->rec3.now + TS_SEC));
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait_all(&self->l3, v, 2, L3L2Q_DEADLINE_NONE));
	/* What it published before dying is still seen. */
	atomic_store(ts_slot(&self->r, 1), 3);
	EXPECT_EQ(0, l3l2q_sig_wait(&self->l3, 1, L3L2Q_SIG_CMP_GE, 3,
				    L3L2Q_DEADLINE_NONE, &seen));
	EXPECT_EQ(3u, seen);
	EXPECT_EQ(1, l3l2q_sig_wait_any(&self->l3, v, 2, L3L2Q_DEADLINE_NONE));
	EXPECT_EQ(0u, self->rec3.sleeps);
	/* The L2's view of a living L3 is unchanged. */
	EXPECT_EQ(-EAGAIN, l3l2q_sig_try_wait(&self->l2, 2, L3L2Q_SIG_CMP_GE, 1, NULL));
}

TEST_F(sig, abort_word_ends_the_peers_waits)
{
	l3l2q_sig_abort(&self->l2);
	EXPECT_EQ(1u, atomic_load(ts_ctrl32(&self->r, L3L2Q_SIG_CTRL_L2_ABORT)));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_sig_notify(&self->l2, 0, 1));
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(&self->l3, 0, L3L2Q_SIG_CMP_GE, 1,
					      L3L2Q_DEADLINE_NONE, NULL));
	EXPECT_STREQ("the peer raised its abort word",
		     l3l2q_sig_last_error(&self->l3)->message);
	/* The aborting side's own waits are not ended by its own word. */
	EXPECT_EQ(0u, atomic_load(ts_ctrl32(&self->r, L3L2Q_SIG_CTRL_L3_ABORT)));
}

static void die_in_sleep(struct ts_rec *rec)
{
	ts_mark_dead(rec->r, L3L2Q_ROLE_L2);
}

/* Death while asleep: the sleep returns, the wait ends with -ECONNRESET. */
TEST_F(sig, death_during_a_sleep)
{
	struct l3l2q_sig_env e = ts_rec_env(&self->rec3);

	self->rec3.on_sleep = die_in_sleep;
	self->rec3.sleep_ret = 0;
	self->l3.env.spin_attempts = 1;
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(&self->l3, 2, L3L2Q_SIG_CMP_GE, 1,
					      L3L2Q_DEADLINE_NONE, NULL));
	EXPECT_EQ(1u, self->rec3.sleeps);
	/* A backend that saw the death first (e.g. a pidfd) says so itself. */
	ts_region_free(&self->r);
	ASSERT_EQ(0, ts_region_make(&self->r, 256, 4, 0, 0));
	ASSERT_EQ(0, l3l2q_sig_init(&self->l3, L3L2Q_ROLE_L3, &self->r.mem,
				    &self->r.l, &e));
	self->rec3.on_sleep = NULL;
	self->rec3.sleeps = 0;
	self->rec3.sleep_ret = -ECONNRESET;
	self->l3.env.spin_attempts = 1;
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(&self->l3, 2, L3L2Q_SIG_CMP_GE, 1,
					      L3L2Q_DEADLINE_NONE, NULL));
	EXPECT_EQ(1u, self->rec3.sleeps);
	EXPECT_STREQ("the peer is gone", l3l2q_sig_last_error(&self->l3)->message);
}

/* An upstream peer (no control block): spin only, no arming, no death. */
TEST(upstream_peer_without_control_block)
{
	struct ts_region r;
	struct l3l2q_sig s, up;
	struct ts_rec rec = { .step = TS_MS, .sleep_ret = -ETIMEDOUT };
	struct l3l2q_sig_env e = ts_rec_env(&rec);
	struct l3l2q_sig_mem m;
	struct l3l2q_sig_waitv v = wv(0, L3L2Q_SIG_CMP_GE, 1);

	ASSERT_EQ(0, ts_region_make(&r, 64, 2, 0, 0));
	m = r.mem;
	m.ctrl = NULL;
	ASSERT_EQ(0, l3l2q_sig_init(&s, L3L2Q_ROLE_L3, &m, &r.l, &e));
	ASSERT_EQ(0, l3l2q_sig_init(&up, L3L2Q_ROLE_L2, &m, &r.l, &e));
	s.env.spin_attempts = 1;
	ts_mark_dead(&r, L3L2Q_ROLE_L2);	/* invisible without ctrl */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_sig_wait(&s, 0, L3L2Q_SIG_CMP_GE, 1,
					     rec.now + 100 * TS_MS, NULL));
	EXPECT_EQ(0u, rec.sleeps);
	EXPECT_EQ(-EINVAL, l3l2q_sig_arm(&s, &v, 1));
	ASSERT_EQ(0, l3l2q_sig_notify(&up, 0, 1));
	EXPECT_EQ(0u, rec.kicks);
	EXPECT_EQ(0, l3l2q_sig_wait(&s, 0, L3L2Q_SIG_CMP_GE, 1, 0, NULL));
	ts_region_free(&r);
}

TEST(error_op_names)
{
	EXPECT_STREQ("signals.init", l3l2q_error_op_str(L3L2Q_EOP_SIG_INIT));
	EXPECT_STREQ("signals.read", l3l2q_error_op_str(L3L2Q_EOP_SIG_READ));
	EXPECT_STREQ("signals.write", l3l2q_error_op_str(L3L2Q_EOP_SIG_WRITE));
	EXPECT_STREQ("signals.notify", l3l2q_error_op_str(L3L2Q_EOP_SIG_NOTIFY));
	EXPECT_STREQ("signals.wait", l3l2q_error_op_str(L3L2Q_EOP_SIG_WAIT));
	EXPECT_STREQ("signals.arm", l3l2q_error_op_str(L3L2Q_EOP_SIG_ARM));
	EXPECT_STREQ("unknown", l3l2q_error_op_str(38));
}

TEST_HARNESS_MAIN
