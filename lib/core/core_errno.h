/* SPDX-License-Identifier: MIT */
/*
 * The errno values the core returns.  The kernel and hosted user space take
 * them from their own headers; a bare-metal device build gets Linux's
 * asm-generic numbers, so both ends of a queue agree on them.
 */
#ifndef L3L2Q_CORE_ERRNO_H
#define L3L2Q_CORE_ERRNO_H

#if defined(__KERNEL__)
#include <linux/errno.h>
#elif defined(__linux__)
#include <asm-generic/errno.h>
#else
#define EAGAIN		11
#define EINVAL		22
#define EPIPE		32
#define EMSGSIZE	90
#define EPROTO		71
#define ECONNRESET	104
#define ESHUTDOWN	108
#define ETIMEDOUT	110
#define EBUSY		16
#define ENOTTY		25
#define EINTR		4
#define EOPNOTSUPP	95
#define EOWNERDEAD	130
#endif

#endif /* L3L2Q_CORE_ERRNO_H */
