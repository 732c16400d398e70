/* SPDX-License-Identifier: MIT */
/*
 * fork() after create or attach (issue 12, item 3), the same tests over
 * both backings: included, after kselftest_harness.h, by tests/fork_test.c
 * (memfd) and tests/vm/fork_test.c (/dev/l3l2q), each of which defines
 * FK_BACKEND first.
 *
 * A child's copy of a queue belongs to the parent: every call on the
 * copied endpoint gives -EOWNERDEAD with a message, the mapping did not
 * come along, and destroying the copy changes nothing for the parent,
 * whose queue then carries every message intact.  Before, the child's
 * enqueue on the inherited L3 returned 0 and the parent's next enqueue
 * reused the slot: a message was lost without a word.
 */
#ifndef L3L2Q_TEST_FORK_COMMON_H
#define L3L2Q_TEST_FORK_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "libl3l2q_uring.h"
#include "streamer.h"

#define FK_SEC		1000000000ull
#define FK_MSGS		2000ull

/* What a child found doing everything to its inherited copy. */
struct fk_report {
	int state;
	int calls[16];		/* each call's result */
	int mapped;		/* the region was mapped in the child */
	char message[L3L2Q_ERROR_MSG_BYTES];
};

/* 1 if [addr, addr + len) is mapped in this process (mincore says). */
static int fk_mapped(const void *addr, size_t len)
{
	unsigned char vec[4];

	len = len < 4 * 4096 ? len : 4 * 4096;
	return mincore((void *)((unsigned long)addr & ~4095ul), len, vec) == 0 ||
	       errno != ENOMEM;
}

/* In a child: every data-path call on the inherited L3 endpoint. */
static void fk_child_l3(struct l3l2q_queue *q, int rep)
{
	struct l3l2q_l3 *l3 = l3l2q_queue_l3(q);
	struct io_uring_sqe sqe;
	struct fk_report r;
	struct l3l2q_res res;
	struct l3l2q_msg m;
	unsigned char buf[64] = { 0x77 };
	int i = 0;

	memset(&r, 0, sizeof(r));
	r.mapped = fk_mapped(l3l2q_queue_mem(q)->ctrl, L3L2Q_CTRL_BYTES);
	r.state = l3l2q_ep_state(&l3->ep);
	r.calls[i++] = l3l2q_l3_try_enqueue(l3, L3L2Q_OP_DATA, buf, 8);
	snprintf(r.message, sizeof(r.message), "%s",
		 l3l2q_ep_last_error(&l3->ep)->message);
	r.calls[i++] = l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, 8,
					l3l2q_deadline_in(FK_SEC));
	r.calls[i++] = l3l2q_l3_try_reserve(l3, 8, &res);
	r.calls[i++] = l3l2q_l3_reserve(l3, 8, l3l2q_deadline_in(FK_SEC), &res);
	r.calls[i++] = l3l2q_l3_flush(l3);
	r.calls[i++] = l3l2q_l3_try_request_stop(l3);
	r.calls[i++] = l3l2q_l3_try_peek(l3, &m);
	r.calls[i++] = l3l2q_l3_try_dequeue(l3, buf, sizeof(buf), &m);
	r.calls[i++] = l3l2q_l3_dequeue(l3, buf, sizeof(buf),
					l3l2q_deadline_in(FK_SEC), &m);
	r.calls[i++] = l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL);
	r.calls[i++] = l3l2q_l3_release(l3, &m);
	r.calls[i++] = l3l2q_l3_request_stop(l3, l3l2q_deadline_in(FK_SEC));
	r.calls[i++] = l3l2q_ep_clear_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL);
	r.calls[i++] = l3l2q_prep_wait(&sqe, q, L3L2Q_WAKE_OUTPUT_AVAIL,
				       l3l2q_deadline_in(FK_SEC), NULL);
	/* Dropping the copy must not mark the role dead for the peer. */
	l3l2q_destroy(q);
	_exit(write(rep, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

/* In a child: the inherited L2 endpoint. */
static void fk_child_l2(struct l3l2q_queue *q, int rep)
{
	struct l3l2q_l2 *l2 = l3l2q_queue_l2(q);
	struct fk_report r;
	struct l3l2q_res res;
	struct l3l2q_msg m;
	int i = 0;

	memset(&r, 0, sizeof(r));
	r.mapped = fk_mapped(l3l2q_queue_mem(q)->ctrl, L3L2Q_CTRL_BYTES);
	r.state = l3l2q_ep_state(&l2->ep);
	r.calls[i++] = l3l2q_l2_try_peek(l2, &m);
	snprintf(r.message, sizeof(r.message), "%s",
		 l3l2q_ep_last_error(&l2->ep)->message);
	r.calls[i++] = l3l2q_l2_peek(l2, l3l2q_deadline_in(FK_SEC), &m);
	r.calls[i++] = l3l2q_l2_release(l2, &m);
	r.calls[i++] = l3l2q_l2_release_batch(l2, &m, 1);
	r.calls[i++] = l3l2q_l2_try_reserve(l2, 8, &res);
	r.calls[i++] = l3l2q_l2_reserve(l2, 8, l3l2q_deadline_in(FK_SEC), &res);
	r.calls[i++] = l3l2q_l2_publish(l2, &res, L3L2Q_OP_DATA);
	r.calls[i++] = l3l2q_l2_flush(l2);
	r.calls[i++] = l3l2q_ep_want_wakeup(&l2->ep, L3L2Q_WAKE_INPUT_AVAIL);
	l3l2q_destroy(q);
	_exit(write(rep, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

/* Fork a child that works on the inherited @q and reports. */
static int fk_inherit(struct l3l2q_queue *q, int l3, struct fk_report *r)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[0]);
		if (l3)
			fk_child_l3(q, p[1]);
		fk_child_l2(q, p[1]);
	}
	close(p[1]);
	memset(r, 0, sizeof(*r));
	if (read(p[0], r, sizeof(*r)) != (ssize_t)sizeof(*r))
		r->state = -EIO;
	close(p[0]);
	return th_wait_child(pid);
}

/*
 * The L2 process: attach, then fork its own child on the inherited L2
 * (its report goes out over @rep), then stream FK_MSGS each way.
 */
static void fk_l2_process(int fd, int rep)
{
	struct streamer s = { .total = FK_MSGS, .in_max = 100, .out_max = 100 };
	struct l3l2q_queue *q = NULL;
	struct fk_report r;
	int ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (l3l2q_attach(fd, NULL, &q, NULL))
		_exit(10);
	close(fd);
	ret = fk_inherit(q, 0, &r);
	if (write(rep, &r, sizeof(r)) != (ssize_t)sizeof(r) || ret)
		_exit(11);
	s.l2 = l3l2q_queue_l2(q);
	ret = run_l2(&s, l3l2q_deadline_in(100 * FK_SEC));
	l3l2q_destroy(q);
	_exit(ret ? 12 : 0);
}

#ifdef FK_BACKEND

FIXTURE(fork) {
	struct l3l2q_queue *q;
	pid_t l2;
};

FIXTURE_SETUP(fork)
{
	self->q = NULL;
	self->l2 = -1;
}

FIXTURE_TEARDOWN(fork)
{
	if (self->l2 > 0) {
		kill(self->l2, SIGKILL);
		waitpid(self->l2, NULL, 0);
	}
	l3l2q_destroy(self->q);
}

static void fk_check(struct __test_metadata *_metadata,
		     const struct fk_report *r, unsigned int n)
{
	unsigned int i;

	EXPECT_EQ(L3L2Q_STATE_INHERITED, r->state);
	EXPECT_EQ(0, r->mapped);
	for (i = 0; i < n; i++)
		EXPECT_EQ(-EOWNERDEAD, r->calls[i]) TH_LOG("call %u", i);
	EXPECT_NE(NULL, strstr(r->message, "fork"))
		TH_LOG("message: %s", r->message);
}

/*
 * The L3 forks after create and after an L2 attached; the child tries
 * every data call on its copy, arming and clearing a wake-up bit and an
 * io_uring wait too (any of which would touch the parent's queue or, with
 * no mapping in the child, crash), destroys it and exits.  The parent then streams FK_MSGS each way with its L2: all
 * intact and in order, the L2 role still LIVE.
 */
TEST_F(fork, l3_child_gets_eownerdead_and_parent_queue_is_unharmed)
{
	struct streamer s = { .total = FK_MSGS, .in_max = 100, .out_max = 100 };
	struct fk_report r;
	int fd;

	self->q = stream_create(FK_BACKEND, 16, 4096, 4096, 0);
	ASSERT_NE(NULL, self->q);
	ASSERT_EQ(FK_BACKEND, l3l2q_queue_backend(self->q));
	/* Before any L2. */
	ASSERT_EQ(0, fk_inherit(self->q, 1, &r));
	fk_check(_metadata, &r, 14);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->l2 = fork();
	ASSERT_LE(0, self->l2);
	if (self->l2 == 0)
		_exit(stream_child_l2(fd, FK_MSGS, 100, FK_BACKEND,
				      l3l2q_deadline_in(100 * FK_SEC)));
	close(fd);
	/* With an L2 attached (it may still be attaching). */
	ASSERT_EQ(0, fk_inherit(self->q, 1, &r));
	fk_check(_metadata, &r, 14);
	EXPECT_EQ(L3L2Q_STATE_LIVE, l3l2q_ep_state(&l3l2q_queue_l3(self->q)->ep));
	s.l3 = l3l2q_queue_l3(self->q);
	s.buf = malloc(100);
	ASSERT_NE(NULL, s.buf);
	EXPECT_EQ(0, run_l3(&s, l3l2q_deadline_in(100 * FK_SEC)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, th_wait_child(self->l2));
	self->l2 = -1;
	EXPECT_EQ(FK_MSGS, s.got_out);
}

/*
 * The L2 process forks after attach; its child gets -EOWNERDEAD on every
 * call; the L2 then streams FK_MSGS each way with the parent L3, intact.
 */
TEST_F(fork, l2_child_gets_eownerdead_and_stream_is_unharmed)
{
	struct streamer s = { .total = FK_MSGS, .in_max = 100, .out_max = 100 };
	struct fk_report r;
	int fd, rep[2];

	self->q = stream_create(FK_BACKEND, 16, 4096, 4096, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(rep, O_CLOEXEC));
	self->l2 = fork();
	ASSERT_LE(0, self->l2);
	if (self->l2 == 0) {
		close(rep[0]);
		fk_l2_process(fd, rep[1]);
	}
	close(fd);
	close(rep[1]);
	ASSERT_EQ((ssize_t)sizeof(r), read(rep[0], &r, sizeof(r)));
	close(rep[0]);
	fk_check(_metadata, &r, 9);
	s.l3 = l3l2q_queue_l3(self->q);
	s.buf = malloc(100);
	ASSERT_NE(NULL, s.buf);
	EXPECT_EQ(0, run_l3(&s, l3l2q_deadline_in(100 * FK_SEC)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, th_wait_child(self->l2));
	self->l2 = -1;
	EXPECT_EQ(FK_MSGS, s.got_out);
}

#endif /* FK_BACKEND */

#endif /* L3L2Q_TEST_FORK_COMMON_H */
