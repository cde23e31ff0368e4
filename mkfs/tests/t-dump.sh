#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dump.xipfs: superblock, listings, cat and page maps agree with the source.
. "$SRCDIR/tests/common.sh"

src=$tmp/src
mkdir -p "$src/dir/sub"
seq 1 50000 >"$src/dir/text"
head -c 100000 /dev/urandom >"$src/dir/random"
echo small >"$src/small"
truncate -s 1M "$src/sparse"; echo end >>"$src/sparse"
: >"$src/empty"
ln -s dir/text "$src/link"
mkfifo "$src/dir/sub/fifo"
touch -d '2010-01-02 03:04:05.5' "$src/small"

for xip in all none; do
	img=$tmp/$xip.img
	"$MKFS" -q -z zstd --xip=$xip -L dumptest "$img" "$src" || fail "mkfs --xip=$xip"
	for f in dir/text dir/random small sparse empty; do
		"$DUMP" -c "/$f" "$img" >"$tmp/out" || fail "-c /$f failed"
		cmp "$src/$f" "$tmp/out" || fail "$xip: -c /$f differs"
	done
	"$DUMP" -p -m /dir/text "$img" >"$tmp/map" || fail "-m failed"
	pages=$(( ($(stat -c %s "$src/dir/text") + 4095) / 4096 ))
	grep -q "^summary: $pages pages" "$tmp/map" || { cat "$tmp/map"; fail "$xip: map summary"; }
	[ "$(grep -c '^page ' "$tmp/map")" = "$pages" ] || fail "$xip: one line per page"
	if [ $xip = all ]; then
		grep -q "^page 0: xip image page" "$tmp/map" || fail "--xip=all page not XIP"
	else
		grep -q "^page 0: compressed cluster" "$tmp/map" || fail "--xip=none page not compressed"
	fi
	"$DUMP" -p -m /sparse "$img" | grep -q "^page 1: hole" || fail "$xip: sparse page not a hole"
done

img=$tmp/all.img
"$DUMP" -s "$img" >"$tmp/sb" || fail "-s"
grep -q "^volume name: *dumptest$" "$tmp/sb" || fail "-s: volume name"
grep -q "^page size: *4096$" "$tmp/sb" || fail "-s: page size"
"$DUMP" "$img" | cmp -s - "$tmp/sb" || fail "no option is not -s"

"$DUMP" -l / "$img" >"$tmp/ls" || fail "-l /"
[ "$(wc -l <"$tmp/ls")" = 5 ] || { cat "$tmp/ls"; fail "-l /: 5 entries expected"; }
grep -q '^lrwxrwxrwx .* link -> dir/text$' "$tmp/ls" || fail "-l: symlink line"
grep -q '^-rw-r--r-- .* 6 2010-01-02 03:04:05.500000000 small$' "$tmp/ls" ||
	{ cat "$tmp/ls"; fail "-l: file line"; }
"$DUMP" -l /dir -R "$img" >"$tmp/lsr" || fail "-l -R"
grep -q '^/dir/sub:$' "$tmp/lsr" || fail "-R: no subdirectory header"
grep -q '^prw-r--r-- .* fifo$' "$tmp/lsr" || fail "-R: fifo line"
"$DUMP" -l /small "$img" | grep -q ' /small$' || fail "-l FILE"

"$DUMP" -c /dir "$img" 2>"$tmp/err" >/dev/null; [ $? = 1 ] || fail "-c DIR: exit not 1"
grep -q "not a regular file" "$tmp/err" || fail "-c DIR: message"
"$DUMP" -l /missing "$img" 2>"$tmp/err"; [ $? = 1 ] || fail "-l missing: exit not 1"
grep -q "no such file" "$tmp/err" || fail "-l missing: message"
"$DUMP" --help | grep -q "^Usage: dump.xipfs" || fail "--help"
"$DUMP" 2>/dev/null; [ $? = 2 ] || fail "no image: exit not 2"
"$FSCK" --help | grep -q "^Usage: fsck.xipfs" || fail "fsck --help"
"$FSCK" -v "$img" | grep -q "^0 problems" || fail "fsck -v"
exit 0
