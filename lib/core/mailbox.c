// SPDX-License-Identifier: MIT
/*
 * The lock-free MPSC completion mailbox (reference §10, pitfall P18).
 * The ordering argument is in l3l2q_mailbox.h; each acquire/release below
 * names the operation it pairs with.
 */
#include "internal.h"
#include "l3l2q_mailbox.h"

/*
 * u64 accessors atomic.h does not have (yet).  Relaxed load/store of a u64
 * are atomic.h's l3l2q_load_once_u64()/l3l2q_store_once_u64(), and the
 * release store is l3l2q_store_release_u64().
 */
#ifdef __KERNEL__
#include <linux/atomic.h>

#define mb_load_acquire_u64(p)	smp_load_acquire(p)

/* Weak CAS, relaxed on success and failure; nonzero when it swapped. */
static inline int mb_cas_weak_relaxed_u64(__u64 *p, __u64 expect, __u64 want)
{
	return cmpxchg_relaxed(p, expect, want) == expect;
}

/* A relaxed increment (a diagnostic counter, no ordering). */
static inline void mb_inc_relaxed_u64(__u64 *p)
{
	__u64 v;

	do {
		v = READ_ONCE(*p);
	} while (cmpxchg_relaxed(p, v, v + 1) != v);
}

#else /* !__KERNEL__ */
#include <stdatomic.h>

static inline __u64 mb_load_acquire_u64(const __u64 *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p,
				    memory_order_acquire);
}

static inline int mb_cas_weak_relaxed_u64(__u64 *p, __u64 expect, __u64 want)
{
	return atomic_compare_exchange_weak_explicit((_Atomic __u64 *)p,
						     &expect, want,
						     memory_order_relaxed,
						     memory_order_relaxed);
}

static inline void mb_inc_relaxed_u64(__u64 *p)
{
	atomic_fetch_add_explicit((_Atomic __u64 *)p, 1, memory_order_relaxed);
}
#endif /* __KERNEL__ */

void l3l2q_mailbox_init(struct l3l2q_mailbox *mb)
{
	if (mb)
		l3l2q__memset(mb, 0, sizeof(*mb));
}

int l3l2q_mailbox_push(struct l3l2q_mailbox *mb,
		       const struct l3l2q_mailbox_msg *m)
{
	struct l3l2q_mailbox_msg *slot;
	__u64 h, t;

	if (!mb || !m)
		return -EINVAL;
	for (;;) {
		/* Relaxed: head only hands out positions (see the header). */
		h = l3l2q_load_once_u64(&mb->head);
		/*
		 * Acquire, pairs with the release store of tail in
		 * l3l2q_mailbox_pop() (and reset): the consumer's reads of the
		 * slot we may now overwrite happen before our stores to it.
		 */
		t = mb_load_acquire_u64(&mb->tail);
		/*
		 * h was read first, so it may be older than t: other
		 * producers pushed and the consumer popped past it in
		 * between.  h - t would then wrap to a huge value and look
		 * full; it is only stale, so read head again.  Upstream's
		 * push lacks this and can report (and count) a spurious full
		 * ring.  Read after the acquire of t, head is at least t (the
		 * pop that stored t had seen head past t-1, and that
		 * happens-before us); a head still behind means the tail is
		 * ahead of the head, which only corruption does: say so
		 * rather than retry for ever.
		 */
		if ((__s64)(h - t) < 0) {
			h = l3l2q_load_once_u64(&mb->head);
			if ((__s64)(h - t) < 0)
				return -EPROTO;
		}
		if (h - t >= L3L2Q_MAILBOX_CAPACITY) {
			mb_inc_relaxed_u64(&mb->skipped);
			return -EAGAIN;
		}
		/* Relaxed both ways; on failure re-check fullness from scratch. */
		if (mb_cas_weak_relaxed_u64(&mb->head, h, h + 1))
			break;
	}

	/* Position h is ours alone until we publish it. */
	slot = &mb->entries[h & L3L2Q_MAILBOX_MASK];
	slot->task_token = m->task_token;
	slot->addr = m->addr;
	slot->backend_cookie = m->backend_cookie;
	slot->expected_value = m->expected_value;
	slot->engine = m->engine;
	slot->completion_type = m->completion_type;
	slot->kind = m->kind;
	slot->pad[0] = m->pad[0];
	slot->pad[1] = m->pad[1];
	slot->pad[2] = m->pad[2];
	slot->reserved = m->reserved;
	/*
	 * Release, pairs with the acquire load of slot->seq in
	 * l3l2q_mailbox_pop(): the field stores above are visible to a
	 * consumer that sees seq == h + 1.
	 */
	l3l2q_store_release_u64(&slot->seq, h + 1);
	return 0;
}

int l3l2q_mailbox_pop(struct l3l2q_mailbox *mb, struct l3l2q_mailbox_msg *out)
{
	struct l3l2q_mailbox_msg *slot;
	__u64 h, t, seq;

	if (!mb || !out)
		return -EINVAL;
	/* Relaxed: only this thread writes tail. */
	t = l3l2q_load_once_u64(&mb->tail);
	/* Relaxed: a stale head only makes the ring look emptier. */
	h = l3l2q_load_once_u64(&mb->head);
	if (t >= h)
		return -EAGAIN;

	slot = &mb->entries[t & L3L2Q_MAILBOX_MASK];
	/*
	 * Acquire, pairs with the release store of seq in
	 * l3l2q_mailbox_push(): the producer's field stores are visible
	 * below.  Anything but t + 1 is a claimed, unpublished slot (or a
	 * stale one from an earlier lap or run): stop at the gap.
	 */
	seq = mb_load_acquire_u64(&slot->seq);
	if (seq != t + 1)
		return -EAGAIN;

	out->seq = seq;
	out->task_token = slot->task_token;
	out->addr = slot->addr;
	out->backend_cookie = slot->backend_cookie;
	out->expected_value = slot->expected_value;
	out->engine = slot->engine;
	out->completion_type = slot->completion_type;
	out->kind = slot->kind;
	out->pad[0] = slot->pad[0];
	out->pad[1] = slot->pad[1];
	out->pad[2] = slot->pad[2];
	out->reserved = slot->reserved;
	/*
	 * Release, pairs with the acquire load of tail in
	 * l3l2q_mailbox_push(): our reads of the slot above happen before a
	 * producer that sees the new tail overwrites it.
	 */
	l3l2q_store_release_u64(&mb->tail, t + 1);
	return 0;
}

int l3l2q_mailbox_has_pending(const struct l3l2q_mailbox *mb)
{
	__u64 t, h;

	if (!mb)
		return -EINVAL;
	/*
	 * A hint: both loads are acquire as upstream has them (tail pairs
	 * with pop's release of tail; head has no release to pair with and
	 * is acquire only for parity), but the answer may be stale at once.
	 */
	t = mb_load_acquire_u64(&mb->tail);
	h = mb_load_acquire_u64(&mb->head);
	return t < h;
}

void l3l2q_mailbox_reset(struct l3l2q_mailbox *mb)
{
	__u64 h;

	if (!mb)
		return;
	/* Quiescent: no push or pop runs, so relaxed is enough for head. */
	h = l3l2q_load_once_u64(&mb->head);

	/*
	 * Release, pairs with the acquire load of tail in
	 * l3l2q_mailbox_push(), as pop's store does: the discarded slots may
	 * be overwritten from here on.  Stale seq values stay behind; each is
	 * p + 1 for some p < h, never t + 1 for a t >= h.
	 */
	l3l2q_store_release_u64(&mb->tail, h);
	l3l2q_store_once_u64(&mb->skipped, 0);
}

__u64 l3l2q_mailbox_skipped(const struct l3l2q_mailbox *mb)
{
	/* Relaxed: a diagnostic count, orders nothing. */
	return mb ? l3l2q_load_once_u64(&mb->skipped) : 0;
}
