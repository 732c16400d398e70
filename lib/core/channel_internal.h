/* SPDX-License-Identifier: MIT */
/*
 * Shared by the channel's files (channel_*.c): where the shared words are,
 * the atomics of one side's threads, and the pieces each file exports.
 */
#ifndef L3L2Q_CORE_CHANNEL_INTERNAL_H
#define L3L2Q_CORE_CHANNEL_INTERNAL_H

#include "internal.h"
#include "l3l2q_channel_core.h"

/*
 * Read-modify-write atomics on a __u32, fully ordered.  Two kinds of words
 * use them: words of one side's threads in struct l3l2q_chan (lease
 * bitmap, claims, call slots), and words of the region that only one side
 * writes (attention bits, bells, wake words), updated by several threads
 * of that side.  None is ever written by both sides.
 */
#ifdef __KERNEL__
#include <linux/atomic.h>

static inline int l3l2q__cas32(__u32 *p, __u32 old, __u32 new)
{
	return cmpxchg(p, old, new) == old;
}

#define L3L2Q__RMW32(name, expr)					\
static inline __u32 name(__u32 *p, __u32 v)				\
{									\
	__u32 old = READ_ONCE(*p), prev;				\
									\
	for (;;) {							\
		prev = cmpxchg(p, old, (expr));				\
		if (prev == old)					\
			return old;					\
		old = prev;						\
	}								\
}
L3L2Q__RMW32(l3l2q__fetch_add32, old + v)
L3L2Q__RMW32(l3l2q__fetch_or32, old | v)
L3L2Q__RMW32(l3l2q__fetch_and32, old & v)
L3L2Q__RMW32(l3l2q__fetch_xor32, old ^ v)
#undef L3L2Q__RMW32

static inline __u32 l3l2q__load32(const __u32 *p)
{
	__u32 v = READ_ONCE(*p);

	smp_mb();
	return v;
}

static inline __u64 l3l2q__load64(const __u64 *p)
{
	__u64 v = READ_ONCE(*p);

	smp_mb();
	return v;
}

/* On failure *old is the value found. */
static inline int l3l2q__cas64(__u64 *p, __u64 *old, __u64 new)
{
	__u64 prev = cmpxchg(p, *old, new);

	if (prev == *old)
		return 1;
	*old = prev;
	return 0;
}
#else
static inline int l3l2q__cas32(__u32 *p, __u32 old, __u32 new)
{
	return atomic_compare_exchange_strong((_Atomic __u32 *)p, &old, new);
}

static inline __u32 l3l2q__fetch_add32(__u32 *p, __u32 v)
{
	return atomic_fetch_add((_Atomic __u32 *)p, v);
}

static inline __u32 l3l2q__fetch_or32(__u32 *p, __u32 v)
{
	return atomic_fetch_or((_Atomic __u32 *)p, v);
}

static inline __u32 l3l2q__fetch_and32(__u32 *p, __u32 v)
{
	return atomic_fetch_and((_Atomic __u32 *)p, v);
}

static inline __u32 l3l2q__fetch_xor32(__u32 *p, __u32 v)
{
	return atomic_fetch_xor((_Atomic __u32 *)p, v);
}

/* Sequentially consistent loads: one total order with the RMWs above. */
static inline __u32 l3l2q__load32(const __u32 *p)
{
	return atomic_load((const _Atomic __u32 *)p);
}

static inline __u64 l3l2q__load64(const __u64 *p)
{
	return atomic_load((const _Atomic __u64 *)p);
}

/* On failure *old is the value found. */
static inline int l3l2q__cas64(__u64 *p, __u64 *old, __u64 new)
{
	return atomic_compare_exchange_strong((_Atomic __u64 *)p, old, new);
}
#endif

/* ---- where things are (from the private layout only, pitfall P5) ---- */

static inline struct l3l2q_chan_lane *
l3l2q__chan_lane(const struct l3l2q_chan *ch, unsigned char *base, __u32 i)
{
	return (struct l3l2q_chan_lane *)(base + (__u64)i * ch->layout.lane_bytes);
}

static inline struct l3l2q_chan_desc *
l3l2q__chan_desc(const struct l3l2q_chan *ch, unsigned char *base, __u32 i,
		 __u64 pos)
{
	return (struct l3l2q_chan_desc *)(base + (__u64)i * ch->layout.lane_bytes +
		L3L2Q_CHAN_LANE_HDR_BYTES +
		(pos & (ch->layout.lane_depth - 1)) * L3L2Q_CHAN_DESC_BYTES);
}

static inline __u32 l3l2q__lane_mask(__u32 n)
{
	return n >= 32 ? ~0u : (1u << n) - 1;
}

/* Whether the peer follows L3L2Q_CHAN_PROTO_V1 (latched once seen). */
int l3l2q__chan_peer_v1(struct l3l2q_chan *ch);

/* ---- channel_state.c: errors, poison, the peer's health ---- */

/* 0 while LIVE, else the errno of the terminal state (recorded). */
int l3l2q__chan_check_slow(struct l3l2q_chan_ctx *ctx, __u32 op);

static inline int l3l2q__chan_check(struct l3l2q_chan_ctx *ctx, __u32 op)
{
	if (__builtin_expect(l3l2q_load_once_u32(&ctx->ch->state) ==
			     L3L2Q_STATE_LIVE, 1))
		return 0;
	return l3l2q__chan_check_slow(ctx, op);
}

/* Record a rejection (nothing shared was touched) and return -@err. */
int l3l2q__chan_reject(struct l3l2q_chan_ctx *ctx, int err, __u32 kind,
		       __u32 op, const char *a, __u64 x, const char *b,
		       __u64 y, const char *c);

/*
 * Poison the endpoint: the first caller moves it to POISONED_LOCAL, keeps
 * the record, raises the abort word and fatal_status, bumps both bells and
 * kicks.  -EPROTO.
 */
int l3l2q__chan_poison(struct l3l2q_chan_ctx *ctx, __u32 kind, __u32 op,
		       const char *a, __u64 x, const char *b, __u64 y,
		       const char *c);

/* The peer aborted, set fatal_status or died: 1 and why. */
int l3l2q__chan_peer_gone(struct l3l2q_chan *ch, const char **why);
/* Move to POISONED_REMOTE (first caller keeps the record). -ECONNRESET. */
int l3l2q__chan_remote_abort(struct l3l2q_chan_ctx *ctx, __u32 op,
			     const char *why);

/* ---- channel_wake.c: bells, kicks, arming and the blocking loop ---- */

/*
 * Bump one of our bells and kick, whatever the peer's wake words say
 * (@st, which counts the kick, may be NULL).
 */
void l3l2q__chan_ring(struct l3l2q_chan *ch, __u32 *bell,
		      struct l3l2q_chan_stats *st);

/* A producer raised attention (A3/P1): kick sleeping receivers (P2-P4). */
void l3l2q__chan_wake_receivers(struct l3l2q_chan_ctx *ctx);
/* A consumer stored lane @i's head (P1): kick its producer (P2-P4). */
void l3l2q__chan_wake_producer(struct l3l2q_chan_ctx *ctx, __u32 i);

enum l3l2q__chan_wait_kind {
	L3L2Q__CHAN_WAIT_RECV,		/* the peer's TX bell, armed */
	L3L2Q__CHAN_WAIT_SPACE,		/* the peer's RX bell, lane armed */
	L3L2Q__CHAN_WAIT_ACK,		/* the peer's RX bell, no arming */
	L3L2Q__CHAN_WAIT_LOCAL,		/* naps only (this side's events) */
};

/*
 * One attempt of a blocking call: 0 or -errno to stop, -EAGAIN to go on;
 * on -EAGAIN *local says whether this side could make it succeed (then
 * the sleep is a nap).
 */
typedef int (*l3l2q__chan_attempt_fn)(void *arg, int *local);

/*
 * The blocking loop: retry @attempt until it stops, @deadline_ns passes or
 * the peer is gone, sleeping as uapi/l3l2q_channel.h describes for @kind.
 */
int l3l2q__chan_wait(struct l3l2q_chan_ctx *ctx, __u32 op, __u64 deadline_ns,
		     l3l2q__chan_attempt_fn attempt, void *arg, __u32 kind);

/* ---- channel_send.c ---- */

/* Store the leased lane's tail for everything deferred, raise attention. */
int l3l2q__chan_publish(struct l3l2q_chan_ctx *ctx, __u32 op);

/* ---- channel_recv.c ---- */

enum l3l2q__chan_rx_mode {
	L3L2Q__CHAN_RX_COPY,		/* l3l2q_chan_try_recv() */
	L3L2Q__CHAN_RX_PEEK,		/* l3l2q_chan_try_peek() */
	L3L2Q__CHAN_RX_REPLIES,		/* a caller: replies only */
};

struct l3l2q__chan_rx {
	__u32 mode;
	__u32 op;
	void *buf;
	__u32 cap;
	__u32 call;			/* RX_REPLIES: the caller's slot */
	__u32 call_gen;			/* and its generation */
	struct l3l2q_chan_msg *msg;
	struct l3l2q_chan_ctx *ctx;
};

/* One receive attempt (see l3l2q__chan_attempt_fn). */
int l3l2q__chan_rx_attempt(struct l3l2q_chan_ctx *ctx,
			   struct l3l2q__chan_rx *rx, int *local);

/* Claim lane @i of the peer (0 if another thread has it), fence (C3). */
int l3l2q__chan_claim(struct l3l2q_chan *ch, __u32 i);
/* Let it go, pending again if messages are left. */
void l3l2q__chan_unclaim(struct l3l2q_chan *ch, __u32 i);
/* Under a claim: load, check and keep lane @i's tail; 0 or poison. */
int l3l2q__chan_refresh_tail(struct l3l2q_chan_ctx *ctx, __u32 i, __u32 op);

/* ---- channel_call.c ---- */

/* Slot states. */
#define L3L2Q__CALL_FREE	0u
#define L3L2Q__CALL_WAITING	1u
#define L3L2Q__CALL_FILLING	2u
#define L3L2Q__CALL_DONE	3u

/*
 * A reply on the lane's head (already validated into @d): put it into the
 * waiting call it names.  1 if it did (the caller then takes it), 0 if no
 * call waits for it (it is an ordinary message).
 */
int l3l2q__chan_deposit(struct l3l2q_chan *ch,
			const struct l3l2q_chan_desc *d, const void *payload,
			__u32 lane, __u64 pos);
/* Whether the call in slot @s, generation @gen, has its reply. */
int l3l2q__chan_call_done(struct l3l2q_chan *ch, __u32 s, __u32 gen);

/* ---- channel_close.c ---- */

/*
 * Nothing to take: if the peer has closed, see whether everything is
 * taken and, the first time, ack.  -EPIPE when drained, -EAGAIN otherwise
 * (*local set when another thread holds a lane), or poison.
 */
int l3l2q__chan_try_drained(struct l3l2q_chan_ctx *ctx, __u32 op, int *local);

#endif /* L3L2Q_CORE_CHANNEL_INTERNAL_H */
