// SPDX-License-Identifier: MIT
/*
 * directory.c - the device's side of the directory at the start of the
 * shared memory (uapi/l3l2q.h, "Device memory"): read the host's line and
 * the slot table, write our own line, and decide per slot what to serve,
 * stop or let go.
 *
 * Nothing the host wrote is trusted: every word is read once into a copy,
 * the copy is validated against the memory we actually mapped, and only
 * the copy is used.  A slot is read like a seqlock: state (acquire), then
 * the fields, then state and generation again; a slot that changed under
 * us is read again at the next scan.
 *
 * Per slot (struct region), the generation decides: a new generation is a
 * new region.  LIVE and valid -> serve it; CLOSED -> let it go once (its
 * L2 state word DEAD, then vector 0); FREE or a new generation while
 * serving -> forget it without writing (the memory may be reused).  A
 * device that finds its own line from this epoch already written is an
 * earlier incarnation's successor (it was killed and started again): the
 * regions LIVE at that moment lost their L2 with it, so they are let go,
 * not served.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "atomic.h"

/* heartbeat_ms outside [1, 60000] is a host bug: beat at this period. */
#define HEARTBEAT_MS_DEFAULT	100u
#define HEARTBEAT_MS_MAX	60000u

static struct l3l2q_dir_host *host_line(struct device *dev)
{
	return (struct l3l2q_dir_host *)dev->mem;
}

static struct l3l2q_dir_dev *dev_line(struct device *dev)
{
	return (struct l3l2q_dir_dev *)(dev->mem + sizeof(struct l3l2q_dir_host));
}

static struct l3l2q_dir_slot *slot_at(struct device *dev, unsigned int i)
{
	return (struct l3l2q_dir_slot *)(dev->mem + 2 * L3L2Q_LINE_BYTES) + i;
}

/* The host's line, validated; NULL, or what is wrong with it. */
static const char *read_host(struct device *dev, struct l3l2q_dir_host *h)
{
	struct l3l2q_dir_host *p = host_line(dev);

	memset(h, 0, sizeof(*h));
	/* Acquire: pairs with the host's release of magic, stored last. */
	h->magic = l3l2q_load_acquire_u32(&p->magic);
	if (h->magic != L3L2Q_DIR_MAGIC)
		return "magic is not L3L2Q_DIR_MAGIC";
	h->version = l3l2q_load_once_u32(&p->version);
	h->mem_bytes = l3l2q_load_once_u64(&p->mem_bytes);
	h->epoch = l3l2q_load_once_u64(&p->epoch);
	h->nr_slots = l3l2q_load_once_u32(&p->nr_slots);
	h->host_peer_id = l3l2q_load_once_u32(&p->host_peer_id);
	h->nr_vectors = l3l2q_load_once_u32(&p->nr_vectors);
	h->heartbeat_ms = l3l2q_load_once_u32(&p->heartbeat_ms);
	if (h->version != L3L2Q_DIR_VERSION)
		return "version is not L3L2Q_DIR_VERSION";
	if (h->nr_slots != L3L2Q_DIR_SLOTS)
		return "nr_slots is not L3L2Q_DIR_SLOTS";
	if (h->mem_bytes != dev->mem_bytes)
		return "mem_bytes differs from the shared memory's size";
	if (h->host_peer_id > IVS_MAX_ID)
		return "host_peer_id is above 65535";
	if (h->nr_vectors > 2048)
		return "nr_vectors is above 2048 (the MSI-X limit)";
	return NULL;
}

/*
 * Slot @i: 0 and a valid copy in @v; -EAGAIN while it changes; -EINVAL
 * with @why for a slot whose fields make no region (@v->state and
 * @v->generation are still set, and @*in_bounds says whether its
 * control block lies inside the memory, where a let-go may be written).
 */
static int read_slot(struct device *dev, unsigned int i, __u32 host_vectors,
		     struct slot_view *v, const char **why, int *in_bounds)
{
	struct l3l2q_dir_slot *p = slot_at(dev, i);
	__u64 depth, in_arena, out_arena, end;
	__u32 state, gen;

	memset(v, 0, sizeof(*v));
	*why = NULL;
	*in_bounds = 0;
	/* Acquire: pairs with the host's release of state, stored last. */
	v->state = l3l2q_load_acquire_u32(&p->state);
	v->generation = l3l2q_load_once_u32(&p->generation);
	v->kind = l3l2q_load_once_u32(&p->kind);
	v->vector = l3l2q_load_once_u32(&p->vector);
	v->region_offset = l3l2q_load_once_u64(&p->region_offset);
	v->region_bytes = l3l2q_load_once_u64(&p->region_bytes);
	depth = l3l2q_load_once_u64(&p->depth);
	in_arena = l3l2q_load_once_u64(&p->input_arena_bytes);
	out_arena = l3l2q_load_once_u64(&p->output_arena_bytes);
	v->start_pos = l3l2q_load_once_u64(&p->start_pos);
	/* The field loads above complete before the re-check below. */
	atomic_thread_fence(memory_order_acquire);
	gen = l3l2q_load_once_u32(&p->generation);
	state = l3l2q_load_once_u32(&p->state);
	if (gen != v->generation || state != v->state)
		return -EAGAIN;
	if (v->state == L3L2Q_SLOT_FREE)
		return 0;
	if (v->state != L3L2Q_SLOT_LIVE && v->state != L3L2Q_SLOT_CLOSED) {
		*why = "state is not FREE, LIVE or CLOSED";
		return -EINVAL;
	}
	*in_bounds = v->region_offset >= L3L2Q_DIR_BYTES &&
		     v->region_offset % L3L2Q_REGION_ALIGN == 0 &&
		     v->region_offset <= dev->mem_bytes &&
		     dev->mem_bytes - v->region_offset >= L3L2Q_CTRL_BYTES;
	if (v->kind != L3L2Q_KIND_QUEUE) {
		*why = "kind: only L3L2Q_KIND_QUEUE regions are served";
		return -EINVAL;
	}
	if (l3l2q_layout(depth, in_arena, out_arena, &v->layout) !=
	    L3L2Q_LAYOUT_OK || !l3l2q_region_layout(&v->layout, &v->off)) {
		*why = "depth or arena sizes make no queue layout";
		return -EINVAL;
	}
	if (!*in_bounds || v->region_bytes != v->off.total_bytes ||
	    !l3l2q__add_ok(v->region_offset, v->region_bytes, &end) ||
	    end > dev->mem_bytes) {
		*why = "region_offset/region_bytes: not an aligned region of "
		       "its geometry's size inside the memory";
		return -EINVAL;
	}
	if (v->vector >= DEV_MAX_VECTORS ||
	    (host_vectors ? v->vector >= host_vectors : v->vector != 0)) {
		*why = "vector is not one of the host's vectors";
		return -EINVAL;
	}
	return 0;
}

void dev_line_write(struct device *dev, __u32 state)
{
	struct l3l2q_dir_dev *p = dev_line(dev);
	unsigned int i;

	dev->line.magic = L3L2Q_DIR_DEV_MAGIC;
	dev->line.state = state;
	dev->line.epoch = dev->epoch;
	dev->line.dev_peer_id = (__u32)dev->own_id;
	dev->line.features = dev->features;
	l3l2q_store_once_u64(&p->epoch, dev->line.epoch);
	l3l2q_store_once_u32(&p->dev_peer_id, dev->line.dev_peer_id);
	l3l2q_store_once_u32(&p->features, dev->line.features);
	for (i = 0; i < sizeof(p->resv) / sizeof(p->resv[0]); i++)
		l3l2q_store_once_u64(&p->resv[i], 0);
	l3l2q_store_once_u64(&p->heartbeat, atomic_load(&dev->heartbeat));
	/*
	 * Release: a host that sees the state (acquire) sees the line.  The
	 * magic first, so a line that says LIVE or DEAD is always set up.
	 */
	l3l2q_store_release_u32(&p->magic, L3L2Q_DIR_DEV_MAGIC);
	l3l2q_store_release_u32(&p->state, state);
	/*
	 * Before the slots are read again: pairs with the host's fence
	 * between storing a slot CLOSED and reading this line (uapi), so
	 * either we see CLOSED or the host sees us serving.
	 */
	l3l2q_full_fence();
}

/* Our line as the memory has it now still says what we wrote? */
static int line_intact(struct device *dev)
{
	struct l3l2q_dir_dev *p = dev_line(dev);

	return l3l2q_load_once_u32(&p->magic) == dev->line.magic &&
	       l3l2q_load_once_u32(&p->state) == dev->line.state &&
	       l3l2q_load_once_u64(&p->epoch) == dev->line.epoch &&
	       l3l2q_load_once_u32(&p->dev_peer_id) == dev->line.dev_peer_id &&
	       l3l2q_load_once_u32(&p->features) == dev->line.features;
}

/* Stop every region's thread and wait for it. */
static void stop_all(struct device *dev, enum region_stop why)
{
	unsigned int i;

	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		if (dev->regions[i].state == REG_SERVING)
			region_stop(&dev->regions[i], why);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		if (dev->regions[i].state != REG_SERVING)
			continue;
		/* A wait in the kernel ends within the region's slice. */
		while (!atomic_load(&dev->regions[i].done)) {
			region_wake(&dev->regions[i]);
			usleep(1000);
		}
		region_reap(&dev->regions[i]);
	}
}

void dev_dir_detach(struct device *dev, enum region_stop why)
{
	unsigned int i;

	stop_all(dev, why);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++) {
		dev->regions[i].state = REG_IDLE;
		dev->regions[i].has_gen = 0;
	}
	atomic_store(&dev->beating, 0);
	dev->attached = 0;
}

/* A slot we do not serve: say so (its L2 state DEAD) if we may write. */
static void let_go(struct device *dev, struct region *r,
		   const struct slot_view *v, int in_bounds)
{
	r->let_go_done = 1;
	if (!in_bounds)
		return;
	region_let_go(dev, v);
	dev_interrupt_host(dev, 0);
}

static void refuse(struct device *dev, struct region *r,
		   const struct slot_view *v, const char *why, int in_bounds)
{
	devsim_err_msg("slot %u generation %u: not served: %s", r->index,
		       v->generation, why);
	r->state = REG_REFUSED;
	let_go(dev, r, v, in_bounds);
}

static void scan_slot(struct device *dev, struct region *r)
{
	struct slot_view v;
	const char *why;
	int ret, same, in_bounds;

	ret = read_slot(dev, r->index, dev->host_vectors, &v, &why,
			&in_bounds);
	if (ret == -EAGAIN)
		return;
	same = r->has_gen && v.generation == r->generation;
	if (r->state == REG_SERVING) {
		if (same && !ret && v.state == L3L2Q_SLOT_LIVE)
			return;
		/* The reap (device.c) takes it from here. */
		region_stop(r, same && v.state == L3L2Q_SLOT_CLOSED ?
			       STOP_LET_GO : STOP_FORGET);
		return;
	}
	if (!same) {
		r->state = REG_IDLE;
		r->generation = v.generation;
		r->has_gen = 1;
		r->let_go_done = 0;
	}
	switch (v.state) {
	case L3L2Q_SLOT_LIVE:
		if (r->state != REG_IDLE || r->let_go_done)
			return;
		if (ret) {
			refuse(dev, r, &v, why, in_bounds);
			return;
		}
		why = region_start(r, &v);
		if (why)
			refuse(dev, r, &v, why, in_bounds);
		return;
	case L3L2Q_SLOT_CLOSED:
		if (!r->let_go_done)
			let_go(dev, r, &v, in_bounds);
		r->state = REG_IDLE;
		return;
	case L3L2Q_SLOT_FREE:
		r->state = REG_IDLE;
		return;
	default:
		if (!r->let_go_done)
			devsim_err_msg("slot %u: %s", r->index, why);
		r->let_go_done = 1;
		return;
	}
}

/* A new epoch (or the first): forget the old regions, write our line. */
static void attach(struct device *dev, const struct l3l2q_dir_host *h)
{
	struct l3l2q_dir_dev *p = dev_line(dev);
	struct slot_view v;
	struct region *r;
	const char *why;
	unsigned int i;
	int restart, in_bounds;

	if (dev->attached)
		devsim_msg("host epoch %llu -> %llu: forgetting every region",
			   (unsigned long long)dev->epoch,
			   (unsigned long long)h->epoch);
	dev_dir_detach(dev, STOP_FORGET);
	restart = l3l2q_load_once_u32(&p->magic) == L3L2Q_DIR_DEV_MAGIC &&
		  l3l2q_load_once_u64(&p->epoch) == h->epoch;
	dev->epoch = h->epoch;
	dev->host_vectors = h->nr_vectors;
	/* Whatever the memory held: the heartbeat only has to move on. */
	atomic_store(&dev->heartbeat, l3l2q_load_once_u64(&p->heartbeat) + 1);
	dev_line_write(dev, L3L2Q_DEV_LIVE);
	dev->attached = 1;
	atomic_store(&dev->beating, 1);
	devsim_msg("serving host epoch %llu as peer %d (%s%s)",
		   (unsigned long long)h->epoch, dev->own_id,
		   dev->can_kick ? "kicks" : "polled",
		   restart ? "; restarted: regions LIVE now are let go" : "");
	for (i = 0; restart && i < L3L2Q_DIR_SLOTS; i++) {
		r = &dev->regions[i];
		if (read_slot(dev, i, h->nr_vectors, &v, &why, &in_bounds) ||
		    v.state != L3L2Q_SLOT_LIVE)
			continue;
		r->generation = v.generation;
		r->has_gen = 1;
		r->state = REG_REFUSED;
		let_go(dev, r, &v, in_bounds);
	}
	dev_interrupt_host(dev, 0);
}

void dev_dir_scan(struct device *dev)
{
	struct l3l2q_dir_host h;
	const char *bad = read_host(dev, &h);
	unsigned int i, ms;
	int old;

	if (bad) {
		if (dev->attached) {
			devsim_err_msg("the host's directory line is invalid "
				       "(%s): stopping every region", bad);
			dev_dir_detach(dev, STOP_FORGET);
		}
		return;
	}
	ms = h.heartbeat_ms;
	if (!ms || ms > HEARTBEAT_MS_MAX)
		ms = HEARTBEAT_MS_DEFAULT;
	atomic_store(&dev->heartbeat_ms, ms);
	old = atomic_exchange(&dev->host_id, (int)h.host_peer_id);
	if (!dev->attached || h.epoch != dev->epoch)
		attach(dev, &h);
	else if (!line_intact(dev))
		dev_line_write(dev, L3L2Q_DEV_LIVE);
	/* A new host peer: interrupts sent to the old one were lost. */
	if (old != (int)h.host_peer_id)
		for (i = 0; i < dev->host_vectors && i < DEV_MAX_VECTORS; i++)
			dev_interrupt_host(dev, i);
	for (i = 0; i < L3L2Q_DIR_SLOTS; i++)
		scan_slot(dev, &dev->regions[i]);
}
