#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Grouped page maps (-E maps=grouped; the default, maps=compact, picks them
# where they are smallest, t-extents.sh):
# round trips equal to -E maps=flat ones; each file gets the largest group
# its pages allow (whole clusters, runs of XIP pages), a file mixing XIP,
# compressed pages and holes a smaller one or none; shared clusters too;
# smaller metadata; the feature bit only when some map is grouped;
# zero pages inside a cluster that holds data are compressed with it (the
# file keeps its groups), a whole cluster-aligned group of zeros is a hole,
# zero XIP pages stay holes, flat maps keep every zero page a hole;
# reproducible output; damaged grouped maps are found (fsck exit 4) and
# crash nothing (run under make SAN=1 check too).
. "$SRCDIR/tests/common.sh"
RWEDIT=$BUILD/tests/rwedit

src=$tmp/src
mkdir -p "$src/text" "$src/bin" "$src/sparse" "$src/small" "$src/zero"
seq 1 200000 >"$src/text/big"				# 315 pages
for i in $(seq 1 20); do seq "$i" 3 $((i * 3000)) >"$src/text/t$i"; done
{ seq 1 20000 | head -c $((16 * 4096)); head -c 100 /dev/urandom; } >"$src/text/c16k+100" # a tail
seq 1 20000 | head -c $((12 * 4096)) >"$src/text/list"
head -c 1000000 /dev/urandom >"$src/bin/random"
cp /bin/true /bin/ls "$src/bin/"
# Data at pages 100-102 and at the end, holes around: with 128K clusters
# the cluster of pages 96-127 holds data (its zero pages compressed with
# it), the other 32-page groups are all zeros, holes.
truncate -s 2M "$src/sparse/holes"
echo end >>"$src/sparse/holes"
seq 1 2000 | dd of="$src/sparse/holes" bs=4096 seek=100 conv=notrunc status=none
# Isolated zero pages: page 13 inside the first 128K cluster, page 32 at
# the start of the last, partial one; 41 pages.
zpages() {	# FILE NPAGES ZERO-PAGE...: text pages but for the zero ones
	local f=$1 n=$2 p
	shift 2
	seq 1 1000000 | head -c $((n * 4096)) >"$f"
	for p in "$@"; do
		dd if=/dev/zero of="$f" bs=4096 seek="$p" count=1 conv=notrunc status=none
	done
}
zpages "$src/zero/mid" 41 13 32
truncate -s $((40 * 4096 + 100)) "$src/zero/mid"
# Pages 32-63 zero: a whole 128K group, a hole (written, not sparse).
zpages "$src/zero/group" 96 $(seq 32 63)
# Data, then a zero partial last page.
{ seq 1 5000 | head -c $((5 * 4096)); head -c 1000 /dev/zero; } >"$src/zero/tail"
for i in $(seq 1 30); do echo "small $i" >"$src/small/s$i"; done
: >"$src/small/empty"
fix_dir_times "$src"

roundtrip "$src" grouped -z lz4hc -C 128K --xip=none -E maps=grouped
roundtrip "$src" flat -z lz4hc -C 128K --xip=none -E maps=flat
roundtrip "$src" g-elf -z zstd -C 16K --xip=elf -E maps=grouped
roundtrip "$src" f-elf -z zstd -C 16K --xip=elf -E maps=flat
roundtrip "$src" g-all --xip=all -E maps=grouped
roundtrip "$src" g-frag -E fragments,maps=grouped --xip=none
roundtrip "$src" g-span -E fragments,span,maps=grouped -C 16K -z zlib
roundtrip "$src" g-free --free-space=1M -E maps=grouped
roundtrip "$src" f-free --free-space=1M
roundtrip "$src" g-64k --page-size 64K -C 256K -z xz -E maps=grouped

# The feature bit iff some map is grouped; -s names it (and the others).
incompat() { "$DUMP" -s "$1" | sed -n 's/.*incompat 0x\([0-9a-f]*\).*/\1/p'; }
grouped_bit() { echo $(( 0x$(incompat "$1") & 8 )); }
for n in grouped g-elf g-all g-frag g-span g-free g-64k; do
	[ "$(grouped_bit "$tmp/$n.img")" = 8 ] || fail "$n: GROUPED_MAPS not set"
done
for n in flat f-elf f-free; do
	[ "$(grouped_bit "$tmp/$n.img")" = 0 ] || fail "$n: GROUPED_MAPS set"
done
"$DUMP" -s "$tmp/g-frag.img" | grep -q '^features: .* clusters tail shared_clusters grouped_maps\( compact_inodes\)\?\( compact_clusters\)\?$' ||
	fail "-s: $("$DUMP" -s "$tmp/g-frag.img" | grep features)"
"$FSCK" -v "$tmp/grouped.img" | grep -q '^grouped page maps: [1-9][0-9]* files' ||
	fail "fsck -v: no grouped maps counted"
# Defaults: compact (grouped where smallest) without free space, flat with it.
"$MKFS" -q -z lz4hc -C 128K --xip=none -E maps=compact "$tmp/d1.img" "$src" || fail "mkfs -E maps=compact"
"$MKFS" -q -z lz4hc -C 128K --xip=none "$tmp/d0.img" "$src" || fail "mkfs (default maps)"
cmp "$tmp/d0.img" "$tmp/d1.img" || fail "compact maps are not the default"
"$MKFS" -q --free-space=1M -E maps=flat "$tmp/d2.img" "$src" || fail "mkfs --free-space -E maps=flat"
cmp "$tmp/f-free.img" "$tmp/d2.img" || fail "flat maps are not the default with --free-space"
"$MKFS" -q -E maps=flat,maps=grouped "$tmp/d3.img" "$src" || fail "mkfs -E maps=flat,maps=grouped"
[ "$(grouped_bit "$tmp/d3.img")" = 8 ] || fail "the last -E maps= does not win"

# group IMAGE PATH: the pages an entry of PATH's map covers (1: flat).
group() {
	local m
	m=$("$DUMP" -p -m "$2" "$1" | sed -n 2p)
	case $m in
	*"grouped: 1 entry per "*) echo "$m" | sed 's/.*grouped: 1 entry per \([0-9]*\) pages.*/\1/' ;;
	"map: offset "*", in the metadata area") echo 1 ;;
	*) echo "?$m" ;;
	esac
}
expect_group() {
	local got
	got=$(group "$1" "$2")
	[ "$got" = "$3" ] || fail "$(basename "$1") $2: groups of $got pages, want $3"
}
# Consecutive clusters of one file (128K: 32 pages) run on from group to
# group: 128; so does a file of one cluster (or one page).
expect_group "$tmp/grouped.img" /text/big 128
expect_group "$tmp/grouped.img" /bin/random 128
expect_group "$tmp/grouped.img" /bin/true 128
expect_group "$tmp/grouped.img" /text/t1 128
expect_group "$tmp/grouped.img" /sparse/holes 32
"$DUMP" -p -m /sparse/holes "$tmp/grouped.img" >"$tmp/holes.map"
grep -q '^page 96: compressed cluster [0-9]* index 0 ' "$tmp/holes.map" &&
	grep -q '^page 127: compressed cluster [0-9]* index 31 ' "$tmp/holes.map" &&
	grep -q '^page 95: hole' "$tmp/holes.map" && grep -q '^page 128: hole' "$tmp/holes.map" ||
	fail "/sparse/holes: not a cluster at 96-127 between holes: $(sed -n '96,100p' "$tmp/holes.map")"
[ "$(grep -c '^page [0-9]*: hole' "$tmp/holes.map")" = $((513 - 32 - 1)) ] ||
	fail "/sparse/holes: $(grep -c '^page [0-9]*: hole' "$tmp/holes.map") hole pages, want 480"
expect_group "$tmp/flat.img" /sparse/holes 1
[ "$("$DUMP" -p -m /sparse/holes "$tmp/flat.img" | grep -c '^page [0-9]*: hole')" = $((513 - 4)) ] ||
	fail "flat /sparse/holes: zero pages are not all holes"
# Isolated zero pages join their cluster: the file keeps its groups.  With
# 128K clusters, /zero/mid is two consecutive clusters (one group); with
# 64K ones and fragments, two clusters and a piece in a shared cluster (2
# groups of 32 beat a 64-page group and an end run: 3 words).  /zero/group
# (cluster, zeros, cluster) has 32-page groups either way.
for ng in grouped:128:32 g-frag:32:32; do	# 128K, 64K clusters
	n=${ng%%:*} gm=${ng#*:} g=${ng##*:}
	gm=${gm%:*}
	expect_group "$tmp/$n.img" /zero/mid $gm
	"$DUMP" -p -m /zero/mid "$tmp/$n.img" >"$tmp/mid.map"
	grep -q '^page 13: compressed cluster [0-9]* index 13 ' "$tmp/mid.map" &&
		grep -q '^page 32: compressed cluster' "$tmp/mid.map" ||
		fail "$n /zero/mid: zero pages not in their clusters: $(grep -E '^page (13|32):' "$tmp/mid.map")"
	! grep -q '^page [0-9]*: hole' "$tmp/mid.map" || fail "$n /zero/mid: a hole"
	expect_group "$tmp/$n.img" /zero/group $g
	"$DUMP" -p -m /zero/group "$tmp/$n.img" | grep -q "^map: .*($((96 / g)) entries)\$" ||
		fail "$n /zero/group: not $((96 / g)) entries"
	[ "$("$DUMP" -p -m /zero/group "$tmp/$n.img" | grep -c '^page [0-9]*: hole')" = 32 ] ||
		fail "$n /zero/group: pages 32-63 are not a hole group"
	"$DUMP" -p -m /zero/tail "$tmp/$n.img" | grep -q '^page 5: compressed cluster' ||
		fail "$n /zero/tail: the zero last page is not compressed"
	for f in mid group tail; do
		"$DUMP" -c /zero/$f "$tmp/$n.img" | cmp -s - "$src/zero/$f" || fail "$n: /zero/$f differs"
	done
done
expect_group "$tmp/g-elf.img" /zero/mid 128	# 16K clusters, one after another
# Flat maps, and XIP pages, keep zero pages holes.
for n in flat g-all; do
	"$DUMP" -p -m /zero/mid "$tmp/$n.img" | grep -q '^page 13: hole' || fail "$n /zero/mid: page 13 not a hole"
done
expect_group "$tmp/g-all.img" /zero/group 32
expect_group "$tmp/flat.img" /text/big 1
"$DUMP" -p -m /text/big "$tmp/grouped.img" | grep -q '^map: .*(3 entries)$' || fail "/text/big: not 3 entries"
# 16K clusters: 4 clusters of 4 pages in one 16-page group, the tail first
# in the next one (2 entries; a 32-page group and an end run would be 3).
expect_group "$tmp/g-elf.img" /text/c16k+100 16
"$DUMP" -p -m /text/c16k+100 "$tmp/g-elf.img" | grep -q '^page 16: tail' || fail "c16k+100: no tail"
# Every XIP page in one run: one entry.
expect_group "$tmp/g-all.img" /text/big 128
"$DUMP" -p -m /text/big "$tmp/g-all.img" | grep -q '^map: .*(3 entries)$' || fail "--xip=all: not 3 entries"
# List policies mixing XIP and compressed pages.
printf '/text/list 0-3\n/text/big 1-2,5\n/bin/true\n/zero/mid 0-3\n/zero/tail 1\n' >"$tmp/xiplist"
roundtrip "$src" g-list -z zstd -C 16K --xip=list:"$tmp/xiplist" -E maps=grouped
roundtrip "$src" f-list -z zstd -C 16K --xip=list:"$tmp/xiplist" -E maps=flat
expect_group "$tmp/g-list.img" /text/list 4	# XIP 0-3, then 16K clusters
expect_group "$tmp/g-list.img" /text/big 1	# XIP 1-2 and 5 inside clusters
expect_group "$tmp/g-list.img" /bin/true 128	# all XIP
expect_group "$tmp/g-list.img" /text/c16k+100 16
# XIP ranges on cluster boundaries: zero pages still join their clusters;
# an XIP page inside a cluster-sized group: zero pages stay holes.
# /zero/mid: XIP 0-3, then clusters: one 64-page group and an end run from
# page 4.
expect_group "$tmp/g-list.img" /zero/mid 64
"$DUMP" -p -m /zero/mid "$tmp/g-list.img" | grep -q '^map: .*(1 entry, end run from page 4)$' ||
	fail "g-list /zero/mid: no end run from page 4: $("$DUMP" -p -m /zero/mid "$tmp/g-list.img" | sed -n 2p)"
"$DUMP" -p -m /zero/mid "$tmp/g-list.img" | grep -q '^page 13: compressed cluster [0-9]* index 1 ' ||
	fail "g-list /zero/mid: page 13 not in its cluster"
"$DUMP" -p -m /zero/tail "$tmp/g-list.img" | grep -q '^page 5: hole' || fail "g-list /zero/tail: page 5 not a hole"
# Decoded per page, grouped maps say what flat ones say (XIP page numbers
# aside: the metadata before the XIP area differs in size).
norm() {
	"$DUMP" -p -m "$2" "$1" |
		sed -n 's/^page \([0-9]*\): \(xip\|hole\|tail\|compressed cluster [0-9]* index [0-9]*\).*/\1 \2/p'
}
for pair in g-elf:f-elf g-list:f-list grouped:flat; do
	# (Not /sparse/holes or /zero/*: their zero pages differ.)
	for f in /bin/ls /bin/true /text/big /text/list /text/c16k+100 /bin/random; do
		a=$(norm "$tmp/${pair%%:*}.img" "$f") b=$(norm "$tmp/${pair#*:}.img" "$f")
		[ -n "$a" ] && [ "$a" = "$b" ] || fail "$pair $f: grouped and flat maps differ"
	done
done
# Under --xip=elf, ELF files whose XIP pages sit between compressed ones
# get smaller groups or none, and all files still check out (roundtrip).
"$MKFS" -v -z zstd -C 16K --xip=elf -E maps=grouped "$tmp/v.img" "$src" >"$tmp/v.log" ||
	fail "mkfs -v"
if grep -q '^/bin/ls: .* [1-9][0-9]* xip, [1-9][0-9]* comp, ' "$tmp/v.log"; then
	grep '^/bin/ls: ' "$tmp/v.log" | grep -q 'map 1 entry per 128 pages' &&
		fail "/bin/ls mixes XIP and compressed pages but got one group: $(grep '^/bin/ls' "$tmp/v.log")"
fi
grep -q '^/text/big: .*, map 1 entry per 128 pages$' "$tmp/v.log" || fail "mkfs -v: $(grep '^/text/big' "$tmp/v.log")"

# Shared clusters: a file's end as a piece is an end run; the file keeps
# its groups.
expect_group "$tmp/g-frag.img" /text/big 128
"$DUMP" -p -m /text/big "$tmp/g-frag.img" | grep -q '^map: .*(3 entries, end run from page 304)$' ||
	fail "g-frag /text/big: no end run from page 304: $("$DUMP" -p -m /text/big "$tmp/g-frag.img" | sed -n 2p)"
"$DUMP" -p -m /text/big "$tmp/g-frag.img" | grep -q '^page 314: compressed cluster' || fail "g-frag: last page"
n=0
for i in $(seq 1 20); do
	"$DUMP" -p -m /text/t$i "$tmp/g-frag.img" | grep -q '^page 0: compressed cluster [0-9]* index [1-9]' &&
		[ "$(group "$tmp/g-frag.img" /text/t$i)" -gt 1 ] && n=$((n + 1))
done
[ $n -gt 0 ] || fail "no grouped file starts inside a shared cluster"
# With span, mkfs still keeps the end of a larger file in one shared cluster
# (from before end runs, which could follow it into the next one); with flat
# maps it may span.
for f in /text/big /bin/random; do
	expect_group "$tmp/g-span.img" $f 128
done
expect_group "$tmp/g-span.img" /text/c16k+100 16
# Packed after a 2-page file into 4-page clusters, a 3-page end would span.
mkdir "$tmp/sp"
seq 1 3000 | head -c 8192 >"$tmp/sp/a"
seq 1 100000 | head -c $(((4 * 10 + 3) * 4096)) >"$tmp/sp/big"
roundtrip "$tmp/sp" sp-g -E fragments,span,maps=grouped -C 16K -z zlib --xip=none
roundtrip "$tmp/sp" sp-f -E fragments,span,maps=flat -C 16K -z zlib --xip=none
expect_group "$tmp/sp-g.img" /big 64	# and an end run from page 40
"$DUMP" -p -m /big "$tmp/sp-g.img" | grep -q '^page 42: compressed cluster [0-9]* index 2 ' ||
	fail "grouped, span: the end of /big is not in one cluster"
"$DUMP" -p -m /big "$tmp/sp-f.img" | grep -q '^page 42: compressed cluster [0-9]* index 0 ' ||
	fail "flat, span: the end of /big does not span (span lost?)"

# Smaller metadata: by exactly the page map bytes saved
"$MKFS" -z lz4hc -C 128K --xip=none -E maps=grouped "$tmp/s1.img" "$src" >"$tmp/s1.log" ||
	fail "mkfs (summary)"
"$MKFS" -z lz4hc -C 128K --xip=none -E maps=flat "$tmp/s2.img" "$src" >"$tmp/s2.log" || fail "mkfs flat (summary)"
meta() { sed -n 's/.*metadata \([0-9]*\) bytes.*/\1/p' "$1"; }
maps() { sed -n 's/^  page maps \([0-9]*\) bytes, .*/\1/p' "$1"; }
mg=$(meta "$tmp/s1.log") mf=$(meta "$tmp/s2.log") pg=$(maps "$tmp/s1.log") pf=$(maps "$tmp/s2.log")
pages=$(sed -n 's/^  data pages \([0-9]*\):.*/\1/p' "$tmp/s2.log")
[ -n "$mg" ] && [ -n "$pg" ] && [ "$mg" -lt "$mf" ] || fail "metadata: grouped $mg, flat $mf bytes"
# (and the cluster table: zero pages inside clusters may make them differ)
ctb() { sed -n 's/^  cluster table: [^,]*, \([0-9]*\) bytes.*/\1/p' "$1"; }
cg=$(ctb "$tmp/s1.log") cf=$(ctb "$tmp/s2.log")
# (the compact table is padded to 8 bytes in the metadata)
[ -n "$cg" ] && [ $((mf - mg)) = $((pf - pg + (cf + 7) / 8 * 8 - (cg + 7) / 8 * 8)) ] ||
	fail "metadata shrank by $((mf - mg)), page maps by $((pf - pg)), cluster table $cf -> $cg bytes"
[ "$pf" = $((8 * pages)) ] || fail "flat page maps $pf bytes for $pages pages"
grep -q '^  page maps [0-9]* bytes, 0 of [0-9]* files grouped, 0 with extent maps (0 extents)$' "$tmp/s2.log" || fail "flat summary"
echo "ok metadata: $mg bytes grouped, $mf flat (page maps $pg / $pf)"

# Reproducible: another run, and one thread.
repro "$src" "-z lz4hc" "-E fragments,span -C 16K" "--xip=elf -z zstd -C 16K"

# A read-write mount rewrites a grouped map per page before an edit
# (rwedit does as the driver does): still clean, same contents.
cp "$tmp/g-free.img" "$tmp/rw.img"
"$RWEDIT" "$tmp/rw.img" kill-cluster /text/big -- xip-to-freed /text/big 1 -- \
	move-map /bin/random -- shrink /text/t5 100 || fail "rwedit of a grouped image"
"$FSCK" "$tmp/rw.img" || fail "rw edits of grouped maps: fsck"
"$DUMP" -p -m /text/big "$tmp/rw.img" | grep -q '^map: offset [0-9]*, 1 page of the data region' ||
	fail "the edited grouped map was not rewritten per page"
for f in text/big bin/random text/t1; do
	"$DUMP" -c /$f "$tmp/rw.img" | cmp -s - "$src/$f" || fail "rw: /$f differs"
done

# Damage behind valid checksums: exit 4 with the message, no crash.
# bad BASE NAME MESSAGE RWEDIT-ARGS...
bad() {
	local base=$1 name=$2 msg=$3 rc
	shift 3
	cp "$tmp/$base.img" "$tmp/$name.img"
	"$RWEDIT" "$@" || fail "$name: rwedit $*"
	"$FSCK" "$tmp/$name.img" >"$tmp/$name.fsck" 2>&1
	rc=$?
	[ $rc = 4 ] || { cat "$tmp/$name.fsck"; fail "$name: fsck exit $rc, want 4"; }
	grep -qF -- "$msg" "$tmp/$name.fsck" || { cat "$tmp/$name.fsck"; fail "$name: no \"$msg\""; }
	"$DUMP" -p -m /text/big "$tmp/$name.img" >/dev/null 2>&1
	[ $? -le 1 ] || fail "$name: dump -m crashed"
	"$DUMP" --extract "$tmp/x" "$tmp/$name.img" >/dev/null 2>&1
	[ $? -le 1 ] || fail "$name: dump --extract crashed"
	rm -rf "$tmp/x"
	echo "ok $name: $(grep -F -- "$msg" "$tmp/$name.fsck" | head -1)"
}
bad grouped nofeature "without the GROUPED_MAPS feature" --fixed "$tmp/nofeature.img" incompat-clear 8
bad flat shift-in-flat "not 8-byte aligned (group shift 3 without the GROUPED_MAPS feature)" \
	--fixed "$tmp/shift-in-flat.img" map-shift /text/big 3
bad grouped map-out "grouped page map [" --fixed "$tmp/map-out.img" map-cap /text/big 4294967295
bad grouped cnum "runs on past the largest cluster number" --fixed "$tmp/cnum.img" \
	set-cluster /text/big 0 0xffffffffffff
bad g-elf tail-k "is a tail (only the group's first page may be one)" \
	--fixed "$tmp/tail-k.img" copy-entry /text/c16k+100 1 0
bad g-free rw-map-data "grouped page map [" "$tmp/rw-map-data.img" map-at /text/big free+5
bad g-frag run-early "end run from page 5 outside the last group" \
	--fixed "$tmp/run-early.img" set-run /text/big 5
bad g-frag run-past "end run from page 315 outside the last group" \
	--fixed "$tmp/run-past.img" set-run /text/big 315
"$DUMP" -p -m /text/big "$tmp/cnum.img" | grep -q '^page [0-9]*: invalid entry' ||
	fail "dump -m: an invalid derived entry not shown"
exit 0
