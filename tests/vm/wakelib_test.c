// SPDX-License-Identifier: MIT
/*
 * Waking instead of spinning over the driver (/dev/l3l2q), inside the VM:
 * the same tests as tests/wake_test.c runs over a memfd (all of them in
 * tests/wake_common.h), once per way of sleeping -- the WAIT ioctl under
 * the library's blocking calls, epoll on the role fd, an eventfd
 * registered with L3L2Q_IOC_SET_EVENTFD, and the WAIT uring_cmd -- with a
 * kill -9 of the peer waking every one of them, which only the driver can
 * do.  Every queue is forced onto the driver (no memfd fallback).
 */
#include "kselftest_harness.h"

#define WK_BACKEND		L3L2Q_BACKEND_DEVICE
/*
 * 10^6 each way, as on the host: ~15 s a stress stream under TCG on a
 * quiet machine (~65000 messages/s with the stress's frequent sleeps).
 * Other VMs on the host can make TCG several times slower, so each stream
 * stops sending after its budget (25 s for the stress, ~4 s for each run
 * of the steady count) and is judged on what it streamed, at least 10^4
 * messages each way; the suite stays well inside the runner's per-suite
 * limit (300 s).
 */
#define WK_STRESS_MSGS		1000000ull
#define WK_STEADY_MSGS		1000000ull
#define WK_STREAM_MIN		10000ull
#define WK_STREAM_BUDGET_NS	(25 * 1000000000ull)
#define WK_STREAM_TIMEOUT	90

/*
 * Under TCG a vCPU can be descheduled for a host tick at any point, so how
 * often a side sleeps says nothing about the protocol: the VM counts and
 * logs system calls per message, the host test asserts the bound.
 */
#define WK_ASSERT_SYSCALLS	0

#include "wake_common.h"

TEST_HARNESS_MAIN
