/* SPDX-License-Identifier: MIT */
/*
 * Many producer threads (and, optionally, many consumer threads) on one L3
 * endpoint, against an L2 in a child process that checks what it gets.
 * Shared by the host suite (memfd) and the in-VM suite (the driver).
 *
 * Every message carries {producer, k, n} and bytes derived from them, so
 * the L2 checks each message's bytes and, per producer, that k comes as
 * 0, 1, 2, ... without a gap or a repeat (exactly once, in each producer's
 * order).  With consumers the L2 echoes every message; the L3's consumer
 * threads check the bytes, mark (producer, k) in a table that refuses a
 * second mark, and check that the seqs each of them takes increase (claim
 * order); at the end every mark must be set.
 *
 * Nothing here depends on speed: the work is fixed, every wait has a
 * deadline (mps_cfg.watchdog_s) that only a hang reaches.
 */
#ifndef L3L2Q_TEST_MP_STREAM_H
#define L3L2Q_TEST_MP_STREAM_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libl3l2q.h"

struct mps_cfg {
	__u32 backend;
	unsigned int producers;
	__u64 per_producer;
	unsigned int consumers;		/* 0: the L2 only checks, no output */
	__u64 depth;
	__u64 in_arena, out_arena;
	__u64 max_size;			/* payload sizes in [16, max_size] */
	__u64 watchdog_s;		/* per blocking call: only a hang */
	/*
	 * Producers wait at most this long per call and retry (up to the
	 * watchdog); 0: one wait of watchdog_s.  For runs with consumer
	 * threads too, so both L3 directions sleep at once: the endpoint
	 * arms both on one need-wakeup word with one arming count, so the
	 * L2 can spend the arming on a kick for the consumers and skip the
	 * one the producers wait for (and on a memfd both sleep on one
	 * eventfd): issue 12, item 1, the thread model.  Short waits keep
	 * such a run correct while that stands.  The runs without consumers
	 * keep one long wait, and would catch a lost wake-up of their own.
	 */
	__u64 retry_ms;
};

struct mps_hdr {
	__u32 producer;
	__u32 n;
	__u64 k;
};

#define MPS_HDR	((__u64)sizeof(struct mps_hdr))

static __u64 mps_mix(__u64 x)
{
	/* splitmix64 */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static __u64 mps_size(const struct mps_cfg *c, __u32 p, __u64 k)
{
	return MPS_HDR + mps_mix((__u64)p << 48 ^ k) % (c->max_size - MPS_HDR + 1);
}

static void mps_fill(__u32 p, __u64 k, unsigned char *b, __u64 n)
{
	struct mps_hdr h = { p, (__u32)n, k };
	__u64 j;

	memcpy(b, &h, sizeof(h));
	for (j = MPS_HDR; j < n; j++)
		b[j] = (unsigned char)(mps_mix((__u64)p << 40 ^ k << 12 ^ j / 8) >>
				       (8 * (j % 8)));
}

/* 0, or a reason: the bytes of a message of @n bytes are not its own. */
static const char *mps_check(const struct mps_cfg *c, const unsigned char *b,
			     __u64 n, struct mps_hdr *h)
{
	__u64 j;

	if (n < MPS_HDR)
		return "message shorter than its header";
	memcpy(h, b, sizeof(*h));
	if (h->producer >= c->producers || h->k >= c->per_producer)
		return "header names no message that was sent";
	if (h->n != n || n != mps_size(c, h->producer, h->k))
		return "message size does not match its header";
	for (j = MPS_HDR; j < n; j++)
		if (b[j] != (unsigned char)(mps_mix((__u64)h->producer << 40 ^
						    h->k << 12 ^ j / 8) >>
					    (8 * (j % 8))))
			return "payload bytes differ from what was sent";
	return NULL;
}

/* ---- the L2 child: exit 0 when everything came exactly once, in order ---- */

static int mps_l2(const struct mps_cfg *c, int fd)
{
	struct l3l2q_attach_params ap = { .max_inflight = 1 };
	struct l3l2q_queue *q;
	struct l3l2q_l2 *l2;
	struct l3l2q_msg m;
	struct l3l2q_res res;
	struct mps_hdr h;
	__u64 *next, total = 0, dl;
	const char *why;
	unsigned int p;
	int ret;

	ret = l3l2q_attach(fd, &ap, &q, NULL);
	if (ret) {
		fprintf(stderr, "mps l2: attach: %d\n", ret);
		return 10;
	}
	l2 = l3l2q_queue_l2(q);
	next = calloc(c->producers, sizeof(*next));
	if (!next)
		return 11;
	for (;;) {
		dl = l3l2q_deadline_in(c->watchdog_s * 1000000000ull);
		ret = l3l2q_l2_peek(l2, dl, &m);
		if (ret) {
			fprintf(stderr, "mps l2: peek after %llu messages: %d (%s)\n",
				(unsigned long long)total, ret,
				l3l2q_ep_last_error(&l2->ep)->message);
			return 12;
		}
		if (m.opcode == L3L2Q_OP_STOP) {
			ret = l3l2q_l2_release(l2, &m);
			break;
		}
		why = mps_check(c, m.data, m.nbytes, &h);
		if (!why && h.k != next[h.producer])
			why = "a producer's messages came out of order, twice or with a gap";
		if (why) {
			fprintf(stderr, "mps l2: message %llu: %s\n",
				(unsigned long long)total, why);
			return 13;
		}
		next[h.producer]++;
		total++;
		if (c->consumers) {
			ret = l3l2q_l2_reserve(l2, m.nbytes, dl, &res);
			if (!ret) {
				memcpy(res.data, m.data, m.nbytes);
				ret = l3l2q_l2_publish(l2, &res, L3L2Q_OP_DATA);
			}
			if (ret) {
				fprintf(stderr, "mps l2: echo: %d\n", ret);
				return 14;
			}
		}
		ret = l3l2q_l2_release(l2, &m);
		if (ret)
			return 15;
	}
	for (p = 0; p < c->producers; p++)
		if (next[p] != c->per_producer) {
			fprintf(stderr, "mps l2: producer %u: %llu of %llu messages\n",
				p, (unsigned long long)next[p],
				(unsigned long long)c->per_producer);
			return 16;
		}
	free(next);
	l3l2q_destroy(q);
	return ret ? 17 : 0;
}

/* ---- the L3 side ---- */

struct mps_run {
	const struct mps_cfg *c;
	struct l3l2q_l3 *l3;
	atomic_uchar *seen;		/* consumers: one mark per message */
	atomic_ullong got;
	atomic_int failed;
	char why[160];
	pthread_mutex_t lock;
	pid_t l2;			/* killed on a failure: no one waits long */
};

struct mps_thread {
	struct mps_run *r;
	unsigned int id;
	pthread_t t;
};

__attribute__((format(printf, 2, 3)))
static void mps_fail(struct mps_run *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!atomic_load(&r->failed)) {
		va_start(ap, fmt);
		vsnprintf(r->why, sizeof(r->why), fmt, ap);
		va_end(ap);
		atomic_store(&r->failed, 1);
		if (r->l2 > 0)
			kill(r->l2, SIGKILL);
	}
	pthread_mutex_unlock(&r->lock);
}

/* A deadline for one blocking call of a producer. */
static __u64 mps_deadline(const struct mps_cfg *c)
{
	return l3l2q_deadline_in(c->retry_ms ? c->retry_ms * 1000000ull :
				 c->watchdog_s * 1000000000ull);
}

static void *mps_producer(void *arg)
{
	struct mps_thread *t = arg;
	const struct mps_cfg *c = t->r->c;
	unsigned char *b = malloc(c->max_size);
	__u64 k, n, waits = 0;
	int ret;

	for (k = 0; b && k < c->per_producer && !atomic_load(&t->r->failed);
	     k++) {
		n = mps_size(c, t->id, k);
		mps_fill(t->id, k, b, n);
		/* Half zero copy, half copy: both paths claim the same way. */
		if (k & 1) {
			struct l3l2q_res res;

			ret = l3l2q_l3_mp_reserve(t->r->l3, n, mps_deadline(c),
						  &res);
			if (!ret) {
				memcpy(res.data, b, n);
				ret = l3l2q_l3_mp_publish(t->r->l3, &res,
							  L3L2Q_OP_DATA);
			}
		} else {
			ret = l3l2q_l3_mp_enqueue(t->r->l3, L3L2Q_OP_DATA, b, n,
						  mps_deadline(c));
		}
		if (ret == -ETIMEDOUT && c->retry_ms &&
		    ++waits * c->retry_ms < c->watchdog_s * 1000) {
			k--;	/* the same message again */
			continue;
		}
		waits = 0;
		if (ret)
			mps_fail(t->r, "producer %u: message %llu: enqueue: %d (%s)",
				 t->id, (unsigned long long)k, ret,
				 l3l2q_ep_last_error(&t->r->l3->ep)->message);
	}
	free(b);
	return NULL;
}

static void *mps_consumer(void *arg)
{
	struct mps_thread *t = arg;
	struct mps_run *r = t->r;
	const struct mps_cfg *c = r->c;
	__u64 total = (__u64)c->producers * c->per_producer, last = 0;
	unsigned char *b = malloc(c->max_size);
	struct l3l2q_msg m;
	struct mps_hdr h;
	const char *why;
	int ret, idle = 0;

	while (b && !atomic_load(&r->failed) && atomic_load(&r->got) < total) {
		/* Short waits, only to notice that the others took the rest. */
		ret = l3l2q_l3_mc_dequeue(r->l3, b, c->max_size,
					  l3l2q_deadline_in(100000000ull), &m);
		if (ret == -ETIMEDOUT) {
			/* 100 ms each: only a hang gets here this often. */
			if (++idle > (int)(c->watchdog_s * 10))
				mps_fail(r, "consumer %u: no message for %llu s",
					 t->id, (unsigned long long)c->watchdog_s);
			continue;
		}
		idle = 0;
		/*
		 * The L2 exits after STOP: once the others took the last
		 * echo, a waiting consumer learns that it is gone.  The
		 * count at the end tells whether anything was missing.
		 */
		if (ret == -ECONNRESET)
			break;
		if (ret) {
			mps_fail(r, "consumer %u: dequeue: %d (%s)", t->id, ret,
				 l3l2q_ep_last_error(&r->l3->ep)->message);
			break;
		}
		if (m.seq <= last)
			mps_fail(r, "consumer %u: seq %llu not after %llu",
				 t->id, (unsigned long long)m.seq,
				 (unsigned long long)last);
		last = m.seq;
		why = mps_check(c, b, m.nbytes, &h);
		if (why) {
			mps_fail(r, "consumer %u: %s", t->id, why);
			break;
		}
		if (atomic_exchange(&r->seen[h.producer * c->per_producer + h.k], 1))
			mps_fail(r, "producer %u message %llu delivered twice",
				 h.producer, (unsigned long long)h.k);
		atomic_fetch_add(&r->got, 1);
	}
	free(b);
	return NULL;
}

/* 0 when every check held; else -1 with @why (size 160) filled. */
static int mps_run(const struct mps_cfg *c, char *why)
{
	struct l3l2q_params p = {
		.depth = c->depth, .input_arena_bytes = c->in_arena,
		.output_arena_bytes = c->out_arena, .backend = c->backend,
		.threads = L3L2Q_MP_PRODUCERS |
			   (c->consumers ? L3L2Q_MP_CONSUMERS : 0),
	};
	unsigned int i, nt = c->producers + c->consumers;
	__u64 total = (__u64)c->producers * c->per_producer;
	struct mps_thread *th = calloc(nt, sizeof(*th));
	struct mps_run r;
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	int fd, st, ret = -1;
	pid_t pid;

	memset(&r, 0, sizeof(r));
	r.c = c;
	pthread_mutex_init(&r.lock, NULL);
	if (c->consumers)
		r.seen = calloc(total, 1);
	if (!th || (c->consumers && !r.seen)) {
		snprintf(why, 160, "out of memory");
		goto out;
	}
	if (l3l2q_create(&p, &q, &err)) {
		snprintf(why, 160, "create: %.150s", err.message);
		goto out;
	}
	fd = l3l2q_peer_fd(q);
	pid = fork();
	if (pid == 0)
		_exit(mps_l2(c, fd));
	close(fd);
	r.l2 = pid;
	r.l3 = l3l2q_queue_l3(q);
	for (i = 0; i < nt; i++) {
		th[i].r = &r;
		th[i].id = i < c->producers ? i : i - c->producers;
		pthread_create(&th[i].t, NULL,
			       i < c->producers ? mps_producer : mps_consumer,
			       &th[i]);
	}
	for (i = 0; i < c->producers; i++)
		pthread_join(th[i].t, NULL);
	if (!atomic_load(&r.failed)) {
		__u64 waits = 0;

		do
			st = l3l2q_l3_mp_request_stop(r.l3, mps_deadline(c));
		while (st == -ETIMEDOUT && c->retry_ms &&
		       ++waits * c->retry_ms < c->watchdog_s * 1000);
		if (st)
			mps_fail(&r, "request_stop: %d", st);
	}
	for (i = c->producers; i < nt; i++)
		pthread_join(th[i].t, NULL);
	/* What the wake-up paths did: information only, never a verdict. */
	{
		struct l3l2q_stats es = { 0 };

		l3l2q_ep_stats(&r.l3->ep, &es);
		printf("# %llu leader sleeps, %llu kicks sent, %llu suppressed\n",
		       (unsigned long long)es.sleeps,
		       (unsigned long long)es.kicks,
		       (unsigned long long)es.kicks_suppressed);
	}
	fflush(stdout);
	pthread_mutex_lock(&r.lock);
	r.l2 = 0;
	pthread_mutex_unlock(&r.lock);
	if (waitpid(pid, &st, 0) != pid)
		st = -1;
	if (!atomic_load(&r.failed) && st)
		mps_fail(&r, "the L2 found a fault (wait status 0x%x)", st);
	if (!atomic_load(&r.failed) && c->consumers) {
		__u64 j;

		if (atomic_load(&r.got) != total)
			mps_fail(&r, "consumers took %llu of %llu messages",
				 (unsigned long long)atomic_load(&r.got),
				 (unsigned long long)total);
		for (j = 0; j < total; j++)
			if (!r.seen[j]) {
				mps_fail(&r, "message %llu of producer %llu never came",
					 (unsigned long long)(j % c->per_producer),
					 (unsigned long long)(j / c->per_producer));
				break;
			}
	}
	if (atomic_load(&r.failed))
		snprintf(why, 160, "%s", r.why);
	else
		ret = 0;
out:
	l3l2q_destroy(q);
	free(r.seen);
	free(th);
	pthread_mutex_destroy(&r.lock);
	return ret;
}

#endif /* L3L2Q_TEST_MP_STREAM_H */
