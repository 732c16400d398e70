// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_region.c - a region of any kind, its two role files and what
 * happens when a role dies.
 *
 * Lifetime: l3l2q_region_create() returns a region holding one reference,
 * which the caller hands to the L3 file.  PEER takes a second one for the
 * L2 file, a software peer one for itself.  Each role file's ->release is
 * that role's death and drops its reference; the last drop frees the
 * memory through the backend.
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
#include "l3l2q_trace.h"

static atomic64_t l3l2q_next_id = ATOMIC64_INIT(0);

static const char *const l3l2q_end_names[L3L2Q_NR_ENDS] = {
	[L3L2Q_END_L3] = "[l3l2q-l3]",
	[L3L2Q_END_L2] = "[l3l2q-l2]",
};

/* The kinds this driver knows, by L3L2Q_KIND_*. */
static const struct l3l2q_kind_ops *const l3l2q_kinds[] = {
	[L3L2Q_KIND_QUEUE] = &l3l2q_queue_kind,
	[L3L2Q_KIND_CHANNEL] = &l3l2q_channel_kind,
	[L3L2Q_KIND_SIGNALS] = &l3l2q_signals_kind,
};

/**
 * l3l2q_role_state_name() - the name of a role state, for debugfs and fdinfo
 * @state: an L3L2Q_ROLE_* value
 *
 * Return: "absent", "live", "dead", or "invalid" for anything else.
 */
const char *l3l2q_role_state_name(u32 state)
{
	switch (state) {
	case L3L2Q_ROLE_ABSENT:
		return "absent";
	case L3L2Q_ROLE_LIVE:
		return "live";
	case L3L2Q_ROLE_DEAD:
		return "dead";
	}
	return "invalid";
}

/* ---------------------------------------------------------------------- */
/* The region's memory                                                    */
/* ---------------------------------------------------------------------- */

/**
 * l3l2q_region_at() - a kernel pointer into the region
 * @r: the region
 * @offset: bytes from its start, below r->off.total_bytes
 *
 * Return: the kernel's address of that byte.
 */
void *l3l2q_region_at(struct l3l2q_region *r, u64 offset)
{
	return r->mem + offset;
}

/**
 * l3l2q_ctrl_word() - a word of the control block, common to every kind
 * @r: the region
 * @offset: an L3L2Q_CTRL_* offset (uapi)
 *
 * Return: the kernel's address of the word; it is shared and untrusted.
 */
u32 *l3l2q_ctrl_word(struct l3l2q_region *r, unsigned int offset)
{
	return l3l2q_region_at(r, r->off.ctrl_offset + offset);
}

static u32 *l3l2q_state_word(struct l3l2q_region *r, enum l3l2q_end_role role)
{
	return l3l2q_ctrl_word(r, role == L3L2Q_END_L3 ? L3L2Q_CTRL_L3_STATE :
							L3L2Q_CTRL_L2_STATE);
}

/* ---------------------------------------------------------------------- */
/* Creation and freeing                                                   */
/* ---------------------------------------------------------------------- */

static void l3l2q_region_free(struct kref *ref)
{
	struct l3l2q_region *r = container_of(ref, struct l3l2q_region, ref);
	const struct l3l2q_backend_ops *ops = r->dev->ops;
	int i;

	/* No role file is left to wait: stop polling, for good. */
	l3l2q_poller_destroy(r);
	/* Waits for debugfs readers still looking at the region. */
	l3l2q_debugfs_remove(r);
	/* Waits for a deadline timer still looking at its words. */
	for (i = 0; i < L3L2Q_NR_ENDS; i++)
		l3l2q_end_destroy(&r->ends[i]);
	if (ops->retire)
		ops->retire(r);
	ops->free(r);
	if (r->peer)
		r->peer->free(r);
	mutex_destroy(&r->lock);
	l3l2q_dev_put(r->dev);
	kfree(r);
}

/**
 * l3l2q_region_get() - take a reference on a region
 * @r: a region the caller holds a reference on already
 */
void l3l2q_region_get(struct l3l2q_region *r)
{
	kref_get(&r->ref);
}

/**
 * l3l2q_region_put() - drop a reference; the last frees the region
 * @r: the region
 *
 * Process context: freeing waits for debugfs readers, the deadline timer
 * and the io_uring work.
 */
void l3l2q_region_put(struct l3l2q_region *r)
{
	kref_put(&r->ref, l3l2q_region_free);
}

/**
 * l3l2q_region_create() - validate CREATE's arguments and build a region
 * @dev: the node CREATE came through
 * @args: CREATE's arguments, already copied from user space
 *
 * Builds a region on @dev whose memory is formatted and whose L3 role is
 * LIVE (and, on a device, whose L2 role is the device's).  Nothing is
 * visible to user space yet.
 *
 * Return: the region, holding one reference for the caller; or
 * ERR_PTR(-EOPNOTSUPP) for an unknown kind, -EINVAL for bad geometry,
 * flags or reserved fields, or the backend's -E2BIG, -ENOSPC or -ENOMEM.
 */
struct l3l2q_region *l3l2q_region_create(struct l3l2q_dev *dev,
					 const struct l3l2q_create_args *args)
{
	const struct l3l2q_kind_ops *kind;
	struct l3l2q_region *r;
	int ret, i;

	if (args->kind >= ARRAY_SIZE(l3l2q_kinds) || !l3l2q_kinds[args->kind])
		return ERR_PTR(-EOPNOTSUPP);
	kind = l3l2q_kinds[args->kind];
	if (args->flags & ~L3L2Q_CREATE_ALL)
		return ERR_PTR(-EINVAL);
	/* The transform is the loopback peer's; alone it means nothing. */
	if ((args->flags & L3L2Q_CREATE_LOOPBACK_XOR) &&
	    !(args->flags & L3L2Q_CREATE_LOOPBACK))
		return ERR_PTR(-EINVAL);
	/* A device's L2 role is the device: it has room for no other peer. */
	if ((args->flags & L3L2Q_CREATE_LOOPBACK) && dev->ops->l2_is_device)
		return ERR_PTR(-EINVAL);
	if (args->resv2 ||
	    memchr_inv(args->resv1, 0, sizeof(args->resv1)) ||
	    memchr_inv(args->resv3, 0, sizeof(args->resv3)))
		return ERR_PTR(-EINVAL);

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return ERR_PTR(-ENOMEM);
	r->kind = kind;
	r->start_pos = args->start_pos;
	r->flags = args->flags;
	ret = kind->geometry(r, args);
	if (ret)
		goto out_free_region;

	kref_init(&r->ref);
	mutex_init(&r->lock);
	l3l2q_poller_init(r);
	for (i = 0; i < L3L2Q_NR_ENDS; i++) {
		r->ends[i].r = r;
		r->ends[i].role = i;
		l3l2q_end_init(&r->ends[i]);
	}
	l3l2q_dev_get(dev);
	r->dev = dev;

	ret = dev->ops->alloc(r);
	if (ret)
		goto out_put_dev;

	r->id = atomic64_inc_return(&l3l2q_next_id);
	r->state[L3L2Q_END_L3] = L3L2Q_ROLE_LIVE;
	r->state[L3L2Q_END_L2] = dev->ops->l2_is_device ? L3L2Q_ROLE_LIVE :
							  L3L2Q_ROLE_ABSENT;
	/*
	 * No user yet: plain stores, published by the fd that comes later.
	 * A device may be removed meanwhile: its region then never gets
	 * memory to format, and every use of it fails with -ENODEV.
	 */
	if (l3l2q_mem_enter(r)) {
		kind->format(r);
		*l3l2q_state_word(r, L3L2Q_END_L3) = r->state[L3L2Q_END_L3];
		/*
		 * A device claims its role in the shared word itself when it
		 * picks the region up (uapi, "Device memory"); to the kernel
		 * it is LIVE from now on (no PEER, it dies with the device).
		 */
		*l3l2q_state_word(r, L3L2Q_END_L2) = dev->ops->l2_is_device ?
						      L3L2Q_ROLE_ABSENT :
						      r->state[L3L2Q_END_L2];
	}
	l3l2q_mem_exit(r);
	return r;

out_put_dev:
	l3l2q_dev_put(dev);
	mutex_destroy(&r->lock);
out_free_region:
	kfree(r);
	return ERR_PTR(ret);
}

/* ---------------------------------------------------------------------- */
/* Role death                                                             */
/* ---------------------------------------------------------------------- */

/*
 * Why @role died, for the trace: an L3 role and a process L2 only ever
 * die with their file; an L2 that is no file is the software peer or the
 * device.
 */
static u32 l3l2q_death_reason(struct l3l2q_region *r,
			      enum l3l2q_end_role role)
{
	if (role == L3L2Q_END_L3)
		return L3L2Q_TRACE_DIED_RELEASE;
	if (r->peer)
		return L3L2Q_TRACE_DIED_PEER_EXIT;
	if (r->dev->ops->l2_is_device)
		return READ_ONCE(r->dev->gone) ? L3L2Q_TRACE_DIED_UNPLUG :
						 L3L2Q_TRACE_DIED_DEVICE;
	return L3L2Q_TRACE_DIED_RELEASE;
}

/**
 * l3l2q_role_died() - a role is gone: tell the survivor
 * @r: the region
 * @role: the role that died
 * @abort: raise its abort flag (false only for a clean end)
 *
 * The last reference of @role went away, or its software peer or device
 * ended.  Tell the survivor through the shared words, in the order it
 * reads them: the DEAD state first, then the kind's own marks (the queue's
 * abort flag), so a survivor that sees those (acquire) also sees the state.
 * @abort is false only for a clean end (a peer that drained a STOP): its
 * abort flag stays down.  The memory itself
 * is untouched, so what was published stays readable.  Then every wait of
 * the survivor ends (l3l2q_wake_on_death()): blocked WAITs and io_uring
 * WAITs with -ECONNRESET, its eventfd is signalled, poll reports
 * EPOLLHUP|EPOLLERR.  A role dies once; later calls change nothing.
 */
void l3l2q_role_died(struct l3l2q_region *r, enum l3l2q_end_role role,
		     bool abort)
{
	mutex_lock(&r->lock);
	if (r->state[role] == L3L2Q_ROLE_DEAD) {
		mutex_unlock(&r->lock);
		return;
	}
	WRITE_ONCE(r->state[role], L3L2Q_ROLE_DEAD);
	/*
	 * Traced under the lock: a death this one causes (a software peer
	 * that ends when its L3 is gone) takes the lock in its own
	 * l3l2q_role_died(), so the trace shows the cause first.
	 */
	trace_l3l2q_role_death(r->id, role, l3l2q_death_reason(r, role),
			       abort);
	mutex_unlock(&r->lock);

	/* A removed device took the shared words with it: nothing to mark. */
	if (l3l2q_mem_enter(r)) {
		/* Pairs with the survivor's load-acquire of the state word. */
		smp_store_release(l3l2q_state_word(r, role), L3L2Q_ROLE_DEAD);
		r->kind->died(r, role, abort);
	}
	l3l2q_mem_exit(r);
	atomic64_inc(&r->nr_deaths);
	l3l2q_wake_on_death(r, role);
}

/* ---------------------------------------------------------------------- */
/* Role file operations                                                   */
/* ---------------------------------------------------------------------- */

/*
 * PEER on the L3 file: make the region's one L2 file.  Errors: -EPERM on an
 * L2 file (it does not carry the right), -EINVAL for non-zero flags or
 * reserved fields, -EBUSY if an L2 file was ever made or the L2 role is
 * taken otherwise (a software peer, a device), -EMFILE, -EFAULT.
 *
 * User memory is touched only outside r->lock: a fault on @uarg can take
 * for ever (a userfaultfd or FUSE page), and role deaths and debugfs take
 * that lock.  So the fd is reserved and reported first, and the role taken
 * under the lock afterwards; a caller that loses a race for it gets -EBUSY
 * with a reported fd number that was never installed.
 */
static long l3l2q_region_peer(struct l3l2q_end *end,
			      struct l3l2q_peer_args __user *uarg)
{
	struct l3l2q_region *r = end->r;
	struct l3l2q_peer_args args;
	struct file *file;
	int fd, ret;

	if (end->role != L3L2Q_END_L3)
		return -EPERM;
	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags || memchr_inv(args.resv, 0, sizeof(args.resv)))
		return -EINVAL;
	/* Taken already: no fd, no write.  Checked again under the lock. */
	if (READ_ONCE(r->state[L3L2Q_END_L2]) != L3L2Q_ROLE_ABSENT)
		return -EBUSY;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	args.fd = fd;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		ret = -EFAULT;
		goto out_put_fd;
	}

	mutex_lock(&r->lock);
	if (r->state[L3L2Q_END_L2] != L3L2Q_ROLE_ABSENT) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/*
	 * Everything that can fail happens before the file exists: once it
	 * does, its ->release is the L2 role's death.
	 */
	l3l2q_region_get(r);
	file = l3l2q_region_getfile(r, L3L2Q_END_L2);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_put_region;
	}

	WRITE_ONCE(r->state[L3L2Q_END_L2], L3L2Q_ROLE_LIVE);
	/* Pairs with L3's load-acquire: it may now look for its peer. */
	smp_store_release(l3l2q_state_word(r, L3L2Q_END_L2), L3L2Q_ROLE_LIVE);
	atomic64_inc(&r->nr_peers);
	mutex_unlock(&r->lock);
	trace_l3l2q_attach(r->id, L3L2Q_END_L2, L3L2Q_TRACE_BY_FILE);
	fd_install(fd, file);
	return 0;

out_put_region:
	l3l2q_region_put(r);	/* never the last: the L3 file holds one */
out_unlock:
	mutex_unlock(&r->lock);
out_put_fd:
	put_unused_fd(fd);
	return ret;
}

/* INFO on either role file: the kernel's copy, never the shared page's. */
static long l3l2q_region_info(struct l3l2q_end *end,
			      struct l3l2q_info_args __user *uarg)
{
	struct l3l2q_region *r = end->r;
	struct l3l2q_info_args info;

	memset(&info, 0, sizeof(info));
	info.role = end->role;
	info.kind = r->kind->kind;
	info.flags = r->flags;
	r->kind->get_geometry(r, info.geom);
	info.start_pos = r->start_pos;
	info.off = r->off;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

/* KICK: wake the other role; a device is rung through its doorbell. */
static long l3l2q_region_kick(struct l3l2q_end *end)
{
	struct l3l2q_region *r = end->r;

	if (end->role == L3L2Q_END_L3 && r->dev->ops->kick_l2) {
		atomic64_inc(&r->nr_kicks);
		atomic64_inc(&end->nr_kicks);
		l3l2q_trace_kick(end, true);
		r->dev->ops->kick_l2(r);
		return 0;
	}
	l3l2q_kick(end);
	return 0;
}

static long l3l2q_region_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	struct l3l2q_end *end = file->private_data;
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case L3L2Q_IOC_PEER:
		return l3l2q_region_peer(end, argp);
	case L3L2Q_IOC_INFO:
		return l3l2q_region_info(end, argp);
	case L3L2Q_IOC_WAIT:
		return l3l2q_wait_ioctl(end, argp);
	case L3L2Q_IOC_KICK:
		return l3l2q_region_kick(end);
	case L3L2Q_IOC_SET_EVENTFD:
		return l3l2q_set_eventfd_ioctl(end, argp);
	case L3L2Q_IOC_CREATE:
		/* Only a device node creates regions. */
		return -EPERM;
	default:
		if (end->r->kind->ioctl)
			return end->r->kind->ioctl(end, cmd, argp);
		return -ENOTTY;
	}
}

static int l3l2q_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct l3l2q_end *end = file->private_data;

	return end->r->dev->ops->mmap(end->r, vma);
}

/*
 * /proc/<pid>/fdinfo/<fd>, readable by whoever may read the fd owner's
 * fdinfo (the owner, no debugfs): which region (its debugfs name) and
 * role, the kernel's copy of the role states and geometry, a snapshot of
 * the shared words (each read once and only printed: user space may be
 * changing them) and the role counts.  The keys are docs/driver.rst's:
 * keys may be added, none is renamed or changes meaning.
 */
static void l3l2q_region_show_fdinfo(struct seq_file *m, struct file *file)
{
	static const char *const names[L3L2Q_NR_ENDS] = { "l3", "l2" };
	static const unsigned int wake_off[L3L2Q_NR_ENDS] = {
		L3L2Q_CTRL_L3_WAKE, L3L2Q_CTRL_L2_WAKE,
	};
	struct l3l2q_end *end = file->private_data;
	struct l3l2q_region *r = end->r;
	u32 wake[L3L2Q_NR_ENDS] = { 0 };
	unsigned int pending;
	unsigned long flags;
	bool mem;
	int i;

	seq_printf(m, "l3l2q-queue:\t%llu\n", r->id);
	seq_printf(m, "l3l2q-kind:\t%s\n", r->kind->name);
	seq_printf(m, "l3l2q-role:\t%s\n", names[end->role]);
	seq_printf(m, "l3l2q-backend:\t%s\n", r->dev->ops->name);
	seq_printf(m, "l3l2q-flags:\t%#x\n", r->flags);
	seq_printf(m, "l3l2q-total-bytes:\t%llu\n", r->off.total_bytes);
	for (i = 0; i < L3L2Q_NR_ENDS; i++)
		seq_printf(m, "l3l2q-%s-state:\t%s\n", names[i],
			   l3l2q_role_state_name(READ_ONCE(r->state[i])));

	/* Nothing here sleeps: seq_printf() only fills the page it has. */
	mem = l3l2q_mem_enter(r);
	if (r->kind->show_fdinfo)	/* optional: the common keys suffice */
		r->kind->show_fdinfo(m, r, mem);
	if (mem)
		for (i = 0; i < L3L2Q_NR_ENDS; i++)
			wake[i] = READ_ONCE(*l3l2q_ctrl_word(r, wake_off[i]));
	l3l2q_mem_exit(r);
	if (!mem)
		seq_puts(m, "l3l2q-memory:\tgone\n");

	for (i = 0; i < L3L2Q_NR_ENDS; i++) {
		struct l3l2q_end *e = &r->ends[i];

		spin_lock_irqsave(&e->lock, flags);
		pending = e->nr_upending;
		spin_unlock_irqrestore(&e->lock, flags);
		if (mem) {
			seq_printf(m, "l3l2q-%s-wake-bits:\t%#x\n", names[i],
				   wake[i] & L3L2Q_WAKE_BITS);
			seq_printf(m, "l3l2q-%s-arms:\t%u\n", names[i],
				   wake[i] >> L3L2Q_WAKE_ARM_SHIFT);
		}
		seq_printf(m, "l3l2q-%s-kicks:\t%lld\n", names[i],
			   atomic64_read(&e->nr_kicks));
		seq_printf(m, "l3l2q-%s-sleeps:\t%lld\n", names[i],
			   atomic64_read(&e->nr_sleeps));
		seq_printf(m, "l3l2q-%s-waiters:\t%u\n", names[i],
			   atomic_read(&e->nr_waiting) + pending);
	}
}

/*
 * An fd of the role file is being closed.  If only the role's own pending
 * io_uring WAITs would hold it afterwards, they are cancelled, so that the
 * role dies as the user meant (l3l2q_uring_user_gone()).
 */
static int l3l2q_region_flush(struct file *file, fl_owner_t id)
{
	l3l2q_uring_user_gone(file->private_data, file);
	return 0;
}

/* The role's last reference is gone: close, exit, kill or last munmap. */
static int l3l2q_region_release(struct inode *inode, struct file *file)
{
	struct l3l2q_end *end = file->private_data;
	struct l3l2q_region *r = end->r;

	l3l2q_role_died(r, end->role, true);
	/*
	 * A software peer plays the L2 role of a region that has only an L3
	 * file.  It sees the death or is stopped; wait for it to exit,
	 * wherever it was blocked, before the region can go.
	 */
	if (end->role == L3L2Q_END_L3 && r->peer)
		r->peer->stop(r);
	if (r->kind->release)
		r->kind->release(end);
	l3l2q_end_released(end);
	l3l2q_region_put(r);
	return 0;
}

static const struct file_operations l3l2q_region_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= l3l2q_region_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= l3l2q_region_mmap,
	.poll		= l3l2q_region_poll,
	.uring_cmd	= l3l2q_uring_cmd,
	.flush		= l3l2q_region_flush,
	.release	= l3l2q_region_release,
	.show_fdinfo	= l3l2q_region_show_fdinfo,
};

/**
 * l3l2q_region_getfile() - a new role file
 * @r: the region
 * @role: its role
 *
 * The file owns one region reference the caller already holds.
 * anon_inode_getfile() pins this module through .owner.
 *
 * Return: the file, or an ERR_PTR.
 */
struct file *l3l2q_region_getfile(struct l3l2q_region *r,
				  enum l3l2q_end_role role)
{
	struct address_space *mapping = READ_ONCE(r->dev->mapping);
	struct file *file;

	file = anon_inode_getfile(l3l2q_end_names[role], &l3l2q_region_fops,
				  &r->ends[role], O_RDWR);
	/* Before any mmap: the device's own address_space (l3l2q_dev). */
	if (!IS_ERR(file) && mapping)
		file->f_mapping = mapping;
	return file;
}
