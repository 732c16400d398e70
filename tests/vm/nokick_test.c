// SPDX-License-Identifier: MIT
/*
 * nokick_test - a process L2 on /dev/l3l2q that never kicks (lib/core's L2
 * endpoint with env.kick = NULL: its feature word lacks L3L2Q_FEAT_KICKS),
 * and the driver's poller that wakes its L3 peer's sleepers instead
 * (kmod/l3l2q_poller.c, the decision rule in uapi/l3l2q.h):
 *
 *   - 5000 messages each way with the blocking calls, pipelined, every
 *     byte checked;
 *   - a blocked WAIT, epoll, a registered eventfd and an io_uring WAIT
 *     each woken for an answer nobody kicked for, and the poller going
 *     idle once nobody waits;
 *   - a peer that kicks (KICKS in its word) is never polled for;
 *   - a peer that poisons its endpoint (its abort flag) while the host
 *     sleeps is noticed then, not at the deadline.
 *
 * Waits take generous deadlines: reaching one is the failure.  How long a
 * wake-up took is logged (the poller promises poll_max_us plus timer
 * slack), never asserted: TCG's clock proves nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "device_helpers.h"

#define DEV_PATH	"/dev/l3l2q"
#define DEPTH		16ull
#define ARENA		8192ull

/* The L2 child's ways: echo and never kick; echo and kick; poison. */
enum nk_mode { NK_SILENT, NK_KICKS, NK_POISON };

FIXTURE(nk) {
	struct dq q;			/* the L3 side (lib/core) */
	int l2;
	pid_t child;
	int go[2];			/* parent -> child: one byte, go */
	int ready[2];			/* child -> parent: attached */
};

static __u64 nk_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

static int nk_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline)
{
	return vm_wait(*(int *)ctx, (__u16)counter, seen, deadline);
}

static void nk_kick(void *ctx)
{
	ioctl(*(int *)ctx, L3L2Q_IOC_KICK);
}

/*
 * The L2 child: lib/core's L2 endpoint on its own mapping of the L2 fd.
 * It sleeps in WAIT like any L2 (the L3 side kicks it), answers each input
 * with its bytes XORed, and kicks only in NK_KICKS.  NK_POISON raises its
 * abort flag on the go byte and then just lives on.
 */
static void nk_child(const struct dq *q, int l2, int go, int ready,
		     enum nk_mode mode)
{
	struct l3l2q_env env = { .now_ns = nk_now, .sleep = nk_sleep,
				 .ctx = &l2 };
	struct l3l2q_region_offsets off = q->args.off;
	static struct l3l2q_l2 ep;
	struct l3l2q_mem mem;
	struct l3l2q_msg msg;
	struct l3l2q_res res;
	unsigned char *out;
	const unsigned char *in;
	char c;
	__u64 k;
	void *m;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mode == NK_KICKS)
		env.kick = nk_kick;
	m = mmap(NULL, off.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		 l2, 0);
	if (m == MAP_FAILED)
		_exit(2);
	mem.ctrl = (char *)m + off.ctrl_offset;
	mem.counters = (char *)m + off.counter_offset;
	mem.payload = (char *)m + off.payload_offset;
	mem.region_id = q->id;
	if (l3l2q_l2_init(&ep, &mem, &q->layout, 0, 1, &env))
		_exit(3);
	/* Attached, its feature word written. */
	c = 1;
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		_exit(4);
	if (mode == NK_POISON) {
		__atomic_store_n((__s32 *)((char *)mem.counters +
					   L3L2Q_CTR_L2_ABORT), 1,
				 __ATOMIC_RELEASE);
		for (;;)
			pause();
	}
	for (;;) {
		if (l3l2q_l2_peek(&ep, L3L2Q_DEADLINE_NONE, &msg))
			_exit(5);
		if (msg.opcode == L3L2Q_OP_STOP) {
			l3l2q_l2_release(&ep, &msg);
			_exit(0);
		}
		if (l3l2q_l2_reserve(&ep, msg.nbytes, L3L2Q_DEADLINE_NONE,
				     &res))
			_exit(6);
		in = msg.data;
		out = res.data;
		for (k = 0; k < msg.nbytes; k++)
			out[k] = in[k] ^ STANDIN_XOR;
		if (l3l2q_l2_publish(&ep, &res, msg.opcode) ||
		    l3l2q_l2_release(&ep, &msg))
			_exit(7);
	}
}

/* CREATE on /dev/l3l2q, PEER, and an L2 child in @mode, attached. */
static int nk_start(FIXTURE_DATA(nk) *self, enum nk_mode mode)
{
	struct l3l2q_peer_args p;

	if (dq_create(&self->q, DEV_PATH, DEPTH, ARENA, ARENA))
		return -1;
	memset(&p, 0, sizeof(p));
	if (ioctl(self->q.fd, L3L2Q_IOC_PEER, &p))
		return -1;
	self->l2 = p.fd;
	if (pipe(self->go) || pipe(self->ready))
		return -1;
	self->child = fork();
	if (self->child < 0)
		return -1;
	if (self->child == 0) {
		close(self->go[1]);
		close(self->ready[0]);
		close(self->q.fd);
		nk_child(&self->q, self->l2, self->go[0], self->ready[1], mode);
	}
	close(self->go[0]);
	close(self->ready[1]);
	close(self->l2);
	self->l2 = -1;
	return 0;
}

/* Wait for the child to be attached, then let it go on. */
static void nk_go(FIXTURE_DATA(nk) *self)
{
	char c = 1;

	if (read(self->ready[0], &c, 1) != 1)
		return;
	if (write(self->go[1], &c, 1) != 1)
		return;
}

FIXTURE_SETUP(nk)
{
	self->q.fd = -1;
	self->q.map = MAP_FAILED;
	self->l2 = -1;
	self->child = -1;
	self->go[1] = -1;
	self->ready[0] = -1;
	ASSERT_EQ(0, ensure_debugfs());
	ASSERT_EQ(0, access(DEV_PATH, F_OK)) TH_LOG("is l3l2q.ko loaded?");
}

FIXTURE_TEARDOWN(nk)
{
	int status;

	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, &status, 0);
	}
	if (self->go[1] >= 0)
		close(self->go[1]);
	if (self->ready[0] >= 0)
		close(self->ready[0]);
	dq_destroy(&self->q);
}

/* One message through the child and back, checked; 0 or -errno. */
static int nk_roundtrip(struct dq *q, __u64 i, __u64 max)
{
	unsigned char in[1024], out[1024];
	struct l3l2q_msg msg;
	__u64 n = msg_len(i, max), k;
	int ret;

	for (k = 0; k < n; k++)
		in[k] = msg_byte(i, k);
	ret = l3l2q_l3_enqueue(&q->l3, L3L2Q_OP_DATA, in, n,
			       l3l2q_deadline_in(60 * SEC));
	if (ret)
		return ret;
	ret = l3l2q_l3_dequeue(&q->l3, out, sizeof(out),
			       l3l2q_deadline_in(60 * SEC), &msg);
	if (ret)
		return ret;
	if (msg.nbytes != n)
		return -EBADMSG;
	for (k = 0; k < n; k++)
		if (out[k] != (in[k] ^ STANDIN_XOR))
			return -EBADMSG;
	return 0;
}

#define NK_MSGS		5000ull
#define NK_MAX		1024ull

/*
 * 5000 messages each way with the blocking calls, pipelined (send while
 * there is room, sleep for an answer when not): no hang, every byte right,
 * whether the library's own bounded polling or the driver's poller ended
 * each wait.
 */
TEST_F_TIMEOUT(nk, stream_blocking, 600)
{
	static unsigned char in[NK_MAX], out[NK_MAX];
	__u64 sent = 0, got = 0, n, k, t0;
	struct l3l2q_msg msg;
	int ret;

	ASSERT_EQ(0, nk_start(self, NK_SILENT));
	nk_go(self);
	EXPECT_EQ(0u, dq_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES));
	EXPECT_EQ(L3L2Q_FEAT_KICKS, dq_ctrl(&self->q, L3L2Q_CTRL_L3_FEATURES));
	t0 = l3l2q_now_ns();
	while (got < NK_MSGS) {
		if (sent < NK_MSGS) {
			n = msg_len(sent, NK_MAX);
			for (k = 0; k < n; k++)
				in[k] = msg_byte(sent, k);
			ret = l3l2q_l3_try_enqueue(&self->q.l3, L3L2Q_OP_DATA,
						   in, n);
			if (!ret) {
				sent++;
				continue;
			}
			ASSERT_EQ(-EAGAIN, ret);
		}
		ret = l3l2q_l3_dequeue(&self->q.l3, out, sizeof(out),
				       l3l2q_deadline_in(60 * SEC), &msg);
		ASSERT_EQ(0, ret) TH_LOG("answer %llu: %s", got,
					 l3l2q_ep_last_error(&self->q.l3.ep)->message);
		n = msg_len(got, NK_MAX);
		ASSERT_EQ(n, msg.nbytes);
		for (k = 0; k < n; k++)
			ASSERT_EQ(msg_byte(got, k) ^ STANDIN_XOR, out[k]);
		got++;
	}
	TH_LOG("%llu messages each way in %llu ms; poller: %lld wakes in %lld ticks",
	       got, (l3l2q_now_ns() - t0) / MS,
	       dbg_num(self->q.id, "poller_wakes"),
	       dbg_num(self->q.id, "poller_ticks"));
	/*
	 * Who woke the blocking calls is not a verdict: the library polls a
	 * peer without L3L2Q_FEAT_KICKS in bounded steps of its own, and on a
	 * fast run it never sleeps in WAIT at all, so the driver's poller may
	 * have had nothing to do (each_sleeper_woken tests the poller).
	 */
}


/*
 * Each kind of sleeper, registered before its input goes out, is woken
 * for the answer the child never kicks for - by the poller.
 */
TEST_F_TIMEOUT(nk, each_sleeper_woken, 300)
{
	unsigned char buf[64];
	struct armed_sleeper a;
	struct io_uring ring;
	unsigned long max_us;
	const char *why;
	long long wakes;
	int via, res;
	__s32 seen;
	char st[16];
	__u64 t0;

	ASSERT_EQ(0, read_param("poll_max_us", &max_us));
	ASSERT_EQ(0, nk_start(self, NK_SILENT));
	nk_go(self);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	for (via = 0; via < VIA_COUNT; via++) {
		wakes = dbg_num(self->q.id, "poller_wakes");
		seen = dq_ctr(&self->q, L3L2Q_CTR_OUTPUT_TAIL);
		why = sleeper_arm(&a, via, self->q.fd, seen, &ring);
		ASSERT_EQ(NULL, why) TH_LOG("%s: %s", via_str(via), why);
		memset(buf, via, sizeof(buf));
		t0 = l3l2q_now_ns();
		/* The enqueue kicks the child, which answers silently. */
		ASSERT_EQ(0, l3l2q_l3_enqueue(&self->q.l3, L3L2Q_OP_DATA, buf,
					      sizeof(buf),
					      l3l2q_deadline_in(60 * SEC)));
		why = sleeper_woken(&a);
		EXPECT_EQ(NULL, why) TH_LOG("%s: %s", via_str(via), why);
		TH_LOG("%s woken %llu us after the input (poll_max_us %lu)",
		       via_str(via), (l3l2q_now_ns() - t0) / 1000, max_us);
		EXPECT_NE(seen, dq_ctr(&self->q, L3L2Q_CTR_OUTPUT_TAIL));
		EXPECT_LT(wakes, dbg_num(self->q.id, "poller_wakes"))
			TH_LOG("%s was not woken by the poller", via_str(via));
		ASSERT_EQ(0, l3l2q_l3_dequeue(&self->q.l3, buf, sizeof(buf),
					      l3l2q_deadline_in(60 * SEC),
					      NULL));
		EXPECT_EQ(via ^ STANDIN_XOR, buf[0]);
	}
	io_uring_queue_exit(&ring);
	/* Nobody waits any more: the poller stops. */
	for (res = 0; res < 10000; res += 10) {
		if (!dbg_str(self->q.id, "poller", st, sizeof(st)) &&
		    !strcmp(st, "idle"))
			break;
		sleep_ms(10);
	}
	EXPECT_LT(res, 10000);
}

/* A peer that says it kicks is never polled for: no tick at all. */
TEST_F_TIMEOUT(nk, kicking_peer_not_polled, 300)
{
	struct epoll_event ev = { .events = EPOLLIN };
	__u64 i;
	int ep;

	ASSERT_EQ(0, nk_start(self, NK_KICKS));
	nk_go(self);
	EXPECT_EQ(L3L2Q_FEAT_KICKS, dq_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->q.fd, &ev));
	for (i = 0; i < 1000; i++)
		ASSERT_EQ(0, nk_roundtrip(&self->q, i, 256));
	EXPECT_EQ(0, dbg_num(self->q.id, "poller_ticks"));
	EXPECT_EQ(0, dbg_num(self->q.id, "poller_wakes"));
	close(ep);
}

/*
 * The child raises its abort flag and lives on: the host's blocking call
 * ends with ECONNRESET long before its deadline, and poll says HUP|ERR.
 */
TEST_F_TIMEOUT(nk, peer_poison_ends_wait, 120)
{
	unsigned char buf[16];
	struct pollfd pfd;
	__u64 t0;

	ASSERT_EQ(0, nk_start(self, NK_POISON));
	t0 = l3l2q_now_ns();
	nk_go(self);
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_dequeue(&self->q.l3, buf, sizeof(buf),
						l3l2q_deadline_in(60 * SEC),
						NULL));
	TH_LOG("told %llu ms after the go", (l3l2q_now_ns() - t0) / MS);
	EXPECT_EQ(1, dq_ctr(&self->q, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(-ECONNRESET, vm_wait(self->q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				       dq_ctr(&self->q, L3L2Q_CTR_OUTPUT_TAIL),
				       l3l2q_now_ns() + 60 * SEC));
	pfd.fd = self->q.fd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, pfd.revents & (POLLHUP | POLLERR));
}

TEST_HARNESS_MAIN
