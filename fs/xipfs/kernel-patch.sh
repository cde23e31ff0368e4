#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# kernel-patch.sh: xipfs as a patch series for a kernel tree, the one way
# the driver goes into a tree (make kernel-patches, tests/check-intree,
# the debug and arm64 kernels of tests/setup).
#
#   kernel-patch.sh write DIR    write the series into DIR:
#       0001-xipfs-add-the-on-media-format-header.patch
#       0002-xipfs-add-the-execute-in-place-filesystem.patch
#       0003-Documentation-filesystems-add-xipfs.patch
#       series
#     git format-patch files (git am, or patch -p1 in order), and DIR is a
#     quilt patches directory too (its series file lists them).
#   kernel-patch.sh apply TREE   write the series to a temporary directory
#     and apply it to TREE with patch -p1, after taking out the xipfs TREE
#     already holds (an older series, or the copy fs/xipfs/intree.sh made
#     before this script), so that it also refreshes a tree.
#
# The series adds include/uapi/linux/xipfs_fs.h, fs/xipfs/ (the sources,
# Kconfig and Makefile, not the scripts) and Documentation/filesystems/
# xipfs.rst, and hooks them into fs/Kconfig (next to cramfs, among the
# other flash filesystems), fs/Makefile and the filesystems index.  The
# hooks' context is the same in Linux 6.1 and 6.12; the line numbers are
# 6.1's, which patch and git apply find elsewhere.  The patches carry no
# Signed-off-by: whoever submits them adds theirs (git am -s).  Files are
# taken from this script's checkout; the author and date are those of its
# git HEAD, so one commit always gives the same series.
set -eu -o pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)

usage() {
	echo "usage: $0 write DIR | apply TREE" >&2
	exit 2
}

# The hook lines, as the series adds them (apply takes them out again).
# shellcheck disable=SC2016 # make's $(...), not the shell's
KCONFIG_LINE='source "fs/xipfs/Kconfig"'
MAKEFILE_LINE='obj-$(CONFIG_XIPFS_FS)		+= xipfs/'
INDEX_LINE='   xipfs'

# newfile PATH: the diff that creates PATH (relative to the checkout, and
# the same in the kernel tree) as it is in the checkout.
newfile() {
	# git diff --no-index shows a new file as format-patch does; the
	# -c options keep a user's diff settings out of the patch.  It
	# exits 1 when there is a difference, which there always is.
	(cd "$top" && git -c diff.noprefix=false -c diff.mnemonicPrefix=false \
		-c core.quotePath=true diff --no-index --no-color --no-ext-diff \
		--full-index -- /dev/null "$1") || [ $? = 1 ]
}

# emit N SUBJECT BODY DIFF-FUNCTIONS...: one format-patch file, listed
# in the series file.
emit() {
	local n=$1 subject=$2 body=$3 out slug diff
	shift 3
	slug=$(echo "$subject" | sed 's/[^A-Za-z0-9.]\+/-/g; s/^-//; s/-$//')
	out=$dir/$(printf '%04d' "$n")-$slug.patch
	diff=$(for f in "$@"; do "$f"; done)
	{
		echo "From $commit Mon Sep 17 00:00:00 2001"
		echo "From: $author"
		echo "Date: $date"
		echo "Subject: [PATCH $n/$total] $subject"
		echo
		echo "$body"
		echo
		echo "Made from xipfs $describe by fs/xipfs/kernel-patch.sh."
		echo "---"
		echo "$diff" | git apply --stat --summary -
		echo
		echo "$diff"
		echo "-- "
		echo "xipfs $describe"
		echo
	} >"$out"
	echo "${out##*/}" >>"$dir/series"
}

d_header() { newfile include/uapi/linux/xipfs_fs.h; }

d_fs() {
	local f
	# The hooks first (format-patch's order).  fs/Kconfig: after
	# cramfs, among the other flash filesystems.
	cat <<EOF
diff --git a/fs/Kconfig b/fs/Kconfig
--- a/fs/Kconfig
+++ b/fs/Kconfig
@@ -305,6 +305,7 @@
 # UBIFS File system configuration
 source "fs/ubifs/Kconfig"
 source "fs/cramfs/Kconfig"
+$KCONFIG_LINE
 source "fs/squashfs/Kconfig"
 source "fs/freevxfs/Kconfig"
 source "fs/minix/Kconfig"
diff --git a/fs/Makefile b/fs/Makefile
--- a/fs/Makefile
+++ b/fs/Makefile
@@ -74,6 +74,7 @@
 obj-\$(CONFIG_EXT2_FS)		+= ext2/
 obj-\$(CONFIG_JBD2)		+= jbd2/
 obj-\$(CONFIG_CRAMFS)		+= cramfs/
+$MAKEFILE_LINE
 obj-\$(CONFIG_SQUASHFS)		+= squashfs/
 obj-y				+= ramfs/
 obj-\$(CONFIG_HUGETLBFS)		+= hugetlbfs/
EOF
	for f in $(cd "$top" && ls fs/xipfs/Kconfig fs/xipfs/Makefile \
		fs/xipfs/*.[ch] | LC_ALL=C sort); do
		newfile "$f"
	done
}

d_doc() {
	# Before zonefs, the last entry: the lines above it differ between
	# 6.1 and 6.12.
	cat <<EOF
diff --git a/Documentation/filesystems/index.rst b/Documentation/filesystems/index.rst
--- a/Documentation/filesystems/index.rst
+++ b/Documentation/filesystems/index.rst
@@ -125 +125,2 @@
+$INDEX_LINE
    zonefs
EOF
	newfile Documentation/filesystems/xipfs.rst
}

write() {
	dir=$1
	mkdir -p "$dir"
	rm -f "$dir"/[0-9][0-9][0-9][0-9]-*.patch "$dir/series"
	if git -C "$top" rev-parse -q --verify HEAD >/dev/null 2>&1; then
		commit=$(git -C "$top" rev-parse HEAD)
		author=$(git -C "$top" log -1 --format='%an <%ae>')
		date=$(git -C "$top" log -1 --format='%aD')
		describe=$(git -C "$top" describe --always --dirty)
	else
		commit=0000000000000000000000000000000000000000
		author='xipfs <xipfs@localhost>'
		date=$(date -R)
		describe=unknown
	fi
	total=3
	emit 1 "xipfs: add the on-media format header" \
"The layout of an xipfs image: superblock, inodes, page maps, clusters,
directories.  It is uapi because the image tools (mkfs.xipfs,
fsck.xipfs, dump.xipfs) build against the same definition as the
driver; it is the only definition of the format." d_header
	emit 2 "xipfs: add the execute-in-place filesystem" \
"xipfs is a filesystem for memory-mapped flash (NOR, PRAM/MRAM, reserved
RAM, raw pmem).  Uncompressed pages are mapped straight from the flash
window (execute in place, no page cache); the other pages are stored
compressed (lz4, zstd, zlib, xz) and go through the page cache, both in
one VM_MIXEDMAP mapping.  On writable memory an image with free space
mounts read-write.

Hook it into fs/Kconfig next to cramfs, among the other flash
filesystems, and into fs/Makefile." d_fs
	emit 3 "Documentation: filesystems: add xipfs" \
"The format, the mount options, the read-write model and the sysfs
files; fs/xipfs/Kconfig's help points here." d_doc
}

# unapply TREE: take xipfs out of TREE: its files and the hook lines,
# wherever they are (fs/xipfs/intree.sh appended the Makefile one).
unapply() {
	local t=$1 f line
	rm -rf "$t/fs/xipfs" "$t/include/uapi/linux/xipfs_fs.h" \
		"$t/Documentation/filesystems/xipfs.rst"
	for f in fs/Kconfig fs/Makefile Documentation/filesystems/index.rst; do
		case $f in
		fs/Kconfig) line=$KCONFIG_LINE ;;
		fs/Makefile) line=$MAKEFILE_LINE ;;
		*) line=$INDEX_LINE ;;
		esac
		[ -f "$t/$f" ] || continue
		if grep -qxF -- "$line" "$t/$f"; then
			grep -vxF -- "$line" "$t/$f" >"$t/$f.xipfs-tmp"
			mv "$t/$f.xipfs-tmp" "$t/$f"
		fi
	done
}

apply() {
	local tree tmp p
	[ -f "$1/fs/Kconfig" ] && [ -f "$1/fs/Makefile" ] ||
		{ echo "$0: $1: not a kernel tree (no fs/Kconfig, fs/Makefile)" >&2; exit 2; }
	tree=$(cd "$1" && pwd)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/xipfs-series.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	write "$tmp"
	unapply "$tree"
	while read -r p; do
		patch -d "$tree" -p1 -s --forward --batch -r - <"$tmp/$p" ||
			{ echo "$0: $p does not apply to $tree" >&2; exit 1; }
	done <"$tmp/series"
}

case ${1:-} in
write)	[ $# = 2 ] || usage; write "$2" ;;
apply)	[ $# = 2 ] || usage; apply "$2" ;;
*)	usage ;;
esac
