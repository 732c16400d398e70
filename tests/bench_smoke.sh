#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Smoke test of tools/l3l2q-bench: a --quick run (a few seconds) must exit 0
# and give, for every mechanism it was built with, well-formed result lines
# (kind= mech= bytes= msgs_per_s=, all key=value) with msgs_per_s > 0 and no
# error; the probe must run before and after, and every target must get a
# ratio.  Numbers are not judged here (make bench does that).
#
# The channel mechanisms (chstream chan_*, chrtt chan_call_*: 1 and 8
# threads a side) are among them: each must move messages, every one
# checked by the bench, and report.sh must render their tables.
#
# The signals mechanisms (sigwake: notify -> wake, spinning and sleeping
# waiters, the memfd signals object against an eventfd and a futex;
# signotify: notifies with nobody waiting) are among them too; a
# sig_notify with no waiter must have made no system call (no kick, no
# sleep in the library's stats), whatever the speed.
#
# rte_ring is compiled in only where libdpdk-dev is installed (make
# bench-deps); without it the bench says so, and this test checks the rest.
#
# Output is TAP.
set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh

bench=build/tools/l3l2q-bench
out=build/bench-smoke
mkdir -p "$out"

cpus=0,1
if [ "$(nproc)" -lt 2 ]; then
	cpus=0,0
fi

# A watchdog, not a time limit: --quick takes seconds, far longer only on
# a machine that other work keeps busy.
if timeout -k 5 1800 "$bench" --quick --cpus "$cpus" >"$out/results.txt" \
	2>"$out/stderr.txt"; then
	ok "l3l2q-bench --quick exits 0"
else
	not_ok "l3l2q-bench --quick exits 0"
	diag "$out/stderr.txt" 20
	diag "$out/results.txt" 40
fi

# Every line that starts with kind= is key=value pairs only.
bad=$(grep '^kind=' "$out/results.txt" | grep -Evc '^kind=[a-z]+( [a-z0-9_]+=[^ =]+| [a-z0-9_]+=[<>]=[^ ]+)*$')
if [ "$bad" -eq 0 ]; then
	ok "every result line is key=value"
else
	not_ok "every result line is key=value ($bad malformed)"
fi

# Each mechanism of each kind: a line with msgs_per_s > 0 and no error.
while read -r kind mech _; do
	case $mech in
	rte_ring*)
		if ! grep -q "^kind=$kind mech=$mech " "$out/results.txt" &&
		   grep -q "^# $mech: not built" "$out/results.txt"; then
			echo "# $mech not built (no libdpdk-dev): not checked"
			continue
		fi
		;;
	esac
	lines=$(grep -c "^kind=$kind mech=$mech bytes=[0-9]* msgs_per_s=" "$out/results.txt")
	good=$(grep "^kind=$kind mech=$mech bytes=" "$out/results.txt" |
	       grep -v ' error=' |
	       awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^msgs_per_s=/) { split($i, kv, "="); if (kv[2] + 0 > 0) n++ } } END { print n + 0 }')
	if [ "$lines" -gt 0 ] && [ "$good" -eq "$lines" ]; then
		ok "$kind $mech: $lines result(s), all with msgs_per_s > 0"
	else
		not_ok "$kind $mech: $good of $lines result(s) with msgs_per_s > 0"
		grep "^kind=$kind mech=$mech " "$out/results.txt" | sed 's/^/# /'
	fi
done < <("$bench" --list)

for when in before after; do
	if grep -Eq "^kind=probe when=$when mech=cacheline bytes=0 msgs_per_s=[1-9]" "$out/results.txt"; then
		ok "cross-core probe $when"
	else
		not_ok "cross-core probe $when"
	fi
done

ratios=$(grep -c '^kind=ratio .* status=\(PASS\|MISS\)$' "$out/results.txt")
expect=6
if ! grep -q '^kind=stream mech=rte_ring ' "$out/results.txt"; then
	expect=4
fi
if [ "$ratios" -eq "$expect" ]; then
	ok "a ratio for each of the $expect targets"
else
	not_ok "a ratio for each of the $expect targets (got $ratios)"
fi

if sh tools/bench/report.sh "$out/results.txt" "$out" >"$out/report.log" 2>&1 &&
   grep -q '^| l3l2q_copy |' "$out/table.md"; then
	ok "tools/bench/report.sh renders the table"
else
	not_ok "tools/bench/report.sh renders the table"
	diag "$out/report.log"
fi

if grep -q '^| chan_8x8 | [0-9]' "$out/table.md" &&
   grep -q '^| chan_call_8 | [0-9]' "$out/table.md"; then
	ok "tools/bench/report.sh renders the channel tables"
else
	not_ok "tools/bench/report.sh renders the channel tables"
	grep -i chan "$out/table.md" | sed 's/^/# /'
fi

if grep -Eq '^kind=signotify mech=sig_notify bytes=8 .* syscalls_per_msg=0\.0+ kicks_per_msg=0\.0+ ' "$out/results.txt"; then
	ok "sig_notify with nobody waiting makes no system call"
else
	not_ok "sig_notify with nobody waiting makes no system call"
	grep '^kind=signotify' "$out/results.txt" | sed 's/^/# /'
fi

if grep -q '^| sig_sleep | [0-9]' "$out/table.md" &&
   grep -q '^| sig_notify | [0-9]' "$out/table.md"; then
	ok "tools/bench/report.sh renders the signals tables"
else
	not_ok "tools/bench/report.sh renders the signals tables"
	grep -i sig "$out/table.md" | sed 's/^/# /'
fi

echo "1..$n"
exit "$failed"
