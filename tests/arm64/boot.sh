#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the arm64 NOR flash board and run one script in it.  Same
# interface, guest environment and exit statuses as tests/board, which
# runs this for --arch arm64 (see tests/arm64/README.md).
usage() {
	cat <<'USAGE'
usage: tests/arm64/boot.sh [options] (--run SCRIPT | -c 'COMMANDS')

Boots qemu-system-aarch64 -M virt -cpu cortex-a57 (TCG) with IMG at the
start of CFI NOR flash (pflash unit 1: 64 MiB at physical 0x04000000,
/dev/mtd0 "4000000.flash" in the guest, mtd_point()-able), runs SCRIPT in
the guest as root, prints the script's output on stdout and exits with
the script's exit status.

  --window flash|ram    which window --image and --save-window mean and
                        XIPFS_WINDOW_* describe (default flash).  ram: a
                        256 MiB RAM window right after the kernel's RAM
                        (0x40000000 + MEM MiB: 0x80000000 by default),
                        kept from the kernel by mem=MEM on the command line
                        (whole 128 MiB sections: pfn_valid() false), the
                        one that read-write mounts need; mount it with
                        -o physaddr=$XIPFS_WINDOW_ADDR as on x86-64
  --image IMG           put IMG at the start of the window; IMG itself is
                        not changed (the flash board runs on a copy,
                        padded to 64 MiB with 0xff like erased flash)
  --blk IMG             attach IMG as a virtio-blk disk (/dev/vda, then
                        /dev/vdb, ... in the order given); writable
  --files DIR           ship DIR's contents; the script runs in a copy
                        of it (/xipfs/files)
  --save-window FILE    after the run, write the window (as the guest
                        left it) to FILE: the 64 MiB flash, or with
                        --window ram the 256 MiB RAM window (sparse)
  --flash FILE          after the run, write the 64 MiB flash to FILE
  --shadow              keep 128 MiB more RAM after the window out of the
                        kernel too, for xipfs's durability shadow
                        (/xipfs/env: XIPFS_SHADOW_ADDR)
  --save-shadow FILE    with --shadow: after the run, write those 128 MiB
                        to FILE (sparse)
  --mem MIB             guest RAM the kernel sees (default 1024; a
                        multiple of 128); QEMU gets 256 MiB more (the RAM
                        window), and 128 MiB more with --shadow
  --smp N               virtual CPUs (default 2)
  --append ARGS         extra kernel command line
  --timeout SEC         kill the board after SEC seconds (default 300)
  --log FILE            keep the kernel console log in FILE
  --no-scan             do not fail on kernel warnings in the console log
  --quiet               do not print the script's output
  --arch arm64, --kernel arm64|stock|debug, --full
                        accepted for tests/board; there is one arm64
                        kernel (with the debug options) and no fio or
                        stress-ng for arm64
  -h, --help            this text

In the guest: busybox, bash, xfs_io, flash_erase, flashcp, mtdinfo, the
static helpers from build/helpers/arm64/ in /usr/local/bin, and the
commands of tests/lib/guest-functions (load_xipfs loads
build/kernels/arm64/xipfs.ko, built by fs/xipfs/build-module.sh arm64).
/xipfs/env sets XIPFS_KERNEL=arm64, XIPFS_ARCH=arm64, XIPFS_KRELEASE,
XIPFS_WINDOW_ADDR=0x04000000, XIPFS_WINDOW_SIZE (64 MiB),
XIPFS_WINDOW_MTD=4000000.flash and XIPFS_MTD=/dev/mtd0; with --window
ram XIPFS_WINDOW_ADDR and XIPFS_WINDOW_SIZE are the RAM window's and
XIPFS_WINDOW_MTD is empty (window_dev then names phram's "xip").
XIPFS_FLASH_ADDR, XIPFS_FLASH_MTD, XIPFS_RAM_WINDOW_ADDR and
XIPFS_RAM_WINDOW_SIZE name both, whichever --window says.

Exit status: the script's, or 124 timeout, 125 kernel splat in the
console (KASAN, lockdep, WARNING, BUG, Oops, bad taint) after a
successful script, 126 the board failed (no exit status came back),
2 usage.
USAGE
}

set -u -o pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
BUILD=${BUILD:-$TOP/build}
. "$TOP/tests/lib/console-scan.sh"

KDIR=$XIPFS_CACHE/kernels/arm64
BASE=$XIPFS_CACHE/guest/arm64/base.cpio
FLASH_ADDR=0x04000000
FLASH_SIZE=$((64 << 20))

image= files= save= mem=1024 smp=2 append= timeout=300 log= scan=1
script= cmd= quiet=0 window=flash save_flash= shadow=0 save_shadow=
blks=()
die() { echo "boot.sh: $*" >&2; exit 126; }
bad() { echo "boot.sh: $*" >&2; echo "(tests/arm64/boot.sh --help)" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--no-scan|--full|--quiet|--shadow|-h|--help) ;;
	-*) [ $# -ge 2 ] || bad "$1 needs an argument" ;;
	esac
	case $1 in
	--arch) [ "$2" = arm64 ] || bad "--arch: this is the arm64 board"; shift ;;
	--kernel)
		case $2 in arm64|stock|debug) ;; *) bad "--kernel: arm64" ;; esac
		shift ;;
	--image) image=$2; shift ;;
	--blk) blks+=("$2"); shift ;;
	--files) files=$2; shift ;;
	--window) window=$2; shift ;;
	--save-window) save=$2; shift ;;
	--flash) save_flash=$2; shift ;;
	--shadow) shadow=1 ;;
	--save-shadow) shadow=1; save_shadow=$2; shift ;;
	--mem) mem=$2; shift ;;
	--smp) smp=$2; shift ;;
	--append) append=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--log) log=$2; shift ;;
	--run) script=$2; shift ;;
	-c) cmd=$2; shift ;;
	--no-scan) scan=0 ;;
	--quiet) quiet=1 ;;
	--full) ;;
	-h|--help) usage; exit 0 ;;
	*) bad "unknown option $1" ;;
	esac
	shift
done

[ -n "$script$cmd" ] || bad "need --run SCRIPT or -c COMMANDS"
[ -z "$script" ] || [ -f "$script" ] || bad "no such script: $script"
[ -z "$image" ] || [ -f "$image" ] || bad "no such image: $image"
[ -z "$files" ] || [ -d "$files" ] || bad "no such directory: $files"
for b in "${blks[@]}"; do [ -f "$b" ] || bad "no such disk image: $b"; done
[[ $mem =~ ^[0-9]+$ ]] && [ "$mem" -ge 256 ] && [ $((mem % 128)) = 0 ] &&
	[ "$mem" -le 2560 ] || bad "--mem: MiB, a multiple of 128 from 256 to 2560"
case $window in flash|ram) ;; *) bad "--window: flash or ram" ;; esac
[[ $smp =~ ^[1-8]$ ]] || bad "--smp: 1 to 8"
[[ $timeout =~ ^[0-9]+$ ]] || bad "--timeout: seconds"
# The RAM window follows the kernel's RAM (which starts at 0x40000000 on
# virt) in whole 128 MiB sections, so that no struct page covers it;
# the shadow follows the window.
RAM_BASE=0x40000000
WIN_ADDR=$(printf '0x%08x' $((RAM_BASE + (mem << 20))))
WIN_SIZE=$((256 << 20))
SHADOW_ADDR=$(printf '0x%08x' $((WIN_ADDR + WIN_SIZE)))
SHADOW_SIZE=$((128 << 20))
qmem=$((mem + (WIN_SIZE >> 20) + shadow * (SHADOW_SIZE >> 20)))
if [ "$window" = ram ]; then
	[ -z "$image" ] || [ "$(stat -c %s "$image")" -le $WIN_SIZE ] ||
		bad "image larger than the 256 MiB window: $image"
else
	[ -z "$image" ] || [ "$(stat -c %s "$image")" -le $FLASH_SIZE ] ||
		bad "image larger than the 64 MiB flash: $image"
fi
for f in "$KDIR/kernel" "$KDIR/env" "$KDIR/virt-nor.dtb" "$BASE"; do
	[ -s "$f" ] || die "$f missing (run: tests/setup/arm64.sh)"
done
KRELEASE=$(. "$KDIR/env"; echo "$KRELEASE")

mkdir -p "$BUILD/arm64"
run=$(mktemp -d "$BUILD/arm64/run.XXXXXX")
# Guest RAM lives in a file, as on the x86 board, so that the RAM window
# can be filled before boot and read after; tmpfs keeps it off the disk,
# and only touched pages cost memory.
ramdir=${XIPFS_RAMDIR:-/dev/shm}
[ -d "$ramdir" ] && [ -w "$ramdir" ] || ramdir=$run
ram=$(mktemp "$ramdir/xipfs-ram-arm64.XXXXXX")
qpid=
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null
	rm -rf "$run" "$ram"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The flash: erased (0xff) 64 MiB with the image at its start.  QEMU
# writes the guest's flash programming back into this file.
flash=$run/flash
head -c $FLASH_SIZE /dev/zero | tr '\0' '\377' >"$flash"
[ -z "$image" ] || [ "$window" = ram ] ||
	dd if="$image" of="$flash" conv=notrunc status=none || die "cannot place the image"
truncate -s "${qmem}M" "$ram"
[ -z "$image" ] || [ "$window" = flash ] ||
	dd if="$image" of="$ram" bs=1M seek=$(((WIN_ADDR - RAM_BASE) >> 20)) \
		conv=notrunc,sparse status=none || die "cannot place the image"

# The device tree: setup's virt-nor.dtb was dumped for the default
# machine; other CPU or memory sizes get their own (QEMU keeps the cpus
# nodes of a -dtb as they are).  QEMU itself gets the window's RAM too.
machine=(-M virt -cpu cortex-a57 -smp "$smp" -m "$mem")
dtb=$KDIR/virt-nor.dtb
if [ "$smp" != 2 ] || [ "$mem" != 1024 ]; then
	dtb=$run/virt-nor.dtb
	"$TOP/tests/arm64/mkdtb.sh" "$dtb" "${machine[@]}" ||
		die "cannot make the device tree"
fi

# Per-run archive: init, functions, environment, script, files, module.
# tests/lib's guest-init runs the script with its output on /dev/ttyS1,
# the x86 board's second UART; here that is the virtio console hvc0,
# and /init links the name before handing over.
stage=$run/stage
mkdir -p "$stage/xipfs/files" "$stage/lib/xipfs" "$stage/usr/local/bin"
cat >"$stage/init" <<'EOF'
#!/bin/sh
mount -t devtmpfs devtmpfs /dev
ln -s hvc0 /dev/ttyS1
exec /lib/xipfs/guest-init
EOF
chmod 755 "$stage/init"
install -m 755 "$TOP/tests/lib/guest-init" "$stage/lib/xipfs/guest-init"
install -m 755 "$TOP/tests/lib/guest-functions" "$stage/lib/xipfs/functions"
for f in load_xipfs unload_xipfs load_phram kmemleak_scan window_dev mount_window window_sysfs; do
	ln -s /lib/xipfs/functions "$stage/usr/local/bin/$f"
done
if [ -n "$script" ]; then
	install -m 755 "$script" "$stage/xipfs/run"
else
	printf '#!/bin/sh\n%s\n' "$cmd" >"$stage/xipfs/run"
	chmod 755 "$stage/xipfs/run"
fi
[ -z "$files" ] || cp -a "$files/." "$stage/xipfs/files/"
helpers=$BUILD/helpers/arm64
[ ! -d "$helpers" ] || find "$helpers" -maxdepth 1 -type f -perm -u+x \
	-exec cp {} "$stage/usr/local/bin/" \;
ko=$BUILD/kernels/arm64/xipfs.ko
[ ! -f "$ko" ] || cp "$ko" "$stage/lib/xipfs/xipfs.ko"
# Everything xipfs.ko needs is built into this kernel: no module deps.
if [ "$window" = ram ]; then
	w_addr=$WIN_ADDR w_size=$WIN_SIZE w_mtd=
else
	w_addr=$FLASH_ADDR w_size=$FLASH_SIZE w_mtd=4000000.flash
fi
cat >"$stage/xipfs/env" <<EOV
XIPFS_KERNEL=arm64
XIPFS_ARCH=arm64
XIPFS_KRELEASE=$KRELEASE
XIPFS_WINDOW_ADDR=$w_addr
XIPFS_WINDOW_SIZE=$w_size
XIPFS_WINDOW_MTD=$w_mtd
XIPFS_MTD=/dev/mtd0
XIPFS_FLASH_ADDR=$FLASH_ADDR
XIPFS_FLASH_MTD=4000000.flash
XIPFS_RAM_WINDOW_ADDR=$WIN_ADDR
XIPFS_RAM_WINDOW_SIZE=$WIN_SIZE
XIPFS_SHADOW_ADDR=$([ "$shadow" = 0 ] || echo "$SHADOW_ADDR")
XIPFS_MODULE_DEPS=""
XIPFS_KMEMLEAK=0
export XIPFS_KERNEL XIPFS_ARCH XIPFS_KRELEASE XIPFS_WINDOW_ADDR XIPFS_WINDOW_SIZE
export XIPFS_WINDOW_MTD XIPFS_MTD XIPFS_FLASH_ADDR XIPFS_FLASH_MTD
export XIPFS_RAM_WINDOW_ADDR XIPFS_RAM_WINDOW_SIZE XIPFS_SHADOW_ADDR
EOV
(cd "$stage" && find . -mindepth 1 | cpio -o -H newc --quiet -R 0:0) >"$run/run.cpio" ||
	die "cannot pack the run archive"
# Concatenated newc archives unpack in order; later files win.
cat "$BASE" "$run/run.cpio" >"$run/initrd"

cmdline="console=ttyAMA0 earlycon panic=-1 oops=panic loglevel=7 printk.devkmsg=on"
# The kernel's RAM ends where the RAM window starts (the x86 board's
# memmap=): mem= drops the rest from memblock, so it is neither System
# RAM in /proc/iomem nor covered by a memory section.
cmdline+=" mem=${mem}M"
[ -z "$append" ] || cmdline+=" $append"

console=$run/console.log out=$run/out
drives=()
i=0
for b in "${blks[@]}"; do
	drives+=(-drive "if=none,id=blk$i,file=$b,format=raw,cache=unsafe"
		 -device "virtio-blk-pci,drive=blk$i")
	i=$((i + 1))
done
# pflash unit 0 stays empty: QEMU would run it as firmware.
timeout -k 5 "$timeout" qemu-system-aarch64 -M virt,memory-backend=ram \
	-cpu cortex-a57 -smp "$smp" -m "$qmem" \
	-object "memory-backend-file,id=ram,size=${qmem}M,mem-path=$ram,share=on" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$KDIR/kernel" -dtb "$dtb" -initrd "$run/initrd" -append "$cmdline" \
	-drive "if=pflash,unit=1,format=raw,file=$flash" \
	-chardev "file,id=con,path=$console" -serial chardev:con \
	-device virtio-serial-pci \
	-chardev "file,id=out,path=$out" -device virtconsole,chardev=out \
	"${drives[@]}" </dev/null >"$run/qemu.log" 2>&1 &
qpid=$!
wait $qpid
qrc=$?
qpid=

[ -z "$log" ] || tr -d '\r' <"$console" >"$log"
touch "$out"
# The status line follows the script's output directly, so when that
# does not end in a newline the line holds output first.
[ $quiet = 1 ] || tr -d '\r' <"$out" | awk '
	/XIPFS-BOARD-EXIT: [0-9]+$/ {
		printf "%s", substr($0, 1, index($0, "XIPFS-BOARD-EXIT: ") - 1)
		next
	}
	{ print }'
rc=$(tr -d '\r' <"$out" | sed -n 's/^.*XIPFS-BOARD-EXIT: \([0-9]*\)$/\1/p' | tail -n1)
if [ -n "$save" ] && [ "$window" = flash ]; then
	cp "$flash" "$save" || die "cannot save the flash"
elif [ -n "$save" ]; then
	dd if="$ram" of="$save" bs=1M skip=$(((WIN_ADDR - RAM_BASE) >> 20)) \
		count=$((WIN_SIZE >> 20)) conv=sparse status=none || die "cannot save the window"
fi
if [ -n "$save_flash" ]; then
	cp "$flash" "$save_flash" || die "cannot save the flash"
fi
if [ -n "$save_shadow" ]; then
	dd if="$ram" of="$save_shadow" bs=1M skip=$(((SHADOW_ADDR - RAM_BASE) >> 20)) \
		count=$((SHADOW_SIZE >> 20)) conv=sparse status=none || die "cannot save the shadow"
fi

if [ -z "$rc" ]; then
	if [ $qrc = 124 ] || [ $qrc = 137 ]; then
		echo "boot.sh: timed out after ${timeout}s" >&2
		rc=124
	else
		echo "boot.sh: no exit status from the guest (qemu exit $qrc)" >&2
		sed 's/^/boot.sh: qemu: /' "$run/qemu.log" >&2
		rc=126
	fi
	tail -n 30 "$console" | sed 's/^/boot.sh: console: /' >&2
fi
if [ $scan = 1 ] && splats=$(console_splats "$console"); then
	echo "boot.sh: kernel problem in the console log:" >&2
	echo "$splats" | sed 's/^/boot.sh:   /' >&2
	[ "$rc" != 0 ] || rc=125
fi
exit "$rc"
