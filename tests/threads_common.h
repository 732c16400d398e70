/* SPDX-License-Identifier: MIT */
/*
 * One thread per direction of a role (l3l2q(7), THREADS), the same test
 * over both backings.
 *
 * Included, after kselftest_harness.h, by tests/threads_test.c (memfd, on
 * the host) and tests/vm/threads_test.c (/dev/l3l2q, in the VM), each of
 * which first defines:
 *
 *   TH_BACKEND   L3L2Q_BACKEND_MEMFD or L3L2Q_BACKEND_DEVICE
 *   TH_MSGS      messages per direction and run
 *   TH_RUNS      runs per way of waiting
 *   TH_TIMEOUT   the harness timeout (s) of each way of waiting
 *   TH_EVENTFD   (memfd only) also wait by poll() on the bit's eventfd
 *
 * Each run: a new queue; in this process an L3 sender thread (input) and
 * an L3 receiver thread (output); in a forked L2 child an L2 receiver
 * thread (input) and an L2 sender thread (output).  The two directions are
 * independent streams of TH_MSGS messages of 0..TH_MAX bytes, each checked
 * for content and order by its receiver; STOP ends the input.  Every thread
 * waits the same way (FIXTURE_VARIANT), for its own direction's bit only:
 * blocking calls, epoll or poll() on l3l2q_queue_wait_fd() of its bit, or
 * l3l2q_prep_wait() in an io_uring of its own.  Each thread pauses at
 * random and gives up spinning after a few attempts (tests/wake_common.h),
 * so that all four sleep often, concurrently with the other direction of
 * their role arming, clearing and being kicked.
 *
 * A wait that reaches its deadline (20 s, far beyond any pause) while its
 * condition held is a lost wake-up; two deadlines without progress are a
 * stall: either fails the run.  The fix this tests: wake words change by
 * atomic read-modify-write (a plain store let one direction wipe the
 * other's bit), each wait bit has its own kick path (one eventfd per role
 * let one direction take the other's kick), and an endpoint's private
 * state is kept per direction.
 */
#ifndef L3L2Q_TEST_THREADS_COMMON_H
#define L3L2Q_TEST_THREADS_COMMON_H

#include <pthread.h>

/* The stream, death and idle helpers there are the wake tests' alone. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "wake_common.h"

#define TH_MAX		128ull
#define TH_DEPTH	16ull
/* Slots run out before arena space (the driver's EPOLLOUT shows slots). */
#define TH_ARENA	4096ull

/* One thread, one direction of one role. */
struct th_thread {
	struct wk_side sd;
	struct wk_report r;
	struct l3l2q_l3 *l3;
	struct l3l2q_l2 *l2;
	__u64 total;
	__u64 i;		/* the message at hand */
	struct l3l2q_msg m;
	struct l3l2q_res res;
	__u64 n;
	unsigned char buf[TH_MAX];
	pthread_t tid;
};

static int th_init(struct th_thread *t, struct l3l2q_queue *q,
		   enum wk_mech mech, __u32 bit, __u64 total, __u64 seed)
{
	memset(t, 0, sizeof(*t));
	t->l3 = l3l2q_queue_l3(q);
	t->l2 = l3l2q_queue_l2(q);
	t->total = total;
	t->sd.q = q;
	t->sd.ep = t->l3 ? &t->l3->ep : &t->l2->ep;
	t->sd.r = &t->r;
	t->sd.rng = seed;
	t->sd.pause_every = 64;
	t->sd.spins = WK_STRESS_SPINS;
	t->sd.w.epfd = t->sd.w.efd = -1;
	return wk_waiter_init_bit(&t->sd.w, q, mech, bit);
}

/* One operation: try it, and when it cannot progress wait as configured. */
static int th_do(struct th_thread *t, __u32 bit, int (*attempt)(void *),
		 int (*block)(void *, __u64))
{
	if (t->sd.w.mech == WK_BLOCKING)
		return wk_block(&t->sd, block, t);
	return wk_progress(&t->sd, bit, attempt, t);
}

/* ---- L3 sender: TH_MSGS inputs, then STOP ---- */

static int th_l3_try_send(void *arg)
{
	struct th_thread *t = arg;

	if (t->i == t->total)
		return l3l2q_l3_try_request_stop(t->l3);
	return l3l2q_l3_try_enqueue(t->l3, L3L2Q_OP_DATA, t->buf, t->n);
}

static int th_l3_send(void *arg, __u64 dl)
{
	struct th_thread *t = arg;

	if (t->i == t->total)
		return l3l2q_l3_request_stop(t->l3, dl);
	return l3l2q_l3_enqueue(t->l3, L3L2Q_OP_DATA, t->buf, t->n, dl);
}

static void *th_l3_sender(void *arg)
{
	struct th_thread *t = arg;
	int ret;

	for (t->i = 0; t->i <= t->total; t->i++) {
		if (t->i < t->total) {
			t->n = msg_size(DIR_IN, t->i, TH_MAX);
			msg_fill(DIR_IN, t->i, t->buf, t->n);
		}
		ret = th_do(t, L3L2Q_WAKE_INPUT_SPACE, th_l3_try_send,
			    th_l3_send);
		if (ret) {
			wk_fail(&t->r, ret, "L3 sender", t->i);
			break;
		}
		t->r.msgs++;
		wk_pace(&t->sd);
	}
	return NULL;
}

/* ---- L3 receiver: TH_MSGS outputs ---- */

static int th_l3_try_recv(void *arg)
{
	struct th_thread *t = arg;

	return l3l2q_l3_try_dequeue(t->l3, t->buf, sizeof(t->buf), &t->m);
}

static int th_l3_recv(void *arg, __u64 dl)
{
	struct th_thread *t = arg;

	return l3l2q_l3_dequeue(t->l3, t->buf, sizeof(t->buf), dl, &t->m);
}

static void *th_l3_receiver(void *arg)
{
	struct th_thread *t = arg;
	int ret;

	for (t->i = 0; t->i < t->total; t->i++) {
		ret = th_do(t, L3L2Q_WAKE_OUTPUT_AVAIL, th_l3_try_recv,
			    th_l3_recv);
		if (!ret && (t->m.opcode != L3L2Q_OP_DATA ||
			     t->m.nbytes != msg_size(DIR_OUT, t->i, TH_MAX) ||
			     msg_check(DIR_OUT, t->i, t->buf, t->m.nbytes)))
			ret = -EBADMSG;
		if (ret) {
			wk_fail(&t->r, ret, "L3 receiver", t->i);
			break;
		}
		t->r.msgs++;
		wk_pace(&t->sd);
	}
	return NULL;
}

/* ---- L2 receiver: TH_MSGS inputs, then STOP ---- */

static int th_l2_try_recv(void *arg)
{
	struct th_thread *t = arg;

	return l3l2q_l2_try_peek(t->l2, &t->m);
}

static int th_l2_recv(void *arg, __u64 dl)
{
	struct th_thread *t = arg;

	return l3l2q_l2_peek(t->l2, dl, &t->m);
}

static void *th_l2_receiver(void *arg)
{
	struct th_thread *t = arg;
	int ret;

	for (t->i = 0; t->i <= t->total; t->i++) {
		ret = th_do(t, L3L2Q_WAKE_INPUT_AVAIL, th_l2_try_recv,
			    th_l2_recv);
		if (!ret && (t->i == t->total ?
			     t->m.opcode != L3L2Q_OP_STOP :
			     t->m.opcode != L3L2Q_OP_DATA ||
			     t->m.nbytes != msg_size(DIR_IN, t->i, TH_MAX) ||
			     msg_check(DIR_IN, t->i, t->m.data, t->m.nbytes)))
			ret = -EBADMSG;
		if (!ret)
			ret = l3l2q_l2_release(t->l2, &t->m);
		if (ret) {
			wk_fail(&t->r, ret, "L2 receiver", t->i);
			break;
		}
		t->r.msgs++;
		wk_pace(&t->sd);
	}
	if (!t->r.ret && l3l2q_l2_drained(t->l2) != 1)
		wk_fail(&t->r, -EPROTO, "L2 receiver: not drained", t->i);
	return NULL;
}

/* ---- L2 sender: TH_MSGS outputs ---- */

static int th_l2_try_reserve(void *arg)
{
	struct th_thread *t = arg;

	return l3l2q_l2_try_reserve(t->l2, t->n, &t->res);
}

static int th_l2_reserve(void *arg, __u64 dl)
{
	struct th_thread *t = arg;

	return l3l2q_l2_reserve(t->l2, t->n, dl, &t->res);
}

static void *th_l2_sender(void *arg)
{
	struct th_thread *t = arg;
	int ret;

	for (t->i = 0; t->i < t->total; t->i++) {
		t->n = msg_size(DIR_OUT, t->i, TH_MAX);
		ret = th_do(t, L3L2Q_WAKE_OUTPUT_SPACE, th_l2_try_reserve,
			    th_l2_reserve);
		if (!ret) {
			msg_fill(DIR_OUT, t->i, t->res.data, t->n);
			ret = l3l2q_l2_publish(t->l2, &t->res, L3L2Q_OP_DATA);
		}
		if (ret) {
			wk_fail(&t->r, ret, "L2 sender", t->i);
			break;
		}
		t->r.msgs++;
		wk_pace(&t->sd);
	}
	return NULL;
}

/* ---- a run ---- */

/* Start both directions' threads of one role on @q; 0 or -errno. */
static int th_start(struct th_thread t[2], struct l3l2q_queue *q,
		    enum wk_mech mech, __u64 total, __u64 seed)
{
	int l3 = l3l2q_queue_l3(q) != NULL;
	int ret;

	ret = th_init(&t[0], q, mech, l3 ? L3L2Q_WAKE_INPUT_SPACE :
			    L3L2Q_WAKE_INPUT_AVAIL, total, seed);
	if (!ret)
		ret = th_init(&t[1], q, mech, l3 ? L3L2Q_WAKE_OUTPUT_AVAIL :
			      L3L2Q_WAKE_OUTPUT_SPACE, total, seed + (1ull << 40));
	if (!ret)
		ret = -pthread_create(&t[0].tid, NULL, l3 ? th_l3_sender :
				      th_l2_receiver, &t[0]);
	if (!ret)
		ret = -pthread_create(&t[1].tid, NULL, l3 ? th_l3_receiver :
				      th_l2_sender, &t[1]);
	return ret;
}

static void th_join(struct th_thread t[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		pthread_join(t[i].tid, NULL);
		t[i].r.st = th_stats(t[i].sd.ep);
		t[i].r.wsyscalls = t[i].sd.w.syscalls;
		wk_waiter_fini(&t[i].sd.w);
	}
}

struct th_result {
	struct wk_report r[4];		/* L3 in, L3 out, L2 in, L2 out */
	int child;
	int ret;
};

static void th_l2_child(int fd, enum wk_mech mech, __u64 total, int rep)
{
	struct wk_report r[2];
	struct th_thread t[2];
	struct l3l2q_queue *q;
	int ret = -ENOTCONN;

	memset(r, 0, sizeof(r));
	memset(t, 0, sizeof(t));
	q = wk_child_attach(fd);
	if (q) {
		ret = th_start(t, q, mech, total, 0x5eedull << 32);
		if (!ret) {
			th_join(t);
			r[0] = t[0].r;
			r[1] = t[1].r;
		}
	}
	if (ret)
		wk_fail(&r[0], ret, "L2 setup", 0);
	if (write(rep, r, sizeof(r)) != (ssize_t)sizeof(r))
		ret = -EIO;
	l3l2q_destroy(q);
	_exit(ret || r[0].ret || r[1].ret ? 1 : 0);
}

static int th_run(int backend, enum wk_mech mech, __u64 total,
		  struct th_result *res)
{
	struct th_thread t[2];
	struct l3l2q_queue *q;
	int rep[2], fd, ret;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	memset(t, 0, sizeof(t));
	res->child = -1;
	q = wk_create(backend, TH_DEPTH, TH_ARENA);
	if (!q)
		return -ENODEV;
	fd = l3l2q_peer_fd(q);
	if (fd < 0 || pipe2(rep, O_CLOEXEC)) {
		l3l2q_destroy(q);
		return -EMFILE;
	}
	pid = fork();
	if (pid == 0) {
		close(rep[0]);
		th_l2_child(fd, mech, total, rep[1]);
	}
	close(fd);
	close(rep[1]);
	ret = pid < 0 ? -errno : th_start(t, q, mech, total, 0xfeedull << 32);
	if (!ret) {
		th_join(t);
		res->r[0] = t[0].r;
		res->r[1] = t[1].r;
	}
	if (pid > 0) {
		if (read(rep[0], &res->r[2], 2 * sizeof(res->r[2])) !=
		    (ssize_t)(2 * sizeof(res->r[2])))
			wk_fail(&res->r[2], -EPIPE, "L2 sent no report", 0);
		res->child = wk_reap(pid, ret);
	}
	close(rep[0]);
	l3l2q_destroy(q);
	res->ret = ret;
	return ret;
}

static const char *const th_names[4] = {
	"L3 sender", "L3 receiver", "L2 receiver", "L2 sender",
};

#ifdef TH_BACKEND

FIXTURE(threads) {
	int unused;
};

FIXTURE_VARIANT(threads) {
	enum wk_mech mech;
};

FIXTURE_VARIANT_ADD(threads, blocking) { .mech = WK_BLOCKING };
FIXTURE_VARIANT_ADD(threads, epoll) { .mech = WK_EPOLL };
#ifdef TH_EVENTFD
/*
 * poll() on the bit's wait fd, which is the bit's eventfd in a set with
 * the peer's pidfd.  The driver has one registered eventfd per role, which
 * two threads of the role cannot share without one reading the other's
 * kick: it would need an eventfd per wait bit (and a KICK per bit).
 */
FIXTURE_VARIANT_ADD(threads, eventfd) { .mech = WK_EVENTFD };
#endif
#ifndef WK_NO_URING
FIXTURE_VARIANT_ADD(threads, io_uring) { .mech = WK_URING };
#endif

FIXTURE_SETUP(threads)
{
}

FIXTURE_TEARDOWN(threads)
{
}

/*
 * TH_RUNS runs of TH_MSGS messages each way, all four threads waiting
 * the variant's way; every message arrives once, in order and intact, and
 * no wait is lost or stalls.
 */
TEST_F_TIMEOUT(threads, one_thread_per_direction_no_stall, TH_TIMEOUT)
{
	__u64 waits = 0, msgs = 0, kicks = 0, sleeps = 0;
	struct th_result r;
	int run, i, ret, failed = 0;

	for (run = 0; run < TH_RUNS && !failed; run++) {
		ret = th_run(TH_BACKEND, variant->mech, TH_MSGS, &r);
		/* Each role's counts, both directions summed: once per role. */
		kicks += r.r[0].st.kicks + r.r[2].st.kicks;
		sleeps += r.r[0].st.sleeps + r.r[2].st.sleeps;
		for (i = 0; i < 4; i++) {
			waits += r.r[i].waits;
			if (r.r[i].ret || r.r[i].lost) {
				failed = 1;
				WK_LOG_SIDE(th_names[i], r.r[i]);
			}
		}
		msgs += r.r[0].msgs;
		EXPECT_EQ(0, ret);
		EXPECT_EQ(0, r.child);
		EXPECT_EQ(TH_MSGS + 1, r.r[0].msgs);	/* + STOP */
		EXPECT_EQ(TH_MSGS, r.r[1].msgs);
		EXPECT_EQ(TH_MSGS + 1, r.r[2].msgs);
		EXPECT_EQ(TH_MSGS, r.r[3].msgs);
		for (i = 0; i < 4; i++)
			EXPECT_EQ(0ull, r.r[i].lost);
		if (ret || r.child)
			failed = 1;
		if (failed)
			TH_LOG("run %d failed", run + 1);
	}
	TH_LOG("%d runs, %llu messages each way, %llu waits, %llu sleeps "
	       "in the library, %llu kicks",
	       run, (unsigned long long)(msgs - run),
	       (unsigned long long)waits, (unsigned long long)sleeps,
	       (unsigned long long)kicks);
	/* The waits happened, often: about one message in 64 pauses. */
	EXPECT_LE((msgs - run) / 100, waits);
}

#endif /* TH_BACKEND */

#endif /* L3L2Q_TEST_THREADS_COMMON_H */
