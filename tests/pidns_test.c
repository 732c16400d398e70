// SPDX-License-Identifier: MIT
/*
 * Peer identity across pid namespaces (issue 12, item 2): a memfd L2 in
 * its own pid namespace (util-linux `unshare -p -f`), attached over a
 * unix socket the way l3l2q-devsim --socket is.  The roles exchange pidfds
 * over the attach socket; a pid number read from the control block would
 * name another process in the other namespace (before: the L2 took its
 * live L3 for dead, the L3 watched its own init and slept through the
 * L2's death).  Streaming works in both directions, with both sides in
 * blocking calls that sleep; and a kill -9 of the L2 is noticed by a
 * blocking call, by epoll on the wait fd and by an io_uring wait.
 *
 * The L2 is this same binary, run as "pidns_test --l2 SOCKET MODE" under
 * unshare; it needs root (CAP_SYS_ADMIN for the new namespace).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "helpers.h"
#include "libl3l2q_uring.h"
#include "streamer.h"

#define SEC		1000000000ull
#define PN_MSGS		20000ull
#define PN_MAX		256ull

/* ---- the L2, in its own pid namespace ---- */

static int l2_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s, fd, i;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	for (i = 0; i < 500; i++) {
		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			break;
		usleep(10000);
	}
	fd = l3l2q_recv_fd(s);
	close(s);
	return fd;
}

/*
 * "echo": answer every input with the same bytes, in blocking calls that
 * sleep (the L3 side is watched through its pidfd), until STOP.
 * "idle": answer one input, then wait to be killed.
 */
static int l2_main(const char *path, const char *mode)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	struct l3l2q_msg m;
	struct l3l2q_res r;
	struct l3l2q_l2 *l2;
	int fd, ret;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = l2_connect(path);
	if (fd < 0 || l3l2q_attach(fd, NULL, &q, &err)) {
		fprintf(stderr, "pidns L2: attach: %s\n", fd < 0 ? "no fd" :
			err.message);
		return 10;
	}
	close(fd);
	l2 = l3l2q_queue_l2(q);
	l3l2q_ep_set_spin_attempts(&l2->ep, 8);	/* sleep often */
	for (;;) {
		ret = l3l2q_l2_peek(l2, l3l2q_deadline_in(60 * SEC), &m);
		if (ret || m.opcode == L3L2Q_OP_STOP)
			break;
		ret = l3l2q_l2_reserve(l2, m.nbytes, l3l2q_deadline_in(60 * SEC),
				       &r);
		if (ret)
			break;
		if (m.nbytes)
			memcpy(r.data, m.data, m.nbytes);
		ret = l3l2q_l2_publish(l2, &r, L3L2Q_OP_DATA);
		if (!ret)
			ret = l3l2q_l2_release(l2, &m);
		if (ret)
			break;
		if (!strcmp(mode, "idle"))
			for (;;)
				pause();
	}
	if (!ret)
		ret = l3l2q_l2_release(l2, &m);
	if (ret)
		fprintf(stderr, "pidns L2 (pid %d here): %d: %s\n", getpid(),
			ret, l3l2q_ep_last_error(&l2->ep)->message);
	l3l2q_destroy(q);
	return ret ? 11 : 0;
}

/* ---- the L3, here ---- */

struct pn {
	char dir[64], path[96];
	int lsock;
	pid_t pgrp;		/* unshare and the L2 under it */
	struct l3l2q_queue *q;
};

/* Start the L2 under unshare -p -f and hand it the queue; 0 or -errno. */
static int pn_start(struct pn *p, const char *mode)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char self[4096];
	ssize_t n;
	int c, fd, ret;

	memset(p, 0, sizeof(*p));
	p->lsock = -1;
	snprintf(p->dir, sizeof(p->dir), "/tmp/l3l2q-pidns-XXXXXX");
	if (!mkdtemp(p->dir))
		return -errno;
	snprintf(p->path, sizeof(p->path), "%s/sock", p->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", p->path);
	p->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lsock < 0 || bind(p->lsock, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(p->lsock, 1))
		return -errno;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	p->q = stream_create(L3L2Q_BACKEND_MEMFD, 16, 4096, 4096, 0);
	if (!p->q)
		return -ENOMEM;
	l3l2q_ep_set_spin_attempts(&l3l2q_queue_l3(p->q)->ep, 8);
	p->pgrp = fork();
	if (p->pgrp < 0)
		return -errno;
	if (p->pgrp == 0) {
		/* A group of its own: kill -9 reaches unshare and the L2. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("unshare", "unshare", "-p", "-f", "--kill-child", self,
		       "--l2", p->path, mode, (char *)NULL);
		_exit(127);
	}
	setpgid(p->pgrp, p->pgrp);
	c = accept4(p->lsock, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -errno;
	fd = l3l2q_peer_fd(p->q);
	ret = fd < 0 ? fd : l3l2q_send_fd(c, fd);
	if (fd >= 0)
		close(fd);
	close(c);
	return ret;
}

static void pn_stop(struct pn *p)
{
	if (p->pgrp > 0) {
		kill(-p->pgrp, SIGKILL);
		waitpid(p->pgrp, NULL, 0);
	}
	if (p->lsock >= 0)
		close(p->lsock);
	unlink(p->path);
	rmdir(p->dir);
	l3l2q_destroy(p->q);
	p->q = NULL;
}

/* The L2 is in another pid namespace: its init is not ours. */
static int pn_other_ns(pid_t pgrp)
{
	char a[96], b[96], pa[256], pb[256];
	ssize_t n1, n2;
	FILE *f;
	int kid = 0;

	snprintf(a, sizeof(a), "/proc/%d/task/%d/children", pgrp, pgrp);
	f = fopen(a, "r");
	if (!f || fscanf(f, "%d", &kid) != 1)
		kid = 0;
	if (f)
		fclose(f);
	if (!kid)
		return -1;
	snprintf(a, sizeof(a), "/proc/self/ns/pid");
	snprintf(b, sizeof(b), "/proc/%d/ns/pid", kid);
	n1 = readlink(a, pa, sizeof(pa) - 1);
	n2 = readlink(b, pb, sizeof(pb) - 1);
	if (n1 < 0 || n2 < 0)
		return -1;
	pa[n1] = pb[n2] = 0;
	return strcmp(pa, pb) != 0;
}

FIXTURE(pidns) {
	int unused;
};

FIXTURE_SETUP(pidns)
{
}

FIXTURE_TEARDOWN(pidns)
{
}

TEST_F_TIMEOUT(pidns, stream_with_an_l2_in_another_pid_namespace, 300)
{
	unsigned char out[PN_MAX], in[PN_MAX];
	struct l3l2q_stats st;
	struct l3l2q_msg m;
	struct l3l2q_l3 *l3;
	struct pn p;
	__u64 n, sent = 0, got = 0;
	int ret;

	ASSERT_EQ(0u, getuid()) TH_LOG("unshare -p needs root");
	ASSERT_EQ(0, pn_start(&p, "echo"));
	l3 = l3l2q_queue_l3(p.q);
	/* Up to 8 in flight; both sides sleep in blocking calls. */
	while (got < PN_MSGS) {
		if (sent < PN_MSGS && sent - got < 8) {
			n = msg_size(DIR_IN, sent, PN_MAX);
			msg_fill(DIR_IN, sent, out, n);
			ret = l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, out, n,
					       l3l2q_deadline_in(30 * SEC));
			ASSERT_EQ(0, ret) TH_LOG("enqueue %llu: %s",
				(unsigned long long)sent,
				l3l2q_ep_last_error(&l3->ep)->message);
			sent++;
			continue;
		}
		ret = l3l2q_l3_dequeue(l3, in, sizeof(in),
				       l3l2q_deadline_in(30 * SEC), &m);
		ASSERT_EQ(0, ret) TH_LOG("dequeue %llu: %s",
			(unsigned long long)got,
			l3l2q_ep_last_error(&l3->ep)->message);
		ASSERT_EQ(msg_size(DIR_IN, got, PN_MAX), m.nbytes);
		ASSERT_EQ(0, msg_check(DIR_IN, got, in, m.nbytes));
		got++;
	}
	EXPECT_EQ(1, pn_other_ns(p.pgrp));
	ASSERT_EQ(0, l3l2q_l3_request_stop(l3, l3l2q_deadline_in(30 * SEC)));
	ASSERT_EQ(0, l3l2q_ep_stats(&l3->ep, &st));
	TH_LOG("%llu messages each way; the L3 slept %llu times",
	       (unsigned long long)got, (unsigned long long)st.sleeps);
	/* unshare returns the L2's status. */
	EXPECT_EQ(0, th_wait_child(p.pgrp));
	p.pgrp = -1;
	/* The L2 destroyed its queue: it is gone, and only now. */
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_dequeue(l3, in, sizeof(in),
						l3l2q_deadline_in(5 * SEC), &m));
	pn_stop(&p);
}

enum pn_mech { PN_BLOCKING, PN_EPOLL, PN_URING };

FIXTURE(kill) {
	struct pn p;
};

FIXTURE_VARIANT(kill) {
	enum pn_mech mech;
};

FIXTURE_VARIANT_ADD(kill, blocking) { .mech = PN_BLOCKING };
FIXTURE_VARIANT_ADD(kill, epoll) { .mech = PN_EPOLL };
FIXTURE_VARIANT_ADD(kill, io_uring) { .mech = PN_URING };

FIXTURE_SETUP(kill)
{
	memset(&self->p, 0, sizeof(self->p));
	self->p.lsock = -1;
}

FIXTURE_TEARDOWN(kill)
{
	pn_stop(&self->p);
}

/*
 * The L2 (in its namespace) answers one message, then idles.  The L3
 * waits for output by the variant's way (blocking dequeue, epoll on the
 * bit's wait fd, an io_uring wait, each with a 20 s deadline); the L2 is
 * killed with SIGKILL 300 ms later.  The L3 hears of it within a second
 * of the kill.
 */
TEST_F_TIMEOUT(kill, sigkill_of_an_l2_in_another_pid_namespace_is_noticed, 120)
{
	const __u32 bit = L3L2Q_WAKE_OUTPUT_AVAIL;
	unsigned char buf[64] = { 1 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct l3l2q_msg m;
	struct l3l2q_l3 *l3;
	__u64 t0, ns;
	int ret = 0, epfd;
	pid_t killer;

	ASSERT_EQ(0u, getuid()) TH_LOG("unshare -p needs root");
	ASSERT_EQ(0, pn_start(&self->p, "idle"));
	l3 = l3l2q_queue_l3(self->p.q);
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, 8,
				      l3l2q_deadline_in(30 * SEC)));
	ASSERT_EQ(0, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
				      l3l2q_deadline_in(30 * SEC), &m));
	EXPECT_EQ(1, pn_other_ns(self->p.pgrp));
	killer = fork();
	ASSERT_LE(0, killer);
	if (killer == 0) {
		usleep(300000);
		kill(-self->p.pgrp, SIGKILL);
		_exit(0);
	}
	t0 = l3l2q_now_ns();
	switch (variant->mech) {
	case PN_BLOCKING:
		ret = l3l2q_l3_dequeue(l3, buf, sizeof(buf),
				       l3l2q_deadline_in(20 * SEC), &m);
		break;
	case PN_EPOLL:
		epfd = epoll_create1(EPOLL_CLOEXEC);
		ASSERT_LE(0, epfd);
		ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD,
				       l3l2q_queue_wait_fd(self->p.q, bit), &ev));
		/* W1-W3, then W4 until something happens. */
		ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, bit));
		ASSERT_EQ(-EAGAIN, l3l2q_l3_try_dequeue(l3, buf, sizeof(buf),
							&m));
		ret = epoll_wait(epfd, &ev, 1, 20000);
		close(epfd);
		ASSERT_EQ(1, ret);
		/* W5: arming again says why. */
		ret = l3l2q_ep_want_wakeup(&l3->ep, bit);
		break;
	case PN_URING:
		ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
		ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, bit));
		ASSERT_EQ(-EAGAIN, l3l2q_l3_try_dequeue(l3, buf, sizeof(buf),
							&m));
		ASSERT_EQ(0, l3l2q_prep_wait(io_uring_get_sqe(&ring), self->p.q,
					     bit, l3l2q_deadline_in(20 * SEC),
					     NULL));
		ASSERT_EQ(1, io_uring_submit(&ring));
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_EQ(POLLIN, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
		io_uring_queue_exit(&ring);
		ret = l3l2q_ep_want_wakeup(&l3->ep, bit);
		break;
	}
	ns = l3l2q_now_ns() - t0;
	TH_LOG("the L3 heard %d %llu ms after it began to wait (the kill "
	       "came at 300 ms)", ret, (unsigned long long)ns / 1000000);
	EXPECT_EQ(-ECONNRESET, ret);
	EXPECT_LE(150ull * 1000000, ns);	/* woken by the kill... */
	EXPECT_GT(300ull * 1000000 + SEC, ns);	/* ...within a second */
	/* And any later blocking call says so at once. */
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
						l3l2q_deadline_in(5 * SEC), &m));
	th_wait_child(killer);
	waitpid(self->p.pgrp, NULL, 0);
	self->p.pgrp = -1;
}

/* TEST_HARNESS_MAIN, and the L2's entry when run as "--l2 SOCKET MODE". */
static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--l2"))
		return l2_main(argv[2], argv[3]);
	return test_harness_run(argc, argv);
}
