#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Static checks of the driver (kmod/), as a kernel maintainer would run
# them before reading it:
#
#   - checkpatch.pl --strict on every kmod/ file, clean but for the
#     (file, type) pairs tests/kmod_lint.allow lists with their reason;
#   - kernel-doc: every function another file calls (declared in
#     kmod/l3l2q_internal.h) has a /** comment, and kernel-doc -v finds
#     nothing wrong in any of them;
#   - sparse (C=2) over the module build on the 6.1 and the 6.12 headers,
#     with W=1: no warning at all;
#   - and, so that a silent tool cannot pass for a clean tree, checkpatch,
#     kernel-doc and sparse each catch a bug planted in a scratch copy.
#
# checkpatch.pl and kernel-doc come from Debian's linux-source tarball
# (tools/fetch-kernel-scripts.sh, like the kselftest harness), sparse from
# Debian's sparse package (tools/install-deps.sh).  The kernel headers are
# the ones tools/vm/run.sh installs; missing ones are installed here the
# same way.  Output is TAP; nothing is ever skipped.
set -u

cd "$(dirname "$0")/.." || exit 1
root=$PWD
out=$root/build/kmod-lint
scripts=$root/build/kernel-scripts
allow=$root/tests/kmod_lint.allow

# shellcheck source=tests/tap.sh
. tests/tap.sh

rm -rf "$out"
mkdir -p "$out"

# --- tools ---------------------------------------------------------------

if ! sh tools/fetch-kernel-scripts.sh "$scripts" >"$out/fetch.log" 2>&1; then
	not_ok "fetch checkpatch.pl and kernel-doc from linux-source"
	diag "$out/fetch.log"
	exit 1
fi
ok "checkpatch.pl and kernel-doc from linux-source"
if ! command -v sparse >/dev/null; then
	not_ok "sparse is installed (tools/install-deps.sh)"
	exit 1
fi

apt_install() {
	env DEBIAN_FRONTEND=noninteractive apt-get -q \
		-o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
		"$@" >>"$out/apt.log" 2>&1
}

# The newest installed headers of a series, e.g. "6.1" or "6.12".
headers() {
	local d
	d=$(ls -d /usr/src/linux-headers-"$1".*-cloud-amd64 2>/dev/null |
		sort -V | tail -n 1)
	[ -n "$d" ] && [ -f "$d/Makefile" ] && echo "$d"
}

# As tools/vm/run.sh resolves them: 6.1 through the cloud metapackage,
# 6.12 as the highest release with both an image and headers.
install_headers() {
	local rel
	if [ "$1" = 6.1 ]; then
		apt_install linux-headers-cloud-amd64
		return
	fi
	rel=$(apt-cache pkgnames linux-headers-6.12. |
		sed -nE 's/^linux-headers-(6\.12\.[0-9]+\+deb12-cloud-amd64)$/\1/p' |
		sort -V | tail -n 1)
	[ -n "$rel" ] && apt_install "linux-headers-$rel"
}

# --- checkpatch ------------------------------------------------------------

# checkpatch FILE: its findings, minus the allowed types, in $out/cp.log.
checkpatch() {
	local f=$1 types
	types=$(awk -v f="$f" '!/^#/ && $1 == f { print $2 }' "$allow")
	perl "$scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--no-summary -f "$f" 2>&1 |
		awk -v types=" $(echo $types) " '
		{
			t = $0
			if (match(t, /: (ERROR|WARNING|CHECK):[A-Z_0-9]+:/)) {
				t = substr(t, RSTART + 2, RLENGTH - 3)
				sub(/^[A-Z]+:/, "", t)
				if (index(types, " " t " "))
					next
			}
			print
		}' >"$out/cp.log"
}

for f in kmod/*.c kmod/*.h; do
	checkpatch "$f"
	if [ -s "$out/cp.log" ]; then
		not_ok "checkpatch --strict $f"
		diag "$out/cp.log" 40
	else
		ok "checkpatch --strict $f"
	fi
done

# An allowlist entry that matches nothing has outlived its reason.
while read -r f t _; do
	case $f in '#'* | '') continue ;; esac
	if perl "$scripts/checkpatch.pl" --strict --no-tree --terse \
		--show-types --no-summary -f "$f" 2>/dev/null |
		grep -q ":$t:"; then
		ok "allowlist entry $f $t is still needed"
	else
		not_ok "allowlist entry $f $t is still needed"
	fi
done <"$allow"

# --- kernel-doc --------------------------------------------------------------

# Every function another file calls: the names kmod/l3l2q_internal.h
# declares (or defines inline).  Each needs a /** block ending right above
# its definition that names it ("name() - ...").
funcs=$(sed -n 's/^[a-z_][a-z0-9_ *]*[ *]\(l3l2q_[a-z0-9_]*\)(.*/\1/p' \
	kmod/l3l2q_internal.h | sort -u)
missing=
for fn in $funcs; do
	def=$(grep -ln "^[a-z_].*[ *]$fn(" kmod/*.c kmod/*.h |
		head -n 1)
	if [ -z "$def" ]; then
		missing="$missing $fn(no definition)"
		continue
	fi
	if ! awk -v fn="$fn" '
		/^\/\*\*/ { doc = ""; indoc = 1 }
		indoc { doc = doc $0 "\n" }
		/\*\// { if (indoc) { indoc = 0; last = NR; d = doc } }
		$0 ~ "^[a-z_].*[ *]" fn "\\(" {
			found = 1
			# the definition line (or the one before, for a
			# return type on its own line) follows the doc
			ok = (last == NR - 1 || last == NR - 2) &&
			     index(d, " " fn "() - ")
			exit
		}
		END { exit !(found && ok) }' "$def"; then
		missing="$missing $fn"
	fi
done
if [ -z "$missing" ]; then
	ok "kernel-doc on every function kmod/l3l2q_internal.h declares"
else
	not_ok "kernel-doc on every function kmod/l3l2q_internal.h declares"
	echo "# missing or not right above the definition:$missing"
fi

perl "$scripts/kernel-doc" -none -v kmod/*.c kmod/*.h 2>&1 |
	grep -v ': info:' | grep -v '^[0-9]* warnings\?$' >"$out/kdoc.log"
if [ -s "$out/kdoc.log" ]; then
	not_ok "kernel-doc -v kmod/"
	diag "$out/kdoc.log" 40
else
	ok "kernel-doc -v kmod/"
fi

# --- sparse --------------------------------------------------------------

# build_checked KDIR SRC LOG: the module from SRC (a copy with Kbuild,
# kmod/, uapi/, lib/) with sparse and W=1.
build_checked() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		make -j2 -C "$1" M="$2" W=1 C=2 modules >"$3" 2>&1
}

copy_tree() {
	rm -rf "$1"
	mkdir -p "$1"
	tar -cf - Kbuild kmod uapi lib/core lib/include | tar -C "$1" -xf -
}

for series in 6.1 6.12; do
	kdir=$(headers "$series")
	if [ -z "$kdir" ]; then
		install_headers "$series"
		kdir=$(headers "$series")
	fi
	if [ -z "$kdir" ]; then
		not_ok "sparse on $series: no $series cloud headers (see $out/apt.log)"
		continue
	fi
	src=$out/src-$series
	copy_tree "$src"
	log=$out/sparse-$series.log
	if ! build_checked "$kdir" "$src" "$log"; then
		not_ok "sparse, W=1 on $(basename "$kdir"): the build failed"
		grep -E 'error|warning' "$log" | sed "s|$src/||" | head -n 20 |
			sed 's/^/# /'
		continue
	fi
	if ! grep -q '^  CHECK ' "$log"; then
		not_ok "sparse on $(basename "$kdir"): sparse never ran"
	elif grep -qiE '(warning|error):' "$log"; then
		not_ok "sparse, W=1 on $(basename "$kdir"): clean"
		grep -iE '(warning|error):' "$log" | sed "s|$src/||" |
			head -n 40 | sed 's/^/# /'
	else
		ok "sparse, W=1 on $(basename "$kdir"): clean"
	fi
done

# --- the tools still bite --------------------------------------------------

# A user pointer dereferenced directly: sparse must say so.
plant=$out/plant
copy_tree "$plant"
cat >>"$plant/kmod/l3l2q_main.c" <<'PLANT'

int l3l2q_planted_bug(int __user *p);
int l3l2q_planted_bug(int __user *p)
{
	return *p;
}
PLANT
kdir=$(headers 6.1)
: >"$out/plant.log"
[ -n "$kdir" ] && build_checked "$kdir" "$plant" "$out/plant.log"
if grep -q 'dereference of noderef expression' "$out/plant.log"; then
	ok "sparse catches a planted __user dereference"
else
	not_ok "sparse catches a planted __user dereference"
	diag "$out/plant.log" 10
fi

# Style and a missing return description: checkpatch and kernel-doc must
# say so.
cat >"$out/planted.c" <<'PLANT'
// SPDX-License-Identifier: GPL-2.0
/**
 * planted() - a function
 * @x: a number
 */
int planted(int x)
{
	if(x)
		return 1;
	return 0;
}
PLANT
if perl "$scripts/checkpatch.pl" --strict --no-tree --terse -f \
	"$out/planted.c" 2>&1 | grep -q 'ERROR: space required before the open parenthesis'; then
	ok "checkpatch catches a planted style error"
else
	not_ok "checkpatch catches a planted style error"
fi
if perl "$scripts/kernel-doc" -none -v "$out/planted.c" 2>&1 |
	grep -q 'No description found for return value'; then
	ok "kernel-doc catches a planted missing Return:"
else
	not_ok "kernel-doc catches a planted missing Return:"
fi

echo "1..$n"
exit "$failed"
