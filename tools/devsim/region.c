// SPDX-License-Identifier: MIT
/*
 * region.c - one region the device serves: lib/core's L2 endpoint over
 * the region's bytes in the shared memory, the env that wakes it, and
 * devsim's serving code (devsim_run()) in a thread of its own.
 *
 * The env, by mode:
 *   kicks (ivshmem-doorbell): the endpoint uses the control block and
 *     follows the need-wakeup protocol.  env.kick interrupts the host on
 *     the slot's vector (its MSI-X); env.sleep waits on the region's own
 *     eventfd, which the main thread writes when the host rings our
 *     doorbell on that vector.  If the host's L3 does not announce
 *     L3L2Q_FEAT_KICKS, a sleep lasts at most --poll-us.
 *   --plain: the control block (role states), but no interrupt exists:
 *     nothing sleeps, env.relax backs off from spinning to short sleeps.
 *   --upstream-only: mem.ctrl = NULL and env.kick = NULL, as device code
 *     written for the upstream ABI: it polls the same way.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "atomic.h"

/* A region thread notices a stop request at the latest after this. */
#define REGION_SLICE_NS		(100ull * 1000000ull)
/* Polling: spin this many relax calls, then sleep from RELAX_FIRST_NS up. */
#define RELAX_SPINS		64u
#define RELAX_FIRST_NS		2000ull

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

static __u32 *ctrl_word(const struct region *r, unsigned int off)
{
	return (__u32 *)(r->dev->mem + r->offset + r->view.off.ctrl_offset +
			 off);
}

static __u64 env_now(void *ctx)
{
	(void)ctx;
	return devsim_now_ns();
}

static void env_relax_spin(void *ctx)
{
	(void)ctx;
	cpu_relax();
}

static void sleep_ns(__u64 ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/*
 * Polling for a peer that never hears of our waits: spin a little, then
 * sleep, doubling up to --poll-us.  A relax long after the previous one
 * belongs to a new wait and starts over.
 */
static void env_relax_poll(void *ctx)
{
	struct region *r = ctx;
	__u64 now = devsim_now_ns(), cap = r->dev->o->poll_ns;

	if (now - r->relax_last_ns > 2 * cap + 1000000ull)
		r->relax_sleep_ns = 0;
	if (r->relax_sleep_ns < RELAX_SPINS) {
		r->relax_sleep_ns++;	/* counts spins until RELAX_SPINS */
		cpu_relax();
	} else {
		if (r->relax_sleep_ns == RELAX_SPINS)
			r->relax_sleep_ns = RELAX_FIRST_NS;
		sleep_ns(r->relax_sleep_ns);
		r->relax_sleep_ns *= 2;
		if (r->relax_sleep_ns > cap)
			r->relax_sleep_ns = cap;
	}
	r->relax_last_ns = devsim_now_ns();
}

static int stopping(const struct region *r)
{
	return atomic_load_explicit(&r->stop, memory_order_relaxed) != STOP_NONE;
}

/* W4 on the region's eventfd: a doorbell written before we got here stays. */
static int env_sleep(void *ctx, __u32 counter, __s32 seen, __u64 deadline_ns)
{
	struct region *r = ctx;
	struct pollfd p = { .fd = r->wake_fd, .events = POLLIN };
	__u64 now = devsim_now_ns(), left;
	struct timespec ts;
	__u64 val;
	int n;

	(void)counter;
	(void)seen;
	if (stopping(r))
		return -ESHUTDOWN;
	left = deadline_ns > now ? deadline_ns - now : 0;
	/* Read once per decision: does the host's L3 kick us at all? */
	if (!(l3l2q_load_once_u32(ctrl_word(r, L3L2Q_CTRL_L3_FEATURES)) &
	      L3L2Q_FEAT_KICKS) && left > r->dev->o->poll_ns)
		left = r->dev->o->poll_ns;
	ts.tv_sec = (time_t)(left / 1000000000ull);
	ts.tv_nsec = (long)(left % 1000000000ull);
	n = ppoll(&p, 1, &ts, NULL);
	if (n < 0 && errno != EINTR)
		return -errno;
	if (n > 0 && read(r->wake_fd, &val, sizeof(val)) < 0 && errno != EAGAIN)
		return -errno;
	if (stopping(r))
		return -ESHUTDOWN;
	return n > 0 ? 0 : -ETIMEDOUT;
}

/* P4: the host's L3 waits for us: interrupt it on the slot's vector. */
static void env_kick(void *ctx)
{
	struct region *r = ctx;

	dev_interrupt_host(r->dev, r->vector);
}

/* The region's control block header must describe what the slot says. */
static const char *check_ctrl(const struct region *r)
{
	const struct l3l2q_ctrl_hdr *p = (const struct l3l2q_ctrl_hdr *)
		ctrl_word(r, L3L2Q_CTRL_HDR);
	struct l3l2q_ctrl_hdr h;

	/* Written once before the slot went LIVE (release, acquired). */
	memcpy(&h, p, sizeof(h));
	if (h.magic != L3L2Q_CTRL_MAGIC || h.version != L3L2Q_CTRL_VERSION ||
	    h.queue_magic_version != L3L2Q_QUEUE_MAGIC_VERSION)
		return "control block: magic, version or queue_magic_version";
	if (h.depth != r->view.layout.depth ||
	    h.input_arena_bytes != r->view.layout.input_arena_bytes ||
	    h.output_arena_bytes != r->view.layout.output_arena_bytes ||
	    h.start_pos != r->view.start_pos)
		return "control block: geometry or start_pos differs from the slot's";
	if (h.flags || h.resv0 || h.resv1)
		return "control block: flags or resv not 0";
	return NULL;
}

static void *region_main(void *arg)
{
	struct region *r = arg;
	struct device *dev = r->dev;
	__u64 one = 1;
	int why;

	r->result = devsim_run(&r->d);
	devsim_print_stats(&r->d);
	devsim_serve_stop(&r->d);
	why = atomic_load(&r->stop);
	/*
	 * The L2 role of this region ends: with a control block the host
	 * reads that here (and the slot is let go), as after a stop to let
	 * go.  A region forgotten for a new epoch is not ours to write.
	 */
	if (why != STOP_FORGET && (dev->use_ctrl || why == STOP_LET_GO)) {
		region_let_go(dev, &r->view);
		r->let_go_done = 1;
		dev_interrupt_host(dev, r->vector);
	}
	if (r->result && r->result != DEVSIM_STOPPED)
		devsim_msg("%sno longer served (status %d)", r->tag, r->result);
	atomic_store(&r->done, 1);
	if (write(dev->reap_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: a reap is pending anyway. */
	}
	return NULL;
}

static const char *start_failed(struct region *r, const char *why)
{
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	r->wake_fd = -1;
	free(r->l2);
	r->l2 = NULL;
	return why;
}

const char *region_start(struct region *r, const struct slot_view *v)
{
	static char buf[L3L2Q_DIR_SLOTS][L3L2Q_ERROR_MSG_BYTES + 32];
	struct device *dev = r->dev;
	const struct opts *o = dev->o;
	unsigned char *base = dev->mem + v->region_offset;
	struct l3l2q_mem mem = {
		.ctrl = dev->use_ctrl ? base + v->off.ctrl_offset : NULL,
		.counters = base + v->off.counter_offset,
		.payload = base + v->off.payload_offset,
		.region_id = r->index + 1ull,
	};
	struct l3l2q_env env = { .now_ns = env_now, .ctx = r };
	unsigned int inflight = o->inflight;
	const char *why;
	int ret;

	r->view = *v;
	r->vector = v->vector;
	r->offset = v->region_offset;
	r->wake_fd = -1;
	r->l2 = NULL;
	snprintf(r->tag, sizeof(r->tag), "slot %u gen %u: ", r->index,
		 v->generation);
	if (dev->use_ctrl) {
		why = check_ctrl(r);
		if (why)
			return why;
		/* One L2 per region, ever: claim the role atomically. */
		if (!l3l2q_cas_u32(ctrl_word(r, L3L2Q_CTRL_L2_STATE),
				   L3L2Q_ROLE_ABSENT, L3L2Q_ROLE_LIVE))
			return "its L2 role is taken already";
	}
	if (dev->can_kick) {
		env.sleep = env_sleep;
		env.kick = env_kick;
		env.relax = env_relax_spin;
	} else {
		env.relax = env_relax_poll;
	}
	if (inflight > v->layout.depth)
		inflight = (unsigned int)v->layout.depth;
	r->l2 = aligned_alloc(64, (sizeof(*r->l2) + 63) / 64 * 64);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!r->l2 || r->wake_fd < 0)
		return start_failed(r, "out of memory or eventfd");
	ret = l3l2q_l2_init(r->l2, &mem, &v->layout, v->start_pos, inflight,
			    &env);
	if (ret) {
		snprintf(buf[r->index], sizeof(buf[r->index]), "L2 init: %s",
			 l3l2q_ep_last_error(&r->l2->ep)->message);
		return start_failed(r, buf[r->index]);
	}
	memset(&r->d, 0, sizeof(r->d));
	r->d.l2 = r->l2;
	r->d.tag = r->tag;
	r->d.inflight = inflight;
	r->d.workers = o->workers;
	r->d.slice_ns = REGION_SLICE_NS;
	r->d.input_wake = dev->can_kick ? INPUT_WAKE_EVENTFD : INPUT_WAKE_POLL;
	r->d.poll_ns = o->poll_ns;
	r->d.stop = &r->stop;
	if (dev->can_kick)
		r->d.peer_features = ctrl_word(r, L3L2Q_CTRL_L3_FEATURES);
	devsim_serve_prepare(&r->d);
	r->d.wake_fd = r->wake_fd;
	r->d.drain_wake = 1;
	atomic_store(&r->stop, STOP_NONE);
	atomic_store(&r->done, 0);
	r->relax_last_ns = 0;
	r->relax_sleep_ns = 0;
	if (devsim_serve_start(&r->d, v->layout.output_arena_bytes)) {
		devsim_serve_stop(&r->d);
		return start_failed(r, "setting up the serving state failed");
	}
	ret = pthread_create(&r->thread, NULL, region_main, r);
	if (ret) {
		devsim_serve_stop(&r->d);
		return start_failed(r, "pthread_create failed");
	}
	r->state = REG_SERVING;
	devsim_msg("%sserving: depth %llu, arenas %llu/%llu bytes at offset "
		   "0x%llx, vector %u, window %u", r->tag,
		   (unsigned long long)v->layout.depth,
		   (unsigned long long)v->layout.input_arena_bytes,
		   (unsigned long long)v->layout.output_arena_bytes,
		   (unsigned long long)v->region_offset, v->vector, inflight);
	return NULL;
}

void region_wake(struct region *r)
{
	__u64 one = 1;

	if (r->state == REG_SERVING && r->wake_fd >= 0 &&
	    write(r->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: saturated, the thread wakes anyway. */
	}
}

void region_stop(struct region *r, enum region_stop why)
{
	int none = STOP_NONE;

	if (r->state != REG_SERVING)
		return;
	atomic_compare_exchange_strong(&r->stop, &none, (int)why);
	region_wake(r);
}

int region_reap(struct region *r)
{
	int why;

	if (r->state != REG_SERVING || !atomic_load(&r->done))
		return 0;
	pthread_join(r->thread, NULL);
	start_failed(r, NULL);
	why = atomic_load(&r->stop);
	if (why == STOP_FORGET) {
		r->state = REG_IDLE;
		r->has_gen = 0;
	} else if (why == STOP_LET_GO) {
		r->state = REG_IDLE;
	} else {
		/* Ended on its own (STOP drained, L3 gone, a bad region). */
		r->state = REG_DONE;
	}
	return 1;
}

void region_let_go(struct device *dev, const struct slot_view *v)
{
	/* The control block is the region's first page (ctrl_offset 0). */
	__u32 *w = (__u32 *)(dev->mem + v->region_offset + L3L2Q_CTRL_L2_STATE);

	/*
	 * The caller checked that the control block lies inside the memory.
	 * Release: everything we published is visible before the host reads
	 * that the L2 role is gone.
	 */
	l3l2q_store_release_u32(w, L3L2Q_ROLE_DEAD);
}
