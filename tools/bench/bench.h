/* SPDX-License-Identifier: MIT */
/*
 * l3l2q-bench: what every family of mechanisms shares.
 *
 * A "case" is one (kind, mechanism, message size).  main.c runs every
 * selected case once per repetition, round-robin over the cases, so drift of
 * the machine (other tenants, core placement) hits all cases of a repetition
 * alike; it reports the median of the repetitions and, for each target, the
 * median of the per-repetition ratios.
 *
 * Two threads per case, pinned: the producer (or the RTT client) on
 * opts.cpu[0], the consumer (or the server) on opts.cpu[1].  The main
 * thread only waits in pthread_join().
 */
#ifndef L3L2Q_BENCH_H
#define L3L2Q_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum bench_kind {
	BK_STREAM = 0,		/* one-way streaming throughput, busy-poll */
	BK_RTT,			/* round-trip latency, p50/p99 */
	BK_BSTREAM,		/* streaming through blocking calls */
	BK_MEMCPY,		/* one thread, memcpy bandwidth */
	BK_MPSTREAM,		/* streaming, many producers or consumers */
	BK_CHSTREAM,		/* streaming, N threads per side (channel) */
	BK_CHRTT,		/* request/response, N clients, N servers */
	BK_SIGWAKE,		/* notify -> wake latency, p50/p99 */
	BK_SIGNOTIFY,		/* notifies/s with nobody waiting, one thread */
	BK_NKINDS
};

struct bench_opts {
	double duration_s;	/* measured time per case and repetition */
	double warmup_s;	/* run, unmeasured, before that */
	unsigned int reps;
	int cpu[2];
	unsigned int batch;	/* messages per publish in l3l2q_batch */
	unsigned int rtt_bytes;	/* payload of a round trip */
	unsigned int producers;	/* BK_MPSTREAM: producer threads (mp) */
	unsigned int consumers;	/* BK_MPSTREAM: consumer threads (mc) */
};

struct bench_case {
	enum bench_kind kind;
	const char *mech;
	unsigned int bytes;
};

/* One repetition of one case; fields a kind does not measure stay 0. */
struct bench_sample {
	double msgs_per_s;
	double p50_ns, p99_ns;		/* BK_RTT */
	double syscalls_per_msg;	/* BK_BSTREAM */
	double kicks_per_msg, sleeps_per_msg, yields_per_msg;
};

/* Returns 0, or -errno (the case is reported as failed). */
typedef int (*bench_fn)(const struct bench_case *c,
			const struct bench_opts *o, struct bench_sample *s);

struct bench_mech {
	const char *name;
	enum bench_kind kind;
	bench_fn run;
	const char *what;	/* one line for --list and the docs */
};

/* ---- time and threads (common.c) ---- */

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void bench_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * Run @a on opts.cpu[0] and @b on opts.cpu[1], both with @arg, and wait for
 * both.  Returns 0 or -errno (thread creation or pinning failed).
 */
int bench_pair(const struct bench_opts *o, void *(*a)(void *),
	       void *(*b)(void *), void *arg);
/* Run @a with @arg on opts.cpu[0] and wait for it. */
int bench_solo(const struct bench_opts *o, void *(*a)(void *), void *arg);
/* Pin the calling thread to @cpu; 0 or -errno. */
int bench_pin(int cpu);

/* Fixed ring capacity for size @bytes, the same for every ring mechanism. */
unsigned int bench_depth(unsigned int bytes);

/*
 * Streaming control.  The consumer keeps time: it calls stream_tick() every
 * STREAM_TICK messages; after warm-up it opens the window, after the
 * duration it closes it and raises stop.  The producer polls stop once per
 * message (a line nobody writes until the end), then says it is done in its
 * own way (STOP, EOF, prod_done).
 */
#define STREAM_TICK	128u

struct stream_ctl {
	_Alignas(64) atomic_int stop;
	_Alignas(64) atomic_int prod_done;
	_Alignas(64) uint64_t warm_ns, dur_ns;
	uint64_t start, t0, t1, n0, n1;
	int phase;
	int failed;		/* a consumer check failed (content, order) */
};

void stream_init(struct stream_ctl *c, const struct bench_opts *o);
/* Consumer: @n messages received so far; returns 1 once stop is raised. */
static inline int stream_tick(struct stream_ctl *c, uint64_t n)
{
	uint64_t now = bench_now_ns();

	if (c->phase == 0) {
		if (now - c->start >= c->warm_ns) {
			c->t0 = now;
			c->n0 = n;
			c->phase = 1;
		}
	} else if (c->phase == 1 && now - c->t0 >= c->dur_ns && n > c->n0) {
		/* At least the duration and at least one message: a rate. */
		c->t1 = now;
		c->n1 = n;
		c->phase = 2;
		atomic_store_explicit(&c->stop, 1, memory_order_release);
	}
	return c->phase == 2;
}

static inline int stream_stopped(struct stream_ctl *c)
{
	return atomic_load_explicit(&c->stop, memory_order_relaxed);
}

/* msgs_per_s of a finished run, or -EIO if the consumer saw a bad message. */
int stream_result(const struct stream_ctl *c, struct bench_sample *s);

/* Payload stamps: message i carries i in its first 8 bytes (if it has them). */
static inline void stamp_put(unsigned char *p, unsigned int n, uint64_t i)
{
	if (n >= 8)
		__builtin_memcpy(p, &i, 8);
}

static inline int stamp_ok(const unsigned char *p, unsigned int n, uint64_t i)
{
	uint64_t v;

	if (n < 8)
		return 1;
	__builtin_memcpy(&v, p, 8);
	return v == i;
}

/*
 * Round trips.  The client times each round trip with one clock read per
 * iteration; samples are kept for the measured window (up to RTT_MAX_SAMPLES)
 * and reduced to p50/p99 by rtt_result().
 */
#define RTT_MAX_SAMPLES	(1u << 21)

struct rtt_ctl {
	_Alignas(64) atomic_int stop;	/* the client is done */
	uint64_t warm_ns, dur_ns;
	uint32_t *samples;
	size_t nsamples;
	uint64_t rounds;		/* measured round trips */
	uint64_t t0, t1;
	int failed;
};

int rtt_init(struct rtt_ctl *r, const struct bench_opts *o);
void rtt_free(struct rtt_ctl *r);

/* Client loop helper: 1 while the client should keep going. */
struct rtt_clock {
	uint64_t start, last;
	int phase;
};

static inline void rtt_clock_start(struct rtt_ctl *r, struct rtt_clock *k)
{
	(void)r;
	k->start = k->last = bench_now_ns();
	k->phase = 0;
}

/* Call after each round trip; returns 0 when the client should stop. */
static inline int rtt_clock_tick(struct rtt_ctl *r, struct rtt_clock *k)
{
	uint64_t now = bench_now_ns(), d = now - k->last;

	k->last = now;
	if (k->phase == 0) {
		if (now - k->start >= r->warm_ns) {
			k->phase = 1;
			r->t0 = now;
		}
		return 1;
	}
	r->rounds++;
	if (r->nsamples < RTT_MAX_SAMPLES)
		r->samples[r->nsamples++] = d > UINT32_MAX ? UINT32_MAX :
					    (uint32_t)d;
	if (now - r->t0 >= r->dur_ns) {
		r->t1 = now;
		return 0;
	}
	return 1;
}

int rtt_result(struct rtt_ctl *r, struct bench_sample *s);

/* ---- the families ---- */

/* l3l2q.c */
int bench_l3l2q_stream(const struct bench_case *, const struct bench_opts *,
		       struct bench_sample *);
int bench_l3l2q_rtt(const struct bench_case *, const struct bench_opts *,
		    struct bench_sample *);
int bench_l3l2q_bstream(const struct bench_case *, const struct bench_opts *,
			struct bench_sample *);
/* One thread, no timing: instruction profiles under callgrind (--solo). */
int bench_l3l2q_solo(const char *mech, unsigned int bytes, uint64_t count);
/* rings.c */
int bench_textbook_stream(const struct bench_case *, const struct bench_opts *,
			  struct bench_sample *);
/* One thread, the loop of bench_l3l2q_solo() (--solo). */
int bench_textbook_solo(unsigned int bytes, uint64_t count);
/* rte_ring.c */
extern const int bench_have_rte_ring;
int bench_rte_ring_stream(const struct bench_case *, const struct bench_opts *,
			  struct bench_sample *);
/* --solo: mech rte_ring (element size at run time) or rte_ring_ct (64). */
int bench_rte_ring_solo(const char *mech, unsigned int bytes, uint64_t count);
/* kipc.c */
int bench_pipe_stream(const struct bench_case *, const struct bench_opts *,
		      struct bench_sample *);
int bench_seqpacket_stream(const struct bench_case *,
			   const struct bench_opts *, struct bench_sample *);
int bench_eventfd_rtt(const struct bench_case *, const struct bench_opts *,
		      struct bench_sample *);
int bench_futex_rtt(const struct bench_case *, const struct bench_opts *,
		    struct bench_sample *);
/* latency.c */
int bench_cacheline_rtt(const struct bench_case *, const struct bench_opts *,
			struct bench_sample *);
/* probe.c */
int bench_memcpy(const struct bench_case *, const struct bench_opts *,
		 struct bench_sample *);
/* Cross-core probe: p50 round trip of a shared line, in ns (or -1). */
double bench_probe(const struct bench_opts *o, double seconds);

/*
 * Many threads (BK_MPSTREAM): the jobs run unpinned (there are more threads
 * than the two CPUs of the pairs); the caller's thread keeps time: after
 * the warm-up it reads @consumed(ctx), again after the duration, then
 * raises *stop and joins every job.  0, or -errno if a thread could not
 * start.
 */
#define BENCH_MP_MAX	16u

struct bench_job {
	void *(*fn)(void *);
	void *arg;
};

int bench_mp_run(const struct bench_opts *o, const struct bench_job *jobs,
		 unsigned int n, uint64_t (*consumed)(void *ctx), void *ctx,
		 atomic_int *stop, struct bench_sample *s);

/* mp.c: l3l2q_mp (MP input, one L2 consumer), l3l2q_mc (MC output) */
int bench_l3l2q_mpstream(const struct bench_case *, const struct bench_opts *,
			 struct bench_sample *);
/* rte_ring.c: rte_ring_mp (MP/SC), rte_ring_mc (SP/MC) */
int bench_rte_ring_mpstream(const struct bench_case *,
			    const struct bench_opts *, struct bench_sample *);

/* The largest channel message (inline in its descriptor). */
#define BENCH_CHAN_MAX_BYTES	256u

/*
 * chan.c: the HDCH channel over a memfd in one process, N threads per side
 * (the number at the end of the mechanism's name): chan_1x1, chan_8x8
 * (BK_CHSTREAM), chan_call_1, chan_call_8 (BK_CHRTT).
 */
int bench_chan_stream(const struct bench_case *, const struct bench_opts *,
		      struct bench_sample *);
int bench_chan_rtt(const struct bench_case *, const struct bench_opts *,
		   struct bench_sample *);
/* rte_ring.c: rte_ring_mpmc_1x1, rte_ring_mpmc_8x8 (BK_CHSTREAM). */
int bench_rte_ring_mpmc(const struct bench_case *, const struct bench_opts *,
			struct bench_sample *);

/*
 * sig.c: signals (HDMEM, memfd) against an eventfd and a futex word:
 * sig_spin, sig_sleep, eventfd_spin, eventfd_sleep, futex_spin,
 * futex_sleep (BK_SIGWAKE); sig_notify, eventfd_notify, futex_notify
 * (BK_SIGNOTIFY).
 */
int bench_sig_wake(const struct bench_case *, const struct bench_opts *,
		   struct bench_sample *);
int bench_sig_notify(const struct bench_case *, const struct bench_opts *,
		     struct bench_sample *);

/* Counted by the interposed sched_yield() (common.c): spin-loop yields. */
extern atomic_ulong bench_yields;

#endif /* L3L2Q_BENCH_H */
