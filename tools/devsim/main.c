// SPDX-License-Identifier: MIT
/*
 * l3l2q-devsim: a simulated device orchestrator (the L2 role).
 *
 *   l3l2q-devsim (--fd N | --socket PATH) [--inflight N] [--workers N]
 *                [--quiet]
 *   l3l2q-devsim --ivshmem-server PATH --shm-size BYTES [--vectors N]
 *                [--server-only] [device options]
 *   l3l2q-devsim --ivshmem-client PATH [device options]
 *   l3l2q-devsim --plain FILE [device options]
 *
 * How it works: devsim.h (serving one queue) and device.h (the device
 * modes).  This file: the options and main().  The exit statuses are in
 * usage() below.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devsim.h"
#include "device.h"

#define MAX_WORKERS		64u
#define POLL_US_DEFAULT		500u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " (--fd N | --socket PATH) [--inflight N] "
		"[--workers N] [--quiet]\n"
		"       " PROG " --ivshmem-server PATH --shm-size BYTES "
		"[--vectors N] [--server-only]\n"
		"                    [device options]\n"
		"       " PROG " --ivshmem-client PATH [device options]\n"
		"       " PROG " --plain FILE [device options]\n"
		"\n"
		"Serving one queue given by an L3:\n"
		"  --fd N        the L2 fd, inherited\n"
		"  --socket PATH connect to PATH and receive the L2 fd (SCM_RIGHTS)\n"
		"\n"
		"Being a device (the queues are found in shared memory through\n"
		"the directory of uapi/l3l2q.h, served with lib/core only):\n"
		"  --ivshmem-server PATH  be the ivshmem server on unix socket PATH\n"
		"                 (QEMU's ivshmem-doorbell connects to it) and the\n"
		"                 device, one more peer of that server\n"
		"  --shm-size BYTES       the shared memory the server creates: a\n"
		"                 power of two in [64K, 64G] (K, M, G suffixes)\n"
		"  --vectors N    interrupt vectors per peer, 1..%u (default 8)\n"
		"  --server-only  only the server: the device is another process\n"
		"                 (--ivshmem-client), which can be killed and\n"
		"                 started again while QEMU stays connected\n"
		"  --ivshmem-client PATH  be the device as a client of the server\n"
		"                 at PATH\n"
		"  --plain FILE   the shared memory is FILE (QEMU's ivshmem-plain\n"
		"                 with memory-backend-file): no interrupts, polled\n"
		"Device options:\n"
		"  --upstream-only serve every queue as device code written for the\n"
		"                 upstream ABI: never touch the control block, never\n"
		"                 kick, learn of work by polling\n"
		"  --poll-us N    longest sleep between two polls, 1..1000000\n"
		"                 (default %u)\n"
		"  --inflight N   input window per queue, 1..%u, at most the depth\n"
		"                 (default 16)\n"
		"  --workers N    simulated cores per queue, 1..%u (default 4)\n"
		"  --quiet        print errors only\n"
		"Signals (device modes): SIGTERM or SIGINT: mark the device DEAD,\n"
		"interrupt the host on vector 0 and exit 0; SIGUSR1: write random\n"
		"bytes over the whole shared memory (a hostile device), then go on.\n"
		"\n"
		"Exit status:\n"
		"  0  --fd, --socket: STOP drained; device modes: SIGTERM or SIGINT\n"
		"  1  an error of the queue, the system or the shared memory\n"
		"  2  bad options\n"
		"  3  --fd, --socket: the L3 side aborted or went away\n"
		"  4  --ivshmem-client: the ivshmem server went away\n",
		DEV_MAX_VECTORS, POLL_US_DEFAULT, L3L2Q_WINDOW_MAX, MAX_WORKERS);
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

/* BYTES with an optional K, M or G suffix: a power of two in range. */
static int parse_size(const char *opt, const char *s, unsigned long long *out)
{
	unsigned long long v, lo = 64ull << 10, hi = 64ull << 30;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (errno || end == s || *end || s[0] == '-' || v > (hi >> shift) ||
	    (v << shift) < lo || ((v << shift) & ((v << shift) - 1))) {
		devsim_err_msg("%s: '%s' is not a power of two in [64K, 64G] "
			       "(QEMU maps it as a PCI BAR)", opt, s);
		return -1;
	}
	*out = v << shift;
	return 0;
}

static int set_mode(struct opts *o, enum devsim_mode m, const char *opt)
{
	if (o->mode != MODE_QUEUE || o->fd >= 0 || o->socket_path ||
	    o->plain_path) {
		devsim_err_msg("%s: only one of --fd, --socket, "
			       "--ivshmem-server, --ivshmem-client and --plain",
			       opt);
		return -1;
	}
	o->mode = m;
	return 0;
}

static int check_opts(struct opts *o, int server_only, int shm_given,
		      int vectors_given, int device_opt)
{
	if (o->mode == MODE_QUEUE) {
		if ((o->fd >= 0) == !!o->socket_path) {
			devsim_err_msg("one of --fd, --socket, --ivshmem-server, "
				       "--ivshmem-client and --plain is needed");
			return -1;
		}
		if (device_opt || server_only || shm_given || vectors_given) {
			devsim_err_msg("--upstream-only, --poll-us, --server-only, "
				       "--shm-size and --vectors need a device mode");
			return -1;
		}
		return 0;
	}
	if (o->mode == MODE_SERVER) {
		if (!shm_given) {
			devsim_err_msg("--ivshmem-server needs --shm-size");
			return -1;
		}
		if (server_only)
			o->mode = MODE_SERVER_ONLY;
	} else if (server_only || shm_given || vectors_given) {
		devsim_err_msg("--server-only, --shm-size and --vectors belong "
			       "to --ivshmem-server");
		return -1;
	}
	if (o->mode == MODE_SERVER_ONLY && device_opt) {
		devsim_err_msg("--server-only runs no device: device options "
			       "go to --ivshmem-client");
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "ivshmem-server", required_argument, NULL, 'S' },
		{ "ivshmem-client", required_argument, NULL, 'C' },
		{ "plain", required_argument, NULL, 'P' },
		{ "shm-size", required_argument, NULL, 'm' },
		{ "vectors", required_argument, NULL, 'v' },
		{ "server-only", no_argument, NULL, 'o' },
		{ "upstream-only", no_argument, NULL, 'u' },
		{ "poll-us", required_argument, NULL, 'p' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "workers", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int server_only = 0, shm_given = 0, vectors_given = 0, device_opt = 0;
	unsigned long v;
	int c;

	*o = (struct opts){ .fd = -1, .inflight = 16, .workers = 4,
			    .vectors = 8, .poll_ns = POLL_US_DEFAULT * 1000ull };
	while ((c = getopt_long(argc, argv, "f:s:i:w:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_uint("--fd", optarg, 0, INT_MAX, &v) ||
			    set_mode(o, MODE_QUEUE, "--fd"))
				return -1;
			o->fd = (int)v;
			break;
		case 's':
			if (set_mode(o, MODE_QUEUE, "--socket"))
				return -1;
			o->socket_path = optarg;
			break;
		case 'S':
		case 'C':
			if (set_mode(o, c == 'S' ? MODE_SERVER : MODE_CLIENT,
				     c == 'S' ? "--ivshmem-server" :
				     "--ivshmem-client"))
				return -1;
			o->socket_path = optarg;
			break;
		case 'P':
			if (set_mode(o, MODE_PLAIN, "--plain"))
				return -1;
			o->plain_path = optarg;
			break;
		case 'm':
			if (parse_size("--shm-size", optarg, &o->shm_bytes))
				return -1;
			shm_given = 1;
			break;
		case 'v':
			if (parse_uint("--vectors", optarg, 1, DEV_MAX_VECTORS, &v))
				return -1;
			o->vectors = (unsigned int)v;
			vectors_given = 1;
			break;
		case 'o':
			server_only = 1;
			break;
		case 'u':
			o->upstream_only = 1;
			device_opt = 1;
			break;
		case 'p':
			if (parse_uint("--poll-us", optarg, 1, 1000000, &v))
				return -1;
			o->poll_ns = v * 1000ull;
			device_opt = 1;
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
	return check_opts(o, server_only, shm_given, vectors_given, device_opt);
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
	if (o.mode != MODE_QUEUE)
		return devsim_device_main(&o);
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
