// SPDX-License-Identifier: MIT
/*
 * devstream_test - 10^5 tasks each way between an L3 process in the VM and
 * l3l2q-devsim, the device on the host (tools/vm/run.sh), through the
 * queue's region in the device's memory (/dev/l3l2q<N>), every byte of
 * every result checked and every task answered exactly once:
 *
 *   doorbell  ivshmem-doorbell, a device that kicks: the host rings its
 *             doorbell, it interrupts the host (MSI-X); the poller never
 *             runs for the region;
 *   plain     ivshmem-plain: no interrupts either way, every wake-up of the
 *             host comes from the driver's poller;
 *   upstream_only
 *             ivshmem-plain served by device code written for the
 *             upstream ABI alone (l3l2q-devsim --upstream-only: it never
 *             touches the control block, so the host has no word from it
 *             at all): the blocking host still streams, woken by the
 *             poller, with no hang.  (The plain device is the one
 *             restarted: each restart of the doorbell device is a new
 *             ivshmem peer in QEMU, and QEMU 7.2 once segfaulted in the
 *             later device_del of unplug_test after more of them.)
 *
 * Fixed work; the only clock is the blocking calls' generous deadline,
 * reaching which is the failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "device_helpers.h"

#define STREAM_TASKS	100000ull

FIXTURE(stream) {
	struct ivs d;
	struct dq q;
	unsigned char *seen;		/* one byte per task id */
	__u64 *waits;			/* each result's dequeue, in ns */
};

FIXTURE_SETUP(stream)
{
	self->q.fd = -1;
	self->q.map = MAP_FAILED;
	self->seen = calloc(STREAM_TASKS, 1);
	self->waits = calloc(STREAM_TASKS, sizeof(*self->waits));
	ASSERT_NE(NULL, self->seen);
	ASSERT_NE(NULL, self->waits);
}

FIXTURE_TEARDOWN(stream)
{
	dq_destroy(&self->q);
	free(self->seen);
	free(self->waits);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Wait until the host has seen the device's heartbeat move. */
static int wait_live(const struct ivs *d)
{
	unsigned int i;

	for (i = 0; i < 120000; i += 10) {
		if (ivs_num(d, "live") == 1)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/*
 * Send while there is room, sleep for a result when there is not; check
 * each result's bytes, and that each task comes back once.
 */
static void stream_tasks(struct __test_metadata *_metadata,
			 FIXTURE_DATA(stream) *self, __u64 count)
{
	static unsigned char out[L3L2Q_TASK_HDR_BYTES + TASK_MAX];
	struct dq *q = &self->q;
	__u64 sent = 0, got = 0, t0 = l3l2q_now_ns(), w0;
	struct l3l2q_stats st;
	struct l3l2q_msg msg;
	const char *why;
	long long id;
	int ret;

	while (got < count) {
		if (sent < count) {
			ret = task_try_put(q, sent);
			if (!ret) {
				sent++;
				continue;
			}
			ASSERT_EQ(-EAGAIN, ret);
		}
		w0 = l3l2q_now_ns();
		ret = l3l2q_l3_dequeue(&q->l3, out, sizeof(out),
				       l3l2q_deadline_in(60 * SEC), &msg);
		self->waits[got] = l3l2q_now_ns() - w0;
		ASSERT_EQ(0, ret) TH_LOG("result %llu: %s", got,
					 l3l2q_ep_last_error(&q->l3.ep)->message);
		id = task_check(out, msg.nbytes, msg.opcode, &why);
		ASSERT_LE(0, id) TH_LOG("result %llu: %s", got, why);
		ASSERT_GT((long long)sent, id);
		ASSERT_EQ(0, self->seen[id]) TH_LOG("task %lld came back twice", id);
		self->seen[id] = 1;
		got++;
	}
	ASSERT_EQ(0, l3l2q_ep_stats(&q->l3.ep, &st));
	qsort(self->waits, count, sizeof(*self->waits), cmp_u64);
	TH_LOG("blocking dequeue wait p50 %llu us, p99 %llu us, max %llu us (TCG: information only)",
	       self->waits[count / 2] / 1000, self->waits[count * 99 / 100] / 1000,
	       self->waits[count - 1] / 1000);
	TH_LOG("%llu tasks each way in %llu ms; poller %lld wakes in %lld ticks; L3 kicks %llu, sleeps %llu; device: doorbells %lld, interrupts %lld",
	       got, (l3l2q_now_ns() - t0) / MS, dbg_num(q->id, "poller_wakes"),
	       dbg_num(q->id, "poller_ticks"),
	       (unsigned long long)st.kicks,
	       (unsigned long long)st.sleeps,
	       ivs_num(&self->d, "doorbells"), ivs_irqs(&self->d));
}

/* ivshmem-doorbell: doorbell and MSI-X carry every wake-up. */
TEST_F_TIMEOUT(stream, doorbell, 1200)
{
	long long bells, irqs;

	ASSERT_EQ(0, ivs_find(&self->d, 1, NULL))
		TH_LOG("no ivshmem-doorbell device bound: does the VM have one (tools/vm/run.sh)?");
	ASSERT_EQ(0, wait_live(&self->d)) TH_LOG("the device never beat");
	bells = ivs_num(&self->d, "doorbells");
	irqs = ivs_irqs(&self->d);
	ASSERT_EQ(0, dq_create(&self->q, self->d.node, 64, 1 << 16, 1 << 16));
	stream_tasks(_metadata, self, STREAM_TASKS);
	EXPECT_EQ(L3L2Q_FEAT_KICKS,
		  dq_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES) & L3L2Q_FEAT_KICKS);
	/* Only until the device attached (then its word says it kicks). */
	EXPECT_GE(10, dbg_num(self->q.id, "poller_wakes"));
	EXPECT_LT(bells, ivs_num(&self->d, "doorbells"));
	EXPECT_LT(irqs, ivs_irqs(&self->d));
}

/* ivshmem-plain: the device cannot kick; the poller wakes the host. */
TEST_F_TIMEOUT(stream, plain, 1200)
{
	ASSERT_EQ(0, ivs_find(&self->d, 0, NULL))
		TH_LOG("no ivshmem-plain device bound: does the VM have one (tools/vm/run.sh)?");
	ASSERT_EQ(0, wait_live(&self->d)) TH_LOG("the device never beat");
	ASSERT_EQ(0, dq_create(&self->q, self->d.node, 64, 1 << 16, 1 << 16));
	stream_tasks(_metadata, self, STREAM_TASKS);
	EXPECT_LT(0, dbg_num(self->q.id, "poller_wakes"));
	EXPECT_EQ(0, ivs_irqs(&self->d));
}

/* Wait until the host has counted one more death of the device than @n. */
static int wait_death(const struct ivs *d, long long n)
{
	unsigned int i;

	for (i = 0; i < 120000; i += 10) {
		if (ivs_num(d, "deaths") > n)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/* Restart device 1 with @opts ("" for its default); wait until it beats. */
static int restart_device(const struct ivs *d, const char *opts, char *why,
			  size_t cap)
{
	long long deaths = ivs_num(d, "deaths");

	if (vmctl(why, cap, "kill-device 1") || wait_death(d, deaths) ||
	    vmctl(why, cap, "start-device 1%s", opts))
		return -1;
	return wait_live(d);
}

/*
 * Device code for the upstream ABI alone: no control block (its feature
 * word stays without L3L2Q_FEAT_KICKS), no kick, no interrupt.  The
 * device is put back as it was for the suites after this one.
 */
TEST_F_TIMEOUT(stream, upstream_only, 1800)
{
	char why[128] = "";
	int ret;

	ASSERT_EQ(0, ivs_find(&self->d, 0, NULL))
		TH_LOG("no ivshmem-plain device bound: does the VM have one (tools/vm/run.sh)?");
	ASSERT_EQ(0, wait_live(&self->d)) TH_LOG("the device never beat");
	ASSERT_EQ(0, restart_device(&self->d, " --upstream-only", why,
				    sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, dq_create(&self->q, self->d.node, 64, 1 << 16, 1 << 16));
	stream_tasks(_metadata, self, STREAM_TASKS);
	EXPECT_EQ(0u, dq_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES) &
		     L3L2Q_FEAT_KICKS);
	EXPECT_LT(0, dbg_num(self->q.id, "poller_wakes"));
	dq_destroy(&self->q);
	ret = restart_device(&self->d, "", why, sizeof(why));
	ASSERT_EQ(0, ret) TH_LOG("putting the device back: %s", why);
}

TEST_HARNESS_MAIN
