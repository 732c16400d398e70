// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_pci.c - the PCI driver for QEMU's ivshmem (vendor 1af4, device
 * 1110, revision 1): one backend instance and one device node,
 * /dev/l3l2q<N>, per device.  The specification is QEMU's
 * docs/specs/ivshmem-spec.txt:
 *
 *   BAR0  registers: IVPosition (our peer id), Doorbell (peer << 16 |
 *         vector: interrupt that peer on that vector)
 *   BAR1  MSI-X table (ivshmem-doorbell only)
 *   BAR2  the shared memory, which the device process maps too
 *
 * With ivshmem-doorbell the device interrupts us through MSI-X vectors
 * and we ring it through the doorbell; ivshmem-plain has no MSI-X (and
 * IVPosition 0): no interrupts either way, its sleepers are polled for
 * (l3l2q_poller.c).  The directory and the meaning of the vectors are
 * uapi/l3l2q.h's ("Device memory").
 *
 * Interrupts are handled in the hard interrupt handler itself: waking a
 * region's sleepers takes spinlocks, signals eventfds and queues io_uring
 * task work, all of it safe there and nothing of it sleeping, and a thread
 * would only add a context switch to every wake-up.  Vector 0 (the
 * device's state changed) needs the mutexes of role death: it only
 * schedules a work item.
 *
 * Memory: BAR2 is mapped write-back with memremap().  For ivshmem that is
 * what the memory is - host RAM that QEMU exposes as a BAR and the device
 * process maps write-back - so the kernel's and user space's accesses are
 * coherent with the device's and normal-memory atomics and fences work
 * (KVM forces the host's write-back type on such RAM anyway; under TCG
 * attributes do not matter).  memremap() gives a normal pointer: the
 * READ_ONCE()/smp_*() code that serves host memory, and lib/core, serve
 * this memory unchanged, and sparse sees no __iomem misuse.  A real PCIe
 * device's BAR is not coherent with the CPU's caches: README.md says what
 * that backend would have to do instead.
 *
 * Removal (unbind, hot-unplug) while regions are open: the node goes, then
 * dev.gone is set and every user mapping zapped (later touches SIGBUS),
 * every access section of the memory drains (synchronize_rcu()), the
 * interrupts and checks stop, and every region's L2 role dies, waking
 * every sleeper, which finds the memory gone: -ENODEV.  Only then are the
 * BARs unmapped.  The regions and the device state live on, memory-less,
 * until their last file closes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/idr.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "l3l2q_pci.h"

#define L3L2Q_IVSHMEM_DEVICE_ID		0x1110

static DEFINE_IDA(l3l2q_pci_ida);

/* ---------------------------------------------------------------------- */
/* The doorbell                                                           */
/* ---------------------------------------------------------------------- */

/*
 * Interrupt the device on @vector, if there is a device to interrupt: its
 * line, read once, must say it serves this epoch and name a peer id other
 * than ours.  Any context but NMI.  writel semantics order the region
 * stores made before the call (a KICK's caller published first) ahead of
 * the doorbell.
 */
void l3l2q_pci_ring(struct l3l2q_pci_dev *pd, u32 vector)
{
	struct l3l2q_pci_devline dl;

	if (!pd->nr_vectors)
		return;
	rcu_read_lock();
	if (READ_ONCE(pd->dev.gone))
		goto out_unlock;
	l3l2q_devmem_read_devline(pd, &dl);
	if (!dl.serving || dl.peer_id > 0xffff ||
	    dl.peer_id == pd->host_peer_id) {
		atomic64_inc(&pd->nr_doorbells_skipped);
		goto out_unlock;
	}
	iowrite32(dl.peer_id << 16 | (vector & 0xffff),
		  pd->regs + L3L2Q_IVSHMEM_DOORBELL);
	atomic64_inc(&pd->nr_doorbells);
out_unlock:
	rcu_read_unlock();
}

/* ---------------------------------------------------------------------- */
/* Interrupts                                                             */
/* ---------------------------------------------------------------------- */

static irqreturn_t l3l2q_pci_irq(int irq, void *data)
{
	struct l3l2q_pci_vec *v = data;
	struct l3l2q_pci_dev *pd = v->pd;

	atomic64_inc(&v->count);
	/* Vector 0: the directory or the device's state changed. */
	if (v->nr == 0)
		l3l2q_devlive_check_now(pd);
	/* With one vector, it also stands for every slot. */
	if (v->nr != 0 || pd->nr_vectors == 1)
		l3l2q_devmem_wake_vector(pd, v->nr);
	return IRQ_HANDLED;
}

static void l3l2q_pci_free_irqs(struct l3l2q_pci_dev *pd)
{
	unsigned int i;

	for (i = 0; i < pd->nr_vectors; i++)
		if (pd->vecs[i].irq >= 0)
			free_irq(pd->vecs[i].irq, &pd->vecs[i]);
	if (pd->nr_vectors)
		pci_free_irq_vectors(pd->pdev);
}

/*
 * One handler per MSI-X vector.  No MSI-X (ivshmem-plain), or none to be
 * had: nr_vectors stays 0 and the device is polled for.
 */
static int l3l2q_pci_setup_irqs(struct l3l2q_pci_dev *pd)
{
	struct pci_dev *pdev = pd->pdev;
	struct l3l2q_pci_vec *v;
	int n, i, ret;

	n = pci_msix_vec_count(pdev);
	if (n <= 0)
		return 0;
	n = pci_alloc_irq_vectors(pdev, 1, min_t(int, n, L3L2Q_PCI_MAX_VECTORS),
				  PCI_IRQ_MSIX);
	if (n < 0) {
		dev_warn(&pdev->dev, "no MSI-X vectors (%d): polling instead\n",
			 n);
		return 0;
	}
	pd->vecs = kcalloc(n, sizeof(*pd->vecs), GFP_KERNEL);
	if (!pd->vecs) {
		pci_free_irq_vectors(pdev);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		v = &pd->vecs[i];
		v->pd = pd;
		v->nr = i;
		v->irq = -1;
		atomic64_set(&v->count, 0);
		snprintf(v->name, sizeof(v->name), "%s-v%u", pd->name, v->nr);
	}
	pd->nr_vectors = n;
	for (i = 0; i < n; i++) {
		v = &pd->vecs[i];
		ret = request_irq(pci_irq_vector(pdev, i), l3l2q_pci_irq, 0,
				  v->name, v);
		if (ret) {
			l3l2q_pci_free_irqs(pd);
			pd->nr_vectors = 0;
			kfree(pd->vecs);
			pd->vecs = NULL;
			return ret;
		}
		v->irq = pci_irq_vector(pdev, i);
	}
	/* MSI-X messages are writes the device makes: it must master. */
	pci_set_master(pdev);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Probe and remove                                                       */
/* ---------------------------------------------------------------------- */

/* The last reference (node, open fd, region) is gone. */
static void l3l2q_pci_release(struct l3l2q_dev *dev)
{
	struct l3l2q_pci_dev *pd = container_of(dev, struct l3l2q_pci_dev,
						dev);

	WARN_ON_ONCE(pd->map_users);
	l3l2q_devmem_destroy(pd);
	kfree(pd->vecs);
	mutex_destroy(&pd->lock);
	kfree(pd);
}

/* The BARs, as the specification describes them, mapped. */
static int l3l2q_pci_map(struct l3l2q_pci_dev *pd)
{
	struct pci_dev *pdev = pd->pdev;
	int pos;

	if (!(pci_resource_flags(pdev, 0) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, 0) < L3L2Q_IVSHMEM_REGS_BYTES ||
	    !(pci_resource_flags(pdev, 2) & IORESOURCE_MEM)) {
		dev_err(&pdev->dev, "not the BARs of an ivshmem device\n");
		return -ENODEV;
	}
	pd->mem_phys = pci_resource_start(pdev, 2);
	pd->mem_bytes = pci_resource_len(pdev, 2);
	if (pd->mem_bytes < L3L2Q_DIR_BYTES + 2 * PAGE_SIZE) {
		dev_err(&pdev->dev, "%llu bytes of shared memory: too small for the directory and a region\n",
			pd->mem_bytes);
		return -ENODEV;
	}
	pd->regs = pci_iomap(pdev, 0, L3L2Q_IVSHMEM_REGS_BYTES);
	if (!pd->regs)
		return -ENOMEM;
	pd->mem = memremap(pd->mem_phys, pd->mem_bytes, MEMREMAP_WB);
	if (!pd->mem) {
		pci_iounmap(pdev, pd->regs);
		return -ENOMEM;
	}
	pos = (int)ioread32(pd->regs + L3L2Q_IVSHMEM_IVPOSITION);
	if (pos < 0 || pos > 0xffff) {
		dev_err(&pdev->dev, "IVPosition %d is no peer id\n", pos);
		memunmap(pd->mem);
		pci_iounmap(pdev, pd->regs);
		return -ENODEV;
	}
	pd->host_peer_id = pos;
	return 0;
}

static void l3l2q_pci_unmap(struct l3l2q_pci_dev *pd)
{
	memunmap(pd->mem);
	pci_iounmap(pd->pdev, pd->regs);
}

static int l3l2q_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct l3l2q_pci_dev *pd;
	int ret;

	/* Before 2.6, BAR2 could be invalid for a while (the spec). */
	if (pdev->revision < 1) {
		dev_info(&pdev->dev, "ivshmem revision %u is not supported\n",
			 pdev->revision);
		return -ENODEV;
	}
	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		return -ENOMEM;
	pd->pdev = pdev;
	mutex_init(&pd->lock);
	spin_lock_init(&pd->slot_lock);
	init_rwsem(&pd->map_lock);
	atomic64_set(&pd->nr_doorbells, 0);
	atomic64_set(&pd->nr_doorbells_skipped, 0);
	atomic64_set(&pd->nr_checks, 0);
	atomic64_set(&pd->nr_deaths, 0);
	atomic64_set(&pd->nr_letgo, 0);
	atomic64_set(&pd->nr_reclaimed, 0);
	l3l2q_devlive_init(pd);
	pd->dev.ops = &l3l2q_ivshmem_backend;
	pd->dev.priv = pd;
	pd->dev.release = l3l2q_pci_release;
	pd->heartbeat_ms = l3l2q_devlive_period_ms();

	ret = ida_alloc(&l3l2q_pci_ida, GFP_KERNEL);
	if (ret < 0)
		goto out_free;
	pd->index = ret;
	snprintf(pd->name, sizeof(pd->name), "l3l2q%d", pd->index);

	ret = pci_enable_device(pdev);
	if (ret)
		goto out_ida;
	ret = pci_request_regions(pdev, pd->name);
	if (ret)
		goto out_disable;
	ret = l3l2q_pci_map(pd);
	if (ret)
		goto out_release_regions;
	ret = l3l2q_pci_setup_irqs(pd);
	if (ret)
		goto out_unmap;
	ret = l3l2q_devmem_init(pd);
	if (ret)
		goto out_free_irqs;
	l3l2q_devmem_format(pd);
	pci_set_drvdata(pdev, pd);

	l3l2q_devdbg_add(pd);
	l3l2q_devlive_start(pd);
	pd->dev.misc.name = pd->name;
	pd->dev.misc.mode = 0600;
	pd->dev.misc.parent = &pdev->dev;
	ret = l3l2q_dev_register(&pd->dev);
	if (ret)
		goto out_stop;
	dev_info(&pdev->dev, "/dev/%s: %llu bytes of shared memory, peer id %u, %u MSI-X vectors%s, epoch %#llx\n",
		 pd->name, pd->mem_bytes, pd->host_peer_id, pd->nr_vectors,
		 pd->nr_vectors ? "" : " (polled)", pd->epoch);
	return 0;

out_stop:
	/* Nothing but our own works and debugfs readers saw the device. */
	l3l2q_devdbg_remove(pd);
	mutex_lock(&pd->lock);
	WRITE_ONCE(pd->dev.gone, true);
	mutex_unlock(&pd->lock);
out_free_irqs:
	l3l2q_pci_free_irqs(pd);
	/* Vector 0 may have scheduled a check. */
	l3l2q_devlive_stop(pd);
out_unmap:
	l3l2q_pci_unmap(pd);
out_release_regions:
	pci_release_regions(pdev);
out_disable:
	pci_disable_device(pdev);
out_ida:
	ida_free(&l3l2q_pci_ida, pd->index);
out_free:
	l3l2q_devmem_destroy(pd);
	kfree(pd->vecs);
	mutex_destroy(&pd->lock);
	kfree(pd);
	return ret;
}

static void l3l2q_pci_remove(struct pci_dev *pdev)
{
	struct l3l2q_pci_dev *pd = pci_get_drvdata(pdev);

	/* The node's reference goes with the node; this one lasts to the end. */
	l3l2q_dev_get(&pd->dev);
	l3l2q_dev_unregister(&pd->dev);
	l3l2q_devdbg_remove(pd);

	mutex_lock(&pd->lock);
	down_write(&pd->map_lock);
	WRITE_ONCE(pd->dev.gone, true);
	l3l2q_devmap_zap_locked(pd);
	up_write(&pd->map_lock);
	mutex_unlock(&pd->lock);
	/* Every memory access and doorbell that saw !gone is over. */
	synchronize_rcu();

	l3l2q_pci_free_irqs(pd);
	l3l2q_devlive_stop(pd);
	/* Every sleeper of every region wakes, to -ENODEV. */
	l3l2q_devlive_kill_all(pd);

	l3l2q_pci_unmap(pd);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	pd->pdev = NULL;
	ida_free(&l3l2q_pci_ida, pd->index);
	dev_info(&pdev->dev, "/dev/%s removed\n", pd->name);
	l3l2q_dev_put(&pd->dev);
}

static const struct pci_device_id l3l2q_pci_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, L3L2Q_IVSHMEM_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, l3l2q_pci_ids);

static struct pci_driver l3l2q_pci_driver = {
	.name		= "l3l2q",
	.id_table	= l3l2q_pci_ids,
	.probe		= l3l2q_pci_probe,
	.remove		= l3l2q_pci_remove,
};

/**
 * l3l2q_pci_init() - register the ivshmem PCI driver at module load
 *
 * Return: 0 or pci_register_driver()'s error.
 */
int l3l2q_pci_init(void)
{
	return pci_register_driver(&l3l2q_pci_driver);
}

/**
 * l3l2q_pci_exit() - unregister the ivshmem PCI driver at module unload
 *
 * No file of the module is open, so no region is left: every device's
 * state goes with its remove().
 */
void l3l2q_pci_exit(void)
{
	pci_unregister_driver(&l3l2q_pci_driver);
	ida_destroy(&l3l2q_pci_ida);
}
