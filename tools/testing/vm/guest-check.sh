#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the check VM (see check.sh): collects the KUnit results of
# the built-in suites and runs every kselftest binary in SELFTEST_DIR,
# writing one TAP file per suite into $RESULTS.
#
#   guest-check.sh SELFTEST_DIR [CONTIGCTL_DIR]
#
# With CONTIGCTL_DIR, also runs contigctl_test.sh against the contigctl
# and contig_target built there.

set -uo pipefail

dir=$1
contigctl=${2:-}
tests=()
# device_memory needs reserved physical ranges: check.sh boots it alone.
for t in "$dir"/*; do
	[ -x "$t" ] && [ -f "$t" ] && [ "$(basename "$t")" != device_memory ] &&
		tests+=("$(basename "$t")")
done

# KUnit suites ran at boot; debugfs keeps their TAP results.
: > "$RESULTS/kunit.tap"
for r in /sys/kernel/debug/kunit/*/results; do
	[ -f "$r" ] && { cat "$r"; echo; } >> "$RESULTS/kunit.tap"
done

# Room for hugetlb tests; restored by nothing (the VM is thrown away).
echo 4 > /proc/sys/vm/nr_hugepages 2>/dev/null

# Extra arguments per test binary. The page-cache cases run in a boot of
# their own (check.sh): the anchor they need, on a file's page cache, is
# only there when earlier tests have not scattered kernel memory on node 0;
# the file-mapping cases, on the same filesystems, run there too.
declare -A test_args=(
	[kcontigd_defrag]="-T pagecache_ext4 -T pagecache_xfs -T pagecache_btrfs
			   -T file_mappings_ext4 -T file_mappings_xfs
			   -T file_mappings_btrfs"
)
# Copies TAP through, with each case's duration as a comment after its
# result line: what makes the boot long, for whoever trims it.
timed() {
	local line t0 t
	t0=$(date +%s)
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		'ok '*|'not ok '*)
			t=$(date +%s)
			echo "# took $((t - t0)) s"
			t0=$t ;;
		esac
	done
}
for t in "${tests[@]}"; do
	echo "=== $t"
	# shellcheck disable=SC2086 # split on purpose
	timeout -k 5 "${TEST_TIMEOUT:-900}" "$dir/$t" ${test_args[$t]:-} 2>&1 |
		timed > "$RESULTS/$t.tap"
	echo "=== $t exit ${PIPESTATUS[0]}"
	tail -1 "$RESULTS/$t.tap"
done

if [ -n "$contigctl" ]; then
	echo "=== contigctl_test"
	timeout -k 5 "${TEST_TIMEOUT:-900}" bash tools/testing/selftests/mem_defrag/contigctl_test.sh \
		"$contigctl/contigctl" "$contigctl/contig_target" \
		> "$RESULTS/contigctl_test.tap" 2>&1
	echo "=== contigctl_test exit $?"
fi

# A kmemleak kernel: what the tests left unreferenced. Objects must be
# unreferenced for a few seconds (min age) before a scan reports them.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$RESULTS/kmemleak.txt"
fi
exit 0
