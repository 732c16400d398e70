// SPDX-License-Identifier: MIT
/*
 * One thread per direction of a role over a memfd queue (issue 12, item
 * 1): a sender and a receiver thread on each role, every way of waiting,
 * TH_RUNS runs of TH_MSGS messages each way (10^6 each way per way of
 * waiting), with no lost wake-up, no stall and every message intact.  The
 * same test runs over the driver in tests/vm/threads_test.c.
 */
#include "kselftest_harness.h"

#define TH_BACKEND	L3L2Q_BACKEND_MEMFD
/* ~4 s a way of waiting here, ~10 s under ASan+UBSan on a quiet machine. */
#define TH_MSGS		50000ull
#define TH_RUNS		20
#define TH_TIMEOUT	600
#define TH_EVENTFD	1

#include "threads_common.h"

TEST_HARNESS_MAIN
