/* SPDX-License-Identifier: MIT */
/*
 * The user-space queue object and the interface every backing implements.
 * A backing allocates and maps the region and hands out the L2 role; the
 * protocol itself is always the core's.
 */
#ifndef L3L2Q_USER_QUEUE_H
#define L3L2Q_USER_QUEUE_H

#include <stddef.h>
#include <sys/types.h>

#include "libl3l2q.h"

struct l3l2q_queue;

struct l3l2q_backing {
	const char *name;
	enum l3l2q_backend id;
	/*
	 * Make a region for q->layout, map it (q->map, q->map_bytes), set
	 * q->fd and q->off, and leave it initialised with the L3 role live.
	 * -ENODEV if this backing is not available here.
	 */
	int (*create)(struct l3l2q_queue *q, const struct l3l2q_params *p,
		      struct l3l2q_error *err);
	/* A new fd (close-on-exec) that gives the L2 role. */
	int (*peer_fd)(struct l3l2q_queue *q);
	/*
	 * Is @fd an L2 fd of this backing?  If so map it and learn the
	 * geometry (q->map, q->map_bytes, q->fd = a dup, q->layout, q->off,
	 * q->start_pos); -ENOTTY if the fd is not this backing's.
	 */
	int (*attach)(struct l3l2q_queue *q, int fd, struct l3l2q_error *err);
	/* Take the L2 role after every argument was checked; -EBUSY if taken. */
	int (*claim)(struct l3l2q_queue *q, struct l3l2q_error *err);
	/* Unmap and close; @gone: this process held the role, tell the peer. */
	void (*destroy)(struct l3l2q_queue *q, int gone);
	/* env.sleep and env.kick (uapi/l3l2q.h, W4 and P4). */
	int (*sleep)(struct l3l2q_queue *q, __u32 counter, __s32 seen,
		     __u64 deadline_ns);
	void (*kick)(struct l3l2q_queue *q);
	/* The one fd to poll for this role's wake-ups. */
	int (*poll_fd)(const struct l3l2q_queue *q);
};

extern const struct l3l2q_backing l3l2q_memfd_backing;
extern const struct l3l2q_backing l3l2q_device_backing;

struct l3l2q_queue {
	const struct l3l2q_backing *backing;
	enum l3l2q_role role;
	int fd;
	void *map;
	size_t map_bytes;
	struct l3l2q_region_offsets off;
	struct l3l2q_layout layout;
	struct l3l2q_mem mem;
	__u64 start_pos;
	pid_t owner;			/* the process that created or attached */
	int efd[2];			/* memfd: eventfds, by role (L3, L2) */
	int peer_pidfd;			/* memfd: the peer process, once known */
	int bundle_sock;		/* memfd: during attach, the socket to consume */
	unsigned int spins;		/* for the relax hint */
	unsigned char peer_given;
	void *mp_mem;			/* l3l2q_params.threads: lib/user/threads.c */
	union {
		struct l3l2q_l3 l3;
		struct l3l2q_l2 l2;
	} ep;
};

/* Record a user-layer error (errno and a message naming the field). */
int l3l2q__user_error(struct l3l2q_error *err, int errnum, __u32 kind,
		      __u32 op, const char *msg);

/*
 * SCM_RIGHTS with up to 4 fds.  @flags go to recvmsg: MSG_DONTWAIT fails
 * with -EAGAIN when nothing is queued; MSG_PEEK installs the fds but
 * leaves the message queued.
 */
int l3l2q__send_fds(int sock, const int *fds, unsigned int n);
int l3l2q__recv_fds(int sock, int *fds, unsigned int n, int flags);

/*
 * Put the L3 endpoint in multi-thread mode for @threads (L3L2Q_MP_*): the
 * shared state, futex parking.  0 or -errno with @err filled.
 */
int l3l2q__mp_setup(struct l3l2q_queue *q, __u32 threads,
		    struct l3l2q_error *err);
void l3l2q__mp_free(struct l3l2q_queue *q);

/* Map q->fd's whole region of @bytes shared, read-write. */
int l3l2q__map(struct l3l2q_queue *q, size_t bytes, struct l3l2q_error *err);
/* Unmap and close whatever q holds. */
void l3l2q__unmap(struct l3l2q_queue *q);

#endif /* L3L2Q_USER_QUEUE_H */
