# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# shellcheck disable=SC2034 # n and failed are read by the sourcing script
#
# TAP output for the shell suites (sourced): numbered results, a failure
# flag for the exit status, and files shown as TAP comments.

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n $1"
	failed=1
}

# Show a file as TAP comments: all of it, or its last $2 lines.
diag() {
	if [ -n "${2:-}" ]; then
		tail -n "$2" "$1"
	else
		cat "$1"
	fi | sed 's/^/# /'
}
