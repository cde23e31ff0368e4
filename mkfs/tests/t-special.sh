#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every special file type, with owners and device numbers (major/minor
# beyond 8 bits), hard-linked devices too: they need root to create.
. "$SRCDIR/tests/common.sh"
is_root || skip "not root: cannot mknod device files"

src=$tmp/src
mkdir -p "$src/dev"
mknod "$src/dev/null" c 1 3
mknod "$src/dev/big" c 4095 1048575
mknod "$src/dev/sda1" b 8 1
mknod "$src/dev/loop" b 7 300
ln "$src/dev/sda1" "$src/dev/sda1-link"
mkfifo -m 0620 "$src/dev/fifo"
"$TREECMP" --mksock "$src/dev/socket" || fail "cannot create a socket"
chown 12:34 "$src/dev/null" "$src/dev/fifo"
chown -h 56:78 "$src/dev/socket"
chmod 0600 "$src/dev/sda1"
fix_dir_times "$src"
roundtrip "$src" special-lz4 -z lz4
"$DUMP" -l /dev -R "$tmp/special-lz4.img" | grep -q '^crw-r--r-- .* 4095, *1048575 ' ||
	{ "$DUMP" -l /dev "$tmp/special-lz4.img"; fail "-l: device numbers"; }
exit 0
