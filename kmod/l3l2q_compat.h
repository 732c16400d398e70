/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l3l2q_compat.h - the only place where kernel versions differ.
 *
 * Supported: Debian 12's 6.1 and 6.12 cloud kernels.  Where a change could
 * have been backported, the top-level Kbuild greps the header tree and
 * defines L3L2Q_HAVE_*; the version check is only the fallback.
 */
#ifndef L3L2Q_COMPAT_H
#define L3L2Q_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "l3l2q needs Linux 6.1 or later"
#endif

/*
 * 6.3 made vma->vm_flags const and added vm_flags_set()/vm_flags_clear(),
 * which also take the per-VMA lock; direct writes no longer compile.
 */
#if defined(L3L2Q_HAVE_VM_FLAGS_SET) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline void l3l2q_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

static inline void l3l2q_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vm_flags_clear(vma, flags);
}
#else
static inline void l3l2q_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void l3l2q_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

#endif /* L3L2Q_COMPAT_H */
