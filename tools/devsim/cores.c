// SPDX-License-Identifier: MIT
/*
 * cores.c - the simulated cores: worker threads that take slots from a
 * FIFO, run the task and push the completion into the mailbox.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devsim.h"

struct core_arg {
	struct devsim *d;
	unsigned int index;
};

static void sleep_ns(__u64 ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Tell the orchestrator, only if it is (about to be) asleep. */
static void ring_doorbell(struct devsim *d)
{
	__u64 one = 1;

	/*
	 * Pairs with the fence in devsim_wait_for_work() (wait.c): either
	 * the orchestrator sees our push in its re-check, or we see
	 * orch_waiting set here.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&d->orch_waiting, memory_order_relaxed))
		return;
	atomic_fetch_add_explicit(&d->doorbells, 1, memory_order_relaxed);
	if (write(d->doorbell, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, it will wake anyway. */
	}
}

static void *core_main(void *p)
{
	struct core_arg *a = p;
	struct devsim *d = a->d;
	struct l3l2q_mailbox_msg m;
	const struct slot *s;
	unsigned int idx;

	for (;;) {
		pthread_mutex_lock(&d->lock);
		/* Idle cores sleep here, they never spin. */
		while (!d->fifo_len && !d->quit)
			pthread_cond_wait(&d->cond, &d->lock);
		if (!d->fifo_len) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		idx = d->fifo[d->fifo_head];
		d->fifo_head = (d->fifo_head + 1) % d->inflight;
		d->fifo_len--;
		pthread_mutex_unlock(&d->lock);

		/* The slot is ours until we push its completion. */
		s = &d->slots[idx];
		if (s->hdr.work_ns)
			sleep_ns(s->hdr.work_ns);
		memset(&m, 0, sizeof(m));
		m.kind = L3L2Q_MAILBOX_KIND_TASK_NORMAL_DONE;
		m.task_token = idx;
		m.engine = a->index;
		m.backend_cookie = l3l2q_task_result_hash(
			s->hdr.op, s->hdr.arg,
			(const unsigned char *)s->msg.data + L3L2Q_TASK_HDR_BYTES,
			s->hdr.payload_bytes);
		/*
		 * Full mailbox (§10): retry; the mailbox counts every full
		 * push, reported as mailbox_full.  The window (<= 256) is far
		 * below its capacity, so this stays 0 here.
		 */
		while (l3l2q_mailbox_push(d->mb, &m) == -EAGAIN)
			sched_yield();
		ring_doorbell(d);
	}
	free(a);
	return NULL;
}

int devsim_start_cores(struct devsim *d)
{
	struct core_arg *a;
	unsigned int i;
	int ret;

	d->threads = calloc(d->workers, sizeof(*d->threads));
	if (!d->threads)
		return -ENOMEM;
	for (i = 0; i < d->workers; i++) {
		a = malloc(sizeof(*a));
		if (!a)
			return -ENOMEM;
		a->d = d;
		a->index = i;
		ret = pthread_create(&d->threads[i], NULL, core_main, a);
		if (ret) {
			free(a);
			return -ret;
		}
		d->nthreads++;
	}
	return 0;
}

void devsim_stop_cores(struct devsim *d)
{
	unsigned int i;

	pthread_mutex_lock(&d->lock);
	d->quit = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	d->nthreads = 0;
}

void devsim_dispatch(struct devsim *d, unsigned int idx)
{
	pthread_mutex_lock(&d->lock);
	d->fifo[(d->fifo_head + d->fifo_len) % d->inflight] = idx;
	d->fifo_len++;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}
