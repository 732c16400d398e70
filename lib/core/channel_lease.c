// SPDX-License-Identifier: MIT
/*
 * Lane leases, STRICT policy: a thread owns one lane of its side while it
 * sends, and a thread that finds every lane leased fails (try_) or waits
 * for one to be given back.  The lease bitmap is this side's own memory;
 * taking a lane is one atomic OR, so sending needs no lock.
 *
 * A lease and shutdown exclude each other with a store/load pair on two
 * words (leases, closing), each followed by a full fence: either the
 * lease sees CLOSING and backs off, or shutdown sees the lease and fails
 * with -EBUSY.  So no send can follow a published CLOSE.
 */
#include "channel_internal.h"

int l3l2q_chan_try_lease(struct l3l2q_chan_ctx *ctx, __u32 hint)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 n = ch->ntx, k, i, bit;
	int ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_LEASE);

	if (ret)
		return ret;
	if (ctx->lane != L3L2Q_CHAN_NO_LANE)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_LEASE,
					  "this context already leases lane ",
					  ctx->lane, "", 0, NULL);
	for (k = 0; k < n; k++) {
		i = (hint + k) % n;
		bit = 1u << i;
		if (l3l2q_load_once_u32(&ch->leases) & bit)
			continue;
		if (l3l2q__fetch_or32(&ch->leases, bit) & bit)
			continue;
		/* Pairs with the fence in l3l2q_chan_shutdown(). */
		l3l2q_full_fence();
		if (l3l2q__load32(&ch->closing)) {
			l3l2q__fetch_and32(&ch->leases, ~bit);
			return l3l2q__chan_reject(ctx, EPIPE, L3L2Q_ERR_STOPPED,
						  L3L2Q_EOP_CHAN_LEASE,
						  "this side has shut the channel down",
						  0, NULL, 0, NULL);
		}
		ctx->lane = i;
		return 0;
	}
	return l3l2q__chan_reject(ctx, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
				  L3L2Q_EOP_CHAN_LEASE, "all ", n,
				  " lanes are leased (policy STRICT)", 0, NULL);
}

struct lease_args {
	struct l3l2q_chan_ctx *ctx;
	__u32 hint;
};

static int lease_once(void *arg, int *local)
{
	struct lease_args *a = arg;
	int ret = l3l2q_chan_try_lease(a->ctx, a->hint);

	if (ret != -EBUSY)
		return ret;
	*local = 1;		/* only a thread of this side can end it */
	return -EAGAIN;
}

int l3l2q_chan_lease(struct l3l2q_chan_ctx *ctx, __u32 hint,
		     __u64 deadline_ns)
{
	struct lease_args a = { ctx, hint };

	return l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_LEASE, deadline_ns,
				lease_once, &a, L3L2Q__CHAN_WAIT_LOCAL);
}

int l3l2q_chan_unlease(struct l3l2q_chan_ctx *ctx)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 i = ctx->lane;
	int ret = 0, live;

	if (i == L3L2Q_CHAN_NO_LANE)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_LEASE,
					  "this context leases no lane", 0,
					  NULL, 0, NULL);
	live = l3l2q_load_once_u32(&ch->state) == L3L2Q_STATE_LIVE;
	/*
	 * A reservation can still be committed while the endpoint is live;
	 * once it is not (poisoned, the peer gone, released), no commit will
	 * ever take it, so it is dropped with the lane.
	 */
	if (ch->tx[i].reserved && live)
		return l3l2q__chan_reject(ctx, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_LEASE,
					  "a reservation is out on lane ", i,
					  "", 0, NULL);
	ch->tx[i].reserved = 0;
	/* Deferred messages become visible before the lane changes hands. */
	if (live)
		ret = l3l2q__chan_publish(ctx, L3L2Q_EOP_CHAN_LEASE);
	if (ctx->armed & L3L2Q_CHAN_WANT_SPACE) {
		l3l2q__fetch_and32(&ch->own_tx->want, ~(1u << i));
		ctx->armed &= ~L3L2Q_CHAN_WANT_SPACE;
	}
	ctx->lane = L3L2Q_CHAN_NO_LANE;
	/* Release: the next holder sees this lane's private state. */
	l3l2q__fetch_and32(&ch->leases, ~(1u << i));
	return ret;
}
