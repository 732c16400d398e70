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
 *
 * With many threads (kind mpstream), the same ring in its default MP/MC
 * mode: rte_ring_mp -- --producers threads rte_ring_mp_enqueue_elem(), one
 * rte_ring_sc_dequeue_elem() consumer; rte_ring_mc -- one
 * rte_ring_sp_enqueue_elem() producer, --consumers threads
 * rte_ring_mc_dequeue_elem().  The counterparts of l3l2q_mp and l3l2q_mc
 * (mp.c), with the same stamps, checks and clock.
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

int bench_rte_ring_mpstream(const struct bench_case *c,
			    const struct bench_opts *o, struct bench_sample *s)
{
	return bench_rte_ring_stream(c, o, s);
}

int bench_rte_ring_mpmc(const struct bench_case *c,
			const struct bench_opts *o, struct bench_sample *s)
{
	return bench_rte_ring_stream(c, o, s);
}

int bench_rte_ring_solo(const char *mech, unsigned int bytes, uint64_t count)
{
	(void)mech;
	(void)bytes;
	(void)count;
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

/* ---- one thread, for instruction counts (--solo) ---- */

/*
 * rte_ring_ct: the element size a compile-time constant (64 bytes), which
 * lets rte_ring's inline copy unroll; rte_ring: the size at run time, as
 * the streaming case above calls it.
 */
static inline int solo_enq(struct rte_ring *r, void *src,
			   unsigned int esize, int ct)
{
	if (ct)
		return rte_ring_sp_enqueue_elem(r, src, 64);
	return rte_ring_sp_enqueue_elem(r, src, esize);
}

static inline int solo_deq(struct rte_ring *r, void *dst, unsigned int esize,
			   int ct)
{
	if (ct)
		return rte_ring_sc_dequeue_elem(r, dst, 64);
	return rte_ring_sc_dequeue_elem(r, dst, esize);
}

/*
 * One thread, no timing: fill the ring until it is full, then drain it,
 * @count messages in all -- the loop of bench_l3l2q_solo(), with the same
 * stamps and checks.
 */
int bench_rte_ring_solo(const char *mech, unsigned int bytes, uint64_t count)
{
	int ct = !strcmp(mech, "rte_ring_ct");
	unsigned int n = bench_depth(bytes);
	unsigned int esize = bytes < 8 ? 8 : (bytes + 3) & ~3u;
	unsigned char *buf;
	struct rte_ring *r;
	uint64_t sent = 0, got = 0;
	ssize_t sz;
	int ret = -ENOMEM;

	if (ct && esize != 64)
		return -EINVAL;	/* the constant is 64 */
	sz = rte_ring_get_memsize_elem(esize, n);
	if (sz < 0)
		return (int)sz;
	buf = calloc(1, esize);
	r = aligned_alloc(RTE_CACHE_LINE_SIZE,
			  ((size_t)sz + RTE_CACHE_LINE_SIZE - 1) &
			  ~(size_t)(RTE_CACHE_LINE_SIZE - 1));
	if (!buf || !r)
		goto out;
	ret = rte_ring_init(r, "solo", n, RING_F_SP_ENQ | RING_F_SC_DEQ);
	while (!ret && got < count) {
		while (sent < count) {
			stamp_put(buf, bytes, sent);
			if (solo_enq(r, buf, esize, ct))
				break;
			sent++;
		}
		while (!solo_deq(r, buf, esize, ct)) {
			if (!stamp_ok(buf, bytes, got)) {
				ret = -EBADMSG;
				break;
			}
			got++;
		}
	}
out:
	free(r);
	free(buf);
	return ret;
}

/*
 * ---- many threads: MP/SC and SP/MC; MP/MC with N a side (rte_ring_mpmc_N
 * x N, against the channel) ----
 */

struct mthr {
	struct marg *a;
	unsigned int id;
	_Alignas(64) atomic_ullong got;
};

struct marg {
	struct rte_ring *r;
	unsigned int bytes, esize, nprod, ncons;
	int mpmc;		/* both sides in the MP/MC mode */
	atomic_int stop;
	atomic_int failed;
	struct mthr t[BENCH_MP_MAX];
};

static void *m_producer(void *p)
{
	struct mthr *t = p;
	struct marg *a = t->a;
	unsigned char *src = calloc(1, a->esize);
	int mp = a->mpmc || a->nprod > 1 || a->ncons == 1;
	uint64_t i = 0, v;

	while (src && !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		v = (uint64_t)t->id << 56 | ++i;
		if (a->bytes >= 8)
			memcpy(src, &v, 8);
		while ((mp ? rte_ring_mp_enqueue_elem(a->r, src, a->esize) :
			rte_ring_sp_enqueue_elem(a->r, src, a->esize)) != 0) {
			if (atomic_load_explicit(&a->stop, memory_order_relaxed))
				goto out;
			bench_pause();
		}
	}
out:
	free(src);
	return NULL;
}

static void *m_consumer(void *p)
{
	struct mthr *t = p;
	struct marg *a = t->a;
	unsigned char *dst = calloc(1, a->esize);
	uint64_t last[BENCH_MP_MAX] = { 0 }, got = 0, v;
	int mc = a->mpmc || (a->nprod == 1 && a->ncons > 1);
	unsigned int id;

	while (dst && !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		if ((mc ? rte_ring_mc_dequeue_elem(a->r, dst, a->esize) :
		     rte_ring_sc_dequeue_elem(a->r, dst, a->esize)) != 0) {
			bench_pause();
			continue;
		}
		if (a->bytes >= 8) {
			memcpy(&v, dst, 8);
			id = (unsigned int)(v >> 56);
			if (id >= BENCH_MP_MAX ||
			    (v & ((1ull << 56) - 1)) <= last[id]) {
				atomic_store(&a->failed, 1);
				atomic_store(&a->stop, 1);
				break;
			}
			last[id] = v & ((1ull << 56) - 1);
		}
		atomic_store_explicit(&t->got, ++got, memory_order_relaxed);
	}
	free(dst);
	return NULL;
}

static uint64_t m_consumed(void *ctx)
{
	struct marg *a = ctx;
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < a->nprod + a->ncons; i++)
		n += atomic_load_explicit(&a->t[i].got, memory_order_relaxed);
	return n;
}

int bench_rte_ring_mpstream(const struct bench_case *c,
			    const struct bench_opts *o, struct bench_sample *s)
{
	int mc = !strcmp(c->mech, "rte_ring_mc");
	int mpmc = !strncmp(c->mech, "rte_ring_mpmc_", 14);
	unsigned int count = bench_depth(c->bytes), i;
	struct bench_job jobs[BENCH_MP_MAX];
	struct marg *a = calloc(1, sizeof(*a));
	ssize_t sz;
	int ret = -ENOMEM;

	if (!a)
		return -ENOMEM;
	a->bytes = c->bytes;
	a->esize = c->bytes < 8 ? 8 : (c->bytes + 3) & ~3u;
	a->nprod = mc ? 1 : o->producers;
	a->ncons = mc ? o->consumers : 1;
	if (mpmc) {
		/* rte_ring_mpmc_NxN: N producers, N consumers. */
		a->mpmc = 1;
		a->nprod = (unsigned int)atoi(c->mech + 14);
		a->ncons = a->nprod;
	}
	if (!a->nprod || a->nprod + a->ncons > BENCH_MP_MAX) {
		ret = -E2BIG;
		goto out;
	}
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
	/* Flags 0: the MP/MC mode (the calls above name the side anyway). */
	ret = rte_ring_init(a->r, "bench-mp", count, 0);
	if (ret)
		goto out;
	for (i = 0; i < a->nprod + a->ncons; i++) {
		a->t[i].a = a;
		a->t[i].id = i < a->nprod ? i : i - a->nprod;
		jobs[i].fn = i < a->nprod ? m_producer : m_consumer;
		jobs[i].arg = &a->t[i];
	}
	ret = bench_mp_run(o, jobs, a->nprod + a->ncons, m_consumed, a,
			   &a->stop, s);
	if (!ret && atomic_load(&a->failed))
		ret = -EIO;
out:
	free(a->r);
	free(a);
	return ret;
}

int bench_rte_ring_mpmc(const struct bench_case *c,
			const struct bench_opts *o, struct bench_sample *s)
{
	return bench_rte_ring_mpstream(c, o, s);
}

#endif /* BENCH_HAVE_DPDK */
