// SPDX-License-Identifier: GPL-2.0
/*
 * devstream_test - 10^5 messages each way between an L3 process and a
 * device through /dev/l3l2q<N>, every byte of every answer checked.
 *
 * On ivshmem-plain the device (the in-guest stand-in of device_helpers.h)
 * never kicks - it has no interrupt to raise - so every wake-up of the
 * host comes from the driver's poller, which debugfs counts.
 *
 * Fixed work; the only clock is the blocking calls' generous deadline,
 * reaching which is the failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "device_helpers.h"

#define STREAM_MSGS	100000ull
#define STREAM_MAX	512ull

/*
 * Send while there is room, sleep for an answer when there is not; check
 * each answer's length and bytes (the device XORs them).
 */
static void stream_checked(struct __test_metadata *_metadata, struct dq *q,
			   __u64 count)
{
	static unsigned char in[STREAM_MAX], out[STREAM_MAX];
	__u64 sent = 0, got = 0, k, n, t0 = l3l2q_now_ns();
	struct l3l2q_msg msg;
	int ret;

	while (got < count) {
		if (sent < count) {
			n = msg_len(sent, STREAM_MAX);
			for (k = 0; k < n; k++)
				in[k] = msg_byte(sent, k);
			ret = l3l2q_l3_try_enqueue(&q->l3, L3L2Q_OP_DATA, in, n);
			if (!ret) {
				sent++;
				continue;
			}
			ASSERT_EQ(-EAGAIN, ret);
		}
		ret = l3l2q_l3_dequeue(&q->l3, out, sizeof(out),
				       l3l2q_deadline_in(60 * SEC), &msg);
		ASSERT_EQ(0, ret) TH_LOG("answer %llu: %s", got,
					 l3l2q_ep_last_error(&q->l3.ep)->message);
		n = msg_len(got, STREAM_MAX);
		ASSERT_EQ(n, msg.nbytes);
		ASSERT_EQ(L3L2Q_OP_DATA, msg.opcode);
		for (k = 0; k < n; k++)
			ASSERT_EQ(msg_byte(got, k) ^ STANDIN_XOR, out[k]);
		got++;
	}
	TH_LOG("%llu messages each way in %llu ms; poller: %lld wakes in %lld ticks; %llu kicks, %llu sleeps",
	       got, (l3l2q_now_ns() - t0) / MS, dbg_num(q->id, "poller_wakes"),
	       dbg_num(q->id, "poller_ticks"),
	       (unsigned long long)l3l2q_ep_stats(&q->l3.ep)->kicks,
	       (unsigned long long)l3l2q_ep_stats(&q->l3.ep)->sleeps);
}

FIXTURE(stream) {
	struct ivs d;
	struct dq q;
	pid_t pid;
};

FIXTURE_SETUP(stream)
{
	self->pid = -1;
	self->q.fd = -1;
	self->q.map = MAP_FAILED;
}

FIXTURE_TEARDOWN(stream)
{
	int status;

	dq_destroy(&self->q);
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, &status, 0);
	}
}

/* ivshmem-plain: the device never kicks; the poller wakes the host. */
TEST_F_TIMEOUT(stream, plain_through_poller, 1200)
{
	struct standin_opts o = { .peer_id = 7, .beat = 1, .serve = 1 };

	ASSERT_EQ(0, ivs_find(&self->d, 0, NULL))
		TH_LOG("no ivshmem-plain device bound to l3l2q: does the VM have one (tools/vm/run.sh)?");
	self->pid = standin_start_live(&self->d, &o);
	ASSERT_GT(self->pid, 0);
	ASSERT_EQ(0, dq_create(&self->q, self->d.node, 64, 1 << 16, 1 << 16));
	stream_checked(_metadata, &self->q, STREAM_MSGS);
	EXPECT_LT(0, dbg_num(self->q.id, "poller_wakes"));
	EXPECT_EQ(0u, dq_ctrl(&self->q, L3L2Q_CTRL_L2_FEATURES));
}

TEST_HARNESS_MAIN
