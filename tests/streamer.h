/* SPDX-License-Identifier: MIT */
/*
 * A two-way streamer for tests: message i of each direction has a size and
 * contents derived from i, so a receiver checks content and order without
 * sharing anything else with the sender.  The *_step() functions make one
 * non-blocking attempt each, so one thread can drive both directions (or
 * both endpoints) without deadlock.  Shared by host and in-VM tests.
 */
#ifndef L3L2Q_TEST_STREAMER_H
#define L3L2Q_TEST_STREAMER_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>

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

/*
 * Drive one role until @done: try both of its steps in turn, relax when
 * neither progresses.  A watchdog, not a time limit on the work: it gives
 * up only when neither step has progressed for as long as @deadline was
 * ahead when the call began (a hang), however long the whole run takes.
 * Checked every 4096 idle rounds.  @what names the side in the failure.
 */
static inline int run_side(struct streamer *s, __u64 deadline,
			   int (*step_a)(struct streamer *),
			   int (*step_b)(struct streamer *),
			   int (*done)(struct streamer *), const char *what)
{
	__u64 now = l3l2q_now_ns(), last = now;
	__u64 stall = deadline > now ? deadline - now : 0;
	unsigned int idle = 0;
	int a, b;

	while (!done(s)) {
		a = step_a(s);
		b = step_b(s);
		if (a < 0 || b < 0)
			return -1;
		if (a || b) {
			idle = 0;
			continue;
		}
		relax();
		if (++idle % 4096 == 0) {
			sched_yield();
			now = l3l2q_now_ns();
			if (idle == 4096)
				last = now;	/* idle since about now */
			else if (now - last > stall)
				return failed(s, what, s->got_in + s->got_out);
		}
	}
	return 0;
}

static inline int run_l3(struct streamer *s, __u64 deadline)
{
	return run_side(s, deadline, l3_send_step, l3_recv_step, l3_done,
			"l3 made no progress for the watchdog's time");
}

static inline int run_l2(struct streamer *s, __u64 deadline)
{
	return run_side(s, deadline, l2_recv_step, l2_send_step, l2_done,
			"l2 made no progress for the watchdog's time");
}

/*
 * A forked L2 child's whole life: attach through @fd (on @backend unless
 * it is L3L2Q_BACKEND_AUTO), stream @total messages of up to @max bytes
 * each way (@deadline: the stall watchdog of run_side()), destroy.  Its exit status: 0, 10 (attach), 11
 * (wrong backend) or 12 (the stream failed, reason on stderr).
 */
static inline int stream_child_l2(int fd, __u64 total, __u64 max,
				  __u32 backend, __u64 deadline)
{
	struct l3l2q_queue *q = NULL;
	struct streamer s = { .total = total, .in_max = max, .out_max = max };
	int ret;

	if (l3l2q_attach(fd, NULL, &q, NULL))
		return 10;
	if (backend != L3L2Q_BACKEND_AUTO &&
	    l3l2q_queue_backend(q) != (int)backend) {
		l3l2q_destroy(q);
		return 11;
	}
	s.l2 = l3l2q_queue_l2(q);
	ret = run_l2(&s, deadline);
	if (ret)
		fprintf(stderr, "child: %s at %llu\n", s.fail,
			(unsigned long long)s.fail_at);
	l3l2q_destroy(q);
	return ret ? 12 : 0;
}

/*
 * A queue on @backend with the given geometry; its error message goes to
 * stderr.  NULL on failure.
 */
static inline struct l3l2q_queue *stream_create(__u32 backend, __u64 depth,
						__u64 in, __u64 out,
						__u64 start_pos)
{
	struct l3l2q_params p = {
		.depth = depth,
		.input_arena_bytes = in,
		.output_arena_bytes = out,
		.backend = backend,
		.start_pos = start_pos,
	};
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;

	if (l3l2q_create(&p, &q, &err)) {
		fprintf(stderr, "create: %s\n", err.message);
		return NULL;
	}
	return q;
}

#endif /* L3L2Q_TEST_STREAMER_H */
