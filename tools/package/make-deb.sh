#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian packages of kcontigd, in OUT:
#  - the kernel (make bindeb-pkg: linux-image, linux-headers, linux-libc-dev)
#    built from Debian's own 6.12 configuration of FLAVOUR, as the
#    linux-config-6.12 package ships it, plus CONFIG_MEM_DEFRAG=y and the
#    local version -kcontigd-FLAVOUR;
#  - contigctl (its man pages, MADV_CONTIG's too, and bpftrace scripts).
#
#   make-deb.sh SRC OBJ OUT FLAVOUR
#
# SRC is the patched tree (make tree), OBJ the kernel's object directory.
# One change to Debian's configuration besides MEM_DEFRAG and the local
# version: debug info is off unless DEB_DEBUG_INFO=1 (it makes a -dbg
# package of about 1 GiB and doubles the build time; BTF goes with it,
# which contigctl's bpftrace scripts do not need). Modules are not
# signed, as in any rebuild of Debian's kernel (its key is not public).
# Incremental: the configuration is rewritten only when its inputs change.
# DEB_CONFIG_ONLY=1 stops once the configuration is made.

set -euo pipefail

if [ $# -ne 4 ]; then
	echo "usage: make-deb.sh SRC OBJ OUT FLAVOUR" >&2
	exit 2
fi
src=$1 obj=$2 out=$3 flavour=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cfgdir=/usr/src/linux-config-6.12
cfg=$cfgdir/config.amd64_none_$flavour.xz
jobs=${JOBS:-$(nproc)}

if [ ! -f "$cfg" ]; then
	echo "make-deb: no Debian configuration for flavour '$flavour' ($cfg)" >&2
	echo "make-deb: flavours here:" \
		"$(ls "$cfgdir" 2>/dev/null | sed -n 's/^config\.amd64_none_\(.*\)\.xz$/\1/p' | xargs)" >&2
	exit 2
fi
case "${DEB_DEBUG_INFO:-0}" in
0|1) ;;
*) echo "make-deb: DEB_DEBUG_INFO is 0 or 1, not '$DEB_DEBUG_INFO'" >&2; exit 2 ;;
esac

mkdir -p "$obj" "$out"
kmake() {
	make -C "$src" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs" "$@"
}

# The wanted configuration: Debian's, with our changes.
want=$obj/.config.want
xzcat "$cfg" > "$want.tmp"
cfgtool() { "$src/scripts/config" --file "$want.tmp" "$@"; }
cfgtool --enable MEM_DEFRAG --set-str LOCALVERSION "-kcontigd-$flavour" \
	--disable LOCALVERSION_AUTO
if [ "${DEB_DEBUG_INFO:-0}" = 0 ]; then
	cfgtool --disable DEBUG_INFO --disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT \
		--disable DEBUG_INFO_DWARF4 --disable DEBUG_INFO_DWARF5 \
		--disable DEBUG_INFO_BTF --disable DEBUG_INFO_BTF_MODULES \
		--enable DEBUG_INFO_NONE
fi
if ! cmp -s "$want.tmp" "$want" || [ ! -f "$obj/.config" ]; then
	cp "$want.tmp" "$obj/.config"
	kmake olddefconfig > /dev/null
	mv "$want.tmp" "$want"
else
	rm -f "$want.tmp"
fi
if ! grep -qx 'CONFIG_MEM_DEFRAG=y' "$obj/.config"; then
	echo "make-deb: CONFIG_MEM_DEFRAG did not stay on in $obj/.config" >&2
	exit 1
fi
echo "make-deb: Debian's $flavour configuration + MEM_DEFRAG;" \
	"debug info $([ "${DEB_DEBUG_INFO:-0}" = 1 ] && echo kept || echo off)"
# DEB_CONFIG_ONLY=1: stop here, to look at OBJ/.config first.
[ "${DEB_CONFIG_ONLY:-0}" = 1 ] && exit 0

# The kernel packages. dpkg-buildpackage writes them next to OBJ.
version=$(make -s -C "$src" kernelversion)
release=$version-kcontigd-$flavour
start=$(date +%s)
rm -f "$(dirname "$obj")"/linux-*_"$version"-kcontigd*
kmake bindeb-pkg KDEB_PKGVERSION="$version-kcontigd1" \
	KDEB_SOURCENAME=linux-kcontigd DEB_BUILD_OPTIONS=terse > "$obj/deb-build.log" 2>&1 || {
	tail -40 "$obj/deb-build.log" >&2
	echo "make-deb: bindeb-pkg failed; log: $obj/deb-build.log" >&2
	exit 1
}
rm -f "$out"/linux-*.deb "$out"/contigctl_*.deb
mv "$(dirname "$obj")"/linux-*_"$version"-kcontigd1_*.deb "$out"/
rm -f "$(dirname "$obj")"/linux-kcontigd_"$version"-kcontigd1_*.{buildinfo,changes}
echo "make-deb: kernel $release packaged in $(( $(date +%s) - start )) s"

# contigctl, installed into a staging tree and packaged with dpkg-deb.
stage=$obj/contigctl-pkg
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$obj/contigctl"
make -s -C "$top/tools/contigctl" OUTPUT="$obj/contigctl/"
make -s -C "$top/tools/contigctl" OUTPUT="$obj/contigctl/" install \
	DESTDIR="$stage" PREFIX=/usr
strip --strip-unneeded "$stage/usr/sbin/contigctl"
gzip -9n "$stage/usr/share/man/man8/contigctl.8" "$stage"/usr/share/man/man2/*.2const
mkdir -p "$stage/usr/share/doc/contigctl"
printf 'contigctl, part of kcontigd: GPL-2.0 (SPDX GPL-2.0),\nsee /usr/share/common-licenses/GPL-2\n' \
	> "$stage/usr/share/doc/contigctl/copyright"
# The shared libraries' packages, as dpkg-shlibdeps finds them.
mkdir -p "$obj/shlibs/debian"
printf 'Source: contigctl\n\nPackage: contigctl\nArchitecture: any\n' \
	> "$obj/shlibs/debian/control"
depends=$(cd "$obj/shlibs" && dpkg-shlibdeps -O "$stage/usr/sbin/contigctl" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
ctl_version=$version+kcontigd~g$(git -C "$top" describe --always --dirty 2>/dev/null |
	tr -- - . || echo 0)
cat > "$stage/DEBIAN/control" <<EOF
Package: contigctl
Version: $ctl_version
Architecture: $(dpkg --print-architecture)
Maintainer: kcontigd developers <kcontigd@localhost>
Depends: $depends
Recommends: bpftrace, linux-image-$release
Section: admin
Priority: optional
Description: inspect and drive kcontigd, the physical contiguity daemon
 contigctl shows how physically contiguous a process's memory is, which
 vmas kcontigd works on and their anchors, and sets kcontigd's knobs.
 Also bpftrace scripts over kcontigd's tracepoints.
EOF
dpkg-deb --root-owner-group -Zxz -b "$stage" \
	"$out/contigctl_${ctl_version}_$(dpkg --print-architecture).deb" > /dev/null

echo "make-deb: packages in ${out#"$top"/}:"
for f in "$out"/*.deb; do
	printf '  %-70s %6s KiB\n' "$(basename "$f")" "$(( $(stat -c %s "$f") / 1024 ))"
done
