// SPDX-License-Identifier: MIT
/*
 * Waiting: checks with acquire loads, then arming in the waiter table
 * (W1-W2), re-checking (W3) and sleeping through env.sleep (W4-W5), as
 * uapi/l3l2q_signals.h, "Waking", describes.  A dead peer ends every wait
 * with -ECONNRESET.
 */
#include "signals_internal.h"

enum { WAIT_ANY, WAIT_ALL };

static int check_waitv(struct l3l2q_sig *s, const struct l3l2q_sig_waitv *v,
		       __u32 n, __u32 op)
{
	__u32 i, j;
	int ret = l3l2q__sig_live(s, op);

	if (ret)
		return ret;
	if (!v || n == 0 || n > L3L2Q_SIG_WAITV_MAX)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				       "waitv must have 1 to 64 entries (got ",
				       v ? n : 0, ")", 0, NULL);
	for (i = 0; i < n; i++) {
		ret = l3l2q__sig_check_id(s, v[i].id, op);
		if (ret)
			return ret;
		if (v[i].cmp < L3L2Q_SIG_CMP_GE || v[i].cmp > L3L2Q_SIG_CMP_NE)
			return l3l2q__sig_fail(s, EINVAL,
					       L3L2Q_ERR_BAD_ARGUMENT, op,
					       "waitv[", i,
					       "].cmp is not L3L2Q_SIG_CMP_GE, _EQ or _NE (got ",
					       v[i].cmp, ")");
		/* One table entry per slot holds one target: no duplicates. */
		for (j = 0; j < i; j++)
			if (v[j].id == v[i].id)
				return l3l2q__sig_fail(s, EINVAL,
						       L3L2Q_ERR_BAD_ARGUMENT,
						       op, "waitv[", i,
						       "].id repeats waitv[",
						       j, "].id");
	}
	return 0;
}

/*
 * One check: read every slot once (acquire: a matched value makes
 * everything published before it visible).  Returns the number of ready
 * entries; *first is the index of the first ready one.
 */
static __u32 scan(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v, __u32 n,
		  __u32 *first)
{
	__u32 i, ready = 0;

	*first = n;
	for (i = 0; i < n; i++) {
		__u64 o = l3l2q_load_acquire_u64(l3l2q__sig_slot(s, v[i].id));

		v[i].value = o;
		v[i].ready = (__u32)l3l2q_sig_ready(o, v[i].cmp, v[i].target);
		if (v[i].ready && ready++ == 0)
			*first = i;
	}
	return ready;
}

static int done(int mode, __u32 ready, __u32 n)
{
	return mode == WAIT_ANY ? ready > 0 : ready == n;
}

static void disarm_one(struct l3l2q_sig *s, struct l3l2q_sig_waitv *e)
{
	__u32 *arm = &l3l2q__sig_entry(s, s->role, e->id)->arm;

	/* Only this role writes it; the count stays for the next arming. */
	if (e->arm)
		l3l2q_store_once_u32(arm, l3l2q_load_once_u32(arm) &
				     ~L3L2Q_SIG_CMP_MASK);
	e->arm = 0;
}

/* W1 for every entry not ready (ready ones are disarmed), then W2. */
static void arm(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v, __u32 n)
{
	__u32 i;

	for (i = 0; i < n; i++) {
		struct l3l2q_sig_waiter *w;
		__u32 cnt, word;

		if (v[i].ready) {
			disarm_one(s, &v[i]);
			continue;
		}
		w = l3l2q__sig_entry(s, s->role, v[i].id);
		l3l2q_store_once_u64(&w->target, v[i].target);
		l3l2q_store_once_u64(&w->seen, v[i].value);
		cnt = ((l3l2q_load_once_u32(&w->arm) >> L3L2Q_SIG_ARM_SHIFT) +
		       1) & (~0u >> L3L2Q_SIG_ARM_SHIFT);
		if (!cnt)
			cnt = 1;	/* 0 would look like "never kicked" */
		word = cnt << L3L2Q_SIG_ARM_SHIFT | v[i].cmp;
		/* W1, last: release, so N3 sees this arming's target and seen. */
		l3l2q_store_release_u32(&w->arm, word);
		v[i].arm = word;
	}
	/* W2: pairs with the notifier's N2 in l3l2q__sig_wake(). */
	l3l2q_full_fence();
}

int l3l2q_sig_arm(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v, __u32 n)
{
	int ret = check_waitv(s, v, n, L3L2Q_EOP_SIG_ARM);

	if (ret)
		return ret;
	if (!s->table[0])
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
				       L3L2Q_EOP_SIG_ARM,
				       "no control block: the peer never kicks",
				       0, NULL, 0, NULL);
	arm(s, v, n);
	return 0;
}

void l3l2q_sig_disarm(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		      __u32 n)
{
	__u32 i;

	if (!s->table[0] || !v || n > L3L2Q_SIG_WAITV_MAX)
		return;
	for (i = 0; i < n; i++)
		if (v[i].id < s->layout.hdmem.signal_count)
			disarm_one(s, &v[i]);
}

/* May a sleep rely on kicks?  Only if both roles say they kick. */
static int kicks_promised(const struct l3l2q_sig *s)
{
	return (l3l2q_load_acquire_u32(s->peer_features) & L3L2Q_FEAT_KICKS) &&
	       (l3l2q_load_acquire_u32(s->own_features) & L3L2Q_FEAT_KICKS);
}

static int result(int mode, __u32 first)
{
	return mode == WAIT_ANY ? (int)first : 0;
}

static int gone(struct l3l2q_sig *s, const char *why)
{
	return l3l2q__sig_fail(s, ECONNRESET, L3L2Q_ERR_REMOTE_ABORTED,
			       L3L2Q_EOP_SIG_WAIT, why, 0, NULL, 0, NULL);
}

static int try_wait(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v, __u32 n,
		    int mode)
{
	const char *why;
	__u32 first;
	int ret = check_waitv(s, v, n, L3L2Q_EOP_SIG_WAIT);

	if (ret)
		return ret;
	if (done(mode, scan(s, v, n, &first), n))
		return result(mode, first);
	if (!l3l2q__sig_peer_gone(s, &why))
		return -EAGAIN;
	/*
	 * Its word was acquired after its last notify: one more check sees
	 * everything it published before it went.
	 */
	if (done(mode, scan(s, v, n, &first), n))
		return result(mode, first);
	return gone(s, why);
}

static int wait_loop(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		     __u32 n, int mode, __u64 deadline_ns)
{
	__u32 budget = s->env.spin_attempts ? s->env.spin_attempts :
		       L3L2Q_SPIN_ATTEMPTS_DEFAULT;
	__u64 poll = s->env.poll_ns ? s->env.poll_ns :
		     L3L2Q_SIG_POLL_NS_DEFAULT;
	int can_sleep = s->env.sleep && s->table[0];
	__u32 spins = 0, tries = 0, first;
	int armed = 0, ever = 0, check = 0;
	const char *why;
	int ret = check_waitv(s, v, n, L3L2Q_EOP_SIG_WAIT);
	__u32 i;

	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		v[i].arm = 0;		/* nothing armed by this call yet */
	for (;;) {
		if (done(mode, scan(s, v, n, &first), n)) {	/* W3, W5 */
			ret = result(mode, first);
			break;
		}
		/*
		 * The clock and the peer, rarely (pitfall P4), and right
		 * after arming or sleeping.
		 */
		if (check || !deadline_ns || !s->env.now_ns ||
		    ++spins >= L3L2Q_SPINS_PER_CLOCK) {
			check = 0;
			spins = 0;
			if (l3l2q__sig_peer_gone(s, &why)) {
				if (done(mode, scan(s, v, n, &first), n))
					ret = result(mode, first);
				else
					ret = gone(s, why);
				break;
			}
			if (deadline_ns != L3L2Q_DEADLINE_NONE &&
			    (!s->env.now_ns ||
			     s->env.now_ns(s->env.ctx) >= deadline_ns)) {
				ret = l3l2q__sig_fail(s, ETIMEDOUT,
						      L3L2Q_ERR_TIMEOUT,
						      L3L2Q_EOP_SIG_WAIT,
						      "timed out; the peer is alive",
						      0, NULL, 0, NULL);
				break;
			}
		}
		if (can_sleep && ++tries >= budget) {
			__u64 until = deadline_ns;
			int r;

			if (!armed) {
				/* W1, W2; the next check is W3. */
				arm(s, v, n);
				armed = ever = 1;
				check = 1;
				continue;
			}
			if (!kicks_promised(s)) {
				/* Nobody promises a kick: bounded sleeps. */
				__u64 now;

				if (!s->env.now_ns) {
					can_sleep = 0;	/* no clock: spin */
					continue;
				}
				now = s->env.now_ns(s->env.ctx);
				if (now + poll >= now && now + poll < until)
					until = now + poll;
			}
			s->stats.sleeps++;
			r = s->env.sleep(s->env.ctx, v, n, until);	/* W4 */
			/* W5: re-check, then clock and peer; a new arming. */
			check = 1;
			armed = 0;
			if (r == -ENOTTY || r == -EOPNOTSUPP) {
				can_sleep = 0;	/* a backend that cannot sleep */
				continue;
			}
			if (r == -ECONNRESET) {
				/*
				 * The backend saw the peer go (a kernel, a
				 * pidfd), perhaps before any word says so:
				 * one last check, then end the wait.
				 */
				if (done(mode, scan(s, v, n, &first), n))
					ret = result(mode, first);
				else
					ret = gone(s, "the peer is gone");
				break;
			}
			if (r && r != -ETIMEDOUT && r != -EINTR) {
				ret = l3l2q__sig_fail(s, -r,
						      L3L2Q_ERR_ENDPOINT_ERROR,
						      L3L2Q_EOP_SIG_WAIT,
						      "sleeping failed", 0,
						      NULL, 0, NULL);
				break;
			}
			continue;
		}
		if (s->env.relax)
			s->env.relax(s->env.ctx);
	}
	if (ever)
		l3l2q_sig_disarm(s, v, n);
	return ret;
}

int l3l2q_sig_try_wait_any(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
			   __u32 n)
{
	return try_wait(s, v, n, WAIT_ANY);
}

int l3l2q_sig_try_wait_all(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
			   __u32 n)
{
	return try_wait(s, v, n, WAIT_ALL);
}

int l3l2q_sig_wait_any(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		       __u32 n, __u64 deadline_ns)
{
	return wait_loop(s, v, n, WAIT_ANY, deadline_ns);
}

int l3l2q_sig_wait_all(struct l3l2q_sig *s, struct l3l2q_sig_waitv *v,
		       __u32 n, __u64 deadline_ns)
{
	return wait_loop(s, v, n, WAIT_ALL, deadline_ns);
}

static void one(struct l3l2q_sig_waitv *v, __u32 id, __u32 cmp, __u64 target)
{
	v->id = id;
	v->cmp = cmp;
	v->target = target;
	v->value = 0;
	v->arm = 0;
	v->ready = 0;
}

int l3l2q_sig_try_wait(struct l3l2q_sig *s, __u32 id, __u32 cmp,
		       __u64 target, __u64 *observed)
{
	struct l3l2q_sig_waitv v;
	int ret;

	one(&v, id, cmp, target);
	ret = try_wait(s, &v, 1, WAIT_ANY);
	if (observed && (ret >= 0 || ret == -EAGAIN || ret == -ECONNRESET))
		*observed = v.value;
	return ret;
}

int l3l2q_sig_wait(struct l3l2q_sig *s, __u32 id, __u32 cmp, __u64 target,
		   __u64 deadline_ns, __u64 *observed)
{
	struct l3l2q_sig_waitv v;
	int ret;

	one(&v, id, cmp, target);
	ret = wait_loop(s, &v, 1, WAIT_ANY, deadline_ns);
	/* The last value read, also on a timeout or a dead peer. */
	if (observed && ret != -EINVAL && ret != -ESHUTDOWN)
		*observed = v.value;
	return ret;
}
