// SPDX-License-Identifier: MIT
/*
 * Streaming through the user-space queue: counter wrap, two processes in
 * both directions at once, fd passing, and what a dead peer does to a wait.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "helpers.h"
#include "libl3l2q.h"
#include "streamer.h"


static __s32 counter(struct l3l2q_queue *q, unsigned int off)
{
	return *(volatile __s32 *)((char *)l3l2q_queue_mem(q)->counters + off);
}

/*
 * Counter wrap: positions start just below 2^31 and 2^32, so the int32
 * counters cross the sign boundary and the u32 wrap mid-stream (P21).  One
 * process drives both endpoints of a real memfd queue, interleaved.
 */
FIXTURE(wrap) {
	struct l3l2q_queue *l3q, *l2q;
};

FIXTURE_VARIANT(wrap) {
	__u64 start;
};

FIXTURE_VARIANT_ADD(wrap, below_2_31) { .start = (1ull << 31) - 1000 };
FIXTURE_VARIANT_ADD(wrap, below_2_32) { .start = (1ull << 32) - 1000 };

FIXTURE_SETUP(wrap)
{
	int fd;

	self->l3q = stream_create(L3L2Q_BACKEND_MEMFD, 8, 1024, 512,
				  variant->start);
	ASSERT_NE(NULL, self->l3q);
	fd = l3l2q_peer_fd(self->l3q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, l3l2q_attach(fd, NULL, &self->l2q, NULL));
	close(fd);
}

FIXTURE_TEARDOWN(wrap)
{
	l3l2q_destroy(self->l2q);
	l3l2q_destroy(self->l3q);
}

TEST_F_TIMEOUT(wrap, stream_1e5_each_way_across_counter_wrap, 120)
{
	struct streamer s = {
		.l3 = l3l2q_queue_l3(self->l3q),
		.l2 = l3l2q_queue_l2(self->l2q),
		.total = th_work(100000),
		.in_max = 1024,
		.out_max = 512,
	};
	__u64 end = variant->start + s.total;
	int moved;

	s.buf = malloc(1024);
	ASSERT_NE(NULL, s.buf);
	ASSERT_EQ(variant->start, s.l3->in.tail);
	while (!(l3_done(&s) && l2_done(&s))) {
		moved = l3_send_step(&s);
		ASSERT_LE(0, moved) TH_LOG("%s at %llu", s.fail,
					   (unsigned long long)s.fail_at);
		moved |= l2_recv_step(&s);
		ASSERT_LE(0, moved) TH_LOG("%s at %llu", s.fail,
					   (unsigned long long)s.fail_at);
		moved |= l2_send_step(&s);
		ASSERT_LE(0, moved) TH_LOG("%s at %llu", s.fail,
					   (unsigned long long)s.fail_at);
		moved |= l3_recv_step(&s);
		ASSERT_LE(0, moved) TH_LOG("%s at %llu", s.fail,
					   (unsigned long long)s.fail_at);
		/* One thread drives both: a round without a step is a hang. */
		ASSERT_NE(0, moved);
	}
	free(s.buf);
	/* STOP took one more input position. */
	EXPECT_EQ(l3l2q_low32(end + 1), counter(self->l3q, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(l3l2q_low32(end + 1), counter(self->l3q, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(l3l2q_low32(end), counter(self->l3q, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(l3l2q_low32(end), counter(self->l3q, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, counter(self->l3q, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(0, counter(self->l3q, L3L2Q_CTR_L2_ABORT));
	/* The u64 positions really did cross the boundary. */
	EXPECT_EQ(end + 1, s.l3->in.tail);
	EXPECT_EQ(end, s.l3->out.head);
}

/*
 * Two processes stream 10^6 messages of random sizes, 0 to the whole
 * arena, in both directions at once; each receiver checks content and
 * order.  The child inherits the L2 fd across fork.
 */
#define FORK_MSGS	1000000ull
#define FORK_ARENA	2048ull


/* A fixture only for the per-test timeouts and a queue to tear down. */
FIXTURE(proc) {
	struct l3l2q_queue *q;
	pid_t child;
};

FIXTURE_SETUP(proc)
{
	self->q = NULL;
	self->child = -1;
}

FIXTURE_TEARDOWN(proc)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	l3l2q_destroy(self->q);
}


TEST_F_TIMEOUT(proc, fork_stream_1e6_random_sizes_both_directions, 900)
{
	struct streamer s = { .total = th_work(FORK_MSGS), .in_max = FORK_ARENA,
			      .out_max = FORK_ARENA };
	int fd;

	self->q = stream_create(L3L2Q_BACKEND_MEMFD, 64, FORK_ARENA, FORK_ARENA, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(stream_child_l2(fd, th_work(FORK_MSGS), FORK_ARENA,
					     L3L2Q_BACKEND_AUTO,
					     l3l2q_deadline_in(250ull * 1000000000ull)));
	close(fd);
	s.l3 = l3l2q_queue_l3(self->q);
	s.buf = malloc(FORK_ARENA);
	ASSERT_NE(NULL, s.buf);
	ASSERT_EQ(0, run_l3(&s, l3l2q_deadline_in(250ull * 1000000000ull)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, th_wait_child(self->child));
	self->child = -1;
	EXPECT_EQ(s.total, s.got_out);
	EXPECT_EQ(l3l2q_low32(s.total + 1),
		  counter(self->q, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, counter(self->q, L3L2Q_CTR_L2_ABORT));
}

/* The L2 role travels over a unix socket instead of fork inheritance. */
TEST_F_TIMEOUT(proc, fd_passed_over_unix_socket_streams, 300)
{
	struct streamer s = { .total = 10000, .in_max = 256, .out_max = 256 };
	int sv[2], fd;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(sv[0]);
		fd = l3l2q_recv_fd(sv[1]);
		_exit(fd < 0 ? 12 :
		      stream_child_l2(fd, 10000, 256, L3L2Q_BACKEND_AUTO,
				      l3l2q_deadline_in(250ull * 1000000000ull)));
	}
	close(sv[1]);
	self->q = stream_create(L3L2Q_BACKEND_MEMFD, 16, 256, 256, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, l3l2q_send_fd(sv[0], fd));
	close(fd);
	close(sv[0]);
	s.l3 = l3l2q_queue_l3(self->q);
	s.buf = malloc(256);
	ASSERT_NE(NULL, s.buf);
	ASSERT_EQ(0, run_l3(&s, l3l2q_deadline_in(50ull * 1000000000ull)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, th_wait_child(self->child));
	self->child = -1;
}

/* Only one L2 per queue, across processes too (P15). */
TEST_F(proc, second_attach_from_another_process_is_ebusy)
{
	struct l3l2q_queue *l2 = NULL;
	int fd;

	self->q = stream_create(L3L2Q_BACKEND_MEMFD, 4, 128, 128, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBUSY, l3l2q_peer_fd(self->q));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		if (l3l2q_attach(fd, NULL, &l2, NULL))
			_exit(1);
		_exit(0);	/* exits attached: no destroy */
	}
	ASSERT_EQ(0, th_wait_child(self->child));
	self->child = -1;
	EXPECT_EQ(-EBUSY, l3l2q_attach(fd, NULL, &l2, NULL));
	EXPECT_EQ(NULL, l2);
	close(fd);
}

/*
 * A peer that goes away ends a blocking wait with -ECONNRESET, long before
 * its deadline, and every message it published first is still delivered.
 */
TEST_F_TIMEOUT(proc, peer_close_delivers_published_then_connreset, 120)
{
	struct l3l2q_queue *l2q = NULL;
	struct l3l2q_msg m;
	unsigned char buf[16];
	int fd, i;

	self->q = stream_create(L3L2Q_BACKEND_MEMFD, 8, 256, 256, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		struct l3l2q_l2 *l2;

		if (l3l2q_attach(fd, NULL, &l2q, NULL))
			_exit(1);
		l2 = l3l2q_queue_l2(l2q);
		for (i = 0; i < 3; i++) {
			unsigned char b = (unsigned char)i;
			struct l3l2q_res r;

			if (l3l2q_l2_try_reserve(l2, 1, &r))
				_exit(2);
			memcpy(r.data, &b, 1);
			if (l3l2q_l2_publish(l2, &r, L3L2Q_OP_DATA))
				_exit(3);
		}
		l3l2q_destroy(l2q);
		_exit(0);
	}
	close(fd);
	ASSERT_EQ(0, th_wait_child(self->child));
	self->child = -1;
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l3_dequeue(l3l2q_queue_l3(self->q), buf,
					      sizeof(buf),
					      l3l2q_deadline_in(1000000000ull),
					      &m));
		EXPECT_EQ(1ull, m.nbytes);
		EXPECT_EQ((unsigned char)i, buf[0]);
	}
	/* No deadline: only noticing the death can end it (watchdog). */
	EXPECT_EQ(-ECONNRESET,
		  l3l2q_l3_peek(l3l2q_queue_l3(self->q), L3L2Q_DEADLINE_NONE,
				&m));
	EXPECT_EQ((__u32)L3L2Q_ERR_REMOTE_ABORTED,
		  l3l2q_ep_error(&l3l2q_queue_l3(self->q)->ep)->kind);
	/* Our own abort flag stays down: this was not our failure. */
	EXPECT_EQ(0, counter(self->q, L3L2Q_CTR_L3_ABORT));
}

TEST_HARNESS_MAIN
