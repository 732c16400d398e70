// SPDX-License-Identifier: MIT
/*
 * The L3 (host) endpoint: producer of the input ring, consumer of the
 * output ring (reference §5.1).
 */
#include "fastpath.h"

/* L3 waits for input space (the input head) or output (the output tail). */
static const struct l3l2q_waitspec *space_wait(struct l3l2q_l3 *q,
					       struct l3l2q_waitspec *w)
{
	w->bit = L3L2Q_WAKE_INPUT_SPACE;
	w->counter = L3L2Q_CTR_INPUT_HEAD;
	w->local = &q->in.head;
	return w;
}

static const struct l3l2q_waitspec *output_wait(struct l3l2q_l3 *q,
						struct l3l2q_waitspec *w)
{
	w->bit = L3L2Q_WAKE_OUTPUT_AVAIL;
	w->counter = L3L2Q_CTR_OUTPUT_TAIL;
	w->local = &q->out.tail;
	return w;
}

/* Every entry point: a LIVE L3 endpoint, or the errno (pitfall P11). */
#define CHECK(q, op) l3l2q__ep_check(q, L3L2Q_ROLE_L3, op)

int l3l2q_l3_init(struct l3l2q_l3 *q, const struct l3l2q_mem *mem,
		  const struct l3l2q_layout *layout, __u64 start_pos,
		  const struct l3l2q_env *env)
{
	int ret;

	if (!q)
		return -EINVAL;
	ret = l3l2q__ep_init(&q->ep, L3L2Q_ROLE_L3, mem, layout, start_pos,
			     env);
	if (ret)
		return ret;
	l3l2q__prod_init(&q->in, &q->ep, 1, start_pos);
	/* The batched peek's window; one-at-a-time use holds one. */
	l3l2q__cons_init(&q->out, &q->ep, 0, start_pos, q->out_win,
			 q->ep.layout.depth < L3L2Q_L3_WINDOW_MAX ?
			 (__u32)q->ep.layout.depth : L3L2Q_L3_WINDOW_MAX);
	q->mp = (struct l3l2q_mp *)0;
	return 0;
}

/*
 * A direction in multi-thread mode (l3l2q_l3_mp_init) is driven only by
 * the l3l2q_l3_mp_* or l3l2q_l3_mc_* calls, whose threads share its state.
 */
static int single_only(struct l3l2q_l3 *q, int input, __u32 op)
{
	if (input ? !q->in.mp : !q->out.multi)
		return 0;
	return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
			     input ? "the input is in multi-producer mode: use l3l2q_l3_mp_*" :
			     "the output is in multi-consumer mode: use l3l2q_l3_mc_*",
			     0, NULL, 0, NULL);
}

/* ---- input ---- */

static int check_not_stopped(struct l3l2q_l3 *q, __u32 op)
{
	/* Rejected locally: no counter is touched and nothing poisons. */
	if (q->in.stopped)
		return l3l2q__reject(&q->ep, EPIPE, L3L2Q_ERR_STOPPED, op,
				     "input is stopped", 0, NULL, 0, NULL);
	return 0;
}

/* A LIVE L3 whose input is neither multi-producer nor stopped. */
static inline int input_usual(struct l3l2q_l3 *q)
{
	return l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L3) && !q->in.mp &&
			     !q->in.stopped);
}

static L3L2Q__COLD int try_reserve_slow(struct l3l2q_l3 *q, __u64 n,
					struct l3l2q_res *res)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_TRY_RESERVE);

	if (!ret)
		ret = single_only(q, 1, L3L2Q_EOP_INPUT_TRY_RESERVE);
	if (!ret)
		ret = check_not_stopped(q, L3L2Q_EOP_INPUT_TRY_RESERVE);
	if (ret)
		return ret;
	return l3l2q__prod_try_reserve(&q->ep, &q->in, n, res,
				       L3L2Q_EOP_INPUT_TRY_RESERVE);
}

int l3l2q_l3_try_reserve(struct l3l2q_l3 *q, __u64 n, struct l3l2q_res *res)
{
	if (input_usual(q))
		return l3l2q__prod_reserve(&q->ep, &q->in, n, res,
					   L3L2Q_EOP_INPUT_TRY_RESERVE);
	return try_reserve_slow(q, n, res);
}

struct reserve_args {
	struct l3l2q_l3 *q;
	__u64 n;
	struct l3l2q_res *res;
};

static int reserve_once(void *arg)
{
	struct reserve_args *a = arg;

	return l3l2q_l3_try_reserve(a->q, a->n, a->res);
}

int l3l2q_l3_reserve(struct l3l2q_l3 *q, __u64 n, __u64 deadline_ns,
		     struct l3l2q_res *res)
{
	struct reserve_args a = { q, n, res };
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_INPUT_TRY_RESERVE);

	if (ret)
		return ret;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_INPUT_TRY_RESERVE, deadline_ns,
			   reserve_once, &a, space_wait(q, &w));
}

int l3l2q_l3_publish(struct l3l2q_l3 *q, const struct l3l2q_res *res,
		     __u64 opcode)
{
	int ret;

	if (l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L3) && !q->in.mp))
		return l3l2q__prod_put(&q->ep, &q->in, res, opcode,
				       L3L2Q_EOP_INPUT_PUBLISH, 0);
	ret = CHECK(q, L3L2Q_EOP_INPUT_PUBLISH);
	if (!ret)
		ret = single_only(q, 1, L3L2Q_EOP_INPUT_PUBLISH);
	if (ret)
		return ret;
	return l3l2q__prod_publish(&q->ep, &q->in, res, opcode,
				   L3L2Q_EOP_INPUT_PUBLISH);
}

int l3l2q_l3_publish_defer(struct l3l2q_l3 *q, const struct l3l2q_res *res,
			   __u64 opcode)
{
	int ret;

	if (l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L3) && !q->in.mp))
		return l3l2q__prod_put(&q->ep, &q->in, res, opcode,
				       L3L2Q_EOP_INPUT_PUBLISH, 1);
	ret = CHECK(q, L3L2Q_EOP_INPUT_PUBLISH);
	if (!ret)
		ret = single_only(q, 1, L3L2Q_EOP_INPUT_PUBLISH);
	if (ret)
		return ret;
	return l3l2q__prod_publish_defer(&q->ep, &q->in, res, opcode,
					 L3L2Q_EOP_INPUT_PUBLISH);
}

int l3l2q_l3_flush(struct l3l2q_l3 *q)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_PUBLISH);

	if (!ret)
		ret = single_only(q, 1, L3L2Q_EOP_INPUT_PUBLISH);
	if (ret)
		return ret;
	return l3l2q__prod_flush(&q->ep, &q->in, L3L2Q_EOP_INPUT_PUBLISH);
}

int l3l2q_l3_try_reserve_batch(struct l3l2q_l3 *q, __u64 nbytes, __u32 n,
			       struct l3l2q_batch *b)
{
	const __u32 op = L3L2Q_EOP_INPUT_TRY_RESERVE;
	int ret = CHECK(q, op);

	if (!ret)
		ret = single_only(q, 1, op);
	if (!ret)
		ret = check_not_stopped(q, op);
	if (ret)
		return ret;
	return l3l2q__prod_reserve_batch(&q->ep, &q->in, nbytes, n, b, op);
}

int l3l2q_l3_submit_batch(struct l3l2q_l3 *q, const struct l3l2q_batch *b,
			  __u32 n, __u64 opcode)
{
	const __u32 op = L3L2Q_EOP_INPUT_PUBLISH;
	int ret = CHECK(q, op);

	if (!ret)
		ret = single_only(q, 1, op);
	if (ret)
		return ret;
	return l3l2q__prod_submit_batch(&q->ep, &q->in, b, n, opcode, op);
}

/*
 * l3l2q_l3_try_enqueue() for anything but the common case: every argument
 * check before any state is touched, then reserve, copy and publish, each
 * the complete call.
 */
static L3L2Q__COLD int try_enqueue_slow(void *arg, __u64 opcode,
					const void *buf, __u64 n)
{
	struct l3l2q_l3 *q = arg;
	const __u32 op = L3L2Q_EOP_INPUT_ENQUEUE;
	struct l3l2q_res res;
	int ret;

	ret = CHECK(q, op);
	if (ret)
		return ret;
	if (opcode != L3L2Q_OP_DATA && opcode != L3L2Q_OP_ERROR)
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "opcode must be DATA or ERROR (got ", opcode,
				     "); use request_stop for STOP", 0, NULL);
	if (n && !buf)
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "buf is NULL but n is ", n, "", 0, NULL);
	ret = single_only(q, 1, op);
	if (!ret)
		ret = check_not_stopped(q, op);
	if (!ret)
		ret = l3l2q__prod_try_reserve(&q->ep, &q->in, n, &res, op);
	if (ret)
		return ret;
	if (n)
		l3l2q__memcpy(res.data, buf, n);
	/* Our own reservation, just made, and the opcode checked above. */
	l3l2q__prod_commit(&q->ep, &q->in, opcode, 0, op);
	return 0;
}

int l3l2q_l3_try_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
			 __u64 n)
{
	/* LIVE, single, not stopped; DATA or ERROR; a buffer for n bytes. */
	if (l3l2q__likely(input_usual(q) && (opcode | 2) == 3 && (buf || !n)))
		return l3l2q__prod_enqueue(&q->ep, &q->in, opcode, buf, n,
					   L3L2Q_EOP_INPUT_ENQUEUE,
					   try_enqueue_slow, q);
	return try_enqueue_slow(q, opcode, buf, n);
}

struct enqueue_args {
	struct l3l2q_l3 *q;
	__u64 opcode;
	const void *buf;
	__u64 n;
};

static int enqueue_once(void *arg)
{
	struct enqueue_args *a = arg;

	return l3l2q_l3_try_enqueue(a->q, a->opcode, a->buf, a->n);
}

int l3l2q_l3_enqueue(struct l3l2q_l3 *q, __u64 opcode, const void *buf,
		     __u64 n, __u64 deadline_ns)
{
	struct enqueue_args a = { q, opcode, buf, n };
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_INPUT_ENQUEUE);

	if (ret)
		return ret;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_INPUT_ENQUEUE, deadline_ns,
			   enqueue_once, &a, space_wait(q, &w));
}

int l3l2q_l3_try_request_stop(struct l3l2q_l3 *q)
{
	const __u32 op = L3L2Q_EOP_REQUEST_STOP;
	struct l3l2q_res res;
	int ret;

	ret = CHECK(q, op);
	if (!ret)
		ret = single_only(q, 1, op);
	if (!ret)
		ret = check_not_stopped(q, op);
	if (!ret)
		ret = l3l2q__prod_try_reserve(&q->ep, &q->in, 0, &res, op);
	if (ret)
		return ret;
	return l3l2q__prod_publish(&q->ep, &q->in, &res, L3L2Q_OP_STOP, op);
}

static int stop_once(void *arg)
{
	return l3l2q_l3_try_request_stop(arg);
}

int l3l2q_l3_request_stop(struct l3l2q_l3 *q, __u64 deadline_ns)
{
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_REQUEST_STOP);

	if (ret)
		return ret;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_REQUEST_STOP, deadline_ns,
			   stop_once, q, space_wait(q, &w));
}

/* ---- output ---- */

int l3l2q_l3_try_peek(struct l3l2q_l3 *q, struct l3l2q_msg *msg)
{
	int ret;

	if (l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L3) && !q->out.multi))
		return l3l2q__cons_peek(&q->ep, &q->out, msg,
					L3L2Q_EOP_OUTPUT_TRY_PEEK, 0);
	ret = CHECK(q, L3L2Q_EOP_OUTPUT_TRY_PEEK);
	if (!ret)
		ret = single_only(q, 0, L3L2Q_EOP_OUTPUT_TRY_PEEK);
	if (ret)
		return ret;
	return l3l2q__cons_try_peek(&q->ep, &q->out, msg,
				    L3L2Q_EOP_OUTPUT_TRY_PEEK);
}

struct peek_args {
	struct l3l2q_l3 *q;
	struct l3l2q_msg *msg;
};

static int peek_once(void *arg)
{
	struct peek_args *a = arg;

	return l3l2q_l3_try_peek(a->q, a->msg);
}

int l3l2q_l3_peek(struct l3l2q_l3 *q, __u64 deadline_ns, struct l3l2q_msg *msg)
{
	struct peek_args a = { q, msg };
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_TRY_PEEK);

	if (ret)
		return ret;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_OUTPUT_TRY_PEEK, deadline_ns,
			   peek_once, &a, output_wait(q, &w));
}

int l3l2q_l3_read(struct l3l2q_l3 *q, const struct l3l2q_msg *msg, void *buf,
		  __u64 cap)
{
	const __u32 op = L3L2Q_EOP_OUTPUT_READ;
	const struct l3l2q_entry *e;
	int ret;

	ret = CHECK(q, op);
	if (!ret)
		ret = single_only(q, 0, op);
	if (ret)
		return ret;
	/* Reading is harmless, so a wrong handle is rejected, not poison. */
	e = l3l2q__cons_find(&q->out, msg);
	if (!e)
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_OWNERSHIP, op,
				     "handle is not the active output message",
				     0, NULL, 0, NULL);
	if (!e->nbytes)
		return 0;
	if (!buf)
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "buf is NULL", 0, NULL, 0, NULL);
	/* Too small: the message stays at the head for a retry (P6). */
	if (cap < e->nbytes)
		return l3l2q__reject(&q->ep, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
				     op, "buffer of ", cap,
				     " bytes is smaller than the message of ",
				     e->nbytes, " bytes");
	/* From the validated copy, never from the slot again (P5). */
	l3l2q__memcpy(buf, e->data, e->nbytes);
	return 0;
}

/*
 * msgs[i] of a release that out_release() refused: a held message out of
 * order (or twice in @msgs) is the caller's mistake and changes nothing;
 * anything else -- stale, unknown or modified -- poisons as it always did.
 */
static L3L2Q__COLD int out_release_bad(struct l3l2q_l3 *q,
				       const struct l3l2q_msg *msgs, __u32 i,
				       __u32 op)
{
	struct l3l2q_cons *c = &q->out;
	const struct l3l2q_msg *m = &msgs[i];
	__u64 want = c->head + 1 + i;

	if (!l3l2q__cons_find(c, m))
		return l3l2q__cons_bad_handle(&q->ep, c, m, op);
	if (m->seq < want)
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msgs[", i, "] releases seq ", m->seq,
				     " a second time in this batch");
	return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
			     "release out of order: expected seq ", want,
			     ", got seq ", m->seq, " (release the oldest first)");
}

/*
 * Release the @n oldest held results, @msgs in order, each equal in every
 * field to the copy peek kept (P2).  All are checked before any is marked,
 * so a refused call releases nothing; then one pop: one head store (D),
 * one need-wakeup check.
 */
L3L2Q__FAST int out_release(struct l3l2q_l3 *q, const struct l3l2q_msg *msgs,
			    __u32 n, __u32 op)
{
	struct l3l2q_cons *c = &q->out;
	const struct l3l2q_msg *m;
	const struct l3l2q_entry *e;
	__u32 i, j = c->first, w = c->max_inflight + 1;

	for (i = 0; i < n; i++) {
		m = &msgs[i];
		e = &c->win[j];
		/* Entry first + i holds seq head + 1 + i while i < active. */
		if (l3l2q__unlikely(i >= c->active ||
				    m->seq != c->head + 1 + i ||
				    e->opcode != m->opcode ||
				    e->offset != m->offset ||
				    e->nbytes != m->nbytes ||
				    e->data != m->data))
			return out_release_bad(q, msgs, i, op);
		if (++j == w)
			j = 0;
	}
	for (i = 0, j = c->first; i < n; i++) {
		c->win[j].completed = 1;
		if (++j == w)
			j = 0;
	}
	return l3l2q__cons_pop(&q->ep, c, op);
}

int l3l2q_l3_release(struct l3l2q_l3 *q, const struct l3l2q_msg *msg)
{
	int ret;

	if (l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L3) && !q->out.multi &&
			  msg))
		return out_release(q, msg, 1, L3L2Q_EOP_OUTPUT_RELEASE);
	ret = CHECK(q, L3L2Q_EOP_OUTPUT_RELEASE);
	if (!ret)
		ret = single_only(q, 0, L3L2Q_EOP_OUTPUT_RELEASE);
	if (ret)
		return ret;
	return l3l2q__cons_release(&q->ep, &q->out, msg,
				   L3L2Q_EOP_OUTPUT_RELEASE);
}

int l3l2q_l3_try_peek_batch(struct l3l2q_l3 *q, struct l3l2q_msg *msgs,
			    __u32 n)
{
	const __u32 op = L3L2Q_EOP_OUTPUT_TRY_PEEK;
	int ret = CHECK(q, op);

	if (!ret)
		ret = single_only(q, 0, op);
	if (ret)
		return ret;
	/* The tail counter once per batch; STOP poisons in l3l2q__cons_take. */
	return l3l2q__cons_peek_batch(&q->ep, &q->out, msgs, n, op);
}

int l3l2q_l3_release_batch(struct l3l2q_l3 *q, const struct l3l2q_msg *msgs,
			   __u32 n)
{
	const __u32 op = L3L2Q_EOP_OUTPUT_RELEASE;
	int ret = CHECK(q, op);

	if (!ret)
		ret = single_only(q, 0, op);
	if (ret)
		return ret;
	if (n && !msgs)
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT, op,
				     "msgs is NULL but n is ", n, "", 0, NULL);
	return out_release(q, msgs, n, op);
}

/* l3l2q_l3_try_dequeue() for anything else, a result too large included. */
static L3L2Q__COLD int try_dequeue_slow(void *arg, void *buf, __u64 cap,
					struct l3l2q_msg *msg)
{
	struct l3l2q_l3 *q = arg;
	struct l3l2q_msg m;
	int ret;

	ret = l3l2q_l3_try_peek(q, &m);
	if (!ret)
		ret = l3l2q_l3_read(q, &m, buf, cap);
	if (!ret)
		ret = l3l2q_l3_release(q, &m);
	if (!ret && msg)
		*msg = m;
	return ret;
}

int l3l2q_l3_try_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
			 struct l3l2q_msg *msg)
{
	/* Nothing held: peek, copy and release in line (fastpath.h). */
	if (l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L3) && !q->out.multi))
		return l3l2q__cons_dequeue(&q->ep, &q->out, buf, cap, msg,
					   L3L2Q_EOP_OUTPUT_TRY_PEEK, 0,
					   try_dequeue_slow, q);
	return try_dequeue_slow(q, buf, cap, msg);
}

struct dequeue_args {
	struct l3l2q_l3 *q;
	void *buf;
	__u64 cap;
	struct l3l2q_msg *msg;
};

static int dequeue_once(void *arg)
{
	struct dequeue_args *a = arg;

	return l3l2q_l3_try_dequeue(a->q, a->buf, a->cap, a->msg);
}

int l3l2q_l3_dequeue(struct l3l2q_l3 *q, void *buf, __u64 cap,
		     __u64 deadline_ns, struct l3l2q_msg *msg)
{
	struct dequeue_args a = { q, buf, cap, msg };
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_TRY_PEEK);

	if (ret)
		return ret;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_OUTPUT_TRY_PEEK, deadline_ns,
			   dequeue_once, &a, output_wait(q, &w));
}

void l3l2q_l3_close(struct l3l2q_l3 *q)
{
	if (q)
		l3l2q__ep_close(&q->ep, L3L2Q_ROLE_L3);
}
