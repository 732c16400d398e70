// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the L2 endpoint facing a hostile L3 (fuzz_queue.h has
 * the script format and the invariants).  The L3 is the library's own L3
 * endpoint, driven honestly by the script, plus arbitrary writes anywhere
 * in the region.
 */
#include "fuzz_queue.h"

static const int e_peek[] = { -EAGAIN, 0 };
static const int e_deq[] = { -EAGAIN, -EMSGSIZE, 0 };
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

/*
 * Reserve a batch of up to 1 + (@b >> 4 & 7) outputs of @n bytes, each
 * checked as a reservation, fill them, submit all or (@b & 8) half.
 */
static void sut_batch(struct fz *f, uint64_t n, uint8_t b)
{
	unsigned int want = 1 + (b >> 4 & 7), k;
	struct l3l2q_batch bt;
	int ret;

	ret = l3l2q_l2_try_reserve_batch(&f->l2, n, want, &bt);
	fz_result(f, "l2_try_reserve_batch", ret < 0 ? ret : 0, e_res);
	if (ret <= 0)
		return;
	fz_check_batch(f, 0, ret, want, &bt, n, b);
	k = b & 8 ? bt.n / 2 : bt.n;
	ret = l3l2q_l2_submit_batch(&f->l2, &bt, k, b & 1 ? L3L2Q_OP_ERROR :
				    L3L2Q_OP_DATA);
	fz_result(f, "l2_submit_batch", ret, fz_none);
}

/* Batched peek of up to @k inputs into the held list. */
static void peek_batch(struct fz *f, unsigned int k)
{
	struct l3l2q_msg m[8];
	int i, ret = l3l2q_l2_try_peek_batch(&f->l2, m, k);

	fz_result(f, "l2_try_peek_batch", ret < 0 ? ret : 0, e_peek);
	if (ret <= 0)
		return;
	if ((unsigned int)ret > k)
		fz_fail("peek_batch took %d of %u", ret, k);
	for (i = 0; i < ret; i++)
		took(f, &m[i]);
}

/*
 * Release by count the oldest held inputs: only as many as are held in an
 * unbroken run from the oldest (one released by handle behind the oldest
 * may not be counted again), then drop them from the held list.
 */
static void release_oldest(struct fz *f, uint8_t b)
{
	uint64_t lo = UINT64_MAX;
	unsigned int i, run, k;
	int ret;

	if (!f->n_sut_held)
		return;
	for (i = 0; i < f->n_sut_held; i++)
		if (f->sut_held[i].m.seq < lo)
			lo = f->sut_held[i].m.seq;
	/*
	 * The oldest held is the window's oldest (a completed entry is never
	 * the oldest: it would have been popped); count the run after it.
	 */
	for (run = 0;; run++) {
		for (i = 0; i < f->n_sut_held; i++)
			if (f->sut_held[i].m.seq == lo + run)
				break;
		if (i == f->n_sut_held)
			break;
	}
	k = 1 + b % run;
	ret = l3l2q_l2_release_oldest(&f->l2, k);
	fz_result(f, "l2_release_oldest", ret, fz_none);
	for (i = 0; i < f->n_sut_held;)
		if (f->sut_held[i].m.seq < lo + k)
			f->sut_held[i] = f->sut_held[--f->n_sut_held];
		else
			i++;
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
		if (b & 0x80) {
			peek_batch(f, 1 + (b & 7));
			break;
		}
		if (b & 0x40) {
			/* Copied out and released at once: never held. */
			ret = l3l2q_l2_try_dequeue(q, buf, b & 0x20 ?
						   sizeof(buf) : (b & 0x1f) * 8u,
						   &m);
			fz_result(f, "l2_try_dequeue", ret, e_deq);
			if (ret)
				break;
			fz_check_delivery(f, &m);
			if (m.nbytes && memcmp(buf, m.data, m.nbytes))
				fz_fail("try_dequeue copied other bytes than its span's");
			break;
		}
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
		if (b & 0x80) {
			release_oldest(f, b);
			break;
		}
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
		if (b & 0x80) {
			sut_batch(f, n, b);
			break;
		}
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
