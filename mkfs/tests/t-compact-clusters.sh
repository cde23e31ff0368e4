#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The compact cluster table (-E clusters=compact, the default) against
# the 8-byte one (-E clusters=full): for each setting both images are
# fsck-clean, round-trip the tree, and extract to the same bytes; the
# compact one has the COMPACT_CLUSTERS feature and a table of
# xipfs_ct_size() bytes (smaller than the 8-byte one for large
# files; a tree of small files, each its own partial cluster, pays an
# exception word for most), the full one neither.  Settings: lz4hc 64K clusters (2-byte lengths), zstd
# 128K (3 bytes), fragments (shared clusters: exception words), data
# checksums, dedupe, xz with 64K pages, and a read-write image.  Prints
# both tables' sizes.  (mkfs uses one algorithm per image: the tables
# of mixed images are unit_image's.)
. "$SRCDIR/tests/common.sh"

src=$tmp/src
mkdir -p "$src/lib" "$src/copy" "$src/small"
seq 1 200000 >"$src/lib/numbers"
for f in /bin/bash /bin/ls; do
	[ -f "$f" ] && cp "$f" "$src/lib/"
done
python3 -c 'import random, sys; r = random.Random(5); sys.stdout.buffer.write(r.randbytes(300000))' \
	>"$src/lib/random" || fail "python3"
cp "$src/lib/numbers" "$src/copy/numbers"	# dedupe
for i in $(seq 40); do printf 'small file %d\n%0500d\n' "$i" "$i" >"$src/small/f$i"; done
truncate -s 1000000 "$src/lib/sparse"; echo end >>"$src/lib/sparse"

# table IMG: the cluster table line of dump -s.
table() { "$DUMP" -s "$1" | sed -n 's/^cluster table: *//p'; }
bytes() { table "$1" | sed -n 's/^[0-9]* +\([0-9]*\) .*/\1/p'; }

n=0
while read -r name opts; do
	s=$src
	[ "${name#big}" = "$name" ] || s=$src/lib	# few large files: regular clusters
	roundtrip "$s" "$name-c" $opts -E clusters=compact
	roundtrip "$s" "$name-f" $opts -E clusters=full
	"$MKFS" -q $opts "$tmp/$name-d.img" "$s" || fail "$name: mkfs (default)"
	"$DUMP" -s "$tmp/$name-c.img" | grep -q '^features:.* compact_clusters' ||
		fail "$name: compact image without compact_clusters"
	"$DUMP" -s "$tmp/$name-f.img" | grep -q '^features:.* compact_clusters' &&
		fail "$name: clusters=full image with compact_clusters"
	table "$tmp/$name-c.img" | grep -q '(compact: ' || fail "$name: dump shows no compact table"
	# The same bytes out of both forms.
	"$DUMP" --extract "$tmp/xc" "$tmp/$name-c.img" || fail "$name: extract compact"
	"$DUMP" --extract "$tmp/xf" "$tmp/$name-f.img" || fail "$name: extract full"
	diff -r --no-dereference "$tmp/xc" "$tmp/xf" >/dev/null || fail "$name: the two forms extract differently"
	"$TREECMP" "$tmp/xc" "$tmp/xf" $(cmp_opts) >/dev/null || fail "$name: metadata differs between the forms"
	rm -rf "$tmp/xc" "$tmp/xf"
	# Sizes: xipfs_ct_size(N, E, W) and 8 (N + 1).
	c=$(bytes "$tmp/$name-c.img") f=$(bytes "$tmp/$name-f.img")
	read -r N E W < <(table "$tmp/$name-c.img" |
		sed -n 's/.*(compact: \([0-9]*\) clusters, \([0-9]*\) exceptions, \([0-9]\)-byte.*/\1 \2 \3/p')
	[ -n "$W" ] && [ "$c" = $((8 + (N + 63) / 64 * 8 + 8 * E + W * N)) ] && [ "$f" = $((8 * (N + 1))) ] ||
		fail "$name: compact table $c bytes, full $f, for N=$N E=$E W=$W"
	echo "$name: cluster table $c bytes compact, $f bytes full: $(table "$tmp/$name-c.img")"
	# The default is the smaller form (a tie: the 8-byte one).
	want=f
	[ "$c" -lt "$f" ] && want=c
	cmp -s "$tmp/$name-$want.img" "$tmp/$name-d.img" ||
		fail "$name: the default is not the smaller table (clusters=$([ $want = c ] && echo compact || echo full))"
	[ "${name#big}" = "$name" ] || [ "$c" -lt "$f" ] || fail "$name: compact $c bytes, not under the full $f"
	n=$((n + 1))
done <<EOF2
big-lz4hc-64k -z lz4hc -C 64K --xip=none -E nofragments
big-zstd-128k -z zstd -C 128K --xip=none
lz4hc-64k -z lz4hc -C 64K --xip=none
zstd-128k -z zstd -C 128K --xip=none
frag -z lz4hc -C 64K --xip=none -E fragments,span
csum -z zstd -C 128K -E checksums,fragments
dedupe -z lz4 -C 32K --xip=none -E dedupe
xz-64kpage -z xz --page-size 64K -C 256K --xip=none
rw -z zlib --free-space=1M
EOF2
[ $n = 9 ] || fail "$n settings run"

# 3-byte lengths over 64K clusters, 2 bytes up to them.
table "$tmp/zstd-128k-c.img" | grep -q ', 3-byte lengths' || fail "zstd 128K: not 3-byte lengths"
table "$tmp/lz4hc-64k-c.img" | grep -q ', 2-byte lengths' || fail "lz4hc 64K: not 2-byte lengths"
# Shared clusters are exceptions.
table "$tmp/frag-c.img" | grep -q ', 0 exceptions' && fail "fragments: no exception words"
# No clusters: the 8-byte table (its sentinel only), no feature.
mkdir -p "$tmp/empty/d"
"$MKFS" -q "$tmp/empty.img" "$tmp/empty" || fail "mkfs of a tree without data"
"$DUMP" -s "$tmp/empty.img" | grep -q '^features:.* compact_clusters' &&
	fail "an image without clusters has compact_clusters"
"$MKFS" -q -E clusters=bogus "$tmp/bad.img" "$src" 2>"$tmp/err" && fail "clusters=bogus accepted"
grep -q "clusters=compact or clusters=full" "$tmp/err" || fail "clusters=bogus: $(cat "$tmp/err")"
exit 0
