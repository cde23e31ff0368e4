#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The small things a user trips on (issue 14): -h and --version of each
# tool, a tar given without --tar, --exclude with a leading slash and one
# that matches nothing, out-of-range -T and --xip=list pages, device
# table errors naming the field and SOURCE_DATE_EPOCH for its entries,
# --one-file-system, and dump.xipfs's \xhh names, runs of pages (-m,
# -p) and lookup by inode number (-i).
. "$SRCDIR/tests/common.sh"

src=$tmp/src
mkdir -p "$src/d/sub" "$src/etc"
seq 1 30000 >"$src/d/numbers"
cp /bin/true "$src/true"
echo root >"$src/etc/passwd"
echo x >"$src/d/sub/x"
truncate -s 100000 "$src/sparse"
echo end >>"$src/sparse"
touch "$src/$(printf 'caf\xc3\xa9')"
img=$tmp/img

# -h and --version.
"$MKFS" -h | grep -q '^Usage: mkfs.xipfs' || fail "mkfs.xipfs -h"
for t in "$FSCK" "$DUMP"; do
	n=$(basename "$t")
	"$t" --version >"$tmp/log" 2>&1 || fail "$n --version: exit $?"
	grep -q "^$n [0-9.]* (format version [0-9]*)\$" "$tmp/log" || fail "$n --version: $(cat "$tmp/log")"
	"$t" -V | grep -q "^$n " || fail "$n -V"
done

# A tar archive given without --tar.
tar -C "$src" -cf "$tmp/src.tar" .
"$MKFS" -q "$img" "$tmp/src.tar" >"$tmp/log" 2>&1 && fail "a tar file as a directory accepted"
grep -q "$tmp/src.tar: not a directory but a file (a tar archive? add --tar)" "$tmp/log" ||
	fail "tar without --tar: $(cat "$tmp/log")"

# --exclude: a leading / anchors at SOURCE; a pattern matching nothing is warned about.
"$MKFS" -q --exclude /etc/passwd --exclude /d/sub --exclude nothing-like-this "$img" "$src" >"$tmp/log" 2>&1 ||
	fail "mkfs --exclude: $(cat "$tmp/log")"
"$DUMP" -l / -R "$img" >"$tmp/ls"
! grep -q ' passwd$' "$tmp/ls" || fail "--exclude /etc/passwd did not exclude it"
! grep -q ' sub$' "$tmp/ls" || fail "--exclude /d/sub did not exclude it"
grep -q ' numbers$' "$tmp/ls" || fail "--exclude took too much"
grep -q "warning: --exclude=nothing-like-this matched nothing" "$tmp/log" || fail "no warning for an unmatched exclude: $(cat "$tmp/log")"
! grep -q "exclude=/etc/passwd" "$tmp/log" || fail "a warning for an exclude that matched"
# Anchored means anchored: /passwd is not any passwd.
"$MKFS" -q --exclude /passwd "$img" "$src" >"$tmp/log" 2>&1 || fail "mkfs --exclude /passwd"
grep -q "warning: --exclude=/passwd matched nothing" "$tmp/log" || fail "/passwd matched etc/passwd"
tar -C "$src" --format=pax -cf "$tmp/src.tar" .
"$MKFS" -q --tar --exclude /etc/passwd --exclude nope "$img" "$tmp/src.tar" >"$tmp/log" 2>&1 || fail "mkfs --tar --exclude"
! "$DUMP" -l /etc "$img" | grep -q passwd || fail "--tar --exclude /etc/passwd"
grep -q "warning: --exclude=nope matched nothing" "$tmp/log" || fail "--tar: no warning for an unmatched exclude"

# Out-of-range values.
for v in -1 253402300800 99999999999999999; do
	"$MKFS" -q -T "$v" "$img" "$src" >"$tmp/log" 2>&1
	[ $? = 2 ] || fail "-T $v: not a usage error"
	grep -q -- "-T: $v is out of range" "$tmp/log" || fail "-T $v: $(cat "$tmp/log")"
done
"$MKFS" -q -T 253402300799 "$img" "$src" || fail "-T 253402300799 (9999-12-31) refused"
printf '/true 0-99999\n' >"$tmp/list"
"$MKFS" -q --xip=list:"$tmp/list" "$img" "$src" >"$tmp/log" 2>&1 || fail "--xip=list past the end"
grep -q "pages past the end of" "$tmp/log" || fail "--xip=list pages past the end: no warning: $(cat "$tmp/log")"

# Device tables: the bad field is named; new entries get SOURCE_DATE_EPOCH.
dt() {
	printf '%s\n' "$1" >"$tmp/devtab"
	"$MKFS" -q -D "$tmp/devtab" "$img" "$src" >"$tmp/log" 2>&1 && fail "device table '$1' accepted"
	grep -q -- "$2" "$tmp/log" || fail "device table '$1': $(cat "$tmp/log")"
}
dt '/dev/x c 600 0 0 1' "devtab:1: 6 fields, expected 10"
dt 'dev/x c 600 0 0 1 3 - - -' "devtab:1: name 'dev/x': expected an absolute path"
dt '/x q 600 0 0 1 3 - - -' "devtab:1: type 'q': expected f, d, c, b or p"
dt '/x c 9x9 0 0 1 3 - - -' "devtab:1: mode '9x9': expected octal"
dt '/x c 600 root 0 1 3 - - -' "devtab:1: uid 'root': expected a number"
dt '/x c 600 0 0 1 3 - - many' "devtab:1: count 'many': expected a number"
printf '/dev d 755 0 0 - - - - -\n/dev/console c 600 0 5 5 1 - - -\n' >"$tmp/devtab"
SOURCE_DATE_EPOCH=1700000000 "$MKFS" -q -D "$tmp/devtab" "$img" "$src" || fail "mkfs -D with SOURCE_DATE_EPOCH"
"$DUMP" -l /dev "$img" | grep -q ' 2023-11-14 22:13:20.000000000 console$' ||
	fail "a device table entry ignores SOURCE_DATE_EPOCH: $("$DUMP" -l /dev "$img")"
"$DUMP" -l / "$img" | grep -q ' 2023-11-14 22:13:20.000000000 dev$' || fail "device table directory: not SOURCE_DATE_EPOCH"

# dump -l: bytes 0x7f-0xff as \xhh, as the page says.
"$MKFS" -q -E maps=flat "$img" "$src" || fail "mkfs"
"$DUMP" -l / "$img" | grep -q ' caf\\xc3\\xa9$' || fail "dump -l: raw bytes: $("$DUMP" -l / "$img" | grep caf)"

# dump -m: runs of pages; -p per page; -i by inode number.
"$DUMP" -m /sparse "$img" >"$tmp/map" || fail "dump -m"
grep -q '^pages 0-23: holes$' "$tmp/map" || fail "dump -m: no run of holes: $(cat "$tmp/map")"
[ "$(grep -c '^page' "$tmp/map")" -le 3 ] || fail "dump -m: more than 3 lines for 2 runs: $(cat "$tmp/map")"
"$DUMP" -m /d/numbers "$img" | grep -q '^pages 0-[0-9]*: compressed clusters [0-9]*-[0-9]* (lz4)$' ||
	fail "dump -m: no run of clusters: $("$DUMP" -m /d/numbers "$img")"
"$DUMP" -m /true "$img" | grep -q '^pages 0-[0-9]*: xip image pages [0-9]*-[0-9]* (offset [0-9]*)$' ||
	fail "dump -m: no run of XIP pages: $("$DUMP" -m /true "$img")"
[ "$("$DUMP" -p -m /sparse "$img" | grep -c '^page [0-9]*: hole$')" = 24 ] || fail "dump -p -m: not one line per page"
ino=$("$DUMP" -m /d/numbers "$img" | sed -n '1s/.*: inode \([0-9]*\),.*/\1/p')
"$DUMP" -i -m "$ino" "$img" | sed 1d >"$tmp/by-ino"
"$DUMP" -m /d/numbers "$img" | sed 1d >"$tmp/by-path"
cmp -s "$tmp/by-ino" "$tmp/by-path" || fail "dump -i -m $ino differs from -m /d/numbers"
"$DUMP" -i -c "$ino" "$img" | cmp -s - "$src/d/numbers" || fail "dump -i -c $ino"
"$DUMP" -i -l 1 "$img" | grep -q ' numbers$' && fail "dump -i -l 1 listed a subdirectory's file"
"$DUMP" -i -l 1 "$img" | grep -q ' d$' || fail "dump -i -l 1: not the root"
"$DUMP" -i -m nope "$img" >"$tmp/log" 2>&1 && fail "dump -i -m nope accepted"
grep -q "nope: not an inode number" "$tmp/log" || fail "dump -i nope: $(cat "$tmp/log")"

# --one-file-system: a mount point inside SOURCE stays, empty.
if is_root && mount -t tmpfs xipfs-test "$src/d/sub" 2>/dev/null; then
	echo other >"$src/d/sub/other"
	"$MKFS" -q --one-file-system "$img" "$src"
	rc=$?
	"$MKFS" -q "$tmp/all.img" "$src"
	rc2=$?
	umount "$src/d/sub"
	[ $rc = 0 ] && [ $rc2 = 0 ] || fail "mkfs with a mount point inside SOURCE"
	"$DUMP" -l /d "$img" | grep -q ' sub$' || fail "--one-file-system: the mount point is gone"
	[ -z "$("$DUMP" -l /d/sub "$img")" ] || fail "--one-file-system: descended: $("$DUMP" -l /d/sub "$img")"
	"$DUMP" -l /d/sub "$tmp/all.img" | grep -q ' other$' || fail "without --one-file-system: the mount not read"
	echo "ok: --one-file-system"
else
	echo "cannot mount a tmpfs here: --one-file-system not tested"
fi
echo ok
