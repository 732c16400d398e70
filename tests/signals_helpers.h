/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the signals core: a region in a shared anonymous
 * mapping (so a forked child shares it), direct access to its words, an
 * env that records kicks and sleeps, and an env that really sleeps on one
 * eventfd per role (the way a memfd backing would: a kick leaves the
 * eventfd readable, so a kick that comes before the sleep is not lost).
 */
#ifndef L3L2Q_TEST_SIGNALS_HELPERS_H
#define L3L2Q_TEST_SIGNALS_HELPERS_H

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q_signals_core.h"

#define TS_SEC		1000000000ull
#define TS_MS		1000000ull

struct ts_region {
	void *base;
	struct l3l2q_sig_layout l;
	struct l3l2q_sig_mem mem;
};

static inline __u64 ts_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * TS_SEC + (__u64)ts.tv_nsec;
}

static inline __u64 ts_now_cb(void *ctx)
{
	(void)ctx;
	return ts_now();
}

/*
 * Map and initialise a region of @data_bytes and @count signals, both
 * roles LIVE.  Garbage first, so initialisation must clear what matters.
 * Returns 0, or -1 (layout refused or no memory).
 */
static inline int ts_region_make(struct ts_region *r, __u64 data_bytes,
				 __u32 count, __u32 hdmem_flags,
				 __u32 sig_flags)
{
	memset(r, 0, sizeof(*r));
	if (l3l2q_sig_layout(data_bytes, count, hdmem_flags, sig_flags,
			     &r->l) != L3L2Q_SIG_LAYOUT_OK)
		return -1;
	r->base = mmap(NULL, r->l.total_bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		return -1;
	}
	memset(r->base, 0x5a, r->l.total_bytes);
	memset(r->base, 0, L3L2Q_CTRL_BYTES);
	r->mem.ctrl = r->base;
	r->mem.hdmem = (char *)r->base + r->l.hdmem_offset;
	r->mem.region_id = 7;
	if (l3l2q_sig_region_init(&r->mem, &r->l, 0))
		return -1;
	*(__u32 *)((char *)r->base + L3L2Q_CTRL_L3_STATE) = L3L2Q_ROLE_LIVE;
	*(__u32 *)((char *)r->base + L3L2Q_CTRL_L2_STATE) = L3L2Q_ROLE_LIVE;
	return 0;
}

static inline void ts_region_free(struct ts_region *r)
{
	if (r->base)
		munmap(r->base, r->l.total_bytes);
	r->base = NULL;
}

static inline _Atomic __u32 *ts_ctrl32(struct ts_region *r, unsigned int off)
{
	return (_Atomic __u32 *)((char *)r->base + off);
}

static inline _Atomic __u64 *ts_slot(struct ts_region *r, __u32 id)
{
	return (_Atomic __u64 *)((char *)r->mem.hdmem +
				 L3L2Q_HDMEM_HDR_BYTES +
				 (__u64)id * L3L2Q_HDMEM_SLOT_BYTES);
}

static inline struct l3l2q_sig_waiter *ts_waiter(struct ts_region *r,
						 __u32 role, __u32 id)
{
	return (struct l3l2q_sig_waiter *)((char *)r->base +
					   r->l.table_offset[role]) + id;
}

static inline unsigned char *ts_data(struct ts_region *r)
{
	return (unsigned char *)r->mem.hdmem + r->l.hdmem.data_offset;
}

/* Mark @role dead, as the driver does when its last reference goes. */
static inline void ts_mark_dead(struct ts_region *r, __u32 role)
{
	atomic_store_explicit(ts_ctrl32(r, role == L3L2Q_ROLE_L3 ?
					L3L2Q_CTRL_L3_STATE :
					L3L2Q_CTRL_L2_STATE),
			      L3L2Q_ROLE_DEAD, memory_order_release);
}

/* ---- an env that records what the core asks of it ---- */

#define TS_REC_MAX	64

struct ts_rec {
	__u64 now;			/* the clock it reports */
	__u64 step;			/* added per now_ns() call */
	unsigned int kicks;
	__u32 kick_role[TS_REC_MAX], kick_id[TS_REC_MAX];
	unsigned int sleeps;
	__u32 sleep_n;			/* the last sleep's arguments */
	struct l3l2q_sig_waitv sleep_v[L3L2Q_SIG_WAITV_MAX];
	__u64 sleep_deadline, sleep_now;
	/* What the table held during the last sleep (the waiter's role). */
	struct l3l2q_sig_waiter sleep_entry[L3L2Q_SIG_WAITV_MAX];
	struct ts_region *r;
	__u32 role;			/* of the sleeper */
	int sleep_ret;			/* what sleep returns */
	int instant;			/* a sleep takes no time */
	/* Called at each sleep, before it returns: plays the peer. */
	void (*on_sleep)(struct ts_rec *rec);
	void *arg;
};

static inline __u64 ts_rec_now(void *ctx)
{
	struct ts_rec *rec = ctx;

	rec->now += rec->step;
	return rec->now;
}

static inline void ts_rec_kick(void *ctx, __u32 role, __u32 id)
{
	struct ts_rec *rec = ctx;

	if (rec->kicks < TS_REC_MAX) {
		rec->kick_role[rec->kicks] = role;
		rec->kick_id[rec->kicks] = id;
	}
	rec->kicks++;
}

static inline int ts_rec_sleep(void *ctx, const struct l3l2q_sig_waitv *v,
			       __u32 n, __u64 deadline_ns)
{
	struct ts_rec *rec = ctx;
	__u32 i;

	rec->sleeps++;
	rec->sleep_n = n;
	rec->sleep_deadline = deadline_ns;
	rec->sleep_now = rec->now;
	for (i = 0; i < n && i < L3L2Q_SIG_WAITV_MAX; i++) {
		rec->sleep_v[i] = v[i];
		if (rec->r)
			rec->sleep_entry[i] = *ts_waiter(rec->r, rec->role,
							 v[i].id);
	}
	if (rec->on_sleep)
		rec->on_sleep(rec);
	/* Time passes in a sleep: up to its deadline, by default. */
	if (!rec->instant && deadline_ns != L3L2Q_DEADLINE_NONE &&
	    rec->now < deadline_ns)
		rec->now = deadline_ns;
	return rec->sleep_ret;
}

static inline struct l3l2q_sig_env ts_rec_env(struct ts_rec *rec)
{
	struct l3l2q_sig_env e = {
		.now_ns = ts_rec_now, .sleep = ts_rec_sleep,
		.kick = ts_rec_kick, .ctx = rec,
	};

	return e;
}

/* ---- an env that really sleeps: one eventfd per role ---- */

struct ts_efd {
	int efd[2];			/* role -> the eventfd it sleeps on */
	__u32 role;			/* of this side */
	/*
	 * Optional: a pidfd of the peer's process, polled with the eventfd;
	 * when it dies the sleep marks its role dead in @r (as a memfd
	 * backing would, with no kernel to do it) and says so.
	 */
	int pidfd;
	struct ts_region *r;
	unsigned long kicks, sleeps, wakes;
};

static inline int ts_efd_open(struct ts_efd *e)
{
	memset(e, 0, sizeof(*e));
	e->pidfd = -1;
	e->efd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->efd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return e->efd[0] >= 0 && e->efd[1] >= 0 ? 0 : -1;
}

static inline void ts_efd_close(struct ts_efd *e)
{
	close(e->efd[0]);
	close(e->efd[1]);
	if (e->pidfd >= 0)
		close(e->pidfd);
}

static inline int ts_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static inline void ts_efd_kick(void *ctx, __u32 role, __u32 id)
{
	struct ts_efd *e = ctx;
	__u64 one = 1;

	(void)id;
	e->kicks++;
	if (write(e->efd[role & 1], &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort();
}

static inline int ts_efd_sleep(void *ctx, const struct l3l2q_sig_waitv *v,
			       __u32 n, __u64 deadline_ns)
{
	struct ts_efd *e = ctx;
	struct pollfd p[2] = {
		{ .fd = e->efd[e->role], .events = POLLIN },
		{ .fd = e->pidfd, .events = POLLIN },
	};
	struct timespec ts, *tsp = NULL;
	__u64 now, cnt;
	int r;

	(void)v;
	(void)n;
	e->sleeps++;
	if (deadline_ns != L3L2Q_DEADLINE_NONE) {
		now = ts_now();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)((deadline_ns - now) / TS_SEC);
		ts.tv_nsec = (long)((deadline_ns - now) % TS_SEC);
		tsp = &ts;
	}
	r = ppoll(p, e->pidfd >= 0 ? 2 : 1, tsp, NULL);
	if (r < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (e->pidfd >= 0 && (p[1].revents & POLLIN)) {
		if (e->r)
			ts_mark_dead(e->r, e->role ^ 1);
		return -ECONNRESET;
	}
	/* Drained: the next sleep waits for a new kick. */
	if (read(e->efd[e->role], &cnt, sizeof(cnt)) == sizeof(cnt))
		e->wakes++;
	return 0;
}

static inline void ts_relax(void *ctx)
{
	(void)ctx;
	sched_yield();
}

static inline struct l3l2q_sig_env ts_efd_env(struct ts_efd *e, __u32 role)
{
	struct l3l2q_sig_env env = {
		.now_ns = ts_now_cb, .sleep = ts_efd_sleep,
		.kick = ts_efd_kick, .ctx = e,
	};

	e->role = role;
	return env;
}

/* A tiny deterministic PRNG (xorshift64*), so runs can be repeated. */
static inline __u64 ts_rand(__u64 *state)
{
	__u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

#endif /* L3L2Q_TEST_SIGNALS_HELPERS_H */
