// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_devdbg.c - /sys/kernel/debug/l3l2q/l3l2q<N>/, one directory per
 * bound device:
 *
 *   state   the host's parameters as published in the directory, the
 *           device's line (read once, only printed), its liveness, the
 *           slots and the event counts
 *   mem     the whole device memory, mmap()able (l3l2q_devmap.c)
 *
 * Both go at removal, before the memory does; debugfs waits for readers
 * of state, and an open mem file holds the device state.
 */
#include <linux/debugfs.h>
#include <linux/genalloc.h>
#include <linux/pci.h>
#include <linux/seq_file.h>

#include "l3l2q_pci.h"

static const char *const l3l2q_devdbg_slot_names[] = {
	[L3L2Q_PCI_SLOT_FREE]		= "free",
	[L3L2Q_PCI_SLOT_RESERVED]	= "reserved",
	[L3L2Q_PCI_SLOT_LIVE]		= "live",
	[L3L2Q_PCI_SLOT_CLOSED]		= "closed",
};

static void l3l2q_devdbg_slots(struct seq_file *m, struct l3l2q_pci_dev *pd)
{
	const struct l3l2q_pci_slot *slot;
	unsigned int i, used = 0;

	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		slot = &pd->slots[i];
		if (slot->state == L3L2Q_PCI_SLOT_FREE)
			continue;
		used++;
		seq_printf(m, "slot %u: %s gen %u vector %u offset %llu bytes %llu region %llu%s\n",
			   i, l3l2q_devdbg_slot_names[slot->state],
			   slot->generation, slot->vector, slot->offset,
			   slot->bytes, slot->region_id,
			   slot->l2_dead ? " l2_dead" : "");
	}
	seq_printf(m, "slots_used: %u\n", used);
	seq_printf(m, "mem_free: %zu\n", gen_pool_avail(pd->pool));
}

static int l3l2q_devdbg_show(struct seq_file *m, void *unused)
{
	struct l3l2q_pci_dev *pd = m->private;
	struct l3l2q_pci_devline dl;
	unsigned int i;

	mutex_lock(&pd->lock);
	seq_printf(m, "node: /dev/%s\n", pd->name);
	seq_printf(m, "pci: %s\n", pd->pdev ? pci_name(pd->pdev) : "-");
	seq_printf(m, "gone: %d\n", pd->dev.gone);
	seq_printf(m, "mem_bytes: %llu\n", pd->mem_bytes);
	seq_printf(m, "epoch: %#llx\n", pd->epoch);
	seq_printf(m, "host_peer_id: %u\n", pd->host_peer_id);
	seq_printf(m, "nr_vectors: %u\n", pd->nr_vectors);
	seq_printf(m, "heartbeat_ms: %u\n", pd->heartbeat_ms);
	if (!pd->dev.gone) {
		l3l2q_devmem_read_devline(pd, &dl);
		seq_printf(m, "dev_magic: %#x\n", dl.magic);
		seq_printf(m, "dev_state: %u\n", dl.state);
		seq_printf(m, "dev_epoch: %#llx\n", dl.epoch);
		seq_printf(m, "dev_heartbeat: %llu\n", dl.heartbeat);
		seq_printf(m, "dev_peer_id: %u\n", dl.peer_id);
		seq_printf(m, "dev_features: %#x\n", dl.features);
		seq_printf(m, "dev_serving: %d\n", dl.serving);
	}
	seq_printf(m, "live: %d\n", pd->live);
	seq_printf(m, "missed: %u\n", pd->missed);
	seq_printf(m, "deaths: %lld\n", atomic64_read(&pd->nr_deaths));
	seq_printf(m, "death: %s\n", pd->death ?: "-");
	seq_printf(m, "dead_after: %u\n", pd->dead_after);
	seq_printf(m, "checks: %lld\n", atomic64_read(&pd->nr_checks));
	seq_printf(m, "letgo: %lld\n", atomic64_read(&pd->nr_letgo));
	seq_printf(m, "reclaimed: %lld\n", atomic64_read(&pd->nr_reclaimed));
	seq_printf(m, "doorbells: %lld\n", atomic64_read(&pd->nr_doorbells));
	seq_printf(m, "doorbells_skipped: %lld\n",
		   atomic64_read(&pd->nr_doorbells_skipped));
	for (i = 0; i < pd->nr_vectors; i++)
		seq_printf(m, "irqs_v%u: %lld\n", i,
			   atomic64_read(&pd->vecs[i].count));
	l3l2q_devdbg_slots(m, pd);
	mutex_unlock(&pd->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(l3l2q_devdbg);

void l3l2q_devdbg_add(struct l3l2q_pci_dev *pd)
{
	pd->dbg = debugfs_create_dir(pd->name, l3l2q_debugfs_dir());
	debugfs_create_file("state", 0400, pd->dbg, pd, &l3l2q_devdbg_fops);
	/* Unproxied: its open holds the device state, its mmap outlives it. */
	debugfs_create_file_unsafe("mem", 0600, pd->dbg, pd,
				   &l3l2q_devmap_mem_fops);
}

/* Returns once no reader is in state's show() and no open is under way. */
void l3l2q_devdbg_remove(struct l3l2q_pci_dev *pd)
{
	debugfs_remove(pd->dbg);
	pd->dbg = NULL;
}
