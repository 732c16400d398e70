// SPDX-License-Identifier: MIT
/*
 * DPDK's rte_ring, single-producer/single-consumer, used without the EAL:
 * rte_ring_init() on memory this file allocates (cache-line aligned, no
 * hugepages).  The payload is copied by the ring itself: each element is the
 * message (rte_ring_sp_enqueue_elem / rte_ring_sc_dequeue_elem, element size
 * the message size rounded up to 4 bytes, at least 8 -- a 0-byte message is
 * an 8-byte token, as a pointer would be).  Built only where pkg-config finds
 * libdpdk (Debian's libdpdk-dev); elsewhere the mechanism reports itself
 * unavailable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef BENCH_HAVE_DPDK

const int bench_have_rte_ring = 0;

int bench_rte_ring_stream(const struct bench_case *c,
			  const struct bench_opts *o, struct bench_sample *s)
{
	(void)c;
	(void)o;
	(void)s;
	return -ENOSYS;
}

#else

#include <rte_ring.h>
#include <rte_ring_elem.h>

const int bench_have_rte_ring = 1;

struct rarg {
	struct rte_ring *r;
	struct stream_ctl ctl;
	unsigned int bytes, esize;
};

static void *rte_producer(void *p)
{
	struct rarg *a = p;
	unsigned char *src = calloc(1, a->esize);
	uint64_t i = 0;

	while (src && !stream_stopped(&a->ctl)) {
		stamp_put(src, a->bytes, i);
		while (rte_ring_sp_enqueue_elem(a->r, src, a->esize) != 0) {
			if (stream_stopped(&a->ctl))
				goto out;
			bench_pause();
		}
		i++;
	}
out:
	free(src);
	atomic_store_explicit(&a->ctl.prod_done, 1, memory_order_release);
	return NULL;
}

static void *rte_consumer(void *p)
{
	struct rarg *a = p;
	unsigned char *dst = calloc(1, a->esize);
	uint64_t i = 0;

	if (!dst) {
		a->ctl.failed = 1;
		atomic_store(&a->ctl.stop, 1);
		return NULL;
	}
	for (;;) {
		if (rte_ring_sc_dequeue_elem(a->r, dst, a->esize) != 0) {
			if (atomic_load_explicit(&a->ctl.prod_done,
						 memory_order_acquire) &&
			    rte_ring_sc_dequeue_elem(a->r, dst, a->esize) != 0)
				break;
			bench_pause();
			continue;
		}
		if (!stamp_ok(dst, a->bytes, i))
			a->ctl.failed = 1;
		i++;
		if (!(i % STREAM_TICK))
			stream_tick(&a->ctl, i);
	}
	free(dst);
	return NULL;
}

int bench_rte_ring_stream(const struct bench_case *c,
			  const struct bench_opts *o, struct bench_sample *s)
{
	struct rarg *a = calloc(1, sizeof(*a));
	unsigned int count = bench_depth(c->bytes);
	ssize_t sz;
	int ret = -ENOMEM;

	if (!a)
		return -ENOMEM;
	a->bytes = c->bytes;
	a->esize = c->bytes < 8 ? 8 : (c->bytes + 3) & ~3u;
	sz = rte_ring_get_memsize_elem(a->esize, count);
	if (sz < 0) {
		ret = (int)sz;
		goto out;
	}
	a->r = aligned_alloc(RTE_CACHE_LINE_SIZE,
			     ((size_t)sz + RTE_CACHE_LINE_SIZE - 1) &
			     ~(size_t)(RTE_CACHE_LINE_SIZE - 1));
	if (!a->r)
		goto out;
	/* count - 1 usable slots, like a textbook ring with one kept empty. */
	ret = rte_ring_init(a->r, "bench", count, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ret)
		goto out;
	stream_init(&a->ctl, o);
	ret = bench_pair(o, rte_producer, rte_consumer, a);
	if (!ret)
		ret = stream_result(&a->ctl, s);
out:
	free(a->r);
	free(a);
	return ret;
}

#endif /* BENCH_HAVE_DPDK */
