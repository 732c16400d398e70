// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the L3 endpoint facing a hostile L2 (fuzz_queue.h has
 * the script format and the invariants).  The L2 is the library's own L2
 * endpoint, driven honestly by the script, plus arbitrary writes anywhere
 * in the region.
 */
#include "fuzz_queue.h"

static const int e_enq[] = { -EAGAIN, -EMSGSIZE, -EPIPE, 0 };
static const int e_peek[] = { -EAGAIN, 0 };
static const int e_read[] = { -EMSGSIZE, 0 };
static const int e_stop[] = { -EAGAIN, -EPIPE, 0 };
static const int e_benq[] = { -ETIMEDOUT, -EMSGSIZE, -EPIPE, 0 };
static const int e_bdeq[] = { -ETIMEDOUT, -EMSGSIZE, 0 };
static const int e_tdeq[] = { -EAGAIN, -EMSGSIZE, 0 };

static const int e_inval[] = { -EINVAL, 0 };

static unsigned char buf[FZ_MAX_ARENA * 2];
static struct l3l2q_msg batch[L3L2Q_L3_WINDOW_MAX + 1];

/* A message the L3 now holds: new (checked) or the oldest held again. */
static void took(struct fz *f, const struct l3l2q_msg *m)
{
	if (f->n_sut_held) {
		if (memcmp(m, &f->sut_held[0].m, sizeof(*m)))
			fz_fail("peek gave another message than the oldest held");
		return;
	}
	fz_check_delivery(f, m);
	f->sut_held[0].m = *m;
	f->n_sut_held = 1;
}

/* The @k oldest held messages were released. */
static void released(struct fz *f, unsigned int k)
{
	memmove(f->sut_held, f->sut_held + k,
		(f->n_sut_held - k) * sizeof(f->sut_held[0]));
	f->n_sut_held -= k;
}

/* A dequeue gave @m: the oldest held one, or a new delivery. */
static void dequeued(struct fz *f, const struct l3l2q_msg *m)
{
	if (!f->n_sut_held) {
		fz_check_delivery(f, m);
		return;
	}
	if (memcmp(m, &f->sut_held[0].m, sizeof(*m)))
		fz_fail("dequeue gave another message than the oldest held");
	released(f, 1);
}

/* Batched peek of up to @k: new messages after the held ones. */
static void peek_batch(struct fz *f, unsigned int k)
{
	int i, ret = l3l2q_l3_try_peek_batch(&f->l3, batch, k);

	fz_result(f, "l3_try_peek_batch", ret < 0 ? ret : 0, e_peek);
	if (ret <= 0)
		return;
	if ((unsigned int)ret > k ||
	    f->n_sut_held + (unsigned int)ret > L3L2Q_L3_WINDOW_MAX)
		fz_fail("peek_batch took %d of %u with %u held", ret, k,
			f->n_sut_held);
	for (i = 0; i < ret; i++) {
		fz_check_delivery(f, &batch[i]);
		f->sut_held[f->n_sut_held++].m = batch[i];
	}
}

/* Release the @k oldest held at once; @skew: one out of order (refused). */
static void release_batch(struct fz *f, unsigned int k, int skew)
{
	unsigned int i;
	int ret;

	for (i = 0; i < k; i++)
		batch[i] = f->sut_held[i].m;
	if (skew && k >= 2) {
		batch[0] = f->sut_held[1].m;
		batch[1] = f->sut_held[0].m;
		ret = l3l2q_l3_release_batch(&f->l3, batch, k);
		if (!f->sut_terminal && ret != -EINVAL)
			fz_fail("out-of-order release_batch returned %d", ret);
		fz_result(f, "l3_release_batch", ret, e_inval);
		return;
	}
	ret = l3l2q_l3_release_batch(&f->l3, batch, k);
	fz_result(f, "l3_release_batch", ret, fz_none);
	if (!ret)
		released(f, k);
}

/*
 * Reserve a batch of up to 1 + (@b >> 4 & 7) messages of @n bytes, each
 * checked as a reservation, fill them, submit all or (@b & 8) half.
 */
static void sut_batch(struct fz *f, uint64_t n, uint8_t b)
{
	unsigned int want = 1 + (b >> 4 & 7), k;
	struct l3l2q_batch bt;
	int ret;

	ret = l3l2q_l3_try_reserve_batch(&f->l3, n, want, &bt);
	fz_result(f, "l3_try_reserve_batch", ret < 0 ? ret : 0, e_enq);
	if (ret <= 0)
		return;
	fz_check_batch(f, 1, ret, want, &bt, n, b);
	k = b & 8 ? bt.n / 2 : bt.n;
	ret = l3l2q_l3_submit_batch(&f->l3, &bt, k, b & 1 ? L3L2Q_OP_ERROR :
				    L3L2Q_OP_DATA);
	fz_result(f, "l3_submit_batch", ret, fz_none);
}

static void sut_op(struct fz *f, struct fz_in *in, uint8_t op)
{
	struct l3l2q_l3 *q = &f->l3;
	uint64_t a = f->layout.input_arena_bytes, n;
	struct l3l2q_res res;
	struct l3l2q_msg m;
	uint8_t b = fz_u8(in);
	int ret;

	n = fz_u16(in) % (a + a / 4 + 1);
	switch (op) {
	case 0:
		memset(buf, b, n);
		ret = l3l2q_l3_try_enqueue(q, b & 1 ? L3L2Q_OP_ERROR :
					   L3L2Q_OP_DATA, buf, n);
		fz_result(f, "l3_try_enqueue", ret, e_enq);
		break;
	case 1:
		if (b & 0x80) {
			sut_batch(f, n, b);
			break;
		}
		ret = l3l2q_l3_try_reserve(q, n, &res);
		fz_result(f, "l3_try_reserve", ret, e_enq);
		if (ret)
			break;
		fz_check_res(f, 1, &res, n);
		if (n)
			memset(res.data, b, n);
		if (b & 2)
			ret = l3l2q_l3_publish_defer(q, &res, L3L2Q_OP_DATA);
		else
			ret = l3l2q_l3_publish(q, &res, L3L2Q_OP_DATA);
		fz_result(f, "l3_publish", ret, fz_none);
		break;
	case 2:
		fz_result(f, "l3_flush", l3l2q_l3_flush(q), fz_none);
		break;
	case 3:
		if (b & 8) {
			peek_batch(f, 1 + (unsigned int)(n % L3L2Q_L3_WINDOW_MAX));
			break;
		}
		ret = l3l2q_l3_try_peek(q, &m);
		fz_result(f, "l3_try_peek", ret, e_peek);
		if (ret)
			break;
		took(f, &m);
		ret = l3l2q_l3_read(q, &m, buf, b & 1 ? n : sizeof(buf));
		fz_result(f, "l3_read", ret, e_read);
		if (!ret && m.nbytes && memcmp(buf, m.data, m.nbytes))
			fz_fail("read copied other bytes than the message's");
		if (b & 2)
			break;		/* keep it active */
		/* fall through */
	case 4:
		if (!f->n_sut_held)
			break;
		if (b & 8) {
			release_batch(f, 1 + (unsigned int)(n % f->n_sut_held),
				      (b & 0x30) == 0x30);
			break;
		}
		ret = l3l2q_l3_release(q, &f->sut_held[0].m);
		fz_result(f, "l3_release", ret, fz_none);
		if (!ret)
			released(f, 1);
		break;
	case 5:
		ret = l3l2q_l3_try_dequeue(q, buf, b & 1 ? n : sizeof(buf), &m);
		fz_result(f, "l3_try_dequeue", ret, e_tdeq);
		if (ret == -EMSGSIZE && f->n_sut_held == 0) {
			/* the message stays active: a delivery all the same */
			if (l3l2q_l3_try_peek(q, &m))
				fz_fail("after -EMSGSIZE the message is gone");
			took(f, &m);
		} else if (!ret) {
			dequeued(f, &m);
		}
		break;
	case 6:
		if (b > 16)	/* rarely: STOP ends the input for good */
			break;
		ret = l3l2q_l3_try_request_stop(q);
		fz_result(f, "l3_try_request_stop", ret, e_stop);
		break;
	case 7:
		if (b & 1) {
			ret = l3l2q_ep_want_wakeup(&q->ep, b & 2 ?
						   L3L2Q_WAKE_INPUT_SPACE :
						   L3L2Q_WAKE_OUTPUT_AVAIL);
			if (ret)
				fz_fail("want_wakeup of a valid bit: %d", ret);
		} else {
			l3l2q_ep_clear_wakeup(&q->ep, L3L2Q_WAKE_INPUT_SPACE |
					      L3L2Q_WAKE_OUTPUT_AVAIL);
		}
		break;
	default: {
		/* Blocking, with a deadline a few clock reads ahead. */
		uint64_t dl = f->clock + 1000 * (b % 4);

		if (b & 4) {
			memset(buf, b, n);
			ret = l3l2q_l3_enqueue(q, L3L2Q_OP_DATA, buf, n, dl);
			fz_result(f, "l3_enqueue", ret, e_benq);
			break;
		}
		ret = l3l2q_l3_dequeue(q, buf, sizeof(buf), dl, &m);
		fz_result(f, "l3_dequeue", ret, e_bdeq);
		if (!ret)
			dequeued(f, &m);
		break;
	}
	}
}

/* The honest L2: consume inputs, publish outputs (recorded). */
static void peer_op(struct fz *f, struct fz_in *in, uint8_t op)
{
	struct l3l2q_l2 *q = &f->l2;
	uint64_t a = f->layout.output_arena_bytes, n;
	struct l3l2q_res res;
	struct l3l2q_msg m;
	uint8_t b = fz_u8(in);
	unsigned int i;

	switch (op) {
	case 0:
		if (f->window == 1 && f->n_peer_held)
			break;		/* a second peek would be a broken caller */
		if (!l3l2q_l2_try_peek(q, &m) && f->n_peer_held <= f->window)
			f->peer_held[f->n_peer_held++].m = m;
		break;
	case 1:
		if (!f->n_peer_held)
			break;
		i = b % f->n_peer_held;
		l3l2q_l2_release(q, &f->peer_held[i].m);
		f->peer_held[i] = f->peer_held[--f->n_peer_held];
		break;
	default:
		n = fz_u16(in) % (a + 1);
		if (l3l2q_l2_try_reserve(q, n, &res))
			break;
		for (i = 0; i < n; i++)
			((unsigned char *)res.data)[i] = fz_byte(res.seq, b, i);
		if (!l3l2q_l2_publish(q, &res, b & 1 ? L3L2Q_OP_ERROR :
				      L3L2Q_OP_DATA))
			fz_record(f, &res, b & 1 ? L3L2Q_OP_ERROR :
				  L3L2Q_OP_DATA, b);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_run(data, size, 1, 9, sut_op, peer_op);
}
