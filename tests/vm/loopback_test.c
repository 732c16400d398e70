// SPDX-License-Identifier: GPL-2.0
/*
 * loopback_test - the in-kernel L2 peer of an L3L2Q_CREATE_LOOPBACK queue
 * (uapi/l3l2q.h, kmod/l3l2q_loopback.c), driven from user space inside the
 * test VM: creation through the ioctl and through libl3l2q, echo and XOR
 * round trips of many sizes, ERROR echo, STOP drain and the end state L3
 * sees, wake-ups in both directions (KICK wakes the thread; its outputs wake
 * WAIT, poll, eventfd and io_uring), close and kill -9 while the thread is
 * blocked, and create/close cycles that must leave nothing behind.
 *
 * What the driver documents and these tests hold it to:
 *   CREATE  EINVAL  a flag outside L3L2Q_CREATE_ALL, LOOPBACK_XOR alone
 *           EPERM   LOOPBACK without CAP_SYS_ADMIN
 *           EAGAIN  the caller's uid has max_user_loopbacks (module
 *                   parameter) peers alive; other uids have their own
 *   the thread runs in the creator's cgroups, and a hostile L3 rewriting
 *           the shared seen words cannot make it spin
 *   PEER    EBUSY   the L2 role belongs to the loopback peer
 *   while the peer runs: L2 state word LIVE, L2 pid word 0, abort 0
 *   after a STOP drain: every output delivered, then L2 DEAD, L2 abort 0,
 *           WAIT -ECONNRESET, poll EPOLLHUP|EPOLLERR, the library's
 *           blocking dequeue -ECONNRESET
 *   an input larger than the output arena: a zero-byte ERROR answer
 *   close of the L3 fd (or its owner's death): the thread is gone before
 *           close() returns, wherever it was blocked
 *
 * Nothing asserts on speed (TCG on a shared machine): "promptly" is < 5 s.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "libl3l2q.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "helpers.h"

#define DEV_PATH	"/dev/l3l2q"
#define MS		1000000ull
#define SEC		1000000000ull
/*
 * The deadline of anything that must happen (an answer, a thread's exit):
 * a watchdog for a hang, never a verdict on speed.  What should happen "at
 * once" is checked by how it ends (a wait without a deadline can only end
 * by the event it waits for), not by a clock.
 */
#define PROMPT_NS	((__u64)VM_WATCHDOG_MS * MS)

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

/* Loopback threads alive, by name ("l3l2q-lb/<id>"; id 0: any queue). */
static int count_lb_threads(unsigned long long id)
{
	char path[300], comm[64], want[32];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(want, sizeof(want), "l3l2q-lb/%llu", id);
	d = opendir("/proc");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			if (id ? !strcmp(comm, want) :
				 !strncmp(comm, "l3l2q-lb/", 9))
				n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Wait (up to PROMPT_NS) until no loopback thread of @id is left. */
static int lb_threads_gone(unsigned long long id)
{
	__u64 end = l3l2q_now_ns() + PROMPT_NS;

	while (count_lb_threads(id) > 0) {
		if (l3l2q_now_ns() > end)
			return 0;
		sleep_ms(10);
	}
	return 1;
}

/* Wait until @bits are set in the word at @off (up to PROMPT_NS). */
static int wait_bits(const void *base, unsigned int off, __u32 bits)
{
	__u64 end = l3l2q_now_ns() + PROMPT_NS;

	while ((load_u32(base, off) & bits) != bits) {
		if (l3l2q_now_ns() > end)
			return 0;
		sleep_ms(5);
	}
	return 1;
}

/* Deterministic payload bytes for message @i. */
static void fill(unsigned char *p, size_t n, unsigned int i)
{
	size_t k;

	for (k = 0; k < n; k++)
		p[k] = (unsigned char)(i * 131u + k * 7u + (k >> 8));
}

/* Does @got equal message @i's payload, transformed as the peer does? */
static int check_payload(const unsigned char *got, size_t n, unsigned int i,
			 int xor)
{
	unsigned char want;
	size_t k;

	for (k = 0; k < n; k++) {
		want = (unsigned char)(i * 131u + k * 7u + (k >> 8));
		if (xor)
			want ^= L3L2Q_LOOPBACK_XOR_KEY;
		if (got[k] != want)
			return 0;
	}
	return 1;
}

static int create_raw(int dev, __u32 flags, __u64 depth, __u64 in, __u64 out,
		      struct l3l2q_create_args *a)
{
	memset(a, 0, sizeof(*a));
	a->depth = depth;
	a->input_arena_bytes = in;
	a->output_arena_bytes = out;
	a->flags = flags;
	a->fd = -1;
	if (ioctl(dev, L3L2Q_IOC_CREATE, a))
		return -errno;
	return a->fd;
}

static struct l3l2q_queue *create_lib(__u32 flags, __u64 depth, __u64 in,
				      __u64 out)
{
	struct l3l2q_params p = {
		.depth = depth,
		.input_arena_bytes = in,
		.output_arena_bytes = out,
		.flags = flags,
		.backend = L3L2Q_BACKEND_DEVICE,
	};
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;

	if (l3l2q_create(&p, &q, &err)) {
		fprintf(stderr, "# create: %s\n", err.message);
		return NULL;
	}
	return q;
}

/* ---------------------------------------------------------------------- */
/* A raw L3 endpoint on the driver's mapping, woken by WAIT and KICK      */
/* ---------------------------------------------------------------------- */

struct raw {
	int fd;
	void *map;
	size_t len;
	struct l3l2q_create_args args;
	struct l3l2q_mem mem;
	struct l3l2q_layout layout;
};

static int raw_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline)
{
	struct raw *r = ctx;
	struct l3l2q_wait_args w = {
		.counter = (__u16)counter,
		.seen = seen,
		.deadline_ns = deadline,
	};

	return ioctl(r->fd, L3L2Q_IOC_WAIT, &w) ? -errno : 0;
}

static void raw_kick(void *ctx)
{
	struct raw *r = ctx;

	ioctl(r->fd, L3L2Q_IOC_KICK);
}

static __u64 raw_now(void *ctx)
{
	return l3l2q_now_ns();
}

static int raw_open(struct raw *r, int dev, __u32 flags, __u64 depth,
		    __u64 in, __u64 out)
{
	r->map = MAP_FAILED;
	r->fd = create_raw(dev, flags, depth, in, out, &r->args);
	if (r->fd < 0)
		return r->fd;
	r->len = r->args.off.total_bytes;
	r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		      0);
	if (r->map == MAP_FAILED)
		return -errno;
	r->mem.ctrl = (char *)r->map + r->args.off.ctrl_offset;
	r->mem.counters = (char *)r->map + r->args.off.counter_offset;
	r->mem.payload = (char *)r->map + r->args.off.payload_offset;
	r->mem.region_id = 1;
	if (l3l2q_layout(depth, in, out, &r->layout) != L3L2Q_LAYOUT_OK)
		return -EINVAL;
	return 0;
}

/* An L3 endpoint on @r that sleeps in WAIT and kicks with KICK. */
static int raw_l3(struct raw *r, struct l3l2q_l3 *l3)
{
	struct l3l2q_env env = {
		.now_ns = raw_now,
		.sleep = raw_sleep,
		.kick = raw_kick,
		.ctx = r,
	};

	return l3l2q_l3_init(l3, &r->mem, &r->layout, 0, &env);
}

static void raw_close(struct raw *r)
{
	if (r->map != MAP_FAILED)
		munmap(r->map, r->len);
	r->map = MAP_FAILED;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* ---------------------------------------------------------------------- */
/* Fixture                                                                */
/* ---------------------------------------------------------------------- */

FIXTURE(lb) {
	int dev;
	struct raw r;
	struct l3l2q_queue *q;
};

FIXTURE_SETUP(lb)
{
	self->r.fd = -1;
	self->r.map = MAP_FAILED;
	self->q = NULL;
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, DEV_PATH " missing: is l3l2q.ko loaded?");
	ASSERT_EQ(0, ensure_debugfs());
}

FIXTURE_TEARDOWN(lb)
{
	raw_close(&self->r);
	l3l2q_destroy(self->q);
	if (self->dev >= 0)
		close(self->dev);
}

/* ---------------------------------------------------------------------- */
/* Creation                                                               */
/* ---------------------------------------------------------------------- */

TEST_F(lb, ioctl_create_gives_a_live_peer_and_peer_is_ebusy)
{
	struct l3l2q_info_args info;
	struct l3l2q_peer_args p;
	unsigned long long id;
	char v[32];
	int fds;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 8,
			      4096, 4096));
	id = fd_queue_id(self->r.fd, NULL, 0);
	ASSERT_NE(0ull, id);

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->r.fd, L3L2Q_IOC_INFO, &info));
	EXPECT_EQ(L3L2Q_CREATE_LOOPBACK, info.flags);
	EXPECT_EQ(L3L2Q_CREATE_LOOPBACK,
		  ((struct l3l2q_ctrl_hdr *)self->r.mem.ctrl)->flags);
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(self->r.mem.ctrl,
					    L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(0u, load_u32(self->r.mem.ctrl, L3L2Q_CTRL_L2_PID));
	EXPECT_EQ(0, load_s32(self->r.mem.counters, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(1, count_lb_threads(id));
	ASSERT_EQ(0, dbg_str(id, "loopback", v, sizeof(v)));
	EXPECT_STREQ("running", v);
	ASSERT_EQ(0, dbg_str(id, "l2_state", v, sizeof(v)));
	EXPECT_STREQ("live", v);

	fds = count_fds();
	memset(&p, 0, sizeof(p));
	p.fd = -1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r.fd, L3L2Q_IOC_PEER, &p));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(fds, count_fds());

	raw_close(&self->r);
	EXPECT_TRUE(lb_threads_gone(id));
	EXPECT_EQ(-1, dbg_str(id, "loopback", v, sizeof(v)));
}

TEST_F(lb, bad_flags_einval_and_nothing_created)
{
	static const __u32 bad[] = {
		L3L2Q_CREATE_LOOPBACK_XOR,
		L3L2Q_CREATE_ALL + 1,
		L3L2Q_CREATE_LOOPBACK | (L3L2Q_CREATE_ALL + 1),
		1u << 31,
		~0u,
	};
	struct l3l2q_create_args a;
	int fds = count_fds(), queues = count_dir(DBG_DIR);
	int threads = count_lb_threads(0);
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, create_raw(self->dev, bad[i], 8, 4096, 4096,
					      &a)) {
			TH_LOG("flags %#x", bad[i]);
		}
	}
	/* A reserved field still counts with the flag set. */
	memset(&a, 0, sizeof(a));
	a.depth = 8;
	a.input_arena_bytes = 4096;
	a.output_arena_bytes = 4096;
	a.flags = L3L2Q_CREATE_LOOPBACK;
	a.resv1[0] = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, L3L2Q_IOC_CREATE, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(fds, count_fds());
	EXPECT_EQ(queues, count_dir(DBG_DIR));
	EXPECT_EQ(threads, count_lb_threads(0));
}

/*
 * In a child that became @uid (keeping CAP_SYS_ADMIN or not), create @n
 * loopback queues on @dev (opened before: the node is root's) and report
 * each result (an fd >= 0 or -errno) through a pipe; the queues stay
 * until *@pid is killed.  Returns the read end, or -1.
 */
static int child_creates(int dev, uid_t uid, int keep_admin, int n,
			 pid_t *pid)
{
	int p[2], i, ret;

	if (pipe(p))
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		struct l3l2q_create_args a;

		close(p[0]);
		ret = vm_become(uid, keep_admin ? CAP_SYS_ADMIN : -1);
		for (i = 0; i < n; i++) {
			int r = ret ? ret : create_raw(dev,
					L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096,
					&a);

			if (write(p[1], &r, sizeof(r)) != sizeof(r))
				_exit(2);
		}
		/* Hold the queues until killed. */
		for (;;)
			pause();
	}
	close(p[1]);
	return p[0];
}

static int read_int(int fd, int *v)
{
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

/*
 * The cap counts one uid's live threads: a closed queue's thread no longer
 * counts, and another uid has a cap of its own (before, one global
 * max_loopbacks let one user take every thread).
 */
TEST_F(lb, max_user_loopbacks_caps_each_uid)
{
	struct l3l2q_create_args a;
	unsigned long saved;
	int fd[3], fds, rfd, v, i;
	pid_t pid;

	ASSERT_EQ(0, read_param("max_user_loopbacks", &saved));
	ASSERT_EQ(0, write_param("max_user_loopbacks", 2));
	fd[0] = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096, &a);
	fd[1] = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096, &a);
	fds = count_fds();
	fd[2] = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096, &a);
	EXPECT_LE(0, fd[0]);
	EXPECT_LE(0, fd[1]);
	EXPECT_EQ(-EAGAIN, fd[2]);
	EXPECT_EQ(fds, count_fds());

	/* Another uid (with CAP_SYS_ADMIN) still gets its two, not three. */
	rfd = child_creates(self->dev, 4242, 1, 3, &pid);
	ASSERT_LE(0, rfd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, read_int(rfd, &v));
		if (i < 2) {
			EXPECT_LE(0, v);
		} else {
			EXPECT_EQ(-EAGAIN, v);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(rfd);

	/* Queues without a peer are not limited by it. */
	fd[2] = create_raw(self->dev, 0, 8, 4096, 4096, &a);
	EXPECT_LE(0, fd[2]);
	close(fd[2]);
	close(fd[0]);
	fd[0] = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096, &a);
	EXPECT_LE(0, fd[0]);
	close(fd[0]);
	close(fd[1]);
	ASSERT_EQ(0, write_param("max_user_loopbacks", saved));
	EXPECT_TRUE(lb_threads_gone(0));
}

/* Without CAP_SYS_ADMIN a loopback queue is refused; a plain one is not. */
TEST_F(lb, loopback_needs_cap_sys_admin)
{
	int rfd, v;
	pid_t pid;

	rfd = child_creates(self->dev, 4243, 0, 1, &pid);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, read_int(rfd, &v));
	EXPECT_EQ(-EPERM, v);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(rfd);
	EXPECT_EQ(0, count_lb_threads(0));
}

/* The pid of queue @id's loopback thread, or -1. */
static pid_t lb_thread_pid(unsigned long long id)
{
	char path[300], comm[64], want[32];
	struct dirent *de;
	pid_t pid = -1;
	DIR *d;

	snprintf(want, sizeof(want), "l3l2q-lb/%llu", id);
	d = opendir("/proc");
	if (!d)
		return -1;
	while (pid < 0 && (de = readdir(d))) {
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			if (!strcmp(comm, want))
				pid = atoi(de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return pid;
}

/* The first line of /proc/<pid>/<what>, newline dropped; 0 if read. */
static int proc_line(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

#define CG_TEST		VM_CG_ROOT "/l3l2q-loopback-test"

/*
 * The thread runs in its creator's cgroups, where the creator's CPU
 * controller charges and throttles it; before, it ran in the root cgroup,
 * outside every quota.
 */
TEST_F(lb, thread_runs_in_the_creators_cgroup)
{
	struct l3l2q_create_args a;
	char line[256];
	int sync[2], fd, ret = 0;
	unsigned long long id;
	pid_t pid, tid;

	ASSERT_EQ(0, vm_cgroup2());
	rmdir(CG_TEST);
	ASSERT_EQ(0, mkdir(CG_TEST, 0755));
	ASSERT_EQ(0, pipe(sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Into the test cgroup, then create: report the queue id. */
		if (vm_cgroup_enter(CG_TEST))
			_exit(2);
		fd = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 8, 4096,
				4096, &a);
		id = fd < 0 ? 0 : fd_queue_id(fd, NULL, 0);
		if (write(sync[1], &id, sizeof(id)) != sizeof(id))
			_exit(3);
		pause();
		_exit(0);
	}
	close(sync[1]);
	ASSERT_EQ((ssize_t)sizeof(id), read(sync[0], &id, sizeof(id)));
	close(sync[0]);
	ASSERT_NE(0ull, id);
	tid = lb_thread_pid(id);
	ASSERT_LT(0, tid);
	ret = proc_line(tid, "cgroup", line, sizeof(line));
	EXPECT_EQ(0, ret);
	EXPECT_STREQ("0::/l3l2q-loopback-test", line);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_TRUE(lb_threads_gone(id));
	EXPECT_EQ(0, rmdir(CG_TEST));
}

/* On-CPU time of @pid in ns (/proc/<pid>/schedstat), or -1. */
static long long cpu_ns(pid_t pid)
{
	char line[128];
	long long ns;

	if (proc_line(pid, "schedstat", line, sizeof(line)) ||
	    sscanf(line, "%lld", &ns) != 1)
		return -1;
	return ns;
}

struct scribbler {
	volatile __u32 *seen;	/* the L2 role's four seen words */
	volatile int stop;
	unsigned long long writes;
};

static void *scribble(void *arg)
{
	struct scribbler *s = arg;
	__u32 v = 0x5a5a0000u;
	unsigned int i;
	cpu_set_t set;

	/* Away from the kernel thread (CPU 0): rewrites land while it arms. */
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!s->stop) {
		for (i = 0; i < 4; i++)
			s->seen[i] = v++;
		s->writes++;
	}
	return NULL;
}

/*
 * The bound on the idle thread's CPU time during the hostile second: far
 * above what a sleeper uses (a few ms even under TCG), far below the ~1 s
 * a thread spinning on the rewritten words used.
 */
#define HOSTILE_CPU_MAX_NS	(250 * MS)

/* One DATA round trip of message @i through the raw L3 endpoint. */
static int round_trip(struct l3l2q_l3 *l3, unsigned int i)
{
	unsigned char in[64], out[64];
	struct l3l2q_msg m;
	int ret;

	fill(in, sizeof(in), i);
	ret = l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, in, sizeof(in),
			       l3l2q_now_ns() + PROMPT_NS);
	if (ret)
		return ret;
	memset(&m, 0, sizeof(m));
	ret = l3l2q_l3_dequeue(l3, out, sizeof(out),
			       l3l2q_now_ns() + PROMPT_NS, &m);
	if (ret)
		return ret;
	if (m.opcode != L3L2Q_OP_DATA || m.nbytes != sizeof(in) ||
	    !check_payload(out, sizeof(in), i, 0))
		return -EBADMSG;
	return 0;
}

/* Pin @tid (0: the caller) to CPU @cpu; 0 or -errno. */
static int pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

/*
 * A hostile L3 rewrites the L2 role's seen words (in its control page) as
 * fast as it can for a second, during which it also sends a message every
 * 5 ms, each of which makes the thread answer, arm and sleep again.  The
 * thread's CPU time over that second stays under a bound.  The words only
 * steer waiting, and the thread trusts its own copy of the counter, so
 * between messages it sleeps.  Before, each sleep compared the counter with
 * whatever the L3 had just written there, returned at once, and the
 * thread spun until the next message (measured on hardware: over half a
 * million immediate returns a second).  The rewriting thread and the
 * kernel thread run on different CPUs, so the rewrites land while the
 * kernel thread arms.
 */
TEST_F_TIMEOUT(lb, hostile_seen_words_do_not_make_the_thread_spin, 120)
{
	struct scribbler s = { 0 };
	unsigned long long id;
	unsigned int i, sent = 0;
	struct l3l2q_l3 l3;
	long long t0, t1;
	__u64 end;
	pthread_t th;
	pid_t tid;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 8,
			      4096, 4096));
	ASSERT_EQ(0, raw_l3(&self->r, &l3));
	id = fd_queue_id(self->r.fd, NULL, 0);
	tid = lb_thread_pid(id);
	ASSERT_LT(0, tid);
	ASSERT_EQ(0, pin(tid, 0));
	ASSERT_EQ(0, pin(0, 0));
	s.seen = (volatile __u32 *)((char *)self->r.map +
		 L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L2_WAKE, 0));
	ASSERT_EQ(0, pthread_create(&th, NULL, scribble, &s));
	EXPECT_EQ(0, round_trip(&l3, 0));
	t0 = cpu_ns(tid);
	end = l3l2q_now_ns() + SEC;
	for (i = 1; l3l2q_now_ns() < end; i++) {
		EXPECT_EQ(0, round_trip(&l3, i));
		sent++;
		sleep_ms(5);
	}
	t1 = cpu_ns(tid);
	s.stop = 1;
	pthread_join(th, NULL);
	ASSERT_LE(0, t0);
	ASSERT_LE(0, t1);
	TH_LOG("%llu rewrites, %u messages; the thread ran %lld us in that second, %lld sleeps on a value not its own",
	       s.writes, sent, (t1 - t0) / 1000,
	       dbg_num(id, "loopback_doubts"));
	EXPECT_GT(s.writes, 0ull);
	EXPECT_LT(t1 - t0, (long long)HOSTILE_CPU_MAX_NS);
	/* And it still answers once the words are left alone. */
	EXPECT_EQ(0, round_trip(&l3, 100000));
}

/* ---------------------------------------------------------------------- */
/* Round trips                                                            */
/* ---------------------------------------------------------------------- */

/* Through the raw endpoint: its KICKs wake the thread, WAIT sleeps L3. */
TEST_F(lb, raw_endpoint_echo_woken_by_kick)
{
	static unsigned char in[4096], out[4096];
	struct l3l2q_l3 l3;
	struct l3l2q_msg m;
	unsigned int i;
	size_t n;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 4,
			      4096, 4096));
	ASSERT_EQ(0, raw_l3(&self->r, &l3));
	for (i = 0; i < 200; i++) {
		/* Now and then let the thread fall asleep first. */
		if (i % 50 == 0)
			ASSERT_TRUE(wait_bits(self->r.mem.ctrl,
					      L3L2Q_CTRL_L2_WAKE,
					      L3L2Q_WAKE_INPUT_AVAIL));
		n = (i * 37u) % (sizeof(in) + 1);
		fill(in, n, i);
		ASSERT_EQ(0, l3l2q_l3_enqueue(&l3, L3L2Q_OP_DATA, in, n,
					      l3l2q_now_ns() + PROMPT_NS));
		memset(&m, 0, sizeof(m));
		ASSERT_EQ(0, l3l2q_l3_dequeue(&l3, out, sizeof(out),
					      l3l2q_now_ns() + PROMPT_NS, &m))
			TH_LOG("message %u", i);
		ASSERT_EQ(L3L2Q_OP_DATA, m.opcode);
		ASSERT_EQ(n, m.nbytes);
		ASSERT_TRUE(check_payload(out, n, i, 0)) TH_LOG("message %u", i);
	}
	/* The thread slept at least 4 times and was kicked awake. */
	EXPECT_LE(4ull, th_stats(&l3.ep).kicks);
}

FIXTURE(stream) {
	struct l3l2q_queue *q;
};

FIXTURE_VARIANT(stream) {
	__u32 flags;
	__u64 depth;
	__u64 arena;
};

FIXTURE_VARIANT_ADD(stream, echo) {
	L3L2Q_CREATE_LOOPBACK, 16, 16384 };
FIXTURE_VARIANT_ADD(stream, xor) {
	L3L2Q_CREATE_LOOPBACK | L3L2Q_CREATE_LOOPBACK_XOR, 8, 8192 };
FIXTURE_VARIANT_ADD(stream, echo_depth_2) {
	L3L2Q_CREATE_LOOPBACK, 2, 4096 };

FIXTURE_SETUP(stream)
{
	self->q = NULL;
	if (access(DEV_PATH, F_OK))
		SKIP(return, DEV_PATH " missing: is l3l2q.ko loaded?");
	ASSERT_EQ(0, ensure_debugfs());
}

FIXTURE_TEARDOWN(stream)
{
	l3l2q_destroy(self->q);
}

/*
 * Many messages of random sizes, 0 and arena-sized included, DATA and
 * ERROR mixed, pipelined as deep as the rings and arenas allow: every
 * answer comes back in order, with its opcode, its length and its bytes
 * (XORed for DATA with the transform, never for ERROR).
 */
TEST_F_TIMEOUT(stream, random_sizes_round_trip, 300)
{
	const unsigned int total = 3000;
	const int xor = !!(variant->flags & L3L2Q_CREATE_LOOPBACK_XOR);
	const __u64 arena = variant->arena;
	unsigned char *in = malloc(arena), *out = malloc(arena);
	__u64 *sizes = calloc(total, sizeof(*sizes));
	unsigned int sent = 0, got = 0, seed = 12345;
	unsigned long long id;
	struct l3l2q_l3 *l3;
	struct l3l2q_msg m;
	int ret;

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, sizes);
	self->q = create_lib(variant->flags, variant->depth, arena, arena);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	id = fd_queue_id(l3l2q_queue_poll_fd(self->q), NULL, 0);

	while (got < total) {
		if (sent < total) {
			__u64 n;

			if (sent % 97 == 0)
				n = 0;
			else if (sent % 89 == 0)
				n = arena;
			else
				n = (seed = seed * 1103515245u + 12345u) %
				    (arena + 1);
			sizes[sent] = n;
			fill(in, n, sent);
			/*
			 * Non-blocking while answers are outstanding (the
			 * way forward is to consume them); blocking when
			 * nothing is, so a full arena waits for the thread's
			 * releases (INPUT_SPACE wake-ups).
			 */
			if (sent == got)
				ret = l3l2q_l3_enqueue(l3, sent % 7 == 3 ?
						       L3L2Q_OP_ERROR :
						       L3L2Q_OP_DATA, in, n,
						       l3l2q_now_ns() + PROMPT_NS);
			else
				ret = l3l2q_l3_try_enqueue(l3, sent % 7 == 3 ?
							   L3L2Q_OP_ERROR :
							   L3L2Q_OP_DATA,
							   in, n);
			if (ret == 0) {
				sent++;
				continue;
			}
			ASSERT_EQ(-EAGAIN, ret) TH_LOG("enqueue %u", sent);
		}
		memset(&m, 0, sizeof(m));
		ret = l3l2q_l3_dequeue(l3, out, arena, l3l2q_now_ns() + PROMPT_NS, &m);
		ASSERT_EQ(0, ret) TH_LOG("dequeue %u of %u sent", got, sent);
		ASSERT_EQ(got % 7 == 3 ? L3L2Q_OP_ERROR : L3L2Q_OP_DATA,
			  m.opcode) TH_LOG("message %u", got);
		ASSERT_EQ(sizes[got], m.nbytes) TH_LOG("message %u", got);
		ASSERT_TRUE(check_payload(out, m.nbytes, got,
					  xor && m.opcode == L3L2Q_OP_DATA))
			TH_LOG("message %u (%llu bytes)", got, m.nbytes);
		got++;
	}
	EXPECT_EQ(total, dbg_num(id, "loopback_msgs"));
	EXPECT_EQ(xor, dbg_num(id, "loopback_xor"));
	free(in);
	free(out);
	free(sizes);
}

TEST_F(lb, input_larger_than_output_arena_gets_zero_byte_error)
{
	static unsigned char in[8192], out[8192];
	struct l3l2q_l3 *l3;
	struct l3l2q_msg m;

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK, 4, 8192, 4096);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	fill(in, 6000, 1);
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, in, 6000,
				      l3l2q_now_ns() + PROMPT_NS));
	fill(in, 4096, 2);
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, in, 4096,
				      l3l2q_now_ns() + PROMPT_NS));
	ASSERT_EQ(0, l3l2q_l3_dequeue(l3, out, sizeof(out),
				      l3l2q_now_ns() + PROMPT_NS, &m));
	EXPECT_EQ(L3L2Q_OP_ERROR, m.opcode);
	EXPECT_EQ(0ull, m.nbytes);
	ASSERT_EQ(0, l3l2q_l3_dequeue(l3, out, sizeof(out),
				      l3l2q_now_ns() + PROMPT_NS, &m));
	EXPECT_EQ(L3L2Q_OP_DATA, m.opcode);
	ASSERT_EQ(4096ull, m.nbytes);
	EXPECT_TRUE(check_payload(out, 4096, 2, 0));
}

TEST_F(lb, error_is_echoed_unchanged_even_with_xor)
{
	static const char text[] = "device says no";
	struct l3l2q_l3 *l3;
	struct l3l2q_msg m;
	char out[64];

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK | L3L2Q_CREATE_LOOPBACK_XOR,
			     4, 4096, 4096);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_ERROR, text, sizeof(text),
				      l3l2q_now_ns() + PROMPT_NS));
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, text, sizeof(text),
				      l3l2q_now_ns() + PROMPT_NS));
	memset(out, 0, sizeof(out));
	ASSERT_EQ(0, l3l2q_l3_dequeue(l3, out, sizeof(out),
				      l3l2q_now_ns() + PROMPT_NS, &m));
	EXPECT_EQ(L3L2Q_OP_ERROR, m.opcode);
	ASSERT_EQ(sizeof(text), m.nbytes);
	EXPECT_EQ(0, memcmp(text, out, sizeof(text)));
	ASSERT_EQ(0, l3l2q_l3_dequeue(l3, out, sizeof(out),
				      l3l2q_now_ns() + PROMPT_NS, &m));
	EXPECT_EQ(L3L2Q_OP_DATA, m.opcode);
	ASSERT_EQ(sizeof(text), m.nbytes);
	EXPECT_EQ(text[0] ^ L3L2Q_LOOPBACK_XOR_KEY, (unsigned char)out[0]);
	EXPECT_EQ(0, (unsigned char)(out[sizeof(text) - 1] ^
				     L3L2Q_LOOPBACK_XOR_KEY));
}

/* ---------------------------------------------------------------------- */
/* Sleeping and waking                                                    */
/* ---------------------------------------------------------------------- */

struct late_input {
	struct raw *r;
	pid_t sleeper;		/* send once this thread sleeps in WAIT */
	int ret;
};

/* A second L3 endpoint that only produces input, once L3 sleeps. */
static void *late_input_thread(void *arg)
{
	struct late_input *li = arg;
	unsigned char buf[100];
	struct l3l2q_l3 in;

	li->ret = raw_l3(li->r, &in);
	if (li->ret)
		return NULL;
	if (!vm_wait_blocked(li->sleeper, SYS_ioctl)) {
		li->ret = -ETIMEDOUT;
		return NULL;
	}
	fill(buf, sizeof(buf), 7);
	li->ret = l3l2q_l3_enqueue(&in, L3L2Q_OP_DATA, buf, sizeof(buf),
				   l3l2q_now_ns() + PROMPT_NS);
	return NULL;
}

/*
 * L3 blocks in dequeue on an empty queue and sleeps in WAIT; the input
 * arrives later (from an endpoint that only produces, so the two never
 * share a ring half), the thread answers, and its kick wakes L3.
 */
TEST_F(lb, blocking_dequeue_sleeps_and_is_woken_by_the_answer)
{
	struct late_input li = { &self->r, (pid_t)syscall(SYS_gettid), -1 };
	unsigned char out[128];
	struct l3l2q_l3 l3;
	struct l3l2q_msg m;
	pthread_t t;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 8,
			      4096, 4096));
	ASSERT_EQ(0, raw_l3(&self->r, &l3));
	ASSERT_EQ(0, pthread_create(&t, NULL, late_input_thread, &li));
	memset(&m, 0, sizeof(m));
	/*
	 * No deadline: only the thread's kick can end the sleep (with a
	 * deadline, WAIT would time out and the re-check find the answer
	 * anyway); a lost kick is a hang the harness reports.
	 */
	EXPECT_EQ(0, l3l2q_l3_dequeue(&l3, out, sizeof(out),
				      L3L2Q_DEADLINE_NONE, &m));
	pthread_join(t, NULL);
	ASSERT_EQ(0, li.ret);
	EXPECT_EQ(L3L2Q_OP_DATA, m.opcode);
	ASSERT_EQ(100ull, m.nbytes);
	EXPECT_TRUE(check_payload(out, 100, 7, 0));
	EXPECT_LE(1ull, th_stats(&l3.ep).sleeps);
}

/* Ask to be kicked for output, check, then send one message. */
static int arm_and_send(struct l3l2q_l3 *l3, unsigned int i)
{
	unsigned char buf[64];
	struct l3l2q_msg m;
	int ret;

	ret = l3l2q_ep_want_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL);
	if (ret)
		return ret;
	if (l3l2q_l3_try_peek(l3, &m) != -EAGAIN)
		return -EEXIST;
	fill(buf, sizeof(buf), i);
	return l3l2q_l3_try_enqueue(l3, L3L2Q_OP_DATA, buf, sizeof(buf));
}

static int take_answer(struct l3l2q_l3 *l3, unsigned int i)
{
	unsigned char buf[64];
	struct l3l2q_msg m;
	int ret;

	l3l2q_ep_clear_wakeup(&l3->ep, L3L2Q_WAKE_OUTPUT_AVAIL);
	ret = l3l2q_l3_try_dequeue(l3, buf, sizeof(buf), &m);
	if (ret)
		return ret;
	return m.nbytes == 64 && check_payload(buf, 64, i, 0) ? 0 : -EBADMSG;
}

struct late_send {
	struct l3l2q_l3 *l3;
	unsigned int i;
	pid_t sleeper;
	int ret;
};

/* Arm and send once the main thread sleeps in poll. */
static void *late_send_thread(void *arg)
{
	struct late_send *ls = arg;

	if (!vm_wait_blocked(ls->sleeper, SYS_poll) &&
	    !vm_wait_blocked(ls->sleeper, SYS_ppoll)) {
		ls->ret = -ETIMEDOUT;
		return NULL;
	}
	ls->ret = arm_and_send(ls->l3, ls->i);
	return NULL;
}

/*
 * poll() on the L3 fd, asleep before the input goes out, returns when the
 * thread publishes and kicks: without the kick it would sleep its whole
 * 5 s (EPOLLIN is computed from the counters, but only a wake-up re-runs
 * it).  The endpoint is used by one thread at a time (join before use).
 */
TEST_F(lb, poll_readable_after_the_thread_publishes)
{
	struct late_send ls;
	struct pollfd p;
	struct l3l2q_l3 *l3;
	pthread_t t;
	unsigned int i;

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	for (i = 0; i < 10; i++) {
		ls.l3 = l3;
		ls.i = i;
		ls.sleeper = (pid_t)syscall(SYS_gettid);
		ls.ret = -1;
		ASSERT_EQ(0, pthread_create(&t, NULL, late_send_thread, &ls));
		p.fd = l3l2q_queue_poll_fd(self->q);
		p.events = POLLIN;
		p.revents = 0;
		/* No timeout: without the kick it would sleep for ever. */
		EXPECT_EQ(1, poll(&p, 1, -1)) TH_LOG("message %u", i);
		pthread_join(t, NULL);
		ASSERT_EQ(0, ls.ret);
		EXPECT_TRUE(p.revents & POLLIN);
		EXPECT_FALSE(p.revents & (POLLHUP | POLLERR));
		ASSERT_EQ(0, take_answer(l3, i));
	}
}

TEST_F(lb, eventfd_signalled_by_the_thread)
{
	struct l3l2q_eventfd_args ea;
	struct l3l2q_l3 *l3;
	struct pollfd p;
	__u64 v;
	int efd;

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	memset(&ea, 0, sizeof(ea));
	ea.fd = efd;
	ASSERT_EQ(0, ioctl(l3l2q_queue_poll_fd(self->q), L3L2Q_IOC_SET_EVENTFD,
			   &ea));
	ASSERT_EQ(0, arm_and_send(l3, 3));
	p.fd = efd;
	p.events = POLLIN;
	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, -1));
	ASSERT_EQ((ssize_t)sizeof(v), read(efd, &v, sizeof(v)));
	EXPECT_LE(1ull, v);
	EXPECT_EQ(0, take_answer(l3, 3));
	close(efd);
}

/* An io_uring WAIT on the output tail completes when the thread answers. */
TEST_F(lb, uring_wait_completes_on_the_answer)
{
	struct __kernel_timespec ts = { .tv_sec = VM_WATCHDOG_MS / 1000 };
	struct l3l2q_wait_args a;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct l3l2q_l3 *l3;
	const struct l3l2q_mem *mem;
	int fd, ret;

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	mem = l3l2q_queue_mem(self->q);
	fd = l3l2q_queue_poll_fd(self->q);
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring unavailable (%d)", ret);
	ASSERT_EQ(0, ret);

	memset(&a, 0, sizeof(a));
	a.counter = L3L2Q_CTR_OUTPUT_TAIL;
	a.seen = load_s32(mem->counters, L3L2Q_CTR_OUTPUT_TAIL);
	a.deadline_ns = ~0ull;
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_WAIT;
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &a,
	       sizeof(a));
	sqe->user_data = 42;
	ASSERT_EQ(1, io_uring_submit(&ring));
	/* Still pending: nothing was sent yet. */
	EXPECT_EQ(-ETIME, io_uring_peek_cqe(&ring, &cqe) ? -ETIME : 0);

	ASSERT_EQ(0, arm_and_send(l3, 9));
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts));
	EXPECT_EQ(0, cqe->res);
	EXPECT_EQ(42ull, cqe->user_data);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(0, take_answer(l3, 9));
	io_uring_queue_exit(&ring);
}

/* ---------------------------------------------------------------------- */
/* STOP and the end state                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Inputs and STOP go in before anything is read: the thread answers them
 * all, releases STOP and exits.  L3 still gets every answer, then the
 * documented end: L2 DEAD with its abort flag down, -ECONNRESET from the
 * blocking dequeue and from WAIT, EPOLLHUP|EPOLLERR from poll.
 */
TEST_F(lb, stop_drains_delivers_everything_then_peer_is_dead)
{
	const unsigned int n = 40;
	const struct l3l2q_mem *mem;
	struct l3l2q_wait_args w;
	unsigned char buf[256];
	unsigned long long id;
	struct l3l2q_l3 *l3;
	struct l3l2q_msg m;
	struct pollfd p;
	unsigned int i;
	char v[32];
	int fd;

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK, 64, 16384, 16384);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	mem = l3l2q_queue_mem(self->q);
	fd = l3l2q_queue_poll_fd(self->q);
	id = fd_queue_id(fd, NULL, 0);
	for (i = 0; i < n; i++) {
		fill(buf, i * 5, i);
		ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, i * 5,
					      l3l2q_now_ns() + PROMPT_NS));
	}
	ASSERT_EQ(0, l3l2q_l3_request_stop(l3, l3l2q_now_ns() + PROMPT_NS));
	/* Let the thread finish before reading anything: nothing is lost. */
	ASSERT_TRUE(lb_threads_gone(id));
	ASSERT_EQ(0, dbg_str(id, "loopback", v, sizeof(v)));
	EXPECT_STREQ("exited", v);
	EXPECT_EQ(0, dbg_num(id, "loopback_result"));
	EXPECT_EQ(n, dbg_num(id, "loopback_msgs"));
	EXPECT_EQ(L3L2Q_ROLE_DEAD, load_u32(mem->ctrl, L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(0, load_s32(mem->counters, L3L2Q_CTR_L2_ABORT));
	EXPECT_EQ(0u, load_u32(mem->ctrl, L3L2Q_CTRL_L2_PID));
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLHUP | POLLERR,
		  p.revents & (POLLIN | POLLHUP | POLLERR));

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		ASSERT_EQ(0, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
					      l3l2q_now_ns() + PROMPT_NS, &m))
			TH_LOG("answer %u", i);
		ASSERT_EQ(i * 5ull, m.nbytes);
		ASSERT_TRUE(check_payload(buf, m.nbytes, i, 0));
	}
	/* Everything read: the end is reported, not a timeout. */
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
						l3l2q_now_ns() + PROMPT_NS, &m));
	memset(&w, 0, sizeof(w));
	w.counter = L3L2Q_CTR_OUTPUT_TAIL;
	w.seen = load_s32(mem->counters, L3L2Q_CTR_OUTPUT_TAIL);
	w.deadline_ns = ~0ull;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, L3L2Q_IOC_WAIT, &w));
	EXPECT_EQ(ECONNRESET, errno);
	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* The same, with L3 already asleep in dequeue when the thread exits. */
TEST_F(lb, stop_while_l3_sleeps_in_dequeue)
{
	unsigned char buf[64];
	struct l3l2q_l3 *l3;
	struct l3l2q_msg m;

	self->q = create_lib(L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096);
	ASSERT_NE(NULL, self->q);
	l3 = l3l2q_queue_l3(self->q);
	fill(buf, 10, 1);
	ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, 10,
				      l3l2q_now_ns() + PROMPT_NS));
	ASSERT_EQ(0, l3l2q_l3_request_stop(l3, l3l2q_now_ns() + PROMPT_NS));
	ASSERT_EQ(0, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
				      l3l2q_now_ns() + PROMPT_NS, &m));
	EXPECT_TRUE(check_payload(buf, 10, 1, 0));
	/* No deadline: only the thread's exit can end it. */
	EXPECT_EQ(-ECONNRESET, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
						L3L2Q_DEADLINE_NONE, &m));
}

/* ---------------------------------------------------------------------- */
/* Stopping a blocked thread                                              */
/* ---------------------------------------------------------------------- */

/* Close the raw queue and check the thread and the queue are gone. */
static void close_and_check(struct __test_metadata *_metadata, struct raw *r,
			    unsigned long long id)
{
	char v[32];

	raw_close(r);	/* a close that never returns: the watchdog */
	/* The release waited for the thread: nothing to wait for here. */
	EXPECT_EQ(0, count_lb_threads(id));
	EXPECT_EQ(-1, dbg_str(id, "loopback", v, sizeof(v)));
}

TEST_F(lb, close_while_blocked_on_empty_input)
{
	unsigned long long id;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 8,
			      4096, 4096));
	id = fd_queue_id(self->r.fd, NULL, 0);
	/* Asleep: its need-wakeup bit for input is up. */
	ASSERT_TRUE(wait_bits(self->r.mem.ctrl, L3L2Q_CTRL_L2_WAKE,
			      L3L2Q_WAKE_INPUT_AVAIL));
	ASSERT_EQ(1, count_lb_threads(id));
	close_and_check(_metadata, &self->r, id);
}

TEST_F(lb, close_while_blocked_on_a_full_output_ring)
{
	unsigned char buf[512];
	unsigned long long id;
	struct l3l2q_l3 l3;
	unsigned int i;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 4,
			      8192, 1024));
	ASSERT_EQ(0, raw_l3(&self->r, &l3));
	id = fd_queue_id(self->r.fd, NULL, 0);
	/* Never dequeued: the output arena (two answers) fills first. */
	for (i = 0; i < 4; i++) {
		fill(buf, sizeof(buf), i);
		ASSERT_EQ(0, l3l2q_l3_enqueue(&l3, L3L2Q_OP_DATA, buf,
					      sizeof(buf),
					      l3l2q_now_ns() + PROMPT_NS));
	}
	ASSERT_TRUE(wait_bits(self->r.mem.ctrl, L3L2Q_CTRL_L2_WAKE,
			      L3L2Q_WAKE_OUTPUT_SPACE));
	EXPECT_EQ(2, dbg_num(id, "loopback_msgs"));
	ASSERT_EQ(1, count_lb_threads(id));
	close_and_check(_metadata, &self->r, id);
}

/* The L3 process is killed mid-stream; its peer goes with it. */
TEST_F_TIMEOUT(lb, kill9_of_l3_mid_stream_ends_the_thread, 600)
{
	unsigned long long id = 0;
	int pipefd[2], status;
	__u64 msgs0, msgs1 = 0;
	unsigned int ms;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct l3l2q_queue *q;
		unsigned char buf[512];
		struct l3l2q_l3 *l3;
		unsigned int i;

		close(pipefd[0]);
		q = create_lib(L3L2Q_CREATE_LOOPBACK, 16, 8192, 8192);
		if (!q)
			_exit(2);
		l3 = l3l2q_queue_l3(q);
		id = fd_queue_id(l3l2q_queue_poll_fd(q), NULL, 0);
		if (write(pipefd[1], &id, sizeof(id)) != sizeof(id))
			_exit(3);
		for (i = 0;; i++) {
			fill(buf, i % sizeof(buf), i);
			if (l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf,
					     i % sizeof(buf), ~0ull))
				_exit(4);
			/* Read only every other answer: keep it busy. */
			if ((i & 1) &&
			    (l3l2q_l3_dequeue(l3, buf, sizeof(buf), ~0ull, NULL) ||
			     l3l2q_l3_dequeue(l3, buf, sizeof(buf), ~0ull, NULL)))
				_exit(5);
		}
	}
	close(pipefd[1]);
	ASSERT_EQ((ssize_t)sizeof(id), read(pipefd[0], &id, sizeof(id)));
	close(pipefd[0]);
	ASSERT_NE(0ull, id);
	/* Streaming: the thread's answer count moves (watchdog only). */
	msgs0 = dbg_num(id, "loopback_msgs");
	for (ms = 0; ms < VM_WATCHDOG_MS; ms++) {
		msgs1 = dbg_num(id, "loopback_msgs");
		if (msgs1 > msgs0)
			break;
		sleep_ms(1);
	}
	EXPECT_LT(msgs0, msgs1);
	EXPECT_EQ(1, count_lb_threads(id));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_TRUE(lb_threads_gone(id));
	EXPECT_EQ(-9999, dbg_num(id, "loopback_msgs"));
}

/* ---------------------------------------------------------------------- */
/* A hostile L3                                                           */
/* ---------------------------------------------------------------------- */

FIXTURE(poison) {
	int dev;
	struct raw r;
};

FIXTURE_VARIANT(poison) {
	__u64 seq;		/* of the descriptor written at slot 0 */
	__u64 opcode;
	__u64 offset;
	__u64 nbytes;
	__s32 tail;		/* input tail published */
};

/* Each breaks one rule the core checks (reference §2, §3). */
FIXTURE_VARIANT_ADD(poison, bad_opcode) { 1, 99, 0, 0, 1 };
FIXTURE_VARIANT_ADD(poison, invalid_opcode_0) { 1, 0, 0, 0, 1 };
FIXTURE_VARIANT_ADD(poison, seq_mismatch) { 5, L3L2Q_OP_DATA, 0, 0, 1 };
/* Offset 0 is the descriptor ring, not the input arena. */
FIXTURE_VARIANT_ADD(poison, payload_outside_arena) {
	1, L3L2Q_OP_DATA, 0, 64, 1 };
FIXTURE_VARIANT_ADD(poison, payload_beyond_everything) {
	1, L3L2Q_OP_DATA, ~0ull - 63, 64, 1 };
FIXTURE_VARIANT_ADD(poison, stop_with_payload) {
	1, L3L2Q_OP_STOP, 0, 8, 1 };
/* Depth 8: a tail 1000 ahead is impossible. */
FIXTURE_VARIANT_ADD(poison, impossible_tail) { 1, L3L2Q_OP_DATA, 0, 0, 1000 };
FIXTURE_VARIANT_ADD(poison, negative_tail) { 1, L3L2Q_OP_DATA, 0, 0, -1 };

FIXTURE_SETUP(poison)
{
	self->r.fd = -1;
	self->r.map = MAP_FAILED;
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	if (self->dev < 0)
		SKIP(return, DEV_PATH " missing: is l3l2q.ko loaded?");
	ASSERT_EQ(0, ensure_debugfs());
}

FIXTURE_TEARDOWN(poison)
{
	raw_close(&self->r);
	if (self->dev >= 0)
		close(self->dev);
}

/*
 * A descriptor or counter that breaks the protocol ends the thread: the
 * L2 role dead with its abort flag up, result -EPROTO, L3 woken with
 * EPOLLHUP|EPOLLERR - and the kernel untouched (the runner scans dmesg).
 */
TEST_F(poison, bad_input_ends_the_thread_not_the_kernel)
{
	struct l3l2q_desc *d;
	unsigned long long id;
	struct pollfd p;
	__u64 end;

	ASSERT_EQ(0, raw_open(&self->r, self->dev, L3L2Q_CREATE_LOOPBACK, 8,
			      4096, 4096));
	id = fd_queue_id(self->r.fd, NULL, 0);
	ASSERT_TRUE(wait_bits(self->r.mem.ctrl, L3L2Q_CTRL_L2_WAKE,
			      L3L2Q_WAKE_INPUT_AVAIL));
	d = (struct l3l2q_desc *)self->r.mem.payload;
	d->opcode = variant->opcode;
	d->payload_offset = variant->offset;
	d->payload_nbytes = variant->nbytes;
	__atomic_store_n(&d->seq, variant->seq, __ATOMIC_RELEASE);
	__atomic_store_n((__s32 *)((char *)self->r.mem.counters +
				   L3L2Q_CTR_INPUT_TAIL), variant->tail,
			 __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ASSERT_EQ(0, ioctl(self->r.fd, L3L2Q_IOC_KICK));

	end = l3l2q_now_ns() + PROMPT_NS;
	while (load_u32(self->r.mem.ctrl, L3L2Q_CTRL_L2_STATE) !=
	       L3L2Q_ROLE_DEAD && l3l2q_now_ns() < end)
		sleep_ms(5);
	EXPECT_EQ(L3L2Q_ROLE_DEAD, load_u32(self->r.mem.ctrl,
					    L3L2Q_CTRL_L2_STATE));
	EXPECT_EQ(1, load_s32(self->r.mem.counters, L3L2Q_CTR_L2_ABORT));
	EXPECT_TRUE(lb_threads_gone(id));
	EXPECT_EQ(-EPROTO, dbg_num(id, "loopback_result"));
	EXPECT_EQ(0, dbg_num(id, "loopback_msgs"));
	p.fd = self->r.fd;
	p.events = POLLIN;
	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLHUP | POLLERR));
}

/*
 * Garbage over the whole mapping, control block and counters included,
 * while the thread streams: whatever it makes of it, close still stops
 * it promptly and the kernel is fine.
 */
TEST_F(lb, scribbled_mapping_then_close)
{
	unsigned char buf[256];
	unsigned long long id;
	struct l3l2q_l3 l3;
	unsigned int i, round;
	__u32 x = 1;

	for (round = 0; round < 20; round++) {
		ASSERT_EQ(0, raw_open(&self->r, self->dev,
				      L3L2Q_CREATE_LOOPBACK, 8, 4096, 4096));
		ASSERT_EQ(0, raw_l3(&self->r, &l3));
		id = fd_queue_id(self->r.fd, NULL, 0);
		for (i = 0; i < 5; i++) {
			fill(buf, sizeof(buf), i);
			ASSERT_EQ(0, l3l2q_l3_enqueue(&l3, L3L2Q_OP_DATA, buf,
						      sizeof(buf),
						      l3l2q_now_ns() + PROMPT_NS));
		}
		for (i = 0; i < self->r.len / 4; i++) {
			x = x * 1664525u + 1013904223u + round;
			((__u32 *)self->r.map)[i] = x;
		}
		ioctl(self->r.fd, L3L2Q_IOC_KICK);
		sleep_ms(20);	/* let it chew on the garbage: no verdict */
		raw_close(&self->r);	/* the watchdog catches a hang */
		EXPECT_EQ(0, count_lb_threads(id));
	}
}

/* ---------------------------------------------------------------------- */
/* No leaks                                                               */
/* ---------------------------------------------------------------------- */

/*
 * 1000 create/close cycles, every tenth with a round trip through the
 * library: no thread, no debugfs file, no fd and no region memory is left.
 */
TEST_F_TIMEOUT(lb, create_close_1000_cycles_do_not_leak, 600)
{
	long vmalloc0, slab0, vmalloc1, slab1;
	int fds0, queues0, i;
	unsigned char buf[64];
	struct l3l2q_create_args a;
	struct l3l2q_queue *q;
	struct l3l2q_l3 *l3;
	int fd;

	/* Warm up caches so the baseline is fair. */
	for (i = 0; i < 10; i++) {
		fd = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 64, 65536,
				65536, &a);
		ASSERT_LE(0, fd);
		close(fd);
	}
	ASSERT_TRUE(lb_threads_gone(0));
	fds0 = count_fds();
	queues0 = count_dir(DBG_DIR);
	vmalloc0 = meminfo_kb("VmallocUsed");
	slab0 = meminfo_kb("SUnreclaim");
	ASSERT_LE(0, vmalloc0);
	ASSERT_LE(0, slab0);
	for (i = 0; i < 1000; i++) {
		if (i % 10) {
			fd = create_raw(self->dev, L3L2Q_CREATE_LOOPBACK, 64,
					65536, 65536, &a);
			ASSERT_LE(0, fd) TH_LOG("cycle %d", i);
			close(fd);
			continue;
		}
		q = create_lib(L3L2Q_CREATE_LOOPBACK, 64, 65536, 65536);
		ASSERT_NE(NULL, q) TH_LOG("cycle %d", i);
		l3 = l3l2q_queue_l3(q);
		fill(buf, sizeof(buf), i);
		ASSERT_EQ(0, l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf,
					      sizeof(buf),
					      l3l2q_now_ns() + PROMPT_NS));
		ASSERT_EQ(0, l3l2q_l3_dequeue(l3, buf, sizeof(buf),
					      l3l2q_now_ns() + PROMPT_NS, NULL));
		ASSERT_TRUE(check_payload(buf, sizeof(buf), i, 0));
		l3l2q_destroy(q);
	}
	/* close() returned after the thread was reaped: none may be left. */
	EXPECT_EQ(0, count_lb_threads(0));
	EXPECT_EQ(queues0, count_dir(DBG_DIR));
	EXPECT_EQ(fds0, count_fds());
	vmalloc1 = meminfo_kb("VmallocUsed");
	slab1 = meminfo_kb("SUnreclaim");
	/* One region is ~140 KiB: 1000 leaked ones would be ~140 MiB. */
	EXPECT_GT(vmalloc0 + 1024, vmalloc1)
		TH_LOG("VmallocUsed %ld -> %ld kB", vmalloc0, vmalloc1);
	/* A leaked loopback object is ~12 KiB: 1000 would be ~12 MiB. */
	EXPECT_GT(slab0 + 2048, slab1)
		TH_LOG("SUnreclaim %ld -> %ld kB", slab0, slab1);
}

TEST_HARNESS_MAIN
