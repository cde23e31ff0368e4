#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Option parsing: bad values are usage errors (exit 2) with a message
# naming the problem, and create nothing; good values reach the image.
set -u
MKFS=$BUILD/mkfs.xipfs DUMP=$BUILD/dump.xipfs FSCK=$BUILD/fsck.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir "$tmp/src" "$tmp/out"
seq 1 100000 > "$tmp/src/numbers"
cp /bin/true "$tmp/src/true"

usage_error() {
	local pat=$1 rc
	shift
	"$MKFS" "$@" > "$tmp/log" 2>&1
	rc=$?
	[ $rc = 2 ] || fail "$*: exit $rc, not 2: $(cat "$tmp/log")"
	grep -q -- "$pat" "$tmp/log" || fail "$*: message '$(cat "$tmp/log")' lacks '$pat'"
	[ -z "$(ls -A "$tmp/out")" ] || fail "$*: left $(ls -A "$tmp/out")"
}

I=$tmp/out/img S=$tmp/src
usage_error "IMAGE and SOURCE are required"
usage_error "IMAGE and SOURCE are required" "$I"
usage_error "too many arguments" "$I" "$S" extra
usage_error "unknown algorithm 'lzo'" -z lzo "$I" "$S"
usage_error "level out of range (3..12)" -z lz4hc,13 "$I" "$S"
usage_error "level out of range (1..22)" -z zstd,0 "$I" "$S"
usage_error "bad level 'x'" -z zstd,x "$I" "$S"
usage_error "not a power of two" -C 3000 "$I" "$S"
usage_error "from the page size to 256K" -C 512K "$I" "$S"
usage_error "from the page size to 256K" -C 8K --page-size 16K "$I" "$S"
usage_error "is not 4K" --page-size 2K "$I" "$S"
usage_error "is not 4K" --page-size 128K "$I" "$S"
usage_error "unknown policy 'some'" --xip=some "$I" "$S"
usage_error "unknown policy 'list:'" --xip=list: "$I" "$S"
usage_error "not a number of seconds" -T yesterday "$I" "$S"
usage_error "longer than 16 bytes" -L 12345678901234567 "$I" "$S"
usage_error "not a valid id" --force-uid=-1 "$I" "$S"
usage_error "not a valid id" --force-gid=4294967296 "$I" "$S"
usage_error "bad size" --free-space=lots "$I" "$S"
usage_error "thread count" -j 0 "$I" "$S"
usage_error "unknown page map form 'maps=tiny'" -E maps=tiny "$I" "$S"
usage_error "--help" --no-such-option "$I" "$S"
SOURCE_DATE_EPOCH=soon usage_error "SOURCE_DATE_EPOCH='soon'" "$I" "$S"

"$MKFS" --help > "$tmp/log" || fail "--help"
grep -q '^Usage: mkfs.xipfs' "$tmp/log" || fail "--help text"
"$MKFS" --version | grep -q '^mkfs.xipfs ' || fail "--version"

# Every algorithm, page size and a few cluster sizes give a clean image.
for z in lz4 lz4hc,12 zstd,3 zlib,9 xz,0; do
	for ps in 4K 16K 64K; do
		for cs in 64K 256K; do
			"$MKFS" -q -z $z --page-size $ps -C $cs "$I" "$S" || fail "-z $z --page-size $ps -C $cs"
			"$FSCK" "$I" > "$tmp/log" 2>&1 || fail "fsck after -z $z --page-size $ps -C $cs: $(cat "$tmp/log")"
		done
	done
done
"$MKFS" -q -C 4096 "$I" "$S" || fail "-C 4096"
"$DUMP" "$I" | grep -q 'max cluster size: *4096' || fail "-C 4096 not in the superblock"

# Label, owners, times, free space.
"$MKFS" -q -L mylabel --force-uid 1234 --force-gid 99 -T 86400 --free-space 1M "$I" "$S" || fail "mkfs"
"$FSCK" "$I" || fail "fsck"
"$DUMP" "$I" > "$tmp/log"
grep -q 'volume name: *mylabel' "$tmp/log" || fail "label"
grep -q 'free area: .*+1048576' "$tmp/log" || fail "free space: $(grep free "$tmp/log")"
grep -q 'compat 0x1' "$tmp/log" || fail "FREE_SPACE feature"
"$DUMP" -l / "$I" | grep -q ' 1234 \+99 .*1970-01-02 00:00:00.000000000 numbers' ||
	fail "owner/time: $("$DUMP" -l / "$I")"
"$DUMP" -m /numbers "$I" | grep -q 'map capacity 184' || fail "map capacity (144 pages + 36, to 8) with --free-space: $("$DUMP" -m /numbers "$I" | head -1)"
"$MKFS" -q --all-root "$I" "$S" || fail "--all-root"
echo ok
