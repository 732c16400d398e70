// SPDX-License-Identifier: MIT
/*
 * memcpy bandwidth (the payload ceiling) and the cross-core probe.
 *
 * memcpy: one thread on opts.cpu[0] copies a message-sized buffer to
 * another, both hot in its cache, for the measured time: what a copy of the
 * payload can cost at best on this core.
 *
 * The probe is the cache-line ping-pong between the two pinned CPUs for a
 * short while; it is run before and after everything else, because where a
 * VM's vCPUs sit (same core complex or not) can change during a run, and
 * with it every cross-core number.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct marg {
	const struct bench_case *c;
	const struct bench_opts *o;
	struct bench_sample *s;
	int err;
};

static void *memcpy_thread(void *p)
{
	struct marg *a = p;
	size_t n = a->c->bytes;
	unsigned char *src = aligned_alloc(64, n + 64);
	unsigned char *dst = aligned_alloc(64, n + 64);
	uint64_t t0, t, end, i = 0, warm;
	int k;

	if (!src || !dst) {
		a->err = -ENOMEM;
		goto out;
	}
	memset(src, 1, n + 64);
	memset(dst, 0, n + 64);
	t0 = bench_now_ns();
	warm = t0 + (uint64_t)(a->o->warmup_s * 1e9);
	while (bench_now_ns() < warm)
		memcpy(dst, src, n);
	t0 = bench_now_ns();
	end = t0 + (uint64_t)(a->o->duration_s * 1e9);
	do {
		for (k = 0; k < 64; k++) {
			memcpy(dst, src, n);
			/* Keep every copy: the compiler must not merge them. */
			__asm__ __volatile__("" : : "r"(dst) : "memory");
		}
		i += 64;
		t = bench_now_ns();
	} while (t < end);
	a->s->msgs_per_s = (double)i * 1e9 / (double)(t - t0);
out:
	free(src);
	free(dst);
	return NULL;
}

int bench_memcpy(const struct bench_case *c, const struct bench_opts *o,
		 struct bench_sample *s)
{
	struct marg a = { c, o, s, 0 };
	int ret = bench_solo(o, memcpy_thread, &a);

	return ret ? ret : a.err;
}

double bench_probe(const struct bench_opts *o, double seconds)
{
	struct bench_opts q = *o;
	struct bench_case c = { BK_RTT, "cacheline", 0 };
	struct bench_sample s;

	q.warmup_s = seconds / 5;
	q.duration_s = seconds;
	memset(&s, 0, sizeof(s));
	if (bench_cacheline_rtt(&c, &q, &s))
		return -1;
	return s.p50_ns;
}
