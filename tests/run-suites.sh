#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run test suites one after another and total their TAP results.
#
#   tests/run-suites.sh PROGRAM...
#
# Each PROGRAM (a test binary or a TAP-printing script) runs under
# timeout(1) (SUITE_TIMEOUT seconds, default 600) with its output echoed and
# kept in build/logs/<suite>.log.  The suite name is the file name without
# ".sh"; a program under an asan/ directory gets the suffix "-asan".
#
# Only top-level TAP result lines count: "ok N" passes ("ok N ... # SKIP"
# is a skip) and "not ok N" fails; the harness's indented "#  RUN" and
# "# PASSED:" comments do not.  A suite that exits non-zero without a
# failed result, or reports nothing at all, counts as one failure.
#
# The last line printed, also written to build/test-totals, is
# "N passed, N failed" (", N skipped" appended when there are skips).
# Exit status is non-zero on any failure or skip: skips are not allowed.
set -u

# Programs are run from the caller's directory; logs go to the repo's build/.
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1

if [ $# -eq 0 ]; then
	echo "usage: $0 PROGRAM..." >&2
	exit 2
fi

timeout_s=${SUITE_TIMEOUT:-600}
logdir=$root/build/logs
mkdir -p "$logdir"

total_pass=0
total_fail=0
total_skip=0

for prog in "$@"; do
	name=$(basename "$prog" .sh)
	case "$prog" in
	*/asan/*)
		name="$name-asan"
		;;
	esac
	log="$logdir/$name.log"

	case "$prog" in
	*/*)
		;;
	*)
		prog="./$prog"
		;;
	esac

	echo "=== suite $name: $prog"
	# -k: a suite that ignores SIGTERM is killed 10 s later; timeout(1)
	# signals the whole process group, so forked test children go too.
	timeout -k 10 "$timeout_s" "$prog" </dev/null 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}

	pass=$(grep -Ec '^ok [0-9]+' "$log")
	skip=$(grep -Ec '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$log")
	fail=$(grep -Ec '^not ok [0-9]+' "$log")
	pass=$((pass - skip))

	# A hang is a failure of its own, whatever was reported before it.
	if [ "$status" -eq 124 ]; then
		echo "$name: timed out after ${timeout_s} s"
		fail=$((fail + 1))
	elif [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
		echo "$name: exited with status $status"
		fail=$((fail + 1))
	elif [ $((pass + fail + skip)) -eq 0 ]; then
		echo "$name: reported no TAP results"
		fail=$((fail + 1))
	fi

	echo "suite $name: $pass passed, $fail failed, $skip skipped"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
done

totals="$total_pass passed, $total_fail failed"
if [ "$total_skip" -gt 0 ]; then
	totals="$totals, $total_skip skipped"
fi
echo "$totals" >"$root/build/test-totals"
echo "$totals"

[ "$total_fail" -eq 0 ] && [ "$total_skip" -eq 0 ]
