#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make torture: the torture selftest alone, for a long time, in the check
# kernel (DEBUG_VM, lockdep, panic_on_warn). Prints its figures and one
# summary line:
#
#   N passed, N failed
#
#   torture.sh BZIMAGE SELFTEST_DIR SECONDS [PROCS]

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
kernel=$1
selftests=$2
secs=$3
procs=${4:-4}

case $secs in
'' | *[!0-9]*) echo "torture: DURATION must be whole seconds, not '$secs'" >&2; exit 2 ;;
esac
case $procs in
'' | *[!0-9]* | 0) echo "torture: PROCS must be a positive number, not '$procs'" >&2; exit 2 ;;
esac

echo "torture: $procs processes for $secs s in ${kernel#"$repo"/}"
"$here/run-vm.sh" --kernel "$kernel" --timeout $((secs + 900)) --name torture -- \
	"TORTURE_SECS=$secs TORTURE_PROCS=$procs \"$selftests/torture\" > \"\$RESULTS/torture.tap\" 2>&1"
rc=$?
tap=$repo/build/vm/torture/results/torture.tap
pass=0
fail=0
[ "$rc" = 0 ] && pass=$((pass + 1)) ||
	{ fail=$((fail + 1)); echo "FAIL vm.clean_console_and_exit # run-vm exit $rc, see build/vm/torture/"; }
if [ -s "$tap" ]; then
	grep -E '^#  +(RUN|OK|FAIL)|^# +torture\.c|^#.*(processes for|ops |forks |anchors )' "$tap"
	if grep -q '^ok 1 ' "$tap"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL torture.churn"
	fi
else
	fail=$((fail + 1))
	echo "FAIL torture.churn # no TAP output"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
