// SPDX-License-Identifier: MIT
/*
 * The /dev/l3l2q backing: the kernel allocates and initialises the region,
 * hands out the one L2 fd, and marks a role dead when its last reference
 * goes, so this file only issues ioctls and maps.  The geometry comes from
 * the kernel's private copy (INFO), never from the shared page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "queue.h"

#define L3L2Q_DEVICE_PATH "/dev/l3l2q"

/*
 * The node to create queues on: $L3L2Q_DEVICE (e.g. /dev/l3l2q0, a PCI
 * device's node, whose queues live in device memory), else /dev/l3l2q.
 * Ignored in a set-uid program (secure_getenv).
 */
const char *l3l2q__device_path(void)
{
	const char *p = secure_getenv("L3L2Q_DEVICE");

	return p && *p ? p : L3L2Q_DEVICE_PATH;
}

static int same_offsets(const struct l3l2q_region_offsets *a,
			const struct l3l2q_region_offsets *b)
{
	return a->ctrl_offset == b->ctrl_offset &&
	       a->ctrl_bytes == b->ctrl_bytes &&
	       a->counter_offset == b->counter_offset &&
	       a->counter_bytes == b->counter_bytes &&
	       a->payload_offset == b->payload_offset &&
	       a->payload_bytes == b->payload_bytes &&
	       a->total_bytes == b->total_bytes;
}

/* What CREATE's errno means (docs/driver.rst, CREATE): the driver logs nothing. */
static const char *create_refusal(int e)
{
	switch (e) {
	case EINVAL:
		return "L3L2Q_IOC_CREATE: the geometry, flags, start_pos or a reserved field out of range";
	case E2BIG:
		return "L3L2Q_IOC_CREATE: the region would pass the module's max_queue_bytes";
	case ENOMEM:
		return "L3L2Q_IOC_CREATE: RLIMIT_MEMLOCK or the memory cgroup's limit, or no memory";
	case ENOSPC:
		return "L3L2Q_IOC_CREATE: the device's memory or queue directory is full";
	case EPERM:
		return "L3L2Q_IOC_CREATE: flags: L3L2Q_CREATE_LOOPBACK needs CAP_SYS_ADMIN";
	case EAGAIN:
		return "L3L2Q_IOC_CREATE: flags: this uid has max_user_loopbacks loopback peers";
	case EBADF:
		return "L3L2Q_IOC_CREATE: the device node is not open for writing";
	case EOPNOTSUPP:
		return "L3L2Q_IOC_CREATE: the driver lacks this kind or flag on this node";
	default:
		return "L3L2Q_IOC_CREATE refused the region";
	}
}

int l3l2q__device_create(struct l3l2q_create_args *a, __u32 op,
			 struct l3l2q_error *err)
{
	char why[96];
	int dev, ret;

	dev = open(l3l2q__device_path(), O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		ret = errno == ENOENT ? ENODEV : errno;
		snprintf(why, sizeof(why), "cannot open %s", l3l2q__device_path());
		return l3l2q__user_error(err, ret, L3L2Q_ERR_ENDPOINT_ERROR, op,
					 why);
	}
	ret = ioctl(dev, L3L2Q_IOC_CREATE, a) ? -errno : 0;
	close(dev);
	if (ret)
		return l3l2q__user_error(err, -ret, L3L2Q_ERR_BAD_ARGUMENT, op,
					 create_refusal(-ret));
	return 0;
}

static int device_create(struct l3l2q_queue *q, const struct l3l2q_params *p,
			 struct l3l2q_error *err)
{
	struct l3l2q_create_args args;
	struct l3l2q_region_offsets want;
	int ret;

	memset(&args, 0, sizeof(args));
	args.depth = p->depth;
	args.input_arena_bytes = p->input_arena_bytes;
	args.output_arena_bytes = p->output_arena_bytes;
	args.flags = p->flags;
	args.start_pos = p->start_pos;
	ret = l3l2q__device_create(&args, L3L2Q_EOP_INIT, err);
	if (ret)
		return ret;
	q->fd = args.fd;
	/* The kernel and this library must agree on the mapping's shape. */
	if (!l3l2q_region_layout(&q->layout, &want) ||
	    !same_offsets(&want, &args.off)) {
		l3l2q__unmap(q, 0);
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_INIT,
					 "the driver reports a different region layout");
	}
	q->off = args.off;
	return l3l2q__map(q, q->off.total_bytes, err);
}

static int device_peer_fd(struct l3l2q_queue *q)
{
	struct l3l2q_peer_args args;

	memset(&args, 0, sizeof(args));
	if (ioctl(q->fd, L3L2Q_IOC_PEER, &args))
		return -errno;
	return args.fd;
}

static int device_attach(struct l3l2q_queue *q, int fd, struct l3l2q_error *err)
{
	struct l3l2q_info_args info;
	struct l3l2q_region_offsets want;
	enum l3l2q_layout_status st;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, L3L2Q_IOC_INFO, &info))
		return l3l2q__user_error(err, ENOTTY, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "fd is not an l3l2q queue fd");
	if (info.role != L3L2Q_ROLE_L2)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "fd is the queue's L3 fd, not its L2 fd");
	st = l3l2q_layout(info.depth, info.input_arena_bytes,
			  info.output_arena_bytes, &q->layout);
	if (st != L3L2Q_LAYOUT_OK || !l3l2q_region_layout(&q->layout, &want) ||
	    !same_offsets(&want, &info.off))
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "the driver reports a geometry this library cannot use");
	if (info.start_pos > L3L2Q_START_POS_MAX)
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "the driver reports a start_pos above L3L2Q_START_POS_MAX");
	q->off = info.off;
	q->start_pos = info.start_pos;
	q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (q->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "dup of fd failed");
	return l3l2q__map(q, q->off.total_bytes, err);
}

/* The kernel gave out exactly one L2 fd: holding it is the claim. */
static int device_claim(struct l3l2q_queue *q, struct l3l2q_error *err)
{
	(void)q;
	(void)err;
	return 0;
}

/*
 * The kernel marks the role dead when its last reference goes.  A copy
 * inherited across fork has no mapping (VM_DONTCOPY): only close.
 */
static void device_destroy(struct l3l2q_queue *q, int gone, int inherited)
{
	(void)gone;
	l3l2q__unmap(q, inherited);
}

/* W4: the kernel registers, re-reads the word, then sleeps. */
int l3l2q__wait_ioctl(int fd, __u32 counter, __s32 seen, __u64 deadline_ns)
{
	struct l3l2q_wait_args w = {
		.counter = (__u16)counter,
		.seen = seen,
		.deadline_ns = deadline_ns,
	};

	return ioctl(fd, L3L2Q_IOC_WAIT, &w) ? -errno : 0;
}

static int device_sleep(struct l3l2q_queue *q, __u32 counter, __s32 seen,
			__u64 deadline_ns)
{
	return l3l2q__wait_ioctl(q->fd, counter, seen, deadline_ns);
}

/*
 * P4: the peer asked for it.  KICK wakes every waiter of the peer role;
 * each re-checks its own counter (WAIT, poll and io_uring all do), so
 * none can take another's wake-up.
 */
static void device_kick(struct l3l2q_queue *q, __u32 bit)
{
	(void)bit;
	ioctl(q->fd, L3L2Q_IOC_KICK);
}

/* The role fd for every bit: poll reports from the counters. */
static int device_wait_fd(const struct l3l2q_queue *q, __u32 bit)
{
	if (bit & (bit - 1) || !(bit & l3l2q__role_bits(q->role)))
		return -EINVAL;
	return q->fd;
}

static int device_poll_fd(const struct l3l2q_queue *q)
{
	return q->fd;
}

const struct l3l2q_backing l3l2q_device_backing = {
	.name = "device",
	.id = L3L2Q_BACKEND_DEVICE,
	.create = device_create,
	.peer_fd = device_peer_fd,
	.attach = device_attach,
	.claim = device_claim,
	.destroy = device_destroy,
	.sleep = device_sleep,
	.kick = device_kick,
	.wait_fd = device_wait_fd,
	.poll_fd = device_poll_fd,
};
