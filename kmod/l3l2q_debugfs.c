// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_debugfs.c - /sys/kernel/debug/l3l2q/<id>, one file per region.
 *
 * Each file shows the kernel's copy of the geometry and role states, a
 * snapshot of the shared words (each read once; user space may be changing
 * them, so they are only printed, never believed), the event counts and
 * what a software peer reports.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "l3l2q_internal.h"

static struct dentry *l3l2q_debugfs_root;

static const char *l3l2q_role_state_name(u32 state)
{
	switch (state) {
	case L3L2Q_ROLE_ABSENT:
		return "absent";
	case L3L2Q_ROLE_LIVE:
		return "live";
	case L3L2Q_ROLE_DEAD:
		return "dead";
	}
	return "invalid";
}

static int l3l2q_debugfs_show(struct seq_file *m, void *unused)
{
	struct l3l2q_region *r = m->private;
	u32 state[L3L2Q_NR_ENDS], l3_word, l2_word;

	mutex_lock(&r->lock);
	memcpy(state, r->state, sizeof(state));
	mutex_unlock(&r->lock);

	seq_printf(m, "id: %llu\n", r->id);
	seq_printf(m, "kind: %s\n", r->kind->name);
	seq_printf(m, "backend: %s\n", r->dev->ops->name);
	seq_printf(m, "flags: %#x\n", r->flags);
	seq_printf(m, "total_bytes: %llu\n", r->off.total_bytes);
	r->kind->show(m, r);

	seq_printf(m, "l3_state: %s\n", l3l2q_role_state_name(state[0]));
	seq_printf(m, "l2_state: %s\n", l3l2q_role_state_name(state[1]));
	l3_word = READ_ONCE(*l3l2q_ctrl_word(r, L3L2Q_CTRL_L3_STATE));
	l2_word = READ_ONCE(*l3l2q_ctrl_word(r, L3L2Q_CTRL_L2_STATE));
	seq_printf(m, "shared_l3_state: %u\n", l3_word);
	seq_printf(m, "shared_l2_state: %u\n", l2_word);

	seq_printf(m, "peers_created: %lld\n", atomic64_read(&r->nr_peers));
	seq_printf(m, "deaths: %lld\n", atomic64_read(&r->nr_deaths));
	seq_printf(m, "wakes: %lld\n", atomic64_read(&r->nr_wakes));
	seq_printf(m, "kicks: %lld\n", atomic64_read(&r->nr_kicks));
	seq_printf(m, "uring_waits: %lld\n",
		   atomic64_read(&r->nr_uring_queued));
	seq_printf(m, "uring_pending: %lld\n",
		   atomic64_read(&r->nr_uring_pending));
	if (r->peer)
		r->peer->show(m, r);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(l3l2q_debugfs);

/*
 * debugfs errors are not the region's business: a failed creation leaves an
 * ERR_PTR that debugfs_remove() accepts.
 */
void l3l2q_debugfs_add(struct l3l2q_region *r)
{
	char name[24];

	snprintf(name, sizeof(name), "%llu", r->id);
	r->dbg = debugfs_create_file(name, 0400, l3l2q_debugfs_root, r,
				     &l3l2q_debugfs_fops);
}

/* Returns once no reader is inside l3l2q_debugfs_show() for @r. */
void l3l2q_debugfs_remove(struct l3l2q_region *r)
{
	debugfs_remove(r->dbg);
}

void l3l2q_debugfs_init(void)
{
	l3l2q_debugfs_root = debugfs_create_dir("l3l2q", NULL);
}

void l3l2q_debugfs_exit(void)
{
	debugfs_remove(l3l2q_debugfs_root);
}
