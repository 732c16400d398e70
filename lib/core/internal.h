/* SPDX-License-Identifier: MIT */
/*
 * Shared by the core's files: endpoint state handling, error recording and
 * the two ring halves (producer and consumer) that both roles are made of.
 */
#ifndef L3L2Q_CORE_INTERNAL_H
#define L3L2Q_CORE_INTERNAL_H

#ifdef __KERNEL__
#include <linux/sched.h>
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

/*
 * A scheduling point in a loop whose length the peer decides (up to a
 * ring's depth): in the kernel, whose callers of the core run in process
 * context, cond_resched() once every 1024 steps; nothing elsewhere.
 */
#ifdef __KERNEL__
#define l3l2q__resched_point(i)					\
	do {							\
		if (!((i) & 1023u))				\
			cond_resched();				\
	} while (0)
#else
#define l3l2q__resched_point(i)	do { } while (0)
#endif

/*
 * A payload copy between a caller's buffer and the arena (never
 * overlapping): up to 64 bytes in line, in overlapping 16- or 8-byte
 * moves, so a small message costs no call and nothing spilled around
 * one; larger ones through memcpy.
 */
struct l3l2q__w16 {
	__u64 a, b;
};

static inline void l3l2q__copy(void *dst, const void *src, __u64 n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;
	struct l3l2q__w16 w0, w1, w2, w3;
	__u64 x, y;
	__u32 u, v;

	if (n > 64) {
		__builtin_memcpy(d, s, n);
	} else if (n > 32) {		/* the first 32 and the last 32 */
		__builtin_memcpy(&w0, s, 16);
		__builtin_memcpy(&w1, s + 16, 16);
		__builtin_memcpy(&w2, s + n - 32, 16);
		__builtin_memcpy(&w3, s + n - 16, 16);
		__builtin_memcpy(d, &w0, 16);
		__builtin_memcpy(d + 16, &w1, 16);
		__builtin_memcpy(d + n - 32, &w2, 16);
		__builtin_memcpy(d + n - 16, &w3, 16);
	} else if (n >= 16) {
		__builtin_memcpy(&w0, s, 16);
		__builtin_memcpy(&w1, s + n - 16, 16);
		__builtin_memcpy(d, &w0, 16);
		__builtin_memcpy(d + n - 16, &w1, 16);
	} else if (n >= 8) {
		__builtin_memcpy(&x, s, 8);
		__builtin_memcpy(&y, s + n - 8, 8);
		__builtin_memcpy(d, &x, 8);
		__builtin_memcpy(d + n - 8, &y, 8);
	} else if (n >= 4) {
		__builtin_memcpy(&u, s, 4);
		__builtin_memcpy(&v, s + n - 4, 4);
		__builtin_memcpy(d, &u, 4);
		__builtin_memcpy(d + n - 4, &v, 4);
	} else {
		while (n--)
			*d++ = *s++;
	}
}

#define l3l2q__likely(x)	__builtin_expect(!!(x), 1)
#define l3l2q__unlikely(x)	__builtin_expect(!!(x), 0)
/* Error reporting and other rare paths: out of line, out of the hot code. */
#define L3L2Q__COLD		__attribute__((__cold__, __noinline__))

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

/*
 * The gate word: role and state in one word, so that every call checks
 * both with one compare; the magic tells an initialised endpoint from
 * zeroed or foreign memory.  State L3L2Q__BUSY is held only while a
 * thread copies the first terminal error into ep->err.
 */
#define L3L2Q__GATE_MAGIC	0x4C330000u
#define L3L2Q__GATE_MASK	0xffff0000u
#define L3L2Q__BUSY		15u
#define L3L2Q__GATE(role, state) \
	(L3L2Q__GATE_MAGIC | (__u32)(role) << 8 | (__u32)(state))
#define L3L2Q__GATE_ROLE(g)	(((g) >> 8) & 0xffu)
#define L3L2Q__GATE_STATE(g)	((g) & 0xffu)

static inline __u32 l3l2q__gate(const struct l3l2q_ep *ep)
{
	/* Relaxed: the state only says which path to take; the terminal
	 * paths acquire it again before they read what it covers. */
	return l3l2q_load_once_u32(&ep->gate);
}

/* The direction an operation belongs to (INIT, ATTACH, ... count as input). */
static inline __u32 l3l2q__op_dir(__u32 op)
{
	switch (op) {
	case L3L2Q_EOP_OUTPUT_TRY_RESERVE:
	case L3L2Q_EOP_OUTPUT_PUBLISH:
	case L3L2Q_EOP_OUTPUT_TRY_PEEK:
	case L3L2Q_EOP_OUTPUT_READ:
	case L3L2Q_EOP_OUTPUT_RELEASE:
		return L3L2Q_DIR_OUTPUT;
	default:
		return L3L2Q_DIR_INPUT;
	}
}

/* The direction a wait bit belongs to (both roles). */
static inline __u32 l3l2q__bit_dir(__u32 bit)
{
	return bit & (L3L2Q_WAKE_INPUT_AVAIL | L3L2Q_WAKE_INPUT_SPACE) ?
	       L3L2Q_DIR_INPUT : L3L2Q_DIR_OUTPUT;
}

int l3l2q__ep_init(struct l3l2q_ep *ep, __u32 role, const struct l3l2q_mem *mem,
		   const struct l3l2q_layout *layout, __u64 start_pos,
		   const struct l3l2q_env *env);

/* The record of @op's direction, now the most recent one. */
struct l3l2q_error *l3l2q__last(struct l3l2q_ep *ep, __u32 op);

/*
 * Not a LIVE endpoint of @role: record and return the errno (-EINVAL for
 * NULL, foreign or uninitialised handles and the wrong role, else the
 * terminal state's).
 */
int l3l2q__ep_check_slow(const void *h, __u32 role, __u32 op);

/*
 * 0 for a LIVE endpoint of @role (@h is the role's struct, the endpoint
 * first), else the errno.  Inline: it runs on every call, and the live
 * case is a NULL test and one compare; the rest pays for the call.
 */
/* A LIVE endpoint of @role: the fast paths' whole gate check. */
static inline int l3l2q__live(const void *h, __u32 role)
{
	return h && l3l2q__gate((const struct l3l2q_ep *)h) ==
		    L3L2Q__GATE(role, L3L2Q_STATE_LIVE);
}

static inline int l3l2q__ep_check(const void *h, __u32 role, __u32 op)
{
	if (__builtin_expect(h && l3l2q__gate((const struct l3l2q_ep *)h) ==
			     L3L2Q__GATE(role, L3L2Q_STATE_LIVE), 1))
		return 0;
	return l3l2q__ep_check_slow(h, role, op);
}

/* -EAGAIN from @dir: its record is cleared, so it shows no older error. */
static inline int l3l2q__again(struct l3l2q_ep *ep, __u32 dir)
{
	struct l3l2q_error *e = &ep->dir[dir].last;

	if (e->kind != L3L2Q_ERR_NONE) {
		e->kind = L3L2Q_ERR_NONE;
		e->op = L3L2Q_EOP_NONE;
		e->message[0] = '\0';
	}
	/* Written only when it changes: the other direction reads it. */
	if (l3l2q_load_once_u32(&ep->last_dir) != dir)
		l3l2q_store_once_u32(&ep->last_dir, dir);
	return -EAGAIN;
}

/* Before any shared mutation: record and return -@err; state unchanged. */
L3L2Q__COLD int l3l2q__reject(struct l3l2q_ep *ep, int err, __u32 kind, __u32 op,
		  const char *a, __u64 x, const char *b, __u64 y,
		  const char *c);

/*
 * Local infrastructure poison: terminal, sets the own abort flag and
 * kicks a peer that sleeps.  -EPROTO.
 */
L3L2Q__COLD int l3l2q__poison(struct l3l2q_ep *ep, __u32 kind, __u32 op, const char *a,
		  __u64 x, const char *b, __u64 y, const char *c);

/* close: any state -> RELEASED, for an initialised endpoint of @role. */
void l3l2q__ep_close(struct l3l2q_ep *ep, __u32 role);

/* Mark a copy inherited across fork: every later call -EOWNERDEAD. */
void l3l2q__ep_disown(struct l3l2q_ep *ep);

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
 * the need-wakeup protocol for @w; in bounded steps when the peer does not
 * kick (L3L2Q_POLL_MIN_NS .. L3L2Q_POLL_MAX_NS).
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
int l3l2q__notify_armed(struct l3l2q_ep *ep, __u32 bit, __u32 pos, __u32 w);

/*
 * l3l2q__notify() as a value (always 0), so that a fast path can end in
 * it and reach l3l2q__notify_armed() by a tail call: a function whose
 * only calls are tail calls saves no registers on entry.
 */
static inline int l3l2q__notify_ret(struct l3l2q_ep *ep, __u32 bit, __u32 pos)
{
	__u64 *sup;
	__u32 w;

	/*
	 * Without a way to kick (peer_wake NULL, l3l2q__ep_init()), the peer
	 * cannot be sleeping on us: no fence.
	 */
	if (!ep->peer_wake)
		return 0;
	/* P2: pairs with the waiter's W2 in l3l2q_ep_want_wakeup(). */
	l3l2q_full_fence();
	/* P3: the word, then (acquire) the seen word stored before it. */
	w = l3l2q_load_acquire_u32(ep->peer_wake);
	/* Inline, the common case: not waiting for @bit (P4). */
	if (l3l2q__likely(!(w & bit))) {
		/* One writer (this direction's thread); relaxed for readers. */
		sup = &ep->dir[l3l2q__bit_dir(bit)].stats.kicks_suppressed;
		l3l2q_store_once_u64(sup, l3l2q_load_once_u64(sup) + 1);
		return 0;
	}
	return l3l2q__notify_armed(ep, bit, pos, w);
}

static inline void l3l2q__notify(struct l3l2q_ep *ep, __u32 bit, __u32 pos)
{
	(void)l3l2q__notify_ret(ep, bit, pos);
}

/*
 * For a wait loop of its own (mp.c): is the peer gone (its abort flag or
 * its role state; @why says which)?  Reads only.  Then, once nothing more
 * came, enter the remote-aborted state: -ECONNRESET.
 */
int l3l2q__peer_gone(struct l3l2q_ep *ep, const char **why);
int l3l2q__remote_abort(struct l3l2q_ep *ep, __u32 op, const char *why);

/*
 * The counter value this endpoint armed @bit with (W1), from its private
 * copy, never from the shared seen word the peer could rewrite; 1 in
 * *armed if @bit is armed now (0 and no value otherwise).
 */
__u32 l3l2q__armed_seen(const struct l3l2q_ep *ep, __u32 bit, int *armed);

/*
 * ---- the payload cursor rules shared by both halves ----
 *
 * Payload arena cursors (reference §4) are private logical byte positions,
 * derived from descriptor history on each side and never shared; a
 * physical offset is arena_offset + cursor % arena_bytes.  A payload never
 * straddles the end of the arena: the producer skips the tail of the arena
 * (invisible padding) and places the payload at the base.
 */

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
static inline int l3l2q__in_arena(__u64 arena_offset, __u64 arena_bytes,
				  __u64 offset, __u64 n)
{
	/* Written so that no sum can overflow. */
	return offset >= arena_offset && n <= arena_bytes &&
	       offset - arena_offset <= arena_bytes - n;
}

/*
 * Advance cursor *cur past the span (offset, n) if it is the next span:
 * either at the cursor, or at the arena base (wrap padding, the loose rule
 * that also accepts padding a peer committed on a failed reservation, P9).
 * Returns 1, or 0 leaving *cur untouched.
 */
static inline int l3l2q__arena_advance(__u64 *cur, __u64 arena_offset,
				       __u64 arena_bytes, __u64 offset,
				       __u64 n)
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

/* The slot of @seq (1-based) in a ring of @depth (a power of two). */
static inline const struct l3l2q_desc *l3l2q__slot(const unsigned char *ring,
						   __u64 depth, __u64 seq)
{
	return (const struct l3l2q_desc *)
		(ring + ((seq - 1) & (depth - 1)) * L3L2Q_DESC_BYTES);
}

/*
 * A snapshot of one slot: each word read once (pitfall P5).  No ordering
 * of its own: the caller acquired the tail (or head) counter that covers
 * this slot; only the copy is used afterwards.
 */
static inline void l3l2q__slot_read(const unsigned char *ring, __u64 depth,
				    __u64 seq, struct l3l2q_desc *d)
{
	const struct l3l2q_desc *s = l3l2q__slot(ring, depth, seq);

	d->seq = l3l2q_load_once_u64(&s->seq);
	d->opcode = l3l2q_load_once_u64(&s->opcode);
	d->payload_offset = l3l2q_load_once_u64(&s->payload_offset);
	d->payload_nbytes = l3l2q_load_once_u64(&s->payload_nbytes);
}

/*
 * The slot of @seq read into @d (l3l2q__slot_read()), and whether it is
 * the message a consumer at payload position @pos of an arena of @a bytes
 * at @arena_offset expects next, as the fast paths accept it: that seq,
 * DATA or ERROR, and a non-zero size at exactly the cursor and ending
 * inside the arena (so inside it: no other bounds test is needed), or
 * zero bytes at offset 0.  Anything else -- STOP, a payload past the
 * arena's end, an invalid slot -- is for the complete path to judge and
 * report.  @a 0 makes every payload fail (an arena whose size is not a
 * power of two, where the callers' position is a mask).
 */
static inline int l3l2q__slot_ok(const unsigned char *ring, __u64 depth,
				 __u64 seq, __u64 arena_offset, __u64 pos,
				 __u64 a, struct l3l2q_desc *d)
{
	l3l2q__slot_read(ring, depth, seq, d);
	return d->seq == seq &&
	       (d->opcode == L3L2Q_OP_DATA || d->opcode == L3L2Q_OP_ERROR) &&
	       (d->payload_nbytes ?
		d->payload_offset == arena_offset + pos &&
		d->payload_nbytes <= a - pos :
		d->payload_offset == 0);
}

/* ---- producer.c ---- */

/*
 * The write prefetch after a batch (producer.c): runs of whole 64-byte
 * lines the producer will write next, at most L3L2Q_PREFETCH_LINES in all.
 */
#define L3L2Q_PREFETCH_LINES	64u

struct l3l2q_pf_run {
	const unsigned char *base;	/* the first line, 64-aligned */
	__u64 lines;			/* >= 1 */
};

__u32 l3l2q__prod_prefetch_plan(const struct l3l2q_ep *ep,
				const struct l3l2q_prod *p, __u64 n,
				__u64 nb, struct l3l2q_pf_run run[3]);
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
/*
 * The head counter read @seen (acquired, A), not our head's low 32 bits:
 * reconstruct it and move the payload head (from the private history).
 */
int l3l2q__prod_head_moved(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			   __s32 seen, __u32 op);
/* (C) and the need-wakeup check for everything published so far. */
void l3l2q__prod_publish_tail(struct l3l2q_ep *ep, struct l3l2q_prod *p);
/* A batch of up to @n reservations: the count, or -errno. */
int l3l2q__prod_reserve_batch(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			      __u64 nbytes, __u32 n, struct l3l2q_batch *b,
			      __u32 op);
/* Publish the first @n of the batch @b with one tail store. */
int l3l2q__prod_submit_batch(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			     const struct l3l2q_batch *b, __u32 n,
			     __u64 opcode, __u32 op);
/* Store the tail once for every deferred publish, then notify once. */
int l3l2q__prod_flush(struct l3l2q_ep *ep, struct l3l2q_prod *p, __u32 op);
/* The end of a try_enqueue over 64 bytes: memcpy, (B), (C), notify. */
int l3l2q__prod_enqueue_big(struct l3l2q_ep *ep, struct l3l2q_prod *p,
			    void *dst, const void *buf, __u64 n, __u32 bit);

/* ---- consumer.c ---- */

void l3l2q__cons_init(struct l3l2q_cons *c, struct l3l2q_ep *ep, int is_input,
		      __u64 start_pos, struct l3l2q_entry *win,
		      __u32 max_inflight);
int l3l2q__cons_try_peek(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			 struct l3l2q_msg *msg, __u32 op);
/*
 * The next message, whatever is held: validated and added to the window
 * (-EAGAIN when none came or the window is full).  The L3's batched peek.
 */
int l3l2q__cons_take(struct l3l2q_ep *ep, struct l3l2q_cons *c,
		     struct l3l2q_msg *msg, __u32 op);
int l3l2q__cons_release(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			const struct l3l2q_msg *msg, __u32 op);
/* Release @n held messages with at most one head store and one notify. */
int l3l2q__cons_release_batch(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			      const struct l3l2q_msg *msgs, __u32 n, __u32 op);
/* Up to @n messages into @msgs, the tail counter read once: the count. */
int l3l2q__cons_peek_batch(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			   struct l3l2q_msg *msgs, __u32 n, __u32 op);
/* Release the @n oldest held entries: no handles, one head store. */
int l3l2q__cons_release_oldest(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			       __u32 n, __u32 op);
/* The tail counter read @seen (acquired, E) moved: reconstruct it. */
int l3l2q__cons_tail_moved(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			   __s32 seen, __u32 op);
/* The end of a try_dequeue over 64 bytes: memcpy, (D), notify. */
int l3l2q__cons_dequeue_big(struct l3l2q_ep *ep, struct l3l2q_cons *c,
			    void *buf, const void *data, __u64 n, __u32 bit);
/* The poison for a handle that l3l2q__cons_find() would not accept. */
L3L2Q__COLD int l3l2q__cons_bad_handle(struct l3l2q_ep *ep,
				       struct l3l2q_cons *c,
				       const struct l3l2q_msg *msg, __u32 op);
/*
 * (D) for everything popped, up to c->head, then P2-P4 of the need-wakeup
 * protocol: space was freed.
 */
static inline void l3l2q__cons_publish_head(struct l3l2q_ep *ep,
					    struct l3l2q_cons *c)
{
	l3l2q_store_release_s32(c->head_ctr, l3l2q_low32(c->head));	/* (D) */
	l3l2q__notify(ep, c->is_input ? L3L2Q_WAKE_INPUT_SPACE :
					L3L2Q_WAKE_OUTPUT_SPACE,
		      (__u32)l3l2q_low32(c->head));
}
/* Pop the completed prefix of held entries (head store, notify). */
int l3l2q__cons_pop(struct l3l2q_ep *ep, struct l3l2q_cons *c, __u32 op);
/* The held entry that @msg names with every field equal, or NULL. */
const struct l3l2q_entry *l3l2q__cons_find(const struct l3l2q_cons *c,
					   const struct l3l2q_msg *msg);

#endif /* L3L2Q_CORE_INTERNAL_H */
