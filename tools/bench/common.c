// SPDX-License-Identifier: MIT
/*
 * Threads, pinning, the streaming clock and round-trip statistics.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

atomic_ulong bench_yields;

/*
 * The library's spin loop yields now and then (lib/user/queue.c,
 * env_relax).  That is a system call the library's own statistics do not
 * count, so the bench interposes sched_yield() -- the executable's
 * definition wins over libc's for the statically linked library -- and
 * counts it.  No seccomp, no ptrace.
 */
int sched_yield(void)
{
	atomic_fetch_add_explicit(&bench_yields, 1, memory_order_relaxed);
	return (int)syscall(SYS_sched_yield);
}

int bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

struct pin_arg {
	void *(*fn)(void *);
	void *arg;
	int cpu;
	int err;
};

static void *pinned(void *p)
{
	struct pin_arg *a = p;

	a->err = bench_pin(a->cpu);
	/* A thread that could not be pinned still runs, or its peer hangs. */
	return a->fn(a->arg);
}

int bench_pair(const struct bench_opts *o, void *(*a)(void *),
	       void *(*b)(void *), void *arg)
{
	struct pin_arg pa = { a, arg, o->cpu[0], 0 };
	struct pin_arg pb = { b, arg, o->cpu[1], 0 };
	pthread_t ta, tb;
	int ret;

	ret = pthread_create(&tb, NULL, pinned, &pb);
	if (ret)
		return -ret;
	ret = pthread_create(&ta, NULL, pinned, &pa);
	if (ret) {
		/* b waits for a peer that will never come: the caller aborts. */
		return -ret;
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	return pa.err ? pa.err : pb.err;
}

int bench_solo(const struct bench_opts *o, void *(*a)(void *), void *arg)
{
	struct pin_arg pa = { a, arg, o->cpu[0], 0 };
	pthread_t ta;
	int ret;

	ret = pthread_create(&ta, NULL, pinned, &pa);
	if (ret)
		return -ret;
	pthread_join(ta, NULL);
	return pa.err;
}

unsigned int bench_depth(unsigned int bytes)
{
	/* 256 slots, but at most 1 MiB of payload in flight. */
	unsigned int d = 256;

	while (d > 4 && (unsigned long)d * bytes > (1ul << 20))
		d /= 2;
	return d;
}

void stream_init(struct stream_ctl *c, const struct bench_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->warm_ns = (uint64_t)(o->warmup_s * 1e9);
	c->dur_ns = (uint64_t)(o->duration_s * 1e9);
	c->start = bench_now_ns();
}

int stream_result(const struct stream_ctl *c, struct bench_sample *s)
{
	if (c->failed)
		return -EIO;
	if (c->phase != 2 || c->t1 <= c->t0)
		return -ETIME;
	s->msgs_per_s = (double)(c->n1 - c->n0) * 1e9 / (double)(c->t1 - c->t0);
	return 0;
}

static void sleep_s(double sec)
{
	struct timespec ts = { (time_t)sec,
			       (long)((sec - (double)(time_t)sec) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int bench_mp_run(const struct bench_opts *o, const struct bench_job *jobs,
		 unsigned int n, uint64_t (*consumed)(void *ctx), void *ctx,
		 atomic_int *stop, struct bench_sample *s)
{
	pthread_t t[BENCH_MP_MAX];
	uint64_t n0, n1, t0, t1;
	unsigned int i, started;
	int ret = 0;

	for (started = 0; started < n && started < BENCH_MP_MAX; started++) {
		ret = -pthread_create(&t[started], NULL, jobs[started].fn,
				      jobs[started].arg);
		if (ret)
			break;
	}
	if (!ret) {
		sleep_s(o->warmup_s);
		n0 = consumed(ctx);
		t0 = bench_now_ns();
		sleep_s(o->duration_s);
		n1 = consumed(ctx);
		/*
		 * At least one message, so a rate is measured however slow
		 * the machine (a minute without one: broken, rate 0).
		 */
		for (i = 0; n1 == n0 && i < 60000; i++) {
			sleep_s(0.001);
			n1 = consumed(ctx);
		}
		t1 = bench_now_ns();
		s->msgs_per_s = t1 > t0 ? (double)(n1 - n0) * 1e9 /
					  (double)(t1 - t0) : 0;
	}
	atomic_store(stop, 1);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return ret;
}

int rtt_init(struct rtt_ctl *r, const struct bench_opts *o)
{
	memset(r, 0, sizeof(*r));
	r->warm_ns = (uint64_t)(o->warmup_s * 1e9);
	r->dur_ns = (uint64_t)(o->duration_s * 1e9);
	r->samples = malloc(sizeof(*r->samples) * RTT_MAX_SAMPLES);
	return r->samples ? 0 : -ENOMEM;
}

void rtt_free(struct rtt_ctl *r)
{
	free(r->samples);
	r->samples = NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int rtt_result(struct rtt_ctl *r, struct bench_sample *s)
{
	if (r->failed)
		return -EIO;
	if (!r->nsamples || r->t1 <= r->t0)
		return -ETIME;
	qsort(r->samples, r->nsamples, sizeof(*r->samples), cmp_u32);
	s->p50_ns = r->samples[r->nsamples / 2];
	s->p99_ns = r->samples[(size_t)((double)r->nsamples * 0.99)];
	s->msgs_per_s = (double)r->rounds * 1e9 / (double)(r->t1 - r->t0);
	return 0;
}
