#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test VM (see run-vm.sh): mount what a test needs, run the
# command found in the results share, record its status, power off.
# Nothing here may print WARNING:, BUG: or Oops: the console is checked.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm 2>/dev/null
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
# A writable /tmp. When the repository itself lives under /tmp (a CI
# clone), keep it visible at the same path through a bind mount.
case "$repo/" in
/tmp/*)
	mkdir -p /run/repo
	mount --bind "$repo" /run/repo
	mount -t tmpfs tmpfs /tmp
	mkdir -p "$repo"
	mount --bind /run/repo "$repo"
	;;
*)
	mount -t tmpfs tmpfs /tmp
	;;
esac

# Real filesystems on the runner's virtio disks, in the order it attaches
# them: vda xfs, vdb ext4, vdc btrfs. A missing disk or mkfs is no error:
# the tests that need a filesystem skip when /run/fs/NAME is not mounted.
fsdev=(vda vdb vdc)
fsname=(xfs ext4 btrfs)
for i in 0 1 2; do
	dev=/dev/${fsdev[$i]} fs=${fsname[$i]}
	[ -b "$dev" ] && command -v "mkfs.$fs" > /dev/null || continue
	mkdir -p "/run/fs/$fs"
	case $fs in
	xfs) mkfs.xfs -q -f "$dev" ;;
	ext4) mkfs.ext4 -q -F "$dev" ;;
	btrfs) mkfs.btrfs -q -f "$dev" ;;
	esac > /dev/null 2>&1 && mount -t "$fs" "$dev" "/run/fs/$fs" ||
		rmdir "/run/fs/$fs"
done

mkdir -p /run/results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 results /run/results
export RESULTS=/run/results

echo "guest-init: running: $(cat /run/results/.cmd)" > /dev/console
cd "$repo" || exit 1
bash -c "$(cat /run/results/.cmd)" > /run/results/output 2>&1 < /dev/null
status=$?
echo "$status" > /run/results/.status
sync
echo "guest-init: status $status" > /dev/console
echo o > /proc/sysrq-trigger
sleep 10
