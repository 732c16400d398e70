#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The fast path's instruction budget: l3l2q's instructions per message at
# 64 B, batched (l3l2q_batch: l3l2q_l3_try_reserve_batch of 32, fill each,
# l3l2q_l3_submit_batch; l3l2q_l2_try_peek_batch of 32, check each,
# l3l2q_l2_release_oldest) and through the copy API (l3l2q_copy:
# l3l2q_l3_try_enqueue, l3l2q_l2_try_dequeue), both
# sides, counted by callgrind in the
# bench's one-thread fill/drain loop (tools/bench/icount.sh).  Callgrind
# counts executed instructions, so the verdict does not depend on the
# machine's speed or load; the two runs take seconds.
#
# The ceiling is committed here: raise it only with a reason in the commit.
#
# Output is TAP.
set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh

# Measured at 636.6 (gcc 12.2, -O2, x86_64) when this check was added, at
# 385.3 after the fast path (lib/core/fastpath.h), at 151.8 with the batch
# APIs (rte_ring: 201.1 in the same loop), at 161.3 with the producer's
# write prefetch a batch ahead (+10, for +30-50% messages per second when
# the CPUs share a cache, docs/performance.md); the ceiling is that plus 3%.
CEILING_BATCH64=166
# The copy API (l3l2q_copy: l3l2q_l3_try_enqueue copies in;
# l3l2q_l2_try_dequeue copies out and releases), measured at 238.0 with
# fast paths whose only calls are tail calls and a precomputed arena mask
# (262.2 with the fused copy-out call and the inline need-wakeup check,
# 410.6 with try_peek + memcpy + release, 477.1 before the fast path);
# the ceiling is that plus 3%.
CEILING_COPY64=245

bench=build/tools/l3l2q-bench
out=build/icount-check
mkdir -p "$out"

if bash tools/bench/icount.sh --mech l3l2q_batch,l3l2q_copy --sizes 64 \
	"$bench" >"$out/results.txt" 2>"$out/stderr.txt"; then
	ok "icount.sh runs l3l2q_batch and l3l2q_copy at 64 B under callgrind"
else
	not_ok "icount.sh runs l3l2q_batch and l3l2q_copy at 64 B under callgrind"
	diag "$out/stderr.txt" 20
fi

# check MECH CEILING: the count at 64 B is measured and at most CEILING.
check() {
	local got
	got=$(sed -n "s/^kind=icount mech=$1 bytes=64 instr_per_msg=\([0-9.]*\)\$/\1/p" \
		"$out/results.txt")
	if [ -n "$got" ] && awk -v g="$got" -v c="$2" 'BEGIN { exit !(g > 0 && g <= c) }'; then
		ok "$1 64 B: $got instructions per message <= $2"
	else
		not_ok "$1 64 B: '${got:-none}' instructions per message, ceiling $2"
		diag "$out/results.txt"
	fi
}

check l3l2q_batch "$CEILING_BATCH64"
check l3l2q_copy "$CEILING_COPY64"

echo "1..$n"
exit "$failed"
