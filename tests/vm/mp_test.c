// SPDX-License-Identifier: MIT
/*
 * Many producer (and consumer) threads on one L3 endpoint, over the
 * driver, inside the VM (tests/mp_stream.h; the host's mp_test does the
 * same over a memfd).  Fewer messages than on the host: TCG is 10-50x
 * slower, and the amount of work, not the time, makes the test.  With
 * consumer threads the producers wait in short calls (mps_cfg.retry_ms).
 */
#include "kselftest_harness.h"
#include "vm_helpers.h"
#include "libl3l2q.h"
#include "mp_stream.h"

FIXTURE(vmmp) {
	char why[160];
};

FIXTURE_SETUP(vmmp)
{
	self->why[0] = 0;
}

FIXTURE_TEARDOWN(vmmp)
{
}

TEST_F_TIMEOUT(vmmp, driver_8_producers_random_sizes, 1200)
{
	struct mps_cfg c = {
		.backend = L3L2Q_BACKEND_DEVICE, .producers = 8,
		.per_producer = 5000, .depth = 64, .in_arena = 16384,
		.out_arena = 4096, .max_size = 512, .watchdog_s = 600,
	};

	EXPECT_EQ(0, mps_run(&c, self->why)) TH_LOG("%s", self->why);
}

TEST_F_TIMEOUT(vmmp, driver_4_producers_4_consumers_echo, 1200)
{
	struct mps_cfg c = {
		.backend = L3L2Q_BACKEND_DEVICE, .producers = 4,
		.per_producer = 2500, .consumers = 4, .depth = 16,
		.in_arena = 4096, .out_arena = 4096, .max_size = 400,
		.watchdog_s = 600, .retry_ms = 100,
	};

	EXPECT_EQ(0, mps_run(&c, self->why)) TH_LOG("%s", self->why);
}

TEST_HARNESS_MAIN
