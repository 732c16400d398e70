/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_mp.h - many host threads on one L3 endpoint: several producers on
 * the input ring (MP), several consumers on the output ring (MC).
 *
 * The wire does not change: the L2 still sees one in-order SPSC ring, byte
 * for byte what a single L3 thread would write (upstream L3Q2).  What is
 * shared between the threads is private to the process (struct l3l2q_mp
 * and the arrays it points to), never the region.
 *
 * MP, in the style of DPDK rte_ring's MP mode:
 *   claim    a compare-and-swap on one private word takes the next
 *            descriptor slot and its arena span (padding included) at once;
 *   fill     each thread writes its own payload, in parallel;
 *   publish  each thread writes its own descriptor and marks its claim
 *            done; the tail counter moves only over the completed prefix,
 *            so the L2 sees the messages in claim order.
 * MC: a thread takes the next output message (peek, validated as in the
 * single-consumer case), reads it in parallel with the others, and
 * releases it; the head counter moves only over the released prefix.
 *
 * Each message of one thread keeps its order: claims of one thread are in
 * program order, and the ring delivers in claim order.
 *
 * The lock-waiter preemption caveat (rte_ring's, in another form): a thread
 * preempted between its claim and its publish holds back every message
 * claimed after it (they are written, not yet visible), until it runs
 * again; a thread that dies there stalls the input for good.  Nobody spins
 * on it: the other producers keep claiming until the ring is full.  The
 * same holds for an MC consumer that holds a message: the output head
 * stops at it.  A few short steps (moving a counter, learning what the L2
 * released, validating the next output descriptor, recording an error)
 * run under one token; a publish or a release that finds it taken leaves
 * its step to the holder, but a thread that cannot go on without the
 * holder's state (a refresh, a peek) spins, with the relax hook, while a
 * preempted holder does not run.
 *
 * Waiting: at most one thread per direction sleeps in the endpoint's
 * env.sleep (the leader, which arms the need-wakeup bit); the others park
 * on a private word through the park hook until the leader wakes, so one
 * kick wakes every waiter and no kick is consumed by the wrong thread.
 *
 * Everything the single-thread endpoint keeps (struct l3l2q_ep, q->in,
 * q->out) is written only under the token, so the MP and MC threads act
 * as one thread per direction; a direction left in single-thread mode is
 * driven by one thread of its own, as in l3l2q(7).
 */
#ifndef L3L2Q_MP_H
#define L3L2Q_MP_H

#include "l3l2q_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* l3l2q_mp_params.flags, and libl3l2q's l3l2q_params.threads. */
#define L3L2Q_MP_PRODUCERS	(1u << 0)	/* many threads enqueue */
#define L3L2Q_MP_CONSUMERS	(1u << 1)	/* many threads dequeue */
#define L3L2Q_MP_ALL		(L3L2Q_MP_PRODUCERS | L3L2Q_MP_CONSUMERS)

/*
 * The claim word holds the arena cursor in 31 bits, modulo a multiple of
 * the arena that is at least twice its size: MP needs an input arena of at
 * most 2^30 bytes.
 */
#define L3L2Q_MP_ARENA_MAX	(1ull << 30)

/* One per input ring slot (MP): what the claim of that slot reserved. */
struct l3l2q_mp_slot {
	__u64 state;		/* 4 * seq + 1 claimed, 2 publishing, 3 done */
	__u64 offset;
	__u64 nbytes;
	__u32 pend;		/* the arena cursor after this claim (mod) */
	__u32 stop;		/* claimed by request_stop */
};

/* One per output ring slot (MC): a message a consumer thread holds. */
struct l3l2q_mc_slot {
	__u64 state;		/* 4 * seq + 1 held, 2 releasing, 3 released */
	__u64 opcode;
	__u64 offset;
	__u64 nbytes;
	__u64 data;		/* the validated payload pointer */
};

/* Where the waiting threads of one direction meet (a line of its own). */
struct l3l2q_mp_dir {
	__u32 leader __attribute__((aligned(64)));	/* a thread sleeps in env.sleep */
	__u32 gen;			/* bumped when the leader wakes (park word) */
};

struct l3l2q_mp_params {
	__u32 flags;			/* L3L2Q_MP_* */
	__u32 resv0;			/* must be zero */
	struct l3l2q_mp_slot *slots;	/* MP: depth entries */
	struct l3l2q_mc_slot *held;	/* MC: depth entries */
	struct l3l2q_entry *win;	/* MC: depth + 1 entries */
	/*
	 * Sleep while *word == val, until unpark() or deadline_ns (like
	 * FUTEX_WAIT); may return early.  NULL: waiters that are not the
	 * leader spin with relax().
	 */
	void (*park)(void *ctx, __u32 *word, __u32 val, __u64 deadline_ns);
	/* Wake every thread parked on word. */
	void (*unpark)(void *ctx, __u32 *word);
	/*
	 * Called in spin loops, by any thread at once (a pause, and now and
	 * then a yield); NULL: none.
	 */
	void (*relax)(void *ctx);
	void *ctx;
};

/* ---- private state: do not access these members directly ---- */

struct l3l2q_mp {
	struct l3l2q_l3 *q;
	__u32 flags;
	__u32 dead;			/* a token holder saw the endpoint not LIVE */
	/* copies of what the lock-free paths need, never written again */
	unsigned char *payload;
	unsigned char *ring;
	__u64 depth;
	__u64 arena_offset, arena_bytes;
	__u64 mod;			/* cursors are kept modulo this */
	struct l3l2q_mp_slot *slots;
	struct l3l2q_mc_slot *held;
	void (*park)(void *ctx, __u32 *word, __u32 val, __u64 deadline_ns);
	void (*unpark)(void *ctx, __u32 *word);
	void (*relax)(void *ctx);
	void *ctx;
	/* 0 free, 1 held: the steps that write q->in, q->out, the endpoint */
	__u32 token __attribute__((aligned(64)));
	/* MP: the claim word (seq | stop | arena cursor), CASed by claimers */
	__u64 claim __attribute__((aligned(64)));
	/* MP: what the consumer released (seq | cursor), written under token */
	__u64 released __attribute__((aligned(64)));
	/* MP: the published tail, written under the token */
	__u64 tail __attribute__((aligned(64)));
	/* MC: the released head, written under the token */
	__u64 out_head __attribute__((aligned(64)));
	struct l3l2q_mp_dir in;
	struct l3l2q_mp_dir out;
};

/*
 * Put @q's input (PRODUCERS) and/or output (CONSUMERS) in multi-thread
 * mode, with @mp and the arrays of @p as the threads' shared state.  Only
 * while nothing is in flight in the direction (every input released,
 * no reservation active or deferred; no output message held).  From then
 * on the direction is driven only through the calls below; the single-
 * thread calls of that direction return -EINVAL.  0, or -EINVAL (bad
 * parameters, an input arena above L3L2Q_MP_ARENA_MAX) or -EBUSY, with
 * q's last error naming the field.
 */
int l3l2q_l3_mp_init(struct l3l2q_l3 *q, struct l3l2q_mp *mp,
		     const struct l3l2q_mp_params *p);

/* ---- MP: any number of threads at once ---- */

int l3l2q_l3_mp_try_reserve(struct l3l2q_l3 *q, __u64 n,
			    struct l3l2q_res *res);
int l3l2q_l3_mp_reserve(struct l3l2q_l3 *q, __u64 n, __u64 deadline_ns,
			struct l3l2q_res *res);
/* Any thread may publish a reservation, once; opcode DATA or ERROR. */
int l3l2q_l3_mp_publish(struct l3l2q_l3 *q, const struct l3l2q_res *res,
			__u64 opcode);
int l3l2q_l3_mp_try_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
			    __u64 n);
int l3l2q_l3_mp_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
			__u64 n, __u64 deadline_ns);
/* STOP is claimed after every claim made before it; later claims: -EPIPE. */
int l3l2q_l3_mp_try_request_stop(struct l3l2q_l3 *q);
int l3l2q_l3_mp_request_stop(struct l3l2q_l3 *q, __u64 deadline_ns);

/* ---- MC: any number of threads at once ---- */

/* Each call takes the next message; a thread may hold several. */
int l3l2q_l3_mc_try_peek(struct l3l2q_l3 *q, struct l3l2q_msg *msg);
int l3l2q_l3_mc_peek(struct l3l2q_l3 *q, __u64 deadline_ns,
		     struct l3l2q_msg *msg);
int l3l2q_l3_mc_read(struct l3l2q_l3 *q, const struct l3l2q_msg *msg,
		     void *buf, __u64 cap);
int l3l2q_l3_mc_release(struct l3l2q_l3 *q, const struct l3l2q_msg *msg);
int l3l2q_l3_mc_try_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
			    struct l3l2q_msg *msg);
int l3l2q_l3_mc_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
			__u64 deadline_ns, struct l3l2q_msg *msg);

#ifdef __cplusplus
}
#endif

#endif /* L3L2Q_MP_H */
