// SPDX-License-Identifier: MIT
/*
 * channel_lib_test - libl3l2q's channel objects (libl3l2q_channel.h) on
 * the memfd backing (lib/user/channel_memfd.c), between two processes:
 *
 *   - bad parameters and fds are refused with a message naming the field;
 *   - the peer fd is given once, attached once;
 *   - echoes across routes, calls and the close handshake, the L2 in a
 *     child that attached the peer fd (tests/channel_peer.h);
 *   - a blocking receive and a poll of the wait fd, woken by the peer's
 *     send (futex and eventfd);
 *   - kill -9 of the L2 ends a blocked receive with ECONNRESET (pidfd);
 *     the L2 destroying its channel does too.
 *
 * The same exchanges run over /dev/l3l2q in tests/vm/channel_test.c.
 * Fixed amounts of work; deadlines are watchdogs only.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "channel_lib.h"

#define MEMFD	L3L2Q_BACKEND_MEMFD

TEST(create_refuses_bad_params)
{
	struct l3l2q_channel_params p = cl_params(MEMFD);
	struct l3l2q_channel *c = (void *)1;
	struct l3l2q_error err;

	EXPECT_EQ(-EINVAL, l3l2q_channel_create(NULL, &c, &err));
	EXPECT_EQ(NULL, c);
	EXPECT_NE(NULL, strstr(err.message, "params"));
	EXPECT_EQ(-EINVAL, l3l2q_channel_create(&p, NULL, &err));
	p.lanes_to_l2 = 0;
	EXPECT_EQ(-EINVAL, l3l2q_channel_create(&p, &c, &err));
	EXPECT_NE(NULL, strstr(err.message, "lanes_to_l2"));
	p = cl_params(MEMFD);
	p.lane_depth = 6;
	EXPECT_EQ(-EINVAL, l3l2q_channel_create(&p, &c, &err));
	EXPECT_NE(NULL, strstr(err.message, "lane_depth"));
	p = cl_params(MEMFD);
	p.max_message_bytes = 257;
	EXPECT_EQ(-EINVAL, l3l2q_channel_create(&p, &c, &err));
	EXPECT_NE(NULL, strstr(err.message, "max_message_bytes"));
	p = cl_params(MEMFD);
	p.resv[2] = 1;
	EXPECT_EQ(-EINVAL, l3l2q_channel_create(&p, &c, &err));
	EXPECT_NE(NULL, strstr(err.message, "resv"));
	p = cl_params(MEMFD);
	p.backend = 7;
	EXPECT_EQ(-EINVAL, l3l2q_channel_create(&p, &c, &err));
	EXPECT_NE(NULL, strstr(err.message, "backend"));
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(-EINVAL, l3l2q_channel_peer_fd(NULL));
	EXPECT_EQ(-EINVAL, l3l2q_channel_wait_fd(NULL));
	EXPECT_EQ(NULL, l3l2q_channel_chan(NULL));
	l3l2q_channel_destroy(NULL);
}

/* Without /dev/l3l2q the device backing says so; AUTO falls back. */
TEST(device_backing_needs_the_driver)
{
	struct l3l2q_channel_params p = cl_params(L3L2Q_BACKEND_DEVICE);
	struct l3l2q_channel *c = NULL;
	int present = access("/dev/l3l2q", F_OK) == 0;

	EXPECT_EQ(present ? 0 : -ENODEV, l3l2q_channel_create(&p, &c, NULL));
	l3l2q_channel_destroy(c);
	p.backend = L3L2Q_BACKEND_AUTO;
	ASSERT_EQ(0, l3l2q_channel_create(&p, &c, NULL));
	EXPECT_EQ((int)L3L2Q_STATE_LIVE,
		  (int)l3l2q_chan_state(l3l2q_channel_chan(c)));
	l3l2q_channel_destroy(c);
}

TEST(attach_refuses_what_is_not_a_peer_fd)
{
	struct l3l2q_channel_params p = cl_params(MEMFD);
	struct l3l2q_channel *c, *l2, *again = (void *)1;
	struct l3l2q_error err;
	int pipefd[2], sv[2], peer;

	EXPECT_EQ(-EBADF, l3l2q_channel_attach(-1, &l2, &err));
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-ENOTTY, l3l2q_channel_attach(pipefd[0], &l2, &err));
	EXPECT_NE(NULL, strstr(err.message, "socket"));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	EXPECT_EQ(-ENOMSG, l3l2q_channel_attach(sv[1], &l2, &err));

	ASSERT_EQ(0, l3l2q_channel_create(&p, &c, &err));
	EXPECT_EQ(-EINVAL, l3l2q_channel_attach(pipefd[0], NULL, &err));
	peer = l3l2q_channel_peer_fd(c);
	ASSERT_LE(0, peer);
	EXPECT_EQ(-EBUSY, l3l2q_channel_peer_fd(c));
	ASSERT_EQ(0, l3l2q_channel_attach(peer, &l2, &err));
	EXPECT_EQ(-EINVAL, l3l2q_channel_peer_fd(l2));
	/* The bundle was taken: a second L2 finds nothing. */
	EXPECT_EQ(-ENOMSG, l3l2q_channel_attach(peer, &again, &err));
	EXPECT_EQ(NULL, again);
	EXPECT_LE(0, l3l2q_channel_wait_fd(l2));
	EXPECT_NE(l3l2q_channel_wait_fd(c), l3l2q_channel_wait_fd(l2));
	l3l2q_channel_destroy(l2);
	l3l2q_channel_destroy(c);
	close(peer);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
}

TEST(echo_routes_calls_and_close)
{
	struct cp_result r;
	int status = -1;

	ASSERT_EQ(0, cl_echo(MEMFD, &r, &status));
	cl_check_echo(_metadata, &r, status);
}

TEST(kill9_ends_a_blocked_receive)
{
	struct cl_death d = { .recv = 1 };

	ASSERT_EQ(0, cl_death(MEMFD, &d));
	EXPECT_EQ(128 + SIGKILL, d.status);
	EXPECT_EQ(-ECONNRESET, d.recv);
	EXPECT_TRUE(d.wait_revents & POLLIN);
}

/* Two channels in one process: L3 here, L2 attached here too. */
FIXTURE(pair) {
	struct l3l2q_channel *l3, *l2;
};

FIXTURE_SETUP(pair)
{
	struct l3l2q_channel_params p = cl_params(MEMFD);
	int peer;

	ASSERT_EQ(0, l3l2q_channel_create(&p, &self->l3, NULL));
	peer = l3l2q_channel_peer_fd(self->l3);
	ASSERT_LE(0, peer);
	ASSERT_EQ(0, l3l2q_channel_attach(peer, &self->l2, NULL));
	close(peer);
}

FIXTURE_TEARDOWN(pair)
{
	l3l2q_channel_destroy(self->l2);
	l3l2q_channel_destroy(self->l3);
}

static void send_one(struct __test_metadata *_metadata,
		     struct l3l2q_channel *c, unsigned char route)
{
	struct l3l2q_chan_ctx ctx;

	l3l2q_chan_ctx_init(&ctx, l3l2q_channel_chan(c));
	ASSERT_EQ(0, l3l2q_chan_try_lease(&ctx, 0));
	ASSERT_EQ(0, l3l2q_chan_send(&ctx, route, 1000 + route, &route, 1,
				     cp_deadline()));
	ASSERT_EQ(0, l3l2q_chan_unlease(&ctx));
}

/* A receive blocked in the futex, woken by the send. */
TEST_F(pair, blocking_recv_woken_by_send)
{
	struct cp_receiver rc = { .ch = l3l2q_channel_chan(self->l3), .ret = 1 };
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, cp_receiver_main, &rc));
	send_one(_metadata, self->l2, 5);
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, rc.ret);
	EXPECT_EQ(5u, rc.m.route);
	EXPECT_EQ(1005ull, rc.m.correlation_id);
	EXPECT_EQ(5, rc.b);
}

/* The wait fd: quiet until the peer kicks an armed side. */
TEST_F(pair, wait_fd_woken_by_send)
{
	struct pollfd p = { .events = POLLIN };
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	unsigned char b = 0;
	__u32 off, seen;
	__u64 v;

	p.fd = l3l2q_channel_wait_fd(self->l3);
	ASSERT_LE(0, p.fd);
	l3l2q_chan_ctx_init(&ctx, l3l2q_channel_chan(self->l3));
	ASSERT_EQ(0, l3l2q_chan_want_wakeup(&ctx, L3L2Q_CHAN_WANT_RECV, &off,
					    &seen));
	ASSERT_EQ(-EAGAIN, l3l2q_chan_try_recv(&ctx, &b, 1, &m));
	ASSERT_EQ(0, poll(&p, 1, 0));
	send_one(_metadata, self->l2, 6);
	ASSERT_EQ(1, poll(&p, 1, (int)(CP_WATCHDOG_NS / 1000000)));
	ASSERT_EQ((ssize_t)sizeof(v), read(p.fd, &v, sizeof(v)));
	l3l2q_chan_clear_wakeup(&ctx);
	ASSERT_EQ(0, l3l2q_chan_try_recv(&ctx, &b, 1, &m));
	EXPECT_EQ(6u, m.route);
	EXPECT_EQ(6, b);
}

/* The L2 gives its role up: a blocked receive of the L3 ends. */
TEST_F(pair, peer_destroy_ends_a_blocked_receive)
{
	struct cp_receiver rc = { .ch = l3l2q_channel_chan(self->l3), .ret = 1 };
	pthread_t th;

	ASSERT_EQ(0, pthread_create(&th, NULL, cp_receiver_main, &rc));
	l3l2q_channel_destroy(self->l2);
	self->l2 = NULL;
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(-ECONNRESET, rc.ret);
}

TEST_HARNESS_MAIN
