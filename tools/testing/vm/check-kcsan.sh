#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-kcsan: boot the KCSAN kernel (configs/kcsan.config), run the
# kcontigd selftests that exercise concurrency in it, and sort the data
# races KCSAN reported on the console:
#
#   ours    a frame of the report is in kcontigd's code (mem_defrag.c,
#           exchange.c: functions kcontigd_*, contig_*, exchange_*,
#           mem_defrag_*): each fails the run
#   kernel  the rest of the kernel's races, listed with their count
#
#   check-kcsan.sh BZIMAGE SELFTEST_DIR
#
# Ends with "N passed, N failed, N skipped" (selftest cases, plus one
# result for the absence of races of ours).

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
kernel=$1
selftests=$2
name=kcsan
# Concurrency: the thread and its knobs, exchange under stress, the
# engine with several processes and lifetime events, the mm bits.
runs=(
	"kcontigd_thread"
	"exchange_stress"
	"kcontigd_defrag -t anon_from_holes -t eight_processes_disjoint_anchors -t lifetime_events_mid_run -t busy_owner_no_full_sleeps"
	"madv_contig"
)
cmd="echo 4 > /proc/sys/vm/nr_hugepages;"
for r in "${runs[@]}"; do
	bin=${r%% *}
	cmd+=" timeout -k 5 ${KCSAN_TEST_TIMEOUT:-600} \"$selftests/$bin\" ${r#"$bin"} > \"\$RESULTS/$bin.tap\" 2>&1;"
done
cmd+=" true"

echo "check-kcsan: booting ${kernel#"$repo"/}"
start=$(date +%s)
"$here/run-vm.sh" --kernel "$kernel" --timeout ${KCSAN_TIMEOUT:-2400} --name "$name" -- "$cmd"
rc=$?
echo "check-kcsan: guest exit $rc after $(( $(date +%s) - start )) s" \
	"(125: a report in the console, sorted below)"
dir=$repo/build/vm/$name
console=$dir/console.log

pass=0 fail=0 skip=0
for r in "${runs[@]}"; do
	bin=${r%% *}
	tap=$dir/results/$bin.tap
	if [ ! -s "$tap" ]; then
		echo "FAIL $bin # no TAP output"
		fail=$((fail + 1))
		continue
	fi
	p=$(grep -cE '^ok [0-9]+ [^#]*$' "$tap")
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$tap")
	f=$(grep -cE '^not ok [0-9]+' "$tap")
	grep -E '^not ok [0-9]+' "$tap" | sed "s/^/FAIL $bin: /"
	grep -q '^# Totals:' "$tap" || { echo "FAIL $bin # no totals"; f=$((f + 1)); }
	echo "$bin: $p passed, $f failed, $s skipped"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
case $rc in
0|125) ;;
*) echo "FAIL guest # run-vm exit $rc, see $dir/"; fail=$((fail + 1)) ;;
esac

# One report: from "BUG: KCSAN:" to the next line of '='.
ours_re='^ *(kcontigd|contig_|exchange_|mem_defrag)'
sed -E 's/^\[ *[0-9.]+\] //' "$console" | awk -v ours="$ours_re" '
	/BUG: KCSAN:/ { title = $0; sub(/.*BUG: KCSAN: /, "", title); in_r = 1; mine = 0; next }
	in_r && /^=+$/ { print (mine ? "ours" : "kernel") "\t" title; in_r = 0; next }
	in_r && $0 ~ ours { mine = 1 }
' > "$dir/races.txt"
nours=$(grep -c '^ours' "$dir/races.txt")
nkernel=$(grep -c '^kernel' "$dir/races.txt")
echo "KCSAN reports: $nours with a frame in kcontigd's code, $nkernel elsewhere" \
	"(details in $console)"
grep '^ours' "$dir/races.txt" | cut -f2 | sort | uniq -c | sed 's/^/  ours:   /'
grep '^kernel' "$dir/races.txt" | cut -f2 | sort | uniq -c | sort -rn | head -20 |
	sed 's/^/  kernel: /'
if [ "$nours" = 0 ]; then
	pass=$((pass + 1))
	echo "ok   kcsan.no_races_in_kcontigd"
else
	fail=$((fail + 1))
	echo "FAIL kcsan.no_races_in_kcontigd"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
