/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_mailbox.h - the lock-free MPSC completion mailbox (reference §10).
 *
 * Any number of producers push fixed 64-byte messages; exactly one consumer
 * pops them.  Freestanding: no allocation, no system call, nothing beyond
 * memset; the same code builds in user space, in the kernel and on a device
 * CPU.  The caller owns the (about 256 KiB) struct; never copy a live one.
 *
 * Positions are monotonic u64 counters that never wrap in practice:
 *   head  the producers' claim counter (advanced by a weak CAS)
 *   tail  the consumer's counter (written by the consumer only)
 * A message claimed at position p lives in entries[p & MASK] and is
 * published by storing entries[p & MASK].seq = p + 1.
 *
 * Ordering - exactly two edges carry it, everything else is relaxed on
 * purpose:
 *   publish     the producer's release store of slot.seq (after its plain
 *               stores of the fields) -> the consumer's acquire load of
 *               slot.seq (before its plain loads of the fields);
 *   slot reuse  the consumer's release store of tail (after it copied the
 *               slot out) -> a producer's acquire load of tail (before it
 *               claims, and so overwrites, that slot's next lap).
 * The CAS on head is relaxed: it only hands out positions; the claimed slot
 * is protected by the two edges above, not by head.  head is read relaxed
 * by the consumer: a stale head only makes the ring look emptier.
 *
 * Push re-reads the head when its snapshot is older than the tail it read
 * next (h < t: others pushed and popped in between), instead of taking the
 * wrapped h - t for a full ring as upstream's push does; skipped therefore
 * counts only pushes that really found the ring full.  A head still behind
 * the tail after that can only come from corruption (tail written by
 * something else): push returns -EPROTO at once, never retries for ever.
 *
 * Pop stops at the first gap (P18): a producer that claimed position t but
 * has not yet published seq = t + 1 blocks the consumer, even when later
 * positions are already published.  A full ring makes push fail with
 * -EAGAIN and counts the attempt in skipped (expected to stay 0).
 *
 * Reuse without zeroing: l3l2q_mailbox_reset() sets tail := head and clears
 * skipped.  A stale seq left in a slot is p + 1 for some p < head, so it can
 * never equal t + 1 for a future t >= head.  Only the first use needs
 * l3l2q_mailbox_init() (a memset).
 *
 * Return values: 0, or -EAGAIN (push: full; pop: empty or at a gap), or
 * -EPROTO (push: the tail is ahead of the head, the mailbox is corrupt;
 * l3l2q_mailbox_reset() repairs it).  A NULL mailbox or message gives
 * -EINVAL (init and reset: nothing; skipped: 0).
 */
#ifndef L3L2Q_MAILBOX_H
#define L3L2Q_MAILBOX_H

#include "l3l2q/l3l2q.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A power of two, like upstream. */
#define L3L2Q_MAILBOX_CAPACITY		4096u
#define L3L2Q_MAILBOX_MASK		(L3L2Q_MAILBOX_CAPACITY - 1u)
#define L3L2Q_MAILBOX_CACHE_LINE	64u

L3L2Q__ASSERT((L3L2Q_MAILBOX_CAPACITY & L3L2Q_MAILBOX_MASK) == 0 &&
	       L3L2Q_MAILBOX_CAPACITY != 0,
	       "mailbox capacity must be a power of two");

enum l3l2q_mailbox_kind {
	L3L2Q_MAILBOX_KIND_CONDITION = 0,	/* one deferred-completion entry */
	L3L2Q_MAILBOX_KIND_TASK_NORMAL_DONE = 1, /* addr: task slot state */
};

enum l3l2q_mailbox_engine {
	L3L2Q_MAILBOX_ENGINE_SDMA = 0,
	L3L2Q_MAILBOX_ENGINE_ROCE = 1,
	L3L2Q_MAILBOX_ENGINE_URMA = 2,
	L3L2Q_MAILBOX_ENGINE_CCU = 3,
};

enum l3l2q_mailbox_completion_type {
	L3L2Q_MAILBOX_COMPLETION_COUNTER = 0,
	L3L2Q_MAILBOX_COMPLETION_SDMA_EVENT_RECORD = 1,
};

/*
 * One message, 64 bytes, upstream's layout.  In the ring, seq is the
 * publication word (accessed atomically only); in a caller's copy it is
 * ignored by push and set by pop to the position + 1 it was read from.
 */
struct l3l2q_mailbox_msg {
	__u64 seq;		/*  0 */
	__u64 task_token;	/*  8 */
	__u64 addr;		/* 16 */
	__u64 backend_cookie;	/* 24 */
	__u32 expected_value;	/* 32 */
	__u32 engine;		/* 36: enum l3l2q_mailbox_engine */
	__s32 completion_type;	/* 40: enum l3l2q_mailbox_completion_type */
	__u32 kind;		/* 44: enum l3l2q_mailbox_kind */
	__u32 pad[3];		/* 48: reserved for per-kind extensions */
	__u32 reserved;		/* 60: upstream's alignas(64) tail, explicit */
};

L3L2Q__ASSERT(sizeof(struct l3l2q_mailbox_msg) == 64, "message is 64 bytes");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, seq) == 0, "seq");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, task_token) == 8,
	       "task_token");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, addr) == 16, "addr");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, backend_cookie) == 24,
	       "backend_cookie");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, expected_value) == 32,
	       "expected_value");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, engine) == 36,
	       "engine");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, completion_type) == 40,
	       "completion_type");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, kind) == 44, "kind");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox_msg, pad) == 48, "pad");

/*
 * head, tail and skipped each on their own line (one writer class per
 * line: producers, the consumer, producers that found the ring full).
 * Treat every member as private; use the functions below.
 */
struct l3l2q_mailbox {
	__u64 head __attribute__((aligned(64)));	/* producers' claims */
	__u8 head_line[56];
	__u64 tail __attribute__((aligned(64)));	/* consumer's */
	__u8 tail_line[56];
	__u64 skipped __attribute__((aligned(64)));	/* full pushes */
	__u8 skipped_line[56];
	struct l3l2q_mailbox_msg entries[L3L2Q_MAILBOX_CAPACITY];
};

L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox, head) == 0, "head");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox, tail) == 64, "tail");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox, skipped) == 128,
	       "skipped");
L3L2Q__ASSERT(__builtin_offsetof(struct l3l2q_mailbox, entries) == 192,
	       "entries");
L3L2Q__ASSERT(sizeof(struct l3l2q_mailbox) ==
	       192 + 64 * (unsigned long)L3L2Q_MAILBOX_CAPACITY, "mailbox size");

/* First use only: zero the whole struct.  Not concurrent with anything. */
void l3l2q_mailbox_init(struct l3l2q_mailbox *mb);

/*
 * Any thread, concurrently with other pushes and the pop.  m->seq is
 * ignored.  0, or -EAGAIN when the ring is full (skipped is incremented;
 * the caller may spin and retry), or -EPROTO when the tail is ahead of
 * the head (corrupt; nothing is claimed).
 */
int l3l2q_mailbox_push(struct l3l2q_mailbox *mb,
		       const struct l3l2q_mailbox_msg *m);

/*
 * The single consumer.  0 with *out filled, or -EAGAIN when the ring is
 * empty or the next position is claimed but not yet published (*out is
 * then untouched).
 */
int l3l2q_mailbox_pop(struct l3l2q_mailbox *mb, struct l3l2q_mailbox_msg *out);

/* Hint only (may be stale): 1 when tail < head, else 0; -EINVAL for NULL. */
int l3l2q_mailbox_has_pending(const struct l3l2q_mailbox *mb);

/*
 * Reuse for a new run without zeroing: tail := head (undrained messages are
 * discarded) and skipped := 0.  Only while no push or pop is running.
 */
void l3l2q_mailbox_reset(struct l3l2q_mailbox *mb);

/* How many pushes found the ring full since init or reset (0 for NULL). */
__u64 l3l2q_mailbox_skipped(const struct l3l2q_mailbox *mb);

#ifdef __cplusplus
}
#endif

#endif /* L3L2Q_MAILBOX_H */
