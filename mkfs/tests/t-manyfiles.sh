#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# 10,000 small files (many tail-packed pages, big directories): round trip.
. "$SRCDIR/tests/common.sh"

src=$tmp/src
for d in $(seq -w 0 9); do
	mkdir -p "$src/d$d"
	# One process per directory: printf-driven, no per-file fork.
	(cd "$src/d$d" && for i in $(seq -w 0 999); do
		printf 'file %s/%s\n' "$d" "$i" >"f$i"
	done)
done
[ "$(find "$src" -type f | wc -l)" = 10000 ] || fail "tree not built"
fix_dir_times "$src"
roundtrip "$src" many-lz4 -z lz4 --xip=none
"$FSCK" -v "$tmp/many-lz4.img" | grep -q "10000 files" || fail "fsck -v does not count 10000 files"
# With fragments too: such tiny files still go to tails (cheaper than a
# zero-padded page of a shared cluster), so the image is no larger.
roundtrip "$src" many-frag -z lz4 --xip=none -E fragments
[ "$(stat -c %s "$tmp/many-frag.img")" -le "$(stat -c %s "$tmp/many-lz4.img")" ] ||
	fail "fragments grew an image of 10000 tiny files (tails)"
exit 0
