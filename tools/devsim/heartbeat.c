// SPDX-License-Identifier: MIT
/*
 * heartbeat.c - the device's heartbeat: its own thread increments the
 * heartbeat word of our directory line every heartbeat_ms (the period the
 * host publishes, read at each beat), while the device is attached to a
 * valid host line.  A thread of its own, so that a busy event loop or a
 * region stuck in a long task never looks like a dead device; only the
 * death of the process stops it.
 */
#include <errno.h>
#include <time.h>

#include "device.h"
#include "atomic.h"

static void *hb_main(void *arg)
{
	struct device *dev = arg;
	struct l3l2q_dir_dev *line = (struct l3l2q_dir_dev *)
		(dev->mem + sizeof(struct l3l2q_dir_host));
	struct timespec ts;
	unsigned int ms;

	pthread_mutex_lock(&dev->hb_lock);
	while (!atomic_load(&dev->quit)) {
		ms = atomic_load(&dev->heartbeat_ms);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000l;
		if (ts.tv_nsec >= 1000000000l) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000l;
		}
		while (!atomic_load(&dev->quit) &&
		       pthread_cond_timedwait(&dev->hb_cond, &dev->hb_lock,
					      &ts) != ETIMEDOUT)
			;
		if (atomic_load(&dev->quit))
			break;
		/* Only we write it: our own count, never the memory's. */
		if (atomic_load(&dev->beating))
			l3l2q_store_once_u64(&line->heartbeat,
					     atomic_fetch_add(&dev->heartbeat, 1) + 1);
	}
	pthread_mutex_unlock(&dev->hb_lock);
	return NULL;
}

int dev_heartbeat_start(struct device *dev)
{
	pthread_condattr_t ca;
	int ret;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dev->hb_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&dev->hb_lock, NULL);
	ret = pthread_create(&dev->hb_thread, NULL, hb_main, dev);
	if (ret)
		return -ret;
	dev->hb_started = 1;
	return 0;
}

void dev_heartbeat_stop(struct device *dev)
{
	if (!dev->hb_started)
		return;
	pthread_mutex_lock(&dev->hb_lock);
	atomic_store(&dev->quit, 1);
	pthread_cond_broadcast(&dev->hb_cond);
	pthread_mutex_unlock(&dev->hb_lock);
	pthread_join(dev->hb_thread, NULL);
	dev->hb_started = 0;
	pthread_cond_destroy(&dev->hb_cond);
	pthread_mutex_destroy(&dev->hb_lock);
}
