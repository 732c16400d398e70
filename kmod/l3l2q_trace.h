/* SPDX-License-Identifier: GPL-2.0 */
/*
 * l3l2q_trace.h - the driver's tracepoints, events/l3l2q/ in tracefs
 * (docs/tracing.md).  kmod/l3l2q_trace.c instantiates them
 * (CREATE_TRACE_POINTS); every other file only calls trace_l3l2q_*().
 *
 * Each event records numbers only, copied when it fires: no pointer into
 * the region or the module is kept in the ring buffer, and names are
 * printed from the tables below (__print_symbolic).  A value read from
 * the shared words (a counter, a wake word) is reported as read once, the
 * way debugfs shows them: it may be anything a user wrote.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM l3l2q

#if !defined(L3L2Q_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define L3L2Q_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

#include "l3l2q.h"

/* How a role came to be played (l3l2q_attach). */
#define L3L2Q_TRACE_BY_FILE		0	/* a role file: CREATE, PEER */
#define L3L2Q_TRACE_BY_LOOPBACK		1	/* the in-kernel loopback peer */
#define L3L2Q_TRACE_BY_DEVICE		2	/* a device's own L2 */

/* Why a role died (l3l2q_role_death). */
#define L3L2Q_TRACE_DIED_RELEASE	0	/* its file's last reference */
#define L3L2Q_TRACE_DIED_PEER_EXIT	1	/* the software peer ended */
#define L3L2Q_TRACE_DIED_DEVICE		2	/* the device died or let go */
#define L3L2Q_TRACE_DIED_UNPLUG		3	/* the device was removed */

/* Where a region's memory is (l3l2q_create). */
#define L3L2Q_TRACE_BACKEND_HOST	0	/* /dev/l3l2q, host pages */
#define L3L2Q_TRACE_BACKEND_DEVICE	1	/* a device's memory */

#define l3l2q_trace_role(r)						\
	__print_symbolic(r, { 0, "l3" }, { 1, "l2" })

#define l3l2q_trace_kind(k)						\
	__print_symbolic(k, { L3L2Q_KIND_QUEUE, "queue" },		\
			 { L3L2Q_KIND_CHANNEL, "channel" },		\
			 { L3L2Q_KIND_SIGNALS, "signals" })

#define l3l2q_trace_counter(c)						\
	__print_symbolic(c, { L3L2Q_CTR_INPUT_TAIL, "input_tail" },	\
			 { L3L2Q_CTR_INPUT_HEAD, "input_head" },	\
			 { L3L2Q_CTR_OUTPUT_TAIL, "output_tail" },	\
			 { L3L2Q_CTR_OUTPUT_HEAD, "output_head" })

/* The need-wakeup bit that goes with the counter a role waits on. */
#define l3l2q_trace_bit(c)						\
	__print_symbolic(c, { L3L2Q_CTR_INPUT_TAIL, "INPUT_AVAIL" },	\
			 { L3L2Q_CTR_INPUT_HEAD, "INPUT_SPACE" },	\
			 { L3L2Q_CTR_OUTPUT_TAIL, "OUTPUT_AVAIL" },	\
			 { L3L2Q_CTR_OUTPUT_HEAD, "OUTPUT_SPACE" })

TRACE_EVENT(l3l2q_create,

	TP_PROTO(u64 id, u32 kind, const u64 *geom, u32 backend, u32 flags),

	TP_ARGS(id, kind, geom, backend, flags),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, kind)
		__field(u32, backend)
		__field(u32, flags)
		__array(u64, geom, 3)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->kind = kind;
		__entry->backend = backend;
		__entry->flags = flags;
		memcpy(__entry->geom, geom, sizeof(__entry->geom));
	),

	TP_printk("id=%llu kind=%s depth=%llu in_bytes=%llu out_bytes=%llu backend=%s flags=%#x",
		  __entry->id, l3l2q_trace_kind(__entry->kind),
		  __entry->geom[0], __entry->geom[1], __entry->geom[2],
		  __print_symbolic(__entry->backend,
				   { L3L2Q_TRACE_BACKEND_HOST, "host" },
				   { L3L2Q_TRACE_BACKEND_DEVICE, "device" }),
		  __entry->flags)
);

TRACE_EVENT(l3l2q_attach,

	TP_PROTO(u64 id, u32 role, u32 by),

	TP_ARGS(id, role, by),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, role)
		__field(u32, by)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->role = role;
		__entry->by = by;
	),

	TP_printk("id=%llu role=%s by=%s",
		  __entry->id, l3l2q_trace_role(__entry->role),
		  __print_symbolic(__entry->by,
				   { L3L2Q_TRACE_BY_FILE, "file" },
				   { L3L2Q_TRACE_BY_LOOPBACK, "loopback" },
				   { L3L2Q_TRACE_BY_DEVICE, "device" }))
);

TRACE_EVENT(l3l2q_role_death,

	TP_PROTO(u64 id, u32 role, u32 reason, bool abort),

	TP_ARGS(id, role, reason, abort),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, role)
		__field(u32, reason)
		__field(bool, abort)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->role = role;
		__entry->reason = reason;
		__entry->abort = abort;
	),

	TP_printk("id=%llu role=%s reason=%s abort=%d",
		  __entry->id, l3l2q_trace_role(__entry->role),
		  __print_symbolic(__entry->reason,
				   { L3L2Q_TRACE_DIED_RELEASE, "release" },
				   { L3L2Q_TRACE_DIED_PEER_EXIT, "peer_exit" },
				   { L3L2Q_TRACE_DIED_DEVICE, "device" },
				   { L3L2Q_TRACE_DIED_UNPLUG, "unplug" }),
		  __entry->abort)
);

/* A WAIT begins: the ioctl, or an io_uring WAIT command being issued. */
TRACE_EVENT(l3l2q_wait_begin,

	TP_PROTO(u64 id, u32 role, u16 counter, s32 seen, u64 deadline_ns,
		 bool uring),

	TP_ARGS(id, role, counter, seen, deadline_ns, uring),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u64, deadline_ns)
		__field(u32, role)
		__field(s32, seen)
		__field(u16, counter)
		__field(bool, uring)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->deadline_ns = deadline_ns;
		__entry->role = role;
		__entry->seen = seen;
		__entry->counter = counter;
		__entry->uring = uring;
	),

	TP_printk("id=%llu role=%s counter=%s bit=%s seen=%d deadline_ns=%llu via=%s",
		  __entry->id, l3l2q_trace_role(__entry->role),
		  l3l2q_trace_counter(__entry->counter),
		  l3l2q_trace_bit(__entry->counter), __entry->seen,
		  __entry->deadline_ns,
		  __print_symbolic(__entry->uring, { 0, "ioctl" },
				   { 1, "uring" }))
);

/* The WAIT ioctl returns; @now is the counter as last read. */
TRACE_EVENT(l3l2q_wait_end,

	TP_PROTO(u64 id, u32 role, u16 counter, s32 seen, s32 now,
		 u32 sleeps, int result),

	TP_ARGS(id, role, counter, seen, now, sleeps, result),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, role)
		__field(s32, seen)
		__field(s32, now)
		__field(u32, sleeps)
		__field(int, result)
		__field(u16, counter)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->role = role;
		__entry->seen = seen;
		__entry->now = now;
		__entry->sleeps = sleeps;
		__entry->result = result;
		__entry->counter = counter;
	),

	TP_printk("id=%llu role=%s counter=%s bit=%s seen=%d now=%d sleeps=%u result=%d",
		  __entry->id, l3l2q_trace_role(__entry->role),
		  l3l2q_trace_counter(__entry->counter),
		  l3l2q_trace_bit(__entry->counter), __entry->seen,
		  __entry->now, __entry->sleeps, __entry->result)
);

/*
 * A role kicked its peer: KICK, or the loopback peer's own kick.  @wake is
 * the bits of the peer's need-wakeup word, read once when the kick was
 * made; @doorbell, a device's doorbell was rung.
 */
TRACE_EVENT(l3l2q_kick,

	TP_PROTO(u64 id, u32 role, u32 wake, bool doorbell),

	TP_ARGS(id, role, wake, doorbell),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, role)
		__field(u32, wake)
		__field(bool, doorbell)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->role = role;
		__entry->wake = wake;
		__entry->doorbell = doorbell;
	),

	TP_printk("id=%llu role=%s peer_wake=%s doorbell=%d",
		  __entry->id, l3l2q_trace_role(__entry->role),
		  __print_flags(__entry->wake, "|",
				{ L3L2Q_WAKE_INPUT_AVAIL, "INPUT_AVAIL" },
				{ L3L2Q_WAKE_INPUT_SPACE, "INPUT_SPACE" },
				{ L3L2Q_WAKE_OUTPUT_AVAIL, "OUTPUT_AVAIL" },
				{ L3L2Q_WAKE_OUTPUT_SPACE, "OUTPUT_SPACE" }),
		  __entry->doorbell)
);

/* An io_uring WAIT's result is decided; @queued, it had gone pending. */
TRACE_EVENT(l3l2q_uring_complete,

	TP_PROTO(u64 id, u32 role, u16 counter, s32 seen, int result,
		 bool queued),

	TP_ARGS(id, role, counter, seen, result, queued),

	TP_STRUCT__entry(
		__field(u64, id)
		__field(u32, role)
		__field(s32, seen)
		__field(int, result)
		__field(u16, counter)
		__field(bool, queued)
	),

	TP_fast_assign(
		__entry->id = id;
		__entry->role = role;
		__entry->seen = seen;
		__entry->result = result;
		__entry->counter = counter;
		__entry->queued = queued;
	),

	TP_printk("id=%llu role=%s counter=%s seen=%d result=%d queued=%d",
		  __entry->id, l3l2q_trace_role(__entry->role),
		  l3l2q_trace_counter(__entry->counter), __entry->seen,
		  __entry->result, __entry->queued)
);

#endif /* L3L2Q_TRACE_H */

/* An out-of-tree module: define_trace.h finds this file through -I$(src). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE l3l2q_trace
#include <trace/define_trace.h>
