#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A sparse file over 4 GiB: offsets past 2^32 survive, and its all-zero
# pages become HOLE entries without being stored: with flat maps each one,
# with grouped maps (the default) each 64K cluster-sized group of them (a
# zero page in a cluster with data is compressed with it).
set -u
MKFS=$BUILD/mkfs.xipfs FSCK=$BUILD/fsck.xipfs DUMP=$BUILD/dump.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$tmp/src"
F=$tmp/src/big
truncate -s 5G "$F" 2>/dev/null || { echo "no sparse files here"; exit 77; }
# Data in page 0, at 4.5 GiB (page 1179648) and in the last page.
seq 1 500 > "$tmp/head"
dd if="$tmp/head" of="$F" conv=notrunc status=none
printf 'beyond 4 GiB' | dd of="$F" bs=1 seek=$((4608 << 20)) conv=notrunc status=none
printf 'the end' | dd of="$F" bs=1 seek=$(((5 << 30) - 7)) conv=notrunc status=none
# And pages of zeros written out for real: page 10 (in page 0's 64K group),
# page 40 (in a group of zeros).
dd if=/dev/zero of="$F" bs=4096 seek=10 count=1 conv=notrunc status=none
dd if=/dev/zero of="$F" bs=4096 seek=40 count=1 conv=notrunc status=none

# check MAPS LAYOUT MAX-BYTES PAGE10
check() {
	"$MKFS" -v -E maps=$1 "$tmp/img" "$tmp/src" > "$tmp/log" || fail "mkfs: $(cat "$tmp/log")"
	grep -q "^/big: 1310720 pages, 0 xip, $2\$" "$tmp/log" ||
		fail "$1 page layout: $(grep big "$tmp/log")"
	"$FSCK" "$tmp/img" || fail "$1: fsck"
	[ "$(stat -c %s "$tmp/img")" -lt "$3" ] || fail "$1: image too large: $(stat -c %s "$tmp/img")"
	"$DUMP" -l / "$tmp/img" | grep -q ' 5368709120 .* big$' || fail "size: $("$DUMP" -l / "$tmp/img")"
	"$DUMP" -p -m /big "$tmp/img" > "$tmp/map" || fail "dump -m"
	grep -q '^page 1179648: comp' "$tmp/map" || fail "$1: page at 4.5 GiB: $(grep '^page 1179648:' "$tmp/map")"
	grep -q '^page 1310719: comp' "$tmp/map" || fail "$1: last page: $(grep '^page 1310719:' "$tmp/map")"
	grep -q "^page 10: $4" "$tmp/map" || fail "$1: zero page 10: $(grep '^page 10:' "$tmp/map")"
	grep -q '^page 40: hole' "$tmp/map" || fail "$1: zero page 40: $(grep '^page 40:' "$tmp/map")"
	# The first 64K (page 10 too) read back.
	cmp -s <("$DUMP" -c /big "$tmp/img" | head -c 65536) <(head -c 65536 "$F") ||
		fail "$1: the first 64K of /big differ"
}
# The flat page map alone is 10 MiB (8 bytes a page); nothing else is big.
check flat "3 comp, 1310717 hole, 0 tail" $(((10 << 20) + (64 << 10))) hole
# Grouped: one entry per 16 pages, 640 KiB.
check grouped "48 comp, 1310672 hole, 0 tail, map 1 entry per 16 pages" $((1 << 20)) comp

# An image over 4 GiB: 5 GiB of free space (zero-filled, so sparse here).
"$MKFS" -q --free-space 5G "$tmp/img" "$tmp/src" || fail "mkfs --free-space 5G"
"$FSCK" "$tmp/img" || fail "fsck of a 5 GiB image"
"$DUMP" "$tmp/img" | grep -q 'free area: .*+5368709120' || fail "free area: $("$DUMP" "$tmp/img" | grep free)"
echo ok
