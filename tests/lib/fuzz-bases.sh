#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fuzz-bases.sh OUTDIR MKFS: the valid images that the structure-aware
# mutator (mkfs/tests/mutate) starts from, the same bytes every run
# (fixed contents and mtimes, reproducible mkfs), as OUTDIR/bN.img:
#   b1  lz4, 16K clusters, XIP ELF, compact inodes, grouped maps, end runs,
#       the 8-byte cluster table
#   b2  zstd, shared clusters (-E fragments), XIP ELF, data checksums,
#       extent maps, the compact cluster table (as every image but b1)
#   b3  lz4 with free space: extended inodes, per-page maps (read-write),
#       extended attributes (SELinux labels from a file_contexts: shared
#       ones, a long one, unique ones)
#   b4  xz, no XIP, flat maps, nanosecond mtimes (extended inodes), tails,
#       the same attributes
#   b5  zlib, 4K clusters, everything XIP, free space (read-write)
# bin/prog is a 129-byte static x86-64 ELF that calls exit(0) (the guest
# executes it from the mount).  Small on purpose: the kernel run writes
# each image to the window, so bytes cost time.  An image's name and a seed name
# one mutated image: tests/xipfs/061, make fuzz, mkfs/tests/t-mutate.sh.
set -eu
out=$1 mkfs=$2
src=$out/src fc=$out/contexts
rm -rf "$src"
mkdir -p "$src/bin" "$src/etc" "$src/d/e" "$src/many"
# ELF header, one PT_LOAD (r-x) of the whole file at 0x400000, then
# xor %edi,%edi; mov $60,%eax; syscall.
printf '\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\2\0\076\0\1\0\0\0\170\0\100\0\0\0\0\0\100\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\100\0\070\0\1\0\0\0\0\0\0\0\1\0\0\0\5\0\0\0\0\0\0\0\0\0\0\0\0\0\100\0\0\0\0\0\0\0\100\0\0\0\0\0\201\0\0\0\0\0\0\0\201\0\0\0\0\0\0\0\0\020\0\0\0\0\0\0\061\377\270\074\0\0\0\017\005' \
	>"$src/bin/prog"
chmod 755 "$src/bin/prog"
seq 1 6000 >"$src/etc/text"
# Incompressible bytes from a fixed-seed generator (no python needed).
awk 'BEGIN { x = 21; for (i = 0; i < 3000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%08x", x } }' \
	>"$src/etc/random"
truncate -s 100K "$src/etc/sparse"
echo tail >>"$src/etc/sparse"
for i in $(seq 1 5); do echo "$i" >"$src/many/f$i"; done
echo "a name of some length" >"$src/many/$(printf 'n%.0s' $(seq 1 120))"
ln -s ../etc/text "$src/d/link"
ln -s /nonexistent/../../x "$src/d/abs"
ln "$src/many/f1" "$src/d/hard"
mkfifo "$src/d/fifo"
echo deep >"$src/d/e/deep"
find "$src" -exec touch -h -d @1000000000 {} +
# Labels every inode: two shared by many, a 200-byte one, unique ones.
{
	echo "/.*	system_u:object_r:default_t:s0"
	echo "/etc(/.*)?	system_u:object_r:etc_t:s0"
	echo "/etc/random	--	system_u:object_r:$(printf 'r%.0s' $(seq 1 170))_t:s0"
	for i in 1 2 3; do echo "/many/f$i	--	system_u:object_r:f${i}_t:s0"; done
	echo "/d/link	-l	system_u:object_r:link_t:s0"
	echo "/d/fifo	<<none>>"
} >"$fc"
"$mkfs" -q -z lz4 -C 16K -E maps=grouped,clusters=full "$out/b1.img" "$src"
"$mkfs" -q -z zstd --xip=elf -C 16K -E fragments,checksums,maps=extents "$out/b2.img" "$src"
"$mkfs" -q -z lz4 --xip=elf -C 16K --free-space 256K --file-contexts="$fc" "$out/b3.img" "$src"
find "$src" -exec touch -h -d @1000000000.5 {} +
"$mkfs" -q -z xz --xip=none -E maps=flat --file-contexts="$fc" "$out/b4.img" "$src"
"$mkfs" -q -z zlib -C 4K --xip=all --free-space 256K "$out/b5.img" "$src"
rm -rf "$src" "$fc"
