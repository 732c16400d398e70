// SPDX-License-Identifier: MIT
/*
 * channel_stress_test - the channel between two processes sharing a memfd
 * mapping (the parent is L3, a forked child L2), with the futex env of
 * channel_helpers.h:
 *
 *  - 8 sending and 8 receiving threads on each side, 10^5 messages per
 *    sending thread (8 x 10^5 each way) across 16 routes, every send
 *    form (copy, zero copy, deferred batches) and both receive forms:
 *    every message is delivered exactly
 *    once, with its bytes, route and id, and each lane's messages in
 *    order (message k of a lane is at lane position k); both sides close
 *    and the peer's ACK proves everything was taken;
 *  - request/response under load: 4 callers on the host, 4 responders
 *    on the device, background streams both ways and two host threads
 *    receiving the device's: every call gets its own reply (whichever
 *    thread took it), every background message arrives exactly once;
 *  - a hostile peer: the child scribbles random words over the whole
 *    region while the parent keeps calling every operation with short
 *    deadlines; the parent never crashes, never hangs, and only ever
 *    returns documented errors;
 *  - random corruption between operations, in one process, for a fixed
 *    number of steps.
 *
 * Fixed amounts of work; nothing depends on the speed of the machine
 * (deadlines are only there to end a hang, and are generous).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "channel_helpers.h"

#define U32(x)	((__u32)(x))
#define U64(x)	((__u64)(x))
#define SEC	1000000000ull
#define LONG	(300 * SEC)	/* ends a hang only */

/* ================================================================== */
/* 8 x 8 threads, 10^5 messages per sending thread                    */
/* ================================================================== */

#define THREADS		8
#define QUOTA		100000u		/* messages per sending thread */
#define TOTAL		(QUOTA * THREADS)	/* in each direction */
#define MAX_MSG		64u

/* A message's header; the rest of its bytes are a pattern. */
struct pm {
	__u32 sender, k, route, len;
	__u64 cid;
};

static __u32 pm_route(__u32 s, __u32 k) { return (s * 31 + k) % 16 + 1; }
static __u32 pm_len(__u32 s, __u32 k) { return 24 + (s * 7 + k * 13) % (MAX_MSG - 23); }
static __u64 pm_cid(__u32 s, __u32 k) { return (U64(s) << 32) | k | (1ull << 60); }
static unsigned char pm_byte(__u32 s, __u32 k, __u32 i) { return (unsigned char)(s * 37 + k * 11 + i); }

static void pm_fill(void *buf, __u32 s, __u32 k)
{
	struct pm *p = buf;
	unsigned char *b = buf;
	__u32 i;

	p->sender = s;
	p->k = k;
	p->route = pm_route(s, k);
	p->len = pm_len(s, k);
	p->cid = pm_cid(s, k);
	for (i = sizeof(*p); i < p->len; i++)
		b[i] = pm_byte(s, k, i);
}

struct side {
	struct l3l2q_chan ch;
	struct tc_env env;
	int role;
	_Atomic __u64 seen[THREADS][(QUOTA + 63) / 64];
	_Atomic unsigned long received, sent, bad;
	_Atomic int why_set;
	char why[200];
};

static void fail(struct side *s, const char *what, long a, long b)
{
	int no = 0;

	atomic_fetch_add(&s->bad, 1);
	if (atomic_compare_exchange_strong(&s->why_set, &no, 1))
		snprintf(s->why, sizeof(s->why), "%s (%ld, %ld)", what, a, b);
}

/* Every field of a received message against what its sender sent. */
static void check_msg(struct side *s, const struct l3l2q_chan_msg *m,
		      const void *data)
{
	struct pm p;
	const unsigned char *b = data;
	__u32 i;

	if (m->nbytes < sizeof(p) || m->nbytes > MAX_MSG)
		return fail(s, "size", m->nbytes, 0);
	memcpy(&p, data, sizeof(p));
	if (p.sender >= THREADS || p.k >= QUOTA)
		return fail(s, "sender or k", p.sender, p.k);
	if (m->lane != p.sender || m->pos != p.k || m->seq != U64(p.k) + 1)
		return fail(s, "lane order: message k not at position k",
			    (long)m->pos, p.k);
	if (m->route != pm_route(p.sender, p.k) ||
	    m->correlation_id != pm_cid(p.sender, p.k) ||
	    m->nbytes != pm_len(p.sender, p.k))
		return fail(s, "route, id or size", m->route, p.k);
	for (i = sizeof(p); i < m->nbytes; i++)
		if (b[i] != pm_byte(p.sender, p.k, i))
			return fail(s, "payload byte", i, p.k);
	if (atomic_fetch_or(&s->seen[p.sender][p.k / 64], 1ull << (p.k % 64)) &
	    (1ull << (p.k % 64)))
		return fail(s, "duplicate", p.sender, p.k);
	atomic_fetch_add(&s->received, 1);
}

struct worker {
	struct side *s;
	struct l3l2q_chan_ctx ctx;
	__u32 id;
	pthread_t t;
};

static void *sender(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[MAX_MSG];
	struct l3l2q_chan_slot slot;
	__u32 k;
	int ret;

	ret = l3l2q_chan_lease(&w->ctx, w->id, tc_deadline(LONG));
	if (ret || l3l2q_chan_leased_lane(&w->ctx) != w->id) {
		fail(w->s, "lease", ret, l3l2q_chan_leased_lane(&w->ctx));
		return NULL;
	}
	for (k = 0; k < QUOTA; k++) {
		pm_fill(buf, w->id, k);
		switch (k % 16) {
		case 3: case 7:		/* zero copy */
			ret = l3l2q_chan_reserve(&w->ctx, tc_deadline(LONG), &slot);
			if (!ret) {
				memcpy(slot.data, buf, pm_len(w->id, k));
				ret = l3l2q_chan_commit(&w->ctx, &slot,
							pm_route(w->id, k),
							pm_cid(w->id, k),
							pm_len(w->id, k));
			}
			break;
		case 8: case 9: case 10:	/* a batch, flushed at 11 */
			ret = l3l2q_chan_try_send_defer(&w->ctx, pm_route(w->id, k),
							pm_cid(w->id, k), buf,
							pm_len(w->id, k));
			if (ret != -EAGAIN)
				break;
			/* full (and flushed): send it the blocking way */
			/* fallthrough */
		default:
			ret = l3l2q_chan_send(&w->ctx, pm_route(w->id, k),
					      pm_cid(w->id, k), buf,
					      pm_len(w->id, k), tc_deadline(LONG));
			if (!ret && k % 16 == 11)
				ret = l3l2q_chan_flush(&w->ctx);
		}
		if (ret) {
			fail(w->s, "send", ret, k);
			break;
		}
		atomic_fetch_add(&w->s->sent, 1);
	}
	ret = l3l2q_chan_unlease(&w->ctx);
	if (ret)
		fail(w->s, "unlease", ret, 0);
	return NULL;
}

static void *receiver(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[MAX_MSG];
	struct l3l2q_chan_msg m;
	unsigned long n;
	int ret;

	for (n = 0;; n++) {
		if (n % 8 == 5) {
			ret = l3l2q_chan_peek(&w->ctx, tc_deadline(LONG), &m);
			if (!ret) {
				check_msg(w->s, &m, m.data);
				ret = l3l2q_chan_release(&w->ctx, &m);
			}
		} else {
			ret = l3l2q_chan_recv(&w->ctx, buf, sizeof(buf),
					      tc_deadline(LONG), &m);
			if (!ret)
				check_msg(w->s, &m, buf);
		}
		if (ret == -EPIPE)
			break;		/* the peer closed and all is taken */
		if (ret) {
			fail(w->s, "recv", ret, (long)n);
			break;
		}
	}
	return NULL;
}

/* One side: 8 senders, 8 receivers, then close and wait for the ACK. */
static void run_side(struct side *s)
{
	static struct worker snd[THREADS], rcv[THREADS];
	struct l3l2q_chan_ctx main_ctx;
	__u32 i, k;
	int ret;

	for (i = 0; i < THREADS; i++) {
		snd[i].s = rcv[i].s = s;
		snd[i].id = rcv[i].id = i;
		l3l2q_chan_ctx_init(&snd[i].ctx, &s->ch);
		l3l2q_chan_ctx_init(&rcv[i].ctx, &s->ch);
		pthread_create(&rcv[i].t, NULL, receiver, &rcv[i]);
		pthread_create(&snd[i].t, NULL, sender, &snd[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(snd[i].t, NULL);
	l3l2q_chan_ctx_init(&main_ctx, &s->ch);
	ret = l3l2q_chan_close(&main_ctx, tc_deadline(LONG));
	if (ret)
		fail(s, "close", ret, 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(rcv[i].t, NULL);
	if (atomic_load(&s->received) != TOTAL)
		fail(s, "received", (long)atomic_load(&s->received), TOTAL);
	for (i = 0; i < THREADS; i++)
		for (k = 0; k < QUOTA; k++)
			if (!(atomic_load(&s->seen[i][k / 64]) & (1ull << (k % 64)))) {
				fail(s, "missing", i, k);
				return;
			}
}

static struct side *side_open(struct tc_region *r, int role)
{
	struct side *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->role = role;
	tc_env_init(&s->env, r, role, 1);
	if (l3l2q_chan_init(&s->ch, (enum l3l2q_role)role, &r->mem, &r->layout,
			    0, &s->env.env)) {
		free(s);
		return NULL;
	}
	return s;
}

FIXTURE(proc)
{
	struct tc_region r;
};

FIXTURE_SETUP(proc)
{
	memset(self, 0, sizeof(*self));
}

FIXTURE_TEARDOWN(proc)
{
	tc_region_free(&self->r);
}

TEST_F_TIMEOUT(proc, eight_by_eight_threads_1e5_messages_per_thread, 900)
{
	struct side *s;
	pid_t pid;
	int status;

	ASSERT_EQ(0, tc_region_alloc(&self->r, THREADS, THREADS, 64, MAX_MSG,
				     0, 1, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		s = side_open(&self->r, L3L2Q_ROLE_L2);
		if (!s)
			_exit(2);
		run_side(s);
		if (atomic_load(&s->bad))
			fprintf(stderr, "# L2: %s\n", s->why);
		fprintf(stderr, "# L2: sleeps %lu, kicks %lu\n",
			(unsigned long)atomic_load(&s->env.sleeps),
			(unsigned long)atomic_load(&s->env.kicks));
		_exit(atomic_load(&s->bad) ? 1 : 0);
	}
	s = side_open(&self->r, L3L2Q_ROLE_L3);
	ASSERT_NE(NULL, s);
	run_side(s);
	EXPECT_EQ(0ul, (unsigned long)atomic_load(&s->bad)) TH_LOG("L3: %s", s->why);
	EXPECT_EQ(U64(TOTAL), (__u64)atomic_load(&s->sent));
	EXPECT_EQ(U64(TOTAL), (__u64)atomic_load(&s->received));
	TH_LOG("L3: sleeps %lu, kicks %lu",
	       (unsigned long)atomic_load(&s->env.sleeps),
	       (unsigned long)atomic_load(&s->env.kicks));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Both directions closed and acked. */
	EXPECT_EQ(U32(L3L2Q_CHAN_ACKED),
		  tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_RX +
				  offsetof(struct l3l2q_chan_rx_line, ack))));
	EXPECT_EQ(U32(L3L2Q_CHAN_ACKED),
		  tc_load(tc_word(&self->r, L3L2Q_CHAN_CTRL_L3_RX +
				  offsetof(struct l3l2q_chan_rx_line, ack))));
	free(s);
}

/* ================================================================== */
/* Request/response under load                                        */
/* ================================================================== */

#define CALLERS		4
#define CALLS		2500u		/* per caller */
#define BG		2		/* background senders per side */
#define BG_MSGS		10000u		/* per background sender */
#define ROUTE_BG_DOWN	100u		/* host -> device background */
#define ROUTE_BG_UP	200u		/* device -> host background */

struct load {
	struct l3l2q_chan ch;
	struct tc_env env;
	_Atomic __u64 bg_seen[BG][(BG_MSGS + 63) / 64];
	_Atomic unsigned long bg, calls, answered, bad;
	_Atomic int why_set;
	char why[200];
};

struct lworker {
	struct load *l;
	struct l3l2q_chan_ctx ctx;
	__u32 id;
	pthread_t t;
};

static void lfail(struct load *l, const char *what, long a, long b)
{
	int no = 0;

	atomic_fetch_add(&l->bad, 1);
	if (atomic_compare_exchange_strong(&l->why_set, &no, 1))
		snprintf(l->why, sizeof(l->why), "%s (%ld, %ld)", what, a, b);
}

static void bg_check(struct load *l, const struct l3l2q_chan_msg *m,
		     const void *buf, __u32 route)
{
	__u32 v[2];

	if (m->route != route || m->nbytes != 8)
		return lfail(l, "background route or size", m->route, m->nbytes);
	memcpy(v, buf, 8);
	if (v[0] >= BG || v[1] >= BG_MSGS || m->correlation_id != v[1])
		return lfail(l, "background contents", v[0], v[1]);
	if (atomic_fetch_or(&l->bg_seen[v[0]][v[1] / 64], 1ull << (v[1] % 64)) &
	    (1ull << (v[1] % 64)))
		return lfail(l, "background duplicate", v[0], v[1]);
	atomic_fetch_add(&l->bg, 1);
}

static void *bg_sender(void *arg)
{
	struct lworker *w = arg;
	__u32 v[2] = { w->id - CALLERS, 0 };
	__u32 route = w->l->ch.role == L3L2Q_ROLE_L3 ? ROUTE_BG_DOWN : ROUTE_BG_UP;
	int ret = l3l2q_chan_lease(&w->ctx, w->id, tc_deadline(LONG));

	for (; !ret && v[1] < BG_MSGS; v[1]++)
		ret = l3l2q_chan_send(&w->ctx, route, v[1], v, 8, tc_deadline(LONG));
	if (ret || l3l2q_chan_unlease(&w->ctx))
		lfail(w->l, "background send", ret, v[1]);
	return NULL;
}

/* The reply to request (caller, i, len): each byte + 1, then the cid. */
static void *caller(void *arg)
{
	struct lworker *w = arg;
	unsigned char req[64], rep[64];
	struct l3l2q_chan_msg m;
	__u32 i, len, j;
	int ret = l3l2q_chan_lease(&w->ctx, w->id, tc_deadline(LONG));

	for (i = 0; !ret && i < CALLS; i++) {
		len = 8 + (i * 7 + w->id) % 48;
		for (j = 0; j < len; j++)
			req[j] = (unsigned char)(w->id * 53 + i + j);
		ret = l3l2q_chan_call(&w->ctx, 1 + (i % 5), req, len, rep,
				      sizeof(rep), tc_deadline(LONG), &m);
		if (ret)
			break;
		if (m.nbytes != len + 8 || m.route != L3L2Q_CHAN_ROUTE_REPLY) {
			lfail(w->l, "reply size", m.nbytes, len);
			continue;
		}
		for (j = 0; j < len; j++)
			if (rep[j] != (unsigned char)(req[j] + 1))
				break;
		if (j < len || memcmp(rep + len, &m.correlation_id, 8))
			lfail(w->l, "reply is not ours", w->id, i);
		else
			atomic_fetch_add(&w->l->calls, 1);
	}
	if (ret || l3l2q_chan_unlease(&w->ctx))
		lfail(w->l, "call", ret, i);
	return NULL;
}

/* Host receivers take background messages; replies go to their slots. */
static void *host_receiver(void *arg)
{
	struct lworker *w = arg;
	unsigned char buf[64];
	struct l3l2q_chan_msg m;
	int ret;

	for (;;) {
		ret = l3l2q_chan_recv(&w->ctx, buf, sizeof(buf), tc_deadline(LONG), &m);
		if (ret == -EPIPE)
			break;
		if (ret) {
			lfail(w->l, "host recv", ret, 0);
			break;
		}
		bg_check(w->l, &m, buf, ROUTE_BG_UP);
	}
	return NULL;
}

/* Device responders: answer requests, count the background stream. */
static void *responder(void *arg)
{
	struct lworker *w = arg;
	unsigned char buf[64], rep[64];
	struct l3l2q_chan_msg m;
	__u32 j;
	int ret = l3l2q_chan_lease(&w->ctx, w->id, tc_deadline(LONG));

	while (!ret) {
		ret = l3l2q_chan_recv(&w->ctx, buf, sizeof(buf), tc_deadline(LONG), &m);
		if (ret)
			break;
		if (m.route == ROUTE_BG_DOWN) {
			bg_check(w->l, &m, buf, ROUTE_BG_DOWN);
			continue;
		}
		if (m.nbytes > 56) {
			lfail(w->l, "request size", m.nbytes, 0);
			continue;
		}
		for (j = 0; j < m.nbytes; j++)
			rep[j] = (unsigned char)(buf[j] + 1);
		memcpy(rep + m.nbytes, &m.correlation_id, 8);
		ret = l3l2q_chan_send(&w->ctx, L3L2Q_CHAN_ROUTE_REPLY,
				      m.correlation_id, rep, m.nbytes + 8,
				      tc_deadline(LONG));
		if (!ret)
			atomic_fetch_add(&w->l->answered, 1);
	}
	if (ret != -EPIPE)
		lfail(w->l, "responder", ret, 0);
	if (l3l2q_chan_unlease(&w->ctx))
		lfail(w->l, "responder unlease", 0, 0);
	return NULL;
}

static struct load *load_open(struct tc_region *r, int role)
{
	struct load *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	tc_env_init(&l->env, r, role, 1);
	if (l3l2q_chan_init(&l->ch, (enum l3l2q_role)role, &r->mem, &r->layout,
			    0, &l->env.env)) {
		free(l);
		return NULL;
	}
	return l;
}

/* Start workers [from, to) with @fn, all on @l. */
static void start(struct lworker *w, struct load *l, __u32 from, __u32 to,
		  void *(*fn)(void *))
{
	__u32 i;

	for (i = from; i < to; i++) {
		w[i].l = l;
		w[i].id = i;
		l3l2q_chan_ctx_init(&w[i].ctx, &l->ch);
		pthread_create(&w[i].t, NULL, fn, &w[i]);
	}
}

static void join(struct lworker *w, __u32 from, __u32 to)
{
	__u32 i;

	for (i = from; i < to; i++)
		pthread_join(w[i].t, NULL);
}

TEST_F_TIMEOUT(proc, calls_under_load_match_every_reply, 900)
{
	static struct lworker w[CALLERS + BG + 2];
	struct l3l2q_chan_ctx c;
	struct load *l;
	pid_t pid;
	int status;

	ASSERT_EQ(0, tc_region_alloc(&self->r, 8, 8, 16, 64, 0, 1, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The device: responders on lanes 0..3, background on 4, 5. */
		l = load_open(&self->r, L3L2Q_ROLE_L2);
		if (!l)
			_exit(2);
		start(w, l, 0, CALLERS, responder);
		start(w, l, CALLERS, CALLERS + BG, bg_sender);
		join(w, 0, CALLERS + BG);
		l3l2q_chan_ctx_init(&c, &l->ch);
		if (l3l2q_chan_close(&c, tc_deadline(LONG)))
			lfail(l, "device close", 0, 0);
		if (atomic_load(&l->answered) != CALLERS * CALLS ||
		    atomic_load(&l->bg) != BG * BG_MSGS)
			lfail(l, "device counts", (long)atomic_load(&l->answered),
			      (long)atomic_load(&l->bg));
		if (atomic_load(&l->bad))
			fprintf(stderr, "# L2: %s\n", l->why);
		_exit(atomic_load(&l->bad) ? 1 : 0);
	}
	/* The host: callers on 0..3, background on 4, 5, two receivers. */
	l = load_open(&self->r, L3L2Q_ROLE_L3);
	ASSERT_NE(NULL, l);
	start(w, l, CALLERS + BG, CALLERS + BG + 2, host_receiver);
	start(w, l, 0, CALLERS, caller);
	start(w, l, CALLERS, CALLERS + BG, bg_sender);
	join(w, 0, CALLERS + BG);
	l3l2q_chan_ctx_init(&c, &l->ch);
	EXPECT_EQ(0, l3l2q_chan_close(&c, tc_deadline(LONG)));
	join(w, CALLERS + BG, CALLERS + BG + 2);
	EXPECT_EQ(0ul, (unsigned long)atomic_load(&l->bad)) TH_LOG("L3: %s", l->why);
	EXPECT_EQ((unsigned long)CALLERS * CALLS, (unsigned long)atomic_load(&l->calls));
	EXPECT_EQ((unsigned long)BG * BG_MSGS, (unsigned long)atomic_load(&l->bg));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	free(l);
}

/* ================================================================== */
/* A hostile peer                                                     */
/* ================================================================== */

static __u64 xs(__u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* What an operation may return whatever the peer wrote. */
static int allowed(int ret)
{
	switch (ret) {
	case 0: case -EAGAIN: case -ETIMEDOUT: case -EPROTO: case -ECONNRESET:
	case -EPIPE: case -EBUSY: case -EMSGSIZE:
		return 1;
	}
	return 0;
}

/*
 * One operation of an endpoint, chosen by @x; blocking calls wait at most
 * @wait_ns (0: a single attempt, as a probe).
 */
static int poke(struct tc_end *e, __u64 x, int *bad_msg, __u64 wait_ns)
{
	unsigned char buf[64], rep[64];
	struct l3l2q_chan_msg m;
	struct l3l2q_chan_slot sl;
	__u64 dl = wait_ns ? tc_deadline(wait_ns) : 0;
	int ret;

	memset(&m, 0, sizeof(m));
	switch (x % 9) {
	case 0: return l3l2q_chan_try_send(&e->ctx, (__u32)x, x, buf, (__u32)(x % 65));
	case 1: return l3l2q_chan_send(&e->ctx, 1, 2, buf, 8, dl);
	case 2:
		ret = l3l2q_chan_try_recv(&e->ctx, buf, (__u32)(x % 65), &m);
		if (!ret && m.nbytes > x % 65)
			*bad_msg = 1;
		return ret;
	case 3:
		ret = l3l2q_chan_recv(&e->ctx, buf, sizeof(buf), dl, &m);
		if (!ret && m.nbytes > 64)
			*bad_msg = 1;
		return ret;
	case 4:
		ret = l3l2q_chan_try_peek(&e->ctx, &m);
		if (!ret) {
			if (m.nbytes > 64)
				*bad_msg = 1;
			ret = l3l2q_chan_release(&e->ctx, &m);
		}
		return ret;
	case 5: return l3l2q_chan_call(&e->ctx, 3, buf, 4, rep, sizeof(rep), dl, &m);
	case 6:
		ret = l3l2q_chan_try_reserve(&e->ctx, &sl);
		return ret ? ret : l3l2q_chan_commit(&e->ctx, &sl, 1, 1, 1);
	case 7:
		ret = l3l2q_chan_try_send_defer(&e->ctx, 1, 1, buf, 3);
		return ret ? ret : l3l2q_chan_flush(&e->ctx);
	default: return l3l2q_chan_recv(&e->ctx, buf, sizeof(buf),
					wait_ns ? tc_deadline(wait_ns / 20) : 0, &m);
	}
}

#define ROUNDS		40
#define OPS		400
#define SCRIBBLES	20000

TEST_F_TIMEOUT(proc, hostile_peer_never_crashes_or_hangs_the_other_side, 900)
{
	unsigned int round, i, bad_ret = 0, bad_msg = 0, poisoned = 0;
	int last_bad = 0;

	for (round = 0; round < ROUNDS; round++) {
		struct tc_end *e = calloc(1, sizeof(*e));
		__u64 x = 0x243f6a8885a308d3ull + round;
		pid_t pid;
		int status, ret, bm = 0;

		ASSERT_NE(NULL, e);
		ASSERT_EQ(0, tc_region_alloc(&self->r, 4, 4, 4, 64, 0, 1, 1));
		ASSERT_EQ(0, tc_end_open(e, &self->r, L3L2Q_ROLE_L3, 0, 1));
		ASSERT_EQ(0, l3l2q_chan_try_lease(&e->ctx, 0));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* The peer: a real L2 for a while, then garbage. */
			struct tc_end *p = calloc(1, sizeof(*p));
			unsigned char buf[64];
			struct l3l2q_chan_msg m;

			if (!p || tc_end_open(p, &self->r, L3L2Q_ROLE_L2, 0, 1) ||
			    l3l2q_chan_try_lease(&p->ctx, 0))
				_exit(2);
			for (i = 0; i < 50; i++) {
				l3l2q_chan_try_send(&p->ctx, i, i, buf, i % 65);
				l3l2q_chan_try_recv(&p->ctx, buf, 64, &m);
			}
			for (i = 0; i < SCRIBBLES; i++) {
				__u64 r = xs(&x);
				__u64 off = (r >> 8) % (self->r.bytes / 4) * 4;

				/* Mostly the interesting words, sometimes anywhere. */
				if (r & 1)
					off = L3L2Q_CHAN_CTRL_BASE + (r >> 20) %
					      ((L3L2Q_CHAN_CTRL_END - L3L2Q_CHAN_CTRL_BASE) / 4) * 4;
				__atomic_store_n((__u32 *)((char *)self->r.base + off),
						 (__u32)(r >> 32) >> ((r >> 3) & 31),
						 __ATOMIC_RELAXED);
				if (i % 64 == 0) {
					tc_futex(tc_word(&self->r, L3L2Q_CHAN_CTRL_L2_TX_BELL),
						 FUTEX_WAKE, INT_MAX, NULL);
					sched_yield();
				}
			}
			_exit(0);
		}
		for (i = 0; i < OPS; i++) {
			ret = poke(e, xs(&x), &bm, 2 * 1000 * 1000);
			if (!allowed(ret)) {
				bad_ret++;
				last_bad = ret;
			}
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status));
		/* And once all of the garbage is there, whatever the timing. */
		for (i = 0; i < 50; i++) {
			ret = poke(e, xs(&x), &bm, 2 * 1000 * 1000);
			if (!allowed(ret)) {
				bad_ret++;
				last_bad = ret;
			}
		}
		bad_msg += bm;
		poisoned += l3l2q_chan_state(&e->ch) != L3L2Q_STATE_LIVE;
		tc_region_free(&self->r);
		free(e);
	}
	EXPECT_EQ(0u, bad_ret) TH_LOG("an undocumented return: %d", last_bad);
	EXPECT_EQ(0u, bad_msg);
	/* The garbage did get noticed: most rounds end poisoned. */
	EXPECT_LT(ROUNDS / 2u, poisoned);
	TH_LOG("%u of %u rounds ended with the endpoint poisoned", poisoned,
	       ROUNDS);
}

/*
 * One process, both endpoints: before each of a fixed number of steps a
 * random word of the region may be overwritten; every operation returns a
 * documented value and never passes a size above the limit.  A poisoned
 * pair is replaced by a fresh one.  Blocking calls are single attempts
 * (deadline 0), so the work does not depend on the clock.
 */
TEST_F_TIMEOUT(proc, random_corruption_between_operations, 900)
{
	struct tc_region r;
	struct tc_end *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	__u64 x = 0x13198a2e03707344ull;
	unsigned int step, bad_ret = 0, bad_msg = 0, fresh = 0;
	int last_bad = 0, bm;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	memset(&r, 0, sizeof(r));
	for (step = 0; step < 30000; step++) {
		__u64 v = xs(&x);
		int ret;

		if (!r.base || l3l2q_chan_state(&a->ch) != L3L2Q_STATE_LIVE ||
		    l3l2q_chan_state(&b->ch) != L3L2Q_STATE_LIVE) {
			/* Every third pair starts just below the u32 wrap. */
			__u64 start = v % 3 ? 0 : (1ull << 32) - 3;

			tc_region_free(&r);
			ASSERT_EQ(0, tc_region_alloc(&r, 3, 2, 4, 48, start, 0, 1));
			ASSERT_EQ(0, tc_end_open(a, &r, L3L2Q_ROLE_L3, start, 1));
			ASSERT_EQ(0, tc_end_open(b, &r, L3L2Q_ROLE_L2, start, 1));
			ASSERT_EQ(0, l3l2q_chan_try_lease(&a->ctx, 0));
			ASSERT_EQ(0, l3l2q_chan_try_lease(&b->ctx, 0));
			fresh++;
		}
		if (v % 97 == 0) {
			__u64 off = (v >> 16) % (r.bytes / 4) * 4;

			*(__u32 *)((char *)r.base + off) = (__u32)(v >> 32);
		}
		bm = 0;
		ret = poke(v & 1 ? a : b, v >> 1, &bm, 0);
		bad_msg += bm;
		if (!allowed(ret)) {
			bad_ret++;
			last_bad = ret;
		}
	}
	EXPECT_EQ(0u, bad_ret) TH_LOG("an undocumented return: %d", last_bad);
	EXPECT_EQ(0u, bad_msg);
	EXPECT_LT(1u, fresh);
	tc_region_free(&r);
	free(a);
	free(b);
}

TEST_HARNESS_MAIN
