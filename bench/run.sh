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
echo "## kcontigd: 256 MiB populated from 4 KiB holes (node 0)"
echo 10 > $k/scan_sleep_millisecs
echo 65536 > $k/pages_to_scan
numactl --membind=0 --cpunodebind=0 "$bin/fragment" 1200 > /run/frag.out &
frag=$!
while ! grep -q ready /run/frag.out 2>/dev/null; do sleep 0.2; done
numactl --membind=0 --cpunodebind=0 "$bin/contig_demo" 256 600
kill $frag 2>/dev/null || true
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
