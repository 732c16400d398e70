// SPDX-License-Identifier: MIT
/*
 * channel_test - the HDCH channel kind of /dev/l3l2q (kmod/l3l2q_channel.c)
 * from user space.  Runs inside the test VM as root with l3l2q.ko loaded.
 *
 * Both roles run lib/core's channel API (lib/include/l3l2q_channel_core.h)
 * on their own mapping of the region, in two processes, with env.sleep the
 * driver's WAIT and env.kick its KICK:
 *
 *   - CREATE and INFO report the channel geometry and the layout libl3l2q
 *     computes; the kernel formatted the region so both endpoints bind;
 *     fdinfo and debugfs name the kind, debugfs shows each lane;
 *   - bad geometry (each field), flags and reserved words: EINVAL, and no
 *     region is left; over max_queue_bytes: E2BIG;
 *   - WAIT takes the peer's two bells only (EINVAL otherwise);
 *   - messages across routes with correlation ids, echoed by the L2
 *     process, each exactly once and in lane order; calls round trip; the
 *     close handshake ends both directions;
 *   - each way of sleeping (blocking WAIT, poll, eventfd, io_uring WAIT,
 *     a blocking receive) is woken by the peer's send;
 *   - kill -9 of the L2 process ends every wait of L3 with ECONNRESET;
 *   - libl3l2q's channel objects (libl3l2q_channel.h) over the driver:
 *     the echo exchange and kill -9, as channel_lib_test runs them on a
 *     memfd.
 *
 * Fixed amounts of work; every wait has a watchdog deadline, reached only
 * if something hangs.
 *
 * liburing 2.3 (bookworm) has no io_uring_prep_uring_cmd(): the SQE is
 * built by device_helpers.h's vm_submit_wait().
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "l3l2q/l3l2q_channel.h"
#include "l3l2q_channel_core.h"
#include "kselftest_harness.h"
#include "device_helpers.h"	/* vm_helpers.h, the io_uring WAIT helpers */
#include "channel_peer.h"	/* both sides of the exchanges */
#include "channel_lib.h"	/* the same with libl3l2q's objects */

#define DEV_PATH	"/dev/l3l2q"

#define LANES		CP_ROUTES
#define DEPTH		8u
#define MAXMSG		CP_MAXMSG

/* ---------------------------------------------------------------------- */
/* One role's endpoint on its own mapping                                 */
/* ---------------------------------------------------------------------- */

struct side {
	int fd;
	void *base;
	size_t len;
	struct l3l2q_chan_layout layout;
	struct l3l2q_chan_mem mem;
	struct l3l2q_env env;
	struct l3l2q_chan ch;
};

/* env.sleep: W4 is the driver's WAIT on the bell's offset. */
static int drv_sleep(void *ctx, __u32 counter, __s32 seen, __u64 dl)
{
	struct side *s = ctx;

	return vm_wait(s->fd, (__u16)counter, seen, dl);
}

static void drv_kick(void *ctx)
{
	struct side *s = ctx;

	ioctl(s->fd, L3L2Q_IOC_KICK);
}

static int same_off(const struct l3l2q_region_offsets *a,
		    const struct l3l2q_region_offsets *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/*
 * Bind @s as @role on @fd: the geometry from INFO (the kernel's copy),
 * the layout libl3l2q computes from it, which must be the kernel's, and
 * lib/core's checks of the header the kernel wrote.  0 or a step number.
 */
static int side_open(struct side *s, int fd, enum l3l2q_role role)
{
	struct l3l2q_region_offsets want;
	struct l3l2q_info_args info;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	memset(&info, 0, sizeof(info));
	if (ioctl(fd, L3L2Q_IOC_INFO, &info))
		return 1;
	if (info.kind != L3L2Q_KIND_CHANNEL || info.role != (__u32)role)
		return 2;
	if (l3l2q_chan_layout(info.lanes_to_l2, info.lanes_to_l3,
			      info.lane_depth, info.max_message_bytes,
			      &s->layout) != L3L2Q_CHAN_LAYOUT_OK ||
	    !l3l2q_chan_region_layout(&s->layout, &want) ||
	    !same_off(&want, &info.off))
		return 3;
	s->len = info.off.total_bytes;
	s->base = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s->base == MAP_FAILED)
		return 4;
	s->mem.ctrl = (char *)s->base + info.off.ctrl_offset;
	s->mem.hdch = (char *)s->base + info.off.payload_offset;
	s->env.now_ns = cp_now;
	s->env.sleep = drv_sleep;
	s->env.kick = drv_kick;
	s->env.ctx = s;
	if (l3l2q_chan_init(&s->ch, role, &s->mem, &s->layout, info.start_pos,
			    &s->env))
		return 5;
	return 0;
}

static void side_close(struct side *s)
{
	l3l2q_chan_exit(&s->ch);
	if (s->base && s->base != MAP_FAILED)
		munmap(s->base, s->len);
	s->base = NULL;
}

static int create_chan(int dev, struct l3l2q_create_args *a, __u32 to_l2,
		       __u32 to_l3, __u32 depth, __u32 max)
{
	memset(a, 0, sizeof(*a));
	a->kind = L3L2Q_KIND_CHANNEL;
	a->lanes_to_l2 = to_l2;
	a->lanes_to_l3 = to_l3;
	a->lane_depth = depth;
	a->max_message_bytes = max;
	a->fd = -1;
	return ioctl(dev, L3L2Q_IOC_CREATE, a) ? -errno : 0;
}

static int make_peer(int l3fd)
{
	struct l3l2q_peer_args p;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	if (ioctl(l3fd, L3L2Q_IOC_PEER, &p))
		return -errno;
	return p.fd;
}

enum child_mode { CHILD_ECHO, CHILD_CMD };

/* ---------------------------------------------------------------------- */
/* The fixture: a channel, L3 bound here, L2 in a child                   */
/* ---------------------------------------------------------------------- */

FIXTURE(chan) {
	int dev;
	int l3;
	int l2;			/* -1 once the child has it */
	struct side *s;		/* the L3 side */
	unsigned long long id;
	pid_t child;
	int cmd[2];		/* parent -> child commands */
	int ready[2];		/* child -> parent: bound */
};

FIXTURE_SETUP(chan)
{
	struct l3l2q_create_args a;

	self->l2 = -1;
	self->child = -1;
	self->cmd[0] = self->cmd[1] = -1;
	self->ready[0] = self->ready[1] = -1;
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, ensure_debugfs());
	ASSERT_EQ(0, create_chan(self->dev, &a, LANES, LANES, DEPTH, MAXMSG));
	self->l3 = a.fd;
	self->id = fd_queue_id(self->l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
	self->l2 = make_peer(self->l3);
	ASSERT_LE(0, self->l2);
	self->s = calloc(1, sizeof(*self->s));
	ASSERT_NE(NULL, self->s);
	ASSERT_EQ(0, side_open(self->s, self->l3, L3L2Q_ROLE_L3));
}

FIXTURE_TEARDOWN(chan)
{
	if (self->cmd[1] >= 0)
		close(self->cmd[1]);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->s) {
		side_close(self->s);
		free(self->s);
	}
	if (self->l2 >= 0)
		close(self->l2);
	close(self->l3);
	close(self->dev);
}

/*
 * Start the L2 process, wait until it is bound (its proto and feature
 * words stored), and give up the parent's L2 fd: from then on the child's
 * exit is the L2 role's death.
 */
static void start_child(struct __test_metadata *_metadata,
			FIXTURE_DATA(chan) *self, enum child_mode mode)
{
	char b;

	ASSERT_EQ(0, pipe(self->cmd));
	ASSERT_EQ(0, pipe(self->ready));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		struct side *s = calloc(1, sizeof(*s));
		int ret;

		close(self->cmd[1]);
		close(self->ready[0]);
		close(self->l3);
		if (!s || side_open(s, self->l2, L3L2Q_ROLE_L2))
			_exit(10);
		if (write(self->ready[1], "r", 1) != 1)
			_exit(11);
		ret = mode == CHILD_ECHO ? cp_echo(&s->ch) :
					   cp_on_command(&s->ch, self->cmd[0]);
		_exit(ret);
	}
	close(self->cmd[0]);
	self->cmd[0] = -1;
	close(self->ready[1]);
	self->ready[1] = -1;
	close(self->l2);
	self->l2 = -1;
	ASSERT_EQ(1, read(self->ready[0], &b, 1));
	close(self->ready[0]);
	self->ready[0] = -1;
}

static int child_status(FIXTURE_DATA(chan) *self)
{
	int status;

	if (waitpid(self->child, &status, 0) != self->child)
		return -1;
	self->child = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
}

static void command(struct __test_metadata *_metadata,
		    FIXTURE_DATA(chan) *self, unsigned char route)
{
	ASSERT_EQ(1, write(self->cmd[1], &route, 1));
}

/* The message the command child sent for @route, received by @ctx. */
static void expect_cmd_msg(struct __test_metadata *_metadata,
			   struct l3l2q_chan_ctx *ctx, unsigned char route)
{
	struct l3l2q_chan_msg m;
	unsigned char b = 0;

	ASSERT_EQ(0, l3l2q_chan_recv(ctx, &b, 1, cp_deadline(), &m));
	EXPECT_EQ((__u32)route, m.route);
	EXPECT_EQ(1000ull + route, m.correlation_id);
	EXPECT_EQ(1u, m.nbytes);
	EXPECT_EQ(route, b);
}

/* ---------------------------------------------------------------------- */
/* CREATE, INFO, the region, fdinfo and debugfs                           */
/* ---------------------------------------------------------------------- */

TEST(create_formats_a_channel)
{
	struct side *l3 = calloc(1, sizeof(*l3)), *l2 = calloc(1, sizeof(*l2));
	const struct l3l2q_chan_hdr *h;
	const struct l3l2q_chan_ctrl_hdr *c;
	struct l3l2q_create_args a;
	struct l3l2q_info_args info;
	char kind[32], role[8], v[64];
	unsigned long long id;
	int dev, l2fd;

	ASSERT_NE(NULL, l3);
	ASSERT_NE(NULL, l2);
	ASSERT_EQ(0, ensure_debugfs());
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, create_chan(dev, &a, 3, 5, 16, 200));
	EXPECT_EQ(0ull, a.off.ctrl_offset);
	EXPECT_EQ((__u64)L3L2Q_CTRL_BYTES, a.off.payload_offset);
	EXPECT_EQ(0ull, a.off.counter_bytes);

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(a.fd, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(L3L2Q_KIND_CHANNEL, info.kind);
	EXPECT_EQ(3u, info.lanes_to_l2);
	EXPECT_EQ(5u, info.lanes_to_l3);
	EXPECT_EQ(16u, info.lane_depth);
	EXPECT_EQ(200u, info.max_message_bytes);
	EXPECT_EQ(0u, info.channel_flags);
	EXPECT_EQ(0u, info.channel_resv);
	EXPECT_TRUE(same_off(&a.off, &info.off));

	l2fd = make_peer(a.fd);
	ASSERT_LE(0, l2fd);
	ASSERT_EQ(0, side_open(l3, a.fd, L3L2Q_ROLE_L3));
	ASSERT_EQ(0, side_open(l2, l2fd, L3L2Q_ROLE_L2));
	h = l3->mem.hdch;
	c = l3->mem.ctrl;
	EXPECT_EQ(L3L2Q_CHAN_MAGIC, h->magic);
	EXPECT_EQ(L3L2Q_CHAN_VERSION, h->version);
	EXPECT_EQ(l3->layout.total_bytes, h->control_bytes);
	EXPECT_EQ(0ull, h->fatal_status);
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, c->magic);
	EXPECT_EQ(L3L2Q_KIND_CHANNEL, c->kind);
	EXPECT_EQ(L3L2Q_CHAN_MAGIC_VERSION, c->region_magic_version);
	/* Both endpoints announced themselves through the kernel's pages. */
	EXPECT_EQ(L3L2Q_CHAN_PROTO_V1,
		  load_u32(l2->mem.ctrl, L3L2Q_CHAN_CTRL_L3_TX +
			   offsetof(struct l3l2q_chan_tx_line, proto)));

	id = fd_queue_id(a.fd, role, sizeof(role));
	ASSERT_NE(0ull, id);
	EXPECT_STREQ("l3", role);
	ASSERT_EQ(0, dbg_str(id, "kind", kind, sizeof(kind)));
	EXPECT_STREQ("channel", kind);
	EXPECT_EQ(16, dbg_num(id, "lane_depth"));
	ASSERT_EQ(0, dbg_str(id, "to_l2[2]", v, sizeof(v)));
	EXPECT_STREQ("head", v);
	EXPECT_EQ(0, dbg_str(id, "to_l3[4]", v, sizeof(v)));
	EXPECT_NE(0, dbg_str(id, "to_l2[3]", v, sizeof(v)));
	EXPECT_NE(0, dbg_str(id, "to_l3[5]", v, sizeof(v)));

	side_close(l3);
	side_close(l2);
	close(l2fd);
	close(a.fd);
	close(dev);
	free(l3);
	free(l2);
}

/* debugfs: each lane's head and tail, as the endpoints moved them. */
TEST_F(chan, debugfs_lane_snapshot)
{
	struct l3l2q_chan_ctx ctx;
	char key[32], line[256], path[96];
	int found = 0;
	__u32 lane, i;
	FILE *f;

	l3l2q_chan_ctx_init(&ctx, &self->s->ch);
	ASSERT_EQ(0, l3l2q_chan_try_lease(&ctx, 2));
	lane = l3l2q_chan_leased_lane(&ctx);
	ASSERT_GT(LANES, lane);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, l3l2q_chan_try_send(&ctx, 1, i, &i, sizeof(i)));

	snprintf(key, sizeof(key), "to_l2[%u]: head 0 tail 3\n", lane);
	snprintf(path, sizeof(path), DBG_DIR "/%llu", self->id);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		found += !strcmp(line, key);
	fclose(f);
	EXPECT_EQ(1, found);
	EXPECT_EQ(0, dbg_num(self->id, "l2_abort"));
}

/* ---------------------------------------------------------------------- */
/* Refused geometry creates nothing                                       */
/* ---------------------------------------------------------------------- */

FIXTURE(bad_geometry) {
	int dev;
};

FIXTURE_VARIANT(bad_geometry) {
	__u32 to_l2, to_l3, depth, max, channel_flags, channel_resv, flags;
	__u64 resv1;
};

FIXTURE_VARIANT_ADD(bad_geometry, no_lanes_to_l2) {
	.to_l2 = 0, .to_l3 = 1, .depth = 4, .max = 64,
};
FIXTURE_VARIANT_ADD(bad_geometry, lanes_to_l2_33) {
	.to_l2 = 33, .to_l3 = 1, .depth = 4, .max = 64,
};
FIXTURE_VARIANT_ADD(bad_geometry, no_lanes_to_l3) {
	.to_l2 = 1, .to_l3 = 0, .depth = 4, .max = 64,
};
FIXTURE_VARIANT_ADD(bad_geometry, lanes_to_l3_33) {
	.to_l2 = 1, .to_l3 = 33, .depth = 4, .max = 64,
};
FIXTURE_VARIANT_ADD(bad_geometry, depth_0) {
	.to_l2 = 1, .to_l3 = 1, .depth = 0, .max = 64,
};
FIXTURE_VARIANT_ADD(bad_geometry, depth_not_power_of_two) {
	.to_l2 = 1, .to_l3 = 1, .depth = 12, .max = 64,
};
FIXTURE_VARIANT_ADD(bad_geometry, max_message_0) {
	.to_l2 = 1, .to_l3 = 1, .depth = 4, .max = 0,
};
FIXTURE_VARIANT_ADD(bad_geometry, max_message_257) {
	.to_l2 = 1, .to_l3 = 1, .depth = 4, .max = 257,
};
FIXTURE_VARIANT_ADD(bad_geometry, channel_flags) {
	.to_l2 = 1, .to_l3 = 1, .depth = 4, .max = 64, .channel_flags = 1,
};
FIXTURE_VARIANT_ADD(bad_geometry, channel_resv) {
	.to_l2 = 1, .to_l3 = 1, .depth = 4, .max = 64, .channel_resv = 1,
};
FIXTURE_VARIANT_ADD(bad_geometry, loopback) {
	.to_l2 = 1, .to_l3 = 1, .depth = 4, .max = 64,
	.flags = L3L2Q_CREATE_LOOPBACK,
};
FIXTURE_VARIANT_ADD(bad_geometry, resv1) {
	.to_l2 = 1, .to_l3 = 1, .depth = 4, .max = 64, .resv1 = 1,
};

FIXTURE_SETUP(bad_geometry)
{
	ASSERT_EQ(0, ensure_debugfs());
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(bad_geometry)
{
	close(self->dev);
}

TEST_F(bad_geometry, einval)
{
	struct l3l2q_create_args a;
	int before = count_regions();

	memset(&a, 0, sizeof(a));
	a.kind = L3L2Q_KIND_CHANNEL;
	a.lanes_to_l2 = variant->to_l2;
	a.lanes_to_l3 = variant->to_l3;
	a.lane_depth = variant->depth;
	a.max_message_bytes = variant->max;
	a.channel_flags = variant->channel_flags;
	a.channel_resv = variant->channel_resv;
	a.flags = variant->flags;
	a.resv1[0] = variant->resv1;
	a.fd = -1;
	EXPECT_EQ(-1, ioctl(self->dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, a.fd);
	EXPECT_EQ(before, count_regions());
}

/* The region-size limit of every kind: max_queue_bytes. */
TEST(over_max_queue_bytes_is_e2big)
{
	struct l3l2q_create_args a;
	unsigned long max;
	int dev, before;

	ASSERT_EQ(0, ensure_debugfs());
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, read_param("max_queue_bytes", &max));
	before = count_regions();
	/* 2^31 descriptors a lane: fits 64 bits, far beyond any limit. */
	EXPECT_EQ(-E2BIG, create_chan(dev, &a, 1, 1, 1u << 31, 64));
	/* A 1.3 MB channel against a 64 KiB limit. */
	ASSERT_EQ(0, write_param("max_queue_bytes", 65536));
	EXPECT_EQ(-E2BIG, create_chan(dev, &a, 32, 32, 64, 256));
	EXPECT_EQ(0, create_chan(dev, &a, 1, 1, 4, 64));
	EXPECT_EQ(0, write_param("max_queue_bytes", max));
	if (a.fd >= 0)
		close(a.fd);
	EXPECT_EQ(before, count_regions());
	close(dev);
}

/* ---------------------------------------------------------------------- */
/* WAIT: the peer's bells, nothing else                                   */
/* ---------------------------------------------------------------------- */

TEST_F(chan, wait_takes_the_peer_bells_only)
{
	__u32 seen = load_u32(self->s->mem.ctrl, L3L2Q_CHAN_CTRL_L2_TX_BELL);

	/* A check (deadline 0) of an unchanged bell. */
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L2_TX_BELL,
				      seen, 0));
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L2_RX_BELL,
				      load_u32(self->s->mem.ctrl,
					       L3L2Q_CHAN_CTRL_L2_RX_BELL), 0));
	/* A bell that differs from seen ends the wait at once. */
	EXPECT_EQ(0, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L2_TX_BELL, seen + 1,
			     cp_deadline()));
	/* Its own bells, the peer's other words, a queue counter. */
	EXPECT_EQ(-EINVAL, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L3_TX_BELL, 0, 0));
	EXPECT_EQ(-EINVAL, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L3_RX_BELL, 0, 0));
	EXPECT_EQ(-EINVAL, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L2_TX, 0, 0));
	EXPECT_EQ(-EINVAL, vm_wait(self->l3, L3L2Q_CHAN_CTRL_L2_ABORT, 0, 0));
	EXPECT_EQ(-EINVAL, vm_wait(self->l3, L3L2Q_CTR_OUTPUT_TAIL, 0, 0));
	EXPECT_EQ(-EINVAL, vm_wait(self->l2, L3L2Q_CHAN_CTRL_L2_TX_BELL, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, vm_wait(self->l2, L3L2Q_CHAN_CTRL_L3_TX_BELL,
				      load_u32(self->s->mem.ctrl,
					       L3L2Q_CHAN_CTRL_L3_TX_BELL), 0));
}

/* ---------------------------------------------------------------------- */
/* Messages, routes, correlation ids, calls, close                        */
/* ---------------------------------------------------------------------- */

TEST_F(chan, echo_routes_calls_and_close)
{
	struct cp_result r;

	start_child(_metadata, self, CHILD_ECHO);
	cp_run_echo(&self->s->ch, &r);
	cl_check_echo(_metadata, &r, child_status(self));
}

/* ---------------------------------------------------------------------- */
/* Each way of sleeping, woken by the peer's send                         */
/* ---------------------------------------------------------------------- */

/* Arm for messages; nothing is there yet, and the bell has not moved. */
static void arm_recv(struct __test_metadata *_metadata,
		     FIXTURE_DATA(chan) *self, struct l3l2q_chan_ctx *ctx,
		     __u32 *off, __u32 *seen)
{
	unsigned char b;
	struct l3l2q_chan_msg m;

	l3l2q_chan_ctx_init(ctx, &self->s->ch);
	ASSERT_EQ(0, l3l2q_chan_want_wakeup(ctx, L3L2Q_CHAN_WANT_RECV, off,
					    seen));
	EXPECT_EQ((__u32)L3L2Q_CHAN_CTRL_L2_TX_BELL, *off);
	ASSERT_EQ(-EAGAIN, l3l2q_chan_try_recv(ctx, &b, 1, &m));
	ASSERT_EQ(-ETIMEDOUT, vm_wait(self->l3, *off, *seen, 0));
}

TEST_F(chan, wait_ioctl_woken_by_send)
{
	struct l3l2q_chan_ctx ctx;
	__u32 off, seen;

	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);
	command(_metadata, self, 3);
	EXPECT_EQ(0, vm_wait(self->l3, off, seen, cp_deadline()));
	l3l2q_chan_clear_wakeup(&ctx);
	expect_cmd_msg(_metadata, &ctx, 3);
	EXPECT_GE(l3l2q_chan_stats(&ctx)->received, 1ull);
}

TEST_F(chan, poll_woken_by_send)
{
	struct pollfd p = { .fd = self->l3, .events = POLLIN };
	struct l3l2q_chan_ctx ctx;
	__u32 off, seen;

	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);
	/* Nothing to receive: no POLLIN, but free lanes: POLLOUT. */
	p.events = POLLIN | POLLOUT;
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	p.events = POLLIN;
	command(_metadata, self, 4);
	ASSERT_EQ(1, poll(&p, 1, VM_WATCHDOG_MS));
	EXPECT_EQ(POLLIN, p.revents);
	l3l2q_chan_clear_wakeup(&ctx);
	expect_cmd_msg(_metadata, &ctx, 4);
	ASSERT_EQ(0, poll(&p, 1, 0));
}

TEST_F(chan, eventfd_woken_by_send)
{
	struct pollfd p;
	struct l3l2q_chan_ctx ctx;
	__u32 off, seen;
	__u64 v;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_eventfd(self->l3, efd));
	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);
	EXPECT_EQ(-1, read(efd, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	command(_metadata, self, 5);
	p.fd = efd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, VM_WATCHDOG_MS));
	ASSERT_EQ((ssize_t)sizeof(v), read(efd, &v, sizeof(v)));
	EXPECT_LE(1ull, v);
	l3l2q_chan_clear_wakeup(&ctx);
	expect_cmd_msg(_metadata, &ctx, 5);
	close(efd);
}

/*
 * The result of the WAIT already submitted.  On kernels without uring_cmd
 * cancellation (6.1) a command also ends at the module's
 * uring_max_wait_ms cap with -ETIMEDOUT however slow the machine: then
 * the same wait is submitted again, as the uapi says to.
 */
static int uring_wait_res(struct io_uring *ring, int fd, __u32 off,
			  __u32 seen)
{
	int res, i;

	for (i = 0; i < 1000; i++) {
		if (get_cqe(ring, VM_WATCHDOG_MS, &res))
			return -ETIME;
		if (res != -ETIMEDOUT)
			return res;
		if (vm_submit_wait(ring, fd, (__u16)off, (__s32)seen, FOREVER,
				 77) != 1)
			return -EIO;
	}
	return -ETIMEDOUT;
}

TEST_F(chan, io_uring_wait_woken_by_send)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct l3l2q_chan_ctx ctx;
	__u32 off, seen;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);
	ASSERT_EQ(1, vm_submit_wait(&ring, self->l3, (__u16)off, (__s32)seen,
				  FOREVER, 77));
	/* Pending: the bell has not moved. */
	EXPECT_NE(0, io_uring_peek_cqe(&ring, &cqe));
	command(_metadata, self, 6);
	EXPECT_EQ(0, uring_wait_res(&ring, self->l3, off, seen));
	l3l2q_chan_clear_wakeup(&ctx);
	expect_cmd_msg(_metadata, &ctx, 6);
	io_uring_queue_exit(&ring);
}

/* lib/core's blocking receive, sleeping in the driver's WAIT. */
TEST_F(chan, blocking_recv_woken_by_send)
{
	struct cp_receiver rc = { .ch = &self->s->ch, .ret = 1 };
	pthread_t th;

	start_child(_metadata, self, CHILD_CMD);
	ASSERT_EQ(0, pthread_create(&th, NULL, cp_receiver_main, &rc));
	command(_metadata, self, 7);
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, rc.ret);
	EXPECT_EQ(7u, rc.m.route);
	EXPECT_EQ(1007ull, rc.m.correlation_id);
	EXPECT_EQ(7, rc.b);
}

/* ---------------------------------------------------------------------- */
/* Peer death                                                             */
/* ---------------------------------------------------------------------- */

struct waiter {
	int fd;
	__u32 off, seen;
	int ret;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->ret = vm_wait(w->fd, w->off, w->seen, L3L2Q_DEADLINE_NONE);
	return NULL;
}

TEST_F(chan, peer_kill9_ends_every_wait)
{
	struct cp_receiver rc = { .ch = &self->s->ch, .ret = 1 };
	struct l3l2q_chan_ctx ctx;
	struct io_uring ring;
	struct waiter w;
	struct pollfd p;
	pthread_t tw, tr;
	__u32 off, seen;
	__u64 v;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_eventfd(self->l3, efd));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);

	w.fd = self->l3;
	w.off = off;
	w.seen = seen;
	w.ret = 1;
	ASSERT_EQ(0, pthread_create(&tw, NULL, waiter_main, &w));
	ASSERT_EQ(0, pthread_create(&tr, NULL, cp_receiver_main, &rc));
	ASSERT_EQ(1, vm_submit_wait(&ring, self->l3, (__u16)off, (__s32)seen,
				  FOREVER, 77));

	ASSERT_EQ(0, kill(self->child, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, child_status(self));

	ASSERT_EQ(0, pthread_join(tw, NULL));
	EXPECT_EQ(-ECONNRESET, w.ret);
	ASSERT_EQ(0, pthread_join(tr, NULL));
	EXPECT_EQ(-ECONNRESET, rc.ret);
	EXPECT_EQ(-ECONNRESET, uring_wait_res(&ring, self->l3, off, seen));
	p.fd = efd;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, VM_WATCHDOG_MS));
	ASSERT_EQ((ssize_t)sizeof(v), read(efd, &v, sizeof(v)));
	p.fd = self->l3;
	p.events = POLLIN;
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLHUP | POLLERR));
	/* A new wait ends at once; the kernel raised L2's abort word. */
	EXPECT_EQ(-ECONNRESET, vm_wait(self->l3, off, seen, cp_deadline()));
	EXPECT_EQ(1u, load_u32(self->s->mem.ctrl, L3L2Q_CHAN_CTRL_L2_ABORT));
	EXPECT_EQ(1, dbg_num(self->id, "l2_abort"));
	l3l2q_chan_clear_wakeup(&ctx);
	io_uring_queue_exit(&ring);
	close(efd);
}

/* ---------------------------------------------------------------------- */
/* libl3l2q's channel objects over the driver (lib/user/channel_device.c) */
/* ---------------------------------------------------------------------- */

TEST(lib_echo_over_the_driver)
{
	struct cp_result r;
	int status = -1;

	ASSERT_EQ(0, cl_echo(L3L2Q_BACKEND_DEVICE, &r, &status));
	cl_check_echo(_metadata, &r, status);
}

TEST(lib_kill9_over_the_driver)
{
	struct cl_death d = { .recv = 1 };

	ASSERT_EQ(0, cl_death(L3L2Q_BACKEND_DEVICE, &d));
	EXPECT_EQ(128 + SIGKILL, d.status);
	EXPECT_EQ(-ECONNRESET, d.recv);
	EXPECT_EQ(POLLHUP | POLLERR, d.wait_revents & (POLLHUP | POLLERR));
}

TEST_HARNESS_MAIN
