// SPDX-License-Identifier: MIT
/*
 * l3l2q-devsim: a simulated device orchestrator (the L2 role).
 *
 *   l3l2q-devsim (--fd N | --socket PATH) [--inflight N] [--workers N]
 *                [--quiet]
 *
 * One orchestrator thread owns the L2 endpoint (the core is not
 * thread-safe).  It acquires inputs through the input window (up to
 * --inflight held at once) and hands each task to a pool of worker threads,
 * the simulated cores.  A core sleeps for the task's work_ns and hashes
 * op(task bytes), reading the input in place; tasks therefore finish out of
 * order.  Cores report completions through the lock-free MPSC mailbox
 * (l3l2q_mailbox.h).  The orchestrator pops them, writes each RESULT
 * straight into an output reservation (zero copy: op is applied from the
 * input view to the output view) and releases the input; the window only
 * moves the ring's head over the completed FIFO prefix.
 *
 * Payloads carry the 64-byte header of l3l2q_task.h.  A malformed input is
 * answered with an ERROR message naming the field and released; the run
 * goes on.  On STOP: finish everything in flight, publish a STATS message,
 * release STOP (the drain), print the counters, exit 0.
 *
 * Exit status: 0 after a STOP drain; 1 on an error of the queue or the
 * system; 2 on bad options; 3 when the L3 side aborted or went away.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libl3l2q_uring.h"
#include "l3l2q_mailbox.h"
#include "l3l2q_task.h"

#define PROG			"l3l2q-devsim"
#define EXIT_PEER_GONE		3
#define MAX_WORKERS		64u
/* A task may not occupy a core for longer than this (a hostile work_ns). */
#define MAX_WORK_NS		(10ull * 1000000000ull)
/* Blocking calls wake this often to re-check; no timing depends on it. */
#define WAIT_SLICE_NS		(1000ull * 1000000ull)
#define REASON_BYTES		160u
/*
 * Idle rounds the orchestrator spins (re-checking the mailbox and the
 * input) before it sleeps, like the library's blocking calls: a core or
 * the L3 is often only a few microseconds away.
 */
#define SPIN_ROUNDS		256u

struct opts {
	int fd;
	const char *socket_path;
	unsigned int inflight;
	unsigned int workers;
	int quiet;
};

/*
 * One window entry.  Entry k (in acquisition order) lives in slot
 * k % inflight: the library's window holds at most inflight DATA/ERROR
 * entries, and entry k can only be acquired once entry k - inflight has
 * been released physically, so the slot is free by then.
 */
enum slot_state {
	SLOT_FREE = 0,
	SLOT_BUSY,			/* with a core */
	SLOT_DONE,			/* released, waiting for older entries */
};

struct slot {
	struct l3l2q_msg msg;
	struct l3l2q_task_hdr hdr;
	__u64 order;
	enum slot_state state;
};

struct devsim {
	struct l3l2q_queue *q;
	struct l3l2q_l2 *l2;
	const struct opts *o;
	struct slot *slots;		/* o->inflight of them */
	unsigned int nbusy;		/* slots with a core */
	__u64 next_order;		/* entries acquired (STOP aside) */
	__u64 head_order;		/* entries released physically */
	__u64 out_arena;

	/* Orchestrator -> cores: a FIFO of slot indices under a mutex. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int *fifo;		/* o->inflight entries */
	unsigned int fifo_head, fifo_len;
	int quit;
	pthread_t *threads;
	unsigned int nthreads;

	/* Cores -> orchestrator: the mailbox, and a doorbell for a sleeper. */
	struct l3l2q_mailbox *mb;
	int doorbell;			/* eventfd, blocking: read by io_uring */
	__u64 bell;			/* its read buffer */
	struct io_uring ring;		/* the orchestrator's waits */
	int ring_ok;
	__u32 pending;			/* WAIT_* in the kernel */
	atomic_int orch_waiting;
	atomic_ullong doorbells;	/* doorbell writes (system calls) */

	struct l3l2q_task_stats st;
};

static int quiet;

static void msg(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Errors are printed even with --quiet. */
static void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A failed queue call: exit 3 if the peer is gone, else 1. */
static int queue_failure(struct devsim *d, const char *what, int ret)
{
	const struct l3l2q_error *e = l3l2q_ep_last_error(&d->l2->ep);

	if (ret == -ECONNRESET) {
		err_msg("the L3 side is gone (%s): %s; exiting", what, e->message);
		return EXIT_PEER_GONE;
	}
	err_msg("%s: %s (%s: %s)", what, strerror(-ret),
		l3l2q_error_op_str(e->op), e->message);
	return 1;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* ---- the cores ---- */

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
	 * Pairs with the fence in wait_for_work(): either the orchestrator
	 * sees our push in its re-check, or we see orch_waiting set here.
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
		d->fifo_head = (d->fifo_head + 1) % d->o->inflight;
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

static int start_cores(struct devsim *d)
{
	struct core_arg *a;
	unsigned int i;
	int ret;

	d->threads = calloc(d->o->workers, sizeof(*d->threads));
	if (!d->threads)
		return -ENOMEM;
	for (i = 0; i < d->o->workers; i++) {
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

static void stop_cores(struct devsim *d)
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

static void dispatch(struct devsim *d, unsigned int idx)
{
	pthread_mutex_lock(&d->lock);
	d->fifo[(d->fifo_head + d->fifo_len) % d->o->inflight] = idx;
	d->fifo_len++;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* ---- output ---- */

/* Blocking reserve that survives the wait slices; 0 or a failure exit. */
static int reserve(struct devsim *d, __u64 n, struct l3l2q_res *res)
{
	int ret;

	do
		ret = l3l2q_l2_reserve(d->l2, n, l3l2q_deadline_in(WAIT_SLICE_NS),
				       res);
	while (ret == -ETIMEDOUT);
	return ret ? queue_failure(d, "output reserve", ret) : 0;
}

/* Answer @in with an ERROR message: its header (when readable) + @reason. */
static int publish_error(struct devsim *d, const struct l3l2q_msg *in,
			 const struct l3l2q_task_hdr *task, int readable,
			 const char *reason)
{
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC,
		.version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_ERROR,
		.id = L3L2Q_TASK_ID_NONE,
	};
	struct l3l2q_res res;
	__u64 len = strlen(reason), n;
	int ret;

	if (readable) {
		h.op = task->op;
		h.arg = task->arg;
		h.id = task->id;
		h.work_ns = task->work_ns;
		h.submit_ns = task->submit_ns;
	}
	/* An output arena too small for the reason gets it truncated. */
	if (L3L2Q_TASK_HDR_BYTES + len > d->out_arena)
		len = d->out_arena > L3L2Q_TASK_HDR_BYTES ?
		      d->out_arena - L3L2Q_TASK_HDR_BYTES : 0;
	n = d->out_arena >= L3L2Q_TASK_HDR_BYTES ? L3L2Q_TASK_HDR_BYTES + len : 0;
	h.payload_bytes = len;
	h.hash = l3l2q_fnv1a64(L3L2Q_FNV64_INIT, reason, len);
	ret = reserve(d, n, &res);
	if (ret)
		return ret;
	if (n) {
		l3l2q_task_store(res.data, &h);
		memcpy((char *)res.data + L3L2Q_TASK_HDR_BYTES, reason, len);
	}
	ret = l3l2q_l2_publish(d->l2, &res, L3L2Q_OP_ERROR);
	if (ret)
		return queue_failure(d, "output publish", ret);
	d->st.errors++;
	d->st.bytes_out += n;
	if (!quiet)
		msg("input seq %llu: %s", (unsigned long long)in->seq, reason);
	return 0;
}

static int release_input(struct devsim *d, const struct l3l2q_msg *in)
{
	int ret = l3l2q_l2_release(d->l2, in);

	return ret ? queue_failure(d, "input release", ret) : 0;
}

/* Entries the window holds: acquired and not yet released physically. */
static unsigned int held(const struct devsim *d)
{
	return (unsigned int)(d->next_order - d->head_order);
}

/*
 * Release @s's input and mirror the library's FIFO watermark (reference
 * §7): the head only moves over the completed prefix.
 */
static int retire(struct devsim *d, struct slot *s)
{
	struct slot *h;
	int ret = release_input(d, &s->msg);

	if (ret)
		return ret;
	s->state = SLOT_DONE;
	while (d->head_order < d->next_order) {
		h = &d->slots[d->head_order % d->o->inflight];
		if (h->state != SLOT_DONE)
			break;
		h->state = SLOT_FREE;
		d->head_order++;
	}
	return 0;
}

/* A core finished slot @idx: publish its RESULT, release its input. */
static int complete(struct devsim *d, const struct l3l2q_mailbox_msg *m)
{
	struct slot *s;
	struct l3l2q_task_hdr h;
	struct l3l2q_res res;
	const unsigned char *src;
	unsigned char *dst;
	__u64 k, n;
	int ret;

	if (m->task_token >= d->o->inflight ||
	    d->slots[m->task_token].state != SLOT_BUSY) {
		err_msg("mailbox: completion for slot %llu that is not busy",
			(unsigned long long)m->task_token);
		return 1;
	}
	s = &d->slots[m->task_token];
	/* An older entry is still held: this one overtook it. */
	if (s->order != d->head_order)
		d->st.out_of_order++;
	h = s->hdr;
	h.kind = L3L2Q_TASK_KIND_RESULT;
	h.hash = m->backend_cookie;
	h.worker = m->engine;
	n = L3L2Q_TASK_HDR_BYTES + h.payload_bytes;
	ret = reserve(d, n, &res);
	if (ret)
		return ret;
	/* Zero copy: op() goes from the input view into the output view. */
	l3l2q_task_store(res.data, &h);
	src = (const unsigned char *)s->msg.data + L3L2Q_TASK_HDR_BYTES;
	dst = (unsigned char *)res.data + L3L2Q_TASK_HDR_BYTES;
	for (k = 0; k < h.payload_bytes; k++)
		dst[k] = l3l2q_task_apply(h.op, h.arg, src[k]);
	ret = l3l2q_l2_publish(d->l2, &res, L3L2Q_OP_DATA);
	if (ret)
		return queue_failure(d, "output publish", ret);
	d->st.tasks++;
	d->st.bytes_out += n;
	d->nbusy--;
	return retire(d, s);
}

static int drain_mailbox(struct devsim *d, int *progress)
{
	struct l3l2q_mailbox_msg m;
	int ret;

	while (l3l2q_mailbox_pop(d->mb, &m) == 0) {
		*progress = 1;
		ret = complete(d, &m);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- input ---- */

/*
 * Check a task; NULL if it is fine, else the reason, naming the field.
 * *readable says whether the header (and so the id) could be trusted.
 */
static const char *check_task(struct devsim *d, const struct l3l2q_msg *in,
			      struct l3l2q_task_hdr *h, int *readable,
			      char *buf, size_t cap)
{
	memset(h, 0, sizeof(*h));
	/* The id is trusted only behind a full header with the right magic. */
	if (in->nbytes >= L3L2Q_TASK_HDR_BYTES)
		l3l2q_task_load(h, in->data);
	*readable = in->nbytes >= L3L2Q_TASK_HDR_BYTES &&
		    h->magic == L3L2Q_TASK_MAGIC;
	if (in->opcode == L3L2Q_OP_ERROR)
		return "opcode: the input is an ERROR message, not a task";
	if (in->nbytes < L3L2Q_TASK_HDR_BYTES) {
		snprintf(buf, cap, "payload: %llu bytes, smaller than the "
			 "%u-byte task header", (unsigned long long)in->nbytes,
			 L3L2Q_TASK_HDR_BYTES);
		return buf;
	}
	if (h->magic != L3L2Q_TASK_MAGIC) {
		snprintf(buf, cap, "magic: 0x%08x is not 0x%08x", h->magic,
			 L3L2Q_TASK_MAGIC);
		return buf;
	}
	if (h->version != L3L2Q_TASK_VERSION) {
		snprintf(buf, cap, "version: %u, expected %u", h->version,
			 L3L2Q_TASK_VERSION);
		return buf;
	}
	if (h->kind != L3L2Q_TASK_KIND_TASK) {
		snprintf(buf, cap, "kind: %u is not TASK (%u)", h->kind,
			 L3L2Q_TASK_KIND_TASK);
		return buf;
	}
	if (h->payload_bytes != in->nbytes - L3L2Q_TASK_HDR_BYTES) {
		snprintf(buf, cap, "payload_bytes: the header says %llu, the "
			 "message carries %llu",
			 (unsigned long long)h->payload_bytes,
			 (unsigned long long)(in->nbytes - L3L2Q_TASK_HDR_BYTES));
		return buf;
	}
	if (h->op >= L3L2Q_TASK_OP_COUNT) {
		snprintf(buf, cap, "op: unknown op %u", h->op);
		return buf;
	}
	if (h->work_ns > MAX_WORK_NS) {
		snprintf(buf, cap, "work_ns: %llu exceeds the limit of %llu",
			 (unsigned long long)h->work_ns, MAX_WORK_NS);
		return buf;
	}
	if (h->resv || h->hash || h->worker) {
		snprintf(buf, cap, "resv: hash, worker and resv must be 0 in a task");
		return buf;
	}
	if (in->nbytes > d->out_arena) {
		snprintf(buf, cap, "payload_bytes: a %llu-byte result can never "
			 "fit the %llu-byte output arena",
			 (unsigned long long)in->nbytes,
			 (unsigned long long)d->out_arena);
		return buf;
	}
	return NULL;
}

/* Take one acquired input: a task for a core, an ERROR answer, or STOP. */
static int take_input(struct devsim *d, const struct l3l2q_msg *in,
		      struct l3l2q_msg *stop, int *stop_seen)
{
	char buf[REASON_BYTES];
	struct l3l2q_task_hdr h;
	const char *why;
	struct slot *s;
	unsigned int i;
	int readable, ret;

	if (in->opcode == L3L2Q_OP_STOP) {
		*stop = *in;
		*stop_seen = 1;
		return 0;
	}
	i = (unsigned int)(d->next_order % d->o->inflight);
	s = &d->slots[i];
	if (s->state != SLOT_FREE) {
		/* The library's window would have refused: cannot happen. */
		err_msg("slot %u still held with %u entries held", i, held(d));
		return 1;
	}
	s->msg = *in;
	s->order = d->next_order++;
	d->st.bytes_in += in->nbytes;
	why = check_task(d, in, &h, &readable, buf, sizeof(buf));
	if (why) {
		/* Answered at once; it still takes its turn in the window. */
		ret = publish_error(d, in, &h, readable, why);
		return ret ? ret : retire(d, s);
	}
	s->hdr = h;
	s->state = SLOT_BUSY;
	d->nbusy++;
	dispatch(d, i);
	return 0;
}

/* What an io_uring wait of the orchestrator is for (its user_data). */
#define WAIT_DOORBELL	1u
#define WAIT_INPUT	2u

/*
 * A wait for input in the kernel.  Not poll(): the driver's EPOLLIN means
 * "tail != head", which stays true while the window holds entries, so it
 * cannot say "new input".  Over the driver it is a WAIT command that ends
 * when the input tail moves past what this endpoint saw; over a memfd a
 * POLL_ADD on the role's eventfd (a read there would steal kicks meant for
 * the library's own sleeps).
 */
static int arm_input(struct devsim *d)
{
	struct io_uring_sqe *sqe;
	int ret = 0;

	if (d->pending & WAIT_INPUT)
		return 0;
	sqe = io_uring_get_sqe(&d->ring);
	if (!sqe)
		return -EBUSY;
	if (l3l2q_queue_backend(d->q) == L3L2Q_BACKEND_MEMFD)
		io_uring_prep_poll_add(sqe, l3l2q_queue_poll_fd(d->q), POLLIN);
	else
		ret = l3l2q_prep_wait(sqe, d->q, L3L2Q_WAKE_INPUT_AVAIL,
				      l3l2q_deadline_in(WAIT_SLICE_NS), NULL);
	io_uring_sqe_set_data64(sqe, WAIT_INPUT);
	d->pending |= WAIT_INPUT;
	return ret;
}

static int arm_doorbell(struct devsim *d)
{
	struct io_uring_sqe *sqe;

	if (d->pending & WAIT_DOORBELL)
		return 0;
	sqe = io_uring_get_sqe(&d->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, d->doorbell, &d->bell, sizeof(d->bell), 0);
	io_uring_sqe_set_data64(sqe, WAIT_DOORBELL);
	d->pending |= WAIT_DOORBELL;
	return 0;
}

/* Take every completion; -ECONNRESET when the driver says L3 is gone. */
static int reap(struct devsim *d)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	int ret = 0;
	__u64 val;

	io_uring_for_each_cqe(&d->ring, head, cqe) {
		d->pending &= ~(__u32)io_uring_cqe_get_data64(cqe);
		if (cqe->res == -ECONNRESET)
			ret = -ECONNRESET;
		else if (cqe->res < 0 && cqe->res != -ETIMEDOUT &&
			 cqe->res != -ECANCELED && cqe->res != -EINTR && !ret)
			ret = cqe->res;
		n++;
	}
	io_uring_cq_advance(&d->ring, n);
	/* A memfd queue's eventfd (non-blocking): drain the kick we saw. */
	if (l3l2q_queue_backend(d->q) == L3L2Q_BACKEND_MEMFD &&
	    read(l3l2q_queue_poll_fd(d->q), &val, sizeof(val)) < 0 &&
	    errno != EAGAIN && !ret)
		ret = -errno;
	return ret;
}

/*
 * Nothing to do right now, tasks in flight: sleep in io_uring until a core
 * completes one (its doorbell) or, when the window has room, an input
 * arrives.  The cores ring the doorbell only while orch_waiting is set.
 */
static int wait_for_work(struct devsim *d, int want_input, int *got,
			 struct l3l2q_msg *in)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(WAIT_SLICE_NS / 1000000000ull),
		.tv_nsec = (long long)(WAIT_SLICE_NS % 1000000000ull),
	};
	struct io_uring_cqe *cqe;
	int ret;

	*got = 0;
	if (want_input) {
		/* W1, W2: ask L3 for a kick, then re-check (W3). */
		if (l3l2q_ep_want_wakeup(&d->l2->ep, L3L2Q_WAKE_INPUT_AVAIL))
			want_input = 0;	/* no control block: the timeout re-checks */
		ret = l3l2q_l2_try_peek(d->l2, in);
		if (ret != -EAGAIN) {
			l3l2q_ep_clear_wakeup(&d->l2->ep, L3L2Q_WAKE_INPUT_AVAIL);
			if (ret)
				return queue_failure(d, "input peek", ret);
			*got = 1;
			return 0;
		}
	}
	atomic_store_explicit(&d->orch_waiting, 1, memory_order_relaxed);
	/* Pairs with the fence in ring_doorbell(). */
	atomic_thread_fence(memory_order_seq_cst);
	if (!l3l2q_mailbox_has_pending(d->mb)) {
		ret = arm_doorbell(d);
		if (!ret && want_input)
			ret = arm_input(d);
		if (ret) {
			err_msg("preparing a wait: %s", strerror(-ret));
			return 1;
		}
		d->st.idle_waits++;
		/* The timeout is a safety net only: see WAIT_SLICE_NS. */
		ret = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts,
						       NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR) {
			err_msg("io_uring_submit_and_wait_timeout: %s",
				strerror(-ret));
			return 1;
		}
	}
	atomic_store_explicit(&d->orch_waiting, 0, memory_order_relaxed);
	if (want_input)
		l3l2q_ep_clear_wakeup(&d->l2->ep, L3L2Q_WAKE_INPUT_AVAIL);
	ret = reap(d);
	if (ret)
		return queue_failure(d, "waiting for input", ret);
	return 0;
}

static int publish_stats(struct devsim *d)
{
	const struct l3l2q_stats *ls = l3l2q_ep_stats(&d->l2->ep);
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
	d->st.kicks = ls->kicks;
	d->st.kicks_suppressed = ls->kicks_suppressed;
	d->st.sleeps = ls->sleeps;
	d->st.mailbox_full = l3l2q_mailbox_skipped(d->mb);
	d->st.doorbells = atomic_load_explicit(&d->doorbells,
					       memory_order_relaxed);
	ret = reserve(d, n, &res);
	if (ret)
		return ret;
	d->st.bytes_out += n;
	l3l2q_task_stats_store((char *)res.data + L3L2Q_TASK_HDR_BYTES, &d->st);
	h.hash = l3l2q_fnv1a64(L3L2Q_FNV64_INIT,
			       (char *)res.data + L3L2Q_TASK_HDR_BYTES,
			       sizeof(struct l3l2q_task_stats));
	l3l2q_task_store(res.data, &h);
	ret = l3l2q_l2_publish(d->l2, &res, L3L2Q_OP_DATA);
	return ret ? queue_failure(d, "output publish (STATS)", ret) : 0;
}

/* The orchestrator: until STOP is drained or something fails. */
static int run(struct devsim *d)
{
	struct l3l2q_msg in, stop;
	int stop_seen = 0, progress, got, ret;
	unsigned int spins = 0;

	for (;;) {
		progress = 0;
		ret = drain_mailbox(d, &progress);
		if (ret)
			return ret;
		if (!stop_seen && held(d) < d->o->inflight) {
			ret = l3l2q_l2_try_peek(d->l2, &in);
			if (ret == 0) {
				progress = 1;
				ret = take_input(d, &in, &stop, &stop_seen);
				if (ret)
					return ret;
			} else if (ret != -EAGAIN) {
				return queue_failure(d, "input peek", ret);
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
			ret = l3l2q_l2_peek(d->l2, l3l2q_deadline_in(WAIT_SLICE_NS),
					    &in);
			if (ret == -ETIMEDOUT)
				continue;
			if (ret)
				return queue_failure(d, "input peek", ret);
			ret = take_input(d, &in, &stop, &stop_seen);
		} else {
			ret = wait_for_work(d, !stop_seen &&
					    held(d) < d->o->inflight, &got, &in);
			if (!ret && got)
				ret = take_input(d, &in, &stop, &stop_seen);
		}
		if (ret)
			return ret;
	}
	/* Every task before STOP is answered: the final word, then STOP. */
	ret = publish_stats(d);
	if (ret)
		return ret;
	ret = release_input(d, &stop);
	if (ret)
		return ret;
	if (!l3l2q_l2_drained(d->l2)) {
		err_msg("STOP released but the input is not drained");
		return 1;
	}
	return 0;
}

/* ---- setup ---- */

static int connect_socket(const char *path)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int i;
	int s, ret = -EINVAL;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err_msg("--socket: path longer than %zu bytes",
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	/* The listener picks the type; try both before giving up. */
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		s = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return s;
		ret = -errno;
		close(s);
		if (ret != -EPROTOTYPE)
			break;
	}
	err_msg("--socket %s: connect: %s", path, strerror(-ret));
	return ret;
}

/* The L2 fd, from --fd or over --socket; -1 after printing why. */
static int get_fd(const struct opts *o)
{
	int s, fd;

	if (!o->socket_path) {
		if (fcntl(o->fd, F_GETFD) < 0) {
			err_msg("--fd %d: not an open file descriptor (%s)",
				o->fd, strerror(errno));
			return -1;
		}
		return o->fd;
	}
	s = connect_socket(o->socket_path);
	if (s < 0)
		return -1;
	fd = l3l2q_recv_fd(s);
	close(s);
	if (fd < 0) {
		err_msg("--socket %s: receiving the L2 fd: %s", o->socket_path,
			strerror(-fd));
		return -1;
	}
	return fd;
}

static int setup(struct devsim *d, const struct opts *o)
{
	struct l3l2q_attach_params ap = { .max_inflight = o->inflight };
	struct l3l2q_error err;
	int fd, ret;

	memset(d, 0, sizeof(*d));
	d->o = o;
	d->doorbell = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	fd = get_fd(o);
	if (fd < 0)
		return 1;
	ret = l3l2q_attach(fd, &ap, &d->q, &err);
	/* The queue keeps what it needs; the L2 fd is ours to close. */
	close(fd);
	if (ret) {
		err_msg("attach: %s (%s)", strerror(-ret), err.message);
		if (ret == -EINVAL && strstr(err.message, "max_inflight"))
			err_msg("--inflight %u: must be at most the queue depth",
				o->inflight);
		return ret == -ECONNRESET ? EXIT_PEER_GONE : 1;
	}
	d->l2 = l3l2q_queue_l2(d->q);
	d->out_arena = l3l2q_queue_layout(d->q)->output_arena_bytes;
	d->slots = calloc(o->inflight, sizeof(*d->slots));
	d->fifo = calloc(o->inflight, sizeof(*d->fifo));
	d->mb = aligned_alloc(64, sizeof(*d->mb));
	d->doorbell = eventfd(0, EFD_CLOEXEC);
	if (!d->slots || !d->fifo || !d->mb || d->doorbell < 0) {
		err_msg("out of memory or eventfd: %s", strerror(errno));
		return 1;
	}
	l3l2q_mailbox_init(d->mb);
	ret = io_uring_queue_init(4, &d->ring, 0);
	if (ret) {
		err_msg("io_uring_queue_init: %s", strerror(-ret));
		return 1;
	}
	d->ring_ok = 1;
	d->st.workers = o->workers;
	d->st.window = o->inflight;
	ret = start_cores(d);
	if (ret) {
		err_msg("starting %u cores: %s", o->workers, strerror(-ret));
		return 1;
	}
	msg("attached (%s), depth %llu, window %u, %u cores",
	    l3l2q_queue_backend(d->q) == L3L2Q_BACKEND_DEVICE ? "/dev/l3l2q" :
	    "memfd", (unsigned long long)l3l2q_queue_layout(d->q)->depth,
	    o->inflight, o->workers);
	return 0;
}

static void teardown(struct devsim *d)
{
	stop_cores(d);
	/* Cancels a wait still in the kernel before its buffers go. */
	if (d->ring_ok)
		io_uring_queue_exit(&d->ring);
	if (d->doorbell >= 0)
		close(d->doorbell);
	free(d->threads);
	free(d->mb);
	free(d->fifo);
	free(d->slots);
	/* A live L3 sees this role die: that is the end of the run for it. */
	l3l2q_destroy(d->q);
}

static void print_stats(const struct l3l2q_task_stats *s)
{
	msg("tasks %llu, errors %llu, bytes in %llu, out %llu",
	    (unsigned long long)s->tasks, (unsigned long long)s->errors,
	    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
	msg("kicks %llu, suppressed %llu, sleeps %llu, idle waits %llu, "
	    "doorbells %llu, out of order %llu, mailbox full %llu",
	    (unsigned long long)s->kicks,
	    (unsigned long long)s->kicks_suppressed,
	    (unsigned long long)s->sleeps, (unsigned long long)s->idle_waits,
	    (unsigned long long)s->doorbells,
	    (unsigned long long)s->out_of_order,
	    (unsigned long long)s->mailbox_full);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " (--fd N | --socket PATH) [--inflight N] "
		"[--workers N] [--quiet]\n"
		"  --fd N        the L2 fd, inherited\n"
		"  --socket PATH connect to PATH and receive the L2 fd (SCM_RIGHTS)\n"
		"  --inflight N  input window, 1..%u and at most the depth "
		"(default 16)\n"
		"  --workers N   simulated cores, 1..%u (default 4)\n"
		"  --quiet       print errors only\n"
		"exit: 0 after STOP, 1 error, 2 bad options, 3 L3 gone\n",
		L3L2Q_WINDOW_MAX, MAX_WORKERS);
}

/* A whole decimal number in [lo, hi]; else a message naming the option. */
static int parse_uint(const char *opt, const char *s, unsigned long lo,
		      unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		err_msg("%s: '%s' is not a number in [%lu, %lu]", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "workers", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	*o = (struct opts){ .fd = -1, .inflight = 16, .workers = 4 };
	while ((c = getopt_long(argc, argv, "f:s:i:w:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_uint("--fd", optarg, 0, INT_MAX, &v))
				return -1;
			o->fd = (int)v;
			break;
		case 's':
			o->socket_path = optarg;
			break;
		case 'i':
			if (parse_uint("--inflight", optarg, 1, L3L2Q_WINDOW_MAX, &v))
				return -1;
			o->inflight = (unsigned int)v;
			break;
		case 'w':
			if (parse_uint("--workers", optarg, 1, MAX_WORKERS, &v))
				return -1;
			o->workers = (unsigned int)v;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		err_msg("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if ((o->fd >= 0) == !!o->socket_path) {
		err_msg("exactly one of --fd and --socket is needed");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct devsim d;
	struct opts o;
	int ret;

	if (parse_opts(argc, argv, &o))
		return 2;
	quiet = o.quiet;
	/* A vanished unix-socket peer must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	ret = setup(&d, &o);
	if (ret) {
		if (d.q)
			teardown(&d);
		return ret;
	}
	ret = run(&d);
	print_stats(&d.st);
	teardown(&d);
	if (!ret)
		msg("STOP drained, exiting");
	return ret;
}
