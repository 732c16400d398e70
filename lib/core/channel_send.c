// SPDX-License-Identifier: MIT
/*
 * Sending on the leased lane: copy and zero-copy forms, deferred tails,
 * and raising the consumer's attention.
 *
 *   producer (one thread: the lane's leaseholder)
 *     write the descriptor: fields, payload, seq = position + 1 (P7)
 *     A1 store-release the tail (publish(), once per batch)
 *     A2 full fence, A3 flip ready's bit if the consumer has taken it
 *     (raise_attention(), see uapi/l3l2q_channel.h); after a flip, P2-P4
 *
 * The consumer's head is loaded with acquire order when the lane looks
 * full, checked (it may not pass the published tail nor move back) and only
 * then trusted.
 */
#include "channel_internal.h"

static struct l3l2q_chan_lane *tx_lane(const struct l3l2q_chan *ch, __u32 i)
{
	return l3l2q__chan_lane(ch, ch->tx_lanes, i);
}

/* A3 (after A1): raise lane @i's attention unless it is raised already. */
static void raise_attention(struct l3l2q_chan_ctx *ctx, __u32 i)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 bit = 1u << i, taken, ready;

	if (!ch->own_tx)
		return;		/* no control block: the consumer scans */
	/* A2: pairs with the consumer's fence after it claims a lane (C3). */
	l3l2q_full_fence();
	taken = l3l2q_load_once_u32(&ch->peer_rx->taken);
	/* Only this thread flips this bit, so the load cannot be stale. */
	ready = l3l2q_load_once_u32(&ch->own_tx->ready);
	if ((ready ^ taken) & bit)
		return;		/* raised; whoever raised it woke the peer */
	l3l2q__fetch_xor32(&ch->own_tx->ready, bit);
	l3l2q__chan_wake_receivers(ctx);	/* P2-P4 */
}

int l3l2q__chan_publish(struct l3l2q_chan_ctx *ctx, __u32 op)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_txlane *t = &ch->tx[ctx->lane];

	(void)op;
	if (t->tail == t->pub)
		return 0;
	ctx->stats.sent += t->tail - t->pub;
	/* A1: every descriptor written before, then the tail. */
	l3l2q_store_release_u32(&tx_lane(ch, ctx->lane)->tail, (__u32)t->tail);
	t->pub = t->tail;
	raise_attention(ctx, ctx->lane);
	return 0;
}

/*
 * 0 when the lane has a free descriptor, -EAGAIN when it is full (after
 * making deferred messages visible, so a blocking send never waits on
 * space its own batch holds), or poison for an impossible head.
 */
static int make_room(struct l3l2q_chan_ctx *ctx, __u32 op)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_txlane *t = &ch->tx[ctx->lane];
	__u32 depth = ch->layout.lane_depth, h, used;

	if (t->tail - t->head < depth)
		return 0;
	/* Acquire: pairs with the consumer's release of the head. */
	h = l3l2q_load_acquire_u32(&tx_lane(ch, ctx->lane)->head);
	used = (__u32)t->pub - h;
	if (used > depth || t->pub - used < t->head)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					  "the consumer's head ", h,
					  " is past the tail or moved back, lane ",
					  ctx->lane, "");
	t->head = t->pub - used;
	if (t->tail - t->head < depth)
		return 0;
	l3l2q__chan_publish(ctx, op);
	return -EAGAIN;
}

/* What every send checks first; nothing shared is touched on failure. */
static int send_check(struct l3l2q_chan_ctx *ctx, __u32 op)
{
	int ret = l3l2q__chan_check(ctx, op);

	if (ret)
		return ret;
	if (ctx->lane == L3L2Q_CHAN_NO_LANE)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  op, "sending needs a leased lane", 0,
					  NULL, 0, NULL);
	if (ctx->ch->tx[ctx->lane].reserved)
		return l3l2q__chan_reject(ctx, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					  op, "a reservation is out on lane ",
					  ctx->lane, "", 0, NULL);
	return 0;
}

static int check_size(struct l3l2q_chan_ctx *ctx, __u32 n, __u32 op)
{
	__u32 max = ctx->ch->layout.max_message_bytes;

	if (n > max)
		return l3l2q__chan_reject(ctx, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
					  op, "a message of ", n,
					  " bytes is larger than max_message_bytes ",
					  max, "");
	return 0;
}

/* The descriptor fields other than the payload, then seq (validity). */
static void write_desc(struct l3l2q_chan_desc *d, __u64 pos, __u32 route,
		       __u64 cid, __u32 n)
{
	d->flags = 0;
	d->payload_bytes = n;
	d->correlation_id = cid;
	d->route = route;
	d->resv0 = 0;
	d->seq = pos + 1;	/* pitfall P7: position + 1, checked */
}

static int send_one(struct l3l2q_chan_ctx *ctx, __u32 route, __u64 cid,
		    const void *buf, __u32 n, int defer)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_txlane *t;
	struct l3l2q_chan_desc *d;
	int ret = send_check(ctx, L3L2Q_EOP_CHAN_SEND);

	if (ret)
		return ret;
	if (!buf && n)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_SEND,
					  "buf is NULL but n is ", n, "", 0,
					  NULL);
	ret = check_size(ctx, n, L3L2Q_EOP_CHAN_SEND);
	if (!ret)
		ret = make_room(ctx, L3L2Q_EOP_CHAN_SEND);
	if (ret)
		return ret;
	t = &ch->tx[ctx->lane];
	d = l3l2q__chan_desc(ch, ch->tx_lanes, ctx->lane, t->tail);
	if (n)
		l3l2q__memcpy(d->data, buf, n);
	write_desc(d, t->tail, route, cid, n);
	t->tail++;
	return defer ? 0 : l3l2q__chan_publish(ctx, L3L2Q_EOP_CHAN_SEND);
}

int l3l2q_chan_try_send(struct l3l2q_chan_ctx *ctx, __u32 route,
			__u64 correlation_id, const void *buf, __u32 n)
{
	return send_one(ctx, route, correlation_id, buf, n, 0);
}

int l3l2q_chan_try_send_defer(struct l3l2q_chan_ctx *ctx, __u32 route,
			      __u64 correlation_id, const void *buf, __u32 n)
{
	return send_one(ctx, route, correlation_id, buf, n, 1);
}

struct send_args {
	struct l3l2q_chan_ctx *ctx;
	__u32 route, n;
	__u64 cid;
	const void *buf;
	struct l3l2q_chan_slot *slot;
};

static int send_once(void *arg, int *local)
{
	struct send_args *a = arg;

	(void)local;
	return l3l2q_chan_try_send(a->ctx, a->route, a->cid, a->buf, a->n);
}

int l3l2q_chan_send(struct l3l2q_chan_ctx *ctx, __u32 route,
		    __u64 correlation_id, const void *buf, __u32 n,
		    __u64 deadline_ns)
{
	struct send_args a = { ctx, route, n, correlation_id, buf, NULL };

	return l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_SEND, deadline_ns,
				send_once, &a, L3L2Q__CHAN_WAIT_SPACE);
}

int l3l2q_chan_try_reserve(struct l3l2q_chan_ctx *ctx,
			   struct l3l2q_chan_slot *slot)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_txlane *t;
	int ret = send_check(ctx, L3L2Q_EOP_CHAN_RESERVE);

	if (ret)
		return ret;
	if (!slot)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_RESERVE,
					  "slot is NULL", 0, NULL, 0, NULL);
	ret = make_room(ctx, L3L2Q_EOP_CHAN_RESERVE);
	if (ret)
		return ret;
	t = &ch->tx[ctx->lane];
	slot->data = l3l2q__chan_desc(ch, ch->tx_lanes, ctx->lane, t->tail)->data;
	slot->pos = t->tail;
	slot->lane = ctx->lane;
	slot->cap = ch->layout.max_message_bytes;
	t->reserved = 1;
	return 0;
}

static int reserve_once(void *arg, int *local)
{
	struct send_args *a = arg;

	(void)local;
	return l3l2q_chan_try_reserve(a->ctx, a->slot);
}

int l3l2q_chan_reserve(struct l3l2q_chan_ctx *ctx, __u64 deadline_ns,
		       struct l3l2q_chan_slot *slot)
{
	struct send_args a = { ctx, 0, 0, 0, NULL, slot };

	return l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_RESERVE, deadline_ns,
				reserve_once, &a, L3L2Q__CHAN_WAIT_SPACE);
}

static int commit(struct l3l2q_chan_ctx *ctx,
		  const struct l3l2q_chan_slot *slot, __u32 route, __u64 cid,
		  __u32 n, int defer)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q_chan_txlane *t;
	struct l3l2q_chan_desc *d;
	int ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_COMMIT);

	if (ret)
		return ret;
	if (!slot)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_COMMIT,
					  "slot is NULL", 0, NULL, 0, NULL);
	if (ctx->lane == L3L2Q_CHAN_NO_LANE || !ch->tx[ctx->lane].reserved)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_OWNERSHIP,
					  L3L2Q_EOP_CHAN_COMMIT,
					  "commit without a reservation", 0,
					  NULL, 0, NULL);
	t = &ch->tx[ctx->lane];
	d = l3l2q__chan_desc(ch, ch->tx_lanes, ctx->lane, t->tail);
	/* Every field of the handle against our own record (pitfall P2). */
	if (slot->lane != ctx->lane || slot->pos != t->tail ||
	    slot->data != (void *)d->data ||
	    slot->cap != ch->layout.max_message_bytes)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_OWNERSHIP,
					  L3L2Q_EOP_CHAN_COMMIT,
					  "commit of a slot that is not the one reserved (position ",
					  slot->pos, ")", 0, NULL);
	ret = check_size(ctx, n, L3L2Q_EOP_CHAN_COMMIT);
	if (ret)
		return ret;		/* the reservation stays */
	write_desc(d, t->tail, route, cid, n);
	t->tail++;
	t->reserved = 0;
	return defer ? 0 : l3l2q__chan_publish(ctx, L3L2Q_EOP_CHAN_COMMIT);
}

int l3l2q_chan_commit(struct l3l2q_chan_ctx *ctx,
		      const struct l3l2q_chan_slot *slot, __u32 route,
		      __u64 correlation_id, __u32 n)
{
	return commit(ctx, slot, route, correlation_id, n, 0);
}

int l3l2q_chan_commit_defer(struct l3l2q_chan_ctx *ctx,
			    const struct l3l2q_chan_slot *slot, __u32 route,
			    __u64 correlation_id, __u32 n)
{
	return commit(ctx, slot, route, correlation_id, n, 1);
}

int l3l2q_chan_flush(struct l3l2q_chan_ctx *ctx)
{
	int ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_FLUSH);

	if (ret)
		return ret;
	if (ctx->lane == L3L2Q_CHAN_NO_LANE)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_FLUSH,
					  "flushing needs a leased lane", 0,
					  NULL, 0, NULL);
	return l3l2q__chan_publish(ctx, L3L2Q_EOP_CHAN_FLUSH);
}
