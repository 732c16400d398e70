// SPDX-License-Identifier: MIT
/*
 * l3l2q-bench: l3l2q against the usual ways of moving messages between two
 * cores, in one run, with the same sizes, CPUs, warm-up and durations.
 *
 * Every selected case runs once per repetition, round-robin over the cases;
 * a case's result is the median of its repetitions, a ratio is the median of
 * the per-repetition ratios (both sides measured in the same round).  A
 * cross-core probe runs before and after.
 *
 * Output: one machine-readable line per result, "kind=... mech=... bytes=...
 * msgs_per_s=..." (key=value, space separated, nothing else on the line),
 * then tables for people (lines starting with '#' or '|').
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static const struct bench_mech mechs[] = {
	{ "l3l2q_copy", BK_STREAM, bench_l3l2q_stream,
	  "l3l2q copy API: try_enqueue in, peek + memcpy out + release" },
	{ "l3l2q_zc", BK_STREAM, bench_l3l2q_stream,
	  "l3l2q zero copy: reserve, fill in place, publish; peek, use in place, release" },
	{ "l3l2q_batch", BK_STREAM, bench_l3l2q_stream,
	  "l3l2q batch APIs: try_reserve_batch, fill, submit_batch; try_peek_batch, release_oldest" },
	{ "textbook", BK_STREAM, bench_textbook_stream,
	  "lock-free SPSC ring of fixed slots, memcpy in and out" },
	{ "rte_ring", BK_STREAM, bench_rte_ring_stream,
	  "DPDK rte_ring SP/SC, elements = the payload (copied in and out)" },
	{ "pipe", BK_STREAM, bench_pipe_stream,
	  "pipe(2), 1 MiB, one write per message" },
	{ "seqpacket", BK_STREAM, bench_seqpacket_stream,
	  "AF_UNIX SOCK_SEQPACKET pair, one send per message" },
	{ "cacheline", BK_RTT, bench_cacheline_rtt,
	  "one shared cache line ping-pong (the floor)" },
	{ "l3l2q_poll", BK_RTT, bench_l3l2q_rtt,
	  "l3l2q busy-poll: try_enqueue/try_dequeue, L2 echoes" },
	{ "l3l2q_block", BK_RTT, bench_l3l2q_rtt,
	  "l3l2q blocking calls: spin (default budget), then sleep" },
	{ "l3l2q_sleep", BK_RTT, bench_l3l2q_rtt,
	  "l3l2q blocking calls with a spin budget of 1: the sleep path" },
	{ "eventfd", BK_RTT, bench_eventfd_rtt,
	  "two eventfds, blocking read / write" },
	{ "futex", BK_RTT, bench_futex_rtt,
	  "a futex word, FUTEX_WAIT / FUTEX_WAKE, no spinning" },
	{ "l3l2q_block", BK_BSTREAM, bench_l3l2q_bstream,
	  "l3l2q blocking enqueue / blocking peek, copy in and out" },
	{ "memcpy", BK_MEMCPY, bench_memcpy,
	  "memcpy of one message, hot in cache, one core" },
	{ "l3l2q_mp", BK_MPSTREAM, bench_l3l2q_mpstream,
	  "l3l2q MP: --producers threads mp_try_enqueue, one L2 consumer" },
	{ "rte_ring_mp", BK_MPSTREAM, bench_rte_ring_mpstream,
	  "DPDK rte_ring MP/SC: --producers threads, one consumer" },
	{ "l3l2q_mc", BK_MPSTREAM, bench_l3l2q_mpstream,
	  "l3l2q MC: one L2 producer, --consumers threads mc_try_dequeue" },
	{ "rte_ring_mc", BK_MPSTREAM, bench_rte_ring_mpstream,
	  "DPDK rte_ring SP/MC: one producer, --consumers threads" },
	{ "chan_1x1", BK_CHSTREAM, bench_chan_stream,
	  "HDCH channel (memfd): 1 L3 thread try_send on its lane, 1 L2 thread try_recv" },
	{ "chan_8x8", BK_CHSTREAM, bench_chan_stream,
	  "HDCH channel (memfd): 8 L3 threads on 8 lanes try_send, 8 L2 threads try_recv" },
	{ "rte_ring_mpmc_1x1", BK_CHSTREAM, bench_rte_ring_mpmc,
	  "DPDK rte_ring MP/MC: 1 producer, 1 consumer" },
	{ "rte_ring_mpmc_8x8", BK_CHSTREAM, bench_rte_ring_mpmc,
	  "DPDK rte_ring MP/MC: 8 producers, 8 consumers" },
	{ "chan_call_1", BK_CHRTT, bench_chan_rtt,
	  "HDCH l3l2q_chan_call: 1 L3 caller, 1 L2 server (blocking recv, reply)" },
	{ "chan_call_8", BK_CHRTT, bench_chan_rtt,
	  "HDCH l3l2q_chan_call: 8 L3 callers, 8 L2 servers (blocking recv, reply)" },
	{ "sig_spin", BK_SIGWAKE, bench_sig_wake,
	  "signals (memfd): l3l2q_sig_notify -> waiter spinning in l3l2q_sig_try_wait" },
	{ "sig_sleep", BK_SIGWAKE, bench_sig_wake,
	  "signals (memfd): l3l2q_sig_notify -> waiter asleep in l3l2q_sig_wait" },
	{ "eventfd_spin", BK_SIGWAKE, bench_sig_wake,
	  "eventfd write -> waiter spinning on a non-blocking read" },
	{ "eventfd_sleep", BK_SIGWAKE, bench_sig_wake,
	  "eventfd write -> waiter asleep in a blocking read" },
	{ "futex_spin", BK_SIGWAKE, bench_sig_wake,
	  "futex store + FUTEX_WAKE -> waiter spinning on the word" },
	{ "futex_sleep", BK_SIGWAKE, bench_sig_wake,
	  "futex store + FUTEX_WAKE -> waiter asleep in FUTEX_WAIT" },
	{ "sig_notify", BK_SIGNOTIFY, bench_sig_notify,
	  "l3l2q_sig_notify in a loop, peer attached, nobody waiting" },
	{ "eventfd_notify", BK_SIGNOTIFY, bench_sig_notify,
	  "eventfd write in a loop, nobody reading" },
	{ "futex_notify", BK_SIGNOTIFY, bench_sig_notify,
	  "futex store + FUTEX_WAKE in a loop, nobody waiting" },
};
#define NMECHS	(sizeof(mechs) / sizeof(mechs[0]))

static const char *const kind_names[BK_NKINDS] = {
	"stream", "rtt", "bstream", "memcpy", "mpstream", "chstream", "chrtt",
	"sigwake", "signotify"
};

struct bcase {
	struct bench_case c;
	const struct bench_mech *m;
	struct bench_sample *s;		/* one per repetition */
	int *err;			/* one per repetition */
	struct bench_sample med;
	double min_mps, max_mps;
	int nok;
	int first_err;
};

/* ---- options ---- */

static struct bench_opts opts = {
	.duration_s = 0.25,
	.warmup_s = 0.05,
	.reps = 5,
	.cpu = { 0, 1 },
	.batch = 32,
	.rtt_bytes = 8,
	.producers = 2,
	.consumers = 2,
};
static unsigned int sizes[16] = { 0, 64, 4096, 65536 };
static unsigned int nsizes = 4;
static const char *mech_sel, *kind_sel, *tag = "";
static unsigned long long solo;

static void usage(FILE *f)
{
	fprintf(f,
"usage: l3l2q-bench [options]\n"
"  --quick            smoke run: 1 repetition, short windows (<20 s)\n"
"  --reps N           repetitions, round-robin over the cases (5)\n"
"  --duration S       measured seconds per case and repetition (0.25)\n"
"  --warmup S         unmeasured seconds before that (0.05)\n"
"  --sizes A,B,..     message sizes in bytes (0,64,4096,65536)\n"
"  --mech A,B,..      only these mechanisms (see --list)\n"
"  --kind A,B,..      only these kinds: stream,rtt,bstream,memcpy,mpstream,\n"
"                     chstream,chrtt,sigwake,signotify\n"
"  --cpus P,C         producer/client CPU, consumer/server CPU (0,1)\n"
"  --batch N          messages per batch in l3l2q_batch (32)\n"
"  --rtt-bytes N      payload of a round trip, <= 64 (8)\n"
"  --producers N      mpstream: producer threads of the mp cases (2)\n"
"  --consumers N      mpstream: consumer threads of the mc cases (2)\n"
"  --tag TEXT         appended to the kind=meta line (e.g. commit=abc)\n"
"  --list             list the mechanisms and exit\n"
"  --solo N           no benchmark: move N messages of each --sizes through\n"
"                     each selected streaming ring on one thread, filling\n"
"                     it and draining it (l3l2q_copy, l3l2q_zc,\n"
"                     l3l2q_batch, textbook, rte_ring, and rte_ring_ct:\n"
"                     64 B elements of compile-time size); for callgrind:\n"
"                     tools/bench/icount.sh\n");
}

static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return 1;
	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return 1;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}

static int parse_sizes(const char *arg)
{
	char *end;

	nsizes = 0;
	while (*arg && nsizes < 16) {
		unsigned long v = strtoul(arg, &end, 0);

		if (end == arg || v > (1u << 24))
			return -1;
		sizes[nsizes++] = (unsigned int)v;
		arg = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return nsizes ? 0 : -1;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, 0, 'q' },
		{ "reps", required_argument, 0, 'r' },
		{ "duration", required_argument, 0, 'd' },
		{ "warmup", required_argument, 0, 'w' },
		{ "sizes", required_argument, 0, 's' },
		{ "mech", required_argument, 0, 'm' },
		{ "kind", required_argument, 0, 'k' },
		{ "cpus", required_argument, 0, 'c' },
		{ "batch", required_argument, 0, 'b' },
		{ "rtt-bytes", required_argument, 0, 'R' },
		{ "producers", required_argument, 0, 'P' },
		{ "consumers", required_argument, 0, 'C' },
		{ "tag", required_argument, 0, 't' },
		{ "list", no_argument, 0, 'l' },
		{ "solo", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	unsigned int i;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			opts.reps = 1;
			opts.duration_s = 0.04;
			opts.warmup_s = 0.01;
			break;
		case 'r':
			opts.reps = (unsigned int)atoi(optarg);
			break;
		case 'd':
			opts.duration_s = atof(optarg);
			break;
		case 'w':
			opts.warmup_s = atof(optarg);
			break;
		case 's':
			if (parse_sizes(optarg)) {
				fprintf(stderr, "l3l2q-bench: bad --sizes\n");
				exit(2);
			}
			break;
		case 'm':
			mech_sel = optarg;
			break;
		case 'k':
			kind_sel = optarg;
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &opts.cpu[0],
				   &opts.cpu[1]) != 2) {
				fprintf(stderr, "l3l2q-bench: bad --cpus\n");
				exit(2);
			}
			break;
		case 'b':
			opts.batch = (unsigned int)atoi(optarg);
			break;
		case 'R':
			opts.rtt_bytes = (unsigned int)atoi(optarg);
			break;
		case 'P':
			opts.producers = (unsigned int)atoi(optarg);
			break;
		case 'C':
			opts.consumers = (unsigned int)atoi(optarg);
			break;
		case 't':
			tag = optarg;
			break;
		case 'S':
			solo = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			for (i = 0; i < NMECHS; i++)
				printf("%-8s %-12s %s%s\n",
				       kind_names[mechs[i].kind], mechs[i].name,
				       mechs[i].what,
				       !strncmp(mechs[i].name, "rte_ring", 8) &&
				       !bench_have_rte_ring ?
				       " [not built: no libdpdk]" : "");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (!opts.reps || opts.duration_s <= 0 || opts.warmup_s < 0 ||
	    !opts.batch || opts.rtt_bytes > 64 || optind != argc ||
	    !opts.producers || !opts.consumers ||
	    opts.producers + 1 > BENCH_MP_MAX ||
	    opts.consumers + 1 > BENCH_MP_MAX) {
		usage(stderr);
		exit(2);
	}
}

/* ---- cases ---- */

static struct bcase *cases;
static unsigned int ncases;

static void add_case(const struct bench_mech *m, unsigned int bytes)
{
	struct bcase *b;

	cases = realloc(cases, sizeof(*cases) * (ncases + 1));
	if (!cases)
		abort();
	b = &cases[ncases++];
	memset(b, 0, sizeof(*b));
	b->c.kind = m->kind;
	b->c.mech = m->name;
	b->c.bytes = bytes;
	b->m = m;
	b->s = calloc(opts.reps, sizeof(*b->s));
	b->err = calloc(opts.reps, sizeof(*b->err));
	if (!b->s || !b->err)
		abort();
}

static void build_cases(void)
{
	unsigned int i, j;

	for (i = 0; i < NMECHS; i++) {
		const struct bench_mech *m = &mechs[i];

		if (!in_list(mech_sel, m->name) ||
		    !in_list(kind_sel, kind_names[m->kind]))
			continue;
		if (!strncmp(m->name, "rte_ring", 8) && !bench_have_rte_ring) {
			printf("# %s: not built (no libdpdk at build time;"
			       " make bench-deps)\n", m->name);
			continue;
		}
		if (m->kind == BK_RTT || m->kind == BK_CHRTT) {
			add_case(m, opts.rtt_bytes);
			continue;
		}
		if (m->kind == BK_SIGWAKE || m->kind == BK_SIGNOTIFY) {
			add_case(m, 8);		/* one 64-bit signal */
			continue;
		}
		for (j = 0; j < nsizes; j++) {
			if (m->kind == BK_MEMCPY && !sizes[j])
				continue;
			/* Channel messages are inline: at most 256 bytes. */
			if (m->kind == BK_CHSTREAM &&
			    sizes[j] > BENCH_CHAN_MAX_BYTES)
				continue;
			add_case(m, sizes[j]);
		}
	}
}

static struct bcase *find(enum bench_kind k, const char *mech,
			  unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < ncases; i++)
		if (cases[i].c.kind == k && !strcmp(cases[i].c.mech, mech) &&
		    (k == BK_RTT || k == BK_CHRTT ||
		     cases[i].c.bytes == bytes))
			return &cases[i];
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values (the mean of the middle two for even n). */
static double median(double *v, unsigned int n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median over the successful repetitions of the double at @off. */
static double med_field(const struct bcase *b, size_t off)
{
	double v[64];
	unsigned int r, n = 0;

	for (r = 0; r < opts.reps && n < 64; r++)
		if (!b->err[r])
			memcpy(&v[n++], (const char *)&b->s[r] + off,
			       sizeof(double));
	return median(v, n);
}

#define MED_FIELD(b, field) med_field(b, offsetof(struct bench_sample, field))

static void reduce(struct bcase *b)
{
	unsigned int r;

	b->nok = 0;
	b->min_mps = 0;
	b->max_mps = 0;
	for (r = 0; r < opts.reps; r++) {
		if (b->err[r]) {
			if (!b->first_err)
				b->first_err = b->err[r];
			continue;
		}
		if (!b->nok || b->s[r].msgs_per_s < b->min_mps)
			b->min_mps = b->s[r].msgs_per_s;
		if (!b->nok || b->s[r].msgs_per_s > b->max_mps)
			b->max_mps = b->s[r].msgs_per_s;
		b->nok++;
	}
	b->med.msgs_per_s = MED_FIELD(b, msgs_per_s);
	b->med.p50_ns = MED_FIELD(b, p50_ns);
	b->med.p99_ns = MED_FIELD(b, p99_ns);
	b->med.syscalls_per_msg = MED_FIELD(b, syscalls_per_msg);
	b->med.kicks_per_msg = MED_FIELD(b, kicks_per_msg);
	b->med.sleeps_per_msg = MED_FIELD(b, sleeps_per_msg);
	b->med.yields_per_msg = MED_FIELD(b, yields_per_msg);
}

static void print_case(const struct bcase *b)
{
	const struct bench_sample *m = &b->med;

	printf("kind=%s mech=%s bytes=%u msgs_per_s=%.6g gb_per_s=%.4f",
	       kind_names[b->c.kind], b->c.mech, b->c.bytes, m->msgs_per_s,
	       m->msgs_per_s * b->c.bytes / 1e9);
	if (b->c.kind == BK_RTT || b->c.kind == BK_CHRTT ||
	    b->c.kind == BK_SIGWAKE)
		printf(" p50_ns=%.0f p99_ns=%.0f", m->p50_ns, m->p99_ns);
	if (b->c.kind == BK_CHRTT)
		printf(" sleeps_per_call=%.4f", m->sleeps_per_msg);
	/* The library's stats: only the signals object counts them. */
	if (b->c.kind == BK_SIGWAKE && !strncmp(b->c.mech, "sig_", 4))
		printf(" sleeps_per_wake=%.4f kicks_per_wake=%.4f",
		       m->sleeps_per_msg, m->kicks_per_msg);
	if (b->c.kind == BK_SIGNOTIFY)
		printf(" syscalls_per_msg=%.6f kicks_per_msg=%.6f",
		       m->syscalls_per_msg, m->kicks_per_msg);
	if (b->c.kind == BK_BSTREAM)
		printf(" syscalls_per_msg=%.5f kicks_per_msg=%.5f"
		       " sleeps_per_msg=%.5f yields_per_msg=%.5f",
		       m->syscalls_per_msg, m->kicks_per_msg,
		       m->sleeps_per_msg, m->yields_per_msg);
	printf(" reps=%d min_msgs_per_s=%.6g max_msgs_per_s=%.6g", b->nok,
	       b->min_mps, b->max_mps);
	if (b->first_err)
		printf(" error=%d", b->first_err);
	printf("\n");
}

/* ---- targets ---- */

enum { HIGHER, LOWER };

struct target {
	const char *name;
	const char *what;
	enum bench_kind kn;
	const char *num;
	enum bench_kind kd;
	const char *den;
	unsigned int bytes;
	int rtt;		/* compare p50 instead of msgs/s */
	int dir;		/* HIGHER: ratio >= goal; LOWER: ratio <= goal */
	double goal;
	/* results */
	double ratio, num_mps, rmin, rmax;
	int status;		/* 0 PASS, 1 MISS, 2 SKIP */
	double sys;		/* bstream: syscalls per message */
};

static struct target targets[] = {
	{ "batch64_vs_rte_ring", "64 B streaming, batched vs rte_ring",
	  BK_STREAM, "l3l2q_batch", BK_STREAM, "rte_ring", 64, 0, HIGHER, 1.0,
	  0, 0, 0, 0, 0, 0 },
	{ "copy4k_vs_rte_ring", "4 KiB streaming (copy API) vs rte_ring",
	  BK_STREAM, "l3l2q_copy", BK_STREAM, "rte_ring", 4096, 0, HIGHER, 0.9,
	  0, 0, 0, 0, 0, 0 },
	{ "copy64k_vs_textbook", "64 KiB streaming (copy API) vs textbook ring",
	  BK_STREAM, "l3l2q_copy", BK_STREAM, "textbook", 65536, 0, HIGHER,
	  1.0, 0, 0, 0, 0, 0, 0 },
	{ "poll_rtt_vs_cacheline", "busy-poll RTT p50 vs cache-line floor",
	  BK_RTT, "l3l2q_poll", BK_RTT, "cacheline", 0, 1, LOWER, 1.5,
	  0, 0, 0, 0, 0, 0 },
	{ "block_rtt_vs_eventfd", "blocking RTT p50 vs eventfd",
	  BK_RTT, "l3l2q_block", BK_RTT, "eventfd", 0, 1, LOWER, 1.1,
	  0, 0, 0, 0, 0, 0 },
	{ "bstream64_vs_poll", "64 B blocking streaming vs busy-poll (copy API),"
	  " <= 0.01 syscalls/msg",
	  BK_BSTREAM, "l3l2q_block", BK_STREAM, "l3l2q_copy", 64, 0, HIGHER,
	  0.5, 0, 0, 0, 0, 0, 0 },
};
#define NTARGETS	(sizeof(targets) / sizeof(targets[0]))

static void eval_target(struct target *t)
{
	struct bcase *n = find(t->kn, t->num, t->bytes);
	struct bcase *d = find(t->kd, t->den, t->bytes);
	double v[64];
	unsigned int r, k = 0;

	t->status = 2;
	if (!n || !d)
		return;
	for (r = 0; r < opts.reps && k < 64; r++) {
		if (n->err[r] || d->err[r])
			continue;
		if (t->rtt) {
			if (d->s[r].p50_ns > 0)
				v[k++] = n->s[r].p50_ns / d->s[r].p50_ns;
		} else if (d->s[r].msgs_per_s > 0) {
			v[k++] = n->s[r].msgs_per_s / d->s[r].msgs_per_s;
		}
	}
	if (!k)
		return;
	t->ratio = median(v, k);	/* sorts v */
	t->rmin = v[0];
	t->rmax = v[k - 1];
	t->num_mps = n->med.msgs_per_s;
	t->sys = n->med.syscalls_per_msg;
	if (t->dir == HIGHER)
		t->status = t->ratio >= t->goal ? 0 : 1;
	else
		t->status = t->ratio <= t->goal ? 0 : 1;
	if (t->kn == BK_BSTREAM && t->sys > 0.01)
		t->status = 1;
}

static const char *const status_names[] = { "PASS", "MISS", "SKIP" };

/* ---- the table for people ---- */

static void fmt_rate(char *buf, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

static void print_tables(double probe0, double probe1)
{
	unsigned int i, j;
	char r[32];

	printf("\n# l3l2q-bench: median of %u repetition(s), %.2f s each"
	       " (+%.2f s warm-up), CPUs %d,%d\n", opts.reps, opts.duration_s,
	       opts.warmup_s, opts.cpu[0], opts.cpu[1]);
	printf("# cross-core probe (cache-line RTT p50): before %.0f ns, after"
	       " %.0f ns\n", probe0, probe1);

	printf("\n# Streaming, msgs/s (GB/s)\n| mech |");
	for (j = 0; j < nsizes; j++)
		printf(" %u B |", sizes[j]);
	printf("\n|---|");
	for (j = 0; j < nsizes; j++)
		printf("---|");
	printf("\n");
	for (i = 0; i < NMECHS; i++) {
		const struct bench_mech *m = &mechs[i];
		int any = 0;

		if (m->kind != BK_STREAM && m->kind != BK_MEMCPY &&
		    m->kind != BK_BSTREAM)
			continue;
		for (j = 0; j < nsizes; j++)
			any |= !!find(m->kind, m->name, sizes[j]);
		if (!any)
			continue;
		printf("| %s%s |", m->name,
		       m->kind == BK_BSTREAM ? " (blocking)" : "");
		for (j = 0; j < nsizes; j++) {
			struct bcase *b = find(m->kind, m->name, sizes[j]);

			if (!b || !b->nok) {
				printf(" %s |", b ? "fail" : "-");
				continue;
			}
			fmt_rate(r, sizeof(r), b->med.msgs_per_s);
			printf(" %s (%.2f) |", r,
			       b->med.msgs_per_s * sizes[j] / 1e9);
		}
		printf("\n");
	}

	printf("\n# Round trips, %u-byte payload\n"
	       "| mech | p50 ns | p99 ns | round trips/s |\n|---|---|---|---|\n",
	       opts.rtt_bytes);
	for (i = 0; i < ncases; i++) {
		struct bcase *b = &cases[i];

		if (b->c.kind != BK_RTT)
			continue;
		if (!b->nok) {
			printf("| %s | fail | fail | fail |\n", b->c.mech);
			continue;
		}
		fmt_rate(r, sizeof(r), b->med.msgs_per_s);
		printf("| %s | %.0f | %.0f | %s |\n", b->c.mech, b->med.p50_ns,
		       b->med.p99_ns, r);
	}

	printf("\n# Blocking streaming (l3l2q_block): system calls the library"
	       " made per message\n# (kicks + 2 x sleeps [ppoll+read] +"
	       " spin-loop sched_yields), whole run\n"
	       "| bytes | msgs/s | vs busy-poll copy | syscalls/msg | kicks |"
	       " sleeps | yields |\n|---|---|---|---|---|---|---|\n");
	for (j = 0; j < nsizes; j++) {
		struct bcase *b = find(BK_BSTREAM, "l3l2q_block", sizes[j]);
		struct bcase *p = find(BK_STREAM, "l3l2q_copy", sizes[j]);

		if (!b || !b->nok)
			continue;
		fmt_rate(r, sizeof(r), b->med.msgs_per_s);
		printf("| %u | %s | ", sizes[j], r);
		if (p && p->nok)
			printf("%.2f", b->med.msgs_per_s / p->med.msgs_per_s);
		else
			printf("-");
		printf(" | %.5f | %.5f | %.5f | %.5f |\n",
		       b->med.syscalls_per_msg, b->med.kicks_per_msg,
		       b->med.sleeps_per_msg, b->med.yields_per_msg);
	}

	printf("\n# Many threads, msgs/s taken by the consumers (%u producers"
	       " for mp, %u consumers for mc, unpinned)\n| mech |",
	       opts.producers, opts.consumers);
	for (j = 0; j < nsizes; j++)
		printf(" %u B |", sizes[j]);
	printf("\n|---|");
	for (j = 0; j < nsizes; j++)
		printf("---|");
	printf("\n");
	for (i = 0; i < NMECHS; i++) {
		const struct bench_mech *m = &mechs[i];

		if (m->kind != BK_MPSTREAM)
			continue;
		printf("| %s |", m->name);
		for (j = 0; j < nsizes; j++) {
			struct bcase *b = find(m->kind, m->name, sizes[j]);

			if (!b || !b->nok) {
				printf(" %s |", b ? "fail" : "-");
				continue;
			}
			fmt_rate(r, sizeof(r), b->med.msgs_per_s);
			printf(" %s |", r);
		}
		printf("\n");
	}

	printf("\n# Channel streaming, msgs/s taken by the receivers (N threads"
	       " per side, unpinned; sizes <= %u B)\n| mech |",
	       BENCH_CHAN_MAX_BYTES);
	for (j = 0; j < nsizes; j++)
		if (sizes[j] <= BENCH_CHAN_MAX_BYTES)
			printf(" %u B |", sizes[j]);
	printf("\n|---|");
	for (j = 0; j < nsizes; j++)
		if (sizes[j] <= BENCH_CHAN_MAX_BYTES)
			printf("---|");
	printf("\n");
	for (i = 0; i < NMECHS; i++) {
		const struct bench_mech *m = &mechs[i];

		int any = 0;

		if (m->kind != BK_CHSTREAM)
			continue;
		for (j = 0; j < nsizes; j++)
			any |= !!find(m->kind, m->name, sizes[j]);
		if (!any)
			continue;
		printf("| %s |", m->name);
		for (j = 0; j < nsizes; j++) {
			struct bcase *b = find(m->kind, m->name, sizes[j]);

			if (sizes[j] > BENCH_CHAN_MAX_BYTES)
				continue;
			if (!b || !b->nok) {
				printf(" %s |", b ? "fail" : "-");
				continue;
			}
			fmt_rate(r, sizeof(r), b->med.msgs_per_s);
			printf(" %s |", r);
		}
		printf("\n");
	}

	printf("\n# Channel request/response, %u-byte payload, N callers and N"
	       " servers\n| mech | p50 ns | p99 ns | round trips/s (all) |"
	       " sleeps/call |\n|---|---|---|---|---|\n",
	       opts.rtt_bytes);
	for (i = 0; i < ncases; i++) {
		struct bcase *b = &cases[i];

		if (b->c.kind != BK_CHRTT)
			continue;
		if (!b->nok) {
			printf("| %s | fail | fail | fail | fail |\n",
			       b->c.mech);
			continue;
		}
		fmt_rate(r, sizeof(r), b->med.msgs_per_s);
		printf("| %s | %.0f | %.0f | %s | %.3f |\n", b->c.mech,
		       b->med.p50_ns, b->med.p99_ns, r,
		       b->med.sleeps_per_msg);
	}

	printf("\n# Signals: notify -> wake, one notifier, one waiter\n"
	       "| mech | p50 ns | p99 ns | wakes/s |\n|---|---|---|---|\n");
	for (i = 0; i < ncases; i++) {
		struct bcase *b = &cases[i];

		if (b->c.kind != BK_SIGWAKE)
			continue;
		if (!b->nok) {
			printf("| %s | fail | fail | fail |\n", b->c.mech);
			continue;
		}
		fmt_rate(r, sizeof(r), b->med.msgs_per_s);
		printf("| %s | %.0f | %.0f | %s |\n", b->c.mech,
		       b->med.p50_ns, b->med.p99_ns, r);
	}
	printf("\n# Signals: notifies/s, nobody waiting\n"
	       "| mech | notifies/s | syscalls/notify |\n|---|---|---|\n");
	for (i = 0; i < ncases; i++) {
		struct bcase *b = &cases[i];

		if (b->c.kind != BK_SIGNOTIFY)
			continue;
		if (!b->nok) {
			printf("| %s | fail | fail |\n", b->c.mech);
			continue;
		}
		fmt_rate(r, sizeof(r), b->med.msgs_per_s);
		printf("| %s | %s | %.6f |\n", b->c.mech, r,
		       b->med.syscalls_per_msg);
	}

	printf("\n# Targets (median of per-repetition ratios)\n"
	       "| target | ratio | goal | status |\n|---|---|---|---|\n");
	for (i = 0; i < NTARGETS; i++) {
		struct target *t = &targets[i];

		if (t->status == 2) {
			printf("| %s | - | %s %.2f | SKIP |\n", t->what,
			       t->dir == HIGHER ? ">=" : "<=", t->goal);
			continue;
		}
		printf("| %s | %.3f", t->what, t->ratio);
		if (t->kn == BK_BSTREAM)
			printf(" (%.5f syscalls/msg)", t->sys);
		printf(" | %s %.2f | %s |\n", t->dir == HIGHER ? ">=" : "<=",
		       t->goal, status_names[t->status]);
	}
}

static void print_meta(void)
{
	struct utsname u;
	char model[256] = "unknown", line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");
	time_t now = time(NULL);
	char when[64];
	char *p;

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10) &&
			    (p = strchr(line, ':'))) {
				snprintf(model, sizeof(model), "%s", p + 2);
				break;
			}
		}
		fclose(f);
	}
	model[strcspn(model, "\n")] = 0;
	for (p = model; *p; p++)
		if (*p == ' ')
			*p = '_';
	uname(&u);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("kind=meta date=%s kernel=%s cpu=%s ncpus=%ld cpus=%d,%d"
	       " reps=%u duration_s=%.3f warmup_s=%.3f batch=%u producers=%u"
	       " consumers=%u%s%s\n",
	       when, u.release, model, sysconf(_SC_NPROCESSORS_ONLN),
	       opts.cpu[0], opts.cpu[1], opts.reps, opts.duration_s,
	       opts.warmup_s, opts.batch, opts.producers, opts.consumers,
	       *tag ? " " : "", tag);
}

static int run_solo(void)
{
	static const char *const forms[] = {
		"l3l2q_copy", "l3l2q_zc", "l3l2q_batch", "textbook",
		"rte_ring", "rte_ring_ct"
	};
	unsigned int i, j;
	int ret;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (!in_list(mech_sel, forms[i]))
			continue;
		if (!strncmp(forms[i], "rte_ring", 8) && !bench_have_rte_ring)
			continue;
		for (j = 0; j < nsizes; j++) {
			if (!strcmp(forms[i], "rte_ring_ct") && sizes[j] != 64)
				continue;	/* its element size is fixed */
			if (!strcmp(forms[i], "textbook"))
				ret = bench_textbook_solo(sizes[j], solo);
			else if (!strncmp(forms[i], "rte_ring", 8))
				ret = bench_rte_ring_solo(forms[i], sizes[j],
							  solo);
			else
				ret = bench_l3l2q_solo(forms[i], sizes[j], solo);
			printf("kind=solo mech=%s bytes=%u msgs=%llu error=%d\n",
			       forms[i], sizes[j], solo, ret);
			if (ret)
				return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	double probe0, probe1, probe_s;
	unsigned int i, r;
	int fails = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	if (solo)
		return run_solo();
	print_meta();
	build_cases();
	if (!ncases) {
		fprintf(stderr, "l3l2q-bench: nothing selected\n");
		return 2;
	}
	probe_s = opts.duration_s < 0.1 ? opts.duration_s : 0.1;
	probe0 = bench_probe(&opts, probe_s);
	printf("kind=probe when=before mech=cacheline bytes=0 msgs_per_s=%.6g"
	       " p50_ns=%.0f\n", probe0 > 0 ? 1e9 / probe0 : 0, probe0);
	for (r = 0; r < opts.reps; r++) {
		/* Where the vCPUs sit now: a short probe per repetition. */
		if (opts.reps > 1) {
			double p = bench_probe(&opts, probe_s / 5);

			printf("kind=probe when=rep%u mech=cacheline bytes=0"
			       " msgs_per_s=%.6g p50_ns=%.0f\n", r + 1,
			       p > 0 ? 1e9 / p : 0, p);
		}
		for (i = 0; i < ncases; i++) {
			struct bcase *b = &cases[i];

			fprintf(stderr, "\rl3l2q-bench: rep %u/%u case %u/%u"
				" %-8s %-12s %6u B   ", r + 1, opts.reps, i + 1,
				ncases, kind_names[b->c.kind], b->c.mech,
				b->c.bytes);
			b->err[r] = b->m->run(&b->c, &opts, &b->s[r]);
		}
	}
	fprintf(stderr, "\n");
	probe1 = bench_probe(&opts, probe_s);
	for (i = 0; i < ncases; i++) {
		reduce(&cases[i]);
		print_case(&cases[i]);
		fails += !cases[i].nok;
	}
	for (i = 0; i < NTARGETS; i++) {
		struct target *t = &targets[i];

		eval_target(t);
		if (t->status == 2)
			continue;
		printf("kind=ratio name=%s mech=%s base=%s bytes=%u"
		       " msgs_per_s=%.6g ratio=%.4f min_ratio=%.4f"
		       " max_ratio=%.4f goal=%s%.2f status=%s\n",
		       t->name, t->num, t->den, t->rtt ? opts.rtt_bytes :
		       t->bytes, t->num_mps, t->ratio, t->rmin, t->rmax,
		       t->dir == HIGHER ? ">=" : "<=", t->goal,
		       status_names[t->status]);
	}
	printf("kind=probe when=after mech=cacheline bytes=0 msgs_per_s=%.6g"
	       " p50_ns=%.0f\n", probe1 > 0 ? 1e9 / probe1 : 0, probe1);
	print_tables(probe0, probe1);
	return fails ? 1 : 0;
}
