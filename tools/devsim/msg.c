// SPDX-License-Identifier: MIT
/*
 * msg.c - l3l2q-devsim's messages on stderr, and what a failed queue call
 * means for the exit status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devsim.h"

int devsim_quiet;

/* One line, whole: a device's region threads print at the same time. */
static void print_line(const char *fmt, va_list ap)
{
	flockfile(stderr);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void devsim_msg(const char *fmt, ...)
{
	va_list ap;

	if (devsim_quiet)
		return;
	va_start(ap, fmt);
	print_line(fmt, ap);
	va_end(ap);
}

/* Errors are printed even with --quiet. */
void devsim_err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_line(fmt, ap);
	va_end(ap);
}

/*
 * A failed queue call: exit 3 if the peer is gone, DEVSIM_STOPPED if the
 * device ended the wait to stop the region, else 1.
 */
int devsim_queue_failure(struct devsim *d, const char *what, int ret)
{
	const struct l3l2q_error *e = l3l2q_ep_last_error(&d->l2->ep);

	if (ret == -ESHUTDOWN && devsim_stopping(d))
		return DEVSIM_STOPPED;
	if (ret == -ECONNRESET) {
		devsim_err_msg("%sthe L3 side is gone (%s): %s; exiting",
			       d->tag, what, e->message);
		return EXIT_PEER_GONE;
	}
	devsim_err_msg("%s%s: %s (%s: %s)", d->tag, what, strerror(-ret),
		       l3l2q_error_op_str(e->op), e->message);
	return 1;
}
