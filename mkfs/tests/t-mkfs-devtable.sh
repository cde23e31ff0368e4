#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A device table adds device nodes and sets owners without root, and
# ownership options apply after it; hard links keep one inode.
set -u
MKFS=$BUILD/mkfs.xipfs FSCK=$BUILD/fsck.xipfs DUMP=$BUILD/dump.xipfs
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

S=$tmp/src
mkdir -p "$S/etc"
echo 'root:x:0:0::/root:/bin/sh' > "$S/etc/passwd"
ln "$S/etc/passwd" "$S/etc/passwd.hl"
cat > "$tmp/devtab" <<'TAB'
# name		type	mode	uid	gid	major	minor	start	inc	count
/dev		d	755	0	0	-	-	-	-	-
/dev/console	c	600	0	5	5	1	-	-	-
/dev/ttyS	c	660	0	20	4	64	0	1	3
/dev/mtdblock	b	640	0	6	31	0	0	1	2
/dev/initctl	p	600	0	0	-	-	-	-	-
/etc/passwd	f	640	0	42	-	-	-	-	-
TAB
"$MKFS" -q -D "$tmp/devtab" "$tmp/img" "$S" || fail mkfs
"$FSCK" "$tmp/img" || fail fsck
"$DUMP" -l /dev "$tmp/img" > "$tmp/ls" || fail "dump -l /dev"
check() { grep -q "$1" "$tmp/ls" || fail "missing '$1' in: $(cat "$tmp/ls")"; }
check '^crw-------  *1  *0  *5  *5, *1 .* console$'
check '^crw-rw----  *1  *0  *20  *4, *64 .* ttyS0$'
check '^crw-rw----  *1  *0  *20  *4, *66 .* ttyS2$'
check '^brw-r-----  *1  *0  *6  *31, *1 .* mtdblock1$'
check '^prw-------  *1  *0  *0 .* initctl$'
grep -q 'ttyS3' "$tmp/ls" && fail "count 3 made a fourth node"
"$DUMP" -l /etc "$tmp/img" > "$tmp/ls"
check '^-rw-r-----  *2  *0  *42 .* passwd$'
check '^-rw-r-----  *2  *0  *42 .* passwd.hl$'

"$MKFS" -q -D "$tmp/devtab" --all-root --force-uid 7 "$tmp/img" "$S" || fail "mkfs --all-root --force-uid"
"$DUMP" -l /dev "$tmp/img" > "$tmp/ls"
check '^crw-------  *1  *7  *0 .* console$'
echo ok
