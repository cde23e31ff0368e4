#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# intree.sh KERNEL_TREE: put xipfs into a kernel source tree so that it
# builds in-tree (CONFIG_XIPFS_FS).  Copies fs/xipfs and the format
# header to the same paths in the tree and hooks the Kconfig and the
# Makefile.  Running it again refreshes the copy and adds no second hook.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/fs/Kconfig" ] || [ ! -f "$1/fs/Makefile" ]; then
	echo "usage: $0 KERNEL_TREE  (a tree with fs/Kconfig and fs/Makefile)" >&2
	exit 2
fi
# Absolute: the copy below runs from inside the checkout.
tree=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)

# Copy rather than symlink: a kernel tree in the cache must not change
# under a build when the checkout does.  Build products in the checkout
# (from out-of-tree builds) are left out.
rm -rf "$tree/fs/xipfs"
mkdir -p "$tree/fs/xipfs"
(cd "$src/fs/xipfs" && find . -type f \( -name '*.[ch]' -o -name Kconfig \
	-o -name Makefile -o -name Kbuild \) -print0 |
	cpio -0 -pdm --quiet "$tree/fs/xipfs")
install -m 0644 "$src/include/uapi/linux/xipfs_fs.h" \
	"$tree/include/uapi/linux/xipfs_fs.h"

# Next to cramfs, among the other flash filesystems (MISC_FILESYSTEMS).
if ! grep -q '^source "fs/xipfs/Kconfig"' "$tree/fs/Kconfig"; then
	grep -q '^source "fs/cramfs/Kconfig"' "$tree/fs/Kconfig" || {
		echo "$0: no fs/cramfs/Kconfig line in $tree/fs/Kconfig" >&2
		exit 1
	}
	sed -i '/^source "fs\/cramfs\/Kconfig"/a source "fs/xipfs/Kconfig"' \
		"$tree/fs/Kconfig"
fi
grep -q '^obj-$(CONFIG_XIPFS_FS)' "$tree/fs/Makefile" ||
	echo 'obj-$(CONFIG_XIPFS_FS)		+= xipfs/' >>"$tree/fs/Makefile"
