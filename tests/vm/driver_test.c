// SPDX-License-Identifier: GPL-2.0
/*
 * driver_test - /dev/l3l2q from user space: create, peer, info, mmap rules,
 * role death and limits.  Runs inside the test VM as root with l3l2q.ko
 * loaded and debugfs reachable (mounted here if it is not).
 *
 * Errnos the driver documents (kmod/):
 *   CREATE  EINVAL  bad geometry, unknown flags, non-zero reserved field
 *           E2BIG   region larger than max_queue_bytes
 *           ENOMEM  the user's locked memory would pass RLIMIT_MEMLOCK
 *                   (without CAP_IPC_LOCK), or the memory cgroup's limit
 *                   (never the cgroup's OOM killer)
 *   PEER    EBUSY   an L2 fd was already made
 *           EPERM   on an L2 fd or on the device fd
 *           EINVAL  non-zero flags or reserved field
 *   INFO    EPERM   on the device fd
 *   mmap    EINVAL  MAP_PRIVATE, window beyond the region
 *           EPERM   PROT_EXEC
 *   mprotect(PROT_EXEC) EACCES (VM_MAYEXEC cleared)
 *   partial munmap / mprotect: EINVAL, the mapping stays whole
 *   mremap: grow EFAULT (VM_DONTEXPAND), move EINVAL
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "helpers.h"

#define DEV_PATH	"/dev/l3l2q"

#define DEPTH		8ull
#define IN_ARENA	4096ull
#define OUT_ARENA	8192ull

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

/* Read debugfs file of queue @id into @buf; returns bytes or -1. */
static int read_queue_dbg(unsigned long long id, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), DBG_DIR "/%llu", id);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return (int)n;
}

static int queue_dbg_exists(unsigned long long id)
{
	char path[128];

	snprintf(path, sizeof(path), DBG_DIR "/%llu", id);
	return access(path, F_OK) == 0;
}

static int create_queue(int dev, struct l3l2q_create_args *a, __u64 depth,
			__u64 in_arena, __u64 out_arena, __u64 start_pos)
{
	memset(a, 0, sizeof(*a));
	a->depth = depth;
	a->input_arena_bytes = in_arena;
	a->output_arena_bytes = out_arena;
	a->start_pos = start_pos;
	a->fd = -1;
	return ioctl(dev, L3L2Q_IOC_CREATE, a);
}

static int make_peer(int l3fd)
{
	struct l3l2q_peer_args p;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	if (ioctl(l3fd, L3L2Q_IOC_PEER, &p))
		return -1;
	return p.fd;
}

static void *map_queue(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

/* Poll a shared word until it equals @want (1), or the watchdog (0). */
static int wait_u32(const void *base, size_t off, __u32 want)
{
	struct timespec ts = { 0, 1000 * 1000 };
	unsigned int i;

	for (i = 0; i < VM_WATCHDOG_MS; i++) {
		if (load_u32(base, off) == want)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int all_zero(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i])
			return 0;
	return 1;
}

/* ---------------------------------------------------------------------- */
/* CREATE: refused geometry creates nothing                               */
/* ---------------------------------------------------------------------- */

FIXTURE(bad_create) {
	int dev;
};

FIXTURE_VARIANT(bad_create) {
	__u64 depth;
	__u64 in_arena;
	__u64 out_arena;
	__u32 flags;
	int resv;		/* 1: kind, 2: resv1[], 3: resv2, 4: resv3[] */
};

FIXTURE_VARIANT_ADD(bad_create, depth_0) { 0, 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, depth_1) { 1, 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, depth_3) { 3, 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, depth_2_31) { 1ull << 31, 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, depth_2_63) { 1ull << 63, 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, in_arena_0) { 8, 0, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, in_arena_65) { 8, 65, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, out_arena_0) { 8, 4096, 0, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, out_arena_65) { 8, 4096, 65, 0, 0 };
/* Multiples of 64 whose sum overflows u64 in the layout. */
FIXTURE_VARIANT_ADD(bad_create, overflow_in) { 8, ~0ull - 63, 64, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, overflow_out) { 8, 64, ~0ull - 63, 0, 0 };
FIXTURE_VARIANT_ADD(bad_create, overflow_region) {
	8, 1ull << 63, (1ull << 63) - 4096, 0, 0 };
/* The lowest bit above the defined ones, and a transform without a peer. */
FIXTURE_VARIANT_ADD(bad_create, flags_unknown_low) {
	8, 4096, 4096, L3L2Q_CREATE_ALL + 1, 0 };
FIXTURE_VARIANT_ADD(bad_create, flags_xor_alone) {
	8, 4096, 4096, L3L2Q_CREATE_LOOPBACK_XOR, 0 };
FIXTURE_VARIANT_ADD(bad_create, flags_top) { 8, 4096, 4096, 1u << 31, 0 };
FIXTURE_VARIANT_ADD(bad_create, flags_all) { 8, 4096, 4096, ~0u, 0 };
FIXTURE_VARIANT_ADD(bad_create, kind_unknown) { 8, 4096, 4096, 0, 1 };
FIXTURE_VARIANT_ADD(bad_create, resv1) { 8, 4096, 4096, 0, 2 };
FIXTURE_VARIANT_ADD(bad_create, resv2) { 8, 4096, 4096, 0, 3 };
FIXTURE_VARIANT_ADD(bad_create, resv3) { 8, 4096, 4096, 0, 4 };

FIXTURE_SETUP(bad_create)
{
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, DEV_PATH " missing: is l3l2q.ko loaded?");
	ASSERT_EQ(0, ensure_debugfs());
}

FIXTURE_TEARDOWN(bad_create)
{
	if (self->dev >= 0)
		close(self->dev);
}

TEST_F(bad_create, einval_and_nothing_created)
{
	struct l3l2q_create_args a;
	int fds = count_fds(), queues = count_dir(DBG_DIR);

	memset(&a, 0, sizeof(a));
	a.depth = variant->depth;
	a.input_arena_bytes = variant->in_arena;
	a.output_arena_bytes = variant->out_arena;
	a.flags = variant->flags;
	a.fd = -1;
	switch (variant->resv) {
	case 1:
		a.kind = ~0u;
		break;
	case 2:
		a.resv1[3] = 1;
		break;
	case 3:
		a.resv2 = 1;
		break;
	case 4:
		a.resv3[0] = 1;
		break;
	}
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, L3L2Q_IOC_CREATE, &a));
	/* An unknown kind is a missing feature, not a bad argument. */
	EXPECT_EQ(variant->resv == 1 ? EOPNOTSUPP : EINVAL, errno);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(queues, count_dir(DBG_DIR));
	/* The same struct with the fault removed is accepted. */
	a.depth = 8;
	a.input_arena_bytes = 4096;
	a.output_arena_bytes = 4096;
	a.flags = 0;
	a.kind = L3L2Q_KIND_QUEUE;
	a.resv2 = 0;
	memset(a.resv1, 0, sizeof(a.resv1));
	memset(a.resv3, 0, sizeof(a.resv3));
	ASSERT_EQ(0, ioctl(self->dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(fds + 1, count_fds());
	EXPECT_EQ(queues + 1, count_dir(DBG_DIR));
	close(a.fd);
	EXPECT_EQ(queues, count_dir(DBG_DIR));
}

/* ---------------------------------------------------------------------- */
/* A queue with its L3 fd mapped                                          */
/* ---------------------------------------------------------------------- */

FIXTURE(queue) {
	int dev;
	int l3;
	struct l3l2q_create_args args;
	size_t len;
	unsigned char *map;	/* the L3 fd's mapping of the whole region */
	unsigned long long id;	/* debugfs name */
};

FIXTURE_SETUP(queue)
{
	self->map = MAP_FAILED;
	self->l3 = -1;
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, DEV_PATH " missing: is l3l2q.ko loaded?");
	ASSERT_EQ(0, ensure_debugfs());
	ASSERT_EQ(0, create_queue(self->dev, &self->args, DEPTH, IN_ARENA,
				  OUT_ARENA, 0));
	self->l3 = self->args.fd;
	ASSERT_GE(self->l3, 0);
	self->id = fd_queue_id(self->l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
	ASSERT_TRUE(queue_dbg_exists(self->id));
	self->len = self->args.off.total_bytes;
	self->map = map_queue(self->l3, self->len);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(queue)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->len);
	if (self->l3 >= 0)
		close(self->l3);
	if (self->dev >= 0)
		close(self->dev);
}

/* The reported offsets are the uapi layout functions' result. */
TEST_F(queue, create_reports_layout_and_fd)
{
	struct l3l2q_region_offsets off;
	struct l3l2q_layout l;
	char link[64], path[64];
	ssize_t n;

	ASSERT_EQ((int)L3L2Q_LAYOUT_OK,
		  (int)l3l2q_layout(DEPTH, IN_ARENA, OUT_ARENA, &l));
	ASSERT_EQ(1, l3l2q_region_layout(&l, &off));
	EXPECT_EQ(0, memcmp(&off, &self->args.off, sizeof(off)));
	EXPECT_EQ(0u, self->args.resv2);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->l3, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(self->l3, F_GETFL) & O_ACCMODE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->l3);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	EXPECT_STREQ("anon_inode:[l3l2q-l3]", link);
	EXPECT_EQ(-1, lseek(self->l3, 0, SEEK_SET));
}

TEST_F(queue, control_block_and_counters_initialised)
{
	const struct l3l2q_ctrl_hdr *h = (const void *)self->map;
	const unsigned char *ctr = self->map + self->args.off.counter_offset;

	EXPECT_EQ(L3L2Q_CTRL_MAGIC, h->magic);
	EXPECT_EQ(L3L2Q_CTRL_VERSION, h->version);
	EXPECT_EQ(L3L2Q_QUEUE_MAGIC_VERSION, h->queue_magic_version);
	EXPECT_EQ(DEPTH, h->depth);
	EXPECT_EQ(IN_ARENA, h->input_arena_bytes);
	EXPECT_EQ(OUT_ARENA, h->output_arena_bytes);
	EXPECT_EQ(0ull, h->start_pos);
	EXPECT_EQ(0u, h->flags);
	EXPECT_EQ(0u, h->resv0);
	EXPECT_EQ(0ull, h->resv1);
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L3_STATE));
	EXPECT_EQ(L3L2Q_ROLE_ABSENT, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(0u, load_u32(self->map, L3L2Q_CTRL_L3_WAKE));
	EXPECT_EQ(0u, load_u32(self->map, L3L2Q_CTRL_L2_WAKE));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
}

/* Every byte the kernel did not define is zero: real, zeroed pages. */
TEST_F(queue, pages_zeroed)
{
	const struct l3l2q_region_offsets *o = &self->args.off;
	unsigned char *ctrl = self->map;
	unsigned char *ctr = self->map + o->counter_offset;
	unsigned int line;

	/* Control block: lines after the header hold one word each. */
	for (line = 64; line < L3L2Q_CTRL_BYTES; line += 64) {
		size_t skip = (line == L3L2Q_CTRL_L3_STATE ||
			       line == L3L2Q_CTRL_L2_STATE) ? 4 : 0;

		EXPECT_TRUE(all_zero(ctrl + line + skip, 64 - skip));
	}
	/* Counter block: bytes 4..63 of each line, and the page's rest. */
	for (line = 0; line < L3L2Q_COUNTER_BYTES; line += 64)
		EXPECT_TRUE(all_zero(ctr + line + 4, 60));
	EXPECT_TRUE(all_zero(ctr + L3L2Q_COUNTER_BYTES,
			     o->payload_offset - o->counter_offset -
			     L3L2Q_COUNTER_BYTES));
	EXPECT_TRUE(all_zero(self->map + o->payload_offset,
			     o->total_bytes - o->payload_offset));
}

/* start_pos reaches the header whole and the counters as (s32)(u32). */
TEST(start_pos_truncated_into_counters)
{
	__u64 start = (7ull << 32) | 0xfffffffdull;
	struct l3l2q_create_args a;
	unsigned char *map, *ctr;
	int dev;

	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		SKIP(return, DEV_PATH " missing");
	ASSERT_EQ(0, create_queue(dev, &a, 2, 64, 64, start));
	map = map_queue(a.fd, a.off.total_bytes);
	ASSERT_NE(MAP_FAILED, map);
	ctr = map + a.off.counter_offset;
	EXPECT_EQ(start, ((struct l3l2q_ctrl_hdr *)map)->start_pos);
	EXPECT_EQ(-3, load_s32(ctr, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(-3, load_s32(ctr, L3L2Q_CTR_INPUT_HEAD));
	EXPECT_EQ(-3, load_s32(ctr, L3L2Q_CTR_OUTPUT_TAIL));
	EXPECT_EQ(-3, load_s32(ctr, L3L2Q_CTR_OUTPUT_HEAD));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
	munmap(map, a.off.total_bytes);
	close(a.fd);
	close(dev);
}

/* ---------------------------------------------------------------------- */
/* mmap rules                                                             */
/* ---------------------------------------------------------------------- */

TEST_F(queue, mmap_private_refused)
{
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, self->l3, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->len, PROT_READ, MAP_PRIVATE,
				   self->l3, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(queue, mmap_exec_refused)
{
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->len, PROT_READ | PROT_EXEC,
				   MAP_SHARED, self->l3, 0));
	EXPECT_EQ(EPERM, errno);
}

TEST_F(queue, mprotect_exec_refused)
{
	errno = 0;
	EXPECT_EQ(-1, mprotect(self->map, self->len, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	/* Dropping and restoring write is allowed and keeps the data. */
	EXPECT_EQ(0, mprotect(self->map, self->len, PROT_READ));
	EXPECT_EQ(0, mprotect(self->map, self->len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(self->map, 0));
}

TEST_F(queue, mmap_window_checked)
{
	size_t total = self->len;
	unsigned char *p;

	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED,
				   self->l3, total));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, total + 4096, PROT_READ, MAP_SHARED,
				   self->l3, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, total, PROT_READ, MAP_SHARED,
				   self->l3, 4096));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED,
				   self->l3, 1ull << 40));
	EXPECT_EQ(EINVAL, errno);

	/* A window inside the region maps the pages at that offset. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->l3,
		 self->args.off.counter_offset);
	ASSERT_NE(MAP_FAILED, p);
	self->map[self->args.off.counter_offset + 4] = 0x5a;
	EXPECT_EQ(0x5a, p[4]);
	self->map[self->args.off.counter_offset + 4] = 0;
	munmap(p, 4096);
	/* The last page alone. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->l3, total - 4096);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, 4096);
}

TEST_F(queue, mremap_refused)
{
	void *p;

	errno = 0;
	p = mremap(self->map, self->len, self->len + 4096, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	p = mremap(self->map, self->len, self->len + 4096, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EFAULT, errno);
	/* A move to a free spot is reverted by the driver's .mremap. */
	p = mmap(NULL, self->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mremap(self->map, self->len, self->len,
				     MREMAP_MAYMOVE | MREMAP_FIXED, p));
	EXPECT_EQ(EINVAL, errno);
	munmap(p, self->len);
	/* Shrinking would split the mapping. */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mremap(self->map, self->len, 4096, 0));
	EXPECT_EQ(EINVAL, errno);
	/* The original mapping is whole and still shared with the kernel. */
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(self->map, 0));
	EXPECT_EQ(0u, load_u32(self->map, self->len - 4));
}

/* The driver refuses splits: a partial munmap fails, nothing is unmapped. */
TEST_F(queue, partial_munmap_refused)
{
	errno = 0;
	EXPECT_EQ(-1, munmap(self->map + 4096, 4096));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, munmap(self->map, 4096));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(self->map + 4096, 4096, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(self->map, 0));
	EXPECT_EQ(0, load_s32(self->map + 4096, L3L2Q_CTR_INPUT_TAIL));
}

/* VM_DONTCOPY: the child has no mapping at that address. */
TEST_F(queue, fork_does_not_inherit_mapping)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		_exit(load_u32(self->map, 0) == L3L2Q_CTRL_MAGIC ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	/* The parent's mapping is unaffected. */
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(self->map, 0));
}

/*
 * MADV_DOFORK cannot undo VM_DONTCOPY: VM_IO makes madvise() refuse it.
 * So no child holds a role through an inherited mapping, and a role dies
 * with the process that held it.  (Before, madvise() succeeded, the child
 * shared the L2 mapping and kept the L2 role alive after its parent
 * died.)
 */
TEST_F_TIMEOUT(queue, madv_dofork_refused_so_a_child_cannot_hold_the_role,
	       120)
{
	int p[2], i, alive = 1, info[2];
	pid_t mid, child;

	ASSERT_EQ(0, pipe(p));
	mid = fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		unsigned char *m2;
		int l2;

		close(p[0]);
		l2 = make_peer(self->l3);
		m2 = l2 < 0 ? MAP_FAILED : map_queue(l2, self->len);
		if (m2 == MAP_FAILED)
			_exit(2);
		info[0] = madvise(m2, self->len, MADV_DOFORK) ? errno : 0;
		info[1] = fork();
		if (info[1] == 0) {
			/*
			 * Holds whatever mapping it inherited until killed;
			 * the fds it inherited go (they are not the question).
			 */
			close(l2);
			close(self->l3);
			close(self->dev);
			for (;;)
				pause();
		}
		if (write(p[1], info, sizeof(info)) != sizeof(info))
			_exit(3);
		/* Dies with its L2 fd and mapping. */
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(info), read(p[0], info, sizeof(info)));
	close(p[0]);
	child = info[1];
	ASSERT_LT(0, child);
	ASSERT_EQ(mid, waitpid(mid, NULL, 0));
	EXPECT_EQ(EINVAL, info[0]);
	/* The L2 role dies with its holder although the child lives on. */
	for (i = 0; i < 10 && alive; i++)
		alive = !wait_u32(self->map, L3L2Q_CTRL_L2_STATE,
				  L3L2Q_ROLE_DEAD);
	EXPECT_FALSE(alive);
	EXPECT_EQ(0, kill(child, 0));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/* MADV_DONTNEED drops the PTEs; the next touch finds the same pages. */
TEST_F(queue, madv_dontneed_keeps_data)
{
	unsigned char *pl = self->map + self->args.off.payload_offset;

	pl[0] = 0x11;
	pl[IN_ARENA] = 0x22;
	ASSERT_EQ(0, madvise(self->map, self->len, MADV_DONTNEED));
	EXPECT_EQ(0x11, pl[0]);
	EXPECT_EQ(0x22, pl[IN_ARENA]);
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(self->map, 0));
	ASSERT_EQ(0, madvise(self->map, self->len, MADV_DONTNEED));
	pl[1] = 0x33;	/* a write fault too */
	EXPECT_EQ(0x33, pl[1]);
	EXPECT_EQ(0x11, pl[0]);
}

TEST_F(queue, l3_and_l2_mappings_share_pages)
{
	size_t pl = self->args.off.payload_offset;
	unsigned char *m2;
	int l2;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	m2 = map_queue(l2, self->len);
	ASSERT_NE(MAP_FAILED, m2);
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(m2, 0));

	self->map[pl + 100] = 0xab;
	EXPECT_EQ(0xab, m2[pl + 100]);
	m2[self->len - 1] = 0xcd;
	EXPECT_EQ(0xcd, self->map[self->len - 1]);
	__atomic_store_n((__s32 *)(m2 + self->args.off.counter_offset +
				   L3L2Q_CTR_INPUT_HEAD), 5, __ATOMIC_RELEASE);
	EXPECT_EQ(5, load_s32(self->map + self->args.off.counter_offset,
			      L3L2Q_CTR_INPUT_HEAD));
	munmap(m2, self->len);
	close(l2);
}

/* ---------------------------------------------------------------------- */
/* PEER and INFO                                                          */
/* ---------------------------------------------------------------------- */

TEST_F(queue, peer_once_then_ebusy)
{
	char link[64], path[64], role[16];
	ssize_t n;
	int l2;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(FD_CLOEXEC, fcntl(l2, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(l2, F_GETFL) & O_ACCMODE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", l2);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	EXPECT_STREQ("anon_inode:[l3l2q-l2]", link);
	EXPECT_EQ(self->id, fd_queue_id(l2, role, sizeof(role)));
	EXPECT_STREQ("l2", role);
	EXPECT_EQ(self->id, fd_queue_id(self->l3, role, sizeof(role)));
	EXPECT_STREQ("l3", role);

	errno = 0;
	EXPECT_EQ(-1, make_peer(self->l3));
	EXPECT_EQ(EBUSY, errno);
	/* Still EBUSY after the L2 role died: there is one L2, ever. */
	close(l2);
	errno = 0;
	EXPECT_EQ(-1, make_peer(self->l3));
	EXPECT_EQ(EBUSY, errno);
}

/* Racing PEERs on one L3 file (shared by fork): exactly one wins. */
TEST_F(queue, peer_race_one_winner)
{
	int i, status, won = 0, busy = 0;
	pid_t pid[4];

	for (i = 0; i < 4; i++) {
		pid[i] = fork();
		ASSERT_GE(pid[i], 0);
		if (pid[i] == 0) {
			if (make_peer(self->l3) >= 0)
				_exit(0);
			_exit(errno == EBUSY ? 1 : 2);
		}
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		won += WEXITSTATUS(status) == 0;
		busy += WEXITSTATUS(status) == 1;
	}
	EXPECT_EQ(1, won);
	EXPECT_EQ(3, busy);
	/* The winner has exited: its L2 role is dead. */
	EXPECT_EQ(L3L2Q_ROLE_DEAD, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
}

struct peer_call {
	int l3;
	struct l3l2q_peer_args *args;	/* in the write-protected page */
	int ret;
};

static void *peer_thread(void *arg)
{
	struct peer_call *c = arg;

	c->ret = ioctl(c->l3, L3L2Q_IOC_PEER, c->args) ? -errno : 0;
	return NULL;
}

/* Read queue @id's debugfs file to the end in a child; its pid. */
static pid_t read_dbg_in_child(unsigned long long id)
{
	char buf[4096];
	pid_t pid;

	pid = fork();
	if (pid == 0)
		_exit(read_queue_dbg(id, buf, sizeof(buf)) > 0 ? 0 : 1);
	return pid;
}

/* Wait up to @ms for @pid to exit: its status, or -1 if it did not. */
static int wait_exit(pid_t pid, unsigned int ms)
{
	unsigned int i;
	int status;

	for (i = 0;; i += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		if (i >= ms)
			return -1;
		sleep_ms(10);
	}
}

/*
 * PEER writes its result to user memory outside the region's lock.  Here
 * that write hangs on a userfaultfd write-protected page (as it could on a
 * FUSE page) until the test lets it go; meanwhile the region's lock is
 * free: debugfs, which takes it, reads the queue at once.  Before, PEER
 * held the lock across copy_to_user() and the reader hung, unkillable,
 * until the fault was resolved.
 */
TEST_F_TIMEOUT(queue, peer_faulting_on_its_argument_holds_no_lock, 300)
{
	struct uffdio_writeprotect wp;
	struct uffdio_register reg;
	struct uffdio_api api;
	struct peer_call c;
	struct uffd_msg msg;
	struct pollfd pfd;
	pthread_t th;
	long page = sysconf(_SC_PAGESIZE);
	void *mem;
	pid_t rd;
	int uffd;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, uffd);
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	mem = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0, (size_t)page);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (unsigned long)mem;
	reg.range.len = (unsigned long)page;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	memset(&wp, 0, sizeof(wp));
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));

	/* Zeroed arguments; only writing them faults now. */
	c.l3 = self->l3;
	c.args = mem;
	c.ret = 1;
	ASSERT_EQ(0, pthread_create(&th, NULL, peer_thread, &c));
	/* PEER's write of the result faults; it waits for us now. */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 60000));
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	EXPECT_EQ(1, c.ret);

	/* The lock is free: a debugfs reader finishes (60 s: only a hang). */
	rd = read_dbg_in_child(self->id);
	ASSERT_LT(0, rd);
	EXPECT_EQ(0, wait_exit(rd, 60000));

	/* Let PEER go: it completes, with a working L2 fd. */
	wp.mode = 0;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
	pthread_join(th, NULL);
	EXPECT_EQ(0, c.ret);
	EXPECT_LE(0, c.args->fd);
	if (c.args->fd >= 0)
		close(c.args->fd);
	/* The reader, if it hung, is free now. */
	if (wait_exit(rd, 0) == -1) {
		kill(rd, SIGKILL);
		waitpid(rd, NULL, 0);
	}
	munmap(mem, (size_t)page);
	close(uffd);
}

TEST_F(queue, peer_refused_on_l2_and_device)
{
	int fds, l2;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	fds = count_fds();
	errno = 0;
	EXPECT_EQ(-1, make_peer(l2));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, make_peer(self->dev));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(fds, count_fds());
	close(l2);
}

TEST_F(queue, peer_checks_flags_and_reserved)
{
	struct l3l2q_peer_args p;
	int fds = count_fds();

	memset(&p, 0, sizeof(p));
	p.flags = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->l3, L3L2Q_IOC_PEER, &p));
	EXPECT_EQ(EINVAL, errno);
	memset(&p, 0, sizeof(p));
	p.resv[2] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->l3, L3L2Q_IOC_PEER, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(fds, count_fds());
	/* Refusals left the queue without an L2: a clean PEER works. */
	EXPECT_EQ(L3L2Q_ROLE_ABSENT, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	EXPECT_GE(make_peer(self->l3), 0);
}

TEST_F(queue, wrong_fd_kind_and_unknown_ioctl)
{
	struct l3l2q_info_args info;
	struct l3l2q_create_args a;

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(EPERM, errno);
	memset(&a, 0, sizeof(a));
	a.depth = 8;
	a.input_arena_bytes = 64;
	a.output_arena_bytes = 64;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->l3, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, _IO(L3L2Q_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->l3, _IO(L3L2Q_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(queue, info_on_both_roles)
{
	struct l3l2q_info_args info;
	int l2;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(0u, info.role);
	EXPECT_EQ(0u, info.flags);
	EXPECT_EQ(DEPTH, info.depth);
	EXPECT_EQ(IN_ARENA, info.input_arena_bytes);
	EXPECT_EQ(OUT_ARENA, info.output_arena_bytes);
	EXPECT_EQ(0ull, info.start_pos);
	EXPECT_EQ(0, memcmp(&info.off, &self->args.off, sizeof(info.off)));
	EXPECT_EQ(L3L2Q_KIND_QUEUE, info.kind);
	EXPECT_EQ(0u, info.resv0);
	EXPECT_EQ(0ull, info.resv[0] | info.resv[1] | info.resv[2]);

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(l2, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(1u, info.role);
	EXPECT_EQ(DEPTH, info.depth);
	EXPECT_EQ(OUT_ARENA, info.output_arena_bytes);
	EXPECT_EQ(0, memcmp(&info.off, &self->args.off, sizeof(info.off)));
	close(l2);
}

/* INFO reports the kernel's copy, whatever user space wrote in the page. */
TEST_F(queue, info_ignores_shared_header)
{
	struct l3l2q_ctrl_hdr *h = (void *)self->map;
	struct l3l2q_info_args info;

	h->depth = 1ull << 40;
	h->input_arena_bytes = 3;
	h->start_pos = 99;
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(DEPTH, info.depth);
	EXPECT_EQ(IN_ARENA, info.input_arena_bytes);
	EXPECT_EQ(0ull, info.start_pos);
	EXPECT_EQ(self->len, info.off.total_bytes);
}

/* ---------------------------------------------------------------------- */
/* Role death                                                             */
/* ---------------------------------------------------------------------- */

TEST_F(queue, l2_close_marks_dead_and_aborts)
{
	unsigned char *ctr = self->map + self->args.off.counter_offset;
	size_t pl = self->args.off.payload_offset;
	unsigned char *m2;
	int l2;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	m2 = map_queue(l2, self->len);
	ASSERT_NE(MAP_FAILED, m2);
	memcpy(m2 + pl, "published", 10);	/* data the survivor keeps */
	ASSERT_EQ(0, munmap(m2, self->len));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	ASSERT_EQ(0, close(l2));

	/* ->release ran before close() returned to user space. */
	EXPECT_EQ(L3L2Q_ROLE_DEAD, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(1, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L3_STATE));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(0, memcmp(self->map + pl, "published", 10));
}

/* A mapping holds the role file: the role lives until the last munmap. */
TEST_F(queue, l2_mapping_keeps_role_alive)
{
	unsigned char *ctr = self->map + self->args.off.counter_offset;
	unsigned char *m2;
	int l2;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	m2 = map_queue(l2, self->len);
	ASSERT_NE(MAP_FAILED, m2);
	ASSERT_EQ(0, close(l2));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(m2, 0));
	ASSERT_EQ(0, munmap(m2, self->len));
	EXPECT_EQ(L3L2Q_ROLE_DEAD, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(1, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
}

TEST_F(queue, l2_kill9_marks_dead_and_aborts)
{
	unsigned char *ctr = self->map + self->args.off.counter_offset;
	int pipefd[2], status, l2;
	pid_t pid;
	char c;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned char *m2 = map_queue(l2, self->len);

		close(self->l3);
		if (m2 == MAP_FAILED)
			_exit(1);
		m2[self->args.off.payload_offset] = 0x77;
		if (write(pipefd[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(l2);	/* the child holds the L2 role now */
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L2_STATE));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));

	EXPECT_TRUE(wait_u32(self->map, L3L2Q_CTRL_L2_STATE, L3L2Q_ROLE_DEAD));
	EXPECT_EQ(1, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->map, L3L2Q_CTRL_L3_STATE));
	EXPECT_EQ(0x77, self->map[self->args.off.payload_offset]);
	close(pipefd[0]);
}

TEST_F(queue, l3_close_seen_by_l2)
{
	struct l3l2q_info_args info;
	unsigned char *m2, *ctr;
	int l2;

	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	m2 = map_queue(l2, self->len);
	ASSERT_NE(MAP_FAILED, m2);
	ctr = m2 + self->args.off.counter_offset;
	ASSERT_EQ(0, munmap(self->map, self->len));
	self->map = MAP_FAILED;
	ASSERT_EQ(0, close(self->l3));
	self->l3 = -1;

	EXPECT_EQ(L3L2Q_ROLE_DEAD, load_u32(m2, L3L2Q_CTRL_L3_STATE));
	EXPECT_EQ(1, load_s32(ctr, L3L2Q_CTR_L3_ABORT));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(m2, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(0, load_s32(ctr, L3L2Q_CTR_L2_ABORT));
	/* The survivor can still ask about its queue. */
	EXPECT_EQ(0, ioctl(l2, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(1u, info.role);
	munmap(m2, self->len);
	close(l2);
}

/* ---------------------------------------------------------------------- */
/* debugfs                                                                */
/* ---------------------------------------------------------------------- */

TEST_F(queue, debugfs_reports_queue)
{
	char buf[2048];
	int l2;

	ASSERT_GT(read_queue_dbg(self->id, buf, sizeof(buf)), 0);
	EXPECT_NE(NULL, strstr(buf, "\ndepth: 8\n"));
	EXPECT_NE(NULL, strstr(buf, "\ninput_arena_bytes: 4096\n"));
	EXPECT_NE(NULL, strstr(buf, "\noutput_arena_bytes: 8192\n"));
	EXPECT_NE(NULL, strstr(buf, "\nl3_state: live\n"));
	EXPECT_NE(NULL, strstr(buf, "\nl2_state: absent\n"));
	EXPECT_NE(NULL, strstr(buf, "\ninput_tail: 0\n"));
	EXPECT_NE(NULL, strstr(buf, "\npeers_created: 0\n"));
	EXPECT_NE(NULL, strstr(buf, "\ndeaths: 0\n"));

	/* Counters are shown as user space left them. */
	__atomic_store_n((__s32 *)(self->map + self->args.off.counter_offset +
				   L3L2Q_CTR_INPUT_TAIL), 3, __ATOMIC_RELEASE);
	l2 = make_peer(self->l3);
	ASSERT_GE(l2, 0);
	ASSERT_GT(read_queue_dbg(self->id, buf, sizeof(buf)), 0);
	EXPECT_NE(NULL, strstr(buf, "\ninput_tail: 3\n"));
	EXPECT_NE(NULL, strstr(buf, "\nl2_state: live\n"));
	EXPECT_NE(NULL, strstr(buf, "\npeers_created: 1\n"));

	close(l2);
	ASSERT_GT(read_queue_dbg(self->id, buf, sizeof(buf)), 0);
	EXPECT_NE(NULL, strstr(buf, "\nl2_state: dead\n"));
	EXPECT_NE(NULL, strstr(buf, "\nl2_abort: 1\n"));
	EXPECT_NE(NULL, strstr(buf, "\ndeaths: 1\n"));
	EXPECT_NE(NULL, strstr(buf, "\nwakes: 1\n"));

	/* The file goes with the queue. */
	munmap(self->map, self->len);
	self->map = MAP_FAILED;
	close(self->l3);
	self->l3 = -1;
	EXPECT_FALSE(queue_dbg_exists(self->id));
}

/* ---------------------------------------------------------------------- */
/* Limits                                                                 */
/* ---------------------------------------------------------------------- */

/* ---------------------------------------------------------------------- */
/* Permissions                                                            */
/* ---------------------------------------------------------------------- */

/*
 * The node is root's alone as the driver creates it (0600, root:root);
 * tools/udev/60-l3l2q.rules opens it to group l3l2q.  (No udev runs in
 * the test VM, so this is the mode a system without the rule gets.)
 */
TEST(node_is_root_only_without_the_udev_rule)
{
	struct stat st;

	ASSERT_EQ(0, stat(DEV_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600u, (unsigned int)(st.st_mode & 07777));
	EXPECT_EQ(0u, (unsigned int)st.st_uid);
	EXPECT_EQ(0u, (unsigned int)st.st_gid);
}

/*
 * CREATE allocates: it needs the node open for writing.  An O_RDONLY fd
 * gets EBADF (as write(2) would) and nothing is made; O_WRONLY is enough.
 */
TEST(create_needs_a_node_open_for_writing)
{
	struct l3l2q_create_args a;
	int dev, fds, queues;

	ASSERT_EQ(0, ensure_debugfs());
	dev = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, dev);
	fds = count_fds();
	queues = count_dir(DBG_DIR);
	errno = 0;
	EXPECT_EQ(-1, create_queue(dev, &a, 8, 4096, 4096, 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(queues, count_dir(DBG_DIR));
	close(dev);

	dev = open(DEV_PATH, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, create_queue(dev, &a, 8, 4096, 4096, 0));
	close(a.fd);
	close(dev);
}

/*
 * Queues come and go without leaking: the debugfs files, the fds and the
 * charges all return (400 MiB in all).
 */
TEST(create_close_many_no_leak)
{
	struct l3l2q_create_args a;
	int dev, fds, queues, i, l2;
	unsigned char *m;
	long pin;

	pin = vm_pin_kb();
	ASSERT_LE(0, pin);
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	ASSERT_EQ(0, ensure_debugfs());
	fds = count_fds();
	queues = count_dir(DBG_DIR);
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, create_queue(dev, &a, 64, 2ull << 20, 2ull << 20,
					  i));
		l2 = make_peer(a.fd);
		ASSERT_GE(l2, 0);
		m = map_queue(l2, a.off.total_bytes);
		ASSERT_NE(MAP_FAILED, m);
		m[a.off.payload_offset] = (unsigned char)i;
		close(a.fd);
		munmap(m, a.off.total_bytes);
		close(l2);
	}
	EXPECT_EQ(pin, vm_pin_kb());
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(queues, count_dir(DBG_DIR));
	close(dev);
}

TEST(limit_max_queue_bytes)
{
	struct l3l2q_create_args a;
	unsigned long max;
	int dev, fds, queues;
	__u64 arena;

	ASSERT_EQ(0, read_param("max_queue_bytes", &max));
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	ASSERT_EQ(0, ensure_debugfs());
	fds = count_fds();
	queues = count_dir(DBG_DIR);

	/* Payload alone is max rounded up to 64, plus the fixed sections. */
	arena = (max + 63) & ~63ull;
	errno = 0;
	EXPECT_EQ(-1, create_queue(dev, &a, 2, arena, 64, 0));
	EXPECT_EQ(E2BIG, errno);
	/* Valid geometry far beyond any limit: E2BIG, not EINVAL. */
	errno = 0;
	EXPECT_EQ(-1, create_queue(dev, &a, 1ull << 30, 1ull << 40, 64, 0));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(queues, count_dir(DBG_DIR));

	/* Exactly max_queue_bytes is allowed (when it is page aligned). */
	if (max % 4096 == 0 && max > 3 * 4096) {
		/* depth 2: the rings take 128 bytes, the out arena 64. */
		arena = max - 2 * 4096 - 128 - 64;
		ASSERT_EQ(0, create_queue(dev, &a, 2, arena, 64, 0));
		EXPECT_EQ(max, a.off.total_bytes);
		close(a.fd);
	}
	close(dev);
}

/*
 * A region's pages cannot be swapped or reclaimed while it lives: they
 * count as the creating process's pinned memory (VmPin) until it is freed.
 */
TEST(region_counts_as_pinned_memory)
{
	struct l3l2q_create_args a;
	long before;
	int dev;

	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	before = vm_pin_kb();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, create_queue(dev, &a, 64, 1 << 20, 1 << 20, 0));
	EXPECT_EQ(before + (long)(a.off.total_bytes / 1024), vm_pin_kb());
	close(a.fd);
	EXPECT_EQ(before, vm_pin_kb());
	close(dev);
}

/* In a forked child, 0 or the number of the first check that failed. */
#define CHECK(step, cond)			\
	do {					\
		if (!(cond))			\
			_exit(step);		\
	} while (0)

static int create_err(int dev, __u64 depth, __u64 in, __u64 out, int *fd)
{
	struct l3l2q_create_args a;

	*fd = -1;
	if (create_queue(dev, &a, depth, in, out, 0))
		return errno;
	*fd = a.fd;
	return 0;
}

/* Run @fn(@dev, @arg) in a child; returns its exit status or -signal. */
static int in_child(int (*fn)(int dev, unsigned long arg), int dev,
		    unsigned long arg)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1000;
	if (pid == 0)
		_exit(fn(dev, arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1001;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static __u64 queue_total(int dev, __u64 depth, __u64 in, __u64 out)
{
	struct l3l2q_create_args a;

	if (create_queue(dev, &a, depth, in, out, 0))
		return 0;
	close(a.fd);
	return a.off.total_bytes;
}

static int set_memlock(__u64 bytes)
{
	struct rlimit rl = { .rlim_cur = bytes, .rlim_max = bytes };

	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/*
 * As uid 4244 without capabilities, RLIMIT_MEMLOCK 2 * @total: two queues
 * of @total bytes fit, a third and even a tiny one do not (-ENOMEM);
 * closing one gives its bytes back; and the budget is the user's, not the
 * process's: a second process of the same uid finds it used up.
 */
static int memlock_user(int dev, unsigned long total)
{
	int fd[3], tiny, status;
	pid_t pid;

	CHECK(2, set_memlock(2 * total) == 0);
	CHECK(3, vm_become(4244, -1) == 0);
	CHECK(4, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd[0]) == 0);
	CHECK(5, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd[1]) == 0);
	CHECK(6, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd[2]) == ENOMEM);
	CHECK(7, create_err(dev, 2, 64, 64, &tiny) == ENOMEM);
	close(fd[1]);
	CHECK(8, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd[2]) == 0);
	pid = fork();
	CHECK(9, pid >= 0);
	if (pid == 0)
		_exit(create_err(dev, 2, 64, 64, &tiny) == ENOMEM ? 0 : 1);
	CHECK(10, waitpid(pid, &status, 0) == pid);
	CHECK(11, WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd[0]);
	close(fd[2]);
	/* All given back: the whole budget again. */
	CHECK(12, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd[0]) == 0);
	CHECK(13, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd[1]) == 0);
	return 0;
}

/* Root without CAP_IPC_LOCK is limited too; with it, it is not. */
static int memlock_root(int dev, unsigned long total)
{
	int fd;

	CHECK(2, set_memlock(total - 4096) == 0);
	CHECK(3, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd) == 0);
	close(fd);
	CHECK(4, vm_drop_caps(-1) == 0);
	CHECK(5, create_err(dev, 8, 64 * 1024, 64 * 1024, &fd) == ENOMEM);
	return 0;
}

/*
 * Regions are locked memory charged to their creator's user against
 * RLIMIT_MEMLOCK, the way io_uring and AF_XDP charge theirs (before, they
 * were not charged to it at all).
 */
TEST(rlimit_memlock_limits_a_users_regions)
{
	__u64 total;
	int dev;

	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	total = queue_total(dev, 8, 64 * 1024, 64 * 1024);
	ASSERT_NE(0ull, total);
	EXPECT_EQ(0, in_child(memlock_user, dev, total));
	EXPECT_EQ(0, in_child(memlock_root, dev, total));
	close(dev);
}

#define CG_MEM		VM_CG_ROOT "/l3l2q-driver-memcg"

static long long cg_num(const char *file)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), CG_MEM "/%s", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* "@key N" of the test cgroup's memory.events; -1 if absent. */
static long long cg_event(const char *key)
{
	char line[128], k[64];
	long long v, found = -1;
	FILE *f;

	f = fopen(CG_MEM "/memory.events", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", k, &v) == 2 && !strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

/*
 * In a memory cgroup limited to 8 MiB: a 32 MiB region is -ENOMEM for the
 * caller, which lives on; a 1 MiB region is charged to the cgroup.
 */
static int memcg_child(int dev, unsigned long unused)
{
	long long before;
	int fd;

	CHECK(2, vm_cgroup_enter(CG_MEM) == 0);
	CHECK(3, create_err(dev, 2, 32ull << 20, 64, &fd) == ENOMEM);
	before = cg_num("memory.current");
	CHECK(4, before >= 0);
	CHECK(5, create_err(dev, 2, 1ull << 20, 64, &fd) == 0);
	CHECK(6, cg_num("memory.current") - before >= (1ll << 20));
	close(fd);
	return 0;
}

/*
 * The region's pages are charged to the creator's memory cgroup, and a
 * region over its limit fails with -ENOMEM rather than waking the
 * cgroup's OOM killer (which killed the creator before).
 */
TEST(memcg_limit_gives_enomem_not_oom)
{
	int dev;

	ASSERT_EQ(0, vm_cgroup2());
	vm_write_str(VM_CG_ROOT "/cgroup.subtree_control", "+memory");
	rmdir(CG_MEM);
	ASSERT_EQ(0, mkdir(CG_MEM, 0755));
	ASSERT_EQ(0, vm_write_str(CG_MEM "/memory.max", "8388608"));
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	EXPECT_EQ(0, in_child(memcg_child, dev, 0));
	EXPECT_EQ(0, cg_event("oom_kill"));
	close(dev);
	EXPECT_EQ(0, rmdir(CG_MEM));
}

TEST(module_pinned_by_mapping)
{
	struct l3l2q_create_args a;
	unsigned char *map;
	int dev;

	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	ASSERT_EQ(0, create_queue(dev, &a, 2, 64, 64, 0));
	ASSERT_EQ(0, close(dev));
	map = map_queue(a.fd, a.off.total_bytes);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, close(a.fd));

	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "l3l2q", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, access(DEV_PATH, F_OK));
	EXPECT_EQ(L3L2Q_CTRL_MAGIC, load_u32(map, 0));
	munmap(map, a.off.total_bytes);
}

TEST_HARNESS_MAIN
