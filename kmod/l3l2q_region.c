// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_region.c - the shared region: memory, limits, layout, mmap.
 *
 * The region is one vmalloc area of off.total_bytes, zeroed and charged to
 * the creator's memory cgroup (GFP_KERNEL_ACCOUNT), and to the creator's uid
 * against max_user_bytes.  Its sections (uapi l3l2q_region_layout()):
 *
 *   [control block, 4 KiB][counter block, own page][payload area]
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
 * q->off must be set.  On success the region is zeroed, charged and
 * q->region/q->nr_pages/q->user are set.
 */
int l3l2q_region_alloc(struct l3l2q_queue *q)
{
	u64 bytes = q->off.total_bytes;
	struct l3l2q_user *u;

	/* The uapi sections are 4 KiB aligned; pages must tile them. */
	BUILD_BUG_ON(L3L2Q_REGION_ALIGN % PAGE_SIZE);
	BUILD_BUG_ON(sizeof(struct l3l2q_ctrl_hdr) > L3L2Q_LINE_BYTES);

	u = l3l2q_user_charge(bytes);
	if (IS_ERR(u))
		return PTR_ERR(u);

	/*
	 * __vmalloc() rather than vmalloc_user(): only the former takes gfp
	 * flags, and __GFP_ACCOUNT charges the pages to the creator's memcg.
	 * The size is user controlled: no allocation-failure splat.
	 */
	q->region = __vmalloc(bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
			      __GFP_NOWARN);
	if (!q->region)
		goto out_uncharge;
	q->nr_pages = bytes >> PAGE_SHIFT;
	q->user = u;
	return 0;

out_uncharge:
	l3l2q_user_uncharge(u, bytes);
	return -ENOMEM;
}

void l3l2q_region_free(struct l3l2q_queue *q)
{
	vfree(q->region);
	l3l2q_user_uncharge(q->user, q->off.total_bytes);
}

/* ---------------------------------------------------------------------- */
/* Words the kernel writes                                                */
/* ---------------------------------------------------------------------- */

u32 *l3l2q_ctrl_word(struct l3l2q_queue *q, unsigned int offset)
{
	return q->region + q->off.ctrl_offset + offset;
}

s32 *l3l2q_counter_word(struct l3l2q_queue *q, unsigned int offset)
{
	return q->region + q->off.counter_offset + offset;
}

u32 *l3l2q_state_word(struct l3l2q_queue *q, enum l3l2q_end_role role)
{
	return l3l2q_ctrl_word(q, role == L3L2Q_END_L3 ? L3L2Q_CTRL_L3_STATE :
						       L3L2Q_CTRL_L2_STATE);
}

s32 *l3l2q_abort_word(struct l3l2q_queue *q, enum l3l2q_end_role role)
{
	return l3l2q_counter_word(q, role == L3L2Q_END_L3 ? L3L2Q_CTR_L3_ABORT :
							  L3L2Q_CTR_L2_ABORT);
}

/*
 * Give a fresh region its identity and starting state (the kernel's
 * counterpart of lib/core's l3l2q_region_init(), plus the role states).
 * No file refers to the queue yet, so plain stores are enough: the fd
 * that will make the pages reachable is published after this.
 */
void l3l2q_region_format(struct l3l2q_queue *q)
{
	struct l3l2q_ctrl_hdr *h = q->region + q->off.ctrl_offset;
	s32 start = l3l2q_low32(q->start_pos);

	h->magic = L3L2Q_CTRL_MAGIC;
	h->version = L3L2Q_CTRL_VERSION;
	h->queue_magic_version = L3L2Q_QUEUE_MAGIC_VERSION;
	h->depth = q->layout.depth;
	h->input_arena_bytes = q->layout.input_arena_bytes;
	h->output_arena_bytes = q->layout.output_arena_bytes;
	h->start_pos = q->start_pos;
	h->flags = q->flags;
	h->resv0 = 0;
	h->resv1 = 0;

	*l3l2q_state_word(q, L3L2Q_END_L3) = L3L2Q_ROLE_LIVE;
	*l3l2q_state_word(q, L3L2Q_END_L2) = L3L2Q_ROLE_ABSENT;

	/* Both directions start empty at start_pos (upstream reference §3). */
	*l3l2q_counter_word(q, L3L2Q_CTR_INPUT_TAIL) = start;
	*l3l2q_counter_word(q, L3L2Q_CTR_INPUT_HEAD) = start;
	*l3l2q_counter_word(q, L3L2Q_CTR_OUTPUT_TAIL) = start;
	*l3l2q_counter_word(q, L3L2Q_CTR_OUTPUT_HEAD) = start;
	*l3l2q_abort_word(q, L3L2Q_END_L3) = 0;
	*l3l2q_abort_word(q, L3L2Q_END_L2) = 0;
}

/* ---------------------------------------------------------------------- */
/* mmap                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * The pages a role may map, as [*first, *end) page indices.  Both roles may
 * map the whole region today; a narrower view for L2 would go here.
 */
static void l3l2q_role_view(struct l3l2q_queue *q, enum l3l2q_end_role role,
			    unsigned long *first, unsigned long *end)
{
	*first = 0;
	*end = q->nr_pages;
}

static struct page *l3l2q_region_page(struct l3l2q_queue *q,
				      unsigned long pgoff)
{
	return vmalloc_to_page(q->region + (pgoff << PAGE_SHIFT));
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
	struct l3l2q_queue *q = vmf->vma->vm_private_data;
	struct page *page;

	if (vmf->pgoff >= q->nr_pages)
		return VM_FAULT_SIGBUS;
	page = l3l2q_region_page(q, vmf->pgoff);
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
 * Errors: -EINVAL for a private mapping or a window outside the role's
 * view, -EPERM for an executable one.  The VMA holds a reference on the
 * role file, so the queue (vm_private_data) outlives the mapping.
 */
int l3l2q_region_mmap(struct l3l2q_queue *q, enum l3l2q_end_role role,
		      struct vm_area_struct *vma)
{
	unsigned long first, end, pgoff = vma->vm_pgoff;
	unsigned long nr = vma_pages(vma), i;
	int ret;

	/* A private mapping would get copy-on-write pages we never see. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;

	l3l2q_role_view(q, role, &first, &end);
	if (pgoff < first || pgoff >= end || nr > end - pgoff)
		return -EINVAL;

	/* No mprotect(PROT_EXEC) later; no growth, fork copy or core dump. */
	l3l2q_vm_flags_clear(vma, VM_MAYEXEC);
	l3l2q_vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &l3l2q_vm_ops;
	vma->vm_private_data = q;

	/* On error the caller (mmap_region) unmaps what was inserted. */
	for (i = 0; i < nr; i++) {
		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT),
				     l3l2q_region_page(q, pgoff + i));
		if (ret)
			return ret;
	}
	return 0;
}
