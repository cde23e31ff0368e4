#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Corrupted compressed data, without data checksums: fsck decompresses
# every cluster, so a flipped byte that makes a cluster fail to
# decompress, or decompress to another length, is always a problem
# (asserted).  A flip that decodes to other bytes of the right length
# cannot be seen without checksums: counted, not asserted.  Prints, per
# algorithm, the share of single-byte flips detected (XIPFS_FLIPS per
# image, default 300; XIPFS_SEED).
. "$SRCDIR/tests/common.sh"
COMPFLIP=$BUILD/tests/compflip
seed=${XIPFS_SEED:-20261206}
flips=${XIPFS_FLIPS:-300}

src=$tmp/src
flip_tree "$src"

total=0 found=0
for z in lz4 lz4hc zstd zlib xz; do
	"$MKFS" -q -z $z --xip=none "$tmp/$z.img" "$src" || fail "mkfs -z $z"
	"$COMPFLIP" "$tmp/$z.img" "$seed" "$flips" >"$tmp/out" 2>&1
	rc=$?
	echo "-z $z: $(cat "$tmp/out")"
	[ $rc = 0 ] || fail "-z $z: a cluster that does not decompress was not reported by fsck"
	# ALG: N flips, D detected (P%): fails F (Fd detected), ...
	read -r n d f < <(sed -E 's/^[a-z0-9]+: ([0-9]+) flips, ([0-9]+) detected.* fails ([0-9]+) .*/\1 \2 \3/' "$tmp/out")
	[ "$f" -gt 0 ] || fail "-z $z: no flip made a cluster fail to decompress: the test shows nothing"
	total=$((total + n))
	found=$((found + d))
done
echo "all algorithms: $found of $total single-byte flips of compressed data detected without checksums ($((found * 100 / total))%)"
