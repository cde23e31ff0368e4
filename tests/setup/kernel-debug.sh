#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel (KASAN, lockdep, kmemleak, ...) for the x86-64
# board from Debian's linux-source package, with xipfs in-tree as a
# module, and fill $XIPFS_CACHE/kernels/debug/ (see HACKING.md); then
# kernel-debug-y.sh makes kernels/debug-y/ (xipfs built in) from the
# same tree.
#
# xipfs goes into the tree through its patch series (fs/xipfs/
# kernel-patch.sh apply).  The result is keyed on a hash of debug.config,
# the source package version, fs/xipfs/Kconfig and RECIPE: when none
# changed, this does nothing.  The source tree stays in the cache so that
# a changed key rebuilds incrementally.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

FRAG=$SETUP/debug.config
OUT=$XIPFS_CACHE/kernels/debug
JOBS=${JOBS:-2}
# How xipfs goes into the tree: bump when that changes what the =m
# kernel is (the series' hooks, say).
RECIPE="series 1"

tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)
[ -n "$tarball" ] || die "no /usr/src/linux-source-*.tar.xz (run tests/setup/install.sh)"
pkg=$(dpkg -S "$tarball" | cut -d: -f1)
ver=$(dpkg-query -W -f='${Version}' "$pkg")
key=$( { cat "$FRAG"; echo "$pkg $ver"; cat "$TOP/fs/xipfs/Kconfig"; echo "$RECIPE"; } |
	sha256sum | cut -c1-16)
# Kernels made before the series, by fs/xipfs/intree.sh (this blob), had
# its text in their key instead of RECIPE.  Such a kernel is the one the
# series makes (the same Kconfig line; xipfs is =m, outside vmlinux):
# it stays rather than being rebuilt (most of an hour), under its old
# key, which kernel-debug-y.sh's key is made from.  Without the blob (a
# shallow clone) it is rebuilt.
INTREE_BLOB=b99479fa2ed58bdd4aae71769bf102170d8aceda
oldkey=$( { cat "$FRAG"; echo "$pkg $ver"; cat "$TOP/fs/xipfs/Kconfig"
	git -C "$TOP" cat-file blob "$INTREE_BLOB" 2>/dev/null || echo none; } |
	sha256sum | cut -c1-16)

cache_lock kernel-debug
srcdir=$XIPFS_CACHE/src/debug
tree=$srcdir/$(basename "$tarball" .tar.xz)
if [ -f "$OUT/key" ] && [ -f "$OUT/kernel" ] &&
	{ [ "$(cat "$OUT/key")" = "$key" ] || [ "$(cat "$OUT/key")" = "$oldkey" ]; }; then
	# The =m kernel is current; the =y one may not be.
	exec "$SETUP/kernel-debug-y.sh" --locked "$tree"
fi

if [ "$(cat "$srcdir/version" 2>/dev/null)" != "$pkg $ver" ] || [ ! -f "$tree/Makefile" ]; then
	say "unpacking $tarball"
	rm -rf "$srcdir"
	mkdir -p "$srcdir"
	tar -C "$srcdir" -xJf "$tarball"
	echo "$pkg $ver" >"$srcdir/version"
fi

say "debug kernel: configuring $tree (key $key)"
"$TOP/fs/xipfs/kernel-patch.sh" apply "$tree"
cd "$tree"
debug_config "$tree" "$srcdir/merge.log" make "$FRAG"

log=$srcdir/build.log
say "debug kernel: building (make -j$JOBS, log in $log)"
intree=
debug_build "$tree" "$log" make

rel=$(make -s ARCH=x86_64 kernelrelease)
rm -rf "$OUT.new"
mkdir -p "$OUT.new"
make -s ARCH=x86_64 INSTALL_MOD_PATH="$OUT.new/modules" modules_install >/dev/null
cp arch/x86/boot/bzImage "$OUT.new/kernel"
ln -s "$tree" "$OUT.new/kdir"
cat >"$OUT.new/env" <<EOV
ARCH=x86_64
CROSS_COMPILE=
KRELEASE=$rel
XIPFS_INTREE=$intree
EOV
echo "$key" >"$OUT.new/key"
rm -rf "$OUT"
mv "$OUT.new" "$OUT"
say "debug kernel: $rel ready in $OUT (in-tree xipfs: $intree)"
# The same tree, flipped to CONFIG_XIPFS_FS=y for one incremental build
# and back: kernels/debug-y (xipfs as the root filesystem).  Still under
# this script's lock, which the child inherits.
exec "$SETUP/kernel-debug-y.sh" --locked "$tree"
