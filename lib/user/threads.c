// SPDX-License-Identifier: MIT
/*
 * l3l2q_params.threads: the memory the threads of an L3 endpoint share
 * (lib/core/mp.c), and how they wait for each other: a private futex to
 * park on, a pause with a yield now and then in spin loops.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"

struct mp_mem {
	struct l3l2q_mp mp;		/* first: 64-aligned with the block */
	struct l3l2q_mp_slot *slots;
	struct l3l2q_mc_slot *held;
	struct l3l2q_entry *win;
};

static void mp_park(void *ctx, __u32 *word, __u32 val, __u64 deadline_ns)
{
	struct timespec ts, *tsp = NULL;

	(void)ctx;
	if (deadline_ns != L3L2Q_DEADLINE_NONE) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
		tsp = &ts;
	}
	/*
	 * An absolute CLOCK_MONOTONIC deadline (WAIT_BITSET without
	 * CLOCK_REALTIME).  EAGAIN (the word moved), EINTR and ETIMEDOUT
	 * all send the caller back to its loop, which re-checks.
	 */
	syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, val, tsp, NULL,
		FUTEX_BITSET_MATCH_ANY);
}

static void mp_unpark(void *ctx, __u32 *word)
{
	(void)ctx;
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

int l3l2q__mp_setup(struct l3l2q_queue *q, __u32 threads,
		    struct l3l2q_error *err)
{
	struct l3l2q_mp_params p;
	struct mp_mem *m;
	__u64 depth = q->layout.depth;
	int ret;

	m = aligned_alloc(64, (sizeof(*m) + 63) & ~(size_t)63);
	if (!m)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT, "out of memory");
	memset(m, 0, sizeof(*m));
	if (threads & L3L2Q_MP_PRODUCERS)
		m->slots = calloc(depth, sizeof(*m->slots));
	if (threads & L3L2Q_MP_CONSUMERS) {
		m->held = calloc(depth, sizeof(*m->held));
		m->win = calloc(depth + 1, sizeof(*m->win));
	}
	q->mp_mem = m;
	if (((threads & L3L2Q_MP_PRODUCERS) && !m->slots) ||
	    ((threads & L3L2Q_MP_CONSUMERS) && (!m->held || !m->win))) {
		l3l2q__mp_free(q);
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT,
					 "out of memory for the threads' state");
	}
	memset(&p, 0, sizeof(p));
	p.flags = threads;
	p.slots = m->slots;
	p.held = m->held;
	p.win = m->win;
	p.park = mp_park;
	p.unpark = mp_unpark;
	p.relax = l3l2q__relax;
	ret = l3l2q_l3_mp_init(&q->ep.l3, &m->mp, &p);
	if (ret) {
		if (err)
			*err = *l3l2q_ep_last_error(&q->ep.l3.ep);
		l3l2q__mp_free(q);
	}
	return ret;
}

void l3l2q__mp_free(struct l3l2q_queue *q)
{
	struct mp_mem *m = q->mp_mem;

	if (!m)
		return;
	if (q->role == L3L2Q_ROLE_L3)
		q->ep.l3.mp = NULL;
	free(m->slots);
	free(m->held);
	free(m->win);
	free(m);
	q->mp_mem = NULL;
}
