#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Data checksums (mkfs.xipfs -E checksums, RO_COMPAT_DATA_CSUM): every
# single-byte flip of a cluster's bytes, compressed or stored, and of an
# XIP page is a problem for fsck, over every algorithm (asserted: 100 %).
# Without checksums an XIP flip goes unseen (the documented limit; some
# flip must pass, else this shows nothing).  dump.xipfs -x refuses a
# damaged file instead of extracting other bytes.  XIPFS_FLIPS flips per
# image (default 300), XIPFS_SEED.
. "$SRCDIR/tests/common.sh"
COMPFLIP=$BUILD/tests/compflip
seed=${XIPFS_SEED:-20261206}
flips=${XIPFS_FLIPS:-300}

src=$tmp/src
flip_tree "$src"
# Random bytes do not compress: stored clusters.
head -c 100000 /dev/urandom >"$src/random"

total=0
for z in lz4 lz4hc zstd zlib xz; do
	"$MKFS" -q -z $z -E checksums "$tmp/$z.img" "$src" || fail "mkfs -z $z -E checksums"
	"$DUMP" -s "$tmp/$z.img" | grep -q '^features:.* data_csum' ||
		fail "-z $z: dump -s does not show data_csum"
	"$COMPFLIP" "$tmp/$z.img" "$seed" "$flips" >"$tmp/out" 2>&1
	rc=$?
	echo "-z $z, checksums: $(cat "$tmp/out")"
	[ $rc = 0 ] || fail "-z $z: a flipped cluster byte was not reported by fsck"
	"$COMPFLIP" -x "$tmp/$z.img" "$seed" "$flips" >"$tmp/out" 2>&1
	rc=$?
	echo "-z $z, checksums: $(cat "$tmp/out")"
	[ $rc = 0 ] || fail "-z $z: a flipped XIP byte was not reported by fsck"
	total=$((total + 2 * flips))
done
echo "all algorithms: $total of $total single-byte flips (clusters and XIP pages) detected with checksums"

# Without checksums: compressed flips are the business of t-compflip;
# an XIP flip is not seen.
"$MKFS" -q -z lz4 "$tmp/plain.img" "$src" || fail "mkfs without checksums"
"$COMPFLIP" -x "$tmp/plain.img" "$seed" "$flips" >"$tmp/out" 2>&1 || fail "compflip -x: $(cat "$tmp/out")"
echo "no checksums: $(cat "$tmp/out")"
read -r n d < <(sed -E 's/^xip: ([0-9]+) flips, ([0-9]+) detected.*/\1 \2/' "$tmp/out")
[ "$d" -lt "$n" ] || fail "without checksums every XIP flip was detected: the limit is not shown"

# The issue's symptom: dump -x of a flipped image fails, naming the cluster.
img=$tmp/lz4.img
comp_off=$("$DUMP" -s "$img" | sed -n 's/^compressed area: *\([0-9]*\).*/\1/p')
cp "$img" "$tmp/bad.img"
printf '\x55' | dd of="$tmp/bad.img" bs=1 seek=$((comp_off + 1000)) conv=notrunc status=none
cmp -s "$img" "$tmp/bad.img" && fail "the flip changed nothing"
"$FSCK" "$tmp/bad.img" >"$tmp/fsck.out" 2>&1 && fail "fsck passed a flipped cluster"
grep -q 'data checksum mismatch' "$tmp/fsck.out" || fail "fsck does not say data checksum: $(cat "$tmp/fsck.out")"
"$DUMP" -x "$tmp/x" "$tmp/bad.img" >"$tmp/dump.out" 2>&1 && fail "dump -x extracted a flipped image"
grep -q 'cluster [0-9]*: data checksum mismatch' "$tmp/dump.out" ||
	fail "dump -x does not name the cluster: $(cat "$tmp/dump.out")"
echo "ok: fsck and dump -x refuse a flipped cluster"
# With free space the image is still read-only: mkfs says so.
"$MKFS" -q -E checksums --free-space 64K "$tmp/fs.img" "$src" 2>"$tmp/warn" || fail "mkfs --free-space -E checksums"
grep -q 'data checksums.*read-only only' "$tmp/warn" || fail "no warning for -E checksums with --free-space"
# fsck -v counts what it checked.
"$FSCK" -v "$img" | grep -E '^data checksums: [1-9][0-9]* clusters and [1-9][0-9]* XIP pages checked' ||
	fail "fsck -v does not count the checked checksums"
