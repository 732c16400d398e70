// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_queue.c - the L3Q2 queue kind: its geometry, its starting state,
 * the counters each role sleeps on and what poll reports.
 *
 * The region's sections (uapi l3l2q_region_layout()):
 *
 *   [control block, 4 KiB][counter block, own page][payload area]
 *
 * The counters are user (or device) memory: each is read once per check
 * with READ_ONCE() and only compared, never used as an index.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/seq_file.h>

#include "l3l2q_internal.h"

/**
 * l3l2q_counter_word() - a counter of a queue region
 * @r: a queue region
 * @offset: an L3L2Q_CTR_* offset (uapi)
 *
 * Return: the kernel's address of the counter; it is shared and untrusted.
 */
s32 *l3l2q_counter_word(struct l3l2q_region *r, unsigned int offset)
{
	return l3l2q_region_at(r, r->off.counter_offset + offset);
}

/* Overflow-checked; the status names the field, for pr_debug. */
static int l3l2q_queue_geometry(struct l3l2q_region *r,
				const struct l3l2q_create_args *args)
{
	enum l3l2q_layout_status st;

	st = l3l2q_layout(args->depth, args->input_arena_bytes,
			  args->output_arena_bytes, &r->layout.queue);
	if (st != L3L2Q_LAYOUT_OK) {
		pr_debug("create: %s\n", l3l2q_layout_strerror(st));
		return -EINVAL;
	}
	if (!l3l2q_region_layout(&r->layout.queue, &r->off)) {
		pr_debug("create: the region size overflows\n");
		return -EINVAL;
	}
	return 0;
}

static void l3l2q_queue_get_geometry(const struct l3l2q_region *r,
				     __u64 geom[3])
{
	geom[0] = r->layout.queue.depth;
	geom[1] = r->layout.queue.input_arena_bytes;
	geom[2] = r->layout.queue.output_arena_bytes;
}

/*
 * Give a fresh region its identity and starting state (the kernel's
 * counterpart of lib/core's l3l2q_region_init()).  The role state words are
 * the core's.  No file refers to the region yet, so plain stores are
 * enough: the fd that will make the memory reachable is published after
 * this.
 */
static void l3l2q_queue_format(struct l3l2q_region *r)
{
	struct l3l2q_ctrl_hdr *h = l3l2q_region_at(r, r->off.ctrl_offset);
	const struct l3l2q_layout *l = &r->layout.queue;
	s32 start = l3l2q_low32(r->start_pos);

	BUILD_BUG_ON(sizeof(struct l3l2q_ctrl_hdr) > L3L2Q_LINE_BYTES);
	h->magic = L3L2Q_CTRL_MAGIC;
	h->version = L3L2Q_CTRL_VERSION;
	h->queue_magic_version = L3L2Q_QUEUE_MAGIC_VERSION;
	h->depth = l->depth;
	h->input_arena_bytes = l->input_arena_bytes;
	h->output_arena_bytes = l->output_arena_bytes;
	h->start_pos = r->start_pos;
	h->flags = r->flags;
	h->resv0 = 0;
	h->resv1 = 0;

	/* Both directions start empty at start_pos (upstream reference §3). */
	*l3l2q_counter_word(r, L3L2Q_CTR_INPUT_TAIL) = start;
	*l3l2q_counter_word(r, L3L2Q_CTR_INPUT_HEAD) = start;
	*l3l2q_counter_word(r, L3L2Q_CTR_OUTPUT_TAIL) = start;
	*l3l2q_counter_word(r, L3L2Q_CTR_OUTPUT_HEAD) = start;
	*l3l2q_counter_word(r, L3L2Q_CTR_L3_ABORT) = 0;
	*l3l2q_counter_word(r, L3L2Q_CTR_L2_ABORT) = 0;
}

/* A dead role's abort flag (upstream's), unless it ended cleanly. */
static void l3l2q_queue_died(struct l3l2q_region *r, enum l3l2q_end_role role,
			     bool abort)
{
	if (abort)
		/* Pairs with the survivor's load-acquire of the abort flag. */
		smp_store_release(l3l2q_counter_word(r, role == L3L2Q_END_L3 ?
						     L3L2Q_CTR_L3_ABORT :
						     L3L2Q_CTR_L2_ABORT), 1);
}

/*
 * The counters a role may wait on: the ones the other role writes and this
 * role needs to see move (uapi: the need-wakeup table).
 */
static u32 *l3l2q_queue_wait_word(struct l3l2q_region *r,
				  enum l3l2q_end_role role, unsigned int id)
{
	switch (id) {
	case L3L2Q_CTR_OUTPUT_TAIL:	/* output to read */
	case L3L2Q_CTR_INPUT_HEAD:	/* input space */
		if (role != L3L2Q_END_L3)
			return NULL;
		break;
	case L3L2Q_CTR_INPUT_TAIL:	/* input to read */
	case L3L2Q_CTR_OUTPUT_HEAD:	/* output space */
		if (role != L3L2Q_END_L2)
			return NULL;
		break;
	default:
		return NULL;
	}
	return (u32 *)l3l2q_counter_word(r, id);
}

/*
 * What may end a wait of @role: the two counters it may WAIT on, then the
 * peer's abort flag (a peer that poisons its endpoint raises it, and a
 * sleeper in libl3l2q looks at it when woken).
 */
static u32 *l3l2q_queue_watch_word(struct l3l2q_region *r,
				   enum l3l2q_end_role role, unsigned int i)
{
	static const unsigned int l3[] = {
		L3L2Q_CTR_OUTPUT_TAIL, L3L2Q_CTR_INPUT_HEAD, L3L2Q_CTR_L2_ABORT,
	};
	static const unsigned int l2[] = {
		L3L2Q_CTR_INPUT_TAIL, L3L2Q_CTR_OUTPUT_HEAD, L3L2Q_CTR_L3_ABORT,
	};

	BUILD_BUG_ON(ARRAY_SIZE(l3) > L3L2Q_POLL_WORDS);
	BUILD_BUG_ON(ARRAY_SIZE(l2) > L3L2Q_POLL_WORDS);
	if (i >= ARRAY_SIZE(l3))
		return NULL;
	return (u32 *)l3l2q_counter_word(r, role == L3L2Q_END_L3 ? l3[i] :
								   l2[i]);
}

/* upstream's test(flag, 1, GE) on the peer's abort flag, read once. */
static bool l3l2q_queue_peer_aborted(struct l3l2q_region *r,
				     enum l3l2q_end_role role)
{
	s32 flag = READ_ONCE(*l3l2q_counter_word(r, role == L3L2Q_END_L3 ?
						 L3L2Q_CTR_L2_ABORT :
						 L3L2Q_CTR_L3_ABORT));

	return flag >= 1;
}

/*
 * EPOLLIN   something for this role to consume: L3 output, L2 input
 *           (tail != head);
 * EPOLLOUT  a free descriptor slot in the ring this role produces into:
 *           (u32)(tail - head) < depth.  Arena space is not visible to the
 *           kernel, so a free slot is all EPOLLOUT promises.
 *
 * Each counter is read once.  Garbage counters give some answer, never a
 * problem for the kernel.
 */
static __poll_t l3l2q_queue_poll(struct l3l2q_region *r,
				 enum l3l2q_end_role role)
{
	bool l3 = role == L3L2Q_END_L3;
	u32 in_tail, in_head, out_tail, out_head;
	__poll_t mask = 0;

	/* L3 consumes output and produces input; L2 the other way round. */
	in_tail = READ_ONCE(*l3l2q_counter_word(r, l3 ? L3L2Q_CTR_OUTPUT_TAIL :
							  L3L2Q_CTR_INPUT_TAIL));
	in_head = READ_ONCE(*l3l2q_counter_word(r, l3 ? L3L2Q_CTR_OUTPUT_HEAD :
							  L3L2Q_CTR_INPUT_HEAD));
	out_tail = READ_ONCE(*l3l2q_counter_word(r, l3 ? L3L2Q_CTR_INPUT_TAIL :
							   L3L2Q_CTR_OUTPUT_TAIL));
	out_head = READ_ONCE(*l3l2q_counter_word(r, l3 ? L3L2Q_CTR_INPUT_HEAD :
							   L3L2Q_CTR_OUTPUT_HEAD));

	if (in_tail != in_head)
		mask |= EPOLLIN | EPOLLRDNORM;
	if ((u64)(out_tail - out_head) < r->layout.queue.depth)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static const struct {
	const char *name;
	unsigned int offset;
} l3l2q_queue_counters[] = {
	{ "input_tail",		L3L2Q_CTR_INPUT_TAIL },
	{ "input_head",		L3L2Q_CTR_INPUT_HEAD },
	{ "output_tail",	L3L2Q_CTR_OUTPUT_TAIL },
	{ "output_head",	L3L2Q_CTR_OUTPUT_HEAD },
	{ "l3_abort",		L3L2Q_CTR_L3_ABORT },
	{ "l2_abort",		L3L2Q_CTR_L2_ABORT },
};

/* The same counters' fdinfo keys (docs/driver.rst), in the same order. */
static const char *const l3l2q_queue_fdinfo_keys[] = {
	"input-tail", "input-head", "output-tail", "output-head",
	"l3-abort", "l2-abort",
};

/* The private geometry, then each counter read once and only printed. */
static void l3l2q_queue_show(struct seq_file *m, struct l3l2q_region *r)
{
	const struct l3l2q_layout *l = &r->layout.queue;
	unsigned int i;

	seq_printf(m, "depth: %llu\n", l->depth);
	seq_printf(m, "input_arena_bytes: %llu\n", l->input_arena_bytes);
	seq_printf(m, "output_arena_bytes: %llu\n", l->output_arena_bytes);
	seq_printf(m, "start_pos: %llu\n", r->start_pos);
	seq_printf(m, "counter_offset: %llu\n", r->off.counter_offset);
	seq_printf(m, "payload_offset: %llu\n", r->off.payload_offset);
	seq_printf(m, "payload_bytes: %llu\n", r->off.payload_bytes);
	for (i = 0; i < ARRAY_SIZE(l3l2q_queue_counters); i++) {
		s32 *word = l3l2q_counter_word(r,
					       l3l2q_queue_counters[i].offset);

		seq_printf(m, "%s: %d\n", l3l2q_queue_counters[i].name,
			   READ_ONCE(*word));
	}
}

/*
 * fdinfo: the geometry, and with @mem each counter read once (its low 32
 * bits, as stored) and what each ring holds computed from those very
 * values, so the lines agree with each other whatever the words say.
 */
static void l3l2q_queue_show_fdinfo(struct seq_file *m,
				    struct l3l2q_region *r, bool mem)
{
	const struct l3l2q_layout *l = &r->layout.queue;
	u32 v[ARRAY_SIZE(l3l2q_queue_counters)];
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(l3l2q_queue_fdinfo_keys) !=
		     ARRAY_SIZE(l3l2q_queue_counters));
	seq_printf(m, "l3l2q-depth:\t%llu\n", l->depth);
	seq_printf(m, "l3l2q-input-arena-bytes:\t%llu\n", l->input_arena_bytes);
	seq_printf(m, "l3l2q-output-arena-bytes:\t%llu\n",
		   l->output_arena_bytes);
	seq_printf(m, "l3l2q-start-pos:\t%llu\n", r->start_pos);
	if (!mem)
		return;
	for (i = 0; i < ARRAY_SIZE(l3l2q_queue_counters); i++) {
		v[i] = (u32)READ_ONCE(*l3l2q_counter_word(r,
					l3l2q_queue_counters[i].offset));
		seq_printf(m, "l3l2q-%s:\t%u\n", l3l2q_queue_fdinfo_keys[i],
			   v[i]);
	}
	/* In the order of l3l2q_queue_counters: tails before heads. */
	seq_printf(m, "l3l2q-input-used:\t%u\n", v[0] - v[1]);
	seq_printf(m, "l3l2q-output-used:\t%u\n", v[2] - v[3]);
}

const struct l3l2q_kind_ops l3l2q_queue_kind = {
	.kind		= L3L2Q_KIND_QUEUE,
	.name		= "queue",
	.geometry	= l3l2q_queue_geometry,
	.format		= l3l2q_queue_format,
	.died		= l3l2q_queue_died,
	.get_geometry	= l3l2q_queue_get_geometry,
	.wait_word	= l3l2q_queue_wait_word,
	.watch_word	= l3l2q_queue_watch_word,
	.peer_aborted	= l3l2q_queue_peer_aborted,
	.poll		= l3l2q_queue_poll,
	.show		= l3l2q_queue_show,
	.show_fdinfo	= l3l2q_queue_show_fdinfo,
};
