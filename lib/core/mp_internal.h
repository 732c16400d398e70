/* SPDX-License-Identifier: MIT */
/*
 * Shared by the files of the multi-thread L3 (l3l2q_mp.h): mp.c (init, the
 * token and the work its holder does), mp_produce.c (MP), mp_consume.c
 * (MC) and mp_wait.c (blocking calls).  Host-only: not in the kernel
 * build, but freestanding like the rest of the core (C11 atomics).
 *
 * Why this is free of data races (mp_test is also clean under TSan, see
 * docs/testing.md):
 *  - every word two threads touch is accessed through the atomics below:
 *    the claim, released, tail and out_head words, the records' state and
 *    fields, the token, leader, gen and dead words;
 *  - everything else that is written -- q->in, q->out and the endpoint
 *    (state, error records, statistics, the need-wakeup words) -- is
 *    written only by the holder of the token, which is a lock: acquire on
 *    taking it, release on giving it back, so each holder sees what the
 *    earlier holders wrote.  One token serves both directions, so an MP
 *    producer and an MC consumer never write the endpoint at once either;
 *  - a record's fields are written by the thread that claimed (or peeked)
 *    its seq, before the release store of its state, and read by others
 *    only after an acquire load (or acquire CAS) of that state showed the
 *    value for that seq.  A record is rewritten only for seq + depth,
 *    which cannot be claimed before the token holder has replayed seq
 *    (published in the released word, R) or, on the output, popped it;
 *  - the region bytes of one message (slot, payload) are written by the one
 *    thread that claimed it and passed to the L2 by the token holder's
 *    release store of the tail counter (C), which follows its acquire load
 *    of that message's done state (M0): happens-before is transitive.
 * Only the single-thread calls of the other direction, if one thread uses
 * them (MP with a plain consumer thread, or MC with a plain producer
 * thread), share the endpoint outside the token: that is the one thread
 * per direction of the single-thread model (l3l2q(7)).
 */
#ifndef L3L2Q_CORE_MP_INTERNAL_H
#define L3L2Q_CORE_MP_INTERNAL_H

#include <stdatomic.h>

#include "internal.h"
#include "l3l2q_mp.h"

/* A record's state: the seq it belongs to and where it is. */
enum {
	MP_CLAIMED = 1,		/* MP: claimed; MC: held */
	MP_BUSY = 2,		/* being published / released */
	MP_DONE = 3,		/* published / released */
};

static inline __u64 mp_st(__u64 seq, unsigned int k)
{
	return seq * 4 + k;
}

/* Claim word: seq low 32 | STOP | arena cursor (31 bits). */
#define MP_CLAIM_STOP	(1ull << 31)
#define MP_CLAIM_CUR	(MP_CLAIM_STOP - 1)

/* ---- process-local words shared by threads ---- */

static inline __u64 mp_ld64(const __u64 *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p,
				    memory_order_relaxed);
}

static inline __u64 mp_ld_acq64(const __u64 *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p,
				    memory_order_acquire);
}

static inline void mp_st64(__u64 *p, __u64 v)
{
	atomic_store_explicit((_Atomic __u64 *)p, v, memory_order_relaxed);
}

static inline void mp_st_rel64(__u64 *p, __u64 v)
{
	atomic_store_explicit((_Atomic __u64 *)p, v, memory_order_release);
}

static inline __u32 mp_ld32(const __u32 *p)
{
	return atomic_load_explicit((const _Atomic __u32 *)p,
				    memory_order_relaxed);
}

static inline __u32 mp_ld_acq32(const __u32 *p)
{
	return atomic_load_explicit((const _Atomic __u32 *)p,
				    memory_order_acquire);
}

static inline void mp_st32(__u32 *p, __u32 v)
{
	atomic_store_explicit((_Atomic __u32 *)p, v, memory_order_relaxed);
}

static inline void mp_st_rel32(__u32 *p, __u32 v)
{
	atomic_store_explicit((_Atomic __u32 *)p, v, memory_order_release);
}

/* Strong CAS, acquire on success: pairs with the release of @expect. */
static inline int mp_cas_acq64(__u64 *p, __u64 *expect, __u64 want)
{
	return atomic_compare_exchange_strong_explicit((_Atomic __u64 *)p,
						       expect, want,
						       memory_order_acquire,
						       memory_order_relaxed);
}

static inline int mp_cas_acq32(__u32 *p, __u32 expect, __u32 want)
{
	return atomic_compare_exchange_strong_explicit((_Atomic __u32 *)p,
						       &expect, want,
						       memory_order_acquire,
						       memory_order_relaxed);
}

/* Store->load ordering between a thread and the token holder (M1/M2). */
static inline void mp_full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

static inline struct l3l2q_mp_slot *mp_rec(const struct l3l2q_mp *mp,
					   __u64 seq)
{
	return &mp->slots[(seq - 1) & (mp->depth - 1)];
}

static inline struct l3l2q_mc_slot *mc_rec(const struct l3l2q_mp *mp,
					   __u64 seq)
{
	return &mp->held[(seq - 1) & (mp->depth - 1)];
}

static inline int mp_mode(const struct l3l2q_l3 *q, __u32 flag)
{
	return q && q->mp && (q->mp->flags & flag);
}

static inline int mp_is_dead(const struct l3l2q_mp *mp)
{
	return mp_ld_acq32(&mp->dead) != 0;
}

static inline void mp_set_dead(struct l3l2q_mp *mp)
{
	mp_st_rel32(&mp->dead, 1);
}

/* ---- mp.c: the token and the work of its holder ---- */

/* A spin hint (the relax hook, or a pause). */
void l3l2q__mp_relax(const struct l3l2q_mp *mp);
/* Take the token if it is free: 1, or 0 (someone else holds it). */
int l3l2q__mp_try(struct l3l2q_mp *mp);
/*
 * Take the token, spinning.  Only where a thread cannot go on without the
 * holder's state (refresh, peek, recording an error): a holder preempted
 * meanwhile makes it spin (the lock-waiter preemption caveat).
 */
void l3l2q__mp_lock(struct l3l2q_mp *mp);
/*
 * Give the token back, after doing (and re-checking for) the work that
 * threads left for the holder: a publish or a release that found the
 * token taken.
 */
void l3l2q__mp_put(struct l3l2q_mp *mp);
/* Record an error from outside the token (reject or poison). */
int l3l2q__mp_reject(struct l3l2q_mp *mp, int err, __u32 kind, __u32 op,
		     const char *a, __u64 x, const char *b, __u64 y,
		     const char *c);
int l3l2q__mp_poison(struct l3l2q_mp *mp, __u32 kind, __u32 op,
		     const char *a, __u64 x, const char *b, __u64 y,
		     const char *c);
/* The terminal state's errno, recorded for @op. */
int l3l2q__mp_dead(struct l3l2q_mp *mp, __u32 op);
/* -EINVAL: @q is not in the mode @flag names. */
int l3l2q__mp_not_mode(struct l3l2q_l3 *q, __u32 flag, __u32 op);

/* ---- the holder's work, per direction ---- */

/* mp_produce.c: move the tail over the completed prefix. */
void l3l2q__mp_in_work(struct l3l2q_mp *mp);
/* 1 if a completed claim waits for the tail. */
int l3l2q__mp_in_pending(const struct l3l2q_mp *mp);
/* mp_consume.c: pop the released prefix of held messages. */
void l3l2q__mp_out_work(struct l3l2q_mp *mp);
int l3l2q__mp_out_pending(const struct l3l2q_mp *mp);

#endif /* L3L2Q_CORE_MP_INTERNAL_H */
