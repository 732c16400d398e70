// SPDX-License-Identifier: MIT
/*
 * libl3l2q over the real driver, inside the VM: streaming between two
 * processes, kill -9 of the L2 process mid-stream, a process scribbling
 * over its whole mapping, and create/map/destroy cycles that must not leak.
 * Every queue here is forced onto /dev/l3l2q (no memfd fallback).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "helpers.h"
#include "libl3l2q_uring.h"
#include "streamer.h"

#define SEC 1000000000ull

FIXTURE(vm) {
	struct l3l2q_queue *q;
	pid_t child;
};

FIXTURE_SETUP(vm)
{
	self->q = NULL;
	self->child = -1;
}

FIXTURE_TEARDOWN(vm)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	l3l2q_destroy(self->q);
}

/* The host's streaming test, over the driver: 10^5 each way, two processes. */
TEST_F_TIMEOUT(vm, stream_1e5_both_directions_over_driver, 1200)
{
	struct streamer s = { .total = 100000, .in_max = 512, .out_max = 512 };
	int fd;

	self->q = stream_create(L3L2Q_BACKEND_DEVICE, 64, 4096, 4096, 0);
	ASSERT_NE(NULL, self->q);
	ASSERT_EQ((int)L3L2Q_BACKEND_DEVICE, (int)l3l2q_queue_backend(self->q));
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0)
		_exit(stream_child_l2(fd, s.total, s.in_max,
				     L3L2Q_BACKEND_DEVICE,
				     l3l2q_deadline_in(400 * SEC)));
	close(fd);	/* the L2 role now lives in the child only */
	s.l3 = l3l2q_queue_l3(self->q);
	s.buf = malloc(s.in_max);
	ASSERT_NE(NULL, s.buf);
	ASSERT_EQ(0, run_l3(&s, l3l2q_deadline_in(500 * SEC)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, th_wait_child(self->child));
	self->child = -1;
	EXPECT_EQ(s.total, s.got_out);
}

/*
 * kill -9 of the L2 process mid-stream: every output it published before
 * dying is delivered, in order, and then L3 reports the peer's death
 * within 1 s of the kill.
 */
TEST_F_TIMEOUT(vm, kill9_of_l2_mid_stream_reports_death_and_loses_nothing, 600)
{
	struct streamer s = { .total = ~0ull, .in_max = 64, .out_max = 256 };
	volatile __u64 *published;
	struct l3l2q_msg m;
	__u64 before;
	int fd, ret;

	published = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)published);
	self->q = stream_create(L3L2Q_BACKEND_DEVICE, 16, 1024, 4096, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		struct l3l2q_queue *q = NULL;

		if (l3l2q_attach(fd, NULL, &q, NULL))
			_exit(10);
		s.l2 = l3l2q_queue_l2(q);
		for (;;) {
			ret = l2_send_step(&s);
			if (ret < 0)
				_exit(11);
			if (ret)	/* counted only once really published */
				__atomic_store_n(published, s.sent_out,
						 __ATOMIC_RELEASE);
		}
	}
	close(fd);
	s.l3 = l3l2q_queue_l3(self->q);
	/* Let it run: consume a while, so the kill lands mid-stream. */
	while (s.got_out < 2000)
		ASSERT_LE(0, l3_recv_step(&s)) TH_LOG("%s", s.fail);
	ASSERT_EQ(0, kill(self->child, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, th_wait_child(self->child));
	self->child = -1;
	before = __atomic_load_n(published, __ATOMIC_ACQUIRE);
	for (;;) {
		/* No deadline: only noticing the death ends it (watchdog). */
		ret = l3l2q_l3_peek(s.l3, L3L2Q_DEADLINE_NONE, &m);
		if (ret)
			break;
		ASSERT_EQ(0, l3l2q_l3_release(s.l3, &m));
		ASSERT_EQ(msg_size(DIR_OUT, s.got_out, s.out_max), m.nbytes);
		s.got_out++;
	}
	EXPECT_EQ(-ECONNRESET, ret);
	/* Everything counted as published arrived; at most one more did. */
	EXPECT_LE(before, s.got_out);
	EXPECT_GE(before + 1, s.got_out);
	munmap((void *)published, 4096);
}

/* Stream @n messages each way through @q in this process, both roles. */
static int self_stream(struct l3l2q_queue *q, __u64 n)
{
	struct l3l2q_queue *l2q = NULL;
	struct streamer s = { .total = n, .in_max = 128, .out_max = 128 };
	unsigned char buf[128];
	int fd = l3l2q_peer_fd(q), ret = -1;

	if (fd < 0 || l3l2q_attach(fd, NULL, &l2q, NULL))
		goto out;
	s.l3 = l3l2q_queue_l3(q);
	s.l2 = l3l2q_queue_l2(l2q);
	s.buf = buf;
	while (!(l3_done(&s) && l2_done(&s)))
		if (l3_send_step(&s) < 0 || l2_recv_step(&s) < 0 ||
		    l2_send_step(&s) < 0 || l3_recv_step(&s) < 0)
			goto out;
	ret = 0;
out:
	if (ret && s.fail)
		fprintf(stderr, "self_stream: %s at %llu\n", s.fail,
			(unsigned long long)s.fail_at);
	l3l2q_destroy(l2q);
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * A process that writes random bytes over every byte of its mapping (both
 * roles' views) breaks only its own queue: the kernel stays clean (the
 * runner fails on any WARN in dmesg), debugfs still reads, and a second
 * queue keeps working.
 */
TEST_F_TIMEOUT(vm, scribbling_over_a_mapping_harms_only_that_queue, 600)
{
	struct l3l2q_queue *other = stream_create(L3L2Q_BACKEND_DEVICE, 8,
						  1024, 1024, 0);
	const struct l3l2q_mem *mem;
	unsigned char *p, *end;
	char path[64], line[256];
	__u64 seed = 0x5eed;
	int fd, i;

	ASSERT_NE(NULL, other);
	self->q = stream_create(L3L2Q_BACKEND_DEVICE, 8, 1024, 1024, 0);
	ASSERT_NE(NULL, self->q);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		struct l3l2q_info_args info = { 0 };
		void *l2map;

		if (ioctl(fd, L3L2Q_IOC_INFO, &info))
			_exit(10);
		l2map = mmap(NULL, info.off.total_bytes, PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, 0);
		if (l2map == MAP_FAILED)
			_exit(11);
		for (i = 0; i < 3; i++) {
			p = l2map;
			end = p + info.off.total_bytes;
			for (; p < end; p++) {
				seed = mix(seed);
				*p = (unsigned char)seed;
			}
		}
		_exit(0);	/* dies with garbage everywhere */
	}
	close(fd);
	/* Scribble over the L3 view too, then keep using the queue. */
	mem = l3l2q_queue_mem(self->q);
	p = mem->ctrl;
	end = (unsigned char *)mem->payload + l3l2q_queue_layout(self->q)->payload_bytes;
	for (; p < end; p++) {
		seed = mix(seed);
		*p = (unsigned char)seed;
	}
	EXPECT_EQ(0, th_wait_child(self->child));
	self->child = -1;
	/* Whatever the queue does now, it reports an error or no progress. */
	for (i = 0; i < 100; i++) {
		struct l3l2q_msg m;
		int ret = l3l2q_l3_try_peek(l3l2q_queue_l3(self->q), &m);

		if (ret == 0)
			ret = l3l2q_l3_release(l3l2q_queue_l3(self->q), &m);
		EXPECT_TRUE(ret == 0 || ret == -EAGAIN || ret == -EPROTO ||
			    ret == -ECONNRESET);
	}
	/* debugfs of every queue still reads (each word read once). */
	for (i = 1; i < 4096; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/sys/kernel/debug/l3l2q/%d", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			;
		fclose(f);
	}
	/* The other queue is untouched. */
	EXPECT_EQ(0, self_stream(other, 5000));
	l3l2q_destroy(other);
}

/* 1000 create/map/destroy cycles leave kernel memory where it was. */
TEST_F_TIMEOUT(vm, create_map_destroy_1000_cycles_do_not_leak, 900)
{
	long vmalloc0, slab0, vmalloc1, slab1;
	int fds0 = count_fds(), i;

	/* Warm up caches so the baseline is fair. */
	for (i = 0; i < 10; i++) {
		self->q = stream_create(L3L2Q_BACKEND_DEVICE, 64, 65536, 65536, 0);
		ASSERT_NE(NULL, self->q);
		ASSERT_EQ(0, self_stream(self->q, 10));
		l3l2q_destroy(self->q);
		self->q = NULL;
	}
	vmalloc0 = meminfo_kb("VmallocUsed");
	slab0 = meminfo_kb("SUnreclaim");
	ASSERT_LE(0, vmalloc0);
	ASSERT_LE(0, slab0);
	for (i = 0; i < 1000; i++) {
		self->q = stream_create(L3L2Q_BACKEND_DEVICE, 64, 65536, 65536, 0);
		ASSERT_NE(NULL, self->q) TH_LOG("cycle %d", i);
		ASSERT_EQ(0, self_stream(self->q, 10)) TH_LOG("cycle %d", i);
		l3l2q_destroy(self->q);
		self->q = NULL;
	}
	vmalloc1 = meminfo_kb("VmallocUsed");
	slab1 = meminfo_kb("SUnreclaim");
	/* One region is ~140 KiB: 1000 leaked ones would be ~140 MiB. */
	EXPECT_GT(vmalloc0 + 512, vmalloc1)
		TH_LOG("VmallocUsed %ld -> %ld kB", vmalloc0, vmalloc1);
	EXPECT_GT(slab0 + 1024, slab1)
		TH_LOG("SUnreclaim %ld -> %ld kB", slab0, slab1);
	EXPECT_EQ(fds0, count_fds());
}

/*
 * l3l2q_prep_wait() puts in the WAIT the counter value the endpoint
 * recorded when it armed the bit (W1), from its own copy: the shared seen
 * word, which the peer can rewrite between arming and sleeping (a fuzz
 * finding), is never read back.  Here the L3 scribbles its own seen words
 * after arming, as a hostile peer could; the SQE must still carry the
 * real counter.  And with the bit not armed, the last value seen.
 */
TEST_F(vm, prep_wait_takes_the_armed_seen_from_the_endpoint)
{
	const __u64 start = 0x7654321ull;
	struct l3l2q_wait_args w;
	struct io_uring_sqe sqe;
	struct l3l2q_l3 *l3;
	unsigned int i;

	self->q = stream_create(L3L2Q_BACKEND_DEVICE, 4, 256, 256, start);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	ASSERT_EQ(0, l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	for (i = 0; i < 4; i++)
		__atomic_store_n((__u32 *)((char *)l3l2q_queue_mem(self->q)->ctrl +
			L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L3_WAKE, i)),
			0xdead0000u + i, __ATOMIC_RELAXED);
	memset(&sqe, 0, sizeof(sqe));
	ASSERT_EQ(0, l3l2q_prep_wait(&sqe, self->q, L3L2Q_WAKE_OUTPUT_AVAIL,
				     l3l2q_deadline_in(SEC), NULL));
	memcpy(&w, sqe.cmd, sizeof(w));
	EXPECT_EQ((__u16)L3L2Q_CTR_OUTPUT_TAIL, w.counter);
	EXPECT_EQ(l3l2q_low32(start), w.seen);
	/* Not armed: the endpoint's last sample, the same here. */
	ASSERT_EQ(0, l3l2q_ep_clear_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL));
	ASSERT_EQ(0, l3l2q_prep_wait(&sqe, self->q, L3L2Q_WAKE_OUTPUT_AVAIL,
				     l3l2q_deadline_in(SEC), NULL));
	memcpy(&w, sqe.cmd, sizeof(w));
	EXPECT_EQ(l3l2q_low32(start), w.seen);
}

TEST_HARNESS_MAIN
