#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the x86-64 guest's userland as two cpio archives in
# $XIPFS_CACHE/guest/x86_64/: base.cpio (busybox-static, and the host's
# own bash, xfs_io and mtd-utils with the shared libraries ldd finds for
# them) and full.cpio (fio and stress-ng, whose libraries weigh 100 MiB
# and would add seconds to every boot: tests/board --full ships them).
# tests/board appends the kernel's modules and a small per-run archive
# (init, script, files) to them.  Rebuilt only when one of those
# packages or this script changes.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

OUT=$XIPFS_CACHE/guest/x86_64
PKGS="busybox-static bash xfsprogs fio stress-ng mtd-utils"
TOOLS="bash xfs_io flash_erase flashcp flash_lock flash_unlock mtdinfo mtd_debug"
FULL_TOOLS="fio stress-ng"

key=$( { dpkg-query -W $PKGS; cat "$0"; } | sha256sum | cut -c1-16)
cache_lock guest-x86_64
if [ "$(cat "$OUT/key" 2>/dev/null)" = "$key" ] && [ -f "$OUT/base.cpio" ] &&
	[ -f "$OUT/full.cpio" ]; then
	exit 0
fi

say "guest userland: building $OUT/base.cpio and full.cpio"
stage=$(mktemp -d "${TMPDIR:-/tmp}/xipfs-guest.XXXXXX")
trap 'rm -rf "$stage" "$stage.full"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib,lib64,etc,proc,sys,dev,tmp,mnt,run,root,var/tmp}
chmod 1777 "$stage/tmp" "$stage/var/tmp"
# The kernel opens /dev/console before /init runs; devtmpfs comes later.
mknod -m 600 "$stage/dev/console" c 5 1
mknod -m 666 "$stage/dev/null" c 1 3

cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done

# copy_tools STAGE SKIP TOOL...: copy each tool and its shared libraries
# to the same paths under STAGE, leaving out what SKIP already has.
copy_tools() {
	local to=$1 skip=$2 t p lib
	shift 2
	for t in "$@"; do
		p=$(command -v "$t") || die "$t not installed (run tests/setup/install.sh packages)"
		echo "$p"
		# "libfoo.so => /path (addr)" and the "/lib64/ld-linux..." line.
		ldd "$p" | awk '/=> \//{print $3} /^\t\//{print $1}'
	done | sort -u | while read -r lib; do
		[ -e "$skip$lib" ] && continue
		mkdir -p "$to$(dirname "$lib")"
		rm -f "$to$lib"
		cp -L "$lib" "$to$lib"
	done
}
copy_tools "$stage" "$stage" $TOOLS
mkdir -p "$stage.full"
copy_tools "$stage.full" "$stage" $FULL_TOOLS
# bash is the shell cases get by "#!/bin/bash"; busybox sh stays /bin/sh.
ln -sf /usr/bin/bash "$stage/bin/bash" 2>/dev/null || true
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"

mkdir -p "$OUT"
for a in base full; do
	d=$stage
	[ $a = base ] || d=$stage.full
	(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$OUT/$a.cpio.new"
	mv "$OUT/$a.cpio.new" "$OUT/$a.cpio"
done
echo "$key" >"$OUT/key"
say "guest userland: base $(du -h "$OUT/base.cpio" | cut -f1), full $(du -h "$OUT/full.cpio" | cut -f1)"
