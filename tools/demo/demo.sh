#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM (make demo): fragment node 0's free memory into 4 KiB
# holes, populate a buffer from them, and show what MADV_CONTIG does to it.
#
#   demo.sh BINDIR [MiB]
set -euo pipefail
bin=${1:-build/demo}
mib=${2:-256}
k=/sys/kernel/mm/kcontigd

echo "kernel: $(uname -r), $(nproc) CPUs, $(ls -d /sys/devices/system/node/node* | wc -l) NUMA nodes"
echo "kcontigd: enabled=$(cat $k/enabled) running=$(cat $k/running)"
echo 10 > $k/scan_sleep_millisecs

# Fill node 0 and free every other page: only 4 KiB holes remain free.
numactl --membind=0 --cpunodebind=0 "$bin/fragment" 1200 > /run/fragment.out &
frag=$!
trap 'kill $frag 2>/dev/null' EXIT
while ! grep -q ready /run/fragment.out 2>/dev/null; do sleep 0.2; done
echo "fragmented node 0: $(awk '/MemFree/ {print $4, $5}' /sys/devices/system/node/node0/meminfo) free, in 4 KiB holes"
echo

numactl --membind=0 --cpunodebind=0 "$bin/contig_demo" "$mib" 300 --move-pages 1
echo
for c in pages_exchanged pages_migrated pages_failed anchors reanchors full_scans; do
	printf '%s=%s ' "$c" "$(cat $k/$c)"
done
echo
