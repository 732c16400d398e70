/* SPDX-License-Identifier: MIT */
/*
 * devsim.h - what the files of l3l2q-devsim share: its state, its limits
 * and the functions one file calls in another.
 *
 * One orchestrator thread owns the L2 endpoint (the core is not
 * thread-safe).  It acquires inputs through the input window (up to
 * --inflight held at once) and hands each task to a pool of worker threads,
 * the simulated cores.  A core sleeps for the task's work_ns and hashes
 * op(task bytes), reading the input in place; tasks therefore finish out of
 * order.  Cores report completions through the lock-free MPSC mailbox
 * (l3l2q_mailbox.h).  The orchestrator pops them, writes each RESULT
 * straight into an output reservation (zero copy: op is applied from the
 * input view to the output view) and releases the input; the window only
 * moves the ring's head over the completed FIFO prefix.
 *
 * Payloads carry the 64-byte header of l3l2q_task.h.  A malformed input is
 * answered with an ERROR message naming the field and released; the run
 * goes on.  On STOP: finish everything in flight, publish a STATS message,
 * release STOP (the drain), print the counters, exit 0.
 *
 * The serving code above works on one L2 endpoint and never looks at
 * where it came from: an L2 fd given by an L3 (--fd, --socket; libl3l2q's
 * l3l2q_attach()), or a region a device found in its shared memory
 * (device.h: the ivshmem modes, which use only the uapi and lib/core).
 *
 * The files, one job each:
 *   main.c    options, usage, the counters printed at exit
 *   setup.c   getting the L2 fd (--fd, --socket), attaching, teardown
 *   serve.c   the serving state around one endpoint: start and stop
 *   cores.c   the simulated cores: worker threads, mailbox, doorbell
 *   input.c   checking an acquired input and handing it to a core
 *   output.c  RESULT and ERROR messages, releasing inputs in FIFO order
 *   wait.c    sleeping in io_uring until a core or the L3 has news
 *   run.c     the orchestrator loop and the final STATS message
 *   msg.c     what is printed on stderr
 */
#ifndef L3L2Q_DEVSIM_H
#define L3L2Q_DEVSIM_H

#include <pthread.h>
#include <stdatomic.h>

#include "libl3l2q_uring.h"
#include "l3l2q_mailbox.h"
#include "../l3l2q_task.h"

#define PROG			"l3l2q-devsim"
/* Exit statuses (main.c's usage prints the table). */
#define EXIT_PEER_GONE		3
#define EXIT_SERVER_GONE	4	/* --ivshmem-client: the server went away */
/* devsim_run() of a region the device told to stop (never an exit status). */
#define DEVSIM_STOPPED		5
/* Blocking calls wake this often to re-check; no timing depends on it. */
#define WAIT_SLICE_NS		(1000ull * 1000000ull)

/* The device modes (device.h); MODE_QUEUE is an L2 fd given by an L3. */
enum devsim_mode {
	MODE_QUEUE = 0,			/* --fd, --socket */
	MODE_SERVER,			/* --ivshmem-server: server and device */
	MODE_SERVER_ONLY,		/* --ivshmem-server --server-only */
	MODE_CLIENT,			/* --ivshmem-client: the device only */
	MODE_PLAIN,			/* --plain: a shared file, no interrupts */
};

struct opts {
	enum devsim_mode mode;
	int fd;
	const char *socket_path;	/* --socket, --ivshmem-server/-client */
	const char *plain_path;
	unsigned long long shm_bytes;	/* --shm-size */
	unsigned int vectors;		/* --vectors */
	int upstream_only;
	unsigned long long poll_ns;	/* --poll-us: longest polling sleep */
	unsigned int inflight;
	unsigned int workers;
	int quiet;
};

/* How the orchestrator hears of new input while tasks are in flight. */
enum input_wake {
	INPUT_WAKE_WAIT,		/* the driver's WAIT (l3l2q_prep_wait) */
	INPUT_WAKE_EVENTFD,		/* POLL_ADD on wake_fd */
	INPUT_WAKE_POLL,		/* nothing wakes it: re-check every poll_ns */
};

/*
 * One window entry.  Entry k (in acquisition order) lives in slot
 * k % inflight: the library's window holds at most inflight DATA/ERROR
 * entries, and entry k can only be acquired once entry k - inflight has
 * been released physically, so the slot is free by then.
 */
enum slot_state {
	SLOT_FREE = 0,
	SLOT_BUSY,			/* with a core */
	SLOT_DONE,			/* released, waiting for older entries */
};

struct slot {
	struct l3l2q_msg msg;
	struct l3l2q_task_hdr hdr;
	__u64 order;
	enum slot_state state;
};

struct devsim {
	struct l3l2q_queue *q;		/* MODE_QUEUE only; NULL for a region */
	struct l3l2q_l2 *l2;
	const char *tag;		/* "" or e.g. "slot 3: ", before messages */
	unsigned int inflight;		/* the window */
	unsigned int workers;
	__u64 slice_ns;			/* blocking calls end this often */
	enum input_wake input_wake;
	int wake_fd;			/* INPUT_WAKE_EVENTFD */
	int drain_wake;			/* wake_fd is ours: read it after */
	__u64 poll_ns;			/* INPUT_WAKE_POLL */
	/* Set (by a device) when this endpoint must stop serving; or NULL. */
	const atomic_int *stop;
	/*
	 * INPUT_WAKE_EVENTFD only if this word (the L3's feature word) has
	 * L3L2Q_FEAT_KICKS, else INPUT_WAKE_POLL; NULL: always.
	 */
	const __u32 *peer_features;
	struct slot *slots;		/* inflight of them */
	unsigned int nbusy;		/* slots with a core */
	__u64 next_order;		/* entries acquired (STOP aside) */
	__u64 head_order;		/* entries released physically */
	__u64 out_arena;

	/* Orchestrator -> cores: a FIFO of slot indices under a mutex. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int *fifo;		/* inflight entries */
	unsigned int fifo_head, fifo_len;
	int quit;
	pthread_t *threads;
	unsigned int nthreads;

	/* Cores -> orchestrator: the mailbox, and a doorbell for a sleeper. */
	struct l3l2q_mailbox *mb;
	int doorbell;			/* eventfd, blocking: read by io_uring */
	__u64 bell;			/* its read buffer */
	struct io_uring ring;		/* the orchestrator's waits */
	int ring_ok;
	__u32 pending;			/* WAIT_* (wait.c) in the kernel */
	atomic_int orch_waiting;
	atomic_ullong doorbells;	/* doorbell writes (system calls) */

	struct l3l2q_task_stats st;
};

/* msg.c */
/* --quiet: devsim_msg() prints nothing, devsim_err_msg() still does. */
extern int devsim_quiet;
void devsim_msg(const char *fmt, ...);
void devsim_err_msg(const char *fmt, ...);
int devsim_queue_failure(struct devsim *d, const char *what, int ret);

/* cores.c */
int devsim_start_cores(struct devsim *d);
void devsim_stop_cores(struct devsim *d);
void devsim_dispatch(struct devsim *d, unsigned int idx);

/* output.c */
int devsim_reserve(struct devsim *d, __u64 n, struct l3l2q_res *res);
int devsim_publish_error(struct devsim *d, const struct l3l2q_msg *in,
			 const struct l3l2q_task_hdr *task, int readable,
			 const char *reason);
int devsim_release_input(struct devsim *d, const struct l3l2q_msg *in);
unsigned int devsim_held(const struct devsim *d);
int devsim_retire(struct devsim *d, struct slot *s);
int devsim_drain_mailbox(struct devsim *d, int *progress);

/* input.c */
int devsim_take_input(struct devsim *d, const struct l3l2q_msg *in,
		      struct l3l2q_msg *stop, int *stop_seen);

/* wait.c */
int devsim_wait_for_work(struct devsim *d, int want_input, int *got,
			 struct l3l2q_msg *in);

/* run.c */
int devsim_run(struct devsim *d);
/* CLOCK_MONOTONIC ns, and a deadline @ns from now (no libl3l2q needed). */
__u64 devsim_now_ns(void);
__u64 devsim_deadline(__u64 ns);
/* devsim->stop is set: the region is to be given up. */
int devsim_stopping(const struct devsim *d);

/* serve.c */
/* Before anything can fail: what devsim_serve_stop() may look at. */
void devsim_serve_prepare(struct devsim *d);
/*
 * Start serving d->l2 (set with d->inflight, d->workers, d->input_wake and
 * its fd): window, mailbox, io_uring, cores.  0, or 1 after a message.
 */
int devsim_serve_start(struct devsim *d, __u64 out_arena);
void devsim_serve_stop(struct devsim *d);
void devsim_print_stats(const struct devsim *d);

/* setup.c */
int devsim_setup(struct devsim *d, const struct opts *o);
void devsim_teardown(struct devsim *d);

/* device.c: the device modes (--ivshmem-server, -client, --plain) */
int devsim_device_main(const struct opts *o);

#endif /* L3L2Q_DEVSIM_H */
