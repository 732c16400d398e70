#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The core, the L2 kit and the host tests on a weakly ordered CPU: build
# them with Debian's aarch64 cross compiler (statically, so no sysroot is
# needed at run time), run every test binary under qemu-aarch64-static, and
# check in the disassembly that the protocol's acquire loads and release
# stores are acquire (ldar/ldapr) and release (stlr) instructions and its
# full fences are "dmb ish".
#
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user-static
# (tools/install-deps.sh, which also installs Debian's liburing-dev:arm64
# through multiarch).  Tests that wait through io_uring need that liburing:
# without it they are left out of the build and named in a TAP comment.
# qemu-user does not emulate io_uring's system calls, so the tests are
# built with WK_NO_URING: wake_test's io_uring variant is left out here
# (it runs on the host and in the VM suites) and the output says so.
#
# Output is TAP; every check is a pass or a failure, never a skip.
#
#   AARCH64_TEST_TIMEOUT  seconds each test binary may run (default 600)
set -u

cd "$(dirname "$0")/.." || exit 1

CROSS=${CROSS:-aarch64-linux-gnu-}
XCC=${CROSS}gcc
XAR=${CROSS}ar
XLD=${CROSS}ld
XNM=${CROSS}nm
XOBJDUMP=${CROSS}objdump
QEMU=${QEMU:-qemu-aarch64-static}
# Per suite under qemu-user (10-50x slower): a watchdog for a hang.
run_timeout=${AARCH64_TEST_TIMEOUT:-3600}

out=build/aarch64
KSFT_DIR=build/kselftest

# The host Makefile's flags (no -march: the default armv8-a).
CPPFLAGS=(-D_GNU_SOURCE -Iuapi -Ilib/include -iquote lib/core)
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -pthread)
TEST_CPPFLAGS=(-Itests "-I$KSFT_DIR" -DWK_NO_URING)
TEST_CFLAGS=(-Wno-unused-parameter)

# shellcheck source=tests/tap.sh
. tests/tap.sh

# Does $1 include liburing, directly or through a header in tests/?
needs_uring() {
	local f=$1 depth=${2:-0} h
	grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](liburing|libl3l2q_uring)' \
		"$f" && return 0
	[ "$depth" -ge 4 ] && return 1
	while IFS= read -r h; do
		if [ -f "tests/$h" ] && needs_uring "tests/$h" $((depth + 1)); then
			return 0
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	return 1
}

rm -rf "$out"
mkdir -p "$out/obj" "$out/tests" "$out/logs" "$out/freestanding"

lib_srcs=$(find lib/core lib/user -maxdepth 1 -name '*.c' 2>/dev/null | sort)
core_srcs=$(find lib/core -maxdepth 1 -name '*.c' 2>/dev/null | sort)
all_tests=$(find tests -maxdepth 1 -name '*_test.c' 2>/dev/null | sort)

# liburing for arm64: its library (for the tests that use io_uring).
have_uring_lib=0
p=$("$XCC" -print-file-name=liburing.a 2>/dev/null) || p=
case "$p" in
/*) [ -f "$p" ] && have_uring_lib=1 ;;
esac

# Suites of the host's tools rather than of the library: they exec the
# host-built binary (e.g. build/tools/l3l2q-devsim) and reap it as a child
# subreaper, which qemu-user does not emulate.  They run natively and in
# the VM suites.  pidns_test execs the host's unshare(1), which would have
# to exec the aarch64 binary in turn: it runs natively.  stat_tool_test
# checks the host-built l3l2q-stat against the test's own process.
tool_suites=" devsim_test ivshmem_test pidns_test stat_tool_test "
# Suites that are io_uring through and through: qemu-user does not emulate
# io_uring's system calls (-ENOSYS); they run on the host.
ring_suites=" sigring_test "

tests=
left_out=
for t in $all_tests; do
	case "$tool_suites$ring_suites" in
	*" $(basename "$t" .c) "*) continue ;;
	esac
	if [ "$have_uring_lib" = 0 ] && needs_uring "$t"; then
		left_out="$left_out $(basename "$t" .c)"
	else
		tests="$tests $t"
	fi
done
ntests=$(echo "$tests" | wc -w)

# The fixed checks below: library, freestanding core, 13 disassembly checks
# of the queue and the signals, 7 of the channel.
echo "TAP version 13"
echo "1..$((1 + 2 * ntests + 1 + 13 + 7))"
if [ -n "$left_out" ]; then
	echo "# not cross-built:${left_out// /, } (needs liburing for arm64)" |
		sed 's/:, /: /'
fi
echo "# not run here:$tool_suites(tool suites: they run the host's binaries)"
echo "# not run here:$ring_suites(io_uring only: qemu-user does not emulate it)"
for t in $tests; do
	grep -q 'wake_common\.h' "$t" &&
		echo "# $(basename "$t" .c): io_uring variant left out (qemu-user does not emulate io_uring)"
done

have_tools=1
for tool in "$XCC" "$XAR" "$XLD" "$XNM" "$XOBJDUMP" "$QEMU"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "# missing: $tool (tools/install-deps.sh installs it)"
		have_tools=0
	fi
done
if [ ! -f "$KSFT_DIR/kselftest_harness.h" ]; then
	sh tools/fetch-kselftest.sh "$KSFT_DIR" >"$out/logs/kselftest.log" 2>&1 ||
		diag "$out/logs/kselftest.log" 40
fi

# The library's io_uring glue (lib/user/uring.c) needs liburing's header
# only; its headers are architecture-independent, so the host's serve when
# the cross sysroot has none.
uring_inc=()
if [ "$have_tools" = 1 ] &&
   ! echo '#include <liburing.h>' |
	"$XCC" -E -x c - >/dev/null 2>&1 &&
   [ -f /usr/include/liburing.h ] && [ -d /usr/include/liburing ]; then
	mkdir -p "$out/include"
	ln -s /usr/include/liburing.h "$out/include/liburing.h"
	ln -s /usr/include/liburing "$out/include/liburing"
	uring_inc=(-idirafter "$out/include")
fi

# 1: the library.
lib_ok=0
: >"$out/logs/lib.log"
if [ "$have_tools" = 1 ] && [ -n "$lib_srcs" ]; then
	lib_ok=1
	objs=()
	for src in $lib_srcs; do
		obj="$out/obj/${src%.c}.o"
		mkdir -p "$(dirname "$obj")"
		if ! "$XCC" "${CPPFLAGS[@]}" "${uring_inc[@]}" "${CFLAGS[@]}" \
			-c -o "$obj" "$src" >>"$out/logs/lib.log" 2>&1; then
			echo "$src does not compile" >>"$out/logs/lib.log"
			lib_ok=0
		fi
		objs+=("$obj")
	done
	if [ "$lib_ok" = 1 ] &&
	   ! "$XAR" rcs "$out/libl3l2q.a" "${objs[@]}" >>"$out/logs/lib.log" 2>&1; then
		lib_ok=0
	fi
fi
if [ "$lib_ok" = 1 ]; then
	ok "cross-build libl3l2q for aarch64"
else
	not_ok "cross-build libl3l2q for aarch64"
	diag "$out/logs/lib.log" 40
fi

# 2..: each test, built then run.
test_ldlibs=(-pthread)
[ "$have_uring_lib" = 1 ] && test_ldlibs=(-luring -pthread)
for t in $tests; do
	name=$(basename "$t" .c)
	bin="$out/tests/$name"
	blog="$out/logs/$name.build.log"
	rlog="$out/logs/$name.log"
	built=0
	if [ "$lib_ok" = 1 ] &&
	   "$XCC" "${CPPFLAGS[@]}" "${TEST_CPPFLAGS[@]}" "${uring_inc[@]}" \
		"${CFLAGS[@]}" "${TEST_CFLAGS[@]}" -static -o "$bin" "$t" \
		"$out/libl3l2q.a" "${test_ldlibs[@]}" >"$blog" 2>&1; then
		built=1
		ok "cross-build $name for aarch64"
	else
		not_ok "cross-build $name for aarch64"
		[ "$lib_ok" = 1 ] || echo "the library did not build" >>"$blog"
		diag "$blog" 40
	fi

	if [ "$built" = 0 ]; then
		not_ok "aarch64: $name (not built)"
		continue
	fi
	start=$(date +%s)
	# A smaller fixed amount of work for the stress tests (th_work()).
	timeout -k 10 "$run_timeout" env L3L2Q_TEST_DIVISOR=20 "$QEMU" "$bin" \
		</dev/null >"$rlog" 2>&1
	status=$?
	secs=$(($(date +%s) - start))
	pass=$(grep -Ec '^ok [0-9]+' "$rlog")
	skip=$(grep -Ec '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$rlog")
	fail=$(grep -Ec '^not ok [0-9]+' "$rlog")
	pass=$((pass - skip))
	what="$pass passed"
	[ "$fail" -gt 0 ] && what="$what, $fail failed"
	[ "$skip" -gt 0 ] && what="$what, $skip skipped"
	if [ "$status" -eq 0 ] && [ "$fail" -eq 0 ] && [ "$skip" -eq 0 ] &&
	   [ "$pass" -gt 0 ]; then
		ok "aarch64: $name ($what, ${secs} s)"
	else
		not_ok "aarch64: $name ($what, exit status $status, ${secs} s)"
		[ "$status" -eq 124 ] &&
			echo "# timed out after ${run_timeout} s"
		grep -E '^not ok [0-9]+' "$rlog" | sed 's/^/# /'
		diag "$rlog" 40
	fi
done

# The freestanding core: nothing undefined beyond memcpy/memset.  Debian's
# aarch64 gcc defaults to -moutline-atomics, which turns read-modify-write
# atomics into calls to libgcc's __aarch64_* helpers (a runtime CPU-feature
# switch that neither the kernel nor a bare device has); freestanding arm64
# code built with gcc's atomics uses -mno-outline-atomics (as the kernel's
# kcsan does), and so does this check.
fs=$out/freestanding
fs_ok=0
: >"$fs/build.log"
if [ "$have_tools" = 1 ] && [ -n "$core_srcs" ]; then
	fs_ok=1
	objs=()
	for src in $core_srcs; do
		obj="$fs/$(basename "$src" .c).o"
		if ! "$XCC" -std=c11 -ffreestanding -fno-builtin \
			-fno-stack-protector -nostdlib -mno-outline-atomics \
			-O2 -Wall -Wextra -Werror -Iuapi -Ilib/include -Ilib/core \
			-c -o "$obj" "$src" >>"$fs/build.log" 2>&1; then
			echo "$src does not compile" >>"$fs/build.log"
			fs_ok=0
		fi
		objs+=("$obj")
	done
	if [ "$fs_ok" = 1 ] &&
	   ! "$XLD" -r -o "$fs/core.o" "${objs[@]}" >>"$fs/build.log" 2>&1; then
		fs_ok=0
	fi
fi
if [ "$fs_ok" = 1 ]; then
	"$XNM" -u "$fs/core.o" | awk '{ print $NF }' | sort -u >"$fs/undef"
	printf 'memcpy\nmemset\n' >"$fs/allowed"
	comm -23 "$fs/undef" "$fs/allowed" >"$fs/extra"
fi
if [ "$fs_ok" = 1 ] && [ ! -s "$fs/extra" ]; then
	ok "aarch64: freestanding core needs nothing beyond memcpy/memset"
else
	not_ok "aarch64: freestanding core needs nothing beyond memcpy/memset"
	if [ "$fs_ok" = 1 ]; then
		echo "# undefined symbols the core may not use:"
		diag "$fs/extra" 40
	else
		diag "$fs/build.log" 40
	fi
fi

# Disassembly: each protocol operation is its own instruction.
#
#   disasm_check OBJ "FUNC..." REGEX DESCRIPTION
#
# Passes when the body of one of the FUNCs (or of a compiler clone such as
# FUNC.isra.0 or FUNC.constprop.0) in OBJ has an instruction matching the
# extended REGEX (matched against "mnemonic operands").
disasm_check() {
	local obj=$1 funcs=$2 re=$3 desc=$4 dis found=
	dis="$obj.dis"
	if [ ! -f "$obj" ]; then
		not_ok "$desc"
		echo "# $obj was not built"
		return
	fi
	[ -f "$dis" ] || "$XOBJDUMP" -d --no-show-raw-insn "$obj" >"$dis" 2>&1
	found=$(awk -v funcs="$funcs" -v re="$re" '
		BEGIN { nf = split(funcs, f, " ") }
		/^[0-9a-f]+ <[^>]+>:$/ {
			sym = $2; sub(/^</, "", sym); sub(/>:$/, "", sym)
			base = sym; sub(/\..*$/, "", base)
			cur = ""
			for (i = 1; i <= nf; i++)
				if (base == f[i])
					cur = sym
			next
		}
		cur != "" && /^ *[0-9a-f]+:\t/ {
			split($0, a, "\t")
			insn = a[2]
			if (a[3] != "")
				insn = insn " " a[3]
			if (insn ~ re) {
				print cur ": " insn
				cur = ""
			}
		}' "$dis")
	if [ -n "$found" ]; then
		ok "$desc ($(echo "$found" | head -n 1))"
	else
		not_ok "$desc"
		echo "# no instruction matching /$re/ in: $funcs"
	fi
}

cons=$out/obj/lib/core/consumer.o
prod=$out/obj/lib/core/producer.o
ep=$out/obj/lib/core/endpoint.o
acq32='^(ldar|ldapr) w[0-9]+, \['
rel32='^stlr w[0-9]+, \['
rel64='^stlr x[0-9]+, \['
dmb='^dmb ish$'

disasm_check "$cons" "l3l2q__cons_try_peek l3l2q__cons_take refresh_tail" "$acq32" \
	"disasm: l3l2q__cons_try_peek loads the tail counter with ldar/ldapr (acquire)"
disasm_check "$cons" "l3l2q__cons_release pop_completed" "$rel32" \
	"disasm: l3l2q__cons_release stores the head counter with stlr (release)"
disasm_check "$prod" "l3l2q__prod_try_reserve refresh_head" "$acq32" \
	"disasm: l3l2q__prod_try_reserve loads the head counter with ldar/ldapr (acquire)"
disasm_check "$prod" "l3l2q__prod_publish publish_slot" "$rel64" \
	"disasm: l3l2q__prod_publish stores the descriptor seq with stlr x (release)"
disasm_check "$prod" "l3l2q__prod_publish l3l2q__prod_publish_tail" "$rel32" \
	"disasm: l3l2q__prod_publish stores the tail counter with stlr w (release)"
disasm_check "$prod" "l3l2q__prod_flush l3l2q__prod_publish_tail" "$rel32" \
	"disasm: l3l2q__prod_flush stores the tail counter with stlr w (release)"
# The fast paths (lib/core/fastpath.h), inlined into the entry points.
l3o=$out/obj/lib/core/l3.o
l2o=$out/obj/lib/core/l2.o
disasm_check "$l3o" "l3l2q_l3_try_reserve" "$acq32" \
	"disasm: l3l2q_l3_try_reserve's fast path loads the head counter with ldar/ldapr (acquire)"
disasm_check "$l3o" "l3l2q_l3_publish_defer" "$rel64" \
	"disasm: l3l2q_l3_publish_defer's fast path stores the descriptor seq with stlr x (release)"
disasm_check "$l2o" "l3l2q_l2_try_peek" "$acq32" \
	"disasm: l3l2q_l2_try_peek's fast path loads the tail counter with ldar/ldapr (acquire)"
disasm_check "$l3o" "l3l2q_l3_try_peek" "$acq32" \
	"disasm: l3l2q_l3_try_peek's fast path loads the tail counter with ldar/ldapr (acquire)"
disasm_check "$cons" "l3l2q__cons_pop pop_completed" "$rel32" \
	"disasm: l3l2q__cons_pop (the fast release's pop) stores the head counter with stlr (release)"
# l3l2q__notify() is inline (internal.h): its P2 fence is in the
# functions that publish a counter and then check need-wakeup.
disasm_check "$prod" "l3l2q__prod_publish_tail" "$dmb" \
	"disasm: l3l2q__notify in l3l2q__prod_publish_tail has a full fence (dmb ish, P2)"
disasm_check "$cons" "pop_completed l3l2q__cons_pop" "$dmb" \
	"disasm: l3l2q__notify in pop_completed has a full fence (dmb ish, P2)"
# The copy calls' fast paths, and their ends for payloads over 64 bytes.
disasm_check "$l3o" "l3l2q_l3_try_enqueue" "$acq32" \
	"disasm: l3l2q_l3_try_enqueue's fast path loads the head counter with ldar/ldapr (acquire)"
disasm_check "$l3o" "l3l2q_l3_try_enqueue" "$rel64" \
	"disasm: l3l2q_l3_try_enqueue's fast path stores the descriptor seq with stlr x (release)"
disasm_check "$l3o" "l3l2q_l3_try_enqueue" "$rel32" \
	"disasm: l3l2q_l3_try_enqueue's fast path stores the tail counter with stlr w (release)"
disasm_check "$l3o" "l3l2q_l3_try_enqueue" "$dmb" \
	"disasm: l3l2q_l3_try_enqueue's need-wakeup check has a full fence (dmb ish, P2)"
disasm_check "$prod" "l3l2q__prod_enqueue_big" "$rel64" \
	"disasm: l3l2q__prod_enqueue_big stores the descriptor seq with stlr x (release)"
disasm_check "$prod" "l3l2q__prod_enqueue_big" "$rel32" \
	"disasm: l3l2q__prod_enqueue_big stores the tail counter with stlr w (release)"
disasm_check "$prod" "l3l2q__prod_enqueue_big" "$dmb" \
	"disasm: l3l2q__prod_enqueue_big's need-wakeup check has a full fence (dmb ish, P2)"
disasm_check "$l2o" "l3l2q_l2_try_dequeue" "$acq32" \
	"disasm: l3l2q_l2_try_dequeue's fast path loads the tail counter with ldar/ldapr (acquire)"
disasm_check "$l2o" "l3l2q_l2_try_dequeue" "$rel32" \
	"disasm: l3l2q_l2_try_dequeue's fast path stores the head counter with stlr w (release)"
disasm_check "$l2o" "l3l2q_l2_try_dequeue" "$dmb" \
	"disasm: l3l2q_l2_try_dequeue's need-wakeup check has a full fence (dmb ish, P2)"
disasm_check "$cons" "l3l2q__cons_dequeue_big" "$rel32" \
	"disasm: l3l2q__cons_dequeue_big stores the head counter with stlr w (release)"
disasm_check "$cons" "l3l2q__cons_dequeue_big" "$dmb" \
	"disasm: l3l2q__cons_dequeue_big's need-wakeup check has a full fence (dmb ish, P2)"
disasm_check "$ep" "l3l2q_ep_want_wakeup" "$dmb" \
	"disasm: l3l2q_ep_want_wakeup has a full fence (dmb ish)"

# The signals core: a notify is a release store of the u64 slot (or, for
# add, an exclusive pair with a release store: the freestanding build has
# no outline atomics), a check an acquire load of it, and N2/W2 are full
# fences.
sn=$out/obj/lib/core/signals_notify.o
sw=$out/obj/lib/core/signals_wait.o
acq64='^(ldar|ldapr) x[0-9]+, \['
disasm_check "$sn" "l3l2q_sig_notify l3l2q_sig_notify_monotonic set" "$rel64" \
	"disasm: l3l2q_sig_notify stores the slot with stlr x (release)"
disasm_check "$fs/signals_notify.o" "l3l2q_sig_notify_add" \
	'^(stlxr w[0-9]+, x[0-9]+, \[|ldaddl x)' \
	"disasm: l3l2q_sig_notify_add adds with a release (stlxr or ldaddl, freestanding)"
disasm_check "$sn" "l3l2q__sig_wake" "$dmb" \
	"disasm: l3l2q__sig_wake has a full fence (dmb ish, N2)"
disasm_check "$sw" "scan try_wait wait_loop l3l2q_sig_try_wait l3l2q_sig_try_wait_any" \
	"$acq64" "disasm: a signals check loads the slot with ldar/ldapr x (acquire)"
disasm_check "$sw" "arm l3l2q_sig_arm wait_loop" "$dmb" \
	"disasm: arming a signals wait has a full fence (dmb ish, W2)"

# The channel (uapi/l3l2q_channel.h): A1 tail release, A2 fence before the
# attention check, C3 fence after a claim, the acquire of a tail, the
# release of a head, P2 before reading the receivers' wake word, W2.
csend=$out/obj/lib/core/channel_send.o
crecv=$out/obj/lib/core/channel_recv.o
cwake=$out/obj/lib/core/channel_wake.o
disasm_check "$csend" "l3l2q__chan_publish" "$rel32" \
	"disasm: l3l2q__chan_publish stores the lane tail with stlr w (release, A1)"
disasm_check "$csend" "l3l2q__chan_publish raise_attention" "$dmb" \
	"disasm: raise_attention fences before reading taken (dmb ish, A2)"
disasm_check "$crecv" "l3l2q__chan_claim" "$dmb" \
	"disasm: l3l2q__chan_claim fences before the tail is read (dmb ish, C3)"
disasm_check "$crecv" "l3l2q__chan_refresh_tail" "$acq32" \
	"disasm: l3l2q__chan_refresh_tail loads the lane tail with ldar/ldapr (acquire)"
disasm_check "$crecv" "advance take_from_lane l3l2q_chan_release" "$rel32" \
	"disasm: advance stores the lane head with stlr w (release)"
disasm_check "$cwake" "l3l2q__chan_wake_receivers" "$dmb" \
	"disasm: l3l2q__chan_wake_receivers has a full fence (dmb ish, P2)"
disasm_check "$cwake" "arm l3l2q_chan_want_wakeup" "$dmb" \
	"disasm: arming a channel wait has a full fence (dmb ish, W2)"

exit "$failed"
