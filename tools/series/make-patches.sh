#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches: render patches/ and this repository's new files as a
# git format-patch series against the pristine linux-source-6.12, in the
# review order of tools/series/series, into OUT (build/patches):
#
#   make-patches.sh TARBALL OUT
#
# The series lives in a git repository of the files it touches
# (OUT/../series-git); its last commit must equal patches/series applied
# to the pristine files plus the new files, which is checked. Every patch
# is then checked with the tree's scripts/checkpatch.pl --strict; the
# script fails on any error or warning. MAINTAINERS gets an entry whose
# F: lines grow with the files each patch adds.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tarball=$1
out=$(realpath -m "$2")
git_dir=$(dirname "$out")/series-git
pristine=$(dirname "$out")/series-pristine
msgs=$here/msg
author="kcontigd developers <kcontigd@localhost>"
top=linux-source-6.12

die() { echo "make-patches: $*" >&2; exit 1; }

# ---- the steps: MESSAGE and ITEMS per line of tools/series/series
steps=()
while read -r line; do
	line=${line%%#*}
	[ -n "${line// /}" ] && steps+=("$line")
done < "$here/series"

is_patch() { [[ $1 =~ ^[0-9]{4}-.*\.patch$ ]]; }

# Every patches/series entry and every new file in exactly one step.
declare -A seen
listed=()
for s in "${steps[@]}"; do
	read -r -a w <<< "$s"
	for item in "${w[@]:1}"; do
		if is_patch "$item"; then
			[ -f "$repo/patches/$item" ] || die "no patches/$item"
			listed+=("patches/$item")
		else
			[ -e "$repo/$item" ] || die "no $item"
			while IFS= read -r f; do
				listed+=("$f")
			done < <(cd "$repo" && git ls-files "$item")
		fi
	done
done
for f in "${listed[@]}"; do
	[ -z "${seen[$f]:-}" ] || die "$f is in two steps"
	seen[$f]=1
done
want=$(cd "$repo" && { sed 's|^|patches/|' patches/series;
	git ls-files mm include Documentation tools/testing/selftests/mem_defrag \
		tools/contigctl; })
for f in $want; do
	[ -n "${seen[$f]:-}" ] || die "$f is in no step of tools/series/series"
done

# ---- the pristine files the patches touch, plus MAINTAINERS
touched=$(cd "$repo/patches" && sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' \
	$(cat series) | sort -u)
rm -rf "$git_dir" "$pristine" "$out" "$(dirname "$out")/series-tools"
mkdir -p "$git_dir" "$pristine" "$out"
members=()
for f in $touched MAINTAINERS Makefile scripts/checkpatch.pl scripts/spelling.txt \
	scripts/const_structs.checkpatch; do
	members+=("$top/$f")
done
tar -xf "$tarball" -C "$pristine" --strip-components=1 "${members[@]}"
version=$(awk '
	/^VERSION =/ { v = $3 } /^PATCHLEVEL =/ { p = $3 }
	/^SUBLEVEL =/ { s = $3 } END { print v "." p "." s }' "$pristine/Makefile")
rm "$pristine/Makefile"
mkdir -p "$(dirname "$out")/series-tools"
tools=$(cd "$(dirname "$out")/series-tools" && pwd)
mv "$pristine/scripts" "$tools/"

cd "$git_dir"
git init -q
git config user.name "kcontigd developers"
git config user.email kcontigd@localhost
git config core.autocrlf false
cp -a "$pristine/." .
date=$(cd "$repo" && git log -1 --format=%cI)
export GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date
git add -A
git commit -q -m "Linux $version (Debian linux-source-6.12)"
base=$(git rev-parse HEAD)

# ---- MAINTAINERS: an entry after MEMORY MANAGEMENT, F: as files come
maintained=()
maintainers_entry() {
	awk -v entry="$1" '
		!done && /^MEMORY MAPPING$/ { printf "%s\n", entry; done = 1 }
		{ print }' "$pristine/MAINTAINERS" > MAINTAINERS
}
update_maintainers() {
	local e f
	e="MEMORY MANAGEMENT - KCONTIGD AND PAGE EXCHANGE"
	e+=$'\n'"M:	$author"
	e+=$'\n'"L:	linux-mm@kvack.org"
	e+=$'\n'"S:	Experimental"
	while IFS= read -r f; do
		e+=$'\n'"F:	$f"
	done < <(printf '%s\n' "${maintained[@]}" | LC_ALL=C sort -u)
	maintainers_entry "$e"$'\n'
}

message() {	# message NAME [PATCH]: the commit message of one step
	local name=$1 patch=${2:-} num
	if [ "$name" = - ]; then
		sed -n 's/^Subject: \[PATCH\] //p' "$repo/patches/$patch"
		echo
		awk 'f && /^---$/ { exit } f { print } /^Subject:/ { f = 1 }' \
			"$repo/patches/$patch" | sed '1{/^$/d}'
		num=${patch%%-*}
		[ -f "$msgs/$num.tested" ] && { echo; cat "$msgs/$num.tested"; }
	else
		[ -f "$msgs/$name" ] || die "no tools/series/msg/$name"
		cat "$msgs/$name"
	fi
	echo
	echo "Signed-off-by: $author"
}

n=0
for s in "${steps[@]}"; do
	read -r -a w <<< "$s"
	name=${w[0]}
	patches=()
	adds=()
	for item in "${w[@]:1}"; do
		if is_patch "$item"; then
			patches+=("$item")
		else
			adds+=("$item")
		fi
	done
	[ "$name" != - ] || [ ${#patches[@]} = 1 -a ${#adds[@]} = 0 ] ||
		die "'-' needs exactly one patch: $s"
	for p in "${patches[@]}"; do
		patch -p1 --forward --quiet --no-backup-if-mismatch \
			< "$repo/patches/$p" > /dev/null || die "$p does not apply here"
	done
	for a in "${adds[@]}"; do
		while IFS= read -r f; do
			mkdir -p "$(dirname "$f")"
			cp "$repo/$f" "$f"
			maintained+=("$f")
		done < <(cd "$repo" && git ls-files "$a")
	done
	[ ${#adds[@]} = 0 ] || update_maintainers
	git add -A
	git commit -q -F <(message "$name" "${patches[0]:-}")
	n=$((n + 1))
done

# ---- the end of the series is patches/series plus the new files
(cd "$pristine" && for p in $(cat "$repo/patches/series"); do
	patch -p1 --forward --quiet --no-backup-if-mismatch \
		< "$repo/patches/$p" > /dev/null || die "$p does not apply"
done)
for f in $touched; do
	cmp -s "$pristine/$f" "$git_dir/$f" ||
		die "$f differs from patches/series applied in order"
done
for f in "${maintained[@]}"; do
	cmp -s "$repo/$f" "$git_dir/$f" || die "$f differs from the repository"
done

# ---- format-patch with a cover letter
git format-patch -q --cover-letter --base="$base" --thread=shallow \
	--subject-prefix="RFC PATCH" -o "$out" "$base..HEAD"
cover=$(ls "$out"/0000-cover-letter.patch)
blurb=$(mktemp)
trap 'rm -f "$blurb"' EXIT
{
	cat "$here/cover"
	echo
	echo "Base: Linux $version as Debian's linux-source-6.12 ships it."
	bench=$(grep -l "^kcontigd / move_pages throughput" \
		"$repo"/bench/results/bench-*.txt 2>/dev/null | sort | tail -1 || true)
	if [ -n "$bench" ]; then
		echo
		echo "Benchmarks: bench/results/$(basename "$bench")"
		echo "($(sed -n '1s/^# kcontigd benchmarks, //p' "$bench"))."
		echo
		"$here/bench-table.sh" "$bench" | sed 's/^/  /'
	fi
} > "$blurb"
python3 - "$cover" "$blurb" <<'EOF'
import sys
cover, blurb = sys.argv[1], open(sys.argv[2]).read().rstrip('\n')
s = open(cover).read()
s = s.replace('*** SUBJECT HERE ***',
              'kcontigd: make user memory physically contiguous on demand')
s = s.replace('*** BLURB HERE ***', blurb)
open(cover, 'w').write(s)
EOF

# ---- checkpatch --strict on every patch: no error, no warning, no check
# but the exemptions of tools/series/checkpatch-exempt (FILE-REGEX TYPE
# [MESSAGE-REGEX]: idioms checkpatch does not know), which are counted.
bad=0
exempted=0
for p in "$out"/0*.patch; do
	[ "$(basename "$p")" = 0000-cover-letter.patch ] && continue
	res=$(cd "$git_dir" && perl "$tools/scripts/checkpatch.pl" --strict \
		--no-tree --terse --show-types --showfile "$p" 2>&1 || true)
	found=$({ printf '%s\n' "$res" | grep -E ': (ERROR|WARNING|CHECK):' ||
		true; } | awk -v ex="$here/checkpatch-exempt" '
		BEGIN {
			while ((getline l < ex) > 0) {
				if (l ~ /^#/ || l !~ /[^ \t]/)
					continue
				n++
				split(l, f, /[ \t]+/)
				file[n] = f[1]; type[n] = f[2]
				msg[n] = l
				sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]*/, "", msg[n])
			}
		}
		{
			split($0, a, ":")
			t = $0
			sub(/^[^:]*:[0-9]*: (ERROR|WARNING|CHECK):/, "", t)
			sub(/:.*/, "", t)
			for (i = 1; i <= n; i++)
				if (a[1] ~ file[i] && t == type[i] &&
				    (msg[i] == "" || $0 ~ msg[i])) {
					print "exempt " $0
					next
				}
			print "found " $0
		}')
	exempted=$((exempted + $(printf '%s\n' "$found" | grep -c '^exempt ' || true)))
	errors=$(printf '%s\n' "$found" | grep -c '^found ' || true)
	if [ "$errors" != 0 ]; then
		bad=$((bad + 1))
		echo "checkpatch: $(basename "$p"): $errors"
		printf '%s\n' "$found" | sed -n 's/^found /  /p'
	fi
done
echo "patches: $n patches and a cover letter in ${out#"$repo"/}," \
	"$((n - bad)) of $n checkpatch --strict clean ($exempted exempted" \
	"findings, tools/series/checkpatch-exempt)"
[ "$bad" = 0 ]
