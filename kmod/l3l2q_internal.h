/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l3l2q_internal.h - the driver's private objects and the interfaces
 * between its parts.
 *
 * File descriptors are the capabilities (DESIGN §3):
 *
 *   device node fd --CREATE--> region <--- L3 file  (ends[L3L2Q_END_L3])
 *   (/dev/l3l2q, or a                 <--- L2 file  (ends[L3L2Q_END_L2]),
 *    device's own node)                    made once, by PEER on the L3 file
 *
 * One object model (DESIGN §8): every region has
 *
 *   a kind     its layout and protocol (struct l3l2q_kind_ops): the L3Q2
 *              queue (l3l2q_queue.c), the HDCH channel (l3l2q_channel.c);
 *   a backend  where its memory comes from and how its L2 role is told
 *              (struct l3l2q_backend_ops): host pages, where the L2 role is
 *              a process (l3l2q_host.c), or a device's own memory,
 *              doorbell and interrupts;
 *   a peer     optionally, a software L2 living in the kernel
 *              (struct l3l2q_peer_ops): the loopback (l3l2q_loopback.c).
 *
 * The core - lifetime and role files (l3l2q_region.c), waiting
 * (l3l2q_wait.c, l3l2q_uring.c), debugfs - knows none of them beyond these
 * interfaces.
 *
 * There is exactly one struct file per role; dup(), fork() and SCM_RIGHTS
 * share it.  A role file's ->release therefore runs when the role's last
 * reference goes away - close, exit or kill -9, and the last munmap, since a
 * VMA holds its file - and that is the role's death.  Each role file holds
 * one reference on the region, so the region outlives a dead peer until the
 * survivor is gone too: nothing already published is lost.
 *
 * The region is shared with user space (and devices) and never trusted: the
 * kernel keeps its own copy of the geometry and of the role states, writes
 * the shared words, and reads the others once per decision, only to
 * compare them or report them.
 */
#ifndef L3L2Q_INTERNAL_H
#define L3L2Q_INTERNAL_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/timerqueue.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "l3l2q.h"
#include "l3l2q_channel.h"
#include "l3l2q_signals.h"

struct address_space;
struct dentry;
struct eventfd_ctx;
struct file;
struct io_uring_cmd;
struct l3l2q_end;
struct l3l2q_region;
struct seq_file;
struct vm_area_struct;

/* The two roles; the values are l3l2q_info_args.role. */
enum l3l2q_end_role {
	L3L2Q_END_L3 = 0,
	L3L2Q_END_L2 = 1,
	L3L2Q_NR_ENDS = 2,
};

/* ---------------------------------------------------------------------- */
/* Kinds                                                                  */
/* ---------------------------------------------------------------------- */

/*
 * A region kind: its layout, its starting state, and which of its words
 * each role may sleep on.  All callbacks but geometry() get a region whose
 * kind geometry (r->layout) and offsets (r->off) are set.
 */
struct l3l2q_kind_ops {
	u32 kind;			/* L3L2Q_KIND_* */
	const char *name;
	/*
	 * Validate CREATE's geometry and flags (already copied from user
	 * space) and compute the kind's private geometry and the region's
	 * offsets.  -EINVAL for bad values; pr_debug() names the field.
	 */
	int (*geometry)(struct l3l2q_region *r,
			const struct l3l2q_create_args *args);
	/* Give a fresh region (zeroed memory, no user yet) its identity. */
	void (*format)(struct l3l2q_region *r);
	/*
	 * @role died (its state word says so already): mark it the kind's
	 * way too, e.g. the queue's abort flag when @abort.
	 */
	void (*died)(struct l3l2q_region *r, enum l3l2q_end_role role,
		     bool abort);
	/* INFO and the directory: the geometry as CREATE took it. */
	void (*get_geometry)(const struct l3l2q_region *r, __u64 geom[3]);
	/*
	 * The 32-bit word that a WAIT of @role names with @id (the
	 * l3l2q_wait_args.counter field), or NULL if @role may not wait on
	 * it.  Sleepers wait for it to differ from the value they saw.
	 */
	u32 *(*wait_word)(struct l3l2q_region *r, enum l3l2q_end_role role,
			  unsigned int id);
	/*
	 * The i-th word whose change may end a wait of @role (the words it
	 * may WAIT on, then the peer's abort flag), NULL past the last; at
	 * most L3L2Q_POLL_WORDS.  The poller watches them on behalf of a
	 * peer that never kicks (l3l2q_poller.c).
	 */
	u32 *(*watch_word)(struct l3l2q_region *r, enum l3l2q_end_role role,
			   unsigned int i);
	/*
	 * Optional, for a kind whose waiters on end->wq judge their own
	 * condition in their wake functions (signals), instead of
	 * watch_word(): would a wake of @end now end at least one of its
	 * waits?  The poller asks it each tick on behalf of a peer that
	 * never kicks (l3l2q_poller.c), in hard interrupt context, without
	 * the poller's lock; it may take end->wq.lock.  Bounded work; shared
	 * words are read once and only compared.
	 */
	bool (*poll_ready)(struct l3l2q_end *end);
	/*
	 * Has @role's peer raised its own abort flag (poisoned its
	 * endpoint)?  Waits then end as on the peer's death.  Read once.
	 */
	bool (*peer_aborted)(struct l3l2q_region *r, enum l3l2q_end_role role);
	/* EPOLLIN/EPOLLOUT for @role, from the shared words (untrusted). */
	__poll_t (*poll)(struct l3l2q_region *r, enum l3l2q_end_role role);
	/* debugfs: the kind's geometry and a snapshot of its shared words. */
	void (*show)(struct seq_file *m, struct l3l2q_region *r);
	/*
	 * fdinfo: the same as "l3l2q-<key>:\t<value>" lines, the stable keys
	 * of docs/driver.rst.  The words only while the memory is there.
	 * Optional: a kind without it shows only the common keys.
	 */
	void (*show_fdinfo)(struct seq_file *m, struct l3l2q_region *r,
			    bool mem);
	/*
	 * Optional: the kind's own ioctls on a role file, tried for any
	 * command the core does not know; -ENOTTY for none of its own.
	 */
	long (*ioctl)(struct l3l2q_end *end, unsigned int cmd,
		      void __user *argp);
	/* Optional: @end's file was released; drop what it registered. */
	void (*release)(struct l3l2q_end *end);
};

extern const struct l3l2q_kind_ops l3l2q_queue_kind;
extern const struct l3l2q_kind_ops l3l2q_channel_kind;
extern const struct l3l2q_kind_ops l3l2q_signals_kind;

/* ---------------------------------------------------------------------- */
/* Backends and device nodes                                              */
/* ---------------------------------------------------------------------- */

/*
 * Where a region's memory comes from and how its L2 role is reached
 * (DESIGN §8).  Someone with a real accelerator writes one of these; the
 * core, the kinds and the wake-up paths stay as they are.
 */
struct l3l2q_backend_ops {
	const char *name;
	/*
	 * Memory for r->off.total_bytes, zeroed: set r->mem (the kernel's
	 * mapping, a normal pointer) and charge it to the caller.  -E2BIG,
	 * -ENOSPC or -ENOMEM.
	 */
	int (*alloc)(struct l3l2q_region *r);
	void (*free)(struct l3l2q_region *r);
	/* Map the checked window [vm_pgoff, + vma_pages) of the region. */
	int (*mmap)(struct l3l2q_region *r, struct vm_area_struct *vma);
	/*
	 * The L2 role is a device, not a file: PEER is refused, the role is
	 * LIVE from creation and dies with the device.
	 */
	bool l2_is_device;
	/*
	 * The L3 role kicked (KICK): tell the device (ring its doorbell).
	 * Only with l2_is_device; a process L2 is woken by the core.
	 */
	void (*kick_l2)(struct l3l2q_region *r);
	/*
	 * With l2_is_device: can the device interrupt the host at all?  A
	 * device without interrupts never kicks, whatever its feature word
	 * says, and its sleepers are polled for (l3l2q_poller.c).  NULL:
	 * it can.
	 */
	bool (*l2_can_kick)(struct l3l2q_region *r);
	/* The region is complete and about to reach user space. */
	void (*publish)(struct l3l2q_region *r);
	/* The region's last role file is gone; called before free(). */
	void (*retire)(struct l3l2q_region *r);
};

/*
 * A device node: /dev/l3l2q (host memory) or one per device.  Its fd's
 * only request is CREATE; each region made through it holds a reference.
 */
struct l3l2q_dev {
	struct miscdevice misc;
	struct kref ref;		/* the node, its open fds, its regions */
	const struct l3l2q_backend_ops *ops;
	void *priv;			/* the backend's */
	void (*release)(struct l3l2q_dev *dev);	/* last reference gone */
	/*
	 * The memory of this device's regions is gone (hot-unplug): set by
	 * the backend, which then waits for every l3l2q_mem_enter() section
	 * (synchronize_rcu()) before the memory goes.
	 */
	bool gone;
	/*
	 * If set, the address_space every region file of this device maps
	 * through (file->f_mapping), so the backend can zap all their user
	 * mappings at once with unmap_mapping_range(); the anon inode's is
	 * shared by every anon file of the system and cannot be used so.
	 * Stable while any region of the device exists.
	 */
	struct address_space *mapping;
};

extern const struct l3l2q_backend_ops l3l2q_host_backend;

/* l3l2q_dev.c: device nodes and CREATE */
int l3l2q_dev_register(struct l3l2q_dev *dev);
void l3l2q_dev_unregister(struct l3l2q_dev *dev);
void l3l2q_dev_get(struct l3l2q_dev *dev);
void l3l2q_dev_put(struct l3l2q_dev *dev);
int l3l2q_host_dev_init(void);
void l3l2q_host_dev_exit(void);

/* ---------------------------------------------------------------------- */
/* Software peers                                                         */
/* ---------------------------------------------------------------------- */

/*
 * An L2 role played inside the kernel (the loopback).  It is started by
 * CREATE and holds a region reference until stop() has reaped it.
 */
struct l3l2q_peer_ops {
	/* The L3 role died: end the peer and wait for it.  Idempotent. */
	void (*stop)(struct l3l2q_region *r);
	/* The region is being freed. */
	void (*free)(struct l3l2q_region *r);
	void (*show)(struct seq_file *m, struct l3l2q_region *r);
};

/* l3l2q_loopback.c */
int l3l2q_loopback_start(struct l3l2q_region *r);

/* ---------------------------------------------------------------------- */
/* The poller (l3l2q_poller.c)                                            */
/* ---------------------------------------------------------------------- */

/* Words the poller watches per role (struct l3l2q_kind_ops.watch_word). */
#define L3L2Q_POLL_WORDS	4

/*
 * Polls a region's words on behalf of sleepers whose peer never kicks.
 * lock (taken from the timer: interrupts off) protects running, wanted,
 * active and dead; snap[] and interval_us belong to whoever holds lock or,
 * while running, to the timer callback.
 */
struct l3l2q_poller {
	spinlock_t lock;		/* see above; a timer takes it */
	struct hrtimer timer;
	bool running;			/* the timer is armed or running */
	bool dead;			/* the region is being freed */
	u8 wanted;			/* roles given a waiter since the last tick */
	u8 active;			/* roles whose snap[] is current */
	u32 interval_us;
	u32 snap[L3L2Q_NR_ENDS][L3L2Q_POLL_WORDS];
	atomic64_t nr_ticks;
	atomic64_t nr_wakes;
};

void l3l2q_poller_init(struct l3l2q_region *r);
void l3l2q_poller_destroy(struct l3l2q_region *r);
void l3l2q_poller_want(struct l3l2q_end *end);
void l3l2q_poller_show(struct seq_file *m, struct l3l2q_region *r);

/* ---------------------------------------------------------------------- */
/* Regions and their roles                                                */
/* ---------------------------------------------------------------------- */

/*
 * What a role file's private_data points at, and everything that wakes
 * that role (l3l2q_wait.c, l3l2q_uring.c).  A KICK on the other role's
 * file, or the other role's death, wakes all of it:
 *
 *   wq          blocked WAIT callers and poll/epoll/POLL_ADD waiters
 *   evfd        the eventfd registered with SET_EVENTFD, or NULL
 *   uwaits      pending io_uring WAIT commands (struct l3l2q_ucmd), sorted
 *               by (counter, seen), so the commands that saw the same value
 *               of the same word are together and a wake-up looks at each
 *               such group once; whoever unlinks a command completes it
 *   udeadlines  the same commands that have a deadline, by deadline
 *   timer       fires at the earliest deadline and only queues the work:
 *   uwork       expires commands, and finishes what a wake-up left over,
 *               in bounded batches in process context
 *
 * lock protects evfd, uwaits, udeadlines, the counts, ucancel, useq and
 * the arming of timer.  The statistics at the end are atomics, for
 * fdinfo.  A device's interrupt may wake a role
 * (l3l2q_wake_role()), so it is always taken with interrupts disabled and
 * held for a bounded number of steps; eventfd signals and io_uring
 * completions are issued under it, which is what makes replacing the
 * eventfd and unlinking a command safe against them.
 */
struct l3l2q_end {
	struct l3l2q_region *r;
	enum l3l2q_end_role role;

	wait_queue_head_t wq;
	spinlock_t lock;		/* see above; interrupts off */
	struct eventfd_ctx *evfd;	/* protected by lock */
	struct rb_root_cached uwaits;	/* protected by lock */
	struct timerqueue_head udeadlines; /* protected by lock */
	unsigned int nr_upending;	/* protected by lock */
	/* Protected by lock: of those, the ones holding a file reference. */
	unsigned int nr_ufile;
	bool ucancel;			/* protected by lock: cancel them all */
	u64 useq;			/* protected by lock: issue order */
	struct hrtimer timer;
	struct work_struct uwork;

	atomic64_t nr_kicks;		/* KICKs this role made */
	/* Its waits that slept: WAIT calls that slept, io_uring WAITs queued. */
	atomic64_t nr_sleeps;
	atomic_t nr_waiting;		/* WAIT calls of this role in progress */

	/* The kind's own waiters on this role, against its cap. */
	atomic_t nr_kind_waiters;
	atomic64_t nr_kind_checks;	/* wake-ups that looked at one */
	atomic64_t nr_kind_wakes;	/* of those, the ones that woke it */
	/* Pending io_uring SIG_WAITs holding the role file (l3l2q_siguring.c). */
	atomic_t nr_sig_ufile;
};

struct l3l2q_region {
	struct kref ref;		/* one per role file, one per peer */
	u64 id;				/* debugfs name, never reused */
	const struct l3l2q_kind_ops *kind;
	struct l3l2q_dev *dev;		/* the node it was made on (a reference) */

	/* Immutable after creation: the kernel's private copy. */
	union {
		struct l3l2q_layout queue;	/* L3L2Q_KIND_QUEUE */
		struct l3l2q_chan_layout chan;	/* L3L2Q_KIND_CHANNEL */
		struct l3l2q_sig_layout signals; /* L3L2Q_KIND_SIGNALS */
	} layout;
	struct l3l2q_region_offsets off;
	u64 start_pos;
	u32 flags;
	void *mem;			/* kernel mapping, off.total_bytes */
	void *backend_priv;		/* the backend's, per region */
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
	atomic64_t nr_uring_scanned;	/* pending WAITs a wake-up looked at */
	atomic64_t nr_uring_expired;	/* io_uring WAITs their deadline ended */
	atomic64_t nr_uring_refused;	/* over uring_max_pending: -EBUSY */

	/* A software L2 (L3L2Q_CREATE_LOOPBACK), else NULL. */
	const struct l3l2q_peer_ops *peer;
	void *peer_priv;

	struct l3l2q_poller poller;
	struct dentry *dbg;
};

/**
 * l3l2q_mem_enter() - begin touching region memory that can vanish
 * @r: the region
 *
 * Region memory that can vanish - a device's, on hot-unplug - is touched
 * by the kernel only between l3l2q_mem_enter() returning true and
 * l3l2q_mem_exit(), which must follow every l3l2q_mem_enter(), true or
 * not: an RCU read-side section, so any context but NMI, and nothing in
 * it may sleep.  The backend sets dev->gone, then waits for every such
 * section (synchronize_rcu()) before the memory is unmapped.  Host memory
 * never goes: for it this is one predictable branch.
 *
 * Return: true if the memory may be touched until l3l2q_mem_exit().
 */
static inline bool l3l2q_mem_enter(struct l3l2q_region *r)
{
	rcu_read_lock();
	return likely(!READ_ONCE(r->dev->gone));
}

/**
 * l3l2q_mem_exit() - end what l3l2q_mem_enter() began, whatever it said
 * @r: the region
 */
static inline void l3l2q_mem_exit(struct l3l2q_region *r)
{
	rcu_read_unlock();
}

/* Limits (module parameters, in l3l2q_main.c); read with READ_ONCE(). */
extern unsigned long l3l2q_max_queue_bytes;

/* l3l2q_region.c: region lifetime, role files, role death */
struct l3l2q_region *l3l2q_region_create(struct l3l2q_dev *dev,
					 const struct l3l2q_create_args *args);
void l3l2q_region_get(struct l3l2q_region *r);
void l3l2q_region_put(struct l3l2q_region *r);
struct file *l3l2q_region_getfile(struct l3l2q_region *r,
				  enum l3l2q_end_role role);
void l3l2q_role_died(struct l3l2q_region *r, enum l3l2q_end_role role,
		     bool abort);
void *l3l2q_region_at(struct l3l2q_region *r, u64 offset);
const char *l3l2q_role_state_name(u32 state);
u32 *l3l2q_ctrl_word(struct l3l2q_region *r, unsigned int offset);

/**
 * l3l2q_peer_end() - the other role of @end's region
 * @end: a role
 *
 * Return: the region's other struct l3l2q_end.
 */
static inline struct l3l2q_end *l3l2q_peer_end(struct l3l2q_end *end)
{
	return &end->r->ends[L3L2Q_NR_ENDS - 1 - end->role];
}

/* l3l2q_queue.c: the queue kind's words the core and the loopback use */
s32 *l3l2q_counter_word(struct l3l2q_region *r, unsigned int offset);

/* l3l2q_sigwait.c: the signals kind's waits, kicks and watches */
long l3l2q_sig_ioctl(struct l3l2q_end *end, unsigned int cmd,
		     void __user *argp);
void l3l2q_sig_release(struct l3l2q_end *end);
bool l3l2q_sig_watch_ready(struct l3l2q_end *end);
bool l3l2q_sig_poll_ready(struct l3l2q_end *end);
void l3l2q_sig_show_waiters(struct seq_file *m, struct l3l2q_end *end);
int l3l2q_sig_eval(struct l3l2q_end *end, struct l3l2q_sig_waitv *v, u32 nr,
		   bool all, bool out);
int l3l2q_sig_validate_waitv(struct l3l2q_region *r,
			     const struct l3l2q_sig_waitv *v, u32 nr);
int l3l2q_sig_waiter_get(struct l3l2q_end *end);

/* l3l2q_siguring.c: SIG_WAIT as an io_uring command, on end->wq */
int l3l2q_siguring_cmd(struct l3l2q_end *end, struct io_uring_cmd *ioucmd,
		       unsigned int issue_flags);
void l3l2q_siguring_cancel_all(struct l3l2q_end *end);
bool l3l2q_siguring_wqe_ready(struct wait_queue_entry *wqe);

/* l3l2q_wait.c: WAIT, KICK, SET_EVENTFD, poll, wake-ups on death */
void l3l2q_end_init(struct l3l2q_end *end);
void l3l2q_end_destroy(struct l3l2q_end *end);
void l3l2q_end_released(struct l3l2q_end *end);
void l3l2q_wake_on_death(struct l3l2q_region *r, enum l3l2q_end_role dead);
void l3l2q_wake_role(struct l3l2q_region *r, enum l3l2q_end_role role);
int l3l2q_wait_validate(struct l3l2q_end *end,
			const struct l3l2q_wait_args *args);
int l3l2q_wait_cond(struct l3l2q_end *end, unsigned int id, s32 seen);
int l3l2q_wait_word_get(struct l3l2q_end *end, unsigned int id, s32 *now);
bool l3l2q_wait_peer_dead(struct l3l2q_end *end);
bool l3l2q_wait_peer_gone(struct l3l2q_end *end);
bool l3l2q_wait_deadline(u64 deadline_ns, ktime_t *deadline);
int l3l2q_wait_sleep(bool timed, ktime_t *deadline);
long l3l2q_wait_ioctl(struct l3l2q_end *end,
		      const struct l3l2q_wait_args __user *uarg);
void l3l2q_kick(struct l3l2q_end *end);
void l3l2q_trace_kick(struct l3l2q_end *end, bool doorbell);
long l3l2q_set_eventfd_ioctl(struct l3l2q_end *end,
			     const struct l3l2q_eventfd_args __user *uarg);
__poll_t l3l2q_region_poll(struct file *file, struct poll_table_struct *pt);

/* l3l2q_uring.c: the io_uring WAIT command; its trees under end->lock */
void l3l2q_uring_init(struct l3l2q_end *end);
void l3l2q_uring_destroy(struct l3l2q_end *end);
void l3l2q_uring_wake_locked(struct l3l2q_end *end, bool force);
void l3l2q_uring_user_gone(struct l3l2q_end *end, struct file *file);
int l3l2q_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
ktime_t l3l2q_uring_deadline(u64 deadline_ns, ktime_t now);

/* l3l2q_pci.c: the ivshmem PCI driver, a backend per device */
int l3l2q_pci_init(void);
void l3l2q_pci_exit(void);

/* l3l2q_debugfs.c */
struct dentry *l3l2q_debugfs_dir(void);
void l3l2q_debugfs_init(void);
void l3l2q_debugfs_exit(void);
void l3l2q_debugfs_add(struct l3l2q_region *r);
void l3l2q_debugfs_remove(struct l3l2q_region *r);

#endif /* L3L2Q_INTERNAL_H */
