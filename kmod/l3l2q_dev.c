// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_dev.c - device nodes: /dev/l3l2q (host memory) and a node per
 * device a backend drives.  A node's fd holds no state of its own: its one
 * request, CREATE, returns a region's L3 fd, which lives on its own like a
 * /dev/kvm VM fd.
 *
 * Lifetime: struct l3l2q_dev is refcounted.  The node holds one reference
 * while registered, every open fd of it and every region made on it holds
 * one, so a backend's device state outlives its node for as long as
 * anything still uses it.
 */
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "l3l2q_internal.h"
#include "l3l2q_trace.h"

/**
 * l3l2q_dev_get() - take a reference on a device node's state
 * @dev: a registered device, or one a live region holds
 */
void l3l2q_dev_get(struct l3l2q_dev *dev)
{
	kref_get(&dev->ref);
}

static void l3l2q_dev_free(struct kref *ref)
{
	struct l3l2q_dev *dev = container_of(ref, struct l3l2q_dev, ref);

	dev->release(dev);
}

/**
 * l3l2q_dev_put() - drop a reference; the last calls @dev->release
 * @dev: the device
 */
void l3l2q_dev_put(struct l3l2q_dev *dev)
{
	kref_put(&dev->ref, l3l2q_dev_free);
}

static struct l3l2q_dev *l3l2q_file_dev(struct file *file)
{
	/* misc_open() left the miscdevice in private_data. */
	struct miscdevice *misc = file->private_data;

	return container_of(misc, struct l3l2q_dev, misc);
}

/* The region is complete: its creation and who plays its roles. */
static void l3l2q_dev_trace_create(struct l3l2q_region *r)
{
	bool device = r->dev->ops->l2_is_device;
	u64 geom[3];

	if (trace_l3l2q_create_enabled()) {
		r->kind->get_geometry(r, geom);
		trace_l3l2q_create(r->id, r->kind->kind, geom,
				   device ? L3L2Q_TRACE_BACKEND_DEVICE :
					    L3L2Q_TRACE_BACKEND_HOST,
				   r->flags);
	}
	trace_l3l2q_attach(r->id, L3L2Q_END_L3, L3L2Q_TRACE_BY_FILE);
	if (r->peer)
		trace_l3l2q_attach(r->id, L3L2Q_END_L2,
				   L3L2Q_TRACE_BY_LOOPBACK);
	else if (device)
		trace_l3l2q_attach(r->id, L3L2Q_END_L2, L3L2Q_TRACE_BY_DEVICE);
}

/*
 * CREATE: a new region and its L3 fd, and with L3L2Q_CREATE_LOOPBACK its
 * in-kernel L2 peer.  Errors: -EINVAL (geometry, flags, reserved fields),
 * -EOPNOTSUPP (a kind this driver lacks), -E2BIG (max_queue_bytes),
 * -ENOSPC (device memory), -ENOMEM (RLIMIT_MEMLOCK, the memory cgroup, no
 * memory), -EMFILE, -EFAULT, -EPERM (a loopback without CAP_SYS_ADMIN),
 * -EAGAIN (the uid's max_user_loopbacks peers exist) or -EINTR (a fatal
 * signal while the thread was being made); -EBADF on a node opened
 * without write access (l3l2q_dev_ioctl()).  Nothing is left behind on
 * error.
 */
static long l3l2q_dev_create(struct l3l2q_dev *dev,
			     struct l3l2q_create_args __user *uarg)
{
	struct l3l2q_create_args args;
	struct l3l2q_region *r;
	struct file *file;
	int fd, ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	r = l3l2q_region_create(dev, &args);
	if (IS_ERR(r))
		return PTR_ERR(r);

	/*
	 * Reserve the fd and report it before the file exists: once the
	 * file does, its ->release is the L3 role's death, so nothing may
	 * fail after l3l2q_region_getfile().
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto out_put_region;
	}
	args.fd = fd;
	args.off = r->off;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		ret = -EFAULT;
		goto out_put_fd;
	}
	if (r->flags & L3L2Q_CREATE_LOOPBACK) {
		ret = l3l2q_loopback_start(r);
		if (ret)
			goto out_put_fd;
	}
	file = l3l2q_region_getfile(r, L3L2Q_END_L3);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_stop_peer;
	}
	if (dev->ops->publish)
		dev->ops->publish(r);
	l3l2q_debugfs_add(r);
	l3l2q_dev_trace_create(r);
	fd_install(fd, file);
	return 0;

out_stop_peer:
	/* Drops the peer's reference, if there is a peer. */
	if (r->peer)
		r->peer->stop(r);
out_put_fd:
	put_unused_fd(fd);
out_put_region:
	l3l2q_region_put(r);
	return ret;
}

static long l3l2q_dev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	switch (cmd) {
	case L3L2Q_IOC_CREATE:
		/*
		 * Creating is writing: an O_RDONLY open of the node may look,
		 * not allocate (the errno of write(2) on such an fd).
		 */
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return l3l2q_dev_create(l3l2q_file_dev(file),
					(void __user *)arg);
	case L3L2Q_IOC_PEER:
	case L3L2Q_IOC_INFO:
	case L3L2Q_IOC_WAIT:
	case L3L2Q_IOC_KICK:
	case L3L2Q_IOC_SET_EVENTFD:
		/* Region requests: a device fd is no region's capability. */
		return -EPERM;
	default:
		return -ENOTTY;
	}
}

/*
 * An open node holds its device: a device node can be unregistered (the
 * device unplugged) while fds on it stay open.  misc_open() calls this
 * under the lock misc_deregister() takes, so the node's own reference is
 * still there to be shared.
 */
static int l3l2q_dev_open(struct inode *inode, struct file *file)
{
	l3l2q_dev_get(l3l2q_file_dev(file));
	return 0;
}

static int l3l2q_dev_release(struct inode *inode, struct file *file)
{
	l3l2q_dev_put(l3l2q_file_dev(file));
	return 0;
}

static const struct file_operations l3l2q_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= l3l2q_dev_open,
	.release	= l3l2q_dev_release,
	.unlocked_ioctl	= l3l2q_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/**
 * l3l2q_dev_register() - make a device's node appear
 * @dev: the device; the caller set misc.name (and mode, 0600 unless there
 *	is a reason, and parent), ops, priv and release
 *
 * The node's reference is taken here and dropped by
 * l3l2q_dev_unregister().
 *
 * Return: 0 or misc_register()'s error.
 */
int l3l2q_dev_register(struct l3l2q_dev *dev)
{
	kref_init(&dev->ref);
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.fops = &l3l2q_dev_fops;
	return misc_register(&dev->misc);
}

/**
 * l3l2q_dev_unregister() - remove a device's node
 * @dev: a registered device
 *
 * Regions already made keep the device state alive.
 */
void l3l2q_dev_unregister(struct l3l2q_dev *dev)
{
	misc_deregister(&dev->misc);
	l3l2q_dev_put(dev);
}

/* ---------------------------------------------------------------------- */
/* /dev/l3l2q                                                             */
/* ---------------------------------------------------------------------- */

static void l3l2q_host_dev_release(struct l3l2q_dev *dev)
{
	/* Static: nothing to free.  Module exit waits for no one here. */
}

/*
 * Root-only as created (0600): who else may use it is the administrator's
 * choice, made with the udev rule in tools/udev/60-l3l2q.rules (group
 * l3l2q, 0660), the way /dev/kvm is opened to group kvm.  What a user can
 * do with it is charged to that user's RLIMIT_MEMLOCK and memory cgroup.
 */
static struct l3l2q_dev l3l2q_host_dev = {
	.misc = {
		.name	= "l3l2q",
		.mode	= 0600,
	},
	.ops = &l3l2q_host_backend,
	.release = l3l2q_host_dev_release,
};

/**
 * l3l2q_host_dev_init() - register /dev/l3l2q at module load
 *
 * Return: 0 or l3l2q_dev_register()'s error.
 */
int l3l2q_host_dev_init(void)
{
	return l3l2q_dev_register(&l3l2q_host_dev);
}

/**
 * l3l2q_host_dev_exit() - remove /dev/l3l2q at module unload
 *
 * No file of this module is open (each holds the module), so no region
 * holds the node any more.
 */
void l3l2q_host_dev_exit(void)
{
	l3l2q_dev_unregister(&l3l2q_host_dev);
}
