// SPDX-License-Identifier: MIT
/*
 * sigprep_test - l3l2q_sig_prep_wait() builds the driver's io_uring
 * SIG_WAIT: IORING_OP_URING_CMD on the fd, cmd_op L3L2Q_IOC_SIG_WAIT, the
 * 32-byte args in an SQE128 command area, nothing past it; bad arguments
 * leave the SQE untouched.  The driver's side is tests/vm/siguring_test.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "libl3l2q_uring.h"
#include "kselftest_harness.h"

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

TEST_HARNESS_MAIN
