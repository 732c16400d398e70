// SPDX-License-Identifier: MIT
/*
 * The blocking calls of the multi-thread L3 (l3l2q_mp.h): l3l2q__wait()
 * for many threads.  The same spin budget, clock and peer checks; every
 * write to the endpoint under the token; and one sleeper per direction.
 *
 * The leader (the one thread of a direction that sleeps in env.sleep)
 * follows the need-wakeup protocol of uapi/l3l2q.h: it arms (W1, W2)
 * under the token, with the counter value the token holder last sampled
 * (its own copy, never read back from the shared seen word), re-checks
 * (W3) and sleeps on that value (W4).  The others park on the direction's
 * gen word (the park hook, a futex in user space) until the leader wakes
 * and bumps it.  So one kick wakes every waiter of the direction, and a
 * waiter never sleeps on an eventfd whose kick another waiter of the same
 * direction already took.
 *
 * No lost wake-up between a parked thread and its leader: a thread reads
 * gen before it tries to become the leader; a leader clears the leader
 * word before it bumps gen.  So either the thread becomes the leader
 * itself, or the leader it lost to bumps gen after the thread's read, and
 * the park (which compares gen with that read) returns at once.
 */
#include "mp_internal.h"

struct mp_wait {
	struct l3l2q_mp *mp;
	struct l3l2q_mp_dir *d;
	int is_in;
	__u32 op;
	__u64 deadline_ns;
	int (*attempt)(void *arg);
	void *arg;
	int can_sleep;
};

/* The peer is gone and nothing more came: the remote-aborted state. */
static int remote_abort(struct mp_wait *w, const char *why)
{
	int ret;

	l3l2q__mp_lock(w->mp);
	ret = l3l2q__ep_check(w->mp->q, L3L2Q_ROLE_L3, w->op);
	if (!ret)
		ret = l3l2q__remote_abort(&w->mp->q->ep, w->op, why);
	mp_set_dead(w->mp);
	l3l2q__mp_put(w->mp);
	return ret;
}

/*
 * W1-W4 for the leader, then wake the parked threads.  The attempt's
 * result if W3 made progress or failed, else -EAGAIN (wait on), or the
 * error that ends the wait.
 */
static int lead(struct mp_wait *w)
{
	struct l3l2q_mp *mp = w->mp;
	struct l3l2q_l3 *q = mp->q;
	struct l3l2q_ep *ep = &q->ep;
	__u32 bit = w->is_in ? L3L2Q_WAKE_INPUT_SPACE : L3L2Q_WAKE_OUTPUT_AVAIL;
	__u32 ctr = w->is_in ? L3L2Q_CTR_INPUT_HEAD : L3L2Q_CTR_OUTPUT_TAIL;
	__s32 seen;
	int ret, r = 0;

	l3l2q__mp_lock(mp);
	l3l2q_ep_want_wakeup(ep, bit);				/* W1, W2 */
	seen = w->is_in ? l3l2q_low32(q->in.head) : l3l2q_low32(q->out.tail);
	ep->dir[w->is_in ? L3L2Q_DIR_INPUT : L3L2Q_DIR_OUTPUT].stats.sleeps++;
	l3l2q__mp_put(mp);
	ret = w->attempt(w->arg);				/* W3 */
	if (ret == -EAGAIN)
		r = ep->env.sleep(ep->env.ctx, ctr, seen, w->deadline_ns); /* W4 */
	l3l2q__mp_lock(mp);
	l3l2q_ep_clear_wakeup(ep, bit);
	l3l2q__mp_put(mp);
	mp_st_rel32(&w->d->leader, 0);
	/* Release: a thread that reads the new gen sees leader 0. */
	atomic_fetch_add_explicit((_Atomic __u32 *)&w->d->gen, 1,
				  memory_order_release);
	if (mp->unpark)
		mp->unpark(mp->ctx, &w->d->gen);
	if (ret != -EAGAIN)
		return ret;
	/* A transport that cannot sleep (an older driver): spin. */
	if (r == -ENOTTY || r == -EOPNOTSUPP) {
		w->can_sleep = 0;
		return -EAGAIN;
	}
	if (r && r != -ETIMEDOUT && r != -ECONNRESET && r != -EINTR)
		return l3l2q__mp_reject(mp, -r, L3L2Q_ERR_ENDPOINT_ERROR, w->op,
					"sleeping failed", 0, NULL, 0, NULL);
	return -EAGAIN;
}

static int sleep_once(struct mp_wait *w)
{
	struct l3l2q_mp *mp = w->mp;
	__u32 g;
	int ret;

	g = mp_ld_acq32(&w->d->gen);	/* before the leader word: see top */
	if (mp_cas_acq32(&w->d->leader, 0, 1))
		return lead(w);
	ret = w->attempt(w->arg);
	if (ret != -EAGAIN)
		return ret;
	if (mp->park)
		mp->park(mp->ctx, &w->d->gen, g, w->deadline_ns);
	else
		l3l2q__mp_relax(mp);
	return -EAGAIN;
}

static int wait(struct mp_wait *w)
{
	struct l3l2q_ep *ep = &w->mp->q->ep;
	__u32 budget = ep->env.spin_attempts ? ep->env.spin_attempts :
		       L3L2Q_SPIN_ATTEMPTS_DEFAULT;
	__u32 spins = 0, tries = 0;
	const char *why;
	int ret, check = 0;

	w->can_sleep = ep->env.sleep && ep->own_wake;
	for (;;) {
		ret = w->attempt(w->arg);
		if (ret != -EAGAIN)
			return ret;
		/* The clock and the peer rarely (pitfalls P4, P16). */
		if (check || !w->deadline_ns || !ep->env.now_ns ||
		    ++spins >= L3L2Q_SPINS_PER_CLOCK) {
			check = 0;
			spins = 0;
			if (l3l2q__peer_gone(ep, &why)) {
				/* What it published before dying still counts. */
				ret = w->attempt(w->arg);
				if (ret == -EAGAIN)
					ret = remote_abort(w, why);
				return ret;
			}
			if (w->deadline_ns != L3L2Q_DEADLINE_NONE &&
			    (!ep->env.now_ns ||
			     ep->env.now_ns(ep->env.ctx) >= w->deadline_ns))
				return l3l2q__mp_reject(w->mp, ETIMEDOUT,
							L3L2Q_ERR_TIMEOUT, w->op,
							"timed out; the peer is alive",
							0, NULL, 0, NULL);
		}
		if (w->can_sleep && ++tries >= budget) {
			tries = 0;
			ret = sleep_once(w);
			if (ret != -EAGAIN)
				return ret;
			check = 1;
			continue;
		}
		l3l2q__mp_relax(w->mp);
	}
}

/* ---- MP ---- */

struct enq_args {
	struct l3l2q_l3 *q;
	__u64 opcode;
	const void *buf;
	__u64 n;
	struct l3l2q_res *res;
};

static int reserve_once(void *arg)
{
	struct enq_args *a = arg;

	return l3l2q_l3_mp_try_reserve(a->q, a->n, a->res);
}

static int enqueue_once(void *arg)
{
	struct enq_args *a = arg;

	return l3l2q_l3_mp_try_enqueue(a->q, a->opcode, a->buf, a->n);
}

static int stop_once(void *arg)
{
	struct enq_args *a = arg;

	return l3l2q_l3_mp_try_request_stop(a->q);
}

static int in_wait(struct l3l2q_l3 *q, __u32 op, __u64 deadline_ns,
		   int (*attempt)(void *), struct enq_args *a)
{
	struct mp_wait w = { q->mp, &q->mp->in, 1, op, deadline_ns, attempt,
			     a, 0 };

	if (!mp_mode(q, L3L2Q_MP_PRODUCERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_PRODUCERS, op);
	return wait(&w);
}

int l3l2q_l3_mp_reserve(struct l3l2q_l3 *q, __u64 n, __u64 deadline_ns,
			struct l3l2q_res *res)
{
	struct enq_args a = { q, 0, (const void *)0, n, res };

	return in_wait(q, L3L2Q_EOP_INPUT_TRY_RESERVE, deadline_ns,
		       reserve_once, &a);
}

int l3l2q_l3_mp_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
			__u64 n, __u64 deadline_ns)
{
	struct enq_args a = { q, opcode, buf, n, (struct l3l2q_res *)0 };

	return in_wait(q, L3L2Q_EOP_INPUT_ENQUEUE, deadline_ns, enqueue_once,
		       &a);
}

int l3l2q_l3_mp_request_stop(struct l3l2q_l3 *q, __u64 deadline_ns)
{
	struct enq_args a = { q, 0, (const void *)0, 0,
			      (struct l3l2q_res *)0 };

	return in_wait(q, L3L2Q_EOP_REQUEST_STOP, deadline_ns, stop_once, &a);
}

/* ---- MC ---- */

struct deq_args {
	struct l3l2q_l3 *q;
	void *buf;
	__u64 cap;
	struct l3l2q_msg *msg;
};

static int peek_once(void *arg)
{
	struct deq_args *a = arg;

	return l3l2q_l3_mc_try_peek(a->q, a->msg);
}

static int dequeue_once(void *arg)
{
	struct deq_args *a = arg;

	return l3l2q_l3_mc_try_dequeue(a->q, a->buf, a->cap, a->msg);
}

static int out_wait(struct l3l2q_l3 *q, __u64 deadline_ns,
		    int (*attempt)(void *), struct deq_args *a)
{
	struct mp_wait w = { q->mp, &q->mp->out, 0,
			     L3L2Q_EOP_OUTPUT_TRY_PEEK, deadline_ns, attempt,
			     a, 0 };

	if (!mp_mode(q, L3L2Q_MP_CONSUMERS))
		return l3l2q__mp_not_mode(q, L3L2Q_MP_CONSUMERS,
					  L3L2Q_EOP_OUTPUT_TRY_PEEK);
	return wait(&w);
}

int l3l2q_l3_mc_peek(struct l3l2q_l3 *q, __u64 deadline_ns,
		     struct l3l2q_msg *msg)
{
	struct deq_args a = { q, (void *)0, 0, msg };

	return out_wait(q, deadline_ns, peek_once, &a);
}

int l3l2q_l3_mc_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
			__u64 deadline_ns, struct l3l2q_msg *msg)
{
	struct deq_args a = { q, buf, cap, msg };

	return out_wait(q, deadline_ns, dequeue_once, &a);
}
