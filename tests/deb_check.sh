#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The Debian packages, checked the way a packager would:
#   - installs what "make deb" needs (tools/install-deps.sh --deb) and runs
#     it (dpkg-buildpackage -b, in a copy of the tree: mk/deb.mk);
#   - the four packages hold what they should: libl3l2q1 the .so.1 with its
#     symbols and shlibs, libl3l2q-dev the headers, .so, .a, l3l2q.pc and
#     every man3 page, l3l2q-dkms the module's sources and dkms.conf and
#     depends on dkms, l3l2q-tools the tools, man1, man4, the group l3l2q
#     (and the udev rule once the tree has one);
#   - libl3l2q1 and libl3l2q-dev unpacked into a scratch root (dpkg -x): a
#     small program builds there with pkg-config --cflags --libs l3l2q
#     (PKG_CONFIG_SYSROOT_DIR) and runs on the packaged library;
#   - the packaged tools run a short demo (memfd backing, no driver);
#   - the packaged module sources build the way DKMS builds them: dkms.conf
#     sourced, its MAKE run in a copy against an installed kernel build
#     tree, the module found at BUILT_MODULE_LOCATION, then its CLEAN;
#   - lintian reports no error and no warning (overrides, if any, are in
#     debian/*.lintian-overrides with their reason).
#
# Takes about two minutes here (2 cores): the build of the library and the
# tools once (~45 s), lintian (~30-50 s), one module build (~20-35 s); the
# first run also installs its packages (~2 minutes).  Output is TAP; every
# check is a pass or a failure.
set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh

root=$PWD
out=$root/build/deb-check
debs=$root/build/deb
rm -rf "$out"
mkdir -p "$out"

mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make --no-print-directory "$@"
}

version=$(awk '$2 ~ /^L3L2Q_VERSION_(MAJOR|MINOR|PATCH)$/ { v = v sep $3; sep = "." }
	       END { print v }' lib/include/l3l2q_version.h)
major=${version%%.*}
arch=$(dpkg --print-architecture 2>/dev/null)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)

echo "TAP version 13"

if sh tools/install-deps.sh --deb >"$out/deps.log" 2>&1; then
	ok "tools/install-deps.sh --deb"
else
	not_ok "tools/install-deps.sh --deb"
	diag "$out/deps.log" 20
fi

# ---- make deb ---------------------------------------------------------------

start=$(date +%s)
if mk deb DEB_JOBS=2 >"$out/build.log" 2>&1; then
	ok "make deb ($(($(date +%s) - start)) s)"
else
	not_ok "make deb"
	diag "$out/build.log" 40
fi

lib_deb=$debs/libl3l2q${major}_${version}_$arch.deb
dev_deb=$debs/libl3l2q-dev_${version}_$arch.deb
dkms_deb=$debs/l3l2q-dkms_${version}_all.deb
tools_deb=$debs/l3l2q-tools_${version}_$arch.deb
changes=$debs/l3l2q_${version}_$arch.changes
missing=
for f in "$lib_deb" "$dev_deb" "$dkms_deb" "$tools_deb" "$changes"; do
	[ -f "$f" ] || missing="$missing ${f##*/}"
done
if [ -z "$missing" ]; then
	ok "libl3l2q$major, libl3l2q-dev, l3l2q-dkms, l3l2q-tools $version and the .changes"
else
	not_ok "the packages and the .changes:$missing missing"
	ls -l "$debs" 2>&1 | diag /dev/stdin
fi

# "path" of every file and link of a package, without the leading ".".
contents() {
	dpkg-deb --fsys-tarfile "$1" 2>/dev/null | tar -tf - |
		sed -e 's|^\./|/|' -e '/\/$/d' | sort
}
# Checks that a package has every path of the file $2; names the missing.
has_all() {
	contents "$1" >"$out/contents"
	comm -23 <(sort -u "$2") "$out/contents" >"$out/missing"
	[ -s "$2" ] && [ ! -s "$out/missing" ]
}
field() {
	dpkg-deb -f "$1" "$2" 2>/dev/null
}

# ---- what each package holds ------------------------------------------------

libdir=/usr/lib/$ma
printf '%s\n' "$libdir/libl3l2q.so.$version" "$libdir/libl3l2q.so.$major" \
	>"$out/want-lib"
mkdir -p "$out/lib-ctl"
if has_all "$lib_deb" "$out/want-lib" &&
   ! contents "$lib_deb" | grep -Eq '\.h$|libl3l2q\.so$|\.a$' &&
   dpkg-deb -e "$lib_deb" "$out/lib-ctl" 2>/dev/null &&
   grep -q "^ l3l2q_create@LIBL3L2Q_1\.0 " "$out/lib-ctl/symbols" &&
   grep -q "^libl3l2q $major libl3l2q$major " "$out/lib-ctl/shlibs"; then
	ok "libl3l2q$major: the library, its symbols and shlibs files, nothing for development"
else
	not_ok "libl3l2q$major: the library, its symbols and shlibs files, nothing for development"
	diag "$out/missing"
	[ -f "$out/lib-ctl/shlibs" ] && diag "$out/lib-ctl/shlibs"
fi

{
	echo "$libdir/libl3l2q.so"
	echo "$libdir/libl3l2q.a"
	echo "$libdir/pkgconfig/l3l2q.pc"
	for h in lib/include/*.h; do echo "/usr/include/${h##*/}"; done
	for h in uapi/*.h; do echo "/usr/include/l3l2q/${h##*/}"; done
	for p in man/man3/*.3 man/man7/*.7; do echo "/usr/share/man/${p#man/}.gz"; done
} >"$out/want-dev"
if has_all "$dev_deb" "$out/want-dev" &&
   field "$dev_deb" Depends | grep -q "libl3l2q$major (= $version)"; then
	ok "libl3l2q-dev: headers, .so, .a, l3l2q.pc, $(grep -c /man/ "$out/want-dev") man pages; depends on libl3l2q$major (= $version)"
else
	not_ok "libl3l2q-dev: headers, .so, .a, l3l2q.pc, man pages, its Depends"
	diag "$out/missing" 20
	field "$dev_deb" Depends | diag /dev/stdin
fi

src=/usr/src/l3l2q-$version
{
	echo "$src/dkms.conf"
	echo "$src/Kbuild"
	find kmod lib/core uapi -type f | sed "s|^|$src/|"
	for f in lib/include/*.h; do echo "$src/$f"; done
	echo "$src/lib/include/l3l2q"
	echo "/usr/share/doc/l3l2q-dkms/examples/l3l2q.conf.example"
} >"$out/want-dkms"
mkdir -p "$out/dkms-ctl"
if has_all "$dkms_deb" "$out/want-dkms" &&
   field "$dkms_deb" Depends | grep -Eq '(^|, )dkms( |,|$)' &&
   dpkg-deb -e "$dkms_deb" "$out/dkms-ctl" 2>/dev/null &&
   grep -q 'dkms' "$out/dkms-ctl/postinst" 2>/dev/null; then
	ok "l3l2q-dkms: the module's sources and dkms.conf in $src, depends on dkms, registers with it"
else
	not_ok "l3l2q-dkms: the module's sources and dkms.conf, depends on dkms, registers with it"
	diag "$out/missing" 20
	field "$dkms_deb" Depends | diag /dev/stdin
fi

{
	echo /usr/bin/l3l2q-demo
	echo /usr/bin/l3l2q-devsim
	echo /usr/bin/l3l2q-stat
	for p in man/man1/*.1 man/man4/*.4; do echo "/usr/share/man/${p#man/}.gz"; done
	[ -f tools/udev/60-l3l2q.rules ] && echo /lib/udev/rules.d/60-l3l2q.rules
} >"$out/want-tools"
mkdir -p "$out/tools-ctl"
if has_all "$tools_deb" "$out/want-tools" &&
   ! contents "$tools_deb" | grep -q l3l2q-bench &&
   dpkg-deb -e "$tools_deb" "$out/tools-ctl" 2>/dev/null &&
   grep -q 'addgroup --system --quiet l3l2q' "$out/tools-ctl/postinst"; then
	ok "l3l2q-tools: the tools (not the bench), man1, man4$( [ -f tools/udev/60-l3l2q.rules ] && echo ', the udev rule'), the group l3l2q"
else
	not_ok "l3l2q-tools: the tools, man1, man4, the udev rule, the group l3l2q"
	diag "$out/missing" 20
fi

# ---- a program against the packaged library ---------------------------------

sysroot=$out/root
mkdir -p "$sysroot"
if dpkg -x "$lib_deb" "$sysroot" 2>"$out/x.log" &&
   dpkg -x "$dev_deb" "$sysroot" 2>>"$out/x.log"; then
	ok "dpkg -x libl3l2q$major and libl3l2q-dev into a scratch root"
else
	not_ok "dpkg -x libl3l2q$major and libl3l2q-dev into a scratch root"
	diag "$out/x.log"
fi

# Only the scratch root's .pc, its paths under the root; /usr/include and
# the multiarch libdir are system directories pkg-config would drop.
cp tests/pkg/roundtrip.c "$out/prog.c"
# shellcheck disable=SC2086 # $flags is a list of options
if flags=$(PKG_CONFIG_SYSROOT_DIR=$sysroot \
	   PKG_CONFIG_LIBDIR=$sysroot$libdir/pkgconfig \
	   PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
	   pkg-config --cflags --libs l3l2q 2>"$out/pc.log") &&
   echo "pkg-config: $flags" >"$out/cc.log" &&
   (cd "$out" && gcc -std=c11 -Wall -Wextra -Werror -o prog prog.c $flags \
	-MD -MF prog.d) >>"$out/cc.log" 2>&1; then
	ok "a program builds with pkg-config --cflags --libs l3l2q from the scratch root"
else
	not_ok "a program builds with pkg-config --cflags --libs l3l2q from the scratch root"
	diag "$out/pc.log"
	diag "$out/cc.log" 20
fi
if [ -f "$out/prog.d" ] &&
   grep -q "$sysroot/usr/include/libl3l2q.h" "$out/prog.d" &&
   grep -q "$sysroot/usr/include/l3l2q/l3l2q.h" "$out/prog.d" &&
   LD_LIBRARY_PATH=$sysroot$libdir ldd "$out/prog" |
	grep -q "libl3l2q\.so\.$major => $sysroot$libdir/" &&
   LD_LIBRARY_PATH=$sysroot$libdir timeout 60 "$out/prog" >"$out/run.log" 2>&1 &&
   grep -q "ping -> pong" "$out/run.log"; then
	ok "it uses the packaged headers and runs on the packaged library: $(cat "$out/run.log")"
else
	not_ok "it uses the packaged headers and runs on the packaged library"
	[ -f "$out/prog.d" ] && diag "$out/prog.d"
	[ -x "$out/prog" ] && LD_LIBRARY_PATH=$sysroot$libdir ldd "$out/prog" 2>&1 | diag /dev/stdin
	[ -f "$out/run.log" ] && diag "$out/run.log"
fi

# ---- the packaged tools -------------------------------------------------------

troot=$out/tools-root
mkdir -p "$troot"
if dpkg -x "$tools_deb" "$troot" 2>"$out/tools.log" &&
   timeout 300 "$troot/usr/bin/l3l2q-demo" --count 2000 --backend memfd \
	>>"$out/tools.log" 2>&1 &&
   grep -q '^l3l2q-demo: OK$' "$out/tools.log"; then
	ok "the packaged l3l2q-demo and l3l2q-devsim: 2000 tasks over a memfd"
else
	not_ok "the packaged l3l2q-demo and l3l2q-devsim: 2000 tasks over a memfd"
	diag "$out/tools.log" 20
fi

# ---- the packaged module sources, built as DKMS builds them -----------------

# The running kernel's build tree, else the newest one installed.
kdir=
if [ -f "/lib/modules/$(uname -r)/build/Makefile" ]; then
	kdir=/lib/modules/$(uname -r)/build
else
	kdir=$(for d in /lib/modules/*/build; do
		       [ -f "$d/Makefile" ] && echo "$d"
	       done | sort -V | tail -n 1)
fi
kroot=$out/dkms-root
mkdir -p "$kroot"
if [ -z "$kdir" ]; then
	not_ok "the packaged sources build with dkms.conf's MAKE"
	echo "# no kernel build tree in /lib/modules/*/build (tools/install-deps.sh --deb installs one)"
elif ! dpkg -x "$dkms_deb" "$kroot" 2>"$out/dkms.log"; then
	not_ok "the packaged sources build with dkms.conf's MAKE"
	diag "$out/dkms.log"
else
	krel=$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
		"$kdir/include/generated/utsrelease.h")
	# What dkms does: its own copy of /usr/src/<name>-<version> as
	# $dkms_tree/<name>/<version>/build, dkms.conf sourced by bash, MAKE[0]
	# run there, the module taken from BUILT_MODULE_LOCATION.  dkms itself
	# is not run: it would make a signing key in /var/lib/dkms.
	(
		set -e
		# shellcheck disable=SC2034 # read by dkms.conf's MAKE and CLEAN
		kernel_source_dir=$kdir
		dkms_tree=$out/dkms-tree
		# shellcheck disable=SC1090,SC1091 # the package's dkms.conf
		. "$kroot$src/dkms.conf"
		[ "$PACKAGE_NAME" = l3l2q ] && [ "$PACKAGE_VERSION" = "$version" ]
		[ "$AUTOINSTALL" = yes ]
		build=$dkms_tree/$PACKAGE_NAME/$PACKAGE_VERSION/build
		mkdir -p "${build%/build}"
		cp -a "$kroot$src" "$build"
		cd "$build"
		echo "MAKE[0]: ${MAKE[0]}"
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
			bash -c "${MAKE[0]}"
		ko=$build/${BUILT_MODULE_LOCATION[0]}/${BUILT_MODULE_NAME[0]}.ko
		modinfo -F vermagic "$ko" | grep -q "^$krel "
		echo "built $ko for $krel"
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
			bash -c "$CLEAN"
		[ ! -e "$ko" ]
		echo "CLEAN removed it"
	) >"$out/dkms.log" 2>&1
	status=$?
	if [ "$status" -eq 0 ] && ! grep -qi 'warning:' "$out/dkms.log"; then
		ok "the packaged sources build as DKMS builds them, for $krel, without a warning"
	else
		not_ok "the packaged sources build as DKMS builds them, for $krel, without a warning"
		grep -iE 'error|warning' "$out/dkms.log" | head -n 20 | diag /dev/stdin
		diag "$out/dkms.log" 10
	fi
fi

# ---- lintian --------------------------------------------------------------------

start=$(date +%s)
if [ -f "$changes" ] &&
   lintian --fail-on error,warning --tag-display-limit 0 "$changes" \
	>"$out/lintian.log" 2>&1; then
	ok "lintian: no error, no warning ($(($(date +%s) - start)) s)"
else
	not_ok "lintian: no error, no warning"
	grep -E '^[EW]:' "$out/lintian.log" | diag /dev/stdin
	diag "$out/lintian.log" 5
fi
grep -E '^[IP]:' "$out/lintian.log" 2>/dev/null | sed 's/^/# lintian: /'

echo "1..$n"
exit "$failed"
