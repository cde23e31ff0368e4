#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install everything the suite needs on a fresh Debian 12 machine, then
# set up the kernels and the guest userland.  Idempotent: a second run
# finds everything in place and returns in about a second.
#
#   tests/setup/install.sh            packages, stock + debug kernels, guest,
#                                     Debian's 6.12 and 7.x kernels (k612,
#                                     k7), dkms and the in-tree trees,
#                                     arm64 board (when its setup exists)
#   tests/setup/install.sh packages   packages only
#   tests/setup/install.sh stock      packages, stock kernel, guest (make demo)
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

PACKAGES=(
	build-essential make gcc git bash cpio xz-utils kmod patch dkms
	qemu-system-x86 qemu-system-arm busybox-static
	linux-headers-amd64 linux-source-6.1
	flex bison bc libelf-dev libssl-dev dwarves
	fio stress-ng squashfs-tools erofs-utils mtd-utils e2fsprogs xfsprogs
	sparse clang libclang-rt-14-dev
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross device-tree-compiler
	liblz4-dev libzstd-dev liblzma-dev zlib1g-dev libdeflate-dev libarchive-dev libisal-dev
	gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
	say "installing ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "${1:-}" = packages ] && exit 0

mkdir -p "$XIPFS_CACHE"
"$SETUP/kernel-stock.sh"
"$SETUP/guest.sh"
[ "${1:-}" = stock ] && exit 0
"$SETUP/kernel-debug.sh"
# The trixie chroot (kernel-headers.sh), then k612 and k7.
"$SETUP/kernel-newer.sh"
# dkms in the chroot, and the prepared 6.1 and 6.12 trees, for
# tests/check-dkms and tests/check-intree.
"$SETUP/dkms.sh"
"$SETUP/kernel-src.sh"
# The arm64 board sets itself up once its scripts have landed.
for s in "$SETUP/arm64.sh" "$TOP/tests/arm64/setup.sh"; do
	if [ -x "$s" ]; then
		"$s"
		break
	fi
done
