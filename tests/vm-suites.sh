#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The in-VM suites as one suite of "make check": tests/vm/*_test.c on the
# 6.1 and 6.12 cloud kernels under QEMU (tools/vm/run.sh).
#
# The runner summarises; this wrapper re-emits every TAP result line of
# each kernel's console, named after the kernel, so tests/run-suites.sh
# counts each in-VM test like a host test.  Failures the runner finds
# outside TAP (no boot, insmod, rmmod, load cycles, dmesg) become one
# "not ok" line each.
set -u
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT

bash "$root/tools/vm/run.sh" "$@"
rc=$?

n=0
tap_failed=0
for cons in "$root"/build/vm/*/console.log; do
	# Only consoles written by this run.
	[ "$cons" -nt "$stamp" ] || continue
	rel=$(basename "$(dirname "$cons")")
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ (.*)$ ]]; then
			n=$((n + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				tap_failed=$((tap_failed + 1))
				echo "not ok $n $rel: ${BASH_REMATCH[2]}"
			else
				echo "ok $n $rel: ${BASH_REMATCH[2]}"
			fi
		fi
	done <"$cons"
done

runner_failed=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' \
	"$root/build/vm/totals" 2>/dev/null)
extra=$(( ${runner_failed:-1} - tap_failed ))
# A failed run with no failed test line of its own failed somewhere else
# (boot, insmod, dmesg, rmmod): count that once.  A failed test already
# explains a failed run.
if [ "$rc" -ne 0 ] && [ "$tap_failed" -eq 0 ] && [ "$extra" -lt 1 ]; then
	extra=1
fi
while [ "$extra" -gt 0 ]; do
	n=$((n + 1))
	echo "not ok $n vm runner: a check outside the suites failed (see above)"
	extra=$((extra - 1))
done
exit "$rc"
