// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_host.c - the host-memory backend of /dev/l3l2q: region memory in
 * host pages, its accounting and its mapping.  The L2 role is a process
 * with its own role file, woken by the core; this backend rings no
 * doorbell.
 *
 * The region is one vmalloc area of off.total_bytes, zeroed, and charged
 * to its creator the way io_uring and AF_XDP charge their rings:
 *
 *   - the pages to the creator's memory cgroup (__GFP_ACCOUNT);
 *   - as locked memory to the creator's user (user->locked_vm) against
 *     RLIMIT_MEMLOCK, unless the creator has CAP_IPC_LOCK: the pages
 *     cannot be swapped or reclaimed while the region lives, so they are
 *     the locked memory that limit is for;
 *   - to the creating process's mm->pinned_vm (VmPin in /proc/<pid>/status)
 *     for accounting only, as io_uring does.
 *
 * Why user->locked_vm and not ucounts: the ucounts RLIMIT_MEMLOCK helpers
 * (inc_rlimit_ucounts(), user_shm_lock()) are not exported to modules on
 * either kernel (checked in both Module.symvers), and locked_vm is what
 * io_uring, AF_XDP, perf, BPF and VFIO charge.  Like theirs, the charge is
 * per uid, so a user with subordinate uids (a user namespace) has a
 * budget per uid it can become; the memory cgroup is the limit that
 * subordinate uids cannot multiply: it holds every page whoever creates
 * it.  The home-grown per-uid table (max_user_bytes) is gone: it was a
 * second, weaker version of the same two limits.
 *
 * User space maps it through a role file.  The mapping is shared only,
 * never executable, and exactly the window ->mmap checked: it cannot grow,
 * move, split or be inherited by fork(), not even after MADV_DOFORK
 * (VM_IO, l3l2q_host_mmap()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "l3l2q_compat.h"
#include "l3l2q_internal.h"

/* ---------------------------------------------------------------------- */
/* Accounting                                                             */
/* ---------------------------------------------------------------------- */

/* What a region is charged to (r->backend_priv). */
struct l3l2q_host_charge {
	unsigned long nr_pages;
	struct user_struct *user;	/* locked_vm; NULL with CAP_IPC_LOCK */
	struct mm_struct *mm;		/* pinned_vm (mmgrab()); or NULL */
};

/*
 * Charge @nr_pages of locked memory to the current user (RLIMIT_MEMLOCK)
 * and process (pinned_vm).  -ENOMEM if the user's locked memory would pass
 * the limit.
 */
static int l3l2q_host_charge(struct l3l2q_host_charge *c,
			     unsigned long nr_pages)
{
	unsigned long limit, cur, new;
	struct user_struct *user;

	c->nr_pages = nr_pages;
	if (!capable(CAP_IPC_LOCK)) {
		user = current_user();
		limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		cur = atomic_long_read(&user->locked_vm);
		do {
			if (nr_pages > limit || cur > limit - nr_pages) {
				pr_debug("create: %lu more locked pages pass RLIMIT_MEMLOCK (%lu pages, %lu in use)\n",
					 nr_pages, limit, cur);
				return -ENOMEM;
			}
			new = cur + nr_pages;
		} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
		c->user = get_uid(user);
	}
	if (current->mm) {
		mmgrab(current->mm);
		c->mm = current->mm;
		atomic64_add(nr_pages, &c->mm->pinned_vm);
	}
	return 0;
}

static void l3l2q_host_uncharge(struct l3l2q_host_charge *c)
{
	if (c->user) {
		atomic_long_sub(c->nr_pages, &c->user->locked_vm);
		free_uid(c->user);
		c->user = NULL;
	}
	if (c->mm) {
		atomic64_sub(c->nr_pages, &c->mm->pinned_vm);
		mmdrop(c->mm);
		c->mm = NULL;
	}
}

/* ---------------------------------------------------------------------- */
/* Memory                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * r->off must be set.  On success the memory is zeroed and charged, and
 * r->mem and r->backend_priv (the charge) are set.  Errors: -E2BIG (larger
 * than max_queue_bytes), -ENOMEM (RLIMIT_MEMLOCK, the memory cgroup's
 * limit, or no memory).
 */
static int l3l2q_host_alloc(struct l3l2q_region *r)
{
	unsigned long max = READ_ONCE(l3l2q_max_queue_bytes);
	u64 bytes = r->off.total_bytes;
	struct l3l2q_host_charge *c;
	int ret;

	/* Regions are laid out in 4 KiB sections; pages must tile them. */
	BUILD_BUG_ON(L3L2Q_REGION_ALIGN % PAGE_SIZE);

	if (bytes > max) {
		pr_debug("create: a %llu-byte region exceeds max_queue_bytes=%lu\n",
			 bytes, max);
		return -E2BIG;
	}
	c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	if (!c)
		return -ENOMEM;
	ret = l3l2q_host_charge(c, bytes >> PAGE_SHIFT);
	if (ret)
		goto out_free;

	/*
	 * __vmalloc() rather than vmalloc_user(): only the former takes gfp
	 * flags, and __GFP_ACCOUNT charges the pages to the creator's memcg.
	 * The size is user controlled: no allocation-failure splat, and
	 * __GFP_RETRY_MAYFAIL so that a region over the memory cgroup's limit
	 * is -ENOMEM for the caller, not the cgroup's OOM killer.
	 */
	r->mem = __vmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
			   __GFP_NOWARN | __GFP_RETRY_MAYFAIL);
	if (!r->mem) {
		ret = -ENOMEM;
		goto out_uncharge;
	}
	r->backend_priv = c;
	return 0;

out_uncharge:
	l3l2q_host_uncharge(c);
out_free:
	kfree(c);
	return ret;
}

static void l3l2q_host_free(struct l3l2q_region *r)
{
	vfree(r->mem);
	l3l2q_host_uncharge(r->backend_priv);
	kfree(r->backend_priv);
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

/*
 * A mapping goes (munmap, exit).  It held the role file; if the role's own
 * pending io_uring WAITs are all that holds it now, they are cancelled
 * (l3l2q_uring_user_gone()).
 */
static void l3l2q_vm_close(struct vm_area_struct *vma)
{
	l3l2q_uring_user_gone(vma->vm_file->private_data, vma->vm_file);
}

static const struct vm_operations_struct l3l2q_vm_ops = {
	.close		= l3l2q_vm_close,
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

	/*
	 * No mprotect(PROT_EXEC) later; no growth, fork copy or core dump.
	 * VM_DONTCOPY alone is undone by madvise(MADV_DOFORK), after which a
	 * child shares the mapping and holds the role file past its
	 * parent's death; madvise() refuses MADV_DOFORK on VM_IO mappings,
	 * which makes it stick.  VM_IO also makes get_user_pages() refuse
	 * the region: O_DIRECT to or from it, io_uring fixed buffers over it,
	 * process_vm_readv() and ptrace peeks into it fail, and futexes on
	 * its words are not supported (docs/driver.rst).  Nothing the queue
	 * protocol does needs any of them.
	 */
	l3l2q_vm_flags_clear(vma, VM_MAYEXEC);
	l3l2q_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP |
			   VM_IO);
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
