// SPDX-License-Identifier: MIT
/*
 * The signals region: preparing one (the creator), binding a handle to it
 * after checking its headers once (pitfall P5), and the data area with
 * upstream's bounds rule.
 */
#include "signals_internal.h"

static void *at(void *base, __u64 offset)
{
	return (unsigned char *)base + offset;
}

int l3l2q__sig_fail(struct l3l2q_sig *s, int err, __u32 kind, __u32 op,
		    const char *a, __u64 x, const char *b, __u64 y,
		    const char *c)
{
	l3l2q__record(&s->last, kind, op, s->mem.region_id, a, x, b, y, c);
	return -err;
}

static int same_layout(const struct l3l2q_sig_layout *a,
		       const struct l3l2q_sig_layout *b)
{
	return a->hdmem.data_bytes == b->hdmem.data_bytes &&
	       a->hdmem.signal_count == b->hdmem.signal_count &&
	       a->hdmem.flags == b->hdmem.flags &&
	       a->hdmem.signal_offset == b->hdmem.signal_offset &&
	       a->hdmem.data_offset == b->hdmem.data_offset &&
	       a->hdmem.total_bytes == b->hdmem.total_bytes &&
	       a->sig_flags == b->sig_flags &&
	       a->table_offset[0] == b->table_offset[0] &&
	       a->table_offset[1] == b->table_offset[1] &&
	       a->table_bytes == b->table_bytes &&
	       a->ctrl_bytes == b->ctrl_bytes &&
	       a->hdmem_offset == b->hdmem_offset &&
	       a->total_bytes == b->total_bytes;
}

/* Recompute @l from its own geometry; 0 if it is what the caller gave. */
static const char *check_layout(const struct l3l2q_sig_layout *l,
				struct l3l2q_sig_layout *out)
{
	enum l3l2q_sig_layout_status st;

	st = l3l2q_sig_layout(l->hdmem.data_bytes, l->hdmem.signal_count,
			      l->hdmem.flags, l->sig_flags, out);
	if (st != L3L2Q_SIG_LAYOUT_OK)
		return l3l2q_sig_layout_strerror(st);
	if (!same_layout(l, out))
		return "layout does not match l3l2q_sig_layout() of its geometry";
	/* Offsets that do not fit a pointer (a 32-bit device) cannot be used. */
	if (l->total_bytes != (__u64)(unsigned long)l->total_bytes)
		return "region does not fit this address space";
	return NULL;
}

int l3l2q_sig_region_init(const struct l3l2q_sig_mem *mem,
			  const struct l3l2q_sig_layout *layout, __u32 flags)
{
	struct l3l2q_sig_layout l;
	struct l3l2q_hdmem_hdr *h;

	if (!mem || !mem->hdmem || !layout || check_layout(layout, &l))
		return -EINVAL;
	/*
	 * Upstream's init: zero all of HDMEM, then the header.  The region
	 * is not shared yet, so ordinary stores are enough.
	 */
	h = mem->hdmem;
	l3l2q__memset(h, 0, (unsigned long)l.hdmem.total_bytes);
	h->magic = L3L2Q_HDMEM_MAGIC;
	h->version = L3L2Q_HDMEM_VERSION;
	h->flags = l.hdmem.flags;
	h->signal_count = l.hdmem.signal_count;
	h->data_offset = l.hdmem.data_offset;
	h->data_bytes = l.hdmem.data_bytes;
	h->total_bytes = l.hdmem.total_bytes;
	if (mem->ctrl) {
		struct l3l2q_sig_ctrl_hdr *c = mem->ctrl;

		/* Both tables, and the abort words: nobody waits or gave up. */
		l3l2q__memset(at(mem->ctrl, l.table_offset[0]), 0,
			      (unsigned long)(2 * l.table_bytes));
		*(__u32 *)at(mem->ctrl, L3L2Q_SIG_CTRL_L3_ABORT) = 0;
		*(__u32 *)at(mem->ctrl, L3L2Q_SIG_CTRL_L2_ABORT) = 0;
		c->magic = L3L2Q_CTRL_MAGIC;
		c->version = L3L2Q_CTRL_VERSION;
		c->kind_magic_version = L3L2Q_SIG_MAGIC_VERSION;
		c->data_bytes = l.hdmem.data_bytes;
		c->signal_count = l.hdmem.signal_count;
		c->hdmem_flags = l.hdmem.flags;
		c->sig_flags = l.sig_flags;
		c->sig_resv = 0;
		c->resv0 = 0;
		c->flags = flags;
		c->kind = L3L2Q_KIND_SIGNALS;
		c->resv1 = 0;
	}
	return 0;
}

/* Read the HDMEM header once; the field that disagrees, or NULL. */
static const char *check_hdmem(const void *hdmem,
			       const struct l3l2q_sig_layout *l)
{
	struct l3l2q_hdmem_hdr h;

	l3l2q__memcpy(&h, hdmem, sizeof(h));
	if (h.magic != L3L2Q_HDMEM_MAGIC)
		return "HDMEM header: magic is not HDME";
	if (h.version != L3L2Q_HDMEM_VERSION)
		return "HDMEM header: version is not 1";
	if (h.signal_count != l->hdmem.signal_count)
		return "HDMEM header: signal_count differs from the geometry";
	if (h.flags != l->hdmem.flags)
		return "HDMEM header: flags differ from the geometry";
	if (h.data_offset != l->hdmem.data_offset)
		return "HDMEM header: data_offset differs from the layout";
	if (h.data_bytes != l->hdmem.data_bytes)
		return "HDMEM header: data_bytes differs from the geometry";
	if (h.total_bytes != l->hdmem.total_bytes)
		return "HDMEM header: total_bytes differs from the layout";
	return NULL;
}

/* Read the control header once; the field that disagrees, or NULL. */
static const char *check_ctrl(const void *ctrl, const struct l3l2q_sig_layout *l)
{
	struct l3l2q_sig_ctrl_hdr c;

	l3l2q__memcpy(&c, ctrl, sizeof(c));
	if (c.magic != L3L2Q_CTRL_MAGIC || c.version != L3L2Q_CTRL_VERSION)
		return "control block: magic or version mismatch";
	if (c.kind != L3L2Q_KIND_SIGNALS ||
	    c.kind_magic_version != L3L2Q_SIG_MAGIC_VERSION)
		return "control block: not a signals region";
	if (c.data_bytes != l->hdmem.data_bytes ||
	    c.signal_count != l->hdmem.signal_count ||
	    c.hdmem_flags != l->hdmem.flags || c.sig_flags != l->sig_flags)
		return "control block: geometry differs from the layout";
	if (c.sig_resv || c.resv0 || c.resv1 || (c.flags & ~L3L2Q_CREATE_ALL))
		return "control block: unknown flags or non-zero resv";
	return NULL;
}

int l3l2q_sig_init(struct l3l2q_sig *s, __u32 role,
		   const struct l3l2q_sig_mem *mem,
		   const struct l3l2q_sig_layout *layout,
		   const struct l3l2q_sig_env *env)
{
	const char *why;
	int l3 = role == L3L2Q_ROLE_L3;
	__u32 peer = l3 ? L3L2Q_ROLE_L2 : L3L2Q_ROLE_L3;

	l3l2q__memset(s, 0, sizeof(*s));
	s->state = L3L2Q_STATE_RELEASED;	/* until bound */
	s->role = role;
	if (env)
		s->env = *env;
	if (!mem || !layout)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
				       L3L2Q_EOP_SIG_INIT,
				       "mem and layout are required", 0, NULL,
				       0, NULL);
	s->mem = *mem;
	if (role != L3L2Q_ROLE_L3 && role != L3L2Q_ROLE_L2)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
				       L3L2Q_EOP_SIG_INIT, "role must be 0 or 1 (got ",
				       role, ")", 0, NULL);
	if (!mem->hdmem || ((unsigned long)mem->hdmem % L3L2Q_HDMEM_ALIGN) ||
	    ((unsigned long)mem->ctrl % L3L2Q_LINE_BYTES))
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
				       L3L2Q_EOP_SIG_INIT,
				       "a 64-aligned mem.hdmem (and mem.ctrl, if any) is required",
				       0, NULL, 0, NULL);
	why = check_layout(layout, &s->layout);
	if (!why)
		why = check_hdmem(mem->hdmem, &s->layout);
	if (!why && mem->ctrl)
		why = check_ctrl(mem->ctrl, &s->layout);
	if (why)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_DESCRIPTOR,
				       L3L2Q_EOP_SIG_INIT, why, 0, NULL, 0,
				       NULL);
	s->slots = at(mem->hdmem, s->layout.hdmem.signal_offset);
	s->data = at(mem->hdmem, s->layout.hdmem.data_offset);
	if (mem->ctrl) {
		s->table[L3L2Q_ROLE_L3] = at(mem->ctrl, s->layout.table_offset[0]);
		s->table[L3L2Q_ROLE_L2] = at(mem->ctrl, s->layout.table_offset[1]);
		s->own_abort = at(mem->ctrl, l3 ? L3L2Q_SIG_CTRL_L3_ABORT :
				  L3L2Q_SIG_CTRL_L2_ABORT);
		s->peer_abort = at(mem->ctrl, l3 ? L3L2Q_SIG_CTRL_L2_ABORT :
				   L3L2Q_SIG_CTRL_L3_ABORT);
		s->own_state = at(mem->ctrl, l3 ? L3L2Q_CTRL_L3_STATE :
				  L3L2Q_CTRL_L2_STATE);
		s->peer_state = at(mem->ctrl, l3 ? L3L2Q_CTRL_L2_STATE :
				   L3L2Q_CTRL_L3_STATE);
		s->own_features = at(mem->ctrl, l3 ? L3L2Q_CTRL_L3_FEATURES :
				     L3L2Q_CTRL_L2_FEATURES);
		s->peer_features = at(mem->ctrl, peer == L3L2Q_ROLE_L3 ?
				      L3L2Q_CTRL_L3_FEATURES :
				      L3L2Q_CTRL_L2_FEATURES);
		/*
		 * With a way to kick, every notify of this handle follows
		 * N1-N4: say so, for waiters deciding whether they may sleep
		 * without a bound (uapi/l3l2q.h, feature words).
		 */
		if (s->env.kick)
			l3l2q_store_release_u32(s->own_features,
						L3L2Q_FEAT_KICKS);
	}
	s->state = L3L2Q_STATE_LIVE;
	return 0;
}

void l3l2q_sig_close(struct l3l2q_sig *s)
{
	s->state = L3L2Q_STATE_RELEASED;
}

void l3l2q_sig_abort(struct l3l2q_sig *s)
{
	/*
	 * Release: a peer that sees the word sees every value published
	 * before it.  Through the precomputed address, whatever the state
	 * (pitfall P11).
	 */
	if (s->own_abort)
		l3l2q_store_release_u32(s->own_abort, 1);
	s->state = L3L2Q_STATE_RELEASED;
}

int l3l2q__sig_peer_gone(const struct l3l2q_sig *s, const char **why)
{
	if (!s->peer_abort)
		return 0;	/* an upstream peer: death is not visible */
	/* Acquire: pairs with the peer's release of its word. */
	if (l3l2q_load_acquire_u32(s->peer_abort) != 0) {
		*why = "the peer raised its abort word";
		return 1;
	}
	if (l3l2q_load_acquire_u32(s->peer_state) == L3L2Q_ROLE_DEAD) {
		*why = "the peer role is dead";
		return 1;
	}
	return 0;
}

int l3l2q_sig_info(const struct l3l2q_sig *s, struct l3l2q_sig_info *info)
{
	if (!info)
		return -EINVAL;
	l3l2q__memset(info, 0, sizeof(*info));
	if (s->state != L3L2Q_STATE_LIVE)
		return -ESHUTDOWN;
	info->data = s->data;
	info->signals = s->slots;
	info->data_bytes = s->layout.hdmem.data_bytes;
	info->total_bytes = s->layout.hdmem.total_bytes;
	info->signal_count = s->layout.hdmem.signal_count;
	info->flags = s->layout.hdmem.flags;
	info->sig_flags = s->layout.sig_flags;
	info->role = s->role;
	return 0;
}

/* Upstream's bounds rule on the private data_bytes (reference §9.3). */
static int check_range(struct l3l2q_sig *s, __u64 offset, const void *buf,
		       __u64 n, __u32 op)
{
	__u64 size = s->layout.hdmem.data_bytes;
	int ret = l3l2q__sig_live(s, op);

	if (ret)
		return ret;
	if (!buf && n)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				       "buffer is NULL for ", n, " bytes", 0,
				       NULL);
	if (offset > size)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				       "offset ", offset,
				       " is beyond data_bytes ", size, "");
	if (n > size - offset)
		return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				       "n ", n,
				       " bytes run past data_bytes from offset ",
				       offset, "");
	return 0;
}

int l3l2q_sig_write(struct l3l2q_sig *s, __u64 offset, const void *src,
		    __u64 n)
{
	int ret = check_range(s, offset, src, n, L3L2Q_EOP_SIG_WRITE);

	if (!ret && n)
		l3l2q__memcpy(s->data + offset, src, (unsigned long)n);
	return ret;
}

int l3l2q_sig_read(struct l3l2q_sig *s, __u64 offset, void *dst, __u64 n)
{
	int ret = check_range(s, offset, dst, n, L3L2Q_EOP_SIG_READ);

	if (!ret && n)
		l3l2q__memcpy(dst, s->data + offset, (unsigned long)n);
	return ret;
}

const struct l3l2q_error *l3l2q_sig_last_error(const struct l3l2q_sig *s)
{
	return &s->last;
}

const struct l3l2q_stats *l3l2q_sig_stats(const struct l3l2q_sig *s)
{
	return &s->stats;
}
