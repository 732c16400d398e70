#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Install, with apt-get, the Debian packages the host suites need, and only
# those that are missing: a machine that has them all is left untouched and
# no package index is downloaded.  Runs unattended as root on Debian 12.
set -eu

pkgs="gcc make libc6-dev binutils xz-utils g++ dpkg-dev liburing-dev spin gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static groff-base pkg-config sparse perl"
# The fuzzers (tests/fuzz/): clang with libFuzzer and the sanitizer runtimes.
pkgs="$pkgs clang libclang-rt-14-dev"
# tests/icount_check.sh and make bench: instruction counts under callgrind.
pkgs="$pkgs valgrind"
root=$(cd "$(dirname "$0")/.." && pwd)

# --bench: only what "make bench" compares with and plots with (DPDK's
# rte_ring, gnuplot for the PNG, pkg-config to find DPDK).  libdpdk-dev pulls
# in ~220 packages (~25 MB download, ~155 MB installed), so "make check"
# never asks for it; the bench builds without it and says so.
if [ "${1:-}" = "--bench" ]; then
	pkgs="gcc make pkg-config libdpdk-dev gnuplot-nox valgrind"
fi
# --deb: what "make deb" and tests/deb_check.sh need on top of the build:
# dpkg-buildpackage's helpers (debhelper, the dkms sequence), lintian,
# pkg-config for the packager's compile of a program against the result,
# and, only on a machine with no kernel build tree at all, a kernel's
# headers, to build the packaged module sources (tools/vm/run.sh installs
# Debian's cloud kernels' headers, which serve as well).
if [ "${1:-}" = "--deb" ]; then
	pkgs="gcc make dpkg-dev liburing-dev debhelper dh-dkms lintian pkg-config"
fi

if ! command -v dpkg >/dev/null 2>&1; then
	echo "install-deps: no dpkg; not a Debian system, install by hand: $pkgs" >&2
	exit 0
fi

if [ "${1:-}" = "--deb" ] && ! ls /lib/modules/*/build/Makefile >/dev/null 2>&1; then
	pkgs="$pkgs linux-headers-$(dpkg --print-architecture)"
fi

# "install ok installed" is the only state in which the files are there.
# With a foreign architecture added, a package installed for both (libc6-dev)
# is ambiguous by its bare name: ask for the native one first, then the bare
# name (which covers Architecture: all packages and arch-qualified names).
native=$(dpkg --print-architecture)
installed() {
	{ dpkg -s "$1:$native" 2>/dev/null || dpkg -s "$1" 2>/dev/null; } |
		grep -q '^Status: install ok installed'
}

missing=
for p in $pkgs; do
	installed "$p" || missing="$missing $p"
done

# tools/fetch-kselftest.sh takes the harness from the linux-source .deb
# with "apt-get download", which needs a package index; images that ship
# without one (e.g. after "rm -rf /var/lib/apt/lists/*") need an update.
ver=${KSELFTEST_SRC_VERSION:-6.1}
need_index=0
if [ -z "${1:-}" ] && [ ! -f "$root/build/kselftest/kselftest_harness.h" ] &&
   [ ! -f "/usr/src/linux-source-$ver.tar.xz" ] &&
   ! ls "${KSELFTEST_DEB_DIR:-/nonexistent}/linux-source-${ver}"_*_all.deb \
	>/dev/null 2>&1 &&
   ! apt-cache show "linux-source-$ver" >/dev/null 2>&1; then
	need_index=1
fi

# liburing for arm64 (tests/aarch64_check.sh links the io_uring tests with
# it) comes through multiarch: the arm64 architecture must be added first.
if [ -z "${1:-}" ]; then
	installed liburing-dev:arm64 || missing="$missing liburing-dev:arm64"
fi

if [ -z "$missing" ] && [ "$need_index" = 0 ]; then
	exit 0
fi

sudo=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		sudo="sudo -n"
	else
		echo "install-deps: need root to install:${missing:- (package index only)}" >&2
		exit 1
	fi
fi

apt_get() {
	# shellcheck disable=SC2086 # $sudo is empty or "sudo -n"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -q "$@"
}

case "$missing" in
*:arm64*)
	dpkg --print-foreign-architectures | grep -qx arm64 ||
		$sudo dpkg --add-architecture arm64 ;;
esac

# A fresh machine may have no package lists at all; one update is enough.
echo "install-deps: apt-get update"
apt_get update
if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	# shellcheck disable=SC2086 # $missing is a list of package names
	apt_get install -y --no-install-recommends $missing
fi
