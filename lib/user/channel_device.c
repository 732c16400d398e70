// SPDX-License-Identifier: MIT
/*
 * Channels on /dev/l3l2q: the kernel formats the region, hands out the one
 * L2 fd and ends every wait when a role dies, so this file only issues
 * ioctls and maps.  The geometry comes from the kernel's copy (INFO),
 * never from the shared page.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "channel.h"
#include "queue.h"

/* The kernel and this library must agree on the mapping's shape. */
static int same_layout(const struct l3l2q_chan_layout *l,
		       const struct l3l2q_region_offsets *off)
{
	struct l3l2q_region_offsets want;

	return l3l2q_chan_region_layout(l, &want) &&
	       !memcmp(&want, off, sizeof(want));
}

static int map_all(struct l3l2q_channel *c, struct l3l2q_error *err)
{
	int ret = l3l2q__chan_map(c, c->off.total_bytes);

	if (ret) {
		l3l2q__chan_unmap(c);
		return l3l2q__user_error(err, -ret, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_CHAN_INIT,
					 "mmap of the channel region failed");
	}
	c->claimed = 1;
	return 0;
}

static int dev_create(struct l3l2q_channel *c, struct l3l2q_error *err)
{
	struct l3l2q_create_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.kind = L3L2Q_KIND_CHANNEL;
	a.lanes_to_l2 = c->layout.lanes_to_l2;
	a.lanes_to_l3 = c->layout.lanes_to_l3;
	a.lane_depth = c->layout.lane_depth;
	a.max_message_bytes = c->layout.max_message_bytes;
	ret = l3l2q__device_create(&a, L3L2Q_EOP_CHAN_INIT, err);
	if (ret)
		return ret;
	c->fd = a.fd;
	if (!same_layout(&c->layout, &a.off)) {
		l3l2q__chan_unmap(c);
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_CHAN_INIT,
					 "the driver reports a different channel layout");
	}
	c->off = a.off;
	return map_all(c, err);
}

static int dev_peer_fd(struct l3l2q_channel *c)
{
	struct l3l2q_peer_args a;

	memset(&a, 0, sizeof(a));
	if (ioctl(c->fd, L3L2Q_IOC_PEER, &a))
		return -errno;
	return a.fd;
}

static int dev_attach(struct l3l2q_channel *c, int fd, struct l3l2q_error *err)
{
	struct l3l2q_info_args info;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, L3L2Q_IOC_INFO, &info))
		return -ENOTTY;		/* not a driver fd: maybe a memfd's */
	if (info.kind != L3L2Q_KIND_CHANNEL)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "fd is an l3l2q fd of another kind, not a channel's");
	if (info.role != L3L2Q_ROLE_L2)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "fd is the channel's L3 fd, not its L2 fd");
	if (l3l2q_chan_layout(info.lanes_to_l2, info.lanes_to_l3,
			      info.lane_depth, info.max_message_bytes,
			      &c->layout) != L3L2Q_CHAN_LAYOUT_OK ||
	    !same_layout(&c->layout, &info.off))
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "the driver reports a channel geometry this library cannot use");
	c->off = info.off;
	c->start_pos = info.start_pos;
	c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "dup of fd failed");
	return map_all(c, err);
}

/* The kernel marks the role dead when its last reference goes. */
static void dev_destroy(struct l3l2q_channel *c)
{
	l3l2q__chan_unmap(c);
}

static int dev_sleep(struct l3l2q_channel *c, __u32 offset, __s32 seen,
		     __u64 deadline_ns)
{
	return l3l2q__wait_ioctl(c->fd, offset, seen, deadline_ns);
}

/* Every sleeper of the peer re-checks its own bell: none takes another's. */
static void dev_kick(struct l3l2q_channel *c)
{
	ioctl(c->fd, L3L2Q_IOC_KICK);
}

static int dev_wait_fd(const struct l3l2q_channel *c)
{
	return c->fd;
}

const struct l3l2q_chan_backing l3l2q__chan_device = {
	.create = dev_create,
	.peer_fd = dev_peer_fd,
	.attach = dev_attach,
	.destroy = dev_destroy,
	.sleep = dev_sleep,
	.kick = dev_kick,
	.wait_fd = dev_wait_fd,
};
