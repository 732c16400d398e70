/* SPDX-License-Identifier: MIT */
/*
 * The per-message fast paths of both ring halves, inlined into the roles'
 * entry points (l3.c, l2.c) in the liburing way: each tests the common case
 * with as few compares as its checks need and hands everything else --
 * wrap, STOP, zero-byte messages at the consumer, full rings, second
 * reservations, every error -- to the complete out-of-line function
 * (producer.c, consumer.c), which checks it all again from the start.
 *
 * A fast path changes state only where the complete function would make
 * the same change, and its checks are those of the complete function for
 * that case: the consumer reads the four slot words once and accepts only
 * the seq it expects, DATA or ERROR, a non-zero size at the arena cursor
 * that fits before the arena's end (inside the arena, so no separate bounds
 * test is needed) or zero bytes at offset 0, room in its window; the
 * producer accepts a reservation only under the complete function's space
 * rules and a publish only of the reservation it handed out, with every
 * field equal.  The peer's counter is acquired when the cached one runs
 * out -- the producer's head when it leaves no room, the consumer's tail
 * when caught up with it (AF_XDP's cached views) -- and, when it moved,
 * reconstructed out of line (a forged one poisons in the call that reads
 * it, before anything it names is used), or, in the copy calls, in line
 * with the same checks, anything else going the complete way, which
 * poisons in the same call.
 */
#ifndef L3L2Q_CORE_FASTPATH_H
#define L3L2Q_CORE_FASTPATH_H

#include "internal.h"

/* Always in the entry point, whatever the compiler's inlining budget. */
#define L3L2Q__FAST	static inline __attribute__((__always_inline__))

/*
 * The need-wakeup bit a producer's publish (or a consumer's release)
 * serves, from @op, a constant at every call site, so that it folds
 * (the op names the direction, as in l3l2q__op_dir()).
 */
L3L2Q__FAST __u32 l3l2q__avail_bit(__u32 op)
{
	return l3l2q__op_dir(op) == L3L2Q_DIR_INPUT ? L3L2Q_WAKE_INPUT_AVAIL :
						      L3L2Q_WAKE_OUTPUT_AVAIL;
}

L3L2Q__FAST __u32 l3l2q__space_bit(__u32 op)
{
	return l3l2q__op_dir(op) == L3L2Q_DIR_INPUT ? L3L2Q_WAKE_INPUT_SPACE :
						      L3L2Q_WAKE_OUTPUT_SPACE;
}

/*
 * The complete way of a copy call (try_enqueue, try_dequeue), called by
 * its fast path with the entry point's own arguments.  A constant at each
 * call site, so the call is direct, and the fast path's last act: with
 * no call that returns to it, the fast path saves no registers on entry.
 */
typedef int (*l3l2q__enqueue_slow_fn)(void *q, __u64 opcode, const void *buf,
				      __u64 n);
typedef int (*l3l2q__dequeue_slow_fn)(void *q, void *buf, __u64 cap,
				      struct l3l2q_msg *msg);

/* l3l2q__prod_try_reserve() for a call with nothing unusual about it. */
L3L2Q__FAST int l3l2q__prod_reserve(struct l3l2q_ep *ep,
				      struct l3l2q_prod *p, __u64 n,
				      struct l3l2q_res *res, __u32 op)
{
	__u64 a = p->arena_bytes, pt = p->ptail, pos, off = 0;
	unsigned char *data = (unsigned char *)0;
	__s32 seen;
	int ret;

	if (l3l2q__unlikely(!res || p->res_active || n > a))
		return l3l2q__prod_try_reserve(ep, p, n, res, op);
	/* The cached head first: l3l2q__prod_enqueue() says why. */
	if (l3l2q__unlikely(p->tail - p->head >= p->depth ||
			    pt + n - p->phead > a)) {
		seen = l3l2q_load_acquire_s32(p->head_ctr);	/* (A) */
		if (l3l2q__unlikely(seen == l3l2q_low32(p->head)))
			return l3l2q__prod_try_reserve(ep, p, n, res, op);
		ret = l3l2q__prod_head_moved(ep, p, seen, op);
		if (ret)
			return ret;
		if (l3l2q__unlikely(p->tail - p->head >= p->depth))
			return l3l2q__prod_try_reserve(ep, p, n, res, op);
	}
	if (n) {
		pos = l3l2q__arena_pos(pt, a);
		/* Wrap, or not enough space (as in l3l2q__prod_enqueue()). */
		if (l3l2q__unlikely(n > a - pos || pt + n - p->phead > a))
			return l3l2q__prod_try_reserve(ep, p, n, res, op);
		off = p->arena_offset + pos;
		data = (unsigned char *)ep->mem.payload + off;
		p->ptail = pt + n;
	}
	p->res_active = 1;
	p->res_seq = p->tail + 1;
	p->res_offset = off;
	p->res_nbytes = n;
	res->seq = p->res_seq;
	res->offset = off;
	res->nbytes = n;
	res->data = data;
	return 0;
}

/*
 * Write the slot of the active reservation as @opcode, which the caller
 * checked (DATA or ERROR), from the producer's own copy of it (B); then,
 * unless @defer, the tail (C) and the need-wakeup check.
 */
L3L2Q__FAST void l3l2q__prod_commit(struct l3l2q_ep *ep, struct l3l2q_prod *p,
				    __u64 opcode, int defer, __u32 op)
{
	__u64 seq = p->res_seq;
	struct l3l2q_desc *slot;

	slot = (struct l3l2q_desc *)l3l2q__slot(p->ring, p->depth, seq);
	l3l2q_store_once_u64(&slot->opcode, opcode);
	l3l2q_store_once_u64(&slot->payload_offset, p->res_offset);
	l3l2q_store_once_u64(&slot->payload_nbytes, p->res_nbytes);
	l3l2q_store_release_u64(&slot->seq, seq);		/* (B) */
	p->hist[seq & (L3L2Q_PROD_HIST - 1)] = p->ptail;
	p->tail = seq;
	p->res_active = 0;
	if (defer && !p->stopped) {
		p->deferred = 1;
		return;
	}
	/* l3l2q__prod_publish_tail(), in line: (C), then P2-P4. */
	p->deferred = 0;
	l3l2q_store_release_s32(p->tail_ctr, l3l2q_low32(seq));	/* (C) */
	l3l2q__notify(ep, l3l2q__avail_bit(op), (__u32)l3l2q_low32(seq));
}

/*
 * A try_enqueue (reserve, copy in, publish in one) of @n bytes from @buf
 * as @opcode, which the caller checked (DATA or ERROR, @buf non-NULL when
 * @n is not 0): the reservation rules of l3l2q__prod_reserve() -- no
 * reservation active, the head counter acquired and reconstructed when it
 * moved, a free slot, the payload at the
 * cursor before the arena's end and within the space the consumer
 * released -- then the copy, the slot (B), the tail (C) and one
 * need-wakeup check, without the reservation record a caller's handle
 * would be compared with.  When the call is not the common case (a
 * reservation active, a full ring, a wrap, too large, a head counter that
 * is forged or moved past the private history), nothing has moved but
 * the head and @slow, the complete way, takes it from the start (a forged
 * head poisons there, in the same call).  Its only calls are tail calls.
 */
L3L2Q__FAST int l3l2q__prod_enqueue(struct l3l2q_ep *ep, struct l3l2q_prod *p,
				      __u64 opcode, const void *buf, __u64 n,
				      __u32 op, l3l2q__enqueue_slow_fn slow,
				      void *q)
{
	__u64 a, pt, seq, pos, off = 0;
	struct l3l2q_desc *slot;
	__s32 seen;

	/*
	 * A payload in an arena whose size is not a power of two takes the
	 * complete way (its position needs a division): arena_fast is 0.
	 */
	if (l3l2q__unlikely(p->res_active || n > p->arena_fast))
		return slow(q, opcode, buf, n);
	/*
	 * The consumer's head only when the cached one says there is no
	 * room (AF_XDP's cached producer view): a round trip then moves no
	 * head line, and a stream reads it once per ring's worth.  The
	 * cached head was acquired (A) when read, so the space it frees is
	 * the consumer's no more; a forged head is met, and poisons, when
	 * it is read -- before any slot or byte it names is reused.
	 */
	if (l3l2q__unlikely(p->tail - p->head >= p->depth ||
			    p->ptail + n - p->phead > p->arena_bytes)) {
		__u64 h, ph;

		seen = l3l2q_load_acquire_s32(p->head_ctr);	/* (A) */
		/*
		 * As l3l2q__prod_head_moved() for a head within the private
		 * history, in line so that no call returns here; anything
		 * else (no move, a forged head, a replay) goes the complete
		 * way, which acquires the counter again and poisons.
		 */
		if (l3l2q__unlikely(seen == l3l2q_low32(p->head) ||
				    !l3l2q_reconstruct(p->head, seen, p->depth,
						       &h) || h > p->tail ||
				    p->tail - h >= L3L2Q_PROD_HIST))
			return slow(q, opcode, buf, n);
		ph = p->hist[h & (L3L2Q_PROD_HIST - 1)];
		if (l3l2q__unlikely(ph > p->ptail))
			return slow(q, opcode, buf, n);
		p->head = h;
		p->phead = ph;
		if (l3l2q__unlikely(p->tail - p->head >= p->depth))
			return slow(q, opcode, buf, n);
	}
	/* Loaded after (A), so that few values live across it. */
	a = p->arena_fast;	/* a power of two when n is not 0 */
	pt = p->ptail;
	seq = p->tail + 1;
	if (n) {
		pos = pt & (a - 1);
		/*
		 * Wrap, or not enough space: the complete rules decide.  An
		 * empty arena (pt == phead) needs no second test here: n fits
		 * before the end, so pt + n - phead = n <= a.
		 */
		if (l3l2q__unlikely(n > a - pos || pt + n - p->phead > a))
			return slow(q, opcode, buf, n);
		off = p->arena_offset + pos;
		pt += n;
		p->ptail = pt;
	}
	/*
	 * The slot's fields and the local state before the copy, so that
	 * little lives across it: nothing covers them until seq (B) and the
	 * tail (C), which follow the payload.
	 */
	slot = (struct l3l2q_desc *)l3l2q__slot(p->ring, p->depth, seq);
	l3l2q_store_once_u64(&slot->opcode, opcode);
	l3l2q_store_once_u64(&slot->payload_offset, off);
	l3l2q_store_once_u64(&slot->payload_nbytes, n);
	p->hist[seq & (L3L2Q_PROD_HIST - 1)] = pt;
	p->tail = seq;
	/* A memcpy call: out of line, so the fast path makes no call. */
	if (n > 64)
		return l3l2q__prod_enqueue_big(ep, p, (unsigned char *)
					       ep->mem.payload + off, buf, n,
					       l3l2q__avail_bit(op));
	if (n)
		l3l2q__copy((unsigned char *)ep->mem.payload + off, buf, n);
	l3l2q_store_release_u64(&slot->seq, seq);		/* (B) */
	/* l3l2q__prod_publish_tail(), in line: (C), then P2-P4. */
	p->deferred = 0;
	l3l2q_store_release_s32(p->tail_ctr, l3l2q_low32(seq));	/* (C) */
	return l3l2q__notify_ret(ep, l3l2q__avail_bit(op),
				 (__u32)l3l2q_low32(seq));
}

/*
 * Publish @res as DATA or ERROR (anything else goes the complete way):
 * write the slot (B) and, unless @defer, the tail (C) and the need-wakeup
 * check.
 */
L3L2Q__FAST int l3l2q__prod_put(struct l3l2q_ep *ep, struct l3l2q_prod *p,
				  const struct l3l2q_res *res, __u64 opcode,
				  __u32 op, int defer)
{
	__u64 seq = p->res_seq, off = p->res_offset, n = p->res_nbytes;

	if (l3l2q__unlikely(!res || p->res_active != 1 || res->seq != seq ||
			    res->offset != off || res->nbytes != n ||
			    res->data != (n ? (unsigned char *)ep->mem.payload +
					      off : (void *)0) ||
			    (opcode != L3L2Q_OP_DATA &&
			     opcode != L3L2Q_OP_ERROR)))
		return defer ? l3l2q__prod_publish_defer(ep, p, res, opcode, op) :
			       l3l2q__prod_publish(ep, p, res, opcode, op);
	l3l2q__prod_commit(ep, p, opcode, defer, op);
	return 0;
}

/*
 * Nothing new for a consumer that caught up.  Before it says so, it asks
 * for the next slot's line and the payload line at its cursor: a poller
 * then holds requests for all three lines the producer writes (payload,
 * slot, tail), and they come back together when the producer publishes,
 * in one line hand-off instead of three in a row.  Hints only: what the
 * next call uses is read again, and checked, after the tail (E).
 */
L3L2Q__FAST int l3l2q__cons_caught_up(struct l3l2q_ep *ep,
				       const struct l3l2q_cons *c, __u32 dir)
{
	__builtin_prefetch(l3l2q__slot(c->ring, c->depth, c->acq + 1));
	__builtin_prefetch((const unsigned char *)ep->mem.payload +
			   c->arena_offset + (c->pacq & c->arena_mask));
	return l3l2q__again(ep, dir);
}

/*
 * l3l2q__cons_try_peek() for a non-multi consumer: @in is the direction
 * (a constant at each call site), which decides when a held message makes
 * the call unusual (the L3 output's second peek returns the held one; the
 * L2 input in single mode poisons).  The batched peeks of both are
 * l3l2q__cons_peek_batch() (consumer.c).
 */
L3L2Q__FAST int l3l2q__cons_peek(struct l3l2q_ep *ep, struct l3l2q_cons *c,
				   struct l3l2q_msg *msg, __u32 op, const int in)
{
	__u64 seq = c->acq + 1, pos;
	struct l3l2q_desc d;
	struct l3l2q_entry *e;
	const unsigned char *data;
	__u32 j;
	__s32 seen;

	if (l3l2q__unlikely(!msg || c->stop_seen ||
			    (c->active && (!in || c->max_inflight == 1))))
		return l3l2q__cons_try_peek(ep, c, msg, op);
	/*
	 * The producer's tail only when caught up with the cached one: the
	 * messages up to it were acquired (E) when it was read.
	 */
	if (c->acq == c->tail) {
		int ret;

		seen = l3l2q_load_acquire_s32(c->tail_ctr);	/* (E) */
		if (seen == l3l2q_low32(c->tail))
			return l3l2q__cons_caught_up(ep, c, in == 1 ?
						     L3L2Q_DIR_INPUT :
						     L3L2Q_DIR_OUTPUT);
		ret = l3l2q__cons_tail_moved(ep, c, seen, op);
		if (ret)
			return ret;
	}
	pos = c->pacq & c->arena_mask;
	data = (const unsigned char *)ep->mem.payload + c->arena_offset + pos;
	/* The expected payload line, ahead of the slot's (consumer.c). */
	__builtin_prefetch(data);
	if (l3l2q__unlikely(!l3l2q__slot_ok(c->ring, c->depth, seq,
					    c->arena_offset, pos,
					    c->arena_fast, &d) ||
			    c->non_stop >= c->max_inflight ||
			    c->active > c->max_inflight))
		return l3l2q__cons_try_peek(ep, c, msg, op);
	/* Zero bytes: offset 0 (a sentinel), no cursor move, no view. */
	if (!d.payload_nbytes)
		data = (const unsigned char *)0;
	j = c->first + c->active;	/* active <= max_inflight < w */
	if (j > c->max_inflight)
		j -= c->max_inflight + 1;
	e = &c->win[j];
	c->pacq += d.payload_nbytes;
	e->seq = seq;
	e->opcode = d.opcode;
	e->offset = d.payload_offset;
	e->nbytes = d.payload_nbytes;
	e->data = data;
	e->pend = c->pacq;
	e->completed = 0;
	c->active++;
	c->acq = seq;
	c->non_stop++;
	msg->seq = seq;
	msg->opcode = d.opcode;
	msg->offset = d.payload_offset;
	msg->nbytes = d.payload_nbytes;
	msg->data = data;
	return 0;
}

/*
 * A try_dequeue (peek, copy out, release in one) when nothing is held:
 * the checks of l3l2q__cons_peek() on the slot's four words, read once
 * (P5), then the payload copied into @buf from the span the copies name
 * and validated, and the message popped at once -- one head store (D),
 * one need-wakeup check.  No window entry is written and no handle is
 * compared (P2): the caller never holds one.  When the call is not the
 * common case (something held, STOP seen or in the slot, a wrapped
 * payload, @buf too small or NULL, anything invalid), nothing has moved
 * and @slow, the complete way, checks it all again.  Its only calls are
 * tail calls.
 */
L3L2Q__FAST int l3l2q__cons_dequeue(struct l3l2q_ep *ep, struct l3l2q_cons *c,
				      void *buf, __u64 cap,
				      struct l3l2q_msg *msg, __u32 op,
				      const int in, l3l2q__dequeue_slow_fn slow,
				      void *q)
{
	__u64 seq, pos, dn;
	struct l3l2q_desc d;
	const unsigned char *data;
	__s32 seen;

	/* Nothing held: head == acq, and the window has room. */
	if (l3l2q__unlikely(c->active || c->stop_seen))
		return slow(q, buf, cap, msg);
	/* The tail only when caught up, as in l3l2q__cons_peek(). */
	if (c->acq == c->tail) {
		__u64 t;

		seen = l3l2q_load_acquire_s32(c->tail_ctr);	/* (E) */
		if (seen == l3l2q_low32(c->tail))
			return l3l2q__cons_caught_up(ep, c, in ?
						     L3L2Q_DIR_INPUT :
						     L3L2Q_DIR_OUTPUT);
		/* As l3l2q__cons_tail_moved(), which poisons otherwise. */
		if (l3l2q__unlikely(!l3l2q_reconstruct(c->tail, seen, c->depth,
							&t) || t - c->head > c->depth))
			return l3l2q__cons_tail_moved(ep, c, seen, op);
		c->tail = t;
	}
	/* Loaded after (E), so that few values live across it. */
	seq = c->acq + 1;
	pos = c->pacq & c->arena_mask;
	data = (const unsigned char *)ep->mem.payload + c->arena_offset + pos;
	__builtin_prefetch(data);
	if (l3l2q__unlikely(!l3l2q__slot_ok(c->ring, c->depth, seq,
					    c->arena_offset, pos,
					    c->arena_fast, &d) ||
			    d.payload_nbytes > cap ||
			    (d.payload_nbytes && !buf)))
		return slow(q, buf, cap, msg);
	dn = d.payload_nbytes;
	/*
	 * Taken and popped: the cursor after it is the payload head.  *msg
	 * and local state first, so that little lives across the copy; the
	 * payload is still ours until the head store below.
	 */
	if (msg) {
		msg->seq = seq;
		msg->opcode = d.opcode;
		msg->offset = d.payload_offset;
		msg->nbytes = dn;
		msg->data = dn ? data : (const unsigned char *)0;
	}
	c->acq = seq;
	c->pacq += dn;
	c->head = seq;
	c->phead = c->pacq;
	/* A memcpy call: out of line, so the fast path makes no call. */
	if (dn > 64)
		return l3l2q__cons_dequeue_big(ep, c, buf, data, dn,
					       l3l2q__space_bit(op));
	if (dn)
		l3l2q__copy(buf, data, dn);
	/* l3l2q__cons_publish_head(), in line: (D), then P2-P4. */
	l3l2q_store_release_s32(c->head_ctr, l3l2q_low32(seq));	/* (D) */
	return l3l2q__notify_ret(ep, l3l2q__space_bit(op),
				 (__u32)l3l2q_low32(seq));
}

/*
 * Mark the @n held messages @msgs complete -- every field equal to the
 * kept copy (P2), none released before -- then pop the completed prefix
 * with one head store (D) and one need-wakeup check.
 */
L3L2Q__FAST int l3l2q__cons_release_n(struct l3l2q_ep *ep,
					struct l3l2q_cons *c,
					const struct l3l2q_msg *msgs, __u32 n,
					__u32 op)
{
	const struct l3l2q_msg *m;
	struct l3l2q_entry *e;
	__u64 k;
	__u32 i, j;

	if (l3l2q__unlikely(!msgs))
		return l3l2q__cons_release_batch(ep, c, msgs, n, op);
	/*
	 * One handle, the oldest held: every field equal to the kept copy
	 * (P2), then popped directly, as l3l2q__cons_pop() would pop it.
	 */
	if (n == 1 && msgs->seq == c->head + 1 && c->active) {
		m = msgs;
		e = &c->win[c->first];
		if (l3l2q__unlikely(e->seq != m->seq ||
				    e->opcode != m->opcode ||
				    e->offset != m->offset ||
				    e->nbytes != m->nbytes ||
				    e->data != m->data || e->completed))
			return l3l2q__cons_bad_handle(ep, c, m, op);
		if (++c->first > c->max_inflight)
			c->first = 0;
		c->active--;
		if (l3l2q__unlikely(e->opcode == L3L2Q_OP_STOP))
			c->drained = 1;
		else
			c->non_stop--;
		c->head = e->seq;
		c->phead = e->pend;
		/* Completed out of order behind it: popped with it. */
		if (c->active && c->win[c->first].completed)
			return l3l2q__cons_pop(ep, c, op);
		l3l2q__cons_publish_head(ep, c);
		return 0;
	}
	for (i = 0; i < n; i++) {
		m = &msgs[i];
		k = m->seq - c->head - 1;	/* < active when held */
		if (l3l2q__unlikely(m->seq <= c->head || m->seq > c->acq))
			return l3l2q__cons_bad_handle(ep, c, m, op);
		j = c->first + (__u32)k;
		if (j > c->max_inflight)
			j -= c->max_inflight + 1;
		e = &c->win[j];
		if (l3l2q__unlikely(e->seq != m->seq ||
				    e->opcode != m->opcode ||
				    e->offset != m->offset ||
				    e->nbytes != m->nbytes ||
				    e->data != m->data || e->completed))
			return l3l2q__cons_bad_handle(ep, c, m, op);
		e->completed = 1;
	}
	return l3l2q__cons_pop(ep, c, op);
}

#endif /* L3L2Q_CORE_FASTPATH_H */
