// SPDX-License-Identifier: MIT
/*
 * l3l2q-demo: the host orchestrator (L3) streams tasks to the simulated
 * device (l3l2q-devsim, started here with the L2 fd) and checks every
 * result.  It waits through io_uring when it can make no progress, prints
 * progress every half second, then a table: tasks, bytes, throughput,
 * latency, system calls per message and wake-ups, for both sides.
 *
 *   l3l2q-demo [--count N] [--size B] [--depth D] [--inflight N]
 *              [--workers N] [--work-ns NS] [--backend auto|memfd|device]
 *              [--devsim PATH] [--external]
 *
 * --external: the L2 is a device outside this program (l3l2q-devsim
 * serving a PCI device's memory on the host, behind /dev/l3l2q<N>; pick
 * the node with L3L2Q_DEVICE): nothing is started here, PEER is expected
 * to be refused (the L2 role is the device's), and the device's death is
 * noticed through the queue (-ECONNRESET) instead of waitpid().
 *
 * Exit status 0 only if every task came back exactly once, correct, the
 * device's STATS message arrived and (unless --external) l3l2q-devsim
 * exited 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libl3l2q_uring.h"
#include "l3l2q_task.h"

#define PROG		"l3l2q-demo"
#define PROGRESS_NS	(500ull * 1000000ull)
/* io_uring waits end this often at the latest, to print and check devsim. */
#define WAIT_SLICE_NS	(250ull * 1000000ull)
/* Give up when nothing at all moved for this long. */
#define STALL_NS	(120ull * 1000000000ull)

struct opts {
	__u64 count;
	__u64 size;			/* largest task payload */
	__u64 depth;
	unsigned long inflight;
	unsigned long workers;
	__u64 work_ns;			/* longest simulated work (1 task in 8) */
	__u32 backend;
	int backend_given;
	const char *devsim;
	int external;			/* the L2 is a device: start nothing */
};

struct demo {
	const struct opts *o;
	struct l3l2q_queue *q;
	struct l3l2q_l3 *l3;
	pid_t child;
	unsigned char *buf;		/* one task */
	unsigned char *seen;		/* per id */
	__u64 *lat;			/* per result, ns */
	__u64 sent, received, errors, wrong, dup;
	__u64 bytes_in, bytes_out;
	int stop_sent, stats_seen;
	struct l3l2q_task_stats dev;
	/* io_uring */
	struct io_uring ring;
	__u32 pending;			/* bits with a wait in the kernel */
	__u64 scratch[2];		/* memfd: eventfd read buffers */
	__u64 submits;			/* io_uring_submit_and_wait* calls */
	__u64 waits;
};

static void die(const char *what, int ret, const struct l3l2q_ep *ep)
{
	fprintf(stderr, PROG ": %s: %s", what, strerror(ret < 0 ? -ret : ret));
	if (ep)
		fprintf(stderr, " (%s: %s)",
			l3l2q_error_op_str(l3l2q_ep_last_error(ep)->op),
			l3l2q_ep_last_error(ep)->message);
	fputc('\n', stderr);
	exit(1);
}

/* ---- starting the device ---- */

/* l3l2q-devsim next to this binary, else on PATH. */
static void find_devsim(char *path, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if (snprintf(path, cap, "%.*s/l3l2q-devsim",
				     (int)(cap - 16), self) < (int)cap &&
			    access(path, X_OK) == 0)
				return;
		}
	}
	snprintf(path, cap, "l3l2q-devsim");
}

static pid_t start_devsim(const struct opts *o, int fd)
{
	char path[PATH_MAX], fdarg[16], inflight[24], workers[24];
	pid_t pid;

	if (o->devsim)
		snprintf(path, sizeof(path), "%s", o->devsim);
	else
		find_devsim(path, sizeof(path));
	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	snprintf(inflight, sizeof(inflight), "%lu", o->inflight);
	snprintf(workers, sizeof(workers), "%lu", o->workers);
	pid = fork();
	if (pid < 0)
		die("fork", -errno, NULL);
	if (pid == 0) {
		/* The L2 fd is close-on-exec: let exactly this one through. */
		if (fcntl(fd, F_SETFD, 0) < 0)
			_exit(127);
		execlp(path, "l3l2q-devsim", "--fd", fdarg, "--inflight",
		       inflight, "--workers", workers, (char *)NULL);
		fprintf(stderr, PROG ": exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* ---- the pipeline ---- */

static int send_one(struct demo *s)
{
	const struct opts *o = s->o;
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC,
		.version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_TASK,
		.id = s->sent,
	};
	int ret;

	if (s->sent == o->count) {
		if (s->stop_sent)
			return 0;
		ret = l3l2q_l3_try_request_stop(s->l3);
		if (ret == -EAGAIN)
			return 0;
		if (ret)
			die("request STOP", ret, &s->l3->ep);
		s->stop_sent = 1;
		return 1;
	}
	h.op = l3l2q_task_gen_op(h.id);
	h.arg = l3l2q_task_gen_arg(h.id);
	h.payload_bytes = l3l2q_task_gen_size(h.id, o->size);
	/* One task in eight keeps a core busy: results overtake it. */
	if (o->work_ns && l3l2q_task_mix(h.id) % 8 == 0)
		h.work_ns = l3l2q_task_mix(~h.id) % (o->work_ns + 1);
	h.submit_ns = l3l2q_now_ns();
	l3l2q_task_store(s->buf, &h);
	l3l2q_task_gen_fill(h.id, s->buf + L3L2Q_TASK_HDR_BYTES, h.payload_bytes);
	ret = l3l2q_l3_try_enqueue(s->l3, L3L2Q_OP_DATA, s->buf,
				   L3L2Q_TASK_HDR_BYTES + h.payload_bytes);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		die("enqueue", ret, &s->l3->ep);
	s->sent++;
	s->bytes_in += L3L2Q_TASK_HDR_BYTES + h.payload_bytes;
	return 1;
}

/* Check one output; counts it as received, wrong or a duplicate. */
static void check_result(struct demo *s, const struct l3l2q_msg *m, __u64 now)
{
	const unsigned char *body;
	struct l3l2q_task_hdr h;

	if (m->nbytes < L3L2Q_TASK_HDR_BYTES) {
		s->wrong++;
		return;
	}
	l3l2q_task_load(&h, m->data);
	body = (const unsigned char *)m->data + L3L2Q_TASK_HDR_BYTES;
	if (h.magic != L3L2Q_TASK_MAGIC ||
	    h.payload_bytes != m->nbytes - L3L2Q_TASK_HDR_BYTES) {
		s->wrong++;
		return;
	}
	if (m->opcode == L3L2Q_OP_ERROR) {
		fprintf(stderr, PROG ": device ERROR for id %llu: %.*s\n",
			(unsigned long long)h.id, (int)h.payload_bytes, body);
		s->errors++;
		return;
	}
	if (h.kind == L3L2Q_TASK_KIND_STATS &&
	    h.payload_bytes == sizeof(struct l3l2q_task_stats)) {
		l3l2q_task_stats_load(&s->dev, body);
		s->stats_seen = 1;
		return;
	}
	if (h.kind != L3L2Q_TASK_KIND_RESULT || h.id >= s->o->count) {
		s->wrong++;
		return;
	}
	if (s->seen[h.id]) {
		s->dup++;
		return;
	}
	s->seen[h.id] = 1;
	if (h.op != l3l2q_task_gen_op(h.id) || h.arg != l3l2q_task_gen_arg(h.id) ||
	    h.payload_bytes != l3l2q_task_gen_size(h.id, s->o->size) ||
	    h.hash != l3l2q_fnv1a64(L3L2Q_FNV64_INIT, body, h.payload_bytes) ||
	    l3l2q_task_gen_check(h.id, body, h.payload_bytes)) {
		s->wrong++;
		return;
	}
	s->lat[s->received++] = now - h.submit_ns;
}

static int recv_one(struct demo *s)
{
	struct l3l2q_msg m;
	int ret;

	ret = l3l2q_l3_try_peek(s->l3, &m);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		die("dequeue", ret, &s->l3->ep);
	s->bytes_out += m.nbytes;
	check_result(s, &m, l3l2q_now_ns());
	ret = l3l2q_l3_release(s->l3, &m);
	if (ret)
		die("release", ret, &s->l3->ep);
	return 1;
}

static int finished(const struct demo *s)
{
	return s->stop_sent && s->stats_seen;
}

/* Enqueue while there is space, dequeue while there are results. */
static int pump(struct demo *s)
{
	int progress = 0, n;

	do {
		n = 0;
		while (!s->stop_sent && send_one(s))
			n++;
		while (recv_one(s))
			n++;
		progress += n;
	} while (n && !finished(s));
	return progress;
}

/*
 * devsim must not be gone before its STATS; its exit status is checked
 * later.  It may have published STATS and exited since our last look, so
 * an exit seen here (not reaped: WNOWAIT) is early only if one more pump
 * still does not finish the run.
 */
static void check_devsim_alive(struct demo *s)
{
	siginfo_t si;

	if (s->o->external)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)s->child, &si, WEXITED | WNOHANG | WNOWAIT) ||
	    si.si_pid != s->child)
		return;
	pump(s);
	if (finished(s))
		return;
	fprintf(stderr, PROG ": l3l2q-devsim exited early (%s %d)\n",
		si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
	exit(1);
}

/*
 * No progress: ask for the wake-ups we need, re-check (the W3 of the
 * need-wakeup protocol), then sleep in io_uring on a WAIT per bit (one
 * eventfd read on a memfd queue, whose one eventfd serves both bits).
 */
static void wait_io(struct demo *s)
{
	struct __kernel_timespec ts = {
		.tv_nsec = (long long)WAIT_SLICE_NS,
	};
	__u32 bits = L3L2Q_WAKE_OUTPUT_AVAIL, bit, i;
	int memfd = l3l2q_queue_backend(s->q) == L3L2Q_BACKEND_MEMFD;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	unsigned int head, n = 0;
	int ret, gone = 0;

	if (!s->stop_sent)
		bits |= L3L2Q_WAKE_INPUT_SPACE;
	ret = l3l2q_ep_want_wakeup(&s->l3->ep, bits);
	if (ret)
		die("want_wakeup", ret, &s->l3->ep);
	if (pump(s)) {
		l3l2q_ep_clear_wakeup(&s->l3->ep, bits);
		return;
	}
	for (i = 0; i < 2; i++) {
		bit = i ? L3L2Q_WAKE_INPUT_SPACE : L3L2Q_WAKE_OUTPUT_AVAIL;
		if (!(bits & bit) || (s->pending & bit) || (memfd && s->pending))
			continue;
		sqe = io_uring_get_sqe(&s->ring);
		if (!sqe)
			die("io_uring_get_sqe", -EBUSY, NULL);
		ret = l3l2q_prep_wait(sqe, s->q, bit,
				      l3l2q_deadline_in(WAIT_SLICE_NS),
				      &s->scratch[i]);
		if (ret)
			die("l3l2q_prep_wait", ret, NULL);
		io_uring_sqe_set_data64(sqe, bit);
		s->pending |= bit;
	}
	s->submits++;
	s->waits++;
	ret = io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		die("io_uring_submit_and_wait_timeout", ret, NULL);
	io_uring_for_each_cqe(&s->ring, head, cqe) {
		s->pending &= ~(__u32)io_uring_cqe_get_data64(cqe);
		/* 0 / 8: moved or kicked; -ETIMEDOUT; -ECONNRESET: see below. */
		if (cqe->res < 0 && cqe->res != -ETIMEDOUT &&
		    cqe->res != -ECONNRESET && cqe->res != -ECANCELED)
			die("io_uring wait", cqe->res, NULL);
		gone |= cqe->res == -ECONNRESET;
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	l3l2q_ep_clear_wakeup(&s->l3->ep, bits);
	/* A dead device is noticed here, on both backings. */
	check_devsim_alive(s);
	/*
	 * An external device's L2 role is dead: fine once its STATS came
	 * (it ends after the STOP drain), else it died on us.
	 */
	if (gone && s->o->external) {
		pump(s);
		if (!finished(s))
			die("the device's L2 role died before its STATS",
			    -ECONNRESET, &s->l3->ep);
	}
}

/* ---- the report ---- */

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const __u64 *v, __u64 n, double p)
{
	__u64 i;

	if (!n)
		return 0;
	i = (__u64)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e3;
}

static struct l3l2q_stats ep_stats(const struct l3l2q_ep *ep)
{
	struct l3l2q_stats st = { 0 };

	l3l2q_ep_stats(ep, &st);
	return st;
}

static void report(struct demo *s, double secs, int status)
{
	const struct l3l2q_stats lst = ep_stats(&s->l3->ep), *ls = &lst;
	const struct l3l2q_task_stats *d = &s->dev;
	__u64 msgs = s->sent + 1 + s->received + s->errors + s->stats_seen;
	__u64 l3_calls = s->submits + ls->kicks + ls->sleeps;
	__u64 l2_calls = d->kicks + d->sleeps + d->idle_waits + d->doorbells;
	char wdm[80];

	qsort(s->lat, s->received, sizeof(*s->lat), cmp_u64);
	printf("\n%-34s %14s %14s\n", "", "L3 (host)",
	       s->o->external ? "L2 (device)" : "L2 (devsim)");
	printf("%-34s %14llu %14llu\n", "tasks (sent / results)",
	       (unsigned long long)s->sent, (unsigned long long)d->tasks);
	printf("%-34s %14llu %14llu\n", "results checked / device ERRORs",
	       (unsigned long long)s->received, (unsigned long long)d->errors);
	snprintf(wdm, sizeof(wdm), "%llu / %llu / %llu",
		 (unsigned long long)s->wrong, (unsigned long long)s->dup,
		 (unsigned long long)(s->o->count - s->received));
	printf("%-34s %14s\n", "wrong / duplicated / missing", wdm);
	printf("%-34s %14llu %14llu\n", "bytes in (tasks)",
	       (unsigned long long)s->bytes_in, (unsigned long long)d->bytes_in);
	printf("%-34s %14llu %14llu\n", "bytes out (results)",
	       (unsigned long long)s->bytes_out, (unsigned long long)d->bytes_out);
	printf("%-34s %14.3f\n", "wall time (s)", secs);
	printf("%-34s %14.0f\n", "throughput (tasks/s)", s->received / secs);
	printf("%-34s %14.2f\n", "throughput (MB/s, in + out)",
	       (s->bytes_in + s->bytes_out) / secs / 1e6);
	printf("%-34s %14.1f\n", "latency p50 (us)",
	       pct_us(s->lat, s->received, 0.50));
	printf("%-34s %14.1f\n", "latency p99 (us)",
	       pct_us(s->lat, s->received, 0.99));
	printf("%-34s %14llu %14llu\n", "wake-ups sent (kicks)",
	       (unsigned long long)ls->kicks, (unsigned long long)d->kicks);
	printf("%-34s %14llu %14llu\n", "wake-ups suppressed",
	       (unsigned long long)ls->kicks_suppressed,
	       (unsigned long long)d->kicks_suppressed);
	printf("%-34s %14llu %14llu\n", "sleeps in the library",
	       (unsigned long long)ls->sleeps, (unsigned long long)d->sleeps);
	printf("%-34s %14llu %14llu\n", "own io_uring waits",
	       (unsigned long long)s->waits, (unsigned long long)d->idle_waits);
	printf("%-34s %14s %14llu\n", "core doorbells (eventfd writes)", "-",
	       (unsigned long long)d->doorbells);
	printf("%-34s %14llu %14llu\n", "out-of-order completions", 0ull,
	       (unsigned long long)d->out_of_order);
	printf("%-34s %14.4f %14.4f\n", "system calls per message",
	       (double)l3_calls / (double)msgs, (double)l2_calls / (double)msgs);
	printf("  messages = tasks + STOP + results + ERRORs + STATS = %llu\n",
	       (unsigned long long)msgs);
	printf("  L3 calls = io_uring_submit_and_wait_timeout + kicks + sleeps\n");
	printf("  L2 calls = kicks + sleeps + orchestrator io_uring waits + doorbells\n");
	printf("  (not counted: the cores' nanosleep for simulated work)\n");
	if (s->o->external)
		printf("L2: an external device (no exit status to check)\n");
	else
		printf("l3l2q-devsim exit status %d\n", status);
}

/* ---- main ---- */

static int run(const struct opts *o)
{
	__u64 arena = (L3L2Q_TASK_HDR_BYTES + o->size + 63) / 64 * 64 * 8;
	struct l3l2q_params p = {
		.depth = o->depth,
		.input_arena_bytes = arena,
		.output_arena_bytes = arena,
		.backend = o->backend,
	};
	struct demo s = { .o = o };
	struct l3l2q_error err;
	__u64 t0, t1, next, last_move, last_count = 0;
	int fd, ret, status = 0, ok;
	char l2[96];

	ret = l3l2q_create(&p, &s.q, &err);
	if (ret) {
		fprintf(stderr, PROG ": create: %s (%s)\n", strerror(-ret),
			err.message);
		return 1;
	}
	s.l3 = l3l2q_queue_l3(s.q);
	fd = l3l2q_peer_fd(s.q);
	if (o->external && fd >= 0) {
		fprintf(stderr, PROG ": --external: the queue's L2 fd was "
			"handed out, so no device serves this queue (is "
			"L3L2Q_DEVICE a device node?)\n");
		return 2;
	}
	/* A device's node refuses PEER: the L2 role is the device's. */
	if (fd < 0 && !(o->external && fd == -EBUSY))
		die("peer fd", fd, NULL);
	s.buf = malloc(L3L2Q_TASK_HDR_BYTES + o->size);
	s.seen = calloc(o->count, 1);
	s.lat = calloc(o->count, sizeof(*s.lat));
	if (!s.buf || !s.seen || !s.lat)
		die("allocating the checker", -ENOMEM, NULL);
	ret = io_uring_queue_init(8, &s.ring, 0);
	if (ret)
		die("io_uring_queue_init", ret, NULL);
	if (o->external) {
		s.child = -1;
		snprintf(l2, sizeof(l2), "an external device (PEER refused)");
	} else {
		s.child = start_devsim(o, fd);
		close(fd);
		snprintf(l2, sizeof(l2), "l3l2q-devsim pid %d (window %lu, %lu "
			 "cores)", (int)s.child, o->inflight, o->workers);
	}
	printf(PROG ": %s queue, depth %llu, arenas %llu bytes; L2 %s; %llu "
	       "tasks of 0..%llu bytes\n",
	       l3l2q_queue_backend(s.q) == L3L2Q_BACKEND_DEVICE ?
	       (getenv("L3L2Q_DEVICE") ? getenv("L3L2Q_DEVICE") : "/dev/l3l2q") :
	       "memfd", (unsigned long long)p.depth, (unsigned long long)arena,
	       l2, (unsigned long long)o->count, (unsigned long long)o->size);
	fflush(stdout);

	t0 = l3l2q_now_ns();
	next = t0 + PROGRESS_NS;
	last_move = t0;
	while (!finished(&s)) {
		if (!pump(&s))
			wait_io(&s);
		t1 = l3l2q_now_ns();
		if (s.received + s.errors != last_count) {
			last_count = s.received + s.errors;
			last_move = t1;
		} else if (t1 - last_move > STALL_NS) {
			die("no progress for 120 s", -ETIMEDOUT, &s.l3->ep);
		}
		if (t1 >= next) {
			/* Plain lines: it is read from a serial console too. */
			printf("progress: %llu/%llu results, %.0f tasks/s\n",
			       (unsigned long long)s.received,
			       (unsigned long long)o->count,
			       s.received / ((t1 - t0) / 1e9));
			fflush(stdout);
			next = t1 + PROGRESS_NS;
		}
	}
	t1 = l3l2q_now_ns();
	/* Cancels a wait still in the kernel. */
	io_uring_queue_exit(&s.ring);
	if (!o->external) {
		if (waitpid(s.child, &status, 0) != s.child)
			die("waitpid", -errno, NULL);
		status = WIFEXITED(status) ? WEXITSTATUS(status) :
			 128 + WTERMSIG(status);
	}
	report(&s, (t1 - t0) / 1e9, status);
	ok = !s.wrong && !s.dup && !s.errors && s.received == o->count &&
	     s.dev.tasks == o->count && status == 0;
	free(s.buf);
	free(s.seen);
	free(s.lat);
	l3l2q_destroy(s.q);
	printf(PROG ": %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}

static int parse_u64(const char *opt, const char *arg, __u64 lo, __u64 hi,
		     __u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, PROG ": %s: '%s' is not a number in [%llu, %llu]\n",
			opt, arg, (unsigned long long)lo, (unsigned long long)hi);
		exit(2);
	}
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--count N] [--size B] [--depth D] "
		"[--inflight N] [--workers N] [--work-ns NS]\n"
		"       [--backend auto|memfd|device] [--devsim PATH] "
		"[--external]\n"
		"  --external  the L2 is a device outside this program (the node\n"
		"              in L3L2Q_DEVICE, e.g. /dev/l3l2q0): start nothing,\n"
		"              expect PEER to be refused; implies --backend device\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "max-bytes", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "workers", required_argument, NULL, 'w' },
		{ "work-ns", required_argument, NULL, 'W' },
		{ "backend", required_argument, NULL, 'B' },
		{ "devsim", required_argument, NULL, 'D' },
		{ "external", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .count = 100000, .size = 512, .depth = 64,
			  .inflight = 16, .workers = 4, .work_ns = 200000 };
	__u64 v;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:d:i:w:W:B:D:Eh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'n':
			parse_u64("--count", optarg, 1, 1ull << 28, &o.count);
			break;
		case 's':
			parse_u64("--size", optarg, 0, 1u << 20, &o.size);
			break;
		case 'd':
			parse_u64("--depth", optarg, 2, 1u << 16, &o.depth);
			break;
		case 'i':
			parse_u64("--inflight", optarg, 1, L3L2Q_WINDOW_MAX, &v);
			o.inflight = (unsigned long)v;
			break;
		case 'w':
			parse_u64("--workers", optarg, 1, 64, &v);
			o.workers = (unsigned long)v;
			break;
		case 'W':
			parse_u64("--work-ns", optarg, 0, 1000000000ull, &o.work_ns);
			break;
		case 'B':
			if (!strcmp(optarg, "auto"))
				o.backend = L3L2Q_BACKEND_AUTO;
			else if (!strcmp(optarg, "memfd"))
				o.backend = L3L2Q_BACKEND_MEMFD;
			else if (!strcmp(optarg, "device"))
				o.backend = L3L2Q_BACKEND_DEVICE;
			else {
				fprintf(stderr, PROG ": --backend: '%s' is not "
					"auto, memfd or device\n", optarg);
				return 2;
			}
			o.backend_given = 1;
			break;
		case 'D':
			o.devsim = optarg;
			break;
		case 'E':
			o.external = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	/* A device serves only queues made on its node, never a memfd. */
	if (o.external && !o.backend_given)
		o.backend = L3L2Q_BACKEND_DEVICE;
	if (o.inflight > o.depth) {
		fprintf(stderr, PROG ": --inflight %lu exceeds --depth %llu\n",
			o.inflight, (unsigned long long)o.depth);
		return 2;
	}
	/* A dead devsim must show up as a status, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return run(&o);
}
