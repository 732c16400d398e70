// SPDX-License-Identifier: MIT
/*
 * The region as a whole: preparing a fresh one (the creator's job) and
 * checking the upstream L2 task scalars that describe one.
 */
#include "internal.h"

int l3l2q_region_init(const struct l3l2q_mem *mem,
		      const struct l3l2q_layout *layout, __u64 start_pos,
		      __u32 flags)
{
	unsigned char *ctr;
	struct l3l2q_ctrl_hdr *h;

	if (!mem || !layout || !mem->counters ||
	    start_pos > L3L2Q_START_POS_MAX)
		return -EINVAL;
	ctr = mem->counters;
	h = mem->ctrl;
	/* Before the region is shared: ordinary stores are enough. */
	if (h) {
		h->magic = L3L2Q_CTRL_MAGIC;
		h->version = L3L2Q_CTRL_VERSION;
		h->queue_magic_version = L3L2Q_QUEUE_MAGIC_VERSION;
		h->depth = layout->depth;
		h->input_arena_bytes = layout->input_arena_bytes;
		h->output_arena_bytes = layout->output_arena_bytes;
		h->start_pos = start_pos;
		h->flags = flags;
		h->resv0 = 0;
		h->resv1 = 0;
	}
	*(__s32 *)(ctr + L3L2Q_CTR_INPUT_TAIL) = l3l2q_low32(start_pos);
	*(__s32 *)(ctr + L3L2Q_CTR_INPUT_HEAD) = l3l2q_low32(start_pos);
	*(__s32 *)(ctr + L3L2Q_CTR_OUTPUT_TAIL) = l3l2q_low32(start_pos);
	*(__s32 *)(ctr + L3L2Q_CTR_OUTPUT_HEAD) = l3l2q_low32(start_pos);
	*(__s32 *)(ctr + L3L2Q_CTR_L3_ABORT) = 0;
	*(__s32 *)(ctr + L3L2Q_CTR_L2_ABORT) = 0;
	return 0;
}

enum {
	S_REGION_MV, S_REGION_ID, S_PAYLOAD_BASE, S_PAYLOAD_BYTES,
	S_COUNTER_BASE, S_COUNTER_BYTES, S_QUEUE_MV, S_DEPTH, S_IN_ARENA,
	S_OUT_ARENA, S_Q_PAYLOAD_BYTES, S_Q_COUNTER_BYTES, S_COUNT
};

static int bad(struct l3l2q_error *err, const char *what, __u64 v)
{
	if (err)
		l3l2q__record(err, L3L2Q_ERR_BAD_DESCRIPTOR, L3L2Q_EOP_INIT, 0,
			      what, v, ")", 0, NULL);
	return -EINVAL;
}

int l3l2q_validate_scalars(const __u64 *s, unsigned int count,
			   struct l3l2q_layout *layout,
			   struct l3l2q_error *err)
{
	struct l3l2q_layout l;
	enum l3l2q_layout_status st;
	__u64 pend, cend;

	if (!s || count < S_COUNT)
		return bad(err, "expected 12 task scalars (got ", s ? count : 0);
	/* The region descriptor, in upstream's order (reference §1.1). */
	if (l3l2q_mv_magic(s[S_REGION_MV]) != L3L2Q_REGION_MAGIC ||
	    l3l2q_mv_major(s[S_REGION_MV]) != L3L2Q_REGION_ABI_MAJOR)
		return bad(err, "region magic_version mismatch (got ",
			   s[S_REGION_MV]);
	if (!s[S_REGION_ID])
		return bad(err, "region_id must not be 0 (got ", 0);
	if (!s[S_PAYLOAD_BYTES] ||
	    !l3l2q__add_ok(s[S_PAYLOAD_BASE], s[S_PAYLOAD_BYTES], &pend))
		return bad(err, "bad payload range (payload_bytes ",
			   s[S_PAYLOAD_BYTES]);
	if (!s[S_COUNTER_BYTES] || s[S_COUNTER_BYTES] % 4 ||
	    s[S_COUNTER_BASE] % L3L2Q_LINE_BYTES ||
	    !l3l2q__add_ok(s[S_COUNTER_BASE], s[S_COUNTER_BYTES], &cend) ||
	    (s[S_COUNTER_BASE] < pend && s[S_PAYLOAD_BASE] < cend))
		return bad(err, "bad counter range (counter_bytes ",
			   s[S_COUNTER_BYTES]);
	/* The queue arguments (reference §1.4): exact equalities only. */
	if (s[S_QUEUE_MV] != L3L2Q_QUEUE_MAGIC_VERSION)
		return bad(err, "queue magic_version mismatch (got ",
			   s[S_QUEUE_MV]);
	st = l3l2q_wire_layout(s[S_DEPTH], s[S_IN_ARENA], s[S_OUT_ARENA], &l);
	if (st != L3L2Q_LAYOUT_OK) {
		if (err)
			l3l2q__record(err, L3L2Q_ERR_BAD_DESCRIPTOR,
				      L3L2Q_EOP_INIT, s[S_REGION_ID],
				      l3l2q_layout_strerror(st), 0, NULL, 0,
				      NULL);
		return -EINVAL;
	}
	if (s[S_Q_PAYLOAD_BYTES] != l.payload_bytes ||
	    s[S_PAYLOAD_BYTES] != l.payload_bytes)
		return bad(err, "payload_bytes must equal the layout's (",
			   l.payload_bytes);
	if (s[S_Q_COUNTER_BYTES] != L3L2Q_COUNTER_BYTES ||
	    s[S_COUNTER_BYTES] != L3L2Q_COUNTER_BYTES)
		return bad(err, "counter_bytes must equal 384 (got ",
			   s[S_COUNTER_BYTES]);
	if (layout)
		*layout = l;
	return 0;
}
