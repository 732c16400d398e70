// SPDX-License-Identifier: MIT
/*
 * sigprep_test - l3l2q_sig_prep_wait() builds the driver's io_uring
 * SIG_WAIT: IORING_OP_URING_CMD on the fd, cmd_op L3L2Q_IOC_SIG_WAIT, the
 * 32-byte args in an SQE128 command area, nothing past it; bad arguments
 * leave the SQE untouched.  The driver's side is tests/vm/siguring_test.
 * And l3l2q_signals_prep_wait() on a driver-backed object: the same
 * command, on the armed entries; l3l2q_signals_wait_done()'s results for
 * the CQE's res.  No driver here: the object is faked (white box).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libl3l2q_uring.h"
#include "kselftest_harness.h"
#include "../lib/user/signals_user.h"

/* An SQE128 ring's entry: 64 bytes, then 64 more of command area. */
struct sqe128 {
	struct io_uring_sqe sqe;
	unsigned char rest[64];
};

TEST(fills_the_command)
{
	struct l3l2q_sig_waitv v[2];
	struct l3l2q_sig_wait_args a = {
		.waitv = (__u64)(uintptr_t)v, .nr = 2,
		.flags = L3L2Q_SIG_WAIT_ALL, .deadline_ns = 12345,
	};
	struct sqe128 s;
	size_t off = offsetof(struct io_uring_sqe, cmd);
	size_t i;

	memset(&s, 0xa5, sizeof(s));
	ASSERT_EQ(0, l3l2q_sig_prep_wait(&s.sqe, 7, &a));
	EXPECT_EQ(IORING_OP_URING_CMD, s.sqe.opcode);
	EXPECT_EQ(7, s.sqe.fd);
	EXPECT_EQ(L3L2Q_IOC_SIG_WAIT, s.sqe.cmd_op);
	EXPECT_EQ(0, s.sqe.flags);
	EXPECT_EQ(0, memcmp((char *)&s + off, &a, sizeof(a)));
	/* Nothing written past the payload. */
	for (i = off + sizeof(a); i < sizeof(s); i++)
		EXPECT_EQ(0xa5, ((unsigned char *)&s)[i]);
}

TEST(bad_arguments_leave_the_sqe)
{
	struct l3l2q_sig_wait_args a = { .nr = 1 };
	struct sqe128 s, before;

	memset(&s, 0x5a, sizeof(s));
	before = s;
	EXPECT_EQ(-EINVAL, l3l2q_sig_prep_wait(NULL, 3, &a));
	EXPECT_EQ(-EINVAL, l3l2q_sig_prep_wait(&s.sqe, 3, NULL));
	EXPECT_EQ(-EINVAL, l3l2q_sig_prep_wait(&s.sqe, -1, &a));
	EXPECT_EQ(0, memcmp(&s, &before, sizeof(s)));
}

/*
 * A driver-backed object as l3l2q__sig_device_create() leaves it, over a
 * formatted region in plain memory; role fd @fd (never used here).
 */
static struct l3l2q_signals *fake_device(int fd)
{
	struct l3l2q_signals *sg = calloc(1, sizeof(*sg));
	struct l3l2q_sig_mem mem;

	if (!sg)
		return NULL;
	if (l3l2q_sig_layout(64, 4, 0, 0, &sg->layout) != L3L2Q_SIG_LAYOUT_OK ||
	    posix_memalign(&sg->map, 4096, sg->layout.total_bytes))
		goto fail;
	memset(sg->map, 0, sg->layout.total_bytes);
	sg->map_bytes = sg->layout.total_bytes;
	sg->backend = L3L2Q_BACKEND_DEVICE;
	sg->role = L3L2Q_ROLE_L3;
	sg->fd = fd;
	sg->efd[0] = sg->efd[1] = sg->peer_pidfd = sg->back_sock = -1;
	sg->wset = sg->wset_tfd = -1;
	sg->owner = getpid();
	mem.ctrl = sg->map;
	mem.hdmem = (char *)sg->map + sg->layout.hdmem_offset;
	mem.region_id = 0;
	if (l3l2q_sig_region_init(&mem, &sg->layout, 0) ||
	    l3l2q__sig_bind(sg, NULL, NULL, NULL))
		goto fail;
	return sg;
fail:
	free(sg->map);
	free(sg);
	return NULL;
}

TEST(object_on_the_driver)
{
	struct l3l2q_signals *sg = fake_device(9);
	struct l3l2q_sig_waitv v[2];
	struct l3l2q_sig_wait_args a, want;
	struct sqe128 s, before;
	size_t off = offsetof(struct io_uring_sqe, cmd);
	__u64 past;

	ASSERT_NE(NULL, sg);
	memset(v, 0, sizeof(v));
	v[0].id = 1;
	v[0].cmp = L3L2Q_SIG_CMP_GE;
	v[0].target = 3;
	v[1].id = 2;
	v[1].cmp = L3L2Q_SIG_CMP_GE;
	v[1].target = 1;
	memset(&s, 0xa5, sizeof(s));
	ASSERT_EQ(0, l3l2q_signals_prep_wait(&s.sqe, sg, v, 2, 0, 777, &a));
	memset(&want, 0, sizeof(want));
	want.waitv = (__u64)(uintptr_t)v;
	want.nr = 2;
	want.deadline_ns = 777;
	EXPECT_EQ(0, memcmp(&a, &want, sizeof(a)));
	EXPECT_EQ(IORING_OP_URING_CMD, s.sqe.opcode);
	EXPECT_EQ(9, s.sqe.fd);
	EXPECT_EQ(L3L2Q_IOC_SIG_WAIT, s.sqe.cmd_op);
	EXPECT_EQ(0, memcmp((char *)&s + off, &a, sizeof(a)));
	/* The kernel's wait is on the armed entries (K2: arm == kicked). */
	EXPECT_NE(0u, v[0].arm);
	EXPECT_NE(0u, v[1].arm);
	/* What the CQE's res means when nothing is ready. */
	EXPECT_EQ(-ETIMEDOUT, l3l2q_signals_wait_done(sg, &a, -ETIMEDOUT));
	EXPECT_EQ(0u, v[0].arm);
	a.deadline_ns = L3L2Q_DEADLINE_NONE;
	/* 6.1's cap on a queued command: not our deadline yet. */
	EXPECT_EQ(-EAGAIN, l3l2q_signals_wait_done(sg, &a, -ETIMEDOUT));
	EXPECT_EQ(-EAGAIN, l3l2q_signals_wait_done(sg, &a, 0));
	EXPECT_EQ(-ECANCELED, l3l2q_signals_wait_done(sg, &a, -ECANCELED));
	EXPECT_EQ(-ECONNRESET, l3l2q_signals_wait_done(sg, &a, -ECONNRESET));
	/* Ready: the result wins over the res. */
	ASSERT_EQ(0, l3l2q_sig_notify(&sg->sig, 2, 1));
	EXPECT_EQ(1, l3l2q_signals_wait_done(sg, &a, -ETIMEDOUT));
	EXPECT_EQ(1u, v[1].value);
	/* Ready before: nothing prepared. */
	memset(&s, 0x5a, sizeof(s));
	before = s;
	past = 1;
	EXPECT_EQ(L3L2Q_SIG_PREP_READY,
		  l3l2q_signals_prep_wait(&s.sqe, sg, v, 2, 0, past, &a));
	EXPECT_EQ(0, memcmp(&s, &before, sizeof(s)));
	EXPECT_EQ(0u, v[1].arm);
	EXPECT_EQ(1, l3l2q_signals_wait_done(sg, &a, 0));
	l3l2q_sig_close(&sg->sig);
	free(sg->map);
	free(sg);
}

TEST_HARNESS_MAIN
