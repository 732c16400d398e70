/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l3l2q_internal.h - the driver's private objects.
 *
 * File descriptors are the capabilities (DESIGN §3):
 *
 *   /dev/l3l2q fd --CREATE--> queue <--- L3 file  (ends[L3L2Q_END_L3])
 *                                   <--- L2 file  (ends[L3L2Q_END_L2]),
 *                                        made once, by PEER on the L3 file
 *
 * There is exactly one struct file per role; dup(), fork() and SCM_RIGHTS
 * share it.  A role file's ->release therefore runs when the role's last
 * reference goes away - close, exit or kill -9, and the last munmap, since a
 * VMA holds its file - and that is the role's death.  Each role file holds
 * one reference on the queue, so the region outlives a dead peer until the
 * survivor is gone too: nothing already published is lost.
 *
 * The region is shared with user space and never trusted: the kernel keeps
 * its own copy of the geometry and of the role states, writes the shared
 * words, and reads them only to report them (debugfs).
 */
#ifndef L3L2Q_INTERNAL_H
#define L3L2Q_INTERNAL_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>

#include "l3l2q.h"

struct dentry;
struct eventfd_ctx;
struct l3l2q_loopback;
struct seq_file;
struct file;
struct io_uring_cmd;
struct vm_area_struct;

/* The two roles; the values are l3l2q_info_args.role. */
enum l3l2q_end_role {
	L3L2Q_END_L3 = 0,
	L3L2Q_END_L2 = 1,
	L3L2Q_NR_ENDS = 2,
};

/* Region bytes one uid holds; see l3l2q_user_charge(). */
struct l3l2q_user {
	struct list_head node;		/* on l3l2q_users, under its lock */
	kuid_t uid;
	u64 bytes;			/* protected by l3l2q_users_lock */
	unsigned int nr_queues;		/* protected by l3l2q_users_lock */
};

/*
 * What a role file's private_data points at, and everything that wakes
 * that role (l3l2q_wait.c, l3l2q_uring.c).  A KICK on the other role's
 * file, or the other role's death, wakes all of it:
 *
 *   wq       blocked WAIT callers and poll/epoll/POLL_ADD waiters
 *   evfd     the eventfd registered with SET_EVENTFD, or NULL
 *   ucmds    queued io_uring WAIT commands (struct l3l2q_ucmd in the
 *            command's pdu); whoever unlinks one completes it
 *   timer    fires at the earliest deadline among ucmds
 *
 * lock protects evfd, ucmds and the arming of timer.  It is taken from the
 * timer (hard interrupt), hence always with interrupts disabled; eventfd
 * signals and io_uring completions are issued under it, which is what makes
 * replacing the eventfd and unlinking a command safe against them.
 */
struct l3l2q_end {
	struct l3l2q_queue *q;
	enum l3l2q_end_role role;

	wait_queue_head_t wq;
	spinlock_t lock;
	struct eventfd_ctx *evfd;	/* protected by lock */
	struct list_head ucmds;		/* protected by lock */
	struct hrtimer timer;
};

struct l3l2q_queue {
	struct kref ref;		/* one per role file */
	u64 id;				/* debugfs name, never reused */

	/* Immutable after creation: the kernel's private copy. */
	struct l3l2q_layout layout;
	struct l3l2q_region_offsets off;
	u64 start_pos;
	u32 flags;
	void *region;			/* kernel alias, off.total_bytes */
	unsigned long nr_pages;
	struct l3l2q_user *user;	/* charged for off.total_bytes */
	struct l3l2q_end ends[L3L2Q_NR_ENDS];

	struct mutex lock;		/* serialises PEER and role deaths */
	/*
	 * L3L2Q_ROLE_*, written under lock with WRITE_ONCE; the wait paths
	 * read it locklessly (READ_ONCE) to see whether the peer is dead.
	 */
	u32 state[L3L2Q_NR_ENDS];

	/* Event counts, for debugfs. */
	atomic64_t nr_peers;
	atomic64_t nr_deaths;
	atomic64_t nr_wakes;		/* role deaths that woke both roles */
	atomic64_t nr_kicks;		/* KICK ioctls, either role */
	atomic64_t nr_uring_queued;	/* io_uring WAITs that went pending */
	atomic64_t nr_uring_pending;	/* io_uring WAITs pending now */

	/* L3L2Q_CREATE_LOOPBACK: the in-kernel L2 peer, else NULL. */
	struct l3l2q_loopback *loopback;

	struct dentry *dbg;
};

/* Limits (module parameters, in l3l2q_main.c); read with READ_ONCE(). */
extern unsigned long l3l2q_max_queue_bytes;
extern unsigned long l3l2q_max_user_bytes;

/* l3l2q_queue.c: queue lifetime, role files, role death */
struct l3l2q_queue *l3l2q_queue_create(const struct l3l2q_create_args *args);
void l3l2q_queue_put(struct l3l2q_queue *q);
struct file *l3l2q_queue_getfile(struct l3l2q_queue *q,
				 enum l3l2q_end_role role);
void l3l2q_role_died(struct l3l2q_queue *q, enum l3l2q_end_role role,
		     bool abort);

static inline struct l3l2q_end *l3l2q_peer_end(struct l3l2q_end *end)
{
	return &end->q->ends[L3L2Q_NR_ENDS - 1 - end->role];
}

/* l3l2q_wait.c: WAIT, KICK, SET_EVENTFD, poll, wake-ups on death */
void l3l2q_end_init(struct l3l2q_end *end);
void l3l2q_end_destroy(struct l3l2q_end *end);
void l3l2q_end_released(struct l3l2q_end *end);
void l3l2q_wake_on_death(struct l3l2q_queue *q, enum l3l2q_end_role dead);
int l3l2q_wait_validate(struct l3l2q_end *end,
			const struct l3l2q_wait_args *args);
int l3l2q_wait_cond(struct l3l2q_end *end, unsigned int counter, s32 seen);
long l3l2q_wait_ioctl(struct l3l2q_end *end,
		      const struct l3l2q_wait_args __user *uarg);
void l3l2q_kick(struct l3l2q_end *end);
long l3l2q_kick_ioctl(struct l3l2q_end *end);
long l3l2q_set_eventfd_ioctl(struct l3l2q_end *end,
			     const struct l3l2q_eventfd_args __user *uarg);
__poll_t l3l2q_queue_poll(struct file *file, struct poll_table_struct *pt);

/* l3l2q_uring.c: the io_uring WAIT command; lists under end->lock */
void l3l2q_uring_init(struct l3l2q_end *end);
void l3l2q_uring_destroy(struct l3l2q_end *end);
void l3l2q_uring_wake_locked(struct l3l2q_end *end, bool force);
int l3l2q_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);

/* l3l2q_region.c: region memory, limits, mmap */
int l3l2q_region_alloc(struct l3l2q_queue *q);
void l3l2q_region_free(struct l3l2q_queue *q);
void l3l2q_region_format(struct l3l2q_queue *q);
u32 *l3l2q_state_word(struct l3l2q_queue *q, enum l3l2q_end_role role);
s32 *l3l2q_abort_word(struct l3l2q_queue *q, enum l3l2q_end_role role);
s32 *l3l2q_counter_word(struct l3l2q_queue *q, unsigned int offset);
u32 *l3l2q_ctrl_word(struct l3l2q_queue *q, unsigned int offset);
int l3l2q_region_mmap(struct l3l2q_queue *q, enum l3l2q_end_role role,
		      struct vm_area_struct *vma);

/* l3l2q_loopback.c: the in-kernel L2 peer of a loopback queue */
int l3l2q_loopback_start(struct l3l2q_queue *q);
void l3l2q_loopback_stop(struct l3l2q_queue *q);
void l3l2q_loopback_free(struct l3l2q_queue *q);
void l3l2q_loopback_show(struct seq_file *m, struct l3l2q_queue *q);

/* l3l2q_debugfs.c */
void l3l2q_debugfs_init(void);
void l3l2q_debugfs_exit(void);
void l3l2q_debugfs_add(struct l3l2q_queue *q);
void l3l2q_debugfs_remove(struct l3l2q_queue *q);

#endif /* L3L2Q_INTERNAL_H */
