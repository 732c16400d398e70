// SPDX-License-Identifier: MIT
/*
 * server.c - the ivshmem server, written from ivshmem-spec.txt ("The
 * ivshmem server", "The ivshmem Client-Server Protocol").
 *
 * It listens on a unix stream socket and owns the shared memory, a sealed
 * memfd (nobody can shrink it under a mapping).  For each client that
 * connects it picks an ID, makes one eventfd per vector (writing one
 * interrupts that client on that vector), and sends, in order: the
 * protocol version 0; the client's ID; -1 with the memory fd; the ID of
 * every other client repeated once per vector, each with that client's
 * eventfd for the vector (connect notifications); its own ID repeated
 * once per vector with its own eventfds (interrupt setup).  Every other
 * client then gets a connect notification for the newcomer.  When a
 * client disconnects, the others get its ID without an fd.
 *
 * IDs count up from 0 and skip IDs in use, wrapping at 65536, so an ID
 * is reused as late as possible: a doorbell meant for a client that just
 * left does not reach the next one.  Clients never send anything; what
 * they send is read and dropped, and end of stream is a disconnect.
 * Every client gets the same number of vectors (--vectors).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "device.h"

static void close_client(struct ivs_client *c, unsigned int vectors)
{
	unsigned int v;

	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	for (v = 0; v < vectors; v++) {
		if (c->efd[v] >= 0)
			close(c->efd[v]);
		c->efd[v] = -1;
	}
}

int ivs_server_open(struct ivs_server *s, const char *path, __u64 bytes,
		    unsigned int vectors)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->listen_fd = -1;
	s->shm_fd = -1;
	s->shm_bytes = bytes;
	s->vectors = vectors;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		devsim_err_msg("--ivshmem-server: path longer than %zu bytes",
			       sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	s->shm_fd = memfd_create("l3l2q-ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->shm_fd < 0 || ftruncate(s->shm_fd, (off_t)bytes) ||
	    fcntl(s->shm_fd, F_ADD_SEALS, seals)) {
		devsim_err_msg("shared memory of %llu bytes: %s",
			       (unsigned long long)bytes, strerror(errno));
		return -errno;
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	/* A socket file left by an earlier run would make bind fail. */
	unlink(path);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(s->listen_fd, 16)) {
		devsim_err_msg("--ivshmem-server %s: %s", path, strerror(errno));
		return -errno;
	}
	devsim_msg("ivshmem server on %s: %llu bytes, %u vectors", path,
		   (unsigned long long)bytes, vectors);
	return 0;
}

static int find_client(const struct ivs_server *s, int id)
{
	unsigned int i;

	for (i = 0; i < s->nclients; i++)
		if (s->clients[i].id == id)
			return (int)i;
	return -1;
}

/* The next free ID after the last one given; -1 if all 65536 are used. */
static int pick_id(struct ivs_server *s)
{
	unsigned int n, id;

	for (n = 0; n <= IVS_MAX_ID; n++) {
		id = (s->next_id + n) & IVS_MAX_ID;
		if (find_client(s, (int)id) < 0) {
			s->next_id = (id + 1) & IVS_MAX_ID;
			return (int)id;
		}
	}
	return -1;
}

/* @to learns of @c: c's ID once per vector, each with c's eventfd. */
static int notify_connect(int to, const struct ivs_client *c,
			  unsigned int vectors)
{
	unsigned int v;
	int ret;

	for (v = 0; v < vectors; v++) {
		ret = ivs_send(to, c->id, c->efd[v]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Remove client @i and tell the others.  A client that cannot be told is
 * gone as well: it goes on the same worklist, so everyone left hears of
 * every departure.
 */
static void drop_client(struct ivs_server *s, unsigned int i)
{
	int gone[DEV_MAX_PEERS];
	unsigned int ngone = 0, j;
	int id;

	gone[ngone++] = s->clients[i].id;
	close_client(&s->clients[i], s->vectors);
	s->clients[i] = s->clients[--s->nclients];
	while (ngone) {
		id = gone[--ngone];
		devsim_msg("ivshmem client %d disconnected", id);
		for (j = 0; j < s->nclients; j++) {
			if (!ivs_send(s->clients[j].sock, id, -1))
				continue;
			gone[ngone++] = s->clients[j].id;
			close_client(&s->clients[j], s->vectors);
			s->clients[j--] = s->clients[--s->nclients];
		}
	}
}

static int accept_client(struct ivs_server *s)
{
	int failed[DEV_MAX_PEERS];
	unsigned int i, v, nfailed = 0;
	struct ivs_client *c;
	int sock, id, ret;

	sock = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		return errno == EINTR || errno == EAGAIN ||
		       errno == ECONNABORTED ? 0 : -errno;
	id = pick_id(s);
	if (s->nclients == DEV_MAX_PEERS || id < 0) {
		devsim_err_msg("ivshmem server: %u clients, refusing one more",
			       s->nclients);
		close(sock);
		return 0;
	}
	c = &s->clients[s->nclients];
	memset(c, 0, sizeof(*c));
	c->sock = sock;
	c->id = id;
	for (v = 0; v < DEV_MAX_VECTORS; v++)
		c->efd[v] = -1;
	for (v = 0; v < s->vectors; v++) {
		c->efd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efd[v] < 0) {
			ret = -errno;
			close_client(c, s->vectors);
			devsim_err_msg("ivshmem server: eventfd: %s",
				       strerror(-ret));
			return 0;
		}
	}
	/* Steps 1-5 of the protocol, to the newcomer. */
	ret = ivs_send(sock, IVS_VERSION, -1);
	if (!ret)
		ret = ivs_send(sock, id, -1);
	if (!ret)
		ret = ivs_send(sock, -1, s->shm_fd);
	for (i = 0; !ret && i < s->nclients; i++)
		ret = notify_connect(sock, &s->clients[i], s->vectors);
	if (!ret)
		ret = notify_connect(sock, c, s->vectors);
	if (ret) {
		devsim_err_msg("ivshmem server: set-up of client %d: %s", id,
			       strerror(-ret));
		close_client(c, s->vectors);
		return 0;
	}
	s->nclients++;
	devsim_msg("ivshmem client %d connected", id);
	/* Step 6 for everyone else; one that cannot be told is dropped. */
	for (i = 0; i + 1 < s->nclients; i++)
		failed[nfailed++] = notify_connect(s->clients[i].sock, c,
						   s->vectors) ?
				    s->clients[i].id : -1;
	for (i = 0; i < nfailed; i++) {
		if (failed[i] >= 0 && find_client(s, failed[i]) >= 0)
			drop_client(s, (unsigned int)find_client(s, failed[i]));
	}
	return 0;
}

/* Something arrived from client @i: data is dropped, EOF is a disconnect. */
static void client_event(struct ivs_server *s, unsigned int i, short revents)
{
	char buf[64];
	ssize_t n;

	if (revents & POLLIN) {
		n = recv(s->clients[i].sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
	}
	drop_client(s, i);
}

int ivs_server_run(struct ivs_server *s, int stop_fd)
{
	struct pollfd pfd[DEV_MAX_PEERS + 2];
	int ids[DEV_MAX_PEERS];
	unsigned int i, n;
	int j, ret;

	for (;;) {
		pfd[0] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		n = s->nclients;
		for (i = 0; i < n; i++) {
			pfd[2 + i] = (struct pollfd){ .fd = s->clients[i].sock,
						      .events = POLLIN };
			ids[i] = s->clients[i].id;
		}
		ret = poll(pfd, 2 + n, -1);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			devsim_err_msg("ivshmem server: poll: %s", strerror(errno));
			return 1;
		}
		if (pfd[0].revents)
			return 0;
		/* Clients by ID: a drop reorders the table. */
		for (i = 0; i < n; i++) {
			if (!pfd[2 + i].revents)
				continue;
			j = find_client(s, ids[i]);
			if (j >= 0)
				client_event(s, (unsigned int)j,
					     pfd[2 + i].revents);
		}
		if (pfd[1].revents) {
			ret = accept_client(s);
			if (ret) {
				devsim_err_msg("ivshmem server: accept: %s",
					       strerror(-ret));
				return 1;
			}
		}
	}
}

void ivs_server_close(struct ivs_server *s)
{
	unsigned int i;

	for (i = 0; i < s->nclients; i++)
		close_client(&s->clients[i], s->vectors);
	s->nclients = 0;
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	s->listen_fd = -1;
	if (s->shm_fd >= 0)
		close(s->shm_fd);
	s->shm_fd = -1;
}
