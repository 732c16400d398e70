/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_core.h - the freestanding L3Q2 protocol core, for both roles.
 *
 * The same code runs in user space, in the kernel and on the device CPU: it
 * makes no system call, allocates nothing and uses only memcpy/memset.
 * Endpoint structs are owned by the caller; never copy a live one.
 *
 * Roles:  L3 (host)   produces the input ring, consumes the output ring.
 *         L2 (device) consumes the input ring, produces the output ring.
 *
 * Return values (liburing style: 0 or a negative errno, errno never set):
 *   0            progress was made
 *   -EAGAIN      no progress: ring or arena full, nothing to consume, window
 *                full, or (STOP drain) nothing more will come.  Nothing changed.
 *   -EMSGSIZE    the payload can never fit the arena, or the caller's buffer
 *                is smaller than the message (the message stays at the head)
 *   -EINVAL      bad argument, rejected before any shared state was touched
 *   -EPIPE       the input is stopped (STOP already published)
 *   -ETIMEDOUT   a blocking call reached its deadline; the queue stays live
 *   -EPROTO      the endpoint is poisoned (now or earlier); its own abort
 *                flag is set; see l3l2q_ep_error()
 *   -ECONNRESET  the peer aborted or died; the own abort flag is untouched
 *   -ESHUTDOWN   the endpoint was closed with l3l2q_*_close()
 *   -EOWNERDEAD  the endpoint is a copy a fork() child inherited
 *                (libl3l2q marks them; see libl3l2q.h)
 *
 * The error classes of reference §6: no-progress results leave everything
 * as it was; an ERROR message is delivered like DATA and never poisons;
 * local poison is terminal and sets the own abort flag; a remote abort is
 * terminal and leaves the own flag alone.  Every error except -EAGAIN
 * records {kind, op, message} in l3l2q_ep_last_error(); -EAGAIN clears that
 * record (kind NONE), so it never shows an older, unrelated error.
 * Terminal errors are also kept (first one wins) in l3l2q_ep_error().
 *
 * Bad handles: every function given a NULL endpoint, one that was never
 * initialised, or one of the other role returns -EINVAL (functions that do
 * not return an int say what they return instead) and never dereferences
 * it; the message is in l3l2q_ep_last_error() of that handle (of NULL too).
 *
 * Threads (the way liburing states its own):
 *  - An endpoint has two directions, one per ring: L3L2Q_DIR_INPUT (L3
 *    sends: enqueue, reserve, publish, flush, request_stop; L2 receives:
 *    peek, release, release_batch, drained) and L3L2Q_DIR_OUTPUT (L2 sends,
 *    L3 receives: peek, read, release, dequeue).  One thread may drive
 *    each direction at the same time as another drives the other one, with
 *    any way of waiting; each thread arms (l3l2q_ep_want_wakeup) and
 *    clears only the wait bit of its own direction.
 *  - Calls of one direction must not run concurrently with each other.
 *  - l3l2q_ep_error(), l3l2q_ep_state(), l3l2q_ep_stats() and
 *    l3l2q_ep_last_error_dir() may be called from any thread at any time;
 *    l3l2q_ep_last_error() and l3l2q_ep_set_spin_attempts() too, but the
 *    record shown may be the other direction's.
 *  - init and close must not run concurrently with any other call on the
 *    endpoint.
 */
#ifndef L3L2Q_CORE_H
#define L3L2Q_CORE_H

/* The ABI, installed as <l3l2q/l3l2q.h>; in the tree l3l2q/ links to uapi/. */
#include "l3l2q/l3l2q.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most input entries an L2 endpoint may hold at once (its window, N). */
#define L3L2Q_WINDOW_MAX	256u

/*
 * Most output results an L3 endpoint may hold at once, through
 * l3l2q_l3_try_peek_batch(); its window is min(depth, this).
 */
#define L3L2Q_L3_WINDOW_MAX	64u

/* Blocking calls read the clock once every this many failed attempts. */
#define L3L2Q_SPINS_PER_CLOCK	1024u

/* A deadline that never passes (peer abort and death still end the wait). */
#define L3L2Q_DEADLINE_NONE	(~(__u64)0)

/*
 * Waiting for a peer that never kicks (its feature word lacks
 * L3L2Q_FEAT_KICKS, read once per sleep; no control block counts as none):
 * a blocking call sleeps in steps that start at L3L2Q_POLL_MIN_NS and
 * double up to L3L2Q_POLL_MAX_NS, re-checking the ring and the peer after
 * each, so an answer already in the ring, or a peer that aborted, waits at
 * most one step (about a millisecond), at a cost of at most ~1000
 * wake-ups a second while it waits.
 */
#define L3L2Q_POLL_MIN_NS	20000ull
#define L3L2Q_POLL_MAX_NS	1000000ull

/* The two directions of an endpoint (one ring each). */
#define L3L2Q_DIR_INPUT		0u	/* L3 sends, L2 receives */
#define L3L2Q_DIR_OUTPUT	1u	/* L2 sends, L3 receives */

enum l3l2q_role {
	L3L2Q_ROLE_L3 = 0,
	L3L2Q_ROLE_L2 = 1,
};

/* Endpoint states (the upstream Python states, and INHERITED). */
enum l3l2q_state {
	L3L2Q_STATE_LIVE = 0,
	L3L2Q_STATE_RELEASED = 1,
	L3L2Q_STATE_POISONED_LOCAL = 2,
	L3L2Q_STATE_POISONED_REMOTE = 3,
	/* libl3l2q: a copy inherited across fork(); every call -EOWNERDEAD */
	L3L2Q_STATE_INHERITED = 4,
};

struct l3l2q_error {
	__u32 kind;			/* enum l3l2q_error_kind */
	__u32 op;			/* enum l3l2q_error_op */
	__u64 region_id;
	char message[L3L2Q_ERROR_MSG_BYTES];
};

/* What the core needs from its host; all members are optional. */
struct l3l2q_env {
	/*
	 * Monotonic nanoseconds.  NULL: a blocking call with a finite
	 * deadline makes one attempt; with L3L2Q_DEADLINE_NONE it retries
	 * until it progresses or the peer goes away.
	 */
	__u64 (*now_ns)(void *ctx);
	/* Called between failed attempts (a spin hint); NULL: none. */
	void (*relax)(void *ctx);
	/*
	 * Sleep until the counter at @counter (an L3L2Q_CTR_* offset) may
	 * differ from @seen, or until @deadline_ns.  The core calls it only
	 * after setting its need-wakeup bit and re-checking (uapi/l3l2q.h,
	 * W1-W4).  Returns 0 or -ETIMEDOUT (the core re-checks either way),
	 * -ECONNRESET when the peer is gone, or another -errno that ends the
	 * wait.  NULL: never sleep, keep spinning.
	 */
	int (*sleep)(void *ctx, __u32 counter, __s32 seen, __u64 deadline_ns);
	/* Wake the peer, which asked for it (P4).  NULL: the peer spins. */
	void (*kick)(void *ctx);
	void *ctx;
	/* Failed attempts before a blocking call sleeps; 0: the default. */
	__u32 spin_attempts;
	/*
	 * Optional: wake the peer for one wait bit only (L3L2Q_WAKE_*), so
	 * that a peer with one sleeper per direction wakes the right one.
	 * Used instead of kick when set.
	 */
	void (*kick_bit)(void *ctx, __u32 bit);
	/*
	 * Optional: called by l3l2q_ep_want_wakeup() before it sets @bits
	 * (W1): drop kicks left over from earlier armings of @bits, and
	 * check that the peer is still there.  0, or -ECONNRESET when the
	 * peer is gone (nothing is armed then).
	 */
	int (*arm)(void *ctx, __u32 bits);
};

/* A blocking call spins this many failed attempts (a few us) by default. */
#define L3L2Q_SPIN_ATTEMPTS_DEFAULT	256u

/* What the need-wakeup protocol did; never reset.  Both directions summed. */
struct l3l2q_stats {
	__u64 kicks;			/* the peer was waiting: kicked it */
	__u64 kicks_suppressed;		/* not waiting, or kicked already */
	__u64 sleeps;			/* env.sleep calls */
};

/* Where the queue is in this address space. */
struct l3l2q_mem {
	void *payload;			/* payload base, layout.payload_bytes long */
	void *counters;			/* counter block, 64-aligned, 384 bytes */
	void *ctrl;			/* control block, or NULL for an upstream peer */
	__u64 region_id;		/* reported in errors only */
};

/* A reservation in a producer's arena; fill data[0..nbytes) then publish. */
struct l3l2q_res {
	__u64 seq;
	__u64 offset;			/* relative to the payload base; 0 if empty */
	__u64 nbytes;
	void *data;			/* NULL if nbytes == 0 */
};

/*
 * A run of reserved messages (l3l2q_*_try_reserve_batch): n slots and
 * n * nbytes contiguous payload bytes, message i's at data + i * nbytes.
 * Fill them, then submit; compared by value on submit: do not modify.
 */
struct l3l2q_batch {
	__u64 seq;			/* the first message's seq */
	__u64 nbytes;			/* payload bytes of each message */
	void *data;			/* NULL if nbytes == 0 */
	__u32 n;			/* messages reserved */
	__u32 reserved;			/* 0 */
};

/* An acquired message.  Compared by value on release: do not modify. */
struct l3l2q_msg {
	__u64 seq;
	__u64 opcode;			/* L3L2Q_OP_DATA, _ERROR or (L2 input) _STOP */
	__u64 offset;
	__u64 nbytes;
	const void *data;		/* NULL if nbytes == 0 */
};

/* ---- private state: do not access these members directly ---- */

/*
 * What one direction of an endpoint keeps to itself: only the thread that
 * drives that direction writes it.  The hot words come first; the error
 * record behind them keeps the two directions' hot words apart.
 */
struct l3l2q_ep_dir {
	struct l3l2q_stats stats;	/* this direction's kicks and sleeps */
	__u32 kicked_arm;		/* the peer's arming this direction
					   kicked last; 0: none */
	__u32 armed;			/* its wait bit is armed (W1 .. clear) */
	__u32 armed_seen;		/* the counter W1 recorded, for W4 */
	__u32 resv;
	struct l3l2q_error last;	/* this direction's most recent error */
	__u8 pad[64];
};

struct l3l2q_ep {
	__u32 gate;			/* role and state: one compare per call */
	__u32 role;
	struct l3l2q_mem mem;
	struct l3l2q_layout layout;	/* private copy, validated at init */
	struct l3l2q_env env;
	__s32 *own_abort;		/* precomputed: bypasses error paths (P11) */
	__s32 *peer_abort;
	__u32 *own_state;		/* control block words, NULL without one */
	__u32 *peer_state;
	__u32 *own_wake;		/* need-wakeup bits: ours, changed by RMW */
	__u32 *peer_wake;		/* the peer's, read after publishing;
					 * NULL when we cannot kick */
	__u32 *own_seen;		/* [4]: what we had seen, per wait bit */
	__u32 *peer_seen;
	__u32 *peer_features;		/* L3L2Q_FEAT_* of the peer */
	struct l3l2q_error err;		/* first terminal error */
	__u8 pad[64];
	__u32 last_dir;			/* the direction that recorded last */
	__u8 pad2[60];
	struct l3l2q_ep_dir dir[2];	/* by L3L2Q_DIR_* */
};

/*
 * The producer's private history: the payload cursor after each of its
 * last L3L2Q_PROD_HIST publishes, so that a release of those moves the
 * payload head without reading back the slots it wrote (older ones are
 * replayed from the ring).
 */
#define L3L2Q_PROD_HIST		256u

struct l3l2q_prod {
	unsigned char *ring;
	__s32 *tail_ctr;
	__s32 *head_ctr;
	__u64 depth;
	__u64 arena_offset;
	__u64 arena_bytes;
	__u64 arena_fast;		/* arena_bytes if a power of two, else 0 */
	__u64 tail;			/* published */
	__u64 head;			/* released by the consumer, replayed */
	__u64 ptail;			/* payload cursor, padding included */
	__u64 phead;			/* replayed payload release cursor */
	__u64 res_seq, res_offset, res_nbytes;
	__u64 res_p0, res_pstart;	/* batch: ptail before, first payload */
	__u32 res_n;			/* batch: messages reserved */
	__u8 res_active;		/* 1: one reservation, 2: a batch */
	__u8 is_input;
	__u8 stopped;			/* STOP published (input only) */
	__u8 deferred;			/* tail moved, counter not yet stored */
	__u8 mp;			/* driven by l3l2q_l3_mp_* (l3l2q_mp.h) */
	__u8 pf_write;			/* the CPU can prefetch for writing */
	__u64 hist[L3L2Q_PROD_HIST];	/* ptail after seq s at [s % HIST] */
};

struct l3l2q_entry {
	__u64 seq, opcode, offset, nbytes;
	const void *data;
	__u64 pend;			/* payload cursor after this entry */
	__u8 completed;
};

struct l3l2q_cons {
	const unsigned char *ring;
	__s32 *tail_ctr;
	__s32 *head_ctr;
	__u64 depth;
	__u64 arena_offset;
	__u64 arena_bytes;
	__u64 arena_fast;		/* arena_bytes if a power of two, else 0 */
	__u64 arena_mask;		/* arena_fast - 1, or 0 */
	__u64 tail;			/* observed from the producer */
	__u64 acq;			/* acquired */
	__u64 head;			/* physically released */
	__u64 pacq;			/* payload cursor at acquire */
	__u64 phead;			/* payload cursor at release */
	struct l3l2q_entry *win;	/* max_inflight + 1 entries */
	__u32 max_inflight;
	__u32 first;			/* index of the oldest entry */
	__u32 active;			/* entries held, STOP included */
	__u32 non_stop;			/* DATA and ERROR entries held */
	__u8 is_input;
	__u8 stop_seen;
	__u8 drained;
	__u8 multi;			/* l3l2q_l3_mc_*: every peek takes the next */
};

struct l3l2q_mp;

/* Each direction's ring state sits apart from the other's (threads). */
struct l3l2q_l3 {
	struct l3l2q_ep ep;
	struct l3l2q_prod in;
	__u8 pad[64];
	struct l3l2q_cons out;
	struct l3l2q_entry out_win[L3L2Q_L3_WINDOW_MAX + 1];
	struct l3l2q_mp *mp;		/* many threads (l3l2q_mp.h), or NULL */
};

struct l3l2q_l2 {
	struct l3l2q_ep ep;
	struct l3l2q_cons in;
	__u8 pad[64];
	struct l3l2q_prod out;
	struct l3l2q_entry in_win[L3L2Q_WINDOW_MAX + 1];
};

/* ---- region ---- */

/*
 * Prepare a freshly allocated (zeroed) region for use: write the control
 * block header (if mem->ctrl), set all six counters to the low 32 bits of
 * @start_pos and both abort flags to 0.  Called once by the creator.
 * Returns 0, or -EINVAL (nothing written) for a NULL @mem, @layout or
 * counter block, or @start_pos above L3L2Q_START_POS_MAX.
 */
int l3l2q_region_init(const struct l3l2q_mem *mem,
		      const struct l3l2q_layout *layout, __u64 start_pos,
		      __u32 flags);

/*
 * Validate the twelve upstream L2 task scalars (desc[0..5], queue
 * magic_version, depth, input arena, output arena, payload bytes, counter
 * bytes) exactly as an upstream L2 endpoint does.  Returns 0 and fills
 * @layout, or -EINVAL with @err (may be NULL) naming the field.
 */
int l3l2q_validate_scalars(const __u64 *scalars, unsigned int count,
			   struct l3l2q_layout *layout,
			   struct l3l2q_error *err);

/* ---- L3 (host) endpoint ---- */

/*
 * Bind @q to a region prepared by l3l2q_region_init() with @start_pos
 * (at most L3L2Q_START_POS_MAX).  @layout must come from l3l2q_layout().
 * @env may be NULL.  Returns 0, or -EINVAL with q's last error naming the
 * field.
 */
int l3l2q_l3_init(struct l3l2q_l3 *q, const struct l3l2q_mem *mem,
		  const struct l3l2q_layout *layout, __u64 start_pos,
		  const struct l3l2q_env *env);

/* Zero copy: reserve n bytes (n == 0 allowed), fill res->data, publish. */
int l3l2q_l3_try_reserve(struct l3l2q_l3 *q, __u64 n, struct l3l2q_res *res);
int l3l2q_l3_reserve(struct l3l2q_l3 *q, __u64 n, __u64 deadline_ns,
		     struct l3l2q_res *res);
/* opcode DATA or ERROR.  A mismatched reservation poisons (OWNERSHIP). */
int l3l2q_l3_publish(struct l3l2q_l3 *q, const struct l3l2q_res *res,
		     __u64 opcode);

/*
 * Batched publishing: publish_defer() writes the descriptor like publish()
 * but does not store the tail counter, so the peer does not see the message
 * yet; flush() stores it once for all of them and checks the peer's
 * need-wakeup bit once (one fence per batch instead of one per message).
 * A plain publish, request_stop and a reservation that finds the ring or
 * arena full also make every deferred message visible, so a blocking
 * reserve never waits on space its own deferred messages hold.  flush()
 * with nothing deferred does nothing and returns 0.
 */
int l3l2q_l3_publish_defer(struct l3l2q_l3 *q, const struct l3l2q_res *res,
			   __u64 opcode);
int l3l2q_l3_flush(struct l3l2q_l3 *q);

/*
 * Batched zero copy, in the xsk_ring_prod__reserve/__submit way: reserve
 * up to @n messages of @nbytes each at once -- the count reserved (as many
 * as fit, contiguous slots and payload, never split at the arena's end),
 * or -EAGAIN when none fits -- fill them, then submit the first @n of them
 * (<= b->n; 0 cancels) as DATA or ERROR with one tail store and one
 * need-wakeup check.  The rest of the run is given back.  While a batch is
 * reserved, any other reservation poisons (OWNERSHIP), as a second
 * reservation does.
 */
int l3l2q_l3_try_reserve_batch(struct l3l2q_l3 *q, __u64 nbytes, __u32 n,
			       struct l3l2q_batch *b);
int l3l2q_l3_submit_batch(struct l3l2q_l3 *q, const struct l3l2q_batch *b,
			  __u32 n, __u64 opcode);

/* Copy: enqueue n bytes from buf (NULL allowed iff n == 0). */
int l3l2q_l3_try_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
			 __u64 n);
int l3l2q_l3_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
		     __u64 n, __u64 deadline_ns);

/* Publish STOP.  Afterwards every enqueue gives -EPIPE, without poison. */
int l3l2q_l3_try_request_stop(struct l3l2q_l3 *q);
int l3l2q_l3_request_stop(struct l3l2q_l3 *q, __u64 deadline_ns);

/*
 * Output: peek returns the head message (the same one again while it is
 * active), read copies its payload, release frees it.
 */
int l3l2q_l3_try_peek(struct l3l2q_l3 *q, struct l3l2q_msg *msg);
int l3l2q_l3_peek(struct l3l2q_l3 *q, __u64 deadline_ns, struct l3l2q_msg *msg);
/* -EINVAL (no poison) for a handle that is not the active one. */
int l3l2q_l3_read(struct l3l2q_l3 *q, const struct l3l2q_msg *msg, void *buf,
		  __u64 cap);
/*
 * Releases the oldest held message.  A held one out of order is refused
 * (-EINVAL, nothing changes); any other handle poisons (OWNERSHIP).
 */
int l3l2q_l3_release(struct l3l2q_l3 *q, const struct l3l2q_msg *msg);
/*
 * Take up to @n further results at once, in order, into @msgs: the count
 * taken (0 only for n == 0), -EAGAIN when none came or the window of
 * min(depth, L3L2Q_L3_WINDOW_MAX) held results is full.  try_peek and
 * dequeue then return the oldest held one.
 */
int l3l2q_l3_try_peek_batch(struct l3l2q_l3 *q, struct l3l2q_msg *msgs,
			    __u32 n);
/*
 * Release the @n oldest held messages, @msgs in the order they were taken,
 * with one head store and one need-wakeup check.  Out of order or twice in
 * @msgs is refused (-EINVAL, nothing released); a handle that is not held
 * poisons (OWNERSHIP), as in release().
 */
int l3l2q_l3_release_batch(struct l3l2q_l3 *q, const struct l3l2q_msg *msgs,
			   __u32 n);
/* peek + read + release; *msg (may be NULL) gets the header. */
int l3l2q_l3_try_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
			 struct l3l2q_msg *msg);
int l3l2q_l3_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
		     __u64 deadline_ns, struct l3l2q_msg *msg);

/* Give the endpoint up; idempotent, valid in every state; NULL: no-op. */
void l3l2q_l3_close(struct l3l2q_l3 *q);

/* ---- L2 (device) endpoint ---- */

/*
 * Bind @q with an input window of @max_inflight entries
 * (1 <= max_inflight <= min(depth, L3L2Q_WINDOW_MAX)); else -EINVAL
 * (BAD_ARGUMENT, op INIT) without touching the abort flag.
 */
int l3l2q_l2_init(struct l3l2q_l2 *q, const struct l3l2q_mem *mem,
		  const struct l3l2q_layout *layout, __u64 start_pos,
		  __u32 max_inflight, const struct l3l2q_env *env);

/*
 * Acquire the next input.  With max_inflight == 1 a second peek while an
 * entry is held poisons (OWNERSHIP).  A full window is -EAGAIN.
 */
int l3l2q_l2_try_peek(struct l3l2q_l2 *q, struct l3l2q_msg *msg);
int l3l2q_l2_peek(struct l3l2q_l2 *q, __u64 deadline_ns, struct l3l2q_msg *msg);
/* Mark complete; the completed FIFO prefix is released physically. */
int l3l2q_l2_release(struct l3l2q_l2 *q, const struct l3l2q_msg *msg);
/*
 * Release @n held messages at once (any order; each as by release()): the
 * completed prefix is freed with one head store and one need-wakeup check.
 * A message that is not held poisons (OWNERSHIP), as in release().
 */
int l3l2q_l2_release_batch(struct l3l2q_l2 *q, const struct l3l2q_msg *msgs,
			   __u32 n);
/*
 * Take up to @n further inputs at once, in order, into @msgs: the count
 * taken (0 only for n == 0), -EAGAIN when none came or the window is full.
 * Each is validated as by try_peek(); the tail counter is read once.
 */
int l3l2q_l2_try_peek_batch(struct l3l2q_l2 *q, struct l3l2q_msg *msgs,
			    __u32 n);
/*
 * Release the @n oldest held inputs (the xsk_ring_cons__release shape: no
 * handles to compare) with one head store and one need-wakeup check.  More
 * than are held, or one already released, poisons (OWNERSHIP).
 */
int l3l2q_l2_release_oldest(struct l3l2q_l2 *q, __u32 n);
/*
 * peek + copy into @buf (@cap bytes) + release in one; *msg (may be NULL)
 * gets the header.  A message larger than @cap stays the next one
 * (-EMSGSIZE); a STOP is returned (msg->opcode) and released.
 */
int l3l2q_l2_try_dequeue(struct l3l2q_l2 *q, void *buf, __u64 cap,
			 struct l3l2q_msg *msg);
/* 1 once STOP has been physically released, else 0; -EINVAL: bad handle. */
int l3l2q_l2_drained(const struct l3l2q_l2 *q);

int l3l2q_l2_try_reserve(struct l3l2q_l2 *q, __u64 n, struct l3l2q_res *res);
int l3l2q_l2_reserve(struct l3l2q_l2 *q, __u64 n, __u64 deadline_ns,
		     struct l3l2q_res *res);
int l3l2q_l2_publish(struct l3l2q_l2 *q, const struct l3l2q_res *res,
		     __u64 opcode);
/* As l3l2q_l3_publish_defer() and l3l2q_l3_flush(), for the output ring. */
int l3l2q_l2_publish_defer(struct l3l2q_l2 *q, const struct l3l2q_res *res,
			   __u64 opcode);
int l3l2q_l2_flush(struct l3l2q_l2 *q);
/* As l3l2q_l3_try_reserve_batch() and l3l2q_l3_submit_batch(). */
int l3l2q_l2_try_reserve_batch(struct l3l2q_l2 *q, __u64 nbytes, __u32 n,
			       struct l3l2q_batch *b);
int l3l2q_l2_submit_batch(struct l3l2q_l2 *q, const struct l3l2q_batch *b,
			  __u32 n, __u64 opcode);

void l3l2q_l2_close(struct l3l2q_l2 *q);

/* ---- errors and state ---- */

/*
 * The first terminal error (kind NONE while the endpoint is healthy).
 * Never NULL: a bad handle gets a record that says what is wrong with it.
 */
const struct l3l2q_error *l3l2q_ep_error(const struct l3l2q_ep *ep);
/*
 * The most recent error of either direction (kind NONE after -EAGAIN).
 * Never NULL, as l3l2q_ep_error().  With one thread per direction use
 * l3l2q_ep_last_error_dir(), which only that direction's calls write.
 */
const struct l3l2q_error *l3l2q_ep_last_error(const struct l3l2q_ep *ep);
const struct l3l2q_error *l3l2q_ep_last_error_dir(const struct l3l2q_ep *ep,
						  __u32 dir);
/* An enum l3l2q_state, or -EINVAL for a bad handle. */
int l3l2q_ep_state(const struct l3l2q_ep *ep);
/* Copy both directions' counts, summed, into *out.  0 or -EINVAL. */
int l3l2q_ep_stats(const struct l3l2q_ep *ep, struct l3l2q_stats *out);
/*
 * Failed attempts a blocking call spins before it sleeps; 0: the default.
 * 0 or -EINVAL.
 */
int l3l2q_ep_set_spin_attempts(struct l3l2q_ep *ep, __u32 attempts);

/*
 * The need-wakeup bits for a caller that sleeps on its own (epoll on the
 * queue's poll fd, an eventfd, io_uring) instead of in a blocking call:
 * set them, then re-check with a try_ call, and only then sleep; clear them
 * once progress resumes.  Set them again before every sleep: each call is a
 * new arming, and the peer kicks at most once per arming (uapi/l3l2q.h).
 * Ask only for the bits whose counters that sleep waits on; with one thread
 * per direction, each thread only for its own direction's bit.  Setting
 * changes the shared word by an atomic read-modify-write and issues the
 * full fence W2.  Returns -EINVAL for a bad handle, for bits this role may
 * not wait on, or when the queue has no control block (an upstream peer:
 * it never kicks); -ECONNRESET when the transport (env.arm) finds the peer
 * gone, with nothing armed.
 */
int l3l2q_ep_want_wakeup(struct l3l2q_ep *ep, __u32 bits);
/* 0, or -EINVAL for a bad handle or bits this role may not wait on. */
int l3l2q_ep_clear_wakeup(struct l3l2q_ep *ep, __u32 bits);

/* "input.try_peek", ...; "unknown" for any other value (never NULL). */
const char *l3l2q_error_op_str(__u32 op);
const char *l3l2q_error_kind_str(__u32 kind);
/*
 * Copy a message: NULL gives "", longer than 255 characters is truncated.
 * A NULL @err is a no-op.
 */
void l3l2q_error_set_message(struct l3l2q_error *err, const char *msg);

#ifdef __cplusplus
}
#endif

#endif /* L3L2Q_CORE_H */
