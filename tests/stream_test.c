// SPDX-License-Identifier: MIT
/*
 * Streaming through the user-space queue: counter wrap, two processes in
 * both directions at once, fd passing, and what a dead peer does to a wait.
 *
 * Every message i of a direction has a size and contents derived from i, so
 * the receiver checks content and order without sharing any other state.
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
#include "libl3l2q.h"

static __u64 mix(__u64 x)
{
	/* splitmix64: cheap, and every bit depends on every input bit */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Size of message @i of stream @dir, uniform in [0, max]. */
static __u64 msg_size(__u64 dir, __u64 i, __u64 max)
{
	return mix(dir << 56 ^ i) % (max + 1);
}

static void msg_fill(__u64 dir, __u64 i, unsigned char *p, __u64 n)
{
	__u64 w = 0, j;

	for (j = 0; j < n; j++) {
		if (j % 8 == 0)
			w = mix(dir << 60 ^ i << 20 ^ j);
		p[j] = (unsigned char)(w >> (8 * (j % 8)));
	}
}

/* 0 if p[0..n) is message i of stream dir. */
static int msg_check(__u64 dir, __u64 i, const unsigned char *p, __u64 n)
{
	__u64 w = 0, j;

	for (j = 0; j < n; j++) {
		if (j % 8 == 0)
			w = mix(dir << 60 ^ i << 20 ^ j);
		if (p[j] != (unsigned char)(w >> (8 * (j % 8))))
			return -1;
	}
	return 0;
}

enum { DIR_IN = 1, DIR_OUT = 2 };

struct streamer {
	struct l3l2q_l3 *l3;
	struct l3l2q_l2 *l2;
	__u64 total;			/* messages per direction */
	__u64 in_max, out_max;		/* largest payload per direction */
	__u64 sent_in, got_in, sent_out, got_out;
	int stop_sent, stop_seen;
	unsigned char *buf;		/* scratch, >= max(in_max, out_max) */
	const char *fail;		/* first failure, for the report */
	__u64 fail_at;
};

static int failed(struct streamer *s, const char *why, __u64 at)
{
	if (!s->fail) {
		s->fail = why;
		s->fail_at = at;
	}
	return -1;
}

/* L3: one try at sending the next input, or STOP after the last. */
static int l3_send_step(struct streamer *s)
{
	__u64 n;
	int ret;

	if (s->sent_in == s->total) {
		if (s->stop_sent)
			return 0;
		ret = l3l2q_l3_try_request_stop(s->l3);
		if (ret == -EAGAIN)
			return 0;
		if (ret)
			return failed(s, "request_stop", (__u64)-ret);
		s->stop_sent = 1;
		return 1;
	}
	n = msg_size(DIR_IN, s->sent_in, s->in_max);
	msg_fill(DIR_IN, s->sent_in, s->buf, n);
	ret = l3l2q_l3_try_enqueue(s->l3, L3L2Q_OP_DATA, s->buf, n);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return failed(s, "try_enqueue", (__u64)-ret);
	s->sent_in++;
	return 1;
}

/* L3: one try at receiving the next output; zero copy through peek. */
static int l3_recv_step(struct streamer *s)
{
	struct l3l2q_msg m;
	int ret;

	if (s->got_out == s->total)
		return 0;
	ret = l3l2q_l3_try_peek(s->l3, &m);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return failed(s, "l3 try_peek", (__u64)-ret);
	if (m.opcode != L3L2Q_OP_DATA ||
	    m.nbytes != msg_size(DIR_OUT, s->got_out, s->out_max) ||
	    msg_check(DIR_OUT, s->got_out, m.data, m.nbytes))
		return failed(s, "output content or order", s->got_out);
	ret = l3l2q_l3_release(s->l3, &m);
	if (ret)
		return failed(s, "l3 release", (__u64)-ret);
	s->got_out++;
	return 1;
}

/* L2: one try at consuming the next input (and STOP at the end). */
static int l2_recv_step(struct streamer *s)
{
	struct l3l2q_msg m;
	int ret;

	if (s->stop_seen)
		return 0;
	ret = l3l2q_l2_try_peek(s->l2, &m);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return failed(s, "l2 try_peek", (__u64)-ret);
	if (m.opcode == L3L2Q_OP_STOP) {
		if (s->got_in != s->total)
			return failed(s, "STOP overtook inputs", s->got_in);
		s->stop_seen = 1;
	} else if (m.opcode != L3L2Q_OP_DATA ||
		   m.nbytes != msg_size(DIR_IN, s->got_in, s->in_max) ||
		   msg_check(DIR_IN, s->got_in, m.data, m.nbytes)) {
		return failed(s, "input content or order", s->got_in);
	} else {
		s->got_in++;
	}
	ret = l3l2q_l2_release(s->l2, &m);
	if (ret)
		return failed(s, "l2 release", (__u64)-ret);
	return 1;
}

/* L2: one try at producing the next output, zero copy. */
static int l2_send_step(struct streamer *s)
{
	struct l3l2q_res r;
	__u64 n;
	int ret;

	if (s->sent_out == s->total)
		return 0;
	n = msg_size(DIR_OUT, s->sent_out, s->out_max);
	ret = l3l2q_l2_try_reserve(s->l2, n, &r);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return failed(s, "l2 try_reserve", (__u64)-ret);
	msg_fill(DIR_OUT, s->sent_out, r.data, n);
	ret = l3l2q_l2_publish(s->l2, &r, L3L2Q_OP_DATA);
	if (ret)
		return failed(s, "l2 publish", (__u64)-ret);
	s->sent_out++;
	return 1;
}

static int l3_done(struct streamer *s)
{
	return s->stop_sent && s->got_out == s->total;
}

static int l2_done(struct streamer *s)
{
	return s->stop_seen && s->sent_out == s->total && l3l2q_l2_drained(s->l2);
}

static void relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#endif
}

/* Run the L3 side until done; a bounded number of idle rounds. */
static int run_l3(struct streamer *s, __u64 deadline)
{
	unsigned int idle = 0;
	int a, b;

	while (!l3_done(s)) {
		a = l3_send_step(s);
		b = l3_recv_step(s);
		if (a < 0 || b < 0)
			return -1;
		if (a || b) {
			idle = 0;
			continue;
		}
		relax();
		if (++idle % 4096 == 0) {
			sched_yield();
			if (l3l2q_now_ns() > deadline)
				return failed(s, "l3 deadline", s->got_out);
		}
	}
	return 0;
}

static int run_l2(struct streamer *s, __u64 deadline)
{
	unsigned int idle = 0;
	int a, b;

	while (!l2_done(s)) {
		a = l2_recv_step(s);
		b = l2_send_step(s);
		if (a < 0 || b < 0)
			return -1;
		if (a || b) {
			idle = 0;
			continue;
		}
		relax();
		if (++idle % 4096 == 0) {
			sched_yield();
			if (l3l2q_now_ns() > deadline)
				return failed(s, "l2 deadline", s->got_in);
		}
	}
	return 0;
}

static struct l3l2q_queue *create(__u64 depth, __u64 in, __u64 out, __u64 start)
{
	struct l3l2q_params p = {
		.depth = depth,
		.input_arena_bytes = in,
		.output_arena_bytes = out,
		.backend = L3L2Q_BACKEND_MEMFD,
		.start_pos = start,
	};
	struct l3l2q_queue *q = NULL;

	return l3l2q_create(&p, &q, NULL) ? NULL : q;
}

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

	self->l3q = create(8, 1024, 512, variant->start);
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
		.total = 100000,
		.in_max = 1024,
		.out_max = 512,
	};
	__u64 deadline = l3l2q_deadline_in(100ull * 1000000000ull);
	__u64 end = variant->start + s.total;

	s.buf = malloc(1024);
	ASSERT_NE(NULL, s.buf);
	ASSERT_EQ(variant->start, s.l3->in.tail);
	while (!(l3_done(&s) && l2_done(&s))) {
		ASSERT_LE(0, l3_send_step(&s)) TH_LOG("%s at %llu", s.fail,
						     (unsigned long long)s.fail_at);
		ASSERT_LE(0, l2_recv_step(&s)) TH_LOG("%s at %llu", s.fail,
						     (unsigned long long)s.fail_at);
		ASSERT_LE(0, l2_send_step(&s)) TH_LOG("%s at %llu", s.fail,
						     (unsigned long long)s.fail_at);
		ASSERT_LE(0, l3_recv_step(&s)) TH_LOG("%s at %llu", s.fail,
						     (unsigned long long)s.fail_at);
		ASSERT_GT(deadline, l3l2q_now_ns());
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

static int child_l2(int fd, __u64 total, __u64 max)
{
	struct l3l2q_queue *q = NULL;
	struct streamer s = { .total = total, .in_max = max, .out_max = max };
	int ret;

	if (l3l2q_attach(fd, NULL, &q, NULL))
		return 10;
	s.l2 = l3l2q_queue_l2(q);
	ret = run_l2(&s, l3l2q_deadline_in(250ull * 1000000000ull));
	if (ret)
		fprintf(stderr, "child: %s at %llu\n", s.fail,
			(unsigned long long)s.fail_at);
	l3l2q_destroy(q);
	return ret ? 11 : 0;
}

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

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F_TIMEOUT(proc, fork_stream_1e6_random_sizes_both_directions, 300)
{
	struct streamer s = { .total = FORK_MSGS, .in_max = FORK_ARENA,
			      .out_max = FORK_ARENA };
	int fd;

	self->q = create(64, FORK_ARENA, FORK_ARENA, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(child_l2(fd, FORK_MSGS, FORK_ARENA));
	close(fd);
	s.l3 = l3l2q_queue_l3(self->q);
	s.buf = malloc(FORK_ARENA);
	ASSERT_NE(NULL, s.buf);
	ASSERT_EQ(0, run_l3(&s, l3l2q_deadline_in(250ull * 1000000000ull)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, wait_child(self->child));
	self->child = -1;
	EXPECT_EQ(FORK_MSGS, s.got_out);
	EXPECT_EQ(l3l2q_low32(FORK_MSGS + 1),
		  counter(self->q, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, counter(self->q, L3L2Q_CTR_L2_ABORT));
}

/* The L2 role travels over a unix socket instead of fork inheritance. */
TEST_F_TIMEOUT(proc, fd_passed_over_unix_socket_streams, 60)
{
	struct streamer s = { .total = 10000, .in_max = 256, .out_max = 256 };
	int sv[2], fd;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(sv[0]);
		fd = l3l2q_recv_fd(sv[1]);
		_exit(fd < 0 ? 12 : child_l2(fd, 10000, 256));
	}
	close(sv[1]);
	self->q = create(16, 256, 256, 0);
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
	EXPECT_EQ(0, wait_child(self->child));
	self->child = -1;
}

/* Only one L2 per queue, across processes too (P15). */
TEST_F(proc, second_attach_from_another_process_is_ebusy)
{
	struct l3l2q_queue *l2 = NULL;
	int fd;

	self->q = create(4, 128, 128, 0);
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
	ASSERT_EQ(0, wait_child(self->child));
	self->child = -1;
	EXPECT_EQ(-EBUSY, l3l2q_attach(fd, NULL, &l2, NULL));
	EXPECT_EQ(NULL, l2);
	close(fd);
}

/*
 * A peer that goes away ends a blocking wait with -ECONNRESET, long before
 * its deadline, and every message it published first is still delivered.
 */
TEST_F_TIMEOUT(proc, peer_close_delivers_published_then_connreset, 30)
{
	struct l3l2q_queue *l2q = NULL;
	struct l3l2q_msg m;
	unsigned char buf[16];
	__u64 t0;
	int fd, i;

	self->q = create(8, 256, 256, 0);
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
	ASSERT_EQ(0, wait_child(self->child));
	self->child = -1;
	t0 = l3l2q_now_ns();
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, l3l2q_l3_dequeue(l3l2q_queue_l3(self->q), buf,
					      sizeof(buf),
					      l3l2q_deadline_in(1000000000ull),
					      &m));
		EXPECT_EQ(1ull, m.nbytes);
		EXPECT_EQ((unsigned char)i, buf[0]);
	}
	EXPECT_EQ(-ECONNRESET,
		  l3l2q_l3_peek(l3l2q_queue_l3(self->q),
				l3l2q_deadline_in(20ull * 1000000000ull), &m));
	EXPECT_GT(5ull * 1000000000ull, l3l2q_now_ns() - t0);
	EXPECT_EQ((__u32)L3L2Q_ERR_REMOTE_ABORTED,
		  l3l2q_ep_error(&l3l2q_queue_l3(self->q)->ep)->kind);
	/* Our own abort flag stays down: this was not our failure. */
	EXPECT_EQ(0, counter(self->q, L3L2Q_CTR_L3_ABORT));
}

TEST_HARNESS_MAIN
