/* SPDX-License-Identifier: MIT */
/*
 * The user-space queue object and the interface every backing implements.
 * A backing allocates and maps the region and hands out the L2 role; the
 * protocol itself is always the core's.
 */
#ifndef L3L2Q_USER_QUEUE_H
#define L3L2Q_USER_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "libl3l2q.h"

struct l3l2q_queue;

struct l3l2q_backing {
	const char *name;
	enum l3l2q_backend id;
	/*
	 * Make a region for q->layout, map it (q->map, q->map_bytes), set
	 * q->fd and q->off, and leave it initialised with the L3 role live.
	 * -ENODEV if this backing is not available here.
	 */
	int (*create)(struct l3l2q_queue *q, const struct l3l2q_params *p,
		      struct l3l2q_error *err);
	/* A new fd (close-on-exec) that gives the L2 role. */
	int (*peer_fd)(struct l3l2q_queue *q);
	/*
	 * Is @fd an L2 fd of this backing?  If so map it and learn the
	 * geometry (q->map, q->map_bytes, q->fd = a dup, q->layout, q->off,
	 * q->start_pos); -ENOTTY if the fd is not this backing's.
	 */
	int (*attach)(struct l3l2q_queue *q, int fd, struct l3l2q_error *err);
	/* Take the L2 role after every argument was checked; -EBUSY if taken. */
	int (*claim)(struct l3l2q_queue *q, struct l3l2q_error *err);
	/*
	 * Unmap and close; @gone: this process held the role, tell the peer.
	 * @inherited: a copy from fork, whose mapping was not inherited.
	 */
	void (*destroy)(struct l3l2q_queue *q, int gone, int inherited);
	/* env.sleep, env.kick_bit and env.arm (uapi/l3l2q.h, W4, P4, W1). */
	int (*sleep)(struct l3l2q_queue *q, __u32 counter, __s32 seen,
		     __u64 deadline_ns);
	void (*kick)(struct l3l2q_queue *q, __u32 bit);
	int (*arm)(struct l3l2q_queue *q, __u32 bits);	/* NULL: nothing */
	/* The fd to poll for this role's wake-ups, for one bit or all. */
	int (*wait_fd)(const struct l3l2q_queue *q, __u32 bit);
	int (*poll_fd)(const struct l3l2q_queue *q);
};

extern const struct l3l2q_backing l3l2q_memfd_backing;
extern const struct l3l2q_backing l3l2q_device_backing;

/* Index of a single wait bit (0..3). */
static inline unsigned int l3l2q__bit_index(__u32 bit)
{
	return (unsigned int)__builtin_ctz(bit);
}

/* The bits a role waits on (the table of waits in uapi/l3l2q.h). */
static inline __u32 l3l2q__role_bits(enum l3l2q_role role)
{
	return role == L3L2Q_ROLE_L3 ?
	       L3L2Q_WAKE_INPUT_SPACE | L3L2Q_WAKE_OUTPUT_AVAIL :
	       L3L2Q_WAKE_INPUT_AVAIL | L3L2Q_WAKE_OUTPUT_SPACE;
}

struct l3l2q_queue {
	const struct l3l2q_backing *backing;
	enum l3l2q_role role;
	int fd;
	void *map;
	size_t map_bytes;
	struct l3l2q_region_offsets off;
	struct l3l2q_layout layout;
	struct l3l2q_mem mem;
	__u64 start_pos;
	pid_t owner;			/* the process that created or attached */
	int inherited;			/* a copy from fork (set in the child) */
	struct l3l2q_queue *reg_prev, *reg_next;	/* every live queue */
	/*
	 * memfd: one eventfd per wait bit (the owner of the bit sleeps on
	 * it, the peer writes it), so that each direction has its own kick
	 * and no sleeper can take another's.
	 */
	int kfd[4];
	/* memfd, per own wait bit: an epoll set of kfd[bit], the peer's
	 * liveness fd and tfd[bit] (a deadline of l3l2q_prep_wait()). */
	int wset[4];
	int tfd[4];
	int tfd_armed[4];		/* touched by the bit's thread only */
	int role_set;			/* memfd: own kfds and the peer's fd */
	int role_set_used;		/* l3l2q_queue_poll_fd() handed it out */
	/*
	 * memfd, the peer's liveness: a pidfd of its process.  The L3 gets
	 * it over its end of the attach socket (back_sock) when the L2
	 * attaches; until then back_sock itself is watched.  Both change
	 * under peer_lock and are read without it (atomically).
	 */
	int peer_pidfd;
	int back_sock;
	int back_done;			/* back_sock read to its end */
	pthread_mutex_t peer_lock;
	int bundle_sock;		/* memfd: during attach, the socket */
	unsigned char peer_given;
	void *mp_mem;			/* l3l2q_params.threads: lib/user/threads.c */
	union {
		struct l3l2q_l3 l3;
		struct l3l2q_l2 l2;
	} ep;
};

/*
 * The time left until @deadline_ns (CLOCK_MONOTONIC), for ppoll() and
 * epoll_pwait2(): *tsp = @ts, or NULL for L3L2Q_DEADLINE_NONE.
 * -ETIMEDOUT if it has passed, else 0.
 */
struct timespec;
int l3l2q__timeout(__u64 deadline_ns, struct timespec *ts,
		   struct timespec **tsp);

/* /dev/l3l2q, or the node named by $L3L2Q_DEVICE (lib/user/device.c). */
const char *l3l2q__device_path(void);

/* Record a user-layer error (errno and a message naming the field). */
int l3l2q__user_error(struct l3l2q_error *err, int errnum, __u32 kind,
		      __u32 op, const char *msg);

/*
 * SCM_RIGHTS with up to 8 fds.  @flags go to recvmsg: MSG_DONTWAIT fails
 * with -EAGAIN when nothing is queued; MSG_PEEK installs the fds but
 * leaves the message queued.  l3l2q__recv_fds() wants exactly @n fds
 * (-EBADMSG otherwise); l3l2q__recv_some_fds() takes 0 to @n and returns
 * how many came.  Both give -ECONNRESET at end of file.
 */
#define L3L2Q__MAX_FDS	8
int l3l2q__send_fds(int sock, const int *fds, unsigned int n);
int l3l2q__recv_fds(int sock, int *fds, unsigned int n, int flags);
int l3l2q__recv_some_fds(int sock, int *fds, unsigned int n, int flags);

/* memfd: the role's set was handed out (arming drains it too). */
void l3l2q__memfd_role_set_used(struct l3l2q_queue *q);

/* queue.c: a spin hint, yielding now and then (env.relax). */
void l3l2q__relax(void *ctx);

/*
 * Put the L3 endpoint in multi-thread mode for @threads (L3L2Q_MP_*): the
 * shared state, futex parking.  0 or -errno with @err filled.
 */
int l3l2q__mp_setup(struct l3l2q_queue *q, __u32 threads,
		    struct l3l2q_error *err);
void l3l2q__mp_free(struct l3l2q_queue *q);

/*
 * CREATE @a on l3l2q__device_path(): 0 with a->fd set, or -errno with
 * @err saying, for @op, what the driver's errno means.
 */
struct l3l2q_create_args;
int l3l2q__device_create(struct l3l2q_create_args *a, __u32 op,
			 struct l3l2q_error *err);
/* The driver's WAIT on a role fd: 0 or -errno (uapi/l3l2q.h). */
int l3l2q__wait_ioctl(int fd, __u32 counter, __s32 seen, __u64 deadline_ns);

/* Map q->fd's whole region of @bytes shared, read-write. */
int l3l2q__map(struct l3l2q_queue *q, size_t bytes, struct l3l2q_error *err);
/* Unmap (unless @inherited: the mapping did not come along) and close. */
void l3l2q__unmap(struct l3l2q_queue *q, int inherited);

#endif /* L3L2Q_USER_QUEUE_H */
