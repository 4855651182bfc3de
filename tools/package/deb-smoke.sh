#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the packaged kernel the way a Debian machine starts it and check
# that kcontigd works there:
#  - vmlinuz and the modules come out of the linux-image .deb in DEBDIR;
#  - the initramfs is made by initramfs-tools' mkinitramfs from those
#    modules (as the package's postinst hook does on install), in a
#    private mount namespace so that nothing is installed on this host;
#  - the root is an ext4 block device (virtio) holding busybox, contigctl
#    unpacked from its .deb, and the demo programs;
#  - its /sbin/init fragments memory, runs contig_demo on 256 MiB (the
#    MADV_CONTIG request, then R99 after) and contigctl status, and
#    powers off. The run passes when the console shows R99 <= 4, a clean
#    data check, a working contigctl status and no kernel splat.
#
#   deb-smoke.sh DEBDIR DEMO_BIN_DIR WORKDIR [TIMEOUT]

set -euo pipefail

if [ $# -lt 3 ]; then
	echo "usage: deb-smoke.sh DEBDIR DEMO_BIN_DIR WORKDIR [TIMEOUT]" >&2
	exit 2
fi
debdir=$(cd "$1" && pwd) demo=$(cd "$2" && pwd) work=$3 timeout=${4:-900}

image='' ctl=''
for f in "$debdir"/linux-image-*.deb; do
	case "$f" in *-dbg_*) continue ;; esac
	[ -f "$f" ] && image=$f && break
done
for f in "$debdir"/contigctl_*.deb; do
	[ -f "$f" ] && ctl=$f && break
done
if [ -z "$image" ] || [ -z "$ctl" ]; then
	echo "deb-smoke: no linux-image or contigctl package in $debdir (make deb)" >&2
	exit 2
fi
rm -rf "$work"
mkdir -p "$work/kernel" "$work/root"
work=$(cd "$work" && pwd)

# The kernel package's files, as dpkg would install them.
dpkg-deb -x "$image" "$work/kernel"
release=
for d in "$work/kernel/lib/modules"/*; do
	[ -d "$d" ] && release=$(basename "$d") && break
done
vmlinuz=$work/kernel/boot/vmlinuz-$release
[ -f "$vmlinuz" ] || { echo "deb-smoke: no $vmlinuz in $image" >&2; exit 1; }
[ -f "$work/kernel/lib/modules/$release/modules.dep" ] ||
	depmod -b "$work/kernel" "$release"

# mkinitramfs reads /lib/modules/RELEASE and /boot/config-RELEASE: show it
# the package's, in a mount namespace of its own.
unshare -m bash -eu -c '
	k=$1 rel=$2 out=$3
	mkdir -p /lib/modules /boot
	mount --bind "$k/lib/modules" /lib/modules
	mount --bind "$k/boot" /boot
	mkinitramfs -o "$out" "$rel"
' _ "$work/kernel" "$release" "$work/initrd.img" 2> "$work/mkinitramfs.log" || {
	cat "$work/mkinitramfs.log" >&2
	echo "deb-smoke: mkinitramfs failed" >&2
	exit 1
}

# The root file system: busybox, contigctl's package, the demo programs,
# each with the shared libraries it needs.
r=$work/root
mkdir -p "$r"/{bin,sbin,proc,sys,dev,run,tmp,usr/lib}
dpkg-deb -x "$ctl" "$r"
cp /bin/busybox "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cp "$demo/contig_demo" "$demo/fragment" "$r/bin/"
for bin in "$r/bin/busybox" "$r/usr/sbin/contigctl" "$r/bin/contig_demo" "$r/bin/fragment"; do
	ldd "$bin" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
done
# Debian 12 is merged-/usr: /lib and /lib64 are links into /usr.
for d in lib lib64; do
	if [ -d "$r/$d" ] && [ ! -L "$r/$d" ]; then
		mkdir -p "$r/usr/$d"
		cp -a "$r/$d/." "$r/usr/$d/"
		rm -rf "${r:?}/$d"
	fi
	[ -e "$r/usr/$d" ] && ln -s "usr/$d" "$r/$d"
done
cat > "$r/sbin/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev 2>/dev/null
$bb mount -t tmpfs run /run
$bb mount -t tmpfs tmp /tmp
$bb mount -t debugfs debugfs /sys/kernel/debug
echo "SMOKE: kernel $($bb uname -r), cmdline $(cat /proc/cmdline)"
echo "SMOKE: kcontigd enabled=$(cat /sys/kernel/mm/kcontigd/enabled 2>&1)"
# Every other page of most of memory taken: only 4 KiB holes stay free.
fragment 1400 > /run/fragment.out &
frag=$!
n=0
while ! $bb grep -q ready /run/fragment.out && [ $n -lt 600 ]; do
	$bb sleep 1; n=$((n + 1))
done
contig_demo 256 600 > /run/demo.out 2>&1
echo "SMOKE: contig_demo exit $?"
$bb sed 's/^/SMOKE: demo: /' /run/demo.out
kill $frag
contigctl status > /run/status.out 2>&1
echo "SMOKE: contigctl status exit $?"
$bb sed 's/^/SMOKE: status: /' /run/status.out
echo "SMOKE: done"
$bb sync
$bb poweroff -f
EOF
chmod 0755 "$r/sbin/init"
truncate -s 512M "$work/root.img"
mkfs.ext4 -q -F -L root -d "$r" "$work/root.img"

console=$work/console.log
echo "deb-smoke: booting $release (initramfs $(( $(stat -c %s "$work/initrd.img") / 1024 )) KiB) from an ext4 root"
start=$(date +%s)
set +e
timeout -k 10 "$timeout" qemu-system-x86_64 -machine q35 -cpu max -accel tcg \
	-smp 2 -m 2G -kernel "$vmlinuz" -initrd "$work/initrd.img" \
	-append "root=/dev/vda rootfstype=ext4 rw console=ttyS0 panic=-1 panic_on_warn=1 oops=panic" \
	-drive "file=$work/root.img,format=raw,if=virtio,cache=unsafe" \
	-display none -monitor none -serial "file:$console" -no-reboot \
	< /dev/null > "$work/qemu.log" 2>&1
qrc=$?
set -e
echo "deb-smoke: guest ran $(( $(date +%s) - start )) s (qemu exit $qrc); console: $console"
grep '^SMOKE:' "$console" | tr -d '\r' || true

fail=0
splat='WARNING:|BUG:|Oops|Kernel panic|KASAN:|UBSAN:|general protection fault|Call Trace:'
if grep -Eq "$splat" "$console"; then
	echo "deb-smoke: kernel splat:" >&2
	grep -E -m 5 "$splat" "$console" >&2
	fail=1
fi
grep -q '^SMOKE: done' "$console" || { echo "deb-smoke: the guest did not finish" >&2; fail=1; }
r99=$(tr -d '\r' < "$console" | sed -n 's/^SMOKE: demo: after: .*R99=\([0-9]*\).*/\1/p')
before=$(tr -d '\r' < "$console" | sed -n 's/^SMOKE: demo: before: .*R99=\([0-9]*\).*/\1/p')
if [ -z "$r99" ] || [ "$r99" -gt 4 ]; then
	echo "deb-smoke: R99 after MADV_CONTIG is '${r99:-none}', not <= 4" >&2
	fail=1
fi
grep -q '^SMOKE: demo: time .*data check: ok' <(tr -d '\r' < "$console") ||
	{ echo "deb-smoke: the demo's data check did not pass" >&2; fail=1; }
grep -q '^SMOKE: contigctl status exit 0' <(tr -d '\r' < "$console") ||
	{ echo "deb-smoke: contigctl status failed" >&2; fail=1; }
if [ "$fail" = 0 ]; then
	echo "deb-smoke: ok: $release booted from its own initramfs, R99 ${before:-?} -> $r99 on 256 MiB, contigctl status works"
fi
exit "$fail"
