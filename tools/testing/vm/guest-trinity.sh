#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a VM of its own (see check.sh): trinity, as the unprivileged
# user nobody, on the vm syscall group (mmap, munmap, mremap, mprotect,
# madvise, mlock, mbind, migrate_pages, move_pages, ...) plus
# process_madvise, for SECS seconds, while contig_everyone puts every
# process's memory, trinity's own included, under kcontigd and kcontigd
# runs with short sleeps. trinity's random madvise() values do not know
# ours; fuzz.c covers MADV_CONTIG and MADV_NOCONTIG arguments.
#
#   guest-trinity.sh ADVISOR SECS
#
# Writes $RESULTS/trinity.txt: trinity's summary, the advisor's counts and
# kcontigd's. Exits non-zero when trinity did not run; the runner fails
# the boot on any kernel warning.

set -uo pipefail

advisor=$(realpath "$1")
secs=${2:-60}
knobs=/sys/kernel/mm/kcontigd
out=$RESULTS/trinity.txt

command -v trinity > /dev/null || { echo "no trinity installed" > "$out"; exit 1; }
[ -x "$advisor" ] || { echo "no advisor $advisor" > "$out"; exit 1; }
echo 1 > $knobs/enabled
echo 50 > $knobs/scan_sleep_millisecs
echo allow > $knobs/unprivileged

# trinity wants a writable working directory for its files.
work=$(mktemp -d /dev/shm/trinity.XXXXXX)
chown nobody:nogroup "$work"
cd "$work" || exit 1

"$advisor" 100 > advisor.log 2>&1 &
advisor_pid=$!

seed=${TRINITY_SEED:-$(date +%s)}
echo "trinity seed $seed, ${secs}s" > "$out"
timeout -s INT -k 20 "$secs" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	trinity -q -l off -C 4 -s "$seed" -g vm -c process_madvise \
	--disable-fds=sockets,perf,drm > trinity.log 2>&1
rc=$?
pkill -9 -u nobody 2>/dev/null
kill -TERM "$advisor_pid" 2>/dev/null
wait "$advisor_pid"

tail -20 trinity.log >> "$out"
echo "--- advisor" >> "$out"
cat advisor.log >> "$out"
echo "--- kcontigd" >> "$out"
for f in full_scans pages_exchanged pages_migrated pages_failed anchors mms_registered; do
	echo "$f $(cat $knobs/$f)" >> "$out"
done
echo "trinity exit $rc" >> "$out"
cat "$out"
# Stopped by the timeout (124) as intended, or ended by itself: either
# way it must have printed its total.
grep -Eq 'Ran [0-9]+ syscalls' trinity.log
