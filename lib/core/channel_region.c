// SPDX-License-Identifier: MIT
/*
 * The channel region: preparing a fresh one (the creator's job) and
 * binding an endpoint to one, which is the only time the header and the
 * lane headers are read (pitfall P5).
 */
#include "channel_internal.h"

static int same_layout(const struct l3l2q_chan_layout *a,
		       const struct l3l2q_chan_layout *b)
{
	return a->lanes_to_l2 == b->lanes_to_l2 &&
	       a->lanes_to_l3 == b->lanes_to_l3 &&
	       a->lane_depth == b->lane_depth &&
	       a->max_message_bytes == b->max_message_bytes &&
	       a->lane_bytes == b->lane_bytes &&
	       a->to_l2_offset == b->to_l2_offset &&
	       a->to_l3_offset == b->to_l3_offset &&
	       a->total_bytes == b->total_bytes;
}

void l3l2q_chan_region_init(const struct l3l2q_chan_mem *mem,
			    const struct l3l2q_chan_layout *layout,
			    __u64 start_pos, __u32 flags)
{
	unsigned char *base = mem->hdch;
	struct l3l2q_chan_hdr *h = mem->hdch;
	__u64 i, n = (__u64)layout->lanes_to_l2 + layout->lanes_to_l3;

	/* Before the region is shared: ordinary stores are enough. */
	l3l2q__memset(base, 0, layout->total_bytes);
	h->magic = L3L2Q_CHAN_MAGIC;
	h->version = L3L2Q_CHAN_VERSION;
	h->flags = 0;
	h->lanes_to_l2 = layout->lanes_to_l2;
	h->lanes_to_l3 = layout->lanes_to_l3;
	h->lane_depth = layout->lane_depth;
	h->max_message_bytes = layout->max_message_bytes;
	h->control_bytes = layout->total_bytes;
	for (i = 0; i < n; i++) {
		struct l3l2q_chan_lane *l = (struct l3l2q_chan_lane *)
			(base + layout->to_l2_offset + i * layout->lane_bytes);

		l->head = (__u32)start_pos;
		l->tail = (__u32)start_pos;
		l->depth = layout->lane_depth;
		l->depth_mask = layout->lane_depth - 1;
	}
	if (mem->ctrl) {
		struct l3l2q_chan_ctrl_hdr *c = mem->ctrl;

		l3l2q__memset((unsigned char *)mem->ctrl + L3L2Q_CHAN_CTRL_BASE,
			      0, L3L2Q_CHAN_CTRL_END - L3L2Q_CHAN_CTRL_BASE);
		c->magic = L3L2Q_CTRL_MAGIC;
		c->version = L3L2Q_CTRL_VERSION;
		c->region_magic_version = L3L2Q_CHAN_MAGIC_VERSION;
		c->lanes_to_l2 = layout->lanes_to_l2;
		c->lanes_to_l3 = layout->lanes_to_l3;
		c->lane_depth = layout->lane_depth;
		c->max_message_bytes = layout->max_message_bytes;
		c->channel_flags = 0;
		c->channel_resv = 0;
		c->start_pos = start_pos;
		c->flags = flags;
		c->kind = L3L2Q_KIND_CHANNEL;
		c->resv1 = 0;
	}
}

static void *at(void *base, __u64 offset)
{
	return (unsigned char *)base + offset;
}

static int bad(struct l3l2q_chan *ch, __u32 kind, const char *a, __u64 x,
	       const char *b)
{
	l3l2q__record(&ch->err, kind, L3L2Q_EOP_CHAN_INIT, ch->mem.region_id,
		      a, x, b, 0, NULL);
	ch->state = L3L2Q_STATE_RELEASED;
	return -EINVAL;
}

/* The header, read once, against the private layout. */
static int check_header(struct l3l2q_chan *ch)
{
	const struct l3l2q_chan_layout *l = &ch->layout;
	struct l3l2q_chan_hdr h;

	l3l2q__memcpy(&h, ch->hdr, sizeof(h));
	if (h.magic != L3L2Q_CHAN_MAGIC)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header magic ",
			   h.magic, " is not HDCH");
	if (h.version != L3L2Q_CHAN_VERSION)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header version ",
			   h.version, " is not 1");
	if (h.flags)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header flags ",
			   h.flags, " must be 0");
	if (h.lanes_to_l2 != l->lanes_to_l2)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header lanes_to_l2 ",
			   h.lanes_to_l2, " differs from the geometry");
	if (h.lanes_to_l3 != l->lanes_to_l3)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header lanes_to_l3 ",
			   h.lanes_to_l3, " differs from the geometry");
	if (h.lane_depth != l->lane_depth)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header lane_depth ",
			   h.lane_depth, " differs from the geometry");
	if (h.max_message_bytes != l->max_message_bytes)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
			   "header max_message_bytes ", h.max_message_bytes,
			   " differs from the geometry (at most 256)");
	if (h.control_bytes != l->total_bytes)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR, "header control_bytes ",
			   h.control_bytes, " differs from the layout");
	if (h.fatal_status)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
			   "header fatal_status is set: the channel has failed",
			   0, NULL);
	return 0;
}

/*
 * Each lane header, read once.  Nobody but this endpoint may have moved
 * the head of a lane it consumes or the tail of a lane it produces: a
 * second endpoint of one role on a used region is refused (pitfall P15).
 */
static int check_lanes(struct l3l2q_chan *ch)
{
	__u32 start = (__u32)ch->start_pos, i;

	for (i = 0; i < ch->ntx + ch->nrx; i++) {
		int ours = i < ch->ntx;
		struct l3l2q_chan_lane l, *p;

		p = l3l2q__chan_lane(ch, ours ? ch->tx_lanes : ch->rx_lanes,
				     ours ? i : i - ch->ntx);
		l3l2q__memcpy(&l, p, sizeof(l));
		if (l.depth != ch->layout.lane_depth ||
		    l.depth_mask != ch->layout.lane_depth - 1)
			return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
				   "lane header depth or depth_mask is wrong, lane ",
				   i, "");
		if (ours ? l.tail != start || l.head != start :
			   l.head != start)
			return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
				   "lane was used before this endpoint bound, lane ",
				   i, "");
	}
	return 0;
}

static int check_ctrl(struct l3l2q_chan *ch)
{
	struct l3l2q_chan_ctrl_hdr c;

	l3l2q__memcpy(&c, ch->mem.ctrl, sizeof(c));
	if (c.magic != L3L2Q_CTRL_MAGIC || c.version != L3L2Q_CTRL_VERSION ||
	    c.region_magic_version != L3L2Q_CHAN_MAGIC_VERSION ||
	    c.kind != L3L2Q_KIND_CHANNEL)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
			   "control block is not a channel's", 0, NULL);
	if (c.lanes_to_l2 != ch->layout.lanes_to_l2 ||
	    c.lanes_to_l3 != ch->layout.lanes_to_l3 ||
	    c.lane_depth != ch->layout.lane_depth ||
	    c.max_message_bytes != ch->layout.max_message_bytes ||
	    c.channel_flags || c.channel_resv)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
			   "control block geometry differs from the layout",
			   0, NULL);
	if (c.start_pos != ch->start_pos)
		return bad(ch, L3L2Q_ERR_BAD_DESCRIPTOR,
			   "control block start_pos differs: ", c.start_pos, "");
	return 0;
}

int l3l2q_chan_init(struct l3l2q_chan *ch, enum l3l2q_role role,
		    const struct l3l2q_chan_mem *mem,
		    const struct l3l2q_chan_layout *layout, __u64 start_pos,
		    const struct l3l2q_env *env)
{
	struct l3l2q_chan_layout check;
	enum l3l2q_chan_layout_status st;
	int l3 = role == L3L2Q_ROLE_L3;
	unsigned char *ctrl;
	int ret;

	l3l2q__memset(ch, 0, sizeof(*ch));
	ch->role = role;
	ch->state = L3L2Q_STATE_RELEASED;	/* until bound */
	if (env)
		ch->env = *env;
	if (mem)
		ch->mem = *mem;
	if (role != L3L2Q_ROLE_L3 && role != L3L2Q_ROLE_L2)
		return bad(ch, L3L2Q_ERR_BAD_ARGUMENT, "role must be L3 or L2",
			   0, NULL);
	if (!mem || !layout || !mem->hdch ||
	    (unsigned long)mem->hdch % L3L2Q_CHAN_ALIGN ||
	    (unsigned long)mem->ctrl % L3L2Q_CHAN_ALIGN)
		return bad(ch, L3L2Q_ERR_BAD_ARGUMENT,
			   "mem, layout and a 64-aligned mem.hdch (and mem.ctrl) are required",
			   0, NULL);
	/* Never trust a layout we did not compute ourselves. */
	st = l3l2q_chan_layout(layout->lanes_to_l2, layout->lanes_to_l3,
			       layout->lane_depth, layout->max_message_bytes,
			       &check);
	if (st != L3L2Q_CHAN_LAYOUT_OK)
		return bad(ch, L3L2Q_ERR_BAD_ARGUMENT,
			   l3l2q_chan_layout_strerror(st), 0, NULL);
	if (!same_layout(&check, layout))
		return bad(ch, L3L2Q_ERR_BAD_ARGUMENT,
			   "layout does not match l3l2q_chan_layout() of its geometry",
			   0, NULL);
	ch->layout = check;
	ch->start_pos = start_pos;
	ch->hdr = mem->hdch;
	ch->ntx = l3 ? check.lanes_to_l2 : check.lanes_to_l3;
	ch->nrx = l3 ? check.lanes_to_l3 : check.lanes_to_l2;
	ch->tx_lanes = at(mem->hdch, l3 ? check.to_l2_offset : check.to_l3_offset);
	ch->rx_lanes = at(mem->hdch, l3 ? check.to_l3_offset : check.to_l2_offset);
	ret = check_header(ch);
	if (!ret)
		ret = check_lanes(ch);
	if (!ret && mem->ctrl)
		ret = check_ctrl(ch);
	if (ret)
		return ret;

	ctrl = mem->ctrl;
	if (ctrl) {
		ch->own_tx = at(ctrl, l3 ? L3L2Q_CHAN_CTRL_L3_TX : L3L2Q_CHAN_CTRL_L2_TX);
		ch->own_rx = at(ctrl, l3 ? L3L2Q_CHAN_CTRL_L3_RX : L3L2Q_CHAN_CTRL_L2_RX);
		ch->peer_tx = at(ctrl, l3 ? L3L2Q_CHAN_CTRL_L2_TX : L3L2Q_CHAN_CTRL_L3_TX);
		ch->peer_rx = at(ctrl, l3 ? L3L2Q_CHAN_CTRL_L2_RX : L3L2Q_CHAN_CTRL_L3_RX);
		ch->own_abort = at(ctrl, l3 ? L3L2Q_CHAN_CTRL_L3_ABORT :
				   L3L2Q_CHAN_CTRL_L2_ABORT);
		ch->peer_abort = at(ctrl, l3 ? L3L2Q_CHAN_CTRL_L2_ABORT :
				    L3L2Q_CHAN_CTRL_L3_ABORT);
		ch->own_state = at(ctrl, l3 ? L3L2Q_CTRL_L3_STATE :
				   L3L2Q_CTRL_L2_STATE);
		ch->peer_state = at(ctrl, l3 ? L3L2Q_CTRL_L2_STATE :
				    L3L2Q_CTRL_L3_STATE);
		ch->peer_features = at(ctrl, l3 ? L3L2Q_CTRL_L2_FEATURES :
				       L3L2Q_CTRL_L3_FEATURES);
		/*
		 * Before the first send: what this side does as a sender,
		 * and (with a way to kick) that it kicks (uapi, feature
		 * words).  Release: a peer that sees a tail we store later
		 * sees these too.
		 */
		l3l2q_store_release_u32(&ch->own_tx->proto, L3L2Q_CHAN_PROTO_V1);
		if (ch->env.kick)
			l3l2q_store_release_u32((__u32 *)at(ctrl, l3 ?
						L3L2Q_CTRL_L3_FEATURES :
						L3L2Q_CTRL_L2_FEATURES),
						L3L2Q_FEAT_KICKS);
	}
	ch->kicked_rx = ~0u;	/* no arming has this value (24 bits) */
	ch->kicked_tx = ~0u;
	for (__u32 i = 0; i < L3L2Q_CHAN_LANES_MAX; i++) {
		ch->tx[i].tail = ch->tx[i].pub = ch->tx[i].head = start_pos;
		ch->rx[i].head = ch->rx[i].tail = start_pos;
	}
	l3l2q_store_release_u32(&ch->state, L3L2Q_STATE_LIVE);
	return 0;
}

void l3l2q_chan_exit(struct l3l2q_chan *ch)
{
	__u32 s = l3l2q_load_once_u32(&ch->state);

	/* Only a live endpoint changes; a poisoned one keeps its record. */
	if (s == L3L2Q_STATE_LIVE)
		l3l2q__cas32(&ch->state, s, L3L2Q_STATE_RELEASED);
}
