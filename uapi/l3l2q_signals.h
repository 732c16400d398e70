/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * l3l2q signals: shared memory with 64-bit signals that a host can sleep on
 * (region kind L3L2Q_KIND_SIGNALS).
 *
 * The upstream bytes are byte-compatible with upstream "HDMEM" v1
 * (reference §9.3): a 128-byte header, one u64 signal per 64-byte line from
 * offset 128, and a data area.  l3l2q adds, outside those bytes, a control
 * area: the common control block of every region kind (role states,
 * feature words) and one waiter table per role, through which a waiter can
 * sleep and a notifier kicks only when it crosses a waiter's target.  A
 * peer that knows only HDMEM ignores the control area and still
 * interoperates; it just never kicks, and whoever waits for it is woken by
 * polling (bounded sleeps) instead.
 *
 * Region (the mapping; all offsets page aligned except inside HDMEM):
 *
 *   0                 control block, L3L2Q_CTRL_BYTES (4 KiB)
 *                       line 0   struct l3l2q_sig_ctrl_hdr (the creator's)
 *                       64       L3L2Q_CTRL_L3_STATE    \
 *                       128      L3L2Q_CTRL_L2_STATE     | the queue's
 *                       320/384  L3L2Q_CTRL_L3/L2_PID    | offsets, for the
 *                       448/512  L3L2Q_CTRL_L3/L2_FEATURES  generic code
 *                       576      L3L2Q_SIG_CTRL_L3_ABORT
 *                       640      L3L2Q_SIG_CTRL_L2_ABORT
 *                       (lines 192 and 256, the queue's wake words, stay 0)
 *   4096              the L3 waiter table: struct l3l2q_sig_waiter[count],
 *                     table_bytes = align4096(32 * count), written by L3 only
 *   4096 + table      the L2 waiter table, the same, written by L2 only
 *   ctrl_bytes        the upstream HDMEM bytes (hdmem_offset):
 *                       +0        struct l3l2q_hdmem_hdr (128 bytes)
 *                       +128      struct l3l2q_hdmem_slot[count], 64 each
 *                       +data_offset  the data area, data_bytes long
 *   total_bytes       align4096(ctrl_bytes + HDMEM total_bytes)
 *
 * Each table is page aligned, so a driver may one day map a role's table
 * writable for that role alone.  l3l2q_sig_layout() computes all of it,
 * overflow-checked at every step.  As struct l3l2q_region_offsets (CREATE
 * and INFO report it for every kind): ctrl = the control area, "counters" =
 * the HDMEM header and signal slots (hdmem_offset, data_offset bytes),
 * "payload" = the data area (64-aligned inside HDMEM, not page aligned).
 *
 * Everything here is usable from C11 user space, C++, freestanding device
 * code and the kernel.  Only __uN types are used.
 */
#ifndef _UAPI_L3L2Q_SIGNALS_H
#define _UAPI_L3L2Q_SIGNALS_H

#include "l3l2q.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* The upstream HDMEM v1 bytes                                            */
/* ---------------------------------------------------------------------- */

#define L3L2Q_HDMEM_MAGIC		0x48444D45u	/* "HDME" */
#define L3L2Q_HDMEM_VERSION		1u
#define L3L2Q_HDMEM_HDR_BYTES		128u
#define L3L2Q_HDMEM_SLOT_BYTES		64u	/* one signal per line */
#define L3L2Q_HDMEM_ALIGN		64ull

/*
 * Upstream's result codes are negative errnos: OK 0, WOULD_BLOCK -11
 * (-EAGAIN: a probe missed or a wait timed out), INVALID -22 (-EINVAL),
 * BACKEND -5 (-EIO).
 */

/*
 * The header, written once by the creator (after zeroing all of HDMEM)
 * and never again.  Upstream re-reads it on every call (pitfall P5); l3l2q
 * reads it once, when it attaches, and checks it against the geometry it
 * was given.
 */
struct l3l2q_hdmem_hdr {
	__u32 magic;			/* L3L2Q_HDMEM_MAGIC */
	__u32 version;			/* L3L2Q_HDMEM_VERSION */
	__u32 flags;			/* the creator's, opaque (any value) */
	__u32 signal_count;
	__u64 data_offset;		/* from the header */
	__u64 data_bytes;
	__u64 total_bytes;		/* of HDMEM alone */
	__u64 fatal_status;		/* never written, by upstream or us */
	__u64 reserved[3];		/* 48..71 */
	__u64 pad[7];			/* 72..127: upstream's 64-byte alignment */
};

/* Slot i at HDMEM offset 128 + 64 * i; only value is defined. */
struct l3l2q_hdmem_slot {
	__u64 value;			/* little-endian, naturally aligned */
	__u64 reserved[7];		/* zero, never written */
};

L3L2Q__ASSERT(sizeof(struct l3l2q_hdmem_hdr) == L3L2Q_HDMEM_HDR_BYTES,
	      "HDMEM header is 128 bytes");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, flags) == 8, "flags at 8");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, signal_count) == 12, "count at 12");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, data_offset) == 16, "data_offset at 16");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, data_bytes) == 24, "data_bytes at 24");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, total_bytes) == 32, "total_bytes at 32");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, fatal_status) == 40, "fatal_status at 40");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_hdmem_hdr, reserved) == 48, "reserved at 48");
L3L2Q__ASSERT(sizeof(struct l3l2q_hdmem_slot) == L3L2Q_HDMEM_SLOT_BYTES,
	      "a slot is one line");

/* What the HDMEM layout function computes; offsets from the header. */
struct l3l2q_hdmem_layout {
	__u64 data_bytes;
	__u32 signal_count;
	__u32 flags;
	__u64 signal_offset;		/* always L3L2Q_HDMEM_HDR_BYTES */
	__u64 data_offset;		/* align64(128 + 64 * count) */
	__u64 total_bytes;		/* align64(data_offset + data_bytes) */
};

/* Why a layout was refused; names the field at fault. */
enum l3l2q_sig_layout_status {
	L3L2Q_SIG_LAYOUT_OK		= 0,
	L3L2Q_SIG_LAYOUT_BAD_DATA_BYTES	= 1,	/* 0 */
	L3L2Q_SIG_LAYOUT_BAD_COUNT	= 2,	/* 0, or (l3l2q) above the max */
	L3L2Q_SIG_LAYOUT_BAD_FLAGS	= 3,	/* (l3l2q) unknown sig_flags */
	L3L2Q_SIG_LAYOUT_OVERFLOW	= 4,	/* a step overflowed u64 */
};

/*
 * The upstream HDMEM v1 layout (reference §9.3): data_bytes > 0 and
 * signal_count > 0; flags are only stored.  Every multiply, add and align
 * is checked (pitfall P1).  On failure @out is left untouched.
 */
static inline enum l3l2q_sig_layout_status
l3l2q_hdmem_wire_layout(__u64 data_bytes, __u32 signal_count, __u32 flags,
			struct l3l2q_hdmem_layout *out)
{
	struct l3l2q_hdmem_layout l;
	__u64 slot_bytes, slots_end, data_end;

	if (data_bytes == 0)
		return L3L2Q_SIG_LAYOUT_BAD_DATA_BYTES;
	if (signal_count == 0)
		return L3L2Q_SIG_LAYOUT_BAD_COUNT;
	/* A u32 count times 64 is below 2^38: this multiply cannot overflow. */
	slot_bytes = (__u64)signal_count * L3L2Q_HDMEM_SLOT_BYTES;
	l.data_bytes = data_bytes;
	l.signal_count = signal_count;
	l.flags = flags;
	l.signal_offset = L3L2Q_HDMEM_HDR_BYTES;
	if (!l3l2q__add_ok(L3L2Q_HDMEM_HDR_BYTES, slot_bytes, &slots_end) ||
	    !l3l2q__align_ok(slots_end, L3L2Q_HDMEM_ALIGN, &l.data_offset) ||
	    !l3l2q__add_ok(l.data_offset, data_bytes, &data_end) ||
	    !l3l2q__align_ok(data_end, L3L2Q_HDMEM_ALIGN, &l.total_bytes))
		return L3L2Q_SIG_LAYOUT_OVERFLOW;
	*out = l;
	return L3L2Q_SIG_LAYOUT_OK;
}

/* ---------------------------------------------------------------------- */
/* The l3l2q signals region                                               */
/* ---------------------------------------------------------------------- */

/*
 * Most signals an l3l2q region has (the waiter tables grow with the count:
 * 2 MiB per role at the maximum).  HDMEM itself takes any u32 count.
 */
#define L3L2Q_SIG_COUNT_MAX		(1u << 16)

/*
 * Region flags (geometry sig_flags).  MONOTONIC: every set-notify refuses
 * to go backwards (-EINVAL, the value unchanged), as the upstream mapped
 * region does (reference §9.4); without it only l3l2q_sig_notify_monotonic()
 * does.  Unknown bits: -EINVAL (the HDMR rule "flags must be 0").
 */
#define L3L2Q_SIG_F_MONOTONIC		(1u << 0)
#define L3L2Q_SIG_F_ALL			L3L2Q_SIG_F_MONOTONIC

/* The control block's own words for this kind (one writer per line). */
#define L3L2Q_SIG_CTRL_L3_ABORT		576u	/* __u32, written by L3 */
#define L3L2Q_SIG_CTRL_L2_ABORT		640u	/* __u32, written by L2 */

/* Identity of the kind, at the offset where a queue has its own. */
#define L3L2Q_SIG_MAGIC_VERSION						\
	L3L2Q_PACK_MAGIC_VERSION(L3L2Q_HDMEM_MAGIC, L3L2Q_HDMEM_VERSION, 0)

/*
 * Line 0 of the control block, written once by the creator before the
 * region is shared.  It keeps every common field at the queue header's
 * offset: magic and version at 0 and 4, the kind's magic_version at 8, the
 * geometry (L3L2Q_GEOMETRY) at 16..39, the CREATE flags at 48, and the
 * kind at 52, where a queue's header has resv0 = 0 = L3L2Q_KIND_QUEUE.
 */
struct l3l2q_sig_ctrl_hdr {
	__u32 magic;			/* L3L2Q_CTRL_MAGIC */
	__u32 version;			/* L3L2Q_CTRL_VERSION */
	__u64 kind_magic_version;	/* L3L2Q_SIG_MAGIC_VERSION */
	__u64 data_bytes;		/* the geometry, as CREATE took it */
	__u32 signal_count;
	__u32 hdmem_flags;
	__u32 sig_flags;
	__u32 sig_resv;			/* zero */
	__u64 resv0;			/* zero (a queue's start_pos) */
	__u32 flags;			/* L3L2Q_CREATE_* given at creation */
	__u32 kind;			/* L3L2Q_KIND_SIGNALS */
	__u64 resv1;			/* zero */
};

L3L2Q__ASSERT(sizeof(struct l3l2q_sig_ctrl_hdr) == 64, "header is line 0");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_sig_ctrl_hdr, kind_magic_version) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, queue_magic_version), "kind id at 8");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_sig_ctrl_hdr, data_bytes) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, depth), "geometry at 16");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_sig_ctrl_hdr, flags) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, flags), "flags at 48");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_sig_ctrl_hdr, kind) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, resv0), "kind at 52");

/* The geometry member of CREATE, INFO and the device directory. */
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, data_bytes) == 0, "data_bytes at 0");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, signal_count) == 8, "count at 8");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, hdmem_flags) == 12, "hdmem_flags at 12");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, sig_flags) == 16, "sig_flags at 16");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, sig_resv) == 20, "sig_resv at 20");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_info_args, data_bytes) == 8, "info geometry at 8");

/* ---- the waiter table ---- */

/*
 * Compare operations (what a waiter waits for).  GE is the one for
 * counters that only grow; EQ and NE are for state words (EQ can be skipped
 * past by a counter, reference §9.1).  0 in a waiter entry: not waiting.
 */
#define L3L2Q_SIG_CMP_GE		1u	/* value >= target (unsigned) */
#define L3L2Q_SIG_CMP_EQ		2u	/* value == target */
#define L3L2Q_SIG_CMP_NE		3u	/* value != target */
#define L3L2Q_SIG_CMP_MASK		0xfu

/* Does @value satisfy @cmp against @target?  0 for an unknown @cmp. */
static inline int l3l2q_sig_ready(__u64 value, __u32 cmp, __u64 target)
{
	switch (cmp) {
	case L3L2Q_SIG_CMP_GE:
		return value >= target;
	case L3L2Q_SIG_CMP_EQ:
		return value == target;
	case L3L2Q_SIG_CMP_NE:
		return value != target;
	}
	return 0;
}

/*
 * One entry per slot in each role's table.  Everything in role R's table
 * is written by R alone; one table's lines are never written by the other
 * role.  target, seen and arm describe R as a waiter of the slot; kicked[]
 * describes R as a notifier of it.  Two entries share a line, and several
 * threads of R may write one line: they are one agent, in one coherence
 * domain; what one writer per line guards against is two agents whose
 * whole-line write-backs clobber each other (reference §11).
 *
 * arm: (arming count << L3L2Q_SIG_ARM_SHIFT) | cmp.  The waiter bumps the
 * count at every arming (never to 0) and stores arm last, with release
 * order, after target and seen; clearing the cmp bits ends the arming (the
 * count stays).  kicked[r]: the arm word of role r's entry for this slot
 * that R kicked last (stored with release order before the kick), so that
 * R kicks each arming at most once and a sleeper that registers after the
 * kick still sees it (K2 below).
 */
struct l3l2q_sig_waiter {
	__u64 target;			/* W1: the compare operand */
	__u64 seen;			/* W1: the value it saw, not ready */
	__u32 arm;			/* W1, last: count << 4 | cmp */
	__u32 resv;			/* zero */
	__u32 kicked[2];		/* N4: per waiting role, 0 = L3, 1 = L2 */
};

#define L3L2Q_SIG_WAITER_BYTES		32u
#define L3L2Q_SIG_ARM_SHIFT		4

L3L2Q__ASSERT(sizeof(struct l3l2q_sig_waiter) == L3L2Q_SIG_WAITER_BYTES,
	      "two waiter entries per line");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_sig_waiter, arm) == 16, "arm at 16");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_sig_waiter, kicked) == 24, "kicked at 24");

/* ---- the layout of a signals region ---- */

struct l3l2q_sig_layout {
	struct l3l2q_hdmem_layout hdmem;
	__u32 sig_flags;		/* L3L2Q_SIG_F_* */
	__u32 resv;
	__u64 table_offset[2];		/* 0 = L3's, 1 = L2's, in the mapping */
	__u64 table_bytes;		/* each: align4096(32 * count) */
	__u64 ctrl_bytes;		/* control block and both tables */
	__u64 hdmem_offset;		/* == ctrl_bytes, page aligned */
	__u64 total_bytes;		/* page aligned */
	struct l3l2q_region_offsets off;/* as CREATE and INFO report it */
};

/*
 * The l3l2q signals layout: the HDMEM layout of (@data_bytes,
 * @signal_count, @hdmem_flags) behind the control area, with
 * signal_count <= L3L2Q_SIG_COUNT_MAX and @sig_flags within
 * L3L2Q_SIG_F_ALL.  Every step is overflow-checked; on failure @out is
 * left untouched and the status names the field at fault.
 */
static inline enum l3l2q_sig_layout_status
l3l2q_sig_layout(__u64 data_bytes, __u32 signal_count, __u32 hdmem_flags,
		 __u32 sig_flags, struct l3l2q_sig_layout *out)
{
	struct l3l2q_sig_layout l;
	enum l3l2q_sig_layout_status st;
	__u64 tables, end;

	if (signal_count > L3L2Q_SIG_COUNT_MAX)
		return L3L2Q_SIG_LAYOUT_BAD_COUNT;
	if (sig_flags & ~L3L2Q_SIG_F_ALL)
		return L3L2Q_SIG_LAYOUT_BAD_FLAGS;
	st = l3l2q_hdmem_wire_layout(data_bytes, signal_count, hdmem_flags,
				     &l.hdmem);
	if (st != L3L2Q_SIG_LAYOUT_OK)
		return st;
	l.sig_flags = sig_flags;
	l.resv = 0;
	/* count <= 2^16, so 32 * count and its page rounding are small. */
	if (!l3l2q__align_ok((__u64)signal_count * L3L2Q_SIG_WAITER_BYTES,
			     L3L2Q_REGION_ALIGN, &l.table_bytes) ||
	    !l3l2q__add_ok(l.table_bytes, l.table_bytes, &tables) ||
	    !l3l2q__add_ok(L3L2Q_CTRL_BYTES, tables, &l.ctrl_bytes))
		return L3L2Q_SIG_LAYOUT_OVERFLOW;
	l.table_offset[0] = L3L2Q_CTRL_BYTES;			/* L3 */
	l.table_offset[1] = L3L2Q_CTRL_BYTES + l.table_bytes;	/* L2 */
	l.hdmem_offset = l.ctrl_bytes;
	if (!l3l2q__add_ok(l.hdmem_offset, l.hdmem.total_bytes, &end) ||
	    !l3l2q__align_ok(end, L3L2Q_REGION_ALIGN, &l.total_bytes))
		return L3L2Q_SIG_LAYOUT_OVERFLOW;
	l.off.ctrl_offset = 0;
	l.off.ctrl_bytes = l.ctrl_bytes;
	l.off.counter_offset = l.hdmem_offset;
	l.off.counter_bytes = l.hdmem.data_offset;
	l.off.payload_offset = l.hdmem_offset + l.hdmem.data_offset;
	l.off.payload_bytes = data_bytes;
	l.off.total_bytes = l.total_bytes;
	*out = l;
	return L3L2Q_SIG_LAYOUT_OK;
}

static inline const char *
l3l2q_sig_layout_strerror(enum l3l2q_sig_layout_status s)
{
	switch (s) {
	case L3L2Q_SIG_LAYOUT_OK:
		return "ok";
	case L3L2Q_SIG_LAYOUT_BAD_DATA_BYTES:
		return "data_bytes must be non-zero";
	case L3L2Q_SIG_LAYOUT_BAD_COUNT:
		return "signal_count must be in [1, 65536]";
	case L3L2Q_SIG_LAYOUT_BAD_FLAGS:
		return "sig_flags has unknown bits";
	case L3L2Q_SIG_LAYOUT_OVERFLOW:
		return "layout overflows 64 bits";
	}
	return "unknown";
}

/* ---------------------------------------------------------------------- */
/* Notifying and waiting                                                  */
/* ---------------------------------------------------------------------- */

/*
 * notify(id, v) publishes every earlier write of the notifier (to the data
 * area or anywhere else) to whoever then sees v, or a later value, in a
 * matching wait: the notify is a release (a store, or an atomic add) and
 * a matched wait an acquire load.  A failed probe establishes nothing
 * (reference §11).
 *
 * Ownership (upstream's contract, pitfall P19).  Per slot and epoch:
 *  - set and monotonic notifies: one publisher, one thread.  Upstream's
 *    mapped region reads the current value without any lock; so does a
 *    monotonic notify here, which is safe only with a single publisher;
 *  - add notifies (an atomic fetch-add): any number of threads of agents
 *    that share atomics with each other (the host's CPUs; a device only if
 *    its interconnect carries atomics, e.g. PCIe AtomicOps), never mixed
 *    with set in one epoch;
 *  - at most one waiting thread per role (its table holds one target);
 *  - an epoch ends when the publishers agree it does (a handshake on
 *    another slot): then the slot may change hands or be reset with a set.
 * Use one slot per direction and stage, as upstream advises.  Nothing in
 * the region can enforce this against a hostile peer, and nothing needs
 * it: breaking it loses the breaker's own wake-ups or values, never memory
 * safety.
 *
 * Waking (the target-crossing rule).  A waiter that has spun its budget
 * records, in its own role's table entry for the slot, what it waits for
 * and what it saw; a notifier reads that entry after publishing and kicks
 * only if its new value crosses the waiter's target.  No waiter, or a
 * target not reached: no kick, no system call.
 *
 *   waiter (role r, slot id)                notifier (role R)
 *   W1 target, seen = the value read;       N1 release-store v (or fetch-add
 *      release-store arm = count+1 | cmp       with release; v = the sum)
 *   W2 full fence         (pairs with N2)   N2 full fence        (pairs with W2)
 *   W3 re-check the slot; ready: disarm,    N3 for each waiting role r:
 *      return                                  load-acquire table[r][id].arm,
 *   W4 sleep on (id, cmp, target, the       then its target and seen
 *      value W3 read, arm): K1-K3 below     N4 kick role r for id if armed,
 *   W5 after any wake-up, back to W3 and,      arm != table[R][id].kicked[r],
 *      to sleep again, to W1 (a new            ready(v) and not ready(seen);
 *      arming); on return disarm               first release-store kicked[r]
 *                                              = arm
 *
 * Either W3 sees v (or a later value), or N3 sees the arming: the two full
 * fences forbid both loads missing both stores (store->load order, which
 * acquire/release alone does not give).  Every kick is for a value the
 * waiter had not seen and that is ready; one per arming, however many
 * notifies arrive before the waiter runs.
 *
 * The sleep (K1-K3: the kernel's wait command, proposed below, or any
 * other way of sleeping with the same guarantee, e.g. an eventfd, which
 * stays readable once kicked):
 *   K1 register as a sleeper (prepare_to_wait: wakes are not lost from
 *      here on);
 *   K2 re-check, reading each word once: return 0 if for any entry the
 *      slot's value is ready (l3l2q_sig_ready()) or differs from the value
 *      W3 read, or either role's kicked[r] word of the slot equals arm;
 *   K3 sleep until a kick for one of the slots, the deadline, a signal or
 *      the peer role's death; return 0 after a kick (never sleep again on
 *      the same arming: W5).
 * The arming count is the sleeper's "age", as KFD's event age is for
 * WAIT_EVENTS: the kicked check in K2 is what makes a kick that came
 * before K1 count even when the value has since gone back to what the
 * waiter saw (a state word set and reset; for a value that only grows the
 * value check is enough): tests/signals.pml shows it, the fences and the
 * re-check each to be needed.  A peer without L3L2Q_FEAT_KICKS in its
 * feature word never kicks: a waiter then sleeps at most a poll period at
 * a time (libl3l2q: 1 ms by default) or the driver polls for it, and K2
 * and the poller need only the value.
 *
 * What a waiter can miss: a value that was ready and was overwritten by a
 * value that is not before the waiter looked (a state word that went
 * 0 -> 2 -> 0); only values that stay are promised.  Use GE on counters.
 *
 * Threads: a struct l3l2q_sig (the core's handle) is one thread's; a role
 * may have many handles (one per thread), each keeps to the ownership
 * rules above.  wait_any / wait_all arm many slots from one thread.
 *
 * A 32-bit device.  The slot is a u64 that both sides must access with
 * single-copy 64-bit atomicity: a release store and an acquire load of
 * eight bytes, and for add a 64-bit fetch-add.  x86-64 and aarch64 have all
 * three (lock xadd; ldaddl or an ldaxr/stlxr loop).  A 32-bit CPU needs:
 *  - set: a 64-bit single-copy-atomic store (armv7-A with LPAE: strd to an
 *    8-aligned address; ARMv7-M and RV32 have none), or to keep every value
 *    below 2^32 so that the upper word never changes and a 32-bit release
 *    store of the low word is the whole update (little-endian);
 *  - wait: a 64-bit atomic load (ldrd with LPAE), or, for a value that only
 *    grows, read high, low, high again until both highs agree;
 *  - add: a 64-bit compare-and-swap (ldrexd/strexd), or not to use add
 *    (one publisher doing set);
 *  - C11 _Atomic __u64 on such a CPU may fall back to libatomic's locks,
 *    which the other side does not take: the freestanding build rejects
 *    it (undefined __atomic_* symbols), by design.
 *
 * Death: a role whose last reference goes away is marked DEAD in its
 * state word (L3L2Q_CTRL_*_STATE) and, if it gave up on its own, raises its
 * abort word (L3L2Q_SIG_CTRL_*_ABORT); HDMEM's fatal_status, which one
 * line would have to share between both roles, stays 0.  Every wait then ends with
 * -ECONNRESET, unless what it waits for is already ready: values published
 * before the death are still seen.
 */

/*
 * One entry of a wait on many slots: the core's wait_any / wait_all take
 * an array of these, and so would the kernel's wait (below).
 *   in:  id, cmp, target
 *   out: value, the last value read (W3 before a sleep: the value the
 *        sleep compares the slot with);
 *        arm, the arm word stored in this role's table, 0 when not armed;
 *        ready, 1 if the last check found the compare true.
 */
struct l3l2q_sig_waitv {
	__u32 id;
	__u32 cmp;			/* L3L2Q_SIG_CMP_* */
	__u64 target;
	__u64 value;
	__u32 arm;
	__u32 ready;
};

/* Most entries one wait takes (a waiter-table entry each, no duplicates). */
#define L3L2Q_SIG_WAITV_MAX		64u

L3L2Q__ASSERT(sizeof(struct l3l2q_sig_waitv) == 32, "waitv entry ABI");

/*
 * The driver's ioctls on a signals region's role files (/dev/l3l2q,
 * kmod/l3l2q_sig*.c).  Every reserved field and unknown flag must be 0
 * (-EINVAL).  Slot values and waiter tables are shared memory: the kernel
 * reads each word it needs once (READ_ONCE), only compares it, and never
 * trusts it beyond "wake or not".
 *
 * SIG_WAIT: K1-K3 above for nr entries of @waitv (a user pointer), the
 * caller's role being the waiting role r.  The kernel copies the entries
 * once, validates the copy (id < signal_count of its private geometry,
 * cmp known, nr in 1..L3L2Q_SIG_WAITV_MAX, flags within
 * L3L2Q_SIG_WAIT_ALL, resv 0: else -EINVAL) and uses only the copy.  It
 * returns 0 once, for any entry (for every entry with L3L2Q_SIG_WAIT_ALL),
 * l3l2q_sig_ready() holds, or once either role's kicked[r] word of an
 * entry's slot equals that entry's (non-zero) arm: a kick for that arming
 * came (K2; re-check in user space).  Otherwise -ETIMEDOUT at
 * @deadline_ns (CLOCK_MONOTONIC, absolute; 0 = check only, no sleep; any
 * value above 2^63 - 1 waits for ever), -EINTR on a signal (not
 * restarted), -ECONNRESET when the peer role is dead or raised its abort
 * word and nothing is ready (values published before the death win),
 * -ENODEV when the region's device was removed, -EBUSY when the role has
 * L3L2Q_SIG_WAITERS_MAX waiters already, -EFAULT.  On 0, -ETIMEDOUT and
 * -ECONNRESET it writes back, per entry, value (the slot as last read)
 * and ready; id, cmp, target and arm are left as given.  The entry's
 * value is output only: a wait is for the compare, not for a change.
 *
 * A sleeper is woken only when its compare holds (or its arming was
 * kicked, or the peer died): every KICK or SIG_KICK of its role looks at
 * its entries, and one whose target was not crossed sleeps on.  A peer
 * whose feature word lacks L3L2Q_FEAT_KICKS (upstream-only HDMEM code that
 * stores a slot and never kicks) is polled for by the driver while a
 * kernel waiter of the role exists (a sleeping SIG_WAIT, a watch, a
 * poll/epoll registration): each poller tick makes every waiter's own
 * compare, and a waiter whose compare holds (or whose peer raised its
 * abort word) is woken at most the module's poll_max_us (10 ms by
 * default) plus timer slack after that, without a deadline of its own;
 * one whose target is not reached is not woken.
 *
 * SIG_WAIT as an io_uring command: IORING_OP_URING_CMD on the role fd,
 * cmd_op L3L2Q_IOC_SIG_WAIT, these 32 bytes as the command payload
 * (sqe->cmd).  They do not fit a 64-byte SQE's 16 payload bytes: the ring
 * must be set up with IORING_SETUP_SQE128 (80), else the CQE's res is
 * -EINVAL.  The same checks and results as the ioctl, in the CQE's res
 * (no -EINTR), and on 0, -ETIMEDOUT and -ECONNRESET the same write-back
 * to @waitv, done before the CQE is posted: @waitv must stay valid until
 * then (-EFAULT if the write-back faults).  One whose result is known at
 * issue completes at once; a queued one is one of the role's
 * L3L2Q_SIG_WAITERS_MAX waiters and is woken the same way.  As the
 * queue's io_uring WAIT: -ECANCELED when io_uring cancels it (6.7+: its
 * task or ring exits) or when the role's last fd and mapping go while it
 * waits (a pending command does not keep the role alive); -ENOMEM; and
 * where io_uring cannot cancel commands (6.1) it ends -ETIMEDOUT after the
 * module's uring_max_wait_ms at the latest: check the clock, submit again.
 * A ring can also wait on one slot through a watch: IORING_OP_POLL_ADD on
 * the role fd, or a read of the watch's eventfd.
 *
 * SIG_KICK: wake the sleepers (SIG_WAIT, watches, poll) of role @role
 * whose compare now holds, after N4; and that role's SET_EVENTFD eventfd
 * and io_uring WAITs, as KICK does.  KICK itself does the same for the
 * other role.  On a device node, kicking role L2 from L3 rings the
 * device.  -EINVAL for id >= signal_count, role > 1 or resv != 0.
 *
 * SIG_WATCH: a standing wait on one slot (@id, @cmp, @target), checked
 * at once and then on every kick of the caller's role (or poller tick,
 * for a peer that never kicks):
 *  - @fd an eventfd: signalled once when the compare holds (at once if
 *    it holds already) or the peer role dies or aborts, then dropped; as
 *    DRM_IOCTL_SYNCOBJ_EVENTFD does for a timeline point;
 *  - @fd -1: a poll watch: poll() on the role file reports EPOLLIN while
 *    the compare of any of the role's poll watches holds; it stays until
 *    cleared;
 *  - flags L3L2Q_SIG_WATCH_CLEAR (fd -1, id, cmp and target 0): drop all
 *    of the role's watches.
 * -EINVAL (bad id, cmp, flags, resv, or an fd that is no eventfd),
 * -EBADF, -EBUSY (L3L2Q_SIG_WAITERS_MAX).  A role's watches go with its
 * file.
 *
 * poll() on a signals role file: EPOLLIN as above, EPOLLOUT always (a
 * notify never waits), EPOLLHUP | EPOLLERR when the peer role is dead or
 * raised its abort word.
 *
 * Bounded work: each role has at most L3L2Q_SIG_WAITERS_MAX waiters -
 * sleeping SIG_WAITs and watches together - so a kick looks at no more
 * than L3L2Q_SIG_WAITERS_MAX * L3L2Q_SIG_WAITV_MAX entries.
 */
struct l3l2q_sig_wait_args {
	__u64 waitv;			/* struct l3l2q_sig_waitv[nr] */
	__u32 nr;
	__u32 flags;			/* L3L2Q_SIG_WAIT_ALL or 0 */
	__u64 deadline_ns;
	__u64 resv;			/* must be 0 */
};

struct l3l2q_sig_kick_args {
	__u32 id;			/* the slot */
	__u32 role;			/* whose sleepers: 0 = L3, 1 = L2 */
	__u64 resv;			/* must be 0 */
};

struct l3l2q_sig_watch_args {
	__s32 fd;			/* an eventfd, or -1 (poll watch) */
	__u32 flags;			/* L3L2Q_SIG_WATCH_CLEAR or 0 */
	__u32 id;
	__u32 cmp;			/* L3L2Q_SIG_CMP_* */
	__u64 target;
	__u64 resv;			/* must be 0 */
};

#define L3L2Q_SIG_WAIT_ALL		(1u << 0)
#define L3L2Q_SIG_WATCH_CLEAR		(1u << 0)
/* Waiters per role in the driver: sleeping SIG_WAITs plus watches. */
#define L3L2Q_SIG_WAITERS_MAX		64u

/* 0x20..: the signals kind's numbers (0x07.. are left to other kinds). */
#define L3L2Q_IOC_SIG_WAIT	_IOWR(L3L2Q_IOC_MAGIC, 0x20, struct l3l2q_sig_wait_args)
#define L3L2Q_IOC_SIG_KICK	_IOW(L3L2Q_IOC_MAGIC, 0x21, struct l3l2q_sig_kick_args)
#define L3L2Q_IOC_SIG_WATCH	_IOW(L3L2Q_IOC_MAGIC, 0x22, struct l3l2q_sig_watch_args)

L3L2Q__ASSERT(sizeof(struct l3l2q_sig_watch_args) == 32, "watch args ABI");
L3L2Q__ASSERT(sizeof(struct l3l2q_sig_wait_args) == 32,
	      "wait args ABI: an SQE128 ring's io_uring payload");
L3L2Q__ASSERT(sizeof(struct l3l2q_sig_kick_args) == 16, "kick args ABI");

/* Operations in error records (enum l3l2q_error_op continues here). */
enum l3l2q_sig_error_op {
	L3L2Q_EOP_SIG_INIT		= 32,
	L3L2Q_EOP_SIG_READ		= 33,
	L3L2Q_EOP_SIG_WRITE		= 34,
	L3L2Q_EOP_SIG_NOTIFY		= 35,
	L3L2Q_EOP_SIG_WAIT		= 36,
	L3L2Q_EOP_SIG_ARM		= 37,
};

#ifdef __cplusplus
}
#endif

#endif /* _UAPI_L3L2Q_SIGNALS_H */
