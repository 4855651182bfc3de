#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the bench VM (make bench): page exchange against its
# alternatives, then kcontigd on the adversarial fragmentation of DESIGN.md.
# Results go to $RESULTS (copied to bench/results/ by make bench).
#
#   run.sh BINDIR [SCENARIO...]
#
# With SCENARIOs, runs only those: exchange copy anon_holes anon_holes_1024
# thp_1024 busy_owner pagecache idle (make bench ONLY="...").
set -uo pipefail
bin=$1
shift
only=" $* "
want() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]]; }
k=/sys/kernel/mm/kcontigd
out=$RESULTS/bench.txt
# "key value" lines, turned into $RESULTS/bench.json at the end
vals=$RESULTS/values.txt
: > "$vals"
record() { echo "$1 $2" >> "$vals"; }

{
echo "# kcontigd benchmarks, $(uname -r), $(nproc) vCPUs (QEMU TCG), $(date -u +%F)"
echo
if want exchange; then
	echo "## exchange (64 MiB, node 0)"
	numactl --membind=0 --cpunodebind=0 "$bin/exchange_bench" 64
	echo
fi
if want copy; then
	echo "## copy loops of this CPU (copy_mc_to_kernel() is rep movsb with ERMS)"
	"$bin/copy_bench"
	echo
fi
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
counter_names="pages_exchanged pages_migrated pages_failed thp_split reanchors
	       occupants_evacuated alloc_contig_calls"
counters_snap() {
	for c in $counter_names; do
		snap[$c]=$(cat $k/$c)
	done
}
# Prints what changed; with a key, records it as KEY_COUNTER too.
counters() {
	local c d
	printf 'kcontigd counters:'
	for c in $counter_names; do
		d=$(( $(cat $k/$c) - ${snap[$c]} ))
		printf ' %s=%s' $c $d
		[ -n "${1:-}" ] && record "${1}_$c" $d
	done
	echo
}
# What contig_demo printed ($1), as KEY_* values of the results.
record_demo() {
	local key=$2
	# kcontigd's time: until every page was in place, or else (holes
	# left) until the vma was done; the ratio is move_pages' time over it.
	awk -v k="$key" '
		/^all .* pages in place after/ { placed = 1 }
		/^time [0-9.]+ s,/ { t = $2 }
		/^move_pages to node/ { for (i = 1; i <= NF; i++)
			if ($i == "s,") mp = $(i - 1) }
		/^after:/ { sub("R99=", "", $NF); print k "_r99_after", $NF }
		/^  \/proc\/self\/contig: .* state=/ {
			for (i = 1; i <= NF; i++) if ($i ~ /^holes=/) {
				sub("holes=", "", $i); holes = $i } }
		/data check:/ { print k "_data_ok", ($0 ~ /check: ok/) ? 1 : 0 }
		END {
			print k "_all_in_place", placed + 0
			print k "_holes_after", holes + 0
			if (t != "") print k "_kcontigd_s", t
			if (mp != "") print k "_move_pages_s", mp
			if (t > 0 && mp != "")
				printf "%s_vs_move_pages %.2f\n", k, mp / t
		}
	' "$1" >> "$vals"
}

# One kcontigd run: contig_demo ARGS... on node 0, its output recorded
# under KEY, with kcontigd's counters.
run_demo() {
	local key=$1
	shift
	counters_snap
	numactl --membind=0 --cpunodebind=0 "$bin/contig_demo" "$@" |
		tee /run/demo.out
	counters "$key"
	record_demo /run/demo.out "$key"
}

want anon_holes &&
for batch in 1 64; do
	echo "## kcontigd: 256 MiB populated from 4 KiB holes (node 0), migration batch $batch"
	echo $batch > /sys/kernel/debug/kcontigd_batch
	fragment_node0
	run_demo anon_holes_256_batch$batch 256 600 --move-pages 1
	unfragment
	echo
done

if want anon_holes_1024; then
	echo "## kcontigd: 1 GiB populated from 4 KiB holes (node 0)"
	fragment_node0
	run_demo anon_holes_1024 1024 900 --move-pages 1
	unfragment
	echo
fi

if want thp_1024; then
	echo "## kcontigd: 1 GiB of transparent huge pages (node 0)"
	run_demo thp_1024 1024 900 --thp --move-pages 1
	echo
fi

# The busy owner of issue 11: after madvise() the owner goes on reading
# its pagemap and mapping and unmapping 512 KiB every 100 ms.
if want busy_owner; then
	echo "## kcontigd: 256 MiB from 4 KiB holes (node 0), the owner busy"
	fragment_node0
	run_demo busy_owner 256 600 --busy --move-pages 1
	unfragment
	echo
fi

# Target frames that hold page cache: node 0 holds a 1536 MiB file of FS
# with every other page dropped (1 cached page in 16 dirty again), its
# free 2 MiB blocks taken by huge pages, and the buffer faults into the
# holes between the cached pages. The anchor then lies on page cache,
# which exchange does not swap with anon memory: kcontigd must evacuate
# it (occupants_evacuated) rather than free frame after frame
# (alloc_contig_calls).
node0_free_mib() {
	awk '/MemFree/ {print int($4 / 1024)}' /sys/devices/system/node/node0/meminfo
}
start_filler() {	# output file, then fragment's arguments
	local o=$1
	shift
	rm -f "$o"
	numactl --membind=0 --cpunodebind=0 "$bin/fragment" "$@" > "$o" &
	fillers+=($!)
	while ! grep -q ready "$o" 2>/dev/null; do
		kill -0 $! 2>/dev/null || return 1
		sleep 0.2
	done
}
pagecache_case() {
	local fs=$1 dir=/run/fs/$1 thp_defrag proactive fillers=()
	if [ ! -w "$dir" ]; then
		echo "## $fs page cache: /run/fs/$fs not mounted, skipped"
		return
	fi
	echo "## kcontigd: 256 MiB whose target frames hold $fs page cache (node 0)"
	sync
	echo 3 > /proc/sys/vm/drop_caches
	echo 1 > /sys/devices/system/node/node0/compact
	start_filler /run/cache.out --file "$dir/bench-cache" 1536 ||
		{ echo "fragment --file failed"; return; }
	thp_defrag=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/defrag)
	proactive=$(cat /proc/sys/vm/compaction_proactiveness)
	echo never > /sys/kernel/mm/transparent_hugepage/defrag
	echo 0 > /proc/sys/vm/compaction_proactiveness
	start_filler /run/thp.out --thp $(( $(node0_free_mib) + 2 )) &&
		echo "node 0: 768 MiB of $fs page cache between 4 KiB holes;" \
		     "$(grep thp /run/thp.out) in huge pages; $(node0_free_mib) MiB free"
	run_demo pagecache_$fs 256 600 --move-pages 1
	kill "${fillers[@]}" 2>/dev/null
	wait "${fillers[@]}" 2>/dev/null
	echo "$thp_defrag" > /sys/kernel/mm/transparent_hugepage/defrag
	echo "$proactive" > /proc/sys/vm/compaction_proactiveness
	echo
}
echo 64 > /sys/kernel/debug/kcontigd_batch
if want pagecache; then
	pagecache_case ext4
	pagecache_case xfs
fi

if want idle; then
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
	record idle_cpu_percent "$(awk -v t=$((t1 - t0)) -v hz=$hz 'BEGIN {printf "%.3f", 100 * t / hz / 60}')"
	kill $demo 2>/dev/null || true
fi
} 2>&1 | tee "$out"

# The results, machine-readable: stable keys, the kernel and the machine.
python3 - "$vals" "$RESULTS/bench.json" <<'EOF'
import json, os, platform, sys, time

results = {}
for line in open(sys.argv[1]):
    key, _, val = line.strip().partition(" ")
    try:
        results[key] = float(val) if "." in val else int(val)
    except ValueError:
        results[key] = val
mem_kib = int(open("/proc/meminfo").read().split()[1])
nodes = [d for d in os.listdir("/sys/devices/system/node")
         if d.startswith("node") and d[4:].isdigit()]
json.dump({
    "schema": 1,
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "kernel": platform.release(),
    "machine": {"cpus": os.cpu_count(), "mem_mib": mem_kib // 1024,
                "numa_nodes": len(nodes), "emulation": "QEMU TCG"},
    "results": results,
}, open(sys.argv[2], "w"), indent=1, sort_keys=True)
EOF
exit 0

