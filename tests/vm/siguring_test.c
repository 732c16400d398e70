// SPDX-License-Identifier: MIT
/*
 * siguring_test - SIG_WAIT as an io_uring command (kmod/l3l2q_siguring.c):
 * IORING_OP_URING_CMD, cmd_op L3L2Q_IOC_SIG_WAIT, the 32-byte
 * struct l3l2q_sig_wait_args as the payload of an SQE128 ring, prepared
 * with libl3l2q's l3l2q_sig_prep_wait().
 *
 *   - it completes 0 when a peer process notifies and kicks, with each
 *     entry's value and ready written back; a kick that crosses no target
 *     leaves it pending (the debugfs counters say the wake function looked
 *     and did not complete it: no timing);
 *   - WAIT_ALL, already-ready at issue (the CQE is there when submit
 *     returns), -ETIMEDOUT at a deadline (never before it) with the values
 *     written back, the peer's death (-ECONNRESET);
 *   - a 64-byte-SQE ring and bad arguments give -EINVAL, a bad waitv
 *     pointer -EFAULT, more than L3L2Q_SIG_WAITERS_MAX pending -EBUSY;
 *   - the role's last close, or last munmap, ends its pending commands
 *     -ECANCELED and the peer sees the role die;
 *   - many commands complete exactly once each (CQEs counted by
 *     user_data, then a NOP shows nothing else was posted);
 *   - a submitter's exit does not leave commands behind (6.7+: io_uring
 *     cancels them; 6.1: the uring_max_wait_ms cap ends them).
 *
 * Nothing is judged by time: waits have generous watchdogs only.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "l3l2q_signals.h"
#include "l3l2q_signals_core.h"
#include "libl3l2q_uring.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "sig_helpers.h"
#include "wait_cmd.h"

#define DEV_PATH	"/dev/l3l2q"
#define COUNT		8u
#define DATA_BYTES	4096ull
#define FOREVER		(~0ull)
#define MS		1000000ull
#define SEC		1000000000ull
/* A CQE's watchdog: TCG is slow, and no verdict depends on it. */
#define CQE_MS		60000u
#define NOP_UD		0xfeedull

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static int create_sig(int dev, int *l3, int *l2, struct l3l2q_sig_layout *l)
{
	struct l3l2q_peer_args peer = { .fd = -1 };
	struct l3l2q_create_args a;

	memset(&a, 0, sizeof(a));
	a.kind = L3L2Q_KIND_SIGNALS;
	a.data_bytes = DATA_BYTES;
	a.signal_count = COUNT;
	a.fd = -1;
	if (ioctl(dev, L3L2Q_IOC_CREATE, &a))
		return -errno;
	if (ioctl(a.fd, L3L2Q_IOC_PEER, &peer)) {
		close(a.fd);
		return -errno;
	}
	*l3 = a.fd;
	*l2 = peer.fd;
	if (l3l2q_sig_layout(DATA_BYTES, COUNT, 0, 0, l) != L3L2Q_SIG_LAYOUT_OK)
		return -EINVAL;
	return 0;
}

/* N1 (a release store), then, with @kick_fd, a SIG_KICK of @role. */
static int notify(void *m, const struct l3l2q_sig_layout *l, __u32 id,
		  __u64 v, int kick_fd, __u32 role)
{
	struct l3l2q_sig_kick_args k = { .id = id, .role = role };

	__atomic_store_n(slot_of(m, l, id), v, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (kick_fd < 0)
		return 0;
	return ioctl(kick_fd, L3L2Q_IOC_SIG_KICK, &k) ? -errno : 0;
}

static void set_v(struct l3l2q_sig_waitv *v, __u32 id, __u32 cmp,
		  __u64 target)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->cmp = cmp;
	v->target = target;
	/* Output fields: the kernel must overwrite them. */
	v->value = 0xdeadull;
	v->ready = 0xdead;
}

/* An SQE128 ring: the only kind SIG_WAIT's 32-byte payload fits. */
static int ring128(struct io_uring *ring, unsigned int entries)
{
	return io_uring_queue_init(entries, ring, IORING_SETUP_SQE128);
}

/* Prepare (not submit) a SIG_WAIT with @args; 0 or -errno. */
static int prep(struct io_uring *ring, int fd, struct l3l2q_sig_wait_args *a,
		__u64 ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	ret = l3l2q_sig_prep_wait(sqe, fd, a);
	if (ret)
		return ret;
	io_uring_sqe_set_data64(sqe, ud);
	return 0;
}

static int submit_wait(struct io_uring *ring, int fd,
		       struct l3l2q_sig_waitv *v, __u32 nr, __u32 flags,
		       __u64 deadline_ns, __u64 ud)
{
	struct l3l2q_sig_wait_args a = {
		.waitv = (__u64)(uintptr_t)v, .nr = nr, .flags = flags,
		.deadline_ns = deadline_ns,
	};
	int ret = prep(ring, fd, &a, ud);

	if (ret)
		return ret;
	ret = io_uring_submit(ring);
	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

/*
 * A NOP through the ring, and its CQE: every CQE posted before it is
 * counted in *@extra.  Returns 0, or -ETIME.
 */
static int nop_barrier(struct io_uring *ring, unsigned int *extra)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	__u64 ud = 0;
	int res;

	*extra = 0;
	if (!sqe)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, NOP_UD);
	if (io_uring_submit(ring) != 1)
		return -EIO;
	for (;;) {
		if (vm_get_cqe(ring, CQE_MS, &res, &ud))
			return -ETIME;
		if (ud == NOP_UD)
			return 0;
		(*extra)++;
	}
}

/* SIG_WAIT (the ioctl), again after -EINTR (task work of this ring). */
static int ioctl_wait1(int fd, __u32 id, __u32 cmp, __u64 target,
		       __u64 deadline_ns)
{
	struct l3l2q_sig_waitv v;
	struct l3l2q_sig_wait_args a = {
		.waitv = (__u64)(uintptr_t)&v, .nr = 1,
		.deadline_ns = deadline_ns,
	};
	int ret;

	set_v(&v, id, cmp, target);
	do
		ret = ioctl(fd, L3L2Q_IOC_SIG_WAIT, &a) ? -errno : 0;
	while (ret == -EINTR);
	return ret;
}

/* Until debugfs @key of region @id is @want (a watchdog, not a timing). */
static int dbg_until(unsigned long long id, const char *key, long long want)
{
	unsigned int i;

	for (i = 0; i < VM_WATCHDOG_MS / 10; i++) {
		if (dbg_num(id, key) == want)
			return 0;
		sleep_ms(10);
	}
	return -ETIME;
}

/* ---------------------------------------------------------------------- */
/* Fixture: a signals region, both roles, both mapped; an SQE128 ring     */
/* ---------------------------------------------------------------------- */

FIXTURE(su) {
	int dev, l3, l2;
	void *m3, *m2;
	struct l3l2q_sig_layout l;
	unsigned long long id;
	unsigned long max_wait_ms;
	struct io_uring ring;
	int ring_ok;
};

FIXTURE_SETUP(su)
{
	self->m3 = MAP_FAILED;
	self->m2 = MAP_FAILED;
	self->l3 = -1;
	self->l2 = -1;
	self->ring_ok = 0;
	ASSERT_EQ(0, ensure_debugfs());
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, read_param("uring_max_wait_ms", &self->max_wait_ms));
	/*
	 * 6.1 caps every queued command at uring_max_wait_ms: long enough
	 * here that no command of these tests meets it (but the one test of
	 * the cap), so each result is the one the test chose.
	 */
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 3600 * 1000));
	ASSERT_EQ(0, create_sig(self->dev, &self->l3, &self->l2, &self->l));
	self->m3 = mmap(NULL, self->l.total_bytes, PROT_READ | PROT_WRITE,
			MAP_SHARED, self->l3, 0);
	ASSERT_NE(MAP_FAILED, self->m3);
	self->m2 = mmap(NULL, self->l.total_bytes, PROT_READ | PROT_WRITE,
			MAP_SHARED, self->l2, 0);
	ASSERT_NE(MAP_FAILED, self->m2);
	self->id = fd_queue_id(self->l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
	ASSERT_EQ(0, ring128(&self->ring, 128));
	self->ring_ok = 1;
}

FIXTURE_TEARDOWN(su)
{
	if (self->m3 != MAP_FAILED)
		munmap(self->m3, self->l.total_bytes);
	if (self->m2 != MAP_FAILED)
		munmap(self->m2, self->l.total_bytes);
	if (self->l2 >= 0)
		close(self->l2);
	if (self->l3 >= 0)
		close(self->l3);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	close(self->dev);
	write_param("uring_max_wait_ms", self->max_wait_ms);
}

/* ---------------------------------------------------------------------- */
/* Results                                                                */
/* ---------------------------------------------------------------------- */

/*
 * L2 waits for slot 2 >= 5 (slot 3 == 9 as a second entry).  A peer
 * process (L3) notifies 3 and kicks: the wake function looks and leaves
 * the command pending.  Another notifies 7 and kicks: it completes 0,
 * each entry's value and ready written back.
 */
TEST_F_TIMEOUT(su, peer_notify_and_kick_completes, 300)
{
	struct l3l2q_sig_waitv v[2];
	long long checks, wakes;
	__u64 ud = 0;
	int res = 1;
	pid_t pid;

	set_v(&v[0], 2, L3L2Q_SIG_CMP_GE, 5);
	set_v(&v[1], 3, L3L2Q_SIG_CMP_EQ, 9);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, v, 2, 0, FOREVER, 11));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
	EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
	checks = dbg_num(self->id, "l2_waiter_checks");
	wakes = dbg_num(self->id, "l2_waiter_wakes");

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *m = mmap(NULL, self->l.total_bytes,
			       PROT_READ | PROT_WRITE, MAP_SHARED, self->l3, 0);

		if (m == MAP_FAILED)
			_exit(99);
		_exit(notify(m, &self->l, 2, 3, self->l3, 1) ? 98 : 0);
	}
	ASSERT_EQ(0, reap(pid));
	/* The kick walked the queue before it returned. */
	EXPECT_LT(checks, dbg_num(self->id, "l2_waiter_checks"));
	EXPECT_EQ(wakes, dbg_num(self->id, "l2_waiter_wakes"));
	EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		void *m = mmap(NULL, self->l.total_bytes,
			       PROT_READ | PROT_WRITE, MAP_SHARED, self->l3, 0);

		if (m == MAP_FAILED)
			_exit(99);
		_exit(notify(m, &self->l, 2, 7, self->l3, 1) ? 98 : 0);
	}
	ASSERT_EQ(0, reap(pid));
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(11ull, ud);
	EXPECT_EQ(0, res);
	EXPECT_EQ(7ull, v[0].value);
	EXPECT_EQ(1u, v[0].ready);
	EXPECT_EQ(0ull, v[1].value);
	EXPECT_EQ(0u, v[1].ready);
	/* The inputs are as given. */
	EXPECT_EQ(2u, v[0].id);
	EXPECT_EQ(5ull, v[0].target);
	EXPECT_EQ(wakes + 1, dbg_num(self->id, "l2_waiter_wakes"));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/* WAIT_ALL: one ready entry is not enough; both are. L3 kicks by KICK. */
TEST_F_TIMEOUT(su, wait_all, 300)
{
	struct l3l2q_sig_waitv v[2];
	long long wakes;
	__u64 ud = 0;
	int res = 1;

	set_v(&v[0], 0, L3L2Q_SIG_CMP_GE, 1);
	set_v(&v[1], 5, L3L2Q_SIG_CMP_GE, 1);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, v, 2,
				 L3L2Q_SIG_WAIT_ALL, FOREVER, 3));
	wakes = dbg_num(self->id, "l2_waiter_wakes");
	notify(self->m3, &self->l, 0, 1, -1, 0);
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_KICK));
	EXPECT_EQ(wakes, dbg_num(self->id, "l2_waiter_wakes"));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
	notify(self->m3, &self->l, 5, 4, -1, 0);
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(3ull, ud);
	EXPECT_EQ(0, res);
	EXPECT_EQ(1ull, v[0].value);
	EXPECT_EQ(4ull, v[1].value);
	EXPECT_EQ(1u, v[0].ready);
	EXPECT_EQ(1u, v[1].ready);
}

/*
 * Known at issue: the CQE is posted by the submit itself (no wake-up,
 * no waiter counted); deadline 0 is a check.
 */
TEST_F(su, known_at_issue_completes_at_once)
{
	struct l3l2q_sig_waitv v;
	__u64 ud = 0;
	int res = 1;

	notify(self->m3, &self->l, 1, 10, -1, 0);
	set_v(&v, 1, L3L2Q_SIG_CMP_GE, 10);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, &v, 1, 0, FOREVER, 1));
	ASSERT_EQ(1, vm_peek_cqe(&self->ring, &res, &ud));
	EXPECT_EQ(1ull, ud);
	EXPECT_EQ(0, res);
	EXPECT_EQ(10ull, v.value);
	EXPECT_EQ(1u, v.ready);

	set_v(&v, 1, L3L2Q_SIG_CMP_NE, 10);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, &v, 1, 0, 0, 2));
	ASSERT_EQ(1, vm_peek_cqe(&self->ring, &res, &ud));
	EXPECT_EQ(2ull, ud);
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_EQ(10ull, v.value);
	EXPECT_EQ(0u, v.ready);
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/* -ETIMEDOUT at the deadline, not before it, the values written back. */
TEST_F_TIMEOUT(su, deadline_times_out_with_values, 300)
{
	struct l3l2q_sig_waitv v[2];
	__u64 deadline, ud = 0;
	int res = 1;

	notify(self->m3, &self->l, 4, 3, -1, 0);
	set_v(&v[0], 4, L3L2Q_SIG_CMP_GE, 5);
	set_v(&v[1], 6, L3L2Q_SIG_CMP_EQ, 1);
	deadline = vm_now_ns() + 50 * MS;
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, v, 2, 0, deadline, 4));
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_LE(deadline, vm_now_ns());
	EXPECT_EQ(4ull, ud);
	EXPECT_EQ(-ETIMEDOUT, res);
	EXPECT_EQ(3ull, v[0].value);
	EXPECT_EQ(0u, v[0].ready);
	EXPECT_EQ(0ull, v[1].value);
	EXPECT_EQ(0u, v[1].ready);
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/*
 * The peer role dies (its last fd and mapping go): -ECONNRESET, values
 * written back; one already dead fails at issue the same way.
 */
TEST_F_TIMEOUT(su, peer_death_connreset, 300)
{
	struct l3l2q_sig_waitv v;
	__u64 ud = 0;
	int res = 1;

	notify(self->m3, &self->l, 7, 2, -1, 0);
	set_v(&v, 7, L3L2Q_SIG_CMP_GE, 100);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, &v, 1, 0, FOREVER, 5));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
	munmap(self->m3, self->l.total_bytes);
	self->m3 = MAP_FAILED;
	close(self->l3);
	self->l3 = -1;
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(5ull, ud);
	EXPECT_EQ(-ECONNRESET, res);
	EXPECT_EQ(2ull, v.value);
	EXPECT_EQ(0u, v.ready);

	set_v(&v, 7, L3L2Q_SIG_CMP_GE, 100);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, &v, 1, 0, FOREVER, 6));
	ASSERT_EQ(1, vm_peek_cqe(&self->ring, &res, &ud));
	EXPECT_EQ(-ECONNRESET, res);
	/* What is ready still wins over the death. */
	set_v(&v, 7, L3L2Q_SIG_CMP_GE, 2);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, &v, 1, 0, FOREVER, 7));
	ASSERT_EQ(1, vm_peek_cqe(&self->ring, &res, &ud));
	EXPECT_EQ(0, res);
}

/* ---------------------------------------------------------------------- */
/* Refusals                                                               */
/* ---------------------------------------------------------------------- */

/* A 64-byte-SQE ring has 16 payload bytes: -EINVAL, nothing read past. */
TEST_F(su, sqe64_ring_einval)
{
	struct l3l2q_sig_waitv v;
	struct l3l2q_sig_wait_args a;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	__u64 ud = 0;
	int res = 1;

	notify(self->m3, &self->l, 0, 1, -1, 0);
	set_v(&v, 0, L3L2Q_SIG_CMP_GE, 1);
	memset(&a, 0, sizeof(a));
	a.waitv = (__u64)(uintptr_t)&v;
	a.nr = 1;
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, self->l2, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_SIG_WAIT;
	/* What fits: the first 16 bytes. */
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &a, 16);
	sqe->user_data = 9;
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, vm_get_cqe(&ring, CQE_MS, &res, &ud));
	EXPECT_EQ(9ull, ud);
	EXPECT_EQ(-EINVAL, res);
	/* Nothing written back. */
	EXPECT_EQ(0xdeadull, v.value);
	io_uring_queue_exit(&ring);
}

static int one_result(struct io_uring *ring, int fd,
		      struct l3l2q_sig_wait_args *a)
{
	__u64 ud = 0;
	int res;

	if (prep(ring, fd, a, 77) || io_uring_submit(ring) != 1)
		return 1000;
	if (vm_get_cqe(ring, CQE_MS, &res, &ud) || ud != 77)
		return 1001;
	return res;
}

/* Every bad argument: -EINVAL (-EFAULT for waitv), nothing queued. */
TEST_F(su, bad_args)
{
	struct l3l2q_sig_waitv v[L3L2Q_SIG_WAITV_MAX + 1];
	struct l3l2q_sig_wait_args a;
	struct io_uring_sqe *sqe;
	unsigned int i;
	__u64 ud = 0;
	int res = 1;

	for (i = 0; i <= L3L2Q_SIG_WAITV_MAX; i++)
		set_v(&v[i], i % COUNT, L3L2Q_SIG_CMP_GE, 1);
#define RESET() do { memset(&a, 0, sizeof(a)); \
		a.waitv = (__u64)(uintptr_t)v; a.nr = 1; \
		a.deadline_ns = FOREVER; } while (0)
	RESET();
	a.nr = 0;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	RESET();
	a.nr = L3L2Q_SIG_WAITV_MAX + 1;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	RESET();
	a.flags = 2;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	RESET();
	a.resv = 1;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	RESET();
	v[0].id = COUNT;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	v[0].id = 0;
	v[0].cmp = 0;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	v[0].cmp = 99;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	v[0].cmp = L3L2Q_SIG_CMP_GE;
	/* A bad entry after good ones. */
	RESET();
	a.nr = 3;
	v[2].cmp = 7;
	EXPECT_EQ(-EINVAL, one_result(&self->ring, self->l2, &a));
	v[2].cmp = L3L2Q_SIG_CMP_GE;
	RESET();
	a.waitv = 8;
	EXPECT_EQ(-EFAULT, one_result(&self->ring, self->l2, &a));
	/* Not SIG_WAIT's cmd_op: -ENOTTY. */
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	RESET();
	ASSERT_EQ(0, l3l2q_sig_prep_wait(sqe, self->l2, &a));
	sqe->cmd_op = L3L2Q_IOC_SIG_KICK;
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(-ENOTTY, res);
#undef RESET
	EXPECT_EQ(-EINVAL, l3l2q_sig_prep_wait(NULL, self->l2, &a));
	EXPECT_EQ(-EINVAL, l3l2q_sig_prep_wait(io_uring_get_sqe(&self->ring),
					       -1, &a));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/*
 * L3L2Q_SIG_WAITERS_MAX commands pending, one more -EBUSY at once (and a
 * sleeping ioctl too: the cap is shared); one notify ends all of them,
 * each exactly once; then the cap is free again.  Several rounds.
 */
TEST_F_TIMEOUT(su, ebusy_beyond_cap_then_all_once, 600)
{
	static struct l3l2q_sig_waitv v[L3L2Q_SIG_WAITERS_MAX + 1];
	unsigned char seen[L3L2Q_SIG_WAITERS_MAX];
	unsigned int i, round, extra;
	__u64 ud = 0;
	int res = 1;

	for (round = 0; round < 4; round++) {
		__u64 target = (round + 1) * 10;

		for (i = 0; i <= L3L2Q_SIG_WAITERS_MAX; i++) {
			set_v(&v[i], i % COUNT, L3L2Q_SIG_CMP_GE, target);
			ASSERT_EQ(0, prep(&self->ring, self->l2, &(struct
				l3l2q_sig_wait_args){
					.waitv = (__u64)(uintptr_t)&v[i],
					.nr = 1, .deadline_ns = FOREVER }, i));
		}
		ASSERT_EQ((int)L3L2Q_SIG_WAITERS_MAX + 1,
			  io_uring_submit(&self->ring));
		ASSERT_EQ(1, vm_peek_cqe(&self->ring, &res, &ud));
		EXPECT_EQ((__u64)L3L2Q_SIG_WAITERS_MAX, ud);
		EXPECT_EQ(-EBUSY, res);
		EXPECT_EQ(L3L2Q_SIG_WAITERS_MAX,
			  dbg_num(self->id, "l2_kernel_waiters"));
		EXPECT_EQ(-EBUSY, ioctl_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE,
					      target, FOREVER));

		for (i = 0; i < COUNT; i++)
			notify(self->m3, &self->l, i, target, -1, 0);
		ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_KICK));
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < L3L2Q_SIG_WAITERS_MAX; i++) {
			ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
			ASSERT_LT(ud, (__u64)L3L2Q_SIG_WAITERS_MAX);
			EXPECT_EQ(0, seen[ud]);
			seen[ud] = 1;
			EXPECT_EQ(0, res);
			EXPECT_EQ(target, v[ud].value);
			EXPECT_EQ(1u, v[ud].ready);
		}
		ASSERT_EQ(0, nop_barrier(&self->ring, &extra));
		EXPECT_EQ(0u, extra);
		EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
	}
}

/*
 * Many commands at once, ended three ways - a notify, a deadline, the
 * peer's death - each exactly once, with the result of its way.
 */
TEST_F_TIMEOUT(su, many_complete_exactly_once, 600)
{
	enum { N = L3L2Q_SIG_WAITERS_MAX };
	static struct l3l2q_sig_waitv v[N];
	unsigned char seen[N];
	unsigned int i, extra;
	__u64 ud = 0, deadline;
	int res = 1;

	deadline = vm_now_ns() + 200 * MS;
	for (i = 0; i < N; i++) {
		/* i%3: 0 notified, 1 timed out, 2 ended by the death. */
		set_v(&v[i], i % 3, L3L2Q_SIG_CMP_GE, 5);
		ASSERT_EQ(0, prep(&self->ring, self->l2, &(struct
			l3l2q_sig_wait_args){ .waitv = (__u64)(uintptr_t)&v[i],
				.nr = 1,
				.deadline_ns = i % 3 == 1 ? deadline : FOREVER },
			i));
	}
	ASSERT_EQ(N, io_uring_submit(&self->ring));
	memset(seen, 0, sizeof(seen));
	notify(self->m3, &self->l, 0, 5, self->l3, 1);
	/* The notified ones and the timed-out ones first, in any order. */
	for (i = 0; i < (N + 2) / 3 + (N + 1) / 3; i++) {
		ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
		ASSERT_LT(ud, (__u64)N);
		EXPECT_EQ(0, seen[ud]);
		seen[ud] = 1;
		EXPECT_NE(2u, ud % 3);
		EXPECT_EQ(ud % 3 == 0 ? 0 : -ETIMEDOUT, res);
	}
	EXPECT_EQ(N / 3, dbg_num(self->id, "l2_kernel_waiters"));
	munmap(self->m3, self->l.total_bytes);
	self->m3 = MAP_FAILED;
	close(self->l3);
	self->l3 = -1;
	for (i = 0; i < N / 3; i++) {
		ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
		ASSERT_LT(ud, (__u64)N);
		EXPECT_EQ(0, seen[ud]);
		seen[ud] = 1;
		EXPECT_EQ(2u, ud % 3);
		EXPECT_EQ(-ECONNRESET, res);
	}
	ASSERT_EQ(0, nop_barrier(&self->ring, &extra));
	EXPECT_EQ(0u, extra);
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/* ---------------------------------------------------------------------- */
/* A command does not keep a role alive that nobody holds                 */
/* ---------------------------------------------------------------------- */

/*
 * L3's last fd closes (no mapping) while its SIG_WAITs are pending: they
 * end -ECANCELED, the role dies and the peer sees it.
 */
TEST_F_TIMEOUT(su, last_close_cancels, 300)
{
	struct l3l2q_sig_layout l;
	struct l3l2q_sig_waitv v[2];
	int l3, l2, res = 1;
	__u64 ud = 0;

	ASSERT_EQ(0, create_sig(self->dev, &l3, &l2, &l));
	set_v(&v[0], 0, L3L2Q_SIG_CMP_GE, 1);
	set_v(&v[1], 1, L3L2Q_SIG_CMP_GE, 1);
	ASSERT_EQ(0, submit_wait(&self->ring, l3, &v[0], 1, 0, FOREVER, 1));
	ASSERT_EQ(0, submit_wait(&self->ring, l3, &v[1], 1, 0, FOREVER, 2));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
	close(l3);
	/* The peer's wait ends with the death, well before 60 s. */
	EXPECT_EQ(-ECONNRESET, ioctl_wait1(l2, 0, L3L2Q_SIG_CMP_GE, 1,
					   vm_now_ns() + 60 * SEC));
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(-ECANCELED, res);
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(-ECANCELED, res);
	/* Not written back. */
	EXPECT_EQ(0xdeadull, v[0].value);
	close(l2);
}

/*
 * A mapping keeps the role (and its commands) alive after the fd closes;
 * the last munmap cancels them and the peer sees the death.
 */
TEST_F_TIMEOUT(su, last_munmap_cancels, 300)
{
	struct l3l2q_sig_layout l;
	struct l3l2q_sig_waitv v;
	int l3, l2, res = 1;
	__u64 ud = 0;
	void *m;

	ASSERT_EQ(0, create_sig(self->dev, &l3, &l2, &l));
	m = mmap(NULL, l.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, l3,
		 0);
	ASSERT_NE(MAP_FAILED, m);
	set_v(&v, 0, L3L2Q_SIG_CMP_GE, 1);
	ASSERT_EQ(0, submit_wait(&self->ring, l3, &v, 1, 0, FOREVER, 8));
	close(l3);
	/* Alive: a check-only wait of the peer times out, no CQE. */
	EXPECT_EQ(-ETIMEDOUT, ioctl_wait1(l2, 0, L3L2Q_SIG_CMP_GE, 1, 0));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
	munmap(m, l.total_bytes);
	EXPECT_EQ(-ECONNRESET, ioctl_wait1(l2, 0, L3L2Q_SIG_CMP_GE, 1,
					   vm_now_ns() + 60 * SEC));
	ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
	EXPECT_EQ(8ull, ud);
	EXPECT_EQ(-ECANCELED, res);
	close(l2);
}

/*
 * A command on a registered file: the ring holds the file, so closing
 * the fd neither cancels the command nor kills the role; it ends
 * normally.  And one issued from io-wq (IOSQE_ASYNC), which reads and
 * writes the entries from the worker and the task-work callback.
 */
TEST_F_TIMEOUT(su, registered_file_and_async_issue, 300)
{
	struct l3l2q_sig_layout l;
	struct l3l2q_sig_waitv v[2];
	struct l3l2q_sig_wait_args a;
	struct io_uring_sqe *sqe;
	int l3, l2, res = 1, fixed;
	unsigned char seen[2] = { 0, 0 };
	unsigned int i;
	__u64 ud = 0;
	void *m2;

	ASSERT_EQ(0, create_sig(self->dev, &l3, &l2, &l));
	m2 = mmap(NULL, l.total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, l2,
		  0);
	ASSERT_NE(MAP_FAILED, m2);
	fixed = l3;
	ASSERT_EQ(0, io_uring_register_files(&self->ring, &fixed, 1));
	set_v(&v[0], 0, L3L2Q_SIG_CMP_GE, 1);
	set_v(&v[1], 1, L3L2Q_SIG_CMP_GE, 1);
	memset(&a, 0, sizeof(a));
	a.waitv = (__u64)(uintptr_t)&v[0];
	a.nr = 1;
	a.deadline_ns = FOREVER;
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	/* Registered file index 0 as the SQE's fd. */
	ASSERT_EQ(0, l3l2q_sig_prep_wait(sqe, 0, &a));
	io_uring_sqe_set_data64(sqe, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	a.waitv = (__u64)(uintptr_t)&v[1];
	ASSERT_EQ(0, l3l2q_sig_prep_wait(sqe, l3, &a));
	io_uring_sqe_set_data64(sqe, 1);
	sqe->flags |= IOSQE_ASYNC;
	ASSERT_EQ(2, io_uring_submit(&self->ring));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
	/* Wait for the io-wq issue to have queued it: both are waiters. */
	EXPECT_EQ(0, dbg_until(fd_queue_id(l2, NULL, 0), "l3_kernel_waiters",
			       2));
	close(l3);
	/* The async one holds the file too; the fixed one is the ring's. */
	EXPECT_EQ(-ETIMEDOUT, ioctl_wait1(l2, 0, L3L2Q_SIG_CMP_GE, 1, 0));
	EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));

	notify(m2, &l, 0, 1, -1, 0);
	notify(m2, &l, 1, 2, l2, 0);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
		ASSERT_LT(ud, 2ull);
		EXPECT_EQ(0, seen[ud]);
		seen[ud] = 1;
		EXPECT_EQ(0, res);
	}
	EXPECT_EQ(1ull, v[0].value);
	EXPECT_EQ(2ull, v[1].value);
	EXPECT_EQ(1u, v[1].ready);
	ASSERT_EQ(0, io_uring_unregister_files(&self->ring));
	/* The ring was the last holder. */
	EXPECT_EQ(-ECONNRESET, ioctl_wait1(l2, 5, L3L2Q_SIG_CMP_GE, 1,
					   vm_now_ns() + 60 * SEC));
	munmap(m2, l.total_bytes);
	close(l2);
}

/*
 * The submitter exits with a command pending: nothing is left behind.
 * 6.7+ cancels it at the exit; 6.1 cannot, and its uring_max_wait_ms cap
 * (set short here) ends it.  Either way the role's waiter count returns
 * to 0 and the role is usable.
 */
TEST_F_TIMEOUT(su, submitter_exit_leaves_nothing, 300)
{
	struct l3l2q_sig_waitv v;
	pid_t pid;

	ASSERT_EQ(0, write_param("uring_max_wait_ms", 300));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct io_uring ring;

		if (ring128(&ring, 8))
			_exit(97);
		set_v(&v, 0, L3L2Q_SIG_CMP_GE, 1);
		if (submit_wait(&ring, self->l2, &v, 1, 0, FOREVER, 1))
			_exit(98);
		if (dbg_num(self->id, "l2_kernel_waiters") != 1)
			_exit(99);
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	EXPECT_EQ(0, dbg_until(self->id, "l2_kernel_waiters", 0));
	notify(self->m3, &self->l, 0, 1, -1, 0);
	EXPECT_EQ(0, ioctl_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 1, 0));
}

/*
 * 6.1's cap: a command without a deadline ends -ETIMEDOUT after
 * uring_max_wait_ms, values written back.  Where io_uring cancels
 * commands (6.7+) the cap does not apply: it stays pending.
 */
TEST_F_TIMEOUT(su, cap_applies_only_without_cancel, 300)
{
	struct l3l2q_sig_waitv v;
	char rel[64] = "";
	int res = 1, major = 0, minor = 0, can_cancel;
	__u64 ud = 0;
	FILE *f;

	f = fopen("/proc/sys/kernel/osrelease", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(rel, sizeof(rel), f));
	fclose(f);
	ASSERT_EQ(2, sscanf(rel, "%d.%d", &major, &minor));
	can_cancel = major > 6 || (major == 6 && minor >= 7);
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 100));
	notify(self->m3, &self->l, 3, 1, -1, 0);
	set_v(&v, 3, L3L2Q_SIG_CMP_GE, 2);
	ASSERT_EQ(0, submit_wait(&self->ring, self->l2, &v, 1, 0, FOREVER, 1));
	if (can_cancel) {
		/* Past the cap many times over: still pending. */
		sleep_ms(1000);
		EXPECT_EQ(0, vm_peek_cqe(&self->ring, &res, &ud));
		EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
		notify(self->m3, &self->l, 3, 2, self->l3, 1);
		ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
		EXPECT_EQ(0, res);
		EXPECT_EQ(2ull, v.value);
	} else {
		ASSERT_EQ(0, vm_get_cqe(&self->ring, CQE_MS, &res, &ud));
		EXPECT_EQ(-ETIMEDOUT, res);
		EXPECT_EQ(1ull, v.value);
		EXPECT_EQ(0u, v.ready);
	}
}

/* The L2 of lib_object_prep_wait_over_driver: 100 answers with data. */
static int echo_times3(struct l3l2q_sig *cs)
{
	__u64 i, seen, data;

	for (i = 1; i <= 100; i++) {
		data = i * 3;
		if (l3l2q_sig_wait(cs, 0, L3L2Q_SIG_CMP_GE, i,
				   L3L2Q_DEADLINE_NONE, &seen) ||
		    l3l2q_sig_write(cs, 8, &data, sizeof(data)) ||
		    l3l2q_sig_notify(cs, 1, i))
			return 11;
	}
	return 0;
}

/*
 * libl3l2q's signals object on the driver, waited for through a ring with
 * l3l2q_signals_prep_wait() / l3l2q_signals_wait_done(): a peer process
 * attaches and answers each round through the library (its notify
 * kicks); every round's value and datum are checked; the L3's destroy
 * ends the peer's last wait with -ECONNRESET.
 */
TEST(lib_object_prep_wait_over_driver)
{
	struct l3l2q_sig_wait_args args;
	struct l3l2q_sig_waitv v;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct l3l2q_signals *sg;
	struct io_uring ring;
	struct l3l2q_sig *s;
	__u64 i, data;
	pid_t pid;
	int r;

	ASSERT_EQ(0, vm_sig_fork_l2(&sg, &pid, echo_times3));
	s = l3l2q_signals_handle(sg);
	ASSERT_EQ(0, ring128(&ring, 4));
	for (i = 1; i <= 100; i++) {
		ASSERT_EQ(0, l3l2q_sig_notify(s, 0, i));
		do {
			memset(&v, 0, sizeof(v));
			v.id = 1;
			v.cmp = L3L2Q_SIG_CMP_GE;
			v.target = i;
			sqe = io_uring_get_sqe(&ring);
			ASSERT_NE(NULL, sqe);
			r = l3l2q_signals_prep_wait(sqe, sg, &v, 1, 0, FOREVER,
						    &args);
			ASSERT_LE(0, r) TH_LOG("round %llu", (unsigned long long)i);
			if (r == L3L2Q_SIG_PREP_READY) {
				/* Nothing prepared: the SQE taken goes as a NOP. */
				io_uring_prep_nop(sqe);
				ASSERT_EQ(1, io_uring_submit(&ring));
				ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
				io_uring_cqe_seen(&ring, cqe);
				r = l3l2q_signals_wait_done(sg, &args, 0);
				continue;
			}
			ASSERT_EQ(1, io_uring_submit(&ring));
			ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
			r = l3l2q_signals_wait_done(sg, &args, cqe->res);
			io_uring_cqe_seen(&ring, cqe);
		} while (r == -EAGAIN);
		ASSERT_EQ(0, r) TH_LOG("round %llu", (unsigned long long)i);
		EXPECT_EQ(i, v.value);
		ASSERT_EQ(0, l3l2q_sig_read(s, 8, &data, sizeof(data)));
		EXPECT_EQ(i * 3, data);
	}
	io_uring_queue_exit(&ring);
	ASSERT_TRUE(vm_wait_blocked(pid, SYS_ioctl));
	l3l2q_sig_destroy(sg);
	EXPECT_EQ(0, reap(pid));
}

TEST_HARNESS_MAIN
