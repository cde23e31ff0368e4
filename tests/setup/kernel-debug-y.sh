#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-debug-y.sh [--locked TREE]: make $XIPFS_CACHE/kernels/debug-y/,
# the debug kernel with xipfs built in (CONFIG_XIPFS_FS=y), for booting
# with the root filesystem on the flash window (tests/board --rootfs).
#
# No tree of its own: the debug kernel's tree (src/debug, built =m, which
# other runs build external modules against) gets the checkout's
# committed driver (git HEAD) through its patch series
# (fs/xipfs/kernel-patch.sh apply, which replaces the xipfs there), is
# flipped to =y, built incrementally (fixdep recompiles fs/xipfs and
# relinks), the bzImage is copied out, and the tree is flipped back to =m
# and rebuilt, all under the kernel-debug lock that kernel-debug.sh
# takes, so the tree is =m and built whenever the lock is free.  If the
# driver does not build at =m, the tree is rebuilt without it.  At rest
# the tree holds no include/uapi/linux/xipfs_fs.h, which would shadow
# the checkout's in external builds.
#
# Keyed on kernels/debug/key and a hash of the committed driver's sources
# and format header, the part of the series that reaches the compiler
# (its hooks are fixed text: bump RECIPE if they change; the
# documentation is not built): a run with neither changed does nothing,
# and the kernels made with intree.sh's copy keep their key.  When the
# in-tree driver does not build at =y, env says XIPFS_INTREE=failed
# (log: src/debug/build-y.log), there is no kernel, and the next try
# comes with the next change of the key.
#
# kernel-debug.sh runs this (--locked: it holds the lock already); run
# alone, it takes the lock itself.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

DEBUG=$XIPFS_CACHE/kernels/debug
OUT=$XIPFS_CACHE/kernels/debug-y
JOBS=${JOBS:-2}
RECIPE=2

if [ "${1:-}" = --locked ]; then
	tree=$2
else
	cache_lock kernel-debug
	tree=$(readlink -f "$DEBUG/kdir")
fi
[ -f "$DEBUG/key" ] && [ -f "$tree/.config" ] ||
	die "no debug kernel to start from (run tests/setup/kernel-debug.sh)"
srcdir=$(dirname "$tree")

srchash() {	# srchash DIR: the driver's sources and the header under DIR
	(cd "$1" && find fs/xipfs -maxdepth 1 -type f \( -name '*.[ch]' \
		-o -name Makefile -o -name Kconfig \) ! -name '*.mod.c' | LC_ALL=C sort |
		xargs sha256sum; sha256sum include/uapi/linux/xipfs_fs.h) |
		sha256sum | cut -c1-16
}
mkkey() { echo "$(cat "$DEBUG/key") $1 $RECIPE" | sha256sum | cut -c1-16; }

# The driver as committed (HEAD), not the working tree: the tree must
# stay buildable while someone edits the checkout.  Outside git, the
# working tree.  What the series is written from: the driver, the header
# and the documentation.
drv=$(mktemp -d "${TMPDIR:-/tmp}/xipfs-drv.XXXXXX")
trap 'rm -rf "$drv"' EXIT
parts="fs/xipfs include/uapi/linux/xipfs_fs.h Documentation/filesystems/xipfs.rst"
if git -C "$TOP" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	git -C "$TOP" archive HEAD $parts | tar -x -C "$drv"
else
	# shellcheck disable=SC2086
	(cd "$TOP" && tar -c $parts) | tar -x -C "$drv"
fi
key=$(mkkey "$(srchash "$drv")")
if [ "$(cat "$OUT/key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi

cd "$tree"
grep -qx CONFIG_XIPFS_FS=m .config || die "$tree: not CONFIG_XIPFS_FS=m"
say "debug-y kernel: flipping $tree to CONFIG_XIPFS_FS=y (key $key)"
save=$srcdir/save-m
rm -rf "$save"
mkdir -p "$save"
cp -a .config "$save/config"

log=$srcdir/build-y.log
: >"$log"
# to_m: back to =m and built, with the committed driver if it builds
# there, else without an in-tree xipfs (a stub Kbuild, as kernel-debug.sh
# does): external builds need vmlinux, Module.symvers and the config,
# not the tree's own xipfs.ko.  Then the format header goes: at rest it
# would shadow the checkout's copy in external builds (kbuild puts the
# tree's include/uapi before a module's -I), as on the arm64 board.
to_m() {
	cp "$save/config" .config
	if ! { make -s ARCH=x86_64 olddefconfig >>"$log" 2>&1 &&
		make ARCH=x86_64 -j"$JOBS" bzImage modules >>"$log" 2>&1; }; then
		say "debug-y kernel: =m build with the new driver failed; building without it"
		printf '# stub: in-tree build failed, see %s\n' "$log" >fs/xipfs/Kbuild
		make ARCH=x86_64 -j"$JOBS" bzImage modules >>"$log" 2>&1 || return 1
	fi
	rm -f include/uapi/linux/xipfs_fs.h
}
flipped=0
on_exit() {
	rc=$?
	if [ $flipped = 1 ]; then
		flipped=0
		to_m || { tail -n 30 "$log" >&2; say "error: $tree could not be rebuilt at =m (log $log)"; rc=1; }
	fi
	rm -rf "$save" "$drv"
	exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

"$drv/fs/xipfs/kernel-patch.sh" apply "$tree"	# the series of $drv
flipped=1
sed -i 's/^CONFIG_XIPFS_FS=m$/CONFIG_XIPFS_FS=y/' .config
make -s ARCH=x86_64 olddefconfig >>"$log" 2>&1
grep -qx CONFIG_XIPFS_FS=y .config || die "olddefconfig refused CONFIG_XIPFS_FS=y"
grep -qx CONFIG_XIPFS_FS_MTD=y .config || die "CONFIG_XIPFS_FS_MTD off at =y"

say "debug-y kernel: building (make -j$JOBS bzImage, log in $log)"
rm -rf "$OUT.new"
mkdir -p "$OUT.new"
t0=$(date +%s)
if make ARCH=x86_64 -j"$JOBS" bzImage >>"$log" 2>&1 &&
	grep -q '^CONFIG_XIPFS_FS=y' include/config/auto.conf &&
	grep -q ' xipfs_fs_type$' System.map; then
	cp arch/x86/boot/bzImage "$OUT.new/kernel"
	intree=built
else
	grep -m5 'error' "$log" >&2 || true
	say "debug-y kernel: the in-tree xipfs did not build at =y (log $log)"
	intree=failed
fi
rel=$(make -s ARCH=x86_64 kernelrelease)
say "debug-y kernel: =y took $(($(date +%s) - t0))s; back to =m"
flipped=0
t0=$(date +%s)
to_m || die "$tree could not be rebuilt at =m (log $log)"
say "debug-y kernel: =m again after $(($(date +%s) - t0))s"

# Same release and modules as the =m kernel (its xipfs.ko is never loaded
# here: xipfs is built in); no kdir, there is nothing to build against.
ln -s ../debug/modules "$OUT.new/modules"
cat >"$OUT.new/env" <<EOV
ARCH=x86_64
CROSS_COMPILE=
KRELEASE=$rel
XIPFS_INTREE=$intree
XIPFS_BUILTIN=y
EOV
[ $intree = built ] || cp "$log" "$OUT.new/build-y.log"
echo "$key" >"$OUT.new/key"
rm -rf "$OUT"
mv "$OUT.new" "$OUT"
say "debug-y kernel: $rel in $OUT (xipfs built in: $intree)"
