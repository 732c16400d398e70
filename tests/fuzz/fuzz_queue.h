/* SPDX-License-Identifier: MIT */
/*
 * The queue fuzzers' engine: one endpoint under test (the SUT), facing a
 * peer that is partly honest (the library's own endpoint of the other
 * role, driven by the script) and partly hostile (arbitrary writes
 * anywhere in the shared region, plain or aimed at counters, control words
 * and descriptors).  fuzz_l3.c puts the L3 under test, fuzz_l2.c the L2.
 *
 * An input is a script: a geometry, a start position, then one operation
 * per byte (with its arguments from the following bytes) until the input
 * ends.  The invariants, checked after every operation of the SUT (a
 * failure prints what broke and aborts, which libFuzzer reports):
 *
 *  1. only documented results: each call's return is one its man page
 *     lists for the arguments it got (all valid here);
 *  2. messages in order: the SUT delivers seq head+1, head+2, ...;
 *     a delivered payload lies inside its own arena, a zero-byte one is
 *     NULL at offset 0; a reservation lies inside its own arena;
 *  3. honest messages intact: a message the honest peer published, whose
 *     slot and payload bytes nothing wrote since (each byte of the payload
 *     area carries the number of the event that last wrote it), is
 *     delivered with its opcode, size and bytes -- or the SUT is poisoned;
 *     never other bytes as valid;
 *  4. poison is terminal: once a call returns -EPROTO the state is
 *     POISONED_LOCAL (own abort flag set at that moment) and every later
 *     call returns -EPROTO; a remote abort (-ECONNRESET) is terminal too;
 *  5. no hang: no sleep hook, a fake clock that moves on every read, and
 *     finite deadlines, so every call returns (libFuzzer's -timeout checks).
 *
 * Known findings it is kept away from (issue 12, item 5, fixed elsewhere):
 * start positions near 2^64 (it uses start_pos < 2^40, which still crosses
 * the 2^31 and 2^32 counter wraps), and the seen value a sleeper reads
 * back from the shared seen word (there is no env.sleep here).
 *
 * FUZZ_BLIND=1 in the environment stops recording the hostile writes as
 * such: the content check then must fail (tests/fuzz_check.sh uses it to
 * show that invariant 3 can fail).
 */
#ifndef L3L2Q_FUZZ_QUEUE_H
#define L3L2Q_FUZZ_QUEUE_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l3l2q_core.h"
#include "fuzz_script.h"

#define FZ_MAX_OPS	1500u
#define FZ_MAX_ARENA	512u

/* ---- the world of one input ---- */

struct fz_rec {			/* a message the honest side published */
	uint64_t opcode, offset, nbytes;
	uint32_t event;		/* when */
	uint8_t salt;		/* its bytes: fz_byte(seq, salt, i) */
};

struct fz_held {		/* a message the side holds */
	struct l3l2q_msg m;
};

struct fz {
	struct l3l2q_layout layout;
	struct l3l2q_region_offsets off;
	struct l3l2q_mem mem;
	unsigned char *base;
	uint32_t *stamp;		/* per payload-area byte: last write event */
	uint32_t event;
	int blind;
	uint64_t start;
	struct l3l2q_l3 l3;
	struct l3l2q_l2 l2;
	uint64_t clock;
	unsigned long kicks;
	int sut_l3;			/* the L3 is under test, else the L2 */
	/* the SUT's incoming direction: what the honest peer published */
	struct fz_rec *rec;		/* by seq - start - 1 */
	uint64_t published;		/* honest messages published */
	uint64_t delivered;		/* seq of the last one the SUT took */
	/* held messages: the SUT's (L2 window or L3 output), the peer's */
	struct fz_held sut_held[L3L2Q_WINDOW_MAX + 1];
	unsigned int n_sut_held;
	struct fz_held peer_held[L3L2Q_WINDOW_MAX + 1];
	unsigned int n_peer_held;
	uint32_t window;
	/* the peer's zero-copy reservation in flight, if any */
	struct l3l2q_res peer_res;
	int peer_res_active;
	uint8_t peer_res_salt;
	/* SUT terminal state as last seen */
	int sut_terminal;		/* 0, or the errno it gives */
};

static unsigned char fz_byte(uint64_t seq, uint8_t salt, uint64_t i)
{
	return (unsigned char)(seq * 131u + salt * 7u + i * 13u + (i >> 8));
}

static __u64 fz_now(void *ctx)
{
	struct fz *f = ctx;

	f->clock += 1000;
	return f->clock;
}

static void fz_kick(void *ctx)
{
	((struct fz *)ctx)->kicks++;
}

static struct l3l2q_ep *fz_sut(struct fz *f)
{
	return f->sut_l3 ? &f->l3.ep : &f->l2.ep;
}

/* The payload-area range [off, off + n) was written by event @ev. */
static void fz_mark(struct fz *f, uint64_t off, uint64_t n, uint32_t ev)
{
	uint64_t i;

	for (i = 0; i < n && off + i < f->layout.payload_bytes; i++)
		f->stamp[off + i] = ev;
}

/* ... by a new event. */
static void fz_stamp(struct fz *f, uint64_t off, uint64_t n)
{
	fz_mark(f, off, n, ++f->event);
}

/* Was [off, off + n) written after @event? */
static int fz_touched(const struct fz *f, uint64_t off, uint64_t n,
		      uint32_t event)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (off + i >= f->layout.payload_bytes || f->stamp[off + i] > event)
			return 1;
	return 0;
}

static uint64_t fz_ring(const struct fz *f, int input)
{
	return input ? f->layout.input_desc_offset : f->layout.output_desc_offset;
}

static uint64_t fz_slot_off(const struct fz *f, int input, uint64_t seq)
{
	return fz_ring(f, input) + ((seq - 1) & (f->layout.depth - 1)) *
	       L3L2Q_DESC_BYTES;
}

/* The SUT's incoming ring is the output ring when the L3 is under test. */
static int fz_in_is_input(const struct fz *f)
{
	return !f->sut_l3;
}

static uint64_t fz_arena_off(const struct fz *f, int input)
{
	return input ? f->layout.input_arena_offset : f->layout.output_arena_offset;
}

static uint64_t fz_arena_bytes(const struct fz *f, int input)
{
	return input ? f->layout.input_arena_bytes : f->layout.output_arena_bytes;
}

/* ---- setting up ---- */

static const uint64_t fz_depths[] = { 2, 4, 8, 16 };
static const uint64_t fz_arenas[] = { 64, 128, 192, 256, 512 };

static int fz_setup(struct fz *f, struct fz_in *in, int sut_l3)
{
	struct l3l2q_env env;
	uint8_t g = fz_u8(in), w = fz_u8(in);
	uint64_t depth = fz_depths[g & 3];

	memset(f, 0, sizeof(*f));
	f->sut_l3 = sut_l3;
	f->blind = getenv("FUZZ_BLIND") != NULL;
	/* Below 2^40: crosses the 2^31 and 2^32 wraps, not 2^64 (see top). */
	f->start = (uint64_t)fz_u32(in) | (uint64_t)fz_u8(in) << 32;
	if (l3l2q_layout(depth, fz_arenas[(g >> 2) % 5], fz_arenas[(g >> 5) % 5],
			 &f->layout) != L3L2Q_LAYOUT_OK ||
	    !l3l2q_region_layout(&f->layout, &f->off))
		return -1;
	f->base = aligned_alloc(L3L2Q_REGION_ALIGN, f->off.total_bytes);
	f->stamp = calloc(f->layout.payload_bytes, sizeof(*f->stamp));
	f->rec = calloc(FZ_MAX_OPS + 1, sizeof(*f->rec));
	if (!f->base || !f->stamp || !f->rec)
		return -1;
	/* Stale garbage everywhere but the control block, as in real memory. */
	memset(f->base, 0xa5, f->off.total_bytes);
	memset(f->base, 0, L3L2Q_CTRL_BYTES);
	f->mem.ctrl = f->base + f->off.ctrl_offset;
	f->mem.counters = f->base + f->off.counter_offset;
	f->mem.payload = f->base + f->off.payload_offset;
	f->mem.region_id = 1;
	l3l2q_region_init(&f->mem, &f->layout, f->start, 0);
	memset(&env, 0, sizeof(env));
	env.now_ns = fz_now;
	env.kick = fz_kick;
	env.ctx = f;
	f->window = 1 + w % (uint32_t)(depth < L3L2Q_WINDOW_MAX ? depth :
				       L3L2Q_WINDOW_MAX);
	if (l3l2q_l3_init(&f->l3, &f->mem, &f->layout, f->start, &env) ||
	    l3l2q_l2_init(&f->l2, &f->mem, &f->layout, f->start, f->window,
			  &env))
		fz_fail("init of a valid geometry failed");
	f->delivered = f->start;
	return 0;
}

static void fz_teardown(struct fz *f)
{
	free(f->base);
	free(f->stamp);
	free(f->rec);
}

/* ---- invariants on the SUT's results ---- */

/* @ret of a SUT call that may give the errors in @allowed (0-terminated). */
static void fz_result(struct fz *f, const char *call, int ret,
		      const int *allowed)
{
	struct l3l2q_ep *ep = fz_sut(f);
	int i, state = l3l2q_ep_state(ep);

	if (f->sut_terminal) {
		/* Invariant 4: terminal states stay, and every call says so. */
		if (ret != f->sut_terminal)
			fz_fail("%s returned %d after the endpoint went terminal with %d",
				call, ret, f->sut_terminal);
		return;
	}
	if (ret == -EPROTO) {
		if (state != L3L2Q_STATE_POISONED_LOCAL)
			fz_fail("%s: -EPROTO but the state is %d", call, state);
		if (*(volatile int32_t *)((char *)f->mem.counters +
					  (f->sut_l3 ? L3L2Q_CTR_L3_ABORT :
					   L3L2Q_CTR_L2_ABORT)) != 1)
			fz_fail("%s: poisoned without setting the own abort flag",
				call);
		f->sut_terminal = -EPROTO;
		return;
	}
	if (ret == -ECONNRESET) {
		if (state != L3L2Q_STATE_POISONED_REMOTE)
			fz_fail("%s: -ECONNRESET but the state is %d", call, state);
		f->sut_terminal = -ECONNRESET;
		return;
	}
	if (state != L3L2Q_STATE_LIVE)
		fz_fail("%s returned %d but left the endpoint in state %d", call,
			ret, state);
	if (!ret)
		return;
	for (i = 0; allowed[i]; i++)
		if (ret == allowed[i])
			return;
	fz_fail("%s returned %d, which its page does not list here", call, ret);
}

static const int fz_none[] = { 0 };

/* Invariant 2, for a reservation @r of @n bytes in ring @input's arena. */
static void fz_check_res(const struct fz *f, int input,
			 const struct l3l2q_res *r, uint64_t n)
{
	uint64_t a = fz_arena_off(f, input), b = fz_arena_bytes(f, input);

	if (r->nbytes != n)
		fz_fail("reservation of %llu bytes came back with %llu",
			(unsigned long long)n, (unsigned long long)r->nbytes);
	if (!n) {
		if (r->data || r->offset)
			fz_fail("zero-byte reservation with data or an offset");
		return;
	}
	if (r->offset < a || r->offset - a > b - n ||
	    r->data != (unsigned char *)f->mem.payload + r->offset)
		fz_fail("reservation outside its arena (offset %llu, %llu bytes)",
			(unsigned long long)r->offset, (unsigned long long)n);
}

/*
 * A batch reservation that returned @ret for @want messages of @n bytes in
 * ring @input: its count and size, each message checked as a reservation
 * (invariant 2), then filled with @fill.
 */
static void fz_check_batch(const struct fz *f, int input, int ret,
			   unsigned int want, const struct l3l2q_batch *bt,
			   uint64_t n, uint8_t fill)
{
	struct l3l2q_res res;
	unsigned int i;

	if ((unsigned int)ret > want || bt->n != (unsigned int)ret ||
	    bt->nbytes != n)
		fz_fail("reserve_batch of %u gave %d (b.n %u)", want, ret,
			bt->n);
	for (i = 0; i < bt->n; i++) {
		res.seq = bt->seq + i;
		res.nbytes = n;
		res.data = n ? (unsigned char *)bt->data + i * n : NULL;
		res.offset = n ? (uint64_t)((unsigned char *)res.data -
					    (unsigned char *)f->mem.payload) : 0;
		fz_check_res(f, input, &res, n);
		if (n)
			memset(res.data, fill, n);
	}
}

/*
 * Invariants 2 and 3 for a message @m the SUT just delivered from its
 * incoming ring.
 */
static void fz_check_delivery(struct fz *f, const struct l3l2q_msg *m)
{
	int input = fz_in_is_input(f);
	uint64_t a = fz_arena_off(f, input), b = fz_arena_bytes(f, input);
	uint64_t idx, i;
	const struct fz_rec *r;
	const unsigned char *p;

	if (m->seq != f->delivered + 1)
		fz_fail("delivered seq %llu after %llu",
			(unsigned long long)m->seq,
			(unsigned long long)f->delivered);
	f->delivered = m->seq;
	if (!m->nbytes) {
		if (m->data || m->offset)
			fz_fail("zero-byte message with data or an offset");
	} else if (m->offset < a || m->nbytes > b || m->offset - a > b - m->nbytes ||
		   m->data != (unsigned char *)f->mem.payload + m->offset) {
		fz_fail("payload outside its arena delivered (offset %llu, %llu bytes)",
			(unsigned long long)m->offset,
			(unsigned long long)m->nbytes);
	}
	idx = m->seq - f->start - 1;
	if (idx >= f->published)
		return;		/* not (yet) published by the honest peer */
	r = &f->rec[idx];
	if (fz_touched(f, fz_slot_off(f, input, m->seq), L3L2Q_DESC_BYTES,
		       r->event) ||
	    (r->nbytes && fz_touched(f, r->offset, r->nbytes, r->event)))
		return;		/* written since: no promise */
	if (m->opcode != r->opcode || m->nbytes != r->nbytes ||
	    m->offset != r->offset)
		fz_fail("seq %llu delivered as (op %llu, offset %llu, %llu bytes), published as (op %llu, offset %llu, %llu bytes)",
			(unsigned long long)m->seq,
			(unsigned long long)m->opcode,
			(unsigned long long)m->offset,
			(unsigned long long)m->nbytes,
			(unsigned long long)r->opcode,
			(unsigned long long)r->offset,
			(unsigned long long)r->nbytes);
	p = m->data;
	for (i = 0; i < m->nbytes; i++)
		if (p[i] != fz_byte(m->seq, r->salt, i))
			fz_fail("seq %llu delivered with wrong byte %llu",
				(unsigned long long)m->seq,
				(unsigned long long)i);
}

/* The honest peer published @res as @opcode with bytes of @salt. */
static void fz_record(struct fz *f, const struct l3l2q_res *res,
		      uint64_t opcode, uint8_t salt)
{
	struct fz_rec *r;
	int input = fz_in_is_input(f);

	/* Its slot and its payload were written now, as one event. */
	fz_stamp(f, fz_slot_off(f, input, res->seq), L3L2Q_DESC_BYTES);
	fz_mark(f, res->offset, res->nbytes, f->event);
	if (res->seq - f->start - 1 != f->published ||
	    f->published >= FZ_MAX_OPS)
		return;		/* the honest peer lost its way: no record */
	r = &f->rec[f->published++];
	r->opcode = opcode;
	r->offset = res->offset;
	r->nbytes = res->nbytes;
	r->event = f->event;
	r->salt = salt;
}

/* ---- hostile writes: anywhere, or aimed ---- */

static void fz_hostile_bytes(struct fz *f, uint64_t region_off,
			     const unsigned char *src, uint64_t n)
{
	uint64_t pay = f->off.payload_offset;

	if (region_off >= f->off.total_bytes)
		return;
	if (n > f->off.total_bytes - region_off)
		n = f->off.total_bytes - region_off;
	memcpy(f->base + region_off, src, n);
	/* Blind: the writes happen, the checker is not told (FUZZ_BLIND). */
	if (f->blind || region_off + n <= pay || region_off >= pay +
	    f->layout.payload_bytes)
		return;
	if (region_off < pay) {
		n -= pay - region_off;
		region_off = pay;
	}
	fz_stamp(f, region_off - pay, n);
}

static const uint32_t fz_words[] = {
	/* counters (in the counter block) */
	L3L2Q_CTR_INPUT_TAIL, L3L2Q_CTR_INPUT_HEAD, L3L2Q_CTR_OUTPUT_TAIL,
	L3L2Q_CTR_OUTPUT_HEAD, L3L2Q_CTR_L3_ABORT, L3L2Q_CTR_L2_ABORT,
};

static const uint32_t fz_ctrl_words[] = {
	L3L2Q_CTRL_L3_STATE, L3L2Q_CTRL_L2_STATE, L3L2Q_CTRL_L3_WAKE,
	L3L2Q_CTRL_L2_WAKE, L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L3_WAKE, 0),
	L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L3_WAKE, 1),
	L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L2_WAKE, 2),
	L3L2Q_CTRL_WAKE_SEEN(L3L2Q_CTRL_L2_WAKE, 3),
	L3L2Q_CTRL_L3_FEATURES, L3L2Q_CTRL_L2_FEATURES,
};

static void fz_hostile(struct fz *f, struct fz_in *in, uint8_t kind)
{
	unsigned char buf[32];
	uint32_t v;
	uint64_t off, n, i;

	switch (kind % 4) {
	case 0:		/* raw bytes anywhere in the region */
		off = fz_u16(in) % f->off.total_bytes;
		n = 1 + fz_u8(in) % 16;
		for (i = 0; i < n; i++)
			buf[i] = fz_u8(in);
		fz_hostile_bytes(f, off, buf, n);
		break;
	case 1:		/* a counter moved by a small step */
		off = f->off.counter_offset + fz_words[fz_u8(in) % 6];
		memcpy(&v, f->base + off, 4);
		v += (uint32_t)(int32_t)(int8_t)fz_u8(in);
		fz_hostile_bytes(f, off, (unsigned char *)&v, 4);
		break;
	case 2:		/* a control word set to anything */
		off = f->off.ctrl_offset + fz_ctrl_words[fz_u8(in) % 10];
		v = fz_u32(in);
		fz_hostile_bytes(f, off, (unsigned char *)&v, 4);
		break;
	default: {	/* a plausible descriptor in either ring */
		struct l3l2q_desc d;
		int input = fz_u8(in) & 1;
		uint64_t seq = f->delivered + 1 + (int8_t)fz_u8(in) % 4;

		d.seq = seq;
		d.opcode = fz_u8(in) % 4;
		d.payload_offset = fz_arena_off(f, input) +
				   fz_u16(in) % (fz_arena_bytes(f, input) + 64) - 32;
		d.payload_nbytes = fz_u16(in) % (fz_arena_bytes(f, input) + 64);
		if (fz_u8(in) & 1)
			d.payload_nbytes = d.payload_offset = 0;
		fz_hostile_bytes(f, f->off.payload_offset +
				 fz_slot_off(f, input, seq),
				 (unsigned char *)&d, sizeof(d));
		break;
	}
	}
}

typedef void (*fz_op_fn)(struct fz *f, struct fz_in *in, uint8_t op);

/*
 * One fuzz input as a script: each byte picks the side under test's
 * operation (@sut_ops of them), an honest peer's, or a hostile write, up
 * to FZ_MAX_OPS steps.  The body of both queue harnesses.
 */
static int fz_run(const uint8_t *data, size_t size, int sut_l3,
		  uint8_t sut_ops, fz_op_fn sut, fz_op_fn peer)
{
	struct fz_in in = { data, size, 0 };
	struct fz f;
	unsigned int ops = 0;
	uint8_t op;

	if (fz_setup(&f, &in, sut_l3)) {
		fz_teardown(&f);
		return 0;
	}
	while (in.i < in.n && ops++ < FZ_MAX_OPS) {
		op = fz_u8(&in) % 16;
		if (op < sut_ops)
			sut(&f, &in, op);
		else if (op < 13)
			peer(&f, &in, op - sut_ops);
		else
			fz_hostile(&f, &in, fz_u8(&in));
	}
	fz_teardown(&f);
	return 0;
}

#endif /* L3L2Q_FUZZ_QUEUE_H */
