// SPDX-License-Identifier: MIT
/*
 * signals_test - signals regions (L3L2Q_KIND_SIGNALS, HDMEM) on /dev/l3l2q:
 * creation and layout, both roles mapped, notify/wait across two
 * processes, each way of sleeping in the kernel (SIG_WAIT, poll on a watch,
 * an eventfd watch) woken by a notify that crosses the target and not by
 * one that does not, the peer's death, the waiter cap and bad arguments.
 *
 * "Not woken" is checked without timing: a kick walks the role's wait
 * queue synchronously, so once KICK returns the driver's debugfs counters
 * (<role>_waiter_checks, <role>_waiter_wakes) say whether the sleeper was
 * looked at and whether it was woken; a non-blocking read of an eventfd or
 * a poll with timeout 0 says the same for the other two ways.
 */
#include <errno.h>
#include <liburing.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "l3l2q_signals.h"
#include "l3l2q_signals_core.h"
#include "libl3l2q_signals.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "sig_helpers.h"

#define DEV_PATH	"/dev/l3l2q"
#define COUNT		8u
#define DATA_BYTES	4096ull
#define FOREVER		(~0ull)

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static int create_sig(int dev, struct l3l2q_create_args *a, __u64 data_bytes,
		      __u32 count, __u32 sig_flags)
{
	memset(a, 0, sizeof(*a));
	a->kind = L3L2Q_KIND_SIGNALS;
	a->data_bytes = data_bytes;
	a->signal_count = count;
	a->sig_flags = sig_flags;
	a->fd = -1;
	return ioctl(dev, L3L2Q_IOC_CREATE, a) ? -errno : 0;
}

/* N1 (a release store), then the kick: what a notifier does. */
static void notify(void *m, const struct l3l2q_sig_layout *l, __u32 id,
		   __u64 v, int fd)
{
	__atomic_store_n(slot_of(m, l, id), v, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (fd >= 0)
		ioctl(fd, L3L2Q_IOC_KICK);
}

static int sig_wait1(int fd, __u32 id, __u32 cmp, __u64 target,
		     __u64 deadline_ns, __u64 *value)
{
	struct l3l2q_sig_waitv v = { .id = id, .cmp = cmp, .target = target };
	int ret = sig_wait(fd, &v, 1, 0, deadline_ns);

	if (value)
		*value = v.value;
	return ret;
}

static int sig_kick(int fd, __u32 id, __u32 role, __u64 resv)
{
	struct l3l2q_sig_kick_args a = { .id = id, .role = role, .resv = resv };

	return ioctl(fd, L3L2Q_IOC_SIG_KICK, &a) ? -errno : 0;
}

static unsigned long long region_id(int fd)
{
	return fd_queue_id(fd, NULL, 0);
}

/*
 * In a fork child: the mappings are not inherited (VM_DONTCOPY), so map
 * the L2 role again; the L3 mapping is gone.
 */
static void *child_map(int fd, size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		_exit(99);
	return m;
}

/* ---------------------------------------------------------------------- */
/* Fixture: one signals region, both roles, both mapped                   */
/* ---------------------------------------------------------------------- */

FIXTURE(sig) {
	int dev, l3, l2;
	void *m3, *m2;
	struct l3l2q_sig_layout l;
	unsigned long long id;
};

/* A fork child plays L2 only: its own mapping, no L3 fd. */
static void child_l2(FIXTURE_DATA(sig) *self)
{
	self->m3 = NULL;
	self->m2 = child_map(self->l2, self->l.total_bytes);
	close(self->l3);
	self->l3 = -1;
}

FIXTURE_SETUP(sig)
{
	struct l3l2q_peer_args peer = { .fd = -1 };
	struct l3l2q_create_args a;

	ASSERT_EQ(0, ensure_debugfs());
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, create_sig(self->dev, &a, DATA_BYTES, COUNT, 0));
	self->l3 = a.fd;
	ASSERT_EQ((int)L3L2Q_SIG_LAYOUT_OK,
		  (int)l3l2q_sig_layout(DATA_BYTES, COUNT, 0, 0, &self->l));
	ASSERT_EQ(0, memcmp(&a.off, &self->l.off, sizeof(a.off)));
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_PEER, &peer));
	self->l2 = peer.fd;
	ASSERT_LE(0, self->l2);
	self->m3 = mmap(NULL, self->l.total_bytes, PROT_READ | PROT_WRITE,
			MAP_SHARED, self->l3, 0);
	ASSERT_NE(MAP_FAILED, self->m3);
	self->m2 = mmap(NULL, self->l.total_bytes, PROT_READ | PROT_WRITE,
			MAP_SHARED, self->l2, 0);
	ASSERT_NE(MAP_FAILED, self->m2);
	self->id = region_id(self->l3);
	ASSERT_NE(0ull, self->id);
}

FIXTURE_TEARDOWN(sig)
{
	if (self->m3 && self->m3 != MAP_FAILED)
		munmap(self->m3, self->l.total_bytes);
	if (self->m2 && self->m2 != MAP_FAILED)
		munmap(self->m2, self->l.total_bytes);
	if (self->l2 >= 0)
		close(self->l2);
	if (self->l3 >= 0)
		close(self->l3);
	close(self->dev);
}

/* ---------------------------------------------------------------------- */
/* Creation, layout, INFO, debugfs                                        */
/* ---------------------------------------------------------------------- */

/* The driver formats HDMEM v1 byte for byte, and the control header. */
TEST_F(sig, layout_and_info)
{
	const struct l3l2q_hdmem_hdr *h = (const void *)((char *)self->m2 +
						self->l.hdmem_offset);
	const struct l3l2q_sig_ctrl_hdr *c = self->m2;
	struct l3l2q_info_args info;
	char kind[32];

	EXPECT_EQ(L3L2Q_HDMEM_MAGIC, h->magic);
	EXPECT_EQ(L3L2Q_HDMEM_VERSION, h->version);
	EXPECT_EQ(COUNT, h->signal_count);
	EXPECT_EQ(self->l.hdmem.data_offset, h->data_offset);
	EXPECT_EQ(DATA_BYTES, h->data_bytes);
	EXPECT_EQ(self->l.hdmem.total_bytes, h->total_bytes);
	EXPECT_EQ(0ull, h->fatal_status);
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, c->magic);
	EXPECT_EQ(L3L2Q_SIG_MAGIC_VERSION, c->kind_magic_version);
	EXPECT_EQ(L3L2Q_KIND_SIGNALS, c->kind);
	EXPECT_EQ(COUNT, c->signal_count);
	EXPECT_EQ(0ull, *slot_of(self->m2, &self->l, COUNT - 1));

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(1u, info.role);
	EXPECT_EQ(L3L2Q_KIND_SIGNALS, info.kind);
	EXPECT_EQ(DATA_BYTES, info.data_bytes);
	EXPECT_EQ(COUNT, info.signal_count);
	EXPECT_EQ(0u, info.sig_flags);
	EXPECT_EQ(self->l.total_bytes, info.off.total_bytes);

	/* Both mappings are one memory. */
	notify(self->m3, &self->l, 3, 77, -1);
	EXPECT_EQ(77ull, __atomic_load_n(slot_of(self->m2, &self->l, 3),
				      __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, dbg_str(self->id, "kind", kind, sizeof(kind)));
	EXPECT_STREQ("signals", kind);
	EXPECT_EQ(COUNT, dbg_num(self->id, "signal_count"));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/* CREATE refuses bad geometry with a clear errno and makes nothing. */
TEST(create_bad_geometry)
{
	struct l3l2q_create_args a;
	unsigned long max;
	int dev, before;

	ASSERT_EQ(0, ensure_debugfs());
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	before = count_regions();
	EXPECT_EQ(-EINVAL, create_sig(dev, &a, DATA_BYTES, 0, 0));
	EXPECT_EQ(-EINVAL, create_sig(dev, &a, 0, COUNT, 0));
	EXPECT_EQ(-EINVAL, create_sig(dev, &a, DATA_BYTES,
				      L3L2Q_SIG_COUNT_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, create_sig(dev, &a, DATA_BYTES, COUNT, 1u << 7));
	EXPECT_EQ(-EINVAL, create_sig(dev, &a, ~0ull - 8, COUNT, 0));

	memset(&a, 0, sizeof(a));
	a.kind = L3L2Q_KIND_SIGNALS;
	a.data_bytes = DATA_BYTES;
	a.signal_count = COUNT;
	a.sig_resv = 1;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	a.sig_resv = 0;
	a.start_pos = 5;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	a.start_pos = 0;
	a.flags = L3L2Q_CREATE_LOOPBACK;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	a.flags = 0;
	a.resv1[0] = 1;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);

	/* The module's size limit holds for every kind. */
	ASSERT_EQ(0, read_param("max_queue_bytes", &max));
	EXPECT_EQ(-E2BIG, create_sig(dev, &a, (__u64)max, COUNT, 0));

	EXPECT_EQ(before, count_regions());
	/* The largest count is accepted. */
	ASSERT_EQ(0, create_sig(dev, &a, 64, L3L2Q_SIG_COUNT_MAX, 0));
	close(a.fd);
	close(dev);
}

/* ---------------------------------------------------------------------- */
/* SIG_WAIT                                                               */
/* ---------------------------------------------------------------------- */

/* The compares, deadline 0 (check only), the values written back. */
TEST_F(sig, wait_compares)
{
	struct l3l2q_sig_waitv v[3];
	__u64 value = 1;

	EXPECT_EQ(-ETIMEDOUT, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 5, 0,
					&value));
	EXPECT_EQ(0ull, value);
	notify(self->m3, &self->l, 0, 5, -1);
	EXPECT_EQ(0, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 5, 0, &value));
	EXPECT_EQ(5ull, value);
	EXPECT_EQ(0, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_EQ, 5, 0, NULL));
	EXPECT_EQ(-ETIMEDOUT, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_NE, 5, 0,
					NULL));
	EXPECT_EQ(0, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_NE, 4, 0, NULL));
	EXPECT_EQ(-ETIMEDOUT, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_EQ, 6, 0,
					NULL));
	/* A deadline in the past sleeps not at all. */
	EXPECT_EQ(-ETIMEDOUT, sig_wait1(self->l2, 1, L3L2Q_SIG_CMP_GE, 1, 1,
					NULL));

	/* Any (default) and all. */
	memset(v, 0, sizeof(v));
	v[0] = (struct l3l2q_sig_waitv){ .id = 1, .cmp = L3L2Q_SIG_CMP_GE,
					 .target = 1 };
	v[1] = (struct l3l2q_sig_waitv){ .id = 0, .cmp = L3L2Q_SIG_CMP_GE,
					 .target = 5 };
	v[2] = (struct l3l2q_sig_waitv){ .id = 2, .cmp = L3L2Q_SIG_CMP_EQ,
					 .target = 0 };
	EXPECT_EQ(0, sig_wait(self->l2, v, 3, 0, 0));
	EXPECT_EQ(0u, v[0].ready);
	EXPECT_EQ(1u, v[1].ready);
	EXPECT_EQ(5ull, v[1].value);
	EXPECT_EQ(1u, v[2].ready);
	EXPECT_EQ(-ETIMEDOUT, sig_wait(self->l2, v, 3, L3L2Q_SIG_WAIT_ALL, 0));
	notify(self->m3, &self->l, 1, 1, -1);
	EXPECT_EQ(0, sig_wait(self->l2, v, 3, L3L2Q_SIG_WAIT_ALL, 0));
	EXPECT_EQ(1u, v[0].ready);
	EXPECT_EQ(1ull, v[0].value);
}

/*
 * A kick for the waiter's arming (kicked[r] == arm in either table)
 * ends the wait even though the value is not ready (K2).
 */
TEST_F(sig, wait_kicked_arming)
{
	struct l3l2q_sig_waiter *t3 = (void *)((char *)self->m3 +
					       self->l.table_offset[0]);
	struct l3l2q_sig_waitv v = { .id = 4, .cmp = L3L2Q_SIG_CMP_EQ,
				     .target = 9,
				     .arm = (7u << L3L2Q_SIG_ARM_SHIFT) |
					    L3L2Q_SIG_CMP_EQ };

	EXPECT_EQ(-ETIMEDOUT, sig_wait(self->l2, &v, 1, 0, 0));
	/* L3 (the notifier) records that it kicked L2's arming. */
	__atomic_store_n(&t3[4].kicked[1], v.arm, __ATOMIC_RELEASE);
	EXPECT_EQ(0, sig_wait(self->l2, &v, 1, 0, 0));
	EXPECT_EQ(0u, v.ready);
	/* Another arming is not covered by that kick. */
	v.arm += 1u << L3L2Q_SIG_ARM_SHIFT;
	EXPECT_EQ(-ETIMEDOUT, sig_wait(self->l2, &v, 1, 0, 0));
}

/*
 * A sleeping SIG_WAIT in another process: a notify below the target and
 * its KICK look at the sleeper and do not wake it; one that crosses the
 * target wakes it, and the data written before the notify is seen.
 */
TEST_F(sig, wait_woken_only_by_crossing)
{
	long long checks, wakes;
	pid_t pid;
	char *data3 = (char *)self->m3 + self->l.off.payload_offset;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		const char *data2;
		__u64 value = 0;
		int ret;

		child_l2(self);
		data2 = (char *)self->m2 + self->l.off.payload_offset;
		ret = sig_wait1(self->l2, 2, L3L2Q_SIG_CMP_GE, 10, FOREVER,
				&value);
		if (ret)
			_exit(10);
		if (value < 10)
			_exit(11);
		if (strcmp(data2, "published before notify"))
			_exit(12);
		_exit(0);
	}
	ASSERT_TRUE(vm_wait_blocked(pid, SYS_ioctl));
	EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
	checks = dbg_num(self->id, "l2_waiter_checks");
	wakes = dbg_num(self->id, "l2_waiter_wakes");

	notify(self->m3, &self->l, 2, 9, self->l3);
	EXPECT_LT(checks, dbg_num(self->id, "l2_waiter_checks"));
	EXPECT_EQ(wakes, dbg_num(self->id, "l2_waiter_wakes"));
	/* A notify of another slot, with SIG_KICK of L2, neither. */
	notify(self->m3, &self->l, 3, 100, -1);
	EXPECT_EQ(0, sig_kick(self->l3, 3, 1, 0));
	EXPECT_EQ(wakes, dbg_num(self->id, "l2_waiter_wakes"));
	EXPECT_EQ('S', vm_task_state(pid));

	strcpy(data3, "published before notify");
	notify(self->m3, &self->l, 2, 10, self->l3);
	EXPECT_EQ(wakes + 1, dbg_num(self->id, "l2_waiter_wakes"));
	EXPECT_EQ(0, reap(pid));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

/* The other way: L3 sleeps, L2 (another process) notifies and kicks. */
TEST_F(sig, wait_l3_woken_by_l2)
{
	__u64 value = 0;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_l2(self);
		/* Until L3 sleeps in SIG_WAIT. */
		if (!vm_wait_blocked(getppid(), SYS_ioctl))
			_exit(10);
		notify(self->m2, &self->l, 5, 3, self->l2);
		notify(self->m2, &self->l, 5, 4, self->l2);
		_exit(0);
	}
	EXPECT_EQ(0, sig_wait1(self->l3, 5, L3L2Q_SIG_CMP_GE, 4, FOREVER,
			       &value));
	EXPECT_EQ(4ull, value);
	EXPECT_EQ(1, dbg_num(self->id, "l3_waiter_wakes"));
	EXPECT_EQ(0, reap(pid));
}

/* A signal ends a sleeping SIG_WAIT with EINTR, not restarted. */
static void on_usr1(int sig)
{
	(void)sig;
}

TEST_F(sig, wait_eintr)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_l2(self);
		sigaction(SIGUSR1, &sa, NULL);
		_exit(sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 1, FOREVER,
				NULL) == -EINTR ? 0 : 1);
	}
	ASSERT_TRUE(vm_wait_blocked(pid, SYS_ioctl));
	kill(pid, SIGUSR1);
	EXPECT_EQ(0, reap(pid));
}

/* ---------------------------------------------------------------------- */
/* poll and eventfd watches                                               */
/* ---------------------------------------------------------------------- */

TEST_F(sig, poll_watch)
{
	struct pollfd p = { .fd = self->l2, .events = POLLIN | POLLOUT };
	pid_t pid;

	/* No watch: nothing to read, a notify never waits. */
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents & (POLLIN | POLLOUT | POLLHUP));
	p.events = POLLIN;
	ASSERT_EQ(0, sig_watch(self->l2, -1, 6, L3L2Q_SIG_CMP_GE, 20, 0));
	EXPECT_EQ(0, poll(&p, 1, 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd q = { .fd = self->l2, .events = POLLIN };
		int n;

		child_l2(self);
		n = poll(&q, 1, -1);
		if (n != 1 || !(q.revents & POLLIN))
			_exit(10);
		if (__atomic_load_n(slot_of(self->m2, &self->l, 6),
				    __ATOMIC_ACQUIRE) < 20)
			_exit(11);
		_exit(0);
	}
	ASSERT_TRUE(wait_blocked_poll(pid));
	notify(self->m3, &self->l, 6, 19, self->l3);
	EXPECT_EQ(0, poll(&p, 1, 0));
	/* Asleep in poll again (or still): re-evaluated, not ready. */
	ASSERT_TRUE(wait_blocked_poll(pid));
	notify(self->m3, &self->l, 6, 20, self->l3);
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLIN);
	EXPECT_EQ(0, reap(pid));

	/* Level-triggered until cleared. */
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
	EXPECT_EQ(-EINVAL, sig_watch(self->l2, -1, 1, 0, 0,
				     L3L2Q_SIG_WATCH_CLEAR));
	EXPECT_EQ(0, sig_watch(self->l2, -1, 0, 0, 0, L3L2Q_SIG_WATCH_CLEAR));
	EXPECT_EQ(0, poll(&p, 1, 0));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
}

TEST_F(sig, eventfd_watch)
{
	__u64 n = 0;
	pid_t pid;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	/* Ready already: signalled at once, nothing kept. */
	notify(self->m3, &self->l, 7, 1, -1);
	ASSERT_EQ(0, sig_watch(self->l2, efd, 7, L3L2Q_SIG_CMP_EQ, 1, 0));
	EXPECT_EQ(8, read(efd, &n, 8));
	EXPECT_EQ(1ull, n);
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));

	ASSERT_EQ(0, sig_watch(self->l2, efd, 7, L3L2Q_SIG_CMP_GE, 30, 0));
	EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd q = { .fd = efd, .events = POLLIN };
		__u64 c = 0;

		child_l2(self);
		if (poll(&q, 1, -1) != 1 || read(efd, &c, 8) != 8 || c != 1)
			_exit(10);
		if (__atomic_load_n(slot_of(self->m2, &self->l, 7),
				    __ATOMIC_ACQUIRE) < 30)
			_exit(11);
		_exit(0);
	}
	ASSERT_TRUE(wait_blocked_poll(pid));
	notify(self->m3, &self->l, 7, 29, self->l3);
	EXPECT_EQ(1, dbg_num(self->id, "l2_kernel_waiters"));
	EXPECT_EQ('S', vm_task_state(pid));
	notify(self->m3, &self->l, 7, 31, self->l3);
	EXPECT_EQ(0, reap(pid));
	/* One-shot: gone once fired. */
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
	notify(self->m3, &self->l, 7, 40, self->l3);
	EXPECT_EQ(-1, read(efd, &n, 8));
	EXPECT_EQ(EAGAIN, errno);

	/* Watches go with the role file, eventfd references too. */
	ASSERT_EQ(0, sig_watch(self->l2, efd, 7, L3L2Q_SIG_CMP_GE, 99, 0));
	close(efd);
}

/* ---------------------------------------------------------------------- */
/* Death                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * The peer's death ends a sleeping SIG_WAIT with ECONNRESET, fires the
 * eventfd watches and makes poll report HUP|ERR; values published before
 * the death are still seen.
 */
TEST_F(sig, peer_death)
{
	struct pollfd p = { .fd = self->l3, .events = POLLIN };
	__u64 n = 0;
	pid_t pid;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, sig_watch(self->l3, efd, 1, L3L2Q_SIG_CMP_GE, 50, 0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_l2(self);
		notify(self->m2, &self->l, 0, 8, -1);
		/* Sleep until killed. */
		for (;;)
			pause();
	}
	/* The parent holds L3 only. */
	ASSERT_EQ(0, munmap(self->m2, self->l.total_bytes));
	self->m2 = NULL;
	ASSERT_EQ(0, close(self->l2));
	self->l2 = -1;

	while (__atomic_load_n(slot_of(self->m3, &self->l, 0),
			       __ATOMIC_ACQUIRE) != 8)
		sleep_ms(1);
	EXPECT_EQ(0, poll(&p, 1, 0));
	EXPECT_EQ(-1, read(efd, &n, 8));
	kill(pid, SIGKILL);
	EXPECT_EQ(255, reap(pid));

	EXPECT_EQ(-ECONNRESET, sig_wait1(self->l3, 1, L3L2Q_SIG_CMP_GE, 50,
					 FOREVER, NULL));
	/* Published before the death: still seen, and wins. */
	EXPECT_EQ(0, sig_wait1(self->l3, 0, L3L2Q_SIG_CMP_GE, 8, FOREVER,
			       NULL));
	EXPECT_EQ(8, read(efd, &n, 8));
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_TRUE(p.revents & POLLERR);
	/* The dead role's abort word is up. */
	EXPECT_EQ(1u, load_u32(self->m3, L3L2Q_SIG_CTRL_L2_ABORT));
	EXPECT_EQ(0, dbg_num(self->id, "l3_kernel_waiters"));
	close(efd);
}

/* A sleeper is woken by the peer's death, not only a later caller. */
TEST_F(sig, peer_death_wakes_sleeper)
{
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_l2(self);
		_exit(sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 1, FOREVER,
				NULL) == -ECONNRESET ? 0 : 1);
	}
	ASSERT_TRUE(vm_wait_blocked(pid, SYS_ioctl));
	munmap(self->m3, self->l.total_bytes);
	self->m3 = NULL;
	close(self->l3);
	self->l3 = -1;
	EXPECT_EQ(0, reap(pid));
}

/* ---------------------------------------------------------------------- */
/* The cap and bad arguments                                              */
/* ---------------------------------------------------------------------- */

TEST_F(sig, waiter_cap)
{
	unsigned int i;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	for (i = 0; i < L3L2Q_SIG_WAITERS_MAX; i++)
		ASSERT_EQ(0, sig_watch(self->l2, i % 2 ? efd : -1, i % COUNT,
				       L3L2Q_SIG_CMP_GE, 1000 + i, 0));
	EXPECT_EQ(L3L2Q_SIG_WAITERS_MAX,
		  dbg_num(self->id, "l2_kernel_waiters"));
	EXPECT_EQ(-EBUSY, sig_watch(self->l2, -1, 0, L3L2Q_SIG_CMP_GE, 1, 0));
	EXPECT_EQ(-EBUSY, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 1, 0, NULL));
	/* The other role has its own. */
	EXPECT_EQ(0, sig_watch(self->l3, -1, 0, L3L2Q_SIG_CMP_GE, 1, 0));
	/* Firing frees a place. */
	notify(self->m3, &self->l, 1, 1001, self->l3);
	EXPECT_EQ(L3L2Q_SIG_WAITERS_MAX - 1,
		  dbg_num(self->id, "l2_kernel_waiters"));
	EXPECT_EQ(-ETIMEDOUT, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 1, 0,
					NULL));
	EXPECT_EQ(0, sig_watch(self->l2, -1, 0, 0, 0, L3L2Q_SIG_WATCH_CLEAR));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));
	close(efd);
}

TEST_F(sig, bad_args)
{
	struct l3l2q_sig_waitv v[L3L2Q_SIG_WAITV_MAX + 1];
	struct l3l2q_sig_wait_args wa;
	struct l3l2q_wait_args qw = { .counter = L3L2Q_CTR_INPUT_TAIL };
	struct l3l2q_create_args a;
	int qfd, tmp;

	memset(v, 0, sizeof(v));
	v[0].cmp = L3L2Q_SIG_CMP_GE;
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, 0, 0, 0));
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, L3L2Q_SIG_WAITV_MAX + 1, 0,
				    0));
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, 1, 1u << 5, 0));
	v[0].id = COUNT;
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, 1, 0, 0));
	v[0].id = ~0u;
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, 1, 0, 0));
	v[0].id = 0;
	v[0].cmp = 0;
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, 1, 0, 0));
	v[0].cmp = 4;
	EXPECT_EQ(-EINVAL, sig_wait(self->l2, v, 1, 0, 0));
	memset(&wa, 0, sizeof(wa));
	wa.nr = 1;
	wa.waitv = 8;
	EXPECT_EQ(-1, ioctl(self->l2, L3L2Q_IOC_SIG_WAIT, &wa));
	EXPECT_EQ(EFAULT, errno);
	wa.waitv = (__u64)(uintptr_t)v;
	v[0].cmp = L3L2Q_SIG_CMP_GE;
	wa.resv = 1;
	EXPECT_EQ(-1, ioctl(self->l2, L3L2Q_IOC_SIG_WAIT, &wa));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->l2, L3L2Q_IOC_SIG_WAIT, NULL));
	EXPECT_EQ(EFAULT, errno);

	EXPECT_EQ(-EINVAL, sig_kick(self->l3, COUNT, 0, 0));
	EXPECT_EQ(-EINVAL, sig_kick(self->l3, 0, 2, 0));
	EXPECT_EQ(-EINVAL, sig_kick(self->l3, 0, 0, 1));
	EXPECT_EQ(0, sig_kick(self->l3, 0, 0, 0));

	EXPECT_EQ(-EINVAL, sig_watch(self->l2, -1, COUNT, L3L2Q_SIG_CMP_GE,
				     1, 0));
	EXPECT_EQ(-EINVAL, sig_watch(self->l2, -1, 0, 9, 1, 0));
	EXPECT_EQ(-EINVAL, sig_watch(self->l2, -1, 0, L3L2Q_SIG_CMP_GE, 1,
				     2));
	EXPECT_EQ(-EINVAL, sig_watch(self->l2, self->dev, 0, L3L2Q_SIG_CMP_GE,
				     1, 0));
	tmp = dup(self->dev);
	close(tmp);
	EXPECT_EQ(-EBADF, sig_watch(self->l2, tmp, 0, L3L2Q_SIG_CMP_GE, 1,
				    0));
	EXPECT_EQ(0, dbg_num(self->id, "l2_kernel_waiters"));

	/* The queue's WAIT names no word of a signals region. */
	EXPECT_EQ(-1, ioctl(self->l2, L3L2Q_IOC_WAIT, &qw));
	EXPECT_EQ(EINVAL, errno);
	/* And a queue knows none of the signals ioctls. */
	memset(&a, 0, sizeof(a));
	a.depth = 8;
	a.input_arena_bytes = 4096;
	a.output_arena_bytes = 4096;
	ASSERT_EQ(0, ioctl(self->dev, L3L2Q_IOC_CREATE, &a));
	qfd = a.fd;
	EXPECT_EQ(-ENOTTY, sig_wait(qfd, v, 1, 0, 0));
	EXPECT_EQ(-ENOTTY, sig_watch(qfd, -1, 0, L3L2Q_SIG_CMP_GE, 1, 0));
	close(qfd);
	/* Nothing broke: the region still works. */
	notify(self->m3, &self->l, 0, 1, self->l3);
	EXPECT_EQ(0, sig_wait1(self->l2, 0, L3L2Q_SIG_CMP_GE, 1, 0, NULL));
}

/*
 * A hostile peer scribbles over both waiter tables, the control block's
 * abort words and the HDMEM header: the kernel trusts none of it.  Waits
 * still decide by the slot value alone (and kicked == the caller's own
 * arm), debugfs reads fine, and the geometry is the kernel's copy.
 */
TEST_F(sig, hostile_tables)
{
	unsigned char *t = (unsigned char *)self->m3 + self->l.table_offset[0];
	struct l3l2q_hdmem_hdr *h = (void *)((char *)self->m3 +
					     self->l.hdmem_offset);
	struct l3l2q_sig_waitv v = { .id = 3, .cmp = L3L2Q_SIG_CMP_GE,
				     .target = 5, .arm = 0x10 | 1 };
	struct l3l2q_info_args info;
	char buf[8192];
	size_t i;
	int fd;

	srand(7);
	for (i = 0; i < 2 * self->l.table_bytes; i++)
		t[i] = (unsigned char)rand();
	/* Never the arm the waiter uses below. */
	for (i = 0; i < 2 * COUNT; i++) {
		struct l3l2q_sig_waiter *w = (void *)(t + (i / COUNT) *
			self->l.table_bytes + (i % COUNT) * 32);

		if (w->kicked[1] == v.arm)
			w->kicked[1] = 0;
	}
	h->signal_count = ~0u;
	h->data_offset = ~0ull;
	*slot_of(self->m3, &self->l, 3) = 4;

	EXPECT_EQ(-ETIMEDOUT, sig_wait(self->l2, &v, 1, 0, 0));
	notify(self->m3, &self->l, 3, 5, self->l3);
	EXPECT_EQ(0, sig_wait(self->l2, &v, 1, 0, 0));
	EXPECT_EQ(-EINVAL, sig_wait1(self->l2, COUNT, L3L2Q_SIG_CMP_GE, 1, 0,
				     NULL));
	ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(COUNT, info.signal_count);

	/* debugfs lists the slots with a value or an arming, and survives. */
	snprintf(buf, sizeof(buf), DBG_DIR "/%llu", self->id);
	fd = open(buf, O_RDONLY);
	ASSERT_LE(0, fd);
	i = (size_t)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ASSERT_LT(0, (ssize_t)i);
	buf[i] = 0;
	EXPECT_NE(NULL, strstr(buf, "slot: 3 5 "));
	EXPECT_NE(NULL, strstr(buf, "l2_kernel_waiters: 0"));
}

/* ---------------------------------------------------------------------- */
/* The protocol core over the driver                                      */
/* ---------------------------------------------------------------------- */

/*
 * libl3l2q's signals core with the driver as its env: W4 is SIG_WAIT with
 * the armed entries, N4 is SIG_KICK.  The core arms its table entry and
 * kicks only when it crosses the peer's target; the kernel must honour
 * kicked[r] == arm (K2), or a kick that lands between the core's re-check
 * and the ioctl is lost and the ping-pong below hangs.
 */
struct drv_env {
	int fd;
	unsigned long sleeps, kicks;
};

static __u64 drv_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static int drv_sleep(void *ctx, const struct l3l2q_sig_waitv *v, __u32 n,
		     __u64 deadline_ns)
{
	struct drv_env *e = ctx;

	e->sleeps++;
	return sig_wait(e->fd, (struct l3l2q_sig_waitv *)v, n, 0,
			deadline_ns);
}

static void drv_kick(void *ctx, __u32 role, __u32 id)
{
	struct drv_env *e = ctx;

	e->kicks++;
	sig_kick(e->fd, id, role, 0);
}

static int drv_bind(struct l3l2q_sig *s, __u32 role, void *m,
		    const struct l3l2q_sig_layout *l, struct drv_env *e)
{
	struct l3l2q_sig_mem mem = {
		.ctrl = m, .hdmem = (char *)m + l->hdmem_offset,
	};
	struct l3l2q_sig_env env = {
		.now_ns = drv_now, .sleep = drv_sleep, .kick = drv_kick,
		.ctx = e, .spin_attempts = 1,
	};

	return l3l2q_sig_init(s, role, &mem, l, &env);
}

#define ROUNDS	2000u

/*
 * 2000 round trips between two processes, each side spinning once and
 * then sleeping in SIG_WAIT with no deadline, data written before each
 * notify checked after each wait.  Fixed work; the harness's timeout is
 * the watchdog for a lost wake-up.
 */
TEST_F(sig, core_pingpong_over_driver)
{
	struct drv_env e = { .fd = self->l3 };
	struct l3l2q_sig s;
	__u64 seen = 0, i;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct drv_env ce = { .fd = self->l2 };
		struct l3l2q_sig cs;
		__u64 got = 0, data;

		child_l2(self);
		if (drv_bind(&cs, L3L2Q_ROLE_L2, self->m2, &self->l, &ce))
			_exit(10);
		for (i = 1; i <= ROUNDS; i++) {
			if (l3l2q_sig_wait(&cs, 0, L3L2Q_SIG_CMP_GE, i,
					   L3L2Q_DEADLINE_NONE, &got))
				_exit(11);
			if (l3l2q_sig_read(&cs, 0, &data, sizeof(data)) ||
			    data != i * 3)
				_exit(12);
			/* The last pong finds L3 asleep in the kernel. */
			if (i == ROUNDS && !vm_wait_blocked(getppid(), SYS_ioctl))
				_exit(15);
			if (l3l2q_sig_notify(&cs, 1, i))
				_exit(13);
		}
		/* It slept in the kernel at least once. */
		_exit(ce.sleeps ? 0 : 14);
	}
	ASSERT_EQ(0, drv_bind(&s, L3L2Q_ROLE_L3, self->m3, &self->l, &e));
	/* The first ping finds L2 asleep in the kernel. */
	ASSERT_TRUE(vm_wait_blocked(pid, SYS_ioctl));
	for (i = 1; i <= ROUNDS; i++) {
		__u64 data = i * 3;

		ASSERT_EQ(0, l3l2q_sig_write(&s, 0, &data, sizeof(data)));
		ASSERT_EQ(0, l3l2q_sig_notify(&s, 0, i));
		ASSERT_EQ(0, l3l2q_sig_wait(&s, 1, L3L2Q_SIG_CMP_GE, i,
					    L3L2Q_DEADLINE_NONE, &seen));
		ASSERT_EQ(i, seen);
	}
	EXPECT_EQ(0, reap(pid));
	EXPECT_LT(0ul, e.sleeps);
	EXPECT_LT(0ul, e.kicks);
	EXPECT_EQ(0, dbg_num(self->id, "l3_kernel_waiters"));
}

/*
 * io_uring waits on a slot through a poll watch: IORING_OP_POLL_ADD on the
 * role file completes on the notify that crosses the target, not before.
 * io_uring_get_events() runs the poll's task work, so "no completion yet"
 * is a fact, not a guess about timing.
 */
TEST_F(sig, uring_poll_watch)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, sig_watch(self->l2, -1, 6, L3L2Q_SIG_CMP_GE, 20, 0));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_poll_add(sqe, self->l2, POLLIN);
	ASSERT_EQ(1, io_uring_submit(&ring));
	io_uring_get_events(&ring);
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));

	notify(self->m3, &self->l, 6, 19, self->l3);
	io_uring_get_events(&ring);
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&ring, &cqe));

	notify(self->m3, &self->l, 6, 20, self->l3);
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_TRUE(cqe->res & POLLIN);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
}

/* The L2 of lib_objects_over_driver: 200 answers, each after its data. */
static int answer_plus100(struct l3l2q_sig *cs)
{
	__u64 i, seen, data;

	for (i = 1; i <= 200; i++) {
		if (l3l2q_sig_wait(cs, 0, L3L2Q_SIG_CMP_GE, i,
				   L3L2Q_DEADLINE_NONE, &seen) ||
		    l3l2q_sig_read(cs, 0, &data, sizeof(data)) ||
		    data != i + 100 || l3l2q_sig_notify(cs, 1, i))
			return 11;
	}
	return 0;
}

/*
 * libl3l2q's signals objects on the driver: create, peer fd, attach in
 * another process, round trips with data, and destroy ending the peer's
 * wait with -ECONNRESET.
 */
TEST(lib_objects_over_driver)
{
	struct l3l2q_signals *sg;
	struct l3l2q_sig *s;
	__u64 i, seen, data;
	pid_t pid;

	ASSERT_EQ(0, vm_sig_fork_l2(&sg, &pid, answer_plus100));
	s = l3l2q_signals_handle(sg);
	ASSERT_LE(0, l3l2q_signals_wait_fd(sg));
	for (i = 1; i <= 200; i++) {
		data = i + 100;
		ASSERT_EQ(0, l3l2q_sig_write(s, 0, &data, sizeof(data)));
		ASSERT_EQ(0, l3l2q_sig_notify(s, 0, i));
		ASSERT_EQ(0, l3l2q_sig_wait(s, 1, L3L2Q_SIG_CMP_GE, i,
					    L3L2Q_DEADLINE_NONE, &seen));
	}
	/* The child is asleep in SIG_WAIT for a value that never comes. */
	ASSERT_TRUE(vm_wait_blocked(pid, SYS_ioctl));
	l3l2q_sig_destroy(sg);
	EXPECT_EQ(0, reap(pid));
}

TEST_HARNESS_MAIN
