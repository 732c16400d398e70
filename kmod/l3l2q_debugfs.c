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

static int l3l2q_debugfs_show(struct seq_file *m, void *unused)
{
	struct l3l2q_region *r = m->private;
	u32 state[L3L2Q_NR_ENDS], l3_word, l2_word;

	/* A reader waiting here can always be killed. */
	if (mutex_lock_killable(&r->lock))
		return -EINTR;
	memcpy(state, r->state, sizeof(state));
	mutex_unlock(&r->lock);

	seq_printf(m, "id: %llu\n", r->id);
	seq_printf(m, "kind: %s\n", r->kind->name);
	seq_printf(m, "backend: %s\n", r->dev->ops->name);
	seq_printf(m, "flags: %#x\n", r->flags);
	seq_printf(m, "total_bytes: %llu\n", r->off.total_bytes);
	/* The shared words only while the memory is there (a device's). */
	if (l3l2q_mem_enter(r)) {
		r->kind->show(m, r);
		l3_word = READ_ONCE(*l3l2q_ctrl_word(r, L3L2Q_CTRL_L3_STATE));
		l2_word = READ_ONCE(*l3l2q_ctrl_word(r, L3L2Q_CTRL_L2_STATE));
		l3l2q_mem_exit(r);
		seq_printf(m, "shared_l3_state: %u\n", l3_word);
		seq_printf(m, "shared_l2_state: %u\n", l2_word);
	} else {
		l3l2q_mem_exit(r);
		seq_puts(m, "memory: gone\n");
	}

	seq_printf(m, "l3_state: %s\n", l3l2q_role_state_name(state[0]));
	seq_printf(m, "l2_state: %s\n", l3l2q_role_state_name(state[1]));

	seq_printf(m, "peers_created: %lld\n", atomic64_read(&r->nr_peers));
	seq_printf(m, "deaths: %lld\n", atomic64_read(&r->nr_deaths));
	seq_printf(m, "wakes: %lld\n", atomic64_read(&r->nr_wakes));
	seq_printf(m, "kicks: %lld\n", atomic64_read(&r->nr_kicks));
	seq_printf(m, "uring_waits: %lld\n",
		   atomic64_read(&r->nr_uring_queued));
	seq_printf(m, "uring_pending: %lld\n",
		   atomic64_read(&r->nr_uring_pending));
	seq_printf(m, "uring_scanned: %lld\n",
		   atomic64_read(&r->nr_uring_scanned));
	seq_printf(m, "uring_expired: %lld\n",
		   atomic64_read(&r->nr_uring_expired));
	seq_printf(m, "uring_refused: %lld\n",
		   atomic64_read(&r->nr_uring_refused));
	l3l2q_poller_show(m, r);
	if (r->peer)
		r->peer->show(m, r);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(l3l2q_debugfs);

/**
 * l3l2q_debugfs_add() - the region's file, /sys/kernel/debug/l3l2q/<id>
 * @r: a region about to reach user space
 *
 * debugfs errors are not the region's business: a failed creation leaves
 * an ERR_PTR that debugfs_remove() accepts.
 */
void l3l2q_debugfs_add(struct l3l2q_region *r)
{
	char name[24];

	snprintf(name, sizeof(name), "%llu", r->id);
	r->dbg = debugfs_create_file(name, 0400, l3l2q_debugfs_root, r,
				     &l3l2q_debugfs_fops);
}

/**
 * l3l2q_debugfs_remove() - remove the region's file
 * @r: a region being freed
 *
 * Returns once no reader is inside l3l2q_debugfs_show() for @r.
 */
void l3l2q_debugfs_remove(struct l3l2q_region *r)
{
	debugfs_remove(r->dbg);
}

/**
 * l3l2q_debugfs_dir() - the module's directory, for the devices' files too
 *
 * Return: /sys/kernel/debug/l3l2q (an ERR_PTR if debugfs failed).
 */
struct dentry *l3l2q_debugfs_dir(void)
{
	return l3l2q_debugfs_root;
}

/**
 * l3l2q_debugfs_init() - make /sys/kernel/debug/l3l2q at module load
 */
void l3l2q_debugfs_init(void)
{
	l3l2q_debugfs_root = debugfs_create_dir("l3l2q", NULL);
}

/**
 * l3l2q_debugfs_exit() - remove /sys/kernel/debug/l3l2q at module unload
 */
void l3l2q_debugfs_exit(void)
{
	debugfs_remove(l3l2q_debugfs_root);
}
