#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the guest: run the 6.12 mm selftests of upstream-mm.list in one
# column of make check-upstream.
#
#   guest-upstream.sh MODE MMDIR ADVISOR [quick|NAME,...] [REPEAT]
#
# MODE is "upstream" (unpatched kernel), "disabled" (kcontigd off) or
# "active" (kcontigd on, scan sleep 10 ms, ADVISOR re-advising every
# private writable mapping of every process every 100 ms). With "quick",
# only the list's quick: entries run; with a comma-separated list of
# names, only those, each REPEAT times (default 1) in a row, for the
# rare failures. Writes one line per test (and run) to
# $RESULTS/upstream-MODE.txt:
#   NAME pass|fail|skip|timeout EXIT SECS ok=N fail=N skip=N
# (the counts are of the test's own TAP lines), and the test's output to
# $RESULTS/upstream-MODE/NAME.log.

set -u
mode=$1 mmdir=$2 advisor=$3 only=${4:-} repeat=${5:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$RESULTS/upstream-$mode.txt
logs=$RESULTS/upstream-$mode
mkdir -p "$logs"
: > "$out"

knobs=/sys/kernel/mm/kcontigd
case $mode in
upstream) [ -d $knobs ] && { echo "guest-upstream: kcontigd in the unpatched kernel?" >&2; exit 1; } ;;
disabled) echo 0 > $knobs/enabled ;;
active)
	echo 1 > $knobs/enabled
	echo 10 > $knobs/scan_sleep_millisecs
	"$advisor" 100 > "$logs/advisor.log" 2>&1 &
	advisor_pid=$!
	;;
*) echo "guest-upstream: MODE is upstream, disabled or active" >&2; exit 2 ;;
esac

# As run_vmtests.sh: THP for the thp tests, KSM and uffd for everyone.
echo always > /sys/kernel/mm/transparent_hugepage/enabled
echo 1 > /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null
ulimit -l unlimited 2>/dev/null
# A few hugetlb pages, as run_vmtests.sh reserves (migration's htlb cases).
echo 16 > /proc/sys/vm/nr_hugepages
# Swap, as a real machine has (the khugepaged swap-in cases need it).
if id=$(cat /sys/class/zram-control/hot_add 2>/dev/null); then
	echo 1G > /sys/block/zram$id/disksize &&
		mkswap /dev/zram$id > /dev/null && swapon /dev/zram$id ||
		echo "guest-upstream: no zram swap" >&2
fi

# Some tests create files in their working directory: a copy on ext4.
work=/run/fs/ext4/mm-selftests
rm -rf "$work" && cp -a "$mmdir" "$work" && cd "$work" || exit 1
while read -r name timeout cmd; do
	case $name in ''|'#'*) continue ;; esac
	quick=0
	case $name in quick:*) quick=1; name=${name#quick:} ;; esac
	case $only in
	'') ;;
	quick) [ $quick = 0 ] && continue ;;
	*) [[ ",$only," == *",$name,"* ]] || continue ;;
	esac
	for ((run = 1; run <= repeat; run++)); do
		log=$logs/$name.log
		[ "$repeat" -gt 1 ] && log=$logs/$name.$run.log
		start=$(date +%s)
		# shellcheck disable=SC2086 # the command line is split on purpose
		timeout -k 5 "$timeout" $cmd > "$log" 2>&1 < /dev/null
		rc=$?
		secs=$(( $(date +%s) - start ))
		# khugepaged exits with its number of failures: 4 is not a skip.
		case $rc in
		0) verdict=pass ;;
		4) verdict=skip
		   grep -q -E '^not ok |Fail' "$log" && verdict=fail ;;
		124|137) verdict=timeout ;;
		*) verdict=fail ;;
		esac
		ok=$(grep -c '^ok ' "$log")
		skip=$(grep -c '^ok .*# SKIP' "$log")
		notok=$(grep -c '^not ok ' "$log")
		printf '%s %s %s %s ok=%s fail=%s skip=%s\n' "$name" "$verdict" "$rc" \
			"$secs" "$((ok - skip))" "$notok" "$skip" | tee -a "$out"
	done
done < "$here/upstream-mm.list"

if [ "$mode" = active ]; then
	kill -TERM "$advisor_pid"
	wait "$advisor_pid"
	echo "advisor exit $?" >> "$logs/advisor.log"
	cat "$logs/advisor.log"
	for f in exchanged migrated; do
		[ -r $knobs/pages_$f ] && echo "kcontigd pages_$f $(cat $knobs/pages_$f)"
	done
	grep -E 'kcontigd|exchange' /proc/vmstat
fi
exit 0
