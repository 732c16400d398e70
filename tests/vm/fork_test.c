// SPDX-License-Identifier: MIT
/*
 * fork() after create or attach over the driver, inside the VM (issue 12,
 * item 3): the same tests as tests/fork_test.c runs over a memfd (all of
 * them in tests/fork_common.h).  The driver maps with VM_DONTCOPY, so a
 * child has no mapping; the library marks the child's copies, so every
 * call on them gives -EOWNERDEAD instead of touching a page that is not
 * there; and the parent's queue streams on intact.
 */
#include "kselftest_harness.h"

#define FK_BACKEND	L3L2Q_BACKEND_DEVICE

#include "fork_common.h"

TEST_HARNESS_MAIN
