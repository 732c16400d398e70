/* SPDX-License-Identifier: MIT */
/*
 * The user-space signals object and its two backings (memfd, device).
 * The protocol is the core's (lib/core/signals*.c); a backing maps the
 * region, hands out the L2 role, and gives the core its sleep and kick.
 */
#ifndef L3L2Q_USER_SIGNALS_H
#define L3L2Q_USER_SIGNALS_H

#include <sys/types.h>

#include "libl3l2q_signals.h"

struct l3l2q_signals {
	struct l3l2q_sig sig;		/* the core's handle */
	struct l3l2q_sig_layout layout;	/* private copy */
	enum l3l2q_backend backend;
	__u32 role;			/* L3L2Q_ROLE_L3 or _L2 */
	void *map;
	size_t map_bytes;
	int fd;				/* memfd, or the role fd */
	int efd[2];			/* memfd: per role; device: [0] ours */
	int peer_pidfd;			/* memfd: the peer's process, or -1 */
	int back_sock;			/* memfd L3: the L2 sends its pidfd */
	int wset;			/* memfd: io_uring wait set, or -1 */
	int wset_tfd;			/* memfd: its deadline timer, or -1 */
	int wset_pidfd;			/* memfd: peer_pidfd is in the set */
	pid_t owner;			/* the process that holds the role */
};

/* Shared by both backings: map, bind the core, tidy up. */
int l3l2q__sig_map(struct l3l2q_signals *sg, struct l3l2q_error *err);
int l3l2q__sig_bind(struct l3l2q_signals *sg,
		    int (*sleep)(void *, const struct l3l2q_sig_waitv *,
				 __u32, __u64),
		    void (*kick)(void *, __u32, __u32),
		    struct l3l2q_error *err);
void l3l2q__sig_close_fd(int *fd);

/* lib/user/signals_memfd.c */
int l3l2q__sig_memfd_create(struct l3l2q_signals *sg,
			    struct l3l2q_error *err);
int l3l2q__sig_memfd_peer_fd(struct l3l2q_signals *sg);
int l3l2q__sig_memfd_attach(struct l3l2q_signals *sg, int sock,
			    struct l3l2q_error *err);
void l3l2q__sig_memfd_destroy(struct l3l2q_signals *sg);
int l3l2q__sig_memfd_wait_set(struct l3l2q_signals *sg, __u64 deadline_ns);
void l3l2q__sig_memfd_wait_reap(struct l3l2q_signals *sg);

/* lib/user/signals_device.c */
int l3l2q__sig_device_create(struct l3l2q_signals *sg,
			     const struct l3l2q_sig_params *p,
			     struct l3l2q_error *err);
int l3l2q__sig_device_peer_fd(struct l3l2q_signals *sg);
int l3l2q__sig_device_attach(struct l3l2q_signals *sg, int fd,
			     struct l3l2q_error *err);

#endif /* L3L2Q_USER_SIGNALS_H */
