#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Images after a read-write mount (META_MODIFIED; the rules at the top of
# include/uapi/linux/xipfs_fs.h), made by editing a fresh mkfs image with
# tests/rwedit: moved page maps, dead clusters whose pages hold XIP pages,
# stale entries past EOF, CLEAN clear.  fsck.xipfs must pass them and
# dump.xipfs read them back; images that use a page twice or misplace a
# map must fail with exit 4 and a message.
. "$SRCDIR/tests/common.sh"
RWEDIT=$BUILD/tests/rwedit

src=$tmp/src
mkdir -p "$src/bin" "$src/data"
head -c 50000 /dev/urandom >"$src/bin/prog"
head -c 200000 /dev/urandom >"$src/data/random"
seq 1 100000 >"$src/data/text"
truncate -s 3M "$src/data/sparse"
echo end >>"$src/data/sparse"
echo small >"$src/small"
echo /bin/prog >"$tmp/xiplist"

base=$tmp/base.img
"$MKFS" -q -z zlib -C 16K --xip=list:"$tmp/xiplist" --free-space=2M "$base" "$src" ||
	fail "mkfs"
"$FSCK" "$base" || fail "fresh image not clean"

# edit NAME OP...: a copy of the base image, edited.
edit() {
	local name=$1
	shift
	cp "$base" "$tmp/$name.img"
	"$RWEDIT" "$tmp/$name.img" "$@" || fail "$name: rwedit $*"
}

# good NAME EXPECTED-TREE: fsck exit 0, extract and cat match the tree.
good() {
	local name=$1 want=$2 img=$tmp/$1.img f
	"$FSCK" -v "$img" >"$tmp/$name.fsck" 2>&1
	rc=$?
	[ $rc = 0 ] || { cat "$tmp/$name.fsck"; fail "$name: fsck exit $rc, want 0"; }
	grep -q "^metadata: .* not checked" "$tmp/$name.fsck" ||
		{ cat "$tmp/$name.fsck"; fail "$name: metadata checksum checked"; }
	rm -rf "$tmp/out"
	"$DUMP" --extract "$tmp/out" "$img" || fail "$name: extract failed"
	diff -r "$want" "$tmp/out" >"$tmp/diff.log" 2>&1 ||
		{ head -20 "$tmp/diff.log"; fail "$name: extracted tree differs"; }
	for f in bin/prog data/random data/text data/sparse small; do
		"$DUMP" -c "/$f" "$img" >"$tmp/cat" || fail "$name: cat /$f failed"
		cmp -s "$want/$f" "$tmp/cat" || fail "$name: cat /$f differs"
	done
	echo "ok $name"
}

# bad NAME MESSAGE: fsck exit 4 with MESSAGE (a grep -F pattern).
bad() {
	local name=$1 msg=$2
	"$FSCK" "$tmp/$name.img" >"$tmp/$name.fsck" 2>&1
	rc=$?
	[ $rc = 4 ] || { cat "$tmp/$name.fsck"; fail "$name: fsck exit $rc, want 4"; }
	grep -qF -- "$msg" "$tmp/$name.fsck" ||
		{ cat "$tmp/$name.fsck"; fail "$name: no message \"$msg\""; }
	echo "ok $name: $(grep -F -- "$msg" "$tmp/$name.fsck" | head -1)"
}

# The map of /data/text moved to the free area.
edit move-map move-map /data/text
good move-map "$src"
"$DUMP" -p -m /data/text "$tmp/move-map.img" >"$tmp/map" || fail "dump -m of a moved map"
grep -q "^map: offset [0-9]*, 1 page of the data region (moved by a read-write mount)" "$tmp/map" ||
	{ head -3 "$tmp/map"; fail "dump -m: moved map not shown"; }
"$DUMP" -p -m /data/sparse "$tmp/move-map.img" | grep -q "^map: offset [0-9]*, in the metadata area" ||
	fail "dump -m: map in the metadata not shown"

# A cluster of /data/random dies (its pages become XIP pages in the free
# area); pages it alone covered take an XIP page of /bin/prog and a
# compressed page of /data/text, in place.
edit dead-cluster kill-cluster /data/random -- xip-to-freed /bin/prog 0 -- \
	xip-to-freed /data/text 1 -- xip-to-freed /data/text 2
good dead-cluster "$src"
grep -q "^after a read-write mount: 1 dead clusters" "$tmp/dead-cluster.fsck" ||
	{ cat "$tmp/dead-cluster.fsck"; fail "dead-cluster: not counted"; }

# Shrunk files keep their entries past the end (stale, ignored); an XIP
# page past the new end is not zero.
cp -a "$src" "$tmp/shrunk"
truncate -s 5000 "$tmp/shrunk/data/text"
truncate -s 100 "$tmp/shrunk/bin/prog"
edit shrink shrink /data/text 5000 -- shrink /bin/prog 100
good shrink "$tmp/shrunk"
stale=$(sed -n 's/^stale page map entries past the end of files: \([0-9]*\) (ignored)$/\1/p' \
	"$tmp/shrink.fsck")
want=$(( (588895 + 4095) / 4096 - 2 + (50000 + 4095) / 4096 - 1 ))
[ "$stale" = "$want" ] || { cat "$tmp/shrink.fsck"; fail "shrink: $stale stale entries, want $want"; }
"$DUMP" -p -m /data/text "$tmp/shrink.img" | grep -q "^stale entry 2: 0x" ||
	fail "dump -m: stale entry not shown"

# A power cut: CLEAN clear is information, not a problem.
edit unclean unclean
good unclean "$src"
grep -q "not cleanly unmounted" "$tmp/unclean.fsck" || fail "unclean: not said"

# All of it at once.
edit all move-map /data/text -- kill-cluster /data/random -- xip-to-freed /bin/prog 3 -- \
	xip-to-freed /data/text 0 -- move-map /data/sparse -- shrink /data/text 5000 -- \
	shrink /bin/prog 100 -- unclean
good all "$tmp/shrunk"
free=$(sed -n 's/^data region: [0-9]* pages, \([0-9]*\) free .*/\1/p' "$tmp/all.fsck")
[ -n "$free" ] && [ "$free" -gt 0 ] || { cat "$tmp/all.fsck"; fail "all: free pages"; }

# Damage behind valid checksums in a read-write image (moved maps, dead
# clusters, stale entries): findings or not, nothing may crash.
seed=${XIPFS_SEED:-20261126}
for i in $(seq 40); do
	where=$("$CORRUPT" --write-fixed "$tmp/all.img" $((seed + i)) "$tmp/bad.img") ||
		fail "corrupt --write-fixed"
	"$FSCK" "$tmp/bad.img" >"$tmp/bad.fsck" 2>&1
	rc=$?
	[ $rc = 0 ] || [ $rc = 4 ] || { cat "$tmp/bad.fsck"; fail "flip at $where: fsck exit $rc"; }
	"$DUMP" --extract "$tmp/x" "$tmp/bad.img" >/dev/null 2>&1
	rc=$?
	[ $rc -le 1 ] || fail "flip at $where: dump --extract exit $rc"
	"$DUMP" -p -m /data/text "$tmp/bad.img" >/dev/null 2>&1
	rc=$?
	[ $rc -le 1 ] || fail "flip at $where: dump -m exit $rc"
	chmod -R u+rwx "$tmp/x" 2>/dev/null
	rm -rf "$tmp/x"
done

# Broken: one page, two users; misplaced maps.
edit xip-twice xip-dup /bin/prog 0 /bin/prog 1
bad xip-twice "used twice: by XIP page 0 of /bin/prog (inode"
edit xip-on-cluster xip-on-cluster /bin/prog 0 /data/text
bad xip-on-cluster "and by cluster"
edit map-on-xip map-on-xip /data/text /bin/prog
bad map-on-xip "used twice: by the page map of /data/text (inode"
edit map-unaligned map-at /data/text free+8
bad map-unaligned "in the data region is not page-aligned"
edit map-past-end map-at /data/sparse end-4096
bad map-past-end "runs past the end of the image"
edit map-outside map-at /data/text end-0
bad map-outside "outside the metadata area and the data region"
exit 0
