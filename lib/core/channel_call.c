// SPDX-License-Identifier: MIT
/*
 * Request/response: the call table and l3l2q_chan_call().
 *
 * A call takes a free slot of this side's table and sends its request with
 * correlation id generation << 8 | slot.  Any thread of this side that
 * takes a message on L3L2Q_CHAN_ROUTE_REPLY whose id names a waiting slot
 * puts the reply into that slot (deposit) and goes on; the caller takes it
 * from there.  Each slot's state and generation share one word, so a
 * deposit can only hit the call the id was made for:
 *
 *   FREE --alloc (caller, gen + 1)--> WAITING --deposit (any thread)-->
 *   FILLING --copy done--> DONE --taken (caller)--> FREE
 *   WAITING --caller gives up--> FREE (a late reply then names no call and
 *   is delivered by l3l2q_chan_recv(): none is lost, none delivered twice)
 *
 * The reply is copied into the slot (not into the caller's buffer), so a
 * caller that gives up never has its memory written after it returned.
 */
#include "channel_internal.h"

#define ST_BITS		2
#define GEN_MASK	((1u << 30) - 1)
#define SLOT_MASK	0xffu

static __u32 word(__u32 gen, __u32 state)
{
	return gen << ST_BITS | state;
}

int l3l2q__chan_call_done(struct l3l2q_chan *ch, __u32 s, __u32 gen)
{
	/* Acquire: pairs with the depositor's release of DONE. */
	return l3l2q_load_acquire_u32(&ch->calls[s].word) ==
	       word(gen, L3L2Q__CALL_DONE);
}

int l3l2q__chan_deposit(struct l3l2q_chan *ch,
			const struct l3l2q_chan_desc *d, const void *payload,
			__u32 lane, __u64 pos)
{
	__u64 cid = d->correlation_id, gen = cid >> 8;
	__u32 s = (__u32)(cid & SLOT_MASK);
	struct l3l2q_chan_call *c;

	if (s >= L3L2Q_CHAN_CALLS_MAX || gen > GEN_MASK)
		return 0;
	c = &ch->calls[s];
	if (!l3l2q__cas32(&c->word, word((__u32)gen, L3L2Q__CALL_WAITING),
			  word((__u32)gen, L3L2Q__CALL_FILLING)))
		return 0;
	c->route = d->route;
	c->nbytes = d->payload_bytes;		/* checked <= max already */
	c->seq = d->seq;
	c->pos = pos;
	c->lane = lane;
	if (c->nbytes)
		l3l2q__memcpy(c->data, payload, c->nbytes);
	l3l2q_store_release_u32(&c->word, word((__u32)gen, L3L2Q__CALL_DONE));
	return 1;
}

/* A free slot, now WAITING with a new generation; -EBUSY if none. */
static int alloc_slot(struct l3l2q_chan *ch, __u32 *slot, __u32 *gen)
{
	__u32 start = l3l2q__fetch_add32(&ch->call_next, 1), k, s, w, g;

	for (k = 0; k < L3L2Q_CHAN_CALLS_MAX; k++) {
		s = (start + k) % L3L2Q_CHAN_CALLS_MAX;
		w = l3l2q_load_once_u32(&ch->calls[s].word);
		if ((w & ((1u << ST_BITS) - 1)) != L3L2Q__CALL_FREE)
			continue;
		g = ((w >> ST_BITS) + 1) & GEN_MASK;
		if (!g)
			g = 1;
		if (l3l2q__cas32(&ch->calls[s].word, w,
				 word(g, L3L2Q__CALL_WAITING))) {
			*slot = s;
			*gen = g;
			return 0;
		}
	}
	return -EBUSY;
}

/* Copy the reply out and free the slot. */
static void take(struct l3l2q_chan *ch, __u32 s, __u32 gen, void *reply,
		 struct l3l2q_chan_msg *msg)
{
	struct l3l2q_chan_call *c = &ch->calls[s];

	if (c->nbytes)
		l3l2q__memcpy(reply, c->data, c->nbytes);
	if (msg) {
		msg->seq = c->seq;
		msg->correlation_id = (__u64)gen << 8 | s;
		msg->route = c->route;
		msg->nbytes = c->nbytes;
		msg->lane = c->lane;
		msg->resv = 0;
		msg->pos = c->pos;
		msg->data = NULL;
	}
	/* Release: the next user of the slot comes after our reads. */
	l3l2q_store_release_u32(&c->word, word(gen, L3L2Q__CALL_FREE));
}

/* Give the slot up; 1 if its reply arrived meanwhile (then take it). */
static int abandon(struct l3l2q_chan *ch, __u32 s, __u32 gen)
{
	__u32 *w = &ch->calls[s].word;

	for (;;) {
		if (l3l2q__cas32(w, word(gen, L3L2Q__CALL_WAITING),
				 word(gen, L3L2Q__CALL_FREE)))
			return 0;
		if (l3l2q_load_acquire_u32(w) == word(gen, L3L2Q__CALL_DONE))
			return 1;
		/* FILLING: a depositor is copying a few hundred bytes. */
		if (ch->env.relax)
			ch->env.relax(ch->env.ctx);
	}
}

static int reply_once(void *arg, int *local)
{
	struct l3l2q__chan_rx *rx = arg;

	return l3l2q__chan_rx_attempt(rx->ctx, rx, local);
}

int l3l2q_chan_call(struct l3l2q_chan_ctx *ctx, __u32 route, const void *req,
		    __u32 n, void *reply, __u32 cap, __u64 deadline_ns,
		    struct l3l2q_chan_msg *msg)
{
	struct l3l2q_chan *ch = ctx->ch;
	struct l3l2q__chan_rx rx = {
		.mode = L3L2Q__CHAN_RX_REPLIES, .op = L3L2Q_EOP_CHAN_CALL,
		.ctx = ctx,
	};
	__u32 max = ch->layout.max_message_bytes;
	int ret = l3l2q__chan_check(ctx, L3L2Q_EOP_CHAN_CALL);

	if (ret)
		return ret;
	if (ctx->lane == L3L2Q_CHAN_NO_LANE || route == L3L2Q_CHAN_ROUTE_REPLY ||
	    (!req && n))
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_CALL,
					  "a call needs a leased lane, a route other than REPLY and req unless n is 0",
					  0, NULL, 0, NULL);
	if (!reply || cap < max)
		return l3l2q__chan_reject(ctx, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_CALL, "reply cap ", cap,
					  " is below max_message_bytes ", max, "");
	if (n > max)
		return l3l2q__chan_reject(ctx, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_CALL, "a request of ",
					  n, " bytes is larger than max_message_bytes ",
					  max, "");
	if (alloc_slot(ch, &rx.call, &rx.call_gen))
		return l3l2q__chan_reject(ctx, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					  L3L2Q_EOP_CHAN_CALL, "all ",
					  L3L2Q_CHAN_CALLS_MAX,
					  " call slots are in use", 0, NULL);
	ret = l3l2q_chan_send(ctx, route, (__u64)rx.call_gen << 8 | rx.call,
			      req, n, deadline_ns);
	if (!ret)
		ret = l3l2q__chan_wait(ctx, L3L2Q_EOP_CHAN_CALL, deadline_ns,
				       reply_once, &rx, L3L2Q__CHAN_WAIT_RECV);
	if (!ret || abandon(ch, rx.call, rx.call_gen)) {
		take(ch, rx.call, rx.call_gen, reply, msg);
		return 0;
	}
	return ret;
}
