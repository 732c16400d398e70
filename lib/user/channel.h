/* SPDX-License-Identifier: MIT */
/*
 * The user-space channel object and its two backings: /dev/l3l2q
 * (channel.c) and a memfd (channel_memfd.c).  The protocol is always
 * lib/core's.
 */
#ifndef L3L2Q_USER_CHANNEL_H
#define L3L2Q_USER_CHANNEL_H

#include <pthread.h>
#include <stddef.h>

#include "libl3l2q_channel.h"

struct l3l2q_channel;

struct l3l2q_chan_backing {
	/*
	 * Make, map and format the region of c->layout, with the L3 role
	 * live; -ENODEV if this backing is not available here.
	 */
	int (*create)(struct l3l2q_channel *c, struct l3l2q_error *err);
	int (*peer_fd)(struct l3l2q_channel *c);
	/*
	 * Map the region of the L2 fd @fd, learn its geometry (c->layout,
	 * c->off, c->start_pos) and take the L2 role; -ENOTTY if the fd is
	 * not this backing's.
	 */
	int (*attach)(struct l3l2q_channel *c, int fd, struct l3l2q_error *err);
	/* Give the role up (if it was taken), unmap and close. */
	void (*destroy)(struct l3l2q_channel *c);
	/* env.sleep and env.kick (uapi/l3l2q_channel.h, W4 and P4). */
	int (*sleep)(struct l3l2q_channel *c, __u32 offset, __s32 seen,
		     __u64 deadline_ns);
	void (*kick)(struct l3l2q_channel *c);
	int (*wait_fd)(const struct l3l2q_channel *c);
};

extern const struct l3l2q_chan_backing l3l2q__chan_device;
extern const struct l3l2q_chan_backing l3l2q__chan_memfd;

struct l3l2q_channel {
	const struct l3l2q_chan_backing *backing;
	enum l3l2q_role role;
	int fd;				/* role fd or memfd */
	void *map;
	size_t map_bytes;
	struct l3l2q_region_offsets off;
	struct l3l2q_chan_layout layout;
	__u64 start_pos;
	int peer_given;
	int claimed;			/* this process holds the role */
	/* memfd only */
	int kick_fd[2];			/* eventfds, by the role they wake */
	int peer_pidfd;			/* the peer's process, once known */
	int back_sock;			/* L3: where the L2's pidfd comes */
	int stop_fd;			/* ends the watcher */
	int watching;			/* the watcher thread runs */
	pthread_t watcher;
	struct l3l2q_chan ch;
};

/* A shared 32-bit word of the mapping at @offset from its start. */
static inline __u32 *l3l2q__chan_word(const struct l3l2q_channel *c,
				      __u32 offset)
{
	return (__u32 *)((char *)c->map + offset);
}

/* Map c->fd's @bytes shared, read-write; 0 or -errno. */
int l3l2q__chan_map(struct l3l2q_channel *c, size_t bytes);
void l3l2q__chan_unmap(struct l3l2q_channel *c);

#endif /* L3L2Q_USER_CHANNEL_H */
