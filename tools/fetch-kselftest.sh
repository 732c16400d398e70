#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Extract kselftest_harness.h and kselftest.h from Debian's linux-source
# package into $1 (default build/kselftest).  The harness is never committed;
# it is taken from the kernel source tarball at build time.
set -eu
dest=${1:-build/kselftest}
ver=${KSELFTEST_SRC_VERSION:-6.1}
[ -f "$dest/kselftest_harness.h" ] && [ -f "$dest/kselftest.h" ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
members="linux-source-$ver/tools/testing/selftests/kselftest_harness.h
linux-source-$ver/tools/testing/selftests/kselftest.h"
if [ -f "/usr/src/linux-source-$ver.tar.xz" ]; then
	tar -xJf "/usr/src/linux-source-$ver.tar.xz" -C "$tmp" \
		--strip-components=4 $members
else
	deb=$(ls ${KSELFTEST_DEB_DIR:-/nonexistent}/linux-source-"$ver"_*_all.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$tmp" && apt-get download "linux-source-$ver" >/dev/null 2>&1) || {
			echo "fetch-kselftest: apt-get download linux-source-$ver failed" >&2
			exit 1
		}
		deb=$(ls "$tmp"/linux-source-"$ver"_*_all.deb | tail -n 1)
	fi
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/linux-source-$ver.tar.xz" |
		tar -xJ -C "$tmp" --strip-components=4 $members
fi
mv "$tmp/kselftest_harness.h" "$tmp/kselftest.h" "$dest/"
echo "fetch-kselftest: harness from linux-source-$ver in $dest"
