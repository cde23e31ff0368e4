#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Damaged images: seeded random single-byte flips in every region but the
# XIP area (superblock, inode table, directory blocks, page maps, cluster
# table, compressed data, unused space) and truncations must all be
# reported, and never crash the checker (run it under make SAN=1 check).
. "$SRCDIR/tests/common.sh"
seed=${XIPFS_SEED:-20261126}

src=$tmp/src
mkdir -p "$src/a/b/c" "$src/bin"
for i in $(seq 40); do echo "small file $i" >"$src/a/f$i"; done
seq 1 20000 >"$src/a/b/numbers"
head -c 20000 /dev/urandom >"$src/a/b/c/random"
truncate -s 100000 "$src/a/sparse"; echo end >>"$src/a/sparse"
ln -s ../a/f1 "$src/bin/link"
ln "$src/a/f2" "$src/bin/hard"
mkfifo "$src/bin/fifo"
cp /bin/true "$src/bin/true"
echo long >"$src/a/$(printf 'l%.0s' $(seq 200))"

"$MKFS" -q -z zlib --xip=elf "$tmp/zlib.img" "$src" || fail "mkfs zlib"
"$MKFS" -q -z lz4 --xip=none -C 8K "$tmp/lz4.img" "$src" || fail "mkfs lz4"
"$MKFS" -q -z xz --xip=elf "$tmp/xz.img" "$src" || fail "mkfs xz"
"$MKFS" -q -z zlib --xip=elf -C 16K -E fragments "$tmp/frag.img" "$src" || fail "mkfs fragments"
# Grouped page maps are the default above: per-page ones too.
"$MKFS" -q -z zlib --xip=elf -E maps=flat "$tmp/flat.img" "$src" || fail "mkfs flat maps"

# In-process: every flip detected, every truncation refused, no crash.
"$CORRUPT" "$tmp/zlib.img" "$seed" 800 --comp-data || fail "zlib image: undetected damage"
"$CORRUPT" "$tmp/lz4.img" $((seed + 1)) 800 || fail "lz4 image: undetected damage"
"$CORRUPT" "$tmp/xz.img" $((seed + 2)) 400 --comp-data || fail "xz image: undetected damage"
"$CORRUPT" "$tmp/frag.img" $((seed + 3)) 400 --comp-data || fail "fragments image: undetected damage"
"$CORRUPT" "$tmp/flat.img" $((seed + 4)) 400 --comp-data || fail "flat maps image: undetected damage"

# The cluster table, every byte (the images above have the compact one;
# and an 8-byte table): behind fixed checksums its structure alone must
# reveal each flip, or the flip must change no file's bytes.
"$MKFS" -q -z lz4 --xip=none -C 8K -E clusters=full "$tmp/full.img" "$src" || fail "mkfs clusters=full"
for img in lz4 zlib frag full; do
	"$DUMP" -s "$tmp/$img.img" | grep '^cluster table:'
	"$CORRUPT" --sweep-clusters "$tmp/$img.img" >"$tmp/sweep" || { cat "$tmp/sweep"; fail "$img image: undetected cluster table damage"; }
	tail -1 "$tmp/sweep"
done
"$DUMP" -s "$tmp/lz4.img" | grep -q '^cluster table: .*(compact: ' || fail "lz4 image: not a compact cluster table"

# The front end: exit 4 with a message (8 only when it cannot open at all).
for i in $(seq 30); do
	where=$("$CORRUPT" --write "$tmp/zlib.img" $((seed + i)) "$tmp/bad.img" --comp-data) ||
		fail "corrupt --write"
	"$FSCK" "$tmp/bad.img" >"$tmp/out" 2>&1
	rc=$?
	case $rc in
	4) grep -q . "$tmp/out" || fail "flip at $where: exit 4 without a message" ;;
	8) grep -q "not an xipfs image" "$tmp/out" || fail "flip at $where: exit 8: $(cat "$tmp/out")" ;;
	*) cat "$tmp/out"; fail "flip at $where: fsck exit $rc" ;;
	esac
	# dump must fail cleanly too (it opens through the same checks).
	"$DUMP" -l / -R "$tmp/bad.img" >/dev/null 2>&1
	rc=$?
	[ $rc -le 1 ] || fail "flip at $where: dump.xipfs exit $rc"
done
# Damage behind valid checksums reaches every structure check, and dump's
# readers and extraction: findings or not, nothing may crash.
for i in $(seq 60); do
	img=$tmp/zlib.img
	[ $i -gt 30 ] && img=$tmp/flat.img	# per-page maps
	[ $i -gt 40 ] && img=$tmp/frag.img	# shared clusters
	where=$("$CORRUPT" --write-fixed "$img" $((seed + 100 + i)) "$tmp/bad.img") ||
		fail "corrupt --write-fixed"
	"$FSCK" "$tmp/bad.img" >"$tmp/out" 2>&1
	rc=$?
	case $rc in
	0|4) ;;
	8) grep -q "not an xipfs image" "$tmp/out" || fail "fixed flip at $where: exit 8: $(cat "$tmp/out")" ;;
	*) cat "$tmp/out"; fail "fixed flip at $where: fsck exit $rc" ;;
	esac
	"$DUMP" -l / -R "$tmp/bad.img" >/dev/null 2>&1
	rc=$?
	[ $rc -le 1 ] || fail "fixed flip at $where: dump -l exit $rc"
	"$DUMP" --extract "$tmp/x" "$tmp/bad.img" >/dev/null 2>&1
	rc=$?
	[ $rc -le 1 ] || fail "fixed flip at $where: dump --extract exit $rc"
	chmod -R u+rwx "$tmp/x" 2>/dev/null
	rm -rf "$tmp/x"
done

size=$(stat -c %s "$tmp/zlib.img")
for len in 0 100 255 256 4096 $((size / 2)) $((size - 4096)) $((size - 1)); do
	head -c $len "$tmp/zlib.img" >"$tmp/short.img"
	"$FSCK" "$tmp/short.img" >"$tmp/out" 2>&1
	rc=$?
	[ $rc = 4 ] || [ $rc = 8 ] || { cat "$tmp/out"; fail "truncated to $len: fsck exit $rc"; }
done
"$FSCK" "$tmp/nonexistent.img" 2>/dev/null; [ $? = 8 ] || fail "missing image: exit not 8"
"$FSCK" 2>/dev/null; [ $? = 16 ] || fail "no argument: exit not 16"
"$FSCK" -q "$tmp/zlib.img" || fail "the clean image is no longer clean"
exit 0
