// SPDX-License-Identifier: MIT
/*
 * What both roles share: binding to a region, the terminal states, poison
 * and the blocking loop.
 *
 * Error classes (reference §6): a rejection happens before any shared
 * mutation and changes nothing; poison is terminal and raises the own abort
 * flag; a remote abort is terminal and leaves the own flag alone.
 */
#include "internal.h"

static void *at(void *base, __u64 offset)
{
	return (unsigned char *)base + offset;
}

static int same_layout(const struct l3l2q_layout *a,
		       const struct l3l2q_layout *b)
{
	return a->depth == b->depth &&
	       a->input_arena_bytes == b->input_arena_bytes &&
	       a->output_arena_bytes == b->output_arena_bytes &&
	       a->input_desc_offset == b->input_desc_offset &&
	       a->output_desc_offset == b->output_desc_offset &&
	       a->input_arena_offset == b->input_arena_offset &&
	       a->output_arena_offset == b->output_arena_offset &&
	       a->payload_bytes == b->payload_bytes &&
	       a->counter_bytes == b->counter_bytes;
}

int l3l2q__ep_init(struct l3l2q_ep *ep, __u32 role, const struct l3l2q_mem *mem,
		   const struct l3l2q_layout *layout,
		   const struct l3l2q_env *env)
{
	struct l3l2q_layout check;
	enum l3l2q_layout_status st;
	int l3 = role == L3L2Q_ROLE_L3;

	l3l2q__memset(ep, 0, sizeof(*ep));
	ep->role = role;
	ep->state = L3L2Q_STATE_RELEASED;	/* until bound */
	if (env)
		ep->env = *env;
	if (!mem || !layout) {
		l3l2q__record(&ep->last, L3L2Q_ERR_BAD_ARGUMENT, L3L2Q_EOP_INIT,
			      0, "mem and layout are required", 0, NULL, 0,
			      NULL);
		return -EINVAL;
	}
	ep->mem = *mem;
	if (!mem->payload || !mem->counters ||
	    ((unsigned long)mem->counters % L3L2Q_LINE_BYTES)) {
		l3l2q__record(&ep->last, L3L2Q_ERR_BAD_ARGUMENT, L3L2Q_EOP_INIT,
			      mem->region_id,
			      "mem.payload and a 64-aligned mem.counters are required",
			      0, NULL, 0, NULL);
		return -EINVAL;
	}
	/* Never trust a layout we did not compute ourselves. */
	st = l3l2q_layout(layout->depth, layout->input_arena_bytes,
			  layout->output_arena_bytes, &check);
	if (st != L3L2Q_LAYOUT_OK || !same_layout(&check, layout)) {
		l3l2q__record(&ep->last, L3L2Q_ERR_BAD_DESCRIPTOR,
			      L3L2Q_EOP_INIT, mem->region_id,
			      st != L3L2Q_LAYOUT_OK ? l3l2q_layout_strerror(st) :
			      "layout does not match l3l2q_layout() of its geometry",
			      0, NULL, 0, NULL);
		return -EINVAL;
	}
	ep->layout = check;
	ep->own_abort = at(mem->counters, l3 ? L3L2Q_CTR_L3_ABORT :
			   L3L2Q_CTR_L2_ABORT);
	ep->peer_abort = at(mem->counters, l3 ? L3L2Q_CTR_L2_ABORT :
			    L3L2Q_CTR_L3_ABORT);
	if (mem->ctrl) {
		ep->own_state = at(mem->ctrl, l3 ? L3L2Q_CTRL_L3_STATE :
				   L3L2Q_CTRL_L2_STATE);
		ep->peer_state = at(mem->ctrl, l3 ? L3L2Q_CTRL_L2_STATE :
				    L3L2Q_CTRL_L3_STATE);
		ep->own_wake = at(mem->ctrl, l3 ? L3L2Q_CTRL_L3_WAKE :
				  L3L2Q_CTRL_L2_WAKE);
		ep->peer_wake = at(mem->ctrl, l3 ? L3L2Q_CTRL_L2_WAKE :
				   L3L2Q_CTRL_L3_WAKE);
		ep->own_seen = at(mem->ctrl, L3L2Q_CTRL_WAKE_SEEN(l3 ?
				  L3L2Q_CTRL_L3_WAKE : L3L2Q_CTRL_L2_WAKE, 0));
		ep->peer_seen = at(mem->ctrl, L3L2Q_CTRL_WAKE_SEEN(l3 ?
				   L3L2Q_CTRL_L2_WAKE : L3L2Q_CTRL_L3_WAKE, 0));
		/*
		 * With a way to kick, this endpoint follows P1-P4 from its
		 * first publish on: say so, for a peer deciding whether it
		 * may sleep on our kicks (uapi, feature words).
		 */
		if (ep->env.kick)
			l3l2q_store_release_u32((__u32 *)at(mem->ctrl, l3 ?
						L3L2Q_CTRL_L3_FEATURES :
						L3L2Q_CTRL_L2_FEATURES),
						L3L2Q_FEAT_KICKS);
	}
	ep->state = L3L2Q_STATE_LIVE;
	return 0;
}

int l3l2q__ep_check_slow(struct l3l2q_ep *ep, __u32 op)
{
	switch (ep->state) {
	case L3L2Q_STATE_LIVE:
		return 0;
	case L3L2Q_STATE_POISONED_LOCAL: {
		struct l3l2q_msgbuf m;

		l3l2q__record(&ep->last, ep->err.kind, op, ep->mem.region_id,
			      NULL, 0, NULL, 0, NULL);
		l3l2q__msg_start(&m, &ep->last);
		l3l2q__msg_str(&m, "endpoint is poisoned: ");
		l3l2q__msg_str(&m, ep->err.message);
		return -EPROTO;
	}
	case L3L2Q_STATE_POISONED_REMOTE:
		l3l2q__record(&ep->last, L3L2Q_ERR_REMOTE_ABORTED, op,
			      ep->mem.region_id, "the peer aborted or died",
			      0, NULL, 0, NULL);
		return -ECONNRESET;
	default:
		l3l2q__record(&ep->last, L3L2Q_ERR_RELEASED, op,
			      ep->mem.region_id, "endpoint is released", 0,
			      NULL, 0, NULL);
		return -ESHUTDOWN;
	}
}

int l3l2q__reject(struct l3l2q_ep *ep, int err, __u32 kind, __u32 op,
		  const char *a, __u64 x, const char *b, __u64 y,
		  const char *c)
{
	l3l2q__record(&ep->last, kind, op, ep->mem.region_id, a, x, b, y, c);
	return -err;
}

int l3l2q__poison(struct l3l2q_ep *ep, __u32 kind, __u32 op, const char *a,
		  __u64 x, const char *b, __u64 y, const char *c)
{
	l3l2q__record(&ep->last, kind, op, ep->mem.region_id, a, x, b, y, c);
	if (ep->state != L3L2Q_STATE_LIVE)
		return -EPROTO;
	ep->err = ep->last;
	ep->state = L3L2Q_STATE_POISONED_LOCAL;
	/*
	 * Through the precomputed address, never through a path that could
	 * itself refuse after an error (pitfall P11).  Release: the peer that
	 * sees the flag also sees everything this side wrote before it.
	 */
	l3l2q_store_release_s32(ep->own_abort, 1);
	return -EPROTO;
}

/* The peer's abort flag (upstream test(flag, 1, GE)) or its role state. */
static int peer_gone(struct l3l2q_ep *ep, const char **why)
{
	/* Acquire: pairs with the peer's release of its flag. */
	if (l3l2q_load_acquire_s32(ep->peer_abort) >= 1) {
		*why = "remote abort: the peer set its abort flag";
		return 1;
	}
	if (ep->peer_state &&
	    l3l2q_load_acquire_u32(ep->peer_state) == L3L2Q_ROLE_DEAD) {
		*why = "remote abort: the peer role is dead";
		return 1;
	}
	return 0;
}

static int remote_abort(struct l3l2q_ep *ep, const char *why)
{
	l3l2q__record(&ep->last, L3L2Q_ERR_REMOTE_ABORTED, L3L2Q_EOP_TIMEOUT,
		      ep->mem.region_id, why, 0, NULL, 0, NULL);
	ep->err = ep->last;
	ep->state = L3L2Q_STATE_POISONED_REMOTE;	/* own flag untouched */
	return -ECONNRESET;
}

/* The bits each role may wait on (uapi/l3l2q.h, the table of waits). */
static __u32 role_wake_bits(const struct l3l2q_ep *ep)
{
	return ep->role == L3L2Q_ROLE_L3 ?
	       L3L2Q_WAKE_INPUT_SPACE | L3L2Q_WAKE_OUTPUT_AVAIL :
	       L3L2Q_WAKE_INPUT_AVAIL | L3L2Q_WAKE_OUTPUT_SPACE;
}

/* Index of a single wait bit (0..3). */
static unsigned int bit_index(__u32 bit)
{
	unsigned int i = 0;

	while (!(bit & 1u)) {
		bit >>= 1;
		i++;
	}
	return i;
}

/* Our last sample of the counter a wait for @bit watches. */
static __u32 seen_now(const struct l3l2q_ep *ep, __u32 bit)
{
	/* The endpoint is the first member of its role's struct. */
	const struct l3l2q_l3 *l3 = (const struct l3l2q_l3 *)ep;
	const struct l3l2q_l2 *l2 = (const struct l3l2q_l2 *)ep;

	switch (bit) {
	case L3L2Q_WAKE_INPUT_SPACE:
		return (__u32)l3l2q_low32(l3->in.head);
	case L3L2Q_WAKE_OUTPUT_AVAIL:
		return (__u32)l3l2q_low32(l3->out.tail);
	case L3L2Q_WAKE_INPUT_AVAIL:
		return (__u32)l3l2q_low32(l2->in.tail);
	default:
		return (__u32)l3l2q_low32(l2->out.head);
	}
}

int l3l2q_ep_want_wakeup(struct l3l2q_ep *ep, __u32 bits)
{
	__u32 w, arm, b;

	if (!ep->own_wake || !bits || (bits & ~role_wake_bits(ep)))
		return -EINVAL;
	/* W1: what we have seen, then a new arming (only we write these). */
	for (b = bits; b; b &= b - 1) {
		__u32 bit = b & -b;

		l3l2q_store_once_u32(&ep->own_seen[bit_index(bit)],
				     seen_now(ep, bit));
	}
	w = l3l2q_load_once_u32(ep->own_wake);
	arm = ((w >> L3L2Q_WAKE_ARM_SHIFT) + 1) &
	      (~0u >> L3L2Q_WAKE_ARM_SHIFT);
	if (!arm)
		arm = 1;	/* 0 means "never kicked" to the peer */
	/* Release: the seen words are visible with the arming (P3). */
	l3l2q_store_release_u32(ep->own_wake, arm << L3L2Q_WAKE_ARM_SHIFT |
				(w & L3L2Q_WAKE_BITS) | bits);
	/* W2: pairs with the peer's P2 in l3l2q__notify(). */
	l3l2q_full_fence();
	return 0;
}

__u32 l3l2q__armed_seen(const struct l3l2q_ep *ep, __u32 bit)
{
	return l3l2q_load_once_u32(&ep->own_seen[bit_index(bit)]);
}

void l3l2q_ep_clear_wakeup(struct l3l2q_ep *ep, __u32 bits)
{
	if (ep->own_wake)
		l3l2q_store_once_u32(ep->own_wake,
				     l3l2q_load_once_u32(ep->own_wake) & ~bits);
}

void l3l2q__notify(struct l3l2q_ep *ep, __u32 bit, __u32 pos)
{
	__u32 w, arm;

	/* Without a way to kick, the peer cannot be sleeping: no fence. */
	if (!ep->peer_wake || !ep->env.kick)
		return;
	/* P2: pairs with the waiter's W2 in l3l2q_ep_want_wakeup(). */
	l3l2q_full_fence();
	/* P3: the word, then (acquire) the seen word stored before it. */
	w = l3l2q_load_acquire_u32(ep->peer_wake);
	arm = w >> L3L2Q_WAKE_ARM_SHIFT;
	/*
	 * P4 (uapi): not waiting; or this arming was kicked already; or the
	 * waiter had seen @pos when it armed, so a kick would only spend
	 * the arming on a sleep that does not end.
	 */
	if (!(w & bit) || arm == ep->kicked_arm ||
	    l3l2q_load_once_u32(&ep->peer_seen[bit_index(bit)]) == pos) {
		ep->stats.kicks_suppressed++;
		return;
	}
	ep->kicked_arm = arm;
	ep->stats.kicks++;
	ep->env.kick(ep->env.ctx);
}

const struct l3l2q_stats *l3l2q_ep_stats(const struct l3l2q_ep *ep)
{
	return &ep->stats;
}

void l3l2q_ep_set_spin_attempts(struct l3l2q_ep *ep, __u32 attempts)
{
	ep->env.spin_attempts = attempts;
}

int l3l2q__wait(struct l3l2q_ep *ep, __u32 op, __u64 deadline_ns,
		int (*attempt)(void *arg), void *arg,
		const struct l3l2q_waitspec *w)
{
	__u32 budget = ep->env.spin_attempts ? ep->env.spin_attempts :
		       L3L2Q_SPIN_ATTEMPTS_DEFAULT;
	int can_sleep = ep->env.sleep && w && ep->own_wake;
	__u32 spins = 0, tries = 0;
	int armed = 0, set = 0, check = 0;
	const char *why;
	int ret, r;

	for (;;) {
		ret = attempt(arg);				/* W3, W5 */
		if (ret != -EAGAIN)
			break;
		/*
		 * Read the clock rarely (pitfall P4).  The peer is checked on
		 * the same beat, not only at the deadline (pitfall P16), so a
		 * dead peer ends a wait early; a message it published before
		 * dying is still delivered, as the attempt above runs first.
		 */
		if (check || !deadline_ns || !ep->env.now_ns ||
		    ++spins >= L3L2Q_SPINS_PER_CLOCK) {
			check = 0;
			spins = 0;
			if (peer_gone(ep, &why)) {
				/*
				 * The peer may have published between the
				 * attempt above and its death.  Its flag or
				 * state was acquired after its last publish
				 * (release), so one more attempt sees it all.
				 */
				ret = attempt(arg);
				if (ret == -EAGAIN)
					ret = remote_abort(ep, why);
				break;
			}
			if (deadline_ns != L3L2Q_DEADLINE_NONE &&
			    (!ep->env.now_ns ||
			     ep->env.now_ns(ep->env.ctx) >= deadline_ns)) {
				ret = l3l2q__reject(ep, ETIMEDOUT,
						    L3L2Q_ERR_TIMEOUT, op,
						    "timed out; the peer is alive",
						    0, NULL, 0, NULL);
				break;
			}
		}
		if (can_sleep && ++tries >= budget) {
			if (!armed) {
				/* W1, W2; the next attempt is W3. */
				l3l2q_ep_want_wakeup(ep, w->bit);
				armed = set = 1;
				/* Never sleep on a peer that is already gone. */
				check = 1;
				continue;
			}
			ep->stats.sleeps++;
			/* W4 on what W1 saw, even if W3 saw a newer value. */
			r = ep->env.sleep(ep->env.ctx, w->counter,
					  (__s32)l3l2q__armed_seen(ep, w->bit),
					  deadline_ns);
			/*
			 * Whatever woke us, re-check, then clock and peer;
			 * sleeping again takes a new arming (W5).
			 */
			check = 1;
			armed = 0;
			/* A transport that cannot sleep (an older driver): spin. */
			if (r == -ENOTTY || r == -EOPNOTSUPP) {
				can_sleep = 0;
				continue;
			}
			if (r && r != -ETIMEDOUT && r != -ECONNRESET &&
			    r != -EINTR) {
				ret = l3l2q__reject(ep, -r,
						    L3L2Q_ERR_ENDPOINT_ERROR, op,
						    "sleeping failed", 0, NULL,
						    0, NULL);
				break;
			}
			continue;
		}
		if (ep->env.relax)
			ep->env.relax(ep->env.ctx);
	}
	if (set)
		l3l2q_ep_clear_wakeup(ep, w->bit);
	return ret;
}

int l3l2q__peer_gone(struct l3l2q_ep *ep, const char **why)
{
	return peer_gone(ep, why);
}

int l3l2q__remote_abort(struct l3l2q_ep *ep, const char *why)
{
	return remote_abort(ep, why);
}
