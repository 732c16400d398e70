// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_siguring.c - SIG_WAIT as an io_uring command: IORING_OP_URING_CMD
 * on a signals role file, cmd_op L3L2Q_IOC_SIG_WAIT, struct
 * l3l2q_sig_wait_args (32 bytes) as the payload, which needs a ring set up
 * with IORING_SETUP_SQE128 (80 payload bytes; a 64-byte SQE has 16).
 *
 * Results (the CQE's res), as the ioctl's:
 *   0            an entry is ready (every entry, with L3L2Q_SIG_WAIT_ALL),
 *                or an entry's arming was kicked
 *   -ETIMEDOUT   deadline_ns passed (or, on 6.1, the uring_max_wait_ms cap
 *                of l3l2q_uring.c: re-check and submit again)
 *   -ECONNRESET  the peer role is dead or aborted and nothing is ready
 *   -ENODEV      the region's device was removed
 *   -EBUSY       the role has L3L2Q_SIG_WAITERS_MAX kernel waiters
 *   -EINVAL      no SQE128 ring; nr 0 or > L3L2Q_SIG_WAITV_MAX, unknown
 *                flags, resv != 0, an id >= signal_count, an unknown cmp
 *   -EFAULT      waitv could not be read, or not written back
 *   -ENOMEM      no memory for the command's state
 *   -ECANCELED   io_uring cancelled it (6.7+: task or ring exit), or the
 *                role's last fd and mapping went while it was pending
 *   -ENOTTY      the file is not a signals role
 * On 0, -ETIMEDOUT and -ECONNRESET the entries are written back to waitv
 * (value and ready as the deciding check found them; id, cmp, target and
 * arm as given at issue), before the CQE is posted: in the submitting
 * task, by io_uring_cmd_complete_in_task()'s callback, where
 * copy_to_user() reaches the submitter's memory.  If it faults, the CQE
 * says -EFAULT.  waitv must stay valid until the CQE.
 *
 * A command whose result is known at issue completes at once (its entries
 * written back by the issue itself); the others are queued
 * (-EIOCBQUEUED).  A queued command is a wait-queue entry on end->wq, like
 * a sleeping SIG_WAIT: every wake-up of the role (KICK, SIG_KICK, the
 * peer's death, a device's interrupt) runs its wake function, which
 * evaluates the entries (K2, l3l2q_sig_eval()) and completes the command
 * only if the wait is over.  It counts as one of the role's kernel waiters
 * (end->nr_kind_waiters, at most L3L2Q_SIG_WAITERS_MAX), each of at most
 * L3L2Q_SIG_WAITV_MAX entries: a wake-up's work stays bounded.  Each
 * command has its own hrtimer for its deadline (at most 64 per role), and
 * its state is charged to the issuer's memory cgroup.
 *
 * Exactly once: a command is linked on end->wq under end->wq.lock, and
 * whoever unlinks it there - its wake function, its timer, the issue's own
 * re-check, io_uring's cancel, the role's last close or munmap, the role's
 * release - completes it.  Completion goes through
 * io_uring_cmd_complete_in_task(); the callback waits for the timer
 * (hrtimer_cancel(): an unlinker in atomic context can only try), writes
 * the entries back, frees the state and posts the CQE.  io_uring's cancel
 * handler is the exception: it is called under io_uring's lock and posts
 * the CQE itself.
 *
 * The role's lifetime follows l3l2q_uring.c: a pending command holds its
 * role file (unless issued on a registered file), so the role's last
 * close() and munmap() (l3l2q_uring_user_gone()) cancel the role's
 * pending SIG_WAITs when they are all that holds it; on 6.1, where
 * io_uring cannot cancel, every queued command gets a deadline of at most
 * uring_max_wait_ms (l3l2q_uring_deadline()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"

/*
 * A pending command's state, freed by whoever completes it: the task-work
 * callback or the cancel handler.  @wqe is on end->wq while @linked.
 */
struct l3l2q_sigucmd {
	struct wait_queue_entry wqe;
	struct hrtimer timer;		/* the deadline; may never be started */
	struct l3l2q_end *end;
	struct io_uring_cmd *ioucmd;
	struct l3l2q_sig_waitv __user *uv;
	u32 nr;
	bool all;
	bool linked;			/* protected by end->wq.lock */
	bool holds_file;		/* counted in end->nr_sig_ufile */
	int res;			/* set by whoever unlinked it */
	struct l3l2q_sig_waitv v[];	/* the kernel's copy */
};

/* What the command's pdu holds. */
struct l3l2q_sigucmd_pdu {
	struct l3l2q_sigucmd *u;
};

static struct l3l2q_sigucmd **l3l2q_sigucmd_slot(struct io_uring_cmd *ioucmd)
{
	return &l3l2q_uring_cmd_to_pdu(ioucmd, struct l3l2q_sigucmd_pdu)->u;
}

/* The results that write the entries back, as the ioctl's. */
static bool l3l2q_sigu_writes_back(int res)
{
	return res == 0 || res == -ETIMEDOUT || res == -ECONNRESET;
}

/*
 * Write @u's entries back.  Only in the submitter's own context (the issue
 * or the task-work callback); without a user address space (a task-work
 * fallback after the task's exit) there is nowhere to write them.
 */
static int l3l2q_sigu_copy_out(struct l3l2q_sigucmd *u)
{
	if (!current->mm)
		return -EFAULT;
	if (copy_to_user(u->uv, u->v, array_size(u->nr, sizeof(u->v[0]))))
		return -EFAULT;
	return 0;
}

/* Task-work callback: post the CQE with the result its unlinker chose. */
static void l3l2q_sigu_done(struct io_uring_cmd *ioucmd,
			    unsigned int issue_flags)
{
	struct l3l2q_sigucmd *u = *l3l2q_sigucmd_slot(ioucmd);
	int res = u->res;

	/* An unlinker in atomic context could only try to stop it. */
	hrtimer_cancel(&u->timer);
	if (l3l2q_sigu_writes_back(res) && l3l2q_sigu_copy_out(u))
		res = -EFAULT;
	/* Still counted: the file (and so the role) is held until done. */
	if (u->holds_file)
		atomic_dec(&u->end->nr_sig_ufile);
	kfree(u);
	io_uring_cmd_done(ioucmd, res, 0, issue_flags);
}

/* Take @u off the queue with @res; the caller is now its one completer. */
static void l3l2q_sigu_unlink_locked(struct l3l2q_sigucmd *u, int res)
{
	lockdep_assert_held(&u->end->wq.lock);
	list_del_init(&u->wqe.entry);
	u->linked = false;
	u->res = res;
	atomic_dec(&u->end->nr_kind_waiters);
}

/*
 * Unlink @u and complete it with @res.  Caller holds end->wq.lock, in any
 * context; @u may be freed once the lock is dropped.
 */
static void l3l2q_sigu_complete_locked(struct l3l2q_sigucmd *u, int res)
{
	l3l2q_sigu_unlink_locked(u, res);
	/* Running (waiting for this lock): it will find @u unlinked. */
	hrtimer_try_to_cancel(&u->timer);
	io_uring_cmd_complete_in_task(u->ioucmd, l3l2q_sigu_done);
}

/*
 * The wake function, under end->wq.lock: complete the command if its wait
 * is over, else leave it asleep.  The entries are this command's own copy
 * and every check of them holds that lock, so value and ready are filled
 * in as the deciding check found them.
 */
static int l3l2q_sigu_wake(struct wait_queue_entry *wqe, unsigned int mode,
			   int sync, void *key)
{
	struct l3l2q_sigucmd *u = container_of(wqe, typeof(*u), wqe);
	int res;

	atomic64_inc(&u->end->nr_kind_checks);
	res = l3l2q_sig_eval(u->end, u->v, u->nr, u->all, true);
	if (res == -EAGAIN)
		return 0;
	atomic64_inc(&u->end->nr_kind_wakes);
	l3l2q_sigu_complete_locked(u, res);
	return 0;
}

/**
 * l3l2q_siguring_wqe_ready() - whether an entry of end->wq is a pending
 *	io_uring SIG_WAIT whose wait is over
 * @wqe: an entry of a signals role's wait queue; the caller holds its lock
 *
 * The same check as the command's wake function, without completing it
 * or writing its entries: for a poller that looks at a role's waiters on
 * behalf of a peer that never kicks (and then wakes the queue).
 *
 * Return: true if @wqe is such a command and waking the queue ends it.
 */
bool l3l2q_siguring_wqe_ready(struct wait_queue_entry *wqe)
{
	struct l3l2q_sigucmd *u;

	if (wqe->func != l3l2q_sigu_wake)
		return false;
	u = container_of(wqe, typeof(*u), wqe);
	return l3l2q_sig_eval(u->end, u->v, u->nr, u->all, false) != -EAGAIN;
}

/*
 * The deadline (or 6.1's cap) passed.  Hard interrupt context: a last
 * check decides between a result and -ETIMEDOUT, under the queue's lock.
 */
static enum hrtimer_restart l3l2q_sigu_timer_fn(struct hrtimer *timer)
{
	struct l3l2q_sigucmd *u = container_of(timer, typeof(*u), timer);
	struct l3l2q_end *end = u->end;
	unsigned long flags;
	int res;

	spin_lock_irqsave(&end->wq.lock, flags);
	if (u->linked) {
		res = l3l2q_sig_eval(end, u->v, u->nr, u->all, true);
		l3l2q_sigu_unlink_locked(u, res == -EAGAIN ? -ETIMEDOUT : res);
		/* Its callback waits for this one to return. */
		io_uring_cmd_complete_in_task(u->ioucmd, l3l2q_sigu_done);
	}
	spin_unlock_irqrestore(&end->wq.lock, flags);
	return HRTIMER_NORESTART;
}

/*
 * IO_URING_F_CANCEL (6.7+): io_uring gives up on the command.  Complete it
 * here if it is still linked; if someone else unlinked it first, its
 * completion is on the way (the callback that frees the state runs under
 * the same io_uring lock as this handler).
 */
static int l3l2q_sigu_cancel(struct l3l2q_end *end,
			     struct io_uring_cmd *ioucmd,
			     unsigned int issue_flags)
{
	struct l3l2q_sigucmd *u = *l3l2q_sigucmd_slot(ioucmd);
	unsigned long flags;
	bool mine = false;

	spin_lock_irqsave(&end->wq.lock, flags);
	if (u->linked) {
		l3l2q_sigu_unlink_locked(u, -ECANCELED);
		mine = true;
	}
	spin_unlock_irqrestore(&end->wq.lock, flags);
	if (mine) {
		hrtimer_cancel(&u->timer);
		if (u->holds_file)
			atomic_dec(&end->nr_sig_ufile);
		kfree(u);
		io_uring_cmd_done(ioucmd, -ECANCELED, 0, issue_flags);
	}
	return 0;
}

/**
 * l3l2q_siguring_cancel_all() - end a role's pending io_uring SIG_WAITs
 * @end: the role; the caller holds its file
 *
 * They complete with -ECANCELED: the role's last close() or munmap() left
 * them the only holders of the file (l3l2q_uring_user_gone()), or the role
 * is being released.  Each timer is stopped here, before the command is
 * handed to its callback, so no timer outlives the role.  At most
 * L3L2Q_SIG_WAITERS_MAX commands.  Process context.
 */
void l3l2q_siguring_cancel_all(struct l3l2q_end *end)
{
	struct wait_queue_entry *wqe, *next;
	struct l3l2q_sigucmd *u;
	unsigned long flags;
	LIST_HEAD(gone);

	spin_lock_irqsave(&end->wq.lock, flags);
	list_for_each_entry_safe(wqe, next, &end->wq.head, entry) {
		if (wqe->func != l3l2q_sigu_wake)
			continue;
		u = container_of(wqe, typeof(*u), wqe);
		l3l2q_sigu_unlink_locked(u, -ECANCELED);
		list_add_tail(&wqe->entry, &gone);
	}
	spin_unlock_irqrestore(&end->wq.lock, flags);

	list_for_each_entry_safe(wqe, next, &gone, entry) {
		u = container_of(wqe, typeof(*u), wqe);
		list_del_init(&wqe->entry);
		hrtimer_cancel(&u->timer);
		io_uring_cmd_complete_in_task(u->ioucmd, l3l2q_sigu_done);
	}
}

/* The arguments' own checks; the entries are checked once copied. */
static int l3l2q_sigu_check_args(const struct l3l2q_sig_wait_args *args)
{
	if (args->flags & ~L3L2Q_SIG_WAIT_ALL) {
		pr_debug("io_uring SIG_WAIT: unknown flags %#x\n", args->flags);
		return -EINVAL;
	}
	if (args->resv) {
		pr_debug("io_uring SIG_WAIT: resv must be 0\n");
		return -EINVAL;
	}
	if (!args->nr || args->nr > L3L2Q_SIG_WAITV_MAX) {
		pr_debug("io_uring SIG_WAIT: nr %u not in 1..%u\n", args->nr,
			 L3L2Q_SIG_WAITV_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Queue @u, already counted as a waiter, until its wait is over. */
static void l3l2q_sigu_queue(struct l3l2q_end *end, struct l3l2q_sigucmd *u,
			     ktime_t deadline, unsigned int issue_flags)
{
	unsigned long flags;
	int res;

	/*
	 * Before anyone can see it: from here on it may be cancelled.  An
	 * issue from io-wq does not hold io_uring's lock, so the cancel
	 * handler may find it not yet linked: it leaves it alone, and
	 * io_uring's cancel loop comes back for it.
	 */
	l3l2q_uring_cmd_mark_cancelable(u->ioucmd, issue_flags);

	spin_lock_irqsave(&end->wq.lock, flags);
	__add_wait_queue_entry_tail(&end->wq, &u->wqe);	/* K1 */
	u->linked = true;
	if (u->holds_file)
		atomic_inc(&end->nr_sig_ufile);
	/*
	 * The entry before the slots are read again (store -> load).  Pairs
	 * with the smp_mb() of wq_has_sleeper() in l3l2q_wake_end(), after a
	 * notifier's slot store: either its wake-up sees this entry, or the
	 * check below sees its value.
	 */
	smp_mb();
	res = l3l2q_sig_eval(end, u->v, u->nr, u->all, true);	/* K2 */
	if (res != -EAGAIN)
		l3l2q_sigu_complete_locked(u, res);
	else if (deadline != KTIME_MAX)
		hrtimer_start(&u->timer, deadline, HRTIMER_MODE_ABS);
	atomic64_inc(&end->nr_sleeps);
	spin_unlock_irqrestore(&end->wq.lock, flags);
	/*
	 * The command may be complete already: no touching it now.  For a
	 * peer that never kicks, the poller looks at the role's waiters from
	 * now on.  After the check is as safe as before it, since the
	 * command stays on end->wq until its wait is over and every tick
	 * makes its compare afresh (l3l2q_sig_poll_ready()); never under
	 * end->wq.lock.  The issue still holds the file, so @end is alive.
	 */
	l3l2q_poller_want(end);
}

/**
 * l3l2q_siguring_cmd() - ->uring_cmd for L3L2Q_IOC_SIG_WAIT
 * @end: the role whose file the command was issued on
 * @ioucmd: the command
 * @issue_flags: io_uring's IO_URING_F_* for this call
 *
 * Also io_uring's cancels (IO_URING_F_CANCEL) of a signals role's
 * commands.  See the top of this file.
 *
 * Return: the result of a command that completes at once, or -EIOCBQUEUED
 * for one that was queued.
 */
int l3l2q_siguring_cmd(struct l3l2q_end *end, struct io_uring_cmd *ioucmd,
		       unsigned int issue_flags)
{
	struct l3l2q_sig_wait_args args;
	struct l3l2q_sigucmd *u;
	ktime_t now, deadline;
	int ret;

	if (issue_flags & L3L2Q_IO_URING_F_CANCEL)
		return l3l2q_sigu_cancel(end, ioucmd, issue_flags);
	if (end->r->kind != &l3l2q_signals_kind)
		return -ENOTTY;
	/* 32 bytes: more than a 64-byte SQE's 16-byte payload holds. */
	if (!(issue_flags & IO_URING_F_SQE128)) {
		pr_debug("io_uring SIG_WAIT: the ring needs IORING_SETUP_SQE128\n");
		return -EINVAL;
	}
	/* It may be the live SQ ring: one copy, then only the copy is used. */
	memcpy(&args, l3l2q_uring_cmd_payload(ioucmd), sizeof(args));
	ret = l3l2q_sigu_check_args(&args);
	if (ret)
		return ret;

	u = kzalloc(struct_size(u, v, args.nr), GFP_KERNEL_ACCOUNT);
	if (!u)
		return -ENOMEM;
	u->uv = u64_to_user_ptr(args.waitv);
	u->nr = args.nr;
	u->all = args.flags & L3L2Q_SIG_WAIT_ALL;
	if (copy_from_user(u->v, u->uv, array_size(u->nr, sizeof(u->v[0])))) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = l3l2q_sig_validate_waitv(end->r, u->v, u->nr);
	if (ret)
		goto out_free;

	/* Known now: complete at once, nothing is queued. */
	ret = l3l2q_sig_eval(end, u->v, u->nr, u->all, true);
	now = ktime_get();
	if (ret == -EAGAIN && l3l2q_wait_deadline(args.deadline_ns, &deadline) &&
	    ktime_compare(deadline, now) <= 0)
		ret = -ETIMEDOUT;
	if (ret != -EAGAIN) {
		if (l3l2q_sigu_writes_back(ret) && l3l2q_sigu_copy_out(u))
			ret = -EFAULT;
		goto out_free;
	}

	/* Counted before it is marked cancelable: it is going to be queued. */
	ret = l3l2q_sig_waiter_get(end);
	if (ret) {
		pr_debug("io_uring SIG_WAIT: the role has %u kernel waiters\n",
			 L3L2Q_SIG_WAITERS_MAX);
		goto out_free;
	}
	init_waitqueue_func_entry(&u->wqe, l3l2q_sigu_wake);
	l3l2q_hrtimer_setup(&u->timer, l3l2q_sigu_timer_fn, CLOCK_MONOTONIC,
			    HRTIMER_MODE_ABS);
	u->end = end;
	u->ioucmd = ioucmd;
	u->holds_file = l3l2q_uring_cmd_holds_file(ioucmd);
	*l3l2q_sigucmd_slot(ioucmd) = u;
	l3l2q_sigu_queue(end, u, l3l2q_uring_deadline(args.deadline_ns, now),
			 issue_flags);
	return -EIOCBQUEUED;

out_free:
	kfree(u);
	return ret;
}
