#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the bench VM (make bench): page exchange against its
# alternatives, then kcontigd on the adversarial fragmentation of DESIGN.md.
# Results go to $RESULTS (copied to bench/results/ by make bench).
#
#   run.sh BINDIR
set -uo pipefail
bin=$1
k=/sys/kernel/mm/kcontigd
out=$RESULTS/bench.txt

{
echo "# kcontigd benchmarks, $(uname -r), $(nproc) vCPUs (QEMU TCG), $(date -u +%F)"
echo
echo "## exchange (64 MiB, node 0)"
numactl --membind=0 --cpunodebind=0 "$bin/exchange_bench" 64
echo
echo "## copy loops of this CPU (copy_mc_to_kernel() is rep movsb with ERMS)"
"$bin/copy_bench"
echo
echo 10 > $k/scan_sleep_millisecs
echo 65536 > $k/pages_to_scan

# Fill node 0 but for 300 MiB and free every other page: nearly all free
# memory of node 0 is then in 4 KiB holes.
frag=
fragment_node0() {
	local mib=$(( $(awk '/MemFree/ {print int($4 / 1024)}' /sys/devices/system/node/node0/meminfo) - 300 ))
	rm -f /run/frag.out
	numactl --membind=0 --cpunodebind=0 "$bin/fragment" $mib > /run/frag.out &
	frag=$!
	while ! grep -q ready /run/frag.out 2>/dev/null; do sleep 0.2; done
	echo "fragmented node 0: $mib MiB populated, every other page freed;" \
	     "$(awk '/MemFree/ {print int($4 / 1024)}' /sys/devices/system/node/node0/meminfo) MiB free"
}
unfragment() {
	kill $frag 2>/dev/null || true
	wait $frag 2>/dev/null || true
	frag=
}
# kcontigd's counters: snapshot, then what changed since.
declare -A snap
counters_snap() {
	for c in pages_exchanged pages_migrated pages_failed thp_split reanchors; do
		snap[$c]=$(cat $k/$c)
	done
}
counters() {
	printf 'kcontigd counters:'
	for c in pages_exchanged pages_migrated pages_failed thp_split reanchors; do
		printf ' %s=%s' $c $(( $(cat $k/$c) - ${snap[$c]} ))
	done
	echo
}

for batch in 1 64; do
	echo "## kcontigd: 256 MiB populated from 4 KiB holes (node 0), migration batch $batch"
	echo $batch > /sys/kernel/debug/kcontigd_batch
	fragment_node0
	counters_snap
	numactl --membind=0 --cpunodebind=0 "$bin/contig_demo" 256 600 --move-pages 1
	counters
	unfragment
	echo
done

echo "## kcontigd: 1 GiB populated from 4 KiB holes (node 0)"
fragment_node0
counters_snap
numactl --membind=0 --cpunodebind=0 "$bin/contig_demo" 1024 900 --move-pages 1
counters
unfragment
echo

echo "## kcontigd: 1 GiB of transparent huge pages (node 0)"
counters_snap
numactl --membind=0 --cpunodebind=0 "$bin/contig_demo" 1024 900 --thp --move-pages 1
counters
echo

echo "## kcontigd idle cost: registered, done vma, 60 s"
"$bin/contig_demo" 64 300 > /dev/null &
demo=$!
sleep 30
pid=$(pgrep -x kcontigd)
t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep 60
t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
hz=$(getconf CLK_TCK)
echo "kcontigd CPU over 60 s: $(( t1 - t0 )) ticks of 1/$hz s = $(awk -v t=$((t1 - t0)) -v hz=$hz 'BEGIN {printf "%.3f%%", 100 * t / hz / 60}')"
kill $demo 2>/dev/null || true
} 2>&1 | tee "$out"
exit 0
