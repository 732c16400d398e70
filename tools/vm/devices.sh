# shellcheck shell=bash
# SPDX-License-Identifier: MIT
#
# Sourced by tools/vm/run.sh: the two ivshmem devices of every boot, the
# l3l2q-devsim processes that serve them on this host, and the VMCTL
# channel through which the guest controls them (run.sh's header says
# what each command does).
#
# One background process, the supervisor, owns it all: it starts the
# devices before QEMU (so it is their parent and can reap them), then
# follows the console as QEMU writes it, acts on each "VMCTL" line and
# answers on the guest's /dev/ttyS1, and when QEMU is gone it stops the
# devices (SIGTERM, SIGKILL after DEV_STOP_S) and logs their exit status.
#
#   devices_start REL     start the supervisor; DEV_QEMU_ARGS is set
#   devices_qemu PID      QEMU runs as PID: start following the console
#   devices_stop          wait for the supervisor, remove what it made
#   devices_abort         the runner is interrupted: stop everything now

DEV_SHM_SIZE=32M		# device 0's memory (a power of two: a BAR)
DEV_VECTORS=8			# its MSI-X vectors
DEV_PLAIN_SIZE=16M		# device 1's memory
DEV_STOP_S=10			# a device's time to exit after SIGTERM
DEV_ACK_S=30			# waiting for QMP or a device to come up

# The console cleaning of run.sh (CR LF, bare CR, terminal escapes) for
# one line of a file being written.
console_clean_line() {
	sed -e 's/\r$//' -e 's/\r/\n/g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' \
		-e 's/\x1b[A-Za-z]//g'
}

# --- inside the supervisor -------------------------------------------

dev_log() { printf '%s %s\n' "$(date +%T)" "$*" >>"$DEV_DIR/vmctl.log"; }

# A running (not exited, not a zombie) process?
dev_alive() {
	local st
	[[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# Reap device N (after it died or was killed) and log how it ended.
dev_reap() {
	local n=$1 pid=${DEV_PID[$1]:-} rc=0
	[[ -n $pid ]] || return 0
	wait "$pid" 2>/dev/null || rc=$?
	dev_log "device $n (pid $pid) ended, status $rc"
	DEV_PID[n]=
	DEV_RC[n]=$rc
}

# Start device N with extra options "$@"; 0, or 1 with DEV_WHY set.
dev_start() {
	local n=$1 i
	shift
	if [[ $n != [01] ]]; then
		DEV_WHY="no device $n (0: ivshmem-doorbell, 1: ivshmem-plain)"
		return 1
	fi
	if dev_alive "${DEV_PID[$n]:-}"; then
		DEV_WHY="device $n is running"
		return 1
	fi
	dev_reap "$n"
	if ((n == 0)); then
		# shellcheck disable=SC2086 # extra options, split on purpose
		"$DEV_BIN" --ivshmem-client "$DEV_RT/ivshmem.sock" \
			${L3_VM_DEVICE0_ARGS:-} "$@" >>"$DEV_DIR/device0.log" 2>&1 &
	else
		# shellcheck disable=SC2086
		"$DEV_BIN" --plain "$DEV_PLAIN" ${L3_VM_DEVICE1_ARGS:-} "$@" \
			>>"$DEV_DIR/device1.log" 2>&1 &
	fi
	DEV_PID[n]=$!
	dev_log "device $n started (pid ${DEV_PID[$n]})${*:+ with $*}"
	# Up once it has mapped the memory (its log says so), or dead.
	for ((i = 0; i < DEV_ACK_S * 10; i++)); do
		if ! dev_alive "${DEV_PID[$n]}"; then
			dev_reap "$n"
			DEV_WHY="device $n exited at once (status ${DEV_RC[$n]})"
			return 1
		fi
		(($(grep -c 'bytes of shared memory' "$DEV_DIR/device$n.log") > \
			DEV_UP[n])) && break
		sleep 0.1
	done
	DEV_UP[n]=$(grep -c 'bytes of shared memory' "$DEV_DIR/device$n.log")
	return 0
}

# Send device N signal $2 (SIGKILL: and reap it); 0, or 1 with DEV_WHY.
dev_signal() {
	local n=$1 sig=$2
	if [[ $n != [01] ]] || ! dev_alive "${DEV_PID[$n]:-}"; then
		DEV_WHY="device $n is not running"
		return 1
	fi
	kill "-$sig" "${DEV_PID[$n]}"
	[[ $sig == KILL ]] && dev_reap "$n"
	return 0
}

# Stop device N: SIGTERM, and SIGKILL if it does not exit in time.
dev_stop() {
	local n=$1 i pid=${DEV_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < DEV_STOP_S * 10; i++)); do
		dev_alive "$pid" || break
		sleep 0.1
	done
	if dev_alive "$pid"; then
		dev_log "device $n did not exit within ${DEV_STOP_S}s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null
	fi
	dev_reap "$n"
}

# One QMP command ($1, JSON); 0 if it returned, else 1 with DEV_WHY.
dev_qmp() {
	local before i last
	before=$(grep -c -e '"return"' -e '"error"' "$DEV_DIR/qmp.log")
	printf '%s\n' "$1" >&8
	for ((i = 0; i < DEV_ACK_S * 10; i++)); do
		if (($(grep -c -e '"return"' -e '"error"' "$DEV_DIR/qmp.log") > before)); then
			last=$(grep -e '"return"' -e '"error"' "$DEV_DIR/qmp.log" |
				tail -n 1)
			[[ $last == *'"error"'* ]] || return 0
			DEV_WHY=$last
			return 1
		fi
		sleep 0.1
	done
	DEV_WHY="no answer from QMP within ${DEV_ACK_S}s"
	return 1
}

# Act on "VMCTL <cmd> [args]" and answer on ttyS1.
dev_vmctl() {
	local cmd=${1:-} status=ok
	shift
	DEV_WHY=
	case $cmd in
	kill-device) dev_signal "${1:-}" KILL || status=fail ;;
	start-device) dev_start "$@" || status=fail ;;
	scribble-device) dev_signal "${1:-}" USR1 || status=fail ;;
	unplug)
		if [[ ${1:-} == [01] ]]; then
			dev_qmp "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"ivs$1\"}}" ||
				status=fail
		else
			DEV_WHY="no device ${1:-}"
			status=fail
		fi
		;;
	*) DEV_WHY="unknown command"; status=fail ;;
	esac
	dev_log "VMCTL $cmd $* -> $status${DEV_WHY:+: $DEV_WHY}"
	printf 'VMACK %s %s%s%s\n' "$status" "$cmd" "${*:+ $*}" \
		"${DEV_WHY:+: $DEV_WHY}" >&7
}

dev_supervise() {
	local line qpid="" i
	# Errors are handled one by one; guest words are never globbed.
	set +e -f
	trap 'DEV_QUIT=1' TERM
	DEV_QUIT=0
	DEV_PID=()
	DEV_RC=()
	DEV_UP=(0 0)
	exec 7<>"$DEV_RT/ctl.in" 8<>"$DEV_RT/qmp.in"
	cat <>"$DEV_RT/ctl.out" >"$DEV_DIR/ttyS1.log" &
	local cat_ctl=$!
	cat <>"$DEV_RT/qmp.out" >"$DEV_DIR/qmp.log" &
	local cat_qmp=$!
	: >"$DEV_DIR/device0.log"
	: >"$DEV_DIR/device1.log"
	"$DEV_BIN" --ivshmem-server "$DEV_RT/ivshmem.sock" --shm-size \
		"$DEV_SHM_SIZE" --vectors "$DEV_VECTORS" --server-only \
		>"$DEV_DIR/ivshmem-server.log" 2>&1 &
	local server=$!
	for ((i = 0; i < DEV_ACK_S * 10; i++)); do
		[[ -S $DEV_RT/ivshmem.sock ]] && break
		sleep 0.1
	done
	# The device connects before QEMU, so it is peer 0 and QEMU peer 1.
	if dev_start 0 && dev_start 1; then
		echo ok >"$DEV_RT/ready"
	else
		echo fail >"$DEV_RT/ready"
	fi
	for ((i = 0; i < 600 && !DEV_QUIT; i++)); do
		[[ -s $DEV_RT/qemu.pid ]] && break
		sleep 0.1
	done
	qpid=$(cat "$DEV_RT/qemu.pid" 2>/dev/null)
	if [[ -n $qpid ]] && ((!DEV_QUIT)); then
		dev_qmp '{"execute":"qmp_capabilities"}' ||
			dev_log "QMP did not answer qmp_capabilities: $DEV_WHY"
		# read -t: a SIGTERM is handled within a second.
		while ((!DEV_QUIT)); do
			IFS= read -r -t 1 line
			case $? in
			0) ;;
			1) break ;;	# tail ended: QEMU is gone
			*) continue ;;	# timeout
			esac
			[[ $line == *VMCTL\ * ]] || continue
			line=$(console_clean_line <<<"$line")
			line=${line#*VMCTL }
			# shellcheck disable=SC2086 # words of the command
			dev_vmctl $line
		done < <(tail -n +1 -s 0.2 -F --pid="$qpid" \
			"$DEV_DIR/console.log" 2>/dev/null)
	fi
	dev_stop 0
	dev_stop 1
	kill -TERM "$server" 2>/dev/null
	wait "$server"
	dev_log "ivshmem server ended, status $?"
	for i in 0 1; do
		[[ ${DEV_RC[$i]:-0} == 0 ]] ||
			dev_log "device $i's last exit status was ${DEV_RC[$i]}"
	done
	kill "$cat_ctl" "$cat_qmp" 2>/dev/null
	wait "$cat_ctl" "$cat_qmp" 2>/dev/null
	exit 0
}

# --- called by run.sh ---------------------------------------------------

devices_start() {
	local rel=$1 i
	DEV_DIR="$VM/$rel"
	DEV_BIN="$VM/bin/l3l2q-devsim"
	[[ -x $DEV_BIN ]] || die "no $DEV_BIN for the devices"
	# Unix socket paths are short: the runtime files live in /tmp.
	DEV_RT=$(mktemp -d /tmp/l3l2q-vm.XXXXXX)
	DEV_PLAIN=/dev/shm/l3l2q-vm-$$-plain
	truncate -s "$DEV_PLAIN_SIZE" "$DEV_PLAIN"
	mkfifo "$DEV_RT/ctl.in" "$DEV_RT/ctl.out" "$DEV_RT/qmp.in" \
		"$DEV_RT/qmp.out"
	: >"$DEV_DIR/vmctl.log"
	: >"$DEV_DIR/qmp.log"
	dev_supervise </dev/null &
	DEV_SUP=$!
	for ((i = 0; i < DEV_ACK_S * 10 * 3; i++)); do
		[[ -s $DEV_RT/ready ]] && break
		sleep 0.1
	done
	if [[ $(cat "$DEV_RT/ready" 2>/dev/null) != ok ]]; then
		devices_abort
		die "$rel: the ivshmem devices did not start, see $DEV_DIR/device*.log"
	fi
	# SC2054: commas belong to QEMU option values; SC2034: run.sh uses it.
	# shellcheck disable=SC2054,SC2034
	DEV_QEMU_ARGS=(
		# ttyS0 stays the console; ttyS1 carries the VMACK answers.
		-serial mon:stdio -serial "pipe:$DEV_RT/ctl"
		-chardev "pipe,id=qmp,path=$DEV_RT/qmp"
		-mon chardev=qmp,mode=control
		-chardev "socket,path=$DEV_RT/ivshmem.sock,id=ivsc"
		-device "ivshmem-doorbell,id=ivs0,chardev=ivsc,vectors=$DEV_VECTORS"
		-object "memory-backend-file,id=hmb,mem-path=$DEV_PLAIN,size=$DEV_PLAIN_SIZE,share=on"
		-device ivshmem-plain,id=ivs1,memdev=hmb
	)
	log "$rel: ivshmem devices up (doorbell: $DEV_SHM_SIZE, $DEV_VECTORS vectors; plain: $DEV_PLAIN_SIZE)"
}

devices_qemu() {
	echo "$1" >"$DEV_RT/qemu.pid"
}

devices_stop() {
	[[ -n ${DEV_SUP:-} ]] || return 0
	wait "$DEV_SUP" 2>/dev/null || true
	DEV_SUP=
	rm -rf "$DEV_RT"
	rm -f "$DEV_PLAIN"
	grep -h 'VMCTL' "$DEV_DIR/vmctl.log" | sed 's/^/vm: device: /' >&2 || true
}

devices_abort() {
	[[ -n ${DEV_SUP:-} ]] || return 0
	kill -TERM "$DEV_SUP" 2>/dev/null || true
	devices_stop
}
