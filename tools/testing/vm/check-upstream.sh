#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-upstream: the kernel's own mm selftests (6.12, unmodified)
# in three columns, one guest boot each:
#   upstream  the unpatched kernel, same config
#   disabled  the patched kernel with kcontigd off
#   active    the patched kernel, every process's memory under kcontigd
# Fails when a test that passes in the first column does not pass in
# another, or when any boot shows a kernel splat.
#
#   check-upstream.sh UPSTREAM_BZIMAGE CHECK_BZIMAGE MMDIR ADVISOR [ROUNDS]
#
# ROUNDS (default 1) repeats the three columns, for tests that fail
# rarely; a test then counts as passing in a column only if it passed in
# every round.

set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
upstream_img=$1 check_img=$2 mmdir=$3 advisor=$4 rounds=${5:-1}
vmdir=$repo/build/vm
cols=(upstream disabled active)
declare -A verdict detail
status=0

for ((r = 1; r <= rounds; r++)); do
	for col in "${cols[@]}"; do
		img=$check_img
		[ "$col" = upstream ] && img=$upstream_img
		echo "check-upstream: round $r, column $col"
		"$here/run-vm.sh" --kernel "$img" --timeout 3000 --cpus 4 \
			--name "upstream-$col" -- \
			"$here/guest-upstream.sh" "$col" "$mmdir" "$advisor"
		rc=$?
		if [ $rc != 0 ]; then
			echo "check-upstream: column $col: guest exit $rc (see build/vm/upstream-$col/console.log)" >&2
			status=1
		fi
		res=$vmdir/upstream-$col/results/upstream-$col.txt
		[ -f "$res" ] || { echo "check-upstream: no results for $col" >&2; status=1; continue; }
		while read -r name v _ secs counts; do
			key=$col/$name
			prev=${verdict[$key]:-}
			# Worst verdict over the rounds.
			if [ -z "$prev" ] || [ "$prev" = pass ] ||
			   { [ "$prev" = skip ] && [ "$v" != pass ]; }; then
				verdict[$key]=$v
			fi
			detail[$key]="${detail[$key]:-}${detail[$key]:+,}${secs}s"
			[ "$r" = 1 ] && [ "$col" = upstream ] && names+=("$name")
		done < "$res"
		mkdir -p "$repo/build/upstream-results"
		cp "$res" "$repo/build/upstream-results/round$r-$col.txt"
		cp -r "$vmdir/upstream-$col/results/upstream-$col" \
			"$repo/build/upstream-results/round$r-$col" 2>/dev/null
		grep -h 'contig_everyone\|kcontigd pages' \
			"$vmdir/upstream-$col/results/output" 2>/dev/null
	done
done

printf '\n%-26s %-10s %-10s %-10s\n' test upstream disabled active
regressions=0
for name in "${names[@]}"; do
	up=${verdict[upstream/$name]:-none}
	dis=${verdict[disabled/$name]:-none}
	act=${verdict[active/$name]:-none}
	mark=
	if [ "$up" = pass ] && { [ "$dis" != pass ] || [ "$act" != pass ]; }; then
		mark='  <- regression'
		regressions=$((regressions + 1))
	fi
	printf '%-26s %-10s %-10s %-10s%s\n' "$name" "$up" "$dis" "$act" "$mark"
done
echo
echo "check-upstream: ${#names[@]} tests, $rounds round(s), $regressions regression(s)"
[ $regressions = 0 ] || status=1
exit $status
