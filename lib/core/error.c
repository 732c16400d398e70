// SPDX-License-Identifier: MIT
/*
 * Error records: {kind, op, region, message[256]}.  Messages are assembled
 * from fixed texts and numbers, because the core has no printf.
 */
#include "internal.h"
#include "l3l2q_signals.h"

static const char *const op_names[] = {
	[L3L2Q_EOP_INIT] = "init",
	[L3L2Q_EOP_TIMEOUT] = "timeout",
	[L3L2Q_EOP_INPUT_TRY_PEEK] = "input.try_peek",
	[L3L2Q_EOP_INPUT_RELEASE] = "input.release",
	[L3L2Q_EOP_OUTPUT_TRY_RESERVE] = "output.try_reserve",
	[L3L2Q_EOP_OUTPUT_PUBLISH] = "output.publish",
	[L3L2Q_EOP_INPUT_TRY_RESERVE] = "input.try_reserve",
	[L3L2Q_EOP_INPUT_PUBLISH] = "input.publish",
	[L3L2Q_EOP_INPUT_ENQUEUE] = "input.enqueue",
	[L3L2Q_EOP_REQUEST_STOP] = "input.request_stop",
	[L3L2Q_EOP_OUTPUT_TRY_PEEK] = "output.try_peek",
	[L3L2Q_EOP_OUTPUT_READ] = "output.read",
	[L3L2Q_EOP_OUTPUT_RELEASE] = "output.release",
	[L3L2Q_EOP_ATTACH] = "attach",
	[L3L2Q_EOP_SIG_INIT] = "signals.init",
	[L3L2Q_EOP_SIG_READ] = "signals.read",
	[L3L2Q_EOP_SIG_WRITE] = "signals.write",
	[L3L2Q_EOP_SIG_NOTIFY] = "signals.notify",
	[L3L2Q_EOP_SIG_WAIT] = "signals.wait",
	[L3L2Q_EOP_SIG_ARM] = "signals.arm",
};

static const char *const kind_names[] = {
	[L3L2Q_ERR_NONE] = "none",
	[L3L2Q_ERR_BAD_ARGUMENT] = "bad argument",
	[L3L2Q_ERR_BAD_DESCRIPTOR] = "bad descriptor",
	[L3L2Q_ERR_INVALID_DESCRIPTOR] = "invalid descriptor",
	[L3L2Q_ERR_OUT_OF_SPACE] = "out of space",
	[L3L2Q_ERR_OWNERSHIP] = "ownership",
	[L3L2Q_ERR_REMOTE_ABORTED] = "remote aborted",
	[L3L2Q_ERR_ENDPOINT_ERROR] = "endpoint error",
	[L3L2Q_ERR_STOPPED] = "stopped",
	[L3L2Q_ERR_TIMEOUT] = "timeout",
	[L3L2Q_ERR_RELEASED] = "released",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *l3l2q_error_op_str(__u32 op)
{
	if (op < ARRAY_LEN(op_names) && op_names[op])
		return op_names[op];
	return "unknown";
}

const char *l3l2q_error_kind_str(__u32 kind)
{
	if (kind < ARRAY_LEN(kind_names) && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

void l3l2q__msg_start(struct l3l2q_msgbuf *m, struct l3l2q_error *err)
{
	m->buf = err->message;
	m->len = 0;
	m->buf[0] = '\0';
}

void l3l2q__msg_str(struct l3l2q_msgbuf *m, const char *s)
{
	if (!s)
		return;
	while (*s && m->len < L3L2Q_ERROR_MSG_BYTES - 1)
		m->buf[m->len++] = *s++;
	m->buf[m->len] = '\0';
}

void l3l2q__msg_u64(struct l3l2q_msgbuf *m, __u64 v)
{
	char digits[21];
	unsigned int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && m->len < L3L2Q_ERROR_MSG_BYTES - 1)
		m->buf[m->len++] = digits[--n];
	m->buf[m->len] = '\0';
}

void l3l2q_error_set_message(struct l3l2q_error *err, const char *msg)
{
	struct l3l2q_msgbuf m;

	l3l2q__msg_start(&m, err);
	l3l2q__msg_str(&m, msg);	/* NULL gives "" (pitfall P3) */
}

void l3l2q__record(struct l3l2q_error *err, __u32 kind, __u32 op,
		   __u64 region_id, const char *a, __u64 x, const char *b,
		   __u64 y, const char *c)
{
	struct l3l2q_msgbuf m;

	err->kind = kind;
	err->op = op;
	err->region_id = region_id;
	l3l2q__msg_start(&m, err);
	l3l2q__msg_str(&m, a);
	/* A number is printed only when text follows it. */
	if (!b)
		return;
	l3l2q__msg_u64(&m, x);
	l3l2q__msg_str(&m, b);
	if (!c)
		return;
	l3l2q__msg_u64(&m, y);
	l3l2q__msg_str(&m, c);
}

const struct l3l2q_error *l3l2q_ep_error(const struct l3l2q_ep *ep)
{
	return &ep->err;
}

const struct l3l2q_error *l3l2q_ep_last_error(const struct l3l2q_ep *ep)
{
	return &ep->last;
}

enum l3l2q_state l3l2q_ep_state(const struct l3l2q_ep *ep)
{
	return (enum l3l2q_state)ep->state;
}
