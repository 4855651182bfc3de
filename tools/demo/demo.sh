#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM (make demo): fragment memory a little, then show what
# MADV_CONTIG does to a populated buffer.
set -euo pipefail
bin=${1:-build/demo/contig_demo}

echo "kernel: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, nodes: $(ls -d /sys/devices/system/node/node* | wc -l)"
echo "kcontigd: enabled=$(cat /sys/kernel/mm/kcontigd/enabled) running=$(cat /sys/kernel/mm/kcontigd/running)"
echo
"$bin" 64 3
echo
echo "kcontigd counters: full_scans=$(cat /sys/kernel/mm/kcontigd/full_scans) mms_registered=$(cat /sys/kernel/mm/kcontigd/mms_registered)"
