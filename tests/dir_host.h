/* SPDX-License-Identifier: MIT */
/*
 * The host driver's half of the device directory (uapi/l3l2q.h, "Device
 * memory"), played by tests on a mapping of the device memory: format the
 * directory, wait for the device's line, lay a queue out in a slot and
 * close it.  The host test maps the ivshmem server's memory; the VM test
 * maps BAR2 through sysfs.  Only the uapi and lib/core are used.
 */
#ifndef L3L2Q_TEST_DIR_HOST_H
#define L3L2Q_TEST_DIR_HOST_H

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q_core.h"

static inline __u64 dh_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static inline struct l3l2q_dir_host *dh_host(void *mem)
{
	return (struct l3l2q_dir_host *)mem;
}

static inline struct l3l2q_dir_dev *dh_dev(void *mem)
{
	return (struct l3l2q_dir_dev *)((char *)mem + 64);
}

static inline struct l3l2q_dir_slot *dh_slot(void *mem, unsigned int i)
{
	return (struct l3l2q_dir_slot *)((char *)mem + 128) + i;
}

static inline __u32 dh_load32(const void *p)
{
	return atomic_load_explicit((const _Atomic __u32 *)p,
				    memory_order_acquire);
}

static inline __u64 dh_load64(const void *p)
{
	return atomic_load_explicit((const _Atomic __u64 *)p,
				    memory_order_acquire);
}

static inline void dh_store32(void *p, __u32 v)
{
	atomic_store_explicit((_Atomic __u32 *)p, v, memory_order_release);
}

static inline void dh_store64(void *p, __u64 v)
{
	atomic_store_explicit((_Atomic __u64 *)p, v, memory_order_release);
}

/*
 * Format as a host driver does at bind: magic cleared first, every slot
 * FREE, the line's fields, then the magic last (release).
 */
static inline void dh_format(void *mem, __u64 mem_bytes, __u64 epoch,
			     __u32 host_peer_id, __u32 nr_vectors,
			     __u32 heartbeat_ms)
{
	struct l3l2q_dir_host *h = dh_host(mem);
	unsigned int i;

	dh_store32(&h->magic, 0);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		dh_store32(&dh_slot(mem, i)->state, L3L2Q_SLOT_FREE);
		dh_store32(&dh_slot(mem, i)->generation, 0);
	}
	dh_store32(&h->version, L3L2Q_DIR_VERSION);
	dh_store64(&h->mem_bytes, mem_bytes);
	dh_store64(&h->epoch, epoch);
	dh_store32(&h->nr_slots, L3L2Q_DIR_SLOTS);
	dh_store32(&h->host_peer_id, host_peer_id);
	dh_store32(&h->nr_vectors, nr_vectors);
	dh_store32(&h->heartbeat_ms, heartbeat_ms);
	for (i = 0; i < 3; i++)
		dh_store64(&h->resv[i], 0);
	dh_store32(&h->magic, L3L2Q_DIR_MAGIC);
}

/* The device's line says LIVE for @epoch: 0, or -ETIMEDOUT after @ms. */
static inline int dh_wait_device(void *mem, __u64 epoch, unsigned int ms)
{
	struct l3l2q_dir_dev *d = dh_dev(mem);
	__u64 end = dh_now_ns() + ms * 1000000ull;

	while (dh_now_ns() < end) {
		if (dh_load32(&d->state) == L3L2Q_DEV_LIVE &&
		    dh_load32(&d->magic) == L3L2Q_DIR_DEV_MAGIC &&
		    dh_load64(&d->epoch) == epoch)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* The heartbeat moved past @from: 0, or -ETIMEDOUT after @ms. */
static inline int dh_wait_beat(void *mem, __u64 from, unsigned int ms)
{
	__u64 end = dh_now_ns() + ms * 1000000ull;

	while (dh_now_ns() < end) {
		if (dh_load64(&dh_dev(mem)->heartbeat) != from)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* A queue laid out in the device memory, as CREATE does it. */
struct dh_queue {
	unsigned int slot;
	__u64 offset;			/* of the region in the memory */
	struct l3l2q_layout layout;
	struct l3l2q_region_offsets off;
	struct l3l2q_mem mem;		/* for l3l2q_l3_init() */
};

/*
 * Lay a queue out at @offset for slot @slot on @vector and publish the
 * slot LIVE: region initialised and the L3 role LIVE first, then the slot
 * (generation bumped first, then the fields, then the state, released).
 * 0, or -EINVAL if the geometry or the place is wrong.
 */
static inline int dh_create(void *mem, __u64 mem_bytes, unsigned int slot,
			    __u64 offset, __u64 depth, __u64 arena,
			    __u32 vector, struct dh_queue *q)
{
	struct l3l2q_dir_slot *s = dh_slot(mem, slot);
	unsigned char *base;

	memset(q, 0, sizeof(*q));
	if (slot >= L3L2Q_DIR_SLOTS ||
	    l3l2q_layout(depth, arena, arena, &q->layout) != L3L2Q_LAYOUT_OK ||
	    !l3l2q_region_layout(&q->layout, &q->off) ||
	    offset < L3L2Q_DIR_BYTES || offset % L3L2Q_REGION_ALIGN ||
	    offset + q->off.total_bytes > mem_bytes)
		return -EINVAL;
	q->slot = slot;
	q->offset = offset;
	base = (unsigned char *)mem + offset;
	memset(base, 0, L3L2Q_CTRL_BYTES + L3L2Q_REGION_ALIGN);
	q->mem.ctrl = base + q->off.ctrl_offset;
	q->mem.counters = base + q->off.counter_offset;
	q->mem.payload = base + q->off.payload_offset;
	q->mem.region_id = slot + 1;
	l3l2q_region_init(&q->mem, &q->layout, 0, 0);
	dh_store32(base + L3L2Q_CTRL_L3_STATE, L3L2Q_ROLE_LIVE);
	dh_store32(&s->generation, dh_load32(&s->generation) + 1);
	dh_store32(&s->kind, L3L2Q_KIND_QUEUE);
	dh_store32(&s->vector, vector);
	dh_store64(&s->region_offset, offset);
	dh_store64(&s->region_bytes, q->off.total_bytes);
	dh_store64(&s->depth, depth);
	dh_store64(&s->input_arena_bytes, arena);
	dh_store64(&s->output_arena_bytes, arena);
	dh_store64(&s->start_pos, 0);
	dh_store32(&s->state, L3L2Q_SLOT_LIVE);
	return 0;
}

/* The L3 role of @q died: its state DEAD, the slot CLOSED. */
static inline void dh_close(void *mem, const struct dh_queue *q)
{
	dh_store32((char *)q->mem.ctrl + L3L2Q_CTRL_L3_STATE, L3L2Q_ROLE_DEAD);
	dh_store32(&dh_slot(mem, q->slot)->state, L3L2Q_SLOT_CLOSED);
}

/* A control-block word of @q. */
static inline __u32 dh_ctrl(const struct dh_queue *q, unsigned int off)
{
	return dh_load32((const char *)q->mem.ctrl + off);
}

/* Wait until ctrl word @off of @q is @want: 0, or -ETIMEDOUT after @ms. */
static inline int dh_wait_ctrl(const struct dh_queue *q, unsigned int off,
			       __u32 want, unsigned int ms)
{
	__u64 end = dh_now_ns() + ms * 1000000ull;

	while (dh_now_ns() < end) {
		if (dh_ctrl(q, off) == want)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

#endif /* L3L2Q_TEST_DIR_HOST_H */
