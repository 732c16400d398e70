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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
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
#include <linux/wait.h>

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
 * A kernel thread's stack and task are not charged to the creator's memcg
 * the way its region is, and the device is world-usable: cap how many
 * loopback threads exist at once, whoever made them.
 */
static unsigned int l3l2q_max_loopbacks = 256;
module_param_named(max_loopbacks, l3l2q_max_loopbacks, uint, 0644);
MODULE_PARM_DESC(max_loopbacks,
		 "Loopback peers (kernel threads) alive at once (beyond: EAGAIN)");

static const struct l3l2q_peer_ops l3l2q_loopback_peer;

/* Threads made and not yet reaped. */
static atomic_t l3l2q_nr_loopbacks = ATOMIC_INIT(0);

struct l3l2q_loopback {
	struct l3l2q_region *r;		/* the thread's reference */
	struct task_struct *task;	/* pinned until reaped, then NULL */
	bool xor;			/* L3L2Q_CREATE_LOOPBACK_XOR */
	bool finished;			/* l3l2q_loopback_finish() ran */
	int result;			/* 0 after a STOP drain, else -errno */
	atomic64_t nr_msgs;		/* inputs answered, STOP excluded */
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
	struct l3l2q_wait_args args = { .counter = counter };
	int cond = -EAGAIN;
	long ret;
	u64 now;

	if (counter > U16_MAX || l3l2q_wait_validate(end, &args))
		return -EINVAL;

	now = ktime_get_ns();
	if (deadline_ns <= now)
		return -ETIMEDOUT;
	/* The thread itself never sets a deadline; beyond KTIME_MAX is none. */
	if (deadline_ns - now > (u64)KTIME_MAX)
		ret = wait_event_interruptible(end->wq,
				l3l2q_loopback_woken(end, counter, seen, &cond));
	else
		ret = wait_event_interruptible_hrtimeout(end->wq,
				l3l2q_loopback_woken(end, counter, seen, &cond),
				ns_to_ktime(deadline_ns - now));

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
		pr_info_ratelimited("queue %llu: loopback peer gave up: %s\n",
				    lb->r->id, err->message);
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

/*
 * Give @q (a loopback queue not yet visible to user space) its L2 peer:
 * bind the endpoint, mark the L2 role LIVE and start the thread.  Errors:
 * -EAGAIN when max_loopbacks threads exist, -ENOMEM, -EINVAL if the core
 * refuses the geometry (it never should: the kernel computed it), or
 * kthread_create()'s error.  Once this succeeds,
 * l3l2q_loopback_stop() must be called before the queue's last reference
 * can go (the thread holds one).
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
	int ret;

	/* The peer speaks the queue's protocol only. */
	if (r->kind != &l3l2q_queue_kind)
		return -EINVAL;
	if (atomic_inc_return(&l3l2q_nr_loopbacks) >
	    READ_ONCE(l3l2q_max_loopbacks)) {
		ret = -EAGAIN;
		goto out_uncount;
	}
	/* Some 12 KiB, for the core's input window: not for the stack. */
	lb = kzalloc(sizeof(*lb), GFP_KERNEL_ACCOUNT);
	if (!lb) {
		ret = -ENOMEM;
		goto out_uncount;
	}
	lb->r = r;
	lb->xor = r->flags & L3L2Q_CREATE_LOOPBACK_XOR;
	atomic64_set(&lb->nr_msgs, 0);

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
	kfree(lb);
out_uncount:
	atomic_dec(&l3l2q_nr_loopbacks);
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
	atomic_dec(&l3l2q_nr_loopbacks);
	l3l2q_region_put(r);
}

/* The queue is being freed: the thread was reaped long ago. */
static void l3l2q_loopback_free(struct l3l2q_region *r)
{
	kfree(r->peer_priv);
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
	if (finished)
		seq_printf(m, "loopback_result: %d\n", lb->result);
}

static const struct l3l2q_peer_ops l3l2q_loopback_peer = {
	.stop	= l3l2q_loopback_stop,
	.free	= l3l2q_loopback_free,
	.show	= l3l2q_loopback_show,
};
