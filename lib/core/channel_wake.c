// SPDX-License-Identifier: MIT
/*
 * Waking instead of spinning, for the channel: bells, kicks, arming and
 * the blocking loop.  The protocol and its fence pairs (W1-W5, P1-P4) are
 * in uapi/l3l2q_channel.h; each step is labelled where it happens.
 */
#include "channel_internal.h"

void l3l2q__chan_ring(struct l3l2q_chan *ch, __u32 *bell,
		      struct l3l2q_chan_stats *st)
{
	/*
	 * Fully ordered: whoever sees the new bell sees what we stored
	 * before it (a close word, an ack, an abort word).
	 */
	l3l2q__fetch_add32(bell, 1);
	if (ch->env.kick) {
		if (st)
			st->kicks++;
		ch->env.kick(ch->env.ctx);
	}
}

/* Kick once per arming: the first thread of this side to claim it kicks. */
static int first_for_arming(__u32 *kicked, __u32 arm)
{
	__u32 k = l3l2q_load_once_u32(kicked);

	return k != arm && l3l2q__cas32(kicked, k, arm);
}

void l3l2q__chan_wake_receivers(struct l3l2q_chan_ctx *ctx)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 w;

	/* Without a way to kick, nobody sleeps on us unboundedly. */
	if (!ch->peer_rx || !ch->env.kick)
		return;
	/* P2: pairs with the receivers' W2 in arm(). */
	l3l2q_full_fence();
	/* P3 */
	w = l3l2q_load_acquire_u32(&ch->peer_rx->wake);
	if (!(w & L3L2Q_CHAN_WAKE_SLEEPERS) ||
	    !first_for_arming(&ch->kicked_rx, w >> L3L2Q_CHAN_WAKE_ARM_SHIFT)) {
		ctx->stats.kicks_suppressed++;
		return;
	}
	/* P4: the bell first, so the sleeper's WAIT sees it move. */
	l3l2q__chan_ring(ch, &ch->own_tx->bell, &ctx->stats);
}

void l3l2q__chan_wake_producer(struct l3l2q_chan_ctx *ctx, __u32 i)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 arm, want;

	if (!ch->peer_tx || !ch->env.kick)
		return;
	/* P2: pairs with the producer's W2 in arm(). */
	l3l2q_full_fence();
	/* P3: the arming, then (acquire) the lanes armed before it. */
	arm = l3l2q_load_acquire_u32(&ch->peer_tx->arm);
	want = l3l2q_load_once_u32(&ch->peer_tx->want);
	if (!(want & (1u << i)) || !first_for_arming(&ch->kicked_tx, arm)) {
		ctx->stats.kicks_suppressed++;
		return;
	}
	/* P4 */
	l3l2q__chan_ring(ch, &ch->own_rx->bell, &ctx->stats);
}

/* The peer's bell a wait of @kind sleeps on, as an offset in the region. */
static __u32 bell_offset(const struct l3l2q_chan *ch, __u32 kind)
{
	int l3 = ch->role == L3L2Q_ROLE_L3;

	if (kind == L3L2Q__CHAN_WAIT_SPACE || kind == L3L2Q__CHAN_WAIT_ACK)
		return l3 ? L3L2Q_CHAN_CTRL_L2_RX_BELL : L3L2Q_CHAN_CTRL_L3_RX_BELL;
	return l3 ? L3L2Q_CHAN_CTRL_L2_TX_BELL : L3L2Q_CHAN_CTRL_L3_TX_BELL;
}

static __u32 *bell_word(const struct l3l2q_chan *ch, __u32 kind)
{
	return (__u32 *)((unsigned char *)ch->mem.ctrl + bell_offset(ch, kind));
}

/* W1 and W2: returns the bell value seen (the WAIT's @seen). */
static __u32 arm(struct l3l2q_chan_ctx *ctx, __u32 kind)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 seen = l3l2q_load_acquire_u32(bell_word(ch, kind));

	switch (kind) {
	case L3L2Q__CHAN_WAIT_RECV:
		/* W1: one more sleeper, a new arming. */
		l3l2q__fetch_add32(&ch->own_rx->wake,
				   1u + (1u << L3L2Q_CHAN_WAKE_ARM_SHIFT));
		break;
	case L3L2Q__CHAN_WAIT_SPACE:
		/* W1: our lane's bit, then the arming that covers it. */
		l3l2q__fetch_or32(&ch->own_tx->want, 1u << ctx->lane);
		l3l2q__fetch_add32(&ch->own_tx->arm, 1);
		break;
	default:
		/* ACK and naps: whoever ends them rings unconditionally. */
		return seen;
	}
	/* W2: pairs with the peer's P2 in l3l2q__chan_wake_*(). */
	l3l2q_full_fence();
	return seen;
}

/* W5 */
static void disarm(struct l3l2q_chan_ctx *ctx, __u32 kind)
{
	struct l3l2q_chan *ch = ctx->ch;

	if (kind == L3L2Q__CHAN_WAIT_RECV)
		l3l2q__fetch_add32(&ch->own_rx->wake, ~0u);	/* -1 sleeper */
	else if (kind == L3L2Q__CHAN_WAIT_SPACE)
		l3l2q__fetch_and32(&ch->own_tx->want, ~(1u << ctx->lane));
}

/*
 * May this wait sleep until its deadline?  Only on a peer that kicks
 * (its feature word, read once per decision) and follows
 * L3L2Q_CHAN_PROTO_V1 (bells and attention).
 */
static int peer_kicks(struct l3l2q_chan *ch)
{
	return (l3l2q_load_acquire_u32(ch->peer_features) & L3L2Q_FEAT_KICKS) &&
	       l3l2q__chan_peer_v1(ch);
}

int l3l2q_chan_want_wakeup(struct l3l2q_chan_ctx *ctx, __u32 what,
			   __u32 *offset, __u32 *seen)
{
	__u32 kind;

	if (!ctx->ch->mem.ctrl || !offset || !seen)
		return -EINVAL;
	if (what == L3L2Q_CHAN_WANT_RECV)
		kind = L3L2Q__CHAN_WAIT_RECV;
	else if (what == L3L2Q_CHAN_WANT_SPACE && ctx->lane != L3L2Q_CHAN_NO_LANE)
		kind = L3L2Q__CHAN_WAIT_SPACE;
	else
		return -EINVAL;
	/* Each call is a new arming: the previous one is taken back. */
	if (ctx->armed & what)
		disarm(ctx, kind);
	*seen = arm(ctx, kind);
	*offset = bell_offset(ctx->ch, kind);
	ctx->armed |= what;
	return 0;
}

void l3l2q_chan_clear_wakeup(struct l3l2q_chan_ctx *ctx)
{
	if (ctx->armed & L3L2Q_CHAN_WANT_RECV)
		disarm(ctx, L3L2Q__CHAN_WAIT_RECV);
	if ((ctx->armed & L3L2Q_CHAN_WANT_SPACE) &&
	    ctx->lane != L3L2Q_CHAN_NO_LANE)
		disarm(ctx, L3L2Q__CHAN_WAIT_SPACE);
	ctx->armed = 0;
}

int l3l2q__chan_wait(struct l3l2q_chan_ctx *ctx, __u32 op, __u64 deadline_ns,
		     l3l2q__chan_attempt_fn attempt, void *arg, __u32 kind)
{
	struct l3l2q_chan *ch = ctx->ch;
	const struct l3l2q_env *env = &ch->env;
	__u32 budget = env->spin_attempts ? env->spin_attempts :
		       L3L2Q_SPIN_ATTEMPTS_DEFAULT;
	int can_sleep = env->sleep && ch->mem.ctrl;
	__u32 spins = 0, tries = 0, seen = 0;
	int armed = 0, check = 0, local, ret, r;
	const char *why;

	for (;;) {
		local = 0;
		ret = attempt(arg, &local);			/* W3, W5 */
		if (ret != -EAGAIN)
			break;
		/*
		 * Read the clock rarely (pitfall P4); look at the peer on the
		 * same beat (P16), after the attempt, so that whatever it
		 * published before it went away is delivered first.
		 */
		if (check || !deadline_ns || !env->now_ns ||
		    ++spins >= L3L2Q_SPINS_PER_CLOCK) {
			check = 0;
			spins = 0;
			if (l3l2q__chan_peer_gone(ch, &why)) {
				ret = attempt(arg, &local);
				if (ret == -EAGAIN)
					ret = l3l2q__chan_remote_abort(ctx, op, why);
				break;
			}
			if (deadline_ns != L3L2Q_DEADLINE_NONE &&
			    (!env->now_ns || env->now_ns(env->ctx) >= deadline_ns)) {
				ret = l3l2q__chan_reject(ctx, ETIMEDOUT,
							 L3L2Q_ERR_TIMEOUT, op,
							 "timed out; the peer is alive",
							 0, NULL, 0, NULL);
				break;
			}
		}
		if (can_sleep && ++tries >= budget) {
			__u64 until = deadline_ns;

			if (!armed) {
				/* W1, W2; the next attempt is W3. */
				seen = arm(ctx, kind);
				armed = 1;
				check = 1;	/* never sleep on a gone peer */
				continue;
			}
			/*
			 * W4.  A nap when this side may make the progress
			 * itself or the peer will not kick: a bounded sleep
			 * that a peer event still ends early.
			 */
			if (local || kind == L3L2Q__CHAN_WAIT_LOCAL ||
			    !peer_kicks(ch)) {
				__u64 nap;

				if (!env->now_ns) {
					/* No clock to bound a nap with: spin. */
					disarm(ctx, kind);
					armed = 0;
					tries = 0;
					goto relax;
				}
				nap = env->now_ns(env->ctx) + L3L2Q_CHAN_NAP_NS;
				if (nap < until)
					until = nap;
				ctx->stats.naps++;
			}
			ctx->stats.sleeps++;
			r = env->sleep(env->ctx, bell_offset(ch, kind),
				       (__s32)seen, until);
			disarm(ctx, kind);			/* W5 */
			armed = 0;
			check = 1;
			/* A transport that cannot sleep (an older driver): spin. */
			if (r == -ENOTTY || r == -EOPNOTSUPP) {
				can_sleep = 0;
				continue;
			}
			if (r && r != -ETIMEDOUT && r != -ECONNRESET &&
			    r != -EINTR) {
				ret = l3l2q__chan_reject(ctx, -r,
							 L3L2Q_ERR_ENDPOINT_ERROR,
							 op, "sleeping failed", 0,
							 NULL, 0, NULL);
				break;
			}
			continue;
		}
relax:
		if (env->relax)
			env->relax(env->ctx);
	}
	if (armed)
		disarm(ctx, kind);
	return ret;
}
