// SPDX-License-Identifier: MIT
/*
 * pitfalls_test.c - one test per upstream pitfall (reference §13) that
 * applies to the L3 endpoint and the user-space API, and is not already
 * covered by the upstream-named tests in l3_test.c.  Named pN_<what>.
 * Also the user-API argument errors (api_*): every bad field of
 * l3l2q_create()/l3l2q_attach() is -EINVAL with a message naming it.
 *
 * Most tests use an in-process region (th_region_alloc) and play the L2
 * side directly; the endpoint's clock is fake (1 ms per now_ns() call) and
 * can raise the peer's abort flag or death from inside a blocking wait.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libl3l2q.h"
#include "kselftest_harness.h"

#define MS	1000000ull


/* ---- an in-process queue and its L3 endpoint ---- */

struct tq {
	struct th_region r;
	struct l3l2q_l3 q;
	struct fake_clock clk;
	struct l3l2q_env env;
};

static int tq_open(struct tq *t, __u64 depth, __u64 in_arena, __u64 out_arena,
		   __u64 start_pos)
{
	memset(t, 0, sizeof(*t));
	t->clk.now = 1000 * MS;
	t->clk.step = MS;
	t->clk.r = &t->r;
	t->env.now_ns = fc_now;
	t->env.relax = fc_relax;
	t->env.ctx = &t->clk;
	if (th_region_alloc(&t->r, depth, in_arena, out_arena, start_pos))
		return -1;
	return l3l2q_l3_init(&t->q, &t->r.mem, &t->r.layout, start_pos, &t->env);
}

static void tq_close(struct tq *t)
{
	l3l2q_l3_close(&t->q);
	th_region_free(&t->r);
}

#define IN_ARENA(t)	((t)->r.layout.input_arena_offset)
#define OUT_ARENA(t)	((t)->r.layout.output_arena_offset)
#define L3_FLAG(t)	th_ctr(&(t)->r, L3L2Q_CTR_L3_ABORT)
#define STATE(t)	((int)l3l2q_ep_state(&(t)->q.ep))
#define ERRKIND(t)	(l3l2q_ep_error(&(t)->q.ep)->kind)


/* ---- P2: caller-mutated output handles ---- */

/*
 * Every field of an acquired handle is compared on release.  For each
 * field: read with the mutated handle is -EINVAL without poison and reads
 * nothing (not even through a redirected data pointer); release with it is
 * OWNERSHIP poison, the worker flag is set and the head does not move.
 */
TEST(p2_mutated_output_handle_field_poisons_on_release)
{
	static const char *const field[] = {
		"seq", "opcode", "offset", "nbytes", "data",
	};
	unsigned int f;

	for (f = 0; f < 5; f++) {
		struct l3l2q_msg msg, bad;
		char decoy[64], buf[64];
		struct tq t;

		ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
		peer_output(&t.r, 1, L3L2Q_OP_DATA, OUT_ARENA(&t),
			    "abcdefghijklmnop", 16);
		ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &msg));
		memset(decoy, 'D', sizeof(decoy));
		bad = msg;
		switch (f) {
		case 0: bad.seq++; break;
		case 1: bad.opcode = L3L2Q_OP_ERROR; break;
		case 2: bad.offset += 16; break;
		case 3: bad.nbytes = 17; break;
		case 4: bad.data = decoy; break;
		}

		memset(buf, 0x5a, sizeof(buf));
		EXPECT_EQ(-EINVAL, l3l2q_l3_read(&t.q, &bad, buf, sizeof(buf))) {
			TH_LOG("read, mutated %s", field[f]);
		}
		EXPECT_EQ(0x5a, (unsigned char)buf[0]) {
			TH_LOG("read through mutated %s copied bytes", field[f]);
		}
		EXPECT_EQ(0, L3_FLAG(&t)) {
			TH_LOG("read, mutated %s", field[f]);
		}
		EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(&t));

		EXPECT_EQ(-EPROTO, l3l2q_l3_release(&t.q, &bad)) {
			TH_LOG("release, mutated %s", field[f]);
		}
		EXPECT_EQ(1, L3_FLAG(&t)) {
			TH_LOG("release, mutated %s", field[f]);
		}
		EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, ERRKIND(&t)) {
			TH_LOG("release, mutated %s", field[f]);
		}
		EXPECT_EQ(0, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD)) {
			TH_LOG("release, mutated %s", field[f]);
		}
		/* The genuine handle cannot be released after the poison. */
		EXPECT_EQ(-EPROTO, l3l2q_l3_release(&t.q, &msg));
		EXPECT_EQ(0, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
		tq_close(&t);
	}
}

/*
 * The cached fields are what the release uses: a handle that is a copy of
 * the active one (not the same object) releases fine, and the payload
 * cursor advances by the cached length, so the next message must be at
 * base + 16.
 */
TEST(p2_release_uses_cached_fields)
{
	struct l3l2q_msg msg, copy;
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	peer_output(&t.r, 1, L3L2Q_OP_DATA, OUT_ARENA(&t), "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &msg));
	memcpy(&copy, &msg, sizeof(copy));
	memset(&msg, 0xee, sizeof(msg));
	EXPECT_EQ(0, l3l2q_l3_release(&t.q, &copy));
	EXPECT_EQ(1, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));

	peer_output(&t.r, 2, L3L2Q_OP_DATA, OUT_ARENA(&t) + 16, "qrst", 4);
	ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &msg));
	EXPECT_EQ(2ull, msg.seq);
	EXPECT_EQ(OUT_ARENA(&t) + 16, msg.offset);
	EXPECT_EQ(0, l3l2q_l3_release(&t.q, &msg));
	EXPECT_EQ(2, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(&t));
	tq_close(&t);
}

/* ---- P4: the clock is read rarely ---- */

TEST(p4_blocking_wait_reads_clock_once_per_1024_spins)
{
	struct l3l2q_msg msg;
	unsigned long bound;
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));

	/* Empty output: 100 fake ms until the deadline. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l3_peek(&t.q, t.clk.now + 100 * MS, &msg));
	bound = (t.clk.relaxes + L3L2Q_SPINS_PER_CLOCK - 1) /
		L3L2Q_SPINS_PER_CLOCK + 3;
	EXPECT_LE(100ul, t.clk.reads);
	EXPECT_GE(bound, t.clk.reads) {
		TH_LOG("peek: %lu clock reads for %lu spins",
		       t.clk.reads, t.clk.relaxes);
	}

	/* Full input ring: the same for a blocking enqueue. */
	ASSERT_EQ(0, enqueue_zero(&t.q, 4));
	t.clk.reads = 0;
	t.clk.relaxes = 0;
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l3_enqueue(&t.q, L3L2Q_OP_DATA, NULL, 0,
					       t.clk.now + 100 * MS));
	bound = (t.clk.relaxes + L3L2Q_SPINS_PER_CLOCK - 1) /
		L3L2Q_SPINS_PER_CLOCK + 3;
	EXPECT_LE(100ul, t.clk.reads);
	EXPECT_GE(bound, t.clk.reads) {
		TH_LOG("enqueue: %lu clock reads for %lu spins",
		       t.clk.reads, t.clk.relaxes);
	}
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(&t));
	tq_close(&t);
}

/* ---- P5: the slot is read once, the copy is what counts ---- */

TEST(p5_peer_overwrites_slot_after_peek_copy_is_used)
{
	struct l3l2q_msg msg, again;
	struct l3l2q_desc *d;
	unsigned char buf[256];
	struct tq t;
	int i;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	peer_output(&t.r, 1, L3L2Q_OP_DATA, OUT_ARENA(&t), "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &msg));

	/* A hostile peer rewrites the validated slot. */
	d = th_slot(&t.r, t.r.layout.output_desc_offset, 1);
	d->opcode = L3L2Q_OP_STOP;
	d->payload_offset = 0;
	d->payload_nbytes = 1ull << 40;

	ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &again));
	EXPECT_EQ(0, memcmp(&msg, &again, sizeof(msg)));
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, again.opcode);
	EXPECT_EQ(16ull, again.nbytes);

	memset(buf, 0x5a, sizeof(buf));
	EXPECT_EQ(0, l3l2q_l3_read(&t.q, &msg, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp("abcdefghijklmnop", buf, 16));
	for (i = 16; i < (int)sizeof(buf); i++)
		if (buf[i] != 0x5a)
			break;
	EXPECT_EQ((int)sizeof(buf), i) {
		TH_LOG("read wrote past the 16 validated bytes");
	}
	EXPECT_EQ(0, l3l2q_l3_release(&t.q, &msg));
	EXPECT_EQ(1, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(&t));

	/* The cursor moved by the validated 16 bytes, not by 2^40. */
	peer_output(&t.r, 2, L3L2Q_OP_DATA, OUT_ARENA(&t) + 16, "qrst", 4);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0, l3l2q_l3_try_dequeue(&t.q, buf, sizeof(buf), &msg));
	EXPECT_EQ(2ull, msg.seq);
	EXPECT_EQ(0, memcmp("qrst", buf, 4));
	EXPECT_EQ(0, L3_FLAG(&t));
	tq_close(&t);
}

/* ---- P6: a short buffer loses nothing ---- */

TEST(p6_short_read_buffer_keeps_message_at_head)
{
	struct l3l2q_msg msg, again;
	char small[8], big[16];
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	peer_output(&t.r, 1, L3L2Q_OP_DATA, OUT_ARENA(&t), "abcdefghijklmnop", 16);
	peer_output(&t.r, 2, L3L2Q_OP_DATA, OUT_ARENA(&t) + 16, "ABCDEFGHIJKLMNOP", 16);

	ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &msg));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_read(&t.q, &msg, small, sizeof(small)));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_read(&t.q, &msg, big, 15));
	EXPECT_EQ(0, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(&t));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(&t));
	ASSERT_EQ(0, l3l2q_l3_try_peek(&t.q, &again));
	EXPECT_EQ(0, memcmp(&msg, &again, sizeof(msg)));
	EXPECT_EQ(0, l3l2q_l3_read(&t.q, &msg, big, sizeof(big)));
	EXPECT_EQ(0, memcmp("abcdefghijklmnop", big, 16));
	EXPECT_EQ(0, l3l2q_l3_release(&t.q, &msg));
	EXPECT_EQ(1, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));

	/* The same through dequeue: too small keeps it, big enough gets it. */
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_try_dequeue(&t.q, small, sizeof(small),
						  &msg));
	EXPECT_EQ(1, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	memset(big, 0, sizeof(big));
	EXPECT_EQ(0, l3l2q_l3_try_dequeue(&t.q, big, sizeof(big), &msg));
	EXPECT_EQ(2ull, msg.seq);
	EXPECT_EQ(0, memcmp("ABCDEFGHIJKLMNOP", big, 16));
	EXPECT_EQ(2, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(&t));
	tq_close(&t);
}

/* ---- P7: seq is checked ---- */

/*
 * The tail says one more message, but the slot holds the seq of the
 * previous lap (stale), of the next lap, or never-written garbage.
 */
TEST(p7_output_slot_with_wrong_seq_poisons)
{
	static const char *const what[] = { "stale", "next lap", "garbage" };
	unsigned int v;

	for (v = 0; v < 3; v++) {
		struct l3l2q_msg msg;
		struct tq t;
		__u64 s;

		ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
		if (v < 2) {
			for (s = 1; s <= 4; s++) {
				th_publish_output(&t.r, s, L3L2Q_OP_DATA, 0, 0);
				ASSERT_EQ(0, l3l2q_l3_try_dequeue(&t.q, NULL, 0,
								  &msg));
			}
		}
		if (v == 1)
			th_slot(&t.r, t.r.layout.output_desc_offset, 5)->seq = 9;
		/* Slot of seq 5 still holds seq 1 (stale) or now 9. */
		th_set_ctr(&t.r, L3L2Q_CTR_OUTPUT_TAIL, v < 2 ? 5 : 1);

		EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek(&t.q, &msg)) {
			TH_LOG("%s seq", what[v]);
		}
		EXPECT_EQ(1, L3_FLAG(&t)) {
			TH_LOG("%s seq", what[v]);
		}
		EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(&t)) {
			TH_LOG("%s seq", what[v]);
		}
		EXPECT_EQ(v < 2 ? 4 : 0, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
		tq_close(&t);
	}
}

/* ---- P9: wrap padding ---- */

/*
 * L3 input producer: 80 bytes at base; 64 more would wrap but the arena is
 * full, so it fails and must not commit the padding; the next 32 bytes then
 * go to base + 80 (with padding kept they could not fit at all).
 */
TEST(p9_failed_wrapping_reservation_commits_no_padding)
{
	unsigned char a[80], b[64], c[32];
	struct l3l2q_res res;
	struct tq t;

	fill_pattern(a, sizeof(a), 1);
	fill_pattern(b, sizeof(b), 2);
	fill_pattern(c, sizeof(c), 3);
	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, a, 80));
	EXPECT_EQ(IN_ARENA(&t), in_slot(&t.r, 1)->payload_offset);

	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, b, 64));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_reserve(&t.q, 64, &res));
	EXPECT_EQ(1, th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL));

	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, c, 32));
	EXPECT_EQ(IN_ARENA(&t) + 80, in_slot(&t.r, 2)->payload_offset);
	EXPECT_EQ(0, memcmp(c, th_payload(&t.r, IN_ARENA(&t) + 80), 32));
	EXPECT_EQ(2, th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL));

	/*
	 * Release both: the payload head is at 112, so 64 bytes now wrap to
	 * the base (padding committed on this successful reservation).
	 */
	th_set_ctr(&t.r, L3L2Q_CTR_INPUT_HEAD, 2);
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, b, 64));
	EXPECT_EQ(IN_ARENA(&t), in_slot(&t.r, 3)->payload_offset);
	EXPECT_EQ(0, L3_FLAG(&t));
	tq_close(&t);
}

/*
 * L3 output consumer against an upstream C++ L2 producer, which keeps the
 * padding of a reservation that failed for space: its next message lands
 * at the arena base although the expected position is base + 80.  The
 * consumer accepts "offset == arena base" as a wrap and keeps counting.
 */
TEST(p9_output_consumer_accepts_wrap_after_peer_kept_padding)
{
	unsigned char a[80], b[32], c[16], buf[80];
	struct l3l2q_msg msg;
	struct tq t;

	fill_pattern(a, sizeof(a), 4);
	fill_pattern(b, sizeof(b), 5);
	fill_pattern(c, sizeof(c), 6);
	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));

	peer_output(&t.r, 1, L3L2Q_OP_DATA, OUT_ARENA(&t), a, 80);
	ASSERT_EQ(0, l3l2q_l3_try_dequeue(&t.q, buf, sizeof(buf), &msg));
	EXPECT_EQ(0, memcmp(a, buf, 80));
	/* Peer: reserve 64 failed (padding 80..128 kept), then 32 at base. */
	peer_output(&t.r, 2, L3L2Q_OP_DATA, OUT_ARENA(&t), b, 32);
	EXPECT_EQ(0, l3l2q_l3_try_dequeue(&t.q, buf, sizeof(buf), &msg));
	EXPECT_EQ(2ull, msg.seq);
	EXPECT_EQ(OUT_ARENA(&t), msg.offset);
	EXPECT_EQ(0, memcmp(b, buf, 32));
	EXPECT_EQ(0, L3_FLAG(&t));
	/* The cursor is now 128 + 32: the next message is at base + 32. */
	peer_output(&t.r, 3, L3L2Q_OP_DATA, OUT_ARENA(&t) + 32, c, 16);
	EXPECT_EQ(0, l3l2q_l3_try_dequeue(&t.q, buf, sizeof(buf), &msg));
	EXPECT_EQ(3ull, msg.seq);
	EXPECT_EQ(0, memcmp(c, buf, 16));
	EXPECT_EQ(3, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(&t));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(&t));
	tq_close(&t);
}

/* ---- P10: only opcodes 1-3 exist, and STOP not on output ---- */

TEST(p10_output_opcode_0_and_4_poison)
{
	static const __u64 opcode[] = { 0, 4, 0xffffffffffffffffull };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct l3l2q_msg msg;
		struct tq t;

		ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
		peer_output(&t.r, 1, opcode[i], OUT_ARENA(&t), "abcd", 4);
		EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek(&t.q, &msg)) {
			TH_LOG("opcode %llu", (unsigned long long)opcode[i]);
		}
		EXPECT_EQ(1, L3_FLAG(&t)) {
			TH_LOG("opcode %llu", (unsigned long long)opcode[i]);
		}
		EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(&t));
		EXPECT_EQ(0, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
		tq_close(&t);
	}
}

/* ---- P11: a poison always reaches the abort flag ---- */

/*
 * Payload bounds failures (the upstream case where a sticky endpoint error
 * kept the flag from being written): each poisons, sets the worker flag,
 * and the first error stays the recorded one.
 */
TEST(p11_poison_sets_own_abort_flag)
{
	unsigned int v;

	for (v = 0; v < 4; v++) {
		const struct l3l2q_error *e;
		struct l3l2q_msg msg, fake;
		__u64 off = 0, n = 0;
		struct tq t;

		ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
		switch (v) {
		case 0:	/* inside the input arena, not the output arena */
			off = IN_ARENA(&t);
			n = 16;
			break;
		case 1:	/* runs past the end of the region */
			off = OUT_ARENA(&t);
			n = 129;
			break;
		case 2:	/* offset + nbytes overflows u64 */
			off = OUT_ARENA(&t);
			n = ~0ull - 8;
			break;
		case 3:	/* the descriptor rings */
			off = t.r.layout.output_desc_offset;
			n = 16;
			break;
		}
		th_publish_output(&t.r, 1, L3L2Q_OP_DATA, off, n);
		EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek(&t.q, &msg)) {
			TH_LOG("case %u", v);
		}
		EXPECT_EQ(1, L3_FLAG(&t)) {
			TH_LOG("case %u", v);
		}
		EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(&t));
		e = l3l2q_ep_error(&t.q.ep);
		EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, e->kind);
		EXPECT_EQ(19ull, e->region_id);
		EXPECT_NE(0, e->message[0]);

		/* A second ownership error does not replace the first. */
		memset(&fake, 0, sizeof(fake));
		fake.seq = 1;
		EXPECT_EQ(-EPROTO, l3l2q_l3_release(&t.q, &fake));
		EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR,
			  l3l2q_ep_error(&t.q.ep)->kind);
		EXPECT_EQ(1, L3_FLAG(&t));
		tq_close(&t);
	}
}

/* ---- P12: depth >= 2 ---- */

TEST(p12_create_depth_1_is_einval_naming_depth)
{
	struct l3l2q_params p = {
		.depth = 1, .input_arena_bytes = 64, .output_arena_bytes = 64,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_error err;
	struct l3l2q_queue *q = NULL;

	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EINVAL, l3l2q_create(&p, &q, &err));
	EXPECT_EQ(NULL, q);
	EXPECT_NE(NULL, strstr(err.message, "depth")) {
		TH_LOG("message: '%s'", err.message);
	}
	p.depth = 2;
	ASSERT_EQ(0, l3l2q_create(&p, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	l3l2q_destroy(q);
}

/* The upstream wire layout still exists for depth 1; our endpoint refuses it. */
TEST(p12_l3_init_refuses_depth_1_wire_layout)
{
	struct l3l2q_layout l;
	struct l3l2q_mem m;
	struct l3l2q_l3 q;
	void *payload, *counters;

	ASSERT_EQ(L3L2Q_LAYOUT_OK, (int)l3l2q_wire_layout(1, 64, 64, &l));
	ASSERT_NE(L3L2Q_LAYOUT_OK, (int)l3l2q_layout(1, 64, 64, &l));
	payload = aligned_alloc(64, l.payload_bytes);
	counters = aligned_alloc(64, L3L2Q_COUNTER_BYTES);
	ASSERT_NE(NULL, payload);
	ASSERT_NE(NULL, counters);
	memset(payload, 0, l.payload_bytes);
	memset(counters, 0, L3L2Q_COUNTER_BYTES);
	memset(&m, 0, sizeof(m));
	m.payload = payload;
	m.counters = counters;
	m.region_id = 19;
	memset(&q, 0, sizeof(q));

	EXPECT_EQ(-EINVAL, l3l2q_l3_init(&q, &m, &l, 0, NULL));
	EXPECT_NE(NULL, strstr(l3l2q_ep_last_error(&q.ep)->message, "depth")) {
		TH_LOG("message: '%s'", l3l2q_ep_last_error(&q.ep)->message);
	}
	/* Nothing was written, the abort flag least of all. */
	EXPECT_EQ(0, ((__s32 *)counters)[L3L2Q_CTR_L3_ABORT / 4]);
	EXPECT_EQ(0, ((__s32 *)counters)[L3L2Q_CTR_INPUT_TAIL / 4]);
	free(payload);
	free(counters);
}

/* ---- P15: one L2 per queue ---- */

TEST(p15_second_attach_is_ebusy)
{
	struct l3l2q_params p = {
		.depth = 4, .input_arena_bytes = 128, .output_arena_bytes = 128,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_attach_params ap = { .max_inflight = 1 };
	struct l3l2q_queue *q = NULL, *l2 = NULL, *l2b = NULL;
	struct l3l2q_error err;
	int fd;

	memset(&err, 0, sizeof(err));
	ASSERT_EQ(0, l3l2q_create(&p, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	fd = l3l2q_peer_fd(q);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, l3l2q_attach(fd, &ap, &l2, &err)) {
		TH_LOG("attach: %s", err.message);
	}
	EXPECT_NE(NULL, l3l2q_queue_l2(l2));
	EXPECT_EQ(NULL, l3l2q_queue_l3(l2));

	EXPECT_EQ(-EBUSY, l3l2q_attach(fd, &ap, &l2b, &err));
	EXPECT_EQ(NULL, l2b);
	EXPECT_EQ(-EBUSY, l3l2q_attach(fd, &ap, &l2b, &err));
	EXPECT_EQ(NULL, l2b);

	/* The attached L2 still works: L3 -> L2 round trip. */
	if (l3l2q_queue_l2(l2)) {
		struct l3l2q_msg msg;

		EXPECT_EQ(0, l3l2q_l3_try_enqueue(l3l2q_queue_l3(q),
						  L3L2Q_OP_DATA, "hi", 2));
		EXPECT_EQ(0, l3l2q_l2_try_peek(l3l2q_queue_l2(l2), &msg));
		EXPECT_EQ(2ull, msg.nbytes);
		EXPECT_EQ(0, l3l2q_l2_release(l3l2q_queue_l2(l2), &msg));
	}

	/* A queue is bound to one L2 run: not even after that L2 is gone. */
	l3l2q_destroy(l2);
	EXPECT_EQ(-EBUSY, l3l2q_attach(fd, &ap, &l2b, &err));
	EXPECT_EQ(NULL, l2b);
	if (l2b)
		l3l2q_destroy(l2b);
	close(fd);
	l3l2q_destroy(q);
}

/* ---- P16: a peer abort ends a long wait early ---- */

TEST(p16_blocking_peek_sees_peer_abort_before_far_deadline)
{
	struct l3l2q_msg msg;
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	t.clk.event = FC_PEER_ABORT;
	t.clk.event_at_read = 3;
	t.clk.runaway_at_read = 2000;

	/* 1000 s: a million clock reads' worth. */
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_peek(&t.q, t.clk.now + 1000000 * MS,
					     &msg));
	ASSERT_TRUE(t.clk.fired);
	EXPECT_GE(t.clk.reads_at_event + 3, t.clk.reads) {
		TH_LOG("%lu clock reads after the abort (of %lu)",
		       t.clk.reads - t.clk.reads_at_event, t.clk.reads);
	}
	EXPECT_GE(t.clk.relaxes_at_event + 3 * L3L2Q_SPINS_PER_CLOCK,
		  t.clk.relaxes);
	EXPECT_EQ(0, L3_FLAG(&t));
	EXPECT_EQ(L3L2Q_STATE_POISONED_REMOTE, STATE(&t));
	EXPECT_EQ((__u32)L3L2Q_ERR_REMOTE_ABORTED, ERRKIND(&t));
	tq_close(&t);
}

/* The same with no deadline at all, and for a blocking enqueue. */
TEST(p16_peer_abort_ends_wait_without_deadline)
{
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	ASSERT_EQ(0, enqueue_zero(&t.q, 4));
	t.clk.event = FC_PEER_ABORT;
	t.clk.event_at_relax = 5000;

	EXPECT_EQ(-ECONNRESET, l3l2q_l3_enqueue(&t.q, L3L2Q_OP_DATA, NULL, 0,
						L3L2Q_DEADLINE_NONE));
	ASSERT_TRUE(t.clk.fired);
	EXPECT_GE(t.clk.relaxes_at_event + 3 * L3L2Q_SPINS_PER_CLOCK,
		  t.clk.relaxes);
	EXPECT_EQ(0, L3_FLAG(&t));
	EXPECT_EQ(4, th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(L3L2Q_STATE_POISONED_REMOTE, STATE(&t));
	tq_close(&t);
}

/* Peer death (its role word DEAD in the control block) ends a wait too. */
TEST(p16_peer_death_ends_blocking_peek)
{
	struct l3l2q_msg msg;
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	t.clk.event = FC_PEER_DEAD;
	t.clk.event_at_relax = 5000;
	t.clk.runaway_at_read = 2000;

	EXPECT_EQ(-ECONNRESET, l3l2q_l3_peek(&t.q, t.clk.now + 1000000 * MS,
					     &msg));
	ASSERT_TRUE(t.clk.fired);
	EXPECT_GE(t.clk.relaxes_at_event + 3 * L3L2Q_SPINS_PER_CLOCK,
		  t.clk.relaxes);
	EXPECT_GE(t.clk.reads_at_event + 3, t.clk.reads);
	EXPECT_EQ(0, L3_FLAG(&t));
	EXPECT_EQ(L3L2Q_STATE_POISONED_REMOTE, STATE(&t));
	tq_close(&t);
}

/* ---- P17: one outstanding input reservation ---- */

TEST(p17_second_input_reserve_before_publish_poisons_ownership)
{
	struct l3l2q_res a, b;
	struct tq t;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&t.q, 16, &a));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_reserve(&t.q, 16, &b));
	EXPECT_EQ(1, L3_FLAG(&t));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, ERRKIND(&t));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(&t));
	/* The first reservation can no longer be published either. */
	EXPECT_EQ(-EPROTO, l3l2q_l3_publish(&t.q, &a, L3L2Q_OP_DATA));
	EXPECT_EQ(0, th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL));
	tq_close(&t);
}

/* Stale (published twice) or mutated reservations poison OWNERSHIP. */
TEST(p17_stale_or_mutated_reservation_poisons_ownership)
{
	static const char *const what[] = {
		"published twice", "seq", "offset", "nbytes",
	};
	unsigned int v;

	for (v = 0; v < 4; v++) {
		struct l3l2q_res res, bad;
		struct tq t;

		ASSERT_EQ(0, tq_open(&t, 4, 128, 128, 0));
		ASSERT_EQ(0, l3l2q_l3_try_reserve(&t.q, 16, &res));
		memset(res.data, 'x', 16);
		bad = res;
		if (v == 0) {
			ASSERT_EQ(0, l3l2q_l3_publish(&t.q, &res, L3L2Q_OP_DATA));
		} else if (v == 1) {
			bad.seq++;
		} else if (v == 2) {
			bad.offset += 16;
			bad.data = (char *)bad.data + 16;
		} else {
			bad.nbytes = 8;
		}
		EXPECT_EQ(-EPROTO, l3l2q_l3_publish(&t.q, &bad, L3L2Q_OP_DATA)) {
			TH_LOG("%s", what[v]);
		}
		EXPECT_EQ(1, L3_FLAG(&t)) {
			TH_LOG("%s", what[v]);
		}
		EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, ERRKIND(&t)) {
			TH_LOG("%s", what[v]);
		}
		EXPECT_EQ(v == 0 ? 1 : 0, th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL)) {
			TH_LOG("%s", what[v]);
		}
		tq_close(&t);
	}
}

/* ---- P21: counters are two's-complement int32 on the wire ---- */

static void p21_run(struct __test_metadata *_metadata, __u64 start)
{
	unsigned char want[16], got[16];
	struct l3l2q_msg msg;
	struct tq t;
	__u64 k, pos = 0;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, start));
	EXPECT_EQ(l3l2q_low32(start), th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL));

	/* Input: fill the ring across the boundary, release, go on. */
	for (k = 0; k < 12; k++) {
		struct l3l2q_desc *d;

		if (k && k % 4 == 0) {
			EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA,
								want, 16));
			th_set_ctr(&t.r, L3L2Q_CTR_INPUT_HEAD,
				   l3l2q_low32(start + k));
		}
		fill_pattern(want, sizeof(want), (unsigned int)k);
		ASSERT_EQ(0, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, want, 16)) {
			TH_LOG("start %#llx, input %llu",
			       (unsigned long long)start, (unsigned long long)k);
		}
		d = in_slot(&t.r, start + k + 1);
		EXPECT_EQ(start + k + 1, d->seq);
		EXPECT_EQ(16ull, d->payload_nbytes);
		EXPECT_LE(IN_ARENA(&t), d->payload_offset);
		EXPECT_GE(IN_ARENA(&t) + 128 - 16, d->payload_offset);
		if (d->payload_offset >= IN_ARENA(&t) &&
		    d->payload_offset <= IN_ARENA(&t) + 112) {
			EXPECT_EQ(0, memcmp(want, th_payload(&t.r, d->payload_offset),
					    16));
		}
		EXPECT_EQ(l3l2q_low32(start + k + 1),
			  th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL)) {
			TH_LOG("start %#llx, input %llu",
			       (unsigned long long)start, (unsigned long long)k);
		}
	}

	/* Output: the peer publishes and L3 dequeues across the boundary. */
	for (k = 0; k < 12; k++) {
		fill_pattern(want, sizeof(want), 100u + (unsigned int)k);
		peer_output(&t.r, start + k + 1, L3L2Q_OP_DATA,
			    OUT_ARENA(&t) + pos, want, 16);
		pos = (pos + 16) % 128;
		memset(got, 0, sizeof(got));
		ASSERT_EQ(0, l3l2q_l3_try_dequeue(&t.q, got, sizeof(got), &msg)) {
			TH_LOG("start %#llx, output %llu",
			       (unsigned long long)start, (unsigned long long)k);
		}
		EXPECT_EQ(start + k + 1, msg.seq);
		EXPECT_EQ(0, memcmp(want, got, 16));
		EXPECT_EQ(l3l2q_low32(start + k + 1),
			  th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	}
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek(&t.q, &msg));
	EXPECT_EQ(0, L3_FLAG(&t));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(&t));
	tq_close(&t);
}

TEST(p21_counters_cross_2_31_as_twos_complement)
{
	const __u64 start = (1ull << 31) - 2;

	p21_run(_metadata, start);
	/* Spot check: two messages after the start the tail is INT32_MIN. */
	EXPECT_EQ(INT32_MIN, l3l2q_low32(start + 2));
}

TEST(p21_counters_cross_2_32_as_twos_complement)
{
	p21_run(_metadata, (1ull << 32) - 2);
}

/* Both boundaries with a full ring: delta == depth across the wrap. */
TEST(p21_full_ring_release_across_2_32)
{
	const __u64 start = (1ull << 32) - 2;
	struct l3l2q_msg msg;
	struct tq t;
	__u64 k;

	ASSERT_EQ(0, tq_open(&t, 4, 128, 128, start));
	/* Peer fills the output ring in one go: tail jumps by depth. */
	for (k = 1; k <= 4; k++) {
		struct l3l2q_desc *d = th_slot(&t.r, t.r.layout.output_desc_offset,
					       start + k);

		d->opcode = L3L2Q_OP_DATA;
		d->payload_offset = 0;
		d->payload_nbytes = 0;
		d->seq = start + k;
	}
	th_set_ctr(&t.r, L3L2Q_CTR_OUTPUT_TAIL, l3l2q_low32(start + 4));
	for (k = 1; k <= 4; k++) {
		ASSERT_EQ(0, l3l2q_l3_try_dequeue(&t.q, NULL, 0, &msg));
		EXPECT_EQ(start + k, msg.seq);
	}
	EXPECT_EQ(l3l2q_low32(start + 4), th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(2, th_ctr(&t.r, L3L2Q_CTR_OUTPUT_HEAD));

	/* L3 fills the input ring, the peer releases all four at once. */
	ASSERT_EQ(0, enqueue_zero(&t.q, 4));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, NULL, 0));
	th_set_ctr(&t.r, L3L2Q_CTR_INPUT_HEAD, l3l2q_low32(start + 4));
	EXPECT_EQ(0, l3l2q_l3_try_enqueue(&t.q, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(start + 5, in_slot(&t.r, start + 5)->seq);
	EXPECT_EQ(3, th_ctr(&t.r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(&t));
	tq_close(&t);
}

/* ---- user API argument errors ---- */

static const struct l3l2q_params good_params = {
	.depth = 4, .input_arena_bytes = 128, .output_arena_bytes = 128,
	.backend = L3L2Q_BACKEND_MEMFD,
};

/* Expect -EINVAL naming @field, no queue, no fd left behind. */
static void expect_create_einval(struct __test_metadata *_metadata,
				 const struct l3l2q_params *p,
				 const char *field, const char *what)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	int fds = count_fds();
	int ret;

	memset(&err, 0, sizeof(err));
	ret = l3l2q_create(p, &q, &err);
	EXPECT_EQ(-EINVAL, ret) {
		TH_LOG("%s", what);
	}
	EXPECT_EQ(NULL, q) {
		TH_LOG("%s", what);
	}
	EXPECT_NE(NULL, strstr(err.message, field)) {
		TH_LOG("%s: message '%s' does not name %s", what,
		       err.message, field);
	}
	EXPECT_EQ((__u32)L3L2Q_ERR_BAD_ARGUMENT, err.kind) {
		TH_LOG("%s", what);
	}
	EXPECT_EQ(fds, count_fds()) {
		TH_LOG("%s leaked an fd", what);
	}
	if (ret == 0)
		l3l2q_destroy(q);
}

TEST(api_create_accepts_good_params)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;

	memset(&err, 0, sizeof(err));
	ASSERT_EQ(0, l3l2q_create(&good_params, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	EXPECT_NE(NULL, q);
	EXPECT_EQ(L3L2Q_BACKEND_MEMFD, (int)l3l2q_queue_backend(q));
	l3l2q_destroy(q);
	l3l2q_destroy(NULL);
}

TEST(api_create_rejects_nonzero_resv)
{
	unsigned int i;

	struct l3l2q_params p = good_params;

	for (i = 0; i < sizeof(p.resv) / sizeof(p.resv[0]); i++) {
		char what[32];

		p = good_params;
		p.resv[i] = 1;
		snprintf(what, sizeof(what), "resv[%u] = 1", i);
		expect_create_einval(_metadata, &p, "resv", what);
		p.resv[i] = ~0ull;
		snprintf(what, sizeof(what), "resv[%u] = ~0", i);
		expect_create_einval(_metadata, &p, "resv", what);
	}
	p = good_params;
	p.resv0 = 1;
	expect_create_einval(_metadata, &p, "resv0", "resv0 = 1");
	p = good_params;
	p.threads = L3L2Q_MP_ALL + 1;
	expect_create_einval(_metadata, &p, "threads", "threads = 4");
}

TEST(api_create_rejects_unknown_flags)
{
	struct l3l2q_params p = good_params;
	unsigned int bit;
	char what[32];

	p.flags = ~0u;
	expect_create_einval(_metadata, &p, "flags", "flags ~0");
	for (bit = 0; bit < 32; bit++) {
		if (L3L2Q_CREATE_ALL & (1u << bit))
			continue;
		p.flags = 1u << bit;
		snprintf(what, sizeof(what), "flags bit %u", bit);
		expect_create_einval(_metadata, &p, "flags", what);
	}
}

/*
 * The loopback peer is a kernel thread of /dev/l3l2q: a memfd queue has
 * none, so the memfd backing refuses the flag by name rather than create
 * a queue nobody answers.  The transform alone is meaningless anywhere.
 */
TEST(api_memfd_refuses_loopback)
{
	static const __u32 flags[] = {
		L3L2Q_CREATE_LOOPBACK,
		L3L2Q_CREATE_LOOPBACK | L3L2Q_CREATE_LOOPBACK_XOR,
	};
	struct l3l2q_params p = good_params;
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	int fds = count_fds();
	unsigned int i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		p.flags = flags[i];
		memset(&err, 0, sizeof(err));
		EXPECT_EQ(-EOPNOTSUPP, l3l2q_create(&p, &q, &err));
		EXPECT_EQ(NULL, q);
		EXPECT_NE(NULL, strstr(err.message, "LOOPBACK")) {
			TH_LOG("message '%s'", err.message);
		}
		EXPECT_EQ(fds, count_fds());
	}
	p.flags = L3L2Q_CREATE_LOOPBACK_XOR;
	expect_create_einval(_metadata, &p, "flags", "XOR without LOOPBACK");
}

TEST(api_create_rejects_bad_arenas)
{
	static const __u64 bad[] = { 0, 1, 63, 65, 127, 0xffffffffffffffc1ull };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct l3l2q_params p = good_params;
		char what[64];

		p.input_arena_bytes = bad[i];
		snprintf(what, sizeof(what), "input_arena_bytes %llu",
			 (unsigned long long)bad[i]);
		expect_create_einval(_metadata, &p, "input_arena", what);

		p = good_params;
		p.output_arena_bytes = bad[i];
		snprintf(what, sizeof(what), "output_arena_bytes %llu",
			 (unsigned long long)bad[i]);
		expect_create_einval(_metadata, &p, "output_arena", what);
	}
}

TEST(api_create_rejects_bad_depth)
{
	static const __u64 bad[] = { 0, 1, 3, 6, (1ull << 30) + 1, 1ull << 31,
				     ~0ull };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct l3l2q_params p = good_params;
		char what[64];

		p.depth = bad[i];
		snprintf(what, sizeof(what), "depth %llu",
			 (unsigned long long)bad[i]);
		expect_create_einval(_metadata, &p, "depth", what);
	}
}

TEST(api_create_rejects_unknown_backend)
{
	struct l3l2q_params p = good_params;

	p.backend = 3;
	expect_create_einval(_metadata, &p, "backend", "backend 3");
	p.backend = ~0u;
	expect_create_einval(_metadata, &p, "backend", "backend ~0");
}

TEST(api_create_rejects_overflowing_layout)
{
	struct l3l2q_params p = good_params;
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	int fds = count_fds();

	/* Each arena is a valid multiple of 64; their sum overflows u64. */
	p.depth = 2;
	p.input_arena_bytes = 0xffffffffffffffc0ull;
	p.output_arena_bytes = 64;
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EINVAL, l3l2q_create(&p, &q, &err));
	EXPECT_EQ(NULL, q);
	EXPECT_NE(0, err.message[0]);
	EXPECT_EQ(fds, count_fds());
}

TEST(api_create_rejects_null_arguments)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;

	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EINVAL, l3l2q_create(NULL, &q, &err));
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(-EINVAL, l3l2q_create(&good_params, NULL, &err));
	/* err is optional. */
	EXPECT_EQ(-EINVAL, l3l2q_create(NULL, &q, NULL));
}

/*
 * Bad attach parameters are refused before the L2 role is taken: a good
 * attach afterwards still succeeds.
 */
TEST(api_attach_rejects_bad_params_without_binding)
{
	struct l3l2q_queue *q = NULL, *l2 = NULL;
	struct l3l2q_attach_params ap;
	struct l3l2q_error err;
	struct l3l2q_msg msg;
	unsigned int i;
	int fd;

	memset(&err, 0, sizeof(err));
	ASSERT_EQ(0, l3l2q_create(&good_params, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	fd = l3l2q_peer_fd(q);
	ASSERT_LE(0, fd);

	memset(&ap, 0, sizeof(ap));
	ap.resv0 = 1;
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EINVAL, l3l2q_attach(fd, &ap, &l2, &err));
	EXPECT_EQ(NULL, l2);
	EXPECT_NE(NULL, strstr(err.message, "resv")) {
		TH_LOG("message '%s'", err.message);
	}
	for (i = 0; i < 3; i++) {
		memset(&ap, 0, sizeof(ap));
		ap.resv[i] = 1;
		memset(&err, 0, sizeof(err));
		EXPECT_EQ(-EINVAL, l3l2q_attach(fd, &ap, &l2, &err));
		EXPECT_EQ(NULL, l2);
		EXPECT_NE(NULL, strstr(err.message, "resv")) {
			TH_LOG("resv[%u]: message '%s'", i, err.message);
		}
	}
	memset(&ap, 0, sizeof(ap));
	ap.max_inflight = 5;	/* > depth 4 */
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EINVAL, l3l2q_attach(fd, &ap, &l2, &err));
	EXPECT_EQ(NULL, l2);
	EXPECT_NE(NULL, strstr(err.message, "max_inflight")) {
		TH_LOG("message '%s'", err.message);
	}
	EXPECT_EQ(-EINVAL, l3l2q_attach(fd, &ap, NULL, &err));
	EXPECT_GT(0, l3l2q_attach(-1, &ap, &l2, &err));
	EXPECT_EQ(NULL, l2);

	/* None of these took the role, or killed it for the L3 side. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l3_peek(l3l2q_queue_l3(q),
					    l3l2q_deadline_in(MS), &msg));
	ap.max_inflight = 4;
	EXPECT_EQ(0, l3l2q_attach(fd, &ap, &l2, &err)) {
		TH_LOG("attach: %s", err.message);
	}
	EXPECT_NE(NULL, l2);
	l3l2q_destroy(l2);
	close(fd);
	l3l2q_destroy(q);
}

TEST_HARNESS_MAIN
