/* SPDX-License-Identifier: MIT */
/*
 * libl3l2q_signals.h - signals regions (HDMEM: a data area and 64-bit
 * signals) as library objects, on a memfd or on /dev/l3l2q.
 *
 * l3l2q_sig_create() makes a region and binds this process to it as L3;
 * l3l2q_sig_peer_fd() gives the fd the L2 process passes to
 * l3l2q_sig_attach().  Both sides then use the core's handle
 * (l3l2q_signals_handle(), l3l2q_signals_core.h): notify, wait, data.
 * Its waits spin, then sleep: on a memfd in poll() on this role's eventfd
 * (a notify that crosses the target writes it), on the driver in
 * L3L2Q_IOC_SIG_WAIT.  The peer's death ends every wait with -ECONNRESET.
 * Every function returns 0 or a negative errno (never errno), and fills
 * @err, if given, with a message naming the field at fault.
 */
#ifndef LIBL3L2Q_SIGNALS_H
#define LIBL3L2Q_SIGNALS_H

#include "libl3l2q.h"
#include "l3l2q_signals_core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct l3l2q_sig_params {
	__u64 data_bytes;		/* non-zero */
	__u32 signal_count;		/* 1 .. L3L2Q_SIG_COUNT_MAX */
	__u32 hdmem_flags;		/* stored in the HDMEM header only */
	__u32 sig_flags;		/* L3L2Q_SIG_F_* */
	__u32 backend;			/* enum l3l2q_backend */
	__u64 resv[2];			/* must be zero */
};

struct l3l2q_signals;

int l3l2q_sig_create(const struct l3l2q_sig_params *p,
		     struct l3l2q_signals **sp, struct l3l2q_error *err);
int l3l2q_sig_peer_fd(struct l3l2q_signals *sg);
int l3l2q_sig_attach(int fd, struct l3l2q_signals **sp,
		     struct l3l2q_error *err);
void l3l2q_sig_destroy(struct l3l2q_signals *sg);
struct l3l2q_sig *l3l2q_signals_handle(struct l3l2q_signals *sg);
int l3l2q_signals_wait_fd(const struct l3l2q_signals *sg);

#ifdef __cplusplus
}
#endif

#endif /* LIBL3L2Q_SIGNALS_H */
