// SPDX-License-Identifier: MIT
/*
 * The floor of any shared-memory round trip: one cache line, ping-pong.
 * The client writes an odd number, the server spins until it sees it and
 * writes the next even number back; no payload, no protocol.  A round trip
 * is two transfers of the line between the two cores.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct carg {
	_Alignas(64) _Atomic uint64_t line;
	_Alignas(64) struct rtt_ctl r;
};

#define CL_QUIT	(~(uint64_t)0)

static void *cl_client(void *p)
{
	struct carg *a = p;
	struct rtt_clock k;
	uint64_t v = 0;

	rtt_clock_start(&a->r, &k);
	do {
		atomic_store_explicit(&a->line, v + 1, memory_order_release);
		while (atomic_load_explicit(&a->line, memory_order_acquire) !=
		       v + 2)
			bench_pause();
		v += 2;
	} while (rtt_clock_tick(&a->r, &k));
	atomic_store_explicit(&a->line, CL_QUIT, memory_order_release);
	return NULL;
}

static void *cl_server(void *p)
{
	struct carg *a = p;
	uint64_t v;

	for (;;) {
		while (!((v = atomic_load_explicit(&a->line,
						   memory_order_acquire)) & 1))
			bench_pause();
		if (v == CL_QUIT)
			break;
		atomic_store_explicit(&a->line, v + 1, memory_order_release);
	}
	return NULL;
}

int bench_cacheline_rtt(const struct bench_case *c, const struct bench_opts *o,
			struct bench_sample *s)
{
	struct carg *a = aligned_alloc(64, sizeof(*a));
	int ret;

	(void)c;
	if (!a)
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	ret = rtt_init(&a->r, o);
	if (!ret) {
		ret = bench_pair(o, cl_client, cl_server, a);
		if (!ret)
			ret = rtt_result(&a->r, s);
		rtt_free(&a->r);
	}
	free(a);
	return ret;
}
