#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per message of each streaming ring, counted by callgrind:
# l3l2q-bench --solo runs the one-thread fill/drain loop (the ring filled
# until full, then drained, stamps put and checked) once with 2N and once
# with N messages; (Ir(2N) - Ir(N)) / N cancels process start, queue set-up
# and tear-down.  Callgrind counts executed instructions, so the number does
# not depend on the speed or load of the machine.
#
#   tools/bench/icount.sh [--mech A,B,..] [--sizes A,B,..] [--n N] [BENCH]
#
# Prints one line per (mechanism, size):
#   kind=icount mech=M bytes=B instr_per_msg=X
# BENCH defaults to build/tools/l3l2q-bench; rte_ring and rte_ring_ct need
# it built with libdpdk (make bench-deps) and are skipped otherwise.
set -eu

mechs="l3l2q_copy,l3l2q_zc,l3l2q_batch,textbook,rte_ring,rte_ring_ct"
sizes="0,64"
n=100000
while [ $# -gt 0 ]; do
	case $1 in
	--mech) mechs=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--n) n=$2; shift 2 ;;
	-*) echo "usage: icount.sh [--mech A,B] [--sizes A,B] [--n N] [BENCH]" >&2
	    exit 2 ;;
	*) break ;;
	esac
done
bench=${1:-build/tools/l3l2q-bench}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "icount.sh: valgrind is not installed (tools/install-deps.sh)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions of one --solo run, from callgrind's "totals:" line.
irs() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
		"$bench" --solo "$1" --mech "$2" --sizes "$3" \
		>"$tmp/out" 2>"$tmp/err" || {
		echo "icount.sh: $2 at $3 B failed:" >&2
		cat "$tmp/out" "$tmp/err" >&2
		return 1
	}
	grep -q 'error=0$' "$tmp/out" || {
		echo "icount.sh: $2 at $3 B: $(cat "$tmp/out")" >&2
		return 1
	}
	awk '/^totals:/ { print $2 }' "$tmp/cg"
}

have_rte=1
"$bench" --list | grep -q 'rte_ring .*not built' && have_rte=0

for m in $(echo "$mechs" | tr ',' ' '); do
	case $m in
	rte_ring*) [ "$have_rte" = 1 ] || {
		echo "# $m: not built (no libdpdk at build time; make bench-deps)"
		continue; } ;;
	esac
	for b in $(echo "$sizes" | tr ',' ' '); do
		[ "$m" = rte_ring_ct ] && [ "$b" != 64 ] && continue
		big=$(irs $((2 * n)) "$m" "$b")
		small=$(irs "$n" "$m" "$b")
		awk -v m="$m" -v b="$b" -v x="$big" -v y="$small" -v n="$n" \
			'BEGIN { printf "kind=icount mech=%s bytes=%s instr_per_msg=%.1f\n", m, b, (x - y) / n }'
	done
done
