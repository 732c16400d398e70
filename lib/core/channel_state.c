// SPDX-License-Identifier: MIT
/*
 * The channel endpoint's state: thread contexts, error records, poison and
 * the peer's health.
 *
 * Error classes (as the queue's, reference §6): a rejection happens before
 * any shared mutation and changes nothing; poison is terminal and raises
 * this side's abort word and the header's fatal_status; a remote abort is
 * terminal and leaves them alone.  Several threads may hit a terminal
 * error at once: the first one to move the state keeps its record in
 * ch->err, every thread keeps its own in ctx->last.
 */
#include "channel_internal.h"

/* A terminal state whose record is still being written. */
#define STATE_BUSY	0x80000000u

void l3l2q_chan_ctx_init(struct l3l2q_chan_ctx *ctx, struct l3l2q_chan *ch)
{
	l3l2q__memset(ctx, 0, sizeof(*ctx));
	ctx->ch = ch;
	ctx->lane = L3L2Q_CHAN_NO_LANE;
}

const struct l3l2q_error *l3l2q_chan_last_error(const struct l3l2q_chan_ctx *ctx)
{
	return &ctx->last;
}

const struct l3l2q_chan_stats *l3l2q_chan_stats(const struct l3l2q_chan_ctx *ctx)
{
	return &ctx->stats;
}

enum l3l2q_state l3l2q_chan_state(const struct l3l2q_chan *ch)
{
	return (enum l3l2q_state)(l3l2q_load_acquire_u32(&ch->state) &
				  ~STATE_BUSY);
}

const struct l3l2q_error *l3l2q_chan_error(const struct l3l2q_chan *ch)
{
	return &ch->err;
}

__u32 l3l2q_chan_leased_lane(const struct l3l2q_chan_ctx *ctx)
{
	return ctx->lane;
}

int l3l2q__chan_check_slow(struct l3l2q_chan_ctx *ctx, __u32 op)
{
	struct l3l2q_chan *ch = ctx->ch;
	__u32 s = l3l2q_load_acquire_u32(&ch->state);
	struct l3l2q_msgbuf m;

	switch (s & ~STATE_BUSY) {
	case L3L2Q_STATE_LIVE:
		return 0;
	case L3L2Q_STATE_POISONED_LOCAL:
		l3l2q__record(&ctx->last, L3L2Q_ERR_INVALID_DESCRIPTOR, op,
			      ch->mem.region_id, NULL, 0, NULL, 0, NULL);
		l3l2q__msg_start(&m, &ctx->last);
		l3l2q__msg_str(&m, "endpoint is poisoned");
		if (!(s & STATE_BUSY)) {
			/* Acquire above: the record is complete. */
			ctx->last.kind = ch->err.kind;
			l3l2q__msg_str(&m, ": ");
			l3l2q__msg_str(&m, ch->err.message);
		}
		return -EPROTO;
	case L3L2Q_STATE_POISONED_REMOTE:
		l3l2q__record(&ctx->last, L3L2Q_ERR_REMOTE_ABORTED, op,
			      ch->mem.region_id, "the peer aborted or died", 0,
			      NULL, 0, NULL);
		return -ECONNRESET;
	default:
		l3l2q__record(&ctx->last, L3L2Q_ERR_RELEASED, op,
			      ch->mem.region_id, "endpoint is released", 0,
			      NULL, 0, NULL);
		return -ESHUTDOWN;
	}
}

int l3l2q__chan_reject(struct l3l2q_chan_ctx *ctx, int err, __u32 kind,
		       __u32 op, const char *a, __u64 x, const char *b,
		       __u64 y, const char *c)
{
	l3l2q__record(&ctx->last, kind, op, ctx->ch->mem.region_id, a, x, b,
		      y, c);
	return -err;
}

/* LIVE -> @target, keeping ctx->last as the endpoint's record; 1 if first. */
static int become(struct l3l2q_chan_ctx *ctx, __u32 target)
{
	struct l3l2q_chan *ch = ctx->ch;

	if (!l3l2q__cas32(&ch->state, L3L2Q_STATE_LIVE, STATE_BUSY | target))
		return 0;
	ch->err = ctx->last;
	/* Release: whoever sees the state sees the whole record. */
	l3l2q_store_release_u32(&ch->state, target);
	return 1;
}

int l3l2q__chan_poison(struct l3l2q_chan_ctx *ctx, __u32 kind, __u32 op,
		       const char *a, __u64 x, const char *b, __u64 y,
		       const char *c)
{
	struct l3l2q_chan *ch = ctx->ch;

	l3l2q__record(&ctx->last, kind, op, ch->mem.region_id, a, x, b, y, c);
	if (!become(ctx, L3L2Q_STATE_POISONED_LOCAL))
		return -EPROTO;
	/*
	 * Through precomputed addresses, never through a path that could
	 * refuse after an error (pitfall P11).  Release: the peer that sees
	 * the flag sees everything this side wrote before it.
	 */
	l3l2q_store_release_u64(&ch->hdr->fatal_status,
				L3L2Q_CHAN_FATAL(ch->role, kind));
	if (ch->own_abort) {
		l3l2q_store_release_u32(ch->own_abort, 1);
		/* Both bells: the peer may sleep on either. */
		l3l2q__fetch_add32(&ch->own_rx->bell, 1);
		l3l2q__chan_ring(ch, &ch->own_tx->bell, &ctx->stats);
	}
	return -EPROTO;
}

int l3l2q__chan_peer_gone(struct l3l2q_chan *ch, const char **why)
{
	/* Acquire: pairs with the peer's release of its flag. */
	if (ch->peer_abort && l3l2q_load_acquire_u32(ch->peer_abort)) {
		*why = "remote abort: the peer set its abort word";
		return 1;
	}
	if (ch->peer_state &&
	    l3l2q_load_acquire_u32(ch->peer_state) == L3L2Q_ROLE_DEAD) {
		*why = "remote abort: the peer role is dead";
		return 1;
	}
	if (l3l2q_load_once_u64(&ch->hdr->fatal_status)) {
		*why = "remote abort: the header's fatal_status is set";
		return 1;
	}
	return 0;
}

int l3l2q__chan_remote_abort(struct l3l2q_chan_ctx *ctx, __u32 op,
			     const char *why)
{
	l3l2q__record(&ctx->last, L3L2Q_ERR_REMOTE_ABORTED, op,
		      ctx->ch->mem.region_id, why, 0, NULL, 0, NULL);
	become(ctx, L3L2Q_STATE_POISONED_REMOTE);	/* own flag untouched */
	return -ECONNRESET;
}

int l3l2q__chan_peer_v1(struct l3l2q_chan *ch)
{
	__u32 p = l3l2q_load_once_u32(&ch->peer_proto);

	if (!p && ch->peer_tx) {
		/*
		 * Acquire: the peer stores its word before its first tail, so
		 * a message whose tail we acquired before this load is
		 * judged by the word its sender had.  Latched once non-zero:
		 * the word is never read again (pitfall P5).
		 */
		p = l3l2q_load_acquire_u32(&ch->peer_tx->proto);
		if (p && !l3l2q__cas32(&ch->peer_proto, 0, p))
			p = l3l2q_load_once_u32(&ch->peer_proto);
	}
	return (p & L3L2Q_CHAN_PROTO_V1) != 0;
}
