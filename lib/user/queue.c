// SPDX-License-Identifier: MIT
/*
 * Creating, attaching and destroying queues, independent of the backing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "atomic.h"
#include "internal.h"

int l3l2q__user_error(struct l3l2q_error *err, int errnum, __u32 kind,
		      __u32 op, const char *msg)
{
	if (err) {
		memset(err, 0, sizeof(*err));
		err->kind = kind;
		err->op = op;
		l3l2q_error_set_message(err, msg);
	}
	return -errnum;
}

__u64 l3l2q_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int l3l2q__timeout(__u64 deadline_ns, struct timespec *ts,
		   struct timespec **tsp)
{
	__u64 now, left;

	*tsp = NULL;
	if (deadline_ns == L3L2Q_DEADLINE_NONE)
		return 0;
	now = l3l2q_now_ns();
	if (now >= deadline_ns)
		return -ETIMEDOUT;
	left = deadline_ns - now;
	ts->tv_sec = (time_t)(left / 1000000000ull);
	ts->tv_nsec = (long)(left % 1000000000ull);
	*tsp = ts;
	return 0;
}

__u64 l3l2q_deadline_in(__u64 ns)
{
	__u64 now = l3l2q_now_ns();

	return ns > L3L2Q_DEADLINE_NONE - now ? L3L2Q_DEADLINE_NONE : now + ns;
}

static __u64 env_now(void *ctx)
{
	(void)ctx;
	return l3l2q_now_ns();
}

/*
 * A spin hint, and now and then a yield so a waiter never starves its peer
 * on an oversubscribed machine.  (Sleeping waits come with the wake-ups.)
 * The count is per thread: each direction may have its own.  Also the
 * spin of the many-thread paths (threads.c), where a token holder
 * preempted on a busy machine must get to run.
 */
void l3l2q__relax(void *ctx)
{
	static _Thread_local unsigned int spins;

	(void)ctx;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
	if (++spins % 64 == 0)
		sched_yield();
}

static int check_params(const struct l3l2q_params *p, struct l3l2q_error *err)
{
	enum l3l2q_layout_status st;
	struct l3l2q_layout l;
	size_t i;

	if (!p)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT, "params must not be NULL");
	if (p->flags & ~L3L2Q_CREATE_ALL)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "flags has unknown bits set");
	if ((p->flags & L3L2Q_CREATE_LOOPBACK_XOR) &&
	    !(p->flags & L3L2Q_CREATE_LOOPBACK))
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "flags: L3L2Q_CREATE_LOOPBACK_XOR needs L3L2Q_CREATE_LOOPBACK");
	if (p->backend > L3L2Q_BACKEND_DEVICE)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT, "backend is unknown");
	if (p->threads & ~L3L2Q_MP_ALL || p->resv0)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "threads has unknown bits set, or resv0 is not zero");
	for (i = 0; i < sizeof(p->resv) / sizeof(p->resv[0]); i++)
		if (p->resv[i])
			return l3l2q__user_error(err, EINVAL,
						 L3L2Q_ERR_BAD_ARGUMENT,
						 L3L2Q_EOP_INIT,
						 "resv must be zero");
	st = l3l2q_layout(p->depth, p->input_arena_bytes,
			  p->output_arena_bytes, &l);
	if (st != L3L2Q_LAYOUT_OK)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 l3l2q_layout_strerror(st));
	if (p->start_pos > L3L2Q_START_POS_MAX)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT,
					 "start_pos is above L3L2Q_START_POS_MAX (2^62): positions would wrap");
	return 0;
}

int l3l2q__map(struct l3l2q_queue *q, size_t bytes, struct l3l2q_error *err)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
	int ret;

	if (p == MAP_FAILED) {
		ret = l3l2q__user_error(err, errno, L3L2Q_ERR_ENDPOINT_ERROR,
					L3L2Q_EOP_INIT, "mmap of the region failed");
		l3l2q__unmap(q, 0);
		return ret;
	}
	q->map = p;
	q->map_bytes = bytes;
	return 0;
}

void l3l2q__unmap(struct l3l2q_queue *q, int inherited)
{
	/* Not inherited: the address may hold something else by now. */
	if (q->map && !inherited)
		munmap(q->map, q->map_bytes);
	if (q->fd >= 0)
		close(q->fd);
	q->map = NULL;
	q->fd = -1;
}

/*
 * AUTO means the driver when it is present, else a memfd; the environment
 * variable L3L2Q_BACKEND=memfd|device overrides AUTO (for running the same
 * program over either backing).
 */
static __u32 resolve_backend(__u32 backend)
{
	const char *env = getenv("L3L2Q_BACKEND");

	if (backend != L3L2Q_BACKEND_AUTO || !env)
		return backend;
	if (!strcmp(env, "memfd"))
		return L3L2Q_BACKEND_MEMFD;
	if (!strcmp(env, "device"))
		return L3L2Q_BACKEND_DEVICE;
	return L3L2Q_BACKEND_AUTO;
}

static void set_mem(struct l3l2q_queue *q)
{
	unsigned char *base = q->map;

	q->mem.ctrl = base + q->off.ctrl_offset;
	q->mem.counters = base + q->off.counter_offset;
	q->mem.payload = base + q->off.payload_offset;
	q->mem.region_id = (__u64)q->fd + 1;
}

static int env_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline_ns)
{
	struct l3l2q_queue *q = ctx;

	return q->backing->sleep(q, counter, seen, deadline_ns);
}

static void env_kick_bit(void *ctx, __u32 bit)
{
	struct l3l2q_queue *q = ctx;

	q->backing->kick(q, bit);
}

static int env_arm(void *ctx, __u32 bits)
{
	struct l3l2q_queue *q = ctx;

	return q->backing->arm(q, bits);
}

/*
 * Sleeping needs a way to be woken: the driver always has one, a memfd
 * queue only when its eventfds came along (not for a bare memfd).
 */
static void set_env(struct l3l2q_queue *q, struct l3l2q_env *env)
{
	memset(env, 0, sizeof(*env));
	env->now_ns = env_now;
	env->relax = l3l2q__relax;
	env->ctx = q;
	if (q->backing->poll_fd(q) >= 0) {
		env->sleep = env_sleep;
		env->kick_bit = env_kick_bit;
		if (q->backing->arm)
			env->arm = env_arm;
	}
}

/* ---- every live queue of the process, for fork ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static struct l3l2q_queue *reg_head;

static void reg_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
}

static void reg_parent(void)
{
	pthread_mutex_unlock(&reg_lock);
}

/*
 * In a fork child, before fork() returns there: every queue it inherited
 * belongs to the parent.  Its endpoint is marked, so that each later call
 * gives -EOWNERDEAD (the one compare every call makes anyway; no getpid()
 * per call), and its mapping did not come along (VM_DONTCOPY on the
 * driver, MADV_DONTFORK on a memfd): the parent's queue is untouched.
 */
static void reg_child(void)
{
	struct l3l2q_queue *q;

	for (q = reg_head; q; q = q->reg_next) {
		q->inherited = 1;
		l3l2q__ep_disown(&q->ep.l3.ep);	/* either role: ep first */
		/*
		 * Where MADV_DONTFORK was not honoured (qemu-user ignores
		 * it), take the memfd mapping away here; otherwise there is
		 * nothing at that address and this does nothing.
		 */
		if (q->backing == &l3l2q_memfd_backing && q->map)
			munmap(q->map, q->map_bytes);
	}
	pthread_mutex_unlock(&reg_lock);
}

static void reg_init(void)
{
	pthread_atfork(reg_prepare, reg_parent, reg_child);
}

static void reg_add(struct l3l2q_queue *q)
{
	pthread_once(&reg_once, reg_init);
	pthread_mutex_lock(&reg_lock);
	q->reg_prev = NULL;
	q->reg_next = reg_head;
	if (reg_head)
		reg_head->reg_prev = q;
	reg_head = q;
	pthread_mutex_unlock(&reg_lock);
}

static void reg_del(struct l3l2q_queue *q)
{
	pthread_mutex_lock(&reg_lock);
	if (q->reg_prev)
		q->reg_prev->reg_next = q->reg_next;
	else if (reg_head == q)
		reg_head = q->reg_next;
	if (q->reg_next)
		q->reg_next->reg_prev = q->reg_prev;
	q->reg_prev = q->reg_next = NULL;
	pthread_mutex_unlock(&reg_lock);
}

static struct l3l2q_queue *queue_alloc(enum l3l2q_role role)
{
	struct l3l2q_queue *q = calloc(1, sizeof(*q));
	int i;

	if (q) {
		q->fd = -1;
		for (i = 0; i < 4; i++)
			q->kfd[i] = q->wset[i] = q->tfd[i] = -1;
		q->role_set = -1;
		q->peer_pidfd = -1;
		q->back_sock = -1;
		q->bundle_sock = -1;
		pthread_mutex_init(&q->peer_lock, NULL);
		q->owner = getpid();
		q->role = role;
	}
	return q;
}

static void queue_free(struct l3l2q_queue *q)
{
	pthread_mutex_destroy(&q->peer_lock);
	free(q);
}

static int create_with(struct l3l2q_queue *q, const struct l3l2q_backing *b,
		       const struct l3l2q_params *p, struct l3l2q_error *err)
{
	q->backing = b;
	return b->create(q, p, err);
}

int l3l2q_create(const struct l3l2q_params *p, struct l3l2q_queue **qp,
		 struct l3l2q_error *err)
{
	struct l3l2q_queue *q;
	struct l3l2q_env env;
	__u32 backend;
	int ret;

	if (!qp)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_INIT, "qp must not be NULL");
	*qp = NULL;
	ret = check_params(p, err);
	if (ret)
		return ret;
	q = queue_alloc(L3L2Q_ROLE_L3);
	if (!q)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_INIT, "out of memory");
	q->start_pos = p->start_pos;
	l3l2q_layout(p->depth, p->input_arena_bytes, p->output_arena_bytes,
		     &q->layout);
	backend = resolve_backend(p->backend);
	if (backend == L3L2Q_BACKEND_MEMFD) {
		ret = create_with(q, &l3l2q_memfd_backing, p, err);
	} else {
		ret = create_with(q, &l3l2q_device_backing, p, err);
		if (ret == -ENODEV && backend == L3L2Q_BACKEND_AUTO)
			ret = create_with(q, &l3l2q_memfd_backing, p, err);
	}
	if (ret) {
		queue_free(q);
		return ret;
	}
	set_mem(q);
	set_env(q, &env);
	ret = l3l2q_l3_init(&q->ep.l3, &q->mem, &q->layout, p->start_pos, &env);
	if (ret) {
		if (err)
			*err = *l3l2q_ep_last_error(&q->ep.l3.ep);
		q->backing->destroy(q, 1, 0);
		queue_free(q);
		return ret;
	}
	if (p->threads) {
		ret = l3l2q__mp_setup(q, p->threads, err);
		if (ret) {
			q->backing->destroy(q, 1, 0);
			queue_free(q);
			return ret;
		}
	}
	reg_add(q);
	*qp = q;
	return 0;
}

int l3l2q_peer_fd(struct l3l2q_queue *q)
{
	int fd;

	if (!q || q->role != L3L2Q_ROLE_L3)
		return -EINVAL;
	if (q->inherited)
		return -EOWNERDEAD;	/* the role is the parent's to give */
	if (q->peer_given)
		return -EBUSY;
	fd = q->backing->peer_fd(q);
	if (fd >= 0)
		q->peer_given = 1;
	return fd;
}

int l3l2q_attach(int fd, const struct l3l2q_attach_params *p,
		 struct l3l2q_queue **qp, struct l3l2q_error *err)
{
	struct l3l2q_queue *q;
	struct l3l2q_env env;
	__u32 inflight = 1;
	int ret;

	if (!qp)
		return l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH, "qp must not be NULL");
	*qp = NULL;
	if (p) {
		if (p->resv0 || p->resv[0] || p->resv[1] || p->resv[2])
			return l3l2q__user_error(err, EINVAL,
						 L3L2Q_ERR_BAD_ARGUMENT,
						 L3L2Q_EOP_ATTACH,
						 "resv must be zero");
		if (p->max_inflight)
			inflight = p->max_inflight;
	}
	if (fd < 0)
		return l3l2q__user_error(err, EBADF, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH, "fd is negative");
	/* Before the backings guess at it: a closed fd is no driver fd. */
	if (fcntl(fd, F_GETFD) < 0)
		return l3l2q__user_error(err, EBADF, L3L2Q_ERR_BAD_ARGUMENT,
					 L3L2Q_EOP_ATTACH, "fd is not open");
	q = queue_alloc(L3L2Q_ROLE_L2);
	if (!q)
		return l3l2q__user_error(err, ENOMEM, L3L2Q_ERR_ENDPOINT_ERROR,
					 L3L2Q_EOP_ATTACH, "out of memory");
	/* The fd says which backing it belongs to. */
	q->backing = &l3l2q_device_backing;
	ret = q->backing->attach(q, fd, err);
	if (ret == -ENOTTY) {
		q->backing = &l3l2q_memfd_backing;
		ret = q->backing->attach(q, fd, err);
	}
	if (ret)
		goto fail_free;
	/* Every argument is checked before the role is claimed. */
	if (inflight > L3L2Q_WINDOW_MAX || inflight > q->layout.depth) {
		ret = l3l2q__user_error(err, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
					L3L2Q_EOP_ATTACH,
					"max_inflight must be in [1, min(depth, 256)]");
		goto fail_unmap;
	}
	ret = q->backing->claim(q, err);
	if (ret)
		goto fail_unmap;
	set_mem(q);
	set_env(q, &env);
	ret = l3l2q_l2_init(&q->ep.l2, &q->mem, &q->layout, q->start_pos,
			    inflight, &env);
	if (ret) {
		if (err)
			*err = *l3l2q_ep_last_error(&q->ep.l2.ep);
		q->backing->destroy(q, 1, 0);
		goto fail_free;
	}
	reg_add(q);
	*qp = q;
	return 0;
fail_unmap:
	q->backing->destroy(q, 0, 0);	/* the role is not ours: leave it */
fail_free:
	queue_free(q);
	return ret;
}

void l3l2q_destroy(struct l3l2q_queue *q)
{
	int inherited;

	if (!q)
		return;
	reg_del(q);
	if (q->role == L3L2Q_ROLE_L3)
		l3l2q_l3_close(&q->ep.l3);
	else
		l3l2q_l2_close(&q->ep.l2);
	/*
	 * A copy inherited across fork is not the role: dropping it must not
	 * tell the peer that the role is gone, nor unmap (it has no mapping;
	 * its address may hold something else by now).
	 */
	inherited = q->inherited || q->owner != getpid();
	q->backing->destroy(q, !inherited, inherited);
	l3l2q__mp_free(q);
	queue_free(q);
}

struct l3l2q_l3 *l3l2q_queue_l3(struct l3l2q_queue *q)
{
	return q && q->role == L3L2Q_ROLE_L3 ? &q->ep.l3 : NULL;
}

struct l3l2q_l2 *l3l2q_queue_l2(struct l3l2q_queue *q)
{
	return q && q->role == L3L2Q_ROLE_L2 ? &q->ep.l2 : NULL;
}

const struct l3l2q_layout *l3l2q_queue_layout(const struct l3l2q_queue *q)
{
	return q ? &q->layout : NULL;
}

int l3l2q_queue_backend(const struct l3l2q_queue *q)
{
	return q ? (int)q->backing->id : -EINVAL;
}

const struct l3l2q_mem *l3l2q_queue_mem(const struct l3l2q_queue *q)
{
	return q ? &q->mem : NULL;
}

int l3l2q_queue_poll_fd(const struct l3l2q_queue *q)
{
	int fd;

	if (!q)
		return -EINVAL;
	fd = q->backing->poll_fd(q);
	if (fd < 0)
		return -EOPNOTSUPP;
	/*
	 * A memfd role's set is drained by every arming from now on; the
	 * flag is the queue's own business, not the caller's: not const.
	 */
	if (q->backing == &l3l2q_memfd_backing)
		l3l2q__memfd_role_set_used((struct l3l2q_queue *)q);
	return fd;
}

int l3l2q_queue_wait_fd(const struct l3l2q_queue *q, __u32 bit)
{
	int fd;

	if (!q)
		return -EINVAL;
	if (q->backing->poll_fd(q) < 0)
		return -EOPNOTSUPP;
	fd = q->backing->wait_fd(q, bit);
	return fd >= 0 ? fd : -EINVAL;
}
