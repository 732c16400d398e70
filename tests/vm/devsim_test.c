// SPDX-License-Identifier: MIT
/*
 * l3l2q-devsim over the real driver, inside the VM: attach by inherited fd
 * and over a unix socket, out-of-order completion, a stream, the STOP drain,
 * an ERROR for a malformed task, and exit 3 when the L3 dies.  Every queue
 * is forced onto /dev/l3l2q.  devsim is the static build on PATH
 * (/usr/local/bin, from build/vm/bin).  Counts stay small: TCG is slow.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define DC_BACKEND	L3L2Q_BACKEND_DEVICE

#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "devsim_client.h"

FIXTURE(vmdev) {
	struct l3l2q_queue *q;
	struct l3l2q_l3 *l3;
	pid_t child;
	char dir[64];
	char sock[128];
	struct dc_stream s;
};

FIXTURE_SETUP(vmdev)
{
	self->child = -1;
	ASSERT_EQ(0, dc_tmpdir(self->dir, sizeof(self->dir), self->sock,
			       sizeof(self->sock)));
	self->q = dc_make_queue(DC_BACKEND, 64, 1 << 16);
	ASSERT_NE(NULL, self->q);
	ASSERT_EQ((int)L3L2Q_BACKEND_DEVICE, (int)l3l2q_queue_backend(self->q));
	self->l3 = l3l2q_queue_l3(self->q);
}

FIXTURE_TEARDOWN(vmdev)
{
	dc_cleanup(self->child, self->q, &self->s, self->sock, self->dir);
}

TEST_F_TIMEOUT(vmdev, inherited_fd_stream_random_sizes, 900)
{
	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 3000, 2000));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
}

TEST_F_TIMEOUT(vmdev, unix_socket_attach_streams, 900)
{
	int ls, c, fd;

	ls = dc_listen(self->sock);
	ASSERT_LE(0, ls);
	self->child = dc_spawn(-1, "--socket", self->sock, "--inflight", "8",
			       NULL, NULL);
	ASSERT_LT(0, self->child);
	c = accept(ls, NULL, NULL);
	ASSERT_LE(0, c);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, l3l2q_send_fd(c, fd));
	close(fd);
	close(c);
	close(ls);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 300, 1000));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_EQ(8ull, self->s.stats.window);
}

TEST_F_TIMEOUT(vmdev, completes_out_of_order_each_result_once, 900)
{
	self->child = dc_spawn_peer(self->q, 8, 8);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 8, 256));
	self->s.work = decreasing_work;
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_LT(0ull, dc_inversions(&self->s));
	EXPECT_LT(0ull, self->s.stats.out_of_order);
}

/* Everything answered before devsim exits 0: read only after its exit. */
TEST_F_TIMEOUT(vmdev, stop_drains_every_result_before_exit, 900)
{
	struct dc_stream *s = &self->s;
	int ret;

	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(s, self->l3, 40, 512));
	s->work = some_work;
	while (s->sent < s->count || !s->stop_sent) {
		ret = dc_send_step(s);
		ASSERT_LE(0, ret) TH_LOG("%s", s->fail);
		if (!ret)
			usleep(1000);
	}
	ASSERT_EQ(0, dc_wait_exit(self->child, 600));
	self->child = -1;
	while ((ret = dc_recv_step(s)) == 1)
		;
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", s->fail, strerror(-s->fail_ret));
	EXPECT_EQ(40ull, s->got);
	EXPECT_EQ(0ull, s->wrong);
	EXPECT_EQ(0ull, s->dup);
	EXPECT_EQ(1, s->stats_seen);
	EXPECT_EQ(40ull, s->stats.tasks);
}

TEST_F_TIMEOUT(vmdev, malformed_task_gets_error_later_tasks_succeed, 900)
{
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC, .version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_TASK, .op = 42, .id = 77,
		.payload_bytes = 8,
	};
	unsigned char buf[L3L2Q_TASK_HDR_BYTES + 8];
	struct l3l2q_task_hdr r;
	struct l3l2q_msg m;

	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	memset(buf, 'a', sizeof(buf));
	l3l2q_task_store(buf, &h);
	ASSERT_EQ(0, l3l2q_l3_enqueue(self->l3, L3L2Q_OP_DATA, buf, sizeof(buf),
				      l3l2q_deadline_in(300 * SEC)));
	ASSERT_EQ(0, l3l2q_l3_peek(self->l3, l3l2q_deadline_in(300 * SEC), &m));
	EXPECT_EQ(L3L2Q_OP_ERROR, m.opcode);
	ASSERT_LE(L3L2Q_TASK_HDR_BYTES, m.nbytes);
	l3l2q_task_load(&r, m.data);
	EXPECT_EQ(77ull, r.id);
	EXPECT_EQ(L3L2Q_TASK_KIND_ERROR, r.kind);
	EXPECT_EQ(0, strncmp((const char *)m.data + L3L2Q_TASK_HDR_BYTES,
			     "op: ", 4));
	ASSERT_EQ(0, l3l2q_l3_release(self->l3, &m));
	/* Too short for a header: still an ERROR, and devsim goes on. */
	ASSERT_EQ(0, l3l2q_l3_enqueue(self->l3, L3L2Q_OP_DATA, buf, 5,
				      l3l2q_deadline_in(300 * SEC)));
	ASSERT_EQ(0, l3l2q_l3_peek(self->l3, l3l2q_deadline_in(300 * SEC), &m));
	EXPECT_EQ(L3L2Q_OP_ERROR, m.opcode);
	ASSERT_LE(L3L2Q_TASK_HDR_BYTES, m.nbytes);
	EXPECT_EQ(0, strncmp((const char *)m.data + L3L2Q_TASK_HDR_BYTES,
			     "payload: ", 9));
	ASSERT_EQ(0, l3l2q_l3_release(self->l3, &m));
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 200, 300));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_EQ(2ull, self->s.stats.errors);
}

TEST_F_TIMEOUT(vmdev, exits_3_when_l3_destroys_the_queue, 900)
{
	struct dc_stream *s = &self->s;

	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(s, self->l3, 50, 200));
	s->send_stop = 0;
	ASSERT_EQ(0, dc_stream_run(s, l3l2q_deadline_in(100 * SEC)))
		TH_LOG("%s", s->fail);
	l3l2q_destroy(self->q);
	self->q = NULL;
	EXPECT_EQ(3, dc_wait_exit(self->child, 600));
	self->child = -1;
}

/* The driver sees the L3 process die (SIGKILL) and tells devsim. */
TEST_F_TIMEOUT(vmdev, exits_3_when_l3_is_killed, 900)
{
	int pfd[2], status;
	pid_t mid, dev = -1;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	mid = fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		struct l3l2q_queue *q = dc_make_queue(DC_BACKEND, 16, 4096);
		struct dc_stream s;

		if (!q)
			_exit(10);
		dev = dc_spawn_peer(q, 4, 2);
		if (dev < 0 || write(pfd[1], &dev, sizeof(dev)) != sizeof(dev))
			_exit(11);
		if (dc_stream_init(&s, l3l2q_queue_l3(q), 10, 100))
			_exit(12);
		s.send_stop = 0;
		if (dc_stream_run(&s, l3l2q_deadline_in(60 * SEC)))
			_exit(13);
		raise(SIGKILL);
	}
	close(pfd[1]);
	ASSERT_EQ((ssize_t)sizeof(dev), read(pfd[0], &dev, sizeof(dev)));
	close(pfd[0]);
	self->child = dev;
	ASSERT_EQ(mid, waitpid(mid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("status %d", status);
	EXPECT_EQ(3, dc_wait_exit(dev, 600));
	self->child = -1;
}

/* The demo over the driver, small (make demo runs the full one). */
TEST_F_TIMEOUT(vmdev, demo_runs_clean_over_driver, 900)
{
	EXPECT_EQ(0, dc_run_demo("device", "5000", 800));
}

TEST_HARNESS_MAIN
