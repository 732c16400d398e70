#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The fuzzers of tests/fuzz/ as a suite of "make check": each harness
# (built by "make fuzz-build") runs
#   1. every seed of its committed corpus (tests/fuzz/corpus/<harness>/);
#   2. FUZZ_RUNS (default 20000) runs mutated from that corpus, with a
#      fixed seed, so the run is the same every time and takes seconds;
#   3. its blind-* seeds with FUZZ_BLIND=1, where the harness is not told
#      about the hostile writes: its content check must report them, which
#      shows that the check is live.
# Any sanitizer report, broken invariant (tests/fuzz/README) or a run
# longer than 60 s (a hang: a run takes milliseconds) is a failure.  Logs: build/fuzz/logs/.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh

runs=${FUZZ_RUNS:-20000}
logs=build/fuzz/logs
rm -rf "$logs" build/fuzz/work
mkdir -p "$logs"

harnesses=$(find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' | sort)
if [ -z "$harnesses" ]; then
	not_ok "tests/fuzz has harnesses"
	echo "1..$n"
	exit 1
fi

for src in $harnesses; do
	name=$(basename "$src" .c)
	bin=build/fuzz/$name
	corpus=tests/fuzz/corpus/$name
	work=build/fuzz/work/$name
	if [ ! -x "$bin" ]; then
		not_ok "$name: built (make fuzz-build needs clang and libclang-rt-14-dev)"
		continue
	fi
	seeds=$(find "$corpus" -maxdepth 1 -type f 2>/dev/null | sort)
	if [ -z "$seeds" ]; then
		not_ok "$name: has a seed corpus in $corpus"
		continue
	fi

	# shellcheck disable=SC2086 # $seeds is a list of files
	if "$bin" -timeout=60 $seeds >"$logs/$name-seeds.log" 2>&1; then
		ok "$name: every seed of the corpus holds the invariants"
	else
		not_ok "$name: every seed of the corpus holds the invariants"
		diag "$logs/$name-seeds.log" 30
	fi

	mkdir -p "$work"
	if "$bin" -seed=1 -runs="$runs" -max_len=512 -timeout=60 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" "$work" "$corpus" \
		>"$logs/$name-fuzz.log" 2>&1; then
		ok "$name: $runs runs from the corpus, no sanitizer report, no broken invariant, no hang"
		grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$name-fuzz.log" |
			sed 's/^/# /'
	else
		not_ok "$name: $runs runs from the corpus, no sanitizer report, no broken invariant, no hang"
		diag "$logs/$name-fuzz.log" 40
	fi

	blind=$(find "$corpus" -maxdepth 1 -type f -name 'blind-*' | sort)
	# shellcheck disable=SC2086 # $blind is a list of files
	if [ -n "$blind" ] &&
	   ! FUZZ_BLIND=1 "$bin" -timeout=60 $blind >"$logs/$name-blind.log" 2>&1 &&
	   grep -q 'fuzz invariant broken' "$logs/$name-blind.log"; then
		ok "$name: with the hostile writes hidden from it, the content check fails as it must"
	else
		not_ok "$name: with the hostile writes hidden from it, the content check fails as it must"
		diag "$logs/$name-blind.log" 20
	fi
done

echo "1..$n"
exit "$failed"
