// SPDX-License-Identifier: MIT
/*
 * What both roles share: binding to a region, the terminal states, poison
 * and the blocking loop.
 *
 * Error classes (reference §6): a rejection happens before any shared
 * mutation and changes nothing; poison is terminal and raises the own abort
 * flag; a remote abort is terminal and leaves the own flag alone.
 *
 * Threads: each direction (ring) of an endpoint may have its own thread.
 * What a direction keeps to itself lives in ep->dir[]; what both share is
 * either fixed at init, or the gate word (role and state, changed by
 * compare-and-swap so that exactly one thread records the first terminal
 * error), or a shared-memory word changed by atomic read-modify-write (the
 * own need-wakeup word, whose bits belong to different directions).
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

struct l3l2q_error *l3l2q__last(struct l3l2q_ep *ep, __u32 op)
{
	__u32 dir = l3l2q__op_dir(op);

	if (l3l2q_load_once_u32(&ep->last_dir) != dir)
		l3l2q_store_once_u32(&ep->last_dir, dir);
	return &ep->dir[dir].last;
}

static int init_fail(struct l3l2q_ep *ep, __u32 kind, const char *a, __u64 x,
		     const char *b)
{
	l3l2q__record(l3l2q__last(ep, L3L2Q_EOP_INIT), kind, L3L2Q_EOP_INIT,
		      ep->mem.region_id, a, x, b, 0, NULL);
	return -EINVAL;
}

int l3l2q__ep_init(struct l3l2q_ep *ep, __u32 role, const struct l3l2q_mem *mem,
		   const struct l3l2q_layout *layout, __u64 start_pos,
		   const struct l3l2q_env *env)
{
	struct l3l2q_layout check;
	enum l3l2q_layout_status st;
	int l3 = role == L3L2Q_ROLE_L3;

	l3l2q__memset(ep, 0, sizeof(*ep));
	ep->role = role;
	/* Released until bound: its errors can be read, nothing else works. */
	ep->gate = L3L2Q__GATE(role, L3L2Q_STATE_RELEASED);
	if (env)
		ep->env = *env;
	if (!mem || !layout)
		return init_fail(ep, L3L2Q_ERR_BAD_ARGUMENT,
				 "mem and layout are required", 0, NULL);
	ep->mem = *mem;
	if (!mem->payload || !mem->counters ||
	    ((unsigned long)mem->counters % L3L2Q_LINE_BYTES))
		return init_fail(ep, L3L2Q_ERR_BAD_ARGUMENT,
				 "mem.payload and a 64-aligned mem.counters are required",
				 0, NULL);
	if (start_pos > L3L2Q_START_POS_MAX)
		return init_fail(ep, L3L2Q_ERR_BAD_ARGUMENT, "start_pos ",
				 start_pos,
				 " is above L3L2Q_START_POS_MAX (2^62): positions would wrap");
	/* Never trust a layout we did not compute ourselves. */
	st = l3l2q_layout(layout->depth, layout->input_arena_bytes,
			  layout->output_arena_bytes, &check);
	if (st != L3L2Q_LAYOUT_OK || !same_layout(&check, layout))
		return init_fail(ep, L3L2Q_ERR_BAD_DESCRIPTOR,
				 st != L3L2Q_LAYOUT_OK ? l3l2q_layout_strerror(st) :
				 "layout does not match l3l2q_layout() of its geometry",
				 0, NULL);
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
		/*
		 * Read only to decide on a kick (P2-P4): without a way to
		 * kick it stays NULL, and l3l2q__notify() tests only that.
		 */
		if (ep->env.kick || ep->env.kick_bit)
			ep->peer_wake = at(mem->ctrl, l3 ? L3L2Q_CTRL_L2_WAKE :
					   L3L2Q_CTRL_L3_WAKE);
		ep->own_seen = at(mem->ctrl, L3L2Q_CTRL_WAKE_SEEN(l3 ?
				  L3L2Q_CTRL_L3_WAKE : L3L2Q_CTRL_L2_WAKE, 0));
		ep->peer_seen = at(mem->ctrl, L3L2Q_CTRL_WAKE_SEEN(l3 ?
				   L3L2Q_CTRL_L2_WAKE : L3L2Q_CTRL_L3_WAKE, 0));
		ep->peer_features = at(mem->ctrl, l3 ? L3L2Q_CTRL_L2_FEATURES :
				       L3L2Q_CTRL_L3_FEATURES);
		/*
		 * With a way to kick, this endpoint follows P1-P4 from its
		 * first publish on: say so, for a peer deciding whether it
		 * may sleep on our kicks (uapi, feature words).
		 */
		if (ep->env.kick || ep->env.kick_bit)
			l3l2q_store_release_u32((__u32 *)at(mem->ctrl, l3 ?
						L3L2Q_CTRL_L3_FEATURES :
						L3L2Q_CTRL_L2_FEATURES),
						L3L2Q_FEAT_KICKS);
	}
	l3l2q_store_release_u32(&ep->gate, L3L2Q__GATE(role, L3L2Q_STATE_LIVE));
	return 0;
}

static const char *role_name(__u32 role)
{
	return role == L3L2Q_ROLE_L3 ? "L3" : "L2";
}

int l3l2q__ep_check_slow(const void *h, __u32 role, __u32 op)
{
	struct l3l2q_ep *ep = (struct l3l2q_ep *)h;
	struct l3l2q_error *e;
	struct l3l2q_msgbuf m;
	__u32 g;

	/* NULL and foreign memory: nothing to record into (ep_last_error
	 * says what is wrong with such a handle). */
	if (!ep)
		return -EINVAL;
	for (;;) {
		/* Acquire: pairs with the release that ended BUSY, so the
		 * terminal error copied into ep->err is complete. */
		g = l3l2q_load_acquire_u32(&ep->gate);
		if ((g & L3L2Q__GATE_MASK) != L3L2Q__GATE_MAGIC)
			return -EINVAL;
		if (L3L2Q__GATE_STATE(g) != L3L2Q__BUSY)
			break;
		if (ep->env.relax)
			ep->env.relax(ep->env.ctx);
	}
	if (L3L2Q__GATE_ROLE(g) != role) {
		e = l3l2q__last(ep, op);
		l3l2q__record(e, L3L2Q_ERR_BAD_ARGUMENT, op, ep->mem.region_id,
			      NULL, 0, NULL, 0, NULL);
		l3l2q__msg_start(&m, e);
		l3l2q__msg_str(&m, "the handle is the ");
		l3l2q__msg_str(&m, role_name(L3L2Q__GATE_ROLE(g)));
		l3l2q__msg_str(&m, " endpoint, not an ");
		l3l2q__msg_str(&m, role_name(role));
		l3l2q__msg_str(&m, " one");
		return -EINVAL;
	}
	switch (L3L2Q__GATE_STATE(g)) {
	case L3L2Q_STATE_LIVE:
		return 0;
	case L3L2Q_STATE_POISONED_LOCAL:
		e = l3l2q__last(ep, op);
		l3l2q__record(e, ep->err.kind, op, ep->mem.region_id,
			      NULL, 0, NULL, 0, NULL);
		l3l2q__msg_start(&m, e);
		l3l2q__msg_str(&m, "endpoint is poisoned: ");
		l3l2q__msg_str(&m, ep->err.message);
		return -EPROTO;
	case L3L2Q_STATE_POISONED_REMOTE:
		l3l2q__record(l3l2q__last(ep, op), L3L2Q_ERR_REMOTE_ABORTED, op,
			      ep->mem.region_id, "the peer aborted or died",
			      0, NULL, 0, NULL);
		return -ECONNRESET;
	case L3L2Q_STATE_INHERITED:
		l3l2q__record(l3l2q__last(ep, op), L3L2Q_ERR_OWNERSHIP, op,
			      ep->mem.region_id,
			      "the endpoint was inherited across fork(): only the process that created or attached the queue may use it",
			      0, NULL, 0, NULL);
		return -EOWNERDEAD;
	default:
		l3l2q__record(l3l2q__last(ep, op), L3L2Q_ERR_RELEASED, op,
			      ep->mem.region_id, "endpoint is released", 0,
			      NULL, 0, NULL);
		return -ESHUTDOWN;
	}
}

int l3l2q__reject(struct l3l2q_ep *ep, int err, __u32 kind, __u32 op,
		  const char *a, __u64 x, const char *b, __u64 y,
		  const char *c)
{
	l3l2q__record(l3l2q__last(ep, op), kind, op, ep->mem.region_id, a, x,
		      b, y, c);
	return -err;
}

/*
 * LIVE -> @state, with @rec as the first terminal error.  Only the thread
 * whose compare-and-swap takes LIVE to BUSY writes ep->err; it ends BUSY
 * with a release.  Returns 1 for that thread, 0 when the endpoint was no
 * longer live.
 */
static int make_terminal(struct l3l2q_ep *ep, __u32 state,
			 const struct l3l2q_error *rec)
{
	__u32 live = L3L2Q__GATE(ep->role, L3L2Q_STATE_LIVE);

	if (!l3l2q_try_cas_u32(&ep->gate, &live,
			       L3L2Q__GATE(ep->role, L3L2Q__BUSY)))
		return 0;
	ep->err = *rec;
	/* Release: pairs with the acquire in l3l2q__ep_check_slow(). */
	l3l2q_store_release_u32(&ep->gate, L3L2Q__GATE(ep->role, state));
	return 1;
}

/*
 * The peer may be asleep waiting for us: after our abort flag, kick every
 * bit it waits on, whatever was kicked before, so that it learns now
 * rather than at its deadline.
 */
static void kick_all(struct l3l2q_ep *ep)
{
	__u32 w, b;

	if (!ep->peer_wake)	/* no control block, or no way to kick */
		return;
	/* P2 for the abort flag: pairs with the waiter's W2. */
	l3l2q_full_fence();
	w = l3l2q_load_acquire_u32(ep->peer_wake) & L3L2Q_WAKE_BITS;
	if (!w)
		return;
	if (!ep->env.kick_bit) {
		ep->env.kick(ep->env.ctx);
		return;
	}
	for (b = w; b; b &= b - 1)
		ep->env.kick_bit(ep->env.ctx, b & -b);
}

int l3l2q__poison(struct l3l2q_ep *ep, __u32 kind, __u32 op, const char *a,
		  __u64 x, const char *b, __u64 y, const char *c)
{
	struct l3l2q_error *e = l3l2q__last(ep, op);

	l3l2q__record(e, kind, op, ep->mem.region_id, a, x, b, y, c);
	if (!make_terminal(ep, L3L2Q_STATE_POISONED_LOCAL, e))
		return -EPROTO;
	/*
	 * Through the precomputed address, never through a path that could
	 * itself refuse after an error (pitfall P11).  Release: the peer that
	 * sees the flag also sees everything this side wrote before it.
	 */
	l3l2q_store_release_s32(ep->own_abort, 1);
	kick_all(ep);
	return -EPROTO;
}

void l3l2q__ep_close(struct l3l2q_ep *ep, __u32 role)
{
	__u32 g = l3l2q__gate(ep);

	if ((g & L3L2Q__GATE_MASK) != L3L2Q__GATE_MAGIC ||
	    L3L2Q__GATE_ROLE(g) != role)
		return;
	/* Never over a BUSY: the thread that holds it stores the state. */
	for (;;) {
		if (L3L2Q__GATE_STATE(g) == L3L2Q__BUSY) {
			if (ep->env.relax)
				ep->env.relax(ep->env.ctx);
			g = l3l2q__gate(ep);
			continue;
		}
		if (l3l2q_try_cas_u32(&ep->gate, &g,
				      L3L2Q__GATE(role, L3L2Q_STATE_RELEASED)))
			return;
	}
}

void l3l2q__ep_disown(struct l3l2q_ep *ep)
{
	/*
	 * In a fork child, before it runs anything else: no other thread
	 * exists there (a BUSY left by one is overwritten too).
	 */
	if ((l3l2q__gate(ep) & L3L2Q__GATE_MASK) == L3L2Q__GATE_MAGIC)
		l3l2q_store_once_u32(&ep->gate,
				     L3L2Q__GATE(ep->role, L3L2Q_STATE_INHERITED));
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

static int remote_abort(struct l3l2q_ep *ep, __u32 op, const char *why)
{
	struct l3l2q_error *e = l3l2q__last(ep, op);

	l3l2q__record(e, L3L2Q_ERR_REMOTE_ABORTED, L3L2Q_EOP_TIMEOUT,
		      ep->mem.region_id, why, 0, NULL, 0, NULL);
	make_terminal(ep, L3L2Q_STATE_POISONED_REMOTE, e);	/* own flag untouched */
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

/* A handle of either role that was initialised; else -EINVAL. */
static int ep_valid(const struct l3l2q_ep *ep)
{
	if (!ep || (l3l2q__gate(ep) & L3L2Q__GATE_MASK) != L3L2Q__GATE_MAGIC)
		return -EINVAL;
	return 0;
}

/* Which direction a bad @bits argument is told in. */
static __u32 bits_dir(__u32 bits)
{
	return bits & (L3L2Q_WAKE_OUTPUT_AVAIL | L3L2Q_WAKE_OUTPUT_SPACE) ?
	       L3L2Q_DIR_OUTPUT : L3L2Q_DIR_INPUT;
}

static int bad_bits(struct l3l2q_ep *ep, __u32 bits, const char *why)
{
	__u32 dir = bits_dir(bits);

	if (l3l2q_load_once_u32(&ep->last_dir) != dir)
		l3l2q_store_once_u32(&ep->last_dir, dir);
	l3l2q__record(&ep->dir[dir].last, L3L2Q_ERR_BAD_ARGUMENT,
		      L3L2Q_EOP_NONE, ep->mem.region_id, why, bits, ")", 0,
		      NULL);
	return -EINVAL;
}

/*
 * W1 and W2 for @bits, already checked.  Inlined into both callers, so
 * each carries its own W2 fence (tests/aarch64_check.sh looks for it in
 * l3l2q_ep_want_wakeup).
 */
static inline __attribute__((always_inline))
int arm_bits(struct l3l2q_ep *ep, __u32 bits)
{
	struct l3l2q_ep_dir *d;
	__u32 w, nw, count, b, seen;
	int ret;

	/* The transport drops stale kicks and checks on the peer first. */
	if (ep->env.arm) {
		ret = ep->env.arm(ep->env.ctx, bits);
		if (ret)
			return ret;
	}
	/* W1: what we have seen, privately (for our W4) and for the peer. */
	for (b = bits; b; b &= b - 1) {
		__u32 bit = b & -b;

		d = &ep->dir[l3l2q__bit_dir(bit)];
		seen = seen_now(ep, bit);
		d->armed_seen = seen;
		d->armed = 1;
		l3l2q_store_once_u32(&ep->own_seen[bit_index(bit)], seen);
	}
	/*
	 * Then a new arming with the bits.  The other direction's thread
	 * may set or clear its own bit at the same time: read-modify-write,
	 * never a plain store over its bit.  Release: the seen words are
	 * visible with the arming (P3).
	 */
	w = l3l2q_load_once_u32(ep->own_wake);
	do {
		count = ((w >> L3L2Q_WAKE_ARM_SHIFT) + 1) &
			(~0u >> L3L2Q_WAKE_ARM_SHIFT);
		if (!count)
			count = 1;	/* 0 means "never kicked" to the peer */
		nw = count << L3L2Q_WAKE_ARM_SHIFT | (w & L3L2Q_WAKE_BITS) |
		     bits;
	} while (!l3l2q_try_cas_u32(ep->own_wake, &w, nw));
	/* W2: pairs with the peer's P2 in l3l2q__notify(). */
	l3l2q_full_fence();
	return 0;
}

/*
 * A fork child's copy has no mapping (libl3l2q): the wake word must not
 * be touched there.  Recorded like any refusal.
 */
static int inherited(struct l3l2q_ep *ep, __u32 bits)
{
	if (L3L2Q__GATE_STATE(l3l2q__gate(ep)) != L3L2Q_STATE_INHERITED)
		return 0;
	return l3l2q__ep_check_slow(ep, ep->role,
				    bits_dir(bits) == L3L2Q_DIR_OUTPUT ?
				    L3L2Q_EOP_OUTPUT_TRY_PEEK :
				    L3L2Q_EOP_INPUT_TRY_PEEK);
}

int l3l2q_ep_want_wakeup(struct l3l2q_ep *ep, __u32 bits)
{
	int ret;

	if (ep_valid(ep))
		return -EINVAL;
	ret = inherited(ep, bits);
	if (ret)
		return ret;
	if (!ep->own_wake)
		return bad_bits(ep, bits,
				"no control block: an upstream peer never kicks (bits ");
	if (!bits || (bits & ~role_wake_bits(ep)))
		return bad_bits(ep, bits,
				"bits this role may not wait on (bits ");
	ret = arm_bits(ep, bits);
	if (ret == -ECONNRESET) {
		__u32 dir = bits_dir(bits);

		l3l2q__record(&ep->dir[dir].last, L3L2Q_ERR_REMOTE_ABORTED,
			      L3L2Q_EOP_NONE, ep->mem.region_id,
			      "the peer is gone: nothing will kick", 0, NULL, 0,
			      NULL);
		l3l2q_store_once_u32(&ep->last_dir, dir);
	}
	return ret;
}

__u32 l3l2q__armed_seen(const struct l3l2q_ep *ep, __u32 bit, int *armed)
{
	const struct l3l2q_ep_dir *d = &ep->dir[l3l2q__bit_dir(bit)];

	*armed = (int)d->armed;
	return d->armed_seen;
}

static void disarm(struct l3l2q_ep *ep, __u32 bits)
{
	__u32 b;

	/* Relaxed: a cleared bit only stops kicks; nothing depends on it. */
	l3l2q_fetch_and_u32(ep->own_wake, ~bits);
	for (b = bits; b; b &= b - 1)
		ep->dir[l3l2q__bit_dir(b & -b)].armed = 0;
}

int l3l2q_ep_clear_wakeup(struct l3l2q_ep *ep, __u32 bits)
{
	int ret;

	if (ep_valid(ep))
		return -EINVAL;
	ret = inherited(ep, bits);
	if (ret)
		return ret;
	if (bits & ~role_wake_bits(ep))
		return bad_bits(ep, bits,
				"bits this role may not wait on (bits ");
	if (ep->own_wake && bits)
		disarm(ep, bits);
	return 0;
}

/* One writer (the direction's thread); relaxed so readers never tear. */
static void stat_inc(__u64 *c)
{
	l3l2q_store_once_u64(c, l3l2q_load_once_u64(c) + 1);
}

int l3l2q__notify_armed(struct l3l2q_ep *ep, __u32 bit, __u32 pos, __u32 w)
{
	struct l3l2q_ep_dir *d = &ep->dir[l3l2q__bit_dir(bit)];
	__u32 arm = w >> L3L2Q_WAKE_ARM_SHIFT;

	/*
	 * P4 (uapi): this arming was kicked already; or the waiter had seen
	 * @pos when it armed, so a kick would only spend the arming on a
	 * sleep that does not end.  The peer's other direction may have
	 * bumped the arming count meanwhile: that only costs a kick, never
	 * suppresses one this bit needs.
	 */
	if (arm == d->kicked_arm ||
	    l3l2q_load_once_u32(&ep->peer_seen[bit_index(bit)]) == pos) {
		stat_inc(&d->stats.kicks_suppressed);
		return 0;
	}
	d->kicked_arm = arm;
	stat_inc(&d->stats.kicks);
	if (ep->env.kick_bit)
		ep->env.kick_bit(ep->env.ctx, bit);
	else
		ep->env.kick(ep->env.ctx);
	return 0;
}

int l3l2q_ep_stats(const struct l3l2q_ep *ep, struct l3l2q_stats *out)
{
	const struct l3l2q_stats *a, *b;

	if (ep_valid(ep) || !out)
		return -EINVAL;
	a = &ep->dir[0].stats;
	b = &ep->dir[1].stats;
	out->kicks = l3l2q_load_once_u64(&a->kicks) +
		     l3l2q_load_once_u64(&b->kicks);
	out->kicks_suppressed = l3l2q_load_once_u64(&a->kicks_suppressed) +
				l3l2q_load_once_u64(&b->kicks_suppressed);
	out->sleeps = l3l2q_load_once_u64(&a->sleeps) +
		      l3l2q_load_once_u64(&b->sleeps);
	return 0;
}

int l3l2q_ep_set_spin_attempts(struct l3l2q_ep *ep, __u32 attempts)
{
	if (ep_valid(ep))
		return -EINVAL;
	l3l2q_store_once_u32(&ep->env.spin_attempts, attempts);
	return 0;
}

/* Whether the peer says it kicks (read once per decision, untrusted). */
static int peer_kicks(const struct l3l2q_ep *ep)
{
	return ep->peer_features &&
	       (l3l2q_load_once_u32(ep->peer_features) & L3L2Q_FEAT_KICKS);
}

int l3l2q__wait(struct l3l2q_ep *ep, __u32 op, __u64 deadline_ns,
		int (*attempt)(void *arg), void *arg,
		const struct l3l2q_waitspec *w)
{
	__u32 spin = l3l2q_load_once_u32(&ep->env.spin_attempts);
	__u32 budget = spin ? spin : L3L2Q_SPIN_ATTEMPTS_DEFAULT;
	int can_sleep = ep->env.sleep && w && ep->own_wake;
	struct l3l2q_ep_dir *d = &ep->dir[l3l2q__op_dir(op)];
	__u64 poll_ns = L3L2Q_POLL_MIN_NS, sleep_dl, now;
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
					ret = remote_abort(ep, op, why);
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
				r = arm_bits(ep, w->bit);
				if (r == -ECONNRESET) {
					/* The transport saw the peer go: as
					 * above, take what it left first. */
					ret = attempt(arg);
					if (ret == -EAGAIN)
						ret = remote_abort(ep, op,
							"remote abort: the peer is gone");
					break;
				}
				armed = set = 1;
				/* Never sleep on a peer that is already gone. */
				check = 1;
				continue;
			}
			stat_inc(&d->stats.sleeps);
			/*
			 * A peer that does not kick (its feature word, read
			 * once here) is polled on: sleep in growing steps up
			 * to L3L2Q_POLL_MAX_NS, then re-check ring and peer,
			 * so an answer it left in the ring or its abort
			 * waits one step, never the deadline.
			 */
			sleep_dl = deadline_ns;
			if (!peer_kicks(ep) && ep->env.now_ns) {
				now = ep->env.now_ns(ep->env.ctx);
				if (now < sleep_dl && sleep_dl - now > poll_ns)
					sleep_dl = now + poll_ns;
				poll_ns = poll_ns * 2 > L3L2Q_POLL_MAX_NS ?
					  L3L2Q_POLL_MAX_NS : poll_ns * 2;
			}
			/* W4 on what W1 saw (our copy), even if W3 saw newer. */
			r = ep->env.sleep(ep->env.ctx, w->counter,
					  (__s32)d->armed_seen, sleep_dl);
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
		disarm(ep, w->bit);
	return ret;
}

int l3l2q__peer_gone(struct l3l2q_ep *ep, const char **why)
{
	return peer_gone(ep, why);
}

int l3l2q__remote_abort(struct l3l2q_ep *ep, __u32 op, const char *why)
{
	return remote_abort(ep, op, why);
}
