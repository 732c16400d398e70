// SPDX-License-Identifier: MIT
/*
 * output.c - everything the orchestrator publishes for a task (its RESULT
 * or an ERROR) and the release of its input, in the library's FIFO order.
 */
#include <errno.h>
#include <string.h>

#include "devsim.h"

/* Blocking reserve that survives the wait slices; 0 or a failure exit. */
int devsim_reserve(struct devsim *d, __u64 n, struct l3l2q_res *res)
{
	int ret;

	do {
		if (devsim_stopping(d))
			return DEVSIM_STOPPED;
		ret = l3l2q_l2_reserve(d->l2, n, devsim_deadline(d->slice_ns),
				       res);
	} while (ret == -ETIMEDOUT);
	return ret ? devsim_queue_failure(d, "output reserve", ret) : 0;
}

/* Answer @in with an ERROR message: its header (when readable) + @reason. */
int devsim_publish_error(struct devsim *d, const struct l3l2q_msg *in,
			 const struct l3l2q_task_hdr *task, int readable,
			 const char *reason)
{
	struct l3l2q_task_hdr h = {
		.magic = L3L2Q_TASK_MAGIC,
		.version = L3L2Q_TASK_VERSION,
		.kind = L3L2Q_TASK_KIND_ERROR,
		.id = L3L2Q_TASK_ID_NONE,
	};
	struct l3l2q_res res;
	__u64 len = strlen(reason), n;
	int ret;

	if (readable) {
		h.op = task->op;
		h.arg = task->arg;
		h.id = task->id;
		h.work_ns = task->work_ns;
		h.submit_ns = task->submit_ns;
	}
	/* An output arena too small for the reason gets it truncated. */
	if (L3L2Q_TASK_HDR_BYTES + len > d->out_arena)
		len = d->out_arena > L3L2Q_TASK_HDR_BYTES ?
		      d->out_arena - L3L2Q_TASK_HDR_BYTES : 0;
	n = d->out_arena >= L3L2Q_TASK_HDR_BYTES ? L3L2Q_TASK_HDR_BYTES + len : 0;
	h.payload_bytes = len;
	h.hash = l3l2q_fnv1a64(L3L2Q_FNV64_INIT, reason, len);
	ret = devsim_reserve(d, n, &res);
	if (ret)
		return ret;
	if (n) {
		l3l2q_task_store(res.data, &h);
		memcpy((char *)res.data + L3L2Q_TASK_HDR_BYTES, reason, len);
	}
	ret = l3l2q_l2_publish(d->l2, &res, L3L2Q_OP_ERROR);
	if (ret)
		return devsim_queue_failure(d, "output publish", ret);
	d->st.errors++;
	d->st.bytes_out += n;
	if (!devsim_quiet)
		devsim_msg("%sinput seq %llu: %s", d->tag,
			   (unsigned long long)in->seq, reason);
	return 0;
}

int devsim_release_input(struct devsim *d, const struct l3l2q_msg *in)
{
	int ret = l3l2q_l2_release(d->l2, in);

	return ret ? devsim_queue_failure(d, "input release", ret) : 0;
}

/* Entries the window holds: acquired and not yet released physically. */
unsigned int devsim_held(const struct devsim *d)
{
	return (unsigned int)(d->next_order - d->head_order);
}

/*
 * Release @s's input and mirror the library's FIFO watermark (reference
 * §7): the head only moves over the completed prefix.
 */
int devsim_retire(struct devsim *d, struct slot *s)
{
	struct slot *h;
	int ret = devsim_release_input(d, &s->msg);

	if (ret)
		return ret;
	s->state = SLOT_DONE;
	while (d->head_order < d->next_order) {
		h = &d->slots[d->head_order % d->inflight];
		if (h->state != SLOT_DONE)
			break;
		h->state = SLOT_FREE;
		d->head_order++;
	}
	return 0;
}

/* A core finished slot @idx: publish its RESULT, release its input. */
static int complete(struct devsim *d, const struct l3l2q_mailbox_msg *m)
{
	struct slot *s;
	struct l3l2q_task_hdr h;
	struct l3l2q_res res;
	const unsigned char *src;
	unsigned char *dst;
	__u64 k, n;
	int ret;

	if (m->task_token >= d->inflight ||
	    d->slots[m->task_token].state != SLOT_BUSY) {
		devsim_err_msg("%smailbox: completion for slot %llu that is not busy",
			       d->tag, (unsigned long long)m->task_token);
		return 1;
	}
	s = &d->slots[m->task_token];
	/* An older entry is still held: this one overtook it. */
	if (s->order != d->head_order)
		d->st.out_of_order++;
	h = s->hdr;
	h.kind = L3L2Q_TASK_KIND_RESULT;
	h.hash = m->backend_cookie;
	h.worker = m->engine;
	n = L3L2Q_TASK_HDR_BYTES + h.payload_bytes;
	ret = devsim_reserve(d, n, &res);
	if (ret)
		return ret;
	/* Zero copy: op() goes from the input view into the output view. */
	l3l2q_task_store(res.data, &h);
	src = (const unsigned char *)s->msg.data + L3L2Q_TASK_HDR_BYTES;
	dst = (unsigned char *)res.data + L3L2Q_TASK_HDR_BYTES;
	for (k = 0; k < h.payload_bytes; k++)
		dst[k] = l3l2q_task_apply(h.op, h.arg, src[k]);
	ret = l3l2q_l2_publish(d->l2, &res, L3L2Q_OP_DATA);
	if (ret)
		return devsim_queue_failure(d, "output publish", ret);
	d->st.tasks++;
	d->st.bytes_out += n;
	d->nbusy--;
	return devsim_retire(d, s);
}

int devsim_drain_mailbox(struct devsim *d, int *progress)
{
	struct l3l2q_mailbox_msg m;
	int ret;

	while (l3l2q_mailbox_pop(d->mb, &m) == 0) {
		*progress = 1;
		ret = complete(d, &m);
		if (ret)
			return ret;
	}
	return 0;
}
