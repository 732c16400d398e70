// SPDX-License-Identifier: MIT
/*
 * Receiving from the peer's lanes, by any number of this side's threads.
 *
 * Finding lanes: the attention words (C1, C2 of uapi/l3l2q_channel.h)
 * say which lanes the peer published on since the side last looked; a
 * thread that takes attention marks those lanes pending.  Against a peer
 * that raises no attention (an upstream one) every lane is looked at.
 *
 * Taking: a thread claims one lane at a time (a local compare-and-swap; a
 * claimed lane is skipped, never waited for), fences (C3), loads the tail
 * with acquire order and checks it, takes messages in order, stores the
 * head with release order per message, and lets the lane go, marking it
 * pending again if messages are left.
 *
 * One word of this side, rxs, holds the pending lanes (bits 0..31) and the
 * number of threads at work on lanes (bits 32..63: claims, and takers of
 * attention from before their flip until they have marked the lanes).  At
 * every moment a message that has arrived is under raised attention, or
 * its lane is pending, or a thread at work has it: so a thread that finds
 * no attention and then rxs == 0 knows that only a new publish (which
 * kicks it, once armed) can give it something, and may sleep until its
 * deadline.  With rxs != 0 it naps instead: another thread of this side
 * may leave it messages.
 *
 * Every descriptor is read once into a private copy and checked before
 * use (pitfalls P5, P6, P7); a bad one poisons.  A message larger than the
 * caller's buffer stays at the head of its lane (-EMSGSIZE, P6).
 */
#include "channel_internal.h"

#define RXS_WORKER	((__u64)1 << 32)

static struct l3l2q_chan_lane *rx_lane(const struct l3l2q_chan *ch, __u32 i)
{
	return l3l2q__chan_lane(ch, ch->rx_lanes, i);
}

/* rxs = ((rxs | set) & ~clear) + add, in one atomic step. */
static void rxs_update(struct l3l2q_chan *ch, __u64 set, __u64 clear,
		       __u64 add)
{
	__u64 v = l3l2q__load64(&ch->rxs);

	while (!l3l2q__cas64(&ch->rxs, &v, ((v | set) & ~clear) + add))
		;
}

/*
 * C1, C2: take the attention the peer raised and mark those lanes.
 * Returns 1 when another thread of this side is taking it right now.
 *
 * One thread at a time takes attention (ch->taking, a try-lock: nobody
 * waits for it).  A compare-and-swap on taken is not enough with several
 * takers: a lane's bit can go 0 -> 1 -> 0 between a thread's read of
 * taken and its CAS, which then succeeds with a stale ready and gives the
 * attention back, where no producer announces it (tests/channel_wakeup.pml,
 * BUG_CAS_TAKE and BUG_STALE_READY).  The sole taker reads taken, then
 * ready: ready's bit flips only while it equals taken's, so what differs
 * at the read still differs at the flip.  It counts itself at work before
 * it takes the lock and until the lanes are marked, so a thread that finds
 * the lock taken, or no attention left, knows someone is at work.
 */
static int take_attention(struct l3l2q_chan *ch)
{
	__u32 mask = l3l2q__lane_mask(ch->nrx), r, t, attn;

	/* A look without the lock: most calls find nothing. */
	t = l3l2q__load32(&ch->own_rx->taken);
	r = l3l2q_load_acquire_u32(&ch->peer_tx->ready);	/* C1 */
	if (!((r ^ t) & mask))
		return 0;
	rxs_update(ch, 0, 0, RXS_WORKER);
	if (!l3l2q__cas32(&ch->taking, 0, 1)) {
		rxs_update(ch, 0, 0, -RXS_WORKER);
		return 1;	/* the taker is at work: it counts */
	}
	t = l3l2q__load32(&ch->own_rx->taken);
	r = l3l2q_load_acquire_u32(&ch->peer_tx->ready);	/* C1 */
	attn = (r ^ t) & mask;
	if (attn)	/* C2: taken's bits become ready's */
		l3l2q__fetch_xor32(&ch->own_rx->taken, attn);
	/* Marked pending in the same step as no longer at work. */
	rxs_update(ch, attn, 0, -RXS_WORKER);
	l3l2q_store_release_u32(&ch->taking, 0);
	return 0;
}

int l3l2q__chan_claim(struct l3l2q_chan *ch, __u32 i)
{
	__u32 *c = &ch->rx[i].claim;

	if (l3l2q_load_once_u32(c) || !l3l2q__cas32(c, 0, 1))
		return 0;
	/* At work on it before it stops being pending. */
	rxs_update(ch, 0, 1ull << i, RXS_WORKER);
	/* C3: pairs with the producer's A2 (uapi/l3l2q_channel.h). */
	l3l2q_full_fence();
	return 1;
}

void l3l2q__chan_unclaim(struct l3l2q_chan *ch, __u32 i)
{
	struct l3l2q_chan_rxlane *l = &ch->rx[i];
	int more = l->head < l->tail;

	/* Release: the next claimer sees head and tail as we left them. */
	l3l2q_store_release_u32(&l->claim, 0);
	/* Pending again (if messages are left) before we stop being at work. */
	rxs_update(ch, more ? 1ull << i : 0, 0, -RXS_WORKER);
}

int l3l2q__chan_refresh_tail(struct l3l2q_chan_ctx *ctx, __u32 i, __u32 op)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_rxlane *l = &ch->rx[i];
	__u32 t, avail;

	/* Acquire: pairs with the producer's release of the tail (A1). */
	t = l3l2q_load_acquire_u32(&rx_lane(ch, i)->tail);
	avail = t - (__u32)l->head;
	if (avail > ch->layout.lane_depth || l->head + avail < l->tail)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					  "the producer's tail ", t,
					  " is more than lane_depth past the head or moved back, lane ",
					  i, "");
	l->tail = l->head + avail;
	return 0;
}

/* One read of the descriptor's 32-byte header, then every rule (P5-P7). */
static int read_desc(struct l3l2q_chan_ctx *ctx, __u32 i, __u64 pos,
		     struct l3l2q_chan_desc *d, __u32 op)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u64 want;

	l3l2q__memcpy(d, l3l2q__chan_desc(ch, ch->rx_lanes, i, pos),
		      __builtin_offsetof(struct l3l2q_chan_desc, data));
	if (d->flags || d->resv0)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					  "descriptor flags ", d->flags,
					  " (or resv0) is not 0, lane ", i, "");
	/* Never clamped: a size past the limit is the peer's error (P6). */
	if (d->payload_bytes > ch->layout.max_message_bytes)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					  "payload_bytes ", d->payload_bytes,
					  " is larger than max_message_bytes ",
					  ch->layout.max_message_bytes, "");
	/* The sender's rule, judged after the tail was acquired (P7). */
	want = l3l2q__chan_peer_v1(ch) ? pos + 1 : (__u64)(__u32)pos;
	if (d->seq != want)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					  "seq ", d->seq,
					  " breaks the sequence rule at lane position ",
					  pos, "");
	return 0;
}

/* Give the head message of lane @i back to its producer. */
static void advance(struct l3l2q_chan_ctx *ctx, __u32 i)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_rxlane *l = &ch->rx[i];

	l->head++;
	/* P1 of a space wait: release, the descriptor is read by now. */
	l3l2q_store_release_u32(&rx_lane(ch, i)->head, (__u32)l->head);
	l3l2q__chan_wake_producer(ctx, i);
}

static void fill_msg(struct l3l2q_chan_msg *m, const struct l3l2q_chan_desc *d,
		     __u32 i, __u64 pos, const void *data)
{
	m->seq = d->seq;
	m->correlation_id = d->correlation_id;
	m->route = d->route;
	m->nbytes = d->payload_bytes;
	m->lane = i;
	m->resv = 0;
	m->pos = pos;
	m->data = data;
}

/*
 * Work on claimed lane @i: 0 when this thread got what it came for (a
 * message, or in RX_REPLIES its reply), -EAGAIN when the lane has nothing
 * for it, or an error.  The claim is given back except by a zero-copy peek.
 */
static int take_from_lane(struct l3l2q_chan_ctx *ctx, struct l3l2q__chan_rx *rx,
			  __u32 i, int *local)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_rxlane *l = &ch->rx[i];
	struct l3l2q_chan_desc d;
	const unsigned char *payload;
	int ret = l3l2q__chan_refresh_tail(ctx, i, rx->op);

	while (!ret && l->head < l->tail) {
		ret = read_desc(ctx, i, l->head, &d, rx->op);
		if (ret)
			break;
		payload = l3l2q__chan_desc(ch, ch->rx_lanes, i, l->head)->data;
		if (d.route == L3L2Q_CHAN_ROUTE_REPLY &&
		    l3l2q__chan_deposit(ch, &d, payload, i, l->head)) {
			advance(ctx, i);
			ctx->stats.deposited++;
			if (rx->mode == L3L2Q__CHAN_RX_REPLIES &&
			    l3l2q__chan_call_done(ch, rx->call, rx->call_gen)) {
				l3l2q__chan_unclaim(ch, i);
				return 0;
			}
			continue;
		}
		if (rx->mode == L3L2Q__CHAN_RX_REPLIES) {
			/* Not a reply: it waits for l3l2q_chan_recv(). */
			*local = 1;
			break;
		}
		if (rx->mode == L3L2Q__CHAN_RX_PEEK) {
			fill_msg(rx->msg, &d, i, l->head, payload);
			ctx->hold = *rx->msg;
			ctx->holding = 1;
			l->held = 1;
			ctx->stats.received++;
			return 0;	/* the lane stays claimed */
		}
		fill_msg(rx->msg, &d, i, l->head, NULL);
		if (d.payload_bytes > rx->cap) {
			l3l2q__chan_unclaim(ch, i);
			return l3l2q__chan_reject(ctx, EMSGSIZE,
						  L3L2Q_ERR_BAD_ARGUMENT, rx->op,
						  "a message of ", d.payload_bytes,
						  " bytes does not fit the buffer (it stays queued), cap ",
						  rx->cap, "");
		}
		if (d.payload_bytes)
			l3l2q__memcpy(rx->buf, payload, d.payload_bytes);
		advance(ctx, i);
		ctx->stats.received++;
		l3l2q__chan_unclaim(ch, i);
		return 0;
	}
	l3l2q__chan_unclaim(ch, i);
	return ret ? ret : -EAGAIN;
}

int l3l2q__chan_rx_attempt(struct l3l2q_chan_ctx *ctx,
			   struct l3l2q__chan_rx *rx, int *local)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 n = ch->nrx, mask = l3l2q__lane_mask(n), cand, start, k, i;
	int ret = l3l2q__chan_check(ctx, rx->op), v1, pass;

	if (ret)
		return ret;
	if (rx->mode == L3L2Q__CHAN_RX_REPLIES &&
	    l3l2q__chan_call_done(ch, rx->call, rx->call_gen))
		return 0;
	if (l3l2q__load32(&ch->rx_done))
		return l3l2q__chan_reject(ctx, EPIPE, L3L2Q_ERR_STOPPED, rx->op,
					  "the peer closed the channel and everything it sent was taken",
					  0, NULL, 0, NULL);
	v1 = l3l2q__chan_peer_v1(ch);
	if (v1 && take_attention(ch))
		*local = 1;
	for (pass = 0; pass < 2; pass++) {
		/* An upstream peer raises no attention: look at every lane. */
		cand = v1 ? (__u32)l3l2q__load64(&ch->rxs) & mask : mask;
		start = l3l2q__fetch_add32(&ch->rr, 1);
		for (k = 0; cand && k < n; k++) {
			i = (start + k) % n;
			if (!(cand & (1u << i)))
				continue;
			if (!l3l2q__chan_claim(ch, i)) {
				*local = 1;
				continue;
			}
			ret = take_from_lane(ctx, rx, i, local);
			if (ret != -EAGAIN)
				return ret;
			if (rx->mode == L3L2Q__CHAN_RX_REPLIES &&
			    l3l2q__chan_call_done(ch, rx->call, rx->call_gen))
				return 0;
		}
		if (*local || !v1)
			break;
		/* Nothing here: has the peer closed, and is it all taken? */
		ret = l3l2q__chan_try_drained(ctx, rx->op, local);
		if (ret == -EAGAIN)
			break;
		if (ret != 1)
			return ret;
		/* A lane still had messages: it is pending now. */
	}
	/*
	 * Read after the attention words (take_attention() above): pending
	 * lanes or threads at work mean this side may yet find messages
	 * that no publish will announce, so a wait must nap, not sleep.
	 */
	if (l3l2q__load64(&ch->rxs))
		*local = 1;
	return -EAGAIN;
}

int l3l2q_chan_try_recv(struct l3l2q_chan_ctx *ctx, void *buf, __u32 cap,
			struct l3l2q_chan_msg *msg)
{
	struct l3l2q__chan_rx rx = {
		.mode = L3L2Q__CHAN_RX_COPY, .buf = buf, .cap = cap, .msg = msg,
		.op = L3L2Q_EOP_CHAN_RECV, .ctx = ctx,
	};
	int local = 0;

	if (!msg || (!buf && cap))
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_RECV,
					  "msg is NULL, or buf is NULL with cap ",
					  cap, "", 0, NULL);
	return l3l2q__chan_rx_attempt(ctx, &rx, &local);
}

static int rx_once(void *arg, int *local)
{
	struct l3l2q__chan_rx *rx = arg;

	return l3l2q__chan_rx_attempt(rx->ctx, rx, local);
}

int l3l2q_chan_recv(struct l3l2q_chan_ctx *ctx, void *buf, __u32 cap,
		    __u64 deadline_ns, struct l3l2q_chan_msg *msg)
{
	struct l3l2q__chan_rx rx = {
		.mode = L3L2Q__CHAN_RX_COPY, .buf = buf, .cap = cap, .msg = msg,
		.op = L3L2Q_EOP_CHAN_RECV, .ctx = ctx,
	};

	if (!msg || (!buf && cap))
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_RECV,
					  "msg is NULL, or buf is NULL with cap ",
					  cap, "", 0, NULL);
	return l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_RECV, deadline_ns, rx_once,
				&rx, L3L2Q__CHAN_WAIT_RECV);
}

static int peek_check(struct l3l2q_chan_ctx *ctx, struct l3l2q_chan_msg *msg)
{
	if (!msg)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_PEEK, "msg is NULL", 0,
					  NULL, 0, NULL);
	if (ctx->holding)
		return l3l2q__chan_reject(ctx, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_PEEK,
					  "this context holds a zero-copy message already (lane ",
					  ctx->hold.lane, ")", 0, NULL);
	return 0;
}

int l3l2q_chan_try_peek(struct l3l2q_chan_ctx *ctx, struct l3l2q_chan_msg *msg)
{
	struct l3l2q__chan_rx rx = {
		.mode = L3L2Q__CHAN_RX_PEEK, .msg = msg,
		.op = L3L2Q_EOP_CHAN_PEEK, .ctx = ctx,
	};
	int local = 0, ret = peek_check(ctx, msg);

	return ret ? ret : l3l2q__chan_rx_attempt(ctx, &rx, &local);
}

int l3l2q_chan_peek(struct l3l2q_chan_ctx *ctx, __u64 deadline_ns,
		    struct l3l2q_chan_msg *msg)
{
	struct l3l2q__chan_rx rx = {
		.mode = L3L2Q__CHAN_RX_PEEK, .msg = msg,
		.op = L3L2Q_EOP_CHAN_PEEK, .ctx = ctx,
	};
	int ret = peek_check(ctx, msg);

	if (ret)
		return ret;
	return l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_PEEK, deadline_ns, rx_once,
				&rx, L3L2Q__CHAN_WAIT_RECV);
}

static int same_msg(const struct l3l2q_chan_msg *a,
		    const struct l3l2q_chan_msg *b)
{
	return a->seq == b->seq && a->correlation_id == b->correlation_id &&
	       a->route == b->route && a->nbytes == b->nbytes &&
	       a->lane == b->lane && a->resv == b->resv && a->pos == b->pos &&
	       a->data == b->data;
}

int l3l2q_chan_release(struct l3l2q_chan_ctx *ctx,
		       const struct l3l2q_chan_msg *msg)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 i = ctx->hold.lane;
	int ret;

	/* Every field against our own copy (pitfall P2). */
	if (!ctx->holding || !msg || !same_msg(msg, &ctx->hold))
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_OWNERSHIP,
					  L3L2Q_EOP_CHAN_RELEASE,
					  "release of a message this context does not hold",
					  0, NULL, 0, NULL);
	ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_RELEASE);
	if (!ret)
		advance(ctx, i);
	ch->rx[i].held = 0;
	ctx->holding = 0;
	l3l2q__chan_unclaim(ch, i);	/* even when poisoned: ours to give */
	return ret;
}
