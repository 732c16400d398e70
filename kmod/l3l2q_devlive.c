// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_devlive.c - is the device alive, and which of its regions does it
 * still use?
 *
 * The ivshmem server tells QEMU when the device process disconnects, but
 * nothing reaches the guest.  So the device proves it lives through the
 * directory (uapi/l3l2q.h, "Device memory"): it increments the heartbeat
 * of its line at least every heartbeat_ms, which the host published.  The
 * host checks every heartbeat_ms (a delayed work), reading the line once
 * per check:
 *
 *   - a valid line (magic, this epoch) with state DEAD: the device died;
 *   - the device is live once its heartbeat was seen moving with a valid
 *     LIVE line; after that, L3L2Q_DIR_DEAD_BEATS checks in a row without
 *     a move (or without a valid LIVE line) and it is dead.
 *
 * Death: every L2 role of the device's regions dies (l3l2q_role_died()),
 * so every sleeper of their L3 roles wakes with -ECONNRESET, and every
 * closed slot is given back.  Bound: at most heartbeat_ms *
 * (L3L2Q_DIR_DEAD_BEATS + 1) after the device's last beat, plus the delay
 * of the work; at once when the device stores DEAD and interrupts on
 * vector 0 (l3l2q_devlive_check_now()).  Vector 0 runs the same checks
 * but counts no missed beat, so a chatty device cannot hasten its death.
 * Regions made while the line says DEAD die at the next check.
 *
 * A device that was never seen live (no device process yet) is not dead:
 * its regions wait for it, their sleepers polled for or not as its
 * feature word says.  A dead device comes back to life when its
 * heartbeat moves again; regions it died for stay dead (their L2 state
 * word says DEAD, and a device must not touch such a region again).
 *
 * Each check also finds the regions the device let go (their L2 state
 * word, read once, is DEAD: the device ended its side, e.g. after a STOP
 * drain) - their L2 role dies without its abort flag - and gives back the
 * closed slots the device no longer writes (l3l2q_devmem_reclaim_locked()).
 *
 * The default period is generous: a device process on a loaded host that
 * misses a beat or two is not declared dead; ten missed in a row are.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/printk.h>
#include <linux/workqueue.h>

#include "l3l2q_pci.h"

static unsigned int l3l2q_heartbeat_ms = 1000;
module_param_named(heartbeat_ms, l3l2q_heartbeat_ms, uint, 0644);
MODULE_PARM_DESC(heartbeat_ms,
		 "Device heartbeat period, published in the directory when a device is bound, in ms; 10 periods without a beat and the device is dead");

/* The period a device bound now gets, sane whatever the parameter says. */
u32 l3l2q_devlive_period_ms(void)
{
	return clamp(READ_ONCE(l3l2q_heartbeat_ms), 10u, 600000u);
}

/* A region whose L2 role dies once pd->lock is dropped. */
struct l3l2q_devlive_death {
	struct l3l2q_region *r;		/* a reference */
	bool abort;
};

/* Mark @slot's L2 dead and, if it still has a region, take it along. */
static void l3l2q_devlive_doom(struct l3l2q_pci_dev *pd,
			       struct l3l2q_pci_slot *slot,
			       struct l3l2q_devlive_death *deaths,
			       unsigned int *n, bool abort)
{
	unsigned long flags;

	lockdep_assert_held(&pd->lock);
	slot->l2_dead = true;
	spin_lock_irqsave(&pd->slot_lock, flags);
	/* A region whose last reference is going is being retired. */
	if (slot->r && kref_get_unless_zero(&slot->r->ref)) {
		deaths[*n].r = slot->r;
		deaths[*n].abort = abort;
		(*n)++;
	}
	spin_unlock_irqrestore(&pd->slot_lock, flags);
}

/* The device died: every region's L2 role with it. */
static unsigned int l3l2q_devlive_died_locked(struct l3l2q_pci_dev *pd,
					      const char *why,
					      struct l3l2q_devlive_death *deaths)
{
	struct l3l2q_pci_slot *slot;
	bool news = pd->live;
	unsigned int n = 0;

	for (slot = pd->slots; slot < pd->slots + L3L2Q_DIR_SLOTS; slot++) {
		if (slot->state == L3L2Q_PCI_SLOT_FREE || slot->l2_dead)
			continue;
		news = true;
		l3l2q_devlive_doom(pd, slot, deaths, &n, true);
	}
	if (news) {
		dev_info(&pd->pdev->dev, "%s: device dead: %s\n", pd->name,
			 why);
		pd->death = why;
		pd->dead_after = pd->missed;
		atomic64_inc(&pd->nr_deaths);
	}
	pd->live = false;
	pd->missed = 0;
	return n;
}

/* Regions whose L2 state word the device set DEAD: it let them go. */
static unsigned int l3l2q_devlive_letgo_locked(struct l3l2q_pci_dev *pd,
					       struct l3l2q_devlive_death *deaths)
{
	struct l3l2q_pci_slot *slot;
	unsigned int n = 0;

	for (slot = pd->slots; slot < pd->slots + L3L2Q_DIR_SLOTS; slot++) {
		if (slot->state != L3L2Q_PCI_SLOT_LIVE || slot->l2_dead ||
		    l3l2q_devmem_l2_state(pd, slot) != L3L2Q_ROLE_DEAD)
			continue;
		atomic64_inc(&pd->nr_letgo);
		l3l2q_devlive_doom(pd, slot, deaths, &n, false);
	}
	return n;
}

/*
 * One check.  @beat: a periodic one, which counts missed beats.  Returns
 * whether the device is still bound.
 */
static bool l3l2q_devlive_run(struct l3l2q_pci_dev *pd, bool beat)
{
	struct l3l2q_devlive_death deaths[L3L2Q_DIR_SLOTS];
	struct l3l2q_pci_devline dl;
	const char *death = NULL;
	unsigned int i, n = 0;

	mutex_lock(&pd->lock);
	if (pd->dev.gone) {
		mutex_unlock(&pd->lock);
		return false;
	}
	atomic64_inc(&pd->nr_checks);
	l3l2q_devmem_read_devline(pd, &dl);
	if (dl.magic == L3L2Q_DIR_DEV_MAGIC && dl.epoch == pd->epoch &&
	    dl.state == L3L2Q_DEV_DEAD) {
		death = "it stored DEAD";
	} else if (!beat) {
		/* Vector 0: no beat is counted between periodic checks. */
	} else if (dl.serving &&
		   (!pd->beat_seen || dl.heartbeat != pd->last_beat)) {
		/* Live from its second reading on: the beat moved. */
		if (pd->beat_seen && !pd->live)
			dev_info(&pd->pdev->dev,
				 "%s: device live (peer id %u, features %#x)\n",
				 pd->name, dl.peer_id, dl.features);
		pd->live = pd->beat_seen;
		pd->beat_seen = true;
		pd->last_beat = dl.heartbeat;
		pd->missed = 0;
	} else if (pd->live && ++pd->missed >= L3L2Q_DIR_DEAD_BEATS) {
		death = "its heartbeat stopped";
	}

	if (death)
		n = l3l2q_devlive_died_locked(pd, death, deaths);
	else if (dl.serving)
		n = l3l2q_devlive_letgo_locked(pd, deaths);
	l3l2q_devmem_reclaim_locked(pd, death);
	mutex_unlock(&pd->lock);

	/* Outside pd->lock: the last put may free the region (retire). */
	for (i = 0; i < n; i++) {
		l3l2q_role_died(deaths[i].r, L3L2Q_END_L2, deaths[i].abort);
		l3l2q_region_put(deaths[i].r);
	}
	return true;
}

static void l3l2q_devlive_periodic(struct work_struct *work)
{
	struct l3l2q_pci_dev *pd = container_of(to_delayed_work(work),
						struct l3l2q_pci_dev, check);

	if (l3l2q_devlive_run(pd, true))
		queue_delayed_work(system_wq, &pd->check,
				   msecs_to_jiffies(pd->heartbeat_ms));
}

static void l3l2q_devlive_event(struct work_struct *work)
{
	l3l2q_devlive_run(container_of(work, struct l3l2q_pci_dev, event),
			  false);
}

void l3l2q_devlive_init(struct l3l2q_pci_dev *pd)
{
	INIT_DELAYED_WORK(&pd->check, l3l2q_devlive_periodic);
	INIT_WORK(&pd->event, l3l2q_devlive_event);
}

/* The directory is formatted: start watching. */
void l3l2q_devlive_start(struct l3l2q_pci_dev *pd)
{
	queue_delayed_work(system_wq, &pd->check, 0);
}

/* Vector 0: the device says its state or the directory changed.  Any context. */
void l3l2q_devlive_check_now(struct l3l2q_pci_dev *pd)
{
	schedule_work(&pd->event);
}

/* Removal, after pd->dev.gone is set: the checks stop for good. */
void l3l2q_devlive_stop(struct l3l2q_pci_dev *pd)
{
	cancel_delayed_work_sync(&pd->check);
	cancel_work_sync(&pd->event);
}

/*
 * Removal, after pd->dev.gone is set and seen by everyone: every region's
 * L2 role dies, and every sleeper of its L3 role wakes - even where the L2
 * role had died before - to find the memory gone (-ENODEV).
 */
void l3l2q_devlive_kill_all(struct l3l2q_pci_dev *pd)
{
	struct l3l2q_devlive_death deaths[L3L2Q_DIR_SLOTS];
	struct l3l2q_pci_slot *slot;
	unsigned int i, n = 0;

	mutex_lock(&pd->lock);
	for (slot = pd->slots; slot < pd->slots + L3L2Q_DIR_SLOTS; slot++)
		l3l2q_devlive_doom(pd, slot, deaths, &n, true);
	mutex_unlock(&pd->lock);

	for (i = 0; i < n; i++) {
		l3l2q_role_died(deaths[i].r, L3L2Q_END_L2, true);
		l3l2q_wake_role(deaths[i].r, L3L2Q_END_L3);
		l3l2q_region_put(deaths[i].r);
	}
}
