#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the 6.12 debug kernel (KASAN, lockdep, DEBUG_VM, kmemleak: the
# fragment of the 6.1 debug kernel) for the x86-64 board from trixie's
# linux-source-6.12, with xipfs in-tree as a module, and fill
# $XIPFS_CACHE/kernels/debug612/ (HACKING.md's Kernel contract), so that
# the driver's 6.12+ code (fs/xipfs/compat.h) runs under the sanitizers.
# Not part of make setup: `make check-debug612` runs it.
#
# The source package is the one of the deb-6.12 header set (the version
# kernel-newer.sh's k612 runs), fetched once for this and kernel-src.sh
# (lib.sh's source_deb).  The kernel is tinyconfig + debug.config +
# debug-6.12.config (what the 6.12 line needs besides; later lines win),
# checked like the 6.1 one (lib.sh's debug_config), with xipfs through
# its patch series.  It is built in the trixie chroot (kernel-headers.sh)
# with the compiler Debian's 6.12 config names (gcc-14), the tree
# bind-mounted at $CHROOT_MNT; modules are built against it there too
# (env: CHROOT, CHROOT_KDIR, CHROOT_KDIR_BIND, KCC; tests/lib/kernel-make).
# Keyed on the fragments, the source version, fs/xipfs/Kconfig and
# RECIPE: when none changed, this does nothing.  The tree stays in
# $XIPFS_CACHE/src/debug612/, so a changed key rebuilds incrementally.
# A cold build (after unpacking, 12 s) took 22m43s wall with make -j2,
# niced, at load average 7 (other builds and boards): 11 minutes of CPU
# (564 s user, 89 s system).  Done, this returns at once.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

FRAGS=("$SETUP/debug.config" "$SETUP/debug-6.12.config")
OUT=$XIPFS_CACHE/kernels/debug612
JOBS=${JOBS:-2}
# How xipfs goes into the tree and how the tree is built: bump when that
# changes what the kernel is.
RECIPE="series 1"
SRCDIR=$XIPFS_CACHE/src/debug612
CHROOT_MNT=/mnt/xipfs-debug612
HEADERS=$XIPFS_CACHE/headers/deb-6.12

# The trixie chroot and the header sets (quick when done).
"$SETUP/kernel-headers.sh" setup
[ -f "$HEADERS/env" ] || die "no header set deb-6.12 (tests/setup/kernel-headers.sh)"
# shellcheck disable=SC1091
ver=$(. "$HEADERS/env"; echo "$PKGVER")
# shellcheck disable=SC1091
root=$(. "$HEADERS/env"; echo "$CHROOT")
pkg=linux-source-6.12
cc=$(config_cc "$HEADERS/kdir/.config")
key=$( { cat "${FRAGS[@]}"; echo "$pkg $ver $cc"; cat "$TOP/fs/xipfs/Kconfig"; echo "$RECIPE"; } |
	sha256sum | cut -c1-16)

cache_lock kernel-debug612
tree=$SRCDIR/tree
if [ "$(cat "$OUT/key" 2>/dev/null)" = "$key" ] && [ -f "$OUT/kernel" ] &&
	[ -f "$tree/Module.symvers" ]; then
	exit 0
fi
t0=$(date +%s)

if [ "$(cat "$SRCDIR/unpacked" 2>/dev/null)" != "$pkg $ver" ] || [ ! -f "$tree/Makefile" ]; then
	deb=
	source_deb "$pkg" "$ver"
	say "debug612: unpacking $pkg $ver"
	rm -rf "$SRCDIR"
	mkdir -p "$tree"
	# The package holds usr/src/PKG.tar.xz: stream it.
	dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./usr/src/$pkg.tar.xz" |
		tar -xJf - -C "$tree" --strip-components=1
	echo "$pkg $ver" >"$SRCDIR/unpacked"
fi

# make in the tree, in the chroot, with that compiler for the host
# programs too (the chroot has no plain gcc).
tree_make() {
	chroot_make "$root" "$tree" "$CHROOT_MNT" CC="$cc" HOSTCC="$cc" "$@"
}

say "debug612: configuring $tree (key $key)"
"$TOP/fs/xipfs/kernel-patch.sh" apply "$tree"
debug_config "$tree" "$SRCDIR/merge.log" tree_make "${FRAGS[@]}"

log=$SRCDIR/build.log
say "debug612: building (make -j$JOBS in the chroot, log in $log)"
intree=
debug_build "$tree" "$log" tree_make

rel=$(cat "$tree/include/config/kernel.release")
rm -rf "$OUT.new" "$tree/.modinst"
# Installed inside the tree (the chroot sees nothing else), then moved.
tree_make -s ARCH=x86_64 INSTALL_MOD_PATH="$CHROOT_MNT/.modinst" modules_install >/dev/null
mkdir -p "$OUT.new"
mv "$tree/.modinst" "$OUT.new/modules"
rm -f "$OUT.new/modules/lib/modules/$rel/build" "$OUT.new/modules/lib/modules/$rel/source"
cp "$tree/arch/x86/boot/bzImage" "$OUT.new/kernel"
ln -s "$tree" "$OUT.new/kdir"
cat >"$OUT.new/env" <<EOV
ARCH=x86_64
CROSS_COMPILE=
KRELEASE=$rel
XIPFS_INTREE=$intree
CHROOT=$root
CHROOT_KDIR=$CHROOT_MNT
CHROOT_KDIR_BIND=1
KCC=$cc
EOV
echo "$key" >"$OUT.new/key"
rm -rf "$OUT"
mv "$OUT.new" "$OUT"
say "debug612: $rel ready in $OUT (in-tree xipfs: $intree; $(($(date +%s) - t0))s)"
