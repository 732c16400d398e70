// SPDX-License-Identifier: MIT
/*
 * trace_test - the driver's tracepoints (kmod/l3l2q_trace.h,
 * docs/tracing.md), inside the test VM as root with l3l2q.ko loaded.
 *
 * Each test enables events/l3l2q/ through tracefs (mounting it if /init
 * did not), runs a known sequence on one queue with raw ioctls, turns
 * tracing off and reads the trace buffer back: the events of that queue
 * (its id, from fdinfo) must all be there, with the fields the sequence
 * implies, in the order it made them.  The buffer uses the "global" trace
 * clock, so that events of different CPUs sort by when they happened.
 *
 * Nothing depends on speed: the one WAIT that must sleep is known to be
 * asleep (inside ioctl(2) and in state S: vm_wait_blocked()) before the
 * counter moves, and every wait has a deadline far beyond any delay.
 *
 * liburing 2.3 (bookworm) has no io_uring_prep_uring_cmd(): the SQE is
 * built by hand, as wake_test does.
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
#include <sys/mount.h>
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
#define TFS		"/sys/kernel/tracing"

#define DEPTH		8ull
#define ARENA		4096ull
#define START		5		/* start_pos: counters begin here */

#define SEC		1000000000ull

/* ---------------------------------------------------------------------- */
/* tracefs                                                                */
/* ---------------------------------------------------------------------- */

/* tracefs at TFS, mounted here if it is not; 0 or -1. */
static int ensure_tracefs(void)
{
	if (access(TFS "/events", F_OK) == 0)
		return 0;
	mount("tracefs", TFS, "tracefs", 0, NULL);
	return access(TFS "/events", F_OK);
}

/* Write @s to TFS/@name; 0 or -errno. */
static int tfs_write(const char *name, const char *s)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), TFS "/%s", name);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : 0;
}

/* Tracing off, the buffer empty, the l3l2q events on, tracing on. */
static int trace_start(void)
{
	int ret;

	if (ensure_tracefs())
		return -ENOENT;
	ret = tfs_write("tracing_on", "0");
	if (!ret)
		ret = tfs_write("trace_clock", "global");
	if (!ret)
		ret = tfs_write("trace", "");
	if (!ret)
		ret = tfs_write("events/l3l2q/enable", "1");
	if (!ret)
		ret = tfs_write("tracing_on", "1");
	return ret;
}

static void trace_stop(void)
{
	tfs_write("tracing_on", "0");
	tfs_write("events/l3l2q/enable", "0");
}

/* One l3l2q event of the buffer: its name and its "key=value ..." text. */
struct ev {
	char name[32];
	char text[320];
};

#define MAX_EVS		256

struct evs {
	struct ev ev[MAX_EVS];
	int n;
};

/*
 * The l3l2q events of queue @id in the buffer, in its order.  A line is
 * "<comm>-<pid> [cpu] <flags> <time>: l3l2q_<event>: id=<id> ...".
 */
static int trace_read(unsigned long long id, struct evs *out)
{
	char line[512], want[40], *p, *colon;
	FILE *f;

	out->n = 0;
	f = fopen(TFS "/trace", "r");
	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "id=%llu ", id);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		p = strstr(line, ": l3l2q_");
		if (!p)
			continue;
		p += 2;
		colon = strchr(p, ':');
		if (!colon || strncmp(colon + 2, want, strlen(want)))
			continue;
		if (out->n == MAX_EVS)
			break;
		*colon = 0;
		snprintf(out->ev[out->n].name, sizeof(out->ev[0].name), "%s", p);
		snprintf(out->ev[out->n].text, sizeof(out->ev[0].text), " %s",
			 colon + 2);
		out->n++;
	}
	fclose(f);
	return 0;
}

/* Does @e's text hold every "key=value" of the space-separated @fields? */
static int ev_has(const struct ev *e, const char *fields)
{
	char buf[256], *tok, *save = NULL, pat[96];

	snprintf(buf, sizeof(buf), "%s", fields);
	for (tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		/* Whole fields only: " key=value" then a space or the end. */
		snprintf(pat, sizeof(pat), " %s", tok);
		const char *at = strstr(e->text, pat);

		if (!at)
			return 0;
		at += strlen(pat);
		if (*at != ' ' && *at != '\n' && *at)
			return 0;
	}
	return 1;
}

/* The number after "key=" in @e, or LLONG_MIN. */
static long long ev_num(const struct ev *e, const char *key)
{
	char pat[48];
	const char *at;

	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(e->text, pat);
	if (!at)
		return -(1ll << 62);
	return strtoll(at + strlen(pat), NULL, 0);
}

/* The first event at or after @from named @name with @fields; -1 if none. */
static int find_ev(const struct evs *t, int from, const char *name,
		   const char *fields)
{
	int i;

	for (i = from < 0 ? 0 : from; i < t->n; i++)
		if (!strcmp(t->ev[i].name, name) && ev_has(&t->ev[i], fields))
			return i;
	return -1;
}

static void dump_evs(const struct evs *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		fprintf(stderr, "#   %d %s:%s", i, t->ev[i].name,
			t->ev[i].text);
}

/* ---------------------------------------------------------------------- */
/* The queue                                                              */
/* ---------------------------------------------------------------------- */

static void store_u32(void *map, size_t off, __u32 v)
{
	__atomic_store_n((__u32 *)((char *)map + off), v, __ATOMIC_SEQ_CST);
}

/* The next CQE's res within 30 s; -ETIME if none came. */
static int get_res(struct io_uring *ring, int *res)
{
	struct __kernel_timespec ts = { .tv_sec = 30 };
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

FIXTURE(tq) {
	struct vm_roles r;
	struct l3l2q_create_args args;
	unsigned long long id;
};

/* A queue (depth 8, 4 KiB arenas, counters from START) and its L3 fd. */
static int tq_create(struct __test_metadata *_metadata,
		     FIXTURE_DATA(tq) *self, __u32 flags)
{
	memset(&self->args, 0, sizeof(self->args));
	self->args.kind = L3L2Q_KIND_QUEUE;
	self->args.depth = DEPTH;
	self->args.input_arena_bytes = ARENA;
	self->args.output_arena_bytes = ARENA;
	self->args.start_pos = START;
	self->args.flags = flags;
	self->args.fd = -1;
	if (ioctl(self->r.dev, L3L2Q_IOC_CREATE, &self->args))
		return -errno;
	self->r.l3 = self->args.fd;
	self->id = fd_queue_id(self->r.l3, NULL, 0);
	return self->id ? 0 : -EIO;
}

FIXTURE_SETUP(tq)
{
	vm_roles_init(&self->r);
	self->r.dev = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->r.dev) TH_LOG(DEV_PATH ": %s", strerror(errno));
	ASSERT_EQ(0, trace_start()) TH_LOG("tracefs at " TFS);
}

FIXTURE_TEARDOWN(tq)
{
	trace_stop();
	vm_roles_close(&self->r);
}

/* The events exist where docs/tracing.md says, each with its format. */
TEST(events_in_tracefs)
{
	static const char *const names[] = {
		"l3l2q_create", "l3l2q_attach", "l3l2q_role_death",
		"l3l2q_wait_begin", "l3l2q_wait_end", "l3l2q_kick",
		"l3l2q_uring_complete",
	};
	char path[160];
	unsigned int i;

	ASSERT_EQ(0, ensure_tracefs());
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), TFS "/events/l3l2q/%s/format",
			 names[i]);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("%s", path);
	}
}

/*
 * The round trip: create, PEER, a WAIT that only checks, a WAIT that
 * sleeps until the L3 publishes and kicks, the L2's kick back, an
 * io_uring WAIT completed by that kick and one completed at issue, then
 * the L2 role closed and the L3 role closed.
 */
TEST_F_TIMEOUT(tq, round_trip, 120)
{
	struct io_uring ring;
	struct evs *t;
	int status, res, i, b, e, k3, k2, u, d2, d3;

	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, tq_create(_metadata, self, 0));
	ASSERT_EQ(0, vm_roles_peer_map(&self->r, self->args.off.total_bytes));
	char *ctr = (char *)self->r.map + self->args.off.counter_offset;
	char *ctrl = (char *)self->r.map + self->args.off.ctrl_offset;

	/*
	 * Both roles say they kick, so the driver polls for neither: every
	 * wake-up below is the kick's, and comes after it.
	 */
	store_u32(ctrl, L3L2Q_CTRL_L3_FEATURES, L3L2Q_FEAT_KICKS);
	store_u32(ctrl, L3L2Q_CTRL_L2_FEATURES, L3L2Q_FEAT_KICKS);

	/* A check-only WAIT: nothing published, deadline 0. */
	ASSERT_EQ(-ETIMEDOUT, vm_wait(self->r.l2, L3L2Q_CTR_INPUT_TAIL, START,
				      0));

	/* The L2 sleeps for input (its bit armed, as W1 does). */
	store_u32(ctrl, L3L2Q_CTRL_L2_WAKE,
		  (1u << L3L2Q_WAKE_ARM_SHIFT) | L3L2Q_WAKE_INPUT_AVAIL);
	self->r.child = fork();
	ASSERT_LE(0, self->r.child);
	if (self->r.child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(-vm_wait(self->r.l2, L3L2Q_CTR_INPUT_TAIL, START,
			       vm_now_ns() + 60 * SEC));
	}
	/* Asleep in the WAIT: inside ioctl(2) and in state S. */
	ASSERT_TRUE(vm_wait_blocked(self->r.child, SYS_ioctl));

	/* The L3 sends: one input published, then its kick. */
	store_u32(ctr, L3L2Q_CTR_INPUT_TAIL, START + 1);
	ASSERT_EQ(0, ioctl(self->r.l3, L3L2Q_IOC_KICK));
	ASSERT_EQ(self->r.child, waitpid(self->r.child, &status, 0));
	self->r.child = -1;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	store_u32(ctrl, L3L2Q_CTRL_L2_WAKE, 1u << L3L2Q_WAKE_ARM_SHIFT);

	/* The L3 waits for output in io_uring; the L2 answers and kicks. */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(1, vm_submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL,
				 START, vm_now_ns() + 60 * SEC, 0));
	store_u32(ctr, L3L2Q_CTR_INPUT_HEAD, START + 1);	/* received */
	store_u32(ctr, L3L2Q_CTR_OUTPUT_TAIL, START + 1);	/* answered */
	ASSERT_EQ(0, ioctl(self->r.l2, L3L2Q_IOC_KICK));
	ASSERT_EQ(0, get_res(&ring, &res));
	ASSERT_EQ(0, res);
	/* Known at issue: the output tail moved already. */
	ASSERT_EQ(1, vm_submit_wait(&ring, self->r.l3, L3L2Q_CTR_OUTPUT_TAIL,
				 START, vm_now_ns() + 60 * SEC, 0));
	ASSERT_EQ(0, get_res(&ring, &res));
	ASSERT_EQ(0, res);
	io_uring_queue_exit(&ring);

	/* The L2 role goes, then the L3 role. */
	close(self->r.l2);
	self->r.l2 = -1;
	munmap(self->r.map, self->r.len);
	self->r.map = MAP_FAILED;
	close(self->r.l3);
	self->r.l3 = -1;

	tfs_write("tracing_on", "0");
	ASSERT_EQ(0, trace_read(self->id, t));

	i = find_ev(t, 0, "l3l2q_create",
		    "kind=queue depth=8 in_bytes=4096 out_bytes=4096 backend=host flags=0x0");
	EXPECT_EQ(0, i);
	i = find_ev(t, i, "l3l2q_attach", "role=l3 by=file");
	EXPECT_LT(0, i);
	i = find_ev(t, i, "l3l2q_attach", "role=l2 by=file");
	EXPECT_LT(0, i);

	/* The check-only WAIT. */
	b = find_ev(t, i, "l3l2q_wait_begin",
		    "role=l2 counter=input_tail bit=INPUT_AVAIL seen=5 deadline_ns=0 via=ioctl");
	EXPECT_LT(i, b);
	e = find_ev(t, b, "l3l2q_wait_end",
		    "role=l2 counter=input_tail seen=5 now=5 sleeps=0 result=-110");
	EXPECT_LT(b, e);

	/* The sleeping WAIT, ended by the L3's kick. */
	b = find_ev(t, e, "l3l2q_wait_begin",
		    "role=l2 counter=input_tail bit=INPUT_AVAIL seen=5 via=ioctl");
	EXPECT_LT(e, b);
	k3 = find_ev(t, b, "l3l2q_kick",
		     "role=l3 peer_wake=INPUT_AVAIL doorbell=0");
	EXPECT_LT(b, k3);
	e = find_ev(t, k3, "l3l2q_wait_end",
		    "role=l2 counter=input_tail seen=5 now=6 result=0");
	EXPECT_LT(k3, e);
	if (e >= 0)
		EXPECT_LE(1, ev_num(&t->ev[e], "sleeps"));

	/* The io_uring WAIT, queued, then completed by the L2's kick. */
	b = find_ev(t, e, "l3l2q_wait_begin",
		    "role=l3 counter=output_tail bit=OUTPUT_AVAIL seen=5 via=uring");
	EXPECT_LT(e, b);
	k2 = find_ev(t, b, "l3l2q_kick", "role=l2 doorbell=0");
	EXPECT_LT(b, k2);
	u = find_ev(t, k2, "l3l2q_uring_complete",
		    "role=l3 counter=output_tail seen=5 result=0 queued=1");
	EXPECT_LT(k2, u);
	/* And the one known at issue. */
	b = find_ev(t, u, "l3l2q_wait_begin", "role=l3 via=uring");
	EXPECT_LT(u, b);
	u = find_ev(t, b, "l3l2q_uring_complete",
		    "role=l3 counter=output_tail result=0 queued=0");
	EXPECT_LT(b, u);

	/* The deaths, each once, in the order the roles went. */
	d2 = find_ev(t, 0, "l3l2q_role_death",
		     "role=l2 reason=release abort=1");
	d3 = find_ev(t, 0, "l3l2q_role_death",
		     "role=l3 reason=release abort=1");
	EXPECT_LT(u, d2);
	EXPECT_LT(d2, d3);
	EXPECT_EQ(-1, find_ev(t, d2 + 1, "l3l2q_role_death", "role=l2"));
	EXPECT_EQ(d3, t->n - 1);
	dump_evs(t);
	free(t);
}

/* The loopback peer: its attach, and its end once the L3 role is gone. */
TEST_F_TIMEOUT(tq, loopback, 120)
{
	struct evs *t;
	int c, a3, a2, d3, d2;

	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, tq_create(_metadata, self, L3L2Q_CREATE_LOOPBACK));
	/* The release waits for the peer: both deaths are traced by now. */
	close(self->r.l3);
	self->r.l3 = -1;

	tfs_write("tracing_on", "0");
	ASSERT_EQ(0, trace_read(self->id, t));
	c = find_ev(t, 0, "l3l2q_create", "kind=queue depth=8 flags=0x1");
	EXPECT_EQ(0, c);
	a3 = find_ev(t, c, "l3l2q_attach", "role=l3 by=file");
	a2 = find_ev(t, c, "l3l2q_attach", "role=l2 by=loopback");
	EXPECT_LT(c, a3);
	EXPECT_LT(a3, a2);
	d3 = find_ev(t, a2, "l3l2q_role_death",
		     "role=l3 reason=release abort=1");
	EXPECT_LT(a2, d3);
	d2 = find_ev(t, d3, "l3l2q_role_death", "role=l2 reason=peer_exit");
	EXPECT_LT(d3, d2);
	dump_evs(t);
	free(t);
}

TEST_HARNESS_MAIN
