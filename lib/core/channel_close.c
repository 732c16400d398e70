// SPDX-License-Identifier: MIT
/*
 * The close handshake, per direction: CLOSE -> drain -> ACK
 * (uapi/l3l2q_channel.h).  The sender publishes CLOSE only when no lane is
 * leased, so its tails are final; the receiver acks once it has taken
 * everything up to them; the closer's l3l2q_chan_close() returns when it
 * sees the ack.
 */
#include "channel_internal.h"

#define CLOSING		1u
#define CLOSED		2u

int l3l2q_chan_shutdown(struct l3l2q_chan *ch)
{
	enum l3l2q_state s = l3l2q_chan_state(ch);

	if (s == L3L2Q_STATE_POISONED_LOCAL)
		return -EPROTO;
	if (s == L3L2Q_STATE_POISONED_REMOTE)
		return -ECONNRESET;
	if (s != L3L2Q_STATE_LIVE)
		return -ESHUTDOWN;
	if (!ch->own_tx)
		return -EOPNOTSUPP;
	if (l3l2q__load32(&ch->closing) == CLOSED)
		return 0;
	if (!l3l2q__cas32(&ch->closing, 0, CLOSING))
		return l3l2q__load32(&ch->closing) == CLOSED ? 0 : -EBUSY;
	/* Pairs with the fence in l3l2q_chan_try_lease(). */
	l3l2q_full_fence();
	if (l3l2q__load32(&ch->leases)) {
		l3l2q_store_release_u32(&ch->closing, 0);
		return -EBUSY;
	}
	/* No lease, so no deferred message: the tails are final. */
	l3l2q_store_release_u32(&ch->own_tx->close, L3L2Q_CHAN_CLOSED);
	/* The peer's receivers sleep on our TX bell. */
	l3l2q__chan_ring(ch, &ch->own_tx->bell, NULL);
	l3l2q_store_release_u32(&ch->closing, CLOSED);
	return 0;
}

static int ack_once(void *arg, int *local)
{
	struct l3l2q_chan_ctx *ctx = arg;
	struct l3l2q_chan *ch = ctx->ch;
	__u32 a;
	int ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_CLOSE);

	(void)local;
	if (ret)
		return ret;
	/* Acquire: everything the peer did before it acked. */
	a = l3l2q_load_acquire_u32(&ch->peer_rx->ack);
	if (a == L3L2Q_CHAN_ACKED)
		return 0;
	if (a)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR,
					  L3L2Q_EOP_CHAN_CLOSE,
					  "the peer's ack word ", a,
					  " is neither 0 nor ACKED", 0, NULL);
	return -EAGAIN;
}

int l3l2q_chan_close(struct l3l2q_chan_ctx *ctx, __u64 deadline_ns)
{
	struct l3l2q_chan *ch = ctx->ch;
	int ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_CLOSE);

	if (ret)
		return ret;
	if (!ch->own_tx || !l3l2q__chan_peer_v1(ch))
		return l3l2q__chan_reject(ctx, EOPNOTSUPP, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_CLOSE,
					  "the peer does not take part in the close handshake",
					  0, NULL, 0, NULL);
	ret = l3l2q_chan_shutdown(ch);
	if (ret == -EBUSY)
		return l3l2q__chan_reject(ctx, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_CLOSE,
					  "a lane is still leased (unlease first)",
					  0, NULL, 0, NULL);
	if (ret)	/* the state changed under us: record why */
		return l3l2q__chan_check_slow(ctx, L3L2Q_EOP_CHAN_CLOSE);
	return l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_CLOSE, deadline_ns,
				ack_once, ctx, L3L2Q__CHAN_WAIT_ACK);
}

int l3l2q__chan_try_drained(struct l3l2q_chan_ctx *ctx, __u32 op, int *local)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 c, i;
	int ret, more;

	if (!ch->peer_tx || !l3l2q__chan_peer_v1(ch))
		return -EAGAIN;
	/* Acquire: the tails read below are the final ones. */
	c = l3l2q_load_acquire_u32(&ch->peer_tx->close);
	if (!c)
		return -EAGAIN;
	if (c != L3L2Q_CHAN_CLOSED)
		return l3l2q__chan_poison(ctx, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
					  "the peer's close word ", c,
					  " is neither 0 nor CLOSED", 0, NULL);
	for (i = 0; i < ch->nrx; i++) {
		if (!l3l2q__chan_claim(ch, i)) {
			*local = 1;
			return -EAGAIN;
		}
		ret = l3l2q__chan_refresh_tail(ctx, i, op);
		more = ch->rx[i].head < ch->rx[i].tail;
		l3l2q__chan_unclaim(ch, i);
		if (ret)
			return ret;
		if (more)
			return 1;	/* pending now: take it first */
	}
	if (l3l2q__cas32(&ch->rx_done, 0, 1)) {
		l3l2q_store_release_u32(&ch->own_rx->ack, L3L2Q_CHAN_ACKED);
		/* The closer sleeps on our RX bell. */
		l3l2q__chan_ring(ch, &ch->own_rx->bell, &ctx->stats);
	}
	return l3l2q__chan_reject(ctx, EPIPE, L3L2Q_ERR_STOPPED, op,
				  "the peer closed the channel and everything it sent was taken",
				  0, NULL, 0, NULL);
}
