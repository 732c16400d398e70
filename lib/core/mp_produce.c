// SPDX-License-Identifier: MIT
/*
 * MP: many threads produce into the input ring (l3l2q_mp.h).
 *
 *   claim    CAS of the claim word: the next slot and its arena span,
 *            padding included, in one step (K), against the released
 *            word the token holder published (R)
 *   fill     the caller, in parallel with the others
 *   publish  own slot fields, then seq (B); record done (M0); M1; the
 *            token holder moves the tail over the completed prefix (C)
 *            and checks the need-wakeup word (P2-P4)
 *
 * The claim word holds the low 32 bits of the claimed seq, a STOP bit and
 * the arena cursor modulo mp->mod (a multiple of the arena of at least
 * twice its size: what is claimed and not yet released spans less than
 * two arenas, so differences modulo mp->mod are exact).  The released word
 * holds the low 32 bits of the released head and its cursor: the claim
 * needs only differences, and the full seq of a won claim follows from the
 * published tail (below it and at most depth behind).
 *
 * The producer.c rules hold as they are: a payload never straddles the
 * end of the arena (padding, committed only with a successful claim), an
 * empty arena takes a payload of up to its size, a full ring or arena is
 * -EAGAIN with nothing changed, and the slots the L2 released are replayed
 * before their space is reused -- against the claims' private records
 * (slot seq, offset and size), which is stricter than the loose replay a
 * single producer must use.  The replay runs when a claim finds no space,
 * not on every claim.
 */
#include "mp_internal.h"

#define OP_RESERVE	L3L2Q_EOP_INPUT_TRY_RESERVE
#define OP_ENQUEUE	L3L2Q_EOP_INPUT_ENQUEUE
#define OP_PUBLISH	L3L2Q_EOP_INPUT_PUBLISH
#define OP_STOP		L3L2Q_EOP_REQUEST_STOP

/* Arena cursors modulo mp->mod. */
static __u64 cur_add(const struct l3l2q_mp *mp, __u64 c, __u64 d)
{
	c += d;
	return c >= mp->mod ? c - mp->mod : c;
}

static __u64 cur_sub(const struct l3l2q_mp *mp, __u64 a, __u64 b)
{
	return a >= b ? a - b : a + mp->mod - b;
}

/* ---- the token holder's part ---- */

int l3l2q__mp_in_pending(const struct l3l2q_mp *mp)
{
	__u64 t = mp_ld64(&mp->tail);

	return mp_ld64(&mp_rec(mp, t + 1)->state) == mp_st(t + 1, MP_DONE);
}

void l3l2q__mp_in_work(struct l3l2q_mp *mp)
{
	struct l3l2q_l3 *q = mp->q;
	struct l3l2q_mp_slot *r;
	__u64 t = q->in.tail;
	int stop = 0;

	if (L3L2Q__GATE_STATE(l3l2q__gate(&q->ep)) != L3L2Q_STATE_LIVE) {
		mp_set_dead(mp);
		return;
	}
	/* At most depth claims exist beyond the tail. */
	for (;;) {
		r = mp_rec(mp, t + 1);
		/* Acquire: pairs with the publisher's release (M0). */
		if (mp_ld_acq64(&r->state) != mp_st(t + 1, MP_DONE))
			break;
		if (mp_ld32(&r->stop))
			stop = 1;
		t++;
	}
	if (t == q->in.tail)
		return;
	q->in.tail = t;
	if (stop)
		q->in.stopped = 1;
	mp_st_rel64(&mp->tail, t);
	l3l2q_store_release_s32(q->in.tail_ctr, l3l2q_low32(t));	/* (C) */
	l3l2q__notify(&q->ep, L3L2Q_WAKE_INPUT_AVAIL,
		      (__u32)l3l2q_low32(t));
}

/*
 * Learn how far the L2 released, replay the released slots against the
 * claims' records, then publish the released word (R).  Under the token.
 */
static int refresh(struct l3l2q_mp *mp, __u32 op)
{
	struct l3l2q_l3 *q = mp->q;
	struct l3l2q_prod *p = &q->in;
	struct l3l2q_mp_slot *r;
	struct l3l2q_desc d;
	__u64 head, s;
	__s32 seen;
	int ret;

	ret = l3l2q__ep_check(q, L3L2Q_ROLE_L3, op);
	if (ret) {
		mp_set_dead(mp);
		return ret;
	}
	seen = l3l2q_load_acquire_s32(p->head_ctr);		/* (A) */
	if (seen == l3l2q_low32(p->head))
		return 0;
	if (!l3l2q_reconstruct(p->head, seen, p->depth, &head) ||
	    head > p->tail) {
		mp_set_dead(mp);
		return l3l2q__poison(&q->ep, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
				     "counter reconstruction failed: head counter moved from ",
				     p->head, " beyond the published tail ",
				     p->tail, NULL);
	}
	for (s = p->head + 1; s <= head; s++) {
		r = mp_rec(mp, s);
		l3l2q__slot_read(p->ring, p->depth, s, &d);
		if (d.seq != s) {
			mp_set_dead(mp);
			return l3l2q__poison(&q->ep,
					     L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					     "release replay seq mismatch: expected ",
					     s, ", found ", d.seq, "");
		}
		if (d.payload_offset != mp_ld64(&r->offset) ||
		    d.payload_nbytes != mp_ld64(&r->nbytes)) {
			mp_set_dead(mp);
			return l3l2q__poison(&q->ep,
					     L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					     "payload replay offset mismatch at seq ",
					     s, "", 0, NULL);
		}
	}
	p->head = head;
	/* (R) release: pairs with the claimers' acquire of the word. */
	mp_st_rel64(&mp->released, (__u64)(__u32)l3l2q_low32(head) << 32 |
				   mp_ld32(&mp_rec(mp, head)->pend));
	return 0;
}

static int refresh_locked(struct l3l2q_mp *mp, __u32 op)
{
	int ret;

	l3l2q__mp_lock(mp);
	ret = refresh(mp, op);
	l3l2q__mp_put(mp);
	return ret;
}

/* ---- claim ---- */

/*
 * Take the next slot and n contiguous arena bytes, exactly as producer.c
 * reserves, on the claim word; -EAGAIN after one refresh found no space.
 */
static int claim(struct l3l2q_mp *mp, __u64 n, int stop,
		 struct l3l2q_res *res, __u32 op)
{
	__u64 a = mp->arena_bytes, w, rw, nw, cur, used, pos, pad, off, t, seq;
	struct l3l2q_mp_slot *r;
	__u32 c_lo, inflight;
	int refreshed = 0, ret;

	for (;;) {
		if (mp_is_dead(mp))
			return l3l2q__mp_dead(mp, op);
		/*
		 * The claim word first, then the released word: released only
		 * grows, so inflight exceeds depth only when the claim word
		 * is stale (others claimed in between).
		 */
		w = mp_ld64(&mp->claim);
		/*
		 * Acquire (R): the holder replayed the released slots, and
		 * the L2 was done with them when it released them (A), so
		 * the slot, the span and the record we may take are free.
		 */
		rw = mp_ld_acq64(&mp->released);
		if (w & MP_CLAIM_STOP)
			return l3l2q__mp_reject(mp, EPIPE, L3L2Q_ERR_STOPPED, op,
						"input is stopped", 0, NULL, 0,
						NULL);
		c_lo = (__u32)(w >> 32);
		inflight = c_lo - (__u32)(rw >> 32);
		if (inflight > mp->depth)
			continue;
		cur = w & MP_CLAIM_CUR;
		used = cur_sub(mp, cur, rw & 0xffffffffu);
		pad = 0;
		off = 0;
		if (inflight == mp->depth)
			goto full;		/* every slot in use */
		if (n) {
			pos = l3l2q__arena_pos(cur, a);
			if (n > a - pos)
				pad = a - pos;	/* never split at the wrap */
			/* producer.c's rule, the empty-arena case included */
			if (used && used + pad + n > a)
				goto full;
			off = mp->arena_offset + (pad ? 0 : pos);
			cur = cur_add(mp, cur, pad + n);
		}
		nw = (__u64)(c_lo + 1) << 32 | (stop ? MP_CLAIM_STOP : 0) | cur;
		/*
		 * (K) relaxed: the word only hands out positions; what makes
		 * the slot and span free was ordered by (R).
		 */
		if (atomic_compare_exchange_weak_explicit((_Atomic __u64 *)&mp->claim,
							  &w, nw,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
		continue;
full:
		if (refreshed)
			return -EAGAIN;
		ret = refresh_locked(mp, op);
		if (ret)
			return ret;
		refreshed = 1;
	}
	/*
	 * Our seq is unpublished, so the published tail is below it and at
	 * least the released head we claimed against: at most depth behind,
	 * so its low 32 bits name the seq exactly.
	 */
	t = mp_ld_acq64(&mp->tail);
	seq = t + (__u32)(c_lo + 1 - (__u32)t);
	r = mp_rec(mp, seq);
	mp_st64(&r->offset, off);
	mp_st64(&r->nbytes, n);
	mp_st32(&r->pend, (__u32)cur);
	mp_st32(&r->stop, (__u32)stop);
	/* Release: the fields above are visible with the state. */
	mp_st_rel64(&r->state, mp_st(seq, MP_CLAIMED));
	res->seq = seq;
	res->offset = off;
	res->nbytes = n;
	res->data = n ? mp->payload + off : (void *)0;
	return 0;
}

int l3l2q_l3_mp_try_reserve(struct l3l2q_l3 *q, __u64 n,
			    struct l3l2q_res *res)
{
	struct l3l2q_mp *mp;

	if (!mp_mode(q, L3L2Q_MP_PRODUCERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_PRODUCERS, OP_RESERVE);
	mp = q->mp;
	if (!res)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_RESERVE, "res must not be NULL", 0,
					NULL, 0, NULL);
	if (n > mp->arena_bytes)
		return l3l2q__mp_reject(mp, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
					OP_RESERVE, "payload of ", n,
					" bytes exceeds the ", mp->arena_bytes,
					"-byte arena");
	return claim(mp, n, 0, res, OP_RESERVE);
}

/* ---- publish ---- */

static int publish(struct l3l2q_mp *mp, const struct l3l2q_res *res,
		   __u64 opcode, __u32 op)
{
	struct l3l2q_mp_slot *r;
	struct l3l2q_desc *slot;
	__u64 seq, expect, off, nb;
	__u32 stop;

	if (!res)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
					"res must not be NULL", 0, NULL, 0,
					NULL);
	if (mp_is_dead(mp))
		return l3l2q__mp_dead(mp, op);
	seq = res->seq;
	r = mp_rec(mp, seq);
	expect = mp_st(seq, MP_CLAIMED);
	/*
	 * Exactly one publish per claim: the CAS hands the record to this
	 * thread (acquire: the claimer's field stores are visible).  A
	 * stale, double-published or foreign seq fails it.
	 */
	if (!seq || !mp_cas_acq64(&r->state, &expect, mp_st(seq, MP_BUSY)))
		return l3l2q__mp_poison(mp, L3L2Q_ERR_OWNERSHIP, op,
					"unknown reservation (seq ", seq,
					"): stale, already published or modified",
					0, NULL);
	off = mp_ld64(&r->offset);
	nb = mp_ld64(&r->nbytes);
	stop = mp_ld32(&r->stop);
	if (res->offset != off || res->nbytes != nb ||
	    res->data != (nb ? mp->payload + off : (void *)0))
		return l3l2q__mp_poison(mp, L3L2Q_ERR_OWNERSHIP, op,
					"unknown reservation (seq ", seq,
					"): its fields were modified", 0, NULL);
	if (stop ? opcode != L3L2Q_OP_STOP :
	    opcode != L3L2Q_OP_DATA && opcode != L3L2Q_OP_ERROR)
		return l3l2q__mp_poison(mp, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					"opcode ", opcode,
					" cannot be published on this reservation (DATA or ERROR; STOP only by request_stop)",
					0, NULL);
	slot = (struct l3l2q_desc *)(mp->ring + ((seq - 1) & (mp->depth - 1)) *
				     L3L2Q_DESC_BYTES);
	l3l2q_store_once_u64(&slot->opcode, opcode);
	l3l2q_store_once_u64(&slot->payload_offset, off);
	l3l2q_store_once_u64(&slot->payload_nbytes, nb);
	l3l2q_store_release_u64(&slot->seq, seq);		/* (B) */
	/*
	 * M0, release: the payload and the slot are visible to the holder
	 * that sees this state; its (C) passes them on to the L2.
	 */
	mp_st_rel64(&r->state, mp_st(seq, MP_DONE));
	mp_full_fence();	/* M1: pairs with M2 in l3l2q__mp_put() */
	if (l3l2q__mp_try(mp))
		l3l2q__mp_put(mp);
	return 0;
}

int l3l2q_l3_mp_publish(struct l3l2q_l3 *q, const struct l3l2q_res *res,
			__u64 opcode)
{
	if (!mp_mode(q, L3L2Q_MP_PRODUCERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_PRODUCERS, OP_PUBLISH);
	return publish(q->mp, res, opcode, OP_PUBLISH);
}

int l3l2q_l3_mp_try_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
			    __u64 n)
{
	struct l3l2q_mp *mp;
	struct l3l2q_res res;
	int ret;

	if (!mp_mode(q, L3L2Q_MP_PRODUCERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_PRODUCERS, OP_ENQUEUE);
	mp = q->mp;
	/* Every argument check comes before the claim. */
	if (opcode != L3L2Q_OP_DATA && opcode != L3L2Q_OP_ERROR)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_ENQUEUE,
					"opcode must be DATA or ERROR (got ",
					opcode, "); use request_stop for STOP",
					0, NULL);
	if (n && !buf)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_ENQUEUE, "buf is NULL but n is ", n,
					"", 0, NULL);
	if (n > mp->arena_bytes)
		return l3l2q__mp_reject(mp, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
					OP_ENQUEUE, "payload of ", n,
					" bytes exceeds the ", mp->arena_bytes,
					"-byte arena");
	ret = claim(mp, n, 0, &res, OP_ENQUEUE);
	if (ret)
		return ret;
	if (n)
		l3l2q__memcpy(res.data, buf, n);
	return publish(mp, &res, opcode, OP_ENQUEUE);
}

int l3l2q_l3_mp_try_request_stop(struct l3l2q_l3 *q)
{
	struct l3l2q_res res;
	int ret;

	if (!mp_mode(q, L3L2Q_MP_PRODUCERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_PRODUCERS, OP_STOP);
	/* The STOP bit goes in with the claim: nothing is claimed after it. */
	ret = claim(q->mp, 0, 1, &res, OP_STOP);
	if (ret)
		return ret;
	return publish(q->mp, &res, L3L2Q_OP_STOP, OP_STOP);
}
