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
 *             host comes from the driver's poller.
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
};

FIXTURE_SETUP(stream)
{
	self->q.fd = -1;
	self->q.map = MAP_FAILED;
	self->seen = calloc(STREAM_TASKS, 1);
	ASSERT_NE(NULL, self->seen);
}

FIXTURE_TEARDOWN(stream)
{
	dq_destroy(&self->q);
	free(self->seen);
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
	__u64 sent = 0, got = 0, t0 = l3l2q_now_ns();
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
		ret = l3l2q_l3_dequeue(&q->l3, out, sizeof(out),
				       l3l2q_deadline_in(60 * SEC), &msg);
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

TEST_HARNESS_MAIN
