#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Render l3l2q-bench's machine-readable lines (kind=... key=value lines) as
#   OUT/table.md        the markdown tables: streaming, round trips, blocking
#                       streaming, memcpy, targets with PASS/MISS
#   OUT/throughput.png  msgs/s and GB/s against message size (gnuplot, if
#                       installed: make bench-deps)
#
#   tools/bench/report.sh RESULTS [OUT]         OUT defaults to RESULTS' dir
#   tools/bench/report.sh --doc RESULTS         also rewrite the results part
#                       of docs/performance.md (between its markers) and
#                       docs/throughput.png
set -eu

doc=0
if [ "${1:-}" = "--doc" ]; then
	doc=1
	shift
fi
res=${1:?usage: report.sh [--doc] RESULTS [OUT]}
out=${2:-$(dirname "$res")}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"

# ---- the tables ----------------------------------------------------------
awk '
function val(key,   i, kv) {
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == key) return substr($i, length(key) + 2)
	}
	return ""
}
function rate(v) {
	v = v + 0
	if (v >= 1e6) return sprintf("%.2f M", v / 1e6)
	if (v >= 1e3) return sprintf("%.1f k", v / 1e3)
	return sprintf("%.0f", v)
}
/^kind=/ {
	k = val("kind"); m = val("mech"); b = val("bytes")
	if (k == "meta") {
		meta = $0; prod = val("producers"); cons = val("consumers")
		next
	}
	if (k == "probe") {
		w = val("when"); probe[w] = val("p50_ns")
		if (w ~ /^rep/) reps = reps (reps == "" ? "" : ", ") val("p50_ns")
		next
	}
	if (k == "ratio") {
		nr++; rn[nr] = val("name"); rr[nr] = val("ratio")
		rg[nr] = val("goal"); rs[nr] = val("status")
		rm[nr] = m; rb[nr] = val("base"); rby[nr] = b
		rlo[nr] = val("min_ratio"); rhi[nr] = val("max_ratio")
		next
	}
	if (k == "icount") {
		if (!(m in seenic)) { seenic[m] = 1; nic++; icm[nic] = m }
		if (!(b in seenicb)) { seenicb[b] = 1; nicb++; icb[nicb] = b }
		ic[m, b] = val("instr_per_msg")
		next
	}
	key = k SUBSEP m SUBSEP b
	mps[key] = val("msgs_per_s"); gbs[key] = val("gb_per_s")
	err[key] = val("error")
	if (!((k SUBSEP m) in seenm)) { seenm[k SUBSEP m] = 1; nm[k]++; mname[k, nm[k]] = m }
	if (!(b in seenb) && (k == "stream" || k == "bstream" || k == "memcpy" ||
			      k == "mpstream")) {
		seenb[b] = 1; ns++; size[ns] = b
	}
	if (k == "rtt" || k == "chrtt") { p50[m] = val("p50_ns"); p99[m] = val("p99_ns"); rtm[m] = val("msgs_per_s") }
	if (k == "chrtt") slpc[m] = val("sleeps_per_call")
	if (k == "sigwake") {
		swp50[m] = val("p50_ns"); swp99[m] = val("p99_ns"); swr[m] = val("msgs_per_s")
		swslp[m] = val("sleeps_per_wake"); swkick[m] = val("kicks_per_wake")
	}
	if (k == "signotify") { snr[m] = val("msgs_per_s"); snsys[m] = val("syscalls_per_msg") }
	if (k == "chstream" && !(b in seencb)) { seencb[b] = 1; ncs++; csize[ncs] = b }
	if (k == "bstream") {
		sys[b] = val("syscalls_per_msg"); kick[b] = val("kicks_per_msg")
		slp[b] = val("sleeps_per_msg"); yld[b] = val("yields_per_msg")
	}
}
END {
	# sizes in numeric order
	for (i = 1; i <= ns; i++) for (j = i + 1; j <= ns; j++)
		if (size[j] + 0 < size[i] + 0) { t = size[i]; size[i] = size[j]; size[j] = t }
	for (i = 1; i <= ncs; i++) for (j = i + 1; j <= ncs; j++)
		if (csize[j] + 0 < csize[i] + 0) { t = csize[i]; csize[i] = csize[j]; csize[j] = t }
	n = split(meta, f, " ")
	print "Run: `" meta "`"
	print ""
	printf "Cross-core probe (cache-line round trip, p50): %s ns before, %s ns after", probe["before"], probe["after"]
	if (reps != "") printf "; at the start of each repetition: %s ns", reps
	printf ".\n\n"
	print "**Streaming throughput**, msgs/s (GB/s), median of the repetitions:"
	print ""
	printf "| mechanism |"; for (i = 1; i <= ns; i++) printf " %s B |", size[i]; print ""
	printf "|---|"; for (i = 1; i <= ns; i++) printf "---:|"; print ""
	split("stream bstream memcpy", kinds, " ")
	for (kk = 1; kk <= 3; kk++) {
		k = kinds[kk]
		for (j = 1; j <= nm[k]; j++) {
			m = mname[k, j]
			printf "| %s%s |", m, (k == "bstream" ? " (blocking)" : "")
			for (i = 1; i <= ns; i++) {
				key = k SUBSEP m SUBSEP size[i]
				if (!(key in mps)) printf " - |"
				else if (err[key] != "" && mps[key] + 0 == 0) printf " fail |"
				else printf " %s (%.2f) |", rate(mps[key]), gbs[key]
			}
			print ""
		}
	}
	print ""
	print "**Round-trip latency** (client on the first CPU, echo on the second):"
	print ""
	print "| mechanism | p50 ns | p99 ns | round trips/s |"
	print "|---|---:|---:|---:|"
	for (j = 1; j <= nm["rtt"]; j++) {
		m = mname["rtt", j]
		printf "| %s | %s | %s | %s |\n", m, p50[m], p99[m], rate(rtm[m])
	}
	print ""
	print "**Blocking streaming** (l3l2q_block): system calls per message = kicks (eventfd write) + 2 x sleeps (ppoll + eventfd read) + sched_yields of the spin loop, counted over the whole run:"
	print ""
	print "| bytes | msgs/s | vs busy-poll copy | syscalls/msg | kicks/msg | sleeps/msg | yields/msg |"
	print "|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= ns; i++) {
		b = size[i]; key = "bstream" SUBSEP "l3l2q_block" SUBSEP b
		if (!(key in mps)) continue
		pk = "stream" SUBSEP "l3l2q_copy" SUBSEP b
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", b, rate(mps[key]),
			(pk in mps && mps[pk] > 0) ? sprintf("%.2f", mps[key] / mps[pk]) : "-",
			sys[b], kick[b], slp[b], yld[b]
	}
	print ""
	if (nm["mpstream"] > 0) {
		printf "**Many threads**, msgs/s taken by the consumers (mp: %s producer threads and one consumer; mc: one producer and %s consumer threads; unpinned):\n", prod, cons
		print ""
		printf "| mechanism |"; for (i = 1; i <= ns; i++) printf " %s B |", size[i]; print ""
		printf "|---|"; for (i = 1; i <= ns; i++) printf "---:|"; print ""
		for (j = 1; j <= nm["mpstream"]; j++) {
			m = mname["mpstream", j]
			printf "| %s |", m
			for (i = 1; i <= ns; i++) {
				key = "mpstream" SUBSEP m SUBSEP size[i]
				if (!(key in mps)) printf " - |"
				else if (err[key] != "" && mps[key] + 0 == 0) printf " fail |"
				else printf " %s |", rate(mps[key])
			}
			print ""
		}
		print ""
	}
	if (nm["chstream"] > 0) {
		print "**Channel streaming** (HDCH over a memfd, one process), msgs/s taken by the receivers; NxN = N sending threads (one lane each) and N receiving threads, unpinned; rte_ring_mpmc is DPDK'"'"'s MP/MC ring with as many threads:"
		print ""
		printf "| mechanism |"; for (i = 1; i <= ncs; i++) printf " %s B |", csize[i]; print ""
		printf "|---|"; for (i = 1; i <= ncs; i++) printf "---:|"; print ""
		for (j = 1; j <= nm["chstream"]; j++) {
			m = mname["chstream", j]
			printf "| %s |", m
			for (i = 1; i <= ncs; i++) {
				key = "chstream" SUBSEP m SUBSEP csize[i]
				if (!(key in mps)) printf " - |"
				else if (err[key] != "" && mps[key] + 0 == 0) printf " fail |"
				else printf " %s |", rate(mps[key])
			}
			print ""
		}
		print ""
	}
	if (nm["chrtt"] > 0) {
		print "**Channel request/response** (l3l2q_chan_call; _N = N calling threads and N serving threads; p50/p99 over every call, round trips/s of all callers; sleeps of callers and servers per call, whole run):"
		print ""
		print "| mechanism | p50 ns | p99 ns | round trips/s | sleeps/call |"
		print "|---|---:|---:|---:|---:|"
		for (j = 1; j <= nm["chrtt"]; j++) {
			m = mname["chrtt", j]
			printf "| %s | %s | %s | %s | %s |\n", m, p50[m], p99[m], rate(rtm[m]), slpc[m]
		}
		print ""
	}
	if (nm["sigwake"] > 0) {
		print "**Signals: notify -> wake latency** (t1 - t0: the notifier'"'"'s clock just before its notify, the waiter'"'"'s just after it wakes, on the other core; _sleep cases let 50 us pass before each notify so the waiter is asleep; sleeps/kicks per wake from l3l2q_sig_stats, signals only):"
		print ""
		print "| mechanism | p50 ns | p99 ns | wakes/s | sleeps/wake | kicks/wake |"
		print "|---|---:|---:|---:|---:|---:|"
		for (j = 1; j <= nm["sigwake"]; j++) {
			m = mname["sigwake", j]
			printf "| %s | %s | %s | %s | %s | %s |\n", m, swp50[m], swp99[m], rate(swr[m]), swslp[m] == "" ? "-" : swslp[m], swkick[m] == "" ? "-" : swkick[m]
		}
		print ""
	}
	if (nm["signotify"] > 0) {
		print "**Signals: notifies/s with nobody waiting** (one thread; syscalls/notify of sig_notify = kicks + sleeps of l3l2q_sig_stats, of the others 1 by construction):"
		print ""
		print "| mechanism | notifies/s | syscalls/notify | vs sig_notify |"
		print "|---|---:|---:|---:|"
		for (j = 1; j <= nm["signotify"]; j++) {
			m = mname["signotify", j]
			r = ("sig_notify" in snr) && snr[m] + 0 > 0 ? sprintf("%.1fx slower", snr["sig_notify"] / snr[m]) : "-"
			if (m == "sig_notify") r = "1"
			printf "| %s | %s | %s | %s |\n", m, rate(snr[m]), snsys[m], r
		}
		print ""
	}
	if (nic > 0) {
		for (i = 1; i <= nicb; i++) for (j = i + 1; j <= nicb; j++)
			if (icb[j] + 0 < icb[i] + 0) { t = icb[i]; icb[i] = icb[j]; icb[j] = t }
		print "**Instructions per message** (callgrind, one thread, fill/drain loop of both sides, Ir(200 000) - Ir(100 000) over 100 000: tools/bench/icount.sh; does not depend on the machine'"'"'s speed):"
		print ""
		printf "| mechanism |"; for (i = 1; i <= nicb; i++) printf " %s B |", icb[i]
		printf " vs rte_ring at 64 B |\n"
		printf "|---|"; for (i = 1; i <= nicb; i++) printf "---:|"; print "---:|"
		for (j = 1; j <= nic; j++) {
			m = icm[j]
			printf "| %s |", m
			for (i = 1; i <= nicb; i++)
				printf " %s |", ((m, icb[i]) in ic) ? ic[m, icb[i]] : "-"
			r = ("rte_ring" SUBSEP "64") in ic && ((m, "64") in ic) ? sprintf("%.2f", ic[m, "64"] / ic["rte_ring", "64"]) : "-"
			printf " %s |\n", r
		}
		print ""
	}
	print "**Targets** (ratio = median over repetitions of the per-repetition ratio):"
	print ""
	print "| target | l3l2q | baseline | bytes | ratio | min..max over repetitions | goal | status |"
	print "|---|---|---|---:|---:|---:|---:|---|"
	for (i = 1; i <= nr; i++)
		printf "| %s | %s | %s | %s | %.3f | %.2f..%.2f | %s | **%s** |\n", rn[i], rm[i], rb[i], rby[i], rr[i], rlo[i], rhi[i], rg[i], rs[i]
}' "$res" > "$out/table.md"

echo "report: $out/table.md"

# ---- the plot ------------------------------------------------------------
if command -v gnuplot >/dev/null 2>&1; then
	dat="$out/throughput.dat"
	# One block per mechanism: size, msgs/s, GB/s (gnuplot "index").
	awk '
	/^kind=(stream|bstream|memcpy) / {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			f[kv[1]] = kv[2]
		}
		name = f["mech"] (f["kind"] == "bstream" ? " (blocking)" : "")
		if (!(name in seen)) { seen[name] = ++n; names[n] = name }
		line[name] = line[name] sprintf("%s %s %s\n", f["bytes"], f["msgs_per_s"], f["gb_per_s"])
	}
	END {
		for (i = 1; i <= n; i++) printf "\"%s\"\n%s\n\n", names[i], line[names[i]]
	}' "$res" > "$dat"
	nblocks=$(grep -c '^"' "$dat" || true)
	gnuplot <<EOF
set terminal pngcairo size 1400,600 noenhanced font "sans,10"
set output "$out/throughput.png"
set multiplot layout 1,2 title "l3l2q-bench: streaming throughput against message size ($(sed -n 's/^kind=meta .*\(commit=[^ ]*\).*/\1/p' "$res" | head -1))"
set key left bottom
set logscale y
set grid
set xtics ("0" 0, "64" 1, "4 KiB" 2, "64 KiB" 3)
set xrange [-0.3:3.3]
sz(b) = b == 0 ? 0 : (b == 64 ? 1 : (b == 4096 ? 2 : (b == 65536 ? 3 : log(b)/log(64))))
set xlabel "message size (bytes)"
set ylabel "messages per second"
plot for [i=0:$nblocks-1] "$dat" index i using (sz(\$1)):2 with linespoints title columnheader(1)
set ylabel "GB/s (payload)"
set key left top
plot for [i=0:$nblocks-1] "$dat" index i using (sz(\$1)):(\$1 > 0 ? \$3 : 1/0) with linespoints title columnheader(1)
unset multiplot
EOF
	echo "report: $out/throughput.png"
else
	echo "report: no gnuplot (make bench-deps); no PNG" >&2
fi

# ---- the document --------------------------------------------------------
if [ "$doc" = 1 ]; then
	perf="$root/docs/performance.md"
	awk -v tbl="$out/table.md" '
	/<!-- results:begin -->/ {
		print
		while ((getline l < tbl) > 0) print l
		skip = 1
		next
	}
	/<!-- results:end -->/ { skip = 0 }
	!skip { print }
	' "$perf" > "$perf.tmp" && mv "$perf.tmp" "$perf"
	cp "$res" "$root/docs/bench-results.txt"
	if [ -f "$out/throughput.png" ]; then
		cp "$out/throughput.png" "$root/docs/throughput.png"
	fi
	echo "report: updated docs/performance.md, docs/bench-results.txt, docs/throughput.png"
fi
