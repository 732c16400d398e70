// SPDX-License-Identifier: MIT
/*
 * Signals regions as library objects: create, peer fd, attach, destroy,
 * on either backing (lib/user/signals_memfd.c, signals_device.c).
 */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "signals_user.h"

static __u64 sig_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

void l3l2q__sig_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static struct l3l2q_signals *sig_alloc(void)
{
	struct l3l2q_signals *sg = calloc(1, sizeof(*sg));

	if (!sg)
		return NULL;
	sg->fd = sg->efd[0] = sg->efd[1] = -1;
	sg->peer_pidfd = sg->back_sock = -1;
	sg->wset = sg->wset_tfd = -1;
	sg->owner = getpid();
	return sg;
}

/* Map sg->fd, map_bytes long, shared. */
int l3l2q__sig_map(struct l3l2q_signals *sg, struct l3l2q_error *err)
{
	void *m = mmap(NULL, sg->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		       sg->fd, 0);

	if (m == MAP_FAILED)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT,
					 "mmap of the region failed");
	sg->map = m;
	return 0;
}

int l3l2q__sig_bind(struct l3l2q_signals *sg,
		    int (*sleep)(void *, const struct l3l2q_sig_waitv *,
				 __u32, __u64),
		    void (*kick)(void *, __u32, __u32),
		    struct l3l2q_error *err)
{
	struct l3l2q_sig_mem mem = {
		.ctrl = sg->map,
		.hdmem = (char *)sg->map + sg->layout.hdmem_offset,
	};
	struct l3l2q_sig_env env = {
		.now_ns = sig_now, .sleep = sleep, .kick = kick, .ctx = sg,
	};
	int ret = l3l2q_sig_init(&sg->sig, sg->role, &mem, &sg->layout, &env);

	if (ret)
		return l3l2q__user_error(err, -ret, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_SIG_INIT,
					 l3l2q_sig_last_error(&sg->sig)->message);
	return 0;
}

static void sig_free(struct l3l2q_signals *sg)
{
	if (sg->map)
		munmap(sg->map, sg->map_bytes);
	l3l2q__sig_close_fd(&sg->fd);
	l3l2q__sig_close_fd(&sg->efd[0]);
	l3l2q__sig_close_fd(&sg->efd[1]);
	l3l2q__sig_close_fd(&sg->peer_pidfd);
	l3l2q__sig_close_fd(&sg->back_sock);
	l3l2q__sig_close_fd(&sg->wset);
	l3l2q__sig_close_fd(&sg->wset_tfd);
	free(sg);
}

static int check_params(const struct l3l2q_sig_params *p,
			struct l3l2q_sig_layout *l, struct l3l2q_error *err)
{
	enum l3l2q_sig_layout_status st;

	if (!p)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT, "p: NULL");
	if (p->resv[0] || p->resv[1])
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT,
					 "resv: must be zero");
	if (p->backend > L3L2Q_BACKEND_DEVICE)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT,
					 "backend: unknown");
	st = l3l2q_sig_layout(p->data_bytes, p->signal_count, p->hdmem_flags,
			      p->sig_flags, l);
	if (st != L3L2Q_SIG_LAYOUT_OK)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT,
					 l3l2q_sig_layout_strerror(st));
	return 0;
}

int l3l2q_sig_create(const struct l3l2q_sig_params *p,
		     struct l3l2q_signals **sp, struct l3l2q_error *err)
{
	struct l3l2q_signals *sg;
	int ret;

	if (!sp)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT, "sp: NULL");
	*sp = NULL;
	sg = sig_alloc();
	if (!sg)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT, "out of memory");
	ret = check_params(p, &sg->layout, err);
	if (ret)
		goto out_free;
	sg->role = L3L2Q_ROLE_L3;
	ret = -ENODEV;
	if (p->backend != L3L2Q_BACKEND_MEMFD) {
		sg->backend = L3L2Q_BACKEND_DEVICE;
		ret = l3l2q__sig_device_create(sg, p, err);
		if (ret != -ENODEV || p->backend == L3L2Q_BACKEND_DEVICE)
			goto out;
	}
	sg->backend = L3L2Q_BACKEND_MEMFD;
	ret = l3l2q__sig_memfd_create(sg, err);
out:
	if (ret)
		goto out_free;
	*sp = sg;
	return 0;
out_free:
	sig_free(sg);
	return ret;
}

int l3l2q_sig_peer_fd(struct l3l2q_signals *sg)
{
	if (!sg || sg->role != L3L2Q_ROLE_L3)
		return -EINVAL;
	if (sg->backend == L3L2Q_BACKEND_DEVICE)
		return l3l2q__sig_device_peer_fd(sg);
	return l3l2q__sig_memfd_peer_fd(sg);
}

int l3l2q_sig_attach(int fd, struct l3l2q_signals **sp,
		     struct l3l2q_error *err)
{
	struct l3l2q_signals *sg;
	struct stat st;
	int ret;

	if (!sp)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT, "sp: NULL");
	*sp = NULL;
	if (fd < 0 || fstat(fd, &st))
		return l3l2q__user_error(err, EBADF, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_SIG_INIT,
					 "fd: not an open file");
	sg = sig_alloc();
	if (!sg)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_SIG_INIT, "out of memory");
	sg->role = L3L2Q_ROLE_L2;
	if (S_ISSOCK(st.st_mode)) {
		sg->backend = L3L2Q_BACKEND_MEMFD;
		ret = l3l2q__sig_memfd_attach(sg, fd, err);
	} else {
		sg->backend = L3L2Q_BACKEND_DEVICE;
		ret = l3l2q__sig_device_attach(sg, fd, err);
	}
	if (ret) {
		sig_free(sg);
		return ret;
	}
	*sp = sg;
	return 0;
}

void l3l2q_sig_destroy(struct l3l2q_signals *sg)
{
	if (!sg)
		return;
	l3l2q_sig_close(&sg->sig);
	/* A fork child's copy only frees the child's resources. */
	if (sg->backend == L3L2Q_BACKEND_MEMFD && getpid() == sg->owner)
		l3l2q__sig_memfd_destroy(sg);
	sig_free(sg);
}

struct l3l2q_sig *l3l2q_signals_handle(struct l3l2q_signals *sg)
{
	return sg ? &sg->sig : NULL;
}

int l3l2q_signals_wait_fd(const struct l3l2q_signals *sg)
{
	if (!sg)
		return -EINVAL;
	return sg->backend == L3L2Q_BACKEND_MEMFD ? sg->efd[sg->role] :
						   sg->efd[0];
}
