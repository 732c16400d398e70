# SPDX-License-Identifier: MIT
#
# "name<TAB>prototype" for each function a C header declares or defines at
# file scope (names l3l2q_*, not the internal l3l2q__*): comments,
# preprocessor lines (with their continuations) and the C++ extern "C"
# block lines are dropped, then the text is cut at every top-level ';' and
# '{'; bodies of functions, structs and enums are skipped.  A static inline
# function's prototype starts with "static".
#
#   awk -f tests/header_protos.awk HEADER
# Used by tests/man_check.sh and tests/install_check.sh.
BEGIN { text = "" }
/^#ifdef __cplusplus/ { skipcxx = 1; next }
skipcxx { if (/^#endif/) skipcxx = 0; next }
cont { cont = /\\$/; next }
/^[ \t]*#/ { cont = /\\$/; next }
{ text = text $0 "\n" }
END {
	# comments
	while ((i = index(text, "/*")) > 0) {
		rest = substr(text, i + 2)
		j = index(rest, "*/")
		text = substr(text, 1, i - 1) " " substr(rest, j + 2)
	}
	gsub(/\/\/[^\n]*/, "", text)
	depth = 0; stmt = ""
	n = length(text)
	for (k = 1; k <= n; k++) {
		c = substr(text, k, 1)
		if (depth > 0) {
			if (c == "{") depth++
			else if (c == "}") depth--
			continue
		}
		if (c == ";" || c == "{") {
			emit(stmt)
			stmt = ""
			if (c == "{") depth = 1
			continue
		}
		stmt = stmt c
	}
}
function emit(s,   name) {
	gsub(/[ \t\n]+/, " ", s)
	if (!match(s, /(^|[ *])l3l2q_[a-z0-9_]+ ?\(/))
		return
	name = substr(s, RSTART, RLENGTH)
	sub(/^[ *]/, "", name)
	sub(/ ?\($/, "", name)
	if (name ~ /^l3l2q__/)
		return
	print name "\t" s
}
