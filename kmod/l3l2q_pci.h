/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l3l2q_pci.h - the ivshmem backend's private objects, shared by its files:
 *
 *   l3l2q_pci.c      the PCI driver: probe and remove, BARs, MSI-X and the
 *                    interrupt handlers, the doorbell, the device node
 *   l3l2q_devmem.c   the device memory: the directory, its slots and the
 *                    allocator; the backend ops that lay regions out in it
 *   l3l2q_devlive.c  the device's liveness: heartbeat, death, regions the
 *                    device let go, slots that may be reused
 *   l3l2q_devmap.c   user mappings of device memory, and zapping them
 *   l3l2q_devdbg.c   /sys/kernel/debug/l3l2q/l3l2q<N>/
 *
 * Locking:
 *   pd->lock       (mutex) the slots' state and BAR space, the liveness
 *                  state, pd->dev.gone's setting; whoever holds it and
 *                  sees !gone may touch the BARs
 *   pd->slot_lock  (spinlock, taken in hard interrupt context) the slots'
 *                  region pointers; nests inside pd->lock and outside
 *                  each region's end->lock (through l3l2q_wake_role())
 *   pd->map_lock   (rw_semaphore) page faults (read) against the zap at
 *                  removal (write)
 * Others read BAR memory only inside l3l2q_mem_enter() or rcu_read_lock()
 * with !gone (the doorbell): removal sets gone, then synchronize_rcu(),
 * then unmaps.
 */
#ifndef L3L2Q_PCI_H
#define L3L2Q_PCI_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "l3l2q_internal.h"

struct gen_pool;
struct inode;
struct l3l2q_pci_dev;
struct pci_dev;

/* ivshmem's BAR0 registers (the QEMU ivshmem specification, revision 1). */
#define L3L2Q_IVSHMEM_INTRMASK		0
#define L3L2Q_IVSHMEM_INTRSTATUS	4
#define L3L2Q_IVSHMEM_IVPOSITION	8
#define L3L2Q_IVSHMEM_DOORBELL		12
#define L3L2Q_IVSHMEM_REGS_BYTES	256

/* Vectors beyond this serve no slot (vector 0 plus one per slot). */
#define L3L2Q_PCI_MAX_VECTORS		(1 + L3L2Q_DIR_SLOTS)

/* The host's view of a directory slot. */
enum l3l2q_pci_slot_state {
	L3L2Q_PCI_SLOT_FREE = 0,	/* no region, no BAR space */
	L3L2Q_PCI_SLOT_RESERVED,	/* a region being made, not published */
	L3L2Q_PCI_SLOT_LIVE,		/* published: the device may use it */
	L3L2Q_PCI_SLOT_CLOSED,		/* the L3 role died; space still held */
};

struct l3l2q_pci_slot {
	enum l3l2q_pci_slot_state state;	/* under pd->lock */
	u32 generation;			/* under pd->lock; as published */
	u32 vector;			/* fixed at probe */
	u64 offset;			/* BAR space held (under pd->lock) */
	u64 bytes;
	u64 ctrl_offset;		/* the region's control block in it */
	u64 region_id;			/* for debugfs */
	bool l2_dead;			/* L2 declared dead (under pd->lock) */
	struct l3l2q_region *r;		/* RESERVED, LIVE; under slot_lock */
};

struct l3l2q_pci_vec {
	struct l3l2q_pci_dev *pd;
	unsigned int nr;
	int irq;			/* < 0: not requested */
	atomic64_t count;
	char name[32];			/* "l3l2q<N>-v<i>" */
};

struct l3l2q_pci_dev {
	struct l3l2q_dev dev;		/* dev.priv == this; the refcount */
	struct pci_dev *pdev;		/* NULL once removed */
	int index;			/* N of /dev/l3l2q<N> */
	char name[16];			/* "l3l2q<N>", N < 2^31 */

	void __iomem *regs;		/* BAR0 */
	void *mem;			/* BAR2, memremap()ed write-back */
	phys_addr_t mem_phys;
	u64 mem_bytes;
	struct gen_pool *pool;		/* BAR2 after the directory */

	/* Published in the directory at probe; fixed afterwards. */
	u64 epoch;
	u32 host_peer_id;
	u32 nr_vectors;			/* 0: ivshmem-plain, no interrupts */
	u32 heartbeat_ms;
	struct l3l2q_pci_vec *vecs;	/* nr_vectors of them */

	struct mutex lock;		/* slots, space, liveness (above) */
	spinlock_t slot_lock;		/* slots[].r, for the interrupts */
	struct l3l2q_pci_slot slots[L3L2Q_DIR_SLOTS];

	/* Liveness (l3l2q_devlive.c), under lock. */
	struct delayed_work check;	/* every heartbeat_ms */
	struct work_struct event;	/* vector 0: at once */
	bool live;			/* its heartbeat was seen moving */
	bool beat_seen;			/* last_beat holds a reading */
	u64 last_beat;
	u32 missed;			/* checks since the heartbeat moved */
	u32 dead_after;			/* missed checks at the last death */
	const char *death;		/* why the device died last, or NULL */

	/* User mappings (l3l2q_devmap.c). */
	struct rw_semaphore map_lock;
	struct inode *inode;		/* under lock; while users > 0 */
	unsigned int map_users;		/* under lock */

	struct dentry *dbg;

	atomic64_t nr_doorbells;	/* rung */
	atomic64_t nr_doorbells_skipped;	/* no live device to ring */
	atomic64_t nr_checks;
	atomic64_t nr_deaths;
	atomic64_t nr_letgo;		/* regions the device let go */
	atomic64_t nr_reclaimed;	/* slots given back */
};

/* A snapshot of the device's line of the directory, each word read once. */
struct l3l2q_pci_devline {
	u32 magic;
	u32 state;
	u64 epoch;
	u64 heartbeat;
	u32 peer_id;
	u32 features;
	bool serving;			/* magic ok, our epoch, state LIVE */
};

static inline struct l3l2q_pci_dev *l3l2q_pci_dev(struct l3l2q_region *r)
{
	return r->dev->priv;
}

/* l3l2q_pci.c */
void l3l2q_pci_ring(struct l3l2q_pci_dev *pd, u32 vector);

/* l3l2q_devmem.c */
extern const struct l3l2q_backend_ops l3l2q_ivshmem_backend;
int l3l2q_devmem_init(struct l3l2q_pci_dev *pd);
void l3l2q_devmem_destroy(struct l3l2q_pci_dev *pd);
void l3l2q_devmem_format(struct l3l2q_pci_dev *pd);
void l3l2q_devmem_read_devline(struct l3l2q_pci_dev *pd,
			       struct l3l2q_pci_devline *dl);
u32 l3l2q_devmem_l2_state(struct l3l2q_pci_dev *pd,
			  const struct l3l2q_pci_slot *slot);
void l3l2q_devmem_reclaim_locked(struct l3l2q_pci_dev *pd, bool dev_dead);
void l3l2q_devmem_wake_vector(struct l3l2q_pci_dev *pd, unsigned int vector);

/* l3l2q_devlive.c */
u32 l3l2q_devlive_period_ms(void);
void l3l2q_devlive_init(struct l3l2q_pci_dev *pd);
void l3l2q_devlive_start(struct l3l2q_pci_dev *pd);
void l3l2q_devlive_check_now(struct l3l2q_pci_dev *pd);
void l3l2q_devlive_stop(struct l3l2q_pci_dev *pd);
void l3l2q_devlive_kill_all(struct l3l2q_pci_dev *pd);

/* l3l2q_devmap.c; get, put and zap with pd->lock held */
int l3l2q_devmap_get(struct l3l2q_pci_dev *pd);
void l3l2q_devmap_put(struct l3l2q_pci_dev *pd);
void l3l2q_devmap_zap_locked(struct l3l2q_pci_dev *pd);
int l3l2q_devmap_region_mmap(struct l3l2q_region *r,
			     struct vm_area_struct *vma);
extern const struct file_operations l3l2q_devmap_mem_fops;

/* l3l2q_devdbg.c */
void l3l2q_devdbg_add(struct l3l2q_pci_dev *pd);
void l3l2q_devdbg_remove(struct l3l2q_pci_dev *pd);

#endif /* L3L2Q_PCI_H */
