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
	 * Allocate a zeroed region of q->off.total_bytes, map it at q->map
	 * and set q->fd.  The caller initialises the region afterwards.
	 */
	int (*create)(struct l3l2q_queue *q, const struct l3l2q_params *p,
		      struct l3l2q_error *err);
	/* A new fd (close-on-exec) that gives the L2 role. */
	int (*peer_fd)(struct l3l2q_queue *q);
	/*
	 * Does @fd belong to this backing?  If so map it (q->map,
	 * q->map_bytes, q->fd = a dup) and return 0; -ENOTTY if not ours.
	 */
	int (*attach)(struct l3l2q_queue *q, int fd, struct l3l2q_error *err);
	/* This role is gone: tell the peer, unmap, close. */
	void (*destroy)(struct l3l2q_queue *q);
};

extern const struct l3l2q_backing l3l2q_memfd_backing;

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
	unsigned int spins;		/* for the relax hint */
	unsigned char peer_given;
	union {
		struct l3l2q_l3 l3;
		struct l3l2q_l2 l2;
	} ep;
};

/* Record a user-layer error (errno and a message naming the field). */
int l3l2q__user_error(struct l3l2q_error *err, int errnum, __u32 kind,
		      __u32 op, const char *msg);

#endif /* L3L2Q_USER_QUEUE_H */
