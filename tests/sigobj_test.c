// SPDX-License-Identifier: MIT
/*
 * sigobj_test - signals regions as library objects on the memfd backing
 * (libl3l2q_signals.h): bad parameters, create / peer fd / attach across
 * two processes, a sleeping waiter woken through its eventfd by a notify
 * that crosses its target, round trips with data, and the peer's death
 * ending a wait that has no deadline (killed, or destroyed), both ways.
 * Fixed work; the harness's timeout is the watchdog for a lost wake-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libl3l2q_signals.h"
#include "sig_attach.h"
#include "kselftest_harness.h"

#define COUNT		4u
#define DATA_BYTES	256ull
#define ROUNDS		1000u

static const struct l3l2q_sig_params good = {
	.data_bytes = DATA_BYTES, .signal_count = COUNT,
	.backend = L3L2Q_BACKEND_MEMFD,
};

/* The arm word of @role's waiter entry for slot @id, in @sg's mapping. */
static __u32 arm_word(struct l3l2q_signals *sg, __u32 role, __u32 id)
{
	struct l3l2q_sig_layout l;
	struct l3l2q_sig_info info;
	const char *base;

	l3l2q_sig_info(l3l2q_signals_handle(sg), &info);
	l3l2q_sig_layout(DATA_BYTES, COUNT, 0, 0, &l);
	base = (const char *)info.signals - l.hdmem.signal_offset -
	       l.hdmem_offset;
	return __atomic_load_n((const __u32 *)(base + l.table_offset[role] +
					       id * L3L2Q_SIG_WAITER_BYTES +
					       16), __ATOMIC_ACQUIRE);
}

static void pause_ms(unsigned int ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return 254;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

TEST(bad_params)
{
	struct l3l2q_sig_params p = good;
	struct l3l2q_signals *sg = (void *)1;
	struct l3l2q_error err;

	EXPECT_EQ(-EINVAL, l3l2q_sig_create(NULL, &sg, &err));
	EXPECT_EQ(NULL, sg);
	EXPECT_EQ(-EINVAL, l3l2q_sig_create(&p, NULL, &err));
	p.signal_count = 0;
	EXPECT_EQ(-EINVAL, l3l2q_sig_create(&p, &sg, &err));
	EXPECT_NE(NULL, strstr(err.message, "signal_count"));
	p = good;
	p.data_bytes = 0;
	EXPECT_EQ(-EINVAL, l3l2q_sig_create(&p, &sg, &err));
	EXPECT_NE(NULL, strstr(err.message, "data_bytes"));
	p = good;
	p.sig_flags = 1u << 9;
	EXPECT_EQ(-EINVAL, l3l2q_sig_create(&p, &sg, &err));
	EXPECT_NE(NULL, strstr(err.message, "sig_flags"));
	p = good;
	p.resv[1] = 1;
	EXPECT_EQ(-EINVAL, l3l2q_sig_create(&p, &sg, &err));
	EXPECT_NE(NULL, strstr(err.message, "resv"));
	p = good;
	p.backend = 9;
	EXPECT_EQ(-EINVAL, l3l2q_sig_create(&p, &sg, &err));
	EXPECT_NE(NULL, strstr(err.message, "backend"));
	EXPECT_EQ(-EBADF, l3l2q_sig_attach(-1, &sg, &err));
	EXPECT_EQ(NULL, l3l2q_signals_handle(NULL));
	EXPECT_EQ(-EINVAL, l3l2q_signals_wait_fd(NULL));
	EXPECT_EQ(-EINVAL, l3l2q_sig_peer_fd(NULL));
	l3l2q_sig_destroy(NULL);
}

/* A pipe is neither a bundle socket nor a driver fd. */
TEST(attach_wrong_fd)
{
	struct l3l2q_signals *sg;
	struct l3l2q_error err;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, l3l2q_sig_attach(p[0], &sg, &err));
	EXPECT_EQ(NULL, sg);
	close(p[0]);
	close(p[1]);
}

FIXTURE(obj) {
	struct l3l2q_signals *l3;
	struct l3l2q_sig *s;
	int peer;
};

FIXTURE_SETUP(obj)
{
	struct l3l2q_error err;

	ASSERT_EQ(0, l3l2q_sig_create(&good, &self->l3, &err));
	self->s = l3l2q_signals_handle(self->l3);
	ASSERT_NE(NULL, self->s);
	self->peer = l3l2q_sig_peer_fd(self->l3);
	ASSERT_LE(0, self->peer);
	/* One L2 per region. */
	EXPECT_EQ(-EBUSY, l3l2q_sig_peer_fd(self->l3));
	ASSERT_LE(0, l3l2q_signals_wait_fd(self->l3));
}

FIXTURE_TEARDOWN(obj)
{
	l3l2q_sig_destroy(self->l3);
	close(self->peer);
}

/*
 * The L2 sleeps on slot 0; L3 waits until it is armed, then notifies:
 * exactly one kick (the target was crossed and the waiter armed), and the
 * child wakes through its eventfd.  A notify below the target first
 * kicks nobody.
 */
TEST_F(obj, sleeper_woken_by_crossing)
{
	const struct l3l2q_stats *st = l3l2q_sig_stats(self->s);
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_signals *sg;
		struct l3l2q_sig *s = sa_child_attach(self->peer, &sg);
		__u64 seen = 0;

		if (l3l2q_sig_wait(s, 0, L3L2Q_SIG_CMP_GE, 5,
				   L3L2Q_DEADLINE_NONE, &seen) || seen != 5)
			_exit(10);
		l3l2q_sig_destroy(sg);
		_exit(0);
	}
	while (!(arm_word(self->l3, L3L2Q_ROLE_L2, 0) & L3L2Q_SIG_CMP_MASK))
		pause_ms(1);
	ASSERT_EQ(0, l3l2q_sig_notify(self->s, 0, 4));
	EXPECT_EQ(0u, st->kicks);
	ASSERT_EQ(0, l3l2q_sig_notify(self->s, 0, 5));
	EXPECT_EQ(1u, st->kicks);
	EXPECT_EQ(0, reap(pid));
}

/* Round trips with data, both sides blocking with no deadline. */
TEST_F(obj, pingpong)
{
	__u64 i, seen, data;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_signals *sg;
		struct l3l2q_sig *s = sa_child_attach(self->peer, &sg);

		for (i = 1; i <= ROUNDS; i++) {
			if (l3l2q_sig_wait(s, 0, L3L2Q_SIG_CMP_GE, i,
					   L3L2Q_DEADLINE_NONE, &seen))
				_exit(10);
			if (l3l2q_sig_read(s, 8, &data, sizeof(data)) ||
			    data != i * 7)
				_exit(11);
			if (l3l2q_sig_notify(s, 1, i))
				_exit(12);
		}
		l3l2q_sig_destroy(sg);
		_exit(0);
	}
	for (i = 1; i <= ROUNDS; i++) {
		data = i * 7;
		ASSERT_EQ(0, l3l2q_sig_write(self->s, 8, &data, sizeof(data)));
		ASSERT_EQ(0, l3l2q_sig_notify(self->s, 0, i));
		ASSERT_EQ(0, l3l2q_sig_wait(self->s, 1, L3L2Q_SIG_CMP_GE, i,
					    L3L2Q_DEADLINE_NONE, &seen));
		ASSERT_EQ(i, seen);
	}
	EXPECT_EQ(0, reap(pid));
}

/*
 * Fork an L2 that attaches, says so on a pipe, then runs @then (which
 * does not return); returns once it is attached.
 */
static pid_t fork_attached(int peer, void (*then)(struct l3l2q_sig *s))
{
	struct l3l2q_signals *sg;
	struct l3l2q_sig *s;
	int sync[2];
	pid_t pid;

	pid = sa_fork_attached(peer, &sg, &s, sync);
	if (pid == 0)
		then(s);
	if (sync[0] >= 0) {
		close(sync[0]);
		close(sync[1]);
	}
	return pid;
}

static void sleep_until_killed(struct l3l2q_sig *s)
{
	(void)s;
	for (;;)
		pause();
}

static void wait_for_reset(struct l3l2q_sig *s)
{
	_exit(l3l2q_sig_wait(s, 0, L3L2Q_SIG_CMP_GE, 1, L3L2Q_DEADLINE_NONE,
			     NULL) == -ECONNRESET ? 0 : 12);
}

/* The L2 is killed while L3 waits with no deadline: -ECONNRESET. */
TEST_F(obj, l2_killed)
{
	pid_t pid = fork_attached(self->peer, sleep_until_killed);

	ASSERT_LT(0, pid);
	kill(pid, SIGKILL);
	EXPECT_EQ(255, reap(pid));
	EXPECT_EQ(-ECONNRESET, l3l2q_sig_wait(self->s, 1, L3L2Q_SIG_CMP_GE, 1,
					      L3L2Q_DEADLINE_NONE, NULL));
}

/* The L3 is destroyed under a waiter with no deadline: -ECONNRESET. */
TEST_F(obj, l3_gone)
{
	pid_t pid = fork_attached(self->peer, wait_for_reset);

	ASSERT_LT(0, pid);
	l3l2q_sig_destroy(self->l3);
	self->l3 = NULL;
	EXPECT_EQ(0, reap(pid));
}

/*
 * The L3's process is killed under the L2's wait: the L3's pidfd in the
 * bundle says so.  Here the test process is the L2.
 */
TEST(l3_killed)
{
	struct l3l2q_signals *l2;
	struct l3l2q_error err;
	int sv[2], fd;
	pid_t owner;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				sv));
	owner = fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		struct l3l2q_signals *l3;
		int peer;

		if (l3l2q_sig_create(&good, &l3, NULL))
			_exit(20);
		peer = l3l2q_sig_peer_fd(l3);
		if (peer < 0 || l3l2q_send_fd(sv[1], peer))
			_exit(21);
		for (;;)
			pause();
	}
	fd = l3l2q_recv_fd(sv[0]);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, l3l2q_sig_attach(fd, &l2, &err));
	kill(owner, SIGKILL);
	EXPECT_EQ(255, reap(owner));
	EXPECT_EQ(-ECONNRESET,
		  l3l2q_sig_wait(l3l2q_signals_handle(l2), 0, L3L2Q_SIG_CMP_GE,
				 1, L3L2Q_DEADLINE_NONE, NULL));
	l3l2q_sig_destroy(l2);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

/* A fork child that destroys its inherited copy does not kill the role. */
TEST_F(obj, fork_copy_destroyed)
{
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		l3l2q_sig_destroy(self->l3);
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_signals *sg;
		struct l3l2q_sig *s = sa_child_attach(self->peer, &sg);

		/* The L3 is alive: a timeout, not -ECONNRESET. */
		_exit(l3l2q_sig_wait(s, 0, L3L2Q_SIG_CMP_GE, 1, 0, NULL) ==
		      -ETIMEDOUT ? 0 : 10);
	}
	EXPECT_EQ(0, reap(pid));
}

TEST_HARNESS_MAIN
