/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_channel_core.h - the HDCH channel (uapi/l3l2q_channel.h) in the
 * freestanding core, for both roles.
 *
 * A channel carries small messages (at most max_message_bytes <= 256,
 * inline in the descriptor), each with a route (which consumer) and a
 * correlation id (request/response matching), between many threads of the
 * host (L3) and many threads of the device (L2).  Each direction is a set
 * of single-producer/single-consumer lanes; nothing needs an atomic that
 * crosses to the other side.
 *
 * Objects
 *   struct l3l2q_chan      one side's endpoint, shared by that side's
 *                          threads (caller-owned memory; never copy a live
 *                          one).  Bound with l3l2q_chan_init().
 *   struct l3l2q_chan_ctx  one thread's handle on it: its leased lane, its
 *                          zero-copy message, its error record and
 *                          statistics.  Never shared between threads.
 *
 * Thread model
 *   - Sending: a thread leases one of its side's lanes
 *     (l3l2q_chan_try_lease()) and is that lane's only producer until it
 *     gives it back (l3l2q_chan_unlease()).  Sends touch only the leased
 *     lane and the side's attention word: no lock.  The lease policy is
 *     STRICT: with more threads than lanes, l3l2q_chan_try_lease() fails
 *     with -EBUSY and l3l2q_chan_lease() waits (in bounded naps: a lease
 *     given back is an event of this side that the peer's bells cannot
 *     announce) until a lane is free or the deadline passes.  A thread that
 *     needs to send without a lane of its own must queue its messages to a
 *     thread that has one (a BROKERED design); the core does not do that
 *     for it.
 *   - Receiving: any number of threads may receive.  A receiving thread
 *     finds lanes that need looking at through the attention words
 *     (uapi/l3l2q_channel.h; one thread at a time takes new attention,
 *     behind a try-lock that nobody waits for), claims one lane at a time
 *     with a local compare-and-swap (a claimed lane is skipped, never
 *     waited for), takes messages from it in order and lets it go.  So
 *     each lane's messages are taken in order; which thread takes which
 *     message is not fixed.  A copy receive holds its claim only inside
 *     the call; a zero-copy message (l3l2q_chan_try_peek()) holds its
 *     lane until l3l2q_chan_release().  tests/channel_wakeup.pml models
 *     this with spin.
 *   - Calls: l3l2q_chan_call() sends a request with a fresh correlation id
 *     from this side's call table (L3L2Q_CHAN_CALLS_MAX slots) and waits for
 *     the reply, a message on L3L2Q_CHAN_ROUTE_REPLY with that id.  Whoever
 *     takes a reply of this side - the caller, another caller, or a thread
 *     in l3l2q_chan_recv() - puts it into the caller's slot, so replies may
 *     come back in any order and on any lane; none is lost or delivered
 *     twice.  A caller takes replies only: another message at the head of
 *     a lane waits there for l3l2q_chan_recv(), so a side that calls while
 *     the peer also sends it other messages must also be receiving.  A
 *     reply that matches no waiting call (its caller timed out) is
 *     delivered by l3l2q_chan_recv() like any message.
 *
 * Waiting
 *   A blocking call spins for env.spin_attempts failed attempts, then
 *   sleeps through env.sleep on one word of the region: the peer's TX bell
 *   (waiting for messages, replies, the peer's close) or RX bell (waiting
 *   for space, the ack of our close), after arming as
 *   uapi/l3l2q_channel.h describes.  env.sleep is the queue's hook: its
 *   @counter argument is the word's offset from the start of the region
 *   (the control block), @seen the value last seen, exactly what the
 *   driver's WAIT takes.  The sleep is bounded by L3L2Q_CHAN_NAP_NS (a nap)
 *   instead of the deadline when what the caller waits for may also come
 *   from this side (another thread holds a lane that may have more
 *   messages, a lane's head is a message a caller leaves for recv, every
 *   lane is leased), or when the peer does not announce L3L2Q_FEAT_KICKS
 *   and L3L2Q_CHAN_PROTO_V1.  env.kick wakes the peer.  The clock is read
 *   once every L3L2Q_SPINS_PER_CLOCK attempts (pitfall P4); a dead or
 *   aborted peer is noticed on the same beat (P16), after every message it
 *   published has been delivered.
 *
 * Return values (0 or a negative errno, never errno):
 *   0            progress was made
 *   -EAGAIN      (try_) nothing to take, or the leased lane is full; nothing
 *                changed
 *   -EBUSY       try_lease: every lane is leased (STRICT); shutdown: a lane
 *                is still leased; a second reservation or zero-copy message
 *                on one context
 *   -EMSGSIZE    a send longer than max_message_bytes; a receive buffer
 *                smaller than the message: msg->nbytes is the size needed and
 *                the message stays at the head of its lane (pitfall P6)
 *   -EINVAL      bad argument, rejected before any shared state was touched
 *   -EPIPE       send after this side's close; receive (or call) once the
 *                peer has closed and everything it sent has been taken
 *   -ETIMEDOUT   a blocking call reached its deadline; the channel is live
 *   -EPROTO      the endpoint is poisoned (the peer broke the protocol, or a
 *                handle was mutated); its abort word and the header's
 *                fatal_status are set; see l3l2q_chan_error()
 *   -ECONNRESET  the peer aborted, set fatal_status, or died
 *   -ESHUTDOWN   the endpoint was given up (l3l2q_chan_exit()) or never bound
 *   -EOPNOTSUPP  the close handshake with a peer (or a region) without the
 *                l3l2q control block or L3L2Q_CHAN_PROTO_V1
 * Every error except -EAGAIN records {kind, op, message} in the context's
 * l3l2q_chan_last_error(); the first terminal error is kept in
 * l3l2q_chan_error().
 */
#ifndef L3L2Q_CHANNEL_CORE_H
#define L3L2Q_CHANNEL_CORE_H

#include "l3l2q/l3l2q_channel.h"
#include "l3l2q_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls one endpoint can have outstanding at once. */
#define L3L2Q_CHAN_CALLS_MAX	64u

/* The bound of a nap (see Waiting above). */
#define L3L2Q_CHAN_NAP_NS	1000000ull

/* No lane (l3l2q_chan_leased_lane() of a context without a lease). */
#define L3L2Q_CHAN_NO_LANE	0xffffffffu

/* What l3l2q_chan_want_wakeup() arms. */
#define L3L2Q_CHAN_WANT_RECV	(1u << 0)	/* messages, replies, close */
#define L3L2Q_CHAN_WANT_SPACE	(1u << 1)	/* space on the leased lane */

/* Where the channel is in this address space. */
struct l3l2q_chan_mem {
	void *ctrl;			/* the control block (4 KiB, 64-aligned),
					   or NULL: a region of upstream HDCH
					   bytes alone */
	void *hdch;			/* the HDCH bytes, 64-aligned,
					   layout.total_bytes long */
	__u64 region_id;		/* reported in errors only */
};

/* A received message.  Compared field by field on release: do not modify. */
struct l3l2q_chan_msg {
	__u64 seq;			/* as the sender wrote it */
	__u64 correlation_id;
	__u32 route;
	__u32 nbytes;			/* on -EMSGSIZE: the size needed */
	__u32 lane;			/* the peer's lane it came on */
	__u32 resv;
	__u64 pos;			/* its position in that lane */
	const void *data;		/* zero-copy only: in place; else NULL */
};

/* A zero-copy reservation: fill data[0..n), then commit n <= cap. */
struct l3l2q_chan_slot {
	void *data;			/* the descriptor's inline bytes */
	__u64 pos;
	__u32 lane;
	__u32 cap;			/* max_message_bytes */
};

/* Per context; never reset. */
struct l3l2q_chan_stats {
	__u64 sent;			/* messages made visible */
	__u64 received;			/* messages returned to this thread */
	__u64 deposited;		/* replies put into a caller's slot */
	__u64 kicks;			/* the peer had sleepers: kicked */
	__u64 kicks_suppressed;		/* it had none, or was kicked already */
	__u64 sleeps;			/* env.sleep calls */
	__u64 naps;			/* of which bounded by L3L2Q_CHAN_NAP_NS */
};

/* ---- private state: do not access these members directly ---- */

struct l3l2q_chan_txlane {		/* one of our lanes */
	__u64 tail;			/* next position (deferred included) */
	__u64 pub;			/* tail last stored */
	__u64 head;			/* the consumer's, validated */
	__u32 reserved;			/* a reservation is out */
	__u32 resv;
	unsigned char pad[32];		/* one lane per cache line */
};

struct l3l2q_chan_rxlane {		/* one of the peer's lanes */
	__u32 claim;			/* a thread of ours works on it */
	__u32 held;			/* a zero-copy message is out */
	__u64 head;			/* next position to take */
	__u64 tail;			/* the producer's, validated */
	unsigned char pad[40];
};

struct l3l2q_chan_call {		/* one call's slot */
	__u32 word;			/* generation << 2 | state */
	__u32 route;
	__u32 nbytes;
	__u32 lane;
	__u64 seq;
	__u64 pos;
	unsigned char data[L3L2Q_CHAN_INLINE_BYTES];
};

struct l3l2q_chan {
	struct l3l2q_chan_mem mem;
	struct l3l2q_chan_layout layout;	/* private copy, validated */
	struct l3l2q_env env;
	__u32 role;
	__u32 state;			/* enum l3l2q_state */
	__u64 start_pos;
	/* Shared words, located once at init. */
	struct l3l2q_chan_hdr *hdr;
	unsigned char *tx_lanes;	/* our lanes */
	unsigned char *rx_lanes;	/* the peer's lanes */
	__u32 ntx, nrx;
	struct l3l2q_chan_tx_line *own_tx, *peer_tx;
	struct l3l2q_chan_rx_line *own_rx, *peer_rx;
	__u32 *own_abort, *peer_abort;
	__u32 *own_state, *peer_state, *peer_features;
	/* Words of this side's threads (atomics, never shared memory). */
	__u64 rxs;			/* lanes to look at (bits 0..31) and
					   threads at work on lanes (32..63) */
	__u32 taking;			/* a thread takes attention */
	__u32 leases;			/* leased lanes */
	__u32 closing;			/* 0, CLOSING or CLOSED */
	__u32 rr;			/* where the next receive starts */
	__u32 peer_proto;		/* latched: the peer's proto word */
	__u32 rx_done;			/* the peer closed, all taken, acked */
	__u32 kicked_rx;		/* the peer's arming kicked last */
	__u32 kicked_tx;
	__u32 call_next;		/* where the next call slot search starts */
	__u32 resv;
	struct l3l2q_error err;		/* first terminal error */
	struct l3l2q_chan_txlane tx[L3L2Q_CHAN_LANES_MAX];
	struct l3l2q_chan_rxlane rx[L3L2Q_CHAN_LANES_MAX];
	struct l3l2q_chan_call calls[L3L2Q_CHAN_CALLS_MAX];
};

struct l3l2q_chan_ctx {
	struct l3l2q_chan *ch;
	__u32 lane;			/* leased, or L3L2Q_CHAN_NO_LANE */
	__u32 armed;			/* L3L2Q_CHAN_WANT_* armed */
	struct l3l2q_chan_msg hold;	/* the zero-copy message out */
	__u32 holding;
	__u32 resv;
	struct l3l2q_chan_stats stats;
	struct l3l2q_error last;	/* most recent error of this thread */
};

/* ---- the region and the endpoint ---- */

/*
 * Prepare a freshly allocated region: zero the HDCH bytes, write the
 * upstream header and lane headers (every head and tail the low 32 bits of
 * @start_pos) and, if mem->ctrl, the control block's line 0 (kind
 * L3L2Q_KIND_CHANNEL, @flags) and the channel's lines.  Called once by the
 * creator, before the region is shared.  @layout must come from
 * l3l2q_chan_layout() or l3l2q_chan_wire_layout().
 */
void l3l2q_chan_region_init(const struct l3l2q_chan_mem *mem,
			    const struct l3l2q_chan_layout *layout,
			    __u64 start_pos, __u32 flags);

/*
 * Bind @ch as @role's endpoint.  The header and every lane header are read
 * once and must match @layout (which must be l3l2q_chan_layout() of its
 * geometry) and @start_pos; they are never read again.  @env may be NULL.
 * Returns 0, or -EINVAL with l3l2q_chan_error() naming the field; the
 * endpoint is then unusable (-ESHUTDOWN).  Stores this side's protocol word
 * (L3L2Q_CHAN_PROTO_V1) and, with env.kick, L3L2Q_FEAT_KICKS.
 */
int l3l2q_chan_init(struct l3l2q_chan *ch, enum l3l2q_role role,
		    const struct l3l2q_chan_mem *mem,
		    const struct l3l2q_chan_layout *layout, __u64 start_pos,
		    const struct l3l2q_env *env);

/* Give the endpoint up; later calls return -ESHUTDOWN.  Idempotent. */
void l3l2q_chan_exit(struct l3l2q_chan *ch);

enum l3l2q_state l3l2q_chan_state(const struct l3l2q_chan *ch);
/* The first terminal error (kind NONE while the endpoint is healthy). */
const struct l3l2q_error *l3l2q_chan_error(const struct l3l2q_chan *ch);

/* ---- a thread's context ---- */

void l3l2q_chan_ctx_init(struct l3l2q_chan_ctx *ctx, struct l3l2q_chan *ch);
/* The most recent error of this context's calls. */
const struct l3l2q_error *l3l2q_chan_last_error(const struct l3l2q_chan_ctx *ctx);
const struct l3l2q_chan_stats *l3l2q_chan_stats(const struct l3l2q_chan_ctx *ctx);

/* ---- leases (STRICT) ---- */

/*
 * Lease a free lane of this side, trying lane @hint % lanes first (a
 * thread id spreads threads over lanes).  -EBUSY when every lane is
 * leased, -EINVAL when @ctx already has one, -EPIPE after shutdown.
 */
int l3l2q_chan_try_lease(struct l3l2q_chan_ctx *ctx, __u32 hint);
int l3l2q_chan_lease(struct l3l2q_chan_ctx *ctx, __u32 hint,
		     __u64 deadline_ns);
/*
 * Give the lane back, after making every deferred message visible.
 * -EBUSY (and the lane kept) while a reservation is out; -EINVAL without a
 * lease.
 */
int l3l2q_chan_unlease(struct l3l2q_chan_ctx *ctx);
/* The leased lane, or L3L2Q_CHAN_NO_LANE. */
__u32 l3l2q_chan_leased_lane(const struct l3l2q_chan_ctx *ctx);

/* ---- sending (on the leased lane) ---- */

/* Copy @n bytes from @buf (NULL allowed iff n == 0) into one message. */
int l3l2q_chan_try_send(struct l3l2q_chan_ctx *ctx, __u32 route,
			__u64 correlation_id, const void *buf, __u32 n);
int l3l2q_chan_send(struct l3l2q_chan_ctx *ctx, __u32 route,
		    __u64 correlation_id, const void *buf, __u32 n,
		    __u64 deadline_ns);
/*
 * As try_send, but the tail is not stored yet: l3l2q_chan_flush() makes
 * every deferred message of the lane visible with one tail store and one
 * attention check.  A full lane, a plain send or commit, unlease and
 * shutdown flush too.
 */
int l3l2q_chan_try_send_defer(struct l3l2q_chan_ctx *ctx, __u32 route,
			      __u64 correlation_id, const void *buf, __u32 n);

/*
 * Zero copy: reserve the next descriptor of the leased lane in place, fill
 * slot->data, then commit it.  One reservation at a time (-EBUSY).  A
 * commit of a slot that is not the one reserved poisons (OWNERSHIP).
 */
int l3l2q_chan_try_reserve(struct l3l2q_chan_ctx *ctx,
			   struct l3l2q_chan_slot *slot);
int l3l2q_chan_reserve(struct l3l2q_chan_ctx *ctx, __u64 deadline_ns,
		       struct l3l2q_chan_slot *slot);
int l3l2q_chan_commit(struct l3l2q_chan_ctx *ctx,
		      const struct l3l2q_chan_slot *slot, __u32 route,
		      __u64 correlation_id, __u32 n);
int l3l2q_chan_commit_defer(struct l3l2q_chan_ctx *ctx,
			    const struct l3l2q_chan_slot *slot, __u32 route,
			    __u64 correlation_id, __u32 n);
/* Store the leased lane's tail once for every deferred message. */
int l3l2q_chan_flush(struct l3l2q_chan_ctx *ctx);

/* ---- receiving (from any of the peer's lanes) ---- */

/*
 * Take the next message of some lane and copy its payload into @buf.
 * A matching reply is put into its caller's slot instead and the search
 * goes on.  -EMSGSIZE when @cap is too small: msg->nbytes is the size
 * needed, and the message stays where it was.
 */
int l3l2q_chan_try_recv(struct l3l2q_chan_ctx *ctx, void *buf, __u32 cap,
			struct l3l2q_chan_msg *msg);
int l3l2q_chan_recv(struct l3l2q_chan_ctx *ctx, void *buf, __u32 cap,
		    __u64 deadline_ns, struct l3l2q_chan_msg *msg);
/*
 * Zero copy: msg->data points at the payload in place; the message (and
 * its lane) stays this context's until l3l2q_chan_release().  One at a time
 * per context (-EBUSY).  Releasing anything but that message poisons
 * (OWNERSHIP).
 */
int l3l2q_chan_try_peek(struct l3l2q_chan_ctx *ctx, struct l3l2q_chan_msg *msg);
int l3l2q_chan_peek(struct l3l2q_chan_ctx *ctx, __u64 deadline_ns,
		    struct l3l2q_chan_msg *msg);
int l3l2q_chan_release(struct l3l2q_chan_ctx *ctx,
		       const struct l3l2q_chan_msg *msg);

/* ---- request / response ---- */

/*
 * Send @n bytes on @route with a fresh correlation id (on the leased lane)
 * and wait for the reply with that id; its payload goes to @reply, its
 * header to @msg (may be NULL).  @cap must be at least max_message_bytes,
 * so that no reply can be too large for it.  -ETIMEDOUT leaves no trace: a
 * reply that comes later is delivered by l3l2q_chan_recv().
 */
int l3l2q_chan_call(struct l3l2q_chan_ctx *ctx, __u32 route, const void *req,
		    __u32 n, void *reply, __u32 cap, __u64 deadline_ns,
		    struct l3l2q_chan_msg *msg);

/* ---- close ---- */

/*
 * CLOSE this side's direction: later sends give -EPIPE, and the peer
 * receives -EPIPE once it has taken everything sent before.  -EBUSY (and
 * nothing changed) while any lane is leased.  Idempotent.
 */
int l3l2q_chan_shutdown(struct l3l2q_chan *ch);
/* Shutdown, then wait for the peer's ACK: every message sent was taken. */
int l3l2q_chan_close(struct l3l2q_chan_ctx *ctx, __u64 deadline_ns);

/* ---- sleeping on your own ---- */

/*
 * For a thread that sleeps elsewhere (epoll, io_uring) rather than in a
 * blocking call: arm one of L3L2Q_CHAN_WANT_RECV or _SPACE (W1, W2), get the
 * word to sleep on (*offset, from the start of the region) and the value
 * seen, retry the try_ call, and only then sleep until the word differs
 * from *seen; then clear.  Arm again before every sleep.  -EINVAL for more
 * than one bit, SPACE without a lease, or a region without a control block.
 */
int l3l2q_chan_want_wakeup(struct l3l2q_chan_ctx *ctx, __u32 what,
			   __u32 *offset, __u32 *seen);
void l3l2q_chan_clear_wakeup(struct l3l2q_chan_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* L3L2Q_CHANNEL_CORE_H */
