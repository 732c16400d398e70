// SPDX-License-Identifier: MIT
/*
 * run.c - the orchestrator: the one thread that owns the L2 endpoint, from
 * the first input to the STOP drain.
 */
#include <errno.h>
#include <time.h>

#include "devsim.h"

/*
 * Idle rounds the orchestrator spins (re-checking the mailbox and the
 * input) before it sleeps, like the library's blocking calls: a core or
 * the L3 is often only a few microseconds away.
 */
#define SPIN_ROUNDS		256u

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

__u64 devsim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

__u64 devsim_deadline(__u64 ns)
{
	return devsim_now_ns() + ns;
}

int devsim_stopping(const struct devsim *d)
{
	return d->stop && atomic_load_explicit(d->stop, memory_order_relaxed);
}

static int publish_stats(struct devsim *d)
{
	struct l3l2q_stats lst = { 0 }, *ls = &lst;
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC,
		.version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_STATS,
		.id = L3L2Q_TASK_ID_NONE,
		.payload_bytes = sizeof(struct l3l2q_task_stats),
	};
	__u64 n = L3L2Q_TASK_HDR_BYTES + sizeof(struct l3l2q_task_stats);
	struct l3l2q_res res;
	int ret;

	if (n > d->out_arena)
		return 0;	/* a tiny arena gets no STATS, which is legal */
	l3l2q_ep_stats(&d->l2->ep, ls);
	d->st.kicks = ls->kicks;
	d->st.kicks_suppressed = ls->kicks_suppressed;
	d->st.sleeps = ls->sleeps;
	d->st.mailbox_full = l3l2q_mailbox_skipped(d->mb);
	d->st.doorbells = atomic_load_explicit(&d->doorbells,
					       memory_order_relaxed);
	ret = devsim_reserve(d, n, &res);
	if (ret)
		return ret;
	d->st.bytes_out += n;
	l3l2q_task_stats_store((char *)res.data + L3L2Q_TASK_HDR_BYTES, &d->st);
	h.hash = l3l2q_fnv1a64(L3L2Q_FNV64_INIT,
			       (char *)res.data + L3L2Q_TASK_HDR_BYTES,
			       sizeof(struct l3l2q_task_stats));
	l3l2q_task_store(res.data, &h);
	ret = l3l2q_l2_publish(d->l2, &res, L3L2Q_OP_DATA);
	return ret ? devsim_queue_failure(d, "output publish (STATS)", ret) : 0;
}

/* The orchestrator: until STOP is drained or something fails. */
int devsim_run(struct devsim *d)
{
	struct l3l2q_msg in, stop;
	int stop_seen = 0, progress, got, ret;
	unsigned int spins = 0;

	for (;;) {
		if (devsim_stopping(d))
			return DEVSIM_STOPPED;
		progress = 0;
		ret = devsim_drain_mailbox(d, &progress);
		if (ret)
			return ret;
		if (!stop_seen && devsim_held(d) < d->inflight) {
			ret = l3l2q_l2_try_peek(d->l2, &in);
			if (ret == 0) {
				progress = 1;
				ret = devsim_take_input(d, &in, &stop,
							&stop_seen);
				if (ret)
					return ret;
			} else if (ret != -EAGAIN) {
				return devsim_queue_failure(d, "input peek",
							    ret);
			}
		}
		if (stop_seen && !d->nbusy)
			break;
		if (progress) {
			spins = 0;
			continue;
		}
		if (++spins < SPIN_ROUNDS) {
			cpu_relax();
			continue;
		}
		spins = 0;
		if (!d->nbusy) {
			/* Idle: spin, then sleep in the library (or the L3 died). */
			ret = l3l2q_l2_peek(d->l2, devsim_deadline(d->slice_ns),
					    &in);
			if (ret == -ETIMEDOUT)
				continue;
			if (ret)
				return devsim_queue_failure(d, "input peek",
							    ret);
			ret = devsim_take_input(d, &in, &stop, &stop_seen);
		} else {
			ret = devsim_wait_for_work(d, !stop_seen &&
					devsim_held(d) < d->inflight,
					&got, &in);
			if (!ret && got)
				ret = devsim_take_input(d, &in, &stop,
							&stop_seen);
		}
		if (ret)
			return ret;
	}
	/* Every task before STOP is answered: the final word, then STOP. */
	ret = publish_stats(d);
	if (ret)
		return ret;
	ret = devsim_release_input(d, &stop);
	if (ret)
		return ret;
	if (!l3l2q_l2_drained(d->l2)) {
		devsim_err_msg("%sSTOP released but the input is not drained",
			       d->tag);
		return 1;
	}
	return 0;
}
