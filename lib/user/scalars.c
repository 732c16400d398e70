// SPDX-License-Identifier: MIT
/*
 * The upstream L2 task arguments of a queue: the twelve u64 scalars an L2
 * written for the upstream ABI receives (reference §1.1 and §1.5), so an
 * integrator never builds them by hand.
 */
#include <errno.h>

#include "queue.h"

int l3l2q_queue_scalars(const struct l3l2q_queue *q, __u64 base,
			__u64 region_id, __u64 out[12])
{
	__u64 payload, counters, end;

	if (!q || !out || !region_id)
		return -EINVAL;
	/* Where the L2 sees each section: its view of the mapping + offset. */
	if (!l3l2q__add_ok(base, q->off.payload_offset, &payload) ||
	    !l3l2q__add_ok(payload, q->layout.payload_bytes, &end) ||
	    !l3l2q__add_ok(base, q->off.counter_offset, &counters) ||
	    !l3l2q__add_ok(counters, L3L2Q_COUNTER_BYTES, &end))
		return -EOVERFLOW;
	/* An upstream L2 refuses a counter block off a 64-byte line. */
	if (counters % L3L2Q_LINE_BYTES)
		return -EINVAL;
	out[0] = L3L2Q_REGION_MAGIC_VERSION;
	out[1] = region_id;
	out[2] = payload;
	out[3] = q->layout.payload_bytes;
	out[4] = counters;
	out[5] = L3L2Q_COUNTER_BYTES;
	out[6] = L3L2Q_QUEUE_MAGIC_VERSION;
	out[7] = q->layout.depth;
	out[8] = q->layout.input_arena_bytes;
	out[9] = q->layout.output_arena_bytes;
	out[10] = q->layout.payload_bytes;
	out[11] = L3L2Q_COUNTER_BYTES;
	return 0;
}
