#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Whole-file dedupe (RO_COMPAT_SHARED_DATA): identical regular files share
# their data (XIP pages, clusters, tail data), nearly identical ones (one
# byte differs), a file that is another's prefix, hard links and empty
# files do not; fsck accepts exactly that sharing and still refuses
# sharing without the feature bit, between different files and between
# files of different sizes; extract restores every file; dedupe is off
# with --free-space unless asked for; the output is reproducible.
. "$SRCDIR/tests/common.sh"
EDIT=$SRCDIR/tests/dedupe_edit.py

src=$tmp/src
mkdir -p "$src/a" "$src/b" "$src/c"
# A library (ELF: XIP pages by default) and its copy.
lib=$(ldd /bin/ls 2>/dev/null | awk '/libc\.so/ { print $3 }')
[ -n "$lib" ] && [ -f "$lib" ] || lib=/bin/ls
cp "$lib" "$src/a/lib.so"
cp "$lib" "$src/b/lib.so"
# Two identical larger files, compressible and not.
seq 1 200000 >"$src/a/text"
cp "$src/a/text" "$src/b/text"
head -c 700000 /dev/urandom >"$src/a/rand"
cp "$src/a/rand" "$src/b/rand"
# Small identical files (tail data, or with fragments a shared cluster).
head -c 100 /dev/urandom >"$src/a/tiny"
cp "$src/a/tiny" "$src/b/tiny"
# Nearly identical: one byte differs, the same size.
cp "$src/a/text" "$src/c/near"
printf 'X' | dd of="$src/c/near" bs=1 seek=300000 conv=notrunc status=none
# A prefix of another file, and that file.
head -c 400000 "$src/a/text" >"$src/c/prefix"
# Hard links and empty files.
seq 1 30000 >"$src/c/hard1"
ln "$src/c/hard1" "$src/c/hard2"
: >"$src/c/empty1"
: >"$src/c/empty2"
fix_dir_times "$src"

ro_compat() { od -An -tu4 -j 20 -N 4 "$1" | tr -d ' '; }
ino() { "$DUMP" -m "$2" "$1" | sed -n '1s/.*: inode \([0-9]*\),.*/\1/p'; }
# The map of PATH without the lines naming its inode and map offset.
map() { "$DUMP" -m "$2" "$1" | tail -n +3; }

# The default: dedupe on; round trips under several layouts.
roundtrip "$src" default
roundtrip "$src" xipnone --xip=none
roundtrip "$src" xipall --xip=all
roundtrip "$src" frag -E fragments
roundtrip "$src" fragnone --xip=none -E fragments,span -z zstd -C 16K
roundtrip "$src" flat -E maps=flat -z lz4
roundtrip "$src" page16k --page-size 16K -z zlib
roundtrip "$src" freededupe --free-space 1M -E dedupe

img=$tmp/d.img
"$MKFS" -q "$img" "$src" || fail "mkfs"
[ "$(ro_compat "$img")" = 1 ] || fail "no SHARED_DATA bit with identical files"
"$DUMP" "$img" >"$tmp/super" || fail "dump -s"
grep -q '^features:.* shared_data' "$tmp/super" || fail "dump -s: no shared_data feature"
# lib.so, text, rand, tiny: four files use an identical file's data.
exp=$(( $(stat -c %s "$src/b/lib.so") + $(stat -c %s "$src/b/text") + 700000 + 100 ))
grep -q "^shared data: *4 files ($exp bytes)" "$tmp/super" ||
	{ grep shared "$tmp/super"; fail "dump -s: want 4 shared files, $exp bytes"; }
"$FSCK" -v "$img" | grep -q "^shared data: 4 files" || fail "fsck -v: shared files"
for f in lib.so text rand tiny; do
	[ "$(ino "$img" /a/$f)" != "$(ino "$img" /b/$f)" ] || fail "$f: one inode for two files"
	[ "$(map "$img" /a/$f)" = "$(map "$img" /b/$f)" ] || fail "$f: copies do not share"
done
map "$img" /a/lib.so | grep -q ': xip image page' || fail "lib.so has no XIP page to share"
map "$img" /a/tiny | grep -q 'tail' || fail "tiny is not tail data"
# Nearly identical and prefix files share nothing with the original.
map "$img" /a/text | grep -o 'cluster [0-9]*' | sort -u >"$tmp/cl.text"
for f in near prefix; do
	map "$img" /c/$f | grep -o 'cluster [0-9]*' | sort -u >"$tmp/cl.$f"
	[ -z "$(comm -12 "$tmp/cl.text" "$tmp/cl.$f")" ] || fail "$f shares clusters with text"
done
# Hard links stay one inode with two links; empty files stay two.
"$DUMP" -l /c "$img" >"$tmp/list"
[ "$(grep -c ' 2 .* hard[12]$' "$tmp/list")" = 2 ] || { cat "$tmp/list"; fail "hard links"; }
[ "$(ino "$img" /c/hard1)" = "$(ino "$img" /c/hard2)" ] || fail "hard links: two inodes"
[ "$(ino "$img" /c/empty1)" != "$(ino "$img" /c/empty2)" ] || fail "empty files merged"
echo "ok sharing: identical files share, near/prefix/hard links/empty files as they were"

# Smaller than without dedupe, by about the copies.
"$MKFS" -q -E nodedupe "$tmp/n.img" "$src" || fail "mkfs -E nodedupe"
[ "$(ro_compat "$tmp/n.img")" = 0 ] || fail "-E nodedupe: SHARED_DATA bit"
"$FSCK" "$tmp/n.img" || fail "-E nodedupe: fsck"
s1=$(stat -c %s "$img") s0=$(stat -c %s "$tmp/n.img")
[ $((s0 - s1)) -gt 700000 ] || fail "dedupe saves $((s0 - s1)) bytes only ($s0 -> $s1)"
echo "ok size: $s0 -> $s1 bytes"
# --free-space: off unless asked for, and then a warning.
"$MKFS" -q --free-space 1M "$tmp/f.img" "$src" 2>"$tmp/err" || fail "mkfs --free-space"
[ "$(ro_compat "$tmp/f.img")" = 0 ] || fail "--free-space: dedupe on by default"
[ ! -s "$tmp/err" ] || { cat "$tmp/err"; fail "--free-space: unexpected message"; }
"$MKFS" -q --free-space 1M -E dedupe "$tmp/fd.img" "$src" 2>"$tmp/err" ||
	fail "mkfs --free-space -E dedupe"
[ "$(ro_compat "$tmp/fd.img")" = 1 ] || fail "--free-space -E dedupe: no bit"
grep -q 'mounts read-only only' "$tmp/err" || fail "--free-space -E dedupe: no warning"
"$MKFS" -q -E nodedupe,dedupe "$tmp/x.img" "$src" && cmp -s "$tmp/x.img" "$img" ||
	fail "-E nodedupe,dedupe: the last one does not win"
"$MKFS" -q -E ^dedupe "$tmp/x.img" "$src" && cmp -s "$tmp/x.img" "$tmp/n.img" ||
	fail "-E ^dedupe is not nodedupe"
# From a tar archive (the spool) too.
tar -C "$src" -cf "$tmp/src.tar" .
"$MKFS" -q --tar "$tmp/t.img" "$tmp/src.tar" || fail "mkfs --tar"
[ "$(ro_compat "$tmp/t.img")" = 1 ] || fail "--tar: no dedupe"
"$FSCK" "$tmp/t.img" || fail "--tar: fsck"
echo "ok options: nodedupe, --free-space, tar"

# fsck refuses the sharing without the bit, between different files and
# between files of different sizes.
expect_bad() {
	local what=$1 out=$2 msg=$3
	if "$FSCK" "$out" >"$tmp/fsck.log" 2>&1; then
		fail "$what: fsck.xipfs accepts it"
	fi
	grep -q "$msg" "$tmp/fsck.log" || { cat "$tmp/fsck.log"; fail "$what: no '$msg'"; }
}
python3 "$EDIT" "$img" "$tmp/e1.img" nobit || fail "edit nobit"
expect_bad "bit clear" "$tmp/e1.img" "used twice"
python3 "$EDIT" "$tmp/n.img" "$tmp/e2.img" overlap "$(ino "$tmp/n.img" /a/text)" \
	"$(ino "$tmp/n.img" /c/near)" || fail "edit overlap"
python3 "$EDIT" "$img" "$tmp/e3.img" overlap "$(ino "$img" /a/text)" \
	"$(ino "$img" /c/near)" || fail "edit overlap"
expect_bad "different files, no bit" "$tmp/e2.img" "inconsistent with its use"
expect_bad "different files, bit set" "$tmp/e3.img" "inconsistent with its use"
"$MKFS" -q --xip=all "$tmp/xa.img" "$src" || fail "mkfs --xip=all"
python3 "$EDIT" "$tmp/xa.img" "$tmp/e4.img" overlap "$(ino "$tmp/xa.img" /a/text)" \
	"$(ino "$tmp/xa.img" /c/near)" || fail "edit overlap"
expect_bad "different files' XIP page, bit set" "$tmp/e4.img" "used twice"
python3 "$EDIT" "$img" "$tmp/e5.img" size "$(ino "$img" /b/rand)" -1 || fail "edit size"
expect_bad "sizes differ" "$tmp/e5.img" "inconsistent with its use"
python3 "$EDIT" "$img" "$tmp/e6.img" size "$(ino "$img" /b/tiny)" -1 || fail "edit size"
expect_bad "tail of files of different sizes" "$tmp/e6.img" "metadata overlap"
echo "ok fsck: refuses sharing without the bit, of different files, of different sizes"

repro "$src" "" "--xip=none -E fragments" "-E dedupe --free-space 64K"
echo "ok reproducible"
