#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check the arm64 NOR board itself (not xipfs): the flash appears as a
# 64 MiB CFI MTD device holding the image's bytes, mtd_point() gives its
# physical address with no struct page behind it (what execute in place
# needs), an external module builds against kdir, and boot.sh carries
# the script's output and exit status back.  Prints one line per check;
# exits non-zero if any failed.  Lines start PASS or FAIL, as
# tests/check-all counts them.
#
#   tests/arm64/selftest.sh        (after tests/setup/arm64.sh)

set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
BUILD=${BUILD:-$TOP/build}
KDIR=$XIPFS_CACHE/kernels/arm64
BOOT=$TOP/tests/arm64/boot.sh
W=$BUILD/arm64/selftest
fails=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

rm -rf "$W"
mkdir -p "$W/files"

# shellcheck disable=SC1091
. "$KDIR/env"

# An external module against kdir: the same build xipfs.ko gets.
cp "$TOP/tests/arm64/probe/mtdpoint.c" "$TOP/tests/arm64/probe/Makefile" "$W/"
if make -s -C "$KDIR/kdir" M="$W" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" \
	modules >"$W/probe.log" 2>&1 && [ -f "$W/mtdpoint.ko" ]; then
	pass "external module builds against kdir ($KRELEASE)"
	cp "$W/mtdpoint.ko" "$W/files/mtdpoint.ko"
else
	fail "external module build against kdir: $W/probe.log"
	cat "$W/probe.log"
fi

# An image that is not a whole number of erase blocks, so that the
# check sees both the image's bytes and the erased padding after them.
img=$W/pattern.img
head -c $((3 << 20)) /dev/urandom >"$img"
printf 'FXIP-selftest' | dd of="$img" conv=notrunc status=none
img_size=$(stat -c %s "$img")
img_sum=$(sha256sum <"$img" | cut -d' ' -f1)
head16=$(head -c 16 "$img" | od -An -tx1 | tr -d ' \n')
cp "$img" "$W/pristine.img"
blk=$W/disk.img
printf 'virtio-blk-selftest\n' >"$blk"
truncate -s 1M "$blk"

cat >"$W/guest.sh" <<EOF
#!/bin/sh
set -e
echo "mtd: \$(grep '^mtd0:' /proc/mtd)"
echo "window: \$(window_dev)"
echo "image: \$(head -c $img_size \$XIPFS_MTD | sha256sum | cut -d' ' -f1)"
echo "pad: \$(dd if=\$XIPFS_MTD bs=4096 skip=$((img_size / 4096)) count=16 2>/dev/null |
	tail -c 4096 | od -An -v -tx1 | tr " " "\\n" | sort -u | tr -d ' \\n')"
if [ -f mtdpoint.ko ]; then
	insmod mtdpoint.ko
	dmesg | grep 'mtdpoint:' | sed 's/^\[[^]]*\] //'
	rmmod mtdpoint
fi
echo "blk: \$(head -n1 /dev/vda)"
echo "bash: \$(bash -c 'echo \$BASH_VERSION')"
echo "xfs_io: \$(xfs_io -V)"
printf 'no newline at the end'
exit 7
EOF

t0=$(date +%s.%N)
set +e
"$BOOT" --image "$img" --run "$W/guest.sh" --files "$W/files" --blk "$blk" \
	--log "$W/console.log" --timeout 300 >"$W/out"
rc=$?
set -e
t1=$(date +%s.%N)
echo "     boot + script: $(echo "$t1 - $t0" | bc | cut -c1-5)s, log $W/console.log"

[ $rc = 7 ] && pass "exit status comes back (7)" || fail "exit status $rc, wanted 7"
grep -qx 'mtd: mtd0: 04000000 00040000 "4000000.flash"' "$W/out" &&
	pass "/proc/mtd: 64 MiB 4000000.flash" ||
	fail "/proc/mtd: $(grep '^mtd:' "$W/out" || echo none)"
grep -qx "image: $img_sum" "$W/out" &&
	pass "/dev/mtd0 reads back the image" || fail "/dev/mtd0 content differs"
grep -qx "pad: ff" "$W/out" &&
	pass "flash after the image is erased (0xff)" || fail "padding not 0xff"
grep -q "mtdpoint: 4000000.flash: size 0x4000000 retlen 0x1000 phys 0x4000000 pfn_valid 0 head $head16\$" "$W/out" &&
	pass "mtd_point(): phys 0x4000000, pfn_valid 0, image bytes" ||
	fail "mtd_point(): $(grep mtdpoint: "$W/out" || echo 'no answer')"
grep -qx 'window: /dev/mtd0' "$W/out" &&
	pass "window_dev finds the flash" || fail "window_dev: $(grep '^window:' "$W/out")"
grep -q '^bash: 5\.' "$W/out" && grep -q '^xfs_io: xfs_io version' "$W/out" &&
	pass "bash and xfs_io run" || fail "bash or xfs_io missing"
grep -qx 'blk: virtio-blk-selftest' "$W/out" &&
	pass "virtio-blk disk is /dev/vda" || fail "virtio-blk disk not read"
[ "$(tail -c 21 "$W/out")" = 'no newline at the end' ] &&
	pass "output without a final newline kept" || fail "last output line lost"
cmp -s "$img" "$W/pristine.img" &&
	pass "image file untouched" || fail "boot.sh changed the image file"

# A board that never reports a status must not pass.
printf 'poweroff -f\n' >"$W/die.sh"
set +e
"$BOOT" --image "$img" --run "$W/die.sh" --quiet --timeout 120 \
	--log "$W/die.log" 2>/dev/null
rc=$?
set -e
[ $rc = 126 ] && pass "board stopping without a status gives 126" ||
	fail "board stopping gave status $rc, wanted 126"

# A kernel warning fails a script that passed; other CPU and memory
# sizes boot with a device tree made for them.
printf '#!/bin/sh\ngrep -c ^processor /proc/cpuinfo\ngrep MemTotal /proc/meminfo\ninsmod mtdpoint.ko warn=1\n' >"$W/warn.sh"
set +e
"$BOOT" --image "$img" --run "$W/warn.sh" --files "$W/files" --smp 1 --mem 512 \
	--timeout 120 --log "$W/warn.log" >"$W/warn.out" 2>"$W/warn.err"
rc=$?
set -e
[ $rc = 125 ] && grep -q 'WARNING:' "$W/warn.err" &&
	pass "a kernel WARNING gives 125" || fail "WARNING gave status $rc, wanted 125"
mem=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' "$W/warn.out")
[ "$(head -n1 "$W/warn.out")" = 1 ] && [ -n "$mem" ] && [ "$mem" -lt $((512 * 1024)) ] &&
	[ "$mem" -gt $((384 * 1024)) ] &&
	pass "--smp 1 --mem 512 boots with its own device tree" ||
	fail "--smp 1 --mem 512: $(tr '\n' ' ' <"$W/warn.out")"

[ $fails = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
