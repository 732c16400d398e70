// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_devmap.c - user mappings of a device's memory, and taking them
 * away when the device goes.
 *
 * A region in device memory is mapped into the L3 process page by page,
 * as the process touches it (a PFN map filled by ->fault), never at mmap
 * time: a page inserted at mmap time could escape the zap below, since the
 * new VMA is linked where unmap_mapping_range() finds it only after ->mmap
 * returns.  Removal takes map_lock for writing, sets gone and zaps; a
 * fault takes it for reading and inserts nothing once gone is set.  So
 * after removal a touch of an old mapping is SIGBUS, never an access to
 * memory the device no longer backs.
 *
 * Finding the mappings to zap: anon inodes share one inode, hence one
 * address_space, with every anon file in the system, so zapping through
 * it would hit other drivers' mappings.  Tracking VMAs ourselves needs
 * each process's mmap_lock, taken in an order that fights munmap.  As
 * VFIO does, every file that maps this device's memory (the region files,
 * and the raw view in debugfs) gets file->f_mapping set to one inode of
 * the device's own, on a small pseudo filesystem, before any mmap;
 * unmap_mapping_range() on that inode finds every VMA.  The inode exists
 * only while such files do: a pinned pseudo filesystem holds this module,
 * which must stay unloadable while devices are merely bound.
 *
 * Caching: write-back, like the kernel's alias (l3l2q_pci.c).  ivshmem's
 * BAR2 is host RAM that the device process maps write-back too, and x86
 * PAT wants every alias of a range to agree.  The VMAs are VM_IO |
 * VM_PFNMAP: no get_user_pages(), no core dump, no fork copy, no growth.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/rwsem.h>

#include "l3l2q_compat.h"
#include "l3l2q_pci.h"

#define L3L2Q_DEVMAP_MAGIC	0x4c33464d	/* "L3FM" */

static int l3l2q_devmap_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, L3L2Q_DEVMAP_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type l3l2q_devmap_fs_type = {
	.name		= "l3l2q-devmem",
	.owner		= THIS_MODULE,
	.init_fs_context = l3l2q_devmap_init_fs_context,
	.kill_sb	= kill_anon_super,
};

static struct vfsmount *l3l2q_devmap_mnt;
static int l3l2q_devmap_mnt_count;

/*
 * A file of @pd is about to map its memory: make sure the device's inode
 * exists (pd->dev.mapping).  Paired with l3l2q_devmap_put() when the file
 * (region) goes.  Caller holds pd->lock.
 */
int l3l2q_devmap_get(struct l3l2q_pci_dev *pd)
{
	struct inode *inode;
	int ret;

	lockdep_assert_held(&pd->lock);
	if (pd->map_users++)
		return 0;
	ret = simple_pin_fs(&l3l2q_devmap_fs_type, &l3l2q_devmap_mnt,
			    &l3l2q_devmap_mnt_count);
	if (ret)
		goto out_unuse;
	inode = alloc_anon_inode(l3l2q_devmap_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		ret = PTR_ERR(inode);
		goto out_release_fs;
	}
	pd->inode = inode;
	WRITE_ONCE(pd->dev.mapping, inode->i_mapping);
	return 0;

out_release_fs:
	simple_release_fs(&l3l2q_devmap_mnt, &l3l2q_devmap_mnt_count);
out_unuse:
	pd->map_users--;
	return ret;
}

/* The last file that could map @pd's memory is gone (pd->lock held). */
void l3l2q_devmap_put(struct l3l2q_pci_dev *pd)
{
	lockdep_assert_held(&pd->lock);
	if (--pd->map_users)
		return;
	WRITE_ONCE(pd->dev.mapping, NULL);
	iput(pd->inode);
	pd->inode = NULL;
	simple_release_fs(&l3l2q_devmap_mnt, &l3l2q_devmap_mnt_count);
}

/*
 * Removal: every user mapping of the device's memory loses its pages.
 * Caller holds pd->lock and map_lock (write) and has set gone.
 */
void l3l2q_devmap_zap_locked(struct l3l2q_pci_dev *pd)
{
	lockdep_assert_held(&pd->lock);
	if (pd->inode)
		unmap_mapping_range(pd->inode->i_mapping, 0, 0, 1);
}

/* ---------------------------------------------------------------------- */
/* VMAs                                                                   */
/* ---------------------------------------------------------------------- */

/* Page @vmf->pgoff of the window [@base, @base + @bytes) of the memory. */
static vm_fault_t l3l2q_devmap_insert(struct vm_fault *vmf,
				      struct l3l2q_pci_dev *pd, u64 base,
				      u64 bytes)
{
	vm_fault_t ret = VM_FAULT_SIGBUS;

	if (vmf->pgoff >= bytes >> PAGE_SHIFT)
		return ret;
	down_read(&pd->map_lock);
	if (!READ_ONCE(pd->dev.gone))
		ret = vmf_insert_pfn(vmf->vma, vmf->address,
				     PHYS_PFN(pd->mem_phys + base) +
				     vmf->pgoff);
	up_read(&pd->map_lock);
	return ret;
}

/* Splits, moves and shrinks would leave VMAs nobody checked: refused. */
static int l3l2q_devmap_may_split(struct vm_area_struct *vma,
				  unsigned long addr)
{
	return -EINVAL;
}

static int l3l2q_devmap_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/* A region file's mapping: offsets are the region's. */
static vm_fault_t l3l2q_devmap_region_fault(struct vm_fault *vmf)
{
	struct l3l2q_region *r = vmf->vma->vm_private_data;
	const struct l3l2q_pci_slot *slot = r->backend_priv;

	/* The slot's space is the region's for as long as it lives. */
	return l3l2q_devmap_insert(vmf, l3l2q_pci_dev(r), slot->offset,
				   r->off.total_bytes);
}

static const struct vm_operations_struct l3l2q_devmap_region_ops = {
	.may_split	= l3l2q_devmap_may_split,
	.mremap		= l3l2q_devmap_mremap,
	.fault		= l3l2q_devmap_region_fault,
};

/* The checks and flags every mapping of device memory gets. */
static int l3l2q_devmap_setup(struct vm_area_struct *vma, u64 bytes)
{
	unsigned long end = bytes >> PAGE_SHIFT, pgoff = vma->vm_pgoff;

	/* A private mapping would get copy-on-write pages we never see. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (pgoff >= end || vma_pages(vma) > end - pgoff)
		return -EINVAL;
	/*
	 * vm_page_prot stays write-back (see the top of this file).  A real
	 * PCIe BAR would need pgprot_writecombine() or pgprot_noncached()
	 * here, and lib/core's atomics and fences would then need the
	 * care README.md describes.
	 */
	l3l2q_vm_flags_clear(vma, VM_MAYEXEC);
	l3l2q_vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTCOPY |
			   VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

/*
 * The backend's mmap: the checked window of @r.  Errors: -EINVAL for a
 * private mapping or a window outside the region, -EPERM for an
 * executable one, -ENODEV once the device is gone.
 */
int l3l2q_devmap_region_mmap(struct l3l2q_region *r, struct vm_area_struct *vma)
{
	int ret;

	ret = l3l2q_devmap_setup(vma, r->off.total_bytes);
	if (ret)
		return ret;
	/* Faults check again, under map_lock; this is only courtesy. */
	if (READ_ONCE(r->dev->gone))
		return -ENODEV;
	vma->vm_ops = &l3l2q_devmap_region_ops;
	vma->vm_private_data = r;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The raw view: /sys/kernel/debug/l3l2q/l3l2q<N>/mem                     */
/* ---------------------------------------------------------------------- */

/*
 * The whole device memory, as the device sees it, for tests and debugging
 * tools that play the device inside the guest (x86 PAT refuses sysfs's
 * uncached resource2 mapping while the driver maps it write-back).
 * CAP_SYS_RAWIO, in debugfs: no ABI.
 */
static vm_fault_t l3l2q_devmap_mem_fault(struct vm_fault *vmf)
{
	struct l3l2q_pci_dev *pd = vmf->vma->vm_private_data;

	return l3l2q_devmap_insert(vmf, pd, 0, pd->mem_bytes);
}

static const struct vm_operations_struct l3l2q_devmap_mem_ops = {
	.may_split	= l3l2q_devmap_may_split,
	.mremap		= l3l2q_devmap_mremap,
	.fault		= l3l2q_devmap_mem_fault,
};

/* debugfs hands us i_private (pd) under its removal protection. */
static int l3l2q_devmap_mem_open(struct inode *inode, struct file *file)
{
	struct l3l2q_pci_dev *pd = inode->i_private;
	int ret;

	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	mutex_lock(&pd->lock);
	ret = pd->dev.gone ? -ENODEV : l3l2q_devmap_get(pd);
	if (!ret) {
		l3l2q_dev_get(&pd->dev);
		file->f_mapping = pd->inode->i_mapping;
		file->private_data = pd;
	}
	mutex_unlock(&pd->lock);
	return ret;
}

static int l3l2q_devmap_mem_release(struct inode *inode, struct file *file)
{
	struct l3l2q_pci_dev *pd = file->private_data;

	mutex_lock(&pd->lock);
	l3l2q_devmap_put(pd);
	mutex_unlock(&pd->lock);
	l3l2q_dev_put(&pd->dev);
	return 0;
}

static int l3l2q_devmap_mem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct l3l2q_pci_dev *pd = file->private_data;
	int ret;

	ret = l3l2q_devmap_setup(vma, pd->mem_bytes);
	if (ret)
		return ret;
	if (READ_ONCE(pd->dev.gone))
		return -ENODEV;
	vma->vm_ops = &l3l2q_devmap_mem_ops;
	vma->vm_private_data = pd;
	return 0;
}

const struct file_operations l3l2q_devmap_mem_fops = {
	.owner		= THIS_MODULE,
	.open		= l3l2q_devmap_mem_open,
	.release	= l3l2q_devmap_mem_release,
	.mmap		= l3l2q_devmap_mem_mmap,
};
