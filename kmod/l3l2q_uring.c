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
 *   -ECANCELED   io_uring cancelled the command (its task exited or its
 *                ring went away; 6.7+ only)
 *   -EINVAL      bad counter for this role, flags != 0
 *   -ENOTTY      cmd_op is not L3L2Q_IOC_WAIT
 * A command whose result is known at issue completes at once; the others
 * are queued (-EIOCBQUEUED) on the role's list and complete later.
 *
 * Exactly-once completion: a queued command is on end->ucmds, under
 * end->lock, and whoever unlinks it there - a KICK from the other role,
 * the deadline timer, the peer's death, the role's release, io_uring's
 * cancel, or the issue path's own re-check - is the one that completes it.
 * Completion goes through io_uring_cmd_complete_in_task(), which is safe
 * from any context (the timer runs in hard interrupt context), and the
 * callback calls io_uring_cmd_done() with the issue_flags it is given.
 * The cancel handler is the exception: io_uring calls it under its own
 * lock and wants io_uring_cmd_done() right there.
 *
 * Deadlines: one hrtimer per role, armed for the earliest deadline on its
 * list.  Its callback completes the expired commands and re-arms itself
 * for the next one.  A command without a deadline (~0ull) arms nothing.
 *
 * Kernels without cancelable uring_cmds (6.1): io_uring never cancels a
 * queued command, not even when its task exits; the command holds its role
 * file, and with it the module, until the driver completes it.  There
 * every queued command is therefore given a deadline of at most
 * uring_max_wait_ms (module parameter, default 10 s) after its issue: when
 * that cap, not the caller's deadline, runs out the command completes with
 * -ETIMEDOUT like any deadline, and a caller whose own deadline is later
 * re-checks and submits again.  The cost of the cap is one resubmission per
 * cap period of an idle waiter; what it buys is that a killed process's
 * WAIT lets go of its role (so the peer sees the death), of the ring and of
 * the module within the cap.  Where io_uring cancels commands (6.7+) the
 * cap does not apply: a command without a deadline waits for ever, and a
 * task's exit cancels it at once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"

static unsigned int l3l2q_uring_max_wait_ms = 10000;
module_param_named(uring_max_wait_ms, l3l2q_uring_max_wait_ms, uint, 0644);
MODULE_PARM_DESC(uring_max_wait_ms,
		 "Kernels without io_uring command cancellation (6.1): longest a queued io_uring WAIT stays queued, in ms (then -ETIMEDOUT)");

/*
 * A queued command's state, in its pdu (32 bytes on both kernels).
 * @node is on end->ucmds while the command is queued and empty (after
 * list_del_init()) once someone took it off to complete it.
 */
struct l3l2q_ucmd {
	struct list_head node;
	ktime_t deadline;		/* KTIME_MAX: none */
	s32 seen;
	u16 counter;
	s16 res;			/* set by whoever unlinked it */
};

static struct l3l2q_ucmd *l3l2q_ucmd(struct io_uring_cmd *ioucmd)
{
	BUILD_BUG_ON(sizeof(struct l3l2q_ucmd) >
		     sizeof_field(struct io_uring_cmd, pdu));
	BUILD_BUG_ON(offsetof(struct io_uring_cmd, pdu) %
		     __alignof__(struct l3l2q_ucmd));
	return (struct l3l2q_ucmd *)ioucmd->pdu;
}

static struct io_uring_cmd *l3l2q_ucmd_to_cmd(struct l3l2q_ucmd *u)
{
	return container_of((void *)u, struct io_uring_cmd, pdu);
}

/* Task-work callback: post the CQE with the result its unlinker chose. */
static void l3l2q_uring_done(struct io_uring_cmd *ioucmd,
			     unsigned int issue_flags)
{
	io_uring_cmd_done(ioucmd, l3l2q_ucmd(ioucmd)->res, 0, issue_flags);
}

/*
 * Take @u off its list and complete it with @res.  Caller holds end->lock
 * and found @u linked: it is now the command's one completer.
 */
static void l3l2q_uring_complete_locked(struct l3l2q_end *end,
					struct l3l2q_ucmd *u, int res)
{
	lockdep_assert_held(&end->lock);
	list_del_init(&u->node);
	u->res = res;
	atomic64_dec(&end->r->nr_uring_pending);
	io_uring_cmd_complete_in_task(l3l2q_ucmd_to_cmd(u), l3l2q_uring_done);
}

/*
 * Complete the queued commands of @end whose condition holds (their counter
 * moved, or the peer is dead); with @force, all of them (-ECONNRESET unless
 * the counter moved).  Caller holds end->lock.
 */
void l3l2q_uring_wake_locked(struct l3l2q_end *end, bool force)
{
	struct l3l2q_ucmd *u, *tmp;
	int res;

	lockdep_assert_held(&end->lock);
	list_for_each_entry_safe(u, tmp, &end->ucmds, node) {
		res = l3l2q_wait_cond(end, u->counter, u->seen);
		if (res == -EAGAIN) {
			if (!force)
				continue;
			res = -ECONNRESET;
		}
		l3l2q_uring_complete_locked(end, u, res);
	}
}

/* Arm the role's timer for @deadline unless it fires earlier already. */
static void l3l2q_uring_arm_locked(struct l3l2q_end *end, ktime_t deadline)
{
	lockdep_assert_held(&end->lock);
	if (deadline == KTIME_MAX)
		return;
	if (hrtimer_is_queued(&end->timer) &&
	    ktime_compare(hrtimer_get_expires(&end->timer), deadline) <= 0)
		return;
	hrtimer_start(&end->timer, deadline, HRTIMER_MODE_ABS);
}

/*
 * The earliest deadline passed.  Hard interrupt context.  Expired commands
 * get a last look at their counter (0 if it moved, -ECONNRESET if the peer
 * died, else -ETIMEDOUT); the timer is then re-armed for the earliest
 * deadline left.  An issuer may have armed it meanwhile (it is not queued
 * while this runs): hrtimer_start() moves it either way, and returning
 * NORESTART leaves a timer started here queued.
 */
static enum hrtimer_restart l3l2q_uring_timer_fn(struct hrtimer *timer)
{
	struct l3l2q_end *end = container_of(timer, struct l3l2q_end, timer);
	ktime_t now = ktime_get(), next = KTIME_MAX;
	struct l3l2q_ucmd *u, *tmp;
	unsigned long flags;
	int res;

	spin_lock_irqsave(&end->lock, flags);
	list_for_each_entry_safe(u, tmp, &end->ucmds, node) {
		if (ktime_compare(u->deadline, now) > 0) {
			if (ktime_compare(u->deadline, next) < 0)
				next = u->deadline;
			continue;
		}
		res = l3l2q_wait_cond(end, u->counter, u->seen);
		l3l2q_uring_complete_locked(end, u,
					    res == -EAGAIN ? -ETIMEDOUT : res);
	}
	if (next != KTIME_MAX)
		hrtimer_start(&end->timer, next, HRTIMER_MODE_ABS);
	spin_unlock_irqrestore(&end->lock, flags);
	return HRTIMER_NORESTART;
}

void l3l2q_uring_init(struct l3l2q_end *end)
{
	INIT_LIST_HEAD(&end->ucmds);
	hrtimer_init(&end->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	end->timer.function = l3l2q_uring_timer_fn;
}

/*
 * The region is being freed: no command can be queued (each holds its role
 * file), but the timer may still be armed for one completed early.
 */
void l3l2q_uring_destroy(struct l3l2q_end *end)
{
	hrtimer_cancel(&end->timer);
	WARN_ON_ONCE(!list_empty(&end->ucmds));
}

/*
 * IO_URING_F_CANCEL (6.7+): io_uring gives up on the command (task exit,
 * ring exit).  Complete it here if it is still queued; if someone else
 * unlinked it first, its completion is already on the way.
 */
static int l3l2q_uring_cancel(struct l3l2q_end *end,
			      struct io_uring_cmd *ioucmd,
			      unsigned int issue_flags)
{
	struct l3l2q_ucmd *u = l3l2q_ucmd(ioucmd);
	unsigned long flags;
	bool mine = false;

	spin_lock_irqsave(&end->lock, flags);
	if (!list_empty(&u->node)) {
		list_del_init(&u->node);
		atomic64_dec(&end->r->nr_uring_pending);
		mine = true;
	}
	spin_unlock_irqrestore(&end->lock, flags);
	if (mine)
		io_uring_cmd_done(ioucmd, -ECANCELED, 0, issue_flags);
	return 0;
}

/* The deadline a queued command gets: the caller's, capped where needed. */
static ktime_t l3l2q_uring_deadline(u64 deadline_ns, ktime_t now)
{
	ktime_t deadline = deadline_ns > (u64)KTIME_MAX ? KTIME_MAX :
			   ns_to_ktime(deadline_ns);
	ktime_t cap;

	if (L3L2Q_URING_CAN_CANCEL)
		return deadline;
	cap = ktime_add_ms(now, READ_ONCE(l3l2q_uring_max_wait_ms));
	return ktime_compare(cap, deadline) < 0 ? cap : deadline;
}

int l3l2q_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct l3l2q_end *end = ioucmd->file->private_data;
	struct l3l2q_ucmd *u = l3l2q_ucmd(ioucmd);
	struct l3l2q_wait_args args;
	unsigned long flags;
	ktime_t now;
	int ret;

	if (issue_flags & L3L2Q_IO_URING_F_CANCEL)
		return l3l2q_uring_cancel(end, ioucmd, issue_flags);
	if (ioucmd->cmd_op != L3L2Q_IOC_WAIT)
		return -ENOTTY;

	/*
	 * The payload is 16 bytes, or 80 with SQE128; ours fits either.  It
	 * may be the live SQ ring: one copy, then only the copy is used.
	 */
	BUILD_BUG_ON(sizeof(args) != 16);
	memcpy(&args, l3l2q_uring_cmd_payload(ioucmd), sizeof(args));
	ret = l3l2q_wait_validate(end, &args);
	if (ret)
		return ret;

	/* Known now: complete at once, nothing is queued. */
	ret = l3l2q_wait_cond(end, args.counter, args.seen);
	if (ret != -EAGAIN)
		return ret;
	now = ktime_get();
	if (args.deadline_ns <= (u64)KTIME_MAX &&
	    ktime_compare(ns_to_ktime(args.deadline_ns), now) <= 0)
		return -ETIMEDOUT;

	INIT_LIST_HEAD(&u->node);
	u->deadline = l3l2q_uring_deadline(args.deadline_ns, now);
	u->seen = args.seen;
	u->counter = args.counter;
	u->res = 0;
	/*
	 * Before anyone can see it: from here on it may be cancelled.  An
	 * issue from io-wq does not hold io_uring's lock, so the cancel
	 * handler may run before the list_add below: it finds the node
	 * empty and leaves the command alone, and io_uring's cancel loop
	 * comes back for it.
	 */
	l3l2q_uring_cmd_mark_cancelable(ioucmd, issue_flags);

	spin_lock_irqsave(&end->lock, flags);
	list_add_tail(&u->node, &end->ucmds);
	atomic64_inc(&end->r->nr_uring_queued);
	atomic64_inc(&end->r->nr_uring_pending);
	l3l2q_uring_arm_locked(end, u->deadline);
	/*
	 * A KICK or a death between the check above and the list_add found
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
