// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_signals.c - the signals kind (HDMEM: a data area and 64-bit
 * signal slots): its geometry, its starting state, its death marks, poll
 * and debugfs.  Its waits are in l3l2q_sigwait.c.
 *
 * The region (uapi/l3l2q_signals.h, l3l2q_sig_layout()):
 *
 *   [control block][L3 waiter table][L2 waiter table][HDMEM]
 *
 * Slot values and waiter tables are user (or device) memory: each word is
 * read once with READ_ONCE() and only compared or printed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/minmax.h>
#include <linux/poll.h>
#include <linux/printk.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "l3l2q_internal.h"
#include "l3l2q_signals_core.h"

/* Most slots debugfs lists (those with a value or an arming). */
#define L3L2Q_SIG_SHOW_SLOTS	256u

/* Overflow-checked in l3l2q_sig_layout(); the status names the field. */
static int l3l2q_sig_geometry(struct l3l2q_region *r,
			      const struct l3l2q_create_args *args)
{
	enum l3l2q_sig_layout_status st;

	if (args->flags) {
		pr_debug("create: flags must be 0 for signals\n");
		return -EINVAL;
	}
	if (args->start_pos || args->sig_resv) {
		pr_debug("create: start_pos and sig_resv must be 0\n");
		return -EINVAL;
	}
	st = l3l2q_sig_layout(args->data_bytes, args->signal_count,
			      args->hdmem_flags, args->sig_flags,
			      &r->layout.signals);
	if (st != L3L2Q_SIG_LAYOUT_OK) {
		pr_debug("create: %s\n", l3l2q_sig_layout_strerror(st));
		return -EINVAL;
	}
	r->off = r->layout.signals.off;
	return 0;
}

static void l3l2q_sig_get_geometry(const struct l3l2q_region *r,
				   __u64 geom[3])
{
	const struct l3l2q_sig_layout *l = &r->layout.signals;
	struct l3l2q_info_args g;

	memset(&g, 0, sizeof(g));
	g.data_bytes = l->hdmem.data_bytes;
	g.signal_count = l->hdmem.signal_count;
	g.hdmem_flags = l->hdmem.flags;
	g.sig_flags = l->sig_flags;
	memcpy(geom, g.geom, sizeof(g.geom));
}

/*
 * The core's own formatter, as libl3l2q's creator runs it: HDMEM's header
 * and zeroed slots, the control block's header, empty waiter tables.
 * Nobody can see the memory yet: plain stores.
 */
static void l3l2q_sig_format(struct l3l2q_region *r)
{
	const struct l3l2q_sig_layout *l = &r->layout.signals;
	struct l3l2q_sig_mem mem = {
		.ctrl = l3l2q_region_at(r, 0),
		.hdmem = l3l2q_region_at(r, l->hdmem_offset),
		.region_id = r->id,
	};

	/* Cannot fail: the layout is l3l2q_sig_layout()'s own. */
	WARN_ON_ONCE(l3l2q_sig_region_init(&mem, l, r->flags));
}

static u32 *l3l2q_sig_abort_word(struct l3l2q_region *r,
				 enum l3l2q_end_role role)
{
	return l3l2q_ctrl_word(r, role == L3L2Q_END_L3 ?
			       L3L2Q_SIG_CTRL_L3_ABORT :
			       L3L2Q_SIG_CTRL_L2_ABORT);
}

/* A dead role's abort word, unless it ended cleanly. */
static void l3l2q_sig_died(struct l3l2q_region *r, enum l3l2q_end_role role,
			   bool abort)
{
	if (abort)
		/* Pairs with the survivor's load-acquire of the abort word. */
		smp_store_release(l3l2q_sig_abort_word(r, role), 1);
}

/* Signals have no 32-bit word a WAIT names: SIG_WAIT instead. */
static u32 *l3l2q_sig_wait_word(struct l3l2q_region *r,
				enum l3l2q_end_role role, unsigned int id)
{
	return NULL;
}

static bool l3l2q_sig_peer_aborted(struct l3l2q_region *r,
				   enum l3l2q_end_role role)
{
	enum l3l2q_end_role peer = L3L2Q_NR_ENDS - 1 - role;

	return READ_ONCE(*l3l2q_sig_abort_word(r, peer)) != 0;
}

/* EPOLLIN: a poll watch of @role holds; a notify never waits: EPOLLOUT. */
static __poll_t l3l2q_sig_poll(struct l3l2q_region *r,
			       enum l3l2q_end_role role)
{
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	if (l3l2q_sig_watch_ready(&r->ends[role]))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/*
 * The private geometry; then each slot with a value or an arming, read
 * once and only printed (at most L3L2Q_SIG_SHOW_SLOTS of them); then the
 * kernel's own waiters.
 */
static void l3l2q_sig_show(struct seq_file *m, struct l3l2q_region *r)
{
	const struct l3l2q_sig_layout *l = &r->layout.signals;
	const struct l3l2q_sig_waiter *t[L3L2Q_NR_ENDS];
	const struct l3l2q_hdmem_slot *slot;
	unsigned int i, shown = 0;

	seq_printf(m, "signal_count: %u\n", l->hdmem.signal_count);
	seq_printf(m, "data_bytes: %llu\n", l->hdmem.data_bytes);
	seq_printf(m, "hdmem_flags: %#x\n", l->hdmem.flags);
	seq_printf(m, "sig_flags: %#x\n", l->sig_flags);
	seq_printf(m, "hdmem_offset: %llu\n", l->hdmem_offset);
	seq_printf(m, "payload_offset: %llu\n", r->off.payload_offset);
	seq_printf(m, "l3_abort: %u\n",
		   READ_ONCE(*l3l2q_sig_abort_word(r, L3L2Q_END_L3)));
	seq_printf(m, "l2_abort: %u\n",
		   READ_ONCE(*l3l2q_sig_abort_word(r, L3L2Q_END_L2)));

	slot = l3l2q_region_at(r, l->hdmem_offset + l->hdmem.signal_offset);
	t[0] = l3l2q_region_at(r, l->table_offset[0]);
	t[1] = l3l2q_region_at(r, l->table_offset[1]);
	seq_puts(m, "slots: id value l3_arm l3_target l2_arm l2_target\n");
	for (i = 0; i < l->hdmem.signal_count; i++) {
		u64 value = READ_ONCE(slot[i].value);
		u32 arm3 = READ_ONCE(t[0][i].arm);
		u32 arm2 = READ_ONCE(t[1][i].arm);

		if (!value && !(arm3 & L3L2Q_SIG_CMP_MASK) &&
		    !(arm2 & L3L2Q_SIG_CMP_MASK))
			continue;
		if (shown++ == L3L2Q_SIG_SHOW_SLOTS) {
			seq_puts(m, "slot: ...\n");
			break;
		}
		seq_printf(m, "slot: %u %llu %#x %llu %#x %llu\n", i, value,
			   arm3, READ_ONCE(t[0][i].target), arm2,
			   READ_ONCE(t[1][i].target));
	}
	l3l2q_sig_show_waiters(m, &r->ends[L3L2Q_END_L3]);
	l3l2q_sig_show_waiters(m, &r->ends[L3L2Q_END_L2]);
}

/*
 * The role's file was released.  Its io_uring SIG_WAITs hold the file,
 * so none should be left; any that are end -ECANCELED before the role
 * goes.  Then its watches.
 */
static void l3l2q_sig_kind_release(struct l3l2q_end *end)
{
	l3l2q_siguring_cancel_all(end);
	l3l2q_sig_release(end);
}

const struct l3l2q_kind_ops l3l2q_signals_kind = {
	.kind		= L3L2Q_KIND_SIGNALS,
	.name		= "signals",
	.geometry	= l3l2q_sig_geometry,
	.format		= l3l2q_sig_format,
	.died		= l3l2q_sig_died,
	.get_geometry	= l3l2q_sig_get_geometry,
	.wait_word	= l3l2q_sig_wait_word,
	.peer_aborted	= l3l2q_sig_peer_aborted,
	.poll_ready	= l3l2q_sig_poll_ready,
	.poll		= l3l2q_sig_poll,
	.show		= l3l2q_sig_show,
	.ioctl		= l3l2q_sig_ioctl,
	.release	= l3l2q_sig_kind_release,
};
