#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkfs.xipfs output is a function of the tree and the options only: two
# runs give the same bytes, and so do a copy of the tree created in
# another order, with other access times, and another number of threads.
set -u
MKFS=$BUILD/mkfs.xipfs FSCK=$BUILD/fsck.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# make_tree DIR ORDER: the same content, files created in ORDER (fwd|rev).
make_tree() {
	local d=$1 long names
	long=long_$(printf 'n%.0s' {1..250})
	names=(a b c dd e0 zz 'sp ace' $'\xff\xfe' "$long")
	mkdir -p "$d/sub/deep" "$d/empty"
	[ "$2" = rev ] && mapfile -t names < <(printf '%s\n' "${names[@]}" | tac)
	for n in "${names[@]}"; do
		printf 'file %s\n' "$n" > "$d/$n"
		seq 1 3000 | sed "s/^/$n /" > "$d/sub/$n"
	done
	head -c 300000 /dev/urandom > "$d/sub/deep/random"
	cp /bin/true "$d/sub/deep/true"
	ln "$d/a" "$d/sub/deep/hardlink"
	ln -s ../a "$d/sub/link"
	find "$d" -exec touch -h -d @1700000000 {} +
}

make_tree "$tmp/s1" fwd
cp -a "$tmp/s1/sub/deep/random" "$tmp/random"
make_tree "$tmp/s2" rev
cp -a "$tmp/random" "$tmp/s2/sub/deep/random"
touch -h -d @1700000000 "$tmp/s2/sub/deep/random" "$tmp/s2/sub/deep" "$tmp/s2/sub" "$tmp/s2"
# Perturb access times only.
find "$tmp/s2" -type f -exec touch -a -d @1 {} +

for alg in lz4hc zstd; do
	"$MKFS" -q -z $alg "$tmp/i1" "$tmp/s1" || fail "mkfs $alg"
	"$MKFS" -q -z $alg "$tmp/i2" "$tmp/s1" || fail "mkfs $alg (again)"
	cmp "$tmp/i1" "$tmp/i2" || fail "$alg: two runs differ"
	"$MKFS" -q -z $alg -j 1 "$tmp/i3" "$tmp/s2" || fail "mkfs $alg (perturbed)"
	cmp "$tmp/i1" "$tmp/i3" || fail "$alg: perturbed tree / -j1 gives another image"
	"$FSCK" "$tmp/i1" || fail "fsck $alg"
done
# SOURCE_DATE_EPOCH and -T are honoured and change the image.
SOURCE_DATE_EPOCH=1600000000 "$MKFS" -q "$tmp/i4" "$tmp/s1" || fail "mkfs with SOURCE_DATE_EPOCH"
cmp -s "$tmp/i1" "$tmp/i4" && fail "SOURCE_DATE_EPOCH had no effect"
SOURCE_DATE_EPOCH=1600000000 "$MKFS" -q "$tmp/i5" "$tmp/s2" || fail "mkfs with SOURCE_DATE_EPOCH"
cmp "$tmp/i4" "$tmp/i5" || fail "SOURCE_DATE_EPOCH: not reproducible"
"$BUILD/dump.xipfs" "$tmp/i4" | grep -q '2020-09-13' || fail "build time is not SOURCE_DATE_EPOCH"
# No temporary files are left next to the image.
left=$(find "$tmp" -maxdepth 1 -name '.*' ! -name . | wc -l)
[ "$left" = 0 ] || fail "temporary files left: $(ls -A "$tmp")"
echo ok
