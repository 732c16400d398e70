// SPDX-License-Identifier: MIT
/*
 * l3l2q-devsim, driven from here as the L3 over a memfd queue: attaching
 * by an inherited fd and over a unix socket, out-of-order completion with
 * every result exactly once, the STOP drain, ERROR answers to malformed
 * tasks, exit on L3 death, and a long stream of random sizes.
 *
 * devsim is build/tools/l3l2q-devsim (or $L3L2Q_DEVSIM), an ordinary
 * binary even when this suite runs under ASan.  No test asserts a timing.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define DC_BACKEND	L3L2Q_BACKEND_MEMFD

#include "kselftest_harness.h"
#include "devsim_client.h"

FIXTURE(devsim) {
	struct l3l2q_queue *q;
	struct l3l2q_l3 *l3;
	pid_t child;
	char dir[64];
	char sock[128];
	struct dc_stream s;
};

FIXTURE_SETUP(devsim)
{
	self->child = -1;
	ASSERT_EQ(0, dc_tmpdir(self->dir, sizeof(self->dir), self->sock,
			       sizeof(self->sock)));
	self->q = dc_make_queue(DC_BACKEND, 64, 1 << 16);
	ASSERT_NE(NULL, self->q);
	self->l3 = l3l2q_queue_l3(self->q);
}

FIXTURE_TEARDOWN(devsim)
{
	dc_cleanup(self->child, self->q, &self->s, self->sock, self->dir);
}

TEST_F_TIMEOUT(devsim, inherited_fd_attach_streams, 900)
{
	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 500, 1000));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_EQ(16ull, self->s.stats.window);
	EXPECT_EQ(4ull, self->s.stats.workers);
}

/* devsim connects to a unix socket and receives the L2 fd over it. */
TEST_F_TIMEOUT(devsim, unix_socket_attach_streams, 900)
{
	int ls, c, fd;

	ls = dc_listen(self->sock);
	ASSERT_LE(0, ls);
	self->child = dc_spawn(-1, "--socket", self->sock, "--inflight", "8",
			       NULL, NULL);
	ASSERT_LT(0, self->child);
	c = accept(ls, NULL, NULL);
	ASSERT_LE(0, c);
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, l3l2q_send_fd(c, fd));
	close(fd);
	close(c);
	close(ls);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 500, 1000));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_EQ(8ull, self->s.stats.window);
}

/* Earlier tasks work longer: they must complete after later ones. */

TEST_F_TIMEOUT(devsim, completes_out_of_order_each_result_once, 900)
{
	__u64 i;

	self->child = dc_spawn_peer(self->q, 8, 8);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 8, 256));
	self->s.work = decreasing_work;
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	/* Arrival order differs from submission order... */
	EXPECT_LT(0ull, dc_inversions(&self->s));
	EXPECT_LT(0ull, self->s.stats.out_of_order);
	/* ...yet every id came exactly once (EXPECT_CLEAN_RUN: no dup). */
	for (i = 0; i < 8; i++)
		EXPECT_EQ(1, self->s.seen[i]);
	for (i = 0; i < 8; i++)
		TH_LOG("arrival %llu: id %llu", (unsigned long long)i,
		       (unsigned long long)self->s.order[i]);
}

/*
 * STOP while tasks are in flight: devsim finishes them, publishes every
 * result and its STATS, and only then exits 0.  The results are read
 * after it exited, so none can come later.
 */

TEST_F_TIMEOUT(devsim, stop_drains_every_result_before_exit, 900)
{
	struct dc_stream *s = &self->s;
	int ret;

	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(s, self->l3, 40, 512));
	s->work = some_work;
	/* 40 results + STATS fit the 64-deep output ring: nothing blocks. */
	while (s->sent < s->count || !s->stop_sent) {
		ret = dc_send_step(s);
		ASSERT_LE(0, ret) TH_LOG("%s", s->fail);
		if (!ret)
			usleep(1000);
	}
	ASSERT_EQ(0, dc_wait_exit(self->child, 600));
	self->child = -1;
	while ((ret = dc_recv_step(s)) == 1)
		;
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", s->fail, strerror(-s->fail_ret));
	EXPECT_EQ(40ull, s->got);
	EXPECT_EQ(0ull, s->wrong);
	EXPECT_EQ(0ull, s->dup);
	EXPECT_EQ(1, s->stats_seen);
	EXPECT_EQ(40ull, s->stats.tasks);
	/* devsim released STOP too: the input head is past all 41 inputs. */
	EXPECT_EQ(l3l2q_low32(41),
		  __atomic_load_n((__s32 *)((char *)l3l2q_queue_mem(self->q)->counters +
					    L3L2Q_CTR_INPUT_HEAD), __ATOMIC_ACQUIRE));
}

/* ---- malformed tasks ---- */

struct bad_case {
	const char *name;
	const char *field;	/* the reason must name it */
	__u64 id;		/* expected id in the ERROR, or ~0 */
};

/* Build malformed input @i into @buf; returns its opcode, *n its size. */
static __u64 make_bad(unsigned int i, unsigned char *buf, __u64 *n)
{
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC, .version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_TASK, .op = L3L2Q_TASK_OP_UPPER,
		.id = 1000 + i, .payload_bytes = 16,
	};
	__u64 opcode = L3L2Q_OP_DATA;

	*n = L3L2Q_TASK_HDR_BYTES + 16;
	switch (i) {
	case 0: *n = 10; break;				/* too short */
	case 1: h.magic = 0xdeadbeef; break;
	case 2: h.version = 7; break;
	case 3: h.kind = L3L2Q_TASK_KIND_RESULT; break;
	case 4: h.payload_bytes = 17; break;		/* length mismatch */
	case 5: h.op = 99; break;
	case 6: opcode = L3L2Q_OP_ERROR; break;
	case 7: h.resv = 1; break;
	case 8: h.work_ns = ~0ull; break;
	case 9: *n = 0; break;				/* empty */
	}
	memset(buf, 'x', sizeof(h) + 16);
	if (*n >= sizeof(h))
		l3l2q_task_store(buf, &h);
	return opcode;
}

static const struct bad_case bad_cases[] = {
	{ "short", "payload", L3L2Q_TASK_ID_NONE },
	{ "magic", "magic", L3L2Q_TASK_ID_NONE },
	{ "version", "version", 1002 },
	{ "kind", "kind", 1003 },
	{ "length", "payload_bytes", 1004 },
	{ "op", "op", 1005 },
	{ "error opcode", "opcode", 1006 },
	{ "resv", "resv", 1007 },
	{ "work", "work_ns", 1008 },
	{ "empty", "payload", L3L2Q_TASK_ID_NONE },
};

#define NBAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

TEST_F_TIMEOUT(devsim, malformed_task_gets_error_later_tasks_succeed, 900)
{
	struct dc_stream *s = &self->s;
	unsigned char buf[256];
	struct l3l2q_task_hdr h;
	struct l3l2q_msg m;
	unsigned int i;
	__u64 n, op, id;

	self->child = dc_spawn_peer(self->q, 4, 2);
	ASSERT_LT(0, self->child);
	/* Each bad input alone, answered before the next one is sent. */
	for (i = 0; i < NBAD; i++) {
		op = make_bad(i, buf, &n);
		ASSERT_EQ(0, l3l2q_l3_enqueue(self->l3, op, n ? buf : NULL, n,
					      l3l2q_deadline_in(300 * SEC)));
		ASSERT_EQ(0, l3l2q_l3_peek(self->l3, l3l2q_deadline_in(300 * SEC),
					   &m)) TH_LOG("case %s", bad_cases[i].name);
		EXPECT_EQ(L3L2Q_OP_ERROR, m.opcode) TH_LOG("case %s",
							   bad_cases[i].name);
		ASSERT_LE(L3L2Q_TASK_HDR_BYTES, m.nbytes);
		l3l2q_task_load(&h, m.data);
		id = h.id;
		EXPECT_EQ(L3L2Q_TASK_KIND_ERROR, h.kind);
		EXPECT_EQ(m.nbytes - L3L2Q_TASK_HDR_BYTES, h.payload_bytes);
		n = m.nbytes - L3L2Q_TASK_HDR_BYTES;
		if (n > sizeof(buf) - 1)
			n = sizeof(buf) - 1;
		memcpy(buf, (const char *)m.data + L3L2Q_TASK_HDR_BYTES, n);
		buf[n] = 0;
		/* The reason starts with the field's name. */
		EXPECT_EQ(0, strncmp((char *)buf, bad_cases[i].field,
				     strlen(bad_cases[i].field)))
			TH_LOG("case %s: reason '%s'", bad_cases[i].name, buf);
		EXPECT_EQ(':', buf[strlen(bad_cases[i].field)])
			TH_LOG("case %s: reason '%s'", bad_cases[i].name, buf);
		EXPECT_EQ(bad_cases[i].id, id) TH_LOG("case %s", bad_cases[i].name);
		ASSERT_EQ(0, l3l2q_l3_release(self->l3, &m));
	}
	/* devsim is still running: a normal stream goes through. */
	ASSERT_EQ(0, dc_stream_init(s, self->l3, 200, 300));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_EQ(NBAD, s->stats.errors);
}

/* Garbage of every size never crashes it; each gets an ERROR. */
TEST_F_TIMEOUT(devsim, random_garbage_gets_errors_not_a_crash, 900)
{
	struct dc_stream *s = &self->s;
	unsigned char buf[200];
	__u64 i, j, w = 0, errors = 0;
	struct l3l2q_msg m;
	int ret;

	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	for (i = 0; i < 300; i++) {
		for (j = 0; j < sizeof(buf); j++) {
			if (j % 8 == 0)
				w = l3l2q_task_mix(i << 16 | j);
			buf[j] = (unsigned char)(w >> (8 * (j % 8)));
		}
		/* Half of them keep a valid magic to get past the first check. */
		if (i % 2)
			memcpy(buf, "L3TK", 4);
		ASSERT_EQ(0, l3l2q_l3_enqueue(self->l3, L3L2Q_OP_DATA, buf,
					      l3l2q_task_mix(i) % sizeof(buf) + 1,
					      l3l2q_deadline_in(300 * SEC)));
		while ((ret = l3l2q_l3_try_peek(self->l3, &m)) == 0) {
			errors += m.opcode == L3L2Q_OP_ERROR;
			ASSERT_EQ(0, l3l2q_l3_release(self->l3, &m));
		}
		ASSERT_EQ(-EAGAIN, ret);
	}
	while (errors < 300) {
		ASSERT_EQ(0, l3l2q_l3_peek(self->l3, l3l2q_deadline_in(300 * SEC),
					   &m)) TH_LOG("after %llu errors",
						       (unsigned long long)errors);
		errors += m.opcode == L3L2Q_OP_ERROR;
		ASSERT_EQ(0, l3l2q_l3_release(self->l3, &m));
	}
	EXPECT_EQ(300ull, errors);
	ASSERT_EQ(0, dc_stream_init(s, self->l3, 100, 300));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 100);
	EXPECT_EQ(300ull, s->stats.errors);
}

/* ---- the L3 going away ---- */

TEST_F_TIMEOUT(devsim, exits_3_when_l3_destroys_the_queue, 900)
{
	struct dc_stream *s = &self->s;

	self->child = dc_spawn_peer(self->q, 16, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(s, self->l3, 50, 200));
	s->send_stop = 0;
	ASSERT_EQ(0, dc_stream_run(s, l3l2q_deadline_in(100 * SEC)))
		TH_LOG("%s", s->fail);
	EXPECT_EQ(50ull, s->got);
	l3l2q_destroy(self->q);	/* no STOP */
	self->q = NULL;
	EXPECT_EQ(3, dc_wait_exit(self->child, 600));
	self->child = -1;
}

/*
 * A killed L3 (SIGKILL, no chance to say so): an intermediate process
 * owns the queue and starts devsim, then dies; this process reaps devsim
 * as the subreaper.
 */
TEST_F_TIMEOUT(devsim, exits_3_when_l3_is_killed, 900)
{
	int pfd[2], status;
	pid_t mid, dev = -1;

	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	mid = fork();
	ASSERT_LE(0, mid);
	if (mid == 0) {
		struct l3l2q_queue *q = dc_make_queue(DC_BACKEND, 16, 4096);
		struct dc_stream s;

		if (!q)
			_exit(10);
		dev = dc_spawn_peer(q, 4, 2);
		if (dev < 0 || write(pfd[1], &dev, sizeof(dev)) != sizeof(dev))
			_exit(11);
		/* Make sure it attached and works before dying. */
		if (dc_stream_init(&s, l3l2q_queue_l3(q), 10, 100))
			_exit(12);
		s.send_stop = 0;
		if (dc_stream_run(&s, l3l2q_deadline_in(60 * SEC)))
			_exit(13);
		raise(SIGKILL);
	}
	close(pfd[1]);
	ASSERT_EQ((ssize_t)sizeof(dev), read(pfd[0], &dev, sizeof(dev)));
	close(pfd[0]);
	self->child = dev;	/* the teardown kills it if it hangs */
	ASSERT_EQ(mid, waitpid(mid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status)) TH_LOG("status %d", status);
	EXPECT_EQ(3, dc_wait_exit(dev, 600));
	self->child = -1;
}

/* ---- long stream ---- */

TEST_F_TIMEOUT(devsim, stream_1e4_tasks_random_sizes, 900)
{
	self->child = dc_spawn_peer(self->q, 32, 4);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, dc_stream_init(&self->s, self->l3, 10000, 4000));
	DC_EXPECT_CLEAN_RUN(self->s, self->child, 250);
}

/* ---- options ---- */

TEST_F_TIMEOUT(devsim, bad_options_are_refused, 900)
{
	pid_t pid;
	int fd;

	pid = dc_spawn(-1, "--fd", "x", NULL, NULL, NULL, NULL);
	EXPECT_EQ(2, dc_wait_exit(pid, 600));
	pid = dc_spawn(-1, "--fd", "3", "--inflight", "0", NULL, NULL);
	EXPECT_EQ(2, dc_wait_exit(pid, 600));
	pid = dc_spawn(-1, "--fd", "3", "--socket", self->sock, NULL, NULL);
	EXPECT_EQ(2, dc_wait_exit(pid, 600));
	pid = dc_spawn(-1, "--socket", self->sock, NULL, NULL, NULL, NULL);
	EXPECT_EQ(1, dc_wait_exit(pid, 600));	/* nobody listens */
	/* A window deeper than the queue is refused by attach. */
	fd = l3l2q_peer_fd(self->q);
	ASSERT_LE(0, fd);
	pid = dc_spawn_fd(fd, 128, 1);
	close(fd);
	EXPECT_EQ(1, dc_wait_exit(pid, 600));
}

/* The README's main command, small, on the host: l3l2q-demo exits 0. */
TEST_F_TIMEOUT(devsim, demo_runs_clean_over_memfd, 900)
{
	EXPECT_EQ(0, dc_run_demo("memfd", "5000", 800));
}

/*
 * --external: the L2 is a device, so a queue whose L2 fd is handed out
 * (no device behind it) is refused (exit 2), and a missing L3L2Q_DEVICE
 * node is an error naming it (exit 1); nothing is started either way.
 */
static int run_external(const char *device, const char *backend)
{
	char demo[PATH_MAX];
	int status;
	pid_t pid;

	dc_tool_path(demo, sizeof(demo), "l3l2q-demo", "L3L2Q_DEMO");
	pid = fork();
	if (pid == 0) {
		if (device)
			setenv("L3L2Q_DEVICE", device, 1);
		execlp(demo, "l3l2q-demo", "--external", "--count", "10",
		       backend ? "--backend" : NULL, backend, (char *)NULL);
		_exit(127);
	}
	status = dc_wait_exit(pid, 60);
	return status;
}

TEST_F_TIMEOUT(devsim, demo_external_wants_a_device, 120)
{
	EXPECT_EQ(2, run_external(NULL, "memfd"));
	EXPECT_EQ(1, run_external("/nonexistent/l3l2q9", NULL));
}

TEST_HARNESS_MAIN
