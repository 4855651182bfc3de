#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: boot the check kernel (DEBUG_VM, lockdep, panic_on_warn),
# run the KUnit suites and the kselftests in it, check that the runner
# itself catches kernel warnings and hangs, and print one summary line:
#
#   N passed, N failed, N skipped
#
#   check.sh BZIMAGE SELFTEST_DIR [CONTIGCTL_DIR [MM_SELFTESTS ADVISOR]]
#
# With MM_SELFTESTS (the built 6.12 mm selftests) and ADVISOR
# (contig_everyone), also runs the quick: subset of upstream-mm.list with
# every process's memory under kcontigd (make check-upstream runs all).
#
# Environment (make check-debug sets them for its slower kernel):
#   CHECK_NAME          prefix of the VM run names (build/vm/NAME-check/...)
#   CHECK_APPEND        more kernel command line for the test boots
#   CHECK_TEST_TIMEOUT  seconds per kselftest binary (1500)
#   CHECK_TORTURE_SECS  seconds of the torture selftest's churn (its own 90)
#   CHECK_VM_TIMEOUT    seconds for the main boot (3000)
#   CHECK_TRINITY_SECS  seconds of trinity (60), CHECK_TRINITY_SEED its seed (1)
# A kernel with kmemleak gets a scan after the tests: a leaked object
# allocated in kcontigd's code fails the run, the kernel's others are
# listed.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
kernel=$1
selftests=$2
contigctl=${3:-}
mm_selftests=${4:-}
advisor=${5:-}
[ -n "$contigctl" ] && contigctl=$(cd "$contigctl" && pwd)
vm=$here/run-vm.sh
prefix=${CHECK_NAME:+$CHECK_NAME-}
append=${CHECK_APPEND:-}
test_timeout=${CHECK_TEST_TIMEOUT:-1500}
vm_timeout=${CHECK_VM_TIMEOUT:-3000}

pass=0
fail=0
skip=0
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT

result() {	# result ok|fail|skip NAME [DETAIL]
	case "$1" in
	ok) pass=$((pass + 1)); echo "ok   $2" ;;
	skip) skip=$((skip + 1)); echo "skip $2${3:+ # $3}" ;;
	*) fail=$((fail + 1)); echo "FAIL $2${3:+ # $3}" ;;
	esac
}

# Count the test cases of one TAP file. kselftest_harness prints one
# "ok N name" / "not ok N name" line per test at column 0; KUnit prints
# its cases indented under each suite's line.
tap_count() {	# tap_count FILE PREFIX INDENTED(0|1)
	local file=$1 prefix=$2 indented=$3 re line name
	if [ "$indented" = 1 ]; then
		re='^ +(not ok|ok) [0-9]+ ([^#]*)(# .*)?$'
	else
		re='^(not ok|ok) [0-9]+ ([^#]*)(# .*)?$'
	fi
	local log=()
	while IFS= read -r line; do
		if ! [[ $line =~ $re ]]; then
			[[ $line == "#  RUN "* ]] && log=()
			log+=("$line")
			continue
		fi
		name="$prefix${BASH_REMATCH[2]% }"
		if [[ ${BASH_REMATCH[3]:-} == "# SKIP"* ]]; then
			result skip "$name" "${BASH_REMATCH[3]#\# SKIP }"
		elif [ "${BASH_REMATCH[1]}" = ok ]; then
			result ok "$name"
		else
			result fail "$name"
			# What the test said, repeated at the end of the run.
			{
				echo "--- $name"
				printf '%s\n' "${log[@]}" | tail -n 30
			} >> "$failures"
		fi
		log=()
	done < "$file"
}

echo "check: booting ${kernel#"$repo"/}"

# 0. Host-side unit tests of contigctl's parsing and statistics.
if [ -n "$contigctl" ]; then
	out=$(make -s -C "$repo/tools/contigctl" OUTPUT="$contigctl/" test 2>&1)
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		pass=$((pass + p))
		fail=$((fail + f))
		echo "contigctl host tests: $line"
		[ "$f" = 0 ] || printf '%s\n' "$out" | grep -i fail | head -5
	else
		result fail "contigctl.host_tests" "no summary line"
	fi
fi

# A guest boot that must end with status WANT: TEST WANT TIMEOUT NAME
# EXTRA_APPEND CMD; the runner's messages are shown when it does not.
expect_boot() {
	local test=$1 want=$2 secs=$3 name=$4 extra=$5 cmd=$6 err rc

	err=$("$vm" --kernel "$kernel" --timeout "$secs" --name "$prefix$name" \
		${extra:+--append "$extra"} -- "$cmd" 2>&1 > /dev/null)
	rc=$?
	if [ "$rc" = "$want" ]; then
		result ok "$test"
	else
		result fail "$test" "exit $rc, expected $want"
		printf '%s\n' "$err" | sed 's/^/  /'
	fi
}

# 1. The runner must fail a run whose console shows a kernel warning,
# 2. ... must kill and report a guest that hangs,
# 3. ... and must pass on the command's failure status.
expect_boot runner.fails_on_console_warning 125 300 runner-warning "$append" \
	'echo "WARNING: CPU: 0 PID: 1 at runner self-test" > /dev/kmsg'
expect_boot runner.kills_hung_guest 124 60 runner-hang "$append" 'sleep 100000'
expect_boot runner.returns_command_status 7 300 runner-status "$append" 'exit 7'

# 4. kcontigd=off on the command line: the thread does not start, the
# knob reads 0 and the boot log says so; enabling it starts the thread.
expect_boot boot.kcontigd_off 0 300 boot-off "kcontigd=off${append:+ $append}" \
	'k=/sys/kernel/mm/kcontigd; [ "$(cat $k/enabled)" = 0 ] && [ "$(cat $k/running)" = 0 ] &&
	 dmesg | grep -q "kcontigd: disabled (kcontigd=off)" && echo 1 > $k/enabled &&
	 [ "$(cat $k/running)" = 1 ]'

# 5. KUnit and kselftests, in one boot of the debug kernel.
"$vm" --kernel "$kernel" --timeout "$vm_timeout" --name "${prefix}check" \
	${append:+--append "$append"} -- \
	"TEST_TIMEOUT=$test_timeout ${CHECK_TORTURE_SECS:+TORTURE_SECS=$CHECK_TORTURE_SECS }$here/guest-check.sh" \
	"$selftests" ${contigctl:+"$contigctl"}
rc=$?
results=$repo/build/vm/${prefix}check/results
[ "$rc" = 0 ] && result ok "vm.clean_console_and_exit" ||
	result fail "vm.clean_console_and_exit" "run-vm exit $rc, see build/vm/${prefix}check/"

# kmemleak's scan after the tests: objects allocated in kcontigd's code.
if [ -f "$results/kmemleak.txt" ]; then
	leaks=$(grep -c '^unreferenced object' "$results/kmemleak.txt")
	ours=$(awk '/^unreferenced object/ { if (o) n++; o = 0 }
		/(mem_defrag|exchange|kcontigd|contig_)[a-z_]*\+0x/ { o = 1 }
		END { if (o) n++; print n + 0 }' "$results/kmemleak.txt")
	echo "kmemleak: $leaks unreferenced objects, $ours allocated in kcontigd's code"
	[ "$ours" = 0 ] && result ok "kmemleak.none_of_ours" ||
		result fail "kmemleak.none_of_ours" "$ours, see $results/kmemleak.txt"
fi

if [ -s "$results/kunit.tap" ]; then
	tap_count "$results/kunit.tap" "kunit." 1
else
	result fail "kunit.results" "no KUnit results in debugfs"
fi
tests=()
for t in "$selftests"/*; do
	[ -x "$t" ] && [ -f "$t" ] && [ "$(basename "$t")" != device_memory ] &&
		tests+=("$(basename "$t")")
done
[ -n "$contigctl" ] && tests+=(contigctl_test)
for n in "${tests[@]}"; do
	if [ ! -s "$results/$n.tap" ]; then
		result fail "$n" "no TAP output"
		continue
	fi
	before=$((pass + fail + skip))
	tap_count "$results/$n.tap" "$n." 0
	[ $((pass + fail + skip)) -gt "$before" ] ||
		result fail "$n" "no test result in its TAP output"
	grep -q '^# Totals:' "$results/$n.tap" ||
		result fail "$n.completed" "ended before its totals (crash or timeout)"
done

# 4b. Device memory, in a boot of its own: test_hmm's coherent devices
# need two reserved 256 MiB physical ranges (one per node, below each
# node's end; the firmware's tables sit at the top of node 0's).
if [ -x "$selftests/device_memory" ]; then
	devmem='memmap=256M$0x60000000 memmap=256M$0x170000000'
	devmem+=' test_hmm.spm_addr_dev0=0x60000000'
	devmem+=' test_hmm.spm_addr_dev1=0x170000000'
	"$vm" --kernel "$kernel" --timeout "$vm_timeout" --name "${prefix}devmem" \
		--append "$devmem${append:+ $append}" -- \
		"\"$selftests/device_memory\" > \"\$RESULTS/device_memory.tap\" 2>&1"
	rc=$?
	[ "$rc" = 0 ] && result ok "devmem.clean_console_and_exit" ||
		result fail "devmem.clean_console_and_exit" \
			"run-vm exit $rc, see build/vm/${prefix}devmem/"
	res=$repo/build/vm/${prefix}devmem/results/device_memory.tap
	if [ -s "$res" ]; then
		tap_count "$res" "device_memory." 0
	else
		result fail "device_memory" "no TAP output"
	fi
fi

# 4d. Page cache of ext4, xfs and btrfs on the targets (issue 11), in a
# boot of its own (see guest-check.sh): the anchor must land on a file's
# cache, whose occupants kcontigd evacuates in batches. Then MAP_SHARED
# and MAP_PRIVATE mappings of files on each. Nodes of 4 GiB, as in make
# bench: node 0 then has a ZONE_NORMAL above ZONE_DMA32, the file's cache
# lands in the higher zone and the huge pages fill the lower one, whose
# ranges come first when kcontigd chooses an anchor.
if [ -x "$selftests/kcontigd_defrag" ]; then
	"$vm" --kernel "$kernel" --timeout "$vm_timeout" --name "${prefix}pagecache" --node-mem 4G \
		${append:+--append "$append"} -- \
		"\"$selftests/kcontigd_defrag\" -t pagecache_ext4 -t pagecache_xfs -t pagecache_btrfs -t file_mappings_ext4 -t file_mappings_xfs -t file_mappings_btrfs > \"\$RESULTS/pagecache.tap\" 2>&1"
	rc=$?
	[ "$rc" = 0 ] && result ok "pagecache.clean_console_and_exit" ||
		result fail "pagecache.clean_console_and_exit" \
			"run-vm exit $rc, see build/vm/${prefix}pagecache/"
	res=$repo/build/vm/${prefix}pagecache/results/pagecache.tap
	if [ -s "$res" ]; then
		tap_count "$res" "kcontigd_defrag." 0
	else
		result fail "pagecache" "no TAP output"
	fi
fi

# 4c. trinity on the vm syscalls as nobody, memory under kcontigd, in a
# boot of its own (a fixed seed: the same calls on every run).
if [ -n "$advisor" ] && command -v trinity > /dev/null; then
	"$vm" --kernel "$kernel" --timeout 900 --name "${prefix}trinity" \
		${append:+--append "$append"} -- \
		"TRINITY_SEED=${CHECK_TRINITY_SEED:-1} $here/guest-trinity.sh" \
		"$advisor" "${CHECK_TRINITY_SECS:-60}"
	rc=$?
	[ "$rc" = 0 ] && result ok "trinity.clean_console_and_exit" ||
		result fail "trinity.clean_console_and_exit" \
			"run-vm exit $rc, see build/vm/${prefix}trinity/"
	grep -E '^(trinity seed|Ran|advisor|pages_|full_scans)' \
		"$repo/build/vm/${prefix}trinity/results/trinity.txt" 2>/dev/null |
		sed 's/^/  /'
fi

# 6. The quick upstream mm selftests, memory under kcontigd.
if [ -n "$mm_selftests" ]; then
	"$vm" --kernel "$kernel" --timeout 1200 --name upstream-quick -- \
		"$here/guest-upstream.sh" active "$mm_selftests" "$advisor" quick
	rc=$?
	[ "$rc" = 0 ] && result ok "upstream-quick.clean_console_and_exit" ||
		result fail "upstream-quick.clean_console_and_exit" \
			"run-vm exit $rc, see build/vm/upstream-quick/"
	res=$repo/build/vm/upstream-quick/results/upstream-active.txt
	[ -s "$res" ] || result fail "upstream-quick.results" "none"
	while read -r name v rc_ secs counts; do
		case $v in
		pass) result ok "upstream.$name" ;;
		skip) result skip "upstream.$name" "$counts" ;;
		*) result fail "upstream.$name" "$v, exit $rc_, ${secs}s, $counts" ;;
		esac
	done < <(cat "$res" 2>/dev/null)
fi

if [ -s "$failures" ]; then
	echo "--- the failed tests' own output"
	cat "$failures"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
