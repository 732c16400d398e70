// SPDX-License-Identifier: MIT
/*
 * l3l2q with many threads on the L3 (l3l2q_mp.h), over a memfd queue in
 * one process, against DPDK's rte_ring MP and MC modes (rte_ring.c).
 *
 *   l3l2q_mp  --producers threads l3l2q_l3_mp_try_enqueue() (copy in) into
 *             the input ring; one L2 thread peeks, copies out, releases.
 *   l3l2q_mc  one L2 thread reserves, copies in, publishes on the output
 *             ring; --consumers threads l3l2q_l3_mc_try_dequeue() (copy
 *             out).
 * Busy-poll (try_ calls and a pause), threads unpinned.  Each message
 * carries (thread << 56 | i) in its first 8 bytes: the single consumer
 * checks every producer's order, each MC consumer that what it takes
 * increases.  The rate is what the consumers took per second.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libl3l2q.h"
#include "bench.h"

struct mpt {
	struct mpa *a;
	unsigned int id;
	_Alignas(64) atomic_ullong got;	/* taken by this consumer */
};

struct mpa {
	struct l3l2q_queue *q3, *q2;
	struct l3l2q_l3 *l3;
	struct l3l2q_l2 *l2;
	unsigned int bytes, nprod, ncons;
	atomic_int stop;
	atomic_int err;
	struct mpt t[BENCH_MP_MAX];
};

static unsigned int round64(unsigned int n)
{
	return n < 64 ? 64 : (n + 63) & ~63u;
}

static void fail(struct mpa *a, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&a->err, &zero, err);
	atomic_store(&a->stop, 1);
}

static uint64_t stamp(unsigned int id, uint64_t i)
{
	return (uint64_t)id << 56 | i;
}

static uint64_t stamp_get(const void *p, unsigned int n)
{
	uint64_t v = 0;

	if (n >= 8)
		memcpy(&v, p, 8);
	return v;
}

/* ---- l3l2q_mp: many L3 producers, one L2 consumer ---- */

static void *mp_producer(void *p)
{
	struct mpt *t = p;
	struct mpa *a = t->a;
	unsigned char *src = calloc(1, round64(a->bytes));
	uint64_t i = 0, v;
	int ret;

	while (src && !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		v = stamp(t->id, ++i);
		if (a->bytes >= 8)
			memcpy(src, &v, 8);
		while ((ret = l3l2q_l3_mp_try_enqueue(a->l3, L3L2Q_OP_DATA,
						      src, a->bytes)) == -EAGAIN) {
			if (atomic_load_explicit(&a->stop, memory_order_relaxed))
				goto out;
			bench_pause();
		}
		if (ret) {
			fail(a, ret);
			break;
		}
	}
out:
	free(src);
	return NULL;
}

static void *mp_consumer(void *p)
{
	struct mpt *t = p;
	struct mpa *a = t->a;
	unsigned char *dst = calloc(1, round64(a->bytes));
	uint64_t last[BENCH_MP_MAX] = { 0 }, got = 0, v;
	struct l3l2q_msg m;
	unsigned int id;
	int ret;

	while (dst && !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		ret = l3l2q_l2_try_peek(a->l2, &m);
		if (ret == -EAGAIN) {
			bench_pause();
			continue;
		}
		if (!ret && m.nbytes != a->bytes)
			ret = -EBADMSG;
		if (ret) {
			fail(a, ret);
			break;
		}
		if (a->bytes)
			memcpy(dst, m.data, a->bytes);
		v = stamp_get(dst, a->bytes);
		id = (unsigned int)(v >> 56);
		/* Each producer's messages in its order. */
		if (a->bytes >= 8 && (id >= a->nprod ||
				      (v & ((1ull << 56) - 1)) <= last[id])) {
			fail(a, -EBADMSG);
			break;
		}
		if (a->bytes >= 8)
			last[id] = v & ((1ull << 56) - 1);
		ret = l3l2q_l2_release(a->l2, &m);
		if (ret) {
			fail(a, ret);
			break;
		}
		atomic_store_explicit(&t->got, ++got, memory_order_relaxed);
	}
	free(dst);
	return NULL;
}

/* ---- l3l2q_mc: one L2 producer, many L3 consumers ---- */

static void *mc_producer(void *p)
{
	struct mpt *t = p;
	struct mpa *a = t->a;
	struct l3l2q_res res;
	uint64_t i = 0, v;
	int ret;

	while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		while ((ret = l3l2q_l2_try_reserve(a->l2, a->bytes, &res)) ==
		       -EAGAIN) {
			if (atomic_load_explicit(&a->stop, memory_order_relaxed))
				return NULL;
			bench_pause();
		}
		if (!ret) {
			v = stamp(0, ++i);
			if (a->bytes >= 8)
				memcpy(res.data, &v, 8);
			if (a->bytes > 8)	/* copy in, as the rings do */
				memset((char *)res.data + 8, (int)i,
				       a->bytes - 8);
			ret = l3l2q_l2_publish(a->l2, &res, L3L2Q_OP_DATA);
		}
		if (ret) {
			fail(a, ret);
			break;
		}
	}
	return NULL;
}

static void *mc_consumer(void *p)
{
	struct mpt *t = p;
	struct mpa *a = t->a;
	unsigned int cap = round64(a->bytes);
	unsigned char *dst = calloc(1, cap);
	uint64_t last = 0, got = 0, v;
	struct l3l2q_msg m;
	int ret;

	while (dst && !atomic_load_explicit(&a->stop, memory_order_relaxed)) {
		ret = l3l2q_l3_mc_try_dequeue(a->l3, dst, cap, &m);
		if (ret == -EAGAIN) {
			bench_pause();
			continue;
		}
		if (ret) {
			fail(a, ret);
			break;
		}
		/* What one consumer takes comes in claim order. */
		v = stamp_get(dst, a->bytes);
		if (a->bytes >= 8 && v <= last) {
			fail(a, -EBADMSG);
			break;
		}
		last = v;
		atomic_store_explicit(&t->got, ++got, memory_order_relaxed);
	}
	free(dst);
	return NULL;
}

static uint64_t consumed(void *ctx)
{
	struct mpa *a = ctx;
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < a->nprod + a->ncons; i++)
		n += atomic_load_explicit(&a->t[i].got, memory_order_relaxed);
	return n;
}

int bench_l3l2q_mpstream(const struct bench_case *c, const struct bench_opts *o,
			 struct bench_sample *s)
{
	int mc = !strcmp(c->mech, "l3l2q_mc");
	unsigned int depth = bench_depth(c->bytes);
	unsigned int arena = depth * round64(c->bytes), i;
	struct l3l2q_params p = {
		.depth = depth,
		.input_arena_bytes = mc ? 64 : arena,
		.output_arena_bytes = mc ? arena : 64,
		.backend = L3L2Q_BACKEND_MEMFD,
		.threads = mc ? L3L2Q_MP_CONSUMERS : L3L2Q_MP_PRODUCERS,
	};
	struct bench_job jobs[BENCH_MP_MAX];
	struct l3l2q_error err;
	struct mpa *a;
	int fd, ret;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->bytes = c->bytes;
	a->nprod = mc ? 1 : o->producers;
	a->ncons = mc ? o->consumers : 1;
	if (a->nprod + a->ncons > BENCH_MP_MAX) {
		free(a);
		return -E2BIG;
	}
	ret = l3l2q_create(&p, &a->q3, &err);
	if (ret)
		goto out;
	fd = l3l2q_peer_fd(a->q3);
	ret = fd < 0 ? fd : l3l2q_attach(fd, NULL, &a->q2, &err);
	if (ret)
		goto out;
	a->l3 = l3l2q_queue_l3(a->q3);
	a->l2 = l3l2q_queue_l2(a->q2);
	for (i = 0; i < a->nprod + a->ncons; i++) {
		a->t[i].a = a;
		a->t[i].id = i < a->nprod ? i : i - a->nprod;
		jobs[i].arg = &a->t[i];
		if (i < a->nprod)
			jobs[i].fn = mc ? mc_producer : mp_producer;
		else
			jobs[i].fn = mc ? mc_consumer : mp_consumer;
	}
	ret = bench_mp_run(o, jobs, a->nprod + a->ncons, consumed, a,
			   &a->stop, s);
	if (!ret)
		ret = atomic_load(&a->err);
out:
	l3l2q_destroy(a->q2);
	l3l2q_destroy(a->q3);
	free(a);
	return ret;
}
