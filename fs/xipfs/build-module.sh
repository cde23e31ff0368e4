#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build-module.sh NAME: build build/kernels/NAME/xipfs.ko against
# $XIPFS_CACHE/kernels/NAME/kdir (ARCH, CROSS_COMPILE from its env file).
# The sources are copied to build/kernels/NAME/src/, so that several
# kernels build from one checkout.  A kernel whose env names a CHROOT
# (Debian's 6.12 and 7.x: kernels/k612, kernels/k7) is built inside it,
# with the compiler that kernel was built with (tests/lib/kernel-make).
#
# Environment: KDIR=DIR builds against DIR instead (e.g.
# /usr/src/linux-headers-VERSION-amd64); W=1 / C=1 are passed to kbuild;
# XIPFS_MTD=n leaves MTD support (and the dependency on mtd.ko) out;
# JOBS (default 2).
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 NAME   (stock, debug, arm64, ...)" >&2
	exit 2
fi
name=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${XIPFS_CACHE:-/var/cache/xipfs}
kernel=$cache/kernels/$name
out=${BUILD:-$top/build}/kernels/$name

ARCH=
CROSS_COMPILE=
CHROOT=
if [ -z "${KDIR:-}" ]; then
	# tests/setup holds this lock (exclusive) while it changes kdir, e.g.
	# kernel-debug-y.sh's flip of the debug tree to =y and back: wait
	# for it, shared with other module builds.
	lockf=$cache/locks/kernel-$name
	if [ -f "$lockf" ]; then
		exec {lockfd}<"$lockf"
		flock -s "$lockfd"
	fi
	if [ ! -f "$kernel/env" ]; then
		echo "$0: no $kernel/env: set up kernel $name first (or give KDIR=)" >&2
		exit 1
	fi
	# shellcheck disable=SC1091
	. "$kernel/env"
	KDIR=$kernel/kdir
fi
if [ ! -d "$KDIR" ]; then
	echo "$0: no kernel build directory $KDIR" >&2
	exit 1
fi

rm -rf "$out/src"
mkdir -p "$out/src/include/uapi/linux"
(cd "$top/fs/xipfs" && cp -- *.c *.h Makefile "$out/src/")
cp "$top/include/uapi/linux/xipfs_fs.h" "$out/src/include/uapi/linux/"

if [ -n "$CHROOT" ]; then
	"$top/tests/lib/kernel-make" "$name" "$out/src" \
		${W:+W=$W} ${C:+C=$C} ${XIPFS_MTD:+XIPFS_MTD=$XIPFS_MTD} \
		-j"${JOBS:-2}" modules
else
	make -C "$KDIR" M="$out/src" ${ARCH:+ARCH=$ARCH} \
		${CROSS_COMPILE:+CROSS_COMPILE=$CROSS_COMPILE} \
		${W:+W=$W} ${C:+C=$C} ${XIPFS_MTD:+XIPFS_MTD=$XIPFS_MTD} \
		-j"${JOBS:-2}" modules
fi
cp "$out/src/xipfs.ko" "$out/xipfs.ko"
echo "$out/xipfs.ko"
