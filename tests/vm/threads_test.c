// SPDX-License-Identifier: MIT
/*
 * One thread per direction of a role over the driver, inside the VM
 * (issue 12, item 1): the test of tests/threads_test.c (all of it in
 * tests/threads_common.h) with every queue on /dev/l3l2q: blocking calls
 * (the WAIT ioctl, one per counter), epoll on the role fd (each thread
 * asks for its own direction's event) and the WAIT uring_cmd.  The
 * driver's eventfd is one per role and its KICK wakes the whole role, so
 * two threads cannot share it without one reading the other's kick: that
 * way of waiting needs an eventfd per wait bit in the driver, and is not
 * run here.
 *
 * Fewer messages than on the host (TCG is slow): 20 runs of 2500 each
 * way per way of waiting.
 */
#include "kselftest_harness.h"

#define TH_BACKEND	L3L2Q_BACKEND_DEVICE
#define TH_MSGS		2500ull
#define TH_RUNS		20
#define TH_TIMEOUT	280

#include "threads_common.h"

TEST_HARNESS_MAIN
