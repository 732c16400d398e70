/* SPDX-License-Identifier: MIT */
/*
 * Access to words the peer also touches.  Every cross-agent word goes
 * through one of these, so the ordering of each access is explicit:
 *
 *   l3l2q_load_acquire()   pairs with the peer's l3l2q_store_release()
 *   l3l2q_store_release()  pairs with the peer's l3l2q_load_acquire()
 *                          (u64 form: a descriptor's seq, the validity marker)
 *   l3l2q_load_once()      a single untorn read, no ordering (a snapshot)
 *   l3l2q_store_once()     a single untorn write, no ordering
 *   l3l2q_full_fence()     store->load ordering (the need-wakeup handshake)
 *   l3l2q_fetch_add_release_u64()  an atomic add that publishes like a
 *                          release store (a signal's add-notify)
 *   l3l2q_cas_u32()        compare-and-swap of a word several agents change
 *   l3l2q_try_cas_u32()    (a role state, a wake word, an endpoint's gate)
 *   l3l2q_fetch_and_u32()  clear bits of a word several threads change
 *
 * User space and device code use C11 <stdatomic.h> (a freestanding header);
 * the kernel uses smp_load_acquire()/smp_store_release()/READ_ONCE().
 */
#ifndef L3L2Q_CORE_ATOMIC_H
#define L3L2Q_CORE_ATOMIC_H

#include "l3l2q.h"

#ifdef __KERNEL__
#include <asm/barrier.h>
#include <linux/atomic.h>
#include <linux/compiler.h>

#define l3l2q_load_acquire_s32(p)	smp_load_acquire(p)
#define l3l2q_store_release_s32(p, v)	smp_store_release(p, v)
#define l3l2q_load_acquire_u32(p)	smp_load_acquire(p)
#define l3l2q_store_release_u32(p, v)	smp_store_release(p, v)
#define l3l2q_store_release_u64(p, v)	smp_store_release(p, v)
#define l3l2q_load_acquire_u64(p)	smp_load_acquire(p)
#define l3l2q_fetch_add_release_u64(p, v)				\
	((__u64)atomic64_fetch_add_release((s64)(v), (atomic64_t *)(p)))
#define l3l2q_load_once_u64(p)		READ_ONCE(*(p))
#define l3l2q_store_once_u64(p, v)	WRITE_ONCE(*(p), v)
#define l3l2q_load_once_s32(p)		READ_ONCE(*(p))
#define l3l2q_load_once_u32(p)		READ_ONCE(*(p))
#define l3l2q_store_once_u32(p, v)	WRITE_ONCE(*(p), v)
#define l3l2q_store_once_s32(p, v)	WRITE_ONCE(*(p), v)
#define l3l2q_full_fence()		smp_mb()

/*
 * Acquire-release compare-and-swap; on failure *expect gets the value
 * found.  Returns nonzero when it swapped.
 */
static inline int l3l2q_try_cas_u32(__u32 *p, __u32 *expect, __u32 want)
{
	__u32 old = cmpxchg(p, *expect, want);

	if (old == *expect)
		return 1;
	*expect = old;
	return 0;
}

/* Relaxed: clears bits, orders nothing. */
static inline void l3l2q_fetch_and_u32(__u32 *p, __u32 mask)
{
	__u32 old = READ_ONCE(*p), seen;

	for (;;) {
		seen = cmpxchg_relaxed(p, old, old & mask);
		if (seen == old)
			return;
		old = seen;
	}
}

#else /* !__KERNEL__ */
#include <stdatomic.h>

/*
 * The shared words are plain, naturally aligned integers in the mapping (the
 * upstream ABI defines them so); C11 atomics of the same size are lock-free
 * and have the same representation, so each access casts to the atomic type.
 */
_Static_assert(sizeof(_Atomic __s32) == 4, "lock-free 32-bit atomics required");
_Static_assert(sizeof(_Atomic __u64) == 8, "lock-free 64-bit atomics required");

static inline __s32 l3l2q_load_acquire_s32(const __s32 *p)
{
	return atomic_load_explicit((const _Atomic __s32 *)p, memory_order_acquire);
}

static inline void l3l2q_store_release_s32(__s32 *p, __s32 v)
{
	atomic_store_explicit((_Atomic __s32 *)p, v, memory_order_release);
}

static inline __u32 l3l2q_load_acquire_u32(const __u32 *p)
{
	return atomic_load_explicit((const _Atomic __u32 *)p, memory_order_acquire);
}

static inline void l3l2q_store_release_u32(__u32 *p, __u32 v)
{
	atomic_store_explicit((_Atomic __u32 *)p, v, memory_order_release);
}

static inline void l3l2q_store_release_u64(__u64 *p, __u64 v)
{
	atomic_store_explicit((_Atomic __u64 *)p, v, memory_order_release);
}

static inline __u64 l3l2q_load_acquire_u64(const __u64 *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p, memory_order_acquire);
}

/* Returns the value before the add.  x86-64: lock xadd; arm64: ldaddl. */
static inline __u64 l3l2q_fetch_add_release_u64(__u64 *p, __u64 v)
{
	return atomic_fetch_add_explicit((_Atomic __u64 *)p, v,
					 memory_order_release);
}

static inline __u64 l3l2q_load_once_u64(const __u64 *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p, memory_order_relaxed);
}

static inline void l3l2q_store_once_u64(__u64 *p, __u64 v)
{
	atomic_store_explicit((_Atomic __u64 *)p, v, memory_order_relaxed);
}

static inline __s32 l3l2q_load_once_s32(const __s32 *p)
{
	return atomic_load_explicit((const _Atomic __s32 *)p, memory_order_relaxed);
}

static inline void l3l2q_store_once_s32(__s32 *p, __s32 v)
{
	atomic_store_explicit((_Atomic __s32 *)p, v, memory_order_relaxed);
}

static inline __u32 l3l2q_load_once_u32(const __u32 *p)
{
	return atomic_load_explicit((const _Atomic __u32 *)p, memory_order_relaxed);
}

static inline void l3l2q_store_once_u32(__u32 *p, __u32 v)
{
	atomic_store_explicit((_Atomic __u32 *)p, v, memory_order_relaxed);
}

static inline void l3l2q_full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

/*
 * Acquire-release compare-and-swap; on failure *expect gets the value
 * found.  Returns nonzero when it swapped.
 */
static inline int l3l2q_try_cas_u32(__u32 *p, __u32 *expect, __u32 want)
{
	return atomic_compare_exchange_strong_explicit((_Atomic __u32 *)p,
						       expect, want,
						       memory_order_acq_rel,
						       memory_order_acquire);
}

/* The same with a value for @expect: nonzero when it swapped. */
static inline int l3l2q_cas_u32(__u32 *p, __u32 expect, __u32 want)
{
	return l3l2q_try_cas_u32(p, &expect, want);
}

/* Relaxed: clears bits, orders nothing. */
static inline void l3l2q_fetch_and_u32(__u32 *p, __u32 mask)
{
	atomic_fetch_and_explicit((_Atomic __u32 *)p, mask,
				  memory_order_relaxed);
}
#endif /* __KERNEL__ */

#endif /* L3L2Q_CORE_ATOMIC_H */
