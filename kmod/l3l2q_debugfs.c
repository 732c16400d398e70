// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_debugfs.c - /sys/kernel/debug/l3l2q/<id>, one file per queue.
 *
 * Each file shows the kernel's copy of the geometry and role states, a
 * snapshot of the shared words (each read once; user space may be changing
 * them, so they are only printed, never believed) and the event counts.
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

static const struct {
	const char *name;
	unsigned int offset;
} l3l2q_debugfs_counters[] = {
	{ "input_tail",		L3L2Q_CTR_INPUT_TAIL },
	{ "input_head",		L3L2Q_CTR_INPUT_HEAD },
	{ "output_tail",	L3L2Q_CTR_OUTPUT_TAIL },
	{ "output_head",	L3L2Q_CTR_OUTPUT_HEAD },
	{ "l3_abort",		L3L2Q_CTR_L3_ABORT },
	{ "l2_abort",		L3L2Q_CTR_L2_ABORT },
};

static int l3l2q_debugfs_show(struct seq_file *m, void *unused)
{
	struct l3l2q_queue *q = m->private;
	u32 state[L3L2Q_NR_ENDS], l3_word, l2_word;
	unsigned int i;

	mutex_lock(&q->lock);
	memcpy(state, q->state, sizeof(state));
	mutex_unlock(&q->lock);

	seq_printf(m, "id: %llu\n", q->id);
	seq_printf(m, "depth: %llu\n", q->layout.depth);
	seq_printf(m, "input_arena_bytes: %llu\n",
		   q->layout.input_arena_bytes);
	seq_printf(m, "output_arena_bytes: %llu\n",
		   q->layout.output_arena_bytes);
	seq_printf(m, "start_pos: %llu\n", q->start_pos);
	seq_printf(m, "flags: %#x\n", q->flags);
	seq_printf(m, "total_bytes: %llu\n", q->off.total_bytes);
	seq_printf(m, "counter_offset: %llu\n", q->off.counter_offset);
	seq_printf(m, "payload_offset: %llu\n", q->off.payload_offset);
	seq_printf(m, "payload_bytes: %llu\n", q->off.payload_bytes);

	seq_printf(m, "l3_state: %s\n", l3l2q_role_state_name(state[0]));
	seq_printf(m, "l2_state: %s\n", l3l2q_role_state_name(state[1]));
	l3_word = READ_ONCE(*l3l2q_state_word(q, L3L2Q_END_L3));
	l2_word = READ_ONCE(*l3l2q_state_word(q, L3L2Q_END_L2));
	seq_printf(m, "shared_l3_state: %u\n", l3_word);
	seq_printf(m, "shared_l2_state: %u\n", l2_word);
	for (i = 0; i < ARRAY_SIZE(l3l2q_debugfs_counters); i++) {
		s32 *word = l3l2q_counter_word(q,
					       l3l2q_debugfs_counters[i].offset);

		seq_printf(m, "%s: %d\n", l3l2q_debugfs_counters[i].name,
			   READ_ONCE(*word));
	}

	seq_printf(m, "peers_created: %lld\n", atomic64_read(&q->nr_peers));
	seq_printf(m, "deaths: %lld\n", atomic64_read(&q->nr_deaths));
	seq_printf(m, "wakes: %lld\n", atomic64_read(&q->nr_wakes));
	seq_printf(m, "kicks: %lld\n", atomic64_read(&q->nr_kicks));
	seq_printf(m, "uring_waits: %lld\n",
		   atomic64_read(&q->nr_uring_queued));
	seq_printf(m, "uring_pending: %lld\n",
		   atomic64_read(&q->nr_uring_pending));
	l3l2q_loopback_show(m, q);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(l3l2q_debugfs);

/*
 * debugfs errors are not the queue's business: a failed creation leaves an
 * ERR_PTR that debugfs_remove() accepts.
 */
void l3l2q_debugfs_add(struct l3l2q_queue *q)
{
	char name[24];

	snprintf(name, sizeof(name), "%llu", q->id);
	q->dbg = debugfs_create_file(name, 0400, l3l2q_debugfs_root, q,
				     &l3l2q_debugfs_fops);
}

/* Returns once no reader is inside l3l2q_debugfs_show() for @q. */
void l3l2q_debugfs_remove(struct l3l2q_queue *q)
{
	debugfs_remove(q->dbg);
}

void l3l2q_debugfs_init(void)
{
	l3l2q_debugfs_root = debugfs_create_dir("l3l2q", NULL);
}

void l3l2q_debugfs_exit(void)
{
	debugfs_remove(l3l2q_debugfs_root);
}
