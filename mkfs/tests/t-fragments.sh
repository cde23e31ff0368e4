#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# -E fragments: small files and the ends of larger ones are packed into
# shared clusters.  Round trips (fsck clean, extract equal to the source)
# for many small files, sizes around page and cluster boundaries, holes,
# duplicates and ELF files under --xip=elf; the feature bit only when a
# shared cluster is written; smaller images; reproducible output.
. "$SRCDIR/tests/common.sh"

src=$tmp/src
mkdir -p "$src/small/text" "$src/small/bin" "$src/edge" "$src/holes" "$src/dup" "$src/elf"
# Many small files: text of all lengths, some binary, some empty.
for i in $(seq 0 149); do
	seq $((i * 7)) $((i * 7 + i * i % 1500)) | sed "s/^/line $i: /" >"$src/small/text/t$i.txt"
done
for i in $(seq 0 39); do
	head -c $((i * 397 % 9000)) /dev/urandom >"$src/small/bin/b$i.dat"
done
: >"$src/small/empty"
printf x >"$src/small/one"
# Sizes just under and over page and cluster boundaries (16K and 64K).
for c in 4096 16384 65536; do
	for s in $((c - 1)) $c $((c + 1)) $((c - 4096 + 1)) $((c + 4095)) $((2 * c - 1)) $((2 * c + 1)); do
		[ $s -gt 0 ] || continue
		seq 1 100000 | head -c $s >"$src/edge/s$s"
	done
done
# Runs cut short by holes, and a file that ends in a hole.
seq 1 3000 | head -c 9000 >"$src/holes/a"
truncate -s 70000 "$src/holes/a"
seq 5 3000 | head -c 7000 >>"$src/holes/a"
truncate -s 300000 "$src/holes/a"
seq 1 2000 >"$src/holes/b"
truncate -s 200000 "$src/holes/b"
# Identical files and identical file ends (stored once).
seq 1 1500 >"$src/dup/one"
cp "$src/dup/one" "$src/dup/two"
seq 1 20000 >"$src/dup/big1"
cp "$src/dup/big1" "$src/dup/big2"
# ELF files: with --xip=elf, runs between XIP segments become pieces too.
cp /bin/true /bin/ls "$src/elf/"
libc=$(ldd /bin/ls 2>/dev/null | awk '/libc\.so/ { print $3 }')
[ -n "$libc" ] && [ -f "$libc" ] && cp "$libc" "$src/elf/"
fix_dir_times "$src"

roundtrip "$src" frag -E fragments
roundtrip "$src" frag-long --fragments --xip=none
roundtrip "$src" frag-16k -E fragments -C 16K -z zstd --xip=none
roundtrip "$src" frag-256k -E fragments -C 256K -z xz
roundtrip "$src" frag-4k -E fragments -C 4K
roundtrip "$src" frag-zlib-16kpage -E fragments -z zlib --page-size 16K
roundtrip "$src" frag-free -E fragments --free-space 1M -z lz4
roundtrip "$src" frag-xipall -E fragments --xip=all
roundtrip "$src" nofrag -E fragments,nofragments
# span: a piece may continue in the next shared cluster.
roundtrip "$src" span -E fragments,span
roundtrip "$src" span-16k -E fragments,span -C 16K -z zstd --xip=none
roundtrip "$src" span-8k -E span,fragments -C 8K -z lz4 --xip=none
roundtrip "$src" span-64kpage -E fragments,span --page-size 64K -C 256K -z zlib

incompat() { "$DUMP" -s "$1" | sed -n 's/.*incompat 0x\([0-9a-f]*\).*/\1/p'; }
shared_bit() { echo $(( 0x$(incompat "$1") & 4 )); }
[ "$(shared_bit "$tmp/frag.img")" = 4 ] || fail "frag: SHARED_CLUSTERS not set"
[ "$(shared_bit "$tmp/frag-16k.img")" = 4 ] || fail "frag-16k: SHARED_CLUSTERS not set"
[ "$(shared_bit "$tmp/nofrag.img")" = 0 ] || fail "nofrag: SHARED_CLUSTERS set"
# Nothing to share: cluster = page, or everything XIP.
[ "$(shared_bit "$tmp/frag-4k.img")" = 0 ] || fail "frag-4k: SHARED_CLUSTERS set"
[ "$(shared_bit "$tmp/frag-xipall.img")" = 0 ] || fail "frag-xipall: SHARED_CLUSTERS set"

# The default is off, and fragments make this tree's image smaller.
"$MKFS" -q --xip=none "$tmp/plain.img" "$src" || fail "mkfs without fragments"
"$MKFS" -q -E nofragments --xip=none "$tmp/plain2.img" "$src" || fail "mkfs -E nofragments"
cmp "$tmp/plain.img" "$tmp/plain2.img" || fail "-E nofragments is not the default"
[ "$(shared_bit "$tmp/plain.img")" = 0 ] || fail "fragments are on by default"
a=$(stat -c %s "$tmp/plain.img") b=$(stat -c %s "$tmp/frag-long.img")
[ "$b" -lt "$a" ] || fail "fragments did not shrink the image ($b >= $a bytes)"
echo "ok size: $a bytes without fragments, $b with"

# A small file's page lives at another page of a shared cluster; the
# duplicates share one piece.
"$DUMP" -p -m /small/text/t149.txt "$tmp/frag.img" >"$tmp/map" || fail "dump -m"
grep -q 'compressed cluster' "$tmp/map" || fail "t149.txt is not compressed: $(cat "$tmp/map")"
nonzero=0
for i in $(seq 0 149); do
	"$DUMP" -p -m /small/text/t$i.txt "$tmp/frag.img" | grep -q 'page 0: compressed cluster [0-9]* index [1-9]' &&
		nonzero=$((nonzero + 1))
done
[ $nonzero -gt 0 ] || fail "no small file starts inside a shared cluster"
m1=$("$DUMP" -p -m /dup/one "$tmp/frag.img" | grep '^page') m2=$("$DUMP" -p -m /dup/two "$tmp/frag.img" | grep '^page')
[ "$m1" = "$m2" ] || fail "identical files are stored twice: $m1 / $m2"
m1=$("$DUMP" -p -m /dup/big1 "$tmp/frag.img" | tail -2 | head -1) m2=$("$DUMP" -p -m /dup/big2 "$tmp/frag.img" | tail -2 | head -1)
[ "$m1" = "$m2" ] || fail "identical file ends are stored twice: $m1 / $m2"
# nodedupe: identical whole files would share before becoming pieces.
"$MKFS" -E fragments,nodedupe --xip=none "$tmp/v.img" "$src" >"$tmp/log" || fail "mkfs -E fragments (summary)"
grep -q 'fragments: [1-9][0-9]* pieces ([0-9]* pages, [1-9][0-9]* duplicates) in [1-9][0-9]* shared clusters' \
	"$tmp/log" || fail "summary: $(cat "$tmp/log")"
# With span every shared cluster but the last is full: fewer of them.
"$MKFS" -E fragments,span,nodedupe --xip=none "$tmp/v.img" "$src" >"$tmp/log2" || fail "mkfs -E fragments,span (summary)"
n1=$(sed -n 's/.* in \([0-9]*\) shared clusters.*/\1/p' "$tmp/log")
n2=$(sed -n 's/.* in \([0-9]*\) shared clusters.*/\1/p' "$tmp/log2")
[ -n "$n2" ] && [ "$n2" -lt "$n1" ] || fail "span: $n2 shared clusters, not fewer than $n1"

# Reproducible: another run, and one thread instead of several.
repro "$src" "-E fragments" "-E fragments -z zstd -C 16K --xip=none" "-E fragments,span -C 16K"

# A tar archive of the tree gives the same image (file data from the spool).
tar --format=pax -C "$src" -cf "$tmp/src.tar" . || fail "tar"
"$MKFS" -q -E fragments "$tmp/d.img" "$src" || fail "mkfs -E fragments (dir)"
"$MKFS" -q -E fragments --tar "$tmp/t.img" "$tmp/src.tar" || fail "mkfs -E fragments --tar"
cmp "$tmp/d.img" "$tmp/t.img" || fail "--tar -E fragments gives another image than the directory"
"$FSCK" "$tmp/t.img" || fail "fsck of the --tar image"

# fsck finds damage behind valid checksums: a shared page no file names,
# a shared cluster that lost its flag, the flag without the feature.
if command -v python3 >/dev/null; then
	ino=$("$DUMP" -p -m /small/text/t99.txt "$tmp/frag-long.img" | sed -n 's/.*: inode \([0-9]*\),.*/\1/p')
	[ -n "$ino" ] || fail "dump -m: no inode number"
	for a in hole:"used by no file" unshare:"before the start of the file" \
		 nofeat:"without the SHARED_CLUSTERS feature"; do
		python3 "$SRCDIR/tests/frag_edit.py" "$tmp/frag-long.img" "$tmp/bad.img" \
			"${a%%:*}" "$ino" >/dev/null || fail "frag_edit.py ${a%%:*}"
		"$FSCK" "$tmp/bad.img" >"$tmp/out" 2>&1
		rc=$?
		[ $rc = 4 ] || fail "${a%%:*}: fsck exit $rc: $(cat "$tmp/out")"
		grep -q "${a#*:}" "$tmp/out" || fail "${a%%:*}: no '${a#*:}' in $(cat "$tmp/out")"
	done
	rm -f "$tmp/bad.img"
fi

# Bad extended options are usage errors.
"$MKFS" -E frags "$tmp/bad.img" "$src" >"$tmp/log" 2>&1
[ $? = 2 ] || fail "-E frags: exit not 2"
grep -q "unknown extended option 'frags'" "$tmp/log" || fail "-E frags: $(cat "$tmp/log")"
[ ! -e "$tmp/bad.img" ] || fail "-E frags left an image"
# No temporary files are left next to the images.
left=$(find "$tmp" -maxdepth 1 -name '.*' ! -name . | wc -l)
[ "$left" = 0 ] || fail "temporary files left: $(ls -A "$tmp")"
echo ok
exit 0
