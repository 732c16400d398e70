// SPDX-License-Identifier: MIT
/*
 * Payload arena cursors (reference §4).  Cursors are private logical byte
 * positions, derived from descriptor history on each side and never shared;
 * a physical offset is arena_offset + cursor % arena_bytes.  A payload never
 * straddles the end of the arena: the producer skips the tail of the arena
 * (invisible padding) and places the payload at the base.
 */
#include "internal.h"

int l3l2q__in_arena(__u64 arena_offset, __u64 arena_bytes, __u64 offset,
		    __u64 n)
{
	/* Written so that no sum can overflow. */
	return offset >= arena_offset && n <= arena_bytes &&
	       offset - arena_offset <= arena_bytes - n;
}

int l3l2q__arena_advance(__u64 *cur, __u64 arena_offset, __u64 arena_bytes,
			 __u64 offset, __u64 n)
{
	__u64 pos = l3l2q__arena_pos(*cur, arena_bytes);

	if (offset == arena_offset + pos && n <= arena_bytes - pos) {
		*cur += n;
		return 1;
	}
	/*
	 * At the base instead: the producer padded to the end of the arena.
	 * The strict upstream rule accepts this only when the payload would
	 * not fit before the end; we also accept it when a peer committed
	 * padding on a reservation that then failed (pitfall P9).
	 */
	if (offset == arena_offset && n <= arena_bytes) {
		*cur += arena_bytes - pos + n;
		return 1;
	}
	return 0;
}

void l3l2q__slot_read(const unsigned char *ring, __u64 depth, __u64 seq,
		      struct l3l2q_desc *d)
{
	const struct l3l2q_desc *s = (const struct l3l2q_desc *)
		(ring + ((seq - 1) & (depth - 1)) * L3L2Q_DESC_BYTES);

	/*
	 * No ordering of its own: the caller acquired the tail (or head)
	 * counter that covers this slot.  Each word is read exactly once and
	 * only the copy is used afterwards (pitfall P5).
	 */
	d->seq = l3l2q_load_once_u64(&s->seq);
	d->opcode = l3l2q_load_once_u64(&s->opcode);
	d->payload_offset = l3l2q_load_once_u64(&s->payload_offset);
	d->payload_nbytes = l3l2q_load_once_u64(&s->payload_nbytes);
}
