// SPDX-License-Identifier: MIT
/*
 * The version of the library that is running, which may be newer than
 * the headers a program was compiled with (l3l2q_version.h).
 */
#include <errno.h>

#include "libl3l2q.h"

int l3l2q_major_version(void)
{
	return L3L2Q_VERSION_MAJOR;
}

int l3l2q_minor_version(void)
{
	return L3L2Q_VERSION_MINOR;
}

/*
 * A program built for @major.@minor runs on this library if the ABI is
 * the same (same major, the soname's number) and nothing it may call is
 * missing (this minor is at least @minor).
 */
int l3l2q_check_version(int major, int minor)
{
	if (major < 0 || minor < 0)
		return -EINVAL;
	if (major != L3L2Q_VERSION_MAJOR || minor > L3L2Q_VERSION_MINOR)
		return -ENOTSUP;
	return 0;
}
