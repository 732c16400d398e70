// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_poller.c - waking sleepers whose peer never kicks.
 *
 * A peer that does not take part in the need-wakeup protocol - device code
 * written for the upstream ABI alone, a device without interrupts, a
 * process that never calls KICK - never tells the kernel that it moved a
 * counter.  Whoever sleeps waiting for it would sleep until its deadline
 * while the answer sits in the ring.  So the kernel polls on its behalf,
 * for every backend alike:
 *
 * The decision rule (uapi/l3l2q.h, feature words), per role and tick:
 *   poll for @role's sleepers  iff  someone waits on @role (a blocked WAIT,
 *   a poll/epoll registration, a registered eventfd or a pending io_uring
 *   WAIT; for signals a sleeping SIG_WAIT, a SIG_WATCH or a poller)  and
 *   its peer is alive  and  the peer's feature word, read once,
 *   lacks L3L2Q_FEAT_KICKS (or the peer is a device that cannot interrupt
 *   the host at all: l3l2q_backend_ops.l2_can_kick).
 *
 * One hrtimer per region, armed only while that holds for one of its
 * roles.  Each tick reads the words the role's waits depend on (the kind's
 * watch_word(): for a queue the two counters the role may WAIT on and the
 * peer's abort flag), each once, compares them with the previous tick's
 * copy and, if one moved, wakes the role as the peer's kick would
 * (l3l2q_wake_role()): blocked WAITs re-check, poll/epoll re-evaluate, the
 * eventfd is signalled, io_uring WAITs whose condition holds complete.
 *
 * No wake-up is lost: a waiter registers (wait queue, eventfd, io_uring
 * list) and calls l3l2q_poller_want() before its last check of the
 * counter, and want() takes a first copy of the words if the role was not
 * being watched.  So the copy a tick compares with is never younger than
 * the waiter's last check, and any move after that check is seen.
 *
 * A kind whose waiters judge their own condition (signals: a 64-bit slot
 * compared with each waiter's target, kmod/l3l2q_sigwait.c) has no few
 * words to copy: it gives poll_ready() instead of watch_word(), and each
 * tick asks it, for a role waited on (an entry on end->wq), whether a wake
 * would end one of the waits now - each waiter's own compare, made on the
 * slots as they are.  If so, the role is woken as above and each waiter's
 * wake function decides again for itself.  Nothing is compared with an
 * earlier tick, so nothing is lost either: a waiter is on end->wq and has
 * called want() (which keeps the timer running while the role is waited)
 * before it sleeps, and the first tick that reads a slot after a store
 * finds the waiter and the store.  Such a waiter is woken at most
 * poll_max_us (plus timer slack) after its compare holds.
 *
 * The interval adapts: poll_min_us after a word moved or a new waiter
 * came, then doubling up to poll_max_us while nothing moves (for a kind
 * with poll_ready(), a wake does not shorten it: see the tick).  A sleeper
 * is woken at most poll_max_us (plus timer slack) after its word moves.
 *
 * CPU cost, per region being polled: one timer interrupt per interval,
 * each reading at most L3L2Q_POLL_WORDS + 1 words per waiting role and
 * taking two spinlocks, plus one wake-up when a word moved (for signals:
 * each waiter's compare, at most L3L2Q_SIG_WAITERS_MAX waiters of
 * L3L2Q_SIG_WAITV_MAX slots each, as one kick of the role costs).  With the
 * defaults that is at most 20000 ticks per second while words keep moving
 * and 100 per second once the peer is idle; nothing at all while nobody
 * waits or the peer kicks.
 *
 * The words are user (or device) memory: each is read once per tick with
 * READ_ONCE(), only compared and never used as an index; the feature word
 * only steers waiting.
 */
#include <linux/bits.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "l3l2q_internal.h"

static unsigned int l3l2q_poll_min_us = 50;
module_param_named(poll_min_us, l3l2q_poll_min_us, uint, 0644);
MODULE_PARM_DESC(poll_min_us,
		 "Poller: interval after a word moved, in us (for peers that never kick)");

static unsigned int l3l2q_poll_max_us = 10000;
module_param_named(poll_max_us, l3l2q_poll_max_us, uint, 0644);
MODULE_PARM_DESC(poll_max_us,
		 "Poller: longest interval while nothing moves, in us (the worst wake-up latency)");

/* The intervals in force, sane whatever was written to the parameters. */
static void l3l2q_poll_bounds(u32 *min, u32 *max)
{
	*min = clamp(READ_ONCE(l3l2q_poll_min_us), 10u, 1000000u);
	*max = clamp(READ_ONCE(l3l2q_poll_max_us), *min, 1000000u);
}

static ktime_t l3l2q_us(u32 us)
{
	return ns_to_ktime((u64)us * NSEC_PER_USEC);
}

/*
 * The decision rule above, but for the waiters: must @role's sleepers be
 * polled for?  A dead peer moves nothing more and every wait of its
 * survivor has ended; a region whose memory is gone has nothing to read.
 */
static bool l3l2q_poll_needed(struct l3l2q_region *r, enum l3l2q_end_role role)
{
	enum l3l2q_end_role peer = L3L2Q_NR_ENDS - 1 - role;
	const struct l3l2q_backend_ops *ops = r->dev->ops;
	u32 feat;

	if (!r->kind->watch_word && !r->kind->poll_ready)
		return false;
	if (READ_ONCE(r->state[peer]) == L3L2Q_ROLE_DEAD)
		return false;
	if (!l3l2q_mem_enter(r)) {
		l3l2q_mem_exit(r);
		return false;
	}
	feat = READ_ONCE(*l3l2q_ctrl_word(r, peer == L3L2Q_END_L3 ?
					  L3L2Q_CTRL_L3_FEATURES :
					  L3L2Q_CTRL_L2_FEATURES));
	l3l2q_mem_exit(r);
	if (peer == L3L2Q_END_L2 && ops->l2_can_kick && !ops->l2_can_kick(r))
		return true;
	return !(feat & L3L2Q_FEAT_KICKS);
}

/* @role's watched words, each read once; false if the memory is gone. */
static bool l3l2q_poll_sample(struct l3l2q_region *r, enum l3l2q_end_role role,
			      u32 now[L3L2Q_POLL_WORDS])
{
	unsigned int i;
	u32 *word;

	memset(now, 0, L3L2Q_POLL_WORDS * sizeof(*now));
	if (!l3l2q_mem_enter(r)) {
		l3l2q_mem_exit(r);
		return false;
	}
	for (i = 0; i < L3L2Q_POLL_WORDS; i++) {
		word = r->kind->watch_word(r, role, i);
		if (!word)
			break;
		now[i] = READ_ONCE(*word);
	}
	l3l2q_mem_exit(r);
	return true;
}

/*
 * Does anyone wait on @end?  Each waiter registers before it calls
 * l3l2q_poller_want(), and a tick takes the poller's lock after that call
 * released it, so no further barrier is needed for waitqueue_active().
 */
static bool l3l2q_end_waited(struct l3l2q_end *end)
{
	unsigned long flags;
	bool ret;

	/* Ordered by p->lock, see above. */
	if (waitqueue_active(&end->wq))
		return true;
	spin_lock_irqsave(&end->lock, flags);
	ret = end->evfd || end->nr_upending;
	spin_unlock_irqrestore(&end->lock, flags);
	return ret;
}

/*
 * For a kind with poll_ready() (signals): is @end waited on, and would a
 * wake end one of its waits now?  Its waiters are all entries of end->wq
 * that judge their own condition; a registered SET_EVENTFD eventfd has no
 * condition of its own to poll for.
 */
static bool l3l2q_end_ready(struct l3l2q_region *r, struct l3l2q_end *end,
			    bool *waited)
{
	/* Ordered by p->lock, as in l3l2q_end_waited(). */
	*waited = waitqueue_active(&end->wq);
	return *waited && l3l2q_poll_needed(r, end->role) &&
	       r->kind->poll_ready(end);
}

/*
 * Arm the timer @us from now.  Always hrtimer_start() under p->lock, never
 * a restart from the callback, so want() may re-arm it at any time.
 */
static void l3l2q_poller_arm_locked(struct l3l2q_poller *p, u32 us)
{
	lockdep_assert_held(&p->lock);
	p->interval_us = us;
	hrtimer_start(&p->timer, l3l2q_us(us), HRTIMER_MODE_REL);
}

/*
 * One tick, in hard interrupt context.  Which roles are waited on is
 * looked at first (end->lock, never taken under p->lock: io_uring calls
 * want() under end->lock; for signals, with the waiters' own compares,
 * end->wq.lock, never under p->lock either); the copies are compared and
 * replaced under p->lock, so a want() never has its first copy
 * overwritten unseen; the wake-ups come last, outside p->lock.
 */
static enum hrtimer_restart l3l2q_poller_tick(struct hrtimer *timer)
{
	struct l3l2q_poller *p = container_of(timer, struct l3l2q_poller,
					      timer);
	struct l3l2q_region *r = container_of(p, struct l3l2q_region, poller);
	bool waited[L3L2Q_NR_ENDS], ready[L3L2Q_NR_ENDS] = { false };
	bool judged = r->kind->poll_ready;
	u32 now[L3L2Q_POLL_WORDS], min, max;
	unsigned long flags;
	u8 wake = 0, wanted;
	int role;

	atomic64_inc(&p->nr_ticks);
	for (role = 0; role < L3L2Q_NR_ENDS; role++) {
		if (judged)
			ready[role] = l3l2q_end_ready(r, &r->ends[role],
						      &waited[role]);
		else
			waited[role] = l3l2q_end_waited(&r->ends[role]);
	}

	l3l2q_poll_bounds(&min, &max);
	spin_lock_irqsave(&p->lock, flags);
	wanted = p->wanted;
	p->wanted = 0;
	for (role = 0; role < L3L2Q_NR_ENDS; role++) {
		u8 bit = BIT(role);

		if (p->dead || !(waited[role] || (wanted & bit)) ||
		    !l3l2q_poll_needed(r, role) ||
		    (!judged && !l3l2q_poll_sample(r, role, now))) {
			p->active &= ~bit;
			continue;
		}
		if (judged) {
			/* No copy: the waiters' own compares, just made. */
			if (ready[role])
				wake |= bit;
			p->active |= bit;
			continue;
		}
		if ((p->active & bit) && memcmp(now, p->snap[role], sizeof(now)))
			wake |= bit;
		memcpy(p->snap[role], now, sizeof(now));
		p->active |= bit;
	}
	if (!p->active) {
		p->running = false;
	} else {
		/*
		 * Short after a move or a new waiter, else back off.  A
		 * judged wake is no move: a woken sleeper that has not run
		 * yet is still ready, and waking it on every short tick
		 * would spin; what goes on waiting calls want() again.
		 */
		l3l2q_poller_arm_locked(p, ((wake && !judged) || wanted) ?
					min : min_t(u32, p->interval_us * 2,
						    max));
	}
	spin_unlock_irqrestore(&p->lock, flags);

	for (role = 0; role < L3L2Q_NR_ENDS; role++) {
		if (!(wake & BIT(role)))
			continue;
		atomic64_inc(&p->nr_wakes);
		l3l2q_wake_role(r, role);
	}
	return HRTIMER_NORESTART;
}

/**
 * l3l2q_poller_init() - set up @r's poller, idle
 * @r: a region being created
 */
void l3l2q_poller_init(struct l3l2q_region *r)
{
	struct l3l2q_poller *p = &r->poller;

	spin_lock_init(&p->lock);
	hrtimer_init(&p->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	p->timer.function = l3l2q_poller_tick;
	atomic64_set(&p->nr_ticks, 0);
	atomic64_set(&p->nr_wakes, 0);
}

/**
 * l3l2q_poller_destroy() - stop @r's poller for good
 * @r: a region being freed: no role file, so no waiter, is left
 *
 * Returns once the timer is neither queued nor running.
 */
void l3l2q_poller_destroy(struct l3l2q_region *r)
{
	struct l3l2q_poller *p = &r->poller;
	unsigned long flags;

	spin_lock_irqsave(&p->lock, flags);
	p->dead = true;
	spin_unlock_irqrestore(&p->lock, flags);
	hrtimer_cancel(&p->timer);
}

/**
 * l3l2q_poller_want() - @end has a new waiter: poll for it if need be
 * @end: the role waited on
 *
 * For a blocked WAIT, a poll/epoll registration, an eventfd, an io_uring
 * WAIT.  Call it after the waiter is registered and before its last check
 * of the counter it waits on.  Cheap when the peer kicks: one read of its
 * feature word.  Any context but NMI; callers may hold end->lock.
 */
void l3l2q_poller_want(struct l3l2q_end *end)
{
	struct l3l2q_region *r = end->r;
	struct l3l2q_poller *p = &r->poller;
	u32 now[L3L2Q_POLL_WORDS], min, max;
	u8 bit = BIT(end->role);
	unsigned long flags;

	if (!l3l2q_poll_needed(r, end->role))
		return;
	l3l2q_poll_bounds(&min, &max);
	spin_lock_irqsave(&p->lock, flags);
	if (p->dead)
		goto out_unlock;
	p->wanted |= bit;
	/* The first copy, older than the waiter's last check. */
	if (r->kind->poll_ready) {
		p->active |= bit;	/* nothing to copy */
	} else if (!(p->active & bit) &&
		   l3l2q_poll_sample(r, end->role, now)) {
		memcpy(p->snap[end->role], now, sizeof(now));
		p->active |= bit;
	}
	if (!p->running) {
		p->running = true;
		l3l2q_poller_arm_locked(p, min);
	} else if (ktime_compare(hrtimer_get_remaining(&p->timer),
				 l3l2q_us(min)) > 0) {
		/* Starting short; never postponing a tick that is due. */
		l3l2q_poller_arm_locked(p, min);
	}
out_unlock:
	spin_unlock_irqrestore(&p->lock, flags);
}

/**
 * l3l2q_poller_show() - the poller's state and counts, for debugfs
 * @m: the region's debugfs file
 * @r: the region
 */
void l3l2q_poller_show(struct seq_file *m, struct l3l2q_region *r)
{
	struct l3l2q_poller *p = &r->poller;
	unsigned long flags;
	bool running;
	u32 interval;
	u8 active;

	spin_lock_irqsave(&p->lock, flags);
	running = p->running;
	active = p->active;
	interval = p->interval_us;
	spin_unlock_irqrestore(&p->lock, flags);
	seq_printf(m, "poller: %s\n", running ? "running" : "idle");
	seq_printf(m, "poller_roles: %#x\n", active);
	seq_printf(m, "poller_interval_us: %u\n", interval);
	seq_printf(m, "poller_ticks: %lld\n", atomic64_read(&p->nr_ticks));
	seq_printf(m, "poller_wakes: %lld\n", atomic64_read(&p->nr_wakes));
}
