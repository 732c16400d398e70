/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * l3l2q_channel.h: the HDCH multi-lane host/device channel, byte for byte,
 * and the l3l2q words around it.
 *
 * The channel bytes are the upstream "HDCH" version 1 layout (reference
 * §9.2): magic 0x48444348, a 128-byte header, then every L3 -> L2 lane,
 * then every L2 -> L3 lane.  A lane is a 64-byte header (u32 head written
 * by its consumer, u32 tail written by its producer) and lane_depth
 * 320-byte descriptors with 256 inline bytes:
 *
 *   0                       struct l3l2q_chan_hdr            128 bytes
 *   128                     lane 0 of L3 -> L2 ("cpu_to_l2")
 *   128 + lane_bytes        lane 1 of L3 -> L2 ...
 *   to_l3_offset            lane 0 of L2 -> L3 ("l2_to_cpu") ...
 *
 *   lane:  [struct l3l2q_chan_lane 64][desc 0 320]...[desc depth-1 320]
 *   lane_bytes  = 64 + lane_depth * 320
 *   total_bytes = align64(128 + (lanes_to_l2 + lanes_to_l3) * lane_bytes)
 *               = header.control_bytes
 *
 * Every step of that sum is overflow-checked (l3l2q_chan_wire_layout()).
 * A message at lane position p sits in descriptor p & (lane_depth - 1); the
 * producer writes the descriptor, then stores the tail p + 1 (low 32 bits)
 * with release order; the consumer loads the tail with acquire order,
 * reads the descriptor once into a private copy, validates the copy and
 * then stores the head p + 1 with release order.  A lane is empty when
 * head == tail and full when tail - head == lane_depth (u32 arithmetic).
 *
 * A region of kind L3L2Q_KIND_CHANNEL is
 *
 *   0       the l3l2q control block (L3L2Q_CTRL_BYTES, one page)
 *   4096    the HDCH bytes above (l3l2q_chan_region_layout())
 *
 * The control block keeps the words every kind shares at the queue's
 * offsets (uapi/l3l2q.h): line 0 is the header (struct
 * l3l2q_chan_ctrl_hdr, the same shape as the queue's), the role states
 * (L3L2Q_CTRL_L3_STATE, L3L2Q_CTRL_L2_STATE), the memfd pid words and the
 * feature words (L3L2Q_CTRL_*_FEATURES).  The channel's own words follow
 * from L3L2Q_CHAN_CTRL_BASE, one writer per 64-byte line.  A peer written
 * for upstream HDCH alone never touches the control block and still
 * interoperates: it is served by scanning its lanes and by bounded sleeps
 * (below).
 *
 * Differences from upstream's implementation, each enforced by libl3l2q:
 *  - seq is the lane position + 1 (upstream writes the position itself and
 *    never checks it, pitfall P7).  A sender says so in its protocol word
 *    (L3L2Q_CHAN_PROTO_V1); a receiver checks seq == position + 1 against
 *    such a sender and seq == low 32 bits of the position against a sender
 *    that does not announce it (upstream).  Upstream receivers ignore seq.
 *  - a descriptor that breaks the rules (payload_bytes above
 *    max_message_bytes, a wrong seq, non-zero flags or resv0, a tail that
 *    moves backwards or past the lane depth) poisons the receiver; upstream
 *    clamped the size to 0 and consumed the message (pitfall P6).
 *  - a message larger than the receiver's buffer is refused with -EMSGSIZE
 *    and the size needed, and stays at the head of its lane (P6).
 *  - the geometry is read from the header once, when an endpoint binds, and
 *    checked against the geometry the endpoint was given; it is never read
 *    again (upstream re-reads lane counts, depth and mask on every call, P5).
 *  - descriptor flags and resv0 are written 0 and must read 0; the padding
 *    (bytes 288..319) and the lane counters dropped_count, blocked_count
 *    are neither written nor read.
 *
 * Upstream's head and tail share a lane header's 64-byte line (two writers
 * in one line); this is upstream's wire format and is kept.  Every word
 * l3l2q adds has one writer per line.
 *
 * Only __uN types; usable from C11, C++, the kernel and freestanding
 * device code (the types come from uapi/l3l2q.h).
 */
#ifndef _UAPI_L3L2Q_CHANNEL_H
#define _UAPI_L3L2Q_CHANNEL_H

#include "l3l2q.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Identity and sizes (the upstream constants)                            */
/* ---------------------------------------------------------------------- */

#define L3L2Q_CHAN_MAGIC		0x48444348u	/* "HDCH" */
#define L3L2Q_CHAN_VERSION		1u
#define L3L2Q_CHAN_MAGIC_VERSION					\
	L3L2Q_PACK_MAGIC_VERSION(L3L2Q_CHAN_MAGIC, L3L2Q_CHAN_VERSION, 0)

#define L3L2Q_CHAN_INLINE_BYTES		256u	/* upstream MAX_INLINE_BYTES */
#define L3L2Q_CHAN_HDR_BYTES		128u
#define L3L2Q_CHAN_LANE_HDR_BYTES	64u
#define L3L2Q_CHAN_DESC_BYTES		320u
#define L3L2Q_CHAN_ALIGN		64u

/*
 * Upstream's return codes, for reference and the ABI test.  l3l2q returns
 * Linux errnos instead: -EAGAIN (WOULD_BLOCK), -EINVAL (INVALID), -EMSGSIZE
 * (MSG_TOO_LARGE, which upstream numbers -75, Linux's -EOVERFLOW), -EIO.
 */
#define L3L2Q_CHAN_UPSTREAM_OK			0
#define L3L2Q_CHAN_UPSTREAM_WOULD_BLOCK		(-11)
#define L3L2Q_CHAN_UPSTREAM_INVALID		(-22)
#define L3L2Q_CHAN_UPSTREAM_MSG_TOO_LARGE	(-75)
#define L3L2Q_CHAN_UPSTREAM_BACKEND		(-5)

/* ---------------------------------------------------------------------- */
/* The wire structs                                                       */
/* ---------------------------------------------------------------------- */

/* The channel header: written once by the creator, then only fatal_status. */
struct l3l2q_chan_hdr {
	__u32 magic;			/* L3L2Q_CHAN_MAGIC */
	__u32 version;			/* L3L2Q_CHAN_VERSION */
	__u32 flags;			/* upstream config flags; l3l2q: 0 */
	__u32 lanes_to_l2;		/* upstream lane_count_cpu_to_l2 */
	__u32 lanes_to_l3;		/* upstream lane_count_l2_to_cpu */
	__u32 lane_depth;		/* power of two */
	__u32 max_message_bytes;	/* 1 .. L3L2Q_CHAN_INLINE_BYTES */
	__u32 resv0;
	__u64 control_bytes;		/* total_bytes of the layout */
	__u64 fatal_status;		/* 0, or L3L2Q_CHAN_FATAL() */
	__u64 resv1[4];
	__u8 pad[48];			/* upstream's alignas(64) tail */
};

/* A lane header: head by the consumer, tail by the producer. */
struct l3l2q_chan_lane {
	__u32 head;			/* low 32 bits of the consumer position */
	__u32 tail;			/* low 32 bits of the producer position */
	__u32 depth;			/* lane_depth, set at init, never read */
	__u32 depth_mask;		/* lane_depth - 1, set at init, never read */
	__u64 dropped_count;		/* upstream: planned, never written */
	__u64 blocked_count;		/* upstream: planned, never written */
	__u64 resv[4];
};

/* A descriptor, written by the producer before it moves the tail. */
struct l3l2q_chan_desc {
	__u32 flags;			/* 0 */
	__u32 payload_bytes;		/* <= max_message_bytes */
	__u64 seq;			/* lane position + 1 (upstream: position) */
	__u64 correlation_id;		/* request/response matching */
	__u32 route;			/* which consumer; L3L2Q_CHAN_ROUTE_* */
	__u32 resv0;			/* 0 */
	__u8 data[L3L2Q_CHAN_INLINE_BYTES];
	__u8 pad[32];			/* upstream's alignas(64) tail */
};

#define L3L2Q_CHAN__OFF(t, f)	__builtin_offsetof(struct t, f)

L3L2Q__ASSERT(sizeof(struct l3l2q_chan_hdr) == L3L2Q_CHAN_HDR_BYTES, "header 128");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, magic) == 0, "magic at 0");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, version) == 4, "version at 4");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, flags) == 8, "flags at 8");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, lanes_to_l2) == 12, "c2l at 12");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, lanes_to_l3) == 16, "l2c at 16");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, lane_depth) == 20, "depth at 20");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, max_message_bytes) == 24, "max at 24");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, resv0) == 28, "resv0 at 28");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, control_bytes) == 32, "bytes at 32");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, fatal_status) == 40, "fatal at 40");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, resv1) == 48, "resv1 at 48");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_hdr, pad) == 80, "pad at 80");

L3L2Q__ASSERT(sizeof(struct l3l2q_chan_lane) == L3L2Q_CHAN_LANE_HDR_BYTES, "lane 64");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, head) == 0, "head at 0");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, tail) == 4, "tail at 4");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, depth) == 8, "depth at 8");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, depth_mask) == 12, "mask at 12");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, dropped_count) == 16, "dropped at 16");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, blocked_count) == 24, "blocked at 24");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_lane, resv) == 32, "resv at 32");

L3L2Q__ASSERT(sizeof(struct l3l2q_chan_desc) == L3L2Q_CHAN_DESC_BYTES, "desc 320");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, flags) == 0, "flags at 0");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, payload_bytes) == 4, "bytes at 4");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, seq) == 8, "seq at 8");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, correlation_id) == 16, "cid at 16");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, route) == 24, "route at 24");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, resv0) == 28, "resv0 at 28");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, data) == 32, "data at 32");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_desc, pad) == 288, "pad at 288");

/*
 * desc.route.  Upstream: 0 is the default control route, 1..N registered
 * consumers.  l3l2q reserves the top value for replies: a reply carries
 * the request's correlation_id on L3L2Q_CHAN_ROUTE_REPLY
 * (l3l2q_chan_call() matches it); applications do not send on it
 * otherwise.
 */
#define L3L2Q_CHAN_ROUTE_DEFAULT	0u
#define L3L2Q_CHAN_ROUTE_REPLY		0xffffffffu

/*
 * header.fatal_status: 0 while healthy.  The first endpoint that poisons
 * itself stores L3L2Q_CHAN_FATAL(role, kind) (role 0 = L3, 1 = L2; kind an
 * enum l3l2q_error_kind); any non-zero value ends the channel for both.
 * A plain 8-byte store: either side may write it, and any writer's value
 * means the same.
 */
#define L3L2Q_CHAN_FATAL(role, kind)					\
	((((__u64)(role) + 1) << 32) | (__u64)(__u32)(kind))

/* ---------------------------------------------------------------------- */
/* Geometry and the layout                                                */
/* ---------------------------------------------------------------------- */

/* l3l2q's limit: each direction's attention word has one bit per lane. */
#define L3L2Q_CHAN_LANES_MAX		32u

struct l3l2q_chan_layout {
	__u32 lanes_to_l2;		/* L3 -> L2 lanes */
	__u32 lanes_to_l3;		/* L2 -> L3 lanes */
	__u32 lane_depth;		/* power of two */
	__u32 max_message_bytes;	/* 1 .. 256 */
	__u64 lane_bytes;		/* one lane: 64 + depth * 320 */
	__u64 to_l2_offset;		/* first L3 -> L2 lane: 128 */
	__u64 to_l3_offset;		/* first L2 -> L3 lane */
	__u64 total_bytes;		/* 64-aligned; header.control_bytes */
};

/* Why a layout was refused; names the field at fault. */
enum l3l2q_chan_layout_status {
	L3L2Q_CHAN_LAYOUT_OK		= 0,
	L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L2 = 1,	/* 0 (or above 32: l3l2q) */
	L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L3 = 2,	/* 0 (or above 32: l3l2q) */
	L3L2Q_CHAN_LAYOUT_BAD_DEPTH	= 3,	/* not a power of two */
	L3L2Q_CHAN_LAYOUT_BAD_MAX_MESSAGE = 4,	/* 0 or above 256 */
	L3L2Q_CHAN_LAYOUT_OVERFLOW	= 5,	/* a step overflowed u64 */
};

static inline int l3l2q__chan_mul_ok(__u64 a, __u64 b, __u64 *r)
{
	if (a && b > ~(__u64)0 / a)
		return 0;
	*r = a * b;
	return 1;
}

/*
 * The upstream HDCH v1 layout (reference §9.2): both lane counts > 0,
 * lane_depth a power of two, 0 < max_message_bytes <= 256.  Every
 * multiply, add and align-up is checked; on failure @out is left
 * untouched and the status names the field at fault.
 */
static inline enum l3l2q_chan_layout_status
l3l2q_chan_wire_layout(__u32 lanes_to_l2, __u32 lanes_to_l3, __u32 lane_depth,
		       __u32 max_message_bytes, struct l3l2q_chan_layout *out)
{
	struct l3l2q_chan_layout l;
	__u64 desc_bytes, nlanes, lanes_bytes, raw, c2l_bytes;

	if (!lanes_to_l2)
		return L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L2;
	if (!lanes_to_l3)
		return L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L3;
	if (!lane_depth || (lane_depth & (lane_depth - 1)))
		return L3L2Q_CHAN_LAYOUT_BAD_DEPTH;
	if (!max_message_bytes || max_message_bytes > L3L2Q_CHAN_INLINE_BYTES)
		return L3L2Q_CHAN_LAYOUT_BAD_MAX_MESSAGE;

	l.lanes_to_l2 = lanes_to_l2;
	l.lanes_to_l3 = lanes_to_l3;
	l.lane_depth = lane_depth;
	l.max_message_bytes = max_message_bytes;
	l.to_l2_offset = L3L2Q_CHAN_HDR_BYTES;
	if (!l3l2q__chan_mul_ok(lane_depth, L3L2Q_CHAN_DESC_BYTES, &desc_bytes) ||
	    !l3l2q__add_ok(L3L2Q_CHAN_LANE_HDR_BYTES, desc_bytes, &l.lane_bytes) ||
	    !l3l2q__add_ok(lanes_to_l2, lanes_to_l3, &nlanes) ||
	    !l3l2q__chan_mul_ok(l.lane_bytes, nlanes, &lanes_bytes) ||
	    !l3l2q__add_ok(L3L2Q_CHAN_HDR_BYTES, lanes_bytes, &raw) ||
	    !l3l2q__align_ok(raw, L3L2Q_CHAN_ALIGN, &l.total_bytes) ||
	    !l3l2q__chan_mul_ok(l.lane_bytes, lanes_to_l2, &c2l_bytes) ||
	    !l3l2q__add_ok(L3L2Q_CHAN_HDR_BYTES, c2l_bytes, &l.to_l3_offset))
		return L3L2Q_CHAN_LAYOUT_OVERFLOW;

	*out = l;
	return L3L2Q_CHAN_LAYOUT_OK;
}

/*
 * The l3l2q channel layout: the wire layout, with at most
 * L3L2Q_CHAN_LANES_MAX lanes each way (one attention bit per lane).
 */
static inline enum l3l2q_chan_layout_status
l3l2q_chan_layout(__u32 lanes_to_l2, __u32 lanes_to_l3, __u32 lane_depth,
		  __u32 max_message_bytes, struct l3l2q_chan_layout *out)
{
	if (lanes_to_l2 > L3L2Q_CHAN_LANES_MAX)
		return L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L2;
	if (lanes_to_l3 > L3L2Q_CHAN_LANES_MAX)
		return L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L3;
	return l3l2q_chan_wire_layout(lanes_to_l2, lanes_to_l3, lane_depth,
				      max_message_bytes, out);
}

static inline const char *
l3l2q_chan_layout_strerror(enum l3l2q_chan_layout_status s)
{
	switch (s) {
	case L3L2Q_CHAN_LAYOUT_OK:
		return "ok";
	case L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L2:
		return "lanes_to_l2 must be in [1, 32]";
	case L3L2Q_CHAN_LAYOUT_BAD_LANES_TO_L3:
		return "lanes_to_l3 must be in [1, 32]";
	case L3L2Q_CHAN_LAYOUT_BAD_DEPTH:
		return "lane_depth must be a power of two";
	case L3L2Q_CHAN_LAYOUT_BAD_MAX_MESSAGE:
		return "max_message_bytes must be in [1, 256]";
	case L3L2Q_CHAN_LAYOUT_OVERFLOW:
		return "channel layout overflows 64 bits";
	}
	return "unknown";
}

/*
 * The whole region of a channel: the control block, then the HDCH bytes
 * in the payload section.  A channel has no counter block: counter_offset
 * and counter_bytes are 0.  Returns 1 and fills @out, or 0 (untouched) on
 * overflow.
 */
static inline int l3l2q_chan_region_layout(const struct l3l2q_chan_layout *l,
					   struct l3l2q_region_offsets *out)
{
	struct l3l2q_region_offsets r;

	r.ctrl_offset = 0;
	r.ctrl_bytes = L3L2Q_CTRL_BYTES;
	r.counter_offset = 0;
	r.counter_bytes = 0;
	r.payload_offset = L3L2Q_CTRL_BYTES;
	r.payload_bytes = l->total_bytes;
	if (!l3l2q__add_ok(r.payload_offset, l->total_bytes, &r.total_bytes) ||
	    !l3l2q__align_ok(r.total_bytes, L3L2Q_REGION_ALIGN, &r.total_bytes))
		return 0;
	*out = r;
	return 1;
}

/* ---------------------------------------------------------------------- */
/* The control block of a channel (not part of the upstream bytes)        */
/* ---------------------------------------------------------------------- */

/*
 * Line 0, written once by the creator: the queue's header with the
 * channel's identity and geometry in the same places, so generic code
 * reads magic, version, kind and geometry the same way for every kind.
 * The geometry is the L3L2Q_GEOMETRY channel member of uapi/l3l2q.h.
 */
struct l3l2q_chan_ctrl_hdr {
	__u32 magic;			/* L3L2Q_CTRL_MAGIC */
	__u32 version;			/* L3L2Q_CTRL_VERSION */
	__u64 region_magic_version;	/* L3L2Q_CHAN_MAGIC_VERSION */
	__u32 lanes_to_l2;		/* the geometry: 24 bytes */
	__u32 lanes_to_l3;
	__u32 lane_depth;
	__u32 max_message_bytes;
	__u32 channel_flags;		/* 0 */
	__u32 channel_resv;		/* 0 */
	__u64 start_pos;		/* first lane position; 0 except in tests */
	__u32 flags;			/* L3L2Q_CREATE_* given at creation */
	__u32 kind;			/* L3L2Q_KIND_CHANNEL (the queue's resv0) */
	__u64 resv1;			/* 0 */
};

L3L2Q__ASSERT(sizeof(struct l3l2q_chan_ctrl_hdr) == 64, "channel ctrl header");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_ctrl_hdr, region_magic_version) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, queue_magic_version), "identity at 8");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_ctrl_hdr, lanes_to_l2) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, depth), "geometry at 16");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_ctrl_hdr, start_pos) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, start_pos), "start_pos at 40");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_ctrl_hdr, flags) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, flags), "flags at 48");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_ctrl_hdr, kind) ==
	      L3L2Q__OFF(l3l2q_ctrl_hdr, resv0), "kind at 52");

/*
 * The channel's lines in the control block.  Each role owns a TX line (the
 * role as the producer of its lanes) and an RX line (the role as the
 * consumer of the peer's lanes); only that role writes them, with atomics
 * that never leave its side (several threads of one side may update a word
 * together; the peer only loads it).  No word is written by both sides.
 *
 *   L3 TX line   L3 -> L2 direction, written by L3
 *   L3 RX line   L2 -> L3 direction, written by L3
 *   L2 TX line   L2 -> L3 direction, written by L2
 *   L2 RX line   L3 -> L2 direction, written by L2
 *   abort lines  one per role
 */
#define L3L2Q_CHAN_CTRL_BASE		1024u
#define L3L2Q_CHAN_CTRL_L3_TX		1024u
#define L3L2Q_CHAN_CTRL_L3_RX		1088u
#define L3L2Q_CHAN_CTRL_L2_TX		1152u
#define L3L2Q_CHAN_CTRL_L2_RX		1216u
#define L3L2Q_CHAN_CTRL_L3_ABORT	1280u	/* __u32 0 or 1, written by L3 */
#define L3L2Q_CHAN_CTRL_L2_ABORT	1344u	/* __u32 0 or 1, written by L2 */
#define L3L2Q_CHAN_CTRL_END		1408u

/* A TX line: its owner as a producer. */
struct l3l2q_chan_tx_line {
	__u32 ready;		/* attention bits, one per lane (flipped) */
	__u32 bell;		/* bumped to wake the peer's receivers */
	__u32 want;		/* lanes whose producer sleeps for space */
	__u32 arm;		/* arming count of want */
	__u32 close;		/* 0, then L3L2Q_CHAN_CLOSED: tails are final */
	__u32 proto;		/* L3L2Q_CHAN_PROTO_*, before the first send */
	__u32 resv[10];
};

/* An RX line: its owner as a consumer. */
struct l3l2q_chan_rx_line {
	__u32 taken;		/* attention bits taken, one per lane */
	__u32 wake;		/* sleepers (0..7) | arming count (8..31) */
	__u32 bell;		/* bumped to wake the peer's producers */
	__u32 ack;		/* 0, then L3L2Q_CHAN_ACKED */
	__u32 resv[12];
};

L3L2Q__ASSERT(sizeof(struct l3l2q_chan_tx_line) == 64, "TX line");
L3L2Q__ASSERT(sizeof(struct l3l2q_chan_rx_line) == 64, "RX line");
L3L2Q__ASSERT(L3L2Q_CHAN_CTRL_BASE >= L3L2Q_CTRL_L2_FEATURES + 64,
	      "channel lines after the common words");
L3L2Q__ASSERT(L3L2Q_CHAN_CTRL_END <= L3L2Q_CTRL_BYTES, "in the control page");

/*
 * The only words a sleeper waits on (l3l2q_env.sleep, the driver's WAIT):
 * the peer's two bells.  L3 may wait on L3L2Q_CHAN_CTRL_L2_TX_BELL (L2 sent,
 * closed or aborted) and L3L2Q_CHAN_CTRL_L2_RX_BELL (L2 freed space, acked
 * L3's close or aborted); L2 on the L3 pair.  A bell only ever counts up;
 * an endpoint bumps it before every kick it owes the peer, so a WAIT for
 * "bell != seen" ends exactly when a kick is due.  Offsets are from the
 * start of the region (the control block).
 */
#define L3L2Q_CHAN_CTRL_L3_TX_BELL	(L3L2Q_CHAN_CTRL_L3_TX + 4u)
#define L3L2Q_CHAN_CTRL_L3_RX_BELL	(L3L2Q_CHAN_CTRL_L3_RX + 8u)
#define L3L2Q_CHAN_CTRL_L2_TX_BELL	(L3L2Q_CHAN_CTRL_L2_TX + 4u)
#define L3L2Q_CHAN_CTRL_L2_RX_BELL	(L3L2Q_CHAN_CTRL_L2_RX + 8u)

L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_tx_line, bell) == 4, "TX bell at 4");
L3L2Q__ASSERT(L3L2Q_CHAN__OFF(l3l2q_chan_rx_line, bell) == 8, "RX bell at 8");

/* tx_line.proto: what the owner does as a sender (0: upstream rules). */
#define L3L2Q_CHAN_PROTO_V1		(1u << 0)	/* seq = pos + 1, attention
							   bits, bells, close */
#define L3L2Q_CHAN_PROTO_ALL		L3L2Q_CHAN_PROTO_V1
#define L3L2Q_CHAN_CLOSED		1u	/* tx_line.close */
#define L3L2Q_CHAN_ACKED		1u	/* rx_line.ack */
#define L3L2Q_CHAN_WAKE_SLEEPERS	0xffu	/* rx_line.wake, low bits */
#define L3L2Q_CHAN_WAKE_ARM_SHIFT	8

/*
 * Attention: finding non-empty lanes without scanning them.
 *
 * For each direction the producer side owns ready (TX line) and the
 * consumer side owns taken (RX line).  Lane i needs the consumer's
 * attention while bit i of ready ^ taken is set.  Each side only ever
 * flips its own word, so the pair works like a token passed back and
 * forth, and neither side needs an atomic on the other's memory:
 *
 *   producer of lane i                    consumer side
 *   A1 store-release tail                 C1 load taken, then load-acquire
 *   A2 full fence        (pairs with C3)     ready; the bits of ready ^
 *   A3 load taken; if bit i of ready         taken need looking at
 *      equals bit i of taken, flip        C2 flip those bits of taken, one
 *      ready's bit i (the consumer has       thread of the side at a time
 *      seen every earlier attention)      C3 (any thread of the side) claim
 *                                            such a lane, full fence (pairs
 *                                            with A2), load-acquire its tail
 *                                            and drain it
 *
 * Either C3 sees the new tail, or A3 sees the flip of C2 and raises the
 * bit again: a message is never left without attention.  ready's bit
 * flips only while it equals taken's, so a consumer that reads taken
 * before ready and is taken's only writer until C2 flips exactly the bits
 * that still need it; several consumers flipping at once could, through a
 * bit going 0 -> 1 -> 0 under them, give attention back with no producer
 * to announce it.  In streaming the bit stays raised while the consumer
 * keeps up, so most sends skip the flip (one load after the fence).  A
 * spurious attention bit only costs a look at the lane.  A producer that
 * never flips (an upstream peer, whose proto word is 0) is served by
 * scanning every lane instead.
 *
 * Waking instead of spinning, for the channel (the queue's W/P protocol of
 * uapi/l3l2q.h, with bells as the counters slept on):
 *
 *   receivers waiting for messages        producer, after raising lane i
 *   W1 seen = the peer's TX bell;         P1 (A3 above) flip ready's bit i
 *      wake += 1 sleeper + 1 arming
 *   W2 full fence        (pairs with P2)  P2 full fence        (pairs with W2)
 *   W3 re-check ready ^ taken, the        P3 load-acquire the consumer's wake
 *      lanes being drained, the close        word
 *   W4 sleep until the TX bell differs    P4 if it has sleepers and an arming
 *      from seen                             not kicked yet: bump its own TX
 *   W5 wake -= 1 sleeper; before sleeping    bell, then KICK
 *      again, a new arming (W1)
 *
 *   a producer waiting for space on i     consumer, after storing lane i's head
 *   W1 seen = the peer's RX bell;         P1 store-release head
 *      want |= bit i; arm += 1
 *   W2 full fence        (pairs with P2)  P2 full fence        (pairs with W2)
 *   W3 re-check lane i's head             P3 load-acquire the producer's arm,
 *   W4 sleep until the RX bell differs       then its want
 *      from seen                          P4 if bit i is set and this arming
 *   W5 want &= ~bit i                        was not kicked yet: bump its own
 *                                            RX bell, then KICK
 *
 * Closing, acking and aborting bump the bell the peer's sleepers wait on
 * and kick unconditionally (each happens once).  The arming count makes a
 * sleeper cost its peer one KICK however many messages arrive before it
 * runs; the sleeper count lets several threads of one side sleep at once
 * (each W5 only takes itself away).  A producer only checks the wake word
 * when it raised attention, so in streaming no system call and no extra
 * fence is made per message.
 *
 * Feature words: a role that kicks as above stores L3L2Q_FEAT_KICKS in its
 * L3L2Q_CTRL_*_FEATURES word (uapi/l3l2q.h) before it first sends.  Nobody
 * sleeps unboundedly on a peer that does not announce it, or whose proto
 * word lacks L3L2Q_CHAN_PROTO_V1: such waits are bounded sleeps (polling
 * at the library's nap interval) instead.
 *
 * Close handshake (CLOSE -> drain -> ACK, per direction, like a TCP
 * half-close):
 *   - the sender, once none of its lanes is leased (no send in flight),
 *     stores L3L2Q_CHAN_CLOSED in its TX line's close word with release
 *     order, bumps its TX bell and kicks.  Its tails are final; later sends
 *     are refused locally with -EPIPE, and a tail that moves after CLOSE is
 *     a protocol error;
 *   - the receiver, having loaded close with acquire order, drains every
 *     lane up to the tails it then reads, stores L3L2Q_CHAN_ACKED in its RX
 *     line's ack word, bumps its RX bell and kicks; its receives then
 *     return -EPIPE;
 *   - the closer waits for the ack (on the peer's RX bell): once it is
 *     there, every message it sent has been taken.
 * Both sides close their direction for a full close.  A peer that does not
 * announce L3L2Q_CHAN_PROTO_V1 cannot ack (-EOPNOTSUPP).
 *
 * Fatal status: an endpoint that poisons itself stores 1 in its abort word
 * (L3L2Q_CHAN_CTRL_*_ABORT, its own line) and L3L2Q_CHAN_FATAL() in the
 * header's fatal_status (which upstream peers can see), then bumps both of
 * its bells and kicks.  The peer treats its abort word, a non-zero
 * fatal_status or its role state L3L2Q_ROLE_DEAD as "the peer is gone":
 * messages already published are still delivered, then -ECONNRESET.
 */

/*
 * The driver (/dev/l3l2q, docs/driver.rst "Channels"): CREATE with kind
 * L3L2Q_KIND_CHANNEL takes the L3L2Q_GEOMETRY channel member of uapi/l3l2q.h
 * (the l3l2q_chan_layout() rules; channel_flags, channel_resv and the
 * CREATE flags 0, else -EINVAL) and formats the region as
 * l3l2q_chan_region_init() does.  WAIT's counter field is a bell's offset
 * from the start of the region: L3L2Q_CHAN_CTRL_L2_TX_BELL or _L2_RX_BELL
 * for the L3 role, L3L2Q_CHAN_CTRL_L3_TX_BELL or _L3_RX_BELL for the L2
 * role (-EINVAL otherwise); a role's death raises its abort word.
 */

/*
 * Operations in error records (struct l3l2q_error.op), after the queue's
 * (enum l3l2q_error_op in uapi/l3l2q.h).
 */
enum l3l2q_chan_error_op {
	L3L2Q_EOP_CHAN_INIT		= 48,
	L3L2Q_EOP_CHAN_LEASE		= 49,
	L3L2Q_EOP_CHAN_SEND		= 50,
	L3L2Q_EOP_CHAN_RESERVE		= 51,
	L3L2Q_EOP_CHAN_COMMIT		= 52,
	L3L2Q_EOP_CHAN_FLUSH		= 53,
	L3L2Q_EOP_CHAN_RECV		= 54,
	L3L2Q_EOP_CHAN_PEEK		= 55,
	L3L2Q_EOP_CHAN_RELEASE		= 56,
	L3L2Q_EOP_CHAN_CALL		= 57,
	L3L2Q_EOP_CHAN_CLOSE		= 58,
};

#ifdef __cplusplus
}
#endif

#endif /* _UAPI_L3L2Q_CHANNEL_H */
