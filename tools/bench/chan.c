// SPDX-License-Identifier: MIT
/*
 * The HDCH channel (libl3l2q_channel.h) with many threads per side, over a
 * memfd channel created and attached in this one process.
 *
 *   chan_1x1, chan_8x8   (chstream) N L3 threads, each on its own leased
 *             lane, l3l2q_chan_try_send() (copy in); N L2 threads
 *             l3l2q_chan_try_recv() (copy out).  Busy-poll, unpinned, like
 *             the mpstream cases.  Each message carries its sender's count
 *             as the correlation id: every receiver checks that, lane by
 *             lane, what it takes increases (a lane's messages are taken in
 *             order, whoever takes them).
 *   chan_call_1, chan_call_8  (chrtt) N L3 threads l3l2q_chan_call() (the
 *             request/response helper: fresh correlation id, blocking
 *             wait for the matching reply); N L2 threads l3l2q_chan_recv()
 *             and echo the payload on L3L2Q_CHAN_ROUTE_REPLY.  Every reply
 *             is checked against its request.  p50/p99 over every client's
 *             calls; the rate is the round trips of all clients;
 *             sleeps_per_call counts the sleeps of both sides (the
 *             contexts' stats) per call, over the whole run.
 *
 * rte_ring_mpmc_1x1/8x8 (rte_ring.c) are the same streaming with DPDK's
 * MP/MC ring; the queue's cases (l3l2q_batch, l3l2q_mp) run in the same
 * run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libl3l2q_channel.h"
#include "bench.h"

#define CH_LANE_DEPTH	256u
#define CH_RTT_SAMPLES	(1u << 18)	/* per client thread */
#define CH_WAIT_NS	50000000ull	/* one blocking call of a server */
#define CH_WATCHDOG_NS	60000000000ull	/* a call that hangs: broken */

struct cht {
	struct cha *a;
	unsigned int id;
	struct l3l2q_chan_ctx ctx;
	uint32_t *samples;
	size_t nsamples;
	_Alignas(64) atomic_ullong got;	/* taken (stream) or calls (rtt) */
};

struct cha {
	struct l3l2q_channel *c3, *c2;
	unsigned int bytes, n;
	uint64_t start, warm_ns;
	atomic_int stop;
	atomic_int err;
	atomic_uint clients_done;
	struct cht t[BENCH_MP_MAX];
};

/* Threads per side: the number after the last '_' or 'x' of the name. */
static unsigned int ch_threads(const char *mech)
{
	const char *p = strrchr(mech, 'x'), *q = strrchr(mech, '_');

	if (!p || (q && q > p))
		p = q;
	return p ? (unsigned int)atoi(p + 1) : 0;
}

static void ch_fail(struct cha *a, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&a->err, &zero, err);
	atomic_store(&a->stop, 1);
}

static int ch_stopped(struct cha *a)
{
	return atomic_load_explicit(&a->stop, memory_order_relaxed);
}

/* ---- streaming ---- */

static void *ch_sender(void *p)
{
	struct cht *t = p;
	struct cha *a = t->a;
	unsigned char buf[L3L2Q_CHAN_INLINE_BYTES];
	uint64_t i = 0;
	int ret;

	memset(buf, 0xa5, sizeof(buf));
	ret = l3l2q_chan_lease(&t->ctx, t->id, bench_now_ns() + CH_WATCHDOG_NS);
	if (ret) {
		ch_fail(a, ret);
		return NULL;
	}
	while (!ch_stopped(a)) {
		stamp_put(buf, a->bytes, ++i);
		while ((ret = l3l2q_chan_try_send(&t->ctx, t->id, i, buf,
						  a->bytes)) == -EAGAIN) {
			if (ch_stopped(a))
				goto out;
			bench_pause();
		}
		if (ret) {
			ch_fail(a, ret);
			break;
		}
	}
out:
	l3l2q_chan_unlease(&t->ctx);
	return NULL;
}

static void *ch_receiver(void *p)
{
	struct cht *t = p;
	struct cha *a = t->a;
	unsigned char buf[L3L2Q_CHAN_INLINE_BYTES];
	uint64_t last[L3L2Q_CHAN_LANES_MAX] = { 0 }, got = 0;
	struct l3l2q_chan_msg m;
	int ret;

	while (!ch_stopped(a)) {
		ret = l3l2q_chan_try_recv(&t->ctx, buf, sizeof(buf), &m);
		if (ret == -EAGAIN) {
			bench_pause();
			continue;
		}
		if (!ret && (m.nbytes != a->bytes ||
			     m.lane >= L3L2Q_CHAN_LANES_MAX ||
			     m.correlation_id <= last[m.lane] ||
			     !stamp_ok(buf, a->bytes, m.correlation_id)))
			ret = -EBADMSG;
		if (ret) {
			ch_fail(a, ret);
			break;
		}
		last[m.lane] = m.correlation_id;
		atomic_store_explicit(&t->got, ++got, memory_order_relaxed);
	}
	return NULL;
}

/* ---- request / response ---- */

static void *ch_client(void *p)
{
	struct cht *t = p;
	struct cha *a = t->a;
	unsigned char req[64], rep[L3L2Q_CHAN_INLINE_BYTES];
	struct l3l2q_chan_msg m;
	uint64_t i = 0, t0, t1;
	int ret;

	memset(req, 0x5a, sizeof(req));
	ret = l3l2q_chan_lease(&t->ctx, t->id, bench_now_ns() + CH_WATCHDOG_NS);
	if (ret) {
		ch_fail(a, ret);
		goto done;
	}
	t0 = bench_now_ns();
	while (!ch_stopped(a)) {
		stamp_put(req, a->bytes, ++i);
		ret = l3l2q_chan_call(&t->ctx, t->id, req, a->bytes, rep,
				      sizeof(rep), t0 + CH_WATCHDOG_NS, &m);
		t1 = bench_now_ns();
		if (!ret && (m.nbytes != a->bytes ||
			     m.route != L3L2Q_CHAN_ROUTE_REPLY ||
			     memcmp(rep, req, a->bytes)))
			ret = -EBADMSG;
		if (ret) {
			ch_fail(a, ret);
			break;
		}
		/* Every call that ends after the warm-up (at least one does). */
		if (t1 - a->start >= a->warm_ns &&
		    t->nsamples < CH_RTT_SAMPLES)
			t->samples[t->nsamples++] = t1 - t0 > UINT32_MAX ?
				UINT32_MAX : (uint32_t)(t1 - t0);
		atomic_store_explicit(&t->got, i, memory_order_relaxed);
		t0 = t1;
	}
	l3l2q_chan_unlease(&t->ctx);
done:
	atomic_fetch_add(&a->clients_done, 1);
	return NULL;
}

static void *ch_server(void *p)
{
	struct cht *t = p;
	struct cha *a = t->a;
	unsigned char buf[L3L2Q_CHAN_INLINE_BYTES];
	struct l3l2q_chan_msg m;
	int ret;

	ret = l3l2q_chan_lease(&t->ctx, t->id, bench_now_ns() + CH_WATCHDOG_NS);
	if (ret) {
		ch_fail(a, ret);
		return NULL;
	}
	/* Until every client is done: a client may still wait for a reply. */
	while (atomic_load(&a->clients_done) < a->n) {
		ret = l3l2q_chan_recv(&t->ctx, buf, sizeof(buf),
				      bench_now_ns() + CH_WAIT_NS, &m);
		if (ret == -ETIMEDOUT)
			continue;
		if (!ret && m.route >= a->n)
			ret = -EBADMSG;
		if (!ret)
			ret = l3l2q_chan_send(&t->ctx, L3L2Q_CHAN_ROUTE_REPLY,
					      m.correlation_id, buf, m.nbytes,
					      bench_now_ns() + CH_WATCHDOG_NS);
		if (ret) {
			ch_fail(a, ret);
			break;
		}
	}
	l3l2q_chan_unlease(&t->ctx);
	return NULL;
}

/* ---- both ---- */

static uint64_t ch_consumed(void *ctx)
{
	struct cha *a = ctx;
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < 2 * a->n; i++)
		n += atomic_load_explicit(&a->t[i].got, memory_order_relaxed);
	return n;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static int ch_percentiles(struct cha *a, struct bench_sample *s)
{
	size_t total = 0, k = 0;
	uint32_t *all;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		total += a->t[i].nsamples;
	if (!total)
		return -ENODATA;
	all = malloc(total * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < a->n; i++) {
		memcpy(all + k, a->t[i].samples,
		       a->t[i].nsamples * sizeof(*all));
		k += a->t[i].nsamples;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	s->p50_ns = all[total / 2];
	s->p99_ns = all[total * 99 / 100];
	free(all);
	return 0;
}

static int ch_run(const struct bench_case *c, const struct bench_opts *o,
		  struct bench_sample *s, int rtt)
{
	struct l3l2q_channel_params p = { 0 };
	struct bench_job jobs[BENCH_MP_MAX];
	struct cha *a = calloc(1, sizeof(*a));
	struct l3l2q_error e;
	unsigned int i;
	int ret, fd;

	if (!a)
		return -ENOMEM;
	a->n = ch_threads(c->mech);
	a->bytes = c->bytes;
	if (!a->n || 2 * a->n > BENCH_MP_MAX ||
	    a->n > L3L2Q_CHAN_LANES_MAX || c->bytes > L3L2Q_CHAN_INLINE_BYTES) {
		free(a);
		return -EINVAL;
	}
	p.lanes_to_l2 = a->n;
	p.lanes_to_l3 = a->n;
	p.lane_depth = CH_LANE_DEPTH;
	p.max_message_bytes = L3L2Q_CHAN_INLINE_BYTES;
	p.backend = L3L2Q_BACKEND_MEMFD;
	ret = l3l2q_channel_create(&p, &a->c3, &e);
	if (ret)
		goto out;
	fd = l3l2q_channel_peer_fd(a->c3);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	ret = l3l2q_channel_attach(fd, &a->c2, &e);
	if (ret)
		goto out;
	for (i = 0; i < 2 * a->n; i++) {
		struct cht *t = &a->t[i];
		int l3 = i < a->n;

		t->a = a;
		t->id = l3 ? i : i - a->n;
		l3l2q_chan_ctx_init(&t->ctx, l3l2q_channel_chan(l3 ? a->c3 :
								 a->c2));
		if (rtt && l3) {
			t->samples = malloc(CH_RTT_SAMPLES *
					    sizeof(*t->samples));
			if (!t->samples) {
				ret = -ENOMEM;
				goto out;
			}
		}
		jobs[i].fn = rtt ? (l3 ? ch_client : ch_server) :
				   (l3 ? ch_sender : ch_receiver);
		jobs[i].arg = t;
	}
	a->start = bench_now_ns();
	a->warm_ns = (uint64_t)(o->warmup_s * 1e9);
	ret = bench_mp_run(o, jobs, 2 * a->n, ch_consumed, a, &a->stop, s);
	if (!ret)
		ret = atomic_load(&a->err);
	if (!ret && rtt)
		ret = ch_percentiles(a, s);
	if (!ret && rtt) {
		/* How often a call or a server went to sleep (whole run). */
		uint64_t sleeps = 0, calls = 0;

		for (i = 0; i < 2 * a->n; i++) {
			sleeps += l3l2q_chan_stats(&a->t[i].ctx)->sleeps;
			calls += atomic_load(&a->t[i].got);
		}
		s->sleeps_per_msg = calls ? (double)sleeps / calls : 0;
	}
out:
	for (i = 0; i < BENCH_MP_MAX; i++)
		free(a->t[i].samples);
	l3l2q_channel_destroy(a->c2);
	l3l2q_channel_destroy(a->c3);
	free(a);
	return ret;
}

int bench_chan_stream(const struct bench_case *c, const struct bench_opts *o,
		      struct bench_sample *s)
{
	return ch_run(c, o, s, 0);
}

int bench_chan_rtt(const struct bench_case *c, const struct bench_opts *o,
		   struct bench_sample *s)
{
	return ch_run(c, o, s, 1);
}
