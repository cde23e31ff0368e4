#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kernel-src.sh [NAME...]: the kernel trees that tests/check-intree applies
# the in-tree patch series (fs/xipfs/kernel-patch.sh) to, configured and
# prepared once here so that a test run builds fs/xipfs and nothing else:
#
#   intree/6.1/tree    Debian's linux-source-6.1 (/usr/src, from install.sh)
#   intree/6.12/tree   trixie's linux-source-6.12, of the version of the
#                      deb-6.12 headers (fetched with the chroot's apt)
#
# under $XIPFS_CACHE.  Each tree is pristine source (no xipfs in it) with
# Debian's own config of that version (the headers' .config, debug info
# off: it only costs compile time), `make modules_prepare`d with the
# compiler that config names (env: CC) and W=1, as the test builds (W=1
# changes the flags of prepare's objects).  The 6.12 tree is prepared in
# the trixie chroot (tests/setup/kernel-headers.sh), with its gcc-14,
# bind-mounted at /mnt/xipfs-intree; env says CHROOT then.  Made in place
# (objtool's build records absolute paths).  The test never writes here:
# it mounts an overlay on the tree.  Idempotent: keyed on the source
# package, the config and RECIPE.
set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

JOBS=${JOBS:-2}
# Change when what a tree is made of changes: the trees are then redone.
RECIPE=1
BASE=$XIPFS_CACHE/intree
# Where the chroot sees a tree (tests/check-intree mounts it there too).
CHROOT_MNT=/mnt/xipfs-intree

# tree_make NAME TREE CHROOT MAKE-ARGS...: make in TREE, in the chroot
# (bind-mounted at $CHROOT_MNT) if CHROOT is not empty.
tree_make() {
	local tree=$2 root=$3
	shift 3
	if [ -z "$root" ]; then
		nice -n 10 make -C "$tree" "$@"
		return
	fi
	chroot_make "$root" "$tree" "$CHROOT_MNT" "$@"
}

# source_of NAME: sets pkg, ver, tarball (a file) or deb (non-empty: a
# package of the chroot's apt holds it), config (Debian's config of that
# version) and root (the chroot, or empty).
source_of() {
	local henv kv
	case $1 in
	6.1)
		tarball=/usr/src/linux-source-6.1.tar.xz
		[ -f "$tarball" ] || die "no $tarball (run tests/setup/install.sh)"
		pkg=linux-source-6.1
		ver=$(dpkg-query -W -f='${Version}' "$pkg")
		deb=
		# The stock kernel's headers: Debian's 6.1 config.
		# shellcheck disable=SC1091
		kv=$(. "$XIPFS_CACHE/kernels/stock/env"; echo "$KRELEASE")
		config=/usr/src/linux-headers-$kv/.config
		root=
		;;
	6.12)
		henv=$XIPFS_CACHE/headers/deb-6.12/env
		[ -f "$henv" ] || die "no header set deb-6.12 (tests/setup/kernel-headers.sh)"
		# shellcheck disable=SC1090
		ver=$(. "$henv"; echo "$PKGVER")
		# shellcheck disable=SC1090
		root=$(. "$henv"; echo "$CHROOT")
		pkg=linux-source-6.12
		tarball=
		# Fetched (source_deb) only when the tree is made.
		deb=trixie
		config=$XIPFS_CACHE/headers/deb-6.12/kdir/.config
		;;
	*)	die "unknown tree $1 (known: 6.1 6.12)" ;;
	esac
	[ -f "$config" ] || die "no $config"
}

setup_one() {
	local name=$1 out=$BASE/$1 pkg ver tarball deb config root key t0 cc
	source_of "$name"
	key=$(echo "$RECIPE $pkg $ver $(sha256sum <"$config")" | sha256sum | cut -c1-16)
	cache_lock "intree-$name"
	if [ "$(cat "$out/key" 2>/dev/null)" = "$key" ] && [ -f "$out/tree/scripts/mod/modpost" ]; then
		return 0
	fi
	# Made in place, not in a new directory renamed at the end: objtool's
	# build records absolute paths.  The key goes last.
	rm -f "$out/key" "$out/env"
	t0=$(date +%s)
	[ -z "$deb" ] || source_deb "$pkg" "$ver"
	if [ -n "$root" ]; then
		# What the headers package left out: kconfig's parser
		# generators, and the libraries of objtool and sign-file.
		cache_lock chroot-apt
		chroot_install flex bison libelf-dev libssl-dev
	fi

	# Unpacking takes minutes: a tree unpacked before a failure later
	# on is taken up again.
	if [ "$(cat "$out/unpacked" 2>/dev/null)" != "$pkg $ver" ]; then
		say "intree $name: unpacking $pkg $ver"
		rm -rf "$out"
		mkdir -p "$out/tree"
		if [ -n "$deb" ]; then
			# The package holds usr/src/PKG.tar.xz: stream it.
			dpkg-deb --fsys-tarfile "$deb" |
				tar -xOf - "./usr/src/$pkg.tar.xz" |
				tar -xJf - -C "$out/tree" --strip-components=1
		else
			tar -xJf "$tarball" -C "$out/tree" --strip-components=1
		fi
		[ -f "$out/tree/fs/Kconfig" ] || die "$pkg: no fs/Kconfig"
		echo "$pkg $ver" >"$out/unpacked"
	fi

	say "intree $name: configuring and preparing (make -j$JOBS modules_prepare)"
	cp "$config" "$out/tree/.config"
	# Debug info and BTF only cost time here: nothing is linked.
	"$out/tree/scripts/config" --file "$out/tree/.config" \
		--disable DEBUG_INFO_DWARF5 --disable DEBUG_INFO_DWARF4 \
		--disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT --disable DEBUG_INFO_BTF \
		--enable DEBUG_INFO_NONE
	# Debian's compiler for that kernel (the config names it), for the
	# host programs too: the chroot has no plain gcc.
	cc=$(config_cc "$config")
	# The chroot sees the tree where the test will mount it.
	if ! { tree_make "$name" "$out/tree" "$root" CC="$cc" HOSTCC="$cc" -s olddefconfig &&
		tree_make "$name" "$out/tree" "$root" CC="$cc" HOSTCC="$cc" \
			W=1 -j"$JOBS" modules_prepare; } \
		>"$out/prepare.log" 2>&1; then
		tail -n 30 "$out/prepare.log" >&2
		die "intree $name: make modules_prepare failed (log $out/prepare.log)"
	fi
	! grep -q '^CONFIG_XIPFS_FS' "$out/tree/.config" ||
		die "intree $name: $pkg already has xipfs"
	cat >"$out/env" <<EOV
PKG=$pkg
PKGVER=$ver
CC=$cc
CHROOT=$root
CHROOT_MNT=$CHROOT_MNT
EOV
	echo "$key" >"$out/key"
	say "intree $name: $pkg $ver ready in $out ($(($(date +%s) - t0))s)"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(6.1 6.12)
for n in "${want[@]}"; do
	setup_one "$n"
done
