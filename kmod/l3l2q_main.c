// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_main.c - the /dev/l3l2q misc device: module parameters, the device
 * fd's CREATE ioctl, module init and exit.
 *
 * The device fd holds no state: each CREATE returns a queue fd (the L3
 * role) that lives on its own, like a /dev/kvm VM fd.  The module cannot be
 * unloaded while any device fd, queue fd or mapping exists, because every
 * file_operations has .owner and each mapping holds its file.
 */
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include "l3l2q_internal.h"

/* ---------------------------------------------------------------------- */
/* Limits                                                                 */
/* ---------------------------------------------------------------------- */

/* Counted in region bytes (off.total_bytes, page aligned). */
unsigned long l3l2q_max_queue_bytes = SZ_64M;
module_param_named(max_queue_bytes, l3l2q_max_queue_bytes, ulong, 0644);
MODULE_PARM_DESC(max_queue_bytes,
		 "Largest region of one queue, in bytes (larger: E2BIG)");

unsigned long l3l2q_max_user_bytes = SZ_256M;
module_param_named(max_user_bytes, l3l2q_max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Region bytes all queues of one uid may hold (beyond: EDQUOT)");

/* ---------------------------------------------------------------------- */
/* Device fd                                                              */
/* ---------------------------------------------------------------------- */

/*
 * CREATE: a new queue and its L3 fd, and with L3L2Q_CREATE_LOOPBACK its
 * in-kernel L2 peer.  Errors: -EINVAL (geometry, flags, reserved fields),
 * -E2BIG (max_queue_bytes), -EDQUOT (max_user_bytes), -ENOMEM, -EMFILE,
 * -EFAULT, -EAGAIN (max_loopbacks peers exist) or -EINTR (a fatal signal
 * while the thread was being made).
 * Nothing is left behind on error.
 */
static long l3l2q_ctl_create(struct l3l2q_create_args __user *uarg)
{
	struct l3l2q_create_args args;
	struct l3l2q_queue *q;
	struct file *file;
	int fd, ret;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	q = l3l2q_queue_create(&args);
	if (IS_ERR(q))
		return PTR_ERR(q);

	/*
	 * Reserve the fd and report it before the file exists: once the
	 * file does, its ->release is the L3 role's death, so nothing may
	 * fail after anon_inode_getfile().
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto out_put_queue;
	}
	args.fd = fd;
	args.off = q->off;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		ret = -EFAULT;
		goto out_put_fd;
	}
	if (q->flags & L3L2Q_CREATE_LOOPBACK) {
		ret = l3l2q_loopback_start(q);
		if (ret)
			goto out_put_fd;
	}
	file = l3l2q_queue_getfile(q, L3L2Q_END_L3);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_stop_loopback;
	}
	l3l2q_debugfs_add(q);
	fd_install(fd, file);
	return 0;

out_stop_loopback:
	/* No-op without a loopback peer; drops the thread's reference. */
	l3l2q_loopback_stop(q);
out_put_fd:
	put_unused_fd(fd);
out_put_queue:
	l3l2q_queue_put(q);
	return ret;
}

static long l3l2q_ctl_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	switch (cmd) {
	case L3L2Q_IOC_CREATE:
		return l3l2q_ctl_create((void __user *)arg);
	case L3L2Q_IOC_PEER:
	case L3L2Q_IOC_INFO:
	case L3L2Q_IOC_WAIT:
	case L3L2Q_IOC_KICK:
	case L3L2Q_IOC_SET_EVENTFD:
		/* Queue requests: the device fd is no queue's capability. */
		return -EPERM;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations l3l2q_ctl_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= l3l2q_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/*
 * World-usable, like /dev/kvm on most systems: the device only lets a
 * process allocate memory charged to its own memcg and uid, within the
 * limits above.
 */
static struct miscdevice l3l2q_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "l3l2q",
	.fops	= &l3l2q_ctl_fops,
	.mode	= 0666,
};

/* ---------------------------------------------------------------------- */
/* Module                                                                 */
/* ---------------------------------------------------------------------- */

static int __init l3l2q_init(void)
{
	int ret;

	/* The ABI's fixed sizes (uapi/l3l2q.h); a change here is a break. */
	BUILD_BUG_ON(sizeof(struct l3l2q_ctrl_hdr) != 64);
	BUILD_BUG_ON(sizeof(struct l3l2q_region_offsets) != 56);
	BUILD_BUG_ON(sizeof(struct l3l2q_create_args) != 168);
	BUILD_BUG_ON(sizeof(struct l3l2q_peer_args) != 32);
	BUILD_BUG_ON(sizeof(struct l3l2q_info_args) != 128);
	BUILD_BUG_ON(sizeof(struct l3l2q_wait_args) != 16);
	BUILD_BUG_ON(sizeof(struct l3l2q_eventfd_args) != 16);

	l3l2q_debugfs_init();
	ret = misc_register(&l3l2q_misc);
	if (ret)
		goto out_debugfs_exit;
	return 0;

out_debugfs_exit:
	l3l2q_debugfs_exit();
	return ret;
}

static void __exit l3l2q_exit(void)
{
	misc_deregister(&l3l2q_misc);
	l3l2q_debugfs_exit();
}

module_init(l3l2q_init);
module_exit(l3l2q_exit);

MODULE_DESCRIPTION("l3l2q: shared-memory task queues between host and accelerator");
MODULE_LICENSE("GPL");
