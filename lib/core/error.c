// SPDX-License-Identifier: MIT
/*
 * Error records: {kind, op, region, message[256]}.  Messages are assembled
 * from fixed texts and numbers, because the core has no printf.
 */
#include "internal.h"
#include "l3l2q_signals.h"
#include "l3l2q_channel.h"

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
	/* the channel (uapi/l3l2q_channel.h) */
	[L3L2Q_EOP_CHAN_INIT] = "channel.init",
	[L3L2Q_EOP_CHAN_LEASE] = "channel.lease",
	[L3L2Q_EOP_CHAN_SEND] = "channel.send",
	[L3L2Q_EOP_CHAN_RESERVE] = "channel.reserve",
	[L3L2Q_EOP_CHAN_COMMIT] = "channel.commit",
	[L3L2Q_EOP_CHAN_FLUSH] = "channel.flush",
	[L3L2Q_EOP_CHAN_RECV] = "channel.recv",
	[L3L2Q_EOP_CHAN_PEEK] = "channel.peek",
	[L3L2Q_EOP_CHAN_RELEASE] = "channel.release",
	[L3L2Q_EOP_CHAN_CALL] = "channel.call",
	[L3L2Q_EOP_CHAN_CLOSE] = "channel.close",
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

	if (!err)
		return;
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

/* What a handle that is no endpoint at all gets instead of a record. */
static const struct l3l2q_error null_record = {
	.kind = L3L2Q_ERR_BAD_ARGUMENT,
	.message = "the endpoint is NULL",
};

static const struct l3l2q_error foreign_record = {
	.kind = L3L2Q_ERR_BAD_ARGUMENT,
	.message = "not an endpoint: never initialised (l3l2q_l3_init/l3l2q_l2_init), or not one at all",
};

static const struct l3l2q_error *bad_handle(const struct l3l2q_ep *ep)
{
	if (!ep)
		return &null_record;
	if ((l3l2q__gate(ep) & L3L2Q__GATE_MASK) != L3L2Q__GATE_MAGIC)
		return &foreign_record;
	return (const struct l3l2q_error *)0;
}

const struct l3l2q_error *l3l2q_ep_error(const struct l3l2q_ep *ep)
{
	const struct l3l2q_error *bad = bad_handle(ep);

	return bad ? bad : &ep->err;
}

const struct l3l2q_error *l3l2q_ep_last_error(const struct l3l2q_ep *ep)
{
	const struct l3l2q_error *bad = bad_handle(ep);

	if (bad)
		return bad;
	return &ep->dir[l3l2q_load_once_u32(&ep->last_dir) & 1].last;
}

const struct l3l2q_error *l3l2q_ep_last_error_dir(const struct l3l2q_ep *ep,
						  __u32 dir)
{
	static const struct l3l2q_error bad_dir = {
		.kind = L3L2Q_ERR_BAD_ARGUMENT,
		.message = "dir must be L3L2Q_DIR_INPUT or L3L2Q_DIR_OUTPUT",
	};
	const struct l3l2q_error *bad = bad_handle(ep);

	if (bad)
		return bad;
	return dir > L3L2Q_DIR_OUTPUT ? &bad_dir : &ep->dir[dir].last;
}

int l3l2q_ep_state(const struct l3l2q_ep *ep)
{
	__u32 s;

	if (bad_handle(ep))
		return -EINVAL;
	s = L3L2Q__GATE_STATE(l3l2q__gate(ep));
	/* Becoming terminal: not yet, as far as the caller can tell. */
	return s == L3L2Q__BUSY ? L3L2Q_STATE_LIVE : (int)s;
}
