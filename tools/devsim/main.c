// SPDX-License-Identifier: MIT
/*
 * l3l2q-devsim: a simulated device orchestrator (the L2 role).
 *
 *   l3l2q-devsim (--fd N | --socket PATH) [--inflight N] [--workers N]
 *                [--quiet]
 *
 * How it works: devsim.h.  This file: the options and main().
 *
 * Exit status: 0 after a STOP drain; 1 on an error of the queue or the
 * system; 2 on bad options; 3 when the L3 side aborted or went away.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "devsim.h"

#define MAX_WORKERS		64u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " (--fd N | --socket PATH) [--inflight N] "
		"[--workers N] [--quiet]\n"
		"  --fd N        the L2 fd, inherited\n"
		"  --socket PATH connect to PATH and receive the L2 fd (SCM_RIGHTS)\n"
		"  --inflight N  input window, 1..%u and at most the depth "
		"(default 16)\n"
		"  --workers N   simulated cores, 1..%u (default 4)\n"
		"  --quiet       print errors only\n"
		"exit: 0 after STOP, 1 error, 2 bad options, 3 L3 gone\n",
		L3L2Q_WINDOW_MAX, MAX_WORKERS);
}

/* A whole decimal number in [lo, hi]; else a message naming the option. */
static int parse_uint(const char *opt, const char *s, unsigned long lo,
		      unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		devsim_err_msg("%s: '%s' is not a number in [%lu, %lu]", opt,
			       s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "workers", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	*o = (struct opts){ .fd = -1, .inflight = 16, .workers = 4 };
	while ((c = getopt_long(argc, argv, "f:s:i:w:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_uint("--fd", optarg, 0, INT_MAX, &v))
				return -1;
			o->fd = (int)v;
			break;
		case 's':
			o->socket_path = optarg;
			break;
		case 'i':
			if (parse_uint("--inflight", optarg, 1, L3L2Q_WINDOW_MAX, &v))
				return -1;
			o->inflight = (unsigned int)v;
			break;
		case 'w':
			if (parse_uint("--workers", optarg, 1, MAX_WORKERS, &v))
				return -1;
			o->workers = (unsigned int)v;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		devsim_err_msg("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if ((o->fd >= 0) == !!o->socket_path) {
		devsim_err_msg("exactly one of --fd and --socket is needed");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct devsim d;
	struct opts o;
	int ret;

	if (parse_opts(argc, argv, &o))
		return 2;
	devsim_quiet = o.quiet;
	/* A vanished unix-socket peer must be an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	ret = devsim_setup(&d, &o);
	if (ret) {
		if (d.q)
			devsim_teardown(&d);
		return ret;
	}
	ret = devsim_run(&d);
	devsim_print_stats(&d);
	devsim_teardown(&d);
	if (!ret)
		devsim_msg("STOP drained, exiting");
	return ret;
}
