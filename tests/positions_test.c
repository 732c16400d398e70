// SPDX-License-Identifier: MIT
/*
 * The first position of a queue (start_pos) is bounded (issue 12, item 5,
 * a fuzz finding): positions are u64 and compared as such, so a queue must
 * never reach 2^64.  Every way in refuses a start_pos above
 * L3L2Q_START_POS_MAX with -EINVAL and a message naming it -- create, the
 * core's init of either role, region_init, and attach (from the
 * L3-written memfd header) -- and a queue that starts at the bound streams
 * normally, its 32-bit counters wrapping as everywhere else.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "helpers.h"
#include "libl3l2q.h"
#include "streamer.h"

#define SEC	1000000000ull

/* 2^64 - 1 and its neighbours, and the first value above the bound. */
static const __u64 bad_pos[] = {
	~0ull, ~0ull - 1, ~0ull - 15, ~0ull - 64, 1ull << 63,
	L3L2Q_START_POS_MAX + 1,
};

#define N_BAD	(sizeof(bad_pos) / sizeof(bad_pos[0]))

static struct l3l2q_params params(__u64 start_pos)
{
	struct l3l2q_params p = {
		.depth = 8, .input_arena_bytes = 1024,
		.output_arena_bytes = 1024, .backend = L3L2Q_BACKEND_MEMFD,
		.start_pos = start_pos,
	};

	return p;
}

TEST(create_refuses_start_pos_above_the_bound)
{
	struct l3l2q_params p;
	struct l3l2q_queue *q;
	struct l3l2q_error err;
	unsigned int i;

	for (i = 0; i < N_BAD; i++) {
		p = params(bad_pos[i]);
		q = (struct l3l2q_queue *)1;
		memset(&err, 0, sizeof(err));
		EXPECT_EQ(-EINVAL, l3l2q_create(&p, &q, &err))
			TH_LOG("start_pos %#llx", (unsigned long long)bad_pos[i]);
		EXPECT_EQ(NULL, q);
		EXPECT_NE(NULL, strstr(err.message, "start_pos"))
			TH_LOG("message: %s", err.message);
	}
	p = params(L3L2Q_START_POS_MAX);
	ASSERT_EQ(0, l3l2q_create(&p, &q, &err)) TH_LOG("%s", err.message);
	l3l2q_destroy(q);
}

TEST(core_init_refuses_start_pos_above_the_bound)
{
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	unsigned int i;

	ASSERT_EQ(0, th_region_alloc(&r, 8, 1024, 1024, 0));
	for (i = 0; i < N_BAD; i++) {
		EXPECT_EQ(-EINVAL, l3l2q_l3_init(&l3, &r.mem, &r.layout,
						  bad_pos[i], NULL));
		EXPECT_NE(NULL, strstr(l3l2q_ep_last_error(&l3.ep)->message,
				       "start_pos"));
		EXPECT_EQ(L3L2Q_STATE_RELEASED, l3l2q_ep_state(&l3.ep));
		EXPECT_EQ(-EINVAL, l3l2q_l2_init(&l2, &r.mem, &r.layout,
						  bad_pos[i], 1, NULL));
		EXPECT_NE(NULL, strstr(l3l2q_ep_last_error(&l2.ep)->message,
				       "start_pos"));
		EXPECT_EQ(-EINVAL, l3l2q_region_init(&r.mem, &r.layout,
						     bad_pos[i], 0));
	}
	/* Nothing was written by the refused region_init: still position 0. */
	EXPECT_EQ(0, th_ctr(&r, L3L2Q_CTR_INPUT_TAIL));
	EXPECT_EQ(0, l3l2q_region_init(&r.mem, &r.layout, L3L2Q_START_POS_MAX,
				       0));
	EXPECT_EQ(0, l3l2q_l3_init(&l3, &r.mem, &r.layout, L3L2Q_START_POS_MAX,
				   NULL));
	EXPECT_EQ(0, l3l2q_l2_init(&l2, &r.mem, &r.layout, L3L2Q_START_POS_MAX,
				   1, NULL));
	th_region_free(&r);
}

/* The L2 refuses a header whose start_pos the L3 (or anyone) set too high. */
TEST(attach_refuses_a_header_start_pos_above_the_bound)
{
	struct l3l2q_params p = params(0);
	struct l3l2q_queue *q, *q2 = NULL;
	struct l3l2q_ctrl_hdr *h;
	struct l3l2q_error err;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, l3l2q_create(&p, &q, &err));
	fd = l3l2q_peer_fd(q);
	ASSERT_LE(0, fd);
	h = l3l2q_queue_mem(q)->ctrl;
	for (i = 0; i < N_BAD; i++) {
		h->start_pos = bad_pos[i];
		memset(&err, 0, sizeof(err));
		EXPECT_EQ(-EINVAL, l3l2q_attach(fd, NULL, &q2, &err));
		EXPECT_EQ(NULL, q2);
		EXPECT_NE(NULL, strstr(err.message, "start_pos"))
			TH_LOG("message: %s", err.message);
	}
	/* Refused before the role was claimed: a right header still works. */
	h->start_pos = 0;
	EXPECT_EQ(0, l3l2q_attach(fd, NULL, &q2, &err)) TH_LOG("%s", err.message);
	l3l2q_destroy(q2);
	close(fd);
	l3l2q_destroy(q);
}

/*
 * One thread plays both roles through the core, from the bound on: 16
 * times the depth of messages each way, all intact, the counters carrying
 * the low 32 bits of the u64 positions.
 */
TEST(core_streams_from_the_bound)
{
	struct streamer s = { .total = 128, .in_max = 100, .out_max = 100 };
	const __u64 starts[] = { L3L2Q_START_POS_MAX, L3L2Q_START_POS_MAX - 1,
				 L3L2Q_START_POS_MAX - 3 };
	unsigned char buf[100];
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	unsigned int i, rounds;
	int a, b, c, d;

	for (i = 0; i < 3; i++) {
		memset(&s, 0, sizeof(s));
		s.total = 128;
		s.in_max = s.out_max = 100;
		s.buf = buf;
		ASSERT_EQ(0, th_region_alloc(&r, 8, 1024, 1024, starts[i]));
		ASSERT_EQ(0, l3l2q_l3_init(&l3, &r.mem, &r.layout, starts[i],
					   NULL));
		ASSERT_EQ(0, l3l2q_l2_init(&l2, &r.mem, &r.layout, starts[i],
					   1, NULL));
		s.l3 = &l3;
		s.l2 = &l2;
		for (rounds = 0; rounds < 100000 &&
		     !(l3_done(&s) && l2_done(&s)); rounds++) {
			a = l3_send_step(&s);
			b = l2_recv_step(&s);
			c = l2_send_step(&s);
			d = l3_recv_step(&s);
			ASSERT_LE(0, a | b | c | d)
				TH_LOG("%s at %llu", s.fail,
				       (unsigned long long)s.fail_at);
		}
		EXPECT_TRUE(l3_done(&s) && l2_done(&s));
		EXPECT_EQ(128ull, s.got_out);
		EXPECT_EQ(l3l2q_low32(starts[i] + 129),
			  th_ctr(&r, L3L2Q_CTR_INPUT_HEAD));
		EXPECT_EQ(L3L2Q_STATE_LIVE, l3l2q_ep_state(&l3.ep));
		EXPECT_EQ(L3L2Q_STATE_LIVE, l3l2q_ep_state(&l2.ep));
		th_region_free(&r);
	}
}

/* The same through the library and two processes, 10^4 each way. */
TEST(library_streams_from_the_bound)
{
	struct streamer s = { .total = 10000, .in_max = 200, .out_max = 200 };
	struct l3l2q_queue *q;
	pid_t pid;
	int fd;

	q = stream_create(L3L2Q_BACKEND_MEMFD, 16, 1024, 1024,
			  L3L2Q_START_POS_MAX);
	ASSERT_NE(NULL, q);
	fd = l3l2q_peer_fd(q);
	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(stream_child_l2(fd, s.total, 200, L3L2Q_BACKEND_MEMFD,
				      l3l2q_deadline_in(100 * SEC)));
	close(fd);
	s.l3 = l3l2q_queue_l3(q);
	s.buf = malloc(200);
	ASSERT_NE(NULL, s.buf);
	EXPECT_EQ(0, run_l3(&s, l3l2q_deadline_in(100 * SEC)))
		TH_LOG("%s at %llu", s.fail, (unsigned long long)s.fail_at);
	free(s.buf);
	EXPECT_EQ(0, th_wait_child(pid));
	EXPECT_EQ(s.total, s.got_out);
	l3l2q_destroy(q);
}

TEST_HARNESS_MAIN
