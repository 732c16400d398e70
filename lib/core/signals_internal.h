/* SPDX-License-Identifier: MIT */
/*
 * Shared by the signals core's files (signals.c: binding and data;
 * signals_notify.c: N1-N4; signals_wait.c: W1-W5 and the wait loop).
 */
#ifndef L3L2Q_CORE_SIGNALS_INTERNAL_H
#define L3L2Q_CORE_SIGNALS_INTERNAL_H

#include "internal.h"
#include "l3l2q_signals_core.h"

/* The waiting role's table index; L3L2Q_ROLE_L3 / _L2 are 0 and 1. */
_Static_assert(L3L2Q_ROLE_L3 == 0 && L3L2Q_ROLE_L2 == 1,
	       "roles index the waiter tables");

static inline __u64 *l3l2q__sig_slot(const struct l3l2q_sig *s, __u32 id)
{
	return (__u64 *)(s->slots + (__u64)id * L3L2Q_HDMEM_SLOT_BYTES);
}

static inline struct l3l2q_sig_waiter *
l3l2q__sig_entry(const struct l3l2q_sig *s, __u32 role, __u32 id)
{
	return &s->table[role][id];
}

/* Record an error in s->last and return -@err. */
int l3l2q__sig_fail(struct l3l2q_sig *s, int err, __u32 kind, __u32 op,
		    const char *a, __u64 x, const char *b, __u64 y,
		    const char *c);

/* 0 while the handle is live, else -ESHUTDOWN (recorded). */
static inline int l3l2q__sig_live(struct l3l2q_sig *s, __u32 op)
{
	if (__builtin_expect(s->state == L3L2Q_STATE_LIVE, 1))
		return 0;
	return l3l2q__sig_fail(s, ESHUTDOWN, L3L2Q_ERR_RELEASED, op,
			       "the signals handle is closed", 0, NULL, 0,
			       NULL);
}

/* -EINVAL (recorded) unless @id names a slot. */
static inline int l3l2q__sig_check_id(struct l3l2q_sig *s, __u32 id, __u32 op)
{
	if (__builtin_expect(id < s->layout.hdmem.signal_count, 1))
		return 0;
	return l3l2q__sig_fail(s, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
			       "signal id ", id, " is not below signal_count ",
			       s->layout.hdmem.signal_count, "");
}

/* The peer's abort word or DEAD state: 1 with *why set, else 0. */
int l3l2q__sig_peer_gone(const struct l3l2q_sig *s, const char **why);

/* N2-N4 after N1 stored @v in slot @id. */
void l3l2q__sig_wake(struct l3l2q_sig *s, __u32 id, __u64 v);

#endif /* L3L2Q_CORE_SIGNALS_INTERNAL_H */
