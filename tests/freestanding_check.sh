#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The protocol core must build for the kernel and for a bare device CPU, so
# it may need nothing from the environment beyond memcpy and memset (which
# every freestanding toolchain provides and gcc may emit on its own).  The
# ABI headers must be usable from C++ and from C without Linux headers.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1

CC=${CC:-gcc}
CXX=${CXX:-g++}
LD=${LD:-ld}
NM=${NM:-nm}
out=build/freestanding
# Symbols the core may leave undefined, one per line.
allowed='memcpy
memset'

rm -rf "$out"
mkdir -p "$out"
failed=0

ok() {
	echo "ok $1 $2"
}

not_ok() {
	echo "not ok $1 $2"
	failed=1
}

# Indent a diagnostic file as TAP comments.
diag() {
	sed 's/^/# /' "$1"
}

echo "TAP version 13"
echo "1..4"

# 1: every core source compiles freestanding, and all of them link into one
# relocatable object (a duplicate symbol between two files fails here too).
srcs=$(find lib/core -maxdepth 1 -name '*.c' 2>/dev/null | sort)
built=0
: >"$out/build.log"
if [ -z "$srcs" ]; then
	echo "no lib/core/*.c sources found" >"$out/build.log"
else
	built=1
	objs=
	for src in $srcs; do
		obj="$out/$(basename "$src" .c).o"
		if ! "$CC" -std=c11 -ffreestanding -fno-builtin \
			-fno-stack-protector -nostdlib -O2 -Wall -Wextra -Werror \
			-Iuapi -Ilib/include -Ilib/core \
			-c -o "$obj" "$src" >"$obj.log" 2>&1; then
			echo "$src does not compile:" >>"$out/build.log"
			cat "$obj.log" >>"$out/build.log"
			built=0
		fi
		objs="$objs $obj"
	done
	# shellcheck disable=SC2086 # $objs is a list of plain build paths
	if [ "$built" = 1 ] &&
	   ! "$LD" -r -o "$out/core.o" $objs >>"$out/build.log" 2>&1; then
		built=0
	fi
fi
if [ "$built" = 1 ]; then
	ok 1 "core compiles with -ffreestanding"
else
	not_ok 1 "core compiles with -ffreestanding"
	diag "$out/build.log"
fi

# 2: nothing undefined beyond memcpy/memset.
if [ "$built" = 1 ]; then
	"$NM" -u "$out/core.o" | awk '{ print $NF }' | sort -u >"$out/undef"
	printf '%s\n' "$allowed" | sort -u >"$out/allowed"
	comm -23 "$out/undef" "$out/allowed" >"$out/extra"
	if [ -s "$out/extra" ]; then
		not_ok 2 "core needs nothing beyond memcpy/memset"
		echo "# undefined symbols the core may not use:"
		diag "$out/extra"
	else
		ok 2 "core needs nothing beyond memcpy/memset"
	fi
else
	not_ok 2 "core needs nothing beyond memcpy/memset"
	echo "# not checked: the core did not build (test 1)"
fi

# 3: the ABI headers are valid C++ (device code and C++ callers include
# them), each on its own.
: >"$out/uapi_cxx.log"
cxx_ok=1
for h in uapi/*.h; do
	echo "#include \"$(basename "$h")\"" >"$out/uapi_cxx.cc"
	if ! "$CXX" -std=c++17 -Wall -Wextra -Werror -fsyntax-only -x c++ \
		-Iuapi "$out/uapi_cxx.cc" >>"$out/uapi_cxx.log" 2>&1; then
		echo "$h does not compile as C++17" >>"$out/uapi_cxx.log"
		cxx_ok=0
	fi
done
if [ "$cxx_ok" = 1 ]; then
	ok 3 "uapi/*.h compile as C++17"
else
	not_ok 3 "uapi/*.h compile as C++17"
	diag "$out/uapi_cxx.log"
fi

# 4: without __linux__ the headers must fall back to <stdint.h> alone, as
# a bare-metal device toolchain sees them.
: >"$out/uapi_bare.log"
bare_ok=1
for h in uapi/*.h; do
	echo "#include \"$(basename "$h")\"" >"$out/uapi_bare.c"
	if ! "$CC" -std=c11 -ffreestanding -U__linux__ -Wall -Wextra -Werror \
		-fsyntax-only -x c -Iuapi \
		"$out/uapi_bare.c" >>"$out/uapi_bare.log" 2>&1; then
		echo "$h does not compile freestanding" >>"$out/uapi_bare.log"
		bare_ok=0
	fi
done
if [ "$bare_ok" = 1 ]; then
	ok 4 "uapi/*.h compile freestanding without Linux headers"
else
	not_ok 4 "uapi/*.h compile freestanding without Linux headers"
	diag "$out/uapi_bare.log"
fi

exit "$failed"
