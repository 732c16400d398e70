/* SPDX-License-Identifier: MIT */
/*
 * The two sides of a channel exchange that the host suite over the memfd
 * (channel_lib_test) and the VM suite over /dev/l3l2q (vm/channel_test)
 * both run, with lib/core's channel API on an endpoint however it was
 * bound:
 *
 *   cp_echo()        the L2: every message back on its route with its id
 *                    and bytes; a call (CP_ROUTE_CALL) answered on
 *                    L3L2Q_CHAN_ROUTE_REPLY with each byte + 1; when the
 *                    L3 closes, close our direction and return 0;
 *   cp_on_command()  the L2: one message per byte read from a pipe;
 *   cp_run_echo()    the L3 against cp_echo(): CP_ECHO_MSGS messages from
 *                    a sender thread across CP_ROUTES routes, each echo
 *                    checked, CP_ECHO_CALLS calls, then the close
 *                    handshake; counts what went wrong.
 *
 * Every blocking call has a watchdog deadline (CP_WATCHDOG_NS), reached
 * only if something hangs.  The endpoints need max_message_bytes 256.
 */
#ifndef L3L2Q_TEST_CHANNEL_PEER_H
#define L3L2Q_TEST_CHANNEL_PEER_H

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "l3l2q_channel_core.h"

#define CP_WATCHDOG_NS	(120ull * 1000000000ull)
#define CP_MAXMSG	256u
#define CP_ROUTES	4u
#define CP_ROUTE_CALL	9u
#define CP_ECHO_MSGS	1000u
#define CP_ECHO_CALLS	50u
#define CP_CID_BASE	0x1000000000ull

static inline __u64 cp_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static inline __u64 cp_deadline(void)
{
	return cp_now(NULL) + CP_WATCHDOG_NS;
}

/* Payload of message i: its index, then a pattern of it. */
static inline __u32 cp_fill_msg(unsigned char *buf, __u32 i)
{
	__u32 n = 4 + i % (CP_MAXMSG - 4), k;

	memcpy(buf, &i, 4);
	for (k = 4; k < n; k++)
		buf[k] = (unsigned char)(i * 7 + k);
	return n;
}

/* The L2 echo; 0, or the step that failed (20..24). */
static inline int cp_echo(struct l3l2q_chan *ch)
{
	unsigned char buf[CP_MAXMSG];
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	__u32 i, route;
	int ret;

	l3l2q_chan_ctx_init(&ctx, ch);
	if (l3l2q_chan_lease(&ctx, 0, cp_deadline()))
		return 20;
	for (;;) {
		ret = l3l2q_chan_recv(&ctx, buf, sizeof(buf), cp_deadline(), &m);
		if (ret == -EPIPE)
			break;
		if (ret)
			return 21;
		route = m.route;
		if (route == CP_ROUTE_CALL) {
			for (i = 0; i < m.nbytes; i++)
				buf[i]++;
			route = L3L2Q_CHAN_ROUTE_REPLY;
		}
		if (l3l2q_chan_send(&ctx, route, m.correlation_id, buf,
				    m.nbytes, cp_deadline()))
			return 22;
	}
	if (l3l2q_chan_unlease(&ctx))
		return 23;
	if (l3l2q_chan_close(&ctx, cp_deadline()))
		return 24;
	return 0;
}

/*
 * The L2 on command: each byte b read from @cmd sends one message on route
 * b with correlation id 1000 + b; 'q' or end of file ends it (0).
 */
static inline int cp_on_command(struct l3l2q_chan *ch, int cmd)
{
	struct l3l2q_chan_ctx ctx;
	unsigned char b;

	l3l2q_chan_ctx_init(&ctx, ch);
	if (l3l2q_chan_lease(&ctx, 0, cp_deadline()))
		return 30;
	while (read(cmd, &b, 1) == 1 && b != 'q')
		if (l3l2q_chan_send(&ctx, b, 1000 + b, &b, 1, cp_deadline()))
			return 31;
	return 0;
}

/* A thread in one blocking receive. */
struct cp_receiver {
	struct l3l2q_chan *ch;
	int ret;
	struct l3l2q_chan_msg m;
	unsigned char b;
};

static inline void *cp_receiver_main(void *arg)
{
	struct cp_receiver *rc = arg;
	struct l3l2q_chan_ctx ctx;

	l3l2q_chan_ctx_init(&ctx, rc->ch);
	rc->ret = l3l2q_chan_recv(&ctx, &rc->b, 1, cp_deadline(), &rc->m);
	return NULL;
}

struct cp_result {
	int sender;			/* the sender thread's first error */
	__u32 bad;			/* wrong route, id, size or bytes */
	__u32 dup;			/* an id seen twice */
	__u32 order;			/* out of the sender's order */
	__u32 missing;			/* an id never seen */
	__u32 bad_calls;		/* wrong reply */
	int recv, call, close, last;	/* first errors; last: the final recv */
};

struct cp_sender {
	struct l3l2q_chan *ch;
	int ret;
};

static inline void *cp_sender_main(void *arg)
{
	struct cp_sender *sd = arg;
	unsigned char buf[CP_MAXMSG];
	struct l3l2q_chan_ctx ctx;
	__u32 i, n;

	l3l2q_chan_ctx_init(&ctx, sd->ch);
	sd->ret = l3l2q_chan_lease(&ctx, 1, cp_deadline());
	for (i = 0; !sd->ret && i < CP_ECHO_MSGS; i++) {
		n = cp_fill_msg(buf, i);
		sd->ret = l3l2q_chan_send(&ctx, i % CP_ROUTES, CP_CID_BASE + i,
					  buf, n, cp_deadline());
	}
	if (!sd->ret)
		sd->ret = l3l2q_chan_unlease(&ctx);
	return NULL;
}

/* The L3 side of the echo exchange; every count in @r should end 0. */
static inline void cp_run_echo(struct l3l2q_chan *ch, struct cp_result *r)
{
	unsigned char buf[CP_MAXMSG], want[CP_MAXMSG], req[CP_MAXMSG];
	unsigned char seen[CP_ECHO_MSGS];
	struct cp_sender sd = { .ch = ch, .ret = -1 };
	struct l3l2q_chan_ctx ctx;
	struct l3l2q_chan_msg m;
	__u32 i, k, n, idx;
	__u64 next = 0;
	pthread_t th;

	memset(r, 0, sizeof(*r));
	memset(seen, 0, sizeof(seen));
	l3l2q_chan_ctx_init(&ctx, ch);
	if (pthread_create(&th, NULL, cp_sender_main, &sd)) {
		r->sender = -EAGAIN;
		return;
	}
	for (i = 0; i < CP_ECHO_MSGS && !r->recv; i++) {
		r->recv = l3l2q_chan_recv(&ctx, buf, sizeof(buf), cp_deadline(),
					  &m);
		if (r->recv)
			break;
		idx = (__u32)(m.correlation_id - CP_CID_BASE);
		if (m.correlation_id < CP_CID_BASE || idx >= CP_ECHO_MSGS) {
			r->bad++;
			continue;
		}
		r->dup += seen[idx]++;
		/* The sender uses one lane and the echo one: send order. */
		r->order += m.correlation_id != CP_CID_BASE + next;
		next = idx + 1;
		n = cp_fill_msg(want, idx);
		r->bad += m.route != idx % CP_ROUTES || m.nbytes != n ||
			  memcmp(buf, want, n);
	}
	pthread_join(th, NULL);
	r->sender = sd.ret;
	for (i = 0; i < CP_ECHO_MSGS; i++)
		r->missing += !seen[i];

	r->call = l3l2q_chan_lease(&ctx, 0, cp_deadline());
	for (i = 0; i < CP_ECHO_CALLS && !r->call; i++) {
		n = cp_fill_msg(req, i);
		r->call = l3l2q_chan_call(&ctx, CP_ROUTE_CALL, req, n, buf,
					  sizeof(buf), cp_deadline(), &m);
		if (r->call)
			break;
		r->bad_calls += m.route != L3L2Q_CHAN_ROUTE_REPLY ||
				m.nbytes != n;
		for (k = 0; k < n && k < m.nbytes; k++)
			r->bad_calls += buf[k] != (unsigned char)(req[k] + 1);
	}
	if (!r->call)
		r->call = l3l2q_chan_unlease(&ctx);
	/*
	 * Close: acked once the echo took everything; it then closes its
	 * direction, which ends our receives with -EPIPE.
	 */
	r->close = l3l2q_chan_close(&ctx, cp_deadline());
	r->last = l3l2q_chan_recv(&ctx, buf, sizeof(buf), cp_deadline(), &m);
}

#endif /* L3L2Q_TEST_CHANNEL_PEER_H */
