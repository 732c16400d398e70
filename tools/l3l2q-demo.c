// SPDX-License-Identifier: MIT
/*
 * l3l2q-demo: a host orchestrator (L3, the parent) streams tasks to a
 * long-running device orchestrator (L2, a forked child) and gets results
 * back, through one queue.  L2 upper-cases each task's text and returns it
 * with an FNV-1a hash; L3 checks every result and prints a summary.
 *
 *   l3l2q-demo [--count N] [--max-bytes B] [--depth D] [--backend auto|memfd|device]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libl3l2q.h"

/* Application header in front of every payload: correlation lives here. */
struct task_hdr {
	__u64 id;
	__u32 len;		/* text bytes after the header */
	__u32 hash;		/* results only: FNV-1a of the result text */
};

struct opts {
	__u64 count;
	__u64 max_bytes;
	__u64 depth;
	__u32 backend;
};

static __u32 fnv1a(const unsigned char *p, __u64 n)
{
	__u32 h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static unsigned char task_char(__u64 id, __u64 i)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz ,.0123456789";

	return (unsigned char)alphabet[(id * 31 + i * 7 + (id >> 3)) %
				       (sizeof(alphabet) - 1)];
}

static __u32 task_len(__u64 id, __u64 max)
{
	return (__u32)((id * 2654435761u) % (max + 1));
}

static unsigned char upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

static void die(const char *what, int ret, const struct l3l2q_ep *ep)
{
	fprintf(stderr, "l3l2q-demo: %s: %s", what, strerror(-ret));
	if (ep)
		fprintf(stderr, " (%s: %s)",
			l3l2q_error_op_str(l3l2q_ep_last_error(ep)->op),
			l3l2q_ep_last_error(ep)->message);
	fputc('\n', stderr);
	exit(1);
}

/* ---- L2: the device orchestrator ---- */

static int run_l2(int fd)
{
	struct l3l2q_queue *q;
	struct l3l2q_error err;
	struct l3l2q_l2 *l2;
	struct l3l2q_msg in;
	struct l3l2q_res out;
	struct task_hdr h;
	unsigned char *text;
	__u64 i;
	int ret;

	ret = l3l2q_attach(fd, NULL, &q, &err);
	if (ret) {
		fprintf(stderr, "l3l2q-demo L2: attach: %s (%s)\n",
			strerror(-ret), err.message);
		return 1;
	}
	l2 = l3l2q_queue_l2(q);
	for (;;) {
		ret = l3l2q_l2_peek(l2, l3l2q_deadline_in(10000000000ull), &in);
		if (ret)
			die("L2 peek", ret, &l2->ep);
		if (in.opcode == L3L2Q_OP_STOP) {
			ret = l3l2q_l2_release(l2, &in);
			if (ret)
				die("L2 release STOP", ret, &l2->ep);
			break;
		}
		/* A malformed task gets an ERROR result, not a crash. */
		if (in.nbytes < sizeof(h)) {
			ret = l3l2q_l2_reserve(l2, 0, l3l2q_deadline_in(10000000000ull),
					       &out);
			if (!ret)
				ret = l3l2q_l2_publish(l2, &out, L3L2Q_OP_ERROR);
		} else {
			memcpy(&h, in.data, sizeof(h));
			if (h.len != in.nbytes - sizeof(h))
				h.len = 0;
			ret = l3l2q_l2_reserve(l2, sizeof(h) + h.len,
					       l3l2q_deadline_in(10000000000ull),
					       &out);
			if (ret)
				die("L2 reserve", ret, &l2->ep);
			/* Work straight from the input view into the output. */
			text = (unsigned char *)out.data + sizeof(h);
			for (i = 0; i < h.len; i++)
				text[i] = upper(((const unsigned char *)in.data)
						[sizeof(h) + i]);
			h.hash = fnv1a(text, h.len);
			memcpy(out.data, &h, sizeof(h));
			ret = l3l2q_l2_publish(l2, &out, L3L2Q_OP_DATA);
		}
		if (ret)
			die("L2 publish", ret, &l2->ep);
		ret = l3l2q_l2_release(l2, &in);
		if (ret)
			die("L2 release", ret, &l2->ep);
	}
	if (!l3l2q_l2_drained(l2))
		die("L2 not drained after STOP", -EPROTO, &l2->ep);
	l3l2q_destroy(q);
	return 0;
}

/* ---- L3: the host orchestrator ---- */

struct l3_state {
	struct l3l2q_l3 *l3;
	const struct opts *o;
	unsigned char *buf;
	__u64 sent, received, bytes_in, bytes_out, bad;
};

static int l3_send(struct l3_state *s)
{
	struct task_hdr h = { .id = s->sent };
	__u64 i;
	int ret;

	if (s->sent == s->o->count)
		return 0;
	h.len = task_len(s->sent, s->o->max_bytes);
	memcpy(s->buf, &h, sizeof(h));
	for (i = 0; i < h.len; i++)
		s->buf[sizeof(h) + i] = task_char(h.id, i);
	ret = l3l2q_l3_try_enqueue(s->l3, L3L2Q_OP_DATA, s->buf,
				   sizeof(h) + h.len);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		die("L3 enqueue", ret, &s->l3->ep);
	s->sent++;
	s->bytes_in += sizeof(h) + h.len;
	return 1;
}

static int l3_receive(struct l3_state *s)
{
	const unsigned char *text;
	struct l3l2q_msg m;
	struct task_hdr h;
	__u64 i;
	int ret, ok;

	ret = l3l2q_l3_try_peek(s->l3, &m);
	if (ret == -EAGAIN)
		return 0;
	if (ret)
		die("L3 peek", ret, &s->l3->ep);
	/* Results arrive in task order: check id, length, text and hash. */
	ok = m.opcode == L3L2Q_OP_DATA && m.nbytes >= sizeof(h);
	if (ok) {
		memcpy(&h, m.data, sizeof(h));
		text = (const unsigned char *)m.data + sizeof(h);
		ok = h.id == s->received &&
		     h.len == task_len(h.id, s->o->max_bytes) &&
		     h.len == m.nbytes - sizeof(h) &&
		     h.hash == fnv1a(text, h.len);
		for (i = 0; ok && i < h.len; i++)
			ok = text[i] == upper(task_char(h.id, i));
	}
	s->bad += !ok;
	s->bytes_out += m.nbytes;
	ret = l3l2q_l3_release(s->l3, &m);
	if (ret)
		die("L3 release", ret, &s->l3->ep);
	s->received++;
	return 1;
}

static int run_l3(const struct opts *o)
{
	struct l3l2q_params p = {
		.depth = o->depth,
		.input_arena_bytes = (o->max_bytes + sizeof(struct task_hdr) + 63) / 64 * 64 * 4,
		.output_arena_bytes = (o->max_bytes + sizeof(struct task_hdr) + 63) / 64 * 64 * 4,
		.backend = o->backend,
	};
	struct l3_state s = { .o = o };
	struct l3l2q_queue *q;
	struct l3l2q_error err;
	__u64 t0, t1, idle = 0;
	int fd, status, ret;
	pid_t child;

	ret = l3l2q_create(&p, &q, &err);
	if (ret) {
		fprintf(stderr, "l3l2q-demo: create: %s (%s)\n",
			strerror(-ret), err.message);
		return 1;
	}
	fd = l3l2q_peer_fd(q);
	if (fd < 0)
		die("peer fd", fd, NULL);
	child = fork();
	if (child < 0)
		die("fork", -errno, NULL);
	if (child == 0) {
		l3l2q_destroy(q);	/* the child keeps only the L2 role */
		_exit(run_l2(fd));
	}
	close(fd);

	s.l3 = l3l2q_queue_l3(q);
	s.buf = malloc(sizeof(struct task_hdr) + o->max_bytes);
	if (!s.buf)
		die("malloc", -ENOMEM, NULL);
	printf("l3l2q-demo: %s queue, depth %llu, arenas %llu/%llu bytes; L2 is pid %d\n",
	       l3l2q_queue_backend(q) == L3L2Q_BACKEND_DEVICE ? "/dev/l3l2q" : "memfd",
	       (unsigned long long)p.depth,
	       (unsigned long long)p.input_arena_bytes,
	       (unsigned long long)p.output_arena_bytes, (int)child);
	t0 = l3l2q_now_ns();
	while (s.received < o->count) {
		if (l3_send(&s) | l3_receive(&s)) {
			idle = 0;
			continue;
		}
		if (++idle % 1024 == 0 &&
		    l3l2q_now_ns() - t0 > 600ull * 1000000000ull)
			die("no progress for 10 minutes", -ETIMEDOUT, &s.l3->ep);
	}
	ret = l3l2q_l3_request_stop(s.l3, l3l2q_deadline_in(10000000000ull));
	if (ret)
		die("L3 request_stop", ret, &s.l3->ep);
	t1 = l3l2q_now_ns();
	if (waitpid(child, &status, 0) != child)
		die("waitpid", -errno, NULL);
	free(s.buf);
	l3l2q_destroy(q);

	printf("tasks sent      %llu\n", (unsigned long long)s.sent);
	printf("results checked %llu (%llu wrong)\n",
	       (unsigned long long)s.received, (unsigned long long)s.bad);
	printf("bytes in/out    %llu / %llu\n", (unsigned long long)s.bytes_in,
	       (unsigned long long)s.bytes_out);
	printf("elapsed         %.3f s (%.0f tasks/s)\n", (t1 - t0) / 1e9,
	       s.sent / ((t1 - t0) / 1e9 + 1e-9));
	printf("L2 exit status  %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (s.bad || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("l3l2q-demo: FAILED\n");
		return 1;
	}
	printf("l3l2q-demo: OK\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "depth", required_argument, NULL, 'd' },
		{ "backend", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .count = 100000, .max_bytes = 1024, .depth = 64 };
	int c;

	while ((c = getopt_long(argc, argv, "n:b:d:B:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.count = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			o.max_bytes = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			o.depth = strtoull(optarg, NULL, 0);
			break;
		case 'B':
			if (!strcmp(optarg, "auto"))
				o.backend = L3L2Q_BACKEND_AUTO;
			else if (!strcmp(optarg, "memfd"))
				o.backend = L3L2Q_BACKEND_MEMFD;
			else if (!strcmp(optarg, "device"))
				o.backend = L3L2Q_BACKEND_DEVICE;
			else
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (!o.count || o.max_bytes > (1u << 30))
		goto usage;
	return run_l3(&o);
usage:
	fprintf(stderr, "usage: %s [--count N] [--max-bytes B] [--depth D] "
		"[--backend auto|memfd|device]\n", argv[0]);
	return 2;
}
