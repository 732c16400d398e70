/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_signals_core.h - the freestanding core of the signals region
 * (HDMEM: a data area and 64-bit signals), for both roles.
 *
 * The wire layout, the waiter table, the target-crossing rule, ownership
 * and the 32-bit device note are in uapi/l3l2q_signals.h.  Like the queue's
 * core (l3l2q_core.h) this code makes no system call, allocates nothing
 * and uses only memcpy/memset; it sleeps and kicks through the hooks of
 * struct l3l2q_sig_env.  A struct l3l2q_sig is owned by the caller and used
 * by one thread at a time; never copy a live one.
 *
 * Return values (0, a non-negative result, or a negative errno; errno is
 * never set):
 *   0, index     done; wait_any returns the index of a ready entry
 *   -EAGAIN      (try_ only) nothing is ready yet; nothing changed, and
 *                the values read are still reported
 *   -EINVAL      bad argument, rejected before any shared word is written:
 *                a signal id >= signal_count, an unknown compare, a data
 *                range outside [0, data_bytes], a NULL buffer with n > 0,
 *                a waitv of 0 or more than L3L2Q_SIG_WAITV_MAX entries or
 *                naming a slot twice, a monotonic notify below the
 *                current value (the value stays)
 *   -ETIMEDOUT   the deadline passed; the peer is alive
 *   -ECONNRESET  the peer role is dead or raised its abort word, and what
 *                was waited for is not ready (values published before
 *                that are still seen)
 *   -ESHUTDOWN   the handle was closed (l3l2q_sig_close, l3l2q_sig_abort)
 *   -EIO etc.    what env.sleep returned, if it was none of the above
 * Every error except -EAGAIN records {kind, op, message} in
 * l3l2q_sig_last_error().  Nothing in the core poisons: it never takes a
 * decision from a shared word other than "this value is ready" or "wake
 * or not", so a hostile peer can stall its own signals, never the caller.
 *
 * P5: the geometry comes from the caller (the driver's INFO, or
 * l3l2q_sig_layout() of what was created) and is checked against the
 * HDMEM and control headers once, at l3l2q_sig_init(); after that no
 * header is read again, and every bound uses the private copy.
 */
#ifndef L3L2Q_SIGNALS_CORE_H
#define L3L2Q_SIGNALS_CORE_H

#include "l3l2q/l3l2q_signals.h"
#include "l3l2q_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default length of one sleep while the peer does not kick (1 ms). */
#define L3L2Q_SIG_POLL_NS_DEFAULT	1000000ull

/* What the core needs from its host; every member is optional. */
struct l3l2q_sig_env {
	/*
	 * Monotonic nanoseconds.  NULL: a wait with a finite deadline makes
	 * one check; with L3L2Q_DEADLINE_NONE it goes on until ready or
	 * until the peer is gone.
	 */
	__u64 (*now_ns)(void *ctx);
	/* Called between failed checks (a spin hint); NULL: none. */
	void (*relax)(void *ctx);
	/*
	 * Sleep for the @n entries of @v whose arm is not 0 (W4: K1-K3 of
	 * uapi/l3l2q_signals.h): until a kick for one of their slots, or
	 * @deadline_ns.  A kick that came before the sleeper registered must
	 * not be lost (K2, or a wake channel that stays signalled).  Returns
	 * 0, -ETIMEDOUT or -EINTR (the core re-checks in each case),
	 * -ECONNRESET when the peer is gone (the core checks once more and
	 * ends the wait), or another -errno that ends the wait; -ENOTTY or
	 * -EOPNOTSUPP: this backend cannot sleep, spin instead.  NULL: never
	 * sleep, keep spinning.
	 */
	int (*sleep)(void *ctx, const struct l3l2q_sig_waitv *v, __u32 n,
		     __u64 deadline_ns);
	/* Wake role @role's sleepers on slot @id (N4).  NULL: never kick. */
	void (*kick)(void *ctx, __u32 role, __u32 id);
	void *ctx;
	/* Failed checks before a wait sleeps; 0: L3L2Q_SPIN_ATTEMPTS_DEFAULT. */
	__u32 spin_attempts;
	__u32 resv;
	/*
	 * Longest sleep while a role that may publish does not kick (its
	 * feature word lacks L3L2Q_FEAT_KICKS); 0: L3L2Q_SIG_POLL_NS_DEFAULT.
	 */
	__u64 poll_ns;
};

/* Where the region is in this address space. */
struct l3l2q_sig_mem {
	void *ctrl;			/* the control area (block and tables),
					   or NULL: an upstream peer, no waking
					   and no death */
	void *hdmem;			/* the HDMEM header, 64-aligned */
	__u64 region_id;		/* reported in errors only */
};

/* What l3l2q_sig_info() reports (upstream's info, reference §9.3-9.4). */
struct l3l2q_sig_info {
	void *data;			/* the data area in this address space */
	void *signals;			/* slot 0 (slot i at + 64 * i) */
	__u64 data_bytes;
	__u64 total_bytes;		/* of HDMEM */
	__u32 signal_count;
	__u32 flags;			/* the HDMEM header's flags */
	__u32 sig_flags;		/* L3L2Q_SIG_F_* */
	__u32 role;			/* L3L2Q_ROLE_L3 or L3L2Q_ROLE_L2 */
};

/* ---- private state: do not access these members directly ---- */

struct l3l2q_sig {
	struct l3l2q_sig_mem mem;
	struct l3l2q_sig_layout layout;	/* private copy, checked at init */
	struct l3l2q_sig_env env;
	__u32 role;
	__u32 state;			/* L3L2Q_STATE_LIVE or _RELEASED */
	unsigned char *slots;		/* slot 0 */
	unsigned char *data;		/* the data area */
	struct l3l2q_sig_waiter *table[2];	/* per role; NULL without ctrl */
	__u32 *own_abort, *peer_abort;
	__u32 *own_state, *peer_state;
	__u32 *own_features, *peer_features;
	struct l3l2q_stats stats;
	struct l3l2q_error last;	/* most recent error */
};

/* ---- the region ---- */

/*
 * The creator's job, once, before the region is shared: zero HDMEM and
 * write its header (upstream's init), zero both waiter tables and the
 * abort words, and write the control header (if mem->ctrl).  @layout must
 * come from l3l2q_sig_layout(); @flags are the L3L2Q_CREATE_* to record.
 * Returns 0, or -EINVAL if @layout is not what l3l2q_sig_layout() gives
 * for its own geometry.
 */
int l3l2q_sig_region_init(const struct l3l2q_sig_mem *mem,
			  const struct l3l2q_sig_layout *layout, __u32 flags);

/*
 * Bind @s to a region as @role (L3L2Q_ROLE_L3 or _L2).  @layout is
 * recomputed from its geometry and must match; the HDMEM header (and the
 * control header, if mem->ctrl) is read once and must agree with it.
 * With env->kick and a control block, stores L3L2Q_FEAT_KICKS in the
 * role's feature word.  @env may be NULL.  Returns 0, or -EINVAL with
 * s's last error naming the field.
 */
int l3l2q_sig_init(struct l3l2q_sig *s, __u32 role,
		   const struct l3l2q_sig_mem *mem,
		   const struct l3l2q_sig_layout *layout,
		   const struct l3l2q_sig_env *env);

/* Give the handle up; idempotent.  Later calls return -ESHUTDOWN. */
void l3l2q_sig_close(struct l3l2q_sig *s);

/*
 * This role gives up: raise its abort word (the peer's waits end with
 * -ECONNRESET), then close the handle.  Without a control block it only
 * closes.
 */
void l3l2q_sig_abort(struct l3l2q_sig *s);

/* Pointers and shape, from the private copy; zeroes @info first. */
int l3l2q_sig_info(const struct l3l2q_sig *s, struct l3l2q_sig_info *info);

/* ---- the data area ---- */

/*
 * Copy @n bytes at @offset of the data area.  Upstream's bounds:
 * offset <= data_bytes && n <= data_bytes - offset (so 0 bytes at the end
 * is fine).  Plain copies: a notify publishes them, a matched wait makes
 * them visible.
 */
int l3l2q_sig_write(struct l3l2q_sig *s, __u64 offset, const void *src,
		    __u64 n);
int l3l2q_sig_read(struct l3l2q_sig *s, __u64 offset, void *dst, __u64 n);

/* ---- notify ---- */

/*
 * Set slot @id to @v (a release store, N1), then wake a waiter whose
 * target @v crosses (N2-N4).  In an L3L2Q_SIG_F_MONOTONIC region it is
 * l3l2q_sig_notify_monotonic().
 */
int l3l2q_sig_notify(struct l3l2q_sig *s, __u32 id, __u64 v);
/*
 * Set, refusing to go backwards: @v below the current value gives -EINVAL
 * (the value stays), @v equal to it does nothing, above it stores as
 * l3l2q_sig_notify().  One publisher per slot (the current value is read
 * without a lock).
 */
int l3l2q_sig_notify_monotonic(struct l3l2q_sig *s, __u32 id, __u64 v);
/*
 * Add @delta to slot @id with one atomic fetch-add (release), modulo
 * 2^64; *@result (may be NULL) gets the sum this add produced.  Any
 * number of adders may share a slot.
 */
int l3l2q_sig_notify_add(struct l3l2q_sig *s, __u32 id, __u64 delta,
			 __u64 *result);

/* ---- wait ---- */

/*
 * Does slot @id satisfy @cmp (L3L2Q_SIG_CMP_*) against @target?  One
 * acquire load; *@observed (may be NULL) gets the value read, matched or
 * not.  0 when matched (the acquire: everything published before that
 * value is visible), -EAGAIN when not, -ECONNRESET when not and the peer
 * is gone.
 */
int l3l2q_sig_try_wait(struct l3l2q_sig *s, __u32 id, __u32 cmp,
		       __u64 target, __u64 *observed);
/*
 * Wait until it does, or @deadline_ns (env.now_ns's clock, absolute;
 * L3L2Q_DEADLINE_NONE: no deadline; 0: one check): spin, then sleep
 * through the waiter table (W1-W5).
 */
int l3l2q_sig_wait(struct l3l2q_sig *s, __u32 id, __u32 cmp, __u64 target,
		   __u64 deadline_ns, __u64 *observed);

/*
 * Many slots at once (like futex_waitv or KFD's WAIT_EVENTS): @v has
 * @n entries (1..L3L2Q_SIG_WAITV_MAX, no slot twice).  Each check reads
 * every entry once and sets its value and ready.  _any returns the index
 * of the first ready entry; _all returns 0 once one check finds every
 * entry ready.
 */
int l3l2q_sig_try_wait_any(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
			   __u32 n);
int l3l2q_sig_wait_any(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		       __u32 n, __u64 deadline_ns);
int l3l2q_sig_try_wait_all(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
			   __u32 n);
int l3l2q_sig_wait_all(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		       __u32 n, __u64 deadline_ns);

/*
 * For a caller that sleeps on its own (phase 2: poll, an eventfd,
 * io_uring): arm the @n entries of @v whose ready is 0 (W1, with value
 * as the seen value: check first with a try_ call) and issue the full
 * fence W2; each armed entry's arm is set.  Then re-check (W3) and sleep
 * only if still not ready; re-arm before every sleep (each call is a new
 * arming, kicked at most once).  disarm clears the entries armed.
 * Returns 0, or -EINVAL as the wait calls (nothing armed), or when the
 * region has no control block.
 */
int l3l2q_sig_arm(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v, __u32 n);
void l3l2q_sig_disarm(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		      __u32 n);

/* ---- errors and counts ---- */

/* The most recent error (kind NONE if there was none). */
const struct l3l2q_error *l3l2q_sig_last_error(const struct l3l2q_sig *s);
/* kicks, kicks_suppressed (notifies that kicked nobody), sleeps. */
const struct l3l2q_stats *l3l2q_sig_stats(const struct l3l2q_sig *s);

#ifdef __cplusplus
}
#endif

#endif /* L3L2Q_SIGNALS_CORE_H */
