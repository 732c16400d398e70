// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_loopback.c - the in-kernel L2 peer of an L3L2Q_CREATE_LOOPBACK
 * queue (uapi/l3l2q.h documents what user space sees).
 *
 * One kernel thread per loopback queue runs an L2 endpoint of lib/core, the
 * same protocol code libl3l2q and device firmware run, on the kernel's own
 * alias of the region.  The region is still shared with the L3 process and
 * never trusted: the core reads each counter and descriptor once,
 * validates the copy and uses only the copy, so a scribbling L3 can at
 * worst poison the endpoint, which ends the thread with the L2 role dead
 * and its abort flag set.
 *
 * Lifetime:
 *
 *   CREATE   l3l2q_loopback_start(): endpoint bound, L2 role LIVE, the
 *            thread made and pinned (get_task_struct()); it holds a queue
 *            reference until it has been reaped.
 *   thread   answers inputs until STOP is drained, the endpoint fails, the
 *            L3 role dies or kthread_stop() is called; on the way out it
 *            marks the L2 role DEAD and wakes the L3 side
 *            (l3l2q_loopback_finish()).  It does not free anything.
 *   release  of the L3 file: l3l2q_loopback_stop() - kthread_stop() wakes
 *            the thread wherever it sleeps and waits for it to exit, then
 *            the thread's queue reference is dropped.  The loopback object
 *            itself goes with the queue (l3l2q_loopback_free()), so debugfs
 *            can show how the thread ended.
 *
 * A loopback queue never has an L2 file (PEER gives -EBUSY), so the L3
 * file's release is the only way in, and the module cannot be unloaded
 * while that file exists: no thread outlives the queue or the module.
 *
 * A kernel thread works on behalf of whoever made it, so it must not be a
 * way around that user's limits (issue 11):
 *
 *   - Only CAP_SYS_ADMIN may create one (-EPERM otherwise): it is a test
 *     and demonstration peer, and a thread is more than a file.
 *   - At most max_user_loopbacks (module parameter) live at once per
 *     creator uid (-EAGAIN beyond), not a global count one user could
 *     take from everyone.
 *   - The thread is moved into the creator's cgroups before it first runs
 *     (cgroup_attach_task_all()), so its CPU time is charged to, and
 *     throttled with, the creator's cpu controller, like vhost's workers.
 *   - Every loop it runs has a scheduling point, lib/core's replay loop
 *     included (l3l2q__resched_point()).
 *   - It never spins on words the L3 side can write: its sleep takes the
 *     counter value to wait on from the endpoint's own copy, not from the
 *     shared seen word (l3l2q_loopback_sleep()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "l3l2q_internal.h"
#include "l3l2q_core.h"

/*
 * Failed attempts before a blocking call sleeps.  Lower than user space's
 * default: on a shared machine a spinning kernel thread only delays the
 * L3 process it is waiting for.
 */
#define L3L2Q_LOOPBACK_SPINS	32u

/* Payloads are copied in chunks of this size, rescheduling in between. */
#define L3L2Q_LOOPBACK_CHUNK	SZ_64K

/*
 * How long a sleep whose seen value the endpoint cannot vouch for blocks
 * at most (l3l2q_loopback_sleep()).  Short enough that the rare honest
 * case costs little latency, long enough that a hostile L3 rewriting the
 * shared seen words gets at most a thousand wake-ups a second out of it.
 */
#define L3L2Q_LOOPBACK_DOUBT_NS	(1 * NSEC_PER_MSEC)

/*
 * A kernel thread's stack and task are not charged to the creator's memcg
 * the way its region is: cap how many loopback threads one uid has alive.
 */
static unsigned int l3l2q_max_user_loopbacks = 16;
module_param_named(max_user_loopbacks, l3l2q_max_user_loopbacks, uint, 0644);
MODULE_PARM_DESC(max_user_loopbacks,
		 "Loopback peers (kernel threads) one uid may have alive at once (beyond: EAGAIN)");

static const struct l3l2q_peer_ops l3l2q_loopback_peer;

/*
 * Live loopbacks per creator uid (the real uid, which rlimits count
 * against): an xarray from the uid in the initial namespace to a count.
 */
static DEFINE_MUTEX(l3l2q_lb_users_lock);
static DEFINE_XARRAY(l3l2q_lb_users);

struct l3l2q_loopback {
	struct l3l2q_region *r;		/* the thread's reference */
	kuid_t uid;			/* counted in l3l2q_lb_users */
	struct task_struct *task;	/* pinned until reaped, then NULL */
	bool xor;			/* L3L2Q_CREATE_LOOPBACK_XOR */
	bool finished;			/* l3l2q_loopback_finish() ran */
	int result;			/* 0 after a STOP drain, else -errno */
	atomic64_t nr_msgs;		/* inputs answered, STOP excluded */
	atomic64_t nr_doubts;		/* sleeps on a seen value not its own */
	/* Only the thread touches the endpoint once it runs. */
	struct l3l2q_l2 l2;
};

/* ---------------------------------------------------------------------- */
/* The core's environment                                                 */
/* ---------------------------------------------------------------------- */

static __u64 l3l2q_loopback_now(void *ctx)
{
	return ktime_get_ns();
}

/* Between failed attempts: a spin hint, and never hog the CPU. */
static void l3l2q_loopback_relax(void *ctx)
{
	cpu_relax();
	cond_resched();
}

/*
 * The value of @counter this endpoint last matched: its own copy, which
 * the L3 side cannot write.  The L2 role waits on the input tail (input to
 * read) and the output head (output space).
 */
static s32 l3l2q_loopback_own(struct l3l2q_loopback *lb, u32 counter)
{
	return counter == L3L2Q_CTR_INPUT_TAIL ? l3l2q_low32(lb->l2.in.tail) :
						 l3l2q_low32(lb->l2.out.head);
}

/* The sleep's condition; *cond is l3l2q_wait_cond()'s last answer. */
static bool l3l2q_loopback_woken(struct l3l2q_end *end, u32 counter,
				 s32 seen, int *cond)
{
	if (kthread_should_stop())
		return true;
	*cond = l3l2q_wait_cond(end, counter, seen);
	return *cond != -EAGAIN;
}

/*
 * A sleep on a seen value the endpoint cannot vouch for: block until the
 * next wake-up of the L2 role (a KICK, the L3 role's death), until the
 * counter differs from the endpoint's own copy @own, or for at most
 * L3L2Q_LOOPBACK_DOUBT_NS, never returning at once on the strength of the
 * doubtful value alone.
 */
static void l3l2q_loopback_doubt(struct l3l2q_end *end, u32 counter, s32 own,
				 int *cond)
{
	ktime_t timeout = ns_to_ktime(L3L2Q_LOOPBACK_DOUBT_NS);
	DEFINE_WAIT(wait);

	prepare_to_wait(&end->wq, &wait, TASK_INTERRUPTIBLE);
	if (!l3l2q_loopback_woken(end, counter, own, cond))
		schedule_hrtimeout_range(&timeout, current->timer_slack_ns,
					 HRTIMER_MODE_REL);
	finish_wait(&end->wq, &wait);
}

/*
 * W4 of the need-wakeup protocol (uapi/l3l2q.h): the core has set the
 * thread's need-wakeup bit, fenced and re-checked @counter.  Sleep on the
 * L2 role's wait queue - what the L3 side's KICK and the L3 role's death
 * wake - until the counter differs from @seen, the L3 role is dead,
 * kthread_stop() is called or @deadline_ns passes.  wait_event_*()
 * registers, with a full fence (set_current_state()), before it evaluates
 * the condition; that fence pairs with the one in wq_has_sleeper() on the
 * kicking side, so a kick between the core's re-check and the sleep is not
 * lost.
 *
 * @seen is what the core armed with (W1).  A core that reads it back from
 * the shared seen word hands over whatever the L3 side wrote there, and a
 * hostile L3 rewriting that word in a loop would make this sleep return at
 * once, every time: the thread would spin.  So @seen is trusted only if it
 * is the endpoint's own copy of the counter (l3l2q_loopback_own()), which
 * it is whenever the core armed and checked without the counter moving.
 * Otherwise - the L3 side rewrote the word, or, legitimately, the core's
 * last check (W3) saw the counter move but not far enough - the thread
 * blocks until the next wake-up, a change from its own copy, or a short
 * timeout (l3l2q_loopback_doubt()): a kick the honest case may have
 * spent before the sleep costs at most that timeout, and the hostile case
 * a bounded number of wake-ups.
 *
 * Returns 0 or -ETIMEDOUT (the core re-checks), or -ESHUTDOWN to end the
 * core's wait at once: on kthread_stop(), and when the kernel's own copy
 * of the L3 state says dead.  The latter must not be left to the core,
 * which looks at the shared state words, and those the L3 side can rewrite.
 */
static int l3l2q_loopback_sleep(void *ctx, __u32 counter, __s32 seen,
				__u64 deadline_ns)
{
	struct l3l2q_loopback *lb = ctx;
	struct l3l2q_end *end = &lb->r->ends[L3L2Q_END_L2];
	int cond = -EAGAIN;
	long ret = 0;
	ktime_t left;
	u64 now;
	s32 own;

	/* The core's blocking loop comes back here: a scheduling point. */
	cond_resched();
	if (counter != L3L2Q_CTR_INPUT_TAIL && counter != L3L2Q_CTR_OUTPUT_HEAD)
		return -EINVAL;
	own = l3l2q_loopback_own(lb, counter);

	now = ktime_get_ns();
	if (deadline_ns <= now)
		return -ETIMEDOUT;
	if (seen != own) {
		atomic64_inc(&lb->nr_doubts);
		l3l2q_loopback_doubt(end, counter, own, &cond);
	} else if (deadline_ns - now > (u64)KTIME_MAX) {
		/* The thread itself never sets a deadline: none. */
		ret = wait_event_interruptible(end->wq,
					       l3l2q_loopback_woken(end, counter,
								    own, &cond));
	} else {
		left = ns_to_ktime(deadline_ns - now);
		ret = wait_event_interruptible_hrtimeout(end->wq,
							 l3l2q_loopback_woken(end,
									      counter,
									      own,
									      &cond),
							 left);
	}

	if (kthread_should_stop() || cond == -ECONNRESET)
		return -ESHUTDOWN;
	if (ret == -ETIME)
		return -ETIMEDOUT;
	/* Kernel threads ignore signals; a spurious one is just a re-check. */
	return 0;
}

/* P4: the L3 side asked to be woken; the same as a KICK on the L2 side. */
static void l3l2q_loopback_kick(void *ctx)
{
	struct l3l2q_loopback *lb = ctx;

	l3l2q_kick(&lb->r->ends[L3L2Q_END_L2]);
}

/* ---------------------------------------------------------------------- */
/* The thread                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Copy a payload from the input arena to the output arena, XORed for DATA
 * if asked.  Both are ranges the core validated against its private
 * geometry.  The L3 side may rewrite the source meanwhile; that changes
 * what it gets back, nothing else, because no decision depends on a byte
 * of payload.  Arena-sized payloads are large: reschedule between chunks.
 */
static void l3l2q_loopback_copy(struct l3l2q_loopback *lb, void *dst,
				const void *src, u64 n, bool xor)
{
	const u8 *s = src;
	u8 *d = dst;
	size_t len, i;

	while (n) {
		len = min_t(u64, n, L3L2Q_LOOPBACK_CHUNK);
		if (xor) {
			for (i = 0; i < len; i++)
				d[i] = s[i] ^ L3L2Q_LOOPBACK_XOR_KEY;
		} else {
			memcpy(d, s, len);
		}
		d += len;
		s += len;
		n -= len;
		cond_resched();
	}
}

/*
 * Answer one DATA or ERROR input with one output of the same opcode and
 * length, then release the input.  An input too large for the output arena
 * gets a zero-byte ERROR instead, so every input still has its answer.
 * Blocking reserves end on kthread_stop() (l3l2q_loopback_sleep()), also
 * when the L3 side never makes room.
 */
static int l3l2q_loopback_answer(struct l3l2q_loopback *lb,
				 const struct l3l2q_msg *in)
{
	struct l3l2q_l2 *l2 = &lb->l2;
	u64 opcode = in->opcode;
	u64 n = in->nbytes;
	struct l3l2q_res res;
	int ret;

	ret = l3l2q_l2_reserve(l2, n, L3L2Q_DEADLINE_NONE, &res);
	if (ret == -EMSGSIZE) {
		opcode = L3L2Q_OP_ERROR;
		n = 0;
		ret = l3l2q_l2_reserve(l2, 0, L3L2Q_DEADLINE_NONE, &res);
	}
	if (ret)
		return ret;
	if (n)
		l3l2q_loopback_copy(lb, res.data, in->data, n,
				    lb->xor && opcode == L3L2Q_OP_DATA);
	ret = l3l2q_l2_publish(l2, &res, opcode);
	if (ret)
		return ret;
	return l3l2q_l2_release(l2, in);
}

/*
 * The thread is done with the endpoint: record why, and tell the L3 side
 * the way an L2 file's death does, after everything the thread published
 * (the tail stores come first; l3l2q_role_died() store-releases the state
 * word after them).  Only a STOP drain leaves the L2 abort flag down.
 * Runs once, in the thread or, if it never ran, in l3l2q_loopback_stop().
 */
static void l3l2q_loopback_finish(struct l3l2q_loopback *lb, int result)
{
	const struct l3l2q_error *err = l3l2q_ep_error(&lb->l2.ep);

	if (result == -EPROTO)
		pr_debug("queue %llu: loopback peer gave up: %s\n", lb->r->id,
			 err->message);
	l3l2q_l2_close(&lb->l2);
	lb->result = result;
	/* Pairs with the load-acquire in l3l2q_loopback_show(). */
	smp_store_release(&lb->finished, true);
	l3l2q_role_died(lb->r, L3L2Q_END_L2, result != 0);
}

static int l3l2q_loopback_fn(void *data)
{
	struct l3l2q_loopback *lb = data;
	struct l3l2q_msg msg;
	int ret;

	for (;;) {
		if (kthread_should_stop()) {
			ret = -ESHUTDOWN;
			break;
		}
		ret = l3l2q_l2_peek(&lb->l2, L3L2Q_DEADLINE_NONE, &msg);
		if (ret)
			break;
		if (msg.opcode == L3L2Q_OP_STOP) {
			/*
			 * With a window of one, everything before STOP has
			 * been answered and released: releasing STOP is the
			 * end of the drain.
			 */
			ret = l3l2q_l2_release(&lb->l2, &msg);
			if (!ret && !l3l2q_l2_drained(&lb->l2))
				ret = -EPROTO;
			break;
		}
		ret = l3l2q_loopback_answer(lb, &msg);
		if (ret)
			break;
		atomic64_inc(&lb->nr_msgs);
		cond_resched();
	}
	l3l2q_loopback_finish(lb, ret);
	/*
	 * Return without waiting for kthread_stop(): the task is pinned, so
	 * l3l2q_loopback_stop() may still stop (reap) it later.
	 */
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Start and stop                                                         */
/* ---------------------------------------------------------------------- */

/* Count a loopback for @uid: -EAGAIN at max_user_loopbacks. */
static int l3l2q_lb_user_get(kuid_t uid)
{
	unsigned long key = from_kuid(&init_user_ns, uid);
	unsigned long n;
	int ret = 0;

	mutex_lock(&l3l2q_lb_users_lock);
	n = xa_to_value(xa_load(&l3l2q_lb_users, key) ?: xa_mk_value(0));
	if (n >= READ_ONCE(l3l2q_max_user_loopbacks)) {
		pr_debug("uid %lu has max_user_loopbacks=%u loopback peers\n",
			 key, READ_ONCE(l3l2q_max_user_loopbacks));
		ret = -EAGAIN;
	} else {
		ret = xa_err(xa_store(&l3l2q_lb_users, key, xa_mk_value(n + 1),
				      GFP_KERNEL_ACCOUNT));
	}
	mutex_unlock(&l3l2q_lb_users_lock);
	return ret;
}

static void l3l2q_lb_user_put(kuid_t uid)
{
	unsigned long key = from_kuid(&init_user_ns, uid);
	unsigned long n;

	mutex_lock(&l3l2q_lb_users_lock);
	n = xa_to_value(xa_load(&l3l2q_lb_users, key));
	if (n > 1)
		xa_store(&l3l2q_lb_users, key, xa_mk_value(n - 1), GFP_KERNEL);
	else
		xa_erase(&l3l2q_lb_users, key);
	mutex_unlock(&l3l2q_lb_users_lock);
}

/**
 * l3l2q_loopback_start() - give a loopback region its in-kernel L2 peer
 * @r: a queue made with L3L2Q_CREATE_LOOPBACK, not yet visible to user
 *     space
 *
 * Binds the endpoint, marks the L2 role LIVE and starts the thread in the
 * caller's cgroups.  Once this succeeds, @r->peer->stop() must be called
 * before the region's last reference can go (the thread holds one).
 * Process context, the creator's.
 *
 * Return: 0; -EPERM without CAP_SYS_ADMIN; -EAGAIN when the caller's uid
 * has max_user_loopbacks peers; -ENOMEM; -EINVAL if @r is no queue or the
 * core refuses the geometry (it never should: the kernel computed it);
 * kthread_create()'s or cgroup_attach_task_all()'s error.
 */
int l3l2q_loopback_start(struct l3l2q_region *r)
{
	struct l3l2q_env env = {
		.now_ns = l3l2q_loopback_now,
		.relax = l3l2q_loopback_relax,
		.sleep = l3l2q_loopback_sleep,
		.kick = l3l2q_loopback_kick,
		.spin_attempts = L3L2Q_LOOPBACK_SPINS,
	};
	struct l3l2q_loopback *lb;
	struct task_struct *task;
	struct l3l2q_mem mem;
	kuid_t uid = current_uid();
	int ret;

	/* The peer speaks the queue's protocol only. */
	if (r->kind != &l3l2q_queue_kind)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN)) {
		pr_debug("create: a loopback peer needs CAP_SYS_ADMIN\n");
		return -EPERM;
	}
	ret = l3l2q_lb_user_get(uid);
	if (ret)
		return ret;
	/* Some 12 KiB, for the core's input window: not for the stack. */
	lb = kvzalloc(sizeof(*lb), GFP_KERNEL_ACCOUNT);
	if (!lb) {
		ret = -ENOMEM;
		goto out_uncount;
	}
	lb->r = r;
	lb->uid = uid;
	lb->xor = r->flags & L3L2Q_CREATE_LOOPBACK_XOR;
	atomic64_set(&lb->nr_msgs, 0);
	atomic64_set(&lb->nr_doubts, 0);

	mem.payload = l3l2q_region_at(r, r->off.payload_offset);
	mem.counters = l3l2q_region_at(r, r->off.counter_offset);
	mem.ctrl = l3l2q_region_at(r, r->off.ctrl_offset);
	mem.region_id = r->id;
	env.ctx = lb;
	/* A window of one: inputs are answered strictly in order. */
	ret = l3l2q_l2_init(&lb->l2, &mem, &r->layout.queue, r->start_pos, 1,
			    &env);
	if (ret)
		goto out_free;

	task = kthread_create(l3l2q_loopback_fn, lb, "l3l2q-lb/%llu", r->id);
	if (IS_ERR(task)) {
		ret = PTR_ERR(task);
		goto out_free;
	}
	/*
	 * Before it first runs: the thread's CPU time is the creator's, in
	 * the creator's cpu (and every other) controller.
	 */
	ret = cgroup_attach_task_all(current, task);
	if (ret) {
		pr_debug("create: cannot move the loopback thread into the creator's cgroups: %d\n",
			 ret);
		/* Never woken: kthread_stop() reaps it without running it. */
		kthread_stop(task);
		goto out_free;
	}
	/* The thread may return on its own; kthread_stop() needs the task. */
	get_task_struct(task);
	lb->task = task;
	l3l2q_region_get(r);
	r->peer_priv = lb;
	r->peer = &l3l2q_loopback_peer;

	/*
	 * Nothing refers to the queue yet (the fd comes later), so PEER
	 * cannot race with this; it will find the role taken.
	 */
	mutex_lock(&r->lock);
	WRITE_ONCE(r->state[L3L2Q_END_L2], L3L2Q_ROLE_LIVE);
	mutex_unlock(&r->lock);
	/* Pairs with L3's load-acquire of the state word. */
	smp_store_release(l3l2q_ctrl_word(r, L3L2Q_CTRL_L2_STATE),
			  L3L2Q_ROLE_LIVE);

	wake_up_process(task);
	return 0;

out_free:
	kvfree(lb);
out_uncount:
	l3l2q_lb_user_put(uid);
	return ret;
}

/*
 * Stop @q's thread and wait until it has exited; returns at once if it
 * already ended on its own.  The thread's queue reference is dropped
 * here, never the last one: the caller holds another.  Idempotent.
 */
static void l3l2q_loopback_stop(struct l3l2q_region *r)
{
	struct l3l2q_loopback *lb = r->peer_priv;

	if (!lb || !lb->task)
		return;
	kthread_stop(lb->task);
	put_task_struct(lb->task);
	lb->task = NULL;
	/* kthread_stop() before the thread ran skips l3l2q_loopback_fn(). */
	if (!lb->finished)
		l3l2q_loopback_finish(lb, -ESHUTDOWN);
	l3l2q_lb_user_put(lb->uid);
	l3l2q_region_put(r);
}

/* The queue is being freed: the thread was reaped long ago. */
static void l3l2q_loopback_free(struct l3l2q_region *r)
{
	kvfree(r->peer_priv);
	r->peer_priv = NULL;
}

/* For debugfs: the thread's state, how it ended and what it did. */
static void l3l2q_loopback_show(struct seq_file *m, struct l3l2q_region *r)
{
	struct l3l2q_loopback *lb = r->peer_priv;
	bool finished;

	if (!lb)
		return;
	/* Pairs with the store-release in l3l2q_loopback_finish(). */
	finished = smp_load_acquire(&lb->finished);
	seq_printf(m, "loopback: %s\n", finished ? "exited" : "running");
	seq_printf(m, "loopback_xor: %d\n", lb->xor);
	seq_printf(m, "loopback_msgs: %lld\n", atomic64_read(&lb->nr_msgs));
	seq_printf(m, "loopback_doubts: %lld\n",
		   atomic64_read(&lb->nr_doubts));
	if (finished)
		seq_printf(m, "loopback_result: %d\n", lb->result);
}

static const struct l3l2q_peer_ops l3l2q_loopback_peer = {
	.stop	= l3l2q_loopback_stop,
	.free	= l3l2q_loopback_free,
	.show	= l3l2q_loopback_show,
};
