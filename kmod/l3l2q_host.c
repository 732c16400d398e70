// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_host.c - the host-memory backend of /dev/l3l2q: region memory in
 * host pages, its limits and its mapping.  The L2 role is a process with
 * its own role file, woken by the core; this backend rings no doorbell.
 *
 * The region is one vmalloc area of off.total_bytes, zeroed and charged to
 * the creator's memory cgroup (GFP_KERNEL_ACCOUNT), and to the creator's uid
 * against max_user_bytes.  Its sections are the kind's (for a queue, uapi
 * l3l2q_region_layout(): control block, counter block, payload area).
 *
 * User space maps it through a role file.  The mapping is shared only,
 * never executable, and exactly the window ->mmap checked: it cannot grow,
 * move, split or be inherited by fork().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"

/* ---------------------------------------------------------------------- */
/* Limits                                                                 */
/* ---------------------------------------------------------------------- */

/* Region bytes one uid holds; see l3l2q_user_charge(). */
struct l3l2q_user {
	struct list_head node;		/* on l3l2q_users, under its lock */
	kuid_t uid;
	u64 bytes;			/* protected by l3l2q_users_lock */
	unsigned int nr_queues;		/* protected by l3l2q_users_lock */
};

/*
 * Per-uid totals.  The uid is the creator's real uid, the one rlimits are
 * counted against.  There are few distinct creators, so a list will do.
 */
static DEFINE_MUTEX(l3l2q_users_lock);
static LIST_HEAD(l3l2q_users);

static struct l3l2q_user *l3l2q_user_find(kuid_t uid)
{
	struct l3l2q_user *u;

	list_for_each_entry(u, &l3l2q_users, node)
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/*
 * Charge @bytes to the current uid.  Errors:
 *   -E2BIG   the queue alone is larger than max_queue_bytes
 *   -EDQUOT  the uid's queues would exceed max_user_bytes
 */
static struct l3l2q_user *l3l2q_user_charge(u64 bytes)
{
	unsigned long max_queue = READ_ONCE(l3l2q_max_queue_bytes);
	unsigned long max_user = READ_ONCE(l3l2q_max_user_bytes);
	kuid_t uid = current_uid();
	struct l3l2q_user *u;

	if (bytes > max_queue) {
		pr_info_ratelimited("a %llu-byte region exceeds max_queue_bytes=%lu\n",
				    bytes, max_queue);
		return ERR_PTR(-E2BIG);
	}

	mutex_lock(&l3l2q_users_lock);
	u = l3l2q_user_find(uid);
	if (!u) {
		u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
		if (!u) {
			u = ERR_PTR(-ENOMEM);
			goto out_unlock;
		}
		u->uid = uid;
		list_add(&u->node, &l3l2q_users);
	}
	if (bytes > max_user || u->bytes > max_user - bytes) {
		pr_info_ratelimited("uid %u holds %llu region bytes, %llu more exceed max_user_bytes=%lu\n",
				    from_kuid(&init_user_ns, uid), u->bytes,
				    bytes, max_user);
		if (!u->nr_queues) {
			list_del(&u->node);
			kfree(u);
		}
		u = ERR_PTR(-EDQUOT);
		goto out_unlock;
	}
	u->bytes += bytes;
	u->nr_queues++;
out_unlock:
	mutex_unlock(&l3l2q_users_lock);
	return u;
}

static void l3l2q_user_uncharge(struct l3l2q_user *u, u64 bytes)
{
	mutex_lock(&l3l2q_users_lock);
	u->bytes -= bytes;
	if (!--u->nr_queues) {
		list_del(&u->node);
		kfree(u);
	}
	mutex_unlock(&l3l2q_users_lock);
}

/* ---------------------------------------------------------------------- */
/* Memory                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * r->off must be set.  On success the memory is zeroed and charged, and
 * r->mem and r->backend_priv (the uid's account) are set.
 */
static int l3l2q_host_alloc(struct l3l2q_region *r)
{
	u64 bytes = r->off.total_bytes;
	struct l3l2q_user *u;

	/* Regions are laid out in 4 KiB sections; pages must tile them. */
	BUILD_BUG_ON(L3L2Q_REGION_ALIGN % PAGE_SIZE);

	u = l3l2q_user_charge(bytes);
	if (IS_ERR(u))
		return PTR_ERR(u);

	/*
	 * __vmalloc() rather than vmalloc_user(): only the former takes gfp
	 * flags, and __GFP_ACCOUNT charges the pages to the creator's memcg.
	 * The size is user controlled: no allocation-failure splat.
	 */
	r->mem = __vmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
			   __GFP_NOWARN);
	if (!r->mem)
		goto out_uncharge;
	r->backend_priv = u;
	return 0;

out_uncharge:
	l3l2q_user_uncharge(u, bytes);
	return -ENOMEM;
}

static void l3l2q_host_free(struct l3l2q_region *r)
{
	vfree(r->mem);
	l3l2q_user_uncharge(r->backend_priv, r->off.total_bytes);
}

/* ---------------------------------------------------------------------- */
/* mmap                                                                   */
/* ---------------------------------------------------------------------- */

static unsigned long l3l2q_host_nr_pages(struct l3l2q_region *r)
{
	return r->off.total_bytes >> PAGE_SHIFT;
}

static struct page *l3l2q_host_page(struct l3l2q_region *r,
				    unsigned long pgoff)
{
	return vmalloc_to_page(r->mem + (pgoff << PAGE_SHIFT));
}

/*
 * Each mapping is exactly the window l3l2q_region_mmap() checked.  A split,
 * a move or a shrink would leave VMAs the driver never looked at, and none
 * of them is needed to use a queue, so all are refused.  Growth is already
 * refused by VM_DONTEXPAND.
 */
static int l3l2q_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int l3l2q_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/*
 * The pages are inserted at mmap time; this runs only after user space
 * zapped some (MADV_DONTNEED) and touches them again.  Without it that
 * touch would be SIGBUS instead of finding the queue's data.
 */
static vm_fault_t l3l2q_vm_fault(struct vm_fault *vmf)
{
	struct l3l2q_region *r = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= l3l2q_host_nr_pages(r))
		return VM_FAULT_SIGBUS;
	page = l3l2q_host_page(r, vmf->pgoff);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct l3l2q_vm_ops = {
	.may_split	= l3l2q_vm_may_split,
	.mremap		= l3l2q_vm_mremap,
	.fault		= l3l2q_vm_fault,
};

/*
 * Errors: -EINVAL for a private mapping or a window outside the region,
 * -EPERM for an executable one.  The VMA holds a reference on the role
 * file, so the region (vm_private_data) outlives the mapping.  Both roles
 * may map the whole region.
 */
static int l3l2q_host_mmap(struct l3l2q_region *r, struct vm_area_struct *vma)
{
	unsigned long pgoff = vma->vm_pgoff, end = l3l2q_host_nr_pages(r);
	unsigned long nr = vma_pages(vma), i;
	int ret;

	/* A private mapping would get copy-on-write pages we never see. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (pgoff >= end || nr > end - pgoff)
		return -EINVAL;

	/* No mprotect(PROT_EXEC) later; no growth, fork copy or core dump. */
	l3l2q_vm_flags_clear(vma, VM_MAYEXEC);
	l3l2q_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &l3l2q_vm_ops;
	vma->vm_private_data = r;

	/* On error the caller (mmap_region) unmaps what was inserted. */
	for (i = 0; i < nr; i++) {
		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT),
				     l3l2q_host_page(r, pgoff + i));
		if (ret)
			return ret;
	}
	return 0;
}

const struct l3l2q_backend_ops l3l2q_host_backend = {
	.name	= "host",
	.alloc	= l3l2q_host_alloc,
	.free	= l3l2q_host_free,
	.mmap	= l3l2q_host_mmap,
};
