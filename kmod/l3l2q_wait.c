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
 *                ECONNRESET  the peer role is dead and the counter
 *                        unchanged (a change wins: published data is
 *                        consumed before the death is reported)
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

/* ---------------------------------------------------------------------- */
/* Per-role state                                                         */
/* ---------------------------------------------------------------------- */

void l3l2q_end_init(struct l3l2q_end *end)
{
	init_waitqueue_head(&end->wq);
	spin_lock_init(&end->lock);
	end->evfd = NULL;
	l3l2q_uring_init(end);
}

/* The region is being freed: both role files are gone. */
void l3l2q_end_destroy(struct l3l2q_end *end)
{
	l3l2q_uring_destroy(end);
}

/*
 * @end's file was released.  Its io_uring commands hold the file, so none
 * can be left; completing any anyway costs nothing.  The eventfd goes now:
 * nothing signals a dead role.
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

static bool l3l2q_peer_dead(struct l3l2q_end *end)
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

/*
 * Role @dead died (its state is already DEAD in r->state and in the shared
 * words).  The survivor's waits all end now: sleepers return -ECONNRESET
 * (or 0 if their counter moved), io_uring WAITs complete the same way, its
 * eventfd is signalled and poll reports EPOLLHUP|EPOLLERR.  Both wait
 * queues are woken.
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

/* The words a role may wait on are its kind's (uapi: the wait table). */
int l3l2q_wait_validate(struct l3l2q_end *end,
			const struct l3l2q_wait_args *args)
{
	if (args->flags)
		return -EINVAL;
	if (!end->r->kind->wait_word(end->r, end->role, args->counter))
		return -EINVAL;
	return 0;
}

/*
 * One check of a validated wait: 0 if the word @id names differs from
 * @seen, -ECONNRESET if not and the peer is dead, -EAGAIN to keep waiting.
 * The word is read once.  Callable from any context, the timer included.
 */
int l3l2q_wait_cond(struct l3l2q_end *end, unsigned int id, s32 seen)
{
	const u32 *word = end->r->kind->wait_word(end->r, end->role, id);
	s32 now = (s32)READ_ONCE(*word);

	if (now != seen)
		return 0;
	if (l3l2q_peer_dead(end))
		return -ECONNRESET;
	return -EAGAIN;
}

/*
 * The deadline as a CLOCK_MONOTONIC ktime; false if there is none (any
 * value beyond KTIME_MAX, ~0ull in particular, waits for ever).
 */
static bool l3l2q_deadline(u64 deadline_ns, ktime_t *deadline)
{
	if (deadline_ns > (u64)KTIME_MAX)
		return false;
	*deadline = ns_to_ktime(deadline_ns);
	return true;
}

long l3l2q_wait_ioctl(struct l3l2q_end *end,
		      const struct l3l2q_wait_args __user *uarg)
{
	struct l3l2q_wait_args args;
	ktime_t deadline = 0;
	DEFINE_WAIT(wait);
	bool timed;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	ret = l3l2q_wait_validate(end, &args);
	if (ret)
		return ret;
	timed = l3l2q_deadline(args.deadline_ns, &deadline);

	for (;;) {
		/* Registered, and a full fence, before the counter is read. */
		prepare_to_wait(&end->wq, &wait, TASK_INTERRUPTIBLE);
		ret = l3l2q_wait_cond(end, args.counter, args.seen);
		if (ret != -EAGAIN)
			break;
		if (timed && ktime_compare(ktime_get(), deadline) >= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (timed)
			schedule_hrtimeout_range(&deadline,
						 current->timer_slack_ns,
						 HRTIMER_MODE_ABS);
		else
			schedule();
	}
	finish_wait(&end->wq, &wait);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* KICK                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Wake the role other than @end's: its sleepers, pollers, eventfd and
 * io_uring WAITs.  A KICK ioctl, or the loopback peer's kick; process
 * context.
 */
void l3l2q_kick(struct l3l2q_end *end)
{
	atomic64_inc(&end->r->nr_kicks);
	l3l2q_wake_end(l3l2q_peer_end(end));
}

/*
 * Wake @role of @r as its peer's kick would: a device's interrupt, or a
 * poller that saw a word move on behalf of a peer that never kicks.  Any
 * context but NMI.
 */
void l3l2q_wake_role(struct l3l2q_region *r, enum l3l2q_end_role role)
{
	l3l2q_wake_end(&r->ends[role]);
}

/* ---------------------------------------------------------------------- */
/* SET_EVENTFD                                                            */
/* ---------------------------------------------------------------------- */

/*
 * Register (fd >= 0) or unregister (fd -1) this role's eventfd; a new one
 * replaces the old.  Signals are sent under end->lock, so once the pointer
 * is swapped under it no signal can reach the old context, which is then
 * put outside the lock.
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
	return 0;
}

/* ---------------------------------------------------------------------- */
/* poll                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * What the kind reports from the shared words (EPOLLIN, EPOLLOUT), and
 * EPOLLHUP|EPOLLERR when the peer role is dead (the other bits still say
 * what is left to consume).
 */
__poll_t l3l2q_region_poll(struct file *file, struct poll_table_struct *pt)
{
	struct l3l2q_end *end = file->private_data;
	__poll_t mask;

	poll_wait(file, &end->wq, pt);
	/* Pairs with wq_has_sleeper() in l3l2q_wake_end(). */
	smp_mb();

	mask = end->r->kind->poll(end->r, end->role);
	if (l3l2q_peer_dead(end))
		mask |= EPOLLHUP | EPOLLERR;
	return mask;
}
