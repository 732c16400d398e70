// SPDX-License-Identifier: MIT
/*
 * stat_test - what a queue's owner can see of it without root or debugfs:
 * the fdinfo of the queue fds (docs/driver.rst, "fdinfo"), and
 * l3l2q-stat(1) listing them, checked against a queue whose every word
 * this suite wrote, inside the test VM with l3l2q.ko loaded.
 *
 * The counters are written directly into the mapping (the kernel only
 * reads them), so each expected value is known exactly.  The WAIT that
 * must be counted as a waiter is known to be asleep in ioctl(2)
 * (vm_wait_blocked()) before fdinfo is read; nothing depends on speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "wait_cmd.h"

#define DEV_PATH	"/dev/l3l2q"
#define DEPTH		8ull
#define ARENA		4096ull
#define START		5
#define SEC		1000000000ull

/* "l3l2q-<key>:\t<value>" of @pid's fd @fd, as a string; 0 if found. */
static int fdinfo_str(pid_t pid, int fd, const char *key, char *out,
		      size_t len)
{
	char path[64], line[256], want[64];
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
	snprintf(want, sizeof(want), "l3l2q-%s:", key);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want))) {
			copy_word(out, len, line + strlen(want));
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

/* The number of an fdinfo key of one of our own fds; -9999 if absent. */
static long long fdnum(int fd, const char *key)
{
	char v[64];

	if (fdinfo_str(getpid(), fd, key, v, sizeof(v)))
		return -9999;
	return strtoll(v, NULL, 0);
}

/* Is fdinfo key @key of our fd @fd the string @want? */
static int fdis(int fd, const char *key, const char *want)
{
	char v[64];

	return !fdinfo_str(getpid(), fd, key, v, sizeof(v)) &&
	       !strcmp(v, want);
}

static void store_u32(void *base, size_t off, __u32 v)
{
	__atomic_store_n((__u32 *)((char *)base + off), v, __ATOMIC_SEQ_CST);
}

FIXTURE(sq) {
	struct vm_roles r;
	char *ctr;
	char *ctrl;
	struct l3l2q_create_args args;
	unsigned long long id;
};

FIXTURE_SETUP(sq)
{
	vm_roles_init(&self->r);
	self->r.dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->r.dev) TH_LOG(DEV_PATH ": %s", strerror(errno));
	memset(&self->args, 0, sizeof(self->args));
	self->args.kind = L3L2Q_KIND_QUEUE;
	self->args.depth = DEPTH;
	self->args.input_arena_bytes = ARENA;
	self->args.output_arena_bytes = 2 * ARENA;
	self->args.start_pos = START;
	self->args.fd = -1;
	ASSERT_EQ(0, ioctl(self->r.dev, L3L2Q_IOC_CREATE, &self->args));
	self->r.l3 = self->args.fd;
	self->id = fd_queue_id(self->r.l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
	ASSERT_EQ(0, vm_roles_peer_map(&self->r, self->args.off.total_bytes));
	self->ctr = (char *)self->r.map + self->args.off.counter_offset;
	self->ctrl = (char *)self->r.map + self->args.off.ctrl_offset;
	/* Both say they kick: the poller wakes no one behind our back. */
	store_u32(self->ctrl, L3L2Q_CTRL_L3_FEATURES, L3L2Q_FEAT_KICKS);
	store_u32(self->ctrl, L3L2Q_CTRL_L2_FEATURES, L3L2Q_FEAT_KICKS);
}

FIXTURE_TEARDOWN(sq)
{
	vm_roles_close(&self->r);
}

/* Identity, geometry and role states, from either role's fd. */
TEST_F(sq, identity)
{
	char want[32];

	snprintf(want, sizeof(want), "%llu", self->id);
	EXPECT_TRUE(fdis(self->r.l2, "queue", want));
	EXPECT_TRUE(fdis(self->r.l3, "kind", "queue"));
	EXPECT_TRUE(fdis(self->r.l3, "role", "l3"));
	EXPECT_TRUE(fdis(self->r.l2, "role", "l2"));
	EXPECT_TRUE(fdis(self->r.l3, "backend", "host"));
	EXPECT_TRUE(fdis(self->r.l3, "flags", "0x0"));
	EXPECT_EQ((long long)self->args.off.total_bytes,
		  fdnum(self->r.l3, "total-bytes"));
	EXPECT_TRUE(fdis(self->r.l3, "l3-state", "live"));
	EXPECT_TRUE(fdis(self->r.l3, "l2-state", "live"));
	EXPECT_EQ(8, fdnum(self->r.l2, "depth"));
	EXPECT_EQ(4096, fdnum(self->r.l2, "input-arena-bytes"));
	EXPECT_EQ(8192, fdnum(self->r.l2, "output-arena-bytes"));
	EXPECT_EQ(START, fdnum(self->r.l2, "start-pos"));
	EXPECT_EQ(START, fdnum(self->r.l3, "input-tail"));
	EXPECT_EQ(START, fdnum(self->r.l3, "output-head"));
	EXPECT_EQ(0, fdnum(self->r.l3, "input-used"));
	EXPECT_EQ(0, fdnum(self->r.l3, "output-used"));
	EXPECT_EQ(0, fdnum(self->r.l3, "l3-kicks"));
	EXPECT_EQ(0, fdnum(self->r.l3, "l2-waiters"));
	EXPECT_EQ(-9999, fdnum(self->r.l3, "memory"));

	/* The L2 role goes: the survivor's fd says so. */
	close(self->r.l2);
	self->r.l2 = -1;
	EXPECT_TRUE(fdis(self->r.l3, "l2-state", "dead"));
	EXPECT_TRUE(fdis(self->r.l3, "l3-state", "live"));
	EXPECT_EQ(1, fdnum(self->r.l3, "l2-abort"));
}

/* Counters, occupancy and wake words are the shared words as written. */
TEST_F(sq, occupancy)
{
	store_u32(self->ctr, L3L2Q_CTR_INPUT_TAIL, START + 3);
	store_u32(self->ctr, L3L2Q_CTR_INPUT_HEAD, START + 1);
	store_u32(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, START + 1);
	store_u32(self->ctrl, L3L2Q_CTRL_L2_WAKE,
		  (2u << L3L2Q_WAKE_ARM_SHIFT) | L3L2Q_WAKE_INPUT_AVAIL);
	EXPECT_EQ(START + 3, fdnum(self->r.l3, "input-tail"));
	EXPECT_EQ(START + 1, fdnum(self->r.l3, "input-head"));
	EXPECT_EQ(2, fdnum(self->r.l3, "input-used"));
	EXPECT_EQ(1, fdnum(self->r.l2, "output-used"));
	EXPECT_EQ(1, fdnum(self->r.l2, "l2-wake-bits"));
	EXPECT_EQ(2, fdnum(self->r.l2, "l2-arms"));
	EXPECT_EQ(0, fdnum(self->r.l2, "l3-arms"));

	/* Garbage is shown as garbage, the lines agreeing with each other. */
	store_u32(self->ctr, L3L2Q_CTR_INPUT_TAIL, 1);
	store_u32(self->ctr, L3L2Q_CTR_INPUT_HEAD, 3);
	EXPECT_EQ(4294967294ll, fdnum(self->r.l3, "input-used"));
	EXPECT_EQ(8, fdnum(self->r.l3, "depth"));
}

/* Kicks per role, waiters (blocked WAITs, pending io_uring WAITs), sleeps. */
TEST_F_TIMEOUT(sq, kicks_sleeps_waiters, 120)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int status;

	ASSERT_EQ(0, ioctl(self->r.l3, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, ioctl(self->r.l3, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, ioctl(self->r.l2, L3L2Q_IOC_KICK));
	EXPECT_EQ(2, fdnum(self->r.l3, "l3-kicks"));
	EXPECT_EQ(1, fdnum(self->r.l3, "l2-kicks"));

	/* A check-only WAIT neither sleeps nor stays a waiter. */
	ASSERT_EQ(-ETIMEDOUT, vm_wait(self->r.l2, L3L2Q_CTR_INPUT_TAIL, START,
				      0));
	EXPECT_EQ(0, fdnum(self->r.l3, "l2-sleeps"));
	EXPECT_EQ(0, fdnum(self->r.l3, "l2-waiters"));

	self->r.child = fork();
	ASSERT_LE(0, self->r.child);
	if (self->r.child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(-vm_wait(self->r.l2, L3L2Q_CTR_INPUT_TAIL, START,
			       vm_now_ns() + 60 * SEC));
	}
	/* Asleep in the WAIT: inside ioctl(2) and in state S. */
	ASSERT_TRUE(vm_wait_blocked(self->r.child, SYS_ioctl));
	EXPECT_EQ(1, fdnum(self->r.l3, "l2-waiters"));
	EXPECT_EQ(0, fdnum(self->r.l3, "l3-waiters"));
	store_u32(self->ctr, L3L2Q_CTR_INPUT_TAIL, START + 1);
	ASSERT_EQ(0, ioctl(self->r.l3, L3L2Q_IOC_KICK));
	ASSERT_EQ(self->r.child, waitpid(self->r.child, &status, 0));
	self->r.child = -1;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, fdnum(self->r.l3, "l2-waiters"));
	/* Asleep in the ioctl, so it slept at least once (and is one wait). */
	EXPECT_EQ(1, fdnum(self->r.l3, "l2-sleeps"));
	EXPECT_EQ(3, fdnum(self->r.l3, "l3-kicks"));

	/* A pending io_uring WAIT is a waiter and a sleep of its role. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(1, vm_submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL,
				 START, vm_now_ns() + 60 * SEC, 0));
	EXPECT_EQ(1, fdnum(self->r.l2, "l3-waiters"));
	EXPECT_EQ(1, fdnum(self->r.l2, "l3-sleeps"));
	store_u32(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, START + 1);
	ASSERT_EQ(0, ioctl(self->r.l2, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(0, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(0, fdnum(self->r.l2, "l3-waiters"));
	EXPECT_EQ(2, fdnum(self->r.l2, "l2-kicks"));
}

/* The owner reads it without root: a process that is uid 1000 only. */
TEST_F(sq, owner_reads_without_root)
{
	char want[32];
	int status;
	pid_t pid;

	snprintf(want, sizeof(want), "%llu", self->id);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (vm_become(1000, -1))
			_exit(10);
		/* As a process that was always uid 1000 would be. */
		prctl(PR_SET_DUMPABLE, 1);
		if (!fdis(self->r.l3, "queue", want))
			_exit(12);
		if (fdnum(self->r.l3, "depth") != 8)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Run l3l2q-stat (on PATH in the VM) with @args; its output in @out. */
static int run_stat(const char *args, char *out, size_t cap)
{
	char cmd[256];
	size_t len = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "l3l2q-stat %s", args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (len + 1 < cap && fgets(out + len, (int)(cap - len), p))
		len += strlen(out + len);
	out[len] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The line of @out holding @a and @b, copied to @line; NULL if none. */
static const char *line_with(const char *out, const char *a, const char *b,
			     char *line, size_t cap)
{
	const char *p = out, *e;
	size_t n;

	while (*p) {
		e = strchr(p, '\n');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n < cap) {
			memcpy(line, p, n);
			line[n] = 0;
			if (strstr(line, a) && strstr(line, b))
				return line;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return NULL;
}

/* l3l2q-stat lists both role fds of a driver queue, from fdinfo. */
TEST_F(sq, tool_lists_driver_queue)
{
	char *out = malloc(1 << 16), args[64], fd3[32], fd2[32], id[48];
	char line[2048], want[200];
	const char *l;

	ASSERT_NE(NULL, out);
	store_u32(self->ctr, L3L2Q_CTR_INPUT_TAIL, START + 4);
	store_u32(self->ctr, L3L2Q_CTR_INPUT_HEAD, START + 1);
	ASSERT_EQ(0, ioctl(self->r.l3, L3L2Q_IOC_KICK));
	snprintf(args, sizeof(args), "--json --pid %d", (int)getpid());
	ASSERT_EQ(0, run_stat(args, out, 1 << 16));
	snprintf(fd3, sizeof(fd3), "\"fd\":%d,", self->r.l3);
	snprintf(fd2, sizeof(fd2), "\"fd\":%d,", self->r.l2);
	snprintf(id, sizeof(id), "\"id\":%llu,", self->id);

	l = line_with(out, fd3, id, line, sizeof(line));
	ASSERT_NE(NULL, l) TH_LOG("%s", out);
	EXPECT_TRUE(strstr(l, "\"backend\":\"host\"") != NULL);
	EXPECT_TRUE(strstr(l, "\"role\":\"l3\"") != NULL);
	EXPECT_TRUE(strstr(l, "\"l2_state\":\"live\"") != NULL);
	EXPECT_TRUE(strstr(l, "\"depth\":8,") != NULL);
	EXPECT_TRUE(strstr(l, "\"output_arena_bytes\":8192,") != NULL);
	EXPECT_TRUE(strstr(l, "\"input_used\":3,") != NULL);
	EXPECT_TRUE(strstr(l, "\"l3_kicks\":1,") != NULL);

	l = line_with(out, fd2, id, line, sizeof(line));
	ASSERT_NE(NULL, l) TH_LOG("%s", out);
	EXPECT_TRUE(strstr(l, "\"role\":\"l2\"") != NULL);
	EXPECT_TRUE(strstr(l, "\"input_used\":3,") != NULL);

	/* The table: the L3 fd's line. */
	snprintf(args, sizeof(args), "--pid %d", (int)getpid());
	ASSERT_EQ(0, run_stat(args, out, 1 << 16));
	snprintf(want, sizeof(want), "%-7s %-8s %8llu %5d %-4s %-13s %5d %5d %5d %-11s",
		 "host", "queue", self->id, self->r.l3, "l3", "live/live", 8, 3, 0,
		 "1/0");
	EXPECT_TRUE(strstr(out, want) != NULL)
		TH_LOG("want '%s' in:\n%s", want, out);
	free(out);
}

TEST_HARNESS_MAIN
