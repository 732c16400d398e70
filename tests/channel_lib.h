/* SPDX-License-Identifier: MIT */
/*
 * libl3l2q's channel objects (libl3l2q_channel.h) between two processes,
 * for one backing: the host suite runs these on the memfd
 * (channel_lib_test), the VM suite on /dev/l3l2q (vm/channel_test).
 *
 *   cl_echo()   create, hand the peer fd to a child that attaches and runs
 *               cp_echo(), run cp_run_echo() here; the child's status;
 *   cl_death()  a child attaches and waits; a thread here blocks in a
 *               receive; kill -9 of the child must end it (-ECONNRESET)
 *               and make the wait fd readable.
 */
#ifndef L3L2Q_TEST_CHANNEL_LIB_H
#define L3L2Q_TEST_CHANNEL_LIB_H

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "libl3l2q_channel.h"
#include "channel_peer.h"

static inline struct l3l2q_channel_params cl_params(__u32 backend)
{
	struct l3l2q_channel_params p;

	memset(&p, 0, sizeof(p));
	p.lanes_to_l2 = CP_ROUTES;
	p.lanes_to_l3 = CP_ROUTES;
	p.lane_depth = 8;
	p.max_message_bytes = CP_MAXMSG;
	p.backend = backend;
	return p;
}

static inline int cl_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * A child that attaches to @peer: runs cp_echo(), or (@wait) says so on
 * @ready and waits to be killed.  The parent closes its copy of @peer.
 */
static inline pid_t cl_child(int peer, int wait, int ready)
{
	struct l3l2q_channel *c;
	pid_t pid = fork();
	int ret;

	if (pid)
		return pid;
	if (l3l2q_channel_attach(peer, &c, NULL))
		_exit(10);
	close(peer);
	if (wait) {
		if (write(ready, "r", 1) != 1)
			_exit(11);
		for (;;)
			pause();
	}
	ret = cp_echo(l3l2q_channel_chan(c));
	l3l2q_channel_destroy(c);
	_exit(ret);
}

/* 0, or where it failed (negative: the create); the child's status. */
static inline int cl_echo(__u32 backend, struct cp_result *r, int *status)
{
	struct l3l2q_channel_params p = cl_params(backend);
	struct l3l2q_channel *c;
	int peer, ret;
	pid_t pid;

	ret = l3l2q_channel_create(&p, &c, NULL);
	if (ret)
		return ret;
	peer = l3l2q_channel_peer_fd(c);
	if (peer < 0 || l3l2q_channel_peer_fd(c) != -EBUSY) {
		l3l2q_channel_destroy(c);
		return 1;
	}
	pid = cl_child(peer, 0, -1);
	close(peer);
	if (pid < 0) {
		l3l2q_channel_destroy(c);
		return 2;
	}
	cp_run_echo(l3l2q_channel_chan(c), r);
	*status = cl_status(pid);
	l3l2q_channel_destroy(c);
	return 0;
}

struct cl_death {
	int recv;			/* the blocked receive's result */
	short wait_revents;		/* poll of the wait fd afterwards */
	int status;			/* the child's */
};

static inline int cl_death(__u32 backend, struct cl_death *d)
{
	struct l3l2q_channel_params p = cl_params(backend);
	struct cp_receiver rc = { .ret = 1 };
	struct l3l2q_channel *c;
	struct pollfd pf;
	int peer, ready[2], ret;
	pthread_t th;
	pid_t pid;
	char b;

	ret = l3l2q_channel_create(&p, &c, NULL);
	if (ret)
		return ret;
	if (pipe(ready)) {
		l3l2q_channel_destroy(c);
		return 1;
	}
	peer = l3l2q_channel_peer_fd(c);
	pid = peer < 0 ? -1 : cl_child(peer, 1, ready[1]);
	if (peer >= 0)
		close(peer);
	close(ready[1]);
	ret = pid < 0 || read(ready[0], &b, 1) != 1 ? 2 : 0;
	close(ready[0]);
	rc.ch = l3l2q_channel_chan(c);
	if (!ret && pthread_create(&th, NULL, cp_receiver_main, &rc))
		ret = 3;
	if (pid > 0)
		kill(pid, SIGKILL);
	if (pid > 0)
		d->status = cl_status(pid);
	if (!ret) {
		pthread_join(th, NULL);
		d->recv = rc.ret;
		pf.fd = l3l2q_channel_wait_fd(c);
		pf.events = POLLIN;
		pf.revents = 0;
		if (poll(&pf, 1, (int)(CP_WATCHDOG_NS / 1000000)) < 0)
			ret = 4;
		d->wait_revents = pf.revents;
	}
	l3l2q_channel_destroy(c);
	return ret;
}

/* For a kselftest harness suite: the echo exchange went right. */
#ifdef TEST_F
static inline void cl_check_echo(struct __test_metadata *_metadata,
				 const struct cp_result *r, int status)
{
	EXPECT_EQ(0, r->sender);
	EXPECT_EQ(0, r->recv);
	EXPECT_EQ(0u, r->bad);
	EXPECT_EQ(0u, r->dup);
	EXPECT_EQ(0u, r->order);
	EXPECT_EQ(0u, r->missing);
	EXPECT_EQ(0, r->call);
	EXPECT_EQ(0u, r->bad_calls);
	EXPECT_EQ(0, r->close);
	EXPECT_EQ(-EPIPE, r->last);
	EXPECT_EQ(0, status);
}
#endif

#endif /* L3L2Q_TEST_CHANNEL_LIB_H */
