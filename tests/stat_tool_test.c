// SPDX-License-Identifier: MIT
/*
 * stat_tool_test - l3l2q-stat (tools/l3l2q-stat.c) against memfd queues
 * this suite made, so that every number it prints is known:
 *
 *   - a child creates two queues with libl3l2q (memfd backing) and sends
 *     known numbers of messages, a grandchild attaches as the L2 of one;
 *     --json --pid must list each with its pid, depth, arenas, states and
 *     occupancy, and the grandchild's under the same id;
 *   - memfds named like the library's but holding garbage (random bytes,
 *     nothing, a right magic with a wrong geometry, a right header with a
 *     wrong size) are listed as invalid, and the tool exits 0;
 *   - --watch redraws until SIGINT, and exits 0 on it; --watch --json
 *     prints an array per refresh;
 *   - bad options exit 2.
 *
 * The tool is build/tools/l3l2q-stat seen from this binary, or
 * $L3L2Q_STAT.  Nothing waits on time but the watchdogs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "devsim_client.h"
#include "libl3l2q.h"
#include "libl3l2q_channel.h"
#include "libl3l2q_signals.h"

#define OUT_CAP		(1 << 20)

/* Run l3l2q-stat with @argv (NULL-terminated, argv[0] ignored); its exit
 * status (or -1), and its stdout in @out. */
static int run_stat(char *const argv[], char *out, size_t cap)
{
	char tool[PATH_MAX];
	int pfd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	dc_tool_path(tool, sizeof(tool), "l3l2q-stat", "L3L2Q_STAT");
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv(tool, argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len + 1 < cap &&
	       (n = read(pfd[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The JSON line (one object per line) with "pid":@pid and "fd":@fd. */
static const char *find_obj(const char *out, pid_t pid, int fd, char *line,
			    size_t cap)
{
	char want_pid[32], want_fd[32];
	const char *p = out, *e;
	size_t n;

	snprintf(want_pid, sizeof(want_pid), "{\"pid\":%d,", (int)pid);
	snprintf(want_fd, sizeof(want_fd), ",\"fd\":%d,", fd);
	while (*p) {
		e = strchr(p, '\n');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n < cap) {
			memcpy(line, p, n);
			line[n] = 0;
			if (!strncmp(line, want_pid, strlen(want_pid)) &&
			    strstr(line, want_fd))
				return line;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return NULL;
}

/* The number of "key": in @obj; LLONG_MIN if absent or not a number. */
static long long jnum(const char *obj, const char *key)
{
	char pat[64], *end;
	const char *at;
	long long v;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = obj ? strstr(obj, pat) : NULL;
	if (!at)
		return LLONG_MIN;
	v = strtoll(at + strlen(pat), &end, 10);
	return end == at + strlen(pat) ? LLONG_MIN : v;
}

/* Is "key":"@want" in @obj? */
static int jstr(const char *obj, const char *key, const char *want)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "\"%s\":\"%s\"", key, want);
	return obj && strstr(obj, pat) != NULL;
}

/* Count the objects (lines starting with {"pid":) of an output. */
static int count_objs(const char *out)
{
	const char *p = out;
	int n = 0;

	while ((p = strstr(p, "{\"pid\":"))) {
		n++;
		p++;
	}
	return n;
}

/* The fd number of @q's memfd in this process, found by its name. */
static int memfd_of(const void *unused, int skip)
{
	char path[64], link[128];
	int fd, seen = 0;
	ssize_t n;

	(void)unused;
	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, "/memfd:l3l2q (deleted)") && seen++ == skip)
			return fd;
	}
	return -1;
}

/* What the child reports once its queues are ready. */
struct ready {
	int fd_a, fd_b;		/* the child's memfds of queues A and B */
	int gc_fd;		/* the grandchild's memfd of queue A */
	pid_t grandchild;
	int err;
};

FIXTURE(st) {
	pid_t child;
	int hold;		/* closing it lets the child go */
	struct ready rd;
	char *out;
	char line[4096];
};

static void send_msgs(struct l3l2q_queue *q, int n, int *err)
{
	char buf[100];
	int i;

	memset(buf, 0x5a, sizeof(buf));
	for (i = 0; i < n && !*err; i++)
		*err = l3l2q_l3_try_enqueue(l3l2q_queue_l3(q), L3L2Q_OP_DATA,
					    buf, sizeof(buf));
}

/*
 * The child: queue A (depth 16, 4 KiB and 8 KiB arenas, 3 messages, an
 * L2 in a grandchild) and queue B (depth 8, 2 KiB arenas, 5 messages, no
 * L2).  It reports on @wfd and lives until @hold reaches EOF.
 */
static void child_main(int wfd, int hold)
{
	struct l3l2q_params pa = {
		.depth = 16, .input_arena_bytes = 4096,
		.output_arena_bytes = 8192, .backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_params pb = {
		.depth = 8, .input_arena_bytes = 2048,
		.output_arena_bytes = 2048, .backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_queue *a = NULL, *b = NULL, *g;
	struct ready rd = { -1, -1, -1, -1, 0 };
	struct l3l2q_error e;
	int gp[2], ret, peer = -1;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	rd.err = l3l2q_create(&pa, &a, &e);
	if (!rd.err)
		rd.err = l3l2q_create(&pb, &b, &e);
	if (!rd.err && pipe(gp))
		rd.err = -errno;
	if (!rd.err) {
		peer = l3l2q_peer_fd(a);
		if (peer < 0)
			rd.err = peer;
	}
	if (!rd.err) {
		rd.fd_a = memfd_of(a, 0);
		rd.fd_b = memfd_of(b, 1);
		rd.grandchild = fork();
		if (rd.grandchild == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(gp[0]);
			ret = l3l2q_attach(peer, NULL, &g, &e);
			rd.gc_fd = ret ? ret : memfd_of(g, 0);
			if (write(gp[1], &rd.gc_fd, sizeof(rd.gc_fd)) < 0)
				_exit(1);
			while (read(hold, &c, 1) > 0)
				;
			_exit(0);
		}
		close(gp[1]);
		close(peer);
		if (read(gp[0], &rd.gc_fd, sizeof(rd.gc_fd)) !=
		    sizeof(rd.gc_fd) || rd.gc_fd < 0)
			rd.err = -EPROTO;
	}
	send_msgs(a, 3, &rd.err);
	send_msgs(b, 5, &rd.err);
	if (write(wfd, &rd, sizeof(rd)) < 0)
		_exit(1);
	while (read(hold, &c, 1) > 0)
		;
	_exit(0);
}

FIXTURE_SETUP(st)
{
	int rp[2], hp[2];

	self->out = malloc(OUT_CAP);
	ASSERT_NE(NULL, self->out);
	ASSERT_EQ(0, pipe(rp));
	ASSERT_EQ(0, pipe(hp));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(rp[0]);
		close(hp[1]);
		child_main(rp[1], hp[0]);
	}
	close(rp[1]);
	close(hp[0]);
	self->hold = hp[1];
	ASSERT_EQ((ssize_t)sizeof(self->rd),
		  read(rp[0], &self->rd, sizeof(self->rd)));
	close(rp[0]);
	ASSERT_EQ(0, self->rd.err);
	ASSERT_LE(0, self->rd.fd_a);
	ASSERT_LE(0, self->rd.fd_b);
	ASSERT_LE(0, self->rd.gc_fd);
}

FIXTURE_TEARDOWN(st)
{
	close(self->hold);
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	free(self->out);
}

/* Each queue as the child left it. */
TEST_F(st, json_known_queues)
{
	char pid[16];
	char *argv[] = { "l3l2q-stat", "--json", "--pid", pid, NULL };
	const char *a, *b;
	long long id_a = 0;

	snprintf(pid, sizeof(pid), "%d", (int)self->child);
	ASSERT_EQ(0, run_stat(argv, self->out, OUT_CAP));
	EXPECT_EQ('[', self->out[0]);
	EXPECT_EQ(2, count_objs(self->out)) TH_LOG("%s", self->out);

	a = find_obj(self->out, self->child, self->rd.fd_a, self->line,
		     sizeof(self->line));
	ASSERT_NE(NULL, a) TH_LOG("%s", self->out);
	EXPECT_TRUE(jstr(a, "backend", "memfd"));
	EXPECT_TRUE(jstr(a, "role", "-"));
	EXPECT_TRUE(strstr(a, "\"valid\":true") != NULL);
	EXPECT_TRUE(jstr(a, "l3_state", "live"));
	EXPECT_TRUE(jstr(a, "l2_state", "live"));
	EXPECT_EQ(16, jnum(a, "depth"));
	EXPECT_EQ(4096, jnum(a, "input_arena_bytes"));
	EXPECT_EQ(8192, jnum(a, "output_arena_bytes"));
	EXPECT_EQ(3, jnum(a, "input_used"));
	EXPECT_EQ(0, jnum(a, "output_used"));
	EXPECT_EQ(3, jnum(a, "input_tail"));
	EXPECT_TRUE(strstr(a, "\"l3_kicks\":null") != NULL);
	id_a = jnum(a, "id");
	EXPECT_LT(0, id_a);

	b = find_obj(self->out, self->child, self->rd.fd_b, self->line,
		     sizeof(self->line));
	ASSERT_NE(NULL, b) TH_LOG("%s", self->out);
	EXPECT_EQ(8, jnum(b, "depth"));
	EXPECT_EQ(2048, jnum(b, "input_arena_bytes"));
	EXPECT_EQ(5, jnum(b, "input_used"));
	EXPECT_TRUE(jstr(b, "l2_state", "absent"));
	EXPECT_NE(id_a, jnum(b, "id"));

	/* The L2 process holds queue A too: the same file, the same id. */
	snprintf(pid, sizeof(pid), "%d", (int)self->rd.grandchild);
	ASSERT_EQ(0, run_stat(argv, self->out, OUT_CAP));
	a = find_obj(self->out, self->rd.grandchild, self->rd.gc_fd,
		     self->line, sizeof(self->line));
	ASSERT_NE(NULL, a) TH_LOG("%s", self->out);
	EXPECT_EQ(id_a, jnum(a, "id"));
	EXPECT_EQ(3, jnum(a, "input_used"));
}

/* The table: a header and a line per queue fd, with the same numbers. */
TEST_F(st, table)
{
	char pid[16], want[160], path[64];
	char *argv[] = { "l3l2q-stat", "--pid", pid, NULL };
	unsigned long long id_b;
	struct stat st;

	/* Queue B's id: its memfd's inode number. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)self->child,
		 self->rd.fd_b);
	ASSERT_EQ(0, stat(path, &st));
	id_b = (unsigned long long)st.st_ino;
	snprintf(pid, sizeof(pid), "%d", (int)self->child);
	ASSERT_EQ(0, run_stat(argv, self->out, OUT_CAP));
	EXPECT_EQ(0, strncmp(self->out, "PID ", 4)) TH_LOG("%s", self->out);
	snprintf(want, sizeof(want), "%-7d %-15s %-7s %-8s %8llu %5d %-4s %-13s %5d %5d %5d",
		 (int)self->child, "stat_tool_test", "memfd", "queue", id_b,
		 self->rd.fd_b, "-", "live/absent", 8, 5, 0);
	EXPECT_TRUE(strstr(self->out, want) != NULL)
		TH_LOG("want '%s' in:\n%s", want, self->out);
}

/* Garbage named like our memfds: listed as invalid, never a crash. */
TEST_F(st, garbage_memfds)
{
	struct l3l2q_ctrl_hdr h;
	int fds[6], i, status, gfd[2];
	char pid[16], buf[8192];
	char *argv[] = { "l3l2q-stat", "--json", "--pid", pid, NULL };
	char *targv[] = { "l3l2q-stat", "--pid", pid, NULL };
	pid_t g;

	ASSERT_EQ(0, pipe(gfd));
	g = fork();
	ASSERT_LE(0, g);
	if (g == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0; i < 6; i++)
			fds[i] = memfd_create("l3l2q", MFD_CLOEXEC);
		srand(7);
		for (i = 0; i < (int)sizeof(buf); i++)
			buf[i] = (char)rand();
		/* 0: random bytes; 1: empty; 2: one byte. */
		if (pwrite(fds[0], buf, sizeof(buf), 0) != sizeof(buf) ||
		    pwrite(fds[2], buf, 1, 0) != 1)
			_exit(1);
		/* 3: the right magics, a depth of 3 (not a power of two). */
		memset(&h, 0, sizeof(h));
		h.magic = L3L2Q_CTRL_MAGIC;
		h.version = L3L2Q_CTRL_VERSION;
		h.queue_magic_version = L3L2Q_QUEUE_MAGIC_VERSION;
		h.depth = 3;
		h.input_arena_bytes = 4096;
		h.output_arena_bytes = 4096;
		memset(buf, 0xff, sizeof(buf));
		memcpy(buf, &h, sizeof(h));
		if (pwrite(fds[3], buf, sizeof(buf), 0) != sizeof(buf))
			_exit(1);
		/* 4: a right header in a file of the wrong size. */
		h.depth = 8;
		memcpy(buf, &h, sizeof(h));
		if (pwrite(fds[4], buf, sizeof(buf), 0) != sizeof(buf))
			_exit(1);
		/* 5: arenas so large the layout overflows. */
		h.input_arena_bytes = ~0ull - 63;
		memcpy(buf, &h, sizeof(h));
		if (pwrite(fds[5], buf, sizeof(buf), 0) != sizeof(buf))
			_exit(1);
		close(gfd[0]);
		if (write(gfd[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(gfd[1]);
	ASSERT_EQ(1, read(gfd[0], buf, 1));
	close(gfd[0]);
	snprintf(pid, sizeof(pid), "%d", (int)g);
	EXPECT_EQ(0, run_stat(argv, self->out, OUT_CAP));
	EXPECT_EQ(6, count_objs(self->out)) TH_LOG("%s", self->out);
	i = 0;
	for (const char *p = self->out; (p = strstr(p, "\"valid\":false"));
	     p++)
		i++;
	EXPECT_EQ(6, i) TH_LOG("%s", self->out);
	EXPECT_TRUE(strstr(self->out, "bad control block magic") != NULL);
	EXPECT_TRUE(strstr(self->out, "too small for a queue") != NULL);
	EXPECT_TRUE(strstr(self->out, "bad geometry") != NULL);
	EXPECT_TRUE(strstr(self->out, "size does not match its geometry") !=
		    NULL);
	EXPECT_EQ(0, run_stat(targv, self->out, OUT_CAP));
	EXPECT_TRUE(strstr(self->out, "invalid: bad geometry") != NULL);
	kill(g, SIGKILL);
	ASSERT_EQ(g, waitpid(g, &status, 0));
}

/* --watch: frames until SIGINT, then exit 0; --json: one array each. */
TEST_F_TIMEOUT(st, watch, 120)
{
	char tool[PATH_MAX], pid[16];
	int pfd[2], status, frames;
	size_t len = 0;
	ssize_t n;
	pid_t w;
	int i;

	dc_tool_path(tool, sizeof(tool), "l3l2q-stat", "L3L2Q_STAT");
	snprintf(pid, sizeof(pid), "%d", (int)self->child);
	for (i = 0; i < 2; i++) {
		len = 0;
		ASSERT_EQ(0, pipe(pfd));
		w = fork();
		ASSERT_LE(0, w);
		if (w == 0) {
			dup2(pfd[1], STDOUT_FILENO);
			close(pfd[0]);
			close(pfd[1]);
			if (i == 0)
				execl(tool, "l3l2q-stat", "--watch", "0.1",
				      "--pid", pid, (char *)NULL);
			else
				execl(tool, "l3l2q-stat", "--json", "--watch",
				      "0.1", "--pid", pid, (char *)NULL);
			_exit(127);
		}
		close(pfd[1]);
		/* Two whole frames, then the interrupt. */
		frames = 0;
		while (frames < 2 && len + 1 < OUT_CAP &&
		       (n = read(pfd[0], self->out + len,
				 OUT_CAP - 1 - len)) > 0) {
			len += (size_t)n;
			self->out[len] = 0;
			frames = 0;
			for (const char *p = self->out;
			     (p = strstr(p, i ? "]\n" : "(q or ^C to quit)"));
			     p++)
				frames++;
		}
		EXPECT_LE(2, frames) TH_LOG("%s", self->out);
		kill(w, SIGINT);
		while (read(pfd[0], self->out, OUT_CAP - 1) > 0)
			;
		close(pfd[0]);
		ASSERT_EQ(w, waitpid(w, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
}

/* A memfd channel and a memfd signals region are listed with their kind. */
TEST(channel_and_signals_memfds)
{
	struct l3l2q_channel_params cp = {
		.lanes_to_l2 = 2, .lanes_to_l3 = 2, .lane_depth = 8,
		.max_message_bytes = 256, .backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_sig_params sp = {
		.data_bytes = 4096, .signal_count = 4,
		.backend = L3L2Q_BACKEND_MEMFD,
	};
	char pid[16], *out = malloc(OUT_CAP);
	char *argv[] = { "l3l2q-stat", "--json", "--pid", pid, NULL };
	struct l3l2q_channel *ch = NULL;
	struct l3l2q_signals *sg = NULL;
	struct l3l2q_error err;

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, l3l2q_channel_create(&cp, &ch, &err)) TH_LOG("%s", err.message);
	ASSERT_EQ(0, l3l2q_sig_create(&sp, &sg, &err)) TH_LOG("%s", err.message);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	EXPECT_EQ(0, run_stat(argv, out, OUT_CAP));
	EXPECT_TRUE(strstr(out, "\"kind\":\"channel\"") != NULL) TH_LOG("%s", out);
	EXPECT_TRUE(strstr(out, "\"kind\":\"signals\"") != NULL) TH_LOG("%s", out);
	l3l2q_channel_destroy(ch);
	l3l2q_sig_destroy(sg);
	free(out);
}

TEST(bad_options)
{
	char out[4096];
	char *a1[] = { "l3l2q-stat", "--watch", "0", NULL };
	char *a2[] = { "l3l2q-stat", "--pid", "12x", NULL };
	char *a3[] = { "l3l2q-stat", "--frobnicate", NULL };
	char *a4[] = { "l3l2q-stat", "--help", NULL };

	EXPECT_EQ(2, run_stat(a1, out, sizeof(out)));
	EXPECT_EQ(2, run_stat(a2, out, sizeof(out)));
	EXPECT_EQ(2, run_stat(a3, out, sizeof(out)));
	EXPECT_EQ(0, run_stat(a4, out, sizeof(out)));
	EXPECT_TRUE(strstr(out, "--json") != NULL);
}

TEST_HARNESS_MAIN
