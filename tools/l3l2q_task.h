/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_task.h - the application payload header that l3l2q-demo,
 * l3l2q-devsim and their tests put in front of every message.
 *
 * The queue never looks inside a payload (reference §7: correlation and
 * cardinality belong to the application), so this header is how a result
 * finds its task once the device completes tasks out of order.
 *
 * Wire format: 64 bytes, every field little-endian and fixed-width, at the
 * start of the payload; payload_bytes more bytes follow it.  Always go
 * through l3l2q_task_load()/l3l2q_task_store(): a payload may sit at any
 * offset a peer chose, and the fields are converted from little-endian.
 *
 *   off size field          task (L3 -> L2)           result (L2 -> L3)
 *     0    4 magic          L3L2Q_TASK_MAGIC           same
 *     4    2 version        L3L2Q_TASK_VERSION         same
 *     6    2 kind           TASK                       RESULT, ERROR, STATS
 *     8    4 op             L3L2Q_TASK_OP_*            the task's op
 *    12    4 arg            op argument (XOR key)      the task's arg
 *    16    8 id             chosen by L3               the task's id (ERROR:
 *                                                      ~0 when unreadable)
 *    24    8 payload_bytes  bytes after the header     same for the result
 *    32    8 work_ns        simulated device time      the task's work_ns
 *    40    8 submit_ns      L3's clock at submission   echoed (latency)
 *    48    8 hash           0                          FNV-1a 64 of the
 *                                                      result bytes
 *    56    4 worker         0                          the core that ran it
 *    60    4 resv           0                          0
 *
 * A result (kind RESULT, opcode DATA) carries op(task bytes).  An ERROR
 * (opcode ERROR) carries a short text reason naming the field at fault.
 * STATS (opcode DATA, id ~0) carries struct l3l2q_task_stats: the device
 * side's counters, published once after the STOP drain's last result.
 */
#ifndef L3L2Q_TASK_H
#define L3L2Q_TASK_H

#include <endian.h>
#include <stddef.h>
#include <string.h>

#include "l3l2q.h"

#define L3L2Q_TASK_MAGIC	0x4b54334cu	/* "L3TK" in memory */
#define L3L2Q_TASK_VERSION	1u
#define L3L2Q_TASK_HDR_BYTES	64u
#define L3L2Q_TASK_ID_NONE	(~(__u64)0)

/* l3l2q_task_hdr.kind */
enum l3l2q_task_kind {
	L3L2Q_TASK_KIND_TASK = 1,
	L3L2Q_TASK_KIND_RESULT = 2,
	L3L2Q_TASK_KIND_ERROR = 3,
	L3L2Q_TASK_KIND_STATS = 4,
};

/* l3l2q_task_hdr.op: what a core does to the task bytes. */
enum l3l2q_task_op {
	L3L2Q_TASK_OP_COPY = 0,		/* the bytes unchanged */
	L3L2Q_TASK_OP_UPPER = 1,	/* ASCII a-z to A-Z, the rest unchanged */
	L3L2Q_TASK_OP_XOR = 2,		/* every byte XOR (arg & 0xff) */
	L3L2Q_TASK_OP_COUNT = 3,	/* first unknown value */
};

struct l3l2q_task_hdr {
	__u32 magic;
	__u16 version;
	__u16 kind;
	__u32 op;
	__u32 arg;
	__u64 id;
	__u64 payload_bytes;
	__u64 work_ns;
	__u64 submit_ns;
	__u64 hash;
	__u32 worker;
	__u32 resv;
};

L3L2Q__ASSERT(sizeof(struct l3l2q_task_hdr) == L3L2Q_TASK_HDR_BYTES,
	      "task header is 64 bytes");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, kind) == 6, "kind");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, op) == 8, "op");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, arg) == 12, "arg");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, id) == 16, "id");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, payload_bytes) == 24,
	      "payload_bytes");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, work_ns) == 32, "work_ns");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, submit_ns) == 40, "submit_ns");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, hash) == 48, "hash");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, worker) == 56, "worker");
L3L2Q__ASSERT(offsetof(struct l3l2q_task_hdr, resv) == 60, "resv");

/* The device side's counters, the payload of a STATS message (LE u64s). */
struct l3l2q_task_stats {
	__u64 tasks;			/* RESULTs published */
	__u64 errors;			/* ERRORs published */
	__u64 bytes_in;			/* input payload bytes consumed */
	__u64 bytes_out;		/* output payload bytes published */
	__u64 kicks;			/* l3l2q_ep_stats() of the L2 endpoint */
	__u64 kicks_suppressed;
	__u64 sleeps;
	__u64 out_of_order;		/* completions not at the window's head */
	__u64 mailbox_full;		/* pushes that found the mailbox full */
	__u64 idle_waits;		/* orchestrator waits outside the library */
	__u64 doorbells;		/* eventfd writes by cores to wake it */
	__u64 workers;
	__u64 window;
	__u64 resv;
};

#define L3L2Q_TASK_STATS_WORDS	(sizeof(struct l3l2q_task_stats) / 8)
L3L2Q__ASSERT(sizeof(struct l3l2q_task_stats) == 112, "stats are 14 u64s");

/* Decode the header at @p (any alignment) into host order. */
static inline void l3l2q_task_load(struct l3l2q_task_hdr *h, const void *p)
{
	memcpy(h, p, sizeof(*h));
	h->magic = le32toh(h->magic);
	h->version = le16toh(h->version);
	h->kind = le16toh(h->kind);
	h->op = le32toh(h->op);
	h->arg = le32toh(h->arg);
	h->id = le64toh(h->id);
	h->payload_bytes = le64toh(h->payload_bytes);
	h->work_ns = le64toh(h->work_ns);
	h->submit_ns = le64toh(h->submit_ns);
	h->hash = le64toh(h->hash);
	h->worker = le32toh(h->worker);
	h->resv = le32toh(h->resv);
}

/* Encode @h at @p (any alignment) as little-endian. */
static inline void l3l2q_task_store(void *p, const struct l3l2q_task_hdr *h)
{
	struct l3l2q_task_hdr le = {
		.magic = htole32(h->magic),
		.version = htole16(h->version),
		.kind = htole16(h->kind),
		.op = htole32(h->op),
		.arg = htole32(h->arg),
		.id = htole64(h->id),
		.payload_bytes = htole64(h->payload_bytes),
		.work_ns = htole64(h->work_ns),
		.submit_ns = htole64(h->submit_ns),
		.hash = htole64(h->hash),
		.worker = htole32(h->worker),
		.resv = htole32(h->resv),
	};

	memcpy(p, &le, sizeof(le));
}

static inline void l3l2q_task_stats_load(struct l3l2q_task_stats *s,
					 const void *p)
{
	__u64 w[L3L2Q_TASK_STATS_WORDS];
	size_t i;

	memcpy(w, p, sizeof(w));
	for (i = 0; i < L3L2Q_TASK_STATS_WORDS; i++)
		w[i] = le64toh(w[i]);
	memcpy(s, w, sizeof(w));
}

static inline void l3l2q_task_stats_store(void *p,
					  const struct l3l2q_task_stats *s)
{
	__u64 w[L3L2Q_TASK_STATS_WORDS];
	size_t i;

	memcpy(w, s, sizeof(w));
	for (i = 0; i < L3L2Q_TASK_STATS_WORDS; i++)
		w[i] = htole64(w[i]);
	memcpy(p, w, sizeof(w));
}

/* One byte of op(@op, @arg); unknown ops are rejected before this. */
static inline unsigned char l3l2q_task_apply(__u32 op, __u32 arg,
					     unsigned char c)
{
	switch (op) {
	case L3L2Q_TASK_OP_UPPER:
		return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
	case L3L2Q_TASK_OP_XOR:
		return (unsigned char)(c ^ (arg & 0xffu));
	default:
		return c;
	}
}

#define L3L2Q_FNV64_INIT	0xcbf29ce484222325ull
#define L3L2Q_FNV64_PRIME	0x00000100000001b3ull

/* FNV-1a 64 continued over @n bytes (start with L3L2Q_FNV64_INIT). */
static inline __u64 l3l2q_fnv1a64(__u64 h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= L3L2Q_FNV64_PRIME;
	}
	return h;
}

/* FNV-1a 64 of op(bytes), without materialising the result. */
static inline __u64 l3l2q_task_result_hash(__u32 op, __u32 arg,
					   const unsigned char *in, size_t n)
{
	__u64 h = L3L2Q_FNV64_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= l3l2q_task_apply(op, arg, in[i]);
		h *= L3L2Q_FNV64_PRIME;
	}
	return h;
}

/*
 * A deterministic workload, so that a checker regenerates task @id from
 * its id alone: its size (uniform in [0, max]), op, arg and bytes.
 */
static inline __u64 l3l2q_task_mix(__u64 x)
{
	/* splitmix64: every output bit depends on every input bit */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline __u64 l3l2q_task_gen_size(__u64 id, __u64 max)
{
	return l3l2q_task_mix(id ^ 0x5a5a000000000000ull) % (max + 1);
}

static inline __u32 l3l2q_task_gen_op(__u64 id)
{
	return (__u32)(l3l2q_task_mix(id ^ 0x0f0f000000000000ull) %
		       L3L2Q_TASK_OP_COUNT);
}

static inline __u32 l3l2q_task_gen_arg(__u64 id)
{
	return (__u32)(l3l2q_task_mix(id ^ 0x3c3c000000000000ull) & 0xffu);
}

/* Printable text, so UPPER has something to do. */
static inline unsigned char l3l2q_task_gen_byte(__u64 id, __u64 i)
{
	static const char text[] = "abcdefghijklmnopqrstuvwxyz ,.0123456789";

	return (unsigned char)text[(id * 31u + i * 7u + (id >> 3)) %
				   (sizeof(text) - 1)];
}

static inline void l3l2q_task_gen_fill(__u64 id, unsigned char *p, __u64 n)
{
	__u64 i;

	for (i = 0; i < n; i++)
		p[i] = l3l2q_task_gen_byte(id, i);
}

/*
 * 0 if @p[0..n) is the result of generated task @id (op and arg as
 * generated), else -1.
 */
static inline int l3l2q_task_gen_check(__u64 id, const unsigned char *p,
				       __u64 n)
{
	__u32 op = l3l2q_task_gen_op(id), arg = l3l2q_task_gen_arg(id);
	__u64 i;

	for (i = 0; i < n; i++)
		if (p[i] != l3l2q_task_apply(op, arg, l3l2q_task_gen_byte(id, i)))
			return -1;
	return 0;
}

#endif /* L3L2Q_TASK_H */
