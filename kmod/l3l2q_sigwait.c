// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_sigwait.c - sleeping on signals: SIG_WAIT, SIG_KICK, SIG_WATCH
 * (uapi/l3l2q_signals.h, "The driver's ioctls").
 *
 * Every kernel waiter of a role - a sleeping SIG_WAIT, an eventfd watch, a
 * poll watch - is an entry on that role's wait queue (end->wq) with its
 * own wake function, which evaluates the waiter's compare against the slot
 * as it is now.  Whatever wakes the role (KICK, SIG_KICK, the peer's
 * death, a device interrupt, the poller for a peer that never kicks:
 * l3l2q_sig_poll_ready()) walks the queue, and a waiter whose target
 * was not crossed is not woken.  pollers registered with poll_wait() on
 * the same queue are woken as always and ask ->poll again.
 *
 * No lost wake-up: a sleeper is on the queue, and has set its task state
 * (a full barrier), before it reads the slots; a notifier stores the slot
 * before its KICK walks the queue under the queue's lock.  So either the
 * sleeper reads the new value, or the walk finds the sleeper and its wake
 * function reads the new value.
 *
 * Bounded work: at most L3L2Q_SIG_WAITERS_MAX waiters per role
 * (end->nr_kind_waiters), each of at most L3L2Q_SIG_WAITV_MAX entries.
 *
 * Slot values and kicked words are user (or device) memory: each is read
 * once per check with READ_ONCE(), compared and never used as an index;
 * ids come from the kernel's copy of the arguments, checked against the
 * kernel's copy of the geometry.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/ktime.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"

/* A sleeping SIG_WAIT. */
struct l3l2q_sig_sleeper {
	struct wait_queue_entry wqe;	/* private: the task */
	struct l3l2q_end *end;
	struct l3l2q_sig_waitv *v;	/* the kernel's copy */
	u32 nr;
	bool all;
};

/* A watch (SIG_WATCH): an eventfd one (ctx) or a poll one (ctx NULL). */
struct l3l2q_sig_watch {
	struct wait_queue_entry wqe;
	struct l3l2q_end *end;
	struct eventfd_ctx *ctx;
	u32 id;
	u32 cmp;
	u64 target;
	/* A poll watch's compare at the poller's last tick (end->wq.lock). */
	bool polled;
};

static u64 *l3l2q_sig_slot(struct l3l2q_region *r, u32 id)
{
	const struct l3l2q_sig_layout *l = &r->layout.signals;

	return l3l2q_region_at(r, l->hdmem_offset + l->hdmem.signal_offset +
			       (u64)id * L3L2Q_HDMEM_SLOT_BYTES);
}

static struct l3l2q_sig_waiter *l3l2q_sig_entry(struct l3l2q_region *r,
						unsigned int table, u32 id)
{
	const struct l3l2q_sig_layout *l = &r->layout.signals;

	return l3l2q_region_at(r, l->table_offset[table] +
			       (u64)id * L3L2Q_SIG_WAITER_BYTES);
}

/* Was @arm of @role's entry for @id kicked, by either role (K2)? */
static bool l3l2q_sig_kicked(struct l3l2q_region *r, enum l3l2q_end_role role,
			     u32 id, u32 arm)
{
	unsigned int t;

	if (!(arm & L3L2Q_SIG_CMP_MASK))
		return false;
	for (t = 0; t < L3L2Q_NR_ENDS; t++)
		if (READ_ONCE(l3l2q_sig_entry(r, t, id)->kicked[role]) == arm)
			return true;
	return false;
}

/*
 * One check of @nr validated entries for @end's role.  With @out, each
 * entry's value and ready are filled in (only the waiter itself passes
 * @out: wake functions read the entries concurrently).  Any context.
 *
 * Return: 0 when the wait is over (ready, or kicked), -ECONNRESET when not
 * and the peer is dead or aborted, -ENODEV when the memory is gone,
 * -EAGAIN to go on waiting.
 */
static int l3l2q_sig_check(struct l3l2q_end *end, struct l3l2q_sig_waitv *v,
			   u32 nr, bool all, bool out)
{
	struct l3l2q_region *r = end->r;
	unsigned int i, nr_ready = 0;
	bool kicked = false;

	if (!l3l2q_mem_enter(r)) {
		l3l2q_mem_exit(r);
		return -ENODEV;
	}
	for (i = 0; i < nr; i++) {
		u64 value = READ_ONCE(*l3l2q_sig_slot(r, v[i].id));
		bool ready = l3l2q_sig_ready(value, v[i].cmp, v[i].target);

		if (out) {
			v[i].value = value;
			v[i].ready = ready;
		}
		if (ready)
			nr_ready++;
		else if (!kicked)
			kicked = l3l2q_sig_kicked(r, end->role, v[i].id,
						  v[i].arm);
	}
	l3l2q_mem_exit(r);
	if (kicked || (all ? nr_ready == nr : nr_ready > 0))
		return 0;
	if (l3l2q_wait_peer_gone(end))
		return -ECONNRESET;
	return -EAGAIN;
}

/* A watch's compare, or the peer's end: true if it fires. */
static bool l3l2q_sig_watch_fires(struct l3l2q_sig_watch *w)
{
	struct l3l2q_sig_waitv v = {
		.id = w->id, .cmp = w->cmp, .target = w->target,
	};

	return l3l2q_sig_check(w->end, &v, 1, false, false) != -EAGAIN;
}

/* ---------------------------------------------------------------------- */
/* Wake functions, called under end->wq.lock                              */
/* ---------------------------------------------------------------------- */

static int l3l2q_sig_sleeper_wake(struct wait_queue_entry *wqe,
				  unsigned int mode, int sync, void *key)
{
	struct l3l2q_sig_sleeper *s = container_of(wqe, typeof(*s), wqe);
	int woke;

	atomic64_inc(&s->end->nr_kind_checks);
	/* The entries are read only: the sleeper writes value and ready. */
	if (l3l2q_sig_check(s->end, s->v, s->nr, s->all, false) == -EAGAIN)
		return 0;
	woke = default_wake_function(wqe, mode, sync, key);
	/* Counted once: the poller and a kick may both find it ready. */
	if (woke)
		atomic64_inc(&s->end->nr_kind_wakes);
	return woke;
}

/* Signal once and drop the watch; its count is given back. */
static int l3l2q_sig_evfd_wake(struct wait_queue_entry *wqe,
			       unsigned int mode, int sync, void *key)
{
	struct l3l2q_sig_watch *w = container_of(wqe, typeof(*w), wqe);

	atomic64_inc(&w->end->nr_kind_checks);
	if (!l3l2q_sig_watch_fires(w))
		return 0;
	atomic64_inc(&w->end->nr_kind_wakes);
	list_del_init(&wqe->entry);
	l3l2q_eventfd_signal(w->ctx);
	eventfd_ctx_put(w->ctx);
	atomic_dec(&w->end->nr_kind_waiters);
	kfree(w);
	return 0;
}

/* Wakes nobody itself: the pollers on the queue ask ->poll again. */
static int l3l2q_sig_pollwatch_wake(struct wait_queue_entry *wqe,
				    unsigned int mode, int sync, void *key)
{
	return 0;
}

static bool l3l2q_sig_is_watch(struct wait_queue_entry *wqe)
{
	return wqe->func == l3l2q_sig_evfd_wake ||
	       wqe->func == l3l2q_sig_pollwatch_wake;
}

/* ---------------------------------------------------------------------- */
/* SIG_WAIT                                                               */
/* ---------------------------------------------------------------------- */

static int l3l2q_sig_take_waiter(struct l3l2q_end *end)
{
	if (atomic_inc_return(&end->nr_kind_waiters) > L3L2Q_SIG_WAITERS_MAX) {
		atomic_dec(&end->nr_kind_waiters);
		return -EBUSY;
	}
	return 0;
}

static int l3l2q_sig_check_entry(struct l3l2q_region *r, u32 id, u32 cmp)
{
	if (id >= r->layout.signals.hdmem.signal_count) {
		pr_debug("signals: id %u >= signal_count\n", id);
		return -EINVAL;
	}
	if (cmp < L3L2Q_SIG_CMP_GE || cmp > L3L2Q_SIG_CMP_NE) {
		pr_debug("signals: unknown cmp %u\n", cmp);
		return -EINVAL;
	}
	return 0;
}

/**
 * l3l2q_sig_eval() - one K2 check of a kernel waiter's validated entries
 * @end: the waiting role
 * @v: the waiter's own copy of the entries
 * @nr: how many
 * @all: L3L2Q_SIG_WAIT_ALL
 * @out: fill in each entry's value and ready (only the one who owns @v,
 *	or whoever holds the lock that serialises its checks)
 *
 * For the io_uring form of SIG_WAIT (l3l2q_siguring.c).  Any context.
 *
 * Return: as l3l2q_sig_check(): 0, -ECONNRESET, -ENODEV or -EAGAIN.
 */
int l3l2q_sig_eval(struct l3l2q_end *end, struct l3l2q_sig_waitv *v, u32 nr,
		   bool all, bool out)
{
	return l3l2q_sig_check(end, v, nr, all, out);
}

/**
 * l3l2q_sig_validate_waitv() - SIG_WAIT's checks of a copy of the entries
 * @r: the region
 * @v: the kernel's copy
 * @nr: how many, already within 1..L3L2Q_SIG_WAITV_MAX
 *
 * Return: 0, or -EINVAL for a bad id or cmp.
 */
int l3l2q_sig_validate_waitv(struct l3l2q_region *r,
			     const struct l3l2q_sig_waitv *v, u32 nr)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nr; i++) {
		ret = l3l2q_sig_check_entry(r, v[i].id, v[i].cmp);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * l3l2q_sig_waiter_get() - count one more kernel waiter of @end
 * @end: the role
 *
 * Give it back with atomic_dec(&end->nr_kind_waiters).
 *
 * Return: 0, or -EBUSY at L3L2Q_SIG_WAITERS_MAX.
 */
int l3l2q_sig_waiter_get(struct l3l2q_end *end)
{
	return l3l2q_sig_take_waiter(end);
}

/* The K1-K3 loop of one sleeper; the role's cap is held. */
static int l3l2q_sig_sleep(struct l3l2q_end *end, struct l3l2q_sig_waitv *v,
			   u32 nr, bool all, u64 deadline_ns)
{
	struct l3l2q_sig_sleeper s = { .end = end, .v = v, .nr = nr,
				       .all = all };
	ktime_t deadline = 0;
	bool timed = l3l2q_wait_deadline(deadline_ns, &deadline);
	int ret;

	init_waitqueue_func_entry(&s.wqe, l3l2q_sig_sleeper_wake);
	s.wqe.private = current;
	add_wait_queue(&end->wq, &s.wqe);	/* K1 */
	/* Queued, before the checks: see l3l2q_sig_poll_ready(). */
	l3l2q_poller_want(end);
	for (;;) {
		/* A full barrier: the task state before the slots are read. */
		set_current_state(TASK_INTERRUPTIBLE);
		ret = l3l2q_sig_check(end, v, nr, all, true);	/* K2 */
		if (ret != -EAGAIN)
			break;
		ret = l3l2q_wait_sleep(timed, &deadline);	/* K3 */
		if (ret)
			break;
	}
	__set_current_state(TASK_RUNNING);
	remove_wait_queue(&end->wq, &s.wqe);
	return ret;
}

static long l3l2q_sig_wait_ioctl(struct l3l2q_end *end,
				 struct l3l2q_sig_wait_args __user *uarg)
{
	struct l3l2q_sig_wait_args args;
	struct l3l2q_sig_waitv *v;
	void __user *uv;
	size_t bytes;
	unsigned int i;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~L3L2Q_SIG_WAIT_ALL || args.resv ||
	    !args.nr || args.nr > L3L2Q_SIG_WAITV_MAX)
		return -EINVAL;
	uv = u64_to_user_ptr(args.waitv);
	bytes = (size_t)args.nr * sizeof(*v);
	v = memdup_user(uv, bytes);
	if (IS_ERR(v))
		return PTR_ERR(v);
	for (i = 0; i < args.nr; i++) {
		ret = l3l2q_sig_check_entry(end->r, v[i].id, v[i].cmp);
		if (ret)
			goto out;
	}
	ret = l3l2q_sig_take_waiter(end);
	if (ret)
		goto out;
	ret = l3l2q_sig_sleep(end, v, args.nr, args.flags & L3L2Q_SIG_WAIT_ALL,
			      args.deadline_ns);
	atomic_dec(&end->nr_kind_waiters);
	if ((ret == 0 || ret == -ETIMEDOUT || ret == -ECONNRESET) &&
	    copy_to_user(uv, v, bytes))
		ret = -EFAULT;
out:
	kfree(v);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* SIG_KICK                                                               */
/* ---------------------------------------------------------------------- */

static long l3l2q_sig_kick_ioctl(struct l3l2q_end *end,
				 struct l3l2q_sig_kick_args __user *uarg)
{
	struct l3l2q_region *r = end->r;
	struct l3l2q_sig_kick_args args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.resv || args.role >= L3L2Q_NR_ENDS ||
	    args.id >= r->layout.signals.hdmem.signal_count)
		return -EINVAL;
	atomic64_inc(&r->nr_kicks);
	/* A device's role is rung, as KICK does. */
	if (args.role == L3L2Q_END_L2 && r->dev->ops->kick_l2)
		r->dev->ops->kick_l2(r);
	else
		l3l2q_wake_role(r, args.role);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* SIG_WATCH                                                              */
/* ---------------------------------------------------------------------- */

/* Unlink every watch of @end under the queue's lock, free them after. */
static void l3l2q_sig_clear_watches(struct l3l2q_end *end)
{
	struct wait_queue_entry *wqe, *next;
	struct l3l2q_sig_watch *w;
	unsigned long flags;
	LIST_HEAD(gone);

	spin_lock_irqsave(&end->wq.lock, flags);
	list_for_each_entry_safe(wqe, next, &end->wq.head, entry)
		if (l3l2q_sig_is_watch(wqe))
			list_move(&wqe->entry, &gone);
	spin_unlock_irqrestore(&end->wq.lock, flags);

	list_for_each_entry_safe(wqe, next, &gone, entry) {
		w = container_of(wqe, typeof(*w), wqe);
		if (w->ctx)
			eventfd_ctx_put(w->ctx);
		atomic_dec(&end->nr_kind_waiters);
		kfree(w);
	}
}

static long l3l2q_sig_watch_ioctl(struct l3l2q_end *end,
				  struct l3l2q_sig_watch_args __user *uarg)
{
	struct l3l2q_sig_watch_args args;
	struct eventfd_ctx *ctx = NULL;
	struct l3l2q_sig_watch *w;
	unsigned long flags;
	int ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.resv || args.flags & ~L3L2Q_SIG_WATCH_CLEAR)
		return -EINVAL;
	if (args.flags & L3L2Q_SIG_WATCH_CLEAR) {
		if (args.fd != -1 || args.id || args.cmp || args.target)
			return -EINVAL;
		l3l2q_sig_clear_watches(end);
		return 0;
	}
	ret = l3l2q_sig_check_entry(end->r, args.id, args.cmp);
	if (ret)
		return ret;
	if (args.fd != -1) {
		ctx = eventfd_ctx_fdget(args.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w) {
		ret = -ENOMEM;
		goto out_put;
	}
	ret = l3l2q_sig_take_waiter(end);
	if (ret)
		goto out_free;
	w->end = end;
	w->ctx = ctx;
	w->id = args.id;
	w->cmp = args.cmp;
	w->target = args.target;
	init_waitqueue_func_entry(&w->wqe, ctx ? l3l2q_sig_evfd_wake :
					   l3l2q_sig_pollwatch_wake);

	spin_lock_irqsave(&end->wq.lock, flags);
	/*
	 * Queued and checked under the lock that every wake-up holds: a
	 * notify either comes before this check, or its kick finds the
	 * watch.  An eventfd watch that holds already fires now.
	 */
	__add_wait_queue_entry_tail(&end->wq, &w->wqe);
	if (ctx)
		l3l2q_sig_evfd_wake(&w->wqe, TASK_NORMAL, 0, NULL);
	spin_unlock_irqrestore(&end->wq.lock, flags);
	/* A poll watch may hold at once: let pollers look. */
	if (!ctx)
		wake_up_all(&end->wq);
	/* Queued (or fired already): see l3l2q_sig_poll_ready(). */
	l3l2q_poller_want(end);
	return 0;

out_free:
	kfree(w);
out_put:
	if (ctx)
		eventfd_ctx_put(ctx);
	return ret;
}

/**
 * l3l2q_sig_watch_ready() - whether a poll watch of @end holds
 * @end: the role
 *
 * Also true when the peer is gone, so that poll reports it at once.
 * Any context but NMI.
 *
 * Return: true if poll should report EPOLLIN.
 */
bool l3l2q_sig_watch_ready(struct l3l2q_end *end)
{
	struct wait_queue_entry *wqe;
	unsigned long flags;
	bool ready = false;

	spin_lock_irqsave(&end->wq.lock, flags);
	list_for_each_entry(wqe, &end->wq.head, entry) {
		if (wqe->func != l3l2q_sig_pollwatch_wake)
			continue;
		if (l3l2q_sig_watch_fires(container_of(wqe,
						       struct l3l2q_sig_watch,
						       wqe))) {
			ready = true;
			break;
		}
	}
	spin_unlock_irqrestore(&end->wq.lock, flags);
	return ready;
}

/* ---------------------------------------------------------------------- */
/* The poller's question (l3l2q_poller.c)                                 */
/* ---------------------------------------------------------------------- */

/* Would this sleeper's wake function wake it now? */
static bool l3l2q_sig_sleeper_ready(struct wait_queue_entry *wqe)
{
	struct l3l2q_sig_sleeper *s = container_of(wqe, typeof(*s), wqe);

	return l3l2q_sig_check(s->end, s->v, s->nr, s->all, false) != -EAGAIN;
}

/* Would this eventfd watch fire now (and be dropped)? */
static bool l3l2q_sig_evfd_ready(struct wait_queue_entry *wqe)
{
	return l3l2q_sig_watch_fires(container_of(wqe, struct l3l2q_sig_watch,
						  wqe));
}

/*
 * Did this poll watch start to hold since the last tick?  Only the edge
 * asks for a wake: a watch stays, and one that holds for long would
 * otherwise wake its pollers on every tick.  A poller that registers
 * after the edge asks ->poll, which evaluates the watch itself.
 */
static bool l3l2q_sig_pollwatch_ready(struct wait_queue_entry *wqe)
{
	struct l3l2q_sig_watch *w = container_of(wqe, typeof(*w), wqe);
	bool fires = l3l2q_sig_watch_fires(w);
	bool edge = fires && !w->polled;

	w->polled = fires;
	return edge;
}

/*
 * The kernel's waiters of a signals role, by the wake function their
 * entry on end->wq has: what the poller asks each of.  Another kind of
 * waiter (an io_uring SIG_WAIT) joins with a row: its wake function and
 * a ready() that says, under end->wq.lock and in any context but NMI,
 * with bounded work and each shared word read once, whether that wake
 * function would end its wait now.  Entries of no row (poll_wait()'s,
 * epoll's) are pollers: a poll watch's row speaks for them.
 */
static const struct {
	wait_queue_func_t wake;
	bool (*ready)(struct wait_queue_entry *wqe);
} l3l2q_sig_waiter_kinds[] = {
	{ l3l2q_sig_sleeper_wake, l3l2q_sig_sleeper_ready },
	{ l3l2q_sig_evfd_wake, l3l2q_sig_evfd_ready },
	{ l3l2q_sig_pollwatch_wake, l3l2q_sig_pollwatch_ready },
};

/**
 * l3l2q_sig_poll_ready() - would a wake of @end end one of its waits now?
 * @end: a signals role whose peer never kicks
 *
 * The signals kind's poll_ready(), asked by the poller's tick (hard
 * interrupt context) in place of a kick that never comes.  Every waiter
 * is asked, under end->wq.lock, the compare its wake function would
 * make: a sleeping SIG_WAIT's (any or all of its entries), an io_uring
 * SIG_WAIT's, an eventfd watch's, a poll watch's (which starts to hold).
 * A peer that aborted
 * makes each of them true.
 *
 * No lost wake-up: a waiter is on end->wq and has called
 * l3l2q_poller_want() before it sleeps (a SIG_WAIT before its checks, a
 * watch right after its check at registration: it stays queued until it
 * fires or is cleared) and stays on the queue until its wait ends; want()
 * makes the timer run while the role is waited.  So every tick from then
 * on finds it here and reads the slots itself.  A store after its last
 * check is seen by the first tick that reads the slot after it, and that
 * tick wakes the role; no copy of an earlier value is needed.  The waiter
 * is woken only by its own wake function, which makes the same compare
 * again: a value that went back in between wakes nobody, and a sleeper
 * that wakes re-checks before it returns.
 *
 * Bounded work: at most L3L2Q_SIG_WAITERS_MAX waiters (end's cap), each
 * of at most L3L2Q_SIG_WAITV_MAX entries, each slot read once with
 * READ_ONCE() and only compared - as one kick of the role costs.
 *
 * Return: true if at least one waiter's wait would end.
 */
bool l3l2q_sig_poll_ready(struct l3l2q_end *end)
{
	struct wait_queue_entry *wqe;
	unsigned long flags;
	bool ready = false;
	unsigned int k;

	spin_lock_irqsave(&end->wq.lock, flags);
	list_for_each_entry(wqe, &end->wq.head, entry) {
		for (k = 0; k < ARRAY_SIZE(l3l2q_sig_waiter_kinds); k++)
			if (wqe->func == l3l2q_sig_waiter_kinds[k].wake)
				break;
		if (k == ARRAY_SIZE(l3l2q_sig_waiter_kinds)) {
			/* A pending io_uring SIG_WAIT (l3l2q_siguring.c)? */
			if (!ready && l3l2q_siguring_wqe_ready(wqe))
				ready = true;
			continue;
		}
		/* Once one is ready, only the poll watches' edges are kept. */
		if (ready && wqe->func != l3l2q_sig_pollwatch_wake)
			continue;
		if (l3l2q_sig_waiter_kinds[k].ready(wqe))
			ready = true;
	}
	spin_unlock_irqrestore(&end->wq.lock, flags);
	return ready;
}

/**
 * l3l2q_sig_show_waiters() - debugfs: @end's kernel waiters
 * @m: the file
 * @end: the role
 *
 * Any context but NMI (debugfs shows it inside l3l2q_mem_enter()).
 */
void l3l2q_sig_show_waiters(struct seq_file *m, struct l3l2q_end *end)
{
	const char *role = end->role == L3L2Q_END_L3 ? "l3" : "l2";
	struct wait_queue_entry *wqe;
	struct l3l2q_sig_watch *w;
	unsigned long flags;

	seq_printf(m, "%s_kernel_waiters: %d\n", role,
		   atomic_read(&end->nr_kind_waiters));
	seq_printf(m, "%s_waiter_checks: %lld\n", role,
		   atomic64_read(&end->nr_kind_checks));
	seq_printf(m, "%s_waiter_wakes: %lld\n", role,
		   atomic64_read(&end->nr_kind_wakes));
	spin_lock_irqsave(&end->wq.lock, flags);
	list_for_each_entry(wqe, &end->wq.head, entry) {
		if (!l3l2q_sig_is_watch(wqe))
			continue;
		w = container_of(wqe, struct l3l2q_sig_watch, wqe);
		seq_printf(m, "%s_watch: %s id %u cmp %u target %llu\n", role,
			   w->ctx ? "eventfd" : "poll", w->id, w->cmp,
			   w->target);
	}
	spin_unlock_irqrestore(&end->wq.lock, flags);
}

/**
 * l3l2q_sig_release() - a signals role file was released
 * @end: the role
 *
 * Its watches go with it.  Process context.
 */
void l3l2q_sig_release(struct l3l2q_end *end)
{
	l3l2q_sig_clear_watches(end);
}

/**
 * l3l2q_sig_ioctl() - the signals kind's ioctls on a role file
 * @end: the role
 * @cmd: the command
 * @argp: its user argument
 *
 * Return: the command's result (uapi/l3l2q_signals.h), or -ENOTTY.
 */
long l3l2q_sig_ioctl(struct l3l2q_end *end, unsigned int cmd,
		     void __user *argp)
{
	switch (cmd) {
	case L3L2Q_IOC_SIG_WAIT:
		return l3l2q_sig_wait_ioctl(end, argp);
	case L3L2Q_IOC_SIG_KICK:
		return l3l2q_sig_kick_ioctl(end, argp);
	case L3L2Q_IOC_SIG_WATCH:
		return l3l2q_sig_watch_ioctl(end, argp);
	default:
		return -ENOTTY;
	}
}
