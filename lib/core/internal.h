/* SPDX-License-Identifier: MIT */
/*
 * Shared by the core's files: endpoint state handling, error recording and
 * the two ring halves (producer and consumer) that both roles are made of.
 */
#ifndef L3L2Q_CORE_INTERNAL_H
#define L3L2Q_CORE_INTERNAL_H

#ifdef __KERNEL__
#include <linux/stddef.h>
#else
#include <stddef.h>		/* freestanding: NULL */
#endif

#include "l3l2q_core.h"
#include "atomic.h"
#include "core_errno.h"

/* The only library functions the core calls; compilers emit them anyway. */
#define l3l2q__memcpy(d, s, n)	__builtin_memcpy(d, s, n)
#define l3l2q__memset(d, c, n)	__builtin_memset(d, c, n)

/* ---- error.c: messages without a libc formatter ---- */

struct l3l2q_msgbuf {
	char *buf;
	unsigned int len;
};

void l3l2q__msg_start(struct l3l2q_msgbuf *m, struct l3l2q_error *err);
void l3l2q__msg_str(struct l3l2q_msgbuf *m, const char *s);
void l3l2q__msg_u64(struct l3l2q_msgbuf *m, __u64 v);

/*
 * Record an error whose message is "<a><x><b><y><c>": a NULL @b or @c ends
 * it early, so a number is printed only when text follows it.
 */
void l3l2q__record(struct l3l2q_error *err, __u32 kind, __u32 op,
		   __u64 region_id, const char *a, __u64 x, const char *b,
		   __u64 y, const char *c);

/* ---- endpoint.c ---- */

int l3l2q__ep_init(struct l3l2q_ep *ep, __u32 role, const struct l3l2q_mem *mem,
		   const struct l3l2q_layout *layout,
		   const struct l3l2q_env *env);

/* The terminal states of l3l2q__ep_check(): record and return the errno. */
int l3l2q__ep_check_slow(struct l3l2q_ep *ep, __u32 op);

/*
 * 0 while LIVE, else the errno of the terminal state (recorded as last).
 * Inline: it runs several times per message, and the live case is one
 * compare; only a terminal state pays for the call and the record.
 */
static inline int l3l2q__ep_check(struct l3l2q_ep *ep, __u32 op)
{
	if (__builtin_expect(ep->state == L3L2Q_STATE_LIVE, 1))
		return 0;
	return l3l2q__ep_check_slow(ep, op);
}

/* Before any shared mutation: record and return -@err; state unchanged. */
int l3l2q__reject(struct l3l2q_ep *ep, int err, __u32 kind, __u32 op,
		  const char *a, __u64 x, const char *b, __u64 y,
		  const char *c);

/* Local infrastructure poison: terminal, sets the own abort flag. -EPROTO. */
int l3l2q__poison(struct l3l2q_ep *ep, __u32 kind, __u32 op, const char *a,
		  __u64 x, const char *b, __u64 y, const char *c);

/* What a blocking call waits for: a need-wakeup bit and its counter. */
struct l3l2q_waitspec {
	__u32 bit;			/* L3L2Q_WAKE_* */
	__u32 counter;			/* L3L2Q_CTR_* the peer moves */
	const __u64 *local;		/* our last matched sample of it */
};

/*
 * The blocking loop: retry @attempt while it returns -EAGAIN, reading the
 * clock only every L3L2Q_SPINS_PER_CLOCK attempts (pitfall P4), until
 * @deadline_ns; a timeout is disambiguated with the peer's abort flag.
 * After env.spin_attempts failures it sleeps through env.sleep, following
 * the need-wakeup protocol for @w.
 */
int l3l2q__wait(struct l3l2q_ep *ep, __u32 op, __u64 deadline_ns,
		int (*attempt)(void *arg), void *arg,
		const struct l3l2q_waitspec *w);

/*
 * After publishing a counter (P1) whose low 32 bits are now @pos: full
 * fence (P2), read the peer's need-wakeup word and seen word (P3) and kick
 * if it waits for @bit, has not seen @pos and this arming was not kicked
 * yet (P4).
 */
void l3l2q__notify(struct l3l2q_ep *ep, __u32 bit, __u32 pos);

/*
 * For a wait loop of its own (mp.c): is the peer gone (its abort flag or
 * its role state; @why says which)?  Reads only.  Then, once nothing more
 * came, enter the remote-aborted state: -ECONNRESET.
 */
int l3l2q__peer_gone(struct l3l2q_ep *ep, const char **why);
int l3l2q__remote_abort(struct l3l2q_ep *ep, const char *why);

/* The counter value this endpoint armed @bit with (W1), for its W4. */
__u32 l3l2q__armed_seen(const struct l3l2q_ep *ep, __u32 bit);

/* ---- arena.c: the payload cursor rules shared by both halves ---- */

/*
 * cursor % arena_bytes: a mask when the arena is a power of two (any
 * multiple of 64 is allowed, but powers of two are the common case), so the
 * per-message paths do not pay a 64-bit division for it.
 */
static inline __u64 l3l2q__arena_pos(__u64 cur, __u64 arena_bytes)
{
	if (arena_bytes & (arena_bytes - 1))
		return cur % arena_bytes;
	return cur & (arena_bytes - 1);
}

/* Non-zero span lies wholly inside [arena_offset, arena_offset + bytes). */
int l3l2q__in_arena(__u64 arena_offset, __u64 arena_bytes, __u64 offset,
		    __u64 n);
/*
 * Advance cursor *cur past the span (offset, n) if it is the next span:
 * either at the cursor, or at the arena base (wrap padding, the loose rule
 * that also accepts padding a peer committed on a failed reservation, P9).
 * Returns 1, or 0 leaving *cur untouched.
 */
int l3l2q__arena_advance(__u64 *cur, __u64 arena_offset, __u64 arena_bytes,
			 __u64 offset, __u64 n);

/* A snapshot of one slot: each word read once (pitfall P5). */
void l3l2q__slot_read(const unsigned char *ring, __u64 depth, __u64 seq,
		      struct l3l2q_desc *d);

/* ---- producer.c ---- */

void l3l2q__prod_init(struct l3l2q_prod *p, struct l3l2q_ep *ep, int is_input,
		      __u64 start_pos);
int l3l2q__prod_try_reserve(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			    __u64 n, struct l3l2q_res *res, __u32 op);
int l3l2q__prod_publish(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			const struct l3l2q_res *res, __u64 opcode, __u32 op);
/* Write the slot, move the private tail; the tail store waits for a flush. */
int l3l2q__prod_publish_defer(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			      const struct l3l2q_res *res, __u64 opcode,
			      __u32 op);
/* Learn how far the consumer released, replaying the released slots. */
int l3l2q__prod_refresh(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u32 op);
/* Store the tail once for every deferred publish, then notify once. */
int l3l2q__prod_flush(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u32 op);

/* ---- consumer.c ---- */

void l3l2q__cons_init(struct l3l2q_cons *c, struct l3l2q_ep *ep, int is_input,
		      __u64 start_pos, struct l3l2q_entry *win,
		      __u32 max_inflight);
int l3l2q__cons_try_peek(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			 struct l3l2q_msg *msg, __u32 op);
int l3l2q__cons_release(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			const struct l3l2q_msg *msg, __u32 op);
/* Release @n held messages with at most one head store and one notify. */
int l3l2q__cons_release_batch(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			      const struct l3l2q_msg *msgs, __u32 n, __u32 op);
/* Pop the completed prefix of held entries (head store, notify). */
int l3l2q__cons_pop(struct l3l2q_ep *ep, struct l3l2q_cons *c, __u32 op);
/* The held entry that @msg names with every field equal, or NULL. */
const struct l3l2q_entry *l3l2q__cons_find(const struct l3l2q_cons *c,
					   const struct l3l2q_msg *msg);

#endif /* L3L2Q_CORE_INTERNAL_H */
