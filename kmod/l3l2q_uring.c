// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_uring.c - WAIT as an io_uring command (IORING_OP_URING_CMD on a
 * role file, cmd_op L3L2Q_IOC_WAIT, struct l3l2q_wait_args as the 16-byte
 * payload).
 *
 * Results (the CQE's res):
 *   0            the counter differs from seen
 *   -ETIMEDOUT   the deadline passed with the counter unchanged (see the
 *                cap below)
 *   -ECONNRESET  the peer role is dead and the counter unchanged
 *   -ENODEV      the region's device was removed
 *   -ECANCELED   io_uring cancelled the command (its task exited or its
 *                ring went away; 6.7+ only), or the role's last fd and
 *                mapping went away while the command kept the role alive
 *   -EBUSY       uring_max_pending commands of this role are pending
 *   -ENOMEM      no memory for the command's state
 *   -EINVAL      bad counter for this role, flags != 0
 *   -ENOTTY      cmd_op is not L3L2Q_IOC_WAIT (L3L2Q_IOC_SIG_WAIT, the
 *                signals kind's, is l3l2q_siguring.c's)
 * A command whose result is known at issue completes at once; the others
 * are queued (-EIOCBQUEUED) and complete later.
 *
 * Bounded work.  What a user can queue is bounded, and so is what any one
 * kernel step does with it:
 *
 *   - A role has at most uring_max_pending (module parameter) commands
 *     pending; one more gets -EBUSY.  Each pending command has a small
 *     state (struct l3l2q_ucmd) allocated at issue and charged to the
 *     issuer's memory cgroup; the 32-byte pdu holds only its address.
 *   - Pending commands sit in a tree sorted by (counter, seen): the ones
 *     that saw the same value of the same word form a group.  A wake-up (a
 *     KICK, the peer's death, a device's interrupt) reads each word once
 *     and skips a group whose value still holds in one tree search, so a
 *     wake-up that ends nothing costs O(words x log n), not O(n).
 *   - Deadlines sit in a timerqueue, which finds the earliest in O(1).
 *     One hrtimer per role fires at it and only queues the role's work.
 *   - Completions are done at most L3L2Q_URING_BATCH per wake-up under the
 *     role's lock (which is taken with interrupts off); the rest, and every
 *     expiry, are done by that work in process context, in batches of
 *     L3L2Q_URING_WORK_BATCH, re-queueing itself between batches.
 *
 * Exactly-once completion: a queued command is linked in end->uwaits under
 * end->lock, and whoever unlinks it there - a wake-up, the work (deadline,
 * left-over wake-up, cancel of a role nobody holds), the role's release,
 * io_uring's cancel, or the issue path's own re-check - is the one that
 * completes it.  Completion goes through io_uring_cmd_complete_in_task(),
 * which is safe from any context, and the callback frees the state and
 * calls io_uring_cmd_done() with the issue_flags it is given.  The cancel
 * handler is the exception: io_uring calls it under its own lock and wants
 * io_uring_cmd_done() right there.
 *
 * Kernels without cancelable uring_cmds (6.1): io_uring never cancels a
 * queued command, not even when its task exits; the command holds its role
 * file, and with it the module, until the driver completes it.  There
 * every queued command is therefore given a deadline of at most
 * uring_max_wait_ms (module parameter, default 10 s) after its issue: when
 * that cap, not the caller's deadline, runs out the command completes with
 * -ETIMEDOUT like any deadline, and a caller whose own deadline is later
 * re-checks and submits again.  The cap is one more timerqueue entry, so
 * N staggered commands cost O(N log N), not a scan per expiry.  Where
 * io_uring cancels commands (6.7+) the cap does not apply: a command
 * without a deadline waits for ever, and a task's exit cancels it at once.
 *
 * A pending command holds its role file (unless it was issued on a
 * registered file, which the ring holds instead).  So that a WAIT cannot
 * keep a role alive that nobody else holds, the role's last close() and
 * last munmap() (l3l2q_uring_user_gone()) cancel its pending commands
 * when those are all that is left: they complete with -ECANCELED, the file
 * is released and the peer sees the role die.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timerqueue.h>
#include <linux/workqueue.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"
#include "l3l2q_trace.h"

/* Completions per wake-up under the role's lock; the work does the rest. */
#define L3L2Q_URING_BATCH	32u
/* Completions per run of the role's work, which then re-queues itself. */
#define L3L2Q_URING_WORK_BATCH	256u

static unsigned int l3l2q_uring_max_wait_ms = 10000;
module_param_named(uring_max_wait_ms, l3l2q_uring_max_wait_ms, uint, 0644);
MODULE_PARM_DESC(uring_max_wait_ms,
		 "Kernels without io_uring command cancellation (6.1): longest a queued io_uring WAIT stays queued, in ms (then -ETIMEDOUT)");

static unsigned int l3l2q_uring_max_pending = 4096;
module_param_named(uring_max_pending, l3l2q_uring_max_pending, uint, 0644);
MODULE_PARM_DESC(uring_max_pending,
		 "io_uring WAIT commands one role may have pending (beyond: -EBUSY)");

/*
 * A pending command's state.  @wnode is in end->uwaits while @linked;
 * @tnode is in end->udeadlines while it is queued there.  Freed by whoever
 * completes the command: the task-work callback, or the cancel handler.
 */
struct l3l2q_ucmd {
	struct rb_node wnode;
	struct timerqueue_node tnode;
	struct io_uring_cmd *ioucmd;
	u64 seq;			/* issue order, the tree's last key */
	s32 seen;
	u16 counter;
	bool linked;			/* protected by end->lock */
	bool holds_file;		/* counted in end->nr_ufile */
	int res;			/* set by whoever unlinked it */
};

/* What the command's pdu holds. */
struct l3l2q_ucmd_pdu {
	struct l3l2q_ucmd *u;
};

static struct l3l2q_ucmd **l3l2q_ucmd_slot(struct io_uring_cmd *ioucmd)
{
	return &l3l2q_uring_cmd_to_pdu(ioucmd, struct l3l2q_ucmd_pdu)->u;
}

/* The order of end->uwaits: counter, then seen, then issue order. */
static int l3l2q_ucmd_cmp(u16 counter, s32 seen, u64 seq,
			  const struct l3l2q_ucmd *u)
{
	if (counter != u->counter)
		return counter < u->counter ? -1 : 1;
	if (seen != u->seen)
		return (u32)seen < (u32)u->seen ? -1 : 1;
	if (seq != u->seq)
		return seq < u->seq ? -1 : 1;
	return 0;
}

static bool l3l2q_ucmd_less(struct rb_node *a, const struct rb_node *b)
{
	const struct l3l2q_ucmd *ua = rb_entry(a, struct l3l2q_ucmd, wnode);
	const struct l3l2q_ucmd *ub = rb_entry(b, struct l3l2q_ucmd, wnode);

	return l3l2q_ucmd_cmp(ua->counter, ua->seen, ua->seq, ub) < 0;
}

/* The first pending command after the group (@counter, @seen), or NULL. */
static struct rb_node *l3l2q_uring_after(struct l3l2q_end *end, u16 counter,
					 s32 seen)
{
	struct rb_node *n = end->uwaits.rb_root.rb_node, *best = NULL;

	while (n) {
		if (l3l2q_ucmd_cmp(counter, seen, U64_MAX,
				   rb_entry(n, struct l3l2q_ucmd, wnode)) < 0) {
			best = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

/* Task-work callback: post the CQE with the result its unlinker chose. */
static void l3l2q_uring_done(struct io_uring_cmd *ioucmd,
			     unsigned int issue_flags)
{
	struct l3l2q_ucmd *u = *l3l2q_ucmd_slot(ioucmd);
	int res = u->res;

	kfree(u);
	io_uring_cmd_done(ioucmd, res, 0, issue_flags);
}

static void l3l2q_uring_unlink_locked(struct l3l2q_end *end,
				      struct l3l2q_ucmd *u)
{
	lockdep_assert_held(&end->lock);
	rb_erase_cached(&u->wnode, &end->uwaits);
	if (timerqueue_node_queued(&u->tnode))
		timerqueue_del(&end->udeadlines, &u->tnode);
	u->linked = false;
	end->nr_upending--;
	if (u->holds_file)
		end->nr_ufile--;
	atomic64_dec(&end->r->nr_uring_pending);
}

/*
 * Unlink @u and complete it with @res.  Caller holds end->lock and found
 * @u linked: it is now the command's one completer.  @u may be freed as
 * soon as this returns.
 */
static void l3l2q_uring_complete_locked(struct l3l2q_end *end,
					struct l3l2q_ucmd *u, int res)
{
	l3l2q_uring_unlink_locked(end, u);
	u->res = res;
	trace_l3l2q_uring_complete(end->r->id, end->role, u->counter, u->seen,
				   res, true);
	io_uring_cmd_complete_in_task(u->ioucmd, l3l2q_uring_done);
}

/*
 * Complete the pending commands whose word moved; with @force, or once the
 * peer is dead or aborted, all of them (-ECONNRESET where the word did not
 * move; -ENODEV once the region's memory is gone).  At
 * most *@budget completions; returns true if it stopped on the budget.
 *
 * Each word is read once per scan, and a group whose value still holds is
 * passed over with one tree search: the cost is the completions plus
 * O(log n) per word that commands wait on.
 */
static bool l3l2q_uring_scan_locked(struct l3l2q_end *end, bool force,
				    unsigned int *budget)
{
	struct rb_node *n = rb_first_cached(&end->uwaits);
	struct l3l2q_ucmd *u;
	bool more = false;
	u64 scanned = 0;
	u16 counter;
	s32 now = 0;
	bool dead;
	int gone;

	lockdep_assert_held(&end->lock);
	while (n) {
		u = rb_entry(n, struct l3l2q_ucmd, wnode);
		counter = u->counter;
		/* The word before the death: a change is reported first. */
		gone = l3l2q_wait_word_get(end, counter, &now);
		dead = force || gone || l3l2q_wait_peer_gone(end);
		while (n) {
			u = rb_entry(n, struct l3l2q_ucmd, wnode);
			if (u->counter != counter)
				break;
			scanned++;
			if (u->seen == now && !dead) {
				/* Still asleep: the whole group at once. */
				n = l3l2q_uring_after(end, counter, now);
				continue;
			}
			if (!*budget) {
				more = true;
				goto out;
			}
			n = rb_next(n);
			/* -ENODEV: the region's device was removed. */
			l3l2q_uring_complete_locked(end, u, gone ? gone :
						    u->seen != now ?
						    0 : -ECONNRESET);
			(*budget)--;
		}
	}
out:
	atomic64_add(scanned, &end->r->nr_uring_scanned);
	return more;
}

/*
 * Complete the commands whose deadline is not after @now: a last look at
 * their word gives 0 if it moved, -ECONNRESET if the peer died, else
 * -ETIMEDOUT.  At most *@budget; returns true if it stopped on it.
 */
static bool l3l2q_uring_expire_locked(struct l3l2q_end *end, ktime_t now,
				      unsigned int *budget)
{
	struct timerqueue_node *t;
	struct l3l2q_ucmd *u;
	int res;

	lockdep_assert_held(&end->lock);
	while ((t = timerqueue_getnext(&end->udeadlines)) &&
	       ktime_compare(t->expires, now) <= 0) {
		if (!*budget)
			return true;
		u = container_of(t, struct l3l2q_ucmd, tnode);
		res = l3l2q_wait_cond(end, u->counter, u->seen);
		if (res == -EAGAIN) {
			res = -ETIMEDOUT;
			atomic64_inc(&end->r->nr_uring_expired);
		}
		l3l2q_uring_complete_locked(end, u, res);
		(*budget)--;
	}
	return false;
}

/* Cancel every pending command (-ECANCELED), at most *@budget of them. */
static bool l3l2q_uring_cancel_all_locked(struct l3l2q_end *end,
					  unsigned int *budget)
{
	struct rb_node *n;

	lockdep_assert_held(&end->lock);
	while ((n = rb_first_cached(&end->uwaits))) {
		if (!*budget)
			return true;
		l3l2q_uring_complete_locked(end, rb_entry(n, struct l3l2q_ucmd,
							  wnode), -ECANCELED);
		(*budget)--;
	}
	end->ucancel = false;
	return false;
}

/* Arm the role's timer for the earliest deadline, unless it fires sooner. */
static void l3l2q_uring_arm_locked(struct l3l2q_end *end)
{
	struct timerqueue_node *t = timerqueue_getnext(&end->udeadlines);

	lockdep_assert_held(&end->lock);
	if (!t)
		return;
	if (hrtimer_is_queued(&end->timer) &&
	    ktime_compare(hrtimer_get_expires(&end->timer), t->expires) <= 0)
		return;
	hrtimer_start(&end->timer, t->expires, HRTIMER_MODE_ABS);
}

/*
 * The role's work: one batch of cancels, left-over wake-ups and expiries,
 * then the timer re-armed for what is left; another run is queued if the
 * batch did not finish.  Process context, and short: the CPU goes back to
 * the scheduler between batches.
 */
static void l3l2q_uring_work_fn(struct work_struct *work)
{
	struct l3l2q_end *end = container_of(work, struct l3l2q_end, uwork);
	unsigned int budget = L3L2Q_URING_WORK_BATCH;
	unsigned long flags;
	bool more = false;

	spin_lock_irqsave(&end->lock, flags);
	if (end->ucancel)
		more |= l3l2q_uring_cancel_all_locked(end, &budget);
	more |= l3l2q_uring_scan_locked(end, false, &budget);
	more |= l3l2q_uring_expire_locked(end, ktime_get(), &budget);
	l3l2q_uring_arm_locked(end);
	spin_unlock_irqrestore(&end->lock, flags);
	if (more)
		queue_work(system_unbound_wq, &end->uwork);
}

/*
 * The earliest deadline passed.  Hard interrupt context: no command is
 * touched here, the work expires them.
 */
static enum hrtimer_restart l3l2q_uring_timer_fn(struct hrtimer *timer)
{
	struct l3l2q_end *end = container_of(timer, struct l3l2q_end, timer);

	queue_work(system_unbound_wq, &end->uwork);
	return HRTIMER_NORESTART;
}

/**
 * l3l2q_uring_wake_locked() - complete the io_uring WAITs a wake-up ends
 * @end: the role being woken; the caller holds @end->lock
 * @force: complete every pending command, whatever its word says
 *
 * Completes the pending commands whose word moved, or all of them when
 * the peer is dead or @force (-ECONNRESET where the word did not move).
 * At most L3L2Q_URING_BATCH are completed here; the role's work does the
 * rest.  @force is for the role's release, when no command can be pending
 * (each holds the file) and any left must not outlive the role: it
 * completes them all, which uring_max_pending bounds.  Any context.
 */
void l3l2q_uring_wake_locked(struct l3l2q_end *end, bool force)
{
	unsigned int budget = force ? UINT_MAX : L3L2Q_URING_BATCH;

	lockdep_assert_held(&end->lock);
	if (RB_EMPTY_ROOT(&end->uwaits.rb_root))
		return;
	if (l3l2q_uring_scan_locked(end, force, &budget))
		queue_work(system_unbound_wq, &end->uwork);
}

/**
 * l3l2q_uring_user_gone() - a user of a role file went away
 * @end: the role
 * @file: its file, whose reference the caller still holds
 *
 * Called when an fd of the role file is closed (->flush) and when a
 * mapping of it goes (vm_ops->close).  If what is left of the file's
 * references, beyond the caller's, are the role's own pending io_uring
 * WAITs, nobody holds the role any more but those commands: they are
 * cancelled (-ECANCELED), so that the file is released and the peer sees
 * the role die.  A reference anyone else holds (another fd, a mapping, a
 * ring's registered file, a passing fget()) keeps them pending.  A
 * signals role's io_uring SIG_WAITs (end->nr_sig_ufile) count and are
 * cancelled the same way (l3l2q_siguring_cancel_all()).
 */
void l3l2q_uring_user_gone(struct l3l2q_end *end, struct file *file)
{
	/* A signals role's io_uring SIG_WAITs hold the file the same way. */
	unsigned int sigs = atomic_read(&end->nr_sig_ufile);
	unsigned long flags;
	bool cancel = false, last = false;

	spin_lock_irqsave(&end->lock, flags);
	if ((end->nr_upending || sigs) &&
	    file_count(file) == 1 + end->nr_ufile + sigs) {
		last = true;
		if (end->nr_upending && !end->ucancel) {
			end->ucancel = true;
			cancel = true;
		}
	}
	spin_unlock_irqrestore(&end->lock, flags);
	if (cancel)
		queue_work(system_unbound_wq, &end->uwork);
	if (last && sigs)
		l3l2q_siguring_cancel_all(end);
}

/**
 * l3l2q_uring_init() - set up a role's io_uring WAIT state
 * @end: the role, whose lock is initialised already
 */
void l3l2q_uring_init(struct l3l2q_end *end)
{
	end->uwaits = RB_ROOT_CACHED;
	timerqueue_init_head(&end->udeadlines);
	end->nr_upending = 0;
	end->nr_ufile = 0;
	end->ucancel = false;
	end->useq = 0;
	l3l2q_hrtimer_setup(&end->timer, l3l2q_uring_timer_fn, CLOCK_MONOTONIC,
			    HRTIMER_MODE_ABS);
	INIT_WORK(&end->uwork, l3l2q_uring_work_fn);
}

/**
 * l3l2q_uring_destroy() - tear down a role's io_uring WAIT state
 * @end: the role of a region being freed
 *
 * No command can be pending (each holds its role file), but the timer may
 * still be armed, or the work queued, for commands completed early.  The
 * work arms the timer only for pending deadlines, so once both are
 * cancelled in this order neither comes back.
 */
void l3l2q_uring_destroy(struct l3l2q_end *end)
{
	hrtimer_cancel(&end->timer);
	cancel_work_sync(&end->uwork);
	hrtimer_cancel(&end->timer);
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&end->uwaits.rb_root));
}

/*
 * IO_URING_F_CANCEL (6.7+): io_uring gives up on the command (task exit,
 * ring exit).  Complete it here if it is still linked; if someone else
 * unlinked it first, its completion is already on the way (the task-work
 * callback that frees the state runs under the same io_uring lock as this
 * handler, so the state is still there to look at).
 */
static int l3l2q_uring_cancel(struct l3l2q_end *end,
			      struct io_uring_cmd *ioucmd,
			      unsigned int issue_flags)
{
	struct l3l2q_ucmd *u = *l3l2q_ucmd_slot(ioucmd);
	unsigned long flags;
	bool mine = false;

	spin_lock_irqsave(&end->lock, flags);
	if (u->linked) {
		l3l2q_uring_unlink_locked(end, u);
		mine = true;
	}
	spin_unlock_irqrestore(&end->lock, flags);
	if (mine) {
		trace_l3l2q_uring_complete(end->r->id, end->role, u->counter,
					   u->seen, -ECANCELED, true);
		kfree(u);
		io_uring_cmd_done(ioucmd, -ECANCELED, 0, issue_flags);
	}
	return 0;
}

/**
 * l3l2q_uring_deadline() - the deadline a queued command gets
 * @deadline_ns: the caller's (CLOCK_MONOTONIC, absolute; above KTIME_MAX
 *	for none)
 * @now: the time of issue
 *
 * The caller's, capped at uring_max_wait_ms after @now where io_uring
 * cannot cancel commands (6.1).  Also for the io_uring SIG_WAIT
 * (l3l2q_siguring.c), which keeps to the same cap.
 *
 * Return: the deadline, KTIME_MAX for none.
 */
ktime_t l3l2q_uring_deadline(u64 deadline_ns, ktime_t now)
{
	ktime_t deadline = deadline_ns > (u64)KTIME_MAX ? KTIME_MAX :
			   ns_to_ktime(deadline_ns);
	ktime_t cap;

	if (L3L2Q_URING_CAN_CANCEL)
		return deadline;
	cap = ktime_add_ms(now, READ_ONCE(l3l2q_uring_max_wait_ms));
	return ktime_compare(cap, deadline) < 0 ? cap : deadline;
}

/* Count @u against the role's cap; false (nothing counted) if it is full. */
static bool l3l2q_uring_reserve(struct l3l2q_end *end, struct l3l2q_ucmd *u)
{
	unsigned int max = READ_ONCE(l3l2q_uring_max_pending);
	unsigned long flags;
	bool ok = false;

	spin_lock_irqsave(&end->lock, flags);
	if (end->nr_upending < max) {
		end->nr_upending++;
		if (u->holds_file)
			end->nr_ufile++;
		u->seq = ++end->useq;
		ok = true;
	}
	spin_unlock_irqrestore(&end->lock, flags);
	return ok;
}

/**
 * l3l2q_uring_cmd() - the role files' ->uring_cmd
 * @ioucmd: the command
 * @issue_flags: io_uring's IO_URING_F_* for this call
 *
 * Return: the result of a command that completes at once, or -EIOCBQUEUED
 * for one that was queued (see the top of this file).
 */
int l3l2q_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct l3l2q_end *end = ioucmd->file->private_data;
	struct l3l2q_wait_args args;
	struct l3l2q_ucmd *u;
	unsigned long flags;
	ktime_t now;
	int ret;

	/*
	 * A signals role's commands are all SIG_WAITs (a WAIT on one is
	 * refused before it is queued), and so are its cancels.
	 */
	if (end->r->kind == &l3l2q_signals_kind &&
	    (issue_flags & L3L2Q_IO_URING_F_CANCEL))
		return l3l2q_siguring_cmd(end, ioucmd, issue_flags);
	if (issue_flags & L3L2Q_IO_URING_F_CANCEL)
		return l3l2q_uring_cancel(end, ioucmd, issue_flags);
	switch (ioucmd->cmd_op) {
	case L3L2Q_IOC_WAIT:
		break;
	case L3L2Q_IOC_SIG_WAIT:
		return l3l2q_siguring_cmd(end, ioucmd, issue_flags);
	default:
		return -ENOTTY;
	}

	/*
	 * The payload is 16 bytes, or 80 with SQE128; ours fits either.  It
	 * may be the live SQ ring: one copy, then only the copy is used.
	 */
	BUILD_BUG_ON(sizeof(args) != 16);
	memcpy(&args, l3l2q_uring_cmd_payload(ioucmd), sizeof(args));
	ret = l3l2q_wait_validate(end, &args);
	if (ret)
		return ret;
	trace_l3l2q_wait_begin(end->r->id, end->role, args.counter, args.seen,
			       args.deadline_ns, true);

	/* Known now: complete at once, nothing is queued. */
	ret = l3l2q_wait_cond(end, args.counter, args.seen);
	now = ktime_get();
	if (ret == -EAGAIN && args.deadline_ns <= (u64)KTIME_MAX &&
	    ktime_compare(ns_to_ktime(args.deadline_ns), now) <= 0)
		ret = -ETIMEDOUT;
	if (ret != -EAGAIN) {
		trace_l3l2q_uring_complete(end->r->id, end->role, args.counter,
					   args.seen, ret, false);
		return ret;
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u) {
		trace_l3l2q_uring_complete(end->r->id, end->role, args.counter,
					   args.seen, -ENOMEM, false);
		return -ENOMEM;
	}
	RB_CLEAR_NODE(&u->wnode);
	timerqueue_init(&u->tnode);
	u->tnode.expires = l3l2q_uring_deadline(args.deadline_ns, now);
	u->ioucmd = ioucmd;
	u->seen = args.seen;
	u->counter = args.counter;
	u->holds_file = l3l2q_uring_cmd_holds_file(ioucmd);
	*l3l2q_ucmd_slot(ioucmd) = u;
	/*
	 * The cap first: a command must not be marked cancelable unless it
	 * is going to be queued (-EIOCBQUEUED), or io_uring keeps it on its
	 * cancel list after completing it.
	 */
	if (!l3l2q_uring_reserve(end, u)) {
		kfree(u);
		atomic64_inc(&end->r->nr_uring_refused);
		trace_l3l2q_uring_complete(end->r->id, end->role, args.counter,
					   args.seen, -EBUSY, false);
		pr_debug("queue %llu: io_uring WAIT refused: uring_max_pending=%u commands of this role are pending\n",
			 end->r->id, READ_ONCE(l3l2q_uring_max_pending));
		return -EBUSY;
	}
	/*
	 * Before anyone can see it: from here on it may be cancelled.  An
	 * issue from io-wq does not hold io_uring's lock, so the cancel
	 * handler may run before the command is linked below: it finds it
	 * unlinked and leaves it alone, and io_uring's cancel loop comes
	 * back for it.
	 */
	l3l2q_uring_cmd_mark_cancelable(ioucmd, issue_flags);

	spin_lock_irqsave(&end->lock, flags);
	rb_add_cached(&u->wnode, &end->uwaits, l3l2q_ucmd_less);
	u->linked = true;
	if (u->tnode.expires != KTIME_MAX) {
		timerqueue_add(&end->udeadlines, &u->tnode);
		l3l2q_uring_arm_locked(end);
	}
	/* Queued, before the last check: see l3l2q_poller_want(). */
	l3l2q_poller_want(end);
	atomic64_inc(&end->r->nr_uring_queued);
	atomic64_inc(&end->r->nr_uring_pending);
	atomic64_inc(&end->nr_sleeps);
	/*
	 * A KICK or a death between the check above and the link found
	 * nothing to complete; both change what they signal before they
	 * take this lock, so this look sees it.
	 */
	ret = l3l2q_wait_cond(end, args.counter, args.seen);
	if (ret != -EAGAIN)
		l3l2q_uring_complete_locked(end, u, ret);
	spin_unlock_irqrestore(&end->lock, flags);
	/* The command may be complete already: no touching it now. */
	return -EIOCBQUEUED;
}
