#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the arm64 NOR flash board and run one script in it.
#
#   tests/arm64/boot.sh --image IMG --run SCRIPT [--files DIR] [--log LOG]
#                       [--timeout S] [--blk IMG] [--append ARGS]
#                       [--flash FILE] [--quiet]
#
#   --image IMG    the xipfs image, put at the start of CFI NOR flash
#                  (pflash unit 1: 64 MiB at physical 0x04000000, the
#                  guest's /dev/mtd0 "4000000.flash").  IMG itself is not
#                  changed: the board runs on a copy padded to 64 MiB
#                  with 0xff (erased flash).
#   --run SCRIPT   a shell script run by busybox sh in the guest, as root,
#                  cwd /, stdout and stderr together.
#   --files DIR    DIR's content is copied into the guest's root
#                  (DIR/bin/x becomes /bin/x); may be given more than once.
#   --log LOG      the whole console log (boot, script, then the guest's
#                  dmesg); default: a temporary file, shown on failure.
#   --timeout S    seconds before the board is killed (default 300).
#   --blk IMG      IMG as a virtio-blk disk, /dev/vda; guest writes land
#                  in IMG.
#   --append ARGS  more kernel command line.
#   --flash FILE   keep the 64 MiB flash after the run in FILE (to check
#                  what a read-write mount wrote).
#   --quiet        do not copy the script's output to stdout.
#
# Output: the script's output on stdout (console line endings removed).
# Exit status: the script's exit status; 124 if the board timed out; 125
# if it stopped without reporting one (panic, init died); 2 for usage.
#
# In the guest: busybox applets on PATH, /proc, /sys, /dev (devtmpfs),
# /tmp (tmpfs), and these variables:
#   XIPFS_BOARD=arm64  XIPFS_MTD=/dev/mtd0  XIPFS_MTD_NAME=4000000.flash
#   XIPFS_KO=/lib/modules/xipfs.ko   (only when build/kernels/arm64/xipfs.ko
#                                     exists: fs/xipfs/build-module.sh arm64)
#   XIPFS_BLK=/dev/vda               (only with --blk)
# The module is not loaded: the script loads it (insmod "$XIPFS_KO").
#
# Needs tests/setup/arm64.sh to have run.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
BUILD=${BUILD:-$TOP/build}
KDIR=$XIPFS_CACHE/kernels/arm64
USERLAND=$XIPFS_CACHE/arm64-userland
FLASH_SIZE=$((64 << 20))

# The device tree (virt-nor.dtb) was dumped from this machine: keep the
# two in step (tests/setup/arm64.sh make_dtb).
QEMU_MACHINE=(-M virt -cpu cortex-a57 -smp 2 -m 1024)

usage() {
	sed -n '4,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

image= script= log= timeout=300 blk= append= flash_keep= quiet=0
files=()
while [ $# -gt 0 ]; do
	case $1 in
	--image) image=$2; shift ;;
	--run) script=$2; shift ;;
	--files) files+=("$2"); shift ;;
	--log) log=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--blk) blk=$2; shift ;;
	--append) append=$2; shift ;;
	--flash) flash_keep=$2; shift ;;
	--quiet) quiet=1 ;;
	-h|--help) usage ;;
	*) echo "boot.sh: unknown option $1" >&2; usage ;;
	esac
	shift
done
[ -n "$image" ] && [ -n "$script" ] || usage
[ -f "$image" ] || { echo "boot.sh: no image $image" >&2; exit 2; }
[ -f "$script" ] || { echo "boot.sh: no script $script" >&2; exit 2; }
[ -z "$blk" ] || [ -f "$blk" ] || { echo "boot.sh: no disk $blk" >&2; exit 2; }
for f in "$KDIR/kernel" "$KDIR/virt-nor.dtb" "$USERLAND/bin/busybox"; do
	[ -s "$f" ] || { echo "boot.sh: $f missing: run tests/setup/arm64.sh" >&2; exit 2; }
done
size=$(stat -c %s "$image")
[ "$size" -le $FLASH_SIZE ] ||
	{ echo "boot.sh: $image is larger than the 64 MiB flash" >&2; exit 2; }

mkdir -p "$BUILD/arm64"
work=$(mktemp -d "$BUILD/arm64/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -n "$log" ] || log=$work/console.log

# The flash: a copy of the image, erased (0xff) up to the bank size.
cp "$image" "$work/flash"
head -c $((FLASH_SIZE - size)) /dev/zero | tr '\0' '\377' >>"$work/flash"

# The initramfs.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,lib/modules}
cp "$USERLAND/bin/busybox" "$root/bin/busybox"
for d in "${files[@]}"; do
	cp -a "$d/." "$root/"
done
cp "$script" "$root/xipfs-run.sh"
{
	echo "XIPFS_BOARD=arm64"
	echo "XIPFS_MTD=/dev/mtd0"
	echo "XIPFS_MTD_NAME=4000000.flash"
	if [ -f "$BUILD/kernels/arm64/xipfs.ko" ]; then
		cp "$BUILD/kernels/arm64/xipfs.ko" "$root/lib/modules/xipfs.ko"
		echo "XIPFS_KO=/lib/modules/xipfs.ko"
	fi
	[ -z "$blk" ] || echo "XIPFS_BLK=/dev/vda"
} | sed 's/^/export /' >"$root/etc/xipfs-board.env"

# The markers are split in the script text so that the kernel's echo of
# the command line or a stray `cat /init` cannot fake them.
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TMPDIR=/tmp
mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
. /etc/xipfs-board.env
m=XIPFS-BOARD
echo "@@$m-BEGIN@@"
(cd / && sh /xipfs-run.sh)
rc=$?
echo "@@$m-END@@ $rc"
echo "@@$m-DMESG@@"
dmesg
poweroff -f
EOF
chmod +x "$root/init" "$root/xipfs-run.sh"
[ -e "$root/dev/console" ] || mknod "$root/dev/console" c 5 1 2>/dev/null || true
(cd "$root" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$work/initrd"

qemu=(qemu-system-aarch64 "${QEMU_MACHINE[@]}" -nographic -no-reboot
      -monitor none -serial stdio
      -kernel "$KDIR/kernel" -dtb "$KDIR/virt-nor.dtb" -initrd "$work/initrd"
      -drive "if=pflash,unit=1,format=raw,file=$work/flash"
      -append "console=ttyAMA0 earlycon panic=-1 loglevel=2 $append")
[ -z "$blk" ] ||
	qemu+=(-drive "if=none,id=blk0,format=raw,file=$blk"
	       -device virtio-blk-pci,drive=blk0)

# -nographic without a monitor: the serial port is stdout only.  Kernel
# messages are kept off the console (loglevel=2 still shows a panic) so
# that the script's output comes through whole; dmesg follows it.
set +e
timeout -k 5 "$timeout" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' >"$log"
qrc=${PIPESTATUS[0]}
set -e

[ -z "$flash_keep" ] || cp "$work/flash" "$flash_keep"

# The script's last line may lack a newline, so the END marker can follow
# output on its line.
awk '/^@@XIPFS-BOARD-BEGIN@@$/ { on = 1; next }
     on && /@@XIPFS-BOARD-END@@ [0-9]+$/ {
	printf "%s", substr($0, 1, index($0, "@@XIPFS-BOARD-END@@") - 1)
	exit
     }
     on' "$log" >"$work/out"
[ $quiet = 1 ] || cat "$work/out"

status=$(sed -n 's/^.*@@XIPFS-BOARD-END@@ \([0-9]*\)$/\1/p' "$log" | tail -1)
if [ -n "$status" ]; then
	exit "$status"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "boot.sh: timed out after ${timeout}s; console log: $log" >&2
	rc=124
else
	echo "boot.sh: the board stopped (qemu status $qrc) without the" \
	     "script's status; console log: $log" >&2
	rc=125
fi
[ "$log" != "$work/console.log" ] || tail -n 40 "$log" >&2
exit $rc
