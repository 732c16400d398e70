// SPDX-License-Identifier: MIT
/*
 * Signals on /dev/l3l2q: the driver makes, formats and watches the region
 * (kind L3L2Q_KIND_SIGNALS); the core sleeps in L3L2Q_IOC_SIG_WAIT (W4)
 * and kicks with L3L2Q_IOC_SIG_KICK (N4).  The wait fd is an eventfd the
 * driver signals on every kick of this role and on the peer's death
 * (SET_EVENTFD).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "queue.h"
#include "signals_user.h"

static int device_sig_sleep(void *ctx, const struct l3l2q_sig_waitv *v,
			    __u32 n, __u64 deadline_ns)
{
	struct l3l2q_signals *sg = ctx;
	struct l3l2q_sig_waitv copy[L3L2Q_SIG_WAITV_MAX];
	struct l3l2q_sig_wait_args a = {
		.waitv = (__u64)(uintptr_t)copy, .nr = n,
		.deadline_ns = deadline_ns,
	};

	if (n == 0 || n > L3L2Q_SIG_WAITV_MAX)
		return -EINVAL;
	memcpy(copy, v, n * sizeof(*v));
	return ioctl(sg->fd, L3L2Q_IOC_SIG_WAIT, &a) ? -errno : 0;
}

static void device_sig_kick(void *ctx, __u32 role, __u32 id)
{
	struct l3l2q_signals *sg = ctx;
	struct l3l2q_sig_kick_args a = { .id = id, .role = role };

	(void)ioctl(sg->fd, L3L2Q_IOC_SIG_KICK, &a);	/* never fails */
}

/* Map the role fd, bind the core, register the wait fd. */
static int device_bind(struct l3l2q_signals *sg, struct l3l2q_error *err)
{
	struct l3l2q_eventfd_args e = { .fd = -1 };
	int ret;

	sg->map_bytes = (size_t)sg->layout.total_bytes;
	ret = l3l2q__sig_map(sg, err);
	if (!ret)
		ret = l3l2q__sig_bind(sg, device_sig_sleep, device_sig_kick,
				      err);
	if (ret)
		return ret;
	sg->efd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e.fd = sg->efd[0];
	if (sg->efd[0] < 0 || ioctl(sg->fd, L3L2Q_IOC_SET_EVENTFD, &e))
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT,
					 "eventfd or SET_EVENTFD failed");
	return 0;
}

int l3l2q__sig_device_create(struct l3l2q_signals *sg,
			     const struct l3l2q_sig_params *p,
			     struct l3l2q_error *err)
{
	struct l3l2q_create_args a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.kind = L3L2Q_KIND_SIGNALS;
	a.data_bytes = p->data_bytes;
	a.signal_count = p->signal_count;
	a.hdmem_flags = p->hdmem_flags;
	a.sig_flags = p->sig_flags;
	a.fd = -1;
	ret = l3l2q__device_create(&a, L3L2Q_EOP_SIG_INIT, err);
	if (ret)
		return ret;
	sg->fd = a.fd;
	if (a.off.total_bytes != sg->layout.total_bytes)
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "the driver's layout is not ours");
	return device_bind(sg, err);
}

int l3l2q__sig_device_peer_fd(struct l3l2q_signals *sg)
{
	struct l3l2q_peer_args a;

	memset(&a, 0, sizeof(a));
	a.fd = -1;
	return ioctl(sg->fd, L3L2Q_IOC_PEER, &a) ? -errno : a.fd;
}

/* The driver's INFO, never the page, gives the geometry (P5). */
int l3l2q__sig_device_attach(struct l3l2q_signals *sg, int fd,
			     struct l3l2q_error *err)
{
	struct l3l2q_info_args info;
	enum l3l2q_sig_layout_status st;

	if (ioctl(fd, L3L2Q_IOC_INFO, &info) || info.kind != L3L2Q_KIND_SIGNALS)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT,
					 "fd: not a signals region's fd");
	st = l3l2q_sig_layout(info.data_bytes, info.signal_count,
			      info.hdmem_flags, info.sig_flags, &sg->layout);
	if (st != L3L2Q_SIG_LAYOUT_OK ||
	    sg->layout.total_bytes != info.off.total_bytes)
		return l3l2q__user_error(err, EPROTO, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 "INFO's geometry is not a layout we know");
	sg->role = info.role;
	sg->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (sg->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT, "dup of fd failed");
	return device_bind(sg, err);
}
