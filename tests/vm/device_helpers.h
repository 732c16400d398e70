/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the in-VM device suites: finding the ivshmem devices the
 * driver bound, their debugfs view, the raw device memory and its
 * directory, unbinding, removing and rescanning them, a queue's L3 endpoint
 * over a device region, io_uring WAITs, and a stand-in device.
 *
 * The stand-in plays the device from inside the guest: it maps the whole
 * device memory through /sys/kernel/debug/l3l2q/l3l2q<N>/mem and does what
 * device firmware does, from uapi/l3l2q.h and lib/core only - its line in
 * the directory, a heartbeat, and an L2 endpoint per LIVE slot that never
 * kicks.  It cannot interrupt the host (no MSI-X for a guest process), so
 * it serves ivshmem-plain devices: every wake-up it earns comes from the
 * driver's poller.
 */
#ifndef L3L2Q_DEVICE_HELPERS_H
#define L3L2Q_DEVICE_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q.h"
#include "l3l2q_core.h"
#include "libl3l2q.h"
#include "vm_helpers.h"
#include "wait_cmd.h"
#include "vmctl.h"
#include "../../tools/l3l2q_task.h"

#define MS		1000000ull	/* ns */
#define SEC		1000000000ull	/* ns */
#define FOREVER		(~0ull)

#define PCI_DRV_DIR	"/sys/bus/pci/drivers/l3l2q"

/* ---------------------------------------------------------------------- */
/* Finding devices                                                        */
/* ---------------------------------------------------------------------- */

/* Copy @src into @dst[@len], truncated, always terminated. */
static inline void scpy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

struct ivs {
	char name[32];			/* l3l2q<N> */
	char node[64];			/* /dev/l3l2q<N> */
	char bdf[32];			/* 0000:00:03.0 */
	char dbg[96];			/* debugfs directory */
	unsigned long long mem_bytes;
	unsigned int nr_vectors;
};

/* "key: value" of a device's debugfs state file; 0 if found. */
static inline int ivs_str(const struct ivs *d, const char *key, char *out,
			  size_t len)
{
	char path[160], line[256];
	size_t klen = strlen(key);
	int found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/state", d->dbg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			copy_word(out, len, line + klen + 1);
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

/* A number of the state file (decimal or 0x hex); -1 if absent. */
static inline long long ivs_num(const struct ivs *d, const char *key)
{
	char v[64];

	if (ivs_str(d, key, v, sizeof(v)))
		return -1;
	return (long long)strtoull(v, NULL, 0);
}

/* Interrupts the device raised, all vectors together (state irqs_v*). */
static inline long long ivs_irqs(const struct ivs *d)
{
	char path[160], line[256];
	long long sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/state", d->dbg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "irqs_v", 6) && strchr(line, ':'))
			sum += strtoll(strchr(line, ':') + 1, NULL, 10);
	fclose(f);
	return sum;
}

/* Fill @d for node l3l2q<N> named @name; 0 or -1. */
static inline int ivs_load(struct ivs *d, const char *name)
{
	char path[160], link[PATH_MAX];
	ssize_t n;
	char *slash;

	memset(d, 0, sizeof(*d));
	scpy(d->name, sizeof(d->name), name);
	snprintf(d->node, sizeof(d->node), "/dev/%s", name);
	snprintf(d->dbg, sizeof(d->dbg), DBG_DIR "/%s", name);
	snprintf(path, sizeof(path), "/sys/class/misc/%s/device", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	slash = strrchr(link, '/');
	scpy(d->bdf, sizeof(d->bdf), slash ? slash + 1 : link);
	d->mem_bytes = (unsigned long long)ivs_num(d, "mem_bytes");
	d->nr_vectors = (unsigned int)ivs_num(d, "nr_vectors");
	return d->mem_bytes > 0 ? 0 : -1;
}

/*
 * The first bound device with interrupts (@doorbell) or without; 0 or -1.
 * With @bdf non-empty, only that PCI device.
 */
static inline int ivs_find(struct ivs *d, int doorbell, const char *bdf)
{
	struct dirent *de;
	int ret = -1;
	DIR *dir;

	if (ensure_debugfs())
		return -1;
	dir = opendir("/sys/class/misc");
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "l3l2q", 5) || !de->d_name[5])
			continue;
		if (ivs_load(d, de->d_name))
			continue;
		if (bdf && *bdf && strcmp(bdf, d->bdf))
			continue;
		if ((d->nr_vectors > 0) == !!doorbell) {
			ret = 0;
			break;
		}
	}
	closedir(dir);
	return ret;
}

/* Wait up to @ms for the device at @bdf to be bound again; 0 or -1. */
static inline int ivs_wait_bound(struct ivs *d, int doorbell, const char *bdf,
				 unsigned int ms)
{
	char b[32];
	unsigned int i;

	scpy(b, sizeof(b), bdf);
	for (i = 0; i <= ms; i += 10) {
		if (!ivs_find(d, doorbell, b) && !access(d->node, F_OK))
			return 0;
		sleep_ms(10);
	}
	return -1;
}

static inline int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -errno;
}

static inline int ivs_unbind(const struct ivs *d)
{
	return write_str(PCI_DRV_DIR "/unbind", d->bdf);
}

static inline int ivs_bind(const struct ivs *d)
{
	return write_str(PCI_DRV_DIR "/bind", d->bdf);
}

/* Hot-unplug as the guest sees it: the PCI device is removed. */
static inline int ivs_remove(const struct ivs *d)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", d->bdf);
	return write_str(path, "1");
}

static inline int pci_rescan(void)
{
	return write_str("/sys/bus/pci/rescan", "1");
}

/* ---------------------------------------------------------------------- */
/* The raw device memory and its directory                                */
/* ---------------------------------------------------------------------- */

/* The whole device memory, as the device sees it; MAP_FAILED on error. */
static inline void *ivs_map(const struct ivs *d)
{
	char path[160];
	void *m;
	int fd;

	snprintf(path, sizeof(path), "%s/mem", d->dbg);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return MAP_FAILED;
	m = mmap(NULL, d->mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	close(fd);
	return m;
}

static inline struct l3l2q_dir_host *dir_host(void *m)
{
	return m;
}

static inline struct l3l2q_dir_dev *dir_dev(void *m)
{
	return (struct l3l2q_dir_dev *)((char *)m + 64);
}

static inline struct l3l2q_dir_slot *dir_slot(void *m, unsigned int i)
{
	return (struct l3l2q_dir_slot *)((char *)m + 128 + 64 * i);
}

static inline __u32 ld32(const __u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void st32(__u32 *p, __u32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline int cas32(__u32 *p, __u32 expect, __u32 want)
{
	return __atomic_compare_exchange_n(p, &expect, want, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static inline __u64 ld64(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* The slot that holds region @offset, or -1. */
static inline int dir_find_slot(void *m, __u64 offset)
{
	unsigned int i;

	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		if (ld32(&dir_slot(m, i)->state) != L3L2Q_SLOT_FREE &&
		    ld64(&dir_slot(m, i)->region_offset) == offset)
			return (int)i;
	return -1;
}

/* ---------------------------------------------------------------------- */
/* A queue on a device node, with lib/core's L3 endpoint                  */
/* ---------------------------------------------------------------------- */

struct dq {
	int fd;				/* the L3 fd */
	void *map;
	struct l3l2q_create_args args;
	struct l3l2q_layout layout;
	struct l3l2q_mem mem;
	struct l3l2q_l3 l3;
	unsigned long long id;		/* debugfs name */
};

static inline int dq_sleep(void *ctx, __u32 counter, __s32 seen,
			   __u64 deadline)
{
	struct dq *q = ctx;
	struct l3l2q_wait_args a;

	memset(&a, 0, sizeof(a));
	a.counter = (__u16)counter;
	a.seen = seen;
	a.deadline_ns = deadline;
	return ioctl(q->fd, L3L2Q_IOC_WAIT, &a) ? -errno : 0;
}

static inline void dq_kick(void *ctx)
{
	struct dq *q = ctx;

	ioctl(q->fd, L3L2Q_IOC_KICK);
}

static inline __u64 dq_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

/* CREATE on @node, map, bind an L3 endpoint; 0 or -errno. */
static inline int dq_create(struct dq *q, const char *node, __u64 depth,
			    __u64 in_arena, __u64 out_arena)
{
	struct l3l2q_env env = {
		.now_ns = dq_now, .sleep = dq_sleep, .kick = dq_kick, .ctx = q,
	};
	int dev, ret;

	memset(q, 0, sizeof(*q));
	q->fd = -1;
	q->map = MAP_FAILED;
	dev = open(node, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	q->args.depth = depth;
	q->args.input_arena_bytes = in_arena;
	q->args.output_arena_bytes = out_arena;
	q->args.fd = -1;
	ret = ioctl(dev, L3L2Q_IOC_CREATE, &q->args) ? -errno : 0;
	close(dev);
	if (ret)
		return ret;
	q->fd = q->args.fd;
	q->id = fd_queue_id(q->fd, NULL, 0);
	q->map = mmap(NULL, q->args.off.total_bytes, PROT_READ | PROT_WRITE,
		      MAP_SHARED, q->fd, 0);
	if (q->map == MAP_FAILED)
		return -errno;
	if (l3l2q_layout(depth, in_arena, out_arena, &q->layout))
		return -EINVAL;
	q->mem.ctrl = (char *)q->map + q->args.off.ctrl_offset;
	q->mem.counters = (char *)q->map + q->args.off.counter_offset;
	q->mem.payload = (char *)q->map + q->args.off.payload_offset;
	q->mem.region_id = q->id;
	return l3l2q_l3_init(&q->l3, &q->mem, &q->layout, 0, &env);
}

static inline void dq_destroy(struct dq *q)
{
	if (q->map != MAP_FAILED)
		munmap(q->map, q->args.off.total_bytes);
	if (q->fd >= 0)
		close(q->fd);
	q->map = MAP_FAILED;
	q->fd = -1;
}

static inline __s32 dq_ctr(const struct dq *q, unsigned int off)
{
	return __atomic_load_n((const __s32 *)((const char *)q->mem.counters +
					      off), __ATOMIC_ACQUIRE);
}

static inline __u32 dq_ctrl(const struct dq *q, unsigned int off)
{
	return __atomic_load_n((const __u32 *)((const char *)q->mem.ctrl +
					      off), __ATOMIC_ACQUIRE);
}

static inline int set_eventfd(int fd, int efd)
{
	struct l3l2q_eventfd_args a;

	memset(&a, 0, sizeof(a));
	a.fd = efd;
	return ioctl(fd, L3L2Q_IOC_SET_EVENTFD, &a) ? -errno : 0;
}

/* ---------------------------------------------------------------------- */
/* io_uring WAIT (liburing 2.3 has no io_uring_prep_uring_cmd)            */
/* ---------------------------------------------------------------------- */

/* The next CQE within @ms: 0 and its res, or -ETIME. */
static inline int get_cqe(struct io_uring *ring, unsigned int ms, int *res)
{
	return vm_get_cqe(ring, ms, res, NULL);
}

/* ---------------------------------------------------------------------- */
/* Payloads                                                               */
/* ---------------------------------------------------------------------- */

/* Message @i's bytes: its length and content follow from @i alone. */
static inline __u64 msg_len(__u64 i, __u64 max)
{
	return (i * 2654435761ull >> 7) % (max + 1);
}

static inline unsigned char msg_byte(__u64 i, __u64 k)
{
	return (unsigned char)(i * 131 + k * 7 + (k >> 8));
}

/* What the stand-in answers: each byte XORed. */
#define STANDIN_XOR	0x5Au

/* ---------------------------------------------------------------------- */
/* Tasks for l3l2q-devsim, the device on the host (l3l2q_task.h)          */
/* ---------------------------------------------------------------------- */

#define TASK_KEY	0xA5u
#define TASK_MAX	448ull		/* payload bytes after the header */

/* Enqueue task @id (XOR with TASK_KEY, msg_len(@id) bytes) with try_. */
static inline int task_try_put(struct dq *q, __u64 id)
{
	unsigned char buf[L3L2Q_TASK_HDR_BYTES + TASK_MAX];
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC, .version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_TASK, .op = L3L2Q_TASK_OP_XOR,
		.arg = TASK_KEY, .id = id,
		.payload_bytes = msg_len(id, TASK_MAX),
		.submit_ns = l3l2q_now_ns(),
	};
	__u64 k;

	l3l2q_task_store(buf, &h);
	for (k = 0; k < h.payload_bytes; k++)
		buf[L3L2Q_TASK_HDR_BYTES + k] = msg_byte(id, k);
	return l3l2q_l3_try_enqueue(&q->l3, L3L2Q_OP_DATA, buf,
				    L3L2Q_TASK_HDR_BYTES + h.payload_bytes);
}

/*
 * Check a result of task_try_put()'s tasks, every byte: its task id, or
 * -1 with *why saying what is wrong.
 */
static inline long long task_check(const unsigned char *data, __u64 nbytes,
				   __u64 opcode, const char **why)
{
	struct l3l2q_task_hdr h;
	__u64 k;

	*why = NULL;
	if (opcode != L3L2Q_OP_DATA || nbytes < L3L2Q_TASK_HDR_BYTES) {
		*why = opcode == L3L2Q_OP_ERROR ? "an ERROR" : "not a result";
		return -1;
	}
	l3l2q_task_load(&h, data);
	if (h.magic != L3L2Q_TASK_MAGIC || h.kind != L3L2Q_TASK_KIND_RESULT ||
	    h.op != L3L2Q_TASK_OP_XOR || h.arg != TASK_KEY) {
		*why = "header";
		return -1;
	}
	if (h.payload_bytes != nbytes - L3L2Q_TASK_HDR_BYTES ||
	    h.payload_bytes != msg_len(h.id, TASK_MAX)) {
		*why = "length";
		return -1;
	}
	for (k = 0; k < h.payload_bytes; k++)
		if (data[L3L2Q_TASK_HDR_BYTES + k] !=
		    (unsigned char)(msg_byte(h.id, k) ^ TASK_KEY)) {
			*why = "payload bytes";
			return -1;
		}
	return (long long)h.id;
}

/* ---------------------------------------------------------------------- */
/* The stand-in device                                                    */
/* ---------------------------------------------------------------------- */

struct standin_opts {
	unsigned int peer_id;		/* its line's dev_peer_id */
	unsigned int beat;		/* 1: heartbeat */
	unsigned int serve;		/* 1: serve LIVE slots */
	unsigned int dead_on_usr1;	/* SIGUSR1: store DEAD, exit 0 */
	/*
	 * Keep holding regions whose slot closed, until SIGUSR2.  Without
	 * it, SIGUSR2 lets every region go at once.
	 */
	unsigned int hold_closed;
};

static volatile sig_atomic_t standin_usr1, standin_usr2;

static inline void standin_sig(int sig)
{
	if (sig == SIGUSR1)
		standin_usr1 = 1;
	else
		standin_usr2 = 1;
}

struct standin_region {
	struct l3l2q_l2 *l2;		/* NULL: not attached */
	__u32 generation;
	__u32 closed_gen;		/* + 1: the CLOSED slot let go */
	__u32 *l2_state;
	__u32 *l3_state;
	unsigned int stopped;
};

static inline __u64 standin_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

/* Let a region go: close the endpoint, then the L2 state word DEAD. */
static inline void standin_letgo(struct standin_region *s)
{
	l3l2q_l2_close(s->l2);
	free(s->l2);
	s->l2 = NULL;
	st32(s->l2_state, L3L2Q_ROLE_DEAD);
	s->closed_gen = s->generation + 1;	/* done for this region */
}

/* Attach to slot @i if it is LIVE and its L2 role still LIVE. */
static inline void standin_attach(void *m, unsigned int i,
				  struct standin_region *s)
{
	struct l3l2q_dir_slot *ds = dir_slot(m, i);
	struct l3l2q_env env = { .now_ns = standin_now };
	struct l3l2q_region_offsets off;
	struct l3l2q_layout layout;
	struct l3l2q_mem mem;
	char *base;

	if (ld32(&ds->state) != L3L2Q_SLOT_LIVE || ds->kind != L3L2Q_KIND_QUEUE)
		return;
	if (l3l2q_layout(ds->depth, ds->input_arena_bytes,
			 ds->output_arena_bytes, &layout) ||
	    !l3l2q_region_layout(&layout, &off) ||
	    off.total_bytes != ds->region_bytes)
		return;
	base = (char *)m + ds->region_offset;
	s->l2_state = (__u32 *)(base + off.ctrl_offset + L3L2Q_CTRL_L2_STATE);
	s->l3_state = (__u32 *)(base + off.ctrl_offset + L3L2Q_CTRL_L3_STATE);
	/* One L2 per region, ever: claim it (uapi, Device memory). */
	if (!cas32(s->l2_state, L3L2Q_ROLE_ABSENT, L3L2Q_ROLE_LIVE))
		return;
	/* Still the slot read above?  Else the claim was someone else's. */
	if (ld32(&ds->state) != L3L2Q_SLOT_LIVE ||
	    ds->region_offset != (__u64)(base - (char *)m)) {
		st32(s->l2_state, L3L2Q_ROLE_ABSENT);
		return;
	}
	mem.ctrl = base + off.ctrl_offset;
	mem.counters = base + off.counter_offset;
	mem.payload = base + off.payload_offset;
	mem.region_id = i + 1;
	s->l2 = calloc(1, sizeof(*s->l2));
	if (!s->l2)
		return;
	if (l3l2q_l2_init(s->l2, &mem, &layout, ds->start_pos, 1, &env)) {
		free(s->l2);
		s->l2 = NULL;
		return;
	}
	s->generation = ds->generation;
	s->stopped = 0;
}

/*
 * A CLOSED slot it did not serve is let go too (uapi): its L2 state word
 * DEAD, once per generation, if the region lies inside the memory.
 */
static inline void standin_letgo_closed(void *m, unsigned int i,
					struct standin_region *s,
					__u64 mem_bytes)
{
	struct l3l2q_dir_slot *ds = dir_slot(m, i);
	__u64 off = ds->region_offset;
	__u32 gen = ds->generation;

	if (ld32(&ds->state) != L3L2Q_SLOT_CLOSED || s->closed_gen == gen + 1)
		return;
	s->closed_gen = gen + 1;
	if (off < L3L2Q_DIR_BYTES || off % 4096 || off > mem_bytes - 4096)
		return;
	/* Still CLOSED: the host keeps the memory until the word says DEAD. */
	st32((__u32 *)((char *)m + off + L3L2Q_CTRL_L2_STATE),
	     L3L2Q_ROLE_DEAD);
}

/* One message of @s, answered; 1 if there was one. */
static inline int standin_serve(struct standin_region *s)
{
	struct l3l2q_msg msg;
	struct l3l2q_res res;
	const unsigned char *in;
	unsigned char *out;
	__u64 k;

	if (s->stopped || l3l2q_l2_try_peek(s->l2, &msg))
		return 0;
	if (msg.opcode == L3L2Q_OP_STOP) {
		l3l2q_l2_release(s->l2, &msg);
		s->stopped = 1;
		return 1;
	}
	/* Room for the answer first; the input stays until there is. */
	while (l3l2q_l2_try_reserve(s->l2, msg.nbytes, &res) == -EAGAIN) {
		if (ld32(s->l3_state) == L3L2Q_ROLE_DEAD)
			return 1;
		sched_yield();
	}
	in = msg.data;
	out = res.data;
	for (k = 0; k < msg.nbytes; k++)
		out[k] = in[k] ^ STANDIN_XOR;
	l3l2q_l2_publish(s->l2, &res, msg.opcode);
	l3l2q_l2_release(s->l2, &msg);
	return 1;
}

/*
 * The device firmware: runs until killed (or SIGUSR1 with dead_on_usr1).
 * Writes its line for the host's epoch, beats every heartbeat_ms / 4 and
 * serves LIVE slots; a region whose L3 role died, whose slot closed or
 * whose generation changed is let go.  Never returns.
 */
static inline void standin_run(const struct ivs *d, const struct standin_opts *o)
{
	struct standin_region *regs;
	struct l3l2q_dir_dev *dev;
	__u64 epoch, beat_ns, next_beat, now;
	unsigned int i, idle = 0, busy, hold = o->hold_closed, all;
	void *m;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGUSR1, standin_sig);
	signal(SIGUSR2, standin_sig);
	m = ivs_map(d);
	if (m == MAP_FAILED)
		_exit(2);
	regs = calloc(L3L2Q_DIR_SLOTS, sizeof(*regs));
	if (!regs)
		_exit(2);
	while (ld32(&dir_host(m)->magic) != L3L2Q_DIR_MAGIC)
		sleep_ms(1);
	epoch = dir_host(m)->epoch;
	beat_ns = (__u64)dir_host(m)->heartbeat_ms * MS / 4;
	dev = dir_dev(m);
	dev->epoch = epoch;
	dev->dev_peer_id = o->peer_id;
	dev->features = 0;
	dev->heartbeat = 1;
	dev->magic = L3L2Q_DIR_DEV_MAGIC;
	st32(&dev->state, L3L2Q_DEV_LIVE);
	/* LIVE before the first look at the slots (uapi). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	next_beat = l3l2q_now_ns();
	for (;;) {
		now = l3l2q_now_ns();
		if (o->beat && now >= next_beat) {
			__atomic_store_n(&dev->heartbeat, dev->heartbeat + 1,
					 __ATOMIC_RELEASE);
			next_beat = now + beat_ns;
		}
		if (o->dead_on_usr1 && standin_usr1) {
			for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
				if (regs[i].l2)
					standin_letgo(&regs[i]);
			st32(&dev->state, L3L2Q_DEV_DEAD);
			_exit(0);
		}
		busy = 0;
		all = 0;
		if (standin_usr2) {
			standin_usr2 = 0;
			if (hold)
				hold = 0;
			else
				all = 1;
		}
		for (i = 0; o->serve && i < L3L2Q_DIR_SLOTS; i++) {
			struct standin_region *s = &regs[i];
			struct l3l2q_dir_slot *ds = dir_slot(m, i);
			int closed;

			if (!s->l2) {
				standin_letgo_closed(m, i, s, d->mem_bytes);
				standin_attach(m, i, s);
				continue;
			}
			closed = ld32(&ds->state) != L3L2Q_SLOT_LIVE ||
				 ds->generation != s->generation ||
				 ld32(s->l3_state) == L3L2Q_ROLE_DEAD;
			if (all || (closed && !hold) ||
			    ld32(s->l2_state) != L3L2Q_ROLE_LIVE) {
				standin_letgo(s);
				continue;
			}
			while (!closed && standin_serve(s) && busy < 64)
				busy++;
		}
		if (busy) {
			idle = 0;
		} else if (++idle > 64) {
			struct timespec ts = { 0, 20000 };

			nanosleep(&ts, NULL);
		} else {
			sched_yield();
		}
	}
}

/* Start a stand-in in a child; its pid, or -1. */
static inline pid_t standin_start(const struct ivs *d,
				  const struct standin_opts *o)
{
	pid_t pid = fork();

	if (pid == 0)
		standin_run(d, o);
	return pid;
}

/*
 * Start a stand-in and wait (up to a minute) until the host has seen its
 * heartbeat move; its pid, or -1 (and no child left).
 */
static inline pid_t standin_start_live(const struct ivs *d,
				       const struct standin_opts *o)
{
	pid_t pid = standin_start(d, o);
	unsigned int i;
	int status;

	if (pid < 0)
		return -1;
	for (i = 0; i < 60000; i += 10) {
		if (ivs_num(d, "live") == 1)
			return pid;
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Sleepers in each mechanism                                             */
/* ---------------------------------------------------------------------- */

enum { VIA_WAIT, VIA_EPOLL, VIA_EVENTFD, VIA_URING, VIA_COUNT };

static inline const char *via_str(int via)
{
	static const char *const names[] = {
		"WAIT", "epoll", "eventfd", "io_uring",
	};

	return via >= 0 && via < VIA_COUNT ? names[via] : "?";
}

struct sleeper {
	int fd;
	int via;
	int efd, ep;
	__s32 seen;
	pid_t tid;
	int res;			/* WAIT's, epoll's events, eventfd count */
};

static inline void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	struct epoll_event out;
	__u64 v;

	s->tid = (pid_t)syscall(SYS_gettid);
	switch (s->via) {
	case VIA_WAIT:
		s->res = vm_wait(s->fd, L3L2Q_CTR_OUTPUT_TAIL, s->seen,
				 l3l2q_now_ns() + 120 * SEC);
		break;
	case VIA_EPOLL:
		s->res = epoll_wait(s->ep, &out, 1, 120000) == 1 ?
			 (int)out.events : -1;
		break;
	case VIA_EVENTFD:
		/*
		 * The eventfd counts every wake of the role, a late doorbell
		 * of the device's last release included: as its users do, a
		 * wake-up only says "look again", so read until the role file
		 * reports output or the hang-up this sleeper waits for.
		 */
		s->res = 0;
		for (;;) {
			struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

			if (read(s->efd, &v, sizeof(v)) != sizeof(v)) {
				s->res = -1;
				break;
			}
			s->res += (int)v;
			if (poll(&pfd, 1, 0) == 1)
				break;
		}
		break;
	}
	return NULL;
}

/*
 * One sleeper of kind @via on role file @fd for OUTPUT_TAIL != @seen,
 * registered before the answer it waits for goes out: a WAIT blocked in a
 * thread, an epoll registration, an eventfd, or an io_uring WAIT on @ring.
 * sleeper_arm() returns NULL or what failed; sleeper_woken() waits (60 s
 * at most) for the wake-up, checks it and drops the registration.
 */
struct armed_sleeper {
	struct sleeper sl;
	pthread_t th;
	struct io_uring *ring;
};

static inline const char *sleeper_arm(struct armed_sleeper *a, int via,
				      int fd, __s32 seen,
				      struct io_uring *ring)
{
	struct epoll_event ev = { .events = EPOLLIN };

	memset(a, 0, sizeof(*a));
	a->sl.fd = fd;
	a->sl.via = via;
	a->sl.seen = seen;
	a->sl.efd = a->sl.ep = -1;
	a->ring = ring;
	switch (via) {
	case VIA_WAIT:
		if (pthread_create(&a->th, NULL, sleeper_fn, &a->sl))
			return "pthread_create";
		while (!__atomic_load_n(&a->sl.tid, __ATOMIC_ACQUIRE))
			sleep_ms(1);
		return vm_wait_blocked(a->sl.tid, SYS_ioctl) ? NULL :
		       "the WAIT thread never blocked in ioctl";
	case VIA_EPOLL:
		a->sl.ep = epoll_create1(EPOLL_CLOEXEC);
		if (a->sl.ep < 0 || epoll_ctl(a->sl.ep, EPOLL_CTL_ADD, fd, &ev))
			return "epoll registration";
		return NULL;
	case VIA_EVENTFD:
		a->sl.efd = eventfd(0, EFD_CLOEXEC);
		if (a->sl.efd < 0 || set_eventfd(fd, a->sl.efd))
			return "eventfd registration";
		return NULL;
	case VIA_URING:
		return vm_submit_wait(ring, fd, L3L2Q_CTR_OUTPUT_TAIL, seen,
				      l3l2q_now_ns() + 60 * SEC, 1) == 1 ?
		       NULL : "io_uring WAIT submission";
	}
	return "no such sleeper";
}

static inline const char *sleeper_woken(struct armed_sleeper *a)
{
	struct pollfd pfd = { .events = POLLIN };
	const char *why = NULL;
	struct epoll_event out;
	int res;
	__u64 v;

	switch (a->sl.via) {
	case VIA_WAIT:
		pthread_join(a->th, NULL);
		if (a->sl.res)
			why = "WAIT did not return 0";
		break;
	case VIA_EPOLL:
		if (epoll_wait(a->sl.ep, &out, 1, 60000) != 1 ||
		    !(out.events & EPOLLIN))
			why = "epoll reported no EPOLLIN";
		close(a->sl.ep);
		break;
	case VIA_EVENTFD:
		pfd.fd = a->sl.efd;
		if (poll(&pfd, 1, 60000) != 1 ||
		    read(a->sl.efd, &v, sizeof(v)) != sizeof(v))
			why = "the eventfd was not signalled";
		if (set_eventfd(a->sl.fd, -1))
			why = why ? why : "unregistering the eventfd";
		close(a->sl.efd);
		break;
	case VIA_URING:
		if (get_cqe(a->ring, 60000, &res) || res)
			why = "the io_uring WAIT did not complete with 0";
		break;
	}
	return why;
}

static sigjmp_buf touch_env;

static inline void touch_handler(int sig)
{
	siglongjmp(touch_env, sig);
}

/*
 * Touch @p here (a fork would not inherit the mapping: VM_DONTCOPY); the
 * signal the touch raised, or 0.
 */
static inline int touch_sig(volatile char *p)
{
	struct sigaction sa, old_bus, old_segv;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = touch_handler;
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sig = sigsetjmp(touch_env, 1);
	if (!sig)
		(void)p[0];
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return sig;
}


#endif /* L3L2Q_DEVICE_HELPERS_H */
