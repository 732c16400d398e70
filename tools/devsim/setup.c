// SPDX-License-Identifier: MIT
/*
 * setup.c - getting the L2 fd (inherited, or received over a unix socket),
 * attaching, starting the cores; and the teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devsim.h"

static int connect_socket(const char *path)
{
	static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned int i;
	int s, ret = -EINVAL;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		devsim_err_msg("--socket: path longer than %zu bytes",
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
	devsim_err_msg("--socket %s: connect: %s", path, strerror(-ret));
	return ret;
}

/* The L2 fd, from --fd or over --socket; -1 after printing why. */
static int get_fd(const struct opts *o)
{
	int s, fd;

	if (!o->socket_path) {
		if (fcntl(o->fd, F_GETFD) < 0) {
			devsim_err_msg("--fd %d: not an open file descriptor (%s)",
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
		devsim_err_msg("--socket %s: receiving the L2 fd: %s",
			       o->socket_path, strerror(-fd));
		return -1;
	}
	return fd;
}

int devsim_setup(struct devsim *d, const struct opts *o)
{
	struct l3l2q_attach_params ap = { .max_inflight = o->inflight };
	struct l3l2q_error err;
	int fd, ret;

	memset(d, 0, sizeof(*d));
	d->inflight = o->inflight;
	d->workers = o->workers;
	devsim_serve_prepare(d);
	fd = get_fd(o);
	if (fd < 0)
		return 1;
	ret = l3l2q_attach(fd, &ap, &d->q, &err);
	/* The queue keeps what it needs; the L2 fd is ours to close. */
	close(fd);
	if (ret) {
		devsim_err_msg("attach: %s (%s)", strerror(-ret), err.message);
		if (ret == -EINVAL && strstr(err.message, "max_inflight"))
			devsim_err_msg("--inflight %u: must be at most the queue depth",
				       o->inflight);
		return ret == -ECONNRESET ? EXIT_PEER_GONE : 1;
	}
	d->l2 = l3l2q_queue_l2(d->q);
	/*
	 * The driver's WAIT ends when the input tail moves past what this
	 * endpoint saw; a memfd queue's kicks arrive on the input bit's
	 * wait fd, which the library drains when it arms.
	 */
	if (l3l2q_queue_backend(d->q) == L3L2Q_BACKEND_MEMFD) {
		d->input_wake = INPUT_WAKE_EVENTFD;
		d->wake_fd = l3l2q_queue_wait_fd(d->q, L3L2Q_WAKE_INPUT_AVAIL);
	} else {
		d->input_wake = INPUT_WAKE_WAIT;
	}
	ret = devsim_serve_start(d, l3l2q_queue_layout(d->q)->output_arena_bytes);
	if (ret)
		return ret;
	devsim_msg("attached (%s), depth %llu, window %u, %u cores",
		   l3l2q_queue_backend(d->q) == L3L2Q_BACKEND_DEVICE ?
		   "/dev/l3l2q" : "memfd",
		   (unsigned long long)l3l2q_queue_layout(d->q)->depth,
		   o->inflight, o->workers);
	return 0;
}

void devsim_teardown(struct devsim *d)
{
	devsim_serve_stop(d);
	/* A live L3 sees this role die: that is the end of the run for it. */
	l3l2q_destroy(d->q);
}
