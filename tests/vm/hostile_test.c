// SPDX-License-Identifier: MIT
/*
 * hostile_test - the driver under a hostile user (issue 11).  Fixed seed,
 * fixed amount of work, generous watchdogs; every check is about what
 * happened, never how fast:
 *
 *   random_ioctls_on_every_fd_kind
 *       ioctls and io_uring commands with random numbers and random
 *       arguments (random bytes, NULL, bad, read-only and half-mapped
 *       pointers) on the device node (read-write and read-only), L3 fds
 *       and L2 fds, with the pools of fds churning as they go;
 *   random_mappings_and_forks
 *       mmap/munmap/mremap/madvise/mprotect with random arguments on role
 *       and device fds, random bytes scribbled over mapped regions (also
 *       of loopback queues, whose kernel thread reads them), touches that
 *       may fault, and forks whose children poke at what they inherited;
 *   kill9_either_role_at_random_points_x100
 *       an L3 and an L2 process streaming through the library; one of
 *       them is killed with SIGKILL at a random moment and the other must
 *       notice and exit on its own;
 *   create_destroy_10k
 *       10^4 queues created and torn down, some with an L2 fd, a mapping,
 *       an io_uring WAIT left pending at close, or a loopback peer;
 *   z_everything_is_back
 *       after all that (and a settling period): no queue, loopback thread
 *       or pending command left; VmallocUsed within 1 MiB, SUnreclaim
 *       within 4 MiB and every slab cache within max(2000 objects,
 *       1 MiB) of where they were before the first test (growth from
 *       kernel caches and worker threads the run woke is tolerated; a
 *       leak per queue or per cycle is not: 10^4 cycles would leak at
 *       least 10^4 objects and, for regions, 40 MiB of vmalloc space);
 *       and not one kernel log line from the driver: everything a user
 *       can trigger is pr_debug.
 *
 * tools/vm/run.sh then fails the run on any WARNING, BUG, lockup, RCU
 * stall or hung task in dmesg, and on a module that does not unload.
 * Runs as root (the loopback peers need CAP_SYS_ADMIN).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "libl3l2q.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "helpers.h"

#define DEV_PATH	"/dev/l3l2q"
#define BASELINE	"/tmp/l3l2q-hostile.baseline"
#define MARKER		"l3l2q-hostile-test: start"
#define MS		1000000ull
#define SEC		1000000000ull

/* ---------------------------------------------------------------------- */
/* A fixed-seed generator                                                 */
/* ---------------------------------------------------------------------- */

static __u64 rng = 0x9e3779b97f4a7c15ull;

static __u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng * 0x2545f4914f6cdd1dull;
}

static __u64 below(__u64 n)
{
	return n ? rnd() % n : 0;
}

static void rnd_fill(void *p, size_t n)
{
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (unsigned char)rnd();
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A periodic SIGALRM without SA_RESTART: any call the random arguments
 * made block (a WAIT with a far deadline) ends with EINTR soon.
 */
static void interrupt_every_ms(unsigned int ms)
{
	struct itimerval it = {
		.it_interval = { 0, (long)ms * 1000 },
		.it_value = { 0, (long)ms * 1000 },
	};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void stop_interrupts(void)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
}

static int create_small(int dev, __u32 flags, struct l3l2q_create_args *a)
{
	memset(a, 0, sizeof(*a));
	a->depth = 1ull << (1 + below(6));
	a->input_arena_bytes = 64 * (1 + below(64));
	a->output_arena_bytes = 64 * (1 + below(64));
	a->flags = flags;
	a->fd = -1;
	return ioctl(dev, L3L2Q_IOC_CREATE, a) ? -errno : a->fd;
}

static int peer_of(int l3)
{
	struct l3l2q_peer_args p;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	return ioctl(l3, L3L2Q_IOC_PEER, &p) ? -errno : p.fd;
}

/* Loopback threads alive. */
static int lb_threads(void)
{
	char path[300], comm[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

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
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, "l3l2q-lb/", 9))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/* Sum of "key: N" over every queue in debugfs. */
static long long dbg_sum(const char *key)
{
	struct dirent *de;
	long long sum = 0, v;
	DIR *d;

	d = opendir(DBG_DIR);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		v = dbg_num(strtoull(de->d_name, NULL, 10), key);
		if (v > 0)
			sum += v;
	}
	closedir(d);
	return sum;
}

/* Touching memory that may fault: SIGSEGV/SIGBUS jump back here. */
static sigjmp_buf touch_env;

static void on_fault(int sig)
{
	siglongjmp(touch_env, sig);
}

static void catch_faults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Read or write @n random bytes at @p; 0, or the signal it raised. */
static int touch(unsigned char *p, size_t n, int write)
{
	volatile unsigned char sink = 0;
	volatile size_t i;
	int sig;

	sig = sigsetjmp(touch_env, 1);
	if (sig)
		return sig;
	for (i = 0; i < n; i++) {
		if (write)
			p[i] = (unsigned char)rnd();
		else
			sink ^= p[i];
	}
	(void)sink;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Baseline and comparison                                                */
/* ---------------------------------------------------------------------- */

#define MAX_CACHES	512

struct snapshot {
	long vmalloc_kb, sunreclaim_kb, kstack_kb;
	int nr_caches;
	struct {
		char name[64];
		long active, size;
	} cache[MAX_CACHES];
};

static void settle(void)
{
	int fd;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3\n", 2) < 0)
			perror("drop_caches");
		close(fd);
	}
	sleep_ms(500);
}

static int snapshot(struct snapshot *s)
{
	char line[512], name[64];
	long active, num, size;
	FILE *f;

	memset(s, 0, sizeof(*s));
	s->vmalloc_kb = meminfo_kb("VmallocUsed");
	s->sunreclaim_kb = meminfo_kb("SUnreclaim");
	s->kstack_kb = meminfo_kb("KernelStack");
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && s->nr_caches < MAX_CACHES) {
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &num,
			   &size) != 4 || name[0] == '#')
			continue;
		snprintf(s->cache[s->nr_caches].name,
			 sizeof(s->cache[0].name), "%s", name);
		s->cache[s->nr_caches].active = active;
		s->cache[s->nr_caches].size = size;
		s->nr_caches++;
	}
	fclose(f);
	return s->vmalloc_kb < 0 || s->sunreclaim_kb < 0 ? -1 : 0;
}

#define VMALLOC_TOL_KB		1024
#define SUNRECLAIM_TOL_KB	4096
#define CACHE_TOL_OBJS		2000
#define CACHE_TOL_BYTES		(1l << 20)

/*
 * How @now compares with @base: 0 if within the tolerances, else the
 * number of figures over; each is described in @why (if not NULL).
 */
static int compare(const struct snapshot *base, const struct snapshot *now,
		   char *why, size_t len)
{
	size_t used = 0;
	int bad = 0, i, j;
	long d;

#define WHY(...)							\
	do {								\
		if (why && used < len)					\
			used += (size_t)snprintf(why + used, len - used, \
						 __VA_ARGS__);		\
	} while (0)

	if (why)
		why[0] = 0;
	if (now->vmalloc_kb - base->vmalloc_kb > VMALLOC_TOL_KB) {
		bad++;
		WHY(" VmallocUsed +%ld kB;", now->vmalloc_kb - base->vmalloc_kb);
	}
	if (now->sunreclaim_kb - base->sunreclaim_kb > SUNRECLAIM_TOL_KB) {
		bad++;
		WHY(" SUnreclaim +%ld kB;",
		    now->sunreclaim_kb - base->sunreclaim_kb);
	}
	for (i = 0; i < now->nr_caches; i++) {
		long was = 0;

		for (j = 0; j < base->nr_caches; j++)
			if (!strcmp(base->cache[j].name, now->cache[i].name)) {
				was = base->cache[j].active;
				break;
			}
		d = now->cache[i].active - was;
		if (d > CACHE_TOL_OBJS &&
		    d * now->cache[i].size > CACHE_TOL_BYTES) {
			bad++;
			WHY(" %s +%ld objects;", now->cache[i].name, d);
		}
	}
#undef WHY
	return bad;
}

/* ---------------------------------------------------------------------- */
/* Before anything                                                        */
/* ---------------------------------------------------------------------- */

/* No state: a fixture only for the per-test watchdogs (TEST_F_TIMEOUT). */
FIXTURE(h) {
	int unused;
};

FIXTURE_SETUP(h)
{
}

FIXTURE_TEARDOWN(h)
{
}

/*
 * Record where memory stands, mark the kernel log, and shorten 6.1's cap
 * on queued io_uring WAITs so that rings of killed processes let go
 * within a second.
 */
TEST_F(h, a_baseline)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	unsigned long wait_ms;
	FILE *f;
	int fd;

	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, ensure_debugfs());
	ASSERT_EQ(0, count_regions());
	ASSERT_EQ(0, lb_threads());
	ASSERT_EQ(0, read_param("uring_max_wait_ms", &wait_ms));
	settle();
	ASSERT_EQ(0, snapshot(s));
	f = fopen(BASELINE, "w");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1u, fwrite(s, sizeof(*s), 1, f));
	ASSERT_EQ(1u, fwrite(&wait_ms, sizeof(wait_ms), 1, f));
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 1000));
	fd = open("/dev/kmsg", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, write(fd, MARKER "\n", strlen(MARKER) + 1));
	close(fd);
	TH_LOG("VmallocUsed %ld kB, SUnreclaim %ld kB, KernelStack %ld kB, %d slab caches",
	       s->vmalloc_kb, s->sunreclaim_kb, s->kstack_kb, s->nr_caches);
	free(s);
}

/* ---------------------------------------------------------------------- */
/* Random ioctls                                                          */
/* ---------------------------------------------------------------------- */

#define NPOOL		4

struct pools {
	int dev_rw, dev_ro;
	int l3[NPOOL], l2[NPOOL];
	int efd;
	unsigned char *buf;	/* 2 pages, the second PROT_NONE */
	unsigned char *ro;	/* a read-only page */
};

static void pool_put(int *pool, int fd)
{
	int i = (int)below(NPOOL);

	if (pool[i] >= 0)
		close(pool[i]);
	pool[i] = fd;
}

static const unsigned long known_cmds[] = {
	L3L2Q_IOC_CREATE, L3L2Q_IOC_PEER, L3L2Q_IOC_INFO, L3L2Q_IOC_WAIT,
	L3L2Q_IOC_KICK, L3L2Q_IOC_SET_EVENTFD,
};

static unsigned long pick_cmd(void)
{
	unsigned long c;

	switch (below(5)) {
	case 0:
	case 1:
		return known_cmds[below(6)];
	case 2:
		/* Our magic, any number, direction and size. */
		return _IOC(below(4), L3L2Q_IOC_MAGIC, below(16), below(512));
	case 3:
		/* A known one with its size or direction changed. */
		c = known_cmds[below(6)];
		return _IOC(below(4), _IOC_TYPE(c), _IOC_NR(c), below(256));
	default:
		return (unsigned long)(__u32)rnd();
	}
}

static int pick_fd(struct pools *p)
{
	switch (below(8)) {
	case 0:
		return p->dev_rw;
	case 1:
		return p->dev_ro;
	case 2:
	case 3:
	case 4:
		return p->l3[below(NPOOL)];
	case 5:
	case 6:
		return p->l2[below(NPOOL)];
	default:
		/*
		 * No fd at all.  Never a random number: fds 0-2 are the
		 * serial console, and a random ioctl there is TIOCSTI.
		 */
		return below(2) ? -1 : 1000 + (int)below(16);
	}
}

/*
 * Random bytes for @cmd's argument, sometimes made plausible enough to
 * get past the first checks.
 */
static void fill_arg(struct pools *p, unsigned long cmd, unsigned char *a)
{
	rnd_fill(a, 256);
	if (below(2))
		return;
	if (cmd == L3L2Q_IOC_CREATE) {
		struct l3l2q_create_args *c = (void *)a;

		memset(c, 0, sizeof(*c));
		c->depth = 1ull << below(12);
		c->input_arena_bytes = 64 * below(128);
		c->output_arena_bytes = 64 * below(128);
		c->flags = (__u32)below(8);
		c->kind = (__u32)below(3);
		c->start_pos = below(3) ? 0 : rnd();
	} else if (cmd == L3L2Q_IOC_WAIT) {
		struct l3l2q_wait_args *w = (void *)a;

		w->counter = (__u16)(below(6) * 64);
		w->flags = (__u16)!below(8);
		w->deadline_ns = below(2) ? 0 : l3l2q_now_ns() + below(2 * MS);
	} else if (cmd == L3L2Q_IOC_SET_EVENTFD) {
		struct l3l2q_eventfd_args *e = (void *)a;

		memset(e, 0, sizeof(*e));
		e->fd = below(2) ? p->efd : (below(2) ? -1 : (int)below(64));
	} else if (cmd == L3L2Q_IOC_PEER) {
		memset(a, 0, sizeof(struct l3l2q_peer_args));
	}
}

static unsigned long pick_ptr(struct pools *p, unsigned char **filled)
{
	*filled = NULL;
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return (unsigned long)p->ro;
	case 3:
		/* The struct runs into the PROT_NONE page. */
		return (unsigned long)(p->buf + 4096 - 1 - below(64));
	case 4:
		return 0xffff888000000000ul;
	default:
		*filled = p->buf;
		return (unsigned long)p->buf;
	}
}

/* One random ioctl; new fds it made go to the pools. */
static void random_ioctl(struct pools *p, long long *made)
{
	unsigned long cmd = pick_cmd(), arg;
	unsigned char *a;
	int fd = pick_fd(p), ret;

	arg = pick_ptr(p, &a);
	if (a)
		fill_arg(p, cmd, a);
	ret = ioctl(fd, cmd, arg);
	if (ret || !a)
		return;
	if (cmd == L3L2Q_IOC_CREATE &&
	    (fd == p->dev_rw || fd == p->dev_ro)) {
		pool_put(p->l3, ((struct l3l2q_create_args *)a)->fd);
		(*made)++;
	} else if (cmd == L3L2Q_IOC_PEER) {
		pool_put(p->l2, ((struct l3l2q_peer_args *)a)->fd);
		(*made)++;
	}
}

/* A random IORING_OP_URING_CMD on a random fd. */
static void random_uring_cmd(struct pools *p, struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;

	if (!sqe)
		return;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, pick_fd(p), NULL, 0, 0);
	sqe->cmd_op = below(2) ? L3L2Q_IOC_WAIT : (__u32)rnd();
	rnd_fill((char *)sqe + offsetof(struct io_uring_sqe, cmd), 16);
	if (below(2)) {
		struct l3l2q_wait_args w;

		memset(&w, 0, sizeof(w));
		w.counter = (__u16)(below(6) * 64);
		w.seen = (__s32)below(2);
		w.deadline_ns = below(4) ? l3l2q_now_ns() + below(50 * MS) :
			       ~0ull;
		memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &w,
		       sizeof(w));
	}
	sqe->user_data = rnd();
	io_uring_submit(ring);
	while (!io_uring_peek_cqe(ring, &cqe))
		io_uring_cqe_seen(ring, cqe);
}

#define IOCTL_OPS	100000
#define URING_OPS	10000

TEST_F_TIMEOUT(h, random_ioctls_on_every_fd_kind, 900)
{
	struct io_uring ring;
	struct pools p;
	long long made = 0;
	int i;

	rng = 0x1001;
	p.dev_rw = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	p.dev_ro = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, p.dev_rw);
	ASSERT_LE(0, p.dev_ro);
	p.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, p.efd);
	p.buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p.buf);
	ASSERT_EQ(0, mprotect(p.buf + 4096, 4096, PROT_NONE));
	p.ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p.ro);
	for (i = 0; i < NPOOL; i++) {
		struct l3l2q_create_args a;

		p.l3[i] = create_small(p.dev_rw, 0, &a);
		ASSERT_LE(0, p.l3[i]);
		p.l2[i] = peer_of(p.l3[i]);
		ASSERT_LE(0, p.l2[i]);
	}
	ASSERT_EQ(0, io_uring_queue_init(64, &ring, 0));
	interrupt_every_ms(5);

	for (i = 0; i < IOCTL_OPS; i++) {
		random_ioctl(&p, &made);
		/* Churn: a fresh queue now and then, loopback or not. */
		if (!below(200)) {
			struct l3l2q_create_args a;
			int fd = create_small(p.dev_rw, below(4) ? 0 :
					      L3L2Q_CREATE_LOOPBACK, &a);

			if (fd >= 0)
				pool_put(p.l3, fd);
		}
		if (!below(300))
			pool_put(p.l2, -1);
	}
	for (i = 0; i < URING_OPS; i++)
		random_uring_cmd(&p, &ring);
	stop_interrupts();
	TH_LOG("%d ioctls, %d io_uring commands, %lld fds made by them",
	       IOCTL_OPS, URING_OPS, made);

	/* Everything goes; pending commands end with their fds. */
	for (i = 0; i < NPOOL; i++) {
		if (p.l3[i] >= 0)
			close(p.l3[i]);
		if (p.l2[i] >= 0)
			close(p.l2[i]);
	}
	io_uring_queue_exit(&ring);
	close(p.efd);
	close(p.dev_rw);
	close(p.dev_ro);
	/* Every fd this test made is closed: nothing of it may be left. */
	for (i = 0; i < 600 && (count_regions() || lb_threads()); i++)
		sleep_ms(100);
	EXPECT_EQ(0, count_regions());
	EXPECT_EQ(0, lb_threads());
}

/* ---------------------------------------------------------------------- */
/* Random mappings                                                        */
/* ---------------------------------------------------------------------- */

#define NMAP		16
#define MAP_OPS		20000
#define FORKS		400

struct mapping {
	unsigned char *addr;
	size_t len;
};

static const int advice[] = {
	MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
	MADV_DONTNEED, MADV_FREE, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK,
	MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_KEEPONFORK,
	MADV_COLD, MADV_PAGEOUT, 22 /* MADV_POPULATE_READ */,
	23 /* MADV_POPULATE_WRITE */, 25 /* MADV_COLLAPSE */,
};

struct mapper {
	int dev;
	int l3[NPOOL], l2[NPOOL];
	size_t len[NPOOL];
	struct mapping m[NMAP];
};

static int pick_role_fd(struct mapper *s, size_t *len)
{
	int i = (int)below(NPOOL), fd;

	fd = below(2) ? s->l3[i] : s->l2[i];
	*len = s->len[i];
	if (!below(10)) {
		fd = s->dev;
		*len = 4096;
	}
	return fd;
}

static void forget(struct mapper *s, int i)
{
	if (s->m[i].addr)
		munmap(s->m[i].addr, s->m[i].len);
	s->m[i].addr = NULL;
	s->m[i].len = 0;
}

/* A child pokes at what it inherited, then exits. */
static void fork_and_poke(struct mapper *s)
{
	int status, i;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		for (i = 0; i < NMAP; i++)
			if (s->m[i].addr)
				touch(s->m[i].addr, 64, (int)below(2));
		_exit(0);
	}
	waitpid(pid, &status, 0);
}

static void random_map_op(struct mapper *s)
{
	int i = (int)below(NMAP), fd, prot, flags;
	struct mapping *m = &s->m[i];
	size_t len, pages, new_len, off, n;
	void *a;

	switch (below(9)) {
	case 0:
	case 1:
		forget(s, i);
		fd = pick_role_fd(s, &len);
		pages = len / 4096;
		prot = (int)below(8);	/* PROT_READ|WRITE|EXEC subsets */
		len = below(4) ? len : 4096 * (1 + below(pages + 2)) -
				       (below(4) ? 0 : below(4096));
		a = mmap(NULL, len, prot, below(5) ? MAP_SHARED : MAP_PRIVATE,
			 fd, below(3) ? 0 : (off_t)(4096 * below(pages + 2)));
		if (a != MAP_FAILED) {
			m->addr = a;
			m->len = len;
		}
		break;
	case 2:
		if (!m->addr)
			break;
		/* Whole (ok) or part (refused: the mapping stays whole). */
		if (below(2) || munmap(m->addr + 4096 * below(m->len / 4096 + 1),
				       4096) == 0)
			forget(s, i);
		break;
	case 3:
		if (!m->addr)
			break;
		flags = (int)below(8) & (MREMAP_MAYMOVE | 4 /* DONTUNMAP */);
		new_len = below(2) ? m->len + 4096 * below(3) :
				     4096 * (1 + below(m->len / 4096 + 1));
		a = mremap(m->addr, m->len, new_len, flags);
		if (a != MAP_FAILED) {
			/* MREMAP_DONTUNMAP leaves the old range mapped. */
			if (flags & 4)
				munmap(m->addr, m->len);
			m->addr = a;
			m->len = new_len;
		}
		break;
	case 4:
		if (m->addr)
			madvise(m->addr, m->len,
				below(8) ? advice[below(sizeof(advice) /
						       sizeof(advice[0]))] :
					   (int)below(128));
		break;
	case 5:
		if (m->addr)
			mprotect(m->addr, below(2) ? m->len : 4096,
				 (int)below(8));
		break;
	case 6:
	case 7:
		/* Scribble (inside the mapping), then wake whoever reads. */
		if (m->addr && m->len) {
			off = below(m->len);
			n = 1 + below(256);
			touch(m->addr + off, n < m->len - off ? n : m->len - off,
			      (int)below(3));
		}
		ioctl(s->l3[below(NPOOL)], L3L2Q_IOC_KICK);
		ioctl(s->l2[below(NPOOL)], L3L2Q_IOC_KICK);
		break;
	default:
		if (m->addr)
			touch(m->addr, m->len < 4096 ? m->len : 4096, 0);
		break;
	}
}

TEST_F_TIMEOUT(h, random_mappings_and_forks, 900)
{
	struct l3l2q_create_args a;
	struct mapper s;
	int i, forks = 0;

	rng = 0x2002;
	memset(&s, 0, sizeof(s));
	catch_faults();
	s.dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, s.dev);
	for (i = 0; i < NPOOL; i++) {
		/* Half with a loopback peer reading what is scribbled. */
		s.l3[i] = create_small(s.dev, i % 2 ? L3L2Q_CREATE_LOOPBACK :
					0, &a);
		ASSERT_LE(0, s.l3[i]);
		s.len[i] = a.off.total_bytes;
		s.l2[i] = i % 2 ? -1 : peer_of(s.l3[i]);
	}
	for (i = 0; i < MAP_OPS; i++) {
		random_map_op(&s);
		if (i % (MAP_OPS / FORKS) == 0) {
			fork_and_poke(&s);
			forks++;
		}
	}
	TH_LOG("%d mapping operations, %d forks", MAP_OPS, forks);
	for (i = 0; i < NMAP; i++)
		forget(&s, i);
	for (i = 0; i < NPOOL; i++) {
		close(s.l3[i]);
		if (s.l2[i] >= 0)
			close(s.l2[i]);
	}
	close(s.dev);
	for (i = 0; i < 600 && (count_regions() || lb_threads()); i++)
		sleep_ms(100);
	EXPECT_EQ(0, count_regions());
	EXPECT_EQ(0, lb_threads());
}

/* ---------------------------------------------------------------------- */
/* kill -9                                                                */
/* ---------------------------------------------------------------------- */

#define KILLS		100

/* Exit codes of the two roles. */
#define SAW_DEATH	0	/* ended on -ECONNRESET, as it must */
#define FAILED_SETUP	2	/* could not create or attach: a failure */
#define OTHER_ERROR	3
#define GONE_EARLY	4	/* the other died before handing the fd */

static int l2_role(int sock)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	struct l3l2q_msg m;
	struct l3l2q_res r;
	struct l3l2q_l2 *l2;
	int fd, ret;

	fd = l3l2q_recv_fd(sock);
	if (fd < 0)
		return GONE_EARLY;
	if (l3l2q_attach(fd, NULL, &q, &err))
		return FAILED_SETUP;
	l2 = l3l2q_queue_l2(q);
	for (;;) {
		ret = l3l2q_l2_peek(l2, l3l2q_deadline_in(10 * SEC), &m);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret)
			break;
		if (m.opcode == L3L2Q_OP_STOP) {
			ret = l3l2q_l2_release(l2, &m);
			break;
		}
		ret = l3l2q_l2_reserve(l2, m.nbytes, l3l2q_deadline_in(10 * SEC),
				       &r);
		if (!ret) {
			memcpy(r.data, m.data, m.nbytes);
			ret = l3l2q_l2_publish(l2, &r, L3L2Q_OP_DATA);
		}
		if (!ret)
			ret = l3l2q_l2_release(l2, &m);
		if (ret && ret != -ETIMEDOUT)
			break;
	}
	return ret == -ECONNRESET ? SAW_DEATH : OTHER_ERROR;
}

static int l3_role(int sock, unsigned int seed)
{
	struct l3l2q_params p = {
		.depth = 8,
		.input_arena_bytes = 4096,
		.output_arena_bytes = 4096,
		.backend = L3L2Q_BACKEND_DEVICE,
	};
	unsigned char buf[512], out[512];
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	struct l3l2q_msg m;
	struct l3l2q_l3 *l3;
	int fd, ret, i;

	rng = seed;
	if (l3l2q_create(&p, &q, &err))
		return FAILED_SETUP;
	fd = l3l2q_peer_fd(q);
	if (fd < 0)
		return FAILED_SETUP;
	if (l3l2q_send_fd(sock, fd))
		return GONE_EARLY;
	close(fd);
	l3 = l3l2q_queue_l3(q);
	for (i = 0;; i++) {
		size_t n = below(sizeof(buf));

		rnd_fill(buf, n);
		ret = l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, n,
				       l3l2q_deadline_in(10 * SEC));
		if (!ret)
			ret = l3l2q_l3_dequeue(l3, out, sizeof(out),
					       l3l2q_deadline_in(10 * SEC), &m);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret)
			break;
	}
	return ret == -ECONNRESET ? SAW_DEATH : OTHER_ERROR;
}

/* Wait up to @ms for @pid: its exit status, 1000 + signal, or -1. */
static int reap(pid_t pid, unsigned int ms)
{
	unsigned int t;
	int status;

	for (t = 0;; t += 5) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       1000 + WTERMSIG(status);
		if (t >= ms)
			return -1;
		sleep_ms(5);
	}
}

/*
 * An L3 and an L2 process stream messages through the library; after a
 * random delay one of them is killed with SIGKILL, wherever it is.  The
 * other must see the death (-ECONNRESET) and exit on its own (within a
 * minute: only a hang takes that long).
 */
TEST_F_TIMEOUT(h, kill9_either_role_at_random_points_x100, 1800)
{
	int i, victim, survivor_ok = 0, sv[2], status[2];
	pid_t pid[2];

	rng = 0x3003;
	for (i = 0; i < KILLS; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
					sv));
		pid[1] = fork();
		ASSERT_LE(0, pid[1]);
		if (pid[1] == 0) {
			close(sv[0]);
			_exit(l2_role(sv[1]));
		}
		pid[0] = fork();
		ASSERT_LE(0, pid[0]);
		if (pid[0] == 0) {
			close(sv[1]);
			_exit(l3_role(sv[0], (unsigned int)rnd()));
		}
		close(sv[0]);
		close(sv[1]);
		victim = (int)below(2);
		sleep_ms((unsigned int)below(30));
		kill(pid[victim], SIGKILL);
		status[victim] = reap(pid[victim], 60000);
		status[!victim] = reap(pid[!victim], 60000);
		/* The victim died of the kill. */
		EXPECT_EQ(1000 + SIGKILL, status[victim]) {
			TH_LOG("round %d: victim %s: status %d", i,
			       victim ? "L2" : "L3", status[victim]);
		}
		/*
		 * The survivor saw the death and left on its own (or, killed
		 * before the fd was handed over, saw its socket close).
		 */
		if (status[!victim] == SAW_DEATH ||
		    status[!victim] == GONE_EARLY)
			survivor_ok++;
		else
			TH_LOG("round %d: survivor %s: status %d", i,
			       victim ? "L3" : "L2", status[!victim]);
		if (status[!victim] == -1) {
			kill(pid[!victim], SIGKILL);
			reap(pid[!victim], 60000);
		}
	}
	EXPECT_EQ(KILLS, survivor_ok);
	for (i = 0; i < 600 && count_regions(); i++)
		sleep_ms(100);
	EXPECT_EQ(0, count_regions());
}

/* ---------------------------------------------------------------------- */
/* Create and destroy                                                     */
/* ---------------------------------------------------------------------- */

#define CYCLES		10000

/*
 * How a WAIT left pending at close may end: cancelled by its role's last
 * close or munmap, or ended by the peer's death, as 0 if the scribble hit
 * the counter it waited on.
 */
static int done_ok(int res)
{
	return res == -ECANCELED || res == -ECONNRESET || res == 0;
}

/*
 * 10^4 queues, each torn down again: some get an L2 fd, a mapping with a
 * scribble, an io_uring WAIT left pending when the fds close (cancelled
 * by the last close), or a loopback peer.
 */
TEST_F_TIMEOUT(h, create_destroy_10k, 1800)
{
	unsigned int ended = 0, waits = 0, lbs = 0, i;
	struct l3l2q_create_args a;
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	int dev, l3, l2, fds;
	void *m;

	rng = 0x4004;
	dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	ASSERT_EQ(0, io_uring_queue_init(64, &ring, 0));
	fds = count_fds();
	for (i = 0; i < CYCLES; i++) {
		int lb = !below(200);

		l3 = create_small(dev, lb ? L3L2Q_CREATE_LOOPBACK : 0, &a);
		ASSERT_LE(0, l3) {
			TH_LOG("cycle %u: create %d", i, l3);
		}
		lbs += lb;
		l2 = -1;
		if (!lb && below(2)) {
			l2 = peer_of(l3);
			ASSERT_LE(0, l2);
		}
		/* One L2 fd per queue; a loopback's L2 role is taken. */
		if ((lb || l2 >= 0) && !below(4))
			ASSERT_EQ(-EBUSY, peer_of(l3));
		m = MAP_FAILED;
		if (!below(4)) {
			m = mmap(NULL, a.off.total_bytes,
				 PROT_READ | PROT_WRITE, MAP_SHARED,
				 below(2) || l2 < 0 ? l3 : l2, 0);
			ASSERT_NE(MAP_FAILED, m);
			rnd_fill((char *)m + below(a.off.total_bytes - 64), 64);
		}
		if (!lb && !below(8)) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct l3l2q_wait_args w = {
				.counter = L3L2Q_CTR_OUTPUT_TAIL,
				.seen = 0,
				.deadline_ns = ~0ull,
			};

			ASSERT_NE(NULL, sqe);
			io_uring_prep_rw(IORING_OP_URING_CMD, sqe, l3, NULL, 0,
					 0);
			sqe->cmd_op = L3L2Q_IOC_WAIT;
			memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd),
			       &w, sizeof(w));
			sqe->user_data = i;
			ASSERT_EQ(1, io_uring_submit(&ring));
			waits++;
		}
		if (l2 >= 0)
			close(l2);
		close(l3);
		if (m != MAP_FAILED)
			munmap(m, a.off.total_bytes);
		while (!io_uring_peek_cqe(&ring, &cqe)) {
			EXPECT_TRUE(done_ok(cqe->res)) {
				TH_LOG("cycle %u: WAIT %llu ended with %d", i,
				       (unsigned long long)cqe->user_data,
				       cqe->res);
			}
			ended++;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	/* Every pending WAIT ended when its role's last holder went. */
	while (ended < waits) {
		struct __kernel_timespec ts = { .tv_sec = 60 };

		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&ring, &cqe, &ts)) {
			TH_LOG("%u of %u WAITs ended", ended, waits);
		}
		EXPECT_TRUE(done_ok(cqe->res));
		ended++;
		io_uring_cqe_seen(&ring, cqe);
	}
	TH_LOG("%u cycles, %u with a loopback peer, %u io_uring WAITs ended by the last close",
	       CYCLES, lbs, waits);
	EXPECT_EQ(fds, count_fds());
	io_uring_queue_exit(&ring);
	close(dev);
	for (i = 0; i < 600 && (count_regions() || lb_threads()); i++)
		sleep_ms(100);
	EXPECT_EQ(0, count_regions());
	EXPECT_EQ(0, lb_threads());
}

/* ---------------------------------------------------------------------- */
/* Afterwards                                                             */
/* ---------------------------------------------------------------------- */

/* Kernel log lines from the driver since MARKER; -1 if none was found. */
static int driver_log_lines(char *first, size_t len)
{
	char rec[1024];
	int fd, seen = 0, n = 0;
	ssize_t r;

	first[0] = 0;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	for (;;) {
		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (r <= 0)
			break;
		rec[r] = 0;
		if (strstr(rec, MARKER)) {
			seen = 1;
			n = 0;
			continue;
		}
		if (seen && strstr(rec, ";l3l2q: ")) {
			if (!n)
				snprintf(first, len, "%s", strchr(rec, ';') + 1);
			n++;
		}
	}
	close(fd);
	return seen ? n : -1;
}

TEST_F_TIMEOUT(h, z_everything_is_back, 300)
{
	struct snapshot *base = calloc(1, sizeof(*base));
	struct snapshot *now = calloc(1, sizeof(*now));
	unsigned long wait_ms;
	char why[2048], line[256];
	int bad = 1, i;
	FILE *f;

	ASSERT_NE(NULL, base);
	ASSERT_NE(NULL, now);
	f = fopen(BASELINE, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1u, fread(base, sizeof(*base), 1, f));
	ASSERT_EQ(1u, fread(&wait_ms, sizeof(wait_ms), 1, f));
	fclose(f);
	EXPECT_EQ(0, write_param("uring_max_wait_ms", wait_ms));

	EXPECT_EQ(0, count_regions());
	EXPECT_EQ(0, lb_threads());
	EXPECT_EQ(0, dbg_sum("uring_pending"));

	/* Freed objects go back through RCU and work items: let them. */
	for (i = 0; i < 30 && bad; i++) {
		settle();
		ASSERT_EQ(0, snapshot(now));
		bad = compare(base, now, why, sizeof(why));
		if (bad)
			sleep_ms(1000);
	}
	TH_LOG("VmallocUsed %+ld kB, SUnreclaim %+ld kB, KernelStack %+ld kB",
	       now->vmalloc_kb - base->vmalloc_kb,
	       now->sunreclaim_kb - base->sunreclaim_kb,
	       now->kstack_kb - base->kstack_kb);
	EXPECT_EQ(0, bad) {
		TH_LOG("over the tolerance:%s", why);
	}

	EXPECT_EQ(0, driver_log_lines(line, sizeof(line))) {
		TH_LOG("the driver logged, e.g.: %s", line);
	}
	unlink(BASELINE);
	free(base);
	free(now);
}

TEST_HARNESS_MAIN
