// SPDX-License-Identifier: MIT
/*
 * Notifying: N1 publishes the value (a release store or fetch-add), N2-N4
 * kick a waiter only when the new value crosses its target
 * (uapi/l3l2q_signals.h, "Waking").
 */
#include "signals_internal.h"

/* N3-N4 for the waiter of role @r on slot @id, after N1 (@v) and N2. */
static int wake_role(struct l3l2q_sig *s, __u32 r, __u32 id, __u64 v)
{
	struct l3l2q_sig_waiter *w = l3l2q__sig_entry(s, r, id);
	__u32 *kicked = &l3l2q__sig_entry(s, s->role, id)->kicked[r];
	__u32 arm, cmp;
	__u64 target, seen;

	/*
	 * N3: the arm word, then (acquire: stored before it, W1) the target
	 * and seen of that arming or of a later one.  Each word read once.
	 */
	arm = l3l2q_load_acquire_u32(&w->arm);
	cmp = arm & L3L2Q_SIG_CMP_MASK;
	if (!cmp)
		return 0;			/* not waiting */
	target = l3l2q_load_once_u64(&w->target);
	seen = l3l2q_load_once_u64(&w->seen);
	/*
	 * N4: only for a value that crosses the target: ready now and not
	 * in what the waiter saw (an unknown cmp is never ready), and once
	 * per arming.
	 */
	if (!l3l2q_sig_ready(v, cmp, target) || l3l2q_sig_ready(seen, cmp, target) ||
	    l3l2q_load_once_u32(kicked) == arm)
		return 0;
	/*
	 * Release, before the kick: a sleeper that registers after the kick
	 * finds its arming here (K2) even if the value went back to seen.
	 */
	l3l2q_store_release_u32(kicked, arm);
	s->env.kick(s->env.ctx, r, id);
	return 1;
}

void l3l2q__sig_wake(struct l3l2q_sig *s, __u32 id, __u64 v)
{
	int kicks;

	/* Without a way to kick, nobody may rely on our kicks: no fence. */
	if (!s->table[0] || !s->env.kick)
		return;
	/* N2: pairs with the waiter's W2 in l3l2q_sig_arm(). */
	l3l2q_full_fence();
	/* The peer first; a waiter of our own role (another thread) too. */
	kicks = wake_role(s, s->role ^ 1u, id, v);
	kicks += wake_role(s, s->role, id, v);
	if (kicks)
		s->stats.kicks += (__u64)kicks;
	else
		s->stats.kicks_suppressed++;
}

static int set(struct l3l2q_sig *s, __u32 id, __u64 v, int monotonic)
{
	int ret = l3l2q__sig_live(s, L3L2Q_EOP_SIG_NOTIFY);
	__u64 *slot;

	if (!ret)
		ret = l3l2q__sig_check_id(s, id, L3L2Q_EOP_SIG_NOTIFY);
	if (ret)
		return ret;
	slot = l3l2q__sig_slot(s, id);
	if (monotonic || (s->layout.sig_flags & L3L2Q_SIG_F_MONOTONIC)) {
		/*
		 * Our own word (one publisher per slot, P19): a plain
		 * snapshot, as upstream's mapped region reads it.
		 */
		__u64 cur = l3l2q_load_once_u64(slot);

		if (v < cur)
			return l3l2q__sig_fail(s, EINVAL,
					       L3L2Q_ERR_BAD_ARGUMENT,
					       L3L2Q_EOP_SIG_NOTIFY,
					       "monotonic notify: value ", v,
					       " is below the current ", cur,
					       "");
		if (v == cur)
			return 0;		/* nothing new to publish */
	}
	/* N1: everything written before is visible with @v. */
	l3l2q_store_release_u64(slot, v);
	l3l2q__sig_wake(s, id, v);
	return 0;
}

int l3l2q_sig_notify(struct l3l2q_sig *s, __u32 id, __u64 v)
{
	return set(s, id, v, 0);
}

int l3l2q_sig_notify_monotonic(struct l3l2q_sig *s, __u32 id, __u64 v)
{
	return set(s, id, v, 1);
}

int l3l2q_sig_notify_add(struct l3l2q_sig *s, __u32 id, __u64 delta,
			 __u64 *result)
{
	int ret = l3l2q__sig_live(s, L3L2Q_EOP_SIG_NOTIFY);
	__u64 v;

	if (!ret)
		ret = l3l2q__sig_check_id(s, id, L3L2Q_EOP_SIG_NOTIFY);
	if (ret)
		return ret;
	/*
	 * N1 as one atomic read-modify-write with release order (upstream's
	 * Add is a plain read-add-store, pitfall P14).  The waiters see our
	 * sum or a later one; the kick decision is on our sum, and an adder
	 * whose sum crosses a target kicks for it.
	 */
	v = l3l2q_fetch_add_release_u64(l3l2q__sig_slot(s, id), delta) + delta;
	if (result)
		*result = v;
	l3l2q__sig_wake(s, id, v);
	return 0;
}
