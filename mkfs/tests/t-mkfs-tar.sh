#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# --tar builds the same image as the directory the archive was made from
# (pax keeps nanosecond mtimes, owners, hard links, devices), from a file,
# a compressed file or stdin.
set -u
MKFS=$BUILD/mkfs.xipfs FSCK=$BUILD/fsck.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v tar >/dev/null || { echo "tar not installed"; exit 77; }

S=$tmp/src
mkdir -p "$S/bin" "$S/etc/empty" "$S/dev" "$S/data"
cp /bin/true /bin/cat "$S/bin/"
ln "$S/bin/cat" "$S/bin/cat2"
ln -s cat "$S/bin/dog"
seq 1 50000 > "$S/etc/numbers"
printf 'short\n' > "$S/etc/short"
: > "$S/etc/empty-file"
head -c 70000 /dev/urandom > "$S/data/random"
truncate -s 300K "$S/data/sparse"
printf 'in the middle' | dd of="$S/data/sparse" bs=1 seek=150000 conv=notrunc status=none
mkfifo "$S/dev/fifo"
printf 'name\xffbyte\n' > "$S/etc/$(printf 'name\xff')"
chmod 4755 "$S/bin/true"
chmod 1777 "$S/etc/empty"
if [ "$(id -u)" = 0 ]; then
	mknod "$S/dev/null" c 1 3
	mknod "$S/dev/sda" b 8 0
	chown 12:34 "$S/etc/numbers"
fi
touch -d '2024-02-03 04:05:06.123456789' "$S/etc/numbers"

"$MKFS" -q "$tmp/dir.img" "$S" || fail "mkfs from the directory"
"$FSCK" "$tmp/dir.img" || fail "fsck"
tar --format=pax -C "$S" -cf "$tmp/src.tar" . || fail "tar"
"$MKFS" -q --tar "$tmp/tar.img" "$tmp/src.tar" || fail "mkfs --tar"
cmp "$tmp/dir.img" "$tmp/tar.img" || fail "tar image differs from the directory image"
gzip -c "$tmp/src.tar" > "$tmp/src.tar.gz"
"$MKFS" -q --tar "$tmp/tgz.img" "$tmp/src.tar.gz" || fail "mkfs --tar (gzip)"
cmp "$tmp/dir.img" "$tmp/tgz.img" || fail "tar.gz image differs"
"$MKFS" -q --tar "$tmp/stdin.img" - < "$tmp/src.tar" || fail "mkfs --tar -"
cmp "$tmp/dir.img" "$tmp/stdin.img" || fail "image from stdin differs"

# Without the "./" entry and directory entries, directories are implied.
(cd "$S" && tar --format=pax --no-recursion -cf "$tmp/files.tar" etc/numbers bin/true) || fail tar
"$MKFS" -q -T 0 --tar "$tmp/files.img" "$tmp/files.tar" || fail "mkfs --tar (implied directories)"
"$FSCK" "$tmp/files.img" || fail "fsck (implied directories)"
"$BUILD/dump.xipfs" -c /etc/numbers "$tmp/files.img" | cmp - "$S/etc/numbers" || fail "file content"

# --exclude applies to archive paths too.
"$MKFS" -q --exclude 'data' --exclude '*.tar' "$tmp/ex1.img" "$S" || fail "mkfs --exclude"
"$MKFS" -q --exclude 'data' --tar "$tmp/ex2.img" "$tmp/src.tar" || fail "mkfs --tar --exclude"
cmp "$tmp/ex1.img" "$tmp/ex2.img" || fail "--exclude: tar and directory images differ"
"$BUILD/dump.xipfs" -l / "$tmp/ex1.img" | grep -q ' data$' && fail "--exclude data did not exclude"
echo ok
