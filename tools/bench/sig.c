// SPDX-License-Identifier: MIT
/*
 * Signals (HDMEM, libl3l2q_signals.h) over a memfd region created and
 * attached in this one process, against an eventfd and a futex word
 * measured the same way.
 *
 *   sigwake: notify -> wake latency, one notifier (opts.cpu[0]) and one
 *     waiter (opts.cpu[1]).  Round i: the notifier waits until the waiter
 *     acknowledged round i-1, (sleeping cases) lets SW_GAP_NS pass so the
 *     waiter is surely asleep, stores its clock t0, then notifies i; the
 *     waiter, woken, reads its clock t1 and records t1 - t0 (the same
 *     CLOCK_MONOTONIC on both cores).  p50/p99 of t1 - t0; msgs_per_s is
 *     the wakes per second (with the gap in it: not a throughput).
 *       sig_spin       waiter l3l2q_sig_try_wait() in a loop
 *       sig_sleep      waiter l3l2q_sig_wait(): spins its default budget,
 *                      then sleeps in poll() on its eventfd; sleeps/wake
 *                      from the waiter's l3l2q_sig_stats()
 *       eventfd_spin   waiter read()s a non-blocking eventfd in a loop
 *       eventfd_sleep  waiter blocks in read() of the eventfd
 *       futex_spin     waiter loads the word in a loop; the notifier
 *                      stores it and calls FUTEX_WAKE (as a futex-based
 *                      notifier that does not track its waiters must)
 *       futex_sleep    waiter FUTEX_WAIT, notifier store + FUTEX_WAKE
 *   signotify: notifies per second with nobody waiting, one thread.
 *       sig_notify     l3l2q_sig_notify() in a loop; syscalls_per_msg is
 *                      kicks + sleeps of the notifier's l3l2q_sig_stats()
 *                      (a kick is the only system call a notify can make):
 *                      it must be 0
 *       eventfd_notify write() of 1 to an eventfd nobody reads (1 syscall)
 *       futex_notify   store + FUTEX_WAKE with no waiter (1 syscall)
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libl3l2q_signals.h"
#include "bench.h"

#define SW_GAP_NS	50000ull	/* sleeping cases: let the waiter sleep */
#define SW_WATCHDOG_NS	60000000000ull	/* a wake that never comes: broken */
#define SW_SAMPLES	(1u << 20)

enum { M_SIG, M_EVENTFD, M_FUTEX };

struct swa {
	_Alignas(64) atomic_ullong t0;		/* notifier's clock, round i */
	_Alignas(64) atomic_ullong ack;		/* last round the waiter saw */
	_Alignas(64) _Atomic uint32_t word;	/* futex */
	_Alignas(64) atomic_int stop;
	int mode, sleep, efd, err;
	struct l3l2q_signals *s3, *s2;
	uint64_t start, warm_ns, dur_ns, t_begin, t_end, n_begin, n_end;
	uint64_t wakes;
	uint32_t *samples;
	size_t nsamples;
};

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op | FUTEX_PRIVATE_FLAG, val,
		       NULL, NULL, 0);
}

static int sw_notify(struct swa *a, uint64_t i)
{
	uint64_t one = 1;

	switch (a->mode) {
	case M_SIG:
		return l3l2q_sig_notify(l3l2q_signals_handle(a->s3), 0, i);
	case M_EVENTFD:
		return write(a->efd, &one, 8) == 8 ? 0 : -errno;
	default:
		atomic_store_explicit(&a->word, (uint32_t)i,
				      memory_order_release);
		return futex(&a->word, FUTEX_WAKE, 1) < 0 ? -errno : 0;
	}
}

/* Until round @i is notified; 0 or -errno. */
static int sw_wait(struct swa *a, uint64_t i)
{
	struct l3l2q_sig *h;
	uint64_t v;
	uint32_t w;
	int ret;

	switch (a->mode) {
	case M_SIG:
		h = l3l2q_signals_handle(a->s2);
		if (a->sleep)
			return l3l2q_sig_wait(h, 0, L3L2Q_SIG_CMP_GE, i,
					      bench_now_ns() + SW_WATCHDOG_NS,
					      NULL);
		while ((ret = l3l2q_sig_try_wait(h, 0, L3L2Q_SIG_CMP_GE, i,
						 NULL)) == -EAGAIN)
			bench_pause();
		return ret;
	case M_EVENTFD:
		/* Spinning: the fd is non-blocking. */
		while (read(a->efd, &v, 8) != 8) {
			if (errno != EAGAIN)
				return -errno;
			bench_pause();
		}
		return 0;
	default:
		while ((w = atomic_load_explicit(&a->word,
						 memory_order_acquire)) <
		       (uint32_t)i) {
			if (a->sleep)
				futex(&a->word, FUTEX_WAIT, w);
			else
				bench_pause();
		}
		return 0;
	}
}

static void *sw_notifier(void *p)
{
	struct swa *a = p;
	uint64_t i = 0, now, g;
	int ret;

	a->start = bench_now_ns();
	for (;;) {
		now = bench_now_ns();
		/* Round i was seen: wait for the ack before the next one. */
		while (atomic_load_explicit(&a->ack, memory_order_acquire) != i) {
			if (atomic_load(&a->stop))
				return NULL;	/* the waiter failed */
			if (bench_now_ns() - now > SW_WATCHDOG_NS) {
				a->err = -ETIMEDOUT;
				goto quit;
			}
			bench_pause();
		}
		now = bench_now_ns();
		if (!a->t_begin && now - a->start >= a->warm_ns) {
			a->t_begin = now;
			a->n_begin = i;
		} else if (a->t_begin && now - a->t_begin >= a->dur_ns &&
			   i > a->n_begin) {
			a->t_end = now;
			a->n_end = i;
			goto quit;
		}
		if (a->sleep)
			for (g = now; bench_now_ns() - g < SW_GAP_NS;)
				bench_pause();
		atomic_store_explicit(&a->t0, bench_now_ns(),
				      memory_order_release);
		ret = sw_notify(a, ++i);
		if (ret) {
			a->err = ret;
			goto quit;
		}
	}
quit:
	/* One more round with stop raised: the waiter wakes and leaves. */
	atomic_store(&a->stop, 1);
	sw_notify(a, i + 1);
	return NULL;
}

static void *sw_waiter(void *p)
{
	struct swa *a = p;
	uint64_t i, t1, d;
	int ret;

	for (i = 1;; i++) {
		ret = sw_wait(a, i);
		t1 = bench_now_ns();
		if (atomic_load(&a->stop))
			break;
		if (ret) {
			a->err = ret;
			atomic_store(&a->stop, 1);
			break;
		}
		d = t1 - atomic_load_explicit(&a->t0, memory_order_acquire);
		if (t1 - a->start >= a->warm_ns && a->nsamples < SW_SAMPLES)
			a->samples[a->nsamples++] = d > UINT32_MAX ?
				UINT32_MAX : (uint32_t)d;
		a->wakes = i;
		atomic_store_explicit(&a->ack, i, memory_order_release);
	}
	return NULL;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static int sw_mode(const char *mech)
{
	if (!strncmp(mech, "sig_", 4))
		return M_SIG;
	if (!strncmp(mech, "eventfd_", 8))
		return M_EVENTFD;
	return M_FUTEX;
}

static int sw_region(struct swa *a)
{
	struct l3l2q_sig_params p = { 0 };
	struct l3l2q_error e;
	int ret, fd;

	p.data_bytes = 64;
	p.signal_count = 1;
	p.backend = L3L2Q_BACKEND_MEMFD;
	ret = l3l2q_sig_create(&p, &a->s3, &e);
	if (ret)
		return ret;
	fd = l3l2q_sig_peer_fd(a->s3);
	if (fd < 0)
		return fd;
	return l3l2q_sig_attach(fd, &a->s2, &e);
}

int bench_sig_wake(const struct bench_case *c, const struct bench_opts *o,
		   struct bench_sample *s)
{
	struct swa *a = aligned_alloc(64, sizeof(*a));
	uint64_t sleeps0 = 0, sleeps;
	int ret = 0;

	if (!a)
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	a->efd = -1;
	a->mode = sw_mode(c->mech);
	a->sleep = strstr(c->mech, "_sleep") != NULL;
	a->warm_ns = (uint64_t)(o->warmup_s * 1e9);
	a->dur_ns = (uint64_t)(o->duration_s * 1e9);
	a->samples = malloc(SW_SAMPLES * sizeof(*a->samples));
	if (!a->samples) {
		ret = -ENOMEM;
		goto out;
	}
	if (a->mode == M_SIG) {
		ret = sw_region(a);
		if (ret)
			goto out;
		sleeps0 = l3l2q_sig_stats(l3l2q_signals_handle(a->s2))->sleeps;
	} else if (a->mode == M_EVENTFD) {
		a->efd = eventfd(0, EFD_CLOEXEC | (a->sleep ? 0 : EFD_NONBLOCK));
		if (a->efd < 0) {
			ret = -errno;
			goto out;
		}
	}
	ret = bench_pair(o, sw_notifier, sw_waiter, a);
	if (!ret)
		ret = a->err;
	if (!ret && (!a->t_end || !a->nsamples))
		ret = -ENODATA;
	if (ret)
		goto out;
	s->msgs_per_s = (double)(a->n_end - a->n_begin) * 1e9 /
			(double)(a->t_end - a->t_begin);
	qsort(a->samples, a->nsamples, sizeof(*a->samples), cmp_u32);
	s->p50_ns = a->samples[a->nsamples / 2];
	s->p99_ns = a->samples[a->nsamples * 99 / 100];
	if (a->mode == M_SIG && a->wakes) {
		sleeps = l3l2q_sig_stats(l3l2q_signals_handle(a->s2))->sleeps;
		s->sleeps_per_msg = (double)(sleeps - sleeps0) / a->wakes;
		s->kicks_per_msg = (double)l3l2q_sig_stats(
			l3l2q_signals_handle(a->s3))->kicks / a->wakes;
	}
out:
	if (a->efd >= 0)
		close(a->efd);
	l3l2q_sig_destroy(a->s2);
	l3l2q_sig_destroy(a->s3);
	free(a->samples);
	free(a);
	return ret;
}

/* ---- notifies with nobody waiting ---- */

struct sna {
	const struct bench_opts *o;
	struct swa *a;
	uint64_t n, t;
	int err;
};

static void *sn_loop(void *p)
{
	struct sna *b = p;
	struct swa *a = b->a;
	uint64_t start = bench_now_ns(), t0 = 0, n0 = 0, i = 0, now;
	uint64_t warm = (uint64_t)(b->o->warmup_s * 1e9);
	uint64_t dur = (uint64_t)(b->o->duration_s * 1e9);
	unsigned int k;
	int ret;

	for (;;) {
		for (k = 0; k < 1024; k++) {
			ret = sw_notify(a, ++i);
			if (ret) {
				b->err = ret;
				return NULL;
			}
		}
		now = bench_now_ns();
		if (!t0) {
			if (now - start >= warm) {
				t0 = now;
				n0 = i;
			}
		} else if (now - t0 >= dur) {
			b->n = i - n0;
			b->t = now - t0;
			return NULL;
		}
	}
}

int bench_sig_notify(const struct bench_case *c, const struct bench_opts *o,
		     struct bench_sample *s)
{
	struct swa *a = aligned_alloc(64, sizeof(*a));
	struct sna b = { .o = o };
	const struct l3l2q_stats *st;
	int ret = 0;

	if (!a)
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	a->efd = -1;
	a->mode = sw_mode(c->mech);
	b.a = a;
	if (a->mode == M_SIG) {
		/* A live peer attached, but never waiting. */
		ret = sw_region(a);
	} else if (a->mode == M_EVENTFD) {
		a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (a->efd < 0)
			ret = -errno;
	}
	if (ret)
		goto out;
	ret = bench_solo(o, sn_loop, &b);
	if (!ret)
		ret = b.err;
	if (!ret && !b.n)
		ret = -ENODATA;
	if (ret)
		goto out;
	s->msgs_per_s = (double)b.n * 1e9 / (double)b.t;
	if (a->mode == M_SIG) {
		/* Over the whole run, warm-up included. */
		st = l3l2q_sig_stats(l3l2q_signals_handle(a->s3));
		s->kicks_per_msg = (double)st->kicks / (double)b.n;
		s->syscalls_per_msg = (double)(st->kicks + st->sleeps) /
				      (double)b.n;
	} else {
		s->kicks_per_msg = 1;
		s->syscalls_per_msg = 1;
	}
out:
	if (a->efd >= 0)
		close(a->efd);
	l3l2q_sig_destroy(a->s2);
	l3l2q_sig_destroy(a->s3);
	free(a);
	return ret;
}
