// SPDX-License-Identifier: MIT
/*
 * The L2 (device) endpoint: consumer of the input ring, with an input
 * window of max_inflight entries, and producer of the output ring
 * (reference §5.2 and §7).
 */
#include "fastpath.h"

/* Every entry point: a LIVE L2 endpoint, or the errno (pitfall P11). */
#define CHECK(q, op) l3l2q__ep_check(q, L3L2Q_ROLE_L2, op)

int l3l2q_l2_init(struct l3l2q_l2 *q, const struct l3l2q_mem *mem,
		  const struct l3l2q_layout *layout, __u64 start_pos,
		  __u32 max_inflight, const struct l3l2q_env *env)
{
	int ret;

	if (!q)
		return -EINVAL;
	ret = l3l2q__ep_init(&q->ep, L3L2Q_ROLE_L2, mem, layout, start_pos,
			     env);
	if (ret)
		return ret;
	/* A bad window is the caller's mistake: no abort flag is raised. */
	if (!max_inflight || max_inflight > L3L2Q_WINDOW_MAX ||
	    max_inflight > q->ep.layout.depth) {
		l3l2q_store_once_u32(&q->ep.gate,
				     L3L2Q__GATE(L3L2Q_ROLE_L2,
						 L3L2Q_STATE_RELEASED));
		return l3l2q__reject(&q->ep, EINVAL, L3L2Q_ERR_BAD_ARGUMENT,
				     L3L2Q_EOP_INIT, "max_inflight ",
				     max_inflight,
				     " must be in [1, min(depth, 256)], depth ",
				     q->ep.layout.depth, "");
	}
	l3l2q__cons_init(&q->in, &q->ep, 1, start_pos, q->in_win, max_inflight);
	l3l2q__prod_init(&q->out, &q->ep, 0, start_pos);
	return 0;
}

int l3l2q_l2_try_peek(struct l3l2q_l2 *q, struct l3l2q_msg *msg)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_TRY_PEEK);

	if (ret)
		return ret;
	return l3l2q__cons_peek(&q->ep, &q->in, msg, L3L2Q_EOP_INPUT_TRY_PEEK,
				1);
}

struct peek_args {
	struct l3l2q_l2 *q;
	struct l3l2q_msg *msg;
};

static int peek_once(void *arg)
{
	struct peek_args *a = arg;

	return l3l2q_l2_try_peek(a->q, a->msg);
}

int l3l2q_l2_peek(struct l3l2q_l2 *q, __u64 deadline_ns, struct l3l2q_msg *msg)
{
	struct peek_args a = { q, msg };
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_INPUT_TRY_PEEK);

	if (ret)
		return ret;
	w.bit = L3L2Q_WAKE_INPUT_AVAIL;
	w.counter = L3L2Q_CTR_INPUT_TAIL;
	w.local = &q->in.tail;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_INPUT_TRY_PEEK, deadline_ns,
			   peek_once, &a, &w);
}

int l3l2q_l2_release(struct l3l2q_l2 *q, const struct l3l2q_msg *msg)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_RELEASE);

	if (ret)
		return ret;
	if (l3l2q__unlikely(!msg))
		return l3l2q__cons_release(&q->ep, &q->in, msg,
					   L3L2Q_EOP_INPUT_RELEASE);
	return l3l2q__cons_release_n(&q->ep, &q->in, msg, 1,
				     L3L2Q_EOP_INPUT_RELEASE);
}

int l3l2q_l2_release_batch(struct l3l2q_l2 *q, const struct l3l2q_msg *msgs,
			   __u32 n)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_RELEASE);

	if (ret)
		return ret;
	return l3l2q__cons_release_n(&q->ep, &q->in, msgs, n,
				     L3L2Q_EOP_INPUT_RELEASE);
}

int l3l2q_l2_try_peek_batch(struct l3l2q_l2 *q, struct l3l2q_msg *msgs,
			    __u32 n)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_TRY_PEEK);

	if (ret)
		return ret;
	/* The single mode's second peek poisons, as in try_peek. */
	if (l3l2q__unlikely(q->in.max_inflight == 1 && q->in.active && n))
		return l3l2q__cons_try_peek(&q->ep, &q->in, msgs,
					    L3L2Q_EOP_INPUT_TRY_PEEK);
	return l3l2q__cons_peek_batch(&q->ep, &q->in, msgs, n,
				      L3L2Q_EOP_INPUT_TRY_PEEK);
}

int l3l2q_l2_release_oldest(struct l3l2q_l2 *q, __u32 n)
{
	int ret = CHECK(q, L3L2Q_EOP_INPUT_RELEASE);

	if (ret)
		return ret;
	return l3l2q__cons_release_oldest(&q->ep, &q->in, n,
					  L3L2Q_EOP_INPUT_RELEASE);
}

/*
 * l3l2q_l2_try_dequeue() for anything but the common case: peek, copy
 * out, release, each the complete call.  A message that does not fit
 * @buf is given back before anything shared moved, so it stays the next
 * one (P6).
 */
static L3L2Q__COLD int dequeue_slow(void *arg, void *buf, __u64 cap,
				    struct l3l2q_msg *msg)
{
	struct l3l2q_l2 *q = arg;
	const __u32 op = L3L2Q_EOP_INPUT_TRY_PEEK;
	struct l3l2q_cons *c;
	struct l3l2q_msg m;
	__u64 acq, pacq;
	int ret = CHECK(q, op);

	if (ret)
		return ret;
	c = &q->in;
	acq = c->acq;
	pacq = c->pacq;
	ret = l3l2q_l2_try_peek(q, &m);
	if (ret)
		return ret;
	if (m.nbytes && (!buf || cap < m.nbytes)) {
		/* The newest held entry, DATA or ERROR (STOP has no bytes). */
		c->active--;
		c->non_stop--;
		c->acq = acq;
		c->pacq = pacq;
		if (!buf)
			return l3l2q__reject(&q->ep, EINVAL,
					     L3L2Q_ERR_BAD_ARGUMENT, op,
					     "buf is NULL but the message has ",
					     m.nbytes, " bytes", 0, NULL);
		return l3l2q__reject(&q->ep, EMSGSIZE, L3L2Q_ERR_BAD_ARGUMENT,
				     op, "buffer of ", cap,
				     " bytes is smaller than the message of ",
				     m.nbytes, " bytes");
	}
	if (m.nbytes)
		l3l2q__memcpy(buf, m.data, m.nbytes);
	ret = l3l2q_l2_release(q, &m);
	if (!ret && msg)
		*msg = m;
	return ret;
}

int l3l2q_l2_try_dequeue(struct l3l2q_l2 *q, void *buf, __u64 cap,
			 struct l3l2q_msg *msg)
{
	if (l3l2q__likely(l3l2q__live(q, L3L2Q_ROLE_L2)))
		return l3l2q__cons_dequeue(&q->ep, &q->in, buf, cap, msg,
					   L3L2Q_EOP_INPUT_TRY_PEEK, 1,
					   dequeue_slow, q);
	return dequeue_slow(q, buf, cap, msg);
}

int l3l2q_l2_drained(const struct l3l2q_l2 *q)
{
	/* Any state: a released endpoint still knows whether it drained. */
	if (!q || (l3l2q__gate(&q->ep) & L3L2Q__GATE_MASK) !=
		  L3L2Q__GATE_MAGIC || q->ep.role != L3L2Q_ROLE_L2)
		return -EINVAL;
	return q->in.drained;
}

int l3l2q_l2_try_reserve(struct l3l2q_l2 *q, __u64 n, struct l3l2q_res *res)
{
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_TRY_RESERVE);

	if (ret)
		return ret;
	return l3l2q__prod_reserve(&q->ep, &q->out, n, res,
				   L3L2Q_EOP_OUTPUT_TRY_RESERVE);
}

struct reserve_args {
	struct l3l2q_l2 *q;
	__u64 n;
	struct l3l2q_res *res;
};

static int reserve_once(void *arg)
{
	struct reserve_args *a = arg;

	return l3l2q_l2_try_reserve(a->q, a->n, a->res);
}

int l3l2q_l2_reserve(struct l3l2q_l2 *q, __u64 n, __u64 deadline_ns,
		     struct l3l2q_res *res)
{
	struct reserve_args a = { q, n, res };
	struct l3l2q_waitspec w;
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_TRY_RESERVE);

	if (ret)
		return ret;
	w.bit = L3L2Q_WAKE_OUTPUT_SPACE;
	w.counter = L3L2Q_CTR_OUTPUT_HEAD;
	w.local = &q->out.head;
	return l3l2q__wait(&q->ep, L3L2Q_EOP_OUTPUT_TRY_RESERVE, deadline_ns,
			   reserve_once, &a, &w);
}

int l3l2q_l2_publish(struct l3l2q_l2 *q, const struct l3l2q_res *res,
		     __u64 opcode)
{
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_PUBLISH);

	if (ret)
		return ret;
	return l3l2q__prod_put(&q->ep, &q->out, res, opcode,
			       L3L2Q_EOP_OUTPUT_PUBLISH, 0);
}

int l3l2q_l2_publish_defer(struct l3l2q_l2 *q, const struct l3l2q_res *res,
			   __u64 opcode)
{
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_PUBLISH);

	if (ret)
		return ret;
	return l3l2q__prod_put(&q->ep, &q->out, res, opcode,
			       L3L2Q_EOP_OUTPUT_PUBLISH, 1);
}

int l3l2q_l2_flush(struct l3l2q_l2 *q)
{
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_PUBLISH);

	if (ret)
		return ret;
	return l3l2q__prod_flush(&q->ep, &q->out, L3L2Q_EOP_OUTPUT_PUBLISH);
}

int l3l2q_l2_try_reserve_batch(struct l3l2q_l2 *q, __u64 nbytes, __u32 n,
			       struct l3l2q_batch *b)
{
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_TRY_RESERVE);

	if (ret)
		return ret;
	return l3l2q__prod_reserve_batch(&q->ep, &q->out, nbytes, n, b,
					 L3L2Q_EOP_OUTPUT_TRY_RESERVE);
}

int l3l2q_l2_submit_batch(struct l3l2q_l2 *q, const struct l3l2q_batch *b,
			  __u32 n, __u64 opcode)
{
	int ret = CHECK(q, L3L2Q_EOP_OUTPUT_PUBLISH);

	if (ret)
		return ret;
	return l3l2q__prod_submit_batch(&q->ep, &q->out, b, n, opcode,
					L3L2Q_EOP_OUTPUT_PUBLISH);
}

void l3l2q_l2_close(struct l3l2q_l2 *q)
{
	if (q)
		l3l2q__ep_close(&q->ep, L3L2Q_ROLE_L2);
}
