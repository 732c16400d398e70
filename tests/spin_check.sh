#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Model-check the need-wakeup protocol (tests/wakeup.pml) and the signals'
# target-crossing rule (tests/signals.pml) with spin: each protocol as
# specified must have no lost wakeup and no deadlock (the queue's also with
# one thread per direction of the waiting role, DUAL), and each broken
# variant (a full fence left out, a kernel wait that does not re-check
# after registering, a wake word changed by a plain store, one eventfd for
# both threads of a role, ...) must be caught, by the lost-wakeup assertion
# (pan -E) and, separately, as a deadlock (pan -A).  The searches are
# exhaustive: full state storage, no partial-order reduction.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1

SPIN=${SPIN:-spin}
CC=${CC:-gcc}
model=tests/wakeup.pml
out=build/spin

rm -rf "$out"
mkdir -p "$out"
# shellcheck source=tests/tap.sh
. tests/tap.sh

# build DIR SPINFLAGS...: generate and compile the verifier of $model in
# $out/DIR.
build() {
	dir=$out/$1
	shift
	mkdir -p "$dir"
	cp "$model" "$dir/"
	(cd "$dir" && "$SPIN" -a "$@" "$(basename "$model")" &&
	 "$CC" -O2 -DSAFETY -DNOREDUCE -o pan pan.c) >"$dir/build.log" 2>&1
}

# verify DIR LOG PANFLAGS...: run the verifier; its output goes to LOG.
verify() {
	dir=$out/$1
	log=$dir/$2
	shift 2
	(cd "$dir" && ./pan -m100000 -w22 "$@") >"$log" 2>&1
}

# The "states, stored" count and the time, as a TAP comment.
stats() {
	states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$1")
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$1")
	echo "${states:-?} states, ${secs:-?} s"
}

# The last steps and the final state of the counterexample in DIR, if any,
# as TAP comments.
trail() {
	dir=$out/$1
	shift
	[ -f "$dir/$(basename "$model").trail" ] || return 0
	(cd "$dir" && "$SPIN" -t -g "$@" "$(basename "$model")") 2>&1 |
		tail -n 40 | sed 's/^/# /'
}

# Exhaustive and clean: no error of any kind, search depth not truncated.
clean() {
	grep -q 'errors: 0$' "$1" && ! grep -q 'max search depth too small' "$1"
}

if ! command -v "$SPIN" >/dev/null 2>&1; then
	not_ok "spin is installed (tools/install-deps.sh installs Debian's spin)"
	echo "1..$n"
	exit 1
fi

# The protocol as specified, on rings of depth 1 to 3 with the WAIT ioctl,
# and with eventfd waits.  Fields: directory, spin flags, description.
while IFS='|' read -r name flags what; do
	# shellcheck disable=SC2086 # $flags is a list of -D options
	if ! build "$name" $flags; then
		not_ok "$what (build)"
		diag "$out/$name/build.log"
		continue
	fi
	verify "$name" pan.log
	if clean "$out/$name/pan.log"; then
		ok "$what"
		echo "# $(stats "$out/$name/pan.log")"
	else
		not_ok "$what"
		diag "$out/$name/pan.log"
		# shellcheck disable=SC2086 # $flags is a list of -D options
		trail "$name" $flags
	fi
done <<EOF
ok-d1-m4|-DDEPTH=1 -DMSGS=4|need-wakeup model (ring depth 1, 4 messages): no lost wakeup, no deadlock, all consumed in order
ok-d2-m5|-DDEPTH=2 -DMSGS=5|need-wakeup model (ring depth 2, 5 messages): no lost wakeup, no deadlock, all consumed in order
ok-d3-m6|-DDEPTH=3 -DMSGS=6|need-wakeup model (ring depth 3, 6 messages): no lost wakeup, no deadlock, all consumed in order
ok-efd-d2-m4|-DEVENTFD=1 -DDEPTH=2 -DMSGS=4|need-wakeup model, eventfd waits (ring depth 2, 4 messages): no lost wakeup, no deadlock, all consumed in order
ok-need2-d2-m4|-DSPACE_NEED=2 -DDEPTH=2 -DMSGS=4|need-wakeup model, a space wait needing two releases (ring depth 2, 4 messages): no lost wakeup, no deadlock, all consumed in order
ok-dual-d2-m2|-DDUAL=1 -DOTHER_ARMS=1 -DDEPTH=2 -DMSGS=2|need-wakeup model, one thread per direction: the waiting role's other thread arms and clears its own bit of the same word by atomic read-modify-write (ring depth 2, 2 messages): no lost wakeup, no deadlock, all consumed in order
ok-dual-efd-d2-m2|-DDUAL=1 -DEVENTFD=1 -DOTHER_ARMS=1 -DDEPTH=2 -DMSGS=2|need-wakeup model, one thread per direction, eventfd waits, one eventfd per wait bit (ring depth 2, 2 messages): no lost wakeup, no deadlock, all consumed in order
EOF

# Each broken variant must be caught twice: by the lost-wakeup assertion
# (pan -E: assertions only), and as a deadlock (pan -A: end states only).
# Direction 1 is the consumer (L2, process 1) waiting for input, direction
# 2 the producer (L3, process 0) waiting for space; the assertion names the
# process that slept through its wake-up.  Fields: directory, spin flags,
# that process, description.
while IFS='|' read -r name flags proc what; do
	what="$what: lost wakeup and deadlock"
	# shellcheck disable=SC2086 # $flags is a list of -D options
	if ! build "$name" $flags; then
		not_ok "$what (build)"
		diag "$out/$name/build.log"
		continue
	fi
	verify "$name" lost.log -E
	verify "$name" dead.log -A
	lost=$out/$name/lost.log
	dead=$out/$name/dead.log
	if grep -q "assertion violated.*asleep\[$proc\]" "$lost" &&
	   grep -q 'errors: 1$' "$lost" &&
	   grep -q 'invalid end state' "$dead" &&
	   grep -q 'errors: 1$' "$dead"; then
		ok "$what"
		echo "# assertion: $(stats "$lost"); end state: $(stats "$dead")"
		grep 'assertion violated' "$lost" | sed 's/^/# /'
	else
		not_ok "$what"
		diag "$lost"
		diag "$dead"
	fi
done <<EOF
no-w2-avail|-DBUG_NO_W2=1|1|the model catches a missing waiter fence (W2), input-avail wait
no-w2-space|-DBUG_NO_W2=2|0|the model catches a missing waiter fence (W2), input-space wait
no-p2-avail|-DBUG_NO_P2=1|1|the model catches a missing publisher fence (P2), input-avail wait
no-p2-space|-DBUG_NO_P2=2|0|the model catches a missing publisher fence (P2), input-space wait
no-recheck-avail|-DBUG_NO_RECHECK=1|1|the model catches a WAIT that does not re-check after registering, input-avail wait
no-recheck-space|-DBUG_NO_RECHECK=2|0|the model catches a WAIT that does not re-check after registering, input-space wait
efd-no-w2-avail|-DEVENTFD=1 -DKERNEL_MB=1 -DBUG_NO_W2=1|1|the model catches a missing W2 with eventfd waits, even when entering the wait fences, input-avail wait
efd-no-w2-space|-DEVENTFD=1 -DKERNEL_MB=1 -DBUG_NO_W2=2|0|the model catches a missing W2 with eventfd waits, even when entering the wait fences, input-space wait
no-seen|-DDEPTH=1 -DMSGS=4 -DBUG_NO_SEEN=1|0|the model catches one kick per arming without the armed-counter check (a stale kick spends the arming)
no-rearm-space|-DSPACE_NEED=2 -DBUG_NO_REARM=2|0|the model catches a waiter that sleeps again on an arming already kicked, on the newest counter, space wait needing two releases
new-seen-space|-DSPACE_NEED=2 -DBUG_NEW_SEEN=2|0|the model catches a WAIT on a newer counter value than the one armed with, space wait needing two releases
dual-plain-rmw|-DDUAL=1 -DOTHER_ARMS=1 -DDEPTH=1 -DMSGS=1 -DBUG_PLAIN_RMW=1|1|the model catches a wake word changed by a plain load and store while the role's other thread arms and clears its own bit
dual-shared-efd|-DDUAL=1 -DEVENTFD=1 -DOTHER_ARMS=1 -DDEPTH=2 -DMSGS=2 -DBUG_SHARED_EFD=1|1|the model catches both threads of a role sleeping on one eventfd (the other thread reads the consumer's kick)
EOF

# The signals' target-crossing rule (tests/signals.pml): growing values
# and a state word set and reset, with the kernel's wait and with eventfd
# sleeps.  Fields: directory, spin flags, description.
model=tests/signals.pml
while IFS='|' read -r name flags what; do
	# shellcheck disable=SC2086 # $flags is a list of -D options
	if ! build "$name" $flags; then
		not_ok "$what (build)"
		diag "$out/$name/build.log"
		continue
	fi
	verify "$name" pan.log
	if clean "$out/$name/pan.log"; then
		ok "$what"
		echo "# $(stats "$out/$name/pan.log")"
	else
		not_ok "$what"
		diag "$out/$name/pan.log"
		# shellcheck disable=SC2086 # $flags is a list of -D options
		trail "$name" $flags
	fi
done <<EOF
sig-ok-grow-v5|-DNV=5|signals model, growing values (5 notifies, targets 2 then 5): no lost wakeup, no deadlock, data seen with its value
sig-ok-state-v7|-DNONMONO=1 -DNV=7|signals model, a state word set and reset (7 notifies): no lost wakeup, no deadlock
sig-ok-efd-grow-v4|-DEVENTFD=1 -DNV=4|signals model, eventfd sleeps, growing values (4 notifies): no lost wakeup, no deadlock, data seen with its value
sig-ok-efd-state-v7|-DEVENTFD=1 -DNONMONO=1 -DNV=7|signals model, eventfd sleeps, a state word set and reset (7 notifies): no lost wakeup, no deadlock
EOF

# Each broken variant of the signals model must be caught by the
# lost-wakeup assertion (pan -E) and as a deadlock (pan -A).  Fields:
# directory, spin flags, description.
while IFS='|' read -r name flags what; do
	what="$what: lost wakeup and deadlock"
	# shellcheck disable=SC2086 # $flags is a list of -D options
	if ! build "$name" $flags; then
		not_ok "$what (build)"
		diag "$out/$name/build.log"
		continue
	fi
	verify "$name" lost.log -E
	verify "$name" dead.log -A
	lost=$out/$name/lost.log
	dead=$out/$name/dead.log
	if grep -q 'assertion violated.*asleep' "$lost" &&
	   grep -q 'errors: 1$' "$lost" &&
	   grep -q 'invalid end state' "$dead" &&
	   grep -q 'errors: 1$' "$dead"; then
		ok "$what"
		echo "# assertion: $(stats "$lost"); end state: $(stats "$dead")"
	else
		not_ok "$what"
		diag "$lost"
		diag "$dead"
	fi
done <<EOF
sig-no-w2|-DBUG_NO_W2=1|the signals model catches a missing waiter fence (W2)
sig-no-n2|-DBUG_NO_N2=1|the signals model catches a missing notifier fence (N2)
sig-efd-no-w2|-DEVENTFD=1 -DBUG_NO_W2=1|the signals model catches a missing W2 with eventfd sleeps
sig-efd-no-n2|-DEVENTFD=1 -DBUG_NO_N2=1|the signals model catches a missing N2 with eventfd sleeps
sig-no-recheck|-DBUG_NO_RECHECK=1|the signals model catches a kernel wait that does not re-check after registering
sig-no-recheck-state|-DBUG_NO_RECHECK=1 -DNONMONO=1|the signals model catches a kernel wait that does not re-check after registering, state word
sig-no-kicked|-DBUG_NO_KICKED=1 -DNONMONO=1|the signals model catches a kernel wait that ignores the kicked word (a kick before the sleep, the state reset since)
EOF

echo "1..$n"
exit "$failed"
