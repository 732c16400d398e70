// SPDX-License-Identifier: MIT
/*
 * The producer half of one direction: L3's input, L2's output.
 *
 *   reserve: refresh head (A) -> payload head from the private history
 *            (or a replay of the released slots) -> slot + arena span
 *   fill:    the caller writes the payload
 *   publish: fields -> seq (B) -> tail counter (C)
 *
 * (A) acquire of the head counter pairs with the consumer's release (D in
 *     consumer.c): once we see head, the consumer is done with every slot
 *     and payload byte below it, so they may be overwritten.
 * (B) release of seq: the validity marker is never visible before the
 *     fields (a consumer reading it under the tail's cover does not need it;
 *     a DMA-style peer may).
 * (C) release of the tail counter pairs with the consumer's acquire (E):
 *     the payload and the whole slot are visible before the new tail.
 *
 * Deferred publishing (l3l2q_*_publish_defer, then l3l2q_*_flush): the
 * slot is written and the private tail moves, but (C) and the need-wakeup
 * check wait for the flush, so a batch costs one tail store and one fence.
 * Any plain publish, STOP included, publishes the deferred ones with it;
 * a reservation that finds no space flushes first, so a producer can never
 * wait for space that only its own unpublished entries hold.
 */
#include "internal.h"
#include "prefetch.h"

void l3l2q__prod_init(struct l3l2q_prod *p, struct l3l2q_ep *ep, int is_input,
		      __u64 start_pos)
{
	const struct l3l2q_layout *l = &ep->layout;
	unsigned char *ctr = ep->mem.counters;

	l3l2q__memset(p, 0, sizeof(*p));
	p->is_input = !!is_input;
	p->ring = (unsigned char *)ep->mem.payload +
		  (is_input ? l->input_desc_offset : l->output_desc_offset);
	p->tail_ctr = (__s32 *)(ctr + (is_input ? L3L2Q_CTR_INPUT_TAIL :
					L3L2Q_CTR_OUTPUT_TAIL));
	p->head_ctr = (__s32 *)(ctr + (is_input ? L3L2Q_CTR_INPUT_HEAD :
					L3L2Q_CTR_OUTPUT_HEAD));
	p->depth = l->depth;
	p->arena_offset = is_input ? l->input_arena_offset :
				     l->output_arena_offset;
	p->arena_bytes = is_input ? l->input_arena_bytes :
				    l->output_arena_bytes;
	/* The fast enqueue's position mask, checked with its size test. */
	if (!(p->arena_bytes & (p->arena_bytes - 1)))
		p->arena_fast = p->arena_bytes;
	p->tail = start_pos;
	p->head = start_pos;
	p->pf_write = (__u8)l3l2q__can_prefetch_write();
}

/*
 * The consumer released up to @head (> p->head, <= p->tail, validated):
 * move the payload head there.  Within the private history the cursor is
 * the one we recorded when we published @head; further back (a ring deeper
 * than the history, or @replay) the released slots are replayed from the
 * ring, each checked against the arena.  Local state changes only on
 * success.
 */
static int move_head(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u64 head,
		     int replay, __u32 op)
{
	struct l3l2q_desc d;
	__u64 cur, ph;

	if (!replay && p->tail - head < L3L2Q_PROD_HIST) {
		ph = p->hist[head & (L3L2Q_PROD_HIST - 1)];
		goto done;
	}
	ph = p->phead;
	for (cur = p->head; cur < head; cur++) {
		l3l2q__resched_point(cur);
		l3l2q__slot_read(p->ring, p->depth, cur + 1, &d);
		if (d.seq != cur + 1)
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "release replay seq mismatch: expected ",
					     cur + 1, ", found ", d.seq, "");
		if (!d.payload_nbytes)
			continue;	/* zero-byte: no cursor moves */
		if (!l3l2q__arena_advance(&ph, p->arena_offset, p->arena_bytes,
					  d.payload_offset, d.payload_nbytes))
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "payload replay offset mismatch at seq ",
					     cur + 1, "", 0, NULL);
	}
done:
	/* A released head can never pass what we reserved. */
	if (ph > p->ptail)
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "payload replay passed the payload tail",
				     0, NULL, 0, NULL);
	p->head = head;
	p->phead = ph;
	return 0;
}

/* Reconstruct the head counter the consumer moved to @seen (A was done). */
static int head_moved(struct l3l2q_ep *ep, struct l3l2q_prod *p, __s32 seen,
		      int replay, __u32 op)
{
	__u64 head;

	if (!l3l2q_reconstruct(p->head, seen, p->depth, &head) ||
	    head > p->tail)
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "counter reconstruction failed: head counter moved from ",
				     p->head, " beyond the published tail ",
				     p->tail, NULL);
	return move_head(ep, p, head, replay, op);
}

int l3l2q__prod_head_moved(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			   __s32 seen, __u32 op)
{
	return head_moved(ep, p, seen, 0, op);
}

/* Learn how far the consumer released; local state moves on a match. */
static int refresh_head(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u32 op)
{
	__s32 seen = l3l2q_load_acquire_s32(p->head_ctr);	/* (A) */

	if (seen == l3l2q_low32(p->head))
		return 0;
	return head_moved(ep, p, seen, 0, op);
}

/*
 * Before many producers take over (mp.c): what was published so far is
 * replayed from the ring, checked slot by slot.
 */
int l3l2q__prod_refresh(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u32 op)
{
	__s32 seen = l3l2q_load_acquire_s32(p->head_ctr);	/* (A) */

	if (seen == l3l2q_low32(p->head))
		return 0;
	return head_moved(ep, p, seen, 1, op);
}

/* (C), then P2-P4 of the need-wakeup protocol (uapi/l3l2q.h). */
void l3l2q__prod_publish_tail(struct l3l2q_ep *ep, struct l3l2q_prod *p)
{
	p->deferred = 0;
	l3l2q_store_release_s32(p->tail_ctr, l3l2q_low32(p->tail));	/* (C) */
	l3l2q__notify(ep, p->is_input ? L3L2Q_WAKE_INPUT_AVAIL :
					L3L2Q_WAKE_OUTPUT_AVAIL,
		      (__u32)l3l2q_low32(p->tail));
}

/* No space: deferred entries must become visible before anyone waits. */
static int no_space(struct l3l2q_ep *ep, struct l3l2q_prod *p)
{
	if (p->deferred)
		l3l2q__prod_publish_tail(ep, p);
	return l3l2q__again(ep, p->is_input ? L3L2Q_DIR_INPUT :
					      L3L2Q_DIR_OUTPUT);
}

int l3l2q__prod_try_reserve(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			    __u64 n, struct l3l2q_res *res, __u32 op)
{
	__u64 a = p->arena_bytes, pos, pad = 0, offset = 0;
	int ret;

	/* The caller checked the endpoint (role and state). */
	if (!res)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "res must not be NULL", 0, NULL, 0, NULL);
	/* One reservation at a time; a second is a broken caller (P17). */
	if (p->res_active)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "a reservation is already active (seq ",
				     p->res_seq, ")", 0, NULL);
	if (n > a)
		return l3l2q__reject(ep, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "payload of ", n, " bytes exceeds the ", a,
				     "-byte arena");
	ret = refresh_head(ep, p, op);
	if (ret)
		return ret;
	if (p->tail - p->head >= p->depth)
		return no_space(ep, p);	/* every slot in use */
	if (n) {
		pos = l3l2q__arena_pos(p->ptail, a);
		if (n > a - pos)
			pad = a - pos;	/* never split a payload at the wrap */
		/*
		 * Padding is committed only together with a successful
		 * reservation (DESIGN.md §2, pitfall P9).
		 *
		 * An empty arena (every payload released) always takes a
		 * payload of up to its size: nothing live can overlap the
		 * padding or the span.  Upstream's rule counts the padding as
		 * used even then, so a payload larger than the cursor's
		 * position never fits and the producer waits forever.  The
		 * cursors may then span more than the arena until the next
		 * release; the check below stays conservative meanwhile.
		 */
		if (p->ptail != p->phead && p->ptail + pad + n - p->phead > a)
			return no_space(ep, p);	/* not enough contiguous space */
		offset = p->arena_offset + (pad ? 0 : pos);
		p->ptail += pad + n;
	}
	p->res_active = 1;
	p->res_seq = p->tail + 1;
	p->res_offset = offset;
	p->res_nbytes = n;
	res->seq = p->res_seq;
	res->offset = offset;
	res->nbytes = n;
	res->data = n ? (unsigned char *)ep->mem.payload + offset : (void *)0;
	return 0;
}

/* Validate @res and write its slot; the tail counter is not touched. */
static int publish_slot(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			const struct l3l2q_res *res, __u64 opcode, __u32 op)
{
	struct l3l2q_desc *slot;
	void *data;

	if (!res)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "res must not be NULL", 0, NULL, 0, NULL);
	data = p->res_nbytes ? (unsigned char *)ep->mem.payload + p->res_offset :
			       (void *)0;
	/* Stale, double-published, mutated or foreign reservations. */
	if (p->res_active != 1 || res->seq != p->res_seq ||
	    res->offset != p->res_offset || res->nbytes != p->res_nbytes ||
	    res->data != data)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "unknown reservation", 0, NULL, 0, NULL);
	if (opcode != L3L2Q_OP_DATA && opcode != L3L2Q_OP_ERROR &&
	    !(opcode == L3L2Q_OP_STOP && p->is_input && !p->res_nbytes))
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "opcode ", opcode,
				     p->is_input ? " cannot be published on the input ring" :
				     " cannot be published on the output ring",
				     0, NULL);

	slot = (struct l3l2q_desc *)(p->ring + ((p->res_seq - 1) &
					       (p->depth - 1)) * L3L2Q_DESC_BYTES);
	l3l2q_store_once_u64(&slot->opcode, opcode);
	l3l2q_store_once_u64(&slot->payload_offset, p->res_offset);
	l3l2q_store_once_u64(&slot->payload_nbytes, p->res_nbytes);
	l3l2q_store_release_u64(&slot->seq, p->res_seq);	/* (B) */
	p->hist[p->res_seq & (L3L2Q_PROD_HIST - 1)] = p->ptail;
	p->tail = p->res_seq;
	p->res_active = 0;
	if (opcode == L3L2Q_OP_STOP)
		p->stopped = 1;
	return 0;
}

int l3l2q__prod_publish(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			const struct l3l2q_res *res, __u64 opcode, __u32 op)
{
	int ret = publish_slot(ep, p, res, opcode, op);

	if (!ret)
		l3l2q__prod_publish_tail(ep, p);
	return ret;
}

int l3l2q__prod_publish_defer(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			      const struct l3l2q_res *res, __u64 opcode,
			      __u32 op)
{
	int ret = publish_slot(ep, p, res, opcode, op);

	if (!ret) {
		p->deferred = 1;
		/* STOP is last: nothing can follow it to flush it. */
		if (p->stopped)
			l3l2q__prod_publish_tail(ep, p);
	}
	return ret;
}

int l3l2q__prod_flush(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u32 op)
{
	(void)op;
	if (p->deferred)
		l3l2q__prod_publish_tail(ep, p);
	return 0;
}

/*
 * A batch (l3l2q_*_try_reserve_batch): up to @n slots and @n * @nbytes
 * contiguous payload bytes, under the single reservation's rules applied
 * to the whole run -- the head counter acquired and reconstructed (a
 * forged one poisons here), one reservation at a time, the payload never
 * split at the arena's end (padding committed only with a success), and
 * never more than the ring and the arena hold.  Returns the count.
 */
int l3l2q__prod_reserve_batch(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			      __u64 nbytes, __u32 n, struct l3l2q_batch *b,
			      __u32 op)
{
	__u64 a = p->arena_bytes, pos, pad = 0, offset = 0, k, fit, used;
	__u64 start = p->ptail;
	int ret;

	/* The caller checked the endpoint (role and state). */
	if (!b)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "b must not be NULL", 0, NULL, 0, NULL);
	if (!n)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "n must not be 0", 0, NULL, 0, NULL);
	if (p->res_active)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "a reservation is already active (seq ",
				     p->res_seq, ")", 0, NULL);
	if (nbytes > a)
		return l3l2q__reject(ep, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "payload of ", nbytes, " bytes exceeds the ",
				     a, "-byte arena");
	ret = refresh_head(ep, p, op);
	if (ret)
		return ret;
	k = p->depth - (p->tail - p->head);	/* free slots */
	if (!k)
		return no_space(ep, p);
	if (k > n)
		k = n;
	if (nbytes) {
		pos = l3l2q__arena_pos(p->ptail, a);
		if (nbytes > a - pos)
			pad = a - pos;	/* not even one fits before the end */
		start = p->ptail + pad;
		fit = (a - (pad ? 0 : pos)) / nbytes;	/* before the end */
		/* As one reservation: an empty arena takes what fits. */
		if (p->ptail != p->phead) {
			used = start - p->phead;
			if (used > a - nbytes)
				return no_space(ep, p);
			if (fit > (a - used) / nbytes)
				fit = (a - used) / nbytes;
		}
		if (k > fit)
			k = fit;	/* >= 1: nbytes <= a - used */
		offset = p->arena_offset + (pad ? 0 : pos);
	}
	p->res_active = 2;
	p->res_seq = p->tail + 1;
	p->res_offset = offset;
	p->res_nbytes = nbytes;
	p->res_n = (__u32)k;
	p->res_p0 = p->ptail;
	p->res_pstart = start;
	p->ptail = start + k * nbytes;
	b->seq = p->res_seq;
	b->nbytes = nbytes;
	b->data = nbytes ? (unsigned char *)ep->mem.payload + offset :
			   (void *)0;
	b->n = (__u32)k;
	b->reserved = 0;
	return (int)k;
}

/*
 * A run of the whole 64-byte lines inside the @len bytes at @lo, at most
 * @max of them, in @r; returns how many (0: none, @r untouched).  Lines by
 * address: the payload base need not be aligned.
 */
static __u64 plan_run(struct l3l2q_pf_run *r, const unsigned char *lo,
		      __u64 len, __u64 max)
{
	/* Bytes up to the next line boundary. */
	__u64 skip = -(unsigned long)lo & (L3L2Q_LINE_BYTES - 1), k;

	if (len <= skip)
		return 0;
	k = (len - skip) / L3L2Q_LINE_BYTES;
	if (k > max)
		k = max;
	if (k) {
		r->base = lo + skip;
		r->lines = k;
	}
	return k;
}

/*
 * After a batch of @n messages of @nb bytes is published, the lines the
 * batch after the next one of that shape will write (the next one when
 * the ring has no room for both), up to L3L2Q_PREFETCH_LINES: its slots,
 * then its payload bytes.  From private state only, and only lines the
 * cached head says are free, whole: a line that also holds a published
 * slot or payload may be what the consumer reads now.  Returns the number
 * of runs in @run.
 */
__u32 l3l2q__prod_prefetch_plan(const struct l3l2q_ep *ep,
				const struct l3l2q_prod *p, __u64 n,
				__u64 nb, struct l3l2q_pf_run run[3])
{
	__u64 rb = p->depth * L3L2Q_DESC_BYTES, a = p->arena_bytes;
	__u64 free = p->depth - (p->tail - p->head);
	__u64 used = p->ptail - p->phead, pfree = used < a ? a - used : 0;
	__u64 skip, lo, len, first, pos, k, left = L3L2Q_PREFETCH_LINES;
	__u32 i = 0;

	/*
	 * used may pass a: a batch that found the arena empty skipped its
	 * end (padding) and then took all of it.  n * nb <= a: the batch
	 * was reserved inside the arena.
	 */
	skip = 2 * n <= free && 2 * n * nb <= pfree ? n : 0;
	if (n > free - skip)
		n = free - skip;
	/* Seq s sits in slot (s - 1) % depth; the ring may wrap once. */
	lo = ((p->tail + skip) & (p->depth - 1)) * L3L2Q_DESC_BYTES;
	len = n * L3L2Q_DESC_BYTES;
	first = len < rb - lo ? len : rb - lo;
	k = plan_run(&run[i], p->ring + lo, first, left);
	i += k != 0;
	left -= k;
	k = plan_run(&run[i], p->ring, len - first, left);
	i += k != 0;
	left -= k;
	if (!nb || !left)
		return i;
	len = n * nb;
	if (len > pfree - skip * nb)
		len = pfree - skip * nb;	/* free by the head */
	pos = l3l2q__arena_pos(p->ptail + skip * nb, a);
	if (len > a - pos)
		len = a - pos;			/* up to the arena's end */
	k = plan_run(&run[i], (const unsigned char *)ep->mem.payload +
		     p->arena_offset + pos, len, left);
	return i + (k != 0);
}

/*
 * Ask for the lines of l3l2q__prod_prefetch_plan() for writing.  Without
 * it each store of the next batches waits in turn for the consumer's copy
 * of its line to go; with it they are asked for together, a batch ahead
 * (docs/performance.md, "64 B batched").  A hint: nothing is read or
 * written, and the consumer's lines are not touched.
 */
static void prefetch_ahead(const struct l3l2q_ep *ep,
			   const struct l3l2q_prod *p, __u64 n, __u64 nb)
{
	struct l3l2q_pf_run run[3];
	const unsigned char *at;
	__u32 i, k = l3l2q__prod_prefetch_plan(ep, p, n, nb, run);
	__u64 j;

	for (i = 0; i < k; i++)
		for (at = run[i].base, j = run[i].lines; j;
		     j--, at += L3L2Q_LINE_BYTES)
			l3l2q__prefetch_write(at);
}

/*
 * Publish the first @n messages of the batch @b names (every field equal
 * to what was handed out) as @opcode, DATA or ERROR: the slots (B), then
 * one tail store (C) and one need-wakeup check for them and anything
 * deferred.  The rest of the run is given back; @n == 0 cancels it.
 */
int l3l2q__prod_submit_batch(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			     const struct l3l2q_batch *b, __u32 n,
			     __u64 opcode, __u32 op)
{
	__u64 nb = p->res_nbytes, off = p->res_offset, seq = p->res_seq;
	__u64 cur = p->res_pstart, idx, mask = p->depth - 1;
	struct l3l2q_desc *slot;
	void *data;
	__u32 i;

	if (!b)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "b must not be NULL", 0, NULL, 0, NULL);
	data = nb ? (unsigned char *)ep->mem.payload + off : (void *)0;
	/* Stale, double-submitted, mutated or foreign batches. */
	if (p->res_active != 2 || b->seq != seq || b->nbytes != nb ||
	    b->n != p->res_n || b->data != data)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "unknown batch reservation", 0, NULL, 0,
				     NULL);
	if (n > p->res_n)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "n ", n, " exceeds the ", p->res_n,
				     " messages reserved");
	if (opcode != L3L2Q_OP_DATA && opcode != L3L2Q_OP_ERROR)
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "opcode ", opcode,
				     " cannot be submitted in a batch", 0, NULL);
	idx = (seq - 1) & mask;
	for (i = 0; i < n; i++) {
		slot = (struct l3l2q_desc *)(p->ring + idx * L3L2Q_DESC_BYTES);
		l3l2q_store_once_u64(&slot->opcode, opcode);
		l3l2q_store_once_u64(&slot->payload_offset, off);
		l3l2q_store_once_u64(&slot->payload_nbytes, nb);
		l3l2q_store_release_u64(&slot->seq, seq + i);	/* (B) */
		cur += nb;
		p->hist[(seq + i) & (L3L2Q_PROD_HIST - 1)] = cur;
		off += nb;
		idx = (idx + 1) & mask;
	}
	p->res_active = 0;
	/* Nothing published: even the padding goes back (P9). */
	p->ptail = n ? cur : p->res_p0;
	if (!n) {
		if (p->deferred)
			l3l2q__prod_publish_tail(ep, p);
		return 0;
	}
	p->tail = seq + n - 1;
	l3l2q__prod_publish_tail(ep, p);
	if (p->pf_write)
		prefetch_ahead(ep, p, n, nb);
	return 0;
}

/*
 * The end of l3l2q__prod_enqueue() for a payload of more than 64 bytes,
 * whose slot fields and local state are written: the copy through memcpy
 * into @dst, then seq (B), the tail (C) and the need-wakeup check for
 * @bit.  Out of line and tail-called, so that the fast path makes no
 * call it must come back from and saves no registers on entry.
 */
int l3l2q__prod_enqueue_big(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			    void *dst, const void *buf, __u64 n, __u32 bit)
{
	__u64 seq = p->tail;
	struct l3l2q_desc *slot;

	slot = (struct l3l2q_desc *)l3l2q__slot(p->ring, p->depth, seq);
	l3l2q__memcpy(dst, buf, n);
	l3l2q_store_release_u64(&slot->seq, seq);		/* (B) */
	p->deferred = 0;
	l3l2q_store_release_s32(p->tail_ctr, l3l2q_low32(seq));	/* (C) */
	return l3l2q__notify_ret(ep, bit, (__u32)l3l2q_low32(seq));
}
