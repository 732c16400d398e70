// SPDX-License-Identifier: MIT
/*
 * l3l2q-chandemo: a host runtime (L3) drives a device (L2, a forked child
 * here) through both transports at once, over memfds:
 *
 *   - one HDCH channel: --host-threads threads each lease a lane and send
 *     --count control messages (SET, or 1 in --call-every a PING through
 *     l3l2q_chan_call() that waits for its reply) to --device-threads
 *     device threads, which take them from any lane and answer each PING
 *     on L3L2Q_CHAN_ROUTE_REPLY;
 *   - one queue: a host thread streams --tasks tasks, then STOP; a device
 *     thread takes them in order.
 *
 *   l3l2q-chandemo [--count N] [--host-threads H] [--device-threads D]
 *                  [--call-every K] [--tasks T]
 *
 * Every message is checked: a control message's payload (sender, index,
 * kind, a pattern of both) and its order on its lane; on the device, each
 * (sender, index) must arrive exactly once; every reply must answer its
 * request; every task's payload and its order.  The host closes the
 * channel (CLOSE, the device drains, ACK) and stops the queue, then both
 * sides print a table.
 *
 * Exit status: 0 only if every check passed on both sides and the device
 * exited 0; 1 otherwise; 2 for bad options.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libl3l2q.h"
#include "libl3l2q_channel.h"

#define PROG		"l3l2q-chandemo"
#define THREADS_MAX	16u
#define WATCHDOG_NS	(120ull * 1000000000ull)	/* a hang, not a rate */
#define TASK_MAX	256u

enum { ROUTE_SET = 1, ROUTE_PING = 2 };

struct opts {
	unsigned long count, hthreads, dthreads, call_every, tasks;
};

/* A control message: who sent it, its index, a pattern of both. */
struct ctl {
	__u32 sender;
	__u32 index;
	unsigned char pattern[56];
};

static void ctl_fill(struct ctl *c, __u32 sender, __u32 index)
{
	unsigned int k;

	c->sender = sender;
	c->index = index;
	for (k = 0; k < sizeof(c->pattern); k++)
		c->pattern[k] = (unsigned char)(sender * 31 + index * 7 + k);
}

static int ctl_ok(const struct ctl *c)
{
	struct ctl want;

	ctl_fill(&want, c->sender, c->index);
	return !memcmp(c, &want, sizeof(want));
}

/* Task i: i, then a pattern of it; 8 + i % 200 bytes. */
static __u32 task_fill(unsigned char *buf, __u64 i)
{
	__u32 n = 8 + (__u32)(i % 200), k;

	memcpy(buf, &i, 8);
	for (k = 8; k < n; k++)
		buf[k] = (unsigned char)(i + k);
	return n;
}

static int task_ok(const unsigned char *buf, __u64 n, __u64 i)
{
	unsigned char want[TASK_MAX];

	return n == task_fill(want, i) && !memcmp(buf, want, n);
}

static __u64 deadline(void)
{
	return l3l2q_deadline_in(WATCHDOG_NS);
}

static void report(const char *side, const char *what, int ret,
		   const struct l3l2q_error *e)
{
	fprintf(stderr, PROG ": %s: %s: %s%s%s\n", side, what,
		strerror(ret < 0 ? -ret : ret), e && e->message[0] ? ": " : "",
		e ? e->message : "");
}

/* ---- the device (child) ---- */

struct dev {
	const struct opts *o;
	struct l3l2q_chan *ch;
	struct l3l2q_l2 *l2;
	atomic_uchar *seen;		/* per (sender, index): times taken */
	atomic_int bad;
	__u64 tasks;
};

struct dthread {
	struct dev *d;
	unsigned int id;
	pthread_t t;
	__u64 set, ping, lanes_seen;
};

static void *dev_control(void *p)
{
	struct dthread *t = p;
	struct dev *d = t->d;
	__u64 last[L3L2Q_CHAN_LANES_MAX];
	unsigned char buf[L3L2Q_CHAN_INLINE_BYTES];
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	const struct ctl *c = (const struct ctl *)buf;
	unsigned int k;
	int ret;

	memset(last, 0xff, sizeof(last));
	l3l2q_chan_ctx_init(&ctx, d->ch);
	ret = l3l2q_chan_lease(&ctx, t->id, deadline());
	if (ret) {
		report("device", "lease", ret, l3l2q_chan_last_error(&ctx));
		atomic_store(&d->bad, 1);
		return NULL;
	}
	for (;;) {
		ret = l3l2q_chan_recv(&ctx, buf, sizeof(buf), deadline(), &m);
		if (ret == -EPIPE)
			break;		/* the host closed, everything taken */
		if (ret) {
			report("device", "recv", ret,
			       l3l2q_chan_last_error(&ctx));
			atomic_store(&d->bad, 1);
			break;
		}
		if (m.nbytes != sizeof(struct ctl) || !ctl_ok(c) ||
		    c->sender >= d->o->hthreads || c->index >= d->o->count ||
		    m.lane >= L3L2Q_CHAN_LANES_MAX ||
		    (m.route != ROUTE_SET && m.route != ROUTE_PING) ||
		    (last[m.lane] != ~0ull && m.pos <= last[m.lane])) {
			fprintf(stderr, PROG ": device: bad message: route %u,"
				" %u bytes, lane %u\n", m.route, m.nbytes,
				m.lane);
			atomic_store(&d->bad, 1);
			continue;
		}
		last[m.lane] = m.pos;
		atomic_fetch_add(&d->seen[(__u64)c->sender * d->o->count +
					  c->index], 1);
		if (m.route == ROUTE_SET) {
			t->set++;
			continue;
		}
		t->ping++;
		/* The reply: the request, index + 1 (answers this request). */
		((struct ctl *)buf)->index = c->index + 1;
		ret = l3l2q_chan_send(&ctx, L3L2Q_CHAN_ROUTE_REPLY,
				      m.correlation_id, buf, m.nbytes,
				      deadline());
		if (ret) {
			report("device", "reply", ret,
			       l3l2q_chan_last_error(&ctx));
			atomic_store(&d->bad, 1);
			break;
		}
	}
	for (k = 0; k < L3L2Q_CHAN_LANES_MAX; k++)
		t->lanes_seen += last[k] != ~0ull;
	l3l2q_chan_unlease(&ctx);
	return NULL;
}

static void *dev_tasks(void *p)
{
	struct dev *d = p;
	struct l3l2q_msg m;
	int ret;

	for (;;) {
		ret = l3l2q_l2_peek(d->l2, deadline(), &m);
		if (ret) {
			report("device", "peek", ret, NULL);
			atomic_store(&d->bad, 1);
			return NULL;
		}
		if (m.opcode == L3L2Q_OP_STOP) {
			ret = l3l2q_l2_release(d->l2, &m);
			break;
		}
		if (m.opcode != L3L2Q_OP_DATA || !task_ok(m.data, m.nbytes,
							  d->tasks)) {
			fprintf(stderr, PROG ": device: task %llu is wrong\n",
				(unsigned long long)d->tasks);
			atomic_store(&d->bad, 1);
		}
		d->tasks++;
		ret = l3l2q_l2_release(d->l2, &m);
		if (ret)
			break;
	}
	if (ret) {
		report("device", "release", ret, NULL);
		atomic_store(&d->bad, 1);
	}
	return NULL;
}

static int device_main(const struct opts *o, int qfd, int cfd)
{
	struct l3l2q_attach_params ap = { .max_inflight = 1 };
	struct dthread th[THREADS_MAX];
	struct l3l2q_channel *c = NULL;
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error e = { 0 };
	struct dev d = { .o = o };
	__u64 i, n = (__u64)o->hthreads * o->count, once = 0;
	pthread_t tq;
	unsigned int k;
	int ret;

	ret = l3l2q_attach(qfd, &ap, &q, &e);
	if (!ret)
		ret = l3l2q_channel_attach(cfd, &c, &e);
	if (ret) {
		report("device", "attach", ret, &e);
		return 1;
	}
	d.ch = l3l2q_channel_chan(c);
	d.l2 = l3l2q_queue_l2(q);
	d.seen = calloc(n ? n : 1, sizeof(*d.seen));
	if (!d.seen)
		return 1;
	if (pthread_create(&tq, NULL, dev_tasks, &d))
		return 1;
	for (k = 0; k < o->dthreads; k++) {
		th[k] = (struct dthread){ .d = &d, .id = k };
		if (pthread_create(&th[k].t, NULL, dev_control, &th[k]))
			return 1;
	}
	for (k = 0; k < o->dthreads; k++)
		pthread_join(th[k].t, NULL);
	pthread_join(tq, NULL);
	for (i = 0; i < n; i++) {
		unsigned char v = atomic_load(&d.seen[i]);

		once += v == 1;
		if (v != 1 && !atomic_exchange(&d.bad, 1))
			fprintf(stderr, PROG ": device: message %llu of sender"
				" %llu taken %u times\n",
				(unsigned long long)(i % o->count),
				(unsigned long long)(i / o->count), v);
	}
	if (d.tasks != o->tasks) {
		fprintf(stderr, PROG ": device: %llu tasks, not %lu\n",
			(unsigned long long)d.tasks, o->tasks);
		atomic_store(&d.bad, 1);
	}
	printf("\ndevice (L2)         | SET taken | PING answered | lanes taken from\n"
	       "--------------------+-----------+---------------+-----------------\n");
	for (k = 0; k < o->dthreads; k++)
		printf("control thread %-4u | %9llu | %13llu | %16llu\n", k,
		       (unsigned long long)th[k].set,
		       (unsigned long long)th[k].ping,
		       (unsigned long long)th[k].lanes_seen);
	printf("control messages taken exactly once: %llu of %llu\n"
	       "tasks taken in order, correct: %llu of %lu\n",
	       (unsigned long long)once, (unsigned long long)n,
	       (unsigned long long)d.tasks, o->tasks);
	fflush(stdout);
	free(d.seen);
	return atomic_load(&d.bad) ? 1 : 0;
}

/* ---- the host ---- */

struct host {
	const struct opts *o;
	struct l3l2q_chan *ch;
	struct l3l2q_l3 *l3;
	atomic_int bad;
	__u64 tasks;
};

struct hthread {
	struct host *h;
	unsigned int id;
	pthread_t t;
	__u64 set, calls, call_ns_max, call_ns_sum;
};

static void *host_control(void *p)
{
	struct hthread *t = p;
	struct host *h = t->h;
	unsigned char rep[L3L2Q_CHAN_INLINE_BYTES];
	const struct ctl *r = (const struct ctl *)rep;
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	struct ctl c;
	__u64 t0, dt;
	__u32 i;
	int ret;

	l3l2q_chan_ctx_init(&ctx, h->ch);
	ret = l3l2q_chan_lease(&ctx, t->id, deadline());
	for (i = 0; !ret && i < h->o->count; i++) {
		ctl_fill(&c, t->id, i);
		if (i % h->o->call_every) {
			ret = l3l2q_chan_send(&ctx, ROUTE_SET, 0, &c,
					      sizeof(c), deadline());
			t->set += !ret;
			continue;
		}
		t0 = l3l2q_now_ns();
		ret = l3l2q_chan_call(&ctx, ROUTE_PING, &c, sizeof(c), rep,
				      sizeof(rep), deadline(), &m);
		dt = l3l2q_now_ns() - t0;
		if (!ret && (m.nbytes != sizeof(c) || r->sender != t->id ||
			     r->index != i + 1)) {
			fprintf(stderr, PROG ": host: reply to %u/%u is wrong\n",
				t->id, i);
			atomic_store(&h->bad, 1);
		}
		t->calls += !ret;
		t->call_ns_sum += dt;
		if (dt > t->call_ns_max)
			t->call_ns_max = dt;
	}
	if (ret) {
		report("host", "control", ret, l3l2q_chan_last_error(&ctx));
		atomic_store(&h->bad, 1);
	}
	l3l2q_chan_unlease(&ctx);
	return NULL;
}

static void *host_tasks(void *p)
{
	struct host *h = p;
	unsigned char buf[TASK_MAX];
	int ret = 0;

	for (h->tasks = 0; !ret && h->tasks < h->o->tasks; h->tasks++)
		ret = l3l2q_l3_enqueue(h->l3, L3L2Q_OP_DATA, buf,
				       task_fill(buf, h->tasks), deadline());
	if (!ret)
		ret = l3l2q_l3_request_stop(h->l3, deadline());
	if (ret) {
		report("host", "tasks", ret, NULL);
		atomic_store(&h->bad, 1);
	}
	return NULL;
}

static int parse(const char *name, const char *arg, unsigned long lo,
		 unsigned long hi, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || *v < lo || *v > hi) {
		fprintf(stderr, PROG ": %s must be %lu..%lu\n", name, lo, hi);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--count N] [--host-threads H]"
		" [--device-threads D]\n"
		"                      [--call-every K] [--tasks T]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "count", required_argument, 0, 'n' },
		{ "host-threads", required_argument, 0, 'H' },
		{ "device-threads", required_argument, 0, 'D' },
		{ "call-every", required_argument, 0, 'k' },
		{ "tasks", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct opts o = { .count = 20000, .hthreads = 4, .dthreads = 8,
			  .call_every = 4, .tasks = 100000 };
	struct l3l2q_params qp = { .depth = 256, .input_arena_bytes = 65536,
				   .output_arena_bytes = 4096,
				   .backend = L3L2Q_BACKEND_MEMFD };
	struct l3l2q_channel_params cp = { .lane_depth = 64,
					   .max_message_bytes = 256,
					   .backend = L3L2Q_BACKEND_MEMFD };
	struct hthread th[THREADS_MAX];
	struct l3l2q_channel *c = NULL;
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error e = { 0 };
	struct l3l2q_chan_ctx ctx;
	struct host h = { .o = &o };
	__u64 t0, el, calls = 0, sent = 0;
	int opt, qfd, cfd, status, ret, bad;
	pthread_t tq;
	unsigned int k;
	pid_t pid;

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		int r = 0;

		switch (opt) {
		case 'n':
			r = parse("--count", optarg, 1, 1ul << 24, &o.count);
			break;
		case 'H':
			r = parse("--host-threads", optarg, 1, THREADS_MAX,
				  &o.hthreads);
			break;
		case 'D':
			r = parse("--device-threads", optarg, 1, THREADS_MAX,
				  &o.dthreads);
			break;
		case 'k':
			r = parse("--call-every", optarg, 1, 1ul << 24,
				  &o.call_every);
			break;
		case 't':
			r = parse("--tasks", optarg, 0, 1ul << 30, &o.tasks);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (r)
			return 2;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cp.lanes_to_l2 = (__u32)o.hthreads;
	cp.lanes_to_l3 = (__u32)o.dthreads;
	ret = l3l2q_create(&qp, &q, &e);
	if (!ret)
		ret = l3l2q_channel_create(&cp, &c, &e);
	if (ret) {
		report("host", "create", ret, &e);
		return 1;
	}
	qfd = l3l2q_peer_fd(q);
	cfd = l3l2q_channel_peer_fd(c);
	if (qfd < 0 || cfd < 0) {
		report("host", "peer fd", qfd < 0 ? qfd : cfd, NULL);
		return 1;
	}
	printf(PROG ": %lu host threads x %lu control messages (1 in %lu a"
	       " call) to %lu device threads over one channel (memfd),"
	       " %lu tasks through the queue\n", o.hthreads, o.count,
	       o.call_every, o.dthreads, o.tasks);
	pid = fork();
	if (pid < 0) {
		report("host", "fork", -errno, NULL);
		return 1;
	}
	if (pid == 0)
		_exit(device_main(&o, qfd, cfd));
	close(qfd);
	close(cfd);

	h.ch = l3l2q_channel_chan(c);
	h.l3 = l3l2q_queue_l3(q);
	t0 = l3l2q_now_ns();
	if (pthread_create(&tq, NULL, host_tasks, &h))
		return 1;
	for (k = 0; k < o.hthreads; k++) {
		th[k] = (struct hthread){ .h = &h, .id = k };
		if (pthread_create(&th[k].t, NULL, host_control, &th[k]))
			return 1;
	}
	for (k = 0; k < o.hthreads; k++)
		pthread_join(th[k].t, NULL);
	/* CLOSE; the device drains every lane and ACKs. */
	l3l2q_chan_ctx_init(&ctx, h.ch);
	ret = l3l2q_chan_close(&ctx, deadline());
	if (ret) {
		report("host", "close", ret, l3l2q_chan_last_error(&ctx));
		atomic_store(&h.bad, 1);
	}
	pthread_join(tq, NULL);
	el = l3l2q_now_ns() - t0;
	if (waitpid(pid, &status, 0) != pid)
		status = -1;

	printf("\nhost (L3)           | SET sent | calls answered | call mean us | call max us\n"
	       "--------------------+----------+----------------+--------------+------------\n");
	for (k = 0; k < o.hthreads; k++) {
		printf("control thread %-4u | %8llu | %14llu | %12.1f | %11.1f\n",
		       k, (unsigned long long)th[k].set,
		       (unsigned long long)th[k].calls,
		       th[k].calls ? th[k].call_ns_sum / 1e3 / th[k].calls : 0,
		       th[k].call_ns_max / 1e3);
		calls += th[k].calls;
		sent += th[k].set + th[k].calls;
	}
	printf("control messages: %llu sent (%llu calls answered), %.0f/s;"
	       " tasks: %llu streamed, %.0f/s; %.3f s (informational)\n",
	       (unsigned long long)sent, (unsigned long long)calls,
	       sent * 1e9 / (double)(el ? el : 1),
	       (unsigned long long)h.tasks,
	       h.tasks * 1e9 / (double)(el ? el : 1), el / 1e9);
	bad = atomic_load(&h.bad) || sent != (__u64)o.hthreads * o.count ||
	      h.tasks != o.tasks;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, PROG ": the device failed (status %d)\n",
			status);
		bad = 1;
	}
	l3l2q_channel_destroy(c);
	l3l2q_destroy(q);
	printf(PROG ": %s\n", bad ? "FAILED" : "every message checked: OK");
	return bad ? 1 : 0;
}
