/* SPDX-License-Identifier: MIT */
/*
 * Channel test helpers: a channel region in this process or shared with a
 * forked child (a memfd mapped MAP_SHARED), a small env whose sleep is a
 * futex on the word the core names and whose kick wakes the futexes on the
 * kicker's two bells, and an upstream HDCH v1 peer written from the
 * upstream rules alone (reference §9.2): it touches the HDCH bytes only,
 * writes seq = tail (0-based), never reads the control block.
 */
#ifndef L3L2Q_TEST_CHANNEL_HELPERS_H
#define L3L2Q_TEST_CHANNEL_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q_channel_core.h"

struct tc_region {
	void *base;			/* ctrl | HDCH bytes */
	size_t bytes;
	int shared;			/* mmap'ed MAP_SHARED (memfd) */
	struct l3l2q_chan_layout layout;
	struct l3l2q_region_offsets off;
	struct l3l2q_chan_mem mem;
};

/*
 * A region for the l3l2q layout of this geometry (@wire: upstream's
 * layout, which allows more lanes), initialised by the creator; garbage
 * first everywhere so that stale bytes must be harmless.  @ctrl 0 gives an
 * upstream-only region (no control block).  0, or -1.
 */
static inline int tc_region_alloc(struct tc_region *r, __u32 c2l, __u32 l2c,
				  __u32 depth, __u32 max, __u64 start_pos,
				  int shared, int ctrl)
{
	memset(r, 0, sizeof(*r));
	if (l3l2q_chan_wire_layout(c2l, l2c, depth, max, &r->layout) !=
	    L3L2Q_CHAN_LAYOUT_OK || !l3l2q_chan_region_layout(&r->layout, &r->off))
		return -1;
	r->bytes = r->off.total_bytes;
	r->shared = shared;
	if (shared) {
		int fd = memfd_create("l3l2q-chan-test", MFD_CLOEXEC);

		if (fd < 0 || ftruncate(fd, (off_t)r->bytes))
			return -1;
		r->base = mmap(NULL, r->bytes, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);
		close(fd);
		if (r->base == MAP_FAILED)
			return -1;
	} else {
		r->base = aligned_alloc(L3L2Q_REGION_ALIGN, r->bytes);
		if (!r->base)
			return -1;
	}
	memset(r->base, 0xa5, r->bytes);
	memset(r->base, 0, L3L2Q_CTRL_BYTES);
	r->mem.ctrl = ctrl ? (char *)r->base + r->off.ctrl_offset : NULL;
	r->mem.hdch = (char *)r->base + r->off.payload_offset;
	r->mem.region_id = 23;
	l3l2q_chan_region_init(&r->mem, &r->layout, start_pos, 0);
	return 0;
}

static inline void tc_region_free(struct tc_region *r)
{
	if (!r->base)
		return;
	if (r->shared)
		munmap(r->base, r->bytes);
	else
		free(r->base);
	r->base = NULL;
}

static inline struct l3l2q_chan_hdr *tc_hdr(struct tc_region *r)
{
	return r->mem.hdch;
}

/* Lane @i of the L3 -> L2 (@to_l2) or L2 -> L3 direction. */
static inline struct l3l2q_chan_lane *tc_lane(struct tc_region *r, int to_l2,
					      __u32 i)
{
	return (struct l3l2q_chan_lane *)((char *)r->mem.hdch +
		(to_l2 ? r->layout.to_l2_offset : r->layout.to_l3_offset) +
		(__u64)i * r->layout.lane_bytes);
}

static inline struct l3l2q_chan_desc *tc_desc(struct tc_region *r, int to_l2,
					      __u32 i, __u64 pos)
{
	return (struct l3l2q_chan_desc *)((char *)tc_lane(r, to_l2, i) +
		L3L2Q_CHAN_LANE_HDR_BYTES +
		(pos & (r->layout.lane_depth - 1)) * L3L2Q_CHAN_DESC_BYTES);
}

static inline __u32 *tc_word(struct tc_region *r, __u32 offset)
{
	return (__u32 *)((char *)r->base + offset);
}

static inline __u32 tc_load(__u32 *p)
{
	return atomic_load_explicit((_Atomic __u32 *)p, memory_order_acquire);
}

static inline void tc_store(__u32 *p, __u32 v)
{
	atomic_store_explicit((_Atomic __u32 *)p, v, memory_order_release);
}

/* ---- an env: futex sleeps on the named word, kicks wake our bells ---- */

struct tc_env {
	struct l3l2q_env env;
	void *ctrl;
	int role;			/* L3L2Q_ROLE_* of the endpoint */
	_Atomic unsigned long kicks, sleeps, timeouts;
};

static inline __u64 tc_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static inline __u64 tc_deadline(__u64 ns)
{
	return tc_now(NULL) + ns;
}

static inline void tc_relax(void *ctx)
{
	(void)ctx;
	sched_yield();
}

static inline long tc_futex(__u32 *w, int op, __u32 val,
			    const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL,
		       op == FUTEX_WAIT_BITSET ? FUTEX_BITSET_MATCH_ANY : 0);
}

/* W4: until *word != seen, a wake-up, or the absolute deadline. */
static inline int tc_sleep(void *ctx, __u32 counter, __s32 seen,
			   __u64 deadline_ns)
{
	struct tc_env *e = ctx;
	__u32 *w = (__u32 *)((char *)e->ctrl + counter);
	struct timespec ts, *tsp = NULL;

	atomic_fetch_add(&e->sleeps, 1);
	if (deadline_ns != L3L2Q_DEADLINE_NONE) {
		if (tc_now(NULL) >= deadline_ns) {
			atomic_fetch_add(&e->timeouts, 1);
			return -ETIMEDOUT;
		}
		ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
		tsp = &ts;
	}
	/* Absolute CLOCK_MONOTONIC deadline: FUTEX_WAIT_BITSET. */
	if (tc_futex(w, FUTEX_WAIT_BITSET, (__u32)seen, tsp) < 0) {
		if (errno == ETIMEDOUT) {
			atomic_fetch_add(&e->timeouts, 1);
			return -ETIMEDOUT;
		}
		if (errno == EINTR)
			return -EINTR;
	}
	return 0;	/* woken, or the word had moved already */
}

/* The peer sleeps on our two bells: wake both. */
static inline void tc_kick(void *ctx)
{
	struct tc_env *e = ctx;
	int l3 = e->role == L3L2Q_ROLE_L3;

	atomic_fetch_add(&e->kicks, 1);
	tc_futex((__u32 *)((char *)e->ctrl + (l3 ? L3L2Q_CHAN_CTRL_L3_TX_BELL :
				L3L2Q_CHAN_CTRL_L2_TX_BELL)), FUTEX_WAKE, INT_MAX, NULL);
	tc_futex((__u32 *)((char *)e->ctrl + (l3 ? L3L2Q_CHAN_CTRL_L3_RX_BELL :
				L3L2Q_CHAN_CTRL_L2_RX_BELL)), FUTEX_WAKE, INT_MAX, NULL);
}

static inline void tc_env_init(struct tc_env *e, struct tc_region *r, int role,
			       int kicks)
{
	memset(e, 0, sizeof(*e));
	e->ctrl = r->mem.ctrl;
	e->role = role;
	e->env.now_ns = tc_now;
	e->env.relax = tc_relax;
	e->env.sleep = tc_sleep;
	e->env.kick = kicks ? tc_kick : NULL;
	e->env.ctx = e;
	e->env.spin_attempts = 64;
}

/* ---- an upstream HDCH v1 peer: the upstream rules alone ---- */

/* Upstream send on lane @i: 0, or -EAGAIN when full. */
static inline int up_send(struct tc_region *r, int to_l2, __u32 i, __u32 route,
			  const void *data, __u32 n, __u64 cid)
{
	struct l3l2q_chan_lane *l = tc_lane(r, to_l2, i);
	__u32 head = tc_load(&l->head), tail = tc_load(&l->tail);
	struct l3l2q_chan_desc *d;

	if (tail - head >= r->layout.lane_depth)
		return -EAGAIN;
	d = tc_desc(r, to_l2, i, tail);
	d->flags = 0;
	d->payload_bytes = n;
	d->seq = tail;			/* upstream: the tail before the increment */
	d->correlation_id = cid;
	d->route = route;
	d->resv0 = 0;
	if (n)
		memcpy(d->data, data, n);
	tc_store(&l->tail, tail + 1);
	return 0;
}

/* Upstream receive from lane @i: bytes, or -EAGAIN when empty. */
static inline int up_recv(struct tc_region *r, int to_l2, __u32 i, void *dst,
			  __u32 cap, __u32 *route, __u64 *cid, __u64 *seq)
{
	struct l3l2q_chan_lane *l = tc_lane(r, to_l2, i);
	__u32 head = tc_load(&l->head), tail = tc_load(&l->tail), n;
	struct l3l2q_chan_desc *d;

	if (head == tail)
		return -EAGAIN;
	d = tc_desc(r, to_l2, i, head);
	n = d->payload_bytes;
	if (n > L3L2Q_CHAN_INLINE_BYTES || n > cap)
		return -EMSGSIZE;
	memcpy(dst, d->data, n);
	*route = d->route;
	*cid = d->correlation_id;
	if (seq)
		*seq = d->seq;
	tc_store(&l->head, head + 1);
	return (int)n;
}

/* A channel endpoint with its env and one context, in this process. */
struct tc_end {
	struct l3l2q_chan ch;
	struct tc_env env;
	struct l3l2q_chan_ctx ctx;
};

static inline int tc_end_open(struct tc_end *e, struct tc_region *r, int role,
			      __u64 start_pos, int kicks)
{
	int ret;

	tc_env_init(&e->env, r, role, kicks);
	ret = l3l2q_chan_init(&e->ch, (enum l3l2q_role)role, &r->mem,
			      &r->layout, start_pos, &e->env.env);
	l3l2q_chan_ctx_init(&e->ctx, &e->ch);
	return ret;
}

#endif /* L3L2Q_TEST_CHANNEL_HELPERS_H */
