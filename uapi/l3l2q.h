/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * l3l2q: the one ABI shared by the kernel driver, libl3l2q and device code.
 *
 * The queue region is byte-compatible with the upstream "L3Q2" queue ABI 1.1:
 *
 *   payload area:  [input desc ring][output desc ring][input arena][output arena]
 *   counter block: six int32 counters, one per 64-byte line (384 bytes)
 *
 * l3l2q adds a control block (identity, per-role state and need-wakeup words)
 * that lives in its own pages, outside every byte the upstream ABI defines, so
 * a peer that ignores it still interoperates.
 *
 * Deliberate deviations from upstream, documented where they are enforced:
 *  - depth must be >= 2 for an l3l2q queue (depth 1 puts both rings' writers
 *    in one cache line, upstream pitfall P12); l3l2q_wire_layout() still
 *    computes the upstream layout for depth 1;
 *  - wrap padding is committed only when a reservation succeeds, and every
 *    consumer accepts "offset == arena base" as a wrap (pitfall P9);
 *  - an empty arena always takes a payload of up to its size (upstream
 *    counts padding as used even then and can wait forever).
 *
 * Everything here is usable from C11 user space, C++, freestanding device
 * code and the kernel.  Only __uN/__sN types are used.
 */
#ifndef _UAPI_L3L2Q_H
#define _UAPI_L3L2Q_H

#if defined(__KERNEL__) || defined(__linux__)
#include <linux/types.h>
#include <linux/ioctl.h>
#else
/* Bare-metal device toolchains: <stdint.h> is a freestanding header. */
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef int32_t __s32;
typedef uint64_t __u64;
typedef int64_t __s64;
/* No ioctls off Linux; the numbers are still defined for reference. */
#ifndef _IOWR
#define _IO(t, n)	(((t) << 8) | (n))
#define _IOW(t, n, s)	((((__u32)sizeof(s)) << 16) | ((t) << 8) | (n) | 0x40000000u)
#define _IOWR(t, n, s)	((((__u32)sizeof(s)) << 16) | ((t) << 8) | (n) | 0xC0000000u)
#define _IOR(t, n, s)	((((__u32)sizeof(s)) << 16) | ((t) << 8) | (n) | 0x80000000u)
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Identity                                                               */
/* ---------------------------------------------------------------------- */

/* magic_version = magic << 32 | major << 16 | minor.  Checked exactly. */
#define L3L2Q_QUEUE_MAGIC		0x4C335132u	/* "L3Q2" */
#define L3L2Q_QUEUE_ABI_MAJOR		1u
#define L3L2Q_QUEUE_ABI_MINOR		1u
#define L3L2Q_PACK_MAGIC_VERSION(magic, major, minor)			\
	(((__u64)(__u32)(magic) << 32) | ((__u64)((major) & 0xffffu) << 16) | \
	 (__u64)((minor) & 0xffffu))
#define L3L2Q_QUEUE_MAGIC_VERSION					\
	L3L2Q_PACK_MAGIC_VERSION(L3L2Q_QUEUE_MAGIC, L3L2Q_QUEUE_ABI_MAJOR, \
				 L3L2Q_QUEUE_ABI_MINOR)

static inline __u32 l3l2q_mv_magic(__u64 mv) { return (__u32)(mv >> 32); }
static inline __u32 l3l2q_mv_major(__u64 mv) { return (__u32)(mv >> 16) & 0xffffu; }
static inline __u32 l3l2q_mv_minor(__u64 mv) { return (__u32)mv & 0xffffu; }

/*
 * The upstream primitive region descriptor (the six u64 scalars an upstream
 * L2 receives first).  Only magic and major are checked; minor is ignored.
 */
#define L3L2Q_REGION_MAGIC		0x4C334C32u	/* "L3L2" */
#define L3L2Q_REGION_ABI_MAJOR		3u
#define L3L2Q_REGION_MAGIC_VERSION					\
	L3L2Q_PACK_MAGIC_VERSION(L3L2Q_REGION_MAGIC, L3L2Q_REGION_ABI_MAJOR, 0)

/* ---------------------------------------------------------------------- */
/* Descriptor slot                                                        */
/* ---------------------------------------------------------------------- */

/*
 * One 32-byte slot, four little-endian u64.  Slot index is
 * (seq - 1) & (depth - 1); slots are never cleared.  seq is the validity
 * marker: a producer writes bytes 8..31 first, then seq, then the tail
 * counter.  A zero-byte message uses payload_offset 0 (a sentinel).
 */
struct l3l2q_desc {
	__u64 seq;		/* transport position + 1, per direction */
	__u64 opcode;		/* L3L2Q_OP_* */
	__u64 payload_offset;	/* relative to the payload base */
	__u64 payload_nbytes;
};

#define L3L2Q_DESC_BYTES		32u

/* Compile-time checks of the wire structs, in C11, C++11 and the kernel. */
#if defined(__cplusplus)
#define L3L2Q__ASSERT(c, m)	static_assert(c, m)
#else
#define L3L2Q__ASSERT(c, m)	_Static_assert(c, m)
#endif
#define L3L2Q__OFF(t, f)	__builtin_offsetof(struct t, f)

L3L2Q__ASSERT(sizeof(struct l3l2q_desc) == L3L2Q_DESC_BYTES, "slot is 32 bytes");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_desc, seq) == 0, "seq at 0");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_desc, opcode) == 8, "opcode at 8");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_desc, payload_offset) == 16, "offset at 16");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_desc, payload_nbytes) == 24, "nbytes at 24");

/* desc.opcode */
#define L3L2Q_OP_INVALID		0u	/* never published */
#define L3L2Q_OP_DATA			1u	/* both directions */
#define L3L2Q_OP_STOP			2u	/* input ring only, zero bytes */
#define L3L2Q_OP_ERROR			3u	/* both directions, never poisons */

/* ---------------------------------------------------------------------- */
/* Counter block                                                          */
/* ---------------------------------------------------------------------- */

/*
 * Each counter holds the low 32 bits of a monotonic u64 count and sits in
 * the first 4 bytes of its own 64-byte line: one writer per line.
 */
#define L3L2Q_CTR_INPUT_TAIL		0u	/* written by L3 */
#define L3L2Q_CTR_INPUT_HEAD		64u	/* written by L2 */
#define L3L2Q_CTR_OUTPUT_TAIL		128u	/* written by L2 */
#define L3L2Q_CTR_OUTPUT_HEAD		192u	/* written by L3 */
#define L3L2Q_CTR_L3_ABORT		256u	/* written by L3 ("worker") */
#define L3L2Q_CTR_L2_ABORT		320u	/* written by L2 ("chip") */
#define L3L2Q_COUNTER_BYTES		384u
#define L3L2Q_LINE_BYTES		64u

/* ---------------------------------------------------------------------- */
/* Geometry and the payload layout                                        */
/* ---------------------------------------------------------------------- */

#define L3L2Q_WIRE_DEPTH_MIN		1ull		/* upstream */
#define L3L2Q_DEPTH_MIN			2ull		/* l3l2q, see above */
#define L3L2Q_DEPTH_MAX			(1ull << 30)	/* keeps int32 deltas unambiguous */
#define L3L2Q_ARENA_ALIGN		64ull

/*
 * The first position of both directions (start_pos, 0 except in tests) is
 * at most this.  Positions are u64 and compared as such; starting at or
 * below 2^62 they cannot wrap in the life of a queue (3 * 2^62 messages
 * take centuries at 10^9 a second).  libl3l2q's create and attach and the
 * core's init refuse a larger one with -EINVAL (and so must CREATE).
 */
#define L3L2Q_START_POS_MAX		(1ull << 62)

/* Offsets are relative to the payload base. */
struct l3l2q_layout {
	__u64 depth;
	__u64 input_arena_bytes;
	__u64 output_arena_bytes;
	__u64 input_desc_offset;	/* always 0 */
	__u64 output_desc_offset;
	__u64 input_arena_offset;	/* 64-aligned */
	__u64 output_arena_offset;	/* 64-aligned */
	__u64 payload_bytes;
	__u64 counter_bytes;		/* always L3L2Q_COUNTER_BYTES */
};

/* Why a layout was refused; names the field at fault. */
enum l3l2q_layout_status {
	L3L2Q_LAYOUT_OK			= 0,
	L3L2Q_LAYOUT_BAD_DEPTH		= 1,	/* not a power of two in range */
	L3L2Q_LAYOUT_BAD_INPUT_ARENA	= 2,	/* 0 or not a multiple of 64 */
	L3L2Q_LAYOUT_BAD_OUTPUT_ARENA	= 3,	/* 0 or not a multiple of 64 */
	L3L2Q_LAYOUT_OVERFLOW		= 4,	/* an intermediate step overflowed u64 */
};

static inline int l3l2q__add_ok(__u64 a, __u64 b, __u64 *r)
{
	if (a > ~(__u64)0 - b)
		return 0;
	*r = a + b;
	return 1;
}

static inline int l3l2q__align_ok(__u64 v, __u64 align, __u64 *r)
{
	__u64 t;

	if (!l3l2q__add_ok(v, align - 1, &t))
		return 0;
	*r = t & ~(align - 1);
	return 1;
}

/*
 * The upstream L3Q2 1.1 layout function (reference §1.2): depth is a power
 * of two in [1, 2^30]; each arena is > 0 and a multiple of 64.  Every
 * multiply, add and align-up is checked (pitfall P1).  On failure @out is
 * left untouched and the status names the field at fault.
 */
static inline enum l3l2q_layout_status
l3l2q_wire_layout(__u64 depth, __u64 in_arena, __u64 out_arena,
		  struct l3l2q_layout *out)
{
	struct l3l2q_layout l;
	__u64 ring_bytes, desc_end, in_end;

	if (depth < L3L2Q_WIRE_DEPTH_MIN || depth > L3L2Q_DEPTH_MAX ||
	    (depth & (depth - 1)))
		return L3L2Q_LAYOUT_BAD_DEPTH;
	if (in_arena == 0 || in_arena % L3L2Q_ARENA_ALIGN)
		return L3L2Q_LAYOUT_BAD_INPUT_ARENA;
	if (out_arena == 0 || out_arena % L3L2Q_ARENA_ALIGN)
		return L3L2Q_LAYOUT_BAD_OUTPUT_ARENA;

	/* depth <= 2^30, so depth * 32 cannot overflow; checked anyway. */
	if (depth > ~(__u64)0 / L3L2Q_DESC_BYTES)
		return L3L2Q_LAYOUT_OVERFLOW;
	ring_bytes = depth * L3L2Q_DESC_BYTES;

	l.depth = depth;
	l.input_arena_bytes = in_arena;
	l.output_arena_bytes = out_arena;
	l.input_desc_offset = 0;
	l.output_desc_offset = ring_bytes;
	l.counter_bytes = L3L2Q_COUNTER_BYTES;
	if (!l3l2q__add_ok(ring_bytes, ring_bytes, &desc_end) ||
	    !l3l2q__align_ok(desc_end, L3L2Q_ARENA_ALIGN, &l.input_arena_offset) ||
	    !l3l2q__add_ok(l.input_arena_offset, in_arena, &in_end) ||
	    !l3l2q__align_ok(in_end, L3L2Q_ARENA_ALIGN, &l.output_arena_offset) ||
	    !l3l2q__add_ok(l.output_arena_offset, out_arena, &l.payload_bytes))
		return L3L2Q_LAYOUT_OVERFLOW;

	*out = l;
	return L3L2Q_LAYOUT_OK;
}

/*
 * The l3l2q queue layout: the wire layout, plus depth >= 2 so that the two
 * rings never share a 64-byte line (pitfall P12).
 */
static inline enum l3l2q_layout_status
l3l2q_layout(__u64 depth, __u64 in_arena, __u64 out_arena,
	     struct l3l2q_layout *out)
{
	if (depth < L3L2Q_DEPTH_MIN)
		return L3L2Q_LAYOUT_BAD_DEPTH;
	return l3l2q_wire_layout(depth, in_arena, out_arena, out);
}

static inline const char *l3l2q_layout_strerror(enum l3l2q_layout_status s)
{
	switch (s) {
	case L3L2Q_LAYOUT_OK:
		return "ok";
	case L3L2Q_LAYOUT_BAD_DEPTH:
		return "depth must be a power of two in [2, 2^30]";
	case L3L2Q_LAYOUT_BAD_INPUT_ARENA:
		return "input_arena_bytes must be a non-zero multiple of 64";
	case L3L2Q_LAYOUT_BAD_OUTPUT_ARENA:
		return "output_arena_bytes must be a non-zero multiple of 64";
	case L3L2Q_LAYOUT_OVERFLOW:
		return "layout overflows 64 bits";
	}
	return "unknown";
}

/* ---------------------------------------------------------------------- */
/* Counter reconstruction (reference §3)                                  */
/* ---------------------------------------------------------------------- */

/*
 * Rebuild a peer's u64 count from the low 32 bits it published.  Call it only
 * with a value that differs from (__s32)local (a matched sample).  The
 * two's-complement delta must lie in [0, depth]; delta == depth is legal (the
 * peer went from empty to full between samples).  Returns 1 and stores the
 * new count, or 0 (and leaves @out untouched) for an impossible delta.
 */
static inline int l3l2q_reconstruct(__u64 local, __s32 observed, __u64 depth,
				    __u64 *out)
{
	__s32 delta = (__s32)((__u32)observed - (__u32)local);

	if (delta < 0 || (__u64)delta > depth)
		return 0;
	*out = local + (__u64)delta;
	return 1;
}

/* Two's-complement truncation for the int32 wire (pitfall P21). */
static inline __s32 l3l2q_low32(__u64 v)
{
	return (__s32)(__u32)v;
}

/* ---------------------------------------------------------------------- */
/* l3l2q control block (not part of the upstream ABI)                     */
/* ---------------------------------------------------------------------- */

/*
 * The control block is the first L3L2Q_CTRL_BYTES of the mapping.  Line 0 is
 * written once by the creator before the region is shared; every other word
 * sits alone in its own 64-byte line.
 */
#define L3L2Q_CTRL_MAGIC		0x4C334C51u	/* "L3LQ" */
#define L3L2Q_CTRL_VERSION		3u	/* 2: arming counts, seen words;
						   3: feature words */
#define L3L2Q_CTRL_BYTES		4096u

struct l3l2q_ctrl_hdr {
	__u32 magic;			/* L3L2Q_CTRL_MAGIC */
	__u32 version;			/* L3L2Q_CTRL_VERSION */
	__u64 queue_magic_version;	/* L3L2Q_QUEUE_MAGIC_VERSION */
	__u64 depth;
	__u64 input_arena_bytes;
	__u64 output_arena_bytes;
	__u64 start_pos;		/* first position of both directions; 0 except in tests */
	__u32 flags;			/* L3L2Q_CREATE_* given at creation */
	__u32 resv0;			/* zero */
	__u64 resv1;			/* zero */
};

L3L2Q__ASSERT(sizeof(struct l3l2q_ctrl_hdr) <= 64, "header fits line 0");

/* Word offsets inside the control block. */
#define L3L2Q_CTRL_HDR			0u
#define L3L2Q_CTRL_L3_STATE		64u	/* __u32 L3L2Q_ROLE_* of L3 */
#define L3L2Q_CTRL_L2_STATE		128u	/* __u32 L3L2Q_ROLE_* of L2 */
#define L3L2Q_CTRL_L3_WAKE		192u	/* __u32 need-wakeup word of L3 */
#define L3L2Q_CTRL_L2_WAKE		256u	/* __u32 need-wakeup word of L2 */
/* After each wake word, per wait bit 1 << i: the low 32 bits of the counter
 * its owner had seen when it armed that bit (written by the owner). */
#define L3L2Q_CTRL_WAKE_SEEN(wake, i)	((wake) + 4u + 4u * (i))
/*
 * Unused, always 0.  (libl3l2q's memfd backing once kept each role's pid
 * here; a pid number means nothing in another pid namespace, so the roles
 * now exchange pidfds over the attach socket instead.)
 */
#define L3L2Q_CTRL_L3_PID		320u	/* __u32, zero */
#define L3L2Q_CTRL_L2_PID		384u	/* __u32, zero */
/* What each role does for its peer (L3L2Q_FEAT_*), written by that role. */
#define L3L2Q_CTRL_L3_FEATURES		448u	/* __u32, written by L3 */
#define L3L2Q_CTRL_L2_FEATURES		512u	/* __u32, written by L2 */

/*
 * Feature words.  A role that follows the need-wakeup protocol as a
 * producer (P1-P4 below: after every publish and release it fences, reads
 * the peer's wake word and kicks) stores L3L2Q_FEAT_KICKS in its feature
 * word before it first publishes, and never clears it while it lives.
 *
 * A peer that never touches the control block - device code written for
 * the upstream ABI alone, a device without interrupts - leaves its word 0:
 * it never kicks.  Whoever sleeps waiting for such a peer is woken by
 * polling on its behalf instead (the driver's poller, bounded sleeps in
 * libl3l2q), never left to its deadline.  The word only steers waiting:
 * a peer that claims to kick and does not only delays its own traffic,
 * and each reader reads it once per decision and trusts nothing else.
 *
 * The driver's rule (kmod/l3l2q_poller.c), for every region and role R:
 * it polls on R's behalf while someone waits on R (a blocked WAIT, a
 * poll/epoll registration, a registered eventfd, a pending io_uring WAIT)
 * and R's peer is alive and either its feature word, read once per
 * decision, lacks L3L2Q_FEAT_KICKS, or it is a device that cannot
 * interrupt the host (ivshmem without MSI-X).  The poller reads the
 * counters R may WAIT on and the peer's abort flag, and wakes R - every
 * kind of sleeper, as a kick would - when one moved: within the module's
 * poll_max_us (10 ms by default) of the move, checking as often as every
 * poll_min_us (50 us) while words keep moving.  It costs nothing while
 * nobody waits or the peer kicks.
 */
#define L3L2Q_FEAT_KICKS		(1u << 0)
#define L3L2Q_FEAT_ALL			L3L2Q_FEAT_KICKS

/* Role state words.  A role only moves forward: ABSENT -> LIVE -> DEAD. */
#define L3L2Q_ROLE_ABSENT		0u	/* not attached yet */
#define L3L2Q_ROLE_LIVE			1u
#define L3L2Q_ROLE_DEAD			2u	/* closed, exited or killed */

/*
 * A need-wakeup word: the bits a role waits on (0..3) and, above them, its
 * arming count (4..31), which the owner bumps each time it sets bits (W1)
 * and never sets to 0.
 */
#define L3L2Q_WAKE_INPUT_AVAIL		(1u << 0)	/* L2 waits for input */
#define L3L2Q_WAKE_INPUT_SPACE		(1u << 1)	/* L3 waits for input space */
#define L3L2Q_WAKE_OUTPUT_AVAIL		(1u << 2)	/* L3 waits for output */
#define L3L2Q_WAKE_OUTPUT_SPACE		(1u << 3)	/* L2 waits for output space */
#define L3L2Q_WAKE_BITS			0xfu
#define L3L2Q_WAKE_ARM_SHIFT		4

/*
 * Creation flags (l3l2q_create_args.flags, l3l2q_ctrl_hdr.flags).
 *
 * L3L2Q_CREATE_LOOPBACK: the queue's L2 role is taken at creation by an
 * in-kernel peer (a kernel thread running the same protocol core as
 * libl3l2q), so one process can exercise the whole path.  Per input
 * message, in order, with an input window of one:
 *   DATA   -> one DATA output of the same length (transformed, below);
 *   ERROR  -> one ERROR output, the same bytes unchanged;
 *   STOP   -> drain: everything before STOP has been answered and
 *             released; STOP is released, then the peer exits.
 * An input larger than the output arena is answered by a zero-byte ERROR.
 * The peer sleeps on the need-wakeup protocol like any L2: the L3 side's
 * KICK (or the library's blocking calls) wakes it, and its outputs wake the
 * L3 side (WAIT, poll, eventfd, io_uring).
 *
 * While it runs, the L2 state word is L3L2Q_ROLE_LIVE.  When it exits the
 * word becomes L3L2Q_ROLE_DEAD and the L3 side is woken exactly as after
 * an L2 file's death: WAIT gives -ECONNRESET once its counter stops
 * moving, poll EPOLLHUP | EPOLLERR, and libl3l2q's blocking calls first
 * return every output still queued, then -ECONNRESET.  Nothing published
 * is lost; the region lives until the L3 fd and its mappings are gone.
 * The L2 abort counter tells how it ended: 0 after a STOP drain, 1 when
 * the peer gave up (the input broke the protocol, or the L3 role died).
 * The L2 pid word stays 0: the peer is no user process.
 * CREATE gives -EPERM without CAP_SYS_ADMIN, and -EAGAIN while the
 * caller's uid has the module's max_user_loopbacks peers alive.  The
 * thread runs in the creator's cgroups.
 * PEER on a loopback queue gives -EBUSY (the L2 role is taken).  Closing
 * the L3 fd (its last reference) stops the peer wherever it waits.  Only
 * /dev/l3l2q provides it; libl3l2q's memfd backing refuses the flag with
 * -EOPNOTSUPP.
 *
 * L3L2Q_CREATE_LOOPBACK_XOR (needs _LOOPBACK, else -EINVAL): each byte of
 * a DATA payload is XORed with L3L2Q_LOOPBACK_XOR_KEY on the way back.
 * Without it DATA is echoed unchanged.
 */
#define L3L2Q_CREATE_LOOPBACK		(1u << 0)
#define L3L2Q_CREATE_LOOPBACK_XOR	(1u << 1)
#define L3L2Q_CREATE_ALL		(L3L2Q_CREATE_LOOPBACK | \
					 L3L2Q_CREATE_LOOPBACK_XOR)

#define L3L2Q_LOOPBACK_XOR_KEY		0x5Au

/* Sections of the mapping, each page aligned. */
#define L3L2Q_REGION_ALIGN		4096ull

struct l3l2q_region_offsets {
	__u64 ctrl_offset;
	__u64 ctrl_bytes;
	__u64 counter_offset;
	__u64 counter_bytes;
	__u64 payload_offset;
	__u64 payload_bytes;
	__u64 total_bytes;		/* page aligned */
};

/* Returns 1 and fills @out, or 0 (untouched) on overflow. */
static inline int l3l2q_region_layout(const struct l3l2q_layout *l,
				      struct l3l2q_region_offsets *out)
{
	struct l3l2q_region_offsets r;

	r.ctrl_offset = 0;
	r.ctrl_bytes = L3L2Q_CTRL_BYTES;
	r.counter_offset = L3L2Q_CTRL_BYTES;
	r.counter_bytes = L3L2Q_COUNTER_BYTES;
	r.payload_offset = L3L2Q_CTRL_BYTES + L3L2Q_REGION_ALIGN;
	r.payload_bytes = l->payload_bytes;
	if (!l3l2q__add_ok(r.payload_offset, l->payload_bytes, &r.total_bytes) ||
	    !l3l2q__align_ok(r.total_bytes, L3L2Q_REGION_ALIGN, &r.total_bytes))
		return 0;
	*out = r;
	return 1;
}

/* ---------------------------------------------------------------------- */
/* /dev/l3l2q ioctls                                                      */
/* ---------------------------------------------------------------------- */

/*
 * open("/dev/l3l2q") gives a device fd.  CREATE on it makes a queue and
 * returns the queue's L3 fd; PEER on that fd returns the one L2 fd.  Each
 * queue fd maps the whole region: mmap(NULL, off.total_bytes, PROT_READ |
 * PROT_WRITE, MAP_SHARED, fd, 0), sections at the reported offsets.  Every
 * resv field must be zero (-EINVAL otherwise), so it can be given a meaning
 * later.  Both new fds are close-on-exec.
 */
/*
 * 0xBB: unregistered in Documentation/userspace-api/ioctl/ioctl-number.rst
 * (between 0xBA, liveupdate, and 0xC0, iowarrior).  0xB7, used before, is
 * nsfs's and remoteproc's.
 */
#define L3L2Q_IOC_MAGIC			0xBB

/*
 * Region kinds (l3l2q_create_args.kind).  Every kind is created, mapped,
 * waited on and torn down the same way - the same fds, mapping rules, role
 * death, limits and debugfs view - and only its layout and protocol differ
 * (DESIGN.md §8).  A kind this driver does not know gives -EOPNOTSUPP.
 */
#define L3L2Q_KIND_QUEUE		0u	/* the L3Q2 queue */
#define L3L2Q_KIND_CHANNEL		1u	/* the HDCH multi-lane channel */
#define L3L2Q_KIND_SIGNALS		2u	/* HDMEM: data and 64-bit signals */

/*
 * The geometry of a region, by kind: the first 24 bytes of CREATE and INFO.
 * Each kind adds its own member; geom[] is the raw view.
 */
#define L3L2Q_GEOMETRY					\
	union {						\
		struct {		/* L3L2Q_KIND_QUEUE */	\
			__u64 depth;			\
			__u64 input_arena_bytes;	\
			__u64 output_arena_bytes;	\
		};					\
		struct {		/* L3L2Q_KIND_CHANNEL */ \
			__u32 lanes_to_l2;		\
			__u32 lanes_to_l3;		\
			__u32 lane_depth;		\
			__u32 max_message_bytes;	\
			__u32 channel_flags;	/* 0 */	\
			__u32 channel_resv;	/* 0 */	\
		};					\
		struct {		/* L3L2Q_KIND_SIGNALS */\
			__u64 data_bytes;		\
			__u32 signal_count;		\
			__u32 hdmem_flags;		\
			__u32 sig_flags;		\
			__u32 sig_resv;			\
		};		/* l3l2q_signals.h */	\
		__u64 geom[3];				\
	}

struct l3l2q_create_args {
	/* in */
	L3L2Q_GEOMETRY;			/* queue: depth power of two in
					   2 .. 2^30, arenas non-zero
					   multiples of 64 */
	__u32 flags;			/* L3L2Q_CREATE_*, within _ALL */
	__u32 kind;			/* L3L2Q_KIND_* */
	__u64 start_pos;		/* first position; 0 except in tests */
	__u64 resv1[4];
	/* out */
	__s32 fd;			/* the queue's L3 fd */
	__u32 resv2;
	struct l3l2q_region_offsets off;
	__u64 resv3[4];
};

struct l3l2q_peer_args {
	__u32 flags;			/* in: must be 0 */
	__s32 fd;			/* out: the queue's L2 fd */
	__u64 resv[3];
};

/* What a queue fd knows about its queue: the kernel's copy, not the page's. */
struct l3l2q_info_args {
	__u32 role;			/* out: 0 = L3, 1 = L2 */
	__u32 flags;			/* out: L3L2Q_CREATE_* */
	L3L2Q_GEOMETRY;
	__u64 start_pos;
	struct l3l2q_region_offsets off;
	__u32 kind;			/* out: L3L2Q_KIND_* */
	__u32 resv0;
	__u64 resv[3];
};

L3L2Q__ASSERT(sizeof(struct l3l2q_region_offsets) == 56, "offsets: 7 u64");
L3L2Q__ASSERT(sizeof(struct l3l2q_create_args) == 168, "create args ABI");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, fd) == 72, "create fd at 72");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_create_args, kind) == 28, "create kind at 28");
L3L2Q__ASSERT(L3L2Q__OFF(l3l2q_info_args, kind) == 96, "info kind at 96");
L3L2Q__ASSERT(sizeof(struct l3l2q_peer_args) == 32, "peer args ABI");
L3L2Q__ASSERT(sizeof(struct l3l2q_info_args) == 128, "info args ABI");

/* ---------------------------------------------------------------------- */
/* Waking instead of spinning                                             */
/* ---------------------------------------------------------------------- */

/*
 * The need-wakeup protocol.  Each role owns one word of need-wakeup bits in
 * the control block (L3L2Q_CTRL_L3_WAKE, L3L2Q_CTRL_L2_WAKE); only that role
 * writes it.
 *
 *   waiter (e.g. L2 waiting for input)     producer (L3 publishing input)
 *   W1 seen[INPUT_AVAIL] = tail seen;      P1 store-release input tail
 *      store-release wake = arming + 1
 *      | bits | INPUT_AVAIL
 *   W2 full fence        (pairs with P2)   P2 full fence        (pairs with W2)
 *   W3 re-check the input tail             P3 load-acquire L2's wake word,
 *                                             then its seen word
 *   W4 sleep (WAIT: tail != the seen       P4 KICK if INPUT_AVAIL is set,
 *      of W1, not a newer one)                this arming was not kicked
 *                                             yet and the tail published
 *                                             differs from seen
 *   W5 on wake-up, back to W1 (a new arming); on exit clear the bit
 *
 * Either W3 sees the new tail, or P3 sees the bit and kicks: the two full
 * fences forbid both loads missing both stores (store->load ordering, which
 * acquire/release alone does not give).  A kick that arrives before W4 is
 * not lost: WAIT registers, then re-reads the counter before it sleeps.
 * The same holds for the three other waits:
 *
 *   waiter / bit                     counter waited on   who kicks, after
 *   L2 / L3L2Q_WAKE_INPUT_AVAIL      input tail          L3 publishing input
 *   L3 / L3L2Q_WAKE_INPUT_SPACE      input head          L2 releasing input
 *   L3 / L3L2Q_WAKE_OUTPUT_AVAIL     output tail         L2 publishing output
 *   L2 / L3L2Q_WAKE_OUTPUT_SPACE     output head         L3 releasing output
 *
 * In steady streaming neither side sleeps, no bit is set and no system call
 * is made.
 *
 * One kick per arming: a producer remembers the arming it kicked last and
 * does not kick it again, so a sleeper costs its peer one system call
 * however many messages arrive before it runs.  That needs three rules,
 * each of which tests/wakeup.pml shows to be necessary:
 *  - the seen word: a kick goes only to a waiter that has not seen the
 *    counter just published, so a kick for a message it took before it
 *    armed cannot spend the arming on a WAIT that goes back to sleep;
 *  - W4 waits on the seen of W1 even if W3 saw a newer value (W3 may find
 *    the counter moved but not far enough, e.g. arena space);
 *  - every sleep has its own arming (W5).
 * Arm only the bits of the counters that sleep waits on.  The arming count
 * has 28 bits: a kick could be skipped only if the waiter armed a multiple
 * of 2^28 times without the producer reading its word once.
 *
 * A role may wait in two directions at once (a thread each): both bits
 * and the one arming count share the word, so the role changes it only by
 * atomic read-modify-write (W1 and clearing), never by a plain store that
 * could undo the other thread's bit.  An arming by either direction bumps
 * the count; a producer keeps the count it kicked per bit, so the other
 * direction's armings can cost a kick but never suppress one.  Kicks go to
 * the bit's own sleeper where the transport can (libl3l2q's memfd backing:
 * an eventfd per bit), so one direction never takes the other's.
 */

/*
 * WAIT: sleep until the counter at @counter (a L3L2Q_CTR_* ring counter the
 * caller's role may wait on: L3 the output tail or input head, L2 the input
 * tail or output head) differs from @seen, or until @deadline_ns
 * (CLOCK_MONOTONIC, absolute; 0 = do not sleep) passes.  Returns 0 when the
 * counter differs, -ETIMEDOUT, -EINTR on a signal (never restarted, so a
 * handler's flag can be checked), -ECONNRESET when the peer role is dead or
 * raised its abort flag (a poisoned endpoint), -ENODEV when the region's
 * device was removed (its memory is gone; see "Device memory").
 * It is also the IORING_OP_URING_CMD command: cmd_op L3L2Q_IOC_WAIT (any
 * other gives -ENOTTY), these 16 bytes as the payload, completing
 * asynchronously with the same result, or -ECANCELED when io_uring cancels
 * it (6.7+).  Kernels without uring_cmd cancellation (6.1) cannot drop a
 * queued command, so there it completes with -ETIMEDOUT at most the
 * module's uring_max_wait_ms after submission, even before @deadline_ns:
 * check the clock and resubmit.
 *
 * poll() on a role fd: EPOLLIN when this role has something to consume,
 * EPOLLOUT when the ring it produces into has a free descriptor slot (arena
 * space is not visible to the kernel), EPOLLHUP | EPOLLERR when the peer
 * role is dead or raised its abort flag, or the region's device was
 * removed.
 */
struct l3l2q_wait_args {
	__u16 counter;			/* L3L2Q_CTR_* offset */
	__u16 flags;			/* must be 0 */
	__s32 seen;			/* the low 32 bits last observed */
	__u64 deadline_ns;
};

/* SET_EVENTFD: the eventfd signalled when this role is kicked or the peer
 * dies; fd -1 unregisters.  One per role; replacing it is safe at any time. */
struct l3l2q_eventfd_args {
	__s32 fd;
	__u32 flags;			/* must be 0 */
	__u64 resv;			/* must be zero */
};

L3L2Q__ASSERT(sizeof(struct l3l2q_wait_args) == 16, "wait args fit a uring_cmd");
L3L2Q__ASSERT(sizeof(struct l3l2q_eventfd_args) == 16, "eventfd args ABI");

#define L3L2Q_IOC_CREATE	_IOWR(L3L2Q_IOC_MAGIC, 0x01, struct l3l2q_create_args)
#define L3L2Q_IOC_PEER		_IOWR(L3L2Q_IOC_MAGIC, 0x02, struct l3l2q_peer_args)
#define L3L2Q_IOC_INFO		_IOR(L3L2Q_IOC_MAGIC, 0x03, struct l3l2q_info_args)
#define L3L2Q_IOC_WAIT		_IOW(L3L2Q_IOC_MAGIC, 0x04, struct l3l2q_wait_args)
/* KICK: wake the other role's waiters, eventfd and io_uring waits. */
#define L3L2Q_IOC_KICK		_IO(L3L2Q_IOC_MAGIC, 0x05)
#define L3L2Q_IOC_SET_EVENTFD	_IOW(L3L2Q_IOC_MAGIC, 0x06, struct l3l2q_eventfd_args)

/* ---------------------------------------------------------------------- */
/* Device memory: the directory a device finds its regions by             */
/* ---------------------------------------------------------------------- */

/*
 * On a PCI device node (/dev/l3l2q<N>, one per device; /dev/l3l2q stays the
 * host-memory device) CREATE lays the region out in the device's shared
 * memory (for QEMU's ivshmem, BAR2), and the L2 role belongs to the device:
 * PEER gives -EBUSY.  The device finds its regions through a directory in
 * the first L3L2Q_DIR_BYTES of that memory.  All offsets are from the start
 * of the device memory; all integers little-endian; one writer per line:
 *
 *   line 0       struct l3l2q_dir_host, written by the host driver
 *   line 1       struct l3l2q_dir_dev, written by the device
 *   lines 2..63  struct l3l2q_dir_slot[L3L2Q_DIR_SLOTS], host-written
 *   L3L2Q_DIR_BYTES..   the regions, each L3L2Q_REGION_ALIGN aligned,
 *                placed by the host's allocator
 *
 * The host formats the directory when its driver binds to the device
 * (every slot FREE, a new epoch): regions of an earlier host instance are
 * gone, and a device that sees the epoch change forgets them.  A slot
 * goes FREE -> LIVE when CREATE lays a region out (generation bumped
 * first, then the fields, then the state with release order) and LIVE ->
 * CLOSED when the region's L3 role dies; the host reuses a slot only
 * after the device has let it go (its L2 state word DEAD) or is gone.
 * Inside each region the control block, counters and payload are exactly
 * as on /dev/l3l2q: a device that runs libl3l2q's core uses the control
 * block; device code written for the upstream ABI alone needs only the
 * counter block and payload (l3l2q_queue_scalars() gives its 12 scalars).
 *
 * Doorbells and interrupts (ivshmem-doorbell with vectors=N, N >= 1):
 * the host rings the device with doorbell (dev_peer_id << 16 | vector),
 * and the device interrupts the host on MSI-X vector (vector).  Vector 0
 * means "the directory or the device state changed"; slot s uses
 * vector 1 + s % (N - 1) in both directions (vector 0 when N == 1).  A
 * device without interrupts (ivshmem-plain) is polled.
 *
 * Death: the device increments heartbeat at least every heartbeat_ms (as
 * published by the host).  A device whose heartbeat stops for
 * L3L2Q_DIR_DEAD_BEATS periods, or that stores L3L2Q_DEV_DEAD, has its
 * L2 roles marked dead; sleepers wake with -ECONNRESET.
 *
 * The region's L2 state word (its control block) is the device's: a
 * device that serves with the control block claims it ABSENT -> LIVE
 * (compare-and-swap) before its first access and stores DEAD when it stops
 * serving; a device that serves as upstream code does (no control block)
 * leaves it ABSENT while it serves and stores DEAD only to let the slot
 * go.  A host that formats the directory again stores magic 0 first and
 * the magic last, so a device never adopts a half-written epoch.
 *
 * Restart: a device may come back after its death (a new ivshmem client,
 * so a new dev_peer_id, and state LIVE for the same epoch again); the host
 * reads dev_peer_id anew on each vector-0 interrupt.  The regions LIVE
 * when it came back lost their L2 with the old device: it lets them go
 * (L2 state DEAD) and serves only regions created after.
 *
 * The rules in detail (the host's side is kmod/l3l2q_dev*.c):
 *
 * Nodes.  /dev/l3l2q<N>, mode 0600, one per bound device, N the lowest
 * free number; /sys/class/misc/l3l2q<N>/device is the PCI device.  CREATE
 * there also gives -ENOSPC (no free slot, or no room in the memory) and
 * -ENODEV (the device was removed); PEER gives -EBUSY; LOOPBACK -EINVAL.
 * The region is mapped write-back: ivshmem's memory is host RAM, mapped
 * so by the device process too (a PCIe device's BAR would need otherwise).
 *
 * The host's line is written with the magic withdrawn (0) first and
 * stored last with release order; a device reads the magic with acquire
 * order, then the rest.  The host never reads back its own lines.
 *
 * The device's line: it writes epoch (the host epoch it serves),
 * dev_peer_id, features, heartbeat and magic, then state with release
 * order, and then issues a full fence before it first reads the slots
 * (pairs with the host's fence between storing a slot CLOSED and reading
 * this line: either the device sees CLOSED, or the host sees it serving).
 * When the host's epoch changes it forgets every region, stores the new
 * epoch and fences the same way before reading the slots again.  The host
 * reads state with acquire order, then each word once; it rings the
 * doorbell only while the line has the magic, the host's epoch and state
 * LIVE, and a dev_peer_id below 65536 other than host_peer_id.
 *
 * Slots: a device reads state with acquire order; LIVE means generation
 * and the fields are set.  The region's L2 state word is ABSENT at
 * creation (to the kernel the L2 role is the device's from creation on:
 * no PEER, it dies with the device) and is the device's, as above.  A
 * device lets a region go - when the slot turns CLOSED (the L3 role
 * died; also a slot it never served), after a STOP drain, or when it gives
 * up - by storing that word DEAD with release order (and, with
 * interrupts, ringing vector 0); the host then marks the L2 role dead (its
 * abort flag untouched) and, once the slot is CLOSED, reuses slot and
 * memory.  The host reuses a CLOSED slot only when the region's L2 state
 * word says DEAD, the device died, or the device's line does not say it
 * serves this epoch.  The host itself stores the L2 state word DEAD (and
 * the L2 abort flag 1) when it declares the device dead: a device must
 * never touch such a region again, even if it comes back.
 *
 * Liveness: the host checks every heartbeat_ms (module parameter, 1000 by
 * default, published when the driver binds) and at once on vector 0.  A
 * device is live once its heartbeat was seen moving with a valid LIVE
 * line; a live device is dead after L3L2Q_DIR_DEAD_BEATS checks in a row
 * without a move, so within heartbeat_ms * (L3L2Q_DIR_DEAD_BEATS + 1) of
 * its last beat.  A valid line with state DEAD is dead at the next check
 * (at once with vector 0), and so are regions made while it says so.  A
 * device never seen live is not dead: its regions wait for it.  A dead
 * device lives again when its heartbeat moves again; the regions it died
 * for stay dead.
 *
 * Removal (unbind, hot-unplug): every user mapping of the memory is
 * zapped (a later touch is SIGBUS), every waiter wakes, and every later
 * WAIT, io_uring WAIT, mmap and CREATE gives -ENODEV; poll reports
 * EPOLLHUP | EPOLLERR; KICK and INFO still succeed.  The region fds stay
 * valid until closed.
 */
#define L3L2Q_DIR_MAGIC			0x4C334456u	/* "L3DV" */
#define L3L2Q_DIR_DEV_MAGIC		0x4C334444u	/* "L3DD" */
#define L3L2Q_DIR_VERSION		1u
#define L3L2Q_DIR_BYTES			4096u
#define L3L2Q_DIR_SLOTS			62u
#define L3L2Q_DIR_DEAD_BEATS		10u

struct l3l2q_dir_host {			/* line 0: host */
	__u32 magic;			/* L3L2Q_DIR_MAGIC, stored last */
	__u32 version;			/* L3L2Q_DIR_VERSION */
	__u64 mem_bytes;		/* size of the device memory */
	__u64 epoch;			/* new at every format */
	__u32 nr_slots;			/* L3L2Q_DIR_SLOTS */
	__u32 host_peer_id;		/* the host's ivshmem ID (IVPosition) */
	__u32 nr_vectors;		/* MSI-X vectors; 0: no interrupts */
	__u32 heartbeat_ms;		/* the device's heartbeat period */
	__u64 resv[3];			/* zero */
};

/* l3l2q_dir_dev.state */
#define L3L2Q_DEV_ABSENT		0u
#define L3L2Q_DEV_LIVE			1u
#define L3L2Q_DEV_DEAD			2u

struct l3l2q_dir_dev {			/* line 1: device */
	__u32 magic;			/* L3L2Q_DIR_DEV_MAGIC once set up */
	__u32 state;			/* L3L2Q_DEV_* */
	__u64 epoch;			/* the host epoch it serves */
	__u64 heartbeat;		/* incremented every heartbeat_ms */
	__u32 dev_peer_id;		/* its ivshmem ID, for the doorbell */
	__u32 features;			/* L3L2Q_FEAT_* it offers every region */
	__u64 resv[4];			/* zero */
};

/* l3l2q_dir_slot.state */
#define L3L2Q_SLOT_FREE			0u
#define L3L2Q_SLOT_LIVE			1u
#define L3L2Q_SLOT_CLOSED		2u

struct l3l2q_dir_slot {			/* host-written */
	__u32 state;			/* L3L2Q_SLOT_* */
	__u32 kind;			/* L3L2Q_KIND_* */
	__u32 generation;		/* bumped at each reuse */
	__u32 vector;			/* this slot's vector */
	__u64 region_offset;		/* from the start of device memory */
	__u64 region_bytes;		/* l3l2q_region_offsets.total_bytes */
	L3L2Q_GEOMETRY;			/* as given to CREATE */
	__u64 start_pos;
};

L3L2Q__ASSERT(sizeof(struct l3l2q_dir_host) == 64, "dir host line");
L3L2Q__ASSERT(sizeof(struct l3l2q_dir_dev) == 64, "dir device line");
L3L2Q__ASSERT(sizeof(struct l3l2q_dir_slot) == 64, "dir slot line");
L3L2Q__ASSERT((2 + L3L2Q_DIR_SLOTS) * 64 == L3L2Q_DIR_BYTES, "dir page");

/* ---------------------------------------------------------------------- */
/* Errors                                                                 */
/* ---------------------------------------------------------------------- */

/* Error kinds; 0..7 are the upstream values. */
enum l3l2q_error_kind {
	L3L2Q_ERR_NONE			= 0,
	L3L2Q_ERR_BAD_ARGUMENT		= 1,
	L3L2Q_ERR_BAD_DESCRIPTOR	= 2,	/* bad region/queue at attach */
	L3L2Q_ERR_INVALID_DESCRIPTOR	= 3,	/* peer broke the protocol */
	L3L2Q_ERR_OUT_OF_SPACE		= 4,	/* upstream defines it, never raised */
	L3L2Q_ERR_OWNERSHIP		= 5,	/* stale, unknown or mutated handle */
	L3L2Q_ERR_REMOTE_ABORTED	= 6,	/* peer set its abort flag or died */
	L3L2Q_ERR_ENDPOINT_ERROR	= 7,
	L3L2Q_ERR_STOPPED		= 8,	/* l3l2q: input already stopped */
	L3L2Q_ERR_TIMEOUT		= 9,	/* l3l2q: ordinary timeout */
	L3L2Q_ERR_RELEASED		= 10,	/* l3l2q: endpoint already released */
};

/* Operations; 1..6 are the upstream values. */
enum l3l2q_error_op {
	L3L2Q_EOP_NONE			= 0,
	L3L2Q_EOP_INIT			= 1,
	L3L2Q_EOP_TIMEOUT		= 2,
	L3L2Q_EOP_INPUT_TRY_PEEK	= 3,
	L3L2Q_EOP_INPUT_RELEASE		= 4,
	L3L2Q_EOP_OUTPUT_TRY_RESERVE	= 5,
	L3L2Q_EOP_OUTPUT_PUBLISH	= 6,
	/* l3l2q additions: the L3 side */
	L3L2Q_EOP_INPUT_TRY_RESERVE	= 16,
	L3L2Q_EOP_INPUT_PUBLISH		= 17,
	L3L2Q_EOP_INPUT_ENQUEUE		= 18,
	L3L2Q_EOP_REQUEST_STOP		= 19,
	L3L2Q_EOP_OUTPUT_TRY_PEEK	= 20,
	L3L2Q_EOP_OUTPUT_READ		= 21,
	L3L2Q_EOP_OUTPUT_RELEASE	= 22,
	L3L2Q_EOP_ATTACH		= 23,
};

#define L3L2Q_ERROR_MSG_BYTES		256u	/* 255 characters + NUL */

#ifdef __cplusplus
}
#endif

#endif /* _UAPI_L3L2Q_H */
