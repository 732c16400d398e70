// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_devmem.c - a device's shared memory (ivshmem's BAR2): the
 * directory the device finds its regions by, the allocator that places
 * regions after it, and the backend ops that make a region live in it.
 *
 * The layout and the rules are uapi/l3l2q.h's ("Device memory"):
 *
 *   [directory, L3L2Q_DIR_BYTES][region][region]...   (page aligned)
 *
 * A slot's life, as the host drives it (host copy in pd->slots[]):
 *
 *   FREE --alloc--> RESERVED --publish--> LIVE --retire--> CLOSED
 *     ^                 |                                    |
 *     +---- free -------+          reclaim (device let go) --+
 *
 * RESERVED is never visible to the device; LIVE and CLOSED are stored in
 * the directory, FREE again once the space may be reused.  BAR space is
 * allocated with the kernel's genalloc (one page per bit) in offsets from
 * the start of the memory, so 0 can never be a valid allocation.
 *
 * The memory is mapped write-back (memremap(), see l3l2q_pci.c): a normal
 * pointer, so the same READ_ONCE()/smp_*() code as for host memory reads
 * it, and lib/core could run on it.  Every word the device writes is
 * untrusted: read once, validated or only compared, never an index.  The
 * host never reads back its own lines; it keeps its copy in pd->slots[].
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/genalloc.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/string.h>

#include "l3l2q_pci.h"

/* ---------------------------------------------------------------------- */
/* The directory                                                          */
/* ---------------------------------------------------------------------- */

static struct l3l2q_dir_host *l3l2q_dir_host(struct l3l2q_pci_dev *pd)
{
	return pd->mem;
}

static struct l3l2q_dir_dev *l3l2q_dir_dev(struct l3l2q_pci_dev *pd)
{
	return pd->mem + L3L2Q_LINE_BYTES;
}

static struct l3l2q_dir_slot *l3l2q_dir_slot(struct l3l2q_pci_dev *pd,
					     const struct l3l2q_pci_slot *slot)
{
	struct l3l2q_dir_slot *first = pd->mem + 2 * L3L2Q_LINE_BYTES;

	return first + (slot - pd->slots);
}

/*
 * Write a fresh directory: every slot FREE, a new epoch, the host's
 * parameters, and the magic last, so a device never takes a half-written
 * directory for a valid one.  The device's own line is not touched: it
 * names the epoch it serves, which from now on is not this one.  Earlier
 * regions in the memory are abandoned, not cleared; each new region is
 * zeroed when it is allocated.  Called at probe, before the device node
 * exists, so nothing of this host uses the memory yet.
 */
void l3l2q_devmem_format(struct l3l2q_pci_dev *pd)
{
	struct l3l2q_dir_host *h = l3l2q_dir_host(pd);
	u64 old = READ_ONCE(h->epoch);
	unsigned int i;

	BUILD_BUG_ON(sizeof(struct l3l2q_dir_host) != L3L2Q_LINE_BYTES);
	BUILD_BUG_ON(sizeof(struct l3l2q_dir_dev) != L3L2Q_LINE_BYTES);
	BUILD_BUG_ON(sizeof(struct l3l2q_dir_slot) != L3L2Q_LINE_BYTES);
	BUILD_BUG_ON((2 + L3L2Q_DIR_SLOTS) * L3L2Q_LINE_BYTES !=
		     L3L2Q_DIR_BYTES);

	WRITE_ONCE(h->magic, 0);
	/* The magic's withdrawal is seen before any field changes. */
	smp_wmb();
	do {
		pd->epoch = get_random_u64();
	} while (!pd->epoch || pd->epoch == old);

	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		struct l3l2q_dir_slot *s = l3l2q_dir_slot(pd, &pd->slots[i]);

		WRITE_ONCE(s->state, L3L2Q_SLOT_FREE);
		WRITE_ONCE(s->kind, 0);
		WRITE_ONCE(s->generation, 0);
		WRITE_ONCE(s->vector, 0);
		WRITE_ONCE(s->region_offset, 0);
		WRITE_ONCE(s->region_bytes, 0);
		memset(s->geom, 0, sizeof(s->geom));
		WRITE_ONCE(s->start_pos, 0);
	}
	WRITE_ONCE(h->version, L3L2Q_DIR_VERSION);
	WRITE_ONCE(h->mem_bytes, pd->mem_bytes);
	WRITE_ONCE(h->epoch, pd->epoch);
	WRITE_ONCE(h->nr_slots, L3L2Q_DIR_SLOTS);
	WRITE_ONCE(h->host_peer_id, pd->host_peer_id);
	WRITE_ONCE(h->nr_vectors, pd->nr_vectors);
	WRITE_ONCE(h->heartbeat_ms, pd->heartbeat_ms);
	memset(h->resv, 0, sizeof(h->resv));
	/* Pairs with the device's load-acquire of the magic (uapi). */
	smp_store_release(&h->magic, L3L2Q_DIR_MAGIC);
}

/*
 * The device's line, each word read once.  Caller keeps the memory mapped
 * (pd->lock or an RCU section, with !gone).  serving: the device says it
 * is LIVE, for this host's epoch.
 */
void l3l2q_devmem_read_devline(struct l3l2q_pci_dev *pd,
			       struct l3l2q_pci_devline *dl)
{
	struct l3l2q_dir_dev *d = l3l2q_dir_dev(pd);

	/* Pairs with the device's store-release of its state (uapi). */
	dl->state = smp_load_acquire(&d->state);
	dl->magic = READ_ONCE(d->magic);
	dl->epoch = READ_ONCE(d->epoch);
	dl->heartbeat = READ_ONCE(d->heartbeat);
	dl->peer_id = READ_ONCE(d->dev_peer_id);
	dl->features = READ_ONCE(d->features);
	dl->serving = dl->magic == L3L2Q_DIR_DEV_MAGIC &&
		      dl->epoch == pd->epoch && dl->state == L3L2Q_DEV_LIVE;
}

/* The L2 state word of @slot's region, read once (pd->lock, !gone). */
u32 l3l2q_devmem_l2_state(struct l3l2q_pci_dev *pd,
			  const struct l3l2q_pci_slot *slot)
{
	u32 *word = pd->mem + slot->offset + slot->ctrl_offset +
		    L3L2Q_CTRL_L2_STATE;

	return READ_ONCE(*word);
}

/* ---------------------------------------------------------------------- */
/* The allocator                                                          */
/* ---------------------------------------------------------------------- */

/* The first byte a region may use: the page after the directory. */
static unsigned long l3l2q_devmem_first(void)
{
	return ALIGN(L3L2Q_DIR_BYTES, PAGE_SIZE);
}

/*
 * The allocator over the memory after the directory, and each slot's
 * vector (uapi: 1 + s % (N - 1), or 0 with fewer than two vectors).
 */
int l3l2q_devmem_init(struct l3l2q_pci_dev *pd)
{
	int nid = dev_to_node(&pd->pdev->dev);
	unsigned int i;
	int ret;

	pd->pool = gen_pool_create(PAGE_SHIFT, nid);
	if (!pd->pool)
		return -ENOMEM;
	ret = gen_pool_add(pd->pool, l3l2q_devmem_first(),
			   pd->mem_bytes - l3l2q_devmem_first(), nid);
	if (ret) {
		gen_pool_destroy(pd->pool);
		pd->pool = NULL;
		return ret;
	}
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		pd->slots[i].vector = pd->nr_vectors < 2 ? 0 :
				      1 + i % (pd->nr_vectors - 1);
	return 0;
}

/* The device state is being freed: give back what slots still hold. */
void l3l2q_devmem_destroy(struct l3l2q_pci_dev *pd)
{
	unsigned int i;

	if (!pd->pool)
		return;
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		if (pd->slots[i].bytes)
			gen_pool_free(pd->pool, pd->slots[i].offset,
				      pd->slots[i].bytes);
	gen_pool_destroy(pd->pool);
	pd->pool = NULL;
}

/* @slot's space goes back to the allocator and the slot is FREE again. */
static void l3l2q_devmem_release_locked(struct l3l2q_pci_dev *pd,
					struct l3l2q_pci_slot *slot)
{
	lockdep_assert_held(&pd->lock);
	gen_pool_free(pd->pool, slot->offset, slot->bytes);
	slot->offset = 0;
	slot->bytes = 0;
	slot->region_id = 0;
	slot->l2_dead = false;
	slot->state = L3L2Q_PCI_SLOT_FREE;
}

/*
 * Give back the CLOSED slots whose region the device can no longer be
 * writing: its L2 role was declared dead (the device died or let go), its
 * L2 state word says DEAD, or the device does not serve this epoch - read
 * after the slot's CLOSED store and a full fence, which pair with the
 * device's fence between storing LIVE and reading the slots (uapi).
 * @dev_dead: the device just died, all of them.
 */
void l3l2q_devmem_reclaim_locked(struct l3l2q_pci_dev *pd, bool dev_dead)
{
	struct l3l2q_pci_devline dl;
	struct l3l2q_pci_slot *slot;
	unsigned int i;

	lockdep_assert_held(&pd->lock);
	if (pd->dev.gone)
		return;
	l3l2q_devmem_read_devline(pd, &dl);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		slot = &pd->slots[i];
		if (slot->state != L3L2Q_PCI_SLOT_CLOSED)
			continue;
		if (!dev_dead && !slot->l2_dead && dl.serving &&
		    l3l2q_devmem_l2_state(pd, slot) != L3L2Q_ROLE_DEAD)
			continue;
		/* Pairs with the device's load-acquire of the slot state. */
		smp_store_release(&l3l2q_dir_slot(pd, slot)->state,
				  L3L2Q_SLOT_FREE);
		l3l2q_devmem_release_locked(pd, slot);
		atomic64_inc(&pd->nr_reclaimed);
	}
}

/* ---------------------------------------------------------------------- */
/* Interrupts toward the host                                             */
/* ---------------------------------------------------------------------- */

/*
 * The device interrupted on @vector: wake the L3 role of every region of
 * that vector, every kind of sleeper, as a process peer's KICK would.
 * Hard interrupt context; l3l2q_wake_role() only takes spinlocks,
 * signals eventfds and queues io_uring task work.
 */
void l3l2q_devmem_wake_vector(struct l3l2q_pci_dev *pd, unsigned int vector)
{
	struct l3l2q_pci_slot *slot;
	unsigned long flags;

	spin_lock_irqsave(&pd->slot_lock, flags);
	for (slot = pd->slots; slot < pd->slots + L3L2Q_DIR_SLOTS; slot++)
		if (slot->r && slot->vector == vector)
			l3l2q_wake_role(slot->r, L3L2Q_END_L3);
	spin_unlock_irqrestore(&pd->slot_lock, flags);
}

/* ---------------------------------------------------------------------- */
/* The backend                                                            */
/* ---------------------------------------------------------------------- */

static void l3l2q_devmem_set_region(struct l3l2q_pci_dev *pd,
				    struct l3l2q_pci_slot *slot,
				    struct l3l2q_region *r)
{
	unsigned long flags;

	spin_lock_irqsave(&pd->slot_lock, flags);
	slot->r = r;
	spin_unlock_irqrestore(&pd->slot_lock, flags);
}

/*
 * A slot and zeroed BAR space for @r.  Errors: -E2BIG (max_queue_bytes),
 * -ENOSPC (no free slot, or no room in the device memory), -ENODEV (the
 * device was removed), -ENOMEM.
 */
static int l3l2q_ivshmem_alloc(struct l3l2q_region *r)
{
	struct l3l2q_pci_dev *pd = l3l2q_pci_dev(r);
	unsigned long max = READ_ONCE(l3l2q_max_queue_bytes);
	u64 bytes = r->off.total_bytes;
	struct l3l2q_pci_slot *slot;
	unsigned long off;
	unsigned int i;
	int ret;

	if (bytes > max) {
		pr_debug("%s: create: a %llu-byte region exceeds max_queue_bytes=%lu\n",
			 pd->name, bytes, max);
		return -E2BIG;
	}

	mutex_lock(&pd->lock);
	if (pd->dev.gone) {
		ret = -ENODEV;
		goto out_unlock;
	}
	l3l2q_devmem_reclaim_locked(pd, false);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		if (pd->slots[i].state == L3L2Q_PCI_SLOT_FREE)
			break;
	if (i == L3L2Q_DIR_SLOTS) {
		pr_debug("%s: create: all %u directory slots are in use\n",
			 pd->name, L3L2Q_DIR_SLOTS);
		ret = -ENOSPC;
		goto out_unlock;
	}
	slot = &pd->slots[i];
	off = gen_pool_alloc(pd->pool, bytes);
	if (!off) {
		pr_debug("%s: create: no room for a %llu-byte region (%zu bytes free)\n",
			 pd->name, bytes, gen_pool_avail(pd->pool));
		ret = -ENOSPC;
		goto out_unlock;
	}
	ret = l3l2q_devmap_get(pd);
	if (ret) {
		gen_pool_free(pd->pool, off, bytes);
		goto out_unlock;
	}
	/* Nobody else uses this space: the device let go of it (reclaim). */
	memset(pd->mem + off, 0, bytes);
	slot->state = L3L2Q_PCI_SLOT_RESERVED;
	slot->offset = off;
	slot->bytes = bytes;
	slot->ctrl_offset = r->off.ctrl_offset;
	slot->region_id = r->id;
	slot->l2_dead = false;
	r->mem = pd->mem + off;
	r->backend_priv = slot;
	l3l2q_devmem_set_region(pd, slot, r);
	ret = 0;
out_unlock:
	mutex_unlock(&pd->lock);
	return ret;
}

/*
 * The region is gone.  A slot it never published is given back at once;
 * a CLOSED one only when the device has let go (l3l2q_devlive.c reclaims
 * it), so no new region gets memory the device still writes.
 */
static void l3l2q_ivshmem_free(struct l3l2q_region *r)
{
	struct l3l2q_pci_dev *pd = l3l2q_pci_dev(r);
	struct l3l2q_pci_slot *slot = r->backend_priv;

	mutex_lock(&pd->lock);
	l3l2q_devmem_set_region(pd, slot, NULL);
	if (slot->state == L3L2Q_PCI_SLOT_RESERVED)
		l3l2q_devmem_release_locked(pd, slot);
	l3l2q_devmap_put(pd);
	mutex_unlock(&pd->lock);
}

/*
 * Make the slot LIVE in the directory: the generation first, then the
 * fields, then the state with release order; then tell the device on
 * vector 0.
 */
static void l3l2q_ivshmem_publish(struct l3l2q_region *r)
{
	struct l3l2q_pci_dev *pd = l3l2q_pci_dev(r);
	struct l3l2q_pci_slot *slot = r->backend_priv;
	struct l3l2q_dir_slot *s;
	__u64 geom[3];

	r->kind->get_geometry(r, geom);
	mutex_lock(&pd->lock);
	if (pd->dev.gone || slot->state != L3L2Q_PCI_SLOT_RESERVED) {
		mutex_unlock(&pd->lock);
		return;
	}
	s = l3l2q_dir_slot(pd, slot);
	WRITE_ONCE(s->generation, ++slot->generation);
	/* A device that sees the new fields sees the new generation too. */
	smp_wmb();
	WRITE_ONCE(s->kind, r->kind->kind);
	WRITE_ONCE(s->vector, slot->vector);
	WRITE_ONCE(s->region_offset, slot->offset);
	WRITE_ONCE(s->region_bytes, slot->bytes);
	WRITE_ONCE(s->geom[0], geom[0]);
	WRITE_ONCE(s->geom[1], geom[1]);
	WRITE_ONCE(s->geom[2], geom[2]);
	WRITE_ONCE(s->start_pos, r->start_pos);
	/* Pairs with the device's load-acquire of the slot state. */
	smp_store_release(&s->state, L3L2Q_SLOT_LIVE);
	slot->state = L3L2Q_PCI_SLOT_LIVE;
	mutex_unlock(&pd->lock);
	l3l2q_pci_ring(pd, 0);
}

/*
 * The L3 role is dead and the region's last file gone: the slot is
 * CLOSED for the device, which lets go by storing its L2 state DEAD - also
 * for a region it never served: a device serving as upstream code does
 * never claims one, so ABSENT does not say "never touched".  No interrupt
 * reaches the region from here on.
 */
static void l3l2q_ivshmem_retire(struct l3l2q_region *r)
{
	struct l3l2q_pci_dev *pd = l3l2q_pci_dev(r);
	struct l3l2q_pci_slot *slot = r->backend_priv;
	bool closed = false;

	mutex_lock(&pd->lock);
	l3l2q_devmem_set_region(pd, slot, NULL);
	if (slot->state == L3L2Q_PCI_SLOT_LIVE) {
		slot->state = L3L2Q_PCI_SLOT_CLOSED;
		if (!pd->dev.gone) {
			/* Pairs with the device's load-acquire of the state. */
			smp_store_release(&l3l2q_dir_slot(pd, slot)->state,
					  L3L2Q_SLOT_CLOSED);
			/*
			 * CLOSED before the device line is read (reclaim):
			 * pairs with the device's fence between storing
			 * LIVE and reading the slots.
			 */
			smp_mb();
			l3l2q_devmem_reclaim_locked(pd, false);
			closed = true;
		}
	}
	mutex_unlock(&pd->lock);
	if (closed)
		l3l2q_pci_ring(pd, 0);
}

/* KICK on the L3 file: ring the device on the region's vector. */
static void l3l2q_ivshmem_kick_l2(struct l3l2q_region *r)
{
	struct l3l2q_pci_slot *slot = r->backend_priv;

	l3l2q_pci_ring(l3l2q_pci_dev(r), slot->vector);
}

/* Without MSI-X (ivshmem-plain) the device has no way to interrupt us. */
static bool l3l2q_ivshmem_l2_can_kick(struct l3l2q_region *r)
{
	return l3l2q_pci_dev(r)->nr_vectors > 0;
}

const struct l3l2q_backend_ops l3l2q_ivshmem_backend = {
	.name		= "ivshmem",
	.alloc		= l3l2q_ivshmem_alloc,
	.free		= l3l2q_ivshmem_free,
	.mmap		= l3l2q_devmap_region_mmap,
	.l2_is_device	= true,
	.kick_l2	= l3l2q_ivshmem_kick_l2,
	.l2_can_kick	= l3l2q_ivshmem_l2_can_kick,
	.publish	= l3l2q_ivshmem_publish,
	.retire		= l3l2q_ivshmem_retire,
};
