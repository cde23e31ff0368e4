#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Set up the arm64 NOR flash board (idempotent; tests/setup/install.sh
# calls it, and it can run on its own):
#   - host packages: QEMU for aarch64, the cross compiler, dtc, kernel
#     build dependencies;
#   - arm64 busybox-static, unpacked into $XIPFS_CACHE/arm64-userland/;
#   - a small arm64 kernel from linux-source-6.1, built with
#     tests/arm64/kernel.config and xipfs in tree as a module, cached in
#     $XIPFS_CACHE/kernels/arm64/ under a key that covers the fragment,
#     the source package version and fs/xipfs/Kconfig;
#   - the board's device tree with the flash node cut to bank 1
#     ($XIPFS_CACHE/kernels/arm64/virt-nor.dtb).
#
# Result (the kernel contract of HACKING.md):
#   $XIPFS_CACHE/kernels/arm64/{kernel,kdir,env,virt-nor.dtb}
#
# Options: --force rebuilds the kernel even when the cache key matches.

set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
XIPFS_CACHE=${XIPFS_CACHE:-/var/cache/xipfs}
OUT=$XIPFS_CACHE/kernels/arm64
USERLAND=$XIPFS_CACHE/arm64-userland
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
FRAGMENT=$TOP/tests/arm64/kernel.config
JOBS=${XIPFS_JOBS:-2}
FORCE=0

# Bump when the build recipe below changes in a way the key cannot see.
RECIPE=1

[ "${1:-}" = --force ] && FORCE=1

log() { echo "arm64.sh: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$OUT" "$USERLAND"

# Two setups at once (CI and a developer, or parallel clones) would build
# into the same tree.
exec 9>"$XIPFS_CACHE/.arm64.lock"
flock 9

install_packages() {
	local need=() p
	for p in qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
		 device-tree-compiler linux-source-6.1 flex bison bc \
		 libelf-dev libssl-dev cpio kmod xz-utils; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" ||
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q "${need[@]}"; }
}

# busybox-static for arm64 without adding arm64 to the machine's dpkg
# architectures: a private apt state and cache that see only arm64.
install_busybox() {
	local bb=$USERLAND/bin/busybox apt=$XIPFS_CACHE/apt-arm64 deb
	[ -x "$bb" ] && return
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
	local opts=(-q -oAPT::Sandbox::User=root -oAPT::Architecture=arm64 -oAPT::Architectures=arm64
		    -oDir::State::Lists="$apt/lists" -oDir::Cache="$apt/cache")
	log "fetching arm64 busybox-static"
	apt-get "${opts[@]}" update >/dev/null
	(cd "$apt/deb" && rm -f busybox-static_*.deb &&
		apt-get "${opts[@]}" download busybox-static >/dev/null)
	deb=$(ls "$apt"/deb/busybox-static_*_arm64.deb)
	rm -rf "$USERLAND.tmp"
	mkdir -p "$USERLAND.tmp"
	dpkg-deb -x "$deb" "$USERLAND.tmp"
	file -L "$USERLAND.tmp/bin/busybox" 2>/dev/null | grep -q aarch64 ||
		[ "$(od -An -tx1 -j18 -N2 "$USERLAND.tmp/bin/busybox" | tr -d ' ')" = b700 ] ||
		die "unpacked busybox is not an arm64 binary"
	rm -rf "$USERLAND"
	mv "$USERLAND.tmp" "$USERLAND"
}

cache_key() {
	{
		echo "recipe $RECIPE"
		dpkg-query -W -f='${Package} ${Version}\n' linux-source-6.1
		aarch64-linux-gnu-gcc -dumpfullversion
		cat "$FRAGMENT"
		cat "$TOP/fs/xipfs/Kconfig"
	} | sha256sum | cut -c1-16
}

# Hook xipfs into a kernel tree's Kconfig (and Makefile).  The shared
# fs/xipfs/intree.sh does this when it exists; the fallback only does
# what the config needs.
hook_xipfs() {
	local tree=$1
	if [ -x "$TOP/fs/xipfs/intree.sh" ]; then
		"$TOP/fs/xipfs/intree.sh" "$tree"
		return
	fi
	mkdir -p "$tree/fs/xipfs"
	cp -r "$TOP/fs/xipfs/." "$tree/fs/xipfs/"
	cp "$TOP/include/uapi/linux/xipfs_fs.h" "$tree/include/uapi/linux/"
	grep -q 'fs/xipfs/Kconfig' "$tree/fs/Kconfig" ||
		sed -i '/^source "fs\/cramfs\/Kconfig"/a source "fs/xipfs/Kconfig"' \
			"$tree/fs/Kconfig"
	grep -q 'xipfs/' "$tree/fs/Makefile" ||
		echo 'obj-$(CONFIG_XIPFS_FS)		+= xipfs/' >>"$tree/fs/Makefile"
}

kmake() {
	make -C "$TREE" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		-j"$JOBS" "$@"
}

build_kernel() {
	local key=$1 t0 ok=1
	TREE=$OUT/tree-$key
	t0=$(date +%s)
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$TREE.tmp"
	log "unpacking $SRC_TAR"
	tar -xJf "$SRC_TAR" -C "$TREE.tmp" --strip-components=1
	mv "$TREE.tmp" "$TREE"
	hook_xipfs "$TREE"

	kmake -s tinyconfig >/dev/null
	(cd "$TREE" && ARCH=arm64 scripts/kconfig/merge_config.sh -m \
		.config "$FRAGMENT" >/dev/null)
	kmake -s olddefconfig >/dev/null
	check_config

	log "building kernel in $TREE (log: $TREE/build.log)"
	# -k: if only fs/xipfs fails, everything else is built by now and
	# the retry below just links.
	kmake -k Image modules >"$TREE/build.log" 2>&1 || ok=0
	if [ $ok = 0 ]; then
		# The driver is written alongside this board and may not
		# compile yet: the board still needs Image, the other modules
		# and Module.symvers, so build without it.  Its out-of-tree
		# build (fs/xipfs/build-module.sh) reports the errors.
		log "in-tree build failed; retrying without fs/xipfs" \
		    "(see $TREE/build-xipfs-failed.log)"
		mv "$TREE/build.log" "$TREE/build-xipfs-failed.log"
		sed -i '/xipfs\//d' "$TREE/fs/Makefile"
		kmake Image modules >"$TREE/build.log" 2>&1 ||
			die "kernel build failed: $TREE/build.log"
	fi
	kmake -s modules_prepare >>"$TREE/build.log" 2>&1
	[ -s "$TREE/Module.symvers" ] || die "no Module.symvers in $TREE"

	# kdir must not shadow the checkout's format header or driver
	# sources: external builds take those from the checkout.
	rm -f "$TREE/include/uapi/linux/xipfs_fs.h"
	find "$TREE/fs/xipfs" -name '*.[ch]' -delete

	log "kernel built in $(( $(date +%s) - t0 ))s"
}

# merge_config warns and goes on when a symbol cannot be set; the board
# depends on these.
check_config() {
	local sym
	for sym in MTD_PHYSMAP_OF MTD_CFI_INTELEXT MTD_BLOCK SERIAL_AMBA_PL011_CONSOLE \
		   BLK_DEV_INITRD DEVTMPFS MODULES VIRTIO_BLK MAPPING_DIRTY_HELPERS; do
		grep -q "^CONFIG_$sym=y" "$TREE/.config" ||
			die "CONFIG_$sym is not y in $TREE/.config"
	done
	grep -q '^CONFIG_XIPFS_FS=m' "$TREE/.config" ||
		die "CONFIG_XIPFS_FS is not m in $TREE/.config"
}

install_kernel() {
	local key=$1 krel
	TREE=$OUT/tree-$key
	krel=$(cat "$TREE/include/config/kernel.release")
	cp "$TREE/arch/arm64/boot/Image" "$OUT/kernel.tmp"
	mv "$OUT/kernel.tmp" "$OUT/kernel"
	ln -sfn "tree-$key" "$OUT/kdir"
	cat >"$OUT/env" <<-EOF
	ARCH=arm64
	CROSS_COMPILE=aarch64-linux-gnu-
	KRELEASE=$krel
	EOF
	echo "$key" >"$OUT/key"
	# Older trees are no longer reachable from kdir.
	find "$OUT" -maxdepth 1 -name 'tree-*' ! -name "tree-$key" \
		-exec rm -rf {} +
}

# QEMU's virt machine describes both flash banks in one cfi-flash node
# (reg = <0 0 0 0x4000000  0 0x4000000 0 0x4000000>).  physmap then
# concatenates them into an MTD without point(), so xipfs could not
# execute in place.  Keep only bank 1, the one the image is given as.
make_dtb() {
	local dtb=$OUT/virt-nor.dtb tmp=$OUT/dtb.tmp qver
	qver=$(qemu-system-aarch64 --version | head -1)
	if [ -s "$dtb" ] && [ "$(cat "$OUT/virt-nor.qemu" 2>/dev/null)" = "$qver" ]; then
		return
	fi
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# Must match the machine tests/arm64/boot.sh runs, or the tree
	# describes other hardware (cpus, memory, GIC).
	qemu-system-aarch64 -M virt,dumpdtb="$tmp/virt.dtb" -cpu cortex-a57 \
		-smp 2 -m 1024 -nographic -display none >"$tmp/qemu.log" 2>&1 ||
		die "qemu could not dump its device tree: $(cat "$tmp/qemu.log")"
	dtc -q -I dtb -O dts -o "$tmp/virt.dts" "$tmp/virt.dtb"
	grep -q 'flash@0 {' "$tmp/virt.dts" || die "no flash@0 node in QEMU's tree"
	awk '
		/^\tflash@0 \{/ { inflash = 1 }
		inflash && /^\t\treg = / {
			sub(/reg = <.*>;/, "reg = <0x00 0x4000000 0x00 0x4000000>;")
		}
		inflash && /^\t\};/ { inflash = 0 }
		{ sub(/^\tflash@0 \{/, "\tflash@4000000 {"); print }
	' "$tmp/virt.dts" >"$tmp/virt-nor.dts"
	grep -q 'reg = <0x00 0x4000000 0x00 0x4000000>;' "$tmp/virt-nor.dts" ||
		die "could not rewrite the flash node"
	dtc -q -I dts -O dtb -o "$tmp/virt-nor.dtb" "$tmp/virt-nor.dts"
	mv "$tmp/virt-nor.dtb" "$dtb"
	cp "$tmp/virt-nor.dts" "$OUT/virt-nor.dts"
	echo "$qver" >"$OUT/virt-nor.qemu"
	rm -rf "$tmp"
}

install_packages
install_busybox
make_dtb
key=$(cache_key)
if [ $FORCE = 1 ] || [ "$(cat "$OUT/key" 2>/dev/null)" != "$key" ] ||
   [ ! -s "$OUT/kernel" ] || [ ! -s "$OUT/kdir/Module.symvers" ]; then
	build_kernel "$key"
	install_kernel "$key"
fi
log "ready: $OUT (key $key, $(grep KRELEASE "$OUT/env"))"
