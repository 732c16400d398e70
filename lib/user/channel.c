// SPDX-License-Identifier: MIT
/*
 * Creating, attaching and destroying channels, independent of the backing
 * (libl3l2q_channel.h).  The endpoint is lib/core's; the backing gives it
 * the memory and its env.sleep and env.kick.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "channel.h"
#include "queue.h"

int l3l2q__chan_map(struct l3l2q_channel *c, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	c->map = p;
	c->map_bytes = bytes;
	return 0;
}

void l3l2q__chan_unmap(struct l3l2q_channel *c)
{
	if (c->map)
		munmap(c->map, c->map_bytes);
	if (c->fd >= 0)
		close(c->fd);
	c->map = NULL;
	c->fd = -1;
}

static __u64 env_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

static int env_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline_ns)
{
	struct l3l2q_channel *c = ctx;

	return c->backing->sleep(c, counter, seen, deadline_ns);
}

static void env_kick(void *ctx)
{
	struct l3l2q_channel *c = ctx;

	c->backing->kick(c);
}

static struct l3l2q_channel *chan_alloc(enum l3l2q_role role)
{
	struct l3l2q_channel *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->role = role;
	c->fd = -1;
	c->kick_fd[0] = c->kick_fd[1] = -1;
	c->peer_pidfd = -1;
	c->back_sock = -1;
	c->stop_fd = -1;
	return c;
}

static int bad_param(struct l3l2q_error *err, const char *msg)
{
	return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
				 L3L2Q_EOP_CHAN_INIT, msg);
}

static int check_params(const struct l3l2q_channel_params *p,
			struct l3l2q_chan_layout *l, struct l3l2q_error *err)
{
	enum l3l2q_chan_layout_status st;

	if (!p)
		return bad_param(err, "params must not be NULL");
	if (p->backend > L3L2Q_BACKEND_DEVICE)
		return bad_param(err, "backend is unknown");
	if (p->resv0 || p->resv[0] || p->resv[1] || p->resv[2])
		return bad_param(err, "resv0 and resv must be zero");
	st = l3l2q_chan_layout(p->lanes_to_l2, p->lanes_to_l3, p->lane_depth,
			       p->max_message_bytes, l);
	if (st != L3L2Q_CHAN_LAYOUT_OK)
		return bad_param(err, l3l2q_chan_layout_strerror(st));
	return 0;
}

/* The core's endpoint on the mapping, sleeping and kicking through us. */
static int bind(struct l3l2q_channel *c, struct l3l2q_error *err)
{
	struct l3l2q_chan_mem mem = {
		.ctrl = (char *)c->map + c->off.ctrl_offset,
		.hdch = (char *)c->map + c->off.payload_offset,
	};
	struct l3l2q_env env = {
		.now_ns = env_now,
		.sleep = env_sleep,
		.kick = env_kick,
		.ctx = c,
	};
	int ret;

	ret = l3l2q_chan_init(&c->ch, c->role, &mem, &c->layout, c->start_pos,
			      &env);
	if (ret && err)
		*err = *l3l2q_chan_error(&c->ch);
	return ret;
}

/* After the backing made or mapped the region (@ret): bind, or undo. */
static int finish(struct l3l2q_channel *c, int ret, struct l3l2q_channel **cp,
		  struct l3l2q_error *err)
{
	if (!ret) {
		ret = bind(c, err);
		if (ret)
			c->backing->destroy(c);
	}
	if (ret) {
		free(c);
		return ret;
	}
	*cp = c;
	return 0;
}

int l3l2q_channel_create(const struct l3l2q_channel_params *p,
			 struct l3l2q_channel **cp, struct l3l2q_error *err)
{
	struct l3l2q_chan_layout l;
	struct l3l2q_channel *c;
	int ret;

	if (!cp)
		return bad_param(err, "cp must not be NULL");
	*cp = NULL;
	ret = check_params(p, &l, err);
	if (ret)
		return ret;
	c = chan_alloc(L3L2Q_ROLE_L3);
	if (!c)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_CHAN_INIT, "out of memory");
	c->layout = l;
	c->backing = p->backend == L3L2Q_BACKEND_MEMFD ? &l3l2q__chan_memfd :
							 &l3l2q__chan_device;
	ret = c->backing->create(c, err);
	/* AUTO: the driver when it is there, else a memfd. */
	if (ret == -ENODEV && p->backend == L3L2Q_BACKEND_AUTO) {
		c->backing = &l3l2q__chan_memfd;
		ret = c->backing->create(c, err);
	}
	return finish(c, ret, cp, err);
}

int l3l2q_channel_peer_fd(struct l3l2q_channel *c)
{
	int fd;

	if (!c || c->role != L3L2Q_ROLE_L3)
		return -EINVAL;
	if (c->peer_given)
		return -EBUSY;
	fd = c->backing->peer_fd(c);
	if (fd >= 0)
		c->peer_given = 1;
	return fd;
}

int l3l2q_channel_attach(int fd, struct l3l2q_channel **cp,
			 struct l3l2q_error *err)
{
	struct l3l2q_channel *c;
	int ret;

	if (!cp)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "cp must not be NULL");
	*cp = NULL;
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return l3l2q__user_error(err, EBADF, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH, "fd is not open");
	c = chan_alloc(L3L2Q_ROLE_L2);
	if (!c)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "out of memory");
	/* The fd says which backing it belongs to. */
	c->backing = &l3l2q__chan_device;
	ret = c->backing->attach(c, fd, err);
	if (ret == -ENOTTY) {
		c->backing = &l3l2q__chan_memfd;
		ret = c->backing->attach(c, fd, err);
	}
	return finish(c, ret, cp, err);
}

void l3l2q_channel_destroy(struct l3l2q_channel *c)
{
	if (!c)
		return;
	l3l2q_chan_exit(&c->ch);
	c->backing->destroy(c);
	free(c);
}

struct l3l2q_chan *l3l2q_channel_chan(struct l3l2q_channel *c)
{
	return c ? &c->ch : NULL;
}

int l3l2q_channel_wait_fd(const struct l3l2q_channel *c)
{
	if (!c)
		return -EINVAL;
	return c->backing->wait_fd(c);
}
