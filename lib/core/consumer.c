// SPDX-License-Identifier: MIT
/*
 * The consumer half of one direction: L2's input, L3's output.
 *
 *   peek:    refresh tail (E) -> copy the slot -> validate the copy
 *   use:     the caller reads the payload through the entry's view
 *   release: mark complete -> pop the completed FIFO prefix -> head (D);
 *            the payload head moves to the cursor peek kept with each
 *            entry, so nothing validated at peek is checked again
 *
 * (E) acquire of the tail counter pairs with the producer's release (C in
 *     producer.c): the slot and its payload are visible once the tail is.
 * (D) release of the head counter pairs with the producer's acquire (A):
 *     every read of a released payload happens before the producer may
 *     overwrite it.
 *
 * Held entries live in a FIFO of max_inflight + 1 (the extra one is for
 * STOP).  They are acquired in order, completed in any order, and released
 * physically only as a completed prefix (reference §7).
 */
#include "internal.h"

void l3l2q__cons_init(struct l3l2q_cons *c, struct l3l2q_ep *ep, int is_input,
		      __u64 start_pos, struct l3l2q_entry *win,
		      __u32 max_inflight)
{
	const struct l3l2q_layout *l = &ep->layout;
	unsigned char *ctr = ep->mem.counters;

	l3l2q__memset(c, 0, sizeof(*c));
	l3l2q__memset(win, 0, sizeof(*win) * (max_inflight + 1));
	c->is_input = !!is_input;
	c->ring = (const unsigned char *)ep->mem.payload +
		  (is_input ? l->input_desc_offset : l->output_desc_offset);
	c->tail_ctr = (__s32 *)(ctr + (is_input ? L3L2Q_CTR_INPUT_TAIL :
					L3L2Q_CTR_OUTPUT_TAIL));
	c->head_ctr = (__s32 *)(ctr + (is_input ? L3L2Q_CTR_INPUT_HEAD :
					L3L2Q_CTR_OUTPUT_HEAD));
	c->depth = l->depth;
	c->arena_offset = is_input ? l->input_arena_offset :
				     l->output_arena_offset;
	c->arena_bytes = is_input ? l->input_arena_bytes :
				    l->output_arena_bytes;
	/*
	 * The fast dequeue's position mask; with another size its position
	 * is 0 and its room 0, so every payload takes the complete way.
	 */
	if (!(c->arena_bytes & (c->arena_bytes - 1))) {
		c->arena_fast = c->arena_bytes;
		c->arena_mask = c->arena_bytes - 1;
	}
	c->tail = c->acq = c->head = start_pos;
	c->win = win;
	c->max_inflight = max_inflight;
}

int l3l2q__cons_tail_moved(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			   __s32 seen, __u32 op)
{
	__u64 tail;

	if (!l3l2q_reconstruct(c->tail, seen, c->depth, &tail) ||
	    tail - c->head > c->depth)
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "counter reconstruction failed: tail counter moved from ",
				     c->tail, " to an impossible value (low 32 bits ",
				     (__u32)seen, ")");
	c->tail = tail;
	return 0;
}

static int refresh_tail(struct l3l2q_ep *ep, struct l3l2q_cons *c, __u32 op)
{
	__s32 seen = l3l2q_load_acquire_s32(c->tail_ctr);	/* (E) */

	if (seen == l3l2q_low32(c->tail))
		return 0;
	return l3l2q__cons_tail_moved(ep, c, seen, op);
}

static __u32 win_index(const struct l3l2q_cons *c, __u32 i)
{
	__u32 j = c->first + i, w = c->max_inflight + 1;

	/*
	 * (first + i) % w without a division: first < w, and every caller
	 * passes i <= active <= w, so at most one subtraction is needed;
	 * the loop only keeps that true for any i.
	 */
	while (j >= w)
		j -= w;
	return j;
}

static void entry_to_msg(const struct l3l2q_entry *e, struct l3l2q_msg *msg)
{
	msg->seq = e->seq;
	msg->opcode = e->opcode;
	msg->offset = e->offset;
	msg->nbytes = e->nbytes;
	msg->data = e->data;
}

int l3l2q__cons_try_peek(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			 struct l3l2q_msg *msg, __u32 op)
{
	/* The caller checked the endpoint (role and state). */
	if (!msg)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msg must not be NULL", 0, NULL, 0, NULL);
	/* Many consumers (mp.c): every peek takes the next message. */
	if (c->active && !c->multi) {
		/* L3 output: the oldest held message again (its handle). */
		if (!c->is_input) {
			entry_to_msg(&c->win[c->first], msg);
			return 0;
		}
		/* L2 single mode: a second peek is a broken caller (P17). */
		if (c->max_inflight == 1)
			return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
					     "input handle already active (seq ",
					     c->win[c->first].seq, ")", 0, NULL);
	}
	return l3l2q__cons_take(ep, c, msg, op);
}

int l3l2q__cons_take(struct l3l2q_ep *ep, struct l3l2q_cons *c,
		     struct l3l2q_msg *msg, __u32 op)
{
	struct l3l2q_entry *e;
	struct l3l2q_desc d;
	__u64 seq, pacq;
	const void *data = (const void *)0;
	__u32 dir = c->is_input ? L3L2Q_DIR_INPUT : L3L2Q_DIR_OUTPUT;
	int ret;

	if (!msg)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msg must not be NULL", 0, NULL, 0, NULL);
	ret = refresh_tail(ep, c, op);
	if (ret)
		return ret;
	if (c->stop_seen) {
		if (c->tail > c->acq)
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "input published after STOP (seq ",
					     c->acq + 1, ")", 0, NULL);
		return l3l2q__again(ep, dir);	/* draining: nothing more */
	}
	if (c->acq == c->tail)
		return l3l2q__again(ep, dir);

	/* Validation order matters (reference §2): seq, opcode, size, arena. */
	seq = c->acq + 1;
	/*
	 * The payload of this message, unless it wrapped, starts where the
	 * acquire cursor stands: ask for its first line now, so its miss
	 * overlaps the descriptor's instead of following it (tail, slot and
	 * payload would otherwise be three dependent cross-core misses).  A
	 * hint only: nothing is read from it before the slot is validated.
	 */
	__builtin_prefetch((const unsigned char *)ep->mem.payload +
			   c->arena_offset +
			   l3l2q__arena_pos(c->pacq, c->arena_bytes));
	l3l2q__slot_read(c->ring, c->depth, seq, &d);
	if (d.seq != seq)
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "descriptor seq mismatch: expected ", seq,
				     ", found ", d.seq, "");
	switch (d.opcode) {
	case L3L2Q_OP_DATA:
	case L3L2Q_OP_ERROR:
		break;
	case L3L2Q_OP_STOP:
		if (!c->is_input)
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "output descriptor cannot be STOP (seq ",
					     seq, ")", 0, NULL);
		if (d.payload_nbytes || d.payload_offset)
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "STOP must have no payload (nbytes ",
					     d.payload_nbytes, ", offset ",
					     d.payload_offset, ")");
		break;
	default:	/* INVALID (0) included (pitfall P10) */
		return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "invalid opcode ", d.opcode, " at seq ",
				     seq, "");
	}
	if (d.opcode != L3L2Q_OP_STOP && c->non_stop >= c->max_inflight)
		return l3l2q__again(ep, dir);	/* window full */
	if (c->active > c->max_inflight)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "more than max_inflight + 1 entries active",
				     0, NULL, 0, NULL);
	pacq = c->pacq;
	if (!d.payload_nbytes) {
		/* offset 0 is a sentinel; no arena check, no cursor move */
		if (d.payload_offset)
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "zero-byte descriptor with non-zero offset ",
					     d.payload_offset, " at seq ", seq, "");
	} else {
		if (!l3l2q__in_arena(c->arena_offset, c->arena_bytes,
				     d.payload_offset, d.payload_nbytes))
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "payload outside its arena at seq ",
					     seq, " (offset ", d.payload_offset,
					     ")");
		if (!l3l2q__arena_advance(&pacq, c->arena_offset,
					  c->arena_bytes, d.payload_offset,
					  d.payload_nbytes))
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "payload offset mismatch at seq ",
					     seq, " (offset ", d.payload_offset,
					     ")");
		data = (const unsigned char *)ep->mem.payload + d.payload_offset;
	}

	/* Accepted: only now does local state move. */
	c->pacq = pacq;
	e = &c->win[win_index(c, c->active)];
	e->seq = seq;
	e->opcode = d.opcode;
	e->offset = d.payload_offset;
	e->nbytes = d.payload_nbytes;
	e->data = data;
	e->pend = pacq;
	e->completed = 0;
	c->active++;
	c->acq = seq;
	if (d.opcode == L3L2Q_OP_STOP) {
		c->stop_seen = 1;
		/* STOP is last: anything already behind it is corruption. */
		if (c->tail > c->acq)
			return l3l2q__poison(ep, L3L2Q_ERR_INVALID_DESCRIPTOR,
					     op, "input published after STOP (seq ",
					     c->acq + 1, ")", 0, NULL);
	} else {
		c->non_stop++;
	}
	entry_to_msg(e, msg);
	return 0;
}

const struct l3l2q_entry *l3l2q__cons_find(const struct l3l2q_cons *c,
					   const struct l3l2q_msg *msg)
{
	const struct l3l2q_entry *e;

	if (!msg || msg->seq <= c->head || msg->seq > c->acq)
		return (const struct l3l2q_entry *)0;
	e = &c->win[win_index(c, (__u32)(msg->seq - c->head - 1))];
	/* Every field must match the cached copy (pitfall P2). */
	if (e->seq != msg->seq || e->opcode != msg->opcode ||
	    e->offset != msg->offset || e->nbytes != msg->nbytes ||
	    e->data != msg->data)
		return (const struct l3l2q_entry *)0;
	return e;
}

int l3l2q__cons_bad_handle(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			   const struct l3l2q_msg *msg, __u32 op)
{
	const struct l3l2q_entry *e = l3l2q__cons_find(c, msg);

	if (!e)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "handle is not active (seq ", msg->seq,
				     "): stale, unknown or modified", 0, NULL);
	return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
			     "handle already released (seq ", e->seq, ")", 0,
			     NULL);
}

/* Mark the held entry @msg names complete; poison if there is none. */
static int mark_complete(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			 const struct l3l2q_msg *msg, __u32 op)
{
	struct l3l2q_entry *e;

	e = (struct l3l2q_entry *)l3l2q__cons_find(c, msg);
	if (!e || e->completed)
		return l3l2q__cons_bad_handle(ep, c, msg, op);
	e->completed = 1;
	return 0;
}

/*
 * Physical release: pop the completed FIFO prefix, then one head store (D)
 * covers all of it -- the release orders every read of every popped payload
 * before it -- and one need-wakeup check.
 */
static int pop_completed(struct l3l2q_ep *ep, struct l3l2q_cons *c, __u32 op)
{
	struct l3l2q_entry *e = (struct l3l2q_entry *)0, *win = c->win;
	__u32 first = c->first, active = c->active, w = c->max_inflight + 1;
	__u32 stops = 0, popped = 0;

	(void)op;
	/* Locals in the loop: the stores below are the only ones. */
	while (active && win[first].completed) {
		e = &win[first];
		stops += e->opcode == L3L2Q_OP_STOP;
		e->completed = 0;
		if (++first == w)
			first = 0;
		active--;
		popped++;
	}
	if (!popped)
		return 0;
	c->first = first;
	c->active = active;
	c->non_stop -= popped - stops;
	if (stops)
		c->drained = 1;
	c->head = e->seq;
	/* The cursor peek validated and kept with the entry (P2). */
	c->phead = e->pend;
	l3l2q__cons_publish_head(ep, c);
	return 0;
}

int l3l2q__cons_pop(struct l3l2q_ep *ep, struct l3l2q_cons *c, __u32 op)
{
	return pop_completed(ep, c, op);
}

int l3l2q__cons_release(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			const struct l3l2q_msg *msg, __u32 op)
{
	int ret;

	if (!msg)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msg must not be NULL", 0, NULL, 0, NULL);
	ret = mark_complete(ep, c, msg, op);
	if (ret)
		return ret;
	return pop_completed(ep, c, op);
}

int l3l2q__cons_release_batch(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			      const struct l3l2q_msg *msgs, __u32 n, __u32 op)
{
	__u32 i;
	int ret;

	if (n && !msgs)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msgs must not be NULL", 0, NULL, 0, NULL);
	for (i = 0; i < n; i++) {
		ret = mark_complete(ep, c, &msgs[i], op);
		if (ret)
			return ret;
	}
	return pop_completed(ep, c, op);
}

/*
 * Up to @n messages at once (the L2 input's and any single consumer's
 * batched peek): the tail counter acquired once (E), then for each slot
 * the four words read once (P5) and only the copies used, with the checks
 * of l3l2q__cons_take() for the common case -- seq the expected one, DATA
 * or ERROR, a non-zero size at exactly the arena cursor and ending inside
 * the arena, or zero bytes at offset 0 -- and room in the window.  A slot
 * that is anything else (STOP, a wrapped payload, an error) goes to
 * l3l2q__cons_take(), which checks it all again.  Returns the count taken,
 * or the error (-EAGAIN when none) if none was.
 */
int l3l2q__cons_peek_batch(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			   struct l3l2q_msg *msgs, __u32 n, __u32 op)
{
	const unsigned char *base;
	const struct l3l2q_desc *s;
	struct l3l2q_entry *e;
	struct l3l2q_msg *m;
	__u64 a = c->arena_bytes, aoff = c->arena_offset, mask = c->depth - 1;
	__u64 acq, pacq, pos, k, dseq, dop, doff, dn;
	__u32 i = 0, j, w = c->max_inflight + 1;
	const void *data;
	int ret;

	if (!n)
		return 0;
	if (!msgs)
		return l3l2q__reject(ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msgs is NULL but n is ", n, "", 0, NULL);
	base = (const unsigned char *)ep->mem.payload + aoff;
	for (;;) {
		if (c->stop_seen || c->multi || c->active > c->max_inflight)
			goto slow;
		ret = refresh_tail(ep, c, op);
		if (ret)
			return ret;
		k = c->tail - c->acq;		/* published, not taken */
		if (k > c->max_inflight - c->non_stop)
			k = c->max_inflight - c->non_stop;	/* window */
		if (k > n - i)
			k = n - i;
		k += i;
		acq = c->acq;
		pacq = c->pacq;
		pos = l3l2q__arena_pos(pacq, a);
		j = win_index(c, c->active);
		for (; i < k; i++) {
			/* Its payload line, as in l3l2q__cons_take(). */
			__builtin_prefetch(base + pos);
			s = (const struct l3l2q_desc *)
				(c->ring + (acq & mask) * L3L2Q_DESC_BYTES);
			/* Each word once (P5); only these copies are used. */
			dseq = l3l2q_load_once_u64(&s->seq);
			dop = l3l2q_load_once_u64(&s->opcode);
			doff = l3l2q_load_once_u64(&s->payload_offset);
			dn = l3l2q_load_once_u64(&s->payload_nbytes);
			if (l3l2q__unlikely(dseq != acq + 1 ||
					    (dop != L3L2Q_OP_DATA &&
					     dop != L3L2Q_OP_ERROR) ||
					    (dn ? doff != aoff + pos ||
						  dn > a - pos :
						  doff != 0)))
				break;
			data = dn ? base + pos : (const void *)0;
			pos += dn;		/* <= a: inside the arena */
			if (pos == a)
				pos = 0;
			pacq += dn;
			acq = dseq;
			e = &c->win[j];
			e->seq = dseq;
			e->opcode = dop;
			e->offset = doff;
			e->nbytes = dn;
			e->data = data;
			e->pend = pacq;
			e->completed = 0;
			m = &msgs[i];
			m->seq = dseq;
			m->opcode = dop;
			m->offset = doff;
			m->nbytes = dn;
			m->data = data;
			if (++j == w)
				j = 0;
		}
		/* Accepted: only now does the local state move. */
		c->active += (__u32)(acq - c->acq);
		c->non_stop += (__u32)(acq - c->acq);
		c->acq = acq;
		c->pacq = pacq;
		if (i == n)
			return (int)i;
		/* Nothing more published, or the window is full. */
		if (i == k && (i || c->acq == c->tail))
			return i ? (int)i : l3l2q__again(ep, c->is_input ?
							 L3L2Q_DIR_INPUT :
							 L3L2Q_DIR_OUTPUT);
slow:
		/* Anything unusual: the complete path, for this one. */
		ret = l3l2q__cons_take(ep, c, &msgs[i], op);
		if (ret)
			return ret == -EAGAIN && i ? (int)i : ret;
		if (msgs[i].opcode == L3L2Q_OP_STOP)
			return (int)i + 1;	/* STOP is last */
		if (++i == n)
			return (int)i;
	}
}

/*
 * Release the @n oldest held entries, by position rather than by handle
 * (xsk_ring_cons__release): each must be held and not released before;
 * then pop them and any completed entries behind them with one head store
 * (D) and one need-wakeup check.
 */
int l3l2q__cons_release_oldest(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			       __u32 n, __u32 op)
{
	struct l3l2q_entry *e = (struct l3l2q_entry *)0, *win = c->win;
	__u32 i, j = c->first, w = c->max_inflight + 1, stops = 0;

	if (!n)
		return 0;
	if (n > c->active)
		return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
				     "release of the ", n,
				     " oldest messages, but only ", c->active,
				     " are held");
	for (i = 0; i < n; i++) {
		e = &win[j];
		if (e->completed)
			return l3l2q__poison(ep, L3L2Q_ERR_OWNERSHIP, op,
					     "handle already released (seq ",
					     e->seq, ")", 0, NULL);
		stops += e->opcode == L3L2Q_OP_STOP;
		if (++j == w)
			j = 0;
	}
	/* Checked: they are the prefix, popped as pop_completed() would. */
	c->first = j;
	c->active -= n;
	c->non_stop -= n - stops;
	if (stops)
		c->drained = 1;
	c->head = e->seq;
	c->phead = e->pend;
	/* Completed out of order behind them: popped with them, one store. */
	if (c->active && win[j].completed)
		return pop_completed(ep, c, op);
	l3l2q__cons_publish_head(ep, c);
	return 0;
}

/*
 * The end of l3l2q__cons_dequeue() for a payload of more than 64 bytes,
 * taken and popped in the local state: the copy out of @data (the span
 * validated from the slot's copies) through memcpy, then the head (D)
 * and the need-wakeup check for @bit.  Out of line and tail-called, as
 * l3l2q__prod_enqueue_big().
 */
int l3l2q__cons_dequeue_big(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			    void *buf, const void *data, __u64 n, __u32 bit)
{
	__u64 seq = c->head;

	l3l2q__memcpy(buf, data, n);
	l3l2q_store_release_s32(c->head_ctr, l3l2q_low32(seq));	/* (D) */
	return l3l2q__notify_ret(ep, bit, (__u32)l3l2q_low32(seq));
}
