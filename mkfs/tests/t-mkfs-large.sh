#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A sparse file over 4 GiB: offsets past 2^32 survive, and its all-zero
# pages become HOLE entries without being stored.
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
# And a page of zeros written out for real: still a hole.
dd if=/dev/zero of="$F" bs=4096 seek=10 count=1 conv=notrunc status=none

"$MKFS" -v "$tmp/img" "$tmp/src" > "$tmp/log" || fail "mkfs: $(cat "$tmp/log")"
grep -q '^/big: 1310720 pages, 0 xip, 3 comp, 1310717 hole, 0 tail$' "$tmp/log" ||
	fail "page layout: $(grep big "$tmp/log")"
"$FSCK" "$tmp/img" || fail fsck
# The page map alone is 10 MiB (8 bytes a page); nothing else is big.
[ "$(stat -c %s "$tmp/img")" -lt $(((10 << 20) + (64 << 10))) ] || fail "image too large: $(stat -c %s "$tmp/img")"
"$DUMP" -l / "$tmp/img" | grep -q ' 5368709120 .* big$' || fail "size: $("$DUMP" -l / "$tmp/img")"
"$DUMP" -m /big "$tmp/img" > "$tmp/map" || fail "dump -m"
grep -q '^page 1179648: comp' "$tmp/map" || fail "page at 4.5 GiB: $(grep '^page 1179648:' "$tmp/map")"
grep -q '^page 1310719: comp' "$tmp/map" || fail "last page: $(grep '^page 1310719:' "$tmp/map")"
grep -q '^page 10: hole' "$tmp/map" || fail "zero page: $(grep '^page 10:' "$tmp/map")"

# An image over 4 GiB: 5 GiB of free space (zero-filled, so sparse here).
"$MKFS" -q --free-space 5G "$tmp/img" "$tmp/src" || fail "mkfs --free-space 5G"
"$FSCK" "$tmp/img" || fail "fsck of a 5 GiB image"
"$DUMP" "$tmp/img" | grep -q 'free area: .*+5368709120' || fail "free area: $("$DUMP" "$tmp/img" | grep free)"
echo ok
