// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_channel.c - the HDCH channel kind: its geometry, its starting
 * state, the bell words each role sleeps on and what poll reports.
 *
 * The region's sections (uapi/l3l2q_channel.h, l3l2q_chan_region_layout()):
 *
 *   [control block, 4 KiB: common words, then the channel's lines]
 *   [HDCH bytes: header, L3 -> L2 lanes, L2 -> L3 lanes]
 *
 * A sleeper of either role waits for one of its peer's two bells to
 * differ from the value it saw (the TX bell: the peer sent, closed or
 * aborted; the RX bell: the peer freed space, acked or aborted).  The
 * bells, the lane heads and tails, the abort words and fatal_status are
 * user (or device) memory: each is read once per check with READ_ONCE()
 * and only compared or printed, never used as an index or a size.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "l3l2q_internal.h"
#include "l3l2q_channel_core.h"

/* The flags a channel takes: the loopback peer speaks the queue only. */
#define L3L2Q_CHAN_CREATE_FLAGS		0u

static void *l3l2q_chan_hdch(struct l3l2q_region *r)
{
	return l3l2q_region_at(r, r->off.payload_offset);
}

/* Lane @i of a direction, from the kernel's private layout only. */
static struct l3l2q_chan_lane *l3l2q_chan_lane_at(struct l3l2q_region *r,
						  bool to_l2, u32 i)
{
	const struct l3l2q_chan_layout *l = &r->layout.chan;

	return l3l2q_chan_hdch(r) + (to_l2 ? l->to_l2_offset : l->to_l3_offset) +
	       (u64)i * l->lane_bytes;
}

/* Overflow-checked; pr_debug names the field. */
static int l3l2q_chan_geometry(struct l3l2q_region *r,
			       const struct l3l2q_create_args *args)
{
	enum l3l2q_chan_layout_status st;

	if (args->flags & ~L3L2Q_CHAN_CREATE_FLAGS) {
		pr_debug("create: flags %#x: a channel takes none (no loopback peer)\n",
			 args->flags);
		return -EINVAL;
	}
	if (args->channel_flags || args->channel_resv) {
		pr_debug("create: channel_flags and channel_resv must be 0\n");
		return -EINVAL;
	}
	st = l3l2q_chan_layout(args->lanes_to_l2, args->lanes_to_l3,
			       args->lane_depth, args->max_message_bytes,
			       &r->layout.chan);
	if (st != L3L2Q_CHAN_LAYOUT_OK) {
		pr_debug("create: %s\n", l3l2q_chan_layout_strerror(st));
		return -EINVAL;
	}
	if (!l3l2q_chan_region_layout(&r->layout.chan, &r->off)) {
		pr_debug("create: the region size overflows\n");
		return -EINVAL;
	}
	return 0;
}

static void l3l2q_chan_get_geometry(const struct l3l2q_region *r,
				    __u64 geom[3])
{
	const struct l3l2q_chan_layout *l = &r->layout.chan;
	struct {
		L3L2Q_GEOMETRY;
	} g = { };

	/* The L3L2Q_GEOMETRY channel member, as CREATE took it. */
	g.lanes_to_l2 = l->lanes_to_l2;
	g.lanes_to_l3 = l->lanes_to_l3;
	g.lane_depth = l->lane_depth;
	g.max_message_bytes = l->max_message_bytes;
	memcpy(geom, g.geom, sizeof(g.geom));
}

/*
 * The header, the lane headers and the control block's channel lines,
 * written by lib/core's own l3l2q_chan_region_init() (the code libl3l2q
 * formats a memfd channel with).  The memory is zeroed and no file refers
 * to the region yet: plain stores, published by the fd that comes later.
 */
static void l3l2q_chan_format(struct l3l2q_region *r)
{
	struct l3l2q_chan_mem mem = {
		.ctrl = l3l2q_region_at(r, r->off.ctrl_offset),
		.hdch = l3l2q_chan_hdch(r),
		.region_id = r->id,
	};

	l3l2q_chan_region_init(&mem, &r->layout.chan, r->start_pos, r->flags);
}

static unsigned int l3l2q_chan_abort_off(enum l3l2q_end_role role)
{
	return role == L3L2Q_END_L3 ? L3L2Q_CHAN_CTRL_L3_ABORT :
				      L3L2Q_CHAN_CTRL_L2_ABORT;
}

static enum l3l2q_end_role l3l2q_chan_peer(enum l3l2q_end_role role)
{
	return role == L3L2Q_END_L3 ? L3L2Q_END_L2 : L3L2Q_END_L3;
}

/* A dead role's abort word, unless it ended cleanly. */
static void l3l2q_chan_died(struct l3l2q_region *r, enum l3l2q_end_role role,
			    bool abort)
{
	if (abort)
		/* Pairs with the survivor's load-acquire of the abort word. */
		smp_store_release(l3l2q_ctrl_word(r, l3l2q_chan_abort_off(role)),
				  1);
}

/*
 * The words a role may wait on: its peer's TX bell (messages, replies,
 * close) and RX bell (space, ack).  The WAIT's counter field is the
 * bell's offset from the start of the region (uapi/l3l2q_channel.h).
 */
static u32 *l3l2q_chan_wait_word(struct l3l2q_region *r,
				 enum l3l2q_end_role role, unsigned int id)
{
	switch (id) {
	case L3L2Q_CHAN_CTRL_L2_TX_BELL:
	case L3L2Q_CHAN_CTRL_L2_RX_BELL:
		if (role != L3L2Q_END_L3)
			return NULL;
		break;
	case L3L2Q_CHAN_CTRL_L3_TX_BELL:
	case L3L2Q_CHAN_CTRL_L3_RX_BELL:
		if (role != L3L2Q_END_L2)
			return NULL;
		break;
	default:
		return NULL;
	}
	return l3l2q_ctrl_word(r, id);
}

/* The two bells a role may wait on, then its peer's abort word. */
static u32 *l3l2q_chan_watch_word(struct l3l2q_region *r,
				  enum l3l2q_end_role role, unsigned int i)
{
	static const unsigned int l3[] = {
		L3L2Q_CHAN_CTRL_L2_TX_BELL, L3L2Q_CHAN_CTRL_L2_RX_BELL,
		L3L2Q_CHAN_CTRL_L2_ABORT,
	};
	static const unsigned int l2[] = {
		L3L2Q_CHAN_CTRL_L3_TX_BELL, L3L2Q_CHAN_CTRL_L3_RX_BELL,
		L3L2Q_CHAN_CTRL_L3_ABORT,
	};

	BUILD_BUG_ON(ARRAY_SIZE(l3) > L3L2Q_POLL_WORDS);
	BUILD_BUG_ON(ARRAY_SIZE(l2) > L3L2Q_POLL_WORDS);
	if (i >= ARRAY_SIZE(l3))
		return NULL;
	return l3l2q_ctrl_word(r, role == L3L2Q_END_L3 ? l3[i] : l2[i]);
}

/*
 * The peer poisoned itself: its abort word, or the header's fatal_status
 * (which either side, or an upstream peer, may have set), each read once.
 */
static bool l3l2q_chan_peer_aborted(struct l3l2q_region *r,
				    enum l3l2q_end_role role)
{
	struct l3l2q_chan_hdr *h = l3l2q_chan_hdch(r);
	unsigned int off = l3l2q_chan_abort_off(l3l2q_chan_peer(role));

	return READ_ONCE(*l3l2q_ctrl_word(r, off)) ||
	       READ_ONCE(h->fatal_status);
}

/* Lanes of one direction with tail != head (@space: with a free slot). */
static bool l3l2q_chan_any_lane(struct l3l2q_region *r, bool to_l2,
				bool space)
{
	const struct l3l2q_chan_layout *l = &r->layout.chan;
	u32 i, n = to_l2 ? l->lanes_to_l2 : l->lanes_to_l3;

	for (i = 0; i < n; i++) {
		struct l3l2q_chan_lane *lane = l3l2q_chan_lane_at(r, to_l2, i);
		u32 tail = READ_ONCE(lane->tail);
		u32 head = READ_ONCE(lane->head);

		if (space ? tail - head < l->lane_depth : tail != head)
			return true;
	}
	return false;
}

/*
 * EPOLLIN   a lane of the peer's direction is not empty, or the peer has
 *           closed its direction (a receive then ends with -EPIPE);
 * EPOLLOUT  a lane of this role's direction has a free descriptor.
 *
 * At most 2 * L3L2Q_CHAN_LANES_MAX lanes, each word read once.  Garbage
 * words give some answer, never a problem for the kernel; a woken
 * receiver re-checks with its own rules anyway.
 */
static __poll_t l3l2q_chan_poll(struct l3l2q_region *r,
				enum l3l2q_end_role role)
{
	bool l3 = role == L3L2Q_END_L3;
	unsigned int peer_tx = l3 ? L3L2Q_CHAN_CTRL_L2_TX : L3L2Q_CHAN_CTRL_L3_TX;
	struct l3l2q_chan_tx_line *tx = l3l2q_region_at(r, r->off.ctrl_offset +
							     peer_tx);
	__poll_t mask = 0;

	if (READ_ONCE(tx->close) || l3l2q_chan_any_lane(r, !l3, false))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (l3l2q_chan_any_lane(r, l3, true))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* One direction's lanes, each head and tail read once and only printed. */
static void l3l2q_chan_show_lanes(struct seq_file *m, struct l3l2q_region *r,
				  bool to_l2)
{
	const struct l3l2q_chan_layout *l = &r->layout.chan;
	u32 i, n = to_l2 ? l->lanes_to_l2 : l->lanes_to_l3;

	for (i = 0; i < n; i++) {
		struct l3l2q_chan_lane *lane = l3l2q_chan_lane_at(r, to_l2, i);

		seq_printf(m, "%s[%u]: head %u tail %u\n",
			   to_l2 ? "to_l2" : "to_l3", i, READ_ONCE(lane->head),
			   READ_ONCE(lane->tail));
	}
}

static const struct {
	const char *name;
	unsigned int offset;
} l3l2q_chan_words[] = {
	{ "l3_tx_ready",	L3L2Q_CHAN_CTRL_L3_TX },
	{ "l3_tx_bell",		L3L2Q_CHAN_CTRL_L3_TX_BELL },
	{ "l3_tx_close",	L3L2Q_CHAN_CTRL_L3_TX + 16 },
	{ "l3_rx_taken",	L3L2Q_CHAN_CTRL_L3_RX },
	{ "l3_rx_bell",		L3L2Q_CHAN_CTRL_L3_RX_BELL },
	{ "l3_rx_ack",		L3L2Q_CHAN_CTRL_L3_RX + 12 },
	{ "l2_tx_ready",	L3L2Q_CHAN_CTRL_L2_TX },
	{ "l2_tx_bell",		L3L2Q_CHAN_CTRL_L2_TX_BELL },
	{ "l2_tx_close",	L3L2Q_CHAN_CTRL_L2_TX + 16 },
	{ "l2_rx_taken",	L3L2Q_CHAN_CTRL_L2_RX },
	{ "l2_rx_bell",		L3L2Q_CHAN_CTRL_L2_RX_BELL },
	{ "l2_rx_ack",		L3L2Q_CHAN_CTRL_L2_RX + 12 },
	{ "l3_abort",		L3L2Q_CHAN_CTRL_L3_ABORT },
	{ "l2_abort",		L3L2Q_CHAN_CTRL_L2_ABORT },
};

/* The private geometry, then a snapshot of the shared words. */
static void l3l2q_chan_show(struct seq_file *m, struct l3l2q_region *r)
{
	const struct l3l2q_chan_layout *l = &r->layout.chan;
	struct l3l2q_chan_hdr *h = l3l2q_chan_hdch(r);
	unsigned int i;

	BUILD_BUG_ON(offsetof(struct l3l2q_chan_tx_line, close) != 16);
	BUILD_BUG_ON(offsetof(struct l3l2q_chan_rx_line, ack) != 12);
	seq_printf(m, "lanes_to_l2: %u\n", l->lanes_to_l2);
	seq_printf(m, "lanes_to_l3: %u\n", l->lanes_to_l3);
	seq_printf(m, "lane_depth: %u\n", l->lane_depth);
	seq_printf(m, "max_message_bytes: %u\n", l->max_message_bytes);
	seq_printf(m, "start_pos: %llu\n", r->start_pos);
	seq_printf(m, "payload_offset: %llu\n", r->off.payload_offset);
	seq_printf(m, "payload_bytes: %llu\n", r->off.payload_bytes);
	seq_printf(m, "fatal_status: %#llx\n", READ_ONCE(h->fatal_status));
	for (i = 0; i < ARRAY_SIZE(l3l2q_chan_words); i++) {
		u32 *word = l3l2q_ctrl_word(r, l3l2q_chan_words[i].offset);

		seq_printf(m, "%s: %u\n", l3l2q_chan_words[i].name,
			   READ_ONCE(*word));
	}
	l3l2q_chan_show_lanes(m, r, true);
	l3l2q_chan_show_lanes(m, r, false);
}

/*
 * fdinfo (docs/driver.rst): the kernel's copy of the geometry, then the
 * shared fatal status and the four bells, each read once, while the
 * memory is there.
 */
static void l3l2q_chan_show_fdinfo(struct seq_file *m,
				   struct l3l2q_region *r, bool mem)
{
	static const struct {
		const char *key;
		unsigned int offset;
	} bells[] = {
		{ "l3-tx-bell", L3L2Q_CHAN_CTRL_L3_TX_BELL },
		{ "l3-rx-bell", L3L2Q_CHAN_CTRL_L3_RX_BELL },
		{ "l2-tx-bell", L3L2Q_CHAN_CTRL_L2_TX_BELL },
		{ "l2-rx-bell", L3L2Q_CHAN_CTRL_L2_RX_BELL },
	};
	const struct l3l2q_chan_layout *l = &r->layout.chan;
	struct l3l2q_chan_hdr *h;
	unsigned int i;

	seq_printf(m, "l3l2q-lanes-to-l2:\t%u\n", l->lanes_to_l2);
	seq_printf(m, "l3l2q-lanes-to-l3:\t%u\n", l->lanes_to_l3);
	seq_printf(m, "l3l2q-lane-depth:\t%u\n", l->lane_depth);
	seq_printf(m, "l3l2q-max-message-bytes:\t%u\n", l->max_message_bytes);
	if (!mem)
		return;
	h = l3l2q_chan_hdch(r);
	seq_printf(m, "l3l2q-fatal-status:\t%#llx\n", READ_ONCE(h->fatal_status));
	for (i = 0; i < ARRAY_SIZE(bells); i++)
		seq_printf(m, "l3l2q-%s:\t%u\n", bells[i].key,
			   READ_ONCE(*l3l2q_ctrl_word(r, bells[i].offset)));
}

const struct l3l2q_kind_ops l3l2q_channel_kind = {
	.kind		= L3L2Q_KIND_CHANNEL,
	.name		= "channel",
	.geometry	= l3l2q_chan_geometry,
	.format		= l3l2q_chan_format,
	.died		= l3l2q_chan_died,
	.get_geometry	= l3l2q_chan_get_geometry,
	.wait_word	= l3l2q_chan_wait_word,
	.watch_word	= l3l2q_chan_watch_word,
	.peer_aborted	= l3l2q_chan_peer_aborted,
	.poll		= l3l2q_chan_poll,
	.show		= l3l2q_chan_show,
	.show_fdinfo	= l3l2q_chan_show_fdinfo,
};
