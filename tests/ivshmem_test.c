// SPDX-License-Identifier: MIT
/*
 * l3l2q-devsim as the device behind QEMU's ivshmem, tested without a VM:
 * this suite plays QEMU (a client of the device's ivshmem server,
 * mock_qemu.h) and the host driver (the directory and the L3 endpoint on
 * the shared memory, dir_host.h, with lib/core only).
 *
 * The L3's env does what the driver and QEMU would: a kick is a doorbell
 * write (the device's eventfd for the slot's vector), a sleep waits for
 * our MSI-X vector (our eventfd).  A device that does not announce
 * L3L2Q_FEAT_KICKS is polled: each sleep lasts at most POLL_NS.
 *
 * No verdict depends on speed: streams are fixed work, checked byte by
 * byte, under generous watchdogs.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "devsim_client.h"
#include "dir_host.h"
#include "mock_qemu.h"

#define SHM_BYTES	(4ull << 20)
#define VECTORS		4u
#define HB_MS		20u
#define EPOCH		0x1234ull
#define POLL_NS		200000ull
#define SETUP_MS	30000u

/* ---- the L3 endpoint's env: QEMU's doorbell and MSI-X, or polling ---- */

struct host_env {
	struct mock_qemu *m;		/* NULL: no interrupts (ivshmem-plain) */
	int dev_id;
	unsigned int vector;
	const __u32 *l2_features;	/* the device's feature word */
	unsigned long irqs;		/* sleeps ended by our vector */
};

static __u64 he_now(void *ctx)
{
	(void)ctx;
	return dh_now_ns();
}

static int he_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline)
{
	struct host_env *e = ctx;
	__u64 now = dh_now_ns(), left = deadline > now ? deadline - now : 0;
	struct pollfd p = { .fd = -1, .events = POLLIN };
	struct timespec ts;
	__u64 val;
	int n;

	(void)counter;
	(void)seen;
	/* Read once per decision: a device that never kicks is polled. */
	if (!e->m || !(dh_load32(e->l2_features) & L3L2Q_FEAT_KICKS)) {
		if (left > POLL_NS)
			left = POLL_NS;
	} else {
		p.fd = e->m->own[e->vector];
	}
	ts.tv_sec = (time_t)(left / 1000000000ull);
	ts.tv_nsec = (long)(left % 1000000000ull);
	n = ppoll(&p, 1, &ts, NULL);
	if (n < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (read(p.fd, &val, sizeof(val)) > 0)
		e->irqs++;
	return 0;
}

static void he_kick(void *ctx)
{
	struct host_env *e = ctx;

	mq_doorbell(e->m, e->dev_id, e->vector);
}

/* ---- starting l3l2q-devsim ---- */

/* l3l2q-devsim with @argv (after argv[0], NULL-terminated); pid or -1. */
static pid_t spawn_devsim(const char *const *args)
{
	const char *argv[24] = { "l3l2q-devsim" };
	char path[PATH_MAX];
	unsigned int i;
	pid_t pid;

	for (i = 0; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	dc_devsim_path(path, sizeof(path));
	pid = fork();
	if (pid)
		return pid;
	execv(path, (char *const *)argv);
	fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

static void stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

/* Drain every MSI-X vector that fired so far. */
static void drain_vectors(struct mock_qemu *m)
{
	unsigned int v;

	for (v = 0; v < m->nvec; v++)
		while (mq_wait_vector(m, v, 0))
			;
}

FIXTURE(ivshmem) {
	char dir[64];
	char sock[96];
	char file[96];
	pid_t dev, server;
	struct mock_qemu m;
	struct dh_queue q;
	struct l3l2q_l3 *l3;
	struct host_env env;
	struct dc_stream s;
};

FIXTURE_SETUP(ivshmem)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/l3l2q-ivshmem-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/sock", self->dir);
	snprintf(self->file, sizeof(self->file), "%s/plain", self->dir);
	self->dev = self->server = -1;
	mq_init(&self->m);
	self->l3 = calloc(1, sizeof(*self->l3));
	ASSERT_NE(NULL, self->l3);
}

FIXTURE_TEARDOWN(ivshmem)
{
	stop_child(&self->dev);
	stop_child(&self->server);
	mq_close(&self->m);
	free(self->l3);
	dc_stream_free(&self->s);
	unlink(self->sock);
	unlink(self->file);
	rmdir(self->dir);
}

/* The device as server and peer (QEMU connects to it), with @extra. */
static pid_t start_server_device(FIXTURE_DATA(ivshmem) *self,
				 const char *extra)
{
	const char *args[] = { "--ivshmem-server", self->sock, "--shm-size",
			       "4M", "--vectors", "4", "--quiet", extra, NULL };

	return spawn_devsim(args);
}

/*
 * Connect as QEMU, format the directory as the host and wait for the
 * device's line: 0 or the step that failed.
 */
static const char *host_up(FIXTURE_DATA(ivshmem) *self)
{
	struct mq_peer *dev;

	if (mq_connect(&self->m, self->sock, SETUP_MS))
		return "connect to the server";
	if (mq_setup(&self->m, VECTORS, SETUP_MS))
		return self->m.why;
	dev = mq_only_peer(&self->m);
	if (!dev)
		return "exactly one other peer (the device) expected";
	if (self->m.shm_bytes != SHM_BYTES)
		return "the shared memory is not --shm-size bytes";
	dh_format(self->m.mem, self->m.shm_bytes, EPOCH, (__u32)self->m.id,
		  VECTORS, HB_MS);
	mq_doorbell(&self->m, dev->id, 0);
	if (dh_wait_device(self->m.mem, EPOCH, SETUP_MS))
		return "the device's line never said LIVE for our epoch";
	self->env.m = &self->m;
	self->env.dev_id = dev->id;
	return NULL;
}

/* A queue in @slot on @vector, and our L3 endpoint on it. */
static int make_queue(FIXTURE_DATA(ivshmem) *self, void *mem, __u64 bytes,
		      unsigned int slot, unsigned int vector)
{
	struct l3l2q_env env = { .now_ns = he_now, .sleep = he_sleep,
				 .ctx = &self->env };
	int ret;

	ret = dh_create(mem, bytes, slot, L3L2Q_DIR_BYTES + slot * (256ull << 10),
			64, 1ull << 16, vector, &self->q);
	if (ret)
		return ret;
	self->env.vector = vector;
	self->env.l2_features = (const __u32 *)((char *)self->q.mem.ctrl +
						L3L2Q_CTRL_L2_FEATURES);
	if (self->env.m) {
		env.kick = he_kick;
		mq_doorbell(self->env.m, self->env.dev_id, 0);
	}
	return l3l2q_l3_init(self->l3, &self->q.mem, &self->q.layout, 0, &env);
}

#define STREAM_OK(self, count, secs)					\
	do {								\
		ASSERT_EQ(0, dc_stream_init(&(self)->s, (self)->l3, count, 512)); \
		ASSERT_EQ(0, dc_stream_run(&(self)->s,			\
					   dh_now_ns() + (secs) * SEC))	\
			TH_LOG("%s: %s (%s)", (self)->s.fail,		\
			       strerror(-(self)->s.fail_ret),		\
			       l3l2q_ep_last_error(&(self)->l3->ep)->message); \
		EXPECT_EQ((__u64)(count), (self)->s.got);		\
		EXPECT_EQ(0ull, (self)->s.wrong);			\
		EXPECT_EQ(0ull, (self)->s.dup);				\
		EXPECT_EQ(0ull, (self)->s.errors);			\
		EXPECT_EQ(1, (self)->s.stats_seen);			\
		EXPECT_EQ((__u64)(count), (self)->s.stats.tasks);	\
	} while (0)

/* ---- the protocol ---- */

/*
 * The device connects to its own server first (ID 0); QEMU gets version
 * 0, its ID, -1 with the memory, the device's ID once per vector with an
 * eventfd each, then its own ID once per vector.  A second client is
 * announced to the first with all its vectors, and its departure is a
 * disconnect notification (its ID, no fd).
 */
TEST_F_TIMEOUT(ivshmem, protocol_messages_as_the_spec_says, 120)
{
	struct mock_qemu b;
	struct mq_peer *dev;
	int id, connected;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	ASSERT_EQ(0, mq_connect(&self->m, self->sock, SETUP_MS));
	ASSERT_EQ(0, mq_setup(&self->m, VECTORS, SETUP_MS)) TH_LOG("%s", self->m.why);
	EXPECT_EQ(SHM_BYTES, self->m.shm_bytes);
	EXPECT_EQ(VECTORS, self->m.nvec);
	dev = mq_only_peer(&self->m);
	ASSERT_NE(NULL, dev);
	EXPECT_EQ(0, dev->id);		/* the first client gets ID 0 */
	EXPECT_NE(dev->id, self->m.id);

	mq_init(&b);
	ASSERT_EQ(0, mq_connect(&b, self->sock, SETUP_MS));
	ASSERT_EQ(0, mq_setup(&b, VECTORS, SETUP_MS)) TH_LOG("%s", b.why);
	EXPECT_NE(b.id, self->m.id);
	EXPECT_NE(b.id, dev->id);
	EXPECT_NE(NULL, mq_peer(&b, dev->id, 0));
	EXPECT_NE(NULL, mq_peer(&b, self->m.id, 0));
	/* The first client hears of the second, with all its vectors. */
	ASSERT_EQ(0, mq_next_notification(&self->m, VECTORS, &id, &connected,
					  SETUP_MS)) TH_LOG("%s", self->m.why);
	EXPECT_EQ(b.id, id);
	EXPECT_EQ(1, connected);
	EXPECT_EQ(VECTORS, mq_peer(&self->m, b.id, 0)->n);
	/* Both map the same memory. */
	((volatile char *)b.mem)[L3L2Q_DIR_BYTES] = 0x5a;
	EXPECT_EQ(0x5a, ((volatile char *)self->m.mem)[L3L2Q_DIR_BYTES]);
	id = b.id;
	mq_close(&b);
	ASSERT_EQ(0, mq_next_notification(&self->m, VECTORS, &id, &connected,
					  SETUP_MS)) TH_LOG("%s", self->m.why);
	EXPECT_EQ(0, connected);
	EXPECT_EQ(NULL, mq_peer(&self->m, id, 0));
	/* Nothing else arrives. */
	EXPECT_EQ(-ETIMEDOUT, mq_next_notification(&self->m, VECTORS, &id,
						   &connected, 200));
}

/* ---- the device's line, the doorbell and the MSI-X kick ---- */

TEST_F_TIMEOUT(ivshmem, device_line_doorbell_and_kick, 120)
{
	struct l3l2q_dir_dev *d;
	unsigned char buf[L3L2Q_TASK_HDR_BYTES + 64];
	struct l3l2q_msg msg;
	const char *why;
	__u64 hb;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	why = host_up(self);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	d = dh_dev(self->m.mem);
	EXPECT_EQ(L3L2Q_DIR_DEV_MAGIC, dh_load32(&d->magic));
	EXPECT_EQ(L3L2Q_DEV_LIVE, dh_load32(&d->state));
	EXPECT_EQ((__u32)self->env.dev_id, dh_load32(&d->dev_peer_id));
	EXPECT_EQ(L3L2Q_FEAT_KICKS, dh_load32(&d->features));
	/* Vector 0: the device state changed (it attached). */
	EXPECT_EQ(1, mq_wait_vector(&self->m, 0, SETUP_MS));
	hb = dh_load64(&d->heartbeat);
	EXPECT_EQ(0, dh_wait_beat(self->m.mem, hb, SETUP_MS));

	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 0, 1));
	EXPECT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_LIVE,
				  SETUP_MS));
	/* The device claims the role (LIVE), then its endpoint's init says
	 * it kicks: the word comes a moment after the state. */
	EXPECT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES,
				  L3L2Q_FEAT_KICKS, SETUP_MS));
	drain_vectors(&self->m);
	/*
	 * Armed before the task goes in: the device's publish of the result
	 * must interrupt us on the slot's vector (P1-P4), however fast it is.
	 */
	ASSERT_EQ(0, l3l2q_ep_want_wakeup(&self->l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	ASSERT_EQ(0, dc_try_send(self->l3, buf, 7, 64, 0));
	EXPECT_EQ(1, mq_wait_vector(&self->m, 1, SETUP_MS));
	l3l2q_ep_clear_wakeup(&self->l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL);
	ASSERT_EQ(0, l3l2q_l3_peek(self->l3, dh_now_ns() + 10 * SEC, &msg));
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 8, 64));
	dc_take(&self->s, &msg);
	EXPECT_EQ(1ull, self->s.got);
	EXPECT_EQ(7ull, self->s.order[0]);
	EXPECT_EQ(0, l3l2q_l3_release(self->l3, &msg));
}

/* ---- 10^5 tasks, with kicks and upstream-only ---- */

FIXTURE(stream) {
	FIXTURE_DATA(ivshmem) i;
};

FIXTURE_VARIANT(stream) {
	const char *mode;		/* extra device option, or NULL */
	int upstream;
};

FIXTURE_VARIANT_ADD(stream, kicks) {
	.mode = NULL,
	.upstream = 0,
};

FIXTURE_VARIANT_ADD(stream, upstream_only) {
	.mode = "--upstream-only",
	.upstream = 1,
};

FIXTURE_SETUP(stream)
{
	ivshmem_setup(_metadata, &self->i, NULL);
}

FIXTURE_TEARDOWN(stream)
{
	ivshmem_teardown(_metadata, &self->i, NULL);
}

/* The words of the control block only the L2 writes. */
static __u32 l2_words(const struct dh_queue *q)
{
	static const unsigned int off[] = {
		L3L2Q_CTRL_L2_STATE, L3L2Q_CTRL_L2_WAKE,
		L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L2_WAKE, 0),
		L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L2_WAKE, 3),
		L3L2Q_CTRL_L2_PID, L3L2Q_CTRL_L2_FEATURES,
	};
	__u32 any = 0;
	unsigned int i;

	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		any |= dh_ctrl(q, off[i]);
	return any;
}

TEST_F_TIMEOUT(stream, e5_tasks_every_byte_checked, 600)
{
	FIXTURE_DATA(ivshmem) *s = &self->i;
	const char *why;

	s->dev = start_server_device(s, variant->mode);
	ASSERT_LT(0, s->dev);
	why = host_up(s);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	EXPECT_EQ(variant->upstream ? 0 : L3L2Q_FEAT_KICKS,
		  dh_load32(&dh_dev(s->m.mem)->features));
	ASSERT_EQ(0, make_queue(s, s->m.mem, s->m.shm_bytes, 3, 2));
	STREAM_OK(s, 100000, 500);
	TH_LOG("%s: %lu sleeps ended by MSI-X", variant->upstream ?
	       "upstream-only" : "kicks", s->env.irqs);
	if (variant->upstream) {
		/* Never touched the control block: every L2 word still 0. */
		EXPECT_EQ(0u, l2_words(&s->q));
	} else {
		EXPECT_EQ(L3L2Q_FEAT_KICKS, dh_ctrl(&s->q, L3L2Q_CTRL_L2_FEATURES));
		/* After the STOP drain the L2 role ends. */
		EXPECT_EQ(0, dh_wait_ctrl(&s->q, L3L2Q_CTRL_L2_STATE,
					  L3L2Q_ROLE_DEAD, SETUP_MS));
	}
	/* The L3 dies: the slot is CLOSED and the device lets it go. */
	dh_close(s->m.mem, &s->q);
	mq_doorbell(&s->m, s->env.dev_id, 0);
	EXPECT_EQ(0, dh_wait_ctrl(&s->q, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_DEAD,
				  SETUP_MS));
	/* Still alive and well: a clean exit. */
	kill(s->dev, SIGTERM);
	EXPECT_EQ(0, dc_wait_exit(s->dev, 60));
	s->dev = -1;
}

/* ---- the device's death ---- */

TEST_F_TIMEOUT(ivshmem, killed_device_heartbeat_stops, 120)
{
	struct l3l2q_dir_dev *d;
	const char *why;
	__s64 val;
	__u64 hb;
	int fd;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	why = host_up(self);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	d = dh_dev(self->m.mem);
	hb = dh_load64(&d->heartbeat);
	ASSERT_EQ(0, dh_wait_beat(self->m.mem, hb, SETUP_MS));
	kill(self->dev, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, dc_wait_exit(self->dev, 60));
	self->dev = -1;
	/* The server died with it: QEMU's connection ends (no notification). */
	EXPECT_EQ(-EPIPE, mq_recv(&self->m, &val, &fd, SETUP_MS));
	/* The process is gone, so the heartbeat can no longer move. */
	hb = dh_load64(&d->heartbeat);
	usleep(10 * HB_MS * 1000);
	EXPECT_EQ(hb, dh_load64(&d->heartbeat));
	EXPECT_EQ(-ETIMEDOUT, dh_wait_beat(self->m.mem, hb, 5 * HB_MS));
	/* Nobody said DEAD: the host learns it from the heartbeat alone. */
	EXPECT_EQ(L3L2Q_DEV_LIVE, dh_load32(&d->state));
}

TEST_F_TIMEOUT(ivshmem, sigterm_marks_dead_and_interrupts_vector0, 120)
{
	const char *why;
	__s64 val;
	int fd, ret;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	why = host_up(self);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 5, 3));
	ASSERT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_LIVE,
				  SETUP_MS));
	drain_vectors(&self->m);
	kill(self->dev, SIGTERM);
	EXPECT_EQ(0, dc_wait_exit(self->dev, 60));
	self->dev = -1;
	EXPECT_EQ(L3L2Q_DEV_DEAD, dh_load32(&dh_dev(self->m.mem)->state));
	EXPECT_EQ(1, mq_wait_vector(&self->m, 0, 0));
	/* Its region was let go, and our sleeper on vector 3 was told. */
	EXPECT_EQ(L3L2Q_ROLE_DEAD, dh_ctrl(&self->q, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(1, mq_wait_vector(&self->m, 3, 0));
	/*
	 * The device leaves its server before the server closes: QEMU may
	 * see the device's disconnect notification, then the end.
	 */
	ret = mq_recv(&self->m, &val, &fd, SETUP_MS);
	if (!ret) {
		EXPECT_EQ(self->env.dev_id, val);
		EXPECT_EQ(-1, fd);
		ret = mq_recv(&self->m, &val, &fd, SETUP_MS);
	}
	EXPECT_EQ(-EPIPE, ret);
}

/*
 * --server-only keeps QEMU's connection while the device (a client) is
 * killed and started again: QEMU sees the device leave and a new peer
 * come; the new device writes its ID into its line, lets the regions
 * of the old one go and serves new ones.
 */
TEST_F_TIMEOUT(ivshmem, restarted_device_gets_new_id_and_lets_old_regions_go, 180)
{
	const char *server[] = { "--ivshmem-server", self->sock, "--shm-size",
				 "4M", "--vectors", "4", "--server-only",
				 "--quiet", NULL };
	const char *client[] = { "--ivshmem-client", self->sock, "--quiet",
				 NULL };
	struct l3l2q_dir_dev *d;
	struct dh_queue old;
	int i, id, connected, old_id;
	__u64 hb;

	self->server = spawn_devsim(server);
	ASSERT_LT(0, self->server);
	/* The device first, so that QEMU sees it in its set-up. */
	for (i = 0; i < 3000 && access(self->sock, F_OK); i++)
		usleep(10000);
	self->dev = spawn_devsim(client);
	ASSERT_LT(0, self->dev);
	ASSERT_EQ(0, mq_connect(&self->m, self->sock, SETUP_MS));
	ASSERT_EQ(0, mq_setup(&self->m, VECTORS, SETUP_MS)) TH_LOG("%s", self->m.why);
	if (!mq_only_peer(&self->m)) {
		/* The device connected after us: its notification comes now. */
		ASSERT_EQ(0, mq_next_notification(&self->m, VECTORS, &id,
						  &connected, SETUP_MS));
	}
	ASSERT_NE(NULL, mq_only_peer(&self->m));
	old_id = mq_only_peer(&self->m)->id;
	dh_format(self->m.mem, self->m.shm_bytes, EPOCH, (__u32)self->m.id,
		  VECTORS, HB_MS);
	ASSERT_EQ(0, dh_wait_device(self->m.mem, EPOCH, SETUP_MS));
	self->env.m = &self->m;
	self->env.dev_id = old_id;
	d = dh_dev(self->m.mem);
	EXPECT_EQ((__u32)old_id, dh_load32(&d->dev_peer_id));
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 0, 1));
	ASSERT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_LIVE,
				  SETUP_MS));
	old = self->q;

	kill(self->dev, SIGKILL);
	EXPECT_EQ(128 + SIGKILL, dc_wait_exit(self->dev, 60));
	self->dev = -1;
	ASSERT_EQ(0, mq_next_notification(&self->m, VECTORS, &id, &connected,
					  SETUP_MS)) TH_LOG("%s", self->m.why);
	EXPECT_EQ(old_id, id);
	EXPECT_EQ(0, connected);
	hb = dh_load64(&d->heartbeat);
	usleep(5 * HB_MS * 1000);
	EXPECT_EQ(hb, dh_load64(&d->heartbeat));

	self->dev = spawn_devsim(client);
	ASSERT_LT(0, self->dev);
	ASSERT_EQ(0, mq_next_notification(&self->m, VECTORS, &id, &connected,
					  SETUP_MS)) TH_LOG("%s", self->m.why);
	EXPECT_EQ(1, connected);
	EXPECT_NE(old_id, id);
	self->env.dev_id = id;
	mq_doorbell(&self->m, id, 0);
	/* Its line names the new ID; the heartbeat moves again. */
	for (i = 0; i < 3000 && dh_load32(&d->dev_peer_id) != (__u32)id; i++)
		usleep(10000);
	EXPECT_EQ((__u32)id, dh_load32(&d->dev_peer_id));
	EXPECT_EQ(0, dh_wait_device(self->m.mem, EPOCH, SETUP_MS));
	EXPECT_EQ(0, dh_wait_beat(self->m.mem, dh_load64(&d->heartbeat), SETUP_MS));
	/* The old region lost its L2 with the old device. */
	EXPECT_EQ(0, dh_wait_ctrl(&old, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_DEAD,
				  SETUP_MS));
	/* A new region is served. */
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 1, 2));
	STREAM_OK(self, 2000, 120);
	kill(self->dev, SIGTERM);
	EXPECT_EQ(0, dc_wait_exit(self->dev, 60));
	self->dev = -1;
	kill(self->server, SIGTERM);
	EXPECT_EQ(0, dc_wait_exit(self->server, 60));
	self->server = -1;
}

/* ---- a hostile device ---- */

/*
 * SIGUSR1: the device writes random bytes over the whole memory.  Our L3
 * endpoint must then fail with a clear error, never crash or hang; the
 * device itself stays up and still exits cleanly.
 */
TEST_F_TIMEOUT(ivshmem, scribbling_device_fails_the_host_cleanly, 180)
{
	const struct l3l2q_error *e;
	unsigned char buf[L3L2Q_TASK_HDR_BYTES + 512];
	struct l3l2q_msg msg;
	int i, ret, failed = 0;
	const char *why;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	why = host_up(self);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 2, 1));
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 1000, 512));
	self->s.send_stop = 0;
	ASSERT_EQ(0, dc_stream_run(&self->s, dh_now_ns() + 120 * SEC))
		TH_LOG("%s: %s", self->s.fail, strerror(-self->s.fail_ret));
	EXPECT_EQ(1000ull, self->s.got);

	kill(self->dev, SIGUSR1);
	for (i = 0; i < 3000 && dh_load32(&dh_host(self->m.mem)->magic) ==
	     L3L2Q_DIR_MAGIC; i++)
		usleep(10000);
	ASSERT_NE(L3L2Q_DIR_MAGIC, dh_load32(&dh_host(self->m.mem)->magic));
	/* Every call returns, each within its deadline; one must fail. */
	for (i = 0; i < 400 && !failed; i++) {
		ret = dc_try_send(self->l3, buf, 1000 + (unsigned int)i, 512, 0);
		if (ret && ret != -EAGAIN) {
			failed = ret;
			break;
		}
		ret = l3l2q_l3_peek(self->l3, dh_now_ns() + 20000000ull, &msg);
		if (!ret)
			ret = l3l2q_l3_release(self->l3, &msg);
		if (ret && ret != -ETIMEDOUT)
			failed = ret;
	}
	EXPECT_TRUE(failed == -EPROTO || failed == -ECONNRESET)
		TH_LOG("after %d rounds: %d", i, failed);
	e = l3l2q_ep_last_error(&self->l3->ep);
	EXPECT_NE(0, e->message[0]);
	TH_LOG("the host's endpoint says: %s (%s)", e->message,
	       l3l2q_error_kind_str(e->kind));
	/* Another call fails the same way, at once. */
	EXPECT_EQ(failed == -EPROTO ? -EPROTO : -ECONNRESET,
		  l3l2q_l3_try_peek(self->l3, &msg));
	EXPECT_EQ(0, waitpid(self->dev, NULL, WNOHANG));
	kill(self->dev, SIGTERM);
	EXPECT_EQ(0, dc_wait_exit(self->dev, 60));
	self->dev = -1;
}

/* ---- ivshmem-plain: a shared file, no interrupts ---- */

TEST_F_TIMEOUT(ivshmem, plain_file_is_polled, 300)
{
	const char *args[] = { "--plain", self->file, "--quiet", NULL };
	void *mem;
	int fd;

	fd = open(self->file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, (off_t)SHM_BYTES));
	mem = mmap(NULL, SHM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, mem);
	dh_format(mem, SHM_BYTES, EPOCH, 0, 0, HB_MS);
	self->dev = spawn_devsim(args);
	ASSERT_LT(0, self->dev);
	ASSERT_EQ(0, dh_wait_device(mem, EPOCH, SETUP_MS));
	EXPECT_EQ(0u, dh_load32(&dh_dev(mem)->features));
	ASSERT_EQ(0, make_queue(self, mem, SHM_BYTES, 0, 0));
	EXPECT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_LIVE,
				  SETUP_MS));
	EXPECT_EQ(0u, dh_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES));
	STREAM_OK(self, 10000, 240);
	kill(self->dev, SIGTERM);
	EXPECT_EQ(0, dc_wait_exit(self->dev, 60));
	self->dev = -1;
	EXPECT_EQ(L3L2Q_DEV_DEAD, dh_load32(&dh_dev(mem)->state));
	munmap(mem, SHM_BYTES);
}

/* ---- the host formats again ---- */

/*
 * A new epoch: the device forgets the regions of the old one without
 * writing to them (the memory is the host's again), writes its line for
 * the new epoch and serves the new regions.
 */
TEST_F_TIMEOUT(ivshmem, new_epoch_forgets_old_regions, 180)
{
	struct dh_queue old;
	const char *why;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	why = host_up(self);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 4, 1));
	ASSERT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_LIVE,
				  SETUP_MS));
	old = self->q;
	dh_format(self->m.mem, self->m.shm_bytes, EPOCH + 1, (__u32)self->m.id,
		  VECTORS, HB_MS);
	mq_doorbell(&self->m, self->env.dev_id, 0);
	ASSERT_EQ(0, dh_wait_device(self->m.mem, EPOCH + 1, SETUP_MS));
	/* Forgotten, not let go: its words are as the device left them. */
	usleep(5 * HB_MS * 1000);
	EXPECT_EQ(L3L2Q_ROLE_LIVE, dh_ctrl(&old, L3L2Q_CTRL_L2_STATE));
	/* The same slot number again, a new region: served. */
	memset(self->l3, 0, sizeof(*self->l3));
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 4, 1));
	STREAM_OK(self, 2000, 120);
}

/* ---- a hostile directory ---- */

TEST_F_TIMEOUT(ivshmem, bad_slots_are_refused_good_ones_served, 180)
{
	struct l3l2q_dir_slot *s;
	struct dh_queue bad;
	const char *why;

	self->dev = start_server_device(self, NULL);
	ASSERT_LT(0, self->dev);
	why = host_up(self);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	/* Slot 7: a region running past the end of the memory. */
	s = dh_slot(self->m.mem, 7);
	dh_store32(&s->generation, 1);
	dh_store64(&s->region_offset, SHM_BYTES - L3L2Q_REGION_ALIGN);
	dh_store64(&s->region_bytes, 1ull << 40);
	dh_store64(&s->depth, 64);
	dh_store64(&s->input_arena_bytes, 4096);
	dh_store64(&s->output_arena_bytes, 4096);
	dh_store32(&s->state, L3L2Q_SLOT_LIVE);
	/* Slot 8: in place, but the region's size does not match. */
	ASSERT_EQ(0, dh_create(self->m.mem, self->m.shm_bytes, 8, 3ull << 20,
			       64, 4096, 1, &bad));
	dh_store64(&dh_slot(self->m.mem, 8)->region_bytes, 8192);
	/* Slot 9: a vector the host does not have. */
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 9, 1));
	dh_store32(&dh_slot(self->m.mem, 9)->vector, 99);
	mq_doorbell(&self->m, self->env.dev_id, 0);
	/* Slot 8 is in bounds: refused, and told so. */
	EXPECT_EQ(0, dh_wait_ctrl(&bad, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_DEAD,
				  SETUP_MS));
	EXPECT_EQ(0, dh_wait_ctrl(&self->q, L3L2Q_CTRL_L2_STATE,
				  L3L2Q_ROLE_DEAD, SETUP_MS));
	/* Still alive, and a good slot is served. */
	EXPECT_EQ(0, waitpid(self->dev, NULL, WNOHANG));
	ASSERT_EQ(0, make_queue(self, self->m.mem, self->m.shm_bytes, 10, 2));
	STREAM_OK(self, 1000, 120);
}

/* ---- options ---- */

TEST_F_TIMEOUT(ivshmem, bad_options_are_refused, 60)
{
	static const char *const bad[][8] = {
		{ "--ivshmem-server", "/tmp/x", NULL },	/* no --shm-size */
		{ "--ivshmem-server", "/tmp/x", "--shm-size", "3M", NULL },
		{ "--ivshmem-server", "/tmp/x", "--shm-size", "32K", NULL },
		{ "--ivshmem-server", "/tmp/x", "--shm-size", "4M",
		  "--vectors", "0", NULL },
		{ "--ivshmem-server", "/tmp/x", "--shm-size", "4M",
		  "--server-only", "--upstream-only", NULL },
		{ "--ivshmem-client", "/tmp/x", "--shm-size", "4M", NULL },
		{ "--plain", "/tmp/x", "--fd", "3", NULL },
		{ "--fd", "3", "--upstream-only", NULL },
		{ "--plain", "/tmp/x", "--poll-us", "0", NULL },
	};
	unsigned int i;
	pid_t pid;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid = spawn_devsim(bad[i]);
		ASSERT_LT(0, pid);
		EXPECT_EQ(2, dc_wait_exit(pid, 30)) TH_LOG("case %u", i);
	}
	/* A client with no server: exit 1 after saying why. */
	pid = spawn_devsim((const char *const[]){ "--ivshmem-client",
						   self->sock, "--quiet",
						   NULL });
	EXPECT_EQ(1, dc_wait_exit(pid, 30));
}

TEST_HARNESS_MAIN
