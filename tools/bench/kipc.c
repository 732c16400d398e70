// SPDX-License-Identifier: MIT
/*
 * Kernel IPC baselines.  Streaming: a pipe (sized to 1 MiB, the default
 * pipe-max-size) and an AF_UNIX SOCK_SEQPACKET pair; each message is one
 * write/send and the reader takes exactly one message's bytes.  Neither can
 * carry an empty message distinguishable from end of stream, so a 0-byte
 * message is sent as 1 byte.  Round trips: two eventfds (write to wake,
 * blocking read to wait) and a futex word (FUTEX_WAKE / FUTEX_WAIT, no
 * spinning) -- the pure sleep/wake paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

struct karg {
	int fd[2];		/* [0] read/consumer end, [1] write/producer end */
	int seqpacket;
	struct stream_ctl ctl;
	unsigned int bytes;
	int err;
};

static unsigned int wire_bytes(unsigned int n)
{
	return n ? n : 1;
}

static void *k_producer(void *p)
{
	struct karg *a = p;
	unsigned int n = wire_bytes(a->bytes);
	unsigned char *src = calloc(1, n);
	uint64_t i = 0;
	ssize_t w;
	size_t off;

	while (src && !stream_stopped(&a->ctl)) {
		stamp_put(src, a->bytes, i);
		if (a->seqpacket) {
			w = send(a->fd[1], src, n, 0);
			if (w != (ssize_t)n) {
				a->err = w < 0 ? -errno : -EIO;
				break;
			}
		} else {
			for (off = 0; off < n; off += (size_t)w) {
				w = write(a->fd[1], src + off, n - off);
				if (w <= 0) {
					a->err = w < 0 ? -errno : -EIO;
					goto out;
				}
			}
		}
		i++;
	}
out:
	free(src);
	/* End of stream: the reader's read/recv returns 0. */
	if (a->seqpacket)
		shutdown(a->fd[1], SHUT_WR);
	else
		close(a->fd[1]);
	a->fd[1] = -1;
	return NULL;
}

static void *k_consumer(void *p)
{
	struct karg *a = p;
	unsigned int n = wire_bytes(a->bytes);
	unsigned char *dst = calloc(1, n);
	uint64_t i = 0;
	ssize_t r;
	size_t off;

	if (!dst) {
		a->ctl.failed = 1;
		atomic_store(&a->ctl.stop, 1);
		return NULL;
	}
	for (;;) {
		if (a->seqpacket) {
			r = recv(a->fd[0], dst, n, 0);
			if (r == 0)
				break;
			if (r != (ssize_t)n) {
				a->ctl.failed = 1;
				atomic_store(&a->ctl.stop, 1);
				break;
			}
		} else {
			for (off = 0; off < n; off += (size_t)r) {
				r = read(a->fd[0], dst + off, n - off);
				if (r == 0 && off == 0)
					goto out;
				if (r <= 0) {
					a->ctl.failed = 1;
					atomic_store(&a->ctl.stop, 1);
					goto out;
				}
			}
		}
		if (!stamp_ok(dst, a->bytes, i))
			a->ctl.failed = 1;
		i++;
		if (!(i % STREAM_TICK))
			stream_tick(&a->ctl, i);
	}
out:
	free(dst);
	return NULL;
}

static int k_stream(const struct bench_case *c, const struct bench_opts *o,
		    struct bench_sample *s, int seqpacket)
{
	struct karg *a = calloc(1, sizeof(*a));
	int ret, buf = 1 << 20;

	if (!a)
		return -ENOMEM;
	a->seqpacket = seqpacket;
	a->bytes = c->bytes;
	if (seqpacket) {
		ret = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				 a->fd);
		if (!ret) {
			/* Best effort; capped by net.core.[wr]mem_max. */
			setsockopt(a->fd[1], SOL_SOCKET, SO_SNDBUF, &buf,
				   sizeof(buf));
			setsockopt(a->fd[0], SOL_SOCKET, SO_RCVBUF, &buf,
				   sizeof(buf));
		}
	} else {
		ret = pipe2(a->fd, O_CLOEXEC);
		if (!ret)
			fcntl(a->fd[1], F_SETPIPE_SZ, buf);	/* best effort */
	}
	if (ret) {
		ret = -errno;
		free(a);
		return ret;
	}
	stream_init(&a->ctl, o);
	ret = bench_pair(o, k_producer, k_consumer, a);
	if (!ret)
		ret = a->err;
	if (!ret)
		ret = stream_result(&a->ctl, s);
	close(a->fd[0]);
	if (a->fd[1] >= 0)
		close(a->fd[1]);
	free(a);
	return ret;
}

int bench_pipe_stream(const struct bench_case *c, const struct bench_opts *o,
		      struct bench_sample *s)
{
	return k_stream(c, o, s, 0);
}

int bench_seqpacket_stream(const struct bench_case *c,
			   const struct bench_opts *o, struct bench_sample *s)
{
	return k_stream(c, o, s, 1);
}

/* ---- round trips through sleep/wake ---- */

struct warg {
	struct rtt_ctl r;
	int efd[2];			/* [0] client->server, [1] back */
	_Alignas(64) _Atomic uint32_t word;	/* futex: 0 idle, 1 ping, 2 pong */
	int futex;
	int err;
};

#define FUTEX_QUIT	3u

static long futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)w, op | FUTEX_PRIVATE_FLAG, val,
		       NULL, NULL, 0);
}

/* Wait until *w is @want (or FUTEX_QUIT), sleeping in the kernel. */
static uint32_t futex_wait_for(_Atomic uint32_t *w, uint32_t want)
{
	uint32_t v;

	while ((v = atomic_load_explicit(w, memory_order_acquire)) != want &&
	       v != FUTEX_QUIT)
		futex(w, FUTEX_WAIT, v);
	return v;
}

static void futex_set(_Atomic uint32_t *w, uint32_t v)
{
	atomic_store_explicit(w, v, memory_order_release);
	futex(w, FUTEX_WAKE, 1);
}

static void *w_client(void *p)
{
	struct warg *a = p;
	struct rtt_clock k;
	uint64_t one = 1, v;

	rtt_clock_start(&a->r, &k);
	do {
		if (a->futex) {
			futex_set(&a->word, 1);
			futex_wait_for(&a->word, 2);
		} else if (write(a->efd[0], &one, 8) != 8 ||
			   read(a->efd[1], &v, 8) != 8) {
			a->err = -errno;
			break;
		}
	} while (rtt_clock_tick(&a->r, &k));
	if (a->futex) {
		futex_set(&a->word, FUTEX_QUIT);
	} else {
		v = 2;		/* a value of 2 tells the server to quit */
		if (write(a->efd[0], &v, 8) != 8 && !a->err)
			a->err = -errno;
	}
	return NULL;
}

static void *w_server(void *p)
{
	struct warg *a = p;
	uint64_t one = 1, v;

	for (;;) {
		if (a->futex) {
			if (futex_wait_for(&a->word, 1) == FUTEX_QUIT)
				break;
			futex_set(&a->word, 2);
			continue;
		}
		if (read(a->efd[0], &v, 8) != 8)
			break;
		if (v != 1)
			break;
		if (write(a->efd[1], &one, 8) != 8)
			break;
	}
	return NULL;
}

static int w_rtt(const struct bench_case *c, const struct bench_opts *o,
		 struct bench_sample *s, int use_futex)
{
	struct warg *a = aligned_alloc(64, sizeof(*a));
	int ret;

	(void)c;
	if (!a)
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	a->futex = use_futex;
	a->efd[0] = a->efd[1] = -1;
	if (!use_futex) {
		a->efd[0] = eventfd(0, EFD_CLOEXEC);
		a->efd[1] = eventfd(0, EFD_CLOEXEC);
		if (a->efd[0] < 0 || a->efd[1] < 0) {
			ret = -errno;
			goto out;
		}
	}
	ret = rtt_init(&a->r, o);
	if (ret)
		goto out;
	ret = bench_pair(o, w_client, w_server, a);
	if (!ret)
		ret = a->err;
	if (!ret)
		ret = rtt_result(&a->r, s);
	rtt_free(&a->r);
out:
	if (a->efd[0] >= 0)
		close(a->efd[0]);
	if (a->efd[1] >= 0)
		close(a->efd[1]);
	free(a);
	return ret;
}

int bench_eventfd_rtt(const struct bench_case *c, const struct bench_opts *o,
		      struct bench_sample *s)
{
	return w_rtt(c, o, s, 0);
}

int bench_futex_rtt(const struct bench_case *c, const struct bench_opts *o,
		    struct bench_sample *s)
{
	return w_rtt(c, o, s, 1);
}
