// SPDX-License-Identifier: MIT
/*
 * MC: many threads consume the output ring (l3l2q_mp.h).
 *
 *   peek     under the token: consumer.c's validation of the next
 *            descriptor, unchanged (a window as deep as the ring, each
 *            peek takes the next message); the held record (state last)
 *   read     in parallel, from the validated copy
 *   release  record released (M0'); M1'; the token holder pops the
 *            released prefix and stores the head (D), then P2-P4
 *
 * Why the peek is not a lock-free claim as in MP: validating a descriptor
 * needs the slot to stay unconsumed while it is read.  A thread with a
 * stale view of a lock-free claim could read a slot that the others had
 * consumed and the L2 had legitimately refilled, and poison a healthy
 * queue; nothing in the L2's stores (a plain peer may use no release)
 * would let that thread tell.  Under the token the next slot is nobody's
 * but the holder's.
 */
#include "mp_internal.h"

#define OP_PEEK		L3L2Q_EOP_OUTPUT_TRY_PEEK
#define OP_READ		L3L2Q_EOP_OUTPUT_READ
#define OP_RELEASE	L3L2Q_EOP_OUTPUT_RELEASE

int l3l2q__mp_out_pending(const struct l3l2q_mp *mp)
{
	__u64 h = mp_ld64(&mp->out_head);

	return mp_ld64(&mc_rec(mp, h + 1)->state) == mp_st(h + 1, MP_DONE);
}

void l3l2q__mp_out_work(struct l3l2q_mp *mp)
{
	struct l3l2q_l3 *q = mp->q;
	struct l3l2q_cons *c = &q->out;
	struct l3l2q_entry *e;
	__u32 i, j, w = c->max_inflight + 1;

	if (L3L2Q__GATE_STATE(l3l2q__gate(&q->ep)) != L3L2Q_STATE_LIVE) {
		mp_set_dead(mp);
		return;
	}
	for (i = 0; i < c->active; i++) {
		j = c->first + i;
		if (j >= w)
			j -= w;
		e = &c->win[j];
		/* Acquire: pairs with the releaser's M0'. */
		if (mp_ld_acq64(&mc_rec(mp, e->seq)->state) !=
		    mp_st(e->seq, MP_DONE))
			break;
		e->completed = 1;
	}
	if (!i)
		return;
	if (l3l2q__cons_pop(&q->ep, c, OP_RELEASE))	/* (D), P2-P4 */
		mp_set_dead(mp);
	mp_st_rel64(&mp->out_head, c->head);
}

int l3l2q_l3_mc_try_peek(struct l3l2q_l3 *q, struct l3l2q_msg *msg)
{
	struct l3l2q_mc_slot *r;
	struct l3l2q_mp *mp;
	int ret;

	if (!mp_mode(q, L3L2Q_MP_CONSUMERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_CONSUMERS, OP_PEEK);
	mp = q->mp;
	if (!msg)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_PEEK, "msg must not be NULL", 0, NULL,
					0, NULL);
	l3l2q__mp_lock(mp);
	ret = l3l2q__cons_try_peek(&q->ep, &q->out, msg, OP_PEEK);
	if (!ret) {
		r = mc_rec(mp, msg->seq);
		mp_st64(&r->opcode, msg->opcode);
		mp_st64(&r->offset, msg->offset);
		mp_st64(&r->nbytes, msg->nbytes);
		mp_st64(&r->data, (__u64)(unsigned long)msg->data);
		/* Release: the fields above are visible with the state. */
		mp_st_rel64(&r->state, mp_st(msg->seq, MP_CLAIMED));
	}
	l3l2q__mp_put(mp);
	return ret;
}

/* The record of @msg if it is in @state with every field equal, or NULL. */
static struct l3l2q_mc_slot *find(struct l3l2q_mp *mp,
				  const struct l3l2q_msg *msg)
{
	struct l3l2q_mc_slot *r = mc_rec(mp, msg->seq);

	/* Acquire: pairs with the peek's release of the state. */
	if (!msg->seq ||
	    mp_ld_acq64(&r->state) != mp_st(msg->seq, MP_CLAIMED) ||
	    mp_ld64(&r->opcode) != msg->opcode ||
	    mp_ld64(&r->offset) != msg->offset ||
	    mp_ld64(&r->nbytes) != msg->nbytes ||
	    mp_ld64(&r->data) != (__u64)(unsigned long)msg->data)
		return (struct l3l2q_mc_slot *)0;
	return r;
}

int l3l2q_l3_mc_read(struct l3l2q_l3 *q, const struct l3l2q_msg *msg,
		     void *buf, __u64 cap)
{
	struct l3l2q_mc_slot *r;
	struct l3l2q_mp *mp;
	__u64 nb;

	if (!mp_mode(q, L3L2Q_MP_CONSUMERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_CONSUMERS, OP_READ);
	mp = q->mp;
	if (!msg)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_READ, "msg must not be NULL", 0, NULL,
					0, NULL);
	if (mp_is_dead(mp))
		return l3l2q__mp_dead(mp, OP_READ);
	/* Reading is harmless, so a wrong handle is rejected, not poison. */
	r = find(mp, msg);
	if (!r)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_OWNERSHIP, OP_READ,
					"handle is not a held output message (seq ",
					msg->seq, ")", 0, NULL);
	nb = mp_ld64(&r->nbytes);
	if (!nb)
		return 0;
	if (!buf)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_READ, "buf is NULL", 0, NULL, 0,
					NULL);
	/* Too small: the message stays held, for a retry (P6). */
	if (cap < nb)
		return l3l2q__mp_reject(mp, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
					OP_READ, "buffer of ", cap,
					" bytes is smaller than the message of ",
					nb, " bytes");
	/* From the validated copy of the pointer, never from the slot. */
	l3l2q__memcpy(buf, (const void *)(unsigned long)mp_ld64(&r->data), nb);
	return 0;
}

int l3l2q_l3_mc_release(struct l3l2q_l3 *q, const struct l3l2q_msg *msg)
{
	struct l3l2q_mc_slot *r;
	struct l3l2q_mp *mp;
	__u64 expect;

	if (!mp_mode(q, L3L2Q_MP_CONSUMERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_CONSUMERS, OP_RELEASE);
	mp = q->mp;
	if (!msg)
		return l3l2q__mp_reject(mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_RELEASE, "msg must not be NULL", 0,
					NULL, 0, NULL);
	if (mp_is_dead(mp))
		return l3l2q__mp_dead(mp, OP_RELEASE);
	r = mc_rec(mp, msg->seq);
	expect = mp_st(msg->seq, MP_CLAIMED);
	/* Exactly one release per held message (acquire: its fields). */
	if (!msg->seq ||
	    !mp_cas_acq64(&r->state, &expect, mp_st(msg->seq, MP_BUSY)))
		return l3l2q__mp_poison(mp, L3L2Q_ERR_OWNERSHIP, OP_RELEASE,
					expect == mp_st(msg->seq, MP_DONE) ?
					"handle already released (seq " :
					"handle is not active (seq ", msg->seq,
					"): stale, unknown or modified", 0,
					NULL);
	if (mp_ld64(&r->opcode) != msg->opcode ||
	    mp_ld64(&r->offset) != msg->offset ||
	    mp_ld64(&r->nbytes) != msg->nbytes ||
	    mp_ld64(&r->data) != (__u64)(unsigned long)msg->data)
		return l3l2q__mp_poison(mp, L3L2Q_ERR_OWNERSHIP, OP_RELEASE,
					"handle is not active (seq ", msg->seq,
					"): stale, unknown or modified", 0,
					NULL);
	/*
	 * M0', release: every read of this payload happens before the
	 * holder that sees the state stores the head (D).
	 */
	mp_st_rel64(&r->state, mp_st(msg->seq, MP_DONE));
	mp_full_fence();	/* M1': pairs with M2 in l3l2q__mp_put() */
	if (l3l2q__mp_try(mp))
		l3l2q__mp_put(mp);
	return 0;
}

int l3l2q_l3_mc_try_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
			    struct l3l2q_msg *msg)
{
	struct l3l2q_msg m;
	int ret;

	if (!mp_mode(q, L3L2Q_MP_CONSUMERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_CONSUMERS, OP_PEEK);
	/* The message stays held on -EMSGSIZE: the caller must know it. */
	if (!msg)
		return l3l2q__mp_reject(q->mp, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					OP_PEEK, "msg must not be NULL", 0, NULL,
					0, NULL);
	ret = l3l2q_l3_mc_try_peek(q, &m);
	if (ret)
		return ret;
	*msg = m;
	ret = l3l2q_l3_mc_read(q, &m, buf, cap);
	if (!ret)
		ret = l3l2q_l3_mc_release(q, &m);
	return ret;
}
