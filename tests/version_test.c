// SPDX-License-Identifier: MIT
/*
 * version_test - the version macros of l3l2q_version.h and the library's
 * runtime check (l3l2q_check_version(), l3l2q_major_version(),
 * l3l2q_minor_version()): which versions a library accepts and refuses.
 */
#include <errno.h>

#include "kselftest_harness.h"

#include "libl3l2q.h"

TEST(runtime_version_is_the_headers)
{
	EXPECT_EQ(L3L2Q_VERSION_MAJOR, l3l2q_major_version());
	EXPECT_EQ(L3L2Q_VERSION_MINOR, l3l2q_minor_version());
	/* The soname's number: libl3l2q.so.1. */
	EXPECT_EQ(1, L3L2Q_VERSION_MAJOR);
	EXPECT_LE(0, L3L2Q_VERSION_MINOR);
	EXPECT_LE(0, L3L2Q_VERSION_PATCH);
}

TEST(check_accepts_this_and_older_minors)
{
	int minor;

	for (minor = 0; minor <= L3L2Q_VERSION_MINOR; minor++)
		EXPECT_EQ(0, l3l2q_check_version(L3L2Q_VERSION_MAJOR, minor)) {
			TH_LOG("minor %d", minor);
		}
}

TEST(check_refuses_newer_minor_and_other_major)
{
	EXPECT_EQ(-ENOTSUP, l3l2q_check_version(L3L2Q_VERSION_MAJOR,
						L3L2Q_VERSION_MINOR + 1));
	EXPECT_EQ(-ENOTSUP, l3l2q_check_version(L3L2Q_VERSION_MAJOR + 1, 0));
	EXPECT_EQ(-ENOTSUP, l3l2q_check_version(L3L2Q_VERSION_MAJOR - 1,
						L3L2Q_VERSION_MINOR));
	EXPECT_EQ(-ENOTSUP, l3l2q_check_version(L3L2Q_VERSION_MAJOR, 1 << 30));
}

TEST(check_rejects_negative_numbers)
{
	EXPECT_EQ(-EINVAL, l3l2q_check_version(-1, 0));
	EXPECT_EQ(-EINVAL, l3l2q_check_version(L3L2Q_VERSION_MAJOR, -1));
	EXPECT_EQ(-EINVAL, l3l2q_check_version(-1, -1));
}

TEST(at_least_macro)
{
	EXPECT_TRUE(L3L2Q_VERSION_AT_LEAST(L3L2Q_VERSION_MAJOR,
					   L3L2Q_VERSION_MINOR));
	EXPECT_TRUE(L3L2Q_VERSION_AT_LEAST(L3L2Q_VERSION_MAJOR, 0));
	EXPECT_TRUE(L3L2Q_VERSION_AT_LEAST(L3L2Q_VERSION_MAJOR - 1, 99));
	EXPECT_FALSE(L3L2Q_VERSION_AT_LEAST(L3L2Q_VERSION_MAJOR,
					    L3L2Q_VERSION_MINOR + 1));
	EXPECT_FALSE(L3L2Q_VERSION_AT_LEAST(L3L2Q_VERSION_MAJOR + 1, 0));
#if !L3L2Q_VERSION_AT_LEAST(1, 0)
	EXPECT_TRUE(0) {
		TH_LOG("the preprocessor disagrees with the expression");
	}
#endif
}

TEST_HARNESS_MAIN
