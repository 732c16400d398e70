// SPDX-License-Identifier: MIT
/*
 * input.c - one acquired input: checked, then given to a core, answered
 * with an ERROR, or kept as the STOP.
 */
#include <stdio.h>
#include <string.h>

#include "devsim.h"

/* A task may not occupy a core for longer than this (a hostile work_ns). */
#define MAX_WORK_NS		(10ull * 1000000000ull)
#define REASON_BYTES		160u

/*
 * Check a task; NULL if it is fine, else the reason, naming the field.
 * *readable says whether the header (and so the id) could be trusted.
 */
static const char *check_task(struct devsim *d, const struct l3l2q_msg *in,
			      struct l3l2q_task_hdr *h, int *readable,
			      char *buf, size_t cap)
{
	memset(h, 0, sizeof(*h));
	/* The id is trusted only behind a full header with the right magic. */
	if (in->nbytes >= L3L2Q_TASK_HDR_BYTES)
		l3l2q_task_load(h, in->data);
	*readable = in->nbytes >= L3L2Q_TASK_HDR_BYTES &&
		    h->magic == L3L2Q_TASK_MAGIC;
	if (in->opcode == L3L2Q_OP_ERROR)
		return "opcode: the input is an ERROR message, not a task";
	if (in->nbytes < L3L2Q_TASK_HDR_BYTES) {
		snprintf(buf, cap, "payload: %llu bytes, smaller than the "
			 "%u-byte task header", (unsigned long long)in->nbytes,
			 L3L2Q_TASK_HDR_BYTES);
		return buf;
	}
	if (h->magic != L3L2Q_TASK_MAGIC) {
		snprintf(buf, cap, "magic: 0x%08x is not 0x%08x", h->magic,
			 L3L2Q_TASK_MAGIC);
		return buf;
	}
	if (h->version != L3L2Q_TASK_VERSION) {
		snprintf(buf, cap, "version: %u, expected %u", h->version,
			 L3L2Q_TASK_VERSION);
		return buf;
	}
	if (h->kind != L3L2Q_TASK_KIND_TASK) {
		snprintf(buf, cap, "kind: %u is not TASK (%u)", h->kind,
			 L3L2Q_TASK_KIND_TASK);
		return buf;
	}
	if (h->payload_bytes != in->nbytes - L3L2Q_TASK_HDR_BYTES) {
		snprintf(buf, cap, "payload_bytes: the header says %llu, the "
			 "message carries %llu",
			 (unsigned long long)h->payload_bytes,
			 (unsigned long long)(in->nbytes - L3L2Q_TASK_HDR_BYTES));
		return buf;
	}
	if (h->op >= L3L2Q_TASK_OP_COUNT) {
		snprintf(buf, cap, "op: unknown op %u", h->op);
		return buf;
	}
	if (h->work_ns > MAX_WORK_NS) {
		snprintf(buf, cap, "work_ns: %llu exceeds the limit of %llu",
			 (unsigned long long)h->work_ns, MAX_WORK_NS);
		return buf;
	}
	if (h->resv || h->hash || h->worker) {
		snprintf(buf, cap, "resv: hash, worker and resv must be 0 in a task");
		return buf;
	}
	if (in->nbytes > d->out_arena) {
		snprintf(buf, cap, "payload_bytes: a %llu-byte result can never "
			 "fit the %llu-byte output arena",
			 (unsigned long long)in->nbytes,
			 (unsigned long long)d->out_arena);
		return buf;
	}
	return NULL;
}

/* Take one acquired input: a task for a core, an ERROR answer, or STOP. */
int devsim_take_input(struct devsim *d, const struct l3l2q_msg *in,
		      struct l3l2q_msg *stop, int *stop_seen)
{
	char buf[REASON_BYTES];
	struct l3l2q_task_hdr h;
	const char *why;
	struct slot *s;
	unsigned int i;
	int readable, ret;

	if (in->opcode == L3L2Q_OP_STOP) {
		*stop = *in;
		*stop_seen = 1;
		return 0;
	}
	i = (unsigned int)(d->next_order % d->inflight);
	s = &d->slots[i];
	if (s->state != SLOT_FREE) {
		/* The library's window would have refused: cannot happen. */
		devsim_err_msg("%sslot %u still held with %u entries held",
			       d->tag, i, devsim_held(d));
		return 1;
	}
	s->msg = *in;
	s->order = d->next_order++;
	d->st.bytes_in += in->nbytes;
	why = check_task(d, in, &h, &readable, buf, sizeof(buf));
	if (why) {
		/* Answered at once; it still takes its turn in the window. */
		ret = devsim_publish_error(d, in, &h, readable, why);
		return ret ? ret : devsim_retire(d, s);
	}
	s->hdr = h;
	s->state = SLOT_BUSY;
	d->nbusy++;
	devsim_dispatch(d, i);
	return 0;
}
