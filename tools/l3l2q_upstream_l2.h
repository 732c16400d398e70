/* SPDX-License-Identifier: MIT */
/*
 * l3l2q_upstream_l2.h - a small, independent L2 endpoint of the upstream
 * L3Q2 1.1 queue, written from the upstream rules alone (the fact sheet's
 * §1-§7: region descriptor, layout, descriptor, counters, arena, the L2
 * operations, STOP and poison, the input window).  It shares no code with
 * lib/core and never reads or writes l3l2q's control block: the way device
 * code written for the upstream ABI behaves, so it tells whether l3l2q's
 * host side really interoperates with such code (and it never kicks).
 *
 * Header-only (static functions), so the tests and the tools can use it
 * without a build rule of its own.  It assumes a little-endian CPU, as
 * the upstream endpoint does, and C11 atomics of 4 and 8 bytes.
 *
 * Behaviour kept from the upstream C++ endpoint on purpose, where l3l2q
 * deviates (README, "Deviations"): the output producer commits wrap
 * padding even when the reservation then fails for space (pitfall P9), and
 * the payload replay is the strict rule.  As upstream's blocking reserve
 * does, retry a failed reservation with the same size: a smaller one
 * placed after committed padding breaks the strict replay (P9 again).
 * Counters are sampled with acquire loads and published with release
 * stores (§11).
 *
 *   ul2_init(q, base, scalars, n)   scalars: desc[0..5] + queue args;
 *                                   addresses are base + payload_base and
 *                                   base + counter_base
 *   ul2_try_peek / ul2_release      input, window of n entries (§7)
 *   ul2_try_reserve / ul2_publish   output, one reservation at a time
 *   ul2_drained                     STOP released physically
 *   ul2_check_abort                 the L3 abort flag, after a timeout
 *
 * try_ functions return 1 on progress and 0 otherwise; after 0, ul2->kind
 * tells a poison or remote abort from plain no-progress (UL2_NONE).
 */
#ifndef L3L2Q_UPSTREAM_L2_H
#define L3L2Q_UPSTREAM_L2_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* §1.1 and §1.5: the identities, restated here from the reference. */
#define UL2_REGION_MAGIC	0x4C334C32u	/* "L3L2" */
#define UL2_REGION_MAJOR	3u
#define UL2_QUEUE_MV		0x4C33513200010001ull	/* "L3Q2", 1.1 */
#define UL2_COUNTER_BYTES	384u
#define UL2_SLOT_BYTES		32u
/* §1.3: counter offsets, one 64-byte line each. */
#define UL2_IN_TAIL		0u
#define UL2_IN_HEAD		64u
#define UL2_OUT_TAIL		128u
#define UL2_OUT_HEAD		192u
#define UL2_L3_ABORT		256u
#define UL2_L2_ABORT		320u
/* §2: opcodes. */
#define UL2_OP_DATA		1u
#define UL2_OP_STOP		2u
#define UL2_OP_ERROR		3u

#define UL2_MAX_INFLIGHT	64u

/* §6: C++ ErrorKind values. */
enum ul2_kind {
	UL2_NONE = 0,
	UL2_BAD_ARGUMENT = 1,
	UL2_BAD_DESCRIPTOR = 2,
	UL2_INVALID_DESCRIPTOR = 3,
	UL2_OWNERSHIP = 5,
	UL2_REMOTE_ABORTED = 6,
};

struct ul2_msg {
	uint64_t seq, opcode, offset, nbytes;
	const unsigned char *data;	/* NULL for zero bytes */
};

struct ul2_res {
	uint64_t seq, offset, nbytes;
	unsigned char *data;		/* NULL for zero bytes */
	int valid;
};

struct ul2_entry {
	struct ul2_msg m;
	int completed;
};

struct ul2 {
	unsigned char *payload;
	unsigned char *counters;
	uint64_t depth, in_arena, out_arena;
	uint64_t in_desc, out_desc, in_arena_off, out_arena_off, payload_bytes;
	uint64_t region_id;
	/* input (consumer): tail seen, acquired, released; payload cursors */
	uint64_t in_tail, in_acq, in_head, in_pacq, in_phead;
	struct ul2_entry win[UL2_MAX_INFLIGHT + 1];
	unsigned int n, first, active, non_stop;
	int stop_seen, drained;
	/* output (producer): published, released (replayed); cursors */
	uint64_t out_tail, out_head, out_ptail, out_phead;
	struct ul2_res res;
	/* the first terminal error */
	enum ul2_kind kind;
	char msg[256];
};

static inline int32_t ul2__load(const struct ul2 *q, unsigned int off)
{
	return atomic_load_explicit((_Atomic int32_t *)(q->counters + off),
				    memory_order_acquire);
}

static inline void ul2__store(struct ul2 *q, unsigned int off, uint64_t v)
{
	atomic_store_explicit((_Atomic int32_t *)(q->counters + off),
			      (int32_t)(uint32_t)v, memory_order_release);
}

/* Terminal: record (first one wins), raise our abort flag on poison. */
static inline int ul2__fail(struct ul2 *q, enum ul2_kind kind, const char *what,
			    uint64_t a)
{
	if (q->kind == UL2_NONE) {
		q->kind = kind;
		snprintf(q->msg, sizeof(q->msg),
			 "L3-L2 queue error kind=%d region=%llu msg=%s %llu",
			 (int)kind, (unsigned long long)q->region_id, what,
			 (unsigned long long)a);
		if (kind != UL2_REMOTE_ABORTED)
			atomic_store_explicit((_Atomic int32_t *)(q->counters +
				UL2_L2_ABORT), 1, memory_order_release);
	}
	return 0;
}

/* §3: rebuild a u64 count from its low 32 bits: 1, or 0 (impossible). */
static inline int ul2__rebuild(uint64_t local, int32_t seen, uint64_t depth,
			       uint64_t *out)
{
	int32_t d = (int32_t)((uint32_t)seen - (uint32_t)local);

	if (d < 0 || (uint64_t)d > depth)
		return 0;
	*out = local + (uint64_t)d;
	return 1;
}

static inline uint64_t ul2__le(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;	/* little-endian CPU */
}

/* §4, the strict rule: where the next span of @n bytes must start. */
static inline uint64_t ul2__expect(uint64_t cur, uint64_t a, uint64_t base,
				   uint64_t n)
{
	return cur % a + n > a ? base : base + cur % a;
}

static inline void ul2__advance(uint64_t *cur, uint64_t a, uint64_t n)
{
	if (*cur % a + n > a)
		*cur += a - *cur % a;
	*cur += n;
}

/* @n bytes at @off lie wholly inside [base, base + a) (overflow-safe). */
static inline int ul2__inside(uint64_t off, uint64_t n, uint64_t base,
			      uint64_t a)
{
	return off >= base && n <= a && off - base <= a - n;
}

/* §1.1, §1.2, §1.4: 0, or a kind with q->msg naming the field. */
static inline int ul2_init(struct ul2 *q, void *base, const uint64_t *s,
			   unsigned int count, unsigned int max_inflight)
{
	uint64_t d, ring, end, pend, cend;

	memset(q, 0, sizeof(*q));
	q->kind = UL2_BAD_DESCRIPTOR;
	if (count < 12) {
		snprintf(q->msg, sizeof(q->msg), "init: 12 scalars needed, got %u",
			 count);
		return q->kind;
	}
	q->region_id = s[1];
	if ((uint32_t)(s[0] >> 32) != UL2_REGION_MAGIC ||
	    ((s[0] >> 16) & 0xffff) != UL2_REGION_MAJOR) {
		snprintf(q->msg, sizeof(q->msg), "init: region magic_version");
		return q->kind;
	}
	if (!s[1]) {
		snprintf(q->msg, sizeof(q->msg), "init: region_id 0");
		return q->kind;
	}
	if (!s[3] || s[2] > UINT64_MAX - s[3]) {
		snprintf(q->msg, sizeof(q->msg), "init: payload range");
		return q->kind;
	}
	pend = s[2] + s[3];
	if (!s[5] || s[5] % 4 || s[4] % 64 || s[4] > UINT64_MAX - s[5] ||
	    (cend = s[4] + s[5], s[4] < pend && s[2] < cend)) {
		snprintf(q->msg, sizeof(q->msg), "init: counter range");
		return q->kind;
	}
	if (s[6] != UL2_QUEUE_MV) {
		snprintf(q->msg, sizeof(q->msg), "init: queue magic_version");
		return q->kind;
	}
	/* §1.2 and §1.4: the layout, every step checked. */
	d = s[7];
	if (!d || d > (1ull << 30) || (d & (d - 1)) || !s[8] || s[8] % 64 ||
	    !s[9] || s[9] % 64) {
		snprintf(q->msg, sizeof(q->msg), "init: depth or arena sizes");
		return q->kind;
	}
	ring = d * UL2_SLOT_BYTES;
	end = (2 * ring + 63) / 64 * 64;
	if (s[8] > UINT64_MAX - end - 63 ||
	    (end + s[8] + 63) / 64 * 64 > UINT64_MAX - s[9]) {
		snprintf(q->msg, sizeof(q->msg), "init: layout overflows");
		return q->kind;
	}
	q->depth = d;
	q->in_arena = s[8];
	q->out_arena = s[9];
	q->in_desc = 0;
	q->out_desc = ring;
	q->in_arena_off = end;
	q->out_arena_off = (end + s[8] + 63) / 64 * 64;
	q->payload_bytes = q->out_arena_off + s[9];
	if (s[10] != q->payload_bytes || s[3] != q->payload_bytes ||
	    s[11] != UL2_COUNTER_BYTES || s[5] != UL2_COUNTER_BYTES) {
		snprintf(q->msg, sizeof(q->msg),
			 "init: payload_bytes or counter_bytes differ from the layout");
		return q->kind;
	}
	if (!max_inflight || max_inflight > UL2_MAX_INFLIGHT || max_inflight > d) {
		q->kind = UL2_BAD_ARGUMENT;
		snprintf(q->msg, sizeof(q->msg), "init: max_inflight %u", max_inflight);
		return q->kind;
	}
	q->payload = (unsigned char *)base + s[2];
	q->counters = (unsigned char *)base + s[4];
	q->n = max_inflight;
	q->kind = UL2_NONE;
	q->msg[0] = 0;
	return 0;
}

static inline int ul2_live(const struct ul2 *q)
{
	return q->kind == UL2_NONE;
}

/* §5.2 disambiguate_timeout(): after a wait ran out, did L3 abort? */
static inline int ul2_check_abort(struct ul2 *q)
{
	if (q->kind == UL2_NONE && ul2__load(q, UL2_L3_ABORT) >= 1)
		ul2__fail(q, UL2_REMOTE_ABORTED, "remote abort", 0);
	return q->kind == UL2_REMOTE_ABORTED;
}

/* §5.2 input().try_peek() with the §7 window. */
static inline int ul2_try_peek(struct ul2 *q, struct ul2_msg *out)
{
	const unsigned char *slot;
	struct ul2_entry *e;
	struct ul2_msg m;
	uint64_t tail, want;
	int32_t seen;

	if (!ul2_live(q))
		return 0;
	if (q->n == 1 && q->active)
		return ul2__fail(q, UL2_OWNERSHIP, "input handle already active",
				 q->in_acq);
	seen = ul2__load(q, UL2_IN_TAIL);
	if (seen != (int32_t)(uint32_t)q->in_tail) {
		if (!ul2__rebuild(q->in_tail, seen, q->depth, &tail))
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "counter reconstruction failed at",
					 q->in_tail);
		q->in_tail = tail;
	}
	if (q->stop_seen) {
		if (q->in_tail > q->in_acq)
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "input after STOP at", q->in_acq);
		return 0;
	}
	if (q->in_tail == q->in_acq)
		return 0;
	if (q->in_tail - q->in_head > q->depth || q->in_acq < q->in_head ||
	    q->in_acq > q->in_tail)
		return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
				 "input descriptor state invalid at", q->in_acq);
	slot = q->payload + q->in_desc + (q->in_acq & (q->depth - 1)) *
	       UL2_SLOT_BYTES;
	m.seq = ul2__le(slot);
	m.opcode = ul2__le(slot + 8);
	m.offset = ul2__le(slot + 16);
	m.nbytes = ul2__le(slot + 24);
	m.data = NULL;
	if (m.seq != q->in_acq + 1)
		return ul2__fail(q, UL2_INVALID_DESCRIPTOR, "seq mismatch, got",
				 m.seq);
	if (m.opcode != UL2_OP_DATA && m.opcode != UL2_OP_ERROR &&
	    m.opcode != UL2_OP_STOP)
		return ul2__fail(q, UL2_INVALID_DESCRIPTOR, "invalid opcode",
				 m.opcode);
	if (m.opcode == UL2_OP_STOP && (m.nbytes || m.offset))
		return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
				 "STOP with a payload at seq", m.seq);
	if (m.opcode != UL2_OP_STOP && q->non_stop == q->n)
		return 0;	/* window full: no progress, no poison */
	if (q->active == q->n + 1)
		return ul2__fail(q, UL2_OWNERSHIP, "too many active entries",
				 q->active);
	if (!m.nbytes) {
		if (m.offset)
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "zero-byte message with offset", m.offset);
	} else {
		if (!ul2__inside(m.offset, m.nbytes, q->in_arena_off, q->in_arena))
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "payload outside the input arena at",
					 m.offset);
		want = ul2__expect(q->in_pacq, q->in_arena, q->in_arena_off,
				   m.nbytes);
		if (m.offset != want)
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "payload replay offset mismatch at",
					 m.offset);
		ul2__advance(&q->in_pacq, q->in_arena, m.nbytes);
		m.data = q->payload + m.offset;
	}
	e = &q->win[(q->first + q->active) % (q->n + 1)];
	e->m = m;
	e->completed = 0;
	q->active++;
	if (m.opcode != UL2_OP_STOP)
		q->non_stop++;
	q->in_acq++;
	if (m.opcode == UL2_OP_STOP) {
		q->stop_seen = 1;
		if (q->in_tail > q->in_acq)
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "input after STOP at", q->in_acq);
	}
	*out = m;
	return 1;
}

/* §5.2 input().release(): mark complete, free the completed prefix. */
static inline int ul2_release(struct ul2 *q, const struct ul2_msg *m)
{
	struct ul2_entry *e = NULL, *h;
	unsigned int i;

	if (!ul2_live(q))
		return 0;
	for (i = 0; i < q->active; i++) {
		h = &q->win[(q->first + i) % (q->n + 1)];
		if (h->m.seq == m->seq) {
			e = h;
			break;
		}
	}
	if (!e || e->m.opcode != m->opcode || e->m.offset != m->offset ||
	    e->m.nbytes != m->nbytes || e->m.data != m->data)
		return ul2__fail(q, UL2_OWNERSHIP, "input handle not active, seq",
				 m->seq);
	if (e->completed)
		return ul2__fail(q, UL2_OWNERSHIP, "input already released, seq",
				 m->seq);
	e->completed = 1;
	while (q->active) {
		h = &q->win[q->first];
		if (!h->completed)
			break;
		if (h->m.nbytes)
			ul2__advance(&q->in_phead, q->in_arena, h->m.nbytes);
		if (h->m.opcode == UL2_OP_STOP)
			q->drained = 1;
		else
			q->non_stop--;
		q->in_head++;
		q->first = (q->first + 1) % (q->n + 1);
		q->active--;
		/* One head store per popped entry (§7). */
		ul2__store(q, UL2_IN_HEAD, q->in_head);
	}
	return 1;
}

static inline int ul2_drained(const struct ul2 *q)
{
	return q->drained;
}

/* Learn the released output slots and replay them (§4): 1 ok, 0 poison. */
static inline int ul2__refresh_out(struct ul2 *q)
{
	const unsigned char *slot;
	uint64_t head, cur, seq, off, n;
	int32_t seen = ul2__load(q, UL2_OUT_HEAD);

	if (seen == (int32_t)(uint32_t)q->out_head)
		return 1;
	if (!ul2__rebuild(q->out_head, seen, q->depth, &head) || head > q->out_tail)
		return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
				 "output head reconstruction failed at", q->out_head);
	for (cur = q->out_head; cur < head; cur++) {
		slot = q->payload + q->out_desc + (cur & (q->depth - 1)) *
		       UL2_SLOT_BYTES;
		seq = ul2__le(slot);
		off = ul2__le(slot + 16);
		n = ul2__le(slot + 24);
		if (seq != cur + 1)
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "release replay seq mismatch at", cur + 1);
		if (!n)
			continue;
		if (off != ul2__expect(q->out_phead, q->out_arena,
				       q->out_arena_off, n))
			return ul2__fail(q, UL2_INVALID_DESCRIPTOR,
					 "payload replay offset mismatch at", off);
		ul2__advance(&q->out_phead, q->out_arena, n);
	}
	q->out_head = head;
	return 1;
}

/* §5.2 output().try_reserve(). */
static inline int ul2_try_reserve(struct ul2 *q, uint64_t n, struct ul2_res *r)
{
	uint64_t a = q->out_arena, pos;

	if (!ul2_live(q))
		return 0;
	if (q->res.valid)
		return ul2__fail(q, UL2_OWNERSHIP, "output reservation active, seq",
				 q->res.seq);
	if (n > a)
		return 0;
	if (!ul2__refresh_out(q))
		return 0;
	if (q->out_tail - q->out_head >= q->depth)
		return 0;
	memset(r, 0, sizeof(*r));
	r->seq = q->out_tail + 1;
	r->nbytes = n;
	if (n) {
		pos = q->out_ptail % a;
		/* Upstream commits the padding before the space check (P9). */
		if (pos + n > a) {
			q->out_ptail += a - pos;
			pos = 0;
		}
		if (q->out_ptail + n - q->out_phead > a)
			return 0;
		r->offset = q->out_arena_off + pos;
		r->data = q->payload + r->offset;
		q->out_ptail += n;
	}
	r->valid = 1;
	q->res = *r;
	return 1;
}

/* §5.2 output().publish(): fields, then seq, then the tail. */
static inline int ul2_publish(struct ul2 *q, const struct ul2_res *r,
			      uint64_t opcode)
{
	unsigned char *slot;
	uint64_t f[3];

	if (!ul2_live(q))
		return 0;
	if (!q->res.valid || !r->valid || r->seq != q->res.seq ||
	    r->offset != q->res.offset || r->nbytes != q->res.nbytes)
		return ul2__fail(q, UL2_OWNERSHIP, "unknown output reservation, seq",
				 r->seq);
	if (opcode != UL2_OP_DATA && opcode != UL2_OP_ERROR)
		return ul2__fail(q, UL2_INVALID_DESCRIPTOR, "output opcode",
				 opcode);
	slot = q->payload + q->out_desc + ((r->seq - 1) & (q->depth - 1)) *
	       UL2_SLOT_BYTES;
	f[0] = opcode;
	f[1] = r->offset;
	f[2] = r->nbytes;
	memcpy(slot + 8, f, sizeof(f));
	atomic_store_explicit((_Atomic uint64_t *)slot, r->seq,
			      memory_order_release);
	q->out_tail++;
	q->res.valid = 0;
	ul2__store(q, UL2_OUT_TAIL, q->out_tail);
	return 1;
}

#endif /* L3L2Q_UPSTREAM_L2_H */
