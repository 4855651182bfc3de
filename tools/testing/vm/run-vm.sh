#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel under QEMU (TCG) with the host's root file system shared
# read-only over virtio-9p, run one command in it and power off.
#
#   run-vm.sh --kernel BZIMAGE [--timeout SECS] [--name NAME] [--show]
#             [--append ARGS] [--node-mem SIZE] [--cpus 2|4] -- CMD...
#
# The guest has two NUMA nodes of SIZE each (default 2G, QEMU syntax)
# with one vCPU each, or two each with --cpus 4 (the upstream migration
# tests want three or more CPUs; under TCG more vCPUs than host cores
# only slow each other down, so 2 is the default),
# and three empty sparse virtio disks (build/vm/NAME/disk-*.img, 2 GiB
# each) that guest-init.sh formats as xfs, ext4 and btrfs and mounts on
# /run/fs/{xfs,ext4,btrfs}.
# CMD runs as root with the repository as its working directory and
# $RESULTS pointing at a writable directory shared with the host
# (build/vm/NAME/results). Its stdout and stderr go to
# build/vm/NAME/output (and to this terminal with --show); the full
# console log is build/vm/NAME/console.log.
#
# Exit status: CMD's status if the guest was clean; otherwise 124 for a
# timeout (guest killed), 125 for a kernel splat in the console (WARNING:,
# BUG:, Oops, lockdep, KASAN, panic), 126 when the guest died before
# reporting a status.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)

kernel=
timeout=600
name=vm
show=0
append=
node_mem=2G
cpus=2
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--show) show=1; shift ;;
	--append) append=$2; shift 2 ;;
	--node-mem) node_mem=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "run-vm: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$kernel" ] || [ ! -f "$kernel" ]; then
	echo "run-vm: no kernel image (--kernel): '$kernel'" >&2
	exit 2
fi
if [ $# -eq 0 ]; then
	echo "run-vm: no command given" >&2
	exit 2
fi

dir=$repo/build/vm/$name
rm -rf "$dir"
mkdir -p "$dir/results"
printf '%s\n' "$*" > "$dir/results/.cmd"
console=$dir/console.log

case "$node_mem" in
[1-9]*[MG]) ;;
*) echo "run-vm: --node-mem wants a size like 2G or 512M: '$node_mem'" >&2; exit 2 ;;
esac
case "$cpus" in
2) node_cpus=(0 1) ;;
4) node_cpus=(0-1 2-3) ;;
*) echo "run-vm: --cpus wants 2 or 4: '$cpus'" >&2; exit 2 ;;
esac
disks=()
for fs in xfs ext4 btrfs; do
	truncate -s 2G "$dir/disk-$fs.img"
	disks+=(-drive "file=$dir/disk-$fs.img,format=raw,if=virtio,cache=unsafe")
done
qemu_args=(
	-machine q35 -cpu max -accel tcg
	-smp "$cpus,sockets=2,cores=$((cpus / 2)),threads=1" -m "$(( ${node_mem%[MG]} * 2 ))${node_mem: -1}"
	-object "memory-backend-ram,id=m0,size=$node_mem"
	-object "memory-backend-ram,id=m1,size=$node_mem"
	-numa node,nodeid=0,cpus=${node_cpus[0]},memdev=m0
	-numa node,nodeid=1,cpus=${node_cpus[1]},memdev=m1
	-kernel "$kernel"
	-append "console=ttyS0 root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=524288,cache=loose ro init=$here/guest-init.sh panic=-1 panic_on_warn=1 oops=panic softlockup_panic=1 loglevel=5 $append"
	-fsdev local,id=rootfs,path=/,readonly=on,security_model=none,multidevs=remap
	-device virtio-9p-pci,fsdev=rootfs,mount_tag=rootfs
	-fsdev "local,id=results,path=$dir/results,security_model=none"
	-device virtio-9p-pci,fsdev=results,mount_tag=results
	"${disks[@]}"
	-display none -monitor none -serial "file:$console"
	-no-reboot
)

start=$(date +%s)
set +e
if [ "$show" = 1 ]; then
	: > "$dir/results/output"
	tail -n +1 -F "$dir/results/output" 2>/dev/null &
	tailpid=$!
fi
timeout -k 10 "$timeout" qemu-system-x86_64 "${qemu_args[@]}" < /dev/null > "$dir/qemu.log" 2>&1
qrc=$?
[ "$show" = 1 ] && { sleep 0.5; kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null; }
set -e
elapsed=$(( $(date +%s) - start ))

cp "$dir/results/output" "$dir/output" 2>/dev/null || : > "$dir/output"
rm -f "$dir"/disk-*.img

# Kernel splats fail the run whatever the command returned.
splat='WARNING:|BUG:|Oops|Kernel panic|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|lockdep|KASAN:|UBSAN:|INFO: task .* blocked|general protection fault|Call Trace:'
if grep -Eq "$splat" "$console"; then
	echo "run-vm: kernel splat in $console:" >&2
	grep -E -m 5 "$splat" "$console" | sed 's/^/  /' >&2
	# The first one in context: CI shows nothing but this output.
	echo "run-vm: the first splat in context:" >&2
	first=$(grep -En -m 1 "$splat" "$console" | cut -d: -f1)
	sed -n "$(( first > 5 ? first - 5 : 1 )),$(( first + 40 ))p" "$console" |
		sed 's/^/  | /' >&2
	exit 125
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "run-vm: guest timed out after ${timeout}s (killed); console: $console" >&2
	tail -5 "$console" | sed 's/^/  /' >&2
	exit 124
fi
if [ ! -s "$dir/results/.status" ]; then
	echo "run-vm: guest reported no status (qemu exit $qrc, ${elapsed}s); console: $console" >&2
	tail -15 "$console" | sed 's/^/  /' >&2
	exit 126
fi
status=$(cat "$dir/results/.status")
echo "run-vm: '$*' exited $status in ${elapsed}s (console: ${console#"$repo"/})" >&2
exit "$status"
