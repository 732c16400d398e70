// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: one endpoint of an HDCH channel (lib/core/channel_*.c)
 * facing a hostile peer.  The first byte picks the side under test (the
 * SUT: L3 or L2) and the geometry; the peer is the library's own endpoint
 * of the other role, driven honestly by the script, plus hostile writes
 * anywhere in the region (control block, header, lane heads and tails,
 * descriptors, bells and control words).  tests/fuzz/README lists the
 * invariants; each is checked after every call of the SUT.
 *
 * Script: geometry byte, max_message_bytes, start position (5 bytes), then
 * one operation per byte with its arguments after it, until the input ends
 * (at most FC_MAX_OPS).
 *
 * FUZZ_BLIND=1: hostile writes are not recorded, so a hostile write into a
 * published descriptor looks like the library delivering wrong bytes (the
 * negative control of tests/fuzz_check.sh).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l3l2q_channel_core.h"
#include "fuzz_script.h"

#define FC_MAX_OPS	1500u
#define FC_MAX_LANES	4u
#define FC_MAX_REC	512u	/* records per lane; later sends unchecked */

struct rec {			/* a message an honest side made visible */
	uint64_t cid;
	uint32_t route, nbytes;
	uint32_t event;
	uint8_t salt;
	uint8_t cid_any;		/* a call's request: the core picks it */
};

struct side_ctx {
	struct l3l2q_chan_ctx c;
	int leased;
	int reserved;			/* a reservation is out */
	struct l3l2q_chan_slot slot;
	int holding;			/* a zero-copy message is out */
	struct l3l2q_chan_msg held;
};

struct fc {
	struct l3l2q_chan_layout layout;
	struct l3l2q_region_offsets off;
	struct l3l2q_chan_mem mem;
	unsigned char *base, *hdch;
	uint32_t *stamp;		/* per HDCH byte: last write event */
	uint8_t *hostile;		/* per HDCH byte: last write was hostile */
	uint32_t event;
	int blind, trace;
	uint64_t start;
	uint64_t clock;
	struct l3l2q_chan ep[2];	/* by role */
	struct side_ctx ctx[2][2];	/* by role, two threads each */
	int sut;			/* role under test */
	/* by sender role, lane: what that sender made visible or deferred */
	struct rec *rec[2][FC_MAX_LANES];
	uint64_t sent[2][FC_MAX_LANES];
	/* by receiver role, peer lane: next position it must deliver */
	uint64_t next[2][FC_MAX_LANES];
	int shut[2];			/* shutdown returned 0 */
	int terminal;			/* the SUT's terminal errno, or 0 */
	int in_call, answering;		/* the SUT waits in chan_call */
	int sleeper;			/* the role whose call may sleep */
};

static void answer(struct fc *f);

static unsigned char pbyte(uint64_t pos, uint8_t salt, uint32_t i)
{
	return (unsigned char)(pos * 131u + salt * 7u + i * 13u);
}

static __u64 fc_now(void *ctx)
{
	struct fc *f = ctx;

	f->clock += 1000;
	return f->clock;
}

/* A sleep that never sleeps: the time passes at once. */
static int fc_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline)
{
	struct fc *f = ctx;

	(void)seen;
	/* Only the peer's two bells are slept on (uapi/l3l2q_channel.h). */
	if (f->sleeper == L3L2Q_ROLE_L3 ?
	    counter != L3L2Q_CHAN_CTRL_L2_TX_BELL &&
	    counter != L3L2Q_CHAN_CTRL_L2_RX_BELL :
	    counter != L3L2Q_CHAN_CTRL_L3_TX_BELL &&
	    counter != L3L2Q_CHAN_CTRL_L3_RX_BELL)
		fz_fail("role %d sleeps on word %u, not a bell of its peer",
		     f->sleeper, counter);
	/* The peer answers a call while the caller sleeps. */
	if (f->in_call && !f->answering) {
		f->answering = 1;
		answer(f);
		f->answering = 0;
	}
	if (deadline > f->clock && deadline - f->clock < 1000000000ull)
		f->clock = deadline;
	else
		f->clock += 1000000;
	return -ETIMEDOUT;
}

static void fc_kick(void *ctx)
{
	(void)ctx;
}

static uint32_t nlanes(const struct fc *f, int sender)
{
	return sender == L3L2Q_ROLE_L3 ? f->layout.lanes_to_l2 :
	       f->layout.lanes_to_l3;
}

/* Offset in the HDCH bytes of @sender's lane @lane's header. */
static uint64_t lane_off(const struct fc *f, int sender, uint32_t lane)
{
	return (sender == L3L2Q_ROLE_L3 ? f->layout.to_l2_offset :
		f->layout.to_l3_offset) + (uint64_t)lane * f->layout.lane_bytes;
}

static uint64_t desc_off(const struct fc *f, int sender, uint32_t lane,
			 uint64_t pos)
{
	return lane_off(f, sender, lane) + L3L2Q_CHAN_LANE_HDR_BYTES +
	       (pos & (f->layout.lane_depth - 1)) * L3L2Q_CHAN_DESC_BYTES;
}

static void mark(struct fc *f, uint64_t off, uint64_t n, uint32_t ev, int h)
{
	uint64_t i;

	for (i = 0; i < n && off + i < f->layout.total_bytes; i++) {
		f->stamp[off + i] = ev;
		f->hostile[off + i] = (uint8_t)h;
	}
}

/* Was [off, off + n) written after @ev (or ever by a hostile write)? */
static int touched(const struct fc *f, uint64_t off, uint64_t n, uint32_t ev,
		   int by_hostile)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		if (f->stamp[off + i] > ev || (by_hostile && f->hostile[off + i]))
			return 1;
	return 0;
}

/* ---- setting up ---- */

static const uint32_t depths[] = { 2, 4, 8 };

static int setup(struct fc *f, struct fz_in *in)
{
	struct l3l2q_env env;
	uint8_t g = fz_u8(in);
	uint32_t max = 1 + fz_u8(in), r, i;

	memset(f, 0, sizeof(*f));
	f->sut = g & 1 ? L3L2Q_ROLE_L2 : L3L2Q_ROLE_L3;
	f->blind = getenv("FUZZ_BLIND") != NULL;
	f->trace = getenv("FUZZ_TRACE") != NULL;
	/* Below 2^40: the u32 lane words wrap at 2^32 (start near it). */
	f->start = (uint64_t)fz_u32(in) | (uint64_t)(fz_u8(in) & 0xff) << 32;
	if (l3l2q_chan_layout(1 + (g >> 1) % 3, 1 + (g >> 3) % 3,
			      depths[(g >> 5) % 3], max, &f->layout) !=
	    L3L2Q_CHAN_LAYOUT_OK ||
	    !l3l2q_chan_region_layout(&f->layout, &f->off))
		return -1;
	f->base = aligned_alloc(L3L2Q_REGION_ALIGN, f->off.total_bytes);
	f->stamp = calloc(f->layout.total_bytes, sizeof(*f->stamp));
	f->hostile = calloc(f->layout.total_bytes, 1);
	if (!f->base || !f->stamp || !f->hostile)
		return -1;
	for (r = 0; r < 2; r++)
		for (i = 0; i < FC_MAX_LANES; i++) {
			f->rec[r][i] = calloc(FC_MAX_REC, sizeof(struct rec));
			if (!f->rec[r][i])
				return -1;
			f->next[r][i] = f->start;
		}
	memset(f->base, 0xa5, f->off.total_bytes);
	memset(f->base, 0, L3L2Q_CTRL_BYTES);
	f->mem.ctrl = f->base;
	f->mem.hdch = f->base + f->off.payload_offset;
	f->mem.region_id = 1;
	f->hdch = f->mem.hdch;
	l3l2q_chan_region_init(&f->mem, &f->layout, f->start, 0);
	memset(&env, 0, sizeof(env));
	env.now_ns = fc_now;
	env.sleep = fc_sleep;
	env.kick = fc_kick;
	env.ctx = f;
	env.spin_attempts = 4;
	for (r = 0; r < 2; r++) {
		if (l3l2q_chan_init(&f->ep[r], r, &f->mem, &f->layout, f->start,
				    &env))
			fz_fail("init of a valid geometry failed: %s",
			     l3l2q_chan_error(&f->ep[r])->message);
		for (i = 0; i < 2; i++)
			l3l2q_chan_ctx_init(&f->ctx[r][i].c, &f->ep[r]);
	}
	return 0;
}

static void teardown(struct fc *f)
{
	int r, i;

	free(f->base);
	free(f->stamp);
	free(f->hostile);
	for (r = 0; r < 2; r++)
		for (i = 0; i < (int)FC_MAX_LANES; i++)
			free(f->rec[r][i]);
}

/* ---- invariants ---- */

/* Invariants 1 and 4 for a SUT call: @ret is 0, in @allowed, or terminal. */
static void result(struct fc *f, const char *call, int ret, const int *allowed)
{
	struct l3l2q_chan *ch = &f->ep[f->sut];
	int i, state = l3l2q_chan_state(ch);

	if (f->terminal) {
		if (ret != f->terminal)
			fz_fail("%s returned %d after the endpoint went terminal with %d",
			     call, ret, f->terminal);
		return;
	}
	if (ret == -EPROTO) {
		if (state != L3L2Q_STATE_POISONED_LOCAL)
			fz_fail("%s: -EPROTO but the state is %d", call, state);
		if (*(volatile uint32_t *)(f->base + (f->sut == L3L2Q_ROLE_L3 ?
			L3L2Q_CHAN_CTRL_L3_ABORT : L3L2Q_CHAN_CTRL_L2_ABORT)) != 1)
			fz_fail("%s: poisoned without setting the own abort word",
			     call);
		f->terminal = -EPROTO;
		return;
	}
	if (ret == -ECONNRESET) {
		if (state != L3L2Q_STATE_POISONED_REMOTE)
			fz_fail("%s: -ECONNRESET but the state is %d", call, state);
		f->terminal = -ECONNRESET;
		return;
	}
	if (state != L3L2Q_STATE_LIVE)
		fz_fail("%s returned %d but left the endpoint in state %d", call,
		     ret, state);
	if (f->trace)
		fprintf(stderr, "%s: %d\n", call, ret);
	if (!ret)
		return;
	for (i = 0; allowed[i]; i++)
		if (ret == allowed[i])
			return;
	fz_fail("%s returned %d, which its page does not list here (%s)", call,
	     ret, l3l2q_chan_last_error(&f->ctx[f->sut][0].c)->message);
}

/*
 * Invariants 2 and 3: @rx delivered @m.  Per lane in order, always (the
 * receiver's head is private); an honest message whose descriptor nothing
 * wrote since is intact; a message nobody sent only where a hostile write
 * made the descriptor.
 */
static void delivered(struct fc *f, int rx, const struct l3l2q_chan_msg *m,
		      const void *copy, int advance)
{
	int tx = !rx;
	const unsigned char *p = copy ? copy : m->data;
	const struct rec *r;
	uint64_t idx, d;
	uint32_t i;

	if (f->trace)
		fprintf(stderr, "role %d took lane %u pos %llu, %u bytes\n", rx,
			m->lane, (unsigned long long)m->pos, m->nbytes);
	if (m->lane >= nlanes(f, tx))
		fz_fail("delivered on lane %u of %u", m->lane, nlanes(f, tx));
	if (m->pos != f->next[rx][m->lane])
		fz_fail("role %d: lane %u delivered position %llu, expected %llu",
		     rx, m->lane, (unsigned long long)m->pos,
		     (unsigned long long)f->next[rx][m->lane]);
	if (m->nbytes > f->layout.max_message_bytes)
		fz_fail("delivered %u bytes, max_message_bytes %u", m->nbytes,
		     f->layout.max_message_bytes);
	if (!copy && m->nbytes) {
		d = desc_off(f, tx, m->lane, m->pos) + 32;
		if ((const unsigned char *)m->data != f->hdch + d)
			fz_fail("zero-copy data not in its descriptor");
	}
	if (advance)
		f->next[rx][m->lane] = m->pos + 1;
	idx = m->pos - f->start;
	d = desc_off(f, tx, m->lane, m->pos);
	if (idx >= f->sent[tx][m->lane]) {
		/*
		 * Only a hostile write of the descriptor or of the lane's
		 * tail (with the sender's proto word cleared, a zeroed
		 * descriptor is a valid upstream message) can make one.
		 */
		if (!f->blind && !touched(f, d, 32, UINT32_MAX, 1) &&
		    !touched(f, lane_off(f, tx, m->lane), 8, UINT32_MAX, 1))
			fz_fail("role %d: lane %u position %llu delivered, never sent, its descriptor and lane header untouched",
			     rx, m->lane, (unsigned long long)m->pos);
		return;
	}
	if (idx >= FC_MAX_REC)
		return;
	r = &f->rec[tx][m->lane][idx];
	if (touched(f, d, 32 + r->nbytes, r->event, 0))
		return;		/* written since: no promise */
	if (m->nbytes != r->nbytes || m->route != r->route ||
	    (m->correlation_id != r->cid && !r->cid_any) ||
	    m->seq != m->pos + 1)
		fz_fail("role %d lane %u pos %llu: delivered (%u bytes, route %u, cid %llu, seq %llu), sent (%u, %u, %llu)",
		     rx, m->lane, (unsigned long long)m->pos, m->nbytes,
		     m->route, (unsigned long long)m->correlation_id,
		     (unsigned long long)m->seq, r->nbytes, r->route,
		     (unsigned long long)r->cid);
	for (i = 0; i < m->nbytes; i++)
		if (p[i] != pbyte(m->pos, r->salt, i))
			fz_fail("role %d lane %u pos %llu: wrong byte %u", rx,
			     m->lane, (unsigned long long)m->pos, i);
}

/* @tx made a message visible (or deferred) at its lane's next position. */
static void sent(struct fc *f, int tx, uint32_t lane, uint32_t route,
		 uint64_t cid, uint32_t n, uint8_t salt)
{
	uint64_t idx = f->sent[tx][lane]++, pos = f->start + idx;
	struct rec *r;

	mark(f, desc_off(f, tx, lane, pos), 32 + n, ++f->event, 0);
	if (idx >= FC_MAX_REC)
		return;
	r = &f->rec[tx][lane][idx];
	r->cid = cid;
	r->route = route;
	r->nbytes = n;
	r->salt = salt;
	r->event = f->event;
	r->cid_any = 0;
}

static unsigned char abuf[L3L2Q_CHAN_INLINE_BYTES + 16];

/*
 * The honest peer's server, run from env.sleep while the SUT is in
 * chan_call: take one message on its second context and answer a request
 * with a reply of the same size on L3L2Q_CHAN_ROUTE_REPLY.
 */
static void answer(struct fc *f)
{
	int peer = !f->sut;
	struct l3l2q_chan_ctx *c = &f->ctx[peer][1].c;
	struct l3l2q_chan_msg m;
	uint32_t lane, i;

	if (f->ctx[peer][1].holding || f->ctx[peer][1].reserved)
		return;
	if (!f->ctx[peer][1].leased) {
		if (l3l2q_chan_try_lease(c, 1))
			return;
		f->ctx[peer][1].leased = 1;
	}
	if (l3l2q_chan_try_recv(c, abuf, sizeof(abuf), &m))
		return;
	delivered(f, peer, &m, abuf, 1);
	if (m.route == L3L2Q_CHAN_ROUTE_REPLY)
		return;
	lane = l3l2q_chan_leased_lane(c);
	for (i = 0; i < m.nbytes; i++)
		abuf[i] = pbyte(f->start + f->sent[peer][lane], 0x77, i);
	if (!l3l2q_chan_try_send(c, L3L2Q_CHAN_ROUTE_REPLY, m.correlation_id,
				 abuf, m.nbytes))
		sent(f, peer, lane, L3L2Q_CHAN_ROUTE_REPLY, m.correlation_id,
		     m.nbytes, 0x77);
}

/* ---- operations of either side ---- */

static unsigned char buf[L3L2Q_CHAN_INLINE_BYTES + 16];

static const int e_lease[] = { -EBUSY, -EPIPE, 0 };
static const int e_blease[] = { -ETIMEDOUT, -EPIPE, 0 };
static const int e_send[] = { -EAGAIN, -EMSGSIZE, -EPIPE, 0 };
static const int e_bsend[] = { -ETIMEDOUT, -EMSGSIZE, -EPIPE, 0 };
static const int e_res[] = { -EAGAIN, -EPIPE, 0 };
static const int e_bres[] = { -ETIMEDOUT, -EPIPE, 0 };
static const int e_recv[] = { -EAGAIN, -EMSGSIZE, -EPIPE, 0 };
static const int e_brecv[] = { -ETIMEDOUT, -EMSGSIZE, -EPIPE, 0 };
static const int e_peek[] = { -EAGAIN, -EPIPE, 0 };
static const int e_bpeek[] = { -ETIMEDOUT, -EPIPE, 0 };
static const int e_none[] = { 0 };
static const int e_shut[] = { -EBUSY, -EOPNOTSUPP, 0 };
static const int e_close[] = { -EBUSY, -EOPNOTSUPP, -ETIMEDOUT, 0 };
static const int e_call[] = { -ETIMEDOUT, -EMSGSIZE, -EPIPE, 0 };
static unsigned char rbuf[L3L2Q_CHAN_INLINE_BYTES + 16];

/*
 * One operation of role @r's context @x.  For the SUT every result is
 * checked; the honest peer's results are only used.
 */
static void side_op(struct fc *f, struct fz_in *in, int r, uint8_t op)
{
	uint8_t b = fz_u8(in), sel = fz_u8(in);
	struct side_ctx *s = &f->ctx[r][sel & 1];
	struct l3l2q_chan_ctx *c = &s->c;
	int sut = r == f->sut, ret, leased_before;
	uint32_t max = f->layout.max_message_bytes, n, route, i;
	uint64_t dl = f->clock + 1000 * (b % 4), cid;
	struct l3l2q_chan_msg m;
	const char *call;

	n = fz_u16(in) % (max + max / 8 + 2);
	f->sleeper = r;
	route = b & 8 ? L3L2Q_CHAN_ROUTE_REPLY : sel;
	cid = (uint64_t)b << 40 | f->event;
#define CHECK(name, e)							\
	do {								\
		if (sut)						\
			result(f, name, ret, e);			\
	} while (0)

	switch (op) {
	case 0:		/* lease */
		leased_before = s->leased;
		if (b & 1) {
			call = "chan_lease";
			ret = l3l2q_chan_lease(c, sel >> 1, dl);
		} else {
			call = "chan_try_lease";
			ret = l3l2q_chan_try_lease(c, sel >> 1);
		}
		if (leased_before && !f->terminal && sut && ret != -EINVAL &&
		    ret != -EPROTO && ret != -ECONNRESET)
			fz_fail("%s of a leased context returned %d", call, ret);
		if (!leased_before)
			CHECK(call, b & 1 ? e_blease : e_lease);
		if (!ret)
			s->leased = 1;
		break;
	case 1:		/* unlease */
		ret = l3l2q_chan_unlease(c);
		if (sut) {
			if (!s->leased && ret != -EINVAL)
				fz_fail("unlease without a lease: %d", ret);
			/*
			 * A live endpoint keeps the lane while a reservation
			 * is out; a terminal one can commit nothing more, so
			 * the reservation goes with the lane.
			 */
			if (s->leased && s->reserved && !f->terminal &&
			    ret != -EBUSY)
				fz_fail("unlease with a reservation out: %d", ret);
			if (s->leased && s->reserved && f->terminal && ret)
				fz_fail("unlease of a terminal endpoint with a reservation out: %d",
					ret);
			if (s->leased && !s->reserved && ret)
				result(f, "chan_unlease", ret, e_none);
		}
		if (s->leased && !ret) {
			s->leased = 0;
			s->reserved = 0;
		}
		break;
	case 2:		/* copy send */
		for (i = 0; i < n && i < sizeof(buf); i++)
			buf[i] = pbyte(f->start + (s->leased ?
				f->sent[r][l3l2q_chan_leased_lane(c)] : 0), b, i);
		if (b & 0x30) {
			call = b & 0x10 ? "chan_try_send" : "chan_try_send_defer";
			ret = b & 0x10 ? l3l2q_chan_try_send(c, route, cid, buf, n) :
			      l3l2q_chan_try_send_defer(c, route, cid, buf, n);
			if (s->leased && !s->reserved)
				CHECK(call, e_send);
		} else {
			call = "chan_send";
			ret = l3l2q_chan_send(c, route, cid, buf, n, dl);
			if (s->leased && !s->reserved)
				CHECK(call, e_bsend);
		}
		if (sut && !f->terminal && ((!s->leased && ret != -EINVAL) ||
		    (s->leased && s->reserved && ret != -EBUSY)))
			fz_fail("%s: %d (leased %d, reserved %d)", call, ret,
			     s->leased, s->reserved);
		if (sut && !f->terminal && ret == -EMSGSIZE) {
			if (n <= max)
				fz_fail("%s: -EMSGSIZE for %u <= %u bytes", call, n, max);
		} else if (sut && !f->terminal && n > max && s->leased && !s->reserved)
			fz_fail("%s of %u > %u bytes: %d", call, n, max, ret);
		if (!ret)
			sent(f, r, l3l2q_chan_leased_lane(c), route, cid, n, b);
		break;
	case 3:		/* zero copy: reserve, or fill and commit */
		if (!s->reserved) {
			if (b & 1) {
				call = "chan_reserve";
				ret = l3l2q_chan_reserve(c, dl, &s->slot);
			} else {
				call = "chan_try_reserve";
				ret = l3l2q_chan_try_reserve(c, &s->slot);
			}
			if (s->leased)
				CHECK(call, b & 1 ? e_bres : e_res);
			else if (sut && !f->terminal && ret != -EINVAL)
				fz_fail("%s without a lease: %d", call, ret);
			if (ret)
				break;
			s->reserved = 1;
			if (s->slot.cap != max || s->slot.lane !=
			    l3l2q_chan_leased_lane(c) || s->slot.pos !=
			    f->start + f->sent[r][s->slot.lane] ||
			    (unsigned char *)s->slot.data != f->hdch +
			    desc_off(f, r, s->slot.lane, s->slot.pos) + 32)
				fz_fail("role %d: reservation (lane %u, pos %llu, cap %u) not the lane's next descriptor",
				     r, s->slot.lane,
				     (unsigned long long)s->slot.pos, s->slot.cap);
			break;
		}
		n %= max + 1;
		for (i = 0; i < n; i++)
			((unsigned char *)s->slot.data)[i] =
				pbyte(s->slot.pos, b, i);
		call = b & 2 ? "chan_commit_defer" : "chan_commit";
		ret = b & 2 ? l3l2q_chan_commit_defer(c, &s->slot, route, cid, n) :
		      l3l2q_chan_commit(c, &s->slot, route, cid, n);
		CHECK(call, e_none);
		s->reserved = 0;
		if (!ret)
			sent(f, r, s->slot.lane, route, cid, n, b);
		break;
	case 4:		/* flush */
		ret = l3l2q_chan_flush(c);
		if (s->leased)
			CHECK("chan_flush", e_none);
		else if (sut && !f->terminal && ret != -EINVAL)
			fz_fail("flush without a lease: %d", ret);
		break;
	case 5:		/* copy receive */
		if (s->holding)
			break;	/* the lane of the held message: see peek */
		n = b & 1 ? n : sizeof(buf);
		if (b & 2) {
			call = "chan_try_recv";
			ret = l3l2q_chan_try_recv(c, buf, n, &m);
			CHECK(call, e_recv);
		} else {
			call = "chan_recv";
			ret = l3l2q_chan_recv(c, buf, n, dl, &m);
			CHECK(call, e_brecv);
		}
		if (ret == -EMSGSIZE && sut && !f->terminal &&
		    m.nbytes <= n)
			fz_fail("%s: -EMSGSIZE for a message of %u bytes into %u",
			     call, m.nbytes, n);
		if (!ret) {
			if (m.data)
				fz_fail("%s: a copy receive with data", call);
			delivered(f, r, &m, buf, 1);
		}
		break;
	case 6:		/* zero copy: peek, or release */
		if (s->holding) {
			ret = l3l2q_chan_release(c, &s->held);
			CHECK("chan_release", e_none);
			s->holding = 0;
			break;
		}
		if (b & 1) {
			call = "chan_peek";
			ret = l3l2q_chan_peek(c, dl, &m);
			CHECK(call, e_bpeek);
		} else {
			call = "chan_try_peek";
			ret = l3l2q_chan_try_peek(c, &m);
			CHECK(call, e_peek);
		}
		if (!ret) {
			delivered(f, r, &m, NULL, 1);
			s->held = m;
			s->holding = 1;
		}
		break;
	case 7:		/* wakeups */
		if (b & 1) {
			__u32 off = 0, seen = 0;

			ret = l3l2q_chan_want_wakeup(c, b & 2 ?
						     L3L2Q_CHAN_WANT_SPACE :
						     L3L2Q_CHAN_WANT_RECV,
						     &off, &seen);
			if (!ret && off != (r == L3L2Q_ROLE_L3 ?
			    (b & 2 ? L3L2Q_CHAN_CTRL_L2_RX_BELL :
			     L3L2Q_CHAN_CTRL_L2_TX_BELL) :
			    (b & 2 ? L3L2Q_CHAN_CTRL_L3_RX_BELL :
			     L3L2Q_CHAN_CTRL_L3_TX_BELL)))
				fz_fail("want_wakeup(%s) of role %d gave word %u",
				     b & 2 ? "SPACE" : "RECV", r, off);
			if (sut && ret && !((b & 2) && !s->leased && ret == -EINVAL))
				fz_fail("want_wakeup: %d", ret);
		} else {
			l3l2q_chan_clear_wakeup(c);
		}
		break;
	default:	/* a call (the SUT), or rarely shutdown or close */
		if (sut && b > 8 && b < 72 && s->leased && !s->reserved) {
			uint32_t lane = l3l2q_chan_leased_lane(c);
			uint64_t pos = f->start + f->sent[r][lane];

			for (i = 0; i < n && i < sizeof(buf); i++)
				buf[i] = pbyte(pos, b, i);
			/* Recorded ahead: the peer may take it in the call. */
			if (n <= max) {
				sent(f, r, lane, sel, 0, n, b);
				if (f->sent[r][lane] <= FC_MAX_REC)
					f->rec[r][lane][pos - f->start].cid_any = 1;
			}
			f->in_call = 1;
			ret = l3l2q_chan_call(c, sel, buf, n, rbuf, sizeof(rbuf),
					      dl, &m);
			f->in_call = 0;
			result(f, "chan_call", ret, e_call);
			/* The tail says whether the request went out. */
			if (n <= max && f->ep[r].tx[lane].tail == pos)
				f->sent[r][lane]--;
			if (!ret) {
				if (m.route != L3L2Q_CHAN_ROUTE_REPLY)
					fz_fail("chan_call returned a message on route %u",
					     m.route);
				delivered(f, r, &m, rbuf, 1);
			}
			break;
		}
		if (b > 8)
			break;
		if (b & 1) {
			ret = l3l2q_chan_shutdown(&f->ep[r]);
			CHECK("chan_shutdown", e_shut);
		} else {
			ret = l3l2q_chan_close(c, dl);
			CHECK("chan_close", e_close);
		}
		if (!ret || ret == -ETIMEDOUT)
			f->shut[r] = 1;
		break;
	}
#undef CHECK
}

/* ---- hostile writes ---- */

static void hostile_bytes(struct fc *f, uint64_t off, const void *src,
			  uint64_t n)
{
	uint64_t h = f->off.payload_offset;

	if (off >= f->off.total_bytes)
		return;
	if (n > f->off.total_bytes - off)
		n = f->off.total_bytes - off;
	memcpy(f->base + off, src, n);
	if (f->blind || off + n <= h || off >= h + f->layout.total_bytes)
		return;
	if (off < h) {
		n -= h - off;
		off = h;
	}
	mark(f, off - h, n, ++f->event, 1);
}

static const uint32_t ctrl_words[] = {
	L3L2Q_CTRL_L3_STATE, L3L2Q_CTRL_L2_STATE, L3L2Q_CTRL_L3_FEATURES,
	L3L2Q_CTRL_L2_FEATURES, L3L2Q_CHAN_CTRL_L3_ABORT,
	L3L2Q_CHAN_CTRL_L2_ABORT,
};

static void hostile(struct fc *f, struct fz_in *in, uint8_t kind)
{
	unsigned char b[32];
	uint64_t off, n, i;
	uint32_t v;
	int tx = fz_u8(in) & 1;
	uint32_t lane = fz_u8(in) % nlanes(f, tx);

	switch (kind % 6) {
	case 0:		/* raw bytes anywhere */
		off = fz_u16(in) % f->off.total_bytes;
		n = 1 + fz_u8(in) % 16;
		for (i = 0; i < n; i++)
			b[i] = fz_u8(in);
		hostile_bytes(f, off, b, n);
		break;
	case 1:		/* a lane head or tail moved by a small step */
		off = f->off.payload_offset + lane_off(f, tx, lane) +
		      (fz_u8(in) & 1) * 4;
		memcpy(&v, f->base + off, 4);
		v += (uint32_t)(int32_t)(int8_t)fz_u8(in);
		hostile_bytes(f, off, &v, 4);
		break;
	case 2: {	/* a descriptor field of a position near the tail */
		uint64_t pos = f->start + f->sent[tx][lane] +
			       (uint64_t)(int64_t)(int8_t)fz_u8(in) % 4;
		static const uint8_t fo[] = { 0, 4, 8, 16, 24, 28 };
		uint64_t val = fz_u32(in);

		off = f->off.payload_offset + desc_off(f, tx, lane, pos);
		if (fz_u8(in) & 1)
			val = pos + 1 + (int8_t)fz_u8(in) % 2;	/* a seq */
		i = fo[fz_u8(in) % 6];
		hostile_bytes(f, off + i, &val, i == 8 || i == 16 ? 8 : 4);
		break;
	}
	case 3:		/* a word of the channel's control lines */
		off = L3L2Q_CHAN_CTRL_BASE + (fz_u8(in) % 4) * 64 + (fz_u8(in) % 6) * 4;
		v = fz_u8(in) & 1 ? fz_u32(in) : (uint32_t)fz_u8(in) % 4;
		hostile_bytes(f, off, &v, 4);
		break;
	case 4:		/* a state, feature or abort word */
		off = ctrl_words[fz_u8(in) % 6];
		v = fz_u8(in) & 1 ? fz_u32(in) : (uint32_t)fz_u8(in) % 4;
		hostile_bytes(f, off, &v, 4);
		break;
	default:	/* the header: fatal_status or geometry */
		off = f->off.payload_offset + (fz_u8(in) & 1 ? 40 : (fz_u8(in) % 8) * 4);
		v = fz_u8(in) % 3;
		hostile_bytes(f, off, &v, 4);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	static struct fc f;
	unsigned int ops = 0;
	uint8_t op;

	if (!setup(&f, &in)) {
		while (in.i < in.n && ops++ < FC_MAX_OPS) {
			op = fz_u8(&in) % 20;
			if (op < 9)
				side_op(&f, &in, f.sut, op);
			else if (op < 17)
				side_op(&f, &in, !f.sut, op - 9);
			else
				hostile(&f, &in, fz_u8(&in));
		}
	}
	teardown(&f);
	return 0;
}
