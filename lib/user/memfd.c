// SPDX-License-Identifier: MIT
/*
 * The memfd backing: the region is a sealed memfd shared by fork or
 * SCM_RIGHTS.  Seals stop either side from shrinking the file under the
 * other's mapping (which would turn accesses into SIGBUS).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "atomic.h"

#define REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static int map_fd(struct l3l2q_queue *q, int fd, size_t bytes,
		  struct l3l2q_error *err)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT, "mmap of the region failed");
	q->map = p;
	q->map_bytes = bytes;
	return 0;
}

static int memfd_create_region(struct l3l2q_queue *q,
			       const struct l3l2q_params *p,
			       struct l3l2q_error *err)
{
	int fd, ret;

	(void)p;
	fd = memfd_create("l3l2q", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT, "memfd_create failed");
	if (ftruncate(fd, (off_t)q->off.total_bytes) ||
	    fcntl(fd, F_ADD_SEALS, REQUIRED_SEALS)) {
		ret = l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					L3L2Q_EOP_INIT,
					"sizing or sealing the memfd failed");
		close(fd);
		return ret;
	}
	ret = map_fd(q, fd, q->off.total_bytes, err);
	if (ret) {
		close(fd);
		return ret;
	}
	q->fd = fd;
	return 0;
}

static int memfd_peer_fd(struct l3l2q_queue *q)
{
	int fd = fcntl(q->fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

static int memfd_attach(struct l3l2q_queue *q, int fd, struct l3l2q_error *err)
{
	struct stat st;
	int seals, own, ret;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS)
		return l3l2q__user_error(err, ENOTTY, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "fd is not a sealed l3l2q memfd");
	if (fstat(fd, &st))
		return l3l2q__user_error(err, errno, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH, "fstat failed");
	if (st.st_size < (off_t)(L3L2Q_CTRL_BYTES + L3L2Q_REGION_ALIGN))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "memfd is too small for a queue region");
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "dup of fd failed");
	ret = map_fd(q, own, (size_t)st.st_size, err);
	if (ret) {
		close(own);
		return ret;
	}
	q->fd = own;
	return 0;
}

static void memfd_destroy(struct l3l2q_queue *q)
{
	/*
	 * Release: everything this role published is visible before the
	 * peer learns that the role is gone.
	 */
	if (q->mem.ctrl)
		l3l2q_store_release_u32((__u32 *)((char *)q->mem.ctrl +
				(q->role == L3L2Q_ROLE_L3 ? L3L2Q_CTRL_L3_STATE :
				 L3L2Q_CTRL_L2_STATE)), L3L2Q_ROLE_DEAD);
	if (q->map)
		munmap(q->map, q->map_bytes);
	if (q->fd >= 0)
		close(q->fd);
	q->map = NULL;
	q->fd = -1;
}

const struct l3l2q_backing l3l2q_memfd_backing = {
	.name = "memfd",
	.id = L3L2Q_BACKEND_MEMFD,
	.create = memfd_create_region,
	.peer_fd = memfd_peer_fd,
	.attach = memfd_attach,
	.destroy = memfd_destroy,
};
