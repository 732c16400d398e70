// SPDX-License-Identifier: MIT
/*
 * Many host threads on one L3 endpoint (l3l2q_mp.h): entering the mode,
 * and the token under which the steps that write the single-thread state
 * run.  The data race argument is in mp_internal.h.
 *
 * The token combines: whoever holds it does every step other threads left
 * behind (moving the input tail, popping the output head) before giving it
 * back, so a publish or a release never waits for it.  The hand-off is a
 * store->load pattern on both sides, hence the two full fences:
 *   publisher / releaser: record done (M0); M1; try the token
 *   holder:               give the token back; M2; look for done records
 * Either the publisher's try sees the token free, or the holder's look
 * sees the record (and takes the token again).
 */
#include "mp_internal.h"

void l3l2q__mp_relax(const struct l3l2q_mp *mp)
{
	if (mp->relax) {
		mp->relax(mp->ctx);
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

int l3l2q__mp_try(struct l3l2q_mp *mp)
{
	/* Acquire: everything the previous holder wrote is visible. */
	return mp_ld32(&mp->token) == 0 && mp_cas_acq32(&mp->token, 0, 1);
}

void l3l2q__mp_lock(struct l3l2q_mp *mp)
{
	while (!l3l2q__mp_try(mp))
		l3l2q__mp_relax(mp);
}

static int pending(const struct l3l2q_mp *mp)
{
	return ((mp->flags & L3L2Q_MP_PRODUCERS) && l3l2q__mp_in_pending(mp)) ||
	       ((mp->flags & L3L2Q_MP_CONSUMERS) && l3l2q__mp_out_pending(mp));
}

void l3l2q__mp_put(struct l3l2q_mp *mp)
{
	for (;;) {
		if (mp->flags & L3L2Q_MP_PRODUCERS)
			l3l2q__mp_in_work(mp);
		if (mp->flags & L3L2Q_MP_CONSUMERS)
			l3l2q__mp_out_work(mp);
		/* Release: pairs with the next holder's acquire. */
		mp_st_rel32(&mp->token, 0);
		mp_full_fence();			/* M2 */
		if (!pending(mp) || !l3l2q__mp_try(mp))
			return;	/* nothing left, or the new holder sees it */
	}
}

int l3l2q__mp_reject(struct l3l2q_mp *mp, int err, __u32 kind, __u32 op,
		     const char *a, __u64 x, const char *b, __u64 y,
		     const char *c)
{
	int ret;

	l3l2q__mp_lock(mp);
	ret = l3l2q__reject(&mp->q->ep, err, kind, op, a, x, b, y, c);
	l3l2q__mp_put(mp);
	return ret;
}

int l3l2q__mp_poison(struct l3l2q_mp *mp, __u32 kind, __u32 op,
		     const char *a, __u64 x, const char *b, __u64 y,
		     const char *c)
{
	int ret;

	l3l2q__mp_lock(mp);
	ret = l3l2q__poison(&mp->q->ep, kind, op, a, x, b, y, c);
	mp_set_dead(mp);
	l3l2q__mp_put(mp);
	return ret;
}

int l3l2q__mp_dead(struct l3l2q_mp *mp, __u32 op)
{
	int ret;

	l3l2q__mp_lock(mp);
	ret = l3l2q__ep_check(mp->q, L3L2Q_ROLE_L3, op);
	l3l2q__mp_put(mp);
	return ret ? ret : -EPROTO;
}

int l3l2q__mp_not_mode(struct l3l2q_l3 *q, __u32 flag, __u32 op)
{
	if (!q)
		return -EINVAL;
	/* No threads of this mode: the caller is the only one here. */
	return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
			     flag == L3L2Q_MP_PRODUCERS ?
			     "the input is not in multi-producer mode (l3l2q_l3_mp_init)" :
			     "the output is not in multi-consumer mode (l3l2q_l3_mp_init)",
			     0, NULL, 0, NULL);
}

static int init_reject(struct l3l2q_l3 *q, int err, const char *msg)
{
	return l3l2q__reject(&q->ep, err, L3L2Q_ERR_BAD_ARGUMENT,
			     L3L2Q_EOP_INIT, msg, 0, NULL, 0, NULL);
}

static int check_params(struct l3l2q_l3 *q, struct l3l2q_mp *mp,
			const struct l3l2q_mp_params *p)
{
	int ret;

	if (!mp || !p)
		return init_reject(q, EINVAL, "mp and p must not be NULL");
	if (!p->flags || (p->flags & ~L3L2Q_MP_ALL) || p->resv0)
		return init_reject(q, EINVAL,
				   "flags must be L3L2Q_MP_PRODUCERS and/or L3L2Q_MP_CONSUMERS, resv0 zero");
	if (q->mp)
		return init_reject(q, EBUSY,
				   "the endpoint is in multi-thread mode already");
	if (p->flags & L3L2Q_MP_PRODUCERS) {
		if (!p->slots)
			return init_reject(q, EINVAL,
					   "slots must point to depth entries");
		if (q->ep.layout.input_arena_bytes > L3L2Q_MP_ARENA_MAX)
			return init_reject(q, EINVAL,
					   "input_arena_bytes must be at most 2^30 for many producers");
		if (q->in.res_active || q->in.deferred)
			return init_reject(q, EBUSY,
					   "a reservation is active or deferred");
		/* What the L2 released so far (with producer.c's replay). */
		ret = l3l2q__prod_refresh(&q->ep, &q->in, L3L2Q_EOP_INIT);
		if (ret)
			return ret;
		if (q->in.tail != q->in.head)
			return init_reject(q, EBUSY,
					   "the input has messages in flight");
	}
	if (p->flags & L3L2Q_MP_CONSUMERS) {
		if (!p->held || !p->win)
			return init_reject(q, EINVAL,
					   "held and win must point to depth and depth + 1 entries");
		if (q->out.active)
			return init_reject(q, EBUSY,
					   "an output message is held");
	}
	return 0;
}

int l3l2q_l3_mp_init(struct l3l2q_l3 *q, struct l3l2q_mp *mp,
		     const struct l3l2q_mp_params *p)
{
	__u64 depth, a;
	int ret;

	if (!q)
		return -EINVAL;
	ret = l3l2q__ep_check(q, L3L2Q_ROLE_L3, L3L2Q_EOP_INIT);
	if (!ret)
		ret = check_params(q, mp, p);
	if (ret)
		return ret;
	depth = q->ep.layout.depth;
	a = q->ep.layout.input_arena_bytes;
	l3l2q__memset(mp, 0, sizeof(*mp));
	mp->q = q;
	mp->flags = p->flags;
	mp->payload = q->ep.mem.payload;
	mp->ring = q->in.ring;
	mp->depth = depth;
	mp->arena_offset = q->in.arena_offset;
	mp->arena_bytes = a;
	mp->park = p->park;
	mp->unpark = p->unpark;
	mp->relax = p->relax;
	mp->ctx = p->ctx;
	if (p->flags & L3L2Q_MP_PRODUCERS) {
		/* The largest multiple of the arena that fits 31 bits. */
		mp->mod = (MP_CLAIM_STOP / a) * a;
		mp->slots = p->slots;
		l3l2q__memset(p->slots, 0, sizeof(*p->slots) * depth);
		/* Nothing in flight: claimed == released == published. */
		mp->claim = (__u64)(__u32)l3l2q_low32(q->in.tail) << 32 |
			    q->in.ptail % mp->mod;
		mp->released = (__u64)(__u32)l3l2q_low32(q->in.head) << 32 |
			       q->in.phead % mp->mod;
		mp->tail = q->in.tail;
		q->in.mp = 1;	/* the single-producer calls refuse now */
	}
	if (p->flags & L3L2Q_MP_CONSUMERS) {
		struct l3l2q_cons *c = &q->out;

		mp->held = p->held;
		l3l2q__memset(p->held, 0, sizeof(*p->held) * depth);
		l3l2q__memset(p->win, 0, sizeof(*p->win) * (depth + 1));
		/* The same consumer, with a window as deep as the ring. */
		c->win = p->win;
		c->max_inflight = (__u32)depth;
		c->first = 0;
		c->multi = 1;
		mp->out_head = c->head;
	}
	q->mp = mp;
	return 0;
}
