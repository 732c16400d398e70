#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The manual pages (man/) against the code:
#   - every public function has man/man3/<name>.3: the prototypes of the
#     library headers (lib/include/) and the static inline helpers of the
#     ABI headers (uapi/)
#     (names l3l2q_*, not l3l2q__*), and every l3l2q_* symbol that
#     build/lib/libl3l2q.so exports is one of them;
#   - every page renders with groff -man -ww without a warning;
#   - every cross-reference (.BR name (N)) names a page of man/;
#   - each function's SYNOPSIS names its header as installed (<l3l2q/...>
#     for uapi/) and gives the header's prototype (whitespace normalised),
#     following a ".so" alias.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1

GROFF=${GROFF:-groff}
NM=${NM:-nm}
SO=${SO:-build/lib/libl3l2q.so}
out=build/man_check
# Every public header: the library's and the ABI's.
headers=$(ls lib/include/*.h uapi/*.h)

rm -rf "$out"
mkdir -p "$out"
# shellcheck source=tests/tap.sh
. tests/tap.sh

# Whitespace normalised: one space between words, none inside parentheses
# or before a comma or the closing semicolon.
norm() {
	sed -e 's/[[:space:]][[:space:]]*/ /g' -e 's/^ //' -e 's/ $//' \
	    -e 's/( /(/g' -e 's/ )/)/g' -e 's/ ,/,/g' -e 's/ ;/;/g'
}

# "name<TAB>prototype" for each function a header declares or defines
# (tests/header_protos.awk).
protos() {
	awk -f tests/header_protos.awk "$1"
}

# The SYNOPSIS of a page as text: font macros (.B, .BI, .IR, ...) joined
# from their arguments, other requests dropped, escapes undone.
synopsis() {
	awk '
	/^\.SH/ { insyn = ($0 ~ /^\.SH "?SYNOPSIS"?$/); next }
	!insyn { next }
	/^\.(B|I|BI|IB|BR|RB|IR|RI)( |$)/ {
		line = $0
		# .B and .I join their arguments with spaces, the
		# alternating macros (.BI, .IR, ...) without.
		sep = ($0 ~ /^\.[BI]( |$)/) ? " " : ""
		sub(/^\.[A-Z]+ ?/, "", line)
		s = ""
		while (length(line) > 0) {
			if (substr(line, 1, 1) == "\"") {
				line = substr(line, 2)
				q = index(line, "\"")
				if (q == 0) q = length(line) + 1
				s = s (s == "" ? "" : sep) substr(line, 1, q - 1)
				line = substr(line, q + 1)
			} else if (substr(line, 1, 1) == " ") {
				line = substr(line, 2)
			} else {
				q = index(line, " ")
				if (q == 0) q = length(line) + 1
				s = s (s == "" ? "" : sep) substr(line, 1, q - 1)
				line = substr(line, q)
			}
		}
		print s
		next
	}
	/^\./ { next }
	{ print }' "$1" |
	sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g'
}

# The page a .3 file stands for: itself, or the target of its ".so".
resolve() {
	local first
	first=$(head -n 1 "$1")
	case "$first" in
	.so\ *)
		echo "man/${first#.so }"
		;;
	*)
		echo "$1"
		;;
	esac
}

echo "TAP version 13"

# ---- the public functions ------------------------------------------------

: >"$out/functions"
for h in $headers; do
	protos "$h" | while IFS=$'\t' read -r name proto; do
		printf '%s\t%s\t%s\n' "$name" "$h" "$proto"
	done >>"$out/functions"
done
cut -f1 "$out/functions" | sort >"$out/names"
sort -u "$out/names" >"$out/names.u"

# ---- 1: one page per function ----------------------------------------------

if [ "$(wc -l <"$out/names")" -lt 50 ]; then
	not_ok "the headers declare the public API (found $(wc -l <"$out/names") functions)"
else
	ok "the headers declare the public API ($(wc -l <"$out/names") functions)"
fi

if [ -s "$out/names" ] && cmp -s "$out/names" "$out/names.u"; then
	ok "no function is declared twice"
else
	not_ok "no function is declared twice"
	comm -23 "$out/names" "$out/names.u" | diag /dev/stdin
fi

# The shared library exports nothing the headers do not declare.
if [ -f "$SO" ] &&
   "$NM" -D --defined-only "$SO" >"$out/nm" 2>"$out/nm.log"; then
	# Names without their version (l3l2q_create@@LIBL3L2Q_1.0).
	awk '{ sub(/@.*/, "", $3) }
	     $2 ~ /^[TtWw]$/ && $3 ~ /^l3l2q_/ && $3 !~ /^l3l2q__/ {
		print $3 }' "$out/nm" | sort -u >"$out/exported"
	comm -23 "$out/exported" "$out/names.u" >"$out/undocumented"
	if [ -s "$out/exported" ] && [ ! -s "$out/undocumented" ]; then
		ok "every l3l2q_ symbol of $SO is a header function"
	else
		not_ok "every l3l2q_ symbol of $SO is a header function"
		echo "# exported but not found in the headers:"
		diag "$out/undocumented"
	fi
else
	not_ok "every l3l2q_ symbol of $SO is a header function"
	echo "# cannot read $SO (run make lib first)"
	[ -f "$out/nm.log" ] && diag "$out/nm.log"
fi

while IFS= read -r name; do
	page=man/man3/$name.3
	if [ ! -f "$page" ]; then
		not_ok "$name has a page"
		echo "# missing: $page"
	elif [ ! -f "$(resolve "$page")" ]; then
		not_ok "$name has a page"
		echo "# $page points to $(resolve "$page"), which does not exist"
	else
		ok "$name has a page"
	fi
done <"$out/names.u"

# ---- 2: every page renders without warnings --------------------------------

pages=$(find man -type f -name '*.[0-9]' 2>/dev/null | sort)
if [ -z "$pages" ]; then
	not_ok "man/ has pages"
elif ! command -v "$GROFF" >/dev/null 2>&1; then
	not_ok "groff is installed (tools/install-deps.sh: groff-base)"
else
	for page in $pages; do
		rel=${page#man/}
		# From man/, so that ".so man3/x.3" resolves as man(1) does.
		if (cd man && "$GROFF" -man -ww -z "$rel") >"$out/render.log" 2>&1 &&
		   [ ! -s "$out/render.log" ]; then
			ok "$rel renders without warnings"
		else
			not_ok "$rel renders without warnings"
			diag "$out/render.log"
		fi
	done
fi

# Every ".BR name (N)" reference names a page that exists here, or a
# system page outside l3l2q (any name not starting with l3l2q).
: >"$out/badrefs"
for page in $pages; do
	sed -n 's/^\.BR \([a-z0-9_]*\) (\([0-9]\)).*/\1 \2/p' "$page" |
	while read -r ref sec; do
		case "$ref" in
		l3l2q*)
			[ -f "man/man$sec/$ref.$sec" ] ||
				echo "$page: $ref($sec)" >>"$out/badrefs"
			;;
		esac
	done
done
if [ -n "$pages" ] && [ ! -s "$out/badrefs" ]; then
	ok "every l3l2q cross-reference names an existing page"
else
	not_ok "every l3l2q cross-reference names an existing page"
	diag "$out/badrefs"
fi

# ---- 3: each SYNOPSIS gives the header's prototype -------------------------

while IFS=$'\t' read -r name header proto; do
	page=man/man3/$name.3
	what="$name: SYNOPSIS matches $header"
	if [ ! -f "$page" ] || [ ! -f "$(resolve "$page")" ]; then
		not_ok "$what"
		echo "# no page"
		continue
	fi
	target=$(resolve "$page")
	synopsis "$target" >"$out/syn"
	want=$(printf '%s;\n' "$proto" | norm)
	# Statements end at ';'; #include lines stand alone.
	grep -v '^#include' "$out/syn" | tr '\n' ' ' | tr ';' '\n' |
		sed 's/$/;/' | norm >"$out/stmts"
	got=$(grep -E "(^|[ *])$name\(" "$out/stmts" | head -n 1)
	# The ABI headers are installed in l3l2q/ (mk/install.mk).
	case "$header" in
	uapi/*) inc="#include <l3l2q/$(basename "$header")>" ;;
	*) inc="#include <$(basename "$header")>" ;;
	esac
	if [ "$got" = "$want" ] && grep -qxF "$inc" "$out/syn"; then
		ok "$what"
	else
		not_ok "$what"
		echo "# page:   ${got:-(no prototype of $name in $target)}"
		echo "# header: $want"
		grep -qxF "$inc" "$out/syn" || echo "# missing: $inc"
	fi
done <"$out/functions"

echo "1..$n"
exit "$failed"
