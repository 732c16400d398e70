#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Licenses: the SPDX-License-Identifier of every file against
# debian/copyright, which says which license each part of the tree is under
# (LICENSE says the same in prose):
#   - every file of the tree has a tag, except documents, license texts,
#     Debian's metadata and one-line man page aliases (the list below);
#   - each tag is the license the last debian/copyright "Files:" paragraph
#     matching the file gives (DEP-5 names mapped to SPDX);
#   - LICENSES/ has the text of every license and exception a tag names.
#
# Output is TAP; every check is a pass or a failure, never a skip.
set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/tap.sh
. tests/tap.sh

out=build/license-check
rm -rf "$out"
mkdir -p "$out"

echo "TAP version 13"

# The files of the tree: tracked and new, not ignored (build/ is).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard
else
	find . -path ./build -prune -o -path ./.git -prune -o -type f -print |
		sed 's|^\./||'
fi | sort -u >"$out/files"

# Files that carry no tag: documents, data (the fuzzers' binary corpus),
# license texts, Debian's metadata (covered by debian/copyright itself),
# man page aliases.
exempt() {
	case "$1" in
	*.md | *.txt | *.png | LICENSE | LICENSES/* | .gitignore) return 0 ;;
	debian/changelog | debian/control | debian/copyright) return 0 ;;
	debian/source/* | debian/*.install | debian/*.dkms) return 0 ;;
	debian/*.examples | debian/*.symbols) return 0 ;;
	debian/*.lintian-overrides) return 0 ;;
	tests/fuzz/README | tests/fuzz/corpus/*) return 0 ;;	# data, a note
	man/man[1-9]/*.[1-9])
		[ "$(wc -l <"$1")" -le 1 ] && head -n 1 "$1" | grep -q '^\.so ' ;;
	*) return 1 ;;
	esac
}

# The SPDX expression of a file's first tag, without a comment's closing.
tag_of() {
	sed -n 's/.*SPDX-License-Identifier: *\(.*\)$/\1/p' "$1" | head -n 1 |
		sed -e 's|[[:space:]]*\*/[[:space:]]*$||' -e 's/[[:space:]]*$//'
}

# debian/copyright's Files paragraphs, in order: "pattern<TAB>license".
awk '
	/^Files:/ { infiles = 1; sub(/^Files:[ \t]*/, ""); pats = $0; next }
	infiles && /^[ \t]/ { pats = pats " " $0; next }
	infiles && /^License:/ {
		lic = $0; sub(/^License:[ \t]*/, "", lic)
		n = split(pats, p, /[ \t]+/)
		for (i = 1; i <= n; i++)
			if (p[i] != "") print p[i] "\t" lic
		infiles = 0; next
	}
	/^$/ { infiles = 0 }
' debian/copyright >"$out/paragraphs"

# DEP-5 license names to SPDX expressions.
spdx_of() {
	case "$1" in
	Expat) echo "MIT" ;;
	GPL-2) echo "GPL-2.0" ;;
	"GPL-2 with Linux-syscall-note exception or Expat")
		echo "(GPL-2.0 WITH Linux-syscall-note) OR MIT" ;;
	*) echo "?unknown DEP-5 name: $1" ;;
	esac
}

# The license debian/copyright gives a file: its last matching paragraph
# (DEP-5: "*" also matches "/").
expected_of() {
	local f=$1 pat lic want=
	while IFS=$'\t' read -r pat lic; do
		# shellcheck disable=SC2053 # $pat is a glob on purpose
		[[ $f == $pat ]] && want=$lic
	done <"$out/paragraphs"
	spdx_of "$want"
}

: >"$out/untagged"
: >"$out/mismatch"
: >"$out/tags"
nfiles=0
while IFS= read -r f; do
	if [ ! -f "$f" ] || [ -L "$f" ]; then
		continue
	fi
	tag=$(tag_of "$f")
	if [ -z "$tag" ]; then
		exempt "$f" || echo "$f" >>"$out/untagged"
		continue
	fi
	nfiles=$((nfiles + 1))
	echo "$tag" >>"$out/tags"
	want=$(expected_of "$f")
	[ "$tag" = "$want" ] || echo "$f: $tag (debian/copyright: $want)" >>"$out/mismatch"
done <"$out/files"

if [ "$nfiles" -gt 100 ] && [ ! -s "$out/untagged" ]; then
	ok "every file that should has an SPDX-License-Identifier ($nfiles)"
else
	not_ok "every file that should has an SPDX-License-Identifier ($nfiles tagged)"
	echo "# no tag:"
	diag "$out/untagged"
fi

if [ "$nfiles" -gt 100 ] && [ ! -s "$out/mismatch" ]; then
	ok "each tag is the license debian/copyright gives the file"
else
	not_ok "each tag is the license debian/copyright gives the file"
	diag "$out/mismatch"
fi

# Every license and exception named: MIT, GPL-2.0, Linux-syscall-note, ...
sort -u "$out/tags" | tr -s '() ' '\n' |
	grep -Evx 'OR|AND|WITH|' | sort -u >"$out/ids"
: >"$out/notext"
while IFS= read -r id; do
	[ -f "LICENSES/$id.txt" ] || echo "$id" >>"$out/notext"
done <"$out/ids"
if [ -s "$out/ids" ] && [ ! -s "$out/notext" ]; then
	ok "LICENSES/ has the text of each of: $(tr '\n' ' ' <"$out/ids")"
else
	not_ok "LICENSES/ has the text of each license a tag names"
	echo "# missing LICENSES/<id>.txt:"
	diag "$out/notext"
fi

echo "1..$n"
exit "$failed"
