// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_wait.c - waking instead of spinning: WAIT, KICK, SET_EVENTFD and
 * poll on the role files, and the wake-ups a role's death owes its peer.
 *
 * The protocol is the one in uapi/l3l2q.h ("Waking instead of spinning"):
 * a waiter sets its need-wakeup bit, fences, re-checks the counter and only
 * then calls WAIT with the value it saw; a producer publishes, fences, and
 * KICKs only if the bit is set.  The kernel's half is to never lose a KICK
 * that follows a counter change:
 *
 *   - WAIT registers on the role's wait queue (prepare_to_wait) before it
 *     reads the counter, and reads it again after every wake-up, so a KICK
 *     that arrives between the caller's own check and the sleep is seen.
 *   - poll registers (poll_wait), then fences, then reads the counters.
 *   - io_uring WAITs are linked on the role's list before their last check
 *     (l3l2q_uring.c).
 *
 * Each role has its own wait queue, eventfd and io_uring list; a KICK on
 * one role's file wakes the other role only.  A role's death wakes both
 * wait queues and completes every wait of the survivor.
 *
 * Errnos (ioctls on a role file):
 *   WAIT         EINVAL  counter the role may not wait on, flags != 0
 *                ETIMEDOUT  deadline passed with the counter unchanged
 *                         (deadline 0: check only, never sleeps)
 *                EINTR   a signal arrived (not restarted: the caller
 *                        re-checks its own state, e.g. a stop flag)
 *                ECONNRESET  the peer role is dead, or raised its abort
 *                        flag, and the counter unchanged (a change wins:
 *                        published data is consumed before the death is
 *                        reported)
 *                ENODEV  the region's device was removed: its memory is
 *                        gone (and so is every user mapping of it)
 *                EFAULT
 *   KICK         never fails; a dead or absent peer is not an error
 *   SET_EVENTFD  EINVAL  flags or resv != 0, or the fd is no eventfd
 *                EBADF   fd is neither -1 nor an open file
 *                EFAULT
 *
 * The words are user (or device) memory: each is read once per check with
 * READ_ONCE() and only compared, never used as an index.
 */
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"
#include "l3l2q_trace.h"

/* ---------------------------------------------------------------------- */
/* Per-role state                                                         */
/* ---------------------------------------------------------------------- */

/**
 * l3l2q_end_init() - set up a role's wake-up state
 * @end: the role, whose ->r and ->role are set
 */
void l3l2q_end_init(struct l3l2q_end *end)
{
	init_waitqueue_head(&end->wq);
	spin_lock_init(&end->lock);
	end->evfd = NULL;
	atomic64_set(&end->nr_kicks, 0);
	atomic64_set(&end->nr_sleeps, 0);
	atomic_set(&end->nr_waiting, 0);
	l3l2q_uring_init(end);
}

/**
 * l3l2q_end_destroy() - tear down a role's wake-up state
 * @end: a role of a region being freed (both role files are gone)
 */
void l3l2q_end_destroy(struct l3l2q_end *end)
{
	l3l2q_uring_destroy(end);
}

/**
 * l3l2q_end_released() - a role's file was released
 * @end: the role, which is dead now
 *
 * Its io_uring commands hold the file, so none can be left; completing any
 * anyway costs nothing.  The eventfd goes now: nothing signals a dead
 * role.  Process context.
 */
void l3l2q_end_released(struct l3l2q_end *end)
{
	struct eventfd_ctx *old;
	unsigned long flags;

	spin_lock_irqsave(&end->lock, flags);
	l3l2q_uring_wake_locked(end, true);
	old = end->evfd;
	end->evfd = NULL;
	spin_unlock_irqrestore(&end->lock, flags);
	if (old)
		eventfd_ctx_put(old);
}

/**
 * l3l2q_wait_peer_dead() - whether the role other than @end's is dead
 * @end: the waiting role
 *
 * From the kernel's own copy of the role states, never the shared words.
 * Any context.
 *
 * Return: true if the peer role is dead.
 */
bool l3l2q_wait_peer_dead(struct l3l2q_end *end)
{
	struct l3l2q_end *peer = l3l2q_peer_end(end);

	return READ_ONCE(end->r->state[peer->role]) == L3L2Q_ROLE_DEAD;
}

/*
 * Wake everything waiting on @end: its sleepers and pollers, its eventfd,
 * and its io_uring WAITs whose condition now holds.  Cheap when nobody
 * waits: no allocation, and the wait queue lock is skipped when the queue
 * is empty (wq_has_sleeper()'s full fence pairs with the one every waiter
 * issues between registering and reading the counter).
 */
static void l3l2q_wake_end(struct l3l2q_end *end)
{
	unsigned long flags;

	if (wq_has_sleeper(&end->wq))
		wake_up_all(&end->wq);

	spin_lock_irqsave(&end->lock, flags);
	if (end->evfd)
		l3l2q_eventfd_signal(end->evfd);
	l3l2q_uring_wake_locked(end, false);
	spin_unlock_irqrestore(&end->lock, flags);
}

/**
 * l3l2q_wake_on_death() - end every wait a role's death ends
 * @r: the region
 * @dead: the role that died (its state is already DEAD in r->state and in
 *	the shared words)
 *
 * The survivor's waits all end now: sleepers return -ECONNRESET (or 0 if
 * their counter moved), io_uring WAITs complete the same way, its eventfd
 * is signalled and poll reports EPOLLHUP|EPOLLERR.  Both wait queues are
 * woken.  Any context but NMI.
 */
void l3l2q_wake_on_death(struct l3l2q_region *r, enum l3l2q_end_role dead)
{
	struct l3l2q_end *end = &r->ends[dead];

	atomic64_inc(&r->nr_wakes);
	l3l2q_wake_end(l3l2q_peer_end(end));
	wake_up_all(&end->wq);
}

/* ---------------------------------------------------------------------- */
/* WAIT                                                                   */
/* ---------------------------------------------------------------------- */

/**
 * l3l2q_wait_validate() - check a WAIT's arguments against its role
 * @end: the waiting role
 * @args: the arguments, copied from user space (or made by the kernel)
 *
 * The words a role may wait on are its kind's (uapi: the wait table).
 *
 * Return: 0, or -EINVAL for non-zero flags or a word the role may not
 * wait on.
 */
int l3l2q_wait_validate(struct l3l2q_end *end,
			const struct l3l2q_wait_args *args)
{
	if (args->flags)
		return -EINVAL;
	if (!end->r->kind->wait_word(end->r, end->role, args->counter))
		return -EINVAL;
	return 0;
}

/**
 * l3l2q_wait_word_get() - read the word a validated wait names, once
 * @end: the waiting role
 * @id: its l3l2q_wait_args.counter, already accepted by
 *	l3l2q_wait_validate() for @end
 * @now: where the value goes
 *
 * The word is user (or device) memory: the value is only compared, never
 * used as an index.  Any context.
 *
 * Return: 0, or -ENODEV if the region's memory is gone (its device was
 * removed).
 */
int l3l2q_wait_word_get(struct l3l2q_end *end, unsigned int id, s32 *now)
{
	struct l3l2q_region *r = end->r;
	const u32 *word = r->kind->wait_word(r, end->role, id);
	int ret = 0;

	if (l3l2q_mem_enter(r))
		*now = (s32)READ_ONCE(*word);
	else
		ret = -ENODEV;
	l3l2q_mem_exit(r);
	return ret;
}

/**
 * l3l2q_wait_peer_gone() - whether the peer of @end is dead or aborted
 * @end: the waiting role
 *
 * Dead from the kernel's own copy of the role states; aborted from the
 * peer's abort flag (the kind's peer_aborted()), which a peer that
 * poisoned its endpoint raised while it lives on.  The flag is shared
 * memory, read once and only compared.  Any context.
 *
 * Return: true if waits for the peer should end (-ECONNRESET).
 */
bool l3l2q_wait_peer_gone(struct l3l2q_end *end)
{
	struct l3l2q_region *r = end->r;
	bool aborted = false;

	if (l3l2q_wait_peer_dead(end))
		return true;
	if (l3l2q_mem_enter(r))
		aborted = r->kind->peer_aborted(r, end->role);
	l3l2q_mem_exit(r);
	return aborted;
}

/**
 * l3l2q_wait_cond() - one check of a validated wait
 * @end: the waiting role
 * @id: the word, accepted by l3l2q_wait_validate() for @end
 * @seen: the value the waiter saw
 *
 * The word is read once, before the peer's state, so that a change the
 * peer published before it died is reported first.  Any context.
 *
 * Return: 0 if the word differs from @seen, -ECONNRESET if not and the
 * peer is dead or raised its abort flag, -ENODEV if the region's memory
 * is gone (its device was removed), -EAGAIN to keep waiting.
 */
int l3l2q_wait_cond(struct l3l2q_end *end, unsigned int id, s32 seen)
{
	s32 now;
	int ret;

	ret = l3l2q_wait_word_get(end, id, &now);
	if (ret)
		return ret;
	if (now != seen)
		return 0;
	if (l3l2q_wait_peer_gone(end))
		return -ECONNRESET;
	return -EAGAIN;
}

/**
 * l3l2q_wait_deadline() - a wait's deadline as a CLOCK_MONOTONIC ktime
 * @deadline_ns: as the ioctl took it
 * @deadline: where the ktime goes
 *
 * Return: false if there is none (any value beyond KTIME_MAX, ~0ull in
 * particular, waits for ever).
 */
bool l3l2q_wait_deadline(u64 deadline_ns, ktime_t *deadline)
{
	if (deadline_ns > (u64)KTIME_MAX)
		return false;
	*deadline = ns_to_ktime(deadline_ns);
	return true;
}

/**
 * l3l2q_wait_sleep() - one sleep of a wait loop, after a failed check
 * @timed: whether @deadline applies
 * @deadline: CLOCK_MONOTONIC, absolute
 *
 * The caller is on its wait queue in TASK_INTERRUPTIBLE, and checked its
 * condition after getting there.
 *
 * Return: 0 after a sleep (check again), -ETIMEDOUT if the deadline has
 * passed, -EINTR if a signal is pending.
 */
int l3l2q_wait_sleep(bool timed, ktime_t *deadline)
{
	if (timed && ktime_compare(ktime_get(), *deadline) >= 0)
		return -ETIMEDOUT;
	if (signal_pending(current))
		return -EINTR;
	if (timed)
		schedule_hrtimeout_range(deadline, current->timer_slack_ns,
					 HRTIMER_MODE_ABS);
	else
		schedule();
	return 0;
}

/**
 * l3l2q_wait_ioctl() - the WAIT ioctl of a role file
 * @end: the role
 * @uarg: its struct l3l2q_wait_args
 *
 * Return: 0 when the word differs from the value seen, -ETIMEDOUT,
 * -EINTR, -ECONNRESET, -EINVAL or -EFAULT (the top of this file).
 */
long l3l2q_wait_ioctl(struct l3l2q_end *end,
		      const struct l3l2q_wait_args __user *uarg)
{
	struct l3l2q_wait_args args;
	ktime_t deadline = 0;
	DEFINE_WAIT(wait);
	bool timed, polled = false;
	u32 sleeps = 0;
	s32 now;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	ret = l3l2q_wait_validate(end, &args);
	if (ret)
		return ret;
	timed = l3l2q_wait_deadline(args.deadline_ns, &deadline);
	trace_l3l2q_wait_begin(end->r->id, end->role, args.counter, args.seen,
			       args.deadline_ns, false);
	atomic_inc(&end->nr_waiting);

	for (;;) {
		/* Registered, and a full fence, before the counter is read. */
		prepare_to_wait(&end->wq, &wait, TASK_INTERRUPTIBLE);
		/* Registered, before the check: see l3l2q_poller_want(). */
		if (!polled) {
			l3l2q_poller_want(end);
			polled = true;
		}
		ret = l3l2q_wait_cond(end, args.counter, args.seen);
		if (ret != -EAGAIN)
			break;
		ret = l3l2q_wait_sleep(timed, &deadline);
		if (ret)
			break;
		if (!sleeps++)
			atomic64_inc(&end->nr_sleeps);
	}
	finish_wait(&end->wq, &wait);
	atomic_dec(&end->nr_waiting);
	/* The counter as the caller will find it: one more read, if traced. */
	if (trace_l3l2q_wait_end_enabled()) {
		if (l3l2q_wait_word_get(end, args.counter, &now))
			now = args.seen;
		trace_l3l2q_wait_end(end->r->id, end->role, args.counter,
				     args.seen, now, sleeps, ret);
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* KICK                                                                   */
/* ---------------------------------------------------------------------- */

/**
 * l3l2q_trace_kick() - the kick tracepoint, with the peer's wake bits
 * @end: the kicking role
 * @doorbell: the kick rings a device's doorbell
 *
 * The peer's need-wakeup word is shared memory: read once, only when the
 * event is enabled, and only reported.  Any context but NMI.
 */
void l3l2q_trace_kick(struct l3l2q_end *end, bool doorbell)
{
	struct l3l2q_region *r = end->r;
	u32 wake = 0;

	if (!trace_l3l2q_kick_enabled())
		return;
	if (l3l2q_mem_enter(r))
		wake = READ_ONCE(*l3l2q_ctrl_word(r, end->role == L3L2Q_END_L3 ?
						  L3L2Q_CTRL_L2_WAKE :
						  L3L2Q_CTRL_L3_WAKE));
	l3l2q_mem_exit(r);
	trace_l3l2q_kick(r->id, end->role, wake & L3L2Q_WAKE_BITS, doorbell);
}

/**
 * l3l2q_kick() - wake the role other than @end's
 * @end: the kicking role
 *
 * Wakes the peer's sleepers, pollers, eventfd and io_uring WAITs: a KICK
 * ioctl, or the loopback peer's kick.  Process context.
 */
void l3l2q_kick(struct l3l2q_end *end)
{
	atomic64_inc(&end->r->nr_kicks);
	atomic64_inc(&end->nr_kicks);
	l3l2q_trace_kick(end, false);
	l3l2q_wake_end(l3l2q_peer_end(end));
}

/**
 * l3l2q_wake_role() - wake a role as its peer's kick would
 * @r: the region
 * @role: the role to wake
 *
 * For a device's interrupt, or a poller that saw a word move on behalf of
 * a peer that never kicks.  Bounded work (io_uring completions beyond a
 * small batch go to a work item).  Any context but NMI.
 */
void l3l2q_wake_role(struct l3l2q_region *r, enum l3l2q_end_role role)
{
	l3l2q_wake_end(&r->ends[role]);
}

/* ---------------------------------------------------------------------- */
/* SET_EVENTFD                                                            */
/* ---------------------------------------------------------------------- */

/**
 * l3l2q_set_eventfd_ioctl() - the SET_EVENTFD ioctl of a role file
 * @end: the role
 * @uarg: its struct l3l2q_eventfd_args
 *
 * Register (fd >= 0) or unregister (fd -1) this role's eventfd; a new one
 * replaces the old.  Signals are sent under end->lock, so once the pointer
 * is swapped under it no signal can reach the old context, which is then
 * put outside the lock.
 *
 * Return: 0, -EINVAL, -EBADF or -EFAULT.
 */
long l3l2q_set_eventfd_ioctl(struct l3l2q_end *end,
			     const struct l3l2q_eventfd_args __user *uarg)
{
	struct eventfd_ctx *new = NULL, *old;
	struct l3l2q_eventfd_args args;
	unsigned long flags;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags || args.resv)
		return -EINVAL;
	if (args.fd != -1) {
		new = eventfd_ctx_fdget(args.fd);
		if (IS_ERR(new))
			return PTR_ERR(new);
	}

	spin_lock_irqsave(&end->lock, flags);
	old = end->evfd;
	end->evfd = new;
	spin_unlock_irqrestore(&end->lock, flags);
	if (old)
		eventfd_ctx_put(old);
	/* A registered eventfd waits for as long as it stays registered. */
	if (new)
		l3l2q_poller_want(end);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* poll                                                                   */
/* ---------------------------------------------------------------------- */

/**
 * l3l2q_region_poll() - the role files' ->poll
 * @file: a role file
 * @pt: the poll table
 *
 * Return: what the kind reports from the shared words (EPOLLIN,
 * EPOLLOUT), and EPOLLHUP|EPOLLERR when the peer role is dead or raised
 * its abort flag, or the region's device was removed (the other bits
 * still say what is left to consume).
 */
__poll_t l3l2q_region_poll(struct file *file, struct poll_table_struct *pt)
{
	struct l3l2q_end *end = file->private_data;
	__poll_t mask;

	poll_wait(file, &end->wq, pt);
	/* A new registration, before the check: l3l2q_poller_want(). */
	if (!poll_does_not_wait(pt))
		l3l2q_poller_want(end);
	/* Pairs with wq_has_sleeper() in l3l2q_wake_end(). */
	smp_mb();

	/* If the device that held the region's memory was removed: HUP|ERR. */
	mask = EPOLLHUP | EPOLLERR;
	if (l3l2q_mem_enter(end->r))
		mask = end->r->kind->poll(end->r, end->role);
	l3l2q_mem_exit(end->r);
	if (l3l2q_wait_peer_gone(end))
		mask |= EPOLLHUP | EPOLLERR;
	return mask;
}
