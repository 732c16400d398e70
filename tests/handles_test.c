// SPDX-License-Identifier: MIT
/*
 * Bad handles (issue 12, item 5): every public function of l3l2q_core.h,
 * libl3l2q.h, libl3l2q_uring.h and l3l2q_mailbox.h, given a NULL handle,
 * memory that was never initialised (zeroed, or garbage), or the endpoint
 * of the other role, returns -EINVAL (or what its page says it returns
 * instead) without a crash and without writing the memory it was given;
 * the wrong-role case is recorded in the handle's error record, and the
 * endpoint stays live.  Each call runs in a child of its own, so a crash
 * fails only its line of the table and names the function.
 *
 * Then the cases the issue reported one by one: l3l2q_queue_l2() of an L3
 * queue (NULL) fed to the next call, attach on a closed fd (-EBADF, not
 * -ENOTTY) and on an empty unix socket (-ENOMSG, not "role already
 * taken"), and last_error after -EAGAIN (cleared, not an older error).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "helpers.h"
#include "libl3l2q_uring.h"
#include "l3l2q_mailbox.h"

/* A small memfd queue (its message on stderr if that fails). */
static struct l3l2q_queue *new_queue(void)
{
	struct l3l2q_params p = {
		.depth = 4, .input_arena_bytes = 256,
		.output_arena_bytes = 256, .backend = L3L2Q_BACKEND_MEMFD,
	};
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;

	if (l3l2q_create(&p, &q, &err))
		fprintf(stderr, "create: %s\n", err.message);
	return q;
}

enum bad { BAD_NULL, BAD_ZERO, BAD_GARBAGE, BAD_ROLE, BAD_N };

static const char *const bad_names[BAD_N] = {
	"NULL", "zeroed memory", "garbage", "the other role's endpoint",
};

/* What one child sets up before the call under test. */
struct ctx {
	enum bad bad;
	struct th_region r;
	struct l3l2q_l3 l3;		/* live, on r */
	struct l3l2q_l2 l2;		/* live, on r */
	struct l3l2q_queue *q3, *q2;	/* a memfd queue and its L2 */
	union {				/* BAD_ZERO / BAD_GARBAGE */
		struct l3l2q_l3 l3;
		struct l3l2q_l2 l2;
		struct l3l2q_mailbox mb;
	} *junk;
	struct io_uring_sqe sqe;
	struct l3l2q_msg m;
	struct l3l2q_res res;
	struct l3l2q_batch b;
	struct l3l2q_stats st;
	struct l3l2q_mailbox_msg mm;
	unsigned char buf[64];
};

static struct l3l2q_l3 *L3(struct ctx *c)
{
	switch (c->bad) {
	case BAD_NULL:
		return NULL;
	case BAD_ROLE:
		return (struct l3l2q_l3 *)&c->l2;
	default:
		return &c->junk->l3;
	}
}

static struct l3l2q_l2 *L2(struct ctx *c)
{
	switch (c->bad) {
	case BAD_NULL:
		return NULL;
	case BAD_ROLE:
		return (struct l3l2q_l2 *)&c->l3;
	default:
		return &c->junk->l2;
	}
}

static struct l3l2q_ep *EP(struct ctx *c)
{
	return c->bad == BAD_NULL ? NULL : &c->junk->l3.ep;
}

static struct l3l2q_mailbox *MB(struct ctx *c)
{
	return c->bad == BAD_NULL ? NULL : &c->junk->mb;
}

/* 0 when a record says what is wrong (non-empty message), else 1. */
static int says(const struct l3l2q_error *e)
{
	return e && e->message[0] ? 0 : 1;
}

#define SEC	1000000000ull
#define DL	l3l2q_deadline_in(SEC / 10)

/* One line of the table: the call, and what it must give. */
struct entry {
	const char *name;
	int (*call)(struct ctx *c);
	int want;
	int role;		/* takes a role's endpoint: BAD_ROLE applies */
	int mailbox;		/* takes a mailbox: the junk is one */
};

#define E3(fn, expr) \
	static int t_##fn(struct ctx *c) { struct l3l2q_l3 *q = L3(c); return expr; }
#define E2(fn, expr) \
	static int t_##fn(struct ctx *c) { struct l3l2q_l2 *q = L2(c); return expr; }
#define EE(fn, expr) \
	static int t_##fn(struct ctx *c) { struct l3l2q_ep *ep = EP(c); return expr; }
#define EM(fn, expr) \
	static int t_##fn(struct ctx *c) { struct l3l2q_mailbox *mb = MB(c); return expr; }

E3(l3_init, l3l2q_l3_init(c->bad == BAD_NULL ? NULL : q, NULL, NULL, 0, NULL))
E3(l3_try_reserve, l3l2q_l3_try_reserve(q, 8, &c->res))
E3(l3_reserve, l3l2q_l3_reserve(q, 8, DL, &c->res))
E3(l3_publish, l3l2q_l3_publish(q, &c->res, L3L2Q_OP_DATA))
E3(l3_publish_defer, l3l2q_l3_publish_defer(q, &c->res, L3L2Q_OP_DATA))
E3(l3_flush, l3l2q_l3_flush(q))
E3(l3_try_reserve_batch, l3l2q_l3_try_reserve_batch(q, 8, 4, &c->b))
E3(l3_submit_batch, l3l2q_l3_submit_batch(q, &c->b, 1, L3L2Q_OP_DATA))
E3(l3_try_enqueue, l3l2q_l3_try_enqueue(q, L3L2Q_OP_DATA, c->buf, 8))
E3(l3_enqueue, l3l2q_l3_enqueue(q, L3L2Q_OP_DATA, c->buf, 8, DL))
E3(l3_try_request_stop, l3l2q_l3_try_request_stop(q))
E3(l3_request_stop, l3l2q_l3_request_stop(q, DL))
E3(l3_try_peek, l3l2q_l3_try_peek(q, &c->m))
E3(l3_peek, l3l2q_l3_peek(q, DL, &c->m))
E3(l3_read, l3l2q_l3_read(q, &c->m, c->buf, sizeof(c->buf)))
E3(l3_release, l3l2q_l3_release(q, &c->m))
E3(l3_try_dequeue, l3l2q_l3_try_dequeue(q, c->buf, sizeof(c->buf), &c->m))
E3(l3_dequeue, l3l2q_l3_dequeue(q, c->buf, sizeof(c->buf), DL, &c->m))
E3(l3_close, (l3l2q_l3_close(q), 0))
E2(l2_init, l3l2q_l2_init(c->bad == BAD_NULL ? NULL : q, NULL, NULL, 0, 1,
			  NULL))
E2(l2_try_peek, l3l2q_l2_try_peek(q, &c->m))
E2(l2_peek, l3l2q_l2_peek(q, DL, &c->m))
E2(l2_release, l3l2q_l2_release(q, &c->m))
E2(l2_release_batch, l3l2q_l2_release_batch(q, &c->m, 1))
E2(l2_try_peek_batch, l3l2q_l2_try_peek_batch(q, &c->m, 1))
E2(l2_release_oldest, l3l2q_l2_release_oldest(q, 1))
E2(l2_try_dequeue, l3l2q_l2_try_dequeue(q, c->buf, sizeof(c->buf), &c->m))
E2(l2_drained, l3l2q_l2_drained(q))
E2(l2_try_reserve, l3l2q_l2_try_reserve(q, 8, &c->res))
E2(l2_reserve, l3l2q_l2_reserve(q, 8, DL, &c->res))
E2(l2_publish, l3l2q_l2_publish(q, &c->res, L3L2Q_OP_DATA))
E2(l2_publish_defer, l3l2q_l2_publish_defer(q, &c->res, L3L2Q_OP_DATA))
E2(l2_flush, l3l2q_l2_flush(q))
E2(l2_try_reserve_batch, l3l2q_l2_try_reserve_batch(q, 8, 4, &c->b))
E2(l2_submit_batch, l3l2q_l2_submit_batch(q, &c->b, 1, L3L2Q_OP_DATA))
E2(l2_close, (l3l2q_l2_close(q), 0))
EE(ep_error, says(l3l2q_ep_error(ep)))
EE(ep_last_error, says(l3l2q_ep_last_error(ep)))
EE(ep_last_error_dir, says(l3l2q_ep_last_error_dir(ep, L3L2Q_DIR_OUTPUT)))
EE(ep_state, l3l2q_ep_state(ep))
EE(ep_stats, l3l2q_ep_stats(ep, &c->st))
EE(ep_set_spin_attempts, l3l2q_ep_set_spin_attempts(ep, 5))
EE(ep_want_wakeup, l3l2q_ep_want_wakeup(ep, L3L2Q_WAKE_OUTPUT_AVAIL))
EE(ep_clear_wakeup, l3l2q_ep_clear_wakeup(ep, L3L2Q_WAKE_OUTPUT_AVAIL))
EM(mailbox_init, (l3l2q_mailbox_init(c->bad == BAD_NULL ? mb : NULL), 0))
EM(mailbox_push, l3l2q_mailbox_push(mb, c->bad == BAD_NULL ? &c->mm : NULL))
EM(mailbox_pop, l3l2q_mailbox_pop(mb, c->bad == BAD_NULL ? &c->mm : NULL))
EM(mailbox_has_pending, l3l2q_mailbox_has_pending(c->bad == BAD_NULL ? mb :
						  NULL))
EM(mailbox_reset, (l3l2q_mailbox_reset(c->bad == BAD_NULL ? mb : NULL), 0))
EM(mailbox_skipped, (int)l3l2q_mailbox_skipped(c->bad == BAD_NULL ? mb :
					       NULL))

/* Not handles, but their pointer arguments. */
static int t_region_init(struct ctx *c)
{
	return l3l2q_region_init(NULL, &c->r.layout, 0, 0) == -EINVAL &&
	       l3l2q_region_init(&c->r.mem, NULL, 0, 0) == -EINVAL ? -EINVAL : 0;
}

static int t_validate_scalars(struct ctx *c)
{
	return l3l2q_validate_scalars(NULL, 12, &c->r.layout, NULL);
}

static int t_error_set_message(struct ctx *c)
{
	(void)c;
	l3l2q_error_set_message(NULL, "nothing to write to");
	return 0;
}

static int t_error_strs(struct ctx *c)
{
	(void)c;
	return strcmp(l3l2q_error_op_str(~0u), "unknown") ||
	       strcmp(l3l2q_error_kind_str(~0u), "unknown");
}

/* libl3l2q.h: a NULL queue, or the other role's queue. */
static struct l3l2q_queue *Q3(struct ctx *c)
{
	return c->bad == BAD_ROLE ? c->q2 : NULL;
}

static int t_create(struct ctx *c)
{
	struct l3l2q_queue *q;

	(void)c;
	return l3l2q_create(NULL, &q, NULL) == -EINVAL &&
	       l3l2q_create(NULL, NULL, NULL) == -EINVAL ? -EINVAL : 0;
}

static int t_attach(struct ctx *c)
{
	struct l3l2q_queue *q;

	(void)c;
	return l3l2q_attach(0, NULL, NULL, NULL) == -EINVAL ?
	       l3l2q_attach(-1, NULL, &q, NULL) : 0;
}

static int t_destroy(struct ctx *c)
{
	(void)c;
	l3l2q_destroy(NULL);
	return 0;
}

static int t_peer_fd(struct ctx *c)
{
	return l3l2q_peer_fd(Q3(c));
}

static int t_queue_l3(struct ctx *c)
{
	return l3l2q_queue_l3(Q3(c)) != NULL;
}

static int t_queue_l2(struct ctx *c)
{
	return l3l2q_queue_l2(c->bad == BAD_ROLE ? c->q3 : NULL) != NULL;
}

static int t_queue_layout(struct ctx *c)
{
	return c->bad == BAD_ROLE ? 0 : l3l2q_queue_layout(NULL) != NULL;
}

static int t_queue_mem(struct ctx *c)
{
	return c->bad == BAD_ROLE ? 0 : l3l2q_queue_mem(NULL) != NULL;
}

static int t_queue_backend(struct ctx *c)
{
	return c->bad == BAD_ROLE ? -EINVAL : l3l2q_queue_backend(NULL);
}

static int t_queue_poll_fd(struct ctx *c)
{
	return c->bad == BAD_ROLE ? -EINVAL : l3l2q_queue_poll_fd(NULL);
}

/* The other role's bit, on a real queue; NULL otherwise. */
static int t_queue_wait_fd(struct ctx *c)
{
	return l3l2q_queue_wait_fd(Q3(c), L3L2Q_WAKE_INPUT_SPACE);
}

static int t_prep_wait(struct ctx *c)
{
	if (c->bad == BAD_ROLE)
		return l3l2q_prep_wait(&c->sqe, c->q2, L3L2Q_WAKE_INPUT_SPACE,
				       DL, NULL);
	return l3l2q_prep_wait(NULL, c->q3, L3L2Q_WAKE_OUTPUT_AVAIL, DL,
			       NULL) == -EINVAL &&
	       l3l2q_prep_wait(&c->sqe, NULL, L3L2Q_WAKE_OUTPUT_AVAIL, DL,
			       NULL) == -EINVAL ? -EINVAL : 0;
}

static int t_send_fd(struct ctx *c)
{
	(void)c;
	return l3l2q_send_fd(-1, 0);
}

static int t_recv_fd(struct ctx *c)
{
	(void)c;
	return l3l2q_recv_fd(-1);
}

/* The signals object's io_uring wait: a NULL object. */
static int t_signals_prep_wait(struct ctx *c)
{
	struct l3l2q_sig_waitv v = { .cmp = L3L2Q_SIG_CMP_GE, .target = 1 };
	struct l3l2q_sig_wait_args a;

	return l3l2q_signals_prep_wait(&c->sqe, NULL, &v, 1, 0, DL, &a);
}

static int t_signals_wait_done(struct ctx *c)
{
	struct l3l2q_sig_waitv v = { .cmp = L3L2Q_SIG_CMP_GE, .target = 1 };
	struct l3l2q_sig_wait_args a = {
		.waitv = (__u64)(uintptr_t)&v, .nr = 1,
	};

	(void)c;
	return l3l2q_signals_wait_done(NULL, &a, 0);
}

#define R(fn, want)	{ #fn, t_##fn, want, 1, 0 }
#define N(fn, want)	{ #fn, t_##fn, want, 0, 0 }
#define M(fn, want)	{ #fn, t_##fn, want, 0, 1 }
#define U(fn, want)	{ #fn, t_##fn, want, 1, 0 }

static const struct entry table[] = {
	N(l3_init, -EINVAL),
	R(l3_try_reserve, -EINVAL), R(l3_reserve, -EINVAL),
	R(l3_publish, -EINVAL), R(l3_publish_defer, -EINVAL),
	R(l3_flush, -EINVAL), R(l3_try_enqueue, -EINVAL),
	R(l3_try_reserve_batch, -EINVAL), R(l3_submit_batch, -EINVAL),
	R(l3_enqueue, -EINVAL), R(l3_try_request_stop, -EINVAL),
	R(l3_request_stop, -EINVAL), R(l3_try_peek, -EINVAL),
	R(l3_peek, -EINVAL), R(l3_read, -EINVAL), R(l3_release, -EINVAL),
	R(l3_try_dequeue, -EINVAL), R(l3_dequeue, -EINVAL),
	R(l3_close, 0),
	N(l2_init, -EINVAL),
	R(l2_try_peek, -EINVAL), R(l2_peek, -EINVAL), R(l2_release, -EINVAL),
	R(l2_release_batch, -EINVAL), R(l2_drained, -EINVAL),
	R(l2_try_peek_batch, -EINVAL), R(l2_release_oldest, -EINVAL),
	R(l2_try_dequeue, -EINVAL),
	R(l2_try_reserve, -EINVAL), R(l2_reserve, -EINVAL),
	R(l2_publish, -EINVAL), R(l2_publish_defer, -EINVAL),
	R(l2_flush, -EINVAL), R(l2_close, 0),
	R(l2_try_reserve_batch, -EINVAL), R(l2_submit_batch, -EINVAL),
	N(ep_error, 0), N(ep_last_error, 0), N(ep_last_error_dir, 0),
	N(ep_state, -EINVAL), N(ep_stats, -EINVAL),
	N(ep_set_spin_attempts, -EINVAL), N(ep_want_wakeup, -EINVAL),
	N(ep_clear_wakeup, -EINVAL),
	M(mailbox_init, 0), M(mailbox_push, -EINVAL), M(mailbox_pop, -EINVAL),
	M(mailbox_has_pending, -EINVAL), M(mailbox_reset, 0),
	M(mailbox_skipped, 0),
	N(region_init, -EINVAL), N(validate_scalars, -EINVAL),
	N(error_set_message, 0), N(error_strs, 0),
	N(create, -EINVAL), N(attach, -EBADF), N(destroy, 0),
	U(peer_fd, -EINVAL), U(queue_l3, 0), U(queue_l2, 0),
	N(queue_layout, 0), N(queue_mem, 0), N(queue_backend, -EINVAL),
	N(queue_poll_fd, -EINVAL), U(queue_wait_fd, -EINVAL),
	U(prep_wait, -EINVAL), N(send_fd, -EBADF), N(recv_fd, -EBADF),
	N(signals_prep_wait, -EINVAL), N(signals_wait_done, -EINVAL),
};

#define N_ENTRIES	(sizeof(table) / sizeof(table[0]))

/* What a child saw. */
struct report {
	int ret;
	int untouched;		/* the junk is as it was */
	int live;		/* BAD_ROLE: both real endpoints still live */
	char message[L3L2Q_ERROR_MSG_BYTES];	/* BAD_ROLE: the record */
};

static int setup(struct ctx *c, enum bad bad)
{
	int fd;

	memset(c, 0, sizeof(*c));
	c->bad = bad;
	c->junk = malloc(sizeof(*c->junk));
	if (!c->junk || th_region_alloc(&c->r, 8, 1024, 1024, 0) ||
	    l3l2q_l3_init(&c->l3, &c->r.mem, &c->r.layout, 0, NULL) ||
	    l3l2q_l2_init(&c->l2, &c->r.mem, &c->r.layout, 0, 1, NULL))
		return -1;
	memset(c->junk, bad == BAD_GARBAGE ? 0xa5 : 0, sizeof(*c->junk));
	c->q3 = new_queue();
	if (!c->q3)
		return -1;
	fd = l3l2q_peer_fd(c->q3);
	if (fd < 0 || l3l2q_attach(fd, NULL, &c->q2, NULL))
		return -1;
	close(fd);
	return 0;
}

static int unchanged(const void *p, size_t n, unsigned char v)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

/* Run @e with @bad in a child; 0 with *r filled, or the signal number. */
static int run(const struct entry *e, enum bad bad, struct report *r)
{
	int p[2], status;
	struct ctx c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct report out;
		const struct l3l2q_ep *other;

		memset(&out, 0, sizeof(out));
		if (setup(&c, bad))
			_exit(2);
		out.ret = e->call(&c);
		out.untouched = unchanged(c.junk, sizeof(*c.junk),
					  bad == BAD_GARBAGE ? 0xa5 : 0);
		other = !strncmp(e->name, "l3_", 3) ? &c.l2.ep : &c.l3.ep;
		out.live = l3l2q_ep_state(&c.l3.ep) == L3L2Q_STATE_LIVE &&
			   l3l2q_ep_state(&c.l2.ep) == L3L2Q_STATE_LIVE;
		snprintf(out.message, sizeof(out.message), "%s",
			 l3l2q_ep_last_error(other)->message);
		_exit(write(p[1], &out, sizeof(out)) == (ssize_t)sizeof(out) ?
		      0 : 3);
	}
	close(p[1]);
	memset(r, 0, sizeof(*r));
	status = read(p[0], r, sizeof(*r)) == (ssize_t)sizeof(*r) ? 0 : -1;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status) ?
	       -1 : 0;
}

TEST(every_public_function_refuses_bad_handles)
{
	struct report r;
	unsigned int i, b, lines = 0;
	int sig;

	for (i = 0; i < N_ENTRIES; i++) {
		for (b = 0; b < BAD_N; b++) {
			const struct entry *e = &table[i];

			if (b == BAD_ROLE && !e->role)
				continue;
			if ((b == BAD_ZERO || b == BAD_GARBAGE) &&
			    !(e->role || e->mailbox ||
			      !strncmp(e->name, "ep_", 3)))
				continue;
			lines++;
			sig = run(e, b, &r);
			EXPECT_EQ(0, sig)
				TH_LOG("%s(%s): %s", e->name, bad_names[b],
				       sig > 0 ? strsignal(sig) : "no report");
			if (sig)
				continue;
			EXPECT_EQ(e->want, r.ret)
				TH_LOG("%s(%s)", e->name, bad_names[b]);
			if (b == BAD_ZERO || b == BAD_GARBAGE)
				EXPECT_TRUE(r.untouched || strstr(e->name,
								  "init"))
					TH_LOG("%s wrote to %s", e->name,
					       bad_names[b]);
			if (b != BAD_ROLE || (strncmp(e->name, "l3_", 3) &&
					      strncmp(e->name, "l2_", 3)))
				continue;
			/* The other role's endpoint: still live (a close
			 * of the wrong role does nothing), and told why
			 * (not by close and drained: they have no error). */
			EXPECT_TRUE(r.live) TH_LOG("%s", e->name);
			if (!strstr(e->name, "close") &&
			    !strstr(e->name, "drained"))
				EXPECT_NE(NULL, strstr(r.message,
						       "endpoint, not an"))
					TH_LOG("%s: %s", e->name, r.message);
		}
	}
	TH_LOG("%u calls, %zu functions", lines, N_ENTRIES);
}

/* The issue's own cases, one by one. */

TEST(queue_l2_of_an_l3_queue_then_the_next_call)
{
	struct l3l2q_queue *q = new_queue();
	struct l3l2q_msg m;

	ASSERT_NE(NULL, q);
	ASSERT_EQ(NULL, l3l2q_queue_l2(q));
	EXPECT_EQ(-EINVAL, l3l2q_l2_try_peek(l3l2q_queue_l2(q), &m));
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_enqueue(NULL, L3L2Q_OP_DATA, NULL, 0));
	EXPECT_EQ(-EINVAL, l3l2q_queue_poll_fd(NULL));
	EXPECT_NE(NULL, strstr(l3l2q_ep_last_error(NULL)->message, "NULL"));
	l3l2q_destroy(q);
}

TEST(attach_on_a_closed_fd_is_ebadf)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	int fd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, fd);
	close(fd);
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EBADF, l3l2q_attach(fd, NULL, &q, &err));
	EXPECT_EQ(NULL, q);
	EXPECT_NE(NULL, strstr(err.message, "not open")) TH_LOG("%s", err.message);
}

TEST(attach_on_an_empty_unix_socket_says_so)
{
	struct l3l2q_queue *q = NULL;
	struct l3l2q_error err;
	int sv[2];

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-ENOMSG, l3l2q_attach(sv[1], NULL, &q, &err));
	EXPECT_EQ(NULL, q);
	EXPECT_EQ(NULL, strstr(err.message, "taken")) TH_LOG("%s", err.message);
	EXPECT_NE(NULL, strstr(err.message, "nothing is queued"))
		TH_LOG("%s", err.message);
	/* The other end closed: the same. */
	close(sv[0]);
	EXPECT_EQ(-ENOMSG, l3l2q_attach(sv[1], NULL, &q, &err));
	close(sv[1]);
}

TEST(last_error_after_eagain_is_not_an_older_error)
{
	struct l3l2q_queue *q = new_queue();
	unsigned char buf[8];
	struct l3l2q_l3 *l3;
	struct l3l2q_msg m;

	ASSERT_NE(NULL, q);
	l3 = l3l2q_queue_l3(q);
	/* An error on the input side... */
	EXPECT_EQ(-EINVAL, l3l2q_l3_try_enqueue(l3, 99, buf, 1));
	EXPECT_EQ((__u32)L3L2Q_ERR_BAD_ARGUMENT, l3l2q_ep_last_error(&l3->ep)->kind);
	/* ...then -EAGAIN on the output side: no error to show. */
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_dequeue(l3, buf, sizeof(buf), &m));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, l3l2q_ep_last_error(&l3->ep)->kind);
	EXPECT_STREQ("", l3l2q_ep_last_error(&l3->ep)->message);
	/* The input direction's own record still has its error. */
	EXPECT_EQ((__u32)L3L2Q_ERR_BAD_ARGUMENT,
		  l3l2q_ep_last_error_dir(&l3->ep, L3L2Q_DIR_INPUT)->kind);
	/* -EAGAIN in the same direction clears it too. */
	memset(&m, 0, sizeof(m));
	EXPECT_EQ(-EINVAL, l3l2q_l3_read(l3, &m, buf, sizeof(buf)));
	EXPECT_EQ((__u32)L3L2Q_ERR_OWNERSHIP, l3l2q_ep_last_error(&l3->ep)->kind);
	EXPECT_EQ(-EAGAIN, l3l2q_l3_try_peek(l3, &m));
	EXPECT_EQ((__u32)L3L2Q_ERR_NONE, l3l2q_ep_last_error(&l3->ep)->kind);
	l3l2q_destroy(q);
}

TEST_HARNESS_MAIN
