/* SPDX-License-Identifier: MIT */
/*
 * device.h - l3l2q-devsim as a device outside the VM: QEMU's ivshmem PCI
 * device gives the guest a BAR of shared memory, a doorbell register and
 * MSI-X vectors; this process is the other end of them.
 *
 * What it is made of (one file each):
 *   ivshmem.c    the client-server protocol of ivshmem-spec.txt: 8-byte
 *                little-endian messages, each with at most one fd
 *   server.c     the ivshmem server (written from the specification): the
 *                unix socket, the shared memory (a sealed memfd), peer IDs,
 *                one eventfd per peer and vector, the notifications
 *   peers.c      the device as an ivshmem client: its ID and own vector
 *                eventfds (the guest's doorbell writes one), the other
 *                peers' eventfds (writing one raises that peer's MSI-X)
 *   directory.c  the directory of uapi/l3l2q.h at the start of the memory:
 *                the host's line (read and validated), the device's line
 *                (written), the slot table -> which regions to serve
 *   region.c     one region: lib/core's L2 endpoint over it, its env
 *                (sleep on the slot's vector, kick the host's vector, or
 *                poll), and devsim's serving code (devsim.h) in a thread
 *   heartbeat.c  the heartbeat thread
 *   device.c     set-up per mode, the event loop, signals, scribbling
 *
 * Only uapi/l3l2q.h and lib/core are used on the memory: no libl3l2q
 * queue object, no ioctl - the way device firmware would.
 *
 * Threads: the main thread runs the event loop (the server connection,
 * the own vector eventfds, a scan tick, signals) and owns the directory
 * and the region table.  Each served region has its own orchestrator
 * thread (devsim_run(), with its cores): the serving code is a blocking
 * loop over one endpoint, so a thread per region reuses it unchanged and
 * a slow or hostile region stalls only itself.  A doorbell on vector v is
 * read by the main thread and forwarded to every region on v (an eventfd
 * per region), since several slots may share a vector.  The heartbeat has
 * its own thread, so a busy event loop cannot look like a dead device.
 */
#ifndef L3L2Q_DEVSIM_DEVICE_H
#define L3L2Q_DEVSIM_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>

#include "devsim.h"
#include "l3l2q_core.h"

#define DEV_MAX_VECTORS		64u	/* per peer; QEMU's MSI-X allows more */
#define DEV_MAX_PEERS		64u	/* clients of one server */
#define IVS_VERSION		0	/* the protocol version we speak */
#define IVS_MAX_ID		65535	/* the doorbell has 16 bits for it */

/* ---- ivshmem.c ---- */

/* One message: @val as 8 bytes little-endian, @fd (or -1) by SCM_RIGHTS. */
int ivs_send(int sock, __s64 val, int fd);
/*
 * Receive one message: 0 with *fd the fd (close-on-exec) or -1; -EPIPE at
 * end of stream; -EAGAIN with MSG_DONTWAIT when nothing is queued.
 */
int ivs_recv(int sock, __s64 *val, int *fd, int flags);

/* ---- server.c ---- */

struct ivs_client {
	int sock;
	int id;
	int efd[DEV_MAX_VECTORS];	/* interrupts this client */
};

struct ivs_server {
	const char *path;
	int listen_fd;
	int shm_fd;
	__u64 shm_bytes;
	unsigned int vectors;
	unsigned int next_id;
	unsigned int nclients;
	struct ivs_client clients[DEV_MAX_PEERS];
};

/* Listen on @path (replacing a stale socket) and create the memory. */
int ivs_server_open(struct ivs_server *s, const char *path, __u64 bytes,
		    unsigned int vectors);
/* Serve clients until @stop_fd is readable.  0, or 1 after a message. */
int ivs_server_run(struct ivs_server *s, int stop_fd);
void ivs_server_close(struct ivs_server *s);

/* ---- the device ---- */

struct device;

/* A region's lifecycle in the device's table (one per directory slot). */
enum region_state {
	REG_IDLE = 0,			/* nothing served for this slot */
	REG_SERVING,			/* its thread runs */
	REG_DONE,			/* its thread ended; slot not yet let go */
	REG_REFUSED,			/* this generation is not served */
};

/* Why a region's thread is told to stop. */
enum region_stop {
	STOP_NONE = 0,
	STOP_LET_GO,			/* slot CLOSED or device exit: say DEAD */
	STOP_FORGET,			/* new epoch: the memory is not ours */
};

/* A slot as read from the directory: one consistent, validated copy. */
struct slot_view {
	__u32 state;			/* L3L2Q_SLOT_* */
	__u32 kind;
	__u32 generation;
	__u32 vector;
	__u64 region_offset;
	__u64 region_bytes;
	__u64 start_pos;
	struct l3l2q_layout layout;
	struct l3l2q_region_offsets off;
};

struct region {
	struct device *dev;
	unsigned int index;
	enum region_state state;
	int has_gen;			/* generation below is known */
	__u32 generation;		/* of the slot, as last seen */
	int let_go_done;		/* this generation was let go */
	__u32 vector;
	__u64 offset;			/* of the region in the memory */
	struct slot_view view;
	atomic_int stop;		/* enum region_stop */
	atomic_int done;		/* its thread has finished */
	int wake_fd;			/* kicked when vector fires or on stop */
	pthread_t thread;
	int result;			/* devsim_run()'s */
	char tag[40];
	/* Polling back-off (env.relax); the region's thread only. */
	__u64 relax_last_ns, relax_sleep_ns;
	struct devsim d;
	struct l3l2q_l2 *l2;
};

struct dev_peer {
	int id;				/* -1: free entry */
	unsigned int n;
	int efd[DEV_MAX_VECTORS];	/* writing one interrupts that peer */
};

struct device {
	const struct opts *o;
	unsigned char *mem;		/* the whole shared memory */
	__u64 mem_bytes;
	int shm_fd;
	/* ivshmem: our connection to the server, our ID and vectors. */
	int ctl_sock;
	int own_id;
	unsigned int nvec;
	int own_efd[DEV_MAX_VECTORS];
	pthread_mutex_t peers_lock;
	struct dev_peer peers[DEV_MAX_PEERS];
	atomic_int host_id;		/* the host's peer ID, -1 unknown */
	atomic_ullong kicks_lost;	/* host interrupts with no eventfd */
	/* What each region does: lib/core's control block, kicks. */
	int use_ctrl;			/* not --upstream-only */
	int can_kick;			/* ivshmem-doorbell and use_ctrl */
	__u32 features;			/* L3L2Q_FEAT_* in our line */
	/* The directory (main thread), and what the heartbeat needs. */
	int attached;			/* a valid host line, our line written */
	__u64 epoch;
	__u32 host_vectors;
	struct l3l2q_dir_dev line;	/* what we wrote (heartbeat aside) */
	atomic_int beating;
	atomic_uint heartbeat_ms;
	atomic_ullong heartbeat;
	struct region regions[L3L2Q_DIR_SLOTS];
	/* The event loop. */
	int epfd, sigfd, tick_fd, reap_fd;
	atomic_int quit;
	pthread_t hb_thread;
	int hb_started;
	pthread_mutex_t hb_lock;
	pthread_cond_t hb_cond;
	/* --ivshmem-server: the server runs in its own thread. */
	struct ivs_server server;
	char tmp_path[128];		/* its name until we are connected */
	pthread_t server_thread;
	int server_started;
	int server_stop;		/* eventfd */
	int server_result;
};

/* peers.c */
void dev_peers_init(struct device *dev);
/* Connect to the server at @path and take ID, memory fd and version. */
int dev_peers_connect(struct device *dev, const char *path, int *shm_fd);
/*
 * Handle the messages queued on the server connection: new own vectors
 * (added to the event loop), peers coming and going.  0, or -EPIPE when
 * the server is gone.
 */
int dev_peers_handle(struct device *dev);
/* Interrupt the host's @vector (its MSI-X); a no-op without interrupts. */
void dev_interrupt_host(struct device *dev, unsigned int vector);
void dev_peers_close(struct device *dev);

/* directory.c */
/* Read the directory and act on it: attach, serve, stop, let go. */
void dev_dir_scan(struct device *dev);
/* Stop every region (@why), mark our line DEAD or leave it (@why forget). */
void dev_dir_detach(struct device *dev, enum region_stop why);
/* Write our line with @state (L3L2Q_DEV_*). */
void dev_line_write(struct device *dev, __u32 state);

/* region.c */
/* Start serving @v; NULL, or why it is not served. */
const char *region_start(struct region *r, const struct slot_view *v);
/* Ask its thread to stop; region_reap() collects it once done. */
void region_stop(struct region *r, enum region_stop why);
/* Join a finished thread; returns 1 if it was running and is now done. */
int region_reap(struct region *r);
/* Write the region's L2 state word DEAD: the device lets it go. */
void region_let_go(struct device *dev, const struct slot_view *v);
/* A doorbell on the region's vector. */
void region_wake(struct region *r);

/* heartbeat.c */
int dev_heartbeat_start(struct device *dev);
void dev_heartbeat_stop(struct device *dev);

#endif /* L3L2Q_DEVSIM_DEVICE_H */
