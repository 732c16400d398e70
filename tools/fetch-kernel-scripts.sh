#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Extract checkpatch.pl (with the spelling and const-structs lists it reads
# from its own directory) and kernel-doc from Debian's linux-source package
# into $1 (default build/kernel-scripts), the way tools/fetch-kselftest.sh
# takes the kselftest harness: from the source tarball, at build time,
# never committed.  KERNEL_SCRIPTS_SRC_VERSION picks the tree (default 6.1).
set -eu
dest=${1:-build/kernel-scripts}
ver=${KERNEL_SCRIPTS_SRC_VERSION:-6.1}
files="checkpatch.pl spelling.txt const_structs.checkpatch kernel-doc"
done=1
for f in $files; do
	[ -f "$dest/$f" ] || done=0
done
[ "$done" = 1 ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
members=
for f in $files; do
	members="$members linux-source-$ver/scripts/$f"
done
if [ -f "/usr/src/linux-source-$ver.tar.xz" ]; then
	# shellcheck disable=SC2086 # one member per word
	tar -xJf "/usr/src/linux-source-$ver.tar.xz" -C "$tmp" \
		--strip-components=2 $members
else
	deb=$(ls ${KSELFTEST_DEB_DIR:-/nonexistent}/linux-source-"$ver"_*_all.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$tmp" && apt-get download "linux-source-$ver" >/dev/null 2>&1) || {
			echo "fetch-kernel-scripts: apt-get download linux-source-$ver failed" >&2
			exit 1
		}
		deb=$(ls "$tmp"/linux-source-"$ver"_*_all.deb | tail -n 1)
	fi
	# shellcheck disable=SC2086 # one member per word
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/linux-source-$ver.tar.xz" |
		tar -xJ -C "$tmp" --strip-components=2 $members
fi
for f in $files; do
	mv "$tmp/$f" "$dest/"
done
chmod +x "$dest/checkpatch.pl" "$dest/kernel-doc"
echo "fetch-kernel-scripts: $files from linux-source-$ver in $dest"
