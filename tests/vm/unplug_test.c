// SPDX-License-Identifier: MIT
/*
 * unplug_test - QEMU's hot-unplug of each ivshmem device (VMCTL unplug N:
 * QMP device_del, ACPI's eject in the guest) while an L3 process has a
 * region open on it and a sleeper waits in each mechanism: a blocked
 * WAIT, epoll, a blocking read of a registered eventfd and an io_uring
 * WAIT.  Every one wakes (-ENODEV, EPOLLHUP|EPOLLERR, the eventfd), every
 * later call fails cleanly (-ENODEV) or still works (KICK, INFO), the old
 * mapping gives SIGBUS, and the kernel stays quiet (the runner scans
 * dmesg and unloads the module).
 *
 * The devices are gone for the rest of the boot, so this suite runs after
 * every other that uses them (the runner takes suites in name order) and
 * removes each device in its own test.  device_test covers the guest's own
 * removal (the PCI remove file) with a rescan.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "device_helpers.h"

FIXTURE(unplug) {
	struct ivs d;
	struct dq q;
};

FIXTURE_SETUP(unplug)
{
	self->q.fd = -1;
	self->q.map = MAP_FAILED;
}

FIXTURE_TEARDOWN(unplug)
{
	dq_destroy(&self->q);
}

FIXTURE_VARIANT(unplug) {
	int which;			/* VMCTL's device number */
	int doorbell;
};

FIXTURE_VARIANT_ADD(unplug, doorbell) { .which = 0, .doorbell = 1 };
FIXTURE_VARIANT_ADD(unplug, plain) { .which = 1, .doorbell = 0 };

static int live_within(const struct ivs *d, unsigned int ms)
{
	unsigned int i;

	for (i = 0; i <= ms; i += 10) {
		if (ivs_num(d, "live") == 1)
			return 0;
		sleep_ms(10);
	}
	return -1;
}

TEST_F_TIMEOUT(unplug, sleepers_wake_and_calls_fail, 300)
{
	unsigned char out[L3L2Q_TASK_HDR_BYTES + TASK_MAX];
	struct epoll_event ev = { .events = EPOLLIN };
	struct l3l2q_info_args info;
	struct l3l2q_create_args a;
	struct l3l2q_msg msg;
	struct sleeper sl[3];
	struct io_uring ring;
	struct pollfd pfd;
	pthread_t th[3];
	const char *why;
	char msgbuf[128], st[16], node[64], pci[160];
	int i, res, dev;
	void *m;

	ASSERT_EQ(0, ivs_find(&self->d, variant->doorbell, NULL))
		TH_LOG("no such ivshmem device bound: does the VM have it (tools/vm/run.sh)?");
	ASSERT_EQ(0, live_within(&self->d, 120000)) TH_LOG("the device never beat");
	scpy(node, sizeof(node), self->d.node);
	snprintf(pci, sizeof(pci), "/sys/bus/pci/devices/%s", self->d.bdf);

	/* A region the device serves: one task through it. */
	ASSERT_EQ(0, dq_create(&self->q, node, 8, 4096, 4096));
	ASSERT_EQ(0, task_try_put(&self->q, 1));
	ASSERT_EQ(0, l3l2q_l3_dequeue(&self->q.l3, out, sizeof(out),
				      l3l2q_deadline_in(60 * SEC), &msg));
	EXPECT_EQ(1, task_check(out, msg.nbytes, msg.opcode, &why));
	dev = open(node, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(1, vm_submit_wait(&ring, self->q.fd, L3L2Q_CTR_OUTPUT_TAIL,
				  dq_ctr(&self->q, L3L2Q_CTR_OUTPUT_TAIL),
				  l3l2q_now_ns() + 120 * SEC, 1));
	for (i = 0; i < 3; i++) {
		memset(&sl[i], 0, sizeof(sl[i]));
		sl[i].fd = self->q.fd;
		sl[i].via = i;
		sl[i].seen = dq_ctr(&self->q, L3L2Q_CTR_OUTPUT_TAIL);
		sl[i].efd = sl[i].ep = -1;
	}
	sl[VIA_EPOLL].ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_GE(sl[VIA_EPOLL].ep, 0);
	ASSERT_EQ(0, epoll_ctl(sl[VIA_EPOLL].ep, EPOLL_CTL_ADD, self->q.fd,
			       &ev));
	sl[VIA_EVENTFD].efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_GE(sl[VIA_EVENTFD].efd, 0);
	ASSERT_EQ(0, set_eventfd(self->q.fd, sl[VIA_EVENTFD].efd));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, sleeper_fn, &sl[i]));
	for (i = 0; i < 3; i++) {
		while (!__atomic_load_n(&sl[i].tid, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		ASSERT_TRUE(vm_wait_blocked(sl[i].tid, i == VIA_WAIT ? SYS_ioctl :
					 i == VIA_EPOLL ? SYS_epoll_wait :
					 SYS_read)) TH_LOG("%s never slept",
							   via_str(i));
	}

	ASSERT_EQ(0, vmctl(msgbuf, sizeof(msgbuf), "unplug %d", variant->which))
		TH_LOG("%s", msgbuf);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(-ENODEV, sl[VIA_WAIT].res);
	EXPECT_EQ(EPOLLHUP | EPOLLERR,
		  sl[VIA_EPOLL].res & (EPOLLHUP | EPOLLERR));
	EXPECT_LE(1, sl[VIA_EVENTFD].res);
	ASSERT_EQ(0, get_cqe(&ring, 60000, &res));
	EXPECT_EQ(-ENODEV, res);

	/* The device is gone from the guest: node, debugfs, PCI device. */
	for (i = 0; i < 60000 && !access(pci, F_OK); i += 10)
		sleep_ms(10);
	EXPECT_NE(0, access(pci, F_OK));
	EXPECT_NE(0, access(node, F_OK));
	EXPECT_NE(0, access(self->d.dbg, F_OK));

	/* Later calls. */
	EXPECT_EQ(-ENODEV, vm_wait(self->q.fd, L3L2Q_CTR_OUTPUT_TAIL, 0,
				   FOREVER));
	EXPECT_EQ(1, vm_submit_wait(&ring, self->q.fd, L3L2Q_CTR_OUTPUT_TAIL, 0,
				  FOREVER, 2));
	ASSERT_EQ(0, get_cqe(&ring, 60000, &res));
	EXPECT_EQ(-ENODEV, res);
	EXPECT_EQ(0, ioctl(self->q.fd, L3L2Q_IOC_KICK));
	memset(&info, 0, sizeof(info));
	EXPECT_EQ(0, ioctl(self->q.fd, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(8ull, info.depth);
	pfd.fd = self->q.fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, pfd.revents & (POLLHUP | POLLERR));
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->q.fd, 0);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(SIGBUS, touch_sig(self->q.map));
	memset(&a, 0, sizeof(a));
	a.depth = 8;
	a.input_arena_bytes = 4096;
	a.output_arena_bytes = 4096;
	errno = 0;
	EXPECT_EQ(-1, ioctl(dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(0, dbg_str(self->q.id, "memory", st, sizeof(st)));
	EXPECT_STREQ("gone", st);
	/* The library's view: the peer is gone, nothing hangs. */
	EXPECT_EQ(-ENODEV, dq_sleep(&self->q, L3L2Q_CTR_OUTPUT_TAIL, 0,
				    FOREVER));

	close(dev);
	close(sl[VIA_EPOLL].ep);
	close(sl[VIA_EVENTFD].efd);
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
