// SPDX-License-Identifier: MIT
/*
 * l3l2q itself, through the real library over a memfd queue: the L3
 * endpoint (l3l2q_create) on one thread, the L2 endpoint (l3l2q_attach of
 * the peer fd in the same process) on the other.  Streaming goes down the
 * input ring (L3 produces, L2 consumes); a round trip goes down the input
 * ring and back up the output ring.
 *
 * Streaming forms (mech=):
 *   l3l2q_copy   the copy API on both sides: L3 l3l2q_l3_try_enqueue copies
 *                the payload in and publishes; L2 l3l2q_l2_try_dequeue
 *                copies it out and releases.  The same work as the rings
 *                with a copy.  (Blocking: l3l2q_l3_enqueue; l3l2q_l2_peek,
 *                a memcpy, l3l2q_l2_release, as there is no blocking L2
 *                dequeue.)
 *   l3l2q_zc     L3 reserves, fills the span in place, publishes; L2 peeks
 *                and uses the payload in place (checks its stamp), releases.
 *   l3l2q_batch  the batch APIs on both sides (--batch, 32): L3 reserves up
 *                to a batch of contiguous slots and payloads at once
 *                (l3l2q_l3_try_reserve_batch), fills each in place and
 *                publishes them with one tail store
 *                (l3l2q_l3_submit_batch); L2 takes up to a batch at once
 *                with its window (l3l2q_l2_try_peek_batch), checks each
 *                stamp in place and releases them by count with one head
 *                store (l3l2q_l2_release_oldest).
 * Busy-poll loops are the bench's own (try_ calls and a pause); blocking
 * forms use the library's blocking calls (spin, then sleep on the eventfd).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libl3l2q.h"
#include "bench.h"

struct lq {
	struct l3l2q_queue *q3, *q2;
	struct l3l2q_l3 *l3;
	struct l3l2q_l2 *l2;
};

static unsigned int round64(unsigned int n)
{
	return n < 64 ? 64 : (n + 63) & ~63u;
}

static int lq_open(struct lq *lq, unsigned int depth, unsigned int in_bytes,
		   unsigned int out_bytes, unsigned int window)
{
	struct l3l2q_params p = {
		.depth = depth,
		.input_arena_bytes = in_bytes,
		.output_arena_bytes = out_bytes,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_attach_params ap = { .max_inflight = window };
	struct l3l2q_error err;
	int fd, ret;

	memset(lq, 0, sizeof(*lq));
	ret = l3l2q_create(&p, &lq->q3, &err);
	if (ret)
		return ret;
	fd = l3l2q_peer_fd(lq->q3);
	if (fd < 0) {
		l3l2q_destroy(lq->q3);
		return fd;
	}
	ret = l3l2q_attach(fd, &ap, &lq->q2, &err);
	if (ret) {
		l3l2q_destroy(lq->q3);
		return ret;
	}
	lq->l3 = l3l2q_queue_l3(lq->q3);
	lq->l2 = l3l2q_queue_l2(lq->q2);
	return 0;
}

static void lq_close(struct lq *lq)
{
	l3l2q_destroy(lq->q2);
	l3l2q_destroy(lq->q3);
}

enum form { F_COPY, F_ZC, F_BATCH, F_BLOCK };

struct sarg {
	struct lq lq;
	struct stream_ctl ctl;
	enum form form;
	unsigned int bytes, batch;
	int err;
};

/* After the window: STOP ends the consumer's loop.  Bounded, in case the
 * consumer failed and stopped draining. */
static void producer_stop(struct sarg *a)
{
	uint64_t until = bench_now_ns() + 2000000000ull;
	int ret;

	while ((ret = l3l2q_l3_try_request_stop(a->lq.l3)) == -EAGAIN &&
	       bench_now_ns() < until)
		bench_pause();
	if (ret && !a->err)
		a->err = ret;
}

static void *stream_producer(void *p)
{
	struct sarg *a = p;
	struct l3l2q_l3 *l3 = a->lq.l3;
	unsigned int n = a->bytes, k = 0;
	unsigned char *src = calloc(1, round64(n));
	struct l3l2q_batch b;
	struct l3l2q_res res;
	uint64_t i = 0;
	int ret = 0;

	if (!src) {
		a->err = -ENOMEM;
		atomic_store(&a->ctl.stop, 1);
		return NULL;
	}
	while (!stream_stopped(&a->ctl)) {
		stamp_put(src, n, i);
		switch (a->form) {
		case F_COPY:
			while ((ret = l3l2q_l3_try_enqueue(l3, L3L2Q_OP_DATA,
							   src, n)) == -EAGAIN) {
				if (stream_stopped(&a->ctl))
					goto out;
				bench_pause();
			}
			break;
		case F_BLOCK:
			ret = l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, src, n,
					       L3L2Q_DEADLINE_NONE);
			break;
		case F_BATCH:
			while ((ret = l3l2q_l3_try_reserve_batch(l3, n, a->batch,
								 &b)) ==
			       -EAGAIN) {
				if (stream_stopped(&a->ctl))
					goto out;
				bench_pause();
			}
			if (ret < 0)
				break;
			for (k = 0; k < (unsigned int)ret; k++) {
				stamp_put(src, n, i + k);
				if (n)
					memcpy((unsigned char *)b.data +
					       (size_t)k * n, src, n);
			}
			i += k - 1;	/* the loop counts the last one */
			ret = l3l2q_l3_submit_batch(l3, &b, k, L3L2Q_OP_DATA);
			break;
		case F_ZC:
			while ((ret = l3l2q_l3_try_reserve(l3, n, &res)) ==
			       -EAGAIN) {
				if (stream_stopped(&a->ctl))
					goto out;
				bench_pause();
			}
			if (ret)
				break;
			if (n)
				memcpy(res.data, src, n);
			ret = l3l2q_l3_publish(l3, &res, L3L2Q_OP_DATA);
			break;
		}
		if (ret) {
			a->err = ret;
			break;
		}
		i++;
	}
out:
	free(src);
	producer_stop(a);
	return NULL;
}


static void consumer_fail(struct sarg *a, int err)
{
	if (!a->err)
		a->err = err;
	a->ctl.failed = 1;
	atomic_store(&a->ctl.stop, 1);
}

/* l3l2q_batch: take up to a batch, check each in place, release by count. */
static void *stream_consumer_batch(struct sarg *a)
{
	struct l3l2q_l2 *l2 = a->lq.l2;
	struct l3l2q_msg win[L3L2Q_WINDOW_MAX + 1];
	unsigned int n = a->bytes, k;
	uint64_t i = 0;
	int ret;

	for (;;) {
		ret = l3l2q_l2_try_peek_batch(l2, win, a->batch);
		if (ret == -EAGAIN) {
			bench_pause();
			continue;
		}
		if (ret < 0) {
			consumer_fail(a, ret);
			return NULL;
		}
		for (k = 0; k < (unsigned int)ret; k++) {
			if (win[k].opcode == L3L2Q_OP_STOP)
				break;
			if (win[k].nbytes != n || !stamp_ok(win[k].data, n, i)) {
				consumer_fail(a, -EBADMSG);
				return NULL;
			}
			i++;
			if (!(i % STREAM_TICK))
				stream_tick(&a->ctl, i);
		}
		if (k < (unsigned int)ret) {	/* STOP, the last */
			(void)l3l2q_l2_release_oldest(l2, (__u32)ret);
			return NULL;
		}
		ret = l3l2q_l2_release_oldest(l2, (__u32)ret);
		if (ret) {
			consumer_fail(a, ret);
			return NULL;
		}
	}
}

static void *stream_consumer(void *p)
{
	struct sarg *a = p;
	struct l3l2q_l2 *l2 = a->lq.l2;
	unsigned int n = a->bytes, held = 0;
	unsigned char *dst = calloc(1, round64(n));
	struct l3l2q_msg m, win[L3L2Q_WINDOW_MAX + 1];
	uint64_t i = 0;
	int ret, done = 0;

	if (a->form == F_BATCH) {
		free(dst);
		return stream_consumer_batch(a);
	}
	if (!dst) {
		consumer_fail(a, -ENOMEM);
		return NULL;
	}
	while (!done) {
		if (a->form == F_COPY) {
			/* Copied out and released, or STOP (released). */
			ret = l3l2q_l2_try_dequeue(l2, dst, n, &m);
			if (!ret && m.opcode == L3L2Q_OP_STOP)
				break;
			if (!ret && (m.nbytes != n || !stamp_ok(dst, n, i)))
				ret = -EBADMSG;
			if (ret == -EAGAIN) {
				bench_pause();
				continue;
			}
			if (ret) {
				consumer_fail(a, ret);
				break;
			}
			i++;
			if (!(i % STREAM_TICK))
				stream_tick(&a->ctl, i);
			continue;
		}
		if (a->form == F_BLOCK)
			ret = l3l2q_l2_peek(l2, L3L2Q_DEADLINE_NONE, &m);
		else
			ret = l3l2q_l2_try_peek(l2, &m);
		if (ret == -EAGAIN) {
			if (held)
				goto flush;	/* nothing more now: release */
			bench_pause();
			continue;
		}
		if (ret) {
			consumer_fail(a, ret);
			break;
		}
		if (m.opcode == L3L2Q_OP_STOP) {
			done = 1;
			if (held) {
				win[held++] = m;
				goto flush;
			}
			l3l2q_l2_release(l2, &m);
			break;
		}
		if (m.nbytes != n) {
			consumer_fail(a, -EBADMSG);
			break;
		}
		if (a->form == F_BLOCK) {
			if (n)
				memcpy(dst, m.data, n);
			if (!stamp_ok(dst, n, i))
				consumer_fail(a, -EBADMSG);
		} else if (!stamp_ok(m.data, n, i)) {
			consumer_fail(a, -EBADMSG);
		}
		i++;
		if (!(i % STREAM_TICK))
			stream_tick(&a->ctl, i);
		if (a->form == F_BATCH) {
			win[held++] = m;
			if (held < a->batch)
				continue;
		} else {
			ret = l3l2q_l2_release(l2, &m);
			if (ret)
				consumer_fail(a, ret);
			continue;
		}
flush:
		ret = l3l2q_l2_release_batch(l2, win, held);
		if (ret)
			consumer_fail(a, ret);
		held = 0;
	}
	free(dst);
	return NULL;
}

static int stream_common(const struct bench_case *c, const struct bench_opts *o,
			 struct bench_sample *s, enum form form)
{
	unsigned int depth = bench_depth(c->bytes);
	unsigned int arena = depth * round64(c->bytes);
	unsigned int window = 1;
	struct l3l2q_stats st3, st2;
	struct sarg *a;
	unsigned long y0;
	uint64_t msgs;
	int ret;

	if (form == F_BATCH) {
		window = o->batch < depth ? o->batch : depth;
		if (window > L3L2Q_WINDOW_MAX)
			window = L3L2Q_WINDOW_MAX;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->form = form;
	a->bytes = c->bytes;
	a->batch = window;
	ret = lq_open(&a->lq, depth, arena, 64, window);
	if (ret) {
		free(a);
		return ret;
	}
	y0 = atomic_load(&bench_yields);
	stream_init(&a->ctl, o);
	ret = bench_pair(o, stream_producer, stream_consumer, a);
	if (!ret)
		ret = a->err;
	if (!ret)
		ret = stream_result(&a->ctl, s);
	if (!ret && form == F_BLOCK) {
		/*
		 * System calls the library made, whole run (warm-up
		 * included): a kick is one eventfd write; a sleep is one
		 * ppoll plus one eventfd read (lib/user/memfd.c); a yield is
		 * one sched_yield from the spin loop.
		 */
		l3l2q_ep_stats(&a->lq.l3->ep, &st3);
		l3l2q_ep_stats(&a->lq.l2->ep, &st2);
		msgs = a->ctl.n1 ? a->ctl.n1 : 1;
		s->kicks_per_msg = (double)(st3.kicks + st2.kicks) / msgs;
		s->sleeps_per_msg = (double)(st3.sleeps + st2.sleeps) / msgs;
		s->yields_per_msg = (double)(atomic_load(&bench_yields) - y0) /
				    msgs;
		s->syscalls_per_msg = s->kicks_per_msg +
				      2 * s->sleeps_per_msg + s->yields_per_msg;
	}
	lq_close(&a->lq);
	free(a);
	return ret;
}

int bench_l3l2q_stream(const struct bench_case *c, const struct bench_opts *o,
		       struct bench_sample *s)
{
	if (!strcmp(c->mech, "l3l2q_copy"))
		return stream_common(c, o, s, F_COPY);
	if (!strcmp(c->mech, "l3l2q_zc"))
		return stream_common(c, o, s, F_ZC);
	return stream_common(c, o, s, F_BATCH);
}

int bench_l3l2q_bstream(const struct bench_case *c, const struct bench_opts *o,
			struct bench_sample *s)
{
	return stream_common(c, o, s, F_BLOCK);
}

/* ---- round trips ---- */

struct rarg {
	struct lq lq;
	struct rtt_ctl r;
	int blocking;
	unsigned int bytes;
	int err;
};

static void *rtt_client(void *p)
{
	struct rarg *a = p;
	struct l3l2q_l3 *l3 = a->lq.l3;
	unsigned char buf[64] = { 0 }, in[64];
	unsigned int n = a->bytes;
	struct rtt_clock k;
	uint64_t i = 0;
	int ret;

	rtt_clock_start(&a->r, &k);
	do {
		stamp_put(buf, n, i);
		if (a->blocking)
			ret = l3l2q_l3_enqueue(l3, L3L2Q_OP_DATA, buf, n,
					       L3L2Q_DEADLINE_NONE);
		else
			while ((ret = l3l2q_l3_try_enqueue(l3, L3L2Q_OP_DATA,
							   buf, n)) == -EAGAIN)
				bench_pause();
		if (ret)
			break;
		if (a->blocking)
			ret = l3l2q_l3_dequeue(l3, in, sizeof(in),
					       L3L2Q_DEADLINE_NONE, NULL);
		else
			while ((ret = l3l2q_l3_try_dequeue(l3, in, sizeof(in),
							   NULL)) == -EAGAIN)
				bench_pause();
		if (ret)
			break;
		if (!stamp_ok(in, n, i))
			a->r.failed = 1;
		i++;
	} while (rtt_clock_tick(&a->r, &k));
	if (ret)
		a->err = ret;
	ret = l3l2q_l3_request_stop(l3, l3l2q_deadline_in(2000000000ull));
	if (ret && !a->err)
		a->err = ret;
	return NULL;
}

static void *rtt_server(void *p)
{
	struct rarg *a = p;
	struct l3l2q_l2 *l2 = a->lq.l2;
	struct l3l2q_msg m;
	struct l3l2q_res res;
	int ret;

	for (;;) {
		if (a->blocking)
			ret = l3l2q_l2_peek(l2, L3L2Q_DEADLINE_NONE, &m);
		else
			while ((ret = l3l2q_l2_try_peek(l2, &m)) == -EAGAIN)
				bench_pause();
		if (ret)
			break;
		if (m.opcode == L3L2Q_OP_STOP) {
			ret = l3l2q_l2_release(l2, &m);
			break;
		}
		if (a->blocking)
			ret = l3l2q_l2_reserve(l2, m.nbytes,
					       L3L2Q_DEADLINE_NONE, &res);
		else
			while ((ret = l3l2q_l2_try_reserve(l2, m.nbytes,
							   &res)) == -EAGAIN)
				bench_pause();
		if (ret)
			break;
		if (m.nbytes)
			memcpy(res.data, m.data, m.nbytes);
		ret = l3l2q_l2_publish(l2, &res, L3L2Q_OP_DATA);
		if (!ret)
			ret = l3l2q_l2_release(l2, &m);
		if (ret)
			break;
	}
	if (ret && !a->err)
		a->err = ret;
	return NULL;
}

int bench_l3l2q_rtt(const struct bench_case *c, const struct bench_opts *o,
		    struct bench_sample *s)
{
	struct rarg *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	a->bytes = c->bytes > 64 ? 64 : c->bytes;
	a->blocking = strcmp(c->mech, "l3l2q_poll") != 0;
	ret = lq_open(&a->lq, 64, 4096, 4096, 1);
	if (!ret)
		ret = rtt_init(&a->r, o);
	if (ret) {
		free(a);
		return ret;
	}
	if (!strcmp(c->mech, "l3l2q_sleep")) {
		/* No spinning: every wait that fails once sleeps. */
		l3l2q_ep_set_spin_attempts(&a->lq.l3->ep, 1);
		l3l2q_ep_set_spin_attempts(&a->lq.l2->ep, 1);
	}
	ret = bench_pair(o, rtt_client, rtt_server, a);
	if (!ret)
		ret = a->err;
	if (!ret)
		ret = rtt_result(&a->r, s);
	rtt_free(&a->r);
	lq_close(&a->lq);
	free(a);
	return ret;
}

/* ---- one thread, for instruction profiles (--solo) ---- */

/*
 * Move @count messages of @bytes through l3l2q in @form on one thread:
 * fill the ring until it is full, then drain it.  No second core, no
 * timing: under callgrind the instruction count per message of the core's
 * paths, without scheduling noise.
 */
/* l3l2q_batch's fill and drain: the batch APIs on both sides. */
static int solo_batch(struct lq *lq, unsigned char *buf, unsigned int bytes,
		      uint64_t count)
{
	struct l3l2q_msg win[32];
	struct l3l2q_batch b;
	uint64_t sent = 0, got = 0;
	int ret = 0, k, i;

	while (!ret && got < count) {
		while (sent < count) {
			k = l3l2q_l3_try_reserve_batch(lq->l3, bytes,
						       count - sent < 32 ?
						       (__u32)(count - sent) : 32,
						       &b);
			if (k < 0) {
				ret = k;
				break;
			}
			for (i = 0; i < k; i++) {
				stamp_put(buf, bytes, sent + i);
				if (bytes)
					memcpy((unsigned char *)b.data +
					       (size_t)i * bytes, buf, bytes);
			}
			ret = l3l2q_l3_submit_batch(lq->l3, &b, (__u32)k,
						    L3L2Q_OP_DATA);
			if (ret)
				return ret;
			sent += (uint64_t)k;
		}
		if (ret != -EAGAIN && ret)
			break;
		while ((k = l3l2q_l2_try_peek_batch(lq->l2, win, 32)) > 0) {
			for (i = 0; i < k; i++, got++)
				if (win[i].nbytes != bytes ||
				    !stamp_ok(win[i].data, bytes, got))
					return -EBADMSG;
			ret = l3l2q_l2_release_oldest(lq->l2, (__u32)k);
			if (ret)
				return ret;
		}
		ret = k == -EAGAIN ? 0 : k;
	}
	return ret;
}

int bench_l3l2q_solo(const char *mech, unsigned int bytes, uint64_t count)
{
	enum form form = !strcmp(mech, "l3l2q_zc") ? F_ZC :
			 !strcmp(mech, "l3l2q_batch") ? F_BATCH : F_COPY;
	unsigned int depth = bench_depth(bytes), window = form == F_BATCH ? 32 : 1;
	unsigned char *buf = calloc(1, round64(bytes));
	struct l3l2q_msg m;
	struct l3l2q_res res;
	uint64_t sent = 0, got = 0;
	struct lq lq;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = lq_open(&lq, depth, depth * round64(bytes), 64, window);
	if (ret) {
		free(buf);
		return ret;
	}
	/*
	 * Callgrind's CPU has no PREFETCHW, so the producer would skip the
	 * write prefetch after each batch that real CPUs make
	 * (lib/core/prefetch.h); count that path too.
	 */
	lq.l3->in.pf_write = 1;
	if (form == F_BATCH)
		ret = solo_batch(&lq, buf, bytes, count);
	while (form != F_BATCH && !ret && got < count) {
		while (sent < count) {
			stamp_put(buf, bytes, sent);
			if (form == F_COPY) {
				ret = l3l2q_l3_try_enqueue(lq.l3, L3L2Q_OP_DATA,
							   buf, bytes);
			} else {
				ret = l3l2q_l3_try_reserve(lq.l3, bytes, &res);
				if (!ret && bytes)
					memcpy(res.data, buf, bytes);
				if (!ret)
					ret = l3l2q_l3_publish(lq.l3, &res,
							       L3L2Q_OP_DATA);
			}
			if (ret)
				break;
			sent++;
		}
		if (ret != -EAGAIN && ret)
			break;
		while (form == F_COPY &&
		       (ret = l3l2q_l2_try_dequeue(lq.l2, buf, bytes, &m)) == 0) {
			if (m.nbytes != bytes || !stamp_ok(buf, bytes, got))
				ret = -EBADMSG;
			got++;
			if (ret)
				break;
		}
		while (form == F_ZC && (ret = l3l2q_l2_try_peek(lq.l2, &m)) == 0) {
			if (!stamp_ok(m.data, bytes, got))
				ret = -EBADMSG;
			got++;
			if (!ret)
				ret = l3l2q_l2_release(lq.l2, &m);
			if (ret)
				break;
		}
		if (ret == -EAGAIN)
			ret = 0;
	}
	lq_close(&lq);
	free(buf);
	return ret;
}
