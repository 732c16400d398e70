// SPDX-License-Identifier: MIT
/*
 * The textbook ring: a lock-free single-producer/single-consumer ring of
 * fixed slots (each as large as the message, 64-byte aligned, plus a length
 * word), with the two indices on their own cache lines and each side caching
 * the other's index.  The producer copies the payload in, the consumer
 * copies it out -- the same work as l3l2q_copy, without l3l2q's checks,
 * arena or wake-up protocol.  Written for this bench.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct tb_ring {
	_Alignas(64) _Atomic uint64_t tail;	/* written by the producer */
	_Alignas(64) _Atomic uint64_t head;	/* written by the consumer */
	_Alignas(64) uint64_t p_tail, p_head;	/* producer's own + cached */
	_Alignas(64) uint64_t c_head, c_tail;	/* consumer's own + cached */
	_Alignas(64) unsigned char *slots;
	uint32_t *lens;
	size_t stride;
	uint64_t depth;
};

static int tb_push(struct tb_ring *r, const void *src, uint32_t n)
{
	uint64_t t = r->p_tail;

	if (t - r->p_head == r->depth) {
		r->p_head = atomic_load_explicit(&r->head, memory_order_acquire);
		if (t - r->p_head == r->depth)
			return -EAGAIN;
	}
	memcpy(r->slots + (t & (r->depth - 1)) * r->stride, src, n);
	r->lens[t & (r->depth - 1)] = n;
	r->p_tail = t + 1;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 0;
}

static int tb_pop(struct tb_ring *r, void *dst)
{
	uint64_t h = r->c_head;
	uint32_t n;

	if (h == r->c_tail) {
		r->c_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h == r->c_tail)
			return -EAGAIN;
	}
	n = r->lens[h & (r->depth - 1)];
	memcpy(dst, r->slots + (h & (r->depth - 1)) * r->stride, n);
	r->c_head = h + 1;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return (int)n;
}

struct targ {
	struct tb_ring *r;
	struct stream_ctl ctl;
	unsigned int bytes;
};

static void *tb_producer(void *p)
{
	struct targ *a = p;
	unsigned char *src = calloc(1, a->bytes + 64);
	uint64_t i = 0;

	while (src && !stream_stopped(&a->ctl)) {
		stamp_put(src, a->bytes, i);
		while (tb_push(a->r, src, a->bytes) == -EAGAIN) {
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

static void *tb_consumer(void *p)
{
	struct targ *a = p;
	unsigned char *dst = calloc(1, a->bytes + 64);
	uint64_t i = 0;
	int n;

	if (!dst) {
		a->ctl.failed = 1;
		atomic_store(&a->ctl.stop, 1);
		return NULL;
	}
	for (;;) {
		n = tb_pop(a->r, dst);
		if (n == -EAGAIN) {
			if (atomic_load_explicit(&a->ctl.prod_done,
						 memory_order_acquire) &&
			    tb_pop(a->r, dst) == -EAGAIN)
				break;
			bench_pause();
			continue;
		}
		if ((unsigned int)n != a->bytes || !stamp_ok(dst, a->bytes, i))
			a->ctl.failed = 1;
		i++;
		if (!(i % STREAM_TICK))
			stream_tick(&a->ctl, i);
	}
	free(dst);
	return NULL;
}

int bench_textbook_stream(const struct bench_case *c,
			  const struct bench_opts *o, struct bench_sample *s)
{
	struct tb_ring *r = aligned_alloc(64, sizeof(*r));
	struct targ *a = calloc(1, sizeof(*a));
	int ret = -ENOMEM;

	if (!r || !a)
		goto out;
	memset(r, 0, sizeof(*r));
	r->depth = bench_depth(c->bytes);
	r->stride = c->bytes < 64 ? 64 : (c->bytes + 63) & ~(size_t)63;
	r->slots = aligned_alloc(64, r->stride * r->depth);
	r->lens = aligned_alloc(64, (sizeof(*r->lens) * r->depth + 63) & ~63ul);
	if (!r->slots || !r->lens)
		goto out;
	memset(r->slots, 0, r->stride * r->depth);
	a->r = r;
	a->bytes = c->bytes;
	stream_init(&a->ctl, o);
	ret = bench_pair(o, tb_producer, tb_consumer, a);
	if (!ret)
		ret = stream_result(&a->ctl, s);
out:
	if (r) {
		free(r->slots);
		free(r->lens);
	}
	free(r);
	free(a);
	return ret;
}

/*
 * One thread, no timing (--solo): fill the ring until it is full, then
 * drain it, @count messages in all -- the loop bench_l3l2q_solo() runs, for
 * instruction counts under callgrind.
 */
int bench_textbook_solo(unsigned int bytes, uint64_t count)
{
	struct tb_ring *r = aligned_alloc(64, sizeof(*r));
	unsigned char *buf = calloc(1, bytes + 64);
	uint64_t sent = 0, got = 0;
	int ret = -ENOMEM, n;

	if (!r || !buf)
		goto out;
	memset(r, 0, sizeof(*r));
	r->depth = bench_depth(bytes);
	r->stride = bytes < 64 ? 64 : (bytes + 63) & ~(size_t)63;
	r->slots = aligned_alloc(64, r->stride * r->depth);
	r->lens = aligned_alloc(64, (sizeof(*r->lens) * r->depth + 63) & ~63ul);
	if (!r->slots || !r->lens)
		goto out;
	memset(r->slots, 0, r->stride * r->depth);
	ret = 0;
	while (!ret && got < count) {
		while (sent < count) {
			stamp_put(buf, bytes, sent);
			if (tb_push(r, buf, bytes))
				break;
			sent++;
		}
		while ((n = tb_pop(r, buf)) != -EAGAIN) {
			if ((unsigned int)n != bytes ||
			    !stamp_ok(buf, bytes, got)) {
				ret = -EBADMSG;
				break;
			}
			got++;
		}
	}
out:
	if (r) {
		free(r->slots);
		free(r->lens);
	}
	free(r);
	free(buf);
	return ret;
}
