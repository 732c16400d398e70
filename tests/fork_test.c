// SPDX-License-Identifier: MIT
/*
 * fork() after create or attach over a memfd queue (issue 12, item 3): a
 * child's copy gives -EOWNERDEAD on every call and has no mapping, and the
 * parent's queue is unharmed.  tests/vm/fork_test.c runs the same over
 * the driver.
 */
#include "kselftest_harness.h"

#define FK_BACKEND	L3L2Q_BACKEND_MEMFD

#include "fork_common.h"

TEST_HARNESS_MAIN
