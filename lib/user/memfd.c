// SPDX-License-Identifier: MIT
/*
 * The memfd backing: the region is a sealed memfd shared by fork or
 * SCM_RIGHTS.  Seals stop either side from shrinking the file under the
 * other's mapping (which would turn accesses into SIGBUS).  With no kernel
 * in the middle, the library itself initialises the region, claims the L2
 * role and marks a role dead when it is destroyed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"
#include "atomic.h"

#define REQUIRED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static __u32 *ctrl_word(struct l3l2q_queue *q, unsigned int off)
{
	return (__u32 *)((char *)q->map + q->off.ctrl_offset + off);
}

static int memfd_create_region(struct l3l2q_queue *q,
			       const struct l3l2q_params *p,
			       struct l3l2q_error *err)
{
	struct l3l2q_mem mem;
	int ret;

	if (!l3l2q_region_layout(&q->layout, &q->off))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "region size overflows 64 bits");
	q->fd = memfd_create("l3l2q", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (q->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT, "memfd_create failed");
	if (ftruncate(q->fd, (off_t)q->off.total_bytes) ||
	    fcntl(q->fd, F_ADD_SEALS, REQUIRED_SEALS)) {
		ret = l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					L3L2Q_EOP_INIT,
					"sizing or sealing the memfd failed");
		l3l2q__unmap(q);
		return ret;
	}
	ret = l3l2q__map(q, q->off.total_bytes, err);
	if (ret)
		return ret;
	mem.ctrl = (char *)q->map + q->off.ctrl_offset;
	mem.counters = (char *)q->map + q->off.counter_offset;
	mem.payload = (char *)q->map + q->off.payload_offset;
	mem.region_id = 0;
	l3l2q_region_init(&mem, &q->layout, p->start_pos, p->flags);
	/* Release: the initialised region is visible before the role is. */
	l3l2q_store_release_u32(ctrl_word(q, L3L2Q_CTRL_L3_STATE),
				L3L2Q_ROLE_LIVE);
	return 0;
}

static int memfd_peer_fd(struct l3l2q_queue *q)
{
	int fd = fcntl(q->fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/* Read the creator's header once, validate the copy, use only the copy. */
static int read_header(struct l3l2q_queue *q, struct l3l2q_error *err)
{
	struct l3l2q_ctrl_hdr h;
	struct l3l2q_region_offsets off;
	enum l3l2q_layout_status st;

	memcpy(&h, q->map, sizeof(h));
	if (h.magic != L3L2Q_CTRL_MAGIC || h.version != L3L2Q_CTRL_VERSION)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "control block magic or version mismatch");
	if (h.queue_magic_version != L3L2Q_QUEUE_MAGIC_VERSION)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "queue_magic_version mismatch");
	if (h.flags & ~L3L2Q_CREATE_ALL || h.resv0 || h.resv1)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "control block has unknown flags or non-zero resv");
	st = l3l2q_layout(h.depth, h.input_arena_bytes, h.output_arena_bytes,
			  &q->layout);
	if (st != L3L2Q_LAYOUT_OK)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 l3l2q_layout_strerror(st));
	if (!l3l2q_region_layout(&q->layout, &off) ||
	    off.total_bytes != q->map_bytes)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "region size does not match its geometry");
	q->off = off;
	q->start_pos = h.start_pos;
	return 0;
}

static int memfd_attach(struct l3l2q_queue *q, int fd, struct l3l2q_error *err)
{
	struct stat st;
	int seals, ret;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS)
		return l3l2q__user_error(err, ENOTTY, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "fd is neither an l3l2q queue fd nor a sealed l3l2q memfd");
	if (fstat(fd, &st))
		return l3l2q__user_error(err, errno, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH, "fstat failed");
	if (st.st_size < (off_t)(L3L2Q_CTRL_BYTES + L3L2Q_REGION_ALIGN))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
					 L3L2Q_EOP_ATTACH,
					 "memfd is too small for a queue region");
	q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (q->fd < 0)
		return l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "dup of fd failed");
	ret = l3l2q__map(q, (size_t)st.st_size, err);
	if (!ret)
		ret = read_header(q, err);
	if (ret)
		l3l2q__unmap(q);
	return ret;
}

static int memfd_claim(struct l3l2q_queue *q, struct l3l2q_error *err)
{
	/* One L2 per queue, ever (pitfall P15): claim the role atomically. */
	if (!l3l2q_cas_u32(ctrl_word(q, L3L2Q_CTRL_L2_STATE),
			   L3L2Q_ROLE_ABSENT, L3L2Q_ROLE_LIVE))
		return l3l2q__user_error(err, EBUSY, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH,
					 "the L2 role of this queue is already taken");
	return 0;
}

static void memfd_destroy(struct l3l2q_queue *q, int gone)
{
	/*
	 * Release: everything this role published is visible before the
	 * peer learns that the role is gone.
	 */
	if (gone && q->map)
		l3l2q_store_release_u32(ctrl_word(q, q->role == L3L2Q_ROLE_L3 ?
						  L3L2Q_CTRL_L3_STATE :
						  L3L2Q_CTRL_L2_STATE),
					L3L2Q_ROLE_DEAD);
	l3l2q__unmap(q);
}

const struct l3l2q_backing l3l2q_memfd_backing = {
	.name = "memfd",
	.id = L3L2Q_BACKEND_MEMFD,
	.create = memfd_create_region,
	.peer_fd = memfd_peer_fd,
	.attach = memfd_attach,
	.claim = memfd_claim,
	.destroy = memfd_destroy,
};
