#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# contigctl in the test VM: every command against a known process
# (contig_target), --json checked against the truth read from pagemap and
# kpageflags, the PNG decoded, every bad input's message and exit status,
# wait with a timeout. TAP output. Run as root from the repository root:
#
#   contigctl_test.sh [CONTIGCTL [CONTIG_TARGET]]
#
# CONTIGCTL defaults to build/contigctl/contigctl, CONTIG_TARGET to
# contig_target beside it. kcontigd is disabled while the tests run (so
# that no page moves under a comparison and a pending VMA stays pending)
# and its knobs are restored at the end.

set -euo pipefail

ctl=${1:-build/contigctl/contigctl}
target=${2:-$(dirname "$ctl")/contig_target}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
bpfdir=$repo/tools/contigctl/bpftrace
sysfs=/sys/kernel/mm/kcontigd
nobody=65534

tmp=$(mktemp -d /tmp/contigctl_test.XXXXXX)
declare -A addr pages
declare -A saved_knobs
tpid=
npid=
zparent=
hugetlb_saved=

# ------------------------------------------------------------ plumbing

cleanup() {
	local k
	for p in $tpid $npid $zparent; do
		kill "$p" 2>/dev/null || true
	done
	for k in "${!saved_knobs[@]}"; do
		echo "${saved_knobs[$k]}" > "$sysfs/$k" 2>/dev/null || true
	done
	[ -z "$hugetlb_saved" ] ||
		echo "$hugetlb_saved" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# run CMD...: run it, leaving its stdout in $out, stderr in $err and exit
# status in $rc.
run() {
	set +e
	"$@" > "$tmp/out" 2> "$tmp/err"
	rc=$?
	set -e
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

ctl() {
	run "$ctl" "$@"
}

as_nobody() {
	run setpriv --reuid=$nobody --regid=$nobody --clear-groups "$@"
}

# without_kcontigd CMD...: run CMD with kcontigd's sysfs directory hidden
# under an empty tmpfs, in a mount namespace of its own.
without_kcontigd() {
	# shellcheck disable=SC2016	# expanded by the inner shell
	run unshare -m sh -c 'mount -t tmpfs none "$1" && shift && exec "$@"' \
		_ $sysfs "$@"
}

want_rc() {	# want_rc STATUS
	[ "$rc" = "$1" ] && return 0
	echo "exit status $rc, expected $1"
	[ -z "$err" ] || echo "stderr: $err"
	return 1
}

# want_err REGEX: stderr is exactly one line, "contigctl: ..." matching it.
want_err() {
	local lines
	lines=$(printf '%s' "$err" | grep -c '' || true)
	if [ "$lines" != 1 ]; then
		echo "stderr has $lines lines, expected one: $err"
		return 1
	fi
	if [[ $err != contigctl:* ]] || ! [[ $err =~ $1 ]]; then
		echo "stderr '$err' does not match 'contigctl: ...$1'"
		return 1
	fi
}

want_out() {	# want_out REGEX: some line of stdout matches
	printf '%s\n' "$out" | grep -Eq -- "$1" && return 0
	echo "stdout has no line matching '$1':"
	printf '%s\n' "$out" | head -20
	return 1
}

# expect_bad STATUS REGEX ARGS...: contigctl ARGS fails with STATUS and
# one line of error matching REGEX.
expect_bad() {
	local status=$1 regex=$2
	shift 2
	ctl "$@"
	want_rc "$status" && want_err "$regex"
}

skip_reason=
skip() {
	skip_reason=$1
	return 77
}

need_kcontigd() {
	[ -e $sysfs/enabled ] || { skip "kernel without kcontigd"; return; }
}

need_python() {
	command -v python3 > /dev/null || { skip "no python3"; return; }
}

# jget FILE EXPR: a Python expression over the JSON document j.
jget() {
	python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# start_target OUTFILE CMD...: start a contig_target, wait for "ready".
start_target() {
	local file=$1 i
	shift
	"$@" > "$file" 2>&1 &
	for i in $(seq 100); do
		grep -q '^ready' "$file" && return 0
		sleep 0.1
	done
	echo "contig_target did not start: $(cat "$file")" >&2
	return 1
}

# The truth, from /proc/PID/pagemap and /proc/kpageflags, independent of
# contigctl's code: written by this script, run with python3.
cat > "$tmp/truth.py" << 'EOF'
import json, os, struct, sys, zlib

PAGE = os.sysconf("SC_PAGE_SIZE")
KPF_ZERO_PAGE = 24

def pfns(pid, start, npages):
    """PFN per page, None where not resident (as the kernel counts)."""
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(start // PAGE * 8)
        ents = struct.unpack("%dQ" % npages, f.read(npages * 8))
    out = []
    with open("/proc/kpageflags", "rb") as kpf:
        for e in ents:
            if not e >> 63 & 1:
                out.append(None)
                continue
            pfn = e & ((1 << 55) - 1)
            kpf.seek(pfn * 8)
            flags = struct.unpack("Q", kpf.read(8))[0]
            out.append(None if flags >> KPF_ZERO_PAGE & 1 else pfn)
    return out

def runs(pl):
    """[offset, pfn, pages] per run."""
    rl = []
    for i, p in enumerate(pl):
        if p is None:
            continue
        if rl and i > 0 and pl[i - 1] is not None and p == pl[i - 1] + 1:
            rl[-1][2] += 1
        else:
            rl.append([i, p, 1])
    return rl

def stats(pid, start, npages):
    rl = runs(pfns(pid, start, npages))
    lens = sorted((r[2] for r in rl), reverse=True)
    res = sum(lens)
    r99, cov = 0, 0
    for n in lens:
        if cov * 100 >= res * 99:
            break
        cov += n
        r99 += 1
    big = lambda b: sum(n for n in lens if n * PAGE >= b) / res if res else 0
    return {"resident": res, "runs": len(rl), "largest": max(lens or [0]),
            "r99": r99, "cov64k": big(64 << 10), "cov2m": big(2 << 20),
            "cov1g": big(1 << 30), "run_list": rl}

def fail(msg):
    print(msg)
    sys.exit(1)

def check_show(doc, pid, regions):
    """Every region in the show --json output agrees with the truth."""
    vmas = {int(v["start"], 16): v for v in doc["vmas"]}
    for spec in regions:
        name, start, npages = spec.split(":")
        start, npages = int(start, 16), int(npages)
        v = vmas.get(start)
        if v is None:
            fail("%s: no VMA at %x in the output" % (name, start))
        t = stats(pid, start, npages)
        for k in ("resident", "runs", "largest", "r99"):
            if v[k] != t[k]:
                fail("%s: %s is %s, pagemap says %s" % (name, k, v[k], t[k]))
        for k in ("cov64k", "cov2m", "cov1g"):
            if abs(v[k] - t[k]) > 1e-5:
                fail("%s: %s is %s, pagemap says %s" % (name, k, v[k], t[k]))
        if v["pages"] != npages or int(v["end"], 16) != start + npages * PAGE:
            fail("%s: size %s pages, expected %d" % (name, v["pages"], npages))
        print("%s: resident %d runs %d largest %d r99 %d" %
              (name, t["resident"], t["runs"], t["largest"], t["r99"]))

def check_kernel(doc):
    """contigctl's numbers agree with kcontigd's own, where it has them."""
    seen = 0
    for v in doc["vmas"]:
        k = v["kernel"]
        if not k or k.get("state") not in ("pending", "done", "blocked"):
            continue
        for key in ("resident", "runs", "largest", "r99"):
            if key in k and k[key] != v[key]:
                fail("%s: kernel %s=%s, contigctl %s" %
                     (v["start"], key, k[key], v[key]))
        if v["state"] != k["state"] or v["in_place"] != k.get("in_place"):
            fail("%s: state/in_place not passed through" % v["start"])
        seen += 1
    if not seen:
        fail("no VMA with a kcontigd line")
    print("%d VMAs agree with /proc/PID/contig" % seen)

def check_map(doc, pid, start, npages):
    t = stats(pid, start, npages)
    view = doc["views"][0]
    got = [[r["offset"], int(r["pfn"], 16), r["pages"]] for r in view["run_list"]]
    if got != t["run_list"]:
        fail("run_list differs from pagemap (%d vs %d runs)" %
             (len(got), len(t["run_list"])))
    for k in ("resident", "runs", "largest", "r99"):
        if view[k] != t[k]:
            fail("%s is %s, pagemap says %s" % (k, view[k], t[k]))
    print("map: %d runs agree with pagemap" % len(got))

def check_png(path):
    """Decode the PNG by hand: chunks, CRCs, zlib data, size, colours."""
    d = open(path, "rb").read()
    if d[:8] != b"\x89PNG\r\n\x1a\n":
        fail("not a PNG signature")
    pos, idat, w, h = 8, b"", None, None
    while pos < len(d):
        ln, = struct.unpack(">I", d[pos:pos + 4])
        typ, body = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + ln]
        crc, = struct.unpack(">I", d[pos + 8 + ln:pos + 12 + ln])
        if zlib.crc32(typ + body) & 0xffffffff != crc:
            fail("bad CRC in chunk %s" % typ)
        if typ == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype != 2:
                fail("unexpected depth %d colour type %d" % (depth, ctype))
        elif typ == b"IDAT":
            idat += body
        elif typ == b"IEND":
            break
        pos += 12 + ln
    raw = zlib.decompress(idat)
    if w is None or len(raw) != h * (1 + 3 * w):
        fail("image data of %d bytes for %sx%s" % (len(raw), w, h))
    # Undo the filters just enough to count colours of the first pixels.
    # Python is slow under emulation: the top of the image is enough.
    colours = set()
    prev = bytearray(3 * w)
    for y in range(min(h, 120)):
        f = raw[y * (1 + 3 * w)]
        line = bytearray(raw[y * (1 + 3 * w) + 1:(y + 1) * (1 + 3 * w)])
        for x in range(3 * w):
            a = line[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        for x in range(0, 3 * w, 3):
            colours.add(bytes(line[x:x + 3]))
        prev = line
    if len(colours) < 3:
        fail("only %d colours" % len(colours))
    print("%d %d %d" % (w, h, len(colours)))

def check_status(doc):
    files = os.listdir("/sys/kernel/mm/kcontigd")
    both = dict(doc["knobs"], **doc["counters"])
    for name in files:
        if name not in both:
            fail("%s missing from the JSON" % name)
        mode = os.stat("/sys/kernel/mm/kcontigd/" + name).st_mode
        if bool(mode & 0o200) != (name in doc["knobs"]):
            fail("%s filed under the wrong heading" % name)
    for name in ("enabled", "scan_sleep_millisecs", "pages_to_scan",
                 "max_anchored_percent"):
        val = open("/sys/kernel/mm/kcontigd/" + name).read().strip()
        if str(doc["knobs"][name]) != val:
            fail("%s is %s, sysfs says %s" % (name, doc["knobs"][name], val))
    print("%d files" % len(files))

cmd = sys.argv[1]
if cmd == "show":
    check_show(json.load(open(sys.argv[2])), int(sys.argv[3]), sys.argv[4:])
elif cmd == "kernel":
    check_kernel(json.load(open(sys.argv[2])))
elif cmd == "map":
    check_map(json.load(open(sys.argv[2])), int(sys.argv[3]),
              int(sys.argv[4], 16), int(sys.argv[5]))
elif cmd == "png":
    check_png(sys.argv[2])
elif cmd == "status":
    check_status(json.load(open(sys.argv[2])))
EOF

region_specs() {	# NAME:ADDR:PAGES of every region but hugetlb
	local r
	for r in plain frag holes zero thp; do
		printf '%s:%s:%s ' "$r" "${addr[$r]}" "${pages[$r]}"
	done
}

# ------------------------------------------------------------ the tests

t_binaries() {
	[ -x "$ctl" ] || { echo "no contigctl at $ctl"; return 1; }
	[ -x "$target" ] || { echo "no contig_target at $target"; return 1; }
	ctl --version
	want_rc 0 && want_out '^contigctl ' || return
	ctl --help
	want_rc 0 && want_out '^Commands:' || return
	ctl help wait
	want_rc 0 && want_out 'Usage: contigctl wait'
}

t_target_starts() {
	local kind name a p
	start_target "$tmp/target.out" "$target" -p 1024 || return
	tpid=$(awk '$1 == "pid" { print $2 }' "$tmp/target.out")
	while read -r kind name a p; do
		if [ "$kind" = region ]; then
			addr[$name]=$a
			pages[$name]=$p
		fi
	done < "$tmp/target.out"
	addr[hole]=$(awk '$1 == "hole" { print $2 }' "$tmp/target.out")
	if [ -z "$tpid" ] || [ -z "${addr[thp]:-}" ] || [ -z "${addr[hole]}" ]; then
		cat "$tmp/target.out"
		return 1
	fi
	echo "target $tpid: $(region_specs)"
}

t_status_text() {
	need_kcontigd || return
	ctl status
	want_rc 0 && want_out '^kcontigd: (running|not running), (enabled|disabled)' &&
		want_out '^knobs:' && want_out '^  pages_to_scan +[0-9]+' &&
		want_out '^counters:' && want_out '^  full_scans +[0-9]+'
}

t_status_json() {
	need_kcontigd || return
	need_python || return
	ctl status --json
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/status.json"
	python3 "$tmp/truth.py" status "$tmp/status.json"
}

# From here on kcontigd is off: nothing moves under a comparison.
t_set_knob() {
	need_kcontigd || return
	local k old
	for k in enabled scan_sleep_millisecs pages_to_scan max_anchored_percent; do
		saved_knobs[$k]=$(cat $sysfs/$k)
	done
	old=${saved_knobs[scan_sleep_millisecs]}
	ctl set scan_sleep_millisecs=1234 pages_to_scan=777
	want_rc 0 && want_out "^scan_sleep_millisecs: $old -> 1234\$" &&
		want_out "^pages_to_scan: [0-9]+ -> 777\$" || return
	[ "$(cat $sysfs/scan_sleep_millisecs)" = 1234 ] ||
		{ echo "sysfs says $(cat $sysfs/scan_sleep_millisecs)"; return 1; }
	ctl set enabled=0
	want_rc 0 && want_out '^enabled: [01] -> 0$' || return
	ctl status
	want_out '^kcontigd: not running, disabled'
}

t_set_rejected_value() {
	need_kcontigd || return
	expect_bad 7 'rejected pages_to_scan=0 .*pages_to_scan stays 777' \
		set pages_to_scan=0 || return
	expect_bad 7 'rejected max_anchored_percent=101' \
		set max_anchored_percent=101 || return
	expect_bad 7 'rejected enabled=maybe' set enabled=maybe || return
	[ "$(cat $sysfs/pages_to_scan)" = 777 ]
}

t_set_bad_arguments() {
	need_kcontigd || return
	expect_bad 2 "unknown knob 'bogus'" set bogus=1 || return
	expect_bad 2 "'full_scans' is a read-only counter" set full_scans=1 || return
	expect_bad 2 "invalid argument 'enabled': expected KNOB=VALUE" \
		set enabled || return
	expect_bad 2 "invalid argument '../enabled=1'" set ../enabled=1 || return
	# Nothing is written when any argument is bad.
	expect_bad 2 "unknown knob" set pages_to_scan=555 nope=1 || return
	[ "$(cat $sysfs/pages_to_scan)" = 777 ]
}

t_show_text() {
	local r
	ctl show "$tpid"
	want_rc 0 && want_out "^# process $tpid \\(contig_target\\):" &&
		want_out '^START-END +SIZE +RESIDENT +RUNS +LARGEST +R99' || return
	for r in plain frag holes zero thp; do
		want_out "^${addr[$r]#0x}-[0-9a-f]+ +4M +[0-9]+ " || return
	done
}

t_show_json_vs_pagemap() {
	need_python || return
	ctl show --json "$tpid"
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/show.json"
	# shellcheck disable=SC2046
	python3 "$tmp/truth.py" show "$tmp/show.json" "$tpid" $(region_specs)
}

t_show_counts_match_layout() {
	need_python || return
	local half=$(( pages[zero] / 2 )) holes q
	holes=$(( pages[holes] - pages[holes] / 8 ))
	q="[v['resident'] for v in j['vmas'] if v['start'] == '${addr[zero]}'][0]"
	[ "$(jget "$tmp/show.json" "$q")" = "$half" ] ||
		{ echo "zero: the read-only half counted as resident"; return 1; }
	q="[v['resident'] for v in j['vmas'] if v['start'] == '${addr[holes]}'][0]"
	[ "$(jget "$tmp/show.json" "$q")" = "$holes" ] ||
		{ echo "holes: resident is not $holes"; return 1; }
	# Dropped pages end runs: at least one run per 8 pages.
	q="[v['runs'] for v in j['vmas'] if v['start'] == '${addr[holes]}'][0]"
	[ "$(jget "$tmp/show.json" "$q >= ${pages[holes]} // 8")" = True ]
}

t_show_addr() {
	need_python || return
	# An address inside the VMA, not its start.
	ctl show --json "$tpid" "$(printf '%x' $(( addr[frag] + 5 * 4096 + 7 )))"
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/one.json"
	[ "$(jget "$tmp/one.json" "[v['start'] for v in j['vmas']]")" = "['${addr[frag]}']" ]
}

t_show_all_and_min_size() {
	need_python || return
	local all some
	ctl show --json --all "$tpid"
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/all.json"
	all=$(jget "$tmp/all.json" "len(j['vmas'])")
	[ "$all" = "$(wc -l < /proc/"$tpid"/maps)" ] ||
		{ echo "--all shows $all VMAs"; return 1; }
	ctl show --json --min-size 1G "$tpid"
	printf '%s\n' "$out" > "$tmp/some.json"
	some=$(jget "$tmp/some.json" "len(j['vmas'])")
	[ "$some" = 0 ] || { echo "--min-size 1G shows $some VMAs"; return 1; }
}

t_show_histogram() {
	need_python || return
	local q
	ctl show --histogram --json "$tpid" "${addr[holes]}"
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/hist.json"
	q="sum(b['runs'] for b in j['vmas'][0]['histogram']) == j['vmas'][0]['runs']"
	q+=" and sum(b['pages'] for b in j['vmas'][0]['histogram']) == j['vmas'][0]['resident']"
	[ "$(jget "$tmp/hist.json" "$q")" = True ] ||
		{ echo "histogram does not add up"; return 1; }
	ctl show --histogram "$tpid" "${addr[holes]}"
	want_rc 0 && want_out '^ +run length \(pages\) +runs +pages +share'
}

t_map_text() {
	ctl map "$tpid" "${addr[frag]}"
	want_rc 0 && want_out '^virtual, cell = [0-9]+ pages?' &&
		want_out '^physical, cell = [0-9]+ frames?' &&
		want_out '^pfn 0x[0-9a-f]+-0x[0-9a-f]+$' &&
		want_out '^runs [0-9]+ largest [0-9]+ R99 [0-9]+$' || return
	if printf '%s' "$out" | grep -q $'\033'; then
		echo "colour escapes on a pipe"
		return 1
	fi
	ctl map --color=always "$tpid" "${addr[plain]}"
	want_rc 0 || return
	printf '%s' "$out" | grep -q $'\033\\[' ||
		{ echo "no colour with --color=always"; return 1; }
}

t_map_color_on_tty() {
	command -v script > /dev/null || { skip "no script(1)"; return; }
	run script -qec "$ctl map $tpid ${addr[frag]}" /dev/null
	want_rc 0 || return
	# 256-colour backgrounds: a run's colour, or red for mixed cells.
	[[ $out == *$'\033['*'48;5;'* ]] || { echo "no colour on a terminal"; return 1; }
}

t_map_json_vs_pagemap() {
	need_python || return
	local r
	for r in plain frag holes; do
		ctl map --json "$tpid" "${addr[$r]}"
		want_rc 0 || return
		printf '%s\n' "$out" > "$tmp/map.json"
		python3 "$tmp/truth.py" map "$tmp/map.json" "$tpid" "${addr[$r]}" \
			"${pages[$r]}" || return
	done
}

t_map_png() {
	need_python || return
	local dims
	ctl map --png "$tmp/one.png" "$tpid" "${addr[frag]}"
	want_rc 0 && want_out "^wrote $tmp/one.png\$" || return
	dims=$(python3 "$tmp/truth.py" png "$tmp/one.png") || { echo "$dims"; return 1; }
	echo "one picture: $dims"
	if command -v file > /dev/null; then
		file "$tmp/one.png" | grep -q 'PNG image data' ||
			{ file "$tmp/one.png"; return 1; }
	fi
}

t_map_after_side_by_side() {
	need_python || return
	local one two
	ctl map --after 0.2 --png "$tmp/two.png" "$tpid" "${addr[holes]}"
	want_rc 0 && want_out '^before +after$' || return
	one=$(python3 "$tmp/truth.py" png "$tmp/one.png" | cut -d' ' -f1)
	two=$(python3 "$tmp/truth.py" png "$tmp/two.png" | cut -d' ' -f1)
	[ "$two" -gt "$one" ] || { echo "side by side is $two wide, one is $one"; return 1; }
}

t_request_registers() {
	need_kcontigd || return
	need_python || return
	local r q
	for r in plain frag holes zero thp; do
		ctl request "$tpid" "${addr[$r]}"
		want_rc 0 &&
			want_out "^process $tpid: requested ${addr[$r]#0x}-[0-9a-f]+ \\(4M\\)\$" ||
			return
	done
	grep -q "^${addr[plain]#0x}-[0-9a-f]* state=pending " /proc/"$tpid"/contig ||
		{ cat /proc/"$tpid"/contig; return 1; }
	ctl show --json "$tpid"
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/reg.json"
	q="sorted(v['start'] for v in j['vmas'] if v['registered'] and v['state'] == 'pending')"
	[ "$(jget "$tmp/reg.json" "$q")" = \
	  "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' \
		"${addr[plain]}" "${addr[frag]}" "${addr[holes]}" "${addr[zero]}" \
		"${addr[thp]}")" ]
}

t_show_agrees_with_kernel() {
	need_kcontigd || return
	need_python || return
	python3 "$tmp/truth.py" kernel "$tmp/reg.json" || return
	# shellcheck disable=SC2046
	python3 "$tmp/truth.py" show "$tmp/reg.json" "$tpid" $(region_specs) > /dev/null
}

t_show_kernel_only() {
	need_kcontigd || return
	need_python || return
	local q
	ctl show --kernel-only --json "$tpid" "${addr[zero]}"
	want_rc 0 || return
	printf '%s\n' "$out" > "$tmp/konly.json"
	q="(j['pfns'], j['vmas'][0]['resident'], j['vmas'][0]['cov2m'])"
	[ "$(jget "$tmp/konly.json" "$q")" = \
	  "(False, $(( pages[zero] / 2 )), None)" ] || { cat "$tmp/konly.json"; return 1; }
}

t_request_part_and_release() {
	need_kcontigd || return
	need_python || return
	local end q vend
	ctl release -q "$tpid" "${addr[frag]}"
	want_rc 0 || return
	[ -z "$out" ] || { echo "release -q printed '$out'"; return 1; }
	ctl show --json "$tpid" "${addr[frag]}"
	printf '%s\n' "$out" > "$tmp/part.json"
	vend=$(jget "$tmp/part.json" "j['vmas'][0]['end']")
	ctl request "$tpid" "${addr[frag]}" 64K
	want_rc 0 || return
	ctl show --json "$tpid" "${addr[frag]}"
	printf '%s\n' "$out" > "$tmp/part.json"
	end=$(printf '0x%x' $(( addr[frag] + 65536 )))
	# Another process's request splits no vma: the whole one is advised.
	q="(j['vmas'][0]['registered'], j['vmas'][0]['end'])"
	[ "$(jget "$tmp/part.json" "$q")" = "(True, '$vend')" ] ||
		{ echo "vma end was $vend"; cat "$tmp/part.json"; return 1; }
	ctl release "$tpid" "${addr[frag]}" 0x10000
	want_rc 0 && want_out "released ${addr[frag]#0x}-${end#0x} \\(64K\\)" || return
	ctl show --json "$tpid" "${addr[frag]}"
	printf '%s\n' "$out" > "$tmp/part.json"
	[ "$(jget "$tmp/part.json" "j['vmas'][0]['registered']")" = False ] || return
	! grep -q "^${addr[frag]#0x}-" /proc/"$tpid"/contig
}

t_wait_timeout_pending() {
	need_kcontigd || return
	local t0 t1 re
	t0=$(date +%s%N)
	ctl wait --timeout 2 "$tpid" "${addr[holes]}"
	t1=$(date +%s%N)
	re="timed out after 2s: ${addr[holes]#0x}-[0-9a-f]+ of process $tpid"
	re+=" is still pending \\(0/[0-9]+ pages in place\\)"
	want_rc 9 && want_err "$re" &&
		want_out "${addr[holes]#0x}-[0-9a-f]+ pending 0/[0-9]+ in place" || return
	# Not a tty: a line when something changes, not one per poll.
	[ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || { echo "$out"; return 1; }
	(( t1 - t0 >= 1900000000 && t1 - t0 < 15000000000 )) ||
		{ echo "took $(( (t1 - t0) / 1000000 )) ms"; return 1; }
}

t_wait_progress_tty() {
	need_kcontigd || return
	command -v script > /dev/null || { skip "no script(1)"; return; }
	# On a terminal: a progress bar redrawn with carriage returns.
	run script -qec "$ctl wait --timeout 1.2 --interval 0.2 $tpid ${addr[holes]}" /dev/null
	want_rc 9 || return
	if ! [[ $out == *$'\r['*'] '*'% 0/'*' in place, 0 pages/s, ETA -, pending'* ]]; then
		printf '%q\n' "$out"
		return 1
	fi
}

t_wait_json_timeout() {
	need_kcontigd || return
	need_python || return
	local q
	ctl wait --json --timeout 500ms --interval 100ms "$tpid" "${addr[thp]}"
	want_rc 9 || return
	printf '%s\n' "$out" > "$tmp/wait.json"
	q="(j['result'], j['state'], j['in_place'], j['start'], j['kernel']['state'])"
	[ "$(jget "$tmp/wait.json" "$q")" = \
	  "('timeout', 'pending', 0, '${addr[thp]}', 'pending')" ] ||
		{ cat "$tmp/wait.json"; return 1; }
}

t_wait_not_registered() {
	need_kcontigd || return
	expect_bad 8 "${addr[frag]#0x}-[0-9a-f]+ of process $tpid is not registered with kcontigd" \
		wait --timeout 5 "$tpid" "${addr[frag]}"
}

t_wait_process_exits() {
	need_kcontigd || return
	local pid2 a wpid t0 t1
	start_target "$tmp/target2.out" "$target" -p 64
	pid2=$(awk '$1 == "pid" { print $2 }' "$tmp/target2.out")
	a=$(awk '$1 == "region" && $2 == "plain" { print $3 }' "$tmp/target2.out")
	ctl request -q "$pid2" "$a"
	want_rc 0 || { kill "$pid2"; return 1; }
	t0=$(date +%s%N)
	"$ctl" wait --timeout 60 "$pid2" "$a" > "$tmp/out" 2> "$tmp/err" &
	wpid=$!
	sleep 1
	kill "$pid2"
	set +e
	wait "$wpid"
	rc=$?
	set -e
	t1=$(date +%s%N)
	err=$(cat "$tmp/err")
	want_rc 11 &&
		want_err "process $pid2 exited while waiting \\(${a#0x}-[0-9a-f]+ was pending" ||
		return
	(( t1 - t0 < 10000000000 )) ||
		{ echo "noticed after $(( (t1 - t0) / 1000000 )) ms"; return 1; }
}

t_run_requests_vmas() {
	need_kcontigd || return
	ctl run --min-size 1M --verbose -- "$target" -p 512 -c 20
	if ! { want_rc 0 && want_out '^registered plain$' &&
	       want_out '^registered thp$'; }; then
		echo "$out"
		return 1
	fi
	if printf '%s\n' "$out" | grep -q unregistered; then
		echo "$out"
		return 1
	fi
	printf '%s\n' "$err" | grep -q 'run: requested [0-9a-f]*-[0-9a-f]* (2M)' ||
		{ echo "no request reported: $err"; return 1; }
}

t_run_exit_status() {
	need_kcontigd || return
	ctl run -- sh -c 'exit 3'
	want_rc 3 || return
	ctl run -- sh -c 'kill -TERM $$'
	want_rc 143 || return
	expect_bad 127 "run: cannot run '/nonexistent/cmd': No such file or directory" \
		run -- /nonexistent/cmd || return
	expect_bad 2 "run: expected a command to run" run --min-size 1M
}

t_bad_pid_syntax() {
	expect_bad 2 "show: invalid PID 'abc'" show abc || return
	expect_bad 2 "map: invalid PID '0'" map 0 1000 || return
	expect_bad 2 "wait: invalid PID '12x'" wait 12x 1000 || return
	expect_bad 2 "show: unknown option '-5'" show -5
}

t_bad_pid_unknown() {
	local p
	p=$(( $(cat /proc/sys/kernel/pid_max) - 1 ))
	while [ -e /proc/$p ]; do p=$((p - 1)); done
	expect_bad 3 "no process with PID $p\$" show "$p" || return
	expect_bad 3 "no process with PID $p\$" map "$p" 1000 || return
	need_kcontigd || return 0
	expect_bad 3 "no process with PID $p\$" request "$p" 1000 || return
	expect_bad 3 "no process with PID $p\$" wait "$p" 1000
}

t_bad_pid_exited() {
	local zpid i
	# A child its parent never reaps: a zombie.
	bash -c 'sleep 0.01 & echo $! > "$1"; exec sleep 60' _ "$tmp/zpid" &
	zparent=$!
	for i in $(seq 50); do
		[ -s "$tmp/zpid" ] && zpid=$(cat "$tmp/zpid") &&
			[ "$(awk '{ print $3 }' /proc/"$zpid"/stat 2>/dev/null)" = Z ] && break
		sleep 0.1
	done
	expect_bad 3 "process $zpid \\(sleep\\) has exited" show "$zpid" || return
	need_kcontigd || return 0
	expect_bad 3 "process $zpid \\(sleep\\) has exited" request "$zpid" 1000 || return
	# A kernel thread has no memory.
	expect_bad 3 "process 2 \\(kthreadd\\) is a kernel thread" show 2
}

t_bad_addr_not_in_vma() {
	expect_bad 4 "address 0x1000 is not in any VMA of process $tpid" show "$tpid" 1000 || return
	expect_bad 4 "address 0x1000 is not in any VMA of process $tpid" \
		map "$tpid" 0x1000 || return
	need_kcontigd || return 0
	expect_bad 4 "address ${addr[hole]} is not in any VMA" \
		request "$tpid" "${addr[hole]}" || return
	expect_bad 4 "address ${addr[hole]} is not in any VMA" \
		wait --timeout 1 "$tpid" "${addr[hole]}"
}

t_bad_range_not_mapped() {
	need_kcontigd || return
	# plain is followed by an unmapped hole.
	expect_bad 4 "${addr[plain]#0x}-[0-9a-f]+ is not entirely mapped in process $tpid" \
		request "$tpid" "${addr[plain]}" 6M
}

t_bad_addr_syntax() {
	expect_bad 2 "map: invalid address 'zzz'" map "$tpid" zzz || return
	expect_bad 2 "show: invalid address '0x'" show "$tpid" 0x || return
	need_kcontigd || return 0
	expect_bad 2 "request: address 0x[0-9a-f]+ is not page-aligned" \
		request "$tpid" "$(printf '%x' $(( addr[plain] + 100 )))"
}

t_bad_sizes() {
	expect_bad 2 "show: invalid size '12Q'" show --min-size 12Q "$tpid" || return
	expect_bad 2 "request: invalid length '12Q'" request "$tpid" "${addr[plain]}" 12Q || return
	expect_bad 2 "request: invalid length '1.5M'" \
		request "$tpid" "${addr[plain]}" 1.5M || return
	expect_bad 2 "request: length '99999999999999999999' is too large" \
		request "$tpid" "${addr[plain]}" 99999999999999999999 || return
	expect_bad 2 "request: the length must not be 0" \
		request "$tpid" "${addr[plain]}" 0 || return
	expect_bad 2 "wait: invalid timeout 'soon'" \
		wait --timeout soon "$tpid" "${addr[plain]}" || return
	expect_bad 2 "map: invalid width '3'" map -w 3 "$tpid" "${addr[plain]}" || return
	expect_bad 2 "run: invalid size '2X'" run --min-size 2X -- true
}

t_bad_usage() {
	expect_bad 2 "unknown command 'frobnicate'" frobnicate || return
	expect_bad 2 "show: unknown option '--frob'" show --frob 1 || return
	expect_bad 2 "show: option '--min-size' needs a value" show 1 --min-size || return
	expect_bad 2 "show: expected PID \\[ADDR\\]" show || return
	expect_bad 2 "show: too many arguments" show 1 2 3 || return
	expect_bad 2 "map: expected PID ADDR" map 1 || return
	ctl
	want_rc 2
}

t_refused_special_mapping() {
	need_kcontigd || return
	local vvar re
	vvar=$(awk '$NF == "[vvar]" { split($1, r, "-"); print r[1] }' /proc/"$tpid"/maps)
	[ -n "$vvar" ] || { skip "no [vvar] mapping"; return; }
	re="the kernel refused MADV_CONTIG for ${vvar}-[0-9a-f]+ of process $tpid"
	expect_bad 7 "$re: hugetlb, DAX" request "$tpid" "$vvar"
}

t_refused_hugetlb() {
	need_kcontigd || return
	local out2 hpid haddr
	[ -w /proc/sys/vm/nr_hugepages ] || { skip "no hugetlb"; return; }
	hugetlb_saved=$(cat /proc/sys/vm/nr_hugepages)
	echo $(( hugetlb_saved + 2 )) > /proc/sys/vm/nr_hugepages || true
	out2=$tmp/target3.out
	start_target "$out2" "$target" -p 16 -H
	hpid=$(awk '$1 == "pid" { print $2 }' "$out2")
	haddr=$(awk '$1 == "region" && $2 == "hugetlb" { print $3 }' "$out2")
	if [ -z "$haddr" ]; then
		kill "$hpid"
		skip "no huge page: $(grep nohugetlb "$out2")"
		return
	fi
	expect_bad 7 "the kernel refused MADV_CONTIG for ${haddr#0x}-" request "$hpid" "$haddr"
	rc=$?
	kill "$hpid"
	return $rc
}

t_not_root_pfns_hidden() {
	command -v setpriv > /dev/null || { skip "no setpriv"; return; }
	local re
	start_target "$tmp/nobody.out" setpriv --reuid=$nobody --regid=$nobody \
		--clear-groups "$target" -p 64
	npid=$(awk '$1 == "pid" { print $2 }' "$tmp/nobody.out")
	as_nobody "$ctl" show "$npid"
	re="PFNs in /proc/$npid/pagemap read as 0 without CAP_SYS_ADMIN: run as root"
	want_rc 5 && want_err "$re" || return
	as_nobody "$ctl" map "$npid" "$(awk '$2 == "plain" { print $3 }' "$tmp/nobody.out")"
	want_rc 5 && want_err "read as 0 without CAP_SYS_ADMIN"
}

t_not_root_kernel_only() {
	need_kcontigd || return
	[ -n "$npid" ] || { skip "no unprivileged target"; return; }
	local a q
	a=$(awk '$2 == "plain" { print $3 }' "$tmp/nobody.out")
	# Root registers it; nobody reads kcontigd's view of its own process.
	ctl request -q "$npid" "$a"
	want_rc 0 || return
	as_nobody "$ctl" show --kernel-only "$npid"
	want_rc 0 && want_out "^${a#0x}-[0-9a-f]+ +256K +64 " || return
	grep -q anchor= /proc/"$npid"/contig ||
		{ echo "root sees no anchor= in /proc/$npid/contig"; return 1; }
	as_nobody "$ctl" show --kernel-only --json "$npid"
	printf '%s\n' "$out" > "$tmp/nobody.json"
	q="[v['anchor'] for v in j['vmas'] if v['registered']]"
	[ "$(jget "$tmp/nobody.json" "$q")" = "[None]" ] ||
		{ echo "an unprivileged reader sees an anchor"; cat "$tmp/nobody.json"; return 1; }
}

t_not_root_no_access() {
	[ -n "$npid" ] || { skip "no unprivileged target"; return; }
	as_nobody "$ctl" show "$tpid"
	want_rc 5 &&
		want_err "no access to the memory of process $tpid: it needs ptrace read access" ||
		return
	need_kcontigd || return 0
	as_nobody "$ctl" request "$tpid" "${addr[plain]}" 4K
	want_rc 5 && want_err "no ptrace read access to process $tpid"
}

t_not_root_request_eperm() {
	need_kcontigd || return
	[ -n "$npid" ] || { skip "no unprivileged target"; return; }
	as_nobody "$ctl" request "$npid" "$(awk '$2 == "frag" { print $3 }' "$tmp/nobody.out")"
	want_rc 5 && want_err "advising the memory of another process needs CAP_SYS_NICE" || return
	as_nobody "$ctl" run -- true
	want_rc 5 && want_err "run: advising the command's memory needs CAP_SYS_NICE"
}

t_not_root_set() {
	need_kcontigd || return
	command -v setpriv > /dev/null || { skip "no setpriv"; return; }
	as_nobody "$ctl" set scan_sleep_millisecs=1000
	want_rc 5 && want_err "set: changing kcontigd knobs needs root" || return
	[ "$(cat $sysfs/scan_sleep_millisecs)" = 1234 ]
}

t_no_kcontigd() {
	command -v unshare > /dev/null || { skip "no unshare"; return; }
	local re
	[ -d $sysfs ] || {
		expect_bad 6 "this kernel has no kcontigd" status
		return
	}
	without_kcontigd "$ctl" status
	re="this kernel has no kcontigd \\(no $sysfs/enabled\\): it needs CONFIG_MEM_DEFRAG"
	want_rc 6 && want_err "$re" || return
	without_kcontigd "$ctl" request "$tpid" "${addr[plain]}"
	want_rc 6 && want_err "this kernel has no kcontigd" || return
	without_kcontigd "$ctl" wait "$tpid" "${addr[plain]}"
	want_rc 6 && want_err "this kernel has no kcontigd" || return
	without_kcontigd "$ctl" set enabled=1
	want_rc 6 && want_err "this kernel has no kcontigd"
}

t_bpftrace_activity() {
	need_kcontigd || return
	command -v bpftrace > /dev/null || { skip "no bpftrace"; return; }
	local bpid i
	bpftrace -B none "$bpfdir/kcontigd-activity.bt" > "$tmp/bpf.out" 2>&1 &
	bpid=$!
	for i in $(seq 300); do
		grep -q '^tracing kcontigd' "$tmp/bpf.out" && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.5
	done
	if ! grep -q '^tracing kcontigd' "$tmp/bpf.out"; then
		kill -INT "$bpid" 2>/dev/null || true
		wait "$bpid" || true
		cat "$tmp/bpf.out"
		return 1
	fi
	ctl request -q "$tpid" "${addr[frag]}"
	ctl release -q "$tpid" "${addr[frag]}"
	sleep 1
	kill -INT "$bpid"
	wait "$bpid" || true
	if ! grep -Eq "^madvise +[0-9]+ +contigctl +MADV_CONTIG ${addr[frag]#0x}-" "$tmp/bpf.out" ||
	   ! grep -Eq "^madvise +[0-9]+ +contigctl +MADV_NOCONTIG " "$tmp/bpf.out"; then
		cat "$tmp/bpf.out"
		return 1
	fi
}

# The scripts that name kcontigd_page's enum fields compile and run.
t_bpftrace_enum_scripts() {
	need_kcontigd || return
	command -v bpftrace > /dev/null || { skip "no bpftrace"; return; }
	local bpid i script banner
	for script in failures:'^failure reasons' progress:'^per-VMA progress'; do
		banner=${script#*:}
		script=kcontigd-${script%%:*}.bt
		bpftrace -B none "$bpfdir/$script" > "$tmp/bpf.out" 2>&1 &
		bpid=$!
		for i in $(seq 300); do
			grep -q "$banner" "$tmp/bpf.out" && break
			kill -0 "$bpid" 2>/dev/null || break
			sleep 0.5
		done
		ctl request -q "$tpid" "${addr[frag]}"
		sleep 1
		ctl release -q "$tpid" "${addr[frag]}"
		kill -INT "$bpid" 2>/dev/null || true
		wait "$bpid" || true
		if ! grep -q "$banner" "$tmp/bpf.out" ||
		   grep -qiE '^(error|.*: error)' "$tmp/bpf.out"; then
			echo "# $script:"
			sed 's/^/# /' "$tmp/bpf.out"
			return 1
		fi
	done
}

# make demo's contig_demo reports the state the kernel gave, in the very
# /proc/self/contig line it prints (kcontigd on for this one case).
t_demo_reports_kernel_state() {
	need_kcontigd || return
	local demo st line
	demo=$(dirname "$target")/contig_demo
	[ -x "$demo" ] || { skip "no $demo"; return; }
	echo 1 > "$sysfs/enabled"
	run "$demo" 8 120
	echo 0 > "$sysfs/enabled"
	want_rc 0 || { printf '%s\n' "$out" | sed 's/^/# /'; return 1; }
	st=$(printf '%s\n' "$out" | sed -n 's/^state \([a-z]*\) after .*/\1/p')
	line=$(printf '%s\n' "$out" | grep -A1 '^state ' |
	       sed -n 's/.*\/proc\/self\/contig: .* state=\([a-z]*\) .*/\1/p')
	if [ -z "$st" ] || [ "$st" != "$line" ] || [ "$st" != done ]; then
		printf '%s\n' "$out" | sed 's/^/# /'
		return 1
	fi
}

t_release_all() {
	need_kcontigd || return
	local r
	for r in plain holes zero thp; do
		ctl release -q "$tpid" "${addr[$r]}"
		want_rc 0 || return
	done
	[ ! -s /proc/"$tpid"/contig ] || { cat /proc/"$tpid"/contig; return 1; }
}

t_target_exits_during_show() {
	# The target is killed; the next look at it is a clean "exited".
	kill "$tpid"
	wait "$tpid" 2>/dev/null || true
	expect_bad 3 "no process with PID $tpid\$" show "$tpid"
	local rc2=$?
	tpid=
	return $rc2
}

tests=(
	t_binaries
	t_target_starts
	t_status_text
	t_status_json
	t_set_knob
	t_set_rejected_value
	t_set_bad_arguments
	t_show_text
	t_show_json_vs_pagemap
	t_show_counts_match_layout
	t_show_addr
	t_show_all_and_min_size
	t_show_histogram
	t_map_text
	t_map_color_on_tty
	t_map_json_vs_pagemap
	t_map_png
	t_map_after_side_by_side
	t_request_registers
	t_show_agrees_with_kernel
	t_show_kernel_only
	t_request_part_and_release
	t_wait_timeout_pending
	t_wait_progress_tty
	t_wait_json_timeout
	t_wait_not_registered
	t_wait_process_exits
	t_run_requests_vmas
	t_run_exit_status
	t_bad_pid_syntax
	t_bad_pid_unknown
	t_bad_pid_exited
	t_bad_addr_not_in_vma
	t_bad_range_not_mapped
	t_bad_addr_syntax
	t_bad_sizes
	t_bad_usage
	t_refused_special_mapping
	t_refused_hugetlb
	t_not_root_pfns_hidden
	t_not_root_kernel_only
	t_not_root_no_access
	t_not_root_request_eperm
	t_not_root_set
	t_no_kcontigd
	t_bpftrace_activity
	t_bpftrace_enum_scripts
	t_demo_reports_kernel_state
	t_release_all
	t_target_exits_during_show
)

echo "TAP version 13"
echo "1..${#tests[@]}"
if [ "$(id -u)" != 0 ]; then
	for i in "${!tests[@]}"; do
		echo "ok $((i + 1)) ${tests[$i]#t_} # SKIP not root"
	done
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:${#tests[@]} error:0"
	exit 4
fi

pass=0
fail=0
skipped=0
n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	skip_reason=
	if [ -z "$tpid" ] && [ "$t" != t_binaries ] && [ "$t" != t_target_starts ]; then
		echo "not ok $n ${t#t_} # no target process"
		fail=$((fail + 1))
		continue
	fi
	t0=$(date +%s.%N)
	"$t" > "$tmp/diag" 2>&1 && trc=0 || trc=$?
	sed 's/^/# /' "$tmp/diag"
	awk -v a="$t0" -v b="$(date +%s.%N)" -v t="${t#t_}" \
		'BEGIN { printf "# %s: %.1f s\n", t, b - a }'
	if [ "$trc" = 0 ]; then
		echo "ok $n ${t#t_}"
		pass=$((pass + 1))
	elif [ "$trc" = 77 ]; then
		echo "ok $n ${t#t_} # SKIP $skip_reason"
		skipped=$((skipped + 1))
	else
		echo "not ok $n ${t#t_}"
		fail=$((fail + 1))
	fi
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skipped error:0"
[ "$fail" = 0 ]
