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

#include <linux/eventfd.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/version.h>

/*
 * 6.1.23 is where io_uring_cmd_done() and the task-work callback gained
 * issue_flags (a 6.3 change backported to 6.1.y); this driver calls both
 * in that form.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 23)
#error "l3l2q needs Linux 6.1.23 or later"
#endif

/* 6.8 moved the uring_cmd API out of <linux/io_uring.h>. */
#if defined(L3L2Q_HAVE_IO_URING_CMD_H) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif
#include <linux/io_uring_types.h>

/*
 * 6.3 made vma->vm_flags const and added vm_flags_set()/vm_flags_clear(),
 * which also take the per-VMA lock; direct writes no longer compile.
 */
#if defined(L3L2Q_HAVE_VM_FLAGS_SET) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define L3L2Q_VM_FLAGS_WRAPPERS	1
#else
#define L3L2Q_VM_FLAGS_WRAPPERS	0
#endif

/**
 * l3l2q_vm_flags_set() - set flags on a VMA being set up by ->mmap
 * @vma: the VMA
 * @flags: the VM_* flags to set
 */
static inline void l3l2q_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
#if L3L2Q_VM_FLAGS_WRAPPERS
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/**
 * l3l2q_vm_flags_clear() - clear flags on a VMA being set up by ->mmap
 * @vma: the VMA
 * @flags: the VM_* flags to clear
 */
static inline void l3l2q_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
#if L3L2Q_VM_FLAGS_WRAPPERS
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/**
 * l3l2q_eventfd_signal() - add 1 to an eventfd
 * @ctx: the eventfd
 *
 * eventfd_signal(): 6.8 dropped the count argument (always 1) and the
 * return value.  Nothing here uses the return value.  Any context.
 */
static inline void l3l2q_eventfd_signal(struct eventfd_ctx *ctx)
{
#if defined(L3L2Q_EVENTFD_SIGNAL_1ARG) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/**
 * l3l2q_uring_cmd_payload() - where a uring_cmd's payload is
 * @ioucmd: the command, at issue
 *
 * The uring_cmd payload (the SQE's cmd bytes: 16, or 80 with SQE128).
 * 6.1 hands the driver a pointer to the payload; later kernels pass the
 * whole SQE and io_uring_sqe_cmd() finds the payload in it.  Either way
 * it is usually the live SQ ring, which user space can rewrite at any
 * time: copy it once, then validate the copy.
 *
 * Return: the payload's address, valid during the issue call only.
 */
static inline const void *l3l2q_uring_cmd_payload(struct io_uring_cmd *ioucmd)
{
#if defined(L3L2Q_HAVE_IO_URING_SQE_CMD) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return io_uring_sqe_cmd(ioucmd->sqe);
#else
	return ioucmd->cmd;
#endif
}

/*
 * Cancelable uring_cmds (6.7): io_uring calls ->uring_cmd with
 * IO_URING_F_CANCEL for a command marked cancelable when its task exits or
 * its ring goes away.  Without them (6.1) a queued command is never
 * cancelled: the driver alone must complete it, so every queued command
 * has a deadline there (l3l2q_uring.c).
 */
#if defined(L3L2Q_HAVE_URING_CANCEL) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define L3L2Q_URING_CAN_CANCEL		1
#define L3L2Q_IO_URING_F_CANCEL		IO_URING_F_CANCEL
#else
#define L3L2Q_URING_CAN_CANCEL		0
#define L3L2Q_IO_URING_F_CANCEL		0
#endif

/**
 * l3l2q_uring_cmd_mark_cancelable() - let io_uring cancel a queued command
 * @ioucmd: a command about to be queued (-EIOCBQUEUED), never one that
 *	completes at issue
 * @issue_flags: the issue call's flags
 *
 * A no-op where io_uring cannot cancel commands (6.1).
 */
static inline void l3l2q_uring_cmd_mark_cancelable(struct io_uring_cmd *ioucmd,
						   unsigned int issue_flags)
{
#if L3L2Q_URING_CAN_CANCEL
	io_uring_cmd_mark_cancelable(ioucmd, issue_flags);
#endif
}

/*
 * A command's pdu (32 bytes on both kernels) as the driver's own type.
 * 6.12 has io_uring_cmd_to_pdu(), which checks the size at build time;
 * elsewhere the same check is spelt out.
 */
#if defined(L3L2Q_HAVE_URING_CMD_TO_PDU)
#define l3l2q_uring_cmd_to_pdu(cmd, type)	io_uring_cmd_to_pdu(cmd, type)
#else
#define l3l2q_uring_cmd_to_pdu(cmd, type) ({				\
	BUILD_BUG_ON(sizeof(type) > sizeof_field(struct io_uring_cmd, pdu)); \
	(type *)&(cmd)->pdu;						\
})
#endif

/**
 * l3l2q_uring_cmd_holds_file() - whether a command holds its file
 * @ioucmd: the command
 *
 * A command on a registered (fixed) file does not: the ring's file table
 * holds one reference for all of them.  Both trees define
 * cmd_to_io_kiocb() and REQ_F_FIXED_FILE in <linux/io_uring_types.h>
 * (6.12's own cmd.h uses the former).
 *
 * Return: true if the command holds a reference on its file.
 */
static inline bool l3l2q_uring_cmd_holds_file(struct io_uring_cmd *ioucmd)
{
	return !(cmd_to_io_kiocb(ioucmd)->flags & REQ_F_FIXED_FILE);
}

/**
 * l3l2q_hrtimer_setup() - initialise an hrtimer and set its callback
 * @timer: the timer
 * @function: its callback
 * @clock_id: the clock
 * @mode: the mode
 *
 * hrtimer_setup() (6.13) sets the callback with the clock and mode and
 * replaces hrtimer_init(), which later kernels remove.  Neither tree here
 * has it yet; the probe picks it up on a kernel that does.
 */
static inline void
l3l2q_hrtimer_setup(struct hrtimer *timer,
		    enum hrtimer_restart (*function)(struct hrtimer *),
		    clockid_t clock_id, enum hrtimer_mode mode)
{
#if defined(L3L2Q_HAVE_HRTIMER_SETUP)
	hrtimer_setup(timer, function, clock_id, mode);
#else
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
#endif
}

#endif /* L3L2Q_COMPAT_H */
