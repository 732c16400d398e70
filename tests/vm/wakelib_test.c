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
#include "vm_helpers.h"

#define WK_BACKEND		L3L2Q_BACKEND_DEVICE
/*
 * Fewer messages than the host's 10^6: a fixed amount of work that TCG
 * moves in a second or two a stream on a quiet machine (~65000 messages/s
 * with the stress's frequent sleeps), and in under a minute on a host so
 * loaded that TCG ran the stress at ~1200 messages/s.  The stream's
 * verdict is what arrived and the protocol's counts, never a rate; the
 * harness timeout and the runner's per-suite limit are watchdogs.
 */
#define WK_STRESS_MSGS		50000ull
#define WK_STEADY_MSGS		20000ull
#define WK_STREAM_TIMEOUT	900
#define WK_DEATH_TIMEOUT	300

#include "wake_common.h"

TEST_HARNESS_MAIN
