#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's xz cluster decoder (fs/xipfs/decompressor_xz.c, which frames
# raw LZMA2 for lib/xz) against the kernel's own lib/xz, built in userspace
# with ASan + UBSan: see kernel-xz/kxz.c.  Needs the debug kernel's source
# tree (tests/setup/kernel-debug.sh) for lib/xz.
. "$SRCDIR/tests/common.sh"
cache=${XIPFS_CACHE:-/var/cache/xipfs}
ksrc=
for d in "$cache"/src/debug/linux-source-*; do
	[ -f "$d/lib/xz/xz_dec_stream.c" ] && [ -f "$d/include/linux/xz.h" ] && ksrc=$d
done
[ -n "$ksrc" ] || skip "no kernel source with lib/xz under $cache/src/debug"

k=$tmp/k
mkdir -p "$k"
cp -r "$SRCDIR"/tests/kernel-xz/. "$k/"
cp "$SRCDIR/../fs/xipfs/decompressor_xz.c" "$k/"
cp "$ksrc"/lib/xz/xz_*.[ch] "$k/"
cp "$ksrc/include/linux/xz.h" "$k/linux/"
echo "lib/xz of $ksrc"
cc -std=gnu11 -O1 -g -Wall -Wno-unused-function -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I"$k" -I"$SRCDIR/../include/uapi" -o "$k/kxz" \
	"$k/kxz.c" "$k/xz_dec_stream.c" "$k/xz_dec_lzma2.c" "$k/xz_dec_bcj.c" \
	"$k/xz_crc32.c" -llzma -lz || fail "build"
"$k/kxz" || fail "kernel and liblzma disagree"
exit 0
