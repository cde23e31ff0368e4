#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest-modules.sh KERNEL [MODULE...]: print the path of a cpio archive
# holding the kernel modules the guest may load (/lib/modules/<release>),
# building it on first use.  A distribution kernel's whole tree is
# 400-630 MiB (and Debian's 6.12 and 7.x do not unpack in the guest's
# 2 GiB): only the modules the board and the cases use go in, and the
# MODULEs named (xipfs.ko's dependencies), with their dependencies; the
# debug kernels' few modules all go in.  Compressed modules (.ko.xz, as
# Debian's 6.12 and 7.x ship them) are decompressed here, on the host:
# busybox's insmod hands the file to the kernel as it is.
set -eu -o pipefail
XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
kernel=$1
shift
extra=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
kdir=$XIPFS_CACHE/kernels/$kernel
rel=$(. "$kdir/env"; echo "$KRELEASE")
key=$( { cat "$kdir/key" "$0"; echo "$extra"; } | sha256sum | cut -c1-16)
out=$XIPFS_CACHE/guest/x86_64/modules-$kernel-$key.cpio
if [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

# libcrc32c and crc32c_* are gone in 6.14+ (crc32c() is in the kernel's
# CRC library); a name the kernel does not have is left out.
WANT="virtio_pci virtio_blk loop mtd phram mtdram mtdblock mtdblock_ro
	squashfs erofs ext4 cramfs crc32c_generic crc32c_intel libcrc32c
	nd_pmem nd_e820 dax_pmem $extra"

stage=$(mktemp -d "${TMPDIR:-/tmp}/xipfs-mods.XXXXXX")
trap 'rm -rf "$stage"' EXIT
src=$kdir/modules/lib/modules/$rel
dst=$stage/lib/modules/$rel
mkdir -p "$dst"
case $kernel in debug|debug612) all=1 ;; *) all=0 ;; esac
if [ $all = 0 ]; then
	for m in $WANT; do
		modprobe -d "$kdir/modules" -S "$rel" --show-depends "$m" 2>/dev/null || true
	done | awk '$1 == "insmod" {print $2}' | sort -u | while read -r ko; do
		rel_path=${ko#"$kdir/modules"}
		mkdir -p "$stage$(dirname "$rel_path")"
		cp "$ko" "$stage$rel_path"
	done
	cp "$src"/modules.order "$src"/modules.builtin* "$dst/" 2>/dev/null || true
	find "$stage" -name '*.ko.xz' -exec xz -d {} +
else
	[ ! -d "$src" ] || cp -a "$src/." "$dst/"
	rm -f "$dst/build" "$dst/source"
fi
depmod -b "$stage" "$rel"
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | cpio -o -H newc --quiet -R 0:0) >"$out.new"
mv "$out.new" "$out"
echo "$out"
