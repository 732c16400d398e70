#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run the in-VM test suites (tests/vm/*_test.c) against the l3l2q module
# on Debian 12's cloud kernels 6.1 and 6.12, each booted in QEMU from an
# initramfs.  This machine's own kernel cannot load modules (DESIGN.md §7).
#
#   tools/vm/run.sh [--kernel 6.1|6.12|all] [--tests GLOB] [--exec CMD]
#                   [--bin-dir DIR] [--keep] [--test-timeout S]
#                   [--exec-timeout S] [--vm-timeout S] [--no-devices]
#                   [--verbose]
#
# Per kernel it: resolves and fetches the kernel image and headers
# (installing what is missing with apt-get), builds the module with W=1
# in a copy of the tree (any warning fails), builds static test binaries,
# packs busybox + module + tests + tools/vm/init into an initramfs, boots
# it under TCG and parses the "VMRESULT" lines of the serial console.
# It prints "kernel <ver>: N passed, N failed" per kernel and last one
# line "N passed, N failed", also written to build/vm/totals.  Exit status
# is non-zero on any failure, including a VM that never reported.
#
# Modelled on liburing's test/runtests.sh: per-test timeout, a /dev/kmsg
# marker and a dmesg scan after it (style.md rule 16).
#
# Devices.  Every boot gets two QEMU ivshmem PCI devices (1af4:1110), each
# served by l3l2q-devsim running on this host, started before QEMU and
# stopped (SIGTERM) after it; their logs stay in build/vm/<kernel>/:
#   device 0  ivshmem-doorbell (id ivs0, vectors=8, 32 MiB): an ivshmem
#             server (--server-only, ivshmem-server.log) and the device as
#             its client (--ivshmem-client, device0.log)
#   device 1  ivshmem-plain (id ivs1, 16 MiB) on a file in /dev/shm,
#             served by l3l2q-devsim --plain (device1.log)
# The guest controls them through its serial console: a line
# "VMCTL <cmd> [args]" makes the runner act while the VM runs, and the
# answer "VMACK ok|fail <cmd> [args][: why]" arrives on the guest's second
# serial port, /dev/ttyS1 (tests/vm/vmctl.h does both sides of that):
#   kill-device N        SIGKILL device N's process (and reap it)
#   start-device N [ARG...]
#                        start it again with extra device options (e.g.
#                        --upstream-only).  The shared memory stays what
#                        it was: QEMU cannot reconnect to a new ivshmem
#                        server, so only the device restarts (a new client
#                        of the same server, with a new peer ID); the plain
#                        file stays too.  The new device lets go the
#                        regions its predecessor served and serves new ones.
#   scribble-device N    SIGUSR1: random bytes over the whole memory
#   unplug N             QMP device_del ivsN (the guest sees it removed)
# Everything the runner did is in vmctl.log; the QMP exchange in qmp.log.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Everything the runner makes goes here (L3_VM_BUILD moves it, e.g. for
# a development run that must not disturb build/vm).
VM=${L3_VM_BUILD:-$REPO/build/vm}
VM=$(mkdir -p "$VM" && cd "$VM" && pwd)

KERNELS=all
TEST_GLOB='*'
TESTS_GIVEN=0
EXEC_CMD=${L3_VM_EXEC:-}
BIN_DIR=${L3_VM_BIN_DIR:-}
KEEP=0
VERBOSE=0
DEVICES=${L3_VM_DEVICES:-1}
# Per-suite and per-VM limits: watchdogs for a hang, never a verdict on
# speed.  A quiet run of all suites takes a few minutes per kernel under
# TCG (a boot is 2-3 s), a loaded host several times that; the limits
# leave room for much worse.
TEST_TIMEOUT=${L3_VM_TEST_TIMEOUT:-1800}
EXEC_TIMEOUT=${L3_VM_EXEC_TIMEOUT:-300}
VM_TIMEOUT=${L3_VM_TIMEOUT:-3600}
INSMOD_ARGS=${L3_VM_INSMOD_ARGS:-}
# Development aids: build the module from another tree with a Kbuild, and
# take the suites from another directory of *_test.c files.
MODULE_SRC=${L3_VM_MODULE_SRC:-$REPO}
TEST_SRC=${L3_VM_TEST_SRC:-$REPO/tests/vm}

# Static user-space build: the flags of the host build plus -static, so
# the binaries need nothing from the initramfs but the kernel.
CC=${CC:-gcc}
[[ $CC == cc ]] && CC=gcc
CPPFLAGS=(-D_GNU_SOURCE -Iuapi -Ilib/include -iquote lib/core)
CFLAGS=(-static -std=c11 -O2 -Wall -Wextra -Werror -pthread)
TEST_FLAGS=(-Wno-unused-parameter -Itests -Ibuild/kselftest)
# The tool directories (tools/<dir>/*.c -> bin/l3l2q-<dir>) built for the
# VM: only those that need no library beyond libl3l2q and liburing, which
# is why tools/bench (DPDK) is not here.
VM_TOOL_DIRS=(devsim)

APT_UPDATED=0

# The ivshmem devices and the VMCTL channel (devices_start and friends).
# shellcheck source=tools/vm/devices.sh
. "$REPO/tools/vm/devices.sh"

usage() {
	# The header comment from the synopsis to its end.
	awk '/^#   tools/ { on = 1 } on && !/^#/ { exit }
		on { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
	cat <<'EOF'
  --kernel K       6.1, 6.12 or all (default all)
  --tests GLOB     run only tests/vm/GLOB (matched against e.g. driver_test)
  --exec CMD       run CMD (sh -c) in the VM after the suites, with the
                   module loaded and build/vm/bin/* plus --bin-dir/* on
                   PATH; without --tests the suites are skipped.  Also
                   L3_VM_EXEC.
  --bin-dir DIR    extra static binaries for the initramfs (L3_VM_BIN_DIR)
  --keep           keep the module build tree and the initramfs staging
  --test-timeout S per suite (default 1800; L3_VM_TEST_TIMEOUT)
  --exec-timeout S for the --exec command (default 300; L3_VM_EXEC_TIMEOUT)
  --vm-timeout S   per boot (default 3600; L3_VM_TIMEOUT)
  --no-devices     boot without the two ivshmem devices (L3_VM_DEVICES=0)
  --verbose        show the console live
Env: L3_VM_INSMOD_ARGS (module parameters), L3_VM_KREL_61 and
L3_VM_KREL_612 (pin a kernel release, e.g. 6.12.115+deb12-cloud-amd64),
L3_VM_MODULE_SRC (tree with the Kbuild, default the repository) and
L3_VM_TEST_SRC (directory of *_test.c, default tests/vm), L3_VM_BUILD
(output directory, default build/vm), L3_VM_DEVICE0_ARGS and
L3_VM_DEVICE1_ARGS (extra l3l2q-devsim options for device 0 and 1).
EOF
}

log() { printf 'vm: %s\n' "$*" >&2; }

# "N passed, N failed", the line .ci/run and tests/run-suites.sh use too,
# with ", N skipped" only when something was skipped.
totals_line() {
	local line="$1 passed, $2 failed"
	(($3)) && line+=", $3 skipped"
	echo "$line"
}
# A build or setup error is a failure like any other: once the run has
# started, the totals line still comes last and build/vm/totals is
# written, so nothing reads a stale result.
die() {
	printf 'vm: error: %s\n' "$*" >&2
	if ((${TOTALS_ACTIVE:-0})); then
		local line
		line=$(totals_line "$TOTAL_PASSED" $((TOTAL_FAILED + 1)) \
			"$TOTAL_SKIPPED")
		echo "$line" >>"$VM/totals.tmp"
		mv "$VM/totals.tmp" "$VM/totals"
		echo "$line"
	fi
	exit 1
}

parse_args() {
	while (($#)); do
		case $1 in
		--kernel) KERNELS=${2:?--kernel needs 6.1, 6.12 or all}; shift ;;
		--tests) TEST_GLOB=${2?--tests needs a glob}; TESTS_GIVEN=1; shift ;;
		--exec) EXEC_CMD=${2:?--exec needs a command}; shift ;;
		--bin-dir) BIN_DIR=${2:?--bin-dir needs a directory}; shift ;;
		--keep) KEEP=1 ;;
		--test-timeout) TEST_TIMEOUT=${2:?}; shift ;;
		--vm-timeout) VM_TIMEOUT=${2:?}; shift ;;
		--exec-timeout) EXEC_TIMEOUT=${2:?}; shift ;;
		--verbose) VERBOSE=1 ;;
		--no-devices) DEVICES=0 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
	case $KERNELS in
	6.1 | 6.12 | all) ;;
	*) die "--kernel must be 6.1, 6.12 or all" ;;
	esac
	if [[ -n $BIN_DIR && ! -d $BIN_DIR ]]; then
		die "--bin-dir $BIN_DIR is not a directory"
	fi
	BIN_DIR=${BIN_DIR:+$(cd "$BIN_DIR" && pwd)}
}

# --- packages ----------------------------------------------------------

apt_get() {
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "need root for apt-get $*"
		sudo=(sudo -n)
	fi
	# Other scripts may run apt at the same time; wait for the lock
	# instead of failing.
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q \
		-o DPkg::Lock::Timeout=600 "$@"
}

# One "apt-get update" per run at most, and only when something is
# missing from the package index or has to be installed.
apt_update_once() {
	((APT_UPDATED)) && return 0
	log "apt-get update"
	apt_get update >"$VM/apt-update.log" 2>&1 ||
		die "apt-get update failed, see $VM/apt-update.log"
	APT_UPDATED=1
}

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
		grep -q '^install ok installed$'
}

# Install the named packages that are not installed yet.
ensure_packages() {
	local p missing=()
	for p in "$@"; do
		installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	apt_update_once
	log "apt-get install ${missing[*]}"
	apt_get install -y --no-install-recommends "${missing[@]}" \
		>"$VM/apt-install.log" 2>&1 ||
		die "apt-get install failed, see $VM/apt-install.log"
}

# The 6.1 release is whatever the cloud metapackage points at now, e.g.
# 6.1.0-56-cloud-amd64; security updates move it, so it is never
# hard-coded.
resolve_61() {
	if [[ -n ${L3_VM_KREL_61:-} ]]; then
		echo "$L3_VM_KREL_61"
		return
	fi
	local cand
	cand=$(apt-cache policy linux-image-cloud-amd64 2>/dev/null |
		awk '/Candidate:/ { print $2 }')
	[[ -n $cand && $cand != "(none)" ]] || return 1
	apt-cache depends "linux-image-cloud-amd64=$cand" 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\(6\.1\.[^ ]*-cloud-amd64\)$/\1/p' |
		head -n 1
}

# 6.12 has no metapackage in bookworm: take the highest release that has
# both an image and a headers package in the index.
resolve_612() {
	if [[ -n ${L3_VM_KREL_612:-} ]]; then
		echo "$L3_VM_KREL_612"
		return
	fi
	local re='6\.12\.[0-9]+\+deb12-cloud-amd64'
	comm -12 \
		<(apt-cache pkgnames linux-image-6.12. |
			sed -nE "s/^linux-image-($re)$/\1/p" | sort -u) \
		<(apt-cache pkgnames linux-headers-6.12. |
			sed -nE "s/^linux-headers-($re)$/\1/p" | sort -u) |
		sort -V | tail -n 1
}

# Sets KREL; not a $(...) so that apt_update_once is remembered.
resolve_kernel() {
	local which=$1
	KREL=$("resolve_${which//./}" || true)
	if [[ -z $KREL ]]; then
		# No index yet (fresh machine) or an outdated one.
		apt_update_once
		KREL=$("resolve_${which//./}" || true)
	fi
	[[ -n $KREL ]] || die "cannot resolve a Debian $which cloud kernel"
}

# The image is unpacked into build/vm/<rel>/ rather than installed, to
# keep initramfs-tools hooks and this machine's /boot out of the runner.
# (6.12's headers package depends on its image, so apt installs that one
# anyway; the VM still boots the unpacked copy.)
fetch_image() {
	local rel=$1 dir="$VM/$1" deb
	[[ -s $dir/vmlinuz ]] && return 0
	mkdir -p "$VM/debs" "$dir"
	deb=$(find "$VM/debs" -maxdepth 1 -name "linux-image-${rel}_*.deb" |
		sort -V | tail -n 1)
	if [[ -z $deb ]]; then
		log "apt-get download linux-image-$rel"
		if ! (cd "$VM/debs" && apt-get -q download "linux-image-$rel") \
			>"$dir/download.log" 2>&1; then
			# A stale index names a file the mirror has dropped.
			apt_update_once
			(cd "$VM/debs" && apt-get -q download "linux-image-$rel") \
				>"$dir/download.log" 2>&1 ||
				die "download of linux-image-$rel failed, see $dir/download.log"
		fi
		deb=$(find "$VM/debs" -maxdepth 1 -name "linux-image-${rel}_*.deb" |
			sort -V | tail -n 1)
	fi
	# Only the kernel itself is needed: the initramfs console needs no
	# modules (8250, initrd and devtmpfs are built in, kernel-compat §8).
	rm -rf "$dir/pkg"
	mkdir -p "$dir/pkg"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$dir/pkg" "./boot/vmlinuz-$rel"
	mv "$dir/pkg/boot/vmlinuz-$rel" "$dir/vmlinuz"
	rm -rf "$dir/pkg"
}

# --- builds ------------------------------------------------------------

# The module is built in a copy of the tree so the repository gets no
# .o/.ko/.cmd files and the two kernels never share objects.
build_module() {
	local rel=$1 dir="$VM/$1" kdir="/usr/src/linux-headers-$1"
	[[ -f $MODULE_SRC/Kbuild ]] || die "no Kbuild in $MODULE_SRC"
	[[ -d $kdir ]] || die "$kdir missing after installing the headers"
	rm -rf "$dir/src" "$dir/l3l2q.ko"
	mkdir -p "$dir/src"
	tar -C "$MODULE_SRC" --exclude=./build --exclude=./.git -cf - . |
		tar -C "$dir/src" -xf -
	log "$rel: make -C $kdir M=... W=1 modules"
	# A broken build fails this kernel only; the other one still runs.
	# The kernel build is its own make: under "make -j check" it must not
	# inherit the outer jobserver (make then warns "-jN forced in submake").
	if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -j"$(nproc)" -C "$kdir" M="$dir/src" W=1 modules \
		>"$dir/module-build.log" 2>&1; then
		# sed, not head: a reader that stops early is SIGPIPE under
		# pipefail, and the run would end without its totals line.
		grep -E 'error|warning' "$dir/module-build.log" |
			sed -n "s|$dir/src/||; 1,40p" >&2
		log "$rel: FAIL: module build, see $dir/module-build.log"
		return 1
	fi
	# W=1 plus "no warning at all": a warning here is a bug on one of the
	# two kernels (kernel-compat: the probe built warning-free on both).
	if grep -i 'warning' "$dir/module-build.log" |
		sed "s|$dir/src/||" >&2; then
		log "$rel: FAIL: warnings in the module build, see $dir/module-build.log"
		return 1
	fi
	if [[ ! -f $dir/src/l3l2q.ko ]]; then
		log "$rel: FAIL: the build made no l3l2q.ko"
		return 1
	fi
	cp "$dir/src/l3l2q.ko" "$dir/l3l2q.ko"
	((KEEP)) || rm -rf "$dir/src"
}

# libl3l2q once, statically, then every tests/vm/*_test.c, tools/*.c and
# VM_TOOL_DIRS against it.  Rebuilt each run: it takes seconds and cannot
# go stale.
build_userspace() {
	local f d o objs=() name
	cd "$REPO"
	sh tools/fetch-kselftest.sh build/kselftest >&2
	rm -rf "${VM:?}/obj" "${VM:?}/lib" "${VM:?}/tests" "${VM:?}/bin"
	mkdir -p "$VM/obj" "$VM/lib" "$VM/tests" "$VM/bin"
	for f in lib/core/*.c lib/user/*.c; do
		[[ -f $f ]] || continue
		o="$VM/obj/${f//\//_}"
		o=${o%.c}.o
		"$CC" "${CPPFLAGS[@]}" "${CFLAGS[@]}" -c -o "$o" "$f" ||
			die "compiling $f failed"
		objs+=("$o")
	done
	ar rcs "$VM/lib/libl3l2q.a" "${objs[@]}"
	# liburing.a is linked in case a suite uses io_uring; a static
	# archive adds nothing to binaries that do not.
	for f in "$TEST_SRC"/*_test.c; do
		# --exec alone runs no suite, so it needs none built.
		((RUN_SUITES)) || break
		[[ -f $f ]] || continue
		name=$(basename "$f" .c)
		# shellcheck disable=SC2053 # the glob is meant to match
		[[ $name == $TEST_GLOB || $name.c == $TEST_GLOB ]] || continue
		"$CC" "${CPPFLAGS[@]}" "${TEST_FLAGS[@]}" "${CFLAGS[@]}" \
			-o "$VM/tests/$name" "$f" "$VM/lib/libl3l2q.a" -luring ||
			die "building $f failed"
	done
	for f in tools/*.c; do
		[[ -f $f ]] || continue
		name=$(basename "$f" .c)
		"$CC" "${CPPFLAGS[@]}" "${CFLAGS[@]}" -o "$VM/bin/$name" "$f" \
			"$VM/lib/libl3l2q.a" -luring ||
			die "building $f failed"
	done
	for d in "${VM_TOOL_DIRS[@]}"; do
		compgen -G "tools/$d/*.c" >/dev/null ||
			die "VM_TOOL_DIRS: tools/$d has no .c files"
		"$CC" "${CPPFLAGS[@]}" "${CFLAGS[@]}" -o "$VM/bin/l3l2q-$d" \
			tools/"$d"/*.c "$VM/lib/libl3l2q.a" -luring ||
			die "building tools/$d failed"
	done
}

# --- initramfs ---------------------------------------------------------

build_initramfs() {
	local rel=$1 dir="$VM/$1" root="$VM/$1/root" a
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys} \
		"$root"/{dev,tmp,run,root,etc,vmtest/tests}
	cp /bin/busybox "$root/bin/busybox"
	# Applet links made here, not with "busybox --install" in the VM,
	# which would point them at /proc/self/exe.
	for a in $(/bin/busybox --list); do
		[[ $a == busybox ]] || ln -sf busybox "$root/bin/$a"
	done
	cp "$REPO/tools/vm/init" "$root/init"
	chmod 755 "$root/init"
	cp "$dir/l3l2q.ko" "$root/vmtest/l3l2q.ko"
	if ((RUN_SUITES)); then
		cp -a "$VM/tests/." "$root/vmtest/tests/"
	fi
	cp -a "$VM/bin/." "$root/usr/local/bin/"
	[[ -n $BIN_DIR ]] && cp -a "$BIN_DIR/." "$root/usr/local/bin/"
	if [[ -n $EXEC_CMD ]]; then
		printf '%s\n' "$EXEC_CMD" >"$root/vmtest/exec.sh"
	fi
	printf '%s\n' "$INSMOD_ARGS" >"$root/vmtest/insmod_args"
	cat >"$root/vmtest/conf" <<EOF
TEST_TIMEOUT=$TEST_TIMEOUT
EXEC_TIMEOUT=$EXEC_TIMEOUT
RUN_SUITES=$RUN_SUITES
MARKER=l3l2q-vmtest-$$-$RANDOM
EOF
	# The kernel's built-in initramfs already has /dev/console; this one
	# only matters for a kernel built without it (needs root, so optional).
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet) | gzip -1 >"$dir/initramfs.cpio.gz"
	((KEEP)) || rm -rf "$root"
}

# --- boot and parse ----------------------------------------------------

boot_vm() {
	local rel=$1 dir="$VM/$1" rc=0
	# quiet + loglevel=1 keep kernel messages from splitting result lines
	# on the console (panics still print; /init prints dmesg itself);
	# panic=-1 with -no-reboot ends QEMU at once on a panic; the large
	# log buffer keeps the /dev/kmsg marker from scrolling out.
	local cmdline="console=ttyS0 panic=-1 quiet loglevel=1"
	cmdline+=" log_buf_len=8M rdinit=/init"
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	local qemu=(qemu-system-x86_64
		# Never KVM: on these machines it dies in early boot
		# (kernel-compat.md §8).
		-accel tcg,thread=multi -cpu max -m 1024 -smp 2
		-nographic -no-reboot -nic none
		-kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz"
		-append "$cmdline")
	if ((DEVICES)); then
		devices_start "$rel"
		qemu+=("${DEV_QEMU_ARGS[@]}")
	fi
	log "$rel: booting (TCG, timeout ${VM_TIMEOUT}s)"
	local t0=$SECONDS tailpid=
	# QEMU runs in the background so that a signal to this script is
	# handled at once (bash defers traps while a foreground child runs)
	# and the cleanup trap can stop it: no VM outlives the runner.
	: >"$dir/console.log"
	if ((VERBOSE)); then
		tail -n +1 -f "$dir/console.log" >&2 &
		tailpid=$!
	fi
	timeout -k 10 "$VM_TIMEOUT" "${qemu[@]}" </dev/null \
		>>"$dir/console.log" 2>&1 &
	QEMU_PID=$!
	if ((DEVICES)); then devices_qemu "$QEMU_PID"; fi
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	# The devices stop after the VM; their logs stay in $dir.
	if ((DEVICES)); then devices_stop; fi
	if [[ -n $tailpid ]]; then
		kill "$tailpid" 2>/dev/null || true
		wait "$tailpid" 2>/dev/null || true
	fi
	BOOT_SECONDS=$((SECONDS - t0))
	# The serial console ends lines with CR LF, and the firmware and
	# the kernel write bare CRs and terminal escapes that may prefix a
	# result line.
	sed -i -e 's/\r$//' -e 's/\r/\n/g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' \
		-e 's/\x1b[A-Za-z]//g' "$dir/console.log"
	((rc == 124 || rc == 137)) && log "$rel: VM timed out after ${VM_TIMEOUT}s"
	return 0
}

# Sets PASSED/FAILED for one kernel from its console.log and prints why
# anything failed.  Every expected line that is missing is a failure.
parse_console() {
	local rel=$1 cons="$VM/$1/console.log" line name p f sk secs prev
	local times="$VM/$1/runtimes"
	rm -f "$times.new"
	PASSED=0 FAILED=0 SKIPPED=0
	local -A seen=()
	if ! grep -q '^VMRESULT boot=ok' "$cons"; then
		log "$rel: FAIL: no boot line (kernel or /init did not start)"
		FAILED=$((FAILED + 1))
	fi
	if grep -q '^VMRESULT insmod=fail' "$cons"; then
		log "$rel: FAIL: insmod"
		FAILED=$((FAILED + 1))
	elif ! grep -q '^VMRESULT insmod=ok' "$cons"; then
		log "$rel: FAIL: no insmod result"
		FAILED=$((FAILED + 1))
	fi
	while read -r line; do
		name=$(sed -n 's/.* suite=\([^ ]*\).*/\1/p' <<<"$line")
		p=$(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$line")
		f=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$line")
		sk=$(sed -n 's/.* skipped=\([0-9]*\).*/\1/p' <<<"$line")
		secs=$(sed -n 's/.* seconds=\([0-9]*\).*/\1/p' <<<"$line")
		seen[$name]=1
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + f))
		SKIPPED=$((SKIPPED + ${sk:-0}))
		# Like liburing's runtests.sh: show the previous run's time, a
		# suite that suddenly takes much longer deserves a look.
		prev=$(awk -v n="$name" '$1 == n { print $2 }' "$times" \
			2>/dev/null || true)
		echo "$name $secs" >>"$times.new"
		line="${line#VMRESULT }${prev:+ (previous run ${prev}s)}"
		if ((f)); then
			log "$rel: FAIL: $line"
			# The failed TAP lines and the harness's assertion
			# messages (file:line:test:...) of this suite.
			awk -v b="VMSUITE begin $name" -v e="VMRESULT suite=$name " '
			$0 == b { on = 1; next }
			index($0, e) == 1 { on = 0 }
			on && (/^not ok / || /^# [^ ]*:[0-9]+:/) && n++ < 40 {
				print "    " $0 }' "$cons" >&2
		else
			log "$rel: $line"
		fi
	done < <(grep '^VMRESULT suite=' "$cons" || true)
	if [[ -f $times.new ]]; then
		# Keep the times of suites this run left out (--tests).
		awk 'NR == FNR { new[$1] = 1; print; next } !($1 in new)' \
			"$times.new" "$times" 2>/dev/null >"$times.merged" || true
		mv "$times.merged" "$times"
		rm -f "$times.new"
	fi
	if grep -q '^VMRESULT insmod=ok' "$cons" && ((RUN_SUITES)); then
		for name in "${SUITES[@]}"; do
			if [[ -z ${seen[$name]:-} ]]; then
				log "$rel: FAIL: suite $name reported nothing"
				FAILED=$((FAILED + 1))
			fi
		done
	fi
	if [[ -n $EXEC_CMD ]]; then
		# The command's own output is what --exec was run for.
		awk '/^VMSUITE begin exec$/ { on = 1; next }
			/^VMRESULT exec=/ { on = 0 } on' "$cons"
	fi
	if [[ -n $EXEC_CMD ]] && grep -q '^VMRESULT insmod=ok' "$cons"; then
		if grep -q '^VMRESULT exec=ok' "$cons"; then
			PASSED=$((PASSED + 1))
		else
			log "$rel: FAIL: exec: $(grep '^VMRESULT exec=' "$cons" || echo 'no result')"
			FAILED=$((FAILED + 1))
		fi
	fi
	if grep -q '^VMRESULT insmod=ok' "$cons" &&
		! grep -q '^VMRESULT rmmod=ok' "$cons"; then
		log "$rel: FAIL: rmmod: $(grep '^VMRESULT rmmod=' "$cons" || echo 'no result')"
		FAILED=$((FAILED + 1))
	fi
	if grep -q '^VMRESULT rmmod=ok' "$cons" &&
		! grep -q '^VMRESULT cycles=ok' "$cons"; then
		log "$rel: FAIL: insmod/rmmod cycles: $(grep '^VMRESULT cycles=' "$cons" || echo 'no result')"
		FAILED=$((FAILED + 1))
	fi
	if ! grep -q '^VMRESULT dmesg=clean' "$cons"; then
		log "$rel: FAIL: dmesg: $(grep '^VMRESULT dmesg=' "$cons" || echo 'no result')"
		grep '^VMDMESG ' "$cons" | sed -n '1,20p' >&2 || true
		FAILED=$((FAILED + 1))
	fi
	if ! grep -q '^VMRESULT done' "$cons"; then
		log "$rel: FAIL: the VM never finished (crash or timeout), see $cons"
		tail -n 30 "$cons" >&2
		FAILED=$((FAILED + 1))
	fi
}

run_kernel() {
	local which=$1 rel
	resolve_kernel "$which"
	rel=$KREL
	log "$which: kernel $rel (linux-image-$rel, linux-headers-$rel)"
	ensure_packages "linux-headers-$rel"
	fetch_image "$rel"
	if build_module "$rel"; then
		build_initramfs "$rel"
		boot_vm "$rel"
		parse_console "$rel"
	else
		PASSED=0 FAILED=1 SKIPPED=0 BOOT_SECONDS=0
	fi
	local line
	line=$(totals_line "$PASSED" "$FAILED" "$SKIPPED")
	echo "kernel $rel: $line (${BOOT_SECONDS}s in the VM)"
	echo "kernel $rel: $line" >>"$VM/totals.tmp"
	TOTAL_PASSED=$((TOTAL_PASSED + PASSED))
	TOTAL_FAILED=$((TOTAL_FAILED + FAILED))
	TOTAL_SKIPPED=$((TOTAL_SKIPPED + SKIPPED))
}

# Stop a VM still running when the runner is interrupted or fails.
cleanup() {
	if [[ -n ${QEMU_PID:-} ]]; then
		kill -TERM "$QEMU_PID" 2>/dev/null || true
		wait "$QEMU_PID" 2>/dev/null || true
	fi
	devices_abort
}

main() {
	QEMU_PID=
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	parse_args "$@"
	mkdir -p "$VM"
	# build/vm is shared state (tree copies, initramfs, totals): one run
	# at a time.
	exec 9>"$VM/.lock"
	if ! flock -n 9; then
		log "waiting for another tools/vm/run.sh to finish"
		flock 9
	fi
	RUN_SUITES=1
	if [[ -n $EXEC_CMD ]] && ((!TESTS_GIVEN)); then
		RUN_SUITES=0
	fi
	TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0 TOTALS_ACTIVE=1
	rm -f "$VM/totals" "$VM/totals.tmp"
	ensure_packages qemu-system-x86 busybox-static cpio gzip make gcc \
		libc6-dev liburing-dev xz-utils
	build_userspace
	SUITES=()
	local t
	for t in "$VM"/tests/*; do
		[[ -x $t ]] && SUITES+=("$(basename "$t")")
	done
	if ((RUN_SUITES)) && ((${#SUITES[@]} == 0)); then
		die "no tests/vm/*_test.c matches '$TEST_GLOB'"
	fi

	local kernels=(6.1 6.12)
	[[ $KERNELS == all ]] || kernels=("$KERNELS")
	local k
	for k in "${kernels[@]}"; do
		run_kernel "$k"
	done
	local line
	line=$(totals_line "$TOTAL_PASSED" "$TOTAL_FAILED" "$TOTAL_SKIPPED")
	echo "$line" >>"$VM/totals.tmp"
	mv "$VM/totals.tmp" "$VM/totals"
	echo "$line"
	((TOTAL_FAILED == 0))
}

main "$@"
