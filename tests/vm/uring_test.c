// SPDX-License-Identifier: MIT
/*
 * uring_test - the io_uring WAIT command under load: what one user can
 * make the kernel do is bounded (kmod/l3l2q_uring.c).
 *
 *   - a role has at most uring_max_pending commands pending, one more
 *     completes at once with -EBUSY;
 *   - 10^4 pending commands with staggered deadlines each complete once,
 *     with the right result, never before their deadline;
 *   - a KICK looks at each group of commands that saw the same value of
 *     the same word once, not at each command (debugfs uring_scanned);
 *   - a role whose fds and mappings are all gone is not kept alive by its
 *     own pending WAITs: they complete with -ECANCELED and the peer sees
 *     the death.
 *
 * The checks count work and results, never time: a slow machine takes
 * longer, nothing more.  tools/vm/run.sh fails the run on any lockup, RCU
 * stall or hung-task report in dmesg.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "wait_cmd.h"

#define DEV_PATH	"/dev/l3l2q"
#define MS		1000000ull
#define SEC		1000000000ull
#define NONE		(~0ull)

static void store_ctr(void *ctr, unsigned int off, __s32 v)
{
	__atomic_store_n((__s32 *)((char *)ctr + off), v, __ATOMIC_RELEASE);
}

static void prep_wait(struct io_uring_sqe *sqe, int fd, __u16 counter,
		      __s32 seen, __u64 deadline, __u64 user_data)
{
	struct l3l2q_wait_args a;

	memset(&a, 0, sizeof(a));
	a.counter = counter;
	a.seen = seen;
	a.deadline_ns = deadline;
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = L3L2Q_IOC_WAIT;
	memcpy((char *)sqe + offsetof(struct io_uring_sqe, cmd), &a,
	       sizeof(a));
	sqe->user_data = user_data;
}

/* Submit everything prepared; returns 0 or -errno. */
static int submit_all(struct io_uring *ring)
{
	int ret;

	while (io_uring_sq_ready(ring)) {
		ret = io_uring_submit(ring);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int ring_init(struct io_uring *ring, unsigned int sq, unsigned int cq)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = cq;
	return io_uring_queue_init_params(sq, ring, &p);
}

/*
 * WAIT until @deadline, again after -EINTR: a completion posted to this
 * process's own ring runs as task work, which interrupts a blocking WAIT.
 */
static int do_wait_restart(int fd, __u16 counter, __s32 seen, __u64 deadline)
{
	int ret;

	do
		ret = vm_wait(fd, counter, seen, deadline);
	while (ret == -EINTR);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* A queue with both role fds, the L3 mapping and saved parameters        */
/* ---------------------------------------------------------------------- */

FIXTURE(uq) {
	int dev;
	int l3;
	int l2;
	struct l3l2q_create_args args;
	size_t len;
	void *map;		/* L3's mapping of the region */
	void *ctr;		/* its counter block */
	unsigned long long id;	/* debugfs name */
	unsigned long max_pending;
	unsigned long max_wait_ms;
};

FIXTURE_SETUP(uq)
{
	struct l3l2q_peer_args p;

	self->map = MAP_FAILED;
	self->l3 = -1;
	self->l2 = -1;
	self->dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->dev);
	ASSERT_EQ(0, ensure_debugfs());
	ASSERT_EQ(0, read_param("uring_max_pending", &self->max_pending));
	ASSERT_EQ(0, read_param("uring_max_wait_ms", &self->max_wait_ms));
	/*
	 * 6.1 gives every queued command a deadline of at most
	 * uring_max_wait_ms: long enough here that no command of these
	 * tests meets it, so each result below is the one the test chose.
	 */
	ASSERT_EQ(0, write_param("uring_max_wait_ms", 3600 * 1000));
	memset(&self->args, 0, sizeof(self->args));
	self->args.depth = 8;
	self->args.input_arena_bytes = 4096;
	self->args.output_arena_bytes = 4096;
	self->args.fd = -1;
	ASSERT_EQ(0, ioctl(self->dev, L3L2Q_IOC_CREATE, &self->args));
	self->l3 = self->args.fd;
	memset(&p, 0, sizeof(p));
	p.fd = -1;
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_PEER, &p));
	self->l2 = p.fd;
	self->id = fd_queue_id(self->l3, NULL, 0);
	ASSERT_NE(0ull, self->id);
	self->len = self->args.off.total_bytes;
	self->map = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->l3, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->ctr = (char *)self->map + self->args.off.counter_offset;
}

FIXTURE_TEARDOWN(uq)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->len);
	if (self->l2 >= 0)
		close(self->l2);
	if (self->l3 >= 0)
		close(self->l3);
	if (self->dev >= 0)
		close(self->dev);
	write_param("uring_max_pending", self->max_pending);
	write_param("uring_max_wait_ms", self->max_wait_ms);
}

/* ---------------------------------------------------------------------- */
/* The cap                                                                */
/* ---------------------------------------------------------------------- */

/*
 * uring_max_pending commands of a role may be pending; one more completes
 * at once with -EBUSY and leaves the others alone.  The cap is per role.
 */
TEST_F(uq, pending_cap_per_role_gives_ebusy)
{
	struct io_uring ring;
	int res, i, zero = 0;
	__u64 ud;

	ASSERT_EQ(0, write_param("uring_max_pending", 8));
	ASSERT_EQ(0, ring_init(&ring, 32, 64));
	for (i = 1; i <= 8; i++)
		prep_wait(io_uring_get_sqe(&ring), self->l3,
			  L3L2Q_CTR_OUTPUT_TAIL, 0, NONE, i);
	ASSERT_EQ(0, submit_all(&ring));
	EXPECT_EQ(8, dbg_num(self->id, "uring_pending"));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));

	prep_wait(io_uring_get_sqe(&ring), self->l3, L3L2Q_CTR_INPUT_HEAD, 0,
		  NONE, 9);
	ASSERT_EQ(0, submit_all(&ring));
	ASSERT_EQ(0, vm_get_cqe(&ring, 20000, &res, &ud));
	EXPECT_EQ(9ull, ud);
	EXPECT_EQ(-EBUSY, res);
	EXPECT_EQ(1, dbg_num(self->id, "uring_refused"));
	EXPECT_EQ(8, dbg_num(self->id, "uring_pending"));

	/* The other role has a cap of its own. */
	prep_wait(io_uring_get_sqe(&ring), self->l2, L3L2Q_CTR_INPUT_TAIL, 0,
		  NONE, 10);
	ASSERT_EQ(0, submit_all(&ring));
	EXPECT_EQ(9, dbg_num(self->id, "uring_pending"));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));

	/* Each of the eight completes once when its word moves. */
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
	ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_KICK));
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, vm_get_cqe(&ring, 20000, &res, &ud));
		EXPECT_EQ(0, res);
		EXPECT_TRUE(ud >= 1 && ud <= 8);
		zero |= 1 << ud;
	}
	EXPECT_EQ(0x1fe, zero);
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_TAIL, 1);
	ASSERT_EQ(0, ioctl(self->l3, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, vm_get_cqe(&ring, 20000, &res, &ud));
	EXPECT_EQ(10ull, ud);
	EXPECT_EQ(0, res);
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	io_uring_queue_exit(&ring);
}

/* ---------------------------------------------------------------------- */
/* Many deadlines                                                         */
/* ---------------------------------------------------------------------- */

#define MANY		10000u
#define STEP_NS		(200 * 1000ull)	/* between consecutive deadlines */

/*
 * 10^4 pending commands of one role: the even ones on the output tail with
 * deadlines 200 us apart, in reverse issue order so the tree is not filled
 * in order; the odd ones on the input head without a deadline.  The input
 * head then moves: each odd one completes with 0.  Each even one completes
 * with -ETIMEDOUT, never before its deadline.  Every command completes
 * exactly once.  (Deadlines already past at issue complete at once with
 * the same result; uring_expired says how many the queue expired.)
 */
TEST_F_TIMEOUT(uq, staggered_deadlines_10k_expire_once_each, 600)
{
	struct io_uring ring;
	unsigned char *done;
	unsigned int i, n = 0, timed_out = 0, moved = 0;
	__u64 base, dl, ud, t;
	int res;

	ASSERT_EQ(0, write_param("uring_max_pending", MANY));
	done = calloc(MANY, 1);
	ASSERT_NE(NULL, done);
	ASSERT_EQ(0, ring_init(&ring, 4096, 16384));

	base = vm_now_ns() + 3 * SEC;
	for (i = 0; i < MANY; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		if (!sqe) {
			ASSERT_EQ(0, submit_all(&ring));
			sqe = io_uring_get_sqe(&ring);
			ASSERT_NE(NULL, sqe);
		}
		if (i % 2 == 0)
			prep_wait(sqe, self->l3, L3L2Q_CTR_OUTPUT_TAIL, 0,
				  base + (MANY - i) * STEP_NS, i);
		else
			prep_wait(sqe, self->l3, L3L2Q_CTR_INPUT_HEAD, 0,
				  NONE, i);
	}
	ASSERT_EQ(0, submit_all(&ring));
	TH_LOG("%u commands issued in %llu ms; pending now %lld",
	       MANY, (unsigned long long)(vm_now_ns() - (base - 3 * SEC)) / MS,
	       dbg_num(self->id, "uring_pending"));

	/* The input head moves: every odd one is done. */
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_HEAD, 1);
	ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_KICK));

	while (n < MANY) {
		ASSERT_EQ(0, vm_get_cqe(&ring, 120000, &res, &ud)) {
			TH_LOG("%u of %u completions came", n, MANY);
		}
		t = vm_now_ns();
		ASSERT_LT(ud, (__u64)MANY);
		ASSERT_EQ(0, done[ud]) {
			TH_LOG("command %llu completed twice",
			       (unsigned long long)ud);
		}
		done[ud] = 1;
		n++;
		if (ud % 2) {
			EXPECT_EQ(0, res) {
				TH_LOG("command %llu (no deadline)",
				       (unsigned long long)ud);
			}
			moved++;
			continue;
		}
		dl = base + (MANY - ud) * STEP_NS;
		EXPECT_EQ(-ETIMEDOUT, res) {
			TH_LOG("command %llu", (unsigned long long)ud);
		}
		EXPECT_GE(t, dl) {
			TH_LOG("command %llu completed %llu us before its deadline",
			       (unsigned long long)ud,
			       (unsigned long long)(dl - t) / 1000);
		}
		timed_out++;
	}
	EXPECT_EQ(MANY / 2, moved);
	EXPECT_EQ(MANY / 2, timed_out);
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	/* The queue's own count of what it expired (the rest at issue). */
	EXPECT_LE(0, dbg_num(self->id, "uring_expired"));
	EXPECT_GE(MANY / 2, dbg_num(self->id, "uring_expired"));
	TH_LOG("uring_expired %lld, uring_scanned %lld",
	       dbg_num(self->id, "uring_expired"),
	       dbg_num(self->id, "uring_scanned"));
	free(done);
	io_uring_queue_exit(&ring);
}

/* ---------------------------------------------------------------------- */
/* KICK storms                                                            */
/* ---------------------------------------------------------------------- */

#define STORM_CMDS	4096u
#define STORM_KICKS	10000u

/*
 * 4096 commands pending on the two words the L3 role may wait on, 10^4
 * KICKs that move neither: nothing completes, and each KICK looks at the
 * two groups, not at the 4096 commands.  Then each word moves in turn and
 * exactly its commands complete, once each.
 */
TEST_F_TIMEOUT(uq, kick_storm_looks_at_groups_not_commands, 600)
{
	unsigned int i, n, half = STORM_CMDS / 2;
	long long scanned0, scanned1;
	struct io_uring ring;
	unsigned char *done;
	__u64 ud;
	int res;

	ASSERT_EQ(0, write_param("uring_max_pending", STORM_CMDS));
	done = calloc(STORM_CMDS, 1);
	ASSERT_NE(NULL, done);
	ASSERT_EQ(0, ring_init(&ring, 4096, 8192));
	for (i = 0; i < STORM_CMDS; i++)
		prep_wait(io_uring_get_sqe(&ring), self->l3,
			  i < half ? L3L2Q_CTR_OUTPUT_TAIL :
				     L3L2Q_CTR_INPUT_HEAD, 0, NONE, i);
	ASSERT_EQ(0, submit_all(&ring));
	ASSERT_EQ((long long)STORM_CMDS, dbg_num(self->id, "uring_pending"));

	scanned0 = dbg_num(self->id, "uring_scanned");
	ASSERT_LE(0, scanned0);
	for (i = 0; i < STORM_KICKS; i++)
		ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_KICK));
	scanned1 = dbg_num(self->id, "uring_scanned");
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));
	EXPECT_EQ((long long)STORM_CMDS, dbg_num(self->id, "uring_pending"));
	/* Two groups per KICK; a scan of the commands would be 4096. */
	EXPECT_LE(scanned1 - scanned0, 2ll * STORM_KICKS) {
		TH_LOG("%u KICKs looked at %lld pending commands",
		       STORM_KICKS, scanned1 - scanned0);
	}

	/* The output tail moves: exactly the first half completes. */
	store_ctr(self->ctr, L3L2Q_CTR_OUTPUT_TAIL, 1);
	ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_KICK));
	for (n = 0; n < half; n++) {
		ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
		ASSERT_LT(ud, (__u64)half);
		ASSERT_EQ(0, done[ud]);
		done[ud] = 1;
		EXPECT_EQ(0, res);
	}
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));
	EXPECT_EQ((long long)half, dbg_num(self->id, "uring_pending"));

	/* More storms, then the input head: the rest, once each. */
	for (i = 0; i < STORM_KICKS / 10; i++)
		ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_KICK));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));
	store_ctr(self->ctr, L3L2Q_CTR_INPUT_HEAD, 1);
	ASSERT_EQ(0, ioctl(self->l2, L3L2Q_IOC_KICK));
	for (n = 0; n < half; n++) {
		ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
		ASSERT_GE(ud, (__u64)half);
		ASSERT_LT(ud, (__u64)STORM_CMDS);
		ASSERT_EQ(0, done[ud]);
		done[ud] = 1;
		EXPECT_EQ(0, res);
	}
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));
	free(done);
	io_uring_queue_exit(&ring);
}

/*
 * The peer's death ends thousands of pending commands through the same
 * bounded path: each completes once, -ECONNRESET.
 */
TEST_F_TIMEOUT(uq, peer_death_ends_thousands_once_each, 600)
{
	struct io_uring ring;
	unsigned char *done;
	unsigned int i;
	__u64 ud;
	int res;

	ASSERT_EQ(0, write_param("uring_max_pending", STORM_CMDS));
	done = calloc(STORM_CMDS, 1);
	ASSERT_NE(NULL, done);
	ASSERT_EQ(0, ring_init(&ring, 4096, 8192));
	for (i = 0; i < STORM_CMDS; i++)
		prep_wait(io_uring_get_sqe(&ring), self->l3,
			  L3L2Q_CTR_OUTPUT_TAIL, 0, NONE, i);
	ASSERT_EQ(0, submit_all(&ring));
	ASSERT_EQ((long long)STORM_CMDS, dbg_num(self->id, "uring_pending"));
	close(self->l2);
	self->l2 = -1;
	for (i = 0; i < STORM_CMDS; i++) {
		ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
		ASSERT_LT(ud, (__u64)STORM_CMDS);
		ASSERT_EQ(0, done[ud]);
		done[ud] = 1;
		EXPECT_EQ(-ECONNRESET, res);
	}
	EXPECT_EQ(0, dbg_num(self->id, "uring_pending"));
	free(done);
	io_uring_queue_exit(&ring);
}

/* ---------------------------------------------------------------------- */
/* A WAIT does not keep a role alive that nobody holds                    */
/* ---------------------------------------------------------------------- */

/* A new queue: *l3 and *l2 fds. */
static int new_queue(int dev, int *l3, int *l2)
{
	struct l3l2q_create_args a;
	struct l3l2q_peer_args p;

	memset(&a, 0, sizeof(a));
	a.depth = 8;
	a.input_arena_bytes = 4096;
	a.output_arena_bytes = 4096;
	a.fd = -1;
	if (ioctl(dev, L3L2Q_IOC_CREATE, &a))
		return -errno;
	memset(&p, 0, sizeof(p));
	p.fd = -1;
	if (ioctl(a.fd, L3L2Q_IOC_PEER, &p)) {
		close(a.fd);
		return -errno;
	}
	*l3 = a.fd;
	*l2 = p.fd;
	return (int)a.off.total_bytes;
}

/*
 * The L3 role's last fd closes while one of its io_uring WAITs (no
 * deadline) is pending: the WAIT completes with -ECANCELED, the role dies
 * and the peer sees it.  Before, the command held the role file, and with
 * it the role, for as long as it was pending.
 */
TEST_F_TIMEOUT(uq, last_close_cancels_the_roles_own_waits, 120)
{
	struct io_uring ring;
	int l3, l2, res;
	__u64 ud;

	ASSERT_LT(0, new_queue(self->dev, &l3, &l2));
	ASSERT_EQ(0, ring_init(&ring, 8, 16));
	prep_wait(io_uring_get_sqe(&ring), l3, L3L2Q_CTR_OUTPUT_TAIL, 0, NONE,
		  7);
	ASSERT_EQ(0, submit_all(&ring));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));
	close(l3);
	/* The L2 side's WAIT ends with the death, well before 60 s. */
	EXPECT_EQ(-ECONNRESET, do_wait_restart(l2, L3L2Q_CTR_INPUT_TAIL, 0,
					       vm_now_ns() + 60 * SEC));
	ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
	EXPECT_EQ(7ull, ud);
	EXPECT_EQ(-ECANCELED, res);
	close(l2);
	io_uring_queue_exit(&ring);
}

/*
 * Anything else that holds the role keeps its WAITs pending: a mapping, a
 * second fd.  The last of them to go cancels them.
 */
TEST_F_TIMEOUT(uq, mapping_or_dup_keeps_waits_until_the_last_goes, 120)
{
	struct io_uring ring;
	int l3, l3b, l2, res, len;
	void *m;
	__u64 ud;

	len = new_queue(self->dev, &l3, &l2);
	ASSERT_LT(0, len);
	ASSERT_EQ(0, ring_init(&ring, 8, 16));
	m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, l3, 0);
	ASSERT_NE(MAP_FAILED, m);
	l3b = dup(l3);
	ASSERT_LE(0, l3b);
	prep_wait(io_uring_get_sqe(&ring), l3, L3L2Q_CTR_OUTPUT_TAIL, 0, NONE,
		  1);
	prep_wait(io_uring_get_sqe(&ring), l3, L3L2Q_CTR_INPUT_HEAD, 0, NONE,
		  2);
	ASSERT_EQ(0, submit_all(&ring));

	close(l3);
	EXPECT_EQ(-ETIMEDOUT, vm_wait(l2, L3L2Q_CTR_INPUT_TAIL, 0, 0));
	close(l3b);
	EXPECT_EQ(-ETIMEDOUT, vm_wait(l2, L3L2Q_CTR_INPUT_TAIL, 0, 0));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));
	EXPECT_EQ(L3L2Q_ROLE_LIVE, load_u32(m, L3L2Q_CTRL_L3_STATE));

	munmap(m, (size_t)len);
	EXPECT_EQ(-ECONNRESET, do_wait_restart(l2, L3L2Q_CTR_INPUT_TAIL, 0,
					       vm_now_ns() + 60 * SEC));
	ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
	EXPECT_EQ(-ECANCELED, res);
	ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
	EXPECT_EQ(-ECANCELED, res);
	close(l2);
	io_uring_queue_exit(&ring);
}

/*
 * A WAIT on a registered (fixed) file: the ring holds the file, so closing
 * the fd leaves the role alive and the WAIT pending; it ends normally.
 */
TEST_F_TIMEOUT(uq, registered_file_keeps_the_role, 120)
{
	struct io_uring ring;
	int l3, l2, res, len;
	struct io_uring_sqe *sqe;
	void *m2;
	__u64 ud;

	len = new_queue(self->dev, &l3, &l2);
	ASSERT_LT(0, len);
	m2 = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, l2, 0);
	ASSERT_NE(MAP_FAILED, m2);
	ASSERT_EQ(0, ring_init(&ring, 8, 16));
	ASSERT_EQ(0, io_uring_register_files(&ring, &l3, 1));
	sqe = io_uring_get_sqe(&ring);
	prep_wait(sqe, 0, L3L2Q_CTR_OUTPUT_TAIL, 0, NONE, 5);
	sqe->flags |= IOSQE_FIXED_FILE;
	ASSERT_EQ(0, submit_all(&ring));
	close(l3);
	EXPECT_EQ(-ETIMEDOUT, vm_wait(l2, L3L2Q_CTR_INPUT_TAIL, 0, 0));
	EXPECT_EQ(0, vm_peek_cqe(&ring, &res, &ud));

	store_ctr((char *)m2 + L3L2Q_CTRL_BYTES, L3L2Q_CTR_OUTPUT_TAIL, 1);
	ASSERT_EQ(0, ioctl(l2, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, vm_get_cqe(&ring, 60000, &res, &ud));
	EXPECT_EQ(5ull, ud);
	EXPECT_EQ(0, res);
	io_uring_queue_exit(&ring);
	/* The ring was the last holder. */
	EXPECT_EQ(-ECONNRESET, do_wait_restart(l2, L3L2Q_CTR_INPUT_TAIL, 0,
					       vm_now_ns() + 60 * SEC));
	munmap(m2, (size_t)len);
	close(l2);
}

TEST_HARNESS_MAIN
