#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-series: build every prefix of the posted series (make
# patches) on the pristine tree, x86_64_defconfig plus CONFIG_MEM_DEFRAG
# once the series has it; then the whole series once more with it off.
# Fails on the first prefix that does not build.
#
#   check-series.sh TARBALL PATCHES_DIR WORK_DIR
#
# A prefix that adds selftests or tools/contigctl also builds those.
# The objects stay in WORK_DIR/obj-{on,off}, so a rerun is incremental.
# Environment: JOBS (nproc), SERIES_FROM (first prefix to build, 1).

set -euo pipefail

tarball=$1
patches=$(cd "$2" && pwd)
work=$(realpath -m "$3")
jobs=${JOBS:-$(nproc)}
from=${SERIES_FROM:-1}
tree=$work/tree
top=linux-source-6.12
kmake() { make -C "$tree" O="$1" CC="ccache gcc" HOSTCC="ccache gcc" -j"$jobs" "${@:2}"; }

mapfile -t series < <(ls "$patches"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-)
[ ${#series[@]} -gt 0 ] || { echo "check-series: no patches in $patches" >&2; exit 1; }

echo "check-series: unpacking the pristine tree"
rm -rf "$tree" "$work/unpack"
mkdir -p "$work/unpack"
tar -xf "$tarball" -C "$work/unpack"
mv "$work/unpack/$top" "$tree"
rmdir "$work/unpack"

configure() {	# configure OBJ on|off
	local obj=$1
	mkdir -p "$obj"
	[ -f "$obj/.config" ] || kmake "$obj" x86_64_defconfig > /dev/null
	if [ "$2" = on ]; then
		"$tree/scripts/config" --file "$obj/.config" -e MEM_DEFRAG
	else
		"$tree/scripts/config" --file "$obj/.config" -d MEM_DEFRAG
	fi
	kmake "$obj" olddefconfig > /dev/null
}

build() {	# build OBJ LABEL PATCH
	local obj=$1 label=$2 p=$3 log=$work/build.log start=$SECONDS
	if ! kmake "$obj" bzImage > "$log" 2>&1; then
		echo "check-series: $label does not build:" >&2
		grep -E 'error|Error' "$log" | head -20 >&2
		return 1
	fi
	if grep -q '^+++ b/tools/testing/selftests/mem_defrag/' "$p"; then
		kmake "$obj" headers > "$log" 2>&1
		make -C "$tree/tools/testing/selftests/mem_defrag" \
			OUTPUT="$work/selftests" \
			KHDR_INCLUDES="-isystem $obj/usr/include" > "$log" 2>&1 ||
			{ echo "check-series: $label: selftests do not build" >&2;
			  tail -20 "$log" >&2; return 1; }
	fi
	if grep -q '^+++ b/tools/contigctl/' "$p"; then
		make -C "$tree/tools/contigctl" OUTPUT="$work/contigctl/" > "$log" 2>&1 ||
			{ echo "check-series: $label: contigctl does not build" >&2;
			  tail -20 "$log" >&2; return 1; }
	fi
	echo "check-series: $label builds ($((SECONDS - start)) s)"
}

i=0
for p in "${series[@]}"; do
	i=$((i + 1))
	patch -d "$tree" -p1 --forward --quiet < "$p" > /dev/null ||
		{ echo "check-series: $(basename "$p") does not apply" >&2; exit 1; }
	[ "$i" -ge "$from" ] || continue
	configure "$work/obj-on" on
	build "$work/obj-on" "$i/${#series[@]} $(basename "$p")" "$p"
done
configure "$work/obj-off" off
build "$work/obj-off" "the whole series with CONFIG_MEM_DEFRAG=n" /dev/null
echo "check-series: ${#series[@]} prefixes build with CONFIG_MEM_DEFRAG=y," \
	"the series builds with it off"
