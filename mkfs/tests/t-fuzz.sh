#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A short, bounded libFuzzer run over the image parser (fuzz_image.c, ASan
# + UBSan, the structure-aware custom mutator), seeded with small real
# images made by mkfs.xipfs and the committed corpus (tests/corpus).
. "$SRCDIR/tests/common.sh"
FUZZ=$BUILD/fuzz/fuzz_image
secs=${XIPFS_FUZZ_SECONDS:-20}
[ -x "$FUZZ" ] || skip "no fuzz target (clang with libFuzzer not installed)"

src=$tmp/src
mkdir -p "$src/d/e" "$tmp/corpus"
echo hello >"$src/a"
seq 1 3000 >"$src/d/numbers"
head -c 5000 /dev/urandom >"$src/d/e/random"
truncate -s 20000 "$src/d/sparse"; echo x >>"$src/d/sparse"
ln -s ../a "$src/d/link"
ln "$src/a" "$src/d/e/hard"
mkfifo "$src/d/fifo"
echo "/d/numbers 0" >"$tmp/xiplist"	# XIP page 0, then a cluster: an end run
n=0
for opts in "-z lz4 --xip=none" "-z zstd --xip=all" "-z zlib --xip=none -C 4K" \
	    "-z xz --xip=none" "-z lz4hc --xip=elf --free-space=8K" \
	    "-z lz4 --xip=none -C 16K -E fragments,span" \
	    "-z zstd --xip=elf -C 16K -E maps=flat" \
	    "-z lz4 --xip=all --free-space=8K -E maps=grouped" \
	    "-z lz4 -C 16K --xip=list:$tmp/xiplist" \
	    "-z lz4 -C 16K --xip=none -E maps=extents"; do
	n=$((n + 1))
	"$MKFS" -q $opts "$tmp/corpus/img$n" "$src" || fail "mkfs $opts"
done
# Extended attributes: labels (shared and not) from a file_contexts file.
printf '/.*\tsystem_u:object_r:usr_t:s0\n/d/numbers\t--\tsystem_u:object_r:bin_t:s0\n' \
	>"$tmp/fc"
"$MKFS" -q -z lz4 --xip=none --file-contexts="$tmp/fc" "$tmp/corpus/xattrs" "$src" ||
	fail "mkfs --file-contexts"
# One as a read-write mount leaves it: a moved map, stale entries, unclean.
"$MKFS" -q -z zlib --xip=none -C 4K --free-space=16K "$tmp/corpus/rw" "$src" || fail "mkfs rw"
"$BUILD/tests/rwedit" "$tmp/corpus/rw" move-map /d/numbers -- shrink /d/numbers 5000 -- \
	unclean || fail "rwedit"
"$FSCK" -q "$tmp/corpus/rw" || fail "the read-write corpus image is not clean"
# Grouped maps after a read-write mount: one rewritten per-page, one kept.
"$MKFS" -q -z zlib --xip=none -C 4K --free-space=16K -E maps=grouped "$tmp/corpus/rwg" "$src" ||
	fail "mkfs rw grouped"
"$BUILD/tests/rwedit" "$tmp/corpus/rwg" move-map /d/numbers -- shrink /d/e/random 100 ||
	fail "rwedit grouped"
"$FSCK" -q "$tmp/corpus/rwg" || fail "the grouped read-write corpus image is not clean"

# -seed: reproducible given the same corpus.  Reproducers are kept in
# $BUILD/fuzz-artifacts (run: $FUZZ FILE).
art=$BUILD/fuzz-artifacts
mkdir -p "$art"
"$FUZZ" -max_total_time="$secs" -max_len=65536 -seed=1 -rss_limit_mb=2048 \
	-timeout=20 -artifact_prefix="$art/" -print_final_stats=1 \
	"$tmp/corpus" "$SRCDIR/tests/corpus" >"$tmp/fuzz.log" 2>&1
rc=$?
grep -v -E '^#[0-9]+|# Uses:' "$tmp/fuzz.log" | cut -c1-300 | tail -n 40
[ $rc = 0 ] || fail "fuzzer exit $rc; reproducers in $art"
exit 0
