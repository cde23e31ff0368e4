#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Set up the arm64 NOR flash board (idempotent; tests/setup/install.sh
# calls it, and it can run on its own):
#   - host packages: QEMU for aarch64, the cross compiler, dtc, kernel
#     build dependencies;
#   - the guest userland: arm64 busybox-static, bash, xfs_io, mtd-utils,
#     unpacked into $XIPFS_CACHE/arm64-userland/ and packed as
#     $XIPFS_CACHE/guest/arm64/base.cpio;
#   - a small arm64 kernel from linux-source-6.1, built with
#     tests/arm64/kernel.config and xipfs in tree as a module, cached in
#     $XIPFS_CACHE/kernels/arm64/ under a key that covers the fragment,
#     the source package version and fs/xipfs/Kconfig;
#   - the board's device tree with the flash node cut to bank 1
#     ($XIPFS_CACHE/kernels/arm64/virt-nor.dtb).
#
# Result (the kernel contract of HACKING.md):
#   $XIPFS_CACHE/kernels/arm64/{kernel,kdir,env,virt-nor.dtb}
# kdir points into trees/KEY/; a tree already built for this checkout's
# key is reinstalled rather than rebuilt.
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

# Bump when the build recipes below change in a way the keys cannot see.
RECIPE=1
GUEST_RECIPE=1

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

# The guest's userland, as tests/setup/guest.sh builds it for x86-64:
# busybox-static, plus bash, xfs_io and the mtd-utils with their shared
# libraries.  The arm64 packages come from a private apt state and cache
# that see only arm64, so the machine's dpkg architectures stay as they
# are; they are unpacked into $USERLAND and packed into
# $XIPFS_CACHE/guest/arm64/base.cpio.
GUEST_PKGS="busybox-static bash libtinfo6 libc6 xfsprogs libedit2 libbsd0 libmd0
	libdevmapper1.02.1 libselinux1 libpcre2-8-0 libudev1
	mtd-utils liblzo2-2 libuuid1 libzstd1 zlib1g"
GUEST_TOOLS="bin/bash usr/sbin/xfs_io usr/sbin/flash_erase usr/sbin/flashcp
	usr/sbin/flash_lock usr/sbin/flash_unlock usr/sbin/mtdinfo usr/sbin/mtd_debug"
GUEST=$XIPFS_CACHE/guest/arm64

install_userland() {
	local apt=$XIPFS_CACHE/apt-arm64 key stage deb t a
	key=$(echo "$GUEST_RECIPE $GUEST_PKGS $GUEST_TOOLS" | sha256sum | cut -c1-16)
	[ "$(cat "$GUEST/key" 2>/dev/null)" = "$key" ] && [ -s "$GUEST/base.cpio" ] &&
		[ -x "$USERLAND/bin/busybox" ] && return
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$GUEST"
	local opts=(-q -oAPT::Sandbox::User=root -oAPT::Architecture=arm64
		    -oAPT::Architectures=arm64 -oDir::State::Lists="$apt/lists"
		    -oDir::Cache="$apt/cache")
	log "fetching the arm64 guest userland:" $GUEST_PKGS
	apt-get "${opts[@]}" update >/dev/null
	rm -rf "$apt/deb"
	mkdir -p "$apt/deb"
	# shellcheck disable=SC2086
	(cd "$apt/deb" && apt-get "${opts[@]}" download $GUEST_PKGS >/dev/null)
	rm -rf "$USERLAND.tmp"
	mkdir -p "$USERLAND.tmp"
	for deb in "$apt"/deb/*.deb; do
		dpkg-deb -x "$deb" "$USERLAND.tmp"
	done
	[ "$(od -An -tx1 -j18 -N2 "$USERLAND.tmp/bin/busybox" | tr -d ' ')" = b700 ] ||
		die "unpacked busybox is not an arm64 binary"
	rm -rf "$USERLAND"
	mv "$USERLAND.tmp" "$USERLAND"

	stage=$OUT/guest.tmp
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib,etc,proc,sys,dev,tmp,mnt,run,root,var/tmp}
	chmod 1777 "$stage/tmp" "$stage/var/tmp"
	# The kernel opens /dev/console before /init runs; devtmpfs comes later.
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
	cp "$USERLAND/bin/busybox" "$stage/bin/busybox"
	# The arm64 binary cannot list its applets here; the host's
	# busybox-static is the same Debian source, so its list is the same.
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
	done
	for t in $GUEST_TOOLS; do
		[ -f "$USERLAND/$t" ] || die "no $t in the arm64 packages"
		rm -f "$stage/$t"
		cp "$USERLAND/$t" "$stage/$t"
	done
	# Every shared library of these packages: without a runnable ldd
	# for arm64 there is no cheaper way to know which ones the tools
	# load, and all of them together are a few MiB.
	(cd "$USERLAND" && find lib usr/lib -path '*aarch64-linux-gnu*' \
		-name '*.so*' ! -path '*/gconv/*' ! -path '*/audit/*' |
		cpio -pdm --quiet "$stage")
	cp -a "$USERLAND/lib/ld-linux-aarch64.so.1" "$stage/lib/"
	echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
	echo "root:x:0:" >"$stage/etc/group"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --quiet -R 0:0) >"$GUEST/base.cpio.new"
	mv "$GUEST/base.cpio.new" "$GUEST/base.cpio"
	rm -rf "$stage"
	echo "$key" >"$GUEST/key"
	log "guest userland: $(du -h "$GUEST/base.cpio" | cut -f1)"
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

# Put xipfs into a kernel tree: its patch series, as everywhere.
hook_xipfs() {
	"$TOP/fs/xipfs/kernel-patch.sh" apply "$1"
}

kmake() {
	make -C "$TREE" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		-j"$JOBS" "$@"
}

# configure_tree: hook xipfs into $TREE and make its .config.
configure_tree() {
	hook_xipfs "$TREE"
	kmake -s tinyconfig >/dev/null
	(cd "$TREE" && ARCH=arm64 scripts/kconfig/merge_config.sh -m \
		.config "$FRAGMENT" >/dev/null)
	kmake -s olddefconfig >/dev/null
	check_config
}

build_kernel() {
	local key=$1 t0 ok=1 m probe=$OUT/trees/.probe
	t0=$(date +%s)

	# The key changes with any edit of fs/xipfs/Kconfig, help text
	# included; a tree built from the same .config serves as well.
	# Configuring needs only the Kconfig files, Makefiles, scripts and
	# headers: 100 MiB of the source instead of 1.4 GiB.
	TREE=$probe
	rm -rf "$TREE"
	mkdir -p "$TREE"
	tar -xJf "$SRC_TAR" -C "$TREE" --strip-components=1 --wildcards \
		'*/Kconfig*' '*/Makefile*' '*/Kbuild*' '*.config' \
		'linux-source-6.1/scripts/*' 'linux-source-6.1/include/*' \
		'linux-source-6.1/arch/arm64/include/*' \
		'linux-source-6.1/arch/arm64/tools/*' \
		'linux-source-6.1/Documentation/filesystems/index.rst'
	configure_tree
	for m in "$OUT"/trees/*/.xipfs-built; do
		[ -f "$m" ] && cmp -s "${m%/.xipfs-built}/.config" "$probe/.config" ||
			continue
		m=$(basename "$(dirname "$(readlink -f "$m")")")
		log "same .config as trees/$m: reusing it"
		rm -rf "$probe" "$OUT/trees/$key"
		ln -s "$m" "$OUT/trees/$key"
		return
	done
	rm -rf "$probe"

	TREE=$OUT/trees/$key
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$TREE.tmp"
	log "unpacking $SRC_TAR"
	tar -xJf "$SRC_TAR" -C "$TREE.tmp" --strip-components=1
	mv "$TREE.tmp" "$TREE"
	configure_tree

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

	touch "$TREE/.xipfs-built"
	log "kernel built in $(( $(date +%s) - t0 ))s"
}

# merge_config warns and goes on when a symbol cannot be set; the board
# depends on these.
check_config() {
	local sym
	for sym in MTD_PHYSMAP_OF MTD_CFI_INTELEXT MTD_BLOCK SERIAL_AMBA_PL011_CONSOLE \
		   BLK_DEV_INITRD DEVTMPFS MODULES VIRTIO_BLK VIRTIO_CONSOLE MAPPING_DIRTY_HELPERS \
		   PROVE_LOCKING DEBUG_VM KASAN_GENERIC; do
		grep -q "^CONFIG_$sym=y" "$TREE/.config" ||
			die "CONFIG_$sym is not y in $TREE/.config"
	done
	grep -q '^CONFIG_XIPFS_FS=m' "$TREE/.config" ||
		die "CONFIG_XIPFS_FS is not m in $TREE/.config"
}

install_kernel() {
	local key=$1 krel
	TREE=$OUT/trees/$key
	krel=$(cat "$TREE/include/config/kernel.release")
	cp "$TREE/arch/arm64/boot/Image" "$OUT/kernel.tmp"
	mv "$OUT/kernel.tmp" "$OUT/kernel"
	ln -sfn "trees/$key" "$OUT/kdir"
	cat >"$OUT/env" <<-EOF
	ARCH=arm64
	CROSS_COMPILE=aarch64-linux-gnu-
	KRELEASE=$krel
	EOF
	echo "$key" >"$OUT/key"
	# Checkouts at other commits may want another tree back (and may be
	# using it now): keep the two last installed, 1.6 GiB each.
	# Trees of other keys may be links to one tree: count real trees.
	local keep m
	keep=$(readlink -f "$TREE")
	touch "$keep/.xipfs-built"
	ls -1dt "$OUT"/trees/*/.xipfs-built | xargs -r -n1 readlink -f |
		awk '!seen[$0]++' | tail -n +3 | while read -r m; do
		[ "${m%/.xipfs-built}" = "$keep" ] || rm -rf "${m%/.xipfs-built}"
	done
	find "$OUT/trees" -maxdepth 1 -xtype l -delete
	# Without a marker a tree is what a killed build left (the lock
	# lets one setup run at a time).
	for m in "$OUT"/trees/*; do
		[ -L "$m" ] || [ -f "$m/.xipfs-built" ] || rm -rf "$m"
	done
	# The first layout kept trees as tree-KEY next to kdir; the lock
	# held here is the one every setup of that layout took too.
	find "$OUT" -maxdepth 1 -name 'tree-*' -exec rm -rf {} +
}

# The board's device tree, dumped from QEMU and cut to flash bank 1
# (tests/arm64/mkdtb.sh says why).  Remade when QEMU changes.
make_dtb() {
	local qver
	qver=$(qemu-system-aarch64 --version | head -1)
	[ -s "$OUT/virt-nor.dtb" ] &&
		[ "$(cat "$OUT/virt-nor.qemu" 2>/dev/null)" = "$qver" ] && return
	# The default machine of tests/arm64/boot.sh.
	"$TOP/tests/arm64/mkdtb.sh" "$OUT/virt-nor.dtb.tmp" \
		-M virt -cpu cortex-a57 -smp 2 -m 1024 ||
		die "cannot make the device tree"
	mv "$OUT/virt-nor.dtb.tmp" "$OUT/virt-nor.dtb"
	echo "$qver" >"$OUT/virt-nor.qemu"
}

install_packages
install_userland
make_dtb
key=$(cache_key)
if [ $FORCE = 1 ] || [ ! -f "$OUT/trees/$key/.xipfs-built" ]; then
	build_kernel "$key"
	install_kernel "$key"
elif [ "$(cat "$OUT/key" 2>/dev/null)" != "$key" ] || [ ! -s "$OUT/kernel" ] ||
     [ "$(readlink "$OUT/kdir")" != "trees/$key" ]; then
	install_kernel "$key"
fi
log "ready: $OUT (key $key, $(grep KRELEASE "$OUT/env"))"
