#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Model-check the channel's receive side with several receiving threads
# (tests/channel_wakeup.pml) with spin: as implemented it must have no
# deadlock (no message stranded while the receivers sleep) and take every
# message once and in order; each broken variant must be caught as an
# invalid end state.  The searches are exhaustive (full state storage,
# compressed); spin's partial-order reduction is on, which preserves
# both properties (safety only: assertions and end states).
#
# The clean model runs with 2 messages here (about 6 million states, a
# few hundred MB).  With 3 messages it has about 59 million (2.5 GB, a few
# minutes): run SPIN_CHANNEL_MSGS=3 sh tests/channel_spin_check.sh for it.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1

SPIN=${SPIN:-spin}
CC=${CC:-gcc}
MSGS=${SPIN_CHANNEL_MSGS:-2}
model=tests/channel_wakeup.pml
out=build/channel_spin

rm -rf "$out"
mkdir -p "$out"
# shellcheck source=tests/tap.sh
. tests/tap.sh

# build DIR SPINFLAGS...: generate and compile the verifier in $out/DIR.
build() {
	dir=$out/$1
	shift
	mkdir -p "$dir"
	cp "$model" "$dir/model.pml"
	(cd "$dir" && "$SPIN" -a "$@" model.pml &&
	 "$CC" -O2 -DSAFETY -DCOLLAPSE -o pan pan.c) >"$dir/build.log" 2>&1
}

# verify DIR: run the verifier; its output goes to DIR/pan.log.
verify() {
	(cd "$out/$1" && ./pan -m100000 -w24) >"$out/$1/pan.log" 2>&1
}

stats() {
	states=$(sed -n 's/^ *\([0-9][0-9]*\) states, stored.*/\1/p' "$1")
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$1")
	echo "${states:-?} states, ${secs:-?} s"
}

if ! command -v "$SPIN" >/dev/null 2>&1; then
	not_ok "spin is installed (tools/install-deps.sh installs Debian's spin)"
	echo "1..$n"
	exit 1
fi

# The model as implemented.
name=ok
if ! build "$name" -DMSGS="$MSGS"; then
	not_ok "channel receive model (build)"
	diag "$out/$name/build.log"
else
	verify "$name"
	log=$out/$name/pan.log
	if grep -q 'errors: 0$' "$log" && ! grep -q 'max search depth too small' "$log" &&
	   ! grep -q 'out of memory' "$log"; then
		ok "channel receive model ($MSGS messages, 2 receivers, one leaving after a message): no stranded message, no deadlock, each message once and in order"
		echo "# $(stats "$log")"
	else
		not_ok "channel receive model ($MSGS messages): no stranded message, no deadlock"
		diag "$log"
		(cd "$out/$name" && "$SPIN" -t -g -DMSGS="$MSGS" model.pml) 2>&1 |
			tail -n 40 | sed 's/^/# /'
	fi
fi

# Each broken variant must end in an invalid end state (a stranded
# message).  Fields: directory, spin flags, description.
while IFS='|' read -r name flags what; do
	# shellcheck disable=SC2086 # $flags is a list of -D options
	if ! build "$name" $flags; then
		not_ok "$what (build)"
		diag "$out/$name/build.log"
		continue
	fi
	verify "$name"
	log=$out/$name/pan.log
	if grep -q 'invalid end state' "$log" && grep -q 'errors: 1$' "$log"; then
		ok "$what"
		echo "# $(stats "$log")"
	else
		not_ok "$what"
		diag "$log"
	fi
done <<EOF
no-rxs-check|-DMSGS=2 -DBUG_NO_RXS_CHECK=1|the model catches a wait that ignores other threads at work (sleeps where it must nap)
no-token|-DMSGS=2 -DBUG_NO_TOKEN=1|the model catches a taker of attention not counted at work
split-claim|-DMSGS=2 -DBUG_SPLIT_CLAIM=1|the model catches a claim that clears the pending bit before counting itself at work
no-arm|-DMSGS=2 -DBUG_NO_ARM=1|the model catches a sleep without a new arming (one kick per arming then loses one)
stale-ready|-DMSGS=2 -DBUG_STALE_READY=1|the model catches attention taken by CAS with ready read first (a stale ready gives attention back)
cas-take|-DMSGS=3 -DBUG_CAS_TAKE=1|the model catches attention taken by CAS from every thread (a bit going 0, 1, 0 gives attention back)
EOF

echo "1..$n"
exit "$failed"
