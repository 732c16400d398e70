#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make install and make uninstall (mk/install.mk) into scratch DESTDIRs,
# and what a user of the installed tree gets:
#   - every file where the variables say (custom PREFIX, LIBDIR,
#     INCLUDEDIR, MANDIR, BINDIR; and the defaults under /usr/local):
#     the library as libl3l2q.so.X.Y.Z with soname libl3l2q.so.X and both
#     links, the static library, the headers (uapi/ in l3l2q/), every man
#     page, every tool but the bench, l3l2q.pc, the udev rule when the tree
#     has one;
#   - the shared library exports exactly the functions the installed
#     headers declare (not static inline), each in a LIBL3L2Q_ version
#     node, and nothing else: no l3l2q__ internal, no data;
#   - each installed header compiles on its own, as C11 and as C++, with
#     nothing but -I<includedir>;
#   - tests/pkg/roundtrip.c builds with pkg-config --cflags --libs l3l2q
#     against the installed tree only, and runs on the installed library;
#   - the version is the same in l3l2q_version.h, l3l2q.pc, debian/changelog
#     and dkms.conf;
#   - tools/modprobe.d/l3l2q.conf.example lists every module parameter of
#     kmod/ with its default, and nothing else;
#   - make uninstall leaves no file behind.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh

out=$PWD/build/install-check
rm -rf "$out"
mkdir -p "$out"

# The make of "make check" must not hand its jobserver or variables down.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make --no-print-directory "$@"
}

hdr_version() {
	awk -v n="L3L2Q_VERSION_$1" '$2 == n { print $3 }' \
		lib/include/l3l2q_version.h
}
major=$(hdr_version MAJOR)
version=$major.$(hdr_version MINOR).$(hdr_version PATCH)

echo "TAP version 13"

# ---- make install with every directory given ------------------------------

dest=$out/dest
prefix=/opt/l3l2q
libdir=$prefix/lib64
incdir=$prefix/inc
mandir=$prefix/manpages
bindir=$prefix/sbin
udevdir=/etc/udev/rules.d
vars=("PREFIX=$prefix" "LIBDIR=$libdir" "INCLUDEDIR=$incdir"
      "MANDIR=$mandir" "BINDIR=$bindir" "UDEVRULESDIR=$udevdir")
if mk install DESTDIR="$dest" "${vars[@]}" >"$out/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX LIBDIR INCLUDEDIR MANDIR BINDIR"
else
	not_ok "make install DESTDIR=... PREFIX LIBDIR INCLUDEDIR MANDIR BINDIR"
	diag "$out/install.log" 30
fi

# The files the tree says should be there, and where.
: >"$out/want"
{
	echo "$libdir/libl3l2q.so.$version"
	echo "$libdir/libl3l2q.so.$major"
	echo "$libdir/libl3l2q.so"
	echo "$libdir/libl3l2q.a"
	echo "$libdir/pkgconfig/l3l2q.pc"
	for h in lib/include/*.h; do echo "$incdir/${h##*/}"; done
	for h in uapi/*.h; do echo "$incdir/l3l2q/${h##*/}"; done
	for p in man/man[1-9]/*.[1-9]; do echo "$mandir/${p#man/}"; done
	for t in tools/*.c; do
		t=${t##*/}
		case "$t" in l3l2q-*) echo "$bindir/${t%.c}" ;; esac
	done
	for d in tools/*/; do
		d=${d%/}; d=${d##*/}
		[ "$d" = bench ] && continue
		ls tools/"$d"/*.c >/dev/null 2>&1 && echo "$bindir/l3l2q-$d"
	done
	[ -f tools/udev/60-l3l2q.rules ] && echo "$udevdir/60-l3l2q.rules"
} | sort >"$out/want"
(cd "$dest" && find . ! -type d | sed 's|^\.||' | sort) >"$out/got"
if [ -s "$out/got" ] && cmp -s "$out/want" "$out/got"; then
	ok "installs exactly the expected $(wc -l <"$out/want") files"
else
	not_ok "installs exactly the expected files"
	echo "# missing (-) and unexpected (+):"
	diff "$out/want" "$out/got" | sed -n 's/^</-/p; s/^>/+/p' |
		head -n 40 | sed 's/^/# /'
fi

so=$dest$libdir/libl3l2q.so.$version
if [ "$(readlink "$dest$libdir/libl3l2q.so.$major")" = "libl3l2q.so.$version" ] &&
   [ "$(readlink "$dest$libdir/libl3l2q.so")" = "libl3l2q.so.$major" ] &&
   readelf -d "$so" 2>/dev/null |
	grep -q "(SONAME).*\[libl3l2q\.so\.$major\]"; then
	ok "libl3l2q.so.$version has soname libl3l2q.so.$major, and both links"
else
	not_ok "libl3l2q.so.$version has soname libl3l2q.so.$major, and both links"
	readelf -d "$so" 2>&1 | grep -i soname | sed 's/^/# /'
	ls -l "$dest$libdir" 2>&1 | sed 's/^/# /'
fi

if [ -x "$dest$bindir/l3l2q-demo" ] && [ ! -e "$dest$bindir/l3l2q-bench" ]; then
	ok "the tools are installed, the bench is not"
else
	not_ok "the tools are installed, the bench is not"
fi

# ---- the exported symbols are the installed headers' functions -------------

for h in "$dest$incdir"/*.h "$dest$incdir"/l3l2q/*.h; do
	awk -f tests/header_protos.awk "$h"
done | awk -F'\t' '$2 !~ /^ *static /{ print $1 }' | sort -u >"$out/declared"
if nm -D --defined-only "$so" >"$out/nm" 2>"$out/nm.log"; then
	# "addr T name@@NODE"; the nodes themselves are absolute symbols.
	awk '$2 != "A" { print $3 }' "$out/nm" | sort >"$out/exported.v"
	sed 's/@.*//' "$out/exported.v" | sort -u >"$out/exported"
	comm -23 "$out/declared" "$out/exported" >"$out/not_exported"
	comm -13 "$out/declared" "$out/exported" >"$out/not_declared"
	if [ "$(wc -l <"$out/declared")" -ge 50 ] &&
	   [ ! -s "$out/not_exported" ] && [ ! -s "$out/not_declared" ]; then
		ok "exports exactly the $(wc -l <"$out/declared") functions of the installed headers"
	else
		not_ok "exports exactly the functions of the installed headers"
		if [ -s "$out/not_exported" ]; then
			echo "# declared but not exported (add to lib/libl3l2q.map):"
			diag "$out/not_exported"
		fi
		if [ -s "$out/not_declared" ]; then
			echo "# exported but declared in no installed header:"
			diag "$out/not_declared"
		fi
	fi
	grep -v '@@LIBL3L2Q_[0-9][0-9.]*$' "$out/exported.v" >"$out/unversioned"
	if [ -s "$out/exported.v" ] && [ ! -s "$out/unversioned" ]; then
		ok "every exported symbol has a LIBL3L2Q_ version"
	else
		not_ok "every exported symbol has a LIBL3L2Q_ version"
		diag "$out/unversioned"
	fi
	if ! grep -q 'l3l2q__' "$out/exported" &&
	   ! awk '$2 != "A" && $2 != "T" { bad = 1 } END { exit !bad }' "$out/nm"; then
		ok "no internal l3l2q__ function and no data symbol is exported"
	else
		not_ok "no internal l3l2q__ function and no data symbol is exported"
		awk '$2 != "A" && ($2 != "T" || $3 ~ /^l3l2q__/)' "$out/nm" | diag /dev/stdin
	fi
else
	not_ok "exports exactly the functions of the installed headers"
	diag "$out/nm.log"
fi

# ---- each installed header on its own ---------------------------------------

: >"$out/hdr.log"
nhdr=0
bad=0
for h in "$dest$incdir"/*.h "$dest$incdir"/l3l2q/*.h; do
	rel=${h#"$dest$incdir"/}
	nhdr=$((nhdr + 1))
	printf '#include <%s>\n' "$rel" >"$out/hdr.c"
	if ! gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only \
		-I"$dest$incdir" "$out/hdr.c" >>"$out/hdr.log" 2>&1; then
		echo "C11: $rel" >>"$out/hdr.log"
		bad=1
	fi
	if ! g++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -x c++ \
		-I"$dest$incdir" "$out/hdr.c" >>"$out/hdr.log" 2>&1; then
		echo "C++: $rel" >>"$out/hdr.log"
		bad=1
	fi
done
if [ "$bad" = 0 ] && [ "$nhdr" -ge 7 ]; then
	ok "each of the $nhdr installed headers compiles alone (C11, C++)"
else
	not_ok "each installed header compiles alone (C11, C++)"
	diag "$out/hdr.log" 30
fi

# ---- a program built with pkg-config against the installed tree ------------

pc=$dest$libdir/pkgconfig/l3l2q.pc
# shellcheck disable=SC2016 # ${prefix} is pkg-config's, not the shell's
if grep -qx "Version: $version" "$pc" && grep -qx "prefix=$prefix" "$pc" &&
   grep -qx 'libdir=${prefix}/lib64' "$pc" &&
   grep -qx 'includedir=${prefix}/inc' "$pc"; then
	ok "l3l2q.pc: version $version and the install's directories"
else
	not_ok "l3l2q.pc: version $version and the install's directories"
	diag "$pc"
fi

# Only the scratch tree: its .pc alone, its paths under the sysroot.
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$dest$libdir/pkgconfig
# shellcheck disable=SC2086 # $flags is a list of options
if flags=$(pkg-config --cflags --libs l3l2q 2>"$out/pc.log") &&
   gcc -std=c11 -Wall -Wextra -Werror -o "$out/roundtrip" \
	tests/pkg/roundtrip.c $flags -MD -MF "$out/roundtrip.d" \
	>"$out/cc.log" 2>&1; then
	ok "tests/pkg/roundtrip.c builds with pkg-config --cflags --libs l3l2q"
else
	not_ok "tests/pkg/roundtrip.c builds with pkg-config --cflags --libs l3l2q"
	diag "$out/pc.log"
	diag "$out/cc.log" 20
fi
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
# Every l3l2q header it read came from the install, none from the tree.
if [ -f "$out/roundtrip.d" ] &&
   grep -q "$dest$incdir/libl3l2q.h" "$out/roundtrip.d" &&
   grep -q "$dest$incdir/l3l2q/l3l2q.h" "$out/roundtrip.d" &&
   ! grep -Eq "(^| )(lib/include|uapi)/" "$out/roundtrip.d"; then
	ok "it reads the installed headers only"
else
	not_ok "it reads the installed headers only"
	[ -f "$out/roundtrip.d" ] && diag "$out/roundtrip.d"
fi
if [ -x "$out/roundtrip" ] &&
   readelf -d "$out/roundtrip" | grep -q "NEEDED.*\[libl3l2q\.so\.$major\]" &&
   LD_LIBRARY_PATH=$dest$libdir ldd "$out/roundtrip" |
	grep -q "libl3l2q\.so\.$major => $dest$libdir/" &&
   LD_LIBRARY_PATH=$dest$libdir timeout 60 "$out/roundtrip" >"$out/run.log" 2>&1 &&
   grep -q "^libl3l2q $major\.[0-9]*: ping -> pong$" "$out/run.log"; then
	ok "it runs on the installed libl3l2q.so.$major: $(cat "$out/run.log")"
else
	not_ok "it runs on the installed libl3l2q.so.$major"
	[ -x "$out/roundtrip" ] && LD_LIBRARY_PATH=$dest$libdir ldd "$out/roundtrip" 2>&1 | diag /dev/stdin
	[ -f "$out/run.log" ] && diag "$out/run.log"
fi

# ---- one version everywhere --------------------------------------------------

deb_version=$(sed -n '1s/^l3l2q (\([^)]*\)).*/\1/p' debian/changelog)
dkms_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
if [ "$deb_version" = "$version" ] && [ "$dkms_version" = "$version" ]; then
	ok "version $version in l3l2q_version.h, debian/changelog and dkms.conf"
else
	not_ok "one version in l3l2q_version.h ($version), debian/changelog ($deb_version) and dkms.conf ($dkms_version)"
fi

# ---- the modprobe.d example and the module's parameters -------------------

# "name=default" for each module_param(var, ...) / module_param_named(name,
# var, ...) of kmod/, the default read from the variable's initialiser
# (a number, or SZ_<n>K/M/G).
param_defaults() {
	local name var init
	grep -ho 'module_param\(_named\)\?([^)]*)' kmod/*.c |
	sed -e 's/^module_param_named(\([a-z0-9_]*\), *\([a-z0-9_]*\),.*/\1 \2/' \
	    -e 's/^module_param(\([a-z0-9_]*\),.*/\1 \1/' |
	while read -r name var; do
		init=$(sed -n "s/^[a-z ]*[ *]$var = \([^;]*\);.*/\1/p" kmod/*.c |
		       head -n 1)
		case "$init" in
		[0-9]*) init=${init%%[uUlL]*} ;;
		SZ_*K) init=$(( ${init//[!0-9]/} * 1024 )) ;;
		SZ_*M) init=$(( ${init//[!0-9]/} * 1024 * 1024 )) ;;
		SZ_*G) init=$(( ${init//[!0-9]/} * 1024 * 1024 * 1024 )) ;;
		*) init="?($init)" ;;
		esac
		echo "$name=$init"
	done | sort
}
param_defaults >"$out/params.want"
sed -n 's/^#options l3l2q \([a-z0-9_]*=[^ ]*\)$/\1/p' \
	tools/modprobe.d/l3l2q.conf.example | sort >"$out/params.got"
if [ -s "$out/params.want" ] && cmp -s "$out/params.want" "$out/params.got"; then
	ok "l3l2q.conf.example: every module parameter with its default ($(wc -l <"$out/params.want"))"
else
	not_ok "l3l2q.conf.example: every module parameter with its default"
	echo "# kmod/ (-) and the example (+):"
	diff "$out/params.want" "$out/params.got" | sed -n 's/^</-/p; s/^>/+/p' |
		sed 's/^/# /'
fi

# ---- make uninstall ----------------------------------------------------------

if mk uninstall DESTDIR="$dest" "${vars[@]}" >"$out/uninstall.log" 2>&1 &&
   [ -z "$(find "$dest" ! -type d)" ] && [ ! -d "$dest$incdir/l3l2q" ]; then
	ok "make uninstall removes every file it installed"
else
	not_ok "make uninstall removes every file it installed"
	find "$dest" ! -type d | sed 's/^/# left: /'
	diag "$out/uninstall.log" 10
fi

# ---- the defaults: /usr/local ------------------------------------------------

dest2=$out/dest-default
if mk install DESTDIR="$dest2" >"$out/install-default.log" 2>&1 &&
   [ -f "$dest2/usr/local/lib/libl3l2q.so.$version" ] &&
   [ -f "$dest2/usr/local/include/libl3l2q.h" ] &&
   [ -f "$dest2/usr/local/include/l3l2q/l3l2q.h" ] &&
   [ -f "$dest2/usr/local/lib/pkgconfig/l3l2q.pc" ] &&
   [ -f "$dest2/usr/local/share/man/man7/l3l2q.7" ] &&
   [ -x "$dest2/usr/local/bin/l3l2q-demo" ] &&
   mk uninstall DESTDIR="$dest2" >>"$out/install-default.log" 2>&1 &&
   [ -z "$(find "$dest2" ! -type d)" ]; then
	ok "make install / uninstall with the defaults (PREFIX=/usr/local)"
else
	not_ok "make install / uninstall with the defaults (PREFIX=/usr/local)"
	diag "$out/install-default.log" 20
fi

echo "1..$n"
exit "$failed"
