// SPDX-License-Identifier: MIT
/*
 * l3l2q-stat - list the live l3l2q queues of this machine, like ss(8):
 * one line per queue fd of every process this user may look at.
 *
 *   driver queues  a role fd of /dev/l3l2q (/proc/<pid>/fd/<n> is
 *                  "anon_inode:[l3l2q-l3]" or "[l3l2q-l2]"): everything
 *                  comes from its fdinfo (docs/driver.rst, "fdinfo"),
 *                  which the kernel prints from its own copy where it has
 *                  one;
 *   memfd queues   a memfd libl3l2q made ("/memfd:l3l2q"): the control
 *                  block and the counters are read from the file, once,
 *                  into a copy that is checked before anything in it is
 *                  believed: magic, versions, geometry, size.  Anything
 *                  else named like ours is listed as invalid, with why.
 *
 * Nothing here trusts a byte of a queue: the file is read with pread(2)
 * (a copy; a file truncated meanwhile gives a short read, never SIGBUS),
 * every number is only printed, and the output is escaped.
 *
 *   l3l2q-stat [--json] [--watch [SECONDS]] [--pid PID]
 *
 * Exit status: 0, or 2 for bad options.  man 1 l3l2q-stat.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"

#define MEMFD_LINK	"/memfd:l3l2q (deleted)"
/* libl3l2q's channels and signals regions on a memfd (listed, not read). */
#define MEMFD_CHAN_LINK	"/memfd:l3l2q-channel (deleted)"
#define MEMFD_SIG_LINK	"/memfd:l3l2q-signals (deleted)"
#define DRV_LINK_L3	"anon_inode:[l3l2q-l3]"
#define DRV_LINK_L2	"anon_inode:[l3l2q-l2]"
/* The control block and the counter block: all a listing needs. */
#define SNAP_BYTES	(L3L2Q_CTRL_BYTES + L3L2Q_REGION_ALIGN)

/* A number that may be unknown (a memfd has no kick count). */
struct num {
	bool ok;
	unsigned long long v;
};

/* One queue fd of one process, as listed. */
struct rec {
	int pid;
	int fd;
	char comm[64];
	char backend[16];	/* host, ivshmem, memfd */
	char kind[12];		/* queue, channel, signals */
	unsigned long long id;	/* region id; a memfd's inode number */
	char role[8];		/* l3, l2; "-" for a memfd (nothing says) */
	char state[2][12];	/* l3, l2: absent, live, dead, invalid */
	const char *invalid;	/* why a memfd is no queue, or NULL */
	struct num depth, in_arena, out_arena, start_pos;
	struct num ctr[4];	/* input tail, head, output tail, head */
	struct num in_used, out_used;
	struct num wake_bits[2], arms[2], kicks[2], sleeps[2], waiters[2];
};

static const char *const ctr_keys[4] = {
	"input-tail", "input-head", "output-tail", "output-head",
};

static void set(struct num *n, unsigned long long v)
{
	n->ok = true;
	n->v = v;
}

/* ---------------------------------------------------------------------- */
/* Driver queues: fdinfo                                                  */
/* ---------------------------------------------------------------------- */

static void copy_token(char *dst, size_t cap, const char *src)
{
	size_t n = strcspn(src, " \t\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* "l3l2q-<key>" of @line as a number into @n, if @line is that key. */
static bool key_num(const char *line, const char *key, struct num *n)
{
	size_t kl = strlen(key);
	char *end;
	unsigned long long v;

	if (strncmp(line, "l3l2q-", 6) || strncmp(line + 6, key, kl) ||
	    line[6 + kl] != ':')
		return false;
	errno = 0;
	v = strtoull(line + 7 + kl, &end, 0);
	if (!errno && end != line + 7 + kl)
		set(n, v);
	return true;
}

static bool key_str(const char *line, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	if (strncmp(line, "l3l2q-", 6) || strncmp(line + 6, key, kl) ||
	    line[6 + kl] != ':')
		return false;
	copy_token(out, cap, line + 7 + kl + strspn(line + 7 + kl, " \t"));
	return true;
}

/* The fdinfo of a driver role fd; false if it is no l3l2q queue fd. */
static bool read_fdinfo(struct rec *r)
{
	static const char *const who[2] = { "l3", "l2" };
	char path[64], line[256], key[32];
	struct num id = { 0 };
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", r->pid, r->fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (key_num(line, "queue", &id) ||
		    key_str(line, "role", r->role, sizeof(r->role)) ||
		    key_str(line, "backend", r->backend, sizeof(r->backend)) ||
		    key_str(line, "kind", r->kind, sizeof(r->kind)) ||
		    key_num(line, "depth", &r->depth) ||
		    key_num(line, "input-arena-bytes", &r->in_arena) ||
		    key_num(line, "output-arena-bytes", &r->out_arena) ||
		    key_num(line, "start-pos", &r->start_pos) ||
		    key_num(line, "input-used", &r->in_used) ||
		    key_num(line, "output-used", &r->out_used))
			continue;
		for (i = 0; i < 4; i++)
			if (key_num(line, ctr_keys[i], &r->ctr[i]))
				break;
		if (i < 4)
			continue;
		for (i = 0; i < 2; i++) {
			snprintf(key, sizeof(key), "%s-state", who[i]);
			key_str(line, key, r->state[i], sizeof(r->state[i]));
			snprintf(key, sizeof(key), "%s-wake-bits", who[i]);
			key_num(line, key, &r->wake_bits[i]);
			snprintf(key, sizeof(key), "%s-arms", who[i]);
			key_num(line, key, &r->arms[i]);
			snprintf(key, sizeof(key), "%s-kicks", who[i]);
			key_num(line, key, &r->kicks[i]);
			snprintf(key, sizeof(key), "%s-sleeps", who[i]);
			key_num(line, key, &r->sleeps[i]);
			snprintf(key, sizeof(key), "%s-waiters", who[i]);
			key_num(line, key, &r->waiters[i]);
		}
	}
	fclose(f);
	if (!id.ok)
		return false;
	r->id = id.v;
	return true;
}

/* ---------------------------------------------------------------------- */
/* memfd queues: one checked copy of the control and counter blocks       */
/* ---------------------------------------------------------------------- */

static __u32 word32(const unsigned char *snap, size_t off)
{
	__u32 v;

	memcpy(&v, snap + off, sizeof(v));
	return v;
}

static const char *state_name(__u32 s)
{
	switch (s) {
	case L3L2Q_ROLE_ABSENT:
		return "absent";
	case L3L2Q_ROLE_LIVE:
		return "live";
	case L3L2Q_ROLE_DEAD:
		return "dead";
	}
	return "invalid";
}

/* Why @snap (@size bytes of file) is no queue; NULL if it is one. */
static const char *check_memfd(const unsigned char *snap, long long size,
			       struct l3l2q_ctrl_hdr *h,
			       struct l3l2q_layout *l)
{
	struct l3l2q_region_offsets off;

	if (size < (long long)SNAP_BYTES)
		return "too small for a queue";
	memcpy(h, snap, sizeof(*h));
	if (h->magic != L3L2Q_CTRL_MAGIC)
		return "bad control block magic";
	if (h->version != L3L2Q_CTRL_VERSION)
		return "unknown control block version";
	if (h->queue_magic_version != L3L2Q_QUEUE_MAGIC_VERSION)
		return "bad queue magic or version";
	if ((h->flags & ~L3L2Q_CREATE_ALL) || h->resv0 || h->resv1)
		return "unknown flags or non-zero reserved fields";
	if (l3l2q_layout(h->depth, h->input_arena_bytes,
			 h->output_arena_bytes, l) != L3L2Q_LAYOUT_OK)
		return "bad geometry";
	if (!l3l2q_region_layout(l, &off) ||
	    off.total_bytes != (unsigned long long)size)
		return "size does not match its geometry";
	return NULL;
}

static void read_memfd(struct rec *r)
{
	static const unsigned int ctr_off[4] = {
		L3L2Q_CTR_INPUT_TAIL, L3L2Q_CTR_INPUT_HEAD,
		L3L2Q_CTR_OUTPUT_TAIL, L3L2Q_CTR_OUTPUT_HEAD,
	};
	static const unsigned int state_off[2] = {
		L3L2Q_CTRL_L3_STATE, L3L2Q_CTRL_L2_STATE,
	};
	static const unsigned int wake_off[2] = {
		L3L2Q_CTRL_L3_WAKE, L3L2Q_CTRL_L2_WAKE,
	};
	static unsigned char snap[SNAP_BYTES];
	struct l3l2q_ctrl_hdr h;
	struct l3l2q_layout l;
	char path[64];
	struct stat st;
	__u32 v[4], w;
	ssize_t n;
	int fd, i;

	snprintf(r->backend, sizeof(r->backend), "memfd");
	snprintf(r->kind, sizeof(r->kind), "queue");
	snprintf(r->role, sizeof(r->role), "-");
	r->invalid = "cannot be opened";
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", r->pid, r->fd);
	/* The fd may have become anything since its link was read. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_GET_SEALS) < 0) {
		r->invalid = "not a memfd";
		close(fd);
		return;
	}
	r->id = (unsigned long long)st.st_ino;
	memset(snap, 0, sizeof(snap));
	n = st.st_size >= (off_t)SNAP_BYTES ? pread(fd, snap, SNAP_BYTES, 0) :
					      0;
	close(fd);
	if (n != (ssize_t)SNAP_BYTES) {
		r->invalid = "too small for a queue";
		return;
	}
	r->invalid = check_memfd(snap, (long long)st.st_size, &h, &l);
	if (r->invalid)
		return;

	set(&r->depth, l.depth);
	set(&r->in_arena, l.input_arena_bytes);
	set(&r->out_arena, l.output_arena_bytes);
	set(&r->start_pos, h.start_pos);
	for (i = 0; i < 4; i++) {
		v[i] = word32(snap, L3L2Q_CTRL_BYTES + ctr_off[i]);
		set(&r->ctr[i], v[i]);
	}
	set(&r->in_used, (__u32)(v[0] - v[1]));
	set(&r->out_used, (__u32)(v[2] - v[3]));
	for (i = 0; i < 2; i++) {
		snprintf(r->state[i], sizeof(r->state[i]), "%s",
			 state_name(word32(snap, state_off[i])));
		w = word32(snap, wake_off[i]);
		set(&r->wake_bits[i], w & L3L2Q_WAKE_BITS);
		set(&r->arms[i], w >> L3L2Q_WAKE_ARM_SHIFT);
	}
}

/*
 * A channel or signals region on a memfd: its kind, owner and id (the
 * inode) only; the role states and counts are the queue's columns.
 */
static void read_memfd_other(struct rec *r, const char *kind)
{
	char path[64];
	struct stat st;

	snprintf(r->backend, sizeof(r->backend), "memfd");
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->role, sizeof(r->role), "-");
	snprintf(r->state[0], sizeof(r->state[0]), "-");
	snprintf(r->state[1], sizeof(r->state[1]), "-");
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", r->pid, r->fd);
	if (stat(path, &st))
		r->invalid = "cannot be opened";
	else
		r->id = (unsigned long long)st.st_ino;
}

/* ---------------------------------------------------------------------- */
/* Walking /proc                                                          */
/* ---------------------------------------------------------------------- */

static void read_comm(int pid, char *comm, size_t cap)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(comm, cap, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, cap - 1);
	close(fd);
	if (n <= 0) {
		snprintf(comm, cap, "?");
		return;
	}
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

struct list {
	struct rec *r;
	size_t n, cap;
};

static struct rec *list_add(struct list *l)
{
	struct rec *nr;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		nr = realloc(l->r, l->cap * sizeof(*l->r));
		if (!nr) {
			fprintf(stderr, "l3l2q-stat: out of memory\n");
			exit(1);
		}
		l->r = nr;
	}
	memset(&l->r[l->n], 0, sizeof(l->r[0]));
	return &l->r[l->n++];
}

/* The queue fds of @pid (processes we may not look at are skipped). */
static void scan_pid(struct list *l, int pid)
{
	char path[64], link[128], comm[64];
	struct dirent *de;
	struct rec *r;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return;
	comm[0] = 0;
	while ((de = readdir(d))) {
		if (!is_number(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid,
			 atoi(de->d_name));
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, MEMFD_LINK) && strcmp(link, DRV_LINK_L3) &&
		    strcmp(link, DRV_LINK_L2) && strcmp(link, MEMFD_CHAN_LINK) &&
		    strcmp(link, MEMFD_SIG_LINK))
			continue;
		if (!comm[0])
			read_comm(pid, comm, sizeof(comm));
		r = list_add(l);
		r->pid = pid;
		r->fd = atoi(de->d_name);
		snprintf(r->comm, sizeof(r->comm), "%s", comm);
		if (!strcmp(link, MEMFD_LINK))
			read_memfd(r);
		else if (!strcmp(link, MEMFD_CHAN_LINK))
			read_memfd_other(r, "channel");
		else if (!strcmp(link, MEMFD_SIG_LINK))
			read_memfd_other(r, "signals");
		else if (!read_fdinfo(r))
			l->n--;	/* gone, or not ours after all */
	}
	closedir(d);
}

static void scan(struct list *l, int only_pid)
{
	struct dirent *de;
	DIR *d;

	l->n = 0;
	if (only_pid > 0) {
		scan_pid(l, only_pid);
		return;
	}
	d = opendir("/proc");
	if (!d)
		return;
	while ((de = readdir(d)))
		if (is_number(de->d_name))
			scan_pid(l, atoi(de->d_name));
	closedir(d);
}

/* ---------------------------------------------------------------------- */
/* Output                                                                 */
/* ---------------------------------------------------------------------- */

/* A number, or "-" when unknown, into @buf. */
static const char *fmt_num(char *buf, size_t cap, const struct num *n)
{
	if (n->ok)
		snprintf(buf, cap, "%llu", n->v);
	else
		snprintf(buf, cap, "-");
	return buf;
}

/* "a/b" of two role numbers. */
static const char *fmt_pair(char *buf, size_t cap, const struct num *n)
{
	char a[24], b[24];

	snprintf(buf, cap, "%s/%s", fmt_num(a, sizeof(a), &n[0]),
		 fmt_num(b, sizeof(b), &n[1]));
	return buf;
}

/* @s with anything unprintable replaced: a comm can hold any byte. */
static const char *printable(char *buf, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		buf[i] = isprint((unsigned char)s[i]) && s[i] != ' ' ? s[i] :
								      '?';
	buf[i] = 0;
	return buf;
}

static void print_table(const struct list *l)
{
	char c[64], a[24], b[24], in[24], out[24], k[48], s[48], w[48];
	size_t i;

	printf("%-7s %-15s %-7s %-8s %8s %5s %-4s %-13s %5s %5s %5s %-11s %-11s %-7s\n",
	       "PID", "COMM", "BACKEND", "KIND", "ID", "FD", "ROLE", "L3/L2",
	       "DEPTH",
	       "IN", "OUT", "KICKS", "SLEEPS", "WAITERS");
	for (i = 0; i < l->n; i++) {
		const struct rec *r = &l->r[i];

		if (r->invalid) {
			printf("%-7d %-15s %-7s %-8s %8llu %5d invalid: %s\n",
			       r->pid, printable(c, sizeof(c), r->comm),
			       r->backend, r->kind, r->id, r->fd, r->invalid);
			continue;
		}
		snprintf(a, sizeof(a), "%s/%s", r->state[0], r->state[1]);
		/* A memfd counts no kicks; its arming counts stand in. */
		printf("%-7d %-15s %-7s %-8s %8llu %5d %-4s %-13s %5s %5s %5s %-11s %-11s %-7s\n",
		       r->pid, printable(c, sizeof(c), r->comm), r->backend,
		       r->kind, r->id, r->fd, r->role, a,
		       fmt_num(b, sizeof(b), &r->depth),
		       fmt_num(in, sizeof(in), &r->in_used),
		       fmt_num(out, sizeof(out), &r->out_used),
		       fmt_pair(k, sizeof(k), r->kicks),
		       fmt_pair(s, sizeof(s), r->kicks[0].ok ? r->sleeps :
							       r->arms),
		       fmt_pair(w, sizeof(w), r->waiters));
	}
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_num(const char *key, const struct num *n)
{
	printf(",\"%s\":", key);
	if (n->ok)
		printf("%llu", n->v);
	else
		printf("null");
}

static void json_role_nums(const char *key, const struct num *n)
{
	char k[40];

	snprintf(k, sizeof(k), "l3_%s", key);
	json_num(k, &n[0]);
	snprintf(k, sizeof(k), "l2_%s", key);
	json_num(k, &n[1]);
}

/* One JSON array; one object per line, so that line tools work too. */
static void print_json(const struct list *l)
{
	static const char *const ctr_json[4] = {
		"input_tail", "input_head", "output_tail", "output_head",
	};
	size_t i;
	int j;

	printf("[");
	for (i = 0; i < l->n; i++) {
		const struct rec *r = &l->r[i];

		printf("%s\n{\"pid\":%d,\"comm\":", i ? "," : "", r->pid);
		json_str(r->comm);
		printf(",\"fd\":%d,\"backend\":", r->fd);
		json_str(r->backend);
		printf(",\"kind\":");
		json_str(r->kind);
		printf(",\"id\":%llu,\"valid\":%s", r->id,
		       r->invalid ? "false" : "true");
		if (r->invalid) {
			printf(",\"error\":");
			json_str(r->invalid);
			printf("}");
			continue;
		}
		printf(",\"role\":");
		json_str(r->role);
		printf(",\"l3_state\":");
		json_str(r->state[0]);
		printf(",\"l2_state\":");
		json_str(r->state[1]);
		json_num("depth", &r->depth);
		json_num("input_arena_bytes", &r->in_arena);
		json_num("output_arena_bytes", &r->out_arena);
		json_num("start_pos", &r->start_pos);
		for (j = 0; j < 4; j++)
			json_num(ctr_json[j], &r->ctr[j]);
		json_num("input_used", &r->in_used);
		json_num("output_used", &r->out_used);
		json_role_nums("wake_bits", r->wake_bits);
		json_role_nums("arms", r->arms);
		json_role_nums("kicks", r->kicks);
		json_role_nums("sleeps", r->sleeps);
		json_role_nums("waiters", r->waiters);
		printf("}");
	}
	printf("%s]\n", l->n ? "\n" : "");
}

/* ---------------------------------------------------------------------- */
/* --watch                                                                */
/* ---------------------------------------------------------------------- */

static volatile sig_atomic_t stop;
static struct termios saved_tio;
static bool tio_saved;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

/* Keys without Enter, if stdin is a terminal: 'q' quits. */
static void raw_tty(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio_saved = true;
	atexit(restore_tty);
	t = saved_tio;
	t.c_lflag &= ~(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* Wait @ms, or until 'q' or a signal; true to go on. */
static bool watch_pause(int ms)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	struct timespec t0, t;
	char ch;
	int left = ms, ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && left > 0) {
		ret = poll(&p, tio_saved ? 1 : 0, left);
		if (ret > 0) {
			if (read(STDIN_FILENO, &ch, 1) == 1 &&
			    (ch == 'q' || ch == 'Q'))
				return false;
			if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
				tio_saved = false;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
				  (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
	return !stop;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: l3l2q-stat [--json] [--watch [SECONDS]] [--pid PID]\n"
		"  --json          a JSON array, one object per queue fd\n"
		"  --watch [S]     refresh every S seconds (default 1) until q or ^C;\n"
		"                  with --json, one array per refresh\n"
		"  --pid PID       only that process's queues\n");
}

int main(int argc, char **argv)
{
	struct list l = { 0 };
	bool json = false, watch = false;
	double secs = 1.0;
	struct sigaction sa;
	char *end;
	long pid = 0;
	time_t now;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--watch")) {
			watch = true;
			if (i + 1 < argc && argv[i + 1][0] != '-') {
				secs = strtod(argv[++i], &end);
				if (*end || !(secs >= 0.1 && secs <= 86400)) {
					fprintf(stderr, "l3l2q-stat: --watch: seconds must be a number from 0.1 to 86400, not '%s'\n",
						argv[i]);
					return 2;
				}
			}
		} else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			pid = strtol(argv[++i], &end, 10);
			if (*end || pid <= 0 || pid > INT32_MAX) {
				fprintf(stderr, "l3l2q-stat: --pid: not a process id: '%s'\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "l3l2q-stat: unknown option '%s'\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}

	if (!watch) {
		scan(&l, (int)pid);
		if (json)
			print_json(&l);
		else
			print_table(&l);
		free(l.r);
		return 0;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!json)
		raw_tty();
	do {
		scan(&l, (int)pid);
		if (json) {
			print_json(&l);
		} else {
			now = time(NULL);
			/* Home, clear: a redraw, as top(1) does. */
			printf("\033[H\033[2J");
			printf("l3l2q-stat: %zu queue fd%s, every %gs, %s",
			       l.n, l.n == 1 ? "" : "s", secs, ctime(&now));
			print_table(&l);
			printf("(q or ^C to quit)\n");
		}
		fflush(stdout);
	} while (watch_pause((int)(secs * 1000)));
	free(l.r);
	return 0;
}
