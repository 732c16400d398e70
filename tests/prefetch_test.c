// SPDX-License-Identifier: MIT
/*
 * prefetch_test.c - the producer's write prefetch after a batch
 * (l3l2q__prod_prefetch_plan(), lib/core/producer.c).
 *
 * The prefetch is a hint, so what can go wrong is where it points: a line
 * that still holds a published, unreleased slot or payload would be taken
 * from the consumer while it reads it.  Over a long run of batches of
 * mixed sizes and counts, with the L2 releasing at random, every planned
 * line must be whole (64-aligned), inside the input ring or the input
 * arena, and clear of every message published and not yet released; the
 * plan must stay within L3L2Q_PREFETCH_LINES and never follow the shared
 * counters (a forged head changes nothing).  Arenas: a power of two, one
 * that is not, and a payload base that is not 64-aligned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "internal.h"
#include "kselftest_harness.h"

#define DEPTH	16u
#define ROUNDS	4000

struct sent {
	const unsigned char *slot, *data;
	__u64 nbytes;
};

FIXTURE(pf) {
	void *mem;			/* the region, shifted by the variant */
	struct l3l2q_mem m;
	struct l3l2q_layout layout;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	struct sent fifo[DEPTH];	/* published, not released */
	__u32 first, count;
	__u64 seq;			/* last published */
};

FIXTURE_VARIANT(pf) {
	__u64 arena;
	unsigned int shift;		/* payload base past a line boundary */
};

FIXTURE_VARIANT_ADD(pf, pow2) {
	.arena = 1024,
	.shift = 0,
};

FIXTURE_VARIANT_ADD(pf, odd_arena) {
	.arena = 960,
	.shift = 0,
};

FIXTURE_VARIANT_ADD(pf, unaligned_payload) {
	.arena = 1024,
	.shift = 32,
};

FIXTURE_SETUP(pf)
{
	struct l3l2q_region_offsets off;

	ASSERT_EQ(0, (int)l3l2q_layout(DEPTH, variant->arena,
						variant->arena,
						&self->layout));
	ASSERT_TRUE(l3l2q_region_layout(&self->layout, &off));
	self->mem = aligned_alloc(L3L2Q_REGION_ALIGN,
				  off.total_bytes + L3L2Q_REGION_ALIGN);
	ASSERT_NE(NULL, self->mem);
	memset(self->mem, 0, off.total_bytes + L3L2Q_REGION_ALIGN);
	self->m.ctrl = (char *)self->mem + off.ctrl_offset;
	self->m.counters = (char *)self->mem + off.counter_offset;
	self->m.payload = (char *)self->mem + off.payload_offset +
			  variant->shift;
	self->m.region_id = 7;
	l3l2q_region_init(&self->m, &self->layout, 0, 0);
	ASSERT_EQ(0, l3l2q_l3_init(&self->l3, &self->m, &self->layout, 0,
				   NULL));
	ASSERT_EQ(0, l3l2q_l2_init(&self->l2, &self->m, &self->layout, 0,
				   DEPTH, NULL));
	/* The plan is computed whether or not this CPU can prefetch. */
	self->first = self->count = 0;
	self->seq = 0;
}

FIXTURE_TEARDOWN(pf)
{
	free(self->mem);
}

static const unsigned char *ring(FIXTURE_DATA(pf) *self)
{
	return (const unsigned char *)self->m.payload +
	       self->layout.input_desc_offset;
}

static const unsigned char *arena(FIXTURE_DATA(pf) *self)
{
	return (const unsigned char *)self->m.payload +
	       self->layout.input_arena_offset;
}

/* [a, a + n) and [b, b + m) overlap. */
static int overlap(const unsigned char *a, __u64 n, const unsigned char *b,
		   __u64 m)
{
	return n && m && a < b + m && b < a + n;
}

/*
 * Check the plan after a batch of @n of @nb bytes; returns the lines it
 * names (0 or more), or -1 after a failed expectation.
 */
static int check_plan(struct __test_metadata *_metadata,
		      FIXTURE_DATA(pf) *self, __u64 n, __u64 nb)
{
	struct l3l2q_pf_run run[3];
	__u64 total = 0, l, rb = DEPTH * L3L2Q_DESC_BYTES;
	__u64 ab = self->layout.input_arena_bytes;
	const unsigned char *line;
	__u32 k, i, j;

	k = l3l2q__prod_prefetch_plan(&self->l3.ep, &self->l3.in, n, nb, run);
	EXPECT_LE(k, 3u);
	for (i = 0; i < k && i < 3; i++) {
		EXPECT_EQ(0ul, (unsigned long)run[i].base & 63);
		EXPECT_GE(run[i].lines, 1u);
		for (l = 0; l < run[i].lines; l++) {
			line = run[i].base + l * 64;
			/* Inside the input ring or the input arena. */
			EXPECT_TRUE((line >= ring(self) &&
				     line + 64 <= ring(self) + rb) ||
				    (line >= arena(self) &&
				     line + 64 <= arena(self) + ab)) {
				TH_LOG("line %p outside ring %p+%llu and arena %p+%llu",
				       (void *)line, (void *)ring(self),
				       (unsigned long long)rb,
				       (void *)arena(self),
				       (unsigned long long)ab);
				return -1;
			}
			/* Clear of every message the consumer may still read. */
			for (j = 0; j < self->count; j++) {
				const struct sent *s =
					&self->fifo[(self->first + j) % DEPTH];

				EXPECT_FALSE(overlap(line, 64, s->slot,
						     L3L2Q_DESC_BYTES) ||
					     overlap(line, 64, s->data,
						     s->nbytes)) {
					TH_LOG("after %llu x %llu B: line %p (run %u) holds unreleased seq %llu (slot %p, payload %p + %llu); tail %llu head %llu ptail %llu phead %llu",
					       (unsigned long long)n,
					       (unsigned long long)nb,
					       (void *)line, i,
					       (unsigned long long)(self->seq -
						self->count + 1 + j),
					       (void *)s->slot, (void *)s->data,
					       (unsigned long long)s->nbytes,
					       (unsigned long long)self->l3.in.tail,
					       (unsigned long long)self->l3.in.head,
					       (unsigned long long)self->l3.in.ptail,
					       (unsigned long long)self->l3.in.phead);
					return -1;
				}
			}
		}
		total += run[i].lines;
	}
	EXPECT_LE(total, (__u64)L3L2Q_PREFETCH_LINES);
	return (int)total;
}

/* The L2 takes and releases the @n oldest. */
static int release(FIXTURE_DATA(pf) *self, __u32 n)
{
	struct l3l2q_msg msgs[DEPTH];
	int got;

	if (!n)
		return 0;
	got = l3l2q_l2_try_peek_batch(&self->l2, msgs, n);
	if (got != (int)n)
		return -1;
	if (l3l2q_l2_release_oldest(&self->l2, n))
		return -1;
	self->first = (self->first + n) % DEPTH;
	self->count -= n;
	return 0;
}

/* Reserve up to @n of @nb, publish @use of them (fewer if fewer came). */
static int publish(FIXTURE_DATA(pf) *self, __u64 nb, __u32 n, __u32 use)
{
	struct l3l2q_batch b;
	__u32 i;
	int got;

	got = l3l2q_l3_try_reserve_batch(&self->l3, nb, n, &b);
	if (got < 0)
		return got;
	if (use > (__u32)got)
		use = (__u32)got;
	if (l3l2q_l3_submit_batch(&self->l3, &b, use, L3L2Q_OP_DATA))
		return -EIO;
	for (i = 0; i < use; i++) {
		struct sent *s = &self->fifo[(self->first + self->count) % DEPTH];

		self->seq++;
		s->slot = ring(self) + ((self->seq - 1) % DEPTH) *
				       L3L2Q_DESC_BYTES;
		s->data = nb ? (const unsigned char *)b.data + i * nb : NULL;
		s->nbytes = nb;
		self->count++;
	}
	return (int)use;
}

/* The first batch of 2 x 64 B in an empty ring: the batch after it. */
TEST_F(pf, plans_the_batch_after_next)
{
	struct l3l2q_pf_run run[3];
	__u32 k;

	ASSERT_EQ(2, publish(self, 64, 2, 2));
	k = l3l2q__prod_prefetch_plan(&self->l3.ep, &self->l3.in, 2, 64, run);
	if (variant->shift) {
		/*
		 * 32 bytes past a line: the two slots hold no whole line, the
		 * payload bytes one.
		 */
		ASSERT_EQ(1u, k);
		EXPECT_EQ(arena(self) + 256 + 32, run[0].base);
		EXPECT_EQ(1u, run[0].lines);
		EXPECT_EQ(1, check_plan(_metadata, self, 2, 64));
		return;
	}
	/* Seqs 5 and 6: slots 4 and 5, one line; payload bytes 256..383. */
	ASSERT_EQ(2u, k);
	EXPECT_EQ(ring(self) + 128, run[0].base);
	EXPECT_EQ(1u, run[0].lines);
	EXPECT_EQ(arena(self) + 256, run[1].base);
	EXPECT_EQ(2u, run[1].lines);
	EXPECT_EQ(3, check_plan(_metadata, self, 2, 64));
}

/* A ring with no room for two more batches: the next one, what is free. */
TEST_F(pf, plans_the_next_batch_when_two_do_not_fit)
{
	struct l3l2q_pf_run run[3];
	__u32 k;

	ASSERT_EQ(6, publish(self, 64, 6, 6));	/* 10 slots free: 2 x 6 > 10 */
	k = l3l2q__prod_prefetch_plan(&self->l3.ep, &self->l3.in, 6, 64, run);
	ASSERT_GE(k, 1u);
	/* Slots 6..11: bytes 192..383 of the ring. */
	EXPECT_EQ(ring(self) + 192 + variant->shift, run[0].base);
	EXPECT_EQ(variant->shift ? 2u : 3u, run[0].lines);
	ASSERT_LE(0, check_plan(_metadata, self, 6, 64));
	/* Full: nothing is free, nothing is planned. */
	ASSERT_EQ(10, publish(self, 8, 10, 10));
	EXPECT_EQ(0u, l3l2q__prod_prefetch_plan(&self->l3.ep, &self->l3.in,
						10, 8, run));
}

/* The plan reads no shared word: a forged head changes nothing. */
TEST_F(pf, ignores_the_shared_head)
{
	struct l3l2q_pf_run a[3], b[3];
	__s32 *head = (__s32 *)((char *)self->m.counters +
				L3L2Q_CTR_INPUT_HEAD);
	__u32 ka, kb, i;

	ASSERT_EQ(4, publish(self, 64, 4, 4));
	ka = l3l2q__prod_prefetch_plan(&self->l3.ep, &self->l3.in, 4, 64, a);
	*head = 3;		/* as if three were released: not read */
	kb = l3l2q__prod_prefetch_plan(&self->l3.ep, &self->l3.in, 4, 64, b);
	ASSERT_EQ(ka, kb);
	for (i = 0; i < ka; i++) {
		EXPECT_EQ(a[i].base, b[i].base);
		EXPECT_EQ(a[i].lines, b[i].lines);
	}
}

/*
 * Batches of mixed sizes and counts, some submitted short, the L2
 * releasing a random number between them: every plan stays clear of what
 * is unreleased, through ring and arena wrap-around and padding.
 */
TEST_F(pf, never_plans_an_unreleased_line)
{
	static const __u64 sizes[] = { 0, 8, 24, 64, 72, 128, 200 };
	__u64 rng = 88172645463325252ull, nb, lines = 0;
	__u32 n, use;
	int i, got, planned = 0;

	for (i = 0; i < ROUNDS; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		nb = sizes[rng % (sizeof(sizes) / sizeof(sizes[0]))];
		n = 1 + (__u32)((rng >> 8) % DEPTH);
		use = (rng >> 16) % 4 ? n : n - 1;	/* some short */
		got = publish(self, nb, n, use);
		if (got == -EAGAIN) {
			ASSERT_EQ(0, release(self, self->count));
			continue;
		}
		ASSERT_LE(0, got);
		if (got) {
			int t = check_plan(_metadata, self, (__u64)got, nb);

			ASSERT_LE(0, t);
			lines += (__u64)t;
			planned += t > 0;
		}
		ASSERT_EQ(0, release(self, (__u32)((rng >> 24) %
						   (self->count + 1))));
	}
	/* Not vacuous: most batches had lines to ask for. */
	EXPECT_GT(planned, ROUNDS / 4);
	TH_LOG("%d plans, %llu lines", planned, (unsigned long long)lines);
}

TEST_HARNESS_MAIN
