// SPDX-License-Identifier: MIT
/*
 * serve.c - the serving state around one L2 endpoint, whoever made the
 * endpoint: the input window, the mailbox, the orchestrator's io_uring and
 * the cores.  setup.c uses it for an L2 fd, region.c for each region a
 * device serves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devsim.h"

void devsim_serve_prepare(struct devsim *d)
{
	d->doorbell = -1;
	d->wake_fd = -1;
	if (!d->tag)
		d->tag = "";
	if (!d->slice_ns)
		d->slice_ns = WAIT_SLICE_NS;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
}

int devsim_serve_start(struct devsim *d, __u64 out_arena)
{
	int ret;

	d->out_arena = out_arena;
	d->slots = calloc(d->inflight, sizeof(*d->slots));
	d->fifo = calloc(d->inflight, sizeof(*d->fifo));
	d->mb = aligned_alloc(64, sizeof(*d->mb));
	d->doorbell = eventfd(0, EFD_CLOEXEC);
	if (!d->slots || !d->fifo || !d->mb || d->doorbell < 0) {
		devsim_err_msg("%sout of memory or eventfd: %s", d->tag,
			       strerror(errno));
		return 1;
	}
	l3l2q_mailbox_init(d->mb);
	ret = io_uring_queue_init(4, &d->ring, 0);
	if (ret) {
		devsim_err_msg("%sio_uring_queue_init: %s", d->tag,
			       strerror(-ret));
		return 1;
	}
	d->ring_ok = 1;
	d->st.workers = d->workers;
	d->st.window = d->inflight;
	ret = devsim_start_cores(d);
	if (ret) {
		devsim_err_msg("%sstarting %u cores: %s", d->tag, d->workers,
			       strerror(-ret));
		return 1;
	}
	return 0;
}

void devsim_serve_stop(struct devsim *d)
{
	devsim_stop_cores(d);
	/* Cancels a wait still in the kernel before its buffers go. */
	if (d->ring_ok)
		io_uring_queue_exit(&d->ring);
	d->ring_ok = 0;
	if (d->doorbell >= 0)
		close(d->doorbell);
	d->doorbell = -1;
	free(d->threads);
	free(d->mb);
	free(d->fifo);
	free(d->slots);
	d->threads = NULL;
	d->mb = NULL;
	d->fifo = NULL;
	d->slots = NULL;
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
}

void devsim_print_stats(const struct devsim *d)
{
	const struct l3l2q_task_stats *s = &d->st;

	devsim_msg("%stasks %llu, errors %llu, bytes in %llu, out %llu", d->tag,
		   (unsigned long long)s->tasks, (unsigned long long)s->errors,
		   (unsigned long long)s->bytes_in,
		   (unsigned long long)s->bytes_out);
	devsim_msg("%skicks %llu, suppressed %llu, sleeps %llu, idle waits %llu, "
		   "doorbells %llu, out of order %llu, mailbox full %llu",
		   d->tag, (unsigned long long)s->kicks,
		   (unsigned long long)s->kicks_suppressed,
		   (unsigned long long)s->sleeps,
		   (unsigned long long)s->idle_waits,
		   (unsigned long long)s->doorbells,
		   (unsigned long long)s->out_of_order,
		   (unsigned long long)s->mailbox_full);
}
