/* SPDX-License-Identifier: MIT */
/*
 * The L3 side of the l3l2q-devsim tests, shared by the host suite and the
 * in-VM suite: finding and starting devsim, building tasks (l3l2q_task.h),
 * and a pipelined stream that checks every result by id.
 */
#ifndef L3L2Q_TEST_DEVSIM_CLIENT_H
#define L3L2Q_TEST_DEVSIM_CLIENT_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libl3l2q.h"
#include "../tools/l3l2q_task.h"

/*
 * The tool @name: $@env if set, else build/tools/@name seen from this
 * binary (build/tests/ or build/asan/tests/), else @name on PATH (the VM).
 */
static inline void dc_tool_path(char *path, size_t cap, const char *name,
				const char *env_name)
{
	static const char *const rel[] = { "/../tools/", "/../../tools/" };
	const char *env = getenv(env_name);
	char self[PATH_MAX];
	ssize_t n;
	char *slash;
	unsigned int i;

	if (env && *env) {
		snprintf(path, cap, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			for (i = 0; i < 2; i++) {
				if (snprintf(path, cap, "%.*s%s%s", (int)(cap - 64),
					     self, rel[i], name) < (int)cap &&
				    access(path, X_OK) == 0)
					return;
			}
		}
	}
	snprintf(path, cap, "%s", name);
}

/* l3l2q-devsim, or $L3L2Q_DEVSIM. */
static inline void dc_devsim_path(char *path, size_t cap)
{
	dc_tool_path(path, cap, "l3l2q-devsim", "L3L2Q_DEVSIM");
}

/*
 * Run l3l2q-demo (or $L3L2Q_DEMO) with @backend and @count, its devsim
 * being dc_devsim_path()'s, output to /dev/null; its exit status or -1.
 */
static inline int dc_run_demo(const char *backend, const char *count,
			      unsigned int secs)
{
	char demo[PATH_MAX], devsim[PATH_MAX];
	unsigned int i;
	int status, fd;
	pid_t pid, r;

	dc_tool_path(demo, sizeof(demo), "l3l2q-demo", "L3L2Q_DEMO");
	dc_devsim_path(devsim, sizeof(devsim));
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execlp(demo, "l3l2q-demo", "--backend", backend, "--count", count,
		       "--devsim", devsim, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < secs * 100; i++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/*
 * Start devsim with @mode ("--fd" or "--socket") and @arg, plus up to four
 * more arguments (NULL-terminated).  @keep_fd (or -1) loses close-on-exec
 * in the child.  Returns the pid, or -1.
 */
static inline pid_t dc_spawn(int keep_fd, const char *mode, const char *arg,
			     const char *a1, const char *a2, const char *a3,
			     const char *a4)
{
	char path[PATH_MAX];
	pid_t pid;

	dc_devsim_path(path, sizeof(path));
	pid = fork();
	if (pid != 0)
		return pid;
	if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
		_exit(126);
	execlp(path, "l3l2q-devsim", mode, arg, "--quiet", a1, a2, a3, a4,
	       (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

/* devsim --fd @fd --inflight @inflight --workers @workers. */
static inline pid_t dc_spawn_fd(int fd, unsigned int inflight,
				unsigned int workers)
{
	char fdarg[16], in[16], w[16];

	snprintf(fdarg, sizeof(fdarg), "%d", fd);
	snprintf(in, sizeof(in), "%u", inflight);
	snprintf(w, sizeof(w), "%u", workers);
	return dc_spawn(fd, "--fd", fdarg, "--inflight", in, "--workers", w);
}

/* A listening unix socket at @path (removed first); the fd or -errno. */
static inline int dc_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	unlink(path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 1)) {
		close(s);
		return -errno;
	}
	return s;
}

/* ---- tasks ---- */

/* Generated task @id with @work_ns, enqueued once: 0 or -errno. */
static inline int dc_try_send(struct l3l2q_l3 *l3, unsigned char *buf,
			      __u64 id, __u64 max_size, __u64 work_ns)
{
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC,
		.version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_TASK,
		.op = l3l2q_task_gen_op(id),
		.arg = l3l2q_task_gen_arg(id),
		.id = id,
		.payload_bytes = l3l2q_task_gen_size(id, max_size),
		.work_ns = work_ns,
		.submit_ns = l3l2q_now_ns(),
	};

	l3l2q_task_store(buf, &h);
	l3l2q_task_gen_fill(id, buf + L3L2Q_TASK_HDR_BYTES, h.payload_bytes);
	return l3l2q_l3_try_enqueue(l3, L3L2Q_OP_DATA, buf,
				    L3L2Q_TASK_HDR_BYTES + h.payload_bytes);
}

/* ---- a pipelined stream ---- */

struct dc_stream {
	struct l3l2q_l3 *l3;
	__u64 count;			/* tasks 0..count-1 */
	__u64 max_size;
	__u64 (*work)(__u64 id);	/* simulated work per task, or NULL */
	int send_stop;			/* request STOP after the last task */
	/* results */
	__u64 sent, got, wrong, dup, errors;
	__u64 *order;			/* ids in arrival order (count) */
	unsigned char *seen;		/* per id */
	int stop_sent, stats_seen;
	struct l3l2q_task_stats stats;
	const char *fail;
	int fail_ret;
	char last_error[256];		/* text of the last ERROR message */
	__u64 last_error_id;
	unsigned char *buf;
};

static inline int dc_fail(struct dc_stream *s, const char *why, int ret)
{
	if (!s->fail) {
		s->fail = why;
		s->fail_ret = ret;
	}
	return -1;
}

/* Check and count one output message. */
static inline void dc_take(struct dc_stream *s, const struct l3l2q_msg *m)
{
	const unsigned char *body = (const unsigned char *)m->data +
				    L3L2Q_TASK_HDR_BYTES;
	struct l3l2q_task_hdr h;
	size_t n;

	if (m->nbytes < L3L2Q_TASK_HDR_BYTES) {
		s->wrong++;
		return;
	}
	l3l2q_task_load(&h, m->data);
	if (h.magic != L3L2Q_TASK_MAGIC || h.version != L3L2Q_TASK_VERSION ||
	    h.payload_bytes != m->nbytes - L3L2Q_TASK_HDR_BYTES) {
		s->wrong++;
		return;
	}
	if (m->opcode == L3L2Q_OP_ERROR) {
		n = h.payload_bytes < sizeof(s->last_error) - 1 ?
		    h.payload_bytes : sizeof(s->last_error) - 1;
		memcpy(s->last_error, body, n);
		s->last_error[n] = 0;
		s->last_error_id = h.id;
		s->errors++;
		return;
	}
	if (h.kind == L3L2Q_TASK_KIND_STATS &&
	    h.payload_bytes == sizeof(struct l3l2q_task_stats)) {
		l3l2q_task_stats_load(&s->stats, body);
		s->stats_seen = 1;
		return;
	}
	if (h.kind != L3L2Q_TASK_KIND_RESULT || h.id >= s->count) {
		s->wrong++;
		return;
	}
	if (s->seen[h.id]) {
		s->dup++;
		return;
	}
	s->seen[h.id] = 1;
	if (h.op != l3l2q_task_gen_op(h.id) ||
	    h.arg != l3l2q_task_gen_arg(h.id) ||
	    h.payload_bytes != l3l2q_task_gen_size(h.id, s->max_size) ||
	    h.hash != l3l2q_fnv1a64(L3L2Q_FNV64_INIT, body, h.payload_bytes) ||
	    l3l2q_task_gen_check(h.id, body, h.payload_bytes)) {
		s->wrong++;
		return;
	}
	s->order[s->got++] = h.id;
}

/* One try at receiving: 1 progress, 0 none, -1 failure. */
static inline int dc_recv_step(struct dc_stream *s)
{
	struct l3l2q_msg m;
	int ret = l3l2q_l3_try_peek(s->l3, &m);

	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return dc_fail(s, "try_peek", ret);
	dc_take(s, &m);
	ret = l3l2q_l3_release(s->l3, &m);
	return ret ? dc_fail(s, "release", ret) : 1;
}

/* One try at sending the next task (or STOP): 1, 0 or -1. */
static inline int dc_send_step(struct dc_stream *s)
{
	int ret;

	if (s->sent == s->count) {
		if (!s->send_stop || s->stop_sent)
			return 0;
		ret = l3l2q_l3_try_request_stop(s->l3);
		if (ret == -EAGAIN)
			return 0;
		if (ret)
			return dc_fail(s, "request_stop", ret);
		s->stop_sent = 1;
		return 1;
	}
	ret = dc_try_send(s->l3, s->buf, s->sent, s->max_size,
			  s->work ? s->work(s->sent) : 0);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		return dc_fail(s, "try_enqueue", ret);
	s->sent++;
	return 1;
}

static inline int dc_stream_init(struct dc_stream *s, struct l3l2q_l3 *l3,
				 __u64 count, __u64 max_size)
{
	memset(s, 0, sizeof(*s));
	s->l3 = l3;
	s->count = count;
	s->max_size = max_size;
	s->send_stop = 1;
	s->order = calloc(count ? count : 1, sizeof(*s->order));
	s->seen = calloc(count ? count : 1, 1);
	s->buf = malloc(L3L2Q_TASK_HDR_BYTES + max_size);
	return s->order && s->seen && s->buf ? 0 : -ENOMEM;
}

static inline void dc_stream_free(struct dc_stream *s)
{
	free(s->order);
	free(s->seen);
	free(s->buf);
	s->order = NULL;
	s->seen = NULL;
	s->buf = NULL;
}

/*
 * Send everything (and STOP), receive every result and, with STOP, the
 * STATS message.  Sleeps in a blocking peek when nothing moves.  0, or -1
 * with s->fail set.
 */
/*
 * @deadline is a watchdog for a hang, not a limit on the run: it fails
 * only when nothing moved for as long as @deadline was ahead at the start.
 */
static inline int dc_stream_run(struct dc_stream *s, __u64 deadline)
{
	__u64 now = l3l2q_now_ns(), last = now;
	__u64 stall = deadline > now ? deadline - now : 0;
	struct l3l2q_msg m;
	int a, b, ret;

	while (s->got + s->wrong + s->dup < s->count ||
	       (s->send_stop && !s->stats_seen)) {
		a = dc_send_step(s);
		b = dc_recv_step(s);
		if (a < 0 || b < 0)
			return -1;
		now = l3l2q_now_ns();
		if (a || b) {
			last = now;
			continue;
		}
		if (now - last > stall)
			return dc_fail(s, "no progress for the watchdog's time",
				       -ETIMEDOUT);
		/* Nothing moved: sleep until an output (it stays active). */
		ret = l3l2q_l3_peek(s->l3, l3l2q_deadline_in(5000000ull), &m);
		if (ret && ret != -ETIMEDOUT)
			return dc_fail(s, "peek", ret);
	}
	return 0;
}

/* How many adjacent pairs of arrivals are inverted (later id first). */
static inline __u64 dc_inversions(const struct dc_stream *s)
{
	__u64 i, n = 0;

	for (i = 1; i < s->got; i++)
		n += s->order[i] < s->order[i - 1];
	return n;
}

/* The exit status of @pid (128 + signal), or -1; waits at most @secs. */
static inline int dc_wait_exit(pid_t pid, unsigned int secs)
{
	unsigned int i;
	int status;
	pid_t r;

	for (i = 0; i < secs * 100; i++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		if (r < 0)
			return -1;
		usleep(10000);
	}
	return -1;
}

/* ---- shared by the host and the VM suites ---- */

#define SEC	1000000000ull

/* A queue of @depth and two arenas of @arena bytes on @backend. */
static inline struct l3l2q_queue *dc_make_queue(enum l3l2q_backend backend,
						__u64 depth, __u64 arena)
{
	struct l3l2q_params p = { .depth = depth, .input_arena_bytes = arena,
				  .output_arena_bytes = arena,
				  .backend = backend };
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;

	if (l3l2q_create(&p, &q, &err))
		fprintf(stderr, "create: %s\n", err.message);
	return q;
}

/* devsim attached by an inherited fd; the L2 fd is closed here after. */
static inline pid_t dc_spawn_peer(struct l3l2q_queue *q, unsigned int inflight,
				  unsigned int workers)
{
	int fd = l3l2q_peer_fd(q);
	pid_t pid;

	if (fd < 0)
		return -1;
	pid = dc_spawn_fd(fd, inflight, workers);
	close(fd);
	return pid;
}

/* A fresh directory for a socket: @dir and @dir/sock.  0 or -1. */
static inline int dc_tmpdir(char *dir, size_t dlen, char *sock, size_t slen)
{
	snprintf(dir, dlen, "/tmp/l3l2q-devsim-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, slen, "%s/sock", dir);
	return 0;
}

/* Kill and reap a devsim still running, then free what a test made. */
static inline void dc_cleanup(pid_t child, struct l3l2q_queue *q,
			      struct dc_stream *s, const char *sock,
			      const char *dir)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	l3l2q_destroy(q);
	dc_stream_free(s);
	unlink(sock);
	rmdir(dir);
}

/*
 * Simulated work so that later tasks finish first: the first of every 8
 * works 5 s, the other 7 not at all.  They overtake it unless dispatching
 * seven tasks takes longer than 5 s: a margin, not a race between two
 * similar delays that a slow machine could tip.
 */
static inline __u64 decreasing_work(__u64 id)
{
	return id % 8 ? 0 : 5 * 1000000000ull;
}

/* Simulated work for one task in three. */
static inline __u64 some_work(__u64 id)
{
	return id % 3 ? 0 : 2000000ull;
}

/*
 * Run @s to the end and check it: every id once, right, then exit 0.
 * For kselftest_harness.h tests.
 */
#define DC_EXPECT_CLEAN_RUN(s, child, secs)				\
	do {								\
		ASSERT_EQ(0, dc_stream_run(&(s), l3l2q_deadline_in((secs) * SEC))) \
			TH_LOG("%s: %s", (s).fail, strerror(-(s).fail_ret)); \
		EXPECT_EQ((s).count, (s).got);				\
		EXPECT_EQ(0ull, (s).wrong);				\
		EXPECT_EQ(0ull, (s).dup);				\
		EXPECT_EQ(0ull, (s).errors);				\
		EXPECT_EQ(1, (s).stats_seen);				\
		EXPECT_EQ((s).count, (s).stats.tasks);			\
		EXPECT_EQ(0, dc_wait_exit(child, 600));			\
		child = -1;						\
	} while (0)

#endif /* L3L2Q_TEST_DEVSIM_CLIENT_H */
