// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_queue.c - a queue, its two role files and what happens when a role
 * dies.
 *
 * Lifetime: l3l2q_queue_create() returns a queue holding one reference,
 * which the caller hands to the L3 file.  PEER takes a second one for the
 * L2 file.  Each role file's ->release is that role's death and drops its
 * reference; the last drop frees the region.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "l3l2q_internal.h"

static atomic64_t l3l2q_next_id = ATOMIC64_INIT(0);

static const char *const l3l2q_end_names[L3L2Q_NR_ENDS] = {
	[L3L2Q_END_L3] = "[l3l2q-l3]",
	[L3L2Q_END_L2] = "[l3l2q-l2]",
};

/* ---------------------------------------------------------------------- */
/* Creation and freeing                                                   */
/* ---------------------------------------------------------------------- */

static void l3l2q_queue_free(struct kref *ref)
{
	struct l3l2q_queue *q = container_of(ref, struct l3l2q_queue, ref);
	int i;

	/* Waits for debugfs readers still looking at the region. */
	l3l2q_debugfs_remove(q);
	/* Waits for a deadline timer still looking at the counters. */
	for (i = 0; i < L3L2Q_NR_ENDS; i++)
		l3l2q_end_destroy(&q->ends[i]);
	l3l2q_region_free(q);
	l3l2q_loopback_free(q);
	kfree(q);
}

void l3l2q_queue_put(struct l3l2q_queue *q)
{
	kref_put(&q->ref, l3l2q_queue_free);
}

/*
 * Validate @args (already copied from user space) and build a queue whose
 * region is formatted and whose L3 role is LIVE.  Nothing is visible to user
 * space yet.  Errors: -EINVAL for bad geometry, flags or reserved fields;
 * -E2BIG, -EDQUOT or -ENOMEM from the region.
 */
struct l3l2q_queue *l3l2q_queue_create(const struct l3l2q_create_args *args)
{
	struct l3l2q_region_offsets off;
	enum l3l2q_layout_status st;
	struct l3l2q_layout layout;
	struct l3l2q_queue *q;
	int ret, i;

	if (args->flags & ~L3L2Q_CREATE_ALL)
		return ERR_PTR(-EINVAL);
	/* The transform is the loopback peer's; alone it means nothing. */
	if ((args->flags & L3L2Q_CREATE_LOOPBACK_XOR) &&
	    !(args->flags & L3L2Q_CREATE_LOOPBACK))
		return ERR_PTR(-EINVAL);
	/* The other kinds come with their own layouts (uapi). */
	if (args->kind != L3L2Q_KIND_QUEUE)
		return ERR_PTR(-EOPNOTSUPP);
	if (args->resv2 ||
	    memchr_inv(args->resv1, 0, sizeof(args->resv1)) ||
	    memchr_inv(args->resv3, 0, sizeof(args->resv3)))
		return ERR_PTR(-EINVAL);
	/* Overflow-checked; the status names the field, for pr_debug. */
	st = l3l2q_layout(args->depth, args->input_arena_bytes,
			  args->output_arena_bytes, &layout);
	if (st != L3L2Q_LAYOUT_OK) {
		pr_debug("create: %s\n", l3l2q_layout_strerror(st));
		return ERR_PTR(-EINVAL);
	}
	if (!l3l2q_region_layout(&layout, &off))
		return ERR_PTR(-EINVAL);

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return ERR_PTR(-ENOMEM);
	kref_init(&q->ref);
	mutex_init(&q->lock);
	q->layout = layout;
	q->off = off;
	q->start_pos = args->start_pos;
	q->flags = args->flags;
	for (i = 0; i < L3L2Q_NR_ENDS; i++) {
		q->ends[i].q = q;
		q->ends[i].role = i;
		l3l2q_end_init(&q->ends[i]);
	}

	ret = l3l2q_region_alloc(q);
	if (ret)
		goto out_free_queue;

	q->id = atomic64_inc_return(&l3l2q_next_id);
	q->state[L3L2Q_END_L3] = L3L2Q_ROLE_LIVE;
	q->state[L3L2Q_END_L2] = L3L2Q_ROLE_ABSENT;
	l3l2q_region_format(q);
	return q;

out_free_queue:
	kfree(q);
	return ERR_PTR(ret);
}

/* ---------------------------------------------------------------------- */
/* Role death                                                             */
/* ---------------------------------------------------------------------- */

/*
 * The last reference of @role went away, or the loopback peer (the L2
 * role) ended.  Tell the survivor through the shared words, in the order
 * it reads them: a survivor that sees the abort flag (acquire) also sees
 * the DEAD state stored before it.  @abort is false only for a loopback
 * peer that drained a STOP: a clean end, its abort flag stays down.  The
 * region itself is untouched, so what was published stays readable.  Then
 * every wait of the survivor ends (l3l2q_wake_on_death()): blocked WAITs
 * and io_uring WAITs with -ECONNRESET, its eventfd is signalled, poll
 * reports EPOLLHUP|EPOLLERR.
 */
void l3l2q_role_died(struct l3l2q_queue *q, enum l3l2q_end_role role,
		     bool abort)
{
	mutex_lock(&q->lock);
	WRITE_ONCE(q->state[role], L3L2Q_ROLE_DEAD);
	mutex_unlock(&q->lock);

	/* Pairs with the survivor's load-acquire of the state word. */
	smp_store_release(l3l2q_state_word(q, role), L3L2Q_ROLE_DEAD);
	/* Pairs with the survivor's load-acquire of the abort flag. */
	if (abort)
		smp_store_release(l3l2q_abort_word(q, role), 1);
	atomic64_inc(&q->nr_deaths);
	l3l2q_wake_on_death(q, role);
}

/* ---------------------------------------------------------------------- */
/* Role file operations                                                   */
/* ---------------------------------------------------------------------- */

/*
 * PEER on the L3 file: make the queue's one L2 file.  Errors: -EPERM on an
 * L2 file (it does not carry the right), -EINVAL for non-zero flags or
 * reserved fields, -EBUSY if an L2 file was ever made or the queue has a
 * loopback peer (its L2 role was never ABSENT).
 */
static long l3l2q_queue_peer(struct l3l2q_end *end,
			     struct l3l2q_peer_args __user *uarg)
{
	struct l3l2q_queue *q = end->q;
	struct l3l2q_peer_args args;
	struct file *file;
	int fd, ret;

	if (end->role != L3L2Q_END_L3)
		return -EPERM;
	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags || memchr_inv(args.resv, 0, sizeof(args.resv)))
		return -EINVAL;

	mutex_lock(&q->lock);
	if (q->state[L3L2Q_END_L2] != L3L2Q_ROLE_ABSENT) {
		ret = -EBUSY;
		goto out_unlock;
	}

	/*
	 * Everything that can fail happens before the file exists: once it
	 * does, its ->release is the L2 role's death.
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto out_unlock;
	}
	args.fd = fd;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		ret = -EFAULT;
		goto out_put_fd;
	}
	kref_get(&q->ref);
	file = l3l2q_queue_getfile(q, L3L2Q_END_L2);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_put_queue;
	}

	WRITE_ONCE(q->state[L3L2Q_END_L2], L3L2Q_ROLE_LIVE);
	/* Pairs with L3's load-acquire: it may now look for its peer. */
	smp_store_release(l3l2q_state_word(q, L3L2Q_END_L2), L3L2Q_ROLE_LIVE);
	atomic64_inc(&q->nr_peers);
	mutex_unlock(&q->lock);
	fd_install(fd, file);
	return 0;

out_put_queue:
	l3l2q_queue_put(q);	/* never the last: the L3 file holds one */
out_put_fd:
	put_unused_fd(fd);
out_unlock:
	mutex_unlock(&q->lock);
	return ret;
}

/* INFO on either role file: the kernel's copy, never the shared page's. */
static long l3l2q_queue_info(struct l3l2q_end *end,
			     struct l3l2q_info_args __user *uarg)
{
	struct l3l2q_queue *q = end->q;
	struct l3l2q_info_args info;

	memset(&info, 0, sizeof(info));
	info.role = end->role;
	info.kind = L3L2Q_KIND_QUEUE;
	info.flags = q->flags;
	info.depth = q->layout.depth;
	info.input_arena_bytes = q->layout.input_arena_bytes;
	info.output_arena_bytes = q->layout.output_arena_bytes;
	info.start_pos = q->start_pos;
	info.off = q->off;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long l3l2q_queue_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct l3l2q_end *end = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case L3L2Q_IOC_PEER:
		return l3l2q_queue_peer(end, argp);
	case L3L2Q_IOC_INFO:
		return l3l2q_queue_info(end, argp);
	case L3L2Q_IOC_WAIT:
		return l3l2q_wait_ioctl(end, argp);
	case L3L2Q_IOC_KICK:
		return l3l2q_kick_ioctl(end);
	case L3L2Q_IOC_SET_EVENTFD:
		return l3l2q_set_eventfd_ioctl(end, argp);
	case L3L2Q_IOC_CREATE:
		/* Only the device fd creates queues. */
		return -EPERM;
	default:
		return -ENOTTY;
	}
}

static int l3l2q_queue_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct l3l2q_end *end = file->private_data;

	return l3l2q_region_mmap(end->q, end->role, vma);
}

/* /proc/<pid>/fdinfo/<fd>: which queue (its debugfs name) and role. */
static void l3l2q_queue_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct l3l2q_end *end = file->private_data;

	seq_printf(m, "l3l2q-queue:\t%llu\n", end->q->id);
	seq_printf(m, "l3l2q-role:\t%s\n",
		   end->role == L3L2Q_END_L3 ? "l3" : "l2");
}

/* The role's last reference is gone: close, exit, kill or last munmap. */
static int l3l2q_queue_release(struct inode *inode, struct file *file)
{
	struct l3l2q_end *end = file->private_data;
	struct l3l2q_queue *q = end->q;

	l3l2q_role_died(q, end->role, true);
	/*
	 * Only an L3 file exists on a loopback queue.  Its peer sees the death
	 * or is woken by kthread_stop(); wait for it to exit, wherever it was
	 * blocked, before the queue can go.
	 */
	if (end->role == L3L2Q_END_L3)
		l3l2q_loopback_stop(q);
	l3l2q_end_released(end);
	l3l2q_queue_put(q);
	return 0;
}

static const struct file_operations l3l2q_queue_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= l3l2q_queue_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= l3l2q_queue_mmap,
	.poll		= l3l2q_queue_poll,
	.uring_cmd	= l3l2q_uring_cmd,
	.release	= l3l2q_queue_release,
	.show_fdinfo	= l3l2q_queue_show_fdinfo,
};

/*
 * A new role file for @q, owning one queue reference the caller already
 * holds.  anon_inode_getfile() pins this module through .owner.
 */
struct file *l3l2q_queue_getfile(struct l3l2q_queue *q,
				 enum l3l2q_end_role role)
{
	return anon_inode_getfile(l3l2q_end_names[role], &l3l2q_queue_fops,
				  &q->ends[role], O_RDWR);
}
