#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extent maps (INCOMPAT_EXTENT_MAPS): the default, -E maps=compact, gives a
# 5 GiB sparse file of a few data runs an extent map of a few hundred
# bytes where maps=grouped needs hundreds of KiB (both figures printed);
# dump -m, mkfs's summary and fsck -v say so; extracting gives the same
# bytes with the holes kept; identical files share data with identical
# extent maps; maps=extents round-trips a mixed tree, also with free space
# and through the read-write conversion to per-page maps; files that groups
# suit keep grouped maps (an image maps=grouped would make); fsck finds
# edited extent maps (exit 4 with the message) and nothing crashes.
. "$SRCDIR/tests/common.sh"
RWEDIT=$BUILD/tests/rwedit

src=$tmp/src
mkdir -p "$src/sparse" "$src/lib" "$src/text"
# 5 GiB, data at 0, 1 GiB + 5 pages, 3 GiB + 123 pages and the end.
big=$src/sparse/big
truncate -s 5G "$big"
seq 1 30000 | head -c 150000 | dd of="$big" conv=notrunc status=none
seq 5 40000 | dd of="$big" bs=4096 seek=$((262144 + 5)) conv=notrunc status=none
head -c 300000 /dev/urandom | dd of="$big" bs=4096 seek=$((786432 + 123)) conv=notrunc status=none
seq 1 500 | dd of="$big" bs=4096 seek=$((1310720 - 1)) conv=notrunc status=none
# A library-like file: runs of data with runs of holes between them.
runs=$src/lib/runs.so
truncate -s 3M "$runs"
for at in 0 77 300 301 512 700; do
	seq "$at" $((at + 9000)) | head -c 20000 | dd of="$runs" bs=4096 seek=$at conv=notrunc status=none
done
cp --sparse=always "$runs" "$src/lib/copy.so"	# identical: dedupe
seq 1 100000 >"$src/text/t"		# 144 pages: one grouped entry
echo small >"$src/text/small"
cp /bin/true "$src/text/"
: >"$src/text/empty"
fix_dir_times "$src"

# The page map figures before (maps=grouped) and after (the default).
"$MKFS" -E maps=grouped "$tmp/g.img" "$src" >"$tmp/g.log" || fail "mkfs -E maps=grouped"
"$MKFS" "$tmp/c.img" "$src" >"$tmp/c.log" || fail "mkfs"
maps() { sed -n 's/^  page maps \([0-9]*\) bytes, .*/\1/p' "$1"; }
meta() { sed -n 's/.*metadata \([0-9]*\) bytes.*/\1/p' "$1"; }
mapbytes() {	# IMAGE PATH: the map's bytes as dump -m tells
	local m
	m=$("$DUMP" -m "$2" "$1" | sed -n 2p)
	case $m in
	*"extent map: "*) echo "$m" | sed 's/.*extent map: [0-9]* extents\? (\([0-9]*\) bytes).*/\1/' ;;
	*"grouped: 1 entry per "*) echo $((8 * $(echo "$m" | sed 's/.*(\([0-9]*\) entr.*/\1/'))) ;;
	*) echo "?$m" ;;
	esac
}
gb=$(mapbytes "$tmp/g.img" /sparse/big) cb=$(mapbytes "$tmp/c.img" /sparse/big)
echo "5 GiB sparse file's map: $gb bytes with maps=grouped, $cb bytes with extents"
echo "all page maps: $(maps "$tmp/g.log") -> $(maps "$tmp/c.log") bytes, metadata $(meta "$tmp/g.log") -> $(meta "$tmp/c.log") bytes"
[ "$gb" -ge 100000 ] 2>/dev/null || fail "grouped map of /sparse/big: $gb bytes"
[ "$cb" -le 1000 ] 2>/dev/null || fail "extent map of /sparse/big: $cb bytes"
[ $(($(maps "$tmp/g.log") - $(maps "$tmp/c.log"))) -ge $((gb - cb)) ] || fail "page maps did not shrink"
"$DUMP" -m /sparse/big "$tmp/c.img" | grep -q '^map: offset [0-9]*, in the metadata area, extent map: [0-9]* extents ([0-9]* bytes)$' ||
	fail "dump -m: $("$DUMP" -m /sparse/big "$tmp/c.img" | sed -n 2p)"
"$DUMP" -m /sparse/big "$tmp/c.img" | grep -q '^summary: 1310720 pages: .*[0-9]* compressed .*, 13[0-9]* holes' ||
	fail "dump -m summary: $("$DUMP" -m /sparse/big "$tmp/c.img" | tail -1)"
"$DUMP" -p -m /lib/runs.so "$tmp/c.img" | grep -q '^extent 0: from page 0, entry 0x8' ||
	fail "dump -p -m: no extents listed"
grep -q '^  page maps [0-9]* bytes, [0-9]* of 7 files grouped, [1-9] with extent maps ([1-9][0-9]* extents)$' "$tmp/c.log" ||
	fail "mkfs summary: $(grep 'page maps' "$tmp/c.log")"
grep -q ', 0 with extent maps (0 extents)$' "$tmp/g.log" || fail "maps=grouped made extent maps"
"$DUMP" -s "$tmp/c.img" | grep -q '^features: .* extent_maps' || fail "-s: no extent_maps"
"$DUMP" -s "$tmp/g.img" | grep -q '^features: .* extent_maps' && fail "-s: extent_maps with maps=grouped"
"$FSCK" -v "$tmp/c.img" >"$tmp/fsck.log" || { cat "$tmp/fsck.log"; fail "fsck of the default image"; }
grep -q '^extent maps: [1-9] files, [1-9][0-9]* extents' "$tmp/fsck.log" || fail "fsck -v: no extent maps counted"
grep -q '^shared data: 1 files' "$tmp/fsck.log" || fail "fsck -v: copy.so does not share runs.so's data"
"$FSCK" "$tmp/g.img" || fail "fsck of the grouped image"
# The files that groups suit keep them.
"$DUMP" -m /text/t "$tmp/c.img" | grep -q 'grouped: 1 entry per 128 pages (2 entries)' ||
	fail "/text/t: $("$DUMP" -m /text/t "$tmp/c.img" | sed -n 2p)"
# Identical files, identical maps (but for the inode and map offset lines).
a=$("$DUMP" -p -m /lib/runs.so "$tmp/c.img" | sed '1,2d') b=$("$DUMP" -p -m /lib/copy.so "$tmp/c.img" | sed '1,2d')
[ -n "$a" ] && [ "$a" = "$b" ] || fail "copy.so's map is not runs.so's"

# Extract: the same bytes, the holes kept.
"$DUMP" --extract "$tmp/out" "$tmp/c.img" || fail "extract"
cmp "$big" "$tmp/out/sparse/big" || fail "/sparse/big differs"
diff -r "$src" "$tmp/out" >/dev/null || fail "extracted tree differs"
used=$(du -k "$tmp/out/sparse/big" | cut -f1)
[ "$used" -lt 65536 ] || fail "extracted /sparse/big takes $used KiB: holes lost"
rm -rf "$tmp/out"

# maps=extents: every file with pages, on a mixed tree.
mix=$tmp/mix
mkdir -p "$mix/d"
cp "$runs" "$mix/d/runs"
seq 1 200000 >"$mix/d/text"
head -c 200000 /dev/urandom >"$mix/d/random"
{ seq 1 20000 | head -c $((16 * 4096)); head -c 100 /dev/urandom; } >"$mix/d/tail"
for i in $(seq 1 10); do echo "small $i" >"$mix/d/s$i"; done
cp /bin/true /bin/ls "$mix/d/"
: >"$mix/d/empty"
fix_dir_times "$mix"
roundtrip "$mix" x-lz4 -E maps=extents -z lz4hc
roundtrip "$mix" x-elf -E maps=extents -z zstd -C 16K --xip=elf
roundtrip "$mix" x-frag -E maps=extents,fragments,span -C 16K
roundtrip "$mix" x-free -E maps=extents,nodedupe --free-space=1M -z zlib
"$FSCK" -v "$tmp/x-lz4.img" | grep -q '^extent maps: 16 files' || fail "maps=extents: not every file with pages"
"$FSCK" -v "$tmp/x-elf.img" | grep -q '^grouped page maps: 0 files' || fail "maps=extents: a grouped map"
repro "$mix" "-E maps=extents" ""
# An image with extent maps mounts read-only only, so nothing moves an
# extent map: one moved to the data region with the flag left set (what
# a read-write mount converting it could leave after a power cut) is
# damage, and mkfs says the free space goes unused.
"$MKFS" -q -E maps=extents,nodedupe --free-space=1M "$tmp/rw.img" "$mix" 2>"$tmp/rw.err" ||
	fail "mkfs maps=extents --free-space"
grep -q 'extent maps (-E maps=extents): the image mounts read-only only' "$tmp/rw.err" ||
	fail "mkfs did not warn that extent maps make the image read-only: $(cat "$tmp/rw.err")"
"$RWEDIT" "$tmp/rw.img" move-map-cut /d/runs || fail "rwedit of an extent-map image"
"$FSCK" "$tmp/rw.img" >"$tmp/rw.fsck" 2>&1
rc=$?
[ $rc = 4 ] && grep -q 'extent map.*outside the metadata area' "$tmp/rw.fsck" ||
	{ cat "$tmp/rw.fsck"; fail "a moved extent map with its flag: fsck exit $rc, want 4"; }

# Damage behind valid checksums: exit 4 with the message, no crash.
bad() {	# BASE NAME MESSAGE RWEDIT-OP...
	local base=$1 name=$2 msg=$3 rc
	shift 3
	cp "$tmp/$base.img" "$tmp/$name.img"
	"$RWEDIT" --fixed "$tmp/$name.img" "$@" || fail "$name: rwedit $*"
	"$FSCK" "$tmp/$name.img" >"$tmp/$name.fsck" 2>&1
	rc=$?
	[ $rc = 4 ] || { cat "$tmp/$name.fsck"; fail "$name: fsck exit $rc, want 4"; }
	grep -qF -- "$msg" "$tmp/$name.fsck" || { cat "$tmp/$name.fsck"; fail "$name: no \"$msg\""; }
	"$DUMP" -p -m /lib/runs.so "$tmp/$name.img" >/dev/null 2>&1
	[ $? -le 1 ] || fail "$name: dump -m crashed"
	"$DUMP" --extract "$tmp/x" "$tmp/$name.img" >/dev/null 2>&1
	[ $? -le 1 ] || fail "$name: dump --extract crashed"
	rm -rf "$tmp/x"
	echo "ok $name: $(grep -F -- "$msg" "$tmp/$name.fsck" | head -1)"
}
rm -f "$big"	# the rest needs a smaller image
"$MKFS" -q "$tmp/s.img" "$src" || fail "mkfs (small tree)"
"$DUMP" -m /lib/runs.so "$tmp/s.img" | grep -q 'extent map: 10 extents' ||
	fail "runs.so: $("$DUMP" -m /lib/runs.so "$tmp/s.img" | sed -n 2p)"
bad s unsorted "): extent map: extent 2 (from page 1) does not start after extent 1 (from page 16)" \
	set-xpage /lib/runs.so 2 1
bad s first "extent map: extent 0 starts at page 3, not at page 0" set-xpage /lib/runs.so 0 3
bad s past-cap "starts at page 768, past the map capacity (768 pages)" set-xpage /lib/runs.so 1 768
bad s count0 "extent map of 0 extents (must be 1 to the capacity, 768)" set-xcount /lib/runs.so 0
bad s count-big "extent map of 769 extents" set-xcount /lib/runs.so 769
bad s count-past "runs past the metadata area" set-xcount /lib/runs.so 700
bad s nofeature "extent map flag without the EXTENT_MAPS feature" incompat-clear 0x20
bad s endrun "extent map flag together with the end-run flag" flags-set /lib/runs.so 2
bad s shift "extent map with group shift 3" map-shift /lib/runs.so 3
bad s cnum "page 80: page 16 of extent 2 (from page 64) whose entry 0x8000ffffffffffff runs on past the largest cluster number" \
	set-cluster /lib/runs.so 2 0xffffffffffff
bad s dir "extent-map flag on a non-regular file" flags-set /text 4
exit 0
