/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: an in-process queue region, and direct access to its words
 * so a test can play an upstream peer byte by byte.
 */
#ifndef L3L2Q_TEST_HELPERS_H
#define L3L2Q_TEST_HELPERS_H

#include <dirent.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "l3l2q_core.h"

struct th_region {
	void *base;			/* ctrl | counters | payload */
	struct l3l2q_mem mem;
	struct l3l2q_layout layout;
	struct l3l2q_region_offsets off;
};

/* Allocate and initialise a region; returns 0 or -1 if the layout fails. */
static inline int th_region_alloc(struct th_region *r, __u64 depth,
				  __u64 in_arena, __u64 out_arena,
				  __u64 start_pos)
{
	memset(r, 0, sizeof(*r));
	if (l3l2q_layout(depth, in_arena, out_arena, &r->layout) != L3L2Q_LAYOUT_OK)
		return -1;
	if (!l3l2q_region_layout(&r->layout, &r->off))
		return -1;
	r->base = aligned_alloc(L3L2Q_REGION_ALIGN, r->off.total_bytes);
	if (!r->base)
		return -1;
	/* Garbage everywhere: stale slot contents must be harmless. */
	memset(r->base, 0xa5, r->off.total_bytes);
	memset(r->base, 0, L3L2Q_CTRL_BYTES);
	r->mem.ctrl = (char *)r->base + r->off.ctrl_offset;
	r->mem.counters = (char *)r->base + r->off.counter_offset;
	r->mem.payload = (char *)r->base + r->off.payload_offset;
	r->mem.region_id = 19;
	l3l2q_region_init(&r->mem, &r->layout, start_pos, 0);
	return 0;
}

static inline void th_region_free(struct th_region *r)
{
	free(r->base);
	r->base = NULL;
}

/* An L3 and an L2 over one in-process region, and the kicks they made. */
struct th_pair {
	struct th_region r;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	int kicks;
};

static inline void th_count_kick(void *ctx)
{
	(*(int *)ctx)++;
}

/*
 * Both endpoints over a fresh region of @depth slots and two arenas of
 * @arena bytes, the L2 with a window of @window; every kick of either
 * counted in @p->kicks.  0, or -1 when a step failed.
 */
static inline int th_pair_open(struct th_pair *p, __u64 depth, __u64 arena,
			       __u32 window)
{
	struct l3l2q_env env;

	memset(&env, 0, sizeof(env));
	env.kick = th_count_kick;
	env.ctx = &p->kicks;
	p->kicks = 0;
	if (th_region_alloc(&p->r, depth, arena, arena, 0) ||
	    l3l2q_l3_init(&p->l3, &p->r.mem, &p->r.layout, 0, &env) ||
	    l3l2q_l2_init(&p->l2, &p->r.mem, &p->r.layout, 0, window, &env))
		return -1;
	return 0;
}

/* Need-wakeup checks an endpoint made (each kicks or is suppressed). */
static inline __u64 th_wake_checks(struct l3l2q_ep *ep)
{
	struct l3l2q_stats st;

	l3l2q_ep_stats(ep, &st);
	return st.kicks + st.kicks_suppressed;
}

static inline _Atomic __s32 *th_ctr_ptr(struct th_region *r, unsigned int off)
{
	return (_Atomic __s32 *)((char *)r->mem.counters + off);
}

static inline __s32 th_ctr(struct th_region *r, unsigned int off)
{
	return atomic_load_explicit(th_ctr_ptr(r, off), memory_order_acquire);
}

static inline void th_set_ctr(struct th_region *r, unsigned int off, __s32 v)
{
	atomic_store_explicit(th_ctr_ptr(r, off), v, memory_order_release);
}

static inline unsigned char *th_payload(struct th_region *r, __u64 offset)
{
	return (unsigned char *)r->mem.payload + offset;
}

/* The slot that carries @seq on the ring at @ring_offset. */
static inline struct l3l2q_desc *th_slot(struct th_region *r, __u64 ring_offset,
					 __u64 seq)
{
	return (struct l3l2q_desc *)th_payload(r, ring_offset +
		((seq - 1) & (r->layout.depth - 1)) * L3L2Q_DESC_BYTES);
}

/*
 * Publish one descriptor as an upstream producer would: fields, then seq,
 * then the tail counter (set to the low 32 bits of seq).
 */
static inline void th_publish(struct th_region *r, int input, __u64 seq,
			      __u64 opcode, __u64 offset, __u64 nbytes)
{
	struct l3l2q_desc *d = th_slot(r, input ? r->layout.input_desc_offset :
				       r->layout.output_desc_offset, seq);

	d->opcode = opcode;
	d->payload_offset = offset;
	d->payload_nbytes = nbytes;
	d->seq = seq;
	th_set_ctr(r, input ? L3L2Q_CTR_INPUT_TAIL : L3L2Q_CTR_OUTPUT_TAIL,
		   l3l2q_low32(seq));
}

static inline void th_publish_input(struct th_region *r, __u64 seq,
				    __u64 opcode, __u64 offset, __u64 nbytes)
{
	th_publish(r, 1, seq, opcode, offset, nbytes);
}

static inline void th_publish_output(struct th_region *r, __u64 seq,
				     __u64 opcode, __u64 offset, __u64 nbytes)
{
	th_publish(r, 0, seq, opcode, offset, nbytes);
}

/* ---- a clock the test controls, which can also play the peer ---- */

enum fc_event {
	FC_NONE,
	FC_PEER_ABORT,		/* the L2 sets its abort flag */
	FC_PEER_DEAD,		/* the L2 role is marked dead in the control block */
};

struct fake_clock {
	__u64 now;
	__u64 step;			/* added by every now_ns() call */
	unsigned long reads;
	unsigned long relaxes;
	/* Fire @event at this read or this relax (0: never). */
	enum fc_event event;
	unsigned long event_at_read;
	unsigned long event_at_relax;
	int fired;
	unsigned long reads_at_event, relaxes_at_event;
	/* From this read on, jump far ahead: ends a wait that missed the event. */
	unsigned long runaway_at_read;
	struct th_region *r;
};

static inline void fc_fire(struct fake_clock *c)
{
	if (c->fired)
		return;
	c->fired = 1;
	c->reads_at_event = c->reads;
	c->relaxes_at_event = c->relaxes;
	if (c->event == FC_PEER_ABORT)
		th_set_ctr(c->r, L3L2Q_CTR_L2_ABORT, 1);
	else if (c->event == FC_PEER_DEAD)
		atomic_store_explicit((_Atomic __u32 *)((char *)c->r->mem.ctrl +
							L3L2Q_CTRL_L2_STATE),
				      L3L2Q_ROLE_DEAD, memory_order_release);
}

static inline __u64 fc_now(void *ctx)
{
	struct fake_clock *c = ctx;

	c->reads++;
	c->now += c->step;
	if (c->event_at_read && c->reads == c->event_at_read)
		fc_fire(c);
	if (c->runaway_at_read && c->reads >= c->runaway_at_read)
		c->now += 1ull << 50;
	return c->now;
}

static inline void fc_relax(void *ctx)
{
	struct fake_clock *c = ctx;

	c->relaxes++;
	if (c->event_at_relax && c->relaxes == c->event_at_relax)
		fc_fire(c);
}

/* ---- small shared pieces ---- */

/* An endpoint's need-wakeup counts, both directions summed (zero on error). */
static inline struct l3l2q_stats th_stats(const struct l3l2q_ep *ep)
{
	struct l3l2q_stats st = { 0 };

	l3l2q_ep_stats(ep, &st);
	return st;
}

static inline void fill_pattern(void *buf, size_t n, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31u + i * 7u + 1u);
}

/* Enqueue @n zero-byte DATA messages; 0 or the first failure. */
static inline int enqueue_zero(struct l3l2q_l3 *q, int n)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = l3l2q_l3_try_enqueue(q, L3L2Q_OP_DATA, NULL, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static inline struct l3l2q_desc *in_slot(struct th_region *r, __u64 seq)
{
	return th_slot(r, r->layout.input_desc_offset, seq);
}

/* The L2 output producer: payload bytes first, then the descriptor. */
static inline void peer_output(struct th_region *r, __u64 seq, __u64 opcode,
			__u64 offset, const void *data, __u64 n)
{
	if (n)
		memcpy(th_payload(r, offset), data, n);
	th_publish_output(r, seq, opcode, offset, n);
}

/* Entries of directory @path, "." and ".." (and dot files) left out. */
static inline int count_dir(const char *path)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline int count_fds(void)
{
	int n = count_dir("/proc/self/fd");

	return n < 0 ? -1 : n - 1;	/* the directory's own fd */
}

/* A /proc/meminfo field in kB, or -1. */
static inline long meminfo_kb(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * The amount of work of a stress test in this environment: @n, divided by
 * $L3L2Q_TEST_DIVISOR when it is set.  tests/aarch64_check.sh runs the
 * host suites under qemu-user, 10-50x slower, with a divisor: a smaller
 * fixed amount of work there, never a time budget.
 */
static inline __u64 th_work(__u64 n)
{
	const char *d = getenv("L3L2Q_TEST_DIVISOR");
	unsigned long v = d ? strtoul(d, NULL, 10) : 1;

	return v > 1 && n / v ? n / v : n;
}

/* The child's exit status, or 128 + the signal that ended it; -1 on error. */
static inline int th_wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif /* L3L2Q_TEST_HELPERS_H */
