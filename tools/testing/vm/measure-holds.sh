#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM: the longest mmap-lock hold of one kcontigd visit
# (kcontigd_scan_mm's hold_us) and the longest contig_anchor_lock hold of
# one zone's candidate ranking (kcontigd_candidates' hold_us), in two
# scenarios: a 1 GiB vma in fragmented memory on node 0, and 2048 one-page
# vmas of one user (the limits selftest, ~490 anchors).
#
#   measure-holds.sh DEMO_DIR SELFTEST_DIR
set -u
demo=$1 selftests=$2
T=/sys/kernel/tracing K=/sys/kernel/mm/kcontigd

report() {
	awk -v what="$1" '
	/kcontigd_scan_mm:/ { n++; for (i = 1; i <= NF; i++) {
		if ($i ~ /^hold_us=/) { v = substr($i, 9) + 0; if (v > m) m = v; s += v }
		if ($i ~ /^nr_vmas=/) { w = substr($i, 9) + 0; if (w > mv) mv = w } } }
	/kcontigd_candidates:/ { c++; for (i = 1; i <= NF; i++) {
		if ($i ~ /^hold_us=/) { v = substr($i, 9) + 0; if (v > cm) cm = v }
		if ($i ~ /^candidates=/) { v = substr($i, 12) + 0; if (v > cc) cc = v } } }
	END { printf "%s: %d visits (up to %d vmas), mmap lock held max %d us, mean %d us; %d rankings (up to %d candidates), contig_anchor_lock held max %d us\n",
		what, n, mv, m, n ? s / n : 0, c, cc, cm }' "$T/trace"
}

start_trace() {
	echo 0 > "$T/tracing_on"
	echo > "$T/trace"
	echo 32768 > "$T/buffer_size_kb"
	echo 1 > "$T/events/kcontigd/kcontigd_scan_mm/enable"
	echo 1 > "$T/events/kcontigd/kcontigd_candidates/enable"
	echo 1 > "$T/tracing_on"
}

echo 100 > "$K/scan_sleep_millisecs"
start_trace
numactl --membind=0 --cpunodebind=0 "$demo/fragment" 600 > /run/fragment.out &
frag=$!
for i in $(seq 300); do grep -q ready /run/fragment.out 2>/dev/null && break; sleep 0.2; done
numactl --membind=0 --cpunodebind=0 "$demo/contig_demo" 1024 300 | tail -3
kill "$frag"; wait "$frag" 2>/dev/null
echo 0 > "$T/tracing_on"
report "1 GiB vma, fragmented node 0"

start_trace
"$selftests/limits" -t one_page_vmas_leave_room 2>&1 | grep -E '^(ok|not ok|#.*limits.c)'
echo 0 > "$T/tracing_on"
report "2048 one-page vmas"
dmesg | grep -E 'WARNING|BUG|hung' | head -5
exit 0
