// SPDX-License-Identifier: MIT
/*
 * l3_test.c - the L3 (host) endpoint against a peer played byte by byte.
 *
 * One TEST_F per upstream Python L3 test (reference §12.2, tests 4-31),
 * named after it.  Tests 1-3 (layout) live in abi_test.c.  Where an upstream
 * test checks a Python-only mechanism (registered tensors, staging buffers,
 * monkeypatched clients) the test here checks the behaviour it stands for
 * in the C API; the comment above each such test says how it maps.
 *
 * The fixture is an in-process region (th_region_alloc) with the upstream
 * test geometry, depth 4 and two 128-byte arenas, and an L3 endpoint whose
 * clock is fake: every now_ns() call advances it by 1 ms, so every timeout
 * is deterministic.  The test plays the L2 side with the helpers.h words.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libl3l2q.h"
#include "kselftest_harness.h"

#define MS	1000000ull

/* ---- a clock the test controls: tests/helpers.h (struct fake_clock) ---- */

/* ---- payload snapshots: "nothing else changed" ---- */

struct range {
	__u64 off, len;
};

static unsigned char *snap_payload(struct th_region *r)
{
	unsigned char *s = malloc(r->layout.payload_bytes);

	if (s)
		memcpy(s, r->mem.payload, r->layout.payload_bytes);
	return s;
}

/* First payload offset that differs from @snap outside @skip, or -1. */
static long long payload_diff(struct th_region *r, const unsigned char *snap,
			      const struct range *skip, int nskip)
{
	const unsigned char *p = r->mem.payload;
	__u64 i;
	int k;

	for (i = 0; i < r->layout.payload_bytes; i++) {
		int skipped = 0;

		for (k = 0; k < nskip; k++)
			if (i >= skip[k].off && i < skip[k].off + skip[k].len)
				skipped = 1;
		if (!skipped && p[i] != snap[i])
			return (long long)i;
	}
	return -1;
}

/* ---- playing the L2 side: tests/helpers.h (in_slot, peer_output) ---- */


/* Lines of /proc/self/maps that contain @what ("" counts them all). */
static int count_maps(const char *what)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	fclose(f);
	return n;
}

static __s32 mem_ctr(const struct l3l2q_mem *m, unsigned int off)
{
	return atomic_load_explicit((_Atomic __s32 *)((char *)m->counters + off),
				    memory_order_acquire);
}

/* ---- the fixture ---- */

FIXTURE(l3) {
	struct th_region r;
	struct l3l2q_l3 q;
	struct fake_clock clk;
	struct l3l2q_env env;
	int live;
};

static void l3_geometry(struct __test_metadata *_metadata,
		     FIXTURE_DATA(l3) *self, __u64 depth, __u64 in_arena,
		     __u64 out_arena)
{
	if (self->live) {
		l3l2q_l3_close(&self->q);
		th_region_free(&self->r);
		self->live = 0;
	}
	memset(&self->clk, 0, sizeof(self->clk));
	self->clk.now = 1000 * MS;
	self->clk.step = MS;
	self->env.now_ns = fc_now;
	self->env.relax = fc_relax;
	self->env.ctx = &self->clk;
	ASSERT_EQ(0, th_region_alloc(&self->r, depth, in_arena, out_arena, 0));
	ASSERT_EQ(0, l3l2q_l3_init(&self->q, &self->r.mem, &self->r.layout, 0,
				   &self->env));
	self->live = 1;
}

FIXTURE_SETUP(l3)
{
	self->live = 0;
	l3_geometry(_metadata, self, 4, 128, 128);
}

FIXTURE_TEARDOWN(l3)
{
	if (self->live) {
		l3l2q_l3_close(&self->q);
		th_region_free(&self->r);
	}
}

#define IN_ARENA(self)	((self)->r.layout.input_arena_offset)
#define OUT_ARENA(self)	((self)->r.layout.output_arena_offset)
#define L3_FLAG(self)	th_ctr(&(self)->r, L3L2Q_CTR_L3_ABORT)
#define L2_FLAG(self)	th_ctr(&(self)->r, L3L2Q_CTR_L2_ABORT)
#define STATE(self)	((int)l3l2q_ep_state(&(self)->q.ep))
#define ERRKIND(self)	(l3l2q_ep_error(&(self)->q.ep)->kind)

/* ---- creation (4, 5) ---- */

/*
 * Upstream: the allocation carries payload_bytes and 384 counter bytes, the
 * twelve L2 task scalars are desc + [magic, 4, 128, 192, payload, 384], and
 * all six counters are 0.  Here: l3l2q_create() over a memfd gives layout
 * (4, 128, 192) with payload 576, the mapping shows six zero counters, and
 * the twelve scalars built from the mapping pass the upstream L2 checks.
 */
TEST(test_create_worker_chip_queue_allocates_region_and_exposes_l2_task_scalars)
{
	struct l3l2q_params p = {
		.depth = 4, .input_arena_bytes = 128, .output_arena_bytes = 192,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_error err = { 0 };
	struct l3l2q_queue *q = NULL;
	const struct l3l2q_layout *l;
	const struct l3l2q_mem *m;
	struct l3l2q_layout vl;
	__u64 sc[12];
	unsigned int off;

	ASSERT_EQ(0, l3l2q_create(&p, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	ASSERT_NE(NULL, q);
	l = l3l2q_queue_layout(q);
	m = l3l2q_queue_mem(q);
	ASSERT_NE(NULL, l);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(L3L2Q_BACKEND_MEMFD, (int)l3l2q_queue_backend(q));
	EXPECT_NE(NULL, l3l2q_queue_l3(q));
	EXPECT_EQ(NULL, l3l2q_queue_l2(q));

	EXPECT_EQ(4ull, l->depth);
	EXPECT_EQ(128ull, l->input_arena_bytes);
	EXPECT_EQ(192ull, l->output_arena_bytes);
	EXPECT_EQ(128ull, l->output_desc_offset);
	EXPECT_EQ(256ull, l->input_arena_offset);
	EXPECT_EQ(384ull, l->output_arena_offset);
	EXPECT_EQ(576ull, l->payload_bytes);
	EXPECT_EQ((__u64)L3L2Q_COUNTER_BYTES, l->counter_bytes);

	ASSERT_NE(NULL, m->counters);
	ASSERT_NE(NULL, m->payload);
	EXPECT_EQ(0u, (unsigned int)((uintptr_t)m->counters % 64));
	for (off = 0; off < L3L2Q_COUNTER_BYTES; off += L3L2Q_LINE_BYTES) {
		EXPECT_EQ(0, mem_ctr(m, off)) {
			TH_LOG("counter at %u", off);
		}
	}

	/* The scalars an upstream L2 would receive (region id 1: any non-zero). */
	sc[0] = L3L2Q_REGION_MAGIC_VERSION;
	sc[1] = 1;
	sc[2] = (uintptr_t)m->payload;
	sc[3] = l->payload_bytes;
	sc[4] = (uintptr_t)m->counters;
	sc[5] = L3L2Q_COUNTER_BYTES;
	sc[6] = L3L2Q_QUEUE_MAGIC_VERSION;
	sc[7] = 4;
	sc[8] = 128;
	sc[9] = 192;
	sc[10] = l->payload_bytes;
	sc[11] = l->counter_bytes;
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(0, l3l2q_validate_scalars(sc, 12, &vl, &err)) {
		TH_LOG("validate: %s", err.message);
	}
	EXPECT_EQ(0, memcmp(&vl, l, sizeof(vl)));

	l3l2q_destroy(q);
}

/*
 * Upstream injects a failure into the scratch allocation made after the
 * region exists and checks that the region is released.  l3l2q makes no
 * scratch allocations, and nothing can be injected into the library.  The
 * failure after the region exists that can be provoked is the mapping: an
 * input arena of 2^56 bytes makes a valid layout and a sparse memfd (the
 * ftruncate succeeds), but cannot be mapped into any x86-64 user address
 * space.  The create must fail and leave no fd and no mapping behind.
 */
TEST(test_create_worker_chip_queue_frees_region_on_post_region_alloc_failure)
{
	struct l3l2q_params p = {
		.depth = 4, .input_arena_bytes = 1ull << 56,
		.output_arena_bytes = 128, .backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_error err = { 0 };
	struct l3l2q_queue *q = NULL;
	int fds, maps, ret;

	/*
	 * Only memfd mappings are counted: the failing path may allocate and
	 * free, and ASan's allocator maps memory of its own for that.
	 */
	fds = count_fds();
	maps = count_maps("memfd:");
	ASSERT_LT(0, fds);
	ASSERT_LE(0, maps);

	ret = l3l2q_create(&p, &q, &err);
	if (ret == 0) {
		l3l2q_destroy(q);
		SKIP(return, "a 2^56-byte mapping succeeded on this machine");
	}
	EXPECT_GT(0, ret);
	EXPECT_EQ(NULL, q);
	EXPECT_NE(0, err.message[0]);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(maps, count_maps("memfd:"));
}

/* ---- enqueue (6-11) ---- */

TEST_F(l3, test_zero_byte_enqueue_skips_message_payload_write_and_publishes_descriptor)
{
	struct range skip[] = { { 0, L3L2Q_DESC_BYTES } };
	unsigned char *snap = snap_payload(&self->r);
	struct l3l2q_desc *d = in_slot(&self->r, 1);

	ASSERT_NE(NULL, snap);
	EXPECT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));

	EXPECT_EQ(1ull, d->seq);
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, d->opcode);
	EXPECT_EQ(0ull, d->payload_offset);
	EXPECT_EQ(0ull, d->payload_nbytes);
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	/* No byte of the arena (or anything but slot 1) was written. */
	EXPECT_EQ(-1, payload_diff(&self->r, snap, skip, 1));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
	free(snap);
}

/*
 * Registered tensor = the zero-copy path: the reservation points straight
 * into the input arena (no buffer of its own), the caller fills it in place
 * and publish only writes the descriptor and the tail.
 */
TEST_F(l3, test_enqueue_registered_tensor_uses_direct_payload_write_without_extra_alloc)
{
	struct l3l2q_res res;
	struct l3l2q_desc *d = in_slot(&self->r, 1);
	unsigned char want[16];

	fill_pattern(want, sizeof(want), 7);
	ASSERT_EQ(0, l3l2q_l3_try_reserve(&self->q, 16, &res));
	EXPECT_EQ(1ull, res.seq);
	EXPECT_EQ(16ull, res.nbytes);
	EXPECT_EQ(IN_ARENA(self), res.offset);
	EXPECT_EQ((uintptr_t)th_payload(&self->r, IN_ARENA(self)),
		  (uintptr_t)res.data);
	/* Reserved, not published. */
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));

	memcpy(res.data, want, sizeof(want));
	ASSERT_EQ(0, l3l2q_l3_publish(&self->q, &res, L3L2Q_OP_DATA));
	EXPECT_EQ(1ull, d->seq);
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, d->opcode);
	EXPECT_EQ(IN_ARENA(self), d->payload_offset);
	EXPECT_EQ(16ull, d->payload_nbytes);
	EXPECT_EQ(0, memcmp(want, th_payload(&self->r, IN_ARENA(self)), 16));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
}

TEST_F(l3, test_enqueue_replays_released_descriptors_before_reusing_input_arena)
{
	unsigned char a[80], b[80];

	fill_pattern(a, sizeof(a), 1);
	fill_pattern(b, sizeof(b), 2);
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, a, 80));
	EXPECT_EQ(IN_ARENA(self), in_slot(&self->r, 1)->payload_offset);
	/* Not released yet: 80 + 80 does not fit a 128-byte arena. */
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, b, 80));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));

	th_set_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD, 1);
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, b, 80));
	EXPECT_EQ(2ull, in_slot(&self->r, 2)->seq);
	EXPECT_EQ(IN_ARENA(self), in_slot(&self->r, 2)->payload_offset);
	EXPECT_EQ(80ull, in_slot(&self->r, 2)->payload_nbytes);
	EXPECT_EQ(0, memcmp(b, th_payload(&self->r, IN_ARENA(self)), 80));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
}

/* Ordinary bytes are copied straight into the arena and nowhere else. */
TEST_F(l3, test_enqueue_accepts_ordinary_host_bytes_with_direct_payload_write)
{
	struct range skip[2];
	unsigned char *snap = snap_payload(&self->r);

	ASSERT_NE(NULL, snap);
	skip[0] = (struct range){ 0, L3L2Q_DESC_BYTES };
	skip[1] = (struct range){ IN_ARENA(self), 8 };
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA,
					  "ordinary", 8));
	EXPECT_EQ(0, memcmp("ordinary", th_payload(&self->r, IN_ARENA(self)), 8));
	EXPECT_EQ(IN_ARENA(self), in_slot(&self->r, 1)->payload_offset);
	EXPECT_EQ(8ull, in_slot(&self->r, 1)->payload_nbytes);
	EXPECT_EQ(-1, payload_diff(&self->r, snap, skip, 2));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	free(snap);
}

/*
 * Upstream: the host-mapped backend writes ordinary bytes directly and the
 * region descriptor carries magic_version 0x4C334C32_0003_0000.  Here: a
 * memfd queue from l3l2q_create(); the bytes land in the shared mapping at
 * the input arena, the control block names the queue ABI, and the region
 * magic_version constant is the upstream one.
 */
TEST(test_worker_host_mapped_queue_ordinary_input_uses_direct_payload_write)
{
	struct l3l2q_params p = {
		.depth = 4, .input_arena_bytes = 128, .output_arena_bytes = 128,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_error err = { 0 };
	struct l3l2q_queue *q = NULL;
	const struct l3l2q_layout *l;
	const struct l3l2q_mem *m;
	const struct l3l2q_ctrl_hdr *h;
	const struct l3l2q_desc *d;

	EXPECT_EQ(0x4C334C3200030000ull, L3L2Q_REGION_MAGIC_VERSION);
	ASSERT_EQ(0, l3l2q_create(&p, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	l = l3l2q_queue_layout(q);
	m = l3l2q_queue_mem(q);
	ASSERT_NE(NULL, l3l2q_queue_l3(q));
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(l3l2q_queue_l3(q), L3L2Q_OP_DATA,
					  "ordinary", 8));
	EXPECT_EQ(0, memcmp("ordinary",
			    (char *)m->payload + l->input_arena_offset, 8));
	d = (const struct l3l2q_desc *)((char *)m->payload + l->input_desc_offset);
	EXPECT_EQ(1ull, d->seq);
	EXPECT_EQ(l->input_arena_offset, d->payload_offset);
	EXPECT_EQ(8ull, d->payload_nbytes);
	EXPECT_EQ(1, mem_ctr(m, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, mem_ctr(m, L3L2Q_CTR_L3_ABORT));

	ASSERT_NE(NULL, m->ctrl);
	h = m->ctrl;
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, h->magic);
	EXPECT_EQ(L3L2Q_QUEUE_MAGIC_VERSION, h->queue_magic_version);
	EXPECT_EQ(4ull, h->depth);
	EXPECT_EQ(128ull, h->input_arena_bytes);
	EXPECT_EQ(128ull, h->output_arena_bytes);
	l3l2q_destroy(q);
}

/*
 * Upstream: with an allocation failure armed, an ordinary bytearray is
 * enqueued and the failure is still armed afterwards (nothing allocated).
 * Here: enqueueing into a memfd queue allocates no heap memory (glibc
 * arena in use unchanged), opens no fd and creates no mapping.
 */
TEST(test_direct_mapped_ordinary_host_bytearray_does_not_allocate_queue_buffer)
{
	struct l3l2q_params p = {
		.depth = 4, .input_arena_bytes = 128, .output_arena_bytes = 128,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_error err = { 0 };
	struct l3l2q_queue *q = NULL;
	const struct l3l2q_mem *m;
	struct mallinfo2 before, after;
	int fds, maps, ret;
	char bytes[8];

	memcpy(bytes, "ordinary", 8);
	ASSERT_EQ(0, l3l2q_create(&p, &q, &err)) {
		TH_LOG("create: %s", err.message);
	}
	m = l3l2q_queue_mem(q);
	fds = count_fds();
	maps = count_maps("");
	before = mallinfo2();
	ret = l3l2q_l3_try_enqueue(l3l2q_queue_l3(q), L3L2Q_OP_DATA, bytes, 8);
	after = mallinfo2();
	EXPECT_EQ(0, ret);
	EXPECT_EQ(before.uordblks, after.uordblks);
	EXPECT_EQ(before.hblkhd, after.hblkhd);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(maps, count_maps(""));
	EXPECT_EQ(0, memcmp("ordinary", (char *)m->payload +
			    l3l2q_queue_layout(q)->input_arena_offset, 8));
	EXPECT_EQ(1, mem_ctr(m, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, mem_ctr(m, L3L2Q_CTR_L3_ABORT));
	l3l2q_destroy(q);
}

/* ---- output (12-21) ---- */

/* Registered tensor = zero copy: msg.data points into the output arena. */
TEST_F(l3, test_output_read_into_registered_tensor_uses_fast_path_and_release_notifies_head)
{
	struct l3l2q_msg msg;

	peer_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self),
		    "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(1ull, msg.seq);
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, msg.opcode);
	EXPECT_EQ(OUT_ARENA(self), msg.offset);
	EXPECT_EQ(16ull, msg.nbytes);
	EXPECT_EQ((uintptr_t)th_payload(&self->r, OUT_ARENA(self)),
		  (uintptr_t)msg.data);
	ASSERT_NE(NULL, msg.data);
	EXPECT_EQ(0, memcmp("abcdefghijklmnop", msg.data, 16));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, l3l2q_l3_release(&self->q, &msg));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
}

TEST_F(l3, test_dequeue_into_reads_and_releases_output)
{
	struct l3l2q_msg msg;
	char buf[16] = { 0 };

	peer_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self),
		    "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_dequeue(&self->q, buf, sizeof(buf),
				      self->clk.now + MS, &msg));
	EXPECT_EQ(1ull, msg.seq);
	EXPECT_EQ((__u64)L3L2Q_OP_DATA, msg.opcode);
	EXPECT_EQ(16ull, msg.nbytes);
	EXPECT_EQ(0, memcmp("abcdefghijklmnop", buf, 16));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
	/* Released: the queue is empty again. */
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek(&self->q, &msg));
}

TEST_F(l3, test_output_error_opcode_is_delivered_without_poison)
{
	struct l3l2q_msg msg;
	char buf[12] = { 0 };

	peer_output(&self->r, 1, L3L2Q_OP_ERROR, OUT_ARENA(self),
		    "error-detail", 12);
	ASSERT_EQ(0, l3l2q_l3_dequeue(&self->q, buf, sizeof(buf),
				      self->clk.now + MS, &msg));
	EXPECT_EQ((__u64)L3L2Q_OP_ERROR, msg.opcode);
	EXPECT_EQ(0, memcmp("error-detail", buf, 12));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, ERRKIND(self));
	/* And the queue goes on. */
	EXPECT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
}

TEST_F(l3, test_try_dequeue_into_empty_returns_none_without_abort)
{
	struct l3l2q_msg msg;
	char buf[16];

	memset(buf, 0x5a, sizeof(buf));
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_dequeue(&self->q, buf, sizeof(buf),
						&msg));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	EXPECT_EQ(0x5a, (unsigned char)buf[0]);
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek(&self->q, &msg));
}

TEST_F(l3, test_output_read_into_ordinary_buffer_uses_direct_payload_read)
{
	struct l3l2q_msg msg;
	char buf[16] = { 0 };

	peer_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self),
		    "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(0, l3l2q_l3_read(&self->q, &msg, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp("abcdefghijklmnop", buf, 16));
	EXPECT_EQ(0, l3l2q_l3_release(&self->q, &msg));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
}

/*
 * C has no read-only bytes object; the unusable buffer here is NULL for a
 * 16-byte message: -EINVAL before any read, no poison, the message stays at
 * the head and a retry with a real buffer gets it.
 */
TEST_F(l3, test_output_read_rejects_readonly_ordinary_buffer_before_release)
{
	struct l3l2q_msg msg, again;
	char buf[16] = { 0 };

	peer_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self),
		    "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(-EINVAL, l3l2q_l3_read(&self->q, &msg, NULL, 16));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));

	ASSERT_EQ(0, l3l2q_l3_try_peek(&self->q, &again));
	EXPECT_EQ(0, memcmp(&msg, &again, sizeof(msg)));
	EXPECT_EQ(0, l3l2q_l3_read(&self->q, &msg, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp("abcdefghijklmnop", buf, 16));
	EXPECT_EQ(0, l3l2q_l3_release(&self->q, &msg));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
}

TEST_F(l3, test_output_release_inactive_handle_poisons_and_sets_worker_abort_flag)
{
	struct l3l2q_msg msg, wrong;
	char buf[16];

	peer_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self),
		    "abcdefghijklmnop", 16);
	ASSERT_EQ(0, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	wrong = msg;
	wrong.seq = msg.seq + 1;

	/* Reading through it is only refused (upstream P13 parity)... */
	EXPECT_EQ(-EINVAL, l3l2q_l3_read(&self->q, &wrong, buf, sizeof(buf)));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	/* ...releasing it poisons. */
	EXPECT_EQ(-EPROTO, l3l2q_l3_release(&self->q, &wrong));
	EXPECT_EQ(1, L3_FLAG(self));
	EXPECT_EQ(0, L2_FLAG(self));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, ERRKIND(self));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek(&self->q, &msg));
	EXPECT_EQ(-EPROTO, l3l2q_l3_release(&self->q, &msg));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA,
						NULL, 0));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(l3, test_output_stop_descriptor_poisons_and_sets_worker_abort_flag)
{
	struct l3l2q_msg msg;

	th_publish_output(&self->r, 1, L3L2Q_OP_STOP, 0, 0);
	EXPECT_EQ(-EPROTO, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(1, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
}

TEST_F(l3, test_zero_byte_output_descriptor_with_nonzero_offset_poisons_and_sets_worker_abort_flag)
{
	struct l3l2q_msg msg;

	th_publish_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self), 0);
	EXPECT_EQ(-EPROTO, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(1, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
}

TEST_F(l3, test_zero_byte_output_read_accepts_none_and_skips_payload_read)
{
	struct l3l2q_msg msg;

	th_publish_output(&self->r, 1, L3L2Q_OP_DATA, 0, 0);
	ASSERT_EQ(0, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(1ull, msg.seq);
	EXPECT_EQ(0ull, msg.nbytes);
	EXPECT_EQ(0ull, msg.offset);
	EXPECT_EQ(NULL, msg.data);
	EXPECT_EQ(0, l3l2q_l3_read(&self->q, &msg, NULL, 0));
	EXPECT_EQ(0, l3l2q_l3_release(&self->q, &msg));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, L3_FLAG(self));

	/* A zero-byte message moves no payload cursor: the next is at base. */
	peer_output(&self->r, 2, L3L2Q_OP_DATA, OUT_ARENA(self), "xy", 2);
	EXPECT_EQ(0, l3l2q_l3_try_peek(&self->q, &msg));
	EXPECT_EQ(2ull, msg.seq);
	EXPECT_EQ(0, L3_FLAG(self));
}

/* ---- backpressure and STOP (22-27) ---- */

TEST_F(l3, test_try_enqueue_full_queue_returns_false_without_poison_or_publish)
{
	unsigned char *snap;

	l3_geometry(_metadata, self, 2, 128, 128);
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	snap = snap_payload(&self->r);
	ASSERT_NE(NULL, snap);

	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(-1, payload_diff(&self->r, snap, NULL, 0));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, ERRKIND(self));
	/* Capacity is depth: one release makes room for exactly one. */
	th_set_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD, 1);
	EXPECT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(3ull, in_slot(&self->r, 3)->seq);
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(3, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	free(snap);
}

TEST_F(l3, test_try_enqueue_full_queue_ordinary_buffer_does_not_stage)
{
	unsigned char *snap;

	l3_geometry(_metadata, self, 2, 128, 128);
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	snap = snap_payload(&self->r);
	ASSERT_NE(NULL, snap);

	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, "x", 1));
	/* Not a byte written, in the arena or anywhere else. */
	EXPECT_EQ(-1, payload_diff(&self->r, snap, NULL, 0));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	free(snap);
}

/*
 * After STOP, every enqueue form is rejected locally: no clock read, no
 * spin and no counter read.  The input head is made impossible (it would
 * poison if it were sampled) to prove the counters are not consulted.
 */
TEST_F(l3, test_enqueue_after_stop_rejects_locally_without_polling_or_abort)
{
	struct l3l2q_res res;
	struct l3l2q_desc *d = in_slot(&self->r, 1);

	ASSERT_EQ(0, l3l2q_l3_request_stop(&self->q, self->clk.now + MS));
	EXPECT_EQ(1ull, d->seq);
	EXPECT_EQ((__u64)L3L2Q_OP_STOP, d->opcode);
	EXPECT_EQ(0ull, d->payload_offset);
	EXPECT_EQ(0ull, d->payload_nbytes);
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));

	th_set_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD, 77);
	self->clk.reads = 0;
	self->clk.relaxes = 0;

	EXPECT_EQ(-EPIPE, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(-EPIPE, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0,
					   self->clk.now + MS));
	EXPECT_EQ(-EPIPE, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_ERROR, "e", 1,
					   self->clk.now + MS));
	EXPECT_EQ(-EPIPE, l3l2q_l3_try_reserve(&self->q, 8, &res));
	EXPECT_EQ(-EPIPE, l3l2q_l3_try_request_stop(&self->q));
	EXPECT_EQ(-EPIPE, l3l2q_l3_request_stop(&self->q, self->clk.now + MS));

	EXPECT_EQ(0ul, self->clk.reads);
	EXPECT_EQ(0ul, self->clk.relaxes);
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, ERRKIND(self));
	/* -EPIPE is recorded as the last error, kind STOPPED. */
	EXPECT_EQ((__u32)L3L2Q_ERR_STOPPED,
		  l3l2q_ep_last_error(&self->q.ep)->kind);
}

TEST_F(l3, test_try_enqueue_payload_larger_than_arena_returns_false_without_poison_or_publish)
{
	static unsigned char big[256];
	struct l3l2q_res res;
	unsigned char *snap = snap_payload(&self->r);

	ASSERT_NE(NULL, snap);
	fill_pattern(big, sizeof(big), 3);
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA,
						  big, 256));
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_try_reserve(&self->q, 129, &res));
	/* The blocking form can never succeed either: it does not wait. */
	self->clk.reads = 0;
	EXPECT_EQ(-EMSGSIZE, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_DATA, big, 256,
					      self->clk.now + 1000 * MS));
	EXPECT_GE(1ul, self->clk.reads);

	EXPECT_EQ(-1, payload_diff(&self->r, snap, NULL, 0));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, ERRKIND(self));
	/* A whole arena is fine. */
	EXPECT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, big, 128));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	free(snap);
}

TEST_F(l3, test_try_enqueue_wraparound_arena_full_ordinary_buffer_does_not_stage_or_advance_tail)
{
	unsigned char a[112], b[32], c[16];
	unsigned char *snap;

	fill_pattern(a, sizeof(a), 4);
	fill_pattern(b, sizeof(b), 5);
	fill_pattern(c, sizeof(c), 6);
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, a, 112));
	snap = snap_payload(&self->r);
	ASSERT_NE(NULL, snap);

	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, b, 32));
	EXPECT_EQ(-1, payload_diff(&self->r, snap, NULL, 0));
	EXPECT_EQ(1, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));

	/* The payload tail did not move: 16 bytes still fit at base + 112. */
	ASSERT_EQ(0, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, c, 16));
	EXPECT_EQ(IN_ARENA(self) + 112, in_slot(&self->r, 2)->payload_offset);
	EXPECT_EQ(0, memcmp(c, th_payload(&self->r, IN_ARENA(self) + 112), 16));
	EXPECT_EQ(2, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(l3, test_output_payload_offset_mismatch_poisons_before_payload_read)
{
	struct l3l2q_msg msg;
	char buf[16];

	memset(buf, 0x5a, sizeof(buf));
	peer_output(&self->r, 1, L3L2Q_OP_DATA, OUT_ARENA(self) + 16,
		    "abcdefghijklmnop", 16);
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_dequeue(&self->q, buf, sizeof(buf),
						&msg));
	EXPECT_EQ(0x5a, (unsigned char)buf[0]);
	EXPECT_EQ(1, L3_FLAG(self));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_peek(&self->q, &msg));
}

/* ---- failures and timeouts (28-31) ---- */

/*
 * A memcpy into the mapping cannot fail, so there is no payload write
 * failure to inject.  The local infrastructure failure the enqueue path can
 * meet is an impossible input head (delta > depth): it must poison, set the
 * worker flag, and every later operation reports the poison.
 */
TEST_F(l3, test_enqueue_payload_write_failure_sets_worker_abort_flag)
{
	ASSERT_EQ(0, enqueue_zero(&self->q, 4));
	/* Full; the peer claims 5 released out of 4 published. */
	th_set_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD, 5);
	EXPECT_EQ(-EPROTO, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_DATA, "x", 1,
					    self->clk.now + 10 * MS));
	EXPECT_EQ(1, L3_FLAG(self));
	EXPECT_EQ(4, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(L3L2Q_STATE_POISONED_LOCAL, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_INVALID_DESCRIPTOR, ERRKIND(self));
	EXPECT_EQ(-EPROTO, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(4, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
}

TEST_F(l3, test_timeout_without_peer_abort_flag_returns_timeout_and_keeps_queue_live)
{
	struct l3l2q_msg msg;
	__u64 deadline = self->clk.now + 10 * MS;

	EXPECT_EQ(-ETIMEDOUT, l3l2q_l3_peek(&self->q, deadline, &msg));
	/* It did wait until the deadline. */
	EXPECT_LE(deadline, self->clk.now);
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, ERRKIND(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_TIMEOUT,
		  l3l2q_ep_last_error(&self->q.ep)->kind);

	/* Blocking enqueue on a full ring times out the same way. */
	ASSERT_EQ(0, enqueue_zero(&self->q, 4));
	EXPECT_EQ(-ETIMEDOUT, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0,
					       self->clk.now + 10 * MS));
	EXPECT_EQ(4, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));

	/* Still live: traffic flows in both directions. */
	th_publish_output(&self->r, 1, L3L2Q_OP_DATA, 0, 0);
	EXPECT_EQ(0, l3l2q_l3_try_peek(&self->q, &msg));
	EXPECT_EQ(1ull, msg.seq);
	th_set_ctr(&self->r, L3L2Q_CTR_INPUT_HEAD, 1);
	EXPECT_EQ(0, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0,
				      self->clk.now + 10 * MS));
	EXPECT_EQ(5, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(L3L2Q_STATE_LIVE, STATE(self));
}

TEST_F(l3, test_timeout_with_peer_abort_flag_reports_remote_aborted_without_setting_own_flag)
{
	struct l3l2q_msg msg;

	th_set_ctr(&self->r, L3L2Q_CTR_L2_ABORT, 1);
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(1, L2_FLAG(self));
	EXPECT_EQ(L3L2Q_STATE_POISONED_REMOTE, STATE(self));
	EXPECT_EQ((__u32)L3L2Q_ERR_REMOTE_ABORTED, ERRKIND(self));

	/* Terminal: later operations report the remote abort too. */
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA,
						    NULL, 0));
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_try_peek(&self->q, &msg));
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_try_request_stop(&self->q));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, L3_FLAG(self));
}

/*
 * Upstream "expired" is a region whose run has ended; ours is an endpoint
 * given up with l3l2q_l3_close().  Every operation is -ESHUTDOWN, no flag is
 * set and nothing shared is consulted: an aborted peer and pending output
 * must not change the answer, and the clock is never read.
 */
TEST_F(l3, test_expired_queue_rejects_later_operations_without_abort_flag)
{
	struct l3l2q_msg msg = { .seq = 1, .opcode = L3L2Q_OP_DATA };
	struct l3l2q_res res;
	char buf[8];

	l3l2q_l3_close(&self->q);
	th_publish_output(&self->r, 1, L3L2Q_OP_DATA, 0, 0);
	th_set_ctr(&self->r, L3L2Q_CTR_L2_ABORT, 1);
	self->clk.reads = 0;

	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_try_enqueue(&self->q, L3L2Q_OP_DATA,
						   NULL, 0));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_enqueue(&self->q, L3L2Q_OP_DATA, NULL, 0,
					       self->clk.now + MS));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_try_reserve(&self->q, 8, &res));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_try_request_stop(&self->q));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_try_peek(&self->q, &msg));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_peek(&self->q, self->clk.now + MS, &msg));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_read(&self->q, &msg, buf, sizeof(buf)));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_release(&self->q, &msg));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_try_dequeue(&self->q, buf, sizeof(buf),
						   &msg));
	EXPECT_EQ(0ul, self->clk.reads);

	EXPECT_EQ(0, L3_FLAG(self));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, th_ctr(&self->r, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(L3L2Q_STATE_RELEASED, STATE(self));
	/* Idempotent. */
	l3l2q_l3_close(&self->q);
	EXPECT_EQ(L3L2Q_STATE_RELEASED, STATE(self));
	EXPECT_EQ(-ESHUTDOWN, l3l2q_l3_try_peek(&self->q, &msg));
}

TEST_HARNESS_MAIN
