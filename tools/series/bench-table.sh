#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The summary table of one bench/results/bench-*.txt (bench/run.sh's
# report) for the series' cover letter: per scenario, kcontigd's time
# and throughput against move_pages(2) of the same buffer, same boot;
# then the exchange microbenchmark's ops/s.
#
#   bench-table.sh FILE

set -euo pipefail

awk '
BEGIN {
	printf "%-44s %8s %11s %s\n", "kcontigd", "time", "throughput", "vs move_pages"
}
/^## / {
	sect = substr($0, 4)
	sub(/^kcontigd: /, "", sect)
	sub(/populated /, "", sect)
	sub(/ \(node [0-9]+\)/, "", sect)
	next
}
/^time [0-9.]+ s, [0-9.]+ MiB\/s/ {
	t = $2; mibs = $4
}
/^kcontigd \/ move_pages throughput:/ {
	printf "%-44s %6s s %5s MiB/s %s\n", sect, t, mibs, $NF
}
/^(exchange_4k_bounce|exchange_thp|move_pages_to_node1) / {
	micro[++m] = sprintf("%-24s %8s ops/s %7s MiB/s", $1, $3, $4)
}
END {
	if (m) {
		print ""
		print "exchange microbenchmark (64 MiB):"
		for (i = 1; i <= m; i++)
			print "  " micro[i]
	}
}' "$1"
