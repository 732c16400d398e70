// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the L2 endpoint facing a hostile L3 (fuzz_queue.h has
 * the script format and the invariants).  The L3 is the library's own L3
 * endpoint, driven honestly by the script, plus arbitrary writes anywhere
 * in the region.
 */
#include "fuzz_queue.h"

static const int e_peek[] = { -EAGAIN, 0 };
static const int e_res[] = { -EAGAIN, -EMSGSIZE, 0 };
static const int e_bpeek[] = { -ETIMEDOUT, 0 };
static const int e_bres[] = { -ETIMEDOUT, -EMSGSIZE, 0 };

static unsigned char buf[FZ_MAX_ARENA * 2];

static void took(struct fz *f, const struct l3l2q_msg *m)
{
	fz_check_delivery(f, m);
	if (f->n_sut_held > f->window)
		fz_fail("more than window + 1 inputs held");
	f->sut_held[f->n_sut_held++].m = *m;
}

/* With a window of 1, a second peek while one is held is a broken caller. */
static int may_peek(const struct fz *f)
{
	return f->window > 1 || !f->n_sut_held;
}

static void sut_op(struct fz *f, struct fz_in *in, uint8_t op)
{
	struct l3l2q_l2 *q = &f->l2;
	uint64_t a = f->layout.output_arena_bytes, n;
	struct l3l2q_msg m, batch[L3L2Q_WINDOW_MAX + 1];
	struct l3l2q_res res;
	uint8_t b = fz_u8(in);
	unsigned int i, k;
	int ret;

	n = fz_u16(in) % (a + a / 4 + 1);
	switch (op) {
	case 0:
		if (!may_peek(f))
			break;
		ret = l3l2q_l2_try_peek(q, &m);
		fz_result(f, "l2_try_peek", ret, e_peek);
		if (!ret)
			took(f, &m);
		break;
	case 1:
		if (!f->n_sut_held)
			break;
		i = b % f->n_sut_held;
		ret = l3l2q_l2_release(q, &f->sut_held[i].m);
		fz_result(f, "l2_release", ret, fz_none);
		f->sut_held[i] = f->sut_held[--f->n_sut_held];
		break;
	case 2:
		/* Release the first k held at once, in either order. */
		k = f->n_sut_held ? 1 + b % f->n_sut_held : 0;
		for (i = 0; i < k; i++)
			batch[i] = f->sut_held[b & 1 ? k - 1 - i : i].m;
		ret = l3l2q_l2_release_batch(q, batch, k);
		fz_result(f, "l2_release_batch", ret, fz_none);
		for (i = k; i < f->n_sut_held; i++)
			f->sut_held[i - k] = f->sut_held[i];
		f->n_sut_held -= k;
		break;
	case 3:
		ret = l3l2q_l2_try_reserve(q, n, &res);
		fz_result(f, "l2_try_reserve", ret, e_res);
		if (ret)
			break;
		fz_check_res(f, 0, &res, n);
		if (n)
			memset(res.data, b, n);
		if (b & 2)
			ret = l3l2q_l2_publish_defer(q, &res, b & 1 ?
						     L3L2Q_OP_ERROR :
						     L3L2Q_OP_DATA);
		else
			ret = l3l2q_l2_publish(q, &res, b & 1 ? L3L2Q_OP_ERROR :
					       L3L2Q_OP_DATA);
		fz_result(f, "l2_publish", ret, fz_none);
		break;
	case 4:
		fz_result(f, "l2_flush", l3l2q_l2_flush(q), fz_none);
		break;
	case 5:
		if (b & 1) {
			ret = l3l2q_ep_want_wakeup(&q->ep, b & 2 ?
						   L3L2Q_WAKE_INPUT_AVAIL :
						   L3L2Q_WAKE_OUTPUT_SPACE);
			if (ret)
				fz_fail("want_wakeup of a valid bit: %d", ret);
		} else {
			l3l2q_ep_clear_wakeup(&q->ep, L3L2Q_WAKE_INPUT_AVAIL |
					      L3L2Q_WAKE_OUTPUT_SPACE);
		}
		(void)l3l2q_l2_drained(q);
		break;
	default: {
		/* Blocking, with a deadline a few clock reads ahead. */
		uint64_t dl = f->clock + 1000 * (b % 4);

		if (b & 4) {
			ret = l3l2q_l2_reserve(q, n, dl, &res);
			fz_result(f, "l2_reserve", ret, e_bres);
			if (ret)
				break;
			fz_check_res(f, 0, &res, n);
			ret = l3l2q_l2_publish(q, &res, L3L2Q_OP_DATA);
			fz_result(f, "l2_publish", ret, fz_none);
			break;
		}
		if (!may_peek(f))
			break;
		ret = l3l2q_l2_peek(q, dl, &m);
		fz_result(f, "l2_peek", ret, e_bpeek);
		if (!ret)
			took(f, &m);
		break;
	}
	}
}

/* The honest L3: publish inputs (recorded), consume outputs. */
static void peer_op(struct fz *f, struct fz_in *in, uint8_t op)
{
	struct l3l2q_l3 *q = &f->l3;
	uint64_t a = f->layout.input_arena_bytes, n;
	struct l3l2q_res res;
	struct l3l2q_msg m;
	uint8_t b = fz_u8(in);
	unsigned int i;

	switch (op) {
	case 0:
		/* Rarely STOP: nothing honest follows it. */
		if (b < 4) {
			if (!l3l2q_l3_try_reserve(q, 0, &res) &&
			    !l3l2q_l3_publish(q, &res, L3L2Q_OP_STOP))
				fz_record(f, &res, L3L2Q_OP_STOP, b);
			break;
		}
		/* fall through */
	case 1:
	case 2:
		n = fz_u16(in) % (a + 1);
		if (l3l2q_l3_try_reserve(q, n, &res))
			break;
		for (i = 0; i < n; i++)
			((unsigned char *)res.data)[i] = fz_byte(res.seq, b, i);
		if (!(b & 2 ? l3l2q_l3_publish_defer(q, &res, b & 1 ?
						     L3L2Q_OP_ERROR :
						     L3L2Q_OP_DATA) :
		      l3l2q_l3_publish(q, &res, b & 1 ? L3L2Q_OP_ERROR :
				       L3L2Q_OP_DATA)))
			fz_record(f, &res, b & 1 ? L3L2Q_OP_ERROR :
				  L3L2Q_OP_DATA, b);
		break;
	case 3:
		l3l2q_l3_flush(q);
		break;
	default:
		l3l2q_l3_try_dequeue(q, buf, sizeof(buf), &m);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(data, size, 0, 8, sut_op, peer_op);
}
