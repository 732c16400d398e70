// SPDX-License-Identifier: GPL-2.0
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
 *   - kill -9 of the L2 process ends every wait of L3 with ECONNRESET.
 *
 * Fixed amounts of work; every wait has a watchdog deadline, reached only
 * if something hangs.
 *
 * liburing 2.3 (bookworm) has no io_uring_prep_uring_cmd(): the SQE is
 * built by hand.
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
#include "vm_helpers.h"

#define DEV_PATH	"/dev/l3l2q"
#define SEC		1000000000ull
#define WATCHDOG_NS	((__u64)VM_WATCHDOG_MS * 1000000ull)

#define LANES		4u
#define DEPTH		8u
#define MAXMSG		256u

#define ROUTE_CALL	9u	/* the echo child replies on ROUTE_REPLY */
#define ECHO_MSGS	1000u
#define ECHO_CALLS	50u
#define CID_BASE	0x1000000000ull

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

static __u64 mono_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * SEC + (__u64)ts.tv_nsec;
}

static __u64 deadline(void)
{
	return mono_ns(NULL) + WATCHDOG_NS;
}

/* env.sleep: W4 is the driver's WAIT on the bell's offset. */
static int drv_sleep(void *ctx, __u32 counter, __s32 seen, __u64 dl)
{
	struct side *s = ctx;
	struct l3l2q_wait_args w = {
		.counter = (__u16)counter,
		.seen = seen,
		.deadline_ns = dl,
	};

	return ioctl(s->fd, L3L2Q_IOC_WAIT, &w) ? -errno : 0;
}

static void drv_kick(void *ctx)
{
	struct side *s = ctx;

	ioctl(s->fd, L3L2Q_IOC_KICK);
}

static int do_wait(int fd, __u32 off, __u32 seen, __u64 dl)
{
	struct l3l2q_wait_args w = {
		.counter = (__u16)off,
		.seen = (__s32)seen,
		.deadline_ns = dl,
	};

	return ioctl(fd, L3L2Q_IOC_WAIT, &w) ? -errno : 0;
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
	s->env.now_ns = mono_ns;
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

/* ---------------------------------------------------------------------- */
/* The L2 process                                                         */
/* ---------------------------------------------------------------------- */

/*
 * Echo: every message comes back on its route with its correlation id and
 * payload; a message on ROUTE_CALL is a call, answered on ROUTE_REPLY with
 * each byte + 1.  When L3 closes its direction, close ours and exit 0.
 */
static int child_echo(struct side *s)
{
	unsigned char buf[MAXMSG];
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	__u32 i;
	int ret;

	l3l2q_chan_ctx_init(&ctx, &s->ch);
	if (l3l2q_chan_lease(&ctx, 0, deadline()))
		return 20;
	for (;;) {
		ret = l3l2q_chan_recv(&ctx, buf, sizeof(buf), deadline(), &m);
		if (ret == -EPIPE)
			break;
		if (ret)
			return 21;
		if (m.route == ROUTE_CALL) {
			for (i = 0; i < m.nbytes; i++)
				buf[i]++;
			ret = l3l2q_chan_send(&ctx, L3L2Q_CHAN_ROUTE_REPLY,
					      m.correlation_id, buf, m.nbytes,
					      deadline());
		} else {
			ret = l3l2q_chan_send(&ctx, m.route, m.correlation_id,
					      buf, m.nbytes, deadline());
		}
		if (ret)
			return 22;
	}
	if (l3l2q_chan_unlease(&ctx))
		return 23;
	if (l3l2q_chan_close(&ctx, deadline()))
		return 24;
	return 0;
}

/*
 * On command: each byte b read from @cmd sends one message on route b with
 * correlation id 1000 + b (a kick if L3 armed); 'q' or EOF ends it.
 */
static int child_cmd(struct side *s, int cmd)
{
	struct l3l2q_chan_ctx ctx;
	unsigned char b;

	l3l2q_chan_ctx_init(&ctx, &s->ch);
	if (l3l2q_chan_lease(&ctx, 0, deadline()))
		return 30;
	while (read(cmd, &b, 1) == 1 && b != 'q')
		if (l3l2q_chan_send(&ctx, b, 1000 + b, &b, 1, deadline()))
			return 31;
	return 0;
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
		ret = mode == CHILD_ECHO ? child_echo(s) : child_cmd(s, self->cmd[0]);
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

	ASSERT_EQ(0, l3l2q_chan_recv(ctx, &b, 1, deadline(), &m));
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
	EXPECT_EQ(-ETIMEDOUT, do_wait(self->l3, L3L2Q_CHAN_CTRL_L2_TX_BELL,
				      seen, 0));
	EXPECT_EQ(-ETIMEDOUT, do_wait(self->l3, L3L2Q_CHAN_CTRL_L2_RX_BELL,
				      load_u32(self->s->mem.ctrl,
					       L3L2Q_CHAN_CTRL_L2_RX_BELL), 0));
	/* A bell that differs from seen ends the wait at once. */
	EXPECT_EQ(0, do_wait(self->l3, L3L2Q_CHAN_CTRL_L2_TX_BELL, seen + 1,
			     deadline()));
	/* Its own bells, the peer's other words, a queue counter. */
	EXPECT_EQ(-EINVAL, do_wait(self->l3, L3L2Q_CHAN_CTRL_L3_TX_BELL, 0, 0));
	EXPECT_EQ(-EINVAL, do_wait(self->l3, L3L2Q_CHAN_CTRL_L3_RX_BELL, 0, 0));
	EXPECT_EQ(-EINVAL, do_wait(self->l3, L3L2Q_CHAN_CTRL_L2_TX, 0, 0));
	EXPECT_EQ(-EINVAL, do_wait(self->l3, L3L2Q_CHAN_CTRL_L2_ABORT, 0, 0));
	EXPECT_EQ(-EINVAL, do_wait(self->l3, L3L2Q_CTR_OUTPUT_TAIL, 0, 0));
	EXPECT_EQ(-EINVAL, do_wait(self->l2, L3L2Q_CHAN_CTRL_L2_TX_BELL, 0, 0));
	EXPECT_EQ(-ETIMEDOUT, do_wait(self->l2, L3L2Q_CHAN_CTRL_L3_TX_BELL,
				      load_u32(self->s->mem.ctrl,
					       L3L2Q_CHAN_CTRL_L3_TX_BELL), 0));
}

/* ---------------------------------------------------------------------- */
/* Messages, routes, correlation ids, calls, close                        */
/* ---------------------------------------------------------------------- */

struct sender {
	struct l3l2q_chan *ch;
	int ret;
};

/* Payload of message i: its index, then a pattern of it. */
static __u32 fill_msg(unsigned char *buf, __u32 i)
{
	__u32 n = 4 + i % (MAXMSG - 4), k;

	memcpy(buf, &i, 4);
	for (k = 4; k < n; k++)
		buf[k] = (unsigned char)(i * 7 + k);
	return n;
}

static void *sender_main(void *arg)
{
	struct sender *sd = arg;
	unsigned char buf[MAXMSG];
	struct l3l2q_chan_ctx ctx;
	__u32 i, n;

	l3l2q_chan_ctx_init(&ctx, sd->ch);
	sd->ret = l3l2q_chan_lease(&ctx, 1, deadline());
	for (i = 0; !sd->ret && i < ECHO_MSGS; i++) {
		n = fill_msg(buf, i);
		sd->ret = l3l2q_chan_send(&ctx, i % LANES, CID_BASE + i, buf, n,
					  deadline());
	}
	if (!sd->ret)
		sd->ret = l3l2q_chan_unlease(&ctx);
	return NULL;
}

TEST_F(chan, echo_routes_calls_and_close)
{
	unsigned char buf[MAXMSG], want[MAXMSG], req[MAXMSG];
	static unsigned char seen[ECHO_MSGS];
	struct sender sd = { .ch = &self->s->ch, .ret = -1 };
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	pthread_t th;
	__u32 i, k, n, idx, bad = 0, dup = 0, order = 0;
	__u64 next = 0;

	memset(seen, 0, sizeof(seen));
	start_child(_metadata, self, CHILD_ECHO);
	l3l2q_chan_ctx_init(&ctx, &self->s->ch);
	ASSERT_EQ(0, pthread_create(&th, NULL, sender_main, &sd));

	/* Each echo once, on its route, with its id and bytes, in order. */
	for (i = 0; i < ECHO_MSGS; i++) {
		ASSERT_EQ(0, l3l2q_chan_recv(&ctx, buf, sizeof(buf), deadline(),
					     &m));
		idx = (__u32)(m.correlation_id - CID_BASE);
		if (m.correlation_id < CID_BASE || idx >= ECHO_MSGS) {
			bad++;
			continue;
		}
		dup += seen[idx]++;
		/* The child echoes from one lane: the send order. */
		order += m.correlation_id != CID_BASE + next;
		next = idx + 1;
		n = fill_msg(want, idx);
		bad += m.route != idx % LANES || m.nbytes != n ||
		       memcmp(buf, want, n);
	}
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, sd.ret);
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(0u, dup);
	EXPECT_EQ(0u, order);
	for (i = 0; i < ECHO_MSGS; i++)
		EXPECT_EQ(1, seen[i]);

	/* Calls: the reply has the call's id and each byte + 1. */
	ASSERT_EQ(0, l3l2q_chan_lease(&ctx, 0, deadline()));
	for (i = 0; i < ECHO_CALLS; i++) {
		n = fill_msg(req, i);
		ASSERT_EQ(0, l3l2q_chan_call(&ctx, ROUTE_CALL, req, n, buf,
					     sizeof(buf), deadline(), &m));
		EXPECT_EQ(L3L2Q_CHAN_ROUTE_REPLY, m.route);
		ASSERT_EQ(n, m.nbytes);
		for (k = 0; k < n; k++)
			bad += buf[k] != (unsigned char)(req[k] + 1);
	}
	EXPECT_EQ(0u, bad);
	ASSERT_EQ(0, l3l2q_chan_unlease(&ctx));

	/*
	 * Close: L3's direction is acked once the child took everything;
	 * the child then closes its own, which ends our receives.
	 */
	EXPECT_EQ(0, l3l2q_chan_close(&ctx, deadline()));
	EXPECT_EQ(-EPIPE, l3l2q_chan_recv(&ctx, buf, sizeof(buf), deadline(),
					  &m));
	EXPECT_EQ(0, child_status(self));
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
	ASSERT_EQ(-ETIMEDOUT, do_wait(self->l3, *off, *seen, 0));
}

TEST_F(chan, wait_ioctl_woken_by_send)
{
	struct l3l2q_chan_ctx ctx;
	__u32 off, seen;

	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);
	command(_metadata, self, 3);
	EXPECT_EQ(0, do_wait(self->l3, off, seen, deadline()));
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
	struct l3l2q_eventfd_args e;
	struct pollfd p;
	struct l3l2q_chan_ctx ctx;
	__u32 off, seen;
	__u64 v;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	memset(&e, 0, sizeof(e));
	e.fd = efd;
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_SET_EVENTFD, &e));
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

static void prep_wait(struct io_uring_sqe *sqe, int fd, __u32 off,
		      __u32 seen, __u64 dl)
{
	struct l3l2q_wait_args a;

	memset(&a, 0, sizeof(a));
	a.counter = (__u16)off;
	a.seen = (__s32)seen;
	a.deadline_ns = dl;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_WAIT;
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &a,
	       sizeof(a));
	sqe->user_data = 77;
}

/* The next CQE's res within @ms, or -ETIME. */
static int cqe_res(struct io_uring *ring, unsigned int ms)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long long)(ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
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
		res = cqe_res(ring, VM_WATCHDOG_MS);
		if (res != -ETIMEDOUT)
			return res;
		prep_wait(io_uring_get_sqe(ring), fd, off, seen,
			  L3L2Q_DEADLINE_NONE);
		if (io_uring_submit(ring) != 1)
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
	prep_wait(io_uring_get_sqe(&ring), self->l3, off, seen,
		  L3L2Q_DEADLINE_NONE);
	ASSERT_EQ(1, io_uring_submit(&ring));
	/* Pending: the bell has not moved. */
	EXPECT_NE(0, io_uring_peek_cqe(&ring, &cqe));
	command(_metadata, self, 6);
	EXPECT_EQ(0, uring_wait_res(&ring, self->l3, off, seen));
	l3l2q_chan_clear_wakeup(&ctx);
	expect_cmd_msg(_metadata, &ctx, 6);
	io_uring_queue_exit(&ring);
}

struct receiver {
	struct l3l2q_chan *ch;
	int ret;
	struct l3l2q_chan_msg m;
	unsigned char b;
};

static void *receiver_main(void *arg)
{
	struct receiver *rc = arg;
	struct l3l2q_chan_ctx ctx;

	l3l2q_chan_ctx_init(&ctx, rc->ch);
	rc->ret = l3l2q_chan_recv(&ctx, &rc->b, 1, deadline(), &rc->m);
	return NULL;
}

/* lib/core's blocking receive, sleeping in the driver's WAIT. */
TEST_F(chan, blocking_recv_woken_by_send)
{
	struct receiver rc = { .ch = &self->s->ch, .ret = 1 };
	pthread_t th;

	start_child(_metadata, self, CHILD_CMD);
	ASSERT_EQ(0, pthread_create(&th, NULL, receiver_main, &rc));
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

	w->ret = do_wait(w->fd, w->off, w->seen, L3L2Q_DEADLINE_NONE);
	return NULL;
}

TEST_F(chan, peer_kill9_ends_every_wait)
{
	struct receiver rc = { .ch = &self->s->ch, .ret = 1 };
	struct l3l2q_eventfd_args e;
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
	memset(&e, 0, sizeof(e));
	e.fd = efd;
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_SET_EVENTFD, &e));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	start_child(_metadata, self, CHILD_CMD);
	arm_recv(_metadata, self, &ctx, &off, &seen);

	w.fd = self->l3;
	w.off = off;
	w.seen = seen;
	w.ret = 1;
	ASSERT_EQ(0, pthread_create(&tw, NULL, waiter_main, &w));
	ASSERT_EQ(0, pthread_create(&tr, NULL, receiver_main, &rc));
	prep_wait(io_uring_get_sqe(&ring), self->l3, off, seen,
		  L3L2Q_DEADLINE_NONE);
	ASSERT_EQ(1, io_uring_submit(&ring));

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
	EXPECT_EQ(-ECONNRESET, do_wait(self->l3, off, seen, deadline()));
	EXPECT_EQ(1u, load_u32(self->s->mem.ctrl, L3L2Q_CHAN_CTRL_L2_ABORT));
	EXPECT_EQ(1, dbg_num(self->id, "l2_abort"));
	l3l2q_chan_clear_wakeup(&ctx);
	io_uring_queue_exit(&ring);
	close(efd);
}

TEST_HARNESS_MAIN
